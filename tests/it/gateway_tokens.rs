//! Gateway tokens: made by organisation admins on their page and through the API,
//! shown once and kept as a hash, listed without the secret, revoked; bad input
//! refused with a message and nothing written; developers and other organisations
//! kept out; and every creation and revocation leaves a `gateway` change in the feed
//! (what tells the verify index of every instance).

use serde_json::{Value, json};

use crate::api_kit::ALREADY_RETURNED;
use crate::kit::{
    Browser, OWNER_EMAIL, Page, ProductBuilder, TestApp, extract_value, follow, spawn_app,
};

const BOB: &str = "bob@example.com";
const DAN: &str = "dan@example.com";
const PAGE: &str = "/o/acme/admin/gateway-tokens";

/// The token a reveal page shows.
fn revealed(page: &Page) -> String {
    extract_value(&page.body, "id=\"reveal-secret\" value=\"").expect("a token on the reveal page")
}

/// Submits the create form of `org`'s page with these fields (a fresh CSRF token and
/// nonce); returns the response and the fields sent.
async fn create_on_page(
    b: &Browser,
    org: &str,
    fields: &[(&str, &str)],
) -> (Page, Vec<(String, String)>) {
    let path = format!("/o/{org}/admin/gateway-tokens");
    let form = b.get(&path).await;
    form.assert_status(200);
    let nonce = extract_value(&form.body, "name=\"nonce\" value=\"").expect("a nonce on the form");
    let mut all = vec![
        ("csrf_token".to_string(), form.csrf()),
        ("nonce".to_string(), nonce),
    ];
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (b.post_raw(&path, &refs).await, all)
}

/// The feed's `gateway` changes, as "org-id" per row.
fn gateway_changes(app: &TestApp) -> Vec<String> {
    app.texts("SELECT COALESCE(org_id, '-') AS v FROM changes WHERE kind = 'gateway' ORDER BY id")
}

/// What a failed attempt must not have written.
#[track_caller]
fn nothing_written(app: &TestApp) {
    assert_eq!(app.count("gateway_tokens"), 0);
    assert_eq!(
        app.count("audit_events WHERE action LIKE 'gateway_token.%'"),
        0
    );
    assert!(gateway_changes(app).is_empty());
}

fn org_id(app: &TestApp, slug: &str) -> String {
    app.text(&format!(
        "SELECT id AS v FROM organisations WHERE slug = '{slug}'"
    ))
}

