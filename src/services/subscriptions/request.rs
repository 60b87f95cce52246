//! Asking for a product for an app, and cancelling the request.

use crate::db::{DbConnection, is_unique_violation, lock_app, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::apps::{self, App};
use crate::models::new_id;
use crate::models::orgs::Organisation;
use crate::models::products::{self, Product, Subscription};
use crate::models::users::User;
use crate::services::notifications::{self, Kind, Message};
use crate::services::{Ctx, audit};

use super::decide::settle_pending_app;
use super::{may_see, needs_approval, org_admins};

/// A member's request for a product for an app.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionRequest<'a> {
    pub org: &'a Organisation,
    pub app: &'a App,
    pub product: &'a Product,
    pub requester: &'a User,
    /// A note to the approvers.
    pub note: &'a str,
    /// The absolute base of links in the admins' emails.
    pub public_base: &'a str,
}

/// Requests a subscription inside the caller's transaction; returns it (approved at
/// once, or pending with the admins told). The requester must be able to see the
/// product ([`may_see`]).
pub(crate) fn request_in_tx(
    conn: &mut DbConnection,
    ctx: &Ctx,
    request: &SubscriptionRequest<'_>,
) -> AppResult<Subscription> {
    let SubscriptionRequest {
        org,
        app,
        product,
        requester,
        note,
        public_base,
    } = *request;
    if product.archived_at.is_some() {
        return Err(AppError::conflict(format!(
            "{} is archived and takes no new subscriptions.",
            product.name
        )));
    }
    match app.status.as_str() {
        "revoked" | "deleted" => {
            return Err(AppError::conflict(
                "This app is revoked: it cannot subscribe.",
            ));
        }
        "rejected" => {
            return Err(AppError::conflict(
                "This app was rejected. Create a new app to ask again.",
            ));
        }
        _ => {}
    }
    if !may_see(conn, &org.id, product, requester)? {
        return Err(AppError::bad_request("Choose a product you can see."));
    }
    let note: String = note
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(1000)
        .collect();
    let already = || {
        AppError::conflict(format!(
            "This app already has a subscription to {} (pending or approved).",
            product.name
        ))
    };
    if products::subscriptions_of(conn, &app.id)?
        .iter()
        .any(|(s, _)| {
            s.product_id == product.id && matches!(s.status.as_str(), "pending" | "approved")
        })
    {
        return Err(already());
    }
    let pending = needs_approval(conn, &org.id, product, requester)?;
    let sub = Subscription {
        id: new_id(),
        app_id: app.id.clone(),
        product_id: product.id.clone(),
        status: if pending { "pending" } else { "approved" }.into(),
        note,
        reason: String::new(),
        requested_by: requester.id.clone(),
        decided_by: None,
        decided_at: (!pending).then_some(ctx.now),
        created_at: ctx.now,
        updated_at: ctx.now,
        org_id: product.org_id.clone(),
    };
    products::insert_subscription(conn, &sub).map_err(|e| {
        if is_unique_violation(&e) {
            already()
        } else {
            e.into()
        }
    })?;
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        if pending {
            "subscription.requested"
        } else {
            "subscription.approved"
        },
        Some(&format!("app:{}", app.id)),
        &format!(
            "{}{}",
            product.name,
            if pending {
                ""
            } else {
                " (approved automatically)"
            }
        ),
    )?;
    if !pending {
        crate::services::apps::apply_lifetime_cap(conn, ctx, &app.id)?;
    }
    if pending {
        let admins = org_admins(conn, &org.id)?;
        let message = Message {
            kind: Kind::ApprovalRequested,
            org_id: Some(org.id.clone()),
            title: format!("{} asks for {}", app.name, product.name),
            body: format!(
                "The app {} waits for your approval to use {}.",
                app.name, product.name
            ),
            link: format!("/o/{}/admin/approvals", org.slug),
        };
        notifications::notify(conn, ctx, &admins, &message, public_base)?;
    }
    Ok(sub)
}

/// Requests a subscription for an existing app.
pub fn request(
    conn: &mut DbConnection,
    ctx: &Ctx,
    request: SubscriptionRequest<'_>,
) -> AppResult<Subscription> {
    let SubscriptionRequest { org, .. } = request;
    write_transaction(conn, |conn| {
        lock_app(conn, &request.app.id)?;
        let app = apps::find_in_org(conn, &org.id, &request.app.id)?.ok_or(AppError::NotFound)?;
        // The product as it is now (it may have been archived or changed meanwhile).
        let product =
            products::find(conn, &org.id, &request.product.id)?.ok_or(AppError::NotFound)?;
        request_in_tx(
            conn,
            ctx,
            &SubscriptionRequest {
                app: &app,
                product: &product,
                ..request
            },
        )
    })
}

/// Cancels a pending or approved subscription of an app.
pub fn cancel(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app: &App,
    subscription_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        lock_app(conn, &app.id)?;
        let (mut sub, product) = products::subscriptions_of(conn, &app.id)?
            .into_iter()
            .find(|(s, _)| s.id == subscription_id)
            .ok_or(AppError::NotFound)?;
        if !matches!(sub.status.as_str(), "pending" | "approved") {
            return Err(AppError::conflict(format!(
                "This subscription is {} and cannot be cancelled.",
                sub.status
            )));
        }
        let app_now = apps::find_in_org(conn, &org.id, &app.id)?.ok_or(AppError::NotFound)?;
        if app_now.status == "pending" {
            let others_live = products::subscriptions_of(conn, &app.id)?
                .iter()
                .any(|(s, _)| {
                    s.id != sub.id && matches!(s.status.as_str(), "pending" | "approved")
                });
            if !others_live {
                return Err(AppError::conflict(
                    "This is the only request of a pending app. Delete the app instead if you no longer need it.",
                ));
            }
        }
        sub.status = "cancelled".into();
        sub.updated_at = ctx.now;
        products::save_subscription(conn, &sub)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "subscription.cancelled",
            Some(&format!("app:{}", app.id)),
            &product.name,
        )?;
        settle_pending_app(conn, ctx, org, &app.id, "")?;
        Ok(())
    })
}
