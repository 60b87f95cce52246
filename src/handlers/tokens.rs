//! API token pages: personal access tokens on the account (`/account/tokens`) and an
//! organisation's admin tokens (`/o/{slug}/admin/tokens`). A new token is shown once,
//! as the creating POST's own response.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, OrgAction, Role, TokenAccess};
use crate::auth::{OrgScope, SignedIn, State};
use crate::error::{AppError, AppResult};
use crate::handlers::app_secrets::mark_revealed;
use crate::handlers::{EmptyForm, flash_outcome, form_problem, service_ctx};
use crate::models::api_tokens::{self, ApiToken, TokenList};
use crate::models::names::{self, Wanted};
use crate::models::orgs::{self, Organisation};
use crate::models::page::Window;
use crate::services::apps::Issuer;
use crate::services::nonces;
use crate::services::tokens::{self as token_service, NewToken, TokenKind};
use crate::web::{PageCtx, Pager, render_status};
use crate::when::When;

/// A token as a table row.
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub org: String,
    pub owner: String,
    pub access: String,
    pub shown: String,
    pub created: When,
    pub expires: When,
    pub last_used: When,
    pub live: bool,
    pub state: &'static str,
}

fn row(t: &ApiToken, org: String, owner: String, now: NaiveDateTime) -> TokenRow {
    TokenRow {
        id: t.id.clone(),
        name: t.name.clone(),
        org,
        owner,
        access: if t.access == "write" {
            "read-write"
        } else {
            "read-only"
        }
        .into(),
        shown: format!("{}…{}", t.prefix, t.last4),
        created: When::at(t.created_at, now),
        expires: When::maybe(t.expires_at, now, "never"),
        last_used: When::maybe(t.last_used_at, now, "never"),
        live: t.is_live(now),
        state: if t.revoked_at.is_some() {
            "revoked"
        } else if t.is_live(now) {
            "active"
        } else {
            "expired"
        },
    }
}

/// The create form, for both kinds.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub name: String,
    /// Personal tokens: the organisation's slug.
    #[serde(default)]
    pub org: String,
    /// `read` or `write`.
    #[serde(default)]
    pub access: String,
    /// Days until it expires; empty: never.
    #[serde(default)]
    pub expires_in_days: String,
}

#[derive(Template)]
#[template(path = "tokens/list.html")]
pub struct TokensPage {
    pub ctx: PageCtx,
    pub heading: String,
    pub intro: String,
    /// Where the form posts and rows revoke (`/account/tokens`, `/o/x/admin/tokens`).
    pub base: String,
    /// Personal tokens: the organisations to choose from (slug, name).
    pub orgs: Vec<(String, String)>,
    pub slug: String,
    pub tab: &'static str,
    pub rows: Vec<TokenRow>,
    pub tokens_pager: Pager,
    pub errors: Vec<String>,
    pub nonce: String,
    pub form: TokenForm,
}

#[derive(Template)]
#[template(path = "tokens/reveal.html")]
pub struct RevealPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub name: String,
    pub org: String,
    pub token: String,
    pub back: String,
}

fn check_form(form: &TokenForm) -> Result<(TokenAccess, Option<u32>), Vec<String>> {
    let mut errors = Vec::new();
    let access = TokenAccess::parse(&form.access);
    if access.is_none() {
        errors.push("Choose read-only or read-write.".into());
    }
    let days = match form.expires_in_days.trim() {
        "" | "never" => None,
        d => match d.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors
                    .push("Give the lifetime as a whole number of days, or leave it empty.".into());
                None
            }
        },
    };
    match access {
        Some(access) if errors.is_empty() => Ok((access, days)),
        _ => Err(errors),
    }
}

fn reveal(state: &State, page: RevealPage) -> AppResult<HttpResponse> {
    let mut res = render_status(StatusCode::OK, &page)?;
    mark_revealed(state, &mut res)?;
    Ok(res)
}

// ------------------------------------------------------------ personal tokens

/// Tokens shown per page.
const PAGE_SIZE: usize = 50;

/// `?cursor=` on the token lists.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub cursor: String,
}

/// The window a list's cursor asks for; a cursor that is not ours (an old or edited
/// link) starts at the top.
fn list_window(cursor: &str) -> Window {
    Window::parse(PAGE_SIZE, Some(cursor)).unwrap_or(Window::first(PAGE_SIZE))
}

