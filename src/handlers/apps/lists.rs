//! My Hub and the Consumer Apps tab.

use super::*;
use crate::handlers::activity::{self, ActivityRow};

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
    pub rejected: usize,
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
            let activity = activity::recent(conn, &org_id, Some(&targets), 10, now)?;
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
        rejected: count("rejected"),
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
        activity,
        ctx: ctx.in_org(&scope),
    };
    render(&page)
}

// ------------------------------------------------------------ Consumer Apps

/// One table of the Consumer Apps tab, paged on its own.
pub struct AppSection {
    pub rows: Vec<AppRow>,
    /// Apps in the whole section (all pages).
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    /// Shown at all: a status filter hides the sections it cannot match.
    pub shown: bool,
}

impl AppSection {
    fn new(all: Vec<AppRow>, page: Option<usize>, shown: bool) -> Self {
        let total = all.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = page.unwrap_or(1).clamp(1, pages);
        let rows = all
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        Self {
            rows,
            total,
            page,
            pages,
            shown,
        }
    }
}

/// Which table of the Consumer Apps tab an app belongs in: working or waiting apps,
/// rejected ones, revoked ones.
pub fn section_of(status: &str) -> &'static str {
    match status {
        "rejected" => "rejected",
        "revoked" => "revoked",
        _ => "active",
    }
}

#[derive(Template)]
#[template(path = "apps/list.html")]
pub struct AppListPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub active: AppSection,
    pub rejected: AppSection,
    pub revoked: AppSection,
    pub q: String,
    pub sort: String,
    pub filter: String,
    pub is_admin: bool,
}

impl AppListPage {
    /// The query string that keeps the search, sort, filter and the other sections'
    /// pages, with `section` at `page`.
    pub fn page_link(&self, section: &str, page: usize) -> String {
        let at = |name: &str, current: usize| if name == section { page } else { current };
        let query = serde_urlencoded::to_string([
            ("q", self.q.clone()),
            ("sort", self.sort.clone()),
            ("filter", self.filter.clone()),
            ("page", at("active", self.active.page).to_string()),
            (
                "rejected_page",
                at("rejected", self.rejected.page).to_string(),
            ),
            ("revoked_page", at("revoked", self.revoked.page).to_string()),
        ])
        .unwrap_or_default();
        format!("?{query}")
    }

    /// Nothing at all to list, before any search or filter.
    pub fn no_apps_at_all(&self) -> bool {
        self.q.is_empty()
            && self.filter.is_empty()
            && self.active.total + self.rejected.total + self.revoked.total == 0
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub filter: String,
    /// The Active table's page.
    #[serde(default)]
    pub page: Option<usize>,
    /// The Rejected and Revoked tables page on their own.
    #[serde(default)]
    pub rejected_page: Option<usize>,
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
    let is_admin = role >= Role::Admin;
    let filter = match query.filter.as_str() {
        f @ ("pending" | "active" | "suspended" | "rejected" | "revoked") => f,
        "orphaned" if is_admin => "orphaned",
        _ => "",
    };
    match filter {
        "" => {}
        "orphaned" => list.retain(|a| a.status_reason == OWNER_LEFT || Owner::of(a).is_none()),
        status => list.retain(|a| a.status == status),
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
        is_admin,
    );
    let (mut active, mut rejected, mut revoked) = (Vec::new(), Vec::new(), Vec::new());
    for row in all {
        match section_of(&row.status) {
            "rejected" => rejected.push(row),
            "revoked" => revoked.push(row),
            _ => active.push(row),
        }
    }
    // A status filter shows only the table that status lives in.
    let shown = |section: &str| matches!(filter, "" | "orphaned") || section_of(filter) == section;
    render(&AppListPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        active: AppSection::new(active, query.page, shown("active")),
        rejected: AppSection::new(rejected, query.rejected_page, shown("rejected")),
        revoked: AppSection::new(revoked, query.revoked_page, shown("revoked")),
        q,
        sort: query.sort,
        filter: filter.to_string(),
        is_admin,
    })
}
