//! The directory: users, service principals, groups, resources and grants — with the history
//! the lock rule needs (memberships and grants that began and ended, every change of a grant's
//! expiry and override, every change of a resource's default policy).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::exemption::Exemption;
use crate::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use crate::policy::{Policy, PolicyOverride};
use crate::values::{Email, Name, Role};

/// A person.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The id, also the token's `sub`.
    pub id: UserId,
    /// Where notifications go.
    pub email: Email,
    /// How the person is shown.
    pub display_name: Name,
    /// `member`, `admin`, `devops_admin` or `access_reviewer`.
    pub role: Role,
    /// An inactive user is denied everywhere and never emailed.
    pub active: bool,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// How many times the user was edited: an edit is written only over the revision it was
    /// computed from (the store keeps it; it is not part of the user's document).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub revision: u64,
    /// The console sessions opened before this instant (real time) are ended: signed out
    /// everywhere, or by an admin. Kept by the store beside the user's document.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub sessions_after: Option<DateTime<Utc>>,
}

/// A service principal: a gateway's or an identity provider's identity, no rights of its own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePrincipal {
    /// The id, also the token's `sub`.
    pub id: PrincipalId,
    /// A label for people.
    pub name: Name,
    /// A disabled service principal may do nothing: its tokens are refused.
    #[serde(default = "enabled")]
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// `gateway` (decisions, gate checks, access events) or `provisioner` (users, groups and
    /// memberships).
    #[serde(default = "default_service_role")]
    pub role: Role,
    /// For a gateway: which header of a gate check names the user, and what it holds
    /// (docs/gateways).
    #[serde(default)]
    pub identity: GateIdentity,
}

/// A service principal's role when none is said: `gateway`.
#[must_use]
pub fn default_service_role() -> Role {
    Role::Gateway
}

/// How a gateway vouches for its user on a gate check: the request header its own
/// authentication sets, and whether it holds the user's autolock id or their email
/// (docs/gateways/README.md). By default `X-Forwarded-User` holding a user id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateIdentity {
    /// The header.
    #[serde(default)]
    pub header: IdentityHeader,
    /// `id` or `email`.
    #[serde(default)]
    pub holds: IdentityKind,
}

/// The headers a proxy sets once it has authenticated its user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityHeader {
    /// nginx, Caddy and Traefik configurations' usual name.
    #[default]
    #[serde(rename = "X-Forwarded-User")]
    XForwardedUser,
    /// oauth2-proxy's user.
    #[serde(rename = "X-Auth-Request-User")]
    XAuthRequestUser,
    /// oauth2-proxy's email.
    #[serde(rename = "X-Auth-Request-Email")]
    XAuthRequestEmail,
    /// Authelia's and Apache's name.
    #[serde(rename = "Remote-User")]
    RemoteUser,
    /// An email forwarded by the proxy.
    #[serde(rename = "X-Forwarded-Email")]
    XForwardedEmail,
}

impl IdentityHeader {
    /// The header's name as it is written (header names match without regard to case).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedUser => "X-Forwarded-User",
            Self::XAuthRequestUser => "X-Auth-Request-User",
            Self::XAuthRequestEmail => "X-Auth-Request-Email",
            Self::RemoteUser => "Remote-User",
            Self::XForwardedEmail => "X-Forwarded-Email",
        }
    }
}

/// What the identity header holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// The user's autolock id.
    #[default]
    Id,
    /// The user's email address.
    Email,
}

impl ServicePrincipal {
    /// Who it is as a caller: its id, role and active flag.
    #[must_use]
    pub fn principal(&self) -> Principal {
        Principal {
            id: self.id.clone(),
            role: self.role,
            active: self.active,
        }
    }
}

fn enabled() -> bool {
    true
}

/// Who is calling, as the directory knows them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The principal's id.
    pub id: PrincipalId,
    /// The role from the directory (`gateway` or `provisioner` for a service principal).
    pub role: Role,
    /// Whether the principal may act at all.
    pub active: bool,
}

