//! Restricting an API key to IP ranges: the allowlist the verify path checks the
//! gateway's client address against (`verify::allowlist`).

use ipnet::IpNet;

use super::*;
use crate::verify::allowlist;

/// What setting an allowlist did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowlistChange {
    /// The key now accepts requests only from the new list (or from anywhere).
    Changed,
    /// The key already had exactly this list: nothing was written.
    Unchanged,
}

/// Sets the IP ranges a live API key of `app` may be used from (empty: any address),
/// with its audit entry (whose change-feed row makes every verify index reload the
/// app). `nets` come from [`allowlist::parse`]; asking for the list the key already
/// has changes nothing and is not audited.
pub fn set_allowed_ips(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    credential_id: &str,
    nets: &[IpNet],
) -> AppResult<AllowlistChange> {
    if nets.len() > allowlist::MAX_ENTRIES {
        return Err(AppError::bad_request(format!(
            "A key can be restricted to at most {} IP ranges.",
            allowlist::MAX_ENTRIES
        )));
    }
    let column = allowlist::to_column(nets);
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        let cred = apps::credentials_of(conn, &app.id)?
            .into_iter()
            .find(|c| c.id == credential_id)
            .ok_or(AppError::NotFound)?;
        if cred.kind != AuthType::ApiKey.credential_kind() {
            return Err(AppError::conflict(
                "Only API keys can be restricted to IP ranges.",
            ));
        }
        if !cred.state(ctx.now).is_usable() {
            return Err(AppError::conflict(
                "This key is expired or revoked: its IP ranges can no longer be changed.",
            ));
        }
        if cred.allowed_ips == column {
            return Ok(AllowlistChange::Unchanged);
        }
        apps::set_credential_allowed_ips(conn, &cred.id, &column)?;
        audit_app(
            conn,
            ctx,
            &app,
            "credential.allowlist_changed",
            &allowlist_detail(&cred, &column),
        )?;
        Ok(AllowlistChange::Changed)
    })
}

/// The audit detail: `credential:<id> (<prefix>…<last4>) → <stored list>`, the list
/// empty when the restriction was removed (`handlers::activity` words it).
fn allowlist_detail(cred: &Credential, column: &str) -> String {
    format!(
        "credential:{} ({}…{}) → {column}",
        cred.id, cred.prefix, cred.last4
    )
}
