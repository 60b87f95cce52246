//! API tokens: bearer authentication and its refusals (no token, garbage, typos, API
//! keys, revoked and expired tokens, demoted and removed creators), the personal and
//! admin token pages (shown once, single-use form, revoke), `GET /api/v1/tokens`
//! with `last_used_at`, and `gatehouse admin token create` on the command line.

use chrono::Duration;
use serde_json::{Value, json};

use crate::api_kit::{Api, Reply, ids};
use crate::kit::{Browser, OWNER_EMAIL, Page, TestApp, extract_value, spawn_app};

const BOB: &str = "bob@example.com";
const DAN: &str = "dan@example.com";

/// Asserts a 401 problem with the Bearer challenge; returns its detail.
#[track_caller]
fn unauthorized(reply: &Reply) -> String {
    let detail = reply.expect_problem(401).to_string();
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer"),
        "www-authenticate: {challenge:?}"
    );
    detail
}

/// The token a reveal page shows.
fn revealed(page: &Page) -> String {
    extract_value(&page.body, "id=\"reveal-secret\" value=\"").expect("a token on the reveal page")
}

/// The token-list page's CSRF token and single-use nonce.
async fn form_of(b: &Browser, path: &str) -> (Page, String, String) {
    let page = b.get(path).await;
    page.assert_status(200);
    let nonce = extract_value(&page.body, "name=\"nonce\" value=\"").expect("a nonce on the form");
    let csrf = page.csrf();
    (page, csrf, nonce)
}

/// Submits the personal token form with these fields.
async fn create_personal(b: &Browser, fields: &[(&str, &str)]) -> (Page, Vec<(String, String)>) {
    let (_, csrf, nonce) = form_of(b, "/account/tokens").await;
    let mut all = vec![
        ("csrf_token".to_string(), csrf),
        ("nonce".to_string(), nonce),
    ];
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (b.post_raw("/account/tokens", &refs).await, all)
}

/// The caller's own token as `GET /api/v1/tokens` lists it.
async fn current(api: &Api) -> Value {
    let list = api.get("/api/v1/tokens").await;
    list.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["current"] == true)
        .expect("the calling token is listed")
        .clone()
}

#[tokio::test]
async fn requests_without_a_working_token_are_401s_with_a_challenge() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    ada.get("/api/v1/apps").await.expect(200);

    // No Authorization header, on a read and on a write.
    let none = ada
        .send_raw(ada.raw(reqwest::Method::GET, "/api/v1/apps"))
        .await;
    assert!(unauthorized(&none).contains("Authorization"));
    let none = ada
        .send_raw(
            ada.raw(reqwest::Method::POST, "/api/v1/apps")
                .json(&json!({"name": "Anonymous", "auth_type": "api_key"})),
        )
        .await;
    unauthorized(&none);
    assert_eq!(app.count("apps"), 0);

    // Other schemes, empty and garbage bearers.
    for value in [
        "Basic YWRhOnBhc3N3b3Jk".to_string(),
        "Bearer".to_string(),
        "Bearer    ".to_string(),
        "Bearer garbage".to_string(),
        "Bearer gate_pat_".to_string(),
        format!("Token {}", ada.token),
        ada.token.clone(),
    ] {
        let reply = ada
            .send_raw(
                ada.raw(reqwest::Method::GET, "/api/v1/org")
                    .header("authorization", &value),
            )
            .await;
        unauthorized(&reply);
    }

    // A typo: each of several single characters changed.
    let token = ada.token.clone();
    let body_start = token.rfind('_').unwrap() + 1;
    for at in [body_start, body_start + 5, token.len() - 7, token.len() - 1] {
        let mut typo: Vec<char> = token.chars().collect();
        typo[at] = if typo[at] == 'a' { 'b' } else { 'a' };
        let typo: String = typo.into_iter().collect();
        assert_ne!(typo, token);
        let reply = Api::new(&app, &typo).get("/api/v1/org").await;
        assert!(unauthorized(&reply).contains("not valid"), "{}", reply.body);
    }
    // The same token with another kind's prefix is not a token either.
    let other_kind = token.replacen("_pat_", "_adm_", 1);
    unauthorized(&Api::new(&app, &other_kind).get("/api/v1/org").await);

    // A well-formed token the database does not know.
    let ghost = app.token(OWNER_EMAIL, "acme", false, true);
    app.exec("DELETE FROM api_tokens WHERE name = 'test token' AND last_used_at IS NULL");
    let reply = Api::new(&app, &ghost).get("/api/v1/org").await;
    assert!(unauthorized(&reply).contains("not valid"));

    // An app's API key is not an API token.
    let created = ada
        .post(
            "/api/v1/apps",
            json!({"name": "Keyed", "auth_type": "api_key"}),
        )
        .await;
    let key = created.expect(201)["credentials"]["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.starts_with("gate_key_"));
    let reply = Api::new(&app, &key).get("/api/v1/apps").await;
    assert!(
        unauthorized(&reply).contains("not an API token"),
        "{}",
        reply.body
    );
    let reply = Api::new(&app, &key)
        .post(
            "/api/v1/apps",
            json!({"name": "By key", "auth_type": "api_key"}),
        )
        .await;
    unauthorized(&reply);
    assert_eq!(app.count("apps"), 1);

    // The scheme's case does not matter.
    let lower = ada
        .send_raw(
            ada.raw(reqwest::Method::GET, "/api/v1/org")
                .header("authorization", format!("bearer {}", ada.token)),
        )
        .await;
    lower.expect(200);
}

