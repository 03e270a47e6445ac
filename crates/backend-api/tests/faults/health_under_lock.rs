//! A read waiting on a table lock (a restore holds one on `tasks`) must not stall the one actix worker the
//! pod runs: `/health` and `/ready` still answer within 250 ms while reads wait. The real binary, pinned to
//! one CPU so that it starts one worker (as under the pod's 500m limit), with two waves of reads in flight:
//! queries run on the blocking pool, never on the worker that answers the probes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};

use crate::support::{client, lock_tasks, one_at_a_time, tally, Ledger, BACKEND_BIN};

/// Room for the probes beside every waiting read: each waiting read holds a connection.
const POOL_SIZE: usize = 10;
/// Reads started in each of the two waves.
const READS: usize = 4;
/// The bound each probe must answer within.
const PROBE_BOUND: Duration = Duration::from_millis(250);
/// How long the table stays locked: both waves of reads wait on it.
const HOLD: Duration = Duration::from_millis(1800);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_ready_answer_within_250_ms_while_reads_wait_on_a_table_lock() {
    let _serial = one_at_a_time().await;
    test_support::init_logs(log::LevelFilter::Warn);
    let db = TestDatabase::migrated();
    db.seed_tasks(10, "'locked out'");
    let id: uuid::Uuid = backend_api::db::schema::tasks::table
        .select(backend_api::db::schema::tasks::id)
        .first(&mut db.connect())
        .expect("a seeded task");
    let port = free_port();
    let one_cpu = one_cpu_launcher();
    let backend = ServiceProcess::start(
        one_cpu.to_str().unwrap(),
        port,
        &[
            ("DATABASE_URL", db.url()),
            ("DB_POOL_SIZE", &POOL_SIZE.to_string()),
            ("RUST_LOG", "info"),
        ],
    );
    let _ = std::fs::remove_file(&one_cpu);
    assert!(
        backend.logs().contains("starting 1 workers"),
        "the backend should run one actix worker, as in the pod:\n{}",
        backend.logs()
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = client();

    let mut locker = lock_tasks(&db);
    let ledger = Ledger::new();
    let urls = [
        format!("{base}/api/tasks"),
        format!("{base}/api/tasks/{id}"),
    ];
    let wave = |ledger: &Ledger| -> Vec<_> {
        let reads = urls.iter().cycle().take(READS);
        reads
            .map(|url| {
                let (ledger, client, url) = (ledger.clone(), client.clone(), url.clone());
                tokio::spawn(async move { ledger.get(&client, &url).await })
            })
            .collect()
    };
    let mut reads = wave(&ledger);
    let mut probes = Vec::new();
    let mut second_wave_sent = false;
    while ledger.now() < HOLD - Duration::from_millis(200) {
        if !second_wave_sent && ledger.now() >= Duration::from_millis(1100) {
            reads.extend(wave(&ledger));
            second_wave_sent = true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        for path in ["/health", "/ready"] {
            let started = Instant::now();
            let status = client
                .get(format!("{base}{path}"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|res| res.status().as_u16());
            probes.push((
                path,
                ledger.now(),
                status.map_err(|e| e.to_string()),
                started.elapsed(),
            ));
        }
    }
    let reads_done_while_locked = ledger.outcomes().len();
    tokio::time::sleep(HOLD.saturating_sub(ledger.now())).await;
    locker.batch_execute("COMMIT").unwrap();
    for read in reads {
        let _ = read.await.unwrap();
    }

    let outcomes = ledger.outcomes();
    let slowest = probes.iter().map(|p| p.3).max().unwrap();
    println!(
        "health under lock: {} probes while {} reads waited on the lock, slowest {slowest:?}; reads: {}",
        probes.len(),
        outcomes.len(),
        tally(&outcomes)
    );
    for (path, at, status, took) in &probes {
        assert_eq!(
            *status,
            Ok(200),
            "{path} at {at:?} while reads wait: {probes:?}"
        );
        assert!(
            *took <= PROBE_BOUND,
            "{path} at {at:?} took {took:?} (over {PROBE_BOUND:?}) while reads wait on the lock:\n{}",
            probes
                .iter()
                .map(|(p, at, s, took)| format!("{p} at {at:?}: {s:?} in {took:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert_eq!(
        reads_done_while_locked, 0,
        "the reads should wait on the lock: {outcomes:?}"
    );
    assert!(
        second_wave_sent && probes.len() >= 20,
        "too few probes: {probes:?}"
    );
    assert!(
        outcomes.iter().all(|o| o.result == Ok(200)),
        "every read answers once the lock is gone: {outcomes:?}"
    );
}

/// A script that starts the backend pinned to the first CPU this test may use (`taskset`), so that the
/// backend sees one CPU and starts one worker and a pool sized for one CPU (unless `DB_POOL_SIZE` says).
fn one_cpu_launcher() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let found = std::process::Command::new("taskset").arg("-V").output();
    assert!(
        found.is_ok_and(|out| out.status.success()),
        "taskset is needed to pin the backend to one CPU (Debian: apt-get install util-linux)"
    );
    let path = std::env::temp_dir().join(format!("taskmgr-one-cpu-{}.sh", std::process::id()));
    let script = format!(
        "#!/bin/sh\nset -eu\ncpu=$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//')\nexec taskset -c \"$cpu\" '{BACKEND_BIN}' \"$@\"\n"
    );
    std::fs::write(&path, script).expect("the launcher script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
