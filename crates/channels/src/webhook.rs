//! Generic webhook: `POST` of the message as JSON
//! (`{"idempotency_key","to","subject","text","markdown","timestamp"}`) with headers
//! `X-Suqiu-Timestamp: <unix seconds>`,
//! `X-Suqiu-Signature: sha256=<hex(HMAC-SHA256(secret, "<timestamp>.<body>"))>` and
//! `Idempotency-Key: <key>`. The timestamp is inside the signed bytes so a captured request
//! cannot be replayed later with a fresh timestamp; receivers check it with [`verify`].

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::crypto::{constant_time_eq, hmac_sha256};
use crate::http::{self, Timeouts};
use crate::message::{Channel, ConfigError, Delivery, Message, SendError};

const KIND: &str = "webhook";
pub const SIGNATURE_HEADER: &str = "X-Suqiu-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Suqiu-Timestamp";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Shared secret for the signature (at least 16 bytes).
    pub secret: String,
    #[serde(flatten)]
    pub timeouts: Timeouts,
}

/// `sha256=<hex>` over `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &signed))
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook timestamp {0:?} is not a number")]
    BadTimestamp(String),
    #[error("webhook timestamp is {0} s away from now (limit {1} s)")]
    Stale(i64, i64),
    #[error("webhook signature does not match")]
    BadSignature,
}

/// For receivers: checks the headers of a request against its raw body.
pub fn verify(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
    max_age_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp(timestamp_header.into()))?;
    let skew = (now_secs - ts).abs();
    if skew > max_age_secs {
        return Err(VerifyError::Stale(skew, max_age_secs));
    }
    let want = signature(secret, ts, body);
    if constant_time_eq(want.as_bytes(), signature_header.trim().as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

pub struct Webhook {
    url: reqwest::Url,
    secret: String,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(config: &WebhookConfig) -> Result<Self, ConfigError> {
        if config.secret.len() < 16 {
            return Err(ConfigError(
                "webhook secret must be at least 16 bytes".into(),
            ));
        }
        Ok(Webhook {
            url: http::check_url(&config.url, "webhook url")?,
            secret: config.secret.clone(),
            client: http::client_for(&config.timeouts)?,
        })
    }

    /// The body sent for `message` at `timestamp` (unix seconds).
    pub fn body(message: &Message, timestamp: i64) -> Vec<u8> {
        json!({
            "idempotency_key": message.idempotency_key,
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "markdown": message.markdown,
            "timestamp": timestamp,
        })
        .to_string()
        .into_bytes()
    }
}

#[async_trait]
impl Channel for Webhook {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        let ts = crate::dingtalk::now_ms() / 1000;
        let body = Self::body(message, ts);
        let key =
            reqwest::header::HeaderValue::from_str(&message.idempotency_key).map_err(|_| {
                SendError::permanent(KIND, "idempotency key is not a valid header value")
            })?;
        let resp = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, signature(&self.secret, ts, &body))
            .header(IDEMPOTENCY_HEADER, key)
            .body(body)
            .send()
            .await
            .map_err(|e| http::transport_error(KIND, e))?;
        let (status, _) = http::read_success(KIND, resp).await?;
        Ok(Delivery {
            channel: KIND,
            peer_ids: vec![format!("HTTP {status}")],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_rejects_changes() {
        let body = br#"{"a":1}"#;
        let sig = signature("0123456789abcdef", 1000, body);
        assert!(verify("0123456789abcdef", "1000", &sig, body, 1100, 300).is_ok());
        assert_eq!(
            verify("0123456789abcdef", "1000", &sig, br#"{"a":2}"#, 1100, 300),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify("0123456789abcdef", "1001", &sig, body, 1100, 300),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify("0123456789abcdef", "1000", &sig, body, 1400, 300),
            Err(VerifyError::Stale(400, 300))
        );
        assert!(matches!(
            verify("0123456789abcdef", "x", &sig, body, 1000, 300),
            Err(VerifyError::BadTimestamp(_))
        ));
    }
}
