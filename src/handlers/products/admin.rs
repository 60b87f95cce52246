//! The admin's product pages: the list, the product form (whose *Preview* button shows
//! the sanitised Markdown and never saves), archive and restore.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{ListQuery, ProductRow, render_docs, row};
use crate::auth::csrf::CsrfForm;
use crate::auth::policy::OrgAction;
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, flash_outcome, form_problem};
use crate::models::products::{self as product_model, Listing, Product, ProductOrder};
use crate::models::teams;
use crate::services::products::{MAX_DOCS_BYTES, ProductForm, check};
use crate::services::{self};
use crate::web::{PageCtx, Pager, render, render_status, see_other_with};

/// The product form carries documentation of up to [`MAX_DOCS_BYTES`], which
/// percent-encoding can triple and more: its routes read bodies this large, the rest of
/// the portal keeps the small default.
pub fn form_payload_limit() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_DOCS_BYTES * 12 + 64 * 1024)
}

#[derive(Template)]
#[template(path = "products/admin_list.html")]
pub struct AdminListPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub products: Vec<ProductRow>,
    pub products_pager: Pager,
}

pub async fn admin_list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let org_id = scope.org.id.clone();
    let window = query.window();
    let page = state
        .db(move |conn| {
            Ok(product_model::page(
                conn,
                &org_id,
                Listing::Every,
                ProductOrder::Name,
                &window,
            )?)
        })
        .await?;
    render(&AdminListPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "products",
        products_pager: Pager::new(&page, "cursor", &[]),
        products: page.items.into_iter().map(row).collect(),
    })
}

/// The API reference part of the edit page.
pub struct ReferencePanel {
    /// One line about the stored reference, when there is one.
    pub current: Option<String>,
    pub errors: Vec<String>,
    /// The pasted document, shown again after it was refused.
    pub text: String,
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
    /// The product's slug (its docs page), when editing.
    pub product_slug: String,
    pub archived: bool,
    pub form: ProductForm,
    pub teams: Vec<(String, String, bool)>,
    /// The sanitised documentation, after *Preview*.
    pub preview_html: Option<String>,
    /// `None` when creating: a reference is added once the product exists.
    pub reference: Option<ReferencePanel>,
}

/// What the form page shows besides the organisation's teams.
pub(super) struct FormView {
    pub status: StatusCode,
    pub errors: Vec<String>,
    pub product: Option<Product>,
    pub form: ProductForm,
    pub preview_html: Option<String>,
    pub reference_errors: Vec<String>,
    pub reference_text: String,
}

impl FormView {
    pub(super) fn new(product: Option<Product>, form: ProductForm) -> Self {
        Self {
            status: StatusCode::OK,
            errors: Vec::new(),
            product,
            form,
            preview_html: None,
            reference_errors: Vec::new(),
            reference_text: String::new(),
        }
    }
}

