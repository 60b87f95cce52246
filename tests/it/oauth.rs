//! OAuth2 over HTTP: the token endpoint with each client authentication method and
//! every RFC 6749 §5.2 error, scope narrowing, lifetimes on the test clock, the
//! `/api/v1/login` exchange with refresh rotation and reuse detection, introspection,
//! revocation by every route, JWKS verification with independent code, client
//! assertions signed with each algorithm and replayed ids — on SQLite and, with
//! TEST_DATABASE_URL, PostgreSQL.

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::api_kit::{Api, Reply, reply};
use crate::kit::{OWNER_EMAIL, TestApp, spawn_app_with, str_of};
use crate::verify::{Gateway, find, gateway_token, key_app, product};

/// Test keys made with OpenSSL: (JWS algorithm, private key DER, public key PEM).
const ED25519: (&str, &str, &str) = (
    "EdDSA",
    "MC4CAQAwBQYDK2VwBCIEIMhEftAOL5576tBkusu4GgxCp/mzUJj+4WtXC4ZfcCyz",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAD/mBaXQkZB0oP71Ng5MBMZmIFkHilXSrbcE/6V95guw=\n-----END PUBLIC KEY-----",
);
const P256: (&str, &str, &str) = (
    "ES256",
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFur7or7BYJ+ME38+5P/LR243QYji/JKWSRu0ZI4eZxqhRANCAARqqTrdabPnJdGeiNkvLtpWPo6D5dxCTMMocrx5RAq10b4hP4wKOpMtVMQJOv/tzlEZs+R2ucnB/j1esC5TeXjQ",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaqk63Wmz5yXRnojZLy7aVj6Og+Xc\nQkzDKHK8eUQKtdG+IT+MCjqTLVTECTr/7c5RGbPkdrnJwf49XrAuU3l40A==\n-----END PUBLIC KEY-----",
);
const P384: (&str, &str, &str) = (
    "ES384",
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDBnKToJ3LscaPmFHlL4A/44U8VzCpeOM/l0DAjS7sy37Vro9Askq/yq0BkCKD4IPaShZANiAATZhYNm6sHEbZ8HkbailNNcxXKw3CsKCe+Tsn6mI36yu0rDoTfu/hYPcoGh1EZAGDj7s7G8L5/0+vE6U9jVwz2M3qXjYU4tcqA05p03K0suSDxtGNgE4SSB1GLRU7aWrFE=",
    "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE2YWDZurBxG2fB5G2opTTXMVysNwrCgnv\nk7J+piN+srtKw6E37v4WD3KBodRGQBg4+7OxvC+f9PrxOlPY1cM9jN6l42FOLXKg\nNOadNytLLkg8bRjYBOEkgdRi0VO2lqxR\n-----END PUBLIC KEY-----",
);
const RSA: (&str, &str, &str) = (
    "RS256",
    "MIIEowIBAAKCAQEA0x7PVrJVdmORx0s8L1E0fSDrA9bO/tsLVy/Mh3uf/WZkzVGuvKEOrOZNuf2dzvi0J5M9bP+jTAdPfOSV7hhgvyeF5bjMIgnbqGWYs8kjUAiiRwr6nROYqV+dtDQMmuj5mSg9AdD8RpfEcTDzpQWHIXjVcTksFkr//hp57zY4kymIhiHAGEu/kD6PmBwrOk9gZQDyprcWcd72vh7dCJ0skMePQdwl8YRRPFYQV5duh7+FZoqxS77bDyG/OyPGbAMbC1kSBflMw0Ptw3GtfMwoFMxp4AELissH9FucnUxKVzqaXUjdFMsD2EAWdJCQ3pplf6wRapv0XUUK5doOcVRIjwIDAQABAoIBAGlxTeTjFMQYXsrGzLxlNm34buhv9Npc1IErIl/YYsPQzC+vyDH1zrqUG+X0wUiJ9pB9fYRe+VQToqOiFy/fhRJzzvA5J9soSUkF1QqWPsjORx5sYVbqXqjZVI6YIGOOUHsqGa46joVDb52I8WdOJ3uUOiZeg6JuuwRSfOv4jLESeOQRPxE2jo+WfodmxdDvI025Ez+QnKbfdddm2AsqXfLbUyCdJPH0VT7hCoHR5EASHWWc7r7Xwh3IV0PThua78Lq2boNX1YOc7TKShI+q+HXzVoAmcxMaRCCkSfb2CLUehLg1ebODvIOOcYYP4bV89BrgzeTITM5ankuRZ7Nj60ECgYEA8ydSlKNn/D8G79MpJ+xSATl0a8+5IsuhMZdG9nh6JXVC4Kwh9ys7ZU9fX+c+3IP6n9B3YFQINPLL73Tjq8ADydseH6m7hvsBlxa27YPZc+4llnYXwRW8yzVICI2QRwqsOj5Gtoi7xDacOgf5zW2hV3uOJ5rltztZwZ/xwXjPS4kCgYEA3kY7+8qQnGH6OkScUHxIe9HijRd4XaUVOFGCh6ltUcYSGmQrs5VwoLFhW6rINUXCugpfXaO6BSP7DCbls8qKOVQ2vrorfu1v6d8hfpow/WlqAWfe0Q/PFIXyrZhqdQY8JVED0zKjOTE+VbWwgyQmH4FfUqoHQL2gOt17h9d8dVcCgYEAxWRvytDY8tLru7etmoZjkDDnTTqFrjSm+E45wo7NgikukJvMuw3ymu0TnRRqWLQfuquOrbmqK+nLGurGhMBNkwn563RsE0kj4lcDS9AUsONsyje2Uv5llIX9o0vhC3sjk+jImRhpbgFzVDzzUwyjxRQ9s/Mwd06ML/67UPfVORkCgYAnHXr+02Xhb0iGqn5Ll6N1zrislZ3D9QIn+AgdcY5gXpfe9xPNtZWtYam9ZO94mH8tGBgyNVbOAsfyGoI/wnvSnORJah+vZX9VS8PsMJxAbCWQe8P1TG/nr67GJ9VMJL2+32Pp7bZVoTnUAXY/jcP7tVueA3flR7mDwmgzvpMTXwKBgHgphCv+8X4t+EufjIkEhVFGMEHbLroN+HFjzYU+qPe426xgq3+8LceFanQ7/HbHyCGDW1l4olOPSMvamZXBsi4Uca/PRei3/Mi5U9QTsRuD0WnIRYzKwA8Wt3lFb8COYgL4tJ+Q55Y+x4fl2x6botagBMlAooqrvxs4tc+QdMbk",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0x7PVrJVdmORx0s8L1E0\nfSDrA9bO/tsLVy/Mh3uf/WZkzVGuvKEOrOZNuf2dzvi0J5M9bP+jTAdPfOSV7hhg\nvyeF5bjMIgnbqGWYs8kjUAiiRwr6nROYqV+dtDQMmuj5mSg9AdD8RpfEcTDzpQWH\nIXjVcTksFkr//hp57zY4kymIhiHAGEu/kD6PmBwrOk9gZQDyprcWcd72vh7dCJ0s\nkMePQdwl8YRRPFYQV5duh7+FZoqxS77bDyG/OyPGbAMbC1kSBflMw0Ptw3GtfMwo\nFMxp4AELissH9FucnUxKVzqaXUjdFMsD2EAWdJCQ3pplf6wRapv0XUUK5doOcVRI\njwIDAQAB\n-----END PUBLIC KEY-----",
);

