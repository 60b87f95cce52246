//! Rate limits and quotas per app and product, in memory.
//!
//! - Rate limit: a token bucket per instance (capacity and refill: the product's
//!   requests per second). With N instances behind a load balancer an app gets up to
//!   N× the limit; set the product's limit ÷ N for a global figure.
//! - Quota: accepted verifies per fixed UTC calendar window (hour, day, month),
//!   global across instances: each instance counts locally and every flush (about a
//!   second) adds its count to `quota_counts` and reads back the total, so the
//!   organisation-wide count may pass the limit by at most one flush interval of
//!   traffic. Refused verifies consume neither.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::quota_counts;
use crate::verify::index::{Period, ProductLimits};

const SHARDS: usize = 16;

/// The start of the window holding `now` (microseconds), and the start of the next.
pub fn window(period: Period, now: i64) -> (i64, i64) {
    let at = crate::verify::index::naive(now);
    let day = at.date();
    let (start, end): (NaiveDateTime, NaiveDateTime) = match period {
        Period::Hour => {
            let start = day.and_hms_opt(at.hour(), 0, 0).unwrap_or(at);
            (start, start + chrono::Duration::hours(1))
        }
        Period::Day => {
            let start = day.and_hms_opt(0, 0, 0).unwrap_or(at);
            (start, start + chrono::Duration::days(1))
        }
        Period::Month => {
            let first = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap_or(day);
            let next = if day.month() == 12 {
                NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
            }
            .unwrap_or(first);
            (
                first.and_hms_opt(0, 0, 0).unwrap_or(at),
                next.and_hms_opt(0, 0, 0).unwrap_or(at),
            )
        }
    };
    (
        start.and_utc().timestamp_micros(),
        end.and_utc().timestamp_micros(),
    )
}

#[derive(Debug, Default)]
struct Entry {
    /// Rate-limit tokens left, and when they were last topped up (microseconds).
    tokens: f64,
    refilled: i64,
    /// The quota window this entry counts (its start), the total at the last flush,
    /// the count being flushed and the count since.
    window: i64,
    flushed: u64,
    in_flight: u64,
    pending: u64,
    /// Used since the last flush: the next flush reads the global total.
    touched: bool,
}

/// The rate-limit state an accepted verify reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the bucket is full again.
    pub reset: i64,
}

/// The quota state an accepted verify reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the window ends.
    pub reset: i64,
}

/// The limiter's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed {
        rate: Option<RateState>,
        quota: Option<QuotaState>,
    },
    RateLimited {
        rate: RateState,
        retry_after: u64,
    },
    QuotaExceeded {
        quota: QuotaState,
        retry_after: u64,
    },
}

/// A quota count to add to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub app: [u8; 16],
    pub product_slot: u32,
    pub window: i64,
    pub count: u64,
}

/// Entries by (app id, product slot).
type Shard = HashMap<([u8; 16], u32), Entry>;

