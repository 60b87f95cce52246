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

mod reveal;
mod rotate;

use reveal::reveal;
pub use reveal::{RevealPage, mark_revealed};
pub use rotate::{KeyForm, RotateForm, RotatePage, add_key, reset, rotate, rotate_form};

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
