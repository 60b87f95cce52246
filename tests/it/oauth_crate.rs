//! A stock Rust OAuth2 client, unchanged: the `oauth2` crate (version 5, without its own
//! HTTP features) exchanges client credentials at `POST /oauth/token` through a small
//! `AsyncHttpClient` over the suite's reqwest, with HTTP Basic (RFC 6749 2.3.1) and with
//! the credentials in the body, with and without a scope. What it gets back is a Bearer
//! token of the documented lifetime and scope that the gateway's introspection and
//! verify endpoints accept; a wrong secret or an unknown client is the crate's
//! `invalid_client` error, a product the app has no subscription to its `invalid_scope`.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse, BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, ClientId, ClientSecret, HttpRequest, HttpResponse,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde_json::{Value, json};

use crate::api_kit::{Api, reply};
use crate::kit::{OWNER_EMAIL, TestApp, spawn_app, str_of};
use crate::verify::{Gateway, gateway_token};

/// oauth2's HTTP client over the suite's reqwest 0.13 (the crate's own `reqwest`
/// feature would bring in another reqwest). No redirects, as the crate advises.
struct Http(reqwest::Client);

#[derive(Debug)]
struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

fn http_error(e: impl std::fmt::Display) -> HttpError {
    HttpError(e.to_string())
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(http_error)?;
            let response = self.0.execute(request).await.map_err(http_error)?;
            let mut builder = http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(http_error)?;
            builder.body(body.to_vec()).map_err(http_error)
        })
    }
}

impl Http {
    fn new() -> Self {
        Self(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        )
    }
}

type Exchange = Result<BasicTokenResponse, RequestTokenError<HttpError, BasicErrorResponse>>;

/// An organisation with two auto-approved products, an OAuth2 app subscribed to both
/// and a gateway token.
struct World {
    app: TestApp,
    admin: Api,
    http: Http,
    client_id: String,
    secret: String,
    gateway: String,
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        app.setup_owner().await;
        let admin = app.api(OWNER_EMAIL, "acme", true, true);
        for slug in ["payments", "maps"] {
            admin
                .post(
                    "/api/v1/products",
                    json!({"name": slug, "slug": slug, "approval_mode": "auto"}),
                )
                .await
                .expect(201);
        }
        let created = admin
            .post(
                "/api/v1/apps",
                json!({"name": "Rust client", "auth_type": "oauth2", "products": ["payments", "maps"]}),
            )
            .await;
        let body = created.expect(201);
        assert_eq!(body["status"], "active", "{body}");
        let client_id = str_of(&body["credentials"], "client_id").to_string();
        let secret = str_of(&body["credentials"], "client_secret").to_string();
        let gateway = gateway_token(&admin, None).await;
        World {
            app,
            admin,
            http: Http::new(),
            client_id,
            secret,
            gateway,
        }
    }

    /// A client-credentials exchange by the `oauth2` crate's BasicClient.
    async fn exchange(
        &self,
        client_id: &str,
        secret: &str,
        auth: AuthType,
        scopes: &[&str],
    ) -> Exchange {
        let client = BasicClient::new(ClientId::new(client_id.to_string()))
            .set_client_secret(ClientSecret::new(secret.to_string()))
            .set_auth_type(auth)
            .set_token_uri(TokenUrl::new(format!("{}/oauth/token", self.app.base)).unwrap());
        client
            .exchange_client_credentials()
            .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_string())))
            .request_async(&self.http)
            .await
    }

    /// RFC 7662 introspection with the gateway token.
    async fn introspect(&self, token: &str) -> Value {
        let res = self
            .http
            .0
            .post(format!("{}/oauth/introspect", self.app.base))
            .bearer_auth(&self.gateway)
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect");
        reply(res).await.expect(200).clone()
    }
}

fn words(text: &str) -> BTreeSet<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn scopes_of(token: &BasicTokenResponse) -> BTreeSet<String> {
    token
        .scopes()
        .expect("the token response names its scope")
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// An exchange's error, its response body readable.
fn explain(e: &RequestTokenError<HttpError, BasicErrorResponse>) -> String {
    match e {
        RequestTokenError::Parse(err, body) => {
            format!(
                "unparsable answer ({err}): {}",
                String::from_utf8_lossy(body)
            )
        }
        other => format!("{other:?}"),
    }
}

/// The token of a successful exchange, else a panic that shows the answer.
#[track_caller]
fn issued(result: Exchange, what: &str) -> BasicTokenResponse {
    result.unwrap_or_else(|e| panic!("{what}: {}", explain(&e)))
}

#[track_caller]
fn expect_error(result: Exchange, want: &BasicErrorResponseType, what: &str) {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error(), want, "{what}: {e:?}");
        }
        Err(other) => panic!("{what}: not a server error response: {}", explain(&other)),
        Ok(token) => panic!("{what}: a token was issued: {:?}", token.token_type()),
    }
}

