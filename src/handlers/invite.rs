//! Invitation links: see the invitation, accept it, or sign up through it.
//! These pages carry a token, so they send `Referrer-Policy: same-origin`, and the
//! forms post the token in the body, never in another URL.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::{MaybeIdentity, SignedIn, State};
use crate::crypto::SecretString;
use crate::error::{AppError, AppResult};
use crate::handlers::auth::{start_session, throttle_account_creation};
use crate::handlers::{form_problem, service_ctx};
use crate::services;
use crate::validate;
use crate::web::{PageCtx, render_status, see_other_with, token_page};

#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub ctx: PageCtx,
    pub errors: Vec<String>,
    /// Empty when the link cannot be used (then `errors` says why).
    pub token: String,
    pub org_name: String,
    pub email: String,
    pub role: String,
    pub signed_in_as: Option<String>,
    pub display_name: String,
}

async fn page(
    ctx: PageCtx,
    state: &State,
    identity: &MaybeIdentity,
    token: String,
    status: StatusCode,
    errors: Vec<String>,
    display_name: String,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let lookup = token.clone();
    let found = state
        .db(move |conn| services::invitations::find_usable(conn, &lookup, now))
        .await;
    let signed_in_as = identity.0.as_ref().map(|i| i.user.email.clone());
    let page = match found {
        Ok((inv, org)) => InvitePage {
            ctx,
            errors,
            token,
            org_name: org.name,
            email: inv.email,
            role: inv.role,
            signed_in_as,
            display_name,
        },
        Err(e) => {
            let (status, message) = form_problem(e)?;
            return render_status(
                status,
                &InvitePage {
                    ctx,
                    errors: vec![message],
                    token: String::new(),
                    org_name: String::new(),
                    email: String::new(),
                    role: String::new(),
                    signed_in_as,
                    display_name,
                },
            )
            .map(token_page);
        }
    };
    render_status(status, &page).map(token_page)
}

pub async fn show(
    ctx: PageCtx,
    identity: MaybeIdentity,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    page(
        ctx,
        &state,
        &identity,
        path.into_inner(),
        StatusCode::OK,
        Vec::new(),
        String::new(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    pub token: SecretString,
}

pub async fn accept(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> AppResult<HttpResponse> {
    let c = service_ctx(&req, &state, Some(&me.user.id));
    let user = me.user.clone();
    let token = form.token.clone();
    match state
        .db(move |conn| services::invitations::accept(conn, &c, &token, &user))
        .await
    {
        Ok(org) => Ok(see_other_with(
            &req,
            &format!("/o/{}", org.slug),
            "info",
            &format!("Welcome to {}!", org.name),
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            let identity = MaybeIdentity(Some(me.0.clone()));
            page(
                ctx,
                &state,
                &identity,
                form.token.expose().to_string(),
                status,
                vec![message],
                String::new(),
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct InviteSignupForm {
    pub token: SecretString,
    pub display_name: String,
    pub password: SecretString,
}

pub async fn sign_up(
    req: HttpRequest,
    ctx: PageCtx,
    identity: MaybeIdentity,
    state: State,
    CsrfForm(form): CsrfForm<InviteSignupForm>,
) -> AppResult<HttpResponse> {
    let token_text = form.token.expose().to_string();
    // A dead link costs no password check or hash; the check needs the invited address.
    let now = state.clock.now_naive();
    let lookup = token_text.clone();
    let (invitation, org) = match state
        .db(move |conn| services::invitations::find_usable(conn, &lookup, now))
        .await
    {
        Ok(found) => found,
        Err(e) => {
            let (status, message) = form_problem(e)?;
            return page(
                ctx,
                &state,
                &identity,
                token_text,
                status,
                vec![message],
                form.display_name.clone(),
            )
            .await;
        }
    };
    let mut errors = Vec::new();
    let name = validate::name(&form.display_name, "Your name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let words = [
        invitation.email.as_str(),
        form.display_name.trim(),
        org.name.as_str(),
    ];
    if let Err(e) = state
        .check_new_password(&crate::state::client_ip(&req), &form.password, &words)
        .await?
    {
        errors.push(e);
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return page(
            ctx,
            &state,
            &identity,
            token_text,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            form.display_name.clone(),
        )
        .await;
    };
    if let Err(secs) = throttle_account_creation(&req, &state) {
        let message = AppError::TooManyRequests {
            retry_after_secs: secs,
        }
        .public_message();
        return page(
            ctx,
            &state,
            &identity,
            token_text,
            StatusCode::TOO_MANY_REQUESTS,
            vec![message],
            form.display_name.clone(),
        )
        .await;
    }
    let hash = state.hasher.hash(form.password.clone()).await?;
    let c = service_ctx(&req, &state, None);
    let token = form.token.clone();
    match state
        .db(move |conn| services::invitations::sign_up_and_accept(conn, &c, &token, &name, &hash))
        .await
    {
        Ok((user, org)) => start_session(
            &req,
            &user.id,
            &format!("/o/{}", org.slug),
            Some(&format!("Welcome to {}!", org.name)),
        ),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            page(
                ctx,
                &state,
                &identity,
                token_text,
                status,
                vec![message],
                form.display_name.clone(),
            )
            .await
        }
    }
}
