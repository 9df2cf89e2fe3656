//! Strategies for feeding parsers hostile input: arbitrary JSON, strings built from the pieces
//! parsers look at, and mutations of real envelopes (a value replaced, a key dropped, a type
//! changed), so that a test explores near the shapes a parser accepts as well as far from them.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Strings that have broken parsers before: multi-byte and invisible characters, huge numbers,
/// durations at their limits, separators, and anything else.
pub fn tricky_string() -> impl Strategy<Value = String> {
    const PIECES: [&str; 48] = [
        "",
        "7é",
        "é",
        "99999999999d",
        "999999999d",
        "365d",
        "1d",
        "0d",
        "-1d",
        "8d",
        "36h",
        "never",
        "manual",
        "automatic",
        "\u{202E}",
        "\u{0}",
        "\n",
        "\r\n",
        "=1+1",
        "%",
        "%zz",
        "/",
        "..",
        "../..",
        "#",
        "?",
        "&",
        "bob",
        "gitlab",
        "eng",
        "ada",
        "gw",
        "admin",
        "2026-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "+262142-12-31",
        "+262142-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        ".",
        "not a date",
        "https://hooks.example.com/x",
        "http://127.0.0.1:1/x",
        "whsec_",
        "{}",
        "[]",
        "null",
    ];
    prop_oneof![
        proptest::sample::select(&PIECES[..]).prop_map(str::to_owned),
        "\\PC{0,24}",
        any::<String>().prop_map(|s| s.chars().take(64).collect()),
        proptest::collection::vec(proptest::sample::select(&PIECES[..]), 1..4)
            .prop_map(|p| p.concat()),
    ]
}

/// Numbers at and beyond the edges of every integer and float type.
pub fn tricky_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(Value::from(0)),
        Just(Value::from(-1)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
    ]
}

/// Arbitrary JSON, a few levels deep, with the keys of autolock's bodies among its keys.
pub fn json() -> impl Strategy<Value = Value> {
    const KEYS: [&str; 31] = [
        "auto_lock_after",
        "approval",
        "reason",
        "user_id",
        "resource_id",
        "group_id",
        "event_id",
        "accessed_at",
        "events",
        "by",
        "to",
        "expires_at",
        "id",
        "email",
        "display_name",
        "name",
        "role",
        "active",
        "address",
        "policy",
        "url",
        "record",
        "emails_enabled",
        "email_roles",
        "detail",
        "detail-type",
        "source",
        "time",
        "event",
        "at",
        "kind",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        tricky_number(),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        proptest::sample::select(&KEYS[..]).prop_map(str::to_owned),
                        tricky_string()
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every path (object keys and array indexes) to a value inside `v`, `v` itself first.
fn paths(v: &Value) -> Vec<Vec<PathStep>> {
    let mut out = vec![Vec::new()];
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                for mut p in paths(child) {
                    p.insert(0, PathStep::Key(k.clone()));
                    out.push(p);
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                for mut p in paths(child) {
                    p.insert(0, PathStep::Index(i));
                    out.push(p);
                }
            }
        }
        _ => {}
    }
    out
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k.as_str()),
        PathStep::Index(i) => v.get_mut(*i),
    })
}

/// `base` with one to three mutations: a value somewhere replaced by arbitrary JSON, or a key
/// removed from its object.
pub fn mutations_of(base: Value) -> impl Strategy<Value = Value> {
    let all = paths(&base);
    proptest::collection::vec((proptest::sample::select(all), any::<bool>(), json()), 1..4)
        .prop_map(move |changes| {
            let mut v = base.clone();
            for (path, remove, replacement) in changes {
                match (remove, path.split_last()) {
                    (true, Some((PathStep::Key(k), parent))) => {
                        if let Some(Value::Object(m)) = at(&mut v, parent) {
                            m.remove(k);
                        }
                    }
                    _ => {
                        if let Some(slot) = at(&mut v, &path) {
                            *slot = replacement;
                        }
                    }
                }
            }
            v
        })
}
