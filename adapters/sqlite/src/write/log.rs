//! Writes kept once by id — audit entries, outbox entries, consumed links — settings and
//! sign-in links.

use rusqlite::{Transaction, params};

use autolock_core::audit::AuditEntry;
use autolock_core::error::StoreError;
use autolock_core::ports::{Changeset, SettingsWrite, StoreResult, ThrottleWrite};

use crate::rows::{backend, encode, micros};

fn targets(e: &AuditEntry) -> String {
    let ids = [
        e.user.as_ref().map(ToString::to_string),
        e.resource.as_ref().map(ToString::to_string),
        e.group.as_ref().map(ToString::to_string),
        e.grant.as_ref().map(ToString::to_string),
        e.request.as_ref().map(ToString::to_string),
    ];
    let mut out = String::from(" ");
    for id in ids.into_iter().flatten() {
        out.push_str(&id);
        out.push(' ');
    }
    out
}

/// Writes the audit entries, consumed links, outbox entries and settings of a change.
/// The feed's record, over the revision it was computed from.
fn write_feed(tx: &Transaction<'_>, state: &autolock_core::feed::FeedState) -> StoreResult<()> {
    let next = autolock_core::feed::FeedState {
        revision: state.revision + 1,
        ..state.clone()
    };
    let previous = i64::try_from(state.revision).unwrap_or(i64::MAX);
    let n = if state.revision == 0 {
        super::exec(
            tx,
            "INSERT INTO settings (key, data) VALUES ('feed', ?1) ON CONFLICT (key) DO NOTHING",
            [encode(&next)?],
        )
    } else {
        super::exec(
            tx,
            "UPDATE settings SET data = ?1 WHERE key = 'feed' AND json_extract(data, '$.revision') = ?2",
            params![encode(&next)?, previous],
        )
    }
    .map_err(backend)?;
    if n == 0 {
        return Err(autolock_core::error::StoreError::Conflict(
            "the feed's record changed meanwhile".into(),
        ));
    }
    Ok(())
}

pub(super) fn apply_log(tx: &Transaction<'_>, changes: &Changeset) -> StoreResult<()> {
    for e in &changes.audit {
        super::exec(tx,
            "INSERT INTO audit (id, at, action, actor, targets, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
            params![e.id, micros(e.at), e.action.as_str(), e.actor.as_ref().map(ToString::to_string), targets(e), encode(e)?],
        )
        .map_err(backend)?;
    }
    for link in &changes.consumed_links {
        let n = super::exec(tx,
                "INSERT INTO consumed_links (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![link.id, micros(link.expires_at)],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(format!("link {}", link.id)));
        }
    }
    for o in &changes.outbox {
        super::exec(
            tx,
            "INSERT INTO outbox (id, at, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
            params![o.id, micros(o.at), encode(o)?],
        )
        .map_err(backend)?;
    }
    for r in &changes.refreshes {
        super::exec(tx,
            "INSERT INTO refresh_intents (id, at, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
            params![r.id, micros(r.at), encode(r)?],
        )
        .map_err(backend)?;
    }
    for id in &changes.refreshed {
        super::exec(tx, "DELETE FROM refresh_intents WHERE id = ?1", [id]).map_err(backend)?;
    }
    for t in &changes.throttles {
        write_throttle(tx, t)?;
    }
    for l in &changes.sign_in_links {
        super::exec(
            tx,
            "INSERT INTO sign_in_links (digest, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![l.digest, l.user.as_str(), micros(l.expires_at)],
        )
        .map_err(backend)?;
    }
    for s in &changes.settings {
        let (key, data) = match s {
            SettingsWrite::Notifications(settings) => ("notifications", Some(encode(settings)?)),
            SettingsWrite::Gate(gate) => ("gate", Some(encode(gate)?)),
            SettingsWrite::SignIn(sign_in) => ("sign_in", Some(encode(sign_in)?)),
            SettingsWrite::Slack(slack) => ("slack", slack.as_ref().map(encode).transpose()?),
            SettingsWrite::Webhook(hook) => ("webhook", hook.as_ref().map(encode).transpose()?),
            SettingsWrite::Feed(state) => {
                write_feed(tx, state)?;
                continue;
            }
        };
        match data {
            Some(d) => super::exec(tx,
                "INSERT INTO settings (key, data) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                params![key, d],
            ),
            None => super::exec(tx, "DELETE FROM settings WHERE key = ?1", [key]),
        }
        .map_err(backend)?;
    }
    Ok(())
}

/// A throttle's uses, written over the version they were read at: created at version 1 when
/// none was stored, else moved on by one; a stale version is a conflict.
fn write_throttle(tx: &Transaction<'_>, t: &ThrottleWrite) -> StoreResult<()> {
    let hits: Vec<i64> = t.hits.iter().map(|h| micros(*h)).collect();
    let hits = serde_json::to_string(&hits).map_err(backend)?;
    let written = if t.expected_version == 0 {
        super::exec(
            tx,
            "INSERT INTO throttles (key, version, hits, expires_at) VALUES (?1, 1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
            params![t.key, hits, micros(t.expires_at)],
        )
    } else {
        super::exec(
            tx,
            "UPDATE throttles SET version = version + 1, hits = ?2, expires_at = ?3 WHERE key = ?1 AND version = ?4",
            params![
                t.key,
                hits,
                micros(t.expires_at),
                i64::try_from(t.expected_version).unwrap_or(i64::MAX)
            ],
        )
    }
    .map_err(backend)?;
    if written == 0 {
        return Err(StoreError::Conflict(format!(
            "throttle {} changed meanwhile",
            t.key
        )));
    }
    Ok(())
}
