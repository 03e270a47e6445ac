//! The pages and actions a user sees: the list with its counts, add, toggle, edit, delete, flash
//! messages, filters, search, sort and paging, escaping, and the 404 pages.

use crate::support::{add, count, flash, has_layout, titles, toggle, Stack};
use serde_json::json;
use task_types::limits::DESCRIPTION_MAX_CHARS;

#[tokio::test]
async fn the_list_shows_tasks_newest_first_with_counts_and_priority_badges() {
    let stack = Stack::with_tasks(&[
        ("Oldest chore", "low", true),
        ("Middle chore", "medium", false),
        ("Newest chore", "high", false),
    ])
    .await;
    let page = stack.browser().get("/").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(
        titles(&page.body),
        ["Newest chore", "Middle chore", "Oldest chore"]
    );
    assert_eq!(
        (
            count(&page.body, "total"),
            count(&page.body, "pending"),
            count(&page.body, "completed")
        ),
        (3, 2, 1)
    );
    for badge in [
        "badge badge-high\">High",
        "badge badge-medium\">Medium",
        "badge badge-low\">Low",
    ] {
        assert!(page.body.contains(badge), "{badge} missing");
    }
    assert!(
        page.body.contains("about Newest chore"),
        "descriptions are shown"
    );
    assert!(page.body.contains("Showing 1–3 of 3 tasks"));
}

#[tokio::test]
async fn an_empty_list_says_there_are_no_tasks_yet() {
    let stack = Stack::start();
    let page = stack.browser().get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No tasks yet"));
    assert_eq!(count(&page.body, "total"), 0);
}

#[tokio::test]
async fn adding_a_task_redirects_home_with_a_flash_shown_once() {
    let (stack, mut browser) = Stack::with_session().await;
    let redirect = add(&mut browser, "Buy oat milk", "Two litres", "high").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(redirect.location(), Some("/"));
    let page = browser.follow(&redirect).await;
    assert_eq!(
        flash(&page.body).as_deref(),
        Some("Task &quot;Buy oat milk&quot; added!")
    );
    assert_eq!(titles(&page.body), ["Buy oat milk"]);
    let tasks = stack.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].title.as_str(), tasks[0].description.as_str()),
        ("Buy oat milk", "Two litres")
    );
    assert_eq!(tasks[0].priority.as_str(), "high");
    // Shown once: the next page has no message.
    assert_eq!(flash(&browser.get("/").await.body), None);
}

#[tokio::test]
async fn toggling_marks_a_task_completed_and_pending_again() {
    let (stack, task) = Stack::with_task("Water the plants", "low").await;
    let mut browser = stack.session().await;
    let path = format!("/tasks/{}/toggle", task.id);
    for (completed, message, done) in [
        ("true", "marked as completed!", true),
        ("false", "marked as pending.", false),
    ] {
        let page = browser
            .submit_and_follow(&path, &[("completed", completed)])
            .await;
        let expected = format!("Task &quot;Water the plants&quot; {message}");
        assert_eq!(flash(&page.body), Some(expected));
        assert_eq!(stack.task(task.id).await.unwrap().completed, done);
        assert_eq!(count(&page.body, "completed"), u64::from(done));
        assert_eq!(page.body.contains("class=\"task is-done"), done);
    }
}

#[tokio::test]
async fn editing_shows_the_task_in_a_form_and_saves_the_changes() {
    let (stack, task) = Stack::with_task("Draft the plan", "low").await;
    let mut browser = stack.browser();
    let path = format!("/tasks/{}/edit", task.id);
    let form = browser.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"Draft the plan\""));
    assert!(form.body.contains("<option value=\"low\" selected>"));
    let fields = [
        ("title", "Final plan"),
        ("description", "Reviewed"),
        ("priority", "high"),
        ("completed", "true"),
        ("back", "status=pending"),
    ];
    let redirect = browser.submit(&path, &fields).await;
    assert_eq!(
        redirect.location(),
        Some("/?status=pending"),
        "back to the view the user came from"
    );
    let page = browser.follow(&redirect).await;
    assert_eq!(
        flash(&page.body).as_deref(),
        Some("Task &quot;Final plan&quot; updated!")
    );
    let saved = stack.task(task.id).await.unwrap();
    assert_eq!(
        (
            saved.title.as_str(),
            saved.description.as_str(),
            saved.priority.as_str()
        ),
        ("Final plan", "Reviewed", "high")
    );
    assert!(saved.completed);
    assert!(saved.updated_at > task.updated_at);
}

