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

mod directory;
mod exemptions;
mod feed;
mod flows;
mod flows_late;
mod policies;
mod races;
mod records;
mod sessions;

pub use directory::*;
pub use exemptions::*;
pub use feed::*;
pub use flows::*;
pub use flows_late::*;
pub use policies::*;
pub use races::*;
pub use records::*;
pub use sessions::*;

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
        autolock_core::delivery::Channel::Slack => {
            Content::Slack(autolock_core::delivery::ChatMessage {
                request: "req1".into(),
                text: "t".into(),
                blocks: serde_json::json!([{"type": "section"}]),
                update: false,
            })
        }
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
