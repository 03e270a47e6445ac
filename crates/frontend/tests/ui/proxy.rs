//! `/api/*` through the frontend answers exactly as the backend does: status, body and headers.

use diesel::connection::SimpleConnection;
use reqwest::Method;

use test_support::raw_http::{request, send};

use crate::support::{json_of, Stack};

/// A request body: its content type and text.
type Body<'a> = Option<(&'a str, &'a str)>;
/// Status, headers and body text.
type Answer = (u16, reqwest::header::HeaderMap, String);

/// Sends the same request to the frontend's `/api` and to the backend, and returns both answers.
async fn both(stack: &Stack, method: Method, path: &str, body: Body<'_>) -> [Answer; 2] {
    let client = test_support::http::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut answers = Vec::new();
    for url in [stack.frontend.url(path), stack.backend_url(path)] {
        let mut request = client
            .request(method.clone(), url)
            .header("x-request-id", "test-req-42");
        if let Some((content_type, text)) = body {
            request = request
                .header("content-type", content_type)
                .body(text.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        answers.push((status, headers, response.text().await.unwrap()));
    }
    answers.try_into().unwrap()
}

#[tokio::test]
async fn the_api_answers_through_the_frontend_as_it_does_directly() {
    let stack = Stack::start();
    let [(status, headers, body), _] = both(
        &stack,
        Method::POST,
        "/api/tasks",
        Some((
            "application/json",
            r#"{"title":"via proxy","priority":"high"}"#,
        )),
    )
    .await;
    assert_eq!(status, 201);
    let created = json_of(&body);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"], format!("/api/tasks/{id}"));
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(
        headers["x-request-id"], "test-req-42",
        "the request id goes through both ways"
    );
    assert_eq!(created["priority"], "high");

    let [(status, headers, body), direct] =
        both(&stack, Method::GET, "/api/tasks?limit=1&sort=title", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-total-count"], "2",
        "one created through each address"
    );
    assert_eq!(headers["x-total-count"], direct.1["x-total-count"]);
    assert_eq!(json_of(&body), json_of(&direct.2));

    let checks: Vec<(Method, String, Body, u16)> = vec![
        (Method::GET, format!("/api/tasks/{id}"), None, 200),
        (
            Method::PATCH,
            format!("/api/tasks/{id}"),
            Some(("application/json", r#"{"completed":true}"#)),
            200,
        ),
        (
            Method::PUT,
            format!("/api/tasks/{id}"),
            Some(("application/json", "{}")),
            200,
        ),
        (Method::GET, "/api/tasks/not-a-uuid".to_owned(), None, 404),
        (
            Method::GET,
            "/api/tasks?priority=urgent".to_owned(),
            None,
            400,
        ),
        (
            Method::POST,
            "/api/tasks".to_owned(),
            Some(("application/json", "{not json")),
            400,
        ),
        (
            Method::POST,
            "/api/tasks".to_owned(),
            Some(("application/json", r#"{"title":""}"#)),
            422,
        ),
        (
            Method::POST,
            "/api/tasks".to_owned(),
            Some(("text/plain", "title=x")),
            415,
        ),
        (Method::DELETE, "/api/no-such-route".to_owned(), None, 404),
    ];
    for (method, path, body, expected) in checks {
        let [proxied, direct] = both(&stack, method.clone(), &path, body).await;
        assert_eq!(proxied.0, expected, "{method} {path}: {}", proxied.2);
        assert_eq!(proxied.0, direct.0, "{method} {path}");
        assert_eq!(
            proxied.1.get("content-type"),
            direct.1.get("content-type"),
            "{method} {path}"
        );
        let (mut a, mut b) = (json_of(&proxied.2), json_of(&direct.2));
        for value in [&mut a, &mut b] {
            // Two requests, two update times.
            if let Some(object) = value.as_object_mut() {
                object.remove("updated_at");
            }
        }
        assert_eq!(a, b, "{method} {path}");
    }

    let [(status, _, body), _] =
        both(&stack, Method::DELETE, &format!("/api/tasks/{id}"), None).await;
    assert_eq!(
        (status, json_of(&body)),
        (
            200,
            serde_json::json!({"message": "Task deleted successfully"})
        )
    );
}

#[tokio::test]
async fn the_pass_through_answers_json_errors_of_its_own() {
    let stack = Stack::start();
    let client = test_support::http::client();
    let huge = vec![b'x'; 300 * 1024];
    let response = client
        .post(stack.frontend.url("/api/tasks"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(json_of(&response.text().await.unwrap())["error"].is_string());
}

/// Issue 11 item 1: the URL parser resolved dot segments, so `/api/%2e%2e/metrics` reached the
/// backend's own `/metrics`. Sent raw, since client libraries normalise such paths themselves.
#[tokio::test]
async fn paths_that_climb_out_of_api_never_reach_the_backend() {
    let stack = Stack::start();
    let address = stack.frontend_address();
    for path in [
        "/api/%2e%2e/metrics",
        "/api/%2E%2e/ready",
        "/api/tasks/../../health",
        "/api/tasks/%2e%2e/%2e%2e/health",
        "/api/tasks%2f..%2f..%2fmetrics",
        "/api/..%5cmetrics",
        "/api/./tasks",
    ] {
        let answer =
            tokio::task::spawn_blocking(move || send(address, &request("GET", path, &[], b"")))
                .await
                .unwrap();
        assert_eq!(answer.status, 404, "{path}: {}", answer.text());
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains("under /api/"), "{path}: {error}");
        let text = answer.text();
        assert!(
            !text.contains("# TYPE") && !text.contains("healthy") && !text.contains("ready"),
            "{path} reached a backend endpoint: {text}"
        );
    }
    // Ordinary API paths still go through.
    let answer = tokio::task::spawn_blocking(move || {
        send(address, &request("GET", "/api/tasks?limit=1", &[], b""))
    })
    .await
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), serde_json::json!([]));
}

/// HEAD says what GET would send, through the frontend as directly (RFC 9110: the same Content-Length).
#[tokio::test]
async fn head_through_the_pass_through_has_gets_length() {
    let stack = Stack::start();
    let task = stack.seed("Measured", "low", false).await;
    for path in [
        format!("/api/tasks/{}", task.id),
        "/api/openapi.json".to_owned(),
    ] {
        let [(_, _, got), _] = both(&stack, Method::GET, &path, None).await;
        let [proxied, direct] = both(&stack, Method::HEAD, &path, None).await;
        assert_eq!((proxied.0, direct.0), (200, 200), "{path}");
        assert_eq!(direct.1["content-length"], got.len().to_string(), "{path}");
        assert_eq!(
            proxied.1["content-length"], direct.1["content-length"],
            "{path}"
        );
        assert!(proxied.2.is_empty(), "{path}: no body");
    }
}

/// Issue 22 item 8: the pass-through dropped `X-Page-Truncated`, `X-Count-All`, `X-Count-Completed` and
/// `Retry-After`, so a client behind the frontend could not see a cut page or when to retry a 503.
#[tokio::test]
async fn the_documented_headers_come_through() {
    let stack = Stack::start();
    // 60 tasks of 10,000 characters: more than the 512 KiB of text one page holds.
    stack.db.seed_tasks(60, "repeat('x', 10000)");
    let [proxied, direct] = both(
        &stack,
        Method::GET,
        "/api/tasks?limit=100&counts=true",
        None,
    )
    .await;
    assert_eq!((proxied.0, direct.0), (200, 200), "{}", proxied.2);
    assert_eq!(direct.1["x-page-truncated"], "true");
    assert_eq!(direct.1["x-count-all"], "60");
    for name in [
        "x-total-count",
        "x-page-truncated",
        "x-count-all",
        "x-count-completed",
    ] {
        assert_eq!(proxied.1.get(name), direct.1.get(name), "{name}");
    }

    // A 503 keeps its retry hint: the table stays locked past the backend's statement timeout.
    let mut lock = stack.db.connect();
    lock.batch_execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let [proxied, direct] = both(&stack, Method::GET, "/api/tasks", None).await;
    drop(lock);
    assert_eq!((proxied.0, direct.0), (503, 503), "{}", proxied.2);
    assert!(direct.1.contains_key("retry-after"));
    assert_eq!(proxied.1.get("retry-after"), direct.1.get("retry-after"));
}
