//! The pages and their forms. Every state change is a POST checked against the CSRF token and
//! answered with a redirect and a flash message (post-redirect-get); no GET changes anything.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use task_types::{NewTask, Priority, Task, TaskPatch};
use uuid::Uuid;

use super::PageResult;
use crate::backend::{BackendError, Counts};
use crate::csrf;
use crate::error::PageError;
use crate::flash::Flash;
use crate::limits;
use crate::listing::{
    back_url, ListParams, RawListParams, SortOrder, StatusFilter, DEFAULT_PER_PAGE,
};
use crate::state::AppState;
use crate::view::{base_context, human_time, page, redirect, TaskView};

/// The fields of the add and edit forms, all as text so that nothing a browser (or anyone) can
/// send fails before it is checked and answered with a page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskForm {
    csrf_token: String,
    title: String,
    description: String,
    priority: String,
    completed: Option<String>,
    back: Option<String>,
}

/// The toggle and delete forms.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
    completed: Option<String>,
    back: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BackParam {
    back: Option<String>,
}

/// What a form shows again after a refusal: the input as typed, and the messages by field.
#[derive(Debug, Default, Serialize)]
struct FormState {
    title: String,
    description: String,
    priority: String,
    completed: bool,
}

#[derive(Debug, Default, Serialize)]
struct FormErrors {
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
struct Refusal {
    status: StatusCode,
    errors: FormErrors,
}

impl TaskForm {
    fn state(&self) -> FormState {
        FormState {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: self.priority.clone(),
            completed: self.completed.is_some(),
        }
    }

    /// The priority is checked here because the API's types cannot even carry an unknown one.
    fn priority(&self) -> Result<Priority, Refusal> {
        self.priority.parse::<Priority>().map_err(|_| Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: FormErrors {
                priority: Some("Choose a priority: low, medium or high.".to_owned()),
                ..FormErrors::default()
            },
        })
    }
}

/// Turns the backend's refusal of the input into a form refusal; other failures stay page errors.
fn refusal(err: BackendError) -> Result<Refusal, PageError> {
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

fn require_csrf(req: &HttpRequest, state: &AppState, token: &str) -> Result<(), PageError> {
    if csrf::is_valid(req, &state.cookie_key, token) {
        Ok(())
    } else {
        log::warn!(
            "refused {} {}: CSRF token missing or not from this session",
            req.method(),
            req.path()
        );
        Err(PageError::Csrf)
    }
}

/// Task ids in URLs are UUIDs; anything else names no task.
fn task_id(raw: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw).map_err(|_| PageError::TaskNotFound)
}

/// The list's view named by a form's or link's `back` value, as a query string.
fn back_query(back: Option<&str>) -> String {
    back.and_then(ListParams::from_query_string)
        .map(|v| v.query_string(v.page))
        .unwrap_or_default()
}

// ---- the list ----

