//! `/api/tasks` and `/api/tasks/{id}`: parse and validate, call one db function in `web::block`, answer.

use actix_web::http::header;
use actix_web::{mime, web, HttpResponse, HttpResponseBuilder};
use service_kit::methods::get_or_head;
use task_types::limits::LIST_LIMIT_DEFAULT;
use task_types::{DeletedBody, ErrorBody, NewTask, Task, TaskPatch};
use uuid::Uuid;

use super::fallback::method_not_allowed;
use crate::db::{self, Db};
use crate::domain::{ValidNewTask, ValidPatch};
use crate::error::ApiError;
use crate::extract::{JsonBody, ListQueryString};
use crate::task_json::{self, TaskArray};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/tasks")
            .route(get_or_head().to(list_tasks))
            .route(web::post().to(create_task))
            .default_service(web::to(|| method_not_allowed("GET, HEAD, POST"))),
    )
    .service(
        web::resource("/api/tasks/{id}")
            .route(get_or_head().to(get_task))
            .route(web::put().to(update_task))
            .route(web::patch().to(update_task))
            .route(web::delete().to(delete_task))
            .default_service(web::to(|| {
                method_not_allowed("GET, HEAD, PUT, PATCH, DELETE")
            })),
    );
}

/// Set on a page cut short by [`db::PAGE_TEXT_BYTES`].
const PAGE_TRUNCATED: &str = "X-Page-Truncated";
/// Set with `counts=true`: every task and the completed ones, whatever the filters.
const COUNT_ALL: &str = "X-Count-All";
const COUNT_COMPLETED: &str = "X-Count-Completed";

/// An id that is not a UUID names no task: 404, as for an unknown one.
fn task_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::TaskNotFound)
}

// utoipa's attributes below need literals (1000, 512 KiB, 10 s, 64 KiB, the priority and sort patterns):
// `the_documented_bounds_are_the_contract_constants` keeps them equal to `task_types::limits` and the lists.

/// List tasks, filtered, sorted and paged.
#[utoipa::path(
    get,
    path = "/api/tasks",
    tag = "tasks",
    params(
        ("completed" = Option<bool>, Query, description = "Only completed (`true`) or pending (`false`) tasks"),
        ("priority" = Option<String>, Query, description = "One priority or a comma list, e.g. `high,medium`",
            pattern = r"^(low|medium|high)(,(low|medium|high))*$"),
        ("q" = Option<String>, Query, description = "Case-insensitive substring of the title or the description",
            max_length = 1000),
        ("sort" = Option<String>, Query, description = "Order; `-` means descending. Default `-created_at`",
            pattern = r"^-?(created_at|updated_at|priority|title)$"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-1000 (default 100)", minimum = 1, maximum = 1000),
        ("offset" = Option<i64>, Query, description = "Tasks to skip (default 0)", minimum = 0),
        ("counts" = Option<bool>, Query, description = "`true` adds `X-Count-All` and `X-Count-Completed`: \
            every task and the completed ones, whatever the filters (default `false`)"),
    ),
    responses(
        (status = 200, description = "The page of tasks", body = Vec<Task>,
            headers(("X-Total-Count" = i64, description = "Number of tasks matching the filters"),
                ("X-Page-Truncated" = String, description = "`true` when the page stopped before `limit` tasks \
                    because their titles and descriptions reached 512 KiB; ask for the rest with `offset` \
                    increased by the number of tasks received"),
                ("X-Count-All" = i64, description = "With `counts=true`: the number of tasks, whatever the filters"),
                ("X-Count-Completed" = i64, description = "With `counts=true`: the number of completed tasks, \
                    whatever the filters"))),
        (status = 400, description = "A query parameter is unknown, repeated or invalid", body = ErrorBody),
        (status = 503, description = "Database unavailable, no connection free within the pool timeout, \
            or the query ran past the statement timeout (5 s by default); `Retry-After` says when to retry",
            body = ErrorBody),
    )
)]
pub async fn list_tasks(
    db: web::Data<Db>,
    ListQueryString(query): ListQueryString,
) -> Result<HttpResponse, ApiError> {
    let searching = query.search.is_some();
    // A default page's room at most up front; a longer page grows.
    let room = query.limit.clamp(0, LIST_LIMIT_DEFAULT) as usize;
    let list = move |conn: &mut _| {
        let mut body = TaskArray::with_room_for(room);
        let page = db::list_tasks(conn, &query, |task| body.push(&task))?;
        Ok((page, body.finish()))
    };
    let (page, body) = if searching {
        db.run_search(list).await?
    } else {
        db.run(list).await?
    };
    let mut response = HttpResponse::Ok();
    response.insert_header(("X-Total-Count", page.total.to_string()));
    if page.truncated {
        response.insert_header((PAGE_TRUNCATED, "true"));
    }
    if let Some(counts) = page.counts {
        response.insert_header((COUNT_ALL, counts.all.to_string()));
        response.insert_header((COUNT_COMPLETED, counts.completed.to_string()));
    }
    Ok(response.content_type(mime::APPLICATION_JSON).body(body))
}

/// A task as the JSON body of a response (what `HttpResponse::json` would send, written by [`task_json`]).
fn task_response(mut response: HttpResponseBuilder, task: &Task) -> HttpResponse {
    response
        .content_type(mime::APPLICATION_JSON)
        .body(task_json::task(task))
}

