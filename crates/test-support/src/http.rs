//! The HTTP client of the tests: bounded in time, so that a service that hangs fails its test instead of
//! hanging the run (reqwest has no timeout of its own).

use std::time::Duration;

/// Longer than any wait a test provokes on purpose (the 10 s body deadline, a 3 MB page under load).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client builder with [`REQUEST_TIMEOUT`], for a test that sets more (redirects, cookies).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().timeout(REQUEST_TIMEOUT)
}

/// A client with [`REQUEST_TIMEOUT`].
pub fn client() -> reqwest::Client {
    client_builder().build().expect("a reqwest client")
}
