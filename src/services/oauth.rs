//! OAuth2 (RFC 6749) and the `/api/v1/login` exchange: authenticating clients (a
//! client secret, looked up in the verify index by its digest; or a signed client
//! assertion, RFC 7523), narrowing the scope to what the app is approved for, issuing
//! access tokens (JWTs signed by the instance key; nothing written), refresh tokens
//! rotated on every use with reuse detection, static tokens for API keys, and
//! revocation (RFC 7009).

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::config::TokenSettings;
use crate::credentials::{self, Kind, PlainSecret, SecretHasher};
use crate::db::{DbConnection, write_transaction};
use crate::models::new_id;
use crate::models::oauth::{self as rows, RefreshToken, StaticToken};
use crate::services::Ctx;
use crate::verify::acceptance::Reason;
use crate::verify::index::{
    ClientBy, ClientView, CredKind, micros, naive, uuid_bytes, uuid_string,
};
use crate::verify::tokens::AccessClaims;
use crate::verify::verifier::Verifier;

/// The `client_assertion_type` of RFC 7523 client authentication.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The furthest ahead a client assertion's `exp` may be.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Clock difference tolerated on an assertion's `exp`, `iat` and `nbf`.
const LEEWAY: i64 = 30;
/// Live static tokens kept per API key: a new one past this revokes the oldest.
pub const STATIC_TOKENS_PER_KEY: usize = 20;

/// The error codes of RFC 6749 §5.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
        }
    }
}

/// A refusal, with a sentence for the person reading the client's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
        }
    }
}

/// Why an OAuth operation did not complete: a refusal, or the database.
#[derive(Debug)]
pub enum Failure {
    Refused(OAuthError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        Failure::Refused(e)
    }
}

fn refused(code: ErrorCode, description: impl Into<String>) -> Failure {
    Failure::Refused(OAuthError::new(code, description))
}

/// What issuing needs: the verifier (index and signing keys), the secret hasher, the
/// settings and the instance's public URL.
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    pub verifier: &'a Verifier,
    pub hasher: &'a SecretHasher,
    pub settings: TokenSettings,
    /// The public URL (the tokens' `iss`), without a trailing slash.
    pub public_url: &'a str,
    /// The instance part of credential prefixes (`gate`).
    pub prefix: &'a str,
}

impl Issuer<'_> {
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.public_url)
    }
}

/// A product an authenticated client is approved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductGrant {
    pub slug: String,
    pub scopes: Vec<String>,
    /// Seconds.
    pub max_lifetime: Option<u64>,
}

/// An authenticated client: its app and the credential it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub app_id: String,
    pub org_id: String,
    pub client_id: String,
    pub credential_id: String,
    /// Microseconds since the epoch.
    pub credential_expires: Option<i64>,
    pub grants: Vec<ProductGrant>,
}

const WRONG_SECRET: &str = "The client id or secret is wrong.";

fn state_refusal(reason: Reason, not_found: &str) -> OAuthError {
    let why = match reason {
        Reason::Revoked => "The credential is revoked.",
        Reason::Expired => "The credential has expired.",
        Reason::Suspended => "The app is suspended.",
        Reason::Rejected => "The app was rejected.",
        Reason::Pending => "The app is waiting for approval.",
        _ => not_found,
    };
    OAuthError::new(ErrorCode::InvalidClient, why)
}

/// The client of a credential the index found, if it may obtain tokens now.
fn client_of(
    view: Option<ClientView<'_>>,
    kinds: &[CredKind],
    not_found: &str,
) -> Result<Client, OAuthError> {
    let view = view
        .filter(|v| kinds.contains(&v.kind))
        .ok_or_else(|| state_refusal(Reason::NotFound, not_found))?;
    if !view.reason.is_valid() {
        return Err(state_refusal(view.reason, not_found));
    }
    let client_id = view.found.client_id().unwrap_or_default().to_string();
    Ok(Client {
        app_id: uuid_string(&view.found.app_id()),
        org_id: view.found.org_id().to_string(),
        client_id,
        credential_id: uuid_string(&view.found.credential_id),
        credential_expires: view.found.expires,
        grants: view
            .grants()
            .map(|g| ProductGrant {
                slug: g.slug.to_string(),
                scopes: g.scopes.iter().map(|s| s.to_string()).collect(),
                max_lifetime: g.max_lifetime,
            })
            .collect(),
    })
}

