//! API products: the admin's product pages and the developer's catalogue and docs.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{AppAction, OrgAction, Role};
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, flash_outcome, form_problem};
use crate::models::products::{self as product_model, Product};
use crate::models::teams;
use crate::services::products::{ProductForm, check};
use crate::services::{self};
use crate::web::{PageCtx, render, render_status, see_other_with};

pub struct ProductRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub approval_mode: String,
    pub visibility: String,
    pub quota: String,
    pub archived: bool,
    /// Would the viewer's request wait for an admin (org mode, rules and product)?
    pub needs_approval: bool,
}

fn quota_text(p: &Product) -> String {
    let mut parts = Vec::new();
    if let (Some(n), Some(period)) = (p.quota_limit, &p.quota_period) {
        parts.push(format!("{n} requests per {period}"));
    }
    if let Some(r) = p.rate_limit_per_second {
        parts.push(format!("{r} requests per second"));
    }
    if parts.is_empty() {
        "no limit".into()
    } else {
        parts.join(", ")
    }
}

fn row(p: Product) -> ProductRow {
    ProductRow {
        needs_approval: p.approval_mode == "manual",
        quota: quota_text(&p),
        archived: p.archived_at.is_some(),
        id: p.id,
        slug: p.slug,
        name: p.name,
        summary: p.summary,
        approval_mode: p.approval_mode,
        visibility: p.visibility,
    }
}

// ------------------------------------------------------------------ admin

#[derive(Template)]
#[template(path = "products/admin_list.html")]
pub struct AdminListPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub products: Vec<ProductRow>,
}

pub async fn admin_list(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let org_id = scope.org.id.clone();
    let list = state
        .db(move |conn| Ok(product_model::for_org(conn, &org_id)?))
        .await?;
    render(&AdminListPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "products",
        products: list.into_iter().map(row).collect(),
    })
}

#[derive(Template)]
#[template(path = "products/form.html")]
pub struct ProductFormPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub errors: Vec<String>,
    /// `None` when creating.
    pub product_id: Option<String>,
    pub archived: bool,
    pub form: ProductForm,
    pub teams: Vec<(String, String, bool)>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    status: StatusCode,
    errors: Vec<String>,
    product_id: Option<String>,
    archived: bool,
    form: ProductForm,
) -> AppResult<HttpResponse> {
    let org_id = scope.org.id.clone();
    let all = state
        .db(move |conn| Ok(teams::for_org(conn, &org_id)?))
        .await?;
    let chosen: Vec<&str> = form.teams.split(',').map(str::trim).collect();
    let teams = all
        .into_iter()
        .map(|t| {
            let on = chosen.contains(&t.id.as_str());
            (t.id, t.name, on)
        })
        .collect();
    render_status(
        status,
        &ProductFormPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "products",
            errors,
            product_id,
            archived,
            form,
            teams,
        },
    )
}

pub async fn new_form(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let form = ProductForm {
        visibility: "members".into(),
        approval_mode: "auto".into(),
        ..ProductForm::default()
    };
    form_page(
        ctx,
        &scope,
        &state,
        StatusCode::OK,
        Vec::new(),
        None,
        false,
        form,
    )
    .await
}

/// The form, with team checkboxes (`team.<id>`) folded into `teams`.
fn collect_form(mut fields: std::collections::HashMap<String, String>) -> AppResult<ProductForm> {
    let mut teams: Vec<String> = fields
        .keys()
        .filter_map(|k| k.strip_prefix("team."))
        .map(str::to_string)
        .collect();
    teams.sort();
    fields.retain(|k, _| !k.starts_with("team."));
    fields.insert("teams".into(), teams.join(","));
    let encoded = serde_urlencoded::to_string(&fields).map_err(AppError::internal)?;
    serde_urlencoded::from_str(&encoded)
        .map_err(|e| AppError::bad_request(format!("The form has an invalid value ({e}).")))
}

pub async fn create(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(fields): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let form = collect_form(fields)?;
    let input = match check(&form) {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                ctx,
                &scope,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                None,
                false,
                form,
            )
            .await;
        }
    };
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    match state
        .db(move |conn| services::products::create(conn, &c, &org, &input))
        .await
    {
        Ok(p) => Ok(see_other_with(
            &req,
            &format!("/o/{}/admin/products", scope.org.slug),
            "info",
            &format!("{} is published.", p.name),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            form_page(
                ctx,
                &scope,
                &state,
                status,
                vec![message],
                None,
                false,
                form,
            )
            .await
        }
    }
}

async fn load_product(
    scope: &OrgScope,
    state: &State,
    id: String,
) -> AppResult<(Product, Vec<String>)> {
    let org_id = scope.org.id.clone();
    state
        .db(move |conn| {
            let p = product_model::find(conn, &org_id, &id)?.ok_or(AppError::NotFound)?;
            let teams = product_model::team_ids(conn, &p.id)?;
            Ok((p, teams))
        })
        .await
}

fn to_form(p: &Product, teams: &[String]) -> ProductForm {
    ProductForm {
        name: p.name.clone(),
        slug: p.slug.clone(),
        summary: p.summary.clone(),
        docs_markdown: p.docs_markdown.clone(),
        visibility: p.visibility.clone(),
        teams: teams.join(","),
        approval_mode: p.approval_mode.clone(),
        quota_limit: p.quota_limit.map(|n| n.to_string()).unwrap_or_default(),
        quota_period: p.quota_period.clone().unwrap_or_default(),
        rate_limit_per_second: p
            .rate_limit_per_second
            .map(|n| n.to_string())
            .unwrap_or_default(),
        max_credential_lifetime_days: p
            .max_credential_lifetime_seconds
            .map(|s| (s / 86_400).to_string())
            .unwrap_or_default(),
        scopes: p.scopes.clone(),
    }
}

