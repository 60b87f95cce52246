//! Consumer apps through the management API: the whole lifecycle with only an admin
//! token (product, three kinds of app, approval, rotation, suspension, revocation,
//! deletion), Idempotency-Key replays that never show a secret twice, ETags with
//! If-Match, pagination, input that is refused without creating anything, and who may
//! see and change which app.

use chrono::Duration;
use serde_json::{Value, json};

use crate::api_kit::{ALREADY_RETURNED, Api, Reply, ids};
use crate::kit::{
    AppBuilder, Browser, ED25519_PEM, OWNER_EMAIL, TeamBuilder, TestApp, spawn_app, str_of,
};

const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";

/// Ada owns "acme" and holds a read-write admin token for it.
async fn acme() -> (TestApp, Browser, Api) {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    (app, owner, admin)
}

/// The credentials of an app as the API lists them.
async fn credentials(api: &Api, app_id: &str) -> Vec<Value> {
    let reply = api.get(&format!("/api/v1/apps/{app_id}/credentials")).await;
    reply.expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

fn credential<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no credential {id} in {list:?}"))
}

/// Asserts a refusal: a 4xx problem document (never a 5xx); returns the status.
#[track_caller]
fn refused(reply: &Reply, what: &str) -> u16 {
    assert!(
        (400..500).contains(&reply.status),
        "{what}: expected a 4xx, got {}: {}",
        reply.status,
        reply.body
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(reply.body["status"], reply.status, "{what}");
    assert!(reply.body["detail"].is_string(), "{what}: {}", reply.body);
    reply.status
}

#[tokio::test]
async fn an_admin_token_alone_runs_every_step_of_an_apps_life() {
    let (app, _owner, admin) = acme().await;

    // A product whose requests wait for an admin (the catalogue API).
    let product = admin
        .post(
            "/api/v1/products",
            json!({"name": "Payments", "slug": "payments", "approval_mode": "manual"}),
        )
        .await;
    assert_eq!(product.expect(201)["slug"], "payments");

    // An API-key app asking for it: pending, with its key in this response only.
    let reply = admin
        .post(
            "/api/v1/apps",
            json!({
                "name": "Billing",
                "description": "Invoices",
                "callback_urls": ["https://billing.example.com/cb"],
                "auth_type": "api_key",
                "products": ["payments"],
                "note": "for the invoices",
            }),
        )
        .await;
    let billing = reply.expect(201).clone();
    let billing_id = str_of(&billing, "id").to_string();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/apps/{billing_id}").as_str())
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("idempotent-replayed"), None);
    assert_eq!(billing["status"], "pending");
    assert_eq!(billing["auth_type"], "api_key");
    assert_eq!(billing["name"], "Billing");
    assert_eq!(
        billing["callback_urls"],
        json!(["https://billing.example.com/cb"])
    );
    assert_eq!(billing["owner"]["user_id"], app.user_id(OWNER_EMAIL));
    assert!(billing["owner"]["team_id"].is_null());
    let key = str_of(&billing["credentials"], "api_key").to_string();
    assert!(key.starts_with("gate_key_"), "{key}");
    assert!(billing["credentials"].get("client_secret").is_none());
    assert!(billing["credentials"].get("client_id").is_none());
    let first_credential = str_of(&billing["credentials"], "credential_id").to_string();
    // Kept only as a hash.
    assert_eq!(
        app.count(&format!("credentials WHERE secret_hash = '{key}'")),
        0
    );

    // OAuth2: a client id and a secret.
    let reply = admin
        .post(
            "/api/v1/apps",
            json!({"name": "Partner", "auth_type": "oauth2"}),
        )
        .await;
    let partner = reply.expect(201).clone();
    let partner_id = str_of(&partner, "id").to_string();
    assert_eq!(partner["status"], "active");
    let client_id = str_of(&partner["credentials"], "client_id").to_string();
    let client_secret = str_of(&partner["credentials"], "client_secret").to_string();
    assert!(client_id.starts_with("gate_cid_"), "{client_id}");
    assert!(client_secret.starts_with("gate_sec_"), "{client_secret}");
    assert_eq!(partner["client_id"], client_id.as_str());
    assert!(partner["credentials"].get("api_key").is_none());

    // JWT: a client id only (the app holds its private key).
    let reply = admin
        .post(
            "/api/v1/apps",
            json!({"name": "Signer", "auth_type": "jwt", "public_key": ED25519_PEM}),
        )
        .await;
    let signer = reply.expect(201).clone();
    let signer_id = str_of(&signer, "id").to_string();
    assert_eq!(signer["auth_type"], "jwt");
    assert!(str_of(&signer["credentials"], "client_id").starts_with("gate_cid_"));
    assert!(signer["credentials"].get("api_key").is_none());
    assert!(signer["credentials"].get("client_secret").is_none());
    let keys = credentials(&admin, &signer_id).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kind"], "public_key");
    assert_eq!(app.count("apps"), 3);

    // Secrets are never shown again.
    for path in [
        format!("/api/v1/apps/{billing_id}"),
        format!("/api/v1/apps/{billing_id}/credentials"),
        format!("/api/v1/apps/{partner_id}"),
        format!("/api/v1/apps/{partner_id}/credentials"),
        "/api/v1/apps".to_string(),
    ] {
        let shown = admin.get(&path).await;
        shown.expect(200);
        let text = shown.body.to_string();
        assert!(!text.contains(&key), "the key is shown again on {path}");
        assert!(!text.contains(&client_secret), "the secret on {path}");
    }
    let listed = credentials(&admin, &billing_id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], first_credential.as_str());
    assert_eq!(listed[0]["last4"], &key[key.len() - 4..]);
    assert_eq!(listed[0]["state"], "active");

    // The approval queue holds the request; approving makes the app active.
    let queue = admin.get("/api/v1/approvals").await;
    let items = queue.expect(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["app_id"], billing_id.as_str());
    assert_eq!(items[0]["product_slug"], "payments");
    assert_eq!(items[0]["note"], "for the invoices");
    let approved = admin
        .post(
            &format!("/api/v1/approvals/{}/approve", str_of(&items[0], "id")),
            json!({}),
        )
        .await;
    assert_eq!(approved.expect(200)["app_status"], "active");
    let now = admin.get(&format!("/api/v1/apps/{billing_id}")).await;
    assert_eq!(now.expect(200)["status"], "active");
    let queue = admin.get("/api/v1/approvals").await;
    assert!(ids(&queue).is_empty());

    // Rotation: a new key now, the old one keeps working for the overlap.
    let rotated = admin
        .post(
            &format!("/api/v1/apps/{billing_id}/rotate"),
            json!({"overlap_seconds": 3600}),
        )
        .await;
    let body = rotated.expect(201).clone();
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new_key = str_of(&body["secret"], "api_key").to_string();
    assert!(new_key.starts_with("gate_key_"));
    assert_ne!(new_key, key);
    let new_credential = str_of(&body["credential"], "id").to_string();
    assert_eq!(body["secret"]["credential_id"], new_credential.as_str());
    assert_eq!(body["credential"]["state"], "active");
    let listed = credentials(&admin, &billing_id).await;
    assert_eq!(listed.len(), 2);
    let old = credential(&listed, &first_credential);
    assert_eq!(old["state"], "expiring");
    let expires = chrono::DateTime::parse_from_rfc3339(str_of(old, "expires_at")).unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(str_of(old, "created_at")).unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);
    assert_eq!(credential(&listed, &new_credential)["state"], "active");
    // After the overlap the old key is expired.
    app.clock.advance(Duration::hours(2));
    let listed = credentials(&admin, &billing_id).await;
    assert_eq!(credential(&listed, &first_credential)["state"], "expired");
    assert_eq!(credential(&listed, &new_credential)["state"], "active");

    // OAuth2 rotation keeps the client id; JWT apps rotate by adding keys instead.
    let rotated = admin
        .post(
            &format!("/api/v1/apps/{partner_id}/rotate"),
            json!({"overlap_seconds": 0}),
        )
        .await;
    let secret = rotated.expect(201)["secret"].clone();
    assert_eq!(secret["client_id"], client_id.as_str());
    assert_ne!(str_of(&secret, "client_secret"), client_secret);
    let partner_creds = credentials(&admin, &partner_id).await;
    let states: Vec<&str> = partner_creds.iter().map(|c| str_of(c, "state")).collect();
    assert_eq!(states.iter().filter(|s| **s == "revoked").count(), 1);
    assert_eq!(states.iter().filter(|s| **s == "active").count(), 1);
    admin
        .post(
            &format!("/api/v1/apps/{signer_id}/rotate"),
            json!({"overlap_seconds": 60}),
        )
        .await
        .expect_problem(409);
    assert_eq!(credentials(&admin, &signer_id).await.len(), 1);

    // Suspend and resume.
    let suspended = admin
        .post(
            &format!("/api/v1/apps/{billing_id}/suspend"),
            json!({"reason": "unpaid invoices"}),
        )
        .await;
    assert_eq!(suspended.expect(200)["status"], "suspended");
    let shown = admin.get(&format!("/api/v1/apps/{billing_id}")).await;
    assert_eq!(shown.body["status"], "suspended");
    assert_eq!(shown.body["status_reason"], "unpaid invoices");
    let resumed = admin
        .post(&format!("/api/v1/apps/{billing_id}/resume"), json!({}))
        .await;
    assert_eq!(resumed.expect(200)["status"], "active");

    // Revoke: every credential stops, and nothing can be changed any more.
    let revoked = admin
        .post(
            &format!("/api/v1/apps/{billing_id}/revoke"),
            json!({"reason": "leaked"}),
        )
        .await;
    let body = revoked.expect(200);
    assert_eq!(body["status"], "revoked");
    assert_eq!(body["status_reason"], "leaked");
    for c in credentials(&admin, &billing_id).await {
        assert!(
            c["state"] == "revoked" || c["state"] == "expired",
            "still usable after revoke: {c}"
        );
    }
    let before = app.count("credentials");
    admin
        .post(
            &format!("/api/v1/apps/{billing_id}/rotate"),
            json!({"overlap_seconds": 3600}),
        )
        .await
        .expect_problem(409);
    admin
        .post(&format!("/api/v1/apps/{billing_id}/reset"), json!({}))
        .await
        .expect_problem(409);
    admin
        .patch(
            &format!("/api/v1/apps/{billing_id}"),
            json!({"name": "Renamed"}),
            None,
        )
        .await
        .expect_problem(409);
    admin
        .post(
            &format!("/api/v1/apps/{billing_id}/revoke"),
            json!({"reason": "again"}),
        )
        .await
        .expect_problem(409);
    assert_eq!(app.count("credentials"), before);
    assert_eq!(
        admin.get(&format!("/api/v1/apps/{billing_id}")).await.body["name"],
        "Billing"
    );

    // Delete: gone from every answer.
    let deleted = admin.delete(&format!("/api/v1/apps/{billing_id}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(deleted.body.is_null());
    admin
        .get(&format!("/api/v1/apps/{billing_id}"))
        .await
        .expect_problem(404);
    admin
        .get(&format!("/api/v1/apps/{billing_id}/credentials"))
        .await
        .expect_problem(404);
    admin
        .delete(&format!("/api/v1/apps/{billing_id}"))
        .await
        .expect_problem(404);
    let list = admin.get("/api/v1/apps").await;
    let mut remaining = ids(&list);
    remaining.sort();
    let mut expected = vec![partner_id, signer_id];
    expected.sort();
    assert_eq!(remaining, expected);
    // Its name is free again.
    admin
        .post(
            "/api/v1/apps",
            json!({"name": "Billing", "auth_type": "api_key"}),
        )
        .await
        .expect(201);
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_create_one_app() {
    let (app, _owner, admin) = acme().await;
    let body = json!({"name": "Raced", "auth_type": "api_key"});
    let send = || admin.post_once("/api/v1/apps", "race-1", body.clone());
    let (a, b, c, d) = tokio::join!(send(), send(), send(), send());
    let replies = [a, b, c, d];
    for reply in &replies {
        reply.expect(201);
    }
    let fresh: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(fresh.len(), 1, "exactly one request really ran");
    assert!(str_of(&fresh[0].body["credentials"], "api_key").starts_with("gate_key_"));
    for reply in &replies {
        assert_eq!(reply.body["id"], replies[0].body["id"]);
    }
    assert_eq!(app.count("apps"), 1);
    assert_eq!(app.count("credentials"), 1);
}

#[tokio::test]
async fn concurrent_rotations_with_one_idempotency_key_rotate_once() {
    let (app, _owner, admin) = acme().await;
    let id = AppBuilder::new("Rotated").create_api(&admin).await;
    let rotate = format!("/api/v1/apps/{id}/rotate");
    let send = || admin.post_once(&rotate, "race-2", json!({"overlap_seconds": 60}));
    let (a, b, c, d) = tokio::join!(send(), send(), send(), send());
    let replies = [a, b, c, d];
    for reply in &replies {
        reply.expect(201);
        assert_eq!(
            reply.body["credential"]["id"],
            replies[0].body["credential"]["id"]
        );
    }
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.header("idempotent-replayed").is_none())
            .count(),
        1
    );
    assert_eq!(app.count("credentials"), 2);
}

