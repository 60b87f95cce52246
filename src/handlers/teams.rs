//! Teams of an organisation: the list, creation, a team's page with its members,
//! adding and removing members, team roles, leaving.
//!
//! Every organisation member sees every team and may create one (becoming its team
//! admin); team admins and organisation admins manage a team's members.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, OrgAction, TeamAction, TeamRole};
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, form_problem};
use crate::models::teams::{self as team_model, Team};
use crate::services;
use crate::validate;
use crate::web::{PageCtx, render_status, see_other_with};

/// The longest search string the list accepts.
const SEARCH_MAX: usize = 100;

pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub members: i64,
    /// `admin`, `member`, or empty when the viewer is not in the team.
    pub my_role: String,
}

#[derive(Template)]
#[template(path = "teams/list.html")]
pub struct TeamsPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub errors: Vec<String>,
    pub teams: Vec<TeamRow>,
    pub total: usize,
    pub q: String,
    /// The name typed into the New team form (kept when it is shown again).
    pub name: String,
    pub tab: &'static str,
}

impl TeamsPage {
    /// "1 team", "4 teams".
    pub fn total_label(&self) -> String {
        crate::wording::count_of(self.total, "team", "teams")
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
}

fn teams_url(scope: &OrgScope) -> String {
    format!("/o/{}/teams", scope.org.slug)
}

fn team_url(scope: &OrgScope, team: &Team) -> String {
    format!("/o/{}/teams/{}", scope.org.slug, team.id)
}

async fn list_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    q: &str,
    status: StatusCode,
    errors: Vec<String>,
    name: String,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::View)?;
    let q: String = q
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(SEARCH_MAX)
        .collect();
    let org_id = scope.org.id.clone();
    let me = scope.identity.user.id.clone();
    let all = state
        .db(move |conn| services::teams::overview(conn, &org_id, &me))
        .await?;
    let total = all.len();
    let needle = q.to_lowercase();
    let teams = all
        .into_iter()
        .filter(|s| needle.is_empty() || s.team.name.to_lowercase().contains(&needle))
        .map(|s| TeamRow {
            id: s.team.id,
            name: s.team.name,
            members: s.members,
            my_role: s
                .my_role
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect();
    render_status(
        status,
        &TeamsPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            errors,
            teams,
            total,
            q,
            name,
            tab: "teams",
        },
    )
}

pub async fn list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    list_page(
        ctx,
        &scope,
        &state,
        &query.q,
        StatusCode::OK,
        Vec::new(),
        String::new(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct NewTeamForm {
    #[serde(default)]
    pub name: String,
}

pub async fn create(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<NewTeamForm>,
) -> AppResult<HttpResponse> {
    // Any member of the organisation may create a team.
    scope.authorize(OrgAction::View)?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let creator = scope.identity.user.id.clone();
    let name = form.name.clone();
    match state
        .db(move |conn| services::teams::create(conn, &c, &org, &creator, &name))
        .await
    {
        Ok(team) => Ok(see_other_with(
            &req,
            &team_url(&scope, &team),
            "info",
            &format!(
                "Team {} is created and you are its team admin. Add members below.",
                team.name
            ),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            list_page(ctx, &scope, &state, "", status, vec![message], form.name).await
        }
    }
}

pub struct TeamMemberRow {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub since: String,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "teams/show.html")]
pub struct TeamPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub team_id: String,
    pub team_name: String,
    pub errors: Vec<String>,
    pub members: Vec<TeamMemberRow>,
    /// The viewer's role in the team: `admin`, `member`, or empty.
    pub my_role: String,
    /// May the viewer add and remove members and change their roles?
    pub can_manage: bool,
    pub add_email: String,
    pub add_role: String,
    pub tab: &'static str,
}

/// The team `team_id` of this organisation and the actor's role in it. A team of
/// another organisation, or none at all, is a 404.
async fn load_team(
    scope: &OrgScope,
    state: &State,
    team_id: String,
) -> AppResult<(Team, Option<TeamRole>)> {
    scope.authorize(OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let me = scope.identity.user.id.clone();
    state
        .db(move |conn| {
            let team =
                team_model::find_in_org(conn, &org_id, &team_id)?.ok_or(AppError::NotFound)?;
            let mine =
                team_model::member(conn, &team.id, &me)?.and_then(|m| TeamRole::parse(&m.role));
            Ok((team, mine))
        })
        .await
}

/// Renders the team page; `add` is what the add-member form shows (email, role).
async fn team_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    team: &Team,
    status: StatusCode,
    errors: Vec<String>,
    add: (String, String),
) -> AppResult<HttpResponse> {
    let (add_email, add_role) = add;
    let team_id = team.id.clone();
    let members = state
        .db(move |conn| Ok(team_model::members(conn, &team_id)?))
        .await?;
    let me = &scope.identity.user.id;
    let my_role = members
        .iter()
        .find(|(u, _)| &u.id == me)
        .and_then(|(_, m)| TeamRole::parse(&m.role));
    let can_manage = policy::team(scope.role, my_role, TeamAction::Manage).is_ok();
    render_status(
        status,
        &TeamPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            team_id: team.id.clone(),
            team_name: team.name.clone(),
            errors,
            members: members
                .into_iter()
                .map(|(u, m)| TeamMemberRow {
                    is_me: &u.id == me,
                    user_id: u.id,
                    display_name: u.display_name,
                    email: u.email,
                    role: m.role,
                    since: m.created_at.format("%Y-%m-%d").to_string(),
                })
                .collect(),
            my_role: my_role.map(|r| r.as_str().to_string()).unwrap_or_default(),
            can_manage,
            add_email,
            add_role,
            tab: "teams",
        },
    )
}

