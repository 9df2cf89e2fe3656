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
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE` and `DEAD_LETTER_QUEUE_URL`.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            tables: TableNames {
                policies: required("POLICIES_TABLE")?,
                usage: required("USAGE_TABLE")?,
                requests: required("REQUESTS_TABLE")?,
            },
            dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL")?,
        })
    }
}
