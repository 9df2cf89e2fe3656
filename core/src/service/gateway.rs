//! The gateways' use cases: the decision on the connection path, and access events in batches
//! (docs/semantics.md §2.7).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Timestamp;
use crate::authz::{Capability, require};
use crate::directory::{Principal, RightFacts};
use crate::error::Result;
use crate::events::DomainEvent;
use crate::ids::{EventId, PrincipalId, ResourceId, UserId};
use crate::lock::{AccessEvent, DenyReason, EventOutcome, RightState, Usage};

use super::engine::Engine;
use super::right_tx::RightTx;
use crate::ports::{Changeset, Versioned};

/// One access event of a batch.
#[derive(Debug, Clone)]
pub struct EventInput {
    /// Who accessed.
    pub user: UserId,
    /// What.
    pub resource: ResourceId,
    pub event: AccessEvent,
}

/// What became of one event, as a gateway reads it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventResultKind {
    /// The access counted.
    Counted,
    /// The access was denied (see the reason).
    Denied,
    /// The event was applied already: nothing changed.
    Duplicate,
    /// More than 24 hours late: not applied.
    LateIgnored,
    /// Stamped more than 5 minutes ahead: rejected.
    Future,
    /// The user or the resource does not exist.
    Unknown,
}

impl EventResultKind {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::Denied => "denied",
            Self::Duplicate => "duplicate",
            Self::LateIgnored => "late_ignored",
            Self::Future => "future",
            Self::Unknown => "unknown",
        }
    }
}

/// What became of one event of a batch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventResult {
    pub event_id: EventId,
    /// What became of it.
    pub outcome: EventResultKind,
    /// Why it was denied or not applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The recorded lock (its instant) that this event proved wrong and lifted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverted_lock: Option<DateTime<Utc>>,
}

impl EventResult {
    /// An event of a user or resource the directory does not know.
    fn unknown(event_id: EventId) -> Self {
        Self {
            event_id,
            outcome: EventResultKind::Unknown,
            reason: Some("unknown user or resource"),
            reverted_lock: None,
        }
    }

    fn new(event_id: EventId, outcome: EventOutcome, reverted_lock: Option<Timestamp>) -> Self {
        let (outcome, reason) = match outcome {
            EventOutcome::Counted => (EventResultKind::Counted, None),
            EventOutcome::Denied(r) => (EventResultKind::Denied, Some(r.as_str())),
            EventOutcome::Duplicate => (EventResultKind::Duplicate, None),
            EventOutcome::LateIgnored => (
                EventResultKind::LateIgnored,
                Some("more than 24 hours late"),
            ),
            EventOutcome::Future => (
                EventResultKind::Future,
                Some("stamped more than 5 minutes in the future"),
            ),
        };
        Self {
            event_id,
            outcome,
            reason,
            reverted_lock,
        }
    }
}

/// A gateway's answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the user may reach the resource now.
    pub allow: bool,
    /// The state of the right.
    pub state: RightState,
    /// Why not, when denied.
    pub reason: Option<DenyReason>,
}

/// Whether a decision counts the access, and under which coalescing window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recording {
    /// A question only.
    No,
    /// Counted, under the deployment's window.
    Yes,
    /// Counted, under this window (none: every access written).
    Within(Option<chrono::Duration>),
}

impl From<bool> for Recording {
    fn from(record: bool) -> Self {
        if record { Self::Yes } else { Self::No }
    }
}

/// A right and its events of a batch, each with its place in the batch.
type RightEvents = ((UserId, ResourceId), Vec<(usize, AccessEvent)>);

/// How many events of one right a commit takes at most.
pub const EVENTS_PER_COMMIT: usize = 10;

/// The gateways' use cases: decisions and access events.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) engine: Engine,
    pub(crate) feed: super::feed::Feed,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

impl Gateway {
    pub(crate) fn new(engine: &Engine, feed: super::feed::Feed) -> Self {
        Self {
            engine: engine.clone(),
            feed,
        }
    }
}

