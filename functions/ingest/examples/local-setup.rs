//! Creates what the functions need on local emulators (or any account the environment points
//! at): the three tables named `<prefix>-*`, seeded with the demo directory, the ingestion
//! dead-letter queue and the SES sender identity; then prints the environment the functions
//! read, for `eval`.
//!
//! ```sh
//! eval "$(cargo run -q -p autolock-ingest --example local-setup -- autolock-local)"
//! ```

use autolock_dynamodb::{TableNames, create_tables};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prefix = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "autolock-local".to_owned());
    let sdk = autolock_aws::sdk_config().await;
    let names = TableNames::with_prefix(&prefix);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let existing = dynamodb
        .list_tables()
        .send()
        .await?
        .table_names
        .unwrap_or_default();
    if !existing.contains(&names.policies) {
        create_tables(&dynamodb, &names).await?;
        let store = std::sync::Arc::new(autolock_dynamodb::DynamoStore::new(
            dynamodb.clone(),
            names.clone(),
        ));
        autolock_local::demo::seed(
            &autolock_core::service::Autolock::new(store),
            chrono::Utc::now(),
        )
        .await?;
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(format!("{prefix}-ingest-dlq"))
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    println!(
        "export POLICIES_TABLE={} USAGE_TABLE={} REQUESTS_TABLE={}",
        names.policies, names.usage, names.requests
    );
    println!("export DEAD_LETTER_QUEUE_URL={queue} EVENT_BUS_NAME=default");
    println!(
        "export PUBLIC_BASE_URL=http://127.0.0.1:9010/lambda-url/autolock-api CONSOLE_BASE_URL=http://127.0.0.1:9010"
    );
    // The API function reads its keys from SSM Parameter Store (SecureString) at cold start.
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (var, name, value) in [
        (
            "BLOCK_LINK_KEY_PARAMETER",
            format!("/{prefix}/block-link-key"),
            "local-block-link-key-not-for-production",
        ),
        (
            "SESSION_KEY_PARAMETER",
            format!("/{prefix}/session-key"),
            "local-console-session-key-not-for-production",
        ),
    ] {
        ssm.put_parameter()
            .name(&name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await?;
        println!("export {var}={name}");
    }
    // The notifier sends as autolock@<prefix>.example.com: an SES identity the emulator knows.
    let domain = format!("{prefix}.example.com");
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let known = ses
        .get_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .is_ok();
    if !known {
        ses.create_email_identity()
            .email_identity(&domain)
            .send()
            .await?;
    }
    println!("export SENDER_ADDRESS=autolock@{domain}");
    Ok(())
}