#[tokio::test]
async fn an_idempotency_key_creates_once_and_never_shows_the_secret_again() {
    let (app, _owner, admin) = acme().await;
    let body = json!({"name": "Once", "auth_type": "api_key"});

    let first = admin
        .post_once("/api/v1/apps", "create-once-1", body.clone())
        .await;
    let created = first.expect(201).clone();
    assert_eq!(first.header("idempotent-replayed"), None);
    let key = str_of(&created["credentials"], "api_key").to_string();
    assert!(key.starts_with("gate_key_"));

    // The retry: the same answer, nothing new, and the key is not in it.
    let again = admin
        .post_once("/api/v1/apps", "create-once-1", body.clone())
        .await;
    let replayed = again.expect(201).clone();
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("cache-control"), Some("no-store"));
    assert_eq!(replayed["id"], created["id"]);
    assert_eq!(replayed["name"], "Once");
    assert_eq!(
        replayed["credentials"]["credential_id"],
        created["credentials"]["credential_id"]
    );
    assert_eq!(replayed["credentials"]["api_key"], ALREADY_RETURNED);
    assert!(!again.body.to_string().contains(&key));
    assert_eq!(app.count("apps"), 1);
    assert_eq!(app.count("credentials"), 1);

    // The same key for another request is refused and changes nothing.
    let other = admin
        .post_once(
            "/api/v1/apps",
            "create-once-1",
            json!({"name": "Different", "auth_type": "api_key"}),
        )
        .await;
    other.expect_problem(422);
    assert_eq!(app.count("apps"), 1);

    // OAuth2: the client id is not a secret and stays; the client secret does not.
    let oauth = json!({"name": "Client", "auth_type": "oauth2"});
    let first = admin
        .post_once("/api/v1/apps", "create-once-2", oauth.clone())
        .await;
    let first = first.expect(201).clone();
    let again = admin
        .post_once("/api/v1/apps", "create-once-2", oauth)
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.body["credentials"]["client_id"],
        first["credentials"]["client_id"]
    );
    assert_eq!(again.body["credentials"]["client_secret"], ALREADY_RETURNED);
    assert_eq!(app.count("apps"), 2);

    // A request that failed is not remembered: the key can still be used.
    let bad = json!({"name": "", "auth_type": "api_key"});
    admin
        .post_once("/api/v1/apps", "create-once-3", bad.clone())
        .await
        .expect_problem(422);
    admin
        .post_once("/api/v1/apps", "create-once-3", bad)
        .await
        .expect_problem(422);
    let fixed = admin
        .post_once(
            "/api/v1/apps",
            "create-once-3",
            json!({"name": "Fixed", "auth_type": "api_key"}),
        )
        .await;
    fixed.expect(201);
    assert_eq!(fixed.header("idempotent-replayed"), None);
    assert_eq!(app.count("apps"), 3);

    // Keys belong to one token: another token's identical key is a new request.
    let other_token = app.api(OWNER_EMAIL, "acme", true, true);
    let elsewhere = other_token
        .post_once(
            "/api/v1/apps",
            "create-once-1",
            json!({"name": "Once elsewhere", "auth_type": "api_key"}),
        )
        .await;
    elsewhere.expect(201);
    assert_eq!(elsewhere.header("idempotent-replayed"), None);
    assert_eq!(app.count("apps"), 4);

    // Bad keys are 400s.
    for bad_key in ["", &"k".repeat(256), "has space"] {
        let reply = admin
            .send_raw(
                admin
                    .raw(reqwest::Method::POST, "/api/v1/apps")
                    .bearer_auth(&admin.token)
                    .header("idempotency-key", bad_key)
                    .json(&json!({"name": "Bad key", "auth_type": "api_key"})),
            )
            .await;
        reply.expect_problem(400);
    }
    assert_eq!(app.count("apps"), 4);

    // A rotation with a key happens once.
    let id = str_of(&created, "id").to_string();
    let rotate = format!("/api/v1/apps/{id}/rotate");
    let first = admin
        .post_once(&rotate, "rotate-1", json!({"overlap_seconds": 3600}))
        .await;
    let rotated = first.expect(201).clone();
    let new_key = str_of(&rotated["secret"], "api_key").to_string();
    assert!(new_key.starts_with("gate_key_"));
    let again = admin
        .post_once(&rotate, "rotate-1", json!({"overlap_seconds": 3600}))
        .await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["credential"]["id"], rotated["credential"]["id"]);
    assert_eq!(again.body["secret"]["api_key"], ALREADY_RETURNED);
    assert!(!again.body.to_string().contains(&new_key));
    assert_eq!(credentials(&admin, &id).await.len(), 2);
    admin
        .post_once(&rotate, "rotate-1", json!({"overlap_seconds": 60}))
        .await
        .expect_problem(422);
    assert_eq!(credentials(&admin, &id).await.len(), 2);

    // A key already used on one endpoint is refused on another.
    admin
        .post_once(&rotate, "create-once-2", json!({"overlap_seconds": 60}))
        .await
        .expect_problem(422);
    assert_eq!(credentials(&admin, &id).await.len(), 2);

    // After a day the key is forgotten and may be used again.
    app.clock.advance(Duration::hours(25));
    let later = admin
        .post_once(
            "/api/v1/apps",
            "create-once-1",
            json!({"name": "A day later", "auth_type": "api_key"}),
        )
        .await;
    later.expect(201);
    assert_eq!(later.header("idempotent-replayed"), None);
    assert!(str_of(&later.body["credentials"], "api_key").starts_with("gate_key_"));
    assert_eq!(app.count("apps"), 5);
}

