//! The notifier's configuration, read once from the environment.

use autolock_aws::{ConfigError, required};
use autolock_dynamodb::TableNames;

/// Everything the notifier needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// The From address of emails (of a verified SES identity).
    pub sender_address: String,
    /// The admin console that links point at.
    pub console_base_url: autolock_core::values::BaseUrl,
    /// Whether webhooks may target http and local addresses (never on AWS by default).
    pub allow_local_webhooks: bool,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `SENDER_ADDRESS`,
    /// `CONSOLE_BASE_URL` and the optional `ALLOW_LOCAL_WEBHOOKS` (`true` to allow).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            tables: TableNames::from_env()?,
            sender_address: required("SENDER_ADDRESS")?,
            console_base_url: autolock_aws::base_url("CONSOLE_BASE_URL")?,
            allow_local_webhooks: std::env::var("ALLOW_LOCAL_WEBHOOKS").is_ok_and(|v| v == "true"),
        })
    }
}
