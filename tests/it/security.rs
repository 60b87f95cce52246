//! CSRF and Origin checks, security headers, cookies, and database sessions that end
//! server-side.

use crate::kit::{OWNER_EMAIL, PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn state_changing_forms_need_the_csrf_token() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let before = app.count("organisations");

    let missing = owner.post_raw("/orgs", &[("name", "Sneaky")]).await;
    missing.assert_status(403);
    assert!(missing.contains("This form has expired or did not come from this site"));
    let wrong = owner
        .post_raw("/orgs", &[("csrf_token", "forged"), ("name", "Sneaky")])
        .await;
    wrong.assert_status(403);
    assert_eq!(app.count("organisations"), before);

    // An anonymous visitor's token only works with its own cookie.
    let visitor = app.browser();
    let token = visitor.get("/login").await.csrf();
    let stranger = app.browser();
    stranger
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_status(403);
    // A signed-in user's token is their session's, not the anonymous one.
    owner
        .post_raw("/logout", &[("csrf_token", &token)])
        .await
        .assert_status(403);
    owner.get("/account").await.assert_status(200);
}

#[tokio::test]
async fn cross_site_requests_are_refused_by_origin_and_fetch_metadata() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let token = owner.get("/orgs/new").await.csrf();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = owner
            .client
            .post(format!("{}/orgs", app.base))
            .form(&[("csrf_token", token.as_str()), ("name", "Cross Site")]);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let evil = post(vec![("Origin", "https://evil.example".into())])
        .await
        .unwrap();
    assert_eq!(evil.status().as_u16(), 403);
    assert!(
        evil.text()
            .await
            .unwrap()
            .contains("came from another site")
    );
    let cross = post(vec![("Sec-Fetch-Site", "cross-site".into())])
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    let sibling = post(vec![("Sec-Fetch-Site", "same-site".into())])
        .await
        .unwrap();
    assert_eq!(sibling.status().as_u16(), 403);
    let null = post(vec![("Origin", "null".into())]).await.unwrap();
    assert_eq!(null.status().as_u16(), 403);
    assert_eq!(app.count("organisations"), 1);

    let same = post(vec![
        ("Origin", app.base.clone()),
        ("Sec-Fetch-Site", "same-origin".into()),
    ])
    .await
    .unwrap();
    assert_eq!(same.status().as_u16(), 303);
    assert_eq!(app.count("organisations"), 2);
}

/// The public URL is `http://…`: a page on `https://` at the same host is another
/// origin (issue 11), whether it matches the public URL's host or the request's Host.
#[tokio::test]
async fn the_origin_check_compares_the_scheme_too() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let token = owner.get("/orgs/new").await.csrf();
    let authority = app.base.trim_start_matches("http://").to_string();
    let port = authority.rsplit(':').next().unwrap().to_string();
    let post = |origin: String, host: Option<String>| {
        let mut req = owner
            .client
            .post(format!("{}/orgs", app.base))
            .header("Origin", origin)
            .form(&[("csrf_token", token.as_str()), ("name", "Other Scheme")]);
        if let Some(host) = host {
            req = req.header("Host", host);
        }
        req.send()
    };
    for (origin, host) in [
        (format!("https://{authority}"), None),
        (
            format!("https://localhost:{port}"),
            Some(format!("localhost:{port}")),
        ),
    ] {
        let refused = post(origin.clone(), host).await.unwrap();
        assert_eq!(refused.status().as_u16(), 403, "{origin}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("came from another site")
        );
    }
    assert_eq!(app.count("organisations"), 1);
    // The same host under the public URL's scheme is this site.
    let same = post(
        format!("http://localhost:{port}"),
        Some(format!("localhost:{port}")),
    )
    .await
    .unwrap();
    assert_eq!(same.status().as_u16(), 303);
    assert_eq!(app.count("organisations"), 2);
}

#[tokio::test]
async fn no_state_changes_on_get() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    // Only POST changes anything: a GET is refused with 405 and `Allow: POST`.
    for path in ["/logout", "/o/acme/leave", "/o/acme/delete"] {
        let page = owner.get(path).await;
        page.assert_status(405);
        assert_eq!(page.header("allow"), Some("POST"), "{path}");
    }
    owner.get("/account").await.assert_status(200);
    assert_eq!(app.count("organisations"), 1);
    assert_eq!(app.count("sessions"), 1);
}

