//! The facts of many rights read together: each table read once for the whole batch (the
//! users', the resources', their grants' histories), then split right by right — the batch
//! reads of the sweep, of access events and of reports (docs/architecture.md, "SQLite"). A
//! single right is read by `directory::right_facts` instead, which reads only the grants of the
//! user's groups: this batch form reads every grant of the resources with its history, and
//! served one right at a time it halved the gateway decision's rate.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;

use autolock_core::directory::{Grant, PathFacts, RightFacts, Span, Timed};
use autolock_core::exemption::Exemption;
use autolock_core::ids::{GroupId, ResourceId, UserId};
use autolock_core::policy::Policy;

use crate::rows::{GRANT_COLUMNS, decode, instant, load_grant_rows, parse, policy_from};

/// A list of ids as the JSON array `json_each` reads.
fn ids<'a>(each: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&each.collect::<BTreeSet<_>>()).unwrap_or_else(|_| "[]".to_owned())
}

/// The facts of each of `rights`, in order, read on one connection.
pub(crate) fn many(
    c: &Connection,
    rights: &[(UserId, ResourceId)],
) -> rusqlite::Result<Vec<RightFacts>> {
    let users = ids(rights.iter().map(|(u, _)| u.as_str()));
    let resources = ids(rights.iter().map(|(_, r)| r.as_str()));

    let mut activity: HashMap<String, Vec<Timed<bool>>> = HashMap::new();
    let mut s = c.prepare_cached(
        "SELECT user_id, at, active FROM user_activity WHERE user_id IN (SELECT value FROM json_each(?1)) ORDER BY user_id, seq",
    )?;
    let mut rows = s.query([&users])?;
    while let Some(r) = rows.next()? {
        activity.entry(r.get(0)?).or_default().push(Timed {
            at: instant(r.get(1)?)?,
            value: r.get(2)?,
        });
    }

    let mut policies: HashMap<String, Vec<Timed<Policy>>> = HashMap::new();
    let mut s = c.prepare_cached(
        "SELECT resource_id, at, auto_lock_after, approval FROM resource_policies WHERE resource_id IN (SELECT value FROM json_each(?1)) ORDER BY resource_id, seq",
    )?;
    let mut rows = s.query([&resources])?;
    while let Some(r) = rows.next()? {
        policies.entry(r.get(0)?).or_default().push(Timed {
            at: instant(r.get(1)?)?,
            value: policy_from(&r.get::<_, String>(2)?, &r.get::<_, String>(3)?)?,
        });
    }

    // (user, group) -> spans, in order.
    let mut memberships: BTreeMap<(String, String), Vec<Span>> = BTreeMap::new();
    let mut s = c.prepare_cached(
        "SELECT user_id, group_id, start_at, end_at FROM memberships WHERE user_id IN (SELECT value FROM json_each(?1)) ORDER BY user_id, group_id, seq",
    )?;
    let mut rows = s.query([&users])?;
    while let Some(r) = rows.next()? {
        memberships
            .entry((r.get(0)?, r.get(1)?))
            .or_default()
            .push(Span {
                start: instant(r.get(2)?)?,
                end: r.get::<_, Option<i64>>(3)?.map(instant).transpose()?,
            });
    }

    // (resource, group) -> grants, in order.
    let mut grants: BTreeMap<(String, String), Vec<Grant>> = BTreeMap::new();
    for g in load_grant_rows(
        c,
        &format!(
            "{GRANT_COLUMNS} WHERE resource_id IN (SELECT value FROM json_each(?1)) ORDER BY seq"
        ),
        &[&resources],
    )? {
        grants
            .entry((g.resource.to_string(), g.group.to_string()))
            .or_default()
            .push(g);
    }

    let mut exemptions: HashMap<String, Vec<Exemption>> = HashMap::new();
    let mut s = c.prepare_cached(
        "SELECT resource_id, data, rev FROM exemptions WHERE resource_id IN (SELECT value FROM json_each(?1)) ORDER BY start_at, id",
    )?;
    let mut rows = s.query([&resources])?;
    while let Some(r) = rows.next()? {
        let mut e: Exemption = decode(&r.get::<_, String>(1)?)?;
        e.revision = u64::try_from(r.get::<_, i64>(2)?).unwrap_or_default();
        exemptions.entry(r.get(0)?).or_default().push(e);
    }

    rights
        .iter()
        .map(|(user, resource)| {
            let (u, r) = (user.as_str(), resource.as_str());
            let mut paths = Vec::new();
            let of_user = memberships.range((u.to_owned(), String::new())..);
            for ((mu, group), spans) in of_user {
                if mu != u {
                    break;
                }
                if let Some(gs) = grants.get(&(r.to_owned(), group.clone())) {
                    paths.push(PathFacts {
                        group: parse(GroupId::parse(group.as_str()))?,
                        memberships: spans.clone(),
                        grants: gs.clone(),
                    });
                }
            }
            let covering = exemptions
                .get(r)
                .into_iter()
                .flatten()
                .filter(|e| e.concerns(user, &paths))
                .cloned()
                .collect();
            Ok(RightFacts {
                user: user.clone(),
                resource: resource.clone(),
                activity: activity.get(u).cloned().unwrap_or_default(),
                resource_policy: policies.get(r).cloned().unwrap_or_default(),
                paths,
                exemptions: covering,
                silences: Vec::new(),
            })
        })
        .collect()
}
