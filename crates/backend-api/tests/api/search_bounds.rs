//! Slow searches on real data: cut off by the statement timeout with a 503 the client can retry, and
//! never holding the connections that plain reads need (issue 11, item 2).
//!
//! The data is real: tasks with 4,000-character descriptions, searched for two letters they do not
//! contain, so PostgreSQL must read every description (no index can answer a two-letter substring).

use std::time::{Duration, Instant};

use task_types::Task;
use test_support::backend::{spawn_backend_with, test_settings, SpawnedBackend};
use test_support::postgres::TestDatabase;

use crate::support::expect_error;

const TASKS: usize = 10_000;
/// Hex digits never hold a `z`: every description is read to the end.
const SLOW_SEARCH: &str = "/api/tasks?q=zz";

fn seeded() -> TestDatabase {
    let db = TestDatabase::migrated();
    db.seed_tasks(TASKS, "repeat(md5(i::text), 125)");
    db
}

fn start(db: &TestDatabase, settings: backend_api::Settings) -> SpawnedBackend {
    spawn_backend_with(settings)
        .unwrap_or_else(|e| panic!("backend did not start on {}: {e}", db.name()))
}

#[tokio::test]
async fn a_search_past_the_statement_timeout_answers_503_with_retry_after_and_frees_its_connection()
{
    test_support::init_logs(log::LevelFilter::Info);
    let db = seeded();
    let backend = start(
        &db,
        backend_api::Settings {
            // Tiny on purpose: reading 10,000 descriptions takes far longer.
            statement_timeout: Duration::from_millis(20),
            pool_size: 1,
            ..test_settings(db.url())
        },
    );
    let client = test_support::http::client();

    let res = client.get(backend.url(SLOW_SEARCH)).send().await.unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = expect_error(res, 503).await;
    assert_eq!(retry_after.as_deref(), Some("1"), "says when to retry");
    assert_eq!(body["error"], "Database unavailable, try again later");

    // The only connection of the pool was freed and still works.
    let newest = newest_id(&db);
    let res = client
        .get(backend.url(&format!("/api/tasks/{newest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Task>().await.unwrap().title,
        format!("seed {TASKS}")
    );
}

/// The id of the last task seeded, read behind the API.
fn newest_id(db: &TestDatabase) -> uuid::Uuid {
    use diesel::prelude::*;
    backend_api::db::schema::tasks::table
        .select(backend_api::db::schema::tasks::id)
        .filter(backend_api::db::schema::tasks::title.eq(format!("seed {TASKS}")))
        .first(&mut db.connect())
        .expect("the seeded tasks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_filling_their_budget_leave_connections_for_plain_reads() {
    test_support::init_logs(log::LevelFilter::Info);
    let db = seeded();
    const POOL: u32 = 4;
    let backend = start(
        &db,
        backend_api::Settings {
            pool_size: POOL,
            pool_timeout: Duration::from_millis(300),
            statement_timeout: Duration::from_secs(30),
            ..test_settings(db.url())
        },
    );
    let client = test_support::http::client();
    let one_id = newest_id(&db);

    // Twice as many searches as the pool has connections.
    let started = Instant::now();
    let searches: Vec<_> = (0..2 * POOL)
        .map(|_| {
            let (client, url) = (client.clone(), backend.url(SLOW_SEARCH));
            tokio::spawn(async move {
                let res = client.get(url).send().await.unwrap();
                let status = res.status().as_u16();
                let _ = res.bytes().await;
                (status, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;

    for path in [
        "/api/tasks?limit=5".to_owned(),
        format!("/api/tasks/{one_id}"),
    ] {
        let res = client.get(backend.url(&path)).send().await.unwrap();
        assert_eq!(
            res.status(),
            200,
            "{path} while searches run: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let reads_done = started.elapsed();

    let mut finished = Vec::new();
    for search in searches {
        finished.push(search.await.unwrap());
    }
    println!("plain reads answered after {reads_done:?}; searches (status, done): {finished:?}");
    // Searches that are rejected for want of a connection get the pool's 503; none fails otherwise.
    assert!(
        finished.iter().all(|(s, _)| *s == 200 || *s == 503),
        "{finished:?}"
    );
    let running_meanwhile = finished
        .iter()
        .filter(|(s, done)| *s == 200 && *done > reads_done)
        .count();
    assert!(
        running_meanwhile >= backend_api::db::search_budget(POOL),
        "the searches held their connections while the plain reads ran: {finished:?}"
    );
}

/// The planner picks the trigram indexes once the table is large (the figures are in docs/PERFORMANCE.md);
/// here, with sequential scans off, it shows that they serve the API's very query shape (ILIKE with the
/// default escape, title OR description).
#[test]
fn the_trigram_indexes_serve_the_search_query() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    let db = TestDatabase::migrated();
    db.seed_tasks(100, "'notes on ' || md5(i::text)");
    let mut conn = db.connect();
    conn.batch_execute("SET enable_seqscan = off").unwrap();
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan: Vec<String> = diesel::sql_query(
        "EXPLAIN SELECT count(*) FROM tasks \
         WHERE title ILIKE '%d93591bdf7\\_%' OR description ILIKE '%d93591bdf7\\_%'",
    )
    .load::<Line>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|l| l.line)
    .collect();
    let plan = plan.join("\n");
    for index in ["tasks_title_trgm_idx", "tasks_description_trgm_idx"] {
        assert!(plan.contains(index), "{index} not used:\n{plan}");
    }
}
