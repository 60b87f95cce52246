//! Organisations: the list, creation, the overview page, settings, deletion, leaving.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, InstanceAction, OrgAction, Role};
use crate::auth::{OrgScope, SignedIn, State};
use crate::error::AppResult;
use crate::handlers::activity::{self, ActivityRow};
use crate::handlers::{EmptyForm, form_problem, service_ctx};
use crate::models::overview::{self, COUNT_CAP, Progress};
use crate::models::page::capped;
use crate::models::{invitations, orgs as org_model};
use crate::services;
use crate::validate;
use crate::web::{PageCtx, render, render_status, see_other_with};

#[derive(Template)]
#[template(path = "orgs/list.html")]
pub struct OrgListPage {
    pub ctx: PageCtx,
    pub may_create: bool,
}

pub async fn list(ctx: PageCtx, me: SignedIn, state: State) -> AppResult<HttpResponse> {
    let settings = state.db(services::instance::load).await?;
    let may_create = policy::instance(
        &me.user,
        InstanceAction::CreateOrganisation(settings.org_creation),
    )
    .is_ok();
    render(&OrgListPage { ctx, may_create })
}

#[derive(Template)]
#[template(path = "orgs/new.html")]
pub struct NewOrgPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub name: String,
    pub slug: String,
}

pub async fn new_form(ctx: PageCtx, me: SignedIn, state: State) -> AppResult<HttpResponse> {
    let settings = state.db(services::instance::load).await?;
    policy::instance(
        &me.user,
        InstanceAction::CreateOrganisation(settings.org_creation),
    )?;
    render(&NewOrgPage {
        ctx,
        errors: Vec::new(),
        name: String::new(),
        slug: String::new(),
    })
}

#[derive(Debug, Deserialize)]
pub struct NewOrgForm {
    pub name: String,
    #[serde(default)]
    pub slug: String,
}

pub async fn create(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<NewOrgForm>,
) -> AppResult<HttpResponse> {
    let settings = state.db(services::instance::load).await?;
    policy::instance(
        &me.user,
        InstanceAction::CreateOrganisation(settings.org_creation),
    )?;
    let again = |ctx: PageCtx, status: StatusCode, errors: Vec<String>| {
        render_status(
            status,
            &NewOrgPage {
                ctx,
                errors,
                name: form.name.clone(),
                slug: form.slug.clone(),
            },
        )
    };
    let mut errors = Vec::new();
    let name = validate::name(&form.name, "Organisation name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let slug_raw = if form.slug.trim().is_empty() {
        validate::slugify(name.as_deref().unwrap_or(""))
    } else {
        form.slug.clone()
    };
    let slug = validate::slug(&slug_raw).map_err(|e| errors.push(e)).ok();
    let (Some(name), Some(slug), true) = (name, slug, errors.is_empty()) else {
        return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, errors);
    };
    let c = service_ctx(&req, &state, Some(&me.user.id));
    let owner = me.user.id.clone();
    match state
        .db(move |conn| services::orgs::create(conn, &c, &owner, &name, &slug))
        .await
    {
        Ok(org) => Ok(see_other_with(
            &req,
            &format!("/o/{}", org.slug),
            "info",
            &format!("{} is created. Invite your team from Members.", org.name),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            again(ctx, status, vec![message])
        }
    }
}

#[derive(Template)]
#[template(path = "orgs/home.html")]
pub struct OrgHomePage {
    pub ctx: PageCtx,
    pub name: String,
    pub slug: String,
    pub role: String,
    /// Counted up to the cap: "1,000+" past it.
    pub members: String,
    pub pending_invitations: String,
    pub is_admin: bool,
    pub tab: &'static str,
    /// The getting-started checklist (admins).
    pub progress: Progress,
    /// The organisation's recent activity (admins).
    pub activity: Vec<ActivityRow>,
}

impl OrgHomePage {
    /// Every step of the getting-started checklist is done.
    pub fn set_up(&self) -> bool {
        self.progress.has_product && self.progress.has_invited && self.progress.has_active_app
    }

    /// "1 request", "12 requests", "100+ requests".
    pub fn pending_label(&self) -> String {
        let n = self.progress.pending_requests;
        if n >= COUNT_CAP {
            format!("{COUNT_CAP}+ requests")
        } else {
            crate::wording::count(n, "request", "requests")
        }
    }
}

pub async fn home(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    let role = scope.authorize(OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let is_admin = role >= Role::Admin;
    let now = state.clock.now_naive();
    let (members, pending, progress, activity) = state
        .db(move |conn| {
            let (progress, activity) = if is_admin {
                (
                    overview::progress(conn, &org_id)?,
                    activity::recent(conn, &org_id, None, 10, now)?,
                )
            } else {
                (Progress::default(), Vec::new())
            };
            Ok((
                org_model::count_members_capped(conn, &org_id, "")?,
                invitations::count_open_capped(conn, &org_id)?,
                progress,
                activity,
            ))
        })
        .await?;
    render(&OrgHomePage {
        ctx: ctx.in_org(&scope),
        name: scope.org.name.clone(),
        slug: scope.org.slug.clone(),
        role: role.label().to_string(),
        members: capped(members),
        pending_invitations: capped(pending),
        is_admin,
        tab: "overview",
        progress,
        activity,
    })
}

pub async fn leave(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::Leave)?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let user_id = scope.identity.user.id.clone();
    match state
        .db(move |conn| services::orgs::leave(conn, &c, &org, &user_id))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            "/orgs",
            "info",
            &format!("You have left {}.", scope.org.name),
        )),
        Err(e) => {
            let (_, message) = form_problem(e)?;
            Ok(see_other_with(
                &req,
                &format!("/o/{}", scope.org.slug),
                "error",
                &message,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "orgs/settings.html")]
pub struct OrgSettingsPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub name: String,
    pub slug: String,
    pub is_owner: bool,
    pub tab: &'static str,
}

fn settings_page(
    ctx: PageCtx,
    scope: &OrgScope,
    status: StatusCode,
    errors: Vec<String>,
    name: String,
) -> AppResult<HttpResponse> {
    render_status(
        status,
        &OrgSettingsPage {
            ctx: ctx.in_org(scope),
            errors,
            name,
            slug: scope.org.slug.clone(),
            is_owner: scope.role == Some(Role::Owner),
            tab: "settings",
        },
    )
}

pub async fn settings(ctx: PageCtx, scope: OrgScope) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::EditSettings)?;
    settings_page(
        ctx,
        &scope,
        StatusCode::OK,
        Vec::new(),
        scope.org.name.clone(),
    )
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    pub name: String,
}

pub async fn rename(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::EditSettings)?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let name = form.name.clone();
    match state
        .db(move |conn| services::orgs::rename(conn, &c, &org, &name))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            &format!("/o/{}/settings", scope.org.slug),
            "info",
            "Organisation renamed.",
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            settings_page(ctx, &scope, status, vec![message], form.name)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    pub confirm_slug: String,
}

pub async fn delete(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::Delete)?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    match state
        .db(move |conn| services::orgs::delete(conn, &c, &org, &form.confirm_slug))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            "/orgs",
            "info",
            &format!("{} is deleted.", scope.org.name),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            settings_page(ctx, &scope, status, vec![message], scope.org.name.clone())
        }
    }
}
