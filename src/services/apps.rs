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
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
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
    };
    (cred, secret)
}

fn key_credential(app_id: &str, key: &PublicKey, label: &str, now: NaiveDateTime) -> Credential {
    let compact: String = key.text.chars().filter(|c| !c.is_whitespace()).collect();
    let last4 = compact
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Credential {
        id: new_id(),
        app_id: app_id.to_string(),
        kind: "public_key".into(),
        label: label.to_string(),
        secret_hash: None,
        prefix: key.key_type.label().to_string(),
        last4,
        public_key: Some(key.text.clone()),
        created_at: now,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
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

const FORM_KIND: &str = "new-app";

/// Inside `create`'s transaction: a real error, or "this form was already used".
enum CreateError {
    App(AppError),
    Replay,
}

impl From<AppError> for CreateError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::App(e.into())
    }
}

/// Creates an app with its first credential. `nonce` makes the form single-use.
#[allow(clippy::too_many_arguments)]
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org: &Organisation,
    requester: &User,
    issuer: Issuer<'_>,
    nonce: &str,
    new: NewApp,
    public_base: &str,
) -> AppResult<Created> {
    let actor_id = requester.id.as_str();
    let label = check_label(&new.label)?;
    if (new.auth_type == AuthType::Jwt) != new.public_key.is_some() {
        return Err(AppError::bad_request(
            "JWT apps need a public key; other apps take none.",
        ));
    }
    let replayed = |conn: &mut DbConnection| -> AppResult<Created> {
        let earlier = nonces::earlier_result(conn, nonce)?.flatten();
        let app = match earlier {
            Some(id) => apps::find_in_org(conn, &org.id, &id)?,
            None => None,
        };
        Ok(Created::Replayed { app })
    };
    let result = write_transaction(conn, |conn| -> Result<Created, CreateError> {
        if nonces::earlier_result(conn, nonce)?.is_some() {
            return Err(CreateError::Replay);
        }
        ensure_name_free(conn, &org.id, &new.owner, &new.details.name, None)?;
        let (owner_user_id, owner_team_id) = new.owner.columns();
        let client_id = (new.auth_type != AuthType::ApiKey)
            .then(|| format!("{}_cid_{}", issuer.prefix, random_base62(22)));
        let app = App {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: org.id.clone(),
            owner_user_id,
            owner_team_id,
            name: new.details.name.clone(),
            description: new.details.description.clone(),
            callback_urls: new.details.callback_urls.join("\n"),
            auth_type: new.auth_type.as_str().to_string(),
            client_id: client_id.clone(),
            status: "active".into(),
            status_reason: String::new(),
            created_by: actor_id.to_string(),
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        apps::insert(conn, &app).map_err(|e| {
            if is_unique_violation(&e) {
                CreateError::App(AppError::conflict(format!(
                    "This owner already has an app called \"{}\". Choose another name.",
                    app.name
                )))
            } else {
                e.into()
            }
        })?;
        let revealed = match (new.auth_type, &new.public_key, client_id) {
            (AuthType::ApiKey, _, _) => {
                let (cred, key) = secret_credential(&app.id, Kind::ApiKey, &label, issuer, ctx.now);
                apps::insert_credential(conn, &cred)?;
                Revealed::ApiKey { key }
            }
            (AuthType::OAuth2, _, Some(client_id)) => {
                let (cred, secret) =
                    secret_credential(&app.id, Kind::ClientSecret, &label, issuer, ctx.now);
                apps::insert_credential(conn, &cred)?;
                Revealed::ClientSecret { client_id, secret }
            }
            (AuthType::Jwt, Some(key), Some(client_id)) => {
                apps::insert_credential(conn, &key_credential(&app.id, key, &label, ctx.now))?;
                Revealed::PublicKey { client_id }
            }
            _ => return Err(AppError::internal("inconsistent new app").into()),
        };
        nonces::record(conn, ctx, FORM_KIND, actor_id, nonce, &app.id).map_err(|e| {
            if is_unique_violation(&e) {
                CreateError::Replay
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            ctx,
            Some(&org.id),
            "app.created",
            Some(&format!("app:{}", app.id)),
            &format!(
                "{} ({}), owner {}",
                app.name,
                app.auth_type,
                new.owner.describe()
            ),
        )?;
        // Subscriptions chosen on the form; any that waits for an admin makes the new
        // app pending.
        let mut app = app;
        let mut pending = false;
        for product in &new.products {
            let sub = subscriptions::request_in_tx(
                conn,
                ctx,
                org,
                &app,
                product,
                requester,
                &new.note,
                public_base,
            )?;
            pending |= sub.status == "pending";
        }
        if pending {
            app.status = "pending".into();
            apps::save(conn, &app)?;
        }
        apply_lifetime_cap(conn, ctx, &app.id)?;
        Ok(Created::New { app, revealed })
    });
    match result {
        Ok(created) => Ok(created),
        // Submitted before (or concurrently, and the other submission won).
        Err(CreateError::Replay) => replayed(conn),
        // A concurrent submission of the same form may have won the race on another
        // constraint (the app's name); if it recorded this nonce, it is a replay.
        Err(CreateError::App(e)) => match nonces::earlier_result(conn, nonce)? {
            Some(_) => replayed(conn),
            None => Err(e),
        },
    }
}

/// The form kind whose nonces `create` consumes.
pub fn form_kind() -> &'static str {
    FORM_KIND
}

const ROTATE_KIND: &str = "rotate";

/// The form kind whose nonces `rotate` consumes.
pub fn rotate_form_kind() -> &'static str {
    ROTATE_KIND
}

/// The smallest maximum credential lifetime among the app's approved products.
pub fn lifetime_cap(conn: &mut DbConnection, app_id: &str) -> AppResult<Option<Duration>> {
    Ok(crate::models::products::subscriptions_of(conn, app_id)?
        .into_iter()
        .filter(|(s, _)| s.status == "approved")
        .filter_map(|(_, p)| p.max_credential_lifetime_seconds)
        .min()
        .and_then(Duration::try_seconds))
}

/// Caps the app's working keys and secrets at its products' smallest maximum
/// lifetime (counted from now; an earlier expiry stays). Called whenever an approved
/// subscription appears, in the same transaction.
pub fn apply_lifetime_cap(conn: &mut DbConnection, ctx: &Ctx, app_id: &str) -> AppResult<()> {
    let Some(cap) = lifetime_cap(conn, app_id)? else {
        return Ok(());
    };
    let until = ctx.now + cap;
    for cred in apps::credentials_of(conn, app_id)? {
        if cred.kind != "public_key" && cred.state(ctx.now).is_usable() {
            let expiry = cred.expires_at.map_or(until, |at| at.min(until));
            apps::set_credential_expiry(conn, &cred.id, Some(expiry))?;
        }
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

/// Rotates an API key or client secret: a new one (revealed once) and the old ones
/// kept working for `overlap` (none: revoked at once — that is *reset*).
#[allow(clippy::too_many_arguments)]
pub fn rotate(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    issuer: Issuer<'_>,
    nonce: &str,
    overlap: Duration,
    max_overlap: Duration,
    label: &str,
) -> AppResult<Revealed> {
    let label = check_label(label)?;
    if overlap < Duration::zero() {
        return Err(AppError::bad_request("The overlap cannot be negative."));
    }
    let auth_type =
        AuthType::parse(&app.auth_type).ok_or_else(|| AppError::internal("unknown auth type"))?;
    if auth_type == AuthType::Jwt {
        return Err(AppError::conflict(
            "JWT apps rotate by adding a new public key and then removing the old one.",
        ));
    }
    let already = || {
        AppError::conflict(
            "This rotation was already done: its new secret was shown once and cannot be shown again. To get another, rotate again from the app page.",
        )
    };
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        if nonces::earlier_result(conn, nonce)?.is_some() {
            return Err(already());
        }
        // The overlap and the new credential's lifetime are capped by the smallest
        // maximum credential lifetime among the app's approved products.
        let product_cap = lifetime_cap(conn, &app.id)?;
        let cap = product_cap.map_or(max_overlap, |c| c.min(max_overlap));
        if overlap > cap {
            return Err(AppError::bad_request(format!(
                "The overlap can be at most {} hours for this app.",
                cap.num_hours()
            )));
        }
        let until = ctx.now + overlap;
        let mut kept = 0;
        for old in apps::credentials_of(conn, &app.id)? {
            if old.kind != auth_type.credential_kind() || !old.state(ctx.now).is_usable() {
                continue;
            }
            if overlap.is_zero() {
                apps::revoke_credential(conn, &old.id, ctx.now)?;
            } else {
                let expiry = old.expires_at.map_or(until, |at| at.min(until));
                apps::set_credential_expiry(conn, &old.id, Some(expiry))?;
                kept += 1;
            }
        }
        let kind = if auth_type == AuthType::ApiKey {
            Kind::ApiKey
        } else {
            Kind::ClientSecret
        };
        let (mut cred, secret) = secret_credential(&app.id, kind, &label, issuer, ctx.now);
        cred.expires_at = product_cap.map(|c| ctx.now + c);
        apps::insert_credential(conn, &cred)?;
        let actor = ctx.actor_id.clone().unwrap_or_default();
        nonces::record(conn, ctx, ROTATE_KIND, &actor, nonce, &cred.id).map_err(|e| {
            if is_unique_violation(&e) {
                already()
            } else {
                e.into()
            }
        })?;
        let detail = if overlap.is_zero() {
            "reset: old credentials revoked".to_string()
        } else {
            format!(
                "rotated: {kept} old credential(s) keep working for {} minutes",
                overlap.num_minutes()
            )
        };
        audit_app(
            conn,
            ctx,
            &app,
            if overlap.is_zero() {
                "credential.reset"
            } else {
                "credential.rotated"
            },
            &detail,
        )?;
        Ok(match auth_type {
            AuthType::ApiKey => Revealed::ApiKey { key: secret },
            _ => Revealed::ClientSecret {
                client_id: app.client_id.clone().unwrap_or_default(),
                secret,
            },
        })
    })
}

/// Retires one credential now (the old one during an overlap, or an old JWT key).
/// The app keeps at least one working credential.
pub fn retire_credential(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    credential_id: &str,
) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        let creds = apps::credentials_of(conn, &app.id)?;
        let target = creds
            .iter()
            .find(|c| c.id == credential_id)
            .ok_or(AppError::NotFound)?;
        if !target.state(ctx.now).is_usable() {
            return Err(AppError::conflict(
                "This credential is already expired or revoked.",
            ));
        }
        if !apps::can_retire(&creds, credential_id, ctx.now) {
            return Err(AppError::conflict(
                if app.auth_type == AuthType::Jwt.as_str() {
                    "This is the app's last public key. Add a new key first, or revoke the app."
                } else {
                    "This is the app's current credential. Rotate it to get a new one, or revoke the app."
                },
            ));
        }
        apps::revoke_credential(conn, credential_id, ctx.now)?;
        audit_app(
            conn,
            ctx,
            &app,
            "credential.retired",
            &format!(
                "credential:{credential_id} ({}…{})",
                target.prefix, target.last4
            ),
        )?;
        Ok(())
    })
}

