//! The approval queue and settings (org admins), subscriptions on the app page, and
//! suspending or resuming an app.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{AppAction, OrgAction};
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::apps::{app_url, load};
use crate::handlers::{EmptyForm, flash_outcome};
use crate::models::apps::App;
use crate::models::page::{self, Window};
use crate::models::products::{self as product_model, QueueFilter};
use crate::models::{names, teams};
use crate::services::subscriptions::Mode;
use crate::services::{self};
use crate::web::Pager;
use crate::web::{PageCtx, render};

fn age(since: NaiveDateTime, now: NaiveDateTime) -> String {
    let d = now - since;
    if d.num_days() > 0 {
        format!("{} d", d.num_days())
    } else if d.num_hours() > 0 {
        format!("{} h", d.num_hours())
    } else {
        format!("{} min", d.num_minutes().max(0))
    }
}

pub struct QueueRow {
    pub id: String,
    pub app_id: String,
    pub app: String,
    pub owner: String,
    /// The owner's email (for a person), shown on hover.
    pub owner_email: String,
    pub product: String,
    pub note: String,
    pub age: String,
}

#[derive(Template)]
#[template(path = "admin/approvals.html")]
pub struct QueuePage {
    pub ctx: PageCtx,
    /// Requests matching the filter, counted up to the cap.
    pub total: usize,
    pub pager: Pager,
    pub slug: String,
    pub tab: &'static str,
    pub rows: Vec<QueueRow>,
    pub q: String,
    pub product: String,
    pub products: Vec<(String, String)>,
}

impl QueuePage {
    /// "1 request", "3 requests", "1,000+ requests".
    pub fn total_label(&self) -> String {
        if self.total > page::COUNT_CAP {
            format!("{} requests", page::capped(self.total))
        } else {
            crate::wording::count_of(self.total, "request", "requests")
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Requests a page of the queue shows (enough for a bulk decision at a time).
const QUEUE_PAGE: usize = 50;

pub async fn queue(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::DecideApprovals)?;
    let query = query.into_inner();
    let window = Window::parse(QUEUE_PAGE, query.cursor.as_deref()).map_err(|_| {
        AppError::bad_request("That page link is no longer valid: start from the first page.")
    })?;
    let prefix = page::search_key(&query.q);
    let filter = QueueFilter {
        product_id: Some(query.product.clone()).filter(|p| crate::validate::is_id_like(p)),
        app_prefix: Some(prefix).filter(|p| !p.is_empty()),
    };
    let org_id = scope.org.id.clone();
    let (pending, total, products, owners) = state
        .db(move |conn| {
            let pending = product_model::pending_page(conn, &org_id, &filter, &window)?;
            let total = product_model::pending_count_capped(conn, &org_id, &filter)?;
            let products = product_model::for_org(conn, &org_id)?;
            let apps: Vec<&App> = pending.items.iter().map(|(_, _, a)| a).collect();
            let owners = names::app_owners(conn, &org_id, &apps)?;
            Ok((pending, total, products, owners))
        })
        .await?;
    let now = state.clock.now_naive();
    let pager = Pager::new(
        &pending,
        "cursor",
        &[("q", query.q.as_str()), ("product", query.product.as_str())],
    );
    let rows: Vec<QueueRow> = pending
        .items
        .into_iter()
        .map(|(s, p, a)| {
            let (owner, owner_email) = a
                .owner_user_id
                .as_ref()
                .or(a.owner_team_id.as_ref())
                .and_then(|id| owners.get(id).cloned())
                .unwrap_or_else(|| ("nobody".into(), String::new()));
            QueueRow {
                owner,
                owner_email,
                age: age(s.created_at, now),
                id: s.id,
                app_id: a.id,
                app: a.name,
                product: p.name,
                note: s.note,
            }
        })
        .collect();
    render(&QueuePage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "approvals",
        rows,
        total,
        pager,
        q: query.q.clone(),
        product: query.product.clone(),
        products: products.into_iter().map(|p| (p.id, p.name)).collect(),
    })
}

/// One form for one or many requests: `sub.<id>=on` checkboxes, `action`, `reason`.
pub async fn decide(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::DecideApprovals)?;
    let ids: Vec<String> = form
        .keys()
        .filter(|k| {
            k.strip_prefix("sub.")
                .is_some_and(crate::validate::is_id_like)
        })
        .filter_map(|k| k.strip_prefix("sub."))
        .map(str::to_string)
        .collect();
    let approve = match form.get("action").map(String::as_str) {
        Some("approve") => true,
        Some("reject") => false,
        _ => return Err(AppError::bad_request("Choose approve or reject.")),
    };
    let reason = form.get("reason").cloned().unwrap_or_default();
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let base = state.config.public_url.join("");
    let result = state
        .db(move |conn| {
            services::subscriptions::decide(conn, &c, &org, &ids, approve, &reason, &base)
        })
        .await;
    let to = format!("/o/{}/admin/approvals", scope.org.slug);
    match result {
        Ok(n) => flash_outcome(
            &req,
            &to,
            Ok(()),
            &format!(
                "{} {}.",
                crate::wording::count_of(n, "request", "requests"),
                if approve { "approved" } else { "rejected" }
            ),
        ),
        Err(e) => flash_outcome(&req, &to, Err(e), ""),
    }
}

// ------------------------------------------------------------------ settings

#[derive(Template)]
#[template(path = "admin/approval_settings.html")]
pub struct SettingsPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub mode: String,
    /// (id, description)
    pub rules: Vec<(String, String)>,
    pub teams: Vec<(String, String)>,
}

