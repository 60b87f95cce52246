//! Lists of an organisation's apps, filtered, sorted and paged in SQL.
//!
//! A list is the union of a few index range scans — one per status and owner scope
//! (the whole organisation, or the viewer and each of their teams) — each read in
//! keyset order and limited to one page, then merged. So a page costs the same with
//! a hundred apps as with a hundred thousand, and no query sorts more than a few
//! pages of rows.

use diesel::prelude::*;

use super::apps::App;
use super::page::{COUNT_CAP, Page, Window, prefix_end};
use crate::db::DbConnection;
use crate::db::schema::apps;

/// The statuses a list shows by default (all but deleted).
pub const LISTED: [&str; 5] = ["pending", "active", "suspended", "rejected", "revoked"];

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppSort {
    #[default]
    Newest,
    Oldest,
    Name,
    Status,
}

impl AppSort {
    /// From a query-string value; anything unknown is the default.
    pub fn parse(text: &str) -> Self {
        match text {
            "oldest" => Self::Oldest,
            "name" => Self::Name,
            "status" => Self::Status,
            _ => Self::Newest,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Name => "name",
            Self::Status => "status",
        }
    }

    fn descending(self) -> bool {
        self == Self::Newest
    }
}

/// Whose apps a list may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owners {
    /// Every app of the organisation (org admins).
    Everyone,
    /// Apps owned by this user (if any) or by one of these teams.
    Of {
        user: Option<String>,
        teams: Vec<String>,
    },
}

/// What to look for by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Search {
    #[default]
    All,
    /// Names starting with this (lower-cased) text.
    NamePrefix(String),
    /// The app with this id.
    Id(String),
}

impl Search {
    /// A search box's text: an app id when it is one, else a name prefix.
    pub fn parse(text: &str) -> Self {
        let key = super::page::search_key(text);
        if key.is_empty() {
            Self::All
        } else if uuid::Uuid::try_parse(&key).is_ok() {
            Self::Id(key)
        } else {
            Self::NamePrefix(key)
        }
    }
}

/// One list of apps.
#[derive(Debug, Clone)]
pub struct AppQuery<'a> {
    pub org_id: &'a str,
    pub owners: &'a Owners,
    pub statuses: &'a [&'a str],
    pub search: &'a Search,
    /// Only apps whose owner left or is gone (org admins' filter).
    pub orphaned_reason: Option<&'a str>,
    pub sort: AppSort,
}

type Boxed<'a> = apps::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>;

/// Who owns the apps one scan reads.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    Org,
    User(&'a str),
    Team(&'a str),
}

impl AppQuery<'_> {
    fn scopes(&self) -> Vec<Scope<'_>> {
        match self.owners {
            Owners::Everyone => vec![Scope::Org],
            Owners::Of { user, teams } => user
                .iter()
                .map(|u| Scope::User(u.as_str()))
                .chain(teams.iter().map(|t| Scope::Team(t.as_str())))
                .collect(),
        }
    }

    /// One index range: apps of one status in one owner scope, with the search.
    fn scan<'q>(&'q self, scope: Scope<'q>, status: &'q str) -> Boxed<'q> {
        let mut q = apps::table.filter(apps::status.eq(status)).into_boxed();
        q = match scope {
            Scope::Org => q.filter(apps::org_id.eq(self.org_id)),
            Scope::User(u) => q
                .filter(apps::owner_user_id.eq(u))
                .filter(apps::org_id.eq(self.org_id)),
            Scope::Team(t) => q
                .filter(apps::owner_team_id.eq(t))
                .filter(apps::org_id.eq(self.org_id)),
        };
        q = match self.search {
            Search::All => q,
            Search::NamePrefix(p) => q
                .filter(apps::name_lower.ge(p.clone()))
                .filter(apps::name_lower.lt(prefix_end(p))),
            Search::Id(id) => q.filter(apps::id.eq(id.clone())),
        };
        if let Some(reason) = self.orphaned_reason {
            q = q.filter(
                apps::status_reason.eq(reason).or(apps::owner_user_id
                    .is_null()
                    .and(apps::owner_team_id.is_null())),
            );
        }
        q
    }

    /// One page of the list, in two steps: every scan reads only its index (the sort
    /// key and id of at most a page of entries, no table row), the keys are merged,
    /// and then only the rows the page shows are loaded, by primary key.
    pub fn page(&self, conn: &mut DbConnection, window: &Window) -> QueryResult<Page<App>> {
        let sort = self.sort;
        let desc = sort.descending();
        let mut keys: Vec<(String, String)> = Vec::new();
        for scope in self.scopes() {
            for status in self.statuses {
                let scan = self.scan(scope, status);
                let part: Vec<(String, String)> = match sort {
                    AppSort::Newest | AppSort::Oldest => {
                        crate::keyset!(scan, apps::id, apps::id, window, descending = desc)
                            .select((apps::id, apps::id))
                            .load(conn)?
                    }
                    AppSort::Name => {
                        crate::keyset!(scan, apps::name_lower, apps::id, window, descending = desc)
                            .select((apps::name_lower, apps::id))
                            .load(conn)?
                    }
                    AppSort::Status => {
                        crate::keyset!(scan, apps::status, apps::id, window, descending = desc)
                            .select((apps::status, apps::id))
                            .load(conn)?
                    }
                };
                keys.extend(part);
            }
        }
        // Merge the scans in the order the window reads (reversed when paging back).
        keys.sort();
        if window.forward() == desc {
            keys.reverse();
        }
        keys.dedup_by(|a, b| a.1 == b.1);
        keys.truncate(window.limit + 1);
        let page = Page::from_rows(keys, window, Clone::clone);
        let ids: Vec<&str> = page.items.iter().map(|(_, id)| id.as_str()).collect();
        let mut rows: std::collections::HashMap<String, App> = apps::table
            .filter(apps::id.eq_any(&ids))
            .select(App::as_select())
            .load(conn)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        Ok(Page::map(page, |(_, id)| id).filter_map(|id| rows.remove(&id)))
    }

    /// How many apps the list holds, counted up to [`COUNT_CAP`] + 1 (shown "1,000+").
    pub fn count_capped(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let mut total = 0;
        for scope in self.scopes() {
            for status in self.statuses {
                total += crate::count_capped!(self.scan(scope, status), apps::id, conn);
                if total > COUNT_CAP {
                    return Ok(total);
                }
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_an_id_or_a_name_prefix() {
        assert_eq!(Search::parse("  "), Search::All);
        assert_eq!(
            Search::parse(" Billing "),
            Search::NamePrefix("billing".into())
        );
        let id = "0193a6b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b";
        assert_eq!(Search::parse(id), Search::Id(id.into()));
    }

    #[test]
    fn sorts_read_from_the_query_string() {
        assert_eq!(AppSort::parse("name"), AppSort::Name);
        assert_eq!(AppSort::parse("bogus"), AppSort::Newest);
        assert_eq!(AppSort::parse(AppSort::Oldest.as_str()), AppSort::Oldest);
    }
}
