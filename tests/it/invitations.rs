//! Invitation links: create, accept (new and existing accounts), the wrong account,
//! expired, reused, revoked, re-sent, duplicates, who may invite, the token at rest.

use crate::kit::{Browser, OWNER_EMAIL, PASSWORD, Page, TestApp, extract_value, spawn_app};

/// The token in an invitation path (`/invite/{token}`).
fn token_of(path: &str) -> &str {
    path.strip_prefix("/invite/").expect("an invitation path")
}

/// Signs up through the invitation page at `path` in a fresh browser.
async fn sign_up_through(app: &TestApp, path: &str, name: &str) -> (Browser, Page) {
    let browser = app.browser();
    let page = browser.get(path).await;
    page.assert_status(200);
    let joined = browser
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &page.csrf()),
                ("token", token_of(path)),
                ("display_name", name),
                ("password", PASSWORD),
            ],
        )
        .await;
    (browser, joined)
}

/// A signed-in user accepts the invitation at `path`.
async fn accept(browser: &Browser, path: &str) -> Page {
    let page = browser.get(path).await;
    browser
        .post_raw(
            "/invite/accept",
            &[("csrf_token", &page.csrf()), ("token", token_of(path))],
        )
        .await
}

/// Is the newest invitation for `email` accepted?
fn accepted(app: &TestApp, email: &str) -> bool {
    use diesel::prelude::*;
    use gatehouse::db::schema::invitations;
    let id = app.invitation_id(email);
    let mut conn = app.conn();
    let conn: &mut gatehouse::db::DbConnection = &mut conn;
    invitations::table
        .find(id)
        .select(invitations::accepted_at)
        .first::<Option<chrono::NaiveDateTime>>(conn)
        .expect("invitation")
        .is_some()
}

#[tokio::test]
async fn an_admin_invites_by_link_and_a_new_user_signs_up_through_it() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let carol = app.join(&ada, "acme", "carol@example.com", "admin").await;
    let users = app.count("users");

    let made = carol
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "Bob@Example.com"), ("role", "developer")],
        )
        .await;
    made.assert_status(200);
    assert_eq!(made.header("referrer-policy"), Some("same-origin"));
    assert!(made.contains("Invitation ready"));
    assert!(made.contains("<strong>bob@example.com</strong>"));
    assert!(made.contains("This is the only time the link is shown."));
    let link = extract_value(&made.body, "id=\"invitation-link\" value=\"").expect("link");
    let path = link.strip_prefix(&app.base).expect("own link").to_string();
    assert!(path.starts_with("/invite/"));

    // The members page lists it as pending.
    let members = carol.get("/o/acme/members").await;
    assert!(members.contains("Pending invitations"));
    assert!(members.contains("<td>bob@example.com</td>"));

    let bob = app.browser();
    let page = bob.get(&path).await;
    page.assert_status(200);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(page.contains("Join Acme"));
    assert!(page.contains("<strong>developer</strong>"));
    assert!(page.contains("<strong>bob@example.com</strong>"));
    assert!(page.contains("Create account and join"));

    let (bob, joined) = sign_up_through(&app, &path, "Bob Builder").await;
    joined.assert_redirect("/o/acme");
    let home = bob.get("/o/acme").await;
    home.assert_status(200);
    assert!(home.contains("Welcome to Acme!"));
    assert!(home.contains("You are Developer of <code>acme</code>."));
    assert_eq!(app.count("users"), users + 1);
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("developer")
    );
    assert!(accepted(&app, "bob@example.com"));
    assert!(
        carol
            .get("/o/acme/members")
            .await
            .contains("No pending invitations.")
    );
}

#[tokio::test]
async fn an_existing_signed_in_user_accepts_an_invitation() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.sign_up("bob@example.com", "bob@example.com").await;
    let path = app.invite(&ada, "acme", "bob@example.com", "admin").await;

    let page = bob.get(&path).await;
    page.assert_status(200);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(page.contains("You are signed in as bob@example.com."));
    assert!(page.contains("action=\"/invite/accept\""));

    let joined = accept(&bob, &path).await;
    joined.assert_redirect("/o/acme");
    let home = bob.get("/o/acme").await;
    assert!(home.contains("Welcome to Acme!"));
    assert!(home.contains("You are Admin of <code>acme</code>."));
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("admin")
    );
    assert!(accepted(&app, "bob@example.com"));
    assert_eq!(app.count("users"), 2);

    // Used once; the second try is gone, and changes nothing.
    let again = accept(&bob, &path).await;
    again.assert_status(410);
    assert!(again.contains("This invitation has already been used."));
    assert_eq!(app.count("memberships"), 2);
}

