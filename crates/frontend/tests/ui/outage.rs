//! The backend stopped: pages answer 503 with a visible banner (never an empty list), the API
//! answers 503 JSON, health stays 200; and everything is back once the backend returns.

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
