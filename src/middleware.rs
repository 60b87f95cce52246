//! Request-wide behaviour: request ids, access logs, error rendering (HTML page or RFC
//! 9457 problem JSON), security headers on every response (errors included), the
//! Origin / `Sec-Fetch-Site` check on state-changing requests, and the anonymous CSRF
//! cookie.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use crate::auth::MaybeIdentity;
use crate::auth::csrf::{CSRF_COOKIE, CSRF_PURPOSE, FreshAnonToken};
use crate::config::PublicUrl;
use crate::crypto::random_base62;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{ErrorPage, FLASH_COOKIE, FlashShown, PageCtx, REVEAL_COOKIE};

/// The id of the current request, echoed in `X-Request-Id` and shown on error pages.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Machine endpoints answer JSON problems; everything else is for people.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/oauth/") || path.starts_with("/.well-known/")
}

/// Outermost layer: assigns the request id, turns every error into its final form,
/// puts the security headers on every response, and writes one log line per request
/// (route pattern, never the raw path: links may hold single-use tokens) plus one for
/// every authorization failure (who, which route, why).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    // Every statement the request runs, the error page's included, for `/metrics`.
    let tally = crate::db::count::Tally::default();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let record = |route: &str, status: StatusCode| {
        if let Some(m) = &metrics {
            m.record(
                route,
                status.as_u16(),
                started.elapsed(),
                tally.load(std::sync::atomic::Ordering::Relaxed),
            );
        }
    };
    let request_id = random_base62(16);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    let headers = HeaderPolicy::for_request(&req);

    // The request must not be cloned before routing (actix needs it unshared), so the
    // response's own copy is used afterwards.
    let noted = Rc::new(RefCell::new(None));
    let handled = DENIAL.scope(noted.clone(), next.call(req));
    let res = match crate::db::count::counting(tally.clone(), handled).await {
        Ok(res) => res.map_into_boxed_body(),
        // A layer failed without a response (the session store, say): its error becomes
        // the response, with the same headers as any other.
        Err(err) => {
            let mut response = err.error_response();
            headers.apply(response.headers_mut(), &request_id);
            record(&headers.route, response.status());
            tracing::warn!(
                request_id = %request_id,
                method = %method,
                route = %headers.route,
                status = response.status().as_u16(),
                cause = %err,
                "request failed in a middleware"
            );
            return Err(actix_web::error::InternalError::from_response(err, response).into());
        }
    };
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_string());
    let denial = match res.response().error() {
        Some(err) => denial_reason(err),
        None => noted.borrow_mut().take(),
    };
    if let Some(reason) = denial {
        let (actor, token) = actor_of(res.request());
        tracing::warn!(
            request_id = %request_id,
            actor = %actor,
            token = %token,
            method = %method,
            route = %route,
            status = res.status().as_u16(),
            reason = %reason,
            "access denied"
        );
    }
    let mut res = match res.response().error() {
        Some(err) => {
            let ctx =
                crate::db::count::counting(tally.clone(), error_page_ctx(err, res.request())).await;
            let page = render_error(err, res.request(), &request_id, ctx);
            res.into_response(page)
        }
        None => res,
    };
    headers.apply(res.headers_mut(), &request_id);
    record(&route, res.status());
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}

tokio::task_local! {
    /// The reason of a refusal a handler answered itself (a form shown again with a
    /// 403), for `observe`'s log line; errors that reach `observe` carry their own.
    static DENIAL: Rc<RefCell<Option<String>>>;
}

/// Notes that this request was refused for `reason` (a policy's message, never a
/// secret), where the refusal becomes a page of its own rather than an error.
pub fn note_denial(reason: &str) {
    let _ = DENIAL.try_with(|d| *d.borrow_mut() = Some(reason.to_string()));
}

/// Why the request was refused, when the error is an authorization failure: a 403 of
/// the policy or the CSRF check, a token refused with 401, or a 404 that hides what
/// the actor may not see. A resource that does not exist is not a refusal.
fn denial_reason(err: &Error) -> Option<String> {
    match err.as_error::<AppError>()? {
        AppError::Forbidden(reason)
        | AppError::CsrfRejected(reason)
        | AppError::Unauthorized(reason) => Some(reason.clone()),
        AppError::Hidden(reason) => Some((*reason).to_string()),
        _ => None,
    }
}

