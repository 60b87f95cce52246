//! The landing redirect, health checks and embedded static files.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

use crate::auth::{MaybeIdentity, State};
use crate::error::AppResult;
use crate::services;
use crate::web::see_other;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// `/`: the first organisation of a signed-in user, else setup or sign-in.
pub async fn home(identity: MaybeIdentity, state: State) -> AppResult<HttpResponse> {
    match identity.0 {
        Some(identity) => {
            let user_id = identity.user.id.clone();
            let orgs = state
                .db(move |conn| Ok(crate::models::orgs::for_user(conn, &user_id)?))
                .await?;
            Ok(match orgs.first() {
                Some((org, _)) => see_other(&format!("/o/{}", org.slug)),
                None => see_other("/orgs"),
            })
        }
        None => {
            let pending = state.db(services::instance::setup_pending).await?;
            Ok(see_other(if pending { "/setup" } else { "/login" }))
        }
    }
}

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body("ok")
}

/// Readiness: the database answers.
pub async fn readyz(state: State) -> HttpResponse {
    let ok = state.db(|conn| Ok(crate::models::ping(conn)?)).await;
    let (mut res, body) = match ok {
        Ok(()) => (HttpResponse::Ok(), r#"{"status":"ready","database":"ok"}"#),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            (
                HttpResponse::ServiceUnavailable(),
                r#"{"status":"unavailable","database":"not answering"}"#,
            )
        }
    };
    res.content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `/favicon.ico`, which browsers ask for whatever the page links: the SVG icon.
pub async fn favicon(req: HttpRequest) -> AppResult<HttpResponse> {
    serve_asset(&req, "favicon.svg")
}

/// Files under static/, embedded into the binary, with an ETag.
pub async fn asset(req: HttpRequest) -> AppResult<HttpResponse> {
    let path = req.match_info().get("path").unwrap_or("");
    serve_asset(&req, path)
}

fn serve_asset(req: &HttpRequest, path: &str) -> AppResult<HttpResponse> {
    let Some(file) = Assets::get(path) else {
        return Err(crate::error::AppError::NotFound);
    };
    let etag = format!(
        "\"{}\"",
        crate::crypto::hex(&file.metadata.sha256_hash()[..16])
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let cache = "public, max-age=3600";
    if fresh {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned()))
}

/// `/metrics` on the main address: the Prometheus text, for a request bearing the
/// `--metrics-token`; a bare 401 for any other; 404 when no token is configured (the
/// endpoint is off, or only on `--metrics-bind`).
pub async fn metrics(req: HttpRequest, state: State) -> AppResult<HttpResponse> {
    let Some(token) = &state.config.metrics_token else {
        return Err(crate::error::AppError::NotFound);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Digests, so the comparison takes the same time whatever the lengths.
    let matches = crate::crypto::constant_time_eq(
        crate::crypto::sha256_hex(given.as_bytes()).as_bytes(),
        crate::crypto::sha256_hex(token.expose().as_bytes()).as_bytes(),
    );
    if !matches {
        crate::middleware::note_denial("no valid metrics token");
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    Ok(metrics_text(&state))
}

/// `/metrics` on `--metrics-bind`: no token (the address is the protection).
pub async fn metrics_open(state: State) -> HttpResponse {
    metrics_text(&state)
}

fn metrics_text(state: &State) -> HttpResponse {
    let mut body = state.metrics.render();
    let size = state.verifier.size();
    for (name, help, value) in [
        ("keys", "API keys and client secrets", size.keys),
        ("apps", "apps", size.apps),
        ("products", "products", size.products),
        ("gateway_tokens", "live gateway tokens", size.gateway_tokens),
        (
            "access_tokens",
            "verified access tokens cached",
            state.verifier.cached_tokens(),
        ),
    ] {
        body.push_str(&format!(
            "# HELP gatehouse_verify_index_{name} {help} in this instance's verify index.\n\
             # TYPE gatehouse_verify_index_{name} gauge\n\
             gatehouse_verify_index_{name} {value}\n"
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}
