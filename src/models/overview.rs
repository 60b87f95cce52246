//! The few figures an organisation's overview shows, each a bounded query: existence
//! checks (`LIMIT 1`) and counts that stop at [`COUNT_CAP`], so the page costs the same
//! with ten apps or a hundred thousand.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{apps, invitations, memberships, products, subscriptions};

/// Counts stop here; the page shows "100+".
pub const COUNT_CAP: i64 = 100;

/// How far an organisation has come: what its getting-started checklist ticks off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// A product that is not archived.
    pub has_product: bool,
    /// Someone invited, or a member besides the first.
    pub has_invited: bool,
    /// An app that is active (approved, by an admin or automatically).
    pub has_active_app: bool,
    /// Requests waiting for an admin, up to [`COUNT_CAP`].
    pub pending_requests: i64,
}

pub fn progress(conn: &mut DbConnection, org_id: &str) -> QueryResult<Progress> {
    let has_product = products::table
        .filter(products::org_id.eq(org_id))
        .filter(products::archived_at.is_null())
        .select(products::id)
        .limit(1)
        .load::<String>(conn)?
        .len()
        == 1;
    let invited = invitations::table
        .filter(invitations::org_id.eq(org_id))
        .select(invitations::id)
        .limit(1)
        .load::<String>(conn)?
        .len()
        == 1;
    let has_invited = invited
        || memberships::table
            .filter(memberships::org_id.eq(org_id))
            .select(memberships::user_id)
            .limit(2)
            .load::<String>(conn)?
            .len()
            == 2;
    let has_active_app = apps::table
        .filter(apps::org_id.eq(org_id))
        .filter(apps::status.eq("active"))
        .select(apps::id)
        .limit(1)
        .load::<String>(conn)?
        .len()
        == 1;
    let pending_requests = subscriptions::table
        .filter(subscriptions::org_id.eq(org_id))
        .filter(subscriptions::status.eq("pending"))
        .select(subscriptions::id)
        .limit(COUNT_CAP)
        .load::<String>(conn)?
        .len();
    Ok(Progress {
        has_product,
        has_invited,
        has_active_app,
        pending_requests: i64::try_from(pending_requests).unwrap_or(COUNT_CAP),
    })
}
