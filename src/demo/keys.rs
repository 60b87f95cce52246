//! A fleet of extra API keys for the verify benchmark (`gatehouse seed --keys N`):
//! the demo's live API-key apps give each of their devices or services its own key
//! and rotate them, so most keys are live, one in twenty was revoked by a rotation,
//! one in twenty is in a rotation's (long) overlap and one in twenty has expired. Every app
//! that gets keys is active and approved for the same product, one without a quota,
//! so each live key verifies as VALID for it.
//!
//! The rows go in with many-row inserts (a thousand rows a statement, tens of
//! thousands a write transaction), so a million keys take about a minute on SQLite.
//! Unlike the rest of the demo they bypass the services — no audit entries, no
//! change-feed records — which is right only before the instance first serves.

use std::io::Write;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::Environment;
use super::plan::Rng;
use crate::credentials::{Kind, PlainSecret};
use crate::db::schema::{apps, credentials, organisations, products, subscriptions};
use crate::db::{DbConnection, execute_on_backend, write_transaction};
use crate::error::{AppError, AppResult};
use crate::verify::load::API_KEY;

/// Plaintexts written to the keys file at most (spread evenly over the live keys).
pub const KEYS_OUT_MAX: usize = 100_000;
/// Rows per `INSERT`: 13 columns × 1,000 stays under both backends' bind limits.
const ROWS_PER_STATEMENT: usize = 1_000;
const STATEMENTS_PER_TRANSACTION: usize = 25;

/// What [`add`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// Keys made.
    pub keys: usize,
    /// Of which live: no expiry, not revoked.
    pub live: usize,
    /// Apps they went to.
    pub apps: usize,
    /// The product (slug) every one of those apps is approved for.
    pub product: String,
    /// Plaintexts written out.
    pub written: usize,
}

#[derive(Insertable)]
#[diesel(table_name = credentials, treat_none_as_default_value = false)]
pub(super) struct Row {
    pub id: String,
    pub app_id: String,
    pub kind: &'static str,
    pub label: String,
    pub secret_hash: Option<String>,
    pub prefix: String,
    pub last4: String,
    pub public_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub allowed_ips: &'static str,
}

/// The live apps of `auth_type` in the organisation approved for one quota-free
/// product — the one most of them share — as (product slug, app ids in id order).
pub(super) fn target_apps(
    conn: &mut DbConnection,
    org_slug: &str,
    auth_type: &str,
) -> AppResult<(String, Vec<String>)> {
    let org_id: String = organisations::table
        .filter(organisations::slug.eq(org_slug))
        .select(organisations::id)
        .first(conn)?;
    let rows: Vec<(String, String)> = subscriptions::table
        .inner_join(apps::table)
        .inner_join(products::table)
        .filter(apps::org_id.eq(&org_id))
        .filter(apps::status.eq("active"))
        .filter(apps::auth_type.eq(auth_type))
        .filter(subscriptions::status.eq("approved"))
        .filter(products::quota_limit.is_null())
        .select((products::slug, apps::id))
        .order_by((products::slug, apps::id))
        .load(conn)?;
    let mut best: Option<(&str, usize)> = None;
    for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
        if best.is_none_or(|(_, n)| chunk.len() > n) {
            best = Some((&chunk[0].0, chunk.len()));
        }
    }
    let Some((slug, _)) = best else {
        return Err(AppError::bad_request(format!(
            "The organisation has no active {} app approved for a product without a quota to give credentials to.",
            if auth_type == API_KEY {
                "API-key"
            } else {
                "OAuth2"
            }
        )));
    };
    let slug = slug.to_string();
    let mut ids: Vec<String> = rows
        .into_iter()
        .filter(|(s, _)| *s == slug)
        .map(|(_, id)| id)
        .collect();
    ids.dedup();
    Ok((slug, ids))
}