async fn personal_page(
    ctx: PageCtx,
    me: &SignedIn,
    state: &State,
    status: StatusCode,
    errors: Vec<String>,
    mut form: TokenForm,
    cursor: &str,
) -> AppResult<HttpResponse> {
    let user_id = me.user.id.clone();
    let now = state.clock.now_naive();
    let window = list_window(cursor);
    let (orgs, page) = state
        .db(move |conn| {
            let orgs = orgs::for_user(conn, &user_id)?;
            let list = TokenList::Personal { user_id: &user_id };
            Ok((orgs, api_tokens::page(conn, list, &window, true)?))
        })
        .await?;
    let pager = Pager::new(&page, "cursor", &[]);
    let rows = page
        .items
        .iter()
        .map(|t| {
            let org = orgs
                .iter()
                .find(|(o, _)| o.id == t.org_id)
                .map_or_else(|| "(left)".to_string(), |(o, _)| o.name.clone());
            row(t, org, String::new(), now)
        })
        .collect();
    form.nonce = nonces::issue(&state.key, token_service::FORM_KIND, &me.user.id, now);
    if form.access.is_empty() {
        form.access = "read".into();
    }
    render_status(
        status,
        &TokensPage {
            ctx,
            heading: "Personal access tokens".into(),
            intro: "Tokens for scripts and CI pipelines: each acts as you, in one organisation, with your role there. Send one as \"Authorization: Bearer <token>\" to the management API (/api/docs).".into(),
            base: "/account/tokens".into(),
            orgs: orgs.into_iter().map(|(o, _)| (o.slug, o.name)).collect(),
            slug: String::new(),
            tab: "",
            rows,
            tokens_pager: pager,
            errors,
            nonce: form.nonce.clone(),
            form,
        },
    )
}

pub async fn personal(
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    personal_page(
        ctx,
        &me,
        &state,
        StatusCode::OK,
        Vec::new(),
        TokenForm::default(),
        &query.cursor,
    )
    .await
}

async fn create_token(
    req: &HttpRequest,
    state: &State,
    user: &crate::models::users::User,
    org: Organisation,
    kind: TokenKind,
    form: &TokenForm,
) -> AppResult<(ApiToken, String, Organisation)> {
    let (access, days) = check_form(form).map_err(AppError::Invalid)?;
    let c = service_ctx(req, state, Some(&user.id));
    let st = state.clone();
    let user = user.clone();
    let new = NewToken {
        kind,
        name: form.name.clone(),
        access,
        expires_in_days: days,
    };
    let nonce = form.nonce.clone();
    state
        .db(move |conn| {
            let issuer = Issuer {
                prefix: &st.config.credential_prefix,
                hasher: &st.secrets,
            };
            let (token, secret) =
                token_service::create(conn, &c, &org, &user, issuer, new, Some(&nonce))?;
            Ok((token, secret.expose().to_string(), org))
        })
        .await
}

pub async fn create_personal(
    req: HttpRequest,
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    nonces::verify(
        &state.key,
        token_service::FORM_KIND,
        &me.user.id,
        &form.nonce,
        state.clock.now_naive(),
    )?;
    let slug = form.org.clone();
    let org = state
        .db(move |conn| Ok(orgs::find_by_slug(conn, &slug)?))
        .await?;
    let result = match org {
        Some(org) => create_token(&req, &state, &me.user, org, TokenKind::Personal, &form).await,
        None => Err(AppError::invalid(
            "Choose an organisation you are a member of.",
        )),
    };
    match result {
        Ok((token, secret, org)) => reveal(
            &state,
            RevealPage {
                ctx,
                slug: String::new(),
                tab: "",
                name: token.name,
                org: org.name,
                token: secret,
                back: "/account/tokens".into(),
            },
        ),
        // Not a member: the same answer as an organisation that does not exist.
        Err(AppError::NotFound | AppError::Hidden(_)) => {
            let errors = vec!["Choose an organisation you are a member of.".to_string()];
            personal_page(
                ctx,
                &me,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                form,
                "",
            )
            .await
        }
        Err(e) => {
            let (status, message) = form_problem(e)?;
            personal_page(ctx, &me, &state, status, vec![message], form, "").await
        }
    }
}

