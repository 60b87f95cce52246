//! Consumer apps in the API: list, create (the one response that holds the new
//! secret), read, update, revoke, delete, transfer. Credentials (rotate, reset,
//! keys) are in `api::app_credentials`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::body::OptionalJson;
use super::support::{
    self, Created, IfMatch, PageQuery, Time, create_once, json, json_with_etag, opt_time, time,
};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{self, AppAction, AppRelation, OrgAction, OwnerTarget, Role, TeamRole};
use crate::crypto::random_base62;
use crate::db::{DbConnection, lock_app, write_transaction};
use crate::error::{AppError, AppResult};
use crate::methods;
use crate::models::app_list::{AppQuery, AppSort, Owners, Search};
use crate::models::apps::{self, App, Credential};
use crate::models::teams;
use crate::services::apps::{
    AuthType, Created as AppCreatedResult, Issuer, NewApp, Owner, Revealed,
};
use crate::services::{self};

#[derive(OpenApi)]
#[openapi(paths(
    list_apps,
    create_app,
    get_app,
    update_app,
    revoke_app,
    delete_app,
    transfer_app
))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps", methods::get().to(list_apps))
        .route("/apps", methods::post().to(create_app))
        .route("/apps/{id}", methods::get().to(get_app))
        .route("/apps/{id}", methods::patch().to(update_app))
        .route("/apps/{id}", methods::delete().to(delete_app))
        .route("/apps/{id}/revoke", methods::post().to(revoke_app))
        .route("/apps/{id}/transfer", methods::post().to(transfer_app));
}

/// Who owns an app: a person or a team (`null` both: its owner left).
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerOut {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
}

/// A consumer app.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub callback_urls: Vec<String>,
    /// `api_key`, `oauth2` or `jwt`.
    pub auth_type: String,
    /// OAuth2 and JWT apps.
    pub client_id: Option<String>,
    /// `pending`, `active`, `suspended`, `rejected` or `revoked`.
    pub status: String,
    /// Why it is suspended, rejected or revoked.
    pub status_reason: String,
    pub owner: OwnerOut,
    pub created_at: Time,
    pub updated_at: Time,
}

impl From<&App> for AppOut {
    fn from(app: &App) -> Self {
        Self {
            id: app.id.clone(),
            name: app.name.clone(),
            description: app.description.clone(),
            callback_urls: app
                .callback_urls
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            auth_type: app.auth_type.clone(),
            client_id: app.client_id.clone(),
            status: app.status.clone(),
            status_reason: app.status_reason.clone(),
            owner: OwnerOut {
                user_id: app.owner_user_id.clone(),
                team_id: app.owner_team_id.clone(),
            },
            created_at: time(app.created_at),
            updated_at: time(app.updated_at),
        }
    }
}

api_list!(AppList, AppOut);

/// A credential as listed: never its secret, only how to recognise it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialOut {
    pub id: String,
    /// `api_key`, `client_secret` or `public_key`.
    pub kind: String,
    pub label: String,
    /// e.g. `gate_key_`, or the key type of a public key.
    pub prefix: String,
    pub last4: String,
    /// `active`, `expiring`, `expired` or `revoked`.
    pub state: String,
    pub created_at: Time,
    pub expires_at: Option<Time>,
    pub last_used_at: Option<Time>,
    pub revoked_at: Option<Time>,
    /// API keys: the CIDR ranges the key may be used from, canonical and sorted
    /// (a single address as `/32` or `/128`); empty: any address.
    #[schema(example = json!(["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"]))]
    pub allowed_ips: Vec<String>,
}

