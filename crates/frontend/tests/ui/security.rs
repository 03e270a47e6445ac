//! CSRF, cookies and security headers; and that no GET changes anything.

use frontend::config::TrustedProxies;
use test_support::frontend::{spawn_frontend, Browser};

use crate::support::{has_layout, Stack};

/// `set_cookie` sets the cookie `name`, out of scripts' reach and not sent along from other sites.
fn assert_private_cookie(set_cookie: &str, name: &str) {
    assert!(set_cookie.starts_with(&format!("{name}=")), "{set_cookie}");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn every_form_refuses_a_post_without_its_csrf_token() {
    let (stack, task) = Stack::with_task("Protected", "low").await;
    let mut browser = stack.session().await; // has a session cookie, but sends no token
    let forms = [
        (
            "/tasks".to_owned(),
            vec![("title", "forged"), ("priority", "high")],
        ),
        (
            format!("/tasks/{}/toggle", task.id),
            vec![("completed", "true")],
        ),
        (
            format!("/tasks/{}/edit", task.id),
            vec![("title", "forged"), ("priority", "high")],
        ),
        (format!("/tasks/{}/delete", task.id), vec![]),
    ];
    for (path, fields) in &forms {
        let page = browser.post_form(path, fields).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(
            page.body.contains("Form expired") && has_layout(&page.body),
            "{path}: a readable page"
        );
        let mut with_empty = fields.clone();
        with_empty.push(("csrf_token", ""));
        assert_eq!(
            browser.post_form(path, &with_empty).await.status,
            403,
            "{path} with an empty token"
        );
    }
    assert_eq!(stack.tasks().await, vec![task], "nothing changed");
}

#[tokio::test]
async fn a_token_from_another_session_or_without_a_cookie_is_refused() {
    let (stack, task) = Stack::with_task("Protected", "low").await;
    let mut victim = stack.session().await;
    let attacker = stack.session().await;
    let attackers_token = attacker.csrf_token().unwrap().to_owned();
    assert_ne!(
        victim.csrf_token().unwrap(),
        attackers_token,
        "each session has its own token"
    );

    let path = format!("/tasks/{}/delete", task.id);
    let page = victim
        .post_form(&path, &[("csrf_token", &attackers_token)])
        .await;
    assert_eq!(page.status, 403);
    // A token without its cookie (a cross-site form, or cookies cleared).
    let mut cookieless = Browser::new(&stack.frontend.base_url);
    let page = cookieless
        .post_form(&path, &[("csrf_token", &attackers_token)])
        .await;
    assert_eq!(page.status, 403);
    assert!(stack.task(task.id).await.is_some(), "nothing deleted");
}

/// Another site's form, whatever token it carries: browsers say where a form comes from.
#[tokio::test]
async fn a_form_from_another_site_is_refused_even_with_a_valid_token() {
    let (stack, task) = Stack::with_task("Guarded", "low").await;
    let victim = stack.session().await;
    let token = victim.csrf_token().unwrap().to_owned();
    let path = format!("/tasks/{}/delete", task.id);
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        let page = victim
            .clone()
            .with_header(header, value)
            .post_form(&path, &[("csrf_token", &token)])
            .await;
        assert_eq!(page.status, 403, "{header}: {value}");
        assert!(has_layout(&page.body), "a readable page");
    }
    assert!(stack.task(task.id).await.is_some(), "nothing deleted");
    // The frontend's own host; the port may differ (a proxy in front may drop it from Host).
    let host = stack.frontend.base_url.trim_start_matches("http://");
    let own_origin = format!("http://{}:30080", host.rsplit_once(':').unwrap().0);
    let own_page = [
        ("sec-fetch-site", "same-origin"),
        ("origin", own_origin.as_str()),
    ];
    for (i, (header, value)) in own_page.into_iter().enumerate() {
        let fields = [("title", "From the site itself"), ("priority", "low")];
        let page = victim
            .clone()
            .with_header(header, value)
            .add_task(&fields)
            .await;
        assert_eq!(page.status, 303, "{header}: {value}");
        assert_eq!(stack.tasks().await.len(), 2 + i);
    }
}

/// A session cookie planted beside the browser's own (a more specific path, so sent first) must not
/// lock the user out.
#[tokio::test]
async fn a_planted_session_cookie_does_not_lock_the_user_out() {
    let stack = Stack::start();
    let planted = stack
        .session()
        .await
        .with_header("cookie", "taskmgr_csrf=not-sealed-by-us; =no-name");
    let mut victim = planted;
    victim.get("/").await;
    let page = victim
        .add_task(&[("title", "Still mine"), ("priority", "low")])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stack.tasks().await[0].title, "Still mine");
}

