//! The pages, one module per section.

pub mod audit;
pub mod downloads;
pub mod exemptions;
pub mod groups;
pub mod me;
pub mod policies;
pub mod requests;
pub mod resources;
pub mod settings;
pub mod sign_in;
pub mod users;

use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;

use autolock_core::authz::{Capability, may};

use crate::ConsoleState;
use crate::viewer::Viewer;

/// `?cursor=`: a list's page.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// A form with no field but its CSRF token (an action button).
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `?notice=`: the note a form left for the page it leads to, by its key.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    notice: Option<String>,
}

/// `/`: the Requests page for those who resolve requests, My access for everyone else.
pub async fn home(State(_): State<ConsoleState>, viewer: Viewer) -> Redirect {
    if may(&viewer.principal, Capability::Review) {
        Redirect::to("/access-requests")
    } else {
        Redirect::to("/me")
    }
}

/// Where to go back to after a form: a path of this site only.
fn back(to: Option<&str>, fallback: &str) -> String {
    match to {
        Some(_) => crate::urls::local_path(to),
        None => fallback.to_owned(),
    }
}

/// What a page says after a form led to it: one of a fixed set of notes, named in the URL by
/// its key (`?notice=`), so that no text taken from a URL is ever shown as the console's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    ExemptionSet,
    ExemptionEnded,
    MemberAdded,
    MemberRemoved,
    AccessRestored,
    RequestSent,
    ReasonNeeded,
    PoliciesApplied,
    RequestApproved,
    RequestDenied,
    PolicySaved,
    GrantAdded,
    GrantSaved,
    GrantRemoved,
    SettingsSaved,
    WebhookRemoved,
    SlackRemoved,
    TestSent,
    TestFailed,
    TestPending,
    Unlocked,
    Reactivated,
    Deactivated,
    SessionsEnded,
}

impl Notice {
    const ALL: [Notice; 24] = [
        Self::ExemptionSet,
        Self::ExemptionEnded,
        Self::MemberAdded,
        Self::MemberRemoved,
        Self::AccessRestored,
        Self::RequestSent,
        Self::ReasonNeeded,
        Self::PoliciesApplied,
        Self::RequestApproved,
        Self::RequestDenied,
        Self::PolicySaved,
        Self::GrantAdded,
        Self::GrantSaved,
        Self::GrantRemoved,
        Self::SettingsSaved,
        Self::WebhookRemoved,
        Self::SlackRemoved,
        Self::TestSent,
        Self::TestFailed,
        Self::TestPending,
        Self::Unlocked,
        Self::Reactivated,
        Self::Deactivated,
        Self::SessionsEnded,
    ];

    /// The key in the URL.
    fn key(self) -> &'static str {
        match self {
            Self::ExemptionSet => "exemption_set",
            Self::ExemptionEnded => "exemption_ended",
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::AccessRestored => "access_restored",
            Self::RequestSent => "request_sent",
            Self::ReasonNeeded => "reason_needed",
            Self::PoliciesApplied => "policies_applied",
            Self::RequestApproved => "request_approved",
            Self::RequestDenied => "request_denied",
            Self::PolicySaved => "policy_saved",
            Self::GrantAdded => "grant_added",
            Self::GrantSaved => "grant_saved",
            Self::GrantRemoved => "grant_removed",
            Self::SettingsSaved => "settings_saved",
            Self::WebhookRemoved => "webhook_removed",
            Self::SlackRemoved => "slack_removed",
            Self::TestSent => "test_sent",
            Self::TestFailed => "test_failed",
            Self::TestPending => "test_pending",
            Self::Unlocked => "unlocked",
            Self::Reactivated => "reactivated",
            Self::Deactivated => "deactivated",
            Self::SessionsEnded => "sessions_ended",
        }
    }

    /// What the page says.
    fn text(self) -> &'static str {
        match self {
            Self::ExemptionSet => {
                "The exemption is set: the paths it covers stay open until it ends."
            }
            Self::ExemptionEnded => {
                "Exemption ended: the paths it covered lock after their full duration from now."
            }
            Self::MemberAdded => "The member was added.",
            Self::MemberRemoved => "The member was removed.",
            Self::AccessRestored => "Access is restored: reconnect to continue.",
            Self::RequestSent => {
                "Your request was sent to the approvers. You will be emailed when it is decided."
            }
            Self::ReasonNeeded => {
                "Please give a reason: 1 to 1000 characters, without control characters."
            }
            Self::PoliciesApplied => "The changes were applied; each is in the audit log.",
            Self::RequestApproved => "The request was approved.",
            Self::RequestDenied => "The request was denied.",
            Self::PolicySaved => "Saved: the new policy is in force.",
            Self::GrantAdded => "The group has access now.",
            Self::GrantSaved => "Saved the group's access.",
            Self::GrantRemoved => "The group has no access any more.",
            Self::SettingsSaved => "Saved.",
            Self::WebhookRemoved => "The webhook is removed.",
            Self::SlackRemoved => "Slack is removed, its secrets with it.",
            Self::TestSent => "The test delivery was sent.",
            Self::TestFailed => "The test delivery failed: see the delivery log.",
            Self::TestPending => {
                "The test delivery failed and will be retried: see the delivery log."
            }
            Self::Unlocked => "Unlocked.",
            Self::Reactivated => "Reactivated.",
            Self::Deactivated => "Deactivated: their open requests are cancelled.",
            Self::SessionsEnded => {
                "Their console sessions are ended: they sign in again to continue."
            }
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.key() == key)
    }
}

/// A redirect after a form, with the key of a note for the next page (`?notice=`).
fn after(path: &str, note: Notice) -> Redirect {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}notice={}", note.key()))
}

/// The note a redirect after a form left, by its key; an unknown key shows nothing.
fn flash(key: Option<&str>) -> maud::Markup {
    maud::html! {
        @if let Some(notice) = key.and_then(Notice::from_key) {
            div.flash role="status" { (notice.text()) }
        }
    }
}
