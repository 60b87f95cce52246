//! Consumer apps: My Hub, the Consumer Apps tab, the app page, edit, revoke, delete,
//! transfer, retire a credential. Creating and rotating (the pages that reveal a
//! secret once) live in `handlers::app_secrets`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, AppAction, AppRelation, OwnerChange, OwnerTarget, Role, TeamRole};
use crate::auth::{OrgScope, State};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, flash_outcome, form_problem};
use crate::models::apps::{self, App, AppFilter, Credential};
use crate::models::audit::AuditEvent;
use crate::models::{teams, users};
use crate::services::apps::{OWNER_LEFT, Owner};
use crate::services::{self};
use crate::web::{PageCtx, render, render_status, see_other_with};

const PAGE_SIZE: usize = 25;

fn when(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn when_opt(t: Option<NaiveDateTime>) -> String {
    t.map_or_else(|| "—".to_string(), when)
}

/// An app as a row of a table.
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub auth_type: String,
    pub status: String,
    pub status_reason: String,
    pub created: String,
    pub credential: String,
    pub last_used: String,
    pub can_manage: bool,
}

/// Names of users and teams for the owner column.
fn owner_names(
    conn: &mut DbConnection,
    org_id: &str,
    list: &[App],
) -> AppResult<HashMap<String, String>> {
    let mut names = HashMap::new();
    for team in teams::for_org(conn, org_id)? {
        names.insert(team.id.clone(), format!("team {}", team.name));
    }
    for app in list {
        if let Some(u) = &app.owner_user_id
            && !names.contains_key(u)
            && let Some(user) = users::find(conn, u)?
        {
            names.insert(u.clone(), user.display_name);
        }
    }
    Ok(names)
}

fn owner_label(app: &App, names: &HashMap<String, String>) -> String {
    match (&app.owner_user_id, &app.owner_team_id) {
        (Some(id), _) | (None, Some(id)) => {
            names.get(id).cloned().unwrap_or_else(|| "unknown".into())
        }
        _ => "nobody".into(),
    }
}

/// What the viewer may see of the organisation's apps.
fn visibility(
    conn: &mut DbConnection,
    scope_org: &str,
    user_id: &str,
    role: Role,
    everything: bool,
) -> AppResult<(AppFilter, Vec<String>, Vec<String>)> {
    let mine = teams::for_user(conn, scope_org, user_id)?;
    let team_ids: Vec<String> = mine.iter().map(|(t, _)| t.id.clone()).collect();
    let admin_teams: Vec<String> = mine
        .iter()
        .filter(|(_, r)| r == "admin")
        .map(|(t, _)| t.id.clone())
        .collect();
    let filter = if everything && role >= Role::Admin {
        AppFilter::default()
    } else {
        AppFilter {
            visible_to: Some((user_id.to_string(), team_ids.clone())),
        }
    };
    Ok((filter, team_ids, admin_teams))
}

fn rows(
    list: &[App],
    creds: &[Credential],
    names: &HashMap<String, String>,
    now: NaiveDateTime,
    user_id: &str,
    admin_teams: &[String],
    org_admin: bool,
) -> Vec<AppRow> {
    list.iter()
        .map(|app| {
            let mine: Vec<&Credential> = creds.iter().filter(|c| c.app_id == app.id).collect();
            let newest = mine
                .iter()
                .find(|c| c.state(now).is_usable())
                .or(mine.first());
            let last_used = mine.iter().filter_map(|c| c.last_used_at).max();
            let can_manage = org_admin
                || app.owner_user_id.as_deref() == Some(user_id)
                || app
                    .owner_team_id
                    .as_ref()
                    .is_some_and(|t| admin_teams.contains(t));
            AppRow {
                id: app.id.clone(),
                name: app.name.clone(),
                owner: owner_label(app, names),
                auth_type: app.auth_type.clone(),
                status: app.status.clone(),
                status_reason: app.status_reason.clone(),
                created: app.created_at.format("%Y-%m-%d").to_string(),
                credential: newest
                    .map_or_else(|| "—".into(), |c| format!("{}…{}", c.prefix, c.last4)),
                last_used: when_opt(last_used),
                can_manage,
            }
        })
        .collect()
}

