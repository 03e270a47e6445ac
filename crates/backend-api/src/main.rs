use std::process::ExitCode;

use backend_api::{config, healthcheck, Application, Settings};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return match config::port_from_env() {
            Ok(port) if healthcheck::probe(port) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(err) => {
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        };
    }

    env_logger::Builder::from_env(env_logger::Env::new().filter_or(config::RUST_LOG, "info"))
        .init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let served = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        app.run().await.map_err(|e| e.to_string())
    });
    match served {
        Ok(()) => {
            log::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            log::error!("{err}");
            eprintln!("backend-api: {err}");
            ExitCode::FAILURE
        }
    }
}
