//! The sweep function's configuration, read once from the environment into its types.

use autolock_aws::{ConfigError, required};
use autolock_core::service::{FeedWindow, LockWarning, Options};
use autolock_dynamodb::TableNames;

/// Everything the sweep function needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// The bus domain events go to.
    pub event_bus_name: String,
    /// Rights per batch.
    pub batch: usize,
    /// Lock warnings, off unless set.
    pub lock_warning: Option<LockWarning>,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<FeedWindow>,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `EVENT_BUS_NAME` and the optional
    /// `SWEEP_BATCH` (default 200), `LOCK_WARNING_DAYS` (0 to 365) and `FEED_GUARD`, failing on
    /// the first one missing or wrong.
    pub fn from_env() -> Result<Self, ConfigError> {
        let batch = match std::env::var("SWEEP_BATCH") {
            Ok(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name: "SWEEP_BATCH",
                message: format!("must be a whole number, not {v:?}"),
            })?,
            Err(_) => 200,
        };
        Ok(Self {
            tables: TableNames::from_env()?,
            event_bus_name: required("EVENT_BUS_NAME")?,
            batch,
            lock_warning: autolock_aws::lock_warning()?,
            feed_guard: autolock_aws::feed_guard()?,
        })
    }

    /// The options of the function's use cases.
    #[must_use]
    pub fn options(&self) -> Options {
        autolock_aws::options()
            .lock_warnings(self.lock_warning)
            .feed_guard(self.feed_guard)
    }
}
