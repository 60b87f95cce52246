//! Token signing keys and the compact JWS (RFC 7515) form of the access tokens they
//! sign: key generation, sealing the private part for storage, signing, verifying
//! and the public JWK (RFC 7517) each key is published as.
//!
//! The private part of a key is sealed with ChaCha20-Poly1305 under a key derived
//! (HKDF-SHA-256) from the instance secret key, the key id bound as associated data:
//! instances that share the secret key file share the signing keys, and a database
//! dump alone signs nothing. Ed25519 (`EdDSA`) is the default; `ES256` (P-256) is
//! there for gateways that verify only that.
//!
//! Tokens this module signs are verified by it too: one parse, one signature check,
//! the claims decoded once. Client assertions from apps, whose algorithm the client
//! chooses, go through `jsonwebtoken` instead (see `public_keys::assertion_key`).

use std::fmt;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{SecretKey, fill_random};

/// The algorithms access tokens can be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    EdDsa,
    Es256,
}

impl Alg {
    /// The JWS `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::EdDsa => "EdDSA",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "EdDSA" | "Ed25519" | "eddsa" | "ed25519" => Some(Alg::EdDsa),
            "ES256" | "es256" => Some(Alg::Es256),
            _ => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum Private {
    Ed(ed25519_dalek::SigningKey),
    Es256(p256::ecdsa::SigningKey),
}

enum Public {
    Ed(ed25519_dalek::VerifyingKey),
    Es256(p256::ecdsa::VerifyingKey),
}

/// A key that signs: its id, algorithm and private part. Never printed.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    private: Private,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, {}, [redacted])", self.kid, self.alg)
    }
}

/// A published key: what verifies tokens, and its JWK.
pub struct VerifyingKey {
    pub kid: String,
    pub alg: Alg,
    public: Public,
    /// The public JWK (with `kid`, `alg`, `use`).
    pub jwk: serde_json::Value,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({}, {})", self.kid, self.alg)
    }
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// The public JWK members that identify a key (RFC 7638 order: lexicographic).
fn public_members(public: &Public) -> Vec<(&'static str, String)> {
    match public {
        Public::Ed(k) => vec![
            ("crv", "Ed25519".into()),
            ("kty", "OKP".into()),
            ("x", b64(k.as_bytes())),
        ],
        Public::Es256(k) => {
            let point = k.to_encoded_point(false);
            vec![
                ("crv", "P-256".into()),
                ("kty", "EC".into()),
                (
                    "x",
                    b64(point.x().map(|x| x.as_slice()).unwrap_or_default()),
                ),
                (
                    "y",
                    b64(point.y().map(|y| y.as_slice()).unwrap_or_default()),
                ),
            ]
        }
    }
}

/// The RFC 7638 thumbprint of a public key: its key id.
fn thumbprint(public: &Public) -> String {
    let members = public_members(public);
    let canonical: serde_json::Map<String, serde_json::Value> = members
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
        .collect();
    // serde_json's map keeps keys sorted (no `preserve_order`), as RFC 7638 asks.
    let text = serde_json::Value::Object(canonical).to_string();
    b64(&Sha256::digest(text.as_bytes()))
}

fn jwk(public: &Public, kid: &str, alg: Alg) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, v) in public_members(public) {
        map.insert(k.into(), v.into());
    }
    map.insert("kid".into(), kid.into());
    map.insert("alg".into(), alg.as_str().into());
    map.insert("use".into(), "sig".into());
    serde_json::Value::Object(map)
}

impl SigningKey {
    /// A new key from the operating system's generator.
    pub fn generate(alg: Alg) -> SigningKey {
        let private = match alg {
            Alg::EdDsa => {
                let mut seed = [0u8; 32];
                fill_random(&mut seed);
                Private::Ed(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            Alg::Es256 => loop {
                let mut scalar = [0u8; 32];
                fill_random(&mut scalar);
                // Out of range only with probability ~2^-32.
                if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&scalar) {
                    break Private::Es256(k);
                }
            },
        };
        let kid = thumbprint(&public_of(&private));
        SigningKey { kid, alg, private }
    }

    /// The key's published half.
    pub fn verifying_key(&self) -> VerifyingKey {
        let public = public_of(&self.private);
        VerifyingKey {
            jwk: jwk(&public, &self.kid, self.alg),
            kid: self.kid.clone(),
            alg: self.alg,
            public,
        }
    }

    fn secret_bytes(&self) -> Vec<u8> {
        match &self.private {
            Private::Ed(k) => k.to_bytes().to_vec(),
            Private::Es256(k) => k.to_bytes().to_vec(),
        }
    }

    /// The private part sealed under `key` for storage (base64 of nonce ‖ ciphertext).
    pub fn seal(&self, key: &SecretKey) -> String {
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce);
        let secret = self.secret_bytes();
        let sealed = sealer(key)
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &secret,
                    aad: self.kid.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Base64::encode_string(&out)
    }