pub async fn show(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, team_id) = path.into_inner();
    let (team, my_role) = load_team(&scope, &state, team_id).await?;
    policy::team(scope.role, my_role, TeamAction::View)?;
    team_page(
        ctx,
        &scope,
        &state,
        &team,
        StatusCode::OK,
        Vec::new(),
        Default::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
}

const CHOOSE_ROLE: &str = "Choose a team role: member or admin.";

pub async fn add_member(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<AddMemberForm>,
) -> AppResult<HttpResponse> {
    let (_, team_id) = path.into_inner();
    let (team, my_role) = load_team(&scope, &state, team_id).await?;
    policy::team(scope.role, my_role, TeamAction::Manage)?;
    let again = |ctx, status, message: String| {
        team_page(
            ctx,
            &scope,
            &state,
            &team,
            status,
            vec![message],
            (form.email.clone(), form.role.clone()),
        )
    };
    let email = match validate::email(&form.email) {
        Ok(email) => email,
        Err(message) => return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, message).await,
    };
    let Some(role) = TeamRole::parse(&form.role) else {
        return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, CHOOSE_ROLE.into()).await;
    };
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let t = team.clone();
    let added = email.clone();
    match state
        .db(move |conn| services::teams::add_member(conn, &c, &org, &t, &added, role))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            &team_url(&scope, &team),
            "info",
            &format!("{email} is now a team {} of {}.", role.as_str(), team.name),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            again(ctx, status, message).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub role: String,
}

pub async fn set_role(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String, String)>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> AppResult<HttpResponse> {
    let (_, team_id, user_id) = path.into_inner();
    let (team, my_role) = load_team(&scope, &state, team_id).await?;
    policy::team(scope.role, my_role, TeamAction::Manage)?;
    let Some(role) = TeamRole::parse(&form.role) else {
        return team_page(
            ctx,
            &scope,
            &state,
            &team,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![CHOOSE_ROLE.into()],
            Default::default(),
        )
        .await;
    };
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let t = team.clone();
    let result = state
        .db(move |conn| services::teams::set_role(conn, &c, &org, &t, &user_id, role))
        .await;
    done(
        &req,
        ctx,
        &scope,
        &state,
        &team,
        result,
        (
            &team_url(&scope, &team),
            &format!("Team role changed to {}.", role.as_str()),
        ),
    )
    .await
}

pub async fn remove_member(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, team_id, user_id) = path.into_inner();
    let (team, my_role) = load_team(&scope, &state, team_id).await?;
    policy::team(scope.role, my_role, TeamAction::Manage)?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let t = team.clone();
    let result = state
        .db(move |conn| services::teams::remove_member(conn, &c, &org, &t, &user_id))
        .await;
    done(
        &req,
        ctx,
        &scope,
        &state,
        &team,
        result,
        (
            &team_url(&scope, &team),
            &format!(
                "Removed from {}; their access through the team has ended.",
                team.name
            ),
        ),
    )
    .await
}

pub async fn leave(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, team_id) = path.into_inner();
    let (team, my_role) = load_team(&scope, &state, team_id).await?;
    let result = match policy::team(scope.role, my_role, TeamAction::Leave) {
        Ok(()) => {
            let c = scope.ctx(&req);
            let org = scope.org.clone();
            let t = team.clone();
            state
                .db(move |conn| services::teams::leave(conn, &c, &org, &t))
                .await
        }
        Err(e) => Err(e),
    };
    done(
        &req,
        ctx,
        &scope,
        &state,
        &team,
        result,
        (&teams_url(&scope), &format!("You have left {}.", team.name)),
    )
    .await
}

/// Redirects to `to` with the success message; shows the team page again with the
/// message and status of an error the user can act on; other errors (404, 403, 5xx)
/// go to the error page.
async fn done(
    req: &HttpRequest,
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    team: &Team,
    result: AppResult<()>,
    (to, ok): (&str, &str),
) -> AppResult<HttpResponse> {
    match result {
        Ok(()) => Ok(see_other_with(req, to, "info", ok)),
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => Err(e),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            team_page(
                ctx,
                scope,
                state,
                team,
                status,
                vec![message],
                Default::default(),
            )
            .await
        }
    }
}