#[tokio::test]
async fn a_replica_with_the_same_key_accepts_the_others_forms() {
    let stack = Stack::start();
    let second = spawn_frontend(&stack.backend_url(""));
    // A session and its form from the first replica, sent to the second, as a load balancer would.
    let browser = stack.session().await;
    let mut on_second = browser.on(&second.base_url);
    let page = on_second
        .add_task(&[("title", "Via replica two"), ("priority", "low")])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stack.tasks().await[0].title, "Via replica two");
}

#[tokio::test]
async fn cookies_are_http_only_and_same_site_lax() {
    let stack = Stack::start();
    let mut browser = stack.browser();
    let page = browser.get("/").await;
    let csrf = page
        .header("set-cookie")
        .expect("a new session sets its cookie");
    assert_private_cookie(csrf, "taskmgr_csrf");
    let redirect = browser
        .add_task(&[("title", "Cookie check"), ("priority", "low")])
        .await;
    let flash = redirect
        .header("set-cookie")
        .expect("the flash travels in a cookie");
    assert_private_cookie(flash, "taskmgr_flash");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let (stack, task) = Stack::with_task("Headers", "low").await;
    let mut browser = stack.browser();
    let paths = [
        "/".to_owned(),
        format!("/tasks/{}/edit", task.id),
        "/no/such/page".to_owned(),
        "/?priority=urgent".to_owned(),
        "/static/style.css".to_owned(),
        "/api/tasks".to_owned(),
    ];
    for path in paths {
        let page = browser.get(&path).await;
        let csp = page
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(page.header("referrer-policy").is_some(), "{path}");
    }
    let page = browser.get("/").await;
    assert!(
        !page.body.contains("<script>"),
        "no inline script on the page"
    );
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "nothing loaded from elsewhere"
    );
}

#[tokio::test]
async fn no_get_changes_anything() {
    let (stack, task) = Stack::with_task("Stays", "low").await;
    let mut browser = stack.browser();
    for path in [
        format!("/tasks/{}/delete", task.id),
        format!("/tasks/{}/toggle", task.id),
        format!("/tasks/{}/edit", task.id),
        "/tasks".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert!(
            page.status == 200 || page.status == 405,
            "{path}: {}",
            page.status
        );
        assert!(has_layout(&page.body), "{path}");
    }
    assert_eq!(stack.tasks().await, vec![task]);
}

/// Issue 11 item 9: over HTTPS (TLS ended by a proxy in TRUSTED_PROXIES that says so) the CSRF and
/// flash cookies are `Secure` and answers carry HSTS, except for localhost and loopback addresses;
/// over HTTP, or when anyone else claims HTTPS, neither.
#[tokio::test]
async fn cookies_are_secure_over_https_from_a_trusted_proxy_only() {
    let stack = Stack::start_with(|settings| {
        settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    });
    let mut https = stack.browser().with_header("x-forwarded-proto", "https");
    let page = https.get("/").await;
    let csrf = page
        .header("set-cookie")
        .expect("a new session sets its cookie");
    assert_private_cookie(csrf, "taskmgr_csrf");
    assert!(csrf.contains("Secure"), "{csrf}");
    assert_eq!(
        page.header("strict-transport-security"),
        None,
        "no HSTS for a loopback address: it would bind every port of this machine"
    );
    // HSTS for a site's own name; never for localhost, whose HTTP ports (30080) must keep working.
    let named = stack
        .browser()
        .with_header("x-forwarded-proto", "https")
        .with_header("host", "frontend.task-manager.svc.cluster.local:8080")
        .get("/")
        .await;
    assert_eq!(
        named.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    for host in ["localhost:30443", "127.0.0.1:30443", "[::1]:30443"] {
        let local = stack
            .browser()
            .with_header("x-forwarded-proto", "https")
            .with_header("host", host)
            .get("/")
            .await;
        assert_eq!(local.status, 200, "{host}");
        let cookie = local.header("set-cookie").unwrap_or_default();
        assert!(cookie.contains("Secure"), "{host}: {cookie}");
        assert_eq!(local.header("strict-transport-security"), None, "{host}");
    }
    let redirect = https
        .add_task(&[("title", "Over TLS"), ("priority", "low")])
        .await;
    assert_eq!(redirect.status, 303);
    let flash = redirect.header("set-cookie").expect("the flash cookie");
    assert!(
        flash.starts_with("taskmgr_flash=") && flash.contains("Secure"),
        "{flash}"
    );

    let page = stack.browser().get("/").await;
    assert!(
        !page.header("set-cookie").unwrap().contains("Secure"),
        "plain HTTP"
    );
    assert_eq!(
        page.header("strict-transport-security"),
        None,
        "no HSTS over HTTP"
    );

    // The same claim from a client that is not a trusted proxy is ignored (the default: none trusted).
    let untrusted = Stack::start();
    let page = untrusted
        .browser()
        .with_header("x-forwarded-proto", "https")
        .get("/")
        .await;
    assert!(!page.header("set-cookie").unwrap().contains("Secure"));
    assert_eq!(page.header("strict-transport-security"), None);
}
