//! Reads what the verify index holds from the database: everything at start (in
//! keyset batches, so a million keys never sit in memory twice), and the parts a
//! change names afterwards.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    apps, credentials, gateway_tokens, products, revoked_access_tokens, static_tokens,
    subscriptions,
};
use crate::verify::acceptance::{AppFact, SubscriptionFact};
use crate::verify::index::{
    AppEntry, CredKind, GatewayEntry, Index, KeyEntry, Owner, Period, ProductEntry, micros,
    stored_key, uuid_bytes,
};

/// Rows per batch of the start-up load.
const BATCH: i64 = 20_000;

/// The key kind that verifies (client secrets and public keys obtain access tokens).
pub const API_KEY: &str = "api_key";

type AppRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
type KeyRow = (
    String,
    String,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    String,
    String,
);
type ProductRow = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
);

/// An app row's status as the rule sees it.
pub fn app_fact(status: &str) -> AppFact {
    match status {
        "pending" => AppFact::Pending,
        "active" => AppFact::Active,
        "rejected" => AppFact::Rejected,
        "suspended" => AppFact::Suspended,
        "revoked" => AppFact::Revoked,
        _ => AppFact::Deleted,
    }
}

/// A subscription row's state; the live one wins over older ones.
pub fn subscription_fact(status: &str) -> SubscriptionFact {
    match status {
        "approved" => SubscriptionFact::Approved,
        "pending" => SubscriptionFact::Pending,
        "rejected" => SubscriptionFact::Rejected,
        "cancelled" => SubscriptionFact::Cancelled,
        _ => SubscriptionFact::None,
    }
}

fn app_entry(row: AppRow) -> Option<AppEntry> {
    let (id, org_id, name, status, user, team, client_id) = row;
    let Some(id_bytes) = uuid_bytes(&id) else {
        tracing::warn!(app = %id, "verify index: app id is not a UUID; its keys will not verify");
        return None;
    };
    let owner = match (
        user.as_deref().and_then(uuid_bytes),
        team.as_deref().and_then(uuid_bytes),
    ) {
        (Some(u), _) => Owner::User(u),
        (None, Some(t)) => Owner::Team(t),
        _ => Owner::Nobody,
    };
    Some(AppEntry {
        id: id_bytes,
        org_id,
        name,
        status: app_fact(&status),
        owner,
        subscriptions: Vec::new(),
        keys: Vec::new(),
        client_id,
        revoked_tokens: Vec::new(),
    })
}

fn key_entry(row: &KeyRow) -> Option<KeyEntry> {
    let (id, _, hash, expires, revoked, allowed, kind) = row;
    let kind = CredKind::parse(kind)?;
    let digest = match kind {
        CredKind::PublicKey => None,
        _ => Some(stored_key(hash.as_deref()?)?),
    };
    Some(KeyEntry {
        digest,
        id: uuid_bytes(id)?,
        kind,
        expires: expires.map(micros),
        revoked: revoked.is_some(),
        allowlist: crate::verify::allowlist::from_column(allowed),
        tokens: Vec::new(),
    })
}

fn product_entry(row: ProductRow) -> ProductEntry {
    let (id, org_id, slug, rate, quota, period, max_lifetime, scopes) = row;
    ProductEntry {
        id,
        org_id,
        slug,
        rate_per_second: rate.and_then(|r| u32::try_from(r).ok()).filter(|r| *r > 0),
        quota: match (quota, period.as_deref().and_then(Period::parse)) {
            (Some(q), Some(p)) if q >= 0 => Some((q as u64, p)),
            _ => None,
        },
        max_lifetime: max_lifetime.and_then(|s| u64::try_from(s).ok()),
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
    }
}

macro_rules! app_columns {
    () => {
        (
            apps::id,
            apps::org_id,
            apps::name,
            apps::status,
            apps::owner_user_id,
            apps::owner_team_id,
            apps::client_id,
        )
    };
}

