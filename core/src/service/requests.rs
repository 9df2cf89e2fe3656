//! Access requests and unlocks (docs/semantics.md §3): an admin's unlock, a
//! locked user's request (auto-approved at once, or open for an approver), an approver's
//! verdict, and the lists and count approvers and requesters read.

use serde::Serialize;

use crate::Timestamp;
use crate::authz::{Capability, may, require, require_sees_user};
use crate::directory::Principal;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::events::DomainEvent;
use crate::ids::{RequestId, ResourceId, UserId};
use crate::lock::{RightState, UnlockKind};
use crate::policy::ApprovalMode;
use crate::ports::{ConsumedLink, Page, PageRequest, RequestFilter, RequestWrite};
use crate::request::{AccessRequest, RequestStatus, Resolution, ResolveError, Verdict};
use crate::values::Reason;

use super::engine::Engine;
use super::right_tx::RightTx;
use super::views::{RightView, view};

/// How long resolved requests stay listed.
pub const RESOLVED_WINDOW: chrono::Duration = chrono::Duration::days(90);

/// A lifted lock: the right as it is now, and the lock instant lifted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unlocked {
    /// The right after the unlock.
    #[serde(flatten)]
    pub right: RightView,
    /// The instant of the lock that was lifted.
    pub lifted_lock: chrono::DateTime<chrono::Utc>,
}

/// A filed request and whether it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The request as stored.
    pub request: AccessRequest,
    /// False when a repeated submission returned the open request.
    pub created: bool,
}

/// Which requests a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestList {
    /// Open requests, oldest first.
    Open,
    /// Requests resolved within the last 90 days, newest first.
    Resolved,
}

/// The approvers' queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Open requests.
    pub open: Page<AccessRequest>,
    /// Requests resolved within the last 90 days.
    pub resolved: Page<AccessRequest>,
}

/// Unlocks and access requests: file, resolve, list, count.
#[derive(Clone)]
pub struct Requests {
    pub(crate) engine: Engine,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests").finish_non_exhaustive()
    }
}

impl Requests {
    pub(crate) fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
        }
    }
}

