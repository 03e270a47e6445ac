//! The test process's logger: env_logger into the test's captured output (shown when a test fails), and on
//! demand a copy of each line for a test to read ([`record`]), e.g. an in-process server's access log.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use log::{LevelFilter, Log, Metadata, Record};

/// Installs the logger at `level` (`RUST_LOG` overrides it). One logger per test binary: the first call
/// wins, later ones do nothing.
pub fn init_logs(level: LevelFilter) {
    let inner = env_logger::Builder::new()
        .is_test(true)
        .filter_level(level)
        .parse_default_env()
        .build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Recorder { inner })).is_ok() {
        log::set_max_level(max);
    }
}

/// Lines logged while at least one [`Recording`] is alive (none otherwise, so that a test binary does
/// not keep every line of every test).
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static RECORDERS: AtomicUsize = AtomicUsize::new(0);

struct Recorder {
    inner: env_logger::Logger,
}

impl Log for Recorder {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if !self.inner.matches(record) {
            return;
        }
        if RECORDERS.load(Ordering::SeqCst) > 0 {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            LINES.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
        self.inner.log(record);
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Starts keeping log lines (installing the logger at `info` if none is installed yet). Lines logged by
/// other tests of the binary meanwhile are kept too: look for what is yours (a unique request id).
pub fn record() -> Recording {
    init_logs(LevelFilter::Info);
    assert!(
        log::max_level() >= LevelFilter::Info,
        "the test logger was installed below info: run with RUST_LOG=info"
    );
    RECORDERS.fetch_add(1, Ordering::SeqCst);
    Recording(())
}

/// Keeps log lines while alive; the lines stay readable until the last recording ends.
pub struct Recording(());

impl Recording {
    /// Every kept line that contains `text`.
    pub fn lines_containing(&self, text: &str) -> Vec<String> {
        let lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().filter(|l| l.contains(text)).cloned().collect()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if RECORDERS.fetch_sub(1, Ordering::SeqCst) == 1 {
            LINES.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}
