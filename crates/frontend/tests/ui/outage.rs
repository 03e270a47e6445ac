//! The backend stopped: pages answer 503 with a visible banner (never an empty list), the API
//! answers 503 JSON, health stays 200; and everything is back once the backend returns. A backend
//! that hangs up a pooled connection as it shuts down costs a read nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use test_support::frontend::spawn_frontend;

use crate::support::{count, get, json_of, titles, Stack};

#[tokio::test]
async fn a_stopped_backend_gives_a_503_banner_then_recovery() {
    let mut stack = Stack::start();
    let task = stack
        .seed("Still here after the outage", "high", false)
        .await;
    let mut browser = stack.session().await;

    stack.stop_backend();
    let page = browser.get("/").await;
    assert_eq!(page.status, 503);
    assert!(
        page.body.contains("id=\"backend-banner\""),
        "a visible banner"
    );
    assert!(page.body.contains("Task service unavailable"));
    assert!(
        !page.body.contains("No tasks yet") && titles(&page.body).is_empty(),
        "never an empty list"
    );
    assert!(
        !page.body.contains("id=\"count-total\""),
        "no counts of zero either"
    );

    for path in [
        format!("/tasks/{}/edit", task.id),
        format!("/tasks/{}/delete", task.id),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 503, "{path}");
        assert!(page.body.contains("id=\"backend-banner\""), "{path}");
    }
    let submit = browser
        .add_task(&[("title", "During the outage"), ("priority", "low")])
        .await;
    assert_eq!(submit.status, 503);
    assert!(submit.body.contains("id=\"backend-banner\""));

    let api = get(&stack.frontend.url("/api/tasks")).await;
    assert_eq!(api.status(), 503);
    assert!(json_of(&api.text().await.unwrap())["error"].is_string());
    let health = get(&stack.frontend.url("/health")).await;
    assert_eq!(
        health.status(),
        200,
        "liveness does not depend on the backend"
    );
    assert_eq!(
        json_of(&health.text().await.unwrap())["backend"],
        "unhealthy"
    );
    let ready = get(&stack.frontend.url("/ready")).await;
    assert_eq!(
        ready.status(),
        200,
        "the UI stays in the load balancer to show its banner"
    );

    stack.restart_backend();
    let page = browser.get("/").await;
    assert_eq!(
        page.status, 200,
        "back by itself, without restarting the frontend"
    );
    assert_eq!(titles(&page.body), ["Still here after the outage"]);
    assert_eq!(
        count(&page.body, "total"),
        1,
        "nothing was created during the outage"
    );
    let health = get(&stack.frontend.url("/health")).await;
    assert_eq!(json_of(&health.text().await.unwrap())["backend"], "healthy");
}

/// A backend pod going away as a request arrives: on its first connection it answers one request,
/// then reads the next and hangs up unanswered (as actix closes idle keep-alive connections on
/// SIGTERM); every later connection gets an answer. Returns its URL and the requests read per
/// connection.
fn backend_that_hangs_up_its_first_connection() -> (String, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reads = Arc::new(Mutex::new(Vec::new()));
    let counted = reads.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(3).enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            counted.lock().unwrap().push(0);
            let mut read_request = || {
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                    line.clear();
                }
                counted.lock().unwrap()[n] += 1;
            };
            read_request();
            let answer =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]";
            stream.write_all(answer.as_bytes()).unwrap();
            if n == 0 {
                read_request();
            }
        }
    });
    (url, reads)
}

#[tokio::test]
async fn a_read_survives_the_backend_hanging_up_a_pooled_connection() {
    let (backend, reads) = backend_that_hangs_up_its_first_connection();
    let frontend = spawn_frontend(&backend);
    for attempt in 1..=2 {
        let response = get(&frontend.url("/api/tasks")).await;
        assert_eq!(response.status(), 200, "GET number {attempt}");
        assert_eq!(response.text().await.unwrap(), "[]");
        // Time for the first connection to go back to the pool, so that the second GET uses it.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        reads.lock().unwrap()[..2],
        [2, 1],
        "the second GET went out on the pooled connection, then again on a new one"
    );
}
