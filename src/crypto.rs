//! Small cryptographic helpers: the CSPRNG handed out through app state, OS randomness,
//! opaque tokens, SHA-256 digests, HMAC signatures and a string type that never prints
//! its contents.

use std::fmt;
use std::sync::Mutex;

use rand::{CryptoRng, RngCore, SeedableRng};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the operating system's CSPRNG.
///
/// The OS generator does not fail on supported platforms once the process runs; if it
/// ever does, continuing with predictable bytes would be worse than stopping.
#[allow(clippy::expect_used)]
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    fill_random(&mut buf);
    buf
}

/// A random base62 string of `len` characters (each ~5.95 bits; rejection sampling keeps
/// the distribution uniform), from the operating system's generator. Code that has the
/// app state draws from its [`Csprng`] instead.
pub fn random_base62(len: usize) -> String {
    base62_from(fill_random, len)
}

fn base62_from(mut fill: impl FnMut(&mut [u8]), len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for b in buf {
            // 248 = 62 * 4: values above would bias the first characters.
            if b < 248 {
                out.push(BASE62[(b % 62) as usize] as char);
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

/// The cryptographically secure generator the application draws its session keys and
/// tokens from, held in app state ("time and randomness are inputs"). In production it
/// is rand's `StdRng` seeded from the operating system; tests may hand in any
/// [`CryptoRng`].
pub struct Csprng(Mutex<Box<dyn CryptoRng + Send>>);

impl fmt::Debug for Csprng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Csprng([redacted])")
    }
}

impl Default for Csprng {
    /// Seeded from the operating system.
    fn default() -> Self {
        Self::new(rand::rngs::StdRng::from_os_rng())
    }
}

impl Csprng {
    pub fn new(rng: impl CryptoRng + Send + 'static) -> Self {
        Self(Mutex::new(Box::new(rng)))
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&self, buf: &mut [u8]) {
        // The generator holds no invariant a panicking holder could break.
        let mut rng = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        rng.fill_bytes(buf);
    }

    /// A random base62 string of `len` characters, like [`random_base62`].
    pub fn base62(&self, len: usize) -> String {
        base62_from(|buf| self.fill(buf), len)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// SHA-256 of `data` as lower-case hex: how tokens are stored at rest.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The instance secret key: signs cookies. Never printed.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// Minimum key material accepted from a key file, in bytes.
    pub const MIN_LEN: usize = 32;

    pub fn new(material: Vec<u8>) -> Self {
        Self(material)
    }

    /// A fresh key, as written into the data directory on first run.
    pub fn generate() -> Self {
        Self(random_bytes(64))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn mac(&self, purpose: &str, value: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac
    }

    /// `value.signature`, where the signature binds the value to `purpose`.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        let tag = self.mac(purpose, value).finalize().into_bytes();
        format!("{value}.{}", hex(&tag))
    }

    /// The value of a string made by [`SecretKey::sign`] for the same purpose, if intact.
    pub fn verify<'a>(&self, purpose: &str, signed: &'a str) -> Option<&'a str> {
        let (value, tag) = signed.rsplit_once('.')?;
        let expected = hex(&self.mac(purpose, value).finalize().into_bytes());
        constant_time_eq(expected.as_bytes(), tag.as_bytes()).then_some(value)
    }
}

/// A string that must not be logged or shown: passwords, tokens, codes.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The plaintext; call only where it is used, never to print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_requested_length_and_alphabet() {
        let s = random_base62(40);
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s, random_base62(40));
    }

    #[test]
    fn the_state_generator_draws_from_the_generator_it_was_given() {
        let seeded = || Csprng::new(rand::rngs::StdRng::seed_from_u64(7));
        let (a, b) = (seeded(), seeded());
        let token = a.base62(40);
        assert_eq!(token.len(), 40);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(token, b.base62(40), "same seed, same tokens");
        assert_ne!(token, a.base62(40));
        assert_ne!(Csprng::default().base62(40), Csprng::default().base62(40));
    }

    #[test]
    fn signatures_verify_only_for_same_purpose_and_value() {
        let key = SecretKey::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let signed = key.sign("session", "abc");
        assert_eq!(key.verify("session", &signed), Some("abc"));
        assert_eq!(key.verify("csrf", &signed), None);
        let tampered = signed.replacen("abc", "abd", 1);
        assert_eq!(key.verify("session", &tampered), None);
        let other = SecretKey::new(b"another key of at least 32 bytes!".to_vec());
        assert_eq!(other.verify("session", &signed), None);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        assert_eq!(format!("{:?}", SecretString::new("hunter2")), "[redacted]");
        assert!(!format!("{:?}", SecretKey::generate()).contains('0'));
    }
}
