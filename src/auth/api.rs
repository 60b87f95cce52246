//! Who is calling the management API: a bearer token, resolved to its user, its
//! organisation and the role it carries now. Read-only tokens are refused on any
//! request that changes state, before the handler runs.

use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

use crate::auth::LocalFuture;
use crate::auth::policy::{self, OrgAction, Role, TokenAccess};
use crate::error::{AppError, AppResult};
use crate::models::api_tokens::ApiToken;
use crate::models::orgs::Organisation;
use crate::models::users::User;
use crate::services::{self, Ctx};
use crate::state::AppState;

/// The caller of an `/api/v1` endpoint.
#[derive(Debug, Clone)]
pub struct ApiActor {
    pub token: ApiToken,
    pub user: User,
    pub org: Organisation,
    /// The role the token acts with (see `policy::token_role`).
    pub role: Role,
    pub ctx: Ctx,
}

impl ApiActor {
    /// Asks the policy, as `OrgScope::authorize` does for pages.
    pub fn authorize(&self, action: OrgAction) -> AppResult<Role> {
        policy::org(Some(self.role), action)?;
        Ok(self.role)
    }

    pub fn role(&self) -> Option<Role> {
        Some(self.role)
    }
}

/// Whose token a request came with (ids only), known once the token is found, even
/// when the request is then refused: for the access log.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user_id: String,
    pub token_id: String,
}

/// The token from `Authorization: Bearer <token>`.
fn bearer(req: &HttpRequest) -> AppResult<String> {
    let missing = || {
        AppError::Unauthorized(
            "Send an API token in the Authorization header: \"Authorization: Bearer <token>\"."
                .into(),
        )
    };
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_string())
}

impl FromRequest for ApiActor {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(cached) = req.extensions().get::<ApiActor>().cloned() {
            return Box::pin(async move { Ok(cached) });
        }
        let req = req.clone();
        Box::pin(async move {
            let presented = bearer(&req)?;
            let state = AppState::from_req(&req)?;
            let now = state.clock.now_naive();
            let st = state.clone();
            let found = state
                .db(move |conn| services::tokens::authenticate(conn, &st.secrets, &presented, now))
                .await?;
            let access = TokenAccess::parse(&found.token.access)
                .ok_or_else(|| AppError::internal("unknown token access"))?;
            let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
            let actor = ApiActor {
                ctx: Ctx {
                    actor_id: Some(found.user.id.clone()),
                    ip: Some(crate::state::client_ip(&req)),
                    now,
                },
                token: found.token,
                user: found.user,
                org: found.org,
                role: found.role,
            };
            // Known before the access check, so a refusal is logged with who made it.
            req.extensions_mut().insert(ApiCaller {
                user_id: actor.user.id.clone(),
                token_id: actor.token.id.clone(),
            });
            policy::token_request(access, write)?;
            req.extensions_mut().insert(actor.clone());
            Ok(actor)
        })
    }
}
