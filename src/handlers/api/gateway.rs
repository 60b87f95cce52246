//! The gateway's endpoints: `POST /api/v1/keys/verify` (JSON) and
//! `GET /api/v1/auth-request` (nginx `auth_request`, Traefik ForwardAuth; Envoy's
//! HTTP `ext_authz` keeps the client's method and path, so it calls verify instead).
//! Both authenticate the gateway with a gateway token and answer from the in-memory
//! verify index: no database statement in steady state. They sit outside the
//! management API's scope, whose token check reads the database.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::verify::acceptance::Reason;
use crate::verify::index::{Gateway, Owner};
use crate::verify::limits::{QuotaState, RateState};
use crate::verify::verifier::Verdict;

type State = web::Data<AppState>;

#[derive(OpenApi)]
#[openapi(
    paths(verify, auth_request),
    components(schemas(VerifyRequest, VerifyResponse, VerifiedApp, AppOwner, Limit))
)]
pub struct Doc;

/// Registers both endpoints; call before the `/api/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/keys/verify")
            .app_data(super::support::json_config())
            .guard(crate::methods::on(actix_web::http::Method::POST))
            .to(verify),
    )
    .service(
        web::resource("/api/v1/auth-request")
            .guard(crate::methods::on(actix_web::http::Method::GET))
            .to(auth_request),
    );
}

/// What a gateway asks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The API key the client presented.
    key: String,
    /// The product (slug) the request is for; without it only the key and its app
    /// are checked.
    #[serde(default)]
    product: Option<String>,
    /// The client's address, for keys with an IP allowlist (a key with one is
    /// refused with FORBIDDEN_IP when this is missing).
    #[serde(default)]
    client_ip: Option<String>,
}

/// The app a key belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedApp<'a> {
    id: &'a str,
    name: &'a str,
    owner: AppOwner<'a>,
}

/// Who owns the app: a person or a team (both null: its owner left).
#[derive(Debug, Serialize, ToSchema)]
pub struct AppOwner<'a> {
    user_id: Option<&'a str>,
    team_id: Option<&'a str>,
}

/// A limit's state after this request.
#[derive(Debug, Serialize, ToSchema)]
pub struct Limit {
    limit: u64,
    remaining: u64,
    /// Unix time (seconds) at which the limit is whole again.
    reset: i64,
}

impl From<RateState> for Limit {
    fn from(r: RateState) -> Self {
        Limit {
            limit: r.limit.into(),
            remaining: r.remaining.into(),
            reset: r.reset,
        }
    }
}

impl From<QuotaState> for Limit {
    fn from(q: QuotaState) -> Self {
        Limit {
            limit: q.limit,
            remaining: q.remaining,
            reset: q.reset,
        }
    }
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse<'a> {
    valid: bool,
    /// VALID, or the first reason that applies, in this order: MALFORMED,
    /// NOT_FOUND, REVOKED, EXPIRED, SUSPENDED, REJECTED, PENDING, NOT_SUBSCRIBED,
    /// FORBIDDEN_IP, RATE_LIMITED, QUOTA_EXCEEDED.
    #[schema(example = "VALID")]
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<VerifiedApp<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_id: Option<&'a str>,
    /// The products (slugs) the app is approved for.
    products: Vec<&'a str>,
    /// When the key stops working (the old key of a rotation's overlap).
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The product's per-second rate limit (per instance), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratelimit: Option<Limit>,
    /// The product's quota for the current window, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    quota: Option<Limit>,
    /// Seconds to wait, with RATE_LIMITED and QUOTA_EXCEEDED.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

/// Room for a UUID's text form.
type UuidText = [u8; uuid::fmt::Hyphenated::LENGTH];

fn uuid_text<'b>(bytes: &[u8; 16], buf: &'b mut UuidText) -> &'b str {
    uuid::Uuid::from_bytes(*bytes)
        .hyphenated()
        .encode_lower(buf)
}

