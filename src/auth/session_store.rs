//! Portal sessions on `actix-session`: a [`SessionStore`] over the diesel `sessions`
//! table, and the middleware that wraps the portal's routes (never `/api/**` or the
//! machine endpoints).
//!
//! The cookie `gatehouse_session` carries a random session key, encrypted with a key
//! derived from the instance secret; the table holds only the key's SHA-256. The
//! owner, creation and last-use times are columns, so ending a session anywhere is
//! deleting its row: the store then finds nothing and the visitor is signed out.
//! Idle and absolute timeouts are judged from those columns on every load, not from a
//! store TTL.

use std::collections::HashMap;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use serde_json::Value;

use crate::auth::SESSION_COOKIE;
use crate::error::AppError;
use crate::models::sessions::Session as StoredSession;
use crate::services::sessions::{self, NewSession};
use crate::state::AppState;

/// Session state keys kept in columns. `session_id` and `created_at` are read-only:
/// the store fills them in on load and ignores them on save.
pub const USER_ID: &str = "user_id";
pub const CSRF_TOKEN: &str = "csrf_token";
pub const IP: &str = "ip";
pub const USER_AGENT: &str = "user_agent";
pub const SESSION_ID: &str = "session_id";
const CREATED_AT: &str = "created_at";
const LAST_SEEN_AT: &str = "last_seen_at";
const COLUMNS: [&str; 7] = [
    USER_ID,
    CSRF_TOKEN,
    IP,
    USER_AGENT,
    SESSION_ID,
    CREATED_AT,
    LAST_SEEN_AT,
];

/// Session keys are 64 base62 characters (~380 bits) from the state's CSPRNG.
const KEY_LEN: usize = 64;
const CSRF_LEN: usize = 32;

/// Sessions in the database, for `actix-session`.
#[derive(Clone)]
pub struct DbSessionStore {
    state: web::Data<AppState>,
}

impl DbSessionStore {
    pub fn new(state: web::Data<AppState>) -> Self {
        Self { state }
    }
}

/// The session middleware for the portal's routes.
pub fn middleware(state: &web::Data<AppState>) -> SessionMiddleware<DbSessionStore> {
    let config = &state.config;
    let lifetime = i64::try_from(config.session_lifetime.as_secs()).unwrap_or(i64::MAX);
    let path = if config.public_url.path.is_empty() {
        "/".to_string()
    } else {
        config.public_url.path.clone()
    };
    SessionMiddleware::builder(DbSessionStore::new(state.clone()), cookie_key(state))
        .cookie_name(SESSION_COOKIE.to_string())
        .cookie_path(path)
        .cookie_secure(config.public_url.https)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(CookieDuration::seconds(lifetime))
                // Use is noted by the store (`last_seen_at`), not by re-sending the cookie.
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build()
}

/// Wraps the session middleware: when the session store fails (the database busy past
/// its timeout, or down), the visitor gets 503 with `Retry-After` instead of
/// actix-session's bare 500, and the cause is logged.
pub async fn store_failures(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    next.call(req).await.map_err(|err| {
        let from_store = err.as_error::<InternalError<LoadError>>().is_some()
            || err.as_error::<InternalError<SaveError>>().is_some()
            || err.as_error::<InternalError<UpdateError>>().is_some()
            || err.as_error::<InternalError<anyhow::Error>>().is_some();
        if !from_store {
            return err;
        }
        tracing::error!(cause = ?err, "the session store failed");
        // actix-session hides the store's error inside its own, so every store failure
        // counts as the database being busy (its one likely cause).
        let busy = AppError::busy();
        let unavailable = HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, crate::error::RETRY_UNAVAILABLE_SECS))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body(busy.public_message());
        InternalError::from_response("session store unavailable", unavailable).into()
    })
}

/// The cookie key: `Key::derive_from` over a digest of the instance secret that names
/// this purpose (`Key::from` panics under 64 bytes; `derive_from` wants 32 or more,
/// which a SHA-256 digest always has).
fn cookie_key(state: &AppState) -> Key {
    use sha2::{Digest, Sha256};
    let mut master = Sha256::new();
    master.update(b"gatehouse session cookie\0");
    master.update(state.key.as_bytes());
    Key::derive_from(&master.finalize())
}

fn other(e: AppError) -> anyhow::Error {
    anyhow::Error::new(e)
}

