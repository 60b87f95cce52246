//! Consumer apps and their credentials: create (revealing the secret once), edit,
//! rotate with an overlap, reset, retire, add and remove JWT keys, revoke, delete,
//! transfer — each change in one transaction with its audit entry. Illegal
//! transitions are 409s with a reason, never silent no-ops.

use chrono::{Duration, NaiveDateTime};

use crate::auth::policy::{AppRelation, TeamRole};
use crate::credentials::{Kind, PlainSecret, SecretHasher};
use crate::crypto::random_base62;
use crate::db::{DbConnection, is_unique_violation, lock_app, write_transaction};
use crate::error::{AppError, AppResult};
use crate::models::apps::{self, App, Credential};
use crate::models::new_id;
use crate::models::orgs::Organisation;
use crate::models::products::Product;
use crate::models::teams;
use crate::models::users::User;
use crate::public_keys::PublicKey;
use crate::services::{Ctx, audit, nonces, subscriptions};
use crate::validate;

mod allowlist;
mod create;
mod keys;
mod lifecycle;

pub use allowlist::{AllowlistChange, set_allowed_ips};
pub use create::{Creation, create, form_kind};
pub use keys::{
    Rotation, add_public_key, apply_lifetime_cap, lifetime_cap, retire_credential, rotate,
    rotate_form_kind,
};
pub(crate) use lifecycle::suspend_personal_apps;
pub use lifecycle::{delete, revoke, transfer, update};

/// How an app authenticates; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    ApiKey,
    OAuth2,
    Jwt,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::OAuth2 => "oauth2",
            Self::Jwt => "jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api_key" => Some(Self::ApiKey),
            "oauth2" => Some(Self::OAuth2),
            "jwt" => Some(Self::Jwt),
            _ => None,
        }
    }

    /// The credential kind this app type rotates.
    fn credential_kind(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::OAuth2 => "client_secret",
            Self::Jwt => "public_key",
        }
    }
}

/// Who owns an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User(String),
    Team(String),
}

impl Owner {
    pub fn of(app: &App) -> Option<Owner> {
        match (&app.owner_user_id, &app.owner_team_id) {
            (Some(u), None) => Some(Owner::User(u.clone())),
            (None, Some(t)) => Some(Owner::Team(t.clone())),
            _ => None,
        }
    }

    fn columns(&self) -> (Option<String>, Option<String>) {
        match self {
            Owner::User(u) => (Some(u.clone()), None),
            Owner::Team(t) => (None, Some(t.clone())),
        }
    }

    fn describe(&self) -> String {
        match self {
            Owner::User(u) => format!("user:{u}"),
            Owner::Team(t) => format!("team:{t}"),
        }
    }
}

/// The editable details of an app, checked.
#[derive(Debug, Clone)]
pub struct AppDetails {
    pub name: String,
    pub description: String,
    pub callback_urls: Vec<String>,
}

/// Checks name, description and callback URLs; every problem is reported.
pub fn check_details(
    name: &str,
    description: &str,
    callback_urls: &str,
) -> Result<AppDetails, Vec<String>> {
    let mut errors = Vec::new();
    let name = validate::name(name, "App name", 100)
        .map_err(|e| errors.push(e))
        .ok();
    let description = description.trim();
    if description.chars().count() > 2000 {
        errors.push("Description must be at most 2000 characters.".into());
    }
    if description
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push("Description must not contain control characters.".into());
    }
    let urls = parse_callback_urls(callback_urls)
        .map_err(|e| errors.push(e))
        .ok();
    match (name, urls) {
        (Some(name), Some(callback_urls)) if errors.is_empty() => Ok(AppDetails {
            name,
            description: description.replace("\r\n", "\n"),
            callback_urls,
        }),
        _ => Err(errors),
    }
}

/// One URL per line: absolute `https://`, or `http://` only for localhost.
pub fn parse_callback_urls(raw: &str) -> Result<Vec<String>, String> {
    let mut urls = Vec::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.len() > 2000 || line.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("Callback URL {line:?} is not valid."));
        }
        let (https, rest) = if let Some(r) = line.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "Callback URL {line:?} must be an absolute https:// URL."
            ));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(format!(
                "Callback URL {line:?} must not hold a user name or password before the host (user@host): it hides which host the URL goes to."
            ));
        }
        let host = authority;
        let host_only = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or("").to_string()
        };
        if host_only.is_empty() || line.contains('#') {
            return Err(format!(
                "Callback URL {line:?} must name a host and have no #fragment."
            ));
        }
        let local = matches!(host_only.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        if !https && !local {
            return Err(format!(
                "Callback URL {line:?} must use https:// (http:// is allowed only for localhost)."
            ));
        }
        if !urls.iter().any(|u| u == line) {
            urls.push(line.to_string());
        }
    }
    if urls.len() > 20 {
        return Err("At most 20 callback URLs.".into());
    }
    Ok(urls)
}

/// Makes secrets for this instance.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    pub prefix: &'a str,
    pub hasher: &'a SecretHasher,
}

/// What the one revealing response shows.
#[derive(Debug, Clone)]
pub enum Revealed {
    ApiKey {
        key: PlainSecret,
    },
    ClientSecret {
        client_id: String,
        secret: PlainSecret,
    },
    PublicKey {
        client_id: String,
    },
}

