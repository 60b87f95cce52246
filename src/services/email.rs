//! Email addresses and the links sent to them: verification (on sign-up and on a change
//! of address) and password reset. Links carry a random token that is minted when the
//! email is sent and stored only as its SHA-256 (see [`crate::services::links`]), works
//! once, dies when the account's address changes, and expires (48 hours to verify, one
//! hour to reset, counted from when it was asked for).

use chrono::{Duration, NaiveDateTime};

use crate::crypto::{SecretString, sha256_hex};
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::new_id;
use crate::models::user_tokens::{self, UserToken};
use crate::models::users::{self, User};
use crate::services::links::{self, LinkKind, TOKEN_MARK};
use crate::services::notifications::queue_email;
use crate::services::{Ctx, audit, sessions};

/// How long a verification link works.
pub const VERIFY_VALIDITY: Duration = Duration::hours(48);
/// How long a password reset link works.
pub const RESET_VALIDITY: Duration = Duration::hours(1);
/// A new link for the same purpose is sent at most this often per account.
pub const COOLDOWN: Duration = Duration::seconds(60);

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn validity(self) -> Duration {
        match self {
            Self::VerifyEmail => VERIFY_VALIDITY,
            Self::ResetPassword => RESET_VALIDITY,
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Self::VerifyEmail => "Confirm your email address",
            Self::ResetPassword => "Reset your password",
        }
    }

    fn link_kind(self) -> LinkKind {
        match self {
            Self::VerifyEmail => LinkKind::VerifyEmail,
            Self::ResetPassword => LinkKind::ResetPassword,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verification link",
            Self::ResetPassword => "password reset link",
        }
    }
}

/// Queues the email `body` (with [`TOKEN_MARK`] where the token goes) carrying a new
/// link for `user` at `email`: the token's row is written now, without a hash, and the
/// outbox worker mints the token when it sends the email.
fn send_link(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    purpose: Purpose,
    body: &str,
) -> AppResult<()> {
    let id = new_id();
    user_tokens::insert(
        conn,
        &UserToken {
            id: id.clone(),
            user_id: user_id.to_string(),
            purpose: purpose.as_str().to_string(),
            token_hash: None,
            email: email.to_string(),
            created_at: ctx.now,
            expires_at: ctx.now + purpose.validity(),
            used_at: None,
        },
    )?;
    let subject = purpose.subject();
    links::queue(conn, ctx, email, subject, body, purpose.link_kind(), &id)
}

/// Queues a verification link to `email` (inside the caller's transaction); older
/// verification links of the user stop working.
pub fn send_verification(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    public_base: &str,
) -> AppResult<()> {
    user_tokens::use_up_all(conn, user_id, Some(Purpose::VerifyEmail.as_str()), ctx.now)?;
    let body = format!(
        "Please confirm that {email} is your email address for Gatehouse by opening this link:\n\n\
         {public_base}/verify-email/{TOKEN_MARK}\n\n\
         The link works once, for 48 hours. If you did not create a Gatehouse account or change \
         your address, you can ignore this email.\n"
    );
    send_link(conn, ctx, user_id, email, Purpose::VerifyEmail, &body)
}

/// Sends a new verification link to the signed-in user's current address.
pub fn resend_verification(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    public_base: &str,
) -> AppResult<String> {
    write_transaction(conn, |conn| {
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if user.email_verified_at.is_some() {
            return Err(AppError::conflict(
                "Your email address is already verified.",
            ));
        }
        cool_down(conn, &user, Purpose::VerifyEmail, ctx.now)?;
        send_verification(conn, ctx, &user.id, &user.email, public_base)?;
        Ok(user.email)
    })
}

/// Refuses a new link while the last one is younger than [`COOLDOWN`].
fn cool_down(
    conn: &mut DbConnection,
    user: &User,
    purpose: Purpose,
    now: NaiveDateTime,
) -> AppResult<()> {
    if let Some(last) = user_tokens::latest_unused(conn, &user.id, purpose.as_str())?
        && now - last < COOLDOWN
    {
        let wait = (COOLDOWN - (now - last)).num_seconds().max(1);
        return Err(AppError::TooManyRequests {
            retry_after_secs: u64::try_from(wait).unwrap_or(1),
        });
    }
    Ok(())
}

/// The token a link names and its account, if the link can still be used.
pub fn find_usable(
    conn: &mut DbConnection,
    purpose: Purpose,
    token: &str,
    now: NaiveDateTime,
) -> AppResult<(UserToken, User)> {
    let what = purpose.what();
    let not_valid = || {
        AppError::Gone(format!(
            "This {what} is not valid. Check that you copied all of it, or ask for a new one."
        ))
    };
    let found = user_tokens::find_by_hash(conn, purpose.as_str(), &sha256_hex(token.as_bytes()))?
        .ok_or_else(not_valid)?;
    if found.used_at.is_some() {
        return Err(AppError::Gone(format!(
            "This {what} has already been used. Ask for a new one if you still need it."
        )));
    }
    if found.expires_at <= now {
        return Err(AppError::Gone(format!(
            "This {what} has expired. Ask for a new one."
        )));
    }
    let user = users::find(conn, &found.user_id)?.ok_or_else(not_valid)?;
    if user.email != found.email {
        return Err(AppError::Gone(format!(
            "This {what} was sent to an address the account no longer uses."
        )));
    }
    Ok((found, user))
}

