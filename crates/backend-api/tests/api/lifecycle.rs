//! The real binary: configuration errors, logs, the healthcheck subcommand, graceful SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use test_support::postgres::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_backend-api");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary with a clean environment plus `vars`.
fn backend(vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().copied());
    cmd
}

fn run(vars: &[(&str, &str)], args: &[&str]) -> Output {
    backend(vars)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A running binary, killed if the test fails before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !backend_api::healthcheck::probe(port) {
        assert!(
            Instant::now() < deadline,
            "the binary did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("PORT", "http"),
        ("DB_POOL_SIZE", "0"),
        ("DB_POOL_TIMEOUT_MS", "soon"),
        ("DATABASE_URL", "mysql://x"),
    ] {
        let mut vars = vec![("DATABASE_URL", "postgres://u@127.0.0.1:1/d")];
        vars.retain(|(k, _)| *k != var);
        vars.push((var, value));
        let out = run(&vars, &[]);
        assert!(!out.status.success(), "{var}={value} must not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
    let out = run(&[("POSTGRES_USER", "app")], &[]);
    assert_eq!(out.status.code(), Some(2), "a configuration error exits 2");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "invalid configuration: POSTGRES_DB must be set when DATABASE_URL is unset",
        "names the missing variable in a sentence"
    );
}

#[test]
fn serves_logs_one_line_per_request_without_the_password_and_stops_gracefully_on_sigterm() {
    let db = TestDatabase::migrated();
    let port = free_port();
    // Trust authentication ignores the password, so a made-up one shows whether it leaks into the logs.
    // Both forms libpq takes: in the userinfo and as a `password` query parameter.
    let url = db.url().replacen("postgres@", "postgres:hunter2secret@", 1);
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}password=hunter2secret");
    let log_path =
        std::env::temp_dir().join(format!("backend-api-test-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let child = backend(&[
        ("DATABASE_URL", url.as_str()),
        ("PORT", &port.to_string()),
        ("METRICS_PORT", "0"),
        ("HOST", "127.0.0.1"),
        ("RUST_LOG", "info"),
    ])
    .stdin(Stdio::null())
    .stdout(log.try_clone().unwrap())
    .stderr(log)
    .spawn()
    .unwrap();
    let mut running = Running(child);
    wait_until_healthy(port);

    let healthcheck = run(&[("PORT", &port.to_string())], &["healthcheck"]);
    assert!(
        healthcheck.status.success(),
        "healthcheck exits 0 while healthy"
    );

    // A request in flight: headers and half the body sent before SIGTERM, the rest after.
    let body = br#"{"title": "in flight during shutdown"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Request-Id: inflight-1\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let killed = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the in-flight request completes: {response:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer accepting"
    );
    let healthcheck = run(&[("PORT", &port.to_string())], &["healthcheck"]);
    assert!(
        !healthcheck.status.success(),
        "healthcheck exits 1 when nothing answers"
    );

    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        !logs.contains("hunter2secret"),
        "the password never appears in the logs:\n{logs}"
    );
    let line: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("request_id=inflight-1"))
        .collect();
    assert_eq!(line.len(), 1, "one line per request:\n{logs}");
    assert!(
        line[0].contains("POST /api/tasks 201") && line[0].contains("ms"),
        "method, path, status, duration: {}",
        line[0]
    );
    assert!(logs.contains("GET /health 200"), "{logs}");
}
