//! Access requests and their state machine (docs/semantics.md §3):
//! `open` -> `approved` | `denied` | `cancelled`, or stored already `auto_approved`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::directory::Principal;
use crate::ids::{PrincipalId, RequestId, ResourceId, UserId};
use crate::policy::ApprovalMode;
use crate::values::Reason;

/// Where a request stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for an approver.
    Open,
    /// An approver approved it (or an admin unlocked the user): the right was unlocked.
    Approved,
    /// An approver denied it: the right stays locked.
    Denied,
    /// The lock went away otherwise (a revert), the user lost every path or was deactivated.
    Cancelled,
    /// Automatic approval: stored resolved, the right unlocked at once.
    AutoApproved,
}

impl RequestStatus {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Cancelled => "cancelled",
            Self::AutoApproved => "auto_approved",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Approved,
            Self::Denied,
            Self::Cancelled,
            Self::AutoApproved,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Why a request was cancelled.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// A late access event proved the lock wrong and lifted it.
    Reverted,
    /// The user no longer holds any path to the resource.
    NoPath,
    /// The user was deactivated.
    Deactivated,
}

/// An approver's verdict.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Unlock the right.
    Approve,
    /// Keep it locked.
    Deny,
}

impl Verdict {
    fn status(self) -> RequestStatus {
        match self {
            Self::Approve => RequestStatus::Approved,
            Self::Deny => RequestStatus::Denied,
        }
    }
}

/// A locked user's request to regain a right.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub id: RequestId,
    /// The requester.
    pub user: UserId,
    pub resource: ResourceId,
    /// The requester's reason.
    pub reason: Reason,
    /// The approval method in force when it was filed.
    pub approval: ApprovalMode,
    /// The instant of the lock it asks to lift.
    pub locked_at: DateTime<Utc>,
    /// Where it stands.
    pub status: RequestStatus,
    /// When it was filed (a repeated submission does not move it).
    pub requested_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it (the approver, the admin who unlocked, the requester when automatic).
    pub resolved_by: Option<PrincipalId>,
    /// Why it was cancelled.
    pub cancel_reason: Option<CancelReason>,
}

/// Why a resolution is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The actor may not resolve requests.
    #[error("{0}")]
    Forbidden(&'static str),
    /// It is the actor's own request.
    #[error("{0}")]
    OwnRequest(&'static str),
    /// It was resolved already, otherwise.
    #[error("request is already {0}")]
    AlreadyResolved(&'static str),
}

/// What a resolution does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The request is resolved now: write it.
    Resolved(AccessRequest),
    /// The same actor repeated the same verdict: nothing to write, answer the stored result.
    Repeated,
}

impl AccessRequest {
    /// Whether it still waits for an approver.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.status == RequestStatus::Open
    }

    /// An approver's verdict (docs/semantics.md §3): approvers are active admins, DevOps admins and access
    /// reviewers, never the requester; a request resolves once; the same actor repeating the
    /// same verdict gets the stored result.
    pub fn resolve(
        &self,
        actor: &Principal,
        verdict: Verdict,
        at: DateTime<Utc>,
    ) -> Result<Resolution, ResolveError> {
        if !crate::authz::may(actor, crate::authz::Capability::Review) {
            return Err(ResolveError::Forbidden(
                "only admins, DevOps admins and access reviewers resolve requests",
            ));
        }
        if actor.id == self.user {
            return Err(ResolveError::OwnRequest(
                "nobody resolves their own request",
            ));
        }
        if !self.is_open() {
            if self.status == verdict.status() && self.resolved_by.as_ref() == Some(&actor.id) {
                return Ok(Resolution::Repeated);
            }
            return Err(ResolveError::AlreadyResolved(self.status.as_str()));
        }
        Ok(Resolution::Resolved(self.closed(
            verdict.status(),
            actor.id.clone(),
            at,
        )))
    }

    /// The request closed with `status` by `by` at `at`.
    #[must_use]
    pub fn closed(&self, status: RequestStatus, by: PrincipalId, at: Timestamp) -> Self {
        Self {
            status,
            resolved_at: Some(at),
            resolved_by: Some(by),
            ..self.clone()
        }
    }

    /// The request cancelled for `reason` at `at`.
    #[must_use]
    pub fn cancelled(&self, reason: CancelReason, at: Timestamp) -> Self {
        Self {
            status: RequestStatus::Cancelled,
            resolved_at: Some(at),
            resolved_by: None,
            cancel_reason: Some(reason),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Role;

    fn at(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn principal(id: &str, role: Role) -> Principal {
        Principal {
            id: PrincipalId::parse(id).unwrap(),
            role,
            active: true,
        }
    }

    fn open() -> AccessRequest {
        AccessRequest {
            id: RequestId::parse("req1").unwrap(),
            user: UserId::parse("bob").unwrap(),
            resource: ResourceId::parse("gitlab").unwrap(),
            reason: Reason::parse("deploy").unwrap(),
            approval: ApprovalMode::Manual,
            locked_at: at(0),
            status: RequestStatus::Open,
            requested_at: at(10),
            resolved_at: None,
            resolved_by: None,
            cancel_reason: None,
        }
    }

    #[test]
    fn approvers_resolve_once_and_the_same_verdict_repeats_idempotently() {
        let reviewer = principal("rita", Role::AccessReviewer);
        let Resolution::Resolved(done) =
            open().resolve(&reviewer, Verdict::Approve, at(20)).unwrap()
        else {
            panic!("first approval must resolve");
        };
        assert_eq!(done.status, RequestStatus::Approved);
        assert_eq!(done.resolved_by, Some(reviewer.id.clone()));
        assert_eq!(done.resolved_at, Some(at(20)));
        assert_eq!(
            done.resolve(&reviewer, Verdict::Approve, at(30)),
            Ok(Resolution::Repeated)
        );
        assert_eq!(
            done.resolve(&reviewer, Verdict::Deny, at(30)),
            Err(ResolveError::AlreadyResolved("approved"))
        );
        let admin = principal("ada", Role::Admin);
        assert_eq!(
            done.resolve(&admin, Verdict::Approve, at(30)),
            Err(ResolveError::AlreadyResolved("approved"))
        );
    }

    #[test]
    fn members_gateways_inactive_approvers_and_the_requester_cannot_resolve() {
        for role in [Role::Member, Role::Gateway] {
            assert!(matches!(
                open().resolve(&principal("x", role), Verdict::Approve, at(1)),
                Err(ResolveError::Forbidden(_))
            ));
        }
        let mut inactive = principal("ada", Role::Admin);
        inactive.active = false;
        assert!(matches!(
            open().resolve(&inactive, Verdict::Deny, at(1)),
            Err(ResolveError::Forbidden(_))
        ));
        let requester_as_admin = principal("bob", Role::Admin);
        assert!(matches!(
            open().resolve(&requester_as_admin, Verdict::Approve, at(1)),
            Err(ResolveError::OwnRequest(_))
        ));
    }

    #[test]
    fn a_cancelled_request_cannot_be_approved() {
        let cancelled = open().cancelled(CancelReason::Reverted, at(5));
        assert_eq!(cancelled.status, RequestStatus::Cancelled);
        assert_eq!(
            cancelled.resolve(&principal("ada", Role::Admin), Verdict::Approve, at(6)),
            Err(ResolveError::AlreadyResolved("cancelled"))
        );
    }
}
