//! The approval queue: pending subscription requests, approved or rejected one at a
//! time or many at once.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::subscriptions::SubscriptionStatus;
use super::{path_id, reason_text, stored};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::OrgAction;
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{self, PageQuery, Time};
use crate::models::apps::App;
use crate::models::products as product_model;
use crate::services::{self};
use crate::validate;

const BULK_MAX: usize = 500;

/// What owns an app waiting for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalOwnerKind {
    User,
    Team,
}

/// The owner of an app waiting for approval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalOwnerOut {
    pub kind: ApprovalOwnerKind,
    /// The user's or team's id.
    pub id: String,
    /// The user's display name or the team's name.
    pub name: String,
    /// The user's email; `null` for a team.
    pub email: Option<String>,
}

/// A pending subscription request in the approval queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalOut {
    /// The subscription's id: approve or reject with it.
    pub id: String,
    pub app_id: String,
    pub app_name: String,
    /// `null` when nobody owns the app any more.
    pub owner: Option<ApprovalOwnerOut>,
    pub product_id: String,
    pub product_slug: String,
    pub product_name: String,
    /// What the requester wrote.
    pub note: String,
    /// The id of the user who asked.
    pub requested_by: String,
    pub requested_at: Time,
}

api_list!(ApprovalList, ApprovalOut);

/// A rejection: the developer sees the reason.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RejectIn {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// What to do with the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

/// One decision for many requests: all are decided, or none.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct DecideIn {
    /// Subscription ids from the approval queue.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<String>,
    pub decision: Decision,
    /// Required for a rejection: the developers see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A decided request and where its app stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    /// The subscription's id.
    pub id: String,
    pub status: SubscriptionStatus,
    pub reason: String,
    pub decided_at: Option<Time>,
    pub app_id: String,
    /// The app's status now: `pending`, `active`, `rejected`, `suspended` or `revoked`.
    pub app_status: String,
}

/// The requests decided together.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecideOut {
    /// How many requests were decided.
    pub decided: usize,
    pub items: Vec<DecisionOut>,
}

/// Decides `ids` with the subscription service, then reads them back.
async fn decide_ids(
    actor: &ApiActor,
    state: &State,
    ids: Vec<String>,
    approve: bool,
    reason: String,
) -> AppResult<Vec<DecisionOut>> {
    let ctx = actor.ctx.clone();
    let org = actor.org.clone();
    let base = state.public_base();
    state
        .db(move |conn| {
            services::subscriptions::decide(conn, &ctx, &org, &ids, approve, &reason, &base)?;
            product_model::subscriptions_by_ids(conn, &org.id, &ids)?
                .into_iter()
                .map(|(s, _, app)| {
                    Ok(DecisionOut {
                        status: stored(&s.status)?,
                        decided_at: support::opt_time(s.decided_at),
                        id: s.id,
                        reason: s.reason,
                        app_id: app.id,
                        app_status: app.status,
                    })
                })
                .collect()
        })
        .await
}

