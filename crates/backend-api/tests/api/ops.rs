//! What operators and other services rely on: health, readiness, metrics, request ids, the OpenAPI document.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{TestApp, TASK_FIELDS};

#[tokio::test]
async fn health_reports_the_database_and_ready_answers_200() {
    let app = TestApp::start();
    let body: Value = app.get_json("/health").await;
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "healthy");
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());

    app.assert_answers("/ready", &json!({"status": "ready"}))
        .await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::start();
    let mut seen = BTreeSet::new();
    for path in ["/api/tasks", "/health", "/nope", "/api/tasks/bad"] {
        let res = app.get(path).await;
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(!id.is_empty(), "{path}");
        assert!(seen.insert(id), "request ids are unique");
    }
    // A plain id is kept; one with a tab (unsafe in a log line) is replaced.
    for (sent, kept) in [("client-id-42", true), ("bad id\twith tab", false)] {
        let res = app
            .client
            .get(app.url("/api/tasks"))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-request-id"] == sent, kept, "{sent:?}");
    }
    let res = app
        .send_raw(Method::POST, "/api/tasks", "text/plain", "x")
        .await;
    assert!(
        res.headers().contains_key("x-request-id"),
        "errors carry it too"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_pool() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "counted"})).await;
    app.get(&format!("/api/tasks/{}", task.id)).await;
    app.get(&format!("/api/tasks/{}", uuid::Uuid::new_v4()))
        .await;
    app.get("/no/such/route").await;

    let res = app
        .client
        .get(&app.backend.metrics_url)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let has = |needle: &str| text.lines().any(|l| l.contains(needle));
    assert!(
        has(r#"endpoint="/api/tasks/{id}",method="GET",status="200""#),
        "{text}"
    );
    assert!(
        has(r#"endpoint="/api/tasks/{id}",method="GET",status="404""#),
        "{text}"
    );
    assert!(
        has(r#"endpoint="/api/tasks",method="POST",status="201""#),
        "{text}"
    );
    assert!(
        has(r#"endpoint="UNKNOWN""#),
        "unknown paths share one label: {text}"
    );
    assert!(!text.contains("/no/such/route"));
    assert!(
        has("taskmgr_backend_http_requests_duration_seconds_bucket"),
        "latency histogram"
    );
    let gauge = |name: &str| -> i64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(
        gauge("taskmgr_backend_db_pool_size"),
        i64::from(backend_api::config::default_pool_size())
    );
    assert!(gauge("taskmgr_backend_db_pool_connections") >= 1);
    assert_eq!(
        gauge("taskmgr_backend_db_pool_in_use"),
        0,
        "no request holds a connection now"
    );
}

#[tokio::test]
async fn metrics_are_not_served_on_the_api_port() {
    let app = TestApp::start();
    let metrics_port = reqwest::Url::parse(&app.backend.metrics_url)
        .unwrap()
        .port()
        .unwrap();
    assert_ne!(metrics_port, app.backend.port());
    for method in [Method::GET, Method::POST] {
        let res = app
            .client
            .request(method.clone(), app.url("/metrics"))
            .send()
            .await
            .unwrap();
        let body = crate::support::expect_error(res, 404).await;
        assert_eq!(
            body["error"], "Not found",
            "{method} /metrics on the API port"
        );
    }
}

/// The routes and methods the server really has, and the statuses each operation can answer.
fn expected_operations() -> BTreeMap<(&'static str, &'static str), Vec<&'static str>> {
    let update = vec!["200", "400", "404", "408", "413", "415", "422", "503"];
    BTreeMap::from([
        (("/api/tasks", "get"), vec!["200", "400", "503"]),
        (
            ("/api/tasks", "post"),
            vec!["201", "400", "408", "413", "415", "422", "503"],
        ),
        (("/api/tasks/{id}", "get"), vec!["200", "404", "503"]),
        (("/api/tasks/{id}", "put"), update.clone()),
        (("/api/tasks/{id}", "patch"), update),
        (("/api/tasks/{id}", "delete"), vec!["200", "404", "503"]),
        (("/health", "get"), vec!["200"]),
        (("/ready", "get"), vec!["200", "503"]),
        (("/api/openapi.json", "get"), vec!["200"]),
    ])
}

#[tokio::test]
async fn the_openapi_document_matches_the_server() {
    let app = TestApp::start();
    let doc: Value = app.get_json("/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    // Routes, methods and statuses.
    let mut documented = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut statuses: Vec<String> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            statuses.sort();
            documented.insert((path.clone(), method.clone()), statuses);
        }
    }
    let expected: BTreeMap<(String, String), Vec<String>> = expected_operations()
        .into_iter()
        .map(|((p, m), s)| {
            (
                (p.to_owned(), m.to_owned()),
                s.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
    assert_eq!(documented, expected);

    // Every documented operation exists (not 404/405); every other method on those paths is 405.
    let task = app.create(json!({"title": "for the doc"})).await;
    for path in [
        "/api/tasks",
        "/api/tasks/{id}",
        "/health",
        "/ready",
        "/api/openapi.json",
    ] {
        let url = app.url(&path.replace("{id}", &task.id.to_string()));
        for method in ["get", "post", "put", "patch", "delete"] {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = app
                .client
                .request(m, &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            let is_documented = expected.contains_key(&(path.to_owned(), method.to_owned()));
            if is_documented {
                assert!(
                    status != 404 && status != 405,
                    "{method} {path} is documented but answers {status}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is not documented but answers {status}"
                );
            }
        }
    }

    // The Task schema is the JSON the server sends.
    let schema = &doc["components"]["schemas"]["Task"];
    let mut properties: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    properties.sort();
    let sent: Value = serde_json::to_value(&task).unwrap();
    let mut sent_keys: Vec<&String> = sent.as_object().unwrap().keys().collect();
    sent_keys.sort();
    assert_eq!(properties, sent_keys);
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, TASK_FIELDS);
    assert_eq!(schema["properties"]["id"]["format"], "uuid");
    assert_eq!(schema["properties"]["created_at"]["format"], "date-time");
    assert_eq!(schema["properties"]["completed"]["type"], "boolean");
    let priority = &doc["components"]["schemas"]["Priority"];
    assert_eq!(priority["enum"], json!(["low", "medium", "high"]));
    // The create body requires only the title.
    assert_eq!(
        doc["components"]["schemas"]["NewTask"]["required"],
        json!(["title"])
    );
    // The limits the server enforces are in the schema, so generated "valid" input really is valid.
    for schema in ["NewTask", "TaskPatch"] {
        let props = &doc["components"]["schemas"][schema]["properties"];
        assert_eq!(props["title"]["maxLength"], 255, "{schema}");
        assert_eq!(props["description"]["maxLength"], 10000, "{schema}");
    }
}
