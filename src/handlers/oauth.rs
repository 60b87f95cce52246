//! The OAuth2 endpoints: `POST /oauth/token` (RFC 6749: client_credentials and
//! refresh_token), `POST /oauth/introspect` (RFC 7662, for gateways),
//! `POST /oauth/revoke` (RFC 7009), `GET /.well-known/oauth-authorization-server`
//! (RFC 8414) and `GET /.well-known/jwks.json`; and `POST /api/v1/login`, the JSON
//! exchange (an API key for a static token; client credentials or a refresh token for
//! an access and refresh token pair).
//!
//! These endpoints read their own bodies, so every failure — a wrong content type, a
//! body too large, a duplicated parameter — is answered in the protocol's own error
//! format (RFC 6749 §5.2 JSON; a problem document with an `error` member at
//! `/api/v1/login`), never the generic problem document.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64ct::{Base64, Encoding};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::error::AppResult;
use crate::services::oauth::{
    self, Client, ErrorCode, Failure, Issued, Issuer, JWT_BEARER, OAuthError,
};
use crate::state::AppState;
use crate::verify::verifier::{Introspected, Verifier};

type State = web::Data<AppState>;

/// The largest body the OAuth endpoints read.
const BODY_LIMIT: usize = 16 * 1024;

/// Registers the endpoints; call before the `/api/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use actix_web::http::Method;
    let post = || crate::methods::on(Method::POST);
    let get = || crate::methods::on(Method::GET);
    cfg.service(web::resource("/oauth/token").guard(post()).to(token))
        .service(
            web::resource("/oauth/introspect")
                .guard(post())
                .to(introspect),
        )
        .service(web::resource("/oauth/revoke").guard(post()).to(revoke))
        .service(web::resource("/api/v1/login").guard(post()).to(login))
        .service(
            web::resource("/.well-known/oauth-authorization-server")
                .guard(get())
                .to(metadata),
        )
        .service(
            web::resource("/.well-known/jwks.json")
                .guard(get())
                .to(jwks),
        );
}

/// What issuing needs, owned, so it can move onto the blocking pool.
struct Issuing {
    verifier: std::sync::Arc<Verifier>,
    hasher: crate::credentials::SecretHasher,
    settings: crate::config::TokenSettings,
    public_url: String,
    prefix: String,
}

impl Issuing {
    fn of(state: &AppState) -> Issuing {
        Issuing {
            verifier: state.verifier.clone(),
            hasher: state.secrets.clone(),
            settings: state.config.tokens,
            public_url: state.config.public_url.join(""),
            prefix: state.config.credential_prefix.clone(),
        }
    }

    fn issuer(&self) -> Issuer<'_> {
        Issuer {
            verifier: &self.verifier,
            hasher: &self.hasher,
            settings: self.settings,
            public_url: &self.public_url,
            prefix: &self.prefix,
        }
    }
}

/// Runs `f` with a connection; a refusal stays a refusal, a database failure
/// becomes the usual 500.
async fn with_db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::db::DbConnection, &Issuer<'_>) -> Result<T, Failure> + Send + 'static,
) -> AppResult<Result<T, OAuthError>> {
    let issuing = Issuing::of(state);
    state
        .db(move |conn| match f(conn, &issuing.issuer()) {
            Ok(v) => Ok(Ok(v)),
            Err(Failure::Refused(e)) => Ok(Err(e)),
            Err(Failure::Db(e)) => Err(e.into()),
        })
        .await
}

fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    json_bytes(status, body.to_string().into_bytes())
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .content_type("application/json")
        .body(body)
}

/// An RFC 6749 §5.2 error response.
fn oauth_error(e: &OAuthError) -> HttpResponse {
    let body = serde_json::json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut res = if e.code == ErrorCode::InvalidClient {
        json(StatusCode::UNAUTHORIZED, &body)
    } else {
        json(StatusCode::BAD_REQUEST, &body)
    };
    if e.code == ErrorCode::InvalidClient {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gatehouse\""),
        );
    }
    res
}

fn invalid_request(why: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, why)
}

