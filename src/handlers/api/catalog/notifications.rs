//! The token's user's inbox: listing notifications and marking them read.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::db::DbConnection;
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

/// The user's inbox items about the token's organisation.
fn inbox_items(
    conn: &mut DbConnection,
    user_id: &str,
    org_id: &str,
    unread_only: bool,
) -> QueryResult<Vec<notification_model::Notification>> {
    use crate::db::schema::notifications as n;
    let mut q = n::table
        .filter(n::user_id.eq(user_id))
        .filter(n::org_id.eq(org_id))
        .select(notification_model::Notification::as_select())
        .into_boxed();
    if unread_only {
        q = q.filter(n::read_at.is_null());
    }
    q.order(n::id.asc()).load(conn)
}

/// Is the item the user's, about the token's organisation?
fn in_inbox(conn: &mut DbConnection, user_id: &str, org_id: &str, id: &str) -> QueryResult<bool> {
    use crate::db::schema::notifications as n;
    n::table
        .filter(n::user_id.eq(user_id))
        .filter(n::org_id.eq(org_id))
        .filter(n::id.eq(id))
        .count()
        .get_result::<i64>(conn)
        .map(|c| c > 0)
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
    let rows = state
        .db(move |conn| Ok(inbox_items(conn, &user_id, &org_id, unread_only)?))
        .await?;
    let items: Vec<NotificationOut> = rows
        .into_iter()
        .map(|n| NotificationOut {
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
        })
        .collect();
    let page = support::paginate(items, |n| n.id.as_str(), &query)?;
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
            if !in_inbox(conn, &user_id, &org_id, &id)? {
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
    use crate::db::schema::notifications as n;
    let now = actor.ctx.now;
    let user_id = actor.user.id.clone();
    let org_id = actor.org.id.clone();
    let marked = state
        .db(move |conn| {
            Ok(diesel::update(
                n::table
                    .filter(n::user_id.eq(&user_id))
                    .filter(n::org_id.eq(&org_id))
                    .filter(n::read_at.is_null()),
            )
            .set(n::read_at.eq(now))
            .execute(conn)?)
        })
        .await?;
    Ok(support::json(&MarkedReadOut { marked }))
}
