//! Item codecs: attributes to and from the core's values (documents as JSON, instants as
//! microseconds), keys, and condition or update expressions with their placeholders.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use autolock_core::Timestamp;
use autolock_core::directory::{Resource, ServicePrincipal, User};
use autolock_core::error::StoreError;
use autolock_core::ids::UserId;
use autolock_core::ports::StoreResult;

use crate::keys;

/// An item: attribute names to values.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// What the DynamoDB store fails with, kept as the source of the [`StoreError`] the core sees.
#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    /// A call of DynamoDB failed (the SDK's error, with its own sources: the service's code
    /// and message, or the transport's).
    #[error("a call of DynamoDB failed")]
    Call(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A request could not be built.
    #[error("building a request")]
    Build(#[source] aws_sdk_dynamodb::error::BuildError),
    /// An item is not what this build writes.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// A document did not encode or decode.
    #[error("a document")]
    Json(#[from] serde_json::Error),
    /// An id or a value read back does not parse.
    #[error("a value read back")]
    Value(#[from] autolock_core::ValidationError),
    /// DynamoDB left work undone after every retry.
    #[error("{0}")]
    Unfinished(String),
}

impl From<DynamoError> for StoreError {
    fn from(e: DynamoError) -> Self {
        StoreError::backend("dynamodb", e)
    }
}

/// A failed call of DynamoDB as the store's failure.
pub(crate) fn backend<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    DynamoError::Call(Box::new(e)).into()
}

pub(crate) fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    DynamoError::Build(e).into()
}

/// An item that is not what this build writes, as the store's failure.
pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    DynamoError::Corrupt(what.into()).into()
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(format!("item without text attribute {name}"))),
    }
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub(crate) fn doc<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    serde_json::from_str(get_s(item, "doc")?).map_err(|e| DynamoError::Json(e).into())
}

/// A user from its item: the document, with the active flag from its own attribute (written
/// apart, so that an edit of the other fields never undoes a deactivation).
pub(crate) fn user_doc(item: &Item) -> StoreResult<User> {
    let mut user: User = doc(item)?;
    if let Some(AttributeValue::Bool(active)) = item.get("active") {
        user.active = *active;
    }
    user.revision = revision_of(item)?;
    user.sessions_after = get_n(item, "sessions_after_us").map(instant).transpose()?;
    Ok(user)
}

/// A resource's document, with the revision of its item.
pub(crate) fn resource_doc(item: &Item) -> StoreResult<Resource> {
    let mut resource: Resource = doc(item)?;
    resource.revision = revision_of(item)?;
    Ok(resource)
}

/// A service principal's document, with its `active` attribute (kept apart, like a user's).
pub(crate) fn service_principal_doc(item: &Item) -> StoreResult<ServicePrincipal> {
    let mut sp: ServicePrincipal = doc(item)?;
    if let Some(AttributeValue::Bool(active)) = item.get("active") {
        sp.active = *active;
    }
    Ok(sp)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(s)
        .map_err(|e| DynamoError::Json(e).into())
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn instant(v: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_micros(v)
        .ok_or_else(|| corrupt(format!("instant {v} out of range")))
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(crate) fn item(
    pk: impl Into<String>,
    sk: impl Into<String>,
    attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Item {
    let mut i = key(pk, sk);
    i.extend(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)));
    i
}

/// The parts of an expression as the SDK builders take them.
pub(crate) type Split = (
    Option<String>,
    Option<HashMap<String, String>>,
    Option<HashMap<String, AttributeValue>>,
);

/// A condition expression with its names and values.
#[derive(Default)]
pub(crate) struct Cond {
    pub(crate) expression: String,
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

impl Cond {
    pub(crate) fn new(expression: &str) -> Self {
        Self {
            expression: expression.to_owned(),
            ..Self::default()
        }
    }
    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }
    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }
    pub(crate) fn split(self) -> Split {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (
            (!self.expression.is_empty()).then_some(self.expression),
            names,
            values,
        )
    }
}

/// `update` (a `SET ...` expression) that also counts the edit in the item's `rev` attribute.
pub(crate) fn counted(update: Cond, revision: u64) -> Cond {
    let expression = if update.expression.is_empty() {
        "SET #rev = :next_rev".to_owned()
    } else {
        format!("{}, #rev = :next_rev", update.expression)
    };
    Cond {
        expression,
        ..update
    }
    .name("#rev", "rev")
    .value(":rev", n(i64::try_from(revision).unwrap_or(i64::MAX)))
    .value(
        ":next_rev",
        n(i64::try_from(revision.saturating_add(1)).unwrap_or(i64::MAX)),
    )
}

/// The condition that an item is still at `revision` (an item never edited has no `rev` yet),
/// for an update built with [`counted`].
pub(crate) fn at_revision(revision: u64) -> &'static str {
    if revision == 0 {
        "(attribute_not_exists(#rev) OR #rev = :rev)"
    } else {
        "#rev = :rev"
    }
}

/// The revision an item is at.
pub(crate) fn revision_of(item: &Item) -> StoreResult<u64> {
    Ok(get_n(item, "rev").map_or(0, |r| u64::try_from(r).unwrap_or(0)))
}

pub(crate) fn absent() -> Cond {
    Cond::new("attribute_not_exists(#pk)").name("#pk", "pk")
}

/// A transaction under construction: each item with the error its failed condition means.
/// An entry of a user's active-flag history.
pub(crate) fn activity_item(user: &UserId, at: Timestamp, active: bool, seq: &str) -> Item {
    item(
        keys::principal(user.as_str()),
        format!("ACT#{}#{seq}", keys::at(at)),
        [
            ("at_us", n(micros(at))),
            ("active", AttributeValue::Bool(active)),
        ],
    )
}

pub(crate) fn random_suffix() -> String {
    // Orders entries of one change written at the same instant; random across changes.
    format!("{:08x}", rand_u32())
}

pub(crate) fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    u32::try_from(h.finish() & 0xffff_ffff).unwrap_or(0)
}
