//! The feed guard (docs/semantics.md §2.10): when gateways stop sending access events, time
//! stops counting toward every duration, so a broken feed never locks everyone out.
//!
//! A *silence* begins a window W after the last access event received (its arrival, whatever
//! its outcome) and ends when the next one is received. The lock rule skips the time inside
//! silences ([`crate::lock::Timeline`]); this module keeps the record of arrivals and silences.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ValidationError;
use crate::directory::Span;

/// Arrivals closer together than this are recorded once: a silence may begin up to this much
/// early, and a busy feed costs one write a minute.
pub const HEARD_PRECISION: Duration = Duration::minutes(1);

/// How long silences that ended are kept: the longest duration a path may have, and a day.
pub const SILENCE_RETENTION: Duration = Duration::days(366);

/// The shortest and longest window.
pub const MIN_WINDOW: Duration = Duration::minutes(10);
/// The longest window.
pub const MAX_WINDOW: Duration = Duration::days(7);

/// Checks a feed-guard window: 10 minutes to 7 days.
pub fn check_window(window: Duration) -> Result<Duration, ValidationError> {
    if window < MIN_WINDOW || window > MAX_WINDOW {
        return Err(ValidationError::new(
            "feed_guard",
            "must be from 10 minutes to 7 days",
        ));
    }
    Ok(window)
}

/// A window as configured: `6h`, `30m`, `1d`; empty or `off` for no guard.
pub fn parse_window(text: &str) -> Result<Option<Duration>, ValidationError> {
    let text = text.trim();
    if text.is_empty() || text == "off" {
        return Ok(None);
    }
    crate::values::parse_duration(text, &['d', 'h', 'm'])
        .ok_or_else(|| {
            ValidationError::new(
                "feed_guard",
                format!("{text:?} is not a window like 6h, 30m or 1d"),
            )
        })
        .and_then(check_window)
        .map(Some)
}

/// What the store keeps of the feed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// The latest arrival of an access event (to [`HEARD_PRECISION`]).
    pub last_heard: Option<DateTime<Utc>>,
    /// The silences that ended, oldest first (the last [`SILENCE_RETENTION`]).
    pub silences: Vec<Span>,
    /// The start of the latest silence admins were alerted of.
    pub alerted: Option<DateTime<Utc>>,
    /// How many times it was written: a write names the revision it was computed from.
    #[serde(default)]
    pub revision: u64,
}

/// What an arrival did to the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The record to write.
    pub state: FeedState,
    /// The silence the arrival ended, if one was going on.
    pub ended: Option<Span>,
}

impl FeedState {
    /// When the silence after the last arrival begins (or began) under `window`.
    #[must_use]
    pub fn silence_start(&self, window: Duration) -> Option<Timestamp> {
        self.last_heard.map(|l| l + window)
    }

    /// The start of the silence going on at `now`, if any.
    #[must_use]
    pub fn silent_since(&self, window: Duration, now: Timestamp) -> Option<Timestamp> {
        self.silence_start(window).filter(|s| *s <= now)
    }

    /// The silences as known at `now`: those that ended, and the one going on (open-ended).
    #[must_use]
    pub fn silences_at(&self, window: Duration, now: Timestamp) -> Vec<Span> {
        let mut all = self.silences.clone();
        if let Some(start) = self.silent_since(window, now) {
            all.push(Span::from(start));
        }
        all
    }

    /// An access event arrived at `now`: the record to write, or `None` when the last arrival
    /// is recent enough to stand for this one.
    #[must_use]
    pub fn heard(&self, window: Duration, now: Timestamp) -> Option<Heard> {
        if self.last_heard.is_some_and(|l| now < l + HEARD_PRECISION) {
            return None;
        }
        let mut state = self.clone();
        let ended = self.silent_since(window, now).map(|start| Span {
            start,
            end: Some(now),
        });
        state.silences.extend(ended);
        state
            .silences
            .retain(|s| s.end.is_none_or(|e| e > now - SILENCE_RETENTION));
        state.last_heard = Some(now);
        Some(Heard { state, ended })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> Timestamp {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_silence_begins_a_window_after_the_last_arrival_and_ends_with_the_next() {
        let w = Duration::hours(6);
        let fresh = FeedState::default();
        assert_eq!(
            fresh.silent_since(w, t(10_000)),
            None,
            "nothing heard yet: no silence"
        );
        let first = fresh.heard(w, t(0)).unwrap();
        assert_eq!(first.ended, None);
        let s = first.state;
        assert_eq!(
            s.heard(w, t(0) + Duration::seconds(30)),
            None,
            "within a minute"
        );
        assert_eq!(s.silent_since(w, t(359)), None);
        assert_eq!(s.silent_since(w, t(360)), Some(t(360)));
        assert_eq!(s.silences_at(w, t(400)), vec![Span::from(t(360))]);
        let back = s.heard(w, t(500)).unwrap();
        assert_eq!(
            back.ended,
            Some(Span {
                start: t(360),
                end: Some(t(500))
            })
        );
        assert_eq!(back.state.silences_at(w, t(600)), back.state.silences);
        assert_eq!(back.state.last_heard, Some(t(500)));
    }

    #[test]
    fn windows_are_read_as_configured() {
        assert_eq!(parse_window("6h").unwrap(), Some(Duration::hours(6)));
        assert_eq!(parse_window(" off ").unwrap(), None);
        assert_eq!(parse_window("").unwrap(), None);
        assert!(parse_window("6 hours").is_err());
        assert!(parse_window("1m").is_err(), "below ten minutes");
    }

    #[test]
    fn windows_are_bounded() {
        assert!(check_window(Duration::hours(6)).is_ok());
        assert_eq!(
            check_window(Duration::minutes(1)).unwrap_err().field,
            "feed_guard"
        );
        assert!(check_window(Duration::days(8)).is_err());
    }
}
