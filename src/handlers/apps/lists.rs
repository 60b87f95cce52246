//! My Hub and the Consumer Apps tab.

use super::*;

#[derive(Template)]
#[template(path = "apps/hub.html")]
pub struct HubPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub apps: Vec<AppRow>,
    pub active: usize,
    pub pending: usize,
    pub suspended: usize,
    pub revoked: usize,
    pub teams: Vec<(String, String, String)>,
    pub activity: Vec<ActivityRow>,
}

pub async fn hub(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    let role = scope.authorize(policy::OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let now = state.clock.now_naive();
    let (list, creds, names, my_teams, admin_teams, activity) = state
        .db(move |conn| {
            let (filter, _, admin_teams) = visibility(conn, &org_id, &user_id, role, false)?;
            let list = apps::list(conn, &org_id, &filter)?;
            let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
            let creds = apps::credentials_of_apps(conn, &ids)?;
            let names = owner_names(conn, &org_id, &list)?;
            let my_teams = teams::for_user(conn, &org_id, &user_id)?;
            let targets: Vec<String> = ids.iter().map(|id| format!("app:{id}")).collect();
            let activity = crate::models::audit::for_targets(conn, &org_id, &targets, 10)?;
            Ok((list, creds, names, my_teams, admin_teams, activity))
        })
        .await?;
    let count = |s: &str| list.iter().filter(|a| a.status == s).count();
    let page = HubPage {
        slug: scope.org.slug.clone(),
        tab: "hub",
        active: count("active"),
        pending: count("pending"),
        suspended: count("suspended"),
        revoked: count("revoked"),
        apps: rows(
            &list,
            &creds,
            &names,
            now,
            &scope.identity.user.id,
            &admin_teams,
            role >= Role::Admin,
        )
        .into_iter()
        .filter(|r| r.status != "revoked")
        .collect(),
        teams: my_teams
            .into_iter()
            .map(|(t, r)| (t.id, t.name, r))
            .collect(),
        activity: activity.into_iter().map(activity_row).collect(),
        ctx: ctx.in_org(&scope),
    };
    render(&page)
}

// ------------------------------------------------------------ Consumer Apps

#[derive(Template)]
#[template(path = "apps/list.html")]
pub struct AppListPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub active: Vec<AppRow>,
    pub revoked: Vec<AppRow>,
    pub q: String,
    pub sort: String,
    pub filter: String,
    pub page: usize,
    pub pages: usize,
    pub revoked_page: usize,
    pub revoked_pages: usize,
    pub is_admin: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub page: Option<usize>,
    /// The Revoked table pages on its own.
    #[serde(default)]
    pub revoked_page: Option<usize>,
}

pub async fn list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let role = scope.authorize(policy::OrgAction::View)?;
    let query = query.into_inner();
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let now = state.clock.now_naive();
    let (mut list, creds, names, admin_teams) = state
        .db(move |conn| {
            let (filter, _, admin_teams) = visibility(conn, &org_id, &user_id, role, true)?;
            let list = apps::list(conn, &org_id, &filter)?;
            let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
            let creds = apps::credentials_of_apps(conn, &ids)?;
            let names = owner_names(conn, &org_id, &list)?;
            Ok((list, creds, names, admin_teams))
        })
        .await?;
    let q: String = query
        .q
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let needle = q.to_lowercase();
    list.retain(|a| {
        needle.is_empty() || a.name.to_lowercase().contains(&needle) || a.id.starts_with(&needle)
    });
    if matches!(
        query.filter.as_str(),
        "pending" | "active" | "suspended" | "rejected"
    ) {
        list.retain(|a| a.status == query.filter);
    }
    if query.filter == "orphaned" {
        list.retain(|a| a.status_reason == OWNER_LEFT || Owner::of(a).is_none());
    }
    match query.sort.as_str() {
        "name" => list.sort_by_key(|a| a.name.to_lowercase()),
        "oldest" => list.sort_by_key(|a| a.created_at),
        "status" => list.sort_by(|a, b| a.status.cmp(&b.status).then(a.name.cmp(&b.name))),
        _ => {}
    }
    let all = rows(
        &list,
        &creds,
        &names,
        now,
        &scope.identity.user.id,
        &admin_teams,
        role >= Role::Admin,
    );
    let (revoked, active): (Vec<AppRow>, Vec<AppRow>) =
        all.into_iter().partition(|r| r.status == "revoked");
    let pages = active.len().div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let active = active
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let revoked_pages = revoked.len().div_ceil(PAGE_SIZE).max(1);
    let revoked_page = query.revoked_page.unwrap_or(1).clamp(1, revoked_pages);
    let revoked = revoked
        .into_iter()
        .skip((revoked_page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    render(&AppListPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        active,
        revoked,
        q,
        sort: query.sort,
        filter: query.filter,
        page,
        pages,
        revoked_page,
        revoked_pages,
        is_admin: role >= Role::Admin,
    })
}
