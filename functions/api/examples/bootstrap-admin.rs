//! Creates the first admin of an empty directory in the tables the environment names
//! (`POLICIES_TABLE`, `USAGE_TABLE`, `REQUESTS_TABLE`):
//!
//! ```sh
//! cargo run -p autolock-api --example bootstrap-admin -- ada ada@acme.example.com "Ada Admin"
//! ```

use std::sync::Arc;

use autolock_core::service::Autolock;
use autolock_dynamodb::{DynamoStore, TableNames};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [id, email, name] = args.as_slice() else {
        return Err("usage: bootstrap-admin ID EMAIL NAME".into());
    };
    let tables = TableNames {
        policies: autolock_aws::required("POLICIES_TABLE")?,
        usage: autolock_aws::required("USAGE_TABLE")?,
        requests: autolock_aws::required("REQUESTS_TABLE")?,
    };
    let sdk = autolock_aws::sdk_config().await;
    let app = Autolock::new(Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        tables,
    )));
    let user = app
        .directory()
        .bootstrap_admin(
            id.parse()?,
            email.parse()?,
            name.parse()?,
            std::time::SystemTime::now().into(),
        )
        .await?;
    println!("created admin {}", user.id);
    Ok(())
}
