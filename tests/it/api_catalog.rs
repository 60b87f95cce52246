//! Products, subscriptions, approvals, suspend/resume and the inbox through the
//! management API.

use serde_json::{Value, json};

use crate::api_kit::{Api, item_ids};
use crate::kit::{AppBuilder, Browser, ProductBuilder, TestApp, spawn_app};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Ada (owner of acme) with an admin read-write token, and Bob, a developer, with a
/// personal read-write token.
async fn acme_with_bob(app: &TestApp) -> (Browser, Api, Browser, Api) {
    let owner = app.setup_owner().await;
    let bob = app.join(&owner, "acme", BOB, "developer").await;
    let admin = app.api(ADA, "acme", true, true);
    let dev = app.api(BOB, "acme", false, true);
    (owner, admin, bob, dev)
}

fn sub_status(app: &TestApp, id: &str) -> String {
    app.text(&format!(
        "SELECT status AS v FROM subscriptions WHERE id = '{id}'"
    ))
}

// ------------------------------------------------------------------ products

#[tokio::test]
async fn products_are_published_read_and_listed() {
    let app = spawn_app().await;
    let (owner, admin, _, dev) = acme_with_bob(&app).await;

    // The minimum shape.
    let reply = admin
        .post(
            "/api/v1/products",
            json!({"name": "Weather", "slug": "weather", "approval_mode": "auto"}),
        )
        .await;
    let created = reply.expect(201).clone();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["slug"], "weather");
    assert_eq!(created["approval_mode"], "auto");
    assert_eq!(created["visibility"], "members");
    assert_eq!(created["archived"], false);
    assert_eq!(created["quota_limit"], Value::Null);
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/products/{id}").as_str())
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'product.created'"),
        1
    );

    // Every field the form has.
    owner
        .submit("/o/acme/teams", "/o/acme/teams", &[("name", "Insiders")])
        .await;
    let team = app.text("SELECT id AS v FROM teams WHERE name = 'Insiders'");
    let full = admin
        .post(
            "/api/v1/products",
            json!({
                "name": "Payments",
                "slug": "payments",
                "approval_mode": "manual",
                "summary": "Take money",
                "docs_markdown": "# Payments\n\nCall `POST /charges`.",
                "visibility": "teams",
                "teams": [team, team],
                "quota_limit": 1000,
                "quota_period": "day",
                "rate_limit_per_second": 10,
                "max_credential_lifetime_days": 90,
                "scopes": ["charges:write", "charges:read"],
            }),
        )
        .await;
    let full = full.expect(201).clone();
    assert_eq!(full["teams"], json!([team]));
    assert_eq!(full["quota_limit"], 1000);
    assert_eq!(full["quota_period"], "day");
    assert_eq!(full["rate_limit_per_second"], 10);
    assert_eq!(full["max_credential_lifetime_days"], 90);
    assert_eq!(full["scopes"], json!(["charges:write", "charges:read"]));
    assert_eq!(full["docs_markdown"], "# Payments\n\nCall `POST /charges`.");
    // The slug is made from the name when left out.
    let derived = admin
        .post(
            "/api/v1/products",
            json!({"name": "Shipping Labels", "approval_mode": "auto"}),
        )
        .await;
    assert_eq!(derived.expect(201)["slug"], "shipping-labels");

    // Read by id and by slug, with an ETag.
    let by_id = admin.get(&format!("/api/v1/products/{id}")).await;
    assert_eq!(by_id.expect(200)["name"], "Weather");
    let etag = by_id.header("etag").unwrap().to_string();
    let by_slug = admin.get("/api/v1/products/weather").await;
    assert_eq!(by_slug.expect(200)["id"], id.as_str());
    assert_eq!(by_slug.header("etag"), Some(etag.as_str()));

    // The admin lists all three; the developer, outside the team, two.
    let list = admin.get("/api/v1/products").await;
    assert_eq!(item_ids(list.expect(200), "id").len(), 3);
    assert!(list.body["items"][0].get("docs_markdown").is_none());
    let mine = dev.get("/api/v1/products").await;
    let slugs: Vec<&str> = mine.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.len(), 2);
    assert!(!slugs.contains(&"payments"));
    dev.get("/api/v1/products/payments")
        .await
        .expect_problem(404);
    dev.get("/api/v1/products/weather").await.expect(200);

    // Pages walk the list.
    let first = admin.get("/api/v1/products?limit=2").await;
    let first = first.expect(200).clone();
    assert_eq!(item_ids(&first, "id").len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = admin
        .get(&format!("/api/v1/products?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(item_ids(second.expect(200), "id").len(), 1);
    assert_eq!(second.body["next_cursor"], Value::Null);
    admin
        .get("/api/v1/products?limit=0")
        .await
        .expect_problem(400);

    // Unknown products and impossible ids are 404s.
    admin
        .get("/api/v1/products/no-such-product")
        .await
        .expect_problem(404);
    admin
        .get("/api/v1/products/%00%01")
        .await
        .expect_problem(404);
    admin
        .get(&format!("/api/v1/products/{}", "a".repeat(300)))
        .await
        .expect_problem(404);
}

#[tokio::test]
async fn bad_products_are_refused_with_every_problem_listed() {
    let app = spawn_app().await;
    let (_, admin, _, _) = acme_with_bob(&app).await;
    ProductBuilder::new("WEATHER", "auto")
        .publish_api(&admin)
        .await;

    let reply = admin
        .post(
            "/api/v1/products",
            json!({
                "name": "",
                "slug": "Not A Slug",
                "approval_mode": "auto",
                "rate_limit_per_second": 0,
                "max_credential_lifetime_days": 9_000_000_000_000_i64,
                "quota_limit": 5,
                "scopes": ["ok", "has space", "bad\"char"],
            }),
        )
        .await;
    reply.expect_problem(422);
    let errors = reply.body["errors"].as_array().unwrap();
    assert!(errors.len() >= 5, "{errors:?}");

    // Hostile input: 4xx, never 5xx.
    for body in [
        json!({"name": "Nul\u{0}name", "approval_mode": "auto"}),
        json!({"name": "x".repeat(101), "approval_mode": "auto"}),
        json!({"name": "Docs", "approval_mode": "auto", "docs_markdown": "a\u{0}b"}),
        json!({"name": "Sum", "approval_mode": "auto", "summary": "two\nlines"}),
        json!({"name": "Teams", "approval_mode": "auto", "visibility": "teams"}),
        json!({"name": "Teams", "approval_mode": "auto", "visibility": "teams", "teams": ["nope"]}),
        json!({"name": "Teams", "approval_mode": "auto", "visibility": "teams", "teams": ["a,b"]}),
        json!({"name": "Quota", "approval_mode": "auto", "quota_limit": -1, "quota_period": "day"}),
        json!({"name": "Lifetime", "approval_mode": "auto", "max_credential_lifetime_days": i64::MAX}),
    ] {
        admin
            .post("/api/v1/products", body)
            .await
            .expect_problem(422);
    }
    for body in [
        json!({"name": "Mode", "approval_mode": "conditional"}),
        json!({"name": "Mode"}),
        json!({"name": "Huge", "approval_mode": "auto", "quota_limit": 1e30}),
        json!({"name": "Float", "approval_mode": "auto", "rate_limit_per_second": 1.5}),
        json!({"name": "Vis", "approval_mode": "auto", "visibility": "everyone"}),
        json!(["not", "an", "object"]),
    ] {
        admin
            .post("/api/v1/products", body)
            .await
            .expect_problem(400);
    }
    // A taken slug is a conflict.
    admin
        .post(
            "/api/v1/products",
            json!({"name": "Weather 2", "slug": "weather", "approval_mode": "auto"}),
        )
        .await
        .expect_problem(409);
    assert_eq!(app.count("products"), 1);
}

#[tokio::test]
async fn an_idempotency_key_publishes_once() {
    let app = spawn_app().await;
    let (_, admin, _, _) = acme_with_bob(&app).await;
    let body = json!({"name": "Weather", "slug": "weather", "approval_mode": "auto"});
    let first = admin
        .post_once("/api/v1/products", "key-1", body.clone())
        .await;
    let first = first.expect(201).clone();
    let again = admin.post_once("/api/v1/products", "key-1", body).await;
    assert_eq!(again.expect(201)["id"], first["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("products"), 1);
    // The same key for another request is refused.
    admin
        .post_once(
            "/api/v1/products",
            "key-1",
            json!({"name": "Other", "slug": "other", "approval_mode": "auto"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(app.count("products"), 1);
}

#[tokio::test]
async fn a_patch_changes_only_what_it_names_and_honours_if_match() {
    let app = spawn_app().await;
    let (_, admin, _, _) = acme_with_bob(&app).await;
    let created = admin
        .post(
            "/api/v1/products",
            json!({
                "name": "Weather",
                "slug": "weather",
                "approval_mode": "auto",
                "summary": "Forecasts",
                "quota_limit": 100,
                "quota_period": "hour",
                "scopes": ["read"],
            }),
        )
        .await;
    let id = created.expect(201)["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/products/{id}");
    let read = admin.get(&path).await;
    let etag = read.header("etag").unwrap().to_string();

    let changed = admin
        .patch(
            &path,
            json!({"name": "Weather Pro", "approval_mode": "manual"}),
            Some(&etag),
        )
        .await;
    let changed_body = changed.expect(200).clone();
    assert_eq!(changed_body["name"], "Weather Pro");
    assert_eq!(changed_body["approval_mode"], "manual");
    // Left out: kept.
    assert_eq!(changed_body["summary"], "Forecasts");
    assert_eq!(changed_body["quota_limit"], 100);
    assert_eq!(changed_body["quota_period"], "hour");
    assert_eq!(changed_body["scopes"], json!(["read"]));
    let new_etag = changed.header("etag").unwrap().to_string();
    assert_ne!(new_etag, etag);
    assert_eq!(
        app.count("audit_events WHERE action = 'product.updated'"),
        1
    );

    // The old ETag is stale now: 412, and nothing changes.
    admin
        .patch(&path, json!({"name": "Stale"}), Some(&etag))
        .await
        .expect_problem(412);
    assert_eq!(
        app.text(&format!("SELECT name AS v FROM products WHERE id = '{id}'")),
        "Weather Pro"
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'product.updated'"),
        1
    );

    // `null` clears the quota; `*` and no If-Match at all both go through.
    let cleared = admin
        .patch(&path, json!({"quota_limit": null}), Some("*"))
        .await;
    assert_eq!(cleared.expect(200)["quota_limit"], Value::Null);
    assert_eq!(cleared.body["quota_period"], Value::Null);
    admin
        .patch(&path, json!({"summary": "Rain and sun"}), None)
        .await
        .expect(200);

    // The slug does not change; bad values are 422 and change nothing.
    admin
        .patch(&path, json!({"slug": "other"}), None)
        .await
        .expect_problem(422);
    admin
        .patch(
            &path,
            json!({"slug": "weather", "summary": "Same slug"}),
            None,
        )
        .await
        .expect(200);
    admin
        .patch(&path, json!({"name": "", "rate_limit_per_second": 0}), None)
        .await
        .expect_problem(422);
    admin
        .patch(&path, json!({"visibility": "teams"}), None)
        .await
        .expect_problem(422);
    admin
        .patch("/api/v1/products/nope", json!({"name": "x"}), None)
        .await
        .expect_problem(404);
    assert_eq!(
        app.text(&format!(
            "SELECT summary AS v FROM products WHERE id = '{id}'"
        )),
        "Same slug"
    );
}

#[tokio::test]
async fn archived_products_take_no_new_subscriptions_and_come_back() {
    let app = spawn_app().await;
    let (_, admin, bob, dev) = acme_with_bob(&app).await;
    let id = ProductBuilder::new("WEATHER", "auto")
        .publish_api(&admin)
        .await;
    let app_id = AppBuilder::new("Forecast").id(&bob).await;

    let archived = admin
        .post(&format!("/api/v1/products/{id}/archive"), json!({}))
        .await;
    assert_eq!(archived.expect(200)["archived"], true);
    assert!(archived.body["archived_at"].is_string());
    admin
        .post(&format!("/api/v1/products/{id}/archive"), json!({}))
        .await
        .expect_problem(409);
    // Admins still see it, flagged; developers do not.
    let list = admin.get("/api/v1/products").await;
    assert_eq!(list.expect(200)["items"][0]["archived"], true);
    assert!(item_ids(dev.get("/api/v1/products").await.expect(200), "id").is_empty());
    dev.get("/api/v1/products/weather")
        .await
        .expect_problem(404);
    dev.post(
        &format!("/api/v1/apps/{app_id}/subscriptions"),
        json!({"product": "weather"}),
    )
    .await
    .expect_problem(422);

    let restored = admin
        .post("/api/v1/products/weather/restore", json!({}))
        .await;
    assert_eq!(restored.expect(200)["archived"], false);
    assert_eq!(restored.body["archived_at"], Value::Null);
    admin
        .post(&format!("/api/v1/products/{id}/restore"), json!({}))
        .await
        .expect_problem(409);
    assert_eq!(
        app.count("audit_events WHERE action IN ('product.archived', 'product.restored')"),
        2
    );
    let sub = dev
        .post(
            &format!("/api/v1/apps/{app_id}/subscriptions"),
            json!({"product": "weather"}),
        )
        .await;
    assert_eq!(sub.expect(201)["status"], "approved");
}

// ------------------------------------------------------------------ who may

#[tokio::test]
async fn developers_read_only_tokens_and_other_organisations_are_refused() {
    let app = spawn_app().await;
    let (owner, admin, bob, dev) = acme_with_bob(&app).await;
    let id = ProductBuilder::new("PAYMENTS", "manual")
        .publish_api(&admin)
        .await;
    let app_id = AppBuilder::new("Shop").products(&[&id]).id(&bob).await;
    let sub = app.sub_of(&app_id);

    // A developer: 403 on everything admins do.
    dev.post(
        "/api/v1/products",
        json!({"name": "Mine", "approval_mode": "auto"}),
    )
    .await
    .expect_problem(403);
    dev.patch(
        &format!("/api/v1/products/{id}"),
        json!({"name": "x"}),
        None,
    )
    .await
    .expect_problem(403);
    dev.post(&format!("/api/v1/products/{id}/archive"), json!({}))
        .await
        .expect_problem(403);
    dev.get("/api/v1/approvals").await.expect_problem(403);
    dev.post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
        .await
        .expect_problem(403);
    dev.post(
        "/api/v1/approvals/decide",
        json!({"ids": [sub], "decision": "approve"}),
    )
    .await
    .expect_problem(403);
    dev.post(
        &format!("/api/v1/apps/{app_id}/suspend"),
        json!({"reason": "mine"}),
    )
    .await
    .expect_problem(403);
    assert_eq!(sub_status(&app, &sub), "pending");

    // A read-only token reads but changes nothing.
    let reader = app.api(ADA, "acme", true, false);
    reader.get("/api/v1/products").await.expect(200);
    reader.get("/api/v1/approvals").await.expect(200);
    reader
        .post(
            "/api/v1/products",
            json!({"name": "Ro", "approval_mode": "auto"}),
        )
        .await
        .expect_problem(403);
    reader
        .post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
        .await
        .expect_problem(403);
    reader
        .post("/api/v1/notifications/read-all", json!({}))
        .await
        .expect_problem(403);
    assert_eq!(sub_status(&app, &sub), "pending");
    assert_eq!(app.count("products"), 1);

    // Another organisation's token sees none of it.
    owner.new_org("Globex", "globex").await;
    let other = app.api(ADA, "globex", true, true);
    other
        .get(&format!("/api/v1/products/{id}"))
        .await
        .expect_problem(404);
    assert!(item_ids(other.get("/api/v1/products").await.expect(200), "id").is_empty());
    assert!(item_ids(other.get("/api/v1/approvals").await.expect(200), "id").is_empty());
    other
        .patch(
            &format!("/api/v1/products/{id}"),
            json!({"name": "x"}),
            None,
        )
        .await
        .expect_problem(404);
    other
        .post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
        .await
        .expect_problem(404);
    other
        .get(&format!("/api/v1/apps/{app_id}/subscriptions"))
        .await
        .expect_problem(404);
    other
        .post(
            &format!("/api/v1/apps/{app_id}/suspend"),
            json!({"reason": "x"}),
        )
        .await
        .expect_problem(404);
    other
        .post(&format!("/api/v1/subscriptions/{sub}/cancel"), json!({}))
        .await
        .expect_problem(404);
    assert_eq!(sub_status(&app, &sub), "pending");

    // Another developer does not see Bob's app.
    app.join(&owner, "acme", "carol@example.com", "developer")
        .await;
    let carol = app.api("carol@example.com", "acme", false, true);
    carol
        .get(&format!("/api/v1/apps/{app_id}/subscriptions"))
        .await
        .expect_problem(404);
    carol
        .post(
            &format!("/api/v1/apps/{app_id}/subscriptions"),
            json!({"product": "payments"}),
        )
        .await
        .expect_problem(404);
    carol
        .post(&format!("/api/v1/subscriptions/{sub}/cancel"), json!({}))
        .await
        .expect_problem(404);
}

// ------------------------------------------------------------------ approvals

#[tokio::test]
async fn a_manual_request_waits_in_the_queue_and_is_approved() {
    let app = spawn_app().await;
    let (_, admin, bob, dev) = acme_with_bob(&app).await;
    let id = ProductBuilder::new("PAYMENTS", "manual")
        .publish_api(&admin)
        .await;
    let app_id = AppBuilder::new("Shop")
        .products(&[&id])
        .note("We sell socks")
        .id(&bob)
        .await;
    assert_eq!(app.app_status(&app_id), "pending");
    let sub = app.sub_of(&app_id);

    let queue = admin.get("/api/v1/approvals").await;
    let item = queue.expect(200)["items"][0].clone();
    assert_eq!(item["id"], sub.as_str());
    assert_eq!(item["app_id"], app_id.as_str());
    assert_eq!(item["app_name"], "Shop");
    assert_eq!(item["product_slug"], "payments");
    assert_eq!(item["product_name"], "PAYMENTS");
    assert_eq!(item["note"], "We sell socks");
    assert_eq!(item["owner"]["kind"], "user");
    assert_eq!(item["owner"]["email"], BOB);
    assert!(item["requested_at"].as_str().unwrap().ends_with('Z'));

    let decided = admin
        .post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
        .await;
    let decided = decided.expect(200).clone();
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["app_status"], "active");
    assert_eq!(app.app_status(&app_id), "active");
    assert!(item_ids(admin.get("/api/v1/approvals").await.expect(200), "id").is_empty());
    // Deciding again is a conflict.
    admin
        .post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
        .await
        .expect_problem(409);
    admin
        .post("/api/v1/approvals/not-a-real-id/approve", json!({}))
        .await
        .expect_problem(404);

    // Bob is told, in his inbox.
    let inbox = dev.get("/api/v1/notifications").await;
    let items = inbox.expect(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "approved");
    assert_eq!(items[0]["unread"], true);
    assert_eq!(items[0]["read_at"], Value::Null);
    assert_eq!(items[0]["link"], format!("/o/acme/apps/{app_id}"));
    // And the subscription list of the app says so.
    let subs = dev
        .get(&format!("/api/v1/apps/{app_id}/subscriptions"))
        .await;
    let subs = subs.expect(200)["items"].clone();
    assert_eq!(subs[0]["status"], "approved");
    assert_eq!(subs[0]["product_slug"], "payments");
    assert!(subs[0]["decided_by"].is_string());
}

#[tokio::test]
async fn a_rejection_needs_a_reason() {
    let app = spawn_app().await;
    let (_, admin, bob, dev) = acme_with_bob(&app).await;
    let id = ProductBuilder::new("PAYMENTS", "manual")
        .publish_api(&admin)
        .await;
    let app_id = AppBuilder::new("Shop").products(&[&id]).id(&bob).await;
    let sub = app.sub_of(&app_id);
    let path = format!("/api/v1/approvals/{sub}/reject");

    for reason in ["", "   ", "\u{0}\u{1}"] {
        admin
            .post(&path, json!({"reason": reason}))
            .await
            .expect_problem(422);
    }
    admin
        .post(&path, json!({"reason": "x".repeat(501)}))
        .await
        .expect_problem(422);
    admin.post(&path, json!({})).await.expect_problem(400);
    assert_eq!(sub_status(&app, &sub), "pending");
    assert_eq!(app.app_status(&app_id), "pending");

    let rejected = admin
        .post(&path, json!({"reason": "Not for production use"}))
        .await;
    let rejected = rejected.expect(200).clone();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "Not for production use");
    assert_eq!(rejected["app_status"], "rejected");
    assert_eq!(app.app_status(&app_id), "rejected");
    let inbox = dev.get("/api/v1/notifications").await;
    assert_eq!(inbox.expect(200)["items"][0]["kind"], "rejected");
}

#[tokio::test]
async fn many_requests_are_decided_together_or_not_at_all() {
    let app = spawn_app().await;
    let (_, admin, bob, _) = acme_with_bob(&app).await;
    let id = ProductBuilder::new("PAYMENTS", "manual")
        .publish_api(&admin)
        .await;
    let mut apps = Vec::new();
    let mut subs = Vec::new();
    for i in 0..4 {
        let a = AppBuilder::new(&format!("App {i}"))
            .products(&[&id])
            .id(&bob)
            .await;
        subs.push(app.sub_of(&a));
        apps.push(a);
    }
    // Paging through the queue.
    let first = admin.get("/api/v1/approvals?limit=3").await;
    let first = first.expect(200).clone();
    assert_eq!(item_ids(&first, "id").len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = admin
        .get(&format!("/api/v1/approvals?limit=3&cursor={cursor}"))
        .await;
    let mut seen = item_ids(&first, "id");
    seen.extend(item_ids(rest.expect(200), "id"));
    let mut expected = subs.clone();
    expected.sort();
    assert_eq!(seen, expected);

    // Bad requests change nothing.
    let decide = "/api/v1/approvals/decide";
    admin
        .post(decide, json!({"ids": [], "decision": "approve"}))
        .await
        .expect_problem(422);
    admin
        .post(decide, json!({"ids": [subs[0]], "decision": "reject"}))
        .await
        .expect_problem(422);
    admin
        .post(decide, json!({"ids": [subs[0]], "decision": "maybe"}))
        .await
        .expect_problem(400);
    admin
        .post(
            decide,
            json!({"ids": [subs[0], "0190b3d4-0000-7000-8000-000000000000"], "decision": "approve"}),
        )
        .await
        .expect_problem(404);
    admin
        .post(
            decide,
            json!({"ids": [subs[0], "bad\u{0}id"], "decision": "approve"}),
        )
        .await
        .expect_problem(404);
    let too_many: Vec<String> = (0..501).map(|i| format!("id{i}")).collect();
    admin
        .post(decide, json!({"ids": too_many, "decision": "approve"}))
        .await
        .expect_problem(422);
    assert_eq!(app.count("subscriptions WHERE status = 'pending'"), 4);

    // One already decided: the whole batch is refused.
    admin
        .post(&format!("/api/v1/approvals/{}/approve", subs[3]), json!({}))
        .await
        .expect(200);
    admin
        .post(decide, json!({"ids": subs, "decision": "approve"}))
        .await
        .expect_problem(409);
    assert_eq!(app.count("subscriptions WHERE status = 'pending'"), 3);

    let done = admin
        .post(
            decide,
            json!({"ids": [subs[0], subs[1], subs[2], subs[0]], "decision": "reject", "reason": "Closed beta"}),
        )
        .await;
    let done = done.expect(200).clone();
    assert_eq!(done["decided"], 3);
    for item in done["items"].as_array().unwrap() {
        assert_eq!(item["status"], "rejected");
        assert_eq!(item["reason"], "Closed beta");
        assert_eq!(item["app_status"], "rejected");
    }
    assert_eq!(app.count("subscriptions WHERE status = 'rejected'"), 3);
    assert_eq!(app.app_status(&apps[3]), "active");
}

// ------------------------------------------------------------------ subscriptions

#[tokio::test]
async fn developers_subscribe_their_apps_and_cancel() {
    let app = spawn_app().await;
    let (_, admin, bob, dev) = acme_with_bob(&app).await;
    let weather = ProductBuilder::new("WEATHER", "auto")
        .publish_api(&admin)
        .await;
    ProductBuilder::new("PAYMENTS", "manual")
        .publish_api(&admin)
        .await;
    let app_id = AppBuilder::new("Both").products(&[&weather]).id(&bob).await;
    let path = format!("/api/v1/apps/{app_id}/subscriptions");

    let asked = dev
        .post(&path, json!({"product": "payments", "note": "please"}))
        .await;
    let asked = asked.expect(201).clone();
    assert_eq!(asked["status"], "pending");
    assert_eq!(asked["note"], "please");
    assert_eq!(asked["product_slug"], "payments");
    assert_eq!(app.app_status(&app_id), "active");
    // The admins are told.
    let ada_inbox = admin.get("/api/v1/notifications?unread=true").await;
    assert_eq!(
        ada_inbox.expect(200)["items"][0]["kind"],
        "approval_requested"
    );
    // Asking twice is a conflict; unknown products and bad notes are 422.
    dev.post(&path, json!({"product": "payments"}))
        .await
        .expect_problem(409);
    dev.post(&path, json!({"product": "nope"}))
        .await
        .expect_problem(422);
    dev.post(&path, json!({"product": "bad\u{0}"}))
        .await
        .expect_problem(422);
    dev.post(
        &path,
        json!({"product": "payments", "note": "n".repeat(1001)}),
    )
    .await
    .expect_problem(422);
    dev.post(&path, json!({"note": "no product"}))
        .await
        .expect_problem(400);
    dev.post(
        "/api/v1/apps/nope/subscriptions",
        json!({"product": "payments"}),
    )
    .await
    .expect_problem(404);

    let list = dev.get(&path).await;
    assert_eq!(item_ids(list.expect(200), "id").len(), 2);

    let pending = asked["id"].as_str().unwrap();
    let cancelled = dev
        .post(
            &format!("/api/v1/subscriptions/{pending}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.expect(200)["status"], "cancelled");
    dev.post(
        &format!("/api/v1/subscriptions/{pending}/cancel"),
        json!({}),
    )
    .await
    .expect_problem(409);
    dev.post("/api/v1/subscriptions/nope/cancel", json!({}))
        .await
        .expect_problem(404);
    assert_eq!(
        app.count("audit_events WHERE action = 'subscription.cancelled'"),
        1
    );

    // With an Idempotency-Key a repeat creates nothing.
    let once = dev
        .post_once(&path, "sub-key", json!({"product": "payments"}))
        .await;
    let once = once.expect(201).clone();
    let again = dev
        .post_once(&path, "sub-key", json!({"product": "payments"}))
        .await;
    assert_eq!(again.expect(201)["id"], once["id"]);
    assert_eq!(app.count("subscriptions WHERE status = 'pending'"), 1);
}

// ------------------------------------------------------------------ suspend

#[tokio::test]
async fn admins_suspend_and_resume_apps() {
    let app = spawn_app().await;
    let (_, admin, bob, dev) = acme_with_bob(&app).await;
    let app_id = AppBuilder::new("Mine").id(&bob).await;
    let suspend = format!("/api/v1/apps/{app_id}/suspend");
    let resume = format!("/api/v1/apps/{app_id}/resume");

    admin
        .post(&suspend, json!({"reason": ""}))
        .await
        .expect_problem(422);
    admin.post(&suspend, json!({})).await.expect_problem(400);
    admin.post(&resume, json!({})).await.expect_problem(409);
    assert_eq!(app.app_status(&app_id), "active");

    let done = admin
        .post(&suspend, json!({"reason": "Abuse report 42"}))
        .await;
    assert_eq!(
        done.expect(200),
        &json!({"id": app_id, "status": "suspended", "status_reason": "Abuse report 42"})
    );
    admin
        .post(&suspend, json!({"reason": "again"}))
        .await
        .expect_problem(409);
    let inbox = dev.get("/api/v1/notifications").await;
    assert_eq!(inbox.expect(200)["items"][0]["kind"], "suspended");

    // Resume takes no body, or a reason.
    let back = admin
        .send_raw(
            admin
                .raw(reqwest::Method::POST, &resume)
                .bearer_auth(&admin.token),
        )
        .await;
    assert_eq!(
        back.expect(200),
        &json!({"id": app_id, "status": "active", "status_reason": ""})
    );
    admin
        .post(&suspend, json!({"reason": "Second time"}))
        .await
        .expect(200);
    admin
        .post(&resume, json!({"reason": "Sorted out"}))
        .await
        .expect(200);
    admin
        .post(&suspend, json!({"reason": "Third time"}))
        .await
        .expect(200);
    admin
        .send_raw(
            admin
                .raw(reqwest::Method::POST, &resume)
                .bearer_auth(&admin.token)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await
        .expect_problem(400);
    assert_eq!(app.app_status(&app_id), "suspended");
    assert_eq!(app.count("audit_events WHERE action = 'app.resumed'"), 2);
    admin
        .post("/api/v1/apps/nope/suspend", json!({"reason": "x"}))
        .await
        .expect_problem(404);
}

// ------------------------------------------------------------------ inbox

#[tokio::test]
async fn the_inbox_lists_and_marks_read() {
    let app = spawn_app().await;
    let (owner, admin, bob, dev) = acme_with_bob(&app).await;
    let id = ProductBuilder::new("PAYMENTS", "manual")
        .publish_api(&admin)
        .await;
    for i in 0..3 {
        AppBuilder::new(&format!("App {i}"))
            .products(&[&id])
            .id(&bob)
            .await;
    }
    // Three requests: three items for Ada, none for Bob.
    assert!(item_ids(dev.get("/api/v1/notifications").await.expect(200), "id").is_empty());
    let all = admin.get("/api/v1/notifications").await;
    let all = item_ids(all.expect(200), "id");
    assert_eq!(all.len(), 3);

    admin
        .post(&format!("/api/v1/notifications/{}/read", all[0]), json!({}))
        .await
        .expect(204);
    // Again: still fine.
    admin
        .post(&format!("/api/v1/notifications/{}/read", all[0]), json!({}))
        .await
        .expect(204);
    let unread = admin.get("/api/v1/notifications?unread=true").await;
    assert_eq!(item_ids(unread.expect(200), "id"), all[1..].to_vec());
    let read = admin.get("/api/v1/notifications").await;
    assert!(read.expect(200)["items"][0]["read_at"].is_string());
    assert_eq!(read.body["items"][0]["unread"], false);
    admin
        .get("/api/v1/notifications?unread=maybe")
        .await
        .expect_problem(400);

    // Someone else's item, or no item, is not found.
    dev.post(&format!("/api/v1/notifications/{}/read", all[1]), json!({}))
        .await
        .expect_problem(404);
    admin
        .post("/api/v1/notifications/nope/read", json!({}))
        .await
        .expect_problem(404);

    let marked = admin
        .post("/api/v1/notifications/read-all", json!({}))
        .await;
    assert_eq!(marked.expect(200), &json!({"marked": 2}));
    let marked = admin
        .post("/api/v1/notifications/read-all", json!({}))
        .await;
    assert_eq!(marked.expect(200), &json!({"marked": 0}));
    assert!(
        item_ids(
            admin
                .get("/api/v1/notifications?unread=true")
                .await
                .expect(200),
            "id"
        )
        .is_empty()
    );

    // A token of another organisation sees only that organisation's items.
    owner.new_org("Globex", "globex").await;
    let other = app.api(ADA, "globex", false, true);
    assert!(item_ids(other.get("/api/v1/notifications").await.expect(200), "id").is_empty());
    other
        .post(&format!("/api/v1/notifications/{}/read", all[1]), json!({}))
        .await
        .expect_problem(404);
}

// ------------------------------------------------------------------ document

#[tokio::test]
async fn the_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let res = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let doc: Value = res.json().await.unwrap();
    if std::env::var("DUMP_OPENAPI").is_ok() {
        std::fs::write(
            "/tmp/gatehouse-openapi.json",
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
    let paths = &doc["paths"];
    for (path, method, status) in [
        ("/api/v1/products", "get", "200"),
        ("/api/v1/products", "post", "201"),
        ("/api/v1/products/{id}", "get", "200"),
        ("/api/v1/products/{id}", "patch", "412"),
        ("/api/v1/products/{id}/archive", "post", "200"),
        ("/api/v1/products/{id}/restore", "post", "200"),
        ("/api/v1/apps/{app_id}/subscriptions", "get", "200"),
        ("/api/v1/apps/{app_id}/subscriptions", "post", "201"),
        ("/api/v1/subscriptions/{id}/cancel", "post", "200"),
        ("/api/v1/approvals", "get", "200"),
        ("/api/v1/approvals/{id}/approve", "post", "200"),
        ("/api/v1/approvals/{id}/reject", "post", "200"),
        ("/api/v1/approvals/decide", "post", "200"),
        ("/api/v1/apps/{app_id}/suspend", "post", "200"),
        ("/api/v1/apps/{app_id}/resume", "post", "200"),
        ("/api/v1/notifications", "get", "200"),
        ("/api/v1/notifications/{id}/read", "post", "204"),
        ("/api/v1/notifications/read-all", "post", "200"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(
            op["responses"][status].is_object(),
            "{method} {path} does not document {status}"
        );
        assert!(op["responses"]["404"].is_object(), "{method} {path}");
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ProductOut",
        "ProductDetailOut",
        "NewProductIn",
        "ProductUpdate",
        "SubscriptionOut",
        "ApprovalOut",
        "DecideIn",
        "NotificationOut",
    ] {
        assert!(schemas[name].is_object(), "{name} is not in the document");
    }
    // The resume body may be left out.
    assert_ne!(
        paths["/api/v1/apps/{app_id}/resume"]["post"]["requestBody"]["required"],
        true
    );
}
