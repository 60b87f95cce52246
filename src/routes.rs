//! Every path in one place. The portal's routes are data ([`PORTAL_ROUTES`]) that
//! both the server and the route × role test read; the API registers its own under
//! `/api/v1` (`handlers::api`), checked against its OpenAPI document.

use actix_session::SessionMiddleware;
use actix_web::http::Method;
use actix_web::{HttpRequest, web};

use crate::auth::session_store::DbSessionStore;
use crate::error::AppError;
use crate::handlers::{
    account, app_secrets, approvals, apps, auth, gateway_tokens, instance, invite, members, orgs,
    products, system, teams, tokens,
};
use crate::handlers::{email, notifications};
use crate::methods;

/// A portal route: its method and path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalRoute {
    pub method: &'static str,
    pub path: &'static str,
}

/// Declares the portal's routes once: the table [`PORTAL_ROUTES`] and the functions
/// that register them (`machine`: outside the session middleware; `pages`: inside),
/// each behind a [`methods::on`] guard (so an unsupported method is a 405 with
/// `Allow`), with the given app data (a larger body limit) if any.
macro_rules! portal_routes {
    (
        machine { $( $mm:ident $mp:literal => $mh:path ),* $(,)? }
        pages { $( $m:ident $p:literal => $h:path $([$data:expr])? ),* $(,)? }
    ) => {
        /// Every route of the portal, in the order they are tried.
        pub const PORTAL_ROUTES: &[PortalRoute] = &[
            $( PortalRoute { method: stringify!($mm), path: $mp }, )*
            $( PortalRoute { method: stringify!($m), path: $p }, )*
        ];

        /// Health checks and static files: no session.
        fn machine(cfg: &mut web::ServiceConfig) {
            $( cfg.service(web::resource($mp).guard(methods::on(Method::$mm)).to($mh)); )*
        }

        /// The portal's pages and forms.
        fn pages(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($p)
                        .guard(methods::on(Method::$m))
                        $( .app_data($data) )?
                        .to($h),
                );
            )*
        }
    };
}