/// Reads the whole body, at most [`BODY_LIMIT`] bytes.
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, OAuthError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| invalid_request("The request body could not be read."))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(invalid_request(format!(
                "The request body is larger than {} KiB.",
                BODY_LIMIT / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The form parameters of an OAuth request (RFC 6749 §3.2: each at most once).
struct Form(Vec<(String, String)>);

impl Form {
    async fn read(req: &HttpRequest, payload: web::Payload) -> Result<Form, OAuthError> {
        if media_type(req) != "application/x-www-form-urlencoded" {
            return Err(invalid_request(
                "Send the parameters as application/x-www-form-urlencoded.",
            ));
        }
        let body = read_body(payload).await?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| invalid_request("The form body is not valid URL encoding."))?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(invalid_request(format!(
                    "The parameter \"{name}\" is given more than once."
                )));
            }
        }
        Ok(Form(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// How the client authenticated.
enum ClientAuth {
    Secret {
        client_id: String,
        secret: String,
    },
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    None,
}

fn form_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// The client authentication of a request: HTTP Basic (RFC 6749 §2.3.1: id and secret
/// form-encoded, then base64), form fields, or a client assertion — exactly one.
fn client_auth(req: &HttpRequest, form: &Form) -> Result<ClientAuth, OAuthError> {
    let invalid_client = |why: &str| OAuthError::new(ErrorCode::InvalidClient, why.to_string());
    let basic = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().unwrap_or_default().trim();
            let Some((scheme, encoded)) = value.split_once(' ') else {
                return Err(invalid_client(
                    "The Authorization header is not HTTP Basic.",
                ));
            };
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(invalid_client(
                    "Authenticate the client with HTTP Basic, form fields or a client assertion.",
                ));
            }
            let decoded = Base64::decode_vec(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    invalid_client("The HTTP Basic credentials are not valid base64.")
                })?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid_client("The HTTP Basic credentials have no \":\"."))?;
            let id = form_decode(id).unwrap_or_else(|| id.to_string());
            let secret = form_decode(secret).unwrap_or_else(|| secret.to_string());
            Some((id, secret))
        }
    };
    let (form_id, form_secret) = (form.get("client_id"), form.get("client_secret"));
    let assertion = form.get("client_assertion");
    let assertion_type = form.get("client_assertion_type");
    let methods = usize::from(basic.is_some())
        + usize::from(form_secret.is_some())
        + usize::from(assertion.is_some() || assertion_type.is_some());
    if methods > 1 {
        return Err(invalid_request(
            "Use exactly one client authentication method (HTTP Basic, client_secret in the \
             body, or a client assertion).",
        ));
    }
    if let Some((id, secret)) = basic {
        if form_id.is_some_and(|f| f != id) {
            return Err(invalid_request(
                "The client_id in the body is not the one in the Authorization header.",
            ));
        }
        return Ok(ClientAuth::Secret {
            client_id: id,
            secret,
        });
    }
    if let Some(secret) = form_secret {
        let client_id =
            form_id.ok_or_else(|| invalid_request("client_secret needs its client_id."))?;
        return Ok(ClientAuth::Secret {
            client_id: client_id.to_string(),
            secret: secret.to_string(),
        });
    }
    match (assertion_type, assertion) {
        (Some(JWT_BEARER), Some(assertion)) => Ok(ClientAuth::Assertion {
            client_id: form_id.map(str::to_string),
            assertion: assertion.to_string(),
        }),
        (Some(JWT_BEARER), None) => Err(invalid_request("client_assertion is missing.")),
        (Some(_), _) => Err(invalid_client(
            "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        )),
        (None, Some(_)) => Err(invalid_request("client_assertion_type is missing.")),
        (None, None) => Ok(ClientAuth::None),
    }
}

/// Authenticates the client; `Ok(None)` when none was presented.
async fn authenticate(
    state: &State,
    auth: ClientAuth,
) -> AppResult<Result<Option<Client>, OAuthError>> {
    let now = state.clock.now_naive();
    match auth {
        ClientAuth::None => Ok(Ok(None)),
        ClientAuth::Secret { client_id, secret } => {
            let issuing = Issuing::of(state);
            Ok(oauth::authenticate_secret(&issuing.issuer(), &client_id, &secret, now).map(Some))
        }
        ClientAuth::Assertion {
            client_id,
            assertion,
        } => Ok(with_db(state, move |conn, issuer| {
            oauth::authenticate_assertion(conn, issuer, &assertion, client_id.as_deref(), now)
        })
        .await?
        .map(Some)),
    }
}

fn token_response(issued: &Issued, refresh: Option<&str>) -> serde_json::Value {
    let mut body = serde_json::json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    });
    if let Some(rt) = refresh {
        body["refresh_token"] = rt.into();
    }
    body
}

