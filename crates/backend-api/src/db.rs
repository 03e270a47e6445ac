//! PostgreSQL: the connection pool, the schema, the migrations and the queries.
//!
//! Queries are plain sync functions taking `&mut PgConnection`; the routes call them through
//! [`with_conn`] inside `web::block`, so diesel never runs on the async executor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::{ConnectionError, DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use task_types::{Priority, Task};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::domain::{ListQuery, SortKey, ValidNewTask, ValidPatch};

pub mod schema {
    pub mod sql_types {
        /// The `task_priority` enum (`low` < `medium` < `high`), so that ordering by priority is plain SQL.
        #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
        #[diesel(postgres_type(name = "task_priority"))]
        pub struct TaskPriority;
    }

    diesel::table! {
        use diesel::sql_types::*;
        use super::sql_types::TaskPriority;

        tasks (id) {
            id -> Uuid,
            title -> Varchar,
            description -> Text,
            priority -> TaskPriority,
            completed -> Bool,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }
}

use schema::tasks;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any constant shared by every replica: whoever holds this advisory lock is the one migrating.
const MIGRATION_LOCK_KEY: i64 = 0x0074_6173_6b6d_6772; // "taskmgr" in ASCII

/// Applies the pending migrations while holding a PostgreSQL advisory lock, so that replicas starting
/// together take turns: the first migrates, the others then find nothing to do. Returns how many ran.
pub fn migrate(conn: &mut PgConnection) -> Result<usize, String> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .map_err(|e| format!("could not take the migration lock: {e}"))?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|done| done.len())
        .map_err(|e| e.to_string());
    let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
    let applied = result.map_err(|e| format!("migration failed: {e}"))?;
    unlocked.map_err(|e| format!("could not release the migration lock: {e}"))?;
    Ok(applied)
}

// ---------------------------------------------------------------------------------------------------
// The pool

/// A pooled connection that remembers when it failed, so the pool drops it instead of handing it out again
/// (diesel's own check only looks at the transaction state, not at a dead socket).
pub struct Conn {
    pg: PgConnection,
    broken: bool,
    /// The session's `statement_timeout`, to recognise a query it cut off.
    statement_timeout: Duration,
}

pub struct Manager {
    url: String,
    statement_timeout: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = ConnectionError;

    fn connect(&self) -> Result<Conn, ConnectionError> {
        let mut pg = connect(&self.url)?;
        // No request holds a connection longer than this: PostgreSQL cancels the statement itself, so a
        // query keeps no connection busy after its client has given up either.
        pg.batch_execute(&format!(
            "SET statement_timeout = {}",
            self.statement_timeout.as_millis()
        ))
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(Conn {
            pg,
            broken: false,
            statement_timeout: self.statement_timeout,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), ConnectionError> {
        conn.pg
            .batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        // A connection given back while a query panicked may be mid-protocol.
        std::thread::panicking() || conn.broken || conn.pg.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// How long opening a connection may take: a host that drops packets (a wrong NetworkPolicy, a dead node)
/// would otherwise block start-up and the pool for the kernel's TCP timeout, minutes.
const CONNECT_TIMEOUT_SECS: u32 = 5;

/// Opens a connection, with libpq's `connect_timeout` unless the URL sets its own.
pub fn connect(url: &str) -> Result<PgConnection, ConnectionError> {
    PgConnection::establish(&with_connect_timeout(url))
}

fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={CONNECT_TIMEOUT_SECS}")
}

/// Builds the pool without connecting: start-up has already waited for the database, and a pool that
/// opens its connections lazily keeps serving (503s) instead of failing while the database is away.
/// Every connection runs with `statement_timeout` (`DB_STATEMENT_TIMEOUT_MS`).
pub fn build_pool(
    url: &str,
    size: u32,
    checkout_timeout: Duration,
    statement_timeout: Duration,
) -> Pool {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(size.min(2)))
        .connection_timeout(checkout_timeout)
        // A round trip per checkout would halve throughput; dead connections are caught by `Conn::broken`.
        .test_on_check_out(false)
        .build_unchecked(Manager {
            url: url.to_owned(),
            statement_timeout,
        })
}

/// Why a database call failed, in the terms the API cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    NotFound,
    /// No connection within the pool timeout, a query cut off by the statement timeout, or the
    /// connection died: the client may retry.
    Unavailable(String),
    Other(String),
}

/// The pool behind a fair queue: requests wait for a connection in arrival order (a tokio semaphore
/// with one permit per connection) instead of racing on the pool's condition variable, which starved
/// some requests for hundreds of milliseconds under load. Queries run on the blocking thread pool.
///
/// Searches (the list with `q`) may be slow whatever the index, so they first queue for a smaller
/// budget of their own ([`search_budget`]): however many run at once, the other connections stay free
/// for plain reads and writes.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    permits: Arc<Semaphore>,
    search_permits: Arc<Semaphore>,
    timeout: Duration,
}

