//! autolock-aws: what the AWS adapters and functions share — the SDK configuration with one
//! TLS stack (hyper 1 with rustls on ring), reading required settings from the environment, and
//! the functions' log format.
//!
//! Region, credentials and endpoints come from the standard environment, so the same code talks
//! to AWS, to LocalStack or to local emulators when `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` point at them.

#[cfg(feature = "testing")]
pub mod testing;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// Loads the SDK configuration from the environment with autolock's HTTPS client.
pub async fn sdk_config() -> SdkConfig {
    let http = Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

use autolock_core::service::{FeedWindow, LockWarning, Options};

/// Where a function finds Slack: the Web API (`SLACK_API_URL`, Slack's own by default) and the
/// SSM parameters of the bot token and the signing secret (`SLACK_BOT_TOKEN_PARAMETER`,
/// `SLACK_SIGNING_SECRET_PARAMETER`; by default `/autolock/slack-bot-token` and
/// `/autolock/slack-signing-secret`). A parameter that does not exist leaves the secret to the
/// admin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackParameters {
    /// The Web API's base URL.
    pub api_url: String,
    /// The bot token's parameter.
    pub bot_token_parameter: String,
    /// The signing secret's parameter.
    pub signing_secret_parameter: String,
}

impl SlackParameters {
    /// From the environment, with the defaults.
    #[must_use]
    pub fn from_env() -> Self {
        let or = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self {
            api_url: or("SLACK_API_URL", "https://slack.com/api"),
            bot_token_parameter: or("SLACK_BOT_TOKEN_PARAMETER", "/autolock/slack-bot-token"),
            signing_secret_parameter: or(
                "SLACK_SIGNING_SECRET_PARAMETER",
                "/autolock/slack-signing-secret",
            ),
        }
    }
}

/// Why a parameter could not be read: the function does not start.
#[derive(Debug, thiserror::Error)]
pub enum ParameterError {
    /// SSM did not answer it.
    #[error("reading the SSM parameter {name}")]
    Read {
        /// The parameter.
        name: String,
        /// SSM's error.
        #[source]
        source: Box<
            aws_sdk_ssm::error::SdkError<aws_sdk_ssm::operation::get_parameter::GetParameterError>,
        >,
    },
    /// It holds nothing.
    #[error("the SSM parameter {0} has no value")]
    Empty(String),
}

/// A secret's SSM parameter (a SecureString, or a Secrets Manager secret through
/// `/aws/reference/secretsmanager/<name>`), decrypted.
pub async fn parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<String, ParameterError> {
    optional_parameter(ssm, name)
        .await?
        .ok_or_else(|| ParameterError::Empty(name.to_owned()))
}

/// As [`parameter`], `None` when it does not exist (a secret the deployment may give or leave
/// to the admin's settings).
pub async fn optional_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<Option<String>, ParameterError> {
    let answer = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await;
    match answer {
        Ok(a) => Ok(a
            .parameter()
            .and_then(|p| p.value())
            .map(str::to_owned)
            .filter(|v| !v.trim().is_empty())),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_ssm::operation::get_parameter::GetParameterError::is_parameter_not_found,
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(ParameterError::Read {
            name: name.to_owned(),
            source: Box::new(source),
        }),
    }
}

/// A setting of a function's environment that is missing or wrong: the function does not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("set the environment variable {0}")]
    Missing(&'static str),
    /// A variable is set to something it cannot be.
    #[error("{name}: {message}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it must be.
        message: String,
    },
}

/// A required environment variable, or an error naming it.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// A required base URL (`PUBLIC_BASE_URL`, `CONSOLE_BASE_URL`), checked.
pub fn base_url(name: &'static str) -> Result<autolock_core::values::BaseUrl, ConfigError> {
    autolock_core::values::BaseUrl::parse(name, &required(name)?).map_err(|e| {
        ConfigError::Invalid {
            name,
            message: e.message,
        }
    })
}

/// The optional `LOCK_WARNING_DAYS`, 0 (unset: no lock warnings) to 365.
pub fn lock_warning() -> Result<Option<LockWarning>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        name: "LOCK_WARNING_DAYS",
        message,
    };
    match std::env::var("LOCK_WARNING_DAYS") {
        Ok(v) if !v.trim().is_empty() => {
            let days: u32 = v
                .trim()
                .parse()
                .map_err(|_| invalid(format!("must be 0 to 365 days, not {v:?}")))?;
            LockWarning::days(days).map_err(|e| invalid(e.message))
        }
        _ => Ok(None),
    }
}

/// The feed guard's window from `FEED_GUARD` (`6h`, `30m`, `1d`; unset, empty or `off`: no
/// guard), docs/semantics.md §2.10.
pub fn feed_guard() -> Result<Option<FeedWindow>, ConfigError> {
    FeedWindow::parse(&std::env::var("FEED_GUARD").unwrap_or_default()).map_err(|e| {
        ConfigError::Invalid {
            name: "FEED_GUARD",
            message: e.message,
        }
    })
}

/// The options of a function's use cases: tokio's timer between the attempts of a commit that
/// met a concurrent change, and the settings given.
#[must_use]
pub fn options() -> Options {
    Options::default().pause(std::sync::Arc::new(autolock_core::ports::Sleep(
        tokio::time::sleep,
    )))
}

/// Logs for CloudWatch: no colours, no timestamps (CloudWatch adds them), level from
/// `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}
