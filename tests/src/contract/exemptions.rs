//! The store contract for exemptions (docs/semantics.md §2.9): stored, listed, edited over
//! their revision, read with a right's facts, and recorded when they run out.
#![allow(clippy::missing_panics_doc, clippy::too_many_lines)]

use std::sync::Arc;

use autolock_core::Error;
use autolock_core::audit::AuditAction;
use autolock_core::error::StoreError;
use autolock_core::exemption::ExemptionFilter;
use autolock_core::ids::{GrantId, UserId};
use autolock_core::ports::{Changeset, DirectoryChange, Store};
use autolock_core::service::NewExemption;
use autolock_core::values::Reason;

use crate::world::{World, d, id};

fn for_right(user: &str, until: autolock_core::Timestamp) -> NewExemption {
    NewExemption {
        user: Some(id(user)),
        resource: Some(id("gitlab")),
        grant: None,
        until,
        reason: Reason::parse("on call over the weekend").unwrap(),
    }
}

/// An exemption of the whole `grant` until `until`.
fn for_grant(grant: GrantId, until: autolock_core::Timestamp, reason: &str) -> NewExemption {
    NewExemption {
        user: None,
        resource: None,
        grant: Some(grant),
        until,
        reason: Reason::parse(reason).unwrap(),
    }
}

