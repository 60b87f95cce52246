//! Products, subscriptions, the approval queue, suspending apps and the inbox, as
//! JSON. The same policy and the same services as the pages (`handlers::products`,
//! `handlers::approvals`, `handlers::notifications`): the same validation, audit
//! entries and notifications.
//!
//! This module holds what the parts share, the routes and the OpenAPI document;
//! each part lives in its own submodule.

pub mod approvals;
pub mod notifications;
pub mod product_input;
pub mod product_schemas;
pub mod products;
pub mod subscriptions;
pub mod suspension;

use actix_web::web;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::auth::api::ApiActor;
use crate::auth::policy::AppAction;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::methods;
use crate::models::apps::App;

// ------------------------------------------------------------------ shared

/// A path id: anything that cannot be one of ours names nothing.
fn path_id(path: web::Path<String>) -> AppResult<String> {
    let id = path.into_inner();
    super::support::check_id(&id)?;
    Ok(id)
}

/// A stored enum value (the database's CHECK constraints hold it to the variants).
fn stored<T: DeserializeOwned>(value: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|e| AppError::internal(format!("unexpected stored value {value:?}: {e}")))
}

/// Loads an app of the token's organisation and asks the policy (`api::apps::load`).
fn load_app(
    conn: &mut DbConnection,
    actor: &ApiActor,
    app_id: &str,
    action: AppAction,
) -> AppResult<App> {
    super::apps::load(conn, actor, app_id, action).map(|(app, _)| app)
}

/// A reason as the subscription services keep it (trimmed, no control characters):
/// refused when longer than they keep, or empty where one is `required`.
fn reason_text(raw: &str, required: Option<&str>) -> AppResult<String> {
    if raw.chars().count() > REASON_MAX {
        return Err(AppError::invalid(format!(
            "The reason must be at most {REASON_MAX} characters."
        )));
    }
    let kept: String = raw.trim().chars().filter(|c| !c.is_control()).collect();
    if let Some(message) = required
        && kept.trim().is_empty()
    {
        return Err(AppError::invalid(message));
    }
    Ok(raw.to_string())
}

const REASON_MAX: usize = 500;

// ------------------------------------------------------------------ routes

#[derive(OpenApi)]
#[openapi(
    paths(
        products::list_products,
        products::get_product,
        products::create_product,
        products::update_product,
        products::archive_product,
        products::restore_product,
        subscriptions::list_subscriptions,
        subscriptions::request_subscription,
        subscriptions::cancel_subscription,
        approvals::list_approvals,
        approvals::approve,
        approvals::reject,
        approvals::decide_approvals,
        suspension::suspend_app,
        suspension::resume_app,
        notifications::list_notifications,
        notifications::mark_notification_read,
        notifications::mark_all_notifications_read,
    ),
    tags(
        (name = "products", description = "API products and apps' subscriptions to them."),
        (name = "approvals", description = "The approval queue, and suspending and resuming apps."),
        (name = "notifications", description = "Your inbox."),
    )
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/products", methods::get().to(products::list_products))
        .route("/products", methods::post().to(products::create_product))
        .route("/products/{id}", methods::get().to(products::get_product))
        .route(
            "/products/{id}",
            methods::patch().to(products::update_product),
        )
        .route(
            "/products/{id}/archive",
            methods::post().to(products::archive_product),
        )
        .route(
            "/products/{id}/restore",
            methods::post().to(products::restore_product),
        )
        .route(
            "/apps/{app_id}/subscriptions",
            methods::get().to(subscriptions::list_subscriptions),
        )
        .route(
            "/apps/{app_id}/subscriptions",
            methods::post().to(subscriptions::request_subscription),
        )
        .route(
            "/subscriptions/{id}/cancel",
            methods::post().to(subscriptions::cancel_subscription),
        )
        .route("/approvals", methods::get().to(approvals::list_approvals))
        .route(
            "/approvals/decide",
            methods::post().to(approvals::decide_approvals),
        )
        .route(
            "/approvals/{id}/approve",
            methods::post().to(approvals::approve),
        )
        .route(
            "/approvals/{id}/reject",
            methods::post().to(approvals::reject),
        )
        .route(
            "/apps/{app_id}/suspend",
            methods::post().to(suspension::suspend_app),
        )
        .route(
            "/apps/{app_id}/resume",
            methods::post().to(suspension::resume_app),
        )
        .route(
            "/notifications",
            methods::get().to(notifications::list_notifications),
        )
        .route(
            "/notifications/read-all",
            methods::post().to(notifications::mark_all_notifications_read),
        )
        .route(
            "/notifications/{id}/read",
            methods::post().to(notifications::mark_notification_read),
        );
}
