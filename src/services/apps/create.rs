//! Creating an app: its first credential revealed once, its products requested,
//! the form's nonce recorded — all in one transaction.

use super::*;

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

/// Who asks for a new app, where, and through which form.
#[derive(Debug, Clone, Copy)]
pub struct Creation<'a> {
    pub org: &'a Organisation,
    pub requester: &'a User,
    pub issuer: Issuer<'a>,
    /// Makes the form single-use: a second submission shows the first one's result.
    pub nonce: &'a str,
    /// The absolute base of links in the admins' emails.
    pub public_base: &'a str,
}

/// Creates an app with its first credential.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    creation: Creation<'_>,
    new: NewApp,
) -> AppResult<Created> {
    let Creation {
        org,
        requester,
        issuer,
        nonce,
        public_base,
    } = creation;
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
                &subscriptions::SubscriptionRequest {
                    org,
                    app: &app,
                    product,
                    requester,
                    note: &new.note,
                    public_base,
                },
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
