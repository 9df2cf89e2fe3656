//! SCIM PATCH (RFC 7644 §3.5.2) over a resource as its JSON: `add`, `replace` and `remove`,
//! with or without a path (`attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, URN-prefixed
//! for an extension's attribute), as Okta and Entra ID send them — Entra's capitalised operation
//! names, its booleans as strings, and its member removals by value — are all read.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ScimError;
use super::filter::{AttrPath, Filter, Op};

/// The schema of a PATCH request.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// At most this many operations in one request.
pub const MAX_OPERATIONS: usize = 1000;

/// A PATCH request.
#[derive(Debug, Clone, Deserialize)]
pub struct PatchRequest {
    /// Must name [`PATCH_SCHEMA`].
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<Operation>,
}

/// One operation.
#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    /// `add`, `replace` or `remove`, in any case.
    pub op: String,
    /// What it applies to; none: the resource itself.
    #[serde(default)]
    pub path: Option<String>,
    /// The value.
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

/// What a path names: an attribute, perhaps only the values its filter selects, perhaps only
/// their sub-attribute.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    path: AttrPath,
    filter: Option<Filter>,
}

impl Target {
    fn parse(text: &str) -> Result<Self, ScimError> {
        let text = text.trim();
        let Some(open) = text.find('[') else {
            return Ok(Self {
                path: AttrPath::parse(text)?,
                filter: None,
            });
        };
        let close = text
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| ScimError::invalid_path(format!("{text:?}: a [ is not closed")))?;
        let mut path = AttrPath::parse(&text[..open])?;
        if path.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "{text:?}: a filter follows an attribute, not a sub-attribute"
            )));
        }
        let filter = Filter::parse(&text[open + 1..close])?;
        let rest = &text[close + 1..];
        if let Some(sub) = rest.strip_prefix('.') {
            path.sub = Some(AttrPath::parse(sub)?.attr);
        } else if !rest.is_empty() {
            return Err(ScimError::invalid_path(format!(
                "{text:?}: nothing but .sub may follow ]"
            )));
        }
        Ok(Self {
            path,
            filter: Some(filter),
        })
    }
}

/// Refuses a request that does not name [`PATCH_SCHEMA`] or holds no operation or too many.
fn checked(request: &PatchRequest) -> Result<(), ScimError> {
    if !request
        .schemas
        .iter()
        .any(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
    {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH names the schema {PATCH_SCHEMA}"
        )));
    }
    if request.operations.is_empty() || request.operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH holds 1 to {MAX_OPERATIONS} operations"
        )));
    }
    Ok(())
}

/// When `request` only adds and removes members by naming them (`{"op": "add", "path":
/// "members", "value": [{"value": "id"}]}`, Entra ID's removal of the same form, Okta's
/// `{"op": "remove", "path": "members[value eq \"id\"]"}`), each member it names with whether
/// it is one after the request, in order; otherwise `None`, and the request is applied to the
/// whole group as any other. Applied this way it does what [`apply`] would do to the group's
/// members, without the group's other members in hand.
pub fn members_listed(request: &PatchRequest) -> Result<Option<Vec<(String, bool)>>, ScimError> {
    checked(request)?;
    let mut named = Vec::new();
    for op in &request.operations {
        let member = match op.op.to_ascii_lowercase().as_str() {
            "add" => true,
            "remove" => false,
            _ => return Ok(None),
        };
        let Some(path) = op.path.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if !member && op.value.is_none() {
            match one_member(path) {
                Some(id) => named.push((id, false)),
                None => return Ok(None),
            }
            continue;
        }
        if !path.eq_ignore_ascii_case("members") {
            return Ok(None);
        }
        let values = match &op.value {
            Some(Value::Array(values)) => values.iter().collect(),
            Some(value @ Value::Object(_)) if member => vec![value],
            _ => return Ok(None),
        };
        for v in values {
            // As the group's document reads it: an added member's id trimmed, a removed one's
            // compared as written.
            let id = super::filter::field(v, "value")
                .and_then(Value::as_str)
                .map(|id| if member { id.trim() } else { id })
                .filter(|id| !id.is_empty());
            match id {
                Some(id) if v.is_object() => named.push((id.to_owned(), member)),
                _ => return Ok(None),
            }
        }
    }
    Ok(Some(named))
}