/// Buckets and counters, sharded by app.
pub struct Limiter {
    shards: Vec<Mutex<Shard>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

fn secs_ceil(micros: i64) -> u64 {
    u64::try_from(micros.max(0))
        .unwrap_or(0)
        .div_ceil(1_000_000)
}

impl Limiter {
    fn shard(&self, app: &[u8; 16]) -> std::sync::MutexGuard<'_, Shard> {
        let i = usize::from(app[15]) % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes one request of `app` for the product if its limits allow it at `now`.
    pub fn take(&self, app: &[u8; 16], limits: ProductLimits, now: i64) -> Outcome {
        if limits.rate_per_second.is_none() && limits.quota.is_none() {
            return Outcome::Allowed {
                rate: None,
                quota: None,
            };
        }
        let mut shard = self.shard(app);
        let e = shard.entry((*app, limits.slot)).or_insert_with(|| Entry {
            tokens: f64::from(limits.rate_per_second.unwrap_or(0)),
            refilled: now,
            ..Entry::default()
        });
        let mut rate = None;
        if let Some(per_second) = limits.rate_per_second {
            let cap = f64::from(per_second);
            let elapsed = (now - e.refilled).max(0) as f64 / 1e6;
            e.tokens = (e.tokens + elapsed * cap).min(cap);
            e.refilled = now;
            let state = |tokens: f64| RateState {
                limit: per_second,
                remaining: tokens.max(0.0).floor() as u32,
                reset: (now + ((cap - tokens).max(0.0) / cap * 1e6) as i64).div_euclid(1_000_000)
                    + 1,
            };
            if e.tokens < 1.0 {
                let wait = ((1.0 - e.tokens) / cap * 1e6) as i64;
                return Outcome::RateLimited {
                    rate: state(e.tokens),
                    retry_after: secs_ceil(wait).max(1),
                };
            }
            e.tokens -= 1.0;
            rate = Some(state(e.tokens));
        }
        let mut quota = None;
        if let Some((limit, period)) = limits.quota {
            let (start, end) = window(period, now);
            if e.window != start {
                e.window = start;
                e.flushed = 0;
                e.in_flight = 0;
                e.pending = 0;
            }
            e.touched = true;
            let used = e.flushed + e.in_flight + e.pending;
            let state = |used: u64| QuotaState {
                limit,
                remaining: limit.saturating_sub(used),
                reset: end.div_euclid(1_000_000),
            };
            if used >= limit {
                // Refused: the rate token goes back.
                if limits.rate_per_second.is_some() {
                    e.tokens += 1.0;
                }
                return Outcome::QuotaExceeded {
                    quota: state(used),
                    retry_after: secs_ceil(end - now).max(1),
                };
            }
            e.pending += 1;
            quota = Some(state(used + 1));
        }
        Outcome::Allowed { rate, quota }
    }

    /// Counts loaded at start (the database's totals for the current windows).
    pub fn seed(&self, app: &[u8; 16], product_slot: u32, window: i64, total: u64) {
        let mut shard = self.shard(app);
        let e = shard.entry((*app, product_slot)).or_default();
        e.window = window;
        e.flushed = total;
    }

    /// Moves every counted-but-unflushed request into flight and returns them, with
    /// a zero count for entries used since the last flush (to read their total).
    pub fn drain(&self) -> Vec<Pending> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ((app, product_slot), e) in shard.iter_mut() {
                if !e.touched {
                    continue;
                }
                e.touched = false;
                e.in_flight += e.pending;
                out.push(Pending {
                    app: *app,
                    product_slot: *product_slot,
                    window: e.window,
                    count: std::mem::take(&mut e.pending),
                });
            }
        }
        out
    }

    /// Records the outcome of a flush: the database's total for each entry
    /// (`None`: the write failed, so the counts go back to pending).
    pub fn settle(&self, flushed: &[(Pending, Option<u64>)]) {
        for (p, total) in flushed {
            let mut shard = self.shard(&p.app);
            let Some(e) = shard.get_mut(&(p.app, p.product_slot)) else {
                continue;
            };
            if e.window != p.window {
                continue;
            }
            e.in_flight = e.in_flight.saturating_sub(p.count);
            match total {
                Some(total) => e.flushed = *total,
                None => {
                    e.pending += p.count;
                    e.touched = true;
                }
            }
        }
    }

    /// Forgets entries of windows that ended (called now and then).
    pub fn prune(&self, now: i64) {
        for shard in &self.shards {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            shard.retain(|_, e| {
                e.touched
                    || e.pending > 0
                    || e.in_flight > 0
                    || now - e.refilled < 3_600_000_000
                    || e.window >= window(Period::Month, now).0
            });
        }
    }
}