/// `POST /oauth/token`.
async fn token(state: State, req: HttpRequest, payload: web::Payload) -> AppResult<HttpResponse> {
    let form = match Form::read(&req, payload).await {
        Ok(f) => f,
        Err(e) => return Ok(oauth_error(&e)),
    };
    let auth = match client_auth(&req, &form) {
        Ok(a) => a,
        Err(e) => return Ok(oauth_error(&e)),
    };
    let now = state.clock.now_naive();
    let grant_type = form.get("grant_type").map(str::to_string);
    let scope = form.get("scope").map(str::to_string);
    match grant_type.as_deref() {
        None => Ok(oauth_error(&invalid_request("grant_type is missing."))),
        Some("client_credentials") => {
            let client = match authenticate(&state, auth).await? {
                Ok(Some(c)) => c,
                Ok(None) => {
                    return Ok(oauth_error(&OAuthError::new(
                        ErrorCode::InvalidClient,
                        "Authenticate the client: HTTP Basic with the client id and secret, \
                         client_id and client_secret in the body, or a client assertion.",
                    )));
                }
                Err(e) => return Ok(oauth_error(&e)),
            };
            let issuing = Issuing::of(&state);
            match oauth::issue(&issuing.issuer(), &client, scope.as_deref(), false, now) {
                Ok(issued) => Ok(json(StatusCode::OK, &token_response(&issued, None))),
                Err(Failure::Refused(e)) => Ok(oauth_error(&e)),
                Err(Failure::Db(e)) => Err(e.into()),
            }
        }
        Some("refresh_token") => {
            let Some(presented) = form.get("refresh_token").map(str::to_string) else {
                return Ok(oauth_error(&invalid_request("refresh_token is missing.")));
            };
            let client = match authenticate(&state, auth).await? {
                Ok(c) => c,
                Err(e) => return Ok(oauth_error(&e)),
            };
            Ok(
                match refresh_pair(&state, presented, client, scope).await? {
                    Ok(body) => json(StatusCode::OK, &body),
                    Err(e) => oauth_error(&e),
                },
            )
        }
        Some(other) => Ok(oauth_error(&OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "The grant type \"{other}\" is not supported: use client_credentials or refresh_token."
            ),
        ))),
    }
}

/// Spends a refresh token and answers a new access and refresh token pair.
async fn refresh_pair(
    state: &State,
    presented: String,
    client: Option<Client>,
    scope: Option<String>,
) -> AppResult<Result<serde_json::Value, OAuthError>> {
    let now = state.clock.now_naive();
    with_db(state, move |conn, issuer| {
        let (owner, family_scope, secret) =
            oauth::refresh(conn, issuer, &presented, client.as_ref(), now)?;
        // A refresh may narrow the scope, never widen it.
        let scope = match scope {
            Some(asked) => {
                let family: Vec<&str> = family_scope.split(' ').collect();
                if let Some(extra) = asked
                    .split(' ')
                    .find(|s| !s.is_empty() && !family.contains(s))
                {
                    return Err(Failure::Refused(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("\"{extra}\" was not granted to this refresh token."),
                    )));
                }
                asked
            }
            None => family_scope,
        };
        let issued = oauth::issue(issuer, &owner, Some(&scope), true, now)?;
        Ok(token_response(&issued, Some(secret.expose())))
    })
    .await
}

/// `POST /oauth/introspect` (RFC 7662): the caller is a gateway with its token.
async fn introspect(
    state: State,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let now = state.clock.now_naive();
    let Some(gateway) = presented.and_then(|t| state.verifier.gateway(t, now)) else {
        let mut res = json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({
                "error": "invalid_token",
                "error_description": "Send a live gateway token: Authorization: Bearer gate_gw_…",
            }),
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gatehouse\""),
        );
        return Ok(res);
    };
    let form = match Form::read(&req, payload).await {
        Ok(f) => f,
        Err(e) => return Ok(oauth_error(&e)),
    };
    let Some(token) = form.get("token") else {
        return Ok(oauth_error(&invalid_request("token is missing.")));
    };
    // Written straight from the cached claims: nothing copied per request.
    let body = match state.verifier.introspect(&gateway, token, now) {
        None => serde_json::to_vec(&Active::Inactive { active: false }),
        Some(Introspected::Access(cached)) => {
            let c = &cached.claims;
            serde_json::to_vec(&Active::Access {
                active: true,
                token_type: "Bearer",
                client_id: &c.client_id,
                scope: &c.scope,
                sub: &c.sub,
                aud: &c.aud,
                iss: &c.iss,
                exp: c.exp,
                iat: c.iat,
                jti: &c.jti,
                app_id: &c.app_id,
                org: &c.org,
            })
        }
        Some(Introspected::Static {
            app_id,
            org_id,
            exp,
        }) => serde_json::to_vec(&Active::Static {
            active: true,
            token_type: "static",
            app_id: &app_id,
            org: &org_id,
            exp,
        }),
    };
    Ok(json_bytes(StatusCode::OK, body.unwrap_or_default()))
}

/// An introspection answer (RFC 7662 §2.2).
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Active<'a> {
    Inactive {
        active: bool,
    },
    Access {
        active: bool,
        token_type: &'static str,
        client_id: &'a str,
        scope: &'a str,
        sub: &'a str,
        aud: &'a [String],
        iss: &'a str,
        exp: i64,
        iat: i64,
        jti: &'a str,
        app_id: &'a str,
        org: &'a str,
    },
    Static {
        active: bool,
        token_type: &'static str,
        app_id: &'a str,
        org: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        exp: Option<i64>,
    },
}

