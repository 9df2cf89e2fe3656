//! Validated values built at the edge: reasons, email addresses, roles, names.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ValidationError;

/// A duration written as a whole number and a unit — `30d`, `36h`, `15m`, `30s` — with the
/// units `allowed`: the one duration parser of autolock (policies, the manual clock, the
/// command line). `None` for anything else, never a panic, whatever the text.
#[must_use]
pub fn parse_duration(text: &str, allowed: &[char]) -> Option<chrono::Duration> {
    let unit = text.chars().next_back()?;
    if !allowed.contains(&unit) {
        return None;
    }
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || number.len() > 9 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    match unit {
        'd' => chrono::Duration::try_days(n),
        'h' => chrono::Duration::try_hours(n),
        'm' => chrono::Duration::try_minutes(n),
        's' => chrono::Duration::try_seconds(n),
        _ => None,
    }
}

/// Whether `c` reorders or hides the text around it: the bidirectional embeddings, overrides and
/// isolates, and the zero-width characters. A reason or a name shown to an approver must read as
/// it was typed.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{FEFF}')
}

/// The reason a locked user gives for regaining access: trimmed, 1..=1000 characters, on one or
/// more lines (`\r\n` is kept as `\n`), with no other control character and nothing that
/// reorders or hides text (docs/semantics.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    /// Trims `text` and accepts it when 1..=1000 characters remain, none of them a control
    /// character other than a line break, nor one that reorders or hides text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let text = text.replace("\r\n", "\n");
        let trimmed = text.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > 1000 {
            return Err(ValidationError::new(
                "reason",
                format!("has {len} characters after trimming; allowed are 1 to 1000"),
            ));
        }
        if let Some(c) = trimmed
            .chars()
            .find(|&c| (c.is_control() && c != '\n') || is_deceptive(c))
        {
            return Err(ValidationError::new(
                "reason",
                format!(
                    "contains {:?} (U+{:04X}); allowed are printable characters and line breaks",
                    c, c as u32
                ),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The reason text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Reason> for String {
    fn from(r: Reason) -> String {
        r.0
    }
}

/// An email address: one `@`, a non-empty local part, a dotted domain, no spaces, at most 254
/// characters. (Deliverability is the mail system's business.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an address.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "email",
                format!("{text:?} is not an email address like \"name@example.com\""),
            )
        };
        if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(text.to_owned()))
    }

    /// The address autolock gives a user provisioned without one: in the `.invalid` domain
    /// (RFC 2606), which no mail reaches; autolock sends nothing there.
    #[must_use]
    pub fn unknown_for(id: &str) -> Self {
        Self(format!("{id}@no-email.invalid"))
    }

    /// Whether `address` is in a reserved domain that no mail reaches (`.invalid`).
    #[must_use]
    pub fn is_reserved_address(address: &str) -> bool {
        address.to_ascii_lowercase().ends_with(".invalid")
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: trimmed, 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    /// Trims and accepts 1..=200 characters.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let trimmed = text.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > 200 || trimmed.chars().any(|c| c.is_control() || is_deceptive(c)) {
            return Err(ValidationError::new(
                "name",
                format!("{text:?} is not allowed; allowed are 1 to 200 printable characters"),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A principal's role. Users hold one of the first four; service principals hold `gateway` or
/// `provisioner`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A user with no administrative rights.
    Member,
    /// Full administration.
    Admin,
    /// Policies, unlocks, requests and the audit log.
    DevopsAdmin,
    /// Requests and read access.
    AccessReviewer,
    /// A gateway's service principal: decisions and access events only.
    Gateway,
    /// An identity provider's service principal: changes users, groups and memberships, and
    /// nothing else (never a role, never a resource or a grant).
    Provisioner,
}

impl Role {
    /// Every role, in the order of the authorization table.
    pub const ALL: [Role; 6] = [
        Role::Member,
        Role::AccessReviewer,
        Role::DevopsAdmin,
        Role::Admin,
        Role::Gateway,
        Role::Provisioner,
    ];

    /// Parses a wire name.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|r| r.as_str() == text).ok_or_else(|| {
            ValidationError::new(
                "role",
                format!(
                    "{text:?} is not allowed; allowed are \"member\", \"admin\", \"devops_admin\", \"access_reviewer\" (and \"gateway\" or \"provisioner\" for service principals)"
                ),
            )
        })
    }

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::DevopsAdmin => "devops_admin",
            Self::AccessReviewer => "access_reviewer",
            Self::Gateway => "gateway",
            Self::Provisioner => "provisioner",
        }
    }

    /// The roles of service principals.
    pub const SERVICE: [Role; 2] = [Role::Gateway, Role::Provisioner];

    /// Whether this is a service principal's role.
    #[must_use]
    pub fn is_service(self) -> bool {
        Self::SERVICE.contains(&self)
    }

    /// The roles that approve requests (and may be emailed about them).
    pub const APPROVERS: [Role; 3] = [Role::Admin, Role::DevopsAdmin, Role::AccessReviewer];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An absolute http(s) URL a deployment is reached at (its public or its console base URL),
