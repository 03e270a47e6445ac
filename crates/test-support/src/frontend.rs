//! The real frontend server, in-process on 127.0.0.1 and a free port, in front of a backend URL;
//! and [`Browser`], an HTTP client that keeps cookies and reads CSRF tokens from pages the way a
//! browser does.
//!
//! ```no_run
//! use test_support::frontend::{spawn_frontend, Browser};
//! # async fn example(backend_url: &str) {
//! let frontend = spawn_frontend(backend_url);
//! let mut browser = Browser::new(&frontend.base_url);
//! let page = browser.get("/").await;
//! # }
//! ```
//!
//! Like the backend, the server runs on its own thread with its own actix `System`, so it works
//! from sync tests and from any async runtime.

use std::collections::BTreeMap;

use frontend::config::Settings;
use frontend::startup::Application;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

use crate::server_thread::ServerThread;

/// A running frontend. Dropping it stops the server.
pub struct SpawnedFrontend {
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base_url: String,
    pub port: u16,
    /// Where `/metrics` is served (a port of its own).
    pub metrics_port: u16,
    server: ServerThread,
}

impl SpawnedFrontend {
    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.server.stop();
    }
}

/// Starts the real frontend in front of the backend at `backend_url`, with the fixed test key of
/// [`Settings::local`] (so two of them accept each other's forms, as replicas do).
pub fn spawn_frontend(backend_url: &str) -> SpawnedFrontend {
    spawn_frontend_with(Settings::local(backend_url))
        .unwrap_or_else(|e| panic!("frontend did not start: {e}"))
}

/// [`spawn_frontend`] with settings of your own; returns once the server accepts connections.
pub fn spawn_frontend_with(settings: Settings) -> Result<SpawnedFrontend, String> {
    let ((address, metrics_address), server) = ServerThread::spawn("test-frontend", move || {
        let app = Application::build(&settings).map_err(|e| e.to_string())?;
        Ok((
            (app.address(), app.metrics_address()),
            app.handle(),
            app.run(),
        ))
    })?;
    let (port, metrics_port) = (address.port(), metrics_address.port());
    Ok(SpawnedFrontend {
        base_url: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port,
        server,
    })
}

/// One browser session against a frontend: cookies are kept, redirects are not followed (tests
/// check them), and the CSRF token of the last page with a form is remembered.
#[derive(Clone)]
pub struct Browser {
    base_url: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    csrf_token: Option<String>,
    /// Sent with every request (e.g. the `X-Forwarded-Proto` of a TLS proxy).
    extra_headers: Vec<(String, String)>,
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
        let client = crate::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a reqwest client");
        Browser {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
            cookies: BTreeMap::new(),
            csrf_token: None,
            extra_headers: Vec::new(),
        }
    }

    /// This session, sending `name: value` with every request from now on.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `GET path`; remembers the page's CSRF token if it has a form.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.with_cookies(self.client.get(self.url(path)));
        let page = self
            .read(request.send().await.expect("the frontend answers"))
            .await;
        if let Some(token) = page.hidden_value("csrf_token") {
            self.csrf_token = Some(token);
        }
        page
    }

    /// Submits a form with the session's CSRF token (from the last page seen) added.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self
            .csrf_token
            .clone()
            .expect("open a page with a form before submitting one");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// Submits the add form (`POST /tasks`) with these fields.
    pub async fn add_task(&mut self, fields: &[(&str, &str)]) -> Page {
        self.submit("/tasks", fields).await
    }

    /// Submits a form, checks that it redirects, and opens the page it redirects to.
    pub async fn submit_and_follow(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let redirect = self.submit(path, fields).await;
        self.follow(&redirect).await
    }

    /// POSTs exactly these fields (no token added): for forged and broken submissions.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.with_cookies(self.client.post(self.url(path)).form(fields));
        self.read(request.send().await.expect("the frontend answers"))
            .await
    }

    /// POSTs a raw body with a content type.
    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Page {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        let request = self.with_cookies(request);
        self.read(request.send().await.expect("the frontend answers"))
            .await
    }

    /// Follows a redirect page with a GET, as a browser does after a form.
    pub async fn follow(&mut self, redirect: &Page) -> Page {
        assert_eq!(
            redirect.status,
            StatusCode::SEE_OTHER,
            "expected a redirect, got {redirect:?}"
        );
        let location = redirect
            .location()
            .expect("a redirect has a Location")
            .to_owned();
        self.get(&location).await
    }

    /// The same session (cookies and CSRF token) against another frontend: a second replica.
    pub fn on(&self, base_url: &str) -> Browser {
        Browser {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..self.clone()
        }
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

    fn with_cookies(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (name, value) in &self.extra_headers {
            request = request.header(name, value);
        }
        if self.cookies.is_empty() {
            return request;
        }
        let header = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
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
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a text body");
        Page {
            status,
            headers,
            body,
        }
    }
}