impl CredentialOut {
    pub fn new(c: &Credential, now: NaiveDateTime) -> Self {
        Self {
            id: c.id.clone(),
            kind: c.kind.clone(),
            label: c.label.clone(),
            prefix: c.prefix.clone(),
            last4: c.last4.clone(),
            state: c.state(now).as_str().to_string(),
            created_at: time(c.created_at),
            expires_at: opt_time(c.expires_at),
            last_used_at: opt_time(c.last_used_at),
            revoked_at: opt_time(c.revoked_at),
            allowed_ips: crate::verify::allowlist::from_column(&c.allowed_ips)
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

/// A secret shown once: in the response that created it, and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    /// The credential the secret belongs to (`null` for JWT apps, whose key you hold).
    pub credential_id: Option<String>,
    /// API-key apps: the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// OAuth2 and JWT apps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OAuth2 apps: the client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl NewSecret {
    pub fn new(revealed: &Revealed, credential_id: Option<String>) -> Self {
        let mut out = Self {
            credential_id,
            api_key: None,
            client_id: None,
            client_secret: None,
        };
        match revealed {
            Revealed::ApiKey { key } => out.api_key = Some(key.expose().to_string()),
            Revealed::ClientSecret { client_id, secret } => {
                out.client_id = Some(client_id.clone());
                out.client_secret = Some(secret.expose().to_string());
            }
            Revealed::PublicKey { client_id } => out.client_id = Some(client_id.clone()),
        }
        out
    }
}

/// A new app with its first credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppCreated {
    #[serde(flatten)]
    pub app: AppOut,
    /// The secret, shown only in this response.
    pub credentials: NewSecret,
}

/// An app the actor may see, and how they stand to it; 404 for anything else.
pub fn load(
    conn: &mut DbConnection,
    actor: &ApiActor,
    id: &str,
    action: AppAction,
) -> AppResult<(App, AppRelation)> {
    super::support::check_id(id)?;
    let app = apps::find_in_org(conn, &actor.org.id, id)?.ok_or(AppError::NotFound)?;
    if app.status == "deleted" {
        return Err(AppError::NotFound);
    }
    let relation = services::apps::relation(conn, &app, &actor.user.id)?;
    policy::app(actor.role(), relation, AppAction::View)?;
    policy::app(actor.role(), relation, action)?;
    Ok((app, relation))
}

/// The team `team_id` as an app's owner, if the policy lets the actor give it one
/// (422 when no such team is in the organisation).
fn team_owner(conn: &mut DbConnection, actor: &ApiActor, team_id: &str) -> AppResult<Owner> {
    let team = crate::validate::is_id_like(team_id)
        .then(|| teams::find_in_org(conn, &actor.org.id, team_id))
        .transpose()?
        .flatten()
        .ok_or_else(|| AppError::invalid("team_id names no team of this organisation."))?;
    let role =
        teams::member(conn, &team.id, &actor.user.id)?.and_then(|m| TeamRole::parse(&m.role));
    policy::app_owner(actor.role(), OwnerTarget::Team(role))?;
    Ok(Owner::Team(team.id))
}

/// `?status=&owner=&q=` on the app list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppFilterQuery {
    /// Only apps with this status.
    #[param(max_length = 20)]
    pub status: Option<String>,
    /// `me` for the caller's own apps, or a team id.
    #[param(max_length = 64)]
    pub owner: Option<String>,
    /// Only apps whose name starts with this (any case), or the app with this id. A
    /// name search lists in name order (its index's order); otherwise oldest first.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

const STATUSES: &[&str] = &["pending", "active", "suspended", "rejected", "revoked"];

/// The apps the token may see: its own and its teams' (all of them for admins).
#[utoipa::path(get, path = "/api/v1/apps", tag = "apps",
    params(AppFilterQuery, PageQuery),
    responses((status = 200, body = AppList, description = "The apps, oldest first (in name order with `q`).")))]
