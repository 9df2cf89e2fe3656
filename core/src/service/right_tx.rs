//! The transaction on one right: every use case that changes a right reads it once (its facts
//! and usage), builds its timeline once, computes its change with the lock rule, records the
//! domain events that go with it, and commits it all in one [`Changeset`] — the usage write
//! conditioned on the version read, its next due instant always recomputed.

use crate::Timestamp;
use crate::directory::{Principal, RightFacts, Span};
use crate::error::Result;
use crate::events::DomainEvent;
use crate::ids::{ResourceId, UserId};
use crate::lock::{Effect, Right, UnlockKind, Usage, Warning, coalesces, warning};
use crate::ports::{Changeset, UsageWrite, Versioned};
use crate::request::{AccessRequest, CancelReason, RequestStatus};

use super::engine::Engine;

/// One right read for a change, and the changes that go with it.
pub(crate) struct RightTx {
    /// The right: its facts and timeline, built once.
    pub right: Right,
    version: u64,
    before: Usage,
    /// The usage as changed so far.
    pub usage: Usage,
    /// The writes, audit entries and outbox entries so far.
    pub changes: Changeset,
    /// The coalescing window of this change when it is not the deployment's (the gate's).
    pub coalesce: Option<Option<chrono::Duration>>,
    /// Whether the usage is written even unchanged, for the facts kept with it (a refresh, on
    /// a store that keeps them).
    pub rewrite: bool,
}

impl RightTx {
    /// A right read for a change: its facts and its usage at the version read, under the usage
    /// feed's `silences` as known now.
    pub fn read(
        (mut facts, Versioned { value, version }): (RightFacts, Versioned<Usage>),
        silences: &[Span],
    ) -> Self {
        facts.silences = silences.to_vec();
        RightTx {
            right: Right::new(facts),
            version,
            before: value.clone(),
            usage: value,
            changes: Changeset::default(),
            coalesce: None,
            rewrite: false,
        }
    }

    /// The user.
    pub fn user(&self) -> &UserId {
        &self.right.facts.user
    }

    /// The resource.
    pub fn resource(&self) -> &ResourceId {
        &self.right.facts.resource
    }

    /// Records a domain event recorded at `now`: its audit entries, and its outbox entry when
    /// others act on it.
    pub fn record(&mut self, event: DomainEvent, now: Timestamp) {
        self.changes.record(event, now);
    }

    /// Cancels an open request of the right as of `at` (the instant that caused it); nobody is
    /// emailed about a cancellation.
    pub fn cancel_request(
        &mut self,
        request: &AccessRequest,
        reason: CancelReason,
        at: Timestamp,
        now: Timestamp,
    ) {
        let cancelled = request.cancelled(reason, at);
        self.resolved(&cancelled, now);
        if self.usage.open_request.as_ref() == Some(&request.id) {
            self.usage.open_request = None;
        }
    }

    /// Writes a request resolved from open, with its event.
    pub fn resolved(&mut self, request: &AccessRequest, now: Timestamp) {
        self.record(
            DomainEvent::RequestResolved {
                request: request.clone(),
            },
            now,
        );
        self.changes
            .requests
            .push(crate::ports::RequestWrite::Update {
                request: request.clone(),
                expected: RequestStatus::Open,
            });
    }
}

