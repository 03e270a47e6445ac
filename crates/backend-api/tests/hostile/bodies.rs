//! Bodies: truncated, huge, deeply nested, not UTF-8, not JSON, of the wrong content type.

use test_support::raw_http;

use crate::support::{attack, expect_error, Target};

/// Each body goes to POST /api/tasks and to PATCH /api/tasks/{id}.
fn both_writes(target: &Target) -> [(&'static str, String); 2] {
    [
        ("POST", "/api/tasks".to_owned()),
        ("PATCH", format!("/api/tasks/{}", target.task_id)),
    ]
}

#[test]
fn truncated_bodies_are_400() {
    attack(|target| {
        for (method, path) in both_writes(target) {
            // Well-framed but cut-off JSON.
            for body in [
                &br#"{"title": "half"#[..],
                b"{",
                b"{\"title\":",
                b"[",
                b"\"",
                b"{\"title\": \"a\"} trailing",
            ] {
                let res = target.json(method, &path, body);
                expect_error(
                    &res,
                    400,
                    &format!("{method} {:?}", String::from_utf8_lossy(body)),
                );
            }
            // The client announces 100 bytes, sends 14 and hangs up.
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\": \"ha"
            );
            let res = raw_http::send_and_hang_up(target.backend.address, head.as_bytes());
            let err = expect_error(
                &res,
                400,
                &format!("{method} with a body cut off by the client"),
            );
            assert!(
                err["error"].as_str().unwrap().contains("ended early"),
                "{err}"
            );
            // An empty body.
            let res = target.request(
                method,
                &path,
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Length", "0"),
                ],
                b"",
            );
            expect_error(&res, 400, &format!("{method} with an empty body"));
        }
    });
}

#[test]
fn a_body_that_stalls_half_way_is_408_after_the_body_timeout() {
    attack(|target| {
        // The client announces 100 bytes, sends 14 and then nothing, keeping the connection open.
        let stalled = "POST /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\": \"ha";
        let started = std::time::Instant::now();
        let res = target.send(stalled.as_bytes());
        let waited = started.elapsed();
        expect_error(&res, 408, "a stalled body");
        assert!(
            waited >= task_types::limits::BODY_DEADLINE,
            "answered after the timeout, not before: {waited:?}"
        );
    });
}

#[test]
fn huge_bodies_are_413_whether_announced_or_streamed() {
    attack(|target| {
        let huge = format!(r#"{{"title": "{}"}}"#, "x".repeat(10 * 1024 * 1024));
        for (method, path) in both_writes(target) {
            // Announced with Content-Length: refused before the body is read.
            let res = target.json(method, &path, huge.as_bytes());
            expect_error(&res, 413, &format!("{method} 10 MiB with Content-Length"));
            // Chunked, without a length: refused once 64 KiB have arrived.
            let mut bytes = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .into_bytes();
            for chunk in huge.as_bytes()[..1024 * 1024].chunks(8192) {
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
            let res = target.send(&bytes);
            expect_error(&res, 413, &format!("{method} 1 MiB chunked"));
            // A length that does not fit any integer.
            let res = target.request(
                method,
                &path,
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Length", "99999999999999999999999"),
                ],
                b"",
            );
            assert_eq!(
                res.status,
                400,
                "{method} absurd Content-Length: {}",
                res.text()
            );
        }
    });
}

#[test]
fn a_100_kb_title_is_413_and_a_60_kb_one_is_422() {
    attack(|target| {
        for (method, path) in both_writes(target) {
            let body = format!(r#"{{"title": "{}"}}"#, "t".repeat(100 * 1024));
            expect_error(
                &target.json(method, &path, body.as_bytes()),
                413,
                "100 KB title",
            );
            let body = format!(r#"{{"title": "{}"}}"#, "t".repeat(60 * 1024));
            let err = expect_error(
                &target.json(method, &path, body.as_bytes()),
                422,
                "60 KB title",
            );
            assert_eq!(err["field"], "title");
            let body = format!(
                r#"{{"title": "ok", "description": "{}"}}"#,
                "d".repeat(60 * 1024)
            );
            let err = expect_error(
                &target.json(method, &path, body.as_bytes()),
                422,
                "60 KB description",
            );
            assert_eq!(err["field"], "description");
        }
    });
}

#[test]
fn deeply_nested_json_is_400_without_exhausting_the_stack() {
    attack(|target| {
        let depth = 30_000; // 60 KB of brackets: under the body limit, far over serde_json's recursion limit
        let arrays = format!(r#"{{"title": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let objects = format!(
            r#"{{"title": "x", "description": {}null{}}}"#,
            r#"{"a":"#.repeat(depth / 3),
            "}".repeat(depth / 3)
        );
        let bare = "[".repeat(60_000);
        for (method, path) in both_writes(target) {
            for (what, body) in [
                ("arrays", &arrays),
                ("objects", &objects),
                ("bare brackets", &bare),
            ] {
                expect_error(
                    &target.json(method, &path, body.as_bytes()),
                    400,
                    &format!("{method} nested {what}"),
                );
            }
        }
    });
}

#[test]
fn bodies_that_are_not_utf8_are_400() {
    attack(|target| {
        for (method, path) in both_writes(target) {
            for body in [
                &b"{\"title\": \"\xff\xfe\"}"[..],
                b"{\"title\": \"caf\xc3\"}", // a cut-off two-byte sequence
                b"{\"title\": \"\xed\xa0\x80\"}", // an encoded surrogate
                b"{\"title\": \"\\ud800\"}", // a lone surrogate escape
                b"\xef\xbb\xbf{\"title\": \"bom\"}", // a byte order mark before the object
                b"{\"title\": \"x\"}\x00",
                b"\x00\x00\x00\x00",
            ] {
                let res = target.json(method, &path, body);
                expect_error(&res, 400, &format!("{method} {body:?}"));
            }
        }
    });
}

#[test]
fn bodies_of_the_wrong_content_type_are_415() {
    attack(|target| {
        let body = br#"{"title": "typed wrong"}"#;
        for (method, path) in both_writes(target) {
            for content_type in [
                None,
                Some("text/plain"),
                Some("application/x-www-form-urlencoded"),
                Some("multipart/form-data; boundary=xyz"),
                Some("application/xml"),
                Some("application/jsonx"),
                Some("application/json-patch+json"),
                Some("text/json"),
                Some(""),
                Some("application/"),
                Some(";;;"),
            ] {
                let headers: Vec<(&str, &str)> =
                    content_type.iter().map(|c| ("Content-Type", *c)).collect();
                let res = target.request(method, &path, &headers, body);
                expect_error(
                    &res,
                    415,
                    &format!("{method} Content-Type {content_type:?}"),
                );
            }
            // A form post of the same fields, as a browser would send it.
            let res = target.request(
                method,
                &path,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                b"title=form",
            );
            expect_error(&res, 415, "form body");
        }
    });
}
