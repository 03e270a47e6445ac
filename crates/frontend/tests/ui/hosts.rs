//! Issue 11 item 8: the `Host` check against DNS rebinding. A page on evil.example whose name now
//! resolves to 127.0.0.1 sends `Host: evil.example`; it must not read or change the tasks.

use std::net::SocketAddr;

use test_support::raw_http::{send, RawResponse};

use crate::support::{has_layout, Stack};

async fn with_host(
    address: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: &str,
) -> RawResponse {
    let mut bytes = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if !body.is_empty() {
        bytes.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    bytes.push_str("\r\n");
    bytes.push_str(body);
    tokio::task::spawn_blocking(move || send(address, bytes.as_bytes()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_foreign_host_is_refused_and_the_documented_ones_are_served() {
    let (stack, task) = Stack::with_task("Private", "high").await;
    let address = stack.frontend_address();

    let page = with_host(address, "GET", "/", "evil.example:30080", "").await;
    assert_eq!(page.status, 400);
    assert!(has_layout(&page.text()) && page.text().contains("Unknown host"));
    assert!(!page.text().contains("Private"), "no task shown");

    let api = with_host(address, "GET", "/api/tasks", "evil.example", "").await;
    assert_eq!(api.status, 400);
    assert!(api.json()["error"]
        .as_str()
        .unwrap()
        .contains("ALLOWED_HOSTS"));
    let write = with_host(
        address,
        "POST",
        "/api/tasks",
        "localhost.evil.example",
        r#"{"title":"planted"}"#,
    )
    .await;
    assert_eq!(write.status, 400);
    assert_eq!(stack.tasks().await, vec![task], "nothing changed");

    // Every documented address: kind/compose/local on localhost:30080, the loopback IPs, the Service.
    for host in [
        "localhost:30080",
        "127.0.0.1:30080",
        "[::1]:30080",
        "frontend:8080",
        "frontend.task-manager.svc.cluster.local:8080",
    ] {
        let page = with_host(address, "GET", "/", host, "").await;
        assert_eq!(page.status, 200, "Host: {host}");
        assert!(page.text().contains("Private"), "Host: {host}");
    }
    // Kubelet probes arrive by pod IP.
    for path in ["/health", "/ready"] {
        let probe = with_host(address, "GET", path, "10.244.1.7:8080", "").await;
        assert_eq!(probe.status, 200, "{path}");
    }
    assert_eq!(
        with_host(address, "GET", "/", "10.244.1.7:8080", "")
            .await
            .status,
        400,
        "only the probes"
    );
}

#[tokio::test]
async fn allowed_hosts_can_be_set() {
    let stack = Stack::start_with(|settings| {
        settings.allowed_hosts =
            frontend::config::AllowedHosts::parse("tasks.example.org").unwrap();
    });
    let address = stack.frontend_address();
    assert_eq!(
        with_host(address, "GET", "/", "tasks.example.org", "")
            .await
            .status,
        200
    );
    assert_eq!(
        with_host(address, "GET", "/", "localhost:30080", "")
            .await
            .status,
        400
    );
}
