//! Writes kept once by id — audit entries, outbox entries, consumed links — and settings.

use std::collections::BTreeSet;

use autolock_core::audit::AuditEntry;
use autolock_core::events::OutboxEntry;
use autolock_core::ports::{
    ConsumedLink, IssuedLink, RefreshIntent, SettingsWrite, StoreResult, ThrottleWrite,
};

use super::{conflict, exists_err};
use crate::item::*;
use crate::tx::Tx;
use crate::{DynamoStore, keys};

/// Adds the audit entries not written before to `tx`: each in its month's partition
/// (`AUDIT#<month>`) and in the partition of each id it concerns (`AUDITT#<id>`), so that a
/// filtered read queries by key. A month is listed (`AUDIT`/`MONTH#<month>`) by the first
/// commit that finds it unlisted — not by every commit, which would make that item hot.
pub(super) async fn audit(
    store: &DynamoStore,
    tx: &mut Tx,
    entries: &[AuditEntry],
) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let p = &store.tables.policies;
    // Audit entries are kept once per id: ids written before are dropped from the change.
    let months: BTreeSet<String> = entries.iter().map(|e| keys::audit_month(e.at)).collect();
    let lookups: Vec<Item> = entries
        .iter()
        .map(|e| key(format!("AUDITID#{}", e.id), "A"))
        .chain(months.iter().map(|m| key("AUDIT", format!("MONTH#{m}"))))
        .collect();
    let found: BTreeSet<(String, String)> = store
        .batch_get(p, lookups)
        .await?
        .iter()
        .filter_map(|i| {
            Some((
                get_s(i, "pk").ok()?.to_owned(),
                get_s(i, "sk").ok()?.to_owned(),
            ))
        })
        .collect();
    for e in entries
        .iter()
        .filter(|e| !found.contains(&(format!("AUDITID#{}", e.id), "A".to_owned())))
    {
        let sk = format!("{}#{}", keys::at(e.at), e.id);
        let doc = encode(e)?;
        tx.put(
            p,
            item(
                format!("AUDIT#{}", keys::audit_month(e.at)),
                sk.clone(),
                [("doc", doc.clone())],
            ),
            None,
            conflict("audit"),
        )?;
        for target in e.targets() {
            tx.put(
                p,
                item(
                    format!("AUDITT#{target}"),
                    sk.clone(),
                    [("doc", doc.clone())],
                ),
                None,
                conflict("audit"),
            )?;
        }
        tx.put(
            p,
            key(format!("AUDITID#{}", e.id), "A"),
            None,
            conflict("audit"),
        )?;
    }
    for month in months {
        let marker = ("AUDIT".to_owned(), format!("MONTH#{month}"));
        if !found.contains(&marker) {
            tx.put(p, key(marker.0, marker.1), None, conflict("audit"))?;
        }
    }
    Ok(())
}

/// Adds the outbox entries to `tx`.
pub(super) fn outbox(p: &str, tx: &mut Tx, entries: &[OutboxEntry]) -> StoreResult<()> {
    for o in entries {
        tx.put(
            p,
            item(
                "OUTBOX",
                format!("{}#{}", keys::at(o.at), o.id),
                [("doc", encode(o)?)],
            ),
            None,
            conflict("outbox"),
        )?;
    }
    Ok(())
}

/// Adds the consumed links to `tx`; one consumed before fails the change.
pub(super) fn links(p: &str, tx: &mut Tx, consumed: &[ConsumedLink]) -> StoreResult<()> {
    for link in consumed {
        let i = item(
            format!("LINK#{}", link.id),
            "L",
            [("ttl", n(link.expires_at.timestamp() + 86_400))],
        );
        tx.put(
            p,
            i,
            Some(absent()),
            exists_err(format!("link {}", link.id)),
        )?;
    }
    Ok(())
}

/// Adds the refresh intents recorded to `tx`, and removes those carried out.
pub(super) fn refreshes(
    p: &str,
    tx: &mut Tx,
    recorded: &[RefreshIntent],
    carried_out: &[String],
) -> StoreResult<()> {
    for r in recorded {
        let i = item(
            "REFRESH",
            r.id.as_str(),
            [("doc", encode(r)?), ("at_us", n(micros(r.at)))],
        );
        tx.put(p, i, None, conflict("refresh intent"))?;
    }
    for id in carried_out {
        tx.delete(
            p,
            key("REFRESH", id.as_str()),
            Cond::default(),
            conflict("refresh intent"),
        )?;
    }
    Ok(())
}

