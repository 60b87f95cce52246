//! The acceptance rule applied to what the database holds: a presented API key (for
//! a gateway of one organisation, optionally a product slug and the client's
//! address) → the reason code. This is the reference path: the verify endpoints
//! answer from the in-memory index (`verify::index`) and must agree with it, rate
//! limits and quotas aside (they live only in memory).

use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::credentials::{self, SecretHasher};
use crate::db::DbConnection;
use crate::db::schema::{apps, credentials as credential_rows, products, subscriptions};
use crate::error::AppResult;
use crate::models::apps::{App, Credential, CredentialState};
use crate::verify::acceptance::{CredentialFact, Facts, Reason, SubscriptionFact, decide};

/// What a gateway of organisation `org_id` would be told about `presented` for
/// `product` (a slug), from `ip`, at `now`.
pub fn check(
    conn: &mut DbConnection,
    hasher: &SecretHasher,
    presented: &str,
    org_id: &str,
    (product, ip): (Option<&str>, Option<IpAddr>),
    now: NaiveDateTime,
) -> AppResult<Reason> {
    let mut facts = Facts::nothing_found();
    match credentials::parse(presented) {
        Err(_) => {
            facts.malformed = true;
            return Ok(decide(&facts));
        }
        // Only API keys verify: any other secret is unknown here.
        Ok(p) if p.kind != credentials::Kind::ApiKey => return Ok(decide(&facts)),
        Ok(_) => {}
    }
    let found: Option<(Credential, App)> = credential_rows::table
        .inner_join(apps::table)
        .filter(credential_rows::secret_hash.eq(hasher.hash(presented)))
        .filter(credential_rows::kind.eq(crate::verify::load::API_KEY))
        .filter(apps::org_id.eq(org_id))
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
    facts.app = crate::verify::load::app_fact(&app.status);
    let allowlist = crate::verify::allowlist::from_column(&credential.allowed_ips);
    facts.ip_forbidden = !crate::verify::allowlist::permits(&allowlist, ip);
    if let Some(slug) = product {
        let statuses: Vec<String> = subscriptions::table
            .inner_join(products::table)
            .filter(subscriptions::app_id.eq(&app.id))
            .filter(products::org_id.eq(&app.org_id))
            .filter(products::slug.eq(slug))
            .select(subscriptions::status)
            .load(conn)?;
        // The live subscription wins over older cancelled or rejected ones.
        facts.subscription = Some(
            statuses
                .iter()
                .map(|s| crate::verify::load::subscription_fact(s))
                .fold(SubscriptionFact::None, SubscriptionFact::stronger),
        );
    }
    Ok(decide(&facts))
}
