//! Single-use form nonces: a form that creates something carries a signed random
//! nonce; the first submission records it in the same transaction as what it creates,
//! so a replay, a double click or a second tab can never create a second one.

use diesel::prelude::*;

use crate::crypto::{SecretKey, random_base62, sha256_hex};
use crate::db::DbConnection;
use crate::db::schema::form_nonces;
use crate::error::{AppError, AppResult};
use crate::services::Ctx;

fn purpose_of(kind: &str, user_id: &str) -> String {
    format!("form-nonce:{kind}:{user_id}")
}

/// A new nonce for a form of `kind` shown to `user_id` (nothing is written yet).
pub fn issue(key: &SecretKey, kind: &str, user_id: &str) -> String {
    key.sign(&purpose_of(kind, user_id), &random_base62(24))
}

/// Checks the nonce's signature (it was issued to this user for this kind of form).
pub fn verify(key: &SecretKey, kind: &str, user_id: &str, nonce: &str) -> AppResult<()> {
    key.verify(&purpose_of(kind, user_id), nonce)
        .map(drop)
        .ok_or_else(|| {
            AppError::bad_request("This form is not valid any more. Reload the page and try again.")
        })
}

/// What an earlier submission with the same nonce produced, if there was one.
pub fn earlier_result(conn: &mut DbConnection, nonce: &str) -> AppResult<Option<Option<String>>> {
    Ok(form_nonces::table
        .find(sha256_hex(nonce.as_bytes()))
        .select(form_nonces::result)
        .first::<Option<String>>(conn)
        .optional()?)
}

/// Records the nonce as used with its result, inside the caller's transaction. A
/// unique violation means a concurrent submission of the same form won.
pub fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    kind: &str,
    user_id: &str,
    nonce: &str,
    result: &str,
) -> QueryResult<()> {
    diesel::insert_into(form_nonces::table)
        .values((
            form_nonces::nonce_hash.eq(sha256_hex(nonce.as_bytes())),
            form_nonces::user_id.eq(user_id),
            form_nonces::purpose.eq(kind),
            form_nonces::created_at.eq(ctx.now),
            form_nonces::used_at.eq(Some(ctx.now)),
            form_nonces::result.eq(Some(result)),
        ))
        .execute(conn)
        .map(drop)
}
