//! The one response that shows a new secret, and the marker cookie that keeps it out
//! of the back/forward cache.

use super::*;

#[derive(Template)]
#[template(path = "apps/reveal.html")]
pub struct RevealPage {
    pub ctx: PageCtx,
    pub slug: String,
    pub tab: &'static str,
    pub app: App,
    pub heading: String,
    /// `api_key`, `client_secret` or `public_key`.
    pub kind: &'static str,
    pub client_id: String,
    pub secret: String,
    pub json: String,
    pub json_data_url: String,
    /// Products whose requests still wait for an admin, while the app is pending.
    pub waiting: Vec<String>,
}

impl RevealPage {
    /// "Payments and Maps", for the sentence about approval.
    pub fn waiting_list(&self) -> String {
        crate::wording::and_list(&self.waiting)
    }
}

/// The products whose requests still wait for an admin, if the app is pending.
async fn waiting_products(state: &State, app: &App) -> AppResult<Vec<String>> {
    if app.status != "pending" {
        return Ok(Vec::new());
    }
    let app_id = app.id.clone();
    let subs = state
        .db(move |conn| Ok(crate::models::products::subscriptions_of(conn, &app_id)?))
        .await?;
    Ok(subs
        .into_iter()
        .filter(|(s, _)| s.status == "pending")
        .map(|(_, p)| p.name)
        .collect())
}

pub(super) async fn reveal(
    ctx: PageCtx,
    scope: &OrgScope,
    state: &State,
    app: App,
    revealed: Revealed,
    heading: String,
) -> AppResult<HttpResponse> {
    let waiting = waiting_products(state, &app).await?;
    let (kind, client_id, secret, json) = match revealed {
        Revealed::ApiKey { key } => {
            let json = serde_json::json!({ "app_id": app.id, "api_key": key.expose() });
            ("api_key", String::new(), key.expose().to_string(), json)
        }
        Revealed::ClientSecret { client_id, secret } => {
            let json = serde_json::json!({ "app_id": app.id, "client_id": client_id, "client_secret": secret.expose() });
            (
                "client_secret",
                client_id,
                secret.expose().to_string(),
                json,
            )
        }
        Revealed::PublicKey { client_id } => {
            let json = serde_json::json!({ "app_id": app.id, "client_id": client_id });
            ("public_key", client_id, String::new(), json)
        }
    };
    let json = serde_json::to_string_pretty(&json).map_err(AppError::internal)?;
    let json_data_url = format!(
        "data:application/json;charset=utf-8,{}",
        serde_urlencoded::to_string([("", json.as_str())])
            .map_err(AppError::internal)?
            .trim_start_matches('=')
            .replace('+', "%20")
    );
    let mut res = render_status(
        StatusCode::OK,
        &RevealPage {
            ctx: ctx.in_org(scope),
            slug: scope.org.slug.clone(),
            tab: "apps",
            app,
            heading,
            kind,
            client_id,
            secret,
            json,
            json_data_url,
            waiting,
        },
    )?;
    mark_revealed(state, &mut res)?;
    Ok(res)
}

/// Marks a response that shows a secret once: the next page clears the cookie, so
/// the browser will not restore the reveal from its back/forward cache.
pub fn mark_revealed(state: &State, res: &mut HttpResponse) -> AppResult<()> {
    let marker = state.cookie(
        REVEAL_COOKIE,
        crate::crypto::random_base62(12),
        Some(std::time::Duration::from_secs(600)),
    );
    res.add_cookie(&marker).map_err(AppError::internal)
}