struct World {
    app: TestApp,
    admin: Api,
    gw: Gateway,
    gw_token: String,
    http: reqwest::Client,
}

async fn world_with(customise: impl FnOnce(&mut gatehouse::config::Settings)) -> World {
    let app = spawn_app_with(customise).await;
    let _owner = app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    let gw_token = gateway_token(&admin, None).await;
    let gw = Gateway::new(&app, &gw_token);
    World {
        app,
        admin,
        gw,
        gw_token,
        http: reqwest::Client::new(),
    }
}

async fn world() -> World {
    world_with(|_| {}).await
}

/// An OAuth2 app subscribed to `products`: (app id, client id, client secret).
async fn oauth_app(api: &Api, name: &str, products: &[&str]) -> (String, String, String) {
    let body = api
        .post(
            "/api/v1/apps",
            json!({"name": name, "auth_type": "oauth2", "products": products}),
        )
        .await;
    let v = body.expect(201);
    (
        str_of(v, "id").to_string(),
        find(v, "client_id").expect("client_id").to_string(),
        find(v, "client_secret").expect("client_secret").to_string(),
    )
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    async fn form(&self, path: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Reply {
        let mut b = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            b = b.basic_auth(id, Some(secret));
        }
        reply(b.send().await.expect("oauth request")).await
    }

    async fn token(&self, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Reply {
        self.form("/oauth/token", basic, form).await
    }

    async fn client_credentials(&self, id: &str, secret: &str, scope: Option<&str>) -> Value {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        self.token(Some((id, secret)), &form)
            .await
            .expect(200)
            .clone()
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .http
            .post(self.url("/oauth/introspect"))
            .bearer_auth(&self.gw_token)
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect");
        reply(r).await.expect(200).clone()
    }

    async fn login(&self, body: Value) -> Reply {
        let r = self
            .http
            .post(self.url("/api/v1/login"))
            .json(&body)
            .send()
            .await
            .expect("login");
        reply(r).await
    }
}

/// The §5.2 error of a reply: (status, error code).
fn oauth_error(r: &Reply) -> (u16, String) {
    assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.body);
    assert!(
        r.body["error_description"].is_string(),
        "no description: {}",
        r.body
    );
    (
        r.status,
        r.body["error"].as_str().unwrap_or_default().to_string(),
    )
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(payload).expect("base64url"))
        .expect("claims JSON")
}