/// The member `members[value eq "id"]` selects (ids are compared case-exactly).
fn one_member(path: &str) -> Option<String> {
    let target = Target::parse(path).ok()?;
    let plain = |p: &AttrPath, name: &str| {
        p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case(name)
    };
    match (target.filter, plain(&target.path, "members")) {
        (Some(Filter::Compare(by, Op::Eq, Value::String(id))), true) if plain(&by, "value") => {
            Some(id)
        }
        _ => None,
    }
}

/// Applies `request` to `resource` (a JSON object), whole or not at all: on an error the
/// resource is as it was.
pub fn apply(resource: &mut Value, request: &PatchRequest) -> Result<(), ScimError> {
    checked(request)?;
    let mut changed = resource.clone();
    for op in &request.operations {
        let kind = match op.op.to_ascii_lowercase().as_str() {
            "add" => Kind::Add,
            "replace" => Kind::Replace,
            "remove" => Kind::Remove,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "{other:?} is not an operation: add, replace or remove"
                )));
            }
        };
        one(&mut changed, kind, op.path.as_deref(), op.value.as_ref())?;
    }
    *resource = changed;
    Ok(())
}

fn one(
    resource: &mut Value,
    kind: Kind,
    path: Option<&str>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        if kind == Kind::Remove {
            return Err(ScimError::no_target("remove needs a path"));
        }
        let Some(Value::Object(attrs)) = value else {
            return Err(ScimError::invalid_value(
                "without a path, the value is an object of attributes",
            ));
        };
        for (name, v) in attrs {
            if is_urn(name) && v.is_object() && !name.contains(":core:") {
                // An extension's attributes, as an object under its URN.
                for (inner, w) in v.as_object().into_iter().flatten() {
                    let target = Target {
                        path: AttrPath {
                            urn: Some(name.clone()),
                            attr: inner.clone(),
                            sub: None,
                        },
                        filter: None,
                    };
                    at(resource, kind, &target, Some(w))?;
                }
                continue;
            }
            at(resource, kind, &Target::parse(name)?, Some(v))?;
        }
        return Ok(());
    };
    let target = Target::parse(path)?;
    if kind != Kind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "{kind:?} {path} needs a value"
        )));
    }
    at(resource, kind, &target, value)
}

fn is_urn(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("urn:")
}

/// The object holding `path`'s attribute: the resource, or its extension's object (made when
/// `create`).
fn container<'a>(
    resource: &'a mut Value,
    path: &AttrPath,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, ScimError> {
    let Value::Object(root) = resource else {
        return Err(ScimError::invalid_syntax("the resource is not an object"));
    };
    match &path.urn {
        Some(urn) if !urn.contains(":core:") => {
            let key = key_of(root, urn);
            if !root.contains_key(&key) {
                if !create {
                    return Ok(None);
                }
                root.insert(key.clone(), Value::Object(Map::new()));
            }
            Ok(root.get_mut(&key).and_then(Value::as_object_mut))
        }
        _ => Ok(Some(root)),
    }
}

/// The key an object already has for `name` (whatever its case), else `name`.
fn key_of(object: &Map<String, Value>, name: &str) -> String {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

/// A value as written by an identity provider, read as SCIM means it: Entra ID writes
/// `"True"` and `"False"` for booleans.
fn normal(name: &str, v: &Value) -> Value {
    let boolean = ["active", "primary"]
        .iter()
        .any(|b| name.eq_ignore_ascii_case(b));
    match v {
        Value::String(s) if boolean && s.eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::String(s) if boolean && s.eq_ignore_ascii_case("false") => Value::Bool(false),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, w)| (k.clone(), normal(k, w))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|w| normal(name, w)).collect()),
        other => other.clone(),
    }
}

fn immutable(path: &AttrPath) -> Result<(), ScimError> {
    if path.urn.is_none()
        && ["id", "meta", "schemas"]
            .iter()
            .any(|a| path.attr.eq_ignore_ascii_case(a))
    {
        return Err(ScimError {
            status: axum::http::StatusCode::BAD_REQUEST,
            scim_type: Some("mutability"),
            detail: format!("{} cannot be changed", path.attr),
        });
    }
    Ok(())
}

