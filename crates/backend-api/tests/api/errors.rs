//! Bad input gets the right status and a JSON error a person understands; nothing is stored.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::json;

use crate::support::{expect_error, TestApp};

fn stored_tasks(app: &TestApp) -> i64 {
    let mut conn = app.db.connect();
    diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM tasks)",
    ))
    .get_result(&mut conn)
    .unwrap()
}

#[tokio::test]
async fn validation_failures_are_422_naming_the_field() {
    let app = TestApp::start();
    let cases = [
        (json!({"title": ""}), "title"),
        (json!({"title": "   \t "}), "title"),
        (json!({"title": "a".repeat(256)}), "title"),
        (json!({"title": "nul\u{0}byte"}), "title"),
        (json!({"title": "two\nlines"}), "title"),
        (json!({"title": "carriage\rreturn"}), "title"),
        (json!({"title": "ok", "priority": "urgent"}), "priority"),
        (json!({"title": "ok", "priority": "High"}), "priority"),
        (
            json!({"title": "ok", "description": "d".repeat(10_001)}),
            "description",
        ),
    ];
    for (body, field) in &cases {
        let res = app.send_json(Method::POST, "/api/tasks", body).await;
        let error = expect_error(res, 422).await;
        assert_eq!(error["field"], *field, "{body} → {error}");
    }
    assert_eq!(stored_tasks(&app), 0, "nothing invalid is stored");

    let task = app.create(json!({"title": "valid"})).await;
    let path = format!("/api/tasks/{}", task.id);
    for (body, field) in [
        (json!({"title": " "}), "title"),
        (json!({"title": "one\r\nmore"}), "title"),
        (json!({"priority": "urgent"}), "priority"),
    ] {
        for method in [Method::PATCH, Method::PUT] {
            let error = expect_error(app.send_json(method, &path, &body).await, 422).await;
            assert_eq!(error["field"], field);
        }
    }
    app.assert_answers(&path, &task).await;
}

#[tokio::test]
async fn bad_json_bodies_are_400() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "target"})).await;
    let item = format!("/api/tasks/{}", task.id);
    let bodies: [(&str, Option<&str>); 11] = [
        ("{", None),                           // malformed
        ("{\"title\": \"x\",}", None),         // trailing comma
        ("{\"title\": \"x\"} trailing", None), // bytes after the object
        ("", None),                            // empty
        ("null", None),                        // not an object
        ("[\"x\"]", None),                     // an array serde would take for a struct
        ("\"just a string\"", None),           // not an object
        ("{\"title\": 42}", Some("title")),    // wrong type
        ("{\"title\": null}", Some("title")),  // null title
        (
            "{\"title\": \"x\", \"completed\": \"yes\"}",
            Some("completed"),
        ),
        ("{\"title\": \"x\", \"colour\": \"red\"}", Some("colour")), // unknown field
    ];
    for (body, field) in bodies {
        let res = app
            .send_raw(
                Method::POST,
                "/api/tasks",
                "application/json",
                body.to_owned(),
            )
            .await;
        let error = expect_error(res, 400).await;
        assert_eq!(error["field"].as_str(), field, "{body:?} → {error}");
    }
    let missing = app
        .send_json(
            Method::POST,
            "/api/tasks",
            &json!({"description": "no title"}),
        )
        .await;
    assert_eq!(
        expect_error(missing, 400).await,
        json!({"error": "Title is required", "field": "title"})
    );

    // A server-set field is ignored (crud::a_task_read_with_get_can_be_sent_back_whole), but not of any type.
    for body in [
        "null",
        "{\"completed\": \"yes\"}",
        "{\"colour\": \"red\"}",
        "{\"id\": 5}",
        "{",
    ] {
        let res = app
            .send_raw(Method::PATCH, &item, "application/json", body.to_owned())
            .await;
        expect_error(res, 400).await;
        let res = app
            .send_raw(Method::PUT, &item, "application/json", body.to_owned())
            .await;
        expect_error(res, 400).await;
    }
    assert_eq!(stored_tasks(&app), 1);
}