/// A named set of users.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: Name,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Something users reach through a gateway.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: ResourceId,
    pub name: Name,
    /// Where it is reached (a URL or a host); the block page continues there when it is a URL.
    pub address: String,
    /// The default policy, inherited by each grant field it does not override.
    pub policy: Policy,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// How many times the resource was edited (as [`User::revision`]).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub revision: u64,
}

/// Which kind of directory object an identity provider provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionedKind {
    /// A user.
    User,
    /// A group.
    Group,
}

impl ProvisionedKind {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
}

/// What an identity provider keeps of a user or a group it provisions (SCIM, RFC 7643): the
/// document it last wrote, kept whole so that the attributes autolock does not read come back
/// as they were written, beside the autolock user or group of the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedRecord {
    /// User or group.
    pub kind: ProvisionedKind,
    /// The autolock id of the user or group.
    pub id: String,
    /// A user's `userName`: unique among the records not deleted, without regard to case.
    pub user_name: Option<String>,
    /// The provider's own id for it.
    pub external_id: Option<String>,
    /// Deleted by the provider: a user stays in autolock, deactivated and detached, for the
    /// record; the provider sees it no more.
    pub deleted: bool,
    /// When the provider created it.
    pub created_at: DateTime<Utc>,
    /// When the provider last changed it.
    pub updated_at: DateTime<Utc>,
    /// How many times it was written; a write is conditioned on it.
    pub version: u64,
    /// The document as the provider wrote it (less `id` and `meta`).
    pub doc: serde_json::Value,
}

impl ProvisionedRecord {
    /// The key `user_name` is unique by (while the record is not deleted): [`Self::name_key`].
    #[must_use]
    pub fn user_name_key(&self) -> Option<String> {
        self.user_name
            .as_deref()
            .filter(|_| !self.deleted)
            .map(Self::name_key)
    }

    /// The key of a `userName`, whatever its case: lower case.
    #[must_use]
    pub fn name_key(user_name: &str) -> String {
        user_name.to_lowercase()
    }
}

/// A half-open span of time `[start, end)`; `end` unset means it still holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The first instant in force.
    pub start: DateTime<Utc>,
    /// The first instant no longer in force.
    pub end: Option<DateTime<Utc>>,
}

impl Span {
    /// A span from `start` that still holds.
    #[must_use]
    pub fn from(start: Timestamp) -> Self {
        Self { start, end: None }
    }

    /// Whether `t` falls in the span.
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && self.end.is_none_or(|e| t < e)
    }
}

/// A value that took effect at an instant: one entry of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timed<T> {
    /// When the value took effect.
    pub at: DateTime<Utc>,
    pub value: T,
}

/// The value in force at `t` in a history ordered by time (later entries at the same instant
/// win).
#[must_use]
pub fn value_at<T: Copy>(history: &[Timed<T>], t: Timestamp) -> Option<T> {
    history
        .iter()
        .take_while(|e| e.at <= t)
        .last()
        .map(|e| e.value)
}

/// The entries of a history ordered by time that are in force at their own instant: of several
/// recorded at one instant, the last (they apply in the order they were recorded).
pub fn settled<T>(history: &[Timed<T>]) -> impl Iterator<Item = &Timed<T>> {
    history
        .iter()
        .enumerate()
        .filter(|(i, e)| history.get(i + 1).is_none_or(|next| next.at != e.at))
        .map(|(_, e)| e)
}

/// A grant: one span of a group's access to a resource, with the history of its expiry and of
/// its policy override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The id of this span of access.
    pub id: GrantId,
    /// The group that has access.
    pub group: GroupId,
    /// The resource it reaches.
    pub resource: ResourceId,
    /// When the grant was created and (if it was removed) when it ended.
    pub span: Span,
    /// Every value `expires_at` took, in order, from the grant's creation on.
    pub expiry: Vec<Timed<Option<DateTime<Utc>>>>,
    /// Every value the override took, in order, from the grant's creation on.
    pub overrides: Vec<Timed<PolicyOverride>>,
    /// How many times the grant was edited (as [`User::revision`]).
    #[serde(skip)]
    pub revision: u64,
}