async fn eng_grant(w: &World) -> GrantId {
    w.store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn locked_at(
    w: &World,
    user: &UserId,
    at: autolock_core::Timestamp,
) -> Option<autolock_core::Timestamp> {
    w.app
        .gateway()
        .decide(&w.gateway, user, &w.gitlab, false, at)
        .await
        .unwrap()
        .state
        .locked_at()
}

pub async fn exemptions_are_stored_listed_and_edited_over_their_revision(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let right = w
        .app
        .exemptions()
        .create_exemption(&w.devops, for_right("bob", d(20)), d(1))
        .await
        .unwrap();
    assert_eq!(right.start, d(1));
    assert_eq!(right.created_by, w.devops.id);
    let grant = w
        .app
        .exemptions()
        .create_exemption(
            &w.admin,
            for_grant(eng_grant(&w).await, d(30), "audit period"),
            d(2),
        )
        .await
        .unwrap();
    assert_eq!(grant.group.as_ref(), Some(&w.eng));
    assert_eq!(grant.resource, w.gitlab);

    let read = w.store().exemption(&right.id).await.unwrap().unwrap();
    assert_eq!(read, right);
    let ids = |list: Vec<autolock_core::exemption::Exemption>| {
        list.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(w
            .store()
            .exemptions(&ExemptionFilter::Resource(w.gitlab.clone()))
            .await
            .unwrap()),
        vec![right.id.clone(), grant.id.clone()]
    );
    assert_eq!(
        ids(w
            .store()
            .exemptions(&ExemptionFilter::User(w.bob_id()))
            .await
            .unwrap()),
        vec![right.id.clone()]
    );
    assert_eq!(
        ids(w
            .store()
            .exemptions(&ExemptionFilter::Group(w.eng.clone()))
            .await
            .unwrap()),
        vec![grant.id.clone()]
    );
    assert!(
        w.store()
            .exemptions(&ExemptionFilter::User(w.carol.id.clone()))
            .await
            .unwrap()
            .is_empty()
    );

    // Read with the facts of the rights they cover: bob's right has both, carol's the grant's.
    let bob = w.store().right_facts(&w.bob_id(), &w.gitlab).await.unwrap();
    assert_eq!(bob.exemptions.len(), 2);
    let carol = w.store().right_facts(&w.carol.id, &w.gitlab).await.unwrap();
    assert_eq!(ids(carol.exemptions), vec![grant.id.clone()]);

    // An edit computed from a stale revision changes nothing.
    let moved = w
        .app
        .exemptions()
        .change_exemption(&w.devops, &right.id, d(25), d(3))
        .await
        .unwrap();
    assert_eq!(moved.until, d(25));
    let mut stale = right.clone();
    stale.until = d(10);
    let err = w
        .store()
        .commit(Changeset {
            directory: vec![DirectoryChange::UpdateExemption(stale)],
            ..Changeset::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        w.store().exemption(&right.id).await.unwrap().unwrap().until,
        d(25)
    );

    // Run out by d(26): the right's (ended d(25)); the grant's runs to d(30).
    let run_out = w.store().exemptions_run_out(d(26), 10).await.unwrap();
    assert_eq!(ids(run_out), vec![right.id.clone()]);
}

pub async fn flow_exemptions_keep_paths_open_and_are_audited_to_their_end(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    // Who may: admins and DevOps admins set them, reviewers read them, members neither.
    assert!(matches!(
        w.app
            .exemptions()
            .create_exemption(&w.reviewer, for_right("bob", d(20)), d(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.app
            .exemptions()
            .create_exemption(&w.bob, for_right("bob", d(20)), d(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    match w
        .app
        .exemptions()
        .create_exemption(&w.admin, for_right("bob", d(92)), d(1))
        .await
    {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "until"),
        other => panic!("more than 90 days ahead: {other:?}"),
    }
    match w
        .app
        .exemptions()
        .create_exemption(&w.admin, for_right("nobody", d(9)), d(1))
        .await
    {
        Err(Error::NotFound(what)) => assert!(what.contains("nobody"), "{what}"),
        other => panic!("unknown user: {other:?}"),
    }

    // Bob (7 days, never used) would lock at d(7); exempt d(1) to d(20), he locks at d(27).
    let bob = w
        .app
        .exemptions()
        .create_exemption(&w.devops, for_right("bob", d(20)), d(1))
        .await
        .unwrap();
    let decision = w
        .app
        .gateway()
        .decide(&w.gateway, &w.bob_id(), &w.gitlab, false, d(4))
        .await
        .unwrap();
    assert!(decision.allow);
    assert_eq!(
        decision.state,
        autolock_core::lock::RightState::Active {
            next_lock: Some(d(27))
        }
    );

    // Ended early at d(5): the grace rule runs from then, and the sweep records the lock at
    // d(12) without waiting for the exemption's planned end.
    let ended = w
        .app
        .exemptions()
        .end_exemption(&w.admin, &bob.id, d(5))
        .await
        .unwrap();
    assert_eq!(ended.ended_at, Some(d(5)));
    assert!(ended.closed);
    assert!(
        matches!(
            w.app
                .exemptions()
                .end_exemption(&w.admin, &bob.id, d(6))
                .await,
            Err(Error::Conflict(..))
        ),
        "ended already"
    );
    // Carol is not covered: she locks at d(7), and a later exemption does not lift it.
    assert_eq!(locked_at(&w, &w.carol.id, d(7)).await, Some(d(7)));
    w.app
        .exemptions()
        .create_exemption(&w.admin, for_right("carol", d(30)), d(8))
        .await
        .unwrap();
    assert_eq!(
        locked_at(&w, &w.carol.id, d(9)).await,
        Some(d(7)),
        "an exemption never unlocks"
    );
    assert_eq!(
        locked_at(&w, &w.bob_id(), d(12) - chrono::Duration::seconds(1)).await,
        None
    );
    w.app.sweep().sweep(d(12), 100).await.unwrap();
    let usage = w.bob_usage().await.value;
    assert_eq!(usage.lock, Some(d(12)));

    // The grant's exemption runs out at d(40): the tick records it at that instant, once.
    let grant = w
        .app
        .exemptions()
        .create_exemption(
            &w.admin,
            for_grant(eng_grant(&w).await, d(40), "audit period"),
            d(13),
        )
        .await
        .unwrap();
    assert_eq!(
        w.app
            .exemptions()
            .close_run_out_exemptions(d(29), 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        w.app
            .exemptions()
            .close_run_out_exemptions(d(39), 10)
            .await
            .unwrap(),
        1,
        "carol's, at d(30)"
    );
    assert_eq!(
        w.app
            .exemptions()
            .close_run_out_exemptions(d(41), 10)
            .await
            .unwrap(),
        1,
        "the grant's"
    );
    assert_eq!(
        w.app
            .exemptions()
            .close_run_out_exemptions(d(42), 10)
            .await
            .unwrap(),
        0
    );
    assert!(
        w.store()
            .exemption(&grant.id)
            .await
            .unwrap()
            .unwrap()
            .closed
    );

    let listed = w
        .app
        .exemptions()
        .list_exemptions(
            &w.reviewer,
            &ExemptionFilter::Resource(w.gitlab.clone()),
            false,
            d(41),
        )
        .await
        .unwrap();
    assert!(listed.is_empty(), "none in force at d(41)");
    let all = w
        .app
        .exemptions()
        .list_exemptions(
            &w.reviewer,
            &ExemptionFilter::Resource(w.gitlab.clone()),
            true,
            d(41),
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 3);

    let created = w.audited(AuditAction::ExemptionCreated).await;
    assert_eq!(created.len(), 3);
    assert_eq!(created[0].actor, Some(w.devops.id.clone()));
    assert_eq!(created[0].user, Some(w.bob_id()));
    assert_eq!(created[0].details["reason"], "on call over the weekend");
    let ended = w.audited(AuditAction::ExemptionEnded).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].at, d(5));
    let expired = w.audited(AuditAction::ExemptionExpired).await;
    assert_eq!(expired.len(), 2);
    let grant_expired = expired.iter().find(|e| e.grant.is_some()).unwrap();
    assert_eq!(grant_expired.at, d(40));
    assert_eq!(grant_expired.actor, None);
    assert_eq!(grant_expired.group.as_ref(), Some(&w.eng));
}

/// A batch read of rights (the sweep's, the events', the reports') gives what reading each
/// right alone gives: memberships that ended and came back, several grants and groups, an
/// override and an expiry, exemptions of rights and of grants, unknown users and resources.
pub async fn rights_read_together_are_the_rights_read_alone(store: Arc<dyn Store>) {
    use autolock_core::ids::ResourceId;
    use autolock_core::service::{NewGrant, NewResource};
    let w = World::seed(store).await;
    let ops = w
        .app
        .directory()
        .create_group(&w.admin, Some(id("ops")), "Ops".parse().unwrap(), d(0))
        .await
        .unwrap()
        .id;
    let wiki: ResourceId = w
        .app
        .directory()
        .create_resource(
            &w.admin,
            NewResource {
                id: Some(id("wiki")),
                name: "Wiki".parse().unwrap(),
                address: "https://wiki.example.com".into(),
                policy: autolock_core::policy::Policy::NEW_RESOURCE,
            },
            d(0),
        )
        .await
        .unwrap()
        .id;
    for resource in [&w.gitlab, &wiki] {
        w.app
            .directory()
            .create_grant(
                &w.admin,
                NewGrant {
                    group: ops.clone(),
                    resource: resource.clone(),
                    expires_at: Some(d(50)),
                    policy_override: autolock_core::policy::PolicyOverride::default(),
                },
                d(1),
            )
            .await
            .unwrap();
    }
    w.app
        .directory()
        .add_member(&w.admin, &ops, &w.carol.id, d(1))
        .await
        .unwrap();
    w.app
        .directory()
        .remove_member(&w.admin, &ops, &w.carol.id, d(2))
        .await
        .unwrap();
    w.app
        .directory()
        .add_member(&w.admin, &ops, &w.carol.id, d(3))
        .await
        .unwrap();
    w.app
        .directory()
        .add_member(&w.admin, &ops, &w.bob_id(), d(3))
        .await
        .unwrap();
    w.app
        .exemptions()
        .create_exemption(&w.admin, for_right("bob", d(20)), d(4))
        .await
        .unwrap();
    let ops_gitlab = w
        .store()
        .current_grant(&ops, &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    w.app
        .exemptions()
        .create_exemption(&w.admin, for_grant(ops_gitlab.id, d(30), "audit"), d(4))
        .await
        .unwrap();
    w.app
        .directory()
        .set_user_active(&w.admin, &w.carol.id, false, d(5))
        .await
        .unwrap();

    let mut pairs = Vec::new();
    for user in ["bob", "carol", "dev", "nobody"] {
        for resource in ["gitlab", "wiki", "nothing"] {
            pairs.push((id::<UserId>(user), id::<ResourceId>(resource)));
        }
    }
    // A right named twice in one batch reads the same twice.
    pairs.push(pairs[0].clone());
    let together = w.store().rights(&pairs).await.unwrap();
    assert_eq!(together.len(), pairs.len());
    for ((user, resource), read) in pairs.iter().zip(together) {
        let alone = w.store().right(user, resource).await.unwrap();
        assert_eq!(read, alone, "{user} on {resource}");
    }
}
