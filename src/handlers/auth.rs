//! First-run setup, sign-in, sign-out and sign-up.

use actix_session::SessionExt;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::{State, session_store};
use crate::crypto::SecretString;
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, form_problem, service_ctx};
use crate::models::users;
use crate::services::passwords::{self, Attempt, Checked};
use crate::services::{self, accounts::NewAccount};
use crate::state::AppState;
use crate::state::client_ip;
use crate::validate;
use crate::web::{PageCtx, render, render_status, safe_next, see_other, see_other_with};

/// Starts a session for `user_id` and redirects to `next`. The session key is renewed:
/// a session the browser had before ends, and nothing of it carries over.
pub fn start_session(
    req: &HttpRequest,
    user_id: &str,
    next: &str,
    flash: Option<&str>,
) -> AppResult<HttpResponse> {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    session_store::sign_in(&req.get_session(), user_id, &client_ip(req), user_agent)?;
    Ok(match flash {
        Some(message) => see_other_with(req, next, "info", message),
        None => see_other(next),
    })
}

// ---------------------------------------------------------------- setup

#[derive(Template)]
#[template(path = "auth/setup.html")]
pub struct SetupPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub display_name: String,
    pub email: String,
    pub org_name: String,
    pub org_slug: String,
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    pub setup_code: SecretString,
    pub display_name: String,
    pub email: String,
    pub password: SecretString,
    pub org_name: String,
    #[serde(default)]
    pub org_slug: String,
}

pub async fn setup_form(ctx: PageCtx, state: State) -> AppResult<HttpResponse> {
    if !state.db(services::instance::setup_pending).await? {
        return Ok(see_other("/login"));
    }
    render(&SetupPage {
        ctx,
        errors: Vec::new(),
        display_name: String::new(),
        email: String::new(),
        org_name: String::new(),
        org_slug: String::new(),
    })
}

pub async fn setup(
    req: HttpRequest,
    ctx: PageCtx,
    state: State,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> AppResult<HttpResponse> {
    let ip = client_ip(&req);
    let now = state.clock.now();
    let again = |ctx: PageCtx, status: StatusCode, errors: Vec<String>, form: &SetupForm| {
        render_status(
            status,
            &SetupPage {
                ctx,
                errors,
                display_name: form.display_name.clone(),
                email: form.email.clone(),
                org_name: form.org_name.clone(),
                org_slug: form.org_slug.clone(),
            },
        )
    };
    if let Err(secs) = state.throttle.check_address("setup", &ip, now) {
        return again(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            vec![
                AppError::TooManyRequests {
                    retry_after_secs: secs,
                }
                .public_message(),
            ],
            &form,
        );
    }
    let mut errors = Vec::new();
    let name = validate::name(&form.display_name, "Your name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let email = validate::email(&form.email)
        .map_err(|e| errors.push(e))
        .ok();
    let words = [
        form.email.trim(),
        form.display_name.trim(),
        form.org_name.trim(),
    ];
    if let Err(e) = state
        .check_new_password(&crate::state::client_ip(&req), &form.password, &words)
        .await?
    {
        errors.push(e);
    }
    let org_name = validate::name(&form.org_name, "Organisation name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let slug_raw = if form.org_slug.trim().is_empty() {
        validate::slugify(org_name.as_deref().unwrap_or(""))
    } else {
        form.org_slug.trim().to_string()
    };
    let slug = validate::slug(&slug_raw).map_err(|e| errors.push(e)).ok();
    let (Some(name), Some(email), Some(org_name), Some(slug), true) =
        (name, email, org_name, slug, errors.is_empty())
    else {
        return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, errors, &form);
    };
    let hash = state.hasher.hash(form.password.clone()).await?;
    let account = NewAccount {
        email,
        display_name: name,
        password_hash: hash,
    };
    let service_ctx = ctx_for(&req, &state);
    let code = form.setup_code.clone();
    let public_base = state.public_base();
    let result = state
        .db(move |conn| {
            services::accounts::complete_setup(
                conn,
                &service_ctx,
                &code,
                &account,
                &org_name,
                &slug,
                &public_base,
            )
        })
        .await;
    match result {
        Ok((user, org)) => {
            tracing::info!(user_id = %user.id, org = %org.slug, "first-run setup completed");
            start_session(
                &req,
                &user.id,
                &format!("/o/{}", org.slug),
                Some(
                    "Welcome! Your instance and organisation are ready. We sent you a link to confirm your email address.",
                ),
            )
        }
        Err(AppError::Gone(_)) => Ok(see_other_with(
            &req,
            "/login",
            "info",
            "This instance is already set up. Sign in.",
        )),
        Err(e) => {
            if matches!(e, AppError::Forbidden(_)) {
                state.throttle.record_address("setup", &ip, now);
            }
            let (status, message) = form_problem(e)?;
            again(ctx, status, vec![message], &form)
        }
    }
}

/// Account creation costs a password hash: each source address gets a few free
/// attempts, then growing delays, so nobody can fill the hashing pool.
pub fn throttle_account_creation(req: &HttpRequest, state: &AppState) -> Result<(), u64> {
    let ip = client_ip(req);
    let now = state.clock.now();
    state.throttle.check_address("account-creation", &ip, now)?;
    state.throttle.record_address("account-creation", &ip, now);
    Ok(())
}

fn ctx_for(req: &HttpRequest, state: &AppState) -> services::Ctx {
    service_ctx(req, state, None)
}

// ---------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub email: String,
    pub next: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: SecretString,
    #[serde(default)]
    pub next: Option<String>,
}

