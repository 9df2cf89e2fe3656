//! Hostile input on every route of the OpenAPI document, for every kind of caller: arbitrary
//! path parameters, query strings and JSON bodies (and bodies that are not JSON at all). No
//! request may panic the server or answer 500; bad input is a 4xx.

use crate::common;

use std::sync::OnceLock;

use autolock_tests::fuzz::{json, tricky_string};
use autolock_tests::world::d;
use axum::body::Body;
use axum::http::{Method, Request, header};
use common::Harness;
use proptest::prelude::*;
use serde_json::Value;

/// Every (method, path template) of the OpenAPI document.
fn routes() -> &'static Vec<(Method, String)> {
    static ROUTES: OnceLock<Vec<(Method, String)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let doc = <autolock_http::openapi::ApiDoc as utoipa::OpenApi>::openapi();
        let doc: Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
        out
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// One world for the whole run: the fuzzer's changes pile up in it, as on a long-lived server.
fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| runtime().block_on(Harness::new(d(8))))
}

/// A path parameter: a real id, or anything (percent-encoded so that it stays one segment).
fn param() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(&["bob", "carol", "gitlab", "eng", "ada", "gw", "nobody"][..])
            .prop_map(str::to_owned),
        tricky_string().prop_map(|s| percent(&s)),
    ]
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A query string of known and unknown parameters with arbitrary values.
fn query() -> impl Strategy<Value = String> {
    const NAMES: [&str; 14] = [
        "cursor",
        "limit",
        "format",
        "from",
        "to",
        "action",
        "target",
        "actor",
        "user_id",
        "resource_id",
        "status",
        "window",
        "state",
        "x",
    ];
    proptest::collection::vec(
        (proptest::sample::select(&NAMES[..]), tricky_string()),
        0..4,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", percent(&v)))
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[derive(Debug, Clone)]
enum Payload {
    None,
    Json(Value),
    Raw(String, &'static str),
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::None),
        json().prop_map(Payload::Json),
        (
            tricky_string(),
            proptest::sample::select(
                &[
                    "application/json",
                    "text/plain",
                    "application/x-www-form-urlencoded"
                ][..]
            )
        )
            .prop_map(|(s, t)| Payload::Raw(s, t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn no_input_panics_the_api_or_answers_500(
        route in 0..routes().len(),
        params in proptest::collection::vec(param(), 2),
        query in query(),
        payload in payload(),
        caller in 0usize..7,
    ) {
        let (method, template) = &routes()[route];
        let mut path = template.clone();
        for p in &params {
            if let (Some(start), Some(end)) = (path.find('{'), path.find('}')) {
                path.replace_range(start..=end, p);
            }
        }
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let h = harness();
        let w = &h.world;
        let mut b = Request::builder().method(method.clone()).uri(&path);
        let who = [Some(&w.admin), Some(&w.devops), Some(&w.reviewer), Some(&w.bob), Some(&w.gateway), None, None];
        match (caller, who[caller]) {
            (_, Some(p)) => b = b.header(header::AUTHORIZATION, format!("Bearer {}", h.token(p))),
            (5, None) => {}
            _ => b = b.header(header::AUTHORIZATION, "Bearer not.a.token"),
        }
        let body = match &payload {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(v).unwrap())
            }
            Payload::Raw(s, t) => {
                b = b.header(header::CONTENT_TYPE, *t);
                Body::from(s.clone())
            }
        };
        let Ok(request) = b.body(body) else {
            // Not a request at all (the URI does not parse): nothing to send.
            return Ok(());
        };
        let reply = runtime().block_on(h.send(request));
        // The one 5xx by design: a test send where the deployment has no notifier.
        let by_design = reply.status == 503 && reply.text().contains("problem:no_notifier");
        prop_assert!(
            reply.status.as_u16() < 500 || by_design,
            "{method} {path} {payload:?} as caller {caller}: {} {}",
            reply.status,
            reply.text()
        );
    }

    #[test]
    fn no_block_link_or_form_panics_the_block_page(
        token in tricky_string(),
        form in tricky_string(),
    ) {
        let h = harness();
        let path = format!("/block/{}", percent(&token));
        let shown = runtime().block_on(h.get_anonymous(&path));
        prop_assert!(shown.status.as_u16() < 500, "{path}: {}", shown.status);
        let sent = runtime().block_on(h.post_form(&path, &format!("reason={}", percent(&form))));
        prop_assert!(sent.status.as_u16() < 500, "{path}: {}", sent.status);
    }
}

#[test]
fn a_cursor_the_api_did_not_hand_out_is_a_400_naming_the_cursor() {
    let h = harness();
    // Cursors of these lists have a structure on SQLite (an instant and an id); "not-a-cursor",
    // bytes that are not UTF-8, a control character, text that is not base64.
    for (path, who) in [
        ("/v1/audit", &h.world.admin),
        ("/v1/access-requests?status=resolved", &h.world.admin),
        ("/v1/access-requests", &h.world.reviewer),
        ("/v1/webhook-deliveries", &h.world.admin),
    ] {
        for cursor in ["bm90LWEtY3Vyc29y", "_-8", "AQ", "%%%"] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = format!("{path}{sep}cursor={cursor}");
            let reply = runtime().block_on(h.get(&url, who));
            assert_eq!(reply.status, 400, "{url}: {}", reply.text());
            assert_eq!(reply.json()["field"], "cursor", "{url}");
        }
    }
}
