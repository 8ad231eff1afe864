//! DingTalk (钉钉) outgoing robot ("企业内部机器人" receiving @-messages): DingTalk POSTs
//! JSON with headers `timestamp` (ms) and `sign` =
//! `base64(HMAC-SHA256(appSecret, timestamp + "\n" + appSecret))`; the timestamp must be
//! within an hour of now. The answer body may be a reply message ([`reply_text`],
//! [`reply_markdown`]); later replies go to the message's `sessionWebhook`.

use serde::Deserialize;
use serde_json::json;

use super::IntakeError;
use crate::crypto::constant_time_eq;

/// DingTalk's window: the request's timestamp is within one hour of now.
pub const MAX_SKEW_MS: i64 = 60 * 60 * 1000;

/// Checks the `timestamp` and `sign` headers of a request at `now_ms`.
pub fn verify_request(
    app_secret: &str,
    timestamp: &str,
    sign: &str,
    now_ms: i64,
) -> Result<(), IntakeError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| IntakeError::BadTimestamp(timestamp.into()))?;
    let skew_ms = now_ms.saturating_sub(ts).saturating_abs();
    if skew_ms > MAX_SKEW_MS {
        return Err(IntakeError::Stale {
            skew_ms,
            limit_ms: MAX_SKEW_MS,
        });
    }
    let want = crate::dingtalk::sign(app_secret, ts);
    if constant_time_eq(want.as_bytes(), sign.trim().as_bytes()) {
        Ok(())
    } else {
        Err(IntakeError::BadSignature)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    msgtype: String,
    #[serde(default)]
    text: Option<RawText>,
    msg_id: String,
    create_at: i64,
    conversation_id: String,
    #[serde(default)]
    conversation_type: Option<String>,
    #[serde(default)]
    conversation_title: Option<String>,
    sender_id: String,
    #[serde(default)]
    sender_nick: String,
    #[serde(default)]
    sender_staff_id: Option<String>,
    #[serde(default)]
    sender_corp_id: Option<String>,
    #[serde(default)]
    session_webhook: Option<String>,
    #[serde(default)]
    session_webhook_expired_time: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawText {
    content: String,
}

/// A message @-addressed to the robot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DingTalkMessage {
    pub msg_type: String,
    /// `text.content`, trimmed (DingTalk pads it with spaces); `None` for other types.
    pub content: Option<String>,
    pub msg_id: String,
    /// Milliseconds since the epoch.
    pub create_at: i64,
    pub conversation_id: String,
    /// `"1"` one-to-one, `"2"` group.
    pub conversation_type: Option<String>,
    pub conversation_title: Option<String>,
    pub sender_id: String,
    pub sender_nick: String,
    /// Only for senders of the robot's own organisation.
    pub sender_staff_id: Option<String>,
    pub sender_corp_id: Option<String>,
    pub session_webhook: Option<String>,
    pub session_webhook_expired_time: Option<i64>,
}

impl DingTalkMessage {
    /// The most stable sender id: the staff id when known, else the sender id.
    pub fn sender(&self) -> &str {
        self.sender_staff_id.as_deref().unwrap_or(&self.sender_id)
    }
}

/// Parses the request body.
pub fn parse_message(body: &[u8]) -> Result<DingTalkMessage, IntakeError> {
    let raw: Raw = serde_json::from_slice(body).map_err(|e| IntakeError::Json(e.to_string()))?;
    if raw.msgtype == "text" && raw.text.is_none() {
        return Err(IntakeError::MissingField("text"));
    }
    Ok(DingTalkMessage {
        content: raw.text.map(|t| t.content.trim().to_string()),
        msg_type: raw.msgtype,
        msg_id: raw.msg_id,
        create_at: raw.create_at,
        conversation_id: raw.conversation_id,
        conversation_type: raw.conversation_type,
        conversation_title: raw.conversation_title,
        sender_id: raw.sender_id,
        sender_nick: raw.sender_nick,
        sender_staff_id: raw.sender_staff_id.filter(|s| !s.is_empty()),
        sender_corp_id: raw.sender_corp_id,
        session_webhook: raw.session_webhook,
        session_webhook_expired_time: raw.session_webhook_expired_time,
    })
}

/// A text reply, @-mentioning the given staff ids.
pub fn reply_text(content: &str, at_staff_ids: &[String]) -> serde_json::Value {
    json!({
        "msgtype": "text",
        "text": { "content": content },
        "at": { "atUserIds": at_staff_ids, "isAtAll": false },
    })
}

/// A markdown reply; `title` shows in the conversation list.
pub fn reply_markdown(title: &str, text: &str) -> serde_json::Value {
    json!({
        "msgtype": "markdown",
        "markdown": { "title": title, "text": text },
    })
}
