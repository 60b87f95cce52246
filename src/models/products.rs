//! API products, who may see them, and subscriptions of apps to them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    approval_rules, approval_settings, apps, product_teams, products, subscriptions,
};
use crate::models::apps::App;
use crate::models::names::name_key;
use crate::models::page::{Page, Window};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
pub struct Product {
    pub id: String,
    pub org_id: String,
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub docs_markdown: String,
    /// The API reference's OpenAPI document as JSON (converted from YAML if it came
    /// as YAML), checked when saved.
    pub openapi_json: Option<String>,
    /// `members` (every member) or `teams` (only the chosen teams).
    pub visibility: String,
    /// `auto` or `manual`.
    pub approval_mode: String,
    pub quota_limit: Option<i64>,
    pub quota_period: Option<String>,
    pub rate_limit_per_second: Option<i64>,
    pub max_credential_lifetime_seconds: Option<i64>,
    /// Space-separated.
    pub scopes: String,
    pub archived_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `openapi_json` rendered to sanitised HTML when it was saved (`crate::openapi`).
    pub openapi_html: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = subscriptions, treat_none_as_null = true)]
pub struct Subscription {
    pub id: String,
    pub app_id: String,
    pub product_id: String,
    /// `pending`, `approved`, `rejected` or `cancelled`.
    pub status: String,
    pub note: String,
    pub reason: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The product's organisation, kept here so the approval queue pages in SQL.
    pub org_id: String,
}

/// Inserts a product with its documentation rendered (`docs_html`, from
/// `crate::markdown::render` of `p.docs_markdown`).
pub fn insert(conn: &mut DbConnection, p: &Product, docs_html: &str) -> QueryResult<()> {
    diesel::insert_into(products::table)
        .values((
            p,
            products::name_key.eq(name_key(&p.name)),
            products::docs_html.eq(docs_html),
        ))
        .execute(conn)
        .map(drop)
}

/// Stores the rendered documentation of a product whose `docs_markdown` was saved.
pub fn set_docs_html(conn: &mut DbConnection, id: &str, docs_html: &str) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set(products::docs_html.eq(docs_html))
        .execute(conn)
}

