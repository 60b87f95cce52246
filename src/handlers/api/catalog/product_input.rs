//! Turning the product bodies into the product service's checked input, with the
//! same rules (and the same messages) as the product form in the portal.

use super::product_schemas::ProductUpdate;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::models::products as product_model;
use crate::models::teams;
use crate::services::products::{ProductForm, ProductInput, check};
use crate::validate;

const TEAMS_MAX: usize = 100;
const SCOPES_MAX: usize = 50;

pub(super) fn number(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// Problems with list values the form's comma- and space-joined fields cannot show.
fn list_problems(teams: &[String], scopes: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    if teams.len() > TEAMS_MAX {
        errors.push(format!("Choose at most {TEAMS_MAX} teams."));
    } else if teams.iter().any(|t| !validate::is_id_like(t)) {
        errors.push("teams names a team that is not in this organisation.".into());
    }
    if scopes.len() > SCOPES_MAX
        || scopes
            .iter()
            .any(|s| s.is_empty() || s.chars().any(char::is_whitespace))
    {
        errors.push(
            "Scopes are up to 50 words of letters, digits and : . _ - /, each without spaces."
                .into(),
        );
    }
    errors
}

/// Checks the form with the product service's rules plus the list checks; every
/// problem is reported together (422).
pub(super) fn check_product(
    form: &ProductForm,
    teams: &[String],
    scopes: &[String],
) -> AppResult<ProductInput> {
    let mut errors = list_problems(teams, scopes);
    match check(form) {
        Ok(input) if errors.is_empty() => Ok(input),
        Ok(_) => Err(AppError::Invalid(errors)),
        Err(mut more) => {
            more.append(&mut errors);
            Err(AppError::Invalid(more))
        }
    }
}

/// Team ids, each once, in a stable order.
pub(super) fn team_list(teams: &[String]) -> Vec<String> {
    let mut list = teams.to_vec();
    list.sort();
    list.dedup();
    list
}

/// The product's teams must be teams of the organisation (422, not the form's 400).
pub(super) fn ensure_teams(
    conn: &mut DbConnection,
    org_id: &str,
    input: &ProductInput,
) -> AppResult<()> {
    for id in &input.members_only_of_teams {
        if teams::find_in_org(conn, org_id, id)?.is_none() {
            return Err(AppError::invalid(format!(
                "teams names {id:?}, which is not a team of this organisation."
            )));
        }
    }
    Ok(())
}

/// The checked input for `p` with `changes` applied.
pub(super) fn changed_input(
    p: &product_model::Product,
    current_teams: &[String],
    changes: &ProductUpdate,
) -> AppResult<ProductInput> {
    if let Some(slug) = &changes.slug
        && *slug != p.slug
    {
        return Err(AppError::invalid(
            "The slug names the product in links; it does not change.",
        ));
    }
    let mut form = ProductForm::of(p, current_teams);
    let teams = match &changes.teams {
        Some(t) => team_list(t),
        None => team_list(current_teams),
    };
    form.teams = teams.join(",");
    let scopes: Vec<String> = match &changes.scopes {
        Some(s) => s.clone(),
        None => p.scopes.split_whitespace().map(str::to_string).collect(),
    };
    form.scopes = scopes.join(" ");
    if let Some(name) = &changes.name {
        form.name = name.clone();
    }
    if let Some(mode) = changes.approval_mode {
        form.approval_mode = mode.as_str().into();
    }
    if let Some(summary) = &changes.summary {
        form.summary = summary.clone();
    }
    if let Some(docs) = &changes.docs_markdown {
        form.docs_markdown = docs.clone();
    }
    if let Some(visibility) = changes.visibility {
        form.visibility = visibility.as_str().into();
    }
    if let Some(limit) = changes.quota_limit {
        form.quota_limit = number(limit);
    }
    if let Some(period) = changes.quota_period {
        form.quota_period = period.map(|p| p.as_str().to_string()).unwrap_or_default();
    }
    if let Some(rate) = changes.rate_limit_per_second {
        form.rate_limit_per_second = number(rate);
    }
    if let Some(days) = changes.max_credential_lifetime_days {
        form.max_credential_lifetime_days = number(days);
    }
    check_product(&form, &teams, &scopes)
}
