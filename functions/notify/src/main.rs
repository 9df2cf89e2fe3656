//! Wires the notifier function: tracing, configuration, the DynamoDB store, the SES, webhook and
//! Slack channels (Slack's bot token from SSM), then the handler per event.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use autolock_core::notify::Notifier;
use autolock_dynamodb::DynamoStore;
use autolock_notify::config::Config;
use autolock_notify::handler::{HandleError, handle};
use autolock_ses::SesSender;
use autolock_webhook::HttpWebhookSender;

#[tokio::main]
async fn main() -> Result<(), Error> {
    autolock_aws::init_tracing();
    let config = Config::from_env()?;
    let sdk = autolock_aws::sdk_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.tables.clone(),
    ));
    let email = SesSender::new(
        aws_sdk_sesv2::Client::new(&sdk),
        config.sender_address.clone(),
    );
    let webhook = HttpWebhookSender::new(config.allow_local_webhooks, Duration::from_secs(10));
    let slack =
        autolock_notify::config::slack(&aws_sdk_ssm::Client::new(&sdk), &config.slack).await?;
    let console = config.console_base_url.to_string();
    let slack = autolock_slack::SlackChannel::new(store.clone(), slack, &console);
    let notifier = Notifier::new(store, Arc::new(email), Arc::new(webhook), console)
        .with_channel(Arc::new(slack));
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let outcome = handle(notifier, &event.payload, chrono::Utc::now()).await?;
        Ok::<_, HandleError>(serde_json::to_value(outcome).unwrap_or_default())
    }))
    .await
}
