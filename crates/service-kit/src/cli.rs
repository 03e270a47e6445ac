//! The `main` of both binaries: `<service>` serves, `<service> healthcheck` probes a running one.

use std::future::Future;
use std::process::ExitCode;

use crate::env::EXIT_BAD_SETTING;
use crate::listen::{ListenError, EXIT_CANNOT_LISTEN};
use crate::{healthcheck, ConfigError};

/// Why a service stopped with an error: a port it cannot listen on (exit code [`EXIT_CANNOT_LISTEN`]), or
/// anything else (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    CannotListen(#[from] ListenError),
    #[error("{0}")]
    Other(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Other(message)
    }
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::CannotListen(_) => ExitCode::from(EXIT_CANNOT_LISTEN),
            Failure::Other(_) => ExitCode::FAILURE,
        }
    }
}

/// The variable with the log filter (env_logger's syntax); `info` when unset.
pub const RUST_LOG: &str = "RUST_LOG";

/// What a service binary needs to run.
pub struct Service<S> {
    /// The binary's name, for messages.
    pub name: &'static str,
    /// The port `healthcheck` probes: the `PORT` the server listens on.
    pub healthcheck_port: fn() -> Result<u16, ConfigError>,
    /// All the settings, read from the environment.
    pub settings: fn() -> Result<S, ConfigError>,
}

impl<S> Service<S> {
    /// Dispatches on the first argument. A bad setting stops the start with one line on stderr and exit
    /// code [`EXIT_BAD_SETTING`]; a port that cannot be bound exits [`EXIT_CANNOT_LISTEN`]; another error
    /// exits 1; a SIGTERM exits 0 once the requests in flight are done.
    pub fn main<Serve, Fut>(self, serve: Serve) -> ExitCode
    where
        Serve: FnOnce(S) -> Fut,
        Fut: Future<Output = Result<(), Failure>>,
    {
        let name = self.name;
        match std::env::args().nth(1).as_deref() {
            None => {}
            Some("healthcheck") => return healthcheck::run((self.healthcheck_port)()),
            Some(other) => {
                eprintln!("{name}: unknown command {other:?}; usage: {name} [healthcheck]");
                return ExitCode::FAILURE;
            }
        }
        env_logger::Builder::from_env(env_logger::Env::new().filter_or(RUST_LOG, "info")).init();
        let settings = match (self.settings)() {
            Ok(settings) => settings,
            Err(err) => {
                eprintln!("{err}");
                return ExitCode::from(EXIT_BAD_SETTING);
            }
        };
        match actix_web::rt::System::new().block_on(serve(settings)) {
            Ok(()) => {
                log::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(err) => {
                // One line, whatever RUST_LOG says (a log line as well would print it twice).
                eprintln!("{name}: {err}");
                err.exit_code()
            }
        }
    }
}
