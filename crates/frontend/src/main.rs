//! `frontend` serves the web UI; `frontend healthcheck` probes a running one.

use std::process::ExitCode;

use frontend::config::{self, Settings};

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => serve(),
        Some("healthcheck") => match config::healthcheck_port() {
            Ok(port) => frontend::healthcheck::run(port),
            Err(e) => fail(&e.to_string()),
        },
        Some(other) => fail(&format!(
            "unknown command {other:?}; usage: frontend [healthcheck]"
        )),
    }
}

fn serve() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().filter_or(config::LOG_ENV, "info"))
        .init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        // The backend's format and exit code: `invalid configuration: PORT must be ...`, exit 2.
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let app = frontend::startup::Application::build(&settings)?;
        log::info!(
            "frontend listening on {}:{}, metrics on port {} (backend {})",
            settings.host,
            app.port(),
            app.metrics_port(),
            settings.backend_api_url
        );
        app.run_until_stopped().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("server error: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("frontend: {message}");
    ExitCode::FAILURE
}
