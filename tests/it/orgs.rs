//! Organisations: creation, the organisation switcher, two tabs in two
//! organisations, roles, the last-owner guard, removal, leaving, renaming, deletion.

use crate::kit::{Browser, OWNER_EMAIL, PASSWORD, Page, TestApp, follow, spawn_app};

/// Submits the new-organisation form.
async fn create_org(browser: &Browser, name: &str, slug: &str) -> Page {
    browser
        .submit("/orgs/new", "/orgs", &[("name", name), ("slug", slug)])
        .await
}

/// Posts a member removal from the members page.
async fn remove(app: &TestApp, actor: &Browser, org: &str, email: &str) -> Page {
    let id = app.user_id(email);
    actor
        .submit(
            &format!("/o/{org}/members"),
            &format!("/o/{org}/members/{id}/remove"),
            &[],
        )
        .await
}

async fn leave(actor: &Browser, org: &str) -> Page {
    actor
        .submit(&format!("/o/{org}"), &format!("/o/{org}/leave"), &[])
        .await
}

#[tokio::test]
async fn creating_an_organisation_derives_or_takes_the_slug() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let form = ada.get("/orgs/new").await;
    form.assert_status(200);
    assert!(form.contains("New organisation"));

    // Slug derived from the name.
    let made = create_org(&ada, "Globex Corporation", "").await;
    made.assert_redirect("/o/globex-corporation");
    let home = follow(&ada, &made).await;
    home.assert_status(200);
    assert!(home.contains("<h1>Globex Corporation</h1>"));
    assert!(home.contains("You are Owner of <code>globex-corporation</code>."));
    assert!(home.contains("Globex Corporation is created. Invite your team from Members."));
    assert_eq!(
        app.role_of("globex-corporation", OWNER_EMAIL).as_deref(),
        Some("owner")
    );

    // An explicit slug wins over the name.
    create_org(&ada, "Initech", "ini-tech")
        .await
        .assert_redirect("/o/ini-tech");
    ada.get("/o/ini-tech").await.assert_status(200);
    ada.get("/o/initech").await.assert_status(404);

    // A name that slugifies to a reserved word gets a suffix.
    create_org(&ada, "Admin", "")
        .await
        .assert_redirect("/o/admin-org");
    assert_eq!(app.count("organisations"), 4);
}

#[tokio::test]
async fn a_duplicate_slug_is_a_conflict_and_a_reserved_one_is_refused() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let orgs = app.count("organisations");
    let members = app.count("memberships");

    let dup = create_org(&ada, "Another Acme", "acme").await;
    dup.assert_status(409);
    assert!(dup.contains("New organisation"));
    assert!(dup.contains("is already taken; choose another."));
    assert!(
        dup.contains("value=\"Another Acme\""),
        "form keeps the input"
    );

    // A derived slug that is taken conflicts too.
    let derived = create_org(&ada, "Acme", "").await;
    derived.assert_status(409);
    assert!(derived.contains("is already taken; choose another."));

    let reserved = create_org(&ada, "Administration", "admin").await;
    reserved.assert_status(422);
    assert!(reserved.contains("New organisation"));
    assert!(reserved.contains("is reserved; choose another."));

    let upper = create_org(&ada, "Shouting", "SHOUT").await;
    upper.assert_status(422);
    assert!(upper.contains("Slug may hold only lower-case letters, digits and hyphens"));

    let short = create_org(&ada, "X", "x").await;
    short.assert_status(422);
    assert!(short.contains("Slug must be 2 to 40 characters."));

    assert_eq!(app.count("organisations"), orgs);
    assert_eq!(app.count("memberships"), members);
}

#[tokio::test]
async fn only_instance_owners_create_organisations_when_restricted() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "developer").await;
    ada.submit(
        "/admin/instance",
        "/admin/instance",
        &[("open_signup", "on"), ("org_creation", "instance_owners")],
    )
    .await
    .assert_redirect("/admin/instance");

    bob.get("/orgs/new").await.assert_status(403);
    let refused = bob
        .submit("/orgs", "/orgs", &[("name", "Bob's Own"), ("slug", "")])
        .await;
    refused.assert_status(403);
    assert!(refused.contains("only instance owners can create organisations"));
    assert_eq!(app.count("organisations"), 1);
    // The instance owner still can.
    create_org(&ada, "Globex", "globex")
        .await
        .assert_redirect("/o/globex");
}