fn at(
    resource: &mut Value,
    kind: Kind,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    immutable(&target.path)?;
    let attr = &target.path.attr;
    let value = value.map(|v| normal(attr, v));
    let Some(object) = container(resource, &target.path, kind != Kind::Remove)? else {
        return Ok(());
    };
    let key = key_of(object, attr);
    match (&target.filter, &target.path.sub) {
        (None, None) => plain(object, &key, kind, value),
        (None, Some(sub)) => {
            let value = value.map(|v| normal(sub, &v));
            match object.get_mut(&key) {
                Some(Value::Array(items)) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_sub(item, sub, kind, value.as_ref());
                    }
                }
                Some(Value::Object(inner)) => set_sub(inner, sub, kind, value.as_ref()),
                _ if kind == Kind::Remove => {}
                _ => {
                    let mut inner = Map::new();
                    set_sub(&mut inner, sub, kind, value.as_ref());
                    object.insert(key, Value::Object(inner));
                }
            }
            Ok(())
        }
        (Some(filter), sub) => filtered(object, &key, kind, filter, sub.as_deref(), value),
    }
}

fn set_sub(object: &mut Map<String, Value>, sub: &str, kind: Kind, value: Option<&Value>) {
    let key = key_of(object, sub);
    match (kind, value) {
        (Kind::Remove, _) => {
            object.remove(&key);
        }
        (_, Some(v)) => {
            object.insert(key, v.clone());
        }
        (_, None) => {}
    }
}

/// `attr` itself.
fn plain(
    object: &mut Map<String, Value>,
    key: &str,
    kind: Kind,
    value: Option<Value>,
) -> Result<(), ScimError> {
    match kind {
        Kind::Remove => {
            match (object.get_mut(key), value) {
                // Entra ID removes members by listing them: `{"op": "remove", "path":
                // "members", "value": [{"value": "id"}]}`.
                (Some(Value::Array(items)), Some(Value::Array(gone))) => {
                    items.retain(|item| !gone.iter().any(|g| same_value(item, g)));
                }
                _ => {
                    object.remove(key);
                }
            }
            Ok(())
        }
        Kind::Add => {
            let value = value.unwrap_or(Value::Null);
            match (object.get_mut(key), value) {
                (Some(Value::Array(items)), Value::Array(more)) => {
                    for v in more {
                        if !items.iter().any(|i| same_value(i, &v)) {
                            items.push(v);
                        }
                    }
                    primary_once(items);
                }
                (Some(Value::Array(items)), v) => {
                    if !items.iter().any(|i| same_value(i, &v)) {
                        items.push(v);
                    }
                    primary_once(items);
                }
                (Some(Value::Object(inner)), more @ Value::Object(_)) => merge(inner, &more),
                (_, v) => {
                    object.insert(key.to_owned(), v);
                }
            }
            Ok(())
        }
        Kind::Replace => {
            let value = value.unwrap_or(Value::Null);
            match (object.get_mut(key), value) {
                (Some(Value::Object(inner)), more @ Value::Object(_)) => merge(inner, &more),
                (_, v) => {
                    object.insert(key.to_owned(), v);
                }
            }
            Ok(())
        }
    }
}

/// Two values of a multi-valued attribute are the same value: equal, or complex values with
/// the same `value`.
fn same_value(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (
        super::filter::field(a, "value"),
        super::filter::field(b, "value"),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// At most one value marked primary: the last one marked keeps it (RFC 7643 §2.4).
fn primary_once(items: &mut [Value]) {
    let marked: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| super::filter::field(i, "primary") == Some(&Value::Bool(true)))
        .map(|(n, _)| n)
        .collect();
    if let Some((&keep, _)) = marked.split_last() {
        for (n, item) in items.iter_mut().enumerate() {
            if n != keep {
                if let Some(o) = item.as_object_mut() {
                    let k = key_of(o, "primary");
                    if o.contains_key(&k) {
                        o.insert(k, Value::Bool(false));
                    }
                }
            }
        }
    }
}

/// `attr[filter]` and `attr[filter].sub`.
fn filtered(
    object: &mut Map<String, Value>,
    key: &str,
    kind: Kind,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let items = match object.get_mut(key) {
        Some(Value::Array(items)) => items,
        _ if kind == Kind::Remove => return Ok(()),
        _ => {
            object.insert(key.to_owned(), Value::Array(Vec::new()));
            match object.get_mut(key) {
                Some(Value::Array(items)) => items,
                _ => return Ok(()),
            }
        }
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| filter.matches_value_of(key, i))
        .map(|(n, _)| n)
        .collect();
    match kind {
        Kind::Remove => {
            match sub {
                Some(sub) => {
                    for n in &matched {
                        if let Some(o) = items[*n].as_object_mut() {
                            set_sub(o, sub, Kind::Remove, None);
                        }
                    }
                }
                None => {
                    let mut n = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&n);
                        n += 1;
                        keep
                    });
                }
            }
            Ok(())
        }
        Kind::Add | Kind::Replace => {
            let value = value.unwrap_or(Value::Null);
            if matched.is_empty() {
                // Okta and Entra ID set `emails[type eq "work"].value` where no work email is
                // yet: the value is made, with what the filter says of it.
                let mut made = implied(filter).ok_or_else(|| {
                    ScimError::no_target(format!("no value of {key} matches the filter"))
                })?;
                match sub {
                    Some(sub) => set_sub(&mut made, sub, Kind::Add, Some(&value)),
                    None => merge(&mut made, &value),
                }
                items.push(Value::Object(made));
            }
            for n in matched {
                match (sub, items[n].as_object_mut()) {
                    (Some(sub), Some(o)) => set_sub(o, sub, Kind::Add, Some(&value)),
                    (None, Some(o)) if kind == Kind::Add => merge(o, &value),
                    (None, _) => items[n] = value.clone(),
                    (Some(_), None) => {}
                }
            }
            primary_once(items);
            Ok(())
        }
    }
}

