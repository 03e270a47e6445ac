//! Where a page's CPU time goes in the frontend itself, without the network or the backend:
//! parsing the backend's JSON, building the task views, filling the tera context, rendering.
//! `cargo run --release -p frontend --example render_bench` prints the time per page of 100 tasks.
use std::time::Instant;
use task_types::{Priority, Task};
fn main() {
    let tasks: Vec<Task> = (0..100)
        .map(|i| Task {
            id: uuid::Uuid::new_v4(),
            title: format!("Seeded task {i}"),
            description: format!("A task with a short description, number {i}."),
            priority: Priority::Medium,
            completed: i % 3 == 0,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        })
        .collect();
    let json = serde_json::to_vec(&tasks).unwrap();
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        let v: Vec<Task> = serde_json::from_slice(&json).unwrap();
        std::hint::black_box(v);
    }
    println!("parse 100: {:?}/iter", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n {
        let v: Vec<frontend::render::view::TaskView> = tasks
            .iter()
            .map(frontend::render::view::TaskView::from)
            .collect();
        std::hint::black_box(v);
    }
    println!("views 100: {:?}/iter", t.elapsed() / n);
    let views: Vec<frontend::render::view::TaskView> = tasks
        .iter()
        .map(frontend::render::view::TaskView::from)
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("asset_version", frontend::render::assets::version());
    ctx.insert(
        "counts",
        &serde_json::json!({"total":100,"completed":33,"pending":67}),
    );
    ctx.insert("view", &serde_json::json!({"status":"all","priority":null,"q":"","sort":"newest","per_page":100,"filtered":false}));
    ctx.insert("default_per_page", &20);
    ctx.insert(
        "statuses",
        &serde_json::json!([{"value":"all","label":"All"}]),
    );
    ctx.insert(
        "sorts",
        &serde_json::json!([{"value":"newest","label":"Newest"}]),
    );
    ctx.insert("paging", &serde_json::json!({"page":1,"pages":1,"total":100,"from":1,"to":100,"prev_url":null,"next_url":null,"first_url":"/"}));
    ctx.insert("back_param", "?back=per_page%3D100");
    ctx.insert("back", "per_page=100");
    ctx.insert(
        "form",
        &serde_json::json!({"title":"","description":"","priority":"medium","completed":false}),
    );
    ctx.insert(
        "errors",
        &serde_json::json!({"title":null,"description":null,"priority":null,"form":null}),
    );
    ctx.insert("csrf_token", "abcdefabcdefabcdefabcdefabcdefabcdefabcdef");
    ctx.insert("flash", &Option::<String>::None);
    let t = Instant::now();
    for _ in 0..n {
        let mut c = ctx.clone();
        c.insert("tasks", &views);
        std::hint::black_box(c);
    }
    println!("ctx insert: {:?}/iter", t.elapsed() / n);
    ctx.insert("tasks", &views);
    frontend::render::templates::load();
    let t = Instant::now();
    let mut len = 0;
    for _ in 0..n {
        len = frontend::render::templates::render("index.html", &ctx)
            .unwrap()
            .len();
    }
    println!("render: {:?}/iter, {} bytes", t.elapsed() / n, len);
}