#[tokio::test]
async fn client_credentials_by_basic_and_post_verify_everywhere() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let _other = product(&w.admin, "other", "auto", json!({})).await;
    let (app_id, client_id, secret) = oauth_app(&w.admin, "Billing", &[&pay]).await;

    // client_secret_basic.
    let r = w
        .token(
            Some((&client_id, &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.expect(200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "payments");
    assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    let access = body["access_token"].as_str().unwrap().to_string();
    let claims = claims_of(&access);
    assert_eq!(claims["iss"], w.app.base.as_str());
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["aud"], json!(["payments"]));
    assert_eq!(claims["app_id"], app_id.as_str());
    assert!(claims["org"].is_string() && claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    // client_secret_post.
    let posted = w
        .token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    let posted = posted.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(posted, access);

    // Verify and auth-request accept the token for its product only.
    assert_eq!(w.gw.code(&access, Some("payments")).await, "VALID");
    assert_eq!(w.gw.code(&access, None).await, "VALID");
    assert_eq!(w.gw.code(&access, Some("other")).await, "NOT_SUBSCRIBED");
    assert_eq!(w.gw.auth(&access, Some("payments")).await, (204, None));
    let v =
        w.gw.verify(json!({"key": access, "product": "payments"}))
            .await;
    let v = v.expect(200);
    assert_eq!(v["app"]["id"], app_id.as_str());
    assert_eq!(v["products"], json!(["payments"]));
    assert!(v["expires_at"].is_string(), "{v}");
    // A token with one character changed is not ours.
    let mut forged = access.clone().into_bytes();
    let i = forged.len() - 5;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(w.gw.code(&forged, Some("payments")).await, "NOT_FOUND");

    // Introspection.
    let i = w.introspect(&access).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], client_id.as_str());
    assert_eq!(i["scope"], "payments");
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["exp"], claims["exp"]);
    assert_eq!(w.introspect("garbage").await, json!({"active": false}));
    assert_eq!(w.introspect(&forged).await, json!({"active": false}));
    let no_gateway = w
        .http
        .post(w.url("/oauth/introspect"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(no_gateway.status(), 401);

    // Offline: the JWKS verifies the token with independent code (ed25519-dalek
    // directly) and with jsonwebtoken.
    let jwks: Value = w
        .http
        .get(w.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    let header: Value = serde_json::from_slice(
        &Base64UrlUnpadded::decode_vec(access.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "EdDSA");
    let x: [u8; 32] = Base64UrlUnpadded::decode_vec(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (signed, sig) = access.rsplit_once('.').unwrap();
    let sig =
        ed25519_dalek::Signature::from_slice(&Base64UrlUnpadded::decode_vec(sig).unwrap()).unwrap();
    public.verify_strict(signed.as_bytes(), &sig).unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["payments"]);
    validation.set_issuer(&[w.app.base.as_str()]);
    validation.validate_exp = false;
    let decoded = jsonwebtoken::decode::<Value>(
        &access,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.claims["sub"], client_id.as_str());

    // RFC 8414 metadata.
    let meta: Value = w
        .http
        .get(w.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], w.app.base.as_str());
    assert_eq!(meta["token_endpoint"], w.url("/oauth/token"));
    assert_eq!(meta["jwks_uri"], w.url("/.well-known/jwks.json"));
    assert_eq!(meta["introspection_endpoint"], w.url("/oauth/introspect"));
    assert_eq!(meta["revocation_endpoint"], w.url("/oauth/revoke"));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
}

#[tokio::test]
async fn every_section_5_2_error() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (_, client_id, secret) = oauth_app(&w.admin, "Errors", &[&pay]).await;
    let cc = [("grant_type", "client_credentials")];

    // invalid_client: a wrong secret, an unknown client, no authentication; 401 with
    // a Basic challenge.
    let wrong = gatehouse::credentials::PlainSecret::generate(
        "gate",
        gatehouse::credentials::Kind::ClientSecret,
    );
    for r in [
        w.token(Some((&client_id, wrong.expose())), &cc).await,
        w.token(Some(("gate_cid_nobody", &secret)), &cc).await,
        w.token(Some((&client_id, "not-a-secret")), &cc).await,
        w.token(None, &cc).await,
    ] {
        assert_eq!(
            oauth_error(&r),
            (401, "invalid_client".into()),
            "{}",
            r.body
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"gatehouse\"")
        );
    }
    // A secret of another app does not authenticate this client id.
    let (_, _, other_secret) = oauth_app(&w.admin, "Other", &[&pay]).await;
    let r = w.token(Some((&client_id, &other_secret)), &cc).await;
    assert_eq!(oauth_error(&r), (401, "invalid_client".into()));
    // An API key is not a client secret.
    let (_, api_key) = key_app(&w.admin, "Keyed", &[&pay]).await;
    let r = w.token(Some((&client_id, &api_key)), &cc).await;
    assert_eq!(oauth_error(&r), (401, "invalid_client".into()));

    // invalid_request: no grant type, a repeated parameter, two methods at once, the
    // wrong content type, a body too large.
    let r = w.token(Some((&client_id, &secret)), &[]).await;
    assert_eq!(oauth_error(&r), (400, "invalid_request".into()));
    let r = w
        .token(
            Some((&client_id, &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(oauth_error(&r), (400, "invalid_request".into()));
    let r = w
        .token(
            Some((&client_id, &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(oauth_error(&r), (400, "invalid_request".into()));
    let r = reply(
        w.http
            .post(w.url("/oauth/token"))
            .basic_auth(&client_id, Some(&secret))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(oauth_error(&r), (400, "invalid_request".into()));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let big = "x".repeat(64 * 1024);
    let r = w
        .token(
            Some((&client_id, &secret)),
            &[("grant_type", "client_credentials"), ("pad", &big)],
        )
        .await;
    assert_eq!(oauth_error(&r), (400, "invalid_request".into()));

    // unsupported_grant_type.
    let r = w
        .token(Some((&client_id, &secret)), &[("grant_type", "password")])
        .await;
    assert_eq!(oauth_error(&r), (400, "unsupported_grant_type".into()));

    // invalid_scope.
    let r = w
        .token(
            Some((&client_id, &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "payments admin"),
            ],
        )
        .await;
    assert_eq!(oauth_error(&r), (400, "invalid_scope".into()));

    // invalid_grant.
    let r = w
        .token(
            Some((&client_id, &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "nonsense"),
            ],
        )
        .await;
    assert_eq!(oauth_error(&r), (400, "invalid_grant".into()));

    // None of these changed anything: the right secret still works.
    w.client_credentials(&client_id, &secret, None).await;
}

#[tokio::test]
async fn scope_narrows_to_what_was_asked_and_approved() {
    let w = world().await;
    let pay = product(
        &w.admin,
        "payments",
        "auto",
        json!({"scopes": ["read", "write"]}),
    )
    .await;
    let maps = product(&w.admin, "maps", "auto", json!({})).await;
    let _vault = product(&w.admin, "vault", "auto", json!({})).await;
    let (_, id, secret) = oauth_app(&w.admin, "Scoped", &[&pay, &maps]).await;

    // Nothing asked: everything approved (not the product it is not subscribed to).
    let all = w.client_credentials(&id, &secret, None).await;
    assert_eq!(all["scope"], "payments maps");
    assert_eq!(
        claims_of(all["access_token"].as_str().unwrap())["aud"],
        json!(["payments", "maps"])
    );

    let one = w
        .client_credentials(&id, &secret, Some("payments:read"))
        .await;
    assert_eq!(one["scope"], "payments:read");
    let token = one["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["aud"], json!(["payments"]));
    assert_eq!(w.gw.code(token, Some("payments")).await, "VALID");
    assert_eq!(w.gw.code(token, Some("maps")).await, "NOT_SUBSCRIBED");

    for refused in ["payments:delete", "vault", "nosuch", "maps payments:admin"] {
        let r = w
            .token(
                Some((&id, &secret)),
                &[("grant_type", "client_credentials"), ("scope", refused)],
            )
            .await;
        assert_eq!(oauth_error(&r), (400, "invalid_scope".into()), "{refused}");
    }
}

#[tokio::test]
async fn lifetimes_follow_the_setting_the_product_cap_and_the_clock() {
    let w = world_with(|s| s.access_token_ttl = Some("3d".into())).await;
    let capped = product(
        &w.admin,
        "capped",
        "auto",
        json!({"max_credential_lifetime_days": 1}),
    )
    .await;
    let free = product(&w.admin, "free", "auto", json!({})).await;
    let (_, id, secret) = oauth_app(&w.admin, "Timed", &[&capped, &free]).await;
    let (_, free_id, free_secret) = oauth_app(&w.admin, "Untimed", &[&free]).await;

    let free_only = w.client_credentials(&free_id, &free_secret, None).await;
    assert_eq!(free_only["expires_in"], 3 * 86_400, "the setting");
    let both = w.client_credentials(&id, &secret, None).await;
    assert_eq!(
        both["expires_in"], 86_400,
        "capped by the product's maximum"
    );

    let token = both["access_token"].as_str().unwrap().to_string();
    assert_eq!(w.gw.code(&token, Some("free")).await, "VALID");
    w.app.clock.advance(chrono::Duration::seconds(86_400));
    assert_eq!(w.gw.code(&token, Some("free")).await, "EXPIRED");
    assert_eq!(w.introspect(&token).await, json!({"active": false}));
    let longer = free_only["access_token"].as_str().unwrap();
    assert_eq!(w.gw.code(longer, Some("free")).await, "VALID");
}

#[tokio::test]
async fn login_exchange_rotates_refresh_tokens_and_detects_reuse() {
    let w = world_with(|s| s.refresh_reuse_grace = Some("10s".into())).await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (_, id, secret) = oauth_app(&w.admin, "Mobile", &[&pay]).await;

    let first = w
        .login(json!({"client_id": id, "client_secret": secret}))
        .await;
    let first = first.expect(200).clone();
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(w.gw.code(access, Some("payments")).await, "VALID");
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    assert!(rt1.starts_with("gate_rt_"), "{rt1}");

    // Rotation: each refresh spends the token and returns a new pair.
    let second = w
        .login(json!({"refresh_token": rt1}))
        .await
        .expect(200)
        .clone();
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(
        w.gw.code(second["access_token"].as_str().unwrap(), Some("payments"))
            .await,
        "VALID"
    );

    // A retry of rt1 within the grace: another pair of the family; rt2 (unused) dies.
    w.app.clock.advance(chrono::Duration::seconds(5));
    let retry = w
        .login(json!({"refresh_token": rt1}))
        .await
        .expect(200)
        .clone();
    let rt3 = retry["refresh_token"].as_str().unwrap().to_string();
    let r = w.login(json!({"refresh_token": rt2})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_grant");

    // The stock way: grant_type=refresh_token at the token endpoint works too.
    let via_token = w
        .token(
            None,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt3)],
        )
        .await;
    let rt4 = via_token.expect(200)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Reuse after the grace: the whole family is revoked, the newest token included.
    w.app.clock.advance(chrono::Duration::seconds(30));
    let r = w.login(json!({"refresh_token": rt3})).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["detail"].as_str().unwrap().contains("reuse"),
        "{}",
        r.body
    );
    let r = w.login(json!({"refresh_token": rt4})).await;
    assert_eq!(r.status, 400, "the family is dead: {}", r.body);

    // Idle lifetime: an unused token dies after 30 days.
    let fresh = w
        .login(json!({"client_id": id, "client_secret": secret}))
        .await;
    let rt = fresh.expect(200)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    w.app.clock.advance(chrono::Duration::days(31));
    let r = w.login(json!({"refresh_token": rt})).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["detail"].as_str().unwrap().contains("expired"),
        "{}",
        r.body
    );

    // Bad requests.
    for bad in [
        json!({}),
        json!({"client_id": id}),
        json!({"api_key": "x", "refresh_token": "y"}),
        json!({"refresh_token": 5}),
        json!({"unknown": true}),
    ] {
        let r = w.login(bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let r = w
        .login(json!({"client_id": id, "client_secret": "gate_sec_wrong"}))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_client");
}

#[tokio::test]
async fn static_tokens_stand_for_their_key_and_die_with_it() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (app_id, key) = key_app(&w.admin, "Legacy", &[&pay]).await;

    let r = w.login(json!({"api_key": key})).await;
    let token = r.expect(200)["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("gate_tok_"), "{token}");
    assert!(gatehouse::credentials::parse(&token).is_ok());
    assert_eq!(w.gw.code(&token, Some("payments")).await, "VALID");
    assert_eq!(w.gw.auth(&token, Some("payments")).await, (204, None));
    let i = w.introspect(&token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "static");
    assert_eq!(i["app_id"], app_id.as_str());

    // The key is revoked: its static token with it.
    w.admin
        .post(
            &format!("/api/v1/apps/{app_id}/revoke"),
            json!({"reason": "leak"}),
        )
        .await
        .expect(200);
    assert_ne!(w.gw.code(&token, Some("payments")).await, "VALID");
    assert_eq!(w.introspect(&token).await, json!({"active": false}));
    let r = w.login(json!({"api_key": key})).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn revocation_reaches_tokens_at_once_by_every_route() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;

    // RFC 7009 by the client itself: access and refresh tokens.
    let (_, id, secret) = oauth_app(&w.admin, "Self", &[&pay]).await;
    let pair = w
        .login(json!({"client_id": id, "client_secret": secret}))
        .await;
    let pair = pair.expect(200).clone();
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    assert_eq!(w.gw.code(access, Some("payments")).await, "VALID");
    let r = w
        .form("/oauth/revoke", Some((&id, &secret)), &[("token", access)])
        .await;
    r.expect(200);
    assert_eq!(w.gw.code(access, Some("payments")).await, "REVOKED");
    assert_eq!(w.introspect(access).await, json!({"active": false}));
    // Again, and an unknown token: still 200.
    w.form("/oauth/revoke", Some((&id, &secret)), &[("token", access)])
        .await
        .expect(200);
    w.form(
        "/oauth/revoke",
        Some((&id, &secret)),
        &[("token", "whatever")],
    )
    .await
    .expect(200);
    w.form("/oauth/revoke", Some((&id, &secret)), &[("token", refresh)])
        .await
        .expect(200);
    assert_eq!(w.login(json!({"refresh_token": refresh})).await.status, 400);
    // Without client authentication: 401.
    let r = w.form("/oauth/revoke", None, &[("token", access)]).await;
    assert_eq!(oauth_error(&r), (401, "invalid_client".into()));

    // Another client cannot revoke this one's token.
    let (_, other_id, other_secret) = oauth_app(&w.admin, "Other", &[&pay]).await;
    let mine = w.client_credentials(&id, &secret, None).await;
    let mine = mine["access_token"].as_str().unwrap();
    w.form(
        "/oauth/revoke",
        Some((&other_id, &other_secret)),
        &[("token", mine)],
    )
    .await
    .expect(200);
    assert_eq!(w.gw.code(mine, Some("payments")).await, "VALID");

    // Suspending the app: SUSPENDED at once, its refresh tokens dead.
    let (app, id2, secret2) = oauth_app(&w.admin, "Suspended", &[&pay]).await;
    let pair = w
        .login(json!({"client_id": id2, "client_secret": secret2}))
        .await;
    let pair = pair.expect(200).clone();
    let access = pair["access_token"].as_str().unwrap();
    w.admin
        .post(
            &format!("/api/v1/apps/{app}/suspend"),
            json!({"reason": "abuse"}),
        )
        .await
        .expect(200);
    assert_eq!(w.gw.code(access, Some("payments")).await, "SUSPENDED");
    assert_eq!(w.introspect(access).await, json!({"active": false}));
    let r = w
        .login(json!({"refresh_token": pair["refresh_token"].as_str().unwrap()}))
        .await;
    assert_eq!(r.status, 400);
    let r = w
        .token(
            Some((&id2, &secret2)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(oauth_error(&r), (401, "invalid_client".into()));

    // Resetting the secret: tokens from the old one are REVOKED.
    let (app3, id3, secret3) = oauth_app(&w.admin, "Reset", &[&pay]).await;
    let old = w.client_credentials(&id3, &secret3, None).await;
    let old = old["access_token"].as_str().unwrap();
    let reset = w
        .admin
        .post(&format!("/api/v1/apps/{app3}/reset"), json!({}))
        .await;
    let new_secret = find(reset.expect(201), "client_secret")
        .unwrap()
        .to_string();
    assert_eq!(w.gw.code(old, Some("payments")).await, "REVOKED");
    w.client_credentials(&id3, &new_secret, None).await;

    // Rotation with overlap: both secrets authenticate during it.
    let rotated = w
        .admin
        .post(
            &format!("/api/v1/apps/{app3}/rotate"),
            json!({"overlap_seconds": 3600}),
        )
        .await;
    let newest = find(rotated.expect(201), "client_secret")
        .unwrap()
        .to_string();
    w.client_credentials(&id3, &new_secret, None).await;
    w.client_credentials(&id3, &newest, None).await;

    // Deleting the app.
    let (app4, id4, secret4) = oauth_app(&w.admin, "Deleted", &[&pay]).await;
    let t = w.client_credentials(&id4, &secret4, None).await;
    let t = t["access_token"].as_str().unwrap();
    w.admin.delete(&format!("/api/v1/apps/{app4}")).await;
    assert_ne!(w.gw.code(t, Some("payments")).await, "VALID");
}

fn assertion(
    now: i64,
    alg_key: (&str, &str, &str),
    client_id: &str,
    aud: &str,
    exp_in: i64,
    jti: &str,
) -> String {
    let (alg, private, _) = alg_key;
    let alg: jsonwebtoken::Algorithm = alg.parse().unwrap();
    let der = Base64::decode_vec(private).unwrap();
    let key = match alg {
        jsonwebtoken::Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_der(&der),
        jsonwebtoken::Algorithm::RS256 => jsonwebtoken::EncodingKey::from_rsa_der(&der),
        _ => jsonwebtoken::EncodingKey::from_ec_der(&der),
    };
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + exp_in, "iat": now, "jti": jti});
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &key).unwrap()
}

#[tokio::test]
async fn private_key_jwt_with_each_algorithm_and_no_replay() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let aud = w.url("/oauth/token");
    let now = w.app.clock.now().timestamp();
    for (n, key) in [ED25519, P256, P384, RSA].into_iter().enumerate() {
        let created = w
            .admin
            .post(
                "/api/v1/apps",
                json!({"name": format!("Signed {n}"), "auth_type": "jwt", "products": [pay], "public_key": key.2}),
            )
            .await;
        let client_id = find(created.expect(201), "client_id").unwrap().to_string();
        let jti = uuid::Uuid::new_v4().to_string();
        let signed = assertion(now, key, &client_id, &aud, 120, &jti);
        let form = [
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", signed.as_str()),
        ];
        let r = w.token(None, &form).await;
        let body = r.expect(200);
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(claims_of(token)["sub"], client_id.as_str(), "{}", key.0);
        assert_eq!(w.gw.code(token, Some("payments")).await, "VALID");

        // The same assertion again: refused (its jti was seen).
        let r = w.token(None, &form).await;
        assert_eq!(oauth_error(&r), (401, "invalid_client".into()), "{}", key.0);
    }

    // Wrong audience, too long a life, another key, a secret client's id.
    let created = w
        .admin
        .post(
            "/api/v1/apps",
            json!({"name": "Strict", "auth_type": "jwt", "products": [pay], "public_key": ED25519.2}),
        )
        .await;
    let client_id = find(created.expect(201), "client_id").unwrap().to_string();
    for bad in [
        assertion(
            now,
            ED25519,
            &client_id,
            "https://elsewhere.example/token",
            60,
            "a1",
        ),
        assertion(now, ED25519, &client_id, &aud, 3600, "a2"),
        assertion(now, ED25519, &client_id, &aud, -120, "a3"),
        assertion(now, P256, &client_id, &aud, 60, "a4"),
    ] {
        let r = w
            .token(
                None,
                &[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", bad.as_str()),
                ],
            )
            .await;
        assert_eq!(
            oauth_error(&r),
            (401, "invalid_client".into()),
            "{}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_rotated_signing_key_signs_new_tokens_while_the_old_one_still_verifies() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (_, id, secret) = oauth_app(&w.admin, "Rotating", &[&pay]).await;
    let before = w.client_credentials(&id, &secret, None).await;
    let before = before["access_token"].as_str().unwrap().to_string();
    let old_kid = w.state_kids()[0].clone();

    let now = w.app.clock.now().naive_utc();
    let new_kid = {
        let mut conn = w.app.conn();
        gatehouse::verify::tokens::Keyring::rotate(
            &mut conn,
            &w.app.state.key,
            gatehouse::signing::Alg::EdDsa,
            now,
            now + chrono::Duration::minutes(16),
        )
        .unwrap()
    };
    // The instance learns the rotation from the change feed (as every instance does).
    w.app.state.verifier.catch_up(&mut w.app.conn()).unwrap();
    let kids = w.state_kids();
    assert_eq!(kids.len(), 2, "both keys are published");
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));

    let after = w.client_credentials(&id, &secret, None).await;
    let after = after["access_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &Base64UrlUnpadded::decode_vec(after.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["kid"],
        new_kid.as_str(),
        "new tokens use the new key"
    );
    assert_eq!(w.gw.code(after, Some("payments")).await, "VALID");
    assert_eq!(w.gw.code(&before, Some("payments")).await, "VALID");

    // Past its retirement, housekeeping deletes the old key everywhere.
    let later = now + chrono::Duration::minutes(17);
    {
        let mut conn = w.app.conn();
        gatehouse::db::write_transaction(&mut conn, |c| {
            gatehouse::services::oauth::purge(c, later)
        })
        .unwrap();
    }
    w.app.state.verifier.catch_up(&mut w.app.conn()).unwrap();
    assert_eq!(w.state_kids(), vec![new_kid]);
}

impl World {
    fn state_kids(&self) -> Vec<String> {
        self.app
            .state
            .verifier
            .jwks()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Instances starting together on one empty database make exactly one signing key.
#[tokio::test]
async fn concurrent_first_starts_make_one_signing_key() {
    let w = world().await;
    let url = w.app.database_url.clone();
    {
        let mut conn = w.app.conn();
        gatehouse::db::write_transaction(&mut conn, |c| {
            use diesel::RunQueryDsl;
            diesel::delete(gatehouse::db::schema::signing_keys::table).execute(c)
        })
        .unwrap();
    }
    let key = w.app.state.key.clone();
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (url, key) = (url.clone(), key.clone());
        handles.push(std::thread::spawn(move || {
            let db =
                gatehouse::db::Manager::new(gatehouse::config::DatabaseUrl::parse(&url).unwrap());
            let mut conn = db.open().unwrap();
            gatehouse::verify::tokens::Keyring::ensure(
                &mut conn,
                &key,
                gatehouse::signing::Alg::EdDsa,
                chrono::NaiveDateTime::default(),
            )
        }));
    }
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let count = gatehouse::models::oauth::signing_keys(&mut w.app.conn())
        .unwrap()
        .len();
    assert_eq!(count, 1);
}

/// Tokens verify, introspect and are issued from memory: no database statement on
/// those routes; the cache holds each token once.
#[tokio::test]
async fn tokens_verify_and_issue_without_database_statements() {
    let w = world_with(|s| s.metrics_token = Some(crate::metrics::TOKEN.into())).await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (_, id, secret) = oauth_app(&w.admin, "Hot", &[&pay]).await;
    let (_, key) = key_app(&w.admin, "Keyed", &[&pay]).await;
    let static_token = w.login(json!({"api_key": key})).await;
    let static_token = static_token.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tokens = Vec::new();
    for _ in 0..20 {
        let t = w.client_credentials(&id, &secret, None).await;
        tokens.push(t["access_token"].as_str().unwrap().to_string());
    }
    for round in 0..25 {
        for t in &tokens {
            assert_eq!(w.gw.code(t, Some("payments")).await, "VALID");
        }
        if round % 5 == 0 {
            assert_eq!(w.introspect(&tokens[round % 20]).await["active"], true);
            assert_eq!(w.gw.code(&static_token, Some("payments")).await, "VALID");
        }
    }
    let after = crate::metrics::scrape(&w.app).await;
    for route in ["/api/v1/keys/verify", "/oauth/introspect", "/oauth/token"] {
        assert_eq!(
            crate::metrics::statements(&after, route),
            0,
            "{route}: {after}"
        );
    }
    assert!(
        after.contains("\ngatehouse_verify_index_access_tokens 20\n"),
        "{after}"
    );
}

/// Retiring the credential that obtained a token: its tokens stop at once.
#[tokio::test]
async fn retiring_a_secret_stops_its_tokens() {
    let w = world().await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (app_id, id, old_secret) = oauth_app(&w.admin, "Retire", &[&pay]).await;
    let rotated = w
        .admin
        .post(
            &format!("/api/v1/apps/{app_id}/rotate"),
            json!({"overlap_seconds": 3600}),
        )
        .await;
    let new_secret = find(rotated.expect(201), "client_secret")
        .unwrap()
        .to_string();
    let old_token = w.client_credentials(&id, &old_secret, None).await;
    let old_token = old_token["access_token"].as_str().unwrap().to_string();
    let old_id = claims_of(&old_token)["cred"].as_str().unwrap().to_string();
    w.admin
        .post(
            &format!("/api/v1/apps/{app_id}/credentials/{old_id}/retire"),
            json!({}),
        )
        .await
        .expect(200);
    assert_ne!(w.gw.code(&old_token, Some("payments")).await, "VALID");
    assert_eq!(w.introspect(&old_token).await, json!({"active": false}));
    let r = w
        .token(
            Some((&id, &old_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(oauth_error(&r), (401, "invalid_client".into()));
    let fresh = w.client_credentials(&id, &new_secret, None).await;
    assert_eq!(
        w.gw.code(fresh["access_token"].as_str().unwrap(), Some("payments"))
            .await,
        "VALID"
    );
}

/// `--token-signing-alg ES256`: the key, the JWKS and the tokens are P-256.
#[tokio::test]
async fn es256_signing_for_gateways_that_verify_only_that() {
    let w = world_with(|s| s.token_signing_alg = Some("ES256".into())).await;
    let pay = product(&w.admin, "payments", "auto", json!({})).await;
    let (_, id, secret) = oauth_app(&w.admin, "Cloud", &[&pay]).await;
    let token = w.client_credentials(&id, &secret, None).await;
    let token = token["access_token"].as_str().unwrap().to_string();
    let jwks: Value = w
        .http
        .get(w.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["payments"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(w.gw.code(&token, Some("payments")).await, "VALID");
}
