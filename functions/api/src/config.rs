//! The API function's configuration, read once from the environment.

use autolock_aws::required;
use autolock_dynamodb::TableNames;

/// Everything the API function needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// Where the block page is served (this API's public URL).
    pub public_base_url: String,
    /// The admin console that links point at.
    pub console_base_url: String,
    /// The key that signs block-page links.
    pub block_link_key: String,
    /// The key that signs the console's session cookies (32 bytes or more).
    pub session_key: String,
    /// The From address of the console's sign-in emails (of a verified SES identity).
    pub sender_address: String,
    /// Days of warning before a lock (0: none).
    pub lock_warning_days: u32,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<chrono::Duration>,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `PUBLIC_BASE_URL`,
    /// `CONSOLE_BASE_URL`, `BLOCK_LINK_KEY`, `SESSION_KEY`, `SENDER_ADDRESS` and the optional
    /// `LOCK_WARNING_DAYS` (0 to 365), failing on the first one missing or wrong.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            tables: TableNames::from_env()?,
            public_base_url: required("PUBLIC_BASE_URL")?,
            console_base_url: required("CONSOLE_BASE_URL")?,
            block_link_key: required("BLOCK_LINK_KEY")?,
            session_key: Some(required("SESSION_KEY")?)
                .filter(|k| k.len() >= 32)
                .ok_or("SESSION_KEY must be 32 or more characters")?,
            sender_address: required("SENDER_ADDRESS")?,
            lock_warning_days: autolock_aws::lock_warning_days()?,
            feed_guard: autolock_aws::feed_guard()?,
        })
    }
}
