//! API products: the admin's product pages and the developer's catalogue and docs
//! (with the API reference rendered when the admin saved it).

mod admin;
mod reference;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub use admin::{
    admin_list, archive, create, edit_form, form_payload_limit, new_form, restore, update,
};
pub use reference::{
    download as download_api_reference, remove as remove_api_reference, save as save_api_reference,
};

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{AppAction, OrgAction, Role};
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::models::page::Window;
use crate::models::products::{self as product_model, Listing, Product, ProductOrder};
use crate::services::products::{ProductInput, RenderedDocs};
use crate::services::{self};
use crate::web::{PageCtx, Pager, render};

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

/// Checked documentation rendered for storing: off the HTTP workers, before any
/// database work (the portal's product form and the management API).
pub async fn render_docs(state: &State, input: &ProductInput) -> AppResult<RenderedDocs> {
    let markdown = input.docs_markdown.clone();
    state.compute(move || RenderedDocs::render(&markdown)).await
}

// ---------------------------------------------------------------- catalogue

#[derive(Template)]
#[template(path = "products/catalogue.html")]
pub struct CataloguePage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub products: Vec<ProductRow>,
    pub products_pager: Pager,
    pub is_admin: bool,
}

/// Products shown per page.
const PAGE_SIZE: usize = 50;

/// `?cursor=` on the product lists.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Where the page starts (a cursor from a Previous or Next link).
    #[serde(default)]
    pub cursor: String,
}

impl ListQuery {
    /// The window asked for; a cursor that is not ours (an old or edited link)
    /// starts at the top.
    pub fn window(&self) -> Window {
        Window::parse(PAGE_SIZE, Some(&self.cursor)).unwrap_or(Window::first(PAGE_SIZE))
    }
}

pub async fn catalogue(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let role = scope.authorize(OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let user = scope.identity.user.clone();
    let window = query.window();
    let (page, flags) = state
        .db(move |conn| {
            let listing = Listing::VisibleTo {
                user_id: &user_id,
                admin: role >= Role::Admin,
            };
            let page = product_model::page(conn, &org_id, listing, ProductOrder::Name, &window)?;
            let flags = services::subscriptions::approval_flags(conn, &org_id, &page.items, &user)?;
            Ok((page, flags))
        })
        .await?;
    let products_pager = Pager::new(&page, "cursor", &[]);
    let list = page.items;
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
        products_pager,
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
    /// The API reference, rendered and sanitised when the admin saved it.
    pub reference_html: Option<String>,
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
    let user = scope.identity.user.clone();
    let checked = product.clone();
    let (apps, needs_approval, stored_html) = state
        .db(move |conn| {
            let mine = crate::handlers::apps::pickable_apps(conn, &org_id, &user_id)?;
            let needs = services::subscriptions::needs_approval(conn, &org_id, &checked, &user)?;
            let apps = mine
                .into_iter()
                .filter(|a| !matches!(a.status.as_str(), "revoked" | "rejected"))
                .map(|a| (a.id, a.name))
                .collect::<Vec<_>>();
            let html = product_model::docs_html(conn, &org_id, &checked.id)?.flatten();
            Ok((apps, needs, html))
        })
        .await?;
    // Rendered when saved. Only a product saved before the rendered column existed,
    // not yet reached by the start-up backfill, is rendered here — off the workers.
    let docs_html = match stored_html {
        Some(html) => html,
        None => {
            let markdown = product.docs_markdown.clone();
            state
                .compute(move || crate::markdown::render(&markdown))
                .await?
        }
    };
    let reference_html = product.openapi_html.clone();
    render(&DocsPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "products",
        scopes: product.scopes.clone(),
        docs_html,
        reference_html,
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
