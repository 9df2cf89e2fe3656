//! The engine every right-changing use case runs on: the store's ports it reads and writes
//! rights through, the retry of a commit that met a concurrent change, the transaction on one
//! right (`right_tx.rs`), and the refresh of the rights a directory or policy change touches
//! (docs/semantics.md §8). Services hold a clone of it beside the ports of their own.

use std::sync::Arc;

use crate::Timestamp;
use crate::directory::{Grant, Group, Resource, Span, User};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::events::DomainEvent;
use crate::ids::{GrantId, GroupId, ResourceId, UserId};
use crate::ports::{
    Changeset, Committer, DirectoryChange, DirectoryReader, Pause, RefreshIntent, RefreshQueue,
    RefreshScope, RequestReader, SettingsStore, UsageReader,
};

use super::{Options, backoff, jitter};

/// How many times a commit that met a concurrent change is recomputed before giving up.
const COMMIT_ATTEMPTS: usize = 8;

/// Runs `attempt` again while it meets a concurrent change, at most [`COMMIT_ATTEMPTS`] times,
/// pausing with `pause` (backing off, with jitter) between attempts.
pub(crate) async fn retry<T, F, Fut>(pause: &dyn Pause, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(Error::Store(StoreError::Conflict(_))) if tries < COMMIT_ATTEMPTS => {
                pause.pause(backoff(tries + 1, jitter())).await;
            }
            other => return other,
        }
    }
}

