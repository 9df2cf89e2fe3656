//! Approvals in Slack against a fake Slack Web API on loopback (`autolock_tests::slack`): a new
//! request is posted with Approve and Deny, a click signed with Slack's recipe resolves it
//! through the same use case as the console, and the message is updated with the outcome —
//! also when the request is resolved elsewhere. Clicks that are not Slack's, or of someone who
//! may not, change nothing; two approvers at once make one verdict; Slack's rate limit is
//! honoured.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use autolock_core::delivery::{Channel, DeliveryStatus};
use autolock_core::ids::RequestId;
use autolock_core::notify::Notifier;
use autolock_core::ports::{Clock, EmailDisabled, ManualClock, PageRequest, SystemClock};
use autolock_core::request::RequestStatus;
use autolock_core::service::SlackInput;
use autolock_local::NotifierBus;
use autolock_slack::interactions::{Interactions, PATH, signature};
use autolock_slack::{SlackChannel, SlackConfig};
use autolock_tests::slack::FakeSlack;
use autolock_tests::world::{World, d};
use autolock_webhook::HttpWebhookSender;

const CONSOLE: &str = "https://console.acme.example.com";
const TOKEN: &str = "xoxb-1111-2222-test-token";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

struct Slack {
    w: World,
    fake: FakeSlack,
    notifier: Notifier,
    relay: NotifierBus,
    router: axum::Router,
}

async fn setup() -> Slack {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let store = w.store().clone();
    let fake = FakeSlack::start(&[
        ("URITA", "rita@example.com"),
        ("UADA", "ada@example.com"),
        ("UBOB", "bob@example.com"),
        ("UCAROL", "carol@example.com"),
        ("UNOBODY", "nobody@example.com"),
    ])
    .await;
    w.app
        .settings()
        .set_slack(
            &w.admin,
            SlackInput {
                channel: "#approvals".into(),
                enabled: true,
                bot_token: Some(TOKEN.into()),
                signing_secret: Some(SECRET.into()),
            },
            d(8),
        )
        .await
        .unwrap();
    let config = SlackConfig {
        api_url: fake.url.clone(),
        bot_token: None,
        signing_secret: None,
    };
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(EmailDisabled),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        CONSOLE,
    )
    .with_channel(Arc::new(SlackChannel::new(
        store.clone(),
        config.clone(),
        CONSOLE,
    )));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(d(8)));
    let relay = NotifierBus::new(notifier.clone(), Arc::clone(&clock));
    let router = autolock_slack::interactions::router(Interactions::new(
        w.app.clone(),
        store,
        config,
        clock,
        Arc::new(SystemClock),
    ));
    Slack {
        w,
        fake,
        notifier,
        relay,
        router,
    }
}

impl Slack {
    /// Bob, locked on gitlab, asks; the outbox is relayed to the notifier.
    async fn bob_asks(&self) -> RequestId {
        let filed = self
            .w
            .app
            .requests()
            .file_request(
                &self.w.bob,
                &self.w.gitlab,
                "Release 4.2 needs a hotfix".parse().unwrap(),
                d(8),
            )
            .await
            .unwrap();
        self.relay().await;
        filed.request.id
    }

    async fn relay(&self) {
        self.w.app.sweep().relay(&self.relay, 100).await.unwrap();
    }

