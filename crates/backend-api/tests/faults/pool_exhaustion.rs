//! More slow requests than pool connections: the extra ones get 503 after DB_POOL_TIMEOUT_MS, none hangs,
//! and the service is healthy afterwards. The real binary, configured through its environment.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};

use crate::support::{client, one_at_a_time, tally, Ledger, BACKEND_BIN};

const POOL_SIZE: usize = 3;
const POOL_TIMEOUT: Duration = Duration::from_millis(400);
const REQUESTS: usize = 5 * POOL_SIZE;
/// How long the table stays locked: well past the pool timeout.
const HOLD: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_pool_get_503_after_the_timeout_then_all_is_well() {
    let _serial = one_at_a_time().await;
    let db = TestDatabase::migrated();
    let port = free_port();
    let _backend = ServiceProcess::start(
        BACKEND_BIN,
        port,
        &[
            ("DATABASE_URL", db.url()),
            ("DB_POOL_SIZE", &POOL_SIZE.to_string()),
            ("DB_POOL_TIMEOUT_MS", &POOL_TIMEOUT.as_millis().to_string()),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = client();

    // A session of the test's own holds the table, so every request that gets a connection waits on it.
    let mut locker = db.connect();
    locker
        .batch_execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let ledger = Ledger::new();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (ledger, client) = (ledger.clone(), client.clone());
            let url = if i % 2 == 0 {
                format!("{base}/api/tasks")
            } else {
                format!("{base}/api/tasks?q=slow{i}")
            };
            tokio::spawn(async move {
                let _ = ledger.get(&client, &url).await;
            })
        })
        .collect();
    tokio::time::sleep(HOLD).await;
    locker.batch_execute("COMMIT").unwrap();
    let released = ledger.now();
    for r in requests {
        r.await.unwrap();
    }

    let outcomes = ledger.outcomes();
    let ok: Vec<_> = outcomes.iter().filter(|o| o.result == Ok(200)).collect();
    let refused: Vec<_> = outcomes.iter().filter(|o| o.result == Ok(503)).collect();
    println!(
        "pool exhaustion: {REQUESTS} slow requests on a pool of {POOL_SIZE} with a {} ms timeout: {}; \
         503s answered after {}..{} ms; the {} holding connections finished {} ms after the lock went",
        POOL_TIMEOUT.as_millis(),
        tally(&outcomes),
        refused.iter().map(|o| (o.done - o.sent).as_millis()).min().unwrap_or(0),
        refused.iter().map(|o| (o.done - o.sent).as_millis()).max().unwrap_or(0),
        ok.len(),
        ok.iter().map(|o| o.done.saturating_sub(released).as_millis()).max().unwrap_or(0),
    );
    assert_eq!(
        ok.len(),
        POOL_SIZE,
        "one request per connection waits it out: {outcomes:?}"
    );
    assert_eq!(
        refused.len(),
        REQUESTS - POOL_SIZE,
        "the rest are refused: {outcomes:?}"
    );
    for o in &refused {
        assert!(o.json_error, "a JSON 503: {o:?}");
        let waited = o.done - o.sent;
        assert!(
            waited >= POOL_TIMEOUT.mul_f64(0.9) && waited < HOLD,
            "refused after the pool timeout, not before and not only when the lock went: {waited:?}"
        );
    }

    // Healthy afterwards: ready, and a burst larger than the pool all succeeds.
    let ready = client.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let burst: Vec<_> = (0..4 * POOL_SIZE)
        .map(|_| client.get(format!("{base}/api/tasks")).send())
        .collect();
    for res in futures_util::future::join_all(burst).await {
        assert_eq!(res.unwrap().status(), 200, "healthy afterwards");
    }
}
