//! Bad input on every form: empty, too long, invalid email, unicode, NUL bytes, HTML —
//! a 4xx with the form shown again and its message, and nothing written.

use crate::kit::{OWNER_EMAIL, PASSWORD, Page, spawn_app};

const NAME_101: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// 255 characters: 64 before the `@`, a long dotted domain after it.
fn email_255() -> String {
    let email = format!("{}@{}.example.com", "a".repeat(64), "b".repeat(178));
    assert_eq!(email.len(), 255);
    email
}

#[track_caller]
fn assert_form_error(page: &Page, status: u16, form_text: &str, message: &str) {
    page.assert_status(status);
    assert!(
        page.contains(form_text),
        "form {form_text:?} not shown again:\n{}",
        page.body
    );
    assert!(
        page.contains("Please fix the following:"),
        "no error box:\n{}",
        page.body
    );
    assert!(
        page.contains(message),
        "message {message:?} missing:\n{}",
        page.body
    );
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_writes_nothing() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let email_255 = email_255();
    let long_password = "p".repeat(1025);
    let cases: Vec<([&str; 3], &str)> = vec![
        (["", "bob@example.com", PASSWORD], "Your name is required."),
        (
            ["   ", "bob@example.com", PASSWORD],
            "Your name is required.",
        ),
        (
            [NAME_101, "bob@example.com", PASSWORD],
            "Your name must be at most 100 characters.",
        ),
        (
            ["a\u{0}b", "bob@example.com", PASSWORD],
            "Your name must not contain control characters.",
        ),
        (["Bob", "", PASSWORD], "Email is required."),
        (
            ["Bob", "not-an-email", PASSWORD],
            "Enter an email address such as ada@example.com.",
        ),
        (
            ["Bob", "bob@localhost", PASSWORD],
            "Enter an email address such as ada@example.com.",
        ),
        (
            ["Bob", "bob smith@example.com", PASSWORD],
            "Enter an email address such as ada@example.com.",
        ),
        (
            ["Bob", &email_255, PASSWORD],
            "Email must be at most 254 characters.",
        ),
        (
            ["Bob", "bob\u{0}@example.com", PASSWORD],
            "Email must not contain control characters.",
        ),
        (
            ["Bob", "bob@example.com", "short"],
            "Password must be at least 10 characters.",
        ),
        (
            ["Bob", "bob@example.com", "long enough\u{0}password"],
            "Password must not contain NUL characters.",
        ),
        (
            ["Bob", "bob@example.com", &long_password],
            "Password must be at most 1024 bytes.",
        ),
    ];
    for ([name, email, password], message) in cases {
        let visitor = app.browser();
        let page = visitor
            .submit(
                "/signup",
                "/signup",
                &[
                    ("display_name", name),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_form_error(&page, 422, "Create your account", message);
        assert_eq!(app.count("users"), 1, "{name:?} {email:?}");
    }

    // Several problems at once are all reported, and what was typed is kept.
    let page = app
        .browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", ""),
                ("email", "bob@@example.com"),
                ("password", "short"),
            ],
        )
        .await;
    assert_form_error(&page, 422, "Create your account", "Your name is required.");
    assert!(page.contains("Enter an email address such as ada@example.com."));
    assert!(page.contains("Password must be at least 10 characters."));
    assert!(page.contains("value=\"bob@@example.com\""));
    assert_eq!(app.count("users"), 1);
    assert_eq!(app.count("sessions"), 1);
}

