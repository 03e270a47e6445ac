//! `src/db/schema.rs` is what `diesel print-schema` (configured by `diesel.toml`) writes for the migrated
//! database. diesel_cli is not a build dependency, so this test renders the same text from the catalogue of
//! a freshly migrated database and compares: a migration that changes a column without the schema file (or
//! the reverse) fails here, whereas the compiler would only notice at the first query.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use test_support::postgres::TestDatabase;

const SCHEMA_RS: &str = include_str!("../../src/db/schema.rs");

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
    #[diesel(sql_type = Nullable<Text>)]
    max_length: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    primary_key: Option<String>,
}

/// The columns of every table of ours (not diesel's bookkeeping), in table then column order.
const COLUMNS: &str = "
    SELECT c.table_name::text, c.column_name::text, c.udt_name::text, c.data_type::text,
           c.is_nullable::text, c.character_maximum_length::text AS max_length,
           (SELECT string_agg(k.column_name::text, ', ' ORDER BY k.ordinal_position)
              FROM information_schema.table_constraints t
              JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
             WHERE t.table_schema = 'public' AND t.table_name = c.table_name
               AND t.constraint_type = 'PRIMARY KEY') AS primary_key
      FROM information_schema.columns c
      JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
       AND c.table_name NOT LIKE '\\_\\_diesel%'
     ORDER BY c.table_name, c.ordinal_position";

fn camel_case(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// diesel's name for a PostgreSQL type, as print-schema writes it.
fn diesel_type(column: &Column) -> String {
    if column.data_type == "USER-DEFINED" {
        return camel_case(&column.udt_name);
    }
    let known = [
        ("uuid", "Uuid"),
        ("varchar", "Varchar"),
        ("text", "Text"),
        ("bool", "Bool"),
        ("int2", "Int2"),
        ("int4", "Int4"),
        ("int8", "Int8"),
        ("float4", "Float4"),
        ("float8", "Float8"),
        ("numeric", "Numeric"),
        ("date", "Date"),
        ("timestamp", "Timestamp"),
        ("timestamptz", "Timestamptz"),
        ("jsonb", "Jsonb"),
        ("bytea", "Bytea"),
    ];
    known
        .iter()
        .find(|(pg, _)| *pg == column.udt_name)
        .map(|(_, diesel)| (*diesel).to_owned())
        .unwrap_or_else(|| {
            panic!(
                "column {}.{} has type {}: add its diesel name to this test",
                column.table_name, column.column_name, column.udt_name
            )
        })
}

/// The text `diesel print-schema` writes for these columns (diesel 2.2, with diesel.toml's derives).
fn print_schema(columns: &[Column]) -> String {
    let mut custom: Vec<&str> = columns
        .iter()
        .filter(|c| c.data_type == "USER-DEFINED")
        .map(|c| c.udt_name.as_str())
        .collect();
    custom.sort_unstable();
    custom.dedup();
    let mut out = String::from("// @generated automatically by Diesel CLI.\n\n");
    if !custom.is_empty() {
        let types: Vec<String> = custom
            .iter()
            .map(|name| {
                format!(
                    "    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]\n    #[diesel(postgres_type(name = \"{name}\"))]\n    pub struct {};\n",
                    camel_case(name)
                )
            })
            .collect();
        out.push_str(&format!("pub mod sql_types {{\n{}}}\n\n", types.join("\n")));
    }
    let mut tables: Vec<&str> = columns.iter().map(|c| c.table_name.as_str()).collect();
    tables.dedup();
    let blocks: Vec<String> = tables
        .iter()
        .map(|table| {
            let own: Vec<&Column> = columns.iter().filter(|c| c.table_name == *table).collect();
            let mut uses = String::from("    use diesel::sql_types::*;\n");
            let mut used: Vec<String> = own
                .iter()
                .filter(|c| c.data_type == "USER-DEFINED")
                .map(|c| camel_case(&c.udt_name))
                .collect();
            used.dedup();
            for name in used {
                uses.push_str(&format!("    use super::sql_types::{name};\n"));
            }
            let key = own[0].primary_key.as_deref().unwrap_or_else(|| {
                panic!("table {table} has no primary key: diesel's table! needs one")
            });
            let mut body = String::new();
            for column in &own {
                if let Some(max) = &column.max_length {
                    body.push_str(&format!("        #[max_length = {max}]\n"));
                }
                let ty = match column.is_nullable.as_str() {
                    "YES" => format!("Nullable<{}>", diesel_type(column)),
                    _ => diesel_type(column),
                };
                body.push_str(&format!("        {} -> {ty},\n", column.column_name));
            }
            format!("diesel::table! {{\n{uses}\n    {table} ({key}) {{\n{body}    }}\n}}\n")
        })
        .collect();
    out.push_str(&blocks.join("\n"));
    out
}

#[test]
fn the_schema_file_is_what_print_schema_writes_for_the_migrations() {
    let db = TestDatabase::empty();
    let mut conn = db.connect();
    backend_api::db::migrate(&mut conn).unwrap();
    let columns: Vec<Column> = diesel::sql_query(COLUMNS).load(&mut conn).unwrap();
    assert!(
        columns.iter().any(|c| c.table_name == "tasks"),
        "the migrations create the tasks table"
    );
    let expected = print_schema(&columns);
    assert!(
        SCHEMA_RS == expected,
        "src/db/schema.rs disagrees with the migrations; regenerate it with `diesel print-schema` \
         (or write exactly this):\n{expected}"
    );
}
