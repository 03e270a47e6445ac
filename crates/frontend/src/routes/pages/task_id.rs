//! The task a page's path names (`/tasks/{id}/...`), as an extractor.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use uuid::Uuid;

use crate::error::PageError;

/// Task ids in URLs are UUIDs; anything else names no task (the 404 "Task not found" page).
pub struct TaskId(pub Uuid);

impl FromRequest for TaskId {
    type Error = PageError;
    type Future = Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("id")
            .and_then(|raw| Uuid::parse_str(raw).ok());
        ready(id.map(TaskId).ok_or(PageError::TaskNotFound))
    }
}
