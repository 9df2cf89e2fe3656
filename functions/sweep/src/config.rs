//! The sweep function's configuration, read once from the environment.

use autolock_aws::required;
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
    /// Days of warning before a lock (0: none).
    pub lock_warning_days: u32,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<chrono::Duration>,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `EVENT_BUS_NAME` and the optional
    /// `SWEEP_BATCH` (default 200) and `LOCK_WARNING_DAYS` (0 to 365).
    pub fn from_env() -> Result<Self, String> {
        let batch = match std::env::var("SWEEP_BATCH") {
            Ok(v) => v
                .parse()
                .map_err(|_| format!("SWEEP_BATCH must be a whole number, not {v:?}"))?,
            Err(_) => 200,
        };
        Ok(Self {
            tables: TableNames::from_env()?,
            event_bus_name: required("EVENT_BUS_NAME")?,
            batch,
            lock_warning_days: autolock_aws::lock_warning_days()?,
            feed_guard: autolock_aws::feed_guard()?,
        })
    }
}
