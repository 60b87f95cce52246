//! Organisations and their members: create, rename, delete; roles, removal, leaving.
//! The last owner can neither leave nor be removed nor be demoted.

use crate::auth::policy::{self, OrgAction, Role};
use crate::db::{DbConnection, is_unique_violation, lock_organisation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::orgs::{self, Membership, Organisation};
use crate::models::users;
use crate::models::{api_tokens, new_id};
use crate::services::{Ctx, apps, audit, sessions};
use crate::validate;

/// Creates an organisation owned by `owner_id`, inside the caller's transaction.
pub(crate) fn insert_org(
    conn: &mut DbConnection,
    ctx: &Ctx,
    owner_id: &str,
    name: &str,
    slug: &str,
) -> AppResult<Organisation> {
    let name = validate::name(name, "Organisation name", 100).map_err(AppError::BadRequest)?;
    let slug = validate::slug(slug).map_err(AppError::BadRequest)?;
    let taken = || {
        AppError::conflict(format!(
            "The slug \"{slug}\" is already taken; choose another."
        ))
    };
    if orgs::slug_taken(conn, &slug)? {
        return Err(taken());
    }
    let org = Organisation {
        id: new_id(),
        slug: slug.clone(),
        name,
        created_at: ctx.now,
    };
    orgs::insert(conn, &org).map_err(|e| {
        if is_unique_violation(&e) {
            taken()
        } else {
            e.into()
        }
    })?;
    orgs::add_member(
        conn,
        &Membership {
            org_id: org.id.clone(),
            user_id: owner_id.to_string(),
            role: Role::Owner.as_str().to_string(),
            created_at: ctx.now,
        },
    )?;
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        "org.created",
        Some(&format!("org:{}", org.id)),
        &org.slug,
    )?;
    Ok(org)
}

/// A signed-in user creates an organisation and becomes its owner.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    owner_id: &str,
    name: &str,
    slug: &str,
) -> AppResult<Organisation> {
    write_transaction(conn, |conn| insert_org(conn, ctx, owner_id, name, slug))
}

pub fn rename(conn: &mut DbConnection, ctx: &Ctx, org: &Organisation, name: &str) -> AppResult<()> {
    let name = validate::name(name, "Organisation name", 100).map_err(AppError::BadRequest)?;
    write_transaction(conn, |conn| {
        orgs::rename(conn, &org.id, &name)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "org.renamed",
            Some(&format!("org:{}", org.id)),
            &name,
        )?;
        Ok(())
    })
}

/// Deletes the organisation; `confirm` must repeat its slug.
pub fn delete(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    confirm: &str,
) -> AppResult<()> {
    if confirm.trim() != org.slug {
        return Err(AppError::bad_request(format!(
            "Type the organisation's slug \"{}\" to confirm deletion.",
            org.slug
        )));
    }
    write_transaction(conn, |conn| {
        orgs::delete(conn, &org.id)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "org.deleted",
            Some(&format!("org:{}", org.id)),
            &org.slug,
        )?;
        Ok(())
    })
}

fn member_role(conn: &mut DbConnection, org_id: &str, user_id: &str) -> AppResult<Role> {
    let m = orgs::membership(conn, org_id, user_id)?.ok_or(AppError::NotFound)?;
    Role::parse(&m.role).ok_or_else(|| AppError::internal(format!("unknown role {:?}", m.role)))
}

fn guard_last_owner(conn: &mut DbConnection, org_id: &str, what: &str) -> AppResult<()> {
    lock_organisation(conn, org_id)?;
    if orgs::count_with_role(conn, org_id, Role::Owner.as_str())? <= 1 {
        return Err(AppError::conflict(format!(
            "The last owner cannot {what}. Make another member an owner first."
        )));
    }
    Ok(())
}

/// Changes a member's role, as allowed by the policy for `actor_role`.
pub fn change_role(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    actor_role: Role,
    target_user_id: &str,
    new_role: Role,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let current = member_role(conn, &org.id, target_user_id)?;
        policy::org(
            Some(actor_role),
            OrgAction::ChangeRole {
                from: current,
                to: new_role,
            },
        )?;
        if current == new_role {
            return Err(AppError::conflict(format!(
                "This member is already {}.",
                new_role.as_str()
            )));
        }
        if current == Role::Owner {
            guard_last_owner(conn, &org.id, "be given another role")?;
        }
        orgs::set_role(conn, &org.id, target_user_id, new_role.as_str())?;
        // An admin token acts for an admin: once its creator is not one, it is dead for
        // good, so that promoting them again does not bring it back.
        let mut detail = format!("{} → {}", current.as_str(), new_role.as_str());
        if current >= Role::Admin && new_role < Role::Admin {
            let revoked =
                api_tokens::revoke_admin_tokens_of(conn, &org.id, target_user_id, ctx.now)?;
            if revoked > 0 {
                detail.push_str(&format!("; {revoked} admin API tokens revoked"));
            }
        }
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "member.role_changed",
            Some(&format!("user:{target_user_id}")),
            &detail,
        )?;
        Ok(())
    })
}

/// Removes another member; their sessions end at once.
pub fn remove_member(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    actor_role: Role,
    target_user_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let current = member_role(conn, &org.id, target_user_id)?;
        policy::org(
            Some(actor_role),
            OrgAction::RemoveMember { target: current },
        )?;
        if current == Role::Owner {
            guard_last_owner(conn, &org.id, "be removed")?;
        }
        orgs::remove_member(conn, &org.id, target_user_id)?;
        let suspended = apps::suspend_personal_apps(conn, ctx, &org.id, target_user_id)?;
        let ended = sessions::end_all(conn, target_user_id, None)?;
        // Their API tokens die with the membership: rejoining must not revive them.
        let tokens = api_tokens::revoke_all_in_org(conn, &org.id, target_user_id, ctx.now)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "member.removed",
            Some(&format!("user:{target_user_id}")),
            &format!(
                "was {}; {ended} sessions ended; {suspended} personal apps suspended; {tokens} API tokens revoked",
                current.as_str()
            ),
        )?;
        Ok(())
    })
}

/// The acting member leaves the organisation.
pub fn leave(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    user_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let current = member_role(conn, &org.id, user_id)?;
        if current == Role::Owner {
            guard_last_owner(conn, &org.id, "leave the organisation")?;
        }
        orgs::remove_member(conn, &org.id, user_id)?;
        apps::suspend_personal_apps(conn, ctx, &org.id, user_id)?;
        api_tokens::revoke_all_in_org(conn, &org.id, user_id, ctx.now)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "member.left",
            Some(&format!("user:{user_id}")),
            current.as_str(),
        )?;
        Ok(())
    })
}

/// Adds a user as a member inside the caller's transaction (invitation acceptance).
pub(crate) fn add_member(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    user_id: &str,
    role: Role,
) -> AppResult<()> {
    if orgs::membership(conn, &org.id, user_id)?.is_some() {
        return Err(AppError::conflict(format!(
            "You are already a member of {}.",
            org.name
        )));
    }
    if users::find(conn, user_id)?.is_none() {
        return Err(AppError::NotFound);
    }
    orgs::add_member(
        conn,
        &Membership {
            org_id: org.id.clone(),
            user_id: user_id.to_string(),
            role: role.as_str().to_string(),
            created_at: ctx.now,
        },
    )?;
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        "member.joined",
        Some(&format!("user:{user_id}")),
        role.as_str(),
    )?;
    Ok(())
}
