//! `/scim/v2` as identity providers drive it: the request sequences Okta and Entra ID send when
//! they connect, create, update, deactivate and unassign (from their provisioning guides), the
//! refusals a provider must be able to read, and the lock rule's facts that follow: a user
//! unassigned in the provider is refused by the gate at once.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use autolock_core::directory::Principal;
use autolock_core::service::NewServicePrincipal;
use autolock_core::values::Role;
use autolock_tests::world::h;

use crate::common::{Harness, Reply};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A harness with an identity provider's provisioner, `idp`.
async fn provider() -> (Harness, Principal) {
    provider_with(autolock_core::service::GroupRoles::default()).await
}

/// [`provider`], the provider's groups giving the roles of `map`.
async fn provider_with(map: autolock_core::service::GroupRoles) -> (Harness, Principal) {
    let store: std::sync::Arc<dyn autolock_core::ports::Store> =
        std::sync::Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap());
    let mut world = autolock_tests::world::World::seed(store).await;
    world.app = world
        .app
        .reconfigured(world.app.options().clone().group_roles(map));
    let t = Harness::over(world, h(1));
    let w = &t.world;
    w.app
        .directory()
        .create_service_principal(
            &w.admin,
            NewServicePrincipal {
                id: Some("idp".parse().unwrap()),
                name: "Identity provider".parse().unwrap(),
                role: Role::Provisioner,
                identity: Default::default(),
            },
            h(0),
        )
        .await
        .unwrap();
    let idp = Principal {
        id: "idp".parse().unwrap(),
        role: Role::Provisioner,
        active: true,
    };
    (t, idp)
}

async fn scim(
    t: &Harness,
    who: &Principal,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", t.token(who)));
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/scim+json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    t.send(b.body(body).unwrap()).await
}

