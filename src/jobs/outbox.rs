//! The outbox worker: sends what the services queued in `email_outbox`.
//!
//! Delivery is at-least-once: a message is claimed (its attempt counted and its next
//! attempt pushed a lease into the future) before it is sent and marked `sent` after,
//! so a crash in between sends it again after the lease, and never loses it. Failures
//! back off exponentially; after [`MAX_ATTEMPTS`] the message is `dead` and waits for
//! an instance owner to retry it.
//!
//! A message that carries a single-use link gets its token when it is claimed: minted
//! then, stored only as a hash, and put into the text sent (never into the database).
//! Each attempt mints a new one, and the last attempt's is the only one that works. A
//! message whose link can no longer be used is not sent (it goes `dead`, saying why).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::on_pool;
use crate::clock::SharedClock;
use crate::db::Pool;
use crate::error::AppResult;
use crate::mail::Mailer;
use crate::services::links::Prepared;
use crate::services::outbox;

/// A message goes `dead` after this many failed attempts.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed message is left alone before another pass may send it again
/// (its sender is presumed dead). Longer than any SMTP conversation.
pub const LEASE: Duration = Duration::from_secs(600);
/// How often the worker looks for due messages.
const POLL: Duration = Duration::from_millis(1500);

/// The wait before the next attempt after `attempts` failed ones: 30 s, 1 min, 2 min …
/// at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(10);
    chrono::Duration::seconds((30i64 << exp).min(3600))
}

/// The mailer and the lock that keeps this instance to one outbox pass at a time
/// (a test's pass waits for the worker's, so it sees a settled outbox).
#[derive(Debug)]
pub struct Outbox {
    pub mailer: Mailer,
    pass: tokio::sync::Mutex<()>,
}

impl Outbox {
    pub fn new(mailer: Mailer) -> Self {
        Self {
            mailer,
            pass: tokio::sync::Mutex::new(()),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub failed: usize,
    /// Not sent because the link they carry was used, replaced or revoked, or expired.
    pub void: usize,
}

/// What the outbox worker works with: the pool, the clock and the outbox (the app
/// state hands these over; the worker never sees the rest of it).
#[derive(Clone)]
pub struct Delivery {
    pub pool: Pool,
    pub clock: SharedClock,
    pub outbox: Arc<Outbox>,
}

impl Delivery {
    /// Sends every message that is due now, one at a time, until none is left or `stop`
    /// says to stop (checked between messages, so the current send always finishes).
    pub async fn deliver_due(&self, stop: Option<&watch::Receiver<bool>>) -> AppResult<PassReport> {
        let _one_pass = self.outbox.pass.lock().await;
        let mut report = PassReport::default();
        let lease =
            chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::minutes(10));
        loop {
            if stop.is_some_and(|s| *s.borrow()) {
                break;
            }
            let now = self.clock.now_naive();
            let Some(claimed) = on_pool(&self.pool, move |conn| {
                outbox::claim_next(conn, now, now + lease)
            })
            .await?
            else {
                break;
            };
            let email = claimed.email;
            let body = match claimed.prepared {
                Prepared::Send(body) => body,
                Prepared::Void(why) => {
                    tracing::info!(outbox_id = %email.id, reason = %why, "email not sent");
                    report.void += 1;
                    continue;
                }
            };
            if email.attempts > MAX_ATTEMPTS {
                // Earlier attempts never reported back (the process died while sending):
                // stop retrying and leave it for an admin.
                let id = email.id.clone();
                let now = self.clock.now_naive();
                on_pool(&self.pool, move |conn| {
                    outbox::mark_failed(
                        conn,
                        &id,
                        now,
                        "gave up: earlier attempts did not finish",
                        true,
                    )
                })
                .await?;
                report.failed += 1;
                continue;
            }
            let result = self
                .outbox
                .mailer
                .send(&email.to_address, &email.subject, body.expose())
                .await;
            let now = self.clock.now_naive();
            let id = email.id.clone();
            match result {
                Ok(()) => {
                    on_pool(&self.pool, move |conn| outbox::mark_sent(conn, &id, now)).await?;
                    tracing::info!(outbox_id = %email.id, attempts = email.attempts, "email sent");
                    report.sent += 1;
                }
                Err(e) => {
                    let attempts = email.attempts;
                    let dead = e.permanent || attempts >= MAX_ATTEMPTS;
                    let error: String = e.message.chars().take(500).collect();
                    tracing::warn!(
                        outbox_id = %email.id,
                        attempts,
                        dead,
                        error = %error,
                        "email not sent"
                    );
                    // A dead message keeps the time of its last attempt.
                    let next = if dead { now } else { now + backoff(attempts) };
                    on_pool(&self.pool, move |conn| {
                        outbox::mark_failed(conn, &id, next, &error, dead)
                    })
                    .await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Starts the outbox worker: a pass every ~1.5 s until `stop` turns true; the pass in
    /// flight finishes its current message first.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    changed = stop.changed() => {
                        if changed.is_err() || *stop.borrow() {
                            break;
                        }
                    }
                }
                if *stop.borrow() {
                    break;
                }
                if let Err(e) = self.deliver_due(Some(&stop)).await {
                    tracing::warn!(error = ?e, "outbox pass failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), chrono::Duration::seconds(30));
        assert_eq!(backoff(2), chrono::Duration::seconds(60));
        assert_eq!(backoff(4), chrono::Duration::seconds(240));
        assert_eq!(backoff(7), chrono::Duration::seconds(1920));
        assert_eq!(backoff(8), chrono::Duration::seconds(3600));
        assert_eq!(backoff(100), chrono::Duration::seconds(3600));
    }
}
