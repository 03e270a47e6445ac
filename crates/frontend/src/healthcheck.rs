//! `frontend healthcheck`: the container's HEALTHCHECK without curl in the image.
//! GET http://127.0.0.1:$PORT/health; exit 0 on 200, else 1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

pub fn run(port: u16) -> ExitCode {
    match probe(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("healthcheck: http://127.0.0.1:{port}/health {problem}");
            ExitCode::FAILURE
        }
    }
}

fn probe(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("unreachable: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
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
