//! The `frontend` binary itself: `frontend healthcheck` (the container's HEALTHCHECK) and the
//! start-up checks of its environment.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use test_support::frontend::spawn_frontend;

const BINARY: &str = env!("CARGO_BIN_EXE_frontend");

fn healthcheck(port: u16) -> std::process::Output {
    Command::new(BINARY)
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .output()
        .unwrap()
}

#[test]
fn healthcheck_exits_0_for_a_live_frontend_and_1_otherwise() {
    // The backend's address does not matter: /health answers 200 even when the backend is away.
    let frontend = spawn_frontend("http://127.0.0.1:9");
    let live = healthcheck(frontend.port);
    assert_eq!(
        live.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    frontend.stop();
    // Not the stopped frontend's port: a server that another test starts meanwhile may be given it.
    let (_reserved, port) = port_nothing_listens_on();
    let dead = healthcheck(port);
    assert_eq!(dead.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dead.stderr).contains("unreachable"));
}

/// A port bound but not listening: connections to it are refused while the socket is held.
fn port_nothing_listens_on() -> (socket2::Socket, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any_port.into()).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    (socket, port)
}

/// Issue 15 item 3: the README's format, the backend's: `invalid configuration: PORT must be ...`, exit 2.
#[test]
fn bad_settings_stop_the_start_with_one_line_in_the_documented_format() {
    for (var, value) in [
        ("PORT", "eighty"),
        ("METRICS_PORT", "-1"),
        ("BACKEND_API_URL", "backend:5000"),
        ("SECRET_KEY", "short"),
        ("ALLOWED_HOSTS", "http://localhost/"),
        ("TRUSTED_PROXIES", "proxy"),
    ] {
        let output = Command::new(BINARY)
            .env_clear()
            .env(var, value)
            .env("HOST", "127.0.0.1")
            .env("PORT", if var == "PORT" { value } else { "0" })
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{var}={value}: {stderr}");
        assert!(
            stderr.starts_with(&format!("invalid configuration: {var} must be ")),
            "{var}={value}: {stderr}"
        );
    }
}

#[test]
fn without_a_secret_key_it_warns_that_replicas_need_one() {
    let mut child = Command::new(BINARY)
        .env_remove("SECRET_KEY")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("METRICS_PORT", "0")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut warned = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("SECRET_KEY is not set") => {
                warned = true;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned, "no warning about SECRET_KEY within 10 s");
}
