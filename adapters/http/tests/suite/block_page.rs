//! The block page, fetched and parsed as HTML: what a locked user sees and what submitting does.

use crate::common;

use autolock_core::policy::OverridePatch;
use autolock_tests::world::d;
use axum::http::StatusCode;
use common::Harness;
use scraper::{Html, Selector};
use serde_json::json;

async fn block_path(t: &Harness, user: &str) -> String {
    let r = t
        .post(
            "/v1/access/check",
            &t.world.gateway.clone(),
            json!({"user_id": user, "resource_id": "gitlab"}),
        )
        .await
        .json();
    let url = r["block_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no block link: {r}"));
    url.strip_prefix(common::PUBLIC).unwrap().to_owned()
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

#[tokio::test]
async fn the_page_shows_the_resource_why_it_is_locked_the_method_and_a_reason_form() {
    let t = Harness::new(d(8)).await;
    let path = block_path(&t, "bob").await;
    let r = t.get_anonymous(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/html"));
    let doc = Html::parse_document(&r.text());
    let h1: String = select(&doc, "h1")[0].text().collect();
    assert_eq!(h1, "Your access to Gitlab is locked");
    let text: String = doc.root_element().text().collect();
    assert!(text.contains("auto-lock after 7 days"), "{text}");
    assert!(text.contains("never used it"), "{text}");
    assert!(
        text.contains("access locked on 2026-01-08 00:00 UTC"),
        "{text}"
    );
    assert!(text.contains("Manual approval"), "{text}");
    let form = &select(&doc, "form")[0];
    assert_eq!(form.value().attr("method"), Some("post"));
    assert_eq!(form.value().attr("action"), Some(path.as_str()));
    assert_eq!(
        select(&doc, "form textarea[name=reason][required]").len(),
        1
    );
    assert_eq!(select(&doc, "form button[type=submit]").len(), 1);
    assert!(select(&doc, "script").is_empty(), "no JavaScript");
}

#[tokio::test]
async fn a_manual_request_is_sent_once_per_link() {
    let t = Harness::new(d(8)).await;
    let path = block_path(&t, "bob").await;
    let r = t.post_form(&path, "reason=").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let doc = Html::parse_document(&r.text());
    assert!(
        select(&doc, "[role=alert]")[0]
            .text()
            .collect::<String>()
            .contains("1 to 1000")
    );
    assert_eq!(
        t.world.store().count_open().await.unwrap(),
        0,
        "nothing filed"
    );

    let r = t.post_form(&path, "reason=Release+day%21").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Request sent"));
    let open = t
        .get("/v1/access-requests", &t.world.reviewer.clone())
        .await
        .json();
    assert_eq!(open["items"][0]["reason"], "Release day!");
    assert_eq!(open["items"][0]["user"], "bob");
    let again = t.post_form(&path, "reason=again").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text().contains("Link already used"));
}

#[tokio::test]
async fn automatic_approval_unlocks_and_continues_to_the_resource() {
    let t = Harness::new(d(8)).await;
    let w = &t.world;
    let grant = w
        .store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    w.app
        .policies()
        .set_grant_override(
            &w.admin,
            &grant.id,
            serde_json::from_value::<OverridePatch>(json!({"approval": "automatic"})).unwrap(),
            d(8),
        )
        .await
        .unwrap();
    let path = block_path(&t, "bob").await;
    let page: String = Html::parse_document(&t.get_anonymous(&path).await.text())
        .root_element()
        .text()
        .collect();
    assert!(page.contains("Automatic approval"), "{page}");
    let r = t.post_form(&path, "reason=on+call").await;
    // On to the resource: not a redirect, which browsers refuse after a form to another origin.
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("refresh"),
        Some("0; url=https://gitlab.example.com")
    );
    let link: Vec<String> = Html::parse_document(&r.text())
        .select(&scraper::Selector::parse("a[href]").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(link, ["https://gitlab.example.com"]);
    let check = t
        .post(
            "/v1/access/check",
            &w.gateway.clone(),
            json!({"user_id": "bob", "resource_id": "gitlab"}),
        )
        .await
        .json();
    assert_eq!(check["decision"], "allow");
}

#[tokio::test]
async fn a_resource_without_a_web_address_says_reconnect() {
    let t = Harness::new(d(0)).await;
    let w = &t.world;
    let admin = w.admin.clone();
    t.post("/v1/resources", &admin, json!({"id": "db", "name": "Database", "address": "db.internal:5432", "policy": {"auto_lock_after": "1d", "approval": "automatic"}})).await;
    t.post(
        "/v1/resources/db/grants",
        &admin,
        json!({"group_id": "eng"}),
    )
    .await;
    t.clock.set(d(2)).unwrap();
    let r = t
        .post(
            "/v1/access/check",
            &w.gateway.clone(),
            json!({"user_id": "bob", "resource_id": "db"}),
        )
        .await
        .json();
    let path = r["block_url"]
        .as_str()
        .unwrap()
        .strip_prefix(common::PUBLIC)
        .unwrap()
        .to_owned();
    let r = t.post_form(&path, "reason=migration").await;
    assert_eq!(r.status, StatusCode::OK);
    let text: String = Html::parse_document(&r.text())
        .root_element()
        .text()
        .collect();
    assert!(
        text.contains("Access to Database is restored: reconnect to continue."),
        "{text}"
    );
}

#[tokio::test]
async fn a_link_works_for_its_own_user_and_resource_only_and_for_an_hour() {
    let t = Harness::new(d(8)).await;
    let bobs = block_path(&t, "bob").await;
    let carols = block_path(&t, "carol").await;
    // Carol's signature on Bob's claims is no link at all.
    let (bob_claims, _) = bobs.rsplit_once('.').unwrap();
    let (_, carol_signature) = carols.rsplit_once('.').unwrap();
    let forged = format!("{bob_claims}.{carol_signature}");
    assert_eq!(t.get_anonymous(&forged).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.post_form(&forged, "reason=x").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.world.store().count_open().await.unwrap(), 0);
    t.clock.advance(chrono::Duration::hours(1)).unwrap();
    let r = t.get_anonymous(&bobs).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.text().contains("Link expired"));
}

#[tokio::test]
async fn a_deactivated_user_or_a_resource_gone_gets_a_clear_page_not_an_error() {
    let t = Harness::new(d(8)).await;
    let path = block_path(&t, "bob").await;
    t.world
        .app
        .directory()
        .set_user_active(&t.world.admin, &t.world.bob.id, false, d(8))
        .await
        .unwrap();
    for r in [
        t.get_anonymous(&path).await,
        t.post_form(&path, "reason=need+it").await,
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.content_type.starts_with("text/html"));
        assert!(
            r.text().contains("Your account is deactivated"),
            "{}",
            r.text()
        );
    }
    // A link (validly signed) naming a resource that does not exist.
    let token = autolock_http::LinkSigner::new(common::link_keys()).sign(
        &t.world.carol.id,
        &"ghost".parse().unwrap(),
        d(8),
    );
    let ghost = format!("/block/{token}");
    for r in [
        t.get_anonymous(&ghost).await,
        t.post_form(&ghost, "reason=need+it").await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.text().contains("no longer exists"), "{}", r.text());
    }
}

#[tokio::test]
async fn block_pages_are_never_cached_framed_or_sent_as_a_referrer() {
    let t = Harness::new(d(8)).await;
    let path = block_path(&t, "bob").await;
    let request = axum::http::Request::builder()
        .uri(&path)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(t.router.clone(), request)
        .await
        .unwrap();
    let h = response.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    // The harness serves at https://autolock.test: browsers are told to keep to https.
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}
