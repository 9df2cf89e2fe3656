//! The store contract for the feed guard (docs/semantics.md §2.10): the feed's record written
//! over its revision, a silence that holds every lock, the alert and the end of a silence.
#![allow(clippy::missing_panics_doc, clippy::too_many_lines)]

use std::sync::Arc;

use autolock_core::audit::AuditAction;
use autolock_core::error::StoreError;
use autolock_core::events::DomainEvent;
use autolock_core::feed::FeedState;
use autolock_core::lock::RightState;
use autolock_core::ports::{Changeset, SettingsWrite, Store};

use crate::world::{World, d, h};

pub async fn the_feeds_record_is_written_over_its_revision(store: Arc<dyn Store>) {
    assert_eq!(store.feed().await.unwrap(), FeedState::default());
    let first = FeedState {
        last_heard: Some(h(1)),
        ..FeedState::default()
    };
    let write = |s: FeedState| Changeset {
        settings: vec![SettingsWrite::Feed(s)],
        ..Changeset::default()
    };
    store.commit(write(first.clone())).await.unwrap();
    let read = store.feed().await.unwrap();
    assert_eq!(read.last_heard, Some(h(1)));
    assert_eq!(read.revision, 1);
    // Computed from revision 0 again: refused, nothing changes.
    let stale = FeedState {
        last_heard: Some(h(2)),
        ..FeedState::default()
    };
    let err = store.commit(write(stale)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let next = FeedState {
        last_heard: Some(h(3)),
        ..read
    };
    store.commit(write(next)).await.unwrap();
    let read = store.feed().await.unwrap();
    assert_eq!((read.last_heard, read.revision), (Some(h(3)), 2));
}

pub async fn flow_a_silent_feed_holds_every_lock_and_alerts_the_admins(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let app = w.app.reconfigured(w.app.options().clone().feed_guard(Some(
        autolock_core::service::FeedWindow::new(chrono::Duration::hours(6)).unwrap(),
    )));
    // Events arrive at h(1), then nothing: a silence begins at h(7).
    w.carol_uses_gitlab(&app, "c1", h(1)).await;
    assert_eq!(w.store().feed().await.unwrap().last_heard, Some(h(1)));
    assert_eq!(app.feed().check_feed(h(6)).await.unwrap(), None);
    assert_eq!(app.feed().check_feed(h(8)).await.unwrap(), Some(h(7)));
    assert_eq!(app.feed().check_feed(h(9)).await.unwrap(), Some(h(7)));
    let began = w.audited(AuditAction::FeedSilenceBegan).await;
    assert_eq!(began.len(), 1, "alerted once");
    assert_eq!(began[0].at, h(7));
    let alerts: Vec<_> = w
        .store()
        .pending(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, DomainEvent::FeedSilent { .. }))
        .collect();
    assert_eq!(alerts.len(), 1, "published once, for the notifier");

    // Bob (7 days, never used since h(0)) would lock at d(7): not while the feed is silent.
    let bob = app
        .gateway()
        .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(8))
        .await
        .unwrap();
    assert!(bob.allow, "{bob:?}");
    let sweep = app.sweep().sweep(d(8), 100).await.unwrap();
    assert_eq!(sweep.feed_silent_since, Some(h(7)));
    assert_eq!(sweep.examined, 0, "the sweep waits");
    assert_eq!(w.bob_usage().await.value.lock, None);

    // Heard again at d(10): bob had 7 hours counted before the silence; the rest runs from now.
    w.carol_uses_gitlab(&app, "c2", d(10)).await;
    let ended = w.audited(AuditAction::FeedSilenceEnded).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].at, d(10));
    let lock = d(10) + chrono::Duration::days(7) - chrono::Duration::hours(7);
    let state = app
        .gateway()
        .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(10))
        .await
        .unwrap()
        .state;
    assert_eq!(
        state,
        RightState::Active {
            next_lock: Some(lock)
        }
    );
    // Nothing locks at once after the silence; the sweep records the lock at its instant.
    let sweep = app.sweep().sweep(d(10), 100).await.unwrap();
    assert_eq!(sweep.locked, 0);
    assert_eq!(app.feed().check_feed(d(10)).await.unwrap(), None);
    // Events keep arriving (every five hours), so no new silence begins.
    let mut at = d(10);
    while at + chrono::Duration::hours(5) < lock {
        at += chrono::Duration::hours(5);
        w.carol_uses_gitlab(&app, &format!("c-{}", at.timestamp()), at)
            .await;
    }
    assert_eq!(app.feed().check_feed(lock).await.unwrap(), None);
    let sweep = app.sweep().sweep(lock, 100).await.unwrap();
    assert_eq!(sweep.locked, 1);
    assert_eq!(w.bob_usage().await.value.lock, Some(lock));
    let status = app.feed().feed_status(&w.reviewer, lock).await.unwrap();
    assert_eq!(status.guard.as_deref(), Some("6h"));
    assert_eq!(status.silences.len(), 1);
    assert_eq!(status.silences[0].start, h(7));
    assert!(
        app.feed().feed_status(&w.bob, lock).await.is_err(),
        "members do not see it"
    );
}
