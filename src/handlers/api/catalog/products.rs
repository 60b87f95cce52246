//! API products: listing, reading, publishing, changing, archiving and restoring.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::path_id;
use super::product_input::{changed_input, check_product, ensure_teams, number, team_list};
use super::product_schemas::{
    NewProductIn, ProductDetailOut, ProductList, ProductUpdate, ProductVisibility, product_full,
    product_summary,
};
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{OrgAction, Role};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{self, Created, IfMatch, PageQuery, Problem};
use crate::handlers::products::render_docs;
use crate::models::products::{self as product_model, Listing, ProductOrder};
use crate::services::products::{MAX_DOCS_BYTES, ProductForm, RenderedDocs};
use crate::services::{self};

/// A product of the organisation by id or slug, with its teams.
fn find_product(
    conn: &mut DbConnection,
    org_id: &str,
    key: &str,
) -> AppResult<(product_model::Product, Vec<String>)> {
    let p = match product_model::find(conn, org_id, key)? {
        Some(p) => p,
        None => product_model::find_by_slug(conn, org_id, key)?.ok_or(AppError::NotFound)?,
    };
    let teams = product_model::team_ids(conn, &p.id)?;
    Ok((p, teams))
}

/// An OpenAPI document compiled (its descriptions rendered) off the workers; its
/// problems are a 422.
async fn compile_reference(
    state: &State,
    raw: Option<String>,
) -> AppResult<Option<crate::openapi::Compiled>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    state
        .compute(move || crate::openapi::compile(&raw))
        .await?
        .map(Some)
        .map_err(AppError::Invalid)
}

/// The product as it is now, in full.
fn reload_product(conn: &mut DbConnection, org_id: &str, id: &str) -> AppResult<ProductDetailOut> {
    let (p, teams) = find_product(conn, org_id, id)?;
    product_full(&p, teams)
}

/// List the organisation's API products
///
/// Members see the live products visible to them; organisation admins see every
/// product, archived ones included (`archived: true`).
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "products",
    params(PageQuery),
    responses((status = 200, body = ProductList, description = "One page of products, oldest first."))
)]
pub async fn list_products(
    actor: ApiActor,
    state: State,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let role = actor.authorize(OrgAction::View)?;
    let everything = actor.authorize(OrgAction::ManageProducts).is_ok();
    let window = query.window()?;
    let org_id = actor.org.id.clone();
    let user_id = actor.user.id.clone();
    let page = state
        .db(move |conn| {
            let listing = if everything {
                Listing::Every
            } else {
                Listing::VisibleTo {
                    user_id: &user_id,
                    admin: role >= Role::Admin,
                }
            };
            let page = product_model::page(conn, &org_id, listing, ProductOrder::Id, &window)?;
            let ids: Vec<String> = page.items.iter().map(|p| p.id.clone()).collect();
            let links = product_model::team_links_of(conn, &ids)?;
            let items = page
                .items
                .iter()
                .map(|p| {
                    let teams = links
                        .iter()
                        .filter(|(pid, _)| *pid == p.id)
                        .map(|(_, t)| t.clone())
                        .collect();
                    product_summary(p, teams)
                })
                .collect::<AppResult<Vec<_>>>()?;
            Ok(support::Paged {
                items,
                next_cursor: page.next.map(|c| c.encode()),
            })
        })
        .await?;
    Ok(support::json(&ProductList::from(page)))
}

/// Read a product
///
/// By id or slug. Members may read the live products visible to them; organisation
/// admins every product. The `ETag` goes back in `If-Match` on PATCH.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}",
    tag = "products",
    params(("id" = String, Path, description = "The product's id or slug.")),
    responses((
        status = 200,
        body = ProductDetailOut,
        description = "The product.",
        headers(("ETag" = String, description = "The product's current version."))
    ))
)]
pub async fn get_product(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let role = actor.authorize(OrgAction::View)?;
    let everything = actor.authorize(OrgAction::ManageProducts).is_ok();
    let key = path_id(path)?;
    let org_id = actor.org.id.clone();
    let user_id = actor.user.id.clone();
    let out = state
        .db(move |conn| {
            let (p, teams) = find_product(conn, &org_id, &key)?;
            if !everything
                && !services::products::visible_for(conn, &org_id, &user_id, role)?
                    .iter()
                    .any(|v| v.id == p.id)
            {
                return Err(AppError::NotFound);
            }
            product_full(&p, teams)
        })
        .await?;
    support::json_with_etag(StatusCode::OK, &out)
}

