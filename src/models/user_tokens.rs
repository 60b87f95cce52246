//! Single-use email tokens (address verification, password reset), stored as SHA-256.
//! A row is written when the link is asked for, without a hash; the outbox worker mints
//! the token when it sends the email and stores its hash ([`set_hash`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::user_tokens;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_tokens)]
pub struct UserToken {
    pub id: String,
    pub user_id: String,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// The SHA-256 of the emailed token; `None` until the email is being sent.
    pub token_hash: Option<String>,
    /// The address the link was sent to; the token dies if the account's address changes.
    pub email: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, token: &UserToken) -> QueryResult<()> {
    diesel::insert_into(user_tokens::table)
        .values(token)
        .execute(conn)
        .map(drop)
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    purpose: &str,
    token_hash: &str,
) -> QueryResult<Option<UserToken>> {
    user_tokens::table
        .filter(user_tokens::token_hash.eq(token_hash))
        .filter(user_tokens::purpose.eq(purpose))
        .select(UserToken::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserToken>> {
    user_tokens::table
        .find(id)
        .select(UserToken::as_select())
        .first(conn)
        .optional()
}

/// Gives an unused token the hash of a newly minted one (an earlier one dies); the count
/// tells whether it was still unused.
pub fn set_hash(conn: &mut DbConnection, id: &str, token_hash: &str) -> QueryResult<usize> {
    diesel::update(
        user_tokens::table
            .find(id)
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::token_hash.eq(token_hash))
    .execute(conn)
}

/// Marks it used if it still is unused; the count tells whether this call won.
pub fn mark_used(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        user_tokens::table
            .find(id)
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(now))
    .execute(conn)
}

/// Ends every unused token of the user for `purpose` (all purposes when `None`).
pub fn use_up_all(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut query = diesel::update(user_tokens::table)
        .filter(user_tokens::user_id.eq(user_id))
        .filter(user_tokens::used_at.is_null())
        .into_boxed();
    if let Some(purpose) = purpose {
        query = query.filter(user_tokens::purpose.eq(purpose));
    }
    query.set(user_tokens::used_at.eq(now)).execute(conn)
}

/// Deletes tokens that expired before `before` (used or not).
pub fn delete_expired_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(user_tokens::table.filter(user_tokens::expires_at.lt(before))).execute(conn)
}

/// When the newest unused token of the user for `purpose` was issued.
pub fn latest_unused(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: &str,
) -> QueryResult<Option<NaiveDateTime>> {
    user_tokens::table
        .filter(user_tokens::user_id.eq(user_id))
        .filter(user_tokens::purpose.eq(purpose))
        .filter(user_tokens::used_at.is_null())
        .order(user_tokens::created_at.desc())
        .select(user_tokens::created_at)
        .first(conn)
        .optional()
}
