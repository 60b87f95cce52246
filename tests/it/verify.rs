//! The gateway's hot path over HTTP: `POST /api/v1/keys/verify` and
//! `GET /api/v1/auth-request` with gateway tokens — every reason code, the status
//! auth-request maps it to, organisation scoping, zero database statements per
//! verify (read from `/metrics`), and revocation that no verify outlives.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::api_kit::{Api, Reply, reply};
use crate::kit::{OWNER_EMAIL, TestApp, spawn_app, spawn_app_with, str_of};
use crate::metrics::{TOKEN as METRICS_TOKEN, requests, scrape as metrics, statements};

/// The first string field `name` anywhere in `v`.
pub fn find<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    match v {
        Value::Object(map) => map
            .get(name)
            .and_then(Value::as_str)
            .or_else(|| map.values().find_map(|x| find(x, name))),
        Value::Array(items) => items.iter().find_map(|x| find(x, name)),
        _ => None,
    }
}

/// A gateway token of the API token's organisation, made through the management API.
pub async fn gateway_token(api: &Api, default_product: Option<&str>) -> String {
    let mut body = json!({"name": format!("gateway {}", uuid::Uuid::new_v4().simple())});
    if let Some(p) = default_product {
        body["default_product"] = json!(p);
    }
    let reply = api.post("/api/v1/gateway-tokens", body).await;
    str_of(reply.expect(201), "token").to_string()
}

/// The gateway's view: verify and auth-request with one token.
pub struct Gateway {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Gateway {
    pub fn new(app: &TestApp, token: &str) -> Self {
        Gateway {
            base: app.base.clone(),
            token: token.to_string(),
            client: reqwest::Client::new(),
        }
    }

