//! Static assets, embedded in the binary: nothing is read from disk or fetched from a CDN.

use std::sync::LazyLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::HttpResponse;
use sha2::{Digest, Sha256};

const ASSETS: [(&str, &str, &[u8]); 3] = [
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

/// A hash of the assets, put in their URLs (`?v=`) so browsers may cache them while they are
/// unchanged and fetch them again after a release that changes them.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for (_, _, bytes) in ASSETS {
        hash.update(bytes);
    }
    hash.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
});

pub fn version() -> &'static str {
    &VERSION
}

/// The asset called `name` as an answer, if there is one.
pub fn response(name: &str) -> Option<HttpResponse> {
    let (_, content_type, bytes) = ASSETS.iter().find(|(asset, _, _)| *asset == name)?;
    let response = HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, *content_type))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .body(*bytes);
    Some(response)
}
