//! The API route × actor table: every `/api/v1` route against every kind of caller,
//! with the expected statuses written out by hand from `auth::policy` and the
//! handlers. 401 for requests without a working token (none, expired, revoked, an
//! admin token whose creator was demoted); 403 for read-only tokens on anything but
//! GET, and for developers on admin actions or on things they may see but not
//! change; 404 where the caller may not see the resource (another organisation's,
//! another developer's app, a product hidden from them). Requests for permitted
//! callers are chosen so they change nothing (invalid input, unknown ids, no-ops,
//! stale `If-Match`); only the app deletions at the end change anything, and the
//! database is compared before and after. The table must also have a row for every
//! operation of the OpenAPI document, so a new route without a row fails here.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_kit::{Api, Reply};
use crate::kit::{ED25519_PEM, OWNER_EMAIL, TestApp, spawn_app};

const OWNER: &str = "olivia@example.com";
const DEV: &str = "dev@example.com";
const ADMIN: &str = "admin@example.com";
/// An admin who makes an admin token and is then demoted to developer.
const BOSS: &str = "boss@example.com";

const ACTORS: [&str; 10] = [
    "no token",
    "other-org token",
    "developer",
    "developer read-only",
    "admin",
    "admin token",
    "owner",
    "expired token",
    "revoked token",
    "demoted creator's admin token",
];

/// What the problem document of a 401 says, per column: the refusal is for the
/// reason the column stands for.
const WHY_401: [Option<&str>; 10] = [
    Some("Authorization"),
    None,
    None,
    None,
    None,
    None,
    None,
    Some("expired"),
    Some("revoked"),
    Some("no longer an admin"),
];

/// Sent without a body.
const NO_BODY: Value = Value::Null;

/// One row: a request and the status each actor gets.
struct Row {
    method: &'static str,
    path: String,
    body: Value,
    if_match: Option<&'static str>,
    expected: [u16; 10],
}

impl Row {
    /// The same request with an `If-Match` that names no version of the resource.
    fn stale(mut self) -> Self {
        self.if_match = Some("\"0000000000000000\"");
        self
    }
}

fn row(method: &'static str, path: String, body: Value, expected: [u16; 10]) -> Row {
    Row {
        method,
        path,
        body,
        if_match: None,
        expected,
    }
}

/// Sends every row's request as every actor; returns the mismatches, one line each.
async fn run_table(api: &Api, tokens: &[Option<String>; 10], rows: &[Row]) -> Vec<String> {
    let mut failures = Vec::new();
    for row in rows {
        let method = Method::from_bytes(row.method.as_bytes()).expect("method");
        for (i, token) in tokens.iter().enumerate() {
            let mut request = api.raw(method.clone(), &row.path);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if !row.body.is_null() {
                request = request.json(&row.body);
            }
            if let Some(tag) = row.if_match {
                request = request.header("if-match", tag);
            }
            let reply = api.send_raw(request).await;
            let what = format!("{} {} as {}", row.method, row.path, ACTORS[i]);
            if reply.status != row.expected[i] {
                failures.push(format!(
                    "{what}: expected {}, got {}: {}",
                    row.expected[i], reply.status, reply.body
                ));
                continue;
            }
            if let Some(problem) = problem_mismatch(&reply, WHY_401[i]) {
                failures.push(format!("{what}: {problem}"));
            }
        }
    }
    failures
}

/// Every refusal is a problem document; a 401 carries the Bearer challenge and, in
/// the columns that stand for a reason, says it.
fn problem_mismatch(reply: &Reply, why_401: Option<&str>) -> Option<String> {
    if reply.status < 400 {
        return None;
    }
    if reply.header("content-type") != Some("application/problem+json")
        || reply.body["status"] != reply.status
    {
        return Some(format!(
            "not a problem document: {:?} {}",
            reply.header("content-type"),
            reply.body
        ));
    }
    if reply.status == 401 {
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        if !challenge.starts_with("Bearer") {
            return Some(format!("401 without a Bearer challenge: {challenge:?}"));
        }
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        if let Some(why) = why_401
            && !detail.contains(why)
        {
            return Some(format!("401 for another reason: {detail:?}"));
        }
    }
    None
}

/// Does the concrete `path` (query ignored) fit the OpenAPI path `template`?
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// Every (METHOD, path template) of the API's OpenAPI document.
async fn documented_operations(api: &Api) -> Vec<(String, String)> {
    let doc = api
        .send_raw(api.raw(Method::GET, "/api/v1/openapi.json"))
        .await;
    let paths = doc.expect(200)["paths"]
        .as_object()
        .expect("paths in the OpenAPI document");
    let mut ops = Vec::new();
    for (template, item) in paths {
        for method in item.as_object().expect("a path item").keys() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                ops.push((method.to_uppercase(), template.clone()));
            }
        }
    }
    ops
}

