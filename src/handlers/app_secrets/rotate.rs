//! Rotating and resetting an app's key or secret, and adding a JWT public key.

use super::*;

#[derive(Template)]
#[template(path = "apps/rotate.html")]
pub struct RotatePage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub nonce: String,
    pub errors: Vec<String>,
    pub max_overlap_hours: i64,
}

fn rotate_page(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    app: App,
    status: StatusCode,
    errors: Vec<String>,
) -> AppResult<HttpResponse> {
    let nonce = nonces::issue(
        &state.key,
        services::apps::rotate_form_kind(),
        &scope.identity.user.id,
        state.clock.now_naive(),
    );
    let max_overlap_hours =
        i64::try_from(state.config.max_credential_overlap.as_secs() / 3600).unwrap_or(i64::MAX);
    render_status(
        status,
        &RotatePage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "apps",
            app,
            nonce,
            errors,
            max_overlap_hours,
        },
    )
}

pub async fn rotate_form(
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, path.into_inner().1, AppAction::Manage).await?;
    services::apps::require_changeable(&loaded.app)?;
    rotate_page(ctx, &scope, &state, loaded.app, StatusCode::OK, Vec::new())
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    pub nonce: String,
    /// `0`, `1h`, `24h`, `7d` or `custom`.
    #[serde(default)]
    pub overlap: String,
    #[serde(default)]
    pub custom_hours: String,
    #[serde(default)]
    pub label: String,
}

fn parse_overlap(form: &RotateForm, max: Duration) -> Result<Duration, String> {
    let overlap = match form.overlap.as_str() {
        "0" | "none" => Duration::zero(),
        "1h" => Duration::hours(1),
        "24h" => Duration::hours(24),
        "7d" => Duration::days(7),
        "custom" => form
            .custom_hours
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|h| *h >= 0)
            .and_then(Duration::try_hours)
            .ok_or_else(|| "Give the custom overlap as a whole number of hours.".to_string())?,
        _ => return Err("Choose how long the old credential keeps working.".into()),
    };
    if overlap > max {
        return Err(format!(
            "The overlap can be at most {} hours on this instance.",
            max.num_hours()
        ));
    }
    Ok(overlap)
}

async fn do_rotate(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    app_id: String,
    form: RotateForm,
    reset: bool,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, app_id, AppAction::Manage).await?;
    nonces::verify(
        &state.key,
        services::apps::rotate_form_kind(),
        &scope.identity.user.id,
        &form.nonce,
        state.clock.now_naive(),
    )?;
    let max = Duration::from_std(state.config.max_credential_overlap)
        .map_err(|_| AppError::internal("maximum overlap out of range"))?;
    let overlap = if reset {
        Duration::zero()
    } else {
        match parse_overlap(&form, max) {
            Ok(o) => o,
            Err(message) => {
                return rotate_page(
                    ctx,
                    &scope,
                    &state,
                    loaded.app,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vec![message],
                );
            }
        }
    };
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let st = state.clone();
    let label = form.label.clone();
    let nonce = form.nonce.clone();
    let result = state
        .db(move |conn| {
            let issuer = Issuer {
                prefix: &st.config.credential_prefix,
                hasher: &st.secrets,
            };
            let rotation = services::apps::Rotation {
                nonce: &nonce,
                overlap,
                max_overlap: max,
                label: &label,
            };
            services::apps::rotate(conn, &c, &app, issuer, rotation)
        })
        .await;
    match result {
        Ok(revealed) => {
            let heading = if reset {
                format!("{}: credential reset", loaded.app.name)
            } else {
                format!("{}: credential rotated", loaded.app.name)
            };
            reveal(ctx, &scope, &state, loaded.app, revealed, heading).await
        }
        Err(e @ AppError::Conflict(_)) => {
            flash_outcome(&req, &app_url(&scope, &loaded.app.id), Err(e), "")
        }
        Err(e) => {
            let (status, message) = form_problem(e)?;
            rotate_page(ctx, &scope, &state, loaded.app, status, vec![message])
        }
    }
}

pub async fn rotate(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> AppResult<HttpResponse> {
    do_rotate(req, ctx, scope, state, path.into_inner().1, form, false).await
}

pub async fn reset(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> AppResult<HttpResponse> {
    do_rotate(req, ctx, scope, state, path.into_inner().1, form, true).await
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub public_key: String,
    #[serde(default)]
    pub label: String,
}

pub async fn add_key(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> AppResult<HttpResponse> {
    let loaded = load(&scope, &state, path.into_inner().1, AppAction::Manage).await?;
    let to = app_url(&scope, &loaded.app.id);
    let key = match crate::public_keys::parse(&form.public_key) {
        Ok(key) => key,
        Err(message) => return flash_outcome(&req, &to, Err(AppError::BadRequest(message)), ""),
    };
    let c = scope.ctx(&req);
    let app = loaded.app.clone();
    let result = state
        .db(move |conn| services::apps::add_public_key(conn, &c, &app, &key, &form.label))
        .await;
    flash_outcome(
        &req,
        &to,
        result,
        "Public key added. Remove the old key once your app signs with the new one.",
    )
}
