//! The approver and admin commands: each one call of the API, its answer as a table (or as the
//! API's JSON with `--json`).

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand, ValueEnum};
use hyper::Method;
use serde_json::{Value, json};

use autolock_core::audit::AuditAction;
use autolock_core::ids::{
    ExemptionId, GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId,
};
use autolock_core::values::Reason;

use super::table::render;
use super::{Remote, encode, query};
use crate::CliError;

/// Which requests a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Listed {
    /// Open requests, oldest first.
    Open,
    /// Requests resolved in the last 90 days, newest first.
    Resolved,
}

impl Listed {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }
}

/// An instant as the API reads it.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn text<T: std::fmt::Display>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// `requests`.
#[derive(Debug, Subcommand)]
pub enum RequestsAction {
    /// Lists requests: open ones (oldest first) or those resolved in the last 90 days.
    List {
        /// Which requests.
        #[arg(long, value_enum, default_value = "open")]
        status: Listed,
        /// Of this requester.
        #[arg(long)]
        user: Option<UserId>,
        /// On this resource.
        #[arg(long)]
        resource: Option<ResourceId>,
        /// At most this many (1 to 1000).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Approves a request: the requester is unlocked.
    Approve {
        /// The request's id.
        id: RequestId,
    },
    /// Denies a request: the right stays locked.
    Deny {
        /// The request's id.
        id: RequestId,
    },
}

/// `rights`.
#[derive(Debug, Args)]
#[group(id = "whose", required = true, multiple = false)]
pub struct RightsArgs {
    /// This user's rights.
    #[arg(group = "whose")]
    pub user: Option<UserId>,
    /// Every right on this resource.
    #[arg(long, group = "whose")]
    pub resource: Option<ResourceId>,
}

/// `unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The user.
    pub user: UserId,
    /// The resource.
    pub resource: ResourceId,
}

/// `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Concerning this id (user, resource, group, grant or request).
    #[arg(long)]
    pub target: Option<String>,
    /// Of this action, e.g. `access.locked`.
    #[arg(long)]
    pub action: Option<AuditAction>,
    /// Done by this principal.
    #[arg(long)]
    pub actor: Option<PrincipalId>,
    /// At or after (RFC 3339).
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    #[arg(long)]
    pub to: Option<DateTime<Utc>>,
    /// At most this many (1 to 1000).
    #[arg(long)]
    pub limit: Option<u32>,
}

/// `exemptions`.
#[derive(Debug, Subcommand)]
pub enum ExemptionsAction {
    /// Lists the exemptions in force on a resource, of a user's rights or of a group's grants.
    List {
        #[command(flatten)]
        of: ExemptionScope,
        /// Also those that ended.
        #[arg(long)]
        all: bool,
    },
    /// Exempts one right (`--user` and `--resource`) or one grant (`--grant`) until an instant.
    Create {
        /// The user (with `--resource`).
        #[arg(long, requires = "resource", conflicts_with = "grant")]
        user: Option<UserId>,
        /// The resource (with `--user`).
        #[arg(long, requires = "user")]
        resource: Option<ResourceId>,
        /// The grant, for every member's path through it.
        #[arg(long)]
        grant: Option<GrantId>,
        /// When it ends (RFC 3339), at most 90 days ahead.
        #[arg(long)]
        until: DateTime<Utc>,
        /// Why.
        #[arg(long)]
        reason: Reason,
    },
    /// Moves the end of an exemption in force.
    Change {
        /// The exemption's id.
        id: ExemptionId,
        /// The new end (RFC 3339), at most 90 days ahead.
        #[arg(long)]
        until: DateTime<Utc>,
    },
    /// Ends an exemption now.
    End {
        /// The exemption's id.
        id: ExemptionId,
    },
}

/// Whose exemptions.
#[derive(Debug, Args)]
#[group(id = "exempt_of", required = true, multiple = false)]
pub struct ExemptionScope {
    /// On this resource.
    #[arg(long, group = "exempt_of")]
    pub resource: Option<ResourceId>,
    /// Of this user's rights.
    #[arg(long, group = "exempt_of")]
    pub user: Option<UserId>,
    /// Of this group's grants.
    #[arg(long, group = "exempt_of")]
    pub group: Option<GroupId>,
}

/// What to print: the JSON as it came, or the table `table` makes of it.
pub(super) fn output(
    json_out: bool,
    value: &Value,
    table: impl FnOnce(&Value) -> String,
) -> String {
    if json_out {
        serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
    } else {
        table(value)
    }
}