#[tokio::test]
async fn if_match_refuses_a_change_based_on_a_stale_read() {
    let (_app, _owner, admin) = acme().await;
    let id = AppBuilder::new("Original").create_api(&admin).await;
    let path = format!("/api/v1/apps/{id}");

    let read = admin.get(&path).await;
    read.expect(200);
    let first_tag = read.header("etag").expect("an ETag").to_string();
    assert!(
        first_tag.starts_with('"') && first_tag.ends_with('"'),
        "{first_tag}"
    );
    // Reading again gives the same tag.
    assert_eq!(
        admin.get(&path).await.header("etag"),
        Some(first_tag.as_str())
    );

    let changed = admin
        .patch(&path, json!({"name": "Second"}), Some(&first_tag))
        .await;
    assert_eq!(changed.expect(200)["name"], "Second");
    let second_tag = changed.header("etag").expect("an ETag").to_string();
    assert_ne!(second_tag, first_tag);
    assert_eq!(
        admin.get(&path).await.header("etag"),
        Some(second_tag.as_str()),
        "the PATCH answer's ETag is the one a read gives"
    );

    // The stale tag: 412, nothing changed.
    let stale = admin
        .patch(&path, json!({"name": "Third"}), Some(&first_tag))
        .await;
    stale.expect_problem(412);
    let now = admin.get(&path).await;
    assert_eq!(now.body["name"], "Second");
    assert_eq!(now.header("etag"), Some(second_tag.as_str()));

    // Any of a list matches; `*` matches anything; no If-Match at all works too.
    let listed = admin
        .patch(
            &path,
            json!({"description": "Listed"}),
            Some(&format!("\"nope\", {second_tag}")),
        )
        .await;
    assert_eq!(listed.expect(200)["description"], "Listed");
    admin
        .patch(&path, json!({"name": "Star"}), Some("*"))
        .await
        .expect(200);
    let free = admin.patch(&path, json!({"name": "Free"}), None).await;
    assert_eq!(free.expect(200)["name"], "Free");
    // Fields left out keep their values.
    assert_eq!(free.body["description"], "Listed");
    assert_eq!(free.body["auth_type"], "api_key");
    // A malformed If-Match is a 400.
    admin
        .patch(&path, json!({"name": "Bad"}), Some(","))
        .await
        .expect_problem(400);
    assert_eq!(admin.get(&path).await.body["name"], "Free");
}

