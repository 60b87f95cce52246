//! Organisations and memberships.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{memberships, organisations, users};
use crate::models::users::User;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub org_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: NaiveDateTime,
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Organisation>> {
    organisations::table
        .filter(organisations::slug.eq(slug))
        .select(Organisation::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Organisation>> {
    organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()
}

pub fn slug_taken(conn: &mut DbConnection, slug: &str) -> QueryResult<bool> {
    find_by_slug(conn, slug).map(|o| o.is_some())
}

pub fn insert(conn: &mut DbConnection, org: &Organisation) -> QueryResult<()> {
    diesel::insert_into(organisations::table)
        .values(org)
        .execute(conn)
        .map(drop)
}

pub fn rename(conn: &mut DbConnection, id: &str, name: &str) -> QueryResult<usize> {
    diesel::update(organisations::table.find(id))
        .set(organisations::name.eq(name))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(memberships::table.filter(memberships::org_id.eq(id))).execute(conn)?;
    diesel::delete(organisations::table.find(id)).execute(conn)
}

pub fn membership(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
) -> QueryResult<Option<Membership>> {
    memberships::table
        .find((org_id, user_id))
        .select(Membership::as_select())
        .first(conn)
        .optional()
}

pub fn add_member(conn: &mut DbConnection, m: &Membership) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values(m)
        .execute(conn)
        .map(drop)
}

pub fn set_role(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    role: &str,
) -> QueryResult<usize> {
    diesel::update(memberships::table.find((org_id, user_id)))
        .set(memberships::role.eq(role))
        .execute(conn)
}

pub fn remove_member(conn: &mut DbConnection, org_id: &str, user_id: &str) -> QueryResult<usize> {
    diesel::delete(memberships::table.find((org_id, user_id))).execute(conn)
}

/// The organisation's longest-standing owner.
pub fn first_owner(conn: &mut DbConnection, org_id: &str) -> QueryResult<Option<User>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq("owner"))
        .order((memberships::created_at.asc(), users::id.asc()))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count_with_role(conn: &mut DbConnection, org_id: &str, role: &str) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(role))
        .count()
        .get_result(conn)
}

pub fn count_members(conn: &mut DbConnection, org_id: &str) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .count()
        .get_result(conn)
}

/// The organisations a user belongs to, with their role, by name.
pub fn for_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> QueryResult<Vec<(Organisation, String)>> {
    organisations::table
        .inner_join(memberships::table)
        .filter(memberships::user_id.eq(user_id))
        .order((organisations::name.asc(), organisations::slug.asc()))
        .select((Organisation::as_select(), memberships::role))
        .load(conn)
}

/// Members of an organisation matching `search` (name or email), one page of them.
pub fn members(
    conn: &mut DbConnection,
    org_id: &str,
    search: &str,
    sort: MemberSort,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<(User, Membership)>, i64)> {
    let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
    let matching = users::email
        .like(pattern.clone())
        .escape('\\')
        .or(lower(users::display_name).like(pattern).escape('\\'));
    let total = users::table
        .inner_join(memberships::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(matching.clone())
        .count()
        .get_result(conn)?;
    let query = users::table
        .inner_join(memberships::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(matching)
        .select((User::as_select(), Membership::as_select()))
        .limit(limit)
        .offset(offset)
        .into_boxed();
    let query = match sort {
        MemberSort::Name => query.order((users::display_name.asc(), users::email.asc())),
        MemberSort::Email => query.order(users::email.asc()),
        MemberSort::Role => query.order((memberships::role.asc(), users::email.asc())),
        MemberSort::Joined => query.order((memberships::created_at.desc(), users::email.asc())),
    };
    Ok((query.load(conn)?, total))
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Orders for the member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSort {
    Name,
    Email,
    Role,
    Joined,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