/// Publish a product
///
/// Organisation admins only. Accepts an `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    tag = "products",
    request_body = NewProductIn,
    responses((
        status = 201,
        body = ProductDetailOut,
        description = "The product is published.",
        headers(("Location" = String, description = "The product's URL."))
    ))
)]
pub async fn create_product(
    actor: ApiActor,
    state: State,
    req: HttpRequest,
    body: web::Json<NewProductIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageProducts)?;
    let body = body.into_inner();
    let teams = team_list(body.teams.as_deref().unwrap_or_default());
    let scopes = body.scopes.clone().unwrap_or_default();
    let form = ProductForm {
        name: body.name.clone(),
        slug: body.slug.clone().unwrap_or_default(),
        summary: body.summary.clone().unwrap_or_default(),
        docs_markdown: body.docs_markdown.clone().unwrap_or_default(),
        visibility: body
            .visibility
            .unwrap_or(ProductVisibility::Members)
            .as_str()
            .into(),
        teams: teams.join(","),
        approval_mode: body.approval_mode.as_str().into(),
        quota_limit: number(body.quota_limit),
        quota_period: body
            .quota_period
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        rate_limit_per_second: number(body.rate_limit_per_second),
        max_credential_lifetime_days: number(body.max_credential_lifetime_days),
        scopes: scopes.join(" "),
    };
    let input = check_product(&form, &teams, &scopes)?;
    // Rendered and compiled off the workers, before the database work; a bad document
    // creates nothing.
    let docs = render_docs(&state, &input).await?;
    let reference = compile_reference(&state, body.openapi.clone()).await?;
    let ctx = actor.ctx.clone();
    let org = actor.org.clone();
    support::create_once(&state, &actor, &req, &body, move |conn| {
        write_transaction(conn, |conn| {
            ensure_teams(conn, &org.id, &input)?;
            let p = services::products::create(conn, &ctx, &org, &input, &docs)?;
            if let Some(compiled) = &reference {
                services::products::store_api_reference(conn, &ctx, &org, &p.id, compiled)?;
            }
            let out = reload_product(conn, &org.id, &p.id)?;
            Created::new(&out, Some(format!("/api/v1/products/{}", p.id)))
        })
    })
    .await
}

/// Change a product
///
/// Organisation admins only. Fields left out keep their values. Send the `ETag` of
/// your last read in `If-Match` to be refused (412) if the product changed since.
#[utoipa::path(
    patch,
    path = "/api/v1/products/{id}",
    tag = "products",
    params(
        ("id" = String, Path, description = "The product's id or slug."),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version the changes are based on.")
    ),
    request_body = ProductUpdate,
    responses(
        (
            status = 200,
            body = ProductDetailOut,
            description = "The product as saved.",
            headers(("ETag" = String, description = "The product's new version."))
        ),
        (
            status = 412,
            body = Problem,
            content_type = "application/problem+json",
            description = "The product changed since the version named in If-Match; nothing was changed."
        )
    )
)]
pub async fn update_product(
    actor: ApiActor,
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ProductUpdate>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageProducts)?;
    let key = path_id(path)?;
    let if_match = IfMatch::from_req(&req)?;
    let changes = body.into_inner();
    // Rendered and compiled off the workers, before the database work; a bad document
    // changes nothing.
    let docs = match &changes.docs_markdown {
        Some(markdown) => {
            let markdown = markdown.replace("\r\n", "\n");
            // Longer documentation is refused by the checks below.
            if markdown.len() <= MAX_DOCS_BYTES {
                Some(
                    state
                        .compute(move || RenderedDocs::render(&markdown))
                        .await?,
                )
            } else {
                None
            }
        }
        None => None,
    };
    let reference = match &changes.openapi {
        Some(Some(raw)) => compile_reference(&state, Some(raw.clone()))
            .await?
            .map(Some),
        Some(None) => Some(None),
        None => None,
    };
    let ctx = actor.ctx.clone();
    let org = actor.org.clone();
    let out = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let (found, _) = find_product(conn, &org.id, &key)?;
                crate::db::lock_product(conn, &found.id)?;
                let (p, current_teams) = find_product(conn, &org.id, &found.id)?;
                let current = product_full(&p, current_teams.clone())?;
                if_match.check(&support::etag_of(&current)?)?;
                let input = changed_input(&p, &current_teams, &changes)?;
                ensure_teams(conn, &org.id, &input)?;
                services::products::update(conn, &ctx, &org, &p, &input, docs.as_ref())?;
                match reference {
                    Some(Some(compiled)) => {
                        services::products::store_api_reference(
                            conn, &ctx, &org, &p.id, &compiled,
                        )?;
                    }
                    // `null` removes the reference; removing none is no change.
                    Some(None) if p.openapi_json.is_some() => {
                        services::products::remove_api_reference(conn, &ctx, &org, &p.id)?;
                    }
                    _ => {}
                }
                reload_product(conn, &org.id, &p.id)
            })
        })
        .await?;
    support::json_with_etag(StatusCode::OK, &out)
}

async fn archive_or_restore(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    archive: bool,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageProducts)?;
    let key = path_id(path)?;
    let ctx = actor.ctx.clone();
    let org = actor.org.clone();
    let out = state
        .db(move |conn| {
            let (p, _) = find_product(conn, &org.id, &key)?;
            services::products::set_archived(conn, &ctx, &org, &p, archive)?;
            reload_product(conn, &org.id, &p.id)
        })
        .await?;
    support::json_with_etag(StatusCode::OK, &out)
}

/// Archive a product
///
/// Organisation admins only. An archived product takes no new subscriptions;
/// existing ones keep working. 409 when it is archived already.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/archive",
    tag = "products",
    params(("id" = String, Path, description = "The product's id or slug.")),
    responses((
        status = 200,
        body = ProductDetailOut,
        description = "The product, archived.",
        headers(("ETag" = String, description = "The product's new version."))
    ))
)]
pub async fn archive_product(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    archive_or_restore(actor, state, path, true).await
}

/// Restore an archived product
///
/// Organisation admins only. 409 when it is not archived.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/restore",
    tag = "products",
    params(("id" = String, Path, description = "The product's id or slug.")),
    responses((
        status = 200,
        body = ProductDetailOut,
        description = "The product, live again.",
        headers(("ETag" = String, description = "The product's new version."))
    ))
)]
pub async fn restore_product(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    archive_or_restore(actor, state, path, false).await
}
