//! Identifiers: opaque, validated strings.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ValidationError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an id: 1..=128 characters of `A-Z a-z 0-9 . _ - : @`, neither `.` nor `..`
            /// (a URL would rewrite them as path segments).
            pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                validate_id(&value).map_err(|m| ValidationError::new($field, m))?;
                Ok(Self(value))
            }

            /// An id written into the program (a built-in principal's, say): it must be
            /// valid, as the tests of its crate check.
            #[must_use]
            pub fn built_in(value: &'static str) -> Self {
                debug_assert!(validate_id(value).is_ok(), "{value:?} is not a valid id");
                Self(value.to_owned())
            }

            /// A fresh random id.
            #[must_use]
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().simple().to_string())
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

fn validate_id(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 {
        return Err(format!(
            "{value:?} must be 1 to 128 characters of letters, digits and . _ - : @"
        ));
    }
    if value == "." || value == ".." {
        return Err(format!(
            "{value:?} is not an id: a URL would rewrite it as a path segment"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_:@".contains(*c)))
    {
        return Err(format!(
            "{value:?} contains {c:?}; allowed are letters, digits and . _ - : @"
        ));
    }
    Ok(())
}

id_type!(
    /// A user's or a service principal's id (the token's `sub`).
    PrincipalId, "principal_id"
);
id_type!(
    /// A group's id.
    GroupId, "group_id"
);
id_type!(
    /// A resource's id.
    ResourceId, "resource_id"
);
id_type!(
    /// A grant's id: one span of a group's access to a resource.
    GrantId, "grant_id"
);
id_type!(
    /// An access request's id.
    RequestId, "request_id"
);
id_type!(
    /// An access event's id, chosen by the gateway that reports it; duplicates change nothing.
    EventId, "event_id"
);

id_type!(
    /// An exemption's id.
    ExemptionId, "exemption_id"
);

/// A user's id is a principal id.
pub type UserId = PrincipalId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_allowed_alphabet_and_reject_the_rest() {
        assert!(UserId::parse("alice@example.com").is_ok());
        assert!(ResourceId::parse("res-1_a:b.c").is_ok());
        let err = GroupId::parse("a b").unwrap_err();
        assert_eq!(err.field, "group_id");
        assert!(err.message.contains("' '"), "{}", err.message);
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn ids_deserialize_through_validation() {
        let ok: ResourceId = serde_json::from_str("\"gitlab\"").unwrap();
        assert_eq!(ok.as_str(), "gitlab");
        assert!(serde_json::from_str::<ResourceId>("\"bad id\"").is_err());
    }
}
