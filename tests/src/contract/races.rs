//! Races: what concurrent approvers, sweeps, events, unlocks, edits and retries leave behind.

#![allow(clippy::wildcard_imports)]

use super::*;

pub async fn race_two_approvers_one_wins(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    for round in 0..6 {
        let member = add_member(&w, &format!("racer{round}")).await;
        let rid = w
            .app
            .requests()
            .file_request(&member, &w.gitlab, reason("release day"), d(8))
            .await
            .unwrap()
            .request
            .id;
        let (a, b) = tokio::join!(
            w.app
                .requests()
                .resolve(&w.reviewer, &rid, Verdict::Approve, d(9)),
            w.app
                .requests()
                .resolve(&w.devops, &rid, Verdict::Deny, d(9)),
        );
        let (winner, stored, verdict) = match (a, b) {
            (Ok(r), Err(Error::Conflict(..))) => (&w.reviewer, r, Verdict::Approve),
            (Err(Error::Conflict(..)), Ok(r)) => (&w.devops, r, Verdict::Deny),
            other => panic!("exactly one approver must win: {other:?}"),
        };
        let repeat = w
            .app
            .requests()
            .resolve(winner, &rid, verdict, d(10))
            .await
            .unwrap();
        assert_eq!(repeat, stored, "the winner's repeat gets the stored result");
        let state = w
            .app
            .rights()
            .right(&w.admin, &member.id, &w.gitlab, d(10))
            .await
            .unwrap()
            .state;
        match verdict {
            Verdict::Approve => assert!(matches!(state, RightState::Active { .. }), "{state:?}"),
            Verdict::Deny => assert!(matches!(state, RightState::Locked { .. }), "{state:?}"),
        }
        let filter = AuditFilter {
            action: Some(AuditAction::RequestResolved),
            target: Some(rid.to_string()),
            ..AuditFilter::default()
        };
        assert_eq!(
            w.store()
                .audit(&filter, &PageRequest::default())
                .await
                .unwrap()
                .items
                .len(),
            1,
            "one resolution audited"
        );
    }
}

pub async fn race_sweep_and_access_event_agree_on_the_timestamp(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let bob = w.bob_id();
    let carol = w.carol.id.clone();
    // Bob's right locks at day 7 exactly. Sweep at day 7 + 1h while an access stamped just
    // before the lock lands; Carol's, stamped just after, must be denied whichever write wins.
    let before = d(7) - chrono::Duration::seconds(1);
    let after = d(7);
    let now = d(7) + chrono::Duration::hours(1);
    let events = vec![
        EventInput {
            user: bob.clone(),
            resource: w.gitlab.clone(),
            event: event("bob-before", before),
        },
        EventInput {
            user: carol.clone(),
            resource: w.gitlab.clone(),
            event: event("carol-after", after),
        },
    ];
    let (sweep, recorded) = tokio::join!(
        w.app.sweep().sweep(now, 100),
        w.app.gateway().record_events(&w.gateway, events, now)
    );
    sweep.unwrap();
    let results = recorded.unwrap();
    assert_eq!(results[0].outcome.as_str(), "counted");
    assert_eq!(
        (results[1].outcome.as_str(), results[1].reason),
        ("denied", Some("locked"))
    );
    let bob_state = w
        .app
        .rights()
        .right(&w.admin, &bob, &w.gitlab, now)
        .await
        .unwrap();
    assert_eq!(
        bob_state.state,
        RightState::Active {
            next_lock: Some(before + chrono::Duration::days(7))
        }
    );
    let carol_state = w
        .app
        .rights()
        .right(&w.admin, &carol, &w.gitlab, now)
        .await
        .unwrap();
    assert_eq!(carol_state.state.locked_at(), Some(d(7)));
    // Settled: the sweep finds nothing more to record, and the recorded lock is Carol's alone.
    w.app.sweep().sweep(now, 100).await.unwrap();
    assert_eq!(
        w.store().usage(&bob, &w.gitlab).await.unwrap().value.lock,
        None
    );
    assert_eq!(
        w.store().usage(&carol, &w.gitlab).await.unwrap().value.lock,
        Some(d(7))
    );
}

