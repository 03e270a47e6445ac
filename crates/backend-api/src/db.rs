//! PostgreSQL: the generated [`schema`], the [`migrate`] step, the [`connection`]s (pool, fair queue, typed
//! errors) and the [`tasks`] table's rows and queries.
//!
//! Queries are plain sync functions taking `&mut PgConnection`; the routes call them through [`Db`], which
//! runs them on the blocking thread pool, so diesel never runs on the async executor.

pub mod connection;
pub mod migrate;
pub mod schema;
pub mod tasks;

pub use connection::{
    build_pool, connect, ping, search_budget, with_conn, Conn, Db, DbError, Manager, Pool,
    TEST_AFTER_IDLE,
};
pub use migrate::{migrate, MigrateError, MIGRATIONS};
pub use tasks::{
    count_all, delete_task, get_task, insert_task, list_tasks, update_task, Counts, Page,
    PAGE_TEXT_BYTES,
};
