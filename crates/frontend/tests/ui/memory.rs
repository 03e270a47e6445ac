//! Issue 11 item 3: the frontend's memory per request is bounded whatever the data. Descriptions of
//! 10,000 control characters are escaped as `\u0001` in JSON, so `limit=1000` was about 60 MB; the
//! pass-through used to hold all of it (4 such requests took the frontend to 295 MB). The backend now
//! cuts a page at 512 KiB of text (about 3 MB of such JSON), and the frontend streams the pass-through
//! and reads at most `PAGE_BYTES` of a list page. Enough concurrent answers are asked for that a
//! frontend holding each whole would pass the limit.
//!
//! The frontend runs as its own process so that its peak resident memory (`VmHWM`) can be read; the
//! backend runs in this test process (its own memory is the backend's tests' concern).

use diesel::RunQueryDsl;
use futures_util::future::join_all;
use test_support::backend::{spawn_backend, SpawnedBackend};
use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};

use crate::support::titles;

const BINARY: &str = env!("CARGO_BIN_EXE_frontend");
/// Half the pod's 128 MiB limit.
const PEAK_RSS_LIMIT_KIB: u64 = 64 * 1024;
const TASKS: usize = 1000;
/// The backend's largest answers at once (about 3 MB each): 24 held whole would be over 70 MB.
const CONCURRENT_API: usize = 24;
/// The backend's largest page: 512 KiB of text, each control character escaped as six bytes.
const LARGEST_PAGE_BYTES: usize = 3_000_000;
/// List pages at once: twice the pages rendered at a time, so that some wait their turn.
const CONCURRENT_PAGES: usize = 8;

/// Taken by each test here: each loads both services hard, and on a busy machine one running beside the
/// other starved the backend into missing the frontend's 2 s connect timeout.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The backend in this process on `db`, the frontend binary in front of it, and the UI's base URL.
fn start_services(db: &TestDatabase) -> (SpawnedBackend, ServiceProcess, String) {
    let backend = spawn_backend(db.url());
    let frontend = ServiceProcess::start(
        BINARY,
        free_port(),
        &[("BACKEND_API_URL", &backend.base_url)],
    );
    let ui = format!("http://127.0.0.1:{}", frontend.port);
    (backend, frontend, ui)
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status (Linux)");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Status and body size of a GET, read chunk by chunk (the test holds no whole body either).
async fn fetch(client: &reqwest::Client, url: String) -> (u16, usize, String) {
    let mut response = client.get(url).send().await.expect("an answer");
    let status = response.status().as_u16();
    let html = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
    let (mut size, mut text) = (0, String::new());
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // Reported by the caller, with the frontend's log.
            Err(e) => {
                return (
                    0,
                    size,
                    format!("the body broke off after {size} bytes: {e}"),
                )
            }
        };
        size += chunk.len();
        if html {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    (status, size, text)
}

#[tokio::test]
async fn many_maximal_requests_on_maximal_data_stay_far_below_the_pod_limit() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = TestDatabase::migrated();
    diesel::sql_query(format!(
        "INSERT INTO tasks (id, title, description, created_at) \
         SELECT gen_random_uuid(), 'task ' || i, repeat(chr(1), 10000), now() - i * interval '1 second' \
         FROM generate_series(1, {TASKS}) AS i"
    ))
    .execute(&mut db.connect())
    .unwrap();
    let (backend, frontend, ui) = start_services(&db);
    let client = test_support::http::client();
    let at_rest = peak_rss_kib(frontend.pid());

    let direct = fetch(&client, backend.url("/api/tasks?limit=1000")).await;
    assert!(
        direct.1 > LARGEST_PAGE_BYTES,
        "the data is maximal: {} bytes",
        direct.1
    );
    let api =
        join_all((0..CONCURRENT_API).map(|_| fetch(&client, format!("{ui}/api/tasks?limit=1000"))))
            .await;
    let pages = join_all((0..CONCURRENT_PAGES).map(|i| {
        let per_page = if i % 2 == 0 { 100 } else { 20 };
        fetch(&client, format!("{ui}/?per_page={per_page}"))
    }))
    .await;
    let peak = peak_rss_kib(frontend.pid());

    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "the frontend peaked at {peak} KiB (at rest {at_rest} KiB) under {CONCURRENT_API} concurrent {} byte \
         API answers and {CONCURRENT_PAGES} list pages; the limit is {PEAK_RSS_LIMIT_KIB} KiB",
        direct.1
    );
    let logs = frontend.logs();
    for (i, (status, size, text)) in api.iter().enumerate() {
        assert_ne!(*status, 0, "request {i}: {text}\nfrontend log:\n{logs}");
        // The pass-through gives the backend's answer in full.
        assert_eq!((*status, *size), (direct.0, direct.1), "request {i}");
    }
    for (i, (status, _, text)) in pages.iter().enumerate() {
        match i % 2 {
            // 100 rows of this data are more than a page reads: an error page says so.
            0 => {
                assert_eq!(
                    *status,
                    502,
                    "request {i}: {}\n{logs}",
                    &text[..text.len().min(600)]
                );
                assert!(
                    text.contains("Page too large") && text.contains("smaller page size"),
                    "request {i}"
                );
            }
            // 20 rows fit.
            _ => {
                assert_eq!(
                    *status,
                    200,
                    "request {i}: {}\n{logs}",
                    &text[..text.len().min(600)]
                );
                assert_eq!(titles(text).len(), 20, "request {i}");
            }
        }
    }
    println!("frontend peak RSS {peak} KiB (at rest {at_rest} KiB)");
}

