//! The pages that reveal a secret exactly once: creating an app, rotating and
//! resetting its credential. The reveal is the POST's own 200 response with
//! `Cache-Control: no-store`; the form carries a single-use nonce, so a replay, a
//! reload or a double click never creates a second app or credential.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, AppAction, OrgAction, OwnerTarget};
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::apps::{app_url, load};
use crate::handlers::{flash_outcome, form_problem};
use crate::models::apps::App;
use crate::services::apps::{AuthType, Created, Issuer, NewApp, Owner, Revealed};
use crate::services::{self, nonces};
use crate::web::{PageCtx, REVEAL_COOKIE, render_status};

#[derive(Template)]
#[template(path = "apps/new.html")]
pub struct NewAppPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub errors: Vec<String>,
    pub nonce: String,
    pub owners: Vec<(String, String)>,
    /// Products the user may subscribe the app to: (id, name, needs approval).
    pub products: Vec<(String, String, bool)>,
    pub form: NewAppForm,
}

/// What the new-app form offers: owners and products.
pub struct Choices {
    pub owners: Vec<(String, String)>,
    /// Visible products, each with whether the user's request would wait for an admin.
    pub products: Vec<(crate::models::products::Product, bool)>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewAppForm {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub callback_urls: String,
    #[serde(default)]
    pub auth_type: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub public_key: String,
    /// A note to the approver, for products that need approval.
    #[serde(default)]
    pub note: String,
    /// Ticked products arrive as `product.<id>=on`.
    #[serde(flatten)]
    pub rest: std::collections::HashMap<String, String>,
}

impl NewAppForm {
    fn product_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .rest
            .keys()
            .filter_map(|k| k.strip_prefix("product."))
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    }

    pub fn ticked(&self, product_id: &str) -> bool {
        self.rest.contains_key(&format!("product.{product_id}"))
    }
}

/// Owners the actor may pick: themselves and the teams they admin.
async fn choices(scope: &OrgScope, state: &State) -> AppResult<Choices> {
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let role = scope.role.unwrap_or(crate::auth::policy::Role::Developer);
    let user = scope.identity.user.clone();
    let (teams, products) = state
        .db(move |conn| {
            Ok((
                crate::handlers::apps::teams_with_my_role(conn, &org_id, &user_id)?,
                {
                    let list = services::products::visible_for(conn, &org_id, &user_id, role)?;
                    let flags =
                        services::subscriptions::approval_flags(conn, &org_id, &list, &user)?;
                    list.into_iter().zip(flags).collect()
                },
            ))
        })
        .await?;
    let mut out = vec![("me".to_string(), "Me".to_string())];
    out.extend(
        teams
            .into_iter()
            .filter(|(_, role)| policy::app_owner(scope.role, OwnerTarget::Team(*role)).is_ok())
            .map(|(t, _)| (format!("team:{}", t.id), format!("Team {}", t.name))),
    );
    Ok(Choices {
        owners: out,
        products,
    })
}

fn new_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    choices: Choices,
    status: StatusCode,
    errors: Vec<String>,
    mut form: NewAppForm,
) -> AppResult<HttpResponse> {
    // A fresh nonce each time the form is shown; the old one may have been used.
    form.nonce = nonces::issue(
        &state.key,
        services::apps::form_kind(),
        &scope.identity.user.id,
        state.clock.now_naive(),
    );
    let nonce = form.nonce.clone();
    render_status(
        status,
        &NewAppPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "apps",
            errors,
            nonce,
            owners: choices.owners,
            products: choices
                .products
                .into_iter()
                .map(|(p, needs)| (p.id, p.name, needs))
                .collect(),
            form,
        },
    )
}

pub async fn new_form(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::View)?;
    let choices = choices(&scope, &state).await?;
    let form = NewAppForm {
        auth_type: "api_key".into(),
        owner: "me".into(),
        ..NewAppForm::default()
    };
    new_page(
        ctx,
        &scope,
        &state,
        choices,
        StatusCode::OK,
        Vec::new(),
        form,
    )
}

#[derive(Template)]
#[template(path = "apps/reveal.html")]
pub struct RevealPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub heading: String,
    /// `api_key`, `client_secret` or `public_key`.
    pub kind: &'static str,
    pub client_id: String,
    pub secret: String,
    pub json: String,
    pub json_data_url: String,
    /// Products whose requests still wait for an admin, while the app is pending.
    pub waiting: Vec<String>,
}

impl RevealPage {
    /// "Payments and Maps", for the sentence about approval.
    pub fn waiting_list(&self) -> String {
        crate::wording::and_list(&self.waiting)
    }
}

/// The products whose requests still wait for an admin, if the app is pending.
async fn waiting_products(state: &State, app: &App) -> AppResult<Vec<String>> {
    if app.status != "pending" {
        return Ok(Vec::new());
    }
    let app_id = app.id.clone();
    let subs = state
        .db(move |conn| Ok(crate::models::products::subscriptions_of(conn, &app_id)?))
        .await?;
    Ok(subs
        .into_iter()
        .filter(|(s, _)| s.status == "pending")
        .map(|(_, p)| p.name)
        .collect())
}