pub async fn settings(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::DecideApprovals)?;
    let org_id = scope.org.id.clone();
    let (mode, rules, team_list) = state
        .db(move |conn| {
            Ok((
                services::subscriptions::mode(conn, &org_id)?,
                product_model::rules(conn, &org_id)?,
                teams::for_org(conn, &org_id)?,
            ))
        })
        .await?;
    let team_names: HashMap<String, String> = team_list
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    render(&SettingsPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "approvals",
        mode: mode.as_str().into(),
        rules: rules
            .into_iter()
            .map(|(id, kind, value)| {
                let text = if kind == "team" {
                    format!(
                        "Members of team {}",
                        team_names.get(&value).cloned().unwrap_or(value)
                    )
                } else {
                    format!("Users with a verified email at {value}")
                };
                (id, text)
            })
            .collect(),
        teams: team_list.into_iter().map(|t| (t.id, t.name)).collect(),
    })
}

#[derive(Debug, Deserialize)]
pub struct ModeForm {
    pub mode: String,
}

pub async fn set_mode(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<ModeForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::DecideApprovals)?;
    let mode = Mode::parse(&form.mode)
        .ok_or_else(|| AppError::bad_request("Choose auto, manual or conditional."))?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let result = state
        .db(move |conn| services::subscriptions::set_mode(conn, &c, &org, mode))
        .await;
    flash_outcome(
        &req,
        &format!("/o/{}/admin/approval-settings", scope.org.slug),
        result,
        "Approval mode saved.",
    )
}

#[derive(Debug, Deserialize)]
pub struct RuleForm {
    pub kind: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub domain: String,
}

pub async fn add_rule(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    CsrfForm(form): CsrfForm<RuleForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::DecideApprovals)?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let value = if form.kind == "team" {
        form.team.clone()
    } else {
        form.domain.clone()
    };
    let result = state
        .db(move |conn| services::subscriptions::add_rule(conn, &c, &org, &form.kind, &value))
        .await;
    flash_outcome(
        &req,
        &format!("/o/{}/admin/approval-settings", scope.org.slug),
        result,
        "Rule added.",
    )
}

pub async fn remove_rule(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::DecideApprovals)?;
    let id = path.into_inner().1;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let result = state
        .db(move |conn| services::subscriptions::remove_rule(conn, &c, &org, &id))
        .await;
    flash_outcome(
        &req,
        &format!("/o/{}/admin/approval-settings", scope.org.slug),
        result,
        "Rule removed.",
    )
}

// ---------------------------------------------------- on the app page

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    pub product_id: String,
    #[serde(default)]
    pub note: String,
}

pub async fn request(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, path.into_inner().1, AppAction::Manage).await?;
    let role = scope.authorize(OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let key = form.product_id.clone();
    let product = state
        .db(move |conn| services::subscriptions::product_for(conn, &org_id, &user_id, role, &key))
        .await?;
    let to = app_url(&scope, &loaded.app.id);
    let Some(product) = product else {
        return flash_outcome(
            &req,
            &to,
            Err(AppError::bad_request("Choose a product you can see.")),
            "",
        );
    };
    request_subscription(&req, &scope, &state, &loaded.app, product, form.note).await
}

/// Asks for `product` for `app` (the caller checked both) and redirects to the app
/// page saying what happened.
pub async fn request_subscription(
    req: &HttpRequest,
    scope: &OrgScope,
    state: &State,
    app: &crate::models::apps::App,
    product: crate::models::products::Product,
    note: String,
) -> AppResult<HttpResponse> {
    let c = scope.ctx(req);
    let org = scope.org.clone();
    let requester = scope.identity.user.clone();
    let target = app.clone();
    let base = state.config.public_url.join("");
    let result = state
        .db(move |conn| {
            services::subscriptions::request(
                conn,
                &c,
                services::subscriptions::SubscriptionRequest {
                    org: &org,
                    app: &target,
                    product: &product,
                    requester: &requester,
                    note: &note,
                    public_base: &base,
                },
            )
        })
        .await;
    let to = app_url(scope, &app.id);
    match result {
        Ok(sub) if sub.status == "pending" => flash_outcome(
            req,
            &to,
            Ok(()),
            "Requested: an admin will decide, and you will be told.",
        ),
        Ok(_) => flash_outcome(req, &to, Ok(()), "Subscribed."),
        Err(e) => flash_outcome(req, &to, Err(e), ""),
    }
}

pub async fn cancel(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id, sub_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let app = loaded.app.clone();
    let result = state
        .db(move |conn| services::subscriptions::cancel(conn, &c, &org, &app, &sub_id))
        .await;
    flash_outcome(
        &req,
        &app_url(&scope, &loaded.app.id),
        result,
        "Unsubscribed: the app no longer uses that product.",
    )
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

async fn suspend_or_resume(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    app_id: String,
    reason: String,
    suspend: bool,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::SuspendApps)?;
    let loaded = load(&scope, &state, app_id, AppAction::View).await?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let app = loaded.app.clone();
    let base = state.config.public_url.join("");
    let result = state
        .db(move |conn| {
            services::subscriptions::set_suspended(conn, &c, &org, &app, suspend, &reason, &base)
        })
        .await;
    flash_outcome(
        &req,
        &app_url(&scope, &loaded.app.id),
        result,
        if suspend {
            "App suspended: its credentials are refused."
        } else {
            "App resumed."
        },
    )
}

pub async fn suspend(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> AppResult<HttpResponse> {
    suspend_or_resume(req, scope, state, path.into_inner().1, form.reason, true).await
}

pub async fn resume(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    suspend_or_resume(req, scope, state, path.into_inner().1, String::new(), false).await
}
