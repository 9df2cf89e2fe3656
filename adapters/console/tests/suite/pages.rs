//! The console through its router: each page for each role (what they see, what they may do,
//! what is hidden from them), sign-in by link, sessions and CSRF.

use crate::support;

use axum::http::StatusCode;

use autolock_core::lock::RightState;
use autolock_core::request::RequestStatus;
use autolock_tests::world::{d, id};
use support::{Browser, Console, Page};

const ROLES: [&str; 4] = ["ada", "dev", "rita", "bob"];

/// Every page, and who may open it: admin, DevOps admin, access reviewer, member.
const PAGES: [(&str, [bool; 4]); 12] = [
    ("/access-requests", [true, true, true, false]),
    ("/resources", [true, true, true, false]),
    ("/resources/gitlab", [true, true, true, false]),
    ("/groups", [true, true, true, false]),
    ("/groups/eng", [true, true, true, false]),
    ("/users", [true, true, true, false]),
    ("/users/carol", [true, true, true, false]),
    ("/settings/notifications", [true, false, false, false]),
    ("/audit", [true, true, false, false]),
    ("/me", [true, true, true, true]),
    ("/resources/gitlab/summary.csv", [true, true, true, false]),
    ("/audit/export.csv", [true, true, false, false]),
];

#[tokio::test]
async fn each_page_opens_for_the_roles_that_may_see_it_and_shows_nothing_to_the_others() {
    let c = Console::new().await;
    for (who, role) in ROLES.iter().enumerate() {
        let mut b = c.signed_in(role).await;
        for (path, allowed) in PAGES {
            let page = b.get(path).await;
            if allowed[who] {
                assert_eq!(page.status, StatusCode::OK, "{role} opens {path}");
            } else {
                assert!(
                    matches!(page.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{role} is refused {path}: {}",
                    page.status
                );
                assert!(page.content_type.starts_with("text/html"));
                for private in ["carol@example.com", "release day", "Carol Member"] {
                    assert!(
                        !page.body.contains(private),
                        "{role} sees {private} on {path}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_navigation_shows_only_the_sections_a_viewer_may_open() {
    let c = Console::new().await;
    let expected: [(&str, &[&str]); 4] = [
        (
            "ada",
            &[
                "Requests",
                "Resources",
                "Groups",
                "Users",
                "Audit log",
                "Settings",
                "My access",
            ],
        ),
        (
            "dev",
            &[
                "Requests",
                "Resources",
                "Groups",
                "Users",
                "Audit log",
                "My access",
            ],
        ),
        (
            "rita",
            &["Requests", "Resources", "Groups", "Users", "My access"],
        ),
        ("bob", &["My access"]),
    ];
    for (role, sections) in expected {
        let mut b = c.signed_in(role).await;
        let me = b.get("/me").await;
        assert_eq!(me.texts("header nav a"), sections, "{role}");
        // The bell is there for those who resolve requests: one open request (bob's).
        let bell = me.texts("a.bell");
        if role == "bob" {
            assert!(bell.is_empty());
        } else {
            assert_eq!(bell, ["1"], "{role}");
        }
    }
}

#[tokio::test]
async fn the_header_names_the_viewer_and_the_bell_counts_what_they_may_resolve() {
    let c = Console::new().await;
    let mut rita = c.signed_in("rita").await;
    let page = rita.get("/resources").await;
    assert!(
        page.texts("header .who")
            .join(" ")
            .contains("Rita Reviewer · access reviewer")
    );
    assert_eq!(page.texts("a.bell"), ["1"]);
    // Carol asks too: two open requests.
    c.app()
        .requests()
        .file_request(
            &c.world.carol,
            &c.world.gitlab,
            "on call".parse().unwrap(),
            d(8),
        )
        .await
        .unwrap();
    assert_eq!(rita.get("/resources").await.texts("a.bell"), ["2"]);
    // Bob, a reviewer now, may not resolve his own: his bell counts carol's alone.
    c.app()
        .directory()
        .patch_user(
            &c.world.admin,
            &id("bob"),
            autolock_core::service::UserPatch {
                role: Some(autolock_core::values::Role::AccessReviewer),
                ..Default::default()
            },
            d(8),
        )
        .await
        .unwrap();
    let mut bob = c.signed_in("bob").await;
    assert_eq!(bob.get("/me").await.texts("a.bell"), ["1"]);
}

#[tokio::test]
async fn a_request_link_from_an_email_opens_that_request_highlighted_whatever_its_state() {
    let c = Console::new().await;
    let mut rita = c.signed_in("rita").await;
    let link = format!(
        "/access-requests?user_id=bob&access_request_id={}",
        c.bob_request
    );
    let page = rita.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    let row = format!("tr.highlight#request-{}", c.bob_request);
    assert!(page.texts(&row)[0].contains("release day"));
    assert!(page.texts("h2").contains(&"This request".to_owned()));

    // Approved from the page, it is still shown by the same link, with who and when.
    let approved = rita
        .submit(&page, "tr.highlight form[action$='/approve']", &[])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let after = rita.get(approved.location.as_deref().unwrap()).await;
    assert!(after.text().contains("approved"), "{}", after.text());
    let page = rita.get(&link).await;
    let row = page.texts(&format!("tr.highlight#request-{}", c.bob_request));
    assert!(row[0].contains("approved by rita"), "{row:?}");
    assert!(
        !page.has("tr.highlight form"),
        "a resolved request has no buttons"
    );

    // An unknown id says so.
    let page = rita
        .get("/access-requests?user_id=bob&access_request_id=0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("That request does not exist"));
}

#[tokio::test]
async fn approving_from_the_requests_page_restores_access() {
    let c = Console::new().await;
    let mut dev = c.signed_in("dev").await;
    let page = dev.get("/access-requests").await;
    assert_eq!(page.texts("h2")[0], "Open (1)");
    let done = dev.submit(&page, "form[action$='/approve']", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let right = c
        .app()
        .rights()
        .right(&c.world.admin, &id("bob"), &c.world.gitlab, d(8))
        .await
        .unwrap();
    assert!(
        matches!(right.state, RightState::Active { .. }),
        "{right:?}"
    );
    let page = dev.get(done.location.as_deref().unwrap()).await;
    assert_eq!(page.texts(".flash"), ["The request was approved."]);
    assert_eq!(page.texts("h2")[0], "Open (0)");
}

#[tokio::test]
async fn a_forms_way_back_leaves_the_console_for_no_other_site() {
    let c = Console::new().await;
    let mut dev = c.signed_in("dev").await;
    let page = dev.get("/access-requests").await;
    let done = dev
        .submit(
            &page,
            "form[action$='/approve']",
            &[("back", "/\t/evil.example")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let to = done.location.unwrap();
    assert!(to.starts_with("/?"), "{to}");
    assert!(!to.contains("evil"), "{to}");
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let c = Console::new().await;
    let mut ada = c.signed_in("ada").await;
    let path = format!("/access-requests/{}/approve", c.bob_request);
    for token in ["", "forged"] {
        let refused = ada.post(&path, &[("csrf", token)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.text().contains("nothing was changed"));
    }
    // Another session's token is refused too.
    let mut dev = c.signed_in("dev").await;
    let devs = dev.get("/access-requests").await;
    let token = devs
        .html()
        .select(&scraper::Selector::parse("input[name=csrf]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    assert_eq!(
        ada.post(&path, &[("csrf", &token)]).await.status,
        StatusCode::FORBIDDEN
    );
    for (form, fields) in [
        (
            "/resources/gitlab/policy",
            vec![
                ("auto_lock_after", "1d"),
                ("approval", "automatic"),
                ("action", "save"),
            ],
        ),
        ("/users/bob/active", vec![("active", "false")]),
        ("/groups/eng/members/bob/remove", vec![]),
        (
            "/settings/webhook",
            vec![("url", "https://hooks.example.com/x")],
        ),
    ] {
        assert_eq!(
            ada.post(form, &fields).await.status,
            StatusCode::FORBIDDEN,
            "{form}"
        );
    }
    let request = c
        .app()
        .requests()
        .request(&c.world.admin, &c.bob_request)
        .await
        .unwrap();
    assert_eq!(request.status, RequestStatus::Open);
    let gitlab = c
        .app()
        .directory()
        .resource(&c.world.admin, &c.world.gitlab)
        .await
        .unwrap();
    assert_eq!(gitlab.policy.auto_lock_after.to_string(), "7d");
    assert!(
        c.app()
            .directory()
            .user(&c.world.admin, &id("bob"))
            .await
            .unwrap()
            .active
    );
    assert_eq!(
        c.app()
            .directory()
            .group(&c.world.admin, &c.world.eng)
            .await
            .unwrap()
            .members
            .len(),
        2
    );
    assert!(
        c.app()
            .settings()
            .webhook(&c.world.admin)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_sign_in_link_opens_one_session_once() {
    let c = Console::new().await;
    let link = c
        .app()
        .sessions()
        .issue_sign_in_for_user(&id("rita"), chrono::Utc::now())
        .await
        .unwrap();
    let mut b = c.browser();
    // Without a session, a page sends to the sign-in page and comes back after.
    let page = b.get("/access-requests?user_id=bob").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/sign-in?next=%2Faccess-requests%3Fuser_id%3Dbob")
    );
    // Opening the link changes nothing by itself (a mail scanner may fetch it).
    let confirm = b
        .get(&format!("/sign-in/{}?next=%2Fresources", link.token))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        !confirm
            .set_cookies
            .iter()
            .any(|c| c.starts_with("autolock_session="))
    );
    let signed = b.submit(&confirm, "form", &[]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location.as_deref(), Some("/resources"));
    let cookie = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("autolock_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http://: no Secure attribute");
    assert_eq!(b.get("/resources").await.status, StatusCode::OK);

    // The link works once.
    let mut other = c.browser();
    let again = other.get(&format!("/sign-in/{}", link.token)).await;
    let refused = other.submit(&again, "form", &[]).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(other.get("/resources").await.status == StatusCode::SEE_OTHER);

    // Signing out ends the session.
    let page = b.get("/resources").await;
    let out = b.submit(&page, "header form", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/sign-in"));
    assert_eq!(b.get("/resources").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_redeem_form_needs_its_pre_session_and_next_stays_on_this_site() {
    let c = Console::new().await;
    let link = c
        .app()
        .sessions()
        .issue_sign_in_for_user(&id("rita"), chrono::Utc::now())
        .await
        .unwrap();
    // Posted from elsewhere (no pre-session cookie, no token): refused, and the link still works.
    let mut b = c.browser();
    let refused = b.post(&format!("/sign-in/{}", link.token), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for next in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\r\n/evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
    ] {
        let mut b = c.browser();
        let link = c
            .app()
            .sessions()
            .issue_sign_in_for_user(&id("rita"), chrono::Utc::now())
            .await
            .unwrap();
        let confirm = b.get(&format!("/sign-in/{}", link.token)).await;
        let signed = b.submit(&confirm, "form", &[("next", next)]).await;
        assert_eq!(signed.location.as_deref(), Some("/"), "{next}");
    }
    let mut b = c.browser();
    let confirm = b.get(&format!("/sign-in/{}", link.token)).await;
    assert_eq!(
        b.submit(&confirm, "form", &[]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_sign_in_page_emails_a_link_to_an_active_user_and_answers_the_same_for_anyone() {
    let c = Console::new().await;
    let mut b = c.browser();
    let form = b.get("/sign-in").await;
    assert!(form.has("label[for=email]"));
    let known = b
        .submit(&form, "form", &[("email", "rita@example.com")])
        .await;
    let unknown = b
        .submit(&form, "form", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.text(), unknown.text());
    assert!(
        c.outbox.all().is_empty(),
        "sent through the outbox, not on the way"
    );
    c.deliver().await;
    let sign_ins = || -> Vec<_> {
        c.outbox
            .all()
            .into_iter()
            .filter(|m| m.subject == "Sign in to autolock")
            .collect()
    };
    let sent = sign_ins();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "rita@example.com");
    let url = sent[0]
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http://console.test/sign-in/"))
        .unwrap()
        .to_owned();
    let path = url.strip_prefix("http://console.test").unwrap();
    let confirm = b.get(path).await;
    let signed = b.submit(&confirm, "form", &[]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/access-requests").await.status, StatusCode::OK);

    // A deactivated user is sent nothing.
    c.app()
        .directory()
        .set_user_active(&c.world.admin, &id("carol"), false, d(8))
        .await
        .unwrap();
    let form = b.get("/sign-in").await;
    b.submit(&form, "form", &[("email", "carol@example.com")])
        .await;
    c.deliver().await;
    assert_eq!(sign_ins().len(), 1);
}

#[tokio::test]
async fn inactive_users_cannot_sign_in_and_a_deactivated_users_session_stops_working() {
    let c = Console::new().await;
    let link = c
        .app()
        .sessions()
        .issue_sign_in_for_user(&id("dev"), chrono::Utc::now())
        .await
        .unwrap();
    let mut signed_in = c.signed_in("rita").await;
    for user in ["dev", "rita"] {
        c.app()
            .directory()
            .set_user_active(&c.world.admin, &id(user), false, d(8))
            .await
            .unwrap();
    }
    let mut b = c.browser();
    let confirm = b.get(&format!("/sign-in/{}", link.token)).await;
    assert_eq!(
        b.submit(&confirm, "form", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        c.app()
            .sessions()
            .issue_sign_in_for_user(&id("dev"), chrono::Utc::now())
            .await
            .is_err()
    );
    let page = signed_in.get("/access-requests").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.body.contains("release day"));
}

#[tokio::test]
async fn a_reviewer_reads_resources_groups_and_users_but_sees_no_editing_controls() {
    let c = Console::new().await;
    let mut rita = c.signed_in("rita").await;
    let resource = rita.get("/resources/gitlab").await;
    assert!(
        resource
            .text()
            .contains("Users who have not used Gitlab for 7 days")
    );
    for hidden in [
        "form[action$='/policy']",
        "details.menu",
        "form[action$='/grants']",
    ] {
        assert!(!resource.has(hidden), "{hidden}");
    }
    // Approve and deny are hers to use.
    assert!(resource.has("form[action$='/approve']"));
    let user = rita.get("/users/bob").await;
    assert!(!user.has("form[action$='/unlock']"));
    assert!(!user.has("form[action$='/active']"));
    let group = rita.get("/groups/eng").await;
    assert!(!group.has("form[action$='/members']"));
    assert!(!group.has("form[action$='/remove']"));
    // What is hidden is refused too.
    let page = rita.get("/users/bob").await;
    let csrf = page
        .html()
        .select(&scraper::Selector::parse("input[name=csrf]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let refused = rita
        .post("/users/bob/rights/gitlab/unlock", &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_devops_admin_edits_policies_and_unlocks_but_not_the_directory() {
    let c = Console::new().await;
    let mut dev = c.signed_in("dev").await;
    let resource = dev.get("/resources/gitlab").await;
    assert!(resource.has("form[action$='/policy']"));
    assert!(resource.has("details.menu"));
    assert!(!resource.has("button[value=remove]"));
    assert!(!resource.has("form[action='/resources/gitlab/grants']"));
    let user = dev.get("/users/bob").await;
    assert!(user.has("form[action$='/unlock']"));
    assert!(!user.has("form[action$='/active']"));
    // Unlock, with its confirmation.
    assert!(user.texts("details.menu div p")[0].contains("Unlock Bob Member on gitlab now?"));
    let done = dev.submit(&user, "form[action$='/unlock']", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = dev.get(done.location.as_deref().unwrap()).await;
    assert_eq!(page.texts(".flash"), ["Unlocked."]);
    assert!(page.texts("tbody tr")[0].contains("active"));
    // The unlock resolved bob's open request as approved, by dev.
    let request = c
        .app()
        .requests()
        .request(&c.world.admin, &c.bob_request)
        .await
        .unwrap();
    assert_eq!(request.status, RequestStatus::Approved);
    assert_eq!(request.resolved_by.unwrap().as_str(), "dev");
    // Nobody unlocks themselves: no button on one's own page.
    let me = dev.get("/users/dev").await;
    assert!(!me.has("form[action$='/unlock']"));
}

#[tokio::test]
async fn the_policy_change_is_previewed_before_it_is_saved_and_audited() {
    let c = Console::new().await;
    // Carol is unlocked on day 8 (Jan 9th): she locks on Jan 16th at 7 days, Jan 10th at one day.
    c.app()
        .requests()
        .unlock(&c.world.admin, &id("carol"), &c.world.gitlab, d(8))
        .await
        .unwrap();
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/resources/gitlab").await;
    let preview = ada
        .submit(
            &page,
            "form[action$='/policy']",
            &[("auto_lock_after", "1d"), ("button:action", "preview")],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(
        preview
            .texts("h2")
            .contains(&"Preview of the change".to_owned())
    );
    assert_eq!(preview.texts(".stats .card .n")[..3], ["1", "1", "1"]);
    let who = preview.texts("table:has(th) tbody tr");
    assert!(
        who.iter()
            .any(|r| r == "carol 2026-01-10 00:00 UTC 2026-01-16 00:00 UTC"),
        "{who:?}"
    );
    // Nothing is saved by a preview.
    let gitlab = c
        .app()
        .directory()
        .resource(&c.world.admin, &c.world.gitlab)
        .await
        .unwrap();
    assert_eq!(gitlab.policy.auto_lock_after.to_string(), "7d");
    // The picker keeps the proposed value; saving applies it.
    let saved = ada
        .submit(&preview, "form:has(input[name=action][value=save])", &[])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = ada.get(saved.location.as_deref().unwrap()).await;
    assert_eq!(page.texts(".flash"), ["Saved: the new policy is in force."]);
    let gitlab = c
        .app()
        .directory()
        .resource(&c.world.admin, &c.world.gitlab)
        .await
        .unwrap();
    assert_eq!(gitlab.policy.auto_lock_after.to_string(), "1d");
    // The audit log page shows it.
    let audit = ada
        .get("/audit?target=gitlab&action=policy.duration_changed")
        .await;
    let rows = audit.texts("tbody tr");
    assert!(
        rows.iter()
            .any(|r| r.contains("7d → 1d") && r.contains("ada")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_duration_set_through_the_api_is_shown_as_it_is_in_the_picker() {
    let c = Console::new().await;
    c.app()
        .policies()
        .set_resource_policy(
            &c.world.admin,
            &c.world.gitlab,
            autolock_core::service::PolicyPatch {
                auto_lock_after: Some(autolock_core::policy::AutoLockAfter::parse("36h").unwrap()),
                approval: None,
            },
            d(8),
        )
        .await
        .unwrap();
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/resources/gitlab").await;
    let options = page.texts("#auto_lock_after option");
    assert_eq!(
        options,
        [
            "1 day",
            "7 days",
            "30 days",
            "60 days",
            "90 days",
            "never",
            "36 hours (set through the API)"
        ]
    );
    assert_eq!(
        page.texts("#auto_lock_after option[selected]"),
        ["36 hours (set through the API)"]
    );
}

#[tokio::test]
async fn a_groups_options_menu_sets_an_override_field_by_field_and_an_expiry() {
    let c = Console::new().await;
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/resources/gitlab").await;
    let saved = ada
        .submit(
            &page,
            "form[action='/resources/gitlab/grants/eng']",
            &[
                ("approval", "automatic"),
                ("expires_on", "2026-03-01"),
                ("button:action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let grant = c
        .app()
        .directory()
        .grant_of(&c.world.admin, &c.world.gitlab, &c.world.eng)
        .await
        .unwrap();
    let o = grant.current_override();
    assert_eq!(
        o.approval.map(autolock_core::policy::ApprovalMode::as_str),
        Some("automatic")
    );
    assert_eq!(o.auto_lock_after, None, "duration still inherited");
    assert_eq!(
        grant.current_expiry().unwrap().to_rfc3339(),
        "2026-03-01T00:00:00+00:00"
    );
    let page = ada.get("/resources/gitlab").await;
    let row = &page.texts("table tbody tr")[0];
    assert!(row.contains("7 days inherited"), "{row}");
    assert!(
        row.contains("automatic") && !row.contains("automatic inherited"),
        "{row}"
    );
    assert!(row.contains("2026-03-01"), "{row}");
    // Back to inherit, expiry removed.
    let saved = ada
        .submit(
            &page,
            "form[action='/resources/gitlab/grants/eng']",
            &[
                ("approval", "inherit"),
                ("expires_on", ""),
                ("button:action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let grant = c
        .app()
        .directory()
        .grant_of(&c.world.admin, &c.world.gitlab, &c.world.eng)
        .await
        .unwrap();
    assert_eq!(grant.current_override().approval, None);
    assert_eq!(grant.current_expiry(), None);
    // The group's page shows its access (the table after its members').
    let group = ada.get("/groups/eng").await;
    assert!(group.texts("table")[1].contains("gitlab"));
}

#[tokio::test]
async fn an_admin_gives_a_group_access_and_manages_its_members() {
    let c = Console::new().await;
    c.app()
        .directory()
        .create_group(
            &c.world.admin,
            Some(id("ops")),
            "Ops".parse().unwrap(),
            d(8),
        )
        .await
        .unwrap();
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/resources/gitlab").await;
    let given = ada
        .submit(
            &page,
            "form[action='/resources/gitlab/grants']",
            &[("group_id", "ops"), ("auto_lock_after", "30d")],
        )
        .await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    let grant = c
        .app()
        .directory()
        .grant_of(&c.world.admin, &c.world.gitlab, &id("ops"))
        .await
        .unwrap();
    assert_eq!(
        grant
            .current_override()
            .auto_lock_after
            .unwrap()
            .to_string(),
        "30d"
    );
    let group = ada.get("/groups/ops").await;
    let added = ada
        .submit(
            &group,
            "form[action='/groups/ops/members']",
            &[("user_id", "carol")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let group = ada.get("/groups/ops").await;
    assert!(group.texts("table")[0].contains("Carol Member"));
    let removed = ada
        .submit(
            &group,
            "form[action='/groups/ops/members/carol/remove']",
            &[],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(
        c.app()
            .directory()
            .group(&c.world.admin, &id("ops"))
            .await
            .unwrap()
            .members
            .is_empty()
    );
}

#[tokio::test]
async fn an_admin_deactivates_and_reactivates_a_user() {
    let c = Console::new().await;
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/users/carol").await;
    let done = ada
        .submit(&page, "form[action='/users/carol/active']", &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(
        !c.app()
            .directory()
            .user(&c.world.admin, &id("carol"))
            .await
            .unwrap()
            .active
    );
    let page = ada.get("/users/carol").await;
    assert!(page.text().contains("This user is deactivated"));
    ada.submit(&page, "form[action='/users/carol/active']", &[])
        .await;
    assert!(
        c.app()
            .directory()
            .user(&c.world.admin, &id("carol"))
            .await
            .unwrap()
            .active
    );
    // No deactivate button on one's own page.
    assert!(!ada.get("/users/ada").await.has("form[action$='/active']"));
}

#[tokio::test]
async fn the_settings_page_saves_email_roles_and_shows_a_webhook_secret_once() {
    let c = Console::new().await;
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/settings/notifications").await;
    let saved = ada
        .submit(
            &page,
            "form[action='/settings/notifications']",
            &[
                ("check:email_roles", "access_reviewer"),
                ("uncheck:email_roles", "admin"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let settings = c
        .app()
        .settings()
        .notification_settings(&c.world.admin)
        .await
        .unwrap();
    assert_eq!(
        settings
            .email_roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        ["access_reviewer"]
    );
    let page = ada.get("/settings/notifications").await;
    assert_eq!(
        page.texts("form[action='/settings/notifications'] input[checked]")
            .len(),
        2,
        "emails on, reviewers"
    );
    let set = ada
        .submit(
            &page,
            "form[action='/settings/webhook']",
            &[("url", "https://hooks.example.com/autolock")],
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let secret = set.texts(".secret");
    assert_eq!(secret.len(), 1);
    assert!(secret[0].starts_with("whsec_"), "{secret:?}");
    let again = ada.get("/settings/notifications").await;
    assert!(!again.has(".secret"));
    assert!(again.text().contains("https://hooks.example.com/autolock"));
    let removed = ada
        .submit(&again, "form[action='/settings/webhook/remove']", &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    // The gate's window: shown, refused out of range, saved in range.
    let page = ada.get("/settings/notifications").await;
    assert!(page.has("input[name='usage_window_secs'][value='60']"));
    let refused = ada
        .submit(
            &page,
            "form[action='/settings/gate']",
            &[("usage_window_secs", "7200")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text().contains("usage_window_secs"),
        "{}",
        refused.text()
    );
    let saved = ada
        .submit(
            &page,
            "form[action='/settings/gate']",
            &[("usage_window_secs", "300")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        c.app()
            .settings()
            .gate_settings(&c.world.admin)
            .await
            .unwrap()
            .usage_window_secs,
        300
    );
    assert!(
        c.app()
            .settings()
            .webhook(&c.world.admin)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_member_sees_only_their_own_access_and_asks_for_it_back() {
    let c = Console::new().await;
    let mut carol = c.signed_in("carol").await;
    let home = carol.get("/").await;
    assert_eq!(home.location.as_deref(), Some("/me"));
    let me = carol.get("/me").await;
    let text = me.text();
    assert!(text.contains("gitlab") && text.contains("locked"), "{text}");
    assert!(!text.contains("release day"), "bob's request is not hers");
    assert!(!text.contains("bob"));
    // The block page's form, on her locked right.
    let filed = carol
        .submit(
            &me,
            "form[action='/me/requests']",
            &[("reason", "deploy on call")],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let me = carol.get(filed.location.as_deref().unwrap()).await;
    assert!(me.texts("table").last().unwrap().contains("deploy on call"));
    // Another user's pages are not hers.
    for path in ["/users/bob", "/access-requests", "/resources/gitlab"] {
        let page = carol.get(path).await;
        assert!(
            matches!(page.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{path}: {}",
            page.status
        );
        assert!(!page.text().contains("release day"));
    }
}

#[tokio::test]
async fn the_summary_downloads_are_the_reports_csv() {
    let c = Console::new().await;
    let mut rita = c.signed_in("rita").await;
    for (path, name) in [
        ("/resources/gitlab/summary.csv", "resource-gitlab.csv"),
        ("/groups/eng/summary.csv", "group-eng.csv"),
        ("/users/bob/summary.csv", "user-bob.csv"),
    ] {
        let page: Page = rita.get(path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.content_type, "text/csv; charset=utf-8");
        assert!(
            page.body.starts_with("resource_id,"),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body.contains(",bob,bob@example.com,true,locked,"),
            "{path}: {}",
            page.body
        );
        assert_eq!(page.disposition, format!("attachment; filename=\"{name}\""));
    }
    let missing = rita.get("/resources/nope/summary.csv").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_are_never_cached_framed_or_sent_with_a_referrer() {
    let c = Console::new().await;
    let mut b: Browser = c.signed_in("ada").await;
    let _ = b.get("/me").await;
    let request = axum::http::Request::builder()
        .uri("/sign-in")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(c.router.clone(), request)
        .await
        .unwrap();
    let h = response.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn a_form_larger_than_the_console_reads_is_refused_unread() {
    let c = Console::new().await;
    let mut carol = c.signed_in("carol").await;
    let huge = "x".repeat(autolock_console::MAX_FORM_BYTES + 1);
    let refused = carol
        .post("/me/requests", &[("csrf", "whatever"), ("reason", &huge)])
        .await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_devops_admin_exempts_a_right_and_a_grant_and_ends_an_exemption_early() {
    let c = Console::new().await;
    let mut dev = c.signed_in("dev").await;
    let user = dev.get("/users/carol").await;
    assert!(user.texts("td").iter().any(|t| t.contains("None in force")));
    let done = dev
        .submit(
            &user,
            "form[action='/exemptions']",
            &[
                ("until", "2026-01-20T18:00"),
                ("reason", "quarter-end audit"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = dev.get(done.location.as_deref().unwrap()).await;
    assert_eq!(
        page.texts(".flash"),
        ["The exemption is set: the paths it covers stay open until it ends."]
    );
    let rows = page.texts("tbody tr");
    assert!(
        rows.iter()
            .any(|r| r.contains("quarter-end audit") && r.contains("dev")),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("gitlab")
            && r.contains("exempt until 2026-01-20 18:00 UTC")
            && r.contains("locked since")),
        "the path shows it; carol's lock in force stays: {rows:?}"
    );

    // Too far ahead: a clear error, nothing set.
    let refused = dev
        .submit(
            &page,
            "form[action='/exemptions']",
            &[("until", "2026-09-01T00:00"), ("reason", "forever")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("90 days"), "{}", refused.body);

    // A whole grant, from the group's page; both listed on the resource's page.
    let group = dev.get("/groups/eng").await;
    let done = dev
        .submit(
            &group,
            "form[action='/exemptions']",
            &[("until", "2026-01-31T00:00"), ("reason", "release freeze")],
        )
        .await;
    let group = dev.get(done.location.as_deref().unwrap()).await;
    assert!(
        group
            .texts("tbody tr")
            .iter()
            .any(|r| r.contains("group eng") && r.contains("release freeze"))
    );
    let resource = dev.get("/resources/gitlab").await;
    let listed: Vec<String> = resource
        .texts("tbody tr")
        .into_iter()
        .filter(|r| r.contains("End now"))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");

    // End one now from the resource's page.
    let done = dev
        .submit(
            &resource,
            "form[action^='/exemptions/'][action$='/end']",
            &[],
        )
        .await;
    let resource = dev.get(done.location.as_deref().unwrap()).await;
    assert!(resource.texts(".flash")[0].starts_with("Exemption ended"));
    assert_eq!(
        resource
            .texts("tbody tr")
            .into_iter()
            .filter(|r| r.contains("End now"))
            .count(),
        1
    );
    // A reviewer reads them but has no controls.
    let mut rita = c.signed_in("rita").await;
    let seen = rita.get("/resources/gitlab").await;
    assert!(seen.text().contains("Exemptions from auto-lock"));
    assert!(!seen.has("form[action='/exemptions']"));
    assert!(!seen.has("form[action$='/end']"));
}

#[tokio::test]
async fn a_silent_usage_feed_shows_a_banner_to_those_who_run_autolock() {
    let c = support::Console::with(|app| {
        let window = autolock_core::service::FeedWindow::new(chrono::Duration::hours(6)).unwrap();
        app.reconfigured(app.options().clone().feed_guard(Some(window)))
    })
    .await;
    // The last access event arrived on day 7; the console's clock reads day 8.
    c.world.carol_uses_gitlab(c.app(), "e-day-7", d(7)).await;
    let mut rita = c.signed_in("rita").await;
    let page = rita.get("/resources").await;
    let banner = page.texts(".banner");
    assert_eq!(banner.len(), 1, "{}", page.body);
    assert!(
        banner[0].starts_with("The usage feed is silent since 2026-01-08 06:00 UTC."),
        "{banner:?}"
    );
    let mut bob = c.signed_in("bob").await;
    assert!(!bob.get("/me").await.has(".banner"), "members are not told");
    // Heard again: the banner goes.
    c.world.carol_uses_gitlab(c.app(), "e-day-8", d(8)).await;
    assert!(!rita.get("/resources").await.has(".banner"));
}

#[tokio::test]
async fn policies_as_code_are_planned_and_applied_from_the_console() {
    let c = Console::new().await;
    let mut dev = c.signed_in("dev").await;
    let page = dev.get("/policies").await;
    let file: String = page
        .html()
        .select(&scraper::Selector::parse("textarea#document").unwrap())
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(file.contains("gitlab:\n    auto_lock_after: 7d"), "{file}");
    let edited = file.replacen("auto_lock_after: 7d", "auto_lock_after: 30d", 1);
    let planned = dev
        .submit(
            &page,
            "form[action='/policies/plan']",
            &[("document", &edited)],
        )
        .await;
    assert_eq!(planned.status, StatusCode::OK, "{}", planned.body);
    let rows = planned.texts("tbody tr");
    assert!(
        rows.iter().any(|r| r.contains("gitlab")
            && r.contains("auto_lock_after")
            && r.contains("7d")
            && r.contains("30d")),
        "{rows:?}"
    );
    assert_eq!(
        c.app()
            .directory()
            .resource(&c.world.admin, &c.world.gitlab)
            .await
            .unwrap()
            .policy
            .auto_lock_after
            .to_string(),
        "7d",
        "planning changes nothing"
    );
    let done = dev
        .submit(&planned, "form[action='/policies/apply']", &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = dev.get(done.location.as_deref().unwrap()).await;
    assert_eq!(
        page.texts(".flash"),
        ["The changes were applied; each is in the audit log."]
    );
    assert_eq!(
        c.app()
            .directory()
            .resource(&c.world.admin, &c.world.gitlab)
            .await
            .unwrap()
            .policy
            .auto_lock_after
            .to_string(),
        "30d"
    );
    // A broken file is refused, naming where.
    let broken = dev
        .submit(
            &page,
            "form[action='/policies/plan']",
            &[(
                "document",
                "resources:\n  gitlab:\n    auto_lock_after: soon\n",
            )],
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert!(broken.text().contains("auto_lock_after"), "{}", broken.body);
    // A reviewer reads the file, with no form.
    let mut rita = c.signed_in("rita").await;
    let seen = rita.get("/policies").await;
    assert!(seen.text().contains("auto_lock_after: 30d"));
    assert!(!seen.has("form[action='/policies/plan']"));
    let yaml = rita.get("/policies.yaml").await;
    assert!(yaml.content_type.starts_with("application/yaml"));
}

#[tokio::test]
async fn a_sign_in_to_the_console_is_audited() {
    use autolock_core::audit::{AuditAction, AuditFilter};
    use autolock_core::ports::PageRequest;
    let c = Console::new().await;
    let _rita = c.signed_in("rita").await;
    let filter = AuditFilter {
        action: Some(AuditAction::SignedIn),
        ..AuditFilter::default()
    };
    let entries = c
        .world
        .store
        .audit(&filter, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0]
            .actor
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("rita")
    );
    assert_eq!(entries[0].details["method"], "link");
}

#[tokio::test]
async fn a_policy_file_bomb_is_refused_before_it_is_read_and_bounded_when_it_is() {
    let c = Console::new().await;
    let mut bomb = String::from(
        "resources:\n  gitlab:\n    auto_lock_after: 7d\n    approval: manual\n    grants: &g\n      eng: {auto_lock_after: 30d}\n",
    );
    // Within the console's 64 KiB forms: each alias would expand the anchor's grants again.
    for i in 0..700 {
        bomb.push_str(&format!("  r{i}: {{grants: *g}}\n"));
    }
    // A member may not plan: refused before a byte of the file is parsed.
    let mut bob = c.signed_in("bob").await;
    let me = bob.get("/me").await;
    let csrf = me
        .html()
        .select(&scraper::Selector::parse("input[name=csrf]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let refused = bob
        .post("/policies/plan", &[("csrf", &csrf), ("document", &bomb)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // An admin's plan of it is a 400 that says why, at once.
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/policies").await;
    let started = std::time::Instant::now();
    let answer = ada
        .submit(
            &page,
            "form[action='/policies/plan']",
            &[("document", &bomb)],
        )
        .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(
        answer.text().contains("aliases (*name) are not allowed"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn a_notice_comes_from_a_fixed_set_never_from_the_url() {
    let c = Console::new().await;
    let mut bob = c.signed_in("bob").await;
    for q in [
        "notice=Your+account+is+locked%3A+call+555-0100",
        "done=Your+account+is+locked%3A+call+555-0100",
        "notice=%3Cb%3Ehi%3C%2Fb%3E",
    ] {
        let page = bob.get(&format!("/me?{q}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.texts(".flash").is_empty(),
            "{q}: {:?}",
            page.texts(".flash")
        );
        assert!(!page.body.contains("555-0100"), "{q}");
    }
    let page = bob.get("/me?notice=request_sent").await;
    assert_eq!(
        page.texts(".flash"),
        ["Your request was sent to the approvers. You will be emailed when it is decided."]
    );
}

#[tokio::test]
async fn sign_in_emails_are_limited_per_address_and_per_client() {
    let c = Console::new().await;
    let mut b = c.browser();
    for _ in 0..10 {
        let form = b.get("/sign-in").await;
        let answer = b
            .submit(&form, "form", &[("email", "rita@example.com")])
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.text().contains("Check your email"));
    }
    c.deliver().await;
    let to_rita = c
        .outbox
        .all()
        .into_iter()
        .filter(|m| m.to.as_str() == "rita@example.com" && m.subject == "Sign in to autolock")
        .count();
    assert_eq!(
        to_rita, 1,
        "one email per address a minute, however often asked"
    );

    // One client asking for many addresses: five a minute.
    let now = chrono::Utc::now();
    let mut admitted = 0;
    for i in 0..8 {
        let email = format!("someone{i}@example.com").parse().unwrap();
        if c.app()
            .sessions()
            .request_sign_in(&email, "/", Some("203.0.113.7"), now, d(8))
            .await
            .unwrap()
        {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5);
    // Another client is not held back by that one.
    let email = "someone-else@example.com".parse().unwrap();
    assert!(
        c.app()
            .sessions()
            .request_sign_in(&email, "/", Some("198.51.100.2"), now, d(8))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn signing_out_everywhere_or_by_an_admin_ends_every_session_of_the_user() {
    let c = Console::new().await;
    let mut here = c.signed_in("rita").await;
    let mut there = c.signed_in("rita").await;
    assert_eq!(there.get("/access-requests").await.status, StatusCode::OK);
    let me = here.get("/me").await;
    let out = here.submit(&me, "form.everywhere", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        there.get("/access-requests").await.status,
        StatusCode::SEE_OTHER,
        "the other browser's session is over too"
    );
    // A sign-in afterwards works.
    let mut again = c.signed_in("rita").await;
    assert_eq!(again.get("/access-requests").await.status, StatusCode::OK);

    // An admin ends rita's sessions from her page.
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/users/rita").await;
    let ended = ada
        .submit(&page, "form[action='/users/rita/sessions/end']", &[])
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    assert_eq!(
        again.get("/access-requests").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ada.get("/access-requests").await.status, StatusCode::OK);
    // A member may not end another's sessions.
    let mut bob = c.signed_in("bob").await;
    let me = bob.get("/me").await;
    let csrf = me
        .html()
        .select(&scraper::Selector::parse("input[name=csrf]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let refused = bob
        .post("/users/ada/sessions/end", &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(ada.get("/access-requests").await.status, StatusCode::OK);
}

#[tokio::test]
async fn on_https_cookies_carry_the_host_prefix_and_browsers_are_told_to_keep_to_https() {
    let c = Console::over_https().await;
    let mut b = c.browser();
    let form = b.get("/sign-in").await;
    assert!(
        form.set_cookies
            .iter()
            .any(|c| c.starts_with("__Host-autolock_pre=")
                && c.contains("Secure")
                && c.contains("Path=/")),
        "{:?}",
        form.set_cookies
    );
    let link = c
        .app()
        .sessions()
        .issue_sign_in_for_user(&id("rita"), chrono::Utc::now())
        .await
        .unwrap();
    let confirm = b.get(&format!("/sign-in/{}", link.token)).await;
    let signed = b.submit(&confirm, "form", &[]).await;
    assert!(
        signed
            .set_cookies
            .iter()
            .any(|c| c.starts_with("__Host-autolock_session=") && c.contains("Secure")),
        "{:?}",
        signed.set_cookies
    );
    let page = b.get("/access-requests").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.hsts.starts_with("max-age="), "{}", page.hsts);
    // On http (the demo's loopback) the names stay plain: browsers refuse the prefix there.
    let plain = Console::new().await;
    let form = plain.browser().get("/sign-in").await;
    assert!(
        form.set_cookies
            .iter()
            .any(|c| c.starts_with("autolock_pre="))
    );
    assert!(form.hsts.is_empty());
}

#[tokio::test]
async fn the_settings_page_sets_slack_and_never_shows_its_secrets() {
    let c = Console::new().await;
    let mut ada = c.signed_in("ada").await;
    let page = ada.get("/settings/notifications").await;
    assert!(
        !page.has("form[action='/settings/slack/test']"),
        "nothing to test yet"
    );
    let saved = ada
        .submit(
            &page,
            "form[action='/settings/slack']",
            &[
                ("channel", "C0APPROVALS"),
                ("bot_token", "xoxb-1111-2222-secret"),
                ("signing_secret", "a-signing-secret-value"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = ada.get("/settings/notifications").await;
    assert!(
        page.text().contains("Posting to C0APPROVALS : on."),
        "{}",
        page.text()
    );
    assert!(page.has("form[action='/settings/slack/test']"));
    assert!(!page.body.contains("xoxb-1111"), "the token is never shown");
    assert!(!page.body.contains("a-signing-secret-value"));
    assert!(page.has("input[name='bot_token'][placeholder='set — leave empty to keep it']"));
    // Turned off with the secrets left empty: they stay.
    let off = ada
        .submit(
            &page,
            "form[action='/settings/slack']",
            &[("channel", "C0APPROVALS"), ("uncheck:enabled", "on")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let slack = c
        .app()
        .settings()
        .slack(&c.world.admin)
        .await
        .unwrap()
        .unwrap();
    assert!(!slack.enabled);
    assert!(slack.bot_token_set && slack.signing_secret_set);
    let page = ada.get("/settings/notifications").await;
    let refused = ada
        .submit(
            &page,
            "form[action='/settings/slack']",
            &[("channel", "two words")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("channel"), "{}", refused.text());
    let page = ada.get("/settings/notifications").await;
    let removed = ada
        .submit(&page, "form[action='/settings/slack/remove']", &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(
        c.app()
            .settings()
            .slack(&c.world.admin)
            .await
            .unwrap()
            .is_none()
    );
}
