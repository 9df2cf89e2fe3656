//! OpenAPI schemas of the validated string values (with the `openapi` feature).

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::ids::{EventId, ExemptionId, GrantId, GroupId, PrincipalId, RequestId, ResourceId};
use crate::policy::AutoLockAfter;
use crate::values::{Email, Name, Reason};

fn string(description: &str, pattern: Option<&str>, example: &str) -> RefOr<Schema> {
    let mut b = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .examples([serde_json::Value::String(example.to_owned())]);
    if let Some(p) = pattern {
        b = b.pattern(Some(p));
    }
    RefOr::T(Schema::Object(b.build()))
}

macro_rules! string_schema {
    ($ty:ty, $name:literal, $description:literal, $pattern:expr, $example:literal) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($description, $pattern, $example)
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

const ID_PATTERN: Option<&str> = Some("^[A-Za-z0-9._:@-]{1,128}$");

string_schema!(
    PrincipalId,
    "PrincipalId",
    "A user's or service principal's id.",
    ID_PATTERN,
    "bob"
);
string_schema!(
    GroupId,
    "GroupId",
    "A group's id.",
    ID_PATTERN,
    "engineering"
);
string_schema!(
    ResourceId,
    "ResourceId",
    "A resource's id.",
    ID_PATTERN,
    "gitlab"
);
string_schema!(GrantId, "GrantId", "A grant's id.", ID_PATTERN, "3f2a9c");
string_schema!(
    ExemptionId,
    "ExemptionId",
    "An exemption's id.",
    ID_PATTERN,
    "5c0d7e"
);
string_schema!(
    RequestId,
    "RequestId",
    "An access request's id.",
    ID_PATTERN,
    "7b1e0d"
);
string_schema!(
    EventId,
    "EventId",
    "An access event's id, chosen by the gateway.",
    ID_PATTERN,
    "evt-0001"
);
string_schema!(
    AutoLockAfter,
    "AutoLockAfter",
    "A whole number of hours from 24h to 365d written \"30d\" or \"36h\" (returned as Nd when the hours divide by 24), or \"never\".",
    Some("^(never|[0-9]+[dh])$"),
    "30d"
);
string_schema!(Email, "Email", "An email address.", None, "bob@example.com");
string_schema!(
    Name,
    "Name",
    "1 to 200 printable characters.",
    None,
    "Gitlab"
);
string_schema!(
    Reason,
    "Reason",
    "Why access is needed: 1 to 1000 characters after trimming.",
    None,
    "Deploying the release"
);
