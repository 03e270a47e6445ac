//! Dev-only test harness shared by every crate's integration tests and the benchmarks.
//!
//! - [`postgres`]: a throwaway PostgreSQL cluster on a free port (or `TEST_DATABASE_URL`), and a fresh
//!   database per test ([`postgres::TestDatabase`]); [`postgres::Cluster`] can be stopped and started
//!   again for fault tests.
//! - [`backend`]: the real backend-api server, in-process on port 0 ([`backend::spawn_backend`]).
//! - [`frontend`]: the real frontend server, in-process on port 0.
//! - [`http`]: the tests' HTTP client, bounded in time.
//! - [`raw_http`]: HTTP/1.1 over a plain socket, for requests a client library will not send.
//! - [`process`]: a service's real binary as a child process, to signal and restart.
//! - [`logs`]: the test process's logger ([`init_logs`]), and log lines kept for a test to read.
//! - [`api_error`]: the check of the API's JSON error contract.
pub mod api_error;
pub mod backend;
pub mod frontend;
pub mod http;
pub mod logs;
pub mod postgres;
pub mod process;
pub mod raw_http;
mod server_thread;

pub use logs::init_logs;
