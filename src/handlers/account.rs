//! The signed-in user's account: profile, email address (change, verification),
//! password, sessions, and its recent security activity.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::{SignedIn, State};
use crate::crypto::SecretString;
use crate::error::{AppError, AppResult};
use crate::handlers::activity::account_sentence;
use crate::handlers::{EmptyForm, form_problem, service_ctx};
use crate::models::audit::AuditEvent;
use crate::models::sessions::Session;
use crate::services;
use crate::services::account_activity;
use crate::services::passwords::{self, Attempt, Checked};
use crate::validate;
use crate::web::{PageCtx, render_status, see_other_with};
use crate::when::When;

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    pub display_name: String,
    pub email: String,
    pub email_verified: bool,
    /// What was typed into the email-change form, shown again after an error.
    pub new_email: String,
    pub sessions: Vec<SessionRow>,
    /// The newest events of the account (sign-ins, failed ones, sign-outs, changes).
    pub activity: Vec<SecurityEventRow>,
}

/// One line of the account's recent security activity.
pub struct SecurityEventRow {
    pub when: When,
    pub what: String,
    /// The source address, or "—" when there was none (the command line).
    pub ip: String,
    /// A failed sign-in: shown so it stands out.
    pub warning: bool,
}

fn activity_rows(events: &[AuditEvent], now: NaiveDateTime) -> Vec<SecurityEventRow> {
    events
        .iter()
        .map(|e| SecurityEventRow {
            when: When::at(e.created_at, now),
            what: account_sentence(e),
            ip: e.ip.clone().unwrap_or_else(|| "—".into()),
            warning: e.action == account_activity::SIGN_IN_FAILED,
        })
        .collect()
}

pub struct SessionRow {
    pub id: String,
    pub current: bool,
    pub created: When,
    pub last_seen: When,
    pub ip: String,
    pub user_agent: String,
    /// "Chrome on Linux": the user agent as people name it.
    pub browser: String,
}

/// Names the browser and system of a user agent string, as people say them.
fn browser_name(user_agent: &str) -> String {
    let has = |s: &str| user_agent.contains(s);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        return if user_agent.is_empty() {
            "Unknown browser".into()
        } else {
            user_agent.chars().take(40).collect()
        };
    };
    let system = if has("Windows") {
        "Windows"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Mac OS X") {
        "macOS"
    } else if has("Android") {
        "Android"
    } else if has("Linux") {
        "Linux"
    } else {
        return browser.into();
    };
    format!("{browser} on {system}")
}

fn rows(sessions: Vec<Session>, current: &str, now: NaiveDateTime) -> Vec<SessionRow> {
    sessions
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == current,
            created: When::at(s.created_at, now),
            last_seen: When::at(s.last_seen_at, now),
            ip: s.ip,
            browser: browser_name(&s.user_agent),
            user_agent: if s.user_agent.is_empty() {
                "unknown browser".into()
            } else {
                s.user_agent
            },
            id: s.id,
        })
        .collect()
}

async fn page(
    ctx: PageCtx,
    me: &SignedIn,
    state: &State,
    status: StatusCode,
    errors: Vec<String>,
) -> AppResult<HttpResponse> {
    page_with(ctx, me, state, status, errors, String::new()).await
}

async fn page_with(
    ctx: PageCtx,
    me: &SignedIn,
    state: &State,
    status: StatusCode,
    errors: Vec<String>,
    new_email: String,
) -> AppResult<HttpResponse> {
    let user_id = me.user.id.clone();
    let (sessions, events) = state
        .db(move |conn| {
            Ok((
                services::sessions::list(conn, &user_id)?,
                account_activity::recent(conn, &user_id)?,
            ))
        })
        .await?;
    let now = state.clock.now_naive();
    render_status(
        status,
        &AccountPage {
            display_name: me.user.display_name.clone(),
            email: me.user.email.clone(),
            email_verified: me.user.email_verified_at.is_some(),
            new_email,
            sessions: rows(sessions, &me.session.id, now),
            activity: activity_rows(&events, now),
            errors,
            ctx,
        },
    )
}

pub async fn show(ctx: PageCtx, me: SignedIn, state: State) -> AppResult<HttpResponse> {
    page(ctx, &me, &state, StatusCode::OK, Vec::new()).await
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    pub display_name: String,
}