// ------------------------------------------------------------------ My Hub

pub struct ActivityRow {
    pub when: String,
    pub action: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "apps/hub.html")]
pub struct HubPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub apps: Vec<AppRow>,
    pub active: usize,
    pub pending: usize,
    pub suspended: usize,
    pub revoked: usize,
    pub teams: Vec<(String, String, String)>,
    pub activity: Vec<ActivityRow>,
}

pub async fn hub(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    let role = scope.authorize(policy::OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let now = state.clock.now_naive();
    let (list, creds, names, my_teams, admin_teams, activity) = state
        .db(move |conn| {
            let (filter, _, admin_teams) = visibility(conn, &org_id, &user_id, role, false)?;
            let list = apps::list(conn, &org_id, &filter)?;
            let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
            let creds = apps::credentials_of_apps(conn, &ids)?;
            let names = owner_names(conn, &org_id, &list)?;
            let my_teams = teams::for_user(conn, &org_id, &user_id)?;
            let targets: Vec<String> = ids.iter().map(|id| format!("app:{id}")).collect();
            let activity = crate::models::audit::for_targets(conn, &org_id, &targets, 10)?;
            Ok((list, creds, names, my_teams, admin_teams, activity))
        })
        .await?;
    let count = |s: &str| list.iter().filter(|a| a.status == s).count();
    let page = HubPage {
        slug: scope.org.slug.clone(),
        tab: "hub",
        active: count("active"),
        pending: count("pending"),
        suspended: count("suspended"),
        revoked: count("revoked"),
        apps: rows(
            &list,
            &creds,
            &names,
            now,
            &scope.identity.user.id,
            &admin_teams,
            role >= Role::Admin,
        )
        .into_iter()
        .filter(|r| r.status != "revoked")
        .collect(),
        teams: my_teams
            .into_iter()
            .map(|(t, r)| (t.id, t.name, r))
            .collect(),
        activity: activity.into_iter().map(activity_row).collect(),
        ctx: ctx.in_org(&scope),
    };
    render(&page)
}

fn activity_row(e: AuditEvent) -> ActivityRow {
    ActivityRow {
        when: when(e.created_at),
        action: e.action,
        detail: e.detail,
    }
}

// ------------------------------------------------------------ Consumer Apps

#[derive(Template)]
#[template(path = "apps/list.html")]
pub struct AppListPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub active: Vec<AppRow>,
    pub revoked: Vec<AppRow>,
    pub q: String,
    pub sort: String,
    pub filter: String,
    pub page: usize,
    pub pages: usize,
    pub revoked_page: usize,
    pub revoked_pages: usize,
    pub is_admin: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub page: Option<usize>,
    /// The Revoked table pages on its own.
    #[serde(default)]
    pub revoked_page: Option<usize>,
}

pub async fn list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let role = scope.authorize(policy::OrgAction::View)?;
    let query = query.into_inner();
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let now = state.clock.now_naive();
    let (mut list, creds, names, admin_teams) = state
        .db(move |conn| {
            let (filter, _, admin_teams) = visibility(conn, &org_id, &user_id, role, true)?;
            let list = apps::list(conn, &org_id, &filter)?;
            let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
            let creds = apps::credentials_of_apps(conn, &ids)?;
            let names = owner_names(conn, &org_id, &list)?;
            Ok((list, creds, names, admin_teams))
        })
        .await?;
    let q: String = query
        .q
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let needle = q.to_lowercase();
    list.retain(|a| {
        needle.is_empty() || a.name.to_lowercase().contains(&needle) || a.id.starts_with(&needle)
    });
    if matches!(
        query.filter.as_str(),
        "pending" | "active" | "suspended" | "rejected"
    ) {
        list.retain(|a| a.status == query.filter);
    }
    if query.filter == "orphaned" {
        list.retain(|a| a.status_reason == OWNER_LEFT || Owner::of(a).is_none());
    }
    match query.sort.as_str() {
        "name" => list.sort_by_key(|a| a.name.to_lowercase()),
        "oldest" => list.sort_by_key(|a| a.created_at),
        "status" => list.sort_by(|a, b| a.status.cmp(&b.status).then(a.name.cmp(&b.name))),
        _ => {}
    }
    let all = rows(
        &list,
        &creds,
        &names,
        now,
        &scope.identity.user.id,
        &admin_teams,
        role >= Role::Admin,
    );
    let (revoked, active): (Vec<AppRow>, Vec<AppRow>) =
        all.into_iter().partition(|r| r.status == "revoked");
    let pages = active.len().div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let active = active
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let revoked_pages = revoked.len().div_ceil(PAGE_SIZE).max(1);
    let revoked_page = query.revoked_page.unwrap_or(1).clamp(1, revoked_pages);
    let revoked = revoked
        .into_iter()
        .skip((revoked_page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    render(&AppListPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        active,
        revoked,
        q,
        sort: query.sort,
        filter: query.filter,
        page,
        pages,
        revoked_page,
        revoked_pages,
        is_admin: role >= Role::Admin,
    })
}

