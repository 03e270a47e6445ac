//! The JSON that crosses the wire between taskmgr's services and its API clients.
//!
//! Plain serde types, shared so that the backend and the frontend cannot drift apart.
//! Validation lives with the backend's domain; these types only describe the shape.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use uuid::Uuid;

pub mod limits;
pub mod list;

pub use list::{BadParameter, ListQuery, SortField, SortKey};

/// Unicode White_Space, spelled out as a regex class's content: `\s` means different things in different
/// regex engines (Python's also takes U+001C..U+001F).
macro_rules! white_space {
    () => {
        r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// What a title may be, as the OpenAPI document says it: white space (exactly what `str::trim` removes, so
/// that schema-valid titles are accepted) around one line that starts and ends with another character, with
/// no NUL anywhere. One line, because the UI's title field is one: a browser drops line breaks from it.
#[rustfmt::skip]
pub const TITLE_PATTERN: &str = concat!(
    r"^[", white_space!(), r"]*",
    r"[^\u0000", white_space!(), r"]",
    r"(?:[^\u0000\n\r]*[^\u0000", white_space!(), r"])?",
    r"[", white_space!(), r"]*$",
);

/// The title's schema, written once for the bodies that carry one.
#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

    const DESCRIPTION: &str = "Trimmed; not blank, one line, at most 255 characters, no NUL.";

    fn title_of(schema_type: SchemaType) -> Object {
        ObjectBuilder::new()
            .schema_type(schema_type)
            .description(Some(DESCRIPTION))
            .min_length(Some(1))
            .max_length(Some(crate::limits::TITLE_MAX_CHARS))
            .pattern(Some(super::TITLE_PATTERN))
            .build()
    }

    /// `NewTask.title`.
    pub fn title() -> Object {
        title_of(SchemaType::new(Type::String))
    }

    /// `TaskPatch.title`, which may be null.
    pub fn optional_title() -> Object {
        title_of(SchemaType::from_iter([Type::String, Type::Null]))
    }

    /// A description's schema, written once for the bodies that carry one (it may be null in both).
    fn description_of(description: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some(description))
            .max_length(Some(crate::limits::DESCRIPTION_MAX_CHARS))
            .pattern(Some(r"^[^\x00]*$"))
            .build()
    }

    /// `NewTask.description`.
    pub fn new_description() -> Object {
        description_of("At most 10,000 characters, no NUL; null or absent means \"\".")
    }

    /// `TaskPatch.description`.
    pub fn patch_description() -> Object {
        description_of(
            "At most 10,000 characters, no NUL; null clears it (\"\"), absent leaves it.",
        )
    }
}

/// How urgent a task is. Ordered `Low < Medium < High`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase", expecting = "one of low, medium, high")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
}

impl Priority {
    /// Every priority, lowest first: the order of the forms' choices.
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Medium, Priority::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Priority {
    type Err = UnknownPriority;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPriority(s.to_owned()))
    }
}

/// A priority string that is not `low`, `medium` or `high`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPriority(pub String);

impl std::fmt::Display for UnknownPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "priority must be one of {} (got {:?})",
            Priority::names().join(", "),
            self.0
        )
    }
}

impl Priority {
    /// The JSON names of [`Priority::ALL`], for messages.
    pub fn names() -> [&'static str; 3] {
        Priority::ALL.map(Priority::as_str)
    }
}

impl std::error::Error for UnknownPriority {}

/// A task as the API returns it. Field order matches the original service's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub completed: bool,
    /// RFC 3339, UTC.
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// RFC 3339, UTC.
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// Timestamps as RFC 3339 text, both ways, cheaper than chrono's own impls.
/// - Written: the same text as chrono's `Serialize` (`Z`, as many fraction digits as needed), but formatted
///   into one string first: chrono's impl feeds JSON character by character through serde_json's escaping
///   writer, which was the largest cost of serializing a list of tasks.
/// - Read: strict RFC 3339, which is what the API writes. chrono's `Deserialize` goes through its relaxed
///   parser (a space for `T`, and more), several times the cost per timestamp on a page of the UI.
mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use std::fmt;

    pub fn serialize<S: serde::Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        deserializer.deserialize_str(Rfc3339)
    }

    struct Rfc3339;

    impl serde::de::Visitor<'_> for Rfc3339 {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            DateTime::parse_from_rfc3339(text)
                .map(|time| time.to_utc())
                .map_err(E::custom)
        }
    }
}