/// The JSON answer, written straight from the index's borrowed data.
fn render(v: &Verdict<'_>) -> Vec<u8> {
    let (mut app_id, mut owner_id, mut credential_id) = ([0; 36], [0; 36], [0; 36]);
    let found = v.found.as_ref();
    let owner = match found.map(|f| f.owner()) {
        Some(Owner::User(u)) => AppOwner {
            user_id: Some(uuid_text(&u, &mut owner_id)),
            team_id: None,
        },
        Some(Owner::Team(t)) => AppOwner {
            user_id: None,
            team_id: Some(uuid_text(&t, &mut owner_id)),
        },
        _ => AppOwner {
            user_id: None,
            team_id: None,
        },
    };
    let response = VerifyResponse {
        valid: v.reason.is_valid(),
        code: v.reason.code(),
        credential_id: found.map(|f| uuid_text(&f.credential_id, &mut credential_id) as &str),
        expires_at: found
            .and_then(|f| f.expires)
            .and_then(chrono::DateTime::from_timestamp_micros),
        products: found.map(|f| f.products().collect()).unwrap_or_default(),
        app: found.map(|f| VerifiedApp {
            id: uuid_text(&f.app_id(), &mut app_id),
            name: f.app_name(),
            owner,
        }),
        ratelimit: v.rate.map(Into::into),
        quota: v.quota.map(Into::into),
        retry_after: v.retry_after,
    };
    serde_json::to_vec(&response).unwrap_or_default()
}

/// The gateway behind a request's token header, or the 401 to answer.
fn gateway(state: &AppState, presented: Option<&str>) -> AppResult<Gateway> {
    presented
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .and_then(|t| state.verifier.gateway(t, state.clock.now_naive()))
        .ok_or_else(|| {
            AppError::Unauthorized(
                "Send a live gateway token: Authorization: Bearer gate_gw_… (create one under \
                 Organisation → Gateway tokens)."
                    .into(),
            )
        })
}

/// The gateway named by `Authorization: Bearer`: extracted before the body, so a
/// caller without a live gateway token gets its 401 whatever it sent.
pub struct BearerGateway(Gateway);

impl actix_web::FromRequest for BearerGateway {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            AppState::from_req(req)
                .and_then(|state| gateway(&state, bearer(req)).map(BearerGateway)),
        )
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Verifies an API key for a product.
#[utoipa::path(post, path = "/api/v1/keys/verify", tag = "gateway",
    security(("gateway" = [])),
    request_body = VerifyRequest,
    responses(
        (status = 200, body = VerifyResponse, description = "The answer (valid or not), never cached."),
    ))]
pub async fn verify(
    caller: BearerGateway,
    state: State,
    body: web::Json<VerifyRequest>,
) -> AppResult<HttpResponse> {
    let gw = caller.0;
    let body = body.into_inner();
    let ip = match body.client_ip.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(ip) => Some(ip.parse::<IpAddr>().map_err(|_| {
            AppError::Invalid(vec![format!(
                "client_ip must be an IPv4 or IPv6 address; {:?} is not one.",
                ip.chars().take(60).collect::<String>()
            )])
        })?),
    };
    let product = body
        .product
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let json = state.verifier.verify_with(
        &gw,
        &body.key,
        (product, ip),
        state.clock.now_naive(),
        render,
    );
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(json))
}

/// The status auth-request answers a reason with.
pub fn auth_status(reason: Reason) -> StatusCode {
    match reason {
        Reason::Valid => StatusCode::NO_CONTENT,
        Reason::Malformed | Reason::NotFound | Reason::Revoked | Reason::Expired => {
            StatusCode::UNAUTHORIZED
        }
        Reason::Suspended
        | Reason::Rejected
        | Reason::Pending
        | Reason::NotSubscribed
        | Reason::ForbiddenIp => StatusCode::FORBIDDEN,
        Reason::RateLimited | Reason::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
    }
}

fn refused(status: StatusCode, reason: &'static str) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.insert_header((CACHE_CONTROL, "no-store"))
        .insert_header(("x-gatehouse-reason", reason));
    if status == StatusCode::UNAUTHORIZED {
        r.insert_header((WWW_AUTHENTICATE, "Bearer"));
    }
    r.finish()
}