/// A new app as asked for in the form.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub details: AppDetails,
    /// Products to subscribe to at once, with a note to the approver.
    pub products: Vec<Product>,
    pub note: String,
    pub auth_type: AuthType,
    pub owner: Owner,
    pub label: String,
    pub public_key: Option<PublicKey>,
}

/// The result of a create request.
#[derive(Debug)]
pub enum Created {
    New {
        app: App,
        revealed: Revealed,
    },
    /// The form was submitted before; this is the app it created.
    Replayed {
        app: Option<App>,
    },
}

fn secret_credential(
    app_id: &str,
    kind: Kind,
    label: &str,
    issuer: Issuer<'_>,
    now: NaiveDateTime,
) -> (Credential, PlainSecret) {
    let secret = PlainSecret::generate(issuer.prefix, kind);
    let cred = Credential {
        id: new_id(),
        app_id: app_id.to_string(),
        kind: match kind {
            Kind::ClientSecret => "client_secret",
            _ => "api_key",
        }
        .to_string(),
        label: label.to_string(),
        secret_hash: Some(issuer.hasher.hash(secret.expose())),
        prefix: secret.prefix().to_string(),
        last4: secret.last4().to_string(),
        public_key: None,
        created_at: now,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
        allowed_ips: String::new(),
    };
    (cred, secret)
}

fn key_credential(app_id: &str, key: &PublicKey, label: &str, now: NaiveDateTime) -> Credential {
    Credential {
        id: new_id(),
        app_id: app_id.to_string(),
        kind: "public_key".into(),
        label: label.to_string(),
        secret_hash: None,
        prefix: key.key_type.label().to_string(),
        last4: key.last4(),
        public_key: Some(key.text.clone()),
        created_at: now,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
        allowed_ips: String::new(),
    }
}

fn check_label(label: &str) -> AppResult<String> {
    let label = label.trim();
    if label.chars().count() > 60 || label.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "A credential label must be at most 60 characters, without control characters.",
        ));
    }
    Ok(label.to_string())
}

fn ensure_name_free(
    conn: &mut DbConnection,
    org_id: &str,
    owner: &Owner,
    name: &str,
    except: Option<&str>,
) -> AppResult<()> {
    let (user, team) = owner.columns();
    if apps::name_taken(conn, org_id, user.as_deref(), team.as_deref(), name, except)? {
        return Err(AppError::conflict(format!(
            "This owner already has an app called \"{name}\". Choose another name."
        )));
    }
    Ok(())
}

/// Refuses changes to revoked apps (409) and hides deleted ones (404).
pub fn require_changeable(app: &App) -> AppResult<()> {
    match app.status.as_str() {
        "revoked" => Err(AppError::conflict(
            "This app is revoked: it cannot be changed. Create a new app instead.",
        )),
        "deleted" => Err(AppError::NotFound),
        _ => Ok(()),
    }
}

/// Locks the app's row and reads its current state: every change starts here, so
/// concurrent changes to one app (a revoke racing a rotation, say) run one after the
/// other and each sees what the previous one did.
fn reload(conn: &mut DbConnection, app: &App) -> AppResult<App> {
    lock_app(conn, &app.id)?;
    apps::find_in_org(conn, &app.org_id, &app.id)?.ok_or(AppError::NotFound)
}

fn audit_app(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    action: &str,
    detail: &str,
) -> AppResult<()> {
    audit::record(
        conn,
        ctx,
        Some(&app.org_id),
        action,
        Some(&format!("app:{}", app.id)),
        detail,
    )?;
    Ok(())
}

/// Reason given to apps suspended because their owner left the organisation.
pub const OWNER_LEFT: &str = "owner left";

/// How `user_id` stands to `app`.
pub fn relation(conn: &mut DbConnection, app: &App, user_id: &str) -> AppResult<AppRelation> {
    if app.owner_user_id.as_deref() == Some(user_id) {
        return Ok(AppRelation::Owner);
    }
    if let Some(team_id) = &app.owner_team_id
        && let Some(m) = teams::member(conn, team_id, user_id)?
    {
        return Ok(match TeamRole::parse(&m.role) {
            Some(TeamRole::Admin) => AppRelation::TeamAdmin,
            _ => AppRelation::TeamMember,
        });
    }
    Ok(AppRelation::Stranger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls_must_be_https_except_localhost() {
        assert_eq!(
            parse_callback_urls(
                "https://app.example.com/cb\n\nhttp://localhost:3000/cb\nhttp://127.0.0.1/cb"
            )
            .unwrap()
            .len(),
            3
        );
        for bad in [
            "http://app.example.com/cb",
            "ftp://x",
            "app.example.com",
            "https:///cb",
            "https://x.com/a b",
            "https://x.com/#frag",
            "http://localhost.evil.com/cb",
            "https://evil@x.example/",
            "https://user:pass@x.example/cb",
            "https://x.example@evil.example/cb",
            "http://localhost@evil.example/cb",
        ] {
            assert!(parse_callback_urls(bad).is_err(), "{bad}");
        }
        assert!(parse_callback_urls("").unwrap().is_empty());
        let message = parse_callback_urls("https://evil@x.example/").unwrap_err();
        assert!(message.contains("user name or password"), "{message}");
        // An @ after the host (in the path or query) is only data.
        assert!(parse_callback_urls("https://x.example/cb?to=a@b.example").is_ok());
    }
}
