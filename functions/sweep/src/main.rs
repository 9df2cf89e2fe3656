//! Wires the sweep function: tracing, configuration, the DynamoDB store, the bus publisher, the
//! tick; then the handler per scheduled run.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use autolock_core::service::{Autolock, Ticker};
use autolock_dynamodb::DynamoStore;
use autolock_eventbridge::BusPublisher;
use autolock_sweep::config::Config;
use autolock_sweep::handler::{SweepError, handle_event};

#[tokio::main]
async fn main() -> Result<(), Error> {
    autolock_aws::init_tracing();
    let config = Config::from_env()?;
    let sdk = autolock_aws::sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.tables.clone());
    let app = Autolock::with_options(Arc::new(store), config.options());
    let publisher = BusPublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        config.event_bus_name.clone(),
    );
    let ticker = Ticker::new(&app, Arc::new(publisher), config.batch);
    let ticker = &ticker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Keep a margin before the function's deadline for the last batch to finish.
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        let budget = left.saturating_sub(Duration::from_secs(20));
        let report = handle_event(ticker, &event.payload, chrono::Utc::now(), budget).await?;
        tracing::info!(%report, "sweep run");
        Ok::<_, SweepError>(report)
    }))
    .await
}
