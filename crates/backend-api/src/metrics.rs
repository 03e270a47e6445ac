//! Prometheus metrics: requests by route and status and their latency (actix-web-prom), plus the
//! connection pool's size and use, read from the pool when scraped. They are served at `/metrics` on a
//! port of their own (`METRICS_PORT`), never on the API's port: the cluster can scrape them, clients of
//! the API cannot read them.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, IntGauge, Opts, Registry, TextEncoder};

use crate::db::Pool;

const NAMESPACE: &str = "taskmgr_backend";

/// The middleware that counts the API's requests. Each server gets its own registry, so that several
/// servers can live in one process (tests).
pub fn middleware(pool: Pool) -> PrometheusMetrics {
    let registry = Registry::new();
    registry
        .register(Box::new(PoolCollector::new(pool)))
        .expect("pool metrics register once");
    PrometheusMetricsBuilder::new(NAMESPACE)
        .registry(registry)
        // Unknown paths share one label value, so scanners cannot blow up the number of series.
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .expect("metrics middleware builds")
}

/// The server of `GET /metrics` on `listener`, reading `registry` (one worker: a scrape is rare and small).
pub fn server(registry: Registry, listener: TcpListener) -> std::io::Result<Server> {
    let registry = web::Data::new(registry);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(registry.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}

async fn scrape(registry: web::Data<Registry>) -> HttpResponse {
    let mut text = Vec::new();
    match TextEncoder::new().encode(&registry.gather(), &mut text) {
        Ok(()) => HttpResponse::Ok()
            .content_type(prometheus::TEXT_FORMAT)
            .body(text),
        Err(e) => HttpResponse::InternalServerError().body(format!("encoding metrics: {e}")),
    }
}

/// Gauges read from the pool at scrape time (no cost per request).
struct PoolCollector {
    pool: Pool,
    size: IntGauge,
    connections: IntGauge,
    in_use: IntGauge,
}

impl PoolCollector {
    fn new(pool: Pool) -> Self {
        let gauge = |name: &str, help: &str| {
            IntGauge::with_opts(Opts::new(name, help).namespace(NAMESPACE)).expect("valid gauge")
        };
        PoolCollector {
            pool,
            size: gauge(
                "db_pool_size",
                "Maximum connections in the pool (DB_POOL_SIZE)",
            ),
            connections: gauge("db_pool_connections", "Connections currently open"),
            in_use: gauge("db_pool_in_use", "Connections checked out by requests"),
        }
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        [&self.size, &self.connections, &self.in_use]
            .into_iter()
            .flat_map(|g| g.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.pool.state();
        self.size.set(i64::from(self.pool.max_size()));
        self.connections.set(i64::from(state.connections));
        self.in_use
            .set(i64::from(state.connections - state.idle_connections));
        [&self.size, &self.connections, &self.in_use]
            .into_iter()
            .flat_map(|g| g.collect())
            .collect()
    }
}
