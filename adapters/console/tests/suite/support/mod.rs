//! A console over a seeded SQLite world, and a cookie-keeping client that signs in the way a
//! browser does: it opens the sign-in link, reads the form and posts it back.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use autolock_console::{ConsoleConfig, ConsoleState};
use autolock_core::delivery::{EmailMessage, WebhookMessage, WebhookSettings};
use autolock_core::events::OutboxEntry;
use autolock_core::notify::Notifier;
use autolock_core::ports::{
    Clock, EmailError, EmailSender, EventPublisher, ManualClock, StoreResult, SystemClock,
    WebhookResponse, WebhookSender,
};
use autolock_core::service::Autolock;
use autolock_core::values::SigningKeys;
use autolock_tests::world::{World, d, id};

/// The emails the console sent, kept for the test to read.
#[derive(Debug, Default, Clone)]
pub struct Outbox(Arc<Mutex<Vec<EmailMessage>>>);

impl Outbox {
    pub fn all(&self) -> Vec<EmailMessage> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send(&self, email: &EmailMessage) -> Result<(), EmailError> {
        self.0.lock().unwrap().push(email.clone());
        Ok(())
    }
}

/// A webhook sender for a console that sends no webhooks.
struct NoWebhook;

#[async_trait]
impl WebhookSender for NoWebhook {
    async fn send(&self, _: &WebhookSettings, _: &WebhookMessage) -> WebhookResponse {
        WebhookResponse {
            status: None,
            retry_after: None,
            latency_ms: 0,
            error: Some("no webhooks here".into()),
        }
    }
}

/// The outbox relayed straight to the notifier, as the local runtime relays it.
struct Direct(Notifier);

#[async_trait]
impl EventPublisher for Direct {
    async fn publish(&self, entries: &[OutboxEntry]) -> StoreResult<Vec<String>> {
        let mut done = Vec::new();
        for e in entries {
            if self.0.handle(e, d(8)).await.is_ok() {
                done.push(e.id.clone());
            }
        }
        Ok(done)
    }
}

/// The seeded world (docs of `World::seed`: gitlab, 7 days, manual; group eng with bob and
/// carol), eight days on: bob and carol are locked out of gitlab, and bob asks to get back in.
pub struct Console {
    pub world: World,
    pub router: axum::Router,
    pub outbox: Outbox,
    pub clock: Arc<ManualClock>,
    pub bob_request: autolock_core::ids::RequestId,
    notifier: Notifier,
}

impl Console {
    pub async fn new() -> Self {
        Self::with(|app| app).await
    }

    /// The console over the seeded world, its use cases set up by `setup`.
    pub async fn with(setup: impl FnOnce(Autolock) -> Autolock) -> Self {
        Self::at("http://console.test", setup).await
    }

    /// The same console served at an https address.
    pub async fn over_https() -> Self {
        Self::at("https://console.test", |app| app).await
    }