pub(super) fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(t) => t.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 instant as `2026-01-09 00:00Z`, or a dash.
pub(super) fn at(v: &Value) -> String {
    match v
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        Some(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%MZ")
            .to_string(),
        None => "—".to_owned(),
    }
}

fn items(v: &Value) -> &[Value] {
    items_of(&v["items"])
}

fn state(v: &Value) -> String {
    match v["state"].as_str() {
        Some("active") if v["next_lock"].is_string() => {
            format!("active, locks {}", at(&v["next_lock"]))
        }
        Some("locked") => format!(
            "locked since {} ({})",
            at(&v["locked_at"]),
            s(&v["approval"])
        ),
        Some(other) => other.to_owned(),
        None => "—".to_owned(),
    }
}

fn requests_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v)
        .iter()
        .map(|r| {
            vec![
                s(&r["id"]),
                s(&r["user"]),
                s(&r["resource"]),
                s(&r["status"]),
                at(&r["requested_at"]),
                s(&r["reason"]),
            ]
        })
        .collect();
    render(
        &["ID", "USER", "RESOURCE", "STATUS", "REQUESTED", "REASON"],
        &rows,
        "No requests.",
    )
}

fn rights_table(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let paths: Vec<String> = r["paths"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|p| {
                    let mut text = format!(
                        "{} ({})",
                        s(&p["group"]),
                        s(&p["policy"]["auto_lock_after"])
                    );
                    if p["exempt_until"].is_string() {
                        text.push_str(&format!(" exempt until {}", at(&p["exempt_until"])));
                    }
                    text
                })
                .collect();
            vec![
                s(&r["user"]),
                s(&r["resource"]),
                state(&r["state"]),
                at(&r["last_access"]),
                paths.join(", "),
                s(&r["open_request"]),
            ]
        })
        .collect();
    render(
        &[
            "USER",
            "RESOURCE",
            "STATE",
            "LAST ACCESS",
            "THROUGH",
            "OPEN REQUEST",
        ],
        &rows,
        "No rights.",
    )
}

fn audit_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v)
        .iter()
        .map(|e| {
            let targets: Vec<String> = ["user", "resource", "group", "request"]
                .iter()
                .filter(|k| e[**k].is_string())
                .map(|k| format!("{k}={}", s(&e[*k])))
                .collect();
            vec![
                at(&e["at"]),
                s(&e["action"]),
                e["actor"].as_str().unwrap_or("autolock").to_owned(),
                targets.join(" "),
                e["details"].to_string(),
            ]
        })
        .collect();
    render(
        &["AT", "ACTION", "ACTOR", "CONCERNS", "DETAILS"],
        &rows,
        "No entries.",
    )
}

fn exemption_row(e: &Value) -> Vec<String> {
    let covers = match (e["user_id"].as_str(), e["group_id"].as_str()) {
        (Some(u), _) => format!("user {u}"),
        (None, Some(g)) => format!("group {g} (grant {})", s(&e["grant_id"])),
        _ => "—".to_owned(),
    };
    let until = if e["ended_at"].is_string() {
        format!("ended {}", at(&e["ended_at"]))
    } else {
        at(&e["until"])
    };
    vec![
        s(&e["id"]),
        covers,
        s(&e["resource_id"]),
        until,
        s(&e["reason"]),
        s(&e["created_by"]),
    ]
}

fn exemptions_table(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list.iter().map(exemption_row).collect();
    render(
        &["ID", "COVERS", "RESOURCE", "UNTIL", "REASON", "SET BY"],
        &rows,
        "No exemptions in force.",
    )
}

/// `requests ...`.
pub async fn requests(
    remote: &Remote,
    action: RequestsAction,
    json_out: bool,
) -> Result<String, CliError> {
    match action {
        RequestsAction::List {
            status,
            user,
            resource,
            limit,
        } => {
            let q = query(&[
                ("status", Some(status.as_str().to_owned())),
                ("user_id", text(user)),
                ("resource_id", text(resource)),
                ("limit", limit.map(|l| l.to_string())),
            ]);
            let v = remote
                .call(Method::GET, &format!("/access-requests{q}"), None)
                .await?;
            Ok(output(json_out, &v, requests_table))
        }
        RequestsAction::Approve { id } => resolve(remote, &id, "approve", json_out).await,
        RequestsAction::Deny { id } => resolve(remote, &id, "deny", json_out).await,
    }
}