    /// The key sealed by [`SigningKey::seal`]; `None` if `key` is not the one it was
    /// sealed with or the stored text was changed.
    pub fn unseal(key: &SecretKey, kid: &str, alg: Alg, sealed: &str) -> Option<SigningKey> {
        let bytes = Base64::decode_vec(sealed).ok()?;
        if bytes.len() < 12 + 16 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let secret = sealer(key)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .ok()?;
        let private = match alg {
            Alg::EdDsa => Private::Ed(ed25519_dalek::SigningKey::from_bytes(
                &<[u8; 32]>::try_from(secret.as_slice()).ok()?,
            )),
            Alg::Es256 => Private::Es256(p256::ecdsa::SigningKey::from_slice(&secret).ok()?),
        };
        (thumbprint(&public_of(&private)) == kid).then(|| SigningKey {
            kid: kid.to_string(),
            alg,
            private,
        })
    }

    /// A compact JWS of `claims` with header `{"alg","typ":"at+jwt","kid"}`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        let header =
            serde_json::json!({ "alg": self.alg.as_str(), "typ": "at+jwt", "kid": self.kid });
        let mut token = b64(header.to_string().as_bytes());
        token.push('.');
        token.push_str(&b64(&serde_json::to_vec(claims).unwrap_or_default()));
        let signature = match &self.private {
            Private::Ed(k) => {
                use ed25519_dalek::Signer;
                k.sign(token.as_bytes()).to_bytes().to_vec()
            }
            Private::Es256(k) => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature = k.sign(token.as_bytes());
                s.to_bytes().to_vec()
            }
        };
        token.push('.');
        token.push_str(&b64(&signature));
        token
    }
}

fn public_of(private: &Private) -> Public {
    match private {
        Private::Ed(k) => Public::Ed(k.verifying_key()),
        Private::Es256(k) => Public::Es256(*k.verifying_key()),
    }
}

/// The cipher sealing signing keys, keyed from the instance secret key.
fn sealer(key: &SecretKey) -> ChaCha20Poly1305 {
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"gatehouse token signing keys"), key.as_bytes());
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit of 8160.
    let _ = hkdf.expand(b"seal v1", &mut okm);
    ChaCha20Poly1305::new(Key::from_slice(&okm))
}

/// The parts of a compact JWS, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact<'a> {
    pub kid: Option<String>,
    signed: &'a str,
    claims: &'a str,
    signature: &'a str,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Does `s` look like a compact JWS (three base64url parts)? Cheap; no decoding.
pub fn looks_like_jws(s: &str) -> bool {
    s.len() < 8 * 1024
        && s.bytes().filter(|b| *b == b'.').count() == 2
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl VerifyingKey {
    /// A published key from its stored JWK; `None` if the JWK is not one of ours.
    pub fn from_jwk(jwk_text: &str) -> Option<VerifyingKey> {
        let value: serde_json::Value = serde_json::from_str(jwk_text).ok()?;
        let get = |k: &str| value.get(k).and_then(serde_json::Value::as_str);
        let kid = get("kid")?.to_string();
        let alg = Alg::parse(get("alg")?)?;
        let x = Base64UrlUnpadded::decode_vec(get("x")?).ok()?;
        let public = match alg {
            Alg::EdDsa => Public::Ed(
                ed25519_dalek::VerifyingKey::from_bytes(&<[u8; 32]>::try_from(x.as_slice()).ok()?)
                    .ok()?,
            ),
            Alg::Es256 => {
                let y = Base64UrlUnpadded::decode_vec(get("y")?).ok()?;
                let mut sec1 = vec![4u8];
                sec1.extend(x);
                sec1.extend(y);
                Public::Es256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()?)
            }
        };
        Some(VerifyingKey {
            kid,
            alg,
            public,
            jwk: value,
        })
    }

    /// Checks the signature of `token` and decodes its claims; `None` if the token is
    /// not a JWS this key signed.
    pub fn verify<T: serde::de::DeserializeOwned>(&self, token: &Compact<'_>) -> Option<T> {
        let signature = Base64UrlUnpadded::decode_vec(token.signature).ok()?;
        let ok = match &self.public {
            Public::Ed(k) => {
                let sig = ed25519_dalek::Signature::from_slice(&signature).ok()?;
                k.verify_strict(token.signed.as_bytes(), &sig).is_ok()
            }
            Public::Es256(k) => {
                use p256::ecdsa::signature::Verifier;
                let sig = p256::ecdsa::Signature::from_slice(&signature).ok()?;
                k.verify(token.signed.as_bytes(), &sig).is_ok()
            }
        };
        if !ok {
            return None;
        }
        let claims = Base64UrlUnpadded::decode_vec(token.claims).ok()?;
        serde_json::from_slice(&claims).ok()
    }
}

