//! The OpenAPI document: each API module contributes its own paths; this adds what
//! every operation shares (bearer authentication and the problem responses).

use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

use super::support::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse management API",
        description = "Everything a person can do in the Gatehouse portal, as JSON: organisations, \
teams, consumer apps and their credentials, API products, subscriptions and approvals, \
notifications, and the gateway tokens API gateways verify keys with.\n\nAuthenticate with a personal access token or an organisation admin token: \
`Authorization: Bearer gate_pat_…`. Every token is bound to one organisation; read-only tokens \
may only GET. Errors are RFC 9457 problem documents. Lists take `?limit=&cursor=`. Reads carry \
an `ETag`; send it back in `If-Match` to refuse a stale update with 412. POSTs that create \
something accept an `Idempotency-Key`: a repeat within 24 hours creates nothing and returns the \
original response, with any secret replaced by a note."
    ),
    components(schemas(Problem))
)]
struct Base;

/// Statuses any operation may answer with a problem document.
const COMMON: &[(&str, &str)] = &[
    (
        "400",
        "The request is malformed (bad JSON, a bad query parameter).",
    ),
    ("401", "No valid API token was sent."),
    (
        "403",
        "The token may see this but not do this (or is read-only).",
    ),
    ("404", "No such resource, or the token may not see it."),
    (
        "409",
        "The request conflicts with the resource's current state.",
    ),
    (
        "422",
        "The values sent are not acceptable; `errors` lists every problem.",
    ),
    ("429", "Too many requests; see Retry-After."),
    ("503", "The database is not answering; retry shortly."),
];

fn add_problems(op: &mut Operation, extra: &[(&str, &str)]) {
    for (status, description) in COMMON.iter().chain(extra) {
        op.responses
            .responses
            .entry((*status).to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/problem+json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}

/// The whole document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.merge(super::orgs::Doc::openapi());
    doc.merge(super::apps::Doc::openapi());
    doc.merge(super::app_credentials::Doc::openapi());
    doc.merge(super::catalog::Doc::openapi());
    doc.merge(super::tokens::Doc::openapi());
    doc.merge(super::gateway::Doc::openapi());
    doc.merge(super::gateway_tokens::Doc::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "gateway",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A gateway token (gate_gw_…), made by an organisation admin.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "gateway_header",
        SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
            utoipa::openapi::security::ApiKeyValue::with_description(
                "X-Gatehouse-Token",
                "A gateway token (gate_gw_…); the client's own Authorization header carries its API key.",
            ),
        )),
    );
    components.add_security_scheme(
        "token",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A personal access token (gate_pat_…) or an organisation admin token (gate_adm_…).",
                ))
                .build(),
        ),
    );
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
        "token",
        Vec::<String>::new(),
    )]);
    for item in doc.paths.paths.values_mut() {
        let with_body = [&mut item.post, &mut item.put, &mut item.patch];
        for op in with_body.into_iter().flatten() {
            let mut extra = vec![("413", "The body is too large.")];
            if op.request_body.is_some() {
                extra.push((
                    "415",
                    "The body must be JSON (Content-Type: application/json).",
                ));
            }
            add_problems(op, &extra);
        }
        for op in [&mut item.get, &mut item.delete].into_iter().flatten() {
            add_problems(op, &[]);
        }
    }
    doc
}
