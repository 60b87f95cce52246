//! The organisation part of the management API: the token's organisation, members and
//! their roles, invitations (the one-time link, replays), teams and team members;
//! pagination, validation that changes nothing, the policy's 403s and 404s, other
//! organisations' tokens, Idempotency-Key and If-Match.

use serde_json::{Value, json};

use crate::api_kit::{ALREADY_RETURNED, Api, item_ids};
use crate::kit::{Browser, OWNER_EMAIL, TeamBuilder, TestApp, spawn_app};

const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const DAN: &str = "dan@example.com";

/// Ada owns "acme"; Bob and Carol are developers in it.
async fn acme_with_members() -> (TestApp, Browser) {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.join(&owner, "acme", BOB, "developer").await;
    app.join(&owner, "acme", CAROL, "developer").await;
    (app, owner)
}

/// Ada creates a second organisation, "beta", and gets a read-write token for it.
async fn beta_token(app: &TestApp, owner: &Browser) -> Api {
    owner.new_org("Beta", "beta").await;
    app.api(OWNER_EMAIL, "beta", false, true)
}

/// The number of audit events with this action.
fn audited(app: &TestApp, action: &str) -> usize {
    app.texts(&format!(
        "SELECT id AS v FROM audit_events WHERE action = '{action}'"
    ))
    .len()
}

/// Walks every page of a list with `limit`, asserting each page is full but the last.
async fn all_pages(api: &Api, path: &str, field: &str, limit: usize) -> (Vec<String>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let reply = api.get(&url).await;
        reply.expect(200);
        pages += 1;
        let page = item_ids(&reply.body, field);
        match reply.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page.len(), limit, "a page before the last is full");
                cursor = Some(c.to_string());
                seen.extend(page);
            }
            None => {
                assert!(reply.body["next_cursor"].is_null());
                seen.extend(page);
                return (seen, pages);
            }
        }
    }
}

#[tokio::test]
async fn the_org_endpoint_describes_the_organisation_and_the_token() {
    let (app, _owner) = acme_with_members().await;

    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let reply = ada.get("/api/v1/org").await;
    let org = reply.expect(200);
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["name"], "Acme");
    assert_eq!(org["role"], "owner");
    assert_eq!(org["token_kind"], "personal");
    assert_eq!(org["token_access"], "write");
    assert_eq!(
        org["id"],
        app.text("SELECT id AS v FROM organisations WHERE slug = 'acme'")
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(org["created_at"].as_str().unwrap()).is_ok(),
        "{org}"
    );

    // An admin token acts as an admin, even for an owner.
    let admin = app.api(OWNER_EMAIL, "acme", true, false);
    let org = admin.get("/api/v1/org").await;
    assert_eq!(org.body["role"], "admin");
    assert_eq!(org.body["token_kind"], "admin");
    assert_eq!(org.body["token_access"], "read");

    let bob = app.api(BOB, "acme", false, false);
    assert_eq!(bob.get("/api/v1/org").await.body["role"], "developer");

    // No token, no organisation.
    let anonymous = ada
        .send_raw(ada.raw(reqwest::Method::GET, "/api/v1/org"))
        .await;
    anonymous.expect_problem(401);
}

