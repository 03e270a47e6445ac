//! Builds the server from [`Settings`]: the shared state, the middleware, the routes, and a bound
//! listener (port 0 in tests, so they can run side by side).

use std::net::SocketAddr;

use actix_web::dev::Server;
/// Stops a running server; re-exported so harnesses need not depend on actix-web.
pub use actix_web::dev::ServerHandle;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use secrecy::ExposeSecret;
use service_kit::listen::{self, ListenError};
use tokio::sync::Semaphore;

use crate::backend::Backend;
use crate::config::limits;
use crate::config::{self, Settings};
use crate::cookies::key::CookieKey;
use crate::http;
use crate::metrics::MetricsPort;
use crate::render::templates;
use crate::state::AppState;
use crate::{metrics, routes};

/// Why the server could not start: a port it cannot listen on, or anything else.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, running frontend server: the UI on one port, `/metrics` on another.
pub struct Application {
    address: SocketAddr,
    metrics_address: SocketAddr,
    server: Server,
}

impl Application {
    /// Binds `settings.host:settings.port` and starts serving (call within an async runtime).
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
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
            cookie_key: CookieKey::new(
                settings
                    .secret_key
                    .as_ref()
                    .map(ExposeSecret::expose_secret),
            ),
            allowed_hosts: settings.allowed_hosts.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            limits: settings.limits,
            uploads: Arc::new(Semaphore::new(settings.limits.max_uploads)),
            list_renders: Semaphore::new(limits::LIST_RENDERS),
        });
        let prometheus = metrics::middleware()?;

        let (listener, address) = listen::bind(settings.host, settings.port, config::PORT_ENV)?;
        let (metrics_listener, metrics_address) = listen::bind(
            settings.host,
            settings.metrics_port,
            config::METRICS_PORT_ENV,
        )?;
        let metrics = web::Data::new(MetricsPort {
            port: metrics_address.port(),
            registry: prometheus.registry.clone(),
        });
        // Middleware runs outermost last-wrapped first: request id and log, security headers, unknown methods refused
        // (before anything counts them), split off the metrics port, count, Secure cookies over HTTPS, the Host
        // check, then bodies under their limits.
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .configure(routes::configure)
                .wrap(from_fn(http::body::read_bodies))
                .wrap(from_fn(http::hosts::check))
                .wrap(from_fn(http::https::secure_cookies))
                .wrap(prometheus.clone())
                .wrap(from_fn(metrics::split))
                .wrap(from_fn(http::methods::refuse_unknown))
                .wrap(http::headers::headers())
                .wrap(from_fn(service_kit::request_log::middleware))
        })
        .shutdown_timeout(service_kit::shutdown::GRACE_SECS)
        .listen(listener)
        .map_err(|e| ListenError::new(address, config::PORT_ENV, &e))?
        .listen(metrics_listener)
        .map_err(|e| ListenError::new(metrics_address, config::METRICS_PORT_ENV, &e))?;
        let server = match settings.handle_signals {
            true => server.run(),
            false => server.disable_signals().run(),
        };
        Ok(Application {
            address,
            metrics_address,
            server,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` answers.
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics_address
    }

    /// Stops the server (tests use it to take a frontend down).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM: stop accepting, finish in-flight requests, return; `service_kit::shutdown`).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
