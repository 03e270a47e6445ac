//! The `tasks` table: rows as diesel reads and writes them, and the queries, plain sync functions taking
//! `&mut PgConnection` that run through [`super::Db`].

use chrono::{DateTime, Utc};
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use task_types::{ListQuery, Priority, SortField, SortKey, Task};
use uuid::Uuid;

use super::schema::{self, tasks};
use crate::domain::{ValidNewTask, ValidPatch};

/// `Priority` as the `task_priority` enum (a local newtype: the orphan rule keeps diesel's traits off
/// the shared `task-types`).
#[derive(Debug, Clone, Copy, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = schema::sql_types::TaskPriority)]
pub struct DbPriority(pub Priority);

impl diesel::serialize::ToSql<schema::sql_types::TaskPriority, Pg> for DbPriority {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, Pg>,
    ) -> diesel::serialize::Result {
        use std::io::Write;
        out.write_all(self.0.as_str().as_bytes())?;
        Ok(diesel::serialize::IsNull::No)
    }
}

impl diesel::deserialize::FromSql<schema::sql_types::TaskPriority, Pg> for DbPriority {
    fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(DbPriority(
            std::str::from_utf8(bytes.as_bytes())?.parse::<Priority>()?,
        ))
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(Pg))]
struct TaskRow {
    id: Uuid,
    title: String,
    description: String,
    priority: DbPriority,
    completed: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Task {
        Task {
            id: row.id,
            title: row.title,
            description: row.description,
            priority: row.priority.0,
            completed: row.completed,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub fn insert_task(conn: &mut PgConnection, new: &ValidNewTask) -> QueryResult<Task> {
    diesel::insert_into(tasks::table)
        .values((
            tasks::id.eq(Uuid::new_v4()),
            tasks::title.eq(new.title().as_str()),
            tasks::description.eq(new.description().as_str()),
            tasks::priority.eq(DbPriority(new.priority())),
            tasks::completed.eq(new.completed()),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .map(Task::from)
}

pub fn get_task(conn: &mut PgConnection, id: Uuid) -> QueryResult<Task> {
    // `get_result`, not `first`: the key matches one row at most, and `LIMIT 1` would be one more bind.
    tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .get_result(conn)
        .map(Task::from)
}

#[derive(AsChangeset)]
#[diesel(table_name = tasks)]
struct Changes<'a> {
    title: Option<&'a str>,
    description: Option<&'a str>,
    priority: Option<DbPriority>,
    completed: Option<bool>,
}

/// Applies the patch and moves `updated_at` forward; an empty patch changes nothing and returns the task.
pub fn update_task(conn: &mut PgConnection, id: Uuid, patch: &ValidPatch) -> QueryResult<Task> {
    if patch.is_empty() {
        return get_task(conn, id);
    }
    let changes = Changes {
        title: patch.title().map(|t| t.as_str()),
        description: patch.description().map(|d| d.as_str()),
        priority: patch.priority().map(DbPriority),
        completed: patch.completed(),
    };
    diesel::update(tasks::table.find(id))
        .set((changes, tasks::updated_at.eq(diesel::dsl::now)))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .map(Task::from)
}

pub fn delete_task(conn: &mut PgConnection, id: Uuid) -> QueryResult<()> {
    match diesel::delete(tasks::table.find(id)).execute(conn)? {
        0 => Err(DieselError::NotFound),
        _ => Ok(()),
    }
}

/// The most title and description bytes one page of the list carries (512 KiB). A page stops before the
/// task that would pass it (but always holds at least one task), so that a request's memory is bounded
/// whatever the data: escaped as JSON (`\u0001` for a control character) the body stays under about 3 MiB,
/// where 1,000 tasks of 10,000 control characters would otherwise be 60 MB.
pub const PAGE_TEXT_BYTES: usize = 512 * 1024;

/// One page of the list (its tasks went to the caller one by one).
pub struct Page {
    /// The number of tasks matching the filters (`X-Total-Count`).
    pub total: i64,
    /// The page stopped at [`PAGE_TEXT_BYTES`] before `limit` tasks (and before the last match).
    pub truncated: bool,
    /// Every task and the completed ones, whatever the filters, when the query asked (`counts`).
    pub counts: Option<Counts>,
}

/// How many tasks there are, and how many of them are completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Counts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub all: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub completed: i64,
}

/// Both counts in one scan of the table.
pub fn count_all(conn: &mut PgConnection) -> QueryResult<Counts> {
    diesel::sql_query(
        "SELECT count(*) AS all, count(*) FILTER (WHERE completed) AS completed FROM tasks",
    )
    .get_result(conn)
}

/// One page of the list and the number of tasks matching the filters, in one round trip thanks to
/// `count(*) OVER ()`. Rows are read one at a time (libpq's single-row mode), so that the rows past the
/// byte bound are never held in memory: they are read off the connection and dropped. Each task of the page
/// goes to `each` as soon as it is read (the route writes it as JSON), so no row outlives its turn.
pub fn list_tasks(
    conn: &mut PgConnection,
    query: &ListQuery,
    mut each: impl FnMut(Task),
) -> QueryResult<Page> {
    if query.search.as_deref().is_some_and(|s| s.contains('\0')) {
        // No stored text can hold U+0000 (PostgreSQL refuses it), so nothing matches.
        return Ok(Page {
            total: 0,
            truncated: false,
            counts: query.counts.then(|| count_all(conn)).transpose()?,
        });
    }
    let select = filtered(query).select((TaskRow::as_select(), diesel::dsl::count_star().over()));
    let rows = sorted(select, query.sort)
        .limit(query.limit)
        .offset(query.offset)
        .load_iter::<(TaskRow, i64), diesel::pg::PgRowByRowLoadingMode>(conn)?;
    let (mut listed, mut total, mut bytes, mut truncated) = (0, None, 0, false);
    for row in rows {
        let (row, count) = row?;
        total.get_or_insert(count);
        bytes += row.title.len() + row.description.len();
        if bytes > PAGE_TEXT_BYTES && listed > 0 {
            truncated = true;
            break;
        }
        each(Task::from(row));
        listed += 1;
    }
    let total = match total {
        Some(total) => total,
        // An offset past the end returns no row to carry the count: ask for it separately.
        None if query.offset > 0 => filtered(query).count().get_result(conn)?,
        None => 0,
    };
    // After the page, not in one snapshot: the counts may include a task created in between, as
    // separate requests would.
    let counts = query.counts.then(|| count_all(conn)).transpose()?;
    Ok(Page {
        total,
        truncated,
        counts,
    })
}

fn filtered(query: &ListQuery) -> tasks::BoxedQuery<'static, Pg> {
    let mut select = tasks::table.into_boxed();
    if let Some(completed) = query.completed {
        select = select.filter(tasks::completed.eq(completed));
    }
    if !query.priorities.is_empty() {
        let priorities: Vec<DbPriority> =
            query.priorities.iter().copied().map(DbPriority).collect();
        select = select.filter(tasks::priority.eq_any(priorities));
    }
    if let Some(search) = &query.search {
        let pattern = format!("%{}%", escape_like(search));
        select = select.filter(
            tasks::title
                .ilike(pattern.clone())
                .or(tasks::description.ilike(pattern)),
        );
    }
    select
}

/// `%`, `_` and `\` in the user's text match themselves, not any character.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

type Order = Box<
    dyn BoxableExpression<
        tasks::table,
        Pg,
        SqlType = diesel::expression::expression_types::NotSelectable,
    >,
>;

/// A column the list is ordered by: the sort fields and `id`, which breaks the last ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortColumn {
    Field(SortField),
    Id,
}

impl From<SortField> for SortColumn {
    fn from(field: SortField) -> Self {
        SortColumn::Field(field)
    }
}

/// What breaks ties after the sort field, in the sort's direction: `id`, so that pages are stable, and for
/// the priority (many equal values) `created_at` first. Each order matches one of the migrations' indexes.
fn tie_breakers(field: SortField) -> &'static [SortColumn] {
    match field {
        SortField::Priority => &[SortColumn::Field(SortField::CreatedAt), SortColumn::Id],
        SortField::CreatedAt | SortField::UpdatedAt | SortField::Title => &[SortColumn::Id],
    }
}