impl Grant {
    /// The expiry in force at `t`.
    #[must_use]
    pub fn expires_at(&self, t: Timestamp) -> Option<Timestamp> {
        value_at(&self.expiry, t).flatten()
    }

    /// The expiry set now (the last one recorded).
    #[must_use]
    pub fn current_expiry(&self) -> Option<Timestamp> {
        self.expiry.last().and_then(|e| e.value)
    }

    /// The override set now (the last one recorded).
    #[must_use]
    pub fn current_override(&self) -> PolicyOverride {
        self.overrides.last().map(|e| e.value).unwrap_or_default()
    }

    /// The override in force at `t`.
    #[must_use]
    pub fn override_at(&self, t: Timestamp) -> PolicyOverride {
        value_at(&self.overrides, t).unwrap_or_default()
    }

    /// Whether the grant gives access at `t`: created, not removed, not expired.
    #[must_use]
    pub fn gives_access_at(&self, t: Timestamp) -> bool {
        self.span.contains(t) && self.expires_at(t).is_none_or(|e| t < e)
    }
}

/// One group through which a user may hold a right: the user's memberships of the group and
/// the group's grants on the resource, with their history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathFacts {
    pub group: GroupId,
    /// The user's memberships of the group, in order.
    pub memberships: Vec<Span>,
    /// The group's grants on the resource, in order.
    pub grants: Vec<Grant>,
}

/// Everything the lock rule needs to know about one user's right on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightFacts {
    pub user: UserId,
    pub resource: ResourceId,
    /// Every value the user's active flag took, in order, from the user's creation on (empty
    /// when the user does not exist). The flag is a temporal fact like the others: an event
    /// stamped while the user was inactive is denied whenever it arrives.
    pub activity: Vec<Timed<bool>>,
    /// Every default policy the resource had, in order, from its creation on.
    pub resource_policy: Vec<Timed<Policy>>,
    /// Each group through which the user held or holds a path to the resource.
    pub paths: Vec<PathFacts>,
    /// The exemptions of the right and of the grants of its paths, ended ones included.
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
    /// The silences of the usage feed as known now, oldest first, the last one possibly going
    /// on (docs/semantics.md §2.10): not the store's, the feed guard's; empty when it is off.
    #[serde(default)]
    pub silences: Vec<Span>,
}

impl Exemption {
    /// Whether it belongs in the facts of `user`'s right whose paths are `paths`: an exemption of
    /// that right, or of the grant of one of its paths (every store reads a resource's
    /// exemptions and keeps these).
    #[must_use]
    pub fn concerns(&self, user: &UserId, paths: &[PathFacts]) -> bool {
        match (&self.user, &self.grant) {
            (Some(u), _) => u == user,
            (None, Some(grant)) => paths
                .iter()
                .any(|p| p.grants.iter().any(|g| g.id == *grant)),
            (None, None) => false,
        }
    }
}

impl RightFacts {
    /// Whether both the user and the resource exist (each has a history from its creation).
    #[must_use]
    pub fn exist(&self) -> bool {
        !self.activity.is_empty() && !self.resource_policy.is_empty()
    }

    /// Whether the user was active at `t`.
    #[must_use]
    pub fn active_at(&self, t: Timestamp) -> bool {
        value_at(&self.activity, t).unwrap_or(false)
    }

    /// The first instant in `[from, to]` at which the user was deactivated, if any. Changes
    /// recorded at one instant apply in the order they were recorded (docs/semantics.md §2): a
    /// user deactivated and reactivated at `t` is active at `t`, so only the last value recorded
    /// at an instant counts.
    #[must_use]
    pub fn deactivated_between(&self, from: Timestamp, to: Timestamp) -> Option<Timestamp> {
        settled(&self.activity)
            .find(|e| !e.value && e.at >= from && e.at <= to)
            .map(|e| e.at)
    }
}
