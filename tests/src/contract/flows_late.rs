//! More flows: the active flag over time, unlocks without a path, cancellations at an expiry, idempotent edits, last access after an unlock, disabled service principals, changes completed by the tick, large batches, the gate on the facts a change refreshed, the sweep's earlier look.

#![allow(clippy::wildcard_imports)]

use super::*;

pub async fn flow_nobody_unlocks_themselves_and_approvers_never_their_own(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    // The DevOps admin is in eng too and gets locked.
    w.app
        .directory()
        .add_member(&w.admin, &w.eng, &w.devops.id, h(0))
        .await
        .unwrap();
    assert!(matches!(
        w.app
            .requests()
            .unlock(&w.devops, &w.devops.id, &w.gitlab, d(8))
            .await,
        Err(Error::ForbiddenSelf(_))
    ));
    let own = w
        .app
        .requests()
        .file_request(&w.devops, &w.gitlab, reason("mine"), d(8))
        .await
        .unwrap()
        .request
        .id;
    assert!(matches!(
        w.app
            .requests()
            .resolve(&w.devops, &own, Verdict::Approve, d(8))
            .await,
        Err(Error::ForbiddenSelf(_))
    ));
    assert!(
        matches!(
            w.app
                .requests()
                .resolve(&w.bob, &own, Verdict::Approve, d(8))
                .await,
            Err(Error::Forbidden(_))
        ),
        "members do not approve"
    );
    // Members see only their own requests: another's is not found.
    assert!(matches!(
        w.app.requests().request(&w.bob, &own).await,
        Err(Error::NotFound(_))
    ));
    assert!(w.app.requests().request(&w.reviewer, &own).await.is_ok());
    assert!(matches!(
        w.app
            .rights()
            .rights_of_user(&w.bob, &w.devops.id, d(8))
            .await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        w.app
            .rights()
            .rights_of_user(&w.bob, &w.bob_id(), d(8))
            .await
            .unwrap()
            .len(),
        1
    );
    w.app
        .requests()
        .resolve(&w.admin, &own, Verdict::Approve, d(8))
        .await
        .unwrap();
}

pub async fn flow_sweep_is_bounded_and_resumable(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    for i in 0..5 {
        add_member(&w, &format!("m{i}")).await;
    }
    // Seven members lock at day 7. Two runs of three and one of one record them all once.
    let first = w.app.sweep().sweep(d(8), 3).await.unwrap();
    assert_eq!((first.examined, first.locked), (3, 3));
    let (second, overlapping) =
        tokio::join!(w.app.sweep().sweep(d(8), 3), w.app.sweep().sweep(d(8), 3));
    let (second, overlapping) = (second.unwrap(), overlapping.unwrap());
    let third = w.app.sweep().sweep(d(8), 3).await.unwrap();
    assert_eq!(
        first.locked + second.locked + overlapping.locked + third.locked,
        7,
        "each lock recorded once"
    );
    assert_eq!(
        w.app.sweep().sweep(d(8), 3).await.unwrap().examined,
        0,
        "nothing left due"
    );
    let locks = w
        .store()
        .audit(
            &AuditFilter {
                action: Some(AuditAction::Locked),
                ..AuditFilter::default()
            },
            &PageRequest::first(100),
        )
        .await
        .unwrap();
    assert_eq!(locks.items.len(), 7);
    assert!(
        locks
            .items
            .iter()
            .all(|e| e.details["locked_at"] == serde_json::json!(d(7))),
        "recorded at the lock instant"
    );
    // The users of a resource page by id, as a streamed report reads them.
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = w
            .store()
            .users_of_resource_page(&w.gitlab, &page)
            .await
            .unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.into_iter().map(|u| u.to_string()));
        match p.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        w.store()
            .users_of_resource(&w.gitlab)
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    assert_eq!(seen.len(), 7);
}

