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
