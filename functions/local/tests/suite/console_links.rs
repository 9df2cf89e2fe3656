//! Every link autolock sends opens the console page of its request, user or resource: the
//! approver email's "Review the request" and the webhook body's `request_url`, `user_url` and
//! `resource_url`, followed on the local runtime's router by a signed-in reviewer.

use std::sync::Arc;
use std::time::Duration;

use autolock_core::notify::Notifier;
use autolock_core::ports::{Clock, ManualClock, Settings};
use autolock_core::values::Role;
use autolock_http::{Hs256, HttpConfig};
use autolock_mail::SpoolSender;
use autolock_tests::webhook::receiver;
use autolock_tests::world::{World, d, id};
use autolock_webhook::HttpWebhookSender;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

const CONSOLE: &str = "http://console.test";

/// GETs or POSTs `path` with `cookies`; answers the status, the `Set-Cookie` pairs and the body.
async fn send(
    router: &axum::Router,
    path: &str,
    cookies: &str,
    form: Option<String>,
) -> (StatusCode, Vec<String>, String) {
    let mut b = Request::builder().uri(path).header(header::COOKIE, cookies);
    let body = match form {
        Some(f) => {
            b = b
                .method("POST")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f)
        }
        None => Body::empty(),
    };
    let response = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let set: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, set, String::from_utf8(bytes.to_vec()).unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_links_in_approver_emails_and_the_webhook_body_open_their_console_pages() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let store = w.store().clone();
    autolock_tests::world::put_settings(
        &store,
        Settings {
            emails_enabled: true,
            email_roles: vec![Role::AccessReviewer],
        },
    )
    .await;
    let (url, hits) = receiver().await;
    autolock_tests::world::put_webhook(&store, Some(autolock_tests::world::webhook(&url))).await;
    let dir = std::env::temp_dir().join(format!("autolock-console-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = Arc::new(SpoolSender::new(&dir, "autolock <autolock@acme.example.com>").unwrap());
    let notifier = Notifier::new(
        store.clone(),
        spool.clone(),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        CONSOLE,
    );
    let clock = Arc::new(ManualClock::new(d(8)));
    let (router, ticker) = autolock_local::wire(autolock_local::Parts {
        app: w.app.clone(),
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
        notifier,
        tokens: Hs256::new(
            b"test-secret-0123456789-0123456789",
            "autolock",
            "http://127.0.0.1:7300",
        )
        .unwrap(),
        link_keys: autolock_core::values::SigningKeys::parse(
            "a block-link key of 32 bytes or more",
        )
        .unwrap(),
        session_keys: autolock_core::values::SigningKeys::parse(
            "a-session-key-of-32-bytes-or-more",
        )
        .unwrap(),
        http: HttpConfig {
            public_base_url: "http://127.0.0.1:7300".into(),
            console_base_url: CONSOLE.into(),
        },
        slack: None,
    });

    // Bob, locked out of gitlab since day 7, asks; the tick tells rita and the webhook.
    let filed = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, "hotfix".parse().unwrap(), d(8))
        .await
        .unwrap();
    ticker.tick(d(8), &|| true).await.unwrap();
    let mail = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains("To: rita@example.com"))
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let review = mail
        .lines()
        .find_map(|l| l.strip_prefix("Review the request: "))
        .unwrap()
        .to_owned();
    let body: serde_json::Value = serde_json::from_str(&hits.lock().unwrap()[0].1).unwrap();

    // Rita signs in with a one-time link, as the CLI prints it.
    let link = w
        .app
        .sessions()
        .issue_sign_in_for_user(&id("rita"), chrono::Utc::now())
        .await
        .unwrap();
    let path = format!("/sign-in/{}", link.token);
    let (_, pre, confirm) = send(&router, &path, "", None).await;
    let form = format!("csrf={}", csrf_of(&confirm));
    let (status, session, _) = send(&router, &path, &pre.join("; "), Some(form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookies = session.join("; ");

    let request_page = format!(
        "/access-requests?user_id=bob&access_request_id={}",
        filed.request.id
    );
    let expected = [
        (
            review.as_str(),
            "class=\"highlight\"",
            request_page.as_str(),
        ),
        (
            body["request_url"].as_str().unwrap(),
            "class=\"highlight\"",
            request_page.as_str(),
        ),
        (
            body["user_url"].as_str().unwrap(),
            "Bob Member",
            "/users/bob",
        ),
        (
            body["resource_url"].as_str().unwrap(),
            "Gitlab",
            "/resources/gitlab",
        ),
    ];
    for (link, shows, path) in expected {
        assert_eq!(link, format!("{CONSOLE}{path}"));
        let (status, _, html) = send(&router, path, &cookies, None).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        assert!(html.contains(shows), "{link} shows {shows}");
    }
    let (_, _, html) = send(&router, &request_page, &cookies, None).await;
    assert!(html.contains(&format!(
        "id=\"request-{}\" class=\"highlight\"",
        filed.request.id
    )));
    let _ = std::fs::remove_dir_all(&dir);
}