/// The active flag is a temporal fact: an event is judged by the flag at its instant, whatever
/// arrives first, and a re-delivered event that counted answers `duplicate`.
pub async fn flow_the_active_flag_is_temporal(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let bob = w.bob_id();
    let one = |eid: &str, at| {
        vec![EventInput {
            user: bob.clone(),
            resource: w.gitlab.clone(),
            event: event(eid, at),
        }]
    };
    w.app
        .directory()
        .set_user_active(&w.admin, &bob, false, d(2))
        .await
        .unwrap();
    // Stamped while active, delivered after the deactivation: counted.
    let r = w
        .app
        .gateway()
        .record_events(
            &w.gateway,
            one("before", d(2) - chrono::Duration::hours(1)),
            d(2) + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(r[0].outcome.as_str(), "counted");
    let facts = w.store().right_facts(&bob, &w.gitlab).await.unwrap();
    assert!(facts.active_at(d(2) - chrono::Duration::hours(1)));
    assert!(!facts.active_at(d(2)));
    w.app
        .directory()
        .set_user_active(&w.admin, &bob, true, d(2) + chrono::Duration::hours(6))
        .await
        .unwrap();
    // Stamped while inactive, delivered after the reactivation: denied.
    let r = w
        .app
        .gateway()
        .record_events(
            &w.gateway,
            one("while-off", d(2) + chrono::Duration::hours(2)),
            d(2) + chrono::Duration::hours(7),
        )
        .await
        .unwrap();
    assert_eq!(
        (r[0].outcome.as_str(), r[0].reason),
        ("denied", Some("inactive"))
    );
    // The first delivered again: a duplicate.
    let r = w
        .app
        .gateway()
        .record_events(
            &w.gateway,
            one("before", d(2) - chrono::Duration::hours(1)),
            d(2) + chrono::Duration::hours(8),
        )
        .await
        .unwrap();
    assert_eq!(r[0].outcome.as_str(), "duplicate");
    let usage = w.store().usage(&bob, &w.gitlab).await.unwrap().value;
    assert_eq!(usage.last_access, Some(d(2) - chrono::Duration::hours(1)));
    // Deactivated, a decision says why and still shows the right's own state.
    w.app
        .directory()
        .set_user_active(&w.admin, &bob, false, d(4))
        .await
        .unwrap();
    let decision = w
        .app
        .gateway()
        .decide(&w.gateway, &bob, &w.gitlab, false, d(4))
        .await
        .unwrap();
    assert!(!decision.allow);
    assert_eq!(decision.reason, Some(DenyReason::Inactive));
    assert!(matches!(decision.state, RightState::Active { .. }));
    assert!(matches!(
        w.app
            .rights()
            .right(&w.admin, &bob, &w.gitlab, d(4))
            .await
            .unwrap()
            .state,
        RightState::Active { .. }
    ));
}

/// A lock kept while the user has no path is in force: an unlock lifts it, and it does not come
/// back with the path.
pub async fn flow_an_unlock_lifts_a_lock_kept_without_a_path(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let bob = w.bob_id();
    w.app
        .directory()
        .remove_member(&w.admin, &w.eng, &bob, d(8))
        .await
        .unwrap();
    let unlocked = w
        .app
        .requests()
        .unlock(&w.devops, &bob, &w.gitlab, d(9))
        .await
        .unwrap();
    assert_eq!(unlocked.lifted_lock, d(7));
    assert_eq!(unlocked.right.state, RightState::NoAccess);
    w.app
        .directory()
        .add_member(&w.admin, &w.eng, &bob, d(10))
        .await
        .unwrap();
    assert_eq!(
        w.app
            .gateway()
            .decide(&w.gateway, &bob, &w.gitlab, false, d(10))
            .await
            .unwrap()
            .state,
        RightState::Active {
            next_lock: Some(d(17))
        },
        "a new span from the return, the old lock gone"
    );
    assert!(matches!(
        w.app
            .requests()
            .unlock(&w.devops, &bob, &w.gitlab, d(10))
            .await,
        Err(Error::Conflict(
            autolock_core::error::Conflict::NotLocked,
            _
        ))
    ));
}

/// An open request is cancelled at the instant the user's last path expires, whether or not
/// anything ran then; a verdict after it answers a conflict and unlocks nothing.
pub async fn flow_a_request_is_cancelled_at_the_instant_its_last_path_expires(
    store: Arc<dyn Store>,
) {
    let w = World::seed(store).await;
    let rid = locked_bob_with_open_request(&w).await;
    let grant = w
        .store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    w.app
        .directory()
        .set_grant_expiry(&w.admin, &grant.id, Some(d(9)), d(8))
        .await
        .unwrap();
    // Nothing ran at day 9. At day 10 the reviewer approves.
    assert!(matches!(
        w.app
            .requests()
            .resolve(&w.reviewer, &rid, Verdict::Approve, d(10))
            .await,
        Err(Error::Conflict(
            autolock_core::error::Conflict::AlreadyResolved,
            _
        ))
    ));
    let request = w.store().request(&rid).await.unwrap().unwrap();
    assert_eq!(
        (request.status, request.cancel_reason, request.resolved_at),
        (
            RequestStatus::Cancelled,
            Some(CancelReason::NoPath),
            Some(d(9))
        )
    );
    let usage = w.bob_usage().await.value;
    assert_eq!(usage.open_request, None);
    assert_eq!(usage.last_unlock, None, "nothing was unlocked");
    // The sweep finds the same, at the same instant, for a request nobody touched.
    let carols = w
        .app
        .requests()
        .file_request(&w.carol, &w.gitlab, reason("me too"), d(8))
        .await
        .unwrap()
        .request
        .id;
    w.app.sweep().sweep(d(11), 100).await.unwrap();
    let request = w.store().request(&carols).await.unwrap().unwrap();
    assert_eq!(
        (request.status, request.resolved_at),
        (RequestStatus::Cancelled, Some(d(9)))
    );
}

/// Adding a current member changes nothing (its `joined_at` kept); removing a non-member is
/// not found.
pub async fn flow_membership_edits_are_idempotent(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let bob = w.bob_id();
    let (again, created) = w
        .app
        .directory()
        .add_member(&w.admin, &w.eng, &bob, d(5))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.joined_at, h(0));
    assert_eq!(
        w.store()
            .membership(&bob, &w.eng)
            .await
            .unwrap()
            .map(|s| s.start),
        Some(h(0))
    );
    w.app
        .directory()
        .remove_member(&w.admin, &w.eng, &bob, d(5))
        .await
        .unwrap();
    assert!(matches!(
        w.app
            .directory()
            .remove_member(&w.admin, &w.eng, &bob, d(6))
            .await,
        Err(Error::NotFound(_))
    ));
    let (back, created) = w
        .app
        .directory()
        .add_member(&w.admin, &w.eng, &bob, d(6))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(back.joined_at, d(6));
}

