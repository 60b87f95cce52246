//! New passwords are checked for strength on every form that sets one (sign-up, setup,
//! invitation, reset, change): common passwords, patterns and the account's own email
//! and name are refused with why and how to fix it, and nothing is written.
//! The command line's checks are in `system.rs`, beside its other binary tests.

use crate::kit::{OWNER_EMAIL, PASSWORD, Page, spawn_app};
use crate::mail::{link_path, mail_to};

const WHY: &str = "This password is too easy to guess: ";
const HOW: &str = "Use a longer passphrase of several unrelated words";

#[track_caller]
fn assert_refused(page: &Page, form_text: &str, why: &str) {
    page.assert_status(422);
    assert!(
        page.contains(form_text),
        "form not shown again:\n{}",
        page.body
    );
    for text in [WHY, why, HOW] {
        assert!(page.contains(text), "{text:?} missing:\n{}", page.body);
    }
}

#[tokio::test]
async fn sign_up_refuses_common_passwords_and_the_own_email_and_creates_nothing() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let cases = [
        ("password12", "this is a very common password."),
        ("1234567890", "this is a top-100 common password."),
        ("qwertyuiop", "this is a top-100 common password."),
        ("          ", "easy to guess."),
        (
            "bob@example.com",
            "it contains your email address, your name",
        ),
        (
            "Bob Bobbington!",
            "it contains your email address, your name",
        ),
        ("gatehouse2026", "the name of this site"),
    ];
    for (password, why) in cases {
        let page = app
            .browser()
            .submit(
                "/signup",
                "/signup",
                &[
                    ("display_name", "Bob Bobbington"),
                    ("email", "bob@example.com"),
                    ("password", password),
                ],
            )
            .await;
        assert_refused(&page, "Create your account", why);
        assert!(
            page.contains("value=\"bob@example.com\""),
            "what was typed is kept"
        );
        assert_eq!(app.count("users"), 1, "{password:?}");
    }
    // The test kit's shared password passes.
    app.sign_up("Bob Bobbington", "bob@example.com").await;
    assert_eq!(app.count("users"), 2);
}

#[tokio::test]
async fn setup_refuses_a_weak_password_and_keeps_the_code() {
    let app = spawn_app().await;
    let code = app.setup_code.clone().expect("setup code");
    // "Zorblatt Industries!" is strong for any other organisation.
    for (password, org, why) in [
        ("password12", "Acme", "this is a very common password."),
        (OWNER_EMAIL, "Acme", "it contains your email address"),
        (
            "Zorblatt Industries!",
            "Zorblatt Industries",
            "the name of your organisation",
        ),
    ] {
        let page = app
            .browser()
            .submit(
                "/setup",
                "/setup",
                &[
                    ("setup_code", &code),
                    ("display_name", "Ada Lovelace"),
                    ("email", OWNER_EMAIL),
                    ("password", password),
                    ("org_name", org),
                    ("org_slug", "acme"),
                ],
            )
            .await;
        assert_refused(&page, "Set up Gatehouse", why);
        assert_eq!(app.count("users"), 0, "{password:?}");
        assert_eq!(app.count("organisations"), 0);
    }
    app.setup_owner().await;
}

#[tokio::test]
async fn an_invitation_refuses_the_invited_address_as_password_and_stays_usable() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "carol@example.com", "developer")
        .await;
    let token = path.trim_start_matches("/invite/").to_string();
    let visitor = app.browser();
    for (name, password, why) in [
        // The address comes from the invitation, not from the form.
        (
            "Carol",
            "carol@example.com",
            "it contains your email address",
        ),
        ("Carol", "qwertyuiop", "this is a top-100 common password."),
    ] {
        let form = visitor.get(&path).await;
        let page = visitor
            .post_raw(
                "/invite/signup",
                &[
                    ("csrf_token", &form.csrf()),
                    ("token", &token),
                    ("display_name", name),
                    ("password", password),
                ],
            )
            .await;
        assert_refused(&page, "Create account and join", why);
        assert_eq!(app.count("users"), 1);
        assert_eq!(app.count("memberships"), 1);
    }
    // A bad name and a weak password are reported together.
    let form = visitor.get(&path).await;
    let page = visitor
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &form.csrf()),
                ("token", &token),
                ("display_name", ""),
                ("password", "password12"),
            ],
        )
        .await;
    assert_refused(&page, "Create account and join", "very common password");
    assert!(page.contains("Your name is required."), "{}", page.body);

    let form = visitor.get(&path).await;
    visitor
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &form.csrf()),
                ("token", &token),
                ("display_name", "Carol"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/o/acme");
}

#[tokio::test]
async fn changing_the_password_refuses_a_weak_one_and_keeps_the_old() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    // "Ada Lovelace 1815" is strong for anyone but Ada Lovelace.
    for (new, why) in [
        (
            "Ada Lovelace 1815",
            "it contains your email address, your name",
        ),
        (OWNER_EMAIL, "it contains your email address"),
        ("1234567890", "this is a top-100 common password."),
    ] {
        let page = ada
            .submit(
                "/account",
                "/account/password",
                &[("current_password", PASSWORD), ("new_password", new)],
            )
            .await;
        assert_refused(&page, "Change password", why);
    }
    app.browser()
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn a_reset_link_refuses_a_weak_password_and_stays_usable() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let visitor = app.browser();
    visitor
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", OWNER_EMAIL)],
        )
        .await
        .assert_redirect("/login");
    let mails = mail_to(&app, OWNER_EMAIL, "Reset your password").await;
    assert_eq!(mails.len(), 1);
    let link = link_path(&app, &mails[0], "/reset-password/");
    let token = link.rsplit('/').next().unwrap().to_string();
    // The account's name is looked up for the check: this is strong for anyone else.
    for (new, why) in [
        (
            "Ada Lovelace 1815",
            "it contains your email address, your name",
        ),
        ("password12", "this is a very common password."),
    ] {
        let form = visitor.get(&link).await;
        form.assert_status(200);
        let page = visitor
            .post_raw(
                "/reset-password",
                &[
                    ("csrf_token", &form.csrf()),
                    ("token", &token),
                    ("new_password", new),
                ],
            )
            .await;
        assert_refused(&page, "name=\"token\"", why);
    }
    app.browser()
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    let form = visitor.get(&link).await;
    visitor
        .post_raw(
            "/reset-password",
            &[
                ("csrf_token", &form.csrf()),
                ("token", &token),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await
        .assert_redirect("/login");
}

/// Scoring a crafted password can take a hashing thread a second, so one address gets
/// a bounded number of checks: past them the form answers 429 without scoring, and
/// nothing is created.
#[tokio::test]
async fn one_address_cannot_keep_the_strength_check_busy() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let browser = app.browser();
    let mut statuses = Vec::new();
    for i in 0..30 {
        let page = browser
            .submit(
                "/signup",
                "/signup",
                &[
                    ("display_name", "Flood"),
                    ("email", &format!("flood{i}@example.com")),
                    ("password", "1|!7@$1|!7@$1|!7@$1|!7@$"),
                ],
            )
            .await;
        statuses.push(page.status);
    }
    assert!(
        statuses[..15].iter().all(|s| s.as_u16() == 422),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last().map(|s| s.as_u16()),
        Some(429),
        "{statuses:?}"
    );
    assert_eq!(
        app.count("users WHERE email LIKE 'flood%'"),
        0,
        "nothing is created"
    );
}