pub(super) async fn form_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    view: FormView,
) -> AppResult<HttpResponse> {
    let org_id = scope.org.id.clone();
    let all = state
        .db(move |conn| Ok(teams::for_org(conn, &org_id)?))
        .await?;
    let chosen: Vec<&str> = view.form.teams.split(',').map(str::trim).collect();
    let teams = all
        .into_iter()
        .map(|t| {
            let on = chosen.contains(&t.id.as_str());
            (t.id, t.name, on)
        })
        .collect();
    let reference = view.product.as_ref().map(|p| ReferencePanel {
        current: p
            .openapi_json
            .as_deref()
            .map(|json| crate::openapi::summary(json).unwrap_or_else(|| "API reference".into())),
        errors: view.reference_errors,
        text: view.reference_text,
    });
    render_status(
        view.status,
        &ProductFormPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "products",
            errors: view.errors,
            product_id: view.product.as_ref().map(|p| p.id.clone()),
            product_slug: view
                .product
                .as_ref()
                .map(|p| p.slug.clone())
                .unwrap_or_default(),
            archived: view
                .product
                .as_ref()
                .is_some_and(|p| p.archived_at.is_some()),
            form: view.form,
            teams,
            preview_html: view.preview_html,
            reference,
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
    form_page(ctx, &scope, &state, FormView::new(None, form)).await
}

/// The form, with team checkboxes (`team.<id>`) folded into `teams`, and whether the
/// *Preview* button sent it.
fn collect_form(mut fields: HashMap<String, String>) -> AppResult<(ProductForm, bool)> {
    let preview = fields.remove("preview").is_some();
    let mut teams: Vec<String> = fields
        .keys()
        .filter_map(|k| k.strip_prefix("team."))
        .map(str::to_string)
        .collect();
    teams.sort();
    fields.retain(|k, _| !k.starts_with("team."));
    fields.insert("teams".into(), teams.join(","));
    let encoded = serde_urlencoded::to_string(&fields).map_err(AppError::internal)?;
    let form = serde_urlencoded::from_str(&encoded)
        .map_err(|e| AppError::bad_request(format!("The form has an invalid value ({e}).")))?;
    Ok((form, preview))
}

/// The form shown again with the rendered documentation; nothing is saved. Rendered
/// off the HTTP workers, like a save.
async fn preview(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    product: Option<Product>,
    form: ProductForm,
) -> AppResult<HttpResponse> {
    let markdown = form.docs_markdown.replace("\r\n", "\n");
    if markdown.len() > MAX_DOCS_BYTES {
        let errors = vec!["Documentation must be at most 200 000 characters of text.".into()];
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return refused(ctx, scope, state, product, form, status, errors).await;
    }
    let html = state
        .compute(move || crate::markdown::render(&markdown))
        .await?;
    let view = FormView {
        preview_html: Some(html),
        ..FormView::new(product, form)
    };
    form_page(ctx, scope, state, view).await
}

/// The form shown again with what is wrong.
async fn refused(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    product: Option<Product>,
    form: ProductForm,
    status: StatusCode,
    errors: Vec<String>,
) -> AppResult<HttpResponse> {
    let view = FormView {
        status,
        errors,
        ..FormView::new(product, form)
    };
    form_page(ctx, scope, state, view).await
}

pub async fn create(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(fields): CsrfForm<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (form, wants_preview) = collect_form(fields)?;
    if wants_preview {
        return preview(ctx, &scope, &state, None, form).await;
    }
    let input = match check(&form) {
        Ok(i) => i,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return refused(ctx, &scope, &state, None, form, status, errors).await;
        }
    };
    let docs = render_docs(&state, &input).await?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    match state
        .db(move |conn| services::products::create(conn, &c, &org, &input, &docs))
        .await
    {
        Ok(p) => Ok(see_other_with(
            &req,
            &format!("/o/{}/admin/products", scope.org.slug),
            "info",
            &format!(
                "{} is published. Open it to add an OpenAPI reference for developers.",
                p.name
            ),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            refused(ctx, &scope, &state, None, form, status, vec![message]).await
        }
    }
}

pub(super) async fn load_product(
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

pub async fn edit_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, teams) = load_product(&scope, &state, path.into_inner().1).await?;
    let form = ProductForm::of(&p, &teams);
    form_page(ctx, &scope, &state, FormView::new(Some(p), form)).await
}

pub async fn update(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(fields): CsrfForm<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, _) = load_product(&scope, &state, path.into_inner().1).await?;
    let (mut form, wants_preview) = collect_form(fields)?;
    // The slug names the product in links; it does not change.
    form.slug = p.slug.clone();
    if wants_preview {
        return preview(ctx, &scope, &state, Some(p), form).await;
    }
    let input = match check(&form) {
        Ok(i) => i,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return refused(ctx, &scope, &state, Some(p), form, status, errors).await;
        }
    };
    let docs = render_docs(&state, &input).await?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let product = p.clone();
    match state
        .db(move |conn| services::products::update(conn, &c, &org, &product, &input, Some(&docs)))
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
            refused(ctx, &scope, &state, Some(p), form, status, vec![message]).await
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
