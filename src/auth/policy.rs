//! Authorization: the one place that decides who may do what. Every handler asks it
//! (pages and the JSON API). The answer follows one rule: **404** when the actor may not
//! see the resource at all (its existence must not leak; [`AppError::Hidden`], whose
//! reason only the log sees), **403** when they may see it but not do this to it.

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
    /// Create, list and revoke the organisation's admin API tokens.
    ManageAdminTokens,
    /// Create, list and revoke the gateway tokens API gateways verify keys with.
    ManageGatewayTokens,
    /// Delete the organisation and everything in it.
    Delete,
}

const NOT_ADMIN: &str = "Only organisation admins and owners can do this.";
/// The logged reason of a non-member's 404.
const NOT_MEMBER: &str = "not a member of the organisation";
const NOT_OWNER: &str = "Only organisation owners can do this.";

/// May a member holding `role` (`None`: not a member) do `action`?
pub fn org(role: Option<Role>, action: OrgAction) -> AppResult<()> {
    let Some(role) = role else {
        return Err(AppError::Hidden(NOT_MEMBER));
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
        | OrgAction::SuspendApps
        | OrgAction::ManageAdminTokens
        | OrgAction::ManageGatewayTokens => needs(Role::Admin, NOT_ADMIN),
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

/// The organisation pages a member may open, so the layout shows them only the tabs
/// that lead somewhere: each flag is the answer [`org`] gives for the action that
/// page's handler checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgTabs {
    /// The approval queue (`DecideApprovals`).
    pub approvals: bool,
    /// The organisation's admin API tokens (`ManageAdminTokens`).
    pub api_tokens: bool,
    /// The organisation's gateway tokens (`ManageGatewayTokens`).
    pub gateway_tokens: bool,
    /// Renaming and deleting the organisation (`EditSettings`).
    pub settings: bool,
}

/// The tabs a member holding `role` (`None`: not a member, so none) may see.
pub fn org_tabs(role: Option<Role>) -> OrgTabs {
    let may = |action| org(role, action).is_ok();
    OrgTabs {
        approvals: may(OrgAction::DecideApprovals),
        api_tokens: may(OrgAction::ManageAdminTokens),
        gateway_tokens: may(OrgAction::ManageGatewayTokens),
        settings: may(OrgAction::EditSettings),
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
        return Err(AppError::Hidden(NOT_MEMBER));
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
        return Err(AppError::Hidden(NOT_MEMBER));
    };
    let admin = org_role >= Role::Admin;
    match (relation, action) {
        (AppRelation::Owner | AppRelation::TeamAdmin, _) => Ok(()),
        (_, _) if admin => Ok(()),
        (AppRelation::TeamMember, AppAction::View) => Ok(()),
        (AppRelation::TeamMember, AppAction::Manage) => Err(AppError::forbidden(
            "Only the team's admins and organisation admins can change this app.",
        )),
        (AppRelation::Stranger, _) => Err(AppError::Hidden(
            "not the app's owner, in its team or an organisation admin",
        )),
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

/// May the actor give an app to `target`? Anyone: to themselves; team admins: to
/// their team; org admins: to any team (creating for it, or moving an orphaned app).
pub fn app_owner(org_role: Option<Role>, target: OwnerTarget) -> AppResult<()> {
    let Some(org_role) = org_role else {
        return Err(AppError::Hidden(NOT_MEMBER));
    };
    match target {
        OwnerTarget::Myself | OwnerTarget::Team(Some(TeamRole::Admin)) => Ok(()),
        OwnerTarget::Team(_) if org_role >= Role::Admin => Ok(()),
        OwnerTarget::Team(_) => Err(AppError::forbidden(
            "Apps can belong only to you or to a team you admin.",
        )),
    }
}

/// What an API token may do: read (GET) only, or read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAccess {
    Read,
    Write,
}

impl TokenAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }
}

/// The role an API token acts with, given its creator's current role in the
/// organisation (`None`: no longer a member). `None`: the token no longer works.
/// Personal tokens carry the member's own role; admin tokens carry admin rights
/// while their creator is an admin or owner, and nothing once they are not.
pub fn token_role(admin_token: bool, member_role: Option<Role>) -> Option<Role> {
    match (admin_token, member_role) {
        (_, None) => None,
        (false, role) => role,
        (true, Some(role)) if role >= Role::Admin => Some(Role::Admin),
        (true, Some(_)) => None,
    }
}

