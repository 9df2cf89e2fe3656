//! Fresh, uniquely named tables for tests: on DynamoDB Local as `scripts/test` starts it, or on
//! LocalStack or AWS when the standard `AWS_ENDPOINT_URL*` variables (or none, with
//! `AUTOLOCK_TEST_ON_AWS=1`) say so.

use crate::{DynamoStore, TableNames, create_tables, delete_tables};

/// Removes the tables of a test store.
#[derive(Debug)]
pub struct Teardown {
    client: aws_sdk_dynamodb::Client,
    names: TableNames,
}

impl Teardown {
    /// Deletes the tables.
    pub async fn run(self) {
        if let Err(e) = delete_tables(&self.client, &self.names).await {
            tracing::warn!(error = %e, "could not delete test tables");
        }
    }
}

/// A DynamoDB client for tests; panics with what to do when no DynamoDB is configured.
pub async fn client() -> aws_sdk_dynamodb::Client {
    let configured = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
        || std::env::var("AUTOLOCK_TEST_ON_AWS").is_ok_and(|v| v == "1");
    assert!(
        configured,
        "no DynamoDB to test against: run scripts/test (it starts DynamoDB Local), set AWS_ENDPOINT_URL_DYNAMODB, or set AUTOLOCK_TEST_ON_AWS=1 to use AWS"
    );
    aws_sdk_dynamodb::Client::new(&autolock_aws::sdk_config().await)
}

/// A store on three new tables named `autolock-test-<random>-*`, and their teardown.
pub async fn fresh() -> (DynamoStore, Teardown) {
    let client = client().await;
    let names = TableNames::with_prefix(&format!(
        "autolock-test-{}",
        autolock_core::ids::GroupId::generate()
    ));
    create_tables(&client, &names)
        .await
        .expect("create test tables");
    (
        DynamoStore::new(client.clone(), names.clone()),
        Teardown { client, names },
    )
}