/// What a browser does with the edit form: it reads the textarea as HTML parses it and sends its
/// line breaks back as CRLF. Saving unchanged must leave the description as it was, even at its bound.
#[tokio::test]
async fn saving_the_edit_form_unchanged_keeps_the_description() {
    let stack = Stack::start();
    let mut browser = stack.session().await;
    let description = format!("\n{}line", "line\n".repeat(1999));
    assert_eq!(description.chars().count(), DESCRIPTION_MAX_CHARS);
    let task = stack
        .create(json!({"title": "Lines", "description": description}))
        .await;
    let path = format!("/tasks/{}/edit", task.id);
    let form = browser.get(&path).await;
    assert!(
        form.body.contains(">\n\nline\nline"),
        "the textarea starts with a newline HTML drops, then the description's own"
    );
    let sent = description.replace('\n', "\r\n");
    let fields = [
        ("title", "Lines"),
        ("description", sent.as_str()),
        ("priority", "medium"),
    ];
    let redirect = browser.submit(&path, &fields).await;
    assert_eq!(redirect.status, 303, "{}", redirect.body);
    assert_eq!(stack.task(task.id).await.unwrap().description, description);
}

#[tokio::test]
async fn deleting_asks_for_confirmation_then_deletes() {
    let (stack, task) = Stack::with_task("Old newsletter", "medium").await;
    let mut browser = stack.browser();
    let confirm = browser.get(&format!("/tasks/{}/delete", task.id)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete this task?") && confirm.body.contains("Old newsletter"));
    assert!(
        confirm
            .body
            .contains(&format!("action=\"/tasks/{}/delete\"", task.id)),
        "a plain form: no JavaScript needed"
    );
    assert!(
        stack.task(task.id).await.is_some(),
        "asking changes nothing"
    );

    let page = browser
        .submit_and_follow(&format!("/tasks/{}/delete", task.id), &[])
        .await;
    assert_eq!(
        flash(&page.body).as_deref(),
        Some("Task &quot;Old newsletter&quot; deleted.")
    );
    assert!(stack.task(task.id).await.is_none());
    assert!(page.body.contains("No tasks yet"));
}

/// The tasks the filter, search and sort tests look through (title, priority, completed), oldest first.
const PANTRY: [(&str, &str, bool); 4] = [
    ("banana bread", "high", false),
    ("apple pie", "low", true),
    ("cherry jam with a needle", "high", true),
    ("date cake", "medium", false),
];

#[tokio::test]
async fn filters_search_and_sort_live_in_the_url() {
    let stack = Stack::with_tasks(&PANTRY).await;
    let mut browser = stack.browser();

    let high = browser.get("/?priority=high").await;
    assert_eq!(
        titles(&high.body),
        ["cherry jam with a needle", "banana bread"]
    );
    assert!(high.body.contains("matching the filters"));
    assert_eq!(count(&high.body, "total"), 4, "the counts cover every task");
    assert!(
        high.body
            .contains("<option value=\"high\" selected>High</option>"),
        "the filter shows as chosen"
    );

    assert_eq!(
        titles(&browser.get("/?status=completed").await.body),
        ["cherry jam with a needle", "apple pie"]
    );
    assert_eq!(
        titles(&browser.get("/?status=pending&priority=medium").await.body),
        ["date cake"]
    );
    assert_eq!(
        titles(&browser.get("/?q=NEEDLE").await.body),
        ["cherry jam with a needle"]
    );
    assert_eq!(
        titles(&browser.get("/?sort=oldest").await.body)[0],
        "banana bread"
    );
    assert_eq!(
        titles(&browser.get("/?sort=title").await.body),
        [
            "apple pie",
            "banana bread",
            "cherry jam with a needle",
            "date cake"
        ]
    );
    let by_priority = titles(&browser.get("/?sort=priority").await.body);
    assert_eq!(by_priority[3], "apple pie", "low comes last");

    let none = browser.get("/?q=nothing-like-this").await;
    assert!(none.body.contains("No tasks match these filters."));
    assert!(!none.body.contains("No tasks yet"));
}

#[tokio::test]
async fn a_list_page_costs_one_backend_call_filtered_or_not() {
    let stack = Stack::with_tasks(&PANTRY).await;
    let mut browser = stack.browser();
    for (page, shown, total, completed) in [
        ("/", 4, 4, 2),
        ("/?priority=high&status=pending", 1, 4, 2),
        ("/?q=pie&per_page=5&page=1", 1, 4, 2),
    ] {
        let before = stack.backend_requests("GET", "/api/tasks").await;
        let body = browser.get(page).await.body;
        let after = stack.backend_requests("GET", "/api/tasks").await;
        assert_eq!(
            after - before,
            1,
            "{page}: the list and its counts in one call"
        );
        assert_eq!(titles(&body).len(), shown, "{page}");
        assert_eq!(count(&body, "total"), total, "{page}");
        assert_eq!(count(&body, "completed"), completed, "{page}");
        assert_eq!(count(&body, "pending"), total - completed, "{page}");
    }
}

#[tokio::test]
async fn long_lists_are_paged_with_links_that_keep_the_filters() {
    let stack = Stack::start();
    for i in 1..=25 {
        stack.seed(&format!("task {i:02}"), "high", false).await;
    }
    let mut browser = stack.browser();
    let first = browser.get("/?priority=high").await;
    assert_eq!(titles(&first.body).len(), 20);
    assert!(first.body.contains("Showing 1–20 of 25 tasks"));
    assert!(first.body.contains("Page 1 of 2"));
    assert!(first
        .body
        .contains("href=\"&#x2F;?priority=high&amp;page=2\" rel=\"next\""));
    let second = browser.get("/?priority=high&page=2").await;
    assert_eq!(
        titles(&second.body),
        ["task 05", "task 04", "task 03", "task 02", "task 01"]
    );
    assert!(second.body.contains("Showing 21–25 of 25 tasks"));
    assert!(second
        .body
        .contains("href=\"&#x2F;?priority=high\" rel=\"prev\""));
    let small = browser.get("/?per_page=10&page=3").await;
    assert_eq!(titles(&small.body).len(), 5);
    let past = browser.get("/?page=9").await;
    assert_eq!(past.status, 200);
    assert!(past.body.contains("past the end of the list"));
}

#[tokio::test]
async fn bad_list_parameters_get_a_readable_400_page() {
    let (_stack, mut browser) = Stack::with_session().await;
    for query in [
        "priority=urgent",
        "status=done",
        "sort=random",
        "page=0",
        "page=abc",
        "per_page=5000",
        "q=%FF",
    ] {
        let page = browser.get(&format!("/?{query}")).await;
        assert_eq!(page.status, 400, "{query}");
        assert!(
            has_layout(&page.body),
            "{query}: the error page shares the layout"
        );
        assert!(page.body.contains("href=\"/\""), "{query}: a way back");
    }
}

#[tokio::test]
async fn task_text_is_escaped_everywhere() {
    let (stack, task) = Stack::with_task("<script>alert(1)</script>", "high").await;
    let mut browser = stack.browser();
    for path in [
        "/".to_owned(),
        format!("/tasks/{}/edit", task.id),
        format!("/tasks/{}/delete", task.id),
    ] {
        let page = browser.get(&path).await;
        assert!(
            !page.body.contains("<script>alert(1)"),
            "{path} shows the title as markup"
        );
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
            "{path} shows the title as text"
        );
    }
    // Also in a flash message, which carries the title through a cookie.
    let page = browser
        .submit_and_follow(
            &format!("/tasks/{}/toggle", task.id),
            &[("completed", "true")],
        )
        .await;
    assert!(flash(&page.body).unwrap().contains("&lt;script&gt;"));
}

