//! Who is asking: database sessions behind an encrypted cookie (`actix-session`, see
//! [`session_store`]), CSRF-checked forms, the password pool, sign-in throttling, and
//! the authorization policy.

pub mod api;
pub mod csrf;
pub mod password;
pub mod policy;
pub mod session_store;
pub mod throttle;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use crate::error::AppError;
use crate::models::users::User;
use crate::services;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "gatehouse_session";

/// The session a signed-in user came with.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    /// The session's public id (the account page's "this session").
    pub id: String,
    /// The token every form of this session carries.
    pub csrf_token: String,
}

/// A signed-in user and the session they came with.
#[derive(Debug)]
pub struct Identity {
    pub user: User,
    pub session: CurrentSession,
}

/// The signed-in user, if any. Loaded once per request and cached.
#[derive(Debug, Clone)]
pub struct MaybeIdentity(pub Option<Arc<Identity>>);

pub(crate) type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for MaybeIdentity {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(cached) = req.extensions().get::<MaybeIdentity>() {
            let cached = cached.clone();
            return Box::pin(async move { Ok(cached) });
        }
        let req = req.clone();
        Box::pin(async move {
            let identity = load_identity(&req).await?;
            let found = MaybeIdentity(identity.map(Arc::new));
            req.extensions_mut().insert(found.clone());
            Ok(found)
        })
    }
}

/// The session middleware has loaded (and timed out) the session; this reads who it
/// belongs to. Outside the portal's routes there is no session, so no one.
async fn load_identity(req: &HttpRequest) -> Result<Option<Identity>, AppError> {
    let Some((user_id, session)) = session_store::current(&req.get_session()) else {
        return Ok(None);
    };
    let state = AppState::from_req(req)?;
    let user = state
        .db(move |conn| Ok(crate::models::users::find(conn, &user_id)?))
        .await?;
    Ok(user.map(|user| Identity { user, session }))
}

/// Inside the session middleware, an error response learns who the viewer is before the
/// session leaves the request, so the error page (rendered by `middleware::observe`,
/// outside) keeps their header.
pub async fn identify_error_pages(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if res.response().error().is_some() {
        // A failure to load leaves the page bare, as before.
        let _ = MaybeIdentity::from_request(res.request(), &mut Payload::None).await;
    }
    Ok(res)
}

/// The signed-in user; anyone else is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Arc<Identity>);

impl std::ops::Deref for SignedIn {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let maybe = MaybeIdentity::from_request(req, payload);
        let next = (req.method() == actix_web::http::Method::GET).then(|| {
            match req.uri().path_and_query() {
                Some(pq) => pq.as_str().to_string(),
                None => req.path().to_string(),
            }
        });
        Box::pin(async move {
            match maybe.await?.0 {
                Some(identity) => Ok(SignedIn(identity)),
                None => Err(AppError::SignInRequired { next }),
            }
        })
    }
}

/// The `{slug}` organisation of the path, with the signed-in user's role in it.
/// Only loads; what the user may do there is the policy's decision.
#[derive(Debug, Clone)]
pub struct OrgScope {
    pub identity: Arc<Identity>,
    pub org: crate::models::orgs::Organisation,
    /// `None` when the user is not a member.
    pub role: Option<policy::Role>,
}

impl OrgScope {
    /// Asks the policy; the `NotFound` of a non-member hides the organisation.
    pub fn authorize(&self, action: policy::OrgAction) -> Result<policy::Role, AppError> {
        policy::org(self.role, action)?;
        self.role.ok_or(AppError::NotFound)
    }

    pub fn ctx(&self, req: &HttpRequest) -> services::Ctx {
        services::Ctx {
            actor_id: Some(self.identity.user.id.clone()),
            ip: Some(crate::state::client_ip(req)),
            now: AppState::from_req(req)
                .map(|s| s.clock.now_naive())
                .unwrap_or_default(),
        }
    }
}

impl FromRequest for OrgScope {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        let slug = req.match_info().get("slug").map(str::to_string);
        let state = AppState::from_req(req);
        Box::pin(async move {
            let identity = signed_in.await?.0;
            let slug = slug.ok_or(AppError::NotFound)?;
            let state = state?;
            let user_id = identity.user.id.clone();
            let (org, membership) = state
                .db(move |conn| {
                    let org = crate::models::orgs::find_by_slug(conn, &slug)?
                        .ok_or(AppError::NotFound)?;
                    let m = crate::models::orgs::membership(conn, &org.id, &user_id)?;
                    Ok((org, m))
                })
                .await?;
            let role = membership.and_then(|m| policy::Role::parse(&m.role));
            // Non-members learn nothing, not even that the organisation exists.
            policy::org(role, policy::OrgAction::View)?;
            Ok(OrgScope {
                identity,
                org,
                role,
            })
        })
    }
}

/// Convenience for handlers that need the state and a `web::Data` clone.
pub type State = web::Data<AppState>;
