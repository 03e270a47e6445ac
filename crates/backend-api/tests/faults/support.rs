//! The record of every request a fault test sent, and the database's view of what was written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;
use test_support::postgres::TestDatabase;

/// The JSON answer to `request`, which must arrive.
pub async fn answer_json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    let res = request.send().await.expect("an answer");
    res.json().await.expect("a JSON answer")
}

/// The real binary, for the tests that signal it.
pub const BACKEND_BIN: &str = env!("CARGO_BIN_EXE_backend-api");

/// The start of every fault test: warnings logged, and one fault test at a time: each loads the machine on
/// purpose, and its timings (recovery within 2 s, the pool timeout) should measure the backend, not a
/// sibling test's load. Hold the guard for the whole test.
/// (An async mutex: it works across the tests' separate runtimes and a failed test does not poison it.)
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    test_support::init_logs(log::LevelFilter::Warn);
    SERIAL.lock().await
}

/// A client with a bound on every request, so that a hung request fails the test instead of hanging it.
pub fn client() -> reqwest::Client {
    // Tighter than the harness's 30 s: a request of a fault test that hangs ends as an error after 10 s.
    test_support::http::client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// What happened to one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The unique title of the task it tried to create (empty for reads).
    pub title: String,
    /// When it was sent, from the start of the test.
    pub sent: Duration,
    /// When its answer was complete.
    pub done: Duration,
    /// The HTTP status, or the transport error when there was no answer.
    pub result: Result<u16, String>,
    /// For error statuses: whether the body was a JSON `{"error": ...}`.
    pub json_error: bool,
}

/// Every outcome of a test, shared by its request tasks.
#[derive(Clone)]
pub struct Ledger {
    start: Instant,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger {
            start: Instant::now(),
            outcomes: Arc::default(),
        }
    }

    /// Time since the test started.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// POSTs a task titled `title` to `url`, records what happened and returns it.
    pub async fn create(
        &self,
        client: &reqwest::Client,
        url: &str,
        title: String,
    ) -> Result<u16, String> {
        let sent = self.now();
        let res = client
            .post(url)
            .json(&json!({ "title": title }))
            .send()
            .await;
        self.record(title, sent, res).await
    }

    /// GETs `url`, records what happened and returns it.
    pub async fn get(&self, client: &reqwest::Client, url: &str) -> Result<u16, String> {
        let sent = self.now();
        let res = client.get(url).send().await;
        self.record(String::new(), sent, res).await
    }

    async fn record(
        &self,
        title: String,
        sent: Duration,
        res: reqwest::Result<reqwest::Response>,
    ) -> Result<u16, String> {
        let (result, json_error) = match res {
            Ok(res) => {
                let status = res.status().as_u16();
                let is_json = res
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v == "application/json");
                match res.bytes().await {
                    Ok(body) => {
                        let body: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        (Ok(status), is_json && body["error"].is_string())
                    }
                    Err(e) => (Err(format!("the answer broke off: {e}")), false),
                }
            }
            Err(e) => (Err(describe(&e)), false),
        };
        let done = self.now();
        self.outcomes.lock().unwrap().push(Outcome {
            title,
            sent,
            done,
            result: result.clone(),
            json_error,
        });
        result
    }

    /// Starts requests at a steady pace, one tick every `every` until `until` on this ledger's clock, whatever the
    /// earlier ones are doing: `start(n, requests)` spawns the n-th tick's requests into `requests`. The handle ends
    /// once every request has.
    pub fn steady_traffic(
        &self,
        every: Duration,
        until: Duration,
        mut start: impl FnMut(u64, &mut Vec<tokio::task::JoinHandle<()>>) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let ledger = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut requests = Vec::new();
            for n in 0.. {
                tick.tick().await;
                if ledger.now() >= until {
                    break;
                }
                start(n, &mut requests);
            }
            for r in requests {
                r.await.unwrap();
            }
        })
    }

    pub fn outcomes(&self) -> Vec<Outcome> {
        let mut all = self.outcomes.lock().unwrap().clone();
        all.sort_by_key(|o| o.sent);
        all
    }
}

/// A transport error, naming whether the request ever reached the server.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() {
        "connect: ".to_owned()
    } else if e.is_timeout() {
        "timeout: ".to_owned()
    } else {
        "after sending: ".to_owned()
    };
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        text.push_str(&format!("{err}; "));
        source = err.source();
    }
    text
}

/// How many rows hold each title: the database's view of which writes happened.
/// A session of the test's own that holds `tasks` (as a restore does), so every query on it waits.
pub fn lock_tasks(db: &TestDatabase) -> diesel::PgConnection {
    use diesel::connection::SimpleConnection;
    let mut locker = db.connect();
    locker
        .batch_execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    locker
}

pub fn rows_by_title(db: &TestDatabase) -> HashMap<String, i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        title: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT title, count(*) AS n FROM tasks GROUP BY title")
        .load::<Row>(&mut db.connect())
        .expect("the tasks table")
        .into_iter()
        .map(|r| (r.title, r.n))
        .collect()
}

/// The checks every write test ends with: each write answered 201 is stored exactly once, no title is
/// stored twice, and nothing else appeared (but the test's own writes outside the ledger, titled `seed...`). Returns how many failed writes were stored all the same
/// (committed just before the connection died, so the client could not be told).
pub fn assert_acknowledged_writes_stored_once(outcomes: &[Outcome], db: &TestDatabase) -> usize {
    let rows = rows_by_title(db);
    let mut ambiguous = 0;
    for o in outcomes.iter().filter(|o| !o.title.is_empty()) {
        let stored = rows.get(&o.title).copied().unwrap_or(0);
        assert!(stored <= 1, "{} is stored {stored} times", o.title);
        match o.result {
            Ok(201) => assert_eq!(
                stored, 1,
                "{} was acknowledged (201) but is not stored",
                o.title
            ),
            _ if stored == 1 => ambiguous += 1,
            _ => {}
        }
    }
    let sent: std::collections::HashSet<&str> = outcomes.iter().map(|o| o.title.as_str()).collect();
    for title in rows.keys() {
        assert!(
            sent.contains(title.as_str()) || title.starts_with("seed"),
            "a task nobody sent: {title}"
        );
    }
    ambiguous
}

/// Every write was answered 201, or (while something was down) a clean 503 with a JSON error.
pub fn assert_created_or_clean_503(outcomes: &[Outcome]) {
    for o in outcomes {
        match o.result {
            Ok(201) => {}
            Ok(503) => assert!(o.json_error, "{o:?}: a 503 with a JSON error"),
            _ => panic!("neither 201 nor a clean 503: {o:?}"),
        }
    }
}

/// When the first write sent at or after `back` was answered 201 (from the start of the test).
pub fn first_created_after(outcomes: &[Outcome], back: Duration) -> Option<Duration> {
    outcomes
        .iter()
        .filter(|o| o.sent >= back && o.result == Ok(201))
        .map(|o| o.done)
        .min()
}

/// Counts outcomes by their status (or "error").
pub fn tally(outcomes: &[Outcome]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for o in outcomes {
        let key = match &o.result {
            Ok(status) => status.to_string(),
            Err(_) => "no answer".to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{v}× {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}
