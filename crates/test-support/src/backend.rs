//! The real backend-api server, in-process on 127.0.0.1 and a free port, for integration tests
//! (of the backend and of the frontend) and benchmarks.
//!
//! ```no_run
//! use test_support::{backend::spawn_backend, postgres::TestDatabase};
//! let db = TestDatabase::migrated();
//! let backend = spawn_backend(db.url());
//! let url = backend.url("/api/tasks"); // http://127.0.0.1:<port>/api/tasks
//! backend.stop();                      // or just drop it
//! ```
//!
//! The server runs on its own thread with its own actix `System`, so it works from sync tests and from
//! any async runtime. Declare the `TestDatabase` before the backend so the server stops first.

use std::net::SocketAddr;

use backend_api::{Application, Settings};

use crate::server_thread::ServerThread;

/// A running backend. Dropping it stops the server (without waiting for in-flight requests).
pub struct SpawnedBackend {
    /// `127.0.0.1:<port>`.
    pub address: SocketAddr,
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base_url: String,
    /// `http://127.0.0.1:<metrics port>/metrics`: Prometheus metrics, on a port of their own.
    pub metrics_url: String,
    server: ServerThread,
}

impl SpawnedBackend {
    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.server.stop();
    }
}

/// The settings [`spawn_backend`] uses: 127.0.0.1, port 0 (API and metrics), two workers, no signal handlers.
pub fn test_settings(database_url: &str) -> Settings {
    Settings {
        workers: Some(2),
        ..Settings::local(database_url)
    }
}

/// Starts the real server against `database_url` (waiting for the database and migrating it, as in
/// production) and returns once it accepts connections. Panics with the start-up error otherwise.
pub fn spawn_backend(database_url: &str) -> SpawnedBackend {
    spawn_backend_with(test_settings(database_url))
        .unwrap_or_else(|e| panic!("backend did not start: {e}"))
}

/// [`spawn_backend`] with settings of your own (pool size, timeouts, ...). `host`/`port` are used as given.
pub fn spawn_backend_with(settings: Settings) -> Result<SpawnedBackend, String> {
    let ((address, metrics_address), server) = ServerThread::spawn("test-backend", move || {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        Ok((
            (app.address(), app.metrics_address()),
            app.handle(),
            app.run(),
        ))
    })?;
    Ok(SpawnedBackend {
        address,
        base_url: format!("http://{address}"),
        metrics_url: format!("http://{metrics_address}/metrics"),
        server,
    })
}
