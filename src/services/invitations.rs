//! Invitations: an admin invites an email address with a role; the recipient opens a
//! single-use link (token hashed at rest) to join, signing up first if needed. There are
//! two links: the one shown once to the admin (to pass on by hand) and the emailed one,
//! whose token the outbox worker mints as it sends the email
//! ([`crate::services::links`]). Either works; using one uses up the invitation.

use chrono::Duration;

use crate::auth::policy::Role;
use crate::crypto::{SecretString, sha256_hex};
use crate::db::{DbConnection, lock_organisation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::invitations::{self, Invitation};
use crate::models::new_id;
use crate::models::orgs::{self as org_model, Organisation};
use crate::models::page::{Page, Window};
use crate::models::users::{self, User};
use crate::services::accounts::{self, NewAccount};
use crate::services::links::{self, LinkKind, TOKEN_MARK, new_token};
use crate::services::{Ctx, audit, orgs};

/// How long an invitation link stays valid.
pub const VALIDITY_DAYS: i64 = 7;

/// Invites `email` (validated, lower-case) into `org` as `role` (admin or developer).
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    inviter_id: &str,
    email: &str,
    role: Role,
    public_base: &str,
) -> AppResult<(SecretString, Invitation)> {
    if role == Role::Owner {
        return Err(AppError::bad_request(
            "Invite people as admin or developer; make them an owner once they have joined.",
        ));
    }
    write_transaction(conn, |conn| {
        // Two admins inviting the same address at once must not both succeed.
        lock_organisation(conn, &org.id)?;
        if let Some(user) = users::find_by_email(conn, email)?
            && org_model::membership(conn, &org.id, &user.id)?.is_some()
        {
            return Err(AppError::conflict(format!(
                "{email} is already a member of {}.",
                org.name
            )));
        }
        if invitations::open_for_email(conn, &org.id, email, ctx.now)? > 0 {
            return Err(AppError::conflict(format!(
                "{email} already has a pending invitation. Re-send or revoke it below."
            )));
        }
        let (token, token_hash) = new_token();
        let inv = Invitation {
            id: new_id(),
            org_id: org.id.clone(),
            email: email.to_string(),
            role: role.as_str().to_string(),
            token_hash,
            invited_by: inviter_id.to_string(),
            created_at: ctx.now,
            expires_at: ctx.now + Duration::days(VALIDITY_DAYS),
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
            email_token_hash: None,
        };
        invitations::insert(conn, &inv)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "invitation.created",
            Some(&format!("invitation:{}", inv.id)),
            &format!("{email} as {}", role.as_str()),
        )?;
        mail_link(conn, ctx, org, &inv, public_base)?;
        Ok((token, inv))
    })
}

/// Emails the invitation's own link (through the outbox, in the caller's transaction;
/// its token is minted when the email is sent).
fn mail_link(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    inv: &Invitation,
    public_base: &str,
) -> AppResult<()> {
    let body = format!(
        "You are invited to join {} on Gatehouse as {}.\n\nOpen this link to accept; it works once and expires on {}:\n{public_base}/invite/{TOKEN_MARK}\n\nIf you did not expect this, ignore this email.\n",
        org.name,
        inv.role,
        inv.expires_at.format("%Y-%m-%d %H:%M UTC"),
    );
    links::queue(
        conn,
        ctx,
        &inv.email,
        &format!("You are invited to join {}", org.name),
        &body,
        LinkKind::Invitation,
        &inv.id,
    )
}

/// Revokes an open invitation of `org`.
pub fn revoke(conn: &mut DbConnection, ctx: &Ctx, org: &Organisation, id: &str) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let inv = invitations::find_in_org(conn, &org.id, id)?.ok_or(AppError::NotFound)?;
        if invitations::mark_revoked(conn, &inv.id, ctx.now)? == 0 {
            return Err(AppError::conflict(
                "This invitation was already used or revoked.",
            ));
        }
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "invitation.revoked",
            Some(&format!("invitation:{id}")),
            &inv.email,
        )?;
        Ok(())
    })
}