pub async fn list_apps(
    actor: ApiActor,
    state: State,
    filter: web::Query<AppFilterQuery>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let filter = filter.into_inner();
    if let Some(s) = &filter.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(AppError::invalid(format!(
            "status must be one of {}.",
            STATUSES.join(", ")
        )));
    }
    let window = page.window()?;
    let search = Search::parse(filter.q.as_deref().unwrap_or(""));
    let page = state
        .db(move |conn| {
            let admin = actor.role >= Role::Admin;
            let mine: Vec<String> = teams::for_user(conn, &actor.org.id, &actor.user.id)?
                .into_iter()
                .map(|(t, _)| t.id)
                .collect();
            let owners = match filter.owner.as_deref() {
                None if admin => Owners::Everyone,
                None => Owners::Of {
                    user: Some(actor.user.id.clone()),
                    teams: mine,
                },
                Some("me") => Owners::Of {
                    user: Some(actor.user.id.clone()),
                    teams: Vec::new(),
                },
                // A team the caller cannot see lists nothing.
                Some(team) => Owners::Of {
                    user: None,
                    teams: (admin || mine.iter().any(|t| t == team))
                        .then(|| team.to_string())
                        .into_iter()
                        .collect(),
                },
            };
            let statuses: Vec<&str> = match filter.status.as_deref() {
                Some(s) => STATUSES.iter().copied().filter(|x| *x == s).collect(),
                None => STATUSES.to_vec(),
            };
            let query = AppQuery {
                org_id: &actor.org.id,
                owners: &owners,
                statuses: &statuses,
                search: &search,
                orphaned_reason: None,
                sort: match search {
                    Search::NamePrefix(_) => AppSort::Name,
                    _ => AppSort::Oldest,
                },
            };
            Ok(query.page(conn, &window)?.map(|a| AppOut::from(&a)))
        })
        .await?;
    Ok(json(&AppList::from(support::Paged::from(page))))
}

/// A new app.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewAppIn {
    #[schema(max_length = 100)]
    pub name: String,
    #[schema(max_length = 2000)]
    #[serde(default)]
    pub description: String,
    /// Absolute https:// URLs (http:// only for localhost), at most 20.
    #[serde(default)]
    pub callback_urls: Vec<String>,
    /// `api_key`, `oauth2` or `jwt`; fixed for the app's life.
    pub auth_type: String,
    /// Products (slugs or ids) to subscribe to at once.
    #[serde(default)]
    pub products: Vec<String>,
    /// A note to the approver, for products that need approval.
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub note: String,
    /// Give the app to this team instead of the caller.
    pub team_id: Option<String>,
    /// JWT apps: the public key (PEM SubjectPublicKeyInfo or a JWK).
    pub public_key: Option<String>,
    /// A label for the first credential.
    #[schema(max_length = 60)]
    #[serde(default)]
    pub label: String,
}

fn check_new(conn: &mut DbConnection, actor: &ApiActor, input: &NewAppIn) -> AppResult<NewApp> {
    let mut errors = Vec::new();
    let details = services::apps::check_details(
        &input.name,
        &input.description,
        &input.callback_urls.join("\n"),
    )
    .map_err(|e| errors.extend(e))
    .ok();
    if input.callback_urls.iter().any(|u| u.contains(['\n', '\r'])) {
        errors.push("A callback URL must not contain a line break.".into());
    }
    let auth_type = AuthType::parse(&input.auth_type);
    if auth_type.is_none() {
        errors.push("auth_type must be api_key, oauth2 or jwt.".into());
    }
    let public_key = match (auth_type, input.public_key.as_deref()) {
        (Some(AuthType::Jwt), Some(text)) => crate::public_keys::parse(text)
            .map_err(|e| errors.push(e))
            .ok(),
        (Some(AuthType::Jwt), None) => {
            errors.push("JWT apps need a public_key.".into());
            None
        }
        (_, Some(_)) => {
            errors.push("Only JWT apps take a public_key.".into());
            None
        }
        _ => None,
    };
    let label = input.label.trim();
    if label.chars().count() > 60 || label.chars().any(char::is_control) {
        errors.push("label must be at most 60 characters, without control characters.".into());
    }
    if input.note.chars().count() > 1000 {
        errors.push("The note must be at most 1000 characters.".into());
    }
    let owner = match input.team_id.as_deref() {
        None => Some(Owner::User(actor.user.id.clone())),
        Some(team_id) => match team_owner(conn, actor, team_id) {
            Ok(owner) => Some(owner),
            Err(AppError::Invalid(problems)) => {
                errors.extend(problems);
                None
            }
            Err(e) => return Err(e),
        },
    };
    // Only products this member may see; hidden ones are not told apart from unknown.
    let mut products = Vec::new();
    for wanted in &input.products {
        match services::subscriptions::product_for(
            conn,
            &actor.org.id,
            &actor.user.id,
            actor.role,
            wanted,
        )? {
            Some(p)
                if !products
                    .iter()
                    .any(|q: &crate::models::products::Product| q.id == p.id) =>
            {
                products.push(p)
            }
            Some(_) => {}
            None => errors.push(format!(
                "No product \"{}\" is available to you.",
                wanted.chars().take(100).collect::<String>()
            )),
        }
    }
    match (details, auth_type, owner) {
        (Some(details), Some(auth_type), Some(owner)) if errors.is_empty() => Ok(NewApp {
            details,
            products,
            note: input.note.clone(),
            auth_type,
            owner,
            label: input.label.clone(),
            public_key,
        }),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// Creates an app with its first credential. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/apps", tag = "apps",
    request_body = NewAppIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key create nothing twice.")),
    responses((status = 201, body = AppCreated, description = "Created; `credentials` holds the secret, shown only here.")))]
