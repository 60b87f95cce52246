//! Housekeeping every ten minutes: expiry warnings, stale form nonces, old sent email,
//! timed-out sessions, old idempotency keys and old change-feed rows.

use super::on_pool;
use crate::clock::SharedClock;
use crate::db::{Pool, write_transaction};
use crate::models::{api_tokens, changes};

/// Change-feed rows deleted per pass at most, so one pass holds the write lock briefly;
/// the feed's rows are written at most as fast as audited writes, and a pass every ten
/// minutes keeps up with 100,000 of those.
const CHANGES_PER_PASS: i64 = 100_000;
use crate::services;
use crate::services::sessions::Timeouts;

/// What housekeeping works with, handed over by `startup`.
#[derive(Clone)]
pub struct Housekeeping {
    pub pool: Pool,
    pub clock: SharedClock,
    pub timeouts: Timeouts,
    /// The absolute base of links in emails (expiry warnings).
    pub public_base: String,
}

impl Housekeeping {
    /// Removes timed-out sessions, stale form nonces, old sent email and expired email
    /// tokens every ten minutes.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                let now = self.clock.now_naive();
                let timeouts = self.timeouts;
                let base = self.public_base.clone();
                // Each job runs on its own write transaction: one failing does not stop
                // the others, and none holds SQLite's write lock for longer than it needs.
                let results = on_pool(&self.pool, move |conn| {
                    Ok([
                        (
                            "expiry warnings",
                            write_transaction(conn, |conn| {
                                services::expiry::warn_due(conn, now, &base)
                            }),
                        ),
                        (
                            "form nonces",
                            write_transaction(conn, |conn| services::nonces::purge(conn, now))
                                .map_err(Into::into),
                        ),
                        (
                            "outbox",
                            write_transaction(conn, |conn| services::outbox::purge(conn, now)),
                        ),
                        (
                            "sessions",
                            write_transaction(conn, |conn| {
                                services::sessions::purge_expired(conn, now, timeouts)
                            }),
                        ),
                        (
                            "change feed",
                            write_transaction(conn, |conn| {
                                changes::purge(conn, now - changes::RETENTION, CHANGES_PER_PASS)
                            })
                            .map_err(Into::into),
                        ),
                        (
                            // Every window (an hour, a day, a month) that started
                            // 40 days ago has ended: its count is no longer read.
                            "quota counts",
                            write_transaction(conn, |conn| {
                                crate::verify::limits::purge_counts(
                                    conn,
                                    now - chrono::Duration::days(40),
                                )
                            })
                            .map_err(Into::into),
                        ),
                        (
                            "oauth tokens and keys",
                            write_transaction(conn, |conn| services::oauth::purge(conn, now))
                                .map_err(Into::into),
                        ),
                        (
                            "idempotency keys",
                            write_transaction(conn, |conn| {
                                api_tokens::purge_idempotency(
                                    conn,
                                    now - api_tokens::IDEMPOTENCY_WINDOW,
                                )
                            })
                            .map_err(Into::into),
                        ),
                    ])
                })
                .await;
                match results {
                    Ok(results) => {
                        for (job, result) in results {
                            match result {
                                Ok(n) if n > 0 => tracing::info!(job, n, "housekeeping"),
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(job, error = ?e, "housekeeping job failed")
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = ?e, "housekeeping could not run"),
                }
            }
        });
    }
}
