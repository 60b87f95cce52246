//! Notifications: an in-portal inbox item for each recipient and, unless they turned
//! email off for that kind of event, an email through the outbox — both written in
//! the caller's transaction, so a change and the news of it commit together and no
//! notification is lost.

use diesel::prelude::*;

use crate::db::schema::{notification_preferences, notifications, users};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppResult;
use crate::models::new_id;
use crate::models::outbox::NewEmail;
use crate::services::Ctx;

/// Kinds of event people are told about (each can have email turned off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// To org admins: an app waits for approval.
    ApprovalRequested,
    /// To the app's owner(s): a subscription was approved.
    Approved,
    /// To the app's owner(s): a subscription was rejected.
    Rejected,
    /// To the app's owner(s): the app was suspended or resumed.
    Suspended,
    Resumed,
    /// A credential expires within a few days.
    CredentialExpiring,
    /// A rotation's overlap is ending.
    OverlapEnding,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalRequested => "approval_requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Suspended => "suspended",
            Self::Resumed => "resumed",
            Self::CredentialExpiring => "credential_expiring",
            Self::OverlapEnding => "overlap_ending",
        }
    }

    pub const ALL: [Kind; 7] = [
        Kind::ApprovalRequested,
        Kind::Approved,
        Kind::Rejected,
        Kind::Suspended,
        Kind::Resumed,
        Kind::CredentialExpiring,
        Kind::OverlapEnding,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::ApprovalRequested => "An app waits for my approval",
            Self::Approved => "My app's subscription is approved",
            Self::Rejected => "My app's subscription is rejected",
            Self::Suspended => "My app is suspended",
            Self::Resumed => "My app is resumed",
            Self::CredentialExpiring => "A credential of my app expires soon",
            Self::OverlapEnding => "A rotation overlap is ending",
        }
    }
}

/// What to tell.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: Kind,
    pub org_id: Option<String>,
    pub title: String,
    pub body: String,
    /// A path on this site, e.g. `/o/acme/apps/<id>`.
    pub link: String,
}

/// Queues one email in the outbox, inside the caller's transaction. It must not hold a
/// secret: single-use links are queued through [`crate::services::links::queue`].
pub fn queue_email(
    conn: &mut DbConnection,
    ctx: &Ctx,
    to: &str,
    subject: &str,
    body: &str,
) -> AppResult<()> {
    crate::models::outbox::insert(conn, &NewEmail::due(to, subject, body, ctx.now))?;
    Ok(())
}

/// Tells each of `user_ids`: an inbox item, and an email unless they opted out.
/// `public_base` turns the link into an absolute URL for the email.
pub fn notify(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_ids: &[String],
    message: &Message,
    public_base: &str,
) -> AppResult<()> {
    let mut seen = std::collections::HashSet::new();
    for user_id in user_ids.iter().filter(|u| seen.insert(u.as_str())) {
        diesel::insert_into(notifications::table)
            .values((
                notifications::id.eq(new_id()),
                notifications::user_id.eq(user_id),
                notifications::org_id.eq(&message.org_id),
                notifications::kind.eq(message.kind.as_str()),
                notifications::title.eq(&message.title),
                notifications::body.eq(&message.body),
                notifications::link.eq(&message.link),
                notifications::created_at.eq(ctx.now),
            ))
            .execute(conn)?;
        let email_on = notification_preferences::table
            .find((user_id, message.kind.as_str()))
            .select(notification_preferences::email)
            .first::<bool>(conn)
            .optional()?
            .unwrap_or(true);
        if !email_on {
            continue;
        }
        let Some(address) = users::table
            .find(user_id)
            .select(users::email)
            .first::<String>(conn)
            .optional()?
        else {
            continue;
        };
        let body = format!(
            "{}\n\n{}{}\n\n-- \nGatehouse. To stop these emails, change your notification preferences: {}/account/notifications\n",
            message.body, public_base, message.link, public_base
        );
        queue_email(conn, ctx, &address, &message.title, &body)?;
    }
    Ok(())
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One page of a user's inbox, with its counts (up to the cap).
#[derive(Debug)]
pub struct InboxPage {
    pub page: crate::models::page::Page<crate::models::notifications::Notification>,
    pub total: usize,
    pub unread: usize,
}

/// One page of the user's inbox, newest first.
pub fn inbox(
    conn: &mut DbConnection,
    user_id: &str,
    window: &crate::models::page::Window,
) -> AppResult<InboxPage> {
    use crate::models::notifications as model;
    Ok(InboxPage {
        page: model::page_for_user(conn, user_id, window)?,
        total: model::count_for_user_capped(conn, user_id, false)?,
        unread: model::count_for_user_capped(conn, user_id, true)?,
    })
}

/// Marks one of the user's own items read; `NotFound` for anyone else's.
pub fn mark_read(conn: &mut DbConnection, ctx: &Ctx, user_id: &str, id: &str) -> AppResult<()> {
    use crate::models::notifications as model;
    if !model::is_owned(conn, user_id, id)? {
        return Err(crate::error::AppError::NotFound);
    }
    write_transaction(conn, |conn| model::mark_read(conn, user_id, id, ctx.now))?;
    Ok(())
}

/// Marks every item of the user read; returns how many were unread.
pub fn mark_all_read(conn: &mut DbConnection, ctx: &Ctx, user_id: &str) -> AppResult<usize> {
    Ok(write_transaction(conn, |conn| {
        crate::models::notifications::mark_all_read(conn, user_id, ctx.now)
    })?)
}

/// Whether the user gets email for each kind, in [`Kind::ALL`] order.
pub fn email_preferences(conn: &mut DbConnection, user_id: &str) -> AppResult<Vec<(Kind, bool)>> {
    let stored = crate::models::notifications::preferences(conn, user_id)?;
    Ok(Kind::ALL
        .into_iter()
        .map(|kind| {
            let on = stored
                .iter()
                .find(|(k, _)| k == kind.as_str())
                .is_none_or(|(_, on)| *on);
            (kind, on)
        })
        .collect())
}

/// Saves the user's email choice for every kind (`on` lists the kinds to email).
pub fn set_email_preferences(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    on: &[Kind],
) -> AppResult<()> {
    crate::db::write_transaction(conn, |conn| {
        for kind in Kind::ALL {
            crate::models::notifications::set_preference(
                conn,
                user_id,
                kind.as_str(),
                on.contains(&kind),
            )?;
        }
        crate::services::audit::record(
            conn,
            ctx,
            None,
            "user.notification_preferences_changed",
            Some(&format!("user:{user_id}")),
            &on.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","),
        )?;
        Ok(())
    })
}