#[tokio::test]
async fn members_are_listed_page_by_page_and_searched() {
    let (app, owner) = acme_with_members().await;
    app.join(&owner, "acme", DAN, "admin").await;
    let bob = app.api(BOB, "acme", false, false);

    let (members, pages) = all_pages(&bob, "/api/v1/members", "user_id", 3).await;
    assert_eq!(pages, 2);
    let mut expected: Vec<String> = [OWNER_EMAIL, BOB, CAROL, DAN]
        .iter()
        .map(|e| app.user_id(e))
        .collect();
    expected.sort();
    assert_eq!(members, expected, "every member once, by user id");

    let all = bob.get("/api/v1/members").await;
    let dan = all.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == DAN)
        .expect("Dan is listed")
        .clone();
    assert_eq!(dan["role"], "admin");
    assert_eq!(dan["display_name"], DAN);
    assert_eq!(dan["user_id"], app.user_id(DAN));
    assert!(chrono::DateTime::parse_from_rfc3339(dan["joined_at"].as_str().unwrap()).is_ok());

    // Search by the start of the email or name, ignoring case, or by exact id.
    let found = bob.get("/api/v1/members?q=CAROL").await;
    assert_eq!(item_ids(&found.body, "email"), vec![CAROL.to_string()]);
    let found = bob.get("/api/v1/members?q=ada%20LOVE").await;
    assert_eq!(
        item_ids(&found.body, "email"),
        vec![OWNER_EMAIL.to_string()]
    );
    let inside = bob.get("/api/v1/members?q=Lovelace").await;
    assert!(
        item_ids(&inside.body, "email").is_empty(),
        "a prefix, not a substring"
    );
    let by_id = bob
        .get(&format!("/api/v1/members?q={}", app.user_id(DAN)))
        .await;
    assert_eq!(item_ids(&by_id.body, "email"), vec![DAN.to_string()]);
    let none = bob.get("/api/v1/members?q=%25").await;
    assert!(
        item_ids(&none.body, "email").is_empty(),
        "% is not a wildcard"
    );

    // Malformed queries are 400s.
    bob.get(&format!("/api/v1/members?q={}", "x".repeat(101)))
        .await
        .expect_problem(400);
    bob.get("/api/v1/members?limit=0").await.expect_problem(400);
    bob.get("/api/v1/members?limit=99999999999999999999")
        .await
        .expect_problem(400);
    bob.get("/api/v1/members?cursor=nonsense")
        .await
        .expect_problem(400);

    // One member, with an ETag.
    let one = bob
        .get(&format!("/api/v1/members/{}", app.user_id(CAROL)))
        .await;
    assert_eq!(one.expect(200)["email"], CAROL);
    assert!(one.header("etag").is_some());
    bob.get("/api/v1/members/no-such-user")
        .await
        .expect_problem(404);
    bob.get("/api/v1/members/%00").await.expect_problem(404);
}

#[tokio::test]
async fn roles_change_through_the_policy_and_the_service() {
    let (app, owner) = acme_with_members().await;
    let bob_id = app.user_id(BOB);
    let carol_id = app.user_id(CAROL);
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let path = format!("/api/v1/members/{bob_id}");

    let reply = ada.patch(&path, json!({"role": "admin"}), None).await;
    let member = reply.expect(200);
    assert_eq!(member["role"], "admin");
    assert_eq!(member["user_id"], bob_id.as_str());
    assert!(reply.header("etag").is_some());
    assert_eq!(app.role_of("acme", BOB).as_deref(), Some("admin"));
    assert_eq!(audited(&app, "member.role_changed"), 1);

    // Unacceptable values: 422, nothing changed.
    for bad in [json!({"role": "superuser"}), json!({"role": "admin\u{0}"})] {
        let problem = ada.patch(&path, bad, None).await;
        problem.expect_problem(422);
        assert!(problem.body["errors"].is_array());
    }
    ada.patch(&path, json!({"role": 7}), None)
        .await
        .expect_problem(400);
    ada.patch(&path, json!({}), None).await.expect_problem(400);
    assert_eq!(app.role_of("acme", BOB).as_deref(), Some("admin"));

    // Already that role: a conflict.
    ada.patch(&path, json!({"role": "admin"}), None)
        .await
        .expect_problem(409);
    assert_eq!(audited(&app, "member.role_changed"), 1);

    // A developer may not change roles; an admin token may not make owners.
    let carol = app.api(CAROL, "acme", false, true);
    carol
        .patch(&path, json!({"role": "developer"}), None)
        .await
        .expect_problem(403);
    let admin_token = app.api(OWNER_EMAIL, "acme", true, true);
    admin_token
        .patch(
            &format!("/api/v1/members/{carol_id}"),
            json!({"role": "owner"}),
            None,
        )
        .await
        .expect_problem(403);
    assert_eq!(app.role_of("acme", CAROL).as_deref(), Some("developer"));
    // A read-only token changes nothing.
    app.api(OWNER_EMAIL, "acme", false, false)
        .patch(&path, json!({"role": "developer"}), None)
        .await
        .expect_problem(403);

    // The last owner keeps the role.
    let ada_id = app.user_id(OWNER_EMAIL);
    ada.patch(
        &format!("/api/v1/members/{ada_id}"),
        json!({"role": "admin"}),
        None,
    )
    .await
    .expect_problem(409);

    // Not a member (here or at all): 404.
    ada.patch(
        "/api/v1/members/00000000-0000-0000-0000-000000000000",
        json!({"role": "admin"}),
        None,
    )
    .await
    .expect_problem(404);
    let beta = beta_token(&app, &owner).await;
    beta.patch(&path, json!({"role": "developer"}), None)
        .await
        .expect_problem(404);
    assert_eq!(app.role_of("acme", BOB).as_deref(), Some("admin"));

    // If-Match: the current ETag works, a stale one is a 412 that changes nothing.
    let read = ada.get(&path).await;
    let stale = read.header("etag").expect("etag").to_string();
    let changed = ada
        .patch(&path, json!({"role": "developer"}), Some(&stale))
        .await;
    changed.expect(200);
    let fresh = changed.header("etag").expect("etag").to_string();
    assert_ne!(fresh, stale);
    ada.patch(&path, json!({"role": "admin"}), Some(&stale))
        .await
        .expect_problem(412);
    assert_eq!(app.role_of("acme", BOB).as_deref(), Some("developer"));
    ada.patch(&path, json!({"role": "admin"}), Some(&fresh))
        .await
        .expect(200);
    assert_eq!(app.role_of("acme", BOB).as_deref(), Some("admin"));
}

