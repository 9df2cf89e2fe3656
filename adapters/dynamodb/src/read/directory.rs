//! The directory, read: principals (with their active-flag history), groups, resources,
//! grants with their history, memberships, and the facts of a right.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use autolock_core::Timestamp;
use autolock_core::directory::{
    Grant, Group, PathFacts, Principal, ProvisionedKind, ProvisionedRecord, Resource, RightFacts,
    ServicePrincipal, Span, Timed, User,
};
use autolock_core::error::StoreError;
use autolock_core::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::policy::{Policy, PolicyOverride};
use autolock_core::ports::{DirectoryReader, Page, PageRequest, StoreResult};
use autolock_core::values::{Email, Role};

use crate::client::Q;
use crate::item::*;
use crate::{DynamoStore, keys};

impl DynamoStore {
    /// At least the first `limit + 1` distinct users after `after` (or all there are) in the
    /// group's `GM#` index partition, read in user order a page at a time; with `current`, only
    /// those whose membership has not ended.
    async fn group_users_after(
        &self,
        group: &str,
        after: &str,
        limit: usize,
        current: bool,
    ) -> StoreResult<BTreeSet<String>> {
        let q = Q::on(&self.tables.policies, "gsi1pk = :pk AND gsi1sk > :after")
            .index("gsi1")
            .value(":pk", s(format!("GM#{group}")))
            .value(":after", s(format!("{after}#~")));
        let mut users = BTreeSet::new();
        let mut from = None;
        loop {
            let p = self
                .page(&q, from, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                .await?;
            for i in p
                .items
                .iter()
                .filter(|i| !current || !i.contains_key("end_us"))
            {
                users.insert(get_s(i, "user")?.to_owned());
            }
            if users.len() > limit || p.last.is_none() {
                return Ok(users);
            }
            from = p.last;
        }
    }

    pub(crate) async fn grant_by_id(&self, id: &str) -> StoreResult<Option<Grant>> {
        let items = self
            .query_all(Q::on(&self.tables.policies, "pk = :pk").value(":pk", s(keys::grant(id))))
            .await?;
        let Some(head) = items
            .iter()
            .find(|i| get_s(i, "sk").is_ok_and(|sk| sk == "GR"))
        else {
            return Ok(None);
        };
        let mut grant: Grant = doc(head)?;
        grant.span.end = get_n(head, "end_us").map(instant).transpose()?;
        grant.revision = revision_of(head)?;
        grant.expiry.clear();
        grant.overrides.clear();
        for i in &items {
            let sk = get_s(i, "sk")?;
            let at = get_n(i, "at_us").map(instant).transpose()?;
            if sk.starts_with("EXP#") {
                let value: Option<Timestamp> = doc(i)?;
                grant.expiry.push(Timed {
                    at: at.unwrap_or(grant.span.start),
                    value,
                });
            } else if sk.starts_with("OVR#") {
                let value: PolicyOverride = doc(i)?;
                grant.overrides.push(Timed {
                    at: at.unwrap_or(grant.span.start),
                    value,
                });
            }
        }
        Ok(Some(grant))
    }

    /// (group, grant id, ended) of the grants listed under a partition (`G#..` or `R#..`).
    pub(crate) async fn grant_refs(&self, pk: String) -> StoreResult<Vec<(String, String, bool)>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(pk))
                    .value(":p", s("GRANT#")),
            )
            .await?;
        items.iter().map(grant_ref).collect()
    }

    pub(crate) async fn current_grants(&self, pk: String) -> StoreResult<Vec<Grant>> {
        let mut out = Vec::new();
        for (_, id, ended) in self.grant_refs(pk).await? {
            if !ended {
                out.extend(
                    self.grant_by_id(&id)
                        .await?
                        .filter(|g| g.span.end.is_none()),
                );
            }
        }
        Ok(out)
    }

    /// The history of a user's active flag: the `ACT#` items of the user's partition, read with
    /// the user's own item in one query. Empty when the user does not exist.
    pub(crate) async fn activity_of(&self, user: &UserId) -> StoreResult<Vec<Timed<bool>>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk")
                    .value(":pk", s(keys::principal(user.as_str()))),
            )
            .await?;
        let mut history = Vec::new();
        let mut current = None;
        for i in &items {
            let sk = get_s(i, "sk")?;
            if sk == "P" {
                if get_s(i, "kind")? == "user" {
                    let u = user_doc(i)?;
                    current = Some((u.created_at, u.active));
                }
            } else if sk.starts_with("ACT#") {
                let at = instant(get_n(i, "at_us").unwrap_or_default())?;
                let active = matches!(i.get("active"), Some(AttributeValue::Bool(true)));
                history.push(Timed { at, value: active });
            }
        }
        match current {
            None => Ok(Vec::new()),
            // Users written before the history was kept: their flag since their creation.
            Some((created, active)) if history.is_empty() => Ok(vec![Timed {
                at: created,
                value: active,
            }]),
            Some(_) => Ok(history),
        }
    }

    /// The user's membership spans, by group.
    pub(crate) async fn memberships_of(
        &self,
        user: &str,
    ) -> StoreResult<HashMap<String, Vec<Span>>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(keys::user(user)))
                    .value(":p", s("M#")),
            )
            .await?;
        let mut by_group: HashMap<String, Vec<Span>> = HashMap::new();
        for i in &items {
            let group = get_s(i, "group")?.to_owned();
            let start = instant(get_n(i, "start_us").unwrap_or_default())?;
            let end = get_n(i, "end_us").map(instant).transpose()?;
            by_group.entry(group).or_default().push(Span { start, end });
        }
        for spans in by_group.values_mut() {
            spans.sort_by_key(|sp| sp.start);
        }
        Ok(by_group)
    }

    pub(crate) async fn list_type<T>(
        &self,
        kind: &str,
        page: &PageRequest,
        decode: fn(&Item) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let limit = page.effective_limit();
        let q = match &page.after {
            Some(after) => Q::on(&self.tables.policies, "gsi1pk = :pk AND gsi1sk > :after")
                .value(":after", s(after.clone())),
            None => Q::on(&self.tables.policies, "gsi1pk = :pk"),
        }
        .index("gsi1")
        .value(":pk", s(kind));
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let p = self
                .page(&q, start, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                .await?;
            items.extend(p.items);
            if items.len() > limit || p.last.is_none() {
                break;
            }
            start = p.last;
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items
                .last()
                .map(|i| get_s(i, "gsi1sk").map(str::to_owned))
                .transpose()?
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(decode).collect::<StoreResult<_>>()?,
            next,
        })
    }
}

