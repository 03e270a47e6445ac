//! The database arriving late or going away: each test has a PostgreSQL cluster of its own to stop.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use task_types::Task;
use test_support::backend::{spawn_backend, spawn_backend_with, test_settings};
use test_support::postgres::{Cluster, TestDatabase};

use crate::support::expect_error;

fn private_cluster() -> Cluster {
    crate::support::init_logs();
    Cluster::start().unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_server_started_before_the_database_serves_once_it_appears() {
    let cluster = private_cluster();
    let db = TestDatabase::empty_on(&cluster.admin_url());
    cluster.stop();

    let url = db.url().to_owned();
    let starting = std::thread::spawn(move || spawn_backend(&url));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !starting.is_finished(),
        "start-up waits for the database instead of giving up"
    );
    cluster.start_again();
    let backend = starting
        .join()
        .expect("the server comes up once the database is there");

    let client = reqwest::Client::new();
    let res = client
        .post(backend.url("/api/tasks"))
        .json(&json!({"title": "late but fine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "it migrated the database and serves");
    drop(backend);
}

#[tokio::test]
async fn start_up_gives_up_with_a_clear_error_when_the_database_never_comes() {
    let cluster = private_cluster();
    let url = cluster.url_for("postgres");
    cluster.stop();
    let settings = backend_api::Settings {
        db_wait: Duration::from_secs(1),
        ..test_settings(&url)
    };
    let started = Instant::now();
    let err = spawn_backend_with(settings)
        .err()
        .expect("no database, no server");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the wait is bounded"
    );
    assert!(err.contains("not reachable after"), "{err}");
}

#[tokio::test]
async fn the_database_stopped_while_serving_gives_503_then_recovers_without_a_restart() {
    let cluster = private_cluster();
    let db = TestDatabase::migrated_on(&cluster.admin_url());
    let settings = backend_api::Settings {
        pool_timeout: Duration::from_millis(500),
        ..test_settings(db.url())
    };
    let backend = spawn_backend_with(settings).unwrap();
    let client = reqwest::Client::new();
    let created: Task = client
        .post(backend.url("/api/tasks"))
        .json(&json!({"title": "survivor"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = backend.url(&format!("/api/tasks/{}", created.id));

    cluster.stop();
    for (method, url) in [
        (Method::GET, item.clone()),
        (Method::GET, backend.url("/api/tasks")),
        (Method::POST, backend.url("/api/tasks")),
    ] {
        let started = Instant::now();
        let res = client
            .request(method.clone(), &url)
            .json(&json!({"title": "while down"}))
            .send()
            .await
            .unwrap();
        let body = expect_error(res, 503).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "fails fast, within the pool timeout"
        );
        assert!(
            !body["error"].as_str().unwrap().contains("127.0.0.1"),
            "no internals leak: {body}"
        );
    }
    let started = Instant::now();
    let health = client.get(backend.url("/health")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "liveness answers within a probe's timeout"
    );
    assert_eq!(
        health.status(),
        200,
        "liveness never fails because of the database"
    );
    assert_eq!(
        health.json::<Value>().await.unwrap()["database"],
        "unhealthy"
    );
    expect_error(client.get(backend.url("/ready")).send().await.unwrap(), 503).await;

    cluster.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    let recovered = loop {
        let res = client.get(&item).send().await.unwrap();
        if res.status() == 200 {
            break res.json::<Task>().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no recovery within 15 s (last status {})",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(recovered, created, "same data, same server");
    assert_eq!(
        client
            .get(backend.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = client
        .post(backend.url("/api/tasks"))
        .json(&json!({"title": "after"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    drop(backend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_pool_get_503_after_the_pool_timeout_and_nothing_hangs() {
    crate::support::init_logs();
    let db = TestDatabase::migrated();
    let settings = backend_api::Settings {
        pool_size: 1,
        pool_timeout: Duration::from_millis(300),
        ..test_settings(db.url())
    };
    let backend = spawn_backend_with(settings).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Another session locks the table, so the first request holds the only connection, waiting.
    let mut locker = db.connect();
    diesel::connection::SimpleConnection::batch_execute(
        &mut locker,
        "BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE",
    )
    .unwrap();
    let slow = tokio::spawn(client.get(backend.url("/api/tasks")).send());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let res = client.get(backend.url("/api/tasks")).send().await.unwrap();
    let waited = started.elapsed();
    expect_error(res, 503).await;
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );

    diesel::connection::SimpleConnection::batch_execute(&mut locker, "COMMIT").unwrap();
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(
        slow.status(),
        200,
        "the waiting request completes once the lock is gone"
    );
    let res = client.get(backend.url("/api/tasks")).send().await.unwrap();
    assert_eq!(res.status(), 200, "healthy afterwards");
    drop(backend);
}
