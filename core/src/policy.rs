//! Policies: how long a right may stay unused before it locks, and how a locked user gets back.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ValidationError;

const MIN_HOURS: u32 = 24;
const MAX_HOURS: u32 = 365 * 24;
const ALLOWED: &str =
    "a whole number of hours from 24h to 365d written like \"30d\" or \"36h\", or \"never\"";

/// The auto-lock duration of a policy: a whole number of hours from 24 h to 365 d, or never.
///
/// Parsed from `"30d"`, `"36h"` or `"never"`; displayed as `Nd` when the hours divide by 24
/// and `Nh` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AutoLockAfter {
    /// The policy never locks.
    Never,
    /// Lock after this many hours without use.
    Hours(u32),
}

impl AutoLockAfter {
    /// The durations the console offers: 1, 7, 30, 60 and 90 days.
    pub const CONSOLE_PRESETS: [AutoLockAfter; 5] = [
        AutoLockAfter::Hours(24),
        AutoLockAfter::Hours(7 * 24),
        AutoLockAfter::Hours(30 * 24),
        AutoLockAfter::Hours(60 * 24),
        AutoLockAfter::Hours(90 * 24),
    ];

    /// A duration of `days` days.
    pub fn days(days: u32) -> Result<Self, ValidationError> {
        Self::hours(days.saturating_mul(24))
    }

    /// A duration of `hours` hours, within 24 h ..= 365 d.
    pub fn hours(hours: u32) -> Result<Self, ValidationError> {
        if (MIN_HOURS..=MAX_HOURS).contains(&hours) {
            Ok(Self::Hours(hours))
        } else {
            Err(ValidationError::new(
                "auto_lock_after",
                format!("{hours}h is out of range; allowed is {ALLOWED}"),
            ))
        }
    }

    /// Parses `"30d"`, `"36h"` or `"never"`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "auto_lock_after",
                format!("{text:?} is not allowed; allowed is {ALLOWED}"),
            )
        };
        if text == "never" {
            return Ok(Self::Never);
        }
        let hours = crate::values::parse_duration(text, &['d', 'h'])
            .and_then(|d| u32::try_from(d.num_hours()).ok())
            .ok_or_else(invalid)?;
        Self::hours(hours).map_err(|_| invalid())
    }

    /// The duration, or `None` for never.
    #[must_use]
    pub fn duration(self) -> Option<chrono::Duration> {
        match self {
            Self::Never => None,
            Self::Hours(h) => Some(chrono::Duration::hours(i64::from(h))),
        }
    }

    /// Whether the console offers this value.
    #[must_use]
    pub fn is_console_preset(self) -> bool {
        Self::CONSOLE_PRESETS.contains(&self)
    }
}

impl fmt::Display for AutoLockAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Never => f.write_str("never"),
            Self::Hours(h) if h % 24 == 0 => write!(f, "{}d", h / 24),
            Self::Hours(h) => write!(f, "{h}h"),
        }
    }
}

impl TryFrom<String> for AutoLockAfter {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AutoLockAfter> for String {
    fn from(value: AutoLockAfter) -> String {
        value.to_string()
    }
}

/// How a locked user gets back in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// An approver approves a request, or an admin unlocks.
    Manual,
    /// The user states a reason and continues.
    Automatic,
}

impl ApprovalMode {
    /// Parses `manual` or `automatic`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "manual" => Ok(Self::Manual),
            "automatic" => Ok(Self::Automatic),
            _ => Err(ValidationError::new(
                "approval",
                format!("{text:?} is not allowed; allowed are \"manual\" and \"automatic\""),
            )),
        }
    }

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Automatic => "automatic",
        }
    }
}

impl fmt::Display for ApprovalMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A complete policy: a resource's default, or a grant's effective policy.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Policy {
    /// When an unused right locks.
    pub auto_lock_after: AutoLockAfter,
    /// How a locked user gets back in.
    pub approval: ApprovalMode,
}

impl Policy {
    /// The default of a resource created without one: never locks, manual approval.
    pub const NEW_RESOURCE: Policy = Policy {
        auto_lock_after: AutoLockAfter::Never,
        approval: ApprovalMode::Manual,
    };
}

