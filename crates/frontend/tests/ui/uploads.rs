//! Issue 11 item 4: a body that stalls half-way is cut at the body deadline (408), and only so many
//! bodies are taken at once (503 with `Retry-After` at once past that). Before, the frontend waited
//! for ever: every stalled connection stayed open and held its memory.

use std::net::SocketAddr;
use std::time::Duration;

use frontend::config::Limits;
use test_support::raw_http::{send, RawResponse};

use crate::support::{has_layout, Stack};

const UPLOAD_CAP: usize = 3;

/// A request that announces `declared` bytes of body and sends only the first few.
fn stalled(path: &str, content_type: &str, declared: usize) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {declared}\r\n\r\ntitle"
    )
    .into_bytes()
}

/// Sends each request on its own connection, all at once; returns the answers in order. Each read
/// gives up after raw_http's 15 s (a generous bound: the deadline here is 1 s), which fails the test.
async fn all_at_once(address: SocketAddr, requests: Vec<Vec<u8>>) -> Vec<RawResponse> {
    let sending: Vec<_> = requests
        .into_iter()
        .map(|bytes| tokio::task::spawn_blocking(move || send(address, &bytes)))
        .collect();
    let mut answers = Vec::new();
    for answer in sending {
        answers.push(answer.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn stalled_bodies_are_cut_at_the_deadline_and_uploads_are_capped() {
    let stack = Stack::start_with(|settings| {
        settings.limits = Limits {
            body_deadline: Duration::from_secs(1),
            max_uploads: UPLOAD_CAP,
        }
    });
    let address = stack.frontend_address();

    // Two more stalled uploads than there are slots: whatever the order, the cap answers two of
    // them at once and the deadline cuts the others.
    let requests = (0..UPLOAD_CAP + 2)
        .map(|_| stalled("/api/tasks", "application/json", 1000))
        .collect();
    let answers = all_at_once(address, requests).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [408, 408, 408, 503, 503], "{answers:?}");
    for answer in &answers {
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        match answer.status {
            408 => assert!(error.contains("did not arrive"), "{error}"),
            _ => {
                assert_eq!(answer.header("retry-after"), Some("2"));
                assert!(error.contains("try again"), "{error}");
            }
        }
    }

    // A form gets a readable page.
    let form = all_at_once(
        address,
        vec![stalled("/tasks", "application/x-www-form-urlencoded", 500)],
    )
    .await;
    assert_eq!(form[0].status, 408);
    assert!(has_layout(&form[0].text()) && form[0].text().contains("Request timed out"));

    assert!(stack.tasks().await.is_empty(), "nothing was created");
    // Every slot is free again: a whole body goes through.
    let created = test_support::http::client()
        .post(stack.frontend.url("/api/tasks"))
        .header("content-type", "application/json")
        .body(r#"{"title":"after the stall"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn a_body_larger_than_the_limit_is_refused_before_it_is_read() {
    let stack = Stack::start();
    let head = "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n";
    let answers = all_at_once(stack.frontend_address(), vec![head.as_bytes().to_vec()]).await;
    assert_eq!(answers[0].status, 413, "{:?}", answers[0]);
    assert!(answers[0].json()["error"]
        .as_str()
        .unwrap()
        .contains("256 KiB"));
}