/// Who made the request, for the log: the signed-in user, or the API token's user and
/// the token's id; `-` for no one known.
fn actor_of(req: &HttpRequest) -> (String, String) {
    let extensions = req.extensions();
    if let Some(caller) = extensions.get::<crate::auth::api::ApiCaller>() {
        return (caller.user_id.clone(), caller.token_id.clone());
    }
    match extensions.get::<MaybeIdentity>() {
        Some(MaybeIdentity(Some(identity))) => (identity.user.id.clone(), "-".into()),
        _ => ("-".into(), "-".into()),
    }
}

fn generic_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "The page or resource you asked for does not exist.",
        StatusCode::METHOD_NOT_ALLOWED => "This address does not accept that kind of request.",
        StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "The request's content type is not supported here.",
        s if s.is_server_error() => "Something went wrong on our side.",
        _ => "The request could not be understood.",
    }
}

/// The layout of an error page: a signed-in viewer keeps their header and account
/// menu, and the organisation tabs where the path is in an organisation they belong
/// to (never a hint that another organisation exists). Bare when the page is not for
/// a person, when the request is only redirected to sign in, or when the viewer
/// cannot be loaded (the error may be the database itself).
async fn error_page_ctx(err: &Error, req: &HttpRequest) -> PageCtx {
    if is_api_path(req.path())
        || matches!(
            err.as_error::<AppError>(),
            Some(AppError::SignInRequired { .. } | AppError::Unavailable(_))
        )
    {
        return PageCtx::bare();
    }
    match PageCtx::from_request(req, &mut Payload::None).await {
        Ok(ctx) => PageCtx {
            // A flash belongs to the page after a redirect, not to an error page.
            flash: None,
            ..ctx.in_org_of_path(req.path())
        },
        Err(_) => PageCtx::bare(),
    }
}

fn render_error(err: &Error, req: &HttpRequest, request_id: &str, ctx: PageCtx) -> HttpResponse {
    let api = is_api_path(req.path());
    let errors = match err.as_error::<AppError>() {
        Some(AppError::Invalid(list)) => list.clone(),
        _ => Vec::new(),
    };
    let (status, message, retry_after) = match err.as_error::<AppError>() {
        Some(AppError::SignInRequired { next }) if !api => {
            let location = match next {
                Some(next) => format!(
                    "/login?next={}",
                    serde_urlencoded::to_string([("", next)])
                        .map(|s| s.trim_start_matches('=').to_string())
                        .unwrap_or_default()
                ),
                None => "/login".to_string(),
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        Some(app) => {
            if let AppError::Internal(cause) = app {
                tracing::error!(request_id = %request_id, cause = %cause, "internal error");
            }
            (app.status_code(), app.public_message(), app.retry_after())
        }
        None => {
            let status = err.as_response_error().status_code();
            if status.is_server_error() {
                tracing::error!(request_id = %request_id, cause = %err, "internal error");
            }
            (status, generic_message(status).to_string(), None)
        }
    };
    let title = status.canonical_reason().unwrap_or("Error").to_string();
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(secs) = retry_after {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if let Some(AppError::MethodNotAllowed { allow }) = err.as_error::<AppError>() {
        builder.insert_header((header::ALLOW, allow.as_str()));
    }
    let show_id = status.is_server_error().then(|| request_id.to_string());
    if api {
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"gatehouse\""));
        }
        let mut body = serde_json::json!({
            "type": "about:blank",
            "title": title,
            "status": status.as_u16(),
            "detail": message,
            "request_id": request_id,
        });
        if !errors.is_empty() {
            body["errors"] = serde_json::json!(errors);
        }
        return builder
            .content_type("application/problem+json")
            .body(body.to_string());
    }
    let page = ErrorPage {
        ctx,
        tab: "",
        status: status.as_u16(),
        title,
        message,
        request_id: show_id,
    };
    match askama::Template::render(&page) {
        Ok(html) => builder.content_type("text/html; charset=utf-8").body(html),
        Err(_) => builder
            .content_type("text/plain; charset=utf-8")
            .body(page.message),
    }
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
form-action 'self'";

const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
frame-ancestors 'none'; form-action 'self'";

/// The security headers of one request's response, decided before the request goes
/// in (it is not readable afterwards when a layer fails).
struct HeaderPolicy {
    csp: &'static str,
    hsts: bool,
    /// For the log line of a request that failed in a middleware.
    route: String,
}

impl HeaderPolicy {
    fn for_request(req: &ServiceRequest) -> Self {
        Self {
            // Swagger UI styles its widgets inline.
            csp: if req.path().starts_with("/api/docs") {
                DOCS_CSP
            } else {
                CSP
            },
            hsts: req
                .app_data::<web::Data<AppState>>()
                .is_some_and(|s| s.config.public_url.https),
            route: req
                .match_pattern()
                .unwrap_or_else(|| "(unmatched)".to_string()),
        }
    }

    /// Every response, error pages and problem documents included, gets the same
    /// headers; a header the handler chose (a stricter `Referrer-Policy`) is kept.
    fn apply(&self, headers: &mut header::HeaderMap, request_id: &str) {
        let mut set = |name: &'static str, value: &'static str| {
            let name = header::HeaderName::from_static(name);
            if !headers.contains_key(&name) {
                headers.insert(name, HeaderValue::from_static(value));
            }
        };
        set("content-security-policy", self.csp);
        set("x-content-type-options", "nosniff");
        set("x-frame-options", "DENY");
        set("referrer-policy", "same-origin");
        set("cross-origin-opener-policy", "same-origin");
        set(
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        );
        if self.hsts {
            set("strict-transport-security", "max-age=31536000");
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert(header::HeaderName::from_static("x-request-id"), v);
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// May a state-changing browser request have come from this site? Browsers send
/// `Sec-Fetch-Site` and `Origin`; tools that send neither are judged by the CSRF token.
/// The Origin must be the public URL's, or the requested host under the public URL's
/// scheme: a page served over the other scheme is another origin.
fn same_origin(req: &ServiceRequest, public_url: &PublicUrl) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    if origin == public_url.origin {
        return true;
    }
    let scheme = if public_url.https { "https" } else { "http" };
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => origin == format!("{scheme}://{}", host.to_ascii_lowercase()),
        None => false,
    }
}

/// Does the raw path carry a percent-encoded control character (NUL included)? No
/// page or id contains one, and PostgreSQL refuses NUL in text.
fn has_encoded_control(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .is_some_and(|b| b < 0x20 || b == 0x7f)
    })
}

