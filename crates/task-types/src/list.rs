//! The query of `GET /api/tasks`, written once: the backend parses it ([`ListQuery::from_pairs`]), the frontend
//! writes it ([`ListQuery::to_pairs`]), and each accepts what the other produces.

use crate::limits::{LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, SEARCH_MAX_CHARS};
use crate::Priority;

/// A column the list can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    Priority,
    Title,
}

/// An ordering of the list: a field and a direction (`-` in the query means descending).
///
/// Ties are broken by `id` in the same direction, so that pages are stable; ordering by priority breaks
/// ties by `created_at` first, then `id` (the list's indexes are built for exactly these orders).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

impl SortKey {
    pub const fn asc(field: SortField) -> Self {
        SortKey {
            field,
            descending: false,
        }
    }

    pub const fn desc(field: SortField) -> Self {
        SortKey {
            field,
            descending: true,
        }
    }

    /// Every order and its name in the query: the one list of sort keys.
    pub const ALL: [(&'static str, SortKey); 8] = [
        ("created_at", SortKey::asc(SortField::CreatedAt)),
        ("-created_at", SortKey::desc(SortField::CreatedAt)),
        ("updated_at", SortKey::asc(SortField::UpdatedAt)),
        ("-updated_at", SortKey::desc(SortField::UpdatedAt)),
        ("priority", SortKey::asc(SortField::Priority)),
        ("-priority", SortKey::desc(SortField::Priority)),
        ("title", SortKey::asc(SortField::Title)),
        ("-title", SortKey::desc(SortField::Title)),
    ];

    /// The key's name in the query string, e.g. `-created_at`.
    pub fn as_str(self) -> &'static str {
        SortKey::ALL
            .iter()
            .find(|(_, key)| *key == self)
            .map(|(name, _)| *name)
            .expect("ALL lists every field in both directions")
    }

    pub fn parse(name: &str) -> Option<SortKey> {
        SortKey::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, key)| *key)
    }
}

/// Newest first.
impl Default for SortKey {
    fn default() -> Self {
        SortKey::desc(SortField::CreatedAt)
    }
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

/// A query parameter that is unknown, repeated or has a bad value: the backend answers 400 naming it.
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
                        .map_err(|_| {
                            bad(format!(
                                "query parameter 'priority' must be {} or a comma list of them",
                                Priority::names().join(", ")
                            ))
                        })?;
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
                    query.sort = SortKey::parse(value).ok_or_else(|| {
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

    /// The `name=value` pairs (not yet URL-encoded) that [`ListQuery::from_pairs`] reads back as this query.
    /// `limit` is always sent, kept within 1-[`LIST_LIMIT_MAX`]; `offset` and the filters only when set.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("limit", self.limit.clamp(1, LIST_LIMIT_MAX).to_string())];
        if self.offset > 0 {
            pairs.push(("offset", self.offset.to_string()));
        }
        if let Some(completed) = self.completed {
            pairs.push(("completed", completed.to_string()));
        }
        if !self.priorities.is_empty() {
            let names: Vec<&str> = self.priorities.iter().map(|p| p.as_str()).collect();
            pairs.push(("priority", names.join(",")));
        }
        if let Some(q) = self.search.as_ref().filter(|q| !q.is_empty()) {
            pairs.push(("q", q.clone()));
        }
        // The backend's default order is not spelled out, as before ListQuery was shared.
        if self.sort != SortKey::default() {
            pairs.push(("sort", self.sort.as_str().to_owned()));
        }
        if self.counts {
            pairs.push(("counts", "true".to_owned()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn owned(pairs: Vec<(&'static str, String)>) -> Vec<(String, String)> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
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
        assert_eq!(q.sort, SortKey::desc(SortField::Priority));
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

    /// What the frontend sends is exactly the documented query, and the backend reads it back unchanged.
    #[test]
    fn list_queries_become_the_documented_query_and_back() {
        let query = ListQuery {
            completed: Some(false),
            priorities: vec![Priority::High],
            search: Some("milk & eggs".to_owned()),
            sort: SortKey::desc(SortField::Priority),
            limit: 20,
            offset: 40,
            counts: true,
        };
        let expected = [
            ("limit", "20"),
            ("offset", "40"),
            ("completed", "false"),
            ("priority", "high"),
            ("q", "milk & eggs"),
            ("sort", "-priority"),
            ("counts", "true"),
        ];
        let written = query.to_pairs();
        assert_eq!(
            written
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
            expected
        );
        assert_eq!(ListQuery::from_pairs(&owned(written)).unwrap(), query);

        let defaults = ListQuery {
            limit: 0,
            ..ListQuery::default()
        }
        .to_pairs();
        assert_eq!(
            defaults,
            vec![("limit", "1".to_owned())],
            "limit stays within the backend's 1-1000"
        );
    }

    #[test]
    fn every_sort_key_has_one_name() {
        for (name, key) in SortKey::ALL {
            assert_eq!(key.as_str(), name);
            assert_eq!(SortKey::parse(name), Some(key));
            assert_eq!(name.starts_with('-'), key.descending, "{name}");
        }
        assert_eq!(SortKey::default().as_str(), "-created_at");
    }
}
