//! The plumbing both taskmgr services share, written once:
//!
//! - [`env`]: settings from the environment, and the one [`env::ConfigError`] (exit code
//!   [`env::EXIT_BAD_SETTING`]);
//! - [`listen`]: binding the listeners, and the one [`listen::ListenError`] (exit code
//!   [`listen::EXIT_CANNOT_LISTEN`]);
//! - [`healthcheck`]: the `healthcheck` subcommand the images' HEALTHCHECK runs;
//! - [`methods`]: 501 for a method outside the known ones, before metrics or logs see it;
//! - [`request_log`]: `X-Request-Id` on every response, one log line per request, and the id of the request
//!   being served ([`request_log::current`]) for calls to other services;
//! - [`shutdown`]: how long in-flight requests get after SIGTERM;
//! - [`urlencoded`]: query strings and forms whose escapes are not UTF-8, found before a lossy parser;
//! - [`cli`]: the `main` of both binaries.

pub mod cli;
pub mod env;
pub mod healthcheck;
pub mod listen;
pub mod methods;
pub mod request_log;
pub mod shutdown;
pub mod urlencoded;

pub use env::{ConfigError, Env};
pub use listen::ListenError;