/// `GET /`: counts, the add form, filters, the tasks and the pager.
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<RawListParams>,
) -> PageResult {
    let view = ListParams::parse(&query).map_err(PageError::BadRequest)?;
    let form = FormState {
        priority: Priority::Medium.as_str().to_owned(),
        ..FormState::default()
    };
    list_page(
        &req,
        &state,
        &view,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn list_page(
    req: &HttpRequest,
    state: &AppState,
    view: &ListParams,
    form: FormState,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    // A few pages at a time, each holding at most PAGE_BYTES of JSON and its rendering.
    let _turn = actix_web::rt::time::timeout(limits::LIST_WAIT, state.list_renders.acquire())
        .await
        .map_err(|_| PageError::Busy)?
        .expect("the semaphore is never closed");
    let backend = &state.backend;
    let request = view.backend_request();
    // The page and the counts beside it, in one backend call.
    let list = backend.list_tasks(&request).await?;
    let Counts {
        all: total,
        completed,
    } = list
        .counts
        .expect("list_tasks fails when counts asked for are missing");

    let pages = list.total.div_ceil(u64::from(view.per_page)).max(1);
    let offset = u64::from(view.page - 1) * u64::from(view.per_page);
    let page_url = |p: u64| view.url(u32::try_from(p).unwrap_or(u32::MAX));
    let back = view.query_string(view.page);

    let mut context = base_context();
    context.insert("counts", &json!({ "total": total, "completed": completed, "pending": total.saturating_sub(completed) }));
    context.insert(
        "view",
        &json!({
            "status": view.status.as_str(),
            "priority": view.priority.map(Priority::as_str),
            "q": view.q,
            "sort": view.sort.as_str(),
            "per_page": view.per_page,
            "filtered": view.is_filtered(),
        }),
    );
    context.insert("default_per_page", &DEFAULT_PER_PAGE);
    context.insert(
        "statuses",
        &StatusFilter::ALL
            .iter()
            .map(|s| json!({ "value": s.as_str(), "label": capitalized(s.as_str()) }))
            .collect::<Vec<_>>(),
    );
    context.insert(
        "sorts",
        &SortOrder::ALL
            .iter()
            .map(|s| json!({ "value": s.as_str(), "label": s.label() }))
            .collect::<Vec<_>>(),
    );
    let back_param = match back.is_empty() {
        true => String::new(),
        false => format!(
            "?{}",
            serde_urlencoded::to_string([("back", &back)]).unwrap_or_default()
        ),
    };
    let rows: Vec<TaskView> = list
        .tasks
        .iter()
        .map(|t| TaskView::from(t).with_back(&back_param))
        .collect();
    context.insert("tasks", &rows);
    context.insert(
        "paging",
        &json!({
            "page": view.page,
            "pages": pages,
            "total": list.total,
            "from": offset + 1,
            "to": offset + list.tasks.len() as u64,
            "prev_url": (view.page > 1).then(|| page_url(u64::from(view.page - 1).min(pages))),
            "next_url": (u64::from(view.page) < pages).then(|| page_url(u64::from(view.page) + 1)),
            "first_url": page_url(1),
            // The backend cut this page short (its text passed the page byte bound): say so and
            // offer the page size that fits, rather than let "next" skip the tasks left out.
            "cut_url": list
                .truncated
                .then(|| view.url_with_per_page(list.tasks.len() as u32)),
        }),
    );
    context.insert("back", &back);
    context.insert("form", &form);
    context.insert("errors", &errors);
    Ok(page(req, &state.cookie_key, status, "index.html", context))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

// ---- add ----

/// `POST /tasks`: adds a task; a refusal shows the list again with the form as typed.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TaskForm>,
) -> PageResult {
    require_csrf(&req, &state, &form.csrf_token)?;
    let outcome = match form.priority() {
        Err(refused) => Err(refused),
        Ok(priority) => {
            let new_task = NewTask {
                title: form.title.clone(),
                description: Some(form.description.clone()),
                priority: Some(priority),
                completed: None,
            };
            match state.backend.create_task(&new_task).await {
                Ok(task) => Ok(task),
                Err(err) => Err(refusal(err)?),
            }
        }
    };
    match outcome {
        Ok(task) => Ok(redirect(
            &state.cookie_key,
            &back_url(form.back.as_deref()),
            Flash::success(format!("Task \"{}\" added!", task.title)),
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

// ---- edit ----

/// `GET /tasks/{id}/edit`: the edit form, filled in.
pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<BackParam>,
) -> PageResult {
    let task = state.backend.get_task(task_id(&id)?).await?;
    let form = FormState {
        title: task.title.clone(),
        description: task.description.clone(),
        priority: task.priority.as_str().to_owned(),
        completed: task.completed,
    };
    Ok(edit_page(
        &req,
        &state,
        &task,
        form,
        FormErrors::default(),
        query.back.as_deref(),
        StatusCode::OK,
    ))
}

/// `POST /tasks/{id}/edit`: saves the changes; a refusal shows the form again as typed.
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<TaskForm>,
) -> PageResult {
    require_csrf(&req, &state, &form.csrf_token)?;
    let id = task_id(&id)?;
    let refused = match form.priority() {
        Err(refused) => refused,
        Ok(priority) => {
            let patch = TaskPatch {
                title: Some(form.title.clone()),
                description: Some(form.description.clone()),
                priority: Some(priority),
                completed: Some(form.completed.is_some()),
            };
            match state.backend.update_task(id, &patch).await {
                Ok(task) => {
                    return Ok(redirect(
                        &state.cookie_key,
                        &back_url(form.back.as_deref()),
                        Flash::success(format!("Task \"{}\" updated!", task.title)),
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
) -> actix_web::HttpResponse {
    let mut context = base_context();
    context.insert("task", &TaskView::from(task));
    // Only this page shows when a task last changed.
    context.insert("updated", &human_time(&task.updated_at));
    context.insert("updated_iso", &task.updated_at.to_rfc3339());
    context.insert("form", &form);
    context.insert("errors", &errors);
    context.insert("back", &back_query(back));
    context.insert("back_url", &back_url(back));
    page(req, &state.cookie_key, status, "edit.html", context)
}

// ---- toggle ----

/// `POST /tasks/{id}/toggle`: sets `completed` to the value the form names (so a double submit
/// does not flip it back).
pub async fn toggle(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    require_csrf(&req, &state, &form.csrf_token)?;
    let id = task_id(&id)?;
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
    Ok(redirect(
        &state.cookie_key,
        &back_url(form.back.as_deref()),
        Flash::success(message),
    ))
}

// ---- delete ----

/// `GET /tasks/{id}/delete`: asks for confirmation (works without JavaScript).
pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<BackParam>,
) -> PageResult {
    let task = state.backend.get_task(task_id(&id)?).await?;
    let mut context = base_context();
    context.insert("task", &TaskView::from(&task));
    context.insert("back", &back_query(query.back.as_deref()));
    context.insert("back_url", &back_url(query.back.as_deref()));
    Ok(page(
        &req,
        &state.cookie_key,
        StatusCode::OK,
        "delete.html",
        context,
    ))
}

/// `POST /tasks/{id}/delete`: deletes the task.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    require_csrf(&req, &state, &form.csrf_token)?;
    let id = task_id(&id)?;
    // Fetched first so the message can name it.
    let task = state.backend.get_task(id).await?;
    state.backend.delete_task(id).await?;
    Ok(redirect(
        &state.cookie_key,
        &back_url(form.back.as_deref()),
        Flash::success(format!("Task \"{}\" deleted.", task.title)),
    ))
}
