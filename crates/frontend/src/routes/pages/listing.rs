//! The task list's view: filters, search, sort and paging as they appear in the page's URL
//! (`/?status=pending&priority=high&q=milk&sort=oldest&page=2`), so a view can be bookmarked.

use serde::{Deserialize, Serialize};
use task_types::{ListQuery, Priority, SortField, SortKey};

use crate::config::limits::{MAX_PAGE, MAX_PER_PAGE, MAX_SEARCH_CHARS};

pub const DEFAULT_PER_PAGE: u32 = 20;

/// The query string as it arrives: every field optional and still text.
#[derive(Debug, Default, Deserialize)]
pub struct RawListParams {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Pending,
    Completed,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 3] = [
        StatusFilter::All,
        StatusFilter::Pending,
        StatusFilter::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Pending => "pending",
            StatusFilter::Completed => "completed",
        }
    }

    fn completed(self) -> Option<bool> {
        match self {
            StatusFilter::All => None,
            StatusFilter::Pending => Some(false),
            StatusFilter::Completed => Some(true),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Newest,
    Oldest,
    Priority,
    Title,
}

impl SortOrder {
    pub const ALL: [SortOrder; 4] = [
        SortOrder::Newest,
        SortOrder::Oldest,
        SortOrder::Priority,
        SortOrder::Title,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Newest => "newest",
            SortOrder::Oldest => "oldest",
            SortOrder::Priority => "priority",
            SortOrder::Title => "title",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortOrder::Newest => "Newest first",
            SortOrder::Oldest => "Oldest first",
            SortOrder::Priority => "Priority (high first)",
            SortOrder::Title => "Title (A–Z)",
        }
    }

    fn backend_key(self) -> SortKey {
        match self {
            SortOrder::Newest => SortKey::desc(SortField::CreatedAt),
            SortOrder::Oldest => SortKey::asc(SortField::CreatedAt),
            SortOrder::Priority => SortKey::desc(SortField::Priority),
            SortOrder::Title => SortKey::asc(SortField::Title),
        }
    }
}

/// A validated view of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub status: StatusFilter,
    pub priority: Option<Priority>,
    pub q: String,
    pub sort: SortOrder,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            status: StatusFilter::All,
            priority: None,
            q: String::new(),
            sort: SortOrder::Newest,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl ListParams {
    /// Validates the query; the error says which parameter is wrong and what it accepts.
    pub fn parse(raw: &RawListParams) -> Result<Self, String> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let status = match text(&raw.status) {
            None => StatusFilter::All,
            Some(v) => one_of(StatusFilter::ALL, StatusFilter::as_str, &v).ok_or_else(|| {
                format!("Unknown status filter {v:?}: use all, pending or completed.")
            })?,
        };
        let priority = match text(&raw.priority) {
            None => None,
            Some(v) if v == "all" => None,
            Some(v) => Some(
                v.parse::<Priority>()
                    .map_err(|_| format!("Unknown priority {v:?}: use low, medium or high."))?,
            ),
        };
        let sort = match text(&raw.sort) {
            None => SortOrder::Newest,
            Some(v) => one_of(SortOrder::ALL, SortOrder::as_str, &v).ok_or_else(|| {
                format!("Unknown sort order {v:?}: use newest, oldest, priority or title.")
            })?,
        };
        let number = |name: &str, v: &Option<String>, max: u32| -> Result<Option<u32>, String> {
            match text(v) {
                None => Ok(None),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(format!(
                        "The {name} must be a whole number from 1 to {max}, not {v:?}."
                    )),
                },
            }
        };
        let page = number("page", &raw.page, MAX_PAGE)?.unwrap_or(1);
        let per_page =
            number("page size", &raw.per_page, MAX_PER_PAGE)?.unwrap_or(DEFAULT_PER_PAGE);
        let q = text(&raw.q).unwrap_or_default();
        if q.chars().count() > MAX_SEARCH_CHARS {
            return Err(format!(
                "The search is too long: at most {MAX_SEARCH_CHARS} characters."
            ));
        }
        Ok(ListParams {
            status,
            priority,
            q,
            sort,
            page,
            per_page,
        })
    }

    /// Parses a query string such as the `back` field of a form (the view to return to).
    pub fn from_query_string(query: &str) -> Option<Self> {
        let raw: RawListParams = serde_urlencoded::from_str(query.trim_start_matches('?')).ok()?;
        Self::parse(&raw).ok()
    }

    /// Whether anything narrows the list.
    pub fn is_filtered(&self) -> bool {
        self.status != StatusFilter::All || self.priority.is_some() || !self.q.is_empty()
    }

    /// What to ask the backend for this view.
    pub fn backend_request(&self) -> ListQuery {
        let offset = u64::from(self.page - 1) * u64::from(self.per_page);
        ListQuery {
            completed: self.status.completed(),
            priorities: self.priority.into_iter().collect(),
            search: Some(self.q.clone()).filter(|q| !q.is_empty()),
            sort: self.sort.backend_key(),
            limit: i64::from(self.per_page),
            // At most 999,999 pages of 100: far inside i64.
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            counts: true,
        }
    }

    /// The query string of this view at `page`, with defaults left out (`""` for the plain list).
    pub fn query_string(&self, page: u32) -> String {
        #[derive(Serialize)]
        struct Query<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            priority: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            q: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sort: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            page: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            per_page: Option<u32>,
        }
        let query = Query {
            status: (self.status != StatusFilter::All).then_some(self.status.as_str()),
            priority: self.priority.map(Priority::as_str),
            q: Some(self.q.as_str()).filter(|q| !q.is_empty()),
            sort: (self.sort != SortOrder::Newest).then_some(self.sort.as_str()),
            page: Some(page).filter(|p| *p > 1),
            per_page: Some(self.per_page).filter(|n| *n != DEFAULT_PER_PAGE),
        };
        serde_urlencoded::to_string(query).expect("plain fields serialize")
    }

    /// The list's URL for this view at `page`.
    pub fn url(&self, page: u32) -> String {
        match self.query_string(page) {
            q if q.is_empty() => "/".to_owned(),
            q => format!("/?{q}"),
        }
    }

    /// The list's URL with `per_page` tasks a page, at the page that holds this page's first task.
    pub fn url_with_per_page(&self, per_page: u32) -> String {
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let first = u64::from(self.page - 1) * u64::from(self.per_page);
        let page = u32::try_from(first / u64::from(per_page) + 1).unwrap_or(u32::MAX);
        ListParams {
            per_page,
            ..self.clone()
        }
        .url(page)
    }
}

