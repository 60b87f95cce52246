//! Inbox items and per-kind email preferences.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{notification_preferences, notifications};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    pub org_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

/// The user's items, newest first.
pub fn page_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .order((notifications::created_at.desc(), notifications::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Notification::as_select())
        .load(conn)
}

pub fn count_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

pub fn unread_count(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// Whether the item exists and is the user's.
pub fn is_owned(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<bool> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::id.eq(id))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

pub fn mark_read(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::id.eq(id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(now))
    .execute(conn)
}

pub fn mark_all_read(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(now))
    .execute(conn)
}

/// The kinds for which the user turned email off or on (absent kinds: on).
pub fn preferences(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<(String, bool)>> {
    notification_preferences::table
        .filter(notification_preferences::user_id.eq(user_id))
        .order(notification_preferences::kind.asc())
        .select((
            notification_preferences::kind,
            notification_preferences::email,
        ))
        .load(conn)
}

/// Sets one preference (delete + insert: portable, inside the caller's transaction).
pub fn set_preference(
    conn: &mut DbConnection,
    user_id: &str,
    kind: &str,
    email: bool,
) -> QueryResult<()> {
    diesel::delete(notification_preferences::table.find((user_id, kind))).execute(conn)?;
    diesel::insert_into(notification_preferences::table)
        .values((
            notification_preferences::user_id.eq(user_id),
            notification_preferences::kind.eq(kind),
            notification_preferences::email.eq(email),
        ))
        .execute(conn)
        .map(drop)
}
