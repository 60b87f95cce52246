//! Validation of the public keys JWT apps register (PEM `PUBLIC KEY` or a JWK), so a
//! typo or a pasted private key is refused when it is entered, not at first use.

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use serde_json::Value;

/// The key algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyType {
    pub fn label(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::EcP256 => "EC P-256",
            Self::EcP384 => "EC P-384",
            Self::Ed25519 => "Ed25519",
        }
    }
}

/// A public key that passed validation, kept in the text form it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key_type: KeyType,
    pub text: String,
}

impl PublicKey {
    /// The last four characters of the key material itself (the PEM body without its
    /// padding, or the JWK's `x`, `y` or `n`), so the owner can tell which of their keys
    /// a listed credential is — the PEM's footer or a JWK's closing brace would be the
    /// same for every key.
    pub fn last4(&self) -> String {
        let material: String = if self.text.starts_with('{') {
            let value: Value = serde_json::from_str(&self.text).unwrap_or(Value::Null);
            ["y", "x", "n"]
                .iter()
                .find_map(|k| value.get(k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string()
        } else {
            self.text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .flat_map(str::chars)
                .filter(|c| !c.is_whitespace() && *c != '=')
                .collect()
        };
        let chars: Vec<char> = material.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519_OID: &[u8] = &[0x2b, 0x65, 0x70];

/// Reads one DER element: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Checks a DER SubjectPublicKeyInfo.
fn spki(der_bytes: &[u8]) -> Option<KeyType> {
    let (0x30, body, rest) = der(der_bytes)? else {
        return None;
    };
    if !rest.is_empty() {
        return None;
    }
    let (0x30, alg, after_alg) = der(body)? else {
        return None;
    };
    let (0x03, bits, end) = der(after_alg)? else {
        return None;
    };
    if !end.is_empty() || bits.len() < 2 || bits[0] != 0 {
        return None;
    }
    let key = &bits[1..];
    let (0x06, oid, params) = der(alg)? else {
        return None;
    };
    match oid {
        o if o == RSA_OID => {
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
            let (0x30, seq, _) = der(key)? else {
                return None;
            };
            let (0x02, modulus, rest) = der(seq)? else {
                return None;
            };
            let (0x02, _exp, _) = der(rest)? else {
                return None;
            };
            (modulus.len() >= 256).then_some(KeyType::Rsa)
        }
        o if o == EC_OID => {
            let (0x06, curve, _) = der(params)? else {
                return None;
            };
            match curve {
                c if c == P256_OID && key.len() == 65 && key[0] == 4 => Some(KeyType::EcP256),
                c if c == P384_OID && key.len() == 97 && key[0] == 4 => Some(KeyType::EcP384),
                _ => None,
            }
        }
        o if o == ED25519_OID && key.len() == 32 => Some(KeyType::Ed25519),
        _ => None,
    }
}

fn b64url_len(v: &Value, field: &str) -> Option<usize> {
    Base64UrlUnpadded::decode_vec(v.get(field)?.as_str()?)
        .ok()
        .map(|b| b.len())
}

fn jwk(v: &Value) -> Result<KeyType, String> {
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        if v.get(private).is_some() {
            return Err(
                "This JWK contains private key material. Paste the public key only.".into(),
            );
        }
    }
    let bad = || "The JWK is not a valid RSA, EC (P-256, P-384) or Ed25519 public key.".to_string();
    match v.get("kty").and_then(Value::as_str) {
        Some("RSA") => match (b64url_len(v, "n"), b64url_len(v, "e")) {
            (Some(n), Some(e)) if n >= 256 && (1..=8).contains(&e) => Ok(KeyType::Rsa),
            _ => Err(bad()),
        },
        Some("EC") => match (
            v.get("crv").and_then(Value::as_str),
            b64url_len(v, "x"),
            b64url_len(v, "y"),
        ) {
            (Some("P-256"), Some(32), Some(32)) => Ok(KeyType::EcP256),
            (Some("P-384"), Some(48), Some(48)) => Ok(KeyType::EcP384),
            _ => Err(bad()),
        },
        Some("OKP") => match (v.get("crv").and_then(Value::as_str), b64url_len(v, "x")) {
            (Some("Ed25519"), Some(32)) => Ok(KeyType::Ed25519),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// Validates a pasted public key: a PEM `PUBLIC KEY` block or a JWK (JSON).
pub fn parse(input: &str) -> Result<PublicKey, String> {
    let text = input.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err("Paste the app's public key (PEM or JWK).".into());
    }
    if text.len() > 16 * 1024 {
        return Err("The public key is too long (at most 16 KiB).".into());
    }
    if text.contains("PRIVATE KEY") {
        return Err("This is a private key. Paste the public key only; the private key never leaves your app.".into());
    }
    let key_type = if text.starts_with('{') {
        let value: Value =
            serde_json::from_str(&text).map_err(|_| "The JWK is not valid JSON.".to_string())?;
        jwk(&value)?
    } else if let Some(body) = text
        .strip_prefix("-----BEGIN PUBLIC KEY-----")
        .and_then(|rest| rest.strip_suffix("-----END PUBLIC KEY-----"))
    {
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der_bytes = Base64::decode_vec(&b64)
            .map_err(|_| "The PEM block is not valid base64.".to_string())?;
        spki(&der_bytes).ok_or_else(|| {
            "The PEM key is not a valid RSA (2048 bits or more), EC (P-256, P-384) or Ed25519 public key.".to_string()
        })?
    } else {
        return Err(
            "Paste a PEM block starting with -----BEGIN PUBLIC KEY----- or a JWK in JSON.".into(),
        );
    };
    Ok(PublicKey { key_type, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    // An Ed25519 public key (RFC 8410 example).
    const ED25519_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----";

    #[test]
    fn last_four_characters_come_from_the_key_material() {
        assert_eq!(parse(ED25519_PEM).unwrap().last4(), "xZuE");
        let jwk =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(parse(jwk).unwrap().last4(), "HURo");
        let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert_eq!(parse(ec).unwrap().last4(), "I5a0");
    }

    #[test]
    fn accepts_pem_and_jwk_public_keys() {
        assert_eq!(parse(ED25519_PEM).unwrap().key_type, KeyType::Ed25519);
        let jwk =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(parse(jwk).unwrap().key_type, KeyType::Ed25519);
        let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert_eq!(parse(ec).unwrap().key_type, KeyType::EcP256);
    }

    #[test]
    fn refuses_private_keys_garbage_and_truncation() {
        assert!(
            parse("-----BEGIN PRIVATE KEY-----\nMC4CAQ==\n-----END PRIVATE KEY-----")
                .unwrap_err()
                .contains("private key")
        );
        let private_jwk = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#;
        assert!(parse(private_jwk).unwrap_err().contains("private"));
        assert!(parse("").is_err());
        assert!(parse("hello").is_err());
        assert!(parse("{not json").is_err());
        assert!(parse(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#).is_err());
        let truncated = ED25519_PEM.replace(
            "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
            "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbL",
        );
        assert!(parse(&truncated).is_err());
        assert!(parse("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----").is_err());
    }
}
