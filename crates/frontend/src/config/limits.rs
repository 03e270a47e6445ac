//! The bounds that keep one client, or many, from exhausting the frontend. Each value is documented with
//! its reason in docs/RELIABILITY.md ("Limits and bounds", "Frontend"); this is the one place it is set.

use std::time::Duration;

/// Largest request body read (a form or an `/api` body): 413 above it. A form carries at most a
/// 255-character title and a 10,000-character description; URL-encoded multi-byte text takes up to
/// 12 bytes per character, so this leaves room without inviting floods. (The backend itself refuses
/// `/api` bodies over 64 KiB.)
pub const BODY_LIMIT: usize = 256 * 1024;

/// How long a client may take to send a whole body once its head has arrived: the backend's own 10 s
/// (`task_types::limits::BODY_DEADLINE`), so a request gets the same deadline through either door. 408 after that.
pub const BODY_DEADLINE: Duration = task_types::limits::BODY_DEADLINE;

/// Bodies being received or handled at once. 64 × [`BODY_LIMIT`] = 16 MiB at most, an eighth of the pod's
/// 128 MiB; past it the answer is 503 with `Retry-After` at once, nothing waits in a queue.
pub const MAX_UPLOADS: usize = 64;

/// What the `Retry-After` header of a 503 "busy" answer says, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// The most JSON the list page reads from the backend for one page: 100 rows (the largest page) of
/// 10,000 ordinary characters take about 1 MB. Past it (descriptions of control characters, escaped
/// as `\u0001`, take six bytes each) the page shows an error that suggests a smaller page.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;

/// The most JSON read from the backend for one task (the edit and delete pages, a form's answer): a
/// 255-character title and 10,000 characters of description take about 60 KB even when every character is
/// escaped as `\u0001`. A larger row (written past the API, in the database) gets an error page instead.
pub const TASK_BYTES: usize = 128 * 1024;

/// List pages fetched and rendered at once: each holds up to [`PAGE_BYTES`] of JSON and a few copies of
/// the rows (parsed, rendered, in the page), so 4 keep the worst case near 40 MiB. Others wait their turn.
pub const LIST_RENDERS: usize = 4;

/// How long a list page waits for its turn before it answers 503 "busy" with `Retry-After`.
pub const LIST_WAIT: Duration = Duration::from_secs(5);

/// The list's URL: a bookmarkable view, not a dump. Past these the page is a 400 that names the parameter.
pub const MAX_PER_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1_000_000;
/// Longer searches are not a real search; the backend would take up to 1,000 characters, the URL should not.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Calls to the backend: a stuck backend costs a page seconds, then a 503 page, never a worker for ever.
pub const BACKEND_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const BACKEND_TIMEOUT: Duration = Duration::from_secs(5);
/// The backend's `/health` answers from a live process at once; waiting longer only delays our own.
pub const BACKEND_HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// The `/api` pass-through streams a backend page (at most about 3 MiB, the backend's page bound) to clients
/// that may read slowly; the whole exchange still ends after this, so a reader that stalls cannot hold a
/// backend connection for ever.
pub const PASS_THROUGH_TIMEOUT: Duration = Duration::from_secs(120);

/// The body deadline and upload cap a server runs with: the constants above, shortened by tests that
/// check them without waiting 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub body_deadline: Duration,
    pub max_uploads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_deadline: BODY_DEADLINE,
            max_uploads: MAX_UPLOADS,
        }
    }
}
