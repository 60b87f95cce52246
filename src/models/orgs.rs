//! Organisations and memberships.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{memberships, organisations, users};
use crate::models::page::{Page, Window, prefix_end};
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

/// The ids of the organisation's admins and owners.
pub fn admin_ids(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<String>> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq_any(["admin", "owner"]))
        .select(memberships::user_id)
        .load(conn)
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

/// Applies a member search to a join of users and memberships: `search` (already a
/// [`search_key`](crate::models::page::search_key)) is a prefix of the lower-cased
/// name or of the address, or a user's exact id.
macro_rules! member_search {
    ($query:expr, $org_id:expr, $search:expr) => {{
        let mut query = $query.filter(memberships::org_id.eq($org_id.to_string()));
        let search: &str = $search;
        if !search.is_empty() {
            let end = prefix_end(search);
            query = query.filter(
                users::name_key
                    .ge(search.to_string())
                    .and(users::name_key.lt(end.clone()))
                    .or(users::email
                        .ge(search.to_string())
                        .and(users::email.lt(end)))
                    .or(users::id.eq(search.to_string())),
            );
        }
        query
    }};
}

/// One page of an organisation's members matching `search` (see
/// [`MemberSort`] for the orders), read through an index whatever the size of the
/// organisation.
pub fn members_page(
    conn: &mut DbConnection,
    org_id: &str,
    search: &str,
    sort: MemberSort,
    window: &Window,
) -> QueryResult<Page<(User, Membership)>> {
    let query = member_search!(
        users::table
            .inner_join(memberships::table)
            .select((User::as_select(), Membership::as_select(), users::name_key,))
            .into_boxed(),
        org_id,
        search
    );
    let rows: Vec<(User, Membership, String)> = match sort {
        MemberSort::Name => crate::keyset!(
            query,
            users::name_key,
            users::id,
            window,
            descending = false
        )
        .load(conn)?,
        MemberSort::Email => {
            crate::keyset!(query, users::email, users::id, window, descending = false).load(conn)?
        }
        MemberSort::Role => crate::keyset!(
            query,
            memberships::role,
            memberships::user_id,
            window,
            descending = false
        )
        .load(conn)?,
        MemberSort::Id => crate::keyset!(
            query,
            memberships::user_id,
            memberships::user_id,
            window,
            descending = false
        )
        .load(conn)?,
        MemberSort::Joined => joined_keyset(query, window)?.load(conn)?,
    };
    let page = Page::from_rows(rows, window, |(u, m, name_key)| match sort {
        MemberSort::Name => (name_key.clone(), u.id.clone()),
        MemberSort::Email => (u.email.clone(), u.id.clone()),
        MemberSort::Role => (m.role.clone(), m.user_id.clone()),
        MemberSort::Id => (m.user_id.clone(), m.user_id.clone()),
        MemberSort::Joined => (
            m.created_at.format(JOINED_FORMAT).to_string(),
            m.user_id.clone(),
        ),
    });
    Ok(page.map(|(u, m, _)| (u, m)))
}

/// How a join time travels in a cursor.
const JOINED_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

type MemberQuery<'a> = diesel::helper_types::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::InnerJoin<users::table, memberships::table>,
        (
            diesel::dsl::AsSelect<User, crate::db::MultiBackend>,
            diesel::dsl::AsSelect<Membership, crate::db::MultiBackend>,
            users::name_key,
        ),
    >,
    crate::db::MultiBackend,
>;

/// Newest members first: a keyset on (join time, user id), which the `keyset!`
/// macro cannot express because the key is a time, not text.
fn joined_keyset<'a>(mut query: MemberQuery<'a>, window: &Window) -> QueryResult<MemberQuery<'a>> {
    let newest_first = window.forward();
    if let Some(cursor) = &window.cursor {
        let at = NaiveDateTime::parse_from_str(&cursor.key, JOINED_FORMAT)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
        let id = cursor.id.clone();
        query = if newest_first {
            query.filter(
                memberships::created_at.lt(at).or(memberships::created_at
                    .eq(at)
                    .and(memberships::user_id.lt(id))),
            )
        } else {
            query.filter(
                memberships::created_at.gt(at).or(memberships::created_at
                    .eq(at)
                    .and(memberships::user_id.gt(id))),
            )
        };
    }
    query = if newest_first {
        query.order((memberships::created_at.desc(), memberships::user_id.desc()))
    } else {
        query.order((memberships::created_at.asc(), memberships::user_id.asc()))
    };
    Ok(query.limit(window.fetch()))
}

/// How many members match `search`, counted up to just past
/// [`COUNT_CAP`](crate::models::page::COUNT_CAP) (shown as "1,000+").
pub fn count_members_capped(
    conn: &mut DbConnection,
    org_id: &str,
    search: &str,
) -> QueryResult<usize> {
    let query = member_search!(
        users::table
            .inner_join(memberships::table)
            .select(users::id)
            .into_boxed(),
        org_id,
        search
    );
    Ok(crate::count_capped!(query, users::id, conn))
}

/// Orders for the member list, each a keyset on (key, user id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSort {
    /// By lower-cased name.
    Name,
    Email,
    Role,
    /// Newest first.
    Joined,
    /// By user id (the API's order).
    Id,
}
