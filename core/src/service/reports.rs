//! Reports, analytics and the audit log (docs/semantics.md §5). A
//! report is read a page of rights at a time, so that memory stays flat however many rights it
//! covers.

use std::collections::HashMap;

use serde::Serialize;

use crate::Timestamp;
use crate::ValidationError;
use crate::audit::{AuditAction, AuditEntry, AuditFilter};
use crate::authz::{Capability, require};
use crate::directory::{Principal, Resource};
use crate::error::Result;
use crate::ids::{GroupId, RequestId, ResourceId, UserId};
use crate::ports::{Page, PageRequest, RequestFilter, UserRight};
use crate::report::{ReportRow, group_row, rows};
use crate::request::RequestStatus;

use std::sync::Arc;

use super::engine::Engine;
use super::right_tx::RightTx;
use crate::ports::{AuditReader, ReportReader};

/// How many rights a page of a report covers.
pub const REPORT_PAGE: u32 = 1000;

/// An auto-approved request, with its reason.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoApproved {
    pub request: RequestId,
    /// The requester.
    pub user: UserId,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Why.
    pub reason: String,
}

/// Analytics of a resource over a window.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analytics {
    pub resource: ResourceId,
    /// The window's start.
    pub from: chrono::DateTime<chrono::Utc>,
    /// The window's end (excluded).
    pub to: chrono::DateTime<chrono::Utc>,
    /// Locks recorded in the window.
    pub locks: usize,
    /// Requests filed in the window, by status.
    pub requests_by_outcome: std::collections::BTreeMap<&'static str, usize>,
    /// The auto-approved ones, with reasons.
    pub auto_approved: Vec<AutoApproved>,
    /// Median seconds from filing to a person's approval or denial.
    pub median_seconds_to_resolution: Option<i64>,
}

/// What a report is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    /// Every right on a resource.
    Resource(ResourceId),
    /// Every right through a group.
    Group(GroupId),
    /// Every right of a user.
    User(UserId),
}

/// A page of a report's rows, and the cursor of the next page when there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPage {
    pub rows: Vec<ReportRow>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

/// Reports, analytics, the audit log and their downloads.
#[derive(Clone)]
pub struct Reports {
    pub(crate) engine: Engine,
    pub(crate) reports: Arc<dyn ReportReader>,
    pub(crate) audit: Arc<dyn AuditReader>,
}

impl std::fmt::Debug for Reports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reports").finish_non_exhaustive()
    }
}

impl Reports {
    pub(crate) fn new(
        engine: &Engine,
        reports: Arc<dyn ReportReader>,
        audit: Arc<dyn AuditReader>,
    ) -> Self {
        Self {
            engine: engine.clone(),
            reports,
            audit,
        }
    }
}

impl Reports {
    /// One page of a report (approvers): the rows of a page of the rights in scope, from the
    /// cursor `after` on; the last page adds the groups in scope that have access and no
    /// members. `NotFound` when the object does not exist.
    pub async fn report_page(
        &self,
        actor: &Principal,
        scope: &ReportScope,
        after: Option<String>,
        now: Timestamp,
    ) -> Result<ReportPage> {
        require(actor, Capability::Review)?;
        let page = PageRequest {
            after,
            limit: REPORT_PAGE,
        };
        let rights = self.report_rights(scope, page).await?;
        let mut resources: HashMap<ResourceId, Resource> = HashMap::new();
        let mut out = Vec::new();
        let silences = self.engine.silences(now).await?;
        for read in rights.items {
            let resource_id = &read.facts.resource;
            if !resources.contains_key(resource_id) {
                let Some(r) = self.engine.directory.resource(resource_id).await? else {
                    continue;
                };
                resources.insert(resource_id.clone(), r);
            }
            let resource = &resources[resource_id];
            let user = read.user;
            let tx = RightTx::read((read.facts, read.usage), &silences);
            let mut right_rows = rows(&tx.right, &tx.usage, &user, resource, now);
            if let ReportScope::Group(g) = scope {
                right_rows.retain(|r| r.group_id == g.as_str());
            }
            out.extend(right_rows);
        }
        if rights.next.is_none() {
            out.extend(self.memberless_group_rows(scope, now).await?);
        }
        Ok(ReportPage {
            rows: out,
            next: rights.next,
        })
    }

