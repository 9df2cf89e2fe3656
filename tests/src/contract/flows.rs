//! Flows through the use cases, end to end on the store: requests approved, denied, automatic; unlocks, reverts and cancellations.

#![allow(clippy::wildcard_imports)]

use super::*;

pub async fn flow_manual_request_approved(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let decision = w
        .app
        .gateway()
        .decide(
            &w.gateway,
            &w.bob_id(),
            &w.gitlab,
            false,
            d(7) - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert!(decision.allow);
    let decision = w
        .app
        .gateway()
        .decide(&w.gateway, &w.bob_id(), &w.gitlab, true, d(8))
        .await
        .unwrap();
    assert!(!decision.allow);
    assert_eq!(
        decision.state,
        RightState::Locked {
            locked_at: d(7),
            approval: ApprovalMode::Manual
        }
    );
    let rid = locked_bob_with_open_request(&w).await;
    assert_eq!(w.store().count_open().await.unwrap(), 1);
    let approved = w
        .app
        .requests()
        .resolve(&w.reviewer, &rid, Verdict::Approve, d(9))
        .await
        .unwrap();
    assert_eq!(
        (approved.status, approved.resolved_by.clone()),
        (RequestStatus::Approved, Some(w.reviewer.id.clone()))
    );
    assert_eq!(w.store().count_open().await.unwrap(), 0);
    let decision = w
        .app
        .gateway()
        .decide(&w.gateway, &w.bob_id(), &w.gitlab, true, d(9))
        .await
        .unwrap();
    assert!(decision.allow, "approval unlocks");
    let usage = w.bob_usage().await.value;
    let unlock = usage.last_person_unlock.unwrap();
    assert_eq!(
        (unlock.by, unlock.at, unlock.lifted_lock),
        (w.reviewer.id.clone(), d(9), d(7))
    );
    let actions = audit_actions(&w).await;
    for expected in [
        "access.locked",
        "request.created",
        "access.unlocked",
        "request.resolved",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let events: Vec<&str> = w
        .store()
        .pending(100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.name())
        .collect();
    for expected in [
        "access.locked",
        "request.created",
        "request.resolved",
        "access.unlocked",
    ] {
        assert!(
            events.contains(&expected),
            "{expected} missing from the outbox {events:?}"
        );
    }
}

pub async fn flow_manual_request_denied_and_repeated_submission(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let rid = locked_bob_with_open_request(&w).await;
    let created_events = w
        .store()
        .pending(100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event.name() == "request.created")
        .count();
    let again = w
        .app
        .requests()
        .file_request(
            &w.bob,
            &w.gitlab,
            reason("  still release day, please "),
            d(8) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.request.id, rid, "the open request is returned");
    assert_eq!(again.request.reason.as_str(), "still release day, please");
    assert_eq!(
        again.request.requested_at,
        d(8),
        "requested_at does not move"
    );
    assert_eq!(
        w.store()
            .request(&rid)
            .await
            .unwrap()
            .unwrap()
            .reason
            .as_str(),
        "still release day, please"
    );
    let after = w
        .store()
        .pending(100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event.name() == "request.created")
        .count();
    assert_eq!(after, created_events, "no new notification");
    assert!(audit_actions(&w).await.contains(&"request.reason_updated"));

    let denied = w
        .app
        .requests()
        .resolve(&w.admin, &rid, Verdict::Deny, d(9))
        .await
        .unwrap();
    assert_eq!(denied.status, RequestStatus::Denied);
    assert!(
        !w.app
            .gateway()
            .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(9))
            .await
            .unwrap()
            .allow,
        "deny keeps it locked"
    );
    assert!(matches!(
        w.app
            .requests()
            .resolve(&w.reviewer, &rid, Verdict::Approve, d(9))
            .await,
        Err(Error::Conflict(..))
    ));
    // After a denial a new request may be filed.
    let next = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, reason("again"), d(10))
        .await
        .unwrap();
    assert!(next.created);
    assert_ne!(next.request.id, rid);
}