/// The body of `POST /api/tasks`. Unknown fields are rejected; a task's server-set fields are not unknown.
///
/// The field descriptions' 255 and 10,000 are kept equal to [`limits`] by a backend test of the published
/// document. Absent optional fields stay absent in the JSON sent. A backend unit test checks the title's
/// pattern ([`TITLE_PATTERN`]) against the title rule.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Trimmed; not blank, one line, at most 255 characters, no NUL.
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::title))]
    pub title: String,
    /// At most 10,000 characters, no NUL; null or absent means "".
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::new_description))]
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub completed: Option<bool>,
    /// The task's own `id`, `created_at` and `updated_at` are accepted and ignored, so that a task read with
    /// `GET` can be sent back as it is, as a script written for the original API may do. Never sent.
    #[serde(rename = "id", skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only, format = Uuid))]
    pub ignored_id: Option<String>,
    #[serde(rename = "created_at", skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only, format = DateTime))]
    pub ignored_created_at: Option<String>,
    #[serde(rename = "updated_at", skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only, format = DateTime))]
    pub ignored_updated_at: Option<String>,
}

/// The body of `PUT`/`PATCH /api/tasks/{id}`: any subset of the fields. Unknown fields are rejected; a task's
/// server-set fields are not unknown.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// Trimmed; not blank, one line, at most 255 characters, no NUL.
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::optional_title))]
    pub title: Option<String>,
    /// At most 10,000 characters, no NUL. Absent (`None`) leaves it as it is; null (`Some(None)`) clears it, as
    /// null means "" when a task is created.
    #[serde(default, deserialize_with = "absent_or_null")]
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::patch_description))]
    pub description: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub completed: Option<bool>,
    /// The task's own `id`, `created_at` and `updated_at` are accepted and ignored, so that a task read with
    /// `GET` can be sent back as it is, as a script written for the original API may do. Never sent.
    #[serde(rename = "id", skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only, format = Uuid))]
    pub ignored_id: Option<String>,
    #[serde(rename = "created_at", skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only, format = DateTime))]
    pub ignored_created_at: Option<String>,
    #[serde(rename = "updated_at", skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only, format = DateTime))]
    pub ignored_updated_at: Option<String>,
}

/// A field that may be absent (`None`, by `default`) or null (`Some(None)`), which mean different things.
fn absent_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::deserialize(deserializer).map(Some)
}

/// Every error the API returns: `{"error": "...", "field": "..."}` (`field` only when one field is at fault).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The body of `DELETE /api/tasks/{id}`, kept from the original service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedBody {
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_round_trips_as_lowercase_json() {
        for p in Priority::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Priority>(&json).unwrap(), p);
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), p);
        }
        assert!("urgent".parse::<Priority>().is_err());
        assert!(serde_json::from_str::<Priority>("\"High\"").is_err());
    }

    #[test]
    fn priorities_order_low_to_high() {
        assert!(Priority::Low < Priority::Medium && Priority::Medium < Priority::High);
    }

    #[test]
    fn task_times_serialize_exactly_as_chrono_does() {
        use chrono::TimeZone;
        let base = Utc.with_ymd_and_hms(2026, 11, 21, 23, 55, 30).unwrap();
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789] {
            let time = base + chrono::Duration::nanoseconds(nanos);
            let task = Task {
                id: Uuid::nil(),
                title: "t".into(),
                description: String::new(),
                priority: Priority::Low,
                completed: false,
                created_at: time,
                updated_at: time,
            };
            let json = serde_json::to_value(&task).unwrap();
            assert_eq!(json["created_at"], serde_json::to_value(time).unwrap());
            assert_eq!(
                serde_json::from_value::<Task>(json).unwrap(),
                task,
                "round trip"
            );
        }
    }

    #[test]
    fn task_times_read_any_offset_as_utc_and_refuse_other_text() {
        let json = |time: &str| {
            format!(
                r#"{{"id":"{}","title":"t","description":"","priority":"low","completed":false,"created_at":"{time}","updated_at":"2026-11-21T23:55:30Z"}}"#,
                Uuid::nil()
            )
        };
        let task: Task = serde_json::from_str(&json("2026-11-22T01:55:30.5+02:00")).unwrap();
        assert_eq!(
            task.created_at.to_rfc3339(),
            "2026-11-21T23:55:30.500+00:00"
        );
        for bad in ["yesterday", "2026-11-21", "2026-11-21T23:55:30"] {
            assert!(serde_json::from_str::<Task>(&json(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_task_rejects_unknown_fields() {
        let err = serde_json::from_str::<NewTask>(r#"{"title":"a","colour":"red"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
