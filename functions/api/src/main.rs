//! Wires the API function: tracing, configuration, the DynamoDB store, the router.

use std::sync::Arc;

use autolock_api::{config::Config, handler};
use autolock_dynamodb::DynamoStore;
use autolock_ses::SesSender;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autolock_aws::init_tracing();
    let config = Config::from_env()?;
    let sdk = autolock_aws::sdk_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.tables.clone(),
    ));
    let email = Arc::new(SesSender::new(
        aws_sdk_sesv2::Client::new(&sdk),
        config.sender_address.clone(),
    ));
    lambda_http::run(handler::router(store, email, &config)).await
}
