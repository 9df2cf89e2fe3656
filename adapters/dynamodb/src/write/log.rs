//! Writes kept once by id — audit entries, outbox entries, consumed links — and settings.

use std::collections::BTreeSet;

use autolock_core::audit::AuditEntry;
use autolock_core::events::OutboxEntry;
use autolock_core::ports::{ConsumedLink, IssuedLink, RefreshIntent, SettingsWrite, StoreResult};

use super::{conflict, exists_err};
use crate::item::*;
use crate::tx::Tx;
use crate::{DynamoStore, keys};

/// Adds the audit entries not written before to `tx`.
pub(super) async fn audit(
    store: &DynamoStore,
    tx: &mut Tx,
    entries: &[AuditEntry],
) -> StoreResult<()> {
    let p = &store.tables.policies;
    // Audit entries are kept once per id: ids written before are dropped from the change.
    let audit_ids: Vec<Item> = entries
        .iter()
        .map(|e| key(format!("AUDITID#{}", e.id), "A"))
        .collect();
    let seen: BTreeSet<String> = store
        .batch_get(p, audit_ids)
        .await?
        .iter()
        .filter_map(|i| {
            get_s(i, "pk")
                .ok()
                .map(|pk| pk.trim_start_matches("AUDITID#").to_owned())
        })
        .collect();
    let mut months = BTreeSet::new();
    for e in entries.iter().filter(|e| !seen.contains(&e.id)) {
        let month = keys::audit_month(e.at);
        tx.put(
            p,
            item(
                format!("AUDIT#{month}"),
                format!("{}#{}", keys::at(e.at), e.id),
                [("doc", encode(e)?)],
            ),
            None,
            conflict("audit"),
        )?;
        tx.put(
            p,
            key(format!("AUDITID#{}", e.id), "A"),
            None,
            conflict("audit"),
        )?;
        months.insert(month);
    }
    for month in months {
        tx.put(
            p,
            key("AUDIT", format!("MONTH#{month}")),
            None,
            conflict("audit"),
        )?;
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
            SettingsWrite::Webhook(Some(hook)) => tx.put(
                p,
                item("SETTINGS", "WEBHOOK", [("doc", encode(hook)?)]),
                None,
                conflict("settings"),
            )?,
            SettingsWrite::Webhook(None) => tx.delete(
                p,
                key("SETTINGS", "WEBHOOK"),
                Cond::default(),
                conflict("settings"),
            )?,
        }
    }
    Ok(())
}
