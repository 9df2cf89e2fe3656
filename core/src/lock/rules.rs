//! Rules computed beside the lock rule, each in one place: the lock warning (docs/semantics.md,
//! "Notifications") and usage-write coalescing (docs/architecture.md, "Usage writes").

use chrono::Duration;

use super::{Right, RightState, Usage};
use crate::Timestamp;

/// What the lock-warning rule says of a right at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    /// Nothing to warn of: no lock ahead, warned already for it, the warning period not shorter
    /// than the duration that locks, or every path ends before the lock.
    None,
    /// Warn now of the lock at this instant.
    Due(Timestamp),
    /// Look again at this instant (the warning's own), before the lock.
    At(Timestamp),
}

/// The lock-warning rule: a warning `before` the lock instant, at most one per lock instant,
/// none when `before` is not shorter than the duration that locks or when every path ends
/// first.
#[must_use]
pub fn warning(right: &Right, usage: &Usage, now: Timestamp, before: Duration) -> Warning {
    let RightState::Active {
        next_lock: Some(lock),
    } = right.state(usage, now)
    else {
        return Warning::None;
    };
    let binding = right
        .timeline
        .paths_at(now)
        .iter()
        .filter_map(|p| p.policy.auto_lock_after.duration())
        .max();
    let ends_first = right
        .timeline
        .all_paths_end_after(now)
        .is_some_and(|end| end <= lock);
    if usage.warned_for == Some(lock) || binding.is_none_or(|d| before >= d) || ends_first {
        return Warning::None;
    }
    let warn_at = lock - before;
    if now >= warn_at {
        Warning::Due(lock)
    } else {
        Warning::At(warn_at)
    }
}

/// The coalescing rule: a usage write that only moves the last access forward by less than
/// `window` (and remembers the events that did) is not worth writing; a lock may then come up
/// to `window` early. Nor is one that only keeps an attempt the lock denied less than `window`
/// after the latest attempt kept: a late event that proves the lock wrong counts the attempts
/// kept (docs/semantics.md §2.7), so the access it then restores may be up to `window` earlier.
#[must_use]
pub fn coalesces(before: &Usage, after: &Usage, window: Duration) -> bool {
    access_coalesces(before, after, window) || attempt_coalesces(before, after, window)
}

fn access_coalesces(before: &Usage, after: &Usage, window: Duration) -> bool {
    let Some(previous) = before.last_access else {
        return false;
    };
    let only_access_moved = Usage {
        last_access: before.last_access,
        next_due: before.next_due,
        seen: before.seen.clone(),
        ..after.clone()
    } == *before;
    only_access_moved && after.last_access.is_some_and(|a| a - previous < window)
}

fn attempt_coalesces(before: &Usage, after: &Usage, window: Duration) -> bool {
    let Some(latest) = before.denied.iter().map(|d| d.at).max() else {
        return false;
    };
    // Up to 256 attempts kept on each side, on the path of every check the lock denies: looked
    // up in a set rather than each one in the other list.
    let kept: std::collections::HashSet<_> = before.denied.iter().collect();
    let mut added = after.denied.iter().filter(|d| !kept.contains(d));
    let (Some(attempt), None) = (added.next(), added.next()) else {
        return false;
    };
    // Older attempts the write would have pruned stay until a write that is made.
    let only_attempt_kept = Usage {
        denied: before.denied.clone(),
        next_due: before.next_due,
        ..after.clone()
    } == *before;
    only_attempt_kept && attempt.at >= latest && attempt.at - latest < window
}
