//! Access tokens in memory: the signing keys (the newest signs, every unretired one
//! verifies and is published in the JWKS) and a bounded cache of verified tokens, so
//! a token presented again costs a hash lookup, not a signature check.
//!
//! The cache holds only what a signature proved (who the token is for, until when);
//! whether it is still good — its credential, app, subscriptions, a revocation — is
//! read from the verify index on every use, so revoking reaches cached tokens at once.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::crypto::SecretKey;
use crate::db::DbConnection;
use crate::models::oauth::{self as rows, SigningKeyRow};
use crate::signing::{Alg, SigningKey, VerifyingKey, parse_compact};
use crate::verify::index::{AccessRef, DigestKey, DigestMap, Index, uuid_bytes};

/// The claims of an access token (RFC 9068's profile, plus the app and organisation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    /// The product slugs in scope.
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    pub client_id: String,
    pub app_id: String,
    pub org: String,
    /// The credential (client secret or public key) that obtained the token.
    pub cred: String,
}

/// The signing keys an instance holds.
#[derive(Default)]
pub struct Keyring {
    signing: Option<Arc<SigningKey>>,
    published: Vec<Arc<VerifyingKey>>,
}

impl Keyring {
    /// The key that signs new tokens.
    pub fn signing(&self) -> Option<Arc<SigningKey>> {
        self.signing.clone()
    }

    /// The JWKS document's keys.
    pub fn jwks(&self) -> Vec<serde_json::Value> {
        self.published.iter().map(|k| k.jwk.clone()).collect()
    }

    fn key(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.published.iter().find(|k| k.kid == kid).map(|k| &**k),
            // A token without a key id can only be checked against a sole key.
            None if self.published.len() == 1 => self.published.first().map(|k| &**k),
            None => None,
        }
    }

    /// Verifies a token one of these keys signed; its claims, or `None`.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let (compact, alg) = parse_compact(token)?;
        let key = self.key(compact.kid.as_deref())?;
        if key.alg != alg {
            return None;
        }
        key.verify(&compact)
    }

    /// Reads the keys from the database; an error names what is wrong (a key sealed
    /// with another instance secret key).
    pub fn read(conn: &mut DbConnection, secret: &SecretKey) -> Result<Keyring, String> {
        let rows = rows::signing_keys(conn).map_err(|e| e.to_string())?;
        Keyring::from_rows(rows, secret)
    }

    fn from_rows(rows: Vec<SigningKeyRow>, secret: &SecretKey) -> Result<Keyring, String> {
        let mut ring = Keyring::default();
        // Retired keys are deleted by housekeeping (which records a change): every
        // row is published.
        for row in rows {
            let alg = Alg::parse(&row.alg).ok_or_else(|| {
                format!(
                    "signing key {} has an unknown algorithm {:?}",
                    row.kid, row.alg
                )
            })?;
            if ring.signing.is_none() {
                match SigningKey::unseal(secret, &row.kid, alg, &row.private_sealed) {
                    Some(key) => ring.signing = Some(Arc::new(key)),
                    None => tracing::warn!(
                        kid = %row.kid,
                        "a token signing key was sealed with another secret key: give every \
                         instance the same --secret-key-file"
                    ),
                }
            }
            let public = VerifyingKey::from_jwk(&row.public_jwk)
                .ok_or_else(|| format!("signing key {} has an unreadable public key", row.kid))?;
            ring.published.push(Arc::new(public));
        }
        Ok(ring)
    }

    /// The keys, after making a signing key if there is none this instance can open:
    /// the first one on a new database (two instances starting together both try
    /// generation 1; the database keeps exactly one), or the next generation after a
    /// change of secret key.
    pub fn ensure(
        conn: &mut DbConnection,
        secret: &SecretKey,
        alg: Alg,
        now: NaiveDateTime,
    ) -> Result<Keyring, String> {
        // One read decides both questions: a generation computed from a later read
        // could skip past a key another instance has just made.
        let rows = rows::signing_keys(conn).map_err(|e| e.to_string())?;
        let next = rows.first().map_or(1, |k| k.generation + 1);
        let ring = Keyring::from_rows(rows, secret)?;
        if ring.signing.is_some() {
            return Ok(ring);
        }
        insert_generation(conn, secret, alg, next, now)?;
        // Ours, or the one another instance made first.
        Keyring::read(conn, secret)
    }

    /// Adds a new generation that signs from now on; older keys stay published until
    /// `retire_at`, when housekeeping deletes them. Returns the new key id.
    pub fn rotate(
        conn: &mut DbConnection,
        secret: &SecretKey,
        alg: Alg,
        now: NaiveDateTime,
        retire_at: NaiveDateTime,
    ) -> Result<String, String> {
        let next = rows::signing_keys(conn)
            .map_err(|e| e.to_string())?
            .first()
            .map_or(1, |k| k.generation + 1);
        let kid = insert_generation(conn, secret, alg, next, now)?
            .ok_or("another instance rotated the signing key at the same moment; try again")?;
        crate::db::write_transaction(conn, |conn| {
            rows::retire_signing_keys_before(conn, next, retire_at)
        })
        .map_err(|e: diesel::result::Error| e.to_string())?;
        Ok(kid)
    }
}