#[tokio::test]
async fn the_current_organisation_menu_lists_every_organisation_of_the_user() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    create_org(&ada, "Globex", "globex")
        .await
        .assert_redirect("/o/globex");
    let bob = app.join(&ada, "acme", "bob@example.com", "developer").await;

    let list = ada.get("/orgs").await;
    list.assert_status(200);
    // Outside an organisation the switcher is labelled for what it lists.
    assert!(list.contains("<summary>Organisations</summary>"));
    assert!(list.contains("<a href=\"/o/acme\">Acme <small>· owner</small></a>"));
    assert!(list.contains("<a href=\"/o/globex\">Globex <small>· owner</small></a>"));

    let in_globex = ada.get("/o/globex").await;
    assert!(in_globex.contains("<summary>Globex</summary>"));
    assert!(in_globex.contains("<a href=\"/o/acme\">Acme <small>· owner</small></a>"));
    let in_acme = ada.get("/o/acme").await;
    assert!(in_acme.contains("<summary>Acme</summary>"));
    assert!(in_acme.contains("<a href=\"/o/globex\">Globex <small>· owner</small></a>"));

    // Bob sees only his own organisation, with his role.
    let bobs = bob.get("/o/acme").await;
    assert!(bobs.contains("<a href=\"/o/acme\">Acme <small>· developer</small></a>"));
    assert!(!bobs.contains("/o/globex"));
    bob.get("/o/globex").await.assert_status(404);
}

#[tokio::test]
async fn two_tabs_in_two_organisations_never_mix_them_up() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    create_org(&ada, "Globex", "globex")
        .await
        .assert_redirect("/o/globex");
    app.join(&ada, "acme", "bob@example.com", "developer").await;
    app.join(&ada, "globex", "carol@example.com", "developer")
        .await;

    // One browser (one session), two tabs, used alternately.
    for _ in 0..2 {
        let a = ada.get("/o/acme/members").await;
        a.assert_status(200);
        assert!(a.contains("<summary>Acme</summary>"));
        assert!(a.contains("bob@example.com"));
        assert!(!a.contains("carol@example.com"));
        assert!(a.contains("action=\"/o/acme/invitations\""));

        let b = ada.get("/o/globex/members").await;
        b.assert_status(200);
        assert!(b.contains("<summary>Globex</summary>"));
        assert!(b.contains("carol@example.com"));
        assert!(!b.contains("bob@example.com"));
        assert!(b.contains("action=\"/o/globex/invitations\""));
    }

    // Forms loaded in both tabs, then sent in the other order, each land in their own
    // organisation: nothing about the "current" organisation lives in the session.
    let tab_a = ada.get("/o/acme/members").await;
    let tab_b = ada.get("/o/globex/members").await;
    ada.post_raw(
        "/o/globex/invitations",
        &[
            ("csrf_token", &tab_b.csrf()),
            ("email", "erin@example.com"),
            ("role", "developer"),
        ],
    )
    .await
    .assert_status(200);
    ada.post_raw(
        "/o/acme/invitations",
        &[
            ("csrf_token", &tab_a.csrf()),
            ("email", "dave@example.com"),
            ("role", "admin"),
        ],
    )
    .await
    .assert_status(200);

    let a = ada.get("/o/acme/members").await;
    assert!(a.contains("dave@example.com"));
    assert!(!a.contains("erin@example.com"));
    let b = ada.get("/o/globex/members").await;
    assert!(b.contains("erin@example.com"));
    assert!(!b.contains("dave@example.com"));
    // The overview pages agree.
    assert!(ada.get("/o/acme").await.contains("<h1>Acme</h1>"));
    assert!(ada.get("/o/globex").await.contains("<h1>Globex</h1>"));
}

