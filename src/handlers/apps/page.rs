//! The app page.

use super::token_guide::TokenGuide;
use super::*;
use crate::handlers::activity::{self, ActivityRow};

#[derive(Template)]
#[template(path = "apps/show.html")]
pub struct AppPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub owner: String,
    pub callback_urls: Vec<String>,
    pub credentials: Vec<CredentialRow>,

    pub can_manage: bool,
    pub live: bool,
    pub audit: Vec<ActivityRow>,
    pub transfer_targets: Vec<(String, String)>,
    pub subscriptions: Vec<SubscriptionRow>,
    /// Products the app may still ask for: (id, name).
    pub requestable: Vec<(String, String)>,
    pub is_org_admin: bool,
    /// While the app is pending: products whose requests wait for an admin, and
    /// products already approved (they work once nothing waits any more).
    pub waiting: Vec<String>,
    pub approved: Vec<String>,
    /// When the app was created.
    pub created: When,
    /// How the app gets an access token (or, for API keys, a static token).
    pub guide: TokenGuide,
}

impl AppPage {
    pub fn waiting_list(&self) -> String {
        crate::wording::and_list(&self.waiting)
    }

    pub fn approved_list(&self) -> String {
        crate::wording::and_list(&self.approved)
    }

    /// "is" or "are", to agree with the approved products.
    pub fn approved_verb(&self) -> &'static str {
        if self.approved.len() == 1 {
            "is"
        } else {
            "are"
        }
    }
}

pub struct SubscriptionRow {
    pub id: String,
    pub product: String,
    pub product_slug: String,
    pub status: String,
    pub note: String,
    pub reason: String,
    pub requested: When,
    pub decided: When,
    pub cancellable: bool,
}

pub async fn show(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::View).await?;
    render(&app_page(ctx, &scope, &state, loaded).await?)
}

/// The app page for an app the actor may see (also shown again, with the user's
/// input, by forms on it that were refused).
pub async fn app_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    loaded: Loaded,
) -> AppResult<AppPage> {
    let can_manage = policy::app(scope.role, loaded.relation, AppAction::Manage).is_ok();
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let app = loaded.app.clone();
    let org_role = scope.role;
    let role = org_role.unwrap_or(Role::Developer);
    let now = state.clock.now_naive();
    let (names, audit, targets, subscriptions, products) = state
        .db(move |conn| {
            let names = owner_names(conn, &org_id, std::slice::from_ref(&app))?;
            let target = [format!("app:{}", app.id)];
            let audit = activity::recent(conn, &org_id, Some(&target), 50, now)?;
            let targets = transfer_targets(conn, &org_id, &user_id, org_role, &app)?;
            let subscriptions = crate::models::products::subscriptions_of(conn, &app.id)?;
            let products = services::products::visible_for(conn, &org_id, &user_id, role)?;
            Ok((names, audit, targets, subscriptions, products))
        })
        .await?;
    let live_products: Vec<&str> = subscriptions
        .iter()
        .filter(|(s, _)| matches!(s.status.as_str(), "pending" | "approved"))
        .map(|(s, _)| s.product_id.as_str())
        .collect();
    let requestable: Vec<(String, String)> = products
        .iter()
        .filter(|p| !live_products.contains(&p.id.as_str()))
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let names_with = |status: &str| -> Vec<String> {
        if loaded.app.status != "pending" {
            return Vec::new();
        }
        subscriptions
            .iter()
            .filter(|(s, _)| s.status == status)
            .map(|(_, p)| p.name.clone())
            .collect()
    };
    let waiting = names_with("pending");
    let approved = names_with("approved");
    let scopes: Vec<String> = subscriptions
        .iter()
        .filter(|(s, _)| s.status == "approved")
        .map(|(_, p)| p.slug.clone())
        .collect();
    let guide = TokenGuide::new(
        &state.config.public_url,
        state.config.tokens.access_ttl.as_secs(),
        &loaded.app.auth_type,
        loaded.app.client_id.as_deref(),
        scopes,
        state.clock.now(),
        &crate::models::new_id(),
    );
    let subscriptions: Vec<SubscriptionRow> = subscriptions
        .into_iter()
        .map(|(s, p)| SubscriptionRow {
            cancellable: matches!(s.status.as_str(), "pending" | "approved"),
            id: s.id,
            product: p.name,
            product_slug: p.slug,
            status: s.status,
            note: s.note,
            reason: s.reason,
            requested: When::at(s.created_at, now),
            decided: When::maybe(s.decided_at, now, "—"),
        })
        .collect();
    let credentials = credential_rows(&loaded.credentials, now);
    Ok(AppPage {
        ctx: ctx.in_org(scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        owner: owner_label(&loaded.app, &names),
        callback_urls: loaded
            .app
            .callback_urls
            .lines()
            .map(str::to_string)
            .collect(),
        credentials,
        can_manage,
        live: loaded.app.status != "revoked",
        audit,
        transfer_targets: targets,
        subscriptions,
        requestable,
        is_org_admin: role >= Role::Admin,
        waiting,
        approved,
        created: When::at(loaded.app.created_at, now),
        guide,
        app: loaded.app,
    })
}
