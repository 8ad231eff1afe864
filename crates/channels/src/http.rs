//! The shared HTTP plumbing of the webhook-style channels: one client per channel with
//! timeouts and no redirects, and the classification of answers into retryable/permanent.

use std::time::Duration;

use reqwest::{Client, Response, StatusCode};

use crate::message::{ConfigError, SendError};

/// Longest excerpt of a peer's answer quoted in an error.
const EXCERPT: usize = 300;

fn default_timeout_secs() -> u64 {
    10
}

/// Timeouts shared by the HTTP channels (`connect_timeout_secs`, `timeout_secs` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Timeouts {
    /// Whole request, connection included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "default_connect_secs")]
    pub connect_timeout_secs: u64,
}

fn default_connect_secs() -> u64 {
    5
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            timeout_secs: default_timeout_secs(),
            connect_timeout_secs: default_connect_secs(),
        }
    }
}

/// Timeouts given in milliseconds (tests) or seconds (config).
pub(crate) fn client(timeout: Duration, connect: Duration) -> Result<Client, ConfigError> {
    if timeout.is_zero() || connect.is_zero() {
        return Err(ConfigError("timeouts must be greater than zero".into()));
    }
    Client::builder()
        .timeout(timeout)
        .connect_timeout(connect)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("suqiu-channels/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError(format!("HTTP client: {e}")))
}

pub(crate) fn client_for(t: &Timeouts) -> Result<Client, ConfigError> {
    client(
        Duration::from_secs(t.timeout_secs),
        Duration::from_secs(t.connect_timeout_secs),
    )
}

pub(crate) fn check_url(url: &str, what: &str) -> Result<reqwest::Url, ConfigError> {
    let u = reqwest::Url::parse(url).map_err(|e| ConfigError(format!("{what} {url:?}: {e}")))?;
    match u.scheme() {
        "http" | "https" => Ok(u),
        s => Err(ConfigError(format!(
            "{what} {url:?}: scheme {s:?} is not http or https"
        ))),
    }
}

/// A transport error: the request may or may not have reached the peer; all are retryable
/// except a request we could not even build.
pub(crate) fn transport_error(channel: &'static str, e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        return SendError::permanent(channel, format!("bad request: {e}"));
    } else {
        "transport error"
    };
    // reqwest's Display omits the cause; walk the chain for the operator.
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    SendError::retryable(channel, msg)
}

/// Is this HTTP status worth retrying? 408, 425, 429 and 5xx are; every other non-2xx is not.
pub fn status_is_retryable(s: StatusCode) -> bool {
    s.is_server_error()
        || s == StatusCode::TOO_MANY_REQUESTS
        || s == StatusCode::REQUEST_TIMEOUT
        || s.as_u16() == 425
}

pub(crate) fn excerpt(body: &str) -> String {
    let t = body.trim();
    if t.len() <= EXCERPT {
        return t.to_string();
    }
    let mut end = EXCERPT;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &t[..end])
}

/// Largest answer read from a peer; the rest is dropped (robots answer a few bytes).
const MAX_ANSWER: usize = 64 * 1024;

async fn read_capped(channel: &'static str, mut resp: Response) -> Result<String, SendError> {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(channel, e))?
    {
        let room = MAX_ANSWER - buf.len();
        if chunk.len() >= room {
            buf.extend_from_slice(&chunk[..room]);
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads the answer; a non-2xx status becomes the right error (with `Retry-After`).
pub(crate) async fn read_success(
    channel: &'static str,
    resp: Response,
) -> Result<(StatusCode, String), SendError> {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = read_capped(channel, resp).await?;
    if status.is_success() {
        return Ok((status, body));
    }
    let reason = format!("HTTP {status}: {}", excerpt(&body));
    let mut err = if status_is_retryable(status) {
        SendError::retryable(channel, reason)
    } else if status.is_redirection() {
        SendError::permanent(channel, format!("{reason} (redirects are not followed)"))
    } else {
        SendError::permanent(channel, reason)
    };
    err.retry_after = retry_after;
    Err(err)
}

/// Parses a 2xx answer as JSON; an answer that is not JSON is retryable (a proxy's page,
/// a truncated answer), since the peer did not say it refused the message.
pub(crate) fn parse_json(
    channel: &'static str,
    body: &str,
) -> Result<serde_json::Value, SendError> {
    serde_json::from_str(body).map_err(|e| {
        SendError::retryable(
            channel,
            format!("answer is not JSON ({e}): {}", excerpt(body)),
        )
    })
}

/// Robot APIs answer `{"errcode": 0, "errmsg": "ok"}`; a non-zero code is permanent except
/// the given "busy / too fast" codes.
pub(crate) fn check_errcode(
    channel: &'static str,
    body: &str,
    retryable_codes: &[i64],
) -> Result<String, SendError> {
    let v = parse_json(channel, body)?;
    let code = v.get("errcode").and_then(|c| c.as_i64()).ok_or_else(|| {
        SendError::retryable(channel, format!("answer has no errcode: {}", excerpt(body)))
    })?;
    let msg = v.get("errmsg").and_then(|m| m.as_str()).unwrap_or("");
    if code == 0 {
        return Ok(format!("errcode 0 {msg}").trim().to_string());
    }
    let reason = format!("peer refused: errcode {code}: {msg}");
    if retryable_codes.contains(&code) {
        Err(SendError::retryable(channel, reason))
    } else {
        Err(SendError::permanent(channel, reason))
    }
}

/// POSTs a robot message as JSON and checks the answer's `errcode`.
pub(crate) async fn post_robot(
    channel: &'static str,
    client: &reqwest::Client,
    url: reqwest::Url,
    body: &serde_json::Value,
    retryable_codes: &[i64],
) -> Result<crate::message::Delivery, SendError> {
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| transport_error(channel, e))?;
    let (_, text) = read_success(channel, resp).await?;
    let ok = check_errcode(channel, &text, retryable_codes)?;
    Ok(crate::message::Delivery {
        channel,
        peer_ids: vec![ok],
    })
}

/// Cuts `s` to at most `max` UTF-8 bytes at a character boundary, marking the cut.
pub(crate) fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mark = "…";
    let mut end = max.saturating_sub(mark.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{mark}", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in [500, 502, 503, 504, 429, 408, 425] {
            assert!(status_is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 413, 422, 301] {
            assert!(
                !status_is_retryable(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }

    #[test]
    fn errcodes() {
        assert!(check_errcode("x", r#"{"errcode":0,"errmsg":"ok"}"#, &[]).is_ok());
        let e = check_errcode(
            "x",
            r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
            &[-1],
        )
        .unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.reason.contains("93000"), "{e}");
        let e = check_errcode("x", r#"{"errcode":-1,"errmsg":"system busy"}"#, &[-1]).unwrap_err();
        assert!(e.is_retryable());
        assert!(check_errcode("x", "<html>", &[])
            .unwrap_err()
            .is_retryable());
        assert!(check_errcode("x", "{}", &[]).unwrap_err().is_retryable());
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        let s = "诉求".repeat(10); // 60 bytes
        let t = truncate_bytes(&s, 20);
        assert!(t.len() <= 20, "{}", t.len());
        assert!(t.ends_with('…'));
        assert_eq!(truncate_bytes("abc", 20), "abc");
        assert!(excerpt(&"长".repeat(400)).ends_with('…'));
    }
}