/// The choice among `all` whose name is `value`.
fn one_of<T: Copy, const N: usize>(
    all: [T; N],
    name: fn(T) -> &'static str,
    value: &str,
) -> Option<T> {
    all.into_iter().find(|choice| name(*choice) == value)
}

/// Where a form sends the browser back to: the list view named in its `back` field, or the
/// plain list. Only ever a path on this site (never an open redirect).
pub fn back_url(back: Option<&str>) -> String {
    back.and_then(ListParams::from_query_string)
        .map(|view| view.url(view.page))
        .unwrap_or_else(|| "/".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smaller_page_size_starts_at_the_page_holding_the_same_first_task() {
        let view = ListParams::parse(&raw("status=pending&per_page=100&page=3")).unwrap();
        // Task 201 is the first of page 3 at 100 a page, and the first of page 5 at 50 a page.
        assert_eq!(
            view.url_with_per_page(50),
            "/?status=pending&page=5&per_page=50"
        );
        assert_eq!(
            view.url_with_per_page(0),
            "/?status=pending&page=201&per_page=1"
        );
    }

    fn raw(query: &str) -> RawListParams {
        serde_urlencoded::from_str(query).unwrap()
    }

    #[test]
    fn the_plain_list_is_newest_first_page_one() {
        let view = ListParams::parse(&raw("")).unwrap();
        assert_eq!(view, ListParams::default());
        assert_eq!(view.url(1), "/");
        let request = view.backend_request();
        assert_eq!(
            (request.sort.as_str(), request.limit, request.offset),
            ("-created_at", 20, 0)
        );
    }

    #[test]
    fn a_view_round_trips_through_its_url() {
        let view = ListParams::parse(&raw(
            "status=pending&priority=high&q=milk+%26+eggs&sort=title&page=3",
        ))
        .unwrap();
        assert_eq!(
            view.url(3),
            "/?status=pending&priority=high&q=milk+%26+eggs&sort=title&page=3"
        );
        assert_eq!(
            ListParams::from_query_string(&view.query_string(3)),
            Some(view.clone())
        );
        let request = view.backend_request();
        assert_eq!(request.completed, Some(false));
        assert_eq!(request.priorities, [Priority::High]);
        assert_eq!(request.search.as_deref(), Some("milk & eggs"));
        assert_eq!(request.offset, 40);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, expected) in [
            ("status=done", "status"),
            ("priority=urgent", "priority"),
            ("sort=random", "sort"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("per_page=5000", "page size"),
        ] {
            let err = ListParams::parse(&raw(query)).unwrap_err();
            assert!(err.contains(expected), "{query}: {err}");
        }
    }

    #[test]
    fn back_urls_stay_on_this_site() {
        assert_eq!(
            back_url(Some("status=completed&page=2")),
            "/?status=completed&page=2"
        );
        assert_eq!(back_url(Some("//evil.example/")), "/");
        assert_eq!(back_url(Some("https://evil.example/?status=all")), "/");
        assert_eq!(back_url(Some("priority=urgent")), "/");
        assert_eq!(back_url(None), "/");
    }
}
