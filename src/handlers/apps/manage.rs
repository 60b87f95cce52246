//! Changing an app: edit, revoke and delete (with confirmation pages), transfer,
//! retire a credential.

use super::*;

// ------------------------------------------------------------------ edit

#[derive(Template)]
#[template(path = "apps/edit.html")]
pub struct EditPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub errors: Vec<String>,
    pub name: String,
    pub description: String,
    pub callback_urls: String,
    pub credentials: Vec<CredentialRow>,
}

pub async fn edit_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    services::apps::require_changeable(&loaded.app)?;
    let app = loaded.app;
    render(&EditPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        tab: "apps",
        errors: Vec::new(),
        name: app.name.clone(),
        description: app.description.clone(),
        callback_urls: app.callback_urls.clone(),
        credentials: credential_rows(&loaded.credentials, state.clock.now_naive()),
        app,
    })
}

/// The edit form; labels arrive as `label.<credential id>` fields.
pub async fn update(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (name, description, urls) = (field("name"), field("description"), field("callback_urls"));
    let labels: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("label.")
                .map(|id| (id.to_string(), v.clone()))
        })
        .collect();
    let now = state.clock.now_naive();
    let again = |ctx: PageCtx, status: StatusCode, errors: Vec<String>| {
        render_status(
            status,
            &EditPage {
                ctx: ctx.in_org(&scope),
                slug: scope.org.slug.clone(),
                tab: "apps",
                errors,
                name: name.clone(),
                description: description.clone(),
                callback_urls: urls.clone(),
                credentials: credential_rows(&loaded.credentials, now),
                app: loaded.app.clone(),
            },
        )
    };
    let details = match services::apps::check_details(&name, &description, &urls) {
        Ok(d) => d,
        Err(errors) => return again(ctx, StatusCode::UNPROCESSABLE_ENTITY, errors),
    };
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    match state
        .db(move |conn| services::apps::update(conn, &c, &app, &details, &labels))
        .await
    {
        Ok(()) => Ok(see_other_with(
            &req,
            &app_url(&scope, &loaded.app.id),
            "info",
            "App saved.",
        )),
        Err(e) => {
            let (status, message) = form_problem(e)?;
            again(ctx, status, vec![message])
        }
    }
}

// ------------------------------------------------------- revoke and delete

#[derive(Template)]
#[template(path = "apps/confirm.html")]
pub struct ConfirmPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub app: App,
    /// `revoke` or `delete`.
    pub action: &'static str,
}

async fn confirm(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    app_id: String,
    action: &'static str,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    if action == "revoke" && loaded.app.status == "revoked" {
        return Err(AppError::conflict("This app is already revoked."));
    }
    render(&ConfirmPage {
        ctx: ctx.in_org(&scope),
        slug: scope.org.slug.clone(),
        app: loaded.app,
        action,
    })
}

pub async fn revoke_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    confirm(ctx, scope, state, path.into_inner().1, "revoke").await
}

pub async fn delete_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    confirm(ctx, scope, state, path.into_inner().1, "delete").await
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

pub async fn revoke(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    state
        .db(move |conn| services::apps::revoke(conn, &c, &app, &form.reason))
        .await?;
    Ok(see_other_with(
        &req,
        &format!("/o/{}/apps", scope.org.slug),
        "info",
        &format!(
            "{} is revoked: its credentials no longer work.",
            loaded.app.name
        ),
    ))
}

pub async fn delete(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    state
        .db(move |conn| services::apps::delete(conn, &c, &app))
        .await?;
    Ok(see_other_with(
        &req,
        &format!("/o/{}/apps", scope.org.slug),
        "info",
        &format!(
            "{} is deleted; its credentials were revoked.",
            loaded.app.name
        ),
    ))
}

// -------------------------------------------------- transfer, retire a key

#[derive(Debug, Deserialize)]
pub struct TransferForm {
    pub to: String,
}

pub async fn transfer(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<TransferForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let org_id = scope.org.id.clone();
    let user_id = scope.identity.user.id.clone();
    let org_role = scope.role;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let to = form.to.clone();
    let result = state
        .db(move |conn| {
            // Only targets the actor admins: themselves or their teams (org admins: any).
            let allowed = transfer_targets(conn, &org_id, &user_id, org_role, &app)?;
            if !allowed.iter().any(|(v, _)| *v == to) {
                return Err(AppError::forbidden(
                    "You can move an app only to yourself or to a team you admin.",
                ));
            }
            let owner = match to.split_once(':') {
                Some(("user", id)) => Owner::User(id.to_string()),
                Some(("team", id)) => Owner::Team(id.to_string()),
                _ => return Err(AppError::bad_request("Choose a new owner.")),
            };
            services::apps::transfer(conn, &c, &app, &owner)
        })
        .await;
    flash_outcome(
        &req,
        &app_url(&scope, &loaded.app.id),
        result,
        "App transferred.",
    )
}

pub async fn retire(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id, credential_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let result = state
        .db(move |conn| services::apps::retire_credential(conn, &c, &app, &credential_id))
        .await;
    flash_outcome(
        &req,
        &app_url(&scope, &loaded.app.id),
        result,
        "Credential retired: it no longer works.",
    )
}
