//! `GET /tasks/{id}/delete`: asks for confirmation (works without JavaScript); `POST` deletes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde::Serialize;

use super::form::{ActionForm, Checked};
use super::{back_to_list, BackLinks, BackParam, TaskId};
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
pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    TaskId(id): TaskId,
    query: web::Query<BackParam>,
) -> PageResult {
    let task = state.backend.get_task(id).await?;
    let context = DeletePage {
        task: TaskView::from(&task),
        back: BackLinks::to(query.back.as_deref()),
    };
    Ok(page(
        &req,
        &state.cookie_key,
        StatusCode::OK,
        "delete.html",
        &context,
    ))
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
