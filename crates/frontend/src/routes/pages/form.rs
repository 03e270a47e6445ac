//! The forms' fields, what a refused add or edit form shows again, and how a refusal is told.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use service_kit::request_log::bounded;
use service_kit::urlencoded::first_not_utf8;
use task_types::limits;
use task_types::{Priority, Task};

use crate::backend::BackendError;
use crate::cookies::csrf;
use crate::error::PageError;
use crate::state::AppState;

/// A form that carries the CSRF token in its [`csrf::FIELD`].
pub trait CarriesToken {
    fn csrf_token(&self) -> &str;
}

/// A form from one of this site's pages whose token is the one of a session cookie it came with. Read
/// like `web::Form` (same limits and error pages); another site's form or a bad or missing token is the
/// 403 "Form expired" page, and escapes that are not UTF-8 are a 400 page.
pub struct Checked<T>(pub T);

impl<T> Deref for Checked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + CarriesToken + 'static> FromRequest for Checked<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The body is already in memory (http::body read it under its limits).
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await?;
            if first_not_utf8(&body).is_some() {
                return Err(PageError::BadRequest(
                    "The form's text is not UTF-8, so nothing was changed.".to_owned(),
                )
                .into());
            }
            let form = web::Form::<T>::from_request(&req, &mut Payload::from(body))
                .await?
                .into_inner();
            let state = req
                .app_data::<web::Data<AppState>>()
                .expect("the app has its state");
            let problem = if !csrf::is_same_origin(&req) {
                "sent from another site"
            } else if !csrf::is_valid(&req, &state.cookie_key, form.csrf_token()) {
                "CSRF token missing or not from this session"
            } else {
                return Ok(Checked(form));
            };
            log::warn!(
                "refused {} {}: {problem}",
                req.method(),
                bounded(req.path())
            );
            Err(PageError::Csrf.into())
        })
    }
}

/// The fields of the add and edit forms, all as text so that nothing a browser (or anyone) can
/// send fails before it is checked and answered with a page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskForm {
    csrf_token: String,
    pub title: String,
    #[serde(deserialize_with = "lf_line_breaks")]
    pub description: String,
    priority: String,
    pub completed: Option<String>,
    pub back: Option<String>,
}

/// A textarea's text with its line breaks as LF: browsers send each as CRLF, which would change a
/// description saved unchanged, and count twice against its length bound. (A CR the API stored is
/// sent back as CRLF too, so it becomes LF: a form cannot tell them apart.)
fn lf_line_breaks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(match text.contains('\r') {
        true => text.replace("\r\n", "\n"),
        false => text,
    })
}

/// The toggle and delete forms.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
    pub completed: Option<String>,
    pub back: Option<String>,
}

impl CarriesToken for TaskForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl CarriesToken for ActionForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// What a form shows: the input as typed (or the task's values, or a new task's defaults).
#[derive(Debug, Default, Serialize)]
pub struct FormState {
    title: String,
    description: String,
    priority: String,
    completed: bool,
}

impl FormState {
    /// The add form of a new task.
    pub fn blank() -> Self {
        FormState {
            priority: Priority::Medium.as_str().to_owned(),
            ..FormState::default()
        }
    }

    /// The edit form of `task`.
    pub fn of(task: &Task) -> Self {
        FormState {
            title: task.title.clone(),
            description: task.description.clone(),
            priority: task.priority.as_str().to_owned(),
            completed: task.completed,
        }
    }
}

/// The messages of a refused form, by field.
#[derive(Debug, Default, Serialize)]
pub struct FormErrors {
    title: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    /// A refusal that names no field.
    form: Option<String>,
}

impl FormErrors {
    /// Puts the backend's message next to the field it names.
    fn from_rejection(message: String, field: Option<&str>) -> Self {
        let mut errors = FormErrors::default();
        match field {
            Some("title") => errors.title = Some(message),
            Some("description") => errors.description = Some(message),
            Some("priority") => errors.priority = Some(message),
            _ => errors.form = Some(message),
        }
        errors
    }
}

/// A refused form: shown again with this status.
pub struct Refusal {
    pub status: StatusCode,
    pub errors: FormErrors,
}

impl TaskForm {
    pub fn state(&self) -> FormState {
        FormState {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: self.priority.clone(),
            completed: self.completed.is_some(),
        }
    }

    /// The form's own checks, of what cannot reach the backend as a field error: a text over its bound
    /// (the JSON could pass the backend's body limit, answered without a field) and an unknown priority
    /// (the API's types cannot even carry one). Passed, it gives the priority.
    pub fn checked_priority(&self) -> Result<Priority, Refusal> {
        let mut errors = FormErrors {
            title: limits::title_length_error(&self.title),
            description: limits::description_length_error(&self.description),
            ..FormErrors::default()
        };
        let priority = self.priority.parse::<Priority>();
        if priority.is_err() {
            errors.priority = Some("Choose a priority: low, medium or high.".to_owned());
        }
        match priority {
            Ok(priority) if errors.title.is_none() && errors.description.is_none() => Ok(priority),
            _ => Err(Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            }),
        }
    }
}

/// Turns the backend's refusal of the input into a form refusal; other failures stay page errors.
pub fn refusal(err: BackendError) -> Result<Refusal, PageError> {
    match err {
        BackendError::Rejected {
            status,
            message,
            field,
        } => Ok(Refusal {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            errors: FormErrors::from_rejection(message, field.as_deref()),
        }),
        other => Err(other.into()),
    }
}
