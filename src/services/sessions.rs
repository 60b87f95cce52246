//! Browser sessions, stored for `actix-session` (see `auth::session_store`): made at
//! sign-in, found on every page request, ended server-side (sign-out, sign out
//! everywhere, password change, member removal) by deleting their row. Session keys are
//! kept only as SHA-256 hashes. Every write goes through the write transaction.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::crypto::sha256_hex;
use crate::db::{DbConnection, write_transaction};
use crate::error::AppResult;
use crate::models::new_id;
use crate::models::sessions::{self, Session, SessionChanges};

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

/// How a session key is stored: only its digest.
fn key_hash(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

/// What a new session holds besides its key and times.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: String,
    pub csrf_token: String,
    pub ip: String,
    pub user_agent: String,
    /// Further state: a JSON object.
    pub state: String,
}

fn clean_ip(ip: &str) -> String {
    ip.chars().take(64).collect()
}

fn clean_user_agent(user_agent: &str) -> String {
    user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

/// Starts a session under the session key `key` (the caller made it at random).
pub fn create(
    conn: &mut DbConnection,
    key: &str,
    new: NewSession,
    now: NaiveDateTime,
) -> AppResult<Session> {
    let session = Session {
        id: new_id(),
        token_hash: key_hash(key),
        user_id: new.user_id,
        csrf_token: new.csrf_token,
        created_at: now,
        last_seen_at: now,
        ip: clean_ip(&new.ip),
        user_agent: clean_user_agent(&new.user_agent),
        state: new.state,
    };
    write_transaction(conn, |conn| sessions::insert(conn, &session))?;
    Ok(session)
}

/// The live session for `key`, ending it if it has timed out and noting its use at
/// most once a minute.
pub fn authenticate(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
    timeouts: Timeouts,
) -> AppResult<Option<Session>> {
    let Some(mut session) = sessions::find_by_token_hash(conn, &key_hash(key))? else {
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
    Ok(Some(session))
}

/// Saves changed state of the session under `key`; false when it has ended (it is
/// not brought back).
pub fn update(conn: &mut DbConnection, key: &str, changes: NewSession) -> AppResult<bool> {
    let changes = SessionChanges {
        csrf_token: changes.csrf_token,
        ip: clean_ip(&changes.ip),
        user_agent: clean_user_agent(&changes.user_agent),
        state: changes.state,
    };
    let hash = key_hash(key);
    let n = write_transaction(conn, |conn| {
        sessions::update_by_token_hash(conn, &hash, &changes)
    })?;
    Ok(n > 0)
}

/// Ends the session under `key` (sign-out, or its key renewed).
pub fn end_by_key(conn: &mut DbConnection, key: &str) -> AppResult<()> {
    let hash = key_hash(key);
    write_transaction(conn, |conn| sessions::delete_by_token_hash(conn, &hash))?;
    Ok(())
}

/// Ends one of the user's own sessions; false when no such session is theirs.
pub fn end_own(conn: &mut DbConnection, user_id: &str, session_id: &str) -> AppResult<bool> {
    let n = write_transaction(conn, |conn| {
        sessions::delete_for_user(conn, user_id, session_id)
    })?;
    Ok(n > 0)
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
    let (idle_before, created_before) = (now - secs(timeouts.idle), now - secs(timeouts.lifetime));
    Ok(write_transaction(conn, |conn| {
        sessions::delete_expired(conn, idle_before, created_before)
    })?)
}
