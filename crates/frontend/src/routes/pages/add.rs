//! `POST /tasks`: adds a task; a refusal shows the list again with the form as typed.

use actix_web::{web, HttpRequest};
use task_types::NewTask;

use super::back_to_list;
use super::form::{refusal, Checked, TaskForm};
use super::list::list_page;
use super::listing::ListParams;
use crate::error::PageResult;
use crate::state::AppState;

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Checked<TaskForm>,
) -> PageResult {
    let outcome = match form.checked_priority() {
        Err(refused) => Err(refused),
        Ok(priority) => {
            let new_task = NewTask {
                title: form.title.clone(),
                description: Some(form.description.clone()),
                priority: Some(priority),
                ..NewTask::default()
            };
            match state.backend.create_task(&new_task).await {
                Ok(task) => Ok(task),
                Err(err) => Err(refusal(err)?),
            }
        }
    };
    match outcome {
        Ok(task) => Ok(back_to_list(
            &state,
            form.back.as_deref(),
            format!("Task \"{}\" added!", task.title),
        )),
        Err(refused) => {
            let view = form
                .back
                .as_deref()
                .and_then(ListParams::from_query_string)
                .unwrap_or_default();
            list_page(
                &req,
                &state,
                &view,
                form.state(),
                refused.errors,
                refused.status,
            )
            .await
        }
    }
}
