//! Warnings before credentials stop working: "credential expiring within N days" for
//! credentials with an expiry (product lifetimes), and "overlap ending" for the old
//! credential of a rotation. Each warning is sent once per credential, in the same
//! transaction that records it. Run periodically by the housekeeping task.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{apps, credential_notices, credentials, organisations};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::apps::{App, Credential};
use crate::services::notifications::{self, Kind, Message};
use crate::services::{Ctx, subscriptions};

/// How long before a product-imposed expiry the owners are warned.
pub const EXPIRING_WITHIN_DAYS: i64 = 7;
/// How long before a rotation's overlap ends the owners are warned.
pub const OVERLAP_ENDING_WITHIN_HOURS: i64 = 24;

/// Sends the warnings due at `now`; returns how many credentials were warned about.
pub fn warn_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    public_base: &str,
) -> AppResult<usize> {
    let horizon = now + Duration::days(EXPIRING_WITHIN_DAYS);
    let due: Vec<(Credential, App, String)> = credentials::table
        .inner_join(apps::table)
        .inner_join(organisations::table.on(organisations::id.eq(apps::org_id)))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::expires_at.gt(now))
        .filter(credentials::expires_at.le(horizon))
        .filter(apps::status.ne_all(["revoked", "deleted"]))
        .select((
            Credential::as_select(),
            App::as_select(),
            organisations::slug,
        ))
        .load(conn)?;
    let mut warned = 0;
    for (cred, app, slug) in due {
        let Some(expires_at) = cred.expires_at else {
            continue;
        };
        // A credential that another working credential outlasts is being replaced:
        // it is in a rotation's overlap.
        let siblings = crate::models::apps::credentials_of(conn, &app.id)?;
        let in_overlap = crate::models::apps::can_retire(&siblings, &cred.id, now);
        let (kind, window) = if in_overlap {
            (
                Kind::OverlapEnding,
                Duration::hours(OVERLAP_ENDING_WITHIN_HOURS),
            )
        } else {
            (
                Kind::CredentialExpiring,
                Duration::days(EXPIRING_WITHIN_DAYS),
            )
        };
        if expires_at > now + window {
            continue;
        }
        let ctx = Ctx::system(now);
        let sent = write_transaction(conn, |conn| -> AppResult<bool> {
            let already = credential_notices::table
                .find((&cred.id, kind.as_str()))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if already {
                return Ok(false);
            }
            diesel::insert_into(credential_notices::table)
                .values((
                    credential_notices::credential_id.eq(&cred.id),
                    credential_notices::kind.eq(kind.as_str()),
                    credential_notices::created_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| {
                    if crate::db::is_unique_violation(&e) {
                        // Another instance sent it a moment ago.
                        AppError::conflict("already warned")
                    } else {
                        e.into()
                    }
                })?;
            let people = subscriptions::app_people(conn, &app)?;
            let when = expires_at.format("%Y-%m-%d %H:%M UTC");
            let shown = format!("{}…{}", cred.prefix, cred.last4);
            let message = match kind {
                Kind::OverlapEnding => Message {
                    kind,
                    org_id: Some(app.org_id.clone()),
                    title: format!("The old credential of {} stops working soon", app.name),
                    body: format!(
                        "The rotation overlap of {shown} on {} ends at {when}. Make sure everything uses the new credential.",
                        app.name
                    ),
                    link: format!("/o/{slug}/apps/{}", app.id),
                },
                _ => Message {
                    kind,
                    org_id: Some(app.org_id.clone()),
                    title: format!("A credential of {} expires soon", app.name),
                    body: format!(
                        "{shown} on {} expires at {when}. Rotate it before then.",
                        app.name
                    ),
                    link: format!("/o/{slug}/apps/{}", app.id),
                },
            };
            notifications::notify(conn, &ctx, &people, &message, public_base)?;
            Ok(true)
        });
        match sent {
            Ok(true) => warned += 1,
            Ok(false) | Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(warned)
}
