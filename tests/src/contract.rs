//! The store contract suite: what every store must do, written once. Each function takes a
//! fresh, empty store; [`crate::store_contract_tests!`] makes a test of each.
#![allow(clippy::missing_panics_doc, clippy::too_many_lines)]

use std::sync::Arc;

use autolock_core::Error;
use autolock_core::audit::{AuditAction, AuditEntry, AuditFilter};
use autolock_core::directory::{Group, Resource, ServicePrincipal, Span, Timed, User};
use autolock_core::error::StoreError;
use autolock_core::events::{DomainEvent, OutboxEntry};
use autolock_core::ids::{EventId, GrantId, GroupId, RequestId, ResourceId, UserId};
use autolock_core::lock::{AccessEvent, DenyReason, RightState, Usage};
use autolock_core::policy::{ApprovalMode, AutoLockAfter, OverridePatch, Policy, PolicyOverride};
use autolock_core::ports::{
    Changeset, DirectoryChange, PageRequest, RequestFilter, RequestWrite, Settings, Store,
    UsageWrite,
};
use autolock_core::request::{AccessRequest, CancelReason, RequestStatus, Verdict};
use autolock_core::service::{EventInput, PolicyPatch};
use autolock_core::values::{Email, Name, Reason, Role};

use crate::world::{World, d, h, id};

pub use crate::contract_exemptions::*;
pub use crate::contract_feed::*;
pub use crate::contract_policies::*;
pub use crate::contract_sessions::*;

fn user(uid: &str, role: Role) -> User {
    User {
        id: id(uid),
        email: Email::parse(&format!("{uid}@example.com")).unwrap(),
        display_name: Name::parse(uid).unwrap(),
        role,
        active: true,
        created_at: h(0),
        revision: 0,
        sessions_after: None,
    }
}

fn one(change: DirectoryChange) -> Changeset {
    Changeset {
        directory: vec![change],
        ..Changeset::default()
    }
}