/// Create a task.
#[utoipa::path(
    post,
    path = "/api/tasks",
    tag = "tasks",
    request_body(content = NewTask, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Task,
            headers(("Location" = String, description = "/api/tasks/{id} of the new task"))),
        (status = 400, description = "Malformed JSON, not an object, missing title, unknown field or wrong type", body = ErrorBody),
        (status = 408, description = "The body did not arrive within 10 s", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A field breaks a rule (blank or long title, unknown priority, long description)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn create_task(
    db: web::Data<Db>,
    JsonBody(new): JsonBody<NewTask>,
) -> Result<HttpResponse, ApiError> {
    let new = ValidNewTask::parse(new)?;
    let task = db.run(move |conn| db::insert_task(conn, &new)).await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/tasks/{}", task.id)));
    Ok(task_response(response, &task))
}

/// Get one task.
#[utoipa::path(
    get,
    path = "/api/tasks/{id}",
    tag = "tasks",
    params(("id" = String, Path, description = "The task's UUID")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 404, description = "No such task (or the id is not a UUID)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn get_task(db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = task_id(&id)?;
    let task = db.run(move |conn| db::get_task(conn, id)).await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}

/// Change any subset of a task's fields (`PUT` and `PATCH` behave the same; `PUT` stays partial as in the
/// original service). An empty object changes nothing.
#[utoipa::path(
    method(put, patch),
    path = "/api/tasks/{id}",
    tag = "tasks",
    params(("id" = String, Path, description = "The task's UUID")),
    request_body(content = TaskPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated task", body = Task),
        (status = 400, description = "Malformed JSON, not an object, unknown field or wrong type", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 408, description = "The body did not arrive within 10 s", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn update_task(
    db: web::Data<Db>,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<TaskPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = task_id(&id)?;
    let patch = ValidPatch::parse(patch)?;
    let task = db
        .run(move |conn| db::update_task(conn, id, &patch))
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}

/// Delete a task.
#[utoipa::path(
    delete,
    path = "/api/tasks/{id}",
    tag = "tasks",
    params(("id" = String, Path, description = "The task's UUID")),
    responses(
        (status = 200, description = "Deleted", body = DeletedBody),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn delete_task(
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = task_id(&id)?;
    db.run(move |conn| db::delete_task(conn, id)).await?;
    Ok(HttpResponse::Ok().json(DeletedBody {
        message: "Task deleted successfully".to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use task_types::limits::{
        BODY_DEADLINE, BODY_MAX_BYTES, DESCRIPTION_MAX_CHARS, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX,
        SEARCH_MAX_CHARS, TITLE_MAX_CHARS,
    };
    use task_types::{Priority, SortKey};
    use utoipa::OpenApi;

    use crate::db::PAGE_TEXT_BYTES;
    use crate::routes::docs::ApiDoc;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn parameter<'a>(doc: &'a Value, name: &str) -> &'a Value {
        doc["paths"]["/api/tasks"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("parameter {name}"))
    }

    /// Every literal the attribute macros need, against the constant or list it repeats. Changing a constant
    /// without its literal (or the reverse) fails here.
    #[test]
    fn the_documented_bounds_are_the_contract_constants() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for body in ["NewTask", "TaskPatch"] {
            let fields = &schemas[body]["properties"];
            assert_eq!(fields["title"]["maxLength"], TITLE_MAX_CHARS, "{body}");
            assert_eq!(
                fields["description"]["maxLength"], DESCRIPTION_MAX_CHARS,
                "{body}"
            );
            let described = |field: &str| fields[field]["description"].as_str().unwrap().to_owned();
            assert!(described("title").contains(&format!("at most {TITLE_MAX_CHARS} characters")));
            assert!(described("description").contains("At most 10,000 characters"));
            assert_eq!(
                DESCRIPTION_MAX_CHARS, 10_000,
                "the description's prose says 10,000"
            );
        }
        let names = Priority::names().join("|");
        assert_eq!(
            parameter(&doc, "priority")["schema"]["pattern"],
            format!("^({names})(,({names}))*$")
        );
        let fields: Vec<&str> = SortKey::ALL
            .iter()
            .filter(|(_, key)| !key.descending)
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            parameter(&doc, "sort")["schema"]["pattern"],
            format!("^-?({})$", fields.join("|"))
        );
        assert!(parameter(&doc, "sort")["description"]
            .as_str()
            .unwrap()
            .contains(&format!("Default `{}`", SortKey::default().as_str())));
        assert_eq!(
            parameter(&doc, "q")["schema"]["maxLength"],
            SEARCH_MAX_CHARS
        );
        let limit = parameter(&doc, "limit");
        assert_eq!(limit["schema"]["maximum"], LIST_LIMIT_MAX);
        assert!(limit["description"].as_str().unwrap().contains(&format!(
            "1-{LIST_LIMIT_MAX} (default {LIST_LIMIT_DEFAULT})"
        )));

        let list = doc["paths"]["/api/tasks"]["get"]["responses"]["200"]["headers"]
            ["X-Page-Truncated"]["description"]
            .as_str()
            .unwrap();
        assert!(list.contains(&format!("reached {} KiB", PAGE_TEXT_BYTES / 1024)));
        let create = &doc["paths"]["/api/tasks"]["post"]["responses"];
        let update = &doc["paths"]["/api/tasks/{id}"]["put"]["responses"];
        for responses in [create, update] {
            assert_eq!(
                responses["408"]["description"],
                format!(
                    "The body did not arrive within {} s",
                    BODY_DEADLINE.as_secs()
                )
            );
            assert_eq!(
                responses["413"]["description"],
                format!("Body over {} KiB", BODY_MAX_BYTES / 1024)
            );
        }
    }
}
