//! Single-use form nonces: a form that creates something carries a signed random
//! nonce; the first submission records it in the same transaction as what it creates,
//! so a replay, a double click or a second tab can never create a second one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto::{SecretKey, random_base62, sha256_hex};
use crate::db::DbConnection;
use crate::db::schema::form_nonces;
use crate::error::{AppError, AppResult};
use crate::services::Ctx;

fn purpose_of(kind: &str, user_id: &str) -> String {
    format!("form-nonce:{kind}:{user_id}")
}

/// How long a form stays usable after it was shown.
const MAX_AGE_HOURS: i64 = 24;

/// A new nonce for a form of `kind` shown to `user_id` at `now` (nothing is
/// written yet): random, stamped with the time, signed.
pub fn issue(key: &SecretKey, kind: &str, user_id: &str, now: NaiveDateTime) -> String {
    let value = format!("{}-{}", random_base62(24), now.and_utc().timestamp());
    key.sign(&purpose_of(kind, user_id), &value)
}

/// Checks the nonce: issued to this user for this kind of form, within a day.
pub fn verify(
    key: &SecretKey,
    kind: &str,
    user_id: &str,
    nonce: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let invalid =
        || AppError::bad_request("This form is not valid any more. Reload the page and try again.");
    let value = key
        .verify(&purpose_of(kind, user_id), nonce)
        .ok_or_else(invalid)?;
    let issued = value
        .rsplit_once('-')
        .and_then(|(_, ts)| ts.parse::<i64>().ok())
        .ok_or_else(invalid)?;
    let age = now.and_utc().timestamp() - issued;
    if !(0..=MAX_AGE_HOURS * 3600).contains(&age) {
        return Err(invalid());
    }
    Ok(())
}

/// Forgets nonces of forms too old to be submitted.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        form_nonces::table
            .filter(form_nonces::created_at.lt(now - chrono::Duration::hours(2 * MAX_AGE_HOURS))),
    )
    .execute(conn)
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
