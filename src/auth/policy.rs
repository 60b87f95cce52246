//! Authorization: the one place that decides who may do what. Every handler asks it
//! (pages and, later, the JSON API). The answer follows one rule: **404** when the actor
//! may not see the resource at all (its existence must not leak), **403** when they may
//! see it but not do this to it.

use crate::error::{AppError, AppResult};
use crate::models::users::User;

/// A member's role in an organisation, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Developer,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Developer => "developer",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "developer" => Some(Self::Developer),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Developer => "Developer",
            Self::Admin => "Admin",
            Self::Owner => "Owner",
        }
    }
}

/// Something done inside an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAction {
    /// See the organisation, its members and teams.
    View,
    /// Invite people, list, revoke and re-send invitations.
    ManageInvitations,
    /// Change a member's role from one to another.
    ChangeRole { from: Role, to: Role },
    /// Remove another member who holds `target`.
    RemoveMember { target: Role },
    /// Leave the organisation oneself.
    Leave,
    /// Rename the organisation.
    EditSettings,
    /// Create, edit and archive API products.
    ManageProducts,
    /// Work the approval queue and change the approval settings.
    DecideApprovals,
    /// Suspend and resume apps.
    SuspendApps,
    /// Delete the organisation and everything in it.
    Delete,
}

const NOT_ADMIN: &str = "Only organisation admins and owners can do this.";
const NOT_OWNER: &str = "Only organisation owners can do this.";

/// May a member holding `role` (`None`: not a member) do `action`?
pub fn org(role: Option<Role>, action: OrgAction) -> AppResult<()> {
    let Some(role) = role else {
        return Err(AppError::NotFound);
    };
    let needs = |min: Role, msg: &str| {
        if role >= min {
            Ok(())
        } else {
            Err(AppError::forbidden(msg))
        }
    };
    match action {
        OrgAction::View | OrgAction::Leave => Ok(()),
        OrgAction::ManageInvitations
        | OrgAction::EditSettings
        | OrgAction::ManageProducts
        | OrgAction::DecideApprovals
        | OrgAction::SuspendApps => needs(Role::Admin, NOT_ADMIN),
        OrgAction::ChangeRole { from, to } => {
            needs(Role::Admin, NOT_ADMIN)?;
            if from == Role::Owner || to == Role::Owner {
                needs(Role::Owner, NOT_OWNER)
            } else {
                Ok(())
            }
        }
        OrgAction::RemoveMember { target } => {
            needs(Role::Admin, NOT_ADMIN)?;
            if target == Role::Owner {
                needs(Role::Owner, NOT_OWNER)
            } else {
                Ok(())
            }
        }
        OrgAction::Delete => needs(Role::Owner, NOT_OWNER),
    }
}

/// A member's role in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TeamRole {
    Member,
    Admin,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Something done to a team of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamAction {
    /// See the team, its members and its apps' list entries.
    View,
    /// Add and remove members, make them team admins, rename or delete the team.
    Manage,
    /// Leave the team oneself.
    Leave,
}

const NOT_TEAM_ADMIN: &str = "Only team admins and organisation admins can do this.";

/// May a member (`org_role`) holding `team_role` in a team (`None`: not in it) do `action`?
/// Every organisation member may see every team.
pub fn team(
    org_role: Option<Role>,
    team_role: Option<TeamRole>,
    action: TeamAction,
) -> AppResult<()> {
    let Some(org_role) = org_role else {
        return Err(AppError::NotFound);
    };
    match action {
        TeamAction::View => Ok(()),
        TeamAction::Leave if team_role.is_some() => Ok(()),
        TeamAction::Leave => Err(AppError::conflict("You are not a member of this team.")),
        TeamAction::Manage if team_role == Some(TeamRole::Admin) || org_role >= Role::Admin => {
            Ok(())
        }
        TeamAction::Manage => Err(AppError::forbidden(NOT_TEAM_ADMIN)),
    }
}

/// How the actor stands to an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRelation {
    /// The app is the actor's own.
    Owner,
    /// The app belongs to a team the actor admins.
    TeamAdmin,
    /// The app belongs to a team the actor is a plain member of.
    TeamMember,
    /// None of these.
    Stranger,
}

