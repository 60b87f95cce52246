//! Gateway tokens: what an API gateway presents on `/api/v1/keys/verify` and
//! `/api/v1/auth-request`. Stored as the keyed hash of the token (like every secret),
//! scoped to one organisation, optionally bound to a default product. The verify
//! index keeps the live ones in memory (`verify::index`); these queries serve the
//! portal, the management API and the index's loader.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{gateway_tokens, products};
use crate::models::page::{Page, Window};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = gateway_tokens)]
pub struct GatewayToken {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub token_hash: String,
    /// The readable prefix (`gate_gw_`) and last four characters shown in lists.
    pub prefix: String,
    pub last4: String,
    /// The product `auth-request` checks when the gateway names none.
    pub default_product_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, t: &GatewayToken) -> QueryResult<()> {
    diesel::insert_into(gateway_tokens::table)
        .values(t)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<GatewayToken>> {
    gateway_tokens::table
        .filter(gateway_tokens::org_id.eq(org_id))
        .filter(gateway_tokens::id.eq(id))
        .select(GatewayToken::as_select())
        .first(conn)
        .optional()
}

/// The organisation's tokens that are not revoked (an organisation holds a handful).
pub fn live_in_org(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<GatewayToken>> {
    gateway_tokens::table
        .filter(gateway_tokens::org_id.eq(org_id))
        .filter(gateway_tokens::revoked_at.is_null())
        .order(gateway_tokens::id)
        .select(GatewayToken::as_select())
        .load(conn)
}

/// Is `name` held by a live token of the organisation?
pub fn live_name_taken(conn: &mut DbConnection, org_id: &str, name: &str) -> QueryResult<bool> {
    let n: i64 = gateway_tokens::table
        .filter(gateway_tokens::org_id.eq(org_id))
        .filter(gateway_tokens::name.eq(name))
        .filter(gateway_tokens::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// One page of the organisation's tokens, revoked ones included, by id (creation
/// order): newest first when `newest_first`.
pub fn page(
    conn: &mut DbConnection,
    org_id: &str,
    window: &Window,
    newest_first: bool,
) -> QueryResult<Page<GatewayToken>> {
    let query = gateway_tokens::table
        .filter(gateway_tokens::org_id.eq(org_id.to_string()))
        .select(GatewayToken::as_select())
        .into_boxed();
    let rows = crate::keyset!(
        query,
        gateway_tokens::id,
        gateway_tokens::id,
        window,
        descending = newest_first
    )
    .load(conn)?;
    Ok(Page::from_rows(rows, window, |t: &GatewayToken| {
        (t.id.clone(), t.id.clone())
    }))
}

/// The (id, slug, name, archived) of the default products `ids`, for a page of tokens.
pub fn default_products(
    conn: &mut DbConnection,
    org_id: &str,
    ids: &[String],
) -> QueryResult<Vec<(String, String, String, bool)>> {
    let rows: Vec<(String, String, String, Option<NaiveDateTime>)> = products::table
        .filter(products::org_id.eq(org_id))
        .filter(products::id.eq_any(ids))
        .select((
            products::id,
            products::slug,
            products::name,
            products::archived_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, name, archived)| (id, slug, name, archived.is_some()))
        .collect())
}

/// Every token that is not revoked, for the verify index's load at start.
pub fn all_live(conn: &mut DbConnection) -> QueryResult<Vec<GatewayToken>> {
    gateway_tokens::table
        .filter(gateway_tokens::revoked_at.is_null())
        .select(GatewayToken::as_select())
        .load(conn)
}

/// Marks the token revoked; false when it was not live.
pub fn revoke(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        gateway_tokens::table
            .filter(gateway_tokens::org_id.eq(org_id))
            .filter(gateway_tokens::id.eq(id))
            .filter(gateway_tokens::revoked_at.is_null()),
    )
    .set(gateway_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}
