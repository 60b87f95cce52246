//! First-run setup, sign-up, sign-in, sign-out, throttling.

use crate::kit::{OWNER_EMAIL, PASSWORD, spawn_app};

#[tokio::test]
async fn fresh_instance_sends_visitors_to_setup_and_the_code_creates_the_owner() {
    let app = spawn_app().await;
    let visitor = app.browser();
    visitor.get("/").await.assert_redirect("/setup");
    visitor.get("/login").await.assert_redirect("/setup");
    let form = visitor.get("/setup").await;
    form.assert_status(200);
    assert_eq!(form.header("referrer-policy"), Some("same-origin"));

    // A wrong code changes nothing.
    let wrong = visitor
        .submit(
            "/setup",
            "/setup",
            &[
                ("setup_code", "not-the-code"),
                ("display_name", "Mallory"),
                ("email", "m@example.com"),
                ("password", PASSWORD),
                ("org_name", "Evil"),
            ],
        )
        .await;
    wrong.assert_status(403);
    assert!(wrong.contains("setup code is not right"));
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.count("organisations"), 0);

    let owner = app.setup_owner().await;
    let home = owner.get("/o/acme").await;
    home.assert_status(200);
    assert!(home.contains("Acme"));
    assert!(home.contains("You are Owner"));
    assert!(home.contains("Instance settings"));

    // The code is single use: setup is closed now.
    visitor.get("/setup").await.assert_redirect("/login");
    let again = visitor
        .submit(
            "/login",
            "/setup",
            &[
                ("setup_code", app.setup_code.as_deref().unwrap()),
                ("display_name", "Eve"),
                ("email", "eve@example.com"),
                ("password", PASSWORD),
                ("org_name", "Other"),
            ],
        )
        .await;
    again.assert_redirect("/login");
    assert_eq!(app.count("users"), 1);
}