#[tokio::test]
async fn unicode_names_are_kept_intact_and_html_is_shown_escaped() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;

    let zoe = app
        .sign_up("  Zoë Ørsted 日本 🚀  ", "zoe@example.com")
        .await;
    let account = zoe.get("/account").await;
    assert!(account.contains("<span class=\"user-name\">Zoë Ørsted 日本 🚀</span>"));
    assert!(account.contains("value=\"Zoë Ørsted 日本 🚀\""));

    // 100 characters of several bytes each is within the limit: it counts characters.
    let hundred = "é".repeat(100);
    app.browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", &hundred),
                ("email", "e@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/orgs");

    let mallory = app.browser();
    mallory
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", "<script>alert(1)</script>"),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/orgs");
    let page = mallory.get("/account").await;
    // Escaped (askama writes numeric entities: &#60; for <, &#62; for >, &#38; for &).
    assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!page.contains("<script>alert(1)"));
    assert_eq!(app.count("users"), 4);

    // Organisation names too, in the page and in the menu.
    let made = ada
        .submit(
            "/orgs/new",
            "/orgs",
            &[("name", "<b>Bold</b> & Co"), ("slug", "bold")],
        )
        .await;
    made.assert_redirect("/o/bold");
    let home = ada.get("/o/bold").await;
    assert!(home.contains("<h1>&#60;b&#62;Bold&#60;/b&#62; &#38; Co</h1>"));
    assert!(home.contains("<summary>&#60;b&#62;Bold&#60;/b&#62; &#38; Co</summary>"));
    assert!(!home.contains("<b>Bold</b>"));

    // A unicode organisation name; the derived slug keeps only ASCII.
    let cafe = ada
        .submit(
            "/orgs/new",
            "/orgs",
            &[("name", "Café Müller"), ("slug", "")],
        )
        .await;
    cafe.assert_redirect("/o/caf-m-ller");
    assert!(
        ada.get("/o/caf-m-ller")
            .await
            .contains("<h1>Café Müller</h1>")
    );

    // And members lists show the invited person's HTML name escaped to the admin.
    let path = app
        .invite(&ada, "acme", "eve@example.com", "developer")
        .await;
    let eve = app.browser();
    let form = eve.get(&path).await;
    eve.post_raw(
        "/invite/signup",
        &[
            ("csrf_token", &form.csrf()),
            ("token", path.trim_start_matches("/invite/")),
            ("display_name", "<img src=x onerror=alert(1)>"),
            ("password", PASSWORD),
        ],
    )
    .await
    .assert_redirect("/o/acme");
    let members = ada.get("/o/acme/members").await;
    assert!(members.contains("&#60;img src=x onerror=alert(1)&#62;"));
    assert!(!members.contains("<img src=x"));
}

#[tokio::test]
async fn setup_refuses_bad_input_and_writes_nothing() {
    let app = spawn_app().await;
    let code = app.setup_code.clone().expect("setup code");
    let email_255 = email_255();
    let good = [
        ("display_name", "Ada Lovelace"),
        ("email", OWNER_EMAIL),
        ("password", PASSWORD),
        ("org_name", "Acme"),
        ("org_slug", "acme"),
    ];
    let cases: Vec<(&str, &str, &str)> = vec![
        ("display_name", "", "Your name is required."),
        (
            "display_name",
            NAME_101,
            "Your name must be at most 100 characters.",
        ),
        (
            "display_name",
            "Ada\u{0}",
            "Your name must not contain control characters.",
        ),
        ("email", "", "Email is required."),
        (
            "email",
            "ada.example.com",
            "Enter an email address such as ada@example.com.",
        ),
        ("email", &email_255, "Email must be at most 254 characters."),
        (
            "email",
            "ada@exa\u{0}mple.com",
            "Email must not contain control characters.",
        ),
        (
            "password",
            "123",
            "Password must be at least 10 characters.",
        ),
        ("org_name", "", "Organisation name is required."),
        (
            "org_name",
            NAME_101,
            "Organisation name must be at most 100 characters.",
        ),
        (
            "org_name",
            "Ac\u{0}me",
            "Organisation name must not contain control characters.",
        ),
        (
            "org_slug",
            "a\u{0}b",
            "Slug must not contain control characters.",
        ),
        ("org_slug", "admin", "is reserved; choose another."),
        (
            "org_slug",
            "Acme Corp",
            "Slug may hold only lower-case letters, digits and hyphens",
        ),
    ];
    for (field, value, message) in cases {
        let mut fields: Vec<(&str, &str)> = vec![("setup_code", code.as_str())];
        fields.extend(
            good.iter()
                .map(|&(k, v)| (k, if k == field { value } else { v })),
        );
        let visitor = app.browser();
        let page = visitor.submit("/setup", "/setup", &fields).await;
        assert_form_error(&page, 422, "Set up Gatehouse", message);
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
        assert_eq!(app.count("users"), 0, "{field}={value:?}");
        assert_eq!(app.count("organisations"), 0);
    }
    // The code was not used up by any of that.
    app.setup_owner().await;
    assert_eq!(app.count("users"), 1);
}