#[tokio::test]
async fn revoked_and_expired_tokens_stop_working() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let first = app.api(OWNER_EMAIL, "acme", false, true);
    let second = app.api(OWNER_EMAIL, "acme", false, true);
    first.get("/api/v1/org").await.expect(200);
    let first_id = current(&first).await["id"].as_str().unwrap().to_string();

    // Revoked through the API: refused on the very next request.
    let revoked = second.delete(&format!("/api/v1/tokens/{first_id}")).await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let reply = first.get("/api/v1/org").await;
    assert!(unauthorized(&reply).contains("revoked"), "{}", reply.body);
    second
        .delete(&format!("/api/v1/tokens/{first_id}"))
        .await
        .expect_problem(409);
    let listed = second.get("/api/v1/tokens").await;
    let entry = listed.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == first_id.as_str())
        .expect("the revoked token is still listed")
        .clone();
    assert!(entry["revoked_at"].is_string());
    second
        .delete("/api/v1/tokens/no-such-token")
        .await
        .expect_problem(404);
    // A token may revoke itself.
    let second_id = current(&second).await["id"].as_str().unwrap().to_string();
    assert_eq!(
        second
            .delete(&format!("/api/v1/tokens/{second_id}"))
            .await
            .status,
        204
    );
    unauthorized(&second.get("/api/v1/org").await);

    // Expiring: made on the account page to last one day.
    let (page, _) = create_personal(
        &owner,
        &[
            ("name", "Short-lived"),
            ("org", "acme"),
            ("access", "read"),
            ("expires_in_days", "1"),
        ],
    )
    .await;
    page.assert_status(200);
    let short = Api::new(&app, &revealed(&page));
    let me = current(&short).await;
    assert_eq!(me["access"], "read");
    let created = chrono::DateTime::parse_from_rfc3339(me["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(me["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, Duration::days(1));
    app.clock.advance(Duration::hours(23));
    short.get("/api/v1/org").await.expect(200);
    app.clock.advance(Duration::hours(25));
    let reply = short.get("/api/v1/org").await;
    assert!(unauthorized(&reply).contains("expired"), "{}", reply.body);
    // Expired is not revoked: a long-lived token of the same person still works.
    app.api(OWNER_EMAIL, "acme", false, false)
        .get("/api/v1/org")
        .await
        .expect(200);
}