/// Inserts a new key of `generation` in its own transaction; `None` if another
/// instance took the generation.
fn insert_generation(
    conn: &mut DbConnection,
    secret: &SecretKey,
    alg: Alg,
    generation: i64,
    now: NaiveDateTime,
) -> Result<Option<String>, String> {
    let key = SigningKey::generate(alg);
    let row = SigningKeyRow {
        kid: key.kid.clone(),
        generation,
        alg: alg.as_str().into(),
        public_jwk: key.verifying_key().jwk.to_string(),
        private_sealed: key.seal(secret),
        created_at: now,
        retire_at: None,
    };
    let inserted = crate::db::write_transaction(conn, |conn| rows::insert_signing_key(conn, &row))
        .map_err(|e| e.to_string())?;
    // Other instances publish a later generation (and sign with it, if they can open
    // it); the first is read by every instance as it starts.
    if inserted && generation > 1 {
        crate::db::write_transaction(conn, |conn| {
            crate::models::changes::record(
                conn,
                &crate::models::changes::NewChange::of(
                    crate::models::changes::Kind::SigningKey,
                    now,
                ),
            )
        })
        .map_err(|e: diesel::result::Error| e.to_string())?;
    }
    Ok(inserted.then_some(row.kid))
}

/// A verified token as cached: what the index checks, and the claims for
/// introspection.
#[derive(Debug)]
pub struct Cached {
    pub access: AccessRef,
    pub claims: AccessClaims,
}

/// Verified tokens by digest, bounded; entries leave when they expire.
pub struct TokenCache {
    map: DigestMap<Arc<Cached>>,
    capacity: usize,
}

impl TokenCache {
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            map: DigestMap::default(),
            capacity,
        }
    }

    pub fn get(&self, digest: &DigestKey) -> Option<Arc<Cached>> {
        self.map.get(digest).cloned()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds a verified token; when full, expired entries go first, then everything
    /// (a full cache of live tokens only costs signature checks while it refills).
    pub fn insert(&mut self, digest: DigestKey, cached: Arc<Cached>, now: i64) {
        if self.map.len() >= self.capacity {
            self.map.retain(|_, c| c.access.expires > now);
            if self.map.len() >= self.capacity {
                self.map.clear();
            }
        }
        self.map.insert(digest, cached);
    }
}

/// The cache entry for a token with these claims, its audience resolved to product
/// slots; `None` when its ids are not ours.
pub fn cached_from(index: &Index, claims: AccessClaims) -> Option<Cached> {
    let access = AccessRef {
        credential: uuid_bytes(&claims.cred)?,
        app: uuid_bytes(&claims.app_id)?,
        jti: uuid_bytes(&claims.jti)?,
        expires: claims.exp.saturating_mul(1_000_000),
        scope: index.product_slots(&claims.org, &claims.aud),
    };
    Some(Cached { access, claims })
}
