//! `GET /tasks/{id}/delete`: asks for confirmation (works without JavaScript); `POST` deletes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::edit::TaskPage;
use super::form::{ActionForm, Checked};
use super::{back_to_list, BackLinks, TaskId};
use crate::error::PageResult;
use crate::render::view::{page, TaskView};
use crate::state::AppState;

/// `delete.html`'s context.
#[derive(Serialize)]
struct DeletePage {
    task: TaskView,
    #[serde(flatten)]
    back: BackLinks,
}

/// The confirmation page.
pub async fn confirm_delete(shown: TaskPage) -> HttpResponse {
    let context = DeletePage {
        task: TaskView::from(&shown.task),
        back: BackLinks::to(shown.back.as_deref()),
    };
    page(
        &shown.req,
        &shown.state.cookie_key,
        StatusCode::OK,
        "delete.html",
        &context,
    )
}

pub async fn delete(
    state: web::Data<AppState>,
    form: Checked<ActionForm>,
    TaskId(id): TaskId,
) -> PageResult {
    // Fetched first so the message can name it.
    let task = state.backend.get_task(id).await?;
    state.backend.delete_task(id).await?;
    Ok(back_to_list(
        &state,
        form.back.as_deref(),
        format!("Task \"{}\" deleted.", task.title),
    ))
}
