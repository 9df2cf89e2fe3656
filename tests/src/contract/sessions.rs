//! The store contract for sign-in: users found by email address as their address changes, a
//! user's sessions ended, and the throttles that limit sign-in emails, each written over its
//! version.
#![allow(clippy::missing_panics_doc)]

use std::sync::Arc;

use autolock_core::error::StoreError;
use autolock_core::ports::{Changeset, DirectoryChange, Store, ThrottleWrite};
use autolock_core::service::UserPatch;

use crate::world::{World, d, h, id};

/// A user is found by their address, and by their new one once it changes (and no longer by
/// the old one); ending their sessions is kept beside them and changes nothing else.
pub async fn users_are_found_by_email_and_their_sessions_ended(store: Arc<dyn Store>) {
    let w = World::seed(Arc::clone(&store)).await;
    let rita_email = "rita@example.com".parse().unwrap();
    let found = store.user_by_email(&rita_email).await.unwrap().unwrap();
    assert_eq!(found.id.as_str(), "rita");
    assert_eq!(found.sessions_after, None);
    let patch = UserPatch {
        email: Some("rita.r@example.com".parse().unwrap()),
        ..UserPatch::default()
    };
    w.app
        .directory()
        .patch_user(&w.admin, &id("rita"), patch, h(2))
        .await
        .unwrap();
    assert_eq!(store.user_by_email(&rita_email).await.unwrap(), None);
    let moved = store
        .user_by_email(&"rita.r@example.com".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.id.as_str(), "rita");
    assert_eq!(
        store
            .user_by_email(&"nobody@example.com".parse().unwrap())
            .await
            .unwrap(),
        None
    );

    let ended = Changeset {
        directory: vec![DirectoryChange::EndSessions {
            user: id("rita"),
            at: d(3),
        }],
        ..Changeset::default()
    };
    store.commit(ended).await.unwrap();
    let rita = store.user(&id("rita")).await.unwrap().unwrap();
    assert_eq!(rita.sessions_after, Some(d(3)));
    assert_eq!(rita.revision, moved.revision, "not an edit of the user");
    assert_eq!(rita.email.as_str(), "rita.r@example.com");
    let nobody = Changeset {
        directory: vec![DirectoryChange::EndSessions {
            user: id("nobody"),
            at: d(3),
        }],
        ..Changeset::default()
    };
    assert!(matches!(
        store.commit(nobody).await,
        Err(StoreError::Conflict(_))
    ));
}

/// A subject remembered for a user at an identity provider finds the user; a new subject of
/// the same user at the same provider replaces it (the old one finds nobody), another
/// provider's subjects are their own, and the user's document is not edited.
pub async fn a_sign_in_identity_finds_its_user_until_replaced(store: Arc<dyn Store>) {
    World::seed(Arc::clone(&store)).await;
    let okta = "https://example.okta.com";
    let google = "https://accounts.google.com";
    let link = |user: &str, issuer: &str, subject: &str| Changeset {
        directory: vec![DirectoryChange::LinkSignInIdentity {
            user: id(user),
            issuer: issuer.into(),
            subject: subject.into(),
        }],
        ..Changeset::default()
    };
    let found = |issuer: &'static str, subject: &'static str| {
        let store = Arc::clone(&store);
        async move {
            store
                .user_of_sign_in_identity(issuer, subject)
                .await
                .unwrap()
                .map(|u| u.as_str().to_owned())
        }
    };
    assert_eq!(found(okta, "00u1").await, None);
    let before = store.user(&id("rita")).await.unwrap().unwrap();
    store.commit(link("rita", okta, "00u1")).await.unwrap();
    store.commit(link("rita", google, "1077")).await.unwrap();
    store.commit(link("bob", okta, "00u2")).await.unwrap();
    assert_eq!(found(okta, "00u1").await.as_deref(), Some("rita"));
    assert_eq!(found(google, "1077").await.as_deref(), Some("rita"));
    assert_eq!(found(okta, "00u2").await.as_deref(), Some("bob"));
    assert_eq!(
        found(google, "00u1").await,
        None,
        "a subject is its issuer's"
    );
    // Linked again, to the same subject: nothing changes.
    store.commit(link("rita", okta, "00u1")).await.unwrap();
    assert_eq!(found(okta, "00u1").await.as_deref(), Some("rita"));

    store.commit(link("rita", okta, "00u9")).await.unwrap();
    assert_eq!(found(okta, "00u9").await.as_deref(), Some("rita"));
    assert_eq!(found(okta, "00u1").await, None, "replaced");
    assert_eq!(found(google, "1077").await.as_deref(), Some("rita"));
    let after = store.user(&id("rita")).await.unwrap().unwrap();
    assert_eq!(after, before, "not an edit of the user");

    assert!(matches!(
        store.commit(link("nobody", okta, "00u3")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(found(okta, "00u3").await, None);
}

/// A throttle's uses are written over the version read: created once, moved on by one, and a
/// write computed from a stale read refused with nothing written.
pub async fn throttles_are_written_over_their_version(store: Arc<dyn Store>) {
    let key = "sign-in:address:abc";
    let none = store.throttle(key).await.unwrap();
    assert_eq!((none.version, none.value.len()), (0, 0));
    let write = |expected_version, hits: Vec<_>| Changeset {
        throttles: vec![ThrottleWrite {
            key: key.into(),
            expected_version,
            hits,
            expires_at: h(2),
        }],
        ..Changeset::default()
    };
    store.commit(write(0, vec![h(1)])).await.unwrap();
    let one = store.throttle(key).await.unwrap();
    assert_eq!((one.version, one.value.clone()), (1, vec![h(1)]));
    assert!(
        matches!(
            store.commit(write(0, vec![h(1)])).await,
            Err(StoreError::Conflict(_))
        ),
        "created twice"
    );
    store
        .commit(write(1, vec![h(1), h(1) + chrono::Duration::minutes(2)]))
        .await
        .unwrap();
    assert!(
        matches!(
            store.commit(write(1, vec![h(1)])).await,
            Err(StoreError::Conflict(_))
        ),
        "a stale read"
    );
    let two = store.throttle(key).await.unwrap();
    assert_eq!(two.version, 2);
    assert_eq!(two.value.len(), 2);
    assert_eq!(store.throttle("sign-in:client:x").await.unwrap().version, 0);
}