pub async fn login_form(
    ctx: PageCtx,
    state: State,
    query: web::Query<NextQuery>,
) -> AppResult<HttpResponse> {
    let next = safe_next(query.next.as_deref());
    if ctx.is_signed_in() {
        return Ok(see_other(&next));
    }
    if state.db(services::instance::setup_pending).await? {
        return Ok(see_other("/setup"));
    }
    render(&LoginPage {
        ctx,
        errors: Vec::new(),
        email: String::new(),
        next,
    })
}

const WRONG_CREDENTIALS: &str = "Email or password is not correct.";

pub async fn login(
    req: HttpRequest,
    ctx: PageCtx,
    state: State,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> AppResult<HttpResponse> {
    let next = safe_next(form.next.as_deref());
    let again = |ctx: PageCtx, status: StatusCode, message: String, retry: Option<u64>| {
        let mut res = render_status(
            status,
            &LoginPage {
                ctx,
                errors: vec![message],
                email: form.email.clone(),
                next: next.clone(),
            },
        )?;
        if let Some(secs) = retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        Ok(res)
    };
    let email = match validate::email(&form.email) {
        Ok(email) => email,
        Err(message) => return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, message, None),
    };
    if form.password.expose().is_empty() {
        return again(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Password is required.".into(),
            None,
        );
    }
    let ip = client_ip(&req);
    let account_key = form.email.trim().to_lowercase();
    let attempt = Attempt {
        ip: &ip,
        account_key: &account_key,
        password: &form.password,
        now: state.clock.now(),
    };
    // The account the address names, if any: a failed attempt on it is recorded.
    let account = std::cell::RefCell::new(None);
    let lookup = async {
        let user = state
            .db(move |conn| Ok(users::find_by_email(conn, &email)?))
            .await?;
        Ok(user.map(|u| {
            *account.borrow_mut() = Some(u.id.clone());
            let hash = u.password_hash.clone();
            (u, hash)
        }))
    };
    match passwords::check(&state.throttle, &state.hasher, attempt, lookup).await? {
        Checked::Verified(user) => {
            let c = service_ctx(&req, &state, Some(&user.id));
            let user_id = user.id.clone();
            state
                .db(move |conn| services::account_activity::signed_in(conn, &c, &user_id))
                .await?;
            tracing::info!(user_id = %user.id, ip = %ip, "signed in");
            start_session(&req, &user.id, &next, None)
        }
        Checked::Wrong => {
            let account = account.borrow_mut().take();
            tracing::warn!(
                user_id = %account.as_deref().unwrap_or("-"),
                ip = %ip,
                reason = %"wrong email or password",
                "sign-in failed"
            );
            if let Some(user_id) = account {
                // Written after the answer, so how long the answer takes does not tell
                // whether the account exists.
                let c = ctx_for(&req, &state);
                let state = state.clone();
                actix_web::rt::spawn(async move {
                    let recorded = state
                        .db(move |conn| {
                            services::account_activity::sign_in_failed(conn, &c, &user_id)
                        })
                        .await;
                    if let Err(e) = recorded {
                        tracing::warn!(error = %e, "a failed sign-in could not be recorded");
                    }
                });
            }
            again(
                ctx,
                StatusCode::UNAUTHORIZED,
                WRONG_CREDENTIALS.into(),
                None,
            )
        }
        Checked::Throttled { retry_after_secs } => {
            // Not an audit entry: refused attempts cost nothing, so they must not grow
            // the database.
            tracing::warn!(ip = %ip, reason = %"throttled", "sign-in failed");
            let message = AppError::TooManyRequests { retry_after_secs }.public_message();
            again(
                ctx,
                StatusCode::TOO_MANY_REQUESTS,
                message,
                Some(retry_after_secs),
            )
        }
    }
}