#[async_trait]
impl DirectoryReader for DynamoStore {
    async fn provisioned(
        &self,
        kind: ProvisionedKind,
        id: &str,
    ) -> StoreResult<Option<ProvisionedRecord>> {
        self.get(
            &self.tables.policies,
            key(keys::provisioned(kind.as_str()), id),
        )
        .await?
        .as_ref()
        .map(doc)
        .transpose()
    }

    async fn provisioned_user_named(
        &self,
        name_key: &str,
    ) -> StoreResult<Option<ProvisionedRecord>> {
        // The name's item names the user's record: two reads. A record renamed between them
        // no longer has the name, and is not the answer.
        let Some(name) = self
            .get(
                &self.tables.policies,
                key(keys::PROVISIONED_NAMES, name_key),
            )
            .await?
        else {
            return Ok(None);
        };
        let id = get_s(&name, "id")?;
        Ok(self
            .provisioned(ProvisionedKind::User, id)
            .await?
            .filter(|r| r.user_name_key().as_deref() == Some(name_key)))
    }

    async fn provisioned_all(&self, kind: ProvisionedKind) -> StoreResult<Vec<ProvisionedRecord>> {
        let q = Q::on(&self.tables.policies, "pk = :pk")
            .value(":pk", s(keys::provisioned(kind.as_str())));
        self.query_all(q).await?.iter().map(doc).collect()
    }

