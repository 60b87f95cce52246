//! Gatehouse: a self-hosted developer portal and credential authority for APIs.
//!
//! Data flows one way: route → handler → service → model → database. The binary in
//! `main.rs` is a thin CLI over this library; the integration tests use it too.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod handlers;
pub mod jobs;
pub mod mail;
pub mod markdown;
pub mod methods;
pub mod middleware;
pub mod models;
pub mod openapi;
pub mod public_keys;
pub mod routes;
pub mod services;
pub mod signing;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod validate;
pub mod verify;
pub mod web;
pub mod when;
pub mod wording;
