//! The directory: users, groups, resources, memberships and grants with their history, and lists a page at a time.

#![allow(clippy::wildcard_imports)]

use super::*;

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
        // Not the defaults, so that a store that dropped them would be seen.
        role: Role::Provisioner,
        identity: autolock_core::directory::GateIdentity {
            header: autolock_core::directory::IdentityHeader::XAuthRequestEmail,
            holds: autolock_core::directory::IdentityKind::Email,
        },
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
        Role::Provisioner
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
                    facts: None,
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

pub async fn provisioned_records_are_kept_whole_with_unique_user_names(store: Arc<dyn Store>) {
    use autolock_core::directory::{ProvisionedKind, ProvisionedRecord};
    let record = |id: &str, name: &str, version: u64, deleted: bool| ProvisionedRecord {
        kind: ProvisionedKind::User,
        id: id.into(),
        user_name: Some(name.into()),
        external_id: Some(format!("ext-{id}")),
        deleted,
        created_at: h(0),
        updated_at: h(version as i64),
        version,
        doc: serde_json::json!({"userName": name, "name": {"givenName": "Barbara"}, "x-other": [1, "two"]}),
    };
    let put = |r: ProvisionedRecord, previous: Option<&str>| {
        one(DirectoryChange::PutProvisioned {
            record: r,
            previous_user_name: previous.map(str::to_owned),
        })
    };
    let first = record("u1", "Bjensen", 1, false);
    store.commit(put(first.clone(), None)).await.unwrap();
    assert_eq!(
        store
            .provisioned(ProvisionedKind::User, "u1")
            .await
            .unwrap(),
        Some(first.clone())
    );
    // The same name, whatever its case, is another's.
    assert!(matches!(
        store
            .commit(put(record("u2", "BJENSEN", 1, false), None))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    // A write over a version that is not the current one.
    assert!(matches!(
        store
            .commit(put(record("u1", "Bjensen", 1, false), None))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Renamed: the old name is free again.
    store
        .commit(put(record("u1", "babs", 2, false), Some("bjensen")))
        .await
        .unwrap();
    store
        .commit(put(record("u2", "bjensen", 1, false), None))
        .await
        .unwrap();
    // Deleted: kept, and its name free.
    store
        .commit(put(record("u1", "babs", 3, true), Some("babs")))
        .await
        .unwrap();
    store
        .commit(put(record("u3", "Babs", 1, false), None))
        .await
        .unwrap();
    // Looked up by the name's key: the live record that has it, none for a name that is free.
    let named = |key: &'static str| {
        let store = Arc::clone(&store);
        async move {
            store
                .provisioned_user_named(key)
                .await
                .unwrap()
                .map(|r| (r.id, r.version))
        }
    };
    assert_eq!(named("bjensen").await, Some(("u2".into(), 1)));
    assert_eq!(named("babs").await, Some(("u3".into(), 1)));
    assert_eq!(named("nobody").await, None);
    let all = store.provisioned_all(ProvisionedKind::User).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|r| (r.id.as_str(), r.version, r.deleted))
            .collect::<Vec<_>>(),
        [("u1", 3, true), ("u2", 1, false), ("u3", 1, false)]
    );
    // Pages of the records not deleted, by id, each with their count.
    let page = |kind: ProvisionedKind, skip: usize, count: usize| {
        let store = Arc::clone(&store);
        async move {
            let page = store
                .provisioned_live_page(kind, skip, count)
                .await
                .unwrap();
            let ids: Vec<String> = page.records.iter().map(|r| r.id.clone()).collect();
            (ids, page.total)
        }
    };
    assert_eq!(
        page(ProvisionedKind::User, 0, 10).await,
        (vec!["u2".into(), "u3".into()], 2)
    );
    assert_eq!(
        page(ProvisionedKind::User, 1, 1).await,
        (vec!["u3".into()], 2)
    );
    assert_eq!(page(ProvisionedKind::User, 0, 0).await, (vec![], 2));
    assert_eq!(page(ProvisionedKind::User, 2, 10).await, (vec![], 2));
    assert_eq!(page(ProvisionedKind::Group, 0, 10).await, (vec![], 0));
    let live = store
        .provisioned_live_page(ProvisionedKind::User, 0, 1)
        .await
        .unwrap();
    assert_eq!(live.records, [all[1].clone()], "a record is read whole");
    // Deleted after it was listed: the next page no longer counts it.
    store
        .commit(put(record("u2", "bjensen", 2, true), Some("bjensen")))
        .await
        .unwrap();
    assert_eq!(
        page(ProvisionedKind::User, 0, 10).await,
        (vec!["u3".into()], 1)
    );
    assert!(
        store
            .provisioned_all(ProvisionedKind::Group)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .provisioned(ProvisionedKind::Group, "u1")
            .await
            .unwrap(),
        None
    );
}

pub async fn a_group_is_renamed_and_only_one_that_exists(store: Arc<dyn Store>) {
    let ops = autolock_core::directory::Group {
        id: id("ops"),
        name: Name::parse("Ops").unwrap(),
        created_at: h(0),
    };
    store
        .commit(one(DirectoryChange::CreateGroup(ops.clone())))
        .await
        .unwrap();
    let rename = |group: &str, name: &str| {
        one(DirectoryChange::RenameGroup {
            group: id(group),
            name: Name::parse(name).unwrap(),
        })
    };
    store.commit(rename("ops", "Operations")).await.unwrap();
    let read = store.group(&id("ops")).await.unwrap().unwrap();
    assert_eq!(
        (read.name.as_str(), read.created_at),
        ("Operations", ops.created_at)
    );
    assert!(matches!(
        store.commit(rename("nobody", "Nobody")).await,
        Err(StoreError::Conflict(_))
    ));
}