#[tokio::test]
async fn members_are_removed_by_admins_only() {
    let (app, owner) = acme_with_members().await;
    let bob_id = app.user_id(BOB);
    let carol_id = app.user_id(CAROL);

    // Developers may not remove anyone.
    let carol = app.api(CAROL, "acme", false, true);
    carol
        .delete(&format!("/api/v1/members/{bob_id}"))
        .await
        .expect_problem(403);
    assert_eq!(app.role_of("acme", BOB).as_deref(), Some("developer"));

    // Another organisation's token does not see Acme's members.
    let beta = beta_token(&app, &owner).await;
    beta.delete(&format!("/api/v1/members/{bob_id}"))
        .await
        .expect_problem(404);

    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    let reply = admin.delete(&format!("/api/v1/members/{bob_id}")).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(app.role_of("acme", BOB), None);
    assert_eq!(audited(&app, "member.removed"), 1);
    admin
        .delete(&format!("/api/v1/members/{bob_id}"))
        .await
        .expect_problem(404);

    // Not oneself: that is leaving.
    let ada_id = app.user_id(OWNER_EMAIL);
    admin
        .delete(&format!("/api/v1/members/{ada_id}"))
        .await
        .expect_problem(422);
    assert_eq!(app.role_of("acme", OWNER_EMAIL).as_deref(), Some("owner"));

    // An admin token cannot remove an owner.
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    ada.patch(
        &format!("/api/v1/members/{carol_id}"),
        json!({"role": "owner"}),
        None,
    )
    .await
    .expect(200);
    admin
        .delete(&format!("/api/v1/members/{carol_id}"))
        .await
        .expect_problem(403);
    assert_eq!(app.role_of("acme", CAROL).as_deref(), Some("owner"));
    admin
        .delete("/api/v1/members/%00")
        .await
        .expect_problem(404);
}