#[tokio::test]
async fn who_may_revoke_which_token_through_the_api() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.join(&owner, "acme", BOB, "developer").await;
    app.join(&owner, "acme", DAN, "admin").await;
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let ada_admin = app.api(OWNER_EMAIL, "acme", true, true);
    let bob = app.api(BOB, "acme", false, true);
    let dan_admin = app.api(DAN, "acme", true, true);
    let ada_id = current(&ada).await["id"].as_str().unwrap().to_string();
    let ada_admin_id = current(&ada_admin).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dan_admin_id = current(&dan_admin).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob_id = current(&bob).await["id"].as_str().unwrap().to_string();

    // Bob sees only his own tokens; Ada sees hers and every admin token.
    assert_eq!(ids(&bob.get("/api/v1/tokens").await), vec![bob_id.clone()]);
    let mut seen = ids(&ada.get("/api/v1/tokens").await);
    seen.sort();
    let mut expected = vec![ada_id.clone(), ada_admin_id.clone(), dan_admin_id.clone()];
    expected.sort();
    assert_eq!(seen, expected);

    // Someone else's personal token does not exist for you, nor, unless you are an
    // admin, anyone's admin token: the same answer as for an id that was never issued,
    // so a developer cannot tell which ids exist.
    let random = uuid::Uuid::now_v7().to_string();
    let never_issued = bob.delete(&format!("/api/v1/tokens/{random}")).await;
    let never_issued = never_issued.expect_problem(404).to_string();
    for id in [&ada_id, &ada_admin_id, &dan_admin_id] {
        let reply = bob.delete(&format!("/api/v1/tokens/{id}")).await;
        assert_eq!(reply.expect_problem(404), never_issued, "{id}");
    }
    ada_admin
        .delete(&format!("/api/v1/tokens/{bob_id}"))
        .await
        .expect_problem(404);
    ada.get("/api/v1/org").await.expect(200);
    ada_admin.get("/api/v1/org").await.expect(200);
    bob.get("/api/v1/org").await.expect(200);

    // A read-only token revokes nothing.
    app.api(OWNER_EMAIL, "acme", false, false)
        .delete(&format!("/api/v1/tokens/{dan_admin_id}"))
        .await
        .expect_problem(403);
    dan_admin.get("/api/v1/org").await.expect(200);

    // An admin revokes another admin's admin token.
    assert_eq!(
        ada.delete(&format!("/api/v1/tokens/{dan_admin_id}"))
            .await
            .status,
        204
    );
    unauthorized(&dan_admin.get("/api/v1/org").await);

    // Another organisation's token does not see acme's tokens.
    owner.new_org("Beta", "beta").await;
    let beta = app.api(OWNER_EMAIL, "beta", true, true);
    assert_eq!(
        ids(&beta.get("/api/v1/tokens").await),
        vec![current(&beta).await["id"].as_str().unwrap().to_string()]
    );
    beta.delete(&format!("/api/v1/tokens/{ada_admin_id}"))
        .await
        .expect_problem(404);
    ada_admin.get("/api/v1/org").await.expect(200);
}

#[tokio::test]
async fn tokens_follow_their_creators_role_and_membership() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.join(&owner, "acme", DAN, "admin").await;
    let admin_token = app.api(DAN, "acme", true, true);
    let personal = app.api(DAN, "acme", false, true);
    let org = admin_token.get("/api/v1/org").await;
    assert_eq!(org.expect(200)["role"], "admin");
    assert_eq!(personal.get("/api/v1/org").await.body["role"], "admin");

    // Demoted on the members page: the admin token stops at once, and says why.
    app.set_role(&owner, "acme", DAN, "developer")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(app.role_of("acme", DAN).as_deref(), Some("developer"));
    let reply = admin_token.get("/api/v1/org").await;
    let detail = unauthorized(&reply);
    assert!(detail.contains("no longer an admin"), "{detail}");
    let reply = admin_token
        .post(
            "/api/v1/apps",
            json!({"name": "After demotion", "auth_type": "api_key"}),
        )
        .await;
    unauthorized(&reply);
    assert_eq!(app.count("apps"), 0);
    // The personal token carries the role he has now.
    let org = personal.get("/api/v1/org").await;
    assert_eq!(org.expect(200)["role"], "developer");
    personal.get("/api/v1/approvals").await.expect_problem(403);

    // Removed from the organisation: his tokens are revoked with the membership, so
    // rejoining later would not revive them.
    let id = app.user_id(DAN);
    owner
        .submit(
            "/o/acme/members",
            &format!("/o/acme/members/{id}/remove"),
            &[],
        )
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(app.role_of("acme", DAN), None);
    let reply = personal.get("/api/v1/org").await;
    let detail = unauthorized(&reply);
    assert!(detail.contains("revoked"), "{detail}");
    unauthorized(&admin_token.get("/api/v1/apps").await);
    assert_eq!(
        app.count("api_tokens WHERE revoked_at IS NULL AND user_id = (SELECT id FROM users WHERE email = 'dan@example.com')"),
        0
    );
}

