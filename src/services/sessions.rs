//! Browser sessions: created at sign-in, looked up on every page request, ended
//! server-side (sign-out, sign out everywhere, password change, member removal).

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::crypto::{SecretString, random_base62, sha256_hex};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppResult;
use crate::models::new_id;
use crate::models::sessions::{self, Session};
use crate::models::users::User;

/// `last_seen_at` is written at most this often per session.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: Duration,
    pub lifetime: Duration,
}

/// Config durations are capped at a century (`config::MAX_DURATION_SECS`), which
/// always fits; the fallback is that cap, never a panic.
fn secs(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| {
        chrono::Duration::seconds(crate::config::MAX_DURATION_SECS.cast_signed())
    })
}

/// Starts a session; returns the plaintext token for the cookie (~190 bits).
pub fn create(
    conn: &mut DbConnection,
    user_id: &str,
    ip: &str,
    user_agent: &str,
    now: NaiveDateTime,
) -> AppResult<(SecretString, Session)> {
    let token = random_base62(32);
    let session = Session {
        id: new_id(),
        token_hash: sha256_hex(token.as_bytes()),
        user_id: user_id.to_string(),
        csrf_token: random_base62(32),
        created_at: now,
        last_seen_at: now,
        ip: ip.chars().take(64).collect(),
        user_agent: user_agent
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect(),
    };
    write_transaction(conn, |conn| sessions::insert(conn, &session))?;
    Ok((SecretString::new(token), session))
}

/// The live session for `token`, ending it if it has timed out.
pub fn authenticate(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    timeouts: Timeouts,
) -> AppResult<Option<(Session, User)>> {
    let Some((mut session, user)) = sessions::find_with_user(conn, &sha256_hex(token.as_bytes()))?
    else {
        return Ok(None);
    };
    let idle_for = now - session.last_seen_at;
    let age = now - session.created_at;
    if idle_for > secs(timeouts.idle) || age > secs(timeouts.lifetime) {
        write_transaction(conn, |conn| sessions::delete(conn, &session.id))?;
        return Ok(None);
    }
    if idle_for.num_seconds() >= TOUCH_INTERVAL_SECS {
        write_transaction(conn, |conn| sessions::touch(conn, &session.id, now))?;
        session.last_seen_at = now;
    }
    Ok(Some((session, user)))
}

/// Ends one session.
pub fn end(conn: &mut DbConnection, session_id: &str) -> AppResult<()> {
    write_transaction(conn, |conn| sessions::delete(conn, session_id))?;
    Ok(())
}

/// Ends one of the user's own sessions; false when no such session is theirs.
pub fn end_own(conn: &mut DbConnection, user_id: &str, session_id: &str) -> AppResult<bool> {
    Ok(write_transaction(conn, |conn| {
        sessions::delete_for_user(conn, user_id, session_id)
    })? > 0)
}

/// Ends every session of the user but `keep`; returns how many ended.
pub fn end_all(conn: &mut DbConnection, user_id: &str, keep: Option<&str>) -> AppResult<usize> {
    Ok(write_transaction(conn, |conn| {
        sessions::delete_all_for_user(conn, user_id, keep)
    })?)
}

/// The user's sessions, most recently used first.
pub fn list(conn: &mut DbConnection, user_id: &str) -> AppResult<Vec<Session>> {
    Ok(sessions::list_for_user(conn, user_id)?)
}

/// Deletes timed-out sessions (housekeeping).
pub fn purge_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    timeouts: Timeouts,
) -> AppResult<usize> {
    Ok(sessions::delete_expired(
        conn,
        now - secs(timeouts.idle),
        now - secs(timeouts.lifetime),
    )?)
}