/// How many connections searches may hold at once: half the pool (at least 1; a pool of 1 has nothing
/// to keep back).
pub fn search_budget(pool_size: u32) -> usize {
    (pool_size as usize / 2).max(1)
}

impl Db {
    /// `timeout` bounds the whole wait for a connection (queues and checkout): `DB_POOL_TIMEOUT_MS`.
    pub fn new(pool: Pool, timeout: Duration) -> Self {
        let size = pool.max_size();
        Db {
            permits: Arc::new(Semaphore::new(size as usize)),
            search_permits: Arc::new(Semaphore::new(search_budget(size))),
            pool,
            timeout,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `f` with a connection, on the blocking pool, once a connection is free (503 after the timeout).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        self.run_within(None, f).await
    }

    /// [`Db::run`] for a search: it waits for one of the searches' connections first.
    pub async fn run_search<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        self.run_within(Some(&self.search_permits), f).await
    }

    async fn run_within<T: Send + 'static>(
        &self,
        budget: Option<&Arc<Semaphore>>,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let deadline = Instant::now() + self.timeout;
        let budget_permit = match budget {
            Some(budget) => Some(self.acquire_by(budget, deadline).await?),
            None => None,
        };
        let permit = self.acquire_by(&self.permits, deadline).await?;
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let _permits = (permit, budget_permit);
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            with_conn(&pool, left, f)
        })
        .await
        .map_err(|e| DbError::Other(format!("blocking task failed: {e}")))?
    }

    /// A permit of `queue`, or a 503 once `deadline` has passed.
    async fn acquire_by(
        &self,
        queue: &Arc<Semaphore>,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, DbError> {
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(left, queue.clone().acquire_owned())
            .await
            .map_err(|_| {
                DbError::Unavailable(format!(
                    "no database connection free within {:?}",
                    self.timeout
                ))
            })?
            .map_err(|_| DbError::Other("the connection queue is closed".to_owned()))
    }
}

/// Checks out a connection (waiting at most `timeout`), runs `f`, and classifies the outcome.
/// A connection that saw an unexpected error is discarded rather than reused.
pub fn with_conn<T>(
    pool: &Pool,
    timeout: Duration,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
) -> Result<T, DbError> {
    let mut conn = pool
        .get_timeout(timeout)
        .map_err(|e| DbError::Unavailable(format!("no database connection: {e}")))?;
    let started = Instant::now();
    match f(&mut conn.pg) {
        Ok(value) => Ok(value),
        Err(DieselError::NotFound) => Err(DbError::NotFound),
        Err(err) => {
            let lost = matches!(
                err,
                DieselError::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _
                )
            );
            // Some failures on a dead connection surface as other errors (e.g. the lookup of the
            // `task_priority` type); a failed ping tells them apart from real bugs.
            if lost || ping(&mut conn.pg).is_err() {
                conn.broken = true;
                Err(DbError::Unavailable(format!(
                    "database connection lost: {err}"
                )))
            } else if started.elapsed() >= conn.statement_timeout {
                // SQLSTATE 57014, which diesel does not expose: a statement can only fail this late when
                // `statement_timeout` cut it off (and then the connection is fine to reuse).
                Err(DbError::Unavailable(format!(
                    "query cut off by statement_timeout ({:?}): {err}",
                    conn.statement_timeout
                )))
            } else {
                conn.broken = true;
                Err(DbError::Other(err.to_string()))
            }
        }
    }
}

