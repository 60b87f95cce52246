//! Writing audit entries, always inside the transaction of the change they describe.
//!
//! The audit entry is also where the change feed (`models::changes`) is fed: every
//! write that can change a key verification's answer records an audit entry in its
//! own transaction, so deriving the change from it here means no such write can
//! forget its change. [`change_for`] says which actions emit which change.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::DbConnection;
use crate::models::audit::{self, AuditEvent};
use crate::models::changes::{self, Kind, NewChange};
use crate::models::new_id;
use crate::services::Ctx;

/// Records `action` on `target` (e.g. `user:<id>`), with a short human detail, and
/// the feed change the action implies, if any.
pub fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org_id: Option<&str>,
    action: &str,
    target: Option<&str>,
    detail: &str,
) -> QueryResult<()> {
    audit::insert(
        conn,
        &AuditEvent {
            id: new_id(),
            org_id: org_id.map(str::to_string),
            actor_id: ctx.actor_id.clone(),
            action: action.to_string(),
            target: target.map(str::to_string),
            detail: detail.to_string(),
            ip: ctx.ip.clone(),
            created_at: ctx.now,
        },
    )?;
    if let Some(change) = change_for(org_id, action, target, ctx.now) {
        changes::record(conn, &change)?;
    }
    Ok(())
}

/// The feed change an audited action implies. Every action on apps, credentials,
/// subscriptions and products (a new kind of action there is covered without
/// thought; one too many only costs a reader a reload), a member leaving or being
/// removed, and an organisation's deletion. Not: audit of accounts, teams, approval
/// rules, invitations, tokens, members joining or changing role — none of them
/// changes whether a key verifies.
pub fn change_for(
    org_id: Option<&str>,
    action: &str,
    target: Option<&str>,
    now: NaiveDateTime,
) -> Option<NewChange> {
    let (family, verb) = action.split_once('.')?;
    let kind = match (family, verb) {
        ("app", _) => Kind::App,
        ("credential", _) => Kind::Credential,
        ("subscription", _) => Kind::Subscription,
        ("product", _) => Kind::Product,
        ("member", "removed" | "left") => Kind::Membership,
        ("org", "deleted") => Kind::Organisation,
        ("gateway_token", _) => Kind::Gateway,
        _ => return None,
    };
    let mut change = NewChange::of(kind, now);
    change.org_id = org_id.map(str::to_string);
    match target.and_then(|t| t.split_once(':')) {
        Some(("app", id)) => change.app_id = Some(id.to_string()),
        Some(("product", id)) => change.product_id = Some(id.to_string()),
        Some(("user", id)) => change.user_id = Some(id.to_string()),
        _ => {}
    }
    Some(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(action: &str, target: &str) -> Option<(String, NewChange)> {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        change_for(Some("o1"), action, Some(target), now).map(|c| (c.kind.clone(), c))
    }

    #[test]
    fn actions_map_to_changes() {
        let (kind, c) = kind_of("credential.rotated", "app:a1").unwrap();
        assert_eq!(
            (kind.as_str(), c.app_id.as_deref()),
            ("credential", Some("a1"))
        );
        let (kind, c) = kind_of("product.archived", "product:p1").unwrap();
        assert_eq!(
            (kind.as_str(), c.product_id.as_deref()),
            ("product", Some("p1"))
        );
        let (kind, c) = kind_of("member.removed", "user:u1").unwrap();
        assert_eq!(
            (kind.as_str(), c.user_id.as_deref()),
            ("membership", Some("u1"))
        );
        let (kind, c) = kind_of("org.deleted", "org:o1").unwrap();
        assert_eq!(
            (kind.as_str(), c.org_id.as_deref()),
            ("organisation", Some("o1"))
        );
        for quiet in [
            ("member.joined", "user:u1"),
            ("member.role_changed", "user:u1"),
            ("org.renamed", "org:o1"),
            ("team.member_removed", "user:u1"),
            ("approvals.rule_added", ""),
            ("account.signed_in", "user:u1"),
        ] {
            assert!(kind_of(quiet.0, quiet.1).is_none(), "{quiet:?}");
        }
    }
}