async fn revoke_checked(
    req: &HttpRequest,
    state: &State,
    user_id: &str,
    id: String,
    org_id: Option<String>,
) -> AppResult<()> {
    if !crate::validate::is_id_like(&id) {
        return Err(AppError::NotFound);
    }
    let c = service_ctx(req, state, Some(user_id));
    let user_id = user_id.to_string();
    state
        .db(move |conn| {
            let token = api_tokens::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if org_id.as_ref().is_some_and(|o| *o != token.org_id) {
                return Err(AppError::NotFound);
            }
            let role =
                orgs::membership(conn, &token.org_id, &user_id)?.and_then(|m| Role::parse(&m.role));
            policy::revoke_token(&user_id, role, &token.user_id, token.kind == "admin")?;
            token_service::revoke(conn, &c, &token)
        })
        .await
}

pub async fn revoke_personal(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    path: web::Path<String>,
    _form: CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let result = revoke_checked(&req, &state, &me.user.id, path.into_inner(), None).await;
    flash_outcome(
        &req,
        "/account/tokens",
        result,
        "Token revoked: it no longer works.",
    )
}

// ------------------------------------------------------------ admin tokens

async fn admin_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    status: StatusCode,
    errors: Vec<String>,
    mut form: TokenForm,
    cursor: &str,
) -> AppResult<HttpResponse> {
    let org_id = scope.org.id.clone();
    let now = state.clock.now_naive();
    let org_name = scope.org.name.clone();
    let window = list_window(cursor);
    let (page, names) = state
        .db(move |conn| {
            let page = api_tokens::page(conn, TokenList::Admin { org_id: &org_id }, &window, true)?;
            let wanted = Wanted {
                users: page.items.iter().map(|t| t.user_id.clone()).collect(),
                ..Wanted::default()
            };
            let names = names::resolve(conn, &org_id, wanted)?;
            Ok((page, names))
        })
        .await?;
    let pager = Pager::new(&page, "cursor", &[]);
    let rows = page
        .items
        .iter()
        .map(|t| {
            let owner = names
                .users
                .get(&t.user_id)
                .cloned()
                .unwrap_or_else(|| "(deleted)".to_string());
            row(t, org_name.clone(), owner, now)
        })
        .collect();
    form.nonce = nonces::issue(
        &state.key,
        token_service::FORM_KIND,
        &scope.identity.user.id,
        now,
    );
    if form.access.is_empty() {
        form.access = "write".into();
    }
    render_status(
        status,
        &TokensPage {
            ctx: ctx.in_org(scope),
            heading: "Admin API tokens".into(),
            intro: format!(
                "Tokens that act with admin rights in {} on behalf of the admin who creates them, for automation. A token is revoked when its creator stops being an admin, and stays revoked if they become one again. Apps it creates belong to the admin who made it, unless the request names a team to own them.",
                scope.org.name
            ),
            base: format!("/o/{}/admin/tokens", scope.org.slug),
            orgs: Vec::new(),
            slug: scope.org.slug.clone(),
            tab: "tokens",
            rows,
            tokens_pager: pager,
            errors,
            nonce: form.nonce.clone(),
            form,
        },
    )
}

pub async fn admin_list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageAdminTokens)?;
    admin_page(
        ctx,
        &scope,
        &state,
        StatusCode::OK,
        Vec::new(),
        TokenForm::default(),
        &query.cursor,
    )
    .await
}

pub async fn admin_create(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageAdminTokens)?;
    nonces::verify(
        &state.key,
        token_service::FORM_KIND,
        &scope.identity.user.id,
        &form.nonce,
        state.clock.now_naive(),
    )?;
    let result = create_token(
        &req,
        &state,
        &scope.identity.user,
        scope.org.clone(),
        TokenKind::Admin,
        &form,
    )
    .await;
    match result {
        Ok((token, secret, org)) => reveal(
            &state,
            RevealPage {
                ctx: ctx.in_org(&scope),
                slug: org.slug.clone(),
                tab: "tokens",
                name: token.name,
                org: org.name,
                token: secret,
                back: format!("/o/{}/admin/tokens", org.slug),
            },
        ),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            admin_page(ctx, &scope, &state, status, vec![message], form, "").await
        }
    }
}

pub async fn admin_revoke(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    _form: CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::View)?;
    let result = revoke_checked(
        &req,
        &state,
        &scope.identity.user.id,
        path.into_inner().1,
        Some(scope.org.id.clone()),
    )
    .await;
    let to = format!("/o/{}/admin/tokens", scope.org.slug);
    flash_outcome(&req, &to, result, "Token revoked: it no longer works.")
}
