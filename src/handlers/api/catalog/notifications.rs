//! The token's user's inbox: listing notifications and marking them read.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{self, PageQuery, Time};
use crate::models::notifications as notification_model;
use crate::services::{self};

/// An item of the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: String,
    /// `approval_requested`, `approved`, `rejected`, `suspended`, `resumed`,
    /// `credential_expiring` or `overlap_ending`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A path on this site to what it is about; empty when there is none.
    pub link: String,
    pub created_at: Time,
    /// `null` while unread.
    pub read_at: Option<Time>,
    pub unread: bool,
}

api_list!(NotificationList, NotificationOut);

/// `?unread=true` on the inbox.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxFilter {
    /// `true`: only unread items.
    pub unread: Option<bool>,
}

/// How many items were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedReadOut {
    pub marked: usize,
}

/// List your notifications
///
/// The token's user's own inbox: the items about the token's organisation.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    params(PageQuery, InboxFilter),
    responses((status = 200, body = NotificationList, description = "One page of the inbox, oldest first."))
)]
pub async fn list_notifications(
    actor: ApiActor,
    state: State,
    query: web::Query<PageQuery>,
    filter: web::Query<InboxFilter>,
) -> AppResult<HttpResponse> {
    let user_id = actor.user.id.clone();
    let org_id = actor.org.id.clone();
    let unread_only = filter.unread.unwrap_or(false);
    let window = query.window()?;
    let rows = state
        .db(move |conn| {
            Ok(notification_model::page_in_org(
                conn,
                &user_id,
                &org_id,
                unread_only,
                &window,
            )?)
        })
        .await?;
    let page = support::Paged::from(rows.map(|n| NotificationOut {
        unread: n.read_at.is_none(),
        read_at: support::opt_time(n.read_at),
        created_at: support::time(n.created_at),
        // Links are paths on this site; anything else is not passed on.
        link: if n.link.starts_with('/') && !n.link.starts_with("//") {
            n.link
        } else {
            String::new()
        },
        id: n.id,
        kind: n.kind,
        title: n.title,
        body: n.body,
    }));
    Ok(support::json(&NotificationList::from(page)))
}

/// Mark a notification read
#[utoipa::path(
    post,
    path = "/api/v1/notifications/{id}/read",
    tag = "notifications",
    params(("id" = String, Path, description = "The notification's id.")),
    responses((status = 204, description = "Marked as read (or it was already)."))
)]
pub async fn mark_notification_read(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(path)?;
    let ctx = actor.ctx.clone();
    let user_id = actor.user.id.clone();
    let org_id = actor.org.id.clone();
    state
        .db(move |conn| {
            if !notification_model::is_owned_in_org(conn, &user_id, &org_id, &id)? {
                return Err(AppError::NotFound);
            }
            services::notifications::mark_read(conn, &ctx, &user_id, &id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mark every notification read
///
/// Every unread item of the inbox about the token's organisation.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/read-all",
    tag = "notifications",
    responses((status = 200, body = MarkedReadOut, description = "How many items were unread."))
)]
pub async fn mark_all_notifications_read(actor: ApiActor, state: State) -> AppResult<HttpResponse> {
    let now = actor.ctx.now;
    let user_id = actor.user.id.clone();
    let org_id = actor.org.id.clone();
    let marked = state
        .db(move |conn| {
            Ok(crate::db::write_transaction(conn, |conn| {
                notification_model::mark_all_read_in_org(conn, &user_id, &org_id, now)
            })?)
        })
        .await?;
    Ok(support::json(&MarkedReadOut { marked }))
}
