//! Create, read, update and delete, with the exact JSON the original service's clients expect.

use reqwest::Method;
use serde_json::{json, Value};
use task_types::{Priority, Task};

use crate::support::{expect_error, TestApp, TASK_FIELDS};

#[tokio::test]
async fn create_returns_201_the_task_and_its_location() {
    let app = TestApp::start();
    let res = app
        .send_json(
            Method::POST,
            "/api/tasks",
            &json!({"title": "  Buy milk ", "description": "2 litres", "priority": "high"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();

    // Exactly the original's fields, RFC 3339 UTC times.
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, TASK_FIELDS);
    assert_eq!(body["title"], "Buy milk", "title is trimmed");
    assert_eq!(body["description"], "2 litres");
    assert_eq!(body["priority"], "high");
    assert_eq!(body["completed"], false);
    let id = body["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(location, format!("/api/tasks/{id}"));
    for time in ["created_at", "updated_at"] {
        let t = body[time].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(t)
                .is_ok_and(|t| t.offset().local_minus_utc() == 0),
            "{t}"
        );
        assert!(t.ends_with('Z'), "{t} is UTC");
    }

    // The Location really leads to it.
    app.assert_answers(&location, &body).await;
}

#[tokio::test]
async fn create_fills_defaults_and_accepts_nulls_and_completed() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "Minimal"})).await;
    assert_eq!(
        (task.description.as_str(), task.priority, task.completed),
        ("", Priority::Medium, false)
    );
    assert_eq!(task.created_at, task.updated_at);

    let task = app
        .create(json!({"title": "Nulls", "description": null, "priority": null, "completed": true}))
        .await;
    assert_eq!(
        (task.description.as_str(), task.priority, task.completed),
        ("", Priority::Medium, true)
    );
}

#[tokio::test]
async fn unicode_titles_round_trip() {
    let app = TestApp::start();
    let title = "Überprüfen 检查 ✅ — résumé 🚀";
    let long_unicode = "é".repeat(255); // 255 characters, 510 bytes: within the limit
    for t in [title, long_unicode.as_str()] {
        let task = app
            .create(json!({"title": t, "description": "説明 🎉"}))
            .await;
        let fetched: Task = app
            .get(&format!("/api/tasks/{}", task.id))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(fetched.title, t);
        assert_eq!(fetched.description, "説明 🎉");
    }
}

#[tokio::test]
async fn get_unknown_or_malformed_id_is_404_json() {
    let app = TestApp::start();
    for id in [
        uuid::Uuid::new_v4().to_string().as_str(),
        "not-a-uuid",
        "123",
        "%27%3B%20DROP%20TABLE%20tasks",
    ] {
        let body = expect_error(app.get(&format!("/api/tasks/{id}")).await, 404).await;
        assert_eq!(body, json!({"error": "Task not found"}));
    }
}

#[tokio::test]
async fn put_and_patch_update_any_subset_and_move_updated_at() {
    let app = TestApp::start();
    let task = app
        .create(json!({"title": "Draft", "description": "d", "priority": "low"}))
        .await;
    let path = format!("/api/tasks/{}", task.id);

    let res = app
        .send_json(Method::PATCH, &path, &json!({"completed": true}))
        .await;
    assert_eq!(res.status(), 200);
    let patched: Task = res.json().await.unwrap();
    assert!(patched.completed);
    assert_eq!(
        (
            patched.title.as_str(),
            patched.description.as_str(),
            patched.priority
        ),
        ("Draft", "d", Priority::Low)
    );
    assert!(
        patched.updated_at > task.updated_at,
        "updated_at moves forward"
    );
    assert_eq!(patched.created_at, task.created_at);

    // PUT stays partial, as in the original.
    let res = app
        .send_json(
            Method::PUT,
            &path,
            &json!({"title": " Final ", "priority": "high"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let put: Task = res.json().await.unwrap();
    assert_eq!(
        (
            put.title.as_str(),
            put.priority,
            put.completed,
            put.description.as_str()
        ),
        ("Final", Priority::High, true, "d")
    );
    assert!(put.updated_at > patched.updated_at);

    let all = app
        .send_json(
            Method::PATCH,
            &path,
            &json!({"title": "T", "description": "", "priority": "medium", "completed": false}),
        )
        .await;
    let all: Task = all.json().await.unwrap();
    assert_eq!(
        (
            all.title.as_str(),
            all.description.as_str(),
            all.priority,
            all.completed
        ),
        ("T", "", Priority::Medium, false)
    );

    // The change is stored, not just echoed.
    app.assert_answers(&path, &all).await;
}

/// A null description clears it, as null means "" when a task is created; an absent one is left as it is.
#[tokio::test]
async fn a_null_description_clears_it_and_an_absent_one_leaves_it() {
    let app = TestApp::start();
    let task = app
        .create(json!({"title": "Keep", "description": "old notes"}))
        .await;
    let path = format!("/api/tasks/{}", task.id);
    let kept: Task = app
        .send_json(Method::PATCH, &path, &json!({"title": "Kept"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept.description, "old notes");
    let cleared = app
        .send_json(Method::PATCH, &path, &json!({"description": null}))
        .await;
    assert_eq!(cleared.status(), 200);
    let cleared: Task = cleared.json().await.unwrap();
    assert_eq!(
        (cleared.title.as_str(), cleared.description.as_str()),
        ("Kept", "")
    );
    assert_eq!(app.get_json::<Task>(&path).await, cleared);
}

#[tokio::test]
async fn an_empty_patch_changes_nothing_and_answers_200() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "Same"})).await;
    for method in [Method::PATCH, Method::PUT] {
        let res = app
            .send_json(method, &format!("/api/tasks/{}", task.id), &json!({}))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Task>().await.unwrap(),
            task,
            "not even updated_at moves"
        );
    }
}