pub async fn update_profile(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> AppResult<HttpResponse> {
    let name = match validate::name(&form.display_name, "Your name", 100) {
        Ok(name) => name,
        Err(message) => {
            return page(
                ctx,
                &me,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![message],
            )
            .await;
        }
    };
    let c = ctx_of(&req, &state, &me);
    let user_id = me.user.id.clone();
    state
        .db(move |conn| services::accounts::update_profile(conn, &c, &user_id, &name))
        .await?;
    Ok(see_other_with(
        &req,
        "/account",
        "info",
        "Your profile is saved.",
    ))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    pub current_password: SecretString,
    pub new_password: SecretString,
}

pub async fn change_password(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    let words = [me.user.email.as_str(), me.user.display_name.as_str()];
    // A signed-in user's checks count against the account, not the address.
    let checked = state
        .check_new_password(&format!("user:{}", me.user.id), &form.new_password, &words)
        .await?;
    if let Err(message) = checked {
        return page(
            ctx,
            &me,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![message],
        )
        .await;
    }
    if let Some(problem) = reauthenticate(&req, &me, &state, &form.current_password).await? {
        return page(ctx, &me, &state, problem.0, vec![problem.1]).await;
    }
    let hash = state.hasher.hash(form.new_password.clone()).await?;
    let c = ctx_of(&req, &state, &me);
    let user_id = me.user.id.clone();
    let keep = me.session.id.clone();
    let ended = state
        .db(move |conn| services::accounts::change_password(conn, &c, &user_id, &hash, Some(&keep)))
        .await?;
    // Re-authenticated: this session goes on under a new key.
    req.get_session().renew();
    Ok(see_other_with(
        &req,
        "/account",
        "info",
        &format!("Your password is changed. {ended} other session(s) were signed out."),
    ))
}

pub async fn end_other_sessions(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let c = ctx_of(&req, &state, &me);
    let user_id = me.user.id.clone();
    let keep = me.session.id.clone();
    let ended = state
        .db(move |conn| account_activity::end_other_sessions(conn, &c, &user_id, &keep))
        .await?;
    Ok(see_other_with(
        &req,
        "/account",
        "info",
        &format!("Signed out {ended} other session(s)."),
    ))
}

pub async fn end_session(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let c = ctx_of(&req, &state, &me);
    let user_id = me.user.id.clone();
    let id = path.into_inner();
    let current = id == me.session.id;
    if !state
        .db(move |conn| account_activity::end_session(conn, &c, &user_id, &id, current))
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(if current {
        req.get_session().purge();
        see_other_with(&req, "/login", "info", "You are signed out.")
    } else {
        see_other_with(&req, "/account", "info", "That session is signed out.")
    })
}

#[derive(Debug, Deserialize)]
pub struct EmailForm {
    pub new_email: String,
    pub current_password: SecretString,
}

/// Changes the address at once (unverified) and sends a verification link to it.
pub async fn change_email(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    let typed = form.new_email.chars().take(300).collect::<String>();
    let new_email = match validate::email(&form.new_email) {
        Ok(email) => email,
        Err(message) => {
            return page_with(
                ctx,
                &me,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![message],
                typed,
            )
            .await;
        }
    };
    if let Some((status, message)) =
        reauthenticate(&req, &me, &state, &form.current_password).await?
    {
        return page_with(ctx, &me, &state, status, vec![message], typed).await;
    }
    // Re-authenticated: this session goes on under a new key.
    req.get_session().renew();
    let c = ctx_of(&req, &state, &me);
    let user_id = me.user.id.clone();
    let public_base = state.public_base();
    let address = new_email.clone();
    let result = state
        .db(move |conn| services::email::change_email(conn, &c, &user_id, &address, &public_base))
        .await;
    match result {
        Ok(()) => Ok(see_other_with(
            &req,
            "/account",
            "info",
            &format!(
                "Your email address is now {new_email}. We sent a link to it: open it to verify the address."
            ),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            page_with(ctx, &me, &state, status, vec![message], typed).await
        }
    }
}

/// Sends a new verification link to the current address (throttled per source
/// address, and at most one a minute per account).
pub async fn resend_verification(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let ip = crate::state::client_ip(&req);
    let now = state.clock.now();
    let too_many = |secs: u64| {
        AppError::TooManyRequests {
            retry_after_secs: secs,
        }
        .public_message()
    };
    if let Err(secs) = state.throttle.check_address("verify-email", &ip, now) {
        return page(
            ctx,
            &me,
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            vec![too_many(secs)],
        )
        .await;
    }
    state.throttle.record_address("verify-email", &ip, now);
    let c = ctx_of(&req, &state, &me);
    let user_id = me.user.id.clone();
    let public_base = state.public_base();
    let result = state
        .db(move |conn| services::email::resend_verification(conn, &c, &user_id, &public_base))
        .await;
    match result {
        Ok(address) => Ok(see_other_with(
            &req,
            "/account",
            "info",
            &format!("We sent a new verification link to {address}."),
        )),
        Err(AppError::Conflict(message)) => Ok(see_other_with(&req, "/account", "info", &message)),
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            page(
                ctx,
                &me,
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                vec![format!(
                    "A verification link was sent less than a minute ago. Check your inbox, or try again in {retry_after_secs} seconds."
                )],
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// The signed-in user confirms their current password (throttled like sign-in); the
/// status and message to show when it is refused.
async fn reauthenticate(
    req: &HttpRequest,
    me: &SignedIn,
    state: &State,
    password: &SecretString,
) -> AppResult<Option<(StatusCode, String)>> {
    let ip = crate::state::client_ip(req);
    let account_key = passwords::reauth_key(&me.user.id);
    let attempt = Attempt {
        ip: &ip,
        account_key: &account_key,
        password,
        now: state.clock.now(),
    };
    let stored = me.user.password_hash.clone();
    let lookup = async { Ok(Some(((), stored))) };
    Ok(
        match passwords::check(&state.throttle, &state.hasher, attempt, lookup).await? {
            Checked::Verified(()) => None,
            Checked::Wrong => Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "Your current password is not correct.".into(),
            )),
            Checked::Throttled { retry_after_secs } => Some((
                StatusCode::TOO_MANY_REQUESTS,
                AppError::TooManyRequests { retry_after_secs }.public_message(),
            )),
        },
    )
}

fn ctx_of(req: &HttpRequest, state: &State, me: &SignedIn) -> services::Ctx {
    service_ctx(req, state, Some(&me.user.id))
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn user_agents_are_named_as_people_say_them() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome on Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_name(safari), "Safari on iOS");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(browser_name(firefox), "Firefox on Windows");
        let edge = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(browser_name(edge), "Edge on macOS");
        assert_eq!(browser_name("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(browser_name(""), "Unknown browser");
    }
}
