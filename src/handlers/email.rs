//! Links that arrive by email: verifying an address and resetting a forgotten
//! password, plus the "Forgot your password?" form. Link pages carry a token, so they
//! send `Referrer-Policy: same-origin`, and their forms post the token in the body.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::{MaybeIdentity, SESSION_COOKIE, State};
use crate::crypto::SecretString;
use crate::error::{AppError, AppResult};
use crate::handlers::{form_problem, service_ctx};
use crate::middleware::removal_cookie;
use crate::models::users;
use crate::services::{self, email::Purpose};
use crate::state::client_ip;
use crate::validate;
use crate::web::{PageCtx, render, render_status, see_other_with, token_page};

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    pub token: SecretString,
}

/// Whether the link can be used; `Err` is the page to show when it cannot.
async fn usable(
    state: &State,
    purpose: Purpose,
    token: &str,
) -> AppResult<Result<String, (StatusCode, String)>> {
    let now = state.clock.now_naive();
    let lookup = token.to_string();
    match state
        .db(move |conn| services::email::find_usable(conn, purpose, &lookup, now))
        .await
    {
        Ok((found, _)) => Ok(Ok(found.email)),
        Err(e) => Ok(Err(form_problem(e)?)),
    }
}

// ---------------------------------------------------------------- verification

#[derive(Template)]
#[template(path = "email/verify.html")]
pub struct VerifyPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    /// Empty when the link cannot be used (then `errors` says why).
    pub token: String,
    pub email: String,
}

fn verify_page(
    ctx: PageCtx,
    status: StatusCode,
    errors: Vec<String>,
    token: String,
    email: String,
) -> AppResult<HttpResponse> {
    render_status(
        status,
        &VerifyPage {
            ctx,
            errors,
            token,
            email,
        },
    )
    .map(token_page)
}

pub async fn verify_form(
    ctx: PageCtx,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    match usable(&state, Purpose::VerifyEmail, &token).await? {
        Ok(email) => verify_page(ctx, StatusCode::OK, Vec::new(), token, email),
        Err((status, message)) => {
            verify_page(ctx, status, vec![message], String::new(), String::new())
        }
    }
}

pub async fn verify(
    req: HttpRequest,
    ctx: PageCtx,
    identity: MaybeIdentity,
    state: State,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    let c = service_ctx(&req, &state, None);
    let token = form.token.clone();
    match state
        .db(move |conn| services::email::verify(conn, &c, &token))
        .await
    {
        Ok(user) => {
            let to = if identity.0.is_some() {
                "/account"
            } else {
                "/login"
            };
            Ok(see_other_with(
                &req,
                to,
                "info",
                &format!("Thank you: {} is verified.", user.email),
            ))
        }
        Err(e) => {
            let (status, message) = form_problem(e)?;
            verify_page(ctx, status, vec![message], String::new(), String::new())
        }
    }
}

// ---------------------------------------------------------------- forgotten password

#[derive(Template)]
#[template(path = "email/forgot.html")]
pub struct ForgotPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub email: String,
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    pub email: String,
}

pub async fn forgot_form(ctx: PageCtx) -> AppResult<HttpResponse> {
    render(&ForgotPage {
        ctx,
        errors: Vec::new(),
        email: String::new(),
    })
}

/// The same answer whether or not an account has the address.
const RESET_SENT: &str = "If an account uses that address, we have sent it a link to choose a new password. The link works once, for one hour.";

pub async fn forgot(
    req: HttpRequest,
    ctx: PageCtx,
    state: State,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> AppResult<HttpResponse> {
    let again = |ctx: PageCtx, status: StatusCode, message: String| {
        render_status(
            status,
            &ForgotPage {
                ctx,
                errors: vec![message],
                email: form.email.chars().take(300).collect(),
            },
        )
    };
    let email = match validate::email(&form.email) {
        Ok(email) => email,
        Err(message) => return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, message),
    };
    let ip = client_ip(&req);
    let now = state.clock.now();
    if let Err(secs) = state.throttle.check_address("password-reset", &ip, now) {
        let message = AppError::TooManyRequests {
            retry_after_secs: secs,
        }
        .public_message();
        return again(ctx, StatusCode::TOO_MANY_REQUESTS, message);
    }
    state.throttle.record_address("password-reset", &ip, now);
    let c = service_ctx(&req, &state, None);
    let public_base = state.public_base();
    state
        .db(move |conn| services::email::request_password_reset(conn, &c, &email, &public_base))
        .await?;
    Ok(see_other_with(&req, "/login", "info", RESET_SENT))
}

// ---------------------------------------------------------------- reset

#[derive(Template)]
#[template(path = "email/reset.html")]
pub struct ResetPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    /// Empty when the link cannot be used (then `errors` says why).
    pub token: String,
    pub email: String,
}

fn reset_page(
    ctx: PageCtx,
    status: StatusCode,
    errors: Vec<String>,
    token: String,
    email: String,
) -> AppResult<HttpResponse> {
    render_status(
        status,
        &ResetPage {
            ctx,
            errors,
            token,
            email,
        },
    )
    .map(token_page)
}

pub async fn reset_form(
    ctx: PageCtx,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    match usable(&state, Purpose::ResetPassword, &token).await? {
        Ok(email) => reset_page(ctx, StatusCode::OK, Vec::new(), token, email),
        Err((status, message)) => {
            reset_page(ctx, status, vec![message], String::new(), String::new())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    pub token: SecretString,
    pub new_password: SecretString,
}

pub async fn reset(
    req: HttpRequest,
    ctx: PageCtx,
    state: State,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> AppResult<HttpResponse> {
    // A dead link costs no password hash.
    let email = match usable(&state, Purpose::ResetPassword, form.token.expose()).await? {
        Ok(email) => email,
        Err((status, message)) => {
            return reset_page(ctx, status, vec![message], String::new(), String::new());
        }
    };
    let lookup = email.clone();
    let name = state
        .db(move |conn| Ok(users::find_by_email(conn, &lookup)?.map(|u| u.display_name)))
        .await?
        .unwrap_or_default();
    let words = [email.as_str(), name.as_str()];
    let checked = state
        .check_new_password(&crate::state::client_ip(&req), &form.new_password, &words)
        .await?;
    if let Err(message) = checked {
        return reset_page(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![message],
            form.token.expose().to_string(),
            email,
        );
    }
    let hash = state.hasher.hash(form.new_password.clone()).await?;
    let c = service_ctx(&req, &state, None);
    let token = form.token.clone();
    match state
        .db(move |conn| services::email::reset_password(conn, &c, &token, &hash))
        .await
    {
        Ok(user) => {
            tracing::info!(user_id = %user.id, "password reset by email link");
            let mut res = see_other_with(
                &req,
                "/login",
                "info",
                "Your password is changed and every session of your account is signed out. Sign in with the new password.",
            );
            res.add_cookie(&removal_cookie(&state, SESSION_COOKIE))
                .map_err(|e| AppError::internal(format!("cookie: {e}")))?;
            Ok(res)
        }
        Err(e) => {
            let (status, message) = form_problem(e)?;
            reset_page(ctx, status, vec![message], String::new(), String::new())
        }
    }
}
