//! Validation of the public keys JWT apps register (PEM `PUBLIC KEY` or a JWK), so a
//! typo or a pasted private key is refused when it is entered, not at first use.
//!
//! Only keys for the signature algorithms client assertions are verified with are
//! accepted: EdDSA (Ed25519), ES256 (a P-256 point on the curve), ES384 (a P-384 point
//! on the curve) and RS256 (a 2048- to 4096-bit modulus, an odd exponent from 3 to
//! 2^33 − 1: what both RSA verifiers the token endpoint may use take). A JWK's
//! optional `alg` must name the one algorithm its key is for, its `use` must be `sig`.

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
    /// The JWS algorithm (RFC 7518, RFC 8037) a key of this type verifies.
    pub fn algorithm(self) -> &'static str {
        match self {
            Self::Rsa => "RS256",
            Self::EcP256 => "ES256",
            Self::EcP384 => "ES384",
            Self::Ed25519 => "EdDSA",
        }
    }

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

/// RSA moduli accepted, in bits: smaller keys are breakable or soon will be; larger
/// ones are refused by some RSA verifiers.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 4096;
/// The largest public exponent RSA verifiers take (2^33 − 1).
const RSA_MAX_EXPONENT: u64 = (1 << 33) - 1;

/// A big-endian unsigned integer without its leading zero bytes.
fn magnitude(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Is this (modulus, exponent) pair, big-endian, one an RS256 verifier takes? The
/// modulus is counted in bits, not bytes: DER's sign byte or a JWK's leading zeros
/// must not make a 2040-bit key look like 2048 bits.
fn rsa_ok(modulus: &[u8], exponent: &[u8]) -> bool {
    let n = magnitude(modulus);
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    let e = magnitude(exponent);
    let exponent = if e.len() <= 8 {
        e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    } else {
        u64::MAX
    };
    (RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits)
        && n.last().is_some_and(|b| b & 1 == 1)
        && (3..=RSA_MAX_EXPONENT).contains(&exponent)
        && exponent & 1 == 1
}

/// Is `sec1` (0x04 ‖ x ‖ y) a point on the curve, other than the identity?
fn ec_point_ok(curve: KeyType, sec1: &[u8]) -> bool {
    if sec1.first() != Some(&4) {
        return false;
    }
    match curve {
        KeyType::EcP256 => sec1.len() == 65 && p256::PublicKey::from_sec1_bytes(sec1).is_ok(),
        KeyType::EcP384 => sec1.len() == 97 && p384::PublicKey::from_sec1_bytes(sec1).is_ok(),
        KeyType::Rsa | KeyType::Ed25519 => false,
    }
}

fn b64url_of(bytes: &[u8]) -> Value {
    Value::String(Base64UrlUnpadded::encode_string(bytes))
}

/// Checks a DER SubjectPublicKeyInfo; its type and its JWK form.
fn spki(der_bytes: &[u8]) -> Option<(KeyType, Value)> {
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
            let (0x02, exponent, _) = der(rest)? else {
                return None;
            };
            rsa_ok(modulus, exponent).then(|| {
                let jwk = serde_json::json!({
                    "kty": "RSA",
                    "n": b64url_of(magnitude(modulus)),
                    "e": b64url_of(magnitude(exponent)),
                });
                (KeyType::Rsa, jwk)
            })
        }
        o if o == EC_OID => {
            let (0x06, curve, _) = der(params)? else {
                return None;
            };
            let curve = match curve {
                c if c == P256_OID => KeyType::EcP256,
                c if c == P384_OID => KeyType::EcP384,
                _ => return None,
            };
            let (name, size) = match curve {
                KeyType::EcP256 => ("P-256", 32),
                _ => ("P-384", 48),
            };
            ec_point_ok(curve, key).then(|| {
                let jwk = serde_json::json!({
                    "kty": "EC",
                    "crv": name,
                    "x": b64url_of(&key[1..=size]),
                    "y": b64url_of(&key[1 + size..]),
                });
                (curve, jwk)
            })
        }
        o if o == ED25519_OID && key.len() == 32 => Some((
            KeyType::Ed25519,
            serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url_of(key) }),
        )),
        _ => None,
    }
}

fn b64url(v: &Value, field: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(v.get(field)?.as_str()?).ok()
}