/// `client_secret_basic` / `client_secret_post`: a digest lookup in the index, no
/// database and no password hash.
pub fn authenticate_secret(
    issuer: &Issuer<'_>,
    client_id: &str,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Client, OAuthError> {
    match credentials::parse(secret) {
        Ok(p) if p.kind == Kind::ClientSecret => {}
        _ => return Err(OAuthError::new(ErrorCode::InvalidClient, WRONG_SECRET)),
    }
    let digest = issuer.verifier.digest(secret);
    issuer
        .verifier
        .client(ClientBy::Secret(&digest), now, |view| {
            // A secret of another app must not authenticate this client id.
            let view = view.filter(|v| v.found.client_id() == Some(client_id));
            client_of(view, &[CredKind::ClientSecret], WRONG_SECRET)
        })
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// `private_key_jwt` (RFC 7523 §2.2): the assertion is signed by one of the app's
/// registered public keys; its `jti` is recorded so it is accepted once.
pub fn authenticate_assertion(
    conn: &mut DbConnection,
    issuer: &Issuer<'_>,
    assertion: &str,
    client_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<Client, Failure> {
    use jsonwebtoken::{Validation, decode, decode_header};
    let bad = |why: &str| refused(ErrorCode::InvalidClient, why.to_string());
    let header =
        decode_header(assertion).map_err(|_| bad("The client assertion is not a signed JWT."))?;
    let unverified: AssertionClaims = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| bad("The client assertion's claims cannot be read."))?;
    let iss = unverified
        .iss
        .ok_or_else(|| bad("The client assertion has no \"iss\": it must be the client id."))?;
    if client_id.is_some_and(|c| c != iss) {
        return Err(bad(
            "The client assertion's \"iss\" is not the client_id sent.",
        ));
    }
    let app = crate::models::apps::find_by_client_id(conn, &iss)?
        .ok_or_else(|| bad("No app has this client id."))?;
    if app.auth_type != "jwt" {
        return Err(bad(
            "This app authenticates with its client secret, not a client assertion.",
        ));
    }
    let keys = crate::models::apps::credentials_of(conn, &app.id)?;
    let audiences = [issuer.token_url(), issuer.public_url.to_string()];
    let mut verified = None;
    for key in keys
        .iter()
        .filter(|c| c.kind == "public_key" && c.revoked_at.is_none())
    {
        let Some((key_type, jwk)) = key
            .public_key
            .as_deref()
            .and_then(crate::public_keys::as_jwk)
        else {
            continue;
        };
        if key_type.algorithm().parse::<jsonwebtoken::Algorithm>().ok() != Some(header.alg) {
            continue;
        }
        let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(jwk) else {
            continue;
        };
        let Ok(decoding) = jsonwebtoken::DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let mut validation = Validation::new(header.alg);
        // Times are checked below against the instance clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = ["iss", "sub", "aud", "exp"]
            .into_iter()
            .map(str::to_string)
            .collect();
        validation.set_audience(&audiences);
        validation.set_issuer(&[iss.as_str()]);
        if let Ok(data) = decode::<AssertionClaims>(assertion, &decoding, &validation) {
            verified = Some((key.id.clone(), data.claims));
            break;
        }
    }
    let (credential_id, claims) = verified.ok_or_else(|| {
        bad(
            "The client assertion's signature, audience or issuer does not match a registered \
             public key of this app (aud must be the token endpoint URL).",
        )
    })?;
    if claims.sub.as_deref() != Some(iss.as_str()) {
        return Err(bad("The client assertion's \"sub\" must be the client id."));
    }
    let now_s = micros(now).div_euclid(1_000_000);
    let exp = claims.exp.unwrap_or(0);
    if exp + LEEWAY <= now_s {
        return Err(bad("The client assertion has expired."));
    }
    if exp > now_s + MAX_ASSERTION_LIFETIME + LEEWAY {
        return Err(bad(
            "The client assertion's \"exp\" is more than 5 minutes ahead: sign a short-lived one.",
        ));
    }
    if claims.nbf.is_some_and(|t| t > now_s + LEEWAY)
        || claims.iat.is_some_and(|t| t > now_s + LEEWAY)
    {
        return Err(bad(
            "The client assertion is not valid yet (nbf or iat in the future).",
        ));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| {
            bad("The client assertion needs a unique \"jti\" (at most 256 characters).")
        })?;
    let expires = naive((exp + LEEWAY).saturating_mul(1_000_000));
    write_transaction(conn, |conn| {
        if rows::record_assertion(conn, &iss, &jti, expires, now)? {
            Ok(())
        } else {
            Err(bad(
                "This client assertion was used before (its jti was seen): sign a new one for each request.",
            ))
        }
    })?;
    let id = uuid_bytes(&credential_id).ok_or_else(|| bad("The public key's id is not valid."))?;
    Ok(issuer
        .verifier
        .client(ClientBy::Credential(&id), now, |view| {
            client_of(
                view,
                &[CredKind::PublicKey],
                "The public key is not registered.",
            )
        })?)
}

/// The scope a token gets: what was asked (space-separated product slugs or
/// `slug:scope`), each approved for the app; everything approved when nothing was
/// asked. `lenient` drops what is no longer approved instead of refusing (a refresh).
pub fn resolve_scope(
    grants: &[ProductGrant],
    requested: Option<&str>,
    lenient: bool,
) -> Result<(Vec<String>, String), OAuthError> {
    if grants.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "The app is not approved for any product yet: subscribe it to one first.",
        ));
    }
    let requested = requested.map(str::trim).filter(|s| !s.is_empty());
    let Some(requested) = requested else {
        let slugs: Vec<String> = grants.iter().map(|g| g.slug.clone()).collect();
        let scope = slugs.join(" ");
        return Ok((slugs, scope));
    };
    let mut items: Vec<&str> = Vec::new();
    let mut audience: Vec<String> = Vec::new();
    for item in requested.split(' ').filter(|s| !s.is_empty()) {
        if items.contains(&item) {
            continue;
        }
        let (slug, sub) = match item.split_once(':') {
            Some((slug, sub)) => (slug, Some(sub)),
            None => (item, None),
        };
        let grant = grants.iter().find(|g| g.slug == slug);
        let ok = match (grant, sub) {
            (Some(_), None) => true,
            (Some(g), Some(sub)) => g.scopes.iter().any(|s| s == sub),
            (None, _) => false,
        };
        if !ok {
            if lenient {
                continue;
            }
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                match (grant, sub) {
                    (Some(_), Some(sub)) => {
                        format!("The product \"{slug}\" has no scope \"{sub}\".")
                    }
                    _ => format!("The app is not approved for the product \"{slug}\"."),
                },
            ));
        }
        items.push(item);
        if !audience.iter().any(|a| a == slug) {
            audience.push(slug.to_string());
        }
    }
    if items.is_empty() {
        return Err(OAuthError::new(
            if lenient {
                ErrorCode::InvalidGrant
            } else {
                ErrorCode::InvalidScope
            },
            "None of the products asked for is approved for the app any more.",
        ));
    }
    Ok((audience, items.join(" ")))
}

