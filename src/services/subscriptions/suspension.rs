//! Suspending an active app and resuming it.

use crate::db::{DbConnection, lock_app, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::apps::{self, App};
use crate::models::orgs::Organisation;
use crate::services::notifications::{self, Kind, Message};
use crate::services::{Ctx, audit};

use super::app_people;

/// Suspends an active app (its credentials are refused with SUSPENDED) or resumes it.
pub fn set_suspended(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app: &App,
    suspend: bool,
    reason: &str,
    public_base: &str,
) -> AppResult<()> {
    let reason: String = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    if suspend && reason.is_empty() {
        return Err(AppError::bad_request(
            "Give a reason for the suspension: the owner sees it.",
        ));
    }
    write_transaction(conn, |conn| {
        lock_app(conn, &app.id)?;
        let mut app = apps::find_in_org(conn, &org.id, &app.id)?.ok_or(AppError::NotFound)?;
        if !suspend && app.status_reason == crate::services::apps::OWNER_LEFT {
            return Err(AppError::conflict(
                "This app was suspended because its owner left. Transfer it to a team or a member to make it work again.",
            ));
        }
        match (suspend, app.status.as_str()) {
            (true, "active") | (false, "suspended") => {}
            (true, s) => {
                return Err(AppError::conflict(format!(
                    "Only active apps can be suspended; this one is {s}."
                )));
            }
            (false, s) => {
                return Err(AppError::conflict(format!(
                    "Only suspended apps can be resumed; this one is {s}."
                )));
            }
        }
        app.status = if suspend { "suspended" } else { "active" }.into();
        app.status_reason = if suspend {
            reason.clone()
        } else {
            String::new()
        };
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            if suspend {
                "app.suspended"
            } else {
                "app.resumed"
            },
            Some(&format!("app:{}", app.id)),
            &reason,
        )?;
        let people = app_people(conn, &app)?;
        let message = Message {
            kind: if suspend {
                Kind::Suspended
            } else {
                Kind::Resumed
            },
            org_id: Some(org.id.clone()),
            title: format!(
                "{} is {}",
                app.name,
                if suspend { "suspended" } else { "active again" }
            ),
            body: if suspend {
                format!(
                    "An admin suspended your app {}: its credentials are refused until it is resumed. Reason: {reason}",
                    app.name
                )
            } else {
                format!("Your app {} is active again.", app.name)
            },
            link: format!("/o/{}/apps/{}", org.slug, app.id),
        };
        notifications::notify(conn, ctx, &people, &message, public_base)?;
        Ok(())
    })
}
