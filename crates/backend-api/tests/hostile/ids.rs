//! Ids of every shape in /api/tasks/{id}: a 404 JSON error for each, whatever the method.

use crate::support::{attack, expect_error};

#[test]
fn ids_of_every_shape_are_404_json() {
    attack(|target| {
        let long = "a".repeat(10_000);
        let shapes = [
            "0",
            "-1",
            "1.5",
            "99999999999999999999999999999999",
            "null",
            "undefined",
            "true",
            "%20",
            "%00",
            "%FF%FE",
            "%2e%2e",
            "..%2F..%2Fetc%2Fpasswd",
            "1%27%20OR%20%271%27%3D%271",
            "1;DROP%20TABLE%20tasks",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "123e4567-e89b-12d3-a456-42661417400", // one digit short
            "123e4567-e89b-12d3-a456-4266141740000", // one digit long
            "123e4567-e89b-12d3-a456-42661417400g", // not hex
            "%E2%9C%93",                           // ✓
            "%F0%9F%92%A9",                        // 💩
            "{}",
            "[]",
            &long,
        ];
        let body = br#"{"title": "renamed"}"#;
        for shape in shapes {
            let path = format!("/api/tasks/{shape}");
            for method in ["GET", "PUT", "PATCH", "DELETE"] {
                let res = target.json(
                    method,
                    &path,
                    if method == "GET" || method == "DELETE" {
                        b""
                    } else {
                        body
                    },
                );
                let shown: String = shape.chars().take(60).collect();
                let err = expect_error(&res, 404, &format!("{method} /api/tasks/{shown}"));
                assert_eq!(err["error"], "Task not found");
            }
        }
        // Paths that are not a task's at all.
        for path in [
            "/api/tasks/a/b",
            "/api/tasks//",
            "/api/tasks/%2F",
            "/api//tasks",
            "/api/tasks/../../etc/passwd",
            "/API/TASKS",
            "/api/tasks.json",
        ] {
            let res = target.request("GET", path, &[], b"");
            expect_error(&res, 404, path);
        }
    });
}

#[test]
fn another_spelling_of_a_real_id_names_the_same_task() {
    attack(|target| {
        let id = target.task_id.clone();
        let simple = id.replace('-', "");
        for spelling in [
            id.to_uppercase(),
            simple,
            format!("%7B{id}%7D"),
            format!("urn:uuid:{id}"),
        ] {
            let res = target.request("GET", &format!("/api/tasks/{spelling}"), &[], b"");
            assert_eq!(res.status, 200, "{spelling}: {}", res.text());
            assert_eq!(res.json()["id"], id.as_str(), "the canonical id comes back");
        }
    });
}
