//! The organisation's approval mode and its auto-approve rules.

use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::new_id;
use crate::models::orgs::Organisation;
use crate::models::products;
use crate::models::teams;
use crate::services::{Ctx, audit};

use super::Mode;

/// Sets the organisation's approval mode.
pub fn set_mode(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    mode: Mode,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        crate::db::lock_organisation(conn, &org.id)?;
        products::set_approval_mode(conn, &org.id, mode.as_str(), ctx.now)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "approvals.mode_changed",
            None,
            mode.as_str(),
        )?;
        Ok(())
    })
}

/// Adds an auto-approve rule: members of a team, or users with a verified email in a domain.
pub fn add_rule(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    kind: &str,
    value: &str,
) -> AppResult<()> {
    let value = value.trim().to_lowercase();
    write_transaction(conn, |conn| {
        match kind {
            "team" => {
                if !crate::validate::is_id_like(&value)
                    || teams::find_in_org(conn, &org.id, &value)?.is_none()
                {
                    return Err(AppError::bad_request("Choose a team of this organisation."));
                }
            }
            "email_domain" => {
                let valid = value.len() <= 253
                    && value.contains('.')
                    && !value.starts_with('.')
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
                if !valid {
                    return Err(AppError::bad_request("Enter a domain such as example.com."));
                }
            }
            _ => {
                return Err(AppError::bad_request(
                    "Choose a rule: team or email domain.",
                ));
            }
        }
        products::add_rule(conn, &new_id(), &org.id, kind, &value, ctx.now).map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict("That rule exists already.")
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "approvals.rule_added",
            None,
            &format!("{kind}: {value}"),
        )?;
        Ok(())
    })
}

pub fn remove_rule(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        if products::remove_rule(conn, &org.id, id)? == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(conn, ctx, Some(&org.id), "approvals.rule_removed", None, id)?;
        Ok(())
    })
}
