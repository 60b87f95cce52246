//! The inbox (bell, list, mark read), email preferences per kind of event, and the
//! instance owners' view of the email outbox (dead letters, retry).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, InstanceAction};
use crate::auth::{SignedIn, State};
use crate::error::AppResult;
use crate::handlers::{EmptyForm, flash_outcome, service_ctx};
use crate::models::page::{Window, capped};
use crate::services::{self, notifications::Kind};
use crate::web::{PageCtx, Pager, render, see_other_with};
use crate::when::When;

const PER_PAGE: usize = 20;
const DATE: &str = "%Y-%m-%d %H:%M UTC";

// ---------------------------------------------------------------- inbox

pub struct InboxItem {
    pub id: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created: When,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications/list.html")]
pub struct InboxPage {
    pub ctx: PageCtx,
    pub items: Vec<InboxItem>,
    /// Counted up to the cap: "1,000+" past it.
    pub total: String,
    pub unread: String,
    pub has_unread: bool,
    pub inbox_pager: Pager,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Where the page starts (a cursor from a Previous or Next link).
    #[serde(default)]
    pub cursor: String,
}

pub async fn list(
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    // A cursor that is not ours (an old or edited link) starts at the top.
    let window = Window::parse(PER_PAGE, Some(&query.cursor)).unwrap_or(Window::first(PER_PAGE));
    let user_id = me.user.id.clone();
    let inbox = state
        .db(move |conn| services::notifications::inbox(conn, &user_id, &window))
        .await?;
    let inbox_pager = Pager::new(&inbox.page, "cursor", &[]);
    let now = state.clock.now_naive();
    render(&InboxPage {
        ctx,
        items: inbox
            .page
            .items
            .into_iter()
            .map(|n| InboxItem {
                unread: n.read_at.is_none(),
                created: When::at(n.created_at, now),
                // Links are paths on this site; anything else is not followed.
                link: if n.link.starts_with('/') && !n.link.starts_with("//") {
                    n.link
                } else {
                    String::new()
                },
                id: n.id,
                title: n.title,
                body: n.body,
            })
            .collect(),
        total: capped(inbox.total),
        unread: capped(inbox.unread),
        has_unread: inbox.unread > 0,
        inbox_pager,
    })
}

pub async fn mark_read(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let c = service_ctx(&req, &state, Some(&me.user.id));
    let user_id = me.user.id.clone();
    let id = path.into_inner();
    let result = state
        .db(move |conn| services::notifications::mark_read(conn, &c, &user_id, &id))
        .await;
    flash_outcome(&req, "/notifications", result, "Marked as read.")
}

pub async fn mark_all_read(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let c = service_ctx(&req, &state, Some(&me.user.id));
    let user_id = me.user.id.clone();
    let n = state
        .db(move |conn| services::notifications::mark_all_read(conn, &c, &user_id))
        .await?;
    Ok(see_other_with(
        &req,
        "/notifications",
        "info",
        &format!("Marked {n} notification(s) as read."),
    ))
}

// ---------------------------------------------------------------- preferences

pub struct PreferenceRow {
    pub key: &'static str,
    pub label: &'static str,
    pub email: bool,
}

#[derive(Template)]
#[template(path = "notifications/preferences.html")]
pub struct PreferencesPage {
    pub ctx: PageCtx,
    pub rows: Vec<PreferenceRow>,
}

pub async fn preferences(ctx: PageCtx, me: SignedIn, state: State) -> AppResult<HttpResponse> {
    let user_id = me.user.id.clone();
    let prefs = state
        .db(move |conn| services::notifications::email_preferences(conn, &user_id))
        .await?;
    render(&PreferencesPage {
        ctx,
        rows: prefs
            .into_iter()
            .map(|(kind, email)| PreferenceRow {
                key: kind.as_str(),
                label: kind.label(),
                email,
            })
            .collect(),
    })
}

/// Checkboxes named `email_<kind>`: present when ticked. Unknown fields are refused.
pub async fn save_preferences(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut on = Vec::new();
    for key in form.keys() {
        if key == crate::auth::csrf::CSRF_FIELD {
            continue;
        }
        match key.strip_prefix("email_").and_then(Kind::parse) {
            Some(kind) => on.push(kind),
            None => {
                return Err(crate::error::AppError::bad_request(
                    "The form has a field this page does not know.",
                ));
            }
        }
    }
    let c = service_ctx(&req, &state, Some(&me.user.id));
    let user_id = me.user.id.clone();
    state
        .db(move |conn| services::notifications::set_email_preferences(conn, &c, &user_id, &on))
        .await?;
    Ok(see_other_with(
        &req,
        "/account/notifications",
        "info",
        "Your notification settings are saved.",
    ))
}

// ---------------------------------------------------------------- outbox (admin)

pub struct OutboxRow {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub attempts: i32,
    pub last_error: String,
    pub created: String,
    pub next_attempt: String,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    pub ctx: PageCtx,
    pub dead: Vec<OutboxRow>,
    pub pending: Vec<OutboxRow>,
    /// Counted up to the cap: "1,000+" past it.
    pub dead_total: String,
    pub pending_total: String,
    pub dead_pager: Pager,
    pub pending_pager: Pager,
}

/// Messages shown per list.
const OUTBOX_PAGE: usize = 50;

/// `?dead=&pending=`: where each list of the outbox page starts.
#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    pub dead: String,
    #[serde(default)]
    pub pending: String,
}

fn outbox_rows(emails: Vec<crate::models::outbox::OutboxEmail>) -> Vec<OutboxRow> {
    // Bodies may hold single-use links: the page shows the subject only.
    emails
        .into_iter()
        .map(|e| OutboxRow {
            id: e.id,
            to: e.to_address,
            subject: e.subject,
            attempts: e.attempts,
            last_error: e.last_error,
            created: e.created_at.format(DATE).to_string(),
            next_attempt: e.next_attempt_at.format(DATE).to_string(),
        })
        .collect()
}

pub async fn outbox(
    ctx: PageCtx,
    me: SignedIn,
    state: State,
    query: web::Query<OutboxQuery>,
) -> AppResult<HttpResponse> {
    policy::instance(&me.user, InstanceAction::ManageSettings)?;
    // A cursor that is not ours (an old or edited link) starts at the top.
    let window =
        |c: &str| Window::parse(OUTBOX_PAGE, Some(c)).unwrap_or(Window::first(OUTBOX_PAGE));
    let (dead, pending) = (window(&query.dead), window(&query.pending));
    let overview = state
        .db(move |conn| services::outbox::overview(conn, &dead, &pending))
        .await?;
    let keep = [
        ("dead", query.dead.as_str()),
        ("pending", query.pending.as_str()),
    ];
    render(&OutboxPage {
        ctx,
        dead_pager: Pager::new(&overview.dead, "dead", &keep),
        pending_pager: Pager::new(&overview.pending, "pending", &keep),
        dead: outbox_rows(overview.dead.items),
        pending: outbox_rows(overview.pending.items),
        dead_total: capped(overview.dead_total),
        pending_total: capped(overview.pending_total),
    })
}

pub async fn retry(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    policy::instance(&me.user, InstanceAction::ManageSettings)?;
    let c = service_ctx(&req, &state, Some(&me.user.id));
    let id = path.into_inner();
    let result = state
        .db(move |conn| services::outbox::retry(conn, &c, &id))
        .await
        .map(drop);
    flash_outcome(
        &req,
        "/admin/outbox",
        result,
        "The message is queued again and will be sent shortly.",
    )
}
