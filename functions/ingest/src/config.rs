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
    /// The usage-write coalescing window (DESIGN §9), zero (off) unless set.
    pub coalesce: chrono::Duration,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `DEAD_LETTER_QUEUE_URL` and the
    /// optional `USAGE_COALESCE_SECONDS` (0 to 3600, default 0: every forward move is written).
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
            tables: TableNames {
                policies: required("POLICIES_TABLE")?,
                usage: required("USAGE_TABLE")?,
                requests: required("REQUESTS_TABLE")?,
            },
            dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL")?,
        })
    }
}