pub async fn create_app(
    req: HttpRequest,
    actor: ApiActor,
    state: State,
    body: web::Json<NewAppIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::View)?;
    let input = body.into_inner();
    let st = state.clone();
    let a = actor.clone();
    let fingerprint = serde_json::to_value(&input).map_err(AppError::internal)?;
    create_once(&state, &actor, &req, &fingerprint, move |conn| {
        let new = check_new(conn, &a, &input)?;
        let issuer = Issuer {
            prefix: &st.config.credential_prefix,
            hasher: &st.secrets,
        };
        // Each API call is its own request: the form nonce is fresh (Idempotency-Key
        // is what makes retries safe).
        let nonce = format!("api:{}", random_base62(24));
        let base = st.public_base();
        let creation = services::apps::Creation {
            org: &a.org,
            requester: &a.user,
            issuer,
            nonce: &nonce,
            public_base: &base,
        };
        let created = services::apps::create(conn, &a.ctx, creation, new)?;
        let AppCreatedResult::New { app, revealed } = created else {
            return Err(AppError::internal("a fresh nonce was replayed"));
        };
        let credential_id = apps::credentials_of(conn, &app.id)?
            .first()
            .map(|c| c.id.clone());
        Created::new(
            &AppCreated {
                app: AppOut::from(&app),
                credentials: NewSecret::new(&revealed, credential_id),
            },
            Some(format!("/api/v1/apps/{}", app.id)),
        )
    })
    .await
}

/// One app. The `ETag` may be sent back in `If-Match` when updating it.
#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = "apps",
    params(("id" = String, Path, description = "The app's id.")),
    responses((status = 200, body = AppOut, description = "The app.")))]
pub async fn get_app(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let app = state
        .db(move |conn| Ok(load(conn, &actor, &id, AppAction::View)?.0))
        .await?;
    json_with_etag(StatusCode::OK, &AppOut::from(&app))
}

/// Changes to an app's details; fields left out keep their values.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AppUpdate {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    pub callback_urls: Option<Vec<String>>,
}

/// Updates name, description and callback URLs. Send `If-Match` with the ETag you
/// read to refuse the change (412) if someone else changed the app meanwhile.
#[utoipa::path(patch, path = "/api/v1/apps/{id}", tag = "apps",
    request_body = AppUpdate,
    params(("id" = String, Path, description = "The app's id."),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version you read.")),
    responses((status = 200, body = AppOut, description = "The updated app."),
        (status = 412, body = support::Problem, content_type = "application/problem+json",
            description = "The app changed since you read it.")))]
