//! Suspending an app (its credentials are refused) and resuming it.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{load_app, path_id, reason_text};
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{AppAction, OrgAction};
use crate::error::{AppError, AppResult};
use crate::handlers::api::body::OptionalJson;
use crate::handlers::api::support;
use crate::models::apps as app_model;
use crate::services::{self};

/// Why the app is suspended: its owners see it.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SuspendIn {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Resuming takes an optional reason, for the audit trail.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ResumeIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// An app's status after a suspension or resumption.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppStatusOut {
    pub id: String,
    /// `suspended` or `active`.
    pub status: String,
    /// Why it is suspended; empty when active.
    pub status_reason: String,
}

async fn suspend_or_resume(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    reason: String,
    suspend: bool,
) -> AppResult<HttpResponse> {
    let app_id = path_id(path)?;
    let base = state.public_base();
    let who = actor.clone();
    let out = state
        .db(move |conn| {
            let app = load_app(conn, &who, &app_id, AppAction::View)?;
            services::subscriptions::set_suspended(
                conn, &who.ctx, &who.org, &app, suspend, &reason, &base,
            )?;
            let app =
                app_model::find_in_org(conn, &who.org.id, &app.id)?.ok_or(AppError::NotFound)?;
            Ok(AppStatusOut {
                id: app.id,
                status: app.status,
                status_reason: app.status_reason,
            })
        })
        .await?;
    Ok(support::json(&out))
}

/// Suspend an app
///
/// Organisation admins only. Its credentials are refused until it is resumed; its
/// owners are told why. Only active apps can be suspended (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/apps/{app_id}/suspend",
    tag = "approvals",
    params(("app_id" = String, Path, description = "The app's id.")),
    request_body = SuspendIn,
    responses((status = 200, body = AppStatusOut, description = "The app is suspended."))
)]
pub async fn suspend_app(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: web::Json<SuspendIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::SuspendApps)?;
    let reason = reason_text(
        &body.reason,
        Some("Give a reason for the suspension: the owner sees it."),
    )?;
    suspend_or_resume(actor, state, path, reason, true).await
}

/// Resume a suspended app
///
/// Organisation admins only. The body (an optional reason) may be left out. Only
/// suspended apps can be resumed (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/apps/{app_id}/resume",
    tag = "approvals",
    params(("app_id" = String, Path, description = "The app's id.")),
    request_body(content = Option<ResumeIn>, description = "Optional: may be left out."),
    responses((status = 200, body = AppStatusOut, description = "The app is active again."))
)]
pub async fn resume_app(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: OptionalJson<ResumeIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::SuspendApps)?;
    let body = body.into_inner();
    let reason = reason_text(body.reason.as_deref().unwrap_or_default(), None)?;
    suspend_or_resume(actor, state, path, reason, false).await
}
