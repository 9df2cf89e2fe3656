//! Lists the users an identity provider provisioned, a page of 100 at a time, over N users
//! (default 10 000) in a SQLite store, through the SCIM routes.
//!
//! ```sh
//! cargo bench -p autolock-http --bench scim              # 10 000 users
//! cargo bench -p autolock-http --bench scim -- 50000     # another size, to compare
//! ```
//!
//! The users are created as a provider creates them (`POST /scim/v2/Users`). Then five pages
//! spread over the list are read two ways, five times each, alternating: without a filter (a
//! page reads only its users) and with `active eq true`, which every user matches, so that its
//! pages are the same users — read as any filter but a `userName`'s is read, from every user,
//! which is how a list without a filter was read before it read pages. The figures are each
//! way's median time for a page, and their ratio.
//!
//! Then groups of 50 are looked up by name, and a group of every user but ten is built and
//! changed a member at a time by PATCH (BENCHMARKS.md, "A member added to a large group"),
//! the deployment mapping a group's name to a role.

use std::sync::Arc;
use std::time::Instant;

use autolock_core::directory::Principal;
use autolock_core::ports::{Clock, ManualClock, Store};
use autolock_core::service::{Autolock, GroupRoles, NewServicePrincipal};
use autolock_core::values::Role;
use autolock_http::{AppState, Hs256, HttpConfig, LinkSigner};
use autolock_sqlite::SqliteStore;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SECRET: &[u8] = b"the scim bench's secret, 32 bytes and more";

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

/// A router over an empty store with the provisioner `idp`, and a token of it.
async fn service() -> (Router, String) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    // As a deployment that maps a provider's group to a role (docs/semantics.md §6).
    let app = Autolock::new(store);
    let app = app.reconfigured(
        app.options()
            .clone()
            .group_roles(GroupRoles::parse("Reviewers=access_reviewer").unwrap()),
    );
    let admin = Principal {
        id: "bench".parse().unwrap(),
        role: Role::Admin,
        active: true,
    };
    app.directory()
        .create_service_principal(
            &admin,
            NewServicePrincipal {
                id: Some("idp".parse().unwrap()),
                name: "Identity provider".parse().unwrap(),
                role: Role::Provisioner,
                identity: Default::default(),
            },
            t0(),
        )
        .await
        .unwrap();
    let tokens = Hs256::new(SECRET, "autolock", "https://autolock.bench").unwrap();
    let token = tokens.mint_for(&"idp".parse().unwrap(), 3600);
    let state = AppState::new(
        app,
        Arc::new(ManualClock::new(t0())) as Arc<dyn Clock>,
        Arc::new(tokens),
        LinkSigner::new(
            autolock_core::values::SigningKeys::new(b"the scim bench's link key, 32 bytes", None)
                .unwrap(),
        ),
        HttpConfig {
            public_base_url: "https://autolock.bench".into(),
            console_base_url: "https://autolock.bench".into(),
        },
    );
    (autolock_http::router(state), token)
}

async fn call(router: &Router, token: &str, method: Method, path: &str, body: String) -> String {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Body::from(body))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    text
}

/// Reads the pages at `starts`, 100 each: the time of a page, in milliseconds.
async fn pages(router: &Router, token: &str, filter: &str, starts: &[usize]) -> f64 {
    let started = Instant::now();
    for start in starts {
        let path = format!("/scim/v2/Users?startIndex={start}&count=100{filter}");
        let page: serde_json::Value =
            serde_json::from_str(&call(router, token, Method::GET, &path, String::new()).await)
                .unwrap();
        assert_eq!(page["itemsPerPage"], 100, "{path}");
    }
    started.elapsed().as_secs_f64() * 1000.0 / starts.len() as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    assert!(n >= 500, "at least 500 users");
    let (router, token) = service().await;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("user{i:06}@example.com");
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "name": {"givenName": "User", "familyName": format!("{i}")},
            "emails": [{"primary": true, "value": name}],
            "active": true,
        });
        let created: serde_json::Value = serde_json::from_str(
            &call(
                &router,
                &token,
                Method::POST,
                "/scim/v2/Users",
                body.to_string(),
            )
            .await,
        )
        .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    println!(
        "provisioned {n} users in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let starts: Vec<usize> = (0..5).map(|k| 1 + k * (n - 100) / 4).collect();
    let (mut paged, mut whole) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        paged.push(pages(&router, &token, "", &starts).await);
        whole.push(pages(&router, &token, "&filter=active%20eq%20true", &starts).await);
    }
    let (paged, whole) = (
        autolock_tests::bench::median(paged),
        autolock_tests::bench::median(whole),
    );
    println!(
        "a page of 100 of {n} users, median of five runs of five pages: without a filter \
         {paged:.2} ms, read from every user (active eq true) {whole:.2} ms, {:.0}x",
        whole / paged
    );
    groups(&router, &token, &ids).await;
    membership(&router, &token, &ids).await;
}

