//! Reports (docs/semantics.md §5): who can reach what, under which policy, and who is locked — from a
//! resource, a group or a user, one row per path (a user's access through one group), as CSV
//! (RFC 4180) or JSON. Rows are produced one right at a time, so a report streams.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Timestamp;
use crate::directory::{Grant, Resource, User};
use crate::lock::{Right, RightState, Usage};
use crate::policy::{AutoLockAfter, Policy};

/// One row: a user's access to a resource through one group, and the state of the right; or,
/// for a group with access but no members, the group's access alone (the user fields empty).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub resource_id: String,
    /// Its name.
    pub resource_name: String,
    /// The group the access goes through.
    pub group_id: String,
    /// `override` when the grant overrides a field of the resource default, else `inherited`.
    pub policy_source: &'static str,
    /// The effective duration.
    pub auto_lock_after: String,
    /// The effective approval method.
    pub approval: &'static str,
    /// When the grant expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    /// Whether the user is active (a deactivated user is denied whatever the state).
    pub user_active: Option<bool>,
    /// `active`, `locked`, `no_access` or `expired`.
    pub state: Option<&'static str>,
    /// Whether the right is locked.
    pub locked: Option<bool>,
    /// Since when.
    pub locked_at: Option<DateTime<Utc>>,
    /// The latest counted access.
    pub last_access: Option<DateTime<Utc>>,
    /// When it locks without further use.
    pub next_lock: Option<DateTime<Utc>>,
    /// Who last unlocked it (an admin, or the approver of a request).
    pub last_unlock_by: Option<String>,
    /// When.
    pub last_unlock_at: Option<DateTime<Utc>>,
    /// How: `admin_unlock` or `approved_request`.
    pub last_unlock_kind: Option<&'static str>,
    /// The end of the exemption that keeps this path open, while one is in force.
    pub exempt_until: Option<DateTime<Utc>>,
}

/// The CSV header, in column order.
pub const CSV_HEADER: [&str; 19] = [
    "resource_id",
    "resource_name",
    "group_id",
    "policy_source",
    "auto_lock_after",
    "approval",
    "expires_at",
    "user_id",
    "user_email",
    "user_active",
    "state",
    "locked",
    "locked_at",
    "last_access",
    "next_lock",
    "last_unlock_by",
    "last_unlock_at",
    "last_unlock_kind",
    "exempt_until",
];

fn duration_text(d: AutoLockAfter) -> String {
    d.to_string()
}

fn grant_columns(grant: &Grant, default: Policy, now: Timestamp) -> ReportRow {
    let o = grant.override_at(now);
    let policy = o.over(default);
    ReportRow {
        resource_id: grant.resource.to_string(),
        resource_name: String::new(),
        group_id: grant.group.to_string(),
        policy_source: if o.auto_lock_after.is_some() || o.approval.is_some() {
            "override"
        } else {
            "inherited"
        },
        auto_lock_after: duration_text(policy.auto_lock_after),
        approval: policy.approval.as_str(),
        expires_at: grant.expires_at(now),
        user_id: None,
        user_email: None,
        user_active: None,
        state: None,
        locked: None,
        locked_at: None,
        last_access: None,
        next_lock: None,
        last_unlock_by: None,
        last_unlock_at: None,
        last_unlock_kind: None,
        exempt_until: None,
    }
}

/// The row of a group with access to `resource` through `grant` and no members: its access and
/// policy, no user.
#[must_use]
pub fn group_row(grant: &Grant, resource: &Resource, now: Timestamp) -> ReportRow {
    ReportRow {
        resource_name: resource.name.to_string(),
        ..grant_columns(grant, resource.policy, now)
    }
}

/// The rows of one right at `now`: one per path in force.
#[must_use]
pub fn rows(
    right: &Right,
    usage: &Usage,
    user: &User,
    resource: &Resource,
    now: Timestamp,
) -> Vec<ReportRow> {
    let facts = &right.facts;
    let state = right.state(usage, now);
    let (locked_at, next_lock) = match state {
        RightState::Locked { locked_at, .. } => (Some(locked_at), None),
        RightState::Active { next_lock } => (None, next_lock),
        _ => (None, None),
    };
    let unlock = usage.last_person_unlock.as_ref();
    right
        .timeline
        .paths_at(now)
        .iter()
        .filter_map(|path| {
            let grant = facts
                .paths
                .iter()
                .flat_map(|p| &p.grants)
                .find(|g| g.id == path.grant)?;
            Some(ReportRow {
                resource_name: resource.name.to_string(),
                user_id: Some(user.id.to_string()),
                user_email: Some(user.email.to_string()),
                user_active: Some(facts.active_at(now)),
                state: Some(state.name()),
                locked: Some(locked_at.is_some()),
                locked_at,
                last_access: usage.last_access,
                next_lock,
                last_unlock_by: unlock.map(|u| u.by.to_string()),
                last_unlock_at: unlock.map(|u| u.at),
                last_unlock_kind: unlock.map(|u| u.kind.as_str()),
                exempt_until: path.exempt_until,
                ..grant_columns(grant, resource.policy, now)
            })
        })
        .collect()
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). A value a
/// spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
/// return) is written with a leading `'`, so that it opens as the text it is.
#[must_use]
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.into_owned()
    }
}

/// A CSV record of fields, ended by CRLF.
#[must_use]
pub fn csv_record<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = fields
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn instant(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl ReportRow {
    /// The row as a CSV record, in [`CSV_HEADER`] order.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let flag = |b: Option<bool>| match b {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        };
        let (expires, locked_at, last_access, next_lock, unlock_at, exempt_until) = (
            instant(self.expires_at),
            instant(self.locked_at),
            instant(self.last_access),
            instant(self.next_lock),
            instant(self.last_unlock_at),
            instant(self.exempt_until),
        );
        csv_record([
            self.resource_id.as_str(),
            &self.resource_name,
            &self.group_id,
            self.policy_source,
            &self.auto_lock_after,
            self.approval,
            &expires,
            self.user_id.as_deref().unwrap_or(""),
            self.user_email.as_deref().unwrap_or(""),
            flag(self.user_active),
            self.state.unwrap_or(""),
            flag(self.locked),
            &locked_at,
            &last_access,
            &next_lock,
            self.last_unlock_by.as_deref().unwrap_or(""),
            &unlock_at,
            self.last_unlock_kind.unwrap_or(""),
            &exempt_until,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_record(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_open_as_text() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tcmd"), "'\tcmd");
        assert_eq!(csv_field("\rcmd"), "\"'\rcmd\"");
        assert_eq!(csv_field("a=b"), "a=b", "only a leading character counts");
        assert_eq!(csv_field("2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z");
    }
}