// ------------------------------------------------------------------ app page

/// An app the actor may see, with how they stand to it.
pub struct Loaded {
    pub app: App,
    pub relation: AppRelation,
    pub credentials: Vec<Credential>,
}

/// Loads an app of the scope's organisation and asks the policy about `action`.
pub async fn load(
    scope: &OrgScope,
    state: &State,
    app_id: String,
    action: AppAction,
) -> AppResult<Loaded> {
    if !crate::validate::is_id_like(&app_id) {
        return Err(AppError::NotFound);
    }
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let loaded = state
        .db(move |conn| {
            let app = apps::find_in_org(conn, &org_id, &app_id)?.ok_or(AppError::NotFound)?;
            let relation = services::apps::relation(conn, &app, &user_id)?;
            let credentials = apps::credentials_of(conn, &app.id)?;
            Ok(Loaded {
                app,
                relation,
                credentials,
            })
        })
        .await?;
    // Viewing first: a stranger learns nothing (404) even when asking to change it.
    policy::app(scope.role, loaded.relation, AppAction::View)?;
    policy::app(scope.role, loaded.relation, action)?;
    Ok(loaded)
}

pub struct CredentialRow {
    pub id: String,
    pub label: String,
    pub kind: String,
    pub shown: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub state: String,
    pub usable: bool,
    /// Another working credential outlasts it, so it may be retired now.
    pub retirable: bool,
}