/// The `field` of a JSON reply as a string.
fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {v}"))
        .to_string()
}

/// The id of the token `api` sends, as `GET /api/v1/tokens` lists it.
async fn own_token_id(api: &Api) -> String {
    let list = api.get("/api/v1/tokens").await;
    let current = list.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["current"] == true)
        .expect("the calling token is listed")
        .clone();
    field(&current, "id")
}

/// What the table may not change (or changes only as its last rows say): counts and
/// the state of every row that matters, straight from the database.
fn snapshot(app: &TestApp) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in [
        "apps",
        "apps WHERE status = 'active'",
        "apps WHERE status = 'revoked'",
        "apps WHERE status = 'deleted'",
        "credentials",
        "credentials WHERE revoked_at IS NULL",
        "products",
        "products WHERE archived_at IS NULL",
        "product_teams",
        "teams",
        "team_members",
        "invitations",
        "invitations WHERE accepted_at IS NULL AND revoked_at IS NULL",
        "memberships",
        "subscriptions",
        "approval_rules",
        "approval_settings",
        "api_tokens",
        "api_tokens WHERE revoked_at IS NULL",
        "gateway_tokens",
        "gateway_tokens WHERE revoked_at IS NULL",
        "notifications",
        "notifications WHERE read_at IS NULL",
        "idempotency_keys",
        "email_outbox",
        "audit_events",
        "audit_events WHERE action = 'app.deleted'",
    ] {
        out.push((table.to_string(), app.count(table).to_string()));
    }
    for (what, sql) in [
        (
            "apps",
            "SELECT id || ' ' || name || ' ' || status || ' ' || updated_at AS v FROM apps \
             WHERE name NOT LIKE 'Doomed%' ORDER BY id",
        ),
        (
            "products",
            "SELECT id || ' ' || name || ' ' || updated_at AS v FROM products ORDER BY id",
        ),
        (
            "team members",
            "SELECT team_id || ' ' || user_id || ' ' || role AS v FROM team_members \
             ORDER BY team_id, user_id",
        ),
        (
            "memberships",
            "SELECT org_id || ' ' || user_id || ' ' || role AS v FROM memberships \
             ORDER BY org_id, user_id",
        ),
        (
            "invitations",
            "SELECT id || ' ' || token_hash || ' ' || expires_at || ' ' || \
             CASE WHEN revoked_at IS NULL THEN 'open' ELSE 'revoked' END AS v \
             FROM invitations ORDER BY id",
        ),
        (
            "subscriptions",
            "SELECT id || ' ' || status || ' ' || updated_at AS v FROM subscriptions ORDER BY id",
        ),
        (
            "tokens",
            "SELECT id || ' ' || CASE WHEN revoked_at IS NULL THEN 'live' ELSE 'revoked' END \
             AS v FROM api_tokens ORDER BY id",
        ),
    ] {
        out.push((what.to_string(), app.texts(sql).join("\n")));
    }
    out
}

