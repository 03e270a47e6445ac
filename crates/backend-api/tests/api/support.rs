//! What every test needs: a fresh database, the real server on it, and an HTTP client.

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use task_types::Task;
pub use test_support::api_error::expect_error;
use test_support::backend::{spawn_backend, SpawnedBackend};
use test_support::postgres::TestDatabase;

/// The server and its database. Fields drop in order: the server stops before its database goes.
pub struct TestApp {
    pub backend: SpawnedBackend,
    pub db: TestDatabase,
    pub client: Client,
}

/// The keys of a task's JSON, sorted: the original service's fields.
pub const TASK_FIELDS: [&str; 7] = [
    "completed",
    "created_at",
    "description",
    "id",
    "priority",
    "title",
    "updated_at",
];

impl TestApp {
    pub fn start() -> TestApp {
        test_support::init_logs(log::LevelFilter::Info);
        let db = TestDatabase::migrated();
        let backend = spawn_backend(db.url());
        TestApp {
            backend,
            db,
            client: test_support::http::client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.backend.url(path)
    }

    pub async fn get(&self, path: &str) -> Response {
        send(self.client.get(self.url(path))).await
    }

    /// The JSON body of `GET path`, which must answer 200.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("a JSON answer")
    }

    /// `GET path` answers 200 with exactly `expected` (e.g. what was written is stored, not just echoed).
    pub async fn assert_answers<T>(&self, path: &str, expected: &T)
    where
        T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(&self.get_json::<T>(path).await, expected, "GET {path}");
    }

    pub async fn delete(&self, path: &str) -> Response {
        send(self.client.delete(self.url(path))).await
    }

    /// Sends `body` as JSON with `method`.
    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        send(self.client.request(method, self.url(path)).json(body)).await
    }

    /// Sends raw bytes with a content type (for malformed bodies).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let request = self.client.request(method, self.url(path));
        send(request.header("content-type", content_type).body(body)).await
    }

    /// Creates a task through the API and returns it (asserting the 201).
    pub async fn create(&self, body: Value) -> Task {
        let res = self.send_json(Method::POST, "/api/tasks", &body).await;
        assert_eq!(
            res.status(),
            201,
            "creating {body}: {}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a task")
    }
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("request reaches the server")
}
