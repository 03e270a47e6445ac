//! Memory per request is bounded whatever the data (issue 11, item 3): concurrent pages of the largest
//! `limit` over tasks whose descriptions are 10,000 control characters (each escaped as six bytes of JSON)
//! keep the real binary's peak RSS far below the pod's 128 MiB limit, and paging still returns every task.

use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};

use crate::support::{client, one_at_a_time, BACKEND_BIN};

const TASKS: usize = 1_000;
const CONCURRENT: usize = 8;
const ROUNDS: usize = 3;
/// Half the pod's memory limit (kubernetes/backend-deployment.yaml: 128Mi).
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_maximal_pages_of_control_characters_stay_far_below_the_pod_limit() {
    let _serial = one_at_a_time().await;
    let db = TestDatabase::migrated();
    db.seed_tasks(TASKS, "repeat(chr(1), 10000)");
    let port = free_port();
    let backend = ServiceProcess::start(BACKEND_BIN, port, &[("DATABASE_URL", db.url())]);
    let url =
        |offset: usize| format!("http://127.0.0.1:{port}/api/tasks?limit=1000&offset={offset}");
    let client = client();
    let before = peak_rss_kib(backend.pid());

    for _ in 0..ROUNDS {
        let requests: Vec<_> = (0..CONCURRENT).map(|_| client.get(url(0)).send()).collect();
        for res in futures_util::future::join_all(requests).await {
            let res = res.expect("an answer");
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["x-total-count"], TASKS.to_string().as_str());
            assert_eq!(
                res.headers()["x-page-truncated"],
                "true",
                "the page says it was cut"
            );
            let tasks: Vec<serde_json::Value> = res.json().await.unwrap();
            assert!(
                !tasks.is_empty() && tasks.len() < TASKS,
                "{} tasks",
                tasks.len()
            );
            assert_eq!(
                tasks[0]["description"].as_str().unwrap(),
                "\u{1}".repeat(10_000)
            );
        }
    }
    let peak = peak_rss_kib(backend.pid());

    // Nothing is lost: paging on by the number received reaches every task once.
    let (mut seen, mut pages) = (std::collections::HashSet::new(), 0);
    while seen.len() < TASKS {
        let res = client.get(url(seen.len())).send().await.unwrap();
        let tasks: Vec<serde_json::Value> = res.json().await.unwrap();
        assert!(!tasks.is_empty(), "a page before the end is never empty");
        for t in tasks {
            assert!(
                seen.insert(t["id"].as_str().unwrap().to_owned()),
                "twice: {t}"
            );
        }
        pages += 1;
        assert!(pages <= TASKS, "paging does not progress");
    }
    println!(
        "memory: {ROUNDS}x{CONCURRENT} concurrent limit=1000 pages of 10,000 control characters: \
         peak RSS {} KiB before, {peak} KiB after (bound {PEAK_LIMIT_KIB} KiB); {TASKS} tasks in {pages} pages",
        before
    );
    assert!(
        peak < PEAK_LIMIT_KIB,
        "peak RSS {peak} KiB is not far below the 128 MiB pod limit"
    );
}
