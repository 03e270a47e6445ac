//! `<service> healthcheck`: the images' Docker HEALTHCHECK, since they carry no curl.
//! GETs `http://127.0.0.1:$PORT/health`: exit 0 on a 200, 1 otherwise with the reason on stderr.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use crate::ConfigError;

/// Connect, write and read each give up after this (the Dockerfiles' `--timeout=3s`).
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the probe and turns it into the exit code. A bad `PORT` also exits 1, not
/// [`crate::env::EXIT_BAD_SETTING`]: Docker reserves a HEALTHCHECK's exit code 2.
pub fn run(port: Result<u16, ConfigError>) -> ExitCode {
    let port = match port {
        Ok(port) => port,
        Err(err) => {
            eprintln!("healthcheck: {err}");
            return ExitCode::FAILURE;
        }
    };
    match probe(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("healthcheck: http://127.0.0.1:{port}/health {problem}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok` when `/health` on this port answers 200 within [`TIMEOUT`]; otherwise what went wrong.
pub fn probe(port: u16) -> Result<(), String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&address, TIMEOUT).map_err(|e| format!("unreachable: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write failed: {e}"))?;
    let mut head = [0u8; 32];
    let n = stream
        .read(&mut head)
        .map_err(|e| format!("read failed: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(status) => Err(format!("answered {status}")),
        None => Err("gave no HTTP answer".to_owned()),
    }
}
