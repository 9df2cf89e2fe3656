//! Policies as code: every resource's default policy and every grant's override and expiry as
//! one document — exported, planned against what is in force (with the preview of who would
//! lock within 1, 7 and 30 days), applied idempotently through the same use cases as any edit,
//! each change audited as the caller (docs/semantics.md §7). The document manages what it
//! lists: a resource or grant it leaves out is left as it is (and named in the plan).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ValidationError;
use crate::authz::{Capability, may, require};
use crate::directory::Principal;
use crate::error::{Error, Result};
use crate::ids::{GrantId, GroupId, ResourceId, UserId};
use crate::policy::{
    ApprovalMode, AutoLockAfter, FieldPatch, OverridePatch, PolicyOverride, PolicyPatch,
};
use crate::ports::{Changeset, PageRequest, RefreshIntent, RefreshScope};

use super::PreviewTarget;
use super::policies::Policies;

/// The policies of resources and their grants.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// By resource id.
    #[serde(default)]
    pub resources: BTreeMap<ResourceId, ResourcePolicies>,
}

/// The comment a policy file starts with.
const FILE_HEADER: &str = "# autolock policies: each resource's default, its grants' overrides (a field left out\n\
# inherits the default) and expiries. `autolock policies plan FILE` shows what applying it\n\
# changes; `autolock policies apply FILE` applies it.\n";

/// The largest policy file read (the API's bodies are bounded alike).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// The most resources one document may name.
pub const MAX_DOCUMENT_RESOURCES: usize = 1_000;
/// The most grants one document may name, all resources together.
pub const MAX_DOCUMENT_GRANTS: usize = 10_000;

/// The YAML reader's bounds: no anchors, aliases or merge keys (a policy document never needs
/// them, and an alias expands its anchor again wherever it is used), a shallow nesting, and
/// as many nodes as a file of [`MAX_DOCUMENT_BYTES`] can hold.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_anchors = 0;
    budget.max_aliases = 0;
    budget.max_merge_keys = 0;
    budget.max_depth = 8;
    budget.max_documents = 1;
    budget.max_nodes = 100_000;
    budget.max_events = 250_000;
    budget.max_total_scalar_bytes = MAX_DOCUMENT_BYTES;
    budget.max_inclusion_depth = 0;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// What the YAML reader said, on one line: where, and what is wrong.
fn yaml_error(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let Some((place, what)) = first.split_once(": budget breached") else {
        return first.to_owned();
    };
    if what.contains("Alias") || what.contains("Anchor") || what.contains("Merge") {
        format!("{place}: anchors (&name) and aliases (*name) are not allowed in a policy file")
    } else {
        format!("{place}: the file is nested too deep or holds too much for a policy file")
    }
}

impl PolicyDocument {
    /// The document as a policy file (YAML).
    #[must_use]
    pub fn to_yaml(&self) -> String {
        let body = serde_saphyr::to_string(self).unwrap_or_default();
        format!("{FILE_HEADER}{body}")
    }

    /// A policy file (YAML, or JSON), read within bounds: at most [`MAX_DOCUMENT_BYTES`], no
    /// anchors or aliases, a shallow nesting, at most [`MAX_DOCUMENT_RESOURCES`] resources and
    /// [`MAX_DOCUMENT_GRANTS`] grants. What is wrong is named with its place in the file; a
    /// refused file costs no more than reading that much.
    pub fn from_yaml(text: &str) -> std::result::Result<Self, ValidationError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(ValidationError::new(
                "policies",
                format!(
                    "the file is {} bytes; a policy file holds at most {MAX_DOCUMENT_BYTES}",
                    text.len()
                ),
            ));
        }
        let doc: Self = serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|e| ValidationError::new("policies", yaml_error(&e.to_string())))?;
        doc.check_size()?;
        Ok(doc)
    }

    /// Whether the document names at most [`MAX_DOCUMENT_RESOURCES`] resources and
    /// [`MAX_DOCUMENT_GRANTS`] grants.
    pub fn check_size(&self) -> std::result::Result<(), ValidationError> {
        if self.resources.len() > MAX_DOCUMENT_RESOURCES {
            return Err(ValidationError::new(
                "resources",
                format!(
                    "the document names {} resources; at most {MAX_DOCUMENT_RESOURCES}",
                    self.resources.len()
                ),
            ));
        }
        let grants: usize = self.resources.values().map(|r| r.grants.len()).sum();
        if grants > MAX_DOCUMENT_GRANTS {
            return Err(ValidationError::new(
                "resources",
                format!("the document names {grants} grants; at most {MAX_DOCUMENT_GRANTS}"),
            ));
        }
        Ok(())
    }
}

