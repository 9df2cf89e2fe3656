//! The API function's configuration, read once at cold start: its settings from the
//! environment, its signing keys from SSM Parameter Store (SecureString parameters, or Secrets
//! Manager secrets through Parameter Store's `/aws/reference/secretsmanager/...` names), never
//! from a plaintext environment variable.

use autolock_aws::required;
use autolock_core::values::SigningKeys;
use autolock_dynamodb::TableNames;

/// Everything the API function needs to know, but its keys.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// Where the block page is served (this API's public URL).
    pub public_base_url: String,
    /// The admin console that links point at.
    pub console_base_url: String,
    /// The SSM parameter holding the keys that sign block-page links.
    pub block_link_key_parameter: String,
    /// The SSM parameter holding the keys that sign the console's session cookies.
    pub session_key_parameter: String,
    /// Days of warning before a lock (0: none).
    pub lock_warning_days: u32,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<chrono::Duration>,
}

/// The keys the function signs with, read at cold start.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Sign and verify block-page links.
    pub block_links: SigningKeys,
    /// Sign and verify the console's sessions.
    pub sessions: SigningKeys,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `PUBLIC_BASE_URL`,
    /// `CONSOLE_BASE_URL`, `BLOCK_LINK_KEY_PARAMETER`, `SESSION_KEY_PARAMETER` and the
    /// optional `LOCK_WARNING_DAYS` (0 to 365) and `FEED_GUARD`, failing on the first one
    /// missing or wrong.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            tables: TableNames::from_env()?,
            public_base_url: required("PUBLIC_BASE_URL")?,
            console_base_url: required("CONSOLE_BASE_URL")?,
            block_link_key_parameter: required("BLOCK_LINK_KEY_PARAMETER")?,
            session_key_parameter: required("SESSION_KEY_PARAMETER")?,
            lock_warning_days: autolock_aws::lock_warning_days()?,
            feed_guard: autolock_aws::feed_guard()?,
        })
    }
}

impl Keys {
    /// Reads both parameters (decrypted). Each holds its keys one per line: the current one,
    /// then, while a rotation runs, the previous one (docs/security.md, "Rotating keys"); each
    /// at least 32 bytes.
    pub async fn read(ssm: &aws_sdk_ssm::Client, config: &Config) -> Result<Self, String> {
        Ok(Self {
            block_links: parameter(ssm, &config.block_link_key_parameter).await?,
            sessions: parameter(ssm, &config.session_key_parameter).await?,
        })
    }
}

async fn parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<SigningKeys, String> {
    let answer = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the SSM parameter {name}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            )
        })?;
    let value = answer
        .parameter()
        .and_then(|p| p.value())
        .ok_or_else(|| format!("the SSM parameter {name} has no value"))?;
    SigningKeys::parse(value).map_err(|e| format!("the SSM parameter {name}: {}", e.message))
}
