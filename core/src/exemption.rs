//! Exemptions (docs/semantics.md §2.9): one right, or every member's path through one grant,
//! kept open from the exemption's start to its end whatever the duration, with a reason and
//! its author. When it ends the grace rule applies from the end; it never lifts a lock in force.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ValidationError;
use crate::ids::{ExemptionId, GrantId, GroupId, PrincipalId, ResourceId, UserId};
use crate::values::Reason;

/// How far ahead of the instant it is set an exemption may end.
pub const MAX_EXEMPTION: Duration = Duration::days(90);

/// An exemption from auto-lock.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    /// The id.
    pub id: ExemptionId,
    /// The resource it concerns.
    #[serde(rename = "resource_id")]
    pub resource: ResourceId,
    /// The user whose right it covers (an exemption of one right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "user_id")]
    pub user: Option<UserId>,
    /// The grant whose paths it covers (an exemption of a grant), with the grant's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "grant_id")]
    pub grant: Option<GrantId>,
    /// The group of the grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "group_id")]
    pub group: Option<GroupId>,
    /// When it began (when it was set).
    pub start: DateTime<Utc>,
    /// When it ends unless ended early (at most 90 days after it was set or last changed).
    pub until: DateTime<Utc>,
    /// Why.
    pub reason: Reason,
    /// Who set it.
    pub created_by: PrincipalId,
    /// When it was ended early, and by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Who ended it early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<PrincipalId>,
    /// Whether its end has been recorded (audited): at once when ended early, by the sweep
    /// when it runs out.
    #[serde(default)]
    pub closed: bool,
    /// How many times it was edited (as a user's revision).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub revision: u64,
}

impl Exemption {
    /// The instant it ends (or ended): the early end when there is one, else `until`.
    #[must_use]
    pub fn end(&self) -> Timestamp {
        self.ended_at.map_or(self.until, |e| e.min(self.until))
    }

    /// Whether it is in force at `t`.
    #[must_use]
    pub fn in_force_at(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end()
    }

    /// Whether it covers the path through `grant` (an exemption of the right covers them all).
    #[must_use]
    pub fn covers(&self, grant: &GrantId) -> bool {
        self.user.is_some() || self.grant.as_ref() == Some(grant)
    }

    /// `grant` or `right`: what it covers, for people.
    #[must_use]
    pub fn scope_name(&self) -> &'static str {
        if self.grant.is_some() {
            "grant"
        } else {
            "right"
        }
    }
}

/// Checks an exemption's end set at `now`: after `now`, at most [`MAX_EXEMPTION`] ahead.
pub fn check_until(until: Timestamp, now: Timestamp) -> Result<(), ValidationError> {
    if until <= now {
        return Err(ValidationError::new("until", "must be in the future"));
    }
    if until > now + MAX_EXEMPTION {
        return Err(ValidationError::new(
            "until",
            "must be at most 90 days ahead",
        ));
    }
    Ok(())
}

/// What happened to an exemption.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionChange {
    /// Set.
    Created,
    /// Its end moved.
    Changed,
    /// Ended early by a person.
    Ended,
    /// Ran out at its end.
    Expired,
}

/// Which exemptions to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExemptionFilter {
    /// Every exemption on a resource (of its rights and of its grants).
    Resource(ResourceId),
    /// The exemptions of one user's rights.
    User(UserId),
    /// The exemptions of a group's grants.
    Group(GroupId),
}

impl ExemptionFilter {
    /// Whether `e` passes the filter.
    #[must_use]
    pub fn matches(&self, e: &Exemption) -> bool {
        match self {
            Self::Resource(r) => e.resource == *r,
            Self::User(u) => e.user.as_ref() == Some(u),
            Self::Group(g) => e.group.as_ref() == Some(g),
        }
    }
}
