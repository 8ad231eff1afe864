//! Notification channels and chat-group callback crypto. Knows no database and no HTTP
//! server: an outbox elsewhere reads pending notifications, renders them with
//! [`Templates`], sends them through a [`Channel`] and retries on
//! [`SendError::is_retryable`].
//!
//! # Outgoing channels
//!
//! Every channel implements [`Channel::send`]`(&Message) -> Result<Delivery, SendError>`;
//! a [`Message`] carries an idempotency key (the same on every retry), recipients,
//! subject, text and optional markdown. [`SendError::retry`] is
//! [`Retry::Retryable`] for network errors, timeouts, HTTP 5xx/429/408, SMTP 4xx and the
//! peers' "busy" codes, and [`Retry::Permanent`] for other 4xx, bad addresses, SMTP 5xx
//! and the peers' error codes. Channels never retry on their own, and every network
//! step has a timeout. Configuration is serde ([`ChannelConfig`], tagged by `kind`).
//!
//! - **`smtp`** ([`smtp`]): a small SMTP client on tokio: EHLO (HELO fallback),
//!   STARTTLS or implicit TLS (rustls + ring), AUTH PLAIN/LOGIN (never over plaintext
//!   unless allowed), MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT. UTF-8 subject as
//!   RFC 2047 encoded-words, `Message-ID` = `<sha256(key)[..40]@from-domain>`.
//! - **`wecom`** ([`wecom`]): WeCom group robot webhook, `msgtype` text (with
//!   `mentioned_mobile_list`) or markdown; `errcode` must be 0 (-1 and 45009 retryable).
//! - **`dingtalk`** ([`dingtalk`]): DingTalk robot webhook, signed with query parameters
//!   `timestamp` (ms) and `sign = urlencode(base64(HMAC-SHA256(secret, ts + "\n" + secret)))`;
//!   `errcode` must be 0 (-1 and 130101 retryable).
//! - **`sms`** ([`sms`]): any HTTP SMS gateway: URL, method, JSON/form/query body with
//!   `{phone}`, `{text}`, `{subject}`, `{idempotency_key}`, bearer token, headers, and a
//!   success criterion (2xx plus an optional JSON field value).
//! - **`webhook`** ([`webhook`]): JSON POST with `X-Suqiu-Timestamp`,
//!   `X-Suqiu-Signature: sha256=hex(HMAC-SHA256(secret, "<ts>.<body>"))` and
//!   `Idempotency-Key`; receivers check with [`webhook::verify`].
//!
//! HTTP is reqwest with rustls (ring, WebPKI roots), no redirects followed, no OpenSSL.
//!
//! # Templates
//!
//! [`Templates`]: `[<kind>.<audience>.<lang>]` tables (TOML or JSON) of `subject`, `text`
//! and optional `markdown` with named placeholders ([`template::PLACEHOLDERS`]); unknown
//! placeholders are refused at load, missing variables at render. The defaults cover every
//! (template key, audience) the workflow's `notifications` emits
//! ([`template::NOTIFICATION_KINDS`]) in Chinese and English; residents get plain Chinese.
//!
//! # Incoming chat-group messages ([`intake`])
//!
//! - **WeCom callback** ([`intake::wecom`]): `msg_signature = sha1(sorted(token, timestamp,
//!   nonce, encrypt))`, AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[..16],
//!   PKCS#7 to 32-byte blocks, plaintext = 16 random bytes + u32 BE length + XML +
//!   receiveid (checked); URL verification, decryption, encrypted passive replies, parsing
//!   of the message XML.
//! - **DingTalk outgoing robot** ([`intake::dingtalk`]): headers `timestamp` and
//!   `sign = base64(HMAC-SHA256(appSecret, ts + "\n" + appSecret))` within one hour;
//!   message JSON parsing; text/markdown replies.

pub mod config;
mod crypto;
pub mod dingtalk;
mod http;
pub mod intake;
pub mod message;
pub mod sms;
pub mod smtp;
pub mod template;
pub mod webhook;
pub mod wecom;

pub use config::{ChannelConfig, ChannelsConfig};
pub use http::{status_is_retryable, Timeouts};
pub use message::{Channel, ConfigError, Delivery, Message, Retry, SendError};
pub use template::{Audience, Lang, Rendered, TemplateError, TemplateText, Templates};
