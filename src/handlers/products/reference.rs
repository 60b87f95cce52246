//! A product's API reference: the admin pastes or uploads an OpenAPI document (a
//! CSRF-checked multipart form) or removes it; developers download the stored document.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::admin::{FormView, form_page, load_product};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::policy::OrgAction;
use crate::auth::{OrgScope, State};
use crate::error::{AppError, AppResult};
use crate::handlers::{EmptyForm, flash_outcome, form_problem};
use crate::services::products::ProductForm;
use crate::web::{PageCtx, see_other_with};

/// The form's fields: a file input and a textarea (the file wins when one is chosen).
const FILE_FIELD: &str = "document_file";
const TEXT_FIELD: &str = "document_text";

/// The document the admin sent, or why it cannot be read.
fn submitted_document(form: &CsrfMultipart) -> Result<(String, bool), String> {
    let too_large = "The document is larger than 1 MiB; the limit is 1 MiB.".to_string();
    if let Some(file) = form.part(FILE_FIELD)
        && file.file_name.as_deref().is_some_and(|n| !n.is_empty())
    {
        if file.too_large {
            return Err(too_large);
        }
        if !file.bytes.is_empty() {
            let text = String::from_utf8(file.bytes.clone()).map_err(|_| {
                "The file is not UTF-8 text: upload the JSON or YAML document itself.".to_string()
            })?;
            return Ok((text, false));
        }
    }
    if form.part(TEXT_FIELD).is_some_and(|p| p.too_large) {
        return Err(too_large);
    }
    let text = form.text(TEXT_FIELD).map_err(|e| e.public_message())?;
    if text.trim().is_empty() {
        return Err("Paste an OpenAPI 3.0 or 3.1 document (JSON or YAML) or choose a file.".into());
    }
    Ok((text, true))
}

pub async fn save(
    req: HttpRequest,
    ctx: PageCtx,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    form: CsrfMultipart,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, teams) = load_product(&scope, &state, path.into_inner().1).await?;
    let edit_page = format!("/o/{}/admin/products/{}", scope.org.slug, p.id);
    let (outcome, pasted) = match submitted_document(&form) {
        Err(message) => (Err(AppError::Invalid(vec![message])), String::new()),
        Ok((raw, from_textarea)) => {
            let c = scope.ctx(&req);
            let org = scope.org.clone();
            let id = p.id.clone();
            let pasted = if from_textarea {
                raw.clone()
            } else {
                String::new()
            };
            // Compiled (descriptions rendered) off the workers, before the database
            // work: a connection is taken only to store the result.
            let outcome = match state.compute(move || crate::openapi::compile(&raw)).await {
                Ok(Ok(compiled)) => {
                    state
                        .db(move |conn| {
                            crate::services::products::store_api_reference(
                                conn, &c, &org, &id, &compiled,
                            )
                        })
                        .await
                }
                Ok(Err(problems)) => Err(AppError::Invalid(problems)),
                Err(e) => Err(e),
            };
            (outcome, pasted)
        }
    };
    match outcome {
        Ok(saved) => Ok(see_other_with(
            &req,
            &edit_page,
            "info",
            &format!(
                "API reference saved: {} {} (OpenAPI {}), {} operation{}. Developers see it on the product's page.",
                saved.title,
                saved.api_version,
                saved.openapi_version,
                saved.operations,
                if saved.operations == 1 { "" } else { "s" }
            ),
        )),
        Err(e) => {
            let reference_errors = match e {
                AppError::Invalid(problems) => problems,
                other => vec![form_problem(other)?.1],
            };
            let form = ProductForm::of(&p, &teams);
            let view = FormView {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                reference_errors,
                reference_text: pasted,
                ..FormView::new(Some(p), form)
            };
            form_page(ctx, &scope, &state, view).await
        }
    }
}

pub async fn remove(
    req: HttpRequest,
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    scope.authorize(OrgAction::ManageProducts)?;
    let (p, _) = load_product(&scope, &state, path.into_inner().1).await?;
    let c = scope.ctx(&req);
    let org = scope.org.clone();
    let id = p.id.clone();
    let result = state
        .db(move |conn| crate::services::products::remove_api_reference(conn, &c, &org, &id))
        .await;
    flash_outcome(
        &req,
        &format!("/o/{}/admin/products/{}", scope.org.slug, p.id),
        result,
        "API reference removed.",
    )
}

/// The stored OpenAPI document (as JSON) of a product the viewer may see.
pub async fn download(
    scope: OrgScope,
    state: State,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let product = super::visible_product(&scope, &state, path.into_inner().1).await?;
    let json = product.openapi_json.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}-openapi.json\"", product.slug),
        ))
        .body(json))
}
