//! The fair queue in front of the pool ([`Db`]): requests get connections in arrival order, and searches
//! within a budget of their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::QueryResult;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::DbError;
use super::pool::{with_conn, Pool};

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
