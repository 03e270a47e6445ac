//! `GET /`: counts, the add form, filters, the tasks and the pager. A refused add shows this page
//! again with the form as typed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde::Serialize;
use service_kit::urlencoded::first_not_utf8;
use task_types::{Priority, Task};
use tera::Context;

use super::form::{FormErrors, FormState};
use super::listing::{ListParams, RawListParams, SortOrder, StatusFilter, DEFAULT_PER_PAGE};
use crate::backend::Counts;
use crate::config::limits;
use crate::error::{PageError, PageResult};
use crate::render;
use crate::render::templates::Fragments;
use crate::render::view::{human_time, priority_label, FormSession};
use crate::state::AppState;

/// `index.html`'s context.
#[derive(Serialize)]
struct ListPage<'a> {
    counts: Totals,
    /// The filters, search, sort and page size in force.
    view: ViewState<'a>,
    default_per_page: u32,
    statuses: Vec<Choice>,
    sorts: Vec<Choice>,
    /// How many tasks this page shows, and their rows.
    shown: usize,
    rows: Fragments,
    paging: Paging,
    /// The view as a query string, carried by the forms so that they come back to it.
    back: String,
    /// `?back=` and that query string (or nothing), for the links to a task's own pages.
    back_param: String,
    form: FormState,
    errors: FormErrors,
}

/// The list's rows: `task_row.html` once per task, with one context whose row values each task
/// replaces. The values every row shares (the token and the view to come back to) go in once.
fn task_rows(
    tasks: &[Task],
    csrf_token: &str,
    back: &str,
    back_param: &str,
) -> Result<Fragments, tera::Error> {
    let mut context = Context::new();
    context.insert("csrf_token", csrf_token);
    context.insert("back", back);
    context.insert("back_param", back_param);
    // About the size of a row, so that a page of rows is written without growing the buffer.
    let mut rows = Fragments::with_capacity(tasks.len() * 2048);
    for task in tasks {
        context.insert("id", &task.id);
        context.insert("title", &task.title);
        context.insert("description", &task.description);
        context.insert("priority", task.priority.as_str());
        context.insert("priority_label", priority_label(task.priority));
        context.insert("completed", &task.completed);
        context.insert("created", &human_time(&task.created_at));
        context.insert("created_iso", &task.created_at.to_rfc3339());
        // The indentation the list had when the rows were a loop of index.html.
        rows.push("task_row.html", &context, "      ")?;
    }
    Ok(rows)
}

#[derive(Serialize)]
struct Totals {
    total: u64,
    completed: u64,
    pending: u64,
}

#[derive(Serialize)]
struct ViewState<'a> {
    status: &'static str,
    priority: Option<&'static str>,
    q: &'a str,
    sort: &'static str,
    per_page: u32,
    filtered: bool,
}

/// One option of a `<select>`.
#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: String,
}

#[derive(Serialize)]
struct Paging {
    page: u32,
    pages: u64,
    total: u64,
    /// The positions of the first and last task shown, counted from 1.
    from: u64,
    to: u64,
    prev_url: Option<String>,
    next_url: Option<String>,
    first_url: String,
    /// Set when the backend cut this page short (its text passed the page byte bound): the page
    /// says so and offers the page size that fits, rather than let "next" skip the tasks left out.
    cut_url: Option<String>,
}

pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<RawListParams>,
) -> PageResult {
    if let Some(name) = first_not_utf8(req.query_string().as_bytes()) {
        return Err(PageError::BadRequest(format!(
            "The address's {name:?} is not UTF-8 once its %XX escapes are decoded."
        )));
    }
    let view = ListParams::parse(&query).map_err(PageError::BadRequest)?;
    list_page(
        &req,
        &state,
        &view,
        FormState::blank(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// The list in `view`, with the add form showing `form` and `errors`.
pub(super) async fn list_page(
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
    // The page and the counts beside it, in one backend call.
    let list = state.backend.list_tasks(&view.backend_request()).await?;
    let Counts { all, completed } = list
        .counts
        .expect("list_tasks fails when counts asked for are missing");

    let pages = list.total.div_ceil(u64::from(view.per_page)).max(1);
    let offset = u64::from(view.page - 1) * u64::from(view.per_page);
    let page_url = |p: u64| view.url(u32::try_from(p).unwrap_or(u32::MAX));
    let back = view.query_string(view.page);
    let back_param = match back.is_empty() {
        true => String::new(),
        false => format!(
            "?{}",
            serde_urlencoded::to_string([("back", &back)]).unwrap_or_default()
        ),
    };
    let shown = list.tasks.len() as u64;
    let forms = FormSession::open(req, &state.cookie_key);
    let Ok(rows) = task_rows(&list.tasks, forms.csrf_token(), &back, &back_param) else {
        return Ok(render::failure());
    };
    let context = ListPage {
        counts: Totals {
            total: all,
            completed,
            pending: all.saturating_sub(completed),
        },
        view: ViewState {
            status: view.status.as_str(),
            priority: view.priority.map(Priority::as_str),
            q: &view.q,
            sort: view.sort.as_str(),
            per_page: view.per_page,
            filtered: view.is_filtered(),
        },
        default_per_page: DEFAULT_PER_PAGE,
        statuses: StatusFilter::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str(),
                label: capitalized(s.as_str()),
            })
            .collect(),
        sorts: SortOrder::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str(),
                label: s.label().to_owned(),
            })
            .collect(),
        shown: list.tasks.len(),
        rows,
        paging: Paging {
            page: view.page,
            pages,
            total: list.total,
            from: offset + 1,
            to: offset + shown,
            prev_url: (view.page > 1).then(|| page_url(u64::from(view.page - 1).min(pages))),
            next_url: (u64::from(view.page) < pages).then(|| page_url(u64::from(view.page) + 1)),
            first_url: page_url(1),
            cut_url: list
                .truncated
                .then(|| view.url_with_per_page(list.tasks.len() as u32)),
        },
        back,
        back_param,
        form,
        errors,
    };
    Ok(forms.render(status, "index.html", &context))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