    /// A click on `action` of the message about `request` by the Slack user `who`, signed with
    /// `secret` (Slack's recipe) as of `age` seconds ago.
    async fn click_signed(
        &self,
        who: &str,
        action: &str,
        request: &RequestId,
        age: i64,
        secret: &str,
    ) -> StatusCode {
        let payload = json!({
            "type": "block_actions",
            "team": {"id": "T0ACME"},
            "user": {"id": who, "team_id": "T0ACME"},
            "channel": {"id": "C0APPROVALS"},
            "message": {"ts": "1767225600.000001"},
            "actions": [{"action_id": action, "block_id": "autolock_request", "value": request.as_str()}],
        });
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let timestamp = (chrono::Utc::now().timestamp() - age).to_string();
        let request = Request::post(PATH)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &timestamp)
            .header(
                "x-slack-signature",
                signature(secret, &timestamp, body.as_bytes()),
            )
            .body(Body::from(body))
            .unwrap();
        self.router.clone().oneshot(request).await.unwrap().status()
    }

    async fn click(&self, who: &str, action: &str, request: &RequestId) -> StatusCode {
        self.click_signed(who, action, request, 0, SECRET).await
    }

    async fn status(&self, request: &RequestId) -> RequestStatus {
        self.w
            .store()
            .request(request)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    fn ephemerals(&self) -> Vec<String> {
        self.fake
            .calls_of("chat.postEphemeral")
            .iter()
            .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn texts(blocks: &Value) -> String {
    blocks.to_string()
}

#[tokio::test]
async fn a_request_is_posted_approved_by_a_click_and_the_message_updated() {
    let s = setup().await;
    let id = s.bob_asks().await;

    let posts = s.fake.calls_of("chat.postMessage");
    assert_eq!(posts.len(), 1, "{:?}", s.fake.calls());
    let post = &posts[0];
    assert_eq!(post.token, TOKEN);
    assert_eq!(post.args["channel"], "#approvals");
    let blocks = texts(&post.args["blocks"]);
    for shown in [
        "Bob Member",
        "Release 4.2 needs a hotfix",
        "Locked since",
        "\"action_id\":\"approve\"",
        "\"action_id\":\"deny\"",
        &format!("\"value\":\"{id}\""),
        &format!("{CONSOLE}/access-requests?user_id=bob&access_request_id={id}"),
    ] {
        assert!(blocks.contains(shown), "{shown} in {blocks}");
    }
    let log =
        s.w.store()
            .deliveries(Channel::Slack, &PageRequest::first(10))
            .await
            .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].status, DeliveryStatus::Sent);
    assert_eq!(log.items[0].attempts[0].status, Some(200));

    // Rita clicks Approve: looked up by her Slack profile's address, the request approved by
    // her, as the console would.
    assert_eq!(s.click("URITA", "approve", &id).await, StatusCode::OK);
    assert_eq!(s.fake.calls_of("users.info").len(), 1);
    let stored = s.w.store().request(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, RequestStatus::Approved);
    assert_eq!(
        stored
            .resolved_by
            .as_ref()
            .map(autolock_core::ids::PrincipalId::as_str),
        Some("rita")
    );
    assert!(s.ephemerals().is_empty(), "{:?}", s.ephemerals());

    // The outcome updates the message posted: the channel's id and its ts, from Slack's answer.
    s.relay().await;
    let updates = s.fake.calls_of("chat.update");
    assert_eq!(updates.len(), 1, "{:?}", s.fake.calls());
    assert_eq!(updates[0].args["channel"], "C0APPROVALS");
    assert_eq!(updates[0].args["ts"], "1767225600.000001");
    let text = updates[0].args["text"].as_str().unwrap();
    assert!(text.contains("approved by Rita Reviewer"), "{text}");
    assert!(
        !texts(&updates[0].args["blocks"]).contains("\"action_id\":\"approve\""),
        "no button left to click"
    );

    // A second click gets the outcome recorded, and changes nothing; her Slack id is now
    // remembered (no second lookup).
    assert_eq!(s.click("URITA", "deny", &id).await, StatusCode::OK);
    assert_eq!(s.status(&id).await, RequestStatus::Approved);
    assert_eq!(s.fake.calls_of("users.info").len(), 1, "remembered");
    assert_eq!(
        s.ephemerals(),
        ["This request was approved already, by Rita Reviewer."]
    );
}

#[tokio::test]
async fn clicks_not_signed_by_slack_or_by_someone_who_may_not_change_nothing() {
    let s = setup().await;
    // Carol becomes a reviewer and asks too: her own request is not hers to decide.
    let patch = autolock_core::service::UserPatch {
        role: Some(autolock_core::values::Role::AccessReviewer),
        ..Default::default()
    };
    s.w.app
        .directory()
        .patch_user(&s.w.admin, &s.w.carol.id, patch, d(8))
        .await
        .unwrap();
    let id = s.bob_asks().await;
    let carols =
        s.w.app
            .requests()
            .file_request(
                &autolock_core::directory::Principal {
                    role: autolock_core::values::Role::AccessReviewer,
                    ..s.w.carol.clone()
                },
                &s.w.gitlab,
                "Reviewing the merge queue".parse().unwrap(),
                d(8),
            )
            .await
            .unwrap()
            .request
            .id;
    s.relay().await;
    let calls_before = s.fake.calls().len();

    // Not Slack's: a replayed click (its timestamp 301 s old), a wrong secret.
    assert_eq!(
        s.click_signed("URITA", "approve", &id, 301, SECRET).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.click_signed("URITA", "approve", &id, 0, "another-signing-secret")
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.fake.calls().len(),
        calls_before,
        "nothing read, nothing asked of Slack"
    );

    // Slack's, but: a member, the requester, someone autolock does not know, someone Slack
    // does not know.
    assert_eq!(s.click("UBOB", "approve", &id).await, StatusCode::OK);
    assert_eq!(s.click("UCAROL", "approve", &carols).await, StatusCode::OK);
    assert_eq!(s.click("UNOBODY", "approve", &id).await, StatusCode::OK);
    assert_eq!(s.click("UGHOST", "deny", &id).await, StatusCode::OK);
    assert_eq!(s.status(&id).await, RequestStatus::Open);
    assert_eq!(s.status(&carols).await, RequestStatus::Open);
    let told = s.ephemerals();
    assert_eq!(told.len(), 4, "{told:?}");
    assert_eq!(
        told[0],
        "Your autolock role (member) may not approve or deny requests."
    );
    assert_eq!(
        told[1],
        "You may not decide your own request: another approver will."
    );
    assert!(
        told[2].starts_with("You are not an autolock user:")
            && told[2].contains("nobody@example.com"),
        "{}",
        told[2]
    );
    assert!(told[3].contains("user_not_found"), "{}", told[3]);
    for call in s.fake.calls_of("chat.postEphemeral") {
        assert_eq!(call.args["channel"], "C0APPROVALS");
    }
    s.relay().await;
    assert!(
        s.fake.calls_of("chat.update").is_empty(),
        "nothing resolved"
    );
}

