//! SIGTERM under load: requests in flight when the signal arrives all finish (one of them still sending its
//! body), none is cut off, the process exits 0, and every acknowledged write is stored. The same run checks
//! the binary's access log (one line per request, never the database password) and its `healthcheck`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use test_support::postgres::TestDatabase;
use test_support::process::{free_port, ServiceProcess};

use crate::support::{
    assert_acknowledged_writes_stored_once, client, one_at_a_time, tally, Ledger, BACKEND_BIN,
};

const CLIENTS: usize = 8;
const LOAD_BEFORE: Duration = Duration::from_secs(2);
/// How long the requests in flight are held in the database after SIGTERM.
const HELD_AFTER_SIGTERM: Duration = Duration::from_millis(700);
const LOAD_AFTER: Duration = Duration::from_millis(1500);
/// The request whose body is half sent at the signal, and its id in the log.
const HALF_SENT_BODY: &[u8] = br#"{"title": "seed: in flight during shutdown"}"#;
const HALF_SENT_ID: &str = "inflight-1";

/// `backend-api healthcheck` against `port`: whether it exits 0.
fn healthcheck_passes(port: u16) -> bool {
    Command::new(BACKEND_BIN)
        .arg("healthcheck")
        .env_clear()
        .env("PORT", port.to_string())
        .output()
        .unwrap()
        .status
        .success()
}

/// Sends the head and the first 10 bytes of a POST now, the rest when `rest` says; returns the answer.
fn half_sent_request(
    port: u16,
    rest: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         X-Request-Id: {HALF_SENT_ID}\r\n\r\n",
        HALF_SENT_BODY.len()
    )
    .unwrap();
    stream.write_all(&HALF_SENT_BODY[..10]).unwrap();
    std::thread::spawn(move || {
        rest.recv().unwrap();
        stream.write_all(&HALF_SENT_BODY[10..]).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_after_sigterm_and_none_is_cut_off() {
    let _serial = one_at_a_time().await;
    let db = TestDatabase::migrated();
    let port = free_port();
    // Trust authentication ignores the password, so a made-up one shows whether it leaks into the logs.
    // Both forms libpq takes: in the userinfo and as a `password` query parameter.
    let url = db
        .url()
        .replacen(test_support::postgres::APP_PASSWORD, "hunter2secret", 1);
    assert!(
        url.contains(":hunter2secret@"),
        "the made-up password is in {url}"
    );
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}password=hunter2secret");
    let mut backend = ServiceProcess::start(
        BACKEND_BIN,
        port,
        &[("DATABASE_URL", url.as_str()), ("RUST_LOG", "info")],
    );
    assert!(
        healthcheck_passes(port),
        "healthcheck exits 0 while healthy"
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = client();
    let ledger = Ledger::new();

    // CLIENTS loops, each writing then reading back as fast as it is answered, until told to stop.
    let stop_at = std::sync::Arc::new(std::sync::Mutex::new(Duration::MAX));
    let loops: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (ledger, client, base, stop_at) = (
                ledger.clone(),
                client.clone(),
                base.clone(),
                stop_at.clone(),
            );
            tokio::spawn(async move {
                for n in 0.. {
                    if ledger.now() >= *stop_at.lock().unwrap() {
                        break;
                    }
                    let url = format!("{base}/api/tasks");
                    let wrote = ledger.create(&client, &url, format!("load-{c}-{n}")).await;
                    let read = ledger.get(&client, &format!("{url}?limit=5")).await;
                    if wrote.is_err() || read.is_err() {
                        break; // refused: the server is going away, and this client with it
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(LOAD_BEFORE).await;

    // Hold the table so that the requests in flight stay in flight across the signal.
    let mut locker = db.connect();
    locker
        .batch_execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let (send_rest, rest) = std::sync::mpsc::channel();
    let half_sent = half_sent_request(port, rest);
    tokio::time::sleep(Duration::from_millis(300)).await;
    backend.signal("TERM");
    let sigterm = ledger.now();
    *stop_at.lock().unwrap() = sigterm + LOAD_AFTER;
    tokio::time::sleep(HELD_AFTER_SIGTERM / 2).await;
    send_rest.send(()).unwrap();
    tokio::time::sleep(HELD_AFTER_SIGTERM / 2).await;
    locker.batch_execute("COMMIT").unwrap();
    for l in loops {
        l.await.unwrap();
    }
    let code = tokio::task::spawn_blocking(move || {
        let code = backend.wait_for_exit(Duration::from_secs(30));
        (code, backend.logs())
    })
    .await
    .unwrap();
    let exited = ledger.now();
    assert_eq!(code.0, Some(0), "SIGTERM is a clean exit:\n{}", code.1);
    let response = tokio::task::spawn_blocking(move || half_sent.join().unwrap())
        .await
        .unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request still sending its body at the signal completes: {response:?}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer accepting"
    );
    assert!(
        !healthcheck_passes(port),
        "healthcheck exits 1 when nothing answers"
    );

    let logs = &code.1;
    assert!(
        !logs.contains("hunter2secret"),
        "the password never appears in the logs:\n{logs}"
    );
    let line: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(&format!("request_id={HALF_SENT_ID}")))
        .collect();
    assert_eq!(line.len(), 1, "one line per request:\n{logs}");
    assert!(
        line[0].contains("POST /api/tasks 201") && line[0].contains("ms"),
        "method, path, status, duration: {}",
        line[0]
    );
    assert!(logs.contains("GET /health 200"), "{logs}");

    let outcomes = ledger.outcomes();
    let in_flight: Vec<_> = outcomes
        .iter()
        .filter(|o| o.sent < sigterm && o.done > sigterm)
        .collect();
    assert!(
        in_flight.len() >= CLIENTS,
        "every client had a request in flight at the signal: {}",
        in_flight.len()
    );
    for o in outcomes.iter().filter(|o| o.sent < sigterm) {
        assert!(
            matches!(o.result, Ok(200 | 201)),
            "sent before SIGTERM, so it must finish: {o:?}"
        );
    }
    // After the signal the server stops accepting: a new request may be refused, never cut off.
    let after: Vec<_> = outcomes.iter().filter(|o| o.sent >= sigterm).collect();
    assert!(
        !after.is_empty(),
        "the clients kept sending after the signal"
    );
    for o in &after {
        match &o.result {
            Ok(200 | 201) => {}
            Err(e) if e.starts_with("connect:") => {}
            other => panic!("sent after SIGTERM and cut off or failed: {other:?} ({o:?})"),
        }
    }
    let ambiguous = assert_acknowledged_writes_stored_once(&outcomes, &db);
    assert_eq!(ambiguous, 0, "no write is left half-done");
    println!(
        "SIGTERM under load: {} requests from {CLIENTS} clients ({}); {} in flight at the signal, all \
         finished; after it {} answered and {} refused at connect; exit 0 {} ms after SIGTERM",
        outcomes.len(),
        tally(&outcomes),
        in_flight.len(),
        after.iter().filter(|o| o.result.is_ok()).count(),
        after.iter().filter(|o| o.result.is_err()).count(),
        (exited - sigterm).as_millis(),
    );
}
