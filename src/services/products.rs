//! API products: created, edited and archived by org admins; seen by every member or
//! only by chosen teams.

use crate::auth::policy::Role;
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::new_id;
use crate::models::orgs::Organisation;
use crate::models::products::{self, Product};
use crate::models::teams;
use crate::services::{Ctx, audit};
use crate::{validate, wording};

/// The largest Markdown documentation a product may carry, in bytes.
pub const MAX_DOCS_BYTES: usize = 200_000;

/// Documentation rendered for storing, with the Markdown it was rendered from. Made by
/// [`RenderedDocs::render`]: blocking work, for a blocking thread, done before the
/// database work starts (a render must not hold a pooled connection).
#[derive(Debug, Clone)]
pub struct RenderedDocs {
    markdown: String,
    html: String,
}

impl RenderedDocs {
    /// Renders `markdown` (already checked, with `\n` line ends) to sanitised HTML.
    pub fn render(markdown: &str) -> Self {
        Self {
            markdown: markdown.to_string(),
            html: crate::markdown::render(markdown),
        }
    }

    /// The HTML, when these docs were rendered from `markdown`.
    fn html_for(&self, markdown: &str) -> Option<&str> {
        (self.markdown == markdown).then_some(self.html.as_str())
    }
}

fn not_rendered() -> AppError {
    AppError::internal("product documentation was saved without being rendered")
}

/// A product as submitted by the form, checked.
#[derive(Debug, Clone)]
pub struct ProductInput {
    pub name: String,
    pub slug: String,
    pub summary: String,
    pub docs_markdown: String,
    pub members_only_of_teams: Vec<String>,
    pub approval_mode: String,
    pub quota_limit: Option<i64>,
    pub quota_period: Option<String>,
    pub rate_limit_per_second: Option<i64>,
    pub max_credential_lifetime_seconds: Option<i64>,
    pub scopes: String,
}

/// The raw form fields.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub docs_markdown: String,
    #[serde(default)]
    pub visibility: String,
    /// Comma-separated team ids (from the checkboxes, joined by the handler).
    #[serde(default)]
    pub teams: String,
    #[serde(default)]
    pub approval_mode: String,
    #[serde(default)]
    pub quota_limit: String,
    #[serde(default)]
    pub quota_period: String,
    #[serde(default)]
    pub rate_limit_per_second: String,
    #[serde(default)]
    pub max_credential_lifetime_days: String,
    #[serde(default)]
    pub scopes: String,
}

impl ProductForm {
    /// The form a stored product fills in, as its edit page shows it and as an API
    /// PATCH starts from.
    pub fn of(p: &Product, teams: &[String]) -> Self {
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        Self {
            name: p.name.clone(),
            slug: p.slug.clone(),
            summary: p.summary.clone(),
            docs_markdown: p.docs_markdown.clone(),
            visibility: p.visibility.clone(),
            teams: teams.join(","),
            approval_mode: p.approval_mode.clone(),
            quota_limit: number(p.quota_limit),
            quota_period: p.quota_period.clone().unwrap_or_default(),
            rate_limit_per_second: number(p.rate_limit_per_second),
            max_credential_lifetime_days: number(
                p.max_credential_lifetime_seconds.map(|s| s / 86_400),
            ),
            scopes: p.scopes.clone(),
        }
    }
}

fn optional_positive(raw: &str, what: &str, max: i64, errors: &mut Vec<String>) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            errors.push(format!(
                "{what} must be a whole number from 1 to {max}, or empty."
            ));
            None
        }
    }
}