/// The key type of a JWK's material, if it is a valid public key of an accepted type.
fn jwk_key_type(v: &Value) -> Option<KeyType> {
    match v.get("kty").and_then(Value::as_str)? {
        "RSA" => rsa_ok(&b64url(v, "n")?, &b64url(v, "e")?).then_some(KeyType::Rsa),
        "EC" => {
            let (curve, size) = match v.get("crv").and_then(Value::as_str)? {
                "P-256" => (KeyType::EcP256, 32),
                "P-384" => (KeyType::EcP384, 48),
                _ => return None,
            };
            let (x, y) = (b64url(v, "x")?, b64url(v, "y")?);
            if x.len() != size || y.len() != size {
                return None;
            }
            let sec1: Vec<u8> = std::iter::once(4).chain(x).chain(y).collect();
            ec_point_ok(curve, &sec1).then_some(curve)
        }
        "OKP" => (v.get("crv").and_then(Value::as_str)? == "Ed25519"
            && b64url(v, "x")?.len() == 32)
            .then_some(KeyType::Ed25519),
        _ => None,
    }
}

fn jwk(v: &Value) -> Result<KeyType, String> {
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        if v.get(private).is_some() {
            return Err(
                "This JWK contains private key material. Paste the public key only.".into(),
            );
        }
    }
    let key_type = jwk_key_type(v).ok_or_else(|| {
        "The JWK is not a valid RSA (2048 to 4096 bits), EC (P-256, P-384) or Ed25519 public key."
            .to_string()
    })?;
    if let Some(alg) = v.get("alg")
        && alg.as_str() != Some(key_type.algorithm())
    {
        return Err(format!(
            "The JWK's \"alg\" must be {} for this {} key (or be left out): client assertions are verified with EdDSA, ES256, ES384 or RS256 only.",
            key_type.algorithm(),
            key_type.label()
        ));
    }
    if v.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return Err(
            "The JWK's \"use\" must be \"sig\" (or be left out): the key verifies signatures."
                .into(),
        );
    }
    Ok(key_type)
}

