//! The message every channel sends, the outcome, and the error split the outbox needs.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One notification to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Stable per notification (e.g. the outbox row id): the same key on every retry.
    /// SMTP derives the `Message-ID` from it; the webhook and SMS gateway pass it on.
    pub idempotency_key: String,
    /// Recipients in the channel's terms: e-mail addresses (SMTP), phone numbers
    /// (SMS gateway; for WeCom and DingTalk robots the mobiles to @mention), or free
    /// identifiers passed through (webhook).
    pub to: Vec<String>,
    pub subject: String,
    /// Plain text body; always present.
    pub text: String,
    /// Markdown body, used by channels that render it (WeCom, DingTalk, webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// What the peer said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Channel kind: `smtp`, `wecom`, `dingtalk`, `sms`, `webhook`.
    pub channel: &'static str,
    /// The peer's identifiers for the accepted message (SMTP queue answer, SMS message id,
    /// HTTP status line…), one per request made; for the log, never parsed.
    pub peer_ids: Vec<String>,
}

/// Whether trying the same message again later may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retry {
    /// Network error, timeout, 5xx, 429, SMTP 4xx, the peer's "busy" codes.
    Retryable,
    /// 4xx, bad address, SMTP 5xx, the peer's error code: retrying the same
    /// message will fail the same way.
    Permanent,
}

/// A failed send. `Display` gives a message an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{channel}: {reason}")]
pub struct SendError {
    pub channel: &'static str,
    pub retry: Retry,
    pub reason: String,
    /// The peer asked to wait this long (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl SendError {
    pub fn retryable(channel: &'static str, reason: impl Into<String>) -> Self {
        SendError {
            channel,
            retry: Retry::Retryable,
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn permanent(channel: &'static str, reason: impl Into<String>) -> Self {
        SendError {
            channel,
            retry: Retry::Permanent,
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.retry == Retry::Retryable
    }
}

/// An outgoing channel. Implementations are cheap to share (`Arc<dyn Channel>`); `send`
/// never retries by itself: the outbox decides, from [`SendError::retry`].
#[async_trait]
pub trait Channel: Send + Sync {
    /// Channel kind, as in [`Delivery::channel`].
    fn kind(&self) -> &'static str;

    async fn send(&self, message: &Message) -> Result<Delivery, SendError>;
}

/// A configuration that cannot work (bad URL, key of the wrong length…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel configuration: {0}")]
pub struct ConfigError(pub String);
