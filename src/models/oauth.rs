//! The OAuth2 tables: token signing keys, refresh tokens, static tokens, accepted
//! client-assertion ids and revoked access tokens. Every secret is stored as its keyed
//! hash; the rules (rotation, reuse detection, lifetimes) live in `services::oauth`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    assertion_jtis, refresh_tokens, revoked_access_tokens, signing_keys, static_tokens,
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub generation: i64,
    pub alg: String,
    pub public_jwk: String,
    pub private_sealed: String,
    pub created_at: NaiveDateTime,
    pub retire_at: Option<NaiveDateTime>,
}

/// Every signing key, newest generation first.
pub fn signing_keys(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order(signing_keys::generation.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// Inserts a signing key; `Ok(false)` when its generation is taken (another instance
/// made that generation first).
pub fn insert_signing_key(conn: &mut DbConnection, row: &SigningKeyRow) -> QueryResult<bool> {
    match diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sets when older keys stop being published.
pub fn retire_signing_keys_before(
    conn: &mut DbConnection,
    generation: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::generation.lt(generation))
            .filter(signing_keys::retire_at.is_null()),
    )
    .set(signing_keys::retire_at.eq(at))
    .execute(conn)
}

/// Deletes keys retired before `now`.
pub fn purge_retired_signing_keys(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(signing_keys::table.filter(signing_keys::retire_at.lt(now))).execute(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub family_id: String,
    pub app_id: String,
    pub credential_id: String,
    pub token_hash: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    /// The idle limit, never past `family_expires_at`.
    pub expires_at: NaiveDateTime,
    pub family_expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub replaced_by: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_refresh(conn: &mut DbConnection, t: &RefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(t)
        .execute(conn)
        .map(drop)
}

pub fn refresh_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()
}

pub fn refresh_by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::id.eq(id))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()
}

/// Marks an unused token used, replaced by `successor`; false if it was used already
/// (a concurrent refresh won: the caller treats it as reuse).
pub fn spend_refresh(
    conn: &mut DbConnection,
    id: &str,
    successor: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set((
        refresh_tokens::used_at.eq(now),
        refresh_tokens::replaced_by.eq(successor),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Points a spent token at a newer successor (a retry within the grace).
pub fn replace_successor(conn: &mut DbConnection, id: &str, successor: &str) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::id.eq(id)))
        .set(refresh_tokens::replaced_by.eq(successor))
        .execute(conn)
        .map(drop)
}

/// Revokes one token if it is neither used nor revoked; true if it was.
pub fn revoke_unused_refresh(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every live token of a family.
pub fn revoke_family(
    conn: &mut DbConnection,
    family: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Deletes refresh tokens expired before `before`.
pub fn purge_refresh(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before)))
        .execute(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = static_tokens)]
pub struct StaticToken {
    pub id: String,
    pub credential_id: String,
    pub app_id: String,
    pub token_hash: String,
    pub prefix: String,
    pub last4: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_static(conn: &mut DbConnection, t: &StaticToken) -> QueryResult<()> {
    diesel::insert_into(static_tokens::table)
        .values(t)
        .execute(conn)
        .map(drop)
}

/// The live static tokens of a key, newest first.
pub fn live_static_of(conn: &mut DbConnection, credential_id: &str) -> QueryResult<Vec<String>> {
    static_tokens::table
        .filter(static_tokens::credential_id.eq(credential_id))
        .filter(static_tokens::revoked_at.is_null())
        .order(static_tokens::created_at.desc())
        .select(static_tokens::id)
        .load(conn)
}

pub fn revoke_static(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(static_tokens::table.filter(static_tokens::id.eq_any(ids)))
        .set(static_tokens::revoked_at.eq(now))
        .execute(conn)
}

/// Records a client assertion's `jti`; `Ok(false)` if it was seen and has not expired
/// (on PostgreSQL the transaction is then aborted: the caller must roll it back).
pub fn record_assertion(
    conn: &mut DbConnection,
    client_id: &str,
    jti: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    // An expired record of the same id no longer blocks it.
    diesel::delete(
        assertion_jtis::table
            .filter(assertion_jtis::client_id.eq(client_id))
            .filter(assertion_jtis::jti.eq(jti))
            .filter(assertion_jtis::expires_at.le(now)),
    )
    .execute(conn)?;
    match diesel::insert_into(assertion_jtis::table)
        .values((
            assertion_jtis::client_id.eq(client_id),
            assertion_jtis::jti.eq(jti),
            assertion_jtis::expires_at.eq(expires_at),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records a revoked access token; `Ok(false)` if it was already (on PostgreSQL the
/// transaction is then aborted: the caller must roll it back).
pub fn revoke_access(
    conn: &mut DbConnection,
    jti: &str,
    app_id: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    match diesel::insert_into(revoked_access_tokens::table)
        .values((
            revoked_access_tokens::jti.eq(jti),
            revoked_access_tokens::app_id.eq(app_id),
            revoked_access_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes what has expired: assertion ids, revoked access tokens (they would be
/// refused as expired anyway) and refresh tokens a day past their end.
pub fn purge_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    let a = diesel::delete(assertion_jtis::table.filter(assertion_jtis::expires_at.lt(now)))
        .execute(conn)?;
    let b = diesel::delete(
        revoked_access_tokens::table.filter(revoked_access_tokens::expires_at.lt(now)),
    )
    .execute(conn)?;
    let c = purge_refresh(conn, now - chrono::Duration::days(1))?;
    Ok(a + b + c)
}
