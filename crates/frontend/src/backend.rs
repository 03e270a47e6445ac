//! The backend API client: one shared reqwest client (a connection pool), one typed method per
//! backend call, and every backend failure mapped to a [`BackendError`] in one place ([`check`]).

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use service_kit::request_log;
use task_types::{ErrorBody, ListQuery, NewTask, Task, TaskPatch};
use uuid::Uuid;

use crate::config::limits;

/// What went wrong talking to the backend, in the terms the pages need.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No answer (refused, timed out) or the backend said it cannot serve now (502/503/504).
    #[error("the task service is unavailable: {0}")]
    Unavailable(String),
    /// 404: the task does not exist (any more).
    #[error("task not found")]
    NotFound,
    /// The backend refused the input (400, 413, 415, 422), with its message and the field at fault.
    #[error("rejected ({status}): {message}")]
    Rejected {
        status: u16,
        message: String,
        field: Option<String>,
    },
    /// Anything else: a 5xx, or an answer that is not the documented JSON.
    #[error("unexpected answer from the task service: {0}")]
    Unexpected(String),
    /// A list answer larger than [`limits::PAGE_BYTES`]: the page does not show it.
    #[error("the task list takes more than {} bytes", limits::PAGE_BYTES)]
    PageTooLarge,
    /// A task answer larger than [`limits::TASK_BYTES`]: no page shows it.
    #[error("the task takes more than {} bytes", limits::TASK_BYTES)]
    TaskTooLarge,
}

/// One page of tasks and how many match the filters in all (`X-Total-Count`).
#[derive(Debug, Clone)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    pub total: u64,
    /// The backend stopped the page before `limit` tasks to keep it under its byte bound
    /// (`X-Page-Truncated: true`): the tasks after these start at `offset + tasks.len()`.
    pub truncated: bool,
    /// Every task and the completed ones, whatever the filters, when asked for (`counts`).
    pub counts: Option<Counts>,
}

/// `X-Count-All` and `X-Count-Completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub all: u64,
    pub completed: u64,
}

/// The backend API at one base URL. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Backend {
    client: reqwest::Client,
    base_url: String,
}