#[tokio::test]
async fn okta_connects_creates_updates_deactivates_and_unassigns() {
    let (t, idp) = provider().await;
    // Connecting: does a user with this userName exist?
    let r = scim(
        &t,
        &idp,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22fay%40example.com%22&startIndex=1&count=100",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.content_type, "application/scim+json");
    assert_eq!(r.json()["totalResults"], 0);
    // Creating.
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({
            "schemas": [USER],
            "userName": "fay@example.com",
            "name": {"givenName": "Fay", "familyName": "Ray"},
            "emails": [{"primary": true, "value": "fay@example.com", "type": "work"}],
            "displayName": "Fay Ray",
            "locale": "en-US",
            "externalId": "00u1okta",
            "groups": [],
            "active": true
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let fay = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("https://autolock.test/scim/v2/Users/{fay}").as_str())
    );
    assert_eq!(
        r.json()["locale"],
        "en-US",
        "what autolock does not read comes back"
    );
    // The same user is autolock's, a member, under the same id.
    let user = t
        .get(&format!("/v1/users/{fay}"), &t.world.admin)
        .await
        .json();
    assert_eq!(
        (
            user["email"].as_str(),
            user["display_name"].as_str(),
            user["role"].as_str()
        ),
        (Some("fay@example.com"), Some("Fay Ray"), Some("member"))
    );
    // Found by its userName, whatever the case.
    let r = scim(
        &t,
        &idp,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22FAY%40example.com%22",
        None,
    )
    .await;
    assert_eq!(r.json()["totalResults"], 1);
    assert_eq!(r.json()["Resources"][0]["id"], fay.as_str());
    // Updating the profile: Okta PUTs the whole user.
    let r = scim(
        &t,
        &idp,
        Method::PUT,
        &format!("/scim/v2/Users/{fay}"),
        Some(json!({
            "schemas": [USER], "id": fay, "userName": "fay@example.com",
            "name": {"givenName": "Fay", "familyName": "Wray"},
            "emails": [{"primary": true, "value": "fay.wray@example.com", "type": "work"}],
            "displayName": "Fay Wray", "active": true
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let user = t
        .get(&format!("/v1/users/{fay}"), &t.world.admin)
        .await
        .json();
    assert_eq!(user["email"], "fay.wray@example.com");
    // Deactivating.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Users/{fay}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["active"], false);
    let user = t
        .get(&format!("/v1/users/{fay}"), &t.world.admin)
        .await
        .json();
    assert_eq!(user["active"], false);
    // A PUT that says nothing of `active` leaves it as it is.
    let r = scim(
        &t,
        &idp,
        Method::PUT,
        &format!("/scim/v2/Users/{fay}"),
        Some(
            json!({"schemas": [USER], "userName": "fay@example.com", "displayName": "Fay Wray",
                    "emails": [{"primary": true, "value": "fay.wray@example.com"}]}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["active"], false);
    // Removing `active` unsets it: active, as a user created without it.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Users/{fay}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "active"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json().get("active").is_none(), "{}", r.text());
    let user = t
        .get(&format!("/v1/users/{fay}"), &t.world.admin)
        .await
        .json();
    assert_eq!(user["active"], true);
    // Every change is audited with the provisioner as the actor.
    let audit = t
        .get(&format!("/v1/audit?target={fay}"), &t.world.admin)
        .await
        .json();
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for action in [
        "user.created",
        "user.email_changed",
        "user.name_changed",
        "user.deactivated",
    ] {
        assert!(
            actions.contains(&(action, "idp")),
            "{action} by idp in {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_user_name_filter_finds_the_one_live_user_with_that_name() {
    let (t, idp) = provider().await;
    let mut ids = Vec::new();
    for name in ["ann@example.com", "bob@example.com"] {
        let r = scim(
            &t,
            &idp,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"schemas": [USER], "userName": name, "active": true,
                        "emails": [{"primary": true, "value": name}]})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let (ann, bob) = (&ids[0], &ids[1]);
    let found = |filter: &'static str| {
        let (t, idp) = (&t, &idp);
        async move {
            let path = format!(
                "/scim/v2/Users?filter={}",
                form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
            );
            let r = scim(t, idp, Method::GET, &path, None).await;
            assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text());
            let mut ids: Vec<String> = r.json()["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            assert_eq!(r.json()["totalResults"], ids.len(), "{filter}");
            ids
        }
    };
    assert_eq!(
        found(r#"userName eq "ANN@example.com""#).await,
        [ann.as_str()]
    );
    // The rest of the filter still holds the user to it.
    assert!(
        found(r#"userName eq "ann@example.com" and active eq false"#)
            .await
            .is_empty()
    );
    assert_eq!(
        found(r#"active eq true and userName eq "ann@example.com""#).await,
        [ann.as_str()]
    );
    let mut both = vec![ann.clone(), bob.clone()];
    both.sort();
    assert_eq!(
        found(r#"userName eq "ann@example.com" or userName eq "bob@example.com""#).await,
        both
    );
    // A search by POST reads it the same way.
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users/.search",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName eq \"Bob@Example.com\""}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["totalResults"], 1);
    assert_eq!(r.json()["Resources"][0]["id"], bob.as_str());
    // Renamed: found by the new name only.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Users/{ann}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "userName", "value": "anne@example.com"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(found(r#"userName eq "ann@example.com""#).await.is_empty());
    assert_eq!(
        found(r#"userName eq "anne@example.com""#).await,
        [ann.as_str()]
    );
    // Deleted: found no more.
    let r = scim(
        &t,
        &idp,
        Method::DELETE,
        &format!("/scim/v2/Users/{bob}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(found(r#"userName eq "bob@example.com""#).await.is_empty());
}

#[tokio::test]
async fn pages_of_users_and_groups_list_each_live_one_once_in_id_order() {
    let (t, idp) = provider().await;
    let create = |path: &'static str, body: Value| {
        let (t, idp) = (&t, &idp);
        async move {
            let r = scim(t, idp, Method::POST, path, Some(body)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let mut users = Vec::new();
    for n in 0..5 {
        let name = format!("user{n}@example.com");
        users.push(
            create(
                "/scim/v2/Users",
                json!({"schemas": [USER], "userName": name, "emails": [{"value": name}]}),
            )
            .await,
        );
    }
    let mut groups = Vec::new();
    for (n, member) in users.iter().take(3).enumerate() {
        groups.push(
            create(
                "/scim/v2/Groups",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": format!("Team {n}"),
                       "members": [{"value": member}]}),
            )
            .await,
        );
    }
    for gone in [
        format!("/scim/v2/Users/{}", users.remove(4)),
        format!("/scim/v2/Groups/{}", groups.remove(0)),
    ] {
        let r = scim(&t, &idp, Method::DELETE, &gone, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    // Team 2 and its one member, before the lists are sorted by id.
    let (team2, member) = (groups[1].clone(), users[2].clone());
    users.sort();
    groups.sort();
    let list = |path: String| {
        let (t, idp) = (&t, &idp);
        async move {
            let r = scim(t, idp, Method::GET, &path, None).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            r.json()
        }
    };
    // Two at a time: every live user once, in id order, each page counting them all.
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let page = list(format!("/scim/v2/Users?startIndex={start}&count=2")).await;
        assert_eq!(page["totalResults"], 4, "{page}");
        assert_eq!(page["startIndex"], start);
        let ids: Vec<String> = page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(page["itemsPerPage"], ids.len());
        seen.extend(ids);
    }
    assert_eq!(seen, users);
    // A page is rendered and projected as a whole list is.
    let page = list("/scim/v2/Users?startIndex=2&count=1&attributes=userName".into()).await;
    let user = &page["Resources"][0];
    assert_eq!(user["id"], users[1].as_str());
    assert!(user["userName"].as_str().unwrap().ends_with("@example.com"));
    assert!(user.get("emails").is_none(), "{user}");
    // No resources asked for: the count alone.
    let page = list("/scim/v2/Users?count=0".into()).await;
    assert_eq!(
        (page["totalResults"].clone(), page["Resources"].clone()),
        (json!(4), json!([]))
    );
    // Groups likewise, each with its members.
    let page = list("/scim/v2/Groups?startIndex=2&count=1".into()).await;
    assert_eq!(page["totalResults"], 2);
    assert_eq!(page["Resources"][0]["id"], groups[1].as_str());
    assert_eq!(page["Resources"][0]["members"].as_array().unwrap().len(), 1);
    let page = list("/scim/v2/Groups".into()).await;
    let ids: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, groups);
    // Entra ID's look-up of a group by name, without its members; a filter on the members
    // still finds a group by them when the answer leaves them out.
    let page = list(
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Team%202%22"
            .into(),
    )
    .await;
    assert_eq!(page["totalResults"], 1);
    assert_eq!(page["Resources"][0]["id"], team2.as_str());
    assert!(page["Resources"][0].get("members").is_none(), "{page}");
    let page = list(format!(
        "/scim/v2/Groups?excludedAttributes=members&filter=members%5Bvalue%20eq%20%22{member}%22%5D"
    ))
    .await;
    assert_eq!(page["totalResults"], 1, "{page}");
    assert_eq!(page["Resources"][0]["id"], team2.as_str());
    assert!(page["Resources"][0].get("members").is_none(), "{page}");
    // Members named among the attributes are shown.
    let page = list("/scim/v2/Groups?attributes=members.value&count=1".into()).await;
    let shown = &page["Resources"][0]["members"];
    assert_eq!(shown.as_array().map(Vec::len), Some(1), "{page}");
    assert!(shown[0].get("$ref").is_none(), "{page}");
}

#[tokio::test]
async fn entra_ids_requests_are_read_capitals_strings_and_all() {
    let (t, idp) = provider().await;
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": "8a9b",
            "userName": "Gus@contoso.com",
            "active": true,
            "displayName": "Gus Grant",
            "emails": [{"primary": true, "type": "work", "value": "gus@contoso.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Gus Grant", "familyName": "Grant", "givenName": "Gus"},
            ENTERPRISE: {"department": "Ops"}
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let gus = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()[ENTERPRISE]["department"], "Ops");
    // Entra checks by externalId too.
    let r = scim(
        &t,
        &idp,
        Method::GET,
        "/scim/v2/Users?filter=externalId%20eq%20%228a9b%22",
        None,
    )
    .await;
    assert_eq!(r.json()["totalResults"], 1);
    // Capitalised operations, booleans as strings, a value path for the work email.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Users/{gus}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "gus.grant@contoso.com"},
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "m1"}
        ]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["active"], false);
    assert_eq!(body["emails"][0]["value"], "gus.grant@contoso.com");
    assert_eq!(body[ENTERPRISE]["manager"], "m1");
    let user = t
        .get(&format!("/v1/users/{gus}"), &t.world.admin)
        .await
        .json();
    assert_eq!(
        (user["active"].as_bool(), user["email"].as_str()),
        (Some(false), Some("gus.grant@contoso.com"))
    );

    // Groups: created empty, members added and removed as Entra sends them.
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "g1", "displayName": "Contoso Ops", "members": []})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ops = r.json()["id"].as_str().unwrap().to_owned();
    // Renamed in the provider: renamed here, audited as the provisioner's.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Groups/{ops}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "displayName", "value": "Contoso Operations"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let group = t
        .get(&format!("/v1/groups/{ops}"), &t.world.admin)
        .await
        .json();
    assert_eq!(group["name"], "Contoso Operations", "{group}");
    // No content, unless the request asks for attributes: then the group, so projected.
    for (op, query, expected) in [("Add", "", 1), ("Remove", "?attributes=members", 0)] {
        let r = scim(
            &t,
            &idp,
            Method::PATCH,
            &format!("/scim/v2/Groups/{ops}{query}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": [{"value": gus}]}]})),
        )
        .await;
        let group = if query.is_empty() {
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
            assert!(r.text().is_empty(), "{}", r.text());
            let r = scim(
                &t,
                &idp,
                Method::GET,
                &format!("/scim/v2/Groups/{ops}"),
                None,
            )
            .await;
            r.json()
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let group = r.json();
            assert_eq!(group.get("displayName"), None, "{group}");
            group
        };
        assert_eq!(group["members"].as_array().unwrap().len(), expected, "{op}");
    }
    // Deleting a user: deactivated, detached, kept; the provider sees it no more.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Groups/{ops}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": gus}]}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = scim(
        &t,
        &idp,
        Method::DELETE,
        &format!("/scim/v2/Users/{gus}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = scim(
        &t,
        &idp,
        Method::GET,
        &format!("/scim/v2/Users/{gus}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let group = t
        .get(&format!("/v1/groups/{ops}"), &t.world.admin)
        .await
        .json();
    assert_eq!(group["members"], json!([]), "{group}");
    let user = t.get(&format!("/v1/users/{gus}"), &t.world.admin).await;
    assert_eq!(user.status, StatusCode::OK, "kept for the record");
    // Its userName is free again.
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "gus@contoso.com"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn a_user_unassigned_in_the_provider_is_refused_by_the_gate_at_once() {
    let (t, idp) = provider().await;
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "hal@example.com"})),
    )
    .await;
    let hal = r.json()["id"].as_str().unwrap().to_owned();
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"displayName": "Gitlab users", "members": [{"value": hal}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let group = r.json()["id"].as_str().unwrap().to_owned();
    // The admin grants the provider's group access to gitlab.
    let r = t
        .post(
            "/v1/resources/gitlab/grants",
            &t.world.admin,
            json!({"group_id": group}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let check = || {
        Request::builder()
            .uri("/v1/gate?resource=gitlab")
            .header("x-autolock-token", t.token(&t.world.gateway))
            .header("x-forwarded-user", hal.as_str())
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(t.send(check()).await.status, StatusCode::OK);
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{hal}\"]")}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let denied = t.send(check()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json()["type"], "urn:autolock:problem:no_access");
}

#[tokio::test]
async fn refusals_are_scim_errors_and_change_nothing() {
    let (t, idp) = provider().await;
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "ivy@example.com"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for (body, status, scim_type) in [
        (
            json!({"schemas": [USER], "userName": "IVY@example.com"}),
            StatusCode::CONFLICT,
            "uniqueness",
        ),
        (
            json!({"schemas": [USER], "displayName": "No name"}),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            json!({"schemas": [USER], "userName": "x", "emails": [{"value": "not an address"}]}),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
    ] {
        let r = scim(&t, &idp, Method::POST, "/scim/v2/Users", Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["scimType"], scim_type, "{body}");
        assert_eq!(r.json()["status"], status.as_u16().to_string());
    }
    let r = scim(
        &t,
        &idp,
        Method::GET,
        "/scim/v2/Users?filter=userName%20xx%20%22a%22",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["scimType"], "invalidFilter");
    let r = scim(&t, &idp, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(
        r.json()["totalResults"],
        1,
        "the refused users were not created"
    );
    // No token: 401; a member's or a gateway's: 403 — SCIM errors all.
    let r = t
        .send(
            Request::builder()
                .uri("/scim/v2/Users")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.content_type, "application/scim+json");
    for who in [&t.world.bob, &t.world.gateway] {
        let r = scim(&t, who, Method::GET, "/scim/v2/Users", None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    // The provisioner gives no role: nothing in a SCIM document makes an admin.
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(
            json!({"schemas": [USER], "userName": "jo@example.com", "roles": [{"value": "admin"}]}),
        ),
    )
    .await;
    let jo = r.json()["id"].as_str().unwrap().to_owned();
    let user = t
        .get(&format!("/v1/users/{jo}"), &t.world.admin)
        .await
        .json();
    assert_eq!(user["role"], "member");
}

#[tokio::test]
async fn a_configured_group_gives_its_role_and_leaving_it_takes_it_back() {
    let map = autolock_core::service::GroupRoles::parse(
        "autolock-admins=admin, reviewers=access_reviewer",
    )
    .unwrap();
    let (t, idp) = provider_with(map).await;
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "kim@example.com"})),
    )
    .await;
    let kim = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(role(&t, &kim).await, "member");
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"displayName": "Reviewers", "members": [{"value": kim}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(role(&t, &kim).await, "access_reviewer");
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"displayName": "Autolock-Admins", "members": [{"value": kim}]})),
    )
    .await;
    let admins = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(role(&t, &kim).await, "admin", "the highest role given");
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("/scim/v2/Groups/{admins}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(role(&t, &kim).await, "access_reviewer");
    // Audited as the provisioner's edit.
    let audit = t
        .get(
            &format!("/v1/audit?target={kim}&action=user.role_changed"),
            &t.world.admin,
        )
        .await
        .json();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "idp"),
        "{audit}"
    );
    assert_eq!(audit["items"].as_array().unwrap().len(), 3, "{audit}");
}

