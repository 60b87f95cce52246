//! Sign-in throttling with growing delays, per source address and per account.
//!
//! After a few free failures, each further attempt must wait 1 s, 2 s, 4 s … (at most
//! five minutes) after the previous failure. It is never a lockout: an attacker who
//! hammers someone's account only delays that account by minutes, and a success
//! clears the account's count. The answer does not depend on whether the account
//! exists. Counts live in memory per instance and fade after a quiet quarter hour.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

const FREE_FAILURES_PER_ACCOUNT: u32 = 5;
const FREE_FAILURES_PER_IP: u32 = 20;
const MAX_DELAY_SECS: i64 = 300;
const FORGET_AFTER_MINUTES: i64 = 15;
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

fn delay(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::zero();
    }
    let exp = (failures - free).min(20);
    Duration::seconds((1i64 << exp).min(MAX_DELAY_SECS))
}

fn keys(ip: &str, account: &str) -> [(String, u32); 2] {
    [
        (format!("ip:{ip}"), FREE_FAILURES_PER_IP),
        (
            format!("account:{}", account.to_lowercase()),
            FREE_FAILURES_PER_ACCOUNT,
        ),
    ]
}

impl SignInThrottle {
    /// `Err(seconds)` when an attempt from `ip` for `account` must wait.
    pub fn check(&self, ip: &str, account: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::zero();
        for (key, free) in keys(ip, account) {
            if let Some(e) = entries.get(&key)
                && now - e.last_failure < Duration::minutes(FORGET_AFTER_MINUTES)
            {
                let until = e.last_failure + delay(e.failures, free);
                if until > now {
                    wait = wait.max(until - now);
                }
            }
        }
        if wait > Duration::zero() {
            Err(u64::try_from(wait.num_seconds().max(1)).unwrap_or(1))
        } else {
            Ok(())
        }
    }

    pub fn record_failure(&self, ip: &str, account: &str, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now - e.last_failure < Duration::minutes(FORGET_AFTER_MINUTES));
        }
        for (key, _) in keys(ip, account) {
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                last_failure: now,
            });
            if now - e.last_failure >= Duration::minutes(FORGET_AFTER_MINUTES) {
                e.failures = 0;
            }
            e.failures += 1;
            e.last_failure = now;
        }
    }

    /// Like [`SignInThrottle::check`] for actions limited per source address only
    /// (`kind` names the action: setup attempts, sign-ups).
    pub fn check_address(&self, kind: &str, ip: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(e) = entries.get(&format!("{kind}:{ip}")) else {
            return Ok(());
        };
        if now - e.last_failure >= Duration::minutes(FORGET_AFTER_MINUTES) {
            return Ok(());
        }
        let until = e.last_failure + delay(e.failures, FREE_FAILURES_PER_IP);
        if until > now {
            Err(u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1))
        } else {
            Ok(())
        }
    }

    /// Counts one attempt of `kind` from `ip`.
    pub fn record_address(&self, kind: &str, ip: &str, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now - e.last_failure < Duration::minutes(FORGET_AFTER_MINUTES));
        }
        let e = entries.entry(format!("{kind}:{ip}")).or_insert(Entry {
            failures: 0,
            last_failure: now,
        });
        if now - e.last_failure >= Duration::minutes(FORGET_AFTER_MINUTES) {
            e.failures = 0;
        }
        e.failures += 1;
        e.last_failure = now;
    }

    pub fn record_success(&self, account: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&format!("account:{}", account.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_free_failures_and_fade() {
        let t = SignInThrottle::default();
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..4 {
            t.record_failure("1.2.3.4", "ada@example.com", start);
            assert_eq!(t.check("1.2.3.4", "ada@example.com", start), Ok(()));
        }
        t.record_failure("1.2.3.4", "ada@example.com", start);
        assert_eq!(t.check("1.2.3.4", "ADA@example.com", start), Err(1));
        assert_eq!(
            t.check("1.2.3.4", "ada@example.com", start + Duration::seconds(1)),
            Ok(())
        );
        t.record_failure("1.2.3.4", "ada@example.com", start);
        assert_eq!(t.check("9.9.9.9", "ada@example.com", start), Err(2));
        // Another account from the same address is not slowed yet.
        assert_eq!(t.check("1.2.3.4", "bob@example.com", start), Ok(()));
        // A quiet quarter hour forgets everything.
        assert_eq!(
            t.check("1.2.3.4", "ada@example.com", start + Duration::minutes(16)),
            Ok(())
        );
        t.record_success("ada@example.com");
        assert_eq!(t.check("1.2.3.4", "ada@example.com", start), Ok(()));
    }

    #[test]
    fn address_limits_are_per_address() {
        let t = SignInThrottle::default();
        let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..20 {
            assert_eq!(t.check_address("signup", "1.2.3.4", now), Ok(()));
            t.record_address("signup", "1.2.3.4", now);
        }
        assert_eq!(t.check_address("signup", "1.2.3.4", now), Err(1));
        assert_eq!(t.check_address("signup", "5.6.7.8", now), Ok(()));
        assert_eq!(t.check_address("setup", "1.2.3.4", now), Ok(()));
    }

    #[test]
    fn delays_are_capped() {
        assert_eq!(delay(40, 5), Duration::seconds(MAX_DELAY_SECS));
        assert_eq!(delay(4, 5), Duration::zero());
        assert_eq!(delay(7, 5), Duration::seconds(4));
    }
}