    async fn at(base: &str, setup: impl FnOnce(Autolock) -> Autolock) -> Self {
        let mut world =
            World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
        world.app = setup(world.app.clone());
        world.app.sweep().sweep(d(8), 100).await.unwrap();
        let filed = world
            .app
            .requests()
            .file_request(
                &world.bob,
                &world.gitlab,
                "release day".parse().unwrap(),
                d(8),
            )
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(d(8)));
        let outbox = Outbox::default();
        let state = ConsoleState::new(
            world.app.clone(),
            Arc::clone(&clock) as Arc<dyn Clock>,
            Arc::new(SystemClock),
            ConsoleConfig {
                console_base_url: base.into(),
                session_keys: SigningKeys::new(b"a-session-key-of-32-bytes-or-more!", None)
                    .unwrap(),
            },
        );
        let notifier = Notifier::new(
            Arc::clone(&world.store),
            Arc::new(outbox.clone()),
            Arc::new(NoWebhook),
            base,
        )
        .with_real_time(Arc::new(SystemClock));
        Self {
            router: autolock_console::router(state),
            notifier,
            bob_request: filed.request.id,
            world,
            outbox,
            clock,
        }
    }

    pub fn app(&self) -> &Autolock {
        &self.world.app
    }

    /// Relays what the outbox holds to the notifier, as the tick does: the emails it sends land
    /// in `outbox`.
    pub async fn deliver(&self) {
        self.app()
            .sweep()
            .relay(&Direct(self.notifier.clone()), 100)
            .await
            .unwrap();
    }

    /// A browser with no session.
    pub fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookies: HashMap::new(),
        }
    }

    /// A browser signed in as `user`, through a one-time link as the CLI prints it.
    pub async fn signed_in(&self, user: &str) -> Browser {
        let link = self
            .app()
            .sessions()
            .issue_sign_in_for_user(&id(user), chrono::Utc::now())
            .await
            .unwrap();
        let mut b = self.browser();
        let page = b.get(&format!("/sign-in/{}", link.token)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let answer = b.submit(&page, "form", &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        b
    }
}

/// An answer: status, `Location`, `Set-Cookie` values and body.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub content_type: String,
    pub disposition: String,
    /// `Strict-Transport-Security`, if sent.
    pub hsts: String,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    /// The text of the elements matching `selector`, whitespace collapsed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let s = scraper::Selector::parse(selector).unwrap();
        self.html()
            .select(&s)
            .map(|e| e.text().collect::<Vec<_>>().join(" "))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn has(&self, selector: &str) -> bool {
        !self.texts(selector).is_empty()
    }

    /// The whole visible text, whitespace collapsed.
    pub fn text(&self) -> String {
        self.texts("body").join(" ")
    }
}

/// A client keeping cookies, as a browser does.
#[derive(Clone)]
pub struct Browser {
    router: axum::Router,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        Page {
            status,
            location: headers
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            set_cookies,
            content_type: headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            disposition: headers
                .get(header::CONTENT_DISPOSITION)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            hsts: headers
                .get(header::STRICT_TRANSPORT_SECURITY)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// POSTs `fields` to `path` as a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Submits the first form of `page` matching `selector` as a browser would: its fields
    /// (hidden ones included, selects at their selected option), with `changes` applied, and
    /// the button named in `changes` as `button:NAME=VALUE` if any.
    pub async fn submit(&mut self, page: &Page, selector: &str, changes: &[(&str, &str)]) -> Page {
        let html = page.html();
        let form_sel = scraper::Selector::parse(selector).unwrap();
        let form = html
            .select(&form_sel)
            .next()
            .unwrap_or_else(|| panic!("no form {selector} in {}", page.body));
        let action = form.value().attr("action").unwrap().to_owned();
        let mut fields: Vec<(String, String)> = Vec::new();
        let inputs = scraper::Selector::parse("input, select, textarea").unwrap();
        let option = scraper::Selector::parse("option").unwrap();
        for field in form.select(&inputs) {
            let Some(name) = field.value().attr("name") else {
                continue;
            };
            let value = match field.value().name() {
                "select" => {
                    let options: Vec<_> = field.select(&option).collect();
                    options
                        .iter()
                        .find(|o| o.value().attr("selected").is_some())
                        .or(options.first())
                        .and_then(|o| o.value().attr("value"))
                        .unwrap_or_default()
                        .to_owned()
                }
                "textarea" => field.text().collect(),
                _ => match field.value().attr("type") {
                    Some("checkbox") if field.value().attr("checked").is_none() => continue,
                    Some("checkbox") => field.value().attr("value").unwrap_or("on").to_owned(),
                    _ => field.value().attr("value").unwrap_or_default().to_owned(),
                },
            };
            fields.push((name.to_owned(), value));
        }
        for (name, value) in changes {
            if let Some(button) = name.strip_prefix("button:") {
                fields.push((button.to_owned(), (*value).to_owned()));
                continue;
            }
            if let Some(unchecked) = name.strip_prefix("uncheck:") {
                fields.retain(|(n, v)| !(n == unchecked && v == value));
                continue;
            }
            if let Some(checked) = name.strip_prefix("check:") {
                fields.push((checked.to_owned(), (*value).to_owned()));
                continue;
            }
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.post(&action, &pairs).await
    }
}
