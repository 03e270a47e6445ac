use std::process::ExitCode;

use backend_api::{config, Application, Settings};
use service_kit::cli::Service;

fn main() -> ExitCode {
    let service = Service {
        name: "backend-api",
        healthcheck_port: config::healthcheck_port,
        settings: Settings::from_env,
    };
    service.main(|settings| async move {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        app.run().await.map_err(|e| e.to_string())
    })
}
