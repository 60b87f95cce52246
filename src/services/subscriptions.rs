//! Subscriptions and the approval workflow. A subscription is `pending` →
//! `approved` / `rejected`, and `approved` (or `pending`) → `cancelled`. Whether a
//! request needs an admin follows DESIGN.md: auto-approve rules (team membership,
//! verified email domain) first, then the organisation's mode (auto / manual /
//! conditional, where each product's own mode decides). A brand-new app with any
//! pending subscription is `pending`; it leaves `pending` when nothing of it is
//! pending any more: `active` if at least one subscription was approved, else
//! `rejected`.

use diesel::prelude::*;

use crate::db::schema::{memberships, team_members};
use crate::db::{DbConnection, is_unique_violation, lock_app, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::apps::{self, App};
use crate::models::new_id;
use crate::models::orgs::Organisation;
use crate::models::products::{self, Product, Subscription};
use crate::models::teams;
use crate::models::users::User;
use crate::services::notifications::{self, Kind, Message};
use crate::services::{Ctx, audit};

/// The organisation-wide approval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Manual,
    Conditional,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Manual => "manual",
            Self::Conditional => "conditional",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "manual" => Some(Self::Manual),
            "conditional" => Some(Self::Conditional),
            _ => None,
        }
    }
}

pub fn mode(conn: &mut DbConnection, org_id: &str) -> AppResult<Mode> {
    Ok(products::approval_mode(conn, org_id)?
        .as_deref()
        .and_then(Mode::parse)
        .unwrap_or(Mode::Conditional))
}

/// Does `requester`'s request for `product` wait for an admin?
pub fn needs_approval(
    conn: &mut DbConnection,
    org_id: &str,
    product: &Product,
    requester: &User,
) -> AppResult<bool> {
    for (_, kind, value) in products::rules(conn, org_id)? {
        let matches = match kind.as_str() {
            "team" => teams::member(conn, &value, &requester.id)?.is_some(),
            "email_domain" => {
                requester.email_verified_at.is_some()
                    && requester
                        .email
                        .rsplit_once('@')
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&value))
            }
            _ => false,
        };
        if matches {
            return Ok(false);
        }
    }
    Ok(match mode(conn, org_id)? {
        Mode::Auto => false,
        Mode::Manual => true,
        Mode::Conditional => product.approval_mode == "manual",
    })
}

/// For each product, whether `user`'s requests would wait for an admin (what the
/// catalogue and the new-app form tell the developer).
pub fn approval_flags(
    conn: &mut DbConnection,
    org_id: &str,
    products: &[Product],
    user: &User,
) -> AppResult<Vec<bool>> {
    products
        .iter()
        .map(|p| needs_approval(conn, org_id, p, user))
        .collect()
}

/// The people to tell about an app: its owner, or every member of its team.
pub fn app_people(conn: &mut DbConnection, app: &App) -> AppResult<Vec<String>> {
    if let Some(u) = &app.owner_user_id {
        return Ok(vec![u.clone()]);
    }
    match &app.owner_team_id {
        Some(t) => Ok(team_members::table
            .filter(team_members::team_id.eq(t))
            .select(team_members::user_id)
            .load(conn)?),
        None => Ok(Vec::new()),
    }
}

/// The organisation's admins and owners.
pub fn org_admins(conn: &mut DbConnection, org_id: &str) -> AppResult<Vec<String>> {
    Ok(memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq_any(["admin", "owner"]))
        .select(memberships::user_id)
        .load(conn)?)
}

/// Requests a subscription inside the caller's transaction; returns it (approved at
/// once, or pending with the admins told).
#[allow(clippy::too_many_arguments)]
pub(crate) fn request_in_tx(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app: &App,
    product: &Product,
    requester: &User,
    note: &str,
    public_base: &str,
) -> AppResult<Subscription> {
    if product.archived_at.is_some() {
        return Err(AppError::conflict(format!(
            "{} is archived and takes no new subscriptions.",
            product.name
        )));
    }
    match app.status.as_str() {
        "revoked" | "deleted" => {
            return Err(AppError::conflict(
                "This app is revoked: it cannot subscribe.",
            ));
        }
        "rejected" => {
            return Err(AppError::conflict(
                "This app was rejected. Create a new app to ask again.",
            ));
        }
        _ => {}
    }
    let note: String = note
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(1000)
        .collect();
    let already = || {
        AppError::conflict(format!(
            "This app already has a subscription to {} (pending or approved).",
            product.name
        ))
    };
    if products::subscriptions_of(conn, &app.id)?
        .iter()
        .any(|(s, _)| {
            s.product_id == product.id && matches!(s.status.as_str(), "pending" | "approved")
        })
    {
        return Err(already());
    }
    let pending = needs_approval(conn, &org.id, product, requester)?;
    let sub = Subscription {
        id: new_id(),
        app_id: app.id.clone(),
        product_id: product.id.clone(),
        status: if pending { "pending" } else { "approved" }.into(),
        note,
        reason: String::new(),
        requested_by: requester.id.clone(),
        decided_by: None,
        decided_at: (!pending).then_some(ctx.now),
        created_at: ctx.now,
        updated_at: ctx.now,
        org_id: product.org_id.clone(),
    };
    products::insert_subscription(conn, &sub).map_err(|e| {
        if is_unique_violation(&e) {
            already()
        } else {
            e.into()
        }
    })?;
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        if pending {
            "subscription.requested"
        } else {
            "subscription.approved"
        },
        Some(&format!("app:{}", app.id)),
        &format!(
            "{}{}",
            product.name,
            if pending {
                ""
            } else {
                " (approved automatically)"
            }
        ),
    )?;
    if !pending {
        crate::services::apps::apply_lifetime_cap(conn, ctx, &app.id)?;
    }
    if pending {
        let admins = org_admins(conn, &org.id)?;
        let message = Message {
            kind: Kind::ApprovalRequested,
            org_id: Some(org.id.clone()),
            title: format!("{} asks for {}", app.name, product.name),
            body: format!(
                "The app {} waits for your approval to use {}.",
                app.name, product.name
            ),
            link: format!("/o/{}/admin/approvals", org.slug),
        };
        notifications::notify(conn, ctx, &admins, &message, public_base)?;
    }
    Ok(sub)
}