/// Registers another public key on a JWT app.
pub fn add_public_key(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    key: &PublicKey,
    label: &str,
) -> AppResult<()> {
    let label = check_label(label)?;
    if app.auth_type != AuthType::Jwt.as_str() {
        return Err(AppError::conflict("Only JWT apps register public keys."));
    }
    write_transaction(conn, |conn| {
        let app = reload(conn, app)?;
        require_changeable(&app)?;
        if apps::credentials_of(conn, &app.id)?.iter().any(|c| {
            c.state(ctx.now).is_usable() && c.public_key.as_deref() == Some(key.text.as_str())
        }) {
            return Err(AppError::conflict(
                "This public key is already registered on the app.",
            ));
        }
        let cred = key_credential(&app.id, key, &label, ctx.now);
        apps::insert_credential(conn, &cred)?;
        audit_app(
            conn,
            ctx,
            &app,
            "credential.key_added",
            &format!("{} key …{}", cred.prefix, cred.last4),
        )?;
        Ok(())
    })
}

/// Changes name, description, callback URLs and credential labels.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    app: &App,
    details: &AppDetails,
    labels: &[(String, String)],
) -> AppResult<()> {
    let labels = labels
        .iter()
        .map(|(id, l)| check_label(l).map(|l| (id.clone(), l)))
        .collect::<AppResult<Vec<_>>>()?;
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        require_changeable(&app)?;
        let owner = Owner::of(&app)
            .ok_or_else(|| AppError::conflict("This app has no owner; transfer it first."))?;
        ensure_name_free(conn, &app.org_id, &owner, &details.name, Some(&app.id))?;
        let creds = apps::credentials_of(conn, &app.id)?;
        for (id, label) in &labels {
            if !creds.iter().any(|c| &c.id == id) {
                return Err(AppError::bad_request(
                    "The form names a credential this app does not have.",
                ));
            }
            apps::set_credential_label(conn, id, label)?;
        }
        app.name = details.name.clone();
        app.description = details.description.clone();
        app.callback_urls = details.callback_urls.join("\n");
        app.updated_at = ctx.now;
        apps::save(conn, &app).map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict("This owner already has an app with that name.")
            } else {
                e.into()
            }
        })?;
        audit_app(conn, ctx, &app, "app.updated", &app.name)?;
        Ok(())
    })
}