/// Demotion revokes the creator's admin tokens for good: promoting them again, on the
/// members page or through the API, does not bring them back (issue 11).
#[tokio::test]
async fn a_demoted_admins_admin_tokens_stay_dead_after_re_promotion() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.join(&owner, "acme", DAN, "admin").await;
    let owner_api = app.api(OWNER_EMAIL, "acme", true, true);
    let dan_id = app.user_id(DAN);
    let by_page = app.api(DAN, "acme", true, true);
    let personal = app.api(DAN, "acme", false, true);
    by_page.get("/api/v1/org").await.expect(200);

    // On the members page: demoted, then made an admin again.
    app.set_role(&owner, "acme", DAN, "developer")
        .await
        .assert_redirect("/o/acme/members");
    let detail = unauthorized(&by_page.get("/api/v1/org").await);
    assert!(detail.contains("no longer an admin"), "{detail}");
    app.set_role(&owner, "acme", DAN, "admin")
        .await
        .assert_redirect("/o/acme/members");
    assert_eq!(app.role_of("acme", DAN).as_deref(), Some("admin"));
    let detail = unauthorized(&by_page.get("/api/v1/org").await);
    assert!(detail.contains("revoked"), "{detail}");
    unauthorized(
        &by_page
            .post(
                "/api/v1/apps",
                json!({"name": "Revived", "auth_type": "api_key"}),
            )
            .await,
    );
    assert_eq!(app.count("apps"), 0);
    // His personal token was never an admin token: it carries his role again.
    assert_eq!(
        personal.get("/api/v1/org").await.expect(200)["role"],
        "admin"
    );

    // Through the API: the same.
    let by_api = app.api(DAN, "acme", true, false);
    by_api.get("/api/v1/org").await.expect(200);
    for role in ["developer", "admin"] {
        owner_api
            .patch(
                &format!("/api/v1/members/{dan_id}"),
                json!({ "role": role }),
                None,
            )
            .await
            .expect(200);
    }
    let detail = unauthorized(&by_api.get("/api/v1/org").await);
    assert!(detail.contains("revoked"), "{detail}");
    // The demotions are on record, and a new admin token works.
    assert_eq!(
        app.count("audit_events WHERE action = 'member.role_changed' AND detail LIKE '%1 admin API tokens revoked%'"),
        2
    );
    app.api(DAN, "acme", true, true)
        .get("/api/v1/org")
        .await
        .expect(200);
}

/// Admin tokens whose creator was demoted before demotion revoked them are revoked by
/// the migration, so that a later promotion does not revive them either.
#[tokio::test]
async fn the_migration_revokes_admin_tokens_of_earlier_demotions() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    app.join(&owner, "acme", DAN, "admin").await;
    app.join(&owner, "acme", BOB, "admin").await;
    let stale = app.api(DAN, "acme", true, true);
    let kept = app.api(BOB, "acme", true, true);
    let dan_id = app.user_id(DAN);
    // Demoted the way it was done before the fix: the token is left as it was.
    app.exec(&format!(
        "UPDATE memberships SET role = 'developer' WHERE user_id = '{dan_id}'"
    ));
    let up = if app.database_url.starts_with("postgres") {
        include_str!("../../migrations/postgres/2026-11-28-120000_demoted_admin_tokens/up.sql")
    } else {
        include_str!("../../migrations/sqlite/2026-11-28-120000_demoted_admin_tokens/up.sql")
    };
    app.exec(up);
    app.exec(&format!(
        "UPDATE memberships SET role = 'admin' WHERE user_id = '{dan_id}'"
    ));
    let detail = unauthorized(&stale.get("/api/v1/org").await);
    assert!(detail.contains("revoked"), "{detail}");
    // An admin's token and the owner's sign-in are untouched.
    kept.get("/api/v1/org").await.expect(200);
    assert_eq!(
        app.count("api_tokens WHERE revoked_at IS NOT NULL"),
        1,
        "only the demoted admin's token"
    );
}