#[tokio::test]
async fn every_api_route_against_every_kind_of_token() {
    let app = spawn_app().await;
    // Ada: owner of "acme" only; her token is the other organisation's.
    app.setup_owner().await;
    // Olivia owns "globex", the organisation under test.
    let olivia = app.second_org("Olivia", OWNER, "Globex", "globex").await;
    app.join(&olivia, "globex", DEV, "developer").await;
    app.join(&olivia, "globex", ADMIN, "admin").await;
    app.join(&olivia, "globex", BOSS, "admin").await;
    let (ada_id, owner_id, dev_id, admin_id, boss_id) = (
        app.user_id(OWNER_EMAIL),
        app.user_id(OWNER),
        app.user_id(DEV),
        app.user_id(ADMIN),
        app.user_id(BOSS),
    );

    // The tokens of the columns.
    let ada_token = app.token(OWNER_EMAIL, "acme", false, true);
    let dev_token = app.token(DEV, "globex", false, true);
    let dev_ro_token = app.token(DEV, "globex", false, false);
    let admin_token = app.token(ADMIN, "globex", false, true);
    let admin_org_token = app.token(ADMIN, "globex", true, true);
    let owner_token = app.token(OWNER, "globex", false, true);
    let expiring = app.token_expiring(OWNER, "globex", false, true, Some(1));
    let to_revoke = app.token(OWNER, "globex", false, true);
    let boss_token = app.token(BOSS, "globex", true, true);

    let ada = Api::new(&app, &ada_token);
    let owner = Api::new(&app, &owner_token);
    let dev = Api::new(&app, &dev_token);
    let admin = Api::new(&app, &admin_token);

    // Teams: Squad (Olivia its team admin, the developer a plain member) and
    // Platform (only Olivia).
    let squad = field(
        owner
            .post("/api/v1/teams", json!({"name": "Squad"}))
            .await
            .expect(201),
        "id",
    );
    let platform = field(
        owner
            .post("/api/v1/teams", json!({"name": "Platform"}))
            .await
            .expect(201),
        "id",
    );
    owner
        .post(
            &format!("/api/v1/teams/{squad}/members"),
            json!({"user_id": dev_id, "role": "member"}),
        )
        .await
        .expect(201);

    // Products: Gold (manual approval, every member sees it), Hidden (only
    // Platform's members see it), Old (archived).
    let gold = field(
        owner
            .post(
                "/api/v1/products",
                json!({"name": "Gold", "slug": "gold", "approval_mode": "manual"}),
            )
            .await
            .expect(201),
        "id",
    );
    let hidden = field(
        owner
            .post(
                "/api/v1/products",
                json!({"name": "Hidden", "slug": "hidden", "approval_mode": "auto",
                       "visibility": "teams", "teams": [platform]}),
            )
            .await
            .expect(201),
        "id",
    );
    let old = field(
        owner
            .post(
                "/api/v1/products",
                json!({"name": "Old", "slug": "old", "approval_mode": "auto"}),
            )
            .await
            .expect(201),
        "id",
    );
    owner
        .post(&format!("/api/v1/products/{old}/archive"), NO_BODY)
        .await
        .expect(200);

    // Apps: Olivia's own, Squad's, the developer's own, one of Squad's that is
    // revoked, and three to delete in the last rows.
    let new_app = |api: &Api, body: Value| {
        let api = api.clone();
        async move {
            let made = api.post("/api/v1/apps", body).await;
            let made = made.expect(201);
            assert_eq!(made["status"], "active", "{made}");
            (
                field(made, "id"),
                field(&made["credentials"], "credential_id"),
            )
        }
    };
    let api_key = |name: &str| json!({"name": name, "auth_type": "api_key"});
    let for_squad =
        |name: &str| json!({"name": name, "auth_type": "api_key", "team_id": squad.clone()});
    let (owner_app, owner_cred) = new_app(&owner, api_key("Olivia app")).await;
    let (squad_app, squad_cred) = new_app(&owner, for_squad("Squad app")).await;
    let (revoked_app, _) = new_app(&owner, for_squad("Revoked app")).await;
    let (doomed_owner_app, _) = new_app(&owner, api_key("Doomed owner app")).await;
    let (doomed_squad_app, _) = new_app(&owner, for_squad("Doomed squad app")).await;
    let (dev_app, dev_cred) = new_app(&dev, api_key("Dev app")).await;
    let (doomed_dev_app, _) = new_app(&dev, api_key("Doomed dev app")).await;
    owner
        .post(
            &format!("/api/v1/apps/{revoked_app}/revoke"),
            json!({"reason": "no longer needed"}),
        )
        .await
        .expect(200);

    // Subscriptions: Squad's app waits for Gold; its Hidden subscription (approved
    // at once) is cancelled; Olivia's app's request for Gold is rejected.
    let subscribe = |app_id: &str, product: &str| {
        let (owner, path, product) = (
            owner.clone(),
            format!("/api/v1/apps/{app_id}/subscriptions"),
            product.to_string(),
        );
        async move {
            let made = owner.post(&path, json!({"product": product})).await;
            let made = made.expect(201);
            (field(made, "id"), field(made, "status"))
        }
    };
    let (pending_sub, status) = subscribe(&squad_app, "gold").await;
    assert_eq!(status, "pending");
    let (cancelled_sub, status) = subscribe(&squad_app, "hidden").await;
    assert_eq!(status, "approved");
    owner
        .post(
            &format!("/api/v1/subscriptions/{cancelled_sub}/cancel"),
            NO_BODY,
        )
        .await
        .expect(200);
    let (rejected_sub, status) = subscribe(&owner_app, "gold").await;
    assert_eq!(status, "pending");
    owner
        .post(
            &format!("/api/v1/approvals/{rejected_sub}/reject"),
            json!({"reason": "Not for this app."}),
        )
        .await
        .expect(200);

    // Invitations: one open, one revoked; the developer's was accepted.
    owner
        .post(
            "/api/v1/invitations",
            json!({"email": "new@example.com", "role": "developer"}),
        )
        .await
        .expect(201);
    let revoked_invitation = field(
        owner
            .post(
                "/api/v1/invitations",
                json!({"email": "gone@example.com", "role": "developer"}),
            )
            .await
            .expect(201),
        "id",
    );
    let deleted = owner
        .delete(&format!("/api/v1/invitations/{revoked_invitation}"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let accepted_invitation = app.invitation_id(DEV);

    // Every inbox read, so that marking read changes nothing; one of Olivia's items.
    for api in [&ada, &owner, &dev, &admin] {
        api.post("/api/v1/notifications/read-all", NO_BODY)
            .await
            .expect(200);
    }
    let inbox = owner.get("/api/v1/notifications").await;
    let owner_notification = field(&inbox.expect(200)["items"][0], "id");

    // The tokens that stop working: each works first. Olivia's second token is
    // revoked through the API; an admin token of the admin's is revoked by its
    // maker (for the token rows); the boss's admin token stops when she is demoted;
    // Olivia's expiring token once the clock passes its day.
    let revoked = Api::new(&app, &to_revoke);
    let revoked_token = own_token_id(&revoked).await;
    let deleted = owner
        .delete(&format!("/api/v1/tokens/{revoked_token}"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let spare = Api::new(&app, &app.token(ADMIN, "globex", true, true));
    let revoked_admin_token = own_token_id(&spare).await;
    let deleted = admin
        .delete(&format!("/api/v1/tokens/{revoked_admin_token}"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let boss = Api::new(&app, &boss_token);
    assert_eq!(boss.get("/api/v1/org").await.expect(200)["role"], "admin");
    owner
        .patch(
            &format!("/api/v1/members/{boss_id}"),
            json!({"role": "developer"}),
            None,
        )
        .await
        .expect(200);
    Api::new(&app, &expiring)
        .get("/api/v1/org")
        .await
        .expect(200);
    app.clock.advance(Duration::days(2));

    // Gateway tokens: "Edge" live in both organisations, "Retired" revoked.
    for api in [&owner, &ada] {
        api.post("/api/v1/gateway-tokens", json!({"name": "Edge"}))
            .await
            .expect(201);
    }
    let live_gateway = field(
        owner.get("/api/v1/gateway-tokens").await.expect(200)["items"]
            .get(0)
            .expect("a gateway token"),
        "id",
    );
    let revoked_gateway = field(
        owner
            .post("/api/v1/gateway-tokens", json!({"name": "Retired"}))
            .await
            .expect(201),
        "id",
    );
    let deleted = owner
        .delete(&format!("/api/v1/gateway-tokens/{revoked_gateway}"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    let tokens: [Option<String>; 10] = [
        None,
        Some(ada_token),
        Some(dev_token),
        Some(dev_ro_token),
        Some(admin_token),
        Some(admin_org_token),
        Some(owner_token),
        Some(expiring),
        Some(to_revoke),
        Some(boss_token),
    ];
    let before = snapshot(&app);

    let v = |p: &str| format!("/api/v1{p}");
    let long_label = "x".repeat(61);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        //   method, path, body,                                                  none  other dev  dev-ro admin adm-tk owner expired revoked demoted
        // Outside the token-guarded scope: the document and its UI.
        row("GET",    v("/openapi.json"), NO_BODY,                               [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        row("GET",    "/api/docs".into(), NO_BODY,                               [308, 308, 308, 308, 308, 308, 308, 308, 308, 308]),
        // The token is checked before routing: unknown paths and methods need one too
        // (a method the path does not take is a 405).
        row("GET",    v("/no-such-route"), NO_BODY,                              [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("PUT",    v("/apps"), json!({}),                                     [401, 405, 405, 403, 405, 405, 405, 401, 401, 401]),

        // The organisation and its members. The other organisation's token sees
        // its own organisation (Ada is a member of acme, not of globex).
        row("GET",    v("/org"), NO_BODY,                                        [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v("/members"), NO_BODY,                                    [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/members/{dev_id}")), NO_BODY,                 [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/members/{ada_id}")), NO_BODY,                 [401, 200, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("GET",    v("/members/no-such-user"), NO_BODY,                       [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        // No-op role changes (409), a real one refused by a stale If-Match (412),
        // owner-only changes, the last owner, an unknown member.
        row("PATCH",  v(&format!("/members/{dev_id}")), json!({"role": "developer"}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("PATCH",  v(&format!("/members/{dev_id}")), json!({"role": "admin"}),
                                                                                 [401, 404, 403, 403, 412, 412, 412, 401, 401, 401]).stale(),
        row("PATCH",  v(&format!("/members/{owner_id}")), json!({"role": "owner"}),
                                                                                 [401, 404, 403, 403, 403, 403, 409, 401, 401, 401]),
        row("PATCH",  v(&format!("/members/{owner_id}")), json!({"role": "admin"}),
                                                                                 [401, 404, 403, 403, 403, 403, 409, 401, 401, 401]),
        row("PATCH",  v("/members/no-such-user"), json!({"role": "admin"}),      [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),
        // The role is checked before the member is looked up: the same 422 for any id.
        row("PATCH",  v(&format!("/members/{dev_id}")), json!({"role": "superuser"}),
                                                                                 [401, 422, 422, 403, 422, 422, 422, 401, 401, 401]),
        // Removing the owner: owners only, and not oneself through the API.
        row("DELETE", v(&format!("/members/{owner_id}")), NO_BODY,               [401, 404, 403, 403, 403, 403, 422, 401, 401, 401]),
        row("DELETE", v("/members/no-such-user"), NO_BODY,                       [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),

        // Invitations: admins only. Revoked and accepted ones cannot be revoked or
        // re-sent again (409).
        row("GET",    v("/invitations"), NO_BODY,                                [401, 200, 403, 403, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/invitations"), json!({"email": "not-an-email", "role": "developer"}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("DELETE", v(&format!("/invitations/{revoked_invitation}")), NO_BODY, [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("DELETE", v(&format!("/invitations/{accepted_invitation}")), NO_BODY,[401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("DELETE", v("/invitations/no-such-invitation"), NO_BODY,             [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        row("POST",   v(&format!("/invitations/{revoked_invitation}/resend")), NO_BODY,
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/invitations/{accepted_invitation}/resend")), NO_BODY,
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/invitations/no-such-invitation/resend"), NO_BODY,      [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),

        // Teams: every member sees them and may create one; team admins (Olivia) and
        // org admins manage them; the developer is a plain member of Squad and not
        // in Platform.
        row("GET",    v("/teams"), NO_BODY,                                      [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/teams"), json!({"name": ""}),                          [401, 422, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("GET",    v(&format!("/teams/{squad}")), NO_BODY,                    [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/teams/{platform}")), NO_BODY,                 [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v("/teams/no-such-team"), NO_BODY,                         [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("POST",   v(&format!("/teams/{squad}/members")), json!({"user_id": dev_id, "role": "member"}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        // Someone of another organisation is not named.
        row("POST",   v(&format!("/teams/{squad}/members")), json!({"user_id": ada_id, "role": "member"}),
                                                                                 [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/teams/{platform}/members")), json!({"user_id": dev_id, "role": "superuser"}),
                                                                                 [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v("/teams/no-such-team/members"), json!({"user_id": dev_id, "role": "member"}),
                                                                                 [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),
        row("PATCH",  v(&format!("/teams/{squad}/members/{dev_id}")), json!({"role": "member"}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("PATCH",  v(&format!("/teams/{squad}/members/{dev_id}")), json!({"role": "owner"}),
                                                                                 [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/teams/{squad}/members/{dev_id}")), json!({"role": "admin"}),
                                                                                 [401, 404, 403, 403, 412, 412, 412, 401, 401, 401]).stale(),
        row("PATCH",  v(&format!("/teams/{squad}/members/no-such-user")), json!({"role": "admin"}),
                                                                                 [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        row("DELETE", v(&format!("/teams/{squad}/members/no-such-user")), NO_BODY,
                                                                                 [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        // Removing oneself is leaving: refused when not in the team (409).
        row("DELETE", v(&format!("/teams/{platform}/members/{dev_id}")), NO_BODY,
                                                                                 [401, 404, 409, 403, 404, 404, 404, 401, 401, 401]),
        row("DELETE", v(&format!("/teams/{platform}/members/{admin_id}")), NO_BODY,
                                                                                 [401, 404, 403, 403, 409, 409, 404, 401, 401, 401]),

        // Apps. Olivia's own app is hidden from the developer (404); Squad's app is
        // visible to the developer but not changeable (403); the developer's own app
        // is theirs to change. Org admins see and change every app.
        row("GET",    v("/apps"), NO_BODY,                                       [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/apps"), json!({"name": "", "auth_type": "api_key"}),   [401, 422, 422, 403, 422, 422, 422, 401, 401, 401]),
        // For a team the developer does not admin: 403 before the name is looked at.
        row("POST",   v("/apps"), json!({"name": "", "auth_type": "api_key", "team_id": squad}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{owner_app}")), NO_BODY,                 [401, 404, 404, 404, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{squad_app}")), NO_BODY,                 [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{dev_app}")), NO_BODY,                   [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v("/apps/no-such-app"), NO_BODY,                           [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{owner_app}")), json!({"name": ""}),     [401, 404, 404, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{squad_app}")), json!({"name": ""}),     [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{dev_app}")), json!({"name": ""}),       [401, 404, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{squad_app}")), json!({"name": "Renamed"}),
                                                                                 [401, 404, 403, 403, 412, 412, 412, 401, 401, 401]).stale(),
        row("PATCH",  v(&format!("/apps/{revoked_app}")), json!({"name": "Renamed"}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{revoked_app}/revoke")), json!({"reason": ""}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/apps/no-such-app/revoke"), json!({}),                  [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),
        // Transfers to the owner it has (409) or to no team (422).
        row("POST",   v(&format!("/apps/{squad_app}/transfer")), json!({"team_id": squad}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{owner_app}/transfer")), json!({"team_id": "no-such-team"}),
                                                                                 [401, 404, 404, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{dev_app}/transfer")), json!({"team_id": "no-such-team"}),
                                                                                 [401, 404, 422, 403, 422, 422, 422, 401, 401, 401]),

        // Credentials: a label too long (422), a revoked app (409), a key for an
        // API-key app (409), the last working credential (409).
        row("GET",    v(&format!("/apps/{owner_app}/credentials")), NO_BODY,     [401, 404, 404, 404, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{squad_app}/credentials")), NO_BODY,     [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{owner_app}/rotate")), json!({"overlap_seconds": 0, "label": long_label}),
                                                                                 [401, 404, 404, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/rotate")), json!({"overlap_seconds": 0, "label": long_label}),
                                                                                 [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{dev_app}/rotate")), json!({"overlap_seconds": 0, "label": long_label}),
                                                                                 [401, 404, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{revoked_app}/rotate")), json!({"overlap_seconds": 0}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        // The overlap is checked before the app is looked up: the same 422 for any id.
        row("POST",   v(&format!("/apps/{owner_app}/rotate")), json!({"overlap_seconds": 1_000_000_000_000_u64}),
                                                                                 [401, 422, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{owner_app}/reset")), json!({"label": long_label}),
                                                                                 [401, 404, 404, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/reset")), json!({"label": long_label}),
                                                                                 [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{revoked_app}/reset")), json!({}),       [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{owner_app}/keys")), json!({"public_key": ED25519_PEM}),
                                                                                 [401, 404, 404, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/keys")), json!({"public_key": ED25519_PEM}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        // The key is parsed before the app is looked up: the same 422 for any id.
        row("POST",   v(&format!("/apps/{owner_app}/keys")), json!({"public_key": "not a key"}),
                                                                                 [401, 422, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/credentials/{squad_cred}/retire")), NO_BODY,
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{owner_app}/credentials/{owner_cred}/retire")), NO_BODY,
                                                                                 [401, 404, 404, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{dev_app}/credentials/{dev_cred}/retire")), NO_BODY,
                                                                                 [401, 404, 409, 403, 409, 409, 409, 401, 401, 401]),
        // Another app's credential through this app's path.
        row("POST",   v(&format!("/apps/{squad_app}/credentials/{owner_cred}/retire")), NO_BODY,
                                                                                 [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/credentials/no-such-credential/retire")), NO_BODY,
                                                                                 [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        // A key's IP allowlist: a bad entry is refused before the app is looked up (the
        // same 422 for any id); leaving the list out changes nothing.
        row("PATCH",  v(&format!("/apps/{squad_app}/credentials/{squad_cred}")), json!({"allowed_ips": ["10.0.0.1/8"]}),
                                                                                 [401, 422, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{squad_app}/credentials/{squad_cred}")), json!({}),
                                                                                 [401, 404, 403, 403, 200, 200, 200, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{owner_app}/credentials/{owner_cred}")), json!({}),
                                                                                 [401, 404, 404, 403, 200, 200, 200, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{dev_app}/credentials/{dev_cred}")), json!({}),
                                                                                 [401, 404, 200, 403, 200, 200, 200, 401, 401, 401]),
        row("PATCH",  v(&format!("/apps/{squad_app}/credentials/{owner_cred}")), json!({}),
                                                                                 [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),

        // Products: members read the live products they may see; admins manage them
        // and see every one (Hidden is for Platform only, Old is archived).
        row("GET",    v("/products"), NO_BODY,                                   [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/products"), json!({"name": "", "approval_mode": "auto"}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("GET",    v(&format!("/products/{gold}")), NO_BODY,                  [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v("/products/gold"), NO_BODY,                              [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/products/{hidden}")), NO_BODY,                [401, 404, 404, 404, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/products/{old}")), NO_BODY,                   [401, 404, 404, 404, 200, 200, 200, 401, 401, 401]),
        row("GET",    v("/products/no-such-product"), NO_BODY,                   [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("PATCH",  v(&format!("/products/{gold}")), json!({"name": ""}),      [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/products/{hidden}")), json!({"name": ""}),    [401, 404, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("PATCH",  v(&format!("/products/{gold}")), json!({"name": "Platinum"}),
                                                                                 [401, 404, 403, 403, 412, 412, 412, 401, 401, 401]).stale(),
        row("PATCH",  v("/products/no-such-product"), json!({"name": ""}),       [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        row("POST",   v(&format!("/products/{old}/archive")), NO_BODY,           [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/products/{gold}/restore")), NO_BODY,          [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),

        // Subscriptions: seen with the app, requested and cancelled by those who may
        // change it. Gold is pending already; the others are decided.
        row("GET",    v(&format!("/apps/{squad_app}/subscriptions")), NO_BODY,   [401, 404, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{owner_app}/subscriptions")), NO_BODY,   [401, 404, 404, 404, 200, 200, 200, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/subscriptions")), json!({"product": "gold"}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{owner_app}/subscriptions")), json!({"product": "no-such-product"}),
                                                                                 [401, 404, 404, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{dev_app}/subscriptions")), json!({"product": old}),
                                                                                 [401, 404, 422, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/subscriptions/{cancelled_sub}/cancel")), NO_BODY,
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/subscriptions/{rejected_sub}/cancel")), NO_BODY,
                                                                                 [401, 404, 404, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/subscriptions/no-such-subscription/cancel"), NO_BODY,  [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),

        // Approvals, suspending and resuming: admins only (the other organisation's
        // token is its organisation's owner, so it gets as far as the lookup).
        row("GET",    v("/approvals"), NO_BODY,                                  [401, 200, 403, 403, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/approvals/decide"), json!({"ids": [rejected_sub], "decision": "approve"}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/approvals/decide"), json!({"ids": [], "decision": "approve"}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v("/approvals/decide"), json!({"ids": [pending_sub], "decision": "reject"}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/approvals/{rejected_sub}/approve")), NO_BODY, [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/approvals/no-such-request/approve"), NO_BODY,          [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
        row("POST",   v(&format!("/approvals/{pending_sub}/reject")), json!({"reason": ""}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/approvals/{rejected_sub}/reject")), json!({"reason": "No."}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{revoked_app}/suspend")), json!({"reason": "Abuse."}),
                                                                                 [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/suspend")), json!({"reason": ""}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{squad_app}/resume")), NO_BODY,          [401, 404, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/apps/no-such-app/resume"), NO_BODY,                    [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),

        // The inbox: each token's own user's items about its organisation.
        row("GET",    v("/notifications"), NO_BODY,                              [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/notifications/read-all"), NO_BODY,                     [401, 200, 200, 403, 200, 200, 200, 401, 401, 401]),
        row("POST",   v(&format!("/notifications/{owner_notification}/read")), NO_BODY,
                                                                                 [401, 404, 404, 403, 404, 404, 204, 401, 401, 401]),
        row("POST",   v("/notifications/no-such-notification/read"), NO_BODY,    [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),

        // API tokens: one's own, and for admins every admin token of the
        // organisation; someone else's personal token is not visible, nor to a
        // developer someone else's admin token (404, as for an id never issued).
        row("GET",    v("/tokens"), NO_BODY,                                     [401, 200, 200, 200, 200, 200, 200, 401, 401, 401]),
        row("DELETE", v(&format!("/tokens/{revoked_token}")), NO_BODY,           [401, 404, 404, 403, 404, 404, 409, 401, 401, 401]),
        row("DELETE", v(&format!("/tokens/{revoked_admin_token}")), NO_BODY,     [401, 404, 404, 403, 409, 409, 409, 401, 401, 401]),
        row("DELETE", v("/tokens/no-such-token"), NO_BODY,                       [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),

        // Gateway tokens: admins and owners only. A developer may not list them (403),
        // so one of them does not exist for a developer (404); the other
        // organisation's owner works on their own organisation's tokens.
        row("GET",    v("/gateway-tokens"), NO_BODY,                             [401, 200, 403, 403, 200, 200, 200, 401, 401, 401]),
        row("POST",   v("/gateway-tokens"), json!({"name": " "}),                [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("POST",   v("/gateway-tokens"), json!({"name": "Edge"}),             [401, 409, 403, 403, 409, 409, 409, 401, 401, 401]),
        row("POST",   v("/gateway-tokens"), json!({"name": "Edge 2", "default_product": "old"}),
                                                                                 [401, 422, 403, 403, 422, 422, 422, 401, 401, 401]),
        row("GET",    v(&format!("/gateway-tokens/{live_gateway}")), NO_BODY,    [401, 404, 404, 404, 200, 200, 200, 401, 401, 401]),
        row("GET",    v("/gateway-tokens/no-such-token"), NO_BODY,               [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("DELETE", v(&format!("/gateway-tokens/{revoked_gateway}")), NO_BODY, [401, 404, 404, 403, 409, 409, 409, 401, 401, 401]),
        row("DELETE", v("/gateway-tokens/no-such-token"), NO_BODY,               [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),

        // Last, the only rows that change anything: deleting cannot be a no-op, so
        // the first permitted actor deletes and the later ones find nothing.
        row("DELETE", v(&format!("/apps/{doomed_dev_app}")), NO_BODY,            [401, 404, 204, 403, 404, 404, 404, 401, 401, 401]),
        row("DELETE", v(&format!("/apps/{doomed_owner_app}")), NO_BODY,          [401, 404, 404, 403, 204, 404, 404, 401, 401, 401]),
        row("DELETE", v(&format!("/apps/{doomed_squad_app}")), NO_BODY,          [401, 404, 403, 403, 204, 404, 404, 401, 401, 401]),
        row("DELETE", v("/apps/no-such-app"), NO_BODY,                           [401, 404, 404, 403, 404, 404, 404, 401, 401, 401]),
        // A deleted app is gone from every route (suspending stays an admin action).
        row("GET",    v(&format!("/apps/{doomed_squad_app}")), NO_BODY,          [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{doomed_squad_app}/credentials")), NO_BODY,
                                                                                 [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("GET",    v(&format!("/apps/{doomed_squad_app}/subscriptions")), NO_BODY,
                                                                                 [401, 404, 404, 404, 404, 404, 404, 401, 401, 401]),
        row("POST",   v(&format!("/apps/{doomed_squad_app}/resume")), NO_BODY,   [401, 404, 403, 403, 404, 404, 404, 401, 401, 401]),
    ];

    // Every operation of the OpenAPI document has a row, and every row under
    // /api/v1 names a documented operation (but the deliberate unknown ones).
    let client = Api::new(&app, "");
    let documented = documented_operations(&client).await;
    assert!(documented.len() >= 40, "{documented:?}");
    // The gateway's endpoints take gateway tokens, not API tokens: tests/it/verify.rs
    // covers them (every API token gets 401 there).
    let gateway = ["/api/v1/keys/verify", "/api/v1/auth-request"];
    let undocumented = [
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/no-such-route"),
        ("PUT", "/api/v1/apps"),
    ];
    let mut coverage = Vec::new();
    for (method, template) in &documented {
        if gateway.contains(&template.as_str()) {
            continue;
        }
        if !rows
            .iter()
            .any(|r| r.method == method.as_str() && fits(template, &r.path))
        {
            coverage.push(format!("{method} {template} has no row"));
        }
    }
    for r in rows.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        let known = documented
            .iter()
            .any(|(m, t)| m == r.method && fits(t, &r.path));
        if !known && !undocumented.contains(&(r.method, r.path.as_str())) {
            coverage.push(format!(
                "{} {} is no documented operation",
                r.method, r.path
            ));
        }
    }
    assert!(
        coverage.is_empty(),
        "table vs OpenAPI:\n{}",
        coverage.join("\n")
    );

    let failures = run_table(&client, &tokens, &rows).await;
    assert!(
        failures.is_empty(),
        "API route × actor mismatches ({} of {} requests):\n{}",
        failures.len(),
        rows.len() * ACTORS.len(),
        failures.join("\n")
    );

    // Only the three deletions changed anything: three apps deleted, their three
    // credentials revoked, three audit entries.
    let after = snapshot(&app);
    let mut expected = before.clone();
    for (name, by) in [
        ("apps WHERE status = 'active'", -3),
        ("apps WHERE status = 'deleted'", 3),
        ("credentials WHERE revoked_at IS NULL", -3),
        ("audit_events", 3),
        ("audit_events WHERE action = 'app.deleted'", 3),
    ] {
        let entry = expected
            .iter_mut()
            .find(|(n, _)| n == name)
            .expect("in the snapshot");
        entry.1 = (entry.1.parse::<i64>().unwrap() + by).to_string();
    }
    for ((name, want), (_, got)) in expected.iter().zip(&after) {
        assert_eq!(got, want, "{name} changed");
    }
    assert_eq!(app.count("apps"), 7);
    assert_eq!(app.count("products"), 3);
    assert_eq!(app.count("teams"), 2);
    assert_eq!(app.count("invitations"), 5);
    assert_eq!(
        app.count("invitations WHERE accepted_at IS NULL AND revoked_at IS NULL"),
        1
    );
}