/// Requests a subscription for an existing app.
#[allow(clippy::too_many_arguments)]
pub fn request(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app: &App,
    product: &Product,
    requester: &User,
    note: &str,
    public_base: &str,
) -> AppResult<Subscription> {
    write_transaction(conn, |conn| {
        lock_app(conn, &app.id)?;
        let app = apps::find_in_org(conn, &org.id, &app.id)?.ok_or(AppError::NotFound)?;
        // The product as it is now (it may have been archived or changed meanwhile).
        let product = products::find(conn, &org.id, &product.id)?.ok_or(AppError::NotFound)?;
        request_in_tx(conn, ctx, org, &app, &product, requester, note, public_base)
    })
}

/// Cancels a pending or approved subscription of an app.
pub fn cancel(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app: &App,
    subscription_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        lock_app(conn, &app.id)?;
        let (mut sub, product) = products::subscriptions_of(conn, &app.id)?
            .into_iter()
            .find(|(s, _)| s.id == subscription_id)
            .ok_or(AppError::NotFound)?;
        if !matches!(sub.status.as_str(), "pending" | "approved") {
            return Err(AppError::conflict(format!(
                "This subscription is {} and cannot be cancelled.",
                sub.status
            )));
        }
        let app_now = apps::find_in_org(conn, &org.id, &app.id)?.ok_or(AppError::NotFound)?;
        if app_now.status == "pending" {
            let others_live = products::subscriptions_of(conn, &app.id)?
                .iter()
                .any(|(s, _)| {
                    s.id != sub.id && matches!(s.status.as_str(), "pending" | "approved")
                });
            if !others_live {
                return Err(AppError::conflict(
                    "This is the only request of a pending app. Delete the app instead if you no longer need it.",
                ));
            }
        }
        sub.status = "cancelled".into();
        sub.updated_at = ctx.now;
        products::save_subscription(conn, &sub)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "subscription.cancelled",
            Some(&format!("app:{}", app.id)),
            &product.name,
        )?;
        settle_pending_app(conn, ctx, org, &app.id, "")?;
        Ok(())
    })
}

/// A pending app with nothing pending left becomes active (something approved) or
/// rejected (nothing approved).
fn settle_pending_app(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app_id: &str,
    reason: &str,
) -> AppResult<Option<String>> {
    let Some(mut app) = apps::find_in_org(conn, &org.id, app_id)? else {
        return Ok(None);
    };
    if app.status != "pending" {
        return Ok(None);
    }
    let subs = products::subscriptions_of(conn, app_id)?;
    if subs.iter().any(|(s, _)| s.status == "pending") {
        return Ok(None);
    }
    let approved = subs.iter().any(|(s, _)| s.status == "approved");
    app.status = if approved { "active" } else { "rejected" }.into();
    app.status_reason = if approved {
        String::new()
    } else {
        reason.to_string()
    };
    app.updated_at = ctx.now;
    apps::save(conn, &app)?;
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        if approved {
            "app.approved"
        } else {
            "app.rejected"
        },
        Some(&format!("app:{}", app.id)),
        reason,
    )?;
    Ok(Some(app.status))
}

