//! The rules a task obeys, checked before anything reaches the database. No HTTP here.
//!
//! The wire types come from `task-types`; this module turns them into values that are known to be valid:
//! the validated types keep their fields private, so the only way to build one is its `parse`.

use task_types::limits::{description_length_error, title_length_error};
use task_types::{NewTask, Priority, TaskPatch, UnknownPriority};

/// A rule broken by one field: becomes a 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            field,
            message: message.into(),
        }
    }
}

/// A priority outside [`Priority::ALL`] breaks the priority rule (422), like a blank title.
impl From<UnknownPriority> for Invalid {
    fn from(_: UnknownPriority) -> Self {
        Invalid::new(
            "priority",
            format!("priority must be one of {}", Priority::names().join(", ")),
        )
    }
}

/// A title: trimmed, not blank, one line (no CR or LF), no NUL, and at most
/// [`TITLE_MAX_CHARS`](task_types::limits::TITLE_MAX_CHARS) characters as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(Invalid::new(
                "title",
                "Title is required and must not be blank",
            ));
        }
        if let Some(message) = title_length_error(raw) {
            return Err(Invalid::new("title", message));
        }
        if title.contains(['\n', '\r']) {
            return Err(Invalid::new("title", "Title must be a single line"));
        }
        no_nul("title", title)?;
        Ok(TaskTitle(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: at most [`DESCRIPTION_MAX_CHARS`](task_types::limits::DESCRIPTION_MAX_CHARS) characters, no
/// NUL (it may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(description: String) -> Result<Self, Invalid> {
        if let Some(message) = description_length_error(&description) {
            return Err(Invalid::new("description", message));
        }
        no_nul("description", &description)?;
        Ok(Description(description))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// PostgreSQL text cannot hold U+0000; refuse it up front instead of failing in the database.
fn no_nul(field: &'static str, value: &str) -> Result<(), Invalid> {
    if value.contains('\0') {
        return Err(Invalid::new(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    Ok(())
}

/// A task ready to insert: title trimmed and non-empty, every field within its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidNewTask {
    title: TaskTitle,
    description: Description,
    priority: Priority,
    completed: bool,
}

impl ValidNewTask {
    /// Checks every field and fills the defaults (empty description, medium priority, not completed).
    pub fn parse(new: NewTask) -> Result<Self, Invalid> {
        Ok(ValidNewTask {
            title: TaskTitle::parse(&new.title)?,
            description: Description::parse(new.description.unwrap_or_default())?,
            priority: new.priority.unwrap_or_default(),
            completed: new.completed.unwrap_or(false),
        })
    }

    pub fn title(&self) -> &TaskTitle {
        &self.title
    }

    pub fn description(&self) -> &Description {
        &self.description
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    pub fn completed(&self) -> bool {
        self.completed
    }
}

/// The fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidPatch {
    title: Option<TaskTitle>,
    description: Option<Description>,
    priority: Option<Priority>,
    completed: Option<bool>,
}

impl ValidPatch {
    pub fn parse(patch: TaskPatch) -> Result<Self, Invalid> {
        Ok(ValidPatch {
            title: patch.title.as_deref().map(TaskTitle::parse).transpose()?,
            description: patch
                .description
                .map(|description| Description::parse(description.unwrap_or_default()))
                .transpose()?,
            priority: patch.priority,
            completed: patch.completed,
        })
    }

    /// Whether the patch changes nothing (an empty object).
    pub fn is_empty(&self) -> bool {
        *self == ValidPatch::default()
    }

    pub fn title(&self) -> Option<&TaskTitle> {
        self.title.as_ref()
    }

    pub fn description(&self) -> Option<&Description> {
        self.description.as_ref()
    }

    pub fn priority(&self) -> Option<Priority> {
        self.priority
    }

    pub fn completed(&self) -> Option<bool> {
        self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_task(title: &str) -> NewTask {
        NewTask {
            title: title.into(),
            ..NewTask::default()
        }
    }

    #[test]
    fn titles_are_trimmed_and_must_not_be_blank() {
        assert_eq!(
            ValidNewTask::parse(new_task("  Buy milk \t"))
                .unwrap()
                .title()
                .as_str(),
            "Buy milk"
        );
        for blank in ["", "   ", "\t\n"] {
            assert_eq!(
                ValidNewTask::parse(new_task(blank)).unwrap_err().field,
                "title"
            );
        }
    }

    #[test]
    fn title_length_counts_characters_not_bytes() {
        assert!(ValidNewTask::parse(new_task(&"é".repeat(255))).is_ok());
        for too_long in ["a".repeat(256), format!(" {} ", "a".repeat(254))] {
            assert_eq!(
                ValidNewTask::parse(new_task(&too_long)).unwrap_err().field,
                "title"
            );
        }
    }

    /// The OpenAPI document's title pattern accepts exactly the titles the rule accepts (or schema-valid
    /// titles get a 422 and the fuzz stage fails): every character alone, inside and around a title.
    #[test]
    fn the_documented_title_pattern_matches_the_title_rule() {
        use utoipa::PartialSchema;
        let pattern_of = |schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            let json = serde_json::to_value(schema).unwrap();
            json["properties"]["title"]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let pattern = pattern_of(NewTask::schema());
        assert_eq!(pattern, pattern_of(TaskPatch::schema()));
        let pattern = regex::Regex::new(&pattern).unwrap();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for title in [
                format!("{c}"),
                format!("a{c}b"),
                format!("{c}a"),
                format!("a{c}"),
            ] {
                assert_eq!(
                    pattern.is_match(&title),
                    TaskTitle::parse(&title).is_ok(),
                    "{title:?}"
                );
            }
        }
    }

    #[test]
    fn defaults_fill_missing_fields() {
        let t = ValidNewTask::parse(new_task("x")).unwrap();
        assert_eq!(
            (t.description().as_str(), t.priority(), t.completed()),
            ("", Priority::Medium, false)
        );
    }

    #[test]
    fn description_limit_and_nul_are_enforced() {
        let long = NewTask {
            description: Some("d".repeat(10_001)),
            ..new_task("x")
        };
        assert_eq!(ValidNewTask::parse(long).unwrap_err().field, "description");
        let nul = TaskPatch {
            description: Some(Some("a\0b".into())),
            ..TaskPatch::default()
        };
        assert_eq!(ValidPatch::parse(nul).unwrap_err().field, "description");
    }

    #[test]
    fn an_unknown_priority_breaks_the_priority_rule() {
        let invalid = Invalid::from("urgent".parse::<Priority>().unwrap_err());
        assert_eq!(invalid.field, "priority");
        assert_eq!(invalid.message, "priority must be one of low, medium, high");
    }
}