/// Something done to a consumer app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    /// See the app, its credentials (never their secrets) and its audit trail.
    View,
    /// Edit, rotate, reset, revoke, delete, transfer away, manage keys.
    Manage,
}

/// May a member (`org_role`) with `relation` to an app do `action`? Developers who
/// are neither its owner nor in its team do not see it at all; org admins see and
/// change every app.
pub fn app(org_role: Option<Role>, relation: AppRelation, action: AppAction) -> AppResult<()> {
    let Some(org_role) = org_role else {
        return Err(AppError::NotFound);
    };
    let admin = org_role >= Role::Admin;
    match (relation, action) {
        (AppRelation::Owner | AppRelation::TeamAdmin, _) => Ok(()),
        (_, _) if admin => Ok(()),
        (AppRelation::TeamMember, AppAction::View) => Ok(()),
        (AppRelation::TeamMember, AppAction::Manage) => Err(AppError::forbidden(
            "Only the team's admins and organisation admins can change this app.",
        )),
        (AppRelation::Stranger, _) => Err(AppError::NotFound),
    }
}

/// Whom an app would belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerTarget {
    /// The actor.
    Myself,
    /// A team of the organisation, in which the actor holds this role (if any).
    Team(Option<TeamRole>),
}

/// Why an owner is being chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerChange {
    /// Creating a new app.
    Create,
    /// Moving an existing app (the actor may already change it).
    Transfer,
}

/// May the actor give an app to `target`? Anyone: to themselves; team admins: to
/// their team; org admins, when moving an app (e.g. an orphaned one): to any team.
pub fn app_owner(
    org_role: Option<Role>,
    target: OwnerTarget,
    change: OwnerChange,
) -> AppResult<()> {
    let Some(org_role) = org_role else {
        return Err(AppError::NotFound);
    };
    match target {
        OwnerTarget::Myself | OwnerTarget::Team(Some(TeamRole::Admin)) => Ok(()),
        OwnerTarget::Team(_) if change == OwnerChange::Transfer && org_role >= Role::Admin => {
            Ok(())
        }
        OwnerTarget::Team(_) => Err(AppError::forbidden(
            "Apps can belong only to you or to a team you admin.",
        )),
    }
}

/// Who may create organisations (an instance setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgCreation {
    Anyone,
    InstanceOwners,
}

/// Something done to the instance as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceAction {
    /// Open the instance settings page and change them.
    ManageSettings,
    /// Create a new organisation.
    CreateOrganisation(OrgCreation),
}

