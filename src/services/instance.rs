//! Instance-wide settings and first-run setup.

use crate::auth::policy::OrgCreation;
use crate::crypto::{SecretString, constant_time_eq, random_base62, sha256_hex};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::{settings, users};
use crate::services::{Ctx, audit};

const OPEN_SIGNUP: &str = "open_signup";
const ORG_CREATION: &str = "org_creation";
const SETUP_CODE_HASH: &str = "setup_code_hash";

/// What the instance owners control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceSettings {
    /// Anyone may create an account (an invitation works either way).
    pub open_signup: bool,
    pub org_creation: OrgCreation,
}

pub fn load(conn: &mut DbConnection) -> AppResult<InstanceSettings> {
    let open_signup = settings::get(conn, OPEN_SIGNUP)?.is_none_or(|v| v == "true");
    let org_creation = match settings::get(conn, ORG_CREATION)?.as_deref() {
        Some("instance_owners") => OrgCreation::InstanceOwners,
        _ => OrgCreation::Anyone,
    };
    Ok(InstanceSettings {
        open_signup,
        org_creation,
    })
}

pub fn save(conn: &mut DbConnection, ctx: &Ctx, new: InstanceSettings) -> AppResult<()> {
    write_transaction(conn, |conn| {
        settings::set(
            conn,
            OPEN_SIGNUP,
            if new.open_signup { "true" } else { "false" },
        )?;
        let creation = match new.org_creation {
            OrgCreation::Anyone => "anyone",
            OrgCreation::InstanceOwners => "instance_owners",
        };
        settings::set(conn, ORG_CREATION, creation)?;
        audit::record(
            conn,
            ctx,
            None,
            "instance.settings_changed",
            None,
            &format!(
                "open sign-up: {}, organisation creation: {creation}",
                new.open_signup
            ),
        )?;
        Ok(())
    })
}

/// True until the first account exists.
pub fn setup_pending(conn: &mut DbConnection) -> AppResult<bool> {
    Ok(users::count(conn)? == 0)
}

/// On a database without accounts, makes a new one-time setup code (replacing any
/// earlier one) and returns it for the terminal; `None` once set up.
pub fn issue_setup_code(conn: &mut DbConnection) -> AppResult<Option<SecretString>> {
    write_transaction(conn, |conn| {
        if users::count(conn)? > 0 {
            settings::delete(conn, SETUP_CODE_HASH)?;
            return Ok(None);
        }
        let code = random_base62(20);
        settings::set(conn, SETUP_CODE_HASH, &sha256_hex(code.as_bytes()))?;
        Ok(Some(SecretString::new(code)))
    })
}

/// Ends first-run setup inside the caller's transaction: a printed code stops working.
pub(crate) fn clear_setup_code(conn: &mut DbConnection) -> AppResult<()> {
    settings::delete(conn, SETUP_CODE_HASH)?;
    Ok(())
}

/// Checks and consumes the setup code inside the caller's transaction.
pub(crate) fn consume_setup_code(conn: &mut DbConnection, code: &str) -> AppResult<()> {
    let invalid = || {
        AppError::forbidden(
            "That setup code is not right. Use the code printed in the server's terminal when it started.",
        )
    };
    if users::count(conn)? > 0 {
        return Err(AppError::Gone(
            "This instance is already set up. Sign in instead.".into(),
        ));
    }
    let stored = settings::get(conn, SETUP_CODE_HASH)?.ok_or_else(invalid)?;
    if !constant_time_eq(
        stored.as_bytes(),
        sha256_hex(code.trim().as_bytes()).as_bytes(),
    ) {
        return Err(invalid());
    }
    clear_setup_code(conn)
}
