//! What every `/api/v1` endpoint shares: JSON bodies with clear errors, RFC 3339
//! times, cursor pagination, ETags with `If-Match`, and `Idempotency-Key` replays.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::crypto::hex;
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::api_tokens::{self, IdempotencyRecord};

/// The largest JSON body accepted (product documentation is the biggest).
pub const JSON_LIMIT: usize = 1024 * 1024;

/// JSON bodies: a syntax or type error is a 400 that says what is wrong; a body
/// of another content type is a 415, one that is too large a 413.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as E;
            match err {
                E::Deserialize(e) => {
                    AppError::bad_request(format!("The JSON body is not valid: {e}.")).into()
                }
                E::Payload(actix_web::error::PayloadError::Overflow)
                | E::Overflow { .. }
                | E::OverflowKnownLength { .. } => actix_web::Error::from(err),
                E::ContentType => actix_web::error::InternalError::new(
                    "The body must be JSON (Content-Type: application/json).",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                )
                .into(),
                other => {
                    AppError::bad_request(format!("The request body could not be read: {other}."))
                        .into()
                }
            }
        })
}

/// Query strings: a bad value is a 400 that names it.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        AppError::bad_request(format!("The query string is not valid: {err}.")).into()
    })
}

/// A path id: anything that cannot be one of ours names nothing (404).
pub fn check_id(id: &str) -> AppResult<()> {
    if crate::validate::is_id_like(id) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// A service refusing a value (`BadRequest`, shown on forms with a 422) is a 422 in
/// the API too: the request was well-formed, the value is not acceptable.
pub fn unacceptable(e: AppError) -> AppError {
    match e {
        AppError::BadRequest(message) => AppError::Invalid(vec![message]),
        other => other,
    }
}

/// A time in API responses: RFC 3339, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = DateTime)]
pub struct Time(pub DateTime<Utc>);

pub fn time(t: NaiveDateTime) -> Time {
    Time(t.and_utc())
}

pub fn opt_time(t: Option<NaiveDateTime>) -> Option<Time> {
    t.map(time)
}

/// An RFC 9457 problem document: the body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status code's reason phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, in a sentence meant for people.
    pub detail: String,
    /// Quote this when asking for help.
    pub request_id: String,
    /// Every problem with the values sent (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// `?limit=&cursor=` on every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; leave out for the first page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// One page of a list, oldest first.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Declares a list response type (`{"items": [...], "next_cursor": ...}`) for an item.
#[macro_export]
macro_rules! api_list {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl From<$crate::handlers::api::support::Paged<$item>> for $name {
            fn from(p: $crate::handlers::api::support::Paged<$item>) -> Self {
                Self {
                    items: p.items,
                    next_cursor: p.next_cursor,
                }
            }
        }
    };
}

impl PageQuery {
    /// The window this query asks for, for a keyset query in SQL
    /// ([`crate::keyset!`]); a cursor this server did not make is a 400.
    pub fn window(&self) -> AppResult<crate::models::page::Window> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(format!(
                "limit must be between 1 and {MAX_LIMIT}."
            )));
        }
        crate::models::page::Window::parse(limit as usize, self.cursor.as_deref()).map_err(|_| {
            AppError::bad_request(
                "The cursor is not valid: pass the next_cursor of the previous page.",
            )
        })
    }
}

impl<T> From<crate::models::page::Page<T>> for Paged<T> {
    /// API lists page forwards only: `next_cursor` continues after the last item.
    fn from(page: crate::models::page::Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next.map(|c| c.encode()),
        }
    }
}

/// A strong ETag over a resource's JSON representation.
pub fn etag_of<T: Serialize>(value: &T) -> AppResult<String> {
    let bytes = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(format!("\"{}\"", &hex(&Sha256::digest(&bytes))[..32]))
}

/// `200 OK` (or `status`) with the JSON and its ETag.
pub fn json_with_etag<T: Serialize>(status: StatusCode, value: &T) -> AppResult<HttpResponse> {
    Ok(HttpResponse::build(status)
        .insert_header((header::ETAG, etag_of(value)?))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(value))
}

/// `200 OK` with the JSON.
pub fn json<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(value)
}

