//! Instance settings, for instance owners.

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::policy::{self, InstanceAction, OrgCreation};
use crate::auth::{SignedIn, State};
use crate::error::{AppError, AppResult};
use crate::handlers::service_ctx;
use crate::models::users;
use crate::services::{self, instance::InstanceSettings};
use crate::web::{PageCtx, render, see_other_with};

#[derive(Template)]
#[template(path = "admin/instance.html")]
pub struct InstancePage {
    pub ctx: PageCtx,
    pub open_signup: bool,
    pub owners_only: bool,
    pub owners: Vec<(String, String)>,
}

pub async fn show(ctx: PageCtx, me: SignedIn, state: State) -> AppResult<HttpResponse> {
    policy::instance(&me.user, InstanceAction::ManageSettings)?;
    let (settings, owners) = state
        .db(|conn| {
            Ok((
                services::instance::load(conn)?,
                users::instance_owners(conn)?,
            ))
        })
        .await?;
    render(&InstancePage {
        ctx,
        open_signup: settings.open_signup,
        owners_only: settings.org_creation == OrgCreation::InstanceOwners,
        owners: owners
            .into_iter()
            .map(|u| (u.display_name, u.email))
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
pub struct InstanceForm {
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub open_signup: Option<String>,
    pub org_creation: String,
}

pub async fn update(
    req: HttpRequest,
    me: SignedIn,
    state: State,
    CsrfForm(form): CsrfForm<InstanceForm>,
) -> AppResult<HttpResponse> {
    policy::instance(&me.user, InstanceAction::ManageSettings)?;
    let org_creation = match form.org_creation.as_str() {
        "anyone" => OrgCreation::Anyone,
        "instance_owners" => OrgCreation::InstanceOwners,
        _ => {
            return Err(AppError::bad_request(
                "Choose who may create organisations: anyone or instance owners.",
            ));
        }
    };
    let new = InstanceSettings {
        open_signup: form.open_signup.is_some(),
        org_creation,
    };
    let c = service_ctx(&req, &state, Some(&me.user.id));
    state
        .db(move |conn| services::instance::save(conn, &c, new))
        .await?;
    Ok(see_other_with(
        &req,
        "/admin/instance",
        "info",
        "Instance settings saved.",
    ))
}