/// Uses a verification link: the account's address is verified.
pub fn verify(conn: &mut DbConnection, ctx: &Ctx, token: &SecretString) -> AppResult<User> {
    write_transaction(conn, |conn| {
        let (found, mut user) = find_usable(conn, Purpose::VerifyEmail, token.expose(), ctx.now)?;
        if user_tokens::mark_used(conn, &found.id, ctx.now)? == 0 {
            return Err(AppError::Gone(
                "This verification link has already been used.".into(),
            ));
        }
        users::set_email_verified(conn, &user.id, ctx.now)?;
        user.email_verified_at = Some(ctx.now);
        audit::record(
            conn,
            &acting(ctx, &user.id),
            None,
            "user.email_verified",
            Some(&format!("user:{}", user.id)),
            &user.email,
        )?;
        Ok(user)
    })
}

/// Changes the signed-in user's address: at once, unverified, with a verification link
/// to the new address and a notice to the old one. Every open link of the user dies.
pub fn change_email(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: &str,
    new_email: &str,
    public_base: &str,
) -> AppResult<()> {
    let taken = || AppError::conflict("An account with this email already exists.");
    write_transaction(conn, |conn| {
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if user.email == new_email {
            return Err(AppError::bad_request("That is already your email address."));
        }
        if users::find_by_email(conn, new_email)?.is_some() {
            return Err(taken());
        }
        // Each change mails two addresses: at most one change a minute.
        cool_down(conn, &user, Purpose::VerifyEmail, ctx.now)?;
        users::set_email(conn, user_id, new_email).map_err(|e| {
            if is_unique_violation(&e) {
                taken()
            } else {
                e.into()
            }
        })?;
        user_tokens::use_up_all(conn, user_id, None, ctx.now)?;
        send_verification(conn, ctx, user_id, new_email, public_base)?;
        let notice = format!(
            "The email address of your Gatehouse account was changed from {} to {new_email}.\n\n\
             If you did not do this, sign in and change your password at once, or ask the \
             instance owner for help: {public_base}/login\n",
            user.email
        );
        queue_email(
            conn,
            ctx,
            &user.email,
            "Your email address was changed",
            &notice,
        )?;
        audit::record(
            conn,
            ctx,
            None,
            "user.email_changed",
            Some(&format!("user:{user_id}")),
            &format!("{} -> {new_email}", user.email),
        )?;
        Ok(())
    })
}

/// "Forgot your password?": queues a reset link if an account has this address, and
/// says nothing either way (the caller answers the same in both cases). At most one
/// link a minute per account, so nobody can flood someone's inbox.
pub fn request_password_reset(
    conn: &mut DbConnection,
    ctx: &Ctx,
    email: &str,
    public_base: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let Some(user) = users::find_by_email(conn, email)? else {
            return Ok(());
        };
        if cool_down(conn, &user, Purpose::ResetPassword, ctx.now).is_err() {
            return Ok(());
        }
        user_tokens::use_up_all(
            conn,
            &user.id,
            Some(Purpose::ResetPassword.as_str()),
            ctx.now,
        )?;
        let body = format!(
            "Someone asked to reset the password of the Gatehouse account for {}. To choose a \
             new password, open this link:\n\n{public_base}/reset-password/{TOKEN_MARK}\n\n\
             The link works once, for one hour, and signs out every session of the account. If \
             you did not ask for this, ignore this email: your password stays as it is.\n",
            user.email,
        );
        send_link(
            conn,
            ctx,
            &user.id,
            &user.email,
            Purpose::ResetPassword,
            &body,
        )?;
        audit::record(
            conn,
            ctx,
            None,
            "user.password_reset_requested",
            Some(&format!("user:{}", user.id)),
            "",
        )?;
        Ok(())
    })
}

/// Uses a reset link: the new password is set, every session of the account ends,
/// the link (and any other reset link) dies, and — since the link reached the
/// address — the address counts as verified.
pub fn reset_password(
    conn: &mut DbConnection,
    ctx: &Ctx,
    token: &SecretString,
    new_hash: &str,
) -> AppResult<User> {
    write_transaction(conn, |conn| {
        let (found, user) = find_usable(conn, Purpose::ResetPassword, token.expose(), ctx.now)?;
        if user_tokens::mark_used(conn, &found.id, ctx.now)? == 0 {
            return Err(AppError::Gone(
                "This password reset link has already been used.".into(),
            ));
        }
        user_tokens::use_up_all(
            conn,
            &user.id,
            Some(Purpose::ResetPassword.as_str()),
            ctx.now,
        )?;
        users::set_password(conn, &user.id, new_hash, ctx.now)?;
        let ended = sessions::end_all(conn, &user.id, None)?;
        if user.email_verified_at.is_none() {
            users::set_email_verified(conn, &user.id, ctx.now)?;
        }
        audit::record(
            conn,
            &acting(ctx, &user.id),
            None,
            "user.password_reset",
            Some(&format!("user:{}", user.id)),
            &format!("reset by email link; {ended} sessions ended"),
        )?;
        Ok(user)
    })
}

fn acting(ctx: &Ctx, user_id: &str) -> Ctx {
    Ctx {
        actor_id: ctx.actor_id.clone().or_else(|| Some(user_id.to_string())),
        ..ctx.clone()
    }
}
