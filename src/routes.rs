//! Every path in one place.

use actix_session::SessionMiddleware;
use actix_web::web;

use crate::auth::session_store::DbSessionStore;
use crate::error::AppError;
use crate::handlers::{
    account, app_secrets, approvals, apps, auth, instance, invite, members, orgs, products, system,
    teams, tokens,
};
use crate::handlers::{email, notifications};

/// The API and the machine endpoints (health, static files) come first and never see
/// a session; every other path is the portal, inside the session middleware.
pub fn configure(cfg: &mut web::ServiceConfig, sessions: SessionMiddleware<DbSessionStore>) {
    cfg.configure(crate::handlers::api::configure)
        .route("/healthz", web::get().to(system::healthz))
        .route("/readyz", web::get().to(system::readyz))
        .route("/static/{path:.*}", web::get().to(system::asset))
        .route("/favicon.ico", web::get().to(system::favicon))
        .service(
            web::scope("")
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::identify_error_pages,
                ))
                .wrap(sessions)
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::session_store::store_failures,
                ))
                .configure(portal)
                .default_service(web::to(not_found)),
        )
        .default_service(web::to(not_found));
}

/// The portal's pages and forms.
fn portal(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(system::home))
        // First run, sign-in, sign-up
        .route("/setup", web::get().to(auth::setup_form))
        .route("/setup", web::post().to(auth::setup))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/signup", web::get().to(auth::signup_form))
        .route("/signup", web::post().to(auth::signup))
        // The signed-in user's own account
        .route("/account", web::get().to(account::show))
        .route("/account/profile", web::post().to(account::update_profile))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route(
            "/account/sessions/others/end",
            web::post().to(account::end_other_sessions),
        )
        .route(
            "/account/sessions/{id}/end",
            web::post().to(account::end_session),
        )
        // API tokens
        .route("/account/tokens", web::get().to(tokens::personal))
        .route("/account/tokens", web::post().to(tokens::create_personal))
        .route(
            "/account/tokens/{id}/revoke",
            web::post().to(tokens::revoke_personal),
        )
        .route("/o/{slug}/admin/tokens", web::get().to(tokens::admin_list))
        .route(
            "/o/{slug}/admin/tokens",
            web::post().to(tokens::admin_create),
        )
        .route(
            "/o/{slug}/admin/tokens/{id}/revoke",
            web::post().to(tokens::admin_revoke),
        )
        // Notifications, email addresses and links sent by email
        .configure(mail_routes)
        // Organisations
        .route("/orgs", web::get().to(orgs::list))
        .route("/orgs", web::post().to(orgs::create))
        .route("/orgs/new", web::get().to(orgs::new_form))
        .route("/o/{slug}", web::get().to(orgs::home))
        .route("/o/{slug}/leave", web::post().to(orgs::leave))
        .route("/o/{slug}/settings", web::get().to(orgs::settings))
        .route("/o/{slug}/settings", web::post().to(orgs::rename))
        .route("/o/{slug}/delete", web::post().to(orgs::delete))
        .route("/o/{slug}/members", web::get().to(members::list))
        .route(
            "/o/{slug}/members/{user_id}/role",
            web::post().to(members::change_role),
        )
        .route(
            "/o/{slug}/members/{user_id}/remove",
            web::post().to(members::remove),
        )
        .route("/o/{slug}/invitations", web::post().to(members::invite))
        .route(
            "/o/{slug}/invitations/{id}/revoke",
            web::post().to(members::revoke_invitation),
        )
        .route(
            "/o/{slug}/invitations/{id}/resend",
            web::post().to(members::resend_invitation),
        )
        // My Hub and consumer apps
        .route("/o/{slug}/hub", web::get().to(apps::hub))
        .route("/o/{slug}/apps", web::get().to(apps::list))
        .route("/o/{slug}/apps", web::post().to(app_secrets::create))
        .route("/o/{slug}/apps/new", web::get().to(app_secrets::new_form))
        .route("/o/{slug}/apps/{app_id}", web::get().to(apps::show))
        .route(
            "/o/{slug}/apps/{app_id}/edit",
            web::get().to(apps::edit_form),
        )
        .route("/o/{slug}/apps/{app_id}/edit", web::post().to(apps::update))
        .route(
            "/o/{slug}/apps/{app_id}/rotate",
            web::get().to(app_secrets::rotate_form),
        )
        .route(
            "/o/{slug}/apps/{app_id}/rotate",
            web::post().to(app_secrets::rotate),
        )
        .route(
            "/o/{slug}/apps/{app_id}/reset",
            web::post().to(app_secrets::reset),
        )
        .route(
            "/o/{slug}/apps/{app_id}/keys",
            web::post().to(app_secrets::add_key),
        )
        .route(
            "/o/{slug}/apps/{app_id}/credentials/{credential_id}/retire",
            web::post().to(apps::retire),
        )
        .route(
            "/o/{slug}/apps/{app_id}/transfer",
            web::post().to(apps::transfer),
        )
        .route(
            "/o/{slug}/apps/{app_id}/revoke",
            web::get().to(apps::revoke_form),
        )
        .route(
            "/o/{slug}/apps/{app_id}/revoke",
            web::post().to(apps::revoke),
        )
        .route(
            "/o/{slug}/apps/{app_id}/delete",
            web::get().to(apps::delete_form),
        )
        .route(
            "/o/{slug}/apps/{app_id}/delete",
            web::post().to(apps::delete),
        )
        // API products, subscriptions and approvals
        .route("/o/{slug}/products", web::get().to(products::catalogue))
        .route(
            "/o/{slug}/products/{product}",
            web::get().to(products::docs),
        )
        .route(
            "/o/{slug}/products/{product}/subscribe",
            web::post().to(products::subscribe),
        )
        .service(
            web::resource("/o/{slug}/admin/products")
                .app_data(products::form_payload_limit())
                .route(web::get().to(products::admin_list))
                .route(web::post().to(products::create)),
        )
        .route(
            "/o/{slug}/admin/products/new",
            web::get().to(products::new_form),
        )
        .service(
            web::resource("/o/{slug}/admin/products/{id}")
                .app_data(products::form_payload_limit())
                .route(web::get().to(products::edit_form))
                .route(web::post().to(products::update)),
        )
        .route(
            "/o/{slug}/admin/products/{id}/reference",
            web::post().to(products::save_api_reference),
        )
        .route(
            "/o/{slug}/admin/products/{id}/reference/remove",
            web::post().to(products::remove_api_reference),
        )
        .route(
            "/o/{slug}/products/{product}/openapi.json",
            web::get().to(products::download_api_reference),
        )
        .route(
            "/o/{slug}/admin/products/{id}/archive",
            web::post().to(products::archive),
        )
        .route(
            "/o/{slug}/admin/products/{id}/restore",
            web::post().to(products::restore),
        )
        .route("/o/{slug}/admin/approvals", web::get().to(approvals::queue))
        .route(
            "/o/{slug}/admin/approvals",
            web::post().to(approvals::decide),
        )
        .route(
            "/o/{slug}/admin/approval-settings",
            web::get().to(approvals::settings),
        )
        .route(
            "/o/{slug}/admin/approval-settings",
            web::post().to(approvals::set_mode),
        )
        .route(
            "/o/{slug}/admin/approval-settings/rules",
            web::post().to(approvals::add_rule),
        )
        .route(
            "/o/{slug}/admin/approval-settings/rules/{id}/remove",
            web::post().to(approvals::remove_rule),
        )
        .route(
            "/o/{slug}/apps/{app_id}/subscriptions",
            web::post().to(approvals::request),
        )
        .route(
            "/o/{slug}/apps/{app_id}/subscriptions/{sub_id}/cancel",
            web::post().to(approvals::cancel),
        )
        .route(
            "/o/{slug}/apps/{app_id}/suspend",
            web::post().to(approvals::suspend),
        )
        .route(
            "/o/{slug}/apps/{app_id}/resume",
            web::post().to(approvals::resume),
        )
        // Teams
        .route("/o/{slug}/teams", web::get().to(teams::list))
        .route("/o/{slug}/teams", web::post().to(teams::create))
        .route("/o/{slug}/teams/{team_id}", web::get().to(teams::show))
        .route(
            "/o/{slug}/teams/{team_id}/members",
            web::post().to(teams::add_member),
        )
        .route(
            "/o/{slug}/teams/{team_id}/members/{user_id}/role",
            web::post().to(teams::set_role),
        )
        .route(
            "/o/{slug}/teams/{team_id}/members/{user_id}/remove",
            web::post().to(teams::remove_member),
        )
        .route(
            "/o/{slug}/teams/{team_id}/leave",
            web::post().to(teams::leave),
        )
        // Invitation links (the one place a token travels in a URL)
        .route("/invite/{token}", web::get().to(invite::show))
        .route("/invite/accept", web::post().to(invite::accept))
        .route("/invite/signup", web::post().to(invite::sign_up))
        // Instance owners
        .route("/admin/instance", web::get().to(instance::show))
        .route("/admin/instance", web::post().to(instance::update));
}

/// Inbox, notification settings, email change and verification, password reset by
/// email, and the outbox's dead letters.
fn mail_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(notifications::list))
        .route(
            "/notifications/read-all",
            web::post().to(notifications::mark_all_read),
        )
        .route(
            "/notifications/{id}/read",
            web::post().to(notifications::mark_read),
        )
        .route(
            "/account/notifications",
            web::get().to(notifications::preferences),
        )
        .route(
            "/account/notifications",
            web::post().to(notifications::save_preferences),
        )
        .route("/account/email", web::post().to(account::change_email))
        .route(
            "/account/verify-email/resend",
            web::post().to(account::resend_verification),
        )
        // Links in emails (a token in the URL: single use, never logged)
        .route("/verify-email/{token}", web::get().to(email::verify_form))
        .route("/verify-email", web::post().to(email::verify))
        .route("/forgot-password", web::get().to(email::forgot_form))
        .route("/forgot-password", web::post().to(email::forgot))
        .route("/reset-password/{token}", web::get().to(email::reset_form))
        .route("/reset-password", web::post().to(email::reset))
        .route("/admin/outbox", web::get().to(notifications::outbox))
        .route(
            "/admin/outbox/{id}/retry",
            web::post().to(notifications::retry),
        );
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
