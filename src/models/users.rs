//! Accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::models::names::name_key;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    /// Lower-cased; unique.
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_instance_owner: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
    /// When the current email address was confirmed through a link.
    pub email_verified_at: Option<NaiveDateTime>,
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values((user, users::name_key.eq(name_key(&user.display_name))))
        .execute(conn)
        .map(drop)
}

pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_display_name(conn: &mut DbConnection, id: &str, name: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::display_name.eq(name),
            users::name_key.eq(name_key(name)),
        ))
        .execute(conn)
}

pub fn set_instance_owner(conn: &mut DbConnection, id: &str, flag: bool) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::is_instance_owner.eq(flag))
        .execute(conn)
}

pub fn instance_owners(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::is_instance_owner.eq(true))
        .order(users::email.asc())
        .select(User::as_select())
        .load(conn)
}

/// Changes the address; the new one is not verified yet.
pub fn set_email(conn: &mut DbConnection, id: &str, email: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

pub fn set_email_verified(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::email_verified_at.eq(now))
        .execute(conn)
}