/// A product's stored, sanitised documentation: `None` when there is no such product,
/// `Some(None)` when it has not been rendered yet (the start-up backfill renders it).
pub fn docs_html(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> QueryResult<Option<Option<String>>> {
    products::table
        .filter(products::org_id.eq(org_id))
        .filter(products::id.eq(id))
        .select(products::docs_html)
        .first(conn)
        .optional()
}

/// Up to `limit` products whose documentation has not been rendered, after the id
/// `after`, in id order: (id, docs_markdown).
pub fn unrendered_docs(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    products::table
        .filter(products::docs_html.is_null())
        .filter(products::id.gt(after))
        .order(products::id.asc())
        .limit(limit)
        .select((products::id, products::docs_markdown))
        .load(conn)
}

/// Stores documentation rendered by the backfill, unless the product was saved (and
/// so rendered) since it was read: only while `docs_html` is still NULL and the
/// Markdown is still `markdown`.
pub fn store_backfilled_docs(
    conn: &mut DbConnection,
    id: &str,
    markdown: &str,
    docs_html: &str,
) -> QueryResult<usize> {
    diesel::update(
        products::table
            .filter(products::id.eq(id))
            .filter(products::docs_html.is_null())
            .filter(products::docs_markdown.eq(markdown)),
    )
    .set(products::docs_html.eq(docs_html))
    .execute(conn)
}

pub fn save(conn: &mut DbConnection, p: &Product) -> QueryResult<usize> {
    diesel::update(products::table.find(&p.id))
        .set((p, products::name_key.eq(name_key(&p.name))))
        .execute(conn)
}

pub fn for_org(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<Product>> {
    products::table
        .filter(products::org_id.eq(org_id))
        .order((products::name.asc(), products::id.asc()))
        .select(Product::as_select())
        .load(conn)
}

/// Which of an organisation's products a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Listing<'a> {
    /// Every product, archived ones included (product admins).
    Every,
    /// The live products `user_id` may see: all of them for an organisation admin
    /// (`admin`), else those for every member and those of the user's teams.
    VisibleTo { user_id: &'a str, admin: bool },
}

/// The orders of a product list, each a keyset on (key, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductOrder {
    /// By lower-cased name (the portal).
    Name,
    /// By id, oldest first (the API).
    Id,
}

/// One page of an organisation's products.
pub fn page(
    conn: &mut DbConnection,
    org_id: &str,
    listing: Listing<'_>,
    order: ProductOrder,
    window: &Window,
) -> QueryResult<Page<Product>> {
    use crate::db::schema::team_members;
    let mut query = products::table
        .filter(products::org_id.eq(org_id.to_string()))
        .select((Product::as_select(), products::name_key))
        .into_boxed();
    if let Listing::VisibleTo { user_id, admin } = listing {
        query = query.filter(products::archived_at.is_null());
        if !admin {
            let my_teams = team_members::table
                .filter(team_members::user_id.eq(user_id.to_string()))
                .select(team_members::team_id);
            let linked = product_teams::table
                .filter(product_teams::team_id.eq_any(my_teams))
                .select(product_teams::product_id);
            query = query.filter(
                products::visibility
                    .eq("members")
                    .or(products::id.eq_any(linked)),
            );
        }
    }
    let rows: Vec<(Product, String)> = match order {
        ProductOrder::Name => crate::keyset!(
            query,
            products::name_key,
            products::id,
            window,
            descending = false
        )
        .load(conn)?,
        ProductOrder::Id => crate::keyset!(
            query,
            products::id,
            products::id,
            window,
            descending = false
        )
        .load(conn)?,
    };
    let page = Page::from_rows(rows, window, |(p, key)| match order {
        ProductOrder::Name => (key.clone(), p.id.clone()),
        ProductOrder::Id => (p.id.clone(), p.id.clone()),
    });
    Ok(page.map(|(p, _)| p))
}

/// The (product, team) links of the products `product_ids`.
pub fn team_links_of(
    conn: &mut DbConnection,
    product_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    product_teams::table
        .filter(product_teams::product_id.eq_any(product_ids))
        .select((product_teams::product_id, product_teams::team_id))
        .load(conn)
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<Product>> {
    products::table
        .filter(products::org_id.eq(org_id))
        .filter(products::id.eq(id))
        .select(Product::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(
    conn: &mut DbConnection,
    org_id: &str,
    slug: &str,
) -> QueryResult<Option<Product>> {
    products::table
        .filter(products::org_id.eq(org_id))
        .filter(products::slug.eq(slug))
        .select(Product::as_select())
        .first(conn)
        .optional()
}

pub fn team_ids(conn: &mut DbConnection, product_id: &str) -> QueryResult<Vec<String>> {
    product_teams::table
        .filter(product_teams::product_id.eq(product_id))
        .select(product_teams::team_id)
        .load(conn)
}

pub fn all_team_links(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<(String, String)>> {
    product_teams::table
        .inner_join(products::table)
        .filter(products::org_id.eq(org_id))
        .select((product_teams::product_id, product_teams::team_id))
        .load(conn)
}

pub fn set_teams(
    conn: &mut DbConnection,
    product_id: &str,
    team_ids: &[String],
) -> QueryResult<()> {
    diesel::delete(product_teams::table.filter(product_teams::product_id.eq(product_id)))
        .execute(conn)?;
    for team_id in team_ids {
        diesel::insert_into(product_teams::table)
            .values((
                product_teams::product_id.eq(product_id),
                product_teams::team_id.eq(team_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_subscription(conn: &mut DbConnection, s: &Subscription) -> QueryResult<()> {
    diesel::insert_into(subscriptions::table)
        .values(s)
        .execute(conn)
        .map(drop)
}

pub fn save_subscription(conn: &mut DbConnection, s: &Subscription) -> QueryResult<usize> {
    diesel::update(subscriptions::table.find(&s.id))
        .set(s)
        .execute(conn)
}

/// An app's subscriptions with their products, newest first.
pub fn subscriptions_of(
    conn: &mut DbConnection,
    app_id: &str,
) -> QueryResult<Vec<(Subscription, Product)>> {
    subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::app_id.eq(app_id))
        .order((subscriptions::created_at.desc(), subscriptions::id.desc()))
        .select((Subscription::as_select(), Product::as_select()))
        .load(conn)
}

/// One page of an app's subscriptions with their products, oldest first (by id).
pub fn subscriptions_page(
    conn: &mut DbConnection,
    app_id: &str,
    window: &Window,
) -> QueryResult<Page<(Subscription, Product)>> {
    let query = subscriptions::table
        .inner_join(products::table)
        .filter(subscriptions::app_id.eq(app_id.to_string()))
        .select((Subscription::as_select(), Product::as_select()))
        .into_boxed();
    let rows = crate::keyset!(
        query,
        subscriptions::id,
        subscriptions::id,
        window,
        descending = false
    )
    .load(conn)?;
    Ok(Page::from_rows(
        rows,
        window,
        |(s, _): &(Subscription, Product)| (s.id.clone(), s.id.clone()),
    ))
}

/// Subscriptions of an organisation by id (for approving one or many).
pub fn subscriptions_by_ids(
    conn: &mut DbConnection,
    org_id: &str,
    ids: &[String],
) -> QueryResult<Vec<(Subscription, Product, App)>> {
    subscriptions::table
        .inner_join(products::table)
        .inner_join(apps::table)
        .filter(products::org_id.eq(org_id))
        .filter(subscriptions::id.eq_any(ids))
        .order((subscriptions::created_at.asc(), subscriptions::id.asc()))
        .select((
            Subscription::as_select(),
            Product::as_select(),
            App::as_select(),
        ))
        .load(conn)
}

/// Which part of the approval queue to show.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only requests for this product.
    pub product_id: Option<String>,
    /// Only apps whose lower-cased name starts with this.
    pub app_prefix: Option<String>,
}

/// The product columns a row of the approval queue shows (not its documents).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductName {
    pub id: String,
    pub slug: String,
    pub name: String,
}

type Backend = <DbConnection as Connection>::Backend;

/// The queue without a name search: pending subscriptions of the organisation, read
/// from the `(org_id, status, [product_id,] id)` indexes alone. Revoking or deleting
/// an app cancels its pending requests, so every one of these belongs to a live app.
fn queue_plain<'a>(
    org_id: &'a str,
    filter: &'a QueueFilter,
) -> subscriptions::BoxedQuery<'a, Backend> {
    let mut q = subscriptions::table
        .filter(subscriptions::org_id.eq(org_id))
        .filter(subscriptions::status.eq("pending"))
        .into_boxed();
    if let Some(product) = &filter.product_id {
        q = q.filter(subscriptions::product_id.eq(product.as_str()));
    }
    q
}

type JoinedQuery<'a> = diesel::helper_types::IntoBoxed<
    'a,
    diesel::dsl::InnerJoin<subscriptions::table, apps::table>,
    Backend,
>;

/// The queue searched by the start of the app's name: the same scan, joined to apps.
fn queue_by_app_name<'a>(
    org_id: &'a str,
    filter: &'a QueueFilter,
    prefix: &'a str,
) -> JoinedQuery<'a> {
    let mut q = subscriptions::table
        .inner_join(apps::table)
        .filter(subscriptions::org_id.eq(org_id))
        .filter(subscriptions::status.eq("pending"))
        .filter(apps::name_lower.ge(prefix))
        .filter(apps::name_lower.lt(super::page::prefix_end(prefix)))
        .into_boxed();
    if let Some(product) = &filter.product_id {
        q = q.filter(subscriptions::product_id.eq(product.as_str()));
    }
    q
}

/// One page of the approval queue, oldest first: the page's ids from the index, then
/// its rows by primary key, and the names of their products.
pub fn pending_page(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &QueueFilter,
    window: &super::page::Window,
) -> QueryResult<super::page::Page<(Subscription, ProductName, App)>> {
    let ids: Vec<String> = match &filter.app_prefix {
        None => crate::keyset!(
            queue_plain(org_id, filter),
            subscriptions::id,
            subscriptions::id,
            window,
            descending = false
        )
        .select(subscriptions::id)
        .load(conn)?,
        Some(prefix) => crate::keyset!(
            queue_by_app_name(org_id, filter, prefix),
            subscriptions::id,
            subscriptions::id,
            window,
            descending = false
        )
        .select(subscriptions::id)
        .load(conn)?,
    };
    let page = super::page::Page::from_rows(ids, window, |id| (id.clone(), id.clone()));
    let mut rows: std::collections::HashMap<String, (Subscription, App)> = subscriptions::table
        .inner_join(apps::table)
        .filter(subscriptions::id.eq_any(&page.items))
        .select((Subscription::as_select(), App::as_select()))
        .load::<(Subscription, App)>(conn)?
        .into_iter()
        .map(|(s, a)| (s.id.clone(), (s, a)))
        .collect();
    let product_ids: Vec<&str> = rows.values().map(|(s, _)| s.product_id.as_str()).collect();
    let names: std::collections::HashMap<String, ProductName> = products::table
        .filter(products::id.eq_any(product_ids))
        .select(ProductName::as_select())
        .load::<ProductName>(conn)?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    Ok(page.filter_map(|id| {
        let (s, a) = rows.remove(&id)?;
        let p = names.get(&s.product_id).cloned()?;
        Some((s, p, a))
    }))
}

/// Requests in the (filtered) queue, counted up to the cap ("1,000+").
pub fn pending_count_capped(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &QueueFilter,
) -> QueryResult<usize> {
    Ok(match &filter.app_prefix {
        None => crate::count_capped!(queue_plain(org_id, filter), subscriptions::id, conn),
        Some(prefix) => crate::count_capped!(
            queue_by_app_name(org_id, filter, prefix),
            subscriptions::id,
            conn
        ),
    })
}

pub fn approval_mode(conn: &mut DbConnection, org_id: &str) -> QueryResult<Option<String>> {
    approval_settings::table
        .find(org_id)
        .select(approval_settings::mode)
        .first(conn)
        .optional()
}

pub fn set_approval_mode(
    conn: &mut DbConnection,
    org_id: &str,
    mode: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let n = diesel::update(approval_settings::table.find(org_id))
        .set((
            approval_settings::mode.eq(mode),
            approval_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(approval_settings::table)
            .values((
                approval_settings::org_id.eq(org_id),
                approval_settings::mode.eq(mode),
                approval_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Auto-approve rules: (id, kind, value).
pub fn rules(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<(String, String, String)>> {
    approval_rules::table
        .filter(approval_rules::org_id.eq(org_id))
        .order((approval_rules::kind.asc(), approval_rules::value.asc()))
        .select((
            approval_rules::id,
            approval_rules::kind,
            approval_rules::value,
        ))
        .load(conn)
}

pub fn add_rule(
    conn: &mut DbConnection,
    id: &str,
    org_id: &str,
    kind: &str,
    value: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(approval_rules::table)
        .values((
            approval_rules::id.eq(id),
            approval_rules::org_id.eq(org_id),
            approval_rules::kind.eq(kind),
            approval_rules::value.eq(value),
            approval_rules::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub fn remove_rule(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        approval_rules::table
            .filter(approval_rules::org_id.eq(org_id))
            .filter(approval_rules::id.eq(id)),
    )
    .execute(conn)
}

/// Cancels every pending or approved subscription of an app (it was revoked or
/// deleted); returns how many.
pub fn cancel_live_subscriptions(
    conn: &mut DbConnection,
    app_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::app_id.eq(app_id))
            .filter(subscriptions::status.eq_any(["pending", "approved"])),
    )
    .set((
        subscriptions::status.eq("cancelled"),
        subscriptions::updated_at.eq(now),
    ))
    .execute(conn)
}
