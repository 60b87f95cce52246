//! An app's credentials in the API: list, rotate with an overlap, reset, add a JWT
//! public key, retire one, restrict an API key to IP ranges. New secrets appear only
//! in the response that made them.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::apps::{CredentialOut, NewSecret, load};
use super::body::OptionalJson;
use super::support::{self, Created, PageQuery, check_id, create_once, json, unacceptable};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::AppAction;
use crate::crypto::random_base62;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::methods;
use crate::models::apps::{self, Credential};
use crate::services::apps::Issuer;
use crate::services::{self};

#[derive(OpenApi)]
#[openapi(paths(list_credentials, rotate, reset, add_key, retire, update_credential))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/apps/{id}/credentials",
        methods::get().to(list_credentials),
    )
    .route("/apps/{id}/rotate", methods::post().to(rotate))
    .route("/apps/{id}/reset", methods::post().to(reset))
    .route("/apps/{id}/keys", methods::post().to(add_key))
    .route(
        "/apps/{id}/credentials/{credential_id}/retire",
        methods::post().to(retire),
    )
    .route(
        "/apps/{id}/credentials/{credential_id}",
        methods::patch().to(update_credential),
    );
}

api_list!(CredentialList, CredentialOut);

/// The credential just added to an app (rotation, reset, new key).
fn newest_credential(conn: &mut DbConnection, app_id: &str) -> AppResult<Credential> {
    apps::credentials_of(conn, app_id)?
        .into_iter()
        .max_by(|x, y| (x.created_at, &x.id).cmp(&(y.created_at, &y.id)))
        .ok_or_else(|| AppError::internal("no credential after adding one"))
}

/// The app's credentials (never their secrets), oldest first.
#[utoipa::path(get, path = "/api/v1/apps/{id}/credentials", tag = "apps",
    params(("id" = String, Path, description = "The app's id."), PageQuery),
    responses((status = 200, body = CredentialList, description = "The credentials.")))]
pub async fn list_credentials(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let window = page.window()?;
    let now = actor.ctx.now;
    let list = state
        .db(move |conn| {
            let (app, _) = load(conn, &actor, &id, AppAction::View)?;
            Ok(apps::credentials_page(conn, &app.id, &window)?)
        })
        .await?;
    let page = support::Paged::from(list.map(|c| CredentialOut::new(&c, now)));
    Ok(json(&CredentialList::from(page)))
}

/// How long the old secret keeps working.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct RotateIn {
    /// Seconds the old credential keeps working (0: stops at once). At most the
    /// instance's maximum overlap, and the app's products' maximum lifetime.
    #[schema(minimum = 0)]
    #[serde(default)]
    pub overlap_seconds: u64,
    /// A label for the new credential.
    #[schema(max_length = 60)]
    #[serde(default)]
    pub label: String,
}

/// A new secret for an app.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    pub app_id: String,
    /// The new credential as it will be listed.
    pub credential: CredentialOut,
    /// The new secret, shown only here.
    pub secret: NewSecret,
}

async fn new_secret(
    req: HttpRequest,
    actor: ApiActor,
    state: State,
    app_id: String,
    input: RotateIn,
) -> AppResult<HttpResponse> {
    let max = Duration::from_std(state.config.max_credential_overlap)
        .map_err(|_| AppError::internal("maximum overlap out of range"))?;
    let overlap = i64::try_from(input.overlap_seconds)
        .ok()
        .and_then(Duration::try_seconds)
        .filter(|o| *o <= max)
        .ok_or_else(|| {
            AppError::invalid(format!(
                "overlap_seconds can be at most {} on this instance.",
                max.num_seconds()
            ))
        })?;
    let st = state.clone();
    let a = actor.clone();
    let label = input.label.clone();
    create_once(&state, &actor, &req, &input, move |conn| {
        let (app, _) = load(conn, &a, &app_id, AppAction::Manage)?;
        let issuer = Issuer {
            prefix: &st.config.credential_prefix,
            hasher: &st.secrets,
        };
        let nonce = format!("api:{}", random_base62(24));
        // The service says "bad request" for an overlap over the products' cap.
        let rotation = services::apps::Rotation {
            nonce: &nonce,
            overlap,
            max_overlap: max,
            label: &label,
        };
        let revealed =
            services::apps::rotate(conn, &a.ctx, &app, issuer, rotation).map_err(unacceptable)?;
        let newest = newest_credential(conn, &app.id)?;
        Created::new(
            &Rotated {
                app_id: app.id.clone(),
                credential: CredentialOut::new(&newest, a.ctx.now),
                secret: NewSecret::new(&revealed, Some(newest.id.clone())),
            },
            Some(format!("/api/v1/apps/{}/credentials", app.id)),
        )
    })
    .await
}

