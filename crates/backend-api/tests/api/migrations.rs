//! Migrations: idempotent, reversible, and safe when replicas start together.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use test_support::backend::spawn_backend;
use test_support::postgres::TestDatabase;

fn table_exists(conn: &mut PgConnection, name: &str) -> bool {
    diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = '{name}')"
    )))
    .get_result(conn)
    .unwrap()
}

/// The tests run the backend as it runs deployed: as its own role (db/app-role.sql), no superuser, which owns
/// the tables it migrated.
#[test]
fn a_test_database_is_the_backends_role_which_is_no_superuser_and_owns_the_tables() {
    let db = TestDatabase::migrated();
    let (user, superuser, owner): (String, bool, String) = diesel::dsl::sql::<(
        diesel::sql_types::Text,
        diesel::sql_types::Bool,
        diesel::sql_types::Text,
    )>(
        "SELECT current_user::text, rolsuper, pg_get_userbyid(c.relowner)::text \
         FROM pg_roles, pg_class c WHERE rolname = current_user AND c.oid = 'public.tasks'::regclass",
    )
    .get_result(&mut db.connect())
    .unwrap();
    assert_eq!(user, test_support::postgres::APP_ROLE);
    assert!(!superuser, "{user} must not be a superuser");
    assert_eq!(owner, user, "the backend's role owns the tasks table");
}

#[test]
fn applying_migrations_twice_is_a_no_op() {
    let db = TestDatabase::empty();
    let mut conn = db.connect();
    assert!(!table_exists(&mut conn, "tasks"));
    let first = backend_api::db::migrate(&mut conn).unwrap();
    assert!(first >= 1);
    assert!(table_exists(&mut conn, "tasks"));
    assert_eq!(
        backend_api::db::migrate(&mut conn).unwrap(),
        0,
        "the second run applies nothing"
    );
}

#[test]
fn down_migrations_undo_everything_and_up_works_again() {
    let db = TestDatabase::empty();
    let mut conn = db.connect();
    backend_api::db::migrate(&mut conn).unwrap();
    conn.batch_execute("INSERT INTO tasks (id, title) VALUES (gen_random_uuid(), 'x')")
        .unwrap();
    conn.revert_all_migrations(backend_api::db::MIGRATIONS)
        .unwrap();
    assert!(!table_exists(&mut conn, "tasks"));
    let type_left: bool = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "EXISTS (SELECT 1 FROM pg_type WHERE typname = 'task_priority')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert!(!type_left, "down.sql drops the enum too");
    assert!(backend_api::db::migrate(&mut conn).unwrap() >= 1);
    assert!(table_exists(&mut conn, "tasks"));
}

#[test]
fn the_schema_rejects_bad_rows_even_behind_the_api() {
    let db = TestDatabase::migrated();
    let mut conn = db.connect();
    for bad in [
        "INSERT INTO tasks (id, title) VALUES (gen_random_uuid(), '')",
        "INSERT INTO tasks (id, title) VALUES (gen_random_uuid(), ' padded ')",
        "INSERT INTO tasks (id, title, priority) VALUES (gen_random_uuid(), 'x', 'urgent')",
    ] {
        assert!(conn.batch_execute(bad).is_err(), "{bad}");
    }
    let too_long = format!(
        "INSERT INTO tasks (id, title) VALUES (gen_random_uuid(), '{}')",
        "a".repeat(256)
    );
    assert!(conn.batch_execute(&too_long).is_err());
}

#[test]
fn migrations_wait_while_another_replica_holds_the_lock() {
    let db = TestDatabase::empty();
    let mut holder = db.connect();
    let key = backend_api::db::migrate::MIGRATION_LOCK_KEY;
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .unwrap();
    let mut conn = db.connect();
    let migrating = std::thread::spawn(move || backend_api::db::migrate(&mut conn).map(|n| n > 0));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !migrating.is_finished() && !table_exists(&mut holder, "tasks"),
        "a replica migrated while another held the migration lock"
    );
    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({key})"))
        .unwrap();
    assert!(
        migrating.join().unwrap().unwrap(),
        "it migrates once the lock is free"
    );
    assert!(table_exists(&mut holder, "tasks"));
}

