//! Subscriptions and the approval workflow. A subscription is `pending` →
//! `approved` / `rejected`, and `approved` (or `pending`) → `cancelled`. Whether a
//! request needs an admin follows DESIGN.md: auto-approve rules (team membership,
//! verified email domain) first, then the organisation's mode (auto / manual /
//! conditional, where each product's own mode decides). A brand-new app with any
//! pending subscription is `pending`; it leaves `pending` when nothing of it is
//! pending any more: `active` if at least one subscription was approved, else
//! `rejected`.

mod decide;
mod request;
mod rules;
mod suspension;

pub use decide::decide;
pub(crate) use request::request_in_tx;
pub use request::{SubscriptionRequest, cancel, request};
pub use rules::{add_rule, remove_rule, set_mode};
pub use suspension::set_suspended;

use crate::auth::policy::Role;
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::models::apps::App;
use crate::models::orgs;
use crate::models::products::{self, Product};
use crate::models::teams;
use crate::models::users::User;
use crate::services;

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

/// The live product named by `key` (its id or slug) that a member with `role` may see,
/// and so ask for. Hidden, archived and unknown products are all `None`: a member never
/// learns that a product hidden from them exists.
pub fn product_for(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    role: Role,
    key: &str,
) -> AppResult<Option<Product>> {
    Ok(
        services::products::visible_for(conn, org_id, user_id, role)?
            .into_iter()
            .find(|p| p.id == key || p.slug == key),
    )
}

/// May `user` see `product` (and so ask for it)? Members of the organisation see the
/// products open to all members and those of their teams; admins and owners see all.
pub fn may_see(
    conn: &mut DbConnection,
    org_id: &str,
    product: &Product,
    user: &User,
) -> AppResult<bool> {
    let Some(role) = orgs::membership(conn, org_id, &user.id)?.and_then(|m| Role::parse(&m.role))
    else {
        return Ok(false);
    };
    let product_teams = products::team_ids(conn, &product.id)?;
    let my_teams: Vec<String> = teams::for_user(conn, org_id, &user.id)?
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    Ok(services::products::visible_to(
        product,
        &product_teams,
        role,
        &my_teams,
    ))
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
        Some(t) => Ok(teams::member_ids(conn, t)?),
        None => Ok(Vec::new()),
    }
}

/// The organisation's admins and owners.
pub fn org_admins(conn: &mut DbConnection, org_id: &str) -> AppResult<Vec<String>> {
    Ok(orgs::admin_ids(conn, org_id)?)
}
