#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The HTTP channels against a scripted HTTP peer on 127.0.0.1 (axum), which records each
//! request and checks signatures with its own HMAC code.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{KeyInit, Mac};
use suqiu_channels::{Channel, ChannelConfig, Message, Retry};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    delay: Duration,
    retry_after: Option<&'static str>,
}

fn ok(body: &str) -> Answer {
    Answer {
        status: 200,
        body: body.into(),
        delay: Duration::ZERO,
        retry_after: None,
    }
}

fn status(status: u16, body: &str) -> Answer {
    Answer { status, ..ok(body) }
}

#[derive(Clone, Default)]
struct Peer {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

async fn handle(State(p): State<Peer>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    p.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers,
        body,
    });
    let a = p
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| ok("{}"));
    tokio::time::sleep(a.delay).await;
    let mut r = (StatusCode::from_u16(a.status).unwrap(), a.body).into_response();
    if let Some(ra) = a.retry_after {
        r.headers_mut().insert("retry-after", ra.parse().unwrap());
    }
    r
}

impl Peer {
    /// Serves on 127.0.0.1 until the test's runtime ends.
    async fn start(answers: Vec<Answer>) -> (Peer, String) {
        let peer = Peer::default();
        peer.script.lock().unwrap().extend(answers);
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(peer.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (peer, format!("http://{addr}"))
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn json(s: &Seen) -> serde_json::Value {
    serde_json::from_slice(&s.body).unwrap()
}

fn query(s: &Seen) -> Vec<(String, String)> {
    let u = reqwest::Url::parse(&format!("http://x{}", s.uri)).unwrap();
    u.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn q<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    &pairs.iter().find(|(n, _)| n == k).unwrap().1
}

fn channel(toml_text: &str) -> Arc<dyn Channel> {
    let c: ChannelConfig = toml::from_str(toml_text).unwrap();
    c.build().unwrap()
}

fn msg(markdown: bool) -> Message {
    Message {
        idempotency_key: "case-7:replied:12".into(),
        to: vec!["13800138000".into()],
        subject: "您的诉求已有答复".into(),
        text: "“路灯不亮”：已修复。\n查询码：AB12CD".into(),
        markdown: markdown.then(|| "### 已答复\n> 路灯不亮".to_string()),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ------------------------------------------------------------------ WeCom robot

#[tokio::test]
async fn wecom_text_and_markdown() {
    let (peer, base) = Peer::start(vec![ok(r#"{"errcode":0,"errmsg":"ok"}"#); 2]).await;
    let ch = channel(&format!(
        "kind = \"wecom\"\nwebhook_url = \"{base}/cgi-bin/webhook/send?key=K1\""
    ));
    let d = ch.send(&msg(false)).await.unwrap();
    assert_eq!(d.channel, "wecom");
    ch.send(&msg(true)).await.unwrap();
    let seen = peer.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].uri, "/cgi-bin/webhook/send?key=K1");
    let t = json(&seen[0]);
    assert_eq!(t["msgtype"], "text");
    assert_eq!(
        t["text"]["content"],
        "您的诉求已有答复\n“路灯不亮”：已修复。\n查询码：AB12CD"
    );
    assert_eq!(t["text"]["mentioned_mobile_list"][0], "13800138000");
    let m = json(&seen[1]);
    assert_eq!(m["msgtype"], "markdown");
    assert_eq!(m["markdown"]["content"], "### 已答复\n> 路灯不亮");
}

#[tokio::test]
async fn wecom_errors() {
    let (_peer, base) = Peer::start(vec![
        ok(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
        ok(r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
        status(500, "oops"),
        Answer {
            retry_after: Some("7"),
            ..status(429, "slow down")
        },
        status(404, "no such robot"),
        ok("<html>proxy</html>"),
    ])
    .await;
    let ch = channel(&format!(
        "kind = \"wecom\"\nwebhook_url = \"{base}/send?key=K\""
    ));
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert!(
        e.reason.contains("93000") && e.reason.contains("invalid webhook url"),
        "{e}"
    );
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Retryable
    );
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Retryable);
    assert!(e.reason.contains("500"), "{e}");
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Retryable);
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Permanent
    );
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Retryable);
    assert!(e.reason.contains("not JSON"), "{e}");
}

#[tokio::test]
async fn timeout_is_retryable() {
    let (_peer, base) = Peer::start(vec![Answer {
        delay: Duration::from_secs(3),
        ..ok(r#"{"errcode":0}"#)
    }])
    .await;
    let ch = channel(&format!(
        "kind = \"wecom\"\nwebhook_url = \"{base}/send?key=K\"\ntimeout_secs = 1"
    ));
    let started = std::time::Instant::now();
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(e.retry, Retry::Retryable);
    assert!(e.reason.contains("timed out"), "{e}");
}

#[tokio::test]
async fn unreachable_peer_is_retryable() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let ch = channel(&format!(
        "kind = \"webhook\"\nurl = \"http://{addr}/x\"\nsecret = \"0123456789abcdef\""
    ));
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Retryable, "{e}");
    assert!(e.reason.contains("connect"), "{e}");
}

// ------------------------------------------------------------------ DingTalk robot

const DING_SECRET: &str = "SECd1e2f3a4b5c6d7e8f9";

/// The peer's own check of DingTalk's signature.
fn dingtalk_signature_ok(s: &Seen) -> bool {
    let pairs = query(s);
    let ts: i64 = q(&pairs, "timestamp").parse().unwrap();
    let want = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(
        DING_SECRET.as_bytes(),
        format!("{ts}\n{DING_SECRET}").as_bytes(),
    ));
    (now_ms() - ts).abs() < 60_000 && q(&pairs, "sign") == want
}

#[tokio::test]
async fn dingtalk_signed_text_and_markdown() {
    let (peer, base) = Peer::start(vec![ok(r#"{"errcode":0,"errmsg":"ok"}"#); 2]).await;
    let ch = channel(&format!(
        "kind = \"dingtalk\"\nwebhook_url = \"{base}/robot/send?access_token=T0\"\nsecret = \"{DING_SECRET}\""
    ));
    ch.send(&msg(false)).await.unwrap();
    ch.send(&msg(true)).await.unwrap();
    let seen = peer.seen();
    for s in &seen {
        assert!(dingtalk_signature_ok(s), "bad signature in {}", s.uri);
        assert_eq!(q(&query(s), "access_token"), "T0");
    }
    let t = json(&seen[0]);
    assert_eq!(t["msgtype"], "text");
    assert_eq!(
        t["text"]["content"],
        "您的诉求已有答复\n“路灯不亮”：已修复。\n查询码：AB12CD"
    );
    assert_eq!(t["at"]["atMobiles"][0], "13800138000");
    let m = json(&seen[1]);
    assert_eq!(m["msgtype"], "markdown");
    assert_eq!(m["markdown"]["title"], "您的诉求已有答复");
    assert!(m["markdown"]["text"]
        .as_str()
        .unwrap()
        .starts_with("### 已答复"));
}

#[tokio::test]
async fn dingtalk_wrong_secret_fails_the_peers_check() {
    let (peer, base) =
        Peer::start(vec![ok(r#"{"errcode":310000,"errmsg":"sign not match"}"#)]).await;
    let ch = channel(&format!(
        "kind = \"dingtalk\"\nwebhook_url = \"{base}/robot/send?access_token=T0\"\nsecret = \"SECnot-the-right-one\""
    ));
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert!(!dingtalk_signature_ok(&peer.seen()[0]));
    assert_eq!(e.retry, Retry::Permanent);
    assert!(e.reason.contains("310000"), "{e}");
}

#[tokio::test]
async fn dingtalk_busy_codes_and_5xx_are_retryable() {
    let (_peer, base) = Peer::start(vec![
        ok(r#"{"errcode":130101,"errmsg":"send too fast"}"#),
        status(502, "bad gateway"),
        status(400, "bad request"),
    ])
    .await;
    let ch = channel(&format!(
        "kind = \"dingtalk\"\nwebhook_url = \"{base}/robot/send?access_token=T\""
    ));
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Retryable
    );
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Retryable
    );
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Permanent
    );
}

// ------------------------------------------------------------------ SMS gateway

#[tokio::test]
async fn sms_json_gateway_with_bearer_and_success_field() {
    let (peer, base) = Peer::start(vec![
        ok(r#"{"code":0,"data":{"id":"m-1"}}"#),
        ok(r#"{"code":0,"data":{"id":"m-2"}}"#),
        ok(r#"{"code":0,"data":{"id":"m-3"}}"#),
        ok(r#"{"code":1001,"msg":"blacklisted number"}"#),
        ok(r#"{"code":"THROTTLED"}"#),
        status(500, "down"),
    ])
    .await;
    let ch = channel(&format!(
        r#"kind = "sms"
url = "{base}/v1/sms"
bearer_token = "tok-123"
headers = {{ X-App = "suqiu" }}
body = {{ format = "json", template = {{ mobile = "{{phone}}", content = "【某区】{{text}}", ref = "{{idempotency_key}}", tags = ["notify"] }} }}
success = {{ json_pointer = "/code", equals = ["0"], retryable = ["THROTTLED"], id_pointer = "/data/id" }}
"#
    ));
    let d = ch.send(&msg(false)).await.unwrap();
    assert_eq!(d.peer_ids, ["m-1"]);
    let mut two = msg(false);
    two.to.push("+8613900139000".into());
    let d = ch.send(&two).await.unwrap();
    assert_eq!(d.peer_ids, ["m-2", "m-3"]);
    let seen = peer.seen();
    assert_eq!(seen[0].headers["authorization"], "Bearer tok-123");
    assert_eq!(seen[0].headers["x-app"], "suqiu");
    assert!(seen[0].headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let b = json(&seen[0]);
    assert_eq!(b["mobile"], "13800138000");
    assert_eq!(b["content"], "【某区】“路灯不亮”：已修复。\n查询码：AB12CD");
    assert_eq!(b["ref"], "case-7:replied:12");
    assert_eq!(b["tags"][0], "notify");
    assert_eq!(json(&seen[1])["ref"], "case-7:replied:12#0");
    assert_eq!(json(&seen[2])["ref"], "case-7:replied:12#1");
    assert_eq!(json(&seen[2])["mobile"], "+8613900139000");

    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert!(e.reason.contains("1001"), "{e}");
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Retryable
    );
    assert_eq!(
        ch.send(&msg(false)).await.unwrap_err().retry,
        Retry::Retryable
    );
    let mut bad = msg(false);
    bad.to = vec!["not a phone".into()];
    assert_eq!(ch.send(&bad).await.unwrap_err().retry, Retry::Permanent);
}

#[tokio::test]
async fn sms_form_and_query_gateways() {
    let (peer, base) = Peer::start(vec![ok("OK"), ok("OK"), status(403, "forbidden")]).await;
    let form = channel(&format!(
        r#"kind = "sms"
url = "{base}/send"
method = "PUT"
body = {{ format = "form", fields = {{ to = "{{phone}}", msg = "{{text}}" }} }}
"#
    ));
    form.send(&msg(false)).await.unwrap();
    let get = channel(&format!(
        r#"kind = "sms"
url = "{base}/send?user=u1"
method = "GET"
body = {{ format = "query", fields = {{ to = "{{phone}}", msg = "{{text}}" }} }}
"#
    ));
    get.send(&msg(false)).await.unwrap();
    assert_eq!(
        get.send(&msg(false)).await.unwrap_err().retry,
        Retry::Permanent
    );
    let seen = peer.seen();
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(
        seen[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let fields: Vec<(String, String)> = reqwest::Url::parse(&format!(
        "http://x/?{}",
        std::str::from_utf8(&seen[0].body).unwrap()
    ))
    .unwrap()
    .query_pairs()
    .map(|(k, v)| (k.into_owned(), v.into_owned()))
    .collect();
    assert_eq!(q(&fields, "to"), "13800138000");
    assert_eq!(q(&fields, "msg"), msg(false).text);
    assert_eq!(seen[1].method, "GET");
    let pairs = query(&seen[1]);
    assert_eq!(q(&pairs, "user"), "u1");
    assert_eq!(q(&pairs, "msg"), msg(false).text);
    assert!(seen[1].body.is_empty());
}

// ------------------------------------------------------------------ generic webhook

const HOOK_SECRET: &str = "whsec_0123456789abcdef";

#[tokio::test]
async fn webhook_is_signed_and_keyed() {
    let (peer, base) = Peer::start(vec![
        status(204, ""),
        status(400, "bad"),
        status(503, "later"),
    ])
    .await;
    let ch = channel(&format!(
        "kind = \"webhook\"\nurl = \"{base}/hooks/suqiu\"\nsecret = \"{HOOK_SECRET}\""
    ));
    let d = ch.send(&msg(true)).await.unwrap();
    assert_eq!(d.peer_ids, ["HTTP 204 No Content"]);
    let s = &peer.seen()[0];
    let ts = s.headers["x-suqiu-timestamp"].to_str().unwrap();
    assert!((now_ms() / 1000 - ts.parse::<i64>().unwrap()).abs() < 60);
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(&s.body);
    let want = format!(
        "sha256={}",
        hex::encode(hmac_sha256(HOOK_SECRET.as_bytes(), &signed))
    );
    assert_eq!(s.headers["x-suqiu-signature"], want.as_str());
    assert_eq!(s.headers["idempotency-key"], "case-7:replied:12");
    let b = json(s);
    assert_eq!(b["idempotency_key"], "case-7:replied:12");
    assert_eq!(b["text"], msg(true).text);
    assert_eq!(b["markdown"], "### 已答复\n> 路灯不亮");
    assert_eq!(b["to"][0], "13800138000");
    // The crate's own verifier agrees with the peer's check.
    suqiu_channels::webhook::verify(
        HOOK_SECRET,
        ts,
        s.headers["x-suqiu-signature"].to_str().unwrap(),
        &s.body,
        now_ms() / 1000,
        300,
    )
    .unwrap();
    assert_eq!(
        ch.send(&msg(true)).await.unwrap_err().retry,
        Retry::Permanent
    );
    assert_eq!(
        ch.send(&msg(true)).await.unwrap_err().retry,
        Retry::Retryable
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (peer, base) = Peer::start(vec![status(302, "moved")]).await;
    let ch = channel(&format!(
        "kind = \"webhook\"\nurl = \"{base}/a\"\nsecret = \"{HOOK_SECRET}\""
    ));
    let e = ch.send(&msg(false)).await.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert_eq!(peer.seen().len(), 1);
}
