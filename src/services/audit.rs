//! Writing audit entries, always inside the transaction of the change they describe.

use diesel::QueryResult;

use crate::db::DbConnection;
use crate::models::audit::{self, AuditEvent};
use crate::models::new_id;
use crate::services::Ctx;

/// Records `action` on `target` (e.g. `user:<id>`), with a short human detail.
pub fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org_id: Option<&str>,
    action: &str,
    target: Option<&str>,
    detail: &str,
) -> QueryResult<()> {
    audit::insert(
        conn,
        &AuditEvent {
            id: new_id(),
            org_id: org_id.map(str::to_string),
            actor_id: ctx.actor_id.clone(),
            action: action.to_string(),
            target: target.map(str::to_string),
            detail: detail.to_string(),
            ip: ctx.ip.clone(),
            created_at: ctx.now,
        },
    )
}