/// `POST /oauth/revoke` (RFC 7009): a client revokes its own token; 200 whatever the
/// token was.
async fn revoke(state: State, req: HttpRequest, payload: web::Payload) -> AppResult<HttpResponse> {
    let form = match Form::read(&req, payload).await {
        Ok(f) => f,
        Err(e) => return Ok(oauth_error(&e)),
    };
    let auth = match client_auth(&req, &form) {
        Ok(a) => a,
        Err(e) => return Ok(oauth_error(&e)),
    };
    let Some(token) = form.get("token").map(str::to_string) else {
        return Ok(oauth_error(&invalid_request("token is missing.")));
    };
    let client = match authenticate(&state, auth).await? {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Ok(oauth_error(&OAuthError::new(
                ErrorCode::InvalidClient,
                "Authenticate the client to revoke its tokens.",
            )));
        }
        Err(e) => return Ok(oauth_error(&e)),
    };
    let now = state.clock.now_naive();
    match with_db(&state, move |conn, issuer| {
        oauth::revoke(conn, issuer, &client, &token, now)
    })
    .await?
    {
        Ok(()) => Ok(json(StatusCode::OK, &serde_json::json!({}))),
        Err(e) => Ok(oauth_error(&e)),
    }
}

/// The `/api/v1/login` body: one of the three exchanges.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    api_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// A refusal at `/api/v1/login`: a problem document (like the rest of `/api/v1`)
/// with the OAuth error code as its `error` member.
fn login_error(e: &OAuthError) -> HttpResponse {
    let status = match e.code {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/problem+json")
        .body(
            serde_json::json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": e.description,
                "error": e.code.as_str(),
            })
            .to_string(),
        )
}

/// `POST /api/v1/login`.
async fn login(state: State, req: HttpRequest, payload: web::Payload) -> AppResult<HttpResponse> {
    if media_type(&req) != "application/json" {
        return Ok(login_error(&invalid_request(
            "Send a JSON body (Content-Type: application/json).",
        )));
    }
    let body = match read_body(payload).await {
        Ok(b) => b,
        Err(e) => return Ok(login_error(&e)),
    };
    let input: LoginRequest = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return Ok(login_error(&invalid_request(format!(
                "The body is not a valid login request: {e}. Send {{\"api_key\"}}, {{\"client_id\", \
                 \"client_secret\"}} or {{\"refresh_token\"}}."
            ))));
        }
    };
    let now = state.clock.now_naive();
    let answer = match input {
        LoginRequest {
            api_key: Some(key),
            client_id: None,
            client_secret: None,
            refresh_token: None,
            scope: None,
        } => {
            with_db(&state, move |conn, issuer| {
                let token = oauth::exchange_api_key(conn, issuer, &key, now)?;
                Ok(serde_json::json!({ "token": token.expose(), "token_type": "static" }))
            })
            .await?
        }
        LoginRequest {
            api_key: None,
            client_id: Some(client_id),
            client_secret: Some(secret),
            refresh_token: None,
            scope,
        } => {
            let issuing = Issuing::of(&state);
            match oauth::authenticate_secret(&issuing.issuer(), &client_id, &secret, now) {
                Err(e) => Err(e),
                Ok(client) => {
                    with_db(&state, move |conn, issuer| {
                        let issued = oauth::issue(issuer, &client, scope.as_deref(), false, now)?;
                        let refresh =
                            oauth::start_refresh(conn, issuer, &client, &issued.scope, now)?;
                        Ok(token_response(&issued, Some(refresh.expose())))
                    })
                    .await?
                }
            }
        }
        LoginRequest {
            api_key: None,
            client_id: None,
            client_secret: None,
            refresh_token: Some(presented),
            scope,
        } => refresh_pair(&state, presented, None, scope).await?,
        _ => Err(invalid_request(
            "Send exactly one of: {\"api_key\"}, {\"client_id\", \"client_secret\"} or {\"refresh_token\"}.",
        )),
    };
    Ok(match answer {
        Ok(body) => json(StatusCode::OK, &body),
        Err(e) => login_error(&e),
    })
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
async fn metadata(state: State) -> HttpResponse {
    let url = |path: &str| state.config.public_url.join(path);
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    let body = serde_json::json!({
        "issuer": url(""),
        "token_endpoint": url("/oauth/token"),
        "jwks_uri": url("/.well-known/jwks.json"),
        "introspection_endpoint": url("/oauth/introspect"),
        "revocation_endpoint": url("/oauth/revoke"),
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "ES384", "RS256"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "ES384", "RS256"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "service_documentation": url("/api/docs/"),
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(body.to_string())
}

/// `GET /.well-known/jwks.json`: every key that may have signed a live token.
async fn jwks(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(serde_json::json!({ "keys": state.verifier.jwks() }).to_string())
}
