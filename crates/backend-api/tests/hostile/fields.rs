//! SQL and HTML in every field: stored and returned as plain text, never run, never rendered.

use serde_json::{json, Value};

use crate::support::{attack, expect_error, Target};

const NASTY: [&str; 8] = [
    "'; DROP TABLE tasks; --",
    "\" OR \"1\"=\"1",
    "1' OR '1'='1' --",
    "Robert'); DELETE FROM tasks WHERE ('1'='1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} %s %n \\x00",
    "%_\\%",
];

#[test]
fn sql_and_html_in_text_fields_are_stored_as_text() {
    let target = Target::start();
    let mut expected_total = 2;
    for text in NASTY {
        let created = target.create(&json!({"title": text, "description": text}).to_string());
        expected_total += 1;
        assert_eq!(created["title"], text, "stored as sent");
        assert_eq!(created["description"], text);
        let id = created["id"].as_str().unwrap();
        let res = target.request("GET", &format!("/api/tasks/{id}"), &[], b"");
        assert_eq!(res.status, 200);
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "JSON, never HTML"
        );
        assert_eq!(res.json()["title"], text);

        let patched = target.json(
            "PATCH",
            &format!("/api/tasks/{id}"),
            json!({"description": format!("again {text}")})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(patched.status, 200, "{}", patched.text());
        assert_eq!(patched.json()["description"], format!("again {text}"));

        // A search for the text finds exactly this task: the text is a literal substring, not a pattern.
        let res = target.request(
            "GET",
            &format!(
                "/api/tasks?{}",
                serde_urlencoded::to_string([("q", text)]).unwrap()
            ),
            &[],
            b"",
        );
        assert_eq!(res.status, 200, "{}", res.text());
        let found = res.json();
        assert!(
            found.as_array().unwrap().iter().any(|t| t["id"] == id),
            "searching {text:?} finds its task"
        );
    }
    let res = target.request("GET", "/api/tasks?limit=1000", &[], b"");
    assert_eq!(
        res.header("x-total-count"),
        Some(expected_total.to_string().as_str()),
        "no row lost or added"
    );
    let with_percent = NASTY.iter().filter(|t| t.contains('%')).count();
    assert_eq!(
        target
            .request("GET", "/api/tasks?q=%25", &[], b"")
            .json()
            .as_array()
            .unwrap()
            .len(),
        with_percent,
        "'%' matches only the tasks containing a literal %"
    );
}

#[test]
fn sql_and_html_in_enumerated_fields_are_rejected() {
    attack(|target| {
        for (method, path) in [
            ("POST", "/api/tasks".to_owned()),
            ("PUT", format!("/api/tasks/{}", target.task_id)),
        ] {
            for text in NASTY {
                let bodies: [(Value, u16, &str); 4] = [
                    (json!({"title": "t", "priority": text}), 422, "priority"),
                    (json!({"title": "t", "completed": text}), 400, "completed"),
                    (json!({"title": "t", text: "x"}), 400, text),
                    (json!({"title": {"$gt": ""}}), 400, "title"),
                ];
                for (body, status, field) in bodies {
                    let res = target.json(method, &path, body.to_string().as_bytes());
                    let err = expect_error(&res, status, &format!("{method} {body}"));
                    assert_eq!(err["field"], field, "{body}");
                }
            }
        }
    });
}
