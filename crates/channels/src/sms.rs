//! SMS through an HTTP gateway described by configuration: address, method, a JSON or form
//! body (or query parameters) whose string values are templates with `{phone}`, `{text}`,
//! `{subject}` and `{idempotency_key}`, an optional bearer token and extra headers, and a
//! success criterion (2xx, and optionally a JSON field with an accepted value). One request
//! is made per recipient; with several recipients the idempotency key passed on is
//! `<key>#<n>` so a gateway that deduplicates sees each phone once.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;

use crate::http::{self, Timeouts};
use crate::message::{Channel, ConfigError, Delivery, Message, SendError};
use crate::template::Pattern;

const KIND: &str = "sms";
const PLACEHOLDERS: &[&str] = &["phone", "text", "subject", "idempotency_key"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    #[default]
    Post,
    Put,
}

/// How the request carries the message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "format", rename_all = "lowercase", deny_unknown_fields)]
pub enum SmsBody {
    /// A JSON document; placeholders are replaced inside its string values (so the
    /// substituted text is always correctly escaped).
    Json { template: serde_json::Value },
    /// `application/x-www-form-urlencoded` fields.
    Form { fields: BTreeMap<String, String> },
    /// Query parameters added to the URL, no body (typical with `method = "GET"`).
    Query { fields: BTreeMap<String, String> },
}

/// When the gateway accepted the message. A 2xx status is always required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SmsSuccess {
    /// JSON pointer (RFC 6901) into the answer, e.g. `/code`.
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// Values of that field meaning success (strings or numbers written as text, e.g. `"0"`).
    #[serde(default)]
    pub equals: Vec<String>,
    /// Values meaning "try later" (e.g. the gateway's rate-limit code); any other value is
    /// a permanent refusal.
    #[serde(default)]
    pub retryable: Vec<String>,
    /// JSON pointer to the gateway's message id, recorded in the delivery.
    #[serde(default)]
    pub id_pointer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGatewayConfig {
    pub url: String,
    #[serde(default)]
    pub method: Method,
    pub body: SmsBody,
    /// Sent as `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer_token: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub success: SmsSuccess,
    #[serde(flatten)]
    pub timeouts: Timeouts,
}

enum Body {
    Json(serde_json::Value),
    Form(Vec<(String, Pattern)>),
    Query(Vec<(String, Pattern)>),
}

pub struct SmsGateway {
    url: reqwest::Url,
    method: reqwest::Method,
    body: Body,
    headers: reqwest::header::HeaderMap,
    success: SmsSuccess,
    client: reqwest::Client,
}

fn check_json_template(v: &serde_json::Value) -> Result<(), ConfigError> {
    match v {
        serde_json::Value::String(s) => Pattern::parse(s, PLACEHOLDERS)
            .map(|_| ())
            .map_err(|e| ConfigError(format!("sms body template: {e}"))),
        serde_json::Value::Array(a) => a.iter().try_for_each(check_json_template),
        serde_json::Value::Object(o) => o.values().try_for_each(check_json_template),
        _ => Ok(()),
    }
}

