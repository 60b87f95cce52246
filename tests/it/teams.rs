//! Teams: creation (the creator is team admin), duplicate and invalid names, adding
//! organisation members by email, team admins, who may manage a team, removal and
//! leaving taking effect at once, and teams staying inside their organisation.

use crate::kit::{Browser, OWNER_EMAIL, PASSWORD, Page, TeamBuilder, TestApp, follow, spawn_app};

/// Submits the New team form of `org`.
async fn create_team(actor: &Browser, org: &str, name: &str) -> Page {
    actor
        .submit(
            &format!("/o/{org}/teams"),
            &format!("/o/{org}/teams"),
            &[("name", name)],
        )
        .await
}

async fn add(actor: &Browser, org: &str, team: &str, email: &str, role: &str) -> Page {
    actor
        .submit(
            "/account",
            &format!("/o/{org}/teams/{team}/members"),
            &[("email", email), ("role", role)],
        )
        .await
}

async fn set_role(app: &TestApp, actor: &Browser, team: &str, email: &str, role: &str) -> Page {
    let id = app.user_id(email);
    actor
        .submit(
            "/account",
            &format!("/o/acme/teams/{team}/members/{id}/role"),
            &[("role", role)],
        )
        .await
}

async fn remove(app: &TestApp, actor: &Browser, team: &str, email: &str) -> Page {
    let id = app.user_id(email);
    actor
        .submit(
            "/account",
            &format!("/o/acme/teams/{team}/members/{id}/remove"),
            &[],
        )
        .await
}

async fn leave(actor: &Browser, team: &str) -> Page {
    actor
        .submit("/account", &format!("/o/acme/teams/{team}/leave"), &[])
        .await
}

/// The team role `email` holds in team `team_id`, straight from the database.
fn team_role(app: &TestApp, team_id: &str, email: &str) -> Option<String> {
    use diesel::prelude::*;
    use gatehouse::db::DbConnection;
    use gatehouse::db::schema::{team_members, users};
    let mut conn = app.conn();
    let conn: &mut DbConnection = &mut conn;
    team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq(team_id))
        .filter(users::email.eq(email))
        .select(team_members::role)
        .first(conn)
        .optional()
        .expect("team role query")
}

