//! Fresh, uniquely named tables for tests: on moto's server as `scripts/test` starts it, or on
//! LocalStack or AWS when the standard `AWS_ENDPOINT_URL*` variables (or none, with
//! `AUTOLOCK_TEST_ON_AWS=1`) say so.

use autolock_aws::testing::Input;
use autolock_aws::testing::Recorder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;

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
        "no DynamoDB to test against: run scripts/test (it starts moto's server), set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_DYNAMODB), or set AUTOLOCK_TEST_ON_AWS=1 to use AWS"
    );
    aws_sdk_dynamodb::Client::new(&autolock_aws::sdk_config().await)
}

/// The template's name of a table of a test store (`autolock-test-...-policies` is
/// `PoliciesTable`), with `/index` for a query of one of its indexes.
fn logical(table: &str, index: bool) -> String {
    let name = match table.rsplit('-').next() {
        Some("policies") => "PoliciesTable",
        Some("usage") => "UsageTable",
        Some("requests") => "RequestsTable",
        _ => table,
    };
    if index {
        format!("{name}/index")
    } else {
        name.to_owned()
    }
}

/// The IAM actions a DynamoDB call needs, each with the table it applies to
/// (`GetItem@PoliciesTable`): each item of a transaction its own (`PutItem`, `UpdateItem`,
/// `DeleteItem`, `ConditionCheckItem`), a batch one per table.
#[must_use]
pub fn iam_actions(input: &Input) -> Option<Vec<String>> {
    use aws_sdk_dynamodb::operation::{
        batch_get_item::BatchGetItemInput, batch_write_item::BatchWriteItemInput,
        get_item::GetItemInput, query::QueryInput,
    };
    let on = |action: &str, table: Option<&str>| {
        format!("{action}@{}", logical(table.unwrap_or_default(), false))
    };
    if let Some(q) = input.downcast_ref::<QueryInput>() {
        let index = q.index_name().is_some();
        return Some(vec![format!(
            "Query@{}",
            logical(q.table_name().unwrap_or_default(), index)
        )]);
    }
    if let Some(g) = input.downcast_ref::<GetItemInput>() {
        return Some(vec![on("GetItem", g.table_name())]);
    }
    if let Some(b) = input.downcast_ref::<BatchGetItemInput>() {
        return Some(
            b.request_items()
                .into_iter()
                .flat_map(|m| m.keys())
                .map(|t| on("BatchGetItem", Some(t)))
                .collect(),
        );
    }
    if let Some(b) = input.downcast_ref::<BatchWriteItemInput>() {
        return Some(
            b.request_items()
                .into_iter()
                .flat_map(|m| m.keys())
                .map(|t| on("BatchWriteItem", Some(t)))
                .collect(),
        );
    }
    let t = input.downcast_ref::<TransactWriteItemsInput>()?;
    Some(
        t.transact_items()
            .iter()
            .map(|i| {
                if let Some(p) = i.put() {
                    on("PutItem", Some(p.table_name()))
                } else if let Some(u) = i.update() {
                    on("UpdateItem", Some(u.table_name()))
                } else if let Some(d) = i.delete() {
                    on("DeleteItem", Some(d.table_name()))
                } else {
                    on(
                        "ConditionCheckItem",
                        i.condition_check()
                            .map(aws_sdk_dynamodb::types::ConditionCheck::table_name),
                    )
                }
            })
            .collect(),
    )
}

/// A store on fresh tables (as [`fresh`]) whose calls `recorder` records while it is on.
pub async fn fresh_recorded(recorder: &Recorder) -> (DynamoStore, Teardown) {
    let (store, teardown) = fresh().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&autolock_aws::sdk_config().await)
        .interceptor(recorder.for_service("dynamodb", Some(iam_actions)))
        .build();
    let recorded = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        teardown.names.clone(),
    );
    drop(store);
    (recorded, teardown)
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
