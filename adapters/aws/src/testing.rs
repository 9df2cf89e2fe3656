//! What the functions' tests share to hold the SAM template to the code: a recorder of the AWS
//! operations an SDK client performs (an interceptor), as IAM actions, and readers of each
//! function's IAM policy and schedule inputs in `infra/template.yaml`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
pub use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Turns an operation's input into the IAM actions it needs, with the resource each applies to
/// (`GetItem@PoliciesTable`, `Query@UsageTable/index`), when it knows the operation.
pub type Expand = fn(&Input) -> Option<Vec<String>>;

/// Records, while on, the IAM actions (`dynamodb:Query`, `ses:SendEmail`, ...) of the calls
/// made through the clients it is given to. Clones share what they record.
#[derive(Clone)]
pub struct Recorder {
    prefix: &'static str,
    expand: Option<Expand>,
    on: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeSet<String>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            prefix: "",
            expand: None,
            on: Arc::new(AtomicBool::new(false)),
            seen: Arc::default(),
        }
    }
}

impl Recorder {
    /// The recorder for one service's client: its IAM prefix (`dynamodb`, `ses`, `events`,
    /// `sqs`), and how its inputs expand into actions.
    #[must_use]
    pub fn for_service(&self, prefix: &'static str, expand: Option<Expand>) -> Self {
        Self {
            prefix,
            expand,
            ..self.clone()
        }
    }

    /// Starts recording.
    pub fn start(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    /// Stops recording.
    pub fn stop(&self) {
        self.on.store(false, Ordering::SeqCst);
    }

    /// What was recorded.
    #[must_use]
    pub fn actions(&self) -> BTreeSet<String> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "autolock-operation-recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.on.load(Ordering::SeqCst) {
            return Ok(());
        }
        let actions: Vec<String> = match self.expand.and_then(|f| f(context.input())) {
            Some(actions) => actions,
            None => cfg
                .load::<Metadata>()
                .map(|m| vec![m.name().to_owned()])
                .unwrap_or_default(),
        };
        let mut seen = self.seen.lock().expect("not poisoned");
        for a in actions {
            seen.insert(format!("{}:{a}", self.prefix));
        }
        Ok(())
    }
}

fn template() -> serde_yaml::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml is readable");
    serde_yaml::from_str(&text).expect("infra/template.yaml is YAML")
}

/// A resource of the template, as written.
#[must_use]
pub fn template_resource(logical_id: &str) -> serde_yaml::Value {
    template()["Resources"][logical_id].clone()
}

fn function(logical_id: &str) -> serde_yaml::Value {
    template_resource(logical_id)["Properties"].clone()
}

/// The table a resource of a statement names (`!GetAtt PoliciesTable.Arn` is `PoliciesTable`,
/// `!Sub ${PoliciesTable.Arn}/index/*` is `PoliciesTable/index`); `None` for anything else.
fn table_of(resource: &serde_yaml::Value) -> Option<String> {
    let serde_yaml::Value::Tagged(t) = resource else {
        return None;
    };
    let text = t.value.as_str()?;
    if t.tag == "GetAtt" {
        return text.strip_suffix(".Arn").map(str::to_owned);
    }
    if t.tag == "Sub" {
        let inner = text.strip_prefix("${")?;
        let (name, rest) = inner.split_once(".Arn}")?;
        return (rest == "/index/*").then(|| format!("{name}/index"));
    }
    None
}

fn listed(v: &serde_yaml::Value) -> Vec<serde_yaml::Value> {
    match v {
        serde_yaml::Value::Sequence(all) => all.clone(),
        one => vec![one.clone()],
    }
}

/// The IAM actions a function's policies allow, as written in the template: DynamoDB actions
/// with each table (or table index) they apply to (`dynamodb:GetItem@PoliciesTable`), others
/// by name.
#[must_use]
pub fn allowed_actions(logical_id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let policies = function(logical_id)["Policies"].clone();
    for policy in policies.as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            let tables: Vec<String> = listed(&statement["Resource"])
                .iter()
                .filter_map(table_of)
                .collect();
            for action in listed(&statement["Action"]) {
                let Some(action) = action.as_str() else {
                    continue;
                };
                if action.starts_with("dynamodb:") {
                    out.extend(tables.iter().map(|t| format!("{action}@{t}")));
                } else {
                    out.insert(action.to_owned());
                }
            }
        }
    }
    out
}

/// The inputs a function's schedules give it, parsed as JSON.
#[must_use]
pub fn schedule_inputs(logical_id: &str) -> Vec<Option<serde_json::Value>> {
    let events = function(logical_id)["Events"].clone();
    events
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, e)| e["Type"].as_str() == Some("ScheduleV2"))
        .map(|(_, e)| {
            e["Properties"]["Input"]
                .as_str()
                .map(|i| serde_json::from_str(i).expect("a schedule's Input is JSON"))
        })
        .collect()
}

fn action_names(all: &BTreeSet<String>) -> BTreeSet<String> {
    all.iter()
        .map(|a| a.split('@').next().unwrap_or(a).to_owned())
        .collect()
}

/// Checks that `recorded` and the template's policy for `logical_id` agree: every call the code
/// made is allowed on the table it made it on, and the policy allows no action the code did not
/// perform.
///
/// # Panics
/// When they differ, naming what is missing and what is allowed unused.
pub fn assert_policy_is_exact(logical_id: &str, recorded: &BTreeSet<String>) {
    let allowed = allowed_actions(logical_id);
    let missing: Vec<&String> = recorded.difference(&allowed).collect();
    let (used, granted) = (action_names(recorded), action_names(&allowed));
    let unused: Vec<&String> = granted.difference(&used).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "{logical_id}'s policy must allow exactly what its code calls: it lacks {missing:?} and allows unused actions {unused:?}"
    );
}