impl Gateway {
    /// Applies a batch of access events (gateways). Each right is written once per
    /// [`EVENTS_PER_COMMIT`] of its events, with the latest access; an event that changes nothing
    /// costs no write.
    pub async fn record_events(
        &self,
        actor: &Principal,
        batch: Vec<EventInput>,
        now: Timestamp,
    ) -> Result<Vec<EventResult>> {
        require(actor, Capability::Gateway)?;
        // The feed is heard, whatever the events' outcomes (docs/semantics.md §2.10).
        self.feed.hear(now).await?;
        let mut results: Vec<Option<EventResult>> = vec![None; batch.len()];
        let mut by_right: BTreeMap<(UserId, ResourceId), Vec<(usize, AccessEvent)>> =
            BTreeMap::new();
        for (i, input) in batch.into_iter().enumerate() {
            by_right
                .entry((input.user, input.resource))
                .or_default()
                .push((i, input.event));
        }
        let mut few = Vec::new();
        for ((user, resource), mut events) in by_right {
            events.sort_by(|a, b| {
                a.1.accessed_at
                    .cmp(&b.1.accessed_at)
                    .then_with(|| a.1.event_id.cmp(&b.1.event_id))
            });
            if events.len() <= EVENTS_PER_COMMIT {
                few.push(((user, resource), events));
            } else {
                for (i, result) in self
                    .apply_alone(actor, &user, &resource, &events, now)
                    .await?
                {
                    results[i] = Some(result);
                }
            }
        }
        // Rights with a few events each are read together and committed together, as many as
        // the store takes in one commit; a group that fails goes again right by right.
        for group in few.chunks(self.engine.commit.rights_per_commit().max(1)) {
            let together = if group.len() > 1 {
                self.apply_together(actor, group, now).await
            } else {
                None
            };
            let outcomes = match together {
                Some(outcomes) => outcomes,
                None => {
                    let mut outcomes = Vec::new();
                    for ((user, resource), events) in group {
                        outcomes
                            .extend(self.apply_alone(actor, user, resource, events, now).await?);
                    }
                    outcomes
                }
            };
            for (i, result) in outcomes {
                results[i] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every event has a result"))
            .collect())
    }

    /// Applies a right's events (sorted), [`EVENTS_PER_COMMIT`] to a commit, each commit
    /// computed again from a fresh read when it meets a concurrent change.
    async fn apply_alone(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        events: &[(usize, AccessEvent)],
        now: Timestamp,
    ) -> Result<Vec<(usize, EventResult)>> {
        let mut outcomes = Vec::with_capacity(events.len());
        // A right's events are committed a few at a time, so that one commit stays far below a
        // store's transaction limit (each late event is audited and published).
        for events in events.chunks(EVENTS_PER_COMMIT) {
            outcomes.extend(
                self.engine
                    .retry(|| async {
                        let mut tx = self.engine.load(user, resource, now).await?;
                        let outcomes = self.apply_events(&mut tx, events, actor, now).await?;
                        self.engine.commit_tx(tx, now).await?;
                        Ok(outcomes)
                    })
                    .await?,
            );
        }
        Ok(outcomes)
    }

    /// Applies the events of several rights (a few each) in one read and one commit, or `None`
    /// with nothing written when any of it fails.
    async fn apply_together(
        &self,
        actor: &Principal,
        group: &[RightEvents],
        now: Timestamp,
    ) -> Option<Vec<(usize, EventResult)>> {
        let rights: Vec<_> = group.iter().map(|(right, _)| right.clone()).collect();
        let mut changes = Changeset::default();
        let mut outcomes = Vec::new();
        let silences = self.engine.silences(now).await.ok()?;
        for (read, (_, events)) in self
            .engine
            .usage
            .rights(&rights)
            .await
            .ok()?
            .into_iter()
            .zip(group)
        {
            let mut tx = RightTx::read(read, &silences);
            outcomes.extend(self.apply_events(&mut tx, events, actor, now).await.ok()?);
            changes.append(self.engine.finish(tx, now));
        }
        if !changes.is_empty() {
            self.engine.commit.commit(changes).await.ok()?;
        }
        Some(outcomes)
    }

    /// Applies events of one right, in order, to its transaction: what became of each.
    async fn apply_events(
        &self,
        tx: &mut RightTx,
        events: &[(usize, AccessEvent)],
        actor: &Principal,
        now: Timestamp,
    ) -> Result<Vec<(usize, EventResult)>> {
        // A user or resource that does not exist has no history in the facts read: its events
        // are answered `unknown` and change nothing.
        if !tx.right.facts.exist() {
            return Ok(events
                .iter()
                .map(|(i, event)| (*i, EventResult::unknown(event.event_id.clone())))
                .collect());
        }
        let mut outcomes = Vec::with_capacity(events.len());
        for (i, event) in events {
            let (outcome, effect) = tx.right.apply_event(&tx.usage, event, now);
            if outcome == EventOutcome::LateIgnored {
                let late = DomainEvent::LateIgnored {
                    user: tx.user().clone(),
                    resource: tx.resource().clone(),
                    event_id: event.event_id.clone(),
                    accessed_at: event.accessed_at,
                    by: actor.id.clone(),
                };
                tx.record(late, now);
            }
            let reverted = effect.reverted.or(effect.reverted_lifted);
            self.engine.take_effect(tx, effect, now).await?;
            outcomes.push((
                *i,
                EventResult::new(event.event_id.clone(), outcome, reverted),
            ));
        }
        Ok(outcomes)
    }

    /// The gateway's question: may `user` reach `resource` now? With `record`, the access is
    /// also counted (when allowed). A lock found here is recorded.
    pub async fn decide(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        record: bool,
        now: Timestamp,
    ) -> Result<Decision> {
        self.decide_read(actor, user, resource, Recording::from(record), None, now)
            .await
            .map(|(decision, _)| decision)
    }

    /// [`Self::decide`] for the caller with this authenticated id: a gateway's service
    /// principal, kept in the warm process as the gate keeps it ([`Self::gate_principal`]),
    /// and the right as its usage keeps it (one read where the store keeps the facts with the
    /// usage; docs/architecture.md, "The gate on DynamoDB").
    pub async fn decide_for(
        &self,
        caller: &PrincipalId,
        user: &UserId,
        resource: &ResourceId,
        record: bool,
        now: Timestamp,
    ) -> Result<Decision> {
        let actor = self.gate_principal(caller).await?.principal();
        let read = self.engine.load_kept(user, resource).await?;
        self.decide_read(
            &actor,
            user,
            resource,
            Recording::from(record),
            Some(read),
            now,
        )
        .await
        .map(|(decision, _)| decision)
    }

    /// [`Self::decide`] with the access recorded, written only when it moves the last access
    /// by `window` or more (or changes anything else): the gate's decision; and, when it is an
    /// allowed one, until when a check would decide the same and write nothing (the earlier of
    /// the lock instant and the end of the window of the access recorded).
    pub(crate) async fn decide_coalescing(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        window: Option<chrono::Duration>,
        now: Timestamp,
    ) -> Result<(Decision, Option<Timestamp>)> {
        // The right as its usage keeps it (one read where the store keeps facts); a retry after
        // a concurrent change reads it afresh.
        let read = self.engine.load_kept(user, resource).await?;
        self.decide_read(
            actor,
            user,
            resource,
            Recording::Within(window),
            Some(read),
            now,
        )
        .await
    }

    /// [`Self::decide`], the right read already (its first attempt's), under a coalescing
    /// window of its own when `coalesce` says one.
    async fn decide_read(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        record: Recording,
        mut read: Option<(RightFacts, Versioned<Usage>)>,
        now: Timestamp,
    ) -> Result<(Decision, Option<Timestamp>)> {
        let coalesce = match record {
            Recording::Within(window) => Some(window),
            Recording::No | Recording::Yes => None,
        };
        let record = record != Recording::No;
        require(actor, Capability::Gateway)?;
        if record {
            self.feed.hear(now).await?;
        }
        // One read of the right (its facts and usage); a write only when something changed: a
        // lock that occurred, a counted access. A user or resource that does not exist has no
        // path: no access.
        self.engine
            .retry(|| {
                let read = read.take();
                async move {
                    let mut tx = match read {
                        Some(right) => RightTx::read(right, &self.engine.silences(now).await?),
                        None => self.engine.load(user, resource, now).await?,
                    };
                    tx.coalesce = coalesce;
                    if !tx.right.facts.exist() {
                        let decision = Decision {
                            allow: false,
                            state: RightState::NoAccess,
                            reason: Some(DenyReason::NoAccess),
                        };
                        return Ok((decision, None));
                    }
                    let stored_access = tx.usage.last_access;
                    if record {
                        let event = AccessEvent {
                            event_id: EventId::parse(format!(
                                "check:{}",
                                uuid::Uuid::new_v4().simple()
                            ))?,
                            accessed_at: now,
                        };
                        let (_, effect) = tx.right.apply_event(&tx.usage, &event, now);
                        self.engine.take_effect(&mut tx, effect, now).await?;
                    }
                    self.engine.settle(&mut tx, now).await?;
                    let state = tx.right.state(&tx.usage, now);
                    let reason = tx.right.deny_reason(&state, now);
                    self.engine.commit_tx(tx, now).await?;
                    // The stored access after this check: the one before when this one was
                    // within its window (not written), else this one.
                    let fresh_until = match (&state, coalesce.flatten(), &reason) {
                        (RightState::Active { next_lock }, Some(window), None) => {
                            let access = stored_access.filter(|a| *a + window > now).unwrap_or(now);
                            let until = access + window;
                            Some(next_lock.map_or(until, |lock| lock.min(until)))
                        }
                        _ => None,
                    };
                    let decision = Decision {
                        allow: reason.is_none(),
                        state,
                        reason,
                    };
                    Ok((decision, fresh_until))
                }
            })
            .await
    }
}
