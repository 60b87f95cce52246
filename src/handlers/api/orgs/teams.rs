//! Teams: listing, creating and reading them, and managing their members.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{SearchQuery, check_id, no_content, search_text, unacceptable};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{self, OrgAction, TeamAction, TeamRole};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{
    self, Created, IfMatch, PageQuery, Problem, Time, create_once, etag_of, json, json_with_etag,
    time,
};
use crate::models::orgs as org_model;
use crate::models::teams::{self as team_model, Team, TeamOrder};
use crate::models::users::{self, User};
use crate::services;
use crate::validate;

/// A member's role in a team.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TeamMemberRole {
    Member,
    Admin,
}

/// A team as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub id: String,
    pub name: String,
    pub created_at: Time,
    pub member_count: i64,
    /// The caller's role in the team; `null` when not in it.
    #[schema(value_type = Option<TeamMemberRole>)]
    pub your_role: Option<String>,
}

api_list!(TeamList, TeamOut);

/// A member of a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberOut {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = TeamMemberRole)]
    pub role: String,
    /// When they joined the team.
    pub joined_at: Time,
}

impl TeamMemberOut {
    fn new(user: User, m: team_model::TeamMember) -> Self {
        Self {
            user_id: user.id,
            email: user.email,
            display_name: user.display_name,
            role: m.role,
            joined_at: time(m.created_at),
        }
    }
}

/// A team with its members.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDetailOut {
    pub id: String,
    pub name: String,
    pub created_at: Time,
    pub member_count: i64,
    /// The caller's role in the team; `null` when not in it.
    #[schema(value_type = Option<TeamMemberRole>)]
    pub your_role: Option<String>,
    /// By display name.
    pub members: Vec<TeamMemberOut>,
}

/// The team `id` of `org_id`; 404 for a team of another organisation or none.
fn load_team(conn: &mut DbConnection, org_id: &str, id: &str) -> AppResult<Team> {
    check_id(id)?;
    team_model::find_in_org(conn, org_id, id)?.ok_or(AppError::NotFound)
}

/// The role `user_id` holds in the team, if any.
fn team_role_of(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
) -> AppResult<Option<TeamRole>> {
    Ok(team_model::member(conn, team_id, user_id)?.and_then(|m| TeamRole::parse(&m.role)))
}

/// The team as `me` sees it (the representation its ETag is computed from).
fn team_detail(conn: &mut DbConnection, team: &Team, me: &str) -> AppResult<TeamDetailOut> {
    let members: Vec<TeamMemberOut> = team_model::members(conn, &team.id)?
        .into_iter()
        .map(|(u, m)| TeamMemberOut::new(u, m))
        .collect();
    let your_role = members
        .iter()
        .find(|m| m.user_id == me)
        .map(|m| m.role.clone());
    Ok(TeamDetailOut {
        id: team.id.clone(),
        name: team.name.clone(),
        created_at: time(team.created_at),
        member_count: i64::try_from(members.len()).unwrap_or(i64::MAX),
        your_role,
        members,
    })
}

/// The team member `user_id`, or 404.
fn load_team_member(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
) -> AppResult<TeamMemberOut> {
    let m = team_model::member(conn, team_id, user_id)?.ok_or(AppError::NotFound)?;
    let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
    Ok(TeamMemberOut::new(user, m))
}

/// Loads the team and asks the policy whether the caller may do `action` to it.
fn team_for(
    conn: &mut DbConnection,
    actor: &ApiActor,
    id: &str,
    action: TeamAction,
) -> AppResult<Team> {
    let team = load_team(conn, &actor.org.id, id)?;
    let mine = team_role_of(conn, &team.id, &actor.user.id)?;
    policy::team(actor.role(), mine, TeamAction::View)?;
    policy::team(actor.role(), mine, action)?;
    Ok(team)
}

/// Every team of the organisation (members see them all), in the order of their ids.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams",
    params(SearchQuery, PageQuery),
    responses((status = 200, body = TeamList, description = "The teams.")))]
pub async fn list_teams(
    actor: ApiActor,
    state: State,
    search: web::Query<SearchQuery>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::View)?;
    let needle = search_text(search.q.as_deref())?;
    let window = query.window()?;
    let (org_id, me) = (actor.org.id.clone(), actor.user.id.clone());
    let teams = state
        .db(move |conn| {
            services::teams::overview(conn, &org_id, &me, &needle, TeamOrder::Id, &window)
        })
        .await?;
    let page = support::Paged::from(teams.map(|s| TeamOut {
        id: s.team.id,
        name: s.team.name,
        created_at: time(s.team.created_at),
        member_count: s.members,
        your_role: s.my_role.map(|r| r.as_str().to_string()),
    }));
    Ok(json(&TeamList::from(page)))
}

/// A new team.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TeamIn {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// Creates a team; any member may, and becomes its team admin.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
            pattern = "^[!-~]+$", description = "Send the same key to retry without creating twice.")),
    request_body = TeamIn,
    responses((status = 201, body = TeamDetailOut, description = "The new team.",
        headers(("Location" = String, description = "The team's URL.")))))]
