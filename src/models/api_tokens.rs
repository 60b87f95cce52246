//! Bearer tokens for the management API and the Idempotency-Key records they leave.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{api_tokens, idempotency_keys};
use crate::models::page::{Page, Window};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub org_id: String,
    /// The person the token acts for (its creator).
    pub user_id: String,
    /// `personal` or `admin`.
    pub kind: String,
    pub name: String,
    /// `read` or `write`.
    pub access: String,
    pub token_hash: String,
    pub prefix: String,
    pub last4: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    /// Usable at `now`: neither revoked nor expired.
    pub fn is_live(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

pub fn insert(conn: &mut DbConnection, t: &ApiToken) -> QueryResult<()> {
    diesel::insert_into(api_tokens::table)
        .values(t)
        .execute(conn)
        .map(drop)
}

pub fn find_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::token_hash.eq(hash))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

/// Which tokens a list shows.
#[derive(Debug, Clone, Copy)]
pub enum TokenList<'a> {
    /// A user's personal tokens, in every organisation.
    Personal { user_id: &'a str },
    /// An organisation's admin tokens.
    Admin { org_id: &'a str },
    /// What the API's token list shows: the caller's personal tokens in the
    /// organisation and its admin tokens (all of them for an admin, else their own).
    Api {
        org_id: &'a str,
        user_id: &'a str,
        every_admin_token: bool,
    },
}

/// One page of tokens by id (creation order): newest first when `newest_first`.
pub fn page(
    conn: &mut DbConnection,
    list: TokenList<'_>,
    window: &Window,
    newest_first: bool,
) -> QueryResult<Page<ApiToken>> {
    let mut query = api_tokens::table.select(ApiToken::as_select()).into_boxed();
    query = match list {
        TokenList::Personal { user_id } => query
            .filter(api_tokens::user_id.eq(user_id.to_string()))
            .filter(api_tokens::kind.eq("personal")),
        TokenList::Admin { org_id } => query
            .filter(api_tokens::org_id.eq(org_id.to_string()))
            .filter(api_tokens::kind.eq("admin")),
        TokenList::Api {
            org_id,
            user_id,
            every_admin_token,
        } => {
            let query = query.filter(api_tokens::org_id.eq(org_id.to_string()));
            if every_admin_token {
                query.filter(
                    api_tokens::kind
                        .eq("admin")
                        .or(api_tokens::user_id.eq(user_id.to_string())),
                )
            } else {
                query.filter(api_tokens::user_id.eq(user_id.to_string()))
            }
        }
    };
    let rows = crate::keyset!(
        query,
        api_tokens::id,
        api_tokens::id,
        window,
        descending = newest_first
    )
    .load(conn)?;
    Ok(Page::from_rows(rows, window, |t: &ApiToken| {
        (t.id.clone(), t.id.clone())
    }))
}

pub fn mark_revoked(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Revokes every live token `user_id` holds in an organisation (they left it).
pub fn revoke_all_in_org(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::org_id.eq(org_id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Revokes every live admin token `user_id` made in an organisation (they are no
/// longer an admin there).
pub fn revoke_admin_tokens_of(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::org_id.eq(org_id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::kind.eq("admin"))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn touch(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(Some(now)))
        .execute(conn)
}

/// A stored response for an Idempotency-Key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub token_id: String,
    pub key_hash: String,
    pub fingerprint: String,
    pub status: i32,
    pub response: String,
    pub location: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn find_idempotency(
    conn: &mut DbConnection,
    token_id: &str,
    key_hash: &str,
    since: NaiveDateTime,
) -> QueryResult<Option<IdempotencyRecord>> {
    idempotency_keys::table
        .find((token_id, key_hash))
        .filter(idempotency_keys::created_at.ge(since))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()
}

/// Replaces an expired record for the same key (older than `since`), if any.
pub fn delete_idempotency_before(
    conn: &mut DbConnection,
    token_id: &str,
    key_hash: &str,
    since: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        idempotency_keys::table
            .find((token_id, key_hash))
            .filter(idempotency_keys::created_at.lt(since)),
    )
    .execute(conn)
}

pub fn insert_idempotency(conn: &mut DbConnection, r: &IdempotencyRecord) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values(r)
        .execute(conn)
        .map(drop)
}

/// Fills in the response of a claimed key.
pub fn complete_idempotency(
    conn: &mut DbConnection,
    token_id: &str,
    key_hash: &str,
    status: i32,
    response: &str,
    location: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find((token_id, key_hash)))
        .set((
            idempotency_keys::status.eq(status),
            idempotency_keys::response.eq(response),
            idempotency_keys::location.eq(location),
        ))
        .execute(conn)
}

/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

pub fn purge_idempotency(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
}
