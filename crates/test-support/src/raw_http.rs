//! HTTP/1.1 over a plain `TcpStream`, for the requests a client library refuses to send: truncated or
//! oversized bodies, invalid UTF-8, conflicting headers, thousands of headers.
//!
//! ```no_run
//! use test_support::raw_http::{request, send};
//! # let address: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
//! let res = send(address, &request("POST", "/api/tasks", &[("Content-Type", "application/json")], b"{"));
//! assert_eq!(res.status, 400);
//! ```
//!
//! Every request says `Connection: close`, so a response ends when the server closes the connection.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test waits for an answer before it calls the server hung.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// What came back. `status` is 0 when the server closed the connection without an answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the body) when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }
}

/// A request with `Host`, `Connection: close` and, when there is a body, `Content-Length` added.
/// `headers` are written as given (no validation), so they may be anything.
pub fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` as they are and reads the answer until the server closes the connection.
pub fn send(address: SocketAddr, bytes: &[u8]) -> RawResponse {
    send_then(address, bytes, false)
}

/// Like [`send`], then closes our writing side, as a client that gives up half-way through a body does.
pub fn send_and_hang_up(address: SocketAddr, bytes: &[u8]) -> RawResponse {
    send_then(address, bytes, true)
}

fn send_then(address: SocketAddr, bytes: &[u8], hang_up: bool) -> RawResponse {
    let stream = TcpStream::connect(address).expect("the server accepts connections");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    // Write from another thread: the server may answer (413, 431) and close before reading everything.
    let mut writer = stream.try_clone().unwrap();
    let bytes = bytes.to_vec();
    let writing = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
        if hang_up {
            let _ = writer.shutdown(Shutdown::Write);
        }
    });
    let raw = read_to_close(stream);
    let _ = writing.join();
    parse(&raw)
}

/// Reads until EOF or a reset; a timeout means the server hung, which fails the test.
fn read_to_close(mut stream: TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return raw,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "no complete answer within {READ_TIMEOUT:?} (got {:?})",
                    String::from_utf8_lossy(&raw)
                )
            }
            // A reset after the answer (the server closed with our bytes unread) ends the response too.
            Err(_) => return raw,
        }
    }
}

fn parse(raw: &[u8]) -> RawResponse {
    let empty = RawResponse {
        status: 0,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return empty;
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
        else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || data.len() < start + size {
            break;
        }
        out.extend_from_slice(&data[start..start + size]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
