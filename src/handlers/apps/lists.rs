//! My Hub and the Consumer Apps tab.

use super::*;
use crate::handlers::activity::{self, ActivityRow};
use crate::models::app_list::{self, AppQuery, AppSort, Search};
use crate::models::page::{self, Window};
use crate::web::Pager;

/// Apps My Hub shows; the Consumer Apps tab lists the rest.
const HUB_APPS: usize = 10;

#[derive(Template)]
#[template(path = "apps/hub.html")]
pub struct HubPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub apps: Vec<AppRow>,
    /// More apps than the hub shows: link to the full list.
    pub more: bool,
    pub active: usize,
    pub pending: usize,
    pub suspended: usize,
    pub rejected: usize,
    pub revoked: usize,
    pub teams: Vec<(String, String, String)>,
    pub activity: Vec<ActivityRow>,
}

impl HubPage {
    /// A count as shown on a card: exact up to 1,000, then "1,000+".
    pub fn shown(&self, n: &usize) -> String {
        page::capped(*n)
    }
}

/// The statuses My Hub lists (revoked apps are counted, not listed).
const HUB_STATUSES: [&str; 4] = ["pending", "active", "suspended", "rejected"];

pub async fn hub(ctx: PageCtx, scope: OrgScope, state: State) -> AppResult<HttpResponse> {
    let role = scope.authorize(policy::OrgAction::View)?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let now = state.clock.now_naive();
    let (listed, counts, creds, names, my_teams, admin_teams, activity) = state
        .db(move |conn| {
            let (owners, admin_teams) = visibility(conn, &org_id, &user_id, false)?;
            let search = Search::All;
            let query = |statuses| AppQuery {
                org_id: &org_id,
                owners: &owners,
                statuses,
                search: &search,
                orphaned_reason: None,
                sort: AppSort::Newest,
            };
            let listed = query(&HUB_STATUSES).page(conn, &Window::first(HUB_APPS))?;
            let mut counts = [0usize; 5];
            for (count, status) in counts.iter_mut().zip(&app_list::LISTED) {
                *count = query(std::slice::from_ref(status)).count_capped(conn)?;
            }
            let ids: Vec<String> = listed.items.iter().map(|a| a.id.clone()).collect();
            let creds = apps::credentials_of_apps(conn, &ids)?;
            let names = owner_names(conn, &org_id, &listed.items)?;
            let my_teams = teams::for_user(conn, &org_id, &user_id)?;
            // Recent activity covers the newest apps of every status (a revocation
            // shows up although revoked apps are not listed).
            let recent = query(&app_list::LISTED).page(conn, &Window::first(HUB_APPS))?;
            let targets: Vec<String> = recent
                .items
                .iter()
                .map(|a| format!("app:{}", a.id))
                .collect();
            let activity = activity::recent(conn, &org_id, Some(&targets), 10, now)?;
            Ok((
                listed,
                counts,
                creds,
                names,
                my_teams,
                admin_teams,
                activity,
            ))
        })
        .await?;
    let [pending, active, suspended, rejected, revoked] = counts;
    let page = HubPage {
        slug: scope.org.slug.clone(),
        tab: "hub",
        active,
        pending,
        suspended,
        rejected,
        revoked,
        more: listed.next.is_some(),
        apps: rows(
            &listed.items,
            &creds,
            &names,
            now,
            &scope.identity.user.id,
            &admin_teams,
            role >= Role::Admin,
        ),
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
    /// Apps in the whole section, as shown ("1,000+" past the cap).
    pub total: String,
    pub pager: Pager,
    /// Shown at all: a status filter hides the sections it cannot match.
    pub shown: bool,
    /// A preview of a section that has more: the link to the whole section.
    pub see_all: Option<String>,
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
    /// Nothing at all to list, before any search or filter.
    pub empty_org: bool,
}

impl AppListPage {
    /// Nothing at all to list, before any search or filter.
    pub fn no_apps_at_all(&self) -> bool {
        self.empty_org
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
    /// The paged table's cursor: the Active table, or the one table a status
    /// filter shows.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Rows the Rejected and Revoked tables preview when no status filter is set: they
/// hold finished apps, so the page stays short and each links to its full list.
const PREVIEW_ROWS: usize = 5;

/// A section's page: its rows, its capped count and its cursor's window.
struct Section {
    page: page::Page<App>,
    total: usize,
    shown: bool,
}

pub async fn list(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let role = scope.authorize(policy::OrgAction::View)?;
    let query = query.into_inner();
    let is_admin = role >= Role::Admin;
    let filter = match query.filter.as_str() {
        f @ ("pending" | "active" | "suspended" | "rejected" | "revoked") => f,
        "orphaned" if is_admin => "orphaned",
        _ => "",
    }
    .to_string();
    let q: String = page::search_key(&query.q);
    let q_shown: String = query
        .q
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let sort = AppSort::parse(&query.sort);
    let paged = Window::parse(PAGE_SIZE, query.cursor.as_deref()).map_err(|_| {
        AppError::bad_request("That page link is no longer valid: start from the first page.")
    })?;
    // Unfiltered, the Active table pages and the other two preview their newest
    // rows; a status filter pages the one table it shows.
    let previews = matches!(filter.as_str(), "" | "orphaned");
    let windows = if previews {
        [
            paged,
            Window::first(PREVIEW_ROWS),
            Window::first(PREVIEW_ROWS),
        ]
    } else {
        [paged.clone(), paged.clone(), paged]
    };
    let sort_for_preview = if previews { AppSort::Newest } else { sort };
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let now = state.clock.now_naive();
    let search = Search::parse(&q);
    let section_filter = filter.clone();
    let (sections, empty_org, creds, names, admin_teams) = state
        .db(move |conn| {
            let (owners, admin_teams) = visibility(conn, &org_id, &user_id, is_admin)?;
            let statuses: [Vec<&str>; 3] = match section_filter.as_str() {
                "" | "orphaned" => [
                    vec!["pending", "active", "suspended"],
                    vec!["rejected"],
                    vec!["revoked"],
                ],
                f => {
                    let mut s: [Vec<&str>; 3] = [vec![], vec![], vec![]];
                    let i = ["active", "rejected", "revoked"]
                        .iter()
                        .position(|x| *x == section_of(f))
                        .unwrap_or(0);
                    s[i] = vec![f];
                    s
                }
            };
            let orphaned = (section_filter == "orphaned").then_some(OWNER_LEFT);
            let mut sections = Vec::new();
            for (i, (statuses, window)) in statuses.iter().zip(&windows).enumerate() {
                let query = AppQuery {
                    org_id: &org_id,
                    owners: &owners,
                    statuses,
                    search: &search,
                    orphaned_reason: orphaned,
                    sort: if i == 0 { sort } else { sort_for_preview },
                };
                sections.push(Section {
                    page: query.page(conn, window)?,
                    total: query.count_capped(conn)?,
                    shown: !statuses.is_empty(),
                });
            }
            let listed: Vec<App> = sections
                .iter()
                .flat_map(|s| s.page.items.iter().cloned())
                .collect();
            let empty_org = listed.is_empty()
                && search == Search::All
                && section_filter.is_empty()
                && windows.iter().all(|w| w.cursor.is_none());
            let ids: Vec<String> = listed.iter().map(|a| a.id.clone()).collect();
            let creds = apps::credentials_of_apps(conn, &ids)?;
            let names = owner_names(conn, &org_id, &listed)?;
            Ok((sections, empty_org, creds, names, admin_teams))
        })
        .await?;
    let keep = [
        ("q", q_shown.as_str()),
        ("sort", query.sort.as_str()),
        ("filter", filter.as_str()),
        ("cursor", query.cursor.as_deref().unwrap_or("")),
    ];
    let slug = &scope.org.slug;
    let mut built = sections
        .into_iter()
        .zip(["active", "rejected", "revoked"])
        .enumerate()
        .map(|(i, (section, status))| AppSection {
            see_all: (previews && i > 0 && section.page.next.is_some()).then(|| {
                let pairs: Vec<(&str, &str)> = [
                    ("filter", status),
                    ("q", q_shown.as_str()),
                    ("sort", query.sort.as_str()),
                ]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect();
                format!(
                    "/o/{slug}/apps?{}",
                    serde_urlencoded::to_string(pairs).unwrap_or_default()
                )
            }),
            rows: rows(
                &section.page.items,
                &creds,
                &names,
                now,
                &scope.identity.user.id,
                &admin_teams,
                is_admin,
            ),
            total: page::capped(section.total),
            pager: if previews && i > 0 {
                Pager::default()
            } else {
                Pager::new(&section.page, "cursor", &keep)
            },
            shown: section.shown,
        });
    let (Some(active), Some(rejected), Some(revoked)) = (built.next(), built.next(), built.next())
    else {
        return Err(AppError::internal("app list sections missing"));
    };
    render(&AppListPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        active,
        rejected,
        revoked,
        q: q_shown,
        sort: query.sort,
        filter,
        is_admin,
        empty_org,
    })
}