/// Revokes the app: every credential stops working; it cannot be undone.
pub fn revoke(conn: &mut DbConnection, ctx: &Ctx, app: &App, reason: &str) -> AppResult<()> {
    let reason = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect::<String>();
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        if app.status == "revoked" {
            return Err(AppError::conflict("This app is already revoked."));
        }
        let n = apps::revoke_all_credentials(conn, &app.id, ctx.now)?;
        crate::models::products::cancel_live_subscriptions(conn, &app.id, ctx.now)?;
        app.status = "revoked".into();
        app.status_reason = reason.clone();
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        audit_app(
            conn,
            ctx,
            &app,
            "app.revoked",
            &format!(
                "{n} credential(s) revoked; reason: {}",
                if reason.is_empty() {
                    "none given"
                } else {
                    &reason
                }
            ),
        )?;
        Ok(())
    })
}

/// Deletes the app: credentials revoked at once, hidden everywhere, audit kept.
pub fn delete(conn: &mut DbConnection, ctx: &Ctx, app: &App) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        let n = apps::revoke_all_credentials(conn, &app.id, ctx.now)?;
        crate::models::products::cancel_live_subscriptions(conn, &app.id, ctx.now)?;
        app.status = "deleted".into();
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        audit_app(
            conn,
            ctx,
            &app,
            "app.deleted",
            &format!("{}; {n} credential(s) revoked", app.name),
        )?;
        Ok(())
    })
}

