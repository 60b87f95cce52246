//! Credential formats (DESIGN.md "Credential formats").
//!
//! A secret looks like `gate_key_3kTj…Q9fZ01aBcD`: a readable prefix naming the instance
//! and the kind, 28 base62 characters from the OS CSPRNG (≈167 bits), and a 6-character
//! base62 CRC32 of everything before it, so a typo is refused without a database read
//! and secret scanners can recognise leaked keys. Only the SHA-256 of a secret is stored
//! (keyed with an optional pepper); comparison is in constant time.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::crypto::{constant_time_eq, hex, random_base62};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters in a secret's body.
pub const BODY_LEN: usize = 28;
/// Characters of the checksum suffix.
pub const CHECKSUM_LEN: usize = 6;

/// What a secret is for; its code is part of the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ApiKey,
    ClientSecret,
    RefreshToken,
    PersonalAccessToken,
    AdminToken,
    /// What an API gateway authenticates with on the verify endpoints.
    GatewayToken,
    /// What `/api/v1/login` gives for an API key: accepted wherever the key is.
    StaticToken,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Self::ApiKey => "key",
            Self::ClientSecret => "sec",
            Self::RefreshToken => "rt",
            Self::PersonalAccessToken => "pat",
            Self::AdminToken => "adm",
            Self::GatewayToken => "gw",
            Self::StaticToken => "tok",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "key" => Some(Self::ApiKey),
            "sec" => Some(Self::ClientSecret),
            "rt" => Some(Self::RefreshToken),
            "pat" => Some(Self::PersonalAccessToken),
            "adm" => Some(Self::AdminToken),
            "gw" => Some(Self::GatewayToken),
            "tok" => Some(Self::StaticToken),
            _ => None,
        }
    }
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32_TABLE: [u32; 256] = crc32_table();

/// CRC-32 (IEEE 802.3), as zlib computes it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC32_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

fn encode_checksum(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// A plaintext secret: shown once, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PlainSecret {
    /// A new secret of `kind` for the instance prefix `instance` (e.g. `gate`).
    pub fn generate(instance: &str, kind: Kind) -> Self {
        let mut s = format!("{instance}_{}_{}", kind.code(), random_base62(BODY_LEN));
        let sum = encode_checksum(crc32(s.as_bytes()));
        s.extend(sum.iter().map(|&b| b as char));
        Self(s)
    }

    /// The plaintext, for the one response that reveals it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The readable prefix shown in lists, e.g. `gate_key_`.
    pub fn prefix(&self) -> &str {
        match self.0.rfind('_') {
            Some(i) => &self.0[..=i],
            None => "",
        }
    }

    /// The last four characters shown in lists.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }
}

/// Why a presented secret was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Shape,
    Checksum,
}

/// A presented secret whose shape and checksum are right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub instance: &'a str,
    pub kind: Kind,
}

/// Checks the shape and checksum of a presented secret: no database needed.
pub fn parse(presented: &str) -> Result<Parsed<'_>, Malformed> {
    let tail_start = presented.rfind('_').ok_or(Malformed::Shape)? + 1;
    let (prefix, tail) = presented.split_at(tail_start);
    if tail.len() != BODY_LEN + CHECKSUM_LEN || !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Malformed::Shape);
    }
    let mut parts = prefix.trim_end_matches('_').rsplitn(2, '_');
    let kind = parts
        .next()
        .and_then(Kind::from_code)
        .ok_or(Malformed::Shape)?;
    let instance = parts
        .next()
        .filter(|i| valid_instance(i))
        .ok_or(Malformed::Shape)?;
    let (signed, sum) = presented.split_at(presented.len() - CHECKSUM_LEN);
    if encode_checksum(crc32(signed.as_bytes())) != sum.as_bytes() {
        return Err(Malformed::Checksum);
    }
    Ok(Parsed { instance, kind })
}