/// Approves or rejects pending subscriptions (one or many, all or nothing). A
/// rejection needs a reason. Returns how many were decided.
pub fn decide(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    ids: &[String],
    approve: bool,
    reason: &str,
    public_base: &str,
) -> AppResult<usize> {
    let reason: String = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    if !approve && reason.is_empty() {
        return Err(AppError::bad_request(
            "Give a reason for the rejection: the developer sees it.",
        ));
    }
    if ids.is_empty() {
        return Err(AppError::bad_request("Select at least one request."));
    }
    if ids.len() > 500 {
        return Err(AppError::bad_request(
            "Decide at most 500 requests at once.",
        ));
    }
    write_transaction(conn, |conn| {
        // Lock the apps first, in one fixed order (no deadlock between two bulk
        // decisions), then read the requests as they are now.
        let mut app_ids: Vec<String> = products::subscriptions_by_ids(conn, &org.id, ids)?
            .into_iter()
            .map(|(_, _, app)| app.id)
            .collect();
        app_ids.sort();
        app_ids.dedup();
        for app_id in &app_ids {
            lock_app(conn, app_id)?;
        }
        let found = products::subscriptions_by_ids(conn, &org.id, ids)?;
        if found.len() != ids.iter().collect::<std::collections::HashSet<_>>().len() {
            return Err(AppError::NotFound);
        }
        for (sub, _, app) in &found {
            if sub.status != "pending" {
                return Err(AppError::conflict(format!(
                    "The request of {} is not pending any more (it is {}). Nothing was changed.",
                    app.name, sub.status
                )));
            }
            if matches!(app.status.as_str(), "revoked" | "deleted") {
                return Err(AppError::conflict(format!(
                    "{} is revoked or deleted. Nothing was changed.",
                    app.name
                )));
            }
        }
        for (mut sub, product, app) in found {
            sub.status = if approve { "approved" } else { "rejected" }.into();
            sub.reason = reason.clone();
            sub.decided_by = ctx.actor_id.clone();
            sub.decided_at = Some(ctx.now);
            sub.updated_at = ctx.now;
            products::save_subscription(conn, &sub)?;
            audit::record(
                conn,
                ctx,
                Some(&org.id),
                if approve {
                    "subscription.approved"
                } else {
                    "subscription.rejected"
                },
                Some(&format!("app:{}", app.id)),
                &format!(
                    "{}{}",
                    product.name,
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!("; reason: {reason}")
                    }
                ),
            )?;
            settle_pending_app(conn, ctx, org, &app.id, &reason)?;
            if approve {
                crate::services::apps::apply_lifetime_cap(conn, ctx, &app.id)?;
            }
            let people = app_people(conn, &app)?;
            let message = Message {
                kind: if approve {
                    Kind::Approved
                } else {
                    Kind::Rejected
                },
                org_id: Some(org.id.clone()),
                title: format!(
                    "{} {} for {}",
                    app.name,
                    if approve {
                        "is approved"
                    } else {
                        "was rejected"
                    },
                    product.name
                ),
                body: if approve {
                    format!("Your app {} may now use {}.", app.name, product.name)
                } else {
                    format!(
                        "Your app {} may not use {}. Reason: {reason}",
                        app.name, product.name
                    )
                },
                link: format!("/o/{}/apps/{}", org.slug, app.id),
            };
            notifications::notify(conn, ctx, &people, &message, public_base)?;
        }
        Ok(ids.len())
    })
}

/// Suspends an active app (its credentials are refused with SUSPENDED) or resumes it.
pub fn set_suspended(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    app: &App,
    suspend: bool,
    reason: &str,
    public_base: &str,
) -> AppResult<()> {
    let reason: String = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    if suspend && reason.is_empty() {
        return Err(AppError::bad_request(
            "Give a reason for the suspension: the owner sees it.",
        ));
    }
    write_transaction(conn, |conn| {
        lock_app(conn, &app.id)?;
        let mut app = apps::find_in_org(conn, &org.id, &app.id)?.ok_or(AppError::NotFound)?;
        if !suspend && app.status_reason == crate::services::apps::OWNER_LEFT {
            return Err(AppError::conflict(
                "This app was suspended because its owner left. Transfer it to a team or a member to make it work again.",
            ));
        }
        match (suspend, app.status.as_str()) {
            (true, "active") | (false, "suspended") => {}
            (true, s) => {
                return Err(AppError::conflict(format!(
                    "Only active apps can be suspended; this one is {s}."
                )));
            }
            (false, s) => {
                return Err(AppError::conflict(format!(
                    "Only suspended apps can be resumed; this one is {s}."
                )));
            }
        }
        app.status = if suspend { "suspended" } else { "active" }.into();
        app.status_reason = if suspend {
            reason.clone()
        } else {
            String::new()
        };
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            if suspend {
                "app.suspended"
            } else {
                "app.resumed"
            },
            Some(&format!("app:{}", app.id)),
            &reason,
        )?;
        let people = app_people(conn, &app)?;
        let message = Message {
            kind: if suspend {
                Kind::Suspended
            } else {
                Kind::Resumed
            },
            org_id: Some(org.id.clone()),
            title: format!(
                "{} is {}",
                app.name,
                if suspend { "suspended" } else { "active again" }
            ),
            body: if suspend {
                format!(
                    "An admin suspended your app {}: its credentials are refused until it is resumed. Reason: {reason}",
                    app.name
                )
            } else {
                format!("Your app {} is active again.", app.name)
            },
            link: format!("/o/{}/apps/{}", org.slug, app.id),
        };
        notifications::notify(conn, ctx, &people, &message, public_base)?;
        Ok(())
    })
}

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