#[tokio::test]
async fn invitations_hold_their_link_once() {
    let (app, owner) = acme_with_members().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    let before = app.count("invitations");

    let first = admin
        .post_once(
            "/api/v1/invitations",
            "invite-dan-1",
            json!({"email": " Dan@Example.com ", "role": "admin"}),
        )
        .await;
    let inv = first.expect(201).clone();
    assert_eq!(inv["email"], DAN);
    assert_eq!(inv["role"], "admin");
    assert_eq!(inv["status"], "pending");
    assert_eq!(inv["invited_by"], app.user_id(OWNER_EMAIL));
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let link = inv["accept_url"].as_str().expect("accept_url").to_string();
    let path = link
        .strip_prefix(&app.base)
        .expect("a link to this instance")
        .to_string();
    assert!(path.starts_with("/invite/"), "{path}");
    assert_eq!(app.count("invitations"), before + 1);
    assert_eq!(audited(&app, "invitation.created"), before as usize + 1);

    // The replay creates nothing and hides the link.
    let again = admin
        .post_once(
            "/api/v1/invitations",
            "invite-dan-1",
            json!({"email": " Dan@Example.com ", "role": "admin"}),
        )
        .await;
    let replayed = again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed["id"], inv["id"]);
    assert_eq!(replayed["accept_url"], ALREADY_RETURNED);
    assert!(!again.body.to_string().contains(&link));
    assert_eq!(app.count("invitations"), before + 1);
    // The same key for another request is refused.
    admin
        .post_once(
            "/api/v1/invitations",
            "invite-dan-1",
            json!({"email": "erin@example.com", "role": "admin"}),
        )
        .await
        .expect_problem(422);

    // The link works.
    app.browser().get(&path).await.assert_status(200);

    // A second invitation for the same address is a conflict.
    admin
        .post(
            "/api/v1/invitations",
            json!({"email": DAN, "role": "developer"}),
        )
        .await
        .expect_problem(409);
    // So is inviting a member.
    admin
        .post(
            "/api/v1/invitations",
            json!({"email": BOB, "role": "developer"}),
        )
        .await
        .expect_problem(409);

    // Unacceptable values: 422 naming every problem, nothing created.
    let bad = admin
        .post(
            "/api/v1/invitations",
            json!({"email": "not-an-email", "role": "owner"}),
        )
        .await;
    bad.expect_problem(422);
    assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2);
    for body in [
        json!({"email": "x\u{0}@example.com", "role": "developer"}),
        json!({"email": format!("{}@example.com", "a".repeat(300)), "role": "developer"}),
        json!({"email": "erin@example.com", "role": "Admin"}),
    ] {
        admin
            .post("/api/v1/invitations", body)
            .await
            .expect_problem(422);
    }
    admin
        .post("/api/v1/invitations", json!({"email": "erin@example.com"}))
        .await
        .expect_problem(400);
    assert_eq!(app.count("invitations"), before + 1);

    // Developers may neither list nor invite.
    let bob = app.api(BOB, "acme", false, true);
    bob.get("/api/v1/invitations").await.expect_problem(403);
    bob.post(
        "/api/v1/invitations",
        json!({"email": "erin@example.com", "role": "developer"}),
    )
    .await
    .expect_problem(403);
    assert_eq!(app.count("invitations"), before + 1);

    // The list shows the open invitation (without any link).
    let list = admin.get("/api/v1/invitations").await;
    list.expect(200);
    assert!(item_ids(&list.body, "id").contains(&inv["id"].as_str().unwrap().to_string()));
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("accept_url").is_none())
    );

    // Re-sending gives a new link; the old one stops working.
    let id = inv["id"].as_str().unwrap().to_string();
    let resent = admin
        .post(&format!("/api/v1/invitations/{id}/resend"), json!({}))
        .await;
    let renewed = resent.expect(200);
    assert_eq!(renewed["id"], id.as_str());
    let new_link = renewed["accept_url"].as_str().unwrap().to_string();
    assert_ne!(new_link, link);
    app.browser().get(&path).await.assert_status(410);
    let new_path = new_link.strip_prefix(&app.base).unwrap().to_string();
    app.browser().get(&new_path).await.assert_status(200);
    assert_eq!(audited(&app, "invitation.resent"), 1);

    // Another organisation's token sees no such invitation.
    let beta = beta_token(&app, &owner).await;
    beta.delete(&format!("/api/v1/invitations/{id}"))
        .await
        .expect_problem(404);
    beta.post(&format!("/api/v1/invitations/{id}/resend"), json!({}))
        .await
        .expect_problem(404);
    bob.delete(&format!("/api/v1/invitations/{id}"))
        .await
        .expect_problem(403);

    // Revoking ends the link; a second revoke is a conflict.
    let revoked = admin.delete(&format!("/api/v1/invitations/{id}")).await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    app.browser().get(&new_path).await.assert_status(410);
    admin
        .delete(&format!("/api/v1/invitations/{id}"))
        .await
        .expect_problem(409);
    admin
        .post(&format!("/api/v1/invitations/{id}/resend"), json!({}))
        .await
        .expect_problem(409);
    let list = admin.get("/api/v1/invitations").await;
    assert!(!item_ids(&list.body, "id").contains(&id));
    admin
        .delete("/api/v1/invitations/no%20such")
        .await
        .expect_problem(404);
}

#[tokio::test]
async fn invitations_are_listed_page_by_page_and_expire() {
    let app = spawn_app().await;
    let _owner = app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    let mut created = Vec::new();
    for i in 0..5 {
        let reply = admin
            .post(
                "/api/v1/invitations",
                json!({"email": format!("person{i}@example.com"), "role": "developer"}),
            )
            .await;
        created.push(reply.expect(201)["id"].as_str().unwrap().to_string());
    }
    created.sort();
    let (listed, pages) = all_pages(&admin, "/api/v1/invitations", "id", 2).await;
    assert_eq!(pages, 3);
    assert_eq!(listed, created);

    app.clock.advance(chrono::Duration::days(8));
    let list = admin.get("/api/v1/invitations").await;
    assert!(
        list.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "expired"),
        "{}",
        list.body
    );
}

