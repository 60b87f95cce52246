//! Single-use links sent by email (address verification, password reset, invitations),
//! whose tokens never reach the database in plaintext.
//!
//! The service that sends a link writes the row the link opens (a `user_tokens` row
//! without a hash, or the invitation) and queues an email that names the link
//! (`link_kind`, `link_ref`) and holds [`TOKEN_MARK`] where the token goes. The outbox
//! worker claims the email and, in the same write transaction, [`prepare`]s it: a fresh
//! token is minted, only its SHA-256 is stored on the row (replacing the hash an
//! earlier attempt stored, so after a failed send or a crash only the token of the
//! latest attempt works), and the token goes into the text it sends. An email whose
//! link was used, replaced or revoked, or has expired, is not sent.

use chrono::NaiveDateTime;

use crate::crypto::{SecretString, random_base62, sha256_hex};
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::models::outbox::{self, NewEmail, OutboxEmail};
use crate::models::{invitations, user_tokens, users};
use crate::services::Ctx;

/// Stands in a queued email's text where the link's token goes. Names, addresses and
/// URLs never hold control characters (they are refused on input), so no text put
/// into an email can forge it.
pub const TOKEN_MARK: &str = "\u{1}token\u{1}";

/// Base62 characters in a link token (≈190 bits).
const TOKEN_LEN: usize = 32;

/// Which link an email carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    VerifyEmail,
    ResetPassword,
    Invitation,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::Invitation => "invitation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::VerifyEmail, Self::ResetPassword, Self::Invitation]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A new random token and its SHA-256 (what is stored).
pub fn new_token() -> (SecretString, String) {
    let token = random_base62(TOKEN_LEN);
    let hash = sha256_hex(token.as_bytes());
    (SecretString::new(token), hash)
}

/// Queues an email carrying the link of `kind` that opens the row `target`, inside the
/// caller's transaction. `body` holds [`TOKEN_MARK`] where the token goes.
pub fn queue(
    conn: &mut DbConnection,
    ctx: &Ctx,
    to: &str,
    subject: &str,
    body: &str,
    kind: LinkKind,
    target: &str,
) -> AppResult<()> {
    debug_assert_eq!(body.matches(TOKEN_MARK).count(), 1, "one mark: {body:?}");
    outbox::insert(
        conn,
        &NewEmail {
            link_kind: Some(kind.as_str()),
            link_ref: Some(target),
            ..NewEmail::due(to, subject, body, ctx.now)
        },
    )?;
    Ok(())
}

/// Gives up the emails still waiting to carry the link of `kind` to `target`: a newer
/// email replaces them (inside the caller's transaction).
pub fn withdraw(conn: &mut DbConnection, kind: LinkKind, target: &str) -> AppResult<usize> {
    Ok(outbox::drop_pending_link(
        conn,
        kind.as_str(),
        target,
        "not sent: a newer email with a new link replaced it",
    )?)
}

/// What a claimed email is to send.
#[derive(Debug)]
pub enum Prepared {
    /// The text to send: with a freshly minted token when it carries a link.
    Send(SecretString),
    /// Its link can no longer be used, for this reason: it is not sent.
    Void(String),
}

/// Prepares a claimed email for sending, inside the claim's write transaction: mints
/// the token of its link, if it carries one, and stores the token's hash.
pub fn prepare(
    conn: &mut DbConnection,
    email: &OutboxEmail,
    now: NaiveDateTime,
) -> AppResult<Prepared> {
    let (Some(kind), Some(target)) = (&email.link_kind, &email.link_ref) else {
        return Ok(Prepared::Send(SecretString::new(email.body.clone())));
    };
    let Some(kind) = LinkKind::parse(kind) else {
        return Ok(Prepared::Void(format!("not sent: unknown link {kind:?}")));
    };
    if !email.body.contains(TOKEN_MARK) {
        return Ok(Prepared::Void(
            "not sent: its text was removed (its link had expired)".into(),
        ));
    }
    let (token, hash) = new_token();
    let minted = match kind {
        LinkKind::VerifyEmail | LinkKind::ResetPassword => {
            mint_user_token(conn, kind, target, &hash, now)?
        }
        LinkKind::Invitation => mint_invitation(conn, target, &hash, now)?,
    };
    Ok(match minted {
        Ok(()) => Prepared::Send(SecretString::new(email.body.replacen(
            TOKEN_MARK,
            token.expose(),
            1,
        ))),
        Err(why) => Prepared::Void(format!("not sent: {why}")),
    })
}

/// Stores the hash on a verification or reset token that can still be used; otherwise
/// says why not.
fn mint_user_token(
    conn: &mut DbConnection,
    kind: LinkKind,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> AppResult<Result<(), &'static str>> {
    let Some(row) = user_tokens::find(conn, id)? else {
        return Ok(Err("the account was deleted"));
    };
    if row.purpose != kind.as_str() {
        return Ok(Err("the link does not match the email"));
    }
    if row.used_at.is_some() {
        return Ok(Err("the link was used or replaced by a newer one"));
    }
    if row.expires_at <= now {
        return Ok(Err("the link expired before it could be sent"));
    }
    let address = users::find(conn, &row.user_id)?.map(|u| u.email);
    if address.as_deref() != Some(row.email.as_str()) {
        return Ok(Err("the account's address changed"));
    }
    if user_tokens::set_hash(conn, id, hash)? == 0 {
        return Ok(Err("the link was used or replaced by a newer one"));
    }
    Ok(Ok(()))
}

/// Stores the hash of the emailed link on an invitation that is still open; otherwise
/// says why not.
fn mint_invitation(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> AppResult<Result<(), &'static str>> {
    let Some(inv) = invitations::find(conn, id)? else {
        return Ok(Err("the invitation was deleted"));
    };
    if inv.revoked_at.is_some() {
        return Ok(Err("the invitation was revoked"));
    }
    if inv.accepted_at.is_some() {
        return Ok(Err("the invitation was already used"));
    }
    if inv.expires_at <= now {
        return Ok(Err("the invitation expired before it could be sent"));
    }
    if invitations::set_email_token_hash(conn, id, hash)? == 0 {
        return Ok(Err("the invitation was used or revoked"));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_tokens_are_long_and_hashed() {
        for kind in [
            LinkKind::VerifyEmail,
            LinkKind::ResetPassword,
            LinkKind::Invitation,
        ] {
            assert_eq!(LinkKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LinkKind::parse("other"), None);
        let (token, hash) = new_token();
        assert_eq!(token.expose().len(), TOKEN_LEN);
        assert_eq!(hash, sha256_hex(token.expose().as_bytes()));
        assert!(TOKEN_MARK.chars().any(char::is_control));
    }
}