/// A curl script may read a task, change a field and send the whole object back, as it could to the original
/// API: the task's server-set fields are accepted and ignored (another id or time included), while any other
/// unknown field is still refused.
#[tokio::test]
async fn a_task_read_with_get_can_be_sent_back_whole() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "Read me"})).await;
    let path = format!("/api/tasks/{}", task.id);
    let mut read: Value = app.get_json(&path).await;
    read["completed"] = json!(true);
    read["id"] = json!(uuid::Uuid::new_v4().to_string());
    read["created_at"] = json!("2001-01-01T00:00:00Z");
    for method in [Method::PUT, Method::PATCH] {
        let res = app.send_json(method.clone(), &path, &read).await;
        assert_eq!(res.status(), 200, "{method}");
        let updated: Task = res.json().await.unwrap();
        assert!(updated.completed, "{method}");
        assert_eq!((updated.id, updated.created_at), (task.id, task.created_at));
    }
    let only_server_set = json!({"id": task.id, "created_at": "x", "updated_at": "y"});
    let res = app.send_json(Method::PATCH, &path, &only_server_set).await;
    let unchanged: Task = res.json().await.unwrap();
    assert_eq!(
        unchanged,
        app.get_json::<Task>(&path).await,
        "an empty patch"
    );
    let copy = app.send_json(Method::POST, "/api/tasks", &read).await;
    assert_eq!(copy.status(), 201);
    let copy: Task = copy.json().await.unwrap();
    assert_ne!(
        copy.id, task.id,
        "POST makes a new task, with an id of its own"
    );
    assert_eq!((copy.title.as_str(), copy.completed), ("Read me", true));
    read["colour"] = json!("red");
    let body = expect_error(app.send_json(Method::PUT, &path, &read).await, 400).await;
    assert_eq!(body["field"], "colour");
}

#[tokio::test]
async fn update_of_unknown_task_is_404() {
    let app = TestApp::start();
    for method in [Method::PATCH, Method::PUT] {
        let path = format!("/api/tasks/{}", uuid::Uuid::new_v4());
        let body = expect_error(
            app.send_json(method.clone(), &path, &json!({"title": "x"}))
                .await,
            404,
        )
        .await;
        assert_eq!(body["error"], "Task not found");
        expect_error(
            app.send_json(method, "/api/tasks/nope", &json!({})).await,
            404,
        )
        .await;
    }
}

#[tokio::test]
async fn delete_answers_the_original_message_then_404() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "Doomed"})).await;
    let path = format!("/api/tasks/{}", task.id);
    let res = app.delete(&path).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"message": "Task deleted successfully"})
    );

    expect_error(app.get(&path).await, 404).await;
    let again = app.delete(&path).await;
    assert_eq!(
        expect_error(again, 404).await,
        json!({"error": "Task not found"})
    );
    let malformed = app.delete("/api/tasks/xyz").await;
    expect_error(malformed, 404).await;
}

#[tokio::test]
async fn list_returns_every_task_newest_first_with_total_count() {
    let app = TestApp::start();
    let empty = app.get("/api/tasks").await;
    assert_eq!(empty.status(), 200);
    assert_eq!(empty.headers()["x-total-count"], "0");
    assert_eq!(empty.json::<Value>().await.unwrap(), json!([]));

    let mut created = Vec::new();
    for i in 0..3 {
        created.push(app.create(json!({"title": format!("task {i}")})).await);
    }
    let res = app.get("/api/tasks").await;
    assert_eq!(res.headers()["x-total-count"], "3");
    let listed: Vec<Task> = res.json().await.unwrap();
    created.reverse();
    assert_eq!(listed, created);
}