/// kept without a trailing slash, so that paths are appended to it as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Parses `text` given as `field`: `http://` or `https://`, a host, no whitespace.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let trimmed = text.trim_end_matches('/');
        let host = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"));
        match host {
            Some(h) if !h.is_empty() && !h.contains(char::is_whitespace) && !h.starts_with('/') => {
                Ok(Self(trimmed.to_owned()))
            }
            _ => Err(ValidationError::new(
                field,
                format!("must be an http(s) URL like https://autolock.example.com, not {text:?}"),
            )),
        }
    }

    /// The URL as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<BaseUrl> for String {
    fn from(url: BaseUrl) -> String {
        url.0
    }
}

macro_rules! from_str {
    ($($ty:ty),*) => {$(
        impl std::str::FromStr for $ty {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    )*};
}

from_str!(Reason, Email, Name, Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_whole_numbers_with_a_unit_and_nothing_else() {
        let all = ['d', 'h', 'm', 's'];
        assert_eq!(parse_duration("8d", &all), Some(chrono::Duration::days(8)));
        assert_eq!(
            parse_duration("15m", &all),
            Some(chrono::Duration::minutes(15))
        );
        assert_eq!(parse_duration("15m", &['d', 'h']), None);
        for bad in [
            "",
            "d",
            "7é",
            "é",
            "-1d",
            "1.5h",
            "9999999999d",
            " 1d",
            "1 d",
            "1D",
        ] {
            assert_eq!(parse_duration(bad, &all), None, "{bad:?}");
        }
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(Reason::parse("  need it \n").unwrap().as_str(), "need it");
        assert_eq!(Reason::parse("   ").unwrap_err().field, "reason");
        assert!(Reason::parse(&"é".repeat(1000)).is_ok());
        assert!(Reason::parse(&"é".repeat(1001)).is_err());
    }

    #[test]
    fn reasons_keep_line_breaks_and_refuse_other_controls_and_text_reordering() {
        assert_eq!(
            Reason::parse("hotfix\r\nfor 4.2\n").unwrap().as_str(),
            "hotfix\nfor 4.2"
        );
        for bad in [
            "tab\there",
            "bell\u{7}",
            "cr\ronly",
            "nul\0",
            "esc\u{1b}[31m",
            "pay \u{202E}gnp.exe",
            "isolate\u{2066}x\u{2069}",
            "zero\u{200B}width",
            "next\u{85}line",
        ] {
            let e = Reason::parse(bad).unwrap_err();
            assert_eq!(e.field, "reason", "{bad:?}");
            assert!(
                e.message.contains("allowed are printable"),
                "{bad:?}: {}",
                e.message
            );
        }
        assert!(Name::parse("Eve \u{202E}nimdA").is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("john.doe@acme.example.com").is_ok());
        for bad in [
            "john",
            "@acme.com",
            "john@acme",
            "john@@acme.com",
            "jo hn@acme.com",
            "john@.com",
            "john@acme..com",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn roles_round_trip_and_reject_unknown_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        let err = Role::parse("root").unwrap_err();
        assert!(err.message.contains("devops_admin"));
    }
}

/// Instants taken from outside (a query string, a body, a form, an event, a document): the one
/// range check, so that no date arithmetic on them can overflow. Autolock takes instants from
/// 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z; anything else is refused naming the field.
pub mod instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer};

    use crate::{Timestamp, ValidationError};

    /// The earliest instant taken from outside.
    pub const EARLIEST: Timestamp = DateTime::UNIX_EPOCH;

    /// The latest instant taken from outside (the last second of year 9999).
    #[must_use]
    pub fn latest() -> Timestamp {
        DateTime::from_timestamp(253_402_300_799, 999_999_000).unwrap_or(EARLIEST)
    }

    /// `t` when it lies within the range, else a refusal naming `field`.
    pub fn check(field: &str, t: DateTime<Utc>) -> Result<Timestamp, ValidationError> {
        if t < EARLIEST || t > latest() {
            return Err(ValidationError::new(
                field,
                format!(
                    "{} is out of range: instants run from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
                    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ),
            ));
        }
        Ok(t)
    }

    /// Parses an RFC 3339 instant given as text and checks its range.
    pub fn parse(field: &str, text: &str) -> Result<Timestamp, ValidationError> {
        let t = DateTime::parse_from_rfc3339(text.trim()).map_err(|_| {
            ValidationError::new(
                field,
                format!("{text:?} is not an RFC 3339 instant such as 2026-01-31T09:00:00Z"),
            )
        })?;
        check(field, t.to_utc())
    }

    fn custom<E: serde::de::Error>(e: &ValidationError) -> E {
        E::custom(&e.message)
    }

    /// Deserializes an instant and checks its range (`#[serde(deserialize_with = ...)]`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let t = DateTime::<Utc>::deserialize(d)?;
        check("instant", t).map_err(|e| custom(&e))
    }

    /// Deserializes an optional instant and checks its range.
    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)?
            .map(|t| check("instant", t).map_err(|e| custom(&e)))
            .transpose()
    }
}