#[tokio::test]
async fn an_invitation_for_someone_else_is_refused_and_stays_usable() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dave = app.sign_up("dave@example.com", "dave@example.com").await;
    let path = app
        .invite(&ada, "acme", "carol@example.com", "developer")
        .await;

    let refused = accept(&dave, &path).await;
    refused.assert_status(403);
    assert_eq!(refused.header("referrer-policy"), Some("same-origin"));
    assert!(refused.contains("This invitation was sent to carol@example.com"));
    assert!(refused.contains("you are signed in as dave@example.com"));
    assert_eq!(app.role_of("acme", "dave@example.com"), None);
    assert!(!accepted(&app, "carol@example.com"));
    dave.get("/o/acme").await.assert_status(404);

    // Carol herself can still use it.
    let (_, joined) = sign_up_through(&app, &path, "Carol").await;
    joined.assert_redirect("/o/acme");
    assert_eq!(
        app.role_of("acme", "carol@example.com").as_deref(),
        Some("developer")
    );
}

#[tokio::test]
async fn an_expired_invitation_is_gone() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let visitor = app.browser();
    let form = visitor.get(&path).await;
    form.assert_status(200);
    let users = app.count("users");

    app.clock.advance(chrono::Duration::days(8));
    let page = visitor.get(&path).await;
    page.assert_status(410);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(page.contains("Invitation not usable"));
    assert!(page.contains("This invitation has expired."));

    let late = visitor
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &form.csrf()),
                ("token", token_of(&path)),
                ("display_name", "Bob"),
                ("password", PASSWORD),
            ],
        )
        .await;
    late.assert_status(410);
    assert!(late.contains("This invitation has expired."));
    assert_eq!(app.count("users"), users);
    assert!(!accepted(&app, "bob@example.com"));

    // An expired invitation no longer blocks a new one for the same address.
    let ada = app.browser();
    ada.sign_in(OWNER_EMAIL, PASSWORD)
        .await
        .assert_redirect("/");
    let fresh = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let (_, joined) = sign_up_through(&app, &fresh, "Bob").await;
    joined.assert_redirect("/o/acme");
}

#[tokio::test]
async fn a_used_invitation_cannot_be_used_again() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let (_, joined) = sign_up_through(&app, &path, "Bob").await;
    joined.assert_redirect("/o/acme");
    let users = app.count("users");

    let other = app.browser();
    let page = other.get(&path).await;
    page.assert_status(410);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(page.contains("This invitation has already been used."));
    // The page has no form left; a token from another page gets past CSRF.
    let token = other.get("/login").await.csrf();
    let again = other
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &token),
                ("token", token_of(&path)),
                ("display_name", "Bob Twin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    again.assert_status(410);
    assert!(again.contains("This invitation has already been used."));
    assert_eq!(app.count("users"), users);
    assert_eq!(app.count("memberships"), 2);
}

#[tokio::test]
async fn a_revoked_invitation_is_gone() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let id = app.invitation_id("bob@example.com");

    let revoked = ada
        .submit(
            "/o/acme/members",
            &format!("/o/acme/invitations/{id}/revoke"),
            &[],
        )
        .await;
    revoked.assert_redirect("/o/acme/members");
    let members = ada.get("/o/acme/members").await;
    assert!(members.contains("Invitation revoked; its link no longer works."));
    assert!(members.contains("No pending invitations."));

    let visitor = app.browser();
    let page = visitor.get(&path).await;
    page.assert_status(410);
    assert!(page.contains("This invitation was revoked."));
    let token = visitor.get("/login").await.csrf();
    let late = visitor
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &token),
                ("token", token_of(&path)),
                ("display_name", "Bob"),
                ("password", PASSWORD),
            ],
        )
        .await;
    late.assert_status(410);
    assert_eq!(app.count("users"), 1);

    // Revoking twice says so.
    let twice = ada
        .submit(
            "/o/acme/members",
            &format!("/o/acme/invitations/{id}/revoke"),
            &[],
        )
        .await;
    twice.assert_redirect("/o/acme/members");
    assert!(
        ada.get("/o/acme/members")
            .await
            .contains("This invitation was already used or revoked.")
    );
}

#[tokio::test]
async fn re_sending_makes_a_new_link_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let old = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let id = app.invitation_id("bob@example.com");

    let resent = ada
        .submit(
            "/o/acme/members",
            &format!("/o/acme/invitations/{id}/resend"),
            &[],
        )
        .await;
    resent.assert_status(200);
    assert_eq!(resent.header("referrer-policy"), Some("same-origin"));
    let link = extract_value(&resent.body, "id=\"invitation-link\" value=\"").expect("link");
    let new = link.strip_prefix(&app.base).expect("own link").to_string();
    assert_ne!(new, old);
    assert_eq!(app.count("invitations"), 1);

    let visitor = app.browser();
    let stale = visitor.get(&old).await;
    stale.assert_status(410);
    assert!(stale.contains("This invitation link is not valid."));
    let (_, joined) = sign_up_through(&app, &new, "Bob").await;
    joined.assert_redirect("/o/acme");

    // A used invitation cannot be re-sent.
    let used = ada
        .submit(
            "/o/acme/members",
            &format!("/o/acme/invitations/{id}/resend"),
            &[],
        )
        .await;
    used.assert_redirect("/o/acme/members");
    assert!(
        ada.get("/o/acme/members")
            .await
            .contains("This invitation was already used or revoked.")
    );
}