/// Adds the sign-in links issued to `tx`, removed by TTL a day after they expire.
pub(super) fn sign_in_links(p: &str, tx: &mut Tx, issued: &[IssuedLink]) -> StoreResult<()> {
    for l in issued {
        let i = item(
            format!("SIGNIN#{}", l.digest),
            "S",
            [
                ("user", s(l.user.as_str())),
                ("expires_us", n(micros(l.expires_at))),
                ("ttl", n(l.expires_at.timestamp() + 86_400)),
            ],
        );
        tx.put(p, i, Some(absent()), exists_err("sign-in link"))?;
    }
    Ok(())
}

/// Adds the settings written to `tx`.
pub(super) fn settings(p: &str, tx: &mut Tx, writes: &[SettingsWrite]) -> StoreResult<()> {
    for w in writes {
        match w {
            SettingsWrite::Notifications(s) => tx.put(
                p,
                item("SETTINGS", "NOTIFICATIONS", [("doc", encode(s)?)]),
                None,
                conflict("settings"),
            )?,
            SettingsWrite::Gate(g) => tx.put(
                p,
                item("SETTINGS", "GATE", [("doc", encode(g)?)]),
                None,
                conflict("settings"),
            )?,
            SettingsWrite::SignIn(sign_in) => tx.put(
                p,
                item("SETTINGS", "SIGN_IN", [("doc", encode(sign_in)?)]),
                None,
                conflict("settings"),
            )?,
            SettingsWrite::Webhook(Some(hook)) => tx.put(
                p,
                item("SETTINGS", "WEBHOOK", [("doc", encode(hook)?)]),
                None,
                conflict("settings"),
            )?,
            SettingsWrite::Feed(state) => {
                let next = autolock_core::feed::FeedState {
                    revision: state.revision + 1,
                    ..state.clone()
                };
                let rev = |r: u64| n(i64::try_from(r).unwrap_or(i64::MAX));
                let cond = if state.revision == 0 {
                    absent()
                } else {
                    Cond::new("#rev = :rev")
                        .name("#rev", "rev")
                        .value(":rev", rev(state.revision))
                };
                tx.put(
                    p,
                    item(
                        "SETTINGS",
                        "FEED",
                        [("doc", encode(&next)?), ("rev", rev(next.revision))],
                    ),
                    Some(cond),
                    conflict("the feed's record changed meanwhile"),
                )?;
            }
            SettingsWrite::Webhook(None) => tx.delete(
                p,
                key("SETTINGS", "WEBHOOK"),
                Cond::default(),
                conflict("settings"),
            )?,
            SettingsWrite::Slack(Some(slack)) => tx.put(
                p,
                item("SETTINGS", "SLACK", [("doc", encode(slack)?)]),
                None,
                conflict("settings"),
            )?,
            SettingsWrite::Slack(None) => tx.delete(
                p,
                key("SETTINGS", "SLACK"),
                Cond::default(),
                conflict("settings"),
            )?,
        }
    }
    Ok(())
}

/// Adds the throttles written to `tx`: each item over the version it was read at (created when
/// none was stored), removed by the TTL after its last use stops counting.
pub(super) fn throttles(p: &str, tx: &mut Tx, writes: &[ThrottleWrite]) -> StoreResult<()> {
    for t in writes {
        let version = |v: u64| n(i64::try_from(v).unwrap_or(i64::MAX));
        let hits: Vec<i64> = t.hits.iter().map(|h| micros(*h)).collect();
        let cond = if t.expected_version == 0 {
            absent()
        } else {
            Cond::new("#ver = :ver")
                .name("#ver", "ver")
                .value(":ver", version(t.expected_version))
        };
        tx.put(
            p,
            item(
                format!("THROTTLE#{}", t.key),
                "T",
                [
                    ("ver", version(t.expected_version + 1)),
                    (
                        "hits",
                        s(serde_json::to_string(&hits).map_err(|e| {
                            autolock_core::error::StoreError::from(DynamoError::Json(e))
                        })?),
                    ),
                    ("ttl", n(t.expires_at.timestamp() + 60)),
                ],
            ),
            Some(cond),
            conflict(format!("throttle {} changed meanwhile", t.key)),
        )?;
    }
    Ok(())
}
