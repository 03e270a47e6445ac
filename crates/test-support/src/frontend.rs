//! The real frontend server, in-process on port 0, in front of a backend URL; and [`Browser`], an
//! HTTP client that keeps cookies and reads CSRF tokens from pages the way a browser would.

use std::collections::BTreeMap;

use frontend::config::Settings;
use frontend::startup::{Application, ServerHandle};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

/// A running frontend. Dropping it leaves the server running until the test's runtime ends;
/// call [`TestFrontend::stop`] to take it down earlier.
pub struct TestFrontend {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    pub port: u16,
    handle: ServerHandle,
}

impl TestFrontend {
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// Starts the real frontend on 127.0.0.1:0, talking to the backend at `backend_url`, with the
/// fixed test key of [`Settings::for_tests`] (so two of them accept each other's forms).
/// Call it inside a tokio runtime (`#[tokio::test]`).
pub async fn spawn_frontend(backend_url: &str) -> TestFrontend {
    spawn_frontend_with(Settings::for_tests(backend_url)).await
}

/// Starts the real frontend with these settings (port 0 is bound to a free port).
pub async fn spawn_frontend_with(settings: Settings) -> TestFrontend {
    let app = Application::build(&settings).expect("the frontend starts on a free port");
    let port = app.port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestFrontend { url: format!("http://127.0.0.1:{port}"), port, handle }
}

/// One browser session against a frontend: cookies are kept, redirects are not followed (tests
/// check them), and the CSRF token of the last page with a form is remembered.
pub struct Browser {
    base_url: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    csrf_token: Option<String>,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.header(LOCATION.as_str())
    }

    /// The `value` of the first hidden input named `name`.
    pub fn hidden_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }
}

impl Browser {
    pub fn new(base_url: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a reqwest client");
        Browser { base_url: base_url.trim_end_matches('/').to_owned(), client, cookies: BTreeMap::new(), csrf_token: None }
    }

    /// `GET path`; remembers the page's CSRF token if it has a form.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.with_cookies(self.client.get(self.url(path)));
        let page = self.read(request.send().await.expect("the frontend answers")).await;
        if let Some(token) = page.hidden_value("csrf_token") {
            self.csrf_token = Some(token);
        }
        page
    }

    /// Submits a form with the session's CSRF token (from the last page seen) added.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token.clone().expect("open a page with a form before submitting one");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// POSTs exactly these fields (no token added): for forged and broken submissions.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.with_cookies(self.client.post(self.url(path)).form(fields));
        self.read(request.send().await.expect("the frontend answers")).await
    }

    /// POSTs a raw body with a content type.
    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Page {
        let request = self.client.post(self.url(path)).header("content-type", content_type).body(body);
        let request = self.with_cookies(request);
        self.read(request.send().await.expect("the frontend answers")).await
    }

    /// Follows a redirect page with a GET, as a browser does after a form.
    pub async fn follow(&mut self, redirect: &Page) -> Page {
        assert_eq!(redirect.status, StatusCode::SEE_OTHER, "expected a redirect, got {redirect:?}");
        let location = redirect.location().expect("a redirect has a Location").to_owned();
        self.get(&location).await
    }

    /// The session's current CSRF token (to hand to another session in a test).
    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    fn with_cookies(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.cookies.is_empty() {
            return request;
        }
        let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        request.header(COOKIE, header)
    }

    async fn read(&mut self, response: Response) -> Page {
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().expect("a text Set-Cookie");
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            let expired = attributes.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a text body");
        Page { status, headers, body }
    }
}