#[tokio::test]
async fn any_member_creates_a_team_and_becomes_its_admin() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;

    let list = ada.get("/o/acme/teams").await;
    list.assert_status(200);
    assert!(list.contains("No teams yet."));
    assert!(list.contains("New team"));
    assert!(list.contains(r#"href="/o/acme/teams" aria-current="page">Teams</a>"#));

    let made = create_team(&dev, "acme", "  Platform  ").await;
    let page = follow(&dev, &made).await;
    page.assert_status(200);
    assert!(page.contains("<h1>Platform</h1>"));
    assert!(page.contains("Team Platform is created and you are its team admin."));
    assert!(page.contains("You are team admin."));
    assert!(page.contains("Add a member"));
    let id = made
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        team_role(&app, &id, "dev@example.com").as_deref(),
        Some("admin")
    );
    assert_eq!(team_role(&app, &id, OWNER_EMAIL), None);
    assert_eq!(app.count("teams"), 1);
    assert_eq!(app.count("team_members"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'team.created'"), 1);

    // The list shows it to every member, with the count and the viewer's own role.
    let mine = dev.get("/o/acme/teams").await;
    mine.assert_status(200);
    assert!(mine.contains(&format!(r#"<a href="/o/acme/teams/{id}">Platform</a>"#)));
    assert!(mine.contains("<td>1</td>"));
    assert!(mine.contains("team admin"));
    let theirs = ada.get("/o/acme/teams").await;
    assert!(theirs.contains("Platform"));
    assert!(theirs.contains("not a member"));
    // Search by name.
    assert!(ada.get("/o/acme/teams?q=plat").await.contains("Platform"));
    let none = ada.get("/o/acme/teams?q=zzz").await;
    none.assert_status(200);
    assert!(!none.contains("/o/acme/teams/"));

    // Everyone in the organisation sees the team page; outsiders to the team see no
    // management form and no Leave button.
    let seen = ada.get(&format!("/o/acme/teams/{id}")).await;
    seen.assert_status(200);
    assert!(seen.contains("dev@example.com"));
    assert!(seen.contains("You are not a member of this team."));
    assert!(!seen.contains("Leave Platform"));
    // Ada is an org owner: she may manage it anyway.
    assert!(seen.contains("Add a member"));
}

#[tokio::test]
async fn a_duplicate_name_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    TeamBuilder::new("Platform").create(&ada).await;
    let again = create_team(&ada, "acme", "Platform").await;
    again.assert_status(409);
    assert!(again.contains("A team called &#34;Platform&#34; already exists in Acme."));
    // The form is shown again with the name kept.
    assert!(again.contains(r#"name="name" value="Platform""#));
    assert_eq!(app.count("teams"), 1);
    assert_eq!(app.count("team_members"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'team.created'"), 1);
}

#[tokio::test]
async fn invalid_names_are_422_and_write_nothing() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let long = "x".repeat(101);
    for (name, message) in [
        ("", "Team name is required."),
        ("   ", "Team name is required."),
        (long.as_str(), "Team name must be at most 100 characters."),
        (
            "bad\0name",
            "Team name must not contain control characters.",
        ),
        (
            "tab\tname",
            "Team name must not contain control characters.",
        ),
    ] {
        let page = create_team(&ada, "acme", name).await;
        page.assert_status(422);
        assert!(page.contains(message), "{name:?}: {}", page.body);
        assert!(page.contains("New team"));
    }
    // A missing field is the same as an empty one.
    let token = ada.get("/o/acme/teams").await.csrf();
    ada.post_raw("/o/acme/teams", &[("csrf_token", &token)])
        .await
        .assert_status(422);
    // Without a CSRF token nothing happens either.
    let forged = ada.post_raw("/o/acme/teams", &[("name", "Forged")]).await;
    assert_eq!(forged.status.as_u16(), 403);
    // 100 characters is fine.
    TeamBuilder::new(&"y".repeat(100)).create(&ada).await;
    assert_eq!(app.count("teams"), 1);
    assert_eq!(app.count("team_members"), 1);
}

#[tokio::test]
async fn members_are_added_by_email_and_must_belong_to_the_organisation() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let _bob = app.join(&ada, "acme", "bob@example.com", "developer").await;
    // Someone with an account who is not in acme.
    app.sign_up("Stranger", "stranger@example.com").await;
    let team = TeamBuilder::new("Platform").create(&ada).await;

    let added = add(&ada, "acme", &team, "Bob@Example.com", "member").await;
    added.assert_redirect(&format!("/o/acme/teams/{team}"));
    let page = follow(&ada, &added).await;
    assert!(page.contains("bob@example.com is now a team member of Platform."));
    assert!(page.contains("<td>bob@example.com</td>"));
    assert_eq!(
        team_role(&app, &team, "bob@example.com").as_deref(),
        Some("member")
    );
    assert_eq!(app.count("team_members"), 2);

    // User-fixable mistakes: the form comes back with a 4xx and nothing is written.
    for (email, role, status, message) in [
        (
            "stranger@example.com",
            "member",
            422,
            "stranger@example.com is not a member of Acme. Invite them to the organisation first.",
        ),
        (
            "nobody@example.com",
            "member",
            422,
            "nobody@example.com is not a member of Acme. Invite them to the organisation first.",
        ),
        (
            "bob@example.com",
            "member",
            409,
            "bob@example.com is already in Platform.",
        ),
        (
            "bob@example.com",
            "owner",
            422,
            "Choose a team role: member or admin.",
        ),
        (
            "not-an-email",
            "member",
            422,
            "Enter an email address such as ada@example.com.",
        ),
        ("", "member", 422, "Email is required."),
    ] {
        let page = add(&ada, "acme", &team, email, role).await;
        page.assert_status(status);
        assert!(page.contains(message), "{email} {role}: {}", page.body);
        assert!(page.contains("Add a member"));
    }
    assert_eq!(app.count("team_members"), 2);
    assert_eq!(team_role(&app, &team, "stranger@example.com"), None);
    assert_eq!(
        app.count("audit_events WHERE action = 'team.member_added'"),
        1
    );
    // An unknown team is a 404.
    add(&ada, "acme", "no-such-team", "bob@example.com", "member")
        .await
        .assert_status(404);
}

#[tokio::test]
async fn team_admins_manage_and_plain_members_may_not() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "developer").await;
    let _carol = app
        .join(&ada, "acme", "carol@example.com", "developer")
        .await;
    let _dan = app.join(&ada, "acme", "dan@example.com", "developer").await;
    let team = TeamBuilder::new("Platform").create(&ada).await;
    add(&ada, "acme", &team, "bob@example.com", "member")
        .await
        .assert_status(303);
    add(&ada, "acme", &team, "carol@example.com", "member")
        .await
        .assert_status(303);

    // A plain team member sees the team but cannot change it.
    let seen = bob.get(&format!("/o/acme/teams/{team}")).await;
    seen.assert_status(200);
    assert!(seen.contains("You are team member."));
    assert!(!seen.contains("Add a member"));
    assert!(!seen.contains("/remove\""));
    assert!(seen.contains("Leave Platform"));
    add(&bob, "acme", &team, "dan@example.com", "member")
        .await
        .assert_status(403);
    remove(&app, &bob, &team, "carol@example.com")
        .await
        .assert_status(403);
    set_role(&app, &bob, &team, "bob@example.com", "admin")
        .await
        .assert_status(403);
    set_role(&app, &bob, &team, "carol@example.com", "admin")
        .await
        .assert_status(403);
    assert_eq!(
        team_role(&app, &team, "bob@example.com").as_deref(),
        Some("member")
    );
    assert_eq!(
        team_role(&app, &team, "carol@example.com").as_deref(),
        Some("member")
    );
    assert_eq!(team_role(&app, &team, "dan@example.com"), None);
    // A developer outside the team cannot manage it either.
    let dan = app.browser();
    dan.sign_in("dan@example.com", PASSWORD)
        .await
        .assert_status(303);
    add(&dan, "acme", &team, "dan@example.com", "admin")
        .await
        .assert_status(403);

    // Made a team admin, Bob can.
    let made = set_role(&app, &ada, &team, "bob@example.com", "admin").await;
    made.assert_redirect(&format!("/o/acme/teams/{team}"));
    assert!(
        follow(&ada, &made)
            .await
            .contains("Team role changed to admin.")
    );
    assert_eq!(
        team_role(&app, &team, "bob@example.com").as_deref(),
        Some("admin")
    );
    add(&bob, "acme", &team, "dan@example.com", "member")
        .await
        .assert_status(303);
    set_role(&app, &bob, &team, "carol@example.com", "admin")
        .await
        .assert_status(303);
    assert_eq!(
        team_role(&app, &team, "carol@example.com").as_deref(),
        Some("admin")
    );
    set_role(&app, &bob, &team, "carol@example.com", "member")
        .await
        .assert_status(303);
    assert!(
        bob.get(&format!("/o/acme/teams/{team}"))
            .await
            .contains("Add a member")
    );
    // A tampered role is refused with the page shown again.
    let bad = set_role(&app, &bob, &team, "carol@example.com", "owner").await;
    bad.assert_status(422);
    assert!(bad.contains("Choose a team role: member or admin."));
    assert_eq!(
        team_role(&app, &team, "carol@example.com").as_deref(),
        Some("member")
    );
    // Someone who is not in the team has no team role to change.
    let outsider = app.user_id(OWNER_EMAIL);
    remove(&app, &bob, &team, OWNER_EMAIL)
        .await
        .assert_status(303);
    bob.submit(
        "/account",
        &format!("/o/acme/teams/{team}/members/{outsider}/role"),
        &[("role", "admin")],
    )
    .await
    .assert_status(404);
    bob.submit(
        "/account",
        &format!("/o/acme/teams/{team}/members/{outsider}/remove"),
        &[],
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn an_org_admin_outside_the_team_manages_it() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let admin = app.join(&ada, "acme", "admin@example.com", "admin").await;
    let _eve = app.join(&ada, "acme", "eve@example.com", "developer").await;
    let team = TeamBuilder::new("Dev squad").create(&dev).await;
    assert_eq!(team_role(&app, &team, "admin@example.com"), None);

    let page = admin.get(&format!("/o/acme/teams/{team}")).await;
    page.assert_status(200);
    assert!(page.contains("You are not a member of this team."));
    assert!(page.contains("Add a member"));
    add(&admin, "acme", &team, "eve@example.com", "member")
        .await
        .assert_status(303);
    set_role(&app, &admin, &team, "eve@example.com", "admin")
        .await
        .assert_status(303);
    assert_eq!(
        team_role(&app, &team, "eve@example.com").as_deref(),
        Some("admin")
    );
    remove(&app, &admin, &team, "dev@example.com")
        .await
        .assert_status(303);
    assert_eq!(team_role(&app, &team, "dev@example.com"), None);
    // The org admin never became a member by doing so, and cannot "leave".
    assert_eq!(team_role(&app, &team, "admin@example.com"), None);
    let refused = leave(&admin, &team).await;
    refused.assert_status(409);
    assert!(refused.contains("You are not a member of this team."));
}

#[tokio::test]
async fn removal_and_leaving_take_effect_at_once() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let bob = app.join(&ada, "acme", "bob@example.com", "developer").await;
    let carol = app
        .join(&ada, "acme", "carol@example.com", "developer")
        .await;
    let _dan = app.join(&ada, "acme", "dan@example.com", "developer").await;
    let team = TeamBuilder::new("Platform").create(&ada).await;
    add(&ada, "acme", &team, "bob@example.com", "admin")
        .await
        .assert_status(303);
    add(&ada, "acme", &team, "carol@example.com", "admin")
        .await
        .assert_status(303);

    // Bob, a team admin, is removed: his very next change is refused.
    let removed = remove(&app, &ada, &team, "bob@example.com").await;
    removed.assert_redirect(&format!("/o/acme/teams/{team}"));
    let page = follow(&ada, &removed).await;
    assert!(page.contains("Removed from Platform; their access through the team has ended."));
    assert!(!page.contains("<td>bob@example.com</td>"));
    assert_eq!(team_role(&app, &team, "bob@example.com"), None);
    add(&bob, "acme", &team, "dan@example.com", "member")
        .await
        .assert_status(403);
    let his = bob.get(&format!("/o/acme/teams/{team}")).await;
    assert!(his.contains("You are not a member of this team."));
    assert!(!his.contains("Add a member"));
    assert_eq!(
        app.count("audit_events WHERE action = 'team.member_removed'"),
        1
    );

    // Carol leaves: the same.
    let left = leave(&carol, &team).await;
    left.assert_redirect("/o/acme/teams");
    let list = follow(&carol, &left).await;
    assert!(list.contains("You have left Platform."));
    assert!(list.contains("not a member"));
    assert_eq!(team_role(&app, &team, "carol@example.com"), None);
    add(&carol, "acme", &team, "dan@example.com", "member")
        .await
        .assert_status(403);
    assert_eq!(app.count("audit_events WHERE action = 'team.left'"), 1);
    // Leaving twice: she is not a member any more.
    let twice = leave(&carol, &team).await;
    twice.assert_status(409);
    assert!(twice.contains("You are not a member of this team."));

    // A plain member may leave too; Ada is the only one left.
    add(&ada, "acme", &team, "dan@example.com", "member")
        .await
        .assert_status(303);
    let dan = app.browser();
    dan.sign_in("dan@example.com", PASSWORD)
        .await
        .assert_status(303);
    leave(&dan, &team).await.assert_redirect("/o/acme/teams");
    assert_eq!(app.count("team_members"), 1);

    // Leaving the organisation takes someone out of its teams too.
    add(&ada, "acme", &team, "bob@example.com", "member")
        .await
        .assert_status(303);
    bob.submit("/o/acme", "/o/acme/leave", &[])
        .await
        .assert_redirect("/orgs");
    assert_eq!(team_role(&app, &team, "bob@example.com"), None);
}

#[tokio::test]
async fn teams_stay_inside_their_organisation() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let acme_team = TeamBuilder::new("Platform").create(&ada).await;

    // Olivia owns globex and is not in acme.
    let olivia = app
        .second_org("Olivia", "olivia@example.com", "Globex", "globex")
        .await;
    let globex_team = TeamBuilder::new("Platform")
        .org("globex")
        .create(&olivia)
        .await;

    // A member of another organisation sees nothing of acme's teams.
    olivia.get("/o/acme/teams").await.assert_status(404);
    olivia
        .get(&format!("/o/acme/teams/{acme_team}"))
        .await
        .assert_status(404);
    olivia
        .submit("/account", "/o/acme/teams", &[("name", "Intruders")])
        .await
        .assert_status(404);
    add(&olivia, "acme", &acme_team, "olivia@example.com", "admin")
        .await
        .assert_status(404);
    let ada_id = app.user_id(OWNER_EMAIL);
    olivia
        .submit(
            "/account",
            &format!("/o/acme/teams/{acme_team}/members/{ada_id}/remove"),
            &[],
        )
        .await
        .assert_status(404);
    olivia
        .submit(
            "/account",
            &format!("/o/acme/teams/{acme_team}/members/{ada_id}/role"),
            &[("role", "member")],
        )
        .await
        .assert_status(404);
    olivia
        .submit("/account", &format!("/o/acme/teams/{acme_team}/leave"), &[])
        .await
        .assert_status(404);
    assert_eq!(
        team_role(&app, &acme_team, OWNER_EMAIL).as_deref(),
        Some("admin")
    );

    // A team id of another organisation under acme's address does not exist — even
    // for someone in both organisations.
    ada.new_org("Initech", "initech").await;
    let other_team = TeamBuilder::new("Platform")
        .org("initech")
        .create(&ada)
        .await;
    ada.get(&format!("/o/initech/teams/{other_team}"))
        .await
        .assert_status(200);
    ada.get(&format!("/o/acme/teams/{other_team}"))
        .await
        .assert_status(404);
    add(&ada, "acme", &other_team, OWNER_EMAIL, "member")
        .await
        .assert_status(404);
    ada.submit(
        "/account",
        &format!("/o/acme/teams/{other_team}/members/{ada_id}/role"),
        &[("role", "member")],
    )
    .await
    .assert_status(404);
    ada.submit(
        "/account",
        &format!("/o/acme/teams/{other_team}/members/{ada_id}/remove"),
        &[],
    )
    .await
    .assert_status(404);
    ada.submit(
        "/account",
        &format!("/o/acme/teams/{other_team}/leave"),
        &[],
    )
    .await
    .assert_status(404);
    assert_eq!(
        team_role(&app, &other_team, OWNER_EMAIL).as_deref(),
        Some("admin")
    );
    // Globex's team under acme's address: 404 as well.
    ada.get(&format!("/o/acme/teams/{globex_team}"))
        .await
        .assert_status(404);
    // Acme's list does not show globex's team, and vice versa.
    let acme_list = ada.get("/o/acme/teams").await;
    assert!(acme_list.contains(&acme_team));
    assert!(!acme_list.contains(&other_team));
    assert!(!acme_list.contains(&globex_team));
    let initech_list = ada.get("/o/initech/teams").await;
    assert!(initech_list.contains(&other_team));
    assert!(!initech_list.contains(&acme_team));
    ada.get("/o/acme/teams/no-such-team")
        .await
        .assert_status(404);
}

#[tokio::test]
async fn nul_bytes_in_team_addresses_and_fields_are_refused_cleanly() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let team = TeamBuilder::new("Platform").create(&ada).await;
    ada.get("/o/acme/teams/a%00b").await.assert_status(404);
    ada.get("/o/acme/teams?q=a%00b").await.assert_status(200);
    for path in [
        "/o/acme/teams/a%00b/members".to_string(),
        "/o/acme/teams/a%00b/leave".to_string(),
        format!("/o/acme/teams/{team}/members/a%00b/role"),
        format!("/o/acme/teams/{team}/members/a%00b/remove"),
    ] {
        ada.submit(
            "/account",
            &path,
            &[("role", "admin"), ("email", "x@example.com")],
        )
        .await
        .assert_status(404);
    }
    let page = add(&ada, "acme", &team, "bob\u{0}@example.com", "member").await;
    page.assert_status(422);
    assert!(page.contains("Email must not contain control characters."));
    let page = add(&ada, "acme", &team, "bob@example.com", "mem\u{0}ber").await;
    page.assert_status(422);
    assert_eq!(app.count("team_members"), 1);
    ada.get(&format!("/o/acme/teams/{team}"))
        .await
        .assert_status(200);
}
