//! What each use case costs on DynamoDB, counted with `ReturnConsumedCapacity` on the emulator:
//! calls and capacity units read and written. The test fails when a count grows past the
//! table below (kept in BENCHMARKS.md too); a duplicate or an old access event writes nothing.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

use autolock_core::lock::AccessEvent;
use autolock_core::request::Verdict;
use autolock_core::service::{EventInput, GateResource, GateUser};
use autolock_dynamodb::DynamoStore;
use autolock_tests::world::{World, d};

/// Calls and capacity units, read and written.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Cost {
    reads: u32,
    writes: u32,
    rcu: f64,
    wcu: f64,
}

#[derive(Debug, Clone, Default)]
struct Meter(Arc<Mutex<Cost>>);

impl Meter {
    fn take(&self) -> Cost {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn add(&self, read: bool, used: &[ConsumedCapacity]) {
        let mut c = self.0.lock().unwrap();
        let units: f64 = used
            .iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .sum();
        if read {
            c.reads += 1;
            c.rcu += units;
        } else {
            c.writes += 1;
            c.wcu += units;
        }
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "capacity-meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let total = Some(ReturnConsumedCapacity::Total);
        let input = context.input_mut();
        if let Some(i) = input.downcast_mut::<GetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<QueryInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            self.add(true, o.consumed_capacity.as_slice());
        } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
            self.add(true, o.consumed_capacity.as_slice());
        } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
            self.add(true, o.consumed_capacity.as_deref().unwrap_or_default());
        } else if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
            self.add(false, o.consumed_capacity.as_deref().unwrap_or_default());
        } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
            self.add(false, o.consumed_capacity.as_deref().unwrap_or_default());
        }
        Ok(())
    }
}

fn event(
    user: &autolock_core::ids::UserId,
    id: &str,
    at: autolock_core::Timestamp,
) -> Vec<EventInput> {
    vec![EventInput {
        user: user.clone(),
        resource: "gitlab".parse().unwrap(),
        event: AccessEvent {
            event_id: id.parse().unwrap(),
            accessed_at: at,
        },
    }]
}