/// `select` ordered by the sort field, then by its [`tie_breakers`].
fn sorted<ST>(
    select: tasks::BoxedQuery<'static, Pg, ST>,
    sort: SortKey,
) -> tasks::BoxedQuery<'static, Pg, ST> {
    let mut select = select.order_by(ordered(SortColumn::from(sort.field), sort));
    for tie in tie_breakers(sort.field) {
        select = select.then_order_by(ordered(*tie, sort));
    }
    select
}

/// `column ASC` or `column DESC`. Boxed, so that every order is one query type; each order's SQL is fixed,
/// so diesel still caches its prepared statement.
fn ordered(column: SortColumn, sort: SortKey) -> Order {
    fn by<C>(column: C, descending: bool) -> Order
    where
        C: ExpressionMethods,
        diesel::helper_types::Asc<C>: BoxableExpression<
                tasks::table,
                Pg,
                SqlType = diesel::expression::expression_types::NotSelectable,
            > + 'static,
        diesel::helper_types::Desc<C>: BoxableExpression<
                tasks::table,
                Pg,
                SqlType = diesel::expression::expression_types::NotSelectable,
            > + 'static,
    {
        if descending {
            Box::new(column.desc())
        } else {
            Box::new(column.asc())
        }
    }
    let descending = sort.descending;
    match column {
        SortColumn::Field(SortField::CreatedAt) => by(tasks::created_at, descending),
        SortColumn::Field(SortField::UpdatedAt) => by(tasks::updated_at, descending),
        SortColumn::Field(SortField::Priority) => by(tasks::priority, descending),
        SortColumn::Field(SortField::Title) => by(tasks::title, descending),
        SortColumn::Id => by(tasks::id, descending),
    }
}

