//! Account events: sign-ins, failed sign-ins, sign-outs and sessions ended from the
//! account page, recorded as audit entries on the account (`user:<id>`, no
//! organisation) next to the password and address changes recorded where they happen;
//! and the newest of them for the account page.
//!
//! A failed sign-in is recorded only for an account that exists, and only when the
//! password was actually checked (not when the throttle refused the attempt): an
//! unknown address creates no row, and the throttle bounds how fast anyone can add
//! rows to an account (after five free failures, one attempt per growing delay up to
//! five minutes). Entries never hold a password or a token; the source address is the
//! entry's own column.

use crate::db::{DbConnection, write_transaction};
use crate::error::AppResult;
use crate::models::audit::{self, AuditEvent};
use crate::services::{Ctx, audit as record, sessions};

/// How many entries the account page shows.
pub const RECENT: i64 = 20;

pub const SIGNED_IN: &str = "user.signed_in";
pub const SIGN_IN_FAILED: &str = "user.sign_in_failed";
pub const SIGNED_OUT: &str = "user.signed_out";
pub const SESSIONS_ENDED: &str = "user.sessions_ended";

fn target(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn account_event(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    action: &str,
    detail: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        record::record(conn, ctx, None, action, Some(&target(user_id)), detail)
    })?;
    Ok(())
}

/// The user signed in with their password.
pub fn signed_in(conn: &mut DbConnection, ctx: &Ctx, user_id: &str) -> AppResult<()> {
    account_event(conn, ctx, user_id, SIGNED_IN, "")
}

/// Someone tried to sign in to this existing account with a wrong password (the actor
/// is unknown: `ctx.actor_id` is not read).
pub fn sign_in_failed(conn: &mut DbConnection, ctx: &Ctx, user_id: &str) -> AppResult<()> {
    let unknown = Ctx {
        actor_id: None,
        ..ctx.clone()
    };
    account_event(conn, &unknown, user_id, SIGN_IN_FAILED, "wrong password")
}

/// The user signed out of this session.
pub fn signed_out(conn: &mut DbConnection, ctx: &Ctx, user_id: &str) -> AppResult<()> {
    account_event(conn, ctx, user_id, SIGNED_OUT, "")
}

/// Ends one of the user's sessions (from the account page); `false` when it is not
/// theirs or already over. Ending the current one is signing out.
pub fn end_session(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    session_id: &str,
    current: bool,
) -> AppResult<bool> {
    write_transaction(conn, |conn| {
        if !sessions::end_own(conn, user_id, session_id)? {
            return Ok(false);
        }
        let (action, detail) = if current {
            (SIGNED_OUT, "")
        } else {
            (SESSIONS_ENDED, "1")
        };
        record::record(conn, ctx, None, action, Some(&target(user_id)), detail)?;
        Ok(true)
    })
}

/// Ends every session of the user but `keep`; returns how many ended.
pub fn end_other_sessions(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    keep: &str,
) -> AppResult<usize> {
    write_transaction(conn, |conn| {
        let ended = sessions::end_all(conn, user_id, Some(keep))?;
        if ended > 0 {
            record::record(
                conn,
                ctx,
                None,
                SESSIONS_ENDED,
                Some(&target(user_id)),
                &ended.to_string(),
            )?;
        }
        Ok(ended)
    })
}

/// The newest [`RECENT`] entries about the account, newest first.
pub fn recent(conn: &mut DbConnection, user_id: &str) -> AppResult<Vec<AuditEvent>> {
    Ok(audit::for_account(conn, user_id, RECENT)?)
}
