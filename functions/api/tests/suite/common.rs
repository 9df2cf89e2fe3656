//! What the tests of the function share: its configuration and keys as a test gives them.

use autolock_api::config::{Config, Keys};
use autolock_core::values::{BaseUrl, SigningKeys};
use autolock_dynamodb::TableNames;

/// The function's configuration over `tables`: the block page at
/// `https://autolock.acme.example.com`, the console at `https://console.acme.example.com`, no
/// option on, Slack where its defaults say.
pub fn config(tables: TableNames) -> Config {
    Config {
        tables,
        public_base_url: BaseUrl::parse("url", "https://autolock.acme.example.com").unwrap(),
        console_base_url: BaseUrl::parse("url", "https://console.acme.example.com").unwrap(),
        block_link_key_parameter: "/autolock/test/block-link-key".into(),
        session_key_parameter: "/autolock/test/session-key".into(),
        lock_warning: None,
        feed_guard: None,
        group_roles: Default::default(),
        sign_on: None,
        slack: autolock_aws::SlackParameters::from_env(),
    }
}

/// Test keys, without single sign-on; Slack at `slack_api_url`.
pub fn keys(slack_api_url: &str) -> Keys {
    let keys = |k: &str| SigningKeys::parse(k).unwrap();
    Keys {
        block_links: keys("a test block-link key of 32 bytes or more"),
        sessions: keys("a test session key of 32 bytes or more!!"),
        sign_on: None,
        slack: autolock_slack::SlackConfig {
            api_url: slack_api_url.to_owned(),
            bot_token: None,
            signing_secret: None,
        },
    }
}
