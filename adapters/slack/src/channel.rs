//! Slack as a notification channel: a new open request posted with its buttons, and the same
//! message updated when the request is resolved, wherever that happens.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use autolock_core::Timestamp;
use autolock_core::delivery::{Channel, ChatMessage, ChatPost, Content, Delivery, SlackSettings};
use autolock_core::error::Result;
use autolock_core::notify::messages::{slack_outcome_message, slack_request_message};
use autolock_core::ports::{Notice, NotificationChannel, Planned, Sent, Store};

use crate::{SlackApi, SlackConfig};

/// Slack, the channel.
#[derive(Clone)]
pub struct SlackChannel {
    store: Arc<dyn Store>,
    api: SlackApi,
    config: SlackConfig,
    console_base_url: String,
}

impl std::fmt::Debug for SlackChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackChannel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SlackChannel {
    /// The channel over `store` (its settings, where messages were posted), talking to Slack
    /// as `config` says; links point at `console_base_url`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, config: SlackConfig, console_base_url: &str) -> Self {
        Self {
            api: SlackApi::new(&config.api_url),
            store,
            config,
            console_base_url: console_base_url.to_owned(),
        }
    }

    /// Slack's settings and the bot token in force, when Slack is set and has a token.
    async fn configured(&self) -> Result<Option<(SlackSettings, String)>> {
        let Some(settings) = self.store.slack().await? else {
            return Ok(None);
        };
        Ok(self
            .config
            .bot_token(&settings)
            .map(str::to_owned)
            .map(|token| (settings, token)))
    }
}

#[async_trait]
impl NotificationChannel for SlackChannel {
    fn channel(&self) -> Channel {
        Channel::Slack
    }

    async fn plan(&self, _event_id: &str, notice: &Notice<'_>) -> Result<Vec<Planned>> {
        let console = self.console_base_url.as_str();
        Ok(match *notice {
            Notice::NewRequest {
                request,
                user,
                resource,
            } => match self.configured().await? {
                Some((settings, _)) if settings.enabled => vec![Planned {
                    recipient: settings.channel,
                    content: Content::Slack(slack_request_message(
                        console, request, user, resource,
                    )),
                }],
                _ => Vec::new(),
            },
            // The message posted about it, if one was, takes the outcome (even with Slack
            // turned off since: no button on it stays clickable).
            Notice::Resolved {
                request,
                user,
                resource,
            } => {
                let Some(post) = self.store.chat_post(request.id.as_str()).await? else {
                    return Ok(Vec::new());
                };
                if self.configured().await?.is_none() {
                    return Ok(Vec::new());
                }
                let decider = crate::decider(self.store.as_ref(), request).await?;
                vec![Planned {
                    recipient: post.channel,
                    content: Content::Slack(slack_outcome_message(
                        console,
                        request,
                        user,
                        resource,
                        decider.as_deref(),
                    )),
                }]
            }
            _ => Vec::new(),
        })
    }

    async fn deliver(&self, delivery: &Delivery, now: Timestamp) -> Result<Sent> {
        let Content::Slack(message) = &delivery.content else {
            return Ok(Sent::final_failure(
                now,
                "the delivery is not of this channel",
            ));
        };
        let Some((_, token)) = self.configured().await? else {
            return Ok(Sent::final_failure(now, "Slack is not set up any more"));
        };
        if message.update {
            return self.update(message, &token, now).await;
        }
        let answer = self
            .api
            .call_json(
                "chat.postMessage",
                &token,
                &json!({
                    "channel": delivery.recipient,
                    "text": message.text,
                    "blocks": message.blocks,
                    "unfurl_links": false,
                }),
            )
            .await;
        if answer.ok() {
            // Kept so that the outcome can update it: the channel's id, and the message's ts.
            if let (Some(channel), Some(ts)) = (answer.field("channel"), answer.field("ts")) {
                self.store
                    .keep_chat_post(&ChatPost {
                        request: message.request.clone(),
                        channel: channel.to_owned(),
                        ts: ts.to_owned(),
                    })
                    .await?;
            }
        }
        Ok(answer.sent(now))
    }

    async fn test_message(&self, id: &str, _now: Timestamp) -> Result<Option<Planned>> {
        let Some((settings, _)) = self.configured().await? else {
            return Ok(None);
        };
        let text = "autolock can post here: new access requests will arrive in this channel.";
        Ok(Some(Planned {
            recipient: settings.channel,
            content: Content::Slack(ChatMessage {
                request: id.to_owned(),
                text: text.to_owned(),
                blocks: json!([{"type": "section", "text": {"type": "mrkdwn", "text": text}}]),
                update: false,
            }),
        }))
    }
}

impl SlackChannel {
    /// Updates the message posted about the request with `message`.
    async fn update(&self, message: &ChatMessage, token: &str, now: Timestamp) -> Result<Sent> {
        let Some(post) = self.store.chat_post(&message.request).await? else {
            return Ok(Sent::final_failure(
                now,
                "no message was posted about this request",
            ));
        };
        let answer = self
            .api
            .call_json(
                "chat.update",
                token,
                &json!({
                    "channel": post.channel,
                    "ts": post.ts,
                    "text": message.text,
                    "blocks": message.blocks,
                }),
            )
            .await;
        Ok(answer.sent(now))
    }
}