impl Engine {
    /// Reads a right for a change at `now`.
    pub(crate) async fn load(
        &self,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<RightTx> {
        let silences = self.silences(now).await?;
        Ok(RightTx::read(
            self.usage.right(user, resource).await?,
            &silences,
        ))
    }

    /// Reads a right for a decision: as its usage keeps it (one read where the store keeps
    /// facts), the facts read apart only when none are kept.
    pub(crate) async fn load_kept(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> Result<(RightFacts, Versioned<Usage>)> {
        let (kept, usage) = self.usage.kept_right(user, resource).await?;
        let facts = match kept {
            Some(facts) => facts,
            None => self.directory.right_facts(user, resource).await?,
        };
        Ok((facts, usage))
    }

    /// Takes an effect of the lock rule into the transaction: its usage, and the events of a
    /// recorded lock or a revert (which cancels the open request).
    pub(crate) async fn take_effect(
        &self,
        tx: &mut RightTx,
        effect: Effect,
        now: Timestamp,
    ) -> Result<()> {
        if let Some(usage) = effect.usage {
            tx.usage = usage;
        }
        if let Some(reverted) = effect.reverted_lifted {
            // Lifted already: audited, and the open request, if any, waits on a later lock.
            let event = DomainEvent::AccessReverted {
                user: tx.user().clone(),
                resource: tx.resource().clone(),
                reverted_lock: reverted,
                recounted: effect.recounted.clone(),
            };
            tx.record(event, now);
        }
        if let Some(reverted) = effect.reverted {
            let event = DomainEvent::AccessReverted {
                user: tx.user().clone(),
                resource: tx.resource().clone(),
                reverted_lock: reverted,
                recounted: effect.recounted,
            };
            tx.record(event, now);
            self.cancel_open(tx, CancelReason::Reverted, now, now)
                .await?;
        }
        if let Some(locked_at) = effect.locked {
            let event = DomainEvent::AccessLocked {
                user: tx.user().clone(),
                resource: tx.resource().clone(),
                locked_at,
                approval: tx.right.approval_at(locked_at),
            };
            tx.record(event, now);
        }
        Ok(())
    }

    /// Cancels the open request of the right, as of `at`.
    pub(crate) async fn cancel_open(
        &self,
        tx: &mut RightTx,
        reason: CancelReason,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let Some(id) = tx.usage.open_request.clone() else {
            return Ok(());
        };
        match self
            .requests
            .request(&id)
            .await?
            .filter(AccessRequest::is_open)
        {
            Some(request) => tx.cancel_request(&request, reason, at, now),
            None => tx.usage.open_request = None,
        }
        Ok(())
    }

    /// Brings a right read for a change up to date at `now`: records a lock that has occurred
    /// and cancels, as of the instant that caused it, an open request whose user has lost every
    /// path or was deactivated since filing it. Returns (locks recorded, requests cancelled).
    pub(crate) async fn settle(&self, tx: &mut RightTx, now: Timestamp) -> Result<(usize, usize)> {
        let effect = tx.right.settle(&tx.usage, now);
        let locked = usize::from(effect.locked.is_some());
        self.take_effect(tx, effect, now).await?;
        let Some(id) = tx.usage.open_request.clone() else {
            return Ok((locked, 0));
        };
        let Some(request) = self.requests.request(&id).await? else {
            return Ok((locked, 0));
        };
        if !request.is_open() {
            tx.usage.open_request = None;
            return Ok((locked, 0));
        }
        match tx.right.cancellation(request.requested_at, now) {
            Some((reason, at)) => {
                tx.cancel_request(&request, reason, at, now);
                Ok((locked, 1))
            }
            None => Ok((locked, 0)),
        }
    }

    /// Takes an unlock's effect into the transaction with its event; answers the instant of the
    /// lock lifted.
    pub(crate) async fn lift(
        &self,
        tx: &mut RightTx,
        effect: Effect,
        actor: &Principal,
        kind: UnlockKind,
        now: Timestamp,
    ) -> Result<Timestamp> {
        let lifted = tx
            .right
            .lock_in_force(&tx.usage, now)
            .expect("an unlock's effect lifts a lock in force");
        self.take_effect(tx, effect, now).await?;
        let event = DomainEvent::AccessUnlocked {
            user: tx.user().clone(),
            resource: tx.resource().clone(),
            at: now,
            by: actor.id.clone(),
            kind,
            lifted_lock: Some(lifted),
        };
        tx.record(event, now);
        Ok(lifted)
    }

    /// The changes of a right's transaction: its next due instant recomputed, the lock-warning
    /// rule applied, the usage write dropped when the coalescing rule says it is not worth it.
    pub(crate) fn finish(&self, mut tx: RightTx, now: Timestamp) -> Changeset {
        tx.usage.next_due = tx.right.reschedule(&tx.before, &tx.usage, now);
        if let Some(before) = self.options.warn_before() {
            match warning(&tx.right, &tx.usage, now, before) {
                Warning::None => {}
                Warning::Due(lock_at) => {
                    tx.usage.warned_for = Some(lock_at);
                    let event = DomainEvent::LockWarning {
                        user: tx.user().clone(),
                        resource: tx.resource().clone(),
                        lock_at,
                    };
                    tx.record(event, now);
                }
                Warning::At(warn_at) => {
                    tx.usage.next_due = Some(tx.usage.next_due.map_or(warn_at, |d| d.min(warn_at)));
                }
            }
        }
        if let Some(window) = tx.coalesce.unwrap_or_else(|| self.options.coalesce()) {
            if tx.changes.audit.is_empty()
                && tx.changes.outbox.is_empty()
                && coalesces(&tx.before, &tx.usage, window)
            {
                tx.usage = tx.before.clone();
            }
        }
        let keeps_facts = self.usage.keeps_facts();
        if tx.usage != tx.before || (tx.rewrite && keeps_facts) {
            let facts = keeps_facts.then(|| RightFacts {
                silences: Vec::new(),
                ..tx.right.facts.clone()
            });
            tx.changes.usage.push(UsageWrite {
                user: tx.user().clone(),
                resource: tx.resource().clone(),
                expected_version: tx.version,
                usage: tx.usage,
                facts,
            });
        }
        tx.changes
    }

    /// Commits a right's transaction when it changes anything.
    pub(crate) async fn commit_tx(&self, tx: RightTx, now: Timestamp) -> Result<()> {
        let changes = self.finish(tx, now);
        if !changes.is_empty() {
            self.commit.commit(changes).await?;
        }
        Ok(())
    }
}
