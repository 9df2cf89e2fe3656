//! The API function's configuration, read once at cold start: its settings from the
//! environment, its signing keys from SSM Parameter Store (SecureString parameters, or Secrets
//! Manager secrets through Parameter Store's `/aws/reference/secretsmanager/...` names), never
//! from a plaintext environment variable.

use std::sync::Arc;

use autolock_aws::{ConfigError, required};
use autolock_core::service::{FeedWindow, GroupRoles, LockWarning, Options};
use autolock_core::values::{BaseUrl, SigningKeys};
use autolock_dynamodb::TableNames;

/// Everything the API function needs to know, but its keys.
#[derive(Debug, Clone)]
pub struct Config {
    /// The three tables.
    pub tables: TableNames,
    /// Where the block page is served (this API's public URL).
    pub public_base_url: BaseUrl,
    /// The admin console that links point at.
    pub console_base_url: BaseUrl,
    /// The SSM parameter holding the keys that sign block-page links.
    pub block_link_key_parameter: String,
    /// The SSM parameter holding the keys that sign the console's session cookies.
    pub session_key_parameter: String,
    /// Lock warnings, off unless set.
    pub lock_warning: Option<LockWarning>,
    /// The feed guard's window (`FEED_GUARD`), off unless set.
    pub feed_guard: Option<FeedWindow>,
    /// The roles the identity provider's groups give through SCIM (`SCIM_GROUP_ROLES`,
    /// `group=role,...`), none unless set.
    pub group_roles: GroupRoles,
    /// Single sign-on to the console, off unless `OIDC_ISSUER` is set.
    pub sign_on: Option<SignOn>,
    /// Where Slack is, and its secrets' parameters.
    pub slack: autolock_aws::SlackParameters,
}

/// The console's registration at an OpenID Connect provider: `OIDC_ISSUER`,
/// `OIDC_CLIENT_ID`, and the client secret in the SSM parameter `OIDC_CLIENT_SECRET_PARAMETER`
/// (none: a public client).
#[derive(Debug, Clone)]
pub struct SignOn {
    /// The provider's issuer.
    pub issuer: String,
    /// The client id the provider gave the console.
    pub client_id: String,
    /// The SSM parameter holding the client secret.
    pub client_secret_parameter: Option<String>,
}

/// The keys the function signs with, read at cold start.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Sign and verify block-page links.
    pub block_links: SigningKeys,
    /// Sign and verify the console's sessions.
    pub sessions: SigningKeys,
    /// The identity provider the console signs people in through, with its client secret.
    pub sign_on: Option<Arc<autolock_oidc::OidcProvider>>,
    /// Slack, with the secrets the deployment gives.
    pub slack: autolock_slack::SlackConfig,
}

impl Config {
    /// Reads `POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`, `PUBLIC_BASE_URL`,
    /// `CONSOLE_BASE_URL`, `BLOCK_LINK_KEY_PARAMETER`, `SESSION_KEY_PARAMETER` and the
    /// optional `LOCK_WARNING_DAYS` (0 to 365) and `FEED_GUARD`, failing on the first one
    /// missing or wrong.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            tables: TableNames::from_env()?,
            public_base_url: autolock_aws::base_url("PUBLIC_BASE_URL")?,
            console_base_url: autolock_aws::base_url("CONSOLE_BASE_URL")?,
            block_link_key_parameter: required("BLOCK_LINK_KEY_PARAMETER")?,
            session_key_parameter: required("SESSION_KEY_PARAMETER")?,
            lock_warning: autolock_aws::lock_warning()?,
            feed_guard: autolock_aws::feed_guard()?,
            group_roles: GroupRoles::parse(&std::env::var("SCIM_GROUP_ROLES").unwrap_or_default())
                .map_err(|e| ConfigError::Invalid {
                    name: "SCIM_GROUP_ROLES",
                    message: e.message,
                })?,
            sign_on: sign_on()?,
            slack: autolock_aws::SlackParameters::from_env(),
        })
    }
}