/// May a token with `access` make a request that changes state (`write`)?
pub fn token_request(access: TokenAccess, write: bool) -> AppResult<()> {
    match (access, write) {
        (TokenAccess::Read, true) => Err(AppError::forbidden(
            "This API token is read-only: it cannot change anything. Use a read-write token.",
        )),
        _ => Ok(()),
    }
}

/// May the actor revoke a token? Anyone their own; org admins any admin token of
/// their organisation. Nobody else sees the token (404, as for an id that does not
/// exist): other people's personal tokens are never listed, and admin tokens are
/// listed only to admins.
pub fn revoke_token(
    actor_id: &str,
    org_role: Option<Role>,
    token_user_id: &str,
    admin_token: bool,
) -> AppResult<()> {
    if actor_id == token_user_id {
        return Ok(());
    }
    if !admin_token {
        return Err(AppError::Hidden("another person's personal token"));
    }
    match org(org_role, OrgAction::ManageAdminTokens) {
        Err(AppError::Forbidden(_)) => Err(AppError::Hidden(
            "another person's admin token, and not an organisation admin",
        )),
        other => other,
    }
}

/// May the actor see one gateway token of the organisation (to read or revoke it)?
/// Org admins and owners; to anyone else the token does not exist (404, as for an id
/// never issued), since they cannot list them either.
pub fn gateway_token(org_role: Option<Role>) -> AppResult<()> {
    match org(org_role, OrgAction::ManageGatewayTokens) {
        Err(AppError::Forbidden(_)) => Err(AppError::Hidden(
            "a gateway token, and not an organisation admin",
        )),
        other => other,
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
        InstanceAction::ManageSettings => Err(AppError::Hidden("not an instance owner")),
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
            (ManageAdminTokens, [404, 403, 200, 200]),
            (ManageGatewayTokens, [404, 403, 200, 200]),
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

    /// Columns: not a member, developer, org admin; rows: the new owner.
    #[test]
    fn app_owner_policy_table() {
        use OwnerTarget::*;
        let roles = [None, Some(Developer), Some(Admin)];
        let table: &[(OwnerTarget, [u16; 3])] = &[
            (Myself, [404, 200, 200]),
            (Team(Some(TeamRole::Admin)), [404, 200, 200]),
            (Team(Some(TeamRole::Member)), [404, 403, 200]),
            (Team(None), [404, 403, 200]),
        ];
        for (target, expected) in table {
            let got: Vec<u16> = roles.iter().map(|r| code(app_owner(*r, *target))).collect();
            assert_eq!(&got[..], &expected[..], "{target:?}");
        }
    }

    #[test]
    fn token_tables() {
        // Rows: personal / admin token; columns: creator not a member, developer,
        // admin, owner.
        let roles = [None, Some(Developer), Some(Admin), Some(Owner)];
        let personal: Vec<_> = roles.iter().map(|r| token_role(false, *r)).collect();
        assert_eq!(personal, [None, Some(Developer), Some(Admin), Some(Owner)]);
        let admin: Vec<_> = roles.iter().map(|r| token_role(true, *r)).collect();
        assert_eq!(admin, [None, None, Some(Admin), Some(Admin)]);

        assert_eq!(code(token_request(TokenAccess::Read, false)), 200);
        assert_eq!(code(token_request(TokenAccess::Read, true)), 403);
        assert_eq!(code(token_request(TokenAccess::Write, true)), 200);

        // Own tokens: always; someone else's admin token: org admins (nobody else sees
        // it); someone else's personal token: never visible.
        assert_eq!(code(revoke_token("a", Some(Developer), "a", false)), 200);
        assert_eq!(code(revoke_token("a", Some(Developer), "b", true)), 404);
        assert_eq!(code(revoke_token("a", Some(Admin), "b", true)), 200);
        assert_eq!(code(revoke_token("a", Some(Owner), "b", false)), 404);
        assert_eq!(code(revoke_token("a", None, "b", true)), 404);

        // One gateway token (read, revoke): admins and owners; hidden from the rest.
        let gateway: Vec<_> = roles.iter().map(|r| code(gateway_token(*r))).collect();
        assert_eq!(gateway, [404, 404, 200, 200]);
        let tabs: Vec<_> = roles.iter().map(|r| org_tabs(*r).gateway_tokens).collect();
        assert_eq!(tabs, [false, false, true, true]);
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
