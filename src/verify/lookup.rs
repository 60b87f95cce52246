//! The acceptance rule applied to what the database holds: a presented API key or
//! client secret (and optionally a product slug) → the reason code. This is the
//! reference path — step 5's verify endpoint answers from an in-memory index and must
//! agree with it; tests use it to check what a gateway would be told.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::credentials::{self, SecretHasher};
use crate::db::DbConnection;
use crate::db::schema::{apps, credentials as credential_rows, products, subscriptions};
use crate::error::AppResult;
use crate::models::apps::{App, Credential, CredentialState};
use crate::verify::acceptance::{AppFact, CredentialFact, Facts, Reason, SubscriptionFact, decide};

/// What a gateway would be told about `presented` for `product` (a slug) at `now`.
pub fn check(
    conn: &mut DbConnection,
    hasher: &SecretHasher,
    presented: &str,
    product: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<Reason> {
    let mut facts = Facts {
        malformed: false,
        credential: None,
        app: AppFact::Deleted,
        subscription: None,
        ip_forbidden: false,
        rate_limited: false,
        quota_exceeded: false,
    };
    if credentials::parse(presented).is_err() {
        facts.malformed = true;
        return Ok(decide(&facts));
    }
    let found: Option<(Credential, App)> = credential_rows::table
        .inner_join(apps::table)
        .filter(credential_rows::secret_hash.eq(hasher.hash(presented)))
        .select((Credential::as_select(), App::as_select()))
        .first(conn)
        .optional()?;
    let Some((credential, app)) = found else {
        return Ok(decide(&facts));
    };
    facts.credential = Some(match credential.state(now) {
        CredentialState::Active => CredentialFact::Active,
        CredentialState::Expiring => CredentialFact::Expiring,
        CredentialState::Expired => CredentialFact::Expired,
        CredentialState::Revoked => CredentialFact::Revoked,
    });
    facts.app = match app.status.as_str() {
        "pending" => AppFact::Pending,
        "active" => AppFact::Active,
        "rejected" => AppFact::Rejected,
        "suspended" => AppFact::Suspended,
        "revoked" => AppFact::Revoked,
        _ => AppFact::Deleted,
    };
    if let Some(slug) = product {
        let statuses: Vec<String> = subscriptions::table
            .inner_join(products::table)
            .filter(subscriptions::app_id.eq(&app.id))
            .filter(products::org_id.eq(&app.org_id))
            .filter(products::slug.eq(slug))
            .select(subscriptions::status)
            .load(conn)?;
        // The live subscription wins over older cancelled or rejected ones.
        let has = |s: &str| statuses.iter().any(|x| x == s);
        facts.subscription = Some(if has("approved") {
            SubscriptionFact::Approved
        } else if has("pending") {
            SubscriptionFact::Pending
        } else if has("rejected") {
            SubscriptionFact::Rejected
        } else if has("cancelled") {
            SubscriptionFact::Cancelled
        } else {
            SubscriptionFact::None
        });
    }
    Ok(decide(&facts))
}