#[tokio::test]
async fn pages_carry_security_headers_and_safe_cookies() {
    let app = spawn_app().await;
    let visitor = app.browser();
    let page = visitor.get("/setup").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page.header("x-request-id").is_some());
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains("style=\""), "no inline style");

    let owner = app.setup_owner().await;
    let home = owner.get("/o/acme").await;
    assert_eq!(home.header("referrer-policy"), Some("same-origin"));

    // Cookies: HttpOnly and SameSite=Lax; no Secure on plain http.
    let login = app
        .browser()
        .submit(
            "/login",
            "/login",
            &[("email", OWNER_EMAIL), ("password", PASSWORD)],
        )
        .await;
    let cookie = login
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("gatehouse_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    // The cookie holds a random id; the database only its hash.
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("gatehouse_session=");
    let id = value.split('.').next().unwrap();
    assert!(id.len() >= 22, "{id}");
    assert_eq!(app.count(&format!("sessions WHERE token_hash = '{id}'")), 0);
}

/// Asserts the headers every response must carry, whatever its status.
#[track_caller]
fn assert_security_headers(what: &str, status: u16, headers: &reqwest::header::HeaderMap) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what} ({status}) has no {name}: {headers:?}"))
    };
    let csp = get("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert!(!get("referrer-policy").is_empty(), "{what}");
    assert!(!get("x-request-id").is_empty(), "{what}");
}

#[tokio::test]
async fn error_responses_carry_the_security_headers_too() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let bob = app
        .join(&owner, "acme", "bob@example.com", "developer")
        .await;
    let anonymous = app.browser();
    let random = uuid::Uuid::now_v7();
    let csrf = owner.get("/account").await.csrf();
    let bob_csrf = bob.get("/account").await.csrf();
    let owner_signed_in = owner.get("/o/acme").await;
    assert_security_headers("a page", 200, &owner_signed_in.headers);

    // Pages: every kind of refusal, from the router, the extractors, the policy, the
    // CSRF and Origin checks and the handlers' own forms.
    let evil_origin = owner
        .client
        .post(format!("{}/orgs", app.base))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str()), ("name", "Cross Site")])
        .send()
        .await
        .unwrap();
    let pages = [
        ("no such page", anonymous.get("/no-such-page").await, 404),
        (
            "no such app",
            owner.get(&format!("/o/acme/apps/{random}")).await,
            404,
        ),
        ("another organisation", bob.get("/o/nowhere").await, 404),
        ("wrong method", owner.get("/logout").await, 405),
        (
            "missing CSRF token",
            owner.post_raw("/orgs", &[("name", "Sneaky")]).await,
            403,
        ),
        (
            "a developer renaming the organisation",
            bob.post_raw(
                "/o/acme/settings",
                &[("csrf_token", &bob_csrf), ("name", "Mine")],
            )
            .await,
            403,
        ),
        (
            "an unreadable form",
            owner.post_raw("/orgs", &[("csrf_token", &csrf)]).await,
            400,
        ),
        (
            "a wrong password",
            anonymous.sign_in(OWNER_EMAIL, "not the password").await,
            401,
        ),
        (
            "an invalid form",
            owner
                .post_raw("/orgs", &[("csrf_token", &csrf), ("name", "")])
                .await,
            422,
        ),
        ("sign-in required", anonymous.get("/account").await, 303),
    ];
    for (what, page, status) in &pages {
        page.assert_status(*status);
        assert_security_headers(what, *status, &page.headers);
    }
    assert_eq!(evil_origin.status().as_u16(), 403);
    assert_security_headers("a cross-site form", 403, evil_origin.headers());

    // The API's problem documents.
    let read_only = crate::api_kit::Api::new(&app, &app.token(OWNER_EMAIL, "acme", false, false));
    let writer = app.api(OWNER_EMAIL, "acme", false, true);
    let nobody = crate::api_kit::Api::new(&app, "");
    let replies = [
        (
            "no token",
            nobody
                .send_raw(nobody.raw(reqwest::Method::GET, "/api/v1/org"))
                .await,
            401,
        ),
        (
            "a garbage token",
            crate::api_kit::Api::new(&app, "gate_pat_nonsense")
                .get("/api/v1/org")
                .await,
            401,
        ),
        (
            "no such app",
            writer.get(&format!("/api/v1/apps/{random}")).await,
            404,
        ),
        ("no such endpoint", writer.get("/api/v1/nowhere").await, 404),
        (
            "a read-only token writing",
            read_only
                .post(
                    "/api/v1/apps",
                    serde_json::json!({"name": "x", "auth_type": "api_key"}),
                )
                .await,
            403,
        ),
        (
            "an invalid app",
            writer
                .post(
                    "/api/v1/apps",
                    serde_json::json!({"name": "", "auth_type": "api_key"}),
                )
                .await,
            422,
        ),
        (
            "unreadable JSON",
            writer
                .send_raw(
                    writer
                        .raw(reqwest::Method::POST, "/api/v1/apps")
                        .bearer_auth(&writer.token)
                        .header("content-type", "application/json")
                        .body("{not json"),
                )
                .await,
            400,
        ),
        (
            "wrong method",
            writer
                .send_raw(
                    writer
                        .raw(reqwest::Method::PUT, "/api/v1/org")
                        .bearer_auth(&writer.token),
                )
                .await,
            405,
        ),
    ];
    for (what, reply, status) in &replies {
        assert_eq!(reply.status, *status, "{what}: {}", reply.body);
        assert_security_headers(what, *status, &reply.headers);
    }
}

