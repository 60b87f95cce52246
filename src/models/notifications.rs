//! Inbox items and per-kind email preferences.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{notification_preferences, notifications};
use crate::models::page::{Page, Window};

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
/// One page of a user's inbox, newest first (by id, which is creation order).
pub fn page_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    window: &Window,
) -> QueryResult<Page<Notification>> {
    let query = notifications::table
        .filter(notifications::user_id.eq(user_id.to_string()))
        .select(Notification::as_select())
        .into_boxed();
    let rows = crate::keyset!(
        query,
        notifications::id,
        notifications::id,
        window,
        descending = true
    )
    .load(conn)?;
    Ok(Page::from_rows(rows, window, |n: &Notification| {
        (n.id.clone(), n.id.clone())
    }))
}

/// One page of the user's items about one organisation (the API's inbox), oldest
/// first; only unread ones when `unread_only`.
pub fn page_in_org(
    conn: &mut DbConnection,
    user_id: &str,
    org_id: &str,
    unread_only: bool,
    window: &Window,
) -> QueryResult<Page<Notification>> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user_id.to_string()))
        .filter(notifications::org_id.eq(org_id.to_string()))
        .select(Notification::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    let rows = crate::keyset!(
        query,
        notifications::id,
        notifications::id,
        window,
        descending = false
    )
    .load(conn)?;
    Ok(Page::from_rows(rows, window, |n: &Notification| {
        (n.id.clone(), n.id.clone())
    }))
}

/// Whether the item exists, is the user's and is about the organisation.
pub fn is_owned_in_org(
    conn: &mut DbConnection,
    user_id: &str,
    org_id: &str,
    id: &str,
) -> QueryResult<bool> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::org_id.eq(org_id))
        .filter(notifications::id.eq(id))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Marks every unread item of the user about the organisation read.
pub fn mark_all_read_in_org(
    conn: &mut DbConnection,
    user_id: &str,
    org_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::org_id.eq(org_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(now))
    .execute(conn)
}

/// How many items the user has (only unread ones when `unread_only`), counted up to
/// just past [`COUNT_CAP`](crate::models::page::COUNT_CAP).
pub fn count_for_user_capped(
    conn: &mut DbConnection,
    user_id: &str,
    unread_only: bool,
) -> QueryResult<usize> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user_id.to_string()))
        .select(notifications::id)
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    Ok(crate::count_capped!(query, notifications::id, conn))
}

/// The most unread items the bell counts ("99+" past it).
pub const UNREAD_CAP: i64 = 99;

/// Unread items of a user, counted up to [`UNREAD_CAP`] + 1 on the partial index of
/// unread items: an admin with tens of thousands of unread requests costs the same.
pub fn unread_count(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    let ids: Vec<String> = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .select(notifications::id)
        .limit(UNREAD_CAP + 1)
        .load(conn)?;
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
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
