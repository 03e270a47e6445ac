//! One `X-Request-Id` follows a click through both services' logs: the frontend keeps the browser's id,
//! sends it on its calls to the backend, and each service logs its one line per request with it.
//!
//! The frontend is the real binary (its log is its own stderr); the backend runs in this test process, its
//! log lines read through `test_support::logs` (a frontend test cannot build the backend's binary).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use test_support::backend::{spawn_backend, SpawnedBackend};
use test_support::frontend::Browser;
use test_support::logs;
use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};
use test_support::raw_http::{request, send};

const FRONTEND_BIN: &str = env!("CARGO_BIN_EXE_frontend");

/// The lines of `log` that carry `request_id=<id>`, waiting a little for a line written just after the
/// answer (bounded: 5 s).
fn lines_with_id(id: &str, log: impl Fn() -> Vec<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<String> = log()
            .into_iter()
            .filter(|l| l.contains(&format!("request_id={id}")))
            .collect();
        if !lines.is_empty() || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The real frontend binary, logging at info, in front of an in-process backend on a fresh database.
/// Fields drop in order: frontend, backend, database.
struct Stack {
    frontend: ServiceProcess,
    _backend: SpawnedBackend,
    _db: TestDatabase,
}

impl Stack {
    fn start() -> Stack {
        let db = TestDatabase::migrated();
        let backend = spawn_backend(db.url());
        let frontend = ServiceProcess::start(
            FRONTEND_BIN,
            free_port(),
            &[
                ("BACKEND_API_URL", backend.base_url.as_str()),
                ("RUST_LOG", "info"),
            ],
        );
        Stack {
            frontend,
            _backend: backend,
            _db: db,
        }
    }

    fn browser(&self) -> Browser {
        Browser::new(&format!("http://127.0.0.1:{}", self.frontend.port))
    }

    /// The frontend's log lines with this request id.
    fn frontend_lines(&self, id: &str) -> Vec<String> {
        lines_with_id(id, || {
            self.frontend.logs().lines().map(str::to_owned).collect()
        })
    }
}

#[tokio::test]
async fn a_form_post_carries_its_request_id_through_both_logs() {
    let backend_log = logs::record();
    let stack = Stack::start();
    let id = format!("click-{}", uuid::Uuid::new_v4());

    let mut browser = stack.browser();
    browser.get("/").await;
    let mut clicking = browser.with_header("X-Request-Id", &id);
    let page = clicking
        .add_task(&[("title", "Follow me"), ("priority", "high")])
        .await;
    assert_eq!(page.status, 303, "the task is created: {}", page.body);
    assert_eq!(page.header("x-request-id"), Some(id.as_str()));

    let in_frontend = stack.frontend_lines(&id);
    assert_eq!(
        in_frontend.len(),
        1,
        "one frontend line: {}",
        stack.frontend.logs()
    );
    assert!(
        in_frontend[0].contains("POST /tasks 303"),
        "{}",
        in_frontend[0]
    );
    let in_backend = lines_with_id(&id, || backend_log.lines_containing("request_id="));
    let created: Vec<&String> = in_backend
        .iter()
        .filter(|l| l.contains("POST /api/tasks 201"))
        .collect();
    assert_eq!(
        created.len(),
        1,
        "the backend's line for the create: {in_backend:?}"
    );
}

#[tokio::test]
async fn without_a_client_id_the_frontend_makes_one_and_the_backend_logs_it_too() {
    let backend_log = logs::record();
    let stack = Stack::start();
    // "a bad id" has spaces: the frontend replaces it with one of its own.
    let mut browser = stack.browser().with_header("X-Request-Id", "a bad id");
    let page = browser.get("/").await;
    assert_eq!(page.status, 200);
    let id = page
        .header("x-request-id")
        .expect("an id on every page")
        .to_owned();
    assert_ne!(id, "a bad id");

    let in_frontend = stack.frontend_lines(&id);
    assert_eq!(
        in_frontend.len(),
        1,
        "one frontend line: {}",
        stack.frontend.logs()
    );
    assert!(in_frontend[0].contains("GET / 200"), "{}", in_frontend[0]);
    let in_backend = lines_with_id(&id, || backend_log.lines_containing("request_id="));
    assert!(
        in_backend.iter().any(|l| l.contains("GET /api/tasks 200")),
        "the page's list call carries the frontend's id: {in_backend:?}"
    );
}

/// Issue 22 item 1: the access log wrote whatever method and path a client sent. It now shows a method
/// only if it is a known one (`UNKNOWN` otherwise) and at most `MAX_LOGGED_CHARS` of the path.
#[tokio::test]
async fn the_access_log_shows_no_unknown_method_and_a_bounded_path() {
    let backend_log = logs::record();
    let stack = Stack::start();
    let frontend: SocketAddr = ([127, 0, 0, 1], stack.frontend.port).into();
    let backend = stack._backend.address;
    let odd_method = format!("X{}", "LONGMETHOD".repeat(100));
    let bound = service_kit::request_log::MAX_LOGGED_CHARS;
    let path = format!("/api/tasks/{}", "p".repeat(3 * bound));
    for (address, method) in [
        (frontend, odd_method.as_str()),
        (frontend, "GET"),
        (backend, odd_method.as_str()),
        (backend, "GET"),
    ] {
        let id = format!("log-{}", uuid::Uuid::new_v4());
        let bytes = request(method, &path, &[("X-Request-Id", &id)], b"");
        let answer = tokio::task::spawn_blocking(move || send(address, &bytes))
            .await
            .unwrap();
        assert_ne!(answer.status, 0);
        let lines = match address == frontend {
            true => stack.frontend_lines(&id),
            false => lines_with_id(&id, || backend_log.lines_containing("request_id=")),
        };
        let what = format!("{} characters of method to {address}", method.len());
        assert_eq!(lines.len(), 1, "{what}: {lines:?}");
        let line = &lines[0];
        assert!(!line.contains("LONGMETHOD"), "{what}: {line}");
        assert!(
            line.contains(&format!(" {}... ", &path[..bound])) && !line.contains(&path[..=bound]),
            "{what}: {line}"
        );
    }
}

/// Not just the access log: the warnings of refused requests quote the path and the Host, cut too.
#[tokio::test]
async fn no_log_line_grows_with_what_a_client_sends() {
    let stack = Stack::start();
    let frontend: SocketAddr = ([127, 0, 0, 1], stack.frontend.port).into();
    let long = "x".repeat(20_000);
    let host = format!("{long}.example");
    let bad_api_path = format!("/api/%2e/{long}");
    let requests = [
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes(),
        request("GET", &bad_api_path, &[], b""),
        request(
            "POST",
            &format!("/tasks/{long}/toggle"),
            &[],
            b"completed=true",
        ),
    ];
    for bytes in requests {
        let answer = tokio::task::spawn_blocking(move || send(frontend, &bytes))
            .await
            .unwrap();
        assert!(answer.status >= 400, "{}", answer.status);
    }
    // Each request's warning comes before its access-log line: 4 of those (the start's /health too).
    let access_lines = |logs: &str| logs.matches("request_id=").count();
    let deadline = Instant::now() + Duration::from_secs(5);
    while access_lines(&stack.frontend.logs()) < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = stack.frontend.logs();
    assert_eq!(access_lines(&logs), 4, "{logs}");
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a line of {longest} bytes");
}
