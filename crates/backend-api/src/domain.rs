//! The rules a task obeys, checked before anything reaches the database. No HTTP here.
//!
//! The wire types come from `task-types`; this module turns them into values that are known to be valid.

use task_types::{NewTask, Priority, TaskPatch};

pub const TITLE_MAX_CHARS: usize = 255;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
pub const LIST_LIMIT_MAX: i64 = 1000;
pub const LIST_LIMIT_DEFAULT: i64 = 100;
pub const SEARCH_MAX_CHARS: usize = 1000;

/// A rule broken by one field: becomes a 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A task ready to insert: title trimmed and non-empty, every field within its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidNewTask {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub completed: bool,
}

impl TryFrom<NewTask> for ValidNewTask {
    type Error = Invalid;

    fn try_from(new: NewTask) -> Result<Self, Invalid> {
        Ok(ValidNewTask {
            title: valid_title(&new.title)?,
            description: valid_description(new.description.unwrap_or_default())?,
            priority: new.priority.unwrap_or_default(),
            completed: new.completed.unwrap_or(false),
        })
    }
}

/// The fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub completed: Option<bool>,
}

impl TryFrom<TaskPatch> for ValidPatch {
    type Error = Invalid;

    fn try_from(patch: TaskPatch) -> Result<Self, Invalid> {
        Ok(ValidPatch {
            title: patch.title.as_deref().map(valid_title).transpose()?,
            description: patch.description.map(valid_description).transpose()?,
            priority: patch.priority,
            completed: patch.completed,
        })
    }
}

fn valid_title(raw: &str) -> Result<String, Invalid> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(Invalid::new(
            "title",
            "Title is required and must not be blank",
        ));
    }
    // The limit applies to the title as sent (before trimming), as the OpenAPI document's maxLength says.
    if raw.chars().count() > TITLE_MAX_CHARS {
        return Err(Invalid::new(
            "title",
            format!("Title must be at most {TITLE_MAX_CHARS} characters"),
        ));
    }
    no_nul("title", title)?;
    Ok(title.to_owned())
}

fn valid_description(description: String) -> Result<String, Invalid> {
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Invalid::new(
            "description",
            format!("Description must be at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    no_nul("description", &description)?;
    Ok(description)
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

/// An ordering of the task list. Ties are broken by `created_at` then `id` in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    Priority,
    Title,
    #[default]
    CreatedAtDesc,
    UpdatedAtDesc,
    PriorityDesc,
    TitleDesc,
}

impl SortKey {
    pub const ALL: [(&'static str, SortKey); 8] = [
        ("created_at", SortKey::CreatedAt),
        ("-created_at", SortKey::CreatedAtDesc),
        ("updated_at", SortKey::UpdatedAt),
        ("-updated_at", SortKey::UpdatedAtDesc),
        ("priority", SortKey::Priority),
        ("-priority", SortKey::PriorityDesc),
        ("title", SortKey::Title),
        ("-title", SortKey::TitleDesc),
    ];
}

/// The filters, order and page of `GET /api/tasks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub completed: Option<bool>,
    /// Empty means every priority.
    pub priorities: Vec<Priority>,
    /// Case-insensitive substring of the title or the description.
    pub search: Option<String>,
    pub sort: SortKey,
    pub limit: i64,
    pub offset: i64,
    /// Also count every task and the completed ones, whatever the filters (`counts=true`): the figures a
    /// page of the UI shows beside the list, in the same request.
    pub counts: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            completed: None,
            priorities: Vec::new(),
            search: None,
            sort: SortKey::default(),
            limit: LIST_LIMIT_DEFAULT,
            offset: 0,
            counts: false,
        }
    }
}

/// A query parameter that is unknown, repeated or has a bad value: becomes a 400 naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    pub parameter: String,
    pub message: String,
}

fn boolean(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("query parameter '{name}' must be true or false")),
    }
}

impl ListQuery {
    pub const PARAMETERS: [&'static str; 7] = [
        "completed",
        "priority",
        "q",
        "sort",
        "limit",
        "offset",
        "counts",
    ];

