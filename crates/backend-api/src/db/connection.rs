//! Connections to PostgreSQL: how one is opened (connect and statement timeouts), tested after idling,
//! recognised as broken, and checked out through the fair queue [`Db`]; and why a call failed ([`DbError`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::{ConnectionError, DatabaseErrorKind, Error as DieselError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no such row")]
    NotFound,
    #[error("no database connection free within {0:?}")]
    QueueTimeout(Duration),
    #[error("the connection queue is closed")]
    QueueClosed,
    #[error("no database connection")]
    Checkout(#[source] r2d2::Error),
    #[error("database connection lost")]
    ConnectionLost(#[source] DieselError),
    #[error("query cut off by statement_timeout ({timeout:?})")]
    StatementTimeout {
        timeout: Duration,
        #[source]
        source: DieselError,
    },
    #[error("blocking task failed")]
    Blocking(#[source] actix_web::error::BlockingError),
    /// A failure that retrying will not fix: a bug, or a schema that is not what the code expects.
    #[error("query failed")]
    Query(#[source] DieselError),
}

/// Whether diesel itself says the connection is gone.
fn says_connection_lost(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// A pooled connection that remembers when it failed, so the pool drops it instead of handing it out again
/// (diesel's own check only looks at the transaction state, not at a dead socket).
pub struct Conn {
    pg: PgConnection,
    broken: bool,
    /// When it was opened or last given back: see [`TEST_AFTER_IDLE`].
    idle_since: Instant,
    /// The pool's count of lost connections, and its value when this one was last known to work.
    losses: Arc<AtomicU64>,
    losses_seen: u64,
    /// The session's `statement_timeout`, to recognise a query it cut off.
    statement_timeout: Duration,
}

impl Conn {
    /// Dropped by the pool, and counted, so that the connections that last worked before it are tested.
    fn mark_lost(&mut self) {
        self.broken = true;
        self.losses.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Manager {
    url: String,
    statement_timeout: Duration,
    losses: Arc<AtomicU64>,
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
            idle_since: Instant::now(),
            losses_seen: self.losses.load(Ordering::Relaxed),
            losses: self.losses.clone(),
            statement_timeout: self.statement_timeout,
        })
    }

    /// Run by the pool at every checkout (`test_on_check_out`), but a round trip only for a connection that
    /// may be dead: one idle past [`TEST_AFTER_IDLE`], or one that last worked before another was lost (after
    /// a quick restart, all of them are dead). The pool drops one that fails and hands out or opens another
    /// within the same checkout timeout.
    fn is_valid(&self, conn: &mut Conn) -> Result<(), ConnectionError> {
        let losses = self.losses.load(Ordering::Relaxed);
        let trusted = conn.losses_seen == losses && conn.idle_since.elapsed() < TEST_AFTER_IDLE;
        if !trusted {
            ping(&mut conn.pg).map_err(|err| {
                conn.mark_lost();
                ConnectionError::CouldntSetupConfiguration(err)
            })?;
        }
        conn.losses_seen = losses;
        Ok(())
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
        // Tested only when they may be dead (`Manager::is_valid`): a round trip per checkout would halve
        // throughput. A query that finds its connection dead has it dropped (`Conn::broken`).
        .test_on_check_out(true)
        .build_unchecked(Manager {
            url: url.to_owned(),
            statement_timeout,
            losses: Arc::default(),
        })
}

/// A connection idle for longer than this is tested (`SELECT 1`) before it is reused. PostgreSQL may have
/// restarted meanwhile, and then every idle connection would fail one request. Under load connections come
/// back sooner, so only a quiet backend pays the round trip (HikariCP's rule and value).
pub const TEST_AFTER_IDLE: Duration = Duration::from_millis(500);

/// Checks out a connection (waiting at most `timeout`), runs `f`, and classifies the outcome.
/// A connection that saw an unexpected error is discarded rather than reused.
pub fn with_conn<T>(
    pool: &Pool,
    timeout: Duration,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
) -> Result<T, DbError> {
    let mut conn = pool.get_timeout(timeout).map_err(DbError::Checkout)?;
    let started = Instant::now();
    let result = f(&mut conn.pg);
    conn.idle_since = Instant::now();
    match result {
        Ok(value) => Ok(value),
        Err(DieselError::NotFound) => Err(DbError::NotFound),
        Err(err) => {
            let lost = says_connection_lost(&err);
            // Some failures on a dead connection surface as other errors (e.g. the lookup of the
            // `task_priority` type); a failed ping tells them apart from real bugs.
            if lost || ping(&mut conn.pg).is_err() {
                conn.mark_lost();
                Err(DbError::ConnectionLost(err))
            } else if started.elapsed() >= conn.statement_timeout {
                // SQLSTATE 57014, which diesel does not expose: a statement can only fail this late when
                // `statement_timeout` cut it off (and then the connection is fine to reuse).
                Err(DbError::StatementTimeout {
                    timeout: conn.statement_timeout,
                    source: err,
                })
            } else {
                conn.broken = true;
                Err(DbError::Query(err))
            }
        }
    }
}

/// `SELECT 1`: the readiness round trip.
pub fn ping(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
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
        .map_err(DbError::Blocking)?
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
            .map_err(|_| DbError::QueueTimeout(self.timeout))?
            .map_err(|_| DbError::QueueClosed)
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
