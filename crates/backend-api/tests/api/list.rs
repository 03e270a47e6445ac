//! `GET /api/tasks`: every filter, sort and page, and `X-Total-Count`.

use reqwest::Method;
use serde_json::json;
use task_types::Task;

use crate::support::{expect_error, TestApp};

/// Five tasks created in this order (so `created_at` increases), then two of them updated.
async fn seed(app: &TestApp) -> Vec<Task> {
    let specs = [
        json!({"title": "banana bread", "priority": "low", "description": "bake"}),
        json!({"title": "Apple pie", "priority": "high", "completed": true}),
        json!({"title": "cherry jam", "priority": "medium", "description": "Buy SUGAR"}),
        json!({"title": "Date night", "priority": "high"}),
        json!({"title": "eggplant 100%_off", "priority": "low", "completed": true}),
    ];
    let mut tasks = Vec::new();
    for spec in specs {
        tasks.push(app.create(spec).await);
    }
    // Touch the oldest ones so that updated_at order differs from created_at order.
    for i in [1, 0] {
        let path = format!("/api/tasks/{}", tasks[i].id);
        let res = app
            .send_json(
                Method::PATCH,
                &path,
                &json!({"description": format!("touched {i}")}),
            )
            .await;
        tasks[i] = res.json().await.unwrap();
    }
    tasks
}

async fn titles(app: &TestApp, query: &str) -> (Vec<String>, String) {
    let res = app.get(&format!("/api/tasks{query}")).await;
    assert_eq!(res.status(), 200, "{query}");
    let total = res.headers()["x-total-count"].to_str().unwrap().to_owned();
    let tasks: Vec<Task> = res.json().await.unwrap();
    (tasks.into_iter().map(|t| t.title).collect(), total)
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn filters_by_status_priority_and_search() {
    let app = TestApp::start();
    seed(&app).await;
    let cases: [(&str, &[&str]); 10] = [
        ("?completed=true", &["eggplant 100%_off", "Apple pie"]),
        (
            "?completed=false",
            &["Date night", "cherry jam", "banana bread"],
        ),
        ("?priority=high", &["Date night", "Apple pie"]),
        (
            "?priority=low,medium",
            &["eggplant 100%_off", "cherry jam", "banana bread"],
        ),
        ("?priority=high&completed=false", &["Date night"]),
        ("?q=APPLE", &["Apple pie"]),  // case-insensitive, title
        ("?q=sugar", &["cherry jam"]), // description
        ("?q=touched", &["Apple pie", "banana bread"]),
        ("?q=100%25_", &["eggplant 100%_off"]), // % and _ match themselves
        ("?q=%25", &["eggplant 100%_off"]),
    ];
    for (query, expected) in cases {
        let (got, total) = titles(&app, query).await;
        assert_eq!(got, strs(expected), "{query}");
        assert_eq!(total, expected.len().to_string(), "{query}");
    }
    let (none, total) = titles(&app, "?q=zzz").await;
    assert!(none.is_empty());
    assert_eq!(total, "0");
    let (all, _) = titles(&app, "?q=").await;
    assert_eq!(all.len(), 5, "an empty search matches everything");
}

#[tokio::test]
async fn sorts_by_every_key_both_ways() {
    let app = TestApp::start();
    seed(&app).await;
    let newest_first = [
        "eggplant 100%_off",
        "Date night",
        "cherry jam",
        "Apple pie",
        "banana bread",
    ];
    let cases: [(&str, [&str; 5]); 9] = [
        ("", newest_first),
        ("?sort=-created_at", newest_first),
        (
            "?sort=created_at",
            [
                "banana bread",
                "Apple pie",
                "cherry jam",
                "Date night",
                "eggplant 100%_off",
            ],
        ),
        (
            "?sort=-updated_at",
            [
                "banana bread",
                "Apple pie",
                "eggplant 100%_off",
                "Date night",
                "cherry jam",
            ],
        ),
        (
            "?sort=updated_at",
            [
                "cherry jam",
                "Date night",
                "eggplant 100%_off",
                "Apple pie",
                "banana bread",
            ],
        ),
        // high first; ties newest first
        (
            "?sort=-priority",
            [
                "Date night",
                "Apple pie",
                "cherry jam",
                "eggplant 100%_off",
                "banana bread",
            ],
        ),
        // low first; ties oldest first
        (
            "?sort=priority",
            [
                "banana bread",
                "eggplant 100%_off",
                "cherry jam",
                "Apple pie",
                "Date night",
            ],
        ),
        (
            // Alphabetical whatever the case, not byte order ("Date" before "banana").
            "?sort=title",
            [
                "Apple pie",
                "banana bread",
                "cherry jam",
                "Date night",
                "eggplant 100%_off",
            ],
        ),
        (
            "?sort=-title",
            [
                "eggplant 100%_off",
                "Date night",
                "cherry jam",
                "banana bread",
                "Apple pie",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&app, query).await.0, strs(&expected), "{query}");
    }
}

#[tokio::test]
async fn pages_with_limit_and_offset_and_counts_all_matches() {
    let app = TestApp::start();
    for i in 0..25 {
        app.create(json!({"title": format!("task {i:02}"), "priority": if i % 2 == 0 { "high" } else { "low" }})).await;
    }
    let (page, total) = titles(&app, "?sort=title&limit=10").await;
    assert_eq!((page.len(), total.as_str()), (10, "25"));
    assert_eq!(page[0], "task 00");
    let (page, total) = titles(&app, "?sort=title&limit=10&offset=20").await;
    assert_eq!(
        page,
        strs(&["task 20", "task 21", "task 22", "task 23", "task 24"])
    );
    assert_eq!(total, "25");
    let (page, total) = titles(&app, "?sort=title&offset=100").await;
    assert!(page.is_empty());
    assert_eq!(total, "25", "the count survives an offset past the end");
    let (page, total) = titles(&app, "?priority=high&sort=title&limit=3&offset=3").await;
    assert_eq!(page, strs(&["task 06", "task 08", "task 10"]));
    assert_eq!(total, "13");

    // The default page is 100 and the maximum 1000.
    for i in 25..120 {
        app.create(json!({"title": format!("task {i:03}")})).await;
    }
    let (page, total) = titles(&app, "").await;
    assert_eq!((page.len(), total.as_str()), (100, "120"));
    let (page, _) = titles(&app, "?limit=1000").await;
    assert_eq!(page.len(), 120);
}

/// A page stops before the task that would take its titles and descriptions past 512 KiB, and says it was
/// cut only when it was; the next `offset` goes on from there.
#[tokio::test]
async fn a_page_stops_at_512_kib_of_text_and_says_so() {
    let app = TestApp::start();
    // 14 tasks of the longest description, in 4-byte characters (40,000 bytes), and titles of 6 or 7
    // bytes: 13 fit in 512 KiB (520,082 bytes), the 14th would not.
    app.db.seed_tasks(14, "repeat(chr(119070), 10000)");
    let app = &app;
    let page = |query: &'static str| async move {
        let res = app.get(&format!("/api/tasks?{query}")).await;
        assert_eq!(res.status(), 200, "{query}");
        let truncated = res.headers().get("x-page-truncated").is_some();
        let total = res.headers()["x-total-count"].to_str().unwrap().to_owned();
        let tasks: Vec<Task> = res.json().await.unwrap();
        let titles: Vec<String> = tasks.into_iter().map(|t| t.title).collect();
        (titles, total, truncated)
    };
    let seeds = |range: std::ops::RangeInclusive<usize>| -> Vec<String> {
        range.map(|i| format!("seed {i}")).collect()
    };
    let total = "14".to_owned();
    assert_eq!(
        page("sort=created_at").await,
        (seeds(1..=13), total.clone(), true)
    );
    assert_eq!(
        page("sort=created_at&offset=13").await,
        (seeds(14..=14), total.clone(), false)
    );
    assert_eq!(
        page("sort=created_at&limit=13").await,
        (seeds(1..=13), total.clone(), false),
        "a page that reached its limit was not cut"
    );
    assert_eq!(
        page("sort=created_at&offset=2").await,
        (seeds(3..=14), total.clone(), false)
    );
    // The cut follows the page's own order.
    let newest_first: Vec<String> = seeds(2..=14).into_iter().rev().collect();
    assert_eq!(page("sort=-created_at").await, (newest_first, total, true));
}