/// `last_access` is the latest counted access, also when an unlock came after it.
pub async fn flow_last_access_is_the_latest_counted_access_even_after_an_unlock(
    store: Arc<dyn Store>,
) {
    let w = World::seed(store).await;
    let bob = w.bob_id();
    w.app
        .requests()
        .unlock(
            &w.devops,
            &bob,
            &w.gitlab,
            d(7) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    let late = vec![EventInput {
        user: bob.clone(),
        resource: w.gitlab.clone(),
        event: event("late", d(7) - chrono::Duration::hours(1)),
    }];
    let r = w
        .app
        .gateway()
        .record_events(&w.gateway, late, d(7) + chrono::Duration::hours(3))
        .await
        .unwrap();
    assert_eq!(r[0].outcome.as_str(), "counted");
    let usage = w.store().usage(&bob, &w.gitlab).await.unwrap().value;
    assert_eq!(usage.last_access, Some(d(7) - chrono::Duration::hours(1)));
    assert_eq!(
        usage.last_activity(),
        Some(d(7) + chrono::Duration::hours(2)),
        "the unlock stays the last activity"
    );
}

/// A disabled service principal is refused everything, at once; enabled again, it works.
pub async fn flow_a_disabled_service_principal_may_do_nothing(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let gw = w.gateway.id.clone();
    let check = |p: autolock_core::directory::Principal| {
        let app = w.app.clone();
        let bob = w.bob_id();
        let gitlab = w.gitlab.clone();
        async move { app.gateway().decide(&p, &bob, &gitlab, false, d(1)).await }
    };
    assert!(
        check(w.app.directory().principal(&gw).await.unwrap().unwrap())
            .await
            .is_ok()
    );
    assert!(matches!(
        w.app
            .directory()
            .set_service_principal_active(&w.devops, &gw, false, d(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    let sp = w
        .app
        .directory()
        .set_service_principal_active(&w.admin, &gw, false, d(1))
        .await
        .unwrap();
    assert!(!sp.active);
    let principal = w.app.directory().principal(&gw).await.unwrap().unwrap();
    assert!(!principal.active);
    assert!(
        !w.app
            .directory()
            .service_principal(&w.admin, &gw)
            .await
            .unwrap()
            .active
    );
    assert!(matches!(check(principal).await, Err(Error::Forbidden(_))));
    w.app
        .directory()
        .set_service_principal_active(&w.admin, &gw, true, d(1))
        .await
        .unwrap();
    assert!(
        check(w.app.directory().principal(&gw).await.unwrap().unwrap())
            .await
            .is_ok()
    );
    assert!(matches!(
        w.app
            .directory()
            .set_service_principal_active(&w.admin, &id("nobody"), false, d(1))
            .await,
        Err(Error::NotFound(_))
    ));
}

/// A change committed with its refresh intent, and then nothing (as if the process died before
/// bringing the rights up to date): the intent is pending, and carrying out the pending intents
/// (the tick does) completes the change — the deactivated user's open request is cancelled and
/// their right leaves the sweep's index.
pub async fn flow_a_change_left_half_done_is_completed_by_the_tick(store: Arc<dyn Store>) {
    use autolock_core::ports::{RefreshIntent, RefreshScope};
    let w = World::seed(store).await;
    let rid = locked_bob_with_open_request(&w).await;
    assert!(w.store().pending_refreshes(10).await.unwrap().is_empty());
    let bob = w.store().user(&w.bob_id()).await.unwrap().unwrap();
    let intent = RefreshIntent::new(
        RefreshScope::User {
            user: bob.id.clone(),
        },
        d(8),
    );
    w.store()
        .commit(Changeset {
            directory: vec![DirectoryChange::SetUserActive {
                user: bob.id.clone(),
                at: d(8),
                active: false,
                revision: bob.revision,
            }],
            refreshes: vec![intent.clone()],
            ..Changeset::default()
        })
        .await
        .unwrap();
    assert_eq!(w.store().pending_refreshes(10).await.unwrap(), vec![intent]);
    assert_eq!(
        w.app
            .requests()
            .request(&w.admin, &rid)
            .await
            .unwrap()
            .status,
        RequestStatus::Open,
        "not carried out yet"
    );
    let (done, failures) = w.app.sweep().carry_out_pending(d(8), 10).await.unwrap();
    assert_eq!((done, failures.len()), (1, 0));
    let request = w.app.requests().request(&w.admin, &rid).await.unwrap();
    assert_eq!(request.status, RequestStatus::Cancelled);
    assert!(w.store().pending_refreshes(10).await.unwrap().is_empty());
    // A use case carries out its own intent: nothing is left pending.
    w.app
        .directory()
        .set_user_active(&w.admin, &w.carol.id, false, d(8))
        .await
        .unwrap();
    assert!(w.store().pending_refreshes(10).await.unwrap().is_empty());
}

/// A batch of 300 events for one right, all reported days late: every one is answered
/// `late_ignored` and audited; the batch never becomes one oversized transaction.
pub async fn flow_a_large_batch_for_one_right_is_committed_in_parts(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let bob = w.bob_id();
    let batch: Vec<EventInput> = (0..300)
        .map(|i| EventInput {
            user: bob.clone(),
            resource: w.gitlab.clone(),
            event: event(&format!("late{i:03}"), d(1) + chrono::Duration::minutes(i)),
        })
        .collect();
    let results = w
        .app
        .gateway()
        .record_events(&w.gateway, batch, d(5))
        .await
        .unwrap();
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(|r| r.outcome.as_str() == "late_ignored"));
    let audited = w
        .store()
        .audit(
            &AuditFilter {
                action: Some(AuditAction::LateIgnored),
                ..AuditFilter::default()
            },
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(audited.len(), 300);
}

/// A gate check as a process that has kept nothing asks it: a fresh `Autolock` over `store`.
async fn gate_check_afresh(
    store: &Arc<dyn Store>,
    w: &World,
    user: &UserId,
    at: chrono::DateTime<chrono::Utc>,
) -> autolock_core::service::Decision {
    use autolock_core::service::{Autolock, GateResource, GateUser};
    let app = Autolock::new(Arc::clone(store));
    let gateway = app.gateway();
    let sp = gateway.gate_principal(&w.gateway.id).await.unwrap();
    gateway
        .gate(
            &sp,
            GateUser::Id(user.clone()),
            GateResource::Id(w.gitlab.clone()),
            at,
        )
        .await
        .unwrap()
        .decision
}

/// The gate decides on the right as its usage keeps it (one read on a store that keeps the
/// facts with the usage): a membership or a grant ended or begun reaches it as soon as the use
/// case that made it returns; a change whose refresh was left pending reaches it when the tick carries
/// the refresh out — at once on a store that keeps no facts.
pub async fn flow_the_gate_decides_on_the_facts_a_change_refreshed(store: Arc<dyn Store>) {
    use autolock_core::ports::{RefreshIntent, RefreshScope};
    let w = World::seed(Arc::clone(&store)).await;
    let (bob, carol) = (w.bob_id(), id::<UserId>("carol"));
    let t = d(1);
    assert!(gate_check_afresh(&store, &w, &bob, t).await.allow);
    assert!(gate_check_afresh(&store, &w, &carol, t).await.allow);
    // Checked again past the coalescing window: written again, still allowed.
    let t = t + chrono::Duration::minutes(2);
    assert!(gate_check_afresh(&store, &w, &bob, t).await.allow);

    let t = t + chrono::Duration::hours(1);
    w.app
        .directory()
        .remove_member(&w.admin, &w.eng, &bob, t)
        .await
        .unwrap();
    let denied = gate_check_afresh(&store, &w, &bob, t + chrono::Duration::seconds(1)).await;
    assert!(!denied.allow, "{denied:?}");
    assert_eq!(denied.reason, Some(DenyReason::NoAccess));
    w.app
        .directory()
        .add_member(&w.admin, &w.eng, &bob, t + chrono::Duration::seconds(2))
        .await
        .unwrap();
    let t = t + chrono::Duration::seconds(3);
    assert!(gate_check_afresh(&store, &w, &bob, t).await.allow);

    // The group's grant removed, then given again.
    let grant = w.eng_grant().await.id;
    w.app
        .directory()
        .remove_grant(&w.admin, &grant, t)
        .await
        .unwrap();
    let denied = gate_check_afresh(&store, &w, &bob, t + chrono::Duration::seconds(1)).await;
    assert_eq!(denied.reason, Some(DenyReason::NoAccess), "{denied:?}");
    w.grant_eng(&w.gitlab, t + chrono::Duration::seconds(2))
        .await;
    let t = t + chrono::Duration::seconds(3);
    assert!(gate_check_afresh(&store, &w, &bob, t).await.allow);

    // Carol deactivated by a change whose refresh is left pending.
    let user = store.user(&carol).await.unwrap().unwrap();
    store
        .commit(Changeset {
            directory: vec![DirectoryChange::SetUserActive {
                user: carol.clone(),
                at: t,
                active: false,
                revision: user.revision,
            }],
            refreshes: vec![RefreshIntent::new(
                RefreshScope::User {
                    user: carol.clone(),
                },
                t,
            )],
            ..Changeset::default()
        })
        .await
        .unwrap();
    let pending = gate_check_afresh(&store, &w, &carol, t + chrono::Duration::seconds(1)).await;
    assert_eq!(pending.allow, store.keeps_facts(), "{pending:?}");
    let (done, failures) = w
        .app
        .sweep()
        .carry_out_pending(t + chrono::Duration::seconds(2), 10)
        .await
        .unwrap();
    assert_eq!((done, failures.len()), (1, 0));
    let denied = gate_check_afresh(&store, &w, &carol, t + chrono::Duration::seconds(3)).await;
    assert!(!denied.allow, "{denied:?}");
    assert_ne!(denied.reason, Some(DenyReason::NoAccess), "{denied:?}");
}

/// An access leaves a right where the sweep's index has it when that instant is earlier and still
/// ahead: the sweep looks at the right then, finds nothing to record and puts it at its lock
/// instant, which it records when it comes (docs/architecture.md, "The sweep's index").
pub async fn flow_an_access_leaves_the_sweep_an_earlier_look(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let carol = || async {
        w.store()
            .usage(&w.carol.id, &w.gitlab)
            .await
            .expect("usage read")
            .value
    };
    // Bob and Carol, members since h(0) and never seen, are due at d(7).
    assert_eq!(carol().await.next_due, Some(d(7)));
    w.carol_uses_gitlab(&w.app, "c1", d(1)).await;
    w.carol_uses_gitlab(&w.app, "c2", d(3)).await;
    let used = carol().await;
    assert_eq!(used.last_access, Some(d(3)));
    assert_eq!(
        used.next_due,
        Some(d(7)),
        "the index entry left where it was"
    );
    assert_eq!(
        w.app
            .sweep()
            .sweep(d(7) - chrono::Duration::seconds(1), 10)
            .await
            .unwrap()
            .examined,
        0
    );
    // At d(7) Bob locks; Carol is looked at, not locked, and put at her lock instant.
    let swept = w.app.sweep().sweep(d(7), 10).await.unwrap();
    assert_eq!((swept.examined, swept.locked), (2, 1));
    let looked = carol().await;
    assert_eq!((looked.lock, looked.next_due), (None, Some(d(10))));
    assert_eq!(w.app.sweep().sweep(d(9), 10).await.unwrap().examined, 0);
    let at_lock = w.app.sweep().sweep(d(10), 10).await.unwrap();
    assert_eq!((at_lock.examined, at_lock.locked), (1, 1));
    assert_eq!(carol().await.lock, Some(d(10)));
}