/// May this signed-in user do `action`?
pub fn instance(user: &User, action: InstanceAction) -> AppResult<()> {
    match action {
        InstanceAction::ManageSettings if user.is_instance_owner => Ok(()),
        // The settings page is not shown to anyone else: it does not exist for them.
        InstanceAction::ManageSettings => Err(AppError::NotFound),
        InstanceAction::CreateOrganisation(OrgCreation::Anyone) => Ok(()),
        InstanceAction::CreateOrganisation(OrgCreation::InstanceOwners)
            if user.is_instance_owner =>
        {
            Ok(())
        }
        InstanceAction::CreateOrganisation(OrgCreation::InstanceOwners) => Err(
            AppError::forbidden("On this instance only instance owners can create organisations."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrgAction::*;
    use Role::*;

    fn code(r: AppResult<()>) -> u16 {
        use actix_web::ResponseError;
        match r {
            Ok(()) => 200,
            Err(e) => e.status_code().as_u16(),
        }
    }

    /// Expected outcomes, written out by hand: rows are actions, columns are
    /// non-member, developer, admin, owner.
    #[test]
    fn org_policy_table() {
        let table: &[(OrgAction, [u16; 4])] = &[
            (View, [404, 200, 200, 200]),
            (Leave, [404, 200, 200, 200]),
            (ManageInvitations, [404, 403, 200, 200]),
            (EditSettings, [404, 403, 200, 200]),
            (ManageProducts, [404, 403, 200, 200]),
            (DecideApprovals, [404, 403, 200, 200]),
            (SuspendApps, [404, 403, 200, 200]),
            (Delete, [404, 403, 403, 200]),
            (
                ChangeRole {
                    from: Developer,
                    to: Admin,
                },
                [404, 403, 200, 200],
            ),
            (
                ChangeRole {
                    from: Admin,
                    to: Developer,
                },
                [404, 403, 200, 200],
            ),
            (
                ChangeRole {
                    from: Admin,
                    to: Owner,
                },
                [404, 403, 403, 200],
            ),
            (
                ChangeRole {
                    from: Owner,
                    to: Admin,
                },
                [404, 403, 403, 200],
            ),
            (RemoveMember { target: Developer }, [404, 403, 200, 200]),
            (RemoveMember { target: Admin }, [404, 403, 200, 200]),
            (RemoveMember { target: Owner }, [404, 403, 403, 200]),
        ];
        for (action, expected) in table {
            let got = [
                code(org(None, *action)),
                code(org(Some(Developer), *action)),
                code(org(Some(Admin), *action)),
                code(org(Some(Owner), *action)),
            ];
            assert_eq!(&got, expected, "{action:?}");
        }
    }

    /// Columns: not a member, developer outside the team, team member, team admin,
    /// org admin outside the team.
    #[test]
    fn team_policy_table() {
        let cases: [(Option<Role>, Option<TeamRole>); 5] = [
            (None, None),
            (Some(Developer), None),
            (Some(Developer), Some(TeamRole::Member)),
            (Some(Developer), Some(TeamRole::Admin)),
            (Some(Admin), None),
        ];
        let table: &[(TeamAction, [u16; 5])] = &[
            (TeamAction::View, [404, 200, 200, 200, 200]),
            (TeamAction::Manage, [404, 403, 403, 200, 200]),
            (TeamAction::Leave, [404, 409, 200, 200, 409]),
        ];
        for (action, expected) in table {
            let got: Vec<u16> = cases
                .iter()
                .map(|(o, t)| code(team(*o, *t, *action)))
                .collect();
            assert_eq!(&got[..], &expected[..], "{action:?}");
        }
    }

    /// Columns: not a member, developer, org admin; rows: target × purpose.
    #[test]
    fn app_owner_policy_table() {
        use OwnerChange::*;
        use OwnerTarget::*;
        let roles = [None, Some(Developer), Some(Admin)];
        let table: &[(OwnerTarget, OwnerChange, [u16; 3])] = &[
            (Myself, Create, [404, 200, 200]),
            (Myself, Transfer, [404, 200, 200]),
            (Team(Some(TeamRole::Admin)), Create, [404, 200, 200]),
            (Team(Some(TeamRole::Admin)), Transfer, [404, 200, 200]),
            (Team(Some(TeamRole::Member)), Create, [404, 403, 403]),
            (Team(Some(TeamRole::Member)), Transfer, [404, 403, 200]),
            (Team(None), Create, [404, 403, 403]),
            (Team(None), Transfer, [404, 403, 200]),
        ];
        for (target, change, expected) in table {
            let got: Vec<u16> = roles
                .iter()
                .map(|r| code(app_owner(*r, *target, *change)))
                .collect();
            assert_eq!(&got[..], &expected[..], "{target:?} {change:?}");
        }
    }

    /// Columns: not a member, stranger developer, team member, team admin, owner,
    /// org admin stranger.
    #[test]
    fn app_policy_table() {
        use AppRelation::*;
        let cases = [
            (None, Owner),
            (Some(Developer), Stranger),
            (Some(Developer), TeamMember),
            (Some(Developer), TeamAdmin),
            (Some(Developer), Owner),
            (Some(Admin), Stranger),
        ];
        let table: &[(AppAction, [u16; 6])] = &[
            (AppAction::View, [404, 404, 200, 200, 200, 200]),
            (AppAction::Manage, [404, 404, 403, 200, 200, 200]),
        ];
        for (action, expected) in table {
            let got: Vec<u16> = cases
                .iter()
                .map(|(o, r)| code(app(*o, *r, *action)))
                .collect();
            assert_eq!(&got[..], &expected[..], "{action:?}");
        }
    }
}
