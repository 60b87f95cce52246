//! Display names for many ids at once, one query per table, so a page that names the
//! people, apps, teams and products of fifty rows runs four queries, not fifty.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{apps, products, teams, users};

/// Names found for the ids asked about; unknown ids are simply absent.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub users: HashMap<String, String>,
    pub apps: HashMap<String, String>,
    pub teams: HashMap<String, String>,
    pub products: HashMap<String, String>,
}

/// The ids a page wants named, by kind.
#[derive(Debug, Default, Clone)]
pub struct Wanted {
    pub users: Vec<String>,
    pub apps: Vec<String>,
    pub teams: Vec<String>,
    pub products: Vec<String>,
}

fn dedup(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Looks up every wanted id of the organisation `org_id` (users are instance-wide).
pub fn resolve(conn: &mut DbConnection, org_id: &str, wanted: Wanted) -> QueryResult<Names> {
    let mut names = Names::default();
    let users_wanted = dedup(wanted.users);
    if !users_wanted.is_empty() {
        names.users = users::table
            .filter(users::id.eq_any(&users_wanted))
            .select((users::id, users::display_name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }
    let apps_wanted = dedup(wanted.apps);
    if !apps_wanted.is_empty() {
        names.apps = apps::table
            .filter(apps::org_id.eq(org_id))
            .filter(apps::id.eq_any(&apps_wanted))
            .select((apps::id, apps::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }
    let teams_wanted = dedup(wanted.teams);
    if !teams_wanted.is_empty() {
        names.teams = teams::table
            .filter(teams::org_id.eq(org_id))
            .filter(teams::id.eq_any(&teams_wanted))
            .select((teams::id, teams::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }
    let products_wanted = dedup(wanted.products);
    if !products_wanted.is_empty() {
        names.products = products::table
            .filter(products::org_id.eq(org_id))
            .filter(products::id.eq_any(&products_wanted))
            .select((products::id, products::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }
    Ok(names)
}