/// An access token as the token endpoint answers it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
}

/// Signs an access token for `client` with `requested` scope: nothing is written.
pub fn issue(
    issuer: &Issuer<'_>,
    client: &Client,
    requested: Option<&str>,
    lenient: bool,
    now: NaiveDateTime,
) -> Result<Issued, Failure> {
    let (audience, scope) = resolve_scope(&client.grants, requested, lenient)?;
    let now_s = micros(now).div_euclid(1_000_000);
    let mut ttl = i64::try_from(issuer.settings.access_ttl.as_secs()).unwrap_or(i64::MAX);
    for g in client.grants.iter().filter(|g| audience.contains(&g.slug)) {
        if let Some(max) = g.max_lifetime.and_then(|m| i64::try_from(m).ok()) {
            ttl = ttl.min(max);
        }
    }
    let mut exp = now_s.saturating_add(ttl.max(1));
    if let Some(cred) = client.credential_expires {
        exp = exp.min(cred.div_euclid(1_000_000));
    }
    let key = issuer.verifier.signing_key().ok_or_else(|| {
        Failure::Db(diesel::result::Error::QueryBuilderError(
            "no token signing key is loaded".into(),
        ))
    })?;
    let claims = AccessClaims {
        iss: issuer.public_url.to_string(),
        sub: client.client_id.clone(),
        aud: audience,
        exp,
        iat: now_s,
        jti: uuid::Uuid::new_v4().to_string(),
        scope: scope.clone(),
        client_id: client.client_id.clone(),
        app_id: client.app_id.clone(),
        org: client.org_id.clone(),
        cred: client.credential_id.clone(),
    };
    Ok(Issued {
        access_token: key.sign(&claims),
        expires_in: (exp - now_s).max(0),
        scope,
    })
}