pub async fn create_team(
    actor: ApiActor,
    state: State,
    body: web::Json<TeamIn>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    // Any member of the organisation may create a team.
    actor.authorize(OrgAction::View)?;
    let input = body.into_inner();
    let name = validate::name(&input.name, "Team name", 100).map_err(AppError::invalid)?;
    let (ctx, org, me) = (actor.ctx.clone(), actor.org.clone(), actor.user.id.clone());
    create_once(&state, &actor, &req, &input, move |conn| {
        let team = services::teams::create(conn, &ctx, &org, &me, &name).map_err(unacceptable)?;
        let detail = team_detail(conn, &team, &me)?;
        Created::new(&detail, Some(format!("/api/v1/teams/{}", team.id)))
    })
    .await
}

/// A team with its members.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams",
    params(("id" = String, Path, description = "The team's id.")),
    responses((status = 200, body = TeamDetailOut, description = "The team.",
        headers(("ETag" = String, description = "Send it in If-Match to change a member's role safely.")))))]
pub async fn get_team(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let detail = state
        .db(move |conn| {
            let team = team_for(conn, &actor, &id, TeamAction::View)?;
            team_detail(conn, &team, &actor.user.id)
        })
        .await?;
    json_with_etag(StatusCode::OK, &detail)
}

/// A member to add to a team.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TeamMemberIn {
    /// A member of the organisation.
    #[schema(max_length = 64)]
    pub user_id: String,
    #[schema(value_type = TeamMemberRole)]
    pub role: String,
}

const CHOOSE_TEAM_ROLE: &str = "role must be member or admin.";
const NOT_A_MEMBER: &str = "user_id must name a member of this organisation.";

/// Adds a member of the organisation to the team (team admins and organisation admins).
#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "teams",
    params(
        ("id" = String, Path, description = "The team's id."),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
            pattern = "^[!-~]+$", description = "Send the same key to retry safely.")),
    request_body = TeamMemberIn,
    responses((status = 201, body = TeamMemberOut, description = "The new team member.")))]
pub async fn add_team_member(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: web::Json<TeamMemberIn>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let team = {
        let actor = actor.clone();
        state
            .db(move |conn| team_for(conn, &actor, &id, TeamAction::Manage))
            .await?
    };
    let input = body.into_inner();
    let mut errors = Vec::new();
    if !validate::is_id_like(&input.user_id) {
        errors.push(NOT_A_MEMBER.to_string());
    }
    let role = TeamRole::parse(&input.role);
    if role.is_none() {
        errors.push(CHOOSE_TEAM_ROLE.into());
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let (ctx, org, user_id) = (actor.ctx.clone(), actor.org.clone(), input.user_id.clone());
    create_once(&state, &actor, &req, &input, move |conn| {
        // Only members of this organisation are named: an id from elsewhere must not
        // reveal whose it is.
        let user = match org_model::membership(conn, &org.id, &user_id)? {
            Some(_) => users::find(conn, &user_id)?,
            None => None,
        }
        .ok_or_else(|| AppError::invalid(NOT_A_MEMBER))?;
        services::teams::add_member(conn, &ctx, &org, &team, &user.email, role)
            .map_err(unacceptable)?;
        let member = load_team_member(conn, &team.id, &user.id)?;
        Created::new(&member, None)
    })
    .await
}

/// A new team role.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TeamRoleIn {
    #[schema(value_type = TeamMemberRole)]
    pub role: String,
}

/// Changes a team member's role (team admins and organisation admins).
#[utoipa::path(patch, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams",
    params(
        ("id" = String, Path, description = "The team's id."),
        ("user_id" = String, Path, description = "The team member's user id."),
        ("If-Match" = Option<String>, Header, description = "The team's ETag: refuse the change if the team changed since.")),
    request_body = TeamRoleIn,
    responses(
        (status = 200, body = TeamMemberOut, description = "The team member with the new role."),
        (status = 412, body = Problem, content_type = "application/problem+json",
            description = "If-Match names a version of the team that is no longer current.")))]
pub async fn change_team_member_role(
    actor: ApiActor,
    state: State,
    path: web::Path<(String, String)>,
    body: web::Json<TeamRoleIn>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let if_match = IfMatch::from_req(&req)?;
    let (id, user_id) = path.into_inner();
    check_id(&user_id)?;
    let role = TeamRole::parse(&body.role);
    let member = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let team = team_for(conn, &actor, &id, TeamAction::Manage)?;
                let role = role.ok_or_else(|| AppError::invalid(CHOOSE_TEAM_ROLE))?;
                if_match.check(&etag_of(&team_detail(conn, &team, &actor.user.id)?)?)?;
                services::teams::set_role(conn, &actor.ctx, &actor.org, &team, &user_id, role)
                    .map_err(unacceptable)?;
                load_team_member(conn, &team.id, &user_id)
            })
        })
        .await?;
    Ok(json(&member))
}

/// Removes a member from the team (team admins and organisation admins); anyone may
/// remove themselves (leave the team). Their access through the team ends at once.
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams",
    params(
        ("id" = String, Path, description = "The team's id."),
        ("user_id" = String, Path, description = "The team member's user id.")),
    responses((status = 204, description = "The member is out of the team.")))]
pub async fn remove_team_member(
    actor: ApiActor,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    check_id(&user_id)?;
    state
        .db(move |conn| {
            let leaving = user_id == actor.user.id;
            let action = if leaving {
                TeamAction::Leave
            } else {
                TeamAction::Manage
            };
            let team = team_for(conn, &actor, &id, action)?;
            if leaving {
                services::teams::leave(conn, &actor.ctx, &actor.org, &team)
            } else {
                services::teams::remove_member(conn, &actor.ctx, &actor.org, &team, &user_id)
            }
            .map_err(unacceptable)
        })
        .await?;
    Ok(no_content())
}