/// The engine: the ports rights are read and written through, and the deployment's options.
#[derive(Clone)]
pub(crate) struct Engine {
    pub(crate) directory: Arc<dyn DirectoryReader>,
    pub(crate) usage: Arc<dyn UsageReader>,
    pub(crate) requests: Arc<dyn RequestReader>,
    pub(crate) refreshes: Arc<dyn RefreshQueue>,
    pub(crate) settings: Arc<dyn SettingsStore>,
    pub(crate) commit: Arc<dyn Committer>,
    pub(crate) pause: Arc<dyn Pause>,
    pub(crate) options: Options,
    /// What the gate keeps in the warm process, forgotten by `commit` on a change.
    pub(crate) gate: Arc<super::gate::GateCache>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Runs `attempt` again while it meets a concurrent change (see [`retry`]).
    pub(crate) async fn retry<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        retry(self.pause.as_ref(), attempt).await
    }

    /// Commits directory changes, telling an id taken from a failed condition.
    pub(crate) async fn commit_changes(&self, changes: Changeset) -> Result<()> {
        match self.commit.commit(changes).await {
            Err(StoreError::AlreadyExists(what)) => Err(Error::Conflict(
                Conflict::AlreadyExists,
                format!("{what} already exists"),
            )),
            Err(StoreError::Conflict(what)) => Err(Error::Conflict(Conflict::State, what)),
            other => Ok(other?),
        }
    }

    pub(crate) async fn existing_user(&self, id: &UserId) -> Result<User> {
        self.directory
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))
    }

    pub(crate) async fn existing_group(&self, id: &GroupId) -> Result<Group> {
        self.directory
            .group(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("group {id}")))
    }

    pub(crate) async fn existing_resource(&self, id: &ResourceId) -> Result<Resource> {
        self.directory
            .resource(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("resource {id}")))
    }

    pub(crate) async fn current_grant_by_id(&self, id: &GrantId) -> Result<Grant> {
        self.directory
            .grant(id)
            .await?
            .filter(|g| g.span.end.is_none())
            .ok_or_else(|| Error::NotFound(format!("grant {id}")))
    }

    /// Brings one right up to date at `now`: records a lock that has occurred, cancels an open
    /// request whose user has no path left or is deactivated, reschedules the sweep, and
    /// rewrites the facts the store keeps with the usage, if it keeps them. Returns
    /// (locks recorded, requests cancelled).
    pub(crate) async fn refresh_right(
        &self,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<(usize, usize)> {
        self.retry(|| async {
            let mut tx = self.load(user, resource, now).await?;
            // The facts kept with the usage follow the change, even where the usage does not.
            tx.rewrite = true;
            let done = self.settle(&mut tx, now).await?;
            self.commit_tx(tx, now).await?;
            Ok(done)
        })
        .await
    }

    /// The rights a refresh intent covers.
    pub(crate) async fn rights_in(
        &self,
        scope: &RefreshScope,
    ) -> Result<Vec<(UserId, ResourceId)>> {
        Ok(match scope {
            RefreshScope::User { user } => self
                .directory
                .resources_of_user(user)
                .await?
                .into_iter()
                .map(|r| (user.clone(), r))
                .collect(),
            RefreshScope::Resource { resource } => self
                .directory
                .users_of_resource(resource)
                .await?
                .into_iter()
                .map(|u| (u, resource.clone()))
                .collect(),
            RefreshScope::Grant { group, resource } => self
                .directory
                .members(group)
                .await?
                .into_iter()
                .map(|u| (u, resource.clone()))
                .collect(),
            RefreshScope::Membership { user, group } => {
                self.rights_through_group(user, group).await?
            }
            RefreshScope::Right { user, resource } => vec![(user.clone(), resource.clone())],
        })
    }

    /// Carries out a refresh intent at `now`: brings every right of its scope up to date, going
    /// on past a right that fails, and clears the intent when none failed. Returns the failures
    /// (`user/resource: error`); the intent then stays, for the tick to carry out again.
    pub(crate) async fn carry_out(
        &self,
        intent: &RefreshIntent,
        now: Timestamp,
    ) -> Result<Vec<String>> {
        let mut failures = Vec::new();
        for (user, resource) in self.rights_in(&intent.scope).await? {
            if let Err(e) = self.refresh_right(&user, &resource, now).await {
                failures.push(format!("{user}/{resource}: {e}"));
            }
        }
        if failures.is_empty() {
            self.commit
                .commit(Changeset {
                    refreshed: vec![intent.id.clone()],
                    ..Changeset::default()
                })
                .await?;
        }
        Ok(failures)
    }

    /// Carries out the pending refresh intents, up to `limit`: how many were, and the
    /// failures met.
    pub(crate) async fn carry_out_pending(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<(usize, Vec<String>)> {
        let pending = self.refreshes.pending_refreshes(limit).await?;
        let mut failures = Vec::new();
        for intent in &pending {
            failures.extend(self.carry_out(intent, now).await?);
        }
        Ok((pending.len(), failures))
    }

    pub(crate) async fn rights_through_group(
        &self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<Vec<(UserId, ResourceId)>> {
        let grants = self.directory.grants_of_group(group).await?;
        Ok(grants
            .into_iter()
            .map(|g| (user.clone(), g.resource))
            .collect())
    }

    /// Commits a directory change (with the domain events it records) and the intent to
    /// refresh the rights of `scope`, and returns the intent to carry out.
    pub(crate) async fn commit_refreshing(
        &self,
        change: DirectoryChange,
        events: Vec<DomainEvent>,
        scope: RefreshScope,
        now: Timestamp,
    ) -> Result<RefreshIntent> {
        let intent = RefreshIntent::new(scope, now);
        let mut changes = Changeset {
            directory: vec![change],
            refreshes: vec![intent.clone()],
            ..Changeset::default()
        };
        for event in events {
            changes.record(event, now);
        }
        self.commit.commit(changes).await?;
        Ok(intent)
    }

    /// Carries out the refresh intent of a change just committed. A failure leaves the intent
    /// for the tick: the change is made, and its rights are brought up to date there.
    pub(crate) async fn settle_after(&self, intent: &RefreshIntent, now: Timestamp) {
        let _ = self.carry_out(intent, now).await;
    }

    /// The silences as known at `now`, for the lock rule (none when the guard is off).
    pub(crate) async fn silences(&self, now: Timestamp) -> Result<Vec<Span>> {
        match self.options.feed_window() {
            Some(w) => Ok(self.settings.feed().await?.silences_at(w, now)),
            None => Ok(Vec::new()),
        }
    }
}