#[test]
fn two_servers_starting_at_once_on_an_empty_database_both_come_up() {
    let db = TestDatabase::empty();
    let url = db.url().to_owned();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                spawn_backend(&url)
            })
        })
        .collect();
    let backends: Vec<_> = starts
        .into_iter()
        .map(|t| t.join().expect("both servers start"))
        .collect();
    for backend in &backends {
        assert_eq!(get_status(&backend.url("/api/tasks")), 200);
    }
    let mut conn = db.connect();
    let runs: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM __diesel_schema_migrations)",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(
        runs as usize,
        MigrationSource::<diesel::pg::Pg>::migrations(&backend_api::db::MIGRATIONS)
            .unwrap()
            .len(),
        "each migration recorded once"
    );
    drop(backends);
}

/// A plain GET's status from sync code (the async client needs a runtime).
fn get_status(url: &str) -> u16 {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            test_support::http::client()
                .get(url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
}

/// The API's description bound holds behind the API too (psql, a restore).
#[test]
fn the_schema_refuses_an_oversized_description() {
    let db = TestDatabase::migrated();
    let mut conn = db.connect();
    let insert = |chars: usize| {
        format!(
            "INSERT INTO tasks (id, title, description) VALUES (gen_random_uuid(), 'x', repeat('é', {chars}))"
        )
    };
    let refused = conn.batch_execute(&insert(10_001)).unwrap_err();
    assert!(
        refused.to_string().contains("tasks_description_length"),
        "{refused}"
    );
    conn.batch_execute(&insert(10_000)).unwrap();
}

/// A database that already holds an oversized row (written before the bound) still migrates, the backend
/// starts and serves it, and start-up names the row.
#[test]
fn an_oversized_row_from_before_the_bound_does_not_stop_the_backend() {
    let db = TestDatabase::empty();
    let mut conn = db.connect();
    backend_api::db::migrate(&mut conn).unwrap();
    // Back to before the bound's migration (and any that came after it).
    while !conn
        .revert_last_migration(backend_api::db::MIGRATIONS)
        .unwrap()
        .to_string()
        .starts_with("20261206")
    {}
    let id = "00000000-0000-4000-8000-00000000000b";
    conn.batch_execute(&format!(
        "INSERT INTO tasks (id, title, description) VALUES ('{id}', 'big', repeat('a', 20000))"
    ))
    .unwrap();
    serves_and_warns(&db, id, "1 tasks have a description over 10000 characters");
    let refused = conn.batch_execute(
        "INSERT INTO tasks (id, title, description) VALUES (gen_random_uuid(), 'x', repeat('a', 10001))",
    );
    assert!(refused.is_err(), "the bound holds for new rows");
}

/// A title of several lines, written before titles became one line, is served and named at start-up.
#[test]
fn a_title_of_several_lines_from_before_the_rule_is_named_at_start_up() {
    let db = TestDatabase::migrated();
    let mut conn = db.connect();
    let id = "00000000-0000-4000-8000-00000000000c";
    conn.batch_execute(&format!(
        "INSERT INTO tasks (id, title) VALUES ('{id}', E'two\\nlines')"
    ))
    .unwrap();
    serves_and_warns(&db, id, "1 tasks have a title of more than one line");
}

/// A backend started on `db` serves the task `id`, and its start-up warns `warning`, naming the task.
fn serves_and_warns(db: &TestDatabase, id: &str, warning: &str) {
    let logs = test_support::logs::record();
    let backend = spawn_backend(db.url());
    assert_eq!(get_status(&backend.url(&format!("/api/tasks/{id}"))), 200);
    let warnings = logs.lines_containing(id);
    assert!(
        warnings
            .iter()
            .any(|l| l.starts_with("WARN") && l.contains(warning)),
        "{warnings:?}"
    );
}
