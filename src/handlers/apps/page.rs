//! The app page.

use super::*;

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
}

pub struct SubscriptionRow {
    pub id: String,
    pub product: String,
    pub product_slug: String,
    pub status: String,
    pub note: String,
    pub reason: String,
    pub requested: String,
    pub decided: String,
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
    let can_manage = policy::app(scope.role, loaded.relation, AppAction::Manage).is_ok();
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let app = loaded.app.clone();
    let org_role = scope.role;
    let role = org_role.unwrap_or(Role::Developer);
    let (names, audit, targets, subscriptions, products) = state
        .db(move |conn| {
            let names = owner_names(conn, &org_id, std::slice::from_ref(&app))?;
            let audit =
                crate::models::audit::for_targets(conn, &org_id, &[format!("app:{}", app.id)], 50)?;
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
            requested: when(s.created_at),
            decided: when_opt(s.decided_at),
        })
        .collect();
    let now = state.clock.now_naive();
    let credentials = credential_rows(&loaded.credentials, now);
    render(&AppPage {
        ctx: ctx.in_org(&scope),
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
        audit: audit.into_iter().map(activity_row).collect(),
        transfer_targets: targets,
        subscriptions,
        requestable,
        is_org_admin: role >= Role::Admin,
        app: loaded.app,
    })
}
