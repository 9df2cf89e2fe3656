//! Policies as code and the usage feed, from the command line: each one call of the API, its
//! answer as a table (or as the API's JSON with `--json`).

use clap::Subcommand;
use hyper::Method;
use serde_json::{Value, json};

use super::Remote;
use super::commands::{at, items_of, output, s};
use super::table::render;
use crate::CliError;

/// `feed`.
pub async fn feed(remote: &Remote, json_out: bool) -> Result<String, CliError> {
    let v = remote.call(Method::GET, "/feed", None).await?;
    Ok(output(json_out, &v, |f| {
        let mut out = match f["guard"].as_str() {
            None => "The feed guard is off: time counts toward every duration whatever the feed.\n"
                .to_owned(),
            Some(w) => {
                format!("The feed guard is on: a silence begins {w} after the last access event.\n")
            }
        };
        out.push_str(&format!(
            "Last access event received: {}\n",
            at(&f["last_heard"])
        ));
        if f["silent_since"].is_string() {
            out.push_str(&format!(
                "SILENT since {}: nothing locks until access events arrive again.\n",
                at(&f["silent_since"])
            ));
        }
        let rows: Vec<Vec<String>> = items_of(&f["silences"])
            .iter()
            .map(|s| vec![at(&s["start"]), at(&s["end"])])
            .collect();
        if !rows.is_empty() {
            out.push_str(&render(&["SILENT FROM", "UNTIL"], &rows, ""));
        }
        out
    }))
}

/// `policies`.
#[derive(Debug, Subcommand)]
pub enum PoliciesAction {
    /// Prints every resource's default policy and its grants' overrides and expiries (YAML).
    Export,
    /// Shows what applying FILE (YAML or JSON) would change, and who would lock within 1, 7 and
    /// 30 days; nothing changes.
    Plan {
        /// The policy file.
        file: std::path::PathBuf,
    },
    /// Applies FILE: each change audited as you; applying it again changes nothing.
    Apply {
        /// The policy file.
        file: std::path::PathBuf,
    },
}

/// A policy file, YAML (or JSON, which is YAML too), as the API's JSON.
fn policy_file(path: &std::path::Path) -> Result<Value, CliError> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).map_err(CliError::io(format!("cannot read {name}")))?;
    let doc = autolock_core::service::PolicyDocument::from_yaml(&text)
        .map_err(|e| CliError::Config(format!("{name}: {}", e.message)))?;
    serde_json::to_value(&doc).map_err(CliError::format(format!("{name} as JSON")))
}

fn plan_table(plan: &Value) -> String {
    let who = |v: &Value| {
        let names: Vec<String> = items_of(v).iter().map(s).collect();
        if names.is_empty() {
            "—".to_owned()
        } else {
            names.join(" ")
        }
    };
    let mut rows = Vec::new();
    for t in items_of(&plan["changes"]) {
        let target = match t["group"].as_str() {
            Some(g) => format!("{}/{g}", s(&t["resource"])),
            None => format!("{} (default)", s(&t["resource"])),
        };
        for (i, c) in items_of(&t["changes"]).iter().enumerate() {
            let locks = if i == 0 {
                format!(
                    "{} / {} / {}",
                    who(&t["lock_within_1_day"]),
                    who(&t["lock_within_7_days"]),
                    who(&t["lock_within_30_days"])
                )
            } else {
                String::new()
            };
            rows.push(vec![
                if i == 0 {
                    target.clone()
                } else {
                    String::new()
                },
                s(&c["field"]),
                s(&c["before"]),
                s(&c["after"]),
                locks,
            ]);
        }
    }
    let mut out = render(
        &[
            "TARGET",
            "FIELD",
            "NOW",
            "IN THE FILE",
            "WOULD LOCK WITHIN 1 / 7 / 30 DAYS",
        ],
        &rows,
        "No changes: what is in force is what the file says.",
    );
    let unmanaged: Vec<String> = items_of(&plan["unmanaged"]).iter().map(s).collect();
    if !unmanaged.is_empty() {
        out.push_str(&format!(
            "Not in the file, left as they are: {}\n",
            unmanaged.join(", ")
        ));
    }
    if plan["applied"] == json!(true) && !rows.is_empty() {
        out.push_str(&format!("Applied {} change(s).\n", rows.len()));
    }
    out
}

/// `policies ...`.
pub async fn policies(
    remote: &Remote,
    action: PoliciesAction,
    json_out: bool,
) -> Result<String, CliError> {
    match action {
        PoliciesAction::Export => {
            let v = remote.call(Method::GET, "/policies", None).await?;
            if json_out {
                return Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n");
            }
            let doc: autolock_core::service::PolicyDocument =
                serde_json::from_value(v).map_err(CliError::format("the server's policies"))?;
            Ok(doc.to_yaml())
        }
        PoliciesAction::Plan { file } => {
            let doc = policy_file(&file)?;
            let v = remote
                .call(Method::POST, "/policies/plan", Some(&doc))
                .await?;
            Ok(output(json_out, &v, plan_table))
        }
        PoliciesAction::Apply { file } => {
            let doc = policy_file(&file)?;
            let v = remote
                .call(Method::POST, "/policies/apply", Some(&doc))
                .await?;
            Ok(output(json_out, &v, plan_table))
        }
    }
}
