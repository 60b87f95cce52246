//! The email outbox: messages queued by the services, sent by `jobs::outbox`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::email_outbox;
use crate::models::page::{Page, Window};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxEmail {
    pub id: String,
    pub to_address: String,
    pub subject: String,
    /// Never holds a link's token: where `link_kind` names a link, a mark
    /// (`services::links::TOKEN_MARK`) stands where the worker puts the token it mints.
    /// Never shown on a page, emptied once sent.
    pub body: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// The single-use link the message carries, if any: `verify_email`,
    /// `reset_password` or `invitation`…
    pub link_kind: Option<String>,
    /// … and the row whose token it is (a `user_tokens` or `invitations` id).
    pub link_ref: Option<String>,
}

/// A message to queue.
#[derive(Debug, Insertable)]
#[diesel(table_name = email_outbox)]
pub struct NewEmail<'a> {
    pub id: String,
    pub to_address: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub status: &'static str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: &'static str,
    pub created_at: NaiveDateTime,
    pub link_kind: Option<&'a str>,
    pub link_ref: Option<&'a str>,
}

impl<'a> NewEmail<'a> {
    /// A message due at once.
    pub fn due(to_address: &'a str, subject: &'a str, body: &'a str, now: NaiveDateTime) -> Self {
        Self {
            id: crate::models::new_id(),
            to_address,
            subject,
            body,
            status: "pending",
            attempts: 0,
            next_attempt_at: now,
            last_error: "",
            created_at: now,
            link_kind: None,
            link_ref: None,
        }
    }
}

pub fn insert(conn: &mut DbConnection, email: &NewEmail<'_>) -> QueryResult<()> {
    diesel::insert_into(email_outbox::table)
        .values(email)
        .execute(conn)
        .map(drop)
}

/// Gives up the messages still waiting to carry this link (a newer one replaces them).
pub fn drop_pending_link(
    conn: &mut DbConnection,
    link_kind: &str,
    link_ref: &str,
    why: &str,
) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .filter(email_outbox::status.eq("pending"))
            .filter(email_outbox::link_kind.eq(link_kind))
            .filter(email_outbox::link_ref.eq(link_ref)),
    )
    .set((
        email_outbox::status.eq("dead"),
        email_outbox::last_error.eq(why),
    ))
    .execute(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OutboxEmail>> {
    email_outbox::table
        .find(id)
        .select(OutboxEmail::as_select())
        .first(conn)
        .optional()
}

/// Whether any `pending` message is due (a cheap read before taking the write lock).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        email_outbox::table
            .filter(email_outbox::status.eq("pending"))
            .filter(email_outbox::next_attempt_at.le(now)),
    ))
    .get_result(conn)
}

/// Deletes messages sent before `before`.
pub fn delete_sent_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        email_outbox::table
            .filter(email_outbox::status.eq("sent"))
            .filter(email_outbox::sent_at.lt(before)),
    )
    .execute(conn)
}

/// Counts an attempt and leaves the message alone until `lease_until`.
pub fn claim(conn: &mut DbConnection, id: &str, lease_until: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::attempts.eq(email_outbox::attempts + 1),
            email_outbox::next_attempt_at.eq(lease_until),
        ))
        .execute(conn)
}

/// Marks it sent and drops the body (no one needs it any more).
pub fn mark_sent(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq("sent"),
            email_outbox::sent_at.eq(now),
            email_outbox::body.eq(""),
            email_outbox::last_error.eq(""),
        ))
        .execute(conn)
}

pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    next_attempt_at: NaiveDateTime,
    error: &str,
    dead: bool,
) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::status.eq("pending")),
    )
    .set((
        email_outbox::status.eq(if dead { "dead" } else { "pending" }),
        email_outbox::next_attempt_at.eq(next_attempt_at),
        email_outbox::last_error.eq(error),
    ))
    .execute(conn)
}

/// One page of the messages with `status`, oldest first (by id, which is creation
/// order).
pub fn page_with_status(
    conn: &mut DbConnection,
    status: &str,
    window: &Window,
) -> QueryResult<Page<OutboxEmail>> {
    let query = email_outbox::table
        .filter(email_outbox::status.eq(status.to_string()))
        .select(OutboxEmail::as_select())
        .into_boxed();
    let rows = crate::keyset!(
        query,
        email_outbox::id,
        email_outbox::id,
        window,
        descending = false
    )
    .load(conn)?;
    Ok(Page::from_rows(rows, window, |e: &OutboxEmail| {
        (e.id.clone(), e.id.clone())
    }))
}

/// How many messages have `status`, counted up to just past [`COUNT_CAP`](crate::models::page::COUNT_CAP).
pub fn count_with_status_capped(conn: &mut DbConnection, status: &str) -> QueryResult<usize> {
    Ok(crate::count_capped!(
        email_outbox::table
            .filter(email_outbox::status.eq(status))
            .into_boxed(),
        email_outbox::id,
        conn
    ))
}

/// Puts a dead message back in the queue with a fresh count of attempts.
pub fn revive(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::status.eq("dead")),
    )
    .set((
        email_outbox::status.eq("pending"),
        email_outbox::attempts.eq(0),
        email_outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)
}

/// Empties the body of dead messages created before `before`.
pub fn wipe_dead_bodies_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .filter(email_outbox::status.eq("dead"))
            .filter(email_outbox::created_at.lt(before))
            .filter(email_outbox::body.ne("")),
    )
    .set(email_outbox::body.eq(""))
    .execute(conn)
}
