//! Chat-group intake (DOMAIN.md §2): a village's or community's chat group is
//! linked to its unit; a resident's message to the group's bot becomes a case
//! (the sender as reporter, the group's unit as place), the bot answers with
//! the tracking code, and progress and the result are posted back to the group
//! (the outbox routes the resident's notifications of such a case to the
//! group's reply channel). WeCom's callback (signature, AES-256-CBC) and
//! DingTalk's outgoing robot (HMAC-SHA256) are checked by `suqiu-channels`.

use crate::{App, AppError, Result};
use serde::Deserialize;
use suqiu_channels::intake::{dingtalk, wecom};
use suqiu_domain::case::{ChatSource, IntakeInput};
use suqiu_store::{ChatMessageKey, StoreError};

/// One linked group (`[chat_groups.<id>]` in the notification config).
#[derive(Debug, Clone, Deserialize)]
pub struct ChatGroupConfig {
    /// The place the group's messages concern (a grid, community or hamlet).
    pub unit: String,
    /// The outgoing channel (a configured group robot) progress is posted to.
    pub reply_channel: Option<String>,
    #[serde(flatten)]
    pub platform: Platform,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum Platform {
    Wecom {
        token: String,
        encoding_aes_key: String,
        corp_id: String,
    },
    Dingtalk {
        app_secret: String,
    },
}

/// Why a chat platform's request was refused.
fn refused(e: impl std::fmt::Display) -> AppError {
    AppError::ChatRefused(e.to_string())
}

impl App {
    fn chat_group(&self, group: &str) -> Result<ChatGroupConfig> {
        self.notifier
            .as_ref()
            .and_then(|n| n.chat_groups().get(group).cloned())
            .ok_or(AppError::ChatGroupNotFound)
    }

    fn wecom(&self, group: &str) -> Result<(ChatGroupConfig, wecom::WeComCrypto)> {
        let g = self.chat_group(group)?;
        let Platform::Wecom {
            token,
            encoding_aes_key,
            corp_id,
        } = &g.platform
        else {
            return Err(AppError::ChatGroupNotFound);
        };
        let c = wecom::WeComCrypto::new(token, encoding_aes_key, corp_id).map_err(refused)?;
        Ok((g, c))
    }