async fn reveal(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    app: App,
    revealed: Revealed,
    heading: String,
) -> AppResult<HttpResponse> {
    let waiting = waiting_products(state, &app).await?;
    let (kind, client_id, secret, json) = match revealed {
        Revealed::ApiKey { key } => {
            let json = serde_json::json!({ "app_id": app.id, "api_key": key.expose() });
            ("api_key", String::new(), key.expose().to_string(), json)
        }
        Revealed::ClientSecret { client_id, secret } => {
            let json = serde_json::json!({ "app_id": app.id, "client_id": client_id, "client_secret": secret.expose() });
            (
                "client_secret",
                client_id,
                secret.expose().to_string(),
                json,
            )
        }
        Revealed::PublicKey { client_id } => {
            let json = serde_json::json!({ "app_id": app.id, "client_id": client_id });
            ("public_key", client_id, String::new(), json)
        }
    };
    let json = serde_json::to_string_pretty(&json).map_err(AppError::internal)?;
    let json_data_url = format!(
        "data:application/json;charset=utf-8,{}",
        serde_urlencoded::to_string([("", json.as_str())])
            .map_err(AppError::internal)?
            .trim_start_matches('=')
            .replace('+', "%20")
    );
    let mut res = render_status(
        StatusCode::OK,
        &RevealPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "apps",
            app,
            heading,
            kind,
            client_id,
            secret,
            json,
            json_data_url,
            waiting,
        },
    )?;
    mark_revealed(state, &mut res)?;
    Ok(res)
}

/// Marks a response that shows a secret once: the next page clears the cookie, so
/// the browser will not restore the reveal from its back/forward cache.
pub fn mark_revealed(state: &State, res: &mut HttpResponse) -> AppResult<()> {
    let marker = state.cookie(
        REVEAL_COOKIE,
        crate::crypto::random_base62(12),
        Some(std::time::Duration::from_secs(600)),
    );
    res.add_cookie(&marker).map_err(AppError::internal)
}

#[derive(Template)]
#[template(path = "apps/replayed.html")]
pub struct ReplayedPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: Option<App>,
}

pub async fn create(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<NewAppForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::View)?;
    let user_id = scope.identity.user.id.clone();
    nonces::verify(
        &state.key,
        services::apps::form_kind(),
        &user_id,
        &form.nonce,
        state.clock.now_naive(),
    )?;
    let choices = choices(&scope, &state).await?;
    let mut errors = Vec::new();
    let details = services::apps::check_details(&form.name, &form.description, &form.callback_urls)
        .map_err(|e| errors.extend(e))
        .ok();
    let auth_type = AuthType::parse(&form.auth_type);
    if auth_type.is_none() {
        errors.push("Choose how the app authenticates: API key, OAuth2 client or JWT.".into());
    }
    let owner = match form.owner.as_str() {
        "me" => Some(Owner::User(user_id.clone())),
        other => match other.strip_prefix("team:") {
            Some(team_id) if choices.owners.iter().any(|(v, _)| v == other) => {
                Some(Owner::Team(team_id.to_string()))
            }
            _ => {
                errors
                    .push("You can create apps only for yourself or for a team you admin.".into());
                None
            }
        },
    };
    let public_key = if auth_type == Some(AuthType::Jwt) {
        crate::public_keys::parse(&form.public_key)
            .map_err(|e| errors.push(e))
            .ok()
    } else {
        None
    };
    // Only products this member may see; anything else is a tampered form.
    let mut products = Vec::new();
    for id in form.product_ids() {
        match choices.products.iter().find(|(p, _)| p.id == id) {
            Some((p, _)) => products.push(p.clone()),
            None => errors.push("The form names a product you cannot subscribe to.".into()),
        }
    }
    let (Some(details), Some(auth_type), Some(owner), true) =
        (details, auth_type, owner, errors.is_empty())
    else {
        return new_page(
            ctx,
            &scope,
            &state,
            choices,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            form,
        );
    };
    let new = NewApp {
        details,
        auth_type,
        owner,
        label: form.label.clone(),
        public_key,
        products,
        note: form.note.clone(),
    };
    let c = scope.ctx(&req);
    let requester = scope.identity.user.clone();
    let org = scope.org.clone();
    let st = state.clone();
    let nonce = form.nonce.clone();
    let result = state
        .db(move |conn| {
            let issuer = Issuer {
                prefix: &st.config.credential_prefix,
                hasher: &st.secrets,
            };
            let base = st.config.public_url.join("");
            let creation = services::apps::Creation {
                org: &org,
                requester: &requester,
                issuer,
                nonce: &nonce,
                public_base: &base,
            };
            services::apps::create(conn, &c, creation, new)
        })
        .await;
    match result {
        Ok(Created::New { app, revealed }) => {
            let heading = if app.status == "pending" {
                format!("{} is waiting for approval", app.name)
            } else {
                format!("{} is ready", app.name)
            };
            reveal(ctx, &scope, &state, app, revealed, heading).await
        }
        Ok(Created::Replayed { app }) => render_status(
            StatusCode::CONFLICT,
            &ReplayedPage {
                ctx: ctx.in_org(&scope),
                slug: scope.org.slug.clone(),
                tab: "apps",
                app,
            },
        ),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            new_page(ctx, &scope, &state, choices, status, vec![message], form)
        }
    }
}

