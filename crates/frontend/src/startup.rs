//! Builds the server from [`Settings`]: the shared state, the middleware, the routes, and a bound
//! listener (port 0 in tests, so they can run side by side).

use std::net::TcpListener;

use actix_web::dev::Server;
/// Stops a running server; re-exported so harnesses need not depend on actix-web.
pub use actix_web::dev::ServerHandle;
use actix_web::middleware::Logger;
use actix_web::{web, App, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;

use crate::backend::Backend;
use crate::config::Settings;
use crate::signing::Signer;
use crate::state::AppState;
use crate::{routes, security, templates};

/// A bound, running frontend server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `settings.host:settings.port` and starts serving (call within an async runtime).
    pub fn build(settings: &Settings) -> std::io::Result<Self> {
        templates::load();
        if settings.secret_key.is_none() {
            log::warn!(
                "SECRET_KEY is not set: using a random key for this process. Set it when running more than one replica, \
                 or forms served by one replica will be refused by another"
            );
        }
        let backend = Backend::new(&settings.backend_api_url).map_err(std::io::Error::other)?;
        let state = web::Data::new(AppState {
            backend,
            signer: Signer::new(settings.secret_key.as_deref()),
        });
        let metrics = PrometheusMetricsBuilder::new("frontend")
            .endpoint("/metrics")
            .mask_unmatched_patterns("UNKNOWN")
            .build()
            .map_err(|e| std::io::Error::other(e.to_string()))?;

        let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(routes::configure)
                .wrap(security::headers())
                .wrap(metrics.clone())
                .wrap(Logger::new("%r %s %Dms"))
        })
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (tests use it to take a frontend down).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM: stop accepting, finish in-flight requests, return).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