#[tokio::test]
async fn teams_are_created_once_per_key_and_validated() {
    let (app, _owner) = acme_with_members().await;
    let bob = app.api(BOB, "acme", false, true);

    let first = bob
        .post_once(
            "/api/v1/teams",
            "team-key-1",
            json!({"name": "  Payments "}),
        )
        .await;
    let team = first.expect(201).clone();
    assert_eq!(team["name"], "Payments");
    assert_eq!(team["member_count"], 1);
    assert_eq!(team["your_role"], "admin");
    assert_eq!(team["members"][0]["email"], BOB);
    assert_eq!(team["members"][0]["role"], "admin");
    let id = team["id"].as_str().unwrap();
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/teams/{id}").as_str())
    );
    assert_eq!(app.count("teams"), 1);

    let second = bob
        .post_once(
            "/api/v1/teams",
            "team-key-1",
            json!({"name": "  Payments "}),
        )
        .await;
    assert_eq!(second.expect(201), &team);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert!(first.header("idempotent-replayed").is_none());
    assert_eq!(app.count("teams"), 1);
    assert_eq!(audited(&app, "team.created"), 1);

    // The same name again (without the key) is a conflict.
    bob.post("/api/v1/teams", json!({"name": "Payments"}))
        .await
        .expect_problem(409);

    // Unacceptable names: 422, nothing created.
    for name in [
        json!(""),
        json!("   "),
        json!("a\u{0}b"),
        json!("x".repeat(101)),
    ] {
        let reply = bob.post("/api/v1/teams", json!({ "name": name })).await;
        reply.expect_problem(422);
    }
    // Malformed bodies: 400 (or 415 without JSON), nothing created.
    bob.post("/api/v1/teams", json!({"name": 5}))
        .await
        .expect_problem(400);
    bob.post("/api/v1/teams", json!("Payments"))
        .await
        .expect_problem(400);
    let not_json = bob
        .send_raw(
            bob.raw(reqwest::Method::POST, "/api/v1/teams")
                .bearer_auth(&bob.token)
                .header("content-type", "text/plain")
                .body("name=Payments"),
        )
        .await;
    // support::json_config means a 415 here; actix-web currently answers 400.
    let status = not_json.status;
    assert!(matches!(status, 400 | 415), "{status}: {}", not_json.body);
    not_json.expect_problem(status);
    assert_eq!(app.count("teams"), 1);

    // A read-only token creates nothing.
    app.api(BOB, "acme", false, false)
        .post("/api/v1/teams", json!({"name": "Read only"}))
        .await
        .expect_problem(403);
    assert_eq!(app.count("teams"), 1);
}

#[tokio::test]
async fn teams_are_listed_page_by_page() {
    let (app, owner) = acme_with_members().await;
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let bob = app.api(BOB, "acme", false, true);
    let mut created = vec![
        TeamBuilder::new("Alpha").create_api(&app, &ada).await,
        TeamBuilder::new("Beta").create_api(&app, &ada).await,
        TeamBuilder::new("Gamma").create_api(&app, &bob).await,
    ];
    created.sort();

    let (listed, pages) = all_pages(&bob, "/api/v1/teams", "id", 2).await;
    assert_eq!(pages, 2);
    assert_eq!(listed, created);

    let list = bob.get("/api/v1/teams").await;
    let items = list.expect(200)["items"].as_array().unwrap().clone();
    let gamma = items.iter().find(|t| t["name"] == "Gamma").unwrap();
    assert_eq!(gamma["your_role"], "admin");
    assert_eq!(gamma["member_count"], 1);
    let alpha = items.iter().find(|t| t["name"] == "Alpha").unwrap();
    assert!(alpha["your_role"].is_null(), "{alpha}");

    let found = bob.get("/api/v1/teams?q=GAM").await;
    assert_eq!(item_ids(&found.body, "name"), vec!["Gamma".to_string()]);

    // Another organisation has its own (empty) list.
    let beta = beta_token(&app, &owner).await;
    let theirs = beta.get("/api/v1/teams").await;
    assert!(item_ids(&theirs.body, "id").is_empty());
}

