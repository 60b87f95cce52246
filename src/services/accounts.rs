//! Accounts: first-run setup, sign-up, the owner bootstrap of the CLI, passwords.

use crate::crypto::SecretString;
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::new_id;
use crate::models::orgs::Organisation;
use crate::models::users::{self, User};
use crate::services::{Ctx, audit, instance, orgs, sessions};

/// A checked new account; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Validated and lower-cased.
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
}

/// Inserts the account inside the caller's transaction.
pub(crate) fn insert_user(
    conn: &mut DbConnection,
    ctx: &Ctx,
    account: &NewAccount,
    instance_owner: bool,
) -> AppResult<User> {
    let taken =
        || AppError::conflict("An account with this email already exists. Sign in instead.");
    if users::find_by_email(conn, &account.email)?.is_some() {
        return Err(taken());
    }
    let user = User {
        id: new_id(),
        email: account.email.clone(),
        display_name: account.display_name.clone(),
        password_hash: account.password_hash.clone(),
        is_instance_owner: instance_owner,
        created_at: ctx.now,
        password_changed_at: ctx.now,
        email_verified_at: None,
    };
    users::insert(conn, &user).map_err(|e| {
        if is_unique_violation(&e) {
            taken()
        } else {
            e.into()
        }
    })?;
    audit::record(
        conn,
        &acting(ctx, &user),
        None,
        "user.created",
        Some(&format!("user:{}", user.id)),
        if instance_owner { "instance owner" } else { "" },
    )?;
    Ok(user)
}

/// Inserts an account whose owner typed their address into a form (sign-up, first-run
/// setup) and queues the link that verifies it, inside the caller's transaction.
fn open_account(
    conn: &mut DbConnection,
    ctx: &Ctx,
    account: &NewAccount,
    instance_owner: bool,
    public_base: &str,
) -> AppResult<User> {
    let user = insert_user(conn, ctx, account, instance_owner)?;
    crate::services::email::send_verification(
        conn,
        &acting(ctx, &user),
        &user.id,
        &user.email,
        public_base,
    )?;
    Ok(user)
}

/// First-run setup: the setup code creates the instance owner and the first
/// organisation; like sign-up, a link to verify the owner's address goes out.
pub fn complete_setup(
    conn: &mut DbConnection,
    ctx: &Ctx,
    code: &SecretString,
    account: &NewAccount,
    org_name: &str,
    org_slug: &str,
    public_base: &str,
) -> AppResult<(User, Organisation)> {
    write_transaction(conn, |conn| {
        instance::consume_setup_code(conn, code.expose())?;
        let user = open_account(conn, ctx, account, true, public_base)?;
        let org = orgs::insert_org(conn, &acting(ctx, &user), &user.id, org_name, org_slug)?;
        Ok((user, org))
    })
}

/// `gatehouse admin create-owner`: an instance owner and an organisation, no code needed.
/// No verification email: the operator types the address at the server's own terminal,
/// possibly before mail or the public URL is configured; the owner can send themselves
/// the link from their account page.
pub fn create_owner(
    conn: &mut DbConnection,
    ctx: &Ctx,
    account: &NewAccount,
    org_name: &str,
    org_slug: &str,
) -> AppResult<(User, Organisation)> {
    write_transaction(conn, |conn| {
        let user = insert_user(conn, ctx, account, true)?;
        let org = orgs::insert_org(conn, &acting(ctx, &user), &user.id, org_name, org_slug)?;
        // Setup is done: a code printed earlier must stop working.
        instance::clear_setup_code(conn)?;
        Ok((user, org))
    })
}

/// Self-service sign-up, allowed while open sign-up is on. A link to verify the
/// address goes out with it (`public_base` starts the link).
pub fn sign_up(
    conn: &mut DbConnection,
    ctx: &Ctx,
    account: &NewAccount,
    public_base: &str,
) -> AppResult<User> {
    write_transaction(conn, |conn| {
        if instance::setup_pending(conn)? {
            return Err(AppError::conflict(
                "This instance is not set up yet. Open /setup with the code printed in the server's terminal.",
            ));
        }
        if !instance::load(conn)?.open_signup {
            return Err(AppError::forbidden(
                "Sign-up is closed on this instance. Ask an organisation admin for an invitation.",
            ));
        }
        open_account(conn, ctx, account, false, public_base)
    })
}

/// Sets a new password and ends every other session of the user.
pub fn change_password(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    new_hash: &str,
    keep_session: Option<&str>,
) -> AppResult<usize> {
    write_transaction(conn, |conn| {
        users::set_password(conn, user_id, new_hash, ctx.now)?;
        // A reset link sent earlier must not undo the new password.
        crate::models::user_tokens::use_up_all(conn, user_id, Some("reset_password"), ctx.now)?;
        let ended = sessions::end_all(conn, user_id, keep_session)?;
        audit::record(
            conn,
            ctx,
            None,
            "user.password_changed",
            Some(&format!("user:{user_id}")),
            &format!("{ended} other sessions ended"),
        )?;
        Ok(ended)
    })
}

/// `gatehouse admin reset-password`: new password, every session ended.
pub fn reset_password(
    conn: &mut DbConnection,
    ctx: &Ctx,
    email: &str,
    new_hash: &str,
) -> AppResult<User> {
    write_transaction(conn, |conn| {
        let user = users::find_by_email(conn, email)?.ok_or_else(|| {
            AppError::bad_request(format!("There is no account with the email {email}."))
        })?;
        users::set_password(conn, &user.id, new_hash, ctx.now)?;
        crate::models::user_tokens::use_up_all(conn, &user.id, Some("reset_password"), ctx.now)?;
        sessions::end_all(conn, &user.id, None)?;
        audit::record(
            conn,
            ctx,
            None,
            "user.password_reset",
            Some(&format!("user:{}", user.id)),
            "reset from the command line; all sessions ended",
        )?;
        Ok(user)
    })
}

/// Changes the display name.
pub fn update_profile(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    display_name: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        users::set_display_name(conn, user_id, display_name)?;
        audit::record(
            conn,
            ctx,
            None,
            "user.profile_updated",
            Some(&format!("user:{user_id}")),
            "",
        )?;
        Ok(())
    })
}

fn acting(ctx: &Ctx, user: &User) -> Ctx {
    Ctx {
        actor_id: ctx.actor_id.clone().or_else(|| Some(user.id.clone())),
        ..ctx.clone()
    }
}
