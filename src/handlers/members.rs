//! Members and invitations of an organisation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{OrgAction, Role};
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, flash_outcome, form_problem};
use crate::models::invitations::Invitation;
use crate::models::orgs::{self as org_model, MemberSort};
use crate::models::page::{Page, Window, capped, search_key};
use crate::services;
use crate::validate;
use crate::web::{PageCtx, Pager, render_status, token_page};
use crate::when::When;

const PAGE_SIZE: usize = 50;

pub struct MemberRow {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub joined: When,
    pub is_me: bool,
}

pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub expires: When,
    pub expired: bool,
}

#[derive(Template)]
#[template(path = "orgs/members.html")]
pub struct MembersPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub errors: Vec<String>,
    pub members: Vec<MemberRow>,
    pub invitations: Vec<InvitationRow>,
    pub is_admin: bool,
    pub is_owner: bool,
    pub q: String,
    pub sort: String,
    /// How many members match, "1,000+" past the cap.
    pub total: String,
    pub members_pager: Pager,
    pub invitations_pager: Pager,
    pub invite_email: String,
    pub tab: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    /// Where the page starts (a cursor from a Previous or Next link).
    #[serde(default)]
    pub cursor: String,
    /// Where the list of pending invitations starts.
    #[serde(default)]
    pub invitations: String,
}

async fn page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    query: ListQuery,
    status: StatusCode,
    errors: Vec<String>,
    invite_email: String,
) -> AppResult<HttpResponse> {
    let role = scope.authorize(OrgAction::View)?;
    let sort = match query.sort.as_str() {
        "email" => MemberSort::Email,
        "role" => MemberSort::Role,
        "joined" => MemberSort::Joined,
        _ => MemberSort::Name,
    };
    let q: String = query
        .q
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    // A cursor that is not ours (an old or edited link) starts at the top.
    let window = Window::parse(PAGE_SIZE, Some(&query.cursor)).unwrap_or(Window::first(PAGE_SIZE));
    let invitations_window =
        Window::parse(PAGE_SIZE, Some(&query.invitations)).unwrap_or(Window::first(PAGE_SIZE));
    let org = scope.org.clone();
    let is_admin = role >= Role::Admin;
    let search = search_key(&q);
    let now = state.clock.now_naive();
    let (members, total, invitations) = state
        .db(move |conn| {
            let members = org_model::members_page(conn, &org.id, &search, sort, &window)?;
            let total = org_model::count_members_capped(conn, &org.id, &search)?;
            let invitations = if is_admin {
                services::invitations::list_open(conn, &org, &invitations_window, true)?
            } else {
                Page::from_rows(Vec::new(), &invitations_window, |_: &Invitation| {
                    (String::new(), String::new())
                })
            };
            Ok((members, total, invitations))
        })
        .await?;
    let keep = [
        ("q", q.as_str()),
        ("sort", query.sort.as_str()),
        ("cursor", query.cursor.as_str()),
        ("invitations", query.invitations.as_str()),
    ];
    let members_pager = Pager::new(&members, "cursor", &keep);
    let invitations_pager = Pager::new(&invitations, "invitations", &keep);
    let me = scope.identity.user.id.clone();
    render_status(
        status,
        &MembersPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            errors,
            members: members
                .items
                .into_iter()
                .map(|(u, m)| MemberRow {
                    is_me: u.id == me,
                    user_id: u.id,
                    display_name: u.display_name,
                    email: u.email,
                    role: m.role,
                    joined: When::at(m.created_at, now),
                })
                .collect(),
            invitations: invitations
                .items
                .into_iter()
                .map(|i: Invitation| InvitationRow {
                    expired: i.expires_at <= now,
                    id: i.id,
                    email: i.email,
                    role: i.role,
                    expires: When::at(i.expires_at, now),
                })
                .collect(),
            is_admin,
            is_owner: role == Role::Owner,
            q,
            sort: query.sort,
            total: capped(total),
            members_pager,
            invitations_pager,
            invite_email,
            tab: "members",
        },
    )
}