#[tokio::test]
async fn an_admin_creates_a_token_on_the_page_sees_it_once_and_revokes_it() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let payments = ProductBuilder::new("Payments", "auto")
        .publish(&app, &owner)
        .await;
    let acme = org_id(&app, "acme");

    // The tab leads to the page, which says what the tokens are for.
    let home = owner.get("/o/acme").await;
    assert!(
        home.contains(&format!("href=\"{PAGE}\"")),
        "no Gateway tokens tab"
    );
    let empty = owner.get(PAGE).await;
    empty.assert_status(200);
    for text in [
        "Authorization: Bearer &lt;token&gt;",
        "/api/v1/keys/verify",
        "X-Gatehouse-Token: &lt;token&gt;",
        "/api/v1/auth-request",
        "No gateway tokens yet",
        "<option value=\"payments\"",
    ] {
        assert!(empty.contains(text), "the page lacks {text:?}");
    }

    let (page, fields) = create_on_page(
        &owner,
        "acme",
        &[("name", "  Edge EU  "), ("default_product", "payments")],
    )
    .await;
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let token = revealed(&page);
    assert!(token.starts_with("gate_gw_"), "{token}");
    assert!(page.contains("shown only this once"));
    assert!(page.contains("Payments"));

    // The same form again creates nothing and shows nothing.
    let again = {
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        owner.post_raw(PAGE, &refs).await
    };
    again.assert_status(409);
    assert!(!again.contains(&token));
    assert_eq!(app.count("gateway_tokens"), 1);

    // Stored: the trimmed name, the keyed hash of the token (never the token), the
    // product, who made it.
    let stored = app.text(
        "SELECT name || '|' || token_hash || '|' || prefix || '|' || last4 || '|' || \
         default_product_id || '|' || created_by AS v FROM gateway_tokens",
    );
    let parts: Vec<&str> = stored.split('|').collect();
    assert_eq!(parts[0], "Edge EU");
    assert_ne!(parts[1], token);
    assert_eq!(parts[1], app.state.secrets.hash(&token));
    assert_eq!(parts[2], "gate_gw_");
    assert_eq!(parts[3], &token[token.len() - 4..]);
    assert_eq!(parts[4], payments);
    assert_eq!(parts[5], app.user_id(OWNER_EMAIL));
    let body = &token["gate_gw_".len()..];
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE detail LIKE '%{body}%' OR action LIKE '%{body}%'"
        )),
        0
    );

    // Listed without the secret: name, prefix and last four, product, creator.
    let list = owner.get(PAGE).await;
    list.assert_status(200);
    assert!(!list.contains(&token));
    assert!(!list.contains(body));
    for text in [
        "Edge EU".to_string(),
        format!("gate_gw_…{}", &token[token.len() - 4..]),
        "<td>Payments</td>".to_string(),
        "<td>Ada Lovelace</td>".to_string(),
        "never".to_string(),
        "status-active".to_string(),
        "Revoke Edge EU?".to_string(),
    ] {
        assert!(list.contains(&text), "the list lacks {text:?}");
    }
    assert_eq!(gateway_changes(&app), vec![acme.clone()]);
    let activity = owner.get("/o/acme").await;
    assert!(
        activity.contains("Ada Lovelace created gateway token Edge EU (default product Payments)"),
        "{}",
        activity.body
    );

    // Revoked, once.
    let id = app.text("SELECT id AS v FROM gateway_tokens");
    let revoke = format!("{PAGE}/{id}/revoke");
    let done = owner.submit(PAGE, &revoke, &[]).await;
    done.assert_redirect(PAGE);
    let after = follow(&owner, &done).await;
    assert!(after.contains("Gateway token revoked"), "{}", after.body);
    assert!(after.contains("status-revoked"));
    assert!(
        !after.contains("Revoke Edge EU?"),
        "a revoked token offers Revoke"
    );
    assert_eq!(app.count("gateway_tokens WHERE revoked_at IS NOT NULL"), 1);
    assert_eq!(gateway_changes(&app), [acme.clone(), acme.clone()]);
    let twice = owner.submit(PAGE, &revoke, &[]).await;
    twice.assert_redirect(PAGE);
    assert!(follow(&owner, &twice).await.contains("already revoked"));
    assert_eq!(gateway_changes(&app).len(), 2);
    assert_eq!(
        app.count("audit_events WHERE action = 'gateway_token.revoked'"),
        1
    );
    assert!(
        owner
            .get("/o/acme")
            .await
            .contains("Ada Lovelace revoked gateway token Edge EU")
    );

    // A revoked token's name is free again; a live one's is not.
    let (reuse, _) = create_on_page(&owner, "acme", &[("name", "Edge EU")]).await;
    reuse.assert_status(200);
    let (taken, _) = create_on_page(&owner, "acme", &[("name", "Edge EU")]).await;
    taken.assert_status(409);
    assert!(taken.contains("already in use"), "{}", taken.body);
    assert_eq!(app.count("gateway_tokens"), 2);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    ProductBuilder::new("Payments", "auto")
        .publish(&app, &owner)
        .await;
    let old = ProductBuilder::new("Legacy", "auto")
        .publish(&app, &owner)
        .await;
    owner
        .submit(
            "/o/acme/admin/products",
            &format!("/o/acme/admin/products/{old}/archive"),
            &[],
        )
        .await
        .assert_redirect("/o/acme/admin/products");
    // Archived products are not offered.
    let form = owner.get(PAGE).await;
    assert!(form.contains("<option value=\"payments\""));
    assert!(!form.contains("<option value=\"legacy\""));

    let long = "x".repeat(101);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("name", "")], "Token name is required."),
        (&[("name", "   ")], "Token name is required."),
        (&[("name", &long)], "at most 100 characters"),
        (&[("name", "Edge\u{7}")], "control characters"),
        (
            &[("name", "Edge"), ("default_product", "nope")],
            "There is no product",
        ),
        (
            &[("name", "Edge"), ("default_product", "legacy")],
            "Legacy is archived",
        ),
    ];
    for (fields, message) in cases {
        let (page, _) = create_on_page(&owner, "acme", fields).await;
        page.assert_status(422);
        assert!(page.contains(message), "{fields:?}: {}", page.body);
        assert!(!page.contains("gate_gw_"), "{fields:?} showed a token");
    }
    nothing_written(&app);

    let api = app.api(OWNER_EMAIL, "acme", true, true);
    let long_body = json!({"name": long});
    for (body, status, message) in [
        (json!({"name": ""}), 422, "Token name is required."),
        (json!({"name": " \t "}), 422, "Token name is required."),
        (long_body, 422, "at most 100 characters"),
        (
            json!({"name": "Edge", "default_product": "nope"}),
            422,
            "There is no product \"nope\"",
        ),
        (
            json!({"name": "Edge", "default_product": "legacy"}),
            422,
            "Legacy is archived",
        ),
        (json!({"default_product": "payments"}), 400, "name"),
        (json!({"name": 7}), 400, "JSON body is not valid"),
    ] {
        let reply = api.post("/api/v1/gateway-tokens", body.clone()).await;
        let detail = reply.expect_problem(status);
        assert!(detail.contains(message), "{body}: {detail}");
    }
    nothing_written(&app);

    // A name in use by a live token: 409, and still only the one token.
    api.post("/api/v1/gateway-tokens", json!({"name": "Edge"}))
        .await
        .expect(201);
    let dup = api
        .post(
            "/api/v1/gateway-tokens",
            json!({"name": " Edge ", "default_product": "payments"}),
        )
        .await;
    assert!(dup.expect_problem(409).contains("already in use"));
    assert_eq!(app.count("gateway_tokens"), 1);
    assert_eq!(gateway_changes(&app).len(), 1);
}