#[tokio::test]
async fn the_app_list_pages_through_every_app_exactly_once() {
    let (_app, _owner, admin) = acme().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            AppBuilder::new(&format!("App {i}"))
                .create_api(&admin)
                .await,
        );
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/apps?limit=2&cursor={c}"),
            None => "/api/v1/apps?limit=2".to_string(),
        };
        let reply = admin.get(&path).await;
        reply.expect(200);
        pages += 1;
        let page = ids(&reply);
        seen.extend(page.clone());
        match reply.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page.len(), 2, "only the last page may be short");
                cursor = Some(c.to_string());
            }
            None => {
                assert!(reply.body["next_cursor"].is_null());
                break;
            }
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every app once, oldest first");

    // Filters.
    let found = admin.get("/api/v1/apps?q=app%203").await;
    assert_eq!(ids(&found), vec![created[3].clone()]);
    let mine = admin.get("/api/v1/apps?owner=me&status=active").await;
    assert_eq!(ids(&mine).len(), 5);
    let none = admin.get("/api/v1/apps?status=revoked").await;
    assert!(ids(&none).is_empty());

    // Bad paging is a 400 problem.
    for bad in [
        "/api/v1/apps?limit=0",
        "/api/v1/apps?limit=999",
        "/api/v1/apps?limit=-1",
        "/api/v1/apps?limit=abc",
        "/api/v1/apps?limit=99999999999999999999",
        "/api/v1/apps?cursor=garbage",
        "/api/v1/apps?cursor=%00",
        "/api/v1/apps?cursor=bm9wZQ",
    ] {
        let reply = admin.get(bad).await;
        assert_eq!(refused(&reply, bad), 400, "{bad}");
    }
    let bad_status = admin.get("/api/v1/apps?status=sleeping").await;
    refused(&bad_status, "unknown status");
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_and_creates_nothing() {
    let (app, _owner, admin) = acme().await;
    admin
        .post(
            "/api/v1/products",
            json!({"name": "Payments", "slug": "payments", "approval_mode": "auto"}),
        )
        .await
        .expect(201);
    let long = "x".repeat(10_000);
    let cases: Vec<(&str, Value, Option<u16>)> = vec![
        (
            "unknown auth type",
            json!({"name": "Ok", "auth_type": "basic"}),
            Some(422),
        ),
        (
            "empty name",
            json!({"name": "", "auth_type": "api_key"}),
            Some(422),
        ),
        (
            "blank name",
            json!({"name": "   ", "auth_type": "api_key"}),
            Some(422),
        ),
        (
            "jwt without a public key",
            json!({"name": "Ok", "auth_type": "jwt"}),
            Some(422),
        ),
        (
            "jwt with a broken key",
            json!({"name": "Ok", "auth_type": "jwt",
                "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}),
            Some(422),
        ),
        (
            "a public key on an api_key app",
            json!({"name": "Ok", "auth_type": "api_key", "public_key": ED25519_PEM}),
            Some(422),
        ),
        (
            "unknown product",
            json!({"name": "Ok", "auth_type": "api_key", "products": ["payments", "nope"]}),
            Some(422),
        ),
        (
            "NUL in a product slug",
            json!({"name": "Ok", "auth_type": "api_key", "products": ["pay\u{0}ments"]}),
            Some(422),
        ),
        (
            "NUL in the name",
            json!({"name": "A\u{0}B", "auth_type": "api_key"}),
            Some(422),
        ),
        (
            "overlong name",
            json!({"name": long, "auth_type": "api_key"}),
            Some(422),
        ),
        (
            "overlong description",
            json!({"name": "Ok", "auth_type": "api_key", "description": "d".repeat(2001)}),
            Some(422),
        ),
        (
            "NUL in the description",
            json!({"name": "Ok", "auth_type": "api_key", "description": "a\u{0}b"}),
            Some(422),
        ),
        (
            "overlong note",
            json!({"name": "Ok", "auth_type": "api_key", "products": ["payments"],
                "note": "n".repeat(1001)}),
            Some(422),
        ),
        (
            "plain http callback",
            json!({"name": "Ok", "auth_type": "api_key",
                "callback_urls": ["http://evil.example.com/cb"]}),
            Some(422),
        ),
        (
            "line break in a callback",
            json!({"name": "Ok", "auth_type": "api_key",
                "callback_urls": ["https://a.example.com/cb\nhttps://b.example.com/cb"]}),
            Some(422),
        ),
        (
            "unknown team",
            json!({"name": "Ok", "auth_type": "api_key", "team_id": "no-such-team"}),
            Some(422),
        ),
        (
            "NUL in the team id",
            json!({"name": "Ok", "auth_type": "api_key", "team_id": "a\u{0}"}),
            Some(422),
        ),
        (
            "overlong label",
            json!({"name": "Ok", "auth_type": "api_key", "label": "l".repeat(61)}),
            None,
        ),
        (
            "NUL in the label",
            json!({"name": "Ok", "auth_type": "api_key", "label": "a\u{0}b"}),
            None,
        ),
        (
            "name of the wrong type",
            json!({"name": 5, "auth_type": "api_key"}),
            Some(400),
        ),
        ("no auth type", json!({"name": "Ok"}), Some(400)),
        ("not an object", json!(["Ok"]), Some(400)),
        (
            "products not a list",
            json!({"name": "Ok", "auth_type": "api_key", "products": "payments"}),
            Some(400),
        ),
    ];
    for (what, body, status) in cases {
        let reply = admin.post("/api/v1/apps", body).await;
        let got = refused(&reply, what);
        if let Some(status) = status {
            assert_eq!(got, status, "{what}: {}", reply.body);
        }
        if got == 422 {
            assert!(reply.body["errors"].is_array(), "{what}: {}", reply.body);
        }
        assert_eq!(app.count("apps"), 0, "{what} created an app");
        assert_eq!(app.count("credentials"), 0, "{what} created a credential");
        assert_eq!(app.count("subscriptions"), 0, "{what} subscribed");
    }

    // A body that is not JSON at all.
    let reply = admin
        .send_raw(
            admin
                .raw(reqwest::Method::POST, "/api/v1/apps")
                .bearer_auth(&admin.token)
                .header("content-type", "application/json")
                .body("{\"name\": \"Ok\", "),
        )
        .await;
    refused(&reply, "truncated JSON");
    assert_eq!(app.count("apps"), 0);

    // Overlaps out of range never reach the database.
    let id = AppBuilder::new("Rotating").create_api(&admin).await;
    let rotate = format!("/api/v1/apps/{id}/rotate");
    let overlaps: Vec<(&str, &str, u16)> = vec![
        ("u64::MAX", "18446744073709551615", 422),
        ("far too long", "99999999999", 422),
        ("one second over the maximum", "2592001", 422),
        ("negative", "-1", 400),
        ("over u64", "18446744073709551616", 400),
        ("fractional", "1.5", 400),
        ("a string", "\"3600\"", 400),
    ];
    for (what, value, status) in overlaps {
        let reply = admin
            .send_raw(
                admin
                    .raw(reqwest::Method::POST, &rotate)
                    .bearer_auth(&admin.token)
                    .header("content-type", "application/json")
                    .body(format!("{{\"overlap_seconds\": {value}}}")),
            )
            .await;
        assert_eq!(refused(&reply, what), status, "{what}: {}", reply.body);
        assert_eq!(app.count("credentials"), 1, "{what} rotated");
    }
    let reply = admin
        .post(&rotate, json!({"overlap_seconds": 60, "label": "a\u{0}b"}))
        .await;
    refused(&reply, "NUL in a rotation label");
    assert_eq!(app.count("credentials"), 1);
    // The largest allowed overlap works.
    admin
        .post(&rotate, json!({"overlap_seconds": 2_592_000}))
        .await
        .expect(201);
    assert_eq!(app.count("credentials"), 2);

    // Bad updates change nothing.
    let path = format!("/api/v1/apps/{id}");
    for (what, body) in [
        ("NUL in the name", json!({"name": "A\u{0}B"})),
        ("overlong name", json!({"name": long})),
        ("empty name", json!({"name": ""})),
        (
            "plain http callback",
            json!({"callback_urls": ["http://evil.example.com/cb"]}),
        ),
    ] {
        let reply = admin.patch(&path, body, None).await;
        assert_eq!(refused(&reply, what), 422, "{what}");
    }
    assert_eq!(admin.get(&path).await.body["name"], "Rotating");

    // Ids that cannot exist are 404s.
    for bad in ["nope", "%00", &"9".repeat(300)] {
        admin
            .get(&format!("/api/v1/apps/{bad}"))
            .await
            .expect_problem(404);
        admin
            .post(
                &format!("/api/v1/apps/{bad}/rotate"),
                json!({"overlap_seconds": 0}),
            )
            .await
            .expect_problem(404);
    }
    assert_eq!(app.count("apps"), 1);
}

#[tokio::test]
async fn tokens_see_and_change_only_the_apps_their_person_may() {
    let (app, owner, admin) = acme().await;
    app.join(&owner, "acme", BOB, "developer").await;
    app.join(&owner, "acme", CAROL, "developer").await;
    let bob = app.api(BOB, "acme", false, true);
    let carol = app.api(CAROL, "acme", false, true);

    // Bob's own app: invisible to Carol.
    let bobs = AppBuilder::new("Bob's app").create_api(&bob).await;
    let bobs_path = format!("/api/v1/apps/{bobs}");
    carol.get(&bobs_path).await.expect_problem(404);
    carol
        .get(&format!("{bobs_path}/credentials"))
        .await
        .expect_problem(404);
    carol
        .patch(&bobs_path, json!({"name": "Mine now"}), None)
        .await
        .expect_problem(404);
    carol
        .post(
            &format!("{bobs_path}/rotate"),
            json!({"overlap_seconds": 0}),
        )
        .await
        .expect_problem(404);
    carol
        .post(&format!("{bobs_path}/revoke"), json!({"reason": "x"}))
        .await
        .expect_problem(404);
    carol.delete(&bobs_path).await.expect_problem(404);
    assert!(ids(&carol.get("/api/v1/apps").await).is_empty());
    assert_eq!(bob.get(&bobs_path).await.expect(200)["name"], "Bob's app");

    // A team app: Carol is a plain member, Ada (who made the team) its admin.
    let core = TeamBuilder::new("Core")
        .member(CAROL, "member")
        .create(&owner)
        .await;
    let ada = app.api(OWNER_EMAIL, "acme", false, true);
    let made = ada
        .post(
            "/api/v1/apps",
            json!({"name": "Core app", "auth_type": "api_key", "team_id": core}),
        )
        .await;
    let team_app = str_of(made.expect(201), "id").to_string();
    assert_eq!(made.body["owner"]["team_id"], core.as_str());
    assert!(made.body["owner"]["user_id"].is_null());
    let team_path = format!("/api/v1/apps/{team_app}");
    carol.get(&team_path).await.expect(200);
    carol
        .get(&format!("{team_path}/credentials"))
        .await
        .expect(200);
    assert_eq!(
        ids(&carol.get("/api/v1/apps").await),
        vec![team_app.clone()]
    );
    carol
        .patch(&team_path, json!({"name": "Carol's"}), None)
        .await
        .expect_problem(403);
    carol
        .post(
            &format!("{team_path}/rotate"),
            json!({"overlap_seconds": 0}),
        )
        .await
        .expect_problem(403);
    carol
        .post(&format!("{team_path}/revoke"), json!({"reason": "x"}))
        .await
        .expect_problem(403);
    carol.delete(&team_path).await.expect_problem(403);
    assert_eq!(ada.get(&team_path).await.body["name"], "Core app");
    assert_eq!(ada.get(&team_path).await.body["status"], "active");
    assert_eq!(app.count("credentials"), 2);
    // Bob is not in the team: he does not see it.
    bob.get(&team_path).await.expect_problem(404);

    // Developers create apps only for themselves or a team they admin.
    let apps_before = app.count("apps");
    carol
        .post(
            "/api/v1/apps",
            json!({"name": "Sneaky", "auth_type": "api_key", "team_id": core}),
        )
        .await
        .expect_problem(403);
    bob.post(
        "/api/v1/apps",
        json!({"name": "Sneaky", "auth_type": "api_key", "team_id": core}),
    )
    .await
    .expect_problem(403);
    assert_eq!(app.count("apps"), apps_before);
    // Nor give an app away to such a team.
    bob.post(&format!("{bobs_path}/transfer"), json!({"team_id": core}))
        .await
        .expect_problem(403);
    assert!(bob.get(&bobs_path).await.body["owner"]["team_id"].is_null());

    // An organisation admin token sees and changes every app.
    let renamed = admin
        .patch(&bobs_path, json!({"name": "Renamed by admin"}), None)
        .await;
    assert_eq!(renamed.expect(200)["name"], "Renamed by admin");
    let mut all = ids(&admin.get("/api/v1/apps").await);
    all.sort();
    let mut expected = vec![bobs.clone(), team_app.clone()];
    expected.sort();
    assert_eq!(all, expected);

    // Another organisation's token: acme's apps do not exist.
    owner.new_org("Beta", "beta").await;
    let beta = app.api(OWNER_EMAIL, "beta", true, true);
    for path in [&bobs_path, &team_path] {
        beta.get(path).await.expect_problem(404);
        beta.get(&format!("{path}/credentials"))
            .await
            .expect_problem(404);
        beta.patch(path, json!({"name": "Stolen"}), None)
            .await
            .expect_problem(404);
        beta.post(&format!("{path}/rotate"), json!({"overlap_seconds": 0}))
            .await
            .expect_problem(404);
        beta.post(&format!("{path}/suspend"), json!({"reason": "x"}))
            .await
            .expect_problem(404);
        beta.delete(path).await.expect_problem(404);
    }
    assert!(ids(&beta.get("/api/v1/apps").await).is_empty());

    // A read-only token reads but changes nothing.
    let read_only = app.api(OWNER_EMAIL, "acme", false, false);
    let refused_create = read_only
        .post(
            "/api/v1/apps",
            json!({"name": "Read only", "auth_type": "api_key"}),
        )
        .await;
    assert!(refused_create.expect_problem(403).contains("read-only"));
    read_only
        .patch(&bobs_path, json!({"name": "x"}), None)
        .await
        .expect_problem(403);
    read_only.delete(&bobs_path).await.expect_problem(403);
    read_only
        .post(
            &format!("{bobs_path}/rotate"),
            json!({"overlap_seconds": 0}),
        )
        .await
        .expect_problem(403);
    assert_eq!(ids(&read_only.get("/api/v1/apps").await).len(), 2);
    read_only.get(&bobs_path).await.expect(200);
    assert_eq!(app.count("apps"), apps_before);
    assert_eq!(app.count("credentials"), 2);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let (app, _owner, admin) = acme().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let reply = admin
            .send_raw(
                admin
                    .raw(reqwest::Method::POST, "/api/v1/apps")
                    .bearer_auth(&admin.token)
                    .header("content-type", content_type)
                    .body("{\"name\": \"Typed\", \"auth_type\": \"api_key\"}"),
            )
            .await;
        reply.expect_problem(415);
    }
    assert_eq!(app.count("apps"), 0);
}

#[tokio::test]
async fn the_creation_answer_is_the_app_as_later_reads_show_it() {
    let (_app, _owner, admin) = acme().await;
    for (name, auth_type) in [("Keyed", "api_key"), ("Client", "oauth2")] {
        let created = admin
            .post(
                "/api/v1/apps",
                json!({"name": name, "auth_type": auth_type}),
            )
            .await;
        let mut created = created.expect(201).clone();
        let id = str_of(&created, "id").to_string();
        created.as_object_mut().unwrap().remove("credentials");
        let read = admin.get(&format!("/api/v1/apps/{id}")).await;
        assert_eq!(&created, read.expect(200), "{auth_type}");
    }
}

/// A P-256 key made with OpenSSL, its point (x, y) on the curve.
const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqwFUe3mzuKTmR5WGNXO+xIHqp0Fz\nN7SmKXIQbIsQtvUxfJVC3ECgHn+64yY9k6xQLjkIEqMbuL5C3tfYDjkmGw==\n-----END PUBLIC KEY-----";
/// The same key with the last bit of y flipped: not a point on the curve.
const P256_OFF_CURVE_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqwFUe3mzuKTmR5WGNXO+xIHqp0Fz\nN7SmKXIQbIsQtvUxfJVC3ECgHn+64yY9k6xQLjkIEqMbuL5C3tfYDjkmGg==\n-----END PUBLIC KEY-----";

#[tokio::test]
async fn jwt_keys_must_be_curve_points_for_an_algorithm_the_token_endpoint_verifies() {
    let (app, _owner, admin) = acme().await;
    let ed25519_jwk = |extra: &str| {
        format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"{extra}}}"#
        )
    };
    let refusals = [
        (
            "a P-256 point off the curve",
            P256_OFF_CURVE_PEM.to_string(),
            "not a valid",
        ),
        ("alg none", ed25519_jwk(r#","alg":"none""#), "\"alg\""),
        ("alg HS256", ed25519_jwk(r#","alg":"HS256""#), "\"alg\""),
        (
            "alg of another key type",
            ed25519_jwk(r#","alg":"ES256""#),
            "\"alg\"",
        ),
        (
            "an encryption key",
            ed25519_jwk(r#","use":"enc""#),
            "\"use\"",
        ),
    ];
    for (what, key, message) in &refusals {
        let reply = admin
            .post(
                "/api/v1/apps",
                json!({"name": "Signer", "auth_type": "jwt", "public_key": key}),
            )
            .await;
        let detail = reply.expect_problem(422);
        assert!(detail.contains(message), "{what}: {detail}");
    }
    assert_eq!(app.count("apps"), 0);
    assert_eq!(app.count("credentials"), 0);

    // The same keys, valid, are taken; the refused ones cannot be added later either.
    let created = admin
        .post(
            "/api/v1/apps",
            json!({"name": "Signer", "auth_type": "jwt", "public_key": P256_PEM}),
        )
        .await;
    let id = str_of(created.expect(201), "id").to_string();
    let with_alg = admin
        .post(
            &format!("/api/v1/apps/{id}/keys"),
            json!({"public_key": ed25519_jwk(r#","alg":"EdDSA","use":"sig""#), "label": "next"}),
        )
        .await;
    with_alg.expect(201);
    for (what, key, _) in &refusals {
        let reply = admin
            .post(
                &format!("/api/v1/apps/{id}/keys"),
                json!({"public_key": key, "label": "bad"}),
            )
            .await;
        reply.expect_problem(422);
        assert_eq!(app.count("credentials"), 2, "{what}");
    }
}
