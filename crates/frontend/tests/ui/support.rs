//! The stack each test gets, and helpers to look at the data behind the UI's back (through the
//! backend's API, which the frontend never bypasses either).

use frontend::config::Settings;
use serde_json::{json, Value};
use task_types::Task;
use test_support::backend::{spawn_backend, spawn_backend_with, test_settings, SpawnedBackend};
use test_support::frontend::{spawn_frontend_with, Browser, Page, SpawnedFrontend};
use test_support::postgres::TestDatabase;
use uuid::Uuid;

/// Frontend → backend → a fresh database. Fields drop in order: frontend, backend, database.
pub struct Stack {
    pub frontend: SpawnedFrontend,
    backend: Option<SpawnedBackend>,
    pub db: TestDatabase,
    backend_port: u16,
    http: reqwest::Client,
}

impl Stack {
    pub fn start() -> Stack {
        Stack::start_with(|_| {})
    }

    /// A stack whose frontend runs with settings changed by `adjust` (shorter limits, trusted proxies).
    pub fn start_with(adjust: impl FnOnce(&mut Settings)) -> Stack {
        let db = TestDatabase::migrated();
        let backend = spawn_backend(db.url());
        let mut settings = Settings::local(&backend.base_url);
        adjust(&mut settings);
        let frontend = spawn_frontend_with(settings).expect("the frontend starts");
        let backend_port = backend.port();
        Stack {
            frontend,
            backend: Some(backend),
            db,
            backend_port,
            http: test_support::http::client(),
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.frontend.base_url)
    }

    /// A browser that has loaded the list page: it has a session cookie and the forms' token.
    pub async fn session(&self) -> Browser {
        let mut browser = self.browser();
        browser.get("/").await;
        browser
    }

    /// A fresh stack holding one pending task.
    pub async fn with_task(title: &str, priority: &str) -> (Stack, Task) {
        let stack = Stack::start();
        let task = stack.seed(title, priority, false).await;
        (stack, task)
    }

    /// A fresh stack holding these tasks (title, priority, completed), created in this order.
    pub async fn with_tasks(tasks: &[(&str, &str, bool)]) -> Stack {
        let stack = Stack::start();
        for (title, priority, completed) in tasks {
            stack.seed(title, priority, *completed).await;
        }
        stack
    }

    /// A fresh stack, and a browser with a session on it.
    pub async fn with_session() -> (Stack, Browser) {
        let stack = Stack::start();
        let browser = stack.session().await;
        (stack, browser)
    }

    /// The frontend's address, for raw HTTP.
    pub fn frontend_address(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.frontend.port).into()
    }

    /// The backend's address, for raw HTTP.
    pub fn backend_address(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.backend_port).into()
    }

    /// The backend's own URL for `path`.
    pub fn backend_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.backend_port)
    }

    /// Stops the backend (the frontend keeps running).
    pub fn stop_backend(&mut self) {
        self.backend.take().expect("the backend is running").stop();
    }

    /// Starts the backend again on the port the frontend knows.
    pub fn restart_backend(&mut self) {
        let mut settings = test_settings(self.db.url());
        settings.port = self.backend_port;
        self.backend =
            Some(spawn_backend_with(settings).expect("the backend starts again on its port"));
    }

    /// The backend's `/metrics` page.
    pub async fn backend_metrics(&self) -> String {
        let backend = self.backend.as_ref().expect("the backend is running");
        self.metrics(&backend.metrics_url).await
    }

    /// The frontend's `/metrics` page.
    pub async fn frontend_metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.frontend.metrics_port);
        self.metrics(&url).await
    }

    async fn metrics(&self, url: &str) -> String {
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        response.text().await.unwrap()
    }

    /// How many `method path` requests the backend has answered, by its own metrics.
    pub async fn backend_requests(&self, method: &str, path: &str) -> u64 {
        let text = self.backend_metrics().await;
        let series = format!("endpoint=\"{path}\",method=\"{method}\"");
        text.lines()
            .filter(|l| {
                l.starts_with("taskmgr_backend_http_requests_total{") && l.contains(&series)
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    }

    /// Creates a task through the backend API.
    pub async fn seed(&self, title: &str, priority: &str, completed: bool) -> Task {
        self.create(json!({ "title": title, "description": format!("about {title}"), "priority": priority, "completed": completed }))
            .await
    }

    /// Creates the task `body` describes through the backend API.
    pub async fn create(&self, body: Value) -> Task {
        let response = self
            .http
            .post(self.backend_url("/api/tasks"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "seeding {body}");
        response.json().await.unwrap()
    }

    /// Every task, as the backend has it (newest first).
    pub async fn tasks(&self) -> Vec<Task> {
        let response = self
            .http
            .get(self.backend_url("/api/tasks?limit=1000"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// One task as the backend has it, or `None` when it does not exist.
    pub async fn task(&self, id: Uuid) -> Option<Task> {
        let response = self
            .http
            .get(self.backend_url(&format!("/api/tasks/{id}")))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => Some(response.json().await.unwrap()),
            404 => None,
            other => panic!("GET task {id}: {other}"),
        }
    }
}

/// Submits the add form with every field filled in, returning to the unfiltered list.
pub async fn add(browser: &mut Browser, title: &str, description: &str, priority: &str) -> Page {
    let fields = [
        ("title", title),
        ("description", description),
        ("priority", priority),
        ("back", ""),
    ];
    browser.add_task(&fields).await
}

/// Submits `task`'s toggle form with `completed` (as a checkbox sends it, or anything else).
pub async fn toggle(browser: &mut Browser, task: &Task, completed: &str) -> Page {
    let path = format!("/tasks/{}/toggle", task.id);
    browser.submit(&path, &[("completed", completed)]).await
}

/// The text of the flash message on a page, if any.
pub fn flash(body: &str) -> Option<String> {
    let start = body.find("id=\"flash\">")? + "id=\"flash\">".len();
    let end = body[start..].find("</div>")?;
    Some(body[start..start + end].to_owned())
}

/// The number shown in a count box (`total`, `pending`, `completed`).
pub fn count(body: &str, which: &str) -> u64 {
    let marker = format!("id=\"count-{which}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {which} count on the page"))
        + marker.len();
    let end = body[start..].find('<').unwrap();
    body[start..start + end].parse().unwrap()
}

/// The task titles listed on a page, in order.
pub fn titles(body: &str) -> Vec<String> {
    body.split("<h3 class=\"task-title\">")
        .skip(1)
        .map(|rest| rest[..rest.find("</h3>").unwrap()].to_owned())
        .collect()
}

/// Whether a page has the shared layout (so error pages look like the rest of the site).
pub fn has_layout(body: &str) -> bool {
    body.contains("<link rel=\"stylesheet\" href=\"/static/style.css")
        && body.contains("class=\"brand\"")
}

pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `GET url` with a plain client (no cookies, redirects followed), for probes and the `/api` pass-through.
pub async fn get(url: &str) -> reqwest::Response {
    test_support::http::client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}