#[tokio::test]
async fn missing_tasks_and_unknown_pages_get_404_pages_with_the_layout() {
    let (stack, task) = Stack::with_task("Soon gone", "low").await;
    let mut browser = stack.session().await;
    let gone = uuid::Uuid::new_v4();
    for path in [
        format!("/tasks/{gone}/edit"),
        format!("/tasks/{gone}/delete"),
        "/tasks/not-a-uuid/edit".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.body.contains("Task not found") && has_layout(&page.body),
            "{path}"
        );
        assert!(page.body.contains("Back to your tasks"));
    }
    let page = browser.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found") && has_layout(&page.body));

    // A task deleted in another tab: its forms answer 404 too.
    browser
        .submit(&format!("/tasks/{}/delete", task.id), &[])
        .await;
    let toggle = toggle(&mut browser, &task, "true").await;
    assert_eq!(toggle.status, 404);
    assert!(toggle.body.contains("Task not found"));
}

#[tokio::test]
async fn a_page_the_backend_cuts_short_says_so_and_links_to_a_page_size_that_shows_every_task() {
    let stack = Stack::start();
    // 60 descriptions of the longest allowed text pass the backend's page bound (512 KiB of text).
    let description = "x".repeat(10_000);
    for i in 0..60 {
        stack
            .create(json!({ "title": format!("Long task {i:02}"), "description": description }))
            .await;
    }
    let mut browser = stack.browser();
    let page = browser.get("/?per_page=100").await;
    assert_eq!(page.status, 200);
    let shown = titles(&page.body).len();
    assert!(
        shown > 0 && shown < 60,
        "the backend should cut this page short: {shown} shown"
    );
    assert!(
        page.body.contains("too long to show 100 at once"),
        "the cut is said on the page"
    );
    let notice = page.body.split("id=\"page-cut\"").nth(1).unwrap();
    let notice = &notice[..notice.find("</p>").unwrap()];
    assert!(
        notice.contains(&format!("per_page={shown}\"")),
        "no link to {shown} a page in {notice}"
    );

    // At that page size, the pages together hold every task once.
    let mut seen = Vec::new();
    for number in 1..=60_usize.div_ceil(shown) {
        let page = browser
            .get(&format!("/?per_page={shown}&page={number}"))
            .await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("id=\"page-cut\""),
            "page {number} is cut too"
        );
        seen.extend(titles(&page.body));
    }
    seen.sort();
    let expected: Vec<String> = (0..60).map(|i| format!("Long task {i:02}")).collect();
    assert_eq!(seen, expected);
}