/// List the approval queue
///
/// Organisation admins only: the pending subscription requests of live apps.
#[utoipa::path(
    get,
    path = "/api/v1/approvals",
    tag = "approvals",
    params(PageQuery),
    responses((status = 200, body = ApprovalList, description = "One page of pending requests, oldest first."))
)]
pub async fn list_approvals(
    actor: ApiActor,
    state: State,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::DecideApprovals)?;
    let window = query.window()?;
    let org_id = actor.org.id.clone();
    let page = state
        .db(move |conn| {
            let filter = product_model::QueueFilter::default();
            let pending = product_model::pending_page(conn, &org_id, &filter, &window)?;
            let apps: Vec<&App> = pending.items.iter().map(|(_, _, a)| a).collect();
            let owners = crate::models::names::app_owners(conn, &org_id, &apps)?;
            Ok(pending.map(|(s, p, app)| {
                let owner = match (&app.owner_user_id, &app.owner_team_id) {
                    (Some(id), _) => owners.get(id).map(|(name, email)| ApprovalOwnerOut {
                        kind: ApprovalOwnerKind::User,
                        id: id.clone(),
                        name: name.clone(),
                        email: Some(email.clone()),
                    }),
                    (None, Some(id)) => owners.get(id).map(|(name, _)| ApprovalOwnerOut {
                        kind: ApprovalOwnerKind::Team,
                        id: id.clone(),
                        name: name.strip_prefix("team ").unwrap_or(name).to_string(),
                        email: None,
                    }),
                    (None, None) => None,
                };
                ApprovalOut {
                    requested_at: support::time(s.created_at),
                    id: s.id,
                    app_id: app.id,
                    app_name: app.name,
                    owner,
                    product_id: p.id,
                    product_slug: p.slug,
                    product_name: p.name,
                    note: s.note,
                    requested_by: s.requested_by,
                }
            }))
        })
        .await?;
    Ok(support::json(&ApprovalList::from(support::Paged::from(
        page,
    ))))
}

fn single(mut outcomes: Vec<DecisionOut>) -> AppResult<HttpResponse> {
    let one = outcomes.pop().ok_or(AppError::NotFound)?;
    Ok(support::json(&one))
}

/// Approve a request
///
/// Organisation admins only. The app's owners are told; a pending app with nothing
/// else pending becomes active. 409 when the request is not pending.
#[utoipa::path(
    post,
    path = "/api/v1/approvals/{id}/approve",
    tag = "approvals",
    params(("id" = String, Path, description = "The subscription's id.")),
    responses((status = 200, body = DecisionOut, description = "Approved."))
)]
pub async fn approve(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::DecideApprovals)?;
    let id = path_id(path)?;
    single(decide_ids(&actor, &state, vec![id], true, String::new()).await?)
}

/// Reject a request
///
/// Organisation admins only. The reason is required: the app's owners see it. A
/// pending app with nothing approved and nothing else pending becomes rejected.
#[utoipa::path(
    post,
    path = "/api/v1/approvals/{id}/reject",
    tag = "approvals",
    params(("id" = String, Path, description = "The subscription's id.")),
    request_body = RejectIn,
    responses((status = 200, body = DecisionOut, description = "Rejected."))
)]
pub async fn reject(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: web::Json<RejectIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::DecideApprovals)?;
    let id = path_id(path)?;
    let reason = reason_text(
        &body.reason,
        Some("Give a reason for the rejection: the developer sees it."),
    )?;
    single(decide_ids(&actor, &state, vec![id], false, reason).await?)
}

/// Decide many requests at once
///
/// Organisation admins only. All or nothing: if any request is unknown (404) or no
/// longer pending (409), nothing is changed.
#[utoipa::path(
    post,
    path = "/api/v1/approvals/decide",
    tag = "approvals",
    request_body = DecideIn,
    responses((status = 200, body = DecideOut, description = "Every request was decided."))
)]
pub async fn decide_approvals(
    actor: ApiActor,
    state: State,
    body: web::Json<DecideIn>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::DecideApprovals)?;
    let body = body.into_inner();
    let mut seen = HashSet::new();
    let ids: Vec<String> = body
        .ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    if ids.is_empty() {
        return Err(AppError::invalid("ids must name at least one request."));
    }
    if ids.len() > BULK_MAX {
        return Err(AppError::invalid(format!(
            "Decide at most {BULK_MAX} requests at once."
        )));
    }
    if ids.iter().any(|id| !validate::is_id_like(id)) {
        return Err(AppError::NotFound);
    }
    let approve = body.decision == Decision::Approve;
    let reason = reason_text(
        body.reason.as_deref().unwrap_or_default(),
        (!approve).then_some("Give a reason for the rejection: the developers see it."),
    )?;
    let items = decide_ids(&actor, &state, ids, approve, reason).await?;
    Ok(support::json(&DecideOut {
        decided: items.len(),
        items,
    }))
}