#[tokio::test]
async fn duplicates_and_existing_members_are_conflicts() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    app.join(&ada, "acme", "carol@example.com", "developer")
        .await;
    app.invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let before = app.count("invitations");

    let dup = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "BOB@example.com"), ("role", "admin")],
        )
        .await;
    dup.assert_status(409);
    assert!(dup.contains("Invite someone"));
    assert!(dup.contains("bob@example.com already has a pending invitation."));

    let member = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "carol@example.com"), ("role", "developer")],
        )
        .await;
    member.assert_status(409);
    assert!(member.contains("Invite someone"));
    assert!(member.contains("carol@example.com is already a member of Acme."));

    let me = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", OWNER_EMAIL), ("role", "developer")],
        )
        .await;
    me.assert_status(409);
    assert!(me.contains("is already a member of Acme."));

    // Owners are made, not invited.
    let owner = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "olga@example.com"), ("role", "owner")],
        )
        .await;
    owner.assert_status(422);
    assert!(owner.contains("Invite people as admin or developer"));
    assert_eq!(app.count("invitations"), before);

    // An existing member who opens an invitation to the same organisation is told so.
    let carol = app.browser();
    carol
        .sign_in("carol@example.com", PASSWORD)
        .await
        .assert_redirect("/");
    let globex = ada
        .submit(
            "/orgs/new",
            "/orgs",
            &[("name", "Globex"), ("slug", "globex")],
        )
        .await;
    globex.assert_redirect("/o/globex");
    let path = app
        .invite(&ada, "globex", "carol@example.com", "developer")
        .await;
    accept(&carol, &path).await.assert_redirect("/o/globex");
    assert_eq!(
        app.role_of("globex", "carol@example.com").as_deref(),
        Some("developer")
    );
}

#[tokio::test]
async fn developers_cannot_invite_and_outsiders_do_not_see_the_organisation() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dave = app
        .join(&ada, "acme", "dave@example.com", "developer")
        .await;
    app.invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let id = app.invitation_id("bob@example.com");
    let before = app.count("invitations");

    let members = dave.get("/o/acme/members").await;
    members.assert_status(200);
    assert!(!members.contains("Invite someone"));
    assert!(!members.contains("bob@example.com"), "no pending list");
    let refused = dave
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "eve@example.com"), ("role", "developer")],
        )
        .await;
    refused.assert_status(403);
    assert!(refused.contains("Only organisation admins and owners can do this."));
    dave.submit(
        "/o/acme/members",
        &format!("/o/acme/invitations/{id}/revoke"),
        &[],
    )
    .await
    .assert_status(403);
    dave.submit(
        "/o/acme/members",
        &format!("/o/acme/invitations/{id}/resend"),
        &[],
    )
    .await
    .assert_status(403);

    let outsider = app.sign_up("olga@example.com", "olga@example.com").await;
    outsider.get("/o/acme").await.assert_status(404);
    outsider.get("/o/acme/members").await.assert_status(404);
    outsider
        .submit(
            "/orgs",
            "/o/acme/invitations",
            &[("email", "eve@example.com"), ("role", "developer")],
        )
        .await
        .assert_status(404);
    outsider
        .submit("/orgs", &format!("/o/acme/invitations/{id}/revoke"), &[])
        .await
        .assert_status(404);
    assert_eq!(app.count("invitations"), before);
    assert!(!accepted(&app, "bob@example.com"));
    // Still pending: the revoke attempts did nothing.
    assert!(
        ada.get("/o/acme/members")
            .await
            .contains("<td>bob@example.com</td>")
    );
}

#[tokio::test]
async fn invitation_pages_send_no_referrer_and_unknown_links_are_gone() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let visitor = app.browser();
    let page = visitor.get(&path).await;
    page.assert_status(200);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));

    let unknown = visitor.get("/invite/not-a-real-token").await;
    unknown.assert_status(410);
    assert_eq!(unknown.header("referrer-policy"), Some("same-origin"));
    assert!(unknown.contains("This invitation link is not valid."));

    // A form error on the sign-up form keeps the header (the page still holds the token).
    let short = visitor
        .post_raw(
            "/invite/signup",
            &[
                ("csrf_token", &page.csrf()),
                ("token", token_of(&path)),
                ("display_name", "Bob"),
                ("password", "short"),
            ],
        )
        .await;
    short.assert_status(422);
    assert_eq!(short.header("referrer-policy"), Some("same-origin"));
    assert!(short.contains("Password must be at least 10 characters."));
    assert!(short.contains("Create account and join"));
    assert_eq!(app.count("users"), 1);
    assert!(!accepted(&app, "bob@example.com"));
}

