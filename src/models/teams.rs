//! Teams inside an organisation and their members.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{team_members, teams, users};
use crate::models::names::name_key;
use crate::models::page::{Page, Window, prefix_end};
use crate::models::users::User;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = team_members)]
pub struct TeamMember {
    pub team_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, team: &Team) -> QueryResult<()> {
    diesel::insert_into(teams::table)
        .values((team, teams::name_key.eq(name_key(&team.name))))
        .execute(conn)
        .map(drop)
}

pub fn find_in_org(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<Team>> {
    teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::id.eq(id))
        .select(Team::as_select())
        .first(conn)
        .optional()
}

pub fn name_taken(conn: &mut DbConnection, org_id: &str, name: &str) -> QueryResult<bool> {
    let n: i64 = teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::name.eq(name))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn for_org(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<Team>> {
    teams::table
        .filter(teams::org_id.eq(org_id))
        .order((teams::name.asc(), teams::id.asc()))
        .select(Team::as_select())
        .load(conn)
}

/// The orders of the team list, each a keyset on (key, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamOrder {
    /// By lower-cased name (the portal).
    Name,
    /// By id, oldest first (the API).
    Id,
}

/// Applies a team search: `search` (a [`search_key`](crate::models::page::search_key))
/// is a prefix of the lower-cased name or a team's exact id.
macro_rules! team_search {
    ($query:expr, $org_id:expr, $search:expr) => {{
        let mut query = $query.filter(teams::org_id.eq($org_id.to_string()));
        let search: &str = $search;
        if !search.is_empty() {
            query = query.filter(
                teams::name_key
                    .ge(search.to_string())
                    .and(teams::name_key.lt(prefix_end(search)))
                    .or(teams::id.eq(search.to_string())),
            );
        }
        query
    }};
}

/// One page of an organisation's teams matching `search`.
pub fn page(
    conn: &mut DbConnection,
    org_id: &str,
    search: &str,
    order: TeamOrder,
    window: &Window,
) -> QueryResult<Page<Team>> {
    let query = team_search!(
        teams::table
            .select((Team::as_select(), teams::name_key))
            .into_boxed(),
        org_id,
        search
    );
    let rows: Vec<(Team, String)> = match order {
        TeamOrder::Name => crate::keyset!(
            query,
            teams::name_key,
            teams::id,
            window,
            descending = false
        )
        .load(conn)?,
        TeamOrder::Id => {
            crate::keyset!(query, teams::id, teams::id, window, descending = false).load(conn)?
        }
    };
    let page = Page::from_rows(rows, window, |(t, key)| match order {
        TeamOrder::Name => (key.clone(), t.id.clone()),
        TeamOrder::Id => (t.id.clone(), t.id.clone()),
    });
    Ok(page.map(|(t, _)| t))
}

/// How many teams match `search`, counted up to just past [`COUNT_CAP`](crate::models::page::COUNT_CAP).
pub fn count_capped(conn: &mut DbConnection, org_id: &str, search: &str) -> QueryResult<usize> {
    let query = team_search!(teams::table.select(teams::id).into_boxed(), org_id, search);
    Ok(crate::count_capped!(query, teams::id, conn))
}

/// How many members each of `team_ids` has (teams without members are absent).
pub fn member_counts(
    conn: &mut DbConnection,
    team_ids: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    team_members::table
        .filter(team_members::team_id.eq_any(team_ids))
        .group_by(team_members::team_id)
        .select((team_members::team_id, diesel::dsl::count_star()))
        .load(conn)
}

/// The roles `user_id` holds in those of `team_ids` they belong to.
pub fn roles_in(
    conn: &mut DbConnection,
    user_id: &str,
    team_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    team_members::table
        .filter(team_members::user_id.eq(user_id))
        .filter(team_members::team_id.eq_any(team_ids))
        .select((team_members::team_id, team_members::role))
        .load(conn)
}

/// The teams of `org_id` that `user_id` belongs to, with the role.
pub fn for_user(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
) -> QueryResult<Vec<(Team, String)>> {
    teams::table
        .inner_join(team_members::table)
        .filter(teams::org_id.eq(org_id))
        .filter(team_members::user_id.eq(user_id))
        .order((teams::name.asc(), teams::id.asc()))
        .select((Team::as_select(), team_members::role))
        .load(conn)
}

pub fn member(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
) -> QueryResult<Option<TeamMember>> {
    team_members::table
        .find((team_id, user_id))
        .select(TeamMember::as_select())
        .first(conn)
        .optional()
}

pub fn members(conn: &mut DbConnection, team_id: &str) -> QueryResult<Vec<(User, TeamMember)>> {
    users::table
        .inner_join(team_members::table)
        .filter(team_members::team_id.eq(team_id))
        .order((users::display_name.asc(), users::email.asc()))
        .select((User::as_select(), TeamMember::as_select()))
        .load(conn)
}

/// One page of a team's members, by lower-cased name.
pub fn members_page(
    conn: &mut DbConnection,
    team_id: &str,
    window: &Window,
) -> QueryResult<Page<(User, TeamMember)>> {
    let query = users::table
        .inner_join(team_members::table)
        .filter(team_members::team_id.eq(team_id.to_string()))
        .select((User::as_select(), TeamMember::as_select(), users::name_key))
        .into_boxed();
    let rows: Vec<(User, TeamMember, String)> = crate::keyset!(
        query,
        users::name_key,
        users::id,
        window,
        descending = false
    )
    .load(conn)?;
    let page = Page::from_rows(rows, window, |(u, _, key)| (key.clone(), u.id.clone()));
    Ok(page.map(|(u, m, _)| (u, m)))
}

/// How many members a team has, counted up to just past [`COUNT_CAP`](crate::models::page::COUNT_CAP).
pub fn count_members_capped(conn: &mut DbConnection, team_id: &str) -> QueryResult<usize> {
    Ok(crate::count_capped!(
        team_members::table
            .filter(team_members::team_id.eq(team_id))
            .into_boxed(),
        team_members::user_id,
        conn
    ))
}

/// The ids of a team's members.
pub fn member_ids(conn: &mut DbConnection, team_id: &str) -> QueryResult<Vec<String>> {
    team_members::table
        .filter(team_members::team_id.eq(team_id))
        .select(team_members::user_id)
        .load(conn)
}

pub fn add_member(conn: &mut DbConnection, m: &TeamMember) -> QueryResult<()> {
    diesel::insert_into(team_members::table)
        .values(m)
        .execute(conn)
        .map(drop)
}

pub fn set_role(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
    role: &str,
) -> QueryResult<usize> {
    diesel::update(team_members::table.find((team_id, user_id)))
        .set(team_members::role.eq(role))
        .execute(conn)
}

pub fn remove_member(conn: &mut DbConnection, team_id: &str, user_id: &str) -> QueryResult<usize> {
    diesel::delete(team_members::table.find((team_id, user_id))).execute(conn)
}

/// Removes a user from every team of an organisation (they left it).
pub fn remove_from_org_teams(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
) -> QueryResult<usize> {
    let team_ids = teams::table
        .filter(teams::org_id.eq(org_id))
        .select(teams::id);
    diesel::delete(
        team_members::table
            .filter(team_members::user_id.eq(user_id))
            .filter(team_members::team_id.eq_any(team_ids)),
    )
    .execute(conn)
}
