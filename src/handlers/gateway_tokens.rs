//! The gateway token page of an organisation (`/o/{slug}/admin/gateway-tokens`):
//! admins list the tokens their API gateways verify keys with, create one (shown
//! once, as the creating POST's own response) and revoke them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::OrgAction;
use crate::auth::{OrgScope, State};
use crate::error::AppResult;
use crate::handlers::app_secrets::mark_revealed;
use crate::handlers::tokens::ListQuery;
use crate::handlers::{EmptyForm, flash_outcome, form_problem, service_ctx};
use crate::models::names::{self, Wanted};
use crate::models::page::Window;
use crate::models::products as product_model;
use crate::services::apps::Issuer;
use crate::services::gateway_tokens::{self as service, Listed, NewGatewayToken};
use crate::services::nonces;
use crate::web::{PageCtx, Pager, render_status};
use crate::when::When;

/// Tokens shown per page.
const PAGE_SIZE: usize = 50;

/// A token as a table row.
pub struct GatewayTokenRow {
    pub id: String,
    pub name: String,
    /// `gate_gw_…abcd`.
    pub shown: String,
    /// The default product's name, "(archived)" marked; empty: none.
    pub default_product: String,
    pub created: When,
    pub created_by: String,
    pub last_used: When,
    pub live: bool,
    pub state: &'static str,
}

fn row(l: &Listed, created_by: String, now: NaiveDateTime) -> GatewayTokenRow {
    let t = &l.token;
    GatewayTokenRow {
        id: t.id.clone(),
        name: t.name.clone(),
        shown: format!("{}…{}", t.prefix, t.last4),
        default_product: l.default_product.as_ref().map_or_else(String::new, |p| {
            if p.archived {
                format!("{} (archived)", p.name)
            } else {
                p.name.clone()
            }
        }),
        created: When::at(t.created_at, now),
        created_by,
        last_used: When::maybe(t.last_used_at, now, "never"),
        live: t.revoked_at.is_none(),
        state: if t.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        },
    }
}

/// The create form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GatewayTokenForm {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub name: String,
    /// A product's slug; empty: none.
    #[serde(default)]
    pub default_product: String,
}

#[derive(Template)]
#[template(path = "gateway_tokens/list.html")]
pub struct GatewayTokensPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub org_name: String,
    pub tab: &'static str,
    /// The organisation's live products (slug, name), for the default product.
    pub products: Vec<(String, String)>,
    pub rows: Vec<GatewayTokenRow>,
    pub tokens_pager: Pager,
    pub errors: Vec<String>,
    pub nonce: String,
    pub form: GatewayTokenForm,
}

#[derive(Template)]
#[template(path = "gateway_tokens/reveal.html")]
pub struct GatewayRevealPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub name: String,
    pub org: String,
    pub default_product: String,
    pub token: String,
    pub back: String,
}

fn base(scope: &OrgScope) -> String {
    format!("/o/{}/admin/gateway-tokens", scope.org.slug)
}

async fn list_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    status: StatusCode,
    errors: Vec<String>,
    mut form: GatewayTokenForm,
    cursor: &str,
) -> AppResult<HttpResponse> {
    let org_id = scope.org.id.clone();
    let now = state.clock.now_naive();
    // A cursor that is not ours (an old or edited link) starts at the top.
    let window = Window::parse(PAGE_SIZE, Some(cursor)).unwrap_or(Window::first(PAGE_SIZE));
    let (page, names, products) = state
        .db(move |conn| {
            let page = service::list(conn, &org_id, &window, true)?;
            let wanted = Wanted {
                users: page
                    .items
                    .iter()
                    .map(|l| l.token.created_by.clone())
                    .collect(),
                ..Wanted::default()
            };
            let names = names::resolve(conn, &org_id, wanted)?;
            let products: Vec<(String, String)> = product_model::for_org(conn, &org_id)?
                .into_iter()
                .filter(|p| p.archived_at.is_none())
                .map(|p| (p.slug, p.name))
                .collect();
            Ok((page, names, products))
        })
        .await?;
    let pager = Pager::new(&page, "cursor", &[]);
    let rows = page
        .items
        .iter()
        .map(|l| {
            let by = names
                .users
                .get(&l.token.created_by)
                .cloned()
                .unwrap_or_else(|| "a former member".to_string());
            row(l, by, now)
        })
        .collect();
    form.nonce = nonces::issue(&state.key, service::FORM_KIND, &scope.identity.user.id, now);
    render_status(
        status,
        &GatewayTokensPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            org_name: scope.org.name.clone(),
            tab: "gateway-tokens",
            products,
            rows,
            tokens_pager: pager,
            errors,
            nonce: form.nonce.clone(),
            form,
        },
    )
}

pub async fn list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageGatewayTokens)?;
    list_page(
        ctx,
        &scope,
        &state,
        StatusCode::OK,
        Vec::new(),
        GatewayTokenForm::default(),
        &query.cursor,
    )
    .await
}

pub async fn create(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<GatewayTokenForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageGatewayTokens)?;
    let user_id = scope.identity.user.id.clone();
    nonces::verify(
        &state.key,
        service::FORM_KIND,
        &user_id,
        &form.nonce,
        state.clock.now_naive(),
    )?;
    let c = service_ctx(&req, &state, Some(&user_id));
    let st = state.clone();
    let org = scope.org.clone();
    let new = NewGatewayToken {
        name: form.name.clone(),
        default_product: Some(form.default_product.clone()),
    };
    let nonce = form.nonce.clone();
    let result = state
        .db(move |conn| {
            let issuer = Issuer {
                prefix: &st.config.credential_prefix,
                hasher: &st.secrets,
            };
            let (token, secret) =
                service::create(conn, &c, &org, &user_id, issuer, new, Some(&nonce))?;
            let shown = service::get(conn, &org.id, &token.id)?;
            Ok((shown, secret.expose().to_string()))
        })
        .await;
    match result {
        Ok((shown, secret)) => {
            let page = GatewayRevealPage {
                ctx: ctx.in_org(&scope),
                slug: scope.org.slug.clone(),
                tab: "gateway-tokens",
                name: shown.token.name,
                org: scope.org.name.clone(),
                default_product: shown.default_product.map(|p| p.name).unwrap_or_default(),
                token: secret,
                back: base(&scope),
            };
            let mut res = render_status(StatusCode::OK, &page)?;
            mark_revealed(&state, &mut res)?;
            Ok(res)
        }
        Err(e) => {
            let (status, message) = form_problem(e)?;
            list_page(ctx, &scope, &state, status, vec![message], form, "").await
        }
    }
}

pub async fn revoke(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    _form: CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    // Not a member: 404 here; a developer: 404 from the service (they cannot list
    // the tokens, so a token does not exist for them).
    scope.authorize(OrgAction::View)?;
    let id = path.into_inner().1;
    let to = base(&scope);
    let result = if crate::validate::is_id_like(&id) {
        let c = service_ctx(&req, &state, Some(&scope.identity.user.id));
        let org_id = scope.org.id.clone();
        let user_id = scope.identity.user.id.clone();
        state
            .db(move |conn| service::revoke(conn, &c, &org_id, &user_id, &id).map(drop))
            .await
    } else {
        Err(crate::error::AppError::NotFound)
    };
    flash_outcome(
        &req,
        &to,
        result,
        "Gateway token revoked: gateways sending it are refused from now on.",
    )
}