#[tokio::test]
async fn team_members_are_managed_by_team_and_org_admins() {
    let (app, owner) = acme_with_members().await;
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let bob = app.api(BOB, "acme", false, true);
    let carol = app.api(CAROL, "acme", false, true);
    let (bob_id, carol_id) = (app.user_id(BOB), app.user_id(CAROL));
    let team = TeamBuilder::new("Platform").create_api(&app, &ada).await;
    let members = format!("/api/v1/teams/{team}/members");

    // A developer outside the team sees it but may not manage it.
    let seen = bob.get(&format!("/api/v1/teams/{team}")).await;
    assert_eq!(seen.expect(200)["name"], "Platform");
    assert!(seen.body["your_role"].is_null());
    bob.post(&members, json!({"user_id": bob_id, "role": "admin"}))
        .await
        .expect_problem(403);

    // Ada (org owner, team admin) adds Bob, once per key.
    let added = ada
        .post_once(
            &members,
            "add-bob",
            json!({"user_id": bob_id, "role": "member"}),
        )
        .await;
    let member = added.expect(201).clone();
    assert_eq!(member["user_id"], bob_id.as_str());
    assert_eq!(member["email"], BOB);
    assert_eq!(member["role"], "member");
    let replay = ada
        .post_once(
            &members,
            "add-bob",
            json!({"user_id": bob_id, "role": "member"}),
        )
        .await;
    assert_eq!(replay.expect(201), &member);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(audited(&app, "team.member_added"), 1);
    ada.post(&members, json!({"user_id": bob_id, "role": "member"}))
        .await
        .expect_problem(409);

    // Unacceptable members and roles: 422, nothing added.
    let count = app.count("team_members");
    app.join(&owner, "acme", DAN, "developer").await;
    let dan_id = app.user_id(DAN);
    // Dan leaves Acme: his id names a user, but no member.
    app.exec(&format!(
        "DELETE FROM memberships WHERE user_id = '{dan_id}'"
    ));
    for body in [
        json!({"user_id": dan_id, "role": "member"}),
        json!({"user_id": "00000000-0000-0000-0000-000000000000", "role": "member"}),
        json!({"user_id": "x\u{0}", "role": "member"}),
        json!({"user_id": carol_id, "role": "owner"}),
        json!({"user_id": carol_id, "role": ""}),
    ] {
        let reply = ada.post(&members, body).await;
        let detail = reply.expect_problem(422).to_string();
        assert!(!detail.contains(DAN), "no email leaks: {detail}");
    }
    ada.post(&members, json!({"user_id": carol_id}))
        .await
        .expect_problem(400);
    assert_eq!(app.count("team_members"), count);

    // Bob, a plain team member, still may not manage.
    let team_path = format!("/api/v1/teams/{team}");
    let carol_path = format!("{members}/{carol_id}");
    let bob_path = format!("{members}/{bob_id}");
    bob.post(&members, json!({"user_id": carol_id, "role": "member"}))
        .await
        .expect_problem(403);
    bob.patch(&bob_path, json!({"role": "admin"}), None)
        .await
        .expect_problem(403);

    // If-Match on a role change: a stale team ETag is a 412 that changes nothing.
    let read = ada.get(&team_path).await;
    let etag = read.header("etag").expect("etag").to_string();
    assert_eq!(read.body["member_count"], 2);
    ada.post(&members, json!({"user_id": carol_id, "role": "member"}))
        .await
        .expect(201);
    ada.patch(&bob_path, json!({"role": "admin"}), Some(&etag))
        .await
        .expect_problem(412);
    let now = ada.get(&team_path).await;
    let bob_row = now.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == BOB)
        .unwrap()
        .clone();
    assert_eq!(bob_row["role"], "member");
    let fresh = now.header("etag").unwrap().to_string();
    assert_ne!(fresh, etag);
    let promoted = ada
        .patch(&bob_path, json!({"role": "admin"}), Some(&fresh))
        .await;
    assert_eq!(promoted.expect(200)["role"], "admin");
    assert_eq!(audited(&app, "team.role_changed"), 1);
    ada.patch(&bob_path, json!({"role": "admin"}), None)
        .await
        .expect_problem(409);
    ada.patch(&bob_path, json!({"role": "boss"}), None)
        .await
        .expect_problem(422);
    ada.patch(
        &format!("{members}/00000000-0000-0000-0000-000000000000"),
        json!({"role": "admin"}),
        None,
    )
    .await
    .expect_problem(404);

    // Bob, now a team admin (still an org developer), manages the team.
    bob.patch(&carol_path, json!({"role": "admin"}), None)
        .await
        .expect(200);
    let removed = bob.delete(&carol_path).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    bob.delete(&carol_path).await.expect_problem(404);
    assert_eq!(audited(&app, "team.member_removed"), 1);

    // Carol, out of the team, can no longer manage it, but may see it.
    carol
        .post(&members, json!({"user_id": carol_id, "role": "admin"}))
        .await
        .expect_problem(403);
    assert!(carol.get(&team_path).await.expect(200)["your_role"].is_null());

    // Anyone may leave; leaving a team one is not in is a conflict.
    carol.delete(&carol_path).await.expect_problem(409);
    let left = bob.delete(&bob_path).await;
    assert_eq!(left.status, 204, "{}", left.body);
    assert_eq!(audited(&app, "team.left"), 1);
    let after = ada.get(&team_path).await;
    assert_eq!(after.expect(200)["member_count"], 1);
}

