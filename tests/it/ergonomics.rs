//! HTTP ergonomics: action endpoints take a bare `curl -X POST`; an unsupported method
//! is a 405 with `Allow`; HEAD answers wherever GET does; an oversized form is a 413.

use std::io::{Read, Write};

use reqwest::Method;
use serde_json::{Value, json};

use crate::api_kit::Api;
use crate::kit::{OWNER_EMAIL, TestApp, spawn_app};

/// Sends exactly what `curl -X POST -H "Authorization: Bearer …" URL` sends (no body,
/// no `Content-Type`, no `Content-Length`); returns the status and the body.
fn curl_post(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let host = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("reply");
    let (head, body) = reply.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    // `Connection: close` replies are not chunked; an empty body is `null`.
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, body)
}

/// A new api-key app of the token's user (`products`: slugs to subscribe to).
async fn api_app(api: &Api, name: &str, products: &[&str]) -> String {
    let made = api
        .post(
            "/api/v1/apps",
            json!({"name": name, "auth_type": "api_key", "products": products}),
        )
        .await;
    made.expect(201)["id"].as_str().expect("an id").to_string()
}

fn status_of(app: &TestApp, id: &str) -> String {
    app.text(&format!("SELECT status AS v FROM apps WHERE id = '{id}'"))
}

