//! Exemptions (docs/semantics.md §2.9): set, change, end early and list them (admins and DevOps
//! admins set them, reviewers read them), and record the ones that ran out. Every change is
//! audited and refreshes the rights it covers, so the sweep looks at them when it should.

use serde::Deserialize;

use crate::Timestamp;
use crate::ValidationError;
use crate::authz::{Capability, require};
use crate::directory::Principal;
use crate::error::{Conflict, Error, Result};
use crate::events::DomainEvent;
use crate::exemption::{Exemption, ExemptionChange, ExemptionFilter, check_until};
use crate::ids::{ExemptionId, GrantId, ResourceId, UserId};
use crate::ports::{Changeset, DirectoryChange, RefreshScope};
use crate::values::Reason;

use std::sync::Arc;

use super::engine::Engine;
use crate::ports::ExemptionReader;

/// What an exemption covers and until when, as asked for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExemption {
    /// The user, for an exemption of one right (with `resource`).
    #[serde(default)]
    #[serde(rename = "user_id")]
    pub user: Option<UserId>,
    /// The resource, for an exemption of one right (with `user`).
    #[serde(default)]
    #[serde(rename = "resource_id")]
    pub resource: Option<ResourceId>,
    /// The grant, for an exemption of every member's path through it.
    #[serde(default)]
    #[serde(rename = "grant_id")]
    pub grant: Option<GrantId>,
    /// When it ends: in the future, at most 90 days ahead.
    #[serde(deserialize_with = "crate::values::instant::deserialize")]
    pub until: chrono::DateTime<chrono::Utc>,
    /// Why (shown on the pages and in the audit log).
    pub reason: Reason,
}

/// Exemptions from auto-lock: set, moved, ended, listed, and recorded when they run out.
#[derive(Clone)]
pub struct Exemptions {
    pub(crate) engine: Engine,
    pub(crate) exemptions: Arc<dyn ExemptionReader>,
}

impl std::fmt::Debug for Exemptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exemptions").finish_non_exhaustive()
    }
}

impl Exemptions {
    pub(crate) fn new(engine: &Engine, exemptions: Arc<dyn ExemptionReader>) -> Self {
        Self {
            engine: engine.clone(),
            exemptions,
        }
    }
}

impl Exemptions {
    /// Sets an exemption (admin, DevOps admin) of one right (`user` and `resource`) or of one
    /// grant, from `now` until `until`. It never lifts a lock in force.
    pub async fn create_exemption(
        &self,
        actor: &Principal,
        new: NewExemption,
        now: Timestamp,
    ) -> Result<Exemption> {
        require(actor, Capability::Operate)?;
        check_until(new.until, now)?;
        let (resource, user, grant, group) = match (new.user, new.resource, new.grant) {
            (Some(user), Some(resource), None) => {
                self.engine.existing_user(&user).await?;
                self.engine.existing_resource(&resource).await?;
                (resource, Some(user), None, None)
            }
            (None, None, Some(grant)) => {
                let g = self.engine.current_grant_by_id(&grant).await?;
                (g.resource, None, Some(grant), Some(g.group))
            }
            _ => {
                return Err(ValidationError::new(
                    "grant",
                    "give either user and resource (one right) or grant (a whole grant)",
                )
                .into());
            }
        };
        self.not_own(actor, user.as_ref(), group.as_ref()).await?;
        let exemption = Exemption {
            id: ExemptionId::generate(),
            resource,
            user,
            grant,
            group,
            start: now,
            until: new.until,
            reason: new.reason,
            created_by: actor.id.clone(),
            ended_at: None,
            ended_by: None,
            closed: false,
            revision: 0,
        };
        let event = changed(ExemptionChange::Created, &exemption, None, Some(actor));
        let intent = self
            .engine
            .commit_refreshing(
                DirectoryChange::CreateExemption(exemption.clone()),
                vec![event],
                scope_of(&exemption),
                now,
            )
            .await?;
        self.engine.settle_after(&intent, now).await;
        Ok(exemption)
    }