#[rustfmt::skip]
portal_routes! {
  machine {
    GET  "/healthz" => system::healthz,
    GET  "/readyz" => system::readyz,
    // Off (404) unless `--metrics-token` is set; then for that bearer token only
    GET  "/metrics" => system::metrics,
    GET  "/static/{path:.*}" => system::asset,
    GET  "/favicon.ico" => system::favicon,
  }
  pages {
    GET  "/" => system::home,
    // First run, sign-in, sign-up
    GET  "/setup" => auth::setup_form,
    POST "/setup" => auth::setup,
    GET  "/login" => auth::login_form,
    POST "/login" => auth::login,
    POST "/logout" => auth::logout,
    GET  "/signup" => auth::signup_form,
    POST "/signup" => auth::signup,
    // The signed-in user's own account
    GET  "/account" => account::show,
    POST "/account/profile" => account::update_profile,
    POST "/account/password" => account::change_password,
    POST "/account/sessions/others/end" => account::end_other_sessions,
    POST "/account/sessions/{id}/end" => account::end_session,
    // API tokens
    GET  "/account/tokens" => tokens::personal,
    POST "/account/tokens" => tokens::create_personal,
    POST "/account/tokens/{id}/revoke" => tokens::revoke_personal,
    GET  "/o/{slug}/admin/tokens" => tokens::admin_list,
    POST "/o/{slug}/admin/tokens" => tokens::admin_create,
    POST "/o/{slug}/admin/tokens/{id}/revoke" => tokens::admin_revoke,
    // Gateway tokens (what API gateways send to the verify endpoints)
    GET  "/o/{slug}/admin/gateway-tokens" => gateway_tokens::list,
    POST "/o/{slug}/admin/gateway-tokens" => gateway_tokens::create,
    POST "/o/{slug}/admin/gateway-tokens/{id}/revoke" => gateway_tokens::revoke,
    // Inbox, notification settings, email change and verification, password reset by
    // email, and the outbox's dead letters
    GET  "/notifications" => notifications::list,
    POST "/notifications/read-all" => notifications::mark_all_read,
    POST "/notifications/{id}/read" => notifications::mark_read,
    GET  "/account/notifications" => notifications::preferences,
    POST "/account/notifications" => notifications::save_preferences,
    POST "/account/email" => account::change_email,
    POST "/account/verify-email/resend" => account::resend_verification,
    // Links in emails (a token in the URL: single use, never logged)
    GET  "/verify-email/{token}" => email::verify_form,
    POST "/verify-email" => email::verify,
    GET  "/forgot-password" => email::forgot_form,
    POST "/forgot-password" => email::forgot,
    GET  "/reset-password/{token}" => email::reset_form,
    POST "/reset-password" => email::reset,
    GET  "/admin/outbox" => notifications::outbox,
    POST "/admin/outbox/{id}/retry" => notifications::retry,
    // Organisations
    GET  "/orgs" => orgs::list,
    POST "/orgs" => orgs::create,
    GET  "/orgs/new" => orgs::new_form,
    GET  "/o/{slug}" => orgs::home,
    POST "/o/{slug}/leave" => orgs::leave,
    GET  "/o/{slug}/settings" => orgs::settings,
    POST "/o/{slug}/settings" => orgs::rename,
    POST "/o/{slug}/delete" => orgs::delete,
    GET  "/o/{slug}/members" => members::list,
    POST "/o/{slug}/members/{user_id}/role" => members::change_role,
    POST "/o/{slug}/members/{user_id}/remove" => members::remove,
    POST "/o/{slug}/invitations" => members::invite,
    POST "/o/{slug}/invitations/{id}/revoke" => members::revoke_invitation,
    POST "/o/{slug}/invitations/{id}/resend" => members::resend_invitation,
    // My Hub and consumer apps
    GET  "/o/{slug}/hub" => apps::hub,
    GET  "/o/{slug}/apps" => apps::list,
    POST "/o/{slug}/apps" => app_secrets::create,
    GET  "/o/{slug}/apps/new" => app_secrets::new_form,
    GET  "/o/{slug}/apps/{app_id}" => apps::show,
    GET  "/o/{slug}/apps/{app_id}/edit" => apps::edit_form,
    POST "/o/{slug}/apps/{app_id}/edit" => apps::update,
    GET  "/o/{slug}/apps/{app_id}/rotate" => app_secrets::rotate_form,
    POST "/o/{slug}/apps/{app_id}/rotate" => app_secrets::rotate,
    POST "/o/{slug}/apps/{app_id}/reset" => app_secrets::reset,
    POST "/o/{slug}/apps/{app_id}/keys" => app_secrets::add_key,
    POST "/o/{slug}/apps/{app_id}/credentials/{credential_id}/retire" => apps::retire,
    POST "/o/{slug}/apps/{app_id}/credentials/{credential_id}/allowed-ips" => apps::set_allowed_ips,
    POST "/o/{slug}/apps/{app_id}/transfer" => apps::transfer,
    GET  "/o/{slug}/apps/{app_id}/revoke" => apps::revoke_form,
    POST "/o/{slug}/apps/{app_id}/revoke" => apps::revoke,
    GET  "/o/{slug}/apps/{app_id}/delete" => apps::delete_form,
    POST "/o/{slug}/apps/{app_id}/delete" => apps::delete,
    // API products, subscriptions and approvals (product forms carry documentation:
    // a larger body limit)
    GET  "/o/{slug}/products" => products::catalogue,
    GET  "/o/{slug}/products/{product}" => products::docs,
    POST "/o/{slug}/products/{product}/subscribe" => products::subscribe,
    GET  "/o/{slug}/admin/products" => products::admin_list,
    POST "/o/{slug}/admin/products" => products::create [products::form_payload_limit()],
    GET  "/o/{slug}/admin/products/new" => products::new_form,
    GET  "/o/{slug}/admin/products/{id}" => products::edit_form,
    POST "/o/{slug}/admin/products/{id}" => products::update [products::form_payload_limit()],
    POST "/o/{slug}/admin/products/{id}/reference" => products::save_api_reference,
    POST "/o/{slug}/admin/products/{id}/reference/remove" => products::remove_api_reference,
    GET  "/o/{slug}/products/{product}/openapi.json" => products::download_api_reference,
    POST "/o/{slug}/admin/products/{id}/archive" => products::archive,
    POST "/o/{slug}/admin/products/{id}/restore" => products::restore,
    GET  "/o/{slug}/admin/approvals" => approvals::queue,
    POST "/o/{slug}/admin/approvals" => approvals::decide,
    GET  "/o/{slug}/admin/approval-settings" => approvals::settings,
    POST "/o/{slug}/admin/approval-settings" => approvals::set_mode,
    POST "/o/{slug}/admin/approval-settings/rules" => approvals::add_rule,
    POST "/o/{slug}/admin/approval-settings/rules/{id}/remove" => approvals::remove_rule,
    POST "/o/{slug}/apps/{app_id}/subscriptions" => approvals::request,
    POST "/o/{slug}/apps/{app_id}/subscriptions/{sub_id}/cancel" => approvals::cancel,
    POST "/o/{slug}/apps/{app_id}/suspend" => approvals::suspend,
    POST "/o/{slug}/apps/{app_id}/resume" => approvals::resume,
    // Teams
    GET  "/o/{slug}/teams" => teams::list,
    POST "/o/{slug}/teams" => teams::create,
    GET  "/o/{slug}/teams/{team_id}" => teams::show,
    POST "/o/{slug}/teams/{team_id}/members" => teams::add_member,
    POST "/o/{slug}/teams/{team_id}/members/{user_id}/role" => teams::set_role,
    POST "/o/{slug}/teams/{team_id}/members/{user_id}/remove" => teams::remove_member,
    POST "/o/{slug}/teams/{team_id}/leave" => teams::leave,
    // Invitation links (the one place a token travels in a URL)
    GET  "/invite/{token}" => invite::show,
    POST "/invite/accept" => invite::accept,
    POST "/invite/signup" => invite::sign_up,
    // Instance owners
    GET  "/admin/instance" => instance::show,
    POST "/admin/instance" => instance::update,
  }
}

/// The API and the machine endpoints (health, static files) come first and never see
/// a session; every other path is the portal, inside the session middleware.
pub fn configure(cfg: &mut web::ServiceConfig, sessions: SessionMiddleware<DbSessionStore>) {
    // The OAuth endpoints first: `/api/v1/login` is outside the `/api/v1` scope's
    // token check.
    cfg.configure(crate::handlers::oauth::configure)
        .configure(crate::handlers::api::configure)
        .configure(machine)
        .service(
            web::scope("")
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::identify_error_pages,
                ))
                .wrap(sessions)
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::session_store::store_failures,
                ))
                .configure(pages)
                .default_service(web::to(not_found)),
        )
        .default_service(web::to(not_found));
}

/// The `--metrics-bind` server: `/metrics` alone, without a token.
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/metrics")
            .guard(methods::on(Method::GET))
            .to(system::metrics_open),
    )
    .default_service(web::to(not_found));
}

/// No route took the request: 405 with `Allow` when the path exists, else 404.
async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    Err(methods::refused(&req))
}
