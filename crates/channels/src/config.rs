//! One serde-deserialisable description of any channel, e.g. in TOML:
//!
//! ```toml
//! [channels.county_mail]
//! kind = "smtp"
//! host = "smtp.example.gov.cn"
//! from = "noreply@example.gov.cn"
//!
//! [channels.street_group]
//! kind = "dingtalk"
//! webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=…"
//! secret = "SEC…"
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::dingtalk::{DingTalkRobot, DingTalkRobotConfig};
use crate::message::{Channel, ConfigError};
use crate::sms::{SmsGateway, SmsGatewayConfig};
use crate::smtp::{Smtp, SmtpConfig};
use crate::webhook::{Webhook, WebhookConfig};
use crate::wecom::{WeComRobot, WeComRobotConfig};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelConfig {
    Smtp(SmtpConfig),
    Wecom(WeComRobotConfig),
    Dingtalk(DingTalkRobotConfig),
    Sms(SmsGatewayConfig),
    Webhook(WebhookConfig),
}

impl ChannelConfig {
    pub fn build(&self) -> Result<Arc<dyn Channel>, ConfigError> {
        Ok(match self {
            ChannelConfig::Smtp(c) => Arc::new(Smtp::new(c)?),
            ChannelConfig::Wecom(c) => Arc::new(WeComRobot::new(c)?),
            ChannelConfig::Dingtalk(c) => Arc::new(DingTalkRobot::new(c)?),
            ChannelConfig::Sms(c) => Arc::new(SmsGateway::new(c)?),
            ChannelConfig::Webhook(c) => Arc::new(Webhook::new(c)?),
        })
    }
}

/// A `[channels.<name>]` table of channels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
}

impl ChannelsConfig {
    pub fn from_toml(s: &str) -> Result<Self, ConfigError> {
        toml::from_str(s).map_err(|e| ConfigError(e.to_string()))
    }

    /// Every channel built, by name; the first bad one is named in the error.
    pub fn build(&self) -> Result<BTreeMap<String, Arc<dyn Channel>>, ConfigError> {
        self.channels
            .iter()
            .map(|(name, c)| {
                c.build()
                    .map(|ch| (name.clone(), ch))
                    .map_err(|e| ConfigError(format!("channel {name:?}: {}", e.0)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_from_toml() {
        let c = ChannelsConfig::from_toml(
            r#"
[channels.mail]
kind = "smtp"
host = "smtp.example.org"
from = "noreply@example.org"
from_name = "某区诉求服务平台"
username = "noreply"
password = "pw"

[channels.wecom]
kind = "wecom"
webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
timeout_secs = 5

[channels.ding]
kind = "dingtalk"
webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=t"
secret = "SECabc"

[channels.sms]
kind = "sms"
url = "https://sms.example.org/v1/send"
bearer_token = "tok"
body = { format = "json", template = { mobile = "{phone}", content = "{text}" } }
success = { json_pointer = "/code", equals = ["0"], id_pointer = "/data/id" }

[channels.hook]
kind = "webhook"
url = "https://hooks.example.org/suqiu"
secret = "0123456789abcdef0123"
"#,
        )
        .unwrap();
        let built = c.build().unwrap();
        let kinds: Vec<_> = built.values().map(|c| c.kind()).collect();
        assert_eq!(kinds, ["dingtalk", "webhook", "smtp", "sms", "wecom"]);
    }

    #[test]
    fn bad_channel_is_named() {
        let c = ChannelsConfig::from_toml(
            "[channels.hook]\nkind = \"webhook\"\nurl = \"ftp://x\"\nsecret = \"0123456789abcdef\"\n",
        )
        .unwrap();
        let e = c.build().err().unwrap().to_string();
        assert!(e.contains("\"hook\"") && e.contains("ftp"), "{e}");
        let e = ChannelsConfig::from_toml("[channels.x]\nkind = \"fax\"\n").unwrap_err();
        assert!(e.to_string().contains("fax"), "{e}");
        // A misspelt option is an error, not silently ignored.
        for body in [
            "kind = \"wecom\"\nwebhook_url = \"https://x/\"",
            "kind = \"dingtalk\"\nwebhook_url = \"https://x/\"",
            "kind = \"webhook\"\nurl = \"https://x/\"\nsecret = \"0123456789abcdef\"",
            "kind = \"smtp\"\nhost = \"x\"\nfrom = \"a@b.c\"",
        ] {
            let e = ChannelsConfig::from_toml(&format!("[channels.x]\n{body}\ntimeout_sec = 3\n"))
                .unwrap_err();
            assert!(e.to_string().contains("timeout_sec"), "{body}: {e}");
        }
    }
}
