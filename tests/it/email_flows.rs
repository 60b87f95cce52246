//! Email verification (sign-up, change of address, resend) and password reset by
//! email: links used, expired and reused; the forgotten-password answer that does not
//! tell whether an account exists.

use chrono::Duration;

use crate::kit::{Browser, OWNER_EMAIL, PASSWORD, TestApp, spawn_app};
use crate::mail::{link_path, mail_to};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Delivers mail and returns the path of the only link of `prefix` sent to `to`.
async fn only_link(app: &TestApp, to: &str, subject: &str, prefix: &str) -> String {
    let mails = mail_to(app, to, subject).await;
    assert_eq!(mails.len(), 1, "one '{subject}' email to {to}: {mails:?}");
    link_path(app, &mails[0], prefix)
}

/// Opens a link page and posts its form, as the person clicking would.
async fn confirm(
    browser: &Browser,
    link: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> crate::kit::Page {
    let page = browser.get(link).await;
    page.assert_status(200);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    let token = link.rsplit('/').next().unwrap();
    let mut fields: Vec<(String, String)> = vec![
        ("csrf_token".into(), page.csrf()),
        ("token".into(), token.to_string()),
    ];
    fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect();
    browser.post_raw(action, &fields).await
}

#[tokio::test]
async fn first_run_setup_sends_the_owner_a_verification_link_like_sign_up() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let home = ada.get("/o/acme").await;
    assert!(
        home.contains("We sent you a link to confirm your email address."),
        "the welcome says a link went out: {}",
        home.body
    );
    let account = ada.get("/account").await;
    assert!(account.contains("not verified"));

    let link = only_link(
        &app,
        OWNER_EMAIL,
        "Confirm your email address",
        "/verify-email/",
    )
    .await;
    confirm(&ada, &link, "/verify-email", &[])
        .await
        .assert_redirect("/account");
    let account = ada.get("/account").await;
    assert!(!account.contains("not verified"), "{}", account.body);
    assert!(account.contains("is verified"));
}

