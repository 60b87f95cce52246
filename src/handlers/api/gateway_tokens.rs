//! Gateway tokens in the API: organisation admins create (the token is in the
//! creating response only), list, read and revoke the tokens their API gateways send
//! to the verify endpoints.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::support::{self, Created, PageQuery, Time, json, opt_time, time};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{self, OrgAction};
use crate::error::AppResult;
use crate::methods;
use crate::services::apps::Issuer;
use crate::services::gateway_tokens::{self as service, Listed, NewGatewayToken};

#[derive(OpenApi)]
#[openapi(paths(
    list_gateway_tokens,
    create_gateway_token,
    get_gateway_token,
    revoke_gateway_token
))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/gateway-tokens", methods::get().to(list_gateway_tokens))
        .route("/gateway-tokens", methods::post().to(create_gateway_token))
        .route("/gateway-tokens/{id}", methods::get().to(get_gateway_token))
        .route(
            "/gateway-tokens/{id}",
            methods::delete().to(revoke_gateway_token),
        );
}

/// A new gateway token.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewGatewayTokenIn {
    /// Which gateway holds it; unique among the organisation's live tokens.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The slug of a live product of the organisation: the one
    /// `GET /api/v1/auth-request` checks when the gateway sends no product. Left out
    /// or `null`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 40)]
    pub default_product: Option<String>,
}

/// A gateway token just created, with the token itself: shown in this response only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedGatewayTokenOut {
    pub id: String,
    pub name: String,
    /// The token (`gate_gw_…`). Store it in the gateway's configuration now: it is
    /// kept only as a hash and never shown again.
    pub token: String,
    pub prefix: String,
    pub last4: String,
    /// The default product's slug; `null`: none.
    pub default_product: Option<String>,
    pub created_at: Time,
}

/// A gateway token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayTokenOut {
    pub id: String,
    pub name: String,
    /// The readable start of the token (`gate_gw_`).
    pub prefix: String,
    /// The token's last four characters.
    pub last4: String,
    /// The default product's slug; `null`: none.
    pub default_product: Option<String>,
    /// The id of the person who created it.
    pub created_by: String,
    pub created_at: Time,
    /// When a gateway last used it (recorded in batches); `null`: never.
    pub last_used_at: Option<Time>,
    /// `null` while it works.
    pub revoked_at: Option<Time>,
}

impl GatewayTokenOut {
    fn new(l: &Listed) -> Self {
        let t = &l.token;
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            last4: t.last4.clone(),
            default_product: l.default_product.as_ref().map(|p| p.slug.clone()),
            created_by: t.created_by.clone(),
            created_at: time(t.created_at),
            last_used_at: opt_time(t.last_used_at),
            revoked_at: opt_time(t.revoked_at),
        }
    }
}

api_list!(GatewayTokenList, GatewayTokenOut);

/// List the organisation's gateway tokens
///
/// Organisation admins only. Revoked tokens included, oldest first.
#[utoipa::path(get, path = "/api/v1/gateway-tokens", tag = "gateway tokens",
    params(PageQuery),
    responses((status = 200, body = GatewayTokenList, description = "One page of gateway tokens, oldest first.")))]
pub async fn list_gateway_tokens(
    actor: ApiActor,
    state: State,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageGatewayTokens)?;
    let window = page.window()?;
    let org_id = actor.org.id.clone();
    let list = state
        .db(move |conn| {
            let page = service::list(conn, &org_id, &window, false)?;
            Ok(page.map(|l| GatewayTokenOut::new(&l)))
        })
        .await?;
    Ok(json(&GatewayTokenList::from(support::Paged::from(list))))
}

/// Create a gateway token
///
/// Organisation admins only. The token is in this response only. Accepts an
/// `Idempotency-Key` (a replay returns the response with the token replaced by a
/// note).
#[utoipa::path(post, path = "/api/v1/gateway-tokens", tag = "gateway tokens",
    request_body = NewGatewayTokenIn,
    responses((
        status = 201,
        body = CreatedGatewayTokenOut,
        description = "The token is created; copy `token` now.",
        headers(("Location" = String, description = "The token's URL."))
    )))]
pub async fn create_gateway_token(
    actor: ApiActor,
    state: State,
    req: HttpRequest,
    body: web::Json<NewGatewayTokenIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageGatewayTokens)?;
    let body = body.into_inner();
    let new = NewGatewayToken {
        name: body.name.clone(),
        default_product: body.default_product.clone(),
    };
    let st = state.clone();
    let ctx = actor.ctx.clone();
    let org = actor.org.clone();
    let user_id = actor.user.id.clone();
    support::create_once(&state, &actor, &req, &body, move |conn| {
        let issuer = Issuer {
            prefix: &st.config.credential_prefix,
            hasher: &st.secrets,
        };
        let (token, secret) = service::create(conn, &ctx, &org, &user_id, issuer, new, None)?;
        let shown = service::get(conn, &org.id, &token.id)?;
        let out = CreatedGatewayTokenOut {
            id: token.id.clone(),
            name: token.name.clone(),
            token: secret.expose().to_string(),
            prefix: token.prefix.clone(),
            last4: token.last4.clone(),
            default_product: shown.default_product.map(|p| p.slug),
            created_at: time(token.created_at),
        };
        Created::new(&out, Some(format!("/api/v1/gateway-tokens/{}", token.id)))
    })
    .await
}

/// Read a gateway token
///
/// Organisation admins only; never the token itself.
#[utoipa::path(get, path = "/api/v1/gateway-tokens/{id}", tag = "gateway tokens",
    params(("id" = String, Path, description = "The gateway token's id.")),
    responses((status = 200, body = GatewayTokenOut, description = "The gateway token.")))]
pub async fn get_gateway_token(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    support::check_id(&id)?;
    policy::gateway_token(actor.role())?;
    let org_id = actor.org.id.clone();
    let out = state
        .db(move |conn| Ok(GatewayTokenOut::new(&service::get(conn, &org_id, &id)?)))
        .await?;
    Ok(json(&out))
}

/// Revoke a gateway token
///
/// Organisation admins only. Gateways sending it are refused from then on.
#[utoipa::path(delete, path = "/api/v1/gateway-tokens/{id}", tag = "gateway tokens",
    params(("id" = String, Path, description = "The gateway token's id.")),
    responses((status = 204, description = "Revoked.")))]
pub async fn revoke_gateway_token(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    support::check_id(&id)?;
    policy::gateway_token(actor.role())?;
    let ctx = actor.ctx.clone();
    let org_id = actor.org.id.clone();
    let user_id = actor.user.id.clone();
    state
        .db(move |conn| service::revoke(conn, &ctx, &org_id, &user_id, &id).map(drop))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
