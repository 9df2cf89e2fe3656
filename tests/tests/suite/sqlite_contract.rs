//! The store contract suite on the embedded SQLite store.

use std::sync::Arc;

use autolock_core::ports::Store;

async fn fresh() -> Arc<dyn Store> {
    Arc::new(autolock_sqlite::SqliteStore::in_memory().expect("open in-memory store"))
}

autolock_tests::store_contract_tests!(fresh());
