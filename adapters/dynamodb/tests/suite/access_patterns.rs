//! The DynamoDB store's access patterns, seen from the calls it makes: an audited commit writes
//! the month's listing item only when the month is new (no item every commit writes), a filtered
//! audit read and a member's own requests are queries by key, not a scan of a month or of the
//! open requests of everybody; a sign-in finds its user by key; and batches of writes keep to
//! DynamoDB's 25 (which an emulator may not hold).

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::AttributeValue;

use autolock_core::audit::{AuditAction, AuditFilter};
use autolock_core::ports::{PageRequest, RequestFilter};
use autolock_core::request::Verdict;
use autolock_core::service::{PolicyPatch, RequestList};
use autolock_dynamodb::DynamoStore;
use autolock_tests::world::{World, d};

/// What the store asked DynamoDB: each query as `index:partition`, each key a transaction put.
#[derive(Debug, Clone, Default)]
struct Calls {
    queries: Arc<Mutex<Vec<String>>>,
    puts: Arc<Mutex<Vec<(String, String)>>>,
    /// The writes of each BatchWriteItem call.
    batches: Arc<Mutex<Vec<usize>>>,
    on: Arc<Mutex<bool>>,
}

impl Calls {
    fn take(&self) -> (Vec<String>, Vec<(String, String)>) {
        (
            std::mem::take(&mut self.queries.lock().unwrap()),
            std::mem::take(&mut self.puts.lock().unwrap()),
        )
    }
}

fn text(v: Option<&AttributeValue>) -> String {
    match v {
        Some(AttributeValue::S(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "access-pattern-recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !*self.on.lock().unwrap() {
            return Ok(());
        }
        if let Some(q) = context.input().downcast_ref::<QueryInput>() {
            let values = q.expression_attribute_values().cloned().unwrap_or_default();
            let partition = [":pk", ":u"]
                .iter()
                .find_map(|k| values.get(*k))
                .map(|v| text(Some(v)))
                .unwrap_or_default();
            self.queries
                .lock()
                .unwrap()
                .push(format!("{}:{partition}", q.index_name().unwrap_or("table")));
        }
        if let Some(b) = context.input().downcast_ref::<BatchWriteItemInput>() {
            let n = b
                .request_items()
                .map_or(0, |r| r.values().map(Vec::len).sum());
            self.batches.lock().unwrap().push(n);
        }
        if let Some(t) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            for i in t.transact_items() {
                if let Some(p) = i.put() {
                    self.puts
                        .lock()
                        .unwrap()
                        .push((text(p.item().get("pk")), text(p.item().get("sk"))));
                }
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn audit_writes_have_no_hot_item_and_filtered_reads_query_by_key() {
    let (plain, teardown) = autolock_dynamodb::testing::fresh().await;
    let calls = Calls::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&autolock_aws::sdk_config().await)
        .interceptor(calls.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        plain.tables().clone(),
    );
    let w = World::seed(Arc::new(store)).await;
    let filed = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, "release".parse().unwrap(), d(8))
        .await
        .unwrap();

    // Two audited commits in a month already listed: neither writes the month's item.
    *calls.on.lock().unwrap() = true;
    for days in ["1d", "30d"] {
        w.app
            .policies()
            .set_resource_policy(
                &w.admin,
                &w.gitlab,
                PolicyPatch {
                    auto_lock_after: Some(
                        autolock_core::policy::AutoLockAfter::parse(days).unwrap(),
                    ),
                    approval: None,
                },
                d(8),
            )
            .await
            .unwrap();
    }
    let (_, puts) = calls.take();
    let audit_puts: Vec<&(String, String)> = puts
        .iter()
        .filter(|(pk, _)| pk.starts_with("AUDIT"))
        .collect();
    assert!(
        !audit_puts.iter().any(|(pk, _)| pk == "AUDIT"),
        "the month's listing item is not rewritten: {audit_puts:?}"
    );
    assert!(
        audit_puts.iter().any(|(pk, _)| pk == "AUDITT#gitlab"),
        "{audit_puts:?}"
    );

    // The audit of one id: its own partition, no month scanned.
    let filter = AuditFilter {
        target: Some("gitlab".into()),
        action: Some(AuditAction::PolicyDurationChanged),
        ..AuditFilter::default()
    };
    let entries = w
        .store()
        .audit(&filter, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(
        entries.items.len(),
        3,
        "created at 7 days, then 1 day, then 30 days"
    );
    let (queries, _) = calls.take();
    assert_eq!(queries, ["table:AUDITT#gitlab"]);

    // A member's own requests: the user's partition of `by_user`, not everybody's open ones.
    let mine = RequestFilter {
        user: Some(w.bob_id()),
        resource: None,
    };
    let open = w
        .app
        .requests()
        .requests(
            &w.bob,
            RequestList::Open,
            mine.clone(),
            &PageRequest::first(10),
            d(8),
        )
        .await
        .unwrap();
    assert_eq!(open.items[0].id, filed.request.id);
    let (queries, _) = calls.take();
    assert!(queries.iter().all(|q| q == "by_user:bob"), "{queries:?}");
    w.app
        .requests()
        .resolve(&w.reviewer, &filed.request.id, Verdict::Deny, d(8))
        .await
        .unwrap();
    calls.take();
    let resolved = w
        .app
        .requests()
        .requests(
            &w.bob,
            RequestList::Resolved,
            mine,
            &PageRequest::first(10),
            d(8),
        )
        .await
        .unwrap();
    assert_eq!(resolved.items.len(), 1);
    let (queries, _) = calls.take();
    assert!(queries.iter().all(|q| q == "by_user:bob"), "{queries:?}");
    teardown.run().await;
}

#[tokio::test]
async fn a_user_is_found_by_email_by_key_and_batches_keep_to_25_writes() {
    use autolock_core::events::{DomainEvent, OutboxEntry};
    use autolock_core::ports::Changeset;
    let (plain, teardown) = autolock_dynamodb::testing::fresh().await;
    let calls = Calls::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&autolock_aws::sdk_config().await)
        .interceptor(calls.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        plain.tables().clone(),
    );
    let w = World::seed(Arc::new(store)).await;
    w.store()
        .mark_delivered(&w.store().pending(1000).await.unwrap())
        .await
        .unwrap();

    *calls.on.lock().unwrap() = true;
    let rita = w
        .store()
        .user_by_email(&"rita@example.com".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(rita.unwrap().id.as_str(), "rita");
    let (queries, _) = calls.take();
    assert_eq!(
        queries,
        ["table:EMAIL#rita@example.com"],
        "the address's own partition, not the users' index"
    );

    // Sixty delivered outbox entries are removed 25 at a time.
    let outbox: Vec<OutboxEntry> = (0..60)
        .map(|i| {
            OutboxEntry::new(
                DomainEvent::LockWarning {
                    user: w.bob_id(),
                    resource: w.gitlab.clone(),
                    lock_at: d(i),
                },
                d(8),
            )
        })
        .collect();
    w.store()
        .commit(Changeset {
            outbox,
            ..Changeset::default()
        })
        .await
        .unwrap();
    let pending = w.store().pending(1000).await.unwrap();
    assert_eq!(pending.len(), 60);
    calls.batches.lock().unwrap().clear();
    w.store().mark_delivered(&pending).await.unwrap();
    let batches = calls.batches.lock().unwrap().clone();
    assert!(batches.iter().all(|n| *n <= 25), "{batches:?}");
    assert_eq!(batches.iter().sum::<usize>(), 60, "{batches:?}");
    assert!(w.store().pending(1000).await.unwrap().is_empty());
    teardown.run().await;
}
