//! The one integration-test binary: the real app over real HTTP, on SQLite by default
//! or PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_kit;
mod fixtures;
mod kit;

mod accounts;
mod allowlist;
mod api_apps;
mod api_catalog;
mod api_orgs;
mod api_policy;
mod api_tokens;
mod app_access;
mod apps;
mod changes;
mod concurrency;
mod demo;
mod docs_rendering;
mod email_flows;
mod ergonomics;
mod gateway_tokens;
mod input;
mod invitations;
mod layout;
mod link_tokens;
mod mail;
mod metrics;
mod names;
mod oauth;
mod oauth_crate;
mod orgs;
mod pages;
mod passwords;
mod policy;
mod product_reference;
mod products;
mod security;
mod seed_clients;
mod sessions;
mod system;
mod teams;
mod token_guide;
mod verify;
