//! Audit entries as sentences a person reads: "Ana approved Payments for Billing app",
//! "Ana rotated the credential of Billing app (overlap 7 days)". The one place that
//! turns an entry's action, target and detail into words; every page that shows an
//! audit trail or recent activity (app page, My Hub, the organisation's overview) uses
//! it. Names come from one batched look-up per page (`models::names`), never one
//! query per row.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::error::AppResult;
use crate::models::audit::{self, AuditEvent};
use crate::models::names::{self, Names, Wanted};
use crate::services::apps::OWNER_LEFT;
use crate::when::When;

/// One line of an audit trail or activity list.
pub struct ActivityRow {
    pub at: NaiveDateTime,
    /// "3 hours ago", with the exact UTC time kept in the `<time>` element.
    pub when: When,
    pub sentence: String,
}

/// The newest `limit` entries of the organisation, about `targets` only when given
/// (e.g. `app:<id>`), as sentences; times relative to `now`.
pub fn recent(
    conn: &mut DbConnection,
    org_id: &str,
    targets: Option<&[String]>,
    limit: i64,
    now: NaiveDateTime,
) -> AppResult<Vec<ActivityRow>> {
    let events = match targets {
        Some([]) => Vec::new(),
        Some(targets) => audit::for_targets(conn, org_id, targets, limit)?,
        None => audit::for_org(conn, org_id, limit)?,
    };
    let names = names::resolve(conn, org_id, wanted(&events))?;
    Ok(events
        .iter()
        .map(|e| ActivityRow {
            at: e.created_at,
            when: When::at(e.created_at, now),
            sentence: sentence(e, &names),
        })
        .collect())
}

/// Every id the entries mention: actors, targets and `user:`/`team:` references in
/// details.
fn wanted(events: &[AuditEvent]) -> Wanted {
    let mut w = Wanted::default();
    for e in events {
        w.users.extend(e.actor_id.clone());
        if let Some((kind, id)) = e.target.as_deref().and_then(|t| t.split_once(':')) {
            let list = match kind {
                "user" => &mut w.users,
                "app" => &mut w.apps,
                "team" => &mut w.teams,
                "product" => &mut w.products,
                _ => continue,
            };
            list.push(id.to_string());
        }
        for (kind, id) in refs(&e.detail) {
            match kind {
                "user" => w.users.push(id.to_string()),
                _ => w.teams.push(id.to_string()),
            }
        }
        if let Some(team) = e.detail.strip_prefix("team: ") {
            w.teams.push(team.to_string());
        }
    }
    w
}

