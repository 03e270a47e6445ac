//! `frontend` serves the web UI; `frontend healthcheck` probes a running one.

use std::process::ExitCode;

use frontend::config::{self, Settings};
use frontend::startup::{Application, StartupError};
use service_kit::cli::{Failure, Service};

fn main() -> ExitCode {
    let service = Service {
        name: "frontend",
        healthcheck_port: config::healthcheck_port,
        settings: Settings::from_env,
    };
    service.main(|settings| async move {
        let app = Application::build(&settings).map_err(|e| match e {
            StartupError::Listen(listen) => Failure::CannotListen(listen),
            other => Failure::Other(other.to_string()),
        })?;
        log::info!(
            "frontend listening on http://{}, metrics on http://{}/metrics (backend {})",
            app.address(),
            app.metrics_address(),
            settings.backend_api_url
        );
        app.run()
            .await
            .map_err(|e| Failure::Other(format!("server error: {e}")))
    })
}