#[tokio::test]
async fn the_api_creates_lists_reads_and_revokes_without_showing_the_token_again() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    ProductBuilder::new("Payments", "auto")
        .publish(&app, &owner)
        .await;
    let acme = org_id(&app, "acme");
    let api = app.api(OWNER_EMAIL, "acme", true, true);

    let made = api
        .post(
            "/api/v1/gateway-tokens",
            json!({"name": "Kong prod", "default_product": "payments"}),
        )
        .await;
    let created = made.expect(201).clone();
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        made.header("location"),
        Some(format!("/api/v1/gateway-tokens/{id}").as_str())
    );
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("gate_gw_"), "{token}");
    assert_eq!(created["name"], "Kong prod");
    assert_eq!(created["prefix"], "gate_gw_");
    assert_eq!(created["last4"], &token[token.len() - 4..]);
    assert_eq!(created["default_product"], "payments");
    assert!(created["created_at"].is_string());
    let mut keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "default_product",
            "id",
            "last4",
            "name",
            "prefix",
            "token"
        ]
    );
    assert_eq!(
        app.text("SELECT token_hash AS v FROM gateway_tokens"),
        app.state.secrets.hash(&token)
    );
    assert_eq!(
        app.count(&format!("gateway_tokens WHERE token_hash = '{token}'")),
        0
    );

    // Read back: never the token.
    let one = api.get(&format!("/api/v1/gateway-tokens/{id}")).await;
    let one = one.expect(200).clone();
    assert!(!one.to_string().contains(&token));
    assert!(one.get("token").is_none());
    assert_eq!(one["default_product"], "payments");
    assert_eq!(one["created_by"], app.user_id(OWNER_EMAIL).as_str());
    assert!(one["last_used_at"].is_null() && one["revoked_at"].is_null());
    let list = api.get("/api/v1/gateway-tokens").await;
    assert!(!list.expect(200).to_string().contains(&token));
    assert_eq!(list.body["items"][0]["id"], id.as_str());

    // A repeated Idempotency-Key creates nothing and does not show the token again.
    let first = api
        .post_once("/api/v1/gateway-tokens", "k-1", json!({"name": "Envoy"}))
        .await;
    let envoy = first.expect(201)["token"].as_str().unwrap().to_string();
    let replay = api
        .post_once("/api/v1/gateway-tokens", "k-1", json!({"name": "Envoy"}))
        .await;
    assert_eq!(replay.expect(201)["token"], ALREADY_RETURNED);
    assert_eq!(replay.body["id"], first.body["id"]);
    assert!(!replay.body.to_string().contains(&envoy));
    assert_eq!(app.count("gateway_tokens"), 2);

    // Paged with the API's cursor and limit, oldest first.
    api.post("/api/v1/gateway-tokens", json!({"name": "nginx"}))
        .await
        .expect(201);
    let page1 = api.get("/api/v1/gateway-tokens?limit=2").await;
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(page1.expect(200)), ["Kong prod", "Envoy"]);
    let cursor = page1.body["next_cursor"].as_str().expect("a next page");
    let page2 = api
        .get(&format!("/api/v1/gateway-tokens?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(names(page2.expect(200)), ["nginx"]);
    assert!(page2.body["next_cursor"].is_null());
    api.get("/api/v1/gateway-tokens?limit=0")
        .await
        .expect_problem(400);

    // Revoked: 204, then 409; listed as revoked.
    let gone = api.delete(&format!("/api/v1/gateway-tokens/{id}")).await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    let again = api.delete(&format!("/api/v1/gateway-tokens/{id}")).await;
    assert!(again.expect_problem(409).contains("already revoked"));
    let one = api.get(&format!("/api/v1/gateway-tokens/{id}")).await;
    assert!(one.expect(200)["revoked_at"].is_string());
    api.delete("/api/v1/gateway-tokens/no-such-token")
        .await
        .expect_problem(404);
    api.delete(&format!("/api/v1/gateway-tokens/{}", uuid::Uuid::now_v7()))
        .await
        .expect_problem(404);

    // Three creations and one revocation, each a `gateway` change of Acme.
    assert_eq!(gateway_changes(&app), vec![acme; 4]);
    assert_eq!(
        app.count("audit_events WHERE action = 'gateway_token.created'"),
        3
    );
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'gateway_token.revoked' AND target = 'gateway_token:{id}'"
        )),
        1
    );
}