/// `user:<id>` and `team:<id>` references inside a detail.
fn refs(detail: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for kind in ["user", "team"] {
        let marker = format!("{kind}:");
        let mut rest = detail;
        while let Some(at) = rest.find(&marker) {
            let after = &rest[at + marker.len()..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(after.len());
            if len > 0 {
                out.push((kind, &after[..len]));
            }
            rest = &after[len..];
        }
    }
    out
}

/// A detail with its `user:`/`team:` references replaced by names.
fn with_names(detail: &str, names: &Names) -> String {
    let mut out = detail.to_string();
    for (kind, id) in refs(detail) {
        let name = match kind {
            "user" => names
                .users
                .get(id)
                .cloned()
                .unwrap_or_else(|| "a former member".into()),
            _ => names
                .teams
                .get(id)
                .map_or_else(|| "a deleted team".into(), |t| format!("team {t}")),
        };
        out = out.replacen(&format!("{kind}:{id}"), &name, 1);
    }
    out
}

/// " Reason: …" when there is one.
fn reason_suffix(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() || reason == "none given" {
        String::new()
    } else {
        format!(" Reason: {reason}")
    }
}

/// The entry as a sentence.
pub fn sentence(e: &AuditEvent, names: &Names) -> String {
    let actor = match &e.actor_id {
        Some(id) => names
            .users
            .get(id)
            .cloned()
            .unwrap_or_else(|| "A former member".into()),
        None => "Gatehouse".into(),
    };
    let (_, id) = e
        .target
        .as_deref()
        .and_then(|t| t.split_once(':'))
        .unwrap_or(("", ""));
    let app = names
        .apps
        .get(id)
        .cloned()
        .unwrap_or_else(|| "an app".into());
    let user = names
        .users
        .get(id)
        .cloned()
        .unwrap_or_else(|| "a former member".into());
    let team = names
        .teams
        .get(id)
        .map_or_else(|| "a deleted team".into(), |t| format!("team {t}"));
    let d = e.detail.as_str();
    let (before_reason, reason) = d.split_once("; reason: ").unwrap_or((d, ""));
    match e.action.as_str() {
        "app.created" => match d.rsplit_once(", owner ") {
            Some((_, owner)) if with_names(owner, names) != actor => {
                format!("{actor} created {app} for {}", with_names(owner, names))
            }
            _ => format!("{actor} created {app}"),
        },
        "app.updated" => format!("{actor} edited the details of {app}"),
        "app.revoked" => format!(
            "{actor} revoked {app} ({before_reason}).{}",
            reason_suffix(reason)
        ),
        "app.deleted" => match d.rsplit_once("; ") {
            Some((_, revoked)) => format!("{actor} deleted {app} ({revoked})"),
            None => format!("{actor} deleted {app}"),
        },
        "app.transferred" => match with_names(d, names).split_once(" → ") {
            Some((from, to)) => format!("{actor} moved {app} from {from} to {to}"),
            None => format!("{actor} moved {app} to another owner"),
        },
        "app.suspended" if d == OWNER_LEFT => {
            format!("{app} was suspended because its owner left the organisation")
        }
        "app.suspended" => format!("{actor} suspended {app}.{}", reason_suffix(d)),
        "app.orphaned" => format!("{app} lost its owner, who left the organisation"),
        "app.resumed" => format!("{actor} resumed {app}"),
        "app.approved" => format!("{app} is approved and active"),
        "app.rejected" => format!("{app} was rejected.{}", reason_suffix(d)),
        "subscription.requested" => format!("{actor} asked for {d} for {app}"),
        "subscription.approved" => match d.strip_suffix(" (approved automatically)") {
            Some(product) => format!("{product} was approved automatically for {app}"),
            None => format!("{actor} approved {before_reason} for {app}"),
        },
        "subscription.rejected" => format!(
            "{actor} rejected {before_reason} for {app}.{}",
            reason_suffix(reason)
        ),
        "subscription.cancelled" => format!("{actor} unsubscribed {app} from {d}"),
        "credential.rotated" => format!("{actor} rotated the credential of {app} ({d})"),
        "credential.reset" => {
            format!("{actor} reset the credential of {app}; every old credential stopped at once")
        }
        "credential.retired" => {
            let shown = d
                .split_once(" (")
                .and_then(|(_, s)| s.strip_suffix(')'))
                .unwrap_or("a credential");
            format!("{actor} retired credential {shown} of {app}")
        }
        "credential.key_added" => format!("{actor} added public key {d} to {app}"),
        "credential.allowlist_changed" => allowlist_sentence(&actor, &app, d),
        "product.created" => {
            let name = names
                .products
                .get(id)
                .cloned()
                .unwrap_or_else(|| d.rsplit_once(" (").map_or(d, |(n, _)| n).to_string());
            let manual = d.ends_with(", manual)");
            format!(
                "{actor} published {name} ({} approval)",
                if manual { "manual" } else { "automatic" }
            )
        }
        "product.updated" => format!("{actor} updated {d}"),
        "product.archived" => format!("{actor} archived {d}"),
        "product.restored" => format!("{actor} restored {d}"),
        "product.api_reference_set" => match d.split_once(": ") {
            Some((product, document)) => {
                format!("{actor} set the API reference of {product} to {document}")
            }
            None => format!("{actor} set the API reference of {d}"),
        },
        "product.api_reference_removed" => format!("{actor} removed the API reference of {d}"),
        "team.created" => format!("{actor} created team {d}"),
        "team.member_added" => match d.rsplit_once(" as ") {
            Some((email, role)) => format!("{actor} added {email} to {team} as {role}"),
            None => format!("{actor} added {d} to {team}"),
        },
        "team.role_changed" => match with_names(d, names).split_once(" → ") {
            Some((who, role)) => format!("{actor} made {who} {role} of {team}"),
            None => format!("{actor} changed a role in {team}"),
        },
        "team.member_removed" => {
            format!("{actor} removed {} from {team}", with_names(d, names))
        }
        "team.left" => format!("{actor} left {team}"),
        "member.joined" => format!("{user} joined the organisation"),
        "member.left" => format!("{user} left the organisation"),
        "member.removed" => format!("{actor} removed {user} from the organisation"),
        "member.role_changed" => match d.split_once(" → ") {
            Some((from, to)) => format!("{actor} changed {user}'s role from {from} to {to}"),
            None => format!("{actor} changed {user}'s role"),
        },
        "invitation.created" => format!("{actor} invited {d}"),
        "invitation.revoked" => format!("{actor} withdrew the invitation to {d}"),
        "invitation.resent" => format!("{actor} sent a new invitation link to {d}"),
        "org.created" => format!("{actor} created the organisation"),
        "org.renamed" => format!("{actor} renamed the organisation to {d}"),
        "approvals.mode_changed" => {
            let mode = match d {
                "auto" => "approve everything automatically",
                "manual" => "approve everything by hand",
                _ => "let each product decide",
            };
            format!("{actor} set approvals to {mode}")
        }
        "approvals.rule_added" => {
            if let Some(team_id) = d.strip_prefix("team: ") {
                let team = names
                    .teams
                    .get(team_id)
                    .map_or_else(|| "a deleted team".into(), |t| format!("team {t}"));
                format!("{actor} approved members of {team} automatically")
            } else {
                let domain = d.split_once(": ").map_or(d, |(_, v)| v);
                format!("{actor} approved users with a verified email at {domain} automatically")
            }
        }
        "approvals.rule_removed" => format!("{actor} removed an auto-approve rule"),
        "gateway_token.created" => {
            let (token, product) = d.split_once("; default product: ").unwrap_or((d, ""));
            let name = token.rsplit_once(" (").map_or(token, |(n, _)| n);
            if product.is_empty() {
                format!("{actor} created gateway token {name}")
            } else {
                format!("{actor} created gateway token {name} (default product {product})")
            }
        }
        "gateway_token.revoked" => {
            let name = d.rsplit_once(" (").map_or(d, |(n, _)| n);
            format!("{actor} revoked gateway token {name}; gateways sending it are refused")
        }
        action if action.starts_with("token.") && action.ends_with(".created") => {
            let name = d.rsplit_once(" (").map_or(d, |(n, _)| n);
            format!("{actor} created API token {name}")
        }
        action if action.starts_with("token.") && action.ends_with(".revoked") => {
            format!("{actor} revoked API token {d}")
        }
        other => {
            let what = other.replace(['.', '_'], " ");
            let detail = with_names(d, names);
            if detail.is_empty() {
                format!("{actor}: {what}")
            } else {
                format!("{actor}: {what} ({detail})")
            }
        }
    }
}

/// "Ana restricted key gate_key_…ab12 of Billing app to 10.0.0.0/8, 2001:db8::/32", or
/// "Ana removed the IP restriction of key …": from the detail
/// `credential:<id> (<shown>) → <stored list>`. Long lists name their first few.
fn allowlist_sentence(actor: &str, app: &str, detail: &str) -> String {
    const NAMED: usize = 5;
    let (key, list) = detail.split_once(" → ").unwrap_or((detail, ""));
    let shown = key
        .split_once(" (")
        .and_then(|(_, s)| s.strip_suffix(')'))
        .unwrap_or("a key");
    let nets = crate::verify::allowlist::from_column(list);
    if nets.is_empty() {
        return format!("{actor} removed the IP restriction of key {shown} of {app}");
    }
    let mut ranges = crate::verify::allowlist::describe(&nets[..nets.len().min(NAMED)]);
    if nets.len() > NAMED {
        ranges.push_str(&format!(
            " and {}",
            crate::wording::count_of(nets.len() - NAMED, "more range", "more ranges")
        ));
    }
    format!("{actor} restricted key {shown} of {app} to {ranges}")
}

/// An entry about one's own account (the account page's security activity), as a
/// sentence about "you".
pub fn account_sentence(e: &AuditEvent) -> String {
    let d = e.detail.as_str();
    let with = |what: &str| {
        if d.is_empty() {
            what.to_string()
        } else {
            format!("{what} ({d})")
        }
    };
    match e.action.as_str() {
        "user.created" if d == "instance owner" => "Account created as the instance owner".into(),
        "user.created" => "Account created".into(),
        "user.signed_in" => "Signed in".into(),
        "user.sign_in_failed" => "Failed sign-in: wrong password".into(),
        "user.signed_out" => "Signed out".into(),
        "user.sessions_ended" => {
            let n = d.parse::<i64>().unwrap_or(1);
            format!(
                "Signed out {} from the account page",
                crate::wording::count(n, "other session", "other sessions")
            )
        }
        "user.password_changed" => with("Password changed"),
        "user.password_reset" => with("Password reset"),
        "user.password_reset_requested" => "Password reset link requested".into(),
        "user.email_changed" => with("Email address changed"),
        "user.email_verified" => with("Email address verified"),
        "user.profile_updated" => "Name changed".into(),
        "user.notification_preferences_changed" => "Notification settings changed".into(),
        other => with(&other.trim_start_matches("user.").replace(['.', '_'], " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: Option<&str>, action: &str, target: &str, detail: &str) -> AuditEvent {
        AuditEvent {
            id: "e".into(),
            org_id: Some("o".into()),
            actor_id: actor.map(str::to_string),
            action: action.into(),
            target: Some(target.into()),
            detail: detail.into(),
            ip: None,
            created_at: NaiveDateTime::default(),
        }
    }

    fn names() -> Names {
        let mut n = Names::default();
        n.users.insert("u1".into(), "Ana".into());
        n.users.insert("u2".into(), "Bo".into());
        n.apps.insert("a1".into(), "Billing app".into());
        n.teams.insert("t1".into(), "Platform".into());
        n
    }

    #[test]
    fn app_entries_name_the_actor_the_app_and_the_product() {
        let n = names();
        let say = |actor, action, detail| sentence(&event(actor, action, "app:a1", detail), &n);
        assert_eq!(
            say(Some("u1"), "subscription.approved", "Payments"),
            "Ana approved Payments for Billing app"
        );
        assert_eq!(
            say(
                Some("u2"),
                "subscription.approved",
                "Payments (approved automatically)"
            ),
            "Payments was approved automatically for Billing app"
        );
        assert_eq!(
            say(Some("u1"), "app.approved", ""),
            "Billing app is approved and active"
        );
        assert_eq!(
            say(Some("u2"), "credential.rotated", "overlap 7 days"),
            "Bo rotated the credential of Billing app (overlap 7 days)"
        );
        assert_eq!(
            say(
                Some("u1"),
                "app.created",
                "Billing app (api_key), owner team:t1"
            ),
            "Ana created Billing app for team Platform"
        );
        assert_eq!(
            say(
                Some("u1"),
                "app.created",
                "Billing app (api_key), owner user:u1"
            ),
            "Ana created Billing app"
        );
        assert_eq!(
            say(
                Some("u1"),
                "app.revoked",
                "1 credential revoked; reason: leaked"
            ),
            "Ana revoked Billing app (1 credential revoked). Reason: leaked"
        );
        assert_eq!(
            say(Some("u1"), "app.transferred", "user:u2 → team:t1"),
            "Ana moved Billing app from Bo to team Platform"
        );
        assert_eq!(
            say(None, "app.suspended", OWNER_LEFT),
            "Billing app was suspended because its owner left the organisation"
        );
    }

    #[test]
    fn gateway_token_entries_name_the_token_and_its_default_product() {
        let n = names();
        let say =
            |action, detail| sentence(&event(Some("u1"), action, "gateway_token:g1", detail), &n);
        assert_eq!(
            say(
                "gateway_token.created",
                "edge (eu) (gate_gw_…abcd); default product: Payments"
            ),
            "Ana created gateway token edge (eu) (default product Payments)"
        );
        assert_eq!(
            say("gateway_token.created", "edge (gate_gw_…abcd)"),
            "Ana created gateway token edge"
        );
        assert_eq!(
            say("gateway_token.revoked", "edge (gate_gw_…abcd)"),
            "Ana revoked gateway token edge; gateways sending it are refused"
        );
    }

    #[test]
    fn allowlist_changes_name_the_key_and_the_ranges() {
        let n = names();
        let say = |detail| {
            sentence(
                &event(Some("u1"), "credential.allowlist_changed", "app:a1", detail),
                &n,
            )
        };
        assert_eq!(
            say("credential:c1 (gate_key_…ab12) → 10.0.0.0/8 203.0.113.7/32 2001:db8::/32"),
            "Ana restricted key gate_key_…ab12 of Billing app to 10.0.0.0/8, 203.0.113.7, 2001:db8::/32"
        );
        assert_eq!(
            say("credential:c1 (gate_key_…ab12) → "),
            "Ana removed the IP restriction of key gate_key_…ab12 of Billing app"
        );
        let many: Vec<String> = (0..8).map(|i| format!("10.0.{i}.0/24")).collect();
        assert_eq!(
            say(&format!(
                "credential:c1 (gate_key_…ab12) → {}",
                many.join(" ")
            )),
            "Ana restricted key gate_key_…ab12 of Billing app to 10.0.0.0/24, 10.0.1.0/24, \
             10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24 and 3 more ranges"
        );
    }

    #[test]
    fn unknown_ids_and_actions_still_read_as_words() {
        let n = names();
        assert_eq!(
            sentence(&event(Some("gone"), "app.updated", "app:zz", ""), &n),
            "A former member edited the details of an app"
        );
        assert_eq!(
            sentence(&event(Some("u1"), "thing.done_now", "x:1", "user:u2"), &n),
            "Ana: thing done now (Bo)"
        );
    }
}