/// Splits a compact JWS and reads its header: the `alg` must be one of ours, no
/// `crit` extensions. `None` for anything else.
pub fn parse_compact(token: &str) -> Option<(Compact<'_>, Alg)> {
    if !looks_like_jws(token) {
        return None;
    }
    let (signed, signature) = token.rsplit_once('.')?;
    let (header, claims) = signed.split_once('.')?;
    let header: Header =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(header).ok()?).ok()?;
    if header.crit.is_some() {
        return None;
    }
    let alg = Alg::parse(&header.alg).filter(|a| a.as_str() == header.alg)?;
    Some((
        Compact {
            kid: header.kid,
            signed,
            claims,
            signature,
        },
        alg,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Claims {
        sub: String,
        exp: i64,
    }

    #[test]
    fn signs_verifies_and_seals_each_algorithm() {
        let secret = SecretKey::new(vec![7; 32]);
        for alg in [Alg::EdDsa, Alg::Es256] {
            let key = SigningKey::generate(alg);
            let public = key.verifying_key();
            let claims = Claims {
                sub: "gate_cid_x".into(),
                exp: 10,
            };
            let token = key.sign(&claims);
            let (compact, read_alg) = parse_compact(&token).unwrap();
            assert_eq!(read_alg, alg);
            assert_eq!(public.verify::<Claims>(&compact), Some(claims));
            // Tampered claims fail.
            let mut parts: Vec<&str> = token.split('.').collect();
            let other = b64(br#"{"sub":"gate_cid_y","exp":10}"#);
            parts[1] = &other;
            let forged = parts.join(".");
            let (compact, _) = parse_compact(&forged).unwrap();
            assert_eq!(public.verify::<Claims>(&compact), None);
            // Sealed and unsealed: the same key; another instance key cannot open it.
            let sealed = key.seal(&secret);
            let opened = SigningKey::unseal(&secret, &key.kid, alg, &sealed).unwrap();
            assert_eq!(opened.kid, key.kid);
            let other = SecretKey::new(vec![8; 32]);
            assert!(SigningKey::unseal(&other, &key.kid, alg, &sealed).is_none());
            assert!(SigningKey::unseal(&secret, "another-kid", alg, &sealed).is_none());
            // The JWK round-trips.
            let again = VerifyingKey::from_jwk(&public.jwk.to_string()).unwrap();
            assert_eq!(again.kid, key.kid);
            let (compact, _) = parse_compact(&token).unwrap();
            assert!(again.verify::<Claims>(&compact).is_some());
        }
    }

    #[test]
    fn the_key_id_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
        let public = Public::Ed(
            ed25519_dalek::VerifyingKey::from_bytes(
                &<[u8; 32]>::try_from(
                    Base64UrlUnpadded::decode_vec("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
                        .unwrap()
                        .as_slice(),
                )
                .unwrap(),
            )
            .unwrap(),
        );
        assert_eq!(
            thumbprint(&public),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn refuses_what_is_not_a_jws_of_ours() {
        assert!(parse_compact("gate_key_abc").is_none());
        assert!(parse_compact("a.b").is_none());
        let none_alg = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(b"{}"));
        assert!(parse_compact(&none_alg).is_none());
        let hs = format!("{}.{}.sig", b64(br#"{"alg":"HS256"}"#), b64(b"{}"));
        assert!(parse_compact(&hs).is_none());
        let crit = format!(
            "{}.{}.sig",
            b64(br#"{"alg":"EdDSA","crit":["x"]}"#),
            b64(b"{}")
        );
        assert!(parse_compact(&crit).is_none());
    }
}