/// Checks the request nginx is about to proxy: 204 to let it through, else 401, 403
/// or 429 with the reason in `X-Gatehouse-Reason`.
#[utoipa::path(get, path = "/api/v1/auth-request", tag = "gateway",
    security(("gateway_header" = [])),
    params(
        ("X-Gatehouse-Token" = String, Header, description = "The gateway token."),
        ("Authorization" = Option<String>, Header, description = "`Bearer <API key>`, as the client sent it."),
        ("X-API-Key" = Option<String>, Header, description = "The API key, when the client sends it this way."),
        ("X-Gatehouse-Product" = Option<String>, Header, description = "The product (slug); else the gateway token's default product, if any."),
        ("X-Real-IP" = Option<String>, Header, description = "The client's address, believed only when the caller is in `--trusted-proxies` (else `X-Forwarded-For` as everywhere, else the caller's own address)."),
    ),
    responses(
        (status = 204, description = "Let the request through.",
            headers(
                ("X-Gatehouse-App-Id" = String, description = "The app the key belongs to."),
                ("X-Gatehouse-Credential-Id" = String, description = "The key's credential."),
                ("X-RateLimit-Limit" = u32, description = "The product's per-second rate limit, when it has one."),
                ("X-RateLimit-Remaining" = u32, description = "Requests left in it."),
            )),
        (status = 401, description = "No key (MISSING_KEY), or MALFORMED, NOT_FOUND, REVOKED, EXPIRED; or a bad gateway token (GATEWAY_TOKEN).",
            headers(("X-Gatehouse-Reason" = String), ("WWW-Authenticate" = String, description = "`Bearer`."))),
        (status = 403, description = "SUSPENDED, REJECTED, PENDING, NOT_SUBSCRIBED, FORBIDDEN_IP.",
            headers(("X-Gatehouse-Reason" = String))),
        (status = 429, description = "RATE_LIMITED or QUOTA_EXCEEDED.",
            headers(("X-Gatehouse-Reason" = String), ("Retry-After" = u64))),
    ))]
pub async fn auth_request(req: HttpRequest, state: State) -> HttpResponse {
    let Ok(gw) = gateway(&state, header(&req, "x-gatehouse-token")) else {
        return refused(StatusCode::UNAUTHORIZED, "GATEWAY_TOKEN");
    };
    let Some(key) = bearer(&req)
        .filter(|k| !k.is_empty())
        .or_else(|| header(&req, "x-api-key"))
    else {
        return refused(StatusCode::UNAUTHORIZED, "MISSING_KEY");
    };
    let product = header(&req, "x-gatehouse-product").or(gw.default_product.as_deref());
    let ip = crate::state::client_addr(&req, true);
    state
        .verifier
        .verify_with(&gw, key, (product, ip), state.clock.now_naive(), |v| {
            auth_response(v)
        })
}

/// auth-request's answer: the status, and the app in headers when valid.
fn auth_response(verdict: &Verdict<'_>) -> HttpResponse {
    let status = auth_status(verdict.reason);
    if verdict.reason.is_valid() {
        let mut r = HttpResponse::NoContent();
        r.insert_header((CACHE_CONTROL, "no-store"));
        if let Some(found) = &verdict.found {
            let (mut app, mut credential) = ([0; 36], [0; 36]);
            r.insert_header(("x-gatehouse-app-id", uuid_text(&found.app_id(), &mut app)))
                .insert_header((
                    "x-gatehouse-credential-id",
                    uuid_text(&found.credential_id, &mut credential),
                ));
        }
        if let Some(rate) = verdict.rate {
            r.insert_header(("x-ratelimit-limit", rate.limit))
                .insert_header(("x-ratelimit-remaining", rate.remaining));
        }
        return r.finish();
    }
    let mut r = refused(status, verdict.reason.code());
    if let Some(after) = verdict.retry_after {
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(after));
    }
    r
}
