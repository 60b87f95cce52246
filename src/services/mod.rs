//! The rules. Each public function takes a connection, runs its change in one
//! transaction together with its audit entry, and returns an `AppResult`.

pub mod account_activity;
pub mod accounts;
pub mod apps;
pub mod audit;
pub mod email;
pub mod expiry;
pub mod gateway_tokens;
pub mod instance;
pub mod invitations;
pub mod links;
pub mod nonces;
pub mod notifications;
pub mod oauth;
pub mod orgs;
pub mod outbox;
pub mod passwords;
pub mod products;
pub mod sessions;
pub mod subscriptions;
pub mod teams;
pub mod tokens;

use chrono::NaiveDateTime;

/// Who is acting, from where, and when: passed to every service that changes state.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The acting user; `None` for the system or the CLI.
    pub actor_id: Option<String>,
    /// Source address (after trusted-proxy resolution).
    pub ip: Option<String>,
    pub now: NaiveDateTime,
}

impl Ctx {
    pub fn system(now: NaiveDateTime) -> Self {
        Self {
            actor_id: None,
            ip: None,
            now,
        }
    }
}