fn fill_json(
    v: &serde_json::Value,
    vars: &BTreeMap<&str, String>,
) -> Result<serde_json::Value, String> {
    Ok(match v {
        serde_json::Value::String(s) => serde_json::Value::String(
            Pattern::parse(s, PLACEHOLDERS)
                .and_then(|p| p.render(vars))
                .map_err(|e| e.to_string())?,
        ),
        serde_json::Value::Array(a) => serde_json::Value::Array(
            a.iter()
                .map(|x| fill_json(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(o) => serde_json::Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), fill_json(x, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn patterns(fields: &BTreeMap<String, String>) -> Result<Vec<(String, Pattern)>, ConfigError> {
    fields
        .iter()
        .map(|(k, v)| {
            Pattern::parse(v, PLACEHOLDERS)
                .map(|p| (k.clone(), p))
                .map_err(|e| ConfigError(format!("sms field {k:?}: {e}")))
        })
        .collect()
}

/// The text form of a JSON scalar for comparison with configured values.
fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl SmsGateway {
    pub fn new(config: &SmsGatewayConfig) -> Result<Self, ConfigError> {
        let url = http::check_url(&config.url, "sms url")?;
        let body = match &config.body {
            SmsBody::Json { template } => {
                check_json_template(template)?;
                Body::Json(template.clone())
            }
            SmsBody::Form { fields } => Body::Form(patterns(fields)?),
            SmsBody::Query { fields } => Body::Query(patterns(fields)?),
        };
        if matches!(body, Body::Json(_) | Body::Form(_)) && config.method == Method::Get {
            return Err(ConfigError(
                "sms: a GET request has no body; use body.format = \"query\"".into(),
            ));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &config.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| ConfigError(format!("sms header name {k:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| ConfigError(format!("sms header {k:?} value: {e}")))?;
            headers.insert(name, value);
        }
        if let Some(t) = &config.bearer_token {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {t}"))
                .map_err(|e| ConfigError(format!("sms bearer_token: {e}")))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        if !config.success.equals.is_empty() && config.success.json_pointer.is_none() {
            return Err(ConfigError(
                "sms success.equals needs success.json_pointer".into(),
            ));
        }
        Ok(SmsGateway {
            url,
            method: match config.method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
                Method::Put => reqwest::Method::PUT,
            },
            body,
            headers,
            success: config.success.clone(),
            client: http::client_for(&config.timeouts)?,
        })
    }

    async fn send_one(&self, vars: &BTreeMap<&str, String>) -> Result<String, SendError> {
        let render = |p: &Pattern| {
            p.render(vars)
                .map_err(|e| SendError::permanent(KIND, e.to_string()))
        };
        let mut req = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        req = match &self.body {
            Body::Json(t) => {
                req.json(&fill_json(t, vars).map_err(|e| SendError::permanent(KIND, e))?)
            }
            Body::Form(fields) => {
                let f = fields
                    .iter()
                    .map(|(k, p)| Ok((k.as_str(), render(p)?)))
                    .collect::<Result<Vec<_>, SendError>>()?;
                let encoded = form_encode(&f);
                req.header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(encoded)
            }
            Body::Query(fields) => {
                let f = fields
                    .iter()
                    .map(|(k, p)| Ok((k.as_str(), render(p)?)))
                    .collect::<Result<Vec<_>, SendError>>()?;
                req.query(&f)
            }
        };
        let resp = req
            .send()
            .await
            .map_err(|e| http::transport_error(KIND, e))?;
        let (status, body) = http::read_success(KIND, resp).await?;
        self.judge(status, &body)
    }

    /// Applies the success criterion to a 2xx answer.
    fn judge(&self, status: reqwest::StatusCode, body: &str) -> Result<String, SendError> {
        let s = &self.success;
        if s.json_pointer.is_none() && s.id_pointer.is_none() {
            return Ok(format!("HTTP {status}"));
        }
        let v = http::parse_json(KIND, body)?;
        if let Some(ptr) = &s.json_pointer {
            let got = v.pointer(ptr).map(scalar_text).ok_or_else(|| {
                SendError::retryable(
                    KIND,
                    format!("answer has no {ptr}: {}", http::excerpt(body)),
                )
            })?;
            if !s.equals.contains(&got) {
                let reason = format!("gateway refused: {ptr} = {got}: {}", http::excerpt(body));
                return Err(if s.retryable.contains(&got) {
                    SendError::retryable(KIND, reason)
                } else {
                    SendError::permanent(KIND, reason)
                });
            }
        }
        Ok(match s.id_pointer.as_deref().and_then(|p| v.pointer(p)) {
            Some(id) => scalar_text(id),
            None => format!("HTTP {status}"),
        })
    }
}

/// `application/x-www-form-urlencoded` as browsers write it.
fn form_encode(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_component(k), form_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A plausible phone number: digits with an optional leading `+`, 5 to 20 digits.
fn valid_phone(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or(p);
    (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[async_trait]
impl Channel for SmsGateway {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        if message.to.is_empty() {
            return Err(SendError::permanent(KIND, "no recipient phone number"));
        }
        if let Some(bad) = message.to.iter().find(|p| !valid_phone(p)) {
            return Err(SendError::permanent(
                KIND,
                format!("bad phone number {bad:?}"),
            ));
        }
        let mut ids = Vec::new();
        for (n, phone) in message.to.iter().enumerate() {
            let key = if message.to.len() == 1 {
                message.idempotency_key.clone()
            } else {
                format!("{}#{n}", message.idempotency_key)
            };
            let vars = BTreeMap::from([
                ("phone", phone.clone()),
                ("text", message.text.clone()),
                ("subject", message.subject.clone()),
                ("idempotency_key", key),
            ]);
            match self.send_one(&vars).await {
                Ok(id) => ids.push(id),
                Err(mut e) => {
                    if n > 0 {
                        e.reason = format!(
                            "{} (after {n} of {} recipients were sent; a retry resends them with the same keys)",
                            e.reason,
                            message.to.len()
                        );
                    }
                    return Err(e);
                }
            }
        }
        Ok(Delivery {
            channel: KIND,
            peer_ids: ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_matches_browsers() {
        assert_eq!(
            form_encode(&[("a b", "x+y=z&我".into())]),
            "a+b=x%2By%3Dz%26%E6%88%91"
        );
    }

    #[test]
    fn phones() {
        assert!(valid_phone("13800138000"));
        assert!(valid_phone("+8613800138000"));
        assert!(!valid_phone("138-0013"));
        assert!(!valid_phone("abc"));
    }

    #[test]
    fn config_errors_are_clear() {
        let bad: SmsGatewayConfig = toml::from_str(
            r#"
url = "https://gw.example/send"
body = { format = "json", template = { to = "{phone}", msg = "{txt}" } }
"#,
        )
        .unwrap();
        let e = SmsGateway::new(&bad).err().unwrap();
        assert!(e.to_string().contains("txt"), "{e}");
        let get_json: SmsGatewayConfig = toml::from_str(
            r#"
url = "https://gw.example/send"
method = "GET"
body = { format = "form", fields = { to = "{phone}" } }
"#,
        )
        .unwrap();
        assert!(SmsGateway::new(&get_json).is_err());
    }

    #[test]
    fn json_values_are_escaped() {
        let t = serde_json::json!({"to": ["{phone}"], "msg": "【通知】{text}", "n": 1});
        let vars = BTreeMap::from([("phone", "138".to_string()), ("text", "a\"b\n".to_string())]);
        let v = fill_json(&t, &vars).unwrap();
        assert_eq!(v["msg"], "【通知】a\"b\n");
        assert_eq!(v["to"][0], "138");
        assert_eq!(v["n"], 1);
    }
}