/// An edit of a resource's default policy: each field given replaces, each omitted keeps.
/// `null` is refused, naming the field: a default has nothing to inherit (docs/semantics.md §1).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    /// The new duration.
    #[serde(default, deserialize_with = "non_null::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "30d"))]
    pub auto_lock_after: Option<AutoLockAfter>,
    /// The new approval method.
    #[serde(default, deserialize_with = "non_null::approval")]
    pub approval: Option<ApprovalMode>,
}

impl PolicyPatch {
    /// The policy after this edit of `current`.
    #[must_use]
    pub fn apply(self, current: Policy) -> Policy {
        Policy {
            auto_lock_after: self.auto_lock_after.unwrap_or(current.auto_lock_after),
            approval: self.approval.unwrap_or(current.approval),
        }
    }

    /// A new resource's default policy: each field given, `"never"` and `manual` otherwise
    /// (auto-lock is opted into).
    #[must_use]
    pub fn or_new_resource_default(self) -> Policy {
        self.apply(Policy::NEW_RESOURCE)
    }
}

/// Deserializers of fields that may be omitted but not `null`.
mod non_null {
    use serde::{Deserialize, Deserializer};

    use super::{ALLOWED, ApprovalMode, AutoLockAfter};

    fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
        allowed: &str,
    ) -> Result<Option<T>, D::Error> {
        Option::<T>::deserialize(d)?.map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "null is not allowed: a resource's default policy has nothing to inherit; allowed is {allowed}"
            ))
        })
    }

    pub(super) fn duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<AutoLockAfter>, D::Error> {
        present(d, ALLOWED)
    }

    pub(super) fn approval<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<ApprovalMode>, D::Error> {
        present(d, "\"manual\" or \"automatic\"")
    }
}

/// A grant's per-field override: `None` inherits the resource default.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PolicyOverride {
    /// Overrides the default's duration when set.
    pub auto_lock_after: Option<AutoLockAfter>,
    /// Overrides the default's approval method when set.
    pub approval: Option<ApprovalMode>,
}

impl PolicyOverride {
    /// The policy in effect for a grant with this override over `default`.
    #[must_use]
    pub fn over(self, default: Policy) -> Policy {
        Policy {
            auto_lock_after: self.auto_lock_after.unwrap_or(default.auto_lock_after),
            approval: self.approval.unwrap_or(default.approval),
        }
    }
}

/// An edit of one field: omitted keeps what it was, `null` clears it (a grant's override then
/// inherits the resource default), a value sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldPatch<T> {
    /// The field was omitted: it keeps what it was.
    #[default]
    Keep,
    /// The field was `null`: it is cleared (an override field inherits the resource default).
    Inherit,
    /// The field is set to this value.
    Set(T),
}

impl<T: Copy> FieldPatch<T> {
    /// The value after this edit of `current`.
    #[must_use]
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Inherit => None,
            Self::Set(v) => Some(v),
        }
    }
}

/// A present field: `null` or a value (an omitted one is [`FieldPatch::Keep`], by
/// `#[serde(default)]`).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for FieldPatch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Self::Inherit,
            Some(v) => Self::Set(v),
        })
    }
}

/// An edit of a grant's override, field by field (omitted keeps, `null` inherits, a value
/// overrides).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverridePatch {
    /// The edit of `auto_lock_after`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "30d"))]
    pub auto_lock_after: FieldPatch<AutoLockAfter>,
    /// The edit of `approval`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ApprovalMode>))]
    pub approval: FieldPatch<ApprovalMode>,
}

impl OverridePatch {
    /// The override after this edit.
    #[must_use]
    pub fn apply(self, current: PolicyOverride) -> PolicyOverride {
        PolicyOverride {
            auto_lock_after: self.auto_lock_after.apply(current.auto_lock_after),
            approval: self.approval.apply(current.approval),
        }
    }
}

