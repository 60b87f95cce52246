//! The outbox's rules: claiming a due message (one instance at a time), recording the
//! outcome of a send, and an instance owner's retry of a dead message.

use chrono::NaiveDateTime;

use crate::db::{DbConnection, lock_next_due_email, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::outbox::{self, OutboxEmail};
use crate::models::page::{Page, Window};
use crate::services::links::{self, Prepared};
use crate::services::{Ctx, audit};

/// A claimed message and what to send.
#[derive(Debug)]
pub struct Claimed {
    pub email: OutboxEmail,
    /// Its text, with the token of its link minted; or why it is not sent (then the
    /// message is already `dead`).
    pub prepared: Prepared,
}

/// Claims the oldest due message: counts the attempt and leaves the message alone until
/// `lease_until`, so no other pass sends it meanwhile and a crashed sender's message
/// is sent again after the lease. A message carrying a link gets a freshly minted
/// token in the same transaction (see [`links::prepare`]); one whose link can no longer
/// be used goes `dead` instead.
pub fn claim_next(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> AppResult<Option<Claimed>> {
    // Most passes find nothing: they should not take SQLite's write lock for that.
    if !outbox::any_due(conn, now)? {
        return Ok(None);
    }
    write_transaction(conn, |conn| {
        let Some(id) = lock_next_due_email(conn, now)? else {
            return Ok(None);
        };
        outbox::claim(conn, &id, lease_until)?;
        let Some(email) = outbox::find(conn, &id)? else {
            return Ok(None);
        };
        let prepared = links::prepare(conn, &email, now)?;
        if let Prepared::Void(why) = &prepared {
            outbox::mark_failed(conn, &id, now, why, true)?;
        }
        Ok(Some(Claimed { email, prepared }))
    })
}

pub fn mark_sent(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    write_transaction(conn, |conn| outbox::mark_sent(conn, id, now))?;
    Ok(())
}

/// Records a failed attempt: the message waits until `next_attempt_at`, or is `dead`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    next_attempt_at: NaiveDateTime,
    error: &str,
    dead: bool,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        outbox::mark_failed(conn, id, next_attempt_at, error, dead)
    })?;
    Ok(())
}

/// Housekeeping: forgets messages sent more than 30 days ago and email tokens that
/// expired more than 7 days ago.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    let sent = outbox::delete_sent_before(conn, now - chrono::Duration::days(30))?;
    let tokens =
        crate::models::user_tokens::delete_expired_before(conn, now - chrono::Duration::days(7))?;
    // Bodies of messages that never went out are of no use after a week (every link in
    // one has expired by then), so the text goes too (the row stays for admins).
    let wiped = outbox::wipe_dead_bodies_before(conn, now - chrono::Duration::days(7))?;
    Ok(sent + tokens + wiped)
}

/// What the dead-letter page shows: a page of each list and their counts (up to
/// the cap).
#[derive(Debug)]
pub struct Overview {
    pub dead: Page<OutboxEmail>,
    pub pending: Page<OutboxEmail>,
    pub dead_total: usize,
    pub pending_total: usize,
}

pub fn overview(conn: &mut DbConnection, dead: &Window, pending: &Window) -> AppResult<Overview> {
    Ok(Overview {
        dead: outbox::page_with_status(conn, "dead", dead)?,
        pending: outbox::page_with_status(conn, "pending", pending)?,
        dead_total: outbox::count_with_status_capped(conn, "dead")?,
        pending_total: outbox::count_with_status_capped(conn, "pending")?,
    })
}

/// Puts a dead message back in the queue, with eight fresh attempts.
pub fn retry(conn: &mut DbConnection, ctx: &Ctx, id: &str) -> AppResult<OutboxEmail> {
    write_transaction(conn, |conn| {
        let email = outbox::find(conn, id)?.ok_or(AppError::NotFound)?;
        if outbox::revive(conn, id, ctx.now)? == 0 {
            return Err(AppError::conflict(
                "This message is not dead: it is already queued or sent.",
            ));
        }
        audit::record(
            conn,
            ctx,
            None,
            "outbox.retried",
            Some(&format!("email:{id}")),
            &email.to_address,
        )?;
        Ok(email)
    })
}
