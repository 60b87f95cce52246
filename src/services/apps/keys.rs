//! Credentials of an existing app: rotate and reset, retire, add JWT keys, and the
//! lifetime cap its products impose.

use super::*;

const ROTATE_KIND: &str = "rotate";

/// The form kind whose nonces `rotate` consumes.
pub fn rotate_form_kind() -> &'static str {
    ROTATE_KIND
}

/// The smallest maximum credential lifetime among the app's approved products.
pub fn lifetime_cap(conn: &mut DbConnection, app_id: &str) -> AppResult<Option<Duration>> {
    Ok(crate::models::products::subscriptions_of(conn, app_id)?
        .into_iter()
        .filter(|(s, _)| s.status == "approved")
        .filter_map(|(_, p)| p.max_credential_lifetime_seconds)
        .min()
        .and_then(Duration::try_seconds))
}

/// Caps the app's working keys and secrets at its products' smallest maximum
/// lifetime (counted from now; an earlier expiry stays). Called whenever an approved
/// subscription appears, in the same transaction.
pub fn apply_lifetime_cap(conn: &mut DbConnection, ctx: &Ctx, app_id: &str) -> AppResult<()> {
    let Some(cap) = lifetime_cap(conn, app_id)? else {
        return Ok(());
    };
    let until = ctx.now + cap;
    for cred in apps::credentials_of(conn, app_id)? {
        if cred.kind != "public_key" && cred.state(ctx.now).is_usable() {
            let expiry = cred.expires_at.map_or(until, |at| at.min(until));
            apps::set_credential_expiry(conn, &cred.id, Some(expiry))?;
        }
    }
    Ok(())
}

/// A rotation as asked for.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// Makes the form single-use.
    pub nonce: &'a str,
    /// How long the old secrets keep working (zero: revoked at once — a *reset*).
    pub overlap: Duration,
    /// The longest overlap the app's products allow.
    pub max_overlap: Duration,
    /// The new credential's label.
    pub label: &'a str,
}

/// Rotates an API key or client secret: a new one (revealed once) and the old ones
/// kept working for the rotation's overlap.
pub fn rotate(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    issuer: Issuer<'_>,
    rotation: Rotation<'_>,
) -> AppResult<Revealed> {
    let Rotation {
        nonce,
        overlap,
        max_overlap,
        label,
    } = rotation;
    let label = check_label(label)?;
    if overlap < Duration::zero() {
        return Err(AppError::bad_request("The overlap cannot be negative."));
    }
    let auth_type =
        AuthType::parse(&app.auth_type).ok_or_else(|| AppError::internal("unknown auth type"))?;
    if auth_type == AuthType::Jwt {
        return Err(AppError::conflict(
            "JWT apps rotate by adding a new public key and then removing the old one.",
        ));
    }
    let already = || {
        AppError::conflict(
            "This rotation was already done: its new secret was shown once and cannot be shown again. To get another, rotate again from the app page.",
        )
    };
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        if nonces::earlier_result(conn, nonce)?.is_some() {
            return Err(already());
        }
        // The overlap and the new credential's lifetime are capped by the smallest
        // maximum credential lifetime among the app's approved products.
        let product_cap = lifetime_cap(conn, &app.id)?;
        let cap = product_cap.map_or(max_overlap, |c| c.min(max_overlap));
        if overlap > cap {
            return Err(AppError::bad_request(format!(
                "The overlap can be at most {} hours for this app.",
                cap.num_hours()
            )));
        }
        let until = ctx.now + overlap;
        let mut kept = 0;
        for old in apps::credentials_of(conn, &app.id)? {
            if old.kind != auth_type.credential_kind() || !old.state(ctx.now).is_usable() {
                continue;
            }
            if overlap.is_zero() {
                apps::revoke_credential(conn, &old.id, ctx.now)?;
            } else {
                let expiry = old.expires_at.map_or(until, |at| at.min(until));
                apps::set_credential_expiry(conn, &old.id, Some(expiry))?;
                kept += 1;
            }
        }
        let kind = if auth_type == AuthType::ApiKey {
            Kind::ApiKey
        } else {
            Kind::ClientSecret
        };
        let (mut cred, secret) = secret_credential(&app.id, kind, &label, issuer, ctx.now);
        cred.expires_at = product_cap.map(|c| ctx.now + c);
        apps::insert_credential(conn, &cred)?;
        let actor = ctx.actor_id.clone().unwrap_or_default();
        nonces::record(conn, ctx, ROTATE_KIND, &actor, nonce, &cred.id).map_err(|e| {
            if is_unique_violation(&e) {
                already()
            } else {
                e.into()
            }
        })?;
        let detail = if overlap.is_zero() {
            "every old credential stopped at once".to_string()
        } else {
            let overlap = format!("overlap {}", crate::wording::duration(overlap));
            if kept == 1 {
                overlap
            } else {
                format!(
                    "{overlap} for {}",
                    crate::wording::count_of(kept, "old credential", "old credentials")
                )
            }
        };
        audit_app(
            conn,
            ctx,
            &app,
            if overlap.is_zero() {
                "credential.reset"
            } else {
                "credential.rotated"
            },
            &detail,
        )?;
        Ok(match auth_type {
            AuthType::ApiKey => Revealed::ApiKey { key: secret },
            _ => Revealed::ClientSecret {
                client_id: app.client_id.clone().unwrap_or_default(),
                secret,
            },
        })
    })
}

/// Retires one credential now (the old one during an overlap, or an old JWT key).
/// The app keeps at least one working credential.
pub fn retire_credential(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    credential_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        let creds = apps::credentials_of(conn, &app.id)?;
        let target = creds
            .iter()
            .find(|c| c.id == credential_id)
            .ok_or(AppError::NotFound)?;
        if !target.state(ctx.now).is_usable() {
            return Err(AppError::conflict(
                "This credential is already expired or revoked.",
            ));
        }
        if !apps::can_retire(&creds, credential_id, ctx.now) {
            return Err(AppError::conflict(
                if app.auth_type == AuthType::Jwt.as_str() {
                    "This is the app's last public key. Add a new key first, or revoke the app."
                } else {
                    "This is the app's current credential. Rotate it to get a new one, or revoke the app."
                },
            ));
        }
        apps::revoke_credential(conn, credential_id, ctx.now)?;
        audit_app(
            conn,
            ctx,
            &app,
            "credential.retired",
            &format!(
                "credential:{credential_id} ({}…{})",
                target.prefix, target.last4
            ),
        )?;
        Ok(())
    })
}

/// Registers another public key on a JWT app.
pub fn add_public_key(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    key: &PublicKey,
    label: &str,
) -> AppResult<()> {
    let label = check_label(label)?;
    if app.auth_type != AuthType::Jwt.as_str() {
        return Err(AppError::conflict("Only JWT apps register public keys."));
    }
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        if apps::credentials_of(conn, &app.id)?.iter().any(|c| {
            c.state(ctx.now).is_usable() && c.public_key.as_deref() == Some(key.text.as_str())
        }) {
            return Err(AppError::conflict(
                "This public key is already registered on the app.",
            ));
        }
        let cred = key_credential(&app.id, key, &label, ctx.now);
        apps::insert_credential(conn, &cred)?;
        audit_app(
            conn,
            ctx,
            &app,
            "credential.key_added",
            &format!("{} key …{}", cred.prefix, cred.last4),
        )?;
        Ok(())
    })
}