pub async fn update_app(
    req: HttpRequest,
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: web::Json<AppUpdate>,
) -> AppResult<HttpResponse> {
    let if_match = IfMatch::from_req(&req)?;
    let id = path.into_inner();
    let input = body.into_inner();
    let app = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let (app, _) = load(conn, &actor, &id, AppAction::Manage)?;
                lock_app(conn, &app.id)?;
                let app =
                    apps::find_in_org(conn, &app.org_id, &app.id)?.ok_or(AppError::NotFound)?;
                if_match.check(&support::etag_of(&AppOut::from(&app))?)?;
                services::apps::require_changeable(&app)?;
                let urls = match &input.callback_urls {
                    Some(urls) => {
                        if urls.iter().any(|u| u.contains(['\n', '\r'])) {
                            return Err(AppError::invalid(
                                "A callback URL must not contain a line break.",
                            ));
                        }
                        urls.join("\n")
                    }
                    None => app.callback_urls.clone(),
                };
                let details = services::apps::check_details(
                    input.name.as_deref().unwrap_or(&app.name),
                    input.description.as_deref().unwrap_or(&app.description),
                    &urls,
                )
                .map_err(AppError::Invalid)?;
                services::apps::update(conn, &actor.ctx, &app, &details, &[])?;
                apps::find_in_org(conn, &app.org_id, &app.id)?.ok_or(AppError::NotFound)
            })
        })
        .await?;
    json_with_etag(StatusCode::OK, &AppOut::from(&app))
}

/// Why an app is revoked.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ReasonIn {
    #[schema(max_length = 500)]
    #[serde(default)]
    pub reason: String,
}

/// Revokes the app: every credential stops working, for good.
#[utoipa::path(post, path = "/api/v1/apps/{id}/revoke", tag = "apps",
    request_body(content = Option<ReasonIn>, description = "Optional: may be left out."),
    params(("id" = String, Path, description = "The app's id.")),
    responses((status = 200, body = AppOut, description = "The revoked app.")))]
pub async fn revoke_app(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: OptionalJson<ReasonIn>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let app = state
        .db(move |conn| {
            let (app, _) = load(conn, &actor, &id, AppAction::Manage)?;
            services::apps::revoke(conn, &actor.ctx, &app, &body.reason)?;
            apps::find_in_org(conn, &app.org_id, &app.id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(json(&AppOut::from(&app)))
}

/// Deletes the app (its credentials are revoked first).
#[utoipa::path(delete, path = "/api/v1/apps/{id}", tag = "apps",
    params(("id" = String, Path, description = "The app's id.")),
    responses((status = 204, description = "Deleted.")))]
pub async fn delete_app(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    state
        .db(move |conn| {
            let (app, _) = load(conn, &actor, &id, AppAction::Manage)?;
            services::apps::delete(conn, &actor.ctx, &app)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The app's new owner: a team, or (`team_id` null or left out) the caller.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct TransferIn {
    #[schema(max_length = 64)]
    pub team_id: Option<String>,
}

/// Moves the app to the caller or to a team.
#[utoipa::path(post, path = "/api/v1/apps/{id}/transfer", tag = "apps",
    request_body(content = Option<TransferIn>, description = "Optional: left out, the app moves to the caller."),
    params(("id" = String, Path, description = "The app's id.")),
    responses((status = 200, body = AppOut, description = "The app under its new owner.")))]
pub async fn transfer_app(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: OptionalJson<TransferIn>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let app = state
        .db(move |conn| {
            let (app, _) = load(conn, &actor, &id, AppAction::Manage)?;
            let owner = match body.team_id.as_deref() {
                None => {
                    policy::app_owner(actor.role(), OwnerTarget::Myself)?;
                    Owner::User(actor.user.id.clone())
                }
                Some(team_id) => team_owner(conn, &actor, team_id)?,
            };
            services::apps::transfer(conn, &actor.ctx, &app, &owner)?;
            apps::find_in_org(conn, &app.org_id, &app.id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(json(&AppOut::from(&app)))
}