fn new_refresh_row(
    issuer: &Issuer<'_>,
    family: (&str, NaiveDateTime),
    app_id: &str,
    credential_id: &str,
    scope: &str,
    now: NaiveDateTime,
) -> (RefreshToken, PlainSecret) {
    let secret = PlainSecret::generate(issuer.prefix, Kind::RefreshToken);
    let idle = chrono::Duration::from_std(issuer.settings.refresh_idle).unwrap_or_default();
    let row = RefreshToken {
        id: new_id(),
        family_id: family.0.to_string(),
        app_id: app_id.to_string(),
        credential_id: credential_id.to_string(),
        token_hash: issuer.hasher.hash(secret.expose()),
        scope: scope.to_string(),
        created_at: now,
        expires_at: (now + idle).min(family.1),
        family_expires_at: family.1,
        used_at: None,
        replaced_by: None,
        revoked_at: None,
    };
    (row, secret)
}

/// Starts a refresh-token family for `client` (the `/api/v1/login` exchange).
pub fn start_refresh(
    conn: &mut DbConnection,
    issuer: &Issuer<'_>,
    client: &Client,
    scope: &str,
    now: NaiveDateTime,
) -> Result<PlainSecret, Failure> {
    let absolute = chrono::Duration::from_std(issuer.settings.refresh_absolute).unwrap_or_default();
    let family = new_id();
    let (row, secret) = new_refresh_row(
        issuer,
        (&family, now + absolute),
        &client.app_id,
        &client.credential_id,
        scope,
        now,
    );
    write_transaction(conn, |conn| rows::insert_refresh(conn, &row))?;
    Ok(secret)
}

/// A refresh: the presented token is spent and a new one of its family returned with
/// the client it belongs to and the family's scope. A spent token presented again
/// revokes the family, unless within the reuse grace: then the unused successor is
/// revoked and another pair issued.
pub fn refresh(
    conn: &mut DbConnection,
    issuer: &Issuer<'_>,
    presented: &str,
    client: Option<&Client>,
    now: NaiveDateTime,
) -> Result<(Client, String, PlainSecret), Failure> {
    let unknown = || refused(ErrorCode::InvalidGrant, "The refresh token is not valid.");
    match credentials::parse(presented) {
        Ok(p) if p.kind == Kind::RefreshToken => {}
        _ => return Err(unknown()),
    }
    let hash = issuer.hasher.hash(presented);
    let grace = chrono::Duration::from_std(issuer.settings.reuse_grace).unwrap_or_default();
    write_transaction(conn, |conn| -> Result<Result<_, Failure>, Failure> {
        let Some(row) = rows::refresh_by_hash(conn, &hash)? else {
            return Err(unknown());
        };
        if client.is_some_and(|c| c.app_id != row.app_id) {
            return Err(unknown());
        }
        if row.revoked_at.is_some() {
            return Err(refused(
                ErrorCode::InvalidGrant,
                "The refresh token was revoked.",
            ));
        }
        if row.expires_at <= now {
            return Err(refused(
                ErrorCode::InvalidGrant,
                "The refresh token has expired.",
            ));
        }
        // The credential and app must still be good: if not, the family dies.
        let gone = "The credential that obtained it no longer exists.";
        let owner = uuid_bytes(&row.credential_id).map_or_else(
            || Err(state_refusal(Reason::NotFound, gone)),
            |id| {
                issuer
                    .verifier
                    .client(ClientBy::Credential(&id), now, |view| {
                        client_of(view, &[CredKind::ClientSecret, CredKind::PublicKey], gone)
                    })
            },
        );
        let owner = match owner {
            Ok(c) => c,
            Err(e) => {
                rows::revoke_family(conn, &row.family_id, now)?;
                return Ok(Err(refused(
                    ErrorCode::InvalidGrant,
                    format!("{} Its refresh tokens no longer work.", e.description),
                )));
            }
        };
        let (next, secret) = new_refresh_row(
            issuer,
            (&row.family_id, row.family_expires_at),
            &row.app_id,
            &row.credential_id,
            &row.scope,
            now,
        );
        if row.used_at.is_none() && rows::spend_refresh(conn, &row.id, &next.id, now)? {
            rows::insert_refresh(conn, &next)?;
            return Ok(Ok((owner, row.scope, secret)));
        }
        // Reuse: a spent token again (or a concurrent refresh spent it first).
        let spent = rows::refresh_by_id(conn, &row.id)?.unwrap_or(row);
        let within_grace = spent.used_at.is_some_and(|at| now - at <= grace);
        let successor_unused = match spent.replaced_by.as_deref() {
            Some(id) => rows::revoke_unused_refresh(conn, id, now)?,
            None => false,
        };
        if within_grace && successor_unused {
            rows::insert_refresh(conn, &next)?;
            rows::replace_successor(conn, &spent.id, &next.id)?;
            return Ok(Ok((owner, spent.scope, secret)));
        }
        rows::revoke_family(conn, &spent.family_id, now)?;
        Ok(Err(refused(
            ErrorCode::InvalidGrant,
            "This refresh token was already used, so its whole chain is now revoked (reuse \
             detected). Sign in again with the client credentials.",
        )))
    })?
}