fn json(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// The state `actix-session` sees: the columns, then the rest of the JSON object.
fn to_state(s: StoredSession) -> Result<HashMap<String, String>, LoadError> {
    let extra: serde_json::Map<String, Value> = serde_json::from_str(&s.state)
        .map_err(|e| LoadError::Deserialization(anyhow::Error::new(e)))?;
    let mut state: HashMap<String, String> = extra
        .into_iter()
        .filter(|(k, _)| !COLUMNS.contains(&k.as_str()))
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    state.insert(USER_ID.into(), json(&s.user_id));
    state.insert(CSRF_TOKEN.into(), json(&s.csrf_token));
    state.insert(IP.into(), json(&s.ip));
    state.insert(USER_AGENT.into(), json(&s.user_agent));
    state.insert(SESSION_ID.into(), json(&s.id));
    state.insert(CREATED_AT.into(), json(&s.created_at.to_string()));
    state.insert(LAST_SEEN_AT.into(), json(&s.last_seen_at.to_string()));
    Ok(state)
}

/// The row's values from the state; `None` when it names no user (such a session is
/// not stored).
fn from_state(
    mut state: HashMap<String, String>,
    rng: &crate::crypto::Csprng,
) -> Result<Option<NewSession>, serde_json::Error> {
    let mut text = |key: &str| -> Result<Option<String>, serde_json::Error> {
        state
            .remove(key)
            .map(|v| serde_json::from_str::<String>(&v))
            .transpose()
    };
    let Some(user_id) = text(USER_ID)? else {
        return Ok(None);
    };
    let csrf_token = text(CSRF_TOKEN)?.unwrap_or_else(|| rng.base62(CSRF_LEN));
    let ip = text(IP)?.unwrap_or_default();
    let user_agent = text(USER_AGENT)?.unwrap_or_default();
    let mut extra = serde_json::Map::new();
    for (k, v) in state {
        if !COLUMNS.contains(&k.as_str()) {
            extra.insert(k, serde_json::from_str(&v)?);
        }
    }
    Ok(Some(NewSession {
        user_id,
        csrf_token,
        ip,
        user_agent,
        state: Value::Object(extra).to_string(),
    }))
}

impl SessionStore for DbSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let key = session_key.as_ref().to_string();
        let now = self.state.clock.now_naive();
        let timeouts = self.state.session_timeouts();
        let found = self
            .state
            .db(move |conn| sessions::authenticate(conn, &key, now, timeouts))
            .await
            .map_err(|e| LoadError::Other(other(e)))?;
        found.map(to_state).transpose()
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let new = from_state(session_state, &self.state.rng)
            .map_err(|e| SaveError::Serialization(anyhow::Error::new(e)))?
            .ok_or_else(|| {
                SaveError::Serialization(anyhow::anyhow!("a session must name its user"))
            })?;
        let key = self.state.rng.base62(KEY_LEN);
        let now = self.state.clock.now_naive();
        let stored = key.clone();
        self.state
            .db(move |conn| sessions::create(conn, &stored, new, now))
            .await
            .map_err(|e| SaveError::Other(other(e)))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(anyhow::Error::new(e)))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let changes = from_state(session_state, &self.state.rng)
            .map_err(|e| UpdateError::Serialization(anyhow::Error::new(e)))?;
        let key = session_key.as_ref().to_string();
        match changes {
            // A session ended elsewhere stays ended: nothing is written back.
            Some(changes) => {
                self.state
                    .db(move |conn| sessions::update(conn, &key, changes))
                    .await
                    .map_err(|e| UpdateError::Other(other(e)))?;
            }
            // State without a user is no session: it ends.
            None => {
                self.state
                    .db(move |conn| sessions::end_by_key(conn, &key))
                    .await
                    .map_err(|e| UpdateError::Other(other(e)))?;
            }
        }
        Ok(session_key)
    }

    /// Not called with [`TtlExtensionPolicy::OnStateChanges`]; the timeouts are judged
    /// from the stored times, so there is nothing to extend.
    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref().to_string();
        self.state
            .db(move |conn| sessions::end_by_key(conn, &key))
            .await
            .map_err(other)
    }
}

/// Starts a fresh session for `user_id` on this request: the old session (if any) is
/// ended and its key renewed, and nothing of its state carries over.
pub fn sign_in(
    session: &Session,
    user_id: &str,
    ip: &str,
    user_agent: &str,
) -> Result<(), AppError> {
    session.clear();
    session.renew();
    let insert = |key: &str, value: &str| {
        session
            .insert(key, value)
            .map_err(|e| AppError::internal(format!("session state: {e}")))
    };
    insert(USER_ID, user_id)?;
    insert(IP, ip)?;
    insert(USER_AGENT, user_agent)
}

/// Who the session belongs to (their user id) and which session it is, if signed in.
pub fn current(session: &Session) -> Option<(String, crate::auth::CurrentSession)> {
    let get = |key: &str| session.get::<String>(key).ok().flatten();
    Some((
        get(USER_ID)?,
        crate::auth::CurrentSession {
            id: get(SESSION_ID)?,
            csrf_token: get(CSRF_TOKEN)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rand::SeedableRng;

    fn rng() -> crate::crypto::Csprng {
        crate::crypto::Csprng::new(rand::rngs::StdRng::seed_from_u64(1))
    }

    fn stored() -> StoredSession {
        let at = NaiveDate::from_ymd_opt(2026, 11, 27)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default();
        StoredSession {
            id: "s1".into(),
            token_hash: "h".into(),
            user_id: "u1".into(),
            csrf_token: "c1".into(),
            created_at: at,
            last_seen_at: at,
            ip: "192.0.2.1".into(),
            user_agent: "ua".into(),
            state: r#"{"theme":"dark","user_id":"smuggled"}"#.into(),
        }
    }

    #[test]
    fn columns_and_extra_state_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let state = to_state(stored())?;
        assert_eq!(state.get(USER_ID).map(String::as_str), Some("\"u1\""));
        assert_eq!(state.get(SESSION_ID).map(String::as_str), Some("\"s1\""));
        assert_eq!(state.get("theme").map(String::as_str), Some("\"dark\""));
        let back = from_state(state, &rng())?.ok_or("a user")?;
        assert_eq!(back.user_id, "u1", "a column wins over the JSON column");
        assert_eq!(back.csrf_token, "c1");
        assert_eq!(back.ip, "192.0.2.1");
        assert_eq!(
            back.state, r#"{"theme":"dark"}"#,
            "read-only keys are not stored"
        );
        Ok(())
    }

    #[test]
    fn state_without_a_user_is_no_session_and_new_sessions_get_a_csrf_token()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut state = HashMap::new();
        state.insert("theme".to_string(), "\"dark\"".to_string());
        assert!(from_state(state.clone(), &rng())?.is_none());
        state.insert(USER_ID.to_string(), "\"u1\"".to_string());
        let new = from_state(state, &rng())?.ok_or("a user")?;
        assert_eq!(new.csrf_token.len(), CSRF_LEN);
        assert!(new.csrf_token.bytes().all(|b| b.is_ascii_alphanumeric()));
        Ok(())
    }
}