impl Backend {
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(limits::BACKEND_CONNECT_TIMEOUT)
            .timeout(limits::BACKEND_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(30))
            // Redirects belong to the browser (the /api pass-through returns them as they are).
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Backend {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /api/tasks` with filters, sort and paging.
    pub async fn list_tasks(&self, request: &ListQuery) -> Result<TaskList, BackendError> {
        let response = check(self.get("/api/tasks").query(&request.to_pairs())).await?;
        // Header names match case-insensitively; a missing or non-numeric count is not the documented answer.
        let count = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    BackendError::Unexpected(format!("{name} missing from the task list"))
                })
        };
        let total = count("X-Total-Count")?;
        let counts = match request.counts {
            true => Some(Counts {
                all: count("X-Count-All")?,
                completed: count("X-Count-Completed")?,
            }),
            false => None,
        };
        let truncated = response
            .headers()
            .get("x-page-truncated")
            .is_some_and(|v| v.as_bytes() == b"true");
        let body = read_at_most(response, limits::PAGE_BYTES, BackendError::PageTooLarge).await?;
        let tasks = serde_json::from_slice(&body)
            .map_err(|e| BackendError::Unexpected(format!("undocumented JSON: {e}")))?;
        Ok(TaskList {
            tasks,
            total,
            truncated,
            counts,
        })
    }

    /// `GET /api/tasks/{id}`.
    pub async fn get_task(&self, id: Uuid) -> Result<Task, BackendError> {
        json(check(self.get(&format!("/api/tasks/{id}"))).await?).await
    }

    /// `POST /api/tasks`.
    pub async fn create_task(&self, task: &NewTask) -> Result<Task, BackendError> {
        let request = self.request(Method::POST, "/api/tasks").json(task);
        json(check(request).await?).await
    }

    /// `PATCH /api/tasks/{id}`.
    pub async fn update_task(&self, id: Uuid, patch: &TaskPatch) -> Result<Task, BackendError> {
        let request = self
            .request(Method::PATCH, &format!("/api/tasks/{id}"))
            .json(patch);
        json(check(request).await?).await
    }

    /// `DELETE /api/tasks/{id}`.
    pub async fn delete_task(&self, id: Uuid) -> Result<(), BackendError> {
        let request = self.request(Method::DELETE, &format!("/api/tasks/{id}"));
        check(request).await.map(drop)
    }

    /// Whether the backend process answers `GET /health` with 200.
    pub async fn is_healthy(&self) -> bool {
        let request = self.get("/health").timeout(limits::BACKEND_HEALTH_TIMEOUT);
        matches!(request.send().await, Ok(r) if r.status() == StatusCode::OK)
    }

    /// Sends a request as it came (the `/api` pass-through). Only a missing answer is an error:
    /// every status the backend gives goes back to the caller unchanged.
    pub async fn forward(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
    ) -> Result<Response, BackendError> {
        // The frontend's id replaces the client's raw one, which the frontend may have found unfit.
        if let Some(id) = request_log::current().and_then(|id| id.parse().ok()) {
            headers.insert(request_log::REQUEST_ID_HEADER, id);
        }
        let request = self
            .client
            .request(method, self.url(path_and_query))
            .headers(headers)
            .timeout(limits::PASS_THROUGH_TIMEOUT)
            .body(body);
        send(request).await.map_err(unreachable)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::GET, path)
    }

    /// Every call but the pass-through starts here, so every call carries the request id.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        with_request_id(self.client.request(method, self.url(path)))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// `X-Request-Id` of the request being served (service_kit's), so that the backend logs the same id.
fn with_request_id(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match request_log::current() {
        Some(id) => request.header(request_log::REQUEST_ID_HEADER, id),
        None => request,
    }
}

/// Sends `request`. A read (GET or HEAD) that fails before any answer, on a pooled connection the backend
/// closed as the request went out, is sent once more: a backend pod that shuts down closes its idle
/// keep-alive connections at once, so the request reached no handler, and a read changes nothing. Writes are
/// never repeated, and neither is a timeout (the deadline is the whole exchange's).
async fn send(request: RequestBuilder) -> Result<Response, reqwest::Error> {
    let (client, request) = request.build_split();
    let request = request?;
    let again = match *request.method() {
        Method::GET | Method::HEAD => request.try_clone(),
        _ => None,
    };
    match (client.execute(request).await, again) {
        (Err(e), Some(again)) if e.is_request() && !e.is_timeout() => client.execute(again).await,
        (sent, _) => sent,
    }
}

/// The one place where a backend answer (or its absence) becomes a [`BackendError`].
async fn check(request: RequestBuilder) -> Result<Response, BackendError> {
    let response = send(request).await.map_err(unreachable)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body: Option<ErrorBody> =
        read_at_most(response, limits::TASK_BYTES, BackendError::TaskTooLarge)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok());
    let message = body
        .as_ref()
        .map(|b| b.error.clone())
        .unwrap_or_else(|| status.to_string());
    Err(match status {
        StatusCode::NOT_FOUND => BackendError::NotFound,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            BackendError::Unavailable(message)
        }
        s if s.is_client_error() => BackendError::Rejected {
            status: s.as_u16(),
            message,
            field: body.and_then(|b| b.field),
        },
        s => BackendError::Unexpected(format!("{s}: {message}")),
    })
}

fn unreachable(err: reqwest::Error) -> BackendError {
    let what = if err.is_timeout() {
        "timed out"
    } else {
        "no answer"
    };
    BackendError::Unavailable(format!("{what}: {err}"))
}

/// The answer's body, refused with `too_large` once it passes `limit` bytes (before all of it is held).
async fn read_at_most(
    mut response: Response,
    limit: usize,
    too_large: BackendError,
) -> Result<Vec<u8>, BackendError> {
    let declared = response.content_length().unwrap_or(0);
    if declared > limit as u64 {
        return Err(too_large);
    }
    // The declared length is at most `limit` here: room for the whole answer at once.
    let mut body = Vec::with_capacity(declared as usize);
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A one-task answer, read up to [`limits::TASK_BYTES`].
async fn json<T: DeserializeOwned>(response: Response) -> Result<T, BackendError> {
    let body = read_at_most(response, limits::TASK_BYTES, BackendError::TaskTooLarge).await?;
    serde_json::from_slice(&body)
        .map_err(|e| BackendError::Unexpected(format!("undocumented JSON: {e}")))
}
