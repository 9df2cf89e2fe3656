//! The store contract suite on DynamoDB: DynamoDB Local as `scripts/test` starts it, or
//! LocalStack or AWS when the standard `AWS_ENDPOINT_URL*` variables (or none, for AWS) say so.
//! Each test creates uniquely named tables and removes them.

use std::sync::Arc;

use autolock_core::ports::Store;
use autolock_dynamodb::{DynamoStore, TableNames, create_tables, delete_tables};

async fn client() -> aws_sdk_dynamodb::Client {
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

async fn fresh() -> (Arc<dyn Store>, (aws_sdk_dynamodb::Client, TableNames)) {
    let client = client().await;
    let prefix = format!("autolock-test-{}", autolock_core::ids::GroupId::generate());
    let names = TableNames::with_prefix(&prefix);
    create_tables(&client, &names).await.expect("create tables");
    (
        Arc::new(DynamoStore::new(client.clone(), names.clone())),
        (client, names),
    )
}

autolock_tests::store_contract_tests!(
    fresh(),
    teardown = |(client, names): (aws_sdk_dynamodb::Client, TableNames)| async move {
        delete_tables(&client, &names).await.expect("delete tables");
    }
);