    pub async fn verify(&self, body: Value) -> Reply {
        let res = self
            .client
            .post(format!("{}/api/v1/keys/verify", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("verify");
        reply(res).await
    }

    /// The reason code verify gives `key` for `product`.
    pub async fn code(&self, key: &str, product: Option<&str>) -> String {
        let mut body = json!({"key": key});
        if let Some(p) = product {
            body["product"] = json!(p);
        }
        let r = self.verify(body).await;
        let v = r.expect(200);
        assert_eq!(v["valid"], v["code"] == "VALID", "{v}");
        v["code"].as_str().expect("code").to_string()
    }

    /// auth-request's status and `X-Gatehouse-Reason` for `key` and `product`.
    pub async fn auth(&self, key: &str, product: Option<&str>) -> (u16, Option<String>) {
        let mut b = self
            .client
            .get(format!("{}/api/v1/auth-request", self.base))
            .header("x-gatehouse-token", &self.token)
            .bearer_auth(key);
        if let Some(p) = product {
            b = b.header("x-gatehouse-product", p);
        }
        let r = reply(b.send().await.expect("auth-request")).await;
        (r.status, r.header("x-gatehouse-reason").map(str::to_string))
    }
}

/// An app of `api`'s organisation subscribed to `products`; returns (id, API key).
pub async fn key_app(api: &Api, name: &str, products: &[&str]) -> (String, String) {
    let reply = api
        .post(
            "/api/v1/apps",
            json!({"name": name, "auth_type": "api_key", "products": products}),
        )
        .await;
    let body = reply.expect(201);
    (
        str_of(body, "id").to_string(),
        find(body, "api_key").expect("api_key").to_string(),
    )
}

pub async fn product(api: &Api, slug: &str, mode: &str, extra: Value) -> String {
    let mut body = json!({"name": slug, "slug": slug, "approval_mode": mode});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    str_of(api.post("/api/v1/products", body).await.expect(201), "id").to_string()
}

struct World {
    app: TestApp,
    admin: Api,
    gw: Gateway,
}

async fn world() -> World {
    let app = spawn_app_with(|s| s.metrics_token = Some(METRICS_TOKEN.into())).await;
    let _owner = app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    let token = gateway_token(&admin, None).await;
    let gw = Gateway::new(&app, &token);
    World { app, admin, gw }
}

#[tokio::test]
async fn every_reason_code_over_http() {
    let World { app, admin, gw } = world().await;
    let open = product(&admin, "open", "auto", json!({})).await;
    let manual = product(&admin, "manual", "manual", json!({})).await;
    let _other = product(&admin, "other", "auto", json!({})).await;

    let (_, key) = key_app(&admin, "Valid", &[&open]).await;
    assert_eq!(gw.code(&key, Some("open")).await, "VALID");
    assert_eq!(gw.code(&key, None).await, "VALID");
    assert_eq!(gw.auth(&key, Some("open")).await, (204, None));
    let v = gw.verify(json!({"key": key, "product": "open"})).await;
    assert_eq!(v.header("cache-control"), Some("no-store"));
    let body = v.expect(200);
    assert_eq!(body["products"], json!(["open"]));
    assert!(body["app"]["owner"]["user_id"].is_string(), "{body}");
    assert!(body["credential_id"].is_string());

    // NOT_SUBSCRIBED: a product of the org the app has no subscription to, or none at all.
    assert_eq!(gw.code(&key, Some("other")).await, "NOT_SUBSCRIBED");
    assert_eq!(
        gw.code(&key, Some("no-such-product")).await,
        "NOT_SUBSCRIBED"
    );
    assert_eq!(
        gw.auth(&key, Some("other")).await,
        (403, Some("NOT_SUBSCRIBED".into()))
    );

    // MALFORMED: one character changed breaks the checksum.
    let mut bad = key.clone().into_bytes();
    let last = bad.len() - 8;
    bad[last] = if bad[last] == b'a' { b'b' } else { b'a' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(gw.code(&bad, Some("open")).await, "MALFORMED");
    assert_eq!(gw.code("not a key", None).await, "MALFORMED");
    assert_eq!(gw.auth(&bad, None).await, (401, Some("MALFORMED".into())));

    // NOT_FOUND: a well-formed key nobody holds, and secrets that are not API keys.
    let unknown =
        gatehouse::credentials::PlainSecret::generate("gate", gatehouse::credentials::Kind::ApiKey);
    assert_eq!(gw.code(unknown.expose(), None).await, "NOT_FOUND");
    assert_eq!(
        gw.auth(unknown.expose(), None).await,
        (401, Some("NOT_FOUND".into()))
    );
    let oauth = admin
        .post(
            "/api/v1/apps",
            json!({"name": "OAuth", "auth_type": "oauth2", "products": [open]}),
        )
        .await;
    let secret = find(oauth.expect(201), "client_secret")
        .unwrap()
        .to_string();
    assert_eq!(gw.code(&secret, Some("open")).await, "NOT_FOUND");
    assert_eq!(gw.code(&admin.token, None).await, "NOT_FOUND");

    // PENDING, then REJECTED.
    let (pending_app, pending_key) = key_app(&admin, "Waiting", &[&manual]).await;
    assert_eq!(gw.code(&pending_key, Some("manual")).await, "PENDING");
    assert_eq!(
        gw.auth(&pending_key, Some("manual")).await,
        (403, Some("PENDING".into()))
    );
    let sub = app.sub_of(&pending_app);
    admin
        .post(
            &format!("/api/v1/approvals/{sub}/reject"),
            json!({"reason": "no"}),
        )
        .await
        .expect(200);
    assert_eq!(gw.code(&pending_key, Some("manual")).await, "REJECTED");
    assert_eq!(
        gw.auth(&pending_key, Some("manual")).await,
        (403, Some("REJECTED".into()))
    );

    // SUSPENDED, then back.
    let (susp_app, susp_key) = key_app(&admin, "Paused", &[&open]).await;
    admin
        .post(
            &format!("/api/v1/apps/{susp_app}/suspend"),
            json!({"reason": "abuse"}),
        )
        .await
        .expect(200);
    assert_eq!(gw.code(&susp_key, Some("open")).await, "SUSPENDED");
    assert_eq!(
        gw.auth(&susp_key, Some("open")).await,
        (403, Some("SUSPENDED".into()))
    );
    admin
        .post(&format!("/api/v1/apps/{susp_app}/resume"), json!({}))
        .await
        .expect(200);
    assert_eq!(gw.code(&susp_key, Some("open")).await, "VALID");

    // EXPIRED: the old key of a rotation outlives its overlap by a second.
    let (rot_app, old_key) = key_app(&admin, "Rotating", &[&open]).await;
    let rotated = admin
        .post(
            &format!("/api/v1/apps/{rot_app}/rotate"),
            json!({"overlap_seconds": 60}),
        )
        .await;
    let new_key = find(rotated.expect(201), "api_key").unwrap().to_string();
    let expiring = gw.verify(json!({"key": old_key, "product": "open"})).await;
    assert_eq!(expiring.expect(200)["code"], "VALID");
    assert!(expiring.body["expires_at"].is_string(), "{}", expiring.body);
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(gw.code(&old_key, Some("open")).await, "EXPIRED");
    assert_eq!(
        gw.auth(&old_key, Some("open")).await,
        (401, Some("EXPIRED".into()))
    );
    assert_eq!(gw.code(&new_key, Some("open")).await, "VALID");

    // REVOKED: reset kills the key at once; a revoked app's keys too.
    admin
        .post(&format!("/api/v1/apps/{rot_app}/reset"), json!({}))
        .await
        .expect(201);
    assert_eq!(gw.code(&new_key, Some("open")).await, "REVOKED");
    assert_eq!(
        gw.auth(&new_key, Some("open")).await,
        (401, Some("REVOKED".into()))
    );
    admin
        .post(
            &format!("/api/v1/apps/{susp_app}/revoke"),
            json!({"reason": "gone"}),
        )
        .await
        .expect(200);
    assert_eq!(gw.code(&susp_key, None).await, "REVOKED");
}

#[tokio::test]
async fn rate_limits_and_quotas() {
    let World { app, admin, gw } = world().await;
    let limited = product(
        &admin,
        "limited",
        "auto",
        json!({"rate_limit_per_second": 2}),
    )
    .await;
    let quota = product(
        &admin,
        "quota",
        "auto",
        json!({"quota_limit": 3, "quota_period": "day"}),
    )
    .await;
    let (_, key) = key_app(&admin, "Busy", &[&limited, &quota]).await;

    // The bucket holds two: a third at once is refused (the clock does not move).
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(gw.code(&key, Some("limited")).await);
    }
    assert_eq!(codes, ["VALID", "VALID", "RATE_LIMITED"]);
    let r = gw.verify(json!({"key": key, "product": "limited"})).await;
    assert_eq!(r.expect(200)["ratelimit"]["limit"], 2);
    assert_eq!(r.body["retry_after"], 1);

    // Three a day; the refused fourth consumes nothing.
    let first = gw.verify(json!({"key": key, "product": "quota"})).await;
    assert_eq!(first.expect(200)["quota"]["remaining"], 2);
    assert_eq!(gw.code(&key, Some("quota")).await, "VALID");
    assert_eq!(gw.code(&key, Some("quota")).await, "VALID");
    assert_eq!(gw.code(&key, Some("quota")).await, "QUOTA_EXCEEDED");
    let (status, reason) = gw.auth(&key, Some("quota")).await;
    assert_eq!((status, reason.as_deref()), (429, Some("QUOTA_EXCEEDED")));
    // Without a product no limit applies.
    assert_eq!(gw.code(&key, None).await, "VALID");

    // The count reaches the database within a flush (about a second) and survives a
    // restart: an instance started now on the same database knows the quota is spent.
    let mut stored = 0;
    for _ in 0..100 {
        stored = app.count("quota_counts WHERE count = 3");
        if stored == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stored, 1, "the quota count was not flushed");
    let url = app.database_url.clone();
    let restarted = spawn_app_with(|s| s.database_url = Some(url)).await;
    let gw2 = Gateway::new(&restarted, &gw.token);
    assert_eq!(gw2.code(&key, Some("quota")).await, "QUOTA_EXCEEDED");
}

#[tokio::test]
async fn gateway_tokens_are_required_and_scoped_to_their_organisation() {
    let World { app, admin, gw } = world().await;
    let open = product(&admin, "open", "auto", json!({})).await;
    let (_, key) = key_app(&admin, "Mine", &[&open]).await;

    // No token, a wrong one, an admin token in its place: 401.
    let client = reqwest::Client::new();
    let no_token = client
        .post(format!("{}/api/v1/keys/verify", app.base))
        .json(&json!({"key": key}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    // The gateway token is checked before the body is read.
    let bad_body = client
        .post(format!("{}/api/v1/keys/verify", app.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_body.status(), 401);
    for bad in ["gate_gw_nope", admin.token.as_str()] {
        let r = Gateway::new(&app, bad).verify(json!({"key": key})).await;
        assert_eq!(r.status, 401, "{bad}");
        let (status, reason) = Gateway::new(&app, bad).auth(&key, None).await;
        assert_eq!((status, reason.as_deref()), (401, Some("GATEWAY_TOKEN")));
    }
    // No key at all on auth-request.
    let r = client
        .get(format!("{}/api/v1/auth-request", app.base))
        .header("x-gatehouse-token", &gw.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The key also travels as X-API-Key.
    let r = client
        .get(format!("{}/api/v1/auth-request", app.base))
        .header("x-gatehouse-token", &gw.token)
        .header("x-api-key", &key)
        .header("x-gatehouse-product", "open")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers().contains_key("x-gatehouse-app-id"));
    assert!(r.headers().contains_key("x-gatehouse-credential-id"));

    // Bad bodies are 4xx with a message.
    let r = gw
        .verify(json!({"key": key, "client_ip": "not-an-ip"}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = gw.verify(json!({"nokey": 1})).await;
    assert_eq!(r.status, 400, "{}", r.body);

    // A revoked gateway token stops at once.
    let doomed = gateway_token(&admin, None).await;
    let list = admin.get("/api/v1/gateway-tokens?limit=100").await;
    let id = list.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| doomed.ends_with(t["last4"].as_str().unwrap()))
        .map(|t| t["id"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(Gateway::new(&app, &doomed).code(&key, None).await, "VALID");
    admin
        .delete(&format!("/api/v1/gateway-tokens/{id}"))
        .await
        .expect(204);
    assert_eq!(
        Gateway::new(&app, &doomed)
            .verify(json!({"key": key}))
            .await
            .status,
        401
    );

    // Another organisation's gateway never sees acme's keys.
    app.second_org("Globex", "grace@example.com", "Globex", "globex")
        .await;
    let other_admin = app.api("grace@example.com", "globex", true, true);
    let other = Gateway::new(&app, &gateway_token(&other_admin, None).await);
    assert_eq!(other.code(&key, None).await, "NOT_FOUND");
    assert_eq!(gw.code(&key, Some("open")).await, "VALID");

    // A default product applies when auth-request names none.
    let scoped = Gateway::new(&app, &gateway_token(&admin, Some("open")).await);
    let (_, unsubscribed) = key_app(&admin, "Bare", &[]).await;
    assert_eq!(scoped.auth(&key, None).await, (204, None));
    assert_eq!(
        scoped.auth(&unsubscribed, None).await,
        (403, Some("NOT_SUBSCRIBED".into()))
    );
}

#[tokio::test]
async fn ip_allowlists_and_last_used() {
    let World { app, admin, gw } = world().await;
    let open = product(&admin, "open", "auto", json!({})).await;
    let (app_id, key) = key_app(&admin, "Fenced", &[&open]).await;
    let credential = app.credential_of(&app_id);
    admin
        .patch(
            &format!("/api/v1/apps/{app_id}/credentials/{credential}"),
            json!({"allowed_ips": ["10.0.0.0/8", "2001:db8::/32"]}),
            None,
        )
        .await
        .expect(200);
    let code = |ip: Option<&str>| {
        let mut body = json!({"key": key, "product": "open"});
        if let Some(ip) = ip {
            body["client_ip"] = json!(ip);
        }
        let gw = &gw;
        async move {
            gw.verify(body).await.expect(200)["code"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(code(Some("10.1.2.3")).await, "VALID");
    assert_eq!(code(Some("2001:db8::1")).await, "VALID");
    assert_eq!(code(Some("192.0.2.1")).await, "FORBIDDEN_IP");
    assert_eq!(code(None).await, "FORBIDDEN_IP");
    // auth-request takes the peer's address (this test's loopback) when no proxy is trusted.
    assert_eq!(
        gw.auth(&key, Some("open")).await,
        (403, Some("FORBIDDEN_IP".into()))
    );

    // last_used: written by the flush, about a second later.
    let used = |app: &TestApp| {
        app.count(&format!(
            "credentials WHERE id = '{credential}' AND last_used_at IS NOT NULL"
        ))
    };
    let mut seen = 0;
    for _ in 0..100 {
        seen = used(&app);
        if seen == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 1, "last_used_at was not written");
    assert_eq!(
        app.count("gateway_tokens WHERE last_used_at IS NOT NULL"),
        1
    );
}

#[tokio::test]
async fn verifies_run_no_database_statements() {
    let World { app, admin, gw } = world().await;
    let open = product(
        &admin,
        "open",
        "auto",
        json!({"rate_limit_per_second": 100000}),
    )
    .await;
    let (_, key) = key_app(&admin, "Hot", &[&open]).await;
    let unknown =
        gatehouse::credentials::PlainSecret::generate("gate", gatehouse::credentials::Kind::ApiKey);
    let before = metrics(&app).await;
    for i in 0..3000 {
        let k = if i % 3 == 0 {
            unknown.expose()
        } else {
            key.as_str()
        };
        let code = gw.code(k, Some("open")).await;
        assert!(code == "VALID" || code == "NOT_FOUND", "{code}");
        if i % 5 == 0 {
            gw.auth(k, Some("open")).await;
        }
    }
    let after = metrics(&app).await;
    let route = "/api/v1/keys/verify";
    assert!(
        requests(&after, route, 200) - requests(&before, route, 200) >= 3000,
        "{after}"
    );
    assert_eq!(statements(&after, "/api/v1/keys/verify"), 0, "{after}");
    assert_eq!(statements(&after, "/api/v1/auth-request"), 0, "{after}");
    assert!(
        after.contains("\ngatehouse_verify_index_keys 1\n"),
        "{after}"
    );
    assert!(
        after.contains("\ngatehouse_verify_index_gateway_tokens 1\n"),
        "{after}"
    );
}

/// Verifies hammer a key while it is revoked: none that starts after the revoke has
/// answered may accept it.
#[tokio::test]
async fn no_verify_accepts_a_key_after_its_revocation_returned() {
    let World {
        app: _app,
        admin,
        gw,
    } = world().await;
    let open = product(&admin, "open", "auto", json!({})).await;
    let gw = Arc::new(gw);
    let after_total = Arc::new(AtomicUsize::new(0));
    for round in 0..30 {
        let (app_id, key) = key_app(&admin, &format!("Race {round}"), &[&open]).await;
        let revoked = Arc::new(AtomicBool::new(false));
        let stale = Arc::new(AtomicUsize::new(0));
        let checked = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (gw, key, revoked, stale, checked, after_total) = (
                gw.clone(),
                key.clone(),
                revoked.clone(),
                stale.clone(),
                checked.clone(),
                after_total.clone(),
            );
            workers.push(tokio::spawn(async move {
                let mut after = 0;
                loop {
                    // Read the flag before sending: if it was set, the revoke had
                    // already answered when this verify started.
                    let after_revoke = revoked.load(Ordering::SeqCst);
                    let code = gw.code(&key, Some("open")).await;
                    checked.fetch_add(1, Ordering::Relaxed);
                    if after_revoke {
                        if code == "VALID" {
                            stale.fetch_add(1, Ordering::SeqCst);
                        }
                        after += 1;
                        after_total.fetch_add(1, Ordering::Relaxed);
                        if after >= 25 {
                            break;
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let action = round % 3;
        match action {
            0 => admin
                .post(&format!("/api/v1/apps/{app_id}/reset"), json!({}))
                .await
                .expect(201),
            1 => admin
                .post(
                    &format!("/api/v1/apps/{app_id}/suspend"),
                    json!({"reason": "race"}),
                )
                .await
                .expect(200),
            _ => admin
                .delete(&format!("/api/v1/apps/{app_id}"))
                .await
                .expect(204),
        };
        revoked.store(true, Ordering::SeqCst);
        for w in workers {
            w.await.unwrap();
        }
        assert_eq!(
            stale.load(Ordering::SeqCst),
            0,
            "round {round}: a verify accepted a dead key"
        );
        assert!(checked.load(Ordering::Relaxed) >= 100);
    }
    // 30 revocations, each raced by four clients: thousands of verifies after them.
    assert!(after_total.load(Ordering::Relaxed) >= 3000);
}

/// A second instance on the same database learns a revocation from the change feed.
#[tokio::test]
async fn another_instance_learns_revocations_from_the_change_feed() {
    let World { app, admin, gw } = world().await;
    let open = product(&admin, "open", "auto", json!({})).await;
    let (app_id, key) = key_app(&admin, "Shared", &[&open]).await;
    let url = app.database_url.clone();
    let second = crate::kit::spawn_app_with(|s| s.database_url = Some(url)).await;
    let gw2 = Gateway::new(&second, &gw.token);
    assert_eq!(gw2.code(&key, Some("open")).await, "VALID");
    admin
        .post(&format!("/api/v1/apps/{app_id}/reset"), json!({}))
        .await
        .expect(201);
    assert_eq!(gw.code(&key, Some("open")).await, "REVOKED");
    // The other instance polls the feed every 200 ms: wait generously.
    let mut code = String::new();
    for _ in 0..100 {
        code = gw2.code(&key, Some("open")).await;
        if code == "REVOKED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(code, "REVOKED");
    // And a token made on the first instance works on the second.
    let token = gateway_token(&admin, None).await;
    let gw3 = Gateway::new(&second, &token);
    let mut status = 0;
    for _ in 0..100 {
        status = gw3.verify(json!({"key": key})).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200);
    let _ = spawn_app;
}

/// The in-memory index agrees with the reference lookup (`verify::lookup::check`) on
/// every combination of credential state, app status and subscription state, for
/// every product asked (none, approved-for, other, unknown) and client address (none,
/// inside, outside an allowlist) — the states written straight into the database and
/// announced on the change feed, as another instance's writes would be.
#[tokio::test]
async fn the_index_agrees_with_the_database_on_every_state() {
    use gatehouse::clock::Clock;
    let World { app, admin, .. } = world().await;
    let p1 = product(&admin, "p1", "auto", json!({})).await;
    let _p2 = product(&admin, "p2", "auto", json!({})).await;
    let org = app.text("SELECT id AS v FROM organisations WHERE slug = 'acme'");
    let now = app.clock.now_naive();
    let at = |secs: i64| {
        (now + chrono::Duration::seconds(secs))
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string()
    };

    let credential_states = ["active", "expiring", "expired", "revoked"];
    let app_states = [
        "pending",
        "active",
        "rejected",
        "suspended",
        "revoked",
        "deleted",
    ];
    let sub_states = [
        "none",
        "pending",
        "approved",
        "rejected",
        "cancelled",
        "cancelled+approved",
    ];
    let mut keys = Vec::new();
    let mut n = 0;
    for cred in credential_states {
        for status in app_states {
            for sub in sub_states {
                n += 1;
                let (app_id, key) = key_app(&admin, &format!("Case {n}"), &[&p1]).await;
                let credential = app.credential_of(&app_id);
                let cred_sql = match cred {
                    "active" => "expires_at = NULL, revoked_at = NULL".to_string(),
                    "expiring" => format!("expires_at = '{}'", at(3600)),
                    "expired" => format!("expires_at = '{}'", at(-1)),
                    _ => format!("revoked_at = '{}'", at(-5)),
                };
                let allow = if n % 2 == 0 {
                    "10.0.0.0/8 2001:db8::/32"
                } else {
                    ""
                };
                app.exec(&format!(
                    "UPDATE credentials SET {cred_sql}, allowed_ips = '{allow}' WHERE id = '{credential}'"
                ));
                app.exec(&format!(
                    "UPDATE apps SET status = '{status}' WHERE id = '{app_id}'"
                ));
                let sub_id = app.sub_of(&app_id);
                match sub {
                    "none" => app.exec(&format!("DELETE FROM subscriptions WHERE id = '{sub_id}'")),
                    "cancelled+approved" => {
                        app.exec(&format!(
                            "INSERT INTO subscriptions (id, app_id, product_id, status, note, reason, requested_by, created_at, updated_at, org_id) \
                             SELECT '{}', app_id, product_id, 'cancelled', '', '', requested_by, created_at, updated_at, org_id \
                             FROM subscriptions WHERE id = '{sub_id}'",
                            uuid::Uuid::now_v7()
                        ));
                    }
                    s => app.exec(&format!(
                        "UPDATE subscriptions SET status = '{s}' WHERE id = '{sub_id}'"
                    )),
                }
                app.exec(&format!(
                    "INSERT INTO changes (kind, org_id, app_id, created_at) VALUES ('app', '{org}', '{app_id}', '{}')",
                    at(0)
                ));
                keys.push((
                    format!("{cred}/{status}/{sub}/allow={}", !allow.is_empty()),
                    key,
                ));
            }
        }
    }
    let mut conn = app.conn();
    let verifier = app.state.verifier.clone();
    verifier.catch_up(&mut conn).unwrap();
    let gateway = verifier.as_org(&org).unwrap();
    let unknown =
        gatehouse::credentials::PlainSecret::generate("gate", gatehouse::credentials::Kind::ApiKey);
    keys.push(("unknown".into(), unknown.expose().to_string()));
    keys.push(("malformed".into(), "gate_key_nope".into()));
    let mut compared = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (case, key) in &keys {
        for product in [None, Some("p1"), Some("p2"), Some("nope")] {
            for ip in [
                None,
                Some("10.9.8.7"),
                Some("2001:db8::5"),
                Some("192.0.2.1"),
            ] {
                let ip = ip.map(|i| i.parse().unwrap());
                let reference = gatehouse::verify::lookup::check(
                    &mut conn,
                    &app.state.secrets,
                    key,
                    &org,
                    (product, ip),
                    now,
                )
                .unwrap();
                let index = verifier.verify(&gateway, key, product, ip, now);
                assert_eq!(index, reference, "{case} for {product:?} from {ip:?}");
                seen.insert(reference.code());
                compared += 1;
            }
        }
    }
    assert_eq!(compared, keys.len() * 16);
    // Every reason a stored state can give was reached.
    let expected = [
        "MALFORMED",
        "NOT_FOUND",
        "REVOKED",
        "EXPIRED",
        "SUSPENDED",
        "REJECTED",
        "PENDING",
        "NOT_SUBSCRIBED",
        "FORBIDDEN_IP",
        "VALID",
    ];
    assert_eq!(seen, expected.into_iter().collect(), "{seen:?}");
}

/// A graceful stop writes what was counted since the last flush: quota counts and
/// last use survive it whole.
#[tokio::test]
async fn a_graceful_stop_flushes_the_counters() {
    let World { app, admin, gw } = world().await;
    let quota = product(
        &admin,
        "quota",
        "auto",
        json!({"quota_limit": 100, "quota_period": "month"}),
    )
    .await;
    let (app_id, key) = key_app(&admin, "Counted", &[&quota]).await;
    for _ in 0..7 {
        assert_eq!(gw.code(&key, Some("quota")).await, "VALID");
    }
    let credential = app.credential_of(&app_id);
    let mut app = app;
    app.server.stop(true).await;
    (&mut app.serving).await.unwrap().unwrap();
    assert_eq!(app.count("quota_counts WHERE count = 7"), 1);
    assert_eq!(
        app.count(&format!(
            "credentials WHERE id = '{credential}' AND last_used_at IS NOT NULL"
        )),
        1
    );
}
