//! HTTP methods: every route is guarded by [`on`] (or [`get`], [`post`], …), which
//! notes in the request the methods of each route whose path matched, so a request
//! that no route takes is answered 405 with `Allow` ([`refused`]) when its path
//! exists, 404 otherwise. HEAD is served as GET everywhere ([`head_as_get`]); the
//! HTTP codec sends the GET's status and headers without the body.
//!
//! `actix_web::web::get()` and its siblings would skip the note, so clippy refuses them
//! (`clippy.toml`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, Route, web};

use crate::error::AppError;

/// The methods of the routes whose path matched this request, in the order tried.
#[derive(Debug, Clone, Default)]
struct Matched(Vec<Method>);

/// A guard that lets one method through and notes it for [`refused`].
#[derive(Debug, Clone)]
pub struct On(Method);

impl Guard for On {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        {
            let mut data = ctx.req_data_mut();
            if data.get::<Matched>().is_none() {
                data.insert(Matched::default());
            }
            if let Some(matched) = data.get_mut::<Matched>()
                && !matched.0.contains(&self.0)
            {
                matched.0.push(self.0.clone());
            }
        }
        ctx.head().method == self.0
    }
}

/// The guard for routes of `method`.
pub fn on(method: Method) -> On {
    On(method)
}

/// A route for `method` that notes itself for [`refused`].
pub fn route(method: Method) -> Route {
    web::route().guard(on(method))
}

pub fn get() -> Route {
    route(Method::GET)
}

pub fn post() -> Route {
    route(Method::POST)
}

pub fn put() -> Route {
    route(Method::PUT)
}

pub fn patch() -> Route {
    route(Method::PATCH)
}

pub fn delete() -> Route {
    route(Method::DELETE)
}

/// The `Allow` header for the routes whose path matched: HEAD wherever GET is.
fn allow_header(matched: &[Method]) -> String {
    let order = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let allowed =
        |m: &Method| matched.contains(m) || (*m == Method::HEAD && matched.contains(&Method::GET));
    order
        .iter()
        .filter(|m| allowed(m))
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// For a default service: 405 with `Allow` when some route has this path but another
/// method, 404 when none has.
pub fn refused(req: &HttpRequest) -> AppError {
    match req.extensions().get::<Matched>() {
        Some(matched) if !matched.0.is_empty() => AppError::MethodNotAllowed {
            allow: allow_header(&matched.0),
        },
        _ => AppError::NotFound,
    }
}

/// Runs a HEAD request as the GET of the same path. The response keeps the GET's
/// status and headers (`Content-Length` included); the HTTP codec, which saw the
/// request was a HEAD, leaves the body out.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_head_with_get_in_a_fixed_order() {
        assert_eq!(
            allow_header(&[Method::POST, Method::GET]),
            "GET, HEAD, POST"
        );
        assert_eq!(
            allow_header(&[Method::DELETE, Method::PATCH]),
            "PATCH, DELETE"
        );
        assert_eq!(allow_header(&[Method::POST]), "POST");
    }
}
