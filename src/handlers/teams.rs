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
use crate::models::page::{COUNT_CAP, Window, capped, search_key};
use crate::models::teams::{self as team_model, Team, TeamOrder};
use crate::services;
use crate::validate;
use crate::web::{PageCtx, Pager, render_status, see_other_with};

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
    /// How many teams match, counted up to the cap.
    pub total: usize,
    pub teams_pager: Pager,
    pub q: String,
    /// The name typed into the New team form (kept when it is shown again).
    pub name: String,
    pub tab: &'static str,
}

impl TeamsPage {
    /// "1 team", "4 teams", "1,000+ teams".
    pub fn total_label(&self) -> String {
        if self.total > COUNT_CAP {
            format!("{} teams", capped(self.total))
        } else {
            crate::wording::count_of(self.total, "team", "teams")
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    /// Where the page starts (a cursor from a Previous or Next link).
    #[serde(default)]
    pub cursor: String,
}

/// Teams shown per page.
const PAGE_SIZE: usize = 50;

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
    query: &ListQuery,
    status: StatusCode,
    errors: Vec<String>,
    name: String,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::View)?;
    let q: String = query
        .q
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(SEARCH_MAX)
        .collect();
    // A cursor that is not ours (an old or edited link) starts at the top.
    let window = Window::parse(PAGE_SIZE, Some(&query.cursor)).unwrap_or(Window::first(PAGE_SIZE));
    let org_id = scope.org.id.clone();
    let me = scope.identity.user.id.clone();
    let needle = search_key(&q);
    let (page, total) = state
        .db(move |conn| {
            let page =
                services::teams::overview(conn, &org_id, &me, &needle, TeamOrder::Name, &window)?;
            let total = team_model::count_capped(conn, &org_id, &needle)?;
            Ok((page, total))
        })
        .await?;
    let teams_pager = Pager::new(&page, "cursor", &[("q", q.as_str())]);
    let teams = page
        .items
        .into_iter()
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
            teams_pager,
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
        &query,
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
            let query = ListQuery::default();
            list_page(
                ctx,
                &scope,
                &state,
                &query,
                status,
                vec![message],
                form.name,
            )
            .await
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
    /// How many members the team has, "1,000+" past the cap.
    pub members_total: String,
    pub members_pager: Pager,
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

/// What the team page shows besides the team: the add-member form's values and where
/// the member list starts.
#[derive(Debug, Default, Deserialize)]
pub struct TeamView {
    #[serde(skip)]
    pub add_email: String,
    #[serde(skip)]
    pub add_role: String,
    /// A cursor from a Previous or Next link of the member list.
    #[serde(default)]
    pub cursor: String,
}

/// Renders the team page with one page of its members, by name.
async fn team_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    team: &Team,
    status: StatusCode,
    errors: Vec<String>,
    view: TeamView,
) -> AppResult<HttpResponse> {
    let TeamView {
        add_email,
        add_role,
        cursor,
    } = view;
    // A cursor that is not ours (an old or edited link) starts at the top.
    let window = Window::parse(PAGE_SIZE, Some(&cursor)).unwrap_or(Window::first(PAGE_SIZE));
    let team_id = team.id.clone();
    let me = scope.identity.user.id.clone();
    let (members, mine, total) = state
        .db(move |conn| {
            Ok((
                team_model::members_page(conn, &team_id, &window)?,
                team_model::member(conn, &team_id, &me)?,
                team_model::count_members_capped(conn, &team_id)?,
            ))
        })
        .await?;
    let me = &scope.identity.user.id;
    let my_role = mine.and_then(|m| TeamRole::parse(&m.role));
    let members_pager = Pager::new(&members, "cursor", &[]);
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
                .items
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
            members_total: capped(total),
            members_pager,
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
    view: web::Query<TeamView>,
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
        view.into_inner(),
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
            TeamView {
                add_email: form.email.clone(),
                add_role: form.role.clone(),
                ..Default::default()
            },
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
        Err(e @ (AppError::NotFound | AppError::Hidden(_) | AppError::Forbidden(_))) => Err(e),
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
