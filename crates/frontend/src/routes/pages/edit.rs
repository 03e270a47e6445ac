//! `GET /tasks/{id}/edit`: a task's own page, with its edit form; `POST` saves the changes.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use task_types::{Task, TaskPatch};

use super::form::{refusal, Checked, FormErrors, FormState, TaskForm};
use super::{back_to_list, BackLinks, BackParam, TaskId};
use crate::error::{PageError, PageResult};
use crate::render::view::{human_time, page, TaskView};
use crate::state::AppState;

/// What a task's own page (this one, and the delete confirmation) is drawn from: the task its path
/// names (404 when there is none) and the list view to return to (`?back=`).
pub struct TaskPage {
    pub(super) req: HttpRequest,
    pub(super) state: web::Data<AppState>,
    pub(super) task: Task,
    pub(super) back: Option<String>,
}

impl FromRequest for TaskPage {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = web::Data::<AppState>::extract(&req).await?;
            let TaskId(id) = TaskId::extract(&req).await?;
            let back = web::Query::<BackParam>::extract(&req)
                .await?
                .into_inner()
                .back;
            let task = state.backend.get_task(id).await.map_err(PageError::from)?;
            Ok(TaskPage {
                req,
                state,
                task,
                back,
            })
        })
    }
}

/// `edit.html`'s context.
#[derive(Serialize)]
struct EditPage {
    task: TaskView,
    /// Only this page shows when a task last changed.
    updated: String,
    updated_iso: String,
    form: FormState,
    errors: FormErrors,
    #[serde(flatten)]
    back: BackLinks,
}

/// The form, filled in from the task.
pub async fn edit_form(shown: TaskPage) -> HttpResponse {
    let form = FormState::of(&shown.task);
    edit_page(
        &shown.req,
        &shown.state,
        &shown.task,
        form,
        FormErrors::default(),
        shown.back.as_deref(),
        StatusCode::OK,
    )
}

/// Saves the changes; a refusal shows the form again as typed.
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Checked<TaskForm>,
    TaskId(id): TaskId,
) -> PageResult {
    let refused = match form.checked_priority() {
        Err(refused) => refused,
        Ok(priority) => {
            let patch = TaskPatch {
                title: Some(form.title.clone()),
                description: Some(Some(form.description.clone())),
                priority: Some(priority),
                completed: Some(form.completed.is_some()),
                ..TaskPatch::default()
            };
            match state.backend.update_task(id, &patch).await {
                Ok(task) => {
                    return Ok(back_to_list(
                        &state,
                        form.back.as_deref(),
                        format!("Task \"{}\" updated!", task.title),
                    ))
                }
                Err(err) => refusal(err)?,
            }
        }
    };
    let task = state.backend.get_task(id).await?;
    Ok(edit_page(
        &req,
        &state,
        &task,
        form.state(),
        refused.errors,
        form.back.as_deref(),
        refused.status,
    ))
}

fn edit_page(
    req: &HttpRequest,
    state: &AppState,
    task: &Task,
    form: FormState,
    errors: FormErrors,
    back: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let context = EditPage {
        task: TaskView::from(task),
        updated: human_time(&task.updated_at),
        updated_iso: task.updated_at.to_rfc3339(),
        form,
        errors,
        back: BackLinks::to(back),
    };
    page(req, &state.cookie_key, status, "edit.html", &context)
}