/// Sixteen approvers at once, half approving and half denying one request: one verdict wins,
/// once, and the others are told it is resolved (or, for the winner's own kind, get it back).
pub async fn race_many_approvers_one_verdict(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let rid = locked_bob_with_open_request(&w).await;
    let approvers = [w.reviewer.clone(), w.devops.clone(), w.admin.clone()];
    let results = all_at_once(16, |i| {
        let app = w.app.clone();
        let who = approvers[i % 3].clone();
        let rid = rid.clone();
        let verdict = if i % 2 == 0 {
            Verdict::Approve
        } else {
            Verdict::Deny
        };
        async move {
            (
                verdict,
                app.requests().resolve(&who, &rid, verdict, d(9)).await,
            )
        }
    })
    .await;
    let stored = w.app.requests().request(&w.admin, &rid).await.unwrap();
    let won = match stored.status {
        RequestStatus::Approved => Verdict::Approve,
        RequestStatus::Denied => Verdict::Deny,
        other => panic!("resolved once: {other:?}"),
    };
    for (verdict, r) in &results {
        match r {
            Ok(r) => assert_eq!((*verdict, r.status), (won, stored.status)),
            Err(Error::Conflict(..)) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    let filter = AuditFilter {
        action: Some(AuditAction::RequestResolved),
        target: Some(rid.to_string()),
        ..AuditFilter::default()
    };
    let audited = w
        .store()
        .audit(&filter, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(audited.items.len(), 1, "one resolution audited");
    let state = w
        .app
        .rights()
        .right(&w.admin, &w.bob_id(), &w.gitlab, d(9))
        .await
        .unwrap()
        .state;
    assert_eq!(
        matches!(state, RightState::Active { .. }),
        won == Verdict::Approve,
        "{state:?}"
    );
}

/// Two sweeps, access events and an admin's unlock on the same rights at once: each lock is
/// recorded once, the unlock holds, and nothing is lost.
pub async fn race_sweeps_events_and_an_unlock_agree(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let mut members = Vec::new();
    for i in 0..6 {
        members.push(add_member(&w, &format!("crowd{i}")).await);
    }
    // Half a day after everyone's lock instant (day 7: nobody used gitlab since joining).
    let now = d(7) + chrono::Duration::hours(12);
    let carol = w.carol.id.clone();
    let app = w.app.clone();
    let admin = w.admin.clone();
    let gateway = w.gateway.clone();
    let gitlab = w.gitlab.clone();
    let events: Vec<EventInput> = members
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, m)| EventInput {
            user: m.id.clone(),
            resource: gitlab.clone(),
            // Used an hour before the lock instant, reported now: never locked.
            event: event(&format!("use{i}"), d(7) - chrono::Duration::hours(1)),
        })
        .collect();
    let results = all_at_once(4, move |i| {
        let (app, admin, gateway, gitlab, carol, events) = (
            app.clone(),
            admin.clone(),
            gateway.clone(),
            gitlab.clone(),
            carol.clone(),
            events.clone(),
        );
        async move {
            match i {
                0 | 1 => app
                    .sweep()
                    .sweep(now, 100)
                    .await
                    .map(|r| r.locked)
                    .map_err(|e| e.to_string()),
                2 => app
                    .gateway()
                    .record_events(&gateway, events, now)
                    .await
                    .map(|r| r.len())
                    .map_err(|e| e.to_string()),
                _ => {
                    // Carol is locked at day 7; the unlock may come before or after the sweep
                    // records it: either way it holds.
                    match app.requests().unlock(&admin, &carol, &gitlab, now).await {
                        Ok(_) | Err(Error::Conflict(..)) => Ok(0),
                        Err(e) => Err(e.to_string()),
                    }
                }
            }
        }
    })
    .await;
    for r in &results {
        assert!(r.is_ok(), "{results:?}");
    }
    // Settle what is left, then count.
    w.app.sweep().sweep(now, 100).await.unwrap();
    let locked_audits = w
        .store()
        .audit(
            &AuditFilter {
                action: Some(AuditAction::Locked),
                ..AuditFilter::default()
            },
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    let mut locked: Vec<String> = locked_audits
        .iter()
        .map(|e| e.user.as_ref().unwrap().to_string())
        .collect();
    locked.sort();
    let mut unique = locked.clone();
    unique.dedup();
    assert_eq!(locked, unique, "each lock recorded once: {locked:?}");
    for m in &members[..3] {
        let s = w
            .app
            .rights()
            .right(&w.admin, &m.id, &w.gitlab, now)
            .await
            .unwrap()
            .state;
        assert!(matches!(s, RightState::Active { .. }), "{}: {s:?}", m.id);
    }
    for m in &members[3..] {
        let s = w
            .app
            .rights()
            .right(&w.admin, &m.id, &w.gitlab, now)
            .await
            .unwrap()
            .state;
        assert!(matches!(s, RightState::Locked { .. }), "{}: {s:?}", m.id);
    }
    let carol_state = w
        .app
        .rights()
        .right(&w.admin, &w.carol.id, &w.gitlab, now)
        .await
        .unwrap()
        .state;
    assert!(
        matches!(carol_state, RightState::Active { .. }),
        "the unlock holds: {carol_state:?}"
    );
}

/// Edits of different fields of one user, at once, from many clients — a rename, a new email, a
/// new role, a deactivation — all land: none undoes another.
pub async fn race_concurrent_user_edits_are_all_kept(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    for round in 0..4 {
        let uid = format!("edited{round}");
        add_member(&w, &uid).await;
        let user: UserId = id(&uid);
        let app = w.app.clone();
        let admin = w.admin.clone();
        let results = all_at_once(4, move |i| {
            let (app, admin, user) = (app.clone(), admin.clone(), user.clone());
            async move {
                let patch = match i {
                    0 => autolock_core::service::UserPatch {
                        display_name: Some(Name::parse("Renamed").unwrap()),
                        ..Default::default()
                    },
                    1 => autolock_core::service::UserPatch {
                        email: Some(Email::parse("new@example.com").unwrap()),
                        ..Default::default()
                    },
                    2 => autolock_core::service::UserPatch {
                        role: Some(Role::AccessReviewer),
                        ..Default::default()
                    },
                    _ => autolock_core::service::UserPatch {
                        active: Some(false),
                        ..Default::default()
                    },
                };
                app.directory().patch_user(&admin, &user, patch, d(1)).await
            }
        })
        .await;
        for r in &results {
            assert!(r.is_ok(), "{results:?}");
        }
        let u = w.store().user(&id(&uid)).await.unwrap().unwrap();
        assert_eq!(
            (u.display_name.as_str(), u.email.as_str(), u.role, u.active),
            ("Renamed", "new@example.com", Role::AccessReviewer, false),
            "round {round}"
        );
    }
}

/// Field-by-field edits of one grant's override and its expiry, at once: all land.
pub async fn race_concurrent_grant_edits_are_all_kept(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let grant = w.eng_grant().await.id;
    let app = w.app.clone();
    let admin = w.admin.clone();
    let g = grant.clone();
    let results = all_at_once(3, move |i| {
        let (app, admin, g) = (app.clone(), admin.clone(), g.clone());
        async move {
            match i {
                0 => app
                    .policies()
                    .set_grant_override(
                        &admin,
                        &g,
                        OverridePatch {
                            auto_lock_after: autolock_core::policy::FieldPatch::Set(
                                AutoLockAfter::Hours(30 * 24),
                            ),
                            ..OverridePatch::default()
                        },
                        d(1),
                    )
                    .await
                    .map(|_| ()),
                1 => app
                    .policies()
                    .set_grant_override(
                        &admin,
                        &g,
                        OverridePatch {
                            approval: autolock_core::policy::FieldPatch::Set(
                                ApprovalMode::Automatic,
                            ),
                            ..OverridePatch::default()
                        },
                        d(1),
                    )
                    .await
                    .map(|_| ()),
                _ => app
                    .directory()
                    .set_grant_expiry(&admin, &g, Some(d(60)), d(1))
                    .await
                    .map(|_| ()),
            }
        }
    })
    .await;
    for r in &results {
        assert!(r.is_ok(), "{results:?}");
    }
    let g = w.store().grant(&grant).await.unwrap().unwrap();
    assert_eq!(
        g.current_override(),
        PolicyOverride {
            auto_lock_after: Some(AutoLockAfter::Hours(30 * 24)),
            approval: Some(ApprovalMode::Automatic),
        }
    );
    assert_eq!(g.current_expiry(), Some(d(60)));
}

/// Four notifier runs at once retry one due delivery: it is claimed by one of them, sent once,
/// and its attempts are all kept.
pub async fn race_overlapping_retries_send_a_delivery_once(store: Arc<dyn Store>) {
    use autolock_core::delivery::{Attempt, Channel, DeliveryStatus};
    let w = World::seed(store).await;
    let url = "https://hooks.example.com/autolock";
    crate::world::put_webhook(w.store(), Some(crate::world::webhook(url))).await;
    let mut due = delivery(
        "ev9:webhook:https://hooks.example.com/autolock",
        Channel::Webhook,
        h(1),
    );
    due.recipient = url.to_owned();
    due.attempts.push(Attempt {
        at: h(1),
        status: Some(503),
        latency_ms: 5,
        error: None,
    });
    due.next_attempt_at = Some(h(2));
    assert!(w.store().create_delivery(&due).await.unwrap());
    let sender = Arc::new(CountingSender(std::sync::atomic::AtomicUsize::new(0)));
    let notifier = autolock_core::notify::Notifier::new(
        w.store().clone(),
        Arc::new(autolock_core::ports::EmailDisabled),
        sender.clone(),
        "https://console.example.com",
    );
    let attempted = all_at_once(4, move |_| {
        let notifier = notifier.clone();
        async move { notifier.retry_due(h(3), 10).await.unwrap() }
    })
    .await;
    assert_eq!(attempted.iter().sum::<usize>(), 1, "{attempted:?}");
    assert_eq!(sender.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    let stored = w.store().delivery(&due.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Sent);
    assert_eq!(
        stored.attempts.len(),
        2,
        "the first failure and the one retry"
    );
}

/// A webhook sender that counts what it sends, slowly (so that overlapping runs overlap).
struct CountingSender(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl autolock_core::ports::WebhookSender for CountingSender {
    async fn send(
        &self,
        _: &autolock_core::delivery::WebhookSettings,
        _: &autolock_core::delivery::WebhookMessage,
    ) -> autolock_core::ports::WebhookResponse {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        autolock_core::ports::WebhookResponse {
            status: Some(200),
            retry_after: None,
            latency_ms: 50,
            error: None,
        }
    }
}
