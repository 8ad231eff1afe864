//! Incoming chat-group messages: the crypto and parsing of WeCom callbacks and DingTalk
//! outgoing robots. No HTTP server here: the web layer hands over the query parameters,
//! headers and raw body and sends back what these functions return.

pub mod dingtalk;
pub mod wecom;
mod xml;

/// Why an incoming request was refused. Never retryable: answer 4xx (or drop it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp {0:?} is not a number")]
    BadTimestamp(String),
    #[error("timestamp is {skew_ms} ms away from now (limit {limit_ms} ms)")]
    Stale { skew_ms: i64, limit_ms: i64 },
    #[error("not base64: {0}")]
    BadBase64(String),
    #[error("ciphertext of {0} bytes is not whole AES blocks")]
    BadCiphertextLength(usize),
    #[error("bad PKCS#7 padding")]
    BadPadding,
    #[error("decrypted frame is malformed: {0}")]
    BadFrame(String),
    #[error("message is for receiver {got:?}, not ours")]
    WrongReceiveId { got: String },
    #[error("not UTF-8")]
    NotUtf8,
    #[error("XML: {0}")]
    Xml(String),
    #[error("JSON: {0}")]
    Json(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
}
