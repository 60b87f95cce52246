//! The organisation in the API: the token's organisation, its members and their
//! roles, invitations, and teams with their members. Every endpoint acts on the
//! token's own organisation, asks `auth::policy` and calls the same services (with
//! the same validation and audit entries) as the portal pages.
//!
//! This module holds the organisation itself, what the parts share, the routes and
//! the OpenAPI document; members, invitations and teams live in their submodules.

pub mod invitations;
pub mod members;
pub mod teams;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::support::{Time, check_id, json, time, unacceptable};
use crate::auth::api::ApiActor;
use crate::auth::policy::OrgAction;
use crate::error::{AppError, AppResult};
use crate::methods;

#[derive(OpenApi)]
#[openapi(paths(
    get_org,
    members::list_members,
    members::get_member,
    members::change_member_role,
    members::remove_member,
    invitations::list_invitations,
    invitations::create_invitation,
    invitations::revoke_invitation,
    invitations::resend_invitation,
    teams::list_teams,
    teams::create_team,
    teams::get_team,
    teams::add_team_member,
    teams::change_team_member_role,
    teams::remove_team_member,
))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/org", methods::get().to(get_org))
        .route("/members", methods::get().to(members::list_members))
        .route("/members/{user_id}", methods::get().to(members::get_member))
        .route(
            "/members/{user_id}",
            methods::patch().to(members::change_member_role),
        )
        .route(
            "/members/{user_id}",
            methods::delete().to(members::remove_member),
        )
        .route(
            "/invitations",
            methods::get().to(invitations::list_invitations),
        )
        .route(
            "/invitations",
            methods::post().to(invitations::create_invitation),
        )
        .route(
            "/invitations/{id}",
            methods::delete().to(invitations::revoke_invitation),
        )
        .route(
            "/invitations/{id}/resend",
            methods::post().to(invitations::resend_invitation),
        )
        .route("/teams", methods::get().to(teams::list_teams))
        .route("/teams", methods::post().to(teams::create_team))
        .route("/teams/{id}", methods::get().to(teams::get_team))
        .route(
            "/teams/{id}/members",
            methods::post().to(teams::add_team_member),
        )
        .route(
            "/teams/{id}/members/{user_id}",
            methods::patch().to(teams::change_team_member_role),
        )
        .route(
            "/teams/{id}/members/{user_id}",
            methods::delete().to(teams::remove_team_member),
        );
}

// ---------------------------------------------------------------------------
// Shared pieces

/// A member's role in the organisation.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    Developer,
    Admin,
    Owner,
}

/// What kind of API token is calling.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallerTokenKind {
    /// A personal access token: the member's own rights.
    Personal,
    /// An organisation admin token: admin rights while its creator is an admin.
    Admin,
}

/// What the calling token may do.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallerTokenAccess {
    Read,
    Write,
}

/// `Path` ids that cannot name anything are a 404, like ids that name nothing.
fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// The search string of `?q=`: at most 100 characters, control characters dropped.
fn search_text(q: Option<&str>) -> AppResult<String> {
    let q = q.unwrap_or("");
    if q.chars().count() > SEARCH_MAX {
        return Err(AppError::bad_request(format!(
            "q must be at most {SEARCH_MAX} characters."
        )));
    }
    Ok(crate::models::page::search_key(q))
}

const SEARCH_MAX: usize = 100;

/// `?q=` on the member and team lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Only items whose name (or, for members, email) starts with this, ignoring
    /// case, or whose id is exactly this.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

// ---------------------------------------------------------------------------
// The organisation

/// The token's organisation and how the caller stands in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: Time,
    /// The role the token acts with (an admin token acts as `admin`).
    #[schema(value_type = OrgRole)]
    pub role: String,
    #[schema(value_type = CallerTokenKind)]
    pub token_kind: String,
    #[schema(value_type = CallerTokenAccess)]
    pub token_access: String,
}

/// The organisation the token belongs to.
#[utoipa::path(get, path = "/api/v1/org", tag = "organisation",
    responses((status = 200, body = OrgOut, description = "The organisation.")))]
pub async fn get_org(actor: ApiActor) -> AppResult<HttpResponse> {
    let role = actor.authorize(OrgAction::View)?;
    let org = &actor.org;
    Ok(json(&OrgOut {
        id: org.id.clone(),
        slug: org.slug.clone(),
        name: org.name.clone(),
        created_at: time(org.created_at),
        role: role.as_str().to_string(),
        token_kind: actor.token.kind.clone(),
        token_access: actor.token.access.clone(),
    }))
}