impl Requests {
    /// Lifts a user's lock on a resource (admin, DevOps admin; never oneself), also a lock kept
    /// while the user has no path. A conflict when the right is not locked. Resolves the user's
    /// open request on it as approved.
    pub async fn unlock(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<Unlocked> {
        require(actor, Capability::Operate)?;
        if actor.id == *user {
            return Err(Error::ForbiddenSelf("nobody unlocks themselves".into()));
        }
        self.engine.existing_user(user).await?;
        self.engine.existing_resource(resource).await?;
        self.engine
            .retry(|| async {
                let mut tx = self.engine.load(user, resource, now).await?;
                let (_, cancelled) = self.engine.settle(&mut tx, now).await?;
                let Some(effect) =
                    tx.right
                        .unlock(&tx.usage, now, actor.id.clone(), UnlockKind::AdminUnlock)
                else {
                    if cancelled > 0 {
                        self.engine.commit_tx(tx, now).await?;
                    }
                    return Err(Error::Conflict(
                        Conflict::NotLocked,
                        format!("{user} is not locked out of {resource}"),
                    ));
                };
                let lifted_lock = self
                    .engine
                    .lift(&mut tx, effect, actor, UnlockKind::AdminUnlock, now)
                    .await?;
                if let Some(id) = tx.usage.open_request.take() {
                    if let Some(request) = self
                        .engine
                        .requests
                        .request(&id)
                        .await?
                        .filter(AccessRequest::is_open)
                    {
                        let approved =
                            request.closed(RequestStatus::Approved, actor.id.clone(), now);
                        tx.resolved(&approved, now);
                    }
                }
                let result = Unlocked {
                    right: view(&tx, now),
                    lifted_lock,
                };
                self.engine.commit_tx(tx, now).await?;
                Ok(result)
            })
            .await
    }

    /// Files a request for a locked right (the locked user). Automatic approval stores it
    /// resolved and unlocks at once; manual approval opens it, or updates the reason of the
    /// open one and returns it.
    pub async fn file_request(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        reason: Reason,
        now: Timestamp,
    ) -> Result<Filed> {
        self.file_request_via(actor, resource, reason, None, now)
            .await
    }

    /// Files a request through a single-use link (the block page), consuming the link in the
    /// same commit: a second submission through it is a conflict.
    pub async fn file_request_via(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        reason: Reason,
        link: Option<ConsumedLink>,
        now: Timestamp,
    ) -> Result<Filed> {
        require(actor, Capability::OwnRights)?;
        let user = actor.id.clone();
        self.engine.existing_resource(resource).await?;
        self.engine
            .retry(|| async {
                let mut tx = self.engine.load(&user, resource, now).await?;
                let RightState::Locked {
                    locked_at,
                    approval,
                } = tx.right.state(&tx.usage, now)
                else {
                    return Err(Error::Conflict(
                        Conflict::NotLocked,
                        format!("{user} is not locked out of {resource}"),
                    ));
                };
                self.engine.settle(&mut tx, now).await?;
                let open = match &tx.usage.open_request {
                    Some(id) => self
                        .engine
                        .requests
                        .request(id)
                        .await?
                        .filter(AccessRequest::is_open),
                    None => None,
                };
                let new_request = |status| AccessRequest {
                    id: RequestId::generate(),
                    user: user.clone(),
                    resource: resource.clone(),
                    reason: reason.clone(),
                    approval,
                    locked_at,
                    status,
                    requested_at: now,
                    resolved_at: (status == RequestStatus::AutoApproved).then_some(now),
                    resolved_by: (status == RequestStatus::AutoApproved).then(|| user.clone()),
                    cancel_reason: None,
                };
                let filed = match (approval, open) {
                    (ApprovalMode::Automatic, open) => {
                        let request = new_request(RequestStatus::AutoApproved);
                        self.auto_approve(&mut tx, actor, request, open, now)
                            .await?
                    }
                    (ApprovalMode::Manual, open) => {
                        file_manual(&mut tx, new_request(RequestStatus::Open), open, now)
                    }
                };
                let mut changes = self.engine.finish(tx, now);
                changes.consumed_links.extend(link.clone());
                match self.engine.commit.commit(changes).await {
                    Err(StoreError::AlreadyExists(_)) if link.is_some() => {
                        return Err(Error::Conflict(
                            Conflict::LinkUsed,
                            "this link was used already".into(),
                        ));
                    }
                    other => other?,
                }
                Ok(filed)
            })
            .await
    }

    /// An automatic approval: the right unlocked, the request recorded as approved at once,
    /// and a request still open from a manual time closed with it.
    async fn auto_approve(
        &self,
        tx: &mut RightTx,
        actor: &Principal,
        request: AccessRequest,
        open: Option<AccessRequest>,
        now: Timestamp,
    ) -> Result<Filed> {
        let user = &actor.id;
        let effect = tx
            .right
            .unlock(&tx.usage, now, user.clone(), UnlockKind::AutomaticRequest)
            .ok_or_else(|| Error::Conflict(Conflict::NotLocked, "not locked".into()))?;
        self.engine
            .lift(tx, effect, actor, UnlockKind::AutomaticRequest, now)
            .await?;
        tx.record(
            DomainEvent::RequestCreated {
                request: request.clone(),
            },
            now,
        );
        tx.record(
            DomainEvent::RequestResolved {
                request: request.clone(),
            },
            now,
        );
        if let Some(open) = open {
            let resolved = open.closed(RequestStatus::AutoApproved, user.clone(), now);
            tx.resolved(&resolved, now);
        }
        tx.usage.open_request = None;
        tx.changes
            .requests
            .push(RequestWrite::Create(request.clone()));
        Ok(Filed {
            request,
            created: true,
        })
    }

    /// Approves or denies a request (approvers, never their own). A second approver gets a
    /// conflict; the same actor repeating the same verdict gets the stored result. A request
    /// the facts cancelled before the verdict (every path ended, the user deactivated) is
    /// recorded cancelled as of then, and the verdict is a conflict.
    pub async fn resolve(
        &self,
        actor: &Principal,
        id: &RequestId,
        verdict: Verdict,
        now: Timestamp,
    ) -> Result<AccessRequest> {
        require(actor, Capability::Review)?;
        self.engine
            .retry(|| async {
                let request = self
                    .engine
                    .requests
                    .request(id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("request {id}")))?;
                let resolved = match request.resolve(actor, verdict, now) {
                    Ok(Resolution::Repeated) => return Ok(request),
                    Ok(Resolution::Resolved(resolved)) => resolved,
                    Err(ResolveError::Forbidden(why)) => return Err(Error::Forbidden(why.into())),
                    Err(ResolveError::OwnRequest(why)) => {
                        return Err(Error::ForbiddenSelf(why.into()));
                    }
                    Err(e @ ResolveError::AlreadyResolved(_)) => {
                        return Err(Error::Conflict(Conflict::AlreadyResolved, e.to_string()));
                    }
                };
                let mut tx = self
                    .engine
                    .load(&request.user, &request.resource, now)
                    .await?;
                if let Some((reason, at)) = tx.right.cancellation(request.requested_at, now) {
                    tx.cancel_request(&request, reason, at, now);
                    self.engine.commit_tx(tx, now).await?;
                    return Err(Error::Conflict(
                        Conflict::AlreadyResolved,
                        "request is already cancelled".into(),
                    ));
                }
                if tx.usage.open_request.as_ref() == Some(id) {
                    tx.usage.open_request = None;
                }
                if verdict == Verdict::Approve {
                    if let Some(effect) = tx.right.unlock(
                        &tx.usage,
                        now,
                        actor.id.clone(),
                        UnlockKind::ApprovedRequest,
                    ) {
                        self.engine
                            .lift(&mut tx, effect, actor, UnlockKind::ApprovedRequest, now)
                            .await?;
                    }
                }
                tx.resolved(&resolved, now);
                self.engine.commit_tx(tx, now).await?;
                Ok(resolved)
            })
            .await
    }

