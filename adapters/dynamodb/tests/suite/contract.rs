//! The store contract suite on DynamoDB (see `autolock_dynamodb::testing` for which one). Each
//! test creates uniquely named tables and removes them.

use std::sync::Arc;

use autolock_core::ports::Store;
use autolock_dynamodb::testing::{Teardown, fresh};

async fn store() -> (Arc<dyn Store>, Teardown) {
    let (store, teardown) = fresh().await;
    (Arc::new(store), teardown)
}

autolock_tests::store_contract_tests!(store(), teardown = |t: Teardown| t.run());
