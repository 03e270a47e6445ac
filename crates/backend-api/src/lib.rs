//! taskmgr's backend API: a REST JSON service of tasks over PostgreSQL.
//!
//! `main.rs` only reads the settings and calls [`startup::Application`]; tests build the same server
//! in-process on port 0 (see the `test-support` crate).

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod methods;
pub mod metrics;
pub mod request_log;
pub mod routes;
pub mod startup;
pub mod task_json;
pub mod typed_json;

pub use config::Settings;
pub use startup::{Application, StartupError};
