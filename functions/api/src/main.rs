//! Wires the API function: tracing, configuration and its keys (from SSM Parameter Store), the
//! DynamoDB store, the router.

use std::sync::Arc;

use autolock_api::config::{Config, Keys};
use autolock_api::handler;
use autolock_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autolock_aws::init_tracing();
    let config = Config::from_env()?;
    let sdk = autolock_aws::sdk_config().await;
    let keys = Keys::read(&aws_sdk_ssm::Client::new(&sdk), &config).await?;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.tables.clone(),
    ));
    lambda_http::run(handler::router(store, &config, &keys)).await
}