    /// Moves the end of an exemption in force (admin, DevOps admin): a new `until`, in the
    /// future and at most 90 days ahead.
    pub async fn change_exemption(
        &self,
        actor: &Principal,
        id: &ExemptionId,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Exemption> {
        require(actor, Capability::Operate)?;
        check_until(until, now)?;
        let current = self.existing_exemption(id).await?;
        self.not_own(actor, current.user.as_ref(), current.group.as_ref())
            .await?;
        self.edit_exemption(id, now, |e| {
            let before = e.until;
            e.until = until;
            changed(ExemptionChange::Changed, e, Some(before), Some(actor))
        })
        .await
    }

    /// Ends an exemption in force now (admin, DevOps admin): from now on the grace rule runs.
    pub async fn end_exemption(
        &self,
        actor: &Principal,
        id: &ExemptionId,
        now: Timestamp,
    ) -> Result<Exemption> {
        require(actor, Capability::Operate)?;
        self.edit_exemption(id, now, |e| {
            e.ended_at = Some(now);
            e.ended_by = Some(actor.id.clone());
            e.closed = true;
            changed(ExemptionChange::Ended, e, None, Some(actor))
        })
        .await
    }

    async fn edit_exemption(
        &self,
        id: &ExemptionId,
        now: Timestamp,
        edit: impl Fn(&mut Exemption) -> DomainEvent,
    ) -> Result<Exemption> {
        let intent = self
            .engine
            .retry(|| async {
                let mut e = self.existing_exemption(id).await?;
                if !e.in_force_at(now) {
                    return Err(Error::Conflict(
                        Conflict::State,
                        format!("exemption {id} is not in force"),
                    ));
                }
                let event = edit(&mut e);
                let intent = self
                    .engine
                    .commit_refreshing(
                        DirectoryChange::UpdateExemption(e.clone()),
                        vec![event],
                        scope_of(&e),
                        now,
                    )
                    .await?;
                Ok(intent)
            })
            .await?;
        self.engine.settle_after(&intent, now).await;
        self.existing_exemption(id).await
    }

    /// An exemption (admins, DevOps admins, access reviewers).
    pub async fn exemption(&self, actor: &Principal, id: &ExemptionId) -> Result<Exemption> {
        require(actor, Capability::Review)?;
        self.existing_exemption(id).await
    }

    /// The exemptions of a resource, a user's rights or a group's grants, newest first; ended
    /// ones only with `include_ended` (admins, DevOps admins, access reviewers).
    pub async fn list_exemptions(
        &self,
        actor: &Principal,
        filter: &ExemptionFilter,
        include_ended: bool,
        now: Timestamp,
    ) -> Result<Vec<Exemption>> {
        require(actor, Capability::Review)?;
        let mut all = self.exemptions.exemptions(filter).await?;
        all.retain(|e| include_ended || now < e.end());
        all.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Records the exemptions that ran out by `now`, up to `limit` (the tick runs it): an audit
    /// entry at each one's end. Their rights need no refresh: the end was known when their
    /// schedules were computed.
    pub async fn close_run_out_exemptions(&self, now: Timestamp, limit: usize) -> Result<usize> {
        let run_out = self.exemptions.exemptions_run_out(now, limit).await?;
        let mut closed = 0;
        for mut e in run_out {
            e.closed = true;
            let mut changes = Changeset {
                directory: vec![DirectoryChange::UpdateExemption(e.clone())],
                ..Changeset::default()
            };
            changes.record(changed(ExemptionChange::Expired, &e, None, None), now);
            match self.engine.commit.commit(changes).await {
                Ok(()) => closed += 1,
                // Changed meanwhile (ended early, moved): the next tick looks again.
                Err(crate::error::StoreError::Conflict(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(closed)
    }

    /// Nobody exempts their own right, or a grant they hold a path through (as nobody unlocks
    /// themselves): an exemption of a right of `user`, or of a grant of `group`.
    async fn not_own(
        &self,
        actor: &Principal,
        user: Option<&UserId>,
        group: Option<&crate::ids::GroupId>,
    ) -> Result<()> {
        if user == Some(&actor.id) {
            return Err(Error::ForbiddenSelf(
                "nobody exempts their own right".into(),
            ));
        }
        if let Some(group) = group {
            if self
                .engine
                .directory
                .membership(&actor.id, group)
                .await?
                .is_some()
            {
                return Err(Error::ForbiddenSelf(format!(
                    "nobody exempts a grant they hold a path through: you are a member of {group}"
                )));
            }
        }
        Ok(())
    }

    async fn existing_exemption(&self, id: &ExemptionId) -> Result<Exemption> {
        self.exemptions
            .exemption(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("exemption {id}")))
    }
}

/// The rights an exemption covers.
fn scope_of(e: &Exemption) -> RefreshScope {
    match (&e.user, &e.group) {
        (Some(user), _) => RefreshScope::Right {
            user: user.clone(),
            resource: e.resource.clone(),
        },
        (None, Some(group)) => RefreshScope::Grant {
            group: group.clone(),
            resource: e.resource.clone(),
        },
        (None, None) => RefreshScope::Resource {
            resource: e.resource.clone(),
        },
    }
}

fn changed(
    change: ExemptionChange,
    e: &Exemption,
    until_before: Option<Timestamp>,
    by: Option<&Principal>,
) -> DomainEvent {
    DomainEvent::ExemptionChanged {
        change,
        exemption: Box::new(e.clone()),
        until_before,
        by: by.map(|p| p.id.clone()),
    }
}
