//! Wires the notifier function: tracing, the sender, then the handler per event.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use autolock_notify::handler::{LogOnly, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    autolock_aws::init_tracing();
    let sender = LogOnly::default();
    let sender = &sender;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let name = handle(sender, &event.payload).await?;
        Ok::<_, Error>(serde_json::json!({"handled": name}))
    }))
    .await
}