/// The Origin check and anonymous CSRF cookie on pages; clearing a flash message once
/// a page has shown it. (The security headers are `observe`'s: they must come after an
/// error has become its final page.)
pub async fn security(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let path = req.path().to_string();
    let page = !is_api_path(&path)
        && !path.starts_with("/static/")
        && path != "/healthz"
        && path != "/readyz";

    if page && !is_safe(req.method()) && !same_origin(&req, &state.config.public_url) {
        let refused = AppError::CsrfRejected(
            "This request came from another site and was refused. Use the forms on this site."
                .into(),
        );
        return Ok(req.error_response(refused));
    }

    if has_encoded_control(req.uri().path()) {
        return Ok(req.error_response(AppError::NotFound));
    }

    let mut new_csrf_cookie = None;
    if page {
        let valid = req
            .cookie(CSRF_COOKIE)
            .is_some_and(|c| state.key.verify(CSRF_PURPOSE, c.value()).is_some());
        if !valid {
            let token = state.rng.base62(32);
            new_csrf_cookie =
                Some(state.cookie(CSRF_COOKIE, state.key.sign(CSRF_PURPOSE, &token), None));
            req.extensions_mut().insert(FreshAnonToken(token));
        }
    }

    let had_reveal_cookie = page && req.cookie(REVEAL_COOKIE).is_some();
    let mut res = next.call(req).await?.map_into_boxed_body();

    let flash_shown = res.request().extensions().get::<FlashShown>().is_some();
    let response = res.response_mut();
    if let Some(cookie) = new_csrf_cookie {
        let _ = response.add_cookie(&cookie);
    }
    // After a page that revealed a secret, the next page changes a cookie, so the
    // browser will not restore the reveal page from its back/forward cache.
    if had_reveal_cookie
        && !response
            .headers()
            .get_all(header::SET_COOKIE)
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with(REVEAL_COOKIE)))
    {
        let mut gone = state.cookie(REVEAL_COOKIE, String::new(), None);
        gone.make_removal();
        let _ = response.add_cookie(&gone);
    }
    if flash_shown && response.status() == StatusCode::OK {
        let mut gone = state.cookie(FLASH_COOKIE, String::new(), None);
        gone.make_removal();
        let _ = response.add_cookie(&gone);
    }
    Ok(res)
}

/// Removes a cookie set with the house attributes.
pub fn removal_cookie(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = state.cookie(name, String::new(), None);
    c.make_removal();
    c
}