fn merge(object: &mut Map<String, Value>, value: &Value) {
    if let Value::Object(more) = value {
        for (k, v) in more {
            let k2 = key_of(object, k);
            object.insert(k2, v.clone());
        }
    }
}

/// The value a filter of equalities describes (`type eq "work" and primary eq true`), when it
/// is made of nothing else.
fn implied(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, Op::Eq, v) if path.sub.is_none() && path.urn.is_none() => {
            let mut m = Map::new();
            m.insert(path.attr.clone(), v.clone());
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = implied(a)?;
            m.extend(implied(b)?);
            Some(m)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(resource: &mut Value, ops: Value) -> Result<(), ScimError> {
        let request: PatchRequest = serde_json::from_value(json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": ops,
        }))
        .unwrap();
        apply(resource, &request)
    }

    fn user() -> Value {
        json!({
            "id": "u1",
            "userName": "bjensen",
            "active": true,
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "name": {"givenName": "Barbara"}
        })
    }

    #[test]
    fn entra_deactivates_with_a_capitalised_op_and_a_string_boolean() {
        let mut u = user();
        patch(
            &mut u,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .unwrap();
        assert_eq!(u["active"], json!(false));
        // Okta's form: no path, an object.
        patch(
            &mut u,
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .unwrap();
        assert_eq!(u["active"], json!(true));
    }

    #[test]
    fn value_paths_add_replace_and_remove_what_they_select() {
        let mut u = user();
        patch(
            &mut u,
            json!([{"op": "add", "path": "emails[type eq \"home\"].value", "value": "h@example.org"}]),
        )
        .unwrap();
        assert_eq!(
            u["emails"],
            json!([
                {"value": "b@example.com", "type": "work", "primary": true},
                {"type": "home", "value": "h@example.org"}
            ])
        );
        patch(
            &mut u,
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
        )
        .unwrap();
        assert_eq!(u["emails"][0]["value"], "new@example.com");
        patch(
            &mut u,
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        )
        .unwrap();
        assert_eq!(u["emails"].as_array().unwrap().len(), 1);
        patch(
            &mut u,
            json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}, {"op": "add", "path": "name.familyName", "value": "Jensen"}]),
        )
        .unwrap();
        assert_eq!(
            u["name"],
            json!({"givenName": "Babs", "familyName": "Jensen"})
        );
        patch(&mut u, json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
        assert_eq!(u["name"], json!({"familyName": "Jensen"}));
    }

    #[test]
    fn members_are_added_once_and_removed_by_filter_or_by_value() {
        let mut g = json!({"displayName": "Ops", "members": [{"value": "u1"}]});
        patch(
            &mut g,
            json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}, {"value": "u3"}]}]),
        )
        .unwrap();
        assert_eq!(g["members"].as_array().unwrap().len(), 3);
        patch(
            &mut g,
            json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
        )
        .unwrap();
        patch(
            &mut g,
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u3"}]}]),
        )
        .unwrap();
        assert_eq!(g["members"], json!([{"value": "u1"}]));
        patch(&mut g, json!([{"op": "remove", "path": "members"}])).unwrap();
        assert!(g.get("members").is_none());
    }

    #[test]
    fn members_named_alone_are_read_as_such_and_anything_else_is_not() {
        let listed = |ops: Value| {
            let request: PatchRequest =
                serde_json::from_value(json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))
                    .unwrap();
            members_listed(&request).unwrap()
        };
        let named = |pairs: &[(&str, bool)]| {
            Some(
                pairs
                    .iter()
                    .map(|(id, m)| ((*id).to_owned(), *m))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            listed(json!([
                {"op": "Add", "path": "members", "value": [{"value": " u1 "}, {"value": "u2"}]},
                {"op": "remove", "path": "members[value eq \"u1\"]"},
                {"op": "Remove", "path": "Members", "value": [{"value": "u3"}]},
                {"op": "add", "path": "members", "value": {"value": "u4"}}
            ])),
            named(&[
                ("u1", true),
                ("u2", true),
                ("u1", false),
                ("u3", false),
                ("u4", true)
            ])
        );
        for ops in [
            // Every member replaced, every member removed, another attribute, no path, a
            // member without a value, a filter that is not one member's id.
            json!([{"op": "replace", "path": "members", "value": [{"value": "u1"}]}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}, {"op": "replace", "path": "displayName", "value": "Ops"}]),
            json!([{"op": "add", "value": {"members": [{"value": "u1"}]}}]),
            json!([{"op": "add", "path": "members", "value": [{"display": "u1"}]}]),
            json!([{"op": "remove", "path": "members[value sw \"u\"]"}]),
            json!([{"op": "remove", "path": "members[display eq \"u1\"]"}]),
            json!([{"op": "remove", "path": "members[value eq \"u1\"].display"}]),
        ] {
            assert_eq!(listed(ops.clone()), None, "{ops}");
        }
        let request: PatchRequest = serde_json::from_value(
            json!({"schemas": [], "Operations": [{"op": "add", "path": "members", "value": []}]}),
        )
        .unwrap();
        assert!(
            members_listed(&request).is_err(),
            "the schema is checked first"
        );
    }

    #[test]
    fn an_extensions_attributes_go_under_its_urn() {
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut u = user();
        patch(
            &mut u,
            json!([{"op": "add", "path": format!("{urn}:department"), "value": "Ops"}]),
        )
        .unwrap();
        patch(
            &mut u,
            json!([{"op": "add", "value": {urn: {"employeeNumber": "7"}}}]),
        )
        .unwrap();
        assert_eq!(u[urn], json!({"department": "Ops", "employeeNumber": "7"}));
    }

    #[test]
    fn one_primary_value_at_most() {
        let mut u = user();
        patch(
            &mut u,
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@example.com", "primary": true}]}]),
        )
        .unwrap();
        let primaries: Vec<&Value> = u["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == json!(true))
            .collect();
        assert_eq!(primaries.len(), 1);
        assert_eq!(primaries[0]["value"], "c@example.com");
    }

    #[test]
    fn bad_operations_are_refused_whole_and_change_nothing() {
        for (ops, scim_type) in [
            (
                json!([{"op": "move", "path": "active", "value": true}]),
                "invalidSyntax",
            ),
            (json!([{"op": "remove"}]), "noTarget"),
            (
                json!([{"op": "add", "path": "emails[type eq", "value": 1}]),
                "invalidPath",
            ),
            (
                json!([{"op": "add", "path": "emails[type xx \"w\"]", "value": 1}]),
                "invalidFilter",
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "add", "value": "not an object"}]),
                "invalidValue",
            ),
            // A filter that matches nothing and implies no value; the second operation is
            // not applied either.
            (
                json!([{"op": "replace", "path": "emails[type co \"x\"].value", "value": "x@y.z"}, {"op": "replace", "path": "active", "value": false}]),
                "noTarget",
            ),
        ] {
            let mut u = user();
            let before = u.clone();
            let e = patch(&mut u, ops).expect_err(scim_type);
            assert_eq!(e.scim_type, Some(scim_type), "{e:?}");
            assert_eq!(u, before);
        }
        let mut u = user();
        let request: PatchRequest = serde_json::from_value(
            json!({"schemas": [], "Operations": [{"op": "add", "path": "x", "value": 1}]}),
        )
        .unwrap();
        assert_eq!(
            apply(&mut u, &request).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
    }
}
