//! Teams: any member creates one and becomes its team admin; team admins (and org
//! admins) add and remove members and make others team admins.

use crate::auth::policy::TeamRole;
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::new_id;
use crate::models::orgs::{self as org_model, Organisation};
use crate::models::page::{Page, Window};
use crate::models::teams::{self, Team, TeamMember};
use crate::models::users;
use crate::services::{Ctx, audit};
use crate::validate;

pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    creator_id: &str,
    name: &str,
) -> AppResult<Team> {
    let name = validate::name(name, "Team name", 100).map_err(AppError::BadRequest)?;
    write_transaction(conn, |conn| {
        let taken = || {
            AppError::conflict(format!(
                "A team called \"{name}\" already exists in {}.",
                org.name
            ))
        };
        if teams::name_taken(conn, &org.id, &name)? {
            return Err(taken());
        }
        let team = Team {
            id: new_id(),
            org_id: org.id.clone(),
            name: name.clone(),
            created_at: ctx.now,
        };
        teams::insert(conn, &team).map_err(|e| {
            if is_unique_violation(&e) {
                taken()
            } else {
                e.into()
            }
        })?;
        teams::add_member(
            conn,
            &TeamMember {
                team_id: team.id.clone(),
                user_id: creator_id.to_string(),
                role: TeamRole::Admin.as_str().into(),
                created_at: ctx.now,
            },
        )?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "team.created",
            Some(&format!("team:{}", team.id)),
            &team.name,
        )?;
        Ok(team)
    })
}

/// Adds an organisation member (by email) to the team.
pub fn add_member(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    team: &Team,
    email: &str,
    role: TeamRole,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let not_member = || {
            AppError::bad_request(format!(
                "{email} is not a member of {}. Invite them to the organisation first.",
                org.name
            ))
        };
        let user = users::find_by_email(conn, email)?.ok_or_else(not_member)?;
        if org_model::membership(conn, &org.id, &user.id)?.is_none() {
            return Err(not_member());
        }
        if teams::member(conn, &team.id, &user.id)?.is_some() {
            return Err(AppError::conflict(format!(
                "{email} is already in {}.",
                team.name
            )));
        }
        teams::add_member(
            conn,
            &TeamMember {
                team_id: team.id.clone(),
                user_id: user.id.clone(),
                role: role.as_str().into(),
                created_at: ctx.now,
            },
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict(format!("{email} is already in {}.", team.name))
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "team.member_added",
            Some(&format!("team:{}", team.id)),
            &format!("{email} as {}", role.as_str()),
        )?;
        Ok(())
    })
}

pub fn set_role(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    team: &Team,
    user_id: &str,
    role: TeamRole,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let member = teams::member(conn, &team.id, user_id)?.ok_or(AppError::NotFound)?;
        if member.role == role.as_str() {
            return Err(AppError::conflict(format!(
                "This member is already a team {}.",
                role.as_str()
            )));
        }
        teams::set_role(conn, &team.id, user_id, role.as_str())?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "team.role_changed",
            Some(&format!("team:{}", team.id)),
            &format!("user:{user_id} → {}", role.as_str()),
        )?;
        Ok(())
    })
}

/// Removes a member (or, when `user_id` is the actor, leaves). Access ends at once.
pub fn remove_member(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    team: &Team,
    user_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        if teams::remove_member(conn, &team.id, user_id)? == 0 {
            return Err(AppError::NotFound);
        }
        let action = if ctx.actor_id.as_deref() == Some(user_id) {
            "team.left"
        } else {
            "team.member_removed"
        };
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            action,
            Some(&format!("team:{}", team.id)),
            &format!("user:{user_id}"),
        )?;
        Ok(())
    })
}

/// The actor leaves the team; their access through it ends at once.
pub fn leave(conn: &mut DbConnection, ctx: &Ctx, org: &Organisation, team: &Team) -> AppResult<()> {
    let user_id = ctx
        .actor_id
        .clone()
        .ok_or_else(|| AppError::internal("leaving a team needs an actor"))?;
    remove_member(conn, ctx, org, team, &user_id)
}

/// One row of the organisation's team list.
pub struct TeamSummary {
    pub team: Team,
    pub members: i64,
    /// The viewer's role in the team, if they belong to it.
    pub my_role: Option<TeamRole>,
}

/// One page of the organisation's teams matching `search` (a prefix of the name or
/// an exact id), each with its member count and `user_id`'s role in it: three
/// queries, whatever the number of teams.
pub fn overview(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    search: &str,
    order: teams::TeamOrder,
    window: &Window,
) -> AppResult<Page<TeamSummary>> {
    use std::collections::HashMap;

    let page = teams::page(conn, org_id, search, order, window)?;
    let ids: Vec<String> = page.items.iter().map(|t| t.id.clone()).collect();
    let counts: HashMap<String, i64> = teams::member_counts(conn, &ids)?.into_iter().collect();
    let mine: HashMap<String, String> = teams::roles_in(conn, user_id, &ids)?.into_iter().collect();
    Ok(page.map(|team| TeamSummary {
        members: counts.get(&team.id).copied().unwrap_or(0),
        my_role: mine.get(&team.id).and_then(|r| TeamRole::parse(r)),
        team,
    }))
}