pub async fn flow_automatic_request_unlocks_at_once(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let grant = w
        .store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    // Before the change, Bob opens a manual request (locked at day 7).
    let open = locked_bob_with_open_request(&w).await;
    let patch =
        serde_json::from_value::<OverridePatch>(serde_json::json!({"approval": "automatic"}))
            .unwrap();
    w.app
        .policies()
        .set_grant_override(
            &w.devops,
            &grant.id,
            patch,
            d(8) + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let decision = w
        .app
        .gateway()
        .decide(
            &w.gateway,
            &w.bob_id(),
            &w.gitlab,
            false,
            d(8) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(
        decision.state,
        RightState::Locked {
            locked_at: d(7),
            approval: ApprovalMode::Automatic
        }
    );
    let filed = w
        .app
        .requests()
        .file_request(
            &w.bob,
            &w.gitlab,
            reason("on call"),
            d(8) + chrono::Duration::hours(3),
        )
        .await
        .unwrap();
    assert_eq!(filed.request.status, RequestStatus::AutoApproved);
    assert!(
        w.app
            .gateway()
            .decide(
                &w.gateway,
                &w.bob_id(),
                &w.gitlab,
                false,
                d(8) + chrono::Duration::hours(3)
            )
            .await
            .unwrap()
            .allow
    );
    let previous = w.store().request(&open).await.unwrap().unwrap();
    assert_eq!(
        previous.status,
        RequestStatus::AutoApproved,
        "the open request is resolved the same way"
    );
    let resolved = w
        .store()
        .resolved_requests(d(0), &RequestFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(resolved.items.len(), 2, "both show on the resolved list");
    let usage = w.bob_usage().await.value;
    assert_eq!(
        usage.last_person_unlock, None,
        "an automatic request is not a person's unlock"
    );
    assert_eq!(
        usage.last_unlock.unwrap().kind,
        autolock_core::lock::UnlockKind::AutomaticRequest
    );
    // Not locked any more: filing again is a conflict.
    assert!(matches!(
        w.app
            .requests()
            .file_request(
                &w.bob,
                &w.gitlab,
                reason("x"),
                d(8) + chrono::Duration::hours(4)
            )
            .await,
        Err(Error::Conflict(..))
    ));
}

pub async fn flow_admin_unlock_resolves_the_open_request(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let rid = locked_bob_with_open_request(&w).await;
    let view = w
        .app
        .requests()
        .unlock(&w.devops, &w.bob_id(), &w.gitlab, d(9))
        .await
        .unwrap();
    assert!(matches!(view.right.state, RightState::Active { .. }));
    let request = w.store().request(&rid).await.unwrap().unwrap();
    assert_eq!(
        (request.status, request.resolved_by),
        (RequestStatus::Approved, Some(w.devops.id.clone()))
    );
    assert!(
        matches!(
            w.app
                .requests()
                .unlock(&w.devops, &w.bob_id(), &w.gitlab, d(9))
                .await,
            Err(Error::Conflict(..))
        ),
        "not locked: 409"
    );
    assert!(
        matches!(
            w.app
                .requests()
                .unlock(&w.reviewer, &w.bob_id(), &w.gitlab, d(20))
                .await,
            Err(Error::Forbidden(_))
        ),
        "reviewers do not unlock"
    );
    let usage = w.bob_usage().await.value;
    assert_eq!(
        usage.last_person_unlock.unwrap().kind,
        autolock_core::lock::UnlockKind::AdminUnlock
    );
}

pub async fn flow_revert_cancels_the_open_request(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    // Bob used gitlab at day 6 (the gateway was offline), locked at day 7 per autolock's record.
    let now = d(7) + chrono::Duration::hours(1);
    w.app.sweep().sweep(now, 100).await.unwrap();
    let filed = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, reason("locked?"), now)
        .await
        .unwrap();
    let late = vec![EventInput {
        user: w.bob_id(),
        resource: w.gitlab.clone(),
        event: event("late-1", d(6) + chrono::Duration::hours(12)),
    }];
    let results = w
        .app
        .gateway()
        .record_events(&w.gateway, late, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(results[0].outcome.as_str(), "counted");
    let request = w.store().request(&filed.request.id).await.unwrap().unwrap();
    assert_eq!(
        (request.status, request.cancel_reason),
        (RequestStatus::Cancelled, Some(CancelReason::Reverted))
    );
    assert!(
        w.app
            .gateway()
            .decide(
                &w.gateway,
                &w.bob_id(),
                &w.gitlab,
                false,
                now + chrono::Duration::hours(1)
            )
            .await
            .unwrap()
            .allow
    );
    assert!(audit_actions(&w).await.contains(&"access.reverted"));
}

pub async fn flow_losing_every_path_or_deactivation_cancels(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let rid = locked_bob_with_open_request(&w).await;
    w.app
        .directory()
        .remove_member(&w.admin, &w.eng, &w.bob_id(), d(9))
        .await
        .unwrap();
    let request = w.store().request(&rid).await.unwrap().unwrap();
    assert_eq!(
        (request.status, request.cancel_reason),
        (RequestStatus::Cancelled, Some(CancelReason::NoPath))
    );
    assert_eq!(
        w.app
            .gateway()
            .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(9))
            .await
            .unwrap()
            .state,
        RightState::NoAccess
    );
    // Re-added: the lock survived the period with no path.
    w.app
        .directory()
        .add_member(&w.admin, &w.eng, &w.bob_id(), d(10))
        .await
        .unwrap();
    assert_eq!(
        w.app
            .gateway()
            .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(10))
            .await
            .unwrap()
            .state
            .locked_at(),
        Some(d(7))
    );

    let carols = w
        .app
        .requests()
        .file_request(&w.carol, &w.gitlab, reason("me too"), d(10))
        .await
        .unwrap()
        .request
        .id;
    w.app
        .directory()
        .set_user_active(&w.admin, &w.carol.id, false, d(11))
        .await
        .unwrap();
    let request = w.store().request(&carols).await.unwrap().unwrap();
    assert_eq!(request.cancel_reason, Some(CancelReason::Deactivated));
    let decision = w
        .app
        .gateway()
        .decide(&w.gateway, &w.carol.id, &w.gitlab, false, d(11))
        .await
        .unwrap();
    assert_eq!(
        (decision.allow, decision.reason, decision.state.locked_at()),
        (false, Some(DenyReason::Inactive), Some(d(7))),
        "denied as inactive, the right still locked"
    );
}

pub async fn flow_policy_changes_are_audited_with_grace(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let thirty = PolicyPatch {
        auto_lock_after: Some(AutoLockAfter::Hours(720)),
        approval: None,
    };
    w.app
        .policies()
        .set_resource_policy(&w.admin, &w.gitlab, thirty, d(1))
        .await
        .unwrap();
    // Shortened to 1 day at day 20 with Bob idle since day 0: he locks at day 21, not at once.
    let one_day = PolicyPatch {
        auto_lock_after: Some(AutoLockAfter::Hours(24)),
        approval: Some(ApprovalMode::Automatic),
    };
    w.app
        .policies()
        .set_resource_policy(&w.devops, &w.gitlab, one_day, d(20))
        .await
        .unwrap();
    assert!(
        w.app
            .gateway()
            .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(20))
            .await
            .unwrap()
            .allow
    );
    assert_eq!(
        w.app
            .gateway()
            .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(21))
            .await
            .unwrap()
            .state
            .locked_at(),
        Some(d(21))
    );
    // A no-op edit records nothing.
    w.app
        .policies()
        .set_resource_policy(&w.devops, &w.gitlab, one_day, d(22))
        .await
        .unwrap();
    let changes = w
        .store()
        .audit(
            &AuditFilter {
                target: Some("gitlab".into()),
                action: Some(AuditAction::PolicyDurationChanged),
                ..AuditFilter::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    // The duration set when the resource was created counts as a change too.
    assert_eq!(changes.items.len(), 3);
    assert_eq!(
        changes.items[0].details,
        serde_json::json!({"before": null, "after": "7d"})
    );
    assert_eq!(changes.items[0].actor, Some(w.admin.id.clone()));
    assert_eq!(
        changes.items[2].details,
        serde_json::json!({"before": "30d", "after": "1d"})
    );
    assert_eq!(changes.items[2].actor, Some(w.devops.id.clone()));
    let approval = w.audited(AuditAction::PolicyApprovalChanged).await;
    assert_eq!(
        approval[0].details,
        serde_json::json!({"before": null, "after": "manual"})
    );
    assert_eq!(
        approval[1].details,
        serde_json::json!({"before": "manual", "after": "automatic"})
    );
    assert!(matches!(
        w.app
            .policies()
            .set_resource_policy(&w.reviewer, &w.gitlab, thirty, d(23))
            .await,
        Err(Error::Forbidden(_))
    ));
}

pub async fn flow_access_event_batch_results(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let now = d(3);
    let input = |eid: &str, user: &str, at| EventInput {
        user: id(user),
        resource: w.gitlab.clone(),
        event: event(eid, at),
    };
    let results = w
        .app
        .gateway()
        .record_events(
            &w.gateway,
            vec![
                input("e1", "bob", d(2)),
                input("e2", "bob", d(3) - chrono::Duration::hours(25)),
                input("e3", "bob", d(3) + chrono::Duration::minutes(6)),
                input("e4", "nobody", d(2)),
                input("e1", "bob", d(2)),
                input("e5", "ada", d(2)),
                EventInput {
                    user: id("bob"),
                    resource: id("nowhere"),
                    event: event("e6", d(2)),
                },
            ],
            now,
        )
        .await
        .unwrap();
    let outcomes: Vec<(&str, Option<&str>)> = results
        .iter()
        .map(|r| (r.outcome.as_str(), r.reason))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("counted", None),
            ("late_ignored", Some("more than 24 hours late")),
            ("future", Some("stamped more than 5 minutes in the future")),
            ("unknown", Some("unknown user or resource")),
            ("duplicate", None),
            ("denied", Some("no_access")),
            ("unknown", Some("unknown user or resource")),
        ]
    );
    assert_eq!(w.bob_usage().await.value.last_access, Some(d(2)));
    let late = w.audited(AuditAction::LateIgnored).await;
    assert_eq!(late.len(), 1);
    // Replaying the batch writes no second late_ignored entry and moves nothing.
    let version = w.bob_usage().await.version;
    w.app
        .gateway()
        .record_events(
            &w.gateway,
            vec![
                input("e1", "bob", d(2)),
                input("e2", "bob", d(3) - chrono::Duration::hours(25)),
            ],
            now,
        )
        .await
        .unwrap();
    assert_eq!(w.bob_usage().await.version, version, "no write");
    let late = w.audited(AuditAction::LateIgnored).await;
    assert_eq!(late.len(), 1);
    assert!(
        matches!(
            w.app.gateway().record_events(&w.admin, vec![], now).await,
            Err(Error::Forbidden(_))
        ),
        "only gateways report"
    );
}