async fn role(t: &Harness, user: &str) -> Value {
    t.get(&format!("/v1/users/{user}"), &t.world.admin)
        .await
        .json()["role"]
        .clone()
}

#[tokio::test]
async fn membership_patches_change_the_members_named_and_the_roles_a_rename_gives() {
    let map = autolock_core::service::GroupRoles::parse("reviewers=access_reviewer").unwrap();
    let (t, idp) = provider_with(map).await;
    let mut ids = Vec::new();
    for name in ["kim", "lee"] {
        let r = scim(
            &t,
            &idp,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"schemas": [USER], "userName": format!("{name}@example.com")})),
        )
        .await;
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let (kim, lee) = (ids[0].clone(), ids[1].clone());
    // Two users whose ids differ only in case, made by an admin.
    for id in ["ana", "Ana"] {
        let r = t
            .post(
                "/v1/users",
                &t.world.admin,
                json!({"id": id, "email": format!("{id}@example.com"), "display_name": id, "role": "member"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = scim(
        &t,
        &idp,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"displayName": "Staff", "members": [{"value": kim}]})),
    )
    .await;
    let staff = r.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Groups/{staff}");
    let patch = |ops: Value| {
        let path = path.clone();
        let (t, idp) = (&t, &idp);
        async move {
            let r = scim(
                t,
                idp,
                Method::PATCH,
                &path,
                Some(json!({"schemas": [PATCH_OP], "Operations": ops})),
            )
            .await;
            (r.status, r.text())
        }
    };
    let members = || async {
        let r = scim(&t, &idp, Method::GET, &path, None).await;
        let group = r.json();
        let mut ids: Vec<String> = (group["members"].as_array().unwrap().iter())
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        (ids, group["meta"]["version"].clone())
    };
    assert_eq!(role(&t, &kim).await, "member");

    // Renamed to a name the map knows: its member, who neither joins nor leaves, takes the role.
    let (status, text) =
        patch(json!([{"op": "replace", "path": "displayName", "value": "Reviewers"}])).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(role(&t, &kim).await, "access_reviewer");

    // Members named are added (the record's version moves); a missing user refuses the
    // whole request.
    let (_, version) = members().await;
    let (status, text) = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": lee}, {"value": "ana"}]},
        {"op": "Add", "path": "members", "value": [{"value": "Ana"}]}
    ]))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let (now_in, moved) = members().await;
    let mut expected = ["Ana", "ana", &kim, &lee].map(String::from).to_vec();
    expected.sort();
    assert_eq!(now_in, expected);
    assert_ne!(version, moved);
    assert_eq!(role(&t, &lee).await, "access_reviewer");
    let (status, text) = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": "nobody"}]},
        {"op": "remove", "path": format!("members[value eq \"{kim}\"]")}
    ]))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("nobody"), "{text}");
    assert_eq!(members().await.0.len(), 4, "nothing changed");

    // Okta's removal by filter: a member's value is an id, compared case-exactly, whether the
    // request names members alone or changes the group's name too.
    let (status, text) =
        patch(json!([{"op": "remove", "path": "members[value eq \"ana\"]"}])).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let (status, text) = patch(json!([
        {"op": "remove", "path": "members[value eq \"ANA\"]"},
        {"op": "remove", "path": format!("members[value eq \"{kim}\"]")}
    ]))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let (status, text) = patch(json!([
        {"op": "remove", "path": "members[value eq \"aNA\"]"},
        {"op": "replace", "path": "displayName", "value": "Reviewers"}
    ]))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let mut expected = vec!["Ana".to_owned(), lee.clone()];
    expected.sort();
    assert_eq!(members().await.0, expected);
    assert_eq!(role(&t, &kim).await, "member", "kim left");
    let found = |filter: &'static str| {
        let (t, idp) = (&t, &idp);
        async move {
            let r = scim(
                t,
                idp,
                Method::GET,
                &format!("/scim/v2/Groups?filter={filter}"),
                None,
            )
            .await;
            r.json()["totalResults"].clone()
        }
    };
    assert_eq!(found("members%5Bvalue%20eq%20%22Ana%22%5D").await, 1);
    assert_eq!(found("members%5Bvalue%20eq%20%22ANA%22%5D").await, 0);
    assert_eq!(found("members.value%20eq%20%22aNa%22").await, 0);

    // Renamed away from the map's name: every member's role goes back.
    let (status, text) =
        patch(json!([{"op": "replace", "path": "displayName", "value": "Staff"}])).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(role(&t, &lee).await, "member");
    // A change read whole, asked for the group without its members: the group as it left it.
    let r = scim(
        &t,
        &idp,
        Method::PATCH,
        &format!("{path}?excludedAttributes=members"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Staff 2"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let group = r.json();
    assert_eq!(
        (group["displayName"].as_str(), group.get("members")),
        (Some("Staff 2"), None),
        "{group}"
    );
}