pub fn credential_rows(creds: &[Credential], now: NaiveDateTime) -> Vec<CredentialRow> {
    creds
        .iter()
        .map(|c| {
            let state = c.state(now);
            CredentialRow {
                id: c.id.clone(),
                label: c.label.clone(),
                kind: c.kind.replace('_', " "),
                shown: format!("{}…{}", c.prefix, c.last4),
                created: when(c.created_at),
                expires: when_opt(c.expires_at),
                last_used: when_opt(c.last_used_at),
                state: state.as_str().to_string(),
                usable: state.is_usable(),
                retirable: apps::can_retire(creds, &c.id, now),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "apps/show.html")]
pub struct AppPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub owner: String,
    pub callback_urls: Vec<String>,
    pub credentials: Vec<CredentialRow>,

    pub can_manage: bool,
    pub live: bool,
    pub audit: Vec<ActivityRow>,
    pub transfer_targets: Vec<(String, String)>,
    pub subscriptions: Vec<SubscriptionRow>,
    /// Products the app may still ask for: (id, name).
    pub requestable: Vec<(String, String)>,
    pub is_org_admin: bool,
}

pub struct SubscriptionRow {
    pub id: String,
    pub product: String,
    pub product_slug: String,
    pub status: String,
    pub note: String,
    pub reason: String,
    pub requested: String,
    pub decided: String,
    pub cancellable: bool,
}

pub async fn show(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::View).await?;
    let can_manage = policy::app(scope.role, loaded.relation, AppAction::Manage).is_ok();
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let app = loaded.app.clone();
    let org_role = scope.role;
    let role = org_role.unwrap_or(Role::Developer);
    let (names, audit, targets, subscriptions, products) = state
        .db(move |conn| {
            let names = owner_names(conn, &org_id, std::slice::from_ref(&app))?;
            let audit =
                crate::models::audit::for_targets(conn, &org_id, &[format!("app:{}", app.id)], 50)?;
            let targets = transfer_targets(conn, &org_id, &user_id, org_role, &app)?;
            let subscriptions = crate::models::products::subscriptions_of(conn, &app.id)?;
            let products = services::products::visible_for(conn, &org_id, &user_id, role)?;
            Ok((names, audit, targets, subscriptions, products))
        })
        .await?;
    let live_products: Vec<&str> = subscriptions
        .iter()
        .filter(|(s, _)| matches!(s.status.as_str(), "pending" | "approved"))
        .map(|(s, _)| s.product_id.as_str())
        .collect();
    let requestable: Vec<(String, String)> = products
        .iter()
        .filter(|p| !live_products.contains(&p.id.as_str()))
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let subscriptions: Vec<SubscriptionRow> = subscriptions
        .into_iter()
        .map(|(s, p)| SubscriptionRow {
            cancellable: matches!(s.status.as_str(), "pending" | "approved"),
            id: s.id,
            product: p.name,
            product_slug: p.slug,
            status: s.status,
            note: s.note,
            reason: s.reason,
            requested: when(s.created_at),
            decided: when_opt(s.decided_at),
        })
        .collect();
    let now = state.clock.now_naive();
    let credentials = credential_rows(&loaded.credentials, now);
    render(&AppPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        owner: owner_label(&loaded.app, &names),
        callback_urls: loaded
            .app
            .callback_urls
            .lines()
            .map(str::to_string)
            .collect(),
        credentials,
        can_manage,
        live: loaded.app.status != "revoked",
        audit: audit.into_iter().map(activity_row).collect(),
        transfer_targets: targets,
        subscriptions,
        requestable,
        is_org_admin: role >= Role::Admin,
        app: loaded.app,
    })
}

/// Live apps the member may change: their own, their admin teams', every app for org
/// admins (as the policy says).
pub fn manageable_apps(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    role: Option<Role>,
) -> AppResult<Vec<App>> {
    let all = apps::list(conn, org_id, &AppFilter::default())?;
    let mut out = Vec::new();
    for app in all {
        let relation = services::apps::relation(conn, &app, user_id)?;
        if policy::app(role, relation, AppAction::Manage).is_ok() {
            out.push(app);
        }
    }
    Ok(out)
}

/// Every team of the organisation with the actor's role in it (if any).
pub fn teams_with_my_role(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
) -> AppResult<Vec<(teams::Team, Option<TeamRole>)>> {
    let mine: HashMap<String, String> = teams::for_user(conn, org_id, user_id)?
        .into_iter()
        .map(|(t, r)| (t.id, r))
        .collect();
    Ok(teams::for_org(conn, org_id)?
        .into_iter()
        .map(|t| {
            let role = mine.get(&t.id).and_then(|r| TeamRole::parse(r));
            (t, role)
        })
        .collect())
}

/// Where the actor may move an app, as the policy allows; the current owner is left
/// out.
fn transfer_targets(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    org_role: Option<Role>,
    app: &App,
) -> AppResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if app.owner_user_id.as_deref() != Some(user_id) {
        out.push((format!("user:{user_id}"), "Me".to_string()));
    }
    for (team, role) in teams_with_my_role(conn, org_id, user_id)? {
        let allowed =
            policy::app_owner(org_role, OwnerTarget::Team(role), OwnerChange::Transfer).is_ok();
        if allowed && app.owner_team_id.as_deref() != Some(team.id.as_str()) {
            out.push((format!("team:{}", team.id), format!("Team {}", team.name)));
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ edit

#[derive(Template)]
#[template(path = "apps/edit.html")]
pub struct EditPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub errors: Vec<String>,
    pub name: String,
    pub description: String,
    pub callback_urls: String,
    pub credentials: Vec<CredentialRow>,
}

pub async fn edit_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    services::apps::require_changeable(&loaded.app)?;
    let app = loaded.app;
    render(&EditPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        errors: Vec::new(),
        name: app.name.clone(),
        description: app.description.clone(),
        callback_urls: app.callback_urls.clone(),
        credentials: credential_rows(&loaded.credentials, state.clock.now_naive()),
        app,
    })
}

