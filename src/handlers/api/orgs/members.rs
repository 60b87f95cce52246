//! The organisation's members: listing and reading them, changing their roles and
//! removing them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{OrgRole, SearchQuery, check_id, no_content, search_text, unacceptable};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{self, OrgAction, Role};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{
    self, IfMatch, PageQuery, Problem, Time, etag_of, json, json_with_etag, time,
};
use crate::models::orgs::{self as org_model, MemberSort};
use crate::models::users::{self, User};
use crate::services;

/// A member of the organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = OrgRole)]
    pub role: String,
    pub joined_at: Time,
}

impl MemberOut {
    fn new(user: User, membership: org_model::Membership) -> Self {
        Self {
            user_id: user.id,
            email: user.email,
            display_name: user.display_name,
            role: membership.role,
            joined_at: time(membership.created_at),
        }
    }
}

api_list!(MemberList, MemberOut);

/// The member `user_id` of `org_id`, or 404.
fn load_member(conn: &mut DbConnection, org_id: &str, user_id: &str) -> AppResult<MemberOut> {
    let membership = org_model::membership(conn, org_id, user_id)?.ok_or(AppError::NotFound)?;
    let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
    Ok(MemberOut::new(user, membership))
}

/// The organisation's members, in the order of their user ids.
#[utoipa::path(get, path = "/api/v1/members", tag = "organisation",
    params(SearchQuery, PageQuery),
    responses((status = 200, body = MemberList, description = "The members.")))]
pub async fn list_members(
    actor: ApiActor,
    state: State,
    search: web::Query<SearchQuery>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::View)?;
    let q = search_text(search.q.as_deref())?;
    let window = query.window()?;
    let org_id = actor.org.id.clone();
    let members = state
        .db(move |conn| {
            Ok(org_model::members_page(
                conn,
                &org_id,
                &q,
                MemberSort::Id,
                &window,
            )?)
        })
        .await?;
    let page = support::Paged::from(members.map(|(u, m)| MemberOut::new(u, m)));
    Ok(json(&MemberList::from(page)))
}

/// One member, with an ETag for `If-Match` on a role change.
#[utoipa::path(get, path = "/api/v1/members/{user_id}", tag = "organisation",
    params(("user_id" = String, Path, description = "The member's user id.")),
    responses((status = 200, body = MemberOut, description = "The member.",
        headers(("ETag" = String, description = "Send it in If-Match to change the role safely.")))))]
pub async fn get_member(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::View)?;
    let user_id = path.into_inner();
    check_id(&user_id)?;
    let org_id = actor.org.id.clone();
    let member = state
        .db(move |conn| load_member(conn, &org_id, &user_id))
        .await?;
    json_with_etag(StatusCode::OK, &member)
}

/// A new organisation role.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct MemberRoleIn {
    #[schema(value_type = OrgRole)]
    pub role: String,
}

const CHOOSE_ORG_ROLE: &str = "role must be one of developer, admin or owner.";

/// Changes a member's role. Admins move members between developer and admin; only
/// owners make or unmake owners; the last owner keeps the role.
#[utoipa::path(patch, path = "/api/v1/members/{user_id}", tag = "organisation",
    params(
        ("user_id" = String, Path, description = "The member's user id."),
        ("If-Match" = Option<String>, Header, description = "The member's ETag: refuse the change if the member changed since.")),
    request_body = MemberRoleIn,
    responses(
        (status = 200, body = MemberOut, description = "The member with the new role.",
            headers(("ETag" = String, description = "The member's new ETag."))),
        (status = 412, body = Problem, content_type = "application/problem+json",
            description = "If-Match names a version of the member that is no longer current.")))]
pub async fn change_member_role(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
    body: web::Json<MemberRoleIn>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::View)?;
    let if_match = IfMatch::from_req(&req)?;
    let target = path.into_inner();
    check_id(&target)?;
    let new_role = Role::parse(&body.role).ok_or_else(|| AppError::invalid(CHOOSE_ORG_ROLE))?;
    let (ctx, org, actor_role) = (actor.ctx.clone(), actor.org.clone(), actor.role);
    let member = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let current = load_member(conn, &org.id, &target)?;
                let from = Role::parse(&current.role)
                    .ok_or_else(|| AppError::internal("member with an unknown role"))?;
                policy::org(
                    Some(actor_role),
                    OrgAction::ChangeRole { from, to: new_role },
                )?;
                if_match.check(&etag_of(&current)?)?;
                services::orgs::change_role(conn, &ctx, &org, actor_role, &target, new_role)
                    .map_err(unacceptable)?;
                load_member(conn, &org.id, &target)
            })
        })
        .await?;
    json_with_etag(StatusCode::OK, &member)
}

/// Removes a member: their sessions end and their personal apps are suspended. To
/// leave the organisation yourself, use the portal.
#[utoipa::path(delete, path = "/api/v1/members/{user_id}", tag = "organisation",
    params(("user_id" = String, Path, description = "The member's user id.")),
    responses((status = 204, description = "The member is removed.")))]
pub async fn remove_member(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::View)?;
    let target = path.into_inner();
    check_id(&target)?;
    if target == actor.user.id {
        return Err(AppError::invalid(
            "To remove yourself, leave the organisation from its overview page in the portal.",
        ));
    }
    let (ctx, org, actor_role) = (actor.ctx.clone(), actor.org.clone(), actor.role);
    state
        .db(move |conn| {
            services::orgs::remove_member(conn, &ctx, &org, actor_role, &target)
                .map_err(unacceptable)
        })
        .await?;
    Ok(no_content())
}
