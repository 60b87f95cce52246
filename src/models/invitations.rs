//! Invitations to join an organisation: a single-use link whose token is stored hashed.
//! An invitation has two: the link shown once to the admin who sent it (`token_hash`)
//! and the emailed one (`email_token_hash`, minted by the outbox worker as it sends the
//! email). Either opens it, and using one uses the invitation up.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{invitations, organisations};
use crate::models::orgs::Organisation;
use crate::models::page::{Page, Window};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub invited_by: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub accepted_by: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
    /// The SHA-256 of the emailed link's token, once the email is being sent.
    pub email_token_hash: Option<String>,
}

pub fn insert(conn: &mut DbConnection, inv: &Invitation) -> QueryResult<()> {
    diesel::insert_into(invitations::table)
        .values(inv)
        .execute(conn)
        .map(drop)
}

pub fn find_in_org(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::id.eq(id))
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_token_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(Invitation, Organisation)>> {
    invitations::table
        .inner_join(organisations::table)
        .filter(
            invitations::token_hash
                .eq(token_hash)
                .or(invitations::email_token_hash.eq(token_hash)),
        )
        .select((Invitation::as_select(), Organisation::as_select()))
        .first(conn)
        .optional()
}

/// One page of the invitations neither accepted nor revoked (expired ones included,
/// marked by the caller), by id: oldest first, or newest first when `newest_first`.
pub fn open_page(
    conn: &mut DbConnection,
    org_id: &str,
    window: &Window,
    newest_first: bool,
) -> QueryResult<Page<Invitation>> {
    let query = open_in(org_id).select(Invitation::as_select()).into_boxed();
    let rows = crate::keyset!(
        query,
        invitations::id,
        invitations::id,
        window,
        descending = newest_first
    )
    .load(conn)?;
    Ok(Page::from_rows(rows, window, |i: &Invitation| {
        (i.id.clone(), i.id.clone())
    }))
}

/// How many invitations are open, counted up to just past [`COUNT_CAP`](crate::models::page::COUNT_CAP).
pub fn count_open_capped(conn: &mut DbConnection, org_id: &str) -> QueryResult<usize> {
    Ok(crate::count_capped!(
        open_in(org_id).into_boxed(),
        invitations::id,
        conn
    ))
}

type OpenIn<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<invitations::table, diesel::dsl::Eq<invitations::org_id, &'a str>>,
        diesel::dsl::IsNull<invitations::accepted_at>,
    >,
    diesel::dsl::IsNull<invitations::revoked_at>,
>;

/// The open invitations of an organisation (the partial index `invitations_open`).
fn open_in(org_id: &str) -> OpenIn<'_> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
}

pub fn open_for_email(
    conn: &mut DbConnection,
    org_id: &str,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::email.eq(email))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(now))
        .count()
        .get_result(conn)
}

/// Marks it accepted if it is still open; the count tells whether this call won.
pub fn mark_accepted(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set((
        invitations::accepted_at.eq(now),
        invitations::accepted_by.eq(user_id),
    ))
    .execute(conn)
}

pub fn mark_revoked(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .execute(conn)
}

/// Gives an open invitation the hash of a newly minted emailed token (an earlier one
/// dies); the count tells whether it was still open.
pub fn set_email_token_hash(
    conn: &mut DbConnection,
    id: &str,
    token_hash: &str,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::email_token_hash.eq(token_hash))
    .execute(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Invitation>> {
    invitations::table
        .find(id)
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// Gives an open invitation a new token and expiry (re-send); the old links, shown and
/// emailed, die.
pub fn renew(
    conn: &mut DbConnection,
    id: &str,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set((
        invitations::token_hash.eq(token_hash),
        invitations::email_token_hash.eq(None::<String>),
        invitations::expires_at.eq(expires_at),
    ))
    .execute(conn)
}