#[tokio::test]
async fn a_personal_token_is_made_on_the_account_page_and_shown_once() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let (page, fields) = create_personal(
        &owner,
        &[
            ("name", "CI pipeline"),
            ("org", "acme"),
            ("access", "write"),
            ("expires_in_days", ""),
        ],
    )
    .await;
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let token = revealed(&page);
    assert!(token.starts_with("gate_pat_"), "{token}");
    assert!(page.contains("CI pipeline"));
    assert_eq!(app.count("api_tokens"), 1);
    // Only a hash is stored.
    assert_eq!(
        app.count(&format!("api_tokens WHERE token_hash = '{token}'")),
        0
    );

    // The list shows prefix…last4, never the token.
    let list = owner.get("/account/tokens").await;
    list.assert_status(200);
    assert!(!list.contains(&token), "the token is shown again");
    assert!(
        list.contains(&format!("gate_pat_…{}", &token[token.len() - 4..])),
        "{}",
        list.body
    );
    assert!(list.contains("CI pipeline"));
    assert!(list.contains("read-write"));

    // It works against the API, as Ada, with write access, and is listed there.
    let api = Api::new(&app, &token);
    let org = api.get("/api/v1/org").await;
    let org = org.expect(200);
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["token_kind"], "personal");
    assert_eq!(org["token_access"], "write");
    api.post(
        "/api/v1/apps",
        json!({"name": "From CI", "auth_type": "api_key"}),
    )
    .await
    .expect(201);
    let me = current(&api).await;
    assert_eq!(me["name"], "CI pipeline");
    assert_eq!(me["kind"], "personal");
    assert_eq!(me["prefix"], "gate_pat_");
    assert_eq!(me["last4"], &token[token.len() - 4..]);
    assert_eq!(me["user_id"], app.user_id(OWNER_EMAIL));
    assert!(me["expires_at"].is_null());
    assert!(
        !api.get("/api/v1/tokens")
            .await
            .body
            .to_string()
            .contains(&token)
    );

    // The same form again (same nonce): a conflict, no second token, no token shown.
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let again = owner.post_raw("/account/tokens", &refs).await;
    again.assert_status(409);
    assert!(again.contains("already submitted"), "{}", again.body);
    assert!(!again.contains(&token));
    assert_eq!(app.count("api_tokens"), 1);

    // Revoked from the page: the token stops working.
    let id = app.text("SELECT id AS v FROM api_tokens");
    let revoked = owner
        .submit(
            "/account/tokens",
            &format!("/account/tokens/{id}/revoke"),
            &[],
        )
        .await;
    revoked.assert_redirect("/account/tokens");
    let reply = api.get("/api/v1/org").await;
    assert!(unauthorized(&reply).contains("revoked"));
    let list = owner.get("/account/tokens").await;
    assert!(list.contains("revoked"));
}