    /// WeCom's URL verification: the decrypted `echostr`.
    pub fn wecom_verify(
        &self,
        group: &str,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String> {
        let (_, c) = self.wecom(group)?;
        c.verify_url(signature, timestamp, nonce, echostr)
            .map_err(refused)
    }

    /// A WeCom callback: a text message becomes a case; the answer is the
    /// encrypted passive reply (or "success" for anything else).
    pub async fn wecom_message(
        &self,
        group: &str,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String> {
        let (g, c) = self.wecom(group)?;
        let xml = c
            .decrypt_message(signature, timestamp, nonce, body)
            .map_err(refused)?;
        let m = wecom::parse_message(&xml).map_err(refused)?;
        let Some(text) = m.content.clone().filter(|_| m.is_text()) else {
            return Ok("success".into());
        };
        let code = self
            .file_from_chat(
                group,
                &g,
                ChatMessage {
                    sender_name: &m.from_user_name,
                    sender_id: &m.from_user_name,
                    text: &text,
                    message_id: m.msg_id.as_deref(),
                },
            )
            .await?;
        let reply = wecom::text_reply_xml(
            &m.from_user_name,
            &m.to_user_name,
            self.now() / 1000,
            &receipt(&code),
        );
        Ok(c.encrypt_reply(&reply, timestamp, nonce))
    }

    /// A DingTalk outgoing-robot request: a text message becomes a case; the
    /// answer is the robot's reply.
    pub async fn dingtalk_message(
        &self,
        group: &str,
        timestamp: &str,
        sign: &str,
        body: &[u8],
    ) -> Result<serde_json::Value> {
        let g = self.chat_group(group)?;
        let Platform::Dingtalk { app_secret } = &g.platform else {
            return Err(AppError::ChatGroupNotFound);
        };
        // the platform's clock, not a test's fixed one: freshness is about the request
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        dingtalk::verify_request(app_secret, timestamp, sign, now_ms).map_err(refused)?;
        let m = dingtalk::parse_message(body).map_err(refused)?;
        let Some(text) = m.content.clone() else {
            return Ok(dingtalk::reply_text("请用文字描述您要反映的事项。", &[]));
        };
        let code = self
            .file_from_chat(
                group,
                &g,
                ChatMessage {
                    sender_name: &m.sender_nick,
                    sender_id: m.sender(),
                    text: &text,
                    message_id: Some(m.msg_id.as_str()).filter(|id| !id.is_empty()),
                },
            )
            .await?;
        Ok(dingtalk::reply_text(&receipt(&code), &[]))
    }

    /// Files a chat message as a case and returns its tracking code. A
    /// message the platform delivered before (a retry: same group, platform
    /// and message id) files nothing and gets the first case's code; the
    /// message id is stored in the intake's transaction, so two concurrent
    /// deliveries file one case.
    async fn file_from_chat(
        &self,
        group: &str,
        g: &ChatGroupConfig,
        m: ChatMessage<'_>,
    ) -> Result<String> {
        let key = m.message_id.map(|id| ChatMessageKey {
            group: group.to_string(),
            platform: g.platform.name().to_string(),
            message_id: id.to_string(),
        });
        if let Some(k) = &key {
            if let Some(code) = self.chat_message_code(k).await? {
                return Ok(code);
            }
        }
        let ChatMessage {
            sender_name,
            sender_id,
            text,
            ..
        } = m;
        let title: String = text
            .split(['。', '！', '？', '\n'])
            .find(|s| !s.trim().is_empty())
            .unwrap_or(text)
            .trim()
            .chars()
            .take(30)
            .collect();
        let input = IntakeInput {
            channel: Some("chat_group".into()),
            unit: Some(g.unit.clone()),
            title: Some(title),
            content: Some(text.to_string()),
            reporter_name: Some(sender_name.chars().take(32).collect()),
            ..IntakeInput::default()
        };
        let chat = ChatSource {
            group: group.to_string(),
            sender: sender_id.to_string(),
        };
        let mut attempts = 0;
        loop {
            let mut write = self.intake_write_from(&input, None, Some(chat.clone()))?;
            write.chat_message = key.clone();
            let intake = crate::cases::received_intake(&write);
            match self.store().write_case(write).await {
                Ok(r) => {
                    self.intake_done(r.id, intake).await;
                    return Ok(r.tracking_code);
                }
                Err(StoreError::DuplicateChatMessage) => {
                    let k = key.as_ref().ok_or(AppError::ChatGroupNotFound)?;
                    return self
                        .chat_message_code(k)
                        .await?
                        .ok_or_else(|| AppError::Journal("chat message without its case".into()));
                }
                Err(StoreError::DuplicateTrackingCode) if attempts < 5 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The tracking code of the case a chat message filed, if any.
    async fn chat_message_code(&self, k: &ChatMessageKey) -> Result<Option<String>> {
        let Some(id) = self.store().chat_message_case(k).await? else {
            return Ok(None);
        };
        Ok(self.store().case_by_id(id).await?.map(|c| c.tracking_code))
    }
}

/// One text message from a chat platform.
struct ChatMessage<'a> {
    sender_name: &'a str,
    sender_id: &'a str,
    text: &'a str,
    /// The platform's message id (WeCom `MsgId`, DingTalk `msgId`).
    message_id: Option<&'a str>,
}

impl Platform {
    pub fn name(&self) -> &'static str {
        match self {
            Platform::Wecom { .. } => "wecom",
            Platform::Dingtalk { .. } => "dingtalk",
        }
    }
}

fn receipt(code: &str) -> String {
    format!("您反映的事项已受理，查询码：{code}。办理进展会在本群告知，也可凭查询码随时查询。")
}