    async fn principal(&self, id: &PrincipalId) -> StoreResult<Option<Principal>> {
        let Some(i) = self
            .get(
                &self.tables.policies,
                key(keys::principal(id.as_str()), "P"),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(if get_s(&i, "kind")? == "user" {
            let u = user_doc(&i)?;
            Principal {
                id: u.id,
                role: u.role,
                active: u.active,
            }
        } else {
            let sp = service_principal_doc(&i)?;
            Principal {
                id: id.clone(),
                role: sp.role,
                active: sp.active,
            }
        }))
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let i = self
            .get(
                &self.tables.policies,
                key(keys::principal(id.as_str()), "P"),
            )
            .await?;
        match i {
            Some(i) if get_s(&i, "kind")? == "user" => Ok(Some(user_doc(&i)?)),
            _ => Ok(None),
        }
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        // The address's partition, by key: its first user by id (as SQLite answers).
        let found = self
            .page(
                &Q::on(&self.tables.policies, "pk = :pk")
                    .value(":pk", s(keys::email(email.as_str()))),
                None,
                Some(1),
            )
            .await?;
        let Some(id) = found.items.first().map(|i| get_s(i, "user")).transpose()? else {
            return Ok(None);
        };
        let id = UserId::parse(id).map_err(|e| StoreError::from(DynamoError::Value(e)))?;
        self.user(&id).await
    }

