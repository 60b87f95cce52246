//! Admins approve or reject pending subscriptions; a pending app settles once
//! nothing of it is pending.

use crate::db::{DbConnection, lock_app, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::apps;
use crate::models::orgs::Organisation;
use crate::models::products;
use crate::services::notifications::{self, Kind, Message};
use crate::services::{Ctx, audit};

use super::app_people;

/// A pending app with nothing pending left becomes active (something approved) or
/// rejected (nothing approved).
pub(super) fn settle_pending_app(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app_id: &str,
    reason: &str,
) -> AppResult<Option<String>> {
    let Some(mut app) = apps::find_in_org(conn, &org.id, app_id)? else {
        return Ok(None);
    };
    if app.status != "pending" {
        return Ok(None);
    }
    let subs = products::subscriptions_of(conn, app_id)?;
    if subs.iter().any(|(s, _)| s.status == "pending") {
        return Ok(None);
    }
    let approved = subs.iter().any(|(s, _)| s.status == "approved");
    app.status = if approved { "active" } else { "rejected" }.into();
    app.status_reason = if approved {
        String::new()
    } else {
        reason.to_string()
    };
    app.updated_at = ctx.now;
    apps::save(conn, &app)?;
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        if approved {
            "app.approved"
        } else {
            "app.rejected"
        },
        Some(&format!("app:{}", app.id)),
        reason,
    )?;
    Ok(Some(app.status))
}

/// Approves or rejects pending subscriptions (one or many, all or nothing). A
/// rejection needs a reason. Returns how many were decided.
pub fn decide(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    ids: &[String],
    approve: bool,
    reason: &str,
    public_base: &str,
) -> AppResult<usize> {
    let reason: String = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    if !approve && reason.is_empty() {
        return Err(AppError::bad_request(
            "Give a reason for the rejection: the developer sees it.",
        ));
    }
    if ids.is_empty() {
        return Err(AppError::bad_request("Select at least one request."));
    }
    if ids.len() > 500 {
        return Err(AppError::bad_request(
            "Decide at most 500 requests at once.",
        ));
    }
    write_transaction(conn, |conn| {
        // Lock the apps first, in one fixed order (no deadlock between two bulk
        // decisions), then read the requests as they are now.
        let mut app_ids: Vec<String> = products::subscriptions_by_ids(conn, &org.id, ids)?
            .into_iter()
            .map(|(_, _, app)| app.id)
            .collect();
        app_ids.sort();
        app_ids.dedup();
        for app_id in &app_ids {
            lock_app(conn, app_id)?;
        }
        let found = products::subscriptions_by_ids(conn, &org.id, ids)?;
        if found.len() != ids.iter().collect::<std::collections::HashSet<_>>().len() {
            return Err(AppError::NotFound);
        }
        for (sub, _, app) in &found {
            if sub.status != "pending" {
                return Err(AppError::conflict(format!(
                    "The request of {} is not pending any more (it is {}). Nothing was changed.",
                    app.name, sub.status
                )));
            }
            if matches!(app.status.as_str(), "revoked" | "deleted") {
                return Err(AppError::conflict(format!(
                    "{} is revoked or deleted. Nothing was changed.",
                    app.name
                )));
            }
        }
        for (mut sub, product, app) in found {
            sub.status = if approve { "approved" } else { "rejected" }.into();
            sub.reason = reason.clone();
            sub.decided_by = ctx.actor_id.clone();
            sub.decided_at = Some(ctx.now);
            sub.updated_at = ctx.now;
            products::save_subscription(conn, &sub)?;
            audit::record(
                conn,
                ctx,
                Some(&org.id),
                if approve {
                    "subscription.approved"
                } else {
                    "subscription.rejected"
                },
                Some(&format!("app:{}", app.id)),
                &format!(
                    "{}{}",
                    product.name,
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!("; reason: {reason}")
                    }
                ),
            )?;
            settle_pending_app(conn, ctx, org, &app.id, &reason)?;
            if approve {
                crate::services::apps::apply_lifetime_cap(conn, ctx, &app.id)?;
            }
            let people = app_people(conn, &app)?;
            let message = Message {
                kind: if approve {
                    Kind::Approved
                } else {
                    Kind::Rejected
                },
                org_id: Some(org.id.clone()),
                title: format!(
                    "{} {} for {}",
                    app.name,
                    if approve {
                        "is approved"
                    } else {
                        "was rejected"
                    },
                    product.name
                ),
                body: if approve {
                    format!("Your app {} may now use {}.", app.name, product.name)
                } else {
                    format!(
                        "Your app {} may not use {}. Reason: {reason}",
                        app.name, product.name
                    )
                },
                link: format!("/o/{}/apps/{}", org.slug, app.id),
            };
            notifications::notify(conn, ctx, &people, &message, public_base)?;
        }
        Ok(ids.len())
    })
}