/// Drops any CHECK on the description, as in a database that holds a row from before the constraint (or
/// written past it): the state the UI must survive.
const DROP_DESCRIPTION_CHECKS: &str = "DO $$ DECLARE c record; BEGIN \
     FOR c IN SELECT conname FROM pg_constraint \
              WHERE conrelid = 'tasks'::regclass AND contype = 'c' \
                AND pg_get_constraintdef(oid) LIKE '%description%' \
     LOOP EXECUTE format('ALTER TABLE tasks DROP CONSTRAINT %I', c.conname); END LOOP; END $$";
/// A description written in SQL, far past the API's 10,000 characters.
const HUGE_DESCRIPTION_BYTES: usize = 20 * 1024 * 1024;
/// The pages that show one task, asked for one after the other (the backend takes seconds to send such a
/// row, and the frontend gives up on an answer after 5 s).
const TASK_PAGES: [&str; 2] = ["edit", "delete"];

/// Issue 22 item 9: the edit and delete pages read a task's whole answer, so one 20 MiB row took the
/// frontend to a peak of about 180 MB. They now read at most `TASK_BYTES` and say the task is too large.
#[tokio::test]
async fn an_oversized_task_gets_an_error_page_not_a_memory_spike() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = TestDatabase::migrated();
    let mut conn = db.connect();
    diesel::sql_query(DROP_DESCRIPTION_CHECKS)
        .execute(&mut conn)
        .unwrap();
    let id = uuid::Uuid::new_v4();
    diesel::sql_query(format!(
        "INSERT INTO tasks (id, title, description) VALUES ('{id}', 'huge', repeat('x', {HUGE_DESCRIPTION_BYTES}))"
    ))
    .execute(&mut conn)
    .unwrap();
    let (_backend, frontend, ui) = start_services(&db);
    let client = test_support::http::client();
    let at_rest = peak_rss_kib(frontend.pid());

    let mut pages = Vec::new();
    for page in TASK_PAGES {
        pages.push(fetch(&client, format!("{ui}/tasks/{id}/{page}")).await);
    }
    let peak = peak_rss_kib(frontend.pid());

    let statuses: Vec<u16> = pages.iter().map(|(status, _, _)| *status).collect();
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "the frontend peaked at {peak} KiB (at rest {at_rest} KiB) under the {TASK_PAGES:?} pages of a \
         {HUGE_DESCRIPTION_BYTES} byte task (statuses {statuses:?}); the limit is {PEAK_RSS_LIMIT_KIB} KiB"
    );
    let logs = frontend.logs();
    for (i, (status, size, text)) in pages.iter().enumerate() {
        let start = &text[..text.len().min(600)];
        assert_eq!(*status, 502, "page {i}: {start}\n{logs}");
        assert!(text.contains("Task too large"), "page {i}: {start}");
        assert!(*size < 64 * 1024, "page {i} is {size} bytes");
    }
    println!("frontend peak RSS {peak} KiB (at rest {at_rest} KiB)");
}
