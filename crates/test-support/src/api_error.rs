//! The one check of the API's error contract, for both kinds of client tests use: the documented
//! status, `Content-Type: application/json`, and a body `{"error": "<non-empty text>"}`.

use serde_json::Value;

use crate::raw_http::RawResponse;

/// Asserts the contract on a reqwest answer; returns the body.
pub async fn expect_error(res: reqwest::Response, status: u16) -> Value {
    let what = format!("{}", res.url());
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = res.text().await.expect("a body");
    check(&what, (got, status), content_type.as_deref(), &text)
}

/// Asserts the contract on a raw answer (`what` names the request in the messages); returns the body.
#[track_caller]
pub fn expect_raw_error(res: &RawResponse, status: u16, what: &str) -> Value {
    check(
        what,
        (res.status, status),
        res.header("content-type"),
        &res.text(),
    )
}

#[track_caller]
fn check(what: &str, (got, status): (u16, u16), content_type: Option<&str>, text: &str) -> Value {
    assert_eq!(got, status, "unexpected status for {what}: {text}");
    assert_eq!(
        content_type,
        Some("application/json"),
        "{what}: error bodies are JSON"
    );
    let body: Value = serde_json::from_str(text).expect("a JSON body");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: no error message in {body}"
    );
    body
}
