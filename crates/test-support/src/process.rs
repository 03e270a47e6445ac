//! A service's real binary as a child process, for tests that signal it (SIGKILL, SIGTERM) or restart it.
//!
//! ```no_run
//! use test_support::process::{free_port, ServiceProcess};
//! # let (bin, database_url) = ("target/debug/backend-api", "postgres://...");
//! let port = free_port();
//! let mut backend = ServiceProcess::start(bin, port, &[("DATABASE_URL", database_url)]);
//! backend.signal("TERM");
//! let code = backend.wait_for_exit(std::time::Duration::from_secs(30));
//! ```
//!
//! The child gets a clean environment (`PATH`, `HOST=127.0.0.1`, `PORT`, `METRICS_PORT=0` so that services
//! side by side do not contend for the default metrics port, `RUST_LOG=warn`, plus what the test passes), stdin from /dev/null and its output in a log file, and is killed when the value drops.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (free when asked; tests bind it right away).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct ServiceProcess {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `bin` on `port` and waits (at most 30 s) until `GET /health` answers 200.
    pub fn start(bin: &str, port: u16, env: &[(&str, &str)]) -> ServiceProcess {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let log = std::env::temp_dir().join(format!(
            "taskmgr-service-{}-{}.log",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let out = std::fs::File::create(&log).expect("a log file for the service");
        let child = Command::new(bin)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            // A free port for /metrics, so that several services and tests can run side by side.
            .env("METRICS_PORT", "0")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let mut service = ServiceProcess { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !service.answers_health() {
            if let Some(status) = service.child.try_wait().unwrap() {
                panic!(
                    "{bin} exited during start-up ({status}):\n{}",
                    service.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{bin} not healthy after 30 s:\n{}",
                service.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        service
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `KILL`, ...).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "kill -{name} {} failed", self.pid());
    }

    /// Waits for the process to end and returns its exit code (`None` when a signal ended it).
    /// Panics when it is still running after `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "still running {limit:?} after it was told to stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the service logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain `GET /health` with a short timeout (no client library, so usable from any thread).
    fn answers_health(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        use std::io::Write;
        if stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
