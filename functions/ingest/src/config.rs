//! The ingestion function's configuration, read once from the environment into its types.

use autolock_aws::{ConfigError, required};
use autolock_core::service::{Coalescing, FeedWindow, LockWarning, Options};
use autolock_dynamodb::TableNames;

/// Everything the ingestion function needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// Where malformed events go, with their reason.
    pub dead_letter_queue_url: String,
    /// The usage-write coalescing window (docs/architecture.md, "Usage writes"), off unless set.
    pub coalescing: Option<Coalescing>,
    /// Lock warnings, off unless set.
    pub lock_warning: Option<LockWarning>,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<FeedWindow>,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `DEAD_LETTER_QUEUE_URL` and the
    /// optional `USAGE_COALESCE_SECONDS` (0 to 3600, default 0: every forward move is written),
    /// `LOCK_WARNING_DAYS` (0 to 365) and `FEED_GUARD`, failing on the first one missing or
    /// wrong.
    pub fn from_env() -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            name: "USAGE_COALESCE_SECONDS",
            message,
        };
        let coalescing = match std::env::var("USAGE_COALESCE_SECONDS") {
            Ok(v) => {
                let seconds: i64 = v
                    .parse()
                    .map_err(|_| invalid(format!("must be 0 to 3600, not {v:?}")))?;
                Coalescing::new(chrono::Duration::seconds(seconds))
                    .map_err(|e| invalid(e.message))?
            }
            Err(_) => None,
        };
        Ok(Self {
            coalescing,
            tables: TableNames::from_env()?,
            dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL")?,
            lock_warning: autolock_aws::lock_warning()?,
            feed_guard: autolock_aws::feed_guard()?,
        })
    }

    /// The options of the function's use cases.
    #[must_use]
    pub fn options(&self) -> Options {
        autolock_aws::options()
            .coalescing(self.coalescing)
            .lock_warnings(self.lock_warning)
            .feed_guard(self.feed_guard)
    }
}