/// `uid` joins `gid` at `at`, or (`joins` false) leaves it.
fn membership(
    joins: bool,
    uid: &str,
    gid: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> DirectoryChange {
    let (user, group) = (id(uid), id(gid));
    if joins {
        DirectoryChange::AddMembership { user, group, at }
    } else {
        DirectoryChange::EndMembership { user, group, at }
    }
}

fn manual_7d() -> Policy {
    Policy {
        auto_lock_after: AutoLockAfter::Hours(168),
        approval: ApprovalMode::Manual,
    }
}

fn resource(rid: &str) -> Resource {
    Resource {
        id: id(rid),
        name: Name::parse(rid).unwrap(),
        address: format!("https://{rid}.example.com"),
        policy: manual_7d(),
        created_at: h(0),
        revision: 0,
    }
}

fn request(rid: &str, user: &str, at: chrono::DateTime<chrono::Utc>) -> AccessRequest {
    AccessRequest {
        id: id(rid),
        user: id(user),
        resource: id("gitlab"),
        reason: Reason::parse("need it").unwrap(),
        approval: ApprovalMode::Manual,
        locked_at: h(0),
        status: RequestStatus::Open,
        requested_at: at,
        resolved_at: None,
        resolved_by: None,
        cancel_reason: None,
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn event(eid: &str, at: chrono::DateTime<chrono::Utc>) -> AccessEvent {
    AccessEvent {
        event_id: id::<EventId>(eid),
        accessed_at: at,
    }
}

/// What a store factory gives: a store, with or without a teardown handle.
pub trait WithHandle {
    /// The teardown handle.
    type Handle;
    /// The store and the handle.
    fn split(self) -> (Arc<dyn Store>, Self::Handle);
}

impl WithHandle for Arc<dyn Store> {
    type Handle = ();
    fn split(self) -> (Arc<dyn Store>, ()) {
        (self, ())
    }
}

impl<H> WithHandle for (Arc<dyn Store>, H) {
    type Handle = H;
    fn split(self) -> (Arc<dyn Store>, H) {
        self
    }
}

/// Splits a factory's result into the store and its teardown handle.
pub fn with_handle<W: WithHandle>(made: W) -> (Arc<dyn Store>, W::Handle) {
    made.split()
}

// ---- directory ---------------------------------------------------------------------------------

pub async fn directory_creates_and_rejects_duplicates(store: Arc<dyn Store>) {
    store
        .commit(one(DirectoryChange::CreateUser(user(
            "ann",
            Role::AccessReviewer,
        ))))
        .await
        .unwrap();
    let sp = ServicePrincipal {
        id: id("gw"),
        name: Name::parse("gw").unwrap(),
        active: true,
        created_at: h(0),
    };
    store
        .commit(one(DirectoryChange::CreateServicePrincipal(sp.clone())))
        .await
        .unwrap();
    assert!(matches!(
        store
            .commit(one(DirectoryChange::CreateUser(user("ann", Role::Member))))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(
        matches!(
            store
                .commit(one(DirectoryChange::CreateUser(user("gw", Role::Member))))
                .await,
            Err(StoreError::AlreadyExists(_)),
        ),
        "a user may not take a service principal's id"
    );
    assert!(matches!(
        store
            .commit(one(DirectoryChange::CreateServicePrincipal(sp.clone())))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));

    let ann = store.principal(&id("ann")).await.unwrap().unwrap();
    assert_eq!((ann.role, ann.active), (Role::AccessReviewer, true));
    assert_eq!(
        store.principal(&id("gw")).await.unwrap().unwrap().role,
        Role::Gateway
    );
    assert_eq!(store.principal(&id("nobody")).await.unwrap(), None);
    assert_eq!(store.service_principal(&id("gw")).await.unwrap(), Some(sp));

    store
        .commit(one(DirectoryChange::SetUserActive {
            user: id("ann"),
            at: h(2),
            active: false,
            revision: 0,
        }))
        .await
        .unwrap();
    // An edit computed from an older read (revision 0) is refused: it would undo the
    // deactivation. Computed from the current revision, it keeps it.
    let stale = user("ann", Role::Admin);
    assert!(matches!(
        store
            .commit(one(DirectoryChange::UpdateUser(stale.clone())))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let current = store.user(&id("ann")).await.unwrap().unwrap();
    assert_eq!((current.active, current.revision), (false, 1));
    let updated = User {
        revision: 1,
        sessions_after: None,
        ..stale
    };
    store
        .commit(one(DirectoryChange::UpdateUser(updated.clone())))
        .await
        .unwrap();
    let mut expected = updated;
    expected.active = false;
    expected.revision = 2;
    assert_eq!(store.user(&id("ann")).await.unwrap(), Some(expected));
    assert!(
        store
            .active_users_with_roles(&[Role::Admin])
            .await
            .unwrap()
            .is_empty(),
        "inactive users are left out"
    );

    let group = Group {
        id: id("eng"),
        name: Name::parse("Eng").unwrap(),
        created_at: h(0),
    };
    store
        .commit(one(DirectoryChange::CreateGroup(group.clone())))
        .await
        .unwrap();
    assert!(matches!(
        store
            .commit(one(DirectoryChange::CreateGroup(group.clone())))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.group(&id("eng")).await.unwrap(), Some(group));

    store
        .commit(one(DirectoryChange::CreateResource(resource("gitlab"))))
        .await
        .unwrap();
    assert!(matches!(
        store
            .commit(one(DirectoryChange::CreateResource(resource("gitlab"))))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.resource(&id("gitlab")).await.unwrap(),
        Some(resource("gitlab"))
    );
    assert_eq!(store.resource(&id("nope")).await.unwrap(), None);
}

pub async fn directory_keeps_membership_and_grant_history(store: Arc<dyn Store>) {
    store
        .commit(one(DirectoryChange::CreateUser(user("bob", Role::Member))))
        .await
        .unwrap();
    store
        .commit(one(DirectoryChange::CreateGroup(Group {
            id: id("eng"),
            name: Name::parse("Eng").unwrap(),
            created_at: h(0),
        })))
        .await
        .unwrap();
    store
        .commit(one(DirectoryChange::CreateResource(resource("gitlab"))))
        .await
        .unwrap();
    let (bob, eng, gitlab): (UserId, GroupId, ResourceId) = (id("bob"), id("eng"), id("gitlab"));

    store
        .commit(one(DirectoryChange::AddMembership {
            user: bob.clone(),
            group: eng.clone(),
            at: h(1),
        }))
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .commit(one(DirectoryChange::AddMembership {
                    user: bob.clone(),
                    group: eng.clone(),
                    at: h(2)
                }))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "one current membership"
    );
    store
        .commit(one(DirectoryChange::EndMembership {
            user: bob.clone(),
            group: eng.clone(),
            at: h(3),
        }))
        .await
        .unwrap();
    assert!(matches!(
        store
            .commit(one(DirectoryChange::EndMembership {
                user: bob.clone(),
                group: eng.clone(),
                at: h(4)
            }))
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .commit(one(DirectoryChange::AddMembership {
            user: bob.clone(),
            group: eng.clone(),
            at: h(5),
        }))
        .await
        .unwrap();
    assert_eq!(store.members(&eng).await.unwrap(), vec![bob.clone()]);
    assert_eq!(store.groups_of_user(&bob).await.unwrap(), vec![eng.clone()]);

    let grant = autolock_core::directory::Grant {
        id: id("g1"),
        group: eng.clone(),
        resource: gitlab.clone(),
        span: Span::from(h(2)),
        expiry: vec![Timed {
            at: h(2),
            value: Some(d(30)),
        }],
        overrides: vec![Timed {
            at: h(2),
            value: PolicyOverride::default(),
        }],
        revision: 0,
    };
    store
        .commit(one(DirectoryChange::CreateGrant(grant.clone())))
        .await
        .unwrap();
    let twin = autolock_core::directory::Grant {
        id: id("g2"),
        ..grant.clone()
    };
    assert!(matches!(
        store.commit(one(DirectoryChange::CreateGrant(twin))).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let o = PolicyOverride {
        auto_lock_after: Some(AutoLockAfter::Hours(720)),
        approval: None,
    };
    store
        .commit(one(DirectoryChange::EditGrant {
            grant: id("g1"),
            at: h(6),
            policy_override: Some(o),
            expires_at: None,
            revision: 0,
        }))
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .commit(one(DirectoryChange::EditGrant {
                    grant: id("g1"),
                    at: h(7),
                    policy_override: None,
                    expires_at: Some(None),
                    revision: 0,
                }))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an edit computed before the override is refused"
    );
    store
        .commit(one(DirectoryChange::EditGrant {
            grant: id("g1"),
            at: h(7),
            policy_override: None,
            expires_at: Some(None),
            revision: 1,
        }))
        .await
        .unwrap();
    let auto = Policy {
        auto_lock_after: AutoLockAfter::Hours(168),
        approval: ApprovalMode::Automatic,
    };
    store
        .commit(one(DirectoryChange::SetResourcePolicy {
            resource: gitlab.clone(),
            at: h(8),
            policy: auto,
            revision: 0,
        }))
        .await
        .unwrap();
    assert_eq!(store.resource(&gitlab).await.unwrap().unwrap().policy, auto);

    let facts = store.right_facts(&bob, &gitlab).await.unwrap();
    assert!(facts.active_at(h(8)));
    assert_eq!(
        facts.resource_policy,
        vec![
            Timed {
                at: h(0),
                value: manual_7d()
            },
            Timed {
                at: h(8),
                value: auto
            }
        ]
    );
    assert_eq!(facts.paths.len(), 1);
    let path = &facts.paths[0];
    assert_eq!(
        path.memberships,
        vec![
            Span {
                start: h(1),
                end: Some(h(3))
            },
            Span::from(h(5))
        ]
    );
    assert_eq!(path.grants.len(), 1);
    assert_eq!(
        path.grants[0].expiry,
        vec![
            Timed {
                at: h(2),
                value: Some(d(30))
            },
            Timed {
                at: h(7),
                value: None
            }
        ]
    );
    assert_eq!(
        path.grants[0].overrides,
        vec![
            Timed {
                at: h(2),
                value: PolicyOverride::default()
            },
            Timed { at: h(6), value: o }
        ]
    );
    assert_eq!(
        store
            .current_grant(&eng, &gitlab)
            .await
            .unwrap()
            .unwrap()
            .id,
        id::<GrantId>("g1")
    );
    assert_eq!(store.grants_of_resource(&gitlab).await.unwrap().len(), 1);
    assert_eq!(store.grants_of_group(&eng).await.unwrap().len(), 1);

    store
        .commit(one(DirectoryChange::EndGrant {
            grant: id("g1"),
            at: h(9),
            revision: 2,
        }))
        .await
        .unwrap();
    assert!(matches!(
        store
            .commit(one(DirectoryChange::EndGrant {
                grant: id("g1"),
                at: h(10),
                revision: 3,
            }))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        matches!(
            store
                .commit(one(DirectoryChange::EditGrant {
                    grant: id("g1"),
                    at: h(10),
                    policy_override: None,
                    expires_at: Some(None),
                    revision: 3,
                }))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a removed grant takes no edits"
    );
    assert_eq!(store.current_grant(&eng, &gitlab).await.unwrap(), None);
    assert_eq!(
        store.grant(&id("g1")).await.unwrap().unwrap().span.end,
        Some(h(9))
    );
    // Re-created: a second grant in the history.
    let again = autolock_core::directory::Grant {
        id: id("g3"),
        span: Span::from(h(12)),
        ..grant
    };
    store
        .commit(one(DirectoryChange::CreateGrant(again)))
        .await
        .unwrap();
    let facts = store.right_facts(&bob, &gitlab).await.unwrap();
    assert_eq!(
        facts.paths[0]
            .grants
            .iter()
            .map(|g| g.id.to_string())
            .collect::<Vec<_>>(),
        ["g1", "g3"]
    );
    assert_eq!(
        store.resources_of_user(&bob).await.unwrap(),
        vec![gitlab.clone()]
    );
    assert_eq!(store.users_of_resource(&gitlab).await.unwrap(), vec![bob]);
}

pub async fn directory_lists_page_by_cursor(store: Arc<dyn Store>) {
    for i in 0..7 {
        store
            .commit(one(DirectoryChange::CreateUser(user(
                &format!("u{i}"),
                Role::Member,
            ))))
            .await
            .unwrap();
        store
            .commit(one(DirectoryChange::CreateResource(resource(&format!(
                "r{i}"
            )))))
            .await
            .unwrap();
        store
            .commit(one(DirectoryChange::CreateGroup(Group {
                id: id(&format!("g{i}")),
                name: Name::parse("g").unwrap(),
                created_at: h(0),
            })))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = store.users(&page).await.unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.into_iter().map(|u| u.id.to_string()));
        match p.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4", "u5", "u6"]);
    let first = store.resources(&PageRequest::first(5)).await.unwrap();
    assert_eq!(first.items.len(), 5);
    let rest = store
        .resources(&PageRequest {
            after: first.next,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>(),
        ["r5", "r6"]
    );
    assert_eq!(rest.next, None);
    assert_eq!(
        store
            .groups(&PageRequest::first(100))
            .await
            .unwrap()
            .items
            .len(),
        7
    );
}

// ---- usage and the lock index ------------------------------------------------------------------

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

// ---- requests ----------------------------------------------------------------------------------

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

// ---- audit, outbox, settings -------------------------------------------------------------------

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

// ---- races -------------------------------------------------------------------------------------

async fn locked_bob_with_open_request(w: &World) -> RequestId {
    let filed = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, reason("release day"), d(8))
        .await
        .unwrap();
    assert!(filed.created);
    assert_eq!(filed.request.status, RequestStatus::Open);
    filed.request.id
}

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

/// A new member of `eng` since T0 (so locked from day 7 on).
async fn add_member(w: &World, uid: &str) -> autolock_core::directory::Principal {
    let user: UserId = id(uid);
    let new = autolock_core::service::NewUser {
        id: Some(user.clone()),
        email: Email::parse(&format!("{uid}@example.com")).unwrap(),
        display_name: Name::parse(uid).unwrap(),
        role: Role::Member,
    };
    w.app
        .directory()
        .create_user(&w.admin, new, h(0))
        .await
        .unwrap();
    w.app
        .directory()
        .add_member(&w.admin, &w.eng, &user, h(0))
        .await
        .unwrap();
    autolock_core::directory::Principal {
        id: user,
        role: Role::Member,
        active: true,
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

// ---- flows through the use cases ---------------------------------------------------------------

async fn audit_actions(w: &World) -> Vec<&'static str> {
    w.store()
        .audit(&AuditFilter::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action.as_str())
        .collect()
}

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

/// A resource held by a few groups and one held by many (more than a store may read group by
/// group) list the same users, page by page, as read whole: each member of any of its groups once,
/// in id order, a member with an ended and a current membership counted once.
pub async fn the_users_of_a_resource_page_alike_however_many_groups_hold_it(store: Arc<dyn Store>) {
    let groups = 34;
    let grant = |gid: String, rid: &str| crate::world::open_grant(&gid, rid);
    let mut changes = vec![
        DirectoryChange::CreateResource(resource("wide")),
        DirectoryChange::CreateResource(resource("narrow")),
    ];
    for g in 0..groups {
        let gid = format!("g{g:02}");
        changes.push(DirectoryChange::CreateGroup(Group {
            id: id(&gid),
            name: Name::parse(&gid).unwrap(),
            created_at: h(0),
        }));
        changes.push(DirectoryChange::CreateGrant(grant(gid.clone(), "wide")));
        if g < 3 {
            changes.push(DirectoryChange::CreateGrant(grant(gid, "narrow")));
        }
    }
    // User u in groups u % 34 and (7u + 1) % 34; u07 leaves g07 and comes back.
    let mut narrow = std::collections::BTreeSet::new();
    for u in 0..40usize {
        let uid = format!("u{u:02}");
        changes.push(DirectoryChange::CreateUser(user(&uid, Role::Member)));
        for g in [u % groups, (7 * u + 1) % groups] {
            if g < 3 {
                narrow.insert(uid.clone());
            }
            changes.push(DirectoryChange::AddMembership {
                user: id(&uid),
                group: id(&format!("g{g:02}")),
                at: h(2),
            });
        }
    }
    for (joins, at) in [(false, h(3)), (true, h(4))] {
        changes.push(membership(joins, "u07", "g07", at));
    }
    for change in changes {
        store.commit(one(change)).await.unwrap();
    }
    let wide: Vec<String> = (0..40).map(|u| format!("u{u:02}")).collect();
    let narrow: Vec<String> = narrow.into_iter().collect();
    assert!(narrow.len() > 3 && narrow.len() < wide.len());
    for (rid, expected) in [("wide", wide), ("narrow", narrow)] {
        let whole: Vec<String> = store
            .users_of_resource(&id(rid))
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(whole, expected, "{rid}, read whole");
        for limit in [1, 7, 100] {
            let mut seen = Vec::new();
            let mut page = PageRequest::first(limit);
            loop {
                let p = store.users_of_resource_page(&id(rid), &page).await.unwrap();
                assert!(p.items.len() <= limit as usize);
                seen.extend(p.items.into_iter().map(|u| u.to_string()));
                match p.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{rid}, pages of {limit}");
        }
    }
}

/// A group's members page alike as read whole: its current members only, in id order, each
/// once — one who left is not listed, one who left and came back is listed once, a member of
/// another group is not.
pub async fn a_groups_members_page_alike_as_read_whole(store: Arc<dyn Store>) {
    let mut changes = Vec::new();
    for gid in ["team", "other"] {
        changes.push(DirectoryChange::CreateGroup(Group {
            id: id(gid),
            name: Name::parse(gid).unwrap(),
            created_at: h(0),
        }));
    }
    for u in 0..12usize {
        let uid = format!("u{u:02}");
        changes.push(DirectoryChange::CreateUser(user(&uid, Role::Member)));
        changes.push(DirectoryChange::AddMembership {
            user: id(&uid),
            group: id(if u == 11 { "other" } else { "team" }),
            at: h(1),
        });
    }
    for (uid, joins, at) in [
        ("u03", false, h(2)),
        ("u05", false, h(2)),
        ("u05", true, h(3)),
    ] {
        changes.push(membership(joins, uid, "team", at));
    }
    for change in changes {
        store.commit(one(change)).await.unwrap();
    }
    let expected: Vec<String> = (0..11)
        .filter(|u| *u != 3)
        .map(|u| format!("u{u:02}"))
        .collect();
    let whole: Vec<String> = store
        .members(&id("team"))
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(whole, expected);
    for limit in [1, 4, 100] {
        let (mut seen, mut page) = (Vec::new(), PageRequest::first(limit));
        loop {
            let p = store.members_page(&id("team"), &page).await.unwrap();
            assert!(p.items.len() <= limit as usize);
            seen.extend(p.items.iter().map(ToString::to_string));
            match p.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, expected, "pages of {limit}");
    }
}

/// A page of a resource's rights reads each right as it is read alone — the user, the facts, the
/// usage — and its users are those `users_of_resource_page` lists: for a resource held by most
/// of the users in their range of ids, and for one whose few users lie far apart among many who
/// are not its users (a store may read the two kinds of page differently).
pub async fn a_page_of_a_resources_rights_reads_each_right_as_read_alone(store: Arc<dyn Store>) {
    let mut changes = vec![
        DirectoryChange::CreateResource(resource("dense")),
        DirectoryChange::CreateResource(resource("sparse")),
    ];
    for (gid, rid) in [("most", "dense"), ("fives", "dense"), ("ends", "sparse")] {
        changes.push(DirectoryChange::CreateGroup(Group {
            id: id(gid),
            name: Name::parse(gid).unwrap(),
            created_at: h(0),
        }));
        changes.push(DirectoryChange::CreateGrant(crate::world::open_grant(
            gid, rid,
        )));
    }
    // "dense": all but every seventh user, and every fifth (u10 in both); "sparse": u00 and u59
    // of sixty.
    for u in 0..60usize {
        let uid = format!("u{u:02}");
        changes.push(DirectoryChange::CreateUser(user(&uid, Role::Member)));
        let groups = [
            (u % 7 != 6).then_some("most"),
            (u % 5 == 0).then_some("fives"),
            (u == 0 || u == 59).then_some("ends"),
        ];
        for g in groups.into_iter().flatten() {
            changes.push(DirectoryChange::AddMembership {
                user: id(&uid),
                group: id(g),
                at: h(2),
            });
        }
    }
    for (joins, at) in [(false, h(3)), (true, h(4))] {
        changes.push(membership(joins, "u10", "most", at));
    }
    for change in changes {
        store.commit(one(change)).await.unwrap();
    }
    // u20's active flag changes six times; some rights have a recorded access.
    for (n, at) in (3..9).enumerate() {
        let u20 = store.user(&id("u20")).await.unwrap().unwrap();
        store
            .commit(one(DirectoryChange::SetUserActive {
                user: id("u20"),
                at: h(at),
                active: n % 2 == 1,
                revision: u20.revision,
            }))
            .await
            .unwrap();
    }
    for (uid, rid) in [("u04", "dense"), ("u15", "dense"), ("u59", "sparse")] {
        store
            .commit(Changeset {
                usage: vec![UsageWrite {
                    user: id(uid),
                    resource: id(rid),
                    expected_version: 0,
                    usage: Usage {
                        last_access: Some(h(5)),
                        ..Usage::default()
                    },
                }],
                ..Changeset::default()
            })
            .await
            .unwrap();
    }
    let dense: Vec<String> = (0..60)
        .filter(|u| u % 7 != 6 || u % 5 == 0)
        .map(|u| format!("u{u:02}"))
        .collect();
    for (rid, expected) in [
        ("dense", dense),
        ("sparse", vec!["u00".into(), "u59".into()]),
    ] {
        for limit in [1, 7, 100] {
            let (mut seen, mut used) = (Vec::new(), 0);
            let mut page = PageRequest::first(limit);
            loop {
                let p = store.resource_rights_page(&id(rid), &page).await.unwrap();
                let users = store.users_of_resource_page(&id(rid), &page).await.unwrap();
                assert_eq!(p.next, users.next, "{rid}, pages of {limit}: the cursor");
                for read in p.items {
                    let alone = store.user(&read.user.id).await.unwrap().unwrap();
                    assert_eq!(read.user, alone);
                    let (facts, usage) = store.right(&read.user.id, &id(rid)).await.unwrap();
                    assert_eq!(read.facts, facts, "{rid}: the facts of {}", alone.id);
                    assert_eq!(read.usage, usage, "{rid}: the usage of {}", alone.id);
                    used += usize::from(usage.version > 0);
                    seen.push(alone.id.to_string());
                }
                match p.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{rid}, pages of {limit}");
            assert_eq!(used, if rid == "dense" { 2 } else { 1 });
        }
    }
    // A change to the directory after every right was read (a store may then hold the rights'
    // usage but not their users' parts): a page reads as the rights read alone after it.
    let u30 = store.user(&id("u30")).await.unwrap().unwrap();
    store
        .commit(one(DirectoryChange::SetUserActive {
            user: id("u30"),
            at: h(9),
            active: false,
            revision: u30.revision,
        }))
        .await
        .unwrap();
    let page = store
        .resource_rights_page(&id("dense"), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 54);
    for read in page.items {
        let (facts, usage) = store.right(&read.user.id, &id("dense")).await.unwrap();
        assert_eq!((read.facts, read.usage), (facts, usage), "{}", read.user.id);
    }
    let u20 = store.right(&id("u20"), &id("dense")).await.unwrap().0;
    assert_eq!(u20.activity.len(), 7, "created, then six changes");
    let u10 = store.right(&id("u10"), &id("dense")).await.unwrap().0;
    assert_eq!(u10.paths.len(), 2);
    assert_eq!(
        u10.paths[1].memberships.len(),
        2,
        "u10 left most and came back"
    );
}

// ---- notification deliveries and the webhook setting ---------------------------------------------

fn delivery(
    id: &str,
    channel: autolock_core::delivery::Channel,
    created: chrono::DateTime<chrono::Utc>,
) -> autolock_core::delivery::Delivery {
    use autolock_core::delivery::{
        Content, Delivery, DeliveryStatus, EmailMessage, WebhookMessage,
    };
    let content = match channel {
        autolock_core::delivery::Channel::Email => Content::Email(EmailMessage {
            to: Email::parse("rita@example.com").unwrap(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
        }),
        autolock_core::delivery::Channel::Webhook => Content::Webhook(WebhookMessage {
            id: format!("msg_{id}"),
            body: "{}".into(),
        }),
    };
    Delivery {
        id: id.to_owned(),
        event_id: "e".into(),
        channel,
        recipient: "r".into(),
        content,
        status: DeliveryStatus::Pending,
        attempts: Vec::new(),
        next_attempt_at: Some(created + chrono::Duration::minutes(2)),
        created_at: created,
    }
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

// ---- the lock rule's edge cases, through the use cases (docs/semantics.md §2.6-§2.8, §3) ------------------

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

// ---- console sign-in ---------------------------------------------------------------------------

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

// ---- races with many clients -------------------------------------------------------------------

/// Runs `n` copies of a future built by `make(i)` at once, on the runtime's threads.
async fn all_at_once<T, F, Fut>(n: usize, make: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
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
    let grant = w
        .app
        .directory()
        .grant_of(&w.admin, &w.gitlab, &w.eng)
        .await
        .unwrap()
        .id;
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