/// The edit form; labels arrive as `label.<credential id>` fields.
pub async fn update(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (name, description, urls) = (field("name"), field("description"), field("callback_urls"));
    let labels: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("label.")
                .map(|id| (id.to_string(), v.clone()))
        })
        .collect();
    let now = state.clock.now_naive();
    let again = |ctx: PageCtx, status: StatusCode, errors: Vec<String>| {
        render_status(
            status,
            &EditPage {
                ctx: ctx.in_org(&scope),
                slug: scope.org.slug.clone(),
                tab: "apps",
                errors,
                name: name.clone(),
                description: description.clone(),
                callback_urls: urls.clone(),
                credentials: credential_rows(&loaded.credentials, now),
                app: loaded.app.clone(),
            },
        )
    };
    let details = match services::apps::check_details(&name, &description, &urls) {
        Ok(d) => d,
        Err(errors) => return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, errors),
    };
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    match state
        .db(move |conn| services::apps::update(conn, &c, &app, &details, &labels))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            &app_url(&scope, &loaded.app.id),
            "info",
            "App saved.",
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            again(ctx, status, vec![message])
        }
    }
}

pub fn app_url(scope: &OrgScope, app_id: &str) -> String {
    format!("/o/{}/apps/{app_id}", scope.org.slug)
}

// ------------------------------------------------------- revoke and delete

#[derive(Template)]
#[template(path = "apps/confirm.html")]
pub struct ConfirmPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    /// `revoke` or `delete`.
    pub action: &'static str,
}

async fn confirm(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    app_id: String,
    action: &'static str,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    if action == "revoke" && loaded.app.status == "revoked" {
        return Err(AppError::conflict("This app is already revoked."));
    }
    render(&ConfirmPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        app: loaded.app,
        action,
    })
}

pub async fn revoke_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    confirm(ctx, scope, state, path.into_inner().1, "revoke").await
}

pub async fn delete_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    confirm(ctx, scope, state, path.into_inner().1, "delete").await
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

pub async fn revoke(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    state
        .db(move |conn| services::apps::revoke(conn, &c, &app, &form.reason))
        .await?;
    Ok(see_other_with(
        &req,
        &format!("/o/{}/apps", scope.org.slug),
        "info",
        &format!(
            "{} is revoked: its credentials no longer work.",
            loaded.app.name
        ),
    ))
}

pub async fn delete(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    state
        .db(move |conn| services::apps::delete(conn, &c, &app))
        .await?;
    Ok(see_other_with(
        &req,
        &format!("/o/{}/apps", scope.org.slug),
        "info",
        &format!(
            "{} is deleted; its credentials were revoked.",
            loaded.app.name
        ),
    ))
}

// -------------------------------------------------- transfer, retire a key

#[derive(Debug, Deserialize)]
pub struct TransferForm {
    pub to: String,
}

pub async fn transfer(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<TransferForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let org_role = scope.role;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let to = form.to.clone();
    let result = state
        .db(move |conn| {
            // Only targets the actor admins: themselves or their teams (org admins: any).
            let allowed = transfer_targets(conn, &org_id, &user_id, org_role, &app)?;
            if !allowed.iter().any(|(v, _)| *v == to) {
                return Err(AppError::forbidden(
                    "You can move an app only to yourself or to a team you admin.",
                ));
            }
            let owner = match to.split_once(':') {
                Some(("user", id)) => Owner::User(id.to_string()),
                Some(("team", id)) => Owner::Team(id.to_string()),
                _ => return Err(AppError::bad_request("Choose a new owner.")),
            };
            services::apps::transfer(conn, &c, &app, &owner)
        })
        .await;
    flash_outcome(
        &req,
        &app_url(&scope, &loaded.app.id),
        result,
        "App transferred.",
    )
}

pub async fn retire(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id, credential_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let result = state
        .db(move |conn| services::apps::retire_credential(conn, &c, &app, &credential_id))
        .await;
    flash_outcome(
        &req,
        &app_url(&scope, &loaded.app.id),
        result,
        "Credential retired: it no longer works.",
    )
}
