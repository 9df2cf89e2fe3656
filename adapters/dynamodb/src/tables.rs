//! The three tables: names, and their creation (for tests and local runs; on AWS the SAM
//! template creates them with the same keys and indexes).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use autolock_core::error::StoreError;

use crate::item::{backend, build_err};

/// The names of the three tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Directory, history, grants, policies, settings, audit, outbox.
    pub policies: String,
    /// One item per right.
    pub usage: String,
    /// Access requests.
    pub requests: String,
}

impl TableNames {
    /// `<prefix>-policies`, `<prefix>-usage`, `<prefix>-requests`.
    #[must_use]
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            policies: format!("{prefix}-policies"),
            usage: format!("{prefix}-usage"),
            requests: format!("{prefix}-requests"),
        }
    }

    /// Reads `POLICIES_TABLE`, `USAGE_TABLE` and `REQUESTS_TABLE`, naming the first missing.
    pub fn from_env() -> Result<Self, autolock_aws::ConfigError> {
        Ok(Self {
            policies: autolock_aws::required("POLICIES_TABLE")?,
            usage: autolock_aws::required("USAGE_TABLE")?,
            requests: autolock_aws::required("REQUESTS_TABLE")?,
        })
    }
}

fn attr(name: &str, t: ScalarAttributeType) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .map_err(build_err)
}

fn keyed(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>, StoreError> {
    let mut k = vec![
        KeySchemaElement::builder()
            .attribute_name(hash)
            .key_type(KeyType::Hash)
            .build()
            .map_err(build_err)?,
    ];
    if let Some(r) = range {
        k.push(
            KeySchemaElement::builder()
                .attribute_name(r)
                .key_type(KeyType::Range)
                .build()
                .map_err(build_err)?,
        );
    }
    Ok(k)
}

fn index(
    name: &str,
    hash: &str,
    range: &str,
    projection: ProjectionType,
) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(keyed(hash, Some(range))?))
        .projection(Projection::builder().projection_type(projection).build())
        .build()
        .map_err(build_err)
}

/// Creates the three tables (on-demand), waits until they are active, and turns on the TTL of
/// the policies (consumed links) and requests (resolved requests) tables.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), StoreError> {
    use ScalarAttributeType::{N, S};
    client
        .create_table()
        .table_name(&names.policies)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            attr("pk", S)?,
            attr("sk", S)?,
            attr("gsi1pk", S)?,
            attr("gsi1sk", S)?,
        ]))
        .set_key_schema(Some(keyed("pk", Some("sk"))?))
        .global_secondary_indexes(index("gsi1", "gsi1pk", "gsi1sk", ProjectionType::All)?)
        // The outbox flows to the bus from this stream (the template's sweep function).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::KeysOnly)
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(backend)?;
    client
        .create_table()
        .table_name(&names.usage)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            attr("pk", S)?,
            attr("sk", S)?,
            attr("due_shard", S)?,
            attr("due_hour", N)?,
        ]))
        .set_key_schema(Some(keyed("pk", Some("sk"))?))
        .global_secondary_indexes(index(
            "due",
            "due_shard",
            "due_hour",
            ProjectionType::KeysOnly,
        )?)
        .send()
        .await
        .map_err(backend)?;
    client
        .create_table()
        .table_name(&names.requests)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            attr("pk", S)?,
            attr("open_pk", S)?,
            attr("open_sk", S)?,
            attr("res_pk", S)?,
            attr("res_sk", S)?,
            attr("user_pk", S)?,
            attr("user_sk", S)?,
        ]))
        .set_key_schema(Some(keyed("pk", None)?))
        .global_secondary_indexes(index("open", "open_pk", "open_sk", ProjectionType::All)?)
        .global_secondary_indexes(index("resolved", "res_pk", "res_sk", ProjectionType::All)?)
        .global_secondary_indexes(index("by_user", "user_pk", "user_sk", ProjectionType::All)?)
        .send()
        .await
        .map_err(backend)?;
    for table in [&names.policies, &names.usage, &names.requests] {
        wait_active(client, table).await?;
    }
    for table in [&names.policies, &names.requests] {
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name("ttl")
            .build()
            .map_err(build_err)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(backend)?;
    }
    Ok(())
}

async fn wait_active(client: &Client, table: &str) -> Result<(), StoreError> {
    for _ in 0..120 {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(backend)?;
        let status = out.table.as_ref().and_then(|t| t.table_status.clone());
        if status.as_ref().is_some_and(|s| s.as_str() == "ACTIVE") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(crate::item::DynamoError::Unfinished(format!("table {table} did not become active")).into())
}

/// Deletes the three tables.
pub async fn delete_tables(client: &Client, names: &TableNames) -> Result<(), StoreError> {
    for table in [&names.policies, &names.usage, &names.requests] {
        client
            .delete_table()
            .table_name(table)
            .send()
            .await
            .map_err(backend)?;
    }
    Ok(())
}
