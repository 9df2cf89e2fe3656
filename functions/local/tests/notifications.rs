//! The notification flow on the local runtime's parts: lock -> request -> approvers emailed per
//! the settings (spool) and the webhook received with the exact body -> approve -> requester
//! emailed; a duplicate relay sends nothing twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autolock_core::notify::{Notifier, WebhookSettings, generate_secret};
use autolock_core::ports::{Clock, ManualClock, Settings};
use autolock_core::request::Verdict;
use autolock_core::values::Role;
use autolock_local::LocalRelay;
use autolock_mail::SpoolSender;
use autolock_tests::world::{World, d};
use autolock_webhook::{HttpWebhookSender, verify};

type Hits = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;

async fn receiver() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let h = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let h = Arc::clone(&h);
            async move {
                h.lock().unwrap().push((headers, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn spool_files(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn approvers_and_the_webhook_hear_of_a_request_and_the_requester_of_the_outcome() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let store = w.store().clone();
    store
        .put_settings(&Settings {
            emails_enabled: true,
            email_roles: vec![Role::Admin, Role::AccessReviewer],
        })
        .await
        .unwrap();
    let (url, hits) = receiver().await;
    let hook = WebhookSettings {
        url,
        secret: generate_secret(),
    };
    store.put_webhook(Some(&hook)).await.unwrap();
    // Carol, an inactive admin, is never emailed.
    w.app
        .update_user(
            &w.admin,
            autolock_core::directory::User {
                role: Role::Admin,
                ..store.user(&w.carol.id).await.unwrap().unwrap()
            },
        )
        .await
        .unwrap();
    w.app
        .set_user_active(&w.admin, &w.carol.id, false, d(0))
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(format!("autolock-local-mail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = SpoolSender::new(&dir, "autolock <autolock@acme.example.com>").unwrap();
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(spool),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5)).unwrap()),
        "https://console.acme.example.com",
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(d(8)));
    let relay = LocalRelay::new(notifier.clone(), Arc::clone(&clock));

    // Bob is locked since day 7 and asks.
    let filed = w
        .app
        .file_request(
            &w.bob,
            &w.gitlab,
            "Release 4.2 needs a hotfix".parse().unwrap(),
            d(8),
        )
        .await
        .unwrap();
    w.app.relay(&relay, 100).await.unwrap();
    let mails = spool_files(&dir);
    let to: Vec<&str> = mails
        .iter()
        .map(|m| m.lines().find(|l| l.starts_with("To: ")).unwrap())
        .collect();
    let mut to: Vec<String> = to.into_iter().map(str::to_owned).collect();
    to.sort();
    assert_eq!(
        to,
        ["To: ada@example.com", "To: rita@example.com"],
        "admins and reviewers; not the requester, not the inactive"
    );
    assert!(
        mails
            .iter()
            .all(|m| m.contains("Release 4.2 needs a hotfix")
                && m.contains("text/plain")
                && m.contains("text/html"))
    );
    let unfolded: Vec<String> = mails
        .iter()
        .map(|m| {
            m.replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
        })
        .collect();
    assert!(
        unfolded.iter().all(|m| m.contains(&format!(
            "https://console.acme.example.com/access-requests?user_id=bob&access_request_id={}",
            filed.request.id
        ))),
        "{unfolded:?}"
    );

    let received = hits.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    let header = |n: &str| headers[n].to_str().unwrap().to_owned();
    assert!(verify(
        &hook.secret,
        &header("webhook-id"),
        header("webhook-timestamp").parse().unwrap(),
        body,
        &header("webhook-signature")
    ));
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        json.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        [
            "reason",
            "request_id",
            "request_url",
            "requested_at",
            "resource_name",
            "resource_url",
            "type",
            "user_name",
            "user_url",
            "version"
        ]
        .map(String::from),
        "exactly the fields of the design (listed sorted)"
    );

    // The same domain event again (a redelivery) sends nothing.
    let created = autolock_core::events::OutboxEntry {
        id: store
            .deliveries(autolock_core::notify::Channel::Webhook, &Default::default())
            .await
            .unwrap()
            .items[0]
            .event_id
            .clone(),
        at: d(8),
        event: autolock_core::events::DomainEvent::RequestCreated {
            request: filed.request.clone(),
        },
    };
    let again = notifier.handle(&created, d(8)).await.unwrap();
    assert_eq!((again.attempted, again.duplicates), (0, 3));
    assert_eq!(spool_files(&dir).len(), 2);
    // An approval: the requester hears the outcome; approvers are not emailed again.
    w.app
        .resolve(
            &w.reviewer,
            &filed.request.id,
            Verdict::Approve,
            d(8) + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    w.app.relay(&relay, 100).await.unwrap();
    let mails = spool_files(&dir);
    assert_eq!(mails.len(), 3);
    let outcome = mails
        .iter()
        .find(|m| m.contains("To: bob@example.com"))
        .expect("the requester is emailed");
    assert!(
        outcome.contains("Subject: Access to Gitlab restored"),
        "{outcome}"
    );
    assert_eq!(
        hits.lock().unwrap().len(),
        1,
        "only a new open request calls the webhook"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