#[tokio::test]
async fn the_token_is_stored_only_as_a_hash() {
    use diesel::prelude::*;
    use gatehouse::db::schema::{audit_events, invitations};

    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let token = token_of(&path).to_string();
    assert!(token.len() >= 22, "{token}");

    let mut conn = app.conn();
    let conn: &mut gatehouse::db::DbConnection = &mut conn;
    let rows: Vec<(String, String, String, String)> = invitations::table
        .select((
            invitations::id,
            invitations::email,
            invitations::role,
            invitations::token_hash,
        ))
        .load(conn)
        .expect("invitations");
    assert_eq!(rows.len(), 1);
    let (id, email, role, hash) = &rows[0];
    assert_eq!(email, "bob@example.com");
    assert_eq!(role, "developer");
    assert_ne!(hash, &token);
    assert!(!hash.contains(&token));
    assert!(!id.contains(&token));
    assert_eq!(hash.len(), 64, "a SHA-256 in hex: {hash}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));

    // Nor does the audit log hold it.
    let details: Vec<(String, Option<String>)> = audit_events::table
        .select((audit_events::detail, audit_events::target))
        .load(conn)
        .expect("audit");
    assert!(!details.is_empty());
    for (detail, target) in details {
        assert!(!detail.contains(&token), "{detail}");
        assert!(!target.unwrap_or_default().contains(&token));
    }
}

#[tokio::test]
async fn an_invitation_works_when_open_sign_up_is_off() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    ada.submit(
        "/admin/instance",
        "/admin/instance",
        &[("org_creation", "anyone")],
    )
    .await
    .assert_redirect("/admin/instance");
    let visitor = app.browser();
    assert!(visitor.get("/signup").await.contains("Sign-up is closed"));

    let path = app
        .invite(&ada, "acme", "bob@example.com", "developer")
        .await;
    let (bob, joined) = sign_up_through(&app, &path, "Bob").await;
    joined.assert_redirect("/o/acme");
    bob.get("/o/acme").await.assert_status(200);
    assert_eq!(app.count("users"), 2);
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("developer")
    );
}

#[tokio::test]
async fn the_invitation_link_is_emailed_and_works_from_the_email() {
    let app = crate::kit::spawn_app().await;
    let ada = app.setup_owner().await;
    let shown = app
        .invite(&ada, "acme", "newbie@example.com", "developer")
        .await;
    let emailed = |app: &TestApp| -> Vec<String> {
        crate::mail::emails_in(app.data_dir())
            .iter()
            .filter(|m| m.contains("To: newbie@example.com"))
            .map(|m| {
                assert!(m.contains("Subject: You are invited to join Acme"), "{m}");
                crate::mail::link_path(app, m, "/invite/")
            })
            .collect()
    };
    app.deliver_mail().await;
    let first = emailed(&app);
    assert_eq!(first.len(), 1);
    // The emailed link is not the one the admin saw (its token is minted when the email
    // is sent); both open the invitation.
    assert_ne!(first[0], shown);
    app.browser().get(&first[0]).await.assert_status(200);
    app.browser().get(&shown).await.assert_status(200);

    // Re-sending mails a new link and shows another; the old ones stop working.
    let id = app.invitation_id("newbie@example.com");
    let resent = ada
        .submit(
            "/o/acme/members",
            &format!("/o/acme/invitations/{id}/resend"),
            &[],
        )
        .await;
    resent.assert_status(200);
    let shown_again = extract_value(&resent.body, "id=\"invitation-link\" value=\"")
        .unwrap()
        .strip_prefix(&app.base)
        .unwrap()
        .to_string();
    app.deliver_mail().await;
    let mails = emailed(&app);
    assert_eq!(mails.len(), 2);
    let fresh = mails.iter().find(|l| **l != first[0]).unwrap().clone();
    app.browser().get(&shown).await.assert_status(410);
    app.browser().get(&first[0]).await.assert_status(410);

    // Joining through the emailed link uses the invitation up: the shown link is dead too.
    let (newbie, joined) = sign_up_through(&app, &fresh, "Newbie").await;
    joined.assert_redirect("/o/acme");
    newbie.get("/o/acme").await.assert_status(200);
    let used = app.browser().get(&shown_again).await;
    used.assert_status(410);
    assert!(used.contains("already been used"), "{}", used.body);
}