    /// Builds the query from decoded `name=value` pairs, refusing unknown and repeated parameters.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, BadParameter> {
        let mut query = ListQuery::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            let bad = |message: String| BadParameter {
                parameter: name.clone(),
                message,
            };
            if seen.contains(&name.as_str()) {
                return Err(bad(format!(
                    "query parameter '{name}' is given more than once"
                )));
            }
            seen.push(name);
            match name.as_str() {
                "completed" => query.completed = Some(boolean(name, value).map_err(bad)?),
                "counts" => query.counts = boolean(name, value).map_err(bad)?,
                "priority" => {
                    query.priorities = value
                        .split(',')
                        .map(|p| p.parse::<Priority>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad("query parameter 'priority' must be low, medium, high or a comma list of them".into()))?;
                }
                "q" => {
                    if value.chars().count() > SEARCH_MAX_CHARS {
                        return Err(bad(format!(
                            "query parameter 'q' must be at most {SEARCH_MAX_CHARS} characters"
                        )));
                    }
                    query.search = Some(value.clone()).filter(|q| !q.is_empty());
                }
                "sort" => {
                    query.sort = SortKey::ALL
                        .iter()
                        .find(|(k, _)| k == value)
                        .map(|(_, s)| *s)
                        .ok_or_else(|| {
                            let keys: Vec<&str> = SortKey::ALL.iter().map(|(k, _)| *k).collect();
                            bad(format!(
                                "query parameter 'sort' must be one of {}",
                                keys.join(", ")
                            ))
                        })?;
                }
                "limit" => {
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|l| (1..=LIST_LIMIT_MAX).contains(l))
                        .ok_or_else(|| {
                            bad(format!(
                                "query parameter 'limit' must be a whole number 1-{LIST_LIMIT_MAX}"
                            ))
                        })?;
                }
                "offset" => {
                    query.offset = value.parse().ok().filter(|o| *o >= 0).ok_or_else(|| {
                        bad("query parameter 'offset' must be a whole number >= 0".into())
                    })?;
                }
                _ => {
                    return Err(bad(format!(
                        "unknown query parameter '{name}' (known: {})",
                        Self::PARAMETERS.join(", ")
                    )))
                }
            }
        }
        Ok(query)
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
            ValidNewTask::try_from(new_task("  Buy milk \t"))
                .unwrap()
                .title,
            "Buy milk"
        );
        for blank in ["", "   ", "\t\n"] {
            assert_eq!(
                ValidNewTask::try_from(new_task(blank)).unwrap_err().field,
                "title"
            );
        }
    }

    #[test]
    fn title_length_counts_characters_not_bytes() {
        assert!(ValidNewTask::try_from(new_task(&"é".repeat(255))).is_ok());
        for too_long in ["a".repeat(256), format!(" {} ", "a".repeat(254))] {
            assert_eq!(
                ValidNewTask::try_from(new_task(&too_long))
                    .unwrap_err()
                    .field,
                "title"
            );
        }
    }

    /// The OpenAPI document's title pattern says "a character outside this class"; the class must be exactly
    /// what `str::trim` removes, or schema-valid titles get a 422 (and the fuzz stage fails).
    #[test]
    fn the_documented_title_pattern_matches_the_blank_rule() {
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
        let class = pattern
            .strip_prefix("^[^\\u0000]*[^\\u0000")
            .and_then(|rest| rest.split(']').next())
            .expect("^[^NUL]*[^NUL<white space>][^NUL]*$");
        let listed = |c: char| {
            let named = match c {
                '\t' => "\\t",
                '\n' => "\\n",
                '\u{c}' => "\\f",
                '\r' => "\\r",
                ' ' => " ",
                _ => "\0",
            };
            class.contains(named)
                || class.contains(&format!("\\u{:04x}", c as u32))
                || (('\u{2000}'..='\u{200a}').contains(&c) && class.contains("\\u2000-\\u200a"))
        };
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(c.is_whitespace(), listed(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn defaults_fill_missing_fields() {
        let t = ValidNewTask::try_from(new_task("x")).unwrap();
        assert_eq!(
            (t.description.as_str(), t.priority, t.completed),
            ("", Priority::Medium, false)
        );
    }

    #[test]
    fn description_limit_and_nul_are_enforced() {
        let long = NewTask {
            description: Some("d".repeat(10_001)),
            ..new_task("x")
        };
        assert_eq!(
            ValidNewTask::try_from(long).unwrap_err().field,
            "description"
        );
        let nul = TaskPatch {
            description: Some("a\0b".into()),
            ..TaskPatch::default()
        };
        assert_eq!(ValidPatch::try_from(nul).unwrap_err().field, "description");
    }

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_query_parses_every_parameter() {
        let q = ListQuery::from_pairs(&pairs(&[
            ("completed", "true"),
            ("priority", "high,low"),
            ("q", "milk"),
            ("sort", "-priority"),
            ("limit", "5"),
            ("offset", "10"),
        ]))
        .unwrap();
        assert_eq!(q.completed, Some(true));
        assert_eq!(q.priorities, vec![Priority::High, Priority::Low]);
        assert_eq!(q.search.as_deref(), Some("milk"));
        assert_eq!(q.sort, SortKey::PriorityDesc);
        assert_eq!((q.limit, q.offset), (5, 10));
        assert_eq!(ListQuery::from_pairs(&[]).unwrap(), ListQuery::default());
    }

    #[test]
    fn list_query_names_the_bad_parameter() {
        for (name, value) in [
            ("completed", "yes"),
            ("priority", "urgent"),
            ("sort", "id"),
            ("limit", "0"),
            ("limit", "1001"),
            ("offset", "-1"),
            ("colour", "red"),
        ] {
            let err = ListQuery::from_pairs(&pairs(&[(name, value)])).unwrap_err();
            assert_eq!(err.parameter, name);
            assert!(err.message.contains(name), "{}", err.message);
        }
        let err = ListQuery::from_pairs(&pairs(&[("limit", "1"), ("limit", "2")])).unwrap_err();
        assert!(err.message.contains("more than once"));
    }
}