#[cfg(test)]
mod tests {
    use task_types::Priority;

    use super::*;

    /// The SQL each sort key orders by: the field, then its tie-breakers, all in the key's direction.
    #[test]
    fn every_sort_key_orders_by_its_field_then_its_tie_breakers() {
        let expected = [
            (
                "created_at",
                r#""tasks"."created_at" ASC, "tasks"."id" ASC"#,
            ),
            (
                "-created_at",
                r#""tasks"."created_at" DESC, "tasks"."id" DESC"#,
            ),
            (
                "updated_at",
                r#""tasks"."updated_at" ASC, "tasks"."id" ASC"#,
            ),
            (
                "-updated_at",
                r#""tasks"."updated_at" DESC, "tasks"."id" DESC"#,
            ),
            (
                "priority",
                r#""tasks"."priority" ASC, "tasks"."created_at" ASC, "tasks"."id" ASC"#,
            ),
            (
                "-priority",
                r#""tasks"."priority" DESC, "tasks"."created_at" DESC, "tasks"."id" DESC"#,
            ),
            ("title", r#""tasks"."title" ASC, "tasks"."id" ASC"#),
            ("-title", r#""tasks"."title" DESC, "tasks"."id" DESC"#),
        ];
        assert_eq!(expected.len(), SortKey::ALL.len());
        for (name, order_by) in expected {
            // Every filter set, as the busiest list page sends them.
            let query = ListQuery {
                completed: Some(false),
                priorities: vec![Priority::High, Priority::Low],
                search: Some("milk".to_owned()),
                sort: SortKey::parse(name).unwrap(),
                ..ListQuery::default()
            };
            let select = sorted(filtered(&query).select(tasks::id), query.sort);
            let sql = diesel::debug_query::<Pg, _>(&select).to_string();
            assert!(
                sql.contains(&format!("ORDER BY {order_by} --")),
                "{name}: {sql}"
            );
            // Boxed, yet each order is one fixed SQL text: diesel keeps it in its prepared-statement cache.
            assert!(
                <_ as diesel::query_builder::QueryFragment<Pg>>::is_safe_to_cache_prepared(
                    &select, &Pg
                )
                .unwrap(),
                "{name}"
            );
        }
    }
}