#[tokio::test]
async fn the_personal_token_form_refuses_bad_input_and_other_organisations() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let bob = app.join(&owner, "acme", BOB, "developer").await;
    owner.new_org("Beta", "beta").await;

    let long = "n".repeat(101);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "no name",
            vec![("name", ""), ("org", "acme"), ("access", "read")],
        ),
        (
            "overlong name",
            vec![("name", &long), ("org", "acme"), ("access", "read")],
        ),
        (
            "NUL in the name",
            vec![("name", "a\u{0}b"), ("org", "acme"), ("access", "read")],
        ),
        (
            "unknown access",
            vec![("name", "T"), ("org", "acme"), ("access", "admin")],
        ),
        (
            "zero days",
            vec![
                ("name", "T"),
                ("org", "acme"),
                ("access", "read"),
                ("expires_in_days", "0"),
            ],
        ),
        (
            "too many days",
            vec![
                ("name", "T"),
                ("org", "acme"),
                ("access", "read"),
                ("expires_in_days", "367"),
            ],
        ),
        (
            "days not a number",
            vec![
                ("name", "T"),
                ("org", "acme"),
                ("access", "read"),
                ("expires_in_days", "-1"),
            ],
        ),
        (
            "an organisation Bob is not in",
            vec![("name", "T"), ("org", "beta"), ("access", "read")],
        ),
        (
            "no such organisation",
            vec![("name", "T"), ("org", "nope"), ("access", "read")],
        ),
    ];
    for (what, fields) in cases {
        let (page, _) = create_personal(&bob, &fields).await;
        page.assert_status(422);
        assert!(
            !page.contains("id=\"reveal-secret\""),
            "{what}: a token was shown"
        );
        assert_eq!(app.count("api_tokens"), 0, "{what} created a token");
    }

    // A nonce made for someone else, or none, is refused.
    let (_, _, adas_nonce) = form_of(&owner, "/account/tokens").await;
    let csrf = bob.get("/account/tokens").await.csrf();
    for nonce in [adas_nonce.as_str(), "", "forged"] {
        let page = bob
            .post_raw(
                "/account/tokens",
                &[
                    ("csrf_token", &csrf),
                    ("nonce", nonce),
                    ("name", "T"),
                    ("org", "acme"),
                    ("access", "read"),
                ],
            )
            .await;
        assert!(
            (400..500).contains(&page.status.as_u16()),
            "nonce {nonce:?}: {}",
            page.status
        );
        assert_eq!(app.count("api_tokens"), 0);
    }
}

