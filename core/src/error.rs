//! Errors of the core: validation failures at the edge and failures of the use cases.

/// A value given at the edge that is not acceptable, naming the field, what was given and what
/// is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    /// The field at fault, as the API names it (`auto_lock_after`, `reason`, ...).
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ValidationError {
    /// A rejection of `field` with a message that says what is allowed.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same rejection reported under another field name (a nested field, say).
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// The failure of a use case. Each surface maps these in exactly one place (HTTP: problem+json).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: nothing was changed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The object does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(String),
    /// The caller is not in the directory (a valid token naming nobody known).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is in the directory but deactivated.
    #[error("{0}")]
    Inactive(String),
    /// The caller may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller may not do this to themselves: unlock themselves, resolve their own request.
    #[error("forbidden: {0}")]
    ForbiddenSelf(String),
    /// The request conflicts with the current state, of the kind given.
    #[error("conflict: {1}")]
    Conflict(Conflict, String),
    /// This deployment does not do this (a test send where nothing sends notifications): the
    /// kind (a short code) and why.
    #[error("{1}")]
    Unavailable(&'static str, String),
    /// The store failed; the operation may be retried.
    #[error("store: {0}")]
    Store(StoreError),
}

impl From<StoreError> for Error {
    /// A cursor the store cannot read is bad input (400 naming `cursor`), not a store failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor(c) => Self::Invalid(ValidationError::new(
                "cursor",
                format!("{c:?} is not a cursor this list returned"),
            )),
            StoreError::TooLarge(what) => Self::Invalid(ValidationError::new(
                "body",
                format!("{what}: nothing was changed; make the change in smaller parts"),
            )),
            other => Self::Store(other),
        }
    }
}

/// What a request conflicts with. Each kind is a distinct problem type for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The right is not locked: nothing to unlock or request.
    NotLocked,
    /// The request was resolved already (approved, denied, auto-approved or cancelled).
    AlreadyResolved,
    /// The object exists already (an id taken, a grant of the group on the resource).
    AlreadyExists,
    /// A single-use link was used already.
    LinkUsed,
    /// The directory is not in a state that allows this (the first admin exists already).
    State,
}

impl Conflict {
    /// The wire name, as the problem type's last segment.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotLocked => "not_locked",
            Self::AlreadyResolved => "already_resolved",
            Self::AlreadyExists => "already_exists",
            Self::LinkUsed => "link_used",
            Self::State => "conflict",
        }
    }
}

/// A store failure, as every adapter reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the state changed since it was read: read again and retry.
    #[error("concurrent modification: {0}")]
    Conflict(String),
    /// A write would break a uniqueness rule (an id that exists, a second open request).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The backend failed (I/O, throttling, a transaction cancelled for another reason): what
    /// failed, and the backend's own error as the source, kept for the log.
    #[error("backend: {what}")]
    Backend {
        /// What failed, e.g. `sqlite` or `dynamodb TransactWriteItems`.
        what: String,
        /// The backend's error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// A page cursor the store did not hand out (malformed): nothing was read.
    #[error("bad cursor {0:?}")]
    BadCursor(String),
    /// The change is larger than the store commits at once (DynamoDB's transaction of 100
    /// items): nothing was written; it must be made in smaller parts.
    #[error("too large: {0}")]
    TooLarge(String),
}

/// An error with its causes, each after a colon, as logs and the CLI print it.
#[must_use]
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        // `transparent` variants show their source's text already.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

impl StoreError {
    /// The backend failed doing `what`, because of `source`.
    pub fn backend(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            what: what.into(),
            source: Some(Cause(std::sync::Arc::new(source))),
        }
    }

    /// The backend failed: `what` says how (no error of the backend's own to keep).
    pub fn backend_says(what: impl Into<String>) -> Self {
        Self::Backend {
            what: what.into(),
            source: None,
        }
    }
}

/// A backend's own error, kept as the source of a [`StoreError`]: shared, so that the store
/// error stays cheap to clone; two are equal when they read the same.
#[derive(Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Debug for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

/// Shorthand for results of the use cases.
pub type Result<T, E = Error> = std::result::Result<T, E>;