pub async fn edit_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, teams) = load_product(&scope, &state, path.into_inner().1).await?;
    let form = to_form(&p, &teams);
    form_page(
        ctx,
        &scope,
        &state,
        StatusCode::OK,
        Vec::new(),
        Some(p.id),
        p.archived_at.is_some(),
        form,
    )
    .await
}

pub async fn update(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(fields): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, _) = load_product(&scope, &state, path.into_inner().1).await?;
    let mut form = collect_form(fields)?;
    // The slug names the product in links; it does not change.
    form.slug = p.slug.clone();
    let archived = p.archived_at.is_some();
    let input = match check(&form) {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                ctx,
                &scope,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                Some(p.id),
                archived,
                form,
            )
            .await;
        }
    };
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let product = p.clone();
    match state
        .db(move |conn| services::products::update(conn, &c, &org, &product, &input))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            &format!("/o/{}/admin/products", scope.org.slug),
            "info",
            "Product saved.",
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            form_page(
                ctx,
                &scope,
                &state,
                status,
                vec![message],
                Some(p.id),
                archived,
                form,
            )
            .await
        }
    }
}

async fn archive_or_restore(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    id: String,
    archive: bool,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, _) = load_product(&scope, &state, id).await?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let result = state
        .db(move |conn| services::products::set_archived(conn, &c, &org, &p, archive))
        .await;
    let done = if archive {
        "Product archived: it takes no new subscriptions; existing ones keep working."
    } else {
        "Product restored."
    };
    flash_outcome(
        &req,
        &format!("/o/{}/admin/products", scope.org.slug),
        result,
        done,
    )
}

pub async fn archive(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    archive_or_restore(req, scope, state, path.into_inner().1, true).await
}

pub async fn restore(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    archive_or_restore(req, scope, state, path.into_inner().1, false).await
}

// ---------------------------------------------------------------- catalogue

#[derive(Template)]
#[template(path = "products/catalogue.html")]
pub struct CataloguePage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub products: Vec<ProductRow>,
    pub is_admin: bool,
}

pub async fn catalogue(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    let role = scope.authorize(OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let user = scope.identity.user.clone();
    let (list, flags) = state
        .db(move |conn| {
            let list = services::products::visible_for(conn, &org_id, &user_id, role)?;
            let flags = services::subscriptions::approval_flags(conn, &org_id, &list, &user)?;
            Ok((list, flags))
        })
        .await?;
    render(&CataloguePage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "products",
        products: list
            .into_iter()
            .zip(flags)
            .map(|(p, needs)| ProductRow {
                needs_approval: needs,
                ..row(p)
            })
            .collect(),
        is_admin: role >= Role::Admin,
    })
}

#[derive(Template)]
#[template(path = "products/docs.html")]
pub struct DocsPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub product: ProductRow,
    pub scopes: String,
    pub docs_html: String,
    /// Apps the user may subscribe: (id, name).
    pub apps: Vec<(String, String)>,
}

/// A visible, live product by slug; anything else is not found.
async fn visible_product(
    scope: &OrgScope,
    state: &State,
    product_slug: String,
) -> AppResult<Product> {
    let role = scope.authorize(OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let list = state
        .db(move |conn| services::products::visible_for(conn, &org_id, &user_id, role))
        .await?;
    list.into_iter()
        .find(|p| p.slug == product_slug)
        .ok_or(AppError::NotFound)
}

pub async fn docs(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let product = visible_product(&scope, &state, path.into_inner().1).await?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let role = scope.role;
    let user = scope.identity.user.clone();
    let checked = product.clone();
    let (apps, needs_approval) = state
        .db(move |conn| {
            let mine = crate::handlers::apps::manageable_apps(conn, &org_id, &user_id, role)?;
            let needs = services::subscriptions::needs_approval(conn, &org_id, &checked, &user)?;
            let apps = mine
                .into_iter()
                .filter(|a| !matches!(a.status.as_str(), "revoked" | "rejected"))
                .map(|a| (a.id, a.name))
                .collect::<Vec<_>>();
            Ok((apps, needs))
        })
        .await?;
    let docs_html = crate::markdown::render(&product.docs_markdown);
    render(&DocsPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "products",
        scopes: product.scopes.clone(),
        docs_html,
        apps,
        product: ProductRow {
            needs_approval,
            ..row(product)
        },
    })
}

#[derive(Debug, Deserialize)]
pub struct SubscribeForm {
    pub app_id: String,
    #[serde(default)]
    pub note: String,
}

pub async fn subscribe(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<SubscribeForm>,
) -> AppResult<HttpResponse> {
    let product = visible_product(&scope, &state, path.into_inner().1).await?;
    let loaded =
        crate::handlers::apps::load(&scope, &state, form.app_id.clone(), AppAction::Manage).await?;
    crate::handlers::approvals::request_subscription(
        &req,
        &scope,
        &state,
        &loaded.app,
        product,
        form.note,
    )
    .await
}