/// A wrong type is said in JSON's words, what was sent and what is wanted, never in Rust's ("unit value",
/// "enum Priority").
#[tokio::test]
async fn a_wrong_type_is_named_in_json_terms() {
    let app = TestApp::start();
    let cases = [
        (json!({"title": null}), "title", "null", "a string"),
        (
            json!({"title": "x", "priority": 1}),
            "priority",
            "a number",
            "low, medium, high",
        ),
        (
            json!({"title": "x", "completed": "yes"}),
            "completed",
            "a string",
            "a boolean",
        ),
        (json!({"title": ["x"]}), "title", "an array", "a string"),
        (
            json!({"title": "x", "description": {}}),
            "description",
            "an object",
            "a string",
        ),
    ];
    for (body, field, sent, wanted) in cases {
        let error = expect_error(app.send_json(Method::POST, "/api/tasks", &body).await, 400).await;
        let message = error["error"].as_str().unwrap();
        assert_eq!(error["field"], field, "{body}");
        assert!(
            message.contains(sent) && message.contains(wanted),
            "{body} → {message}"
        );
        for rust in ["unit value", "enum", "invalid type", "sequence", "map"] {
            assert!(!message.contains(rust), "{body} → {message}");
        }
    }
    assert_eq!(stored_tasks(&app), 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::start();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        let res = app
            .send_raw(
                Method::POST,
                "/api/tasks",
                content_type,
                "{\"title\": \"x\"}",
            )
            .await;
        expect_error(res, 415).await;
    }
    let res = app
        .client
        .post(app.url("/api/tasks"))
        .body("{\"title\": \"x\"}")
        .send()
        .await
        .unwrap();
    expect_error(res, 415).await;
    let ok = app
        .send_raw(
            Method::POST,
            "/api/tasks",
            "application/json; charset=utf-8",
            "{\"title\": \"x\"}",
        )
        .await;
    assert_eq!(ok.status(), 201, "parameters after the media type are fine");
    assert_eq!(stored_tasks(&app), 1);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = TestApp::start();
    let huge = format!(
        "{{\"title\": \"x\", \"description\": \"{}\"}}",
        "d".repeat(70 * 1024)
    );
    expect_error(
        app.send_raw(Method::POST, "/api/tasks", "application/json", huge.clone())
            .await,
        413,
    )
    .await;

    // Without a Content-Length (chunked), the limit still holds.
    let chunks: Vec<Result<String, std::io::Error>> = huge
        .as_bytes()
        .chunks(8192)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    expect_error(
        app.send_raw(Method::POST, "/api/tasks", "application/json", stream)
            .await,
        413,
    )
    .await;

    // Just under the limit is accepted up to validation (the description is too long: 422, not 413).
    let under = format!(
        "{{\"title\": \"x\", \"description\": \"{}\"}}",
        "d".repeat(60 * 1024)
    );
    expect_error(
        app.send_raw(Method::POST, "/api/tasks", "application/json", under)
            .await,
        422,
    )
    .await;
    assert_eq!(stored_tasks(&app), 0);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_both_json() {
    let app = TestApp::start();
    for path in ["/", "/api", "/api/task", "/api/tasks/a/b", "/nope.html"] {
        let body = expect_error(app.get(path).await, 404).await;
        assert_eq!(body["error"], "Not found", "{path}");
    }
    let cases = [
        (Method::DELETE, "/api/tasks", "GET, HEAD, POST"),
        (Method::PUT, "/api/tasks", "GET, HEAD, POST"),
        (
            Method::POST,
            "/api/tasks/00000000-0000-0000-0000-000000000000",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        (Method::POST, "/health", "GET, HEAD"),
        (Method::DELETE, "/ready", "GET, HEAD"),
        (Method::POST, "/api/openapi.json", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        expect_error(res, 405).await;
    }
}

/// `curl -I` and HTTP monitors ask with HEAD: every address that answers GET answers HEAD the same way,
/// without the body.
#[tokio::test]
async fn head_gets_the_answer_of_get_without_its_body() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "asked with HEAD"})).await;
    let missing = "/api/tasks/00000000-0000-0000-0000-000000000000";
    for path in [
        "/api/tasks",
        &format!("/api/tasks/{}", task.id),
        missing,
        "/health",
        "/ready",
        "/api/openapi.json",
    ] {
        let get = app.client.get(app.url(path)).send().await.unwrap();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        for name in ["content-type", "x-total-count"] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "HEAD {path}: {name}"
            );
        }
        assert!(
            !get.bytes().await.unwrap().is_empty(),
            "GET {path} has a body"
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has none"
        );
    }
}

#[tokio::test]
async fn an_unexpected_database_error_is_a_generic_500_without_internals() {
    let app = TestApp::start();
    let task = app.create(json!({"title": "before"})).await;
    // Break the schema behind the server's back: the database answers, but with an error.
    diesel::connection::SimpleConnection::batch_execute(&mut app.db.connect(), "DROP TABLE tasks")
        .unwrap();
    let res = app.get(&format!("/api/tasks/{}", task.id)).await;
    assert!(res.headers().contains_key("x-request-id"));
    let body = expect_error(res, 500).await;
    assert_eq!(
        body,
        json!({"error": "Internal server error"}),
        "the cause stays in the log"
    );
    let health = app.get("/health").await;
    assert_eq!(health.status(), 200, "the process still answers");
}
