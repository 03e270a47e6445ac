use std::process::ExitCode;

use backend_api::{config, Application, Settings, StartupError};
use service_kit::cli::{Failure, Service};

fn main() -> ExitCode {
    let service = Service {
        name: "backend-api",
        healthcheck_port: config::healthcheck_port,
        settings: Settings::from_env,
    };
    service.main(|settings| async move {
        let app = Application::build(settings).map_err(|e| match e {
            StartupError::Listen(listen) => Failure::CannotListen(listen),
            other => Failure::Other(other.to_string()),
        })?;
        app.run().await.map_err(|e| Failure::Other(e.to_string()))
    })
}
