//! The backend killed with SIGKILL and started again, with the real frontend in front: the frontend shows
//! its 503 banner while the backend is gone and recovers by itself; acknowledged writes are all stored.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use test_support::frontend::spawn_frontend;
use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};

use crate::support::{
    assert_acknowledged_writes_stored_once, assert_created_or_clean_503, client,
    first_created_after, one_at_a_time, tally, Ledger, BACKEND_BIN,
};

/// A write every 20 ms, the page every 100 ms.
const EVERY: Duration = Duration::from_millis(20);
const PAGE_EVERY_NTH: u64 = 5;
const BEFORE: Duration = Duration::from_secs(2);
const GONE: Duration = Duration::from_secs(2);
const AFTER: Duration = Duration::from_secs(3);

/// One look at the page: when it was asked for, its status, and whether it showed the outage banner.
#[derive(Debug, Clone, Copy)]
struct PageView {
    sent: Duration,
    status: u16,
    banner: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_shows_its_banner_while_the_backend_is_killed_and_recovers_by_itself() {
    let _serial = one_at_a_time().await;
    let db = TestDatabase::migrated();
    let db_url = db.url().to_owned();
    let port = free_port();
    let mut backend = ServiceProcess::start(BACKEND_BIN, port, &[("DATABASE_URL", &db_url)]);
    let frontend = spawn_frontend(&format!("http://127.0.0.1:{port}"));
    let client = client();
    let writes = Ledger::new();
    let views: Arc<Mutex<Vec<PageView>>> = Arc::default();

    // Writes through the frontend's /api pass-through, and the task page, each at a steady rate.
    let run = BEFORE + GONE + AFTER;
    let traffic = {
        let (ledger, client, views) = (writes.clone(), client.clone(), views.clone());
        let (api, page) = (frontend.url("/api/tasks"), frontend.url("/"));
        writes.steady_traffic(EVERY, run, move |n, requests| {
            let (w, c, api) = (ledger.clone(), client.clone(), api.clone());
            requests.push(tokio::spawn(async move {
                let _ = w.create(&c, &api, format!("write-{n}")).await;
            }));
            if n % PAGE_EVERY_NTH == 0 {
                let (w, c, page, views) =
                    (ledger.clone(), client.clone(), page.clone(), views.clone());
                requests.push(tokio::spawn(async move {
                    let sent = w.now();
                    let res = c.get(&page).send().await.expect("the frontend answers");
                    let status = res.status().as_u16();
                    let body = res.text().await.unwrap();
                    let banner = body.contains("id=\"backend-banner\"");
                    views.lock().unwrap().push(PageView {
                        sent,
                        status,
                        banner,
                    });
                }));
            }
        })
    };

    tokio::time::sleep(BEFORE).await;
    backend.signal("KILL");
    assert_eq!(
        backend.wait_for_exit(Duration::from_secs(5)),
        None,
        "ended by the signal"
    );
    let killed = writes.now();
    tokio::time::sleep(GONE).await;
    let restarting = writes.now();
    let _backend = tokio::task::spawn_blocking(move || {
        ServiceProcess::start(BACKEND_BIN, port, &[("DATABASE_URL", &db_url)])
    })
    .await
    .unwrap();
    let back = writes.now();
    traffic.await.unwrap();

    // The page: 503 with the banner while the backend is gone, 200 without it once it is back.
    let views = views.lock().unwrap().clone();
    let while_gone: Vec<_> = views
        .iter()
        .filter(|v| v.sent > killed && v.sent < restarting)
        .collect();
    assert!(!while_gone.is_empty());
    for v in &while_gone {
        assert!(
            v.status == 503 && v.banner,
            "while the backend is gone: {v:?}"
        );
    }
    let recovered_at = views
        .iter()
        .filter(|v| v.sent >= back && v.status == 200)
        .map(|v| v.sent)
        .min()
        .expect("the page recovers");
    for v in views.iter().filter(|v| v.sent >= recovered_at) {
        assert!(v.status == 200 && !v.banner, "after recovery: {v:?}");
    }

    // The writes: 201, or a clean 503 from the frontend while the backend is gone.
    let outcomes = writes.outcomes();
    assert_created_or_clean_503(&outcomes);
    let ambiguous = assert_acknowledged_writes_stored_once(&outcomes, &db);
    let first_write_after = first_created_after(&outcomes, back).expect("writes succeed again");
    println!(
        "backend SIGKILL behind the frontend: {} writes ({}), every 201 stored once, {ambiguous} failed \
         writes stored anyway; {} page views ({} while the backend was gone, all 503 with the banner); \
         killed at {:.1}s, restarted at {:.1}s, ready at {:.1}s; first page 200 {} ms and first write \
         201 {} ms after the backend was ready",
        outcomes.len(),
        tally(&outcomes),
        views.len(),
        while_gone.len(),
        killed.as_secs_f64(),
        restarting.as_secs_f64(),
        back.as_secs_f64(),
        recovered_at.saturating_sub(back).as_millis(),
        first_write_after.saturating_sub(back).as_millis(),
    );
    drop(frontend);
}