#[tokio::test]
async fn a_sign_up_verification_link_works_once_and_expires() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let bob = app.sign_up("Someone", "bob@example.com").await;
    let account = bob.get("/account").await;
    assert!(account.contains("not verified"));
    assert!(account.contains("Resend the verification link"));

    let link = only_link(
        &app,
        "bob@example.com",
        "Confirm your email address",
        "/verify-email/",
    )
    .await;
    // Opening the link changes nothing by itself.
    bob.get(&link).await.assert_status(200);
    assert_eq!(app.count("users WHERE email_verified_at IS NOT NULL"), 0);
    confirm(&bob, &link, "/verify-email", &[])
        .await
        .assert_redirect("/account");
    let account = bob.get("/account").await;
    assert!(account.contains("verified"));
    assert!(!account.contains("not verified"));
    assert!(account.contains("is verified"), "the flash says so");
    assert_eq!(
        app.count("audit_events WHERE action = 'user.email_verified'"),
        1
    );

    // Used: the link is dead, on the page and on the form.
    let reused = bob.get(&link).await;
    reused.assert_status(410);
    assert!(reused.contains("already been used"));
    let token = link.rsplit('/').next().unwrap();
    let csrf = bob.get("/account").await.csrf();
    bob.post_raw("/verify-email", &[("csrf_token", &csrf), ("token", token)])
        .await
        .assert_status(410);
    // A verified account has nothing to resend.
    bob.submit("/account", "/account/verify-email/resend", &[])
        .await
        .assert_redirect("/account");
    assert_eq!(
        app.count(&format!(
            "user_tokens WHERE purpose = 'verify_email' AND used_at IS NULL \
             AND email <> '{OWNER_EMAIL}'"
        )),
        0
    );

    // Expired after 48 hours; a resent link works, and only the newest one.
    let carol = app.sign_up("Someone", "carol@example.com").await;
    let old = only_link(
        &app,
        "carol@example.com",
        "Confirm your email address",
        "/verify-email/",
    )
    .await;
    app.clock.advance(Duration::hours(48));
    let expired = carol.get(&old).await;
    expired.assert_status(410);
    assert!(expired.contains("expired"));
    let carol = app.browser();
    carol
        .sign_in("carol@example.com", PASSWORD)
        .await
        .assert_redirect("/");
    carol
        .submit("/account", "/account/verify-email/resend", &[])
        .await
        .assert_redirect("/account");
    // A second resend within the minute is refused.
    carol
        .submit("/account", "/account/verify-email/resend", &[])
        .await
        .assert_status(429);
    let mails = mail_to(&app, "carol@example.com", "Confirm your email address").await;
    assert_eq!(mails.len(), 2);
    let fresh: Vec<String> = mails
        .iter()
        .map(|m| link_path(&app, m, "/verify-email/"))
        .filter(|l| *l != old)
        .collect();
    assert_eq!(fresh.len(), 1);
    // Signed out (or in another browser) works too.
    confirm(&app.browser(), &fresh[0], "/verify-email", &[])
        .await
        .assert_redirect("/login");
    assert!(!carol.get("/account").await.contains("not verified"));

    // An invitation link proves the address: invited members start verified.
    let ada = app.browser();
    ada.sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    let mo = app.join(&ada, "acme", "mo@example.com", "developer").await;
    assert!(!mo.get("/account").await.contains("not verified"));
    assert!(
        mail_to(&app, "mo@example.com", "Confirm your email address")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn changing_the_email_address_unverifies_it_and_sends_a_link_to_the_new_one() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    app.sign_up("Someone", "taken@example.com").await;

    // Bad input changes nothing and shows the form again.
    let wrong = ada
        .submit(
            "/account",
            "/account/email",
            &[
                ("new_email", "ada@new.example.com"),
                ("current_password", "wrong password"),
            ],
        )
        .await;
    wrong.assert_status(422);
    assert!(wrong.contains("current password is not correct"));
    assert!(wrong.contains("value=\"ada@new.example.com\""));
    ada.submit(
        "/account",
        "/account/email",
        &[
            ("new_email", "not an email"),
            ("current_password", PASSWORD),
        ],
    )
    .await
    .assert_status(422);
    ada.submit(
        "/account",
        "/account/email",
        &[
            ("new_email", "TAKEN@example.com"),
            ("current_password", PASSWORD),
        ],
    )
    .await
    .assert_status(409);
    assert_eq!(
        app.count(&format!("users WHERE email = '{OWNER_EMAIL}'")),
        1
    );
    // Setup mailed Ada a verification link just now: changes wait a minute after it.
    app.clock.advance(Duration::minutes(1));

    ada.submit(
        "/account",
        "/account/email",
        &[
            ("new_email", "Ada@New.example.com"),
            ("current_password", PASSWORD),
        ],
    )
    .await
    .assert_redirect("/account");
    let account = ada.get("/account").await;
    assert!(account.contains("ada@new.example.com"));
    assert!(account.contains("not verified"));
    // The old address hears about it; the new one gets the link.
    let notices = mail_to(&app, OWNER_EMAIL, "Your email address was changed").await;
    assert_eq!(notices.len(), 1);
    assert!(!notices[0].contains("/verify-email/"));
    let link = only_link(
        &app,
        "ada@new.example.com",
        "Confirm your email address",
        "/verify-email/",
    )
    .await;
    confirm(&ada, &link, "/verify-email", &[])
        .await
        .assert_redirect("/account");
    assert!(!ada.get("/account").await.contains("not verified"));
    // Sign-in uses the new address.
    app.browser()
        .sign_in("ada@new.example.com", PASSWORD)
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let laptop = app.browser();
    laptop
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    let visitor = app.browser();
    assert!(
        visitor
            .get("/login")
            .await
            .contains("href=\"/forgot-password\"")
    );

    visitor
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", "ADA@example.com")],
        )
        .await
        .assert_redirect("/login");
    let link = only_link(&app, OWNER_EMAIL, "Reset your password", "/reset-password/").await;
    assert_eq!(app.count("user_tokens WHERE purpose = 'reset_password'"), 1);

    // A too-short password shows the form again and changes nothing.
    let short = confirm(
        &visitor,
        &link,
        "/reset-password",
        &[("new_password", "short")],
    )
    .await;
    short.assert_status(422);
    assert!(short.contains("name=\"token\""));
    assert_eq!(app.count("sessions"), 2);

    confirm(
        &visitor,
        &link,
        "/reset-password",
        &[("new_password", NEW_PASSWORD)],
    )
    .await
    .assert_redirect("/login");
    // Every session is over; the old password is refused, the new one works.
    assert_eq!(app.count("sessions"), 0);
    ada.get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    laptop
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    visitor
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_status(401);
    visitor
        .sign_in(OWNER_EMAIL, NEW_PASSWORD)
        .await
        .assert_redirect("/");
    assert_eq!(
        app.count("audit_events WHERE action = 'user.password_reset'"),
        1
    );

    // Reused: dead, and costs nothing.
    let reused = app.browser().get(&link).await;
    reused.assert_status(410);
    assert!(reused.contains("already been used"));
    let other = app.browser();
    let csrf = other.get("/login").await.csrf();
    let token = link.rsplit('/').next().unwrap();
    other
        .post_raw(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("token", token),
                ("new_password", "yet another passphrase"),
            ],
        )
        .await
        .assert_status(410);
    other
        .sign_in(OWNER_EMAIL, NEW_PASSWORD)
        .await
        .assert_redirect("/");

    // Expired after an hour.
    app.clock.advance(Duration::minutes(5));
    visitor
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", OWNER_EMAIL)],
        )
        .await
        .assert_redirect("/login");
    let mails = mail_to(&app, OWNER_EMAIL, "Reset your password").await;
    assert_eq!(mails.len(), 2);
    let late = mails
        .iter()
        .map(|m| link_path(&app, m, "/reset-password/"))
        .find(|l| *l != link)
        .unwrap();
    app.clock.advance(Duration::minutes(61));
    let expired = app.browser().get(&late).await;
    expired.assert_status(410);
    assert!(expired.contains("expired"));
    let fresh = app.browser();
    let csrf = fresh.get("/login").await.csrf();
    let token = late.rsplit('/').next().unwrap();
    fresh
        .post_raw(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("token", token),
                ("new_password", "yet another passphrase"),
            ],
        )
        .await
        .assert_status(410);
    app.browser()
        .sign_in(OWNER_EMAIL, NEW_PASSWORD)
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_unknown_addresses_and_is_throttled() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let answer = |email: &'static str| {
        let browser = app.browser();
        async move {
            let res = browser
                .submit("/forgot-password", "/forgot-password", &[("email", email)])
                .await;
            let next = browser.get("/login").await;
            let flash = crate::kit::extract_value(&next.body, "role=\"status\">")
                .or_else(|| {
                    let start = next.body.find("role=\"status\">")? + "role=\"status\">".len();
                    let end = next.body[start..].find('<')? + start;
                    Some(next.body[start..end].to_string())
                })
                .unwrap_or_default();
            (
                res.status.as_u16(),
                res.location().map(str::to_string),
                flash,
            )
        }
    };
    let known = answer(OWNER_EMAIL).await;
    let unknown = answer("nobody@example.com").await;
    assert_eq!(known.0, 303);
    assert_eq!(known, unknown);
    assert!(
        known.2.contains("If an account uses that address"),
        "{known:?}"
    );
    assert_eq!(
        app.count("email_outbox WHERE to_address = 'nobody@example.com'"),
        0
    );
    let resets = "user_tokens WHERE purpose = 'reset_password'";
    assert_eq!(app.count(resets), 1);
    // A second request within the minute sends nothing more, with the same answer.
    assert_eq!(answer(OWNER_EMAIL).await, unknown);
    assert_eq!(app.count(resets), 1);

    // From one address, requests slow down after a few.
    let browser = app.browser();
    let mut refused = None;
    for n in 0..25 {
        let res = browser
            .submit(
                "/forgot-password",
                "/forgot-password",
                &[("email", "nobody@example.com")],
            )
            .await;
        if res.status.as_u16() == 429 {
            refused = Some(n);
            break;
        }
        res.assert_redirect("/login");
    }
    assert!(refused.is_some(), "never throttled");
}
