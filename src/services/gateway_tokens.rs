//! Gateway tokens: what an API gateway sends to the verify endpoints. Organisation
//! admins create them (the plaintext is returned once and kept only as its keyed
//! hash), list them and revoke them. Each change is audited as `gateway_token.*` in
//! its own transaction, which also writes the `gateway` change every instance's
//! verify index follows.

use crate::auth::policy::{self, OrgAction, Role};
use crate::credentials::{Kind, PlainSecret};
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::gateway_tokens::{self, GatewayToken};
use crate::models::new_id;
use crate::models::orgs::{self, Organisation};
use crate::models::page::{Page, Window};
use crate::models::products;
use crate::services::apps::Issuer;
use crate::services::{Ctx, audit, nonces};
use crate::validate;

/// The form kind whose nonces `create` consumes.
pub const FORM_KIND: &str = "new-gateway-token";

/// The longest name, in characters.
pub const MAX_NAME: usize = 100;

/// A token as asked for.
#[derive(Debug, Clone, Default)]
pub struct NewGatewayToken {
    pub name: String,
    /// The slug of the product `auth-request` checks when the gateway names none;
    /// `None` (or empty): no default.
    pub default_product: Option<String>,
}

/// The product a token defaults to, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultProduct {
    pub slug: String,
    pub name: String,
    /// Archived after the token was made: `auth-request` refuses it then.
    pub archived: bool,
}

/// A token with its default product, for lists and the API.
#[derive(Debug, Clone)]
pub struct Listed {
    pub token: GatewayToken,
    pub default_product: Option<DefaultProduct>,
}

/// The member's role in the organisation now, read inside the caller's transaction.
fn role_of(conn: &mut DbConnection, org_id: &str, user_id: &str) -> AppResult<Option<Role>> {
    Ok(orgs::membership(conn, org_id, user_id)?.and_then(|m| Role::parse(&m.role)))
}

/// Creates a token in `org` for `user_id` (an admin or owner there); the plaintext
/// is returned once. A form's `nonce` is recorded with it, so the form cannot create
/// a second token.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    user_id: &str,
    issuer: Issuer<'_>,
    new: NewGatewayToken,
    nonce: Option<&str>,
) -> AppResult<(GatewayToken, PlainSecret)> {
    let name = validate::name(&new.name, "Token name", MAX_NAME)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let wanted = new
        .default_product
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let already = || {
        AppError::conflict(
            "This form was already submitted: the token it created was shown once. Create another token if you need one.",
        )
    };
    let taken = || {
        AppError::conflict(format!(
            "A gateway token called \"{name}\" is already in use in {}. Choose another name, or revoke that token first.",
            org.name
        ))
    };
    write_transaction(conn, |conn| {
        if let Some(nonce) = nonce
            && nonces::earlier_result(conn, nonce)?.is_some()
        {
            return Err(already());
        }
        // The role is read inside the transaction: a demotion a moment ago counts.
        policy::org(
            role_of(conn, &org.id, user_id)?,
            OrgAction::ManageGatewayTokens,
        )?;
        let product = match &wanted {
            None => None,
            Some(slug) => {
                let p = products::find_by_slug(conn, &org.id, slug)?.ok_or_else(|| {
                    AppError::invalid(format!(
                        "There is no product \"{slug}\" in {}: choose one of its products, or none.",
                        org.name
                    ))
                })?;
                if p.archived_at.is_some() {
                    return Err(AppError::invalid(format!(
                        "{} is archived: choose a live product, or none.",
                        p.name
                    )));
                }
                Some(p)
            }
        };
        if gateway_tokens::live_name_taken(conn, &org.id, &name)? {
            return Err(taken());
        }
        let secret = PlainSecret::generate(issuer.prefix, Kind::GatewayToken);
        let token = GatewayToken {
            id: new_id(),
            org_id: org.id.clone(),
            name: name.clone(),
            token_hash: issuer.hasher.hash(secret.expose()),
            prefix: secret.prefix().to_string(),
            last4: secret.last4().to_string(),
            default_product_id: product.as_ref().map(|p| p.id.clone()),
            created_by: user_id.to_string(),
            created_at: ctx.now,
            last_used_at: None,
            revoked_at: None,
        };
        gateway_tokens::insert(conn, &token).map_err(|e| {
            // A concurrent creation took the name between the check and the insert.
            if is_unique_violation(&e) {
                taken()
            } else {
                e.into()
            }
        })?;
        if let Some(nonce) = nonce {
            nonces::record(conn, ctx, FORM_KIND, user_id, nonce, &token.id).map_err(|e| {
                if is_unique_violation(&e) {
                    already()
                } else {
                    e.into()
                }
            })?;
        }
        let mut detail = format!("{} ({}…{})", token.name, token.prefix, token.last4);
        if let Some(p) = &product {
            detail.push_str(&format!("; default product: {}", p.name));
        }
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "gateway_token.created",
            Some(&format!("gateway_token:{}", token.id)),
            &detail,
        )?;
        Ok((token, secret))
    })
}

/// The tokens' default products, looked up for a page of them at once.
fn with_products(
    conn: &mut DbConnection,
    org_id: &str,
    page: Page<GatewayToken>,
) -> AppResult<Page<Listed>> {
    let mut ids: Vec<String> = page
        .items
        .iter()
        .filter_map(|t| t.default_product_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let found = if ids.is_empty() {
        Vec::new()
    } else {
        gateway_tokens::default_products(conn, org_id, &ids)?
    };
    Ok(page.map(|token| {
        let default_product = token.default_product_id.as_ref().and_then(|id| {
            found
                .iter()
                .find(|(pid, ..)| pid == id)
                .map(|(_, slug, name, archived)| DefaultProduct {
                    slug: slug.clone(),
                    name: name.clone(),
                    archived: *archived,
                })
        });
        Listed {
            token,
            default_product,
        }
    }))
}

/// One page of the organisation's tokens, revoked ones included (the caller has
/// asked the policy for `ManageGatewayTokens`).
pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    window: &Window,
    newest_first: bool,
) -> AppResult<Page<Listed>> {
    let page = gateway_tokens::page(conn, org_id, window, newest_first)?;
    with_products(conn, org_id, page)
}

/// One token of the organisation; 404 for an id it does not hold (the caller has
/// asked the policy with [`policy::gateway_token`]).
pub fn get(conn: &mut DbConnection, org_id: &str, id: &str) -> AppResult<Listed> {
    let token = gateway_tokens::find(conn, org_id, id)?.ok_or(AppError::NotFound)?;
    let page = Page {
        items: vec![token],
        next: None,
        prev: None,
    };
    with_products(conn, org_id, page)?
        .items
        .pop()
        .ok_or(AppError::NotFound)
}

/// Revokes a token of `org_id` at once, as `user_id`: 404 for a token the
/// organisation does not hold or the user may not see, 409 when it is already revoked.
pub fn revoke(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
    id: &str,
) -> AppResult<GatewayToken> {
    write_transaction(conn, |conn| {
        policy::gateway_token(role_of(conn, org_id, user_id)?)?;
        let token = gateway_tokens::find(conn, org_id, id)?.ok_or(AppError::NotFound)?;
        if token.revoked_at.is_some() || !gateway_tokens::revoke(conn, org_id, id, ctx.now)? {
            return Err(AppError::conflict("This gateway token is already revoked."));
        }
        audit::record(
            conn,
            ctx,
            Some(org_id),
            "gateway_token.revoked",
            Some(&format!("gateway_token:{}", token.id)),
            &format!("{} ({}…{})", token.name, token.prefix, token.last4),
        )?;
        Ok(token)
    })
}