    /// A request, as its requester or an approver sees it; anyone else gets `NotFound`.
    pub async fn request(&self, actor: &Principal, id: &RequestId) -> Result<AccessRequest> {
        require(actor, Capability::OwnRights)?;
        let request = self
            .engine
            .requests
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("request {id}")))?;
        require_sees_user(actor, &request.user)
            .map_err(|_| Error::NotFound(format!("request {id}")))?;
        Ok(request)
    }

    /// A page of requests: approvers see everyone's, anyone else only their own (asking for
    /// another user's is `NotFound`). Resolved ones are listed while resolved within 90 days.
    pub async fn requests(
        &self,
        actor: &Principal,
        list: RequestList,
        mut filter: RequestFilter,
        page: &PageRequest,
        now: Timestamp,
    ) -> Result<Page<AccessRequest>> {
        require(actor, Capability::OwnRights)?;
        if !may(actor, Capability::Review) {
            match &filter.user {
                Some(u) if *u != actor.id => return Err(Error::NotFound(format!("user {u}"))),
                _ => filter.user = Some(actor.id.clone()),
            }
        }
        Ok(match list {
            RequestList::Open => self.engine.requests.open_requests(&filter, page).await?,
            RequestList::Resolved => {
                self.engine
                    .requests
                    .resolved_requests(now - RESOLVED_WINDOW, &filter, page)
                    .await?
            }
        })
    }

    /// The approvers' queue (admins, DevOps admins, access reviewers): the open requests and
    /// those resolved within the last 90 days, by `filter`.
    pub async fn queue(
        &self,
        actor: &Principal,
        filter: RequestFilter,
        page: &PageRequest,
        now: Timestamp,
    ) -> Result<Queue> {
        require(actor, Capability::Review)?;
        let open = self
            .requests(actor, RequestList::Open, filter.clone(), page, now)
            .await?;
        let resolved = self
            .requests(actor, RequestList::Resolved, filter, page, now)
            .await?;
        Ok(Queue { open, resolved })
    }

    /// How many open requests the actor may resolve (approvers): all open requests but their
    /// own. The console's bell.
    pub async fn count_open_requests(&self, actor: &Principal) -> Result<u64> {
        require(actor, Capability::Review)?;
        let own = RequestFilter {
            user: Some(actor.id.clone()),
            resource: None,
        };
        let own = self
            .engine
            .requests
            .open_requests(&own, &PageRequest::first(1000))
            .await?
            .items
            .len();
        let all = self.engine.requests.count_open().await?;
        Ok(all.saturating_sub(u64::try_from(own).unwrap_or(0)))
    }
}

/// A request under manual approval: the open one as it is when the reason is the same, the
/// open one with the new reason, or `request`, new and open.
fn file_manual(
    tx: &mut RightTx,
    request: AccessRequest,
    open: Option<AccessRequest>,
    now: Timestamp,
) -> Filed {
    match open {
        Some(open) if open.reason == request.reason => Filed {
            request: open,
            created: false,
        },
        Some(open) => {
            let updated = AccessRequest {
                reason: request.reason,
                ..open.clone()
            };
            tx.record(
                DomainEvent::RequestReasonUpdated {
                    request: open.id.clone(),
                    user: open.user.clone(),
                    resource: open.resource.clone(),
                },
                now,
            );
            tx.changes.requests.push(RequestWrite::Update {
                request: updated.clone(),
                expected: RequestStatus::Open,
            });
            Filed {
                request: updated,
                created: false,
            }
        }
        None => {
            tx.usage.open_request = Some(request.id.clone());
            tx.record(
                DomainEvent::RequestCreated {
                    request: request.clone(),
                },
                now,
            );
            tx.changes
                .requests
                .push(RequestWrite::Create(request.clone()));
            Filed {
                request,
                created: true,
            }
        }
    }
}