/// Ends the session: the session middleware deletes its row and the cookie.
pub async fn logout(
    req: HttpRequest,
    state: State,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    if let Some((user_id, _)) = session_store::current(&req.get_session()) {
        let c = service_ctx(&req, &state, Some(&user_id));
        tracing::info!(user_id = %user_id, "signed out");
        state
            .db(move |conn| services::account_activity::signed_out(conn, &c, &user_id))
            .await?;
    }
    req.get_session().purge();
    Ok(see_other_with(
        &req,
        "/login",
        "info",
        "You are signed out.",
    ))
}

// ---------------------------------------------------------------- sign-up

#[derive(Template)]
#[template(path = "auth/signup.html")]
pub struct SignupPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub open: bool,
    pub display_name: String,
    pub email: String,
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    pub display_name: String,
    pub email: String,
    pub password: SecretString,
}

pub async fn signup_form(ctx: PageCtx, state: State) -> AppResult<HttpResponse> {
    if ctx.is_signed_in() {
        return Ok(see_other("/"));
    }
    if state.db(services::instance::setup_pending).await? {
        return Ok(see_other("/setup"));
    }
    let open = state.db(services::instance::load).await?.open_signup;
    render(&SignupPage {
        ctx,
        errors: Vec::new(),
        open,
        display_name: String::new(),
        email: String::new(),
    })
}

pub async fn signup(
    req: HttpRequest,
    ctx: PageCtx,
    state: State,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> AppResult<HttpResponse> {
    let again = |ctx: PageCtx, status: StatusCode, errors: Vec<String>| {
        render_status(
            status,
            &SignupPage {
                ctx,
                errors,
                open: true,
                display_name: form.display_name.clone(),
                email: form.email.clone(),
            },
        )
    };
    let mut errors = Vec::new();
    let name = validate::name(&form.display_name, "Your name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let email = validate::email(&form.email)
        .map_err(|e| errors.push(e))
        .ok();
    let words = [form.email.trim(), form.display_name.trim()];
    if let Err(e) = state
        .check_new_password(&crate::state::client_ip(&req), &form.password, &words)
        .await?
    {
        errors.push(e);
    }
    let (Some(name), Some(email), true) = (name, email, errors.is_empty()) else {
        return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, errors);
    };
    let settings = state.db(services::instance::load).await?;
    if !settings.open_signup {
        return again(
            ctx,
            StatusCode::FORBIDDEN,
            vec![
                "Sign-up is closed on this instance. Ask an organisation admin for an invitation."
                    .into(),
            ],
        );
    }
    if let Err(secs) = throttle_account_creation(&req, &state) {
        let message = AppError::TooManyRequests {
            retry_after_secs: secs,
        }
        .public_message();
        return again(ctx, StatusCode::TOO_MANY_REQUESTS, vec![message]);
    }
    let hash = state.hasher.hash(form.password.clone()).await?;
    let account = NewAccount {
        email,
        display_name: name,
        password_hash: hash,
    };
    let service_ctx = ctx_for(&req, &state);
    let public_base = state.public_base();
    match state
        .db(move |conn| services::accounts::sign_up(conn, &service_ctx, &account, &public_base))
        .await
    {
        Ok(user) => start_session(
            &req,
            &user.id,
            "/orgs",
            Some(
                "Welcome to Gatehouse! We sent you a link to confirm your email address. Create an organisation or open an invitation link to join one.",
            ),
        ),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            again(ctx, status, vec![message])
        }
    }
}
