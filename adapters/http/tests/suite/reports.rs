//! Reports, the audit export, analytics and the policy-change preview on a seeded directory,
//! compared to the expected rows.

use crate::common;

use autolock_core::ids::EventId;
use autolock_core::lock::AccessEvent;
use autolock_core::policy::{ApprovalMode, AutoLockAfter, PolicyOverride};
use autolock_core::request::Verdict;
use autolock_core::service::{EventInput, NewGrant};
use autolock_tests::world::{d, h};
use axum::http::StatusCode;
use common::Harness;
use serde_json::json;

/// Bob (eng) used gitlab at day 1, locked at day 8, asked at day 9, Rita approved two hours
/// later. Carol is in eng (7 days, inherited) and ops (30 days, automatic, overridden; the grant
/// expires at day 60). The clock reads day 10.
async fn seeded() -> Harness {
    let t = Harness::new(d(0)).await;
    let w = &t.world;
    w.app
        .directory()
        .create_group(
            &w.admin,
            Some("ops".parse().unwrap()),
            "Ops".parse().unwrap(),
            h(0),
        )
        .await
        .unwrap();
    let o = PolicyOverride {
        auto_lock_after: Some(AutoLockAfter::Hours(720)),
        approval: Some(ApprovalMode::Automatic),
    };
    w.app
        .directory()
        .create_grant(
            &w.admin,
            NewGrant {
                group: "ops".parse().unwrap(),
                resource: w.gitlab.clone(),
                expires_at: Some(d(60)),
                policy_override: o,
            },
            h(0),
        )
        .await
        .unwrap();
    w.app
        .directory()
        .add_member(&w.admin, &"ops".parse().unwrap(), &w.carol.id, h(0))
        .await
        .unwrap();
    let event = AccessEvent {
        event_id: EventId::parse("e1").unwrap(),
        accessed_at: d(1),
    };
    w.app
        .gateway()
        .record_events(
            &w.gateway,
            vec![EventInput {
                user: w.bob_id(),
                resource: w.gitlab.clone(),
                event,
            }],
            d(1),
        )
        .await
        .unwrap();
    let filed = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, "Release, \"4.2\"".parse().unwrap(), d(9))
        .await
        .unwrap();
    w.app
        .requests()
        .resolve(
            &w.reviewer,
            &filed.request.id,
            Verdict::Approve,
            d(9) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    t.clock.set(d(10)).unwrap();
    t
}

const HEADER: &str = "resource_id,resource_name,group_id,policy_source,auto_lock_after,approval,expires_at,user_id,user_email,user_active,state,locked,locked_at,last_access,next_lock,last_unlock_by,last_unlock_at,last_unlock_kind,exempt_until";
const BOB: &str = "gitlab,Gitlab,eng,inherited,7d,manual,,bob,bob@example.com,true,active,false,,2026-01-02T00:00:00Z,2026-01-17T02:00:00Z,rita,2026-01-10T02:00:00Z,approved_request,";
const CAROL_ENG: &str = "gitlab,Gitlab,eng,inherited,7d,manual,,carol,carol@example.com,true,active,false,,,2026-01-31T00:00:00Z,,,,";
const CAROL_OPS: &str = "gitlab,Gitlab,ops,override,30d,automatic,2026-03-02T00:00:00Z,carol,carol@example.com,true,active,false,,,2026-01-31T00:00:00Z,,,,";

