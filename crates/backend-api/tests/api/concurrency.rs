//! Many clients at once: no lost or duplicated rows, no torn updates.

use std::collections::HashSet;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use task_types::Task;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_creates_give_a_hundred_distinct_tasks() {
    let app = TestApp::start();
    let bodies: Vec<_> = (0..100)
        .map(|i| json!({"title": format!("c{i}")}))
        .collect();
    let creates = bodies
        .iter()
        .map(|body| app.send_json(Method::POST, "/api/tasks", body));
    let mut ids = HashSet::new();
    for res in join_all(creates).await {
        assert_eq!(res.status(), 201);
        let task: Task = res.json().await.unwrap();
        assert!(ids.insert(task.id), "ids are distinct");
    }
    let res = app.get("/api/tasks?limit=1000").await;
    assert_eq!(res.headers()["x-total-count"], "100");
    let listed: Vec<Task> = res.json().await.unwrap();
    let titles: HashSet<String> = listed.iter().map(|t| t.title.clone()).collect();
    assert_eq!(
        titles,
        (0..100).map(|i| format!("c{i}")).collect::<HashSet<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_one_task_leave_it_whole() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "contended"})).await;
    let path = format!("/api/tasks/{}", task.id);
    let priorities = ["low", "medium", "high"];
    let patch = |i: usize| json!({"title": format!("v{i}"), "description": format!("d{i}"), "priority": priorities[i % 3], "completed": i % 2 == 0});
    let patches: Vec<_> = (0..60).map(patch).collect();
    let sends = patches
        .iter()
        .map(|body| app.send_json(Method::PATCH, &path, body));
    for res in join_all(sends).await {
        assert_eq!(res.status(), 200);
    }
    // Every field comes from the same one patch: updates are atomic, never a mix of two.
    let last: Task = app.get_json(&path).await;
    let i: usize = last
        .title
        .trim_start_matches('v')
        .parse()
        .expect("a title one of the patches set");
    assert_eq!(
        serde_json::to_value(&last).unwrap()["description"],
        patch(i)["description"]
    );
    assert_eq!(last.priority.as_str(), priorities[i % 3]);
    assert_eq!(last.completed, i % 2 == 0);
    assert!(last.updated_at > task.updated_at);
}