/// A resource's default policy and its grants'.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePolicies {
    /// The default duration.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30d"))]
    pub auto_lock_after: AutoLockAfter,
    /// The default approval method.
    pub approval: ApprovalMode,
    /// By group id: the grants of the resource the document manages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<GroupId, GrantPolicies>,
}

/// A grant's override (a field left out inherits the resource's default) and expiry (left out:
/// none).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantPolicies {
    /// The duration it overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "90d"))]
    pub auto_lock_after: Option<AutoLockAfter>,
    /// The approval method it overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalMode>,
    /// When the group's access ends.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::values::instant::option"
    )]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One field that changes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `auto_lock_after`, `approval` or `expires_at`.
    pub field: &'static str,
    /// As it is (`inherit` for a grant field that inherits, `none` for no expiry).
    pub before: String,
    /// As the document has it.
    pub after: String,
}

/// What changes on one resource's default or one grant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetChange {
    pub resource: ResourceId,
    /// The grant's group, for a grant; none for the resource's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    pub changes: Vec<FieldChange>,
    /// Who would lock within a day of the change without further use (by the preview).
    pub lock_within_1_day: Vec<UserId>,
    /// Within 7 days.
    pub lock_within_7_days: Vec<UserId>,
    /// Within 30 days.
    pub lock_within_30_days: Vec<UserId>,
}

/// What applying a document changes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyPlan {
    /// The changes, resource by resource, its default first.
    pub changes: Vec<TargetChange>,
    /// Grants in force the document does not list (`resource/group`): left as they are.
    pub unmanaged: Vec<String>,
    /// Whether the changes were made (`apply`) or only planned.
    pub applied: bool,
}

/// A field's value as the plan shows it.
fn text<T: ToString>(v: Option<T>, none: &str) -> String {
    v.map_or_else(|| none.to_owned(), |v| v.to_string())
}

