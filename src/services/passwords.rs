//! The throttled password check: sign-in, and re-authentication before a password or
//! email change. One place counts failures, verifies on the hashing pool and clears
//! the count on success, so no caller can forget a step.
//!
//! And the check of every new password — sign-up, setup, invitation, reset, change and
//! the command line — against the account's and the instance's own words
//! ([`check_new`], [`check_new_blocking`]).

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::auth::password::PasswordHasher;
use crate::auth::throttle::SignInThrottle;
use crate::config::Config;
use crate::crypto::SecretString;
use crate::error::{AppError, AppResult};
use crate::validate;

/// The throttle's name for new-password checks ([`check_new`]).
const NEW_PASSWORD_CHECKS: &str = "new-password";

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

/// The instance's names a password must not be built on: the public URL's host and the
/// name the mail comes from (`Gatehouse <…>`); "gatehouse" itself is always included.
fn instance_names(config: &Config) -> Vec<String> {
    let mut names = vec![config.public_url.host().to_string()];
    if let Some(name) = &config.mail_from.name {
        names.push(name.clone());
    }
    names
}

/// The words a new password of the account with these `account_words` (its email and
/// display name, and an organisation's name where one is being made or joined) is
/// checked against, with the instance's names.
pub fn new_password_context(config: &Config, account_words: &[&str]) -> Vec<String> {
    let instance = instance_names(config);
    let mut words: Vec<&str> = account_words.to_vec();
    words.extend(instance.iter().map(String::as_str));
    validate::password_context(&words)
}

/// Checks a new password on the hashing threads (zxcvbn's work on a crafted hundred
/// characters must not hold an HTTP worker). `Ok(Err(message))` says why it is refused
/// and how to choose a better one; `Err` is a full hashing queue or a lost thread.
///
/// Scoring a crafted hundred characters can take a second of a hashing thread, so the
/// checks are counted per source address (per account for a signed-in user: pass
/// `user:<id>`) like setup attempts: past the free ones the request is refused with 429
/// before any scoring, and a flood from one source cannot keep the hashing threads (and
/// so every sign-in) busy.
pub async fn check_new(
    (throttle, source, now): (&SignInThrottle, &str, DateTime<Utc>),
    hasher: &PasswordHasher,
    config: &Config,
    password: &SecretString,
    account_words: &[&str],
) -> AppResult<Result<(), String>> {
    if let Err(retry_after_secs) = throttle.check_address(NEW_PASSWORD_CHECKS, source, now) {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    throttle.record_address(NEW_PASSWORD_CHECKS, source, now);
    hasher
        .check_new(
            password.clone(),
            new_password_context(config, account_words),
        )
        .await
}

/// [`check_new`] on the calling thread, for the command line.
pub fn check_new_blocking(
    config: &Config,
    password: &SecretString,
    account_words: &[&str],
) -> Result<(), String> {
    let context = new_password_context(config, account_words);
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    validate::new_password(password.expose(), &context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    /// The instance's names come from its configuration: the public URL's host and the
    /// mail sender's name.
    #[test]
    fn the_instance_names_count_against_a_new_password() {
        let config = Config::resolve(&Settings {
            public_url: Some("https://portal.zorblatt.example".into()),
            mail_from: Some("Initrode Portal <portal@zorblatt.example>".into()),
            ..Settings::default()
        })
        .unwrap();
        let account = ["ada@example.com", "Ada Lovelace"];
        for weak in [
            "portal.zorblatt.example!",
            "Initrode Portal 7",
            "gatehouse2026!",
        ] {
            let message =
                check_new_blocking(&config, &SecretString::new(weak), &account).expect_err(weak);
            assert!(
                message.contains("the name of this site"),
                "{weak}: {message}"
            );
        }
        // Strong on any other instance.
        let elsewhere = Config::resolve(&Settings::default()).unwrap();
        for strong in ["portal.zorblatt.example!", "Initrode Portal 7"] {
            assert!(
                check_new_blocking(&elsewhere, &SecretString::new(strong), &account).is_ok(),
                "{strong}"
            );
        }
        assert!(
            check_new_blocking(
                &config,
                &SecretString::new("correct horse battery"),
                &account
            )
            .is_ok()
        );
    }
}