/// The `If-Match` of a request, checked later against the current ETag (inside the
/// transaction that makes the change, so nothing can slip in between).
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    pub fn from_req(req: &HttpRequest) -> AppResult<Self> {
        let Some(value) = req.headers().get(header::IF_MATCH) else {
            return Ok(Self(None));
        };
        let value = value
            .to_str()
            .map_err(|_| AppError::bad_request("If-Match must be a list of ETags."))?;
        let tags: Vec<String> = value
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if tags.is_empty() {
            return Err(AppError::bad_request("If-Match must be a list of ETags."));
        }
        Ok(Self(Some(tags)))
    }

    /// 412 when an `If-Match` was sent and names neither `*` nor the current ETag
    /// (strong comparison: a weak `W/` tag never matches, as RFC 9110 says).
    pub fn check(&self, current: &str) -> AppResult<()> {
        match &self.0 {
            None => Ok(()),
            Some(tags) if tags.iter().any(|t| t == "*" || t == current) => Ok(()),
            Some(_) => Err(AppError::PreconditionFailed),
        }
    }
}

/// What a creating request produced.
#[derive(Debug)]
pub struct Created {
    pub body: serde_json::Value,
    /// The new resource's URL (for `Location`).
    pub location: Option<String>,
}

impl Created {
    pub fn new<T: Serialize>(value: &T, location: Option<String>) -> AppResult<Self> {
        Ok(Self {
            body: serde_json::to_value(value).map_err(AppError::internal)?,
            location,
        })
    }
}

/// Fields that hold a secret shown once; a replayed response replaces them with this.
const SECRET_FIELDS: &[&str] = &["api_key", "client_secret", "token", "accept_url"];
pub const ALREADY_RETURNED: &str =
    "(already returned: secrets are shown only in the first response to this Idempotency-Key)";

fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) && v.is_string() {
                    *v = serde_json::Value::String(ALREADY_RETURNED.into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn respond(status: StatusCode, body: &serde_json::Value, location: Option<&str>) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(location) = location {
        res.insert_header((header::LOCATION, location));
    }
    res.json(body)
}

enum Outcome {
    Fresh(Created),
    Replay(IdempotencyRecord),
}

enum TxError {
    App(AppError),
    /// A concurrent request with the same key committed first.
    Raced,
}

impl From<AppError> for TxError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        if is_unique_violation(&e) {
            Self::Raced
        } else {
            Self::App(e.into())
        }
    }
}

