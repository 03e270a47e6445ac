//! `POST /tasks/{id}/toggle`: sets `completed` to the value the form names (so a double submit
//! does not flip it back).

use actix_web::web;
use task_types::TaskPatch;

use super::form::{ActionForm, Checked};
use super::{back_to_list, TaskId};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

pub async fn toggle(
    state: web::Data<AppState>,
    form: Checked<ActionForm>,
    TaskId(id): TaskId,
) -> PageResult {
    let completed = match form.completed.as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err(PageError::BadRequest(
                "The form must say whether the task is completed.".to_owned(),
            ))
        }
    };
    let patch = TaskPatch {
        completed: Some(completed),
        ..TaskPatch::default()
    };
    let task = state.backend.update_task(id, &patch).await?;
    let message = match task.completed {
        true => format!("Task \"{}\" marked as completed!", task.title),
        false => format!("Task \"{}\" marked as pending.", task.title),
    };
    Ok(back_to_list(&state, form.back.as_deref(), message))
}