#[tokio::test]
async fn developers_and_other_organisations_are_kept_out() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let bob = app.join(&owner, "acme", BOB, "developer").await;
    let dan = app.join(&owner, "acme", DAN, "admin").await;

    // An admin (not only the owner) makes one on the page.
    let (page, _) = create_on_page(&dan, "acme", &[("name", "Dan's edge")]).await;
    page.assert_status(200);
    assert!(revealed(&page).starts_with("gate_gw_"));
    let id = app.text("SELECT id AS v FROM gateway_tokens");

    // A developer: no tab, no page, no form (403); a token does not exist for them
    // (404, the same page as for an id never issued).
    assert!(!bob.get("/o/acme").await.contains(PAGE));
    bob.get(PAGE).await.assert_status(403);
    let csrf = bob.get("/account").await.csrf();
    bob.post_raw(
        PAGE,
        &[("csrf_token", &csrf), ("nonce", "x"), ("name", "Sneaky")],
    )
    .await
    .assert_status(403);
    let random = uuid::Uuid::now_v7().to_string();
    let never_issued = bob
        .post_raw(&format!("{PAGE}/{random}/revoke"), &[("csrf_token", &csrf)])
        .await;
    never_issued.assert_status(404);
    let existing = bob
        .post_raw(&format!("{PAGE}/{id}/revoke"), &[("csrf_token", &csrf)])
        .await;
    existing.assert_status(404);
    assert_eq!(
        existing.body.replace(&id, "ID"),
        never_issued.body.replace(&random, "ID")
    );
    // Without a CSRF token, not even an admin's revoke goes through.
    dan.post_raw(&format!("{PAGE}/{id}/revoke"), &[])
        .await
        .assert_status(403);

    let bob_api = app.api(BOB, "acme", false, true);
    bob_api
        .get("/api/v1/gateway-tokens")
        .await
        .expect_problem(403);
    bob_api
        .post("/api/v1/gateway-tokens", json!({"name": "Sneaky"}))
        .await
        .expect_problem(403);
    bob_api
        .get(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect_problem(404);
    bob_api
        .delete(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect_problem(404);
    // A read-only admin token reads but does not write.
    let read_only = app.api(OWNER_EMAIL, "acme", true, false);
    read_only
        .get(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect(200);
    read_only
        .delete(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect_problem(403);

    // Another organisation's owner: not on Acme's page, not through Globex's page or
    // API, and Globex's list does not show it.
    let olivia = app
        .second_org("Olivia", "olivia@example.com", "Globex", "globex")
        .await;
    olivia.get(PAGE).await.assert_status(404);
    let csrf = olivia.get("/account").await.csrf();
    olivia
        .post_raw(
            &format!("/o/globex/admin/gateway-tokens/{id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(404);
    let globex = app.api("olivia@example.com", "globex", true, true);
    globex
        .get(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect_problem(404);
    globex
        .delete(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect_problem(404);
    let listed = globex.get("/api/v1/gateway-tokens").await;
    assert_eq!(listed.expect(200)["items"], json!([]));
    // Globex may use the same name: names are per organisation.
    globex
        .post("/api/v1/gateway-tokens", json!({"name": "Dan's edge"}))
        .await
        .expect(201);

    // Acme's token is untouched; one change each for the two creations.
    assert_eq!(app.count("gateway_tokens WHERE revoked_at IS NULL"), 2);
    assert_eq!(gateway_changes(&app).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creations_of_one_name_make_one_token_and_no_server_error() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api(OWNER_EMAIL, "acme", true, true);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post("/api/v1/gateway-tokens", json!({"name": "Edge"}))
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("gateway_tokens"), 1);
    assert_eq!(gateway_changes(&app).len(), 1);
}