#[tokio::test]
async fn counts_true_adds_every_task_and_the_completed_ones_whatever_the_filters() {
    let app = TestApp::start();
    seed(&app).await;
    let counts = |res: &reqwest::Response| {
        ["x-total-count", "x-count-all", "x-count-completed"]
            .map(|h| res.headers().get(h).map(|v| v.to_str().unwrap().to_owned()))
    };
    for (query, expected) in [
        // The page's own total follows the filters; the two counts never do.
        ("?counts=true", ["5", "5", "2"]),
        ("?counts=true&completed=false&limit=1", ["3", "5", "2"]),
        ("?counts=true&priority=high&q=pie", ["1", "5", "2"]),
        ("?counts=true&q=nothing%20matches", ["0", "5", "2"]),
        ("?counts=true&offset=50", ["5", "5", "2"]),
    ] {
        let res = app.get(&format!("/api/tasks{query}")).await;
        assert_eq!(res.status(), 200, "{query}");
        assert_eq!(
            counts(&res),
            expected.map(|c| Some(c.to_owned())),
            "{query}"
        );
    }
    // Without it (or with false) the answer is as before: no extra headers, no extra query.
    for query in ["", "?counts=false"] {
        let res = app.get(&format!("/api/tasks{query}")).await;
        assert_eq!(counts(&res), [Some("5".to_owned()), None, None], "{query}");
    }
}

#[tokio::test]
async fn invalid_parameters_are_400_naming_the_parameter() {
    let app = TestApp::start();
    let cases = [
        ("completed=yes", "completed"),
        ("completed=", "completed"),
        ("priority=urgent", "priority"),
        ("priority=high,", "priority"),
        ("sort=id", "sort"),
        ("sort=created_at;DROP TABLE tasks", "sort"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("colour=red", "colour"),
        ("counts=yes", "counts"),
        ("limit=5&limit=6", "limit"),
        // Escapes that are not UTF-8: not searched for as U+FFFD.
        ("q=%FF", "q"),
        ("sort=title&q=caf%C3", "q"),
    ];
    for (query, parameter) in cases {
        let body = expect_error(app.get(&format!("/api/tasks?{query}")).await, 400).await;
        assert_eq!(body["field"], parameter, "{query} → {body}");
        assert!(
            body["error"].as_str().unwrap().contains(parameter),
            "{body}"
        );
    }
    let long = "x".repeat(1001);
    expect_error(app.get(&format!("/api/tasks?q={long}")).await, 400).await;
}

#[tokio::test]
async fn a_search_with_a_nul_character_matches_nothing() {
    let app = TestApp::start();
    app.create(json!({"title": "anything", "priority": "low"}))
        .await;
    let (got, total) = titles(&app, "?q=a%00b").await;
    assert!(got.is_empty());
    assert_eq!(total, "0");
    assert_eq!(titles(&app, "?priority=low").await.0.len(), 1);
}
