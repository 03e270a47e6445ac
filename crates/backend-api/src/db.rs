//! PostgreSQL, one module per concern: the generated [`schema`], the [`migrate`] step, the connection
//! [`pool`], the fair [`queue`] in front of it, typed [`errors`], the [`rows`] and the [`tasks`] queries.
//!
//! Queries are plain sync functions taking `&mut PgConnection`; the routes call them through [`Db`], which
//! runs them on the blocking thread pool, so diesel never runs on the async executor.

pub mod errors;
pub mod migrate;
pub mod pool;
pub mod queue;
pub mod rows;
pub mod schema;
pub mod tasks;

pub use errors::DbError;
pub use migrate::{migrate, MigrateError, MIGRATIONS};
pub use pool::{build_pool, connect, ping, with_conn, Conn, Manager, Pool};
pub use queue::{search_budget, Db};
pub use tasks::{
    count_all, delete_task, get_task, insert_task, list_tasks, update_task, Counts, Page,
    PAGE_TEXT_BYTES,
};
