//! CSRF protection for every state-changing form.
//!
//! Signed-in users carry a random token stored in their session row; anonymous visitors
//! (sign-in, sign-up, setup) carry one in a signed cookie set by
//! `middleware::security`. A form handler takes [`CsrfForm<T>`] instead of
//! `web::Form<T>` (or [`CsrfMultipart`] instead of reading a `multipart/form-data` body
//! itself), so a handler cannot forget the check. Both go through [`check_token`]. The
//! Origin / `Sec-Fetch-Site` check in `middleware::security` comes on top of this.

use actix_multipart::Multipart;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::auth::{LocalFuture, MaybeIdentity};
use crate::crypto::constant_time_eq;
use crate::error::AppError;
use crate::state::AppState;

pub const CSRF_COOKIE: &str = "gatehouse_csrf";
pub const CSRF_PURPOSE: &str = "csrf";
pub const CSRF_FIELD: &str = "csrf_token";

/// The anonymous visitor's CSRF token, when the middleware had to make a new one on
/// this request (so the page can embed it before the cookie comes back).
#[derive(Debug, Clone)]
pub struct FreshAnonToken(pub String);

/// The token forms on this page must carry.
pub fn expected_token(req: &HttpRequest, identity: &MaybeIdentity) -> Option<String> {
    if let Some(identity) = &identity.0 {
        return Some(identity.session.csrf_token.clone());
    }
    anon_token(req)
}

fn anon_token(req: &HttpRequest) -> Option<String> {
    if let Some(fresh) = req.extensions().get::<FreshAnonToken>() {
        return Some(fresh.0.clone());
    }
    let state = AppState::from_req(req).ok()?;
    let cookie = req.cookie(CSRF_COOKIE)?;
    state
        .key
        .verify(CSRF_PURPOSE, cookie.value())
        .map(str::to_string)
}

const REJECTED: &str =
    "This form has expired or did not come from this site. Go back, reload the page and try again.";

/// The one CSRF check: the submitted token must equal the session's (or the anonymous
/// visitor's) token.
pub fn check_token(
    req: &HttpRequest,
    identity: &MaybeIdentity,
    submitted: &str,
) -> Result<(), AppError> {
    let expected = expected_token(req, identity).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(submitted.as_bytes(), expected.as_bytes()) {
        return Err(AppError::CsrfRejected(REJECTED.into()));
    }
    Ok(())
}

/// A form body that could not be read: 413 when it is larger than the route takes
/// (64 KiB, more on the product forms), 400 otherwise.
fn unreadable_form(e: actix_web::Error) -> AppError {
    match e.as_error::<actix_web::error::PayloadError>() {
        Some(actix_web::error::PayloadError::Overflow) => {
            AppError::TooLarge("The form is too large to be sent here.".into())
        }
        _ => AppError::bad_request(format!("The form could not be read: {e}")),
    }
}

/// A URL-encoded form whose CSRF token has been checked.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let identity = MaybeIdentity::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await.map_err(unreadable_form)?;
            let identity = identity.await?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|_| AppError::bad_request("The form data is not valid."))?;
            let submitted = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            check_token(&req, &identity, submitted)?;
            let value = serde_urlencoded::from_bytes::<T>(&body).map_err(|e| {
                AppError::bad_request(format!(
                    "The form is incomplete or has an invalid value ({e})."
                ))
            })?;
            Ok(CsrfForm(value))
        })
    }
}

/// Each part of a multipart form keeps at most this many bytes (1 MiB, the largest
/// upload a form takes, plus one byte so "too large" can be told apart).
pub const MULTIPART_PART_LIMIT: usize = 1024 * 1024 + 1;
/// The whole multipart body; past this the request is refused without reading on.
const MULTIPART_TOTAL_LIMIT: usize = 8 * 1024 * 1024;
const MULTIPART_MAX_PARTS: usize = 32;

/// One part of a multipart form.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    /// Set for a file input (empty when no file was chosen).
    pub file_name: Option<String>,
    /// The first [`MULTIPART_PART_LIMIT`] bytes.
    pub bytes: Vec<u8>,
    /// The part was longer than [`MULTIPART_PART_LIMIT`].
    pub too_large: bool,
}

/// A `multipart/form-data` form (a file upload) whose CSRF token has been checked with
/// the same token and rule as [`CsrfForm`].
#[derive(Debug)]
pub struct CsrfMultipart(pub Vec<Part>);

impl CsrfMultipart {
    /// The named part, if the form sent it.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.0.iter().find(|p| p.name == name)
    }

    /// A text field as a string (empty when absent).
    pub fn text(&self, name: &str) -> Result<String, AppError> {
        match self.part(name) {
            None => Ok(String::new()),
            Some(p) => String::from_utf8(p.bytes.clone())
                .map_err(|_| AppError::bad_request(format!("The field {name} is not UTF-8 text."))),
        }
    }
}

async fn read_parts(mut form: Multipart) -> Result<Vec<Part>, AppError> {
    let unreadable = |e: actix_multipart::MultipartError| {
        AppError::bad_request(format!("The form could not be read: {e}"))
    };
    let mut parts = Vec::new();
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(unreadable)?;
        if parts.len() >= MULTIPART_MAX_PARTS {
            return Err(AppError::bad_request("The form has too many fields."));
        }
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let mut part = Part {
            name,
            file_name,
            bytes: Vec::new(),
            too_large: false,
        };
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(unreadable)?;
            total += chunk.len();
            if total > MULTIPART_TOTAL_LIMIT {
                return Err(AppError::TooLarge(
                    "The form is too large: a document may be at most 1 MiB.".into(),
                ));
            }
            let room = MULTIPART_PART_LIMIT.saturating_sub(part.bytes.len());
            if chunk.len() > room {
                part.too_large = true;
            }
            part.bytes
                .extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        parts.push(part);
    }
    Ok(parts)
}

impl FromRequest for CsrfMultipart {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = Multipart::from_request(req, payload);
        let identity = MaybeIdentity::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form
                .await
                .map_err(|e| AppError::bad_request(format!("The form could not be read: {e}")))?;
            let identity = identity.await?;
            let parts = read_parts(form).await?;
            let submitted = parts
                .iter()
                .find(|p| p.name == CSRF_FIELD)
                .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
                .unwrap_or_default();
            check_token(&req, &identity, &submitted)?;
            Ok(CsrfMultipart(parts))
        })
    }
}
