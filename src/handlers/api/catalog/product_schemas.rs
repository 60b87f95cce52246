//! The request and response bodies of the product endpoints, and how a stored
//! product is shown.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::stored;
use crate::api_list;
use crate::error::AppResult;
use crate::handlers::api::support::{self, Time};
use crate::models::products as product_model;

/// How requests for a product are decided when the organisation's approval mode is
/// `conditional` (the default): `auto` approves at once, `manual` waits for an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalMode {
    Auto,
    Manual,
}

impl ApprovalMode {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Manual => "manual",
        }
    }
}

/// Who sees a product: every member, or only the members of its `teams`
/// (organisation admins see every product).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProductVisibility {
    Members,
    Teams,
}

impl ProductVisibility {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::Teams => "teams",
        }
    }
}

/// The period a product's quota counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    Minute,
    Hour,
    Day,
    Month,
}

impl QuotaPeriod {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Month => "month",
        }
    }
}

/// An API product as lists show it (without its documentation).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    pub id: String,
    /// Names the product in links and in subscription requests; it does not change.
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub visibility: ProductVisibility,
    /// The ids of the teams that see the product when `visibility` is `teams`.
    pub teams: Vec<String>,
    pub approval_mode: ApprovalMode,
    /// Requests per `quota_period`; `null`: no quota.
    pub quota_limit: Option<i64>,
    pub quota_period: Option<QuotaPeriod>,
    /// `null`: no rate limit.
    pub rate_limit_per_second: Option<i64>,
    /// The longest a credential of a subscribed app may live; `null`: no cap.
    pub max_credential_lifetime_days: Option<i64>,
    pub scopes: Vec<String>,
    /// Archived products take no new subscriptions; existing ones keep working.
    pub archived: bool,
    pub archived_at: Option<Time>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// An API product with its documentation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetailOut {
    #[serde(flatten)]
    pub product: ProductOut,
    /// The documentation, in Markdown.
    pub docs_markdown: String,
    /// Developers see an API reference, built from an OpenAPI document, on the
    /// product's page.
    pub has_api_reference: bool,
}

api_list!(ProductList, ProductOut);

pub(super) fn product_summary(
    p: &product_model::Product,
    mut teams: Vec<String>,
) -> AppResult<ProductOut> {
    teams.sort();
    Ok(ProductOut {
        id: p.id.clone(),
        slug: p.slug.clone(),
        name: p.name.clone(),
        summary: p.summary.clone(),
        visibility: stored(&p.visibility)?,
        teams,
        approval_mode: stored(&p.approval_mode)?,
        quota_limit: p.quota_limit,
        quota_period: p.quota_period.as_deref().map(stored).transpose()?,
        rate_limit_per_second: p.rate_limit_per_second,
        max_credential_lifetime_days: p.max_credential_lifetime_seconds.map(|s| s / 86_400),
        scopes: p.scopes.split_whitespace().map(str::to_string).collect(),
        archived: p.archived_at.is_some(),
        archived_at: support::opt_time(p.archived_at),
        created_at: support::time(p.created_at),
        updated_at: support::time(p.updated_at),
    })
}

pub(super) fn product_full(
    p: &product_model::Product,
    teams: Vec<String>,
) -> AppResult<ProductDetailOut> {
    Ok(ProductDetailOut {
        product: product_summary(p, teams)?,
        docs_markdown: p.docs_markdown.clone(),
        has_api_reference: p.openapi_json.is_some(),
    })
}

/// A new product. Only `name` and `approval_mode` are required.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewProductIn {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// 2 to 40 of a–z, 0–9 and `-`; made from the name when left out. It does not
    /// change later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 2,
        max_length = 40,
        pattern = "^[a-z0-9][a-z0-9-]*[a-z0-9]$"
    )]
    pub slug: Option<String>,
    pub approval_mode: ApprovalMode,
    /// One line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 300)]
    pub summary: Option<String>,
    /// Markdown, at most 200 000 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200000)]
    pub docs_markdown: Option<String>,
    /// An OpenAPI 3.0 or 3.1 document (JSON or YAML text, at most 1 MiB), shown to
    /// developers as the product's API reference. One that does not check is refused
    /// (422, every problem listed) and nothing is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1048576)]
    pub openapi: Option<String>,
    /// `members` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<ProductVisibility>,
    /// Team ids; required (at least one) when `visibility` is `teams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100)]
    pub teams: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000000000_i64)]
    pub quota_limit: Option<i64>,
    /// Required with `quota_limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_period: Option<QuotaPeriod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub rate_limit_per_second: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub max_credential_lifetime_days: Option<i64>,
    /// Words of letters, digits and `: . _ - /`, at most 64 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 50)]
    pub scopes: Option<Vec<String>>,
}

/// `Some(value)` for a field that was sent, even as `null` (PATCH: `null` clears).
fn sent<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a product: fields left out (or `null`, where a field cannot be empty)
/// keep their values; `null` clears the quota, rate limit and lifetime cap.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ProductUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The slug does not change; when sent, it must be the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 40)]
    pub slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_mode: Option<ApprovalMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 300)]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200000)]
    pub docs_markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<ProductVisibility>,
    /// Team ids; they count only while `visibility` is `teams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100)]
    pub teams: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "sent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000000000_i64)]
    pub quota_limit: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "sent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<QuotaPeriod>)]
    pub quota_period: Option<Option<QuotaPeriod>>,
    #[serde(
        default,
        deserialize_with = "sent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub rate_limit_per_second: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "sent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    pub max_credential_lifetime_days: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 50)]
    pub scopes: Option<Vec<String>>,
    /// A new OpenAPI 3.0 or 3.1 document (JSON or YAML text, at most 1 MiB) for the
    /// API reference; `null` removes the reference.
    #[serde(
        default,
        deserialize_with = "sent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 1048576)]
    pub openapi: Option<Option<String>>,
}
