//! Prometheus metrics at `/metrics`: requests by route and status and their latency (actix-web-prom),
//! plus the connection pool's size and use, read from the pool when scraped.

use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts, Registry};

use crate::db::Pool;

const NAMESPACE: &str = "taskmgr_backend";

/// The metrics middleware, serving `/metrics` itself. Each server gets its own registry, so that several
/// servers can live in one process (tests).
pub fn middleware(pool: Pool) -> PrometheusMetrics {
    let registry = Registry::new();
    registry
        .register(Box::new(PoolCollector::new(pool)))
        .expect("pool metrics register once");
    PrometheusMetricsBuilder::new(NAMESPACE)
        .registry(registry)
        .endpoint("/metrics")
        // Unknown paths share one label value, so scanners cannot blow up the number of series.
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .expect("metrics middleware builds")
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
