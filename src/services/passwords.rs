//! The throttled password check: sign-in, and re-authentication before a password or
//! email change. One place counts failures, verifies on the hashing pool and clears
//! the count on success, so no caller can forget a step.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::auth::password::PasswordHasher;
use crate::auth::throttle::SignInThrottle;
use crate::crypto::SecretString;
use crate::error::AppResult;
use crate::validate;

/// The outcome of [`check`].
#[derive(Debug)]
pub enum Checked<T> {
    /// The password is right; carries what the lookup found.
    Verified(T),
    /// Wrong password, or no such account (indistinguishable by design).
    Wrong,
    /// Too many failures from this address or for this account: try again later.
    Throttled { retry_after_secs: u64 },
}

/// One password attempt.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub ip: &'a str,
    /// What failures are counted against: the typed address at sign-in,
    /// [`reauth_key`] when a signed-in user confirms their password.
    pub account_key: &'a str,
    pub password: &'a SecretString,
    pub now: DateTime<Utc>,
}

/// The throttle key of a signed-in user re-entering their password: the current
/// password check is a guessing oracle for whoever holds a session, so it is throttled
/// like sign-in.
pub fn reauth_key(user_id: &str) -> String {
    format!("password-change:{user_id}")
}

/// Checks the throttle, then (only if allowed) runs `lookup` for the account and its
/// stored hash and verifies the password against it. A missing account is verified
/// against a dummy hash, so timing does not tell whether it exists. Failures are
/// recorded; a success clears the account's count.
pub async fn check<T>(
    throttle: &SignInThrottle,
    hasher: &PasswordHasher,
    attempt: Attempt<'_>,
    lookup: impl Future<Output = AppResult<Option<(T, String)>>>,
) -> AppResult<Checked<T>> {
    if let Err(retry_after_secs) = throttle.check(attempt.ip, attempt.account_key, attempt.now) {
        return Ok(Checked::Throttled { retry_after_secs });
    }
    let (found, stored) = match lookup.await? {
        Some((found, stored)) => (Some(found), Some(stored)),
        None => (None, None),
    };
    // Longer passwords cannot have been set; cutting keeps the hashing cost bounded.
    let password = SecretString::new(
        attempt
            .password
            .expose()
            .chars()
            .take(validate::PASSWORD_MAX)
            .collect::<String>(),
    );
    let verified = hasher.verify(password, stored).await?;
    match found.filter(|_| verified) {
        Some(found) => {
            throttle.record_success(attempt.account_key);
            Ok(Checked::Verified(found))
        }
        None => {
            throttle.record_failure(attempt.ip, attempt.account_key, attempt.now);
            Ok(Checked::Wrong)
        }
    }
}