    /// A page of the rights a report covers, each with its user (a right whose user no longer
    /// exists is left out): a resource's by its users, a group's by its members (each page
    /// about [`REPORT_PAGE`] rights: that many members' rights on each of its resources), a
    /// user's by resource.
    async fn report_rights(
        &self,
        scope: &ReportScope,
        page: PageRequest,
    ) -> Result<Page<UserRight>> {
        let first = page.after.is_none();
        let (rights, next) = match scope {
            ReportScope::Resource(r) => {
                if first {
                    self.engine.existing_resource(r).await?;
                }
                return Ok(self.reports.resource_rights_page(r, &page).await?);
            }
            ReportScope::Group(g) => {
                if first {
                    self.engine.existing_group(g).await?;
                }
                let resources: Vec<ResourceId> = self
                    .engine
                    .directory
                    .grants_of_group(g)
                    .await?
                    .into_iter()
                    .map(|gr| gr.resource)
                    .collect();
                let per_page =
                    (page.limit / u32::try_from(resources.len().max(1)).unwrap_or(u32::MAX)).max(1);
                let members = self
                    .engine
                    .directory
                    .members_page(
                        g,
                        &PageRequest {
                            limit: per_page,
                            ..page
                        },
                    )
                    .await?;
                let rights = members
                    .items
                    .iter()
                    .flat_map(|u| resources.iter().map(move |r| (u.clone(), r.clone())))
                    .collect::<Vec<_>>();
                (rights, members.next)
            }
            ReportScope::User(u) => {
                if first {
                    self.engine.existing_user(u).await?;
                }
                let mut resources = self.engine.directory.resources_of_user(u).await?;
                resources.sort_unstable();
                resources.dedup();
                let resources = Page::of_sorted(resources, &page, ResourceId::as_str);
                let rights = resources
                    .items
                    .into_iter()
                    .map(|r| (u.clone(), r))
                    .collect();
                (rights, resources.next)
            }
        };
        Ok(Page {
            items: self.reports.user_rights(&rights).await?,
            next,
        })
    }

    /// The rows of the groups in scope that have access and no members: their access and
    /// policy without a user, so that every group with access shows in a report.
    async fn memberless_group_rows(
        &self,
        scope: &ReportScope,
        now: Timestamp,
    ) -> Result<Vec<ReportRow>> {
        let grants = match scope {
            ReportScope::Resource(r) => self.engine.directory.grants_of_resource(r).await?,
            ReportScope::Group(g) => self.engine.directory.grants_of_group(g).await?,
            ReportScope::User(_) => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        for grant in grants {
            if !grant.gives_access_at(now)
                || self.engine.directory.has_members(&grant.group).await?
            {
                continue;
            }
            if let Some(resource) = self.engine.directory.resource(&grant.resource).await? {
                out.push(group_row(&grant, &resource, now));
            }
        }
        Ok(out)
    }

    /// A page of the audit log, oldest first (admin, DevOps admin).
    pub async fn audit(
        &self,
        actor: &Principal,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>> {
        require(actor, Capability::Operate)?;
        Ok(self.audit.audit(filter, page).await?)
    }

    /// Analytics of a resource over `[from, to)`, at most 90 days (approvers): locks, requests by
    /// outcome, auto-approved requests with their reasons, median time to a person's
    /// resolution.
    pub async fn analytics(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Analytics> {
        require(actor, Capability::Review)?;
        self.engine.existing_resource(resource).await?;
        if to <= from || to - from > chrono::Duration::days(90) {
            return Err(ValidationError::new(
                "from",
                "the window must be longer than zero and at most 90 days",
            )
            .into());
        }
        let mut locks = 0;
        let filter = AuditFilter {
            from: Some(from),
            to: Some(to),
            actor: None,
            target: Some(resource.to_string()),
            action: Some(AuditAction::Locked),
        };
        let mut page = PageRequest::first(1000);
        loop {
            let p = self.audit.audit(&filter, &page).await?;
            locks += p
                .items
                .iter()
                .filter(|e| e.resource.as_ref() == Some(resource))
                .count();
            match p.next {
                Some(n) => page.after = Some(n),
                None => break,
            }
        }
        let rf = RequestFilter {
            user: None,
            resource: Some(resource.clone()),
        };
        let mut requests = Vec::new();
        for open in [true, false] {
            let mut page = PageRequest::first(1000);
            loop {
                let p = if open {
                    self.engine.requests.open_requests(&rf, &page).await?
                } else {
                    self.engine
                        .requests
                        .resolved_requests(from, &rf, &page)
                        .await?
                };
                requests.extend(
                    p.items
                        .into_iter()
                        .filter(|r| r.requested_at >= from && r.requested_at < to),
                );
                match p.next {
                    Some(n) => page.after = Some(n),
                    None => break,
                }
            }
        }
        let mut by_outcome = std::collections::BTreeMap::new();
        for r in &requests {
            *by_outcome.entry(r.status.as_str()).or_insert(0usize) += 1;
        }
        let auto_approved = requests
            .iter()
            .filter(|r| r.status == RequestStatus::AutoApproved)
            .map(|r| AutoApproved {
                request: r.id.clone(),
                user: r.user.clone(),
                at: r.requested_at,
                reason: r.reason.as_str().to_owned(),
            })
            .collect();
        let mut durations: Vec<i64> = requests
            .iter()
            .filter(|r| matches!(r.status, RequestStatus::Approved | RequestStatus::Denied))
            .filter_map(|r| r.resolved_at.map(|at| (at - r.requested_at).num_seconds()))
            .collect();
        durations.sort_unstable();
        let median = match durations.len() {
            0 => None,
            n if n % 2 == 1 => Some(durations[n / 2]),
            n => Some((durations[n / 2 - 1] + durations[n / 2]) / 2),
        };
        Ok(Analytics {
            resource: resource.clone(),
            from,
            to,
            locks,
            requests_by_outcome: by_outcome,
            auto_approved,
            median_seconds_to_resolution: median,
        })
    }
}
