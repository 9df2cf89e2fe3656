//! What the store keeps besides the directory: usage over its version, the lock index, requests, the audit log, the outbox, settings, deliveries, sign-in links; a changeset with a failed condition writes nothing.

#![allow(clippy::wildcard_imports)]

use super::*;

pub async fn usage_writes_are_conditioned_on_the_version(store: Arc<dyn Store>) {
    let (u, r): (UserId, ResourceId) = (id("bob"), id("gitlab"));
    let read = store.usage(&u, &r).await.unwrap();
    assert_eq!((read.version, read.value), (0, Usage::default()));
    let first = Usage {
        last_access: Some(h(5)),
        next_due: Some(h(100)),
        ..Usage::default()
    };
    let write = |version, usage: &Usage| Changeset {
        usage: vec![UsageWrite {
            user: u.clone(),
            resource: r.clone(),
            expected_version: version,
            facts: None,
            usage: usage.clone(),
        }],
        ..Changeset::default()
    };
    store.commit(write(0, &first)).await.unwrap();
    assert!(
        matches!(
            store.commit(write(0, &first)).await,
            Err(StoreError::Conflict(_))
        ),
        "a second create loses"
    );
    let read = store.usage(&u, &r).await.unwrap();
    assert_eq!(read.value, first);
    let second = Usage {
        last_access: Some(h(6)),
        ..first.clone()
    };
    store.commit(write(read.version, &second)).await.unwrap();
    assert!(
        matches!(
            store.commit(write(read.version, &second)).await,
            Err(StoreError::Conflict(_))
        ),
        "a stale version loses"
    );
    assert_eq!(
        store.usage(&u, &r).await.unwrap().value.last_access,
        Some(h(6))
    );
}

pub async fn lock_index_returns_due_rights_earliest_first(store: Arc<dyn Store>) {
    let mut changes = Changeset::default();
    for (user, due) in [
        ("a", Some(h(30))),
        ("b", Some(h(10))),
        ("c", None),
        ("d", Some(h(20))),
        ("e", Some(h(50))),
    ] {
        changes.usage.push(UsageWrite {
            user: id(user),
            resource: id("r"),
            expected_version: 0,
            facts: None,
            usage: Usage {
                next_due: due,
                ..Usage::default()
            },
        });
    }
    store.commit(changes).await.unwrap();
    let due = store.due(h(30), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|(u, _)| u.to_string()).collect::<Vec<_>>(),
        ["b", "d", "a"]
    );
    assert_eq!(store.due(h(30), 2).await.unwrap().len(), 2, "bounded");
    assert!(store.due(h(9), 10).await.unwrap().is_empty());
}