/// `SELECT 1`: the readiness round trip.
pub fn ping(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

// ---------------------------------------------------------------------------------------------------
// Rows and queries

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
            tasks::title.eq(&new.title),
            tasks::description.eq(&new.description),
            tasks::priority.eq(DbPriority(new.priority)),
            tasks::completed.eq(new.completed),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .map(Task::from)
}

pub fn get_task(conn: &mut PgConnection, id: Uuid) -> QueryResult<Task> {
    tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first(conn)
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
    if *patch == ValidPatch::default() {
        return get_task(conn, id);
    }
    let changes = Changes {
        title: patch.title.as_deref(),
        description: patch.description.as_deref(),
        priority: patch.priority.map(DbPriority),
        completed: patch.completed,
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

/// One page of the list.
pub struct Page {
    pub tasks: Vec<Task>,
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
/// byte bound are never held in memory: they are read off the connection and dropped.
pub fn list_tasks(conn: &mut PgConnection, query: &ListQuery) -> QueryResult<Page> {
    if query.search.as_deref().is_some_and(|s| s.contains('\0')) {
        // No stored text can hold U+0000 (PostgreSQL refuses it), so nothing matches.
        return Ok(Page {
            tasks: Vec::new(),
            total: 0,
            truncated: false,
            counts: query.counts.then(|| count_all(conn)).transpose()?,
        });
    }
    let rows = filtered(query)
        .select((TaskRow::as_select(), diesel::dsl::count_star().over()))
        .order_by(order(query.sort))
        .limit(query.limit)
        .offset(query.offset)
        .load_iter::<(TaskRow, i64), diesel::pg::PgRowByRowLoadingMode>(conn)?;
    let (mut tasks, mut total, mut bytes, mut truncated) = (Vec::new(), None, 0, false);
    for row in rows {
        let (row, count) = row?;
        total.get_or_insert(count);
        bytes += row.title.len() + row.description.len();
        if bytes > PAGE_TEXT_BYTES && !tasks.is_empty() {
            truncated = true;
            break;
        }
        tasks.push(Task::from(row));
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
        tasks,
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

fn order(sort: SortKey) -> (Order, Order, Order) {
    use tasks::{created_at, id, priority, title, updated_at};
    match sort {
        SortKey::CreatedAt => (
            Box::new(created_at.asc()),
            Box::new(id.asc()),
            Box::new(id.asc()),
        ),
        SortKey::CreatedAtDesc => (
            Box::new(created_at.desc()),
            Box::new(id.desc()),
            Box::new(id.desc()),
        ),
        SortKey::UpdatedAt => (
            Box::new(updated_at.asc()),
            Box::new(id.asc()),
            Box::new(id.asc()),
        ),
        SortKey::UpdatedAtDesc => (
            Box::new(updated_at.desc()),
            Box::new(id.desc()),
            Box::new(id.desc()),
        ),
        SortKey::Priority => (
            Box::new(priority.asc()),
            Box::new(created_at.asc()),
            Box::new(id.asc()),
        ),
        SortKey::PriorityDesc => (
            Box::new(priority.desc()),
            Box::new(created_at.desc()),
            Box::new(id.desc()),
        ),
        SortKey::Title => (
            Box::new(title.asc()),
            Box::new(id.asc()),
            Box::new(id.asc()),
        ),
        SortKey::TitleDesc => (
            Box::new(title.desc()),
            Box::new(id.desc()),
            Box::new(id.desc()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::with_connect_timeout;

    #[test]
    fn connections_get_a_connect_timeout_unless_the_url_has_one() {
        assert_eq!(
            with_connect_timeout("postgres://u@h/d"),
            "postgres://u@h/d?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/d?sslmode=disable"),
            "postgres://u@h/d?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/d?connect_timeout=1"),
            "postgres://u@h/d?connect_timeout=1"
        );
    }
}
