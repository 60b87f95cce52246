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
use crate::auth::policy::{self, AppAction, AppRelation, OwnerTarget, Role, TeamRole};
use crate::auth::{OrgScope, State};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, flash_outcome, form_problem};
use crate::models::app_list::{AppQuery, AppSort, Owners, Search};
use crate::models::apps::{self, App, Credential};
use crate::models::page::Window;
use crate::models::{names, teams};
use crate::services::apps::{OWNER_LEFT, Owner};
use crate::services::{self};
use crate::verify::allowlist;
use crate::web::{PageCtx, render, render_status, see_other_with};
use crate::when::When;

const PAGE_SIZE: usize = 25;

mod allowlist_form;
mod lists;
mod manage;
mod page;
mod token_guide;

pub use allowlist_form::set_allowed_ips;
pub use lists::{hub, list};
pub use manage::{delete, delete_form, edit_form, retire, revoke, revoke_form, transfer, update};
pub use page::show;

/// An app as a row of a table.
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub auth_type: String,
    pub status: String,
    pub status_reason: String,
    pub created: When,
    pub credential: String,
    pub last_used: When,
    pub can_manage: bool,
}

/// Names of the users and teams owning `list`: two queries, whatever its length.
fn owner_names(
    conn: &mut DbConnection,
    org_id: &str,
    list: &[App],
) -> AppResult<HashMap<String, String>> {
    let wanted = names::Wanted {
        users: list
            .iter()
            .filter_map(|a| a.owner_user_id.clone())
            .collect(),
        teams: list
            .iter()
            .filter_map(|a| a.owner_team_id.clone())
            .collect(),
        ..Default::default()
    };
    let found = names::resolve(conn, org_id, wanted)?;
    let mut out = found.users;
    out.extend(
        found
            .teams
            .into_iter()
            .map(|(id, name)| (id, format!("team {name}"))),
    );
    Ok(out)
}

fn owner_label(app: &App, names: &HashMap<String, String>) -> String {
    match (&app.owner_user_id, &app.owner_team_id) {
        (Some(id), _) | (None, Some(id)) => {
            names.get(id).cloned().unwrap_or_else(|| "unknown".into())
        }
        _ => "nobody".into(),
    }
}

/// Whose apps the viewer sees — every app of the organisation when `org_wide` (an
/// org admin on the Consumer Apps tab), else their own and their teams' — and the
/// teams they administer.
fn visibility(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    org_wide: bool,
) -> AppResult<(Owners, Vec<String>)> {
    let mine = teams::for_user(conn, org_id, user_id)?;
    let admin_teams: Vec<String> = mine
        .iter()
        .filter(|(_, r)| r == "admin")
        .map(|(t, _)| t.id.clone())
        .collect();
    let owners = if org_wide {
        Owners::Everyone
    } else {
        Owners::Of {
            user: Some(user_id.to_string()),
            teams: mine.into_iter().map(|(t, _)| t.id).collect(),
        }
    };
    Ok((owners, admin_teams))
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
                created: When::at(app.created_at, now),
                credential: newest
                    .map_or_else(|| "—".into(), |c| format!("{}…{}", c.prefix, c.last4)),
                last_used: When::maybe(last_used, now, "—"),
                can_manage,
            }
        })
        .collect()
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
    pub created: When,
    pub expires: When,
    pub last_used: When,
    pub state: String,
    pub usable: bool,
    /// Another working credential outlasts it, so it may be retired now.
    pub retirable: bool,
    /// A live API key: it may be restricted to IP ranges.
    pub restrictable: bool,
    /// The ranges it may be used from, as people read them (empty: any address).
    pub allowed_ips: Vec<String>,
    /// The allowlist form's text: one range per line, or what the user sent.
    pub allowlist_input: String,
    /// Why the allowlist form was refused, shown beside it.
    pub allowlist_error: Option<String>,
}

pub fn credential_rows(creds: &[Credential], now: NaiveDateTime) -> Vec<CredentialRow> {
    creds
        .iter()
        .map(|c| {
            let state = c.state(now);
            let allowed_ips: Vec<String> = allowlist::from_column(&c.allowed_ips)
                .into_iter()
                .map(allowlist::host_or_net)
                .collect();
            CredentialRow {
                id: c.id.clone(),
                label: c.label.clone(),
                kind: c.kind.replace('_', " "),
                shown: format!("{}…{}", c.prefix, c.last4),
                created: When::at(c.created_at, now),
                expires: When::maybe(c.expires_at, now, "—"),
                last_used: When::maybe(c.last_used_at, now, "—"),
                state: state.as_str().to_string(),
                usable: state.is_usable(),
                retirable: apps::can_retire(creds, &c.id, now),
                restrictable: c.kind == "api_key" && state.is_usable(),
                allowlist_input: allowed_ips.join("\n"),
                allowed_ips,
                allowlist_error: None,
            }
        })
        .collect()
}

/// Apps a product page offers to subscribe: the newest working or waiting apps the
/// member owns or administers through a team (at most [`PICKABLE_APPS`]; an org admin
/// subscribes anyone else's app from that app's page).
pub fn pickable_apps(conn: &mut DbConnection, org_id: &str, user_id: &str) -> AppResult<Vec<App>> {
    let (_, admin_teams) = visibility(conn, org_id, user_id, false)?;
    let owners = Owners::Of {
        user: Some(user_id.to_string()),
        teams: admin_teams,
    };
    let query = AppQuery {
        org_id,
        owners: &owners,
        statuses: &["pending", "active", "suspended"],
        search: &Search::All,
        orphaned_reason: None,
        sort: AppSort::Newest,
    };
    Ok(query.page(conn, &Window::first(PICKABLE_APPS))?.items)
}

/// The most apps a subscribe form lists.
pub const PICKABLE_APPS: usize = 200;

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
        let allowed = policy::app_owner(org_role, OwnerTarget::Team(role)).is_ok();
        if allowed && app.owner_team_id.as_deref() != Some(team.id.as_str()) {
            out.push((format!("team:{}", team.id), format!("Team {}", team.name)));
        }
    }
    Ok(out)
}

pub fn app_url(scope: &OrgScope, app_id: &str) -> String {
    format!("/o/{}/apps/{app_id}", scope.org.slug)
}