#[tokio::test]
async fn owners_and_admins_change_roles_within_their_powers() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    app.join(&ada, "acme", "bob@example.com", "developer").await;
    let carol = app.join(&ada, "acme", "carol@example.com", "admin").await;
    let dave = app
        .join(&ada, "acme", "dave@example.com", "developer")
        .await;

    // Owner: developer → admin.
    let changed = app.set_role(&ada, "acme", "bob@example.com", "admin").await;
    changed.assert_redirect("/o/acme/members");
    assert!(follow(&ada, &changed).await.contains("Role changed."));
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("admin")
    );

    // Admin: developer → admin → developer.
    app.set_role(&carol, "acme", "dave@example.com", "admin")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(
        app.role_of("acme", "dave@example.com").as_deref(),
        Some("admin")
    );
    app.set_role(&carol, "acme", "dave@example.com", "developer")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(
        app.role_of("acme", "dave@example.com").as_deref(),
        Some("developer")
    );

    // An admin cannot make an owner, nor touch one.
    let up = app
        .set_role(&carol, "acme", "dave@example.com", "owner")
        .await;
    up.assert_status(403);
    assert!(up.contains("Only organisation owners can do this."));
    assert_eq!(
        app.role_of("acme", "dave@example.com").as_deref(),
        Some("developer")
    );
    app.set_role(&carol, "acme", OWNER_EMAIL, "developer")
        .await
        .assert_status(403);
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("owner"));
    app.set_role(&carol, "acme", "carol@example.com", "owner")
        .await
        .assert_status(403);
    assert_eq!(
        app.role_of("acme", "carol@example.com").as_deref(),
        Some("admin")
    );

    // A developer cannot change roles at all.
    let dev = app
        .set_role(&dave, "acme", "bob@example.com", "developer")
        .await;
    dev.assert_status(403);
    assert!(dev.contains("Only organisation admins and owners can do this."));
    app.set_role(&dave, "acme", "dave@example.com", "admin")
        .await
        .assert_status(403);
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("admin")
    );
    assert_eq!(
        app.role_of("acme", "dave@example.com").as_deref(),
        Some("developer")
    );

    // The owner can make another owner.
    app.set_role(&ada, "acme", "bob@example.com", "owner")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("owner")
    );

    // Nonsense roles and people who are not members.
    let bad = app
        .set_role(&ada, "acme", "dave@example.com", "superuser")
        .await;
    bad.assert_status(400);
    assert!(bad.contains("Choose a role: owner, admin or developer."));
    app.sign_up("Eve", "eve@example.com").await;
    app.set_role(&ada, "acme", "eve@example.com", "admin")
        .await
        .assert_status(404);
    assert_eq!(app.role_of("acme", "eve@example.com"), None);
}

#[tokio::test]
async fn the_last_owner_cannot_leave_be_demoted_or_removed_until_there_is_another() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "admin").await;
    app.join(&ada, "acme", "carol@example.com", "admin").await;

    // Alone as owner: cannot leave…
    let left = leave(&ada, "acme").await;
    left.assert_redirect("/o/acme");
    let shown = follow(&ada, &left).await;
    assert!(shown.contains("flash-error"));
    assert!(shown.contains(
        "The last owner cannot leave the organisation. Make another member an owner first."
    ));
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("owner"));

    // …cannot be demoted (not even by herself)…
    let demoted = app.set_role(&ada, "acme", OWNER_EMAIL, "admin").await;
    demoted.assert_redirect("/o/acme/members");
    let shown = follow(&ada, &demoted).await;
    assert!(shown.contains("flash-error"));
    assert!(shown.contains(
        "The last owner cannot be given another role. Make another member an owner first."
    ));
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("owner"));

    // …and cannot be removed: an admin may not, and she may not remove herself.
    remove(&app, &bob, "acme", OWNER_EMAIL)
        .await
        .assert_status(403);
    let own = remove(&app, &ada, "acme", OWNER_EMAIL).await;
    own.assert_status(400);
    assert!(own.contains("To remove yourself, use Leave organisation on the overview page."));
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("owner"));
    assert_eq!(app.count("memberships"), 3);

    // With a second owner, the first may step down.
    app.set_role(&ada, "acme", "bob@example.com", "owner")
        .await
        .assert_redirect("/o/acme/members");
    app.set_role(&ada, "acme", OWNER_EMAIL, "admin")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("admin"));

    // Now Bob is the last owner and the guard protects him.
    let bob_left = leave(&bob, "acme").await;
    bob_left.assert_redirect("/o/acme");
    assert!(follow(&bob, &bob_left).await.contains(
        "The last owner cannot leave the organisation. Make another member an owner first."
    ));
    app.set_role(&bob, "acme", "bob@example.com", "developer")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("owner")
    );

    // Two owners again: one may remove the other, and one may leave.
    app.set_role(&bob, "acme", "carol@example.com", "owner")
        .await
        .assert_redirect("/o/acme/members");
    let removed = remove(&app, &bob, "acme", "carol@example.com").await;
    removed.assert_redirect("/o/acme/members");
    assert!(
        follow(&bob, &removed)
            .await
            .contains("Member removed. Their sessions have ended.")
    );
    assert_eq!(app.role_of("acme", "carol@example.com"), None);

    app.set_role(&bob, "acme", OWNER_EMAIL, "owner")
        .await
        .assert_redirect("/o/acme/members");
    let ada_left = leave(&ada, "acme").await;
    ada_left.assert_redirect("/orgs");
    assert!(
        follow(&ada, &ada_left)
            .await
            .contains("You have left Acme.")
    );
    assert_eq!(app.role_of("acme", OWNER_EMAIL), None);
    assert_eq!(
        app.role_of("acme", "bob@example.com").as_deref(),
        Some("owner")
    );
    assert_eq!(app.count("memberships"), 1);
}

