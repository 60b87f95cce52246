//! Password hashing (Argon2id, 19 MiB, t=2) on a dedicated, bounded pool of threads,
//! so that a flood of sign-ins can neither starve the database's blocking pool nor
//! queue without limit: when the queue is full, callers get a clear 503.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

use crate::crypto::{SecretString, random_base62};
use crate::error::{AppError, AppResult};
use crate::validate;

type Job = Box<dyn FnOnce() + Send>;

/// Hashes a password with the default Argon2id parameters (m=19456 KiB, t=2, p=1).
pub fn hash_blocking(password: &SecretString) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("argon2 hash: {e}")))
}

/// Checks a password against a stored PHC string. With no stored hash, checks against
/// a fixed dummy so unknown accounts take as long as wrong passwords.
pub fn verify_blocking(password: &SecretString, stored: Option<&str>) -> bool {
    let stored = match stored {
        Some(s) => s,
        None => dummy_hash(),
    };
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok();
    ok && stored != dummy_hash()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking(&SecretString::new(random_base62(24))).unwrap_or_default())
}

/// A fixed set of threads that hash passwords, fed through a bounded queue.
#[derive(Clone)]
pub struct PasswordHasher {
    queue: SyncSender<Job>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHasher")
    }
}

impl PasswordHasher {
    /// Starts `threads` hashing threads with room for `queue` waiting jobs.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || worker(&rx))?;
        }
        // Warm the dummy hash off the request path.
        let _ = tx.try_send(Box::new(|| {
            dummy_hash();
        }));
        Ok(Self { queue: tx })
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(AppError::Unavailable(
                    "Too many sign-ins are being processed right now. Please try again in a moment."
                        .into(),
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::internal("password hashing threads are gone"));
            }
        }
        rx.await
            .map_err(|_| AppError::internal("password hashing job was dropped"))
    }

    pub async fn hash(&self, password: SecretString) -> AppResult<String> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Checks a new password ([`validate::new_password`] against `context`) on the
    /// hashing threads: zxcvbn can take a second over a hundred crafted characters, which
    /// must not hold an HTTP worker, and the bounded queue caps how many wait.
    pub async fn check_new(
        &self,
        password: SecretString,
        context: Vec<String>,
    ) -> AppResult<Result<(), String>> {
        self.run(move || {
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            validate::new_password(password.expose(), &context)
        })
        .await
    }

    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> AppResult<bool> {
        self.run(move || verify_blocking(&password, stored.as_deref()))
            .await
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let guard = match rx.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            guard.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_unknown_users_never_match() {
        let pw = SecretString::new("correct horse battery");
        let hash = hash_blocking(&pw).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking(&pw, Some(&hash)));
        assert!(!verify_blocking(&SecretString::new("wrong"), Some(&hash)));
        assert!(!verify_blocking(&pw, None));
        assert!(!verify_blocking(&pw, Some("not a phc string")));
    }
}
