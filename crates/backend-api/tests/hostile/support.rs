//! A server with a few tasks in it, raw requests to it, and the checks every hostile test ends with.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
pub use test_support::api_error::expect_raw_error as expect_error;
use test_support::backend::{spawn_backend, SpawnedBackend};
use test_support::postgres::TestDatabase;
use test_support::raw_http::{self, RawResponse};

/// Every hostile test: a fresh [`Target`], the attack made on it, then the end every attack must have:
/// the data is as it was and the server still serves ordinary requests.
pub fn attack(attack: impl FnOnce(&Target)) {
    let target = Target::start();
    let before = target.snapshot();
    attack(&target);
    target.assert_unchanged_and_serving(&before);
}

/// The server and its database (fields drop in order: the server stops first).
pub struct Target {
    pub backend: SpawnedBackend,
    pub db: TestDatabase,
    /// The id of a task created before the attack.
    pub task_id: String,
}

impl Target {
    /// A fresh database and server holding two ordinary tasks.
    pub fn start() -> Target {
        test_support::init_logs(log::LevelFilter::Warn);
        let db = TestDatabase::migrated();
        let backend = spawn_backend(db.url());
        let mut target = Target {
            backend,
            db,
            task_id: String::new(),
        };
        let first =
            target.create(r#"{"title":"Buy milk","description":"two litres","priority":"high"}"#);
        target.create(r#"{"title":"Call mum"}"#);
        target.task_id = first["id"].as_str().unwrap().to_owned();
        target
    }

    /// Creates a task through the API (asserting 201) and returns it.
    pub fn create(&self, body: &str) -> serde_json::Value {
        let res = self.json("POST", "/api/tasks", body.as_bytes());
        assert_eq!(res.status, 201, "creating {body}: {}", res.text());
        res.json()
    }

    /// Sends raw bytes.
    pub fn send(&self, bytes: &[u8]) -> RawResponse {
        raw_http::send(self.backend.address, bytes)
    }

    /// A request with `headers` and `body` (Content-Length added when there is a body).
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        self.send(&raw_http::request(method, target, headers, body))
    }

    /// A request with `Content-Type: application/json`.
    pub fn json(&self, method: &str, target: &str, body: &[u8]) -> RawResponse {
        self.request(
            method,
            target,
            &[("Content-Type", "application/json")],
            body,
        )
    }

    /// Every row of `tasks`, as text, in id order: to show that an attack changed nothing.
    pub fn snapshot(&self) -> String {
        #[derive(QueryableByName)]
        struct Rows {
            #[diesel(sql_type = Text)]
            rows: String,
        }
        let rows: Rows = diesel::sql_query(
            "SELECT coalesce(json_agg(t ORDER BY t.id)::text, '[]') AS rows FROM tasks t",
        )
        .get_result(&mut self.db.connect())
        .expect("the tasks table is still there");
        rows.rows
    }

    /// The end of every attack: the data is as it was, and the server still serves ordinary requests.
    pub fn assert_unchanged_and_serving(&self, before: &str) {
        assert_eq!(self.snapshot(), before, "the data changed");
        let health = self.request("GET", "/health", &[], b"");
        assert_eq!(health.status, 200, "the server stopped serving: {health:?}");
        let task = self.request("GET", &format!("/api/tasks/{}", self.task_id), &[], b"");
        assert_eq!(task.status, 200, "{}", task.text());
        assert_eq!(task.json()["title"], "Buy milk");
    }
}