/// An instance prefix: 1–16 lower-case letters and digits.
pub fn valid_instance(s: &str) -> bool {
    (1..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Hashes secrets for storage: SHA-256, or HMAC-SHA-256 with a server-side pepper.
#[derive(Clone, Default)]
pub struct SecretHasher {
    pepper: Option<Vec<u8>>,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher([redacted])")
    }
}

impl SecretHasher {
    pub fn new(pepper: Option<Vec<u8>>) -> Self {
        Self { pepper }
    }

    /// The stored form of a secret (lower-case hex of [`SecretHasher::digest`]).
    pub fn hash(&self, secret: &str) -> String {
        hex(&self.digest(secret))
    }

    /// The keyed SHA-256 of a secret: SHA-256, or HMAC-SHA-256 with the pepper.
    pub fn digest(&self, secret: &str) -> [u8; 32] {
        match &self.pepper {
            None => Sha256::digest(secret.as_bytes()).into(),
            Some(pepper) => {
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(pepper)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(secret.as_bytes());
                mac.finalize().into_bytes().into()
            }
        }
    }

    /// Does `presented` hash to `stored`? Constant time in the hash comparison.
    pub fn matches(&self, presented: &str, stored: &str) -> bool {
        constant_time_eq(self.hash(presented).as_bytes(), stored.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn generated_secrets_parse_and_show_prefix_and_last4() {
        let s = PlainSecret::generate("gate", Kind::ApiKey);
        assert!(s.expose().starts_with("gate_key_"));
        assert_eq!(
            s.expose().len(),
            "gate_key_".len() + BODY_LEN + CHECKSUM_LEN
        );
        assert_eq!(s.prefix(), "gate_key_");
        assert_eq!(s.last4(), &s.expose()[s.expose().len() - 4..]);
        assert_eq!(
            parse(s.expose()),
            Ok(Parsed {
                instance: "gate",
                kind: Kind::ApiKey
            })
        );
        let t = PlainSecret::generate("acme2", Kind::ClientSecret);
        assert_eq!(
            parse(t.expose()).map(|p| (p.instance, p.kind)),
            Ok(("acme2", Kind::ClientSecret))
        );
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn every_one_character_typo_is_refused() {
        let s = PlainSecret::generate("gate", Kind::ApiKey);
        let original = s.expose().as_bytes().to_vec();
        let alphabet: Vec<u8> = BASE62.iter().copied().chain(*b"_-").collect();
        let mut tried = 0;
        for i in 0..original.len() {
            for &c in &alphabet {
                if c == original[i] {
                    continue;
                }
                let mut typo = original.clone();
                typo[i] = c;
                let typo = String::from_utf8(typo).unwrap();
                assert!(parse(&typo).is_err(), "typo accepted: {typo}");
                tried += 1;
            }
        }
        assert!(tried > 2000);
        // Dropped and doubled characters too.
        let text = s.expose();
        for i in 0..text.len() {
            let dropped = format!("{}{}", &text[..i], &text[i + 1..]);
            assert!(parse(&dropped).is_err());
        }
    }

    #[test]
    fn malformed_shapes_are_refused() {
        for bad in [
            "",
            "gate",
            "gate_key_",
            "gate_key_short",
            "gate_xxx_0123456789012345678901234567890123",
            "Gate_key_0123456789012345678901234567890123",
            "gate key 0123",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let s = PlainSecret::generate("gate", Kind::ApiKey);
        let mut wrong_sum = s.expose().to_string();
        wrong_sum.replace_range(wrong_sum.len() - 6.., "000000");
        assert_eq!(parse(&wrong_sum), Err(Malformed::Checksum));
    }

    #[test]
    fn no_collisions_across_100k_generations() {
        let mut seen = HashSet::with_capacity(100_000);
        for _ in 0..100_000 {
            assert!(
                seen.insert(
                    PlainSecret::generate("gate", Kind::ApiKey)
                        .expose()
                        .to_string()
                )
            );
        }
    }

    #[test]
    fn hashes_with_and_without_pepper() {
        let plain = SecretHasher::default();
        let peppered = SecretHasher::new(Some(b"pepper".to_vec()));
        let s = PlainSecret::generate("gate", Kind::ApiKey);
        let h1 = plain.hash(s.expose());
        let h2 = peppered.hash(s.expose());
        assert_eq!(h1.len(), 64);
        assert_ne!(h1, h2);
        assert!(plain.matches(s.expose(), &h1));
        assert!(!plain.matches(s.expose(), &h2));
        assert!(peppered.matches(s.expose(), &h2));
        assert!(!h1.contains(&s.expose()[9..20]));
    }
}