#[tokio::test]
async fn a_removed_member_loses_access_on_their_very_next_request() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "developer").await;
    let bob_laptop = app.browser();
    bob_laptop
        .sign_in("bob@example.com", PASSWORD)
        .await
        .assert_redirect("/");
    bob.get("/o/acme").await.assert_status(200);
    bob_laptop.get("/o/acme/members").await.assert_status(200);
    assert_eq!(app.count("memberships"), 2);

    let removed = remove(&app, &ada, "acme", "bob@example.com").await;
    removed.assert_redirect("/o/acme/members");
    let list = follow(&ada, &removed).await;
    assert!(list.contains("Member removed. Their sessions have ended."));
    assert!(!list.contains("bob@example.com"));

    // Every session of Bob's has ended: the next request is sent to sign in.
    bob.get("/o/acme")
        .await
        .assert_redirect("/login?next=%2Fo%2Facme");
    bob_laptop
        .get("/o/acme/members")
        .await
        .assert_redirect("/login?next=%2Fo%2Facme%2Fmembers");
    assert_eq!(app.role_of("acme", "bob@example.com"), None);
    assert_eq!(app.count("memberships"), 1);

    // Signed in again, the organisation does not exist for him.
    bob.sign_in("bob@example.com", PASSWORD)
        .await
        .assert_redirect("/");
    bob.get("/o/acme").await.assert_status(404);
    bob.get("/o/acme/members").await.assert_status(404);
    assert!(
        bob.get("/orgs")
            .await
            .contains("not a member of any organisation yet")
    );
}

#[tokio::test]
async fn who_may_remove_whom() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let carol = app.join(&ada, "acme", "carol@example.com", "admin").await;
    let dave = app
        .join(&ada, "acme", "dave@example.com", "developer")
        .await;
    app.join(&ada, "acme", "erin@example.com", "developer")
        .await;
    app.join(&ada, "acme", "frank@example.com", "admin").await;

    // A developer removes nobody.
    let dev = remove(&app, &dave, "acme", "erin@example.com").await;
    dev.assert_status(403);
    assert!(dev.contains("Only organisation admins and owners can do this."));
    // An admin removes developers and admins, not owners.
    remove(&app, &carol, "acme", OWNER_EMAIL)
        .await
        .assert_status(403);
    remove(&app, &carol, "acme", "erin@example.com")
        .await
        .assert_redirect("/o/acme/members");
    remove(&app, &carol, "acme", "frank@example.com")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(app.role_of("acme", "erin@example.com"), None);
    assert_eq!(app.role_of("acme", "frank@example.com"), None);
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("owner"));
    // Removing someone who is not a member finds nothing.
    remove(&app, &ada, "acme", "erin@example.com")
        .await
        .assert_status(404);
    assert_eq!(app.count("memberships"), 3);
}

#[tokio::test]
async fn a_member_can_leave() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "developer").await;

    let left = leave(&bob, "acme").await;
    left.assert_redirect("/orgs");
    let list = follow(&bob, &left).await;
    list.assert_status(200);
    assert!(list.contains("You have left Acme."));
    assert!(list.contains("not a member of any organisation yet"));
    bob.get("/o/acme").await.assert_status(404);
    // Leaving does not sign him out.
    bob.get("/account").await.assert_status(200);
    assert_eq!(app.role_of("acme", "bob@example.com"), None);
    assert!(!ada.get("/o/acme/members").await.contains("bob@example.com"));
}

#[tokio::test]
async fn admins_rename_the_organisation_and_developers_may_not() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let carol = app.join(&ada, "acme", "carol@example.com", "admin").await;
    let dave = app
        .join(&ada, "acme", "dave@example.com", "developer")
        .await;

    let settings = carol.get("/o/acme/settings").await;
    settings.assert_status(200);
    assert!(settings.contains("Organisation settings"));
    // Only owners see the delete form.
    assert!(!settings.contains("confirm_slug"));
    assert!(ada.get("/o/acme/settings").await.contains("confirm_slug"));

    let renamed = carol
        .submit(
            "/o/acme/settings",
            "/o/acme/settings",
            &[("name", "Acme Industries")],
        )
        .await;
    renamed.assert_redirect("/o/acme/settings");
    assert!(
        follow(&carol, &renamed)
            .await
            .contains("Organisation renamed.")
    );
    let home = ada.get("/o/acme").await;
    assert!(home.contains("<h1>Acme Industries</h1>"));
    assert!(home.contains("<code>acme</code>"), "the slug stays");

    dave.get("/o/acme/settings").await.assert_status(403);
    let refused = dave
        .submit("/o/acme", "/o/acme/settings", &[("name", "Dave's Acme")])
        .await;
    refused.assert_status(403);
    assert!(refused.contains("Only organisation admins and owners can do this."));

    let empty = carol
        .submit("/o/acme/settings", "/o/acme/settings", &[("name", "   ")])
        .await;
    empty.assert_status(422);
    assert!(empty.contains("Organisation settings"));
    assert!(empty.contains("Organisation name is required."));
    assert!(
        ada.get("/o/acme")
            .await
            .contains("<h1>Acme Industries</h1>")
    );
}

