//! Wires the ingestion function: tracing, configuration, the DynamoDB store, the SQS client for
//! the dead-letter queue, then the handler per event.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use autolock_core::service::Autolock;
use autolock_dynamodb::DynamoStore;
use autolock_ingest::config::Config;
use autolock_ingest::handler::handle_or_park;

#[tokio::main]
async fn main() -> Result<(), Error> {
    autolock_aws::init_tracing();
    let config = Config::from_env()?;
    let sdk = autolock_aws::sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.tables.clone());
    let app = Autolock::with_options(Arc::new(store), config.options());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (app, sqs, config) = (&app, &sqs, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let queue = &config.dead_letter_queue_url;
        handle_or_park(app, sqs, queue, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
