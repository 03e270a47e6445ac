//! Request methods cannot grow either service's metrics. Any token is a valid HTTP method and the metrics
//! label requests by method, so every new token used to make series that are never freed (1,000 methods
//! of 2,000 characters made a 31 MB `/metrics` page). A method outside the known ones now gets 501
//! before metrics count it, and the pass-through forwards only the API's methods.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use test_support::api_error::expect_raw_error;
use test_support::raw_http::{request, send, RawResponse};

use crate::support::{has_layout, Stack};

/// Distinct unknown methods sent to each of the three doors.
const TOKENS: usize = 200;
/// A `/metrics` page of a service that has seen a few dozen routes and statuses is about 30 KB.
const METRICS_BYTES_LIMIT: usize = 256 * 1024;

/// `count` distinct tokens of 33 to 990 characters, none a standard method.
fn unknown_methods(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let random = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
            format!("X{}", random.repeat(1 + i % 30))
        })
        .collect()
}

/// Every value of a `method` label on a metrics page.
fn method_labels(metrics: &str) -> BTreeSet<String> {
    metrics
        .split("method=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

async fn raw(address: SocketAddr, method: &str, path: &str) -> RawResponse {
    let bytes = request(method, path, &[], b"");
    tokio::task::spawn_blocking(move || send(address, &bytes))
        .await
        .unwrap()
}

#[tokio::test]
async fn unknown_methods_get_501_and_never_grow_the_metrics() {
    let stack = Stack::start();
    let frontend = stack.frontend_address();
    let backend = stack.backend_address();
    let doors = [
        (frontend, "/", "the UI"),
        (frontend, "/api/tasks", "the pass-through"),
        (backend, "/api/tasks", "the API"),
    ];
    // Every standard method once at every door, so each label value that can exist does.
    for method in [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
    ] {
        for (address, path, _) in doors {
            raw(address, method, path).await;
        }
    }
    let (frontend_before, backend_before) = (
        stack.frontend_metrics().await,
        stack.backend_metrics().await,
    );

    let mut answers = Vec::new();
    for (i, method) in unknown_methods(TOKENS).iter().enumerate() {
        for (address, path, door) in doors {
            let what = format!("{door}: method {i} ({} characters)", method.len());
            answers.push((what, path, method.clone(), raw(address, method, path).await));
        }
    }

    let (frontend_after, backend_after) = (
        stack.frontend_metrics().await,
        stack.backend_metrics().await,
    );
    let mut checks = Vec::new();
    for (service, before, after) in [
        ("frontend", &frontend_before, &frontend_after),
        ("backend", &backend_before, &backend_after),
    ] {
        let (labels, labels_before) = (method_labels(after), method_labels(before));
        let figures = format!(
            "{service}: {} method label values before {TOKENS} unknown methods, {} after; /metrics {} bytes \
             before, {} after (limit {METRICS_BYTES_LIMIT})",
            labels_before.len(),
            labels.len(),
            before.len(),
            after.len()
        );
        println!("{figures}");
        checks.push((labels, labels_before, after.len(), figures));
    }
    for (labels, labels_before, size, figures) in checks {
        assert!(labels == labels_before, "{figures}");
        assert!(labels.iter().all(|m| m.len() <= 7), "{figures}: {labels:?}");
        assert!(size < METRICS_BYTES_LIMIT, "{figures}");
    }

    for (what, path, method, answer) in answers {
        if path.starts_with("/api/") {
            let body = expect_raw_error(&answer, 501, &what);
            assert!(!body.to_string().contains(method.as_str()), "{what}");
        } else {
            assert_eq!(answer.status, 501, "{what}: {}", answer.text());
            assert!(
                answer
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("text/html")),
                "{what}: a page"
            );
            assert!(has_layout(&answer.text()), "{what}: {}", answer.text());
        }
        assert!(answer.header("x-request-id").is_some(), "{what}");
    }
}

/// The pass-through forwards the API's methods only: a standard method the API never takes is refused by
/// the frontend (405, JSON, `Allow`) and never reaches the backend.
#[tokio::test]
async fn the_pass_through_refuses_methods_the_api_never_takes() {
    let stack = Stack::start();
    let frontend = stack.frontend_address();
    let mut answers = Vec::new();
    // Each path with the backend's metrics label of its route.
    let paths = [
        ("/api/tasks", "/api/tasks"),
        (
            "/api/tasks/0b5e8f5a-58a4-4b76-a2a6-4f1d3c1a9d11",
            "/api/tasks/{id}",
        ),
    ];
    for (path, _) in paths {
        answers.push((path, raw(frontend, "TRACE", path).await));
    }
    for (path, route) in paths {
        assert_eq!(
            stack.backend_requests("TRACE", route).await,
            0,
            "TRACE {path} reached the backend"
        );
        // The counter does move when TRACE reaches the backend, so the 0 above means something.
        raw(stack.backend_address(), "TRACE", path).await;
        assert_eq!(stack.backend_requests("TRACE", route).await, 1, "{path}");
    }
    for (path, answer) in answers {
        expect_raw_error(&answer, 405, &format!("TRACE {path}"));
        let allow = answer.header("allow").expect("a 405 says what is allowed");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert!(allow.contains(method), "{path}: {allow}");
        }
        assert!(!allow.contains("TRACE"), "{path}: {allow}");
    }
    // HEAD and OPTIONS still go through, and the backend answers them as it does directly.
    for method in ["HEAD", "OPTIONS"] {
        let proxied = raw(frontend, method, "/api/tasks").await;
        let direct = raw(stack.backend_address(), method, "/api/tasks").await;
        assert_eq!(proxied.status, direct.status, "{method}");
        assert_eq!(proxied.header("allow"), direct.header("allow"), "{method}");
        assert_eq!(
            stack.backend_requests(method, "/api/tasks").await,
            2,
            "{method}"
        );
    }
}

/// Every page address answers HEAD as it answers GET, without the body (`curl -I`, HTTP monitors). A method
/// an address does not take gets the 405 page naming the ones it does, not the "no page here" of an unknown
/// address.
#[tokio::test]
async fn head_is_get_without_the_body_and_a_wrong_method_gets_a_405_page_with_allow() {
    let (stack, task) = Stack::with_task("asked with HEAD", "low").await;
    let frontend = stack.frontend_address();
    let (edit, delete, toggle) = (
        format!("/tasks/{}/edit", task.id),
        format!("/tasks/{}/delete", task.id),
        format!("/tasks/{}/toggle", task.id),
    );
    for path in [
        "/",
        "/health",
        "/ready",
        "/static/style.css",
        &edit,
        &delete,
    ] {
        let get = raw(frontend, "GET", path).await;
        let head = raw(frontend, "HEAD", path).await;
        assert_eq!(get.status, 200, "GET {path}");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
        assert!(!get.body.is_empty() && head.body.is_empty(), "HEAD {path}");
    }
    for (method, path, allow) in [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/health", "GET, HEAD"),
        ("PUT", "/static/style.css", "GET, HEAD"),
        ("GET", "/tasks", "POST"),
        ("DELETE", delete.as_str(), "GET, HEAD, POST"),
        ("GET", toggle.as_str(), "POST"),
    ] {
        let answer = raw(frontend, method, path).await;
        assert_eq!(answer.status, 405, "{method} {path}: {}", answer.text());
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
        assert!(has_layout(&answer.text()), "{method} {path}: a page");
    }
}