#[tokio::test]
async fn teams_stay_inside_their_organisation() {
    let (app, owner) = acme_with_members().await;
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let team = TeamBuilder::new("Secret").create_api(&app, &ada).await;
    let bob_id = app.user_id(BOB);
    let beta = beta_token(&app, &owner).await;

    beta.get(&format!("/api/v1/teams/{team}"))
        .await
        .expect_problem(404);
    beta.post(
        &format!("/api/v1/teams/{team}/members"),
        json!({"user_id": bob_id, "role": "member"}),
    )
    .await
    .expect_problem(404);
    beta.patch(
        &format!("/api/v1/teams/{team}/members/{}", app.user_id(OWNER_EMAIL)),
        json!({"role": "member"}),
        None,
    )
    .await
    .expect_problem(404);
    beta.delete(&format!(
        "/api/v1/teams/{team}/members/{}",
        app.user_id(OWNER_EMAIL)
    ))
    .await
    .expect_problem(404);
    // Beta's token cannot add Acme's people to Beta's teams either.
    let theirs = TeamBuilder::new("Beta team").create_api(&app, &beta).await;
    let reply = beta
        .post(
            &format!("/api/v1/teams/{theirs}/members"),
            json!({"user_id": bob_id, "role": "member"}),
        )
        .await;
    let detail = reply.expect_problem(422).to_string();
    assert!(!detail.contains(BOB), "{detail}");

    // Ids that cannot be ids are simply not found.
    for bad in ["%00", "a%0Ab", &"x".repeat(80)] {
        ada.get(&format!("/api/v1/teams/{bad}"))
            .await
            .expect_problem(404);
    }
    ada.get("/api/v1/teams/00000000-0000-0000-0000-000000000000")
        .await
        .expect_problem(404);
    assert_eq!(ada.get(&format!("/api/v1/teams/{team}")).await.status, 200);
}

#[tokio::test]
async fn the_document_describes_these_endpoints() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/org", "get"),
        ("/api/v1/members", "get"),
        ("/api/v1/members/{user_id}", "get"),
        ("/api/v1/members/{user_id}", "patch"),
        ("/api/v1/members/{user_id}", "delete"),
        ("/api/v1/invitations", "get"),
        ("/api/v1/invitations", "post"),
        ("/api/v1/invitations/{id}", "delete"),
        ("/api/v1/invitations/{id}/resend", "post"),
        ("/api/v1/teams", "get"),
        ("/api/v1/teams", "post"),
        ("/api/v1/teams/{id}", "get"),
        ("/api/v1/teams/{id}/members", "post"),
        ("/api/v1/teams/{id}/members/{user_id}", "patch"),
        ("/api/v1/teams/{id}/members/{user_id}", "delete"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    assert!(paths["/api/v1/teams/{id}/members/{user_id}"]["patch"]["responses"]["412"].is_object());
    assert!(paths["/api/v1/invitations"]["post"]["responses"]["201"].is_object());
    let roles = &doc["components"]["schemas"]["OrgRole"]["enum"];
    assert_eq!(roles, &json!(["developer", "admin", "owner"]));
}
