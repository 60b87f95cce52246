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
    /// The policy refused an actor who may not know the resource exists: answered
    /// exactly like [`AppError::NotFound`]; the reason goes only to the log.
    #[error("The page or resource you asked for does not exist.")]
    Hidden(&'static str),
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
    /// The path exists, but not for this method; `allow` lists the methods it takes.
    #[error("This address does not accept that method. It accepts {allow}.")]
    MethodNotAllowed { allow: String },
    /// The body is larger than this address accepts.
    #[error("{0}")]
    TooLarge(String),
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
    /// The database is busy or unreachable for now; the client is told when to retry.
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

    /// The database stayed busy: every writer waits its turn for the write lock, and
    /// this one waited longer than the busy timeout.
    pub fn busy() -> Self {
        Self::Unavailable("The service is busy right now. Please try again in a moment.".into())
    }

    /// Seconds after which a client may try again (`Retry-After`), where that helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable(_) => Some(RETRY_UNAVAILABLE_SECS),
            _ => None,
        }
    }

    /// The message a person may see.
    pub fn public_message(&self) -> String {
        self.to_string()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::Hidden(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::CsrfRejected(_) => StatusCode::FORBIDDEN,
            Self::SignInRequired { .. } | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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

/// `Retry-After` on a 503: long enough for a burst of writers to drain.
pub const RETRY_UNAVAILABLE_SECS: u64 = 2;

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound,
            ref other if is_contention(other) => {
                tracing::warn!(error = %other, "the database stayed busy");
                Self::busy()
            }
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

/// Did the statement fail only because other transactions held what it needed: SQLite
/// busy past its timeout ("database is locked"), or a PostgreSQL serialization
/// failure or deadlock? Retrying later can succeed, so it is a 503, not a 500.
pub fn is_contention(e: &diesel::result::Error) -> bool {
    use diesel::result::DatabaseErrorKind;
    let diesel::result::Error::DatabaseError(kind, info) = e else {
        return false;
    };
    if matches!(kind, DatabaseErrorKind::SerializationFailure) {
        return true;
    }
    let message = info.message();
    message.starts_with("database is locked")
        || message.starts_with("database table is locked")
        || message.starts_with("deadlock detected")
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
