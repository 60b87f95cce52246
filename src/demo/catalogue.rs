//! The demo organisation's API products: real Markdown documentation and an OpenAPI
//! 3.1 reference for each live one, as data (rendered and compiled by [`prepare`]
//! before the demo's database work, then stored by the product services).

use crate::error::{AppError, AppResult};
use crate::openapi::Compiled;
use crate::services::products::{ProductForm, RenderedDocs};

/// One product as an admin would type it into the product form.
#[derive(Debug, Clone, Copy)]
pub struct DemoProduct {
    pub name: &'static str,
    pub slug: &'static str,
    pub summary: &'static str,
    pub docs_markdown: &'static str,
    /// The product's OpenAPI 3.1 document (JSON), if it has one.
    pub openapi_json: Option<&'static str>,
    /// `auto` or `manual`.
    pub approval_mode: &'static str,
    pub quota: Option<(&'static str, &'static str)>,
    pub rate_limit_per_second: Option<&'static str>,
    pub max_credential_lifetime_days: Option<&'static str>,
    pub scopes: &'static str,
}

impl DemoProduct {
    /// The product form as submitted.
    pub fn form(&self) -> ProductForm {
        ProductForm {
            name: self.name.into(),
            slug: self.slug.into(),
            summary: self.summary.into(),
            docs_markdown: self.docs_markdown.into(),
            visibility: "members".into(),
            teams: String::new(),
            approval_mode: self.approval_mode.into(),
            quota_limit: self.quota.map(|(n, _)| n.into()).unwrap_or_default(),
            quota_period: self.quota.map(|(_, p)| p.into()).unwrap_or_default(),
            rate_limit_per_second: self.rate_limit_per_second.unwrap_or_default().into(),
            max_credential_lifetime_days: self
                .max_credential_lifetime_days
                .unwrap_or_default()
                .into(),
            scopes: self.scopes.into(),
        }
    }
}

/// A product's documentation rendered and its reference compiled.
pub struct Prepared {
    pub docs: RenderedDocs,
    pub reference: Option<Compiled>,
}

/// Every product of [`PRODUCTS`], rendered and compiled, in the same order.
pub fn prepare() -> AppResult<Vec<Prepared>> {
    PRODUCTS
        .iter()
        .map(|p| {
            let reference = p
                .openapi_json
                .map(crate::openapi::compile)
                .transpose()
                .map_err(AppError::Invalid)?;
            Ok(Prepared {
                docs: RenderedDocs::render(&p.docs_markdown.replace("\r\n", "\n")),
                reference,
            })
        })
        .collect()
}

/// Index of each product in [`PRODUCTS`].
pub const PAYMENTS: usize = 0;
pub const ORDERS: usize = 1;
pub const CUSTOMERS: usize = 2;
pub const SHIPPING: usize = 3;
pub const CATALOG_V1: usize = 4;

/// Every product, in the order they are published. Catalog v1 is archived later.
pub const PRODUCTS: [DemoProduct; 5] = [
    DemoProduct {
        name: "Payments API",
        slug: "payments",
        summary: "Authorise, capture and refund card and bank payments.",
        docs_markdown: include_str!("docs/payments.md"),
        openapi_json: Some(include_str!("openapi/payments.json")),
        approval_mode: "manual",
        quota: Some(("1000000", "month")),
        rate_limit_per_second: Some("50"),
        max_credential_lifetime_days: Some("365"),
        scopes: "payments:read payments:write refunds:write",
    },
    DemoProduct {
        name: "Orders API",
        slug: "orders",
        summary: "Create orders and follow them from the warehouse to the customer's door.",
        docs_markdown: include_str!("docs/orders.md"),
        openapi_json: Some(include_str!("openapi/orders.json")),
        approval_mode: "auto",
        quota: None,
        rate_limit_per_second: Some("100"),
        max_credential_lifetime_days: None,
        scopes: "orders:read orders:write webhooks:write",
    },
    DemoProduct {
        name: "Customer Profiles API",
        slug: "customers",
        summary: "Read and update customer profiles; personal data, approved case by case.",
        docs_markdown: include_str!("docs/customers.md"),
        openapi_json: Some(include_str!("openapi/customers.json")),
        approval_mode: "manual",
        quota: Some(("200000", "day")),
        rate_limit_per_second: Some("20"),
        max_credential_lifetime_days: Some("180"),
        scopes: "customers:read customers:write",
    },
    DemoProduct {
        name: "Shipping Rates API",
        slug: "shipping",
        summary: "Quote delivery options, buy labels and track parcels.",
        docs_markdown: include_str!("docs/shipping.md"),
        openapi_json: Some(include_str!("openapi/shipping.json")),
        approval_mode: "auto",
        quota: None,
        rate_limit_per_second: Some("200"),
        max_credential_lifetime_days: None,
        scopes: "",
    },
    DemoProduct {
        name: "Catalog API v1",
        slug: "catalog-v1",
        summary: "Retired: the product catalogue now lives in the Orders API.",
        docs_markdown: include_str!("docs/catalog-v1.md"),
        openapi_json: None,
        approval_mode: "auto",
        quota: Some(("10000", "day")),
        rate_limit_per_second: Some("10"),
        max_credential_lifetime_days: None,
        scopes: "",
    },
];

/// Public keys (Ed25519 and EC P-256, PEM) that the demo's JWT apps register. Only
/// the public halves exist: nobody can sign with them.
pub const JWT_PUBLIC_KEYS: [&str; 7] = [
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAbuNEHK9OYnxmSvIk7J1LbCnAzzxdBebNRunK4q9tl9Q=\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAY+1/h1NiAlw41TzCKRiYtj/cySex/gXpEIdZVmkt0I8=\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAnICyGRxRDIomcEmkAkgwW8jhjq0lk9Nj9hT1HdIBNmY=\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpNQGzwLzluV/ruQhFw9OMgzILOlR\naCPiBfoE5rlLHmVl/qGzYC8rAz1BO5zWR0y8obbnLinQZHpXESKNL4VjDA==\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAOnJKomQEUP1qSfmaq43INFLOiZfC5bkAgMWYO48r8Nw=\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA7A0ammctjH0vA50lZN+w6y6j/G1aMnH8IuKEtpGN/AU=\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAQ4uZS//5NNZAThXQou3POp7KX+FAWQHme9plBYtLLxc=\n-----END PUBLIC KEY-----\n",
];
