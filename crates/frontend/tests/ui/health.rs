//! `/health`, `/ready`, `/metrics` and the embedded assets.

use crate::support::{get, json_of, Stack};

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let stack = Stack::start();
    let health = get(&stack.frontend.url("/health")).await;
    assert_eq!(health.status(), 200);
    let body = json_of(&health.text().await.unwrap());
    assert_eq!(
        (body["status"].as_str(), body["backend"].as_str()),
        (Some("healthy"), Some("healthy"))
    );
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());

    let ready = get(&stack.frontend.url("/ready")).await;
    assert_eq!(ready.status(), 200);

    get(&stack.frontend.url("/")).await;
    get(&stack.frontend.url("/api/tasks")).await;
    // Issue 11 item 9: metrics on a port of their own, which the NodePort does not expose.
    let public = get(&stack.frontend.url("/metrics")).await;
    assert_eq!(public.status(), 404, "not on the UI's port");
    assert!(!public
        .text()
        .await
        .unwrap()
        .contains("frontend_http_requests_total"));
    let metrics_url = format!("http://127.0.0.1:{}/metrics", stack.frontend.metrics_port);
    assert_ne!(stack.frontend.metrics_port, stack.frontend.port);
    let metrics = get(&metrics_url).await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("frontend_http_requests_total{endpoint=\"/\",method=\"GET\",status=\"200\"}"),
        "{text}"
    );
    // Pass-through requests are counted under the route, not one series per path.
    assert!(
        text.contains(
            "frontend_http_requests_total{endpoint=\"/api/{tail}*\",method=\"GET\",status=\"200\"}"
        ),
        "{text}"
    );
    // The metrics port serves nothing else, and scrapes are not counted as UI requests.
    assert!(!text.contains("endpoint=\"/metrics\""), "{text}");
    let other = format!("http://127.0.0.1:{}/api/tasks", stack.frontend.metrics_port);
    assert_eq!(get(&other).await.status(), 404);
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let stack = Stack::start();
    for (path, content_type) in [
        ("/static/style.css", "text/css"),
        ("/static/app.js", "text/javascript"),
        ("/static/favicon.svg", "image/svg+xml"),
    ] {
        let response = get(&stack.frontend.url(path)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    let missing = get(&stack.frontend.url("/static/nope.css")).await;
    assert_eq!(missing.status(), 404);
}
