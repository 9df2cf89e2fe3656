//! Who may do what (docs/semantics.md §6): the capabilities of each role and what each
//! principal may see. Every use case checks here, so that no surface can forget a check.

use crate::directory::Principal;
use crate::error::{Error, Result};
use crate::ids::{PrincipalId, UserId};
use crate::values::Role;

/// What an actor needs for a use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Decisions and access events: gateways.
    Gateway,
    /// Own rights and requests: any user.
    OwnRights,
    /// All requests (list, count, approve, deny — never one's own), the directory, rights of
    /// anyone, reports and analytics: admins, DevOps admins and access reviewers.
    Review,
    /// Policies, preview, unlock (never oneself), the audit log: admins and DevOps admins.
    Operate,
    /// Directory edits, settings, webhook deliveries: admins.
    Administer,
    /// Users (never their role), groups and memberships, read and changed: admins and
    /// provisioners.
    Provision,
}

impl Capability {
    /// Whether `role` holds this capability.
    #[must_use]
    pub fn held_by(self, role: Role) -> bool {
        match self {
            Self::Gateway => role == Role::Gateway,
            Self::OwnRights => !role.is_service(),
            Self::Review => matches!(role, Role::Admin | Role::DevopsAdmin | Role::AccessReviewer),
            Self::Operate => matches!(role, Role::Admin | Role::DevopsAdmin),
            Self::Administer => role == Role::Admin,
            Self::Provision => matches!(role, Role::Admin | Role::Provisioner),
        }
    }
}

/// The caller behind an authenticated id, as the directory knows it (`found`): unknown there,
/// unauthenticated; deactivated, refused. Every surface admits its callers here.
pub fn admit(id: &PrincipalId, found: Option<Principal>) -> Result<Principal> {
    let principal =
        found.ok_or_else(|| Error::Unauthenticated(format!("{id} is not in the directory")))?;
    if !principal.active {
        return Err(Error::Inactive(
            "this user or service principal is deactivated".into(),
        ));
    }
    Ok(principal)
}

/// Checks that `actor` is active and holds `capability`.
pub fn require(actor: &Principal, capability: Capability) -> Result<()> {
    require_any(actor, &[capability])
}

/// Whether `actor` is active and holds `capability` (for a surface that hides what it may not
/// use: a button, a menu).
#[must_use]
pub fn may(actor: &Principal, capability: Capability) -> bool {
    actor.active && capability.held_by(actor.role)
}

/// Checks that `actor` holds one of `capabilities`.
pub fn require_any(actor: &Principal, capabilities: &[Capability]) -> Result<()> {
    if capabilities.iter().any(|c| may(actor, *c)) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "role {} may not do this",
            actor.role
        )))
    }
}

/// Who may approve and deny requests: active reviewers, never of their own request.
#[must_use]
pub fn may_resolve_for(actor: &Principal, requester: &UserId) -> bool {
    may(actor, Capability::Review) && actor.id != *requester
}

/// Object-level visibility: a user sees their own rights and requests, reviewers everyone's;
/// another user is told the object does not exist. A gateway sees no user's (forbidden).
pub fn require_sees_user(actor: &Principal, user: &UserId) -> Result<()> {
    require(actor, Capability::OwnRights)?;
    if actor.id == *user || may(actor, Capability::Review) {
        Ok(())
    } else {
        Err(Error::NotFound(format!("user {user}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, role: Role, active: bool) -> Principal {
        Principal {
            id: id.parse().unwrap(),
            role,
            active,
        }
    }

    #[test]
    fn the_matrix_of_roles_and_capabilities() {
        use Capability::*;
        let expected = [
            (Role::Member, [false, true, false, false, false, false]),
            (
                Role::AccessReviewer,
                [false, true, true, false, false, false],
            ),
            (Role::DevopsAdmin, [false, true, true, true, false, false]),
            (Role::Admin, [false, true, true, true, true, true]),
            (Role::Gateway, [true, false, false, false, false, false]),
            (Role::Provisioner, [false, false, false, false, false, true]),
        ];
        for (role, row) in expected {
            let got = [Gateway, OwnRights, Review, Operate, Administer, Provision]
                .map(|c| c.held_by(role));
            assert_eq!(got, row, "{role}");
        }
        assert!(!may(&p("ada", Role::Admin, false), Administer), "inactive");
    }

    #[test]
    fn nobody_resolves_their_own_request_and_members_see_only_their_own() {
        let rita = p("rita", Role::AccessReviewer, true);
        assert!(may_resolve_for(&rita, &"bob".parse().unwrap()));
        assert!(!may_resolve_for(&rita, &"rita".parse().unwrap()));
        let bob = p("bob", Role::Member, true);
        assert!(require_sees_user(&bob, &"bob".parse().unwrap()).is_ok());
        assert!(matches!(
            require_sees_user(&bob, &"carol".parse().unwrap()),
            Err(Error::NotFound(_))
        ));
        let gw = p("bob", Role::Gateway, true);
        assert!(matches!(
            require_sees_user(&gw, &"bob".parse().unwrap()),
            Err(Error::Forbidden(_))
        ));
    }
}