#[tokio::test]
async fn a_group_with_access_and_no_members_is_a_row_without_a_user_until_it_has_one() {
    let t = seeded().await;
    let w = &t.world;
    let idle = "idle".parse().unwrap();
    w.app
        .directory()
        .create_group(
            &w.admin,
            Some("idle".parse().unwrap()),
            "Idle".parse().unwrap(),
            h(0),
        )
        .await
        .unwrap();
    let grant = NewGrant {
        group: "idle".parse().unwrap(),
        resource: w.gitlab.clone(),
        expires_at: None,
        policy_override: PolicyOverride::default(),
    };
    w.app
        .directory()
        .create_grant(&w.admin, grant, h(0))
        .await
        .unwrap();
    let rita = w.reviewer.clone();
    let text = t.get("/v1/resources/gitlab/report", &rita).await.text();
    let rows = lines(&text);
    assert_eq!(rows[..4], [HEADER, BOB, CAROL_ENG, CAROL_OPS]);
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows[4].starts_with("gitlab,Gitlab,idle,inherited,7d,manual,,,,"),
        "{}",
        rows[4]
    );
    w.app
        .directory()
        .add_member(&w.admin, &idle, &w.bob_id(), h(1))
        .await
        .unwrap();
    let text = t.get("/v1/resources/gitlab/report", &rita).await.text();
    let rows = lines(&text);
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("gitlab,Gitlab,idle,inherited,7d,manual,,bob,")),
        "{text}"
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.starts_with("gitlab,Gitlab,idle,inherited,7d,manual,,,")),
        "{text}"
    );
}