// ------------------------------------------------------------------ rotate

#[derive(Template)]
#[template(path = "apps/rotate.html")]
pub struct RotatePage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub nonce: String,
    pub errors: Vec<String>,
    pub max_overlap_hours: i64,
}

fn rotate_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    app: App,
    status: StatusCode,
    errors: Vec<String>,
) -> AppResult<HttpResponse> {
    let nonce = nonces::issue(
        &state.key,
        services::apps::rotate_form_kind(),
        &scope.identity.user.id,
        state.clock.now_naive(),
    );
    let max_overlap_hours =
        i64::try_from(state.config.max_credential_overlap.as_secs() / 3600).unwrap_or(i64::MAX);
    render_status(
        status,
        &RotatePage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "apps",
            app,
            nonce,
            errors,
            max_overlap_hours,
        },
    )
}

pub async fn rotate_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, path.into_inner().1, AppAction::Manage).await?;
    services::apps::require_changeable(&loaded.app)?;
    rotate_page(ctx, &scope, &state, loaded.app, StatusCode::OK, Vec::new())
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    pub nonce: String,
    /// `0`, `1h`, `24h`, `7d` or `custom`.
    #[serde(default)]
    pub overlap: String,
    #[serde(default)]
    pub custom_hours: String,
    #[serde(default)]
    pub label: String,
}

fn parse_overlap(form: &RotateForm, max: Duration) -> Result<Duration, String> {
    let overlap = match form.overlap.as_str() {
        "0" | "none" => Duration::zero(),
        "1h" => Duration::hours(1),
        "24h" => Duration::hours(24),
        "7d" => Duration::days(7),
        "custom" => form
            .custom_hours
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|h| *h >= 0)
            .and_then(Duration::try_hours)
            .ok_or_else(|| "Give the custom overlap as a whole number of hours.".to_string())?,
        _ => return Err("Choose how long the old credential keeps working.".into()),
    };
    if overlap > max {
        return Err(format!(
            "The overlap can be at most {} hours on this instance.",
            max.num_hours()
        ));
    }
    Ok(overlap)
}

async fn do_rotate(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    app_id: String,
    form: RotateForm,
    reset: bool,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    nonces::verify(
        &state.key,
        services::apps::rotate_form_kind(),
        &scope.identity.user.id,
        &form.nonce,
        state.clock.now_naive(),
    )?;
    let max = Duration::from_std(state.config.max_credential_overlap)
        .map_err(|_| AppError::internal("maximum overlap out of range"))?;
    let overlap = if reset {
        Duration::zero()
    } else {
        match parse_overlap(&form, max) {
            Ok(o) => o,
            Err(message) => {
                return rotate_page(
                    ctx,
                    &scope,
                    &state,
                    loaded.app,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vec![message],
                );
            }
        }
    };
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let st = state.clone();
    let label = form.label.clone();
    let nonce = form.nonce.clone();
    let result = state
        .db(move |conn| {
            let issuer = Issuer {
                prefix: &st.config.credential_prefix,
                hasher: &st.secrets,
            };
            let rotation = services::apps::Rotation {
                nonce: &nonce,
                overlap,
                max_overlap: max,
                label: &label,
            };
            services::apps::rotate(conn, &c, &app, issuer, rotation)
        })
        .await;
    match result {
        Ok(revealed) => {
            let heading = if reset {
                format!("{}: credential reset", loaded.app.name)
            } else {
                format!("{}: credential rotated", loaded.app.name)
            };
            reveal(ctx, &scope, &state, loaded.app, revealed, heading).await
        }
        Err(e @ AppError::Conflict(_)) => {
            flash_outcome(&req, &app_url(&scope, &loaded.app.id), Err(e), "")
        }
        Err(e) => {
            let (status, message) = form_problem(e)?;
            rotate_page(ctx, &scope, &state, loaded.app, status, vec![message])
        }
    }
}

pub async fn rotate(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> AppResult<HttpResponse> {
    do_rotate(req, ctx, scope, state, path.into_inner().1, form, false).await
}

pub async fn reset(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> AppResult<HttpResponse> {
    do_rotate(req, ctx, scope, state, path.into_inner().1, form, true).await
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub public_key: String,
    #[serde(default)]
    pub label: String,
}

pub async fn add_key(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, path.into_inner().1, AppAction::Manage).await?;
    let to = app_url(&scope, &loaded.app.id);
    let key = match crate::public_keys::parse(&form.public_key) {
        Ok(key) => key,
        Err(message) => return flash_outcome(&req, &to, Err(AppError::BadRequest(message)), ""),
    };
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let result = state
        .db(move |conn| services::apps::add_public_key(conn, &c, &app, &key, &form.label))
        .await;
    flash_outcome(
        &req,
        &to,
        result,
        "Public key added. Remove the old key once your app signs with the new one.",
    )
}