/// Checks every field; all problems are reported together.
pub fn check(form: &ProductForm) -> Result<ProductInput, Vec<String>> {
    let mut errors = Vec::new();
    let name = validate::name(&form.name, "Product name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let slug_raw = if form.slug.trim().is_empty() {
        validate::slugify(name.as_deref().unwrap_or(""))
    } else {
        form.slug.trim().to_string()
    };
    let slug = validate::slug(&slug_raw).map_err(|e| errors.push(e)).ok();
    let summary = form.summary.trim().to_string();
    if summary.chars().count() > 300 || summary.chars().any(char::is_control) {
        errors.push("Summary must be one line of at most 300 characters.".into());
    }
    let docs = form.docs_markdown.replace("\r\n", "\n");
    if docs.len() > MAX_DOCS_BYTES || docs.contains('\0') {
        errors.push("Documentation must be at most 200 000 characters of text.".into());
    }
    let teams: Vec<String> = form
        .teams
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let members_only_of_teams = match form.visibility.as_str() {
        "members" | "" => Vec::new(),
        "teams" if !teams.is_empty() => teams,
        "teams" => {
            errors.push(
                "Choose at least one team, or make the product visible to every member.".into(),
            );
            Vec::new()
        }
        _ => {
            errors.push("Choose who can see the product.".into());
            Vec::new()
        }
    };
    let approval_mode = match form.approval_mode.as_str() {
        "auto" | "manual" => form.approval_mode.clone(),
        _ => {
            errors.push("Choose the approval mode: auto or manual.".into());
            String::new()
        }
    };
    let quota_limit = optional_positive(&form.quota_limit, "Quota", 1_000_000_000_000, &mut errors);
    let quota_period = match (quota_limit, form.quota_period.as_str()) {
        (None, _) => None,
        (Some(_), p @ ("minute" | "hour" | "day" | "month")) => Some(p.to_string()),
        (Some(_), _) => {
            errors.push("Choose the quota's period: minute, hour, day or month.".into());
            None
        }
    };
    let rate_limit_per_second = optional_positive(
        &form.rate_limit_per_second,
        "Rate limit",
        1_000_000,
        &mut errors,
    );
    let max_days = optional_positive(
        &form.max_credential_lifetime_days,
        "Maximum credential lifetime",
        3650,
        &mut errors,
    );
    let scopes: Vec<&str> = form.scopes.split_whitespace().collect();
    if scopes.len() > 50
        || scopes.iter().any(|s| {
            s.len() > 64
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":._-/".contains(c))
        })
    {
        errors.push(
            "Scopes are up to 50 words of letters, digits and : . _ - /, separated by spaces."
                .into(),
        );
    }
    match (name, slug, errors.is_empty()) {
        (Some(name), Some(slug), true) => Ok(ProductInput {
            name,
            slug,
            summary,
            docs_markdown: docs,
            members_only_of_teams,
            approval_mode,
            quota_limit,
            quota_period,
            rate_limit_per_second,
            max_credential_lifetime_seconds: max_days.map(|d| d * 86_400),
            scopes: scopes.join(" "),
        }),
        _ => Err(errors),
    }
}

fn check_teams(conn: &mut DbConnection, org: &Organisation, team_ids: &[String]) -> AppResult<()> {
    for id in team_ids {
        if teams::find_in_org(conn, &org.id, id)?.is_none() {
            return Err(AppError::bad_request(
                "The form names a team that is not in this organisation.",
            ));
        }
    }
    Ok(())
}

fn apply(p: &mut Product, input: &ProductInput) {
    p.name = input.name.clone();
    p.summary = input.summary.clone();
    p.docs_markdown = input.docs_markdown.clone();
    p.visibility = if input.members_only_of_teams.is_empty() {
        "members"
    } else {
        "teams"
    }
    .into();
    p.approval_mode = input.approval_mode.clone();
    p.quota_limit = input.quota_limit;
    p.quota_period = input.quota_period.clone();
    p.rate_limit_per_second = input.rate_limit_per_second;
    p.max_credential_lifetime_seconds = input.max_credential_lifetime_seconds;
    p.scopes = input.scopes.clone();
}

/// Publishes a product; `docs` is `input`'s documentation, rendered beforehand.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    input: &ProductInput,
    docs: &RenderedDocs,
) -> AppResult<Product> {
    let docs_html = docs
        .html_for(&input.docs_markdown)
        .ok_or_else(not_rendered)?;
    write_transaction(conn, |conn| {
        check_teams(conn, org, &input.members_only_of_teams)?;
        let taken = || {
            AppError::conflict(format!(
                "A product with the slug \"{}\" already exists.",
                input.slug
            ))
        };
        if products::find_by_slug(conn, &org.id, &input.slug)?.is_some() {
            return Err(taken());
        }
        let mut p = Product {
            id: new_id(),
            org_id: org.id.clone(),
            slug: input.slug.clone(),
            name: String::new(),
            summary: String::new(),
            docs_markdown: String::new(),
            openapi_json: None,
            visibility: String::new(),
            approval_mode: String::new(),
            quota_limit: None,
            quota_period: None,
            rate_limit_per_second: None,
            max_credential_lifetime_seconds: None,
            scopes: String::new(),
            archived_at: None,
            created_at: ctx.now,
            updated_at: ctx.now,
            openapi_html: None,
        };
        apply(&mut p, input);
        products::insert(conn, &p, docs_html).map_err(|e| {
            if is_unique_violation(&e) {
                taken()
            } else {
                e.into()
            }
        })?;
        products::set_teams(conn, &p.id, &input.members_only_of_teams)?;
        record(
            conn,
            ctx,
            org,
            &p,
            "product.created",
            &format!("{} ({}, {})", p.name, p.slug, p.approval_mode),
        )?;
        Ok(p)
    })
}