/// Moves the app to another owner.
pub fn transfer(conn: &mut DbConnection, ctx: &Ctx, app: &App, to: &Owner) -> AppResult<()> {
    write_transaction(conn, |conn| {
        let mut app = reload(conn, app)?;
        require_changeable(&app)?;
        if Owner::of(&app).as_ref() == Some(to) {
            return Err(AppError::conflict("The app already belongs to that owner."));
        }
        ensure_name_free(conn, &app.org_id, to, &app.name, Some(&app.id))?;
        let from = Owner::of(&app).map_or_else(|| "nobody".to_string(), |o| o.describe());
        (app.owner_user_id, app.owner_team_id) = to.columns();
        if app.status_reason == OWNER_LEFT {
            // Suspended only because its owner left: it works again under its new
            // owner. A pending or rejected app keeps its status.
            if app.status == "suspended" {
                app.status = "active".into();
            }
            app.status_reason = String::new();
        }
        app.updated_at = ctx.now;
        apps::save(conn, &app).map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict(
                    "The new owner already has an app with this name. Rename it first.",
                )
            } else {
                e.into()
            }
        })?;
        audit_app(
            conn,
            ctx,
            &app,
            "app.transferred",
            &format!("{from} → {}", to.describe()),
        )?;
        Ok(())
    })
}

/// Reason given to apps suspended because their owner left the organisation.
pub const OWNER_LEFT: &str = "owner left";

/// Suspends a departing member's personal apps, inside the caller's transaction.
pub(crate) fn suspend_personal_apps(
    conn: &mut DbConnection,
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
) -> AppResult<usize> {
    let mut n = 0;
    for mut app in apps::personal_live(conn, org_id, user_id)? {
        // Already marked, or suspended by an admin (whose reason stays).
        if app.status_reason == OWNER_LEFT || app.status == "suspended" {
            continue;
        }
        // Active apps stop working; pending and rejected ones keep their status (a
        // transfer must never approve them) but are marked as orphaned all the same.
        let suspended = app.status == "active";
        if suspended {
            app.status = "suspended".into();
        }
        app.status_reason = OWNER_LEFT.into();
        app.updated_at = ctx.now;
        apps::save(conn, &app)?;
        let action = if suspended {
            "app.suspended"
        } else {
            "app.orphaned"
        };
        audit_app(conn, ctx, &app, action, OWNER_LEFT)?;
        n += 1;
    }
    teams::remove_from_org_teams(conn, org_id, user_id)?;
    Ok(n)
}

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
        ] {
            assert!(parse_callback_urls(bad).is_err(), "{bad}");
        }
        assert!(parse_callback_urls("").unwrap().is_empty());
    }
}