/// Adds `count` API keys to the organisation `org_slug` made by the demo, spread
/// evenly over its live API-key apps; writes the plaintexts of up to
/// [`KEYS_OUT_MAX`] of the live ones to `out`, one a line.
pub fn add(
    conn: &mut DbConnection,
    env: &Environment<'_>,
    org_slug: &str,
    count: usize,
    mut out: Option<&mut dyn Write>,
) -> AppResult<Fleet> {
    let (product, app_ids) = target_apps(conn, org_slug, API_KEY)?;
    // Overlaps end past the expiry-warning horizon when the instance allows it, so
    // the first housekeeping pass has no tens of thousands of warnings to send.
    let horizon = Duration::days(crate::services::expiry::EXPIRING_WITHIN_DAYS + 1);
    let (overlap_from, overlap_span) = if env.max_overlap > horizon {
        (horizon, (env.max_overlap - horizon).num_minutes())
    } else {
        (Duration::minutes(1), env.max_overlap.num_minutes())
    };
    // One in `step` live keys is written out; 17 in 20 keys are live.
    let step = (count * 17 / 20).div_ceil(KEYS_OUT_MAX).max(1);
    let mut rng = Rng::new(2026);
    let mut pick = |span: i64| (rng.next_u64() % u64::try_from(span.max(1)).unwrap_or(1)) as i64;
    let mut fleet = Fleet {
        keys: 0,
        live: 0,
        apps: app_ids.len().min(count),
        product,
        written: 0,
    };
    let io_failed =
        |e: std::io::Error| AppError::internal(format!("cannot write the keys file: {e}"));

    let per_app = count / app_ids.len();
    let extra = count % app_ids.len();
    let plan = app_ids
        .iter()
        .enumerate()
        .flat_map(|(i, app)| (0..per_app + usize::from(i < extra)).map(move |n| (app, n)));
    let mut rows: Vec<Row> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut batches: Vec<Vec<Row>> = Vec::with_capacity(STATEMENTS_PER_TRANSACTION);
    let mut plan = plan.peekable();
    while plan.peek().is_some() {
        for (app, n) in plan.by_ref().take(ROWS_PER_STATEMENT) {
            let secret = PlainSecret::generate(env.issuer.prefix, Kind::ApiKey);
            let k = fleet.keys;
            fleet.keys += 1;
            // Made some time in the last 30 days (the oldest are the revoked ones).
            let mut created_at = env.now - Duration::minutes(60 + pick(30 * 24 * 60));
            let (mut expires_at, mut revoked_at) = (None, None);
            match k % 20 {
                // Rotated away: replaced, and revoked when its overlap ended.
                0 => {
                    created_at -= Duration::days(30);
                    revoked_at =
                        Some(created_at + Duration::days(20) + Duration::minutes(pick(60 * 24)));
                }
                // The old key of a rotation still in its overlap.
                1 => {
                    expires_at =
                        Some(env.now + overlap_from + Duration::minutes(pick(overlap_span)))
                }
                // A rotation's overlap that has run out.
                2 => {
                    created_at -= Duration::days(30);
                    expires_at = Some(env.now - Duration::minutes(1 + pick(10 * 24 * 60)));
                }
                _ => {
                    if fleet.live.is_multiple_of(step)
                        && fleet.written < KEYS_OUT_MAX
                        && let Some(out) = out.as_mut()
                    {
                        writeln!(out, "{}", secret.expose()).map_err(io_failed)?;
                        fleet.written += 1;
                    }
                    fleet.live += 1;
                }
            }
            rows.push(Row {
                id: crate::models::new_id(),
                app_id: app.clone(),
                kind: API_KEY,
                label: format!("device {:04}", n + 1),
                secret_hash: Some(env.issuer.hasher.hash(secret.expose())),
                prefix: secret.prefix().to_string(),
                last4: secret.last4().to_string(),
                public_key: None,
                created_at,
                expires_at,
                revoked_at,
                last_used_at: None,
                allowed_ips: "",
            });
        }
        batches.push(std::mem::replace(
            &mut rows,
            Vec::with_capacity(ROWS_PER_STATEMENT),
        ));
        if batches.len() == STATEMENTS_PER_TRANSACTION || plan.peek().is_none() {
            write_transaction(conn, |conn| {
                for batch in &batches {
                    execute_on_backend(
                        conn,
                        diesel::insert_into(credentials::table).values(batch),
                    )?;
                }
                Ok::<_, AppError>(())
            })?;
            batches.clear();
        }
    }
    if let Some(out) = out {
        out.flush().map_err(io_failed)?;
    }
    Ok(fleet)
}