#[tokio::test]
async fn a_path_kept_open_by_an_exemption_shows_its_end_in_the_reports() {
    let t = seeded().await;
    let (w, rita) = (&t.world, t.world.reviewer.clone());
    let ops = w
        .store()
        .current_grant(&"ops".parse().unwrap(), &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    let r = t
        .post(
            "/v1/exemptions",
            &w.devops,
            json!({"grant_id": ops.id, "until": d(40), "reason": "audit period"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rows = t
        .get("/v1/users/carol/report?format=json", &rita)
        .await
        .json();
    assert_eq!(rows[0]["group_id"], "eng");
    assert_eq!(rows[0]["exempt_until"], json!(null));
    assert_eq!(rows[1]["group_id"], "ops");
    assert_eq!(rows[1]["exempt_until"], json!(d(40)));
    let csv = t.get("/v1/groups/ops/report", &rita).await.text();
    assert!(
        lines(&csv)[1].ends_with(",2026-02-10T00:00:00Z"),
        "the last column: {csv}"
    );
}

fn lines(text: &str) -> Vec<&str> {
    assert!(text.ends_with("\r\n"), "RFC 4180 records end with CRLF");
    text.trim_end_matches("\r\n").split("\r\n").collect()
}

/// A group's report and a user's over more rights than a page of a report holds (1 000): every
/// right once, in order. The group "crowd" has 600 members and access to two resources; its
/// member m000 is also in "wide", which has access to 1 001.
#[tokio::test]
async fn group_and_user_reports_longer_than_a_page_list_every_right_once() {
    use autolock_core::directory::{Group, Resource, User};
    use autolock_core::ports::{Changeset, DirectoryChange};
    use autolock_core::values::Role;
    use autolock_tests::world::{id, open_grant};
    let t = Harness::new(d(1)).await;
    let mut changes = Vec::new();
    for g in ["crowd", "wide"] {
        changes.push(DirectoryChange::CreateGroup(Group {
            id: id(g),
            name: g.parse().unwrap(),
            created_at: h(0),
        }));
    }
    let grant = |g: &str, r: &str| DirectoryChange::CreateGrant(open_grant(g, r));
    for r in 0..1001 {
        let rid = format!("r{r:04}");
        changes.push(DirectoryChange::CreateResource(Resource {
            id: id(&rid),
            name: rid.parse().unwrap(),
            address: format!("https://{rid}.example.com"),
            policy: autolock_core::policy::Policy::NEW_RESOURCE,
            created_at: h(0),
            revision: 0,
        }));
        changes.push(grant("wide", &rid));
        if r < 2 {
            changes.push(grant("crowd", &rid));
        }
    }
    for u in 0..600 {
        let uid = format!("m{u:03}");
        changes.push(DirectoryChange::CreateUser(User {
            id: id(&uid),
            email: format!("{uid}@example.com").parse().unwrap(),
            display_name: uid.parse().unwrap(),
            role: Role::Member,
            active: true,
            created_at: h(0),
            revision: 0,
            sessions_after: None,
        }));
        changes.push(DirectoryChange::AddMembership {
            user: id(&uid),
            group: id("crowd"),
            at: h(2),
        });
    }
    changes.push(DirectoryChange::AddMembership {
        user: id("m000"),
        group: id("wide"),
        at: h(2),
    });
    t.world
        .store()
        .commit(Changeset {
            directory: changes,
            ..Changeset::default()
        })
        .await
        .unwrap();
    let rita = t.world.reviewer.clone();
    // (user, resource, group) of each row, in the report's order.
    let rights = |csv: &str| -> Vec<(String, String, String)> {
        lines(csv)[1..]
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[7].to_owned(), f[0].to_owned(), f[2].to_owned())
            })
            .collect()
    };
    let crowd = rights(&t.get("/v1/groups/crowd/report", &rita).await.text());
    let expected: Vec<(String, String, String)> = (0..600)
        .flat_map(|u| {
            ["r0000", "r0001"].map(|r| (format!("m{u:03}"), r.to_owned(), "crowd".to_owned()))
        })
        .collect();
    assert_eq!(crowd, expected);
    let m000 = rights(&t.get("/v1/users/m000/report", &rita).await.text());
    let mut expected: Vec<(String, String, String)> = (0..1001)
        .map(|r| ("m000".to_owned(), format!("r{r:04}"), "wide".to_owned()))
        .collect();
    for r in [1, 0] {
        expected.insert(r, ("m000".into(), format!("r{r:04}"), "crowd".into()));
    }
    assert_eq!(m000.len(), 1003);
    assert_eq!(m000, expected);
    // Each page covers at most a page's rights: 500 members' two rights, 1 000 resources.
    use autolock_core::service::ReportScope;
    for (scope, rows, next) in [
        (ReportScope::Group(id("crowd")), 1000, "m499"),
        (ReportScope::User(id("m000")), 1002, "r0999"),
    ] {
        let first = t
            .world
            .app
            .reports()
            .report_page(&rita, &scope, None, d(1))
            .await
            .unwrap();
        assert_eq!(
            (first.rows.len(), first.next.as_deref()),
            (rows, Some(next))
        );
    }
}

#[tokio::test]
async fn reports_from_a_resource_a_group_and_a_user_list_every_path_with_its_policy_and_state() {
    let t = seeded().await;
    let rita = t.world.reviewer.clone();
    let r = t.get("/v1/resources/gitlab/report", &rita).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "text/csv; charset=utf-8");
    assert_eq!(lines(&r.text()), [HEADER, BOB, CAROL_ENG, CAROL_OPS]);
    assert_eq!(
        lines(&t.get("/v1/groups/ops/report", &rita).await.text()),
        [HEADER, CAROL_OPS]
    );
    assert_eq!(
        lines(&t.get("/v1/users/carol/report", &rita).await.text()),
        [HEADER, CAROL_ENG, CAROL_OPS]
    );

    let json = t
        .get("/v1/resources/gitlab/report?format=json", &rita)
        .await
        .json();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["user_id"], "bob");
    assert_eq!(rows[0]["last_unlock_kind"], "approved_request");
    assert_eq!(rows[2]["policy_source"], "override");
    assert_eq!(rows[2]["expires_at"], "2026-03-02T00:00:00Z");

    assert_eq!(
        t.get("/v1/resources/gitlab/report?format=xml", &rita)
            .await
            .json()["field"],
        "format"
    );
    assert_eq!(
        t.get("/v1/resources/gitlab/report", &t.world.bob.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get("/v1/resources/nope/report", &rita).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_audit_export_gives_csv_and_json_lines_with_the_filters_of_the_list() {
    let t = seeded().await;
    let admin = t.world.admin.clone();
    let listed = t.get("/v1/audit?limit=1000", &admin).await.json()["items"]
        .as_array()
        .unwrap()
        .len();
    let csv = t.get("/v1/audit/export", &admin).await;
    let records = lines(&csv.text()).len();
    assert_eq!(records, listed + 1, "a header and a record per entry");
    assert!(
        csv.text().starts_with(
            "id,at,category,action,actor,user,resource,group,grant,request,details\r\n"
        )
    );
    let jsonl = t
        .get(
            "/v1/audit/export?format=jsonl&action=request.resolved",
            &admin,
        )
        .await;
    let entries: Vec<serde_json::Value> = jsonl
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0]["actor"].as_str(),
            entries[0]["details"]["status"].as_str()
        ),
        (Some("rita"), Some("approved"))
    );
    assert!(
        !jsonl.text().contains("Release"),
        "audit entries never hold the reason text"
    );
    assert_eq!(
        t.get("/v1/audit/export", &t.world.reviewer.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn analytics_count_locks_and_requests_and_give_the_median_resolution_time() {
    let t = seeded().await;
    let rita = t.world.reviewer.clone();
    // Then eng turns automatic: Carol, locked at day 30, continues with a reason at day 31.
    let w = &t.world;
    let a = t
        .get(
            "/v1/resources/gitlab/analytics?from=2026-01-01T00:00:00Z&to=2026-01-11T00:00:00Z",
            &rita,
        )
        .await
        .json();
    assert_eq!(a["locks"], 1, "bob's lock at day 8");
    assert_eq!(a["requests_by_outcome"], json!({"approved": 1}));
    assert_eq!(
        a["median_seconds_to_resolution"], 7200,
        "filed at day 9, approved two hours later"
    );
    assert_eq!(a["auto_approved"], json!([]));

    let grant = w
        .store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    let patch = serde_json::from_value::<autolock_core::policy::OverridePatch>(
        json!({"approval": "automatic"}),
    )
    .unwrap();
    w.app
        .policies()
        .set_grant_override(&w.admin, &grant.id, patch, d(10))
        .await
        .unwrap();
    w.app
        .requests()
        .file_request(&w.carol, &w.gitlab, "on call".parse().unwrap(), d(31))
        .await
        .unwrap();
    let a = t
        .get(
            "/v1/resources/gitlab/analytics?from=2026-01-01T00:00:00Z&to=2026-02-15T00:00:00Z",
            &rita,
        )
        .await
        .json();
    assert_eq!(a["locks"], 2);
    assert_eq!(
        a["requests_by_outcome"],
        json!({"approved": 1, "auto_approved": 1})
    );
    assert_eq!(
        (
            a["auto_approved"][0]["user"].as_str(),
            a["auto_approved"][0]["reason"].as_str()
        ),
        (Some("carol"), Some("on call"))
    );
    let too_long = t
        .get(
            "/v1/resources/gitlab/analytics?from=2026-01-01T00:00:00Z&to=2026-04-15T00:00:00Z",
            &rita,
        )
        .await;
    assert_eq!(
        (too_long.status, too_long.json()["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("from"))
    );
}

#[tokio::test]
async fn the_preview_says_nobody_locks_at_once_and_who_locks_within_1_7_and_30_days() {
    let t = seeded().await;
    let dev = t.world.devops.clone();
    let p = t
        .post(
            "/v1/resources/gitlab/policy/preview",
            &dev,
            json!({"auto_lock_after": "1d"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let p = p.json();
    assert_eq!(p["lock_at_once"], json!([]));
    assert!(
        p["grace"]
            .as_str()
            .unwrap()
            .contains("never locks anyone sooner")
    );
    let users = |k: &str| {
        p[k].as_array()
            .unwrap()
            .iter()
            .map(|e| e["user"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(users("within_1_day"), ["bob"]);
    assert_eq!(p["within_1_day"][0]["lock_at"], "2026-01-12T00:00:00Z");
    assert_eq!(users("within_7_days"), ["bob"]);
    assert_eq!(
        users("within_30_days"),
        ["bob", "carol"],
        "carol's 30-day override still holds her until day 30"
    );
    let resource = t.get("/v1/resources/gitlab", &dev).await.json();
    assert_eq!(
        resource["policy"]["auto_lock_after"], "7d",
        "nothing changed"
    );
    assert_eq!(
        t.post(
            "/v1/resources/gitlab/policy/preview",
            &t.world.reviewer.clone(),
            json!({"auto_lock_after": "1d"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}