pub async fn requests_resolve_once_and_list_by_state(store: Arc<dyn Store>) {
    let create = |r: AccessRequest| Changeset {
        requests: vec![RequestWrite::Create(r)],
        ..Changeset::default()
    };
    for (rid, u, hour) in [("r1", "bob", 1), ("r2", "carol", 2), ("r3", "bob", 3)] {
        store
            .commit(create(request(rid, u, h(hour))))
            .await
            .unwrap();
    }
    assert!(matches!(
        store.commit(create(request("r1", "bob", h(9)))).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.count_open().await.unwrap(), 3);

    let approved = request("r1", "bob", h(1)).closed(RequestStatus::Approved, id("rita"), h(10));
    let update = |r: AccessRequest| Changeset {
        requests: vec![RequestWrite::Update {
            request: r,
            expected: RequestStatus::Open,
        }],
        ..Changeset::default()
    };
    store.commit(update(approved.clone())).await.unwrap();
    let denied = request("r1", "bob", h(1)).closed(RequestStatus::Denied, id("ada"), h(11));
    assert!(
        matches!(
            store.commit(update(denied)).await,
            Err(StoreError::Conflict(_))
        ),
        "resolves once"
    );
    assert_eq!(store.request(&id("r1")).await.unwrap(), Some(approved));
    store
        .commit(update(
            request("r2", "carol", h(2)).cancelled(CancelReason::NoPath, h(12)),
        ))
        .await
        .unwrap();

    assert_eq!(store.count_open().await.unwrap(), 1);
    let open = store
        .open_requests(&RequestFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        open.items
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>(),
        ["r3"]
    );
    let resolved = store
        .resolved_requests(h(0), &RequestFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        resolved
            .items
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>(),
        ["r2", "r1"],
        "newest first"
    );
    let recent = store
        .resolved_requests(h(11), &RequestFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 1, "only those resolved since");
    let bobs = RequestFilter {
        user: Some(id("bob")),
        resource: None,
    };
    assert_eq!(
        store
            .resolved_requests(h(0), &bobs, &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let other = RequestFilter {
        user: None,
        resource: Some(id("jira")),
    };
    assert!(
        store
            .open_requests(&other, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Paging open requests.
    for i in 0..5 {
        store
            .commit(create(request(&format!("p{i}"), "dan", h(20 + i))))
            .await
            .unwrap();
    }
    let dans = RequestFilter {
        user: Some(id("dan")),
        resource: None,
    };
    let first = store
        .open_requests(&dans, &PageRequest::first(2))
        .await
        .unwrap();
    let second = store
        .open_requests(
            &dans,
            &PageRequest {
                after: first.next.clone(),
                limit: 2,
            },
        )
        .await
        .unwrap();
    let third = store
        .open_requests(
            &dans,
            &PageRequest {
                after: second.next.clone(),
                limit: 2,
            },
        )
        .await
        .unwrap();
    let all: Vec<String> = [first.items, second.items, third.items]
        .concat()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(all, ["p0", "p1", "p2", "p3", "p4"]);
    assert_eq!(third.next, None);
}

pub async fn audit_entries_are_kept_once_and_filtered(store: Arc<dyn Store>) {
    let mut a = AuditEntry::new(AuditAction::Locked, h(1), None);
    a.user = Some(id("bob"));
    a.resource = Some(id("gitlab"));
    let mut b = AuditEntry::new(AuditAction::Unlocked, h(2), Some(id("ada")));
    b.user = Some(id("bob"));
    b.resource = Some(id("gitlab"));
    let mut c = AuditEntry::new(AuditAction::PolicyDurationChanged, h(3), Some(id("dev")));
    c.resource = Some(id("jira"));
    let audit = |entries: Vec<AuditEntry>| Changeset {
        audit: entries,
        ..Changeset::default()
    };
    store
        .commit(audit(vec![a.clone(), b.clone(), c.clone()]))
        .await
        .unwrap();
    store.commit(audit(vec![a.clone()])).await.unwrap();
    let all = store
        .audit(&AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        all.items,
        vec![a.clone(), b.clone(), c.clone()],
        "kept once, oldest first"
    );

    let ids = |f: AuditFilter| {
        let store = Arc::clone(&store);
        async move {
            store
                .audit(&f, &PageRequest::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(AuditFilter {
            actor: Some(id("ada")),
            ..AuditFilter::default()
        })
        .await,
        [b.id.clone()]
    );
    assert_eq!(
        ids(AuditFilter {
            target: Some("gitlab".into()),
            ..AuditFilter::default()
        })
        .await,
        [a.id.clone(), b.id.clone()]
    );
    assert_eq!(
        ids(AuditFilter {
            target: Some("gitla".into()),
            ..AuditFilter::default()
        })
        .await,
        Vec::<String>::new(),
        "whole ids only"
    );
    assert_eq!(
        ids(AuditFilter {
            action: Some(AuditAction::PolicyDurationChanged),
            ..AuditFilter::default()
        })
        .await,
        [c.id.clone()]
    );
    assert_eq!(
        ids(AuditFilter {
            from: Some(h(2)),
            to: Some(h(3)),
            ..AuditFilter::default()
        })
        .await,
        [b.id.clone()]
    );

    let first = store
        .audit(&AuditFilter::default(), &PageRequest::first(2))
        .await
        .unwrap();
    let rest = store
        .audit(
            &AuditFilter::default(),
            &PageRequest {
                after: first.next.clone(),
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (first.items.len(), rest.items.len(), rest.next),
        (2, 1, None)
    );
}

pub async fn outbox_entries_are_kept_once_until_delivered(store: Arc<dyn Store>) {
    let e1 = OutboxEntry::new(
        DomainEvent::LockWarning {
            user: id("bob"),
            resource: id("gitlab"),
            lock_at: h(9),
        },
        h(1),
    );
    let e2 = OutboxEntry::new(
        DomainEvent::LockWarning {
            user: id("carol"),
            resource: id("gitlab"),
            lock_at: h(9),
        },
        h(2),
    );
    let outbox = |entries: Vec<OutboxEntry>| Changeset {
        outbox: entries,
        ..Changeset::default()
    };
    store
        .commit(outbox(vec![e1.clone(), e2.clone()]))
        .await
        .unwrap();
    store.commit(outbox(vec![e1.clone()])).await.unwrap();
    assert_eq!(
        store.pending(10).await.unwrap(),
        vec![e1.clone(), e2.clone()]
    );
    assert_eq!(store.pending(1).await.unwrap(), vec![e1.clone()]);
    store
        .mark_delivered(std::slice::from_ref(&e1))
        .await
        .unwrap();
    store
        .mark_delivered(std::slice::from_ref(&e1))
        .await
        .unwrap();
    assert_eq!(store.pending(10).await.unwrap(), vec![e2]);

    // Many at once: more than one store batch (DynamoDB writes 25 per batch).
    let many: Vec<OutboxEntry> = (0..60)
        .map(|i| {
            OutboxEntry::new(
                DomainEvent::LockWarning {
                    user: id("bob"),
                    resource: id("gitlab"),
                    lock_at: h(9),
                },
                h(10) + chrono::Duration::seconds(i),
            )
        })
        .collect();
    store.commit(outbox(many.clone())).await.unwrap();
    assert_eq!(store.pending(100).await.unwrap().len(), 61);
    store.mark_delivered(&many).await.unwrap();
    assert_eq!(
        store.pending(100).await.unwrap().len(),
        1,
        "all 60 marked delivered"
    );
}

pub async fn settings_default_and_replace(store: Arc<dyn Store>) {
    assert_eq!(
        store.settings().await.unwrap(),
        Settings {
            emails_enabled: true,
            email_roles: vec![Role::Admin]
        }
    );
    let s = Settings {
        emails_enabled: false,
        email_roles: vec![Role::AccessReviewer, Role::DevopsAdmin],
    };
    crate::world::put_settings(&store, s.clone()).await;
    assert_eq!(store.settings().await.unwrap(), s);
}

pub async fn a_changeset_with_a_failed_condition_writes_nothing(store: Arc<dyn Store>) {
    store
        .commit(Changeset {
            requests: vec![RequestWrite::Create(request("r1", "bob", h(1)))],
            ..Changeset::default()
        })
        .await
        .unwrap();
    let entry = AuditEntry::new(AuditAction::RequestResolved, h(2), Some(id("ada")));
    let doomed = Changeset {
        usage: vec![UsageWrite {
            user: id("bob"),
            resource: id("gitlab"),
            expected_version: 0,
            facts: None,
            usage: Usage {
                last_access: Some(h(2)),
                ..Usage::default()
            },
        }],
        requests: vec![RequestWrite::Update {
            request: request("r1", "bob", h(1)).closed(RequestStatus::Approved, id("ada"), h(2)),
            expected: RequestStatus::Denied,
        }],
        audit: vec![entry],
        outbox: vec![OutboxEntry::new(
            DomainEvent::LockWarning {
                user: id("bob"),
                resource: id("gitlab"),
                lock_at: h(9),
            },
            h(2),
        )],
        ..Changeset::default()
    };
    assert!(matches!(
        store.commit(doomed).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .usage(&id("bob"), &id("gitlab"))
            .await
            .unwrap()
            .version,
        0,
        "no usage written"
    );
    assert!(store.request(&id("r1")).await.unwrap().unwrap().is_open());
    assert!(
        store
            .audit(&AuditFilter::default(), &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.pending(10).await.unwrap().is_empty());
}

pub async fn deliveries_are_created_once_retried_when_due_and_listed(store: Arc<dyn Store>) {
    use autolock_core::delivery::{Attempt, Channel, DeliveryStatus};
    let first = delivery(
        "ev1:webhook:https://hooks.example.com/a",
        Channel::Webhook,
        h(1),
    );
    assert!(store.create_delivery(&first).await.unwrap());
    assert!(
        !store.create_delivery(&first).await.unwrap(),
        "one delivery per (event, channel, recipient)"
    );
    let email = delivery("ev1:email:rita@example.com", Channel::Email, h(2));
    assert!(store.create_delivery(&email).await.unwrap());
    assert!(
        store.due_deliveries(h(1), 10).await.unwrap().is_empty(),
        "leased to its creator first"
    );
    let due = store.due_deliveries(h(3), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [first.id.as_str(), email.id.as_str()]
    );

    let mut failed_once = first.clone();
    failed_once.attempts.push(Attempt {
        at: h(1),
        status: Some(500),
        latency_ms: 12,
        error: None,
    });
    failed_once.next_attempt_at = Some(h(5));
    // Replaced over the lease it holds; over any other, refused.
    assert!(
        !store
            .replace_delivery(&failed_once, Some(h(3)))
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_delivery(&failed_once, first.next_attempt_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_delivery(&failed_once, first.next_attempt_at)
            .await
            .unwrap(),
        "a second run holding the old lease changes nothing"
    );
    let mut sent = email.clone();
    sent.attempts.push(Attempt {
        at: h(2),
        status: None,
        latency_ms: 3,
        error: None,
    });
    sent.status = DeliveryStatus::Sent;
    sent.next_attempt_at = None;
    assert!(
        store
            .replace_delivery(&sent, email.next_attempt_at)
            .await
            .unwrap()
    );
    assert!(store.due_deliveries(h(4), 10).await.unwrap().is_empty());
    assert_eq!(
        store.due_deliveries(h(5), 10).await.unwrap(),
        vec![failed_once.clone()]
    );
    assert_eq!(store.delivery(&sent.id).await.unwrap(), Some(sent));

    for i in 0..4 {
        store
            .create_delivery(&delivery(
                &format!("ev{i}x:webhook:https://hooks.example.com/a"),
                Channel::Webhook,
                h(10 + i),
            ))
            .await
            .unwrap();
    }
    let page = store
        .deliveries(Channel::Webhook, &PageRequest::first(3))
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|d| d.created_at).collect::<Vec<_>>(),
        [h(13), h(12), h(11)],
        "newest first"
    );
    let rest = store
        .deliveries(
            Channel::Webhook,
            &PageRequest {
                after: page.next,
                limit: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|d| d.created_at).collect::<Vec<_>>(),
        [h(10), h(1)]
    );
    assert_eq!(rest.next, None);
    assert_eq!(
        rest.items[1].attempts[0].status,
        Some(500),
        "attempts are kept"
    );
}

pub async fn the_webhook_setting_is_set_replaced_and_removed(store: Arc<dyn Store>) {
    use crate::world::{put_webhook, webhook};
    assert_eq!(store.webhook().await.unwrap(), None);
    let hook = webhook("https://hooks.example.com/a");
    put_webhook(&store, Some(hook.clone())).await;
    assert_eq!(store.webhook().await.unwrap(), Some(hook.clone()));
    let other = webhook("https://hooks.example.com/b");
    put_webhook(&store, Some(other.clone())).await;
    assert_eq!(store.webhook().await.unwrap(), Some(other));
    put_webhook(&store, None).await;
    assert_eq!(store.webhook().await.unwrap(), None);
    assert_eq!(
        store.settings().await.unwrap(),
        Settings::default(),
        "the email settings are apart"
    );
}

/// A sign-in link is stored by its digest, redeemed once within its 15 minutes, and only for an
/// active user; users are found by their email address.
pub async fn sign_in_links_work_once_within_their_time(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let rita = w
        .store()
        .user_by_email(&Email::parse("rita@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rita.id.as_str(), "rita");
    assert!(
        w.store()
            .user_by_email(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let link = w
        .app
        .sessions()
        .issue_sign_in_for_user(&rita.id, d(1))
        .await
        .unwrap();
    assert_eq!(link.user.id, rita.id);
    let principal = w
        .app
        .sessions()
        .redeem_sign_in(&link.token, d(1), d(1))
        .await
        .unwrap();
    assert_eq!(principal.id.as_str(), "rita");
    assert!(matches!(
        w.app
            .sessions()
            .redeem_sign_in(&link.token, d(1), d(1))
            .await,
        Err(Error::Conflict(autolock_core::error::Conflict::LinkUsed, _))
    ));
    // Only the digest is stored: the token itself finds nothing.
    assert!(w.store().sign_in_link(&link.token).await.unwrap().is_none());

    // Expired after 15 minutes.
    let late = w
        .app
        .sessions()
        .issue_sign_in_for_user(&id("bob"), d(1))
        .await
        .unwrap();
    assert!(matches!(
        w.app
            .sessions()
            .redeem_sign_in(&late.token, d(1) + chrono::Duration::minutes(15), d(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    let in_time = w
        .app
        .sessions()
        .issue_sign_in_for_user(&id("bob"), d(1))
        .await
        .unwrap();
    // A user deactivated after the link was issued is refused, and gets no new link.
    w.app
        .directory()
        .set_user_active(&w.admin, &id("bob"), false, d(1))
        .await
        .unwrap();
    assert!(matches!(
        w.app
            .sessions()
            .redeem_sign_in(&in_time.token, d(1), d(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.app
            .sessions()
            .issue_sign_in_for_user(&id("bob"), d(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.app.sessions().redeem_sign_in("made-up", d(1), d(1)).await,
        Err(Error::Forbidden(_))
    ));
}

/// Slack's settings are set, replaced and removed (their secrets kept as written); a Slack
/// delivery is stored and listed under its channel; where a request's message was posted is
/// kept, replaced, and found by the request.
pub async fn slack_settings_deliveries_and_posts_are_kept(store: Arc<dyn Store>) {
    use autolock_core::delivery::{Channel, ChatPost, SecretText, SlackSettings};
    use autolock_core::ports::{Changeset, SettingsWrite};
    assert_eq!(store.slack().await.unwrap(), None);
    let slack = SlackSettings {
        channel: "C0APPROVALS".into(),
        enabled: true,
        bot_token: Some(SecretText::parse("bot_token", "xoxb-123-456-abcdef").unwrap()),
        signing_secret: None,
    };
    let write = |s: Option<SlackSettings>| Changeset {
        settings: vec![SettingsWrite::Slack(s)],
        ..Changeset::default()
    };
    store.commit(write(Some(slack.clone()))).await.unwrap();
    assert_eq!(store.slack().await.unwrap(), Some(slack.clone()));
    let off = SlackSettings {
        enabled: false,
        ..slack
    };
    store.commit(write(Some(off.clone()))).await.unwrap();
    assert_eq!(store.slack().await.unwrap(), Some(off));
    store.commit(write(None)).await.unwrap();
    assert_eq!(store.slack().await.unwrap(), None);

    let d = delivery("ev1:slack:C0APPROVALS", Channel::Slack, h(1));
    assert!(store.create_delivery(&d).await.unwrap());
    assert_eq!(
        store.delivery(&d.id).await.unwrap().as_ref(),
        Some(&d),
        "kept whole"
    );
    let listed = store
        .deliveries(Channel::Slack, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![d.clone()]);
    assert!(
        store
            .deliveries(Channel::Webhook, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    assert_eq!(store.chat_post("req1").await.unwrap(), None);
    let post = ChatPost {
        request: "req1".into(),
        channel: "C0APPROVALS".into(),
        ts: "1767225600.000100".into(),
    };
    store.keep_chat_post(&post).await.unwrap();
    assert_eq!(store.chat_post("req1").await.unwrap(), Some(post.clone()));
    let moved = ChatPost {
        ts: "1767225601.000200".into(),
        ..post
    };
    store.keep_chat_post(&moved).await.unwrap();
    assert_eq!(store.chat_post("req1").await.unwrap(), Some(moved));
    assert_eq!(store.chat_post("req2").await.unwrap(), None);
}