fn instant(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A grant field as the document has it: a value overrides, none inherits.
fn field_patch<T>(v: Option<T>) -> FieldPatch<T> {
    v.map_or(FieldPatch::Inherit, FieldPatch::Set)
}

/// One target's edits, to apply.
struct Edits {
    resource: Option<PolicyPatch>,
    grant: Option<(GrantId, OverridePatch)>,
    expiry: Option<(GrantId, Option<Timestamp>)>,
}

impl Policies {
    /// A policy file sent by `actor` to plan or apply, read only once `actor` may edit policies
    /// (admins, DevOps admins): whoever may not is refused before a byte of it is parsed.
    pub fn read_policy_file(&self, actor: &Principal, text: &str) -> Result<PolicyDocument> {
        self.may_send_policies(actor)?;
        Ok(PolicyDocument::from_yaml(text)?)
    }

    /// Refuses `actor` unless they may plan and apply policy documents (admins, DevOps admins):
    /// a surface that reads a document in another form asks this first, before reading it.
    pub fn may_send_policies(&self, actor: &Principal) -> Result<()> {
        require(actor, Capability::Operate)
    }

    /// Every resource's default policy and its grants' overrides and expiries (approvers).
    pub async fn export_policies(&self, actor: &Principal) -> Result<PolicyDocument> {
        require(actor, Capability::Review)?;
        let mut doc = PolicyDocument::default();
        let mut page = PageRequest::first(1000);
        loop {
            let resources = self.directory.resources(actor, &page).await?;
            for r in resources.items {
                let grants = self
                    .directory
                    .grants_of_resource(actor, &r.id)
                    .await?
                    .into_iter()
                    .map(|g| {
                        let o = g.policy_override;
                        (
                            g.group_id,
                            GrantPolicies {
                                auto_lock_after: o.auto_lock_after,
                                approval: o.approval,
                                expires_at: g.expires_at,
                            },
                        )
                    })
                    .collect();
                doc.resources.insert(
                    r.id,
                    ResourcePolicies {
                        auto_lock_after: r.policy.auto_lock_after,
                        approval: r.policy.approval,
                        grants,
                    },
                );
            }
            match resources.next {
                Some(next) => page.after = Some(next),
                None => return Ok(doc),
            }
        }
    }

    /// What applying `doc` would change at `now`, nothing changed (admins, DevOps admins). A
    /// resource or grant the document names that does not exist, or an expiry not in the
    /// future, is refused naming it.
    pub async fn plan_policies(
        &self,
        actor: &Principal,
        doc: &PolicyDocument,
        now: Timestamp,
    ) -> Result<PolicyPlan> {
        Ok(self.planned(actor, doc, now).await?.0)
    }

    /// The plan of `doc` and the edits that make it, read once for planning and applying.
    async fn planned(
        &self,
        actor: &Principal,
        doc: &PolicyDocument,
        now: Timestamp,
    ) -> Result<(PolicyPlan, Vec<(ResourceId, Edits)>)> {
        require(actor, Capability::Operate)?;
        doc.check_size()?;
        let mut plan = PolicyPlan::default();
        let mut all = Vec::new();
        for (id, edits, mut change) in self.diff(doc, now, &mut plan.unmanaged).await? {
            let target = match (edits.resource, &edits.grant) {
                (Some(patch), _) => Some(PreviewTarget::Resource(id.clone(), patch)),
                (None, Some((grant, patch))) => Some(PreviewTarget::Grant(grant.clone(), *patch)),
                _ => None,
            };
            if let Some(target) = target {
                let p = self.preview(actor, &target, now).await?;
                let users = |l: Vec<super::PreviewLock>| l.into_iter().map(|x| x.user).collect();
                change.lock_within_1_day = users(p.within_1_day);
                change.lock_within_7_days = users(p.within_7_days);
                change.lock_within_30_days = users(p.within_30_days);
            }
            plan.changes.push(change);
            all.push((id, edits));
        }
        Ok((plan, all))
    }

    /// Applies `doc` at `now` (admins, DevOps admins; an expiry change needs an admin): each
    /// change through the use case that makes it, audited as `actor`. Applying it again
    /// changes nothing. The document is checked whole before the first change.
    pub async fn apply_policies(
        &self,
        actor: &Principal,
        doc: &PolicyDocument,
        now: Timestamp,
    ) -> Result<PolicyPlan> {
        let (mut plan, edits) = self.planned(actor, doc, now).await?;
        // Refused whole rather than half applied: an expiry is an admin's to change.
        if edits.iter().any(|(_, e)| e.expiry.is_some()) && !may(actor, Capability::Administer) {
            return Err(Error::Forbidden(
                "changing a grant's expiry needs an admin; nothing was applied".into(),
            ));
        }
        drop(edits);
        // Every change of the document in one commit, computed from a fresh read (again when it
        // meets a concurrent change): applied whole or not at all.
        let intents = self
            .engine
            .retry(|| async {
                let mut unmanaged = Vec::new();
                let edits = self.diff(doc, now, &mut unmanaged).await?;
                let mut changes = Changeset::default();
                let mut intents = Vec::new();
                // A resource's default as the document leaves it, for its grants' entries.
                let mut defaults = BTreeMap::new();
                for (id, edits, _) in edits {
                    let mut resource = self.engine.existing_resource(&id).await?;
                    if let Some(policy) = defaults.get(&id) {
                        resource.policy = *policy;
                    }
                    let mut scope = None;
                    if let Some(patch) = edits.resource {
                        let after = patch.apply(resource.policy);
                        if let Some((change, event)) =
                            super::policies::resource_edit(actor, &resource, after, now)
                        {
                            changes.directory.push(change);
                            changes.record(event, now);
                            scope = Some(RefreshScope::Resource {
                                resource: id.clone(),
                            });
                        }
                        resource.policy = after;
                        defaults.insert(id.clone(), after);
                    }
                    let grant_id = edits
                        .grant
                        .as_ref()
                        .map(|(g, _)| g)
                        .or(edits.expiry.as_ref().map(|(g, _)| g));
                    if let Some(grant_id) = grant_id {
                        let grant = self.engine.current_grant_by_id(grant_id).await?;
                        let policy_override = edits
                            .grant
                            .map(|(_, patch)| patch.apply(grant.current_override()));
                        let expires_at = edits.expiry.map(|(_, e)| e);
                        if let Some((change, events)) = super::policies::grant_edit(
                            actor,
                            &grant,
                            resource.policy,
                            policy_override,
                            expires_at,
                            now,
                        ) {
                            changes.directory.push(change);
                            for event in events {
                                changes.record(event, now);
                            }
                            scope.get_or_insert_with(|| super::directory::grant_scope(&grant));
                        }
                    }
                    if let Some(scope) = scope {
                        let intent = RefreshIntent::new(scope, now);
                        changes.refreshes.push(intent.clone());
                        intents.push(intent);
                    }
                }
                if !changes.is_empty() {
                    self.engine.commit_changes(changes).await?;
                }
                Ok(intents)
            })
            .await?;
        for intent in &intents {
            self.engine.settle_after(intent, now).await;
        }
        plan.applied = true;
        Ok(plan)
    }

    /// The edits `doc` makes on what is in force, target by target.
    async fn diff(
        &self,
        doc: &PolicyDocument,
        now: Timestamp,
        unmanaged: &mut Vec<String>,
    ) -> Result<Vec<(ResourceId, Edits, TargetChange)>> {
        let mut out = Vec::new();
        for (id, wanted) in &doc.resources {
            let field = |rest: &str| format!("resources.{id}{rest}");
            let resource = self.engine.directory.resource(id).await?.ok_or_else(|| {
                Error::from(ValidationError::new(field(""), format!("no resource {id}")))
            })?;
            let target = |group: Option<GroupId>, changes| TargetChange {
                resource: id.clone(),
                group,
                changes,
                lock_within_1_day: Vec::new(),
                lock_within_7_days: Vec::new(),
                lock_within_30_days: Vec::new(),
            };
            let now_policy = resource.policy;
            let mut changes = Vec::new();
            if now_policy.auto_lock_after != wanted.auto_lock_after {
                changes.push(FieldChange {
                    field: "auto_lock_after",
                    before: now_policy.auto_lock_after.to_string(),
                    after: wanted.auto_lock_after.to_string(),
                });
            }
            if now_policy.approval != wanted.approval {
                changes.push(FieldChange {
                    field: "approval",
                    before: now_policy.approval.as_str().to_owned(),
                    after: wanted.approval.as_str().to_owned(),
                });
            }
            if !changes.is_empty() {
                let patch = PolicyPatch {
                    auto_lock_after: Some(wanted.auto_lock_after),
                    approval: Some(wanted.approval),
                };
                let edits = Edits {
                    resource: Some(patch),
                    grant: None,
                    expiry: None,
                };
                out.push((id.clone(), edits, target(None, changes)));
            }
            let grants = self.engine.directory.grants_of_resource(id).await?;
            for g in &grants {
                if !wanted.grants.contains_key(&g.group) {
                    unmanaged.push(format!("{id}/{}", g.group));
                }
            }
            for (group, w) in &wanted.grants {
                let grant = grants.iter().find(|g| &g.group == group).ok_or_else(|| {
                    Error::from(ValidationError::new(
                        field(&format!(".grants.{group}")),
                        format!("group {group} has no access to {id}"),
                    ))
                })?;
                let current = grant.current_override();
                let want = PolicyOverride {
                    auto_lock_after: w.auto_lock_after,
                    approval: w.approval,
                };
                let mut changes = Vec::new();
                if current.auto_lock_after != want.auto_lock_after {
                    changes.push(FieldChange {
                        field: "auto_lock_after",
                        before: text(current.auto_lock_after, "inherit"),
                        after: text(want.auto_lock_after, "inherit"),
                    });
                }
                if current.approval != want.approval {
                    changes.push(FieldChange {
                        field: "approval",
                        before: text(current.approval.map(ApprovalMode::as_str), "inherit"),
                        after: text(want.approval.map(ApprovalMode::as_str), "inherit"),
                    });
                }
                let override_changes = !changes.is_empty();
                let expiry = grant.current_expiry();
                let expiry_changes = expiry != w.expires_at;
                if expiry_changes {
                    if w.expires_at.is_some_and(|e| e <= now) {
                        return Err(ValidationError::new(
                            field(&format!(".grants.{group}.expires_at")),
                            "must lie in the future",
                        )
                        .into());
                    }
                    changes.push(FieldChange {
                        field: "expires_at",
                        before: text(instant(expiry), "none"),
                        after: text(instant(w.expires_at), "none"),
                    });
                }
                if changes.is_empty() {
                    continue;
                }
                let edits = Edits {
                    resource: None,
                    grant: override_changes.then(|| {
                        let p = OverridePatch {
                            auto_lock_after: field_patch(want.auto_lock_after),
                            approval: field_patch(want.approval),
                        };
                        (grant.id.clone(), p)
                    }),
                    expiry: expiry_changes.then(|| (grant.id.clone(), w.expires_at)),
                };
                out.push((id.clone(), edits, target(Some(group.clone()), changes)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One anchor, `n` aliases of it: each alias would expand to the anchor's grants again.
    fn alias_bomb(n: usize) -> String {
        let mut text = String::from(
            "resources:\n  gitlab:\n    auto_lock_after: 7d\n    approval: manual\n    grants: &g\n",
        );
        for i in 0..20 {
            text.push_str(&format!("      g{i}: {{auto_lock_after: 30d}}\n"));
        }
        for i in 0..n {
            text.push_str(&format!(
                "  r{i}: {{auto_lock_after: 7d, approval: manual, grants: *g}}\n"
            ));
        }
        text
    }

    #[test]
    fn a_policy_file_round_trips_through_yaml() {
        let doc: PolicyDocument = serde_json::from_value(serde_json::json!({"resources": {
            "gitlab": {"auto_lock_after": "7d", "approval": "manual",
                       "grants": {"eng": {"auto_lock_after": "30d", "expires_at": "2026-06-01T00:00:00Z"},
                                  "ops": {}}},
            "wiki": {"auto_lock_after": "never", "approval": "automatic"}
        }}))
        .unwrap();
        let text = doc.to_yaml();
        assert!(text.starts_with("# autolock policies"), "{text}");
        assert_eq!(PolicyDocument::from_yaml(&text).unwrap(), doc, "{text}");
        // JSON is read too.
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(PolicyDocument::from_yaml(&json).unwrap(), doc);
    }

    #[test]
    fn anchors_and_aliases_are_refused_at_once_naming_why() {
        let text = alias_bomb(1_800);
        assert!(text.len() < MAX_DOCUMENT_BYTES, "{} bytes", text.len());
        let started = std::time::Instant::now();
        let e = PolicyDocument::from_yaml(&text).unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "refused in {:?}",
            started.elapsed()
        );
        assert_eq!(e.field, "policies");
        assert!(
            e.message.contains("aliases (*name) are not allowed"),
            "{}",
            e.message
        );
        assert!(e.message.starts_with("line 6 column 7"), "{}", e.message);
        // One anchor alone is refused too: a policy file never needs one.
        let e = PolicyDocument::from_yaml(
            "resources:\n  gitlab: &d\n    auto_lock_after: 7d\n    approval: manual\n",
        )
        .unwrap_err();
        assert!(e.message.contains("anchors (&name)"), "{}", e.message);
    }

    #[test]
    fn size_depth_and_the_number_of_entries_are_bounded() {
        let big = format!("# {}\nresources: {{}}\n", "x".repeat(MAX_DOCUMENT_BYTES));
        let e = PolicyDocument::from_yaml(&big).unwrap_err();
        assert!(e.message.contains("at most"), "{}", e.message);

        // Deep nesting is refused: by the reader's depth bound, or sooner by the document's shape.
        let deep = format!("resources: {}{}", "[".repeat(4000), "]".repeat(4000));
        assert!(PolicyDocument::from_yaml(&deep).is_err());

        let mut many = String::from("resources:\n");
        for i in 0..=MAX_DOCUMENT_RESOURCES {
            many.push_str(&format!(
                "  r{i}: {{auto_lock_after: 7d, approval: manual}}\n"
            ));
        }
        let e = PolicyDocument::from_yaml(&many).unwrap_err();
        assert_eq!(e.field, "resources");
        assert!(e.message.contains("at most 1000"), "{}", e.message);
    }
}
