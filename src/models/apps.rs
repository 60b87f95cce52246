//! Consumer apps and their credentials.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{apps, credentials};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = apps, treat_none_as_null = true)]
pub struct App {
    pub id: String,
    pub org_id: String,
    pub owner_user_id: Option<String>,
    pub owner_team_id: Option<String>,
    pub name: String,
    pub description: String,
    /// One absolute URL per line.
    pub callback_urls: String,
    pub auth_type: String,
    pub client_id: Option<String>,
    pub status: String,
    pub status_reason: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub label: String,
    pub secret_hash: Option<String>,
    pub prefix: String,
    pub last4: String,
    pub public_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    /// CIDRs it may be used from, separated by spaces; empty: from anywhere.
    pub allowed_ips: String,
}

/// A credential's state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    Active,
    /// Has an expiry in the future (e.g. the old key during a rotation's overlap).
    Expiring,
    Expired,
    Revoked,
}

impl CredentialState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Still accepted (active or inside its overlap).
    pub fn is_usable(self) -> bool {
        matches!(self, Self::Active | Self::Expiring)
    }
}

impl Credential {
    pub fn state(&self, now: NaiveDateTime) -> CredentialState {
        if self.revoked_at.is_some() {
            CredentialState::Revoked
        } else {
            match self.expires_at {
                Some(at) if at <= now => CredentialState::Expired,
                Some(_) => CredentialState::Expiring,
                None => CredentialState::Active,
            }
        }
    }
}

/// May credential `id` be retired now? Only if another working credential lasts at
/// least as long (no expiry counts as forever): the old key of an overlap can go, the
/// new one cannot, and an app never loses its last working credential.
pub fn can_retire(creds: &[Credential], id: &str, now: NaiveDateTime) -> bool {
    let Some(target) = creds
        .iter()
        .find(|c| c.id == id && c.state(now).is_usable())
    else {
        return false;
    };
    creds
        .iter()
        .filter(|c| c.id != id && c.state(now).is_usable())
        .any(|c| match (c.expires_at, target.expires_at) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(other), Some(this)) => other >= this,
        })
}

/// Inserts an app with its lower-cased name (the key of name search and order).
pub fn insert(conn: &mut DbConnection, app: &App) -> QueryResult<()> {
    diesel::insert_into(apps::table)
        .values((app, apps::name_lower.eq(app.name.to_lowercase())))
        .execute(conn)
        .map(drop)
}

pub fn save(conn: &mut DbConnection, app: &App) -> QueryResult<usize> {
    diesel::update(apps::table.find(&app.id))
        .set((app, apps::name_lower.eq(app.name.to_lowercase())))
        .execute(conn)
}

pub fn find_in_org(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<App>> {
    apps::table
        .filter(apps::org_id.eq(org_id))
        .filter(apps::id.eq(id))
        .filter(apps::status.ne("deleted"))
        .select(App::as_select())
        .first(conn)
        .optional()
}

/// Is there a live app of this name (any case) for this owner? One indexed lookup
/// (owner, status, lower-cased name), whatever the size of the organisation.
pub fn name_taken(
    conn: &mut DbConnection,
    org_id: &str,
    owner_user_id: Option<&str>,
    owner_team_id: Option<&str>,
    name: &str,
    except: Option<&str>,
) -> QueryResult<bool> {
    let mut q = apps::table
        .filter(apps::org_id.eq(org_id))
        .filter(apps::status.eq_any(["pending", "active", "suspended", "rejected"]))
        .filter(apps::name_lower.eq(name.to_lowercase()))
        .select(apps::id)
        .into_boxed();
    q = match owner_user_id {
        Some(u) => q.filter(apps::owner_user_id.eq(u.to_string())),
        None => q.filter(apps::owner_user_id.is_null()),
    };
    q = match owner_team_id {
        Some(t) => q.filter(apps::owner_team_id.eq(t.to_string())),
        None => q.filter(apps::owner_team_id.is_null()),
    };
    if let Some(except) = except {
        q = q.filter(apps::id.ne(except.to_string()));
    }
    Ok(q.first::<String>(conn).optional()?.is_some())
}

/// Personal apps of a user in an organisation that are not yet revoked or deleted.
pub fn personal_live(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
) -> QueryResult<Vec<App>> {
    apps::table
        .filter(apps::org_id.eq(org_id))
        .filter(apps::owner_user_id.eq(user_id))
        .filter(apps::status.ne_all(["revoked", "deleted"]))
        .select(App::as_select())
        .load(conn)
}

/// The app with this OAuth2 client id.
pub fn find_by_client_id(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<App>> {
    apps::table
        .filter(apps::client_id.eq(client_id))
        .select(App::as_select())
        .first(conn)
        .optional()
}

pub fn insert_credential(conn: &mut DbConnection, c: &Credential) -> QueryResult<()> {
    diesel::insert_into(credentials::table)
        .values(c)
        .execute(conn)
        .map(drop)
}

pub fn credentials_of(conn: &mut DbConnection, app_id: &str) -> QueryResult<Vec<Credential>> {
    credentials::table
        .filter(credentials::app_id.eq(app_id))
        .order((credentials::created_at.desc(), credentials::id.desc()))
        .select(Credential::as_select())
        .load(conn)
}

/// One page of an app's credentials, oldest first (by id).
pub fn credentials_page(
    conn: &mut DbConnection,
    app_id: &str,
    window: &crate::models::page::Window,
) -> QueryResult<crate::models::page::Page<Credential>> {
    let query = credentials::table
        .filter(credentials::app_id.eq(app_id.to_string()))
        .select(Credential::as_select())
        .into_boxed();
    let rows = crate::keyset!(
        query,
        credentials::id,
        credentials::id,
        window,
        descending = false
    )
    .load(conn)?;
    Ok(crate::models::page::Page::from_rows(
        rows,
        window,
        |c: &Credential| (c.id.clone(), c.id.clone()),
    ))
}

/// Credentials of many apps at once (for lists).
pub fn credentials_of_apps(
    conn: &mut DbConnection,
    app_ids: &[String],
) -> QueryResult<Vec<Credential>> {
    credentials::table
        .filter(credentials::app_id.eq_any(app_ids))
        .order((credentials::created_at.desc(), credentials::id.desc()))
        .select(Credential::as_select())
        .load(conn)
}

pub fn set_credential_expiry(
    conn: &mut DbConnection,
    id: &str,
    at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    diesel::update(credentials::table.find(id))
        .set(credentials::expires_at.eq(at))
        .execute(conn)
}

/// Stores a credential's IP allowlist (canonical, space-separated; '' = any address).
pub fn set_credential_allowed_ips(
    conn: &mut DbConnection,
    id: &str,
    allowed_ips: &str,
) -> QueryResult<usize> {
    diesel::update(credentials::table.find(id))
        .set(credentials::allowed_ips.eq(allowed_ips))
        .execute(conn)
}

pub fn set_credential_label(conn: &mut DbConnection, id: &str, label: &str) -> QueryResult<usize> {
    diesel::update(credentials::table.find(id))
        .set(credentials::label.eq(label))
        .execute(conn)
}

pub fn revoke_credential(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        credentials::table
            .find(id)
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes every credential of an app that is not revoked yet.
pub fn revoke_all_credentials(
    conn: &mut DbConnection,
    app_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        credentials::table
            .filter(credentials::app_id.eq(app_id))
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(now))
    .execute(conn)
}
