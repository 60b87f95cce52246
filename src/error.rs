//! One error type for every handler. Models return `QueryResult`, services and
//! handlers return [`AppResult`]. How an error looks (an HTML page for people, RFC 9457
//! problem JSON under `/api/`) is decided once, in `middleware::render_errors`, which
//! also logs the cause of every 5xx with the request id and shows the user only the id.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The resource does not exist or the actor may not know it exists.
    #[error("The page or resource you asked for does not exist.")]
    NotFound,
    /// The actor may see the resource but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// Sign-in needed; pages redirect to the sign-in form, the API answers 401.
    #[error("Please sign in to continue.")]
    SignInRequired { next: Option<String> },
    /// An API request without a usable bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// Well-formed, but the values are not acceptable; every problem is listed.
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    /// `If-Match` named a version that is no longer current.
    #[error(
        "The resource changed since you read it: its ETag no longer matches If-Match. Read it again and retry."
    )]
    PreconditionFailed,
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state (an illegal transition, a duplicate).
    #[error("{0}")]
    Conflict(String),
    /// The CSRF token or Origin check failed.
    #[error("{0}")]
    CsrfRejected(String),
    /// The thing existed but is used up: an accepted, revoked or expired link.
    #[error("{0}")]
    Gone(String),
    #[error("Too many attempts. Please wait {retry_after_secs} seconds and try again.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an outage; the cause is logged, never shown.
    #[error("Something went wrong on our side.")]
    Internal(String),
}

impl AppError {
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(vec![msg.into()])
    }

    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }

    /// The message a person may see.
    pub fn public_message(&self) -> String {
        self.to_string()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::CsrfRejected(_) => StatusCode::FORBIDDEN,
            Self::SignInRequired { .. } | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A plain fallback; `middleware::render_errors` replaces it with the real page.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.public_message())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound,
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection available");
        Self::Unavailable(
            "The database is not answering right now. Please try again shortly.".into(),
        )
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(format!("blocking task: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}