impl std::str::FromStr for AutoLockAfter {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::str::FromStr for ApprovalMode {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_parse_and_display_canonically() {
        assert_eq!(
            AutoLockAfter::parse("30d").unwrap(),
            AutoLockAfter::Hours(720)
        );
        assert_eq!(AutoLockAfter::parse("36h").unwrap().to_string(), "36h");
        assert_eq!(AutoLockAfter::parse("48h").unwrap().to_string(), "2d");
        assert_eq!(AutoLockAfter::parse("24h").unwrap().to_string(), "1d");
        assert_eq!(AutoLockAfter::parse("365d").unwrap().to_string(), "365d");
        assert_eq!(AutoLockAfter::parse("never").unwrap(), AutoLockAfter::Never);
    }

    #[test]
    fn durations_outside_the_range_or_malformed_are_rejected_with_the_allowed_values() {
        for bad in [
            "23h",
            "0d",
            "366d",
            "8761h",
            "1.5d",
            "30",
            "d",
            "30m",
            "-1d",
            " 30d",
            "30D",
            "",
            "9999999999d",
            "7é",
            "é",
        ] {
            let err = AutoLockAfter::parse(bad).unwrap_err();
            assert_eq!(err.field, "auto_lock_after", "{bad}");
            assert!(err.message.contains("allowed is"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn console_presets_are_the_five_documented_days() {
        let shown: Vec<String> = AutoLockAfter::CONSOLE_PRESETS
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["1d", "7d", "30d", "60d", "90d"]);
        assert!(AutoLockAfter::parse("7d").unwrap().is_console_preset());
        assert!(!AutoLockAfter::parse("36h").unwrap().is_console_preset());
    }

    #[test]
    fn an_override_edit_keeps_omitted_fields_inherits_null_and_sets_values() {
        let current = PolicyOverride {
            auto_lock_after: Some(AutoLockAfter::Hours(720)),
            approval: Some(ApprovalMode::Automatic),
        };
        let patch: OverridePatch = serde_json::from_value(json!({"approval": null})).unwrap();
        assert_eq!(
            patch.apply(current),
            PolicyOverride {
                auto_lock_after: Some(AutoLockAfter::Hours(720)),
                approval: None
            }
        );
        let patch: OverridePatch =
            serde_json::from_value(json!({"auto_lock_after": "7d"})).unwrap();
        assert_eq!(
            patch.apply(current).auto_lock_after,
            Some(AutoLockAfter::Hours(168))
        );
        assert_eq!(patch.apply(current).approval, Some(ApprovalMode::Automatic));
    }

    #[test]
    fn an_override_edit_refuses_what_is_not_a_policy_field_or_value() {
        for bad in [
            json!({"approval": "sometimes"}),
            json!({"auto_lock_after": 30}),
            json!({"duration": "7d"}),
        ] {
            assert!(
                serde_json::from_value::<OverridePatch>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_default_policy_edit_refuses_null_and_names_the_field() {
        let err = serde_json::from_value::<PolicyPatch>(
            json!({"auto_lock_after": null, "approval": "automatic"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("null is not allowed"), "{err}");
        let err = serde_json::from_value::<PolicyPatch>(json!({"approval": null})).unwrap_err();
        assert!(err.to_string().contains("\"manual\""), "{err}");
        let patch: PolicyPatch = serde_json::from_value(json!({"approval": "automatic"})).unwrap();
        assert_eq!(
            patch.or_new_resource_default(),
            Policy {
                auto_lock_after: AutoLockAfter::Never,
                approval: ApprovalMode::Automatic
            }
        );
    }

    #[test]
    fn the_effective_policy_takes_each_overridden_field_and_inherits_the_rest() {
        let default = Policy {
            auto_lock_after: AutoLockAfter::Hours(168),
            approval: ApprovalMode::Manual,
        };
        let o = PolicyOverride {
            auto_lock_after: None,
            approval: Some(ApprovalMode::Automatic),
        };
        assert_eq!(
            o.over(default),
            Policy {
                auto_lock_after: AutoLockAfter::Hours(168),
                approval: ApprovalMode::Automatic
            }
        );
    }
}
