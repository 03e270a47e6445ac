//! The API's bounds, written once: the backend enforces them, the frontend and its templates show them, and a
//! backend test keeps the literals that utoipa's attributes need equal to these.

use std::time::Duration;

/// A title's most characters (Unicode scalar values, counted as sent, before trimming).
pub const TITLE_MAX_CHARS: usize = 255;
/// A description's most characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
/// The length rule of a title as sent (before trimming, as the OpenAPI document's maxLength says): its
/// message when `title` has more than [`TITLE_MAX_CHARS`] characters, as the backend answers it and the UI
/// shows it beside the field.
pub fn title_length_error(title: &str) -> Option<String> {
    (title.chars().count() > TITLE_MAX_CHARS)
        .then(|| format!("Title must be at most {TITLE_MAX_CHARS} characters"))
}

/// The length rule of a description: its message when it has more than [`DESCRIPTION_MAX_CHARS`] characters.
pub fn description_length_error(description: &str) -> Option<String> {
    (description.chars().count() > DESCRIPTION_MAX_CHARS)
        .then(|| format!("Description must be at most {DESCRIPTION_MAX_CHARS} characters"))
}

/// The largest page `GET /api/tasks` returns (`limit`).
pub const LIST_LIMIT_MAX: i64 = 1000;
/// The page size when `limit` is absent.
pub const LIST_LIMIT_DEFAULT: i64 = 100;
/// A search's (`q`) most characters.
pub const SEARCH_MAX_CHARS: usize = 1000;
/// The largest JSON body the API reads: 64 KiB (413 above it).
pub const BODY_MAX_BYTES: usize = 64 * 1024;
/// How long a client may take to send a whole body once its request head has arrived (408 after that).
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);
