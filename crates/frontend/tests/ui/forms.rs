//! Refused input: the form comes back with the message next to the field and the input kept,
//! with the right status, and nothing changes. Includes what a careless or hostile client sends.

use crate::support::{add, has_layout, toggle, Stack};

fn field_error<'a>(body: &'a str, field: &str) -> Option<&'a str> {
    let marker = format!("id=\"{field}-error\">");
    let start = body.find(&marker)? + marker.len();
    Some(&body[start..start + body[start..].find("</p>")?])
}

#[tokio::test]
async fn a_blank_title_is_refused_by_the_backend_and_the_form_comes_back_filled_in() {
    let (stack, mut browser) = Stack::with_session().await;
    let page = add(&mut browser, "   ", "keep this text", "low").await;
    assert_eq!(page.status, 422);
    let message = field_error(&page.body, "title").expect("a message next to the title");
    assert!(!message.is_empty());
    assert!(page
        .body
        .contains("aria-invalid=\"true\" aria-describedby=\"title-error\""));
    assert!(
        page.body.contains(">\nkeep this text</textarea>"),
        "the description is kept"
    );
    assert!(
        page.body.contains("<option value=\"low\" selected>"),
        "the priority is kept"
    );
    assert!(stack.tasks().await.is_empty());
}

#[tokio::test]
async fn an_over_long_title_comes_back_with_the_backends_message() {
    let (stack, mut browser) = Stack::with_session().await;
    let title = "x".repeat(300);
    let page = add(&mut browser, &title, "", "medium").await;
    assert_eq!(page.status, 422);
    assert!(
        field_error(&page.body, "title").unwrap().contains("255"),
        "the message names the limit"
    );
    assert!(
        page.body.contains(&format!("value=\"{title}\"")),
        "the input is kept"
    );
    assert!(stack.tasks().await.is_empty());
}

#[tokio::test]
async fn an_unknown_priority_is_refused_next_to_its_field() {
    let (stack, task) = Stack::with_task("Keep me as I am", "low").await;
    let mut browser = stack.session().await;
    let page = browser
        .add_task(&[("title", "Urgent thing"), ("priority", "urgent")])
        .await;
    assert_eq!(page.status, 422);
    assert!(field_error(&page.body, "priority")
        .unwrap()
        .contains("low, medium or high"));
    assert!(page.body.contains("value=\"Urgent thing\""));

    let edit = browser
        .submit(
            &format!("/tasks/{}/edit", task.id),
            &[("title", "Changed"), ("priority", "")],
        )
        .await;
    assert_eq!(edit.status, 422);
    assert!(field_error(&edit.body, "priority").is_some());
    assert!(
        edit.body.contains("value=\"Changed\""),
        "the edit form keeps the input"
    );
    assert_eq!(stack.tasks().await, vec![task], "nothing changed");
}

#[tokio::test]
async fn a_refused_edit_shows_the_edit_form_again() {
    let (stack, task) = Stack::with_task("Original title", "medium").await;
    let mut browser = stack.browser();
    let path = format!("/tasks/{}/edit", task.id);
    browser.get(&path).await;
    let page = browser
        .submit(
            &path,
            &[
                ("title", ""),
                ("description", "new words"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Edit task"));
    assert!(field_error(&page.body, "title").is_some());
    assert!(page.body.contains(">\nnew words</textarea>"));
    assert!(page.body.contains("<option value=\"high\" selected>"));
    assert_eq!(stack.task(task.id).await.unwrap(), task, "nothing changed");
}

#[tokio::test]
async fn oversized_fields_get_a_readable_page_and_change_nothing() {
    let (stack, mut browser) = Stack::with_session().await;
    // 100 KB fits the form limit but not the backend's 64 KiB body limit: refused before it is sent.
    let title = "t".repeat(100_000);
    let page = browser
        .add_task(&[("title", &title), ("priority", "low")])
        .await;
    assert_eq!(page.status, 422);
    assert!(field_error(&page.body, "title").is_some());
    // A description over the backend's 10,000 characters.
    let long = "d".repeat(10_001);
    let page = browser
        .add_task(&[("title", "ok"), ("description", &long), ("priority", "low")])
        .await;
    assert_eq!(page.status, 422);
    assert!(field_error(&page.body, "description").is_some());
    // Beyond the form limit the body is not even read.
    let huge = "h".repeat(300_000);
    let page = browser
        .add_task(&[("title", &huge), ("priority", "low")])
        .await;
    assert_eq!(page.status, 413);
    assert!(page.body.contains("Too much text") && has_layout(&page.body));
    assert!(stack.tasks().await.is_empty());
}

#[tokio::test]
async fn malformed_form_bodies_get_a_readable_400_page() {
    let (stack, task) = Stack::with_task("Untouched", "low").await;
    let mut browser = stack.session().await;
    let token = browser.csrf_token().unwrap().to_owned();
    let json = format!(r#"{{"csrf_token":"{token}","title":"sneaky"}}"#).into_bytes();
    let page = browser.post_raw("/tasks", "application/json", json).await;
    assert_eq!(page.status, 400);
    assert!(has_layout(&page.body));
    let repeated = format!("csrf_token={token}&title=a&title=b&priority=low").into_bytes();
    let page = browser
        .post_raw("/tasks", "application/x-www-form-urlencoded", repeated)
        .await;
    assert_eq!(page.status, 400, "a field given twice");
    // Escapes that are not UTF-8 would be stored as U+FFFD; escaped UTF-8 is text like any other.
    for (title, status) in [("%FF%FE", 400), ("%C3%89clair", 303)] {
        let body = format!("csrf_token={token}&title={title}&priority=low").into_bytes();
        let page = browser
            .post_raw("/tasks", "application/x-www-form-urlencoded", body)
            .await;
        assert_eq!(page.status, status, "title={title}");
        assert!(status == 303 || has_layout(&page.body), "title={title}");
    }
    let toggle = toggle(&mut browser, &task, "maybe").await;
    assert_eq!(toggle.status, 400);
    let titles: Vec<String> = stack.tasks().await.into_iter().map(|t| t.title).collect();
    assert_eq!(
        titles,
        ["Éclair", "Untouched"],
        "only the valid form added a task"
    );
}

/// Text far over its bound would make JSON past the backend's body limit, whose 413 names no field:
/// the message still goes next to the field, on the add and the edit form.
#[tokio::test]
async fn text_far_over_its_bound_is_named_beside_its_field() {
    let (stack, mut browser) = Stack::with_session().await;
    let long = "x".repeat(70_000);
    let page = add(&mut browser, "Essay", &long, "low").await;
    assert_eq!(page.status, 422);
    assert_eq!(
        field_error(&page.body, "description"),
        task_types::limits::description_length_error(&long).as_deref()
    );
    let task = stack.seed("Short", "low", false).await;
    let path = format!("/tasks/{}/edit", task.id);
    browser.get(&path).await;
    let fields = [
        ("title", long.as_str()),
        ("description", ""),
        ("priority", "low"),
    ];
    let page = browser.submit(&path, &fields).await;
    assert_eq!(page.status, 422);
    assert!(field_error(&page.body, "title").is_some_and(|m| m.contains("at most")));
    assert_eq!(stack.tasks().await, vec![task], "nothing added or changed");
}
