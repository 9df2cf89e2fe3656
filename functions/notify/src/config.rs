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
    /// Where Slack is, and its bot token's parameter.
    pub slack: autolock_aws::SlackParameters,
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
            slack: autolock_aws::SlackParameters::from_env(),
        })
    }
}

/// Slack as the notifier posts to it: the Web API, and the bot token from its SSM parameter
/// when that exists (else the one an admin stored in the settings), read at cold start.
pub async fn slack(
    ssm: &aws_sdk_ssm::Client,
    parameters: &autolock_aws::SlackParameters,
) -> Result<autolock_slack::SlackConfig, SlackError> {
    let bot_token = autolock_aws::optional_parameter(ssm, &parameters.bot_token_parameter)
        .await?
        .map(|t| autolock_core::delivery::SecretText::parse("bot_token", &t))
        .transpose()
        .map_err(|e| SlackError::Invalid(parameters.bot_token_parameter.clone(), e.message))?;
    Ok(autolock_slack::SlackConfig {
        api_url: parameters.api_url.clone(),
        bot_token,
        signing_secret: None,
    })
}

/// Why Slack's token could not be read: the function does not start.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// SSM did not answer.
    #[error(transparent)]
    Read(#[from] autolock_aws::ParameterError),
    /// The parameter holds no token.
    #[error("the SSM parameter {0}: {1}")]
    Invalid(String, String),
}
