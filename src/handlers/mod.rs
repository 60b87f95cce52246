//! Portal pages (and, in later steps, the machine API). A handler extracts, asks the
//! policy, calls one service and renders or redirects.

pub mod account;
pub mod activity;
pub mod api;
pub mod app_secrets;
pub mod approvals;
pub mod apps;
pub mod auth;
pub mod email;
pub mod gateway_tokens;
pub mod instance;
pub mod invite;
pub mod members;
pub mod notifications;
pub mod oauth;
pub mod orgs;
pub mod products;
pub mod system;
pub mod teams;
pub mod tokens;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::error::AppError;
use crate::services::Ctx;
use crate::state::AppState;

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// The service context for a request by `actor_id`.
pub fn service_ctx(req: &HttpRequest, state: &AppState, actor_id: Option<&str>) -> Ctx {
    Ctx {
        actor_id: actor_id.map(str::to_string),
        ip: Some(crate::state::client_ip(req)),
        now: state.clock.now_naive(),
    }
}

/// Errors a person can fix in the form they sent: the form is shown again with the
/// message and this status. Anything else propagates to the error page. A refusal
/// (403) is noted for the access log, as one that reaches the error page is.
pub fn form_problem(e: AppError) -> Result<(StatusCode, String), AppError> {
    if let AppError::Forbidden(reason) = &e {
        crate::middleware::note_denial(reason);
    }
    match e {
        AppError::BadRequest(_)
        | AppError::Invalid(_)
        | AppError::Conflict(_)
        | AppError::Forbidden(_)
        | AppError::Gone(_) => {
            let status = if matches!(e, AppError::BadRequest(_) | AppError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                e.status_code()
            };
            Ok((status, e.public_message()))
        }
        other => Err(other),
    }
}

/// Redirects to `to` with `ok` as the flash message, or with the message of an error
/// the user can act on; "not found" and "forbidden" go to the error page instead.
pub fn flash_outcome(
    req: &HttpRequest,
    to: &str,
    result: Result<(), AppError>,
    ok: &str,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(crate::web::see_other_with(req, to, "info", ok)),
        Err(e @ (AppError::NotFound | AppError::Hidden(_) | AppError::Forbidden(_))) => Err(e),
        Err(e) => {
            let (_, message) = form_problem(e)?;
            Ok(crate::web::see_other_with(req, to, "error", &message))
        }
    }
}