#[tokio::test]
async fn admin_tokens_are_made_by_admins_and_record_their_last_use() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let bob = app.join(&owner, "acme", BOB, "developer").await;

    // Developers: no page, no form.
    bob.get("/o/acme/admin/tokens").await.assert_status(403);
    let (_, csrf, nonce) = form_of(&bob, "/account/tokens").await;
    bob.post_raw(
        "/o/acme/admin/tokens",
        &[
            ("csrf_token", &csrf),
            ("nonce", &nonce),
            ("name", "Sneaky"),
            ("access", "write"),
        ],
    )
    .await
    .assert_status(403);
    assert_eq!(app.count("api_tokens"), 0);

    // Ada makes one.
    let (_, csrf, nonce) = form_of(&owner, "/o/acme/admin/tokens").await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("nonce", nonce.as_str()),
        ("name", "Deploys"),
        ("access", "write"),
        ("expires_in_days", "30"),
    ];
    let page = owner.post_raw("/o/acme/admin/tokens", &fields).await;
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let token = revealed(&page);
    assert!(token.starts_with("gate_adm_"), "{token}");
    // Once only.
    owner
        .post_raw("/o/acme/admin/tokens", &fields)
        .await
        .assert_status(409);
    assert_eq!(app.count("api_tokens"), 1);

    let list = owner.get("/o/acme/admin/tokens").await;
    list.assert_status(200);
    assert!(!list.contains(&token));
    assert!(list.contains(&format!("gate_adm_…{}", &token[token.len() - 4..])));
    assert!(list.contains("Ada Lovelace"), "acts for its creator");

    // Not used yet; then used, and the API says when.
    let api = Api::new(&app, &token);
    let observer = app.api(OWNER_EMAIL, "acme", false, false);
    let listed = observer.get("/api/v1/tokens").await;
    let entry = listed.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "admin")
        .expect("the admin token is listed")
        .clone();
    assert!(entry["last_used_at"].is_null(), "{entry}");
    assert_eq!(entry["name"], "Deploys");
    assert_eq!(entry["access"], "write");

    app.clock.advance(Duration::minutes(5));
    let org = api.get("/api/v1/org").await;
    assert_eq!(org.expect(200)["role"], "admin");
    assert_eq!(org.body["token_kind"], "admin");
    api.get("/api/v1/apps").await.expect(200);
    let me = current(&api).await;
    assert_eq!(me["id"], entry["id"]);
    let used =
        chrono::DateTime::parse_from_rfc3339(me["last_used_at"].as_str().expect("used")).unwrap();
    let made = chrono::DateTime::parse_from_rfc3339(me["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(used - made, Duration::minutes(5));
    // The page shows the use too.
    let list = owner.get("/o/acme/admin/tokens").await;
    assert!(!list.contains("<td>never</td>"), "{}", list.body);

    // Bob cannot revoke it from the page, nor learn that it exists: the same page as
    // for an id that was never issued; Ada can.
    let id = entry["id"].as_str().unwrap().to_string();
    let csrf = bob.get("/account").await.csrf();
    let random = uuid::Uuid::now_v7().to_string();
    let never_issued = bob
        .post_raw(
            &format!("/o/acme/admin/tokens/{random}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    never_issued.assert_status(404);
    let existing = bob
        .post_raw(
            &format!("/o/acme/admin/tokens/{id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    existing.assert_status(404);
    assert_eq!(
        existing.body.replace(&id, "ID"),
        never_issued.body.replace(&random, "ID")
    );
    api.get("/api/v1/org").await.expect(200);
    owner
        .submit(
            "/o/acme/admin/tokens",
            &format!("/o/acme/admin/tokens/{id}/revoke"),
            &[],
        )
        .await
        .assert_redirect("/o/acme/admin/tokens");
    assert!(unauthorized(&api.get("/api/v1/org").await).contains("revoked"));
}

/// Runs the real binary against the test app's database and data directory.
pub async fn gatehouse_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.arg("--database-url")
        .arg(&app.database_url)
        .arg("--data-dir")
        .arg(app.data_dir())
        .args(args)
        .env("GATEHOUSE_LOG", "warn");
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") && name != "GATEHOUSE_LOG" {
            cmd.env_remove(name);
        }
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("the gatehouse binary runs"))
        .await
        .expect("join")
}

#[tokio::test]
async fn the_command_line_prints_only_a_working_admin_token() {
    let app = spawn_app().await;
    app.setup_owner().await;

    let out = gatehouse_cli(&app, &["admin", "token", "create", "--org", "acme"]).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout:?}");
    assert_eq!(stdout, format!("{}\n", lines[0]));
    let token = lines[0];
    assert!(token.starts_with("gate_adm_"), "{token}");
    assert_eq!(app.count("api_tokens"), 1);

    // It works against the running app, as an admin token acting for the owner.
    let api = Api::new(&app, token);
    let org = api.get("/api/v1/org").await;
    assert_eq!(org.expect(200)["slug"], "acme");
    assert_eq!(org.body["token_kind"], "admin");
    assert_eq!(org.body["token_access"], "write");
    api.post(
        "/api/v1/apps",
        json!({"name": "From the CLI", "auth_type": "api_key"}),
    )
    .await
    .expect(201);
    let me = current(&api).await;
    assert_eq!(me["user_id"], app.user_id(OWNER_EMAIL));
    assert_eq!(me["name"], "created on the command line");

    // Read-only, named, expiring.
    let out = gatehouse_cli(
        &app,
        &[
            "admin",
            "token",
            "create",
            "--org",
            "acme",
            "--name",
            "Nightly report",
            "--read-only",
            "--expires-in-days",
            "7",
        ],
    )
    .await;
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string();
    let read_only = Api::new(&app, &token);
    let me = current(&read_only).await;
    assert_eq!(me["name"], "Nightly report");
    assert_eq!(me["access"], "read");
    assert!(me["expires_at"].is_string());
    read_only
        .post(
            "/api/v1/apps",
            json!({"name": "Refused", "auth_type": "api_key"}),
        )
        .await
        .expect_problem(403);

    // No such organisation: a failure exit, one sentence, nothing on stdout.
    let out = gatehouse_cli(&app, &["admin", "token", "create", "--org", "nope"]).await;
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("gatehouse: "), "{stderr}");
    assert!(
        last.contains("no organisation") && last.contains("nope"),
        "{stderr}"
    );

    // Out-of-range lifetimes are refused before anything is made.
    for days in ["0", "367"] {
        let out = gatehouse_cli(
            &app,
            &[
                "admin",
                "token",
                "create",
                "--org",
                "acme",
                "--expires-in-days",
                days,
            ],
        )
        .await;
        assert!(!out.status.success(), "{days} days");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(app.count("api_tokens"), 2);
}