/// A stored public key (PEM or JWK, as [`parse`] accepted it) as a public JWK with
/// the algorithm it verifies: what client assertions are checked with.
pub fn as_jwk(text: &str) -> Option<(KeyType, Value)> {
    let text = text.trim();
    if text.starts_with('{') {
        let value: Value = serde_json::from_str(text).ok()?;
        let key_type = jwk_key_type(&value)?;
        let mut public = serde_json::Map::new();
        for field in ["kty", "crv", "x", "y", "n", "e"] {
            if let Some(v) = value.get(field) {
                public.insert(field.into(), v.clone());
            }
        }
        return Some((key_type, Value::Object(public)));
    }
    let body = text
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    spki(&Base64::decode_vec(&b64).ok()?)
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
        spki(&der_bytes).map(|(t, _)| t).ok_or_else(|| {
            "The PEM key is not a valid RSA (2048 to 4096 bits), EC (P-256, P-384) or Ed25519 public key.".to_string()
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

    // Keys made with OpenSSL for these tests.
    const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqwFUe3mzuKTmR5WGNXO+xIHqp0Fz\nN7SmKXIQbIsQtvUxfJVC3ECgHn+64yY9k6xQLjkIEqMbuL5C3tfYDjkmGw==\n-----END PUBLIC KEY-----";
    const P384_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEOugXHE1nDVwgR3FyUDZ455Akdj2qZykA\nDtG6jNDzaJX0ktuZEGqvSzVv6FYPdxyem5ZW+kn2QmrYfceN4PDeorezwyxGV1Ju\nKESPE7ORl33shsKrz18b6gAGlsroZQ/f\n-----END PUBLIC KEY-----";
    const P384_JWK: &str = r#"{"kty":"EC","crv":"P-384","x":"wEB8zvSTncVT-zPKF3SAaLcWxrCYtTrxEL2TLBdkpI65SSBhPPMzgQ8H9OsVp2lt","y":"VLzN5rTBpxlYwLDrGx0KvJEhY5TXvUmn_gFSMrnhyU9KesE4qo1glLuuCgy9N5NB"}"#;
    const RSA_2048_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5WsuRJoT8Oi2FgvMaeul\nJ+yoAHCwYG7G1Sm4G27KvxDmdItJoEauN4DsbIPiC3RydDre6z0U9Q2VBOtqJvFA\ncS9wEONV7HBfiAxT3fhi7wePsr5srGEjM8tpr9vuB5JoYQQEDyA8uJRsf2Gon2FD\nxYZksv1rjkYwv7cUF5DX3V2pqcnSQYu8ck/VPnuzVNosdGxV3MvU4OJEmz/9DFDw\nKO9wjfaYoSd2bPQkEEeDRmfG8Ht5cfXJahWcthuvFTZU+vwFkpBFSMBNJwnxb6Eu\nVwEhkfvgBe6e/NA/sitvPppy1DZeuB4U6YxUHBh0hM1l7I2eQrIF2ZlE/I+deGoe\niQIDAQAB\n-----END PUBLIC KEY-----";
    const RSA_1024_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDGX2IiCmCCBZSezZXNW12gQfvm\ncNSeO9eJfUAuYnOXfWHG+QQRSpincmBy+Q/V0i9FxsaE1+B1ka9wMIWYylkgdfEE\n8mpyRwiqpQu+pL1vwDuAeDMD9UW98ccSNn5P5x5z3gYII2hdwg/c9OG67+edmDAm\nLyp8SCP33+5NiugNSwIDAQAB\n-----END PUBLIC KEY-----";

    /// One DER element.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    fn pem(der: &[u8]) -> String {
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            Base64::encode_string(der)
        )
    }

    /// A PEM RSA public key with this modulus and exponent (each as DER writes it).
    fn rsa_pem(modulus: &[u8], exponent: &[u8]) -> String {
        let alg = [tlv(0x06, RSA_OID), vec![0x05, 0x00]].concat();
        let key = tlv(0x30, &[tlv(0x02, modulus), tlv(0x02, exponent)].concat());
        let bits = tlv(0x03, &[&[0u8][..], &key].concat());
        pem(&tlv(0x30, &[tlv(0x30, &alg), bits].concat()))
    }

    /// A PEM EC public key on `curve` with this SEC1 point.
    fn ec_pem(curve: &[u8], point: &[u8]) -> String {
        let alg = [tlv(0x06, EC_OID), tlv(0x06, curve)].concat();
        let bits = tlv(0x03, &[&[0u8][..], point].concat());
        pem(&tlv(0x30, &[tlv(0x30, &alg), bits].concat()))
    }

    /// The SEC1 point inside a PEM EC key.
    fn point_of(pem_text: &str) -> Vec<u8> {
        let b64: String = pem_text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = Base64::decode_vec(&b64).unwrap();
        let len = if der.len() > 100 { 97 } else { 65 };
        der[der.len() - len..].to_vec()
    }

    #[test]
    fn ec_keys_must_be_points_on_their_curve() {
        assert_eq!(parse(P256_PEM).unwrap().key_type, KeyType::EcP256);
        assert_eq!(parse(P384_PEM).unwrap().key_type, KeyType::EcP384);
        assert_eq!(parse(P384_JWK).unwrap().key_type, KeyType::EcP384);
        let p256 = point_of(P256_PEM);
        let p384 = point_of(P384_PEM);
        assert_eq!(
            parse(&ec_pem(P256_OID, &p256)).unwrap().key_type,
            KeyType::EcP256
        );

        // The same keys with one bit of y changed are no longer on the curve.
        for (curve, point) in [(P256_OID, &p256), (P384_OID, &p384)] {
            let mut off = point.clone();
            let last = off.len() - 1;
            off[last] ^= 1;
            assert!(parse(&ec_pem(curve, &off)).is_err(), "{curve:?}");
            // Nor is (0, 0), nor a point of one curve under the other's name.
            let mut zero = vec![0u8; point.len()];
            zero[0] = 4;
            assert!(parse(&ec_pem(curve, &zero)).is_err());
        }
        assert!(parse(&ec_pem(P384_OID, &p256)).is_err());
        assert!(parse(&ec_pem(P256_OID, &p384)).is_err());

        let on = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert!(parse(on).is_ok());
        let off = on.replace("\"y\":\"x_FE", "\"y\":\"y_FE");
        assert!(parse(&off).unwrap_err().contains("not a valid"), "{off}");
        let off = P384_JWK.replace("\"y\":\"VLzN", "\"y\":\"WLzN");
        assert!(parse(&off).is_err());
        let zero = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{0}","y":"{0}"}}"#,
            Base64UrlUnpadded::encode_string(&[0u8; 32])
        );
        assert!(parse(&zero).is_err());
    }

    #[test]
    fn rsa_keys_need_2048_to_4096_bits_and_a_usable_exponent() {
        assert_eq!(parse(RSA_2048_PEM).unwrap().key_type, KeyType::Rsa);
        assert!(parse(RSA_1024_PEM).is_err());
        let f4 = [0x01, 0x00, 0x01];
        let odd = |bits: usize| {
            // The top bit set, odd: exactly `bits` bits.
            let mut n = vec![0xff_u8; bits.div_ceil(8)];
            let spare = n.len() * 8 - bits;
            n[0] >>= spare;
            n
        };
        let der_int = |n: Vec<u8>| {
            if n[0] & 0x80 != 0 {
                [vec![0], n].concat()
            } else {
                n
            }
        };
        assert!(parse(&rsa_pem(&der_int(odd(2048)), &f4)).is_ok());
        assert!(parse(&rsa_pem(&der_int(odd(4096)), &f4)).is_ok());
        // 2040 bits take 256 bytes in DER (the sign byte), and are still too few.
        assert!(parse(&rsa_pem(&der_int(odd(2040)), &f4)).is_err());
        assert!(parse(&rsa_pem(&der_int(odd(2047)), &f4)).is_err());
        assert!(parse(&rsa_pem(&der_int(odd(4097)), &f4)).is_err());
        // An even modulus, an exponent of 1, an even or a huge one.
        let mut even = odd(2048);
        even[255] = 0xfe;
        assert!(parse(&rsa_pem(&der_int(even), &f4)).is_err());
        for e in [&[1u8][..], &[2], &[0x01, 0x00, 0x00], &[0x04, 0, 0, 0, 1]] {
            assert!(parse(&rsa_pem(&der_int(odd(2048)), e)).is_err(), "{e:?}");
        }

        let jwk = |n: &[u8], e: &[u8]| {
            format!(
                r#"{{"kty":"RSA","n":"{}","e":"{}"}}"#,
                Base64UrlUnpadded::encode_string(n),
                Base64UrlUnpadded::encode_string(e)
            )
        };
        assert!(parse(&jwk(&odd(2048), &f4)).is_ok());
        // A 2040-bit modulus padded with a zero byte to 256 bytes.
        assert!(parse(&jwk(&[vec![0], odd(2040)].concat(), &f4)).is_err());
        assert!(parse(&jwk(&odd(2048), &[3])).is_ok());
        assert!(parse(&jwk(&odd(2048), &[1])).is_err());
    }

    #[test]
    fn a_jwk_names_only_the_algorithm_its_key_verifies() {
        let ed =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo""#;
        let with = |extra: &str| format!("{ed},{extra}}}");
        assert!(parse(&with(r#""alg":"EdDSA""#)).is_ok());
        assert!(parse(&with(r#""alg":"EdDSA","use":"sig""#)).is_ok());
        for refused in [
            r#""alg":"none""#,
            r#""alg":"None""#,
            r#""alg":"HS256""#,
            r#""alg":"ES256""#,
            r#""alg":"""#,
            r#""alg":null"#,
            r#""alg":["EdDSA"]"#,
            r#""use":"enc""#,
        ] {
            let err = parse(&with(refused)).unwrap_err();
            assert!(err.contains("JWK"), "{refused}: {err}");
        }
        let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
        assert!(parse(&format!(r#"{ec},"alg":"ES256"}}"#)).is_ok());
        assert!(parse(&format!(r#"{ec},"alg":"ES384"}}"#)).is_err());
        assert!(parse(&format!(r#"{ec},"alg":"none"}}"#)).is_err());
        let p384 = P384_JWK.trim_end_matches('}');
        assert!(parse(&format!(r#"{p384},"alg":"ES384"}}"#)).is_ok());
        assert!(parse(&format!(r#"{p384},"alg":"ES256"}}"#)).is_err());
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
