//! Start-up: wait for the database, migrate under a lock, build the app, bind the listener (port 0 in tests).
//! Shutdown: on SIGTERM actix stops accepting, lets in-flight requests finish, and `run` returns
//! (`service_kit::shutdown`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use diesel::PgConnection;

use service_kit::listen::{self, ListenError};

use crate::config::{self, DatabaseUrl, Settings};
use crate::{db, methods, metrics, request_log, routes};

/// Blocking threads beyond the pool's size, for `/health` and `/ready` pinging beside busy queries.
const PROBE_THREADS: usize = 2;

/// The longest pause between two attempts to reach the database.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database {url} not reachable after {attempts} attempts in {waited:?}: {last_error}")]
    DatabaseUnreachable {
        url: String,
        attempts: u32,
        waited: Duration,
        last_error: String,
    },
    #[error("{0}")]
    Migration(crate::db::MigrateError),
    #[error(transparent)]
    Listen(#[from] ListenError),
}

/// A server that is bound and ready to run.
pub struct Application {
    server: Server,
    address: SocketAddr,
    metrics_server: Server,
    metrics_address: SocketAddr,
    pool: db::Pool,
}

impl Application {
    /// Waits for the database (bounded by `settings.db_wait`), applies the migrations, and binds.
    /// Call it inside an actix/tokio runtime: the server's workers are spawned here.
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let mut conn = wait_for_database(&settings.database_url, settings.db_wait)?;
        let applied = db::migrate(&mut conn).map_err(StartupError::Migration)?;
        log::info!("migrations: {applied} applied");
        drop(conn);

        let pool = db::build_pool(
            settings.database_url.expose(),
            settings.pool_size,
            settings.pool_timeout,
            settings.statement_timeout,
        );
        let (listener, address) = listen::bind(settings.host, settings.port, config::PORT)?;
        let (metrics_listener, metrics_address) =
            listen::bind(settings.host, settings.metrics_port, config::METRICS_PORT)?;

        let db_data = web::Data::new(db::Db::new(pool.clone(), settings.pool_timeout));
        let openapi = web::Data::new(routes::docs::openapi_document());
        let metrics = metrics::middleware(pool.clone());
        let metrics_server = metrics::server(metrics.registry.clone(), metrics_listener)
            .map_err(|e| ListenError::new(metrics_address, config::METRICS_PORT, &e))?;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(db_data.clone())
                .app_data(openapi.clone())
                // Outermost last: the access log, then unknown methods refused, then metrics.
                .wrap(metrics.clone())
                .wrap(from_fn(methods::refuse_unknown))
                .wrap(from_fn(request_log::middleware))
                .configure(routes::configure)
                .default_service(web::to(routes::fallback::not_found))
        })
        .shutdown_timeout(service_kit::shutdown::GRACE_SECS)
        // Queries run on the blocking pool only while they hold one of the pool's connections, and the
        // probes' pings beside them: a few threads, kept hot, instead of tokio's default of hundreds.
        .worker_max_blocking_threads(settings.pool_size as usize + PROBE_THREADS)
        .listen(listener)
        .map_err(|e| ListenError::new(address, config::PORT, &e))?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        if !settings.handle_signals {
            server = server.disable_signals();
        }
        log::info!(
            "listening on http://{address}, metrics on http://{metrics_address}/metrics (database {}, pool of {}, {} for searches, statement timeout {:?})",
            settings.database_url,
            settings.pool_size,
            db::search_budget(settings.pool_size),
            settings.statement_timeout
        );
        Ok(Application {
            server: server.run(),
            address,
            metrics_server,
            metrics_address,
            pool,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` answers.
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics_address
    }

    /// Stops the server from another thread or task.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn pool(&self) -> &db::Pool {
        &self.pool
    }

    /// Serves until stopped (SIGTERM/SIGINT, or a [`ServerHandle`]); the metrics server stops with the API.
    pub async fn run(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.handle();
        actix_web::rt::spawn(self.metrics_server);
        let served = self.server.await;
        metrics.stop(false).await;
        served
    }
}

/// Connects to the database, retrying with exponential backoff (100 ms doubling up to 2 s) until
/// `budget` is spent. Logs each failed attempt without the password.
pub fn wait_for_database(
    url: &DatabaseUrl,
    budget: Duration,
) -> Result<PgConnection, StartupError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match db::connect(url.expose()) {
            Ok(conn) => {
                log::info!("database {url} reachable (attempt {attempt})");
                return Ok(conn);
            }
            Err(err) => {
                let waited = start.elapsed();
                let last_error = err.to_string().trim().replace('\n', " ");
                if waited + delay > budget {
                    return Err(StartupError::DatabaseUnreachable {
                        url: url.to_string(),
                        attempts: attempt,
                        waited,
                        last_error,
                    });
                }
                log::warn!("database {url} not reachable (attempt {attempt}): {last_error}; retrying in {delay:?}");
                std::thread::sleep(delay);
                delay = (delay * 2).min(MAX_RETRY_DELAY);
                attempt += 1;
            }
        }
    }
}
