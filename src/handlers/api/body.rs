//! Bodies that may be left out: action endpoints whose fields are all optional
//! (revoke, rotate, reset, resume, transfer) take a bare `curl -X POST`.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

/// A JSON body that may be left out. An empty body (no `Content-Length`, or 0, and
/// no `Transfer-Encoding`), whatever its content type, is `T::default()`; so is
/// `null`. Any other body is read exactly as `web::Json` reads it under
/// [`super::support::json_config`]: 400 for bad JSON, 415 for another content type,
/// 413 when too large.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for OptionalJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Does the request say it has no body?
fn is_empty(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return false;
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => true,
        Some(length) => length.to_str().ok().map(str::trim) == Some("0"),
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if is_empty(req) {
            return Box::pin(async { Ok(Self(T::default())) });
        }
        let json = web::Json::<Option<T>>::from_request(req, payload);
        Box::pin(async move { Ok(Self(json.await?.into_inner().unwrap_or_default())) })
    }
}