async fn resolve(
    remote: &Remote,
    id: &RequestId,
    verdict: &str,
    json_out: bool,
) -> Result<String, CliError> {
    let v = remote
        .call(
            Method::POST,
            &format!("/access-requests/{}/{verdict}", encode(id.as_str())),
            None,
        )
        .await?;
    Ok(output(json_out, &v, |r| {
        format!(
            "Request {} is {}: {} on {}.\n",
            s(&r["id"]),
            s(&r["status"]),
            s(&r["user"]),
            s(&r["resource"])
        )
    }))
}

/// `rights ...`.
pub async fn rights(remote: &Remote, args: RightsArgs, json_out: bool) -> Result<String, CliError> {
    let path = match (args.user, args.resource) {
        (Some(u), _) => format!("/users/{}/rights", encode(u.as_str())),
        (None, Some(r)) => format!("/resources/{}/rights?limit=1000", encode(r.as_str())),
        (None, None) => return Err("give a user or --resource".into()),
    };
    let v = remote.call(Method::GET, &path, None).await?;
    Ok(output(json_out, &v, |v| rights_table(items(v))))
}

/// `unlock USER RESOURCE`.
pub async fn unlock(remote: &Remote, args: UnlockArgs, json_out: bool) -> Result<String, CliError> {
    let path = format!(
        "/users/{}/rights/{}/unlock",
        encode(args.user.as_str()),
        encode(args.resource.as_str())
    );
    let v = remote.call(Method::POST, &path, None).await?;
    Ok(output(json_out, &v, |r| {
        format!(
            "{} is unlocked on {} (the lock of {} is lifted).\n",
            s(&r["user"]),
            s(&r["resource"]),
            at(&r["lifted_lock"])
        )
    }))
}

/// `audit ...`.
pub async fn audit(remote: &Remote, args: AuditArgs, json_out: bool) -> Result<String, CliError> {
    let q = query(&[
        ("target", args.target),
        ("action", args.action.map(|a| a.as_str().to_owned())),
        ("actor", text(args.actor)),
        ("from", args.from.map(rfc3339)),
        ("to", args.to.map(rfc3339)),
        ("limit", args.limit.map(|l| l.to_string())),
    ]);
    let v = remote
        .call(Method::GET, &format!("/audit{q}"), None)
        .await?;
    Ok(output(json_out, &v, audit_table))
}

/// `exemptions ...`.
pub async fn exemptions(
    remote: &Remote,
    action: ExemptionsAction,
    json_out: bool,
) -> Result<String, CliError> {
    match action {
        ExemptionsAction::List { of, all } => {
            let q = query(&[
                ("resource_id", text(of.resource)),
                ("user_id", text(of.user)),
                ("group_id", text(of.group)),
                ("include_ended", all.then(|| "true".to_owned())),
            ]);
            let v = remote
                .call(Method::GET, &format!("/exemptions{q}"), None)
                .await?;
            Ok(output(json_out, &v, |v| exemptions_table(items(v))))
        }
        ExemptionsAction::Create {
            user,
            resource,
            grant,
            until,
            reason,
        } => {
            let mut body = json!({"until": rfc3339(until), "reason": reason.as_str()});
            if let Some(g) = grant {
                body["grant_id"] = json!(g);
            } else {
                body["user_id"] = json!(user);
                body["resource_id"] = json!(resource);
            }
            let v = remote
                .call(Method::POST, "/exemptions", Some(&body))
                .await?;
            Ok(output(json_out, &v, |e| {
                format!(
                    "Exemption {} set: {} on {} until {}.\n",
                    s(&e["id"]),
                    exemption_row(e)[1],
                    s(&e["resource_id"]),
                    at(&e["until"])
                )
            }))
        }
        ExemptionsAction::Change { id, until } => {
            let v = remote
                .call(
                    Method::PATCH,
                    &format!("/exemptions/{}", encode(id.as_str())),
                    Some(&json!({"until": rfc3339(until)})),
                )
                .await?;
            Ok(output(json_out, &v, |e| {
                format!("Exemption {} now ends {}.\n", s(&e["id"]), at(&e["until"]))
            }))
        }
        ExemptionsAction::End { id } => {
            let v = remote
                .call(
                    Method::POST,
                    &format!("/exemptions/{}/end", encode(id.as_str())),
                    None,
                )
                .await?;
            Ok(output(json_out, &v, |e| {
                format!("Exemption {} ended {}.\n", s(&e["id"]), at(&e["ended_at"]))
            }))
        }
    }
}

pub(super) fn items_of(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}