#[tokio::test]
async fn creating_an_organisation_refuses_bad_input_and_writes_nothing() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let slug_41 = "s".repeat(41);
    let cases: Vec<([&str; 2], &str)> = vec![
        (["", ""], "Organisation name is required."),
        (["   ", "spaces"], "Organisation name is required."),
        (
            [NAME_101, ""],
            "Organisation name must be at most 100 characters.",
        ),
        (
            ["Glo\u{0}bex", ""],
            "Organisation name must not contain control characters.",
        ),
        (
            ["Globex", "a\u{0}b"],
            "Slug must not contain control characters.",
        ),
        (["Globex", &slug_41], "Slug must be 2 to 40 characters."),
        (
            ["Globex", "-globex"],
            "Slug may hold only lower-case letters, digits and hyphens",
        ),
        (
            ["Globex", "glöbex"],
            "Slug may hold only lower-case letters, digits and hyphens",
        ),
        (["Globex", "api"], "is reserved; choose another."),
    ];
    for ([name, slug], message) in cases {
        let page = ada
            .submit("/orgs/new", "/orgs", &[("name", name), ("slug", slug)])
            .await;
        assert_form_error(&page, 422, "Create organisation", message);
        assert_eq!(app.count("organisations"), 1, "{name:?} {slug:?}");
        assert_eq!(app.count("memberships"), 1);
    }
    // Exactly 100 characters is fine.
    let hundred = "n".repeat(100);
    ada.submit(
        "/orgs/new",
        "/orgs",
        &[("name", &hundred), ("slug", "hundred")],
    )
    .await
    .assert_redirect("/o/hundred");
}

#[tokio::test]
async fn inviting_refuses_bad_input_and_writes_nothing() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let email_255 = email_255();
    let cases: Vec<([&str; 2], &str)> = vec![
        (["", "developer"], "Email is required."),
        (
            ["not-an-email", "developer"],
            "Enter an email address such as ada@example.com.",
        ),
        (
            ["<script>@example.com", "developer"],
            "Enter an email address such as ada@example.com.",
        ),
        (
            [&email_255, "developer"],
            "Email must be at most 254 characters.",
        ),
        (
            ["bob\u{0}@example.com", "developer"],
            "Email must not contain control characters.",
        ),
        (
            ["bob@example.com", "root"],
            "Choose a role: admin or developer.",
        ),
        (
            ["bob@example.com", ""],
            "Choose a role: admin or developer.",
        ),
    ];
    for ([email, role], message) in cases {
        let page = ada
            .submit(
                "/o/acme/members",
                "/o/acme/invitations",
                &[("email", email), ("role", role)],
            )
            .await;
        assert_form_error(&page, 422, "Create invitation link", message);
        assert_eq!(app.count("invitations"), 0, "{email:?} {role:?}");
    }
    // What was typed is kept, escaped.
    let page = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "<b>x</b>"), ("role", "developer")],
        )
        .await;
    page.assert_status(422);
    assert!(page.contains("value=\"&#60;b&#62;x&#60;/b&#62;\""));
    assert_eq!(app.count("invitations"), 0);
}

#[tokio::test]
async fn the_invitation_sign_up_form_refuses_bad_input() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let token = path.trim_start_matches("/invite/").to_string();
    let cases: Vec<([&str; 2], &str)> = vec![
        (["", PASSWORD], "Your name is required."),
        (
            [NAME_101, PASSWORD],
            "Your name must be at most 100 characters.",
        ),
        (
            ["B\u{0}b", PASSWORD],
            "Your name must not contain control characters.",
        ),
        (["Bob", "short"], "Password must be at least 10 characters."),
    ];
    for ([name, password], message) in cases {
        let visitor = app.browser();
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
        assert_form_error(&page, 422, "Create account and join", message);
        assert_eq!(app.count("users"), 1, "{name:?}");
        assert_eq!(app.count("memberships"), 1);
    }
    // The invitation is still good.
    let visitor = app.browser();
    let form = visitor.get(&path).await;
    visitor
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &form.csrf()),
                ("token", &token),
                ("display_name", "Bob"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/o/acme");
}

#[tokio::test]
async fn the_profile_form_refuses_bad_input() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    for (name, message) in [
        ("", "Your name is required."),
        (NAME_101, "Your name must be at most 100 characters."),
        (
            "Ada\u{0}Lovelace",
            "Your name must not contain control characters.",
        ),
    ] {
        let page = ada
            .submit("/account", "/account/profile", &[("display_name", name)])
            .await;
        assert_form_error(&page, 422, "Save profile", message);
    }
    let account = ada.get("/account").await;
    assert!(account.contains("value=\"Ada Lovelace\""), "unchanged");

    // Unicode is saved as typed.
    ada.submit(
        "/account",
        "/account/profile",
        &[("display_name", "Ада Лавлейс ✨")],
    )
    .await
    .assert_redirect("/account");
    let account = ada.get("/account").await;
    assert!(account.contains("Your profile is saved."));
    assert!(account.contains("value=\"Ада Лавлейс ✨\""));
}