/// Issues a new API key or client secret; the old one keeps working for
/// `overlap_seconds`, then stops.
#[utoipa::path(post, path = "/api/v1/apps/{id}/rotate", tag = "apps",
    request_body(content = Option<RotateIn>, description = "Optional: may be left out."),
    params(("id" = String, Path, description = "The app's id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key rotate once.")),
    responses((status = 201, body = Rotated, description = "The new secret, shown only here.")))]
pub async fn rotate(
    req: HttpRequest,
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: OptionalJson<RotateIn>,
) -> AppResult<HttpResponse> {
    new_secret(req, actor, state, path.into_inner(), body.into_inner()).await
}

/// Optional label for the new credential of a reset.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ResetIn {
    #[schema(max_length = 60)]
    #[serde(default)]
    pub label: String,
}

/// Replaces the secret at once: the old one stops working now (a leaked key).
#[utoipa::path(post, path = "/api/v1/apps/{id}/reset", tag = "apps",
    request_body(content = Option<ResetIn>, description = "Optional: may be left out."),
    params(("id" = String, Path, description = "The app's id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key reset once.")),
    responses((status = 201, body = Rotated, description = "The new secret, shown only here.")))]
pub async fn reset(
    req: HttpRequest,
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: OptionalJson<ResetIn>,
) -> AppResult<HttpResponse> {
    let label = body.into_inner().label;
    let input = RotateIn {
        overlap_seconds: 0,
        label,
    };
    new_secret(req, actor, state, path.into_inner(), input).await
}

/// A public key for a JWT app.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct KeyIn {
    /// PEM SubjectPublicKeyInfo (RSA ≥ 2048 bits, P-256, P-384, Ed25519) or a JWK.
    #[schema(max_length = 20000)]
    pub public_key: String,
    #[schema(max_length = 60)]
    #[serde(default)]
    pub label: String,
}

/// Adds a public key to a JWT app (rotate by adding the new key, then retiring the old).
#[utoipa::path(post, path = "/api/v1/apps/{id}/keys", tag = "apps",
    request_body = KeyIn,
    params(("id" = String, Path, description = "The app's id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key add it once.")),
    responses((status = 201, body = CredentialOut, description = "The new key's credential.")))]
pub async fn add_key(
    req: HttpRequest,
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: web::Json<KeyIn>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let input = body.into_inner();
    let key = crate::public_keys::parse(&input.public_key).map_err(AppError::invalid)?;
    let a = actor.clone();
    let label = input.label.clone();
    create_once(&state, &actor, &req, &input, move |conn| {
        let (app, _) = load(conn, &a, &id, AppAction::Manage)?;
        services::apps::add_public_key(conn, &a.ctx, &app, &key, &label).map_err(unacceptable)?;
        let newest = newest_credential(conn, &app.id)?;
        Created::new(
            &CredentialOut::new(&newest, a.ctx.now),
            Some(format!("/api/v1/apps/{}/credentials", app.id)),
        )
    })
    .await
}