#[tokio::test]
async fn sign_up_sign_in_and_sign_out() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let bob = app.browser();
    let page = bob
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", "Bob"),
                ("email", "Bob@Example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    page.assert_redirect("/orgs");
    let orgs = bob.get("/orgs").await;
    orgs.assert_status(200);
    assert!(orgs.contains("not a member of any organisation yet"));

    // The same email (any case) cannot sign up twice.
    let other = app.browser();
    let dup = other
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", "Bob 2"),
                ("email", "bob@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    dup.assert_status(409);
    assert!(dup.contains("already exists"));
    assert_eq!(app.count("users"), 2);

    let out = bob.submit("/account", "/logout", &[]).await;
    out.assert_redirect("/login");
    bob.get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");

    let wrong = bob.sign_in("bob@example.com", "wrong password!").await;
    wrong.assert_status(401);
    assert!(wrong.contains("Email or password is not correct."));
    let unknown = bob.sign_in("nobody@example.com", PASSWORD).await;
    unknown.assert_status(401);
    assert!(unknown.contains("Email or password is not correct."));

    let ok = bob.sign_in("BOB@example.com", PASSWORD).await;
    ok.assert_redirect("/");
    bob.get("/account").await.assert_status(200);
}

#[tokio::test]
async fn sign_in_is_throttled_with_growing_delays_not_a_lockout() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let attacker = app.browser();
    for _ in 0..5 {
        attacker
            .sign_in(OWNER_EMAIL, "wrong password!")
            .await
            .assert_status(401);
    }
    // Even the right password waits now.
    let slowed = attacker.sign_in(OWNER_EMAIL, PASSWORD).await;
    slowed.assert_status(429);
    assert!(slowed.header("retry-after").is_some());
    assert!(slowed.contains("Too many attempts"));
    // An unknown account gets the same treatment as a known one.
    for _ in 0..5 {
        attacker
            .sign_in("ghost@example.com", "wrong password!")
            .await
            .assert_status(401);
    }
    attacker
        .sign_in("ghost@example.com", "wrong password!")
        .await
        .assert_status(429);

    // The delay passes; the right password works and clears the count.
    app.clock.advance(chrono::Duration::seconds(2));
    attacker
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn closed_sign_up_refuses_new_accounts() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    owner
        .submit(
            "/admin/instance",
            "/admin/instance",
            &[("org_creation", "anyone")],
        )
        .await
        .assert_redirect("/admin/instance");
    let visitor = app.browser();
    let form = visitor.get("/signup").await;
    assert!(form.contains("Sign-up is closed"));
    let refused = visitor
        .submit(
            "/login",
            "/signup",
            &[
                ("display_name", "Carol"),
                ("email", "carol@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    refused.assert_status(403);
    assert_eq!(app.count("users"), 1);
}

/// Waits (at most five seconds) until `done` holds: a failed sign-in is recorded after
/// its answer is sent.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..250 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen");
}

/// The account page's "Recent security activity" section.
fn security_activity(page: &crate::kit::Page) -> String {
    let start = page
        .body
        .find("id=\"security-activity\"")
        .expect("a security activity section");
    let section = &page.body[start..];
    section[..section.find("</article>").unwrap()].to_string()
}

#[tokio::test]
async fn sign_ins_failed_sign_ins_and_sign_outs_are_recorded_on_the_account() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let ada = app.user_id(OWNER_EMAIL);
    let on_account = |action: &str| {
        app.count(&format!(
            "audit_events WHERE target = 'user:{ada}' AND org_id IS NULL AND action = '{action}'"
        ))
    };
    let minute = chrono::Duration::minutes(1);

    // Wrong passwords: for Ada's account (recorded, without the password) and for an
    // address without an account (nothing written anywhere about it).
    let stranger = app.browser();
    for _ in 0..2 {
        app.clock.advance(minute);
        stranger
            .sign_in(OWNER_EMAIL, "guessed wrong 1")
            .await
            .assert_status(401);
    }
    eventually("two failed sign-ins recorded", || {
        on_account("user.sign_in_failed") == 2
    })
    .await;
    let before = app.count("audit_events");
    for _ in 0..3 {
        stranger
            .sign_in("nobody@example.com", "guessed wrong 2")
            .await
            .assert_status(401);
    }
    // Time for a write that should not come.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.count("audit_events"), before, "unknown address");
    assert_eq!(
        app.count("audit_events WHERE action = 'user.sign_in_failed'"),
        2
    );
    assert_eq!(
        app.count(
            "audit_events WHERE detail LIKE '%guessed%' OR detail LIKE '%nobody%' OR target LIKE '%nobody%'"
        ),
        0
    );
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'user.sign_in_failed' AND actor_id IS NULL AND ip = '127.0.0.1' AND target = 'user:{ada}'"
        )),
        2
    );
    // Attempts the throttle refuses cost nothing and are not written: after five
    // failures in a row the next one waits.
    for _ in 0..3 {
        stranger
            .sign_in(OWNER_EMAIL, "guessed wrong 1")
            .await
            .assert_status(401);
    }
    for _ in 0..3 {
        stranger
            .sign_in(OWNER_EMAIL, "guessed wrong 1")
            .await
            .assert_status(429);
    }
    eventually("five failed sign-ins recorded", || {
        on_account("user.sign_in_failed") == 5
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(on_account("user.sign_in_failed"), 5);

    // A sign-in and a sign-out.
    app.clock.advance(minute);
    let laptop = app.browser();
    laptop
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    assert_eq!(on_account("user.signed_in"), 1);
    app.clock.advance(minute);
    laptop
        .submit("/account", "/logout", &[])
        .await
        .assert_redirect("/login");
    assert_eq!(on_account("user.signed_out"), 1);
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action IN ('user.signed_in', 'user.signed_out') AND actor_id = '{ada}' AND ip = '127.0.0.1'"
        )),
        2
    );

    // Signing out the other sessions from the account page.
    app.clock.advance(minute);
    let phone = app.browser();
    phone
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    app.clock.advance(minute);
    owner
        .submit("/account", "/account/sessions/others/end", &[])
        .await
        .assert_redirect("/account");
    assert_eq!(on_account("user.sessions_ended"), 1);
    phone.get("/account").await.assert_status(303);

    // The account page lists them, newest first, with where they came from.
    let page = owner.get("/account").await;
    page.assert_status(200);
    let activity = security_activity(&page);
    let order: Vec<usize> = [
        "Signed out 1 other session from the account page",
        "Signed in",
        "Signed out",
        "Failed sign-in: wrong password",
        "Account created as the instance owner",
    ]
    .iter()
    .map(|what| {
        activity
            .find(&format!(">{what}<"))
            .unwrap_or_else(|| panic!("{what} missing from {activity}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{activity}");
    assert!(activity.contains("127.0.0.1"));
    assert!(!activity.contains("guessed"));

    // The list is bounded: the newest twenty.
    for i in 0..30 {
        app.exec(&format!(
            "INSERT INTO audit_events (id, org_id, actor_id, action, target, detail, ip, created_at) \
             VALUES ('old-{i:02}', NULL, '{ada}', 'user.signed_in', 'user:{ada}', '', '10.0.0.{i}', '2020-01-01 00:00:00')"
        ));
    }
    let activity = security_activity(&owner.get("/account").await);
    assert_eq!(activity.matches("<tr>").count(), 1 + 20, "{activity}");
    assert!(activity.contains("Signed out 1 other session"));

    // Another person's page shows none of it.
    let bob = app
        .join(&owner, "acme", "bob@example.com", "developer")
        .await;
    let theirs = security_activity(&bob.get("/account").await);
    assert!(theirs.contains(">Account created<"), "{theirs}");
    assert!(!theirs.contains("Failed sign-in"), "{theirs}");
    assert!(!theirs.contains("other session"), "{theirs}");
}