    async fn user_of_sign_in_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        self.get(
            &self.tables.policies,
            key(keys::sign_in_identity(issuer), subject),
        )
        .await?
        .map(|i| {
            UserId::parse(get_s(&i, "user")?).map_err(|e| StoreError::from(DynamoError::Value(e)))
        })
        .transpose()
    }

    async fn users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        self.list_type("USERS", page, user_doc).await
    }

    async fn active_users_with_roles(&self, roles: &[Role]) -> StoreResult<Vec<User>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "gsi1pk = :pk")
                    .index("gsi1")
                    .value(":pk", s("USERS")),
            )
            .await?;
        let users: Vec<User> = items.iter().map(user_doc).collect::<StoreResult<_>>()?;
        Ok(users
            .into_iter()
            .filter(|u| u.active && roles.contains(&u.role))
            .collect())
    }

    async fn service_principal(&self, id: &PrincipalId) -> StoreResult<Option<ServicePrincipal>> {
        let i = self
            .get(
                &self.tables.policies,
                key(keys::principal(id.as_str()), "P"),
            )
            .await?;
        match i {
            Some(i) if get_s(&i, "kind")? == "sp" => Ok(Some(service_principal_doc(&i)?)),
            _ => Ok(None),
        }
    }

    async fn group(&self, id: &GroupId) -> StoreResult<Option<Group>> {
        self.get(&self.tables.policies, key(keys::group(id.as_str()), "G"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()
    }

    async fn groups(&self, page: &PageRequest) -> StoreResult<Page<Group>> {
        self.list_type("GROUPS", page, doc).await
    }

    async fn resource(&self, id: &ResourceId) -> StoreResult<Option<Resource>> {
        self.get(&self.tables.policies, key(keys::resource(id.as_str()), "R"))
            .await?
            .as_ref()
            .map(resource_doc)
            .transpose()
    }

    async fn resources(&self, page: &PageRequest) -> StoreResult<Page<Resource>> {
        self.list_type("RESOURCES", page, resource_doc).await
    }

    async fn grant(&self, id: &GrantId) -> StoreResult<Option<Grant>> {
        self.grant_by_id(id.as_str()).await
    }

    async fn current_grant(
        &self,
        group: &GroupId,
        resource: &ResourceId,
    ) -> StoreResult<Option<Grant>> {
        let marker = self
            .get(
                &self.tables.policies,
                key(keys::group(group.as_str()), format!("CG#{resource}")),
            )
            .await?;
        match marker {
            Some(m) => self.grant_by_id(get_s(&m, "grant_id")?).await,
            None => Ok(None),
        }
    }

    async fn grants_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<Grant>> {
        let mut grants = self
            .current_grants(keys::resource(resource.as_str()))
            .await?;
        grants.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(grants)
    }

    async fn grants_of_group(&self, group: &GroupId) -> StoreResult<Vec<Grant>> {
        let mut grants = self.current_grants(keys::group(group.as_str())).await?;
        grants.sort_by(|a, b| a.resource.cmp(&b.resource));
        Ok(grants)
    }

    async fn members(&self, group: &GroupId) -> StoreResult<Vec<UserId>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "gsi1pk = :pk")
                    .index("gsi1")
                    .value(":pk", s(format!("GM#{group}"))),
            )
            .await?;
        let current: BTreeSet<String> = items
            .iter()
            .filter(|i| !i.contains_key("end_us"))
            .map(|i| get_s(i, "user").map(str::to_owned))
            .collect::<StoreResult<_>>()?;
        current
            .into_iter()
            .map(|u| UserId::parse(u).map_err(|e| StoreError::from(DynamoError::Value(e))))
            .collect()
    }

    async fn members_page(&self, group: &GroupId, page: &PageRequest) -> StoreResult<Page<UserId>> {
        let limit = page.effective_limit();
        let after = page.after.clone().unwrap_or_default();
        let current = self
            .group_users_after(group.as_str(), &after, limit, true)
            .await?;
        let users = current
            .into_iter()
            .take(limit + 1)
            .map(|u| UserId::parse(u).map_err(|e| StoreError::from(DynamoError::Value(e))))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(users, limit, ToString::to_string))
    }

    async fn membership(&self, user: &UserId, group: &GroupId) -> StoreResult<Option<Span>> {
        let marker = self
            .get(
                &self.tables.policies,
                key(keys::user(user.as_str()), format!("CM#{group}")),
            )
            .await?;
        marker
            .map(|m| instant(get_n(&m, "start_us").unwrap_or_default()).map(Span::from))
            .transpose()
    }

    async fn groups_of_user(&self, user: &UserId) -> StoreResult<Vec<GroupId>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(keys::user(user.as_str())))
                    .value(":p", s("CM#")),
            )
            .await?;
        items
            .iter()
            .map(|i| {
                GroupId::parse(get_s(i, "group")?)
                    .map_err(|e| StoreError::from(DynamoError::Value(e)))
            })
            .collect()
    }

    async fn right_facts(&self, user: &UserId, resource: &ResourceId) -> StoreResult<RightFacts> {
        // The resource's exemptions (`EX#`), grant references (`GRANT#`) and policy history
        // (`POL#`) sort next to each other: one query reads the three. It, the user's activity
        // and the user's memberships are read at once; then each grant shared.
        let in_resource = Q::on(
            &self.tables.policies,
            "pk = :pk AND sk BETWEEN :from AND :to",
        )
        .value(":pk", s(keys::resource(resource.as_str())))
        .value(":from", s("EX#"))
        .value(":to", s("POL#~"));
        let (activity, partition, memberships) = tokio::try_join!(
            self.activity_of(user),
            self.query_all(in_resource),
            self.memberships_of(user.as_str()),
        )?;
        let with_prefix = |p: &'static str| {
            partition
                .iter()
                .filter(move |i| get_s(i, "sk").is_ok_and(|sk| sk.starts_with(p)))
        };
        let resource_policy = with_prefix("POL#")
            .map(|i| {
                Ok(Timed {
                    at: instant(get_n(i, "at_us").unwrap_or_default())?,
                    value: doc::<Policy>(i)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut by_group: std::collections::BTreeMap<String, Vec<String>> =
            std::collections::BTreeMap::new();
        for (group, grant, _) in with_prefix("GRANT#")
            .map(grant_ref)
            .collect::<StoreResult<Vec<_>>>()?
        {
            if memberships.contains_key(&group) {
                by_group.entry(group).or_default().push(grant);
            }
        }
        let mut paths = Vec::with_capacity(by_group.len());
        for (group, grant_ids) in by_group {
            let mut grants = Vec::new();
            for id in grant_ids {
                grants.extend(self.grant_by_id(&id).await?);
            }
            grants.sort_by_key(|g| g.span.start);
            paths.push(PathFacts {
                group: GroupId::parse(group.as_str())
                    .map_err(|e| StoreError::from(DynamoError::Value(e)))?,
                memberships: memberships[&group].clone(),
                grants,
            });
        }
        let mut exemptions = with_prefix("EX#")
            .map(super::exemptions::exemption_of)
            .collect::<StoreResult<Vec<_>>>()?;
        exemptions.retain(|e| e.concerns(user, &paths));
        Ok(RightFacts {
            user: user.clone(),
            resource: resource.clone(),
            activity,
            resource_policy,
            paths,
            exemptions,
            silences: Vec::new(),
        })
    }

    async fn resources_of_user(&self, user: &UserId) -> StoreResult<Vec<ResourceId>> {
        let mut out = BTreeSet::new();
        for group in self.memberships_of(user.as_str()).await?.keys() {
            for (resource, _, _) in self.grant_refs(keys::group(group)).await? {
                out.insert(resource);
            }
        }
        out.into_iter()
            .map(|r| ResourceId::parse(r).map_err(|e| StoreError::from(DynamoError::Value(e))))
            .collect()
    }

    async fn users_of_resource_page(
        &self,
        resource: &ResourceId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>> {
        // The members of each group granted on the resource, read from the group's `GM#` index
        // partition in user order from the cursor on: the first `limit` users of the merge are
        // among the first `limit + 1` distinct users of each group.
        let limit = page.effective_limit();
        let after = page.after.clone().unwrap_or_default();
        let groups: BTreeSet<String> = self
            .grant_refs(keys::resource(resource.as_str()))
            .await?
            .into_iter()
            .map(|(g, _, _)| g)
            .collect();
        let mut merged = BTreeSet::new();
        for group in groups {
            let distinct = self.group_users_after(&group, &after, limit, false).await?;
            merged.extend(distinct.into_iter().take(limit + 1));
        }
        let mut users: Vec<String> = merged.into_iter().take(limit + 1).collect();
        let next = (users.len() > limit).then(|| users[limit - 1].clone());
        users.truncate(limit);
        let items = users
            .into_iter()
            .map(|u| UserId::parse(u).map_err(|e| StoreError::from(DynamoError::Value(e))))
            .collect::<StoreResult<_>>()?;
        Ok(Page { items, next })
    }

    async fn users_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<UserId>> {
        let groups: BTreeSet<String> = self
            .grant_refs(keys::resource(resource.as_str()))
            .await?
            .into_iter()
            .map(|(g, _, _)| g)
            .collect();
        let mut out = BTreeSet::new();
        for group in groups {
            let items = self
                .query_all(
                    Q::on(&self.tables.policies, "gsi1pk = :pk")
                        .index("gsi1")
                        .value(":pk", s(format!("GM#{group}"))),
                )
                .await?;
            for i in &items {
                out.insert(get_s(i, "user")?.to_owned());
            }
        }
        out.into_iter()
            .map(|u| UserId::parse(u).map_err(|e| StoreError::from(DynamoError::Value(e))))
            .collect()
    }
}

/// A grant reference item (`GRANT#...` under a group or a resource): the other side's id, the
/// grant's id, whether the grant ended.
fn grant_ref(i: &Item) -> StoreResult<(String, String, bool)> {
    Ok((
        get_s(i, "other")?.to_owned(),
        get_s(i, "grant_id")?.to_owned(),
        i.contains_key("ended"),
    ))
}