/// Runs a creating request (`201 Created`) at most once per `Idempotency-Key`.
///
/// Without the header, `op` simply runs. With it, `op` runs in one transaction with
/// the record of its response; a repeat of the same request within 24 hours gets that
/// response back (secrets replaced by a note, `Idempotent-Replayed: true`) and creates
/// nothing. The same key with a different request is a 422.
pub async fn create_once<I, F>(
    state: &State,
    actor: &ApiActor,
    req: &HttpRequest,
    input: &I,
    op: F,
) -> AppResult<HttpResponse>
where
    I: Serialize,
    F: FnOnce(&mut DbConnection) -> AppResult<Created> + Send + 'static,
{
    let Some(key) = req.headers().get("idempotency-key") else {
        let created = state.db(op).await?;
        return Ok(respond(
            StatusCode::CREATED,
            &created.body,
            created.location.as_deref(),
        ));
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            AppError::bad_request(
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).",
            )
        })?;
    let key_hash = hex(&Sha256::digest(key.as_bytes()));
    let mut fp = Sha256::new();
    fp.update(req.method().as_str().as_bytes());
    fp.update(b" ");
    fp.update(req.path().as_bytes());
    fp.update(b"\n");
    fp.update(serde_json::to_vec(input).map_err(AppError::internal)?);
    let fingerprint = hex(&fp.finalize());
    let token_id = actor.token.id.clone();
    let now = actor.ctx.now;
    let since = now - api_tokens::IDEMPOTENCY_WINDOW;

    let lookup = {
        let (token_id, key_hash) = (token_id.clone(), key_hash.clone());
        move |conn: &mut DbConnection| -> AppResult<Option<IdempotencyRecord>> {
            Ok(api_tokens::find_idempotency(
                conn, &token_id, &key_hash, since,
            )?)
        }
    };
    let first = {
        let lookup = lookup.clone();
        let fingerprint = fingerprint.clone();
        state
            .db(move |conn| {
                let result = write_transaction(conn, |conn| -> Result<Outcome, TxError> {
                    if let Some(found) = lookup(conn)? {
                        return Ok(Outcome::Replay(found));
                    }
                    api_tokens::delete_idempotency_before(conn, &token_id, &key_hash, since)?;
                    // Claim the key before doing anything: a concurrent request with
                    // the same key waits here (PostgreSQL: on the primary key; SQLite:
                    // on the write lock) and then replays this one's response.
                    api_tokens::insert_idempotency(
                        conn,
                        &IdempotencyRecord {
                            token_id: token_id.clone(),
                            key_hash: key_hash.clone(),
                            fingerprint,
                            status: 0,
                            response: String::new(),
                            location: None,
                            created_at: now,
                        },
                    )?;
                    let created = op(conn)?;
                    let mut stored = created.body.clone();
                    redact(&mut stored);
                    api_tokens::complete_idempotency(
                        conn,
                        &token_id,
                        &key_hash,
                        i32::from(StatusCode::CREATED.as_u16()),
                        &stored.to_string(),
                        created.location.as_deref(),
                    )?;
                    Ok(Outcome::Fresh(created))
                });
                match result {
                    Ok(outcome) => Ok(Some(outcome)),
                    Err(TxError::Raced) => Ok(None),
                    Err(TxError::App(e)) => Err(e),
                }
            })
            .await?
    };
    let outcome = match first {
        Some(outcome) => outcome,
        // The other request won; its record is committed now.
        None => Outcome::Replay(state.db(lookup).await?.ok_or_else(|| {
            AppError::conflict(
                "A request with this Idempotency-Key is still being processed. Retry in a moment.",
            )
        })?),
    };
    match outcome {
        Outcome::Fresh(created) => Ok(respond(
            StatusCode::CREATED,
            &created.body,
            created.location.as_deref(),
        )),
        Outcome::Replay(record) => {
            if record.fingerprint != fingerprint {
                return Err(AppError::invalid(
                    "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
                ));
            }
            let body: serde_json::Value =
                serde_json::from_str(&record.response).map_err(AppError::internal)?;
            let status = u16::try_from(record.status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::CREATED);
            let mut res = respond(status, &body, record.location.as_deref());
            res.headers_mut().insert(
                header::HeaderName::from_static("idempotent-replayed"),
                header::HeaderValue::from_static("true"),
            );
            Ok(res)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};

    fn page(limit: Option<u32>, cursor: Option<String>) -> PageQuery {
        PageQuery { limit, cursor }
    }

    #[test]
    fn bad_limits_and_cursors_are_400s() {
        for q in [
            page(Some(0), None),
            page(Some(201), None),
            page(None, Some("not base64!".into())),
            page(None, Some(Base64UrlUnpadded::encode_string(b"v1:0190"))),
        ] {
            let err = q.window().unwrap_err();
            assert!(matches!(err, AppError::BadRequest(_)), "{q:?}");
        }
        let w = page(Some(3), None).window().unwrap();
        assert_eq!((w.limit, w.cursor), (3, None));
        assert_eq!(page(None, None).window().unwrap().limit, 50);
    }

    #[test]
    fn replays_hide_secrets() {
        let mut v = serde_json::json!({"id": "x", "credentials": {"api_key": "gate_key_abc", "client_id": "cid"}});
        redact(&mut v);
        assert_eq!(v["credentials"]["api_key"], ALREADY_RETURNED);
        assert_eq!(v["credentials"]["client_id"], "cid");
        assert_eq!(v["id"], "x");
    }

    #[test]
    fn if_match_compares_strongly() {
        let m = IfMatch(Some(vec!["\"a\"".into()]));
        assert!(m.check("\"a\"").is_ok());
        let weak = IfMatch(Some(vec!["W/\"a\"".into()]));
        assert!(matches!(
            weak.check("\"a\""),
            Err(AppError::PreconditionFailed)
        ));
        assert!(matches!(
            m.check("\"b\""),
            Err(AppError::PreconditionFailed)
        ));
        assert!(IfMatch(Some(vec!["*".into()])).check("\"b\"").is_ok());
        assert!(IfMatch(None).check("\"b\"").is_ok());
    }
}
