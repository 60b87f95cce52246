//! API tokens: personal access tokens (act as their user, with the user's current
//! role) and organisation admin tokens (act with admin rights for the admin who made
//! them, and are revoked for good when that person stops being an admin). Each is bound to
//! one organisation, may expire, is read-only or read-write, is shown once and kept
//! only as a hash.

use chrono::{Duration, NaiveDateTime};

use crate::auth::policy::{self, OrgAction, Role, TokenAccess};
use crate::credentials::{self, Kind, PlainSecret};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::api_tokens::{self, ApiToken};
use crate::models::new_id;
use crate::models::orgs::{self, Organisation};
use crate::models::users::{self, User};
use crate::services::apps::Issuer;
use crate::services::{Ctx, audit, nonces};
use crate::validate;

/// The longest lifetime a token may be given, in days.
pub const MAX_DAYS: u32 = 366;

/// Whose rights a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The user's own rights in the organisation.
    Personal,
    /// Admin rights, for as long as the creator is an admin.
    Admin,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(Self::Personal),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    fn secret_kind(self) -> Kind {
        match self {
            Self::Personal => Kind::PersonalAccessToken,
            Self::Admin => Kind::AdminToken,
        }
    }
}

/// A token as asked for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub kind: TokenKind,
    pub name: String,
    pub access: TokenAccess,
    /// `None`: never expires.
    pub expires_in_days: Option<u32>,
}

/// Checks a token's name and lifetime.
pub fn check(name: &str, expires_in_days: Option<u32>) -> Result<String, Vec<String>> {
    let mut errors = Vec::new();
    let name = validate::name(name, "Token name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    if let Some(days) = expires_in_days
        && !(1..=MAX_DAYS).contains(&days)
    {
        errors.push(format!(
            "A token's lifetime must be between 1 and {MAX_DAYS} days (or none)."
        ));
    }
    match name {
        Some(name) if errors.is_empty() => Ok(name),
        _ => Err(errors),
    }
}

/// The form kind whose nonces `create` consumes.
pub const FORM_KIND: &str = "new-token";

/// Creates a token for `user` in `org`; the plaintext is returned once. A form's
/// `nonce` is recorded with it, so the form cannot create a second token.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    user: &User,
    issuer: Issuer<'_>,
    new: NewToken,
    nonce: Option<&str>,
) -> AppResult<(ApiToken, PlainSecret)> {
    let name = check(&new.name, new.expires_in_days).map_err(AppError::Invalid)?;
    let already = || {
        AppError::conflict(
            "This form was already submitted: the token it created was shown once. Create another token if you need one.",
        )
    };
    write_transaction(conn, |conn| {
        if let Some(nonce) = nonce
            && nonces::earlier_result(conn, nonce)?.is_some()
        {
            return Err(already());
        }
        // The role is read inside the transaction: a demotion a moment ago counts.
        let role = orgs::membership(conn, &org.id, &user.id)?.and_then(|m| Role::parse(&m.role));
        match new.kind {
            TokenKind::Personal => policy::org(role, OrgAction::View)?,
            TokenKind::Admin => policy::org(role, OrgAction::ManageAdminTokens)?,
        }
        let secret = PlainSecret::generate(issuer.prefix, new.kind.secret_kind());
        let token = ApiToken {
            id: new_id(),
            org_id: org.id.clone(),
            user_id: user.id.clone(),
            kind: new.kind.as_str().into(),
            name,
            access: new.access.as_str().into(),
            token_hash: issuer.hasher.hash(secret.expose()),
            prefix: secret.prefix().to_string(),
            last4: secret.last4().to_string(),
            created_at: ctx.now,
            expires_at: new
                .expires_in_days
                .map(|d| ctx.now + Duration::days(i64::from(d))),
            last_used_at: None,
            revoked_at: None,
        };
        api_tokens::insert(conn, &token)?;
        if let Some(nonce) = nonce {
            nonces::record(conn, ctx, FORM_KIND, &user.id, nonce, &token.id).map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    already()
                } else {
                    e.into()
                }
            })?;
        }
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            &format!("token.{}.created", token.kind),
            Some(&format!("token:{}", token.id)),
            &format!("{} ({}, {})", token.name, token.access, token.prefix),
        )?;
        Ok((token, secret))
    })
}

/// Revokes a token (the caller has asked the policy).
pub fn revoke(conn: &mut DbConnection, ctx: &Ctx, token: &ApiToken) -> AppResult<()> {
    write_transaction(conn, |conn| {
        if api_tokens::mark_revoked(conn, &token.id, ctx.now)? == 0 {
            return Err(AppError::conflict("This token is already revoked."));
        }
        audit::record(
            conn,
            ctx,
            Some(&token.org_id),
            &format!("token.{}.revoked", token.kind),
            Some(&format!("token:{}", token.id)),
            &token.name,
        )?;
        Ok(())
    })
}

/// Who a valid bearer token acts for.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub token: ApiToken,
    pub user: User,
    pub org: Organisation,
    /// The rights the token carries now.
    pub role: Role,
}

/// Only record use once a minute per token: a busy script should not write on
/// every request.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// Finds who `presented` acts for, or says in one sentence why it does not work.
pub fn authenticate(
    conn: &mut DbConnection,
    hasher: &credentials::SecretHasher,
    presented: &str,
    now: NaiveDateTime,
) -> AppResult<Bearer> {
    let invalid = || AppError::Unauthorized("The API token is not valid.".into());
    let parsed = credentials::parse(presented).map_err(|_| invalid())?;
    if !matches!(parsed.kind, Kind::PersonalAccessToken | Kind::AdminToken) {
        return Err(AppError::Unauthorized(
            "This is not an API token. Create a personal access token on your account page.".into(),
        ));
    }
    let token = api_tokens::find_by_hash(conn, &hasher.hash(presented))?.ok_or_else(invalid)?;
    if token.revoked_at.is_some() {
        // Demoting an admin revokes their admin tokens: say so while it is the case.
        let creator_demoted = token.kind == TokenKind::Admin.as_str()
            && orgs::membership(conn, &token.org_id, &token.user_id)?
                .and_then(|m| Role::parse(&m.role))
                .is_some_and(|role| role < Role::Admin);
        return Err(AppError::Unauthorized(if creator_demoted {
            "This admin token was revoked: the person who created it is no longer an admin of the organisation.".into()
        } else {
            "This API token was revoked.".into()
        }));
    }
    if !token.is_live(now) {
        return Err(AppError::Unauthorized("This API token has expired.".into()));
    }
    let user = users::find(conn, &token.user_id)?.ok_or_else(invalid)?;
    let org = orgs::find(conn, &token.org_id)?.ok_or_else(invalid)?;
    let member_role = orgs::membership(conn, &org.id, &user.id)?.and_then(|m| Role::parse(&m.role));
    let kind = TokenKind::parse(&token.kind).ok_or_else(invalid)?;
    let role = policy::token_role(kind == TokenKind::Admin, member_role).ok_or_else(|| {
        AppError::Unauthorized(match kind {
            TokenKind::Admin => {
                "This admin token no longer works: the person who created it is no longer an admin of the organisation.".into()
            }
            TokenKind::Personal => {
                "This API token no longer works: its owner is no longer a member of the organisation.".into()
            }
        })
    })?;
    if token.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY) {
        write_transaction(conn, |conn| api_tokens::touch(conn, &token.id, now))?;
    }
    Ok(Bearer {
        token,
        user,
        org,
        role,
    })
}
