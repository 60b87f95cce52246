//! Apps' subscriptions to products: listing, requesting and cancelling them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{load_app, path_id, stored};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{AppAction, OrgAction};
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{self, Created, PageQuery, Time};
use crate::models::products as product_model;
use crate::services::{self};

const NOTE_MAX: usize = 1000;

/// Where a subscription stands: `pending` → `approved` / `rejected`; `pending` or
/// `approved` → `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

/// An app's subscription to a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOut {
    pub id: String,
    pub app_id: String,
    pub product_id: String,
    pub product_slug: String,
    pub product_name: String,
    pub status: SubscriptionStatus,
    /// What the requester wrote for the admins.
    pub note: String,
    /// Why it was rejected; empty otherwise.
    pub reason: String,
    /// The id of the user who asked.
    pub requested_by: String,
    /// The id of the admin who decided; `null` while pending or when decided
    /// automatically.
    pub decided_by: Option<String>,
    pub decided_at: Option<Time>,
    pub created_at: Time,
    pub updated_at: Time,
}

api_list!(SubscriptionList, SubscriptionOut);

fn subscription_of(
    s: &product_model::Subscription,
    p: &product_model::Product,
) -> AppResult<SubscriptionOut> {
    Ok(SubscriptionOut {
        id: s.id.clone(),
        app_id: s.app_id.clone(),
        product_id: p.id.clone(),
        product_slug: p.slug.clone(),
        product_name: p.name.clone(),
        status: stored(&s.status)?,
        note: s.note.clone(),
        reason: s.reason.clone(),
        requested_by: s.requested_by.clone(),
        decided_by: s.decided_by.clone(),
        decided_at: support::opt_time(s.decided_at),
        created_at: support::time(s.created_at),
        updated_at: support::time(s.updated_at),
    })
}

/// A subscription request.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SubscriptionIn {
    /// The product's slug or id (a live product you can see).
    #[schema(min_length = 1, max_length = 64)]
    pub product: String,
    /// For the admins who decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// List an app's subscriptions
///
/// Anyone who may see the app.
#[utoipa::path(
    get,
    path = "/api/v1/apps/{app_id}/subscriptions",
    tag = "products",
    params(("app_id" = String, Path, description = "The app's id."), PageQuery),
    responses((status = 200, body = SubscriptionList, description = "One page of the app's subscriptions, oldest first."))
)]
pub async fn list_subscriptions(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let app_id = path_id(path)?;
    let window = query.window()?;
    let who = actor.clone();
    let page = state
        .db(move |conn| {
            let app = load_app(conn, &who, &app_id, AppAction::View)?;
            let page = product_model::subscriptions_page(conn, &app.id, &window)?;
            let items = page
                .items
                .iter()
                .map(|(s, p)| subscription_of(s, p))
                .collect::<AppResult<Vec<_>>>()?;
            Ok(support::Paged {
                items,
                next_cursor: page.next.map(|c| c.encode()),
            })
        })
        .await?;
    Ok(support::json(&SubscriptionList::from(page)))
}

/// Subscribe an app to a product
///
/// For those who may change the app. Approved at once, or `pending` until an admin
/// decides (the admins are told). Accepts an `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/apps/{app_id}/subscriptions",
    tag = "products",
    params(("app_id" = String, Path, description = "The app's id.")),
    request_body = SubscriptionIn,
    responses((status = 201, body = SubscriptionOut, description = "Requested: `approved`, or `pending` until an admin decides."))
)]
pub async fn request_subscription(
    actor: ApiActor,
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SubscriptionIn>,
) -> AppResult<HttpResponse> {
    let role = actor.authorize(OrgAction::View)?;
    let app_id = path_id(path)?;
    let body = body.into_inner();
    let note = body.note.clone().unwrap_or_default();
    if note.chars().count() > NOTE_MAX {
        return Err(AppError::invalid(format!(
            "The note must be at most {NOTE_MAX} characters."
        )));
    }
    let who = actor.clone();
    let app = state
        .db(move |conn| load_app(conn, &who, &app_id, AppAction::Manage))
        .await?;
    let key = body.product.clone();
    let ctx = actor.ctx.clone();
    let org = actor.org.clone();
    let user = actor.user.clone();
    let base = state.public_base();
    support::create_once(&state, &actor, &req, &body, move |conn| {
        let product = services::subscriptions::product_for(conn, &org.id, &user.id, role, &key)?
            .ok_or_else(|| {
                AppError::invalid("product must name a live product you can see (its slug or id).")
            })?;
        let sub = services::subscriptions::request(
            conn,
            &ctx,
            services::subscriptions::SubscriptionRequest {
                org: &org,
                app: &app,
                product: &product,
                requester: &user,
                note: &note,
                public_base: &base,
            },
        )?;
        Created::new(&subscription_of(&sub, &product)?, None)
    })
    .await
}

/// Cancel a subscription
///
/// For those who may change the app. Pending and approved subscriptions can be
/// cancelled (409 otherwise, or when it is the only request of a pending app).
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions/{id}/cancel",
    tag = "products",
    params(("id" = String, Path, description = "The subscription's id.")),
    responses((status = 200, body = SubscriptionOut, description = "The subscription, cancelled."))
)]
pub async fn cancel_subscription(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(path)?;
    let who = actor.clone();
    let out = state
        .db(move |conn| {
            let (_, _, owner_app) =
                product_model::subscriptions_by_ids(conn, &who.org.id, std::slice::from_ref(&id))?
                    .into_iter()
                    .next()
                    .ok_or(AppError::NotFound)?;
            let app = load_app(conn, &who, &owner_app.id, AppAction::Manage)?;
            services::subscriptions::cancel(conn, &who.ctx, &who.org, &app, &id)?;
            let (s, p) = product_model::subscriptions_of(conn, &app.id)?
                .into_iter()
                .find(|(s, _)| s.id == id)
                .ok_or(AppError::NotFound)?;
            subscription_of(&s, &p)
        })
        .await?;
    Ok(support::json(&out))
}
