//! The pages and their forms, one module each, each with its template's context as a struct.
//! Every state change is a POST whose form arrives [`Checked`](form::Checked) against the
//! CSRF token and is answered by [`back_to_list`]: a redirect with a flash message
//! (post-redirect-get). No GET changes anything.
//!
//! POST handlers take the checked form before the [`TaskId`]: the body gate has already read the
//! body, so the form is ready first and a bad token is refused (403) before a bad id (404).

pub mod add;
pub mod delete;
pub mod edit;
mod form;
pub mod list;
pub mod listing;
mod task_id;
pub mod toggle;

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use crate::cookies::flash::Flash;
use crate::render::view::redirect;
use crate::state::AppState;
use listing::{back_url, ListParams};
pub use task_id::TaskId;

/// `?back=` on the edit and delete pages: the list view to return to.
#[derive(Debug, Default, Deserialize)]
pub struct BackParam {
    back: Option<String>,
}

/// Post-redirect-get: back to the list view `back` names, with `message` shown there once.
fn back_to_list(state: &AppState, back: Option<&str>, message: String) -> HttpResponse {
    redirect(&state.cookie_key, &back_url(back), Flash::success(message))
}

/// Where a task's own page (edit, delete) returns to: the list view its `back` value names, as a
/// query string for its form to carry (`back`) and as a link (`back_url`).
#[derive(Serialize)]
struct BackLinks {
    back: String,
    back_url: String,
}

impl BackLinks {
    fn to(back: Option<&str>) -> Self {
        BackLinks {
            back: back
                .and_then(ListParams::from_query_string)
                .map(|v| v.query_string(v.page))
                .unwrap_or_default(),
            back_url: back_url(back),
        }
    }
}
