//! API tokens in the API: list the caller's tokens (and, for admins, the
//! organisation's admin tokens) and revoke one. New tokens are made on the portal's
//! pages or with `gatehouse admin token create`, never by another token.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::support::{self, PageQuery, Time, json, opt_time, time};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{self, OrgAction};
use crate::error::{AppError, AppResult};
use crate::methods;
use crate::models::api_tokens::{self, ApiToken, TokenList as TokenScope};
use crate::services;

#[derive(OpenApi)]
#[openapi(paths(list_tokens, revoke_token))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens", methods::get().to(list_tokens))
        .route("/tokens/{id}", methods::delete().to(revoke_token));
}

/// An API token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: String,
    pub name: String,
    /// `personal` or `admin`.
    pub kind: String,
    /// `read` or `write`.
    pub access: String,
    /// The person the token acts for.
    pub user_id: String,
    pub prefix: String,
    pub last4: String,
    pub created_at: Time,
    pub expires_at: Option<Time>,
    pub last_used_at: Option<Time>,
    pub revoked_at: Option<Time>,
    /// Whether this is the token making the request.
    pub current: bool,
}

impl TokenOut {
    fn new(t: &ApiToken, current: &str) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            kind: t.kind.clone(),
            access: t.access.clone(),
            user_id: t.user_id.clone(),
            prefix: t.prefix.clone(),
            last4: t.last4.clone(),
            created_at: time(t.created_at),
            expires_at: opt_time(t.expires_at),
            last_used_at: opt_time(t.last_used_at),
            revoked_at: opt_time(t.revoked_at),
            current: t.id == current,
        }
    }
}

api_list!(TokenList, TokenOut);

/// The caller's own tokens in this organisation, and for admins every admin token
/// of the organisation.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    params(PageQuery),
    responses((status = 200, body = TokenList, description = "The tokens, oldest first.")))]
pub async fn list_tokens(
    actor: ApiActor,
    state: State,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let admin = actor.authorize(OrgAction::ManageAdminTokens).is_ok();
    let window = page.window()?;
    let list = state
        .db(move |conn| {
            let list = TokenScope::Api {
                org_id: &actor.org.id,
                user_id: &actor.user.id,
                every_admin_token: admin,
            };
            let page = api_tokens::page(conn, list, &window, false)?;
            Ok(page.map(|t| TokenOut::new(&t, &actor.token.id)))
        })
        .await?;
    let page = support::Paged::from(list);
    Ok(json(&TokenList::from(page)))
}

/// Revokes a token at once (your own, or as an admin any admin token).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked.")))]
pub async fn revoke_token(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    support::check_id(&id)?;
    state
        .db(move |conn| {
            let token = api_tokens::find(conn, &id)?
                .filter(|t| t.org_id == actor.org.id)
                .ok_or(AppError::NotFound)?;
            policy::revoke_token(
                &actor.user.id,
                actor.role(),
                &token.user_id,
                token.kind == "admin",
            )?;
            services::tokens::revoke(conn, &actor.ctx, &token)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
