//! An app's own lifecycle: edit, revoke, delete, transfer, and suspension when its
//! owner leaves.

use super::*;

/// Changes name, description, callback URLs and credential labels.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    details: &AppDetails,
    labels: &[(String, String)],
) -> AppResult<()> {
    let labels = labels
        .iter()
        .map(|(id, l)| check_label(l).map(|l| (id.clone(), l)))
        .collect::<AppResult<Vec<_>>>()?;
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        require_changeable(&app)?;
        let owner = Owner::of(&app)
            .ok_or_else(|| AppError::conflict("This app has no owner; transfer it first."))?;
        ensure_name_free(conn, &app.org_id, &owner, &details.name, Some(&app.id))?;
        let creds = apps::credentials_of(conn, &app.id)?;
        for (id, label) in &labels {
            if !creds.iter().any(|c| &c.id == id) {
                return Err(AppError::bad_request(
                    "The form names a credential this app does not have.",
                ));
            }
            apps::set_credential_label(conn, id, label)?;
        }
        app.name = details.name.clone();
        app.description = details.description.clone();
        app.callback_urls = details.callback_urls.join("\n");
        app.updated_at = ctx.now;
        apps::save(conn, &app).map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict("This owner already has an app with that name.")
            } else {
                e.into()
            }
        })?;
        audit_app(conn, ctx, &app, "app.updated", &app.name)?;
        Ok(())
    })
}

/// Revokes the app: every credential stops working; it cannot be undone.
pub fn revoke(conn: &mut DbConnection, ctx: &Ctx, app: &App, reason: &str) -> AppResult<()> {
    let reason = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect::<String>();
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        if app.status == "revoked" {
            return Err(AppError::conflict("This app is already revoked."));
        }
        let n = apps::revoke_all_credentials(conn, &app.id, ctx.now)?;
        crate::models::products::cancel_live_subscriptions(conn, &app.id, ctx.now)?;
        app.status = "revoked".into();
        app.status_reason = reason.clone();
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        audit_app(
            conn,
            ctx,
            &app,
            "app.revoked",
            &format!(
                "{} revoked; reason: {}",
                crate::wording::count_of(n, "credential", "credentials"),
                if reason.is_empty() {
                    "none given"
                } else {
                    &reason
                }
            ),
        )?;
        Ok(())
    })
}

/// Deletes the app: credentials revoked at once, hidden everywhere, audit kept.
pub fn delete(conn: &mut DbConnection, ctx: &Ctx, app: &App) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        let n = apps::revoke_all_credentials(conn, &app.id, ctx.now)?;
        crate::models::products::cancel_live_subscriptions(conn, &app.id, ctx.now)?;
        app.status = "deleted".into();
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        audit_app(
            conn,
            ctx,
            &app,
            "app.deleted",
            &format!(
                "{}; {} revoked",
                app.name,
                crate::wording::count_of(n, "credential", "credentials")
            ),
        )?;
        Ok(())
    })
}

/// Moves the app to another owner.
pub fn transfer(conn: &mut DbConnection, ctx: &Ctx, app: &App, to: &Owner) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        require_changeable(&app)?;
        if Owner::of(&app).as_ref() == Some(to) {
            return Err(AppError::conflict("The app already belongs to that owner."));
        }
        ensure_name_free(conn, &app.org_id, to, &app.name, Some(&app.id))?;
        let from = Owner::of(&app).map_or_else(|| "nobody".to_string(), |o| o.describe());
        (app.owner_user_id, app.owner_team_id) = to.columns();
        if app.status_reason == OWNER_LEFT {
            // Suspended only because its owner left: it works again under its new
            // owner. A pending or rejected app keeps its status.
            if app.status == "suspended" {
                app.status = "active".into();
            }
            app.status_reason = String::new();
        }
        app.updated_at = ctx.now;
        apps::save(conn, &app).map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict(
                    "The new owner already has an app with this name. Rename it first.",
                )
            } else {
                e.into()
            }
        })?;
        audit_app(
            conn,
            ctx,
            &app,
            "app.transferred",
            &format!("{from} → {}", to.describe()),
        )?;
        Ok(())
    })
}

/// Suspends a departing member's personal apps, inside the caller's transaction.
pub(crate) fn suspend_personal_apps(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
) -> AppResult<usize> {
    let mut n = 0;
    for mut app in apps::personal_live(conn, org_id, user_id)? {
        // Already marked, or suspended by an admin (whose reason stays).
        if app.status_reason == OWNER_LEFT || app.status == "suspended" {
            continue;
        }
        // Active apps stop working; pending and rejected ones keep their status (a
        // transfer must never approve them) but are marked as orphaned all the same.
        let suspended = app.status == "active";
        if suspended {
            app.status = "suspended".into();
        }
        app.status_reason = OWNER_LEFT.into();
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        let action = if suspended {
            "app.suspended"
        } else {
            "app.orphaned"
        };
        audit_app(conn, ctx, &app, action, OWNER_LEFT)?;
        n += 1;
    }
    teams::remove_from_org_teams(conn, org_id, user_id)?;
    Ok(n)
}
