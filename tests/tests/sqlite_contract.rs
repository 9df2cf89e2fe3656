//! The store contract suite on the embedded SQLite store.

autolock_tests::store_contract_tests!(async {
    std::sync::Arc::new(autolock_sqlite::SqliteStore::in_memory().expect("open in-memory store"))
});