/// Re-sends an open invitation: a new link and a new expiry; the old links (shown and
/// emailed) stop working, and an email of the old link still waiting is not sent.
pub fn resend(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    id: &str,
    public_base: &str,
) -> AppResult<(SecretString, Invitation)> {
    write_transaction(conn, |conn| {
        let mut inv = invitations::find_in_org(conn, &org.id, id)?.ok_or(AppError::NotFound)?;
        let (token, token_hash) = new_token();
        let expires_at = ctx.now + Duration::days(VALIDITY_DAYS);
        if invitations::renew(conn, &inv.id, &token_hash, expires_at)? == 0 {
            return Err(AppError::conflict(
                "This invitation was already used or revoked.",
            ));
        }
        inv.token_hash = token_hash;
        inv.email_token_hash = None;
        inv.expires_at = expires_at;
        links::withdraw(conn, LinkKind::Invitation, &inv.id)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "invitation.resent",
            Some(&format!("invitation:{id}")),
            &inv.email,
        )?;
        mail_link(conn, ctx, org, &inv, public_base)?;
        Ok((token, inv))
    })
}

/// One page of the open invitations (expired ones included), by id: oldest first,
/// or newest first when `newest_first`.
pub fn list_open(
    conn: &mut DbConnection,
    org: &Organisation,
    window: &Window,
    newest_first: bool,
) -> AppResult<Page<Invitation>> {
    Ok(invitations::open_page(conn, &org.id, window, newest_first)?)
}

/// The invitation a link names, if it can still be used; otherwise why not.
pub fn find_usable(
    conn: &mut DbConnection,
    token: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<(Invitation, Organisation)> {
    let (inv, org) = invitations::find_by_token_hash(conn, &sha256_hex(token.as_bytes()))?
        .ok_or_else(|| AppError::Gone("This invitation link is not valid. Check that you copied all of it, or ask for a new invitation.".into()))?;
    if inv.revoked_at.is_some() {
        return Err(AppError::Gone(
            "This invitation was revoked. Ask an admin of the organisation for a new one.".into(),
        ));
    }
    if inv.accepted_at.is_some() {
        return Err(AppError::Gone(
            "This invitation has already been used. Sign in to reach the organisation.".into(),
        ));
    }
    if inv.expires_at <= now {
        return Err(AppError::Gone(
            "This invitation has expired. Ask an admin of the organisation to re-send it.".into(),
        ));
    }
    Ok((inv, org))
}

fn join(
    conn: &mut DbConnection,
    ctx: &Ctx,
    inv: &Invitation,
    org: &Organisation,
    user: &User,
) -> AppResult<()> {
    if user.email != inv.email {
        return Err(AppError::forbidden(format!(
            "This invitation was sent to {}, but you are signed in as {}. Sign out and open the link again.",
            inv.email, user.email
        )));
    }
    let role =
        Role::parse(&inv.role).ok_or_else(|| AppError::internal("invitation with unknown role"))?;
    if invitations::mark_accepted(conn, &inv.id, &user.id, ctx.now)? == 0 {
        return Err(AppError::Gone(
            "This invitation has already been used.".into(),
        ));
    }
    orgs::add_member(conn, ctx, org, &user.id, role)
}

/// A signed-in user accepts the invitation a link names.
pub fn accept(
    conn: &mut DbConnection,
    ctx: &Ctx,
    token: &SecretString,
    user: &User,
) -> AppResult<Organisation> {
    write_transaction(conn, |conn| {
        let (inv, org) = find_usable(conn, token.expose(), ctx.now)?;
        join(conn, ctx, &inv, &org, user)?;
        Ok(org)
    })
}

/// Someone without an account signs up through the invitation (even with open sign-up
/// off) and joins; the account's email is the invited one.
pub fn sign_up_and_accept(
    conn: &mut DbConnection,
    ctx: &Ctx,
    token: &SecretString,
    display_name: &str,
    password_hash: &str,
) -> AppResult<(User, Organisation)> {
    write_transaction(conn, |conn| {
        let (inv, org) = find_usable(conn, token.expose(), ctx.now)?;
        let account = NewAccount {
            email: inv.email.clone(),
            display_name: display_name.to_string(),
            password_hash: password_hash.to_string(),
        };
        let mut user = accounts::insert_user(conn, ctx, &account, false)?;
        // The invitation link reached this address: that proves it.
        users::set_email_verified(conn, &user.id, ctx.now)?;
        user.email_verified_at = Some(ctx.now);
        join(
            conn,
            &Ctx {
                actor_id: Some(user.id.clone()),
                ..ctx.clone()
            },
            &inv,
            &org,
            &user,
        )?;
        Ok((user, org))
    })
}
