//! Invitations to join the organisation: listing, sending, revoking and re-sending
//! them.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{check_id, no_content, unacceptable};
use crate::api_list;
use crate::auth::State;
use crate::auth::api::ApiActor;
use crate::auth::policy::{OrgAction, Role};
use crate::crypto::SecretString;
use crate::error::{AppError, AppResult};
use crate::handlers::api::support::{self, Created, PageQuery, Time, create_once, json, time};
use crate::models::invitations::Invitation;
use crate::services;
use crate::validate;

/// The role an invitation grants (people become owners only once they have joined).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationRole {
    Developer,
    Admin,
}

/// Whether an open invitation's link still works.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// The link works until `expires_at`.
    Pending,
    /// The link has expired; re-send the invitation for a new one.
    Expired,
}

/// A 200 that holds a one-time secret: never stored by caches.
fn json_no_store<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// An open invitation (neither accepted nor revoked).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: String,
    pub email: String,
    #[schema(value_type = InvitationRole)]
    pub role: String,
    pub status: InvitationStatus,
    /// The user id of the admin who sent it.
    pub invited_by: String,
    pub created_at: Time,
    /// When the current link stops working.
    pub expires_at: Time,
}

impl InvitationOut {
    fn new(inv: Invitation, now: chrono::NaiveDateTime) -> Self {
        Self {
            status: if inv.expires_at <= now {
                InvitationStatus::Expired
            } else {
                InvitationStatus::Pending
            },
            id: inv.id,
            email: inv.email,
            role: inv.role,
            invited_by: inv.invited_by,
            created_at: time(inv.created_at),
            expires_at: time(inv.expires_at),
        }
    }
}

api_list!(InvitationList, InvitationOut);

/// An invitation with its one-time link.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationLinkOut {
    #[serde(flatten)]
    pub invitation: InvitationOut,
    /// A link that lets the invited person join: shown only in this response (they
    /// are also emailed a link of their own; once either is used, neither works). A
    /// replay of the request shows a note instead.
    pub accept_url: String,
}

impl InvitationLinkOut {
    fn new(
        state: &State,
        token: &SecretString,
        inv: Invitation,
        now: chrono::NaiveDateTime,
    ) -> Self {
        Self {
            accept_url: format!("{}/invite/{}", state.public_base(), token.expose()),
            invitation: InvitationOut::new(inv, now),
        }
    }
}

/// The open invitations (admins only).
#[utoipa::path(get, path = "/api/v1/invitations", tag = "organisation",
    params(PageQuery),
    responses((status = 200, body = InvitationList, description = "The open invitations, expired ones included.")))]
pub async fn list_invitations(
    actor: ApiActor,
    state: State,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageInvitations)?;
    let window = query.window()?;
    let org = actor.org.clone();
    let now = actor.ctx.now;
    let open = state
        .db(move |conn| services::invitations::list_open(conn, &org, &window, false))
        .await?;
    let page = support::Paged::from(open.map(|i| InvitationOut::new(i, now)));
    Ok(json(&InvitationList::from(page)))
}

/// A new invitation.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct InvitationIn {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(value_type = InvitationRole)]
    pub role: String,
}

const CHOOSE_INVITATION_ROLE: &str = "role must be developer or admin.";

/// Invites someone by email (admins only). A link is emailed to them, and another is
/// returned once, in `accept_url`; either works, once.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "organisation",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
            pattern = "^[!-~]+$", description = "Send the same key to retry without inviting twice.")),
    request_body = InvitationIn,
    responses((status = 201, body = InvitationLinkOut, description = "The invitation and its link.")))]
pub async fn create_invitation(
    actor: ApiActor,
    state: State,
    body: web::Json<InvitationIn>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageInvitations)?;
    let input = body.into_inner();
    let mut errors = Vec::new();
    let email = validate::email(&input.email)
        .map_err(|e| errors.push(e))
        .ok();
    let role = match Role::parse(&input.role) {
        Some(role @ (Role::Developer | Role::Admin)) => Some(role),
        _ => {
            errors.push(CHOOSE_INVITATION_ROLE.into());
            None
        }
    };
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let (ctx, org, inviter) = (actor.ctx.clone(), actor.org.clone(), actor.user.id.clone());
    let st = state.clone();
    create_once(&state, &actor, &req, &input, move |conn| {
        let base = st.public_base();
        let (token, inv) =
            services::invitations::create(conn, &ctx, &org, &inviter, &email, role, &base)
                .map_err(unacceptable)?;
        Created::new(&InvitationLinkOut::new(&st, &token, inv, ctx.now), None)
    })
    .await
}

/// Revokes an open invitation: its link stops working (admins only).
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "organisation",
    params(("id" = String, Path, description = "The invitation's id.")),
    responses((status = 204, description = "The invitation is revoked.")))]
pub async fn revoke_invitation(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageInvitations)?;
    let id = path.into_inner();
    check_id(&id)?;
    let (ctx, org) = (actor.ctx.clone(), actor.org.clone());
    state
        .db(move |conn| services::invitations::revoke(conn, &ctx, &org, &id))
        .await?;
    Ok(no_content())
}

/// Re-sends an open invitation with a new link and a new expiry; the old link stops
/// working (admins only).
#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "organisation",
    params(("id" = String, Path, description = "The invitation's id.")),
    responses((status = 200, body = InvitationLinkOut, description = "The invitation and its new link.")))]
pub async fn resend_invitation(
    actor: ApiActor,
    state: State,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.authorize(OrgAction::ManageInvitations)?;
    let id = path.into_inner();
    check_id(&id)?;
    let (ctx, org) = (actor.ctx.clone(), actor.org.clone());
    let base = state.public_base();
    let now = ctx.now;
    let (token, inv) = state
        .db(move |conn| services::invitations::resend(conn, &ctx, &org, &id, &base))
        .await?;
    Ok(json_no_store(&InvitationLinkOut::new(
        &state, &token, inv, now,
    )))
}
