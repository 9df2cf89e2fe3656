//! The ingestion function's configuration, read once from the environment.

use autolock_aws::required;
use autolock_dynamodb::TableNames;

/// Everything the ingestion function needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// Where malformed events go, with their reason.
    pub dead_letter_queue_url: String,
    /// The usage-write coalescing window (docs/architecture.md, "Usage writes"), zero (off)
    /// unless set.
    pub coalesce: chrono::Duration,
    /// Days of warning before a lock (0: none).
    pub lock_warning_days: u32,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<chrono::Duration>,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `DEAD_LETTER_QUEUE_URL` and the
    /// optional `USAGE_COALESCE_SECONDS` (0 to 3600, default 0: every forward move is written)
    /// and `LOCK_WARNING_DAYS` (0 to 365).
    pub fn from_env() -> Result<Self, String> {
        let seconds: i64 = match std::env::var("USAGE_COALESCE_SECONDS") {
            Ok(v) => v
                .parse()
                .ok()
                .filter(|s| (0..=3600).contains(s))
                .ok_or_else(|| format!("USAGE_COALESCE_SECONDS must be 0 to 3600, not {v:?}"))?,
            Err(_) => 0,
        };
        Ok(Self {
            coalesce: chrono::Duration::seconds(seconds),
            tables: TableNames::from_env()?,
            dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL")?,
            lock_warning_days: autolock_aws::lock_warning_days()?,
            feed_guard: autolock_aws::feed_guard()?,
        })
    }
}