#[tokio::test]
async fn error_responses_behind_https_carry_hsts() {
    let app = spawn_app_with(|s| s.public_url = Some("https://portal.example.com".into())).await;
    let api = crate::api_kit::Api::new(&app, "");
    let refused = api
        .send_raw(api.raw(reqwest::Method::GET, "/api/v1/org"))
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let missing = app.browser().get("/no-such-page").await;
    missing.assert_status(404);
    assert_eq!(
        missing.header("strict-transport-security"),
        Some("max-age=31536000")
    );
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = spawn_app_with(|s| s.public_url = Some("https://portal.example.com".into())).await;
    let setup = app.browser().get("/setup").await;
    let csrf_cookie = setup.header("set-cookie").unwrap();
    assert!(csrf_cookie.contains("Secure"), "{csrf_cookie}");
    assert!(setup.header("strict-transport-security").is_some());
}

#[tokio::test]
async fn sessions_are_listed_and_can_be_ended_elsewhere() {
    let app = spawn_app().await;
    let laptop = app.setup_owner().await;
    let phone = app.browser();
    phone
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    let tablet = app.browser();
    tablet
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");

    let account = laptop.get("/account").await;
    assert_eq!(
        account
            .body
            .matches("<td title=\"gatehouse-tests\">gatehouse-tests")
            .count(),
        3,
        "three sessions listed"
    );
    assert!(account.contains("this session"));

    // End one specific other session.
    let phone_session: String = {
        let page = phone.get("/account").await;
        let marker = "this session";
        let at = page.body.find(marker).unwrap();
        let form = &page.body[at..];
        crate::kit::extract_value(form, "action=\"/account/sessions/").unwrap()
    };
    laptop
        .submit(
            "/account",
            &format!("/account/sessions/{phone_session}"),
            &[],
        )
        .await
        .assert_redirect("/account");
    phone
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    tablet.get("/account").await.assert_status(200);

    // Sign out everywhere else.
    laptop
        .submit("/account", "/account/sessions/others/end", &[])
        .await
        .assert_redirect("/account");
    tablet
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    laptop.get("/account").await.assert_status(200);
    assert_eq!(app.count("sessions"), 1);
}

#[tokio::test]
async fn signing_in_again_renews_the_session() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    assert_eq!(app.count("sessions"), 1);
    let old = owner.get("/account").await.csrf();
    // The sign-in page redirects a signed-in user; post the form directly.
    let again = owner
        .post_raw(
            "/login",
            &[
                ("csrf_token", &old),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    again.assert_redirect("/");
    assert_eq!(app.count("sessions"), 1, "the old session ended at sign-in");
    let new = owner.get("/account").await.csrf();
    assert_ne!(old, new);
}

#[tokio::test]
async fn password_change_ends_other_sessions() {
    let app = spawn_app().await;
    let laptop = app.setup_owner().await;
    let phone = app.browser();
    phone
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    let changed = laptop
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    changed.assert_redirect("/account");
    let page = laptop.get("/account").await;
    assert!(page.contains("1 other session(s) were signed out"));
    phone
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    phone
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_status(401);
    phone
        .sign_in(OWNER_EMAIL, "a brand new passphrase")
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn sessions_time_out_when_idle_and_after_their_lifetime() {
    let app = spawn_app_with(|s| {
        s.session_idle_timeout = Some("2h".into());
        s.session_lifetime = Some("1d".into());
    })
    .await;
    let owner = app.setup_owner().await;
    app.clock.advance(chrono::Duration::minutes(119));
    owner.get("/account").await.assert_status(200);
    app.clock.advance(chrono::Duration::minutes(121));
    owner
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    assert_eq!(app.count("sessions"), 0);

    // Active all day long, the session still ends after its lifetime.
    owner
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    for _ in 0..23 {
        app.clock.advance(chrono::Duration::hours(1));
        owner.get("/account").await.assert_status(200);
    }
    app.clock.advance(chrono::Duration::minutes(61));
    owner
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
}
