//! CSRF protection for every state-changing form.
//!
//! Signed-in users carry a random token stored in their session row; anonymous visitors
//! (sign-in, sign-up, setup) carry one in a signed cookie set by
//! `middleware::security`. A form handler takes [`CsrfForm<T>`] instead of
//! `web::Form<T>`, so a handler cannot forget the check. The Origin / `Sec-Fetch-Site`
//! check in `middleware::security` comes on top of this.

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::auth::{LocalFuture, MaybeIdentity};
use crate::crypto::constant_time_eq;
use crate::error::AppError;
use crate::startup::AppState;

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
            let body = body
                .await
                .map_err(|e| AppError::bad_request(format!("The form could not be read: {e}")))?;
            let identity = identity.await?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|_| AppError::bad_request("The form data is not valid."))?;
            let submitted = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            let expected = expected_token(&req, &identity).unwrap_or_default();
            if expected.is_empty() || !constant_time_eq(submitted.as_bytes(), expected.as_bytes()) {
                return Err(AppError::CsrfRejected(REJECTED.into()));
            }
            let value = serde_urlencoded::from_bytes::<T>(&body).map_err(|e| {
                AppError::bad_request(format!(
                    "The form is incomplete or has an invalid value ({e})."
                ))
            })?;
            Ok(CsrfForm(value))
        })
    }
}
