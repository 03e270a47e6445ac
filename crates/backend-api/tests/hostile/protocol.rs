//! Broken HTTP: thousands of headers, oversized heads, conflicting framing, odd methods and bytes.
//!
//! Requests that actix's HTTP/1 parser rejects never reach the application: the parser itself answers
//! 431 (more than 96 headers, or a request head over 128 KiB), 400 (a malformed request line or
//! header, conflicting lengths) or 408 (a head not complete within 5 s) with an EMPTY body and closes
//! the connection. actix-http builds those
//! answers internally and offers no hook to give them a JSON body; docs/RELIABILITY.md says so. Everything
//! the parser accepts gets the API's JSON errors.

use test_support::raw_http::RawResponse;

use crate::support::{attack, expect_error};

/// An answer from actix's HTTP parser: the status, no body, the connection closed.
#[track_caller]
fn expect_parser_refusal(res: &RawResponse, status: u16, what: &str) {
    assert_eq!(res.status, status, "{what}: {res:?}");
    assert!(res.body.is_empty(), "{what}: {}", res.text());
    assert_eq!(res.header("connection"), Some("close"), "{what}");
}

#[test]
fn thousands_of_headers_are_431_and_the_server_carries_on() {
    attack(|target| {
        for count in [1_000, 5_000, 20_000] {
            let headers: Vec<(String, String)> = (0..count)
                .map(|i| (format!("X-Junk-{i}"), "v".to_owned()))
                .collect();
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let res = target.request(
                "POST",
                "/api/tasks",
                &headers,
                br#"{"title": "many headers"}"#,
            );
            expect_parser_refusal(&res, 431, &format!("{count} headers"));
        }
        // The same header a thousand times.
        let headers = vec![("X-Request-Id", "same"); 1_000];
        let res = target.request("GET", "/api/tasks", &headers, b"");
        expect_parser_refusal(&res, 431, "one header 1000 times");
        // A head over 128 KiB: one huge header, or a huge URL.
        let huge = "h".repeat(200 * 1024);
        let res = target.request("GET", "/api/tasks", &[("X-Huge", &huge)], b"");
        expect_parser_refusal(&res, 431, "a 200 KiB header");
        let res = target.request("GET", &format!("/api/tasks/{huge}"), &[], b"");
        expect_parser_refusal(&res, 431, "a 200 KiB path");
        // Under the limits, many headers are fine.
        let headers: Vec<(String, String)> = (0..80)
            .map(|i| (format!("X-Fine-{i}"), "v".repeat(500)))
            .collect();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let res = target.request("GET", "/api/tasks", &headers, b"");
        assert_eq!(res.status, 200, "80 headers of 500 bytes: {}", res.text());
    });
}

#[test]
fn conflicting_or_broken_framing_is_400() {
    attack(|target| {
        let body = r#"{"title": "smuggled"}"#;
        let cases: Vec<(&str, String)> = vec![
            (
                "two different Content-Lengths",
                format!("POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
            ),
            (
                "a negative Content-Length",
                format!("POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{body}"),
            ),
            (
                "Content-Length and chunked together",
                format!("POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len()),
            ),
            ("a request line of garbage", "HELLO THERE\r\n\r\n".to_owned()),
            ("a header without a colon", "GET /api/tasks HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n".to_owned()),
            ("a header name with a space", "GET /api/tasks HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n".to_owned()),
            ("HTTP/9.9", "GET /api/tasks HTTP/9.9\r\nHost: x\r\n\r\n".to_owned()),
        ];
        for (what, request) in cases {
            let res = target.send(request.as_bytes());
            expect_parser_refusal(&res, 400, what);
        }
        // A control character in a header value.
        let res = target.send(b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\x01\r\nContent-Length: 2\r\n\r\n{}");
        expect_parser_refusal(&res, 400, "a control character in Content-Type");
        // Broken chunked framing reaches the application, which answers with JSON.
        let res = target.send(format!("POST /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{body}\r\n0\r\n\r\n").as_bytes());
        let err = expect_error(&res, 400, "a chunk size that is not hex");
        assert!(err["error"].as_str().unwrap().contains("framing"), "{err}");
        // Raw bytes that are not UTF-8 in the request line.
        let res = target
            .send(b"GET /api/tasks/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        expect_parser_refusal(&res, 400, "non-UTF-8 bytes in the path");
    });
}

#[test]
fn a_request_head_that_never_ends_is_408_from_the_parser() {
    attack(|target| {
        // No blank line: the head never completes. actix's client request timeout (5 s) answers.
        let res = target.send(b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n");
        expect_parser_refusal(&res, 408, "a head that never ends");
    });
}

#[test]
fn odd_methods_and_header_values_get_json_answers() {
    attack(|target| {
        let item = format!("/api/tasks/{}", target.task_id);
        // Standard methods a path does not take: 405 naming what it does take.
        for method in ["TRACE", "CONNECT", "OPTIONS"] {
            for path in ["/api/tasks", item.as_str()] {
                let res = target.request(method, path, &[], b"");
                expect_error(&res, 405, &format!("{method} {path}"));
                assert!(
                    res.header("allow").is_some(),
                    "{method} {path} says what is allowed"
                );
            }
        }
        // Methods outside the known ones: 501, whatever the path.
        for method in ["FOO", "PROPFIND", "get"] {
            for path in ["/api/tasks", item.as_str(), "/health", "/nowhere"] {
                let res = target.request(method, path, &[], b"");
                expect_error(&res, 501, &format!("{method} {path}"));
            }
        }
        // A request id that is not text is replaced by a fresh one.
        let res = target.send(b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: \xff\xfe\r\n\r\n");
        assert_eq!(res.status, 200, "{}", res.text());
        let id = res.header("x-request-id").unwrap();
        assert!(!id.is_empty() && id.is_ascii(), "{id:?}");
        // A Content-Type that is not text is not JSON: 415.
        let res = target.send(b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/\xffjson\r\nContent-Length: 15\r\n\r\n{\"title\": \"x\"}");
        expect_error(&res, 415, "a Content-Type with a non-UTF-8 byte");
        // HTTP/1.0 and a missing Host still work.
        let res = target.send(b"GET /health HTTP/1.0\r\n\r\n");
        assert_eq!(res.status, 200, "HTTP/1.0: {}", res.text());
    });
}

#[test]
fn the_server_keeps_serving_after_every_kind_of_abuse_at_once() {
    attack(|target| {
        let address = target.backend.address;
        // Connections opened and dropped without a byte, half requests, and garbage, from many threads.
        let abusers: Vec<_> = (0..8)
            .map(|i| {
                std::thread::spawn(move || {
                    for j in 0..25 {
                        let stream = std::net::TcpStream::connect(address).unwrap();
                        use std::io::Write;
                        let mut s = &stream;
                        let _ = match (i + j) % 3 {
                            0 => Ok(()),
                            1 => s.write_all(
                                b"POST /api/tasks HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"ti",
                            ),
                            _ => s.write_all(&[0xde, 0xad, 0xbe, 0xef, b'\r', b'\n', b'\r', b'\n']),
                        };
                        drop(stream);
                    }
                })
            })
            .collect();
        for abuser in abusers {
            abuser.join().unwrap();
        }
    });
}
