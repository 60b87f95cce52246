//! The management API under `/api/v1`: everything a person can do in the portal, as
//! JSON, for scripts and CI pipelines. Authenticated by API tokens (`auth::api`),
//! decided by the same policy module and services as the pages, described by an
//! OpenAPI 3.1 document generated from this code (`/api/v1/openapi.json`, browsable
//! at `/api/docs/`).

pub mod app_credentials;
pub mod apps;
pub mod body;
pub mod catalog;
pub mod doc;
pub mod gateway;
pub mod gateway_tokens;
pub mod orgs;
pub mod support;
pub mod tokens;

use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::AppError;
use crate::methods;

/// Registers the API, its OpenAPI document and the Swagger UI.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The document's own route must come before the `/api/v1` scope, which would
    // otherwise claim the path.
    // The gateway's endpoints first: they take gateway tokens, not the scope's.
    cfg.configure(gateway::configure);
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/v1/openapi.json", doc::openapi()))
        .route(
            "/api/docs",
            methods::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("location", "/api/docs/"))
                    .finish()
            }),
        )
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(authenticate))
                .app_data(support::json_config())
                .app_data(support::query_config())
                .configure(orgs::configure)
                .configure(apps::configure)
                .configure(app_credentials::configure)
                .configure(catalog::configure)
                .configure(tokens::configure)
                .configure(gateway_tokens::configure)
                .default_service(web::to(not_found)),
        );
}

/// Who is asking is settled before anything else: a request without a working token
/// (or a read-only token trying to write) gets its 401/403 even when its body is bad.
async fn authenticate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::FromRequest;
    let found =
        crate::auth::api::ApiActor::from_request(req.request(), &mut actix_web::dev::Payload::None)
            .await;
    match found {
        // The extractor keeps the actor in the request; handlers reuse it.
        Ok(_) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(e) => Ok(req.error_response(e)),
    }
}

/// No route took the request: 405 with `Allow` when the path exists, else 404.
async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, AppError> {
    Err(methods::refused(&req))
}