#[tokio::test]
async fn action_endpoints_take_a_post_without_a_body() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let token = app.token(OWNER_EMAIL, "acme", true, true);
    let api = Api::new(&app, &token);
    api.post(
        "/api/v1/products",
        json!({"name": "Payments", "slug": "payments", "approval_mode": "manual"}),
    )
    .await
    .expect(201);
    let app_id = api_app(&api, "Shop", &["payments"]).await;
    assert_eq!(status_of(&app, &app_id), "pending");
    let sub = app.text(&format!(
        "SELECT id AS v FROM subscriptions WHERE app_id = '{app_id}'"
    ));

    let (status, body) = curl_post(&app, &token, &format!("/api/v1/approvals/{sub}/approve"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(status_of(&app, &app_id), "active");

    let credentials = || {
        app.count(&format!(
            "credentials WHERE app_id = '{app_id}' AND revoked_at IS NULL"
        ))
    };
    let (status, body) = curl_post(&app, &token, &format!("/api/v1/apps/{app_id}/rotate"));
    assert_eq!(status, 201, "{body}");
    assert!(body["secret"].is_object(), "{body}");
    // No overlap: the old credential stops at once.
    assert_eq!(credentials(), 1);
    let (status, body) = curl_post(&app, &token, &format!("/api/v1/apps/{app_id}/reset"));
    assert_eq!(status, 201, "{body}");
    assert_eq!(credentials(), 1);
    assert_eq!(app.count("credentials"), 3);

    api.post(
        &format!("/api/v1/apps/{app_id}/suspend"),
        json!({"reason": "Abuse report"}),
    )
    .await
    .expect(200);
    let (status, body) = curl_post(&app, &token, &format!("/api/v1/apps/{app_id}/resume"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");

    // Left out, the new owner is the caller: a team's app comes back to Ada.
    let team = api.post("/api/v1/teams", json!({"name": "Platform"})).await;
    let team = team.expect(201)["id"].as_str().unwrap().to_string();
    let team_app = api
        .post(
            "/api/v1/apps",
            json!({"name": "Team app", "auth_type": "api_key", "team_id": team}),
        )
        .await;
    let team_app = team_app.expect(201)["id"].as_str().unwrap().to_string();
    let (status, body) = curl_post(&app, &token, &format!("/api/v1/apps/{team_app}/transfer"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"]["user_id"], app.user_id(OWNER_EMAIL).as_str());
    assert_eq!(body["owner"]["team_id"], Value::Null);

    let (status, body) = curl_post(&app, &token, &format!("/api/v1/apps/{app_id}/revoke"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "revoked");
    assert_eq!(body["status_reason"], "");
    assert_eq!(status_of(&app, &app_id), "revoked");

    // A rejection needs its reason: without a body it is refused, and says why.
    let other = api_app(&api, "Other", &["payments"]).await;
    let sub = app.text(&format!(
        "SELECT id AS v FROM subscriptions WHERE app_id = '{other}'"
    ));
    let (status, body) = curl_post(&app, &token, &format!("/api/v1/approvals/{sub}/reject"));
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["status"], 415, "{body}");
    assert_eq!(status_of(&app, &other), "pending");
}

#[tokio::test]
async fn optional_bodies_are_read_like_any_json_body() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api(OWNER_EMAIL, "acme", true, true);
    let app_id = api_app(&api, "Shop", &[]).await;
    let reset = format!("/api/v1/apps/{app_id}/reset");
    let post = |content_type: Option<&str>, body: &str| {
        let mut b = api.raw(Method::POST, &reset).bearer_auth(&api.token);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        api.send_raw(b.body(body.to_string()))
    };

    // Bad JSON is a 400 that says so (it used to be taken for no body).
    let detail = post(Some("application/json"), "{\"label\": 5")
        .await
        .expect_problem(400)
        .to_string();
    assert!(detail.contains("JSON body is not valid"), "{detail}");
    post(Some("application/json"), "{\"label\": 5}")
        .await
        .expect_problem(400);
    // A body of another type is a 415; an empty one of any type is no body.
    post(Some("text/plain"), "label=x")
        .await
        .expect_problem(415);
    post(None, "{\"label\": \"x\"}").await.expect_problem(415);
    assert_eq!(app.count("credentials"), 1);
    post(Some("text/plain"), "").await.expect(201);
    post(Some("application/json"), "").await.expect(201);
    post(Some("application/json"), "null").await.expect(201);
    let made = post(Some("application/json"), "{\"label\": \"CI\"}").await;
    assert_eq!(made.expect(201)["credential"]["label"], "CI");
    assert_eq!(app.count("credentials"), 5);
    // Too large is a 413, as on every JSON body.
    let huge = format!("{{\"label\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    post(Some("application/json"), &huge)
        .await
        .expect_problem(413);
    assert_eq!(app.count("credentials"), 5);
}

#[tokio::test]
async fn unsupported_methods_are_405_with_allow() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api(OWNER_EMAIL, "acme", true, true);
    let app_id = api_app(&api, "Shop", &[]).await;

    for (method, path, allow) in [
        (Method::PUT, "/api/v1/apps".to_string(), "GET, HEAD, POST"),
        (
            Method::DELETE,
            "/api/v1/apps".to_string(),
            "GET, HEAD, POST",
        ),
        (
            Method::POST,
            format!("/api/v1/apps/{app_id}"),
            "GET, HEAD, PATCH, DELETE",
        ),
        (Method::GET, format!("/api/v1/apps/{app_id}/revoke"), "POST"),
        (Method::HEAD, "/api/v1/approvals/decide".to_string(), "POST"),
    ] {
        let reply = api
            .send_raw(api.raw(method.clone(), &path).bearer_auth(&api.token))
            .await;
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.body);
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
        if method != Method::HEAD {
            let detail = reply.expect_problem(405);
            assert!(detail.contains(allow), "{detail}");
        }
    }
    // A path nothing has is still a 404; without a token, a 401 comes first.
    api.send_raw(
        api.raw(Method::PUT, "/api/v1/no-such-route")
            .bearer_auth(&api.token),
    )
    .await
    .expect_problem(404);
    api.send_raw(api.raw(Method::PUT, "/api/v1/apps"))
        .await
        .expect_problem(401);

    // Pages: the error page, with Allow.
    let client = &owner.client;
    for (method, path, allow) in [
        (Method::POST, "/o/acme/hub", "GET, HEAD"),
        (Method::DELETE, "/login", "GET, HEAD, POST"),
        (Method::PUT, "/o/acme/apps/new", "GET, HEAD"),
        (Method::GET, "/logout", "POST"),
    ] {
        let res = client
            .request(method.clone(), format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{method} {path}");
        let headers = res.headers().clone();
        assert_eq!(
            headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{method} {path}"
        );
        let body = res.text().await.unwrap();
        assert!(body.contains("405"), "{body}");
        assert!(body.contains(allow), "{body}");
    }
    let res = client
        .put(format!("{}/no/such/page", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(res.headers().get("allow").is_none());
}

#[tokio::test]
async fn head_answers_wherever_get_does() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api(OWNER_EMAIL, "acme", true, true);
    let app_id = api_app(&api, "Shop", &[]).await;

    for path in [
        "/account".to_string(),
        "/healthz".to_string(),
        "/static/css/app.css".to_string(),
        "/o/acme/hub".to_string(),
        format!("/o/acme/apps/{app_id}"),
    ] {
        let url = format!("{}{path}", app.base);
        // The first page after setup shows (and clears) a flash message.
        owner.get(&path).await.assert_status(200);
        let get = owner.client.get(&url).send().await.unwrap();
        let head = owner.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(head.status().as_u16(), 200, "{path}");
        for name in ["content-type", "content-length", "cache-control"] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "{path} {name}"
            );
        }
        assert!(get.text().await.unwrap().len() > 1, "{path}");
        assert_eq!(head.text().await.unwrap(), "", "{path}");
    }
    // Signed out, HEAD is redirected to sign in just as GET is.
    let anon = app.browser();
    let head = anon
        .client
        .head(format!("{}/o/acme/hub", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 303);
    assert_eq!(
        head.headers()["location"].to_str().unwrap(),
        "/login?next=%2Fo%2Facme%2Fhub"
    );

    // The API: same status and headers (the ETag included), no body.
    for path in ["/api/v1/apps".to_string(), format!("/api/v1/apps/{app_id}")] {
        let get = api.get(&path).await;
        let head = api
            .send_raw(api.raw(Method::HEAD, &path).bearer_auth(&api.token))
            .await;
        assert_eq!(head.status, 200, "{path}");
        assert_eq!(head.body, Value::Null, "{path}");
        for name in ["content-type", "content-length", "etag"] {
            assert_eq!(head.header(name), get.header(name), "{path} {name}");
        }
    }
    assert!(
        api.get(&format!("/api/v1/apps/{app_id}"))
            .await
            .header("etag")
            .is_some()
    );
    // HEAD needs a token like GET does.
    api.send_raw(api.raw(Method::HEAD, "/api/v1/apps"))
        .await
        .expect(401);
}

#[tokio::test]
async fn an_oversized_form_is_413() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;

    // Sign-in, anonymous: the 64 KiB limit of every form.
    let anon = app.browser();
    let token = anon.get("/login").await.csrf();
    let long = "x".repeat(70 * 1024);
    let page = anon
        .post_raw(
            "/login",
            &[
                ("csrf_token", token.as_str()),
                ("email", "ada@example.com"),
                ("password", long.as_str()),
            ],
        )
        .await;
    page.assert_status(413);
    assert!(page.contains("too large"), "{}", page.body);
    // Just under the limit the form is read (and the sign-in refused).
    let short = "x".repeat(60 * 1024);
    anon.post_raw(
        "/login",
        &[
            ("csrf_token", token.as_str()),
            ("email", "nobody@example.com"),
            ("password", short.as_str()),
        ],
    )
    .await
    .assert_status(401);

    // A signed-in form.
    let token = owner.get("/account").await.csrf();
    owner
        .post_raw(
            "/account/profile",
            &[
                ("csrf_token", token.as_str()),
                ("display_name", long.as_str()),
            ],
        )
        .await
        .assert_status(413);

    // The product form takes documentation, so more; past its limit it is a 413 too.
    let docs = "x".repeat(1024 * 1024);
    owner
        .post_raw(
            "/o/acme/admin/products",
            &[
                ("csrf_token", token.as_str()),
                ("name", ""),
                ("approval_mode", "auto"),
                ("description", docs.as_str()),
            ],
        )
        .await
        .assert_status(422);
    let too_much = "x".repeat(3 * 1024 * 1024);
    owner
        .post_raw(
            "/o/acme/admin/products",
            &[
                ("csrf_token", token.as_str()),
                ("name", "Payments"),
                ("approval_mode", "auto"),
                ("description", too_much.as_str()),
            ],
        )
        .await
        .assert_status(413);
    assert_eq!(app.count("products"), 0);
    assert_eq!(app.count("users WHERE display_name = 'Ada Lovelace'"), 1);
}

#[tokio::test]
async fn the_openapi_document_marks_optional_bodies() {
    let app = spawn_app().await;
    let api = Api::new(&app, "");
    let doc = api
        .send_raw(api.raw(Method::GET, "/api/v1/openapi.json"))
        .await;
    let paths = &doc.expect(200)["paths"];
    for (path, required) in [
        ("/api/v1/apps/{id}/revoke", false),
        ("/api/v1/apps/{id}/rotate", false),
        ("/api/v1/apps/{id}/reset", false),
        ("/api/v1/apps/{id}/transfer", false),
        ("/api/v1/apps/{app_id}/resume", false),
        ("/api/v1/approvals/{id}/reject", true),
        ("/api/v1/apps/{app_id}/suspend", true),
        ("/api/v1/apps", true),
    ] {
        let body = &paths[path]["post"]["requestBody"];
        assert!(body["content"]["application/json"].is_object(), "{path}");
        assert_eq!(body["required"] == true, required, "{path}: {body}");
    }
}