#[tokio::test]
async fn oauth2_crate_exchanges_client_credentials_with_basic_auth_and_in_the_body() {
    let w = World::new().await;
    let both = words("payments maps");
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let what = format!("{auth:?}");
        let token = issued(
            w.exchange(&w.client_id, &w.secret, auth.clone(), &[]).await,
            &what,
        );
        assert_eq!(*token.token_type(), BasicTokenType::Bearer, "{what}");
        assert_eq!(
            token.expires_in(),
            Some(Duration::from_secs(900)),
            "{what}: the default access-token lifetime"
        );
        assert!(
            token.refresh_token().is_none(),
            "{what}: no refresh token for client_credentials (RFC 6749 4.4.3)"
        );
        assert_eq!(scopes_of(&token), both, "{what}: every subscribed product");

        let seen = w.introspect(token.access_token().secret()).await;
        assert_eq!(seen["active"], true, "{what}: {seen}");
        assert_eq!(seen["client_id"], w.client_id.as_str(), "{what}: {seen}");
        assert_eq!(seen["token_type"], "Bearer", "{what}: {seen}");
        assert_eq!(
            words(seen["scope"].as_str().unwrap_or_default()),
            both,
            "{seen}"
        );

        // One product asked for: that product only, in the token and at introspection.
        let token = issued(
            w.exchange(&w.client_id, &w.secret, auth.clone(), &["payments"])
                .await,
            &format!("{what} scope=payments"),
        );
        assert_eq!(scopes_of(&token), words("payments"), "{what}");
        let seen = w.introspect(token.access_token().secret()).await;
        assert_eq!(seen["active"], true, "{what}: {seen}");
        assert_eq!(seen["scope"], "payments", "{what}: {seen}");
        assert_eq!(seen["aud"], json!(["payments"]), "{what}: {seen}");

        // The gateway takes it as it takes an API key.
        let gw = Gateway::new(&w.app, &w.gateway);
        assert_eq!(
            gw.code(token.access_token().secret(), Some("payments"))
                .await,
            "VALID",
            "{what}"
        );
    }
    assert_eq!(w.introspect("not a token").await, json!({"active": false}));
}

#[tokio::test]
async fn oauth2_crate_sees_invalid_client_and_invalid_scope() {
    let w = World::new().await;
    // A well-formed secret nobody holds, and the real one with a character changed
    // (its checksum then fails), both for the right client id.
    let unknown = gatehouse::credentials::PlainSecret::generate(
        "gate",
        gatehouse::credentials::Kind::ClientSecret,
    );
    let mut tampered = w.secret.clone().into_bytes();
    let at = tampered.len() - 8;
    tampered[at] = if tampered[at] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        for (what, secret) in [
            ("unknown secret", unknown.expose()),
            ("tampered secret", &tampered),
        ] {
            let result = w.exchange(&w.client_id, secret, auth.clone(), &[]).await;
            expect_error(
                result,
                &BasicErrorResponseType::InvalidClient,
                &format!("{auth:?} {what}"),
            );
        }
        let result = w
            .exchange("gate_cid_nobody", &w.secret, auth.clone(), &[])
            .await;
        expect_error(
            result,
            &BasicErrorResponseType::InvalidClient,
            &format!("{auth:?} unknown client"),
        );
        let result = w
            .exchange(&w.client_id, &w.secret, auth.clone(), &["unsubscribed"])
            .await;
        expect_error(
            result,
            &BasicErrorResponseType::InvalidScope,
            &format!("{auth:?} unknown scope"),
        );
    }

    // A product of the organisation the app has no subscription to is out of its scope.
    w.admin
        .post(
            "/api/v1/products",
            json!({"name": "Other", "slug": "other", "approval_mode": "auto"}),
        )
        .await
        .expect(201);
    let result = w
        .exchange(&w.client_id, &w.secret, AuthType::BasicAuth, &["other"])
        .await;
    expect_error(
        result,
        &BasicErrorResponseType::InvalidScope,
        "unsubscribed product",
    );

    // The refusals changed nothing: the right secret still works.
    let token = issued(
        w.exchange(&w.client_id, &w.secret, AuthType::BasicAuth, &[])
            .await,
        "after the refusals",
    );
    assert_eq!(*token.token_type(), BasicTokenType::Bearer);
}
