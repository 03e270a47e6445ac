//! The r2d2 pool of PostgreSQL connections: how a connection is opened, recognised as broken, checked out,
//! and how a query's failure is classified ([`with_conn`]).

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::{ConnectionError, Error as DieselError};

use super::errors::{says_connection_lost, DbError};

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

/// Checks out a connection (waiting at most `timeout`), runs `f`, and classifies the outcome.
/// A connection that saw an unexpected error is discarded rather than reused.
pub fn with_conn<T>(
    pool: &Pool,
    timeout: Duration,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
) -> Result<T, DbError> {
    let mut conn = pool.get_timeout(timeout).map_err(DbError::Checkout)?;
    let started = Instant::now();
    match f(&mut conn.pg) {
        Ok(value) => Ok(value),
        Err(DieselError::NotFound) => Err(DbError::NotFound),
        Err(err) => {
            let lost = says_connection_lost(&err);
            // Some failures on a dead connection surface as other errors (e.g. the lookup of the
            // `task_priority` type); a failed ping tells them apart from real bugs.
            if lost || ping(&mut conn.pg).is_err() {
                conn.broken = true;
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