/// The `/api/v1/login` exchange for an API key: a static token that works wherever
/// the key does and dies with it.
pub fn exchange_api_key(
    conn: &mut DbConnection,
    issuer: &Issuer<'_>,
    key: &str,
    now: NaiveDateTime,
) -> Result<PlainSecret, Failure> {
    let wrong = "The API key is not valid.";
    match credentials::parse(key) {
        Ok(p) if p.kind == Kind::ApiKey => {}
        _ => return Err(refused(ErrorCode::InvalidClient, wrong)),
    }
    let digest = issuer.verifier.digest(key);
    let client = issuer
        .verifier
        .client(ClientBy::ApiKey(&digest), now, |view| {
            client_of(view, &[CredKind::ApiKey], wrong)
        })?;
    let token = PlainSecret::generate(issuer.prefix, Kind::StaticToken);
    let row = StaticToken {
        id: new_id(),
        credential_id: client.credential_id.clone(),
        app_id: client.app_id.clone(),
        token_hash: issuer.hasher.hash(token.expose()),
        prefix: token.prefix().to_string(),
        last4: token.last4().to_string(),
        created_at: now,
        revoked_at: None,
    };
    write_transaction(conn, |conn| -> Result<(), Failure> {
        let live = rows::live_static_of(conn, &client.credential_id)?;
        if live.len() >= STATIC_TOKENS_PER_KEY {
            rows::revoke_static(conn, &live[STATIC_TOKENS_PER_KEY - 1..], now)?;
        }
        rows::insert_static(conn, &row)?;
        crate::services::audit::record(
            conn,
            &Ctx::system(now),
            Some(&client.org_id),
            "credential.static_token_issued",
            Some(&format!("app:{}", client.app_id)),
            &format!(
                "static token {}…{} for key {}",
                row.prefix, row.last4, client.credential_id
            ),
        )?;
        Ok(())
    })?;
    Ok(token)
}

/// RFC 7009: revokes `token` if it is `client`'s access or refresh token; anything
/// else is ignored (the endpoint answers 200 either way).
pub fn revoke(
    conn: &mut DbConnection,
    issuer: &Issuer<'_>,
    client: &Client,
    token: &str,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    if let Ok(p) = credentials::parse(token) {
        if p.kind != Kind::RefreshToken {
            return Ok(());
        }
        let hash = issuer.hasher.hash(token);
        return write_transaction(conn, |conn| -> Result<(), Failure> {
            if let Some(row) = rows::refresh_by_hash(conn, &hash)?
                && row.app_id == client.app_id
            {
                rows::revoke_family(conn, &row.family_id, now)?;
            }
            Ok(())
        });
    }
    let Some(claims) = issuer.verifier.verify_signature(token) else {
        return Ok(());
    };
    let now_s = micros(now).div_euclid(1_000_000);
    if claims.client_id != client.client_id || claims.exp <= now_s {
        return Ok(());
    }
    let expires = naive(claims.exp.saturating_mul(1_000_000));
    let done = write_transaction(conn, |conn| -> Result<(), Failure> {
        if !rows::revoke_access(conn, &claims.jti, &claims.app_id, expires)? {
            // Already revoked: nothing to record (and PostgreSQL aborted the
            // transaction on the duplicate).
            return Err(refused(ErrorCode::InvalidRequest, "already revoked"));
        }
        crate::services::audit::record(
            conn,
            &Ctx::system(now),
            Some(&claims.org),
            "credential.token_revoked",
            Some(&format!("app:{}", claims.app_id)),
            &format!("access token {} revoked by its client", claims.jti),
        )?;
        Ok(())
    });
    match done {
        Ok(()) | Err(Failure::Refused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Housekeeping: deletes expired assertion ids, revoked access tokens past their
/// expiry and dead refresh tokens, and retires signing keys whose time has come (a
/// change tells every instance to stop publishing them).
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> diesel::QueryResult<usize> {
    let mut n = rows::purge_expired(conn, now)?;
    let retired = rows::purge_retired_signing_keys(conn, now)?;
    if retired > 0 {
        crate::models::changes::record(
            conn,
            &crate::models::changes::NewChange::of(crate::models::changes::Kind::SigningKey, now),
        )?;
        n += retired;
    }
    Ok(n)
}
