//! Teams inside an organisation and their members.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{team_members, teams, users};
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
        .values(team)
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
