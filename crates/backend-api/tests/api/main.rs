//! backend-api integration tests: the real server (in-process, port 0) against a real PostgreSQL
//! (a throwaway cluster, or TEST_DATABASE_URL), one fresh database per test.

mod support;

mod concurrency;
mod crud;
mod errors;
mod lifecycle;
mod list;
mod migrations;
mod ops;
mod schema;
mod search_bounds;