/// The keys that sign what autolock hands out and takes back later (block-page links, console
/// sessions): the current one signs, and it or the previous one verifies, so that a key is
/// rotated without signing everyone out. Each is at least 32 bytes. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeys {
    current: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKeys(..)")
    }
}

impl SigningKeys {
    /// The fewest bytes a key has.
    pub const MIN_BYTES: usize = 32;

    /// A current key and, while a rotation runs, the previous one.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Result<Self, ValidationError> {
        for key in std::iter::once(current).chain(previous) {
            if key.len() < Self::MIN_BYTES {
                return Err(ValidationError::new(
                    "key",
                    format!(
                        "a signing key has at least {} bytes; one has {}",
                        Self::MIN_BYTES,
                        key.len()
                    ),
                ));
            }
        }
        Ok(Self {
            current: current.to_vec(),
            previous: previous.map(<[u8]>::to_vec),
        })
    }

    /// Keys written as text, one per line: the first signs, the second (if any, during a
    /// rotation) still verifies. Blank lines and surrounding spaces are ignored.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let keys: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        match keys.as_slice() {
            [current] => Self::new(current.as_bytes(), None),
            [current, previous] => Self::new(current.as_bytes(), Some(previous.as_bytes())),
            [] => Err(ValidationError::new("key", "no key is given")),
            _ => Err(ValidationError::new(
                "key",
                "give the current key, and during a rotation the previous one: two lines at most",
            )),
        }
    }

    /// The key that signs.
    #[must_use]
    pub fn current(&self) -> &[u8] {
        &self.current
    }

    /// The keys that verify, the current one first.
    pub fn verifying(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.current.as_slice()).chain(self.previous.as_deref())
    }
}