/// Saves changes to a product. `docs` is `input`'s documentation rendered beforehand;
/// it may be left out when the documentation does not change.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    product: &Product,
    input: &ProductInput,
    docs: Option<&RenderedDocs>,
) -> AppResult<()> {
    let docs_html = docs.and_then(|d| d.html_for(&input.docs_markdown));
    write_transaction(conn, |conn| {
        check_teams(conn, org, &input.members_only_of_teams)?;
        let mut p = products::find(conn, &org.id, &product.id)?.ok_or(AppError::NotFound)?;
        let docs_changed = p.docs_markdown != input.docs_markdown;
        apply(&mut p, input);
        p.updated_at = ctx.now;
        products::save(conn, &p)?;
        match docs_html {
            Some(html) => {
                products::set_docs_html(conn, &p.id, html)?;
            }
            None if docs_changed => return Err(not_rendered()),
            None => {}
        }
        products::set_teams(conn, &p.id, &input.members_only_of_teams)?;
        record(conn, ctx, org, &p, "product.updated", &p.name)?;
        Ok(())
    })
}

/// Archives (no new subscriptions; existing ones keep working) or restores a product.
pub fn set_archived(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    product: &Product,
    archived: bool,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let mut p = products::find(conn, &org.id, &product.id)?.ok_or(AppError::NotFound)?;
        if p.archived_at.is_some() == archived {
            return Err(AppError::conflict(if archived {
                "This product is already archived."
            } else {
                "This product is not archived."
            }));
        }
        p.archived_at = archived.then_some(ctx.now);
        p.updated_at = ctx.now;
        products::save(conn, &p)?;
        let action = if archived {
            "product.archived"
        } else {
            "product.restored"
        };
        record(conn, ctx, org, &p, action, &p.name)?;
        Ok(())
    })
}

/// What a saved API reference holds, for the admin's confirmation.
#[derive(Debug, Clone)]
pub struct ApiReferenceSaved {
    pub title: String,
    pub api_version: String,
    pub openapi_version: String,
    pub operations: usize,
}

/// Makes an OpenAPI document, compiled beforehand by `crate::openapi::compile`
/// (blocking work, done before any database work), the product's API reference:
/// stored as JSON and as the HTML the docs page shows as is. The product is looked up
/// in `org`; another organisation's is not found.
pub fn store_api_reference(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    product_id: &str,
    compiled: &crate::openapi::Compiled,
) -> AppResult<ApiReferenceSaved> {
    write_transaction(conn, |conn| {
        let mut p = products::find(conn, &org.id, product_id)?.ok_or(AppError::NotFound)?;
        p.openapi_json = Some(compiled.json.clone());
        p.openapi_html = Some(compiled.html.clone());
        p.updated_at = ctx.now;
        products::save(conn, &p)?;
        let detail = format!(
            "{}: {} {} (OpenAPI {}, {})",
            p.name,
            compiled.title,
            compiled.api_version,
            compiled.openapi_version,
            wording::count_of(compiled.operations, "operation", "operations"),
        );
        record(conn, ctx, org, &p, "product.api_reference_set", &detail)?;
        Ok(ApiReferenceSaved {
            title: compiled.title.clone(),
            api_version: compiled.api_version.clone(),
            openapi_version: compiled.openapi_version.clone(),
            operations: compiled.operations,
        })
    })
}

/// Removes the product's API reference; 409 when it has none.
pub fn remove_api_reference(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    product_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let mut p = products::find(conn, &org.id, product_id)?.ok_or(AppError::NotFound)?;
        if p.openapi_json.is_none() {
            return Err(AppError::conflict("This product has no API reference."));
        }
        p.openapi_json = None;
        p.openapi_html = None;
        p.updated_at = ctx.now;
        products::save(conn, &p)?;
        record(conn, ctx, org, &p, "product.api_reference_removed", &p.name)?;
        Ok(())
    })
}

/// Records a change of `p` in the organisation's audit log.
fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    p: &Product,
    action: &str,
    detail: &str,
) -> diesel::QueryResult<()> {
    audit::record(
        conn,
        ctx,
        Some(&org.id),
        action,
        Some(&format!("product:{}", p.id)),
        detail,
    )
}

/// Can this member see the product (catalogue, docs, subscribing)?
pub fn visible_to(
    product: &Product,
    product_team_ids: &[String],
    member_role: Role,
    member_team_ids: &[String],
) -> bool {
    member_role >= Role::Admin
        || product.visibility == "members"
        || product_team_ids.iter().any(|t| member_team_ids.contains(t))
}

/// The live (not archived) products a member may see, by name.
pub fn visible_for(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    role: Role,
) -> AppResult<Vec<Product>> {
    let mine: Vec<String> = teams::for_user(conn, org_id, user_id)?
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    let links = products::all_team_links(conn, org_id)?;
    Ok(products::for_org(conn, org_id)?
        .into_iter()
        .filter(|p| p.archived_at.is_none())
        .filter(|p| {
            let teams: Vec<String> = links
                .iter()
                .filter(|(pid, _)| *pid == p.id)
                .map(|(_, t)| t.clone())
                .collect();
            visible_to(p, &teams, role, &mine)
        })
        .collect())
}