/// Retires one credential now (the old one during an overlap, or an old JWT key).
#[utoipa::path(post, path = "/api/v1/apps/{id}/credentials/{credential_id}/retire", tag = "apps",
    params(("id" = String, Path, description = "The app's id."),
        ("credential_id" = String, Path, description = "The credential's id.")),
    responses((status = 200, body = CredentialOut, description = "The retired credential.")))]
pub async fn retire(
    actor: ApiActor,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, credential_id) = path.into_inner();
    check_id(&credential_id)?;
    let now = actor.ctx.now;
    let cred = state
        .db(move |conn| {
            let (app, _) = load(conn, &actor, &id, AppAction::Manage)?;
            if !apps::credentials_of(conn, &app.id)?
                .iter()
                .any(|c| c.id == credential_id)
            {
                return Err(AppError::NotFound);
            }
            services::apps::retire_credential(conn, &actor.ctx, &app, &credential_id)?;
            apps::credentials_of(conn, &app.id)?
                .into_iter()
                .find(|c| c.id == credential_id)
                .ok_or(AppError::NotFound)
        })
        .await?;
    Ok(json(&CredentialOut::new(&cred, now)))
}

/// Changes to a credential; fields left out keep their values.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CredentialUpdate {
    /// API keys only: the addresses and CIDR ranges the key may be used from
    /// (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`; at most 100 distinct), or `[]`
    /// for any address. A range must not have bits set after its prefix
    /// (`10.0.0.1/8` is refused: write `10.0.0.0/8`). Verification refuses a request
    /// from elsewhere, or without a client address, with `FORBIDDEN_IP`.
    #[schema(example = json!(["10.0.0.0/8", "2001:db8::/32"]))]
    pub allowed_ips: Option<Vec<String>>,
}

/// Restricts an API key to IP ranges (or lifts the restriction with `[]`). Setting
/// the list the key already has changes nothing.
#[utoipa::path(patch, path = "/api/v1/apps/{id}/credentials/{credential_id}", tag = "apps",
    request_body = CredentialUpdate,
    params(("id" = String, Path, description = "The app's id."),
        ("credential_id" = String, Path, description = "The credential's id.")),
    responses((status = 200, body = CredentialOut, description = "The credential as it is now.")))]
pub async fn update_credential(
    actor: ApiActor,
    state: State,
    path: web::Path<(String, String)>,
    body: web::Json<CredentialUpdate>,
) -> AppResult<HttpResponse> {
    let (id, credential_id) = path.into_inner();
    check_id(&credential_id)?;
    let nets = body
        .into_inner()
        .allowed_ips
        .map(|list| parse_allowed_ips(&list))
        .transpose()?;
    let now = actor.ctx.now;
    let cred = state
        .db(move |conn| {
            let (app, _) = load(conn, &actor, &id, AppAction::Manage)?;
            let find = |conn: &mut DbConnection| -> AppResult<Credential> {
                apps::credentials_of(conn, &app.id)?
                    .into_iter()
                    .find(|c| c.id == credential_id)
                    .ok_or(AppError::NotFound)
            };
            find(conn)?;
            if let Some(nets) = &nets {
                services::apps::set_allowed_ips(conn, &actor.ctx, &app, &credential_id, nets)
                    .map_err(unacceptable)?;
            }
            find(conn)
        })
        .await?;
    Ok(json(&CredentialOut::new(&cred, now)))
}

/// The API's list: one address or range per item (422 naming the bad ones).
fn parse_allowed_ips(list: &[String]) -> AppResult<Vec<ipnet::IpNet>> {
    use crate::verify::allowlist;
    if let Some(bad) = list.iter().find(|e| {
        let e = e.trim();
        e.is_empty() || e.contains(|c: char| c == ',' || c.is_whitespace())
    }) {
        return Err(AppError::invalid(format!(
            "Each item of allowed_ips must be one address or range; {bad:?} is not."
        )));
    }
    allowlist::parse(&list.join("\n")).map_err(AppError::invalid)
}
