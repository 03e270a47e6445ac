//! Builds the server from [`Settings`]: the shared state, the middleware, the routes, and a bound
//! listener (port 0 in tests, so they can run side by side).

use std::net::TcpListener;

use actix_web::dev::Server;
/// Stops a running server; re-exported so harnesses need not depend on actix-web.
pub use actix_web::dev::ServerHandle;
use std::sync::Arc;

use actix_web::middleware::{from_fn, Logger};
use actix_web::{web, App, HttpServer};
use tokio::sync::Semaphore;

use crate::backend::Backend;
use crate::config::Settings;
use crate::cookie_key::CookieKey;
use crate::metrics::MetricsPort;
use crate::state::AppState;
use crate::{gate, hosts, limits, metrics, routes, security, templates, transport};

/// A bound, running frontend server: the UI on one port, `/metrics` on another.
pub struct Application {
    port: u16,
    metrics_port: u16,
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
            cookie_key: CookieKey::new(settings.secret_key.as_deref()),
            allowed_hosts: settings.allowed_hosts.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            limits: settings.limits,
            uploads: Arc::new(Semaphore::new(settings.limits.max_uploads)),
            list_renders: Semaphore::new(limits::LIST_RENDERS),
        });
        let prometheus = metrics::middleware()?;

        let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = TcpListener::bind((settings.host.as_str(), settings.metrics_port))?;
        let metrics = web::Data::new(MetricsPort {
            port: metrics_listener.local_addr()?.port(),
            registry: prometheus.registry.clone(),
        });
        let metrics_port = metrics.port;
        // Middleware runs outermost last-wrapped first: log, split off the metrics port, count, security
        // headers, Secure cookies over HTTPS, the Host check, then bodies under their limits.
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .configure(routes::configure)
                .wrap(from_fn(gate::read_bodies))
                .wrap(from_fn(hosts::check))
                .wrap(from_fn(transport::secure_cookies))
                .wrap(security::headers())
                .wrap(prometheus.clone())
                .wrap(from_fn(metrics::split))
                .wrap(Logger::new("%r %s %Dms"))
        })
        .shutdown_timeout(10)
        .listen(listener)?
        .listen(metrics_listener)?
        .run();
        Ok(Application {
            port,
            metrics_port,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
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