#[tokio::test]
async fn the_password_form_refuses_a_short_password_and_a_wrong_current_one() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let short = ada
        .submit(
            "/account",
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", "tiny")],
        )
        .await;
    assert_form_error(
        &short,
        422,
        "Change password",
        "Password must be at least 10 characters.",
    );
    let nul = ada
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "new pass\u{0}word"),
            ],
        )
        .await;
    assert_form_error(
        &nul,
        422,
        "Change password",
        "Password must not contain NUL characters.",
    );
    let wrong = ada
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_form_error(
        &wrong,
        422,
        "Change password",
        "Your current password is not correct.",
    );

    // The old password still works, the attempted new one does not.
    let other = app.browser();
    other
        .sign_in(OWNER_EMAIL, "a brand new password")
        .await
        .assert_status(401);
    other
        .sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    ada.get("/account").await.assert_status(200);
}

#[tokio::test]
async fn a_form_missing_a_required_field_gets_a_readable_400() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;

    let visitor = app.browser();
    let page = visitor
        .submit(
            "/signup",
            "/signup",
            &[("display_name", "Bob"), ("password", PASSWORD)],
        )
        .await;
    page.assert_status(400);
    assert!(page.contains("The form is incomplete or has an invalid value"));
    assert!(page.contains("email"), "names the missing field");
    assert_eq!(app.count("users"), 1);

    let org = ada
        .submit("/orgs/new", "/orgs", &[("slug", "nameless")])
        .await;
    org.assert_status(400);
    assert!(org.contains("The form is incomplete or has an invalid value"));
    assert_eq!(app.count("organisations"), 1);

    let invite = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "bob@example.com")],
        )
        .await;
    invite.assert_status(400);
    assert!(invite.contains("The form is incomplete or has an invalid value"));
    assert_eq!(app.count("invitations"), 0);
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_a_4xx() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let huge = "x".repeat(70 * 1024);

    let visitor = app.browser();
    let page = visitor
        .submit(
            "/signup",
            "/signup",
            &[
                ("display_name", &huge),
                ("email", "bob@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        page.status.is_client_error(),
        "{}: {}",
        page.status,
        page.body
    );
    assert_eq!(app.count("users"), 1);

    let page = ada
        .submit("/orgs/new", "/orgs", &[("name", &huge), ("slug", "")])
        .await;
    assert!(
        page.status.is_client_error(),
        "{}: {}",
        page.status,
        page.body
    );
    assert_eq!(app.count("organisations"), 1);

    // The server is fine afterwards.
    ada.get("/o/acme").await.assert_status(200);
}

#[tokio::test]
async fn nul_bytes_in_addresses_are_not_found_not_server_errors() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let mut got = Vec::new();
    for path in ["/o/a%00b", "/o/a%00b/members", "/o/a%00b/settings"] {
        got.push((path, ada.get(path).await.status.as_u16()));
    }
    for path in [
        "/o/a%00b/leave",
        "/o/acme/members/a%00b/role",
        "/o/acme/members/a%00b/remove",
        "/o/acme/invitations/a%00b/revoke",
        "/o/acme/invitations/a%00b/resend",
        "/account/sessions/a%00b/end",
    ] {
        let page = ada.submit("/account", path, &[("role", "admin")]).await;
        got.push((path, page.status.as_u16()));
    }
    let expected = vec![
        ("/o/a%00b", 404),
        ("/o/a%00b/members", 404),
        ("/o/a%00b/settings", 404),
        ("/o/a%00b/leave", 404),
        ("/o/acme/members/a%00b/role", 404),
        ("/o/acme/members/a%00b/remove", 404),
        ("/o/acme/invitations/a%00b/revoke", 404),
        ("/o/acme/invitations/a%00b/resend", 404),
        ("/account/sessions/a%00b/end", 404),
    ];
    assert_eq!(got, expected);
    assert_eq!(app.count("memberships"), 1);
    ada.get("/account").await.assert_status(200);
}

#[tokio::test]
async fn nul_bytes_in_links_queries_and_sign_in_are_handled() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    // No address holds a control character: such a link is not found at all.
    let gone = app.browser().get("/invite/a%00b").await;
    gone.assert_status(404);
    assert!(gone.contains("does not exist"));
    // Sign-in with a NUL in the email is a form error, not a lookup.
    let login = app
        .browser()
        .sign_in("ada\u{0}@example.com", PASSWORD)
        .await;
    assert_form_error(
        &login,
        422,
        "Sign in",
        "Email must not contain control characters.",
    );
    // The member search drops control characters.
    let search = ada.get("/o/acme/members?q=ada%00").await;
    search.assert_status(200);
    assert!(search.contains(OWNER_EMAIL));
}