/// `OIDC_ISSUER` and what goes with it, if set.
fn sign_on() -> Result<Option<SignOn>, ConfigError> {
    let set = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(issuer) = set("OIDC_ISSUER") else {
        return Ok(None);
    };
    let sign_on = SignOn {
        issuer,
        client_id: required("OIDC_CLIENT_ID")?,
        client_secret_parameter: set("OIDC_CLIENT_SECRET_PARAMETER"),
    };
    // Checked now, so that a wrong issuer stops the cold start rather than a sign-in.
    sign_on.provider(None).map_err(|e| ConfigError::Invalid {
        name: "OIDC_ISSUER",
        message: e.to_string(),
    })?;
    Ok(Some(sign_on))
}

impl SignOn {
    fn provider(
        &self,
        client_secret: Option<String>,
    ) -> Result<autolock_oidc::OidcProvider, autolock_oidc::OidcConfigError> {
        autolock_oidc::OidcProvider::new(autolock_oidc::OidcConfig {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret,
        })
    }
}

impl Config {
    /// The options of the function's use cases.
    #[must_use]
    pub fn options(&self) -> Options {
        autolock_aws::options()
            .lock_warnings(self.lock_warning)
            .feed_guard(self.feed_guard)
            .group_roles(self.group_roles.clone())
    }
}

/// Why the keys could not be read: the function does not start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// SSM did not answer a parameter, or it holds nothing.
    #[error(transparent)]
    Read(#[from] autolock_aws::ParameterError),
    /// The parameter holds no key, or keys that are not keys.
    #[error("the SSM parameter {name}: {message}")]
    Invalid {
        /// The parameter.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl Keys {
    /// Reads both parameters (decrypted). Each holds its keys one per line: the current one,
    /// then, while a rotation runs, the previous one (docs/security.md, "Rotating keys"); each
    /// at least 32 bytes. With single sign-on, the client secret's parameter too; and Slack's
    /// secrets, where their parameters exist.
    pub async fn read(ssm: &aws_sdk_ssm::Client, config: &Config) -> Result<Self, KeyError> {
        let sign_on = match &config.sign_on {
            None => None,
            Some(s) => {
                let secret = match &s.client_secret_parameter {
                    Some(name) => Some(autolock_aws::parameter(ssm, name).await?.trim().to_owned()),
                    None => None,
                };
                let provider = s.provider(secret).map_err(|e| KeyError::Invalid {
                    name: "OIDC_ISSUER".into(),
                    message: e.to_string(),
                })?;
                Some(Arc::new(provider))
            }
        };
        let secret = |name: &str, field: &str, text: Option<String>| {
            text.map(|t| {
                autolock_core::delivery::SecretText::parse(field, &t).map_err(|e| {
                    KeyError::Invalid {
                        name: name.to_owned(),
                        message: e.message,
                    }
                })
            })
            .transpose()
        };
        let p = &config.slack;
        let slack = autolock_slack::SlackConfig {
            api_url: p.api_url.clone(),
            bot_token: secret(
                &p.bot_token_parameter,
                "bot_token",
                autolock_aws::optional_parameter(ssm, &p.bot_token_parameter).await?,
            )?,
            signing_secret: secret(
                &p.signing_secret_parameter,
                "signing_secret",
                autolock_aws::optional_parameter(ssm, &p.signing_secret_parameter).await?,
            )?,
        };
        Ok(Self {
            block_links: parameter(ssm, &config.block_link_key_parameter).await?,
            sessions: parameter(ssm, &config.session_key_parameter).await?,
            sign_on,
            slack,
        })
    }
}

async fn parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<SigningKeys, KeyError> {
    let value = autolock_aws::parameter(ssm, name).await?;
    SigningKeys::parse(&value).map_err(|e| KeyError::Invalid {
        name: name.to_owned(),
        message: e.message,
    })
}