macro_rules! key_columns {
    () => {
        (
            credentials::id,
            credentials::app_id,
            credentials::secret_hash,
            credentials::expires_at,
            credentials::revoked_at,
            credentials::allowed_ips,
            credentials::kind,
        )
    };
}

macro_rules! product_columns {
    () => {
        (
            products::id,
            products::org_id,
            products::slug,
            products::rate_limit_per_second,
            products::quota_limit,
            products::quota_period,
            products::max_credential_lifetime_seconds,
            products::scopes,
        )
    };
}

fn gateway_entries(rows: Vec<crate::models::gateway_tokens::GatewayToken>) -> Vec<GatewayEntry> {
    rows.into_iter()
        .filter_map(|t| {
            Some(GatewayEntry {
                digest: stored_key(&t.token_hash)?,
                id: t.id,
                org_id: t.org_id,
                default_product_id: t.default_product_id,
            })
        })
        .collect()
}

/// Everything, for the start of an instance.
pub fn everything(conn: &mut DbConnection) -> QueryResult<Index> {
    let key_count: i64 = credentials::table.count().get_result(conn)?;
    let app_count: i64 = apps::table.count().get_result(conn)?;
    let mut index = Index::with_capacity(key_count as usize, app_count as usize);

    let rows: Vec<ProductRow> = products::table.select(product_columns!()).load(conn)?;
    for row in rows {
        let p = product_entry(row);
        index.set_product(&p.id.clone(), Some(p));
    }

    let mut after = String::new();
    loop {
        let rows: Vec<AppRow> = apps::table
            .filter(apps::id.gt(&after))
            .order(apps::id)
            .limit(BATCH)
            .select(app_columns!())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for row in rows {
            if let Some(app) = app_entry(row) {
                index.set_app(app);
            }
        }
    }

    let mut after = String::new();
    loop {
        let rows: Vec<KeyRow> = credentials::table
            .filter(credentials::id.gt(&after))
            .order(credentials::id)
            .limit(BATCH)
            .select(key_columns!())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for row in &rows {
            if let (Some(app), Some(key)) = (uuid_bytes(&row.1), key_entry(row)) {
                index.add_key(&app, key);
            }
        }
    }

    let mut after = String::new();
    loop {
        let rows: Vec<(String, String, String, String)> = subscriptions::table
            .filter(subscriptions::id.gt(&after))
            .order(subscriptions::id)
            .limit(BATCH)
            .select((
                subscriptions::id,
                subscriptions::app_id,
                subscriptions::product_id,
                subscriptions::status,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (_, app, product, status) in rows {
            if let Some(app) = uuid_bytes(&app) {
                index.add_subscription(&app, &product, subscription_fact(&status));
            }
        }
    }

    let mut after = String::new();
    loop {
        let rows: Vec<(String, String, Option<String>)> = static_tokens::table
            .inner_join(credentials::table.on(credentials::id.eq(static_tokens::credential_id)))
            .filter(static_tokens::revoked_at.is_null())
            .filter(static_tokens::id.gt(&after))
            .order(static_tokens::id)
            .limit(BATCH)
            .select((
                static_tokens::id,
                static_tokens::token_hash,
                credentials::secret_hash,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (_, token, key) in &rows {
            if let (Some(token), Some(key)) =
                (stored_key(token), key.as_deref().and_then(stored_key))
            {
                index.add_static_token(&key, token);
            }
        }
    }

    let revoked: Vec<(String, String)> = revoked_access_tokens::table
        .select((revoked_access_tokens::app_id, revoked_access_tokens::jti))
        .load(conn)?;
    for (app, jti) in revoked {
        if let (Some(app), Some(jti)) = (uuid_bytes(&app), uuid_bytes(&jti)) {
            index.add_revoked_token(&app, jti);
        }
    }

    for g in gateway_entries(crate::models::gateway_tokens::all_live(conn)?) {
        index.add_gateway(g);
    }
    Ok(index)
}

/// The apps `ids` as they are now, with their keys and subscriptions; an id missing
/// from the result has no row any more.
pub fn apps_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<AppEntry>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<AppRow> = apps::table
            .filter(apps::id.eq_any(chunk))
            .select(app_columns!())
            .load(conn)?;
        let mut by_id: HashMap<String, AppEntry> = rows
            .into_iter()
            .filter_map(|r| {
                let id = r.0.clone();
                app_entry(r).map(|a| (id, a))
            })
            .collect();
        let keys: Vec<KeyRow> = credentials::table
            .filter(credentials::app_id.eq_any(chunk))
            .select(key_columns!())
            .load(conn)?;
        let tokens: Vec<(String, String)> = static_tokens::table
            .filter(static_tokens::app_id.eq_any(chunk))
            .filter(static_tokens::revoked_at.is_null())
            .select((static_tokens::credential_id, static_tokens::token_hash))
            .load(conn)?;
        let mut tokens_of: HashMap<&str, Vec<_>> = HashMap::new();
        for (credential, hash) in &tokens {
            if let Some(digest) = stored_key(hash) {
                tokens_of
                    .entry(credential.as_str())
                    .or_default()
                    .push(digest);
            }
        }
        for row in &keys {
            if let (Some(app), Some(mut key)) = (by_id.get_mut(&row.1), key_entry(row)) {
                key.tokens = tokens_of.remove(row.0.as_str()).unwrap_or_default();
                app.keys.push(key);
            }
        }
        let revoked: Vec<(String, String)> = revoked_access_tokens::table
            .filter(revoked_access_tokens::app_id.eq_any(chunk))
            .select((revoked_access_tokens::app_id, revoked_access_tokens::jti))
            .load(conn)?;
        for (app, jti) in revoked {
            if let (Some(app), Some(jti)) = (by_id.get_mut(&app), uuid_bytes(&jti)) {
                app.revoked_tokens.push(jti);
            }
        }
        let subs: Vec<(String, String, String)> = subscriptions::table
            .filter(subscriptions::app_id.eq_any(chunk))
            .select((
                subscriptions::app_id,
                subscriptions::product_id,
                subscriptions::status,
            ))
            .load(conn)?;
        for (app, product, status) in subs {
            let Some(app) = by_id.get_mut(&app) else {
                continue;
            };
            let fact = subscription_fact(&status);
            match app.subscriptions.iter_mut().find(|(p, _)| *p == product) {
                Some((_, s)) => *s = s.stronger(fact),
                None => app.subscriptions.push((product, fact)),
            }
        }
        out.extend(by_id.into_values());
    }
    Ok(out)
}

/// The ids of a member's personal apps in an organisation.
pub fn personal_app_ids(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
) -> QueryResult<Vec<String>> {
    apps::table
        .filter(apps::org_id.eq(org_id))
        .filter(apps::owner_user_id.eq(user_id))
        .select(apps::id)
        .load(conn)
}

/// The ids of an organisation's apps.
pub fn org_app_ids(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<String>> {
    apps::table
        .filter(apps::org_id.eq(org_id))
        .select(apps::id)
        .load(conn)
}

/// A product as it is now (`None`: no row).
pub fn product(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ProductEntry>> {
    let row: Option<ProductRow> = products::table
        .filter(products::id.eq(id))
        .select(product_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(product_entry))
}

/// An organisation's products as they are now.
pub fn org_products(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<ProductEntry>> {
    let rows: Vec<ProductRow> = products::table
        .filter(products::org_id.eq(org_id))
        .select(product_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(product_entry).collect())
}

/// An organisation's live gateway tokens.
pub fn org_gateways(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<GatewayEntry>> {
    let rows = gateway_tokens::table
        .filter(gateway_tokens::org_id.eq(org_id))
        .filter(gateway_tokens::revoked_at.is_null())
        .select(crate::models::gateway_tokens::GatewayToken::as_select())
        .load(conn)?;
    Ok(gateway_entries(rows))
}
