//! DingTalk (钉钉) custom group robot: `POST <webhook_url>` (`…/robot/send?access_token=…`),
//! signed when the robot has a secret: query parameters `timestamp` (ms) and
//! `sign = urlencode(base64(HMAC-SHA256(secret, timestamp + "\n" + secret)))`.
//! Body `{"msgtype":"text","text":{"content":…},"at":{"atMobiles":[…]}}` or
//! `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`; the answer's `errcode` must be 0.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::crypto::{b64, hmac_sha256};
use crate::http::{self, Timeouts};
use crate::message::{Channel, ConfigError, Delivery, Message, SendError};

const KIND: &str = "dingtalk";
/// DingTalk's limit on message content, in UTF-8 bytes (20,000 per its docs).
const CONTENT_MAX: usize = 20_000;
/// -1: system busy; 130101: sending too fast (20 a minute per robot).
const RETRYABLE: &[i64] = &[-1, 130101];

/// `base64(HMAC-SHA256(secret, "{timestamp_ms}\n{secret}"))`, before URL encoding. The same
/// scheme signs robot webhooks and DingTalk's requests to an outgoing robot.
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    b64(&hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    ))
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingTalkRobotConfig {
    /// The robot's webhook address, access token included.
    pub webhook_url: String,
    /// The robot's signing secret (`SEC…`), when "加签" is on.
    #[serde(default)]
    pub secret: Option<String>,
    /// Send the markdown body when the message has one (default true).
    #[serde(default = "yes")]
    pub use_markdown: bool,
    #[serde(flatten)]
    pub timeouts: Timeouts,
}

fn yes() -> bool {
    true
}

pub struct DingTalkRobot {
    url: reqwest::Url,
    secret: Option<String>,
    use_markdown: bool,
    client: reqwest::Client,
}

impl DingTalkRobot {
    pub fn new(config: &DingTalkRobotConfig) -> Result<Self, ConfigError> {
        if config
            .secret
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Err(ConfigError("dingtalk secret is empty".into()));
        }
        Ok(DingTalkRobot {
            url: http::check_url(&config.webhook_url, "dingtalk webhook_url")?,
            secret: config.secret.clone(),
            use_markdown: config.use_markdown,
            client: http::client_for(&config.timeouts)?,
        })
    }

    /// The address for a send at `timestamp_ms`, signed when there is a secret.
    pub fn signed_url(&self, timestamp_ms: i64) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Some(secret) = &self.secret {
            url.query_pairs_mut()
                .append_pair("timestamp", &timestamp_ms.to_string())
                .append_pair("sign", &sign(secret, timestamp_ms));
        }
        url
    }

    /// The JSON body sent for `message`.
    pub fn body(&self, message: &Message) -> serde_json::Value {
        match (&message.markdown, self.use_markdown) {
            (Some(md), true) => {
                // DingTalk shows `title` in the conversation list only; @mentions must
                // appear in the text to notify.
                let mut text = md.clone();
                for m in &message.to {
                    text.push_str(&format!(" @{m}"));
                }
                let title = if message.subject.trim().is_empty() {
                    "通知"
                } else {
                    message.subject.trim()
                };
                json!({
                    "msgtype": "markdown",
                    "markdown": { "title": title, "text": http::truncate_bytes(&text, CONTENT_MAX) },
                    "at": { "atMobiles": message.to, "isAtAll": false },
                })
            }
            _ => json!({
                "msgtype": "text",
                "text": { "content": http::truncate_bytes(&crate::wecom::robot_text(message), CONTENT_MAX) },
                "at": { "atMobiles": message.to, "isAtAll": false },
            }),
        }
    }
}

#[async_trait]
impl Channel for DingTalkRobot {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        http::post_robot(
            KIND,
            &self.client,
            self.signed_url(now_ms()),
            &self.body(message),
            RETRYABLE,
        )
        .await
    }
}