/// A group of 50 of the users for every 50, then Entra ID's look-up of a group by name
/// (`excludedAttributes=members`) against the same look-up showing the members.
async fn groups(router: &Router, token: &str, ids: &[String]) {
    let started = Instant::now();
    for (k, members) in ids.chunks(50).enumerate() {
        let members: Vec<_> = members
            .iter()
            .map(|id| serde_json::json!({"value": id}))
            .collect();
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("Group {k}"),
            "members": members,
        });
        call(
            router,
            token,
            Method::POST,
            "/scim/v2/Groups",
            body.to_string(),
        )
        .await;
    }
    let groups = ids.len().div_ceil(50);
    println!(
        "provisioned {groups} groups of 50 in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let look_up = |excluded: &'static str| async move {
        let (started, mut asked) = (Instant::now(), 0);
        for k in (0..groups).step_by(groups.div_ceil(5)) {
            asked += 1;
            let path =
                format!("/scim/v2/Groups?filter=displayName%20eq%20%22Group%20{k}%22{excluded}");
            let page: serde_json::Value =
                serde_json::from_str(&call(router, token, Method::GET, &path, String::new()).await)
                    .unwrap();
            assert_eq!(page["totalResults"], 1, "{path}");
        }
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(asked)
    };
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        without.push(look_up("&excludedAttributes=members").await);
        with.push(look_up("").await);
    }
    let (without, with) = (
        autolock_tests::bench::median(without),
        autolock_tests::bench::median(with),
    );
    println!(
        "a group looked up by name among {groups}, median of five runs: without its members \
         (excludedAttributes=members) {without:.2} ms, with them {with:.2} ms, {:.0}x",
        with / without
    );
}

/// A group of every user but ten, built as a provider builds a large one (created with a
/// thousand members, then PATCHes adding a thousand each), then the ten added one by one and
/// removed one by one with Entra ID's PATCH operations: the time of one PATCH.
async fn membership(router: &Router, token: &str, ids: &[String]) {
    let (others, last) = ids.split_at(ids.len() - 10);
    let value = |id: &String| serde_json::json!({"value": id});
    let patch = |op: serde_json::Value| {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [op],
        })
        .to_string()
    };
    let mut chunks = others.chunks(1000);
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Everyone",
        "members": chunks.next().unwrap().iter().map(value).collect::<Vec<_>>(),
    });
    let started = Instant::now();
    let created: serde_json::Value = serde_json::from_str(
        &call(
            router,
            token,
            Method::POST,
            "/scim/v2/Groups",
            body.to_string(),
        )
        .await,
    )
    .unwrap();
    let path = format!("/scim/v2/Groups/{}", created["id"].as_str().unwrap());
    for chunk in chunks {
        let added: Vec<_> = chunk.iter().map(value).collect();
        let body = patch(serde_json::json!({"op": "add", "path": "members", "value": added}));
        call(router, token, Method::PATCH, &path, body).await;
    }
    let members = others.len();
    println!(
        "a group of {members} members built a thousand at a time in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for id in last {
        let body = patch(serde_json::json!({"op": "add", "path": "members", "value": [value(id)]}));
        let started = Instant::now();
        call(router, token, Method::PATCH, &path, body).await;
        added.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    for id in last {
        let body = patch(
            serde_json::json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
        );
        let started = Instant::now();
        call(router, token, Method::PATCH, &path, body).await;
        removed.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let group: serde_json::Value =
        serde_json::from_str(&call(router, token, Method::GET, &path, String::new()).await)
            .unwrap();
    assert_eq!(group["members"].as_array().unwrap().len(), members);
    println!(
        "one member added to a group of {members} by PATCH, median of ten: {:.2} ms; \
         removed: {:.2} ms",
        autolock_tests::bench::median(added),
        autolock_tests::bench::median(removed)
    );
}