/// Adds `count` to the stored total of a window and returns the new total.
pub fn add_count(
    conn: &mut DbConnection,
    app_id: &str,
    product_id: &str,
    window_start: NaiveDateTime,
    count: u64,
) -> QueryResult<u64> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let key = quota_counts::table
        .filter(quota_counts::app_id.eq(app_id))
        .filter(quota_counts::product_id.eq(product_id))
        .filter(quota_counts::window_start.eq(window_start));
    if count > 0 {
        let updated = diesel::update(key)
            .set(quota_counts::count.eq(quota_counts::count + count))
            .execute(conn)?;
        if updated == 0 {
            let inserted = diesel::insert_into(quota_counts::table)
                .values((
                    quota_counts::app_id.eq(app_id),
                    quota_counts::product_id.eq(product_id),
                    quota_counts::window_start.eq(window_start),
                    quota_counts::count.eq(count),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => {}
                // Another instance inserted it first: add to theirs.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    diesel::update(key)
                        .set(quota_counts::count.eq(quota_counts::count + count))
                        .execute(conn)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    let total: Option<i64> = key.select(quota_counts::count).first(conn).optional()?;
    Ok(total.map_or(0, |t| u64::try_from(t).unwrap_or(0)))
}

/// The stored totals of windows that started at or after `since`.
pub fn current_counts(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, String, NaiveDateTime, i64)>> {
    quota_counts::table
        .filter(quota_counts::window_start.ge(since))
        .select((
            quota_counts::app_id,
            quota_counts::product_id,
            quota_counts::window_start,
            quota_counts::count,
        ))
        .load(conn)
}

/// Deletes totals of windows that started before `before` (housekeeping).
pub fn purge_counts(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(quota_counts::table.filter(quota_counts::window_start.lt(before))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000;

    fn limits(rate: Option<u32>, quota: Option<u64>) -> ProductLimits {
        ProductLimits {
            slot: 0,
            rate_per_second: rate,
            quota: quota.map(|q| (q, Period::Day)),
        }
    }

    #[test]
    fn windows_are_utc_calendar_periods() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 31)
            .unwrap()
            .and_hms_opt(23, 30, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let (s, e) = window(Period::Month, t);
        assert_eq!(e - s, 31 * 24 * 3600 * SEC);
        let (s, e) = window(Period::Hour, t);
        assert_eq!((t - s, e - t), (30 * 60 * SEC, 30 * 60 * SEC));
        let (s, e) = window(Period::Day, t);
        assert_eq!(e - s, 24 * 3600 * SEC);
    }

    #[test]
    fn bucket_refills_and_refusals_cost_nothing() {
        let l = Limiter::default();
        let app = [1; 16];
        let t = 1_700_000_000 * SEC;
        for _ in 0..3 {
            assert!(matches!(
                l.take(&app, limits(Some(3), None), t),
                Outcome::Allowed { .. }
            ));
        }
        assert!(matches!(
            l.take(&app, limits(Some(3), None), t),
            Outcome::RateLimited { retry_after: 1, .. }
        ));
        // A third of a second later one token is back.
        assert!(matches!(
            l.take(&app, limits(Some(3), None), t + SEC / 3 + 1),
            Outcome::Allowed { .. }
        ));
    }

    #[test]
    fn quota_counts_until_the_limit_and_flushes() {
        let l = Limiter::default();
        let app = [2; 16];
        let t = 1_700_000_000 * SEC;
        for _ in 0..2 {
            assert!(matches!(
                l.take(&app, limits(None, Some(2)), t),
                Outcome::Allowed { .. }
            ));
        }
        assert!(matches!(
            l.take(&app, limits(None, Some(2)), t),
            Outcome::QuotaExceeded { .. }
        ));
        let drained = l.drain();
        assert_eq!(drained.len(), 1);
        assert_eq!(drained[0].count, 2);
        // Still exceeded while in flight, and after the total comes back.
        assert!(matches!(
            l.take(&app, limits(None, Some(2)), t),
            Outcome::QuotaExceeded { .. }
        ));
        l.settle(&[(drained[0].clone(), Some(5))]);
        assert!(matches!(
            l.take(&app, limits(None, Some(6)), t),
            Outcome::Allowed {
                quota: Some(QuotaState { remaining: 0, .. }),
                ..
            }
        ));
        // A failed flush puts the count back.
        let drained = l.drain();
        l.settle(&[(drained[0].clone(), None)]);
        assert_eq!(l.drain()[0].count, 1);
    }
}
