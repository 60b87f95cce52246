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
        OrgAction::ManageInvitations | OrgAction::EditSettings => needs(Role::Admin, NOT_ADMIN),
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
}
