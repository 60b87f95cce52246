//! The app page's IP allowlist form, one per live API key: the ranges it may be used
//! from. A refused list is shown again on the app page, beside that key, as typed.

use super::page::app_page;
use super::*;
use crate::services::apps::AllowlistChange;

#[derive(Debug, Deserialize)]
pub struct AllowlistForm {
    /// One range per line (commas and spaces separate too); empty: any address.
    #[serde(default)]
    pub allowed_ips: String,
}

pub async fn set_allowed_ips(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String, String)>,
    CsrfForm(form): CsrfForm<AllowlistForm>,
) -> AppResult<HttpResponse> {
    let (_, app_id, credential_id) = path.into_inner();
    let loaded = load(&scope, &state, app_id.clone(), AppAction::Manage).await?;
    let shown = loaded
        .credentials
        .iter()
        .find(|c| c.id == credential_id)
        .map(|c| format!("{}…{}", c.prefix, c.last4))
        .ok_or(AppError::NotFound)?;
    let input = form.allowed_ips;
    let result = match allowlist::parse(&input) {
        Err(message) => Err(AppError::bad_request(message)),
        Ok(nets) => {
            let c = scope.ctx(&req);
            let app = loaded.app.clone();
            let id = credential_id.clone();
            state
                .db(move |conn| {
                    services::apps::set_allowed_ips(conn, &c, &app, &id, &nets)
                        .map(|change| (change, nets))
                })
                .await
        }
    };
    let back = app_url(&scope, &loaded.app.id);
    let error = match result {
        Ok((AllowlistChange::Unchanged, _)) => {
            return Ok(see_other_with(
                &req,
                &back,
                "info",
                &format!("Nothing changed: key {shown} already had these IP ranges."),
            ));
        }
        Ok((AllowlistChange::Changed, nets)) if nets.is_empty() => {
            return Ok(see_other_with(
                &req,
                &back,
                "info",
                &format!("Key {shown} works from any address again."),
            ));
        }
        Ok((AllowlistChange::Changed, nets)) => {
            return Ok(see_other_with(
                &req,
                &back,
                "info",
                &format!(
                    "Key {shown} now works only from {}.",
                    allowlist::describe(&nets)
                ),
            ));
        }
        Err(e) => e,
    };
    let (status, message) = form_problem(error)?;
    // Shown again as the page is now, with the list as typed beside its key; if the
    // key cannot take a list any more (revoked meanwhile), the message is a flash.
    let fresh = load(&scope, &state, app_id, AppAction::View).await?;
    let mut page = app_page(ctx, &scope, &state, fresh).await?;
    match page
        .credentials
        .iter_mut()
        .find(|row| row.id == credential_id && row.restrictable)
    {
        Some(row) => {
            row.allowlist_input = input;
            row.allowlist_error = Some(message);
            render_status(status, &page)
        }
        None => Ok(see_other_with(&req, &back, "error", &message)),
    }
}