#[tokio::test]
async fn each_use_case_costs_what_the_table_says_or_less() {
    let (plain, teardown) = autolock_dynamodb::testing::fresh().await;
    let meter = Meter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&autolock_aws::sdk_config().await)
        .interceptor(meter.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        plain.tables().clone(),
    );
    let w = World::seed(Arc::new(store)).await;
    let (bob, gitlab) = (w.bob_id(), w.gitlab.clone());
    let mut costs: Vec<(&str, Cost)> = Vec::new();
    meter.take();

    let decide = || {
        w.app
            .gateway()
            .decide_for(&w.gateway.id, &bob, &gitlab, false, d(1))
    };
    assert!(decide().await.unwrap().allow);
    costs.push(("decision, the warm function's first", meter.take()));
    w.app
        .gateway()
        .record_events(&w.gateway, event(&bob, "e1", d(1)), d(1))
        .await
        .unwrap();
    costs.push(("a counted access", meter.take()));
    assert!(decide().await.unwrap().allow);
    costs.push(("decision", meter.take()));
    // The right's item, facts and all, is one read unit for a strongly consistent read.
    let size = item_size(&bob, &gitlab, &plain).await;
    println!("the right's item: {size} bytes");
    assert!(size <= 4096, "{size} bytes");
    w.app
        .gateway()
        .record_events(&w.gateway, event(&bob, "e1", d(1)), d(1))
        .await
        .unwrap();
    costs.push(("the same event again", meter.take()));
    w.app
        .gateway()
        .record_events(
            &w.gateway,
            event(&bob, "e0", d(1) - chrono::Duration::hours(1)),
            d(1),
        )
        .await
        .unwrap();
    costs.push(("an older access", meter.take()));
    w.app.sweep().sweep(d(9), 100).await.unwrap();
    costs.push(("the sweep recording 2 locks", meter.take()));
    let filed = w
        .app
        .requests()
        .file_request(&w.carol, &gitlab, "release".parse().unwrap(), d(9))
        .await
        .unwrap();
    costs.push(("a request filed", meter.take()));
    w.app
        .requests()
        .resolve(&w.reviewer, &filed.request.id, Verdict::Approve, d(9))
        .await
        .unwrap();
    costs.push(("a request approved (unlock)", meter.take()));
    // The proxies' gate: carol, unlocked just now, checked as nginx asks.
    let gateway = w.app.gateway();
    let sp = gateway.gate_principal(&w.gateway.id).await.unwrap();
    costs.push((
        "gate: the gateway principal, kept since the decision",
        meter.take(),
    ));
    let check = |user: GateUser, at| gateway.gate(&sp, user, GateResource::Id(gitlab.clone()), at);
    let carol = || GateUser::Id(w.carol.id.as_str().parse().unwrap());
    let allowed = |user, at| async move { check(user, at).await.unwrap().decision.allow };
    let at = d(9) + chrono::Duration::minutes(1);
    assert!(allowed(carol(), at).await);
    costs.push(("gate check, allowed, written", meter.take()));
    assert!(allowed(carol(), at + chrono::Duration::seconds(30)).await);
    costs.push(("gate check, allowed within the window", meter.take()));
    assert!(allowed(carol(), at + chrono::Duration::seconds(32)).await);
    costs.push(("gate check, the same right again within 5 s", meter.take()));
    let carol_by_email = || GateUser::Email("carol@example.com".parse().unwrap());
    assert!(allowed(carol_by_email(), at + chrono::Duration::seconds(40)).await);
    costs.push(("gate check by email address, the first", meter.take()));
    assert!(allowed(carol_by_email(), at + chrono::Duration::seconds(46)).await);
    costs.push(("gate check by email address", meter.take()));
    assert!(!allowed(GateUser::Id("bob".parse().unwrap()), at).await);
    costs.push(("gate check, denied (locked)", meter.take()));
    let bob_again = at + chrono::Duration::seconds(20);
    assert!(!allowed(GateUser::Id("bob".parse().unwrap()), bob_again).await);
    costs.push(("gate check, denied again within the window", meter.take()));
    assert!(!allowed(GateUser::Id("dev".parse().unwrap()), at).await);
    costs.push(("gate check, denied (no path ever)", meter.take()));

    println!("| use case | reads | RCU | writes | WCU |\n|---|---:|---:|---:|---:|");
    for (name, c) in &costs {
        println!(
            "| {name} | {} | {:.1} | {} | {:.1} |",
            c.reads, c.rcu, c.writes, c.wcu
        );
    }
    // (use case, at most: read calls, write calls, WCU, RCU as the emulator counts them)
    let ceilings = [
        // The service principal (then kept 5 s) and the right's item, which the refresh of
        // bob's membership wrote with its facts.
        ("decision, the warm function's first", 2, 0, 0.0, 2.0),
        // The right's facts and usage; whether the user and the resource exist is read there.
        ("a counted access", 5, 1, 6.0, 5.0),
        // The right's item alone: its usage and the facts kept with it.
        ("decision", 1, 0, 0.0, 1.0),
        ("the same event again", 5, 0, 0.0, 5.0),
        ("an older access", 5, 0, 0.0, 5.0),
        ("the sweep recording 2 locks", 21, 2, 12.0, 24.0),
        ("a request filed", 7, 1, 10.0, 8.0),
        ("a request approved (unlock)", 7, 1, 14.0, 9.0),
        (
            "gate: the gateway principal, kept since the decision",
            0,
            0,
            0.0,
            0.0,
        ),
        // The gate's settings (kept 5 s) and the right's item; the usage write of a counted
        // access.
        ("gate check, allowed, written", 2, 1, 6.0, 2.0),
        // The right's item alone: no write within the coalescing window.
        ("gate check, allowed within the window", 1, 0, 0.0, 1.0),
        // The decision kept in the warm process: nothing read.
        (
            "gate check, the same right again within 5 s",
            0,
            0,
            0.0,
            0.0,
        ),
        // The user the address names (its address's item, then the user's; kept 5 s) and the
        // right's item, within the window.
        ("gate check by email address, the first", 3, 0, 0.0, 2.0),
        ("gate check by email address", 1, 0, 0.0, 1.0),
        // The right's item, its lock recorded by the sweep; the attempt kept (for a revert to
        // count), as an event denied by the lock is.
        ("gate check, denied (locked)", 1, 1, 6.0, 1.0),
        // The right's item alone: an attempt less than the window after the one kept is not
        // kept (a locked browser asks once per asset).
        ("gate check, denied again within the window", 1, 0, 0.0, 1.0),
        // No item: the facts read apart, and the resource, to tell a 404.
        ("gate check, denied (no path ever)", 5, 0, 0.0, 4.0),
    ];
    assert_eq!(costs.len(), ceilings.len());
    for ((name, c), (expected, reads, writes, wcu, rcu)) in costs.iter().zip(ceilings) {
        assert_eq!(*name, expected);
        assert!(
            c.reads <= reads && c.writes <= writes && c.wcu <= wcu && c.rcu <= rcu,
            "{name} costs more than it did: {c:?}"
        );
    }
    teardown.run().await;
}

/// The size of a right's item as DynamoDB counts it: each attribute's name and value (a
/// number counted as its digits, generously).
async fn item_size(
    user: &autolock_core::ids::UserId,
    resource: &autolock_core::ids::ResourceId,
    store: &DynamoStore,
) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = aws_sdk_dynamodb::Client::new(&autolock_aws::sdk_config().await);
    let item = client
        .get_item()
        .table_name(&store.tables().usage)
        .key("pk", AttributeValue::S(user.as_str().to_owned()))
        .key("sk", AttributeValue::S(resource.as_str().to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        item.contains_key("facts"),
        "the facts are kept with the usage"
    );
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(v) | AttributeValue::N(v) => v.len(),
                    other => panic!("an attribute of an unexpected type: {other:?}"),
                }
        })
        .sum()
}