pub async fn list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    page(
        ctx,
        &scope,
        &state,
        query.into_inner(),
        StatusCode::OK,
        Vec::new(),
        String::new(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    pub role: String,
}

fn parse_role(raw: &str) -> AppResult<Role> {
    Role::parse(raw)
        .ok_or_else(|| AppError::bad_request("Choose a role: owner, admin or developer."))
}

fn members_url(scope: &OrgScope) -> String {
    format!("/o/{}/members", scope.org.slug)
}

pub async fn change_role(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> AppResult<HttpResponse> {
    let actor_role = scope.authorize(OrgAction::View)?;
    let new_role = parse_role(&form.role)?;
    let (_, target) = path.into_inner();
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let result = state
        .db(move |conn| services::orgs::change_role(conn, &c, &org, actor_role, &target, new_role))
        .await;
    flash_outcome(&req, &members_url(&scope), result, "Role changed.")
}

pub async fn remove(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let actor_role = scope.authorize(OrgAction::View)?;
    let (_, target) = path.into_inner();
    if target == scope.identity.user.id {
        return Err(AppError::bad_request(
            "To remove yourself, use Leave organisation on the overview page.",
        ));
    }
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let result = state
        .db(move |conn| services::orgs::remove_member(conn, &c, &org, actor_role, &target))
        .await;
    flash_outcome(
        &req,
        &members_url(&scope),
        result,
        "Member removed. Their sessions have ended.",
    )
}

#[derive(Template)]
#[template(path = "orgs/invitation_link.html")]
pub struct InvitationLinkPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub email: String,
    pub role: String,
    pub link: String,
    pub expires: String,
    pub tab: &'static str,
}

fn link_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    token: &crate::crypto::SecretString,
    inv: &Invitation,
) -> AppResult<HttpResponse> {
    render_status(
        StatusCode::OK,
        &InvitationLinkPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            email: inv.email.clone(),
            role: inv.role.clone(),
            link: state
                .config
                .public_url
                .join(&format!("/invite/{}", token.expose())),
            expires: inv.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            tab: "members",
        },
    )
    .map(token_page)
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    pub email: String,
    pub role: String,
}

pub async fn invite(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageInvitations)?;
    let again = |ctx, status, message: String| {
        page(
            ctx,
            &scope,
            &state,
            ListQuery::default(),
            status,
            vec![message],
            form.email.clone(),
        )
    };
    let email = match validate::email(&form.email) {
        Ok(email) => email,
        Err(message) => return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, message).await,
    };
    let role = match Role::parse(&form.role) {
        Some(role) => role,
        None => {
            return again(
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose a role: admin or developer.".into(),
            )
            .await;
        }
    };
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let base = state.config.public_url.join("");
    let inviter = scope.identity.user.id.clone();
    match state
        .db(move |conn| {
            services::invitations::create(conn, &c, &org, &inviter, &email, role, &base)
        })
        .await
    {
        Ok((token, inv)) => link_page(ctx, &scope, &state, &token, &inv),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            again(ctx, status, message).await
        }
    }
}

pub async fn revoke_invitation(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageInvitations)?;
    let (_, id) = path.into_inner();
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let result = state
        .db(move |conn| services::invitations::revoke(conn, &c, &org, &id))
        .await;
    flash_outcome(
        &req,
        &members_url(&scope),
        result,
        "Invitation revoked; its link no longer works.",
    )
}

pub async fn resend_invitation(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageInvitations)?;
    let (_, id) = path.into_inner();
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let base = state.config.public_url.join("");
    match state
        .db(move |conn| services::invitations::resend(conn, &c, &org, &id, &base))
        .await
    {
        Ok((token, inv)) => link_page(ctx, &scope, &state, &token, &inv),
        Err(e) => flash_outcome(&req, &members_url(&scope), Err(e), ""),
    }
}