#[tokio::test]
async fn only_the_owner_deletes_the_organisation_and_must_confirm_its_slug() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let carol = app.join(&ada, "acme", "carol@example.com", "admin").await;
    let dave = app
        .join(&ada, "acme", "dave@example.com", "developer")
        .await;
    app.invite(&ada, "acme", "pending@example.com", "developer")
        .await;
    assert_eq!(app.count("organisations"), 1);
    assert_eq!(app.count("memberships"), 3);
    assert_eq!(app.count("invitations"), 3);

    let admin = carol
        .submit(
            "/o/acme/settings",
            "/o/acme/delete",
            &[("confirm_slug", "acme")],
        )
        .await;
    admin.assert_status(403);
    assert!(admin.contains("Only organisation owners can do this."));
    dave.submit("/o/acme", "/o/acme/delete", &[("confirm_slug", "acme")])
        .await
        .assert_status(403);
    assert_eq!(app.count("organisations"), 1);

    let wrong = ada
        .submit(
            "/o/acme/settings",
            "/o/acme/delete",
            &[("confirm_slug", "acm")],
        )
        .await;
    wrong.assert_status(422);
    assert!(wrong.contains("Organisation settings"));
    assert!(wrong.contains("to confirm deletion."));
    assert_eq!(app.count("organisations"), 1);
    assert_eq!(app.count("memberships"), 3);
    ada.get("/o/acme").await.assert_status(200);

    let deleted = ada
        .submit(
            "/o/acme/settings",
            "/o/acme/delete",
            &[("confirm_slug", "acme")],
        )
        .await;
    deleted.assert_redirect("/orgs");
    assert!(follow(&ada, &deleted).await.contains("Acme is deleted."));
    assert_eq!(app.count("organisations"), 0);
    assert_eq!(app.count("memberships"), 0);
    assert_eq!(app.count("invitations"), 0);
    ada.get("/o/acme").await.assert_status(404);
    carol.get("/o/acme").await.assert_status(404);
    dave.get("/o/acme/members").await.assert_status(404);
    // The slug is free again.
    create_org(&ada, "Acme Again", "acme")
        .await
        .assert_redirect("/o/acme");
}

#[tokio::test]
async fn two_owners_stepping_down_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "admin").await;
    let ada_id = app.user_id(OWNER_EMAIL);
    let bob_id = app.user_id("bob@example.com");
    let owners = || app.count("memberships WHERE role = 'owner'");
    for round in 0..20 {
        app.set_role(&ada, "acme", "bob@example.com", "owner")
            .await
            .assert_redirect("/o/acme/members");
        if app.role_of("acme", OWNER_EMAIL).as_deref() != Some("owner") {
            app.set_role(&bob, "acme", OWNER_EMAIL, "owner")
                .await
                .assert_redirect("/o/acme/members");
        }
        assert_eq!(owners(), 2);
        let ada_token = ada.get("/o/acme/members").await.csrf();
        let bob_token = bob.get("/o/acme/members").await.csrf();
        let ada_path = format!("/o/acme/members/{ada_id}/role");
        let bob_path = format!("/o/acme/members/{bob_id}/role");
        let ada_form = [("csrf_token", ada_token.as_str()), ("role", "admin")];
        let bob_form = [("csrf_token", bob_token.as_str()), ("role", "admin")];
        let (a, b) = tokio::join!(
            ada.post_raw(&ada_path, &ada_form),
            bob.post_raw(&bob_path, &bob_form),
        );
        a.assert_redirect("/o/acme/members");
        b.assert_redirect("/o/acme/members");
        assert_eq!(owners(), 1, "round {round}: the last-owner guard raced");
        // Whoever is still owner restores the other next round.
        if app.role_of("acme", OWNER_EMAIL).as_deref() != Some("owner") {
            app.set_role(&bob, "acme", OWNER_EMAIL, "owner")
                .await
                .assert_redirect("/o/acme/members");
        }
    }
}
