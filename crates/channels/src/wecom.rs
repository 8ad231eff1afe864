//! WeCom (企业微信) group robot: `POST <webhook_url>` (`…/cgi-bin/webhook/send?key=…`) with
//! `{"msgtype":"text","text":{"content":…,"mentioned_mobile_list":[…]}}` or
//! `{"msgtype":"markdown","markdown":{"content":…}}`; the answer's `errcode` must be 0.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::http::{self, Timeouts};
use crate::message::{Channel, ConfigError, Delivery, Message, SendError};

const KIND: &str = "wecom";
/// WeCom's limits on `content`, in UTF-8 bytes.
const TEXT_MAX: usize = 2048;
const MARKDOWN_MAX: usize = 4096;
/// -1: system busy; 45009: API frequency limit.
const RETRYABLE: &[i64] = &[-1, 45009];

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeComRobotConfig {
    /// The robot's webhook address, key included.
    pub webhook_url: String,
    /// Send the markdown body when the message has one (default true).
    #[serde(default = "yes")]
    pub use_markdown: bool,
    #[serde(flatten)]
    pub timeouts: Timeouts,
}

fn yes() -> bool {
    true
}

pub struct WeComRobot {
    url: reqwest::Url,
    use_markdown: bool,
    client: reqwest::Client,
}

impl WeComRobot {
    pub fn new(config: &WeComRobotConfig) -> Result<Self, ConfigError> {
        Ok(WeComRobot {
            url: http::check_url(&config.webhook_url, "wecom webhook_url")?,
            use_markdown: config.use_markdown,
            client: http::client_for(&config.timeouts)?,
        })
    }

    /// The JSON body sent for `message`.
    pub fn body(&self, message: &Message) -> serde_json::Value {
        match (&message.markdown, self.use_markdown) {
            (Some(md), true) => json!({
                "msgtype": "markdown",
                "markdown": { "content": http::truncate_bytes(md, MARKDOWN_MAX) },
            }),
            _ => json!({
                "msgtype": "text",
                "text": {
                    "content": http::truncate_bytes(&robot_text(message), TEXT_MAX),
                    "mentioned_mobile_list": message.to,
                },
            }),
        }
    }
}

/// Subject line (when there is one) then the text.
pub(crate) fn robot_text(m: &Message) -> String {
    if m.subject.trim().is_empty() {
        m.text.clone()
    } else {
        format!("{}\n{}", m.subject.trim(), m.text)
    }
}

#[async_trait]
impl Channel for WeComRobot {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        http::post_robot(
            KIND,
            &self.client,
            self.url.clone(),
            &self.body(message),
            RETRYABLE,
        )
        .await
    }
}
