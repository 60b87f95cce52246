//! OAuth2 clients for the token benchmarks (`gatehouse seed --clients N`): one more
//! client secret each for the demo's live OAuth2 apps approved for one quota-free
//! product (several each when N is larger than the number of apps), with the client
//! ids and secrets written out so a load generator can ask for tokens.
//!
//! Like [`super::keys`], the rows go in with many-row inserts and bypass the services
//! (no audit entries, no change-feed records): right only before the instance first
//! serves.

use std::collections::HashMap;
use std::io::Write;

use diesel::prelude::*;

use super::Environment;
use super::keys::{KEYS_OUT_MAX, Row, target_apps};
use crate::credentials::{Kind, PlainSecret};
use crate::db::schema::{apps, credentials, organisations};
use crate::db::{DbConnection, execute_on_backend, write_transaction};
use crate::error::{AppError, AppResult};

const OAUTH2: &str = "oauth2";
/// The kind stored for a client secret.
const CLIENT_SECRET: &str = "client_secret";
const ROWS_PER_STATEMENT: usize = 1_000;

/// What [`add`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clients {
    /// Client secrets made (all live).
    pub secrets: usize,
    /// Apps they went to.
    pub apps: usize,
    /// The product (slug) every one of those apps is approved for.
    pub product: String,
    /// `client_id client_secret` lines written out.
    pub written: usize,
}

/// Adds `count` client secrets to the live OAuth2 apps of the organisation `org_slug`
/// made by the demo, spread evenly over them, and writes up to [`KEYS_OUT_MAX`] of
/// them to `out` as `client_id client_secret` lines.
pub fn add(
    conn: &mut DbConnection,
    env: &Environment<'_>,
    org_slug: &str,
    count: usize,
    mut out: Option<&mut dyn Write>,
) -> AppResult<Clients> {
    let (product, app_ids) = target_apps(conn, org_slug, OAUTH2)?;
    let org_id: String = organisations::table
        .filter(organisations::slug.eq(org_slug))
        .select(organisations::id)
        .first(conn)?;
    let client_ids: HashMap<String, String> = apps::table
        .filter(apps::org_id.eq(&org_id))
        .filter(apps::auth_type.eq(OAUTH2))
        .select((apps::id, apps::client_id))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(id, cid)| cid.map(|cid| (id, cid)))
        .collect();
    let io_failed =
        |e: std::io::Error| AppError::internal(format!("cannot write the clients file: {e}"));
    let mut made = Clients {
        secrets: 0,
        apps: app_ids.len().min(count),
        product,
        written: 0,
    };
    let mut rows: Vec<Row> = Vec::with_capacity(count.min(ROWS_PER_STATEMENT));
    // Round-robin over the apps, so the first `apps` secrets each go to another app.
    for k in 0..count {
        let app_id = &app_ids[k % app_ids.len()];
        let Some(client_id) = client_ids.get(app_id) else {
            return Err(AppError::internal("an OAuth2 app without a client id"));
        };
        let secret = PlainSecret::generate(env.issuer.prefix, Kind::ClientSecret);
        if made.written < KEYS_OUT_MAX
            && let Some(out) = out.as_mut()
        {
            writeln!(out, "{client_id} {}", secret.expose()).map_err(io_failed)?;
            made.written += 1;
        }
        rows.push(Row {
            id: crate::models::new_id(),
            app_id: app_id.clone(),
            kind: CLIENT_SECRET,
            label: format!("benchmark {:04}", k / app_ids.len() + 1),
            secret_hash: Some(env.issuer.hasher.hash(secret.expose())),
            prefix: secret.prefix().to_string(),
            last4: secret.last4().to_string(),
            public_key: None,
            created_at: env.now,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            allowed_ips: "",
        });
        made.secrets += 1;
    }
    write_transaction(conn, |conn| {
        for batch in rows.chunks(ROWS_PER_STATEMENT) {
            execute_on_backend(conn, diesel::insert_into(credentials::table).values(batch))?;
        }
        Ok::<_, AppError>(())
    })?;
    if let Some(out) = out {
        out.flush().map_err(io_failed)?;
    }
    Ok(made)
}