#[tokio::test]
async fn two_approvers_clicking_at_once_make_one_verdict() {
    let s = setup().await;
    let id = s.bob_asks().await;
    let (a, b) = tokio::join!(
        s.click("URITA", "approve", &id),
        s.click("UADA", "deny", &id)
    );
    assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    let stored = s.w.store().request(&id).await.unwrap().unwrap();
    let (winner, verdict) = match stored.status {
        RequestStatus::Approved => ("Rita Reviewer", "approved"),
        RequestStatus::Denied => ("Ada Admin", "denied"),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s.ephemerals(),
        [format!("This request was {verdict} already, by {winner}.")],
        "the other is told"
    );
    let audit =
        s.w.app
            .reports()
            .audit(
                &s.w.admin,
                &autolock_core::audit::AuditFilter::default(),
                &PageRequest::first(100),
            )
            .await
            .unwrap();
    let resolved = audit
        .items
        .iter()
        .filter(|e| e.action.as_str() == "request.resolved")
        .count();
    assert_eq!(resolved, 1, "one verdict recorded");
    s.relay().await;
    let updates = s.fake.calls_of("chat.update");
    assert_eq!(updates.len(), 1);
    assert!(
        updates[0].args["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{verdict} by {winner}"))
    );
}

#[tokio::test]
async fn a_request_resolved_elsewhere_updates_the_message() {
    let s = setup().await;
    let id = s.bob_asks().await;
    // An admin unlocks bob in the console: his open request is resolved with it.
    s.w.app
        .requests()
        .unlock(&s.w.admin, &s.w.bob.id, &s.w.gitlab, d(8))
        .await
        .unwrap();
    assert_ne!(s.status(&id).await, RequestStatus::Open);
    s.relay().await;
    let updates = s.fake.calls_of("chat.update");
    assert_eq!(updates.len(), 1, "{:?}", s.fake.calls());
    let text = updates[0].args["text"].as_str().unwrap();
    assert!(text.contains("by Ada Admin"), "{text}");
}

#[tokio::test]
async fn slacks_rate_limit_is_honoured_and_the_post_retried() {
    let s = setup().await;
    s.fake.rate_limit_posts(1);
    let _ = s.bob_asks().await;
    let log =
        s.w.store()
            .deliveries(Channel::Slack, &PageRequest::first(10))
            .await
            .unwrap();
    let delivery = &log.items[0];
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.attempts[0].status, Some(429));
    assert_eq!(delivery.attempts[0].error.as_deref(), Some("ratelimited"));
    let next = delivery.next_attempt_at.unwrap();
    assert!(
        next >= d(8) + chrono::Duration::seconds(120),
        "Retry-After: 120 honoured: {next}"
    );
    // Not before then.
    assert_eq!(
        s.notifier
            .retry_due(d(8) + chrono::Duration::seconds(100), 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.notifier.retry_due(next, 10).await.unwrap(),
        1,
        "retried when due"
    );
    assert_eq!(s.fake.calls_of("chat.postMessage").len(), 2);
    let log =
        s.w.store()
            .deliveries(Channel::Slack, &PageRequest::first(10))
            .await
            .unwrap();
    assert_eq!(log.items[0].status, DeliveryStatus::Sent);
}
