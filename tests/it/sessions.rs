//! Portal sessions on actix-session: only the portal loads them, use is noted at most
//! once a minute, and re-authentication renews the session key.

use crate::kit::{OWNER_EMAIL, PASSWORD, spawn_app_with};

fn session_cookie(page: &crate::kit::Page) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gatehouse_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// The public id of the session the browser is signed in with.
async fn this_session(browser: &crate::kit::Browser) -> String {
    let page = browser.get("/account").await;
    let at = page
        .body
        .find("this session")
        .expect("current session marked");
    crate::kit::extract_value(&page.body[at..], "action=\"/account/sessions/").unwrap()
}

#[tokio::test]
async fn the_api_and_machine_endpoints_never_load_a_session() {
    let app = spawn_app_with(|s| s.session_idle_timeout = Some("2h".into())).await;
    let owner = app.setup_owner().await;
    app.clock.advance(chrono::Duration::minutes(121));
    // Loading the idle session would end it; these paths do not look at it.
    for (path, status) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/api/v1/orgs", 401),
        ("/api/v1/openapi.json", 200),
    ] {
        let page = owner.get(path).await;
        page.assert_status(status);
        assert_eq!(session_cookie(&page), None, "{path}");
    }
    assert_eq!(app.count("sessions"), 1);
    owner
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    assert_eq!(app.count("sessions"), 0);
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = spawn_app_with(|_| {}).await;
    let owner = app.setup_owner().await;
    let untouched = "sessions WHERE last_seen_at = created_at";
    assert_eq!(app.count(untouched), 1);
    app.clock.advance(chrono::Duration::seconds(59));
    owner.get("/account").await.assert_status(200);
    assert_eq!(app.count(untouched), 1, "used again within the minute");
    app.clock.advance(chrono::Duration::seconds(2));
    let page = owner.get("/account").await;
    page.assert_status(200);
    assert_eq!(app.count(untouched), 0, "a minute later, the use is noted");
    assert_eq!(session_cookie(&page), None, "noting use re-sends no cookie");
}

#[tokio::test]
async fn re_authenticating_renews_the_session_key() {
    let app = spawn_app_with(|_| {}).await;
    let _owner = app.setup_owner().await;
    let laptop = app.browser();
    let signed_in = laptop.sign_in(OWNER_EMAIL, PASSWORD).await;
    signed_in.assert_redirect("/");
    let first_cookie = session_cookie(&signed_in).expect("cookie set at sign-in");
    let first_id = this_session(&laptop).await;

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
    let second_cookie = session_cookie(&changed).expect("a new key after a password change");
    assert_ne!(first_cookie, second_cookie);
    let second_id = this_session(&laptop).await;
    assert_ne!(first_id, second_id);
    assert_eq!(app.count(&format!("sessions WHERE id = '{first_id}'")), 0);
    assert_eq!(
        app.count("sessions"),
        1,
        "the other session and the old key ended"
    );

    // The old key no longer opens anything.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/account", app.base))
        .header("cookie", first_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 303);

    // Confirming the password for an email change renews it too (once the welcome
    // email's minute has passed).
    app.clock.advance(chrono::Duration::minutes(2));
    let email_changed = laptop
        .submit(
            "/account",
            "/account/email",
            &[
                ("new_email", "ada.lovelace@example.com"),
                ("current_password", "a brand new passphrase"),
            ],
        )
        .await;
    email_changed.assert_redirect("/account");
    let third_cookie = session_cookie(&email_changed).expect("a new key after an email change");
    assert_ne!(second_cookie, third_cookie);
    assert_ne!(this_session(&laptop).await, second_id);
    assert_eq!(app.count("sessions"), 1);
}

#[tokio::test]
async fn a_locked_database_answers_503_with_retry_after_not_500() {
    let app = spawn_app_with(|s| s.sqlite_busy_timeout = Some(150)).await;
    if !app.database_url.starts_with("sqlite://") {
        return; // SQLite's write lock and busy timeout are what this holds up.
    }
    let _owner = app.setup_owner().await;
    let browser = app.browser();
    let token = browser.get("/login").await.csrf();
    // Another writer holds the write lock past the busy timeout.
    let lock = crate::concurrency::WriteLock::take(&app.database_url);
    let signed_in = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    lock.release();
    signed_in.assert_status(503);
    assert_eq!(signed_in.header("retry-after"), Some("2"));
    assert_eq!(app.count("sessions"), 1, "only the owner's");
}
