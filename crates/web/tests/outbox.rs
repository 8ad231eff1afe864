//! The notification outbox against a real HTTP peer on loopback: delivery
//! with an idempotency key per notification, retries with back-off after a
//! retryable failure, dead letters after a permanent one (sent again by an
//! administrator), and several senders on one database never delivering the
//! same notification twice. On SQLite and (when provided) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use suqiu_app::outbox::NotifyConfig;
use suqiu_app::{orgconfig, App, FixedClock};
use suqiu_store::testing::{self, TestDb};
use tower::ServiceExt;

const T0: i64 = 1_795_395_600_000;
const SECRET: &str = "a-secret-of-at-least-16-bytes";
const WECOM_TOKEN: &str = "suqiu-token";
const WECOM_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const WECOM_CORP: &str = "wwcorp0001";
const DING_SECRET: &str = "ding-app-secret-0123456789";

#[derive(Default)]
struct Peer {
    /// Idempotency keys of the accepted messages, in order.
    keys: Mutex<Vec<String>>,
    /// Bodies by key.
    bodies: Mutex<BTreeMap<String, Value>>,
    /// Answer 503 to this many requests.
    fail: AtomicU32,
    /// Answer 400 to this many requests.
    refuse: AtomicU32,
}

async fn hook(State(p): State<Arc<Peer>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // an independent check of the signature
    suqiu_channels::webhook::verify(
        SECRET,
        &h("x-suqiu-timestamp"),
        &h("x-suqiu-signature"),
        &body,
        now,
        300,
    )
    .expect("signed");
    if p.fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if p.refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::BAD_REQUEST;
    }
    let key = h("idempotency-key");
    p.keys.lock().unwrap().push(key.clone());
    p.bodies
        .lock()
        .unwrap()
        .insert(key, serde_json::from_slice(&body).unwrap());
    StatusCode::OK
}

async fn peer() -> (Arc<Peer>, String) {
    let p = Arc::new(Peer::default());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (p, format!("http://{addr}/hook"))
}

fn config(url: &str) -> NotifyConfig {
    NotifyConfig::parse(&format!(
        r#"
[channels.hook]
kind = "webhook"
url = "{url}"
secret = "{SECRET}"
timeout_secs = 5
[channels.mail]
kind = "webhook"
url = "{url}"
secret = "{SECRET}"
timeout_secs = 5
[routes]
resident = "hook"
resident_email = "mail"
unit = "hook"
person = "hook"
[sender]
max_attempts = 3
backoff_ms = 60000
[chat_groups.g1]
platform = "wecom"
unit = "430799001002-01"
reply_channel = "hook"
token = "{WECOM_TOKEN}"
encoding_aes_key = "{WECOM_KEY}"
corp_id = "{WECOM_CORP}"
[chat_groups.d1]
platform = "dingtalk"
unit = "430799004001-01"
reply_channel = "hook"
app_secret = "{DING_SECRET}"
[chat_groups.d2]
platform = "dingtalk"
unit = "430799004001-01"
reply_channel = "hook"
app_secret = "{DING_SECRET}"
"#
    ))
    .unwrap()
}

struct World {
    app: App,
    clock: Arc<FixedClock>,
    router: axum::Router,
}

async fn world(db: &TestDb, url: &str) -> World {
    let clock = Arc::new(FixedClock::new(T0));
    let app = App::new(db.store.clone(), clock.clone())
        .await
        .unwrap()
        .with_notifier(config(url).build(None).unwrap());
    app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    let router = suqiu_web::router(app.clone());
    World { app, clock, router }
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = router
        .clone()
        .oneshot(b.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let s = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (s, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn file(router: &axum::Router, n: usize) {
    let (s, v) = call(
        router,
        "POST",
        "/api/v1/cases",
        None,
        json!({"channel": "web", "unit": "430799001002-01", "title": format!("路灯不亮{n}"),
               "content": "小区门口路灯坏了一周。", "reporter": {"name": "王五", "phone": format!("1390000{n:04}")}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn story(db: TestDb) {
    let (peer, url) = peer().await;
    let w = world(&db, &url).await;
    file(&w.router, 1).await;
    let pending = w.app.store().outbox(Some("pending"), 100).await.unwrap();
    assert!(!pending.is_empty(), "filing leaves notification intents");
    let r = w.app.deliver_once("w1").await.unwrap();
    assert_eq!(r.sent, pending.len(), "{r:?}");
    let keys = peer.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), pending.len());
    let want: Vec<String> = pending
        .iter()
        .map(|n| format!("suqiu-{}-n{}", w.app.district(), n.id))
        .collect();
    let mut got = keys.clone();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(
        got, want_sorted,
        "one message per notification, keyed by it"
    );
    // the resident's message is the plain Chinese template, to their phone
    let bodies = peer.bodies.lock().unwrap().clone();
    let resident = bodies
        .values()
        .find(|b| b["to"] == json!(["13900000001"]))
        .expect("a message to the resident's phone");
    assert!(
        resident["text"].as_str().unwrap().contains("查询码"),
        "{resident}"
    );
    // the tracking code is the resident's alone: the staff's messages name the case number
    let case = w.app.store().case_by_id(1).await.unwrap().unwrap();
    assert!(resident.to_string().contains(&case.tracking_code));
    let to_staff: Vec<&Value> = bodies
        .values()
        .filter(|b| b["to"] != json!(["13900000001"]))
        .collect();
    assert!(!to_staff.is_empty(), "{bodies:?}");
    for b in to_staff {
        let text = b.to_string();
        assert!(!text.contains(&case.tracking_code), "{text}");
        assert!(text.contains("#1"), "{text}");
    }
    assert!(w
        .app
        .store()
        .outbox(Some("pending"), 100)
        .await
        .unwrap()
        .is_empty());

    // a retryable failure: tried again after the back-off, with the same key
    peer.fail.store(1, Ordering::SeqCst);
    let before = peer.keys.lock().unwrap().len();
    file(&w.router, 2).await;
    let due = w
        .app
        .store()
        .outbox(Some("pending"), 100)
        .await
        .unwrap()
        .len();
    let r = w.app.deliver_once("w1").await.unwrap();
    assert_eq!((r.retried, r.sent), (1, due - 1), "{r:?}");
    let waiting = w.app.store().outbox(Some("pending"), 100).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].attempts, 1);
    assert!(
        waiting[0].last_error.as_deref().unwrap().contains("503"),
        "{:?}",
        waiting[0].last_error
    );
    assert!(waiting[0].next_attempt_at >= T0 + 60_000);
    assert_eq!(
        w.app.deliver_once("w1").await.unwrap().claimed,
        0,
        "not before its time"
    );
    w.clock.advance(61_000);
    assert_eq!(w.app.deliver_once("w1").await.unwrap().sent, 1);
    assert_eq!(peer.keys.lock().unwrap().len(), before + due);

    // a permanent refusal: dead at once, visible to administrators, sent again on request
    peer.refuse.store(1, Ordering::SeqCst);
    file(&w.router, 3).await;
    let r = w.app.deliver_once("w1").await.unwrap();
    assert_eq!(r.dead, 1, "{r:?}");
    let admin = {
        let (s, v) = call(
            &w.router,
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"login": "admin", "password": orgconfig::DEMO_PASSWORD}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        v["token"].as_str().unwrap().to_string()
    };
    let (s, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/outbox?status=dead",
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let dead = v["notifications"].as_array().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("400"));
    let id = dead[0]["id"].as_i64().unwrap();
    let chen = {
        let (_, v) = call(
            &w.router,
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"login": "shequ.chen", "password": orgconfig::DEMO_PASSWORD}),
        )
        .await;
        v["token"].as_str().unwrap().to_string()
    };
    let (s, _) = call(
        &w.router,
        "POST",
        &format!("/api/v1/admin/outbox/{id}/retry"),
        Some(&chen),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(
        &w.router,
        "POST",
        &format!("/api/v1/admin/outbox/{id}/retry"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &w.router,
        "POST",
        &format!("/api/v1/admin/outbox/{id}/retry"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("notification_not_found")),
        "only dead ones"
    );
    assert_eq!(w.app.deliver_once("w1").await.unwrap().sent, 1);
    assert!(w
        .app
        .store()
        .outbox(Some("dead"), 10)
        .await
        .unwrap()
        .is_empty());
    let (_, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/audit",
        Some(&admin),
        Value::Null,
    )
    .await;
    assert!(v.to_string().contains("notification.retry"));

    // several senders (as on several instances) on one database: each
    // notification goes out exactly once
    for n in 10..40 {
        file(&w.router, n).await;
    }
    let other = App::new(db.store.clone(), w.clock.clone())
        .await
        .unwrap()
        .with_notifier(config(&url).build(None).unwrap());
    other.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    let due = w
        .app
        .store()
        .outbox(Some("pending"), 500)
        .await
        .unwrap()
        .len();
    assert!(due >= 30);
    let before = peer.keys.lock().unwrap().len();
    let run = |app: App, worker: &'static str| async move {
        let mut sent = 0;
        loop {
            let r = app.deliver_once(worker).await.unwrap();
            if r.claimed == 0 {
                return sent;
            }
            sent += r.sent;
        }
    };
    let (a, b, c) = tokio::join!(
        run(w.app.clone(), "a"),
        run(other.clone(), "b"),
        run(w.app.clone(), "c")
    );
    assert_eq!(a + b + c, due);
    let keys = peer.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), before + due, "nothing sent twice");
    let mut uniq = keys.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), keys.len(), "every key once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_sqlite() {
    story(testing::sqlite().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_postgres() {
    if let Some(server) = testing::postgres_server_url() {
        story(testing::postgres(&server).await.unwrap()).await;
    }
}

/// A village chat group's messages become cases, the bot answers with the
/// tracking code, and progress goes back to the group (its reply channel),
/// mentioning the sender.
async fn chat_story(db: TestDb) {
    use suqiu_channels::intake::wecom::{signature, WeComCrypto};
    let (peer, url) = peer().await;
    let w = world(&db, &url).await;
    let crypto = WeComCrypto::new(WECOM_TOKEN, WECOM_KEY, WECOM_CORP).unwrap();
    let (ts, nonce) = ("1795395600", "n0nce");
    // URL verification
    let echo = crypto.encrypt_with("echo-20261123", [7u8; 16]);
    let sig = signature(WECOM_TOKEN, ts, nonce, &echo);
    let q = |sig: &str, extra: &str| {
        format!("/api/v1/chat/wecom/g1?msg_signature={sig}&timestamp={ts}&nonce={nonce}{extra}")
    };
    let enc = |s: &str| {
        s.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    let res = w
        .router
        .clone()
        .oneshot(
            Request::get(q(&sig, &format!("&echostr={}", enc(&echo))))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        &res.into_body().collect().await.unwrap().to_bytes()[..],
        b"echo-20261123"
    );
    let res = w
        .router
        .clone()
        .oneshot(
            Request::get(q("0000", &format!("&echostr={}", enc(&echo))))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a wrong signature is refused"
    );

    // a resident's message to the group's bot
    let xml = "<xml><ToUserName><![CDATA[wwcorp0001]]></ToUserName><FromUserName><![CDATA[zhangdaye]]></FromUserName>\
               <CreateTime>1795395600</CreateTime><MsgType><![CDATA[text]]></MsgType>\
               <Content><![CDATA[村口小桥的栏杆断了，孩子上学很危险。请尽快修一修。]]></Content><MsgId>42</MsgId></xml>";
    let encrypted = crypto.encrypt_with(xml, [1u8; 16]);
    let body = format!("<xml><ToUserName><![CDATA[wwcorp0001]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>");
    let before = w.app.store().count_cases().await.unwrap();
    let post = |sig: String, body: String| {
        let router = w.router.clone();
        let uri = q(&sig, "");
        async move {
            let res = router
                .oneshot(
                    Request::post(uri)
                        .header(header::CONTENT_TYPE, "application/xml")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            let s = res.status();
            (
                s,
                String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
                    .unwrap(),
            )
        }
    };
    let (s, b) = post("bad".into(), body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(
        w.app.store().count_cases().await.unwrap(),
        before,
        "nothing filed"
    );
    let (s, reply) = post(signature(WECOM_TOKEN, ts, nonce, &encrypted), body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{reply}");
    let answer_of = |reply: &str| {
        let inner = reply
            .split("<Encrypt><![CDATA[")
            .nth(1)
            .unwrap()
            .split("]]>")
            .next()
            .unwrap();
        crypto.decrypt(inner).unwrap()
    };
    let answer = answer_of(&reply);
    assert!(answer.contains("查询码"), "{answer}");
    assert_eq!(w.app.store().count_cases().await.unwrap(), before + 1);
    // WeCom retries a slow callback with the same MsgId: no second case, the
    // first one's tracking code again
    let (s, again) = post(signature(WECOM_TOKEN, ts, nonce, &encrypted), body).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(code_in(&answer_of(&again)), code_in(&answer));
    assert_eq!(w.app.store().count_cases().await.unwrap(), before + 1);
    // two concurrent deliveries of one new message file one case
    let xml2 = xml.replace("<MsgId>42</MsgId>", "<MsgId>43</MsgId>");
    let encrypted2 = crypto.encrypt_with(&xml2, [2u8; 16]);
    let body2 = format!("<xml><ToUserName><![CDATA[wwcorp0001]]></ToUserName><Encrypt><![CDATA[{encrypted2}]]></Encrypt></xml>");
    let sig2 = signature(WECOM_TOKEN, ts, nonce, &encrypted2);
    let ((s1, r1), (s2, r2)) = tokio::join!(
        post(sig2.clone(), body2.clone()),
        post(sig2.clone(), body2.clone())
    );
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{r1} {r2}");
    let (c1, c2) = (code_in(&answer_of(&r1)), code_in(&answer_of(&r2)));
    assert_eq!(c1, c2, "one case for one message");
    assert_ne!(c1, code_in(&answer), "another message, another case");
    assert_eq!(w.app.store().count_cases().await.unwrap(), before + 2);
    let list = w
        .app
        .store()
        .list_cases(suqiu_app::CaseFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let case = list
        .iter()
        .find(|c| c.channel == "chat_group" && c.tracking_code == code_in(&answer))
        .expect("the chat-group case of the first message");
    assert_eq!(
        (case.reporter_name.as_str(), case.place_unit.as_str()),
        ("zhangdaye", "430799001002-01")
    );
    assert!(answer.contains(&case.tracking_code));
    let (s, v) = call(
        &w.router,
        "POST",
        &format!("/api/v1/track/{}/notify", case.tracking_code),
        None,
        json!({"channel": "sms", "address": "13900001234"}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("contact_of_chat_case")),
        "{v}"
    );
    // progress goes back to the group, mentioning the sender
    w.app.deliver_once("w").await.unwrap();
    let bodies = peer.bodies.lock().unwrap().clone();
    let to_group = bodies
        .values()
        .find(|b| b["to"] == json!(["zhangdaye"]))
        .expect("posted to the group");
    assert!(
        to_group["text"]
            .as_str()
            .unwrap()
            .contains(&case.tracking_code),
        "{to_group}"
    );

    // DingTalk's outgoing robot, signed with the app secret
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let msg = json!({"msgtype": "text", "text": {"content": " 我们村的水管爆了，路上全是水 "}, "msgId": "m1",
        "createAt": now, "conversationType": "2", "conversationId": "cid1", "conversationTitle": "金霞村村民群",
        "senderId": "$:LWCP_v1:$abc", "senderNick": "王大妈"});
    let ding_body = |group: &'static str, sign: String, msg: Value| {
        let router = w.router.clone();
        async move {
            let res = router
                .oneshot(
                    Request::post(format!("/api/v1/chat/dingtalk/{group}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .header("timestamp", now.to_string())
                        .header("sign", sign)
                        .body(Body::from(msg.to_string()))
                        .unwrap(),
                )
                .await
                .unwrap();
            let s = res.status();
            (
                s,
                serde_json::from_slice::<Value>(
                    &res.into_body().collect().await.unwrap().to_bytes(),
                )
                .unwrap(),
            )
        }
    };
    let ding_in = |group: &'static str, sign: String| ding_body(group, sign, msg.clone());
    let ding = |sign: String| ding_in("d1", sign);
    let (s, v) = ding("d3Jvbmc=".into()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("chat_refused")),
        "{v}"
    );
    let cases = w.app.store().count_cases().await.unwrap();
    let (s, v) = ding(suqiu_channels::dingtalk::sign(DING_SECRET, now)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = v["text"]["content"].as_str().unwrap().to_string();
    assert!(first.contains("查询码"), "{v}");
    assert_eq!(w.app.store().count_cases().await.unwrap(), cases + 1);
    // a retried msgId: the first case's code, nothing filed; then two
    // concurrent retries of it
    let (s, v) = ding(suqiu_channels::dingtalk::sign(DING_SECRET, now)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        code_in(v["text"]["content"].as_str().unwrap()),
        code_in(&first)
    );
    let ((s1, v1), (s2, v2)) = tokio::join!(
        ding(suqiu_channels::dingtalk::sign(DING_SECRET, now)),
        ding(suqiu_channels::dingtalk::sign(DING_SECRET, now))
    );
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{v1} {v2}");
    for v in [v1, v2] {
        assert_eq!(
            code_in(v["text"]["content"].as_str().unwrap()),
            code_in(&first)
        );
    }
    assert_eq!(w.app.store().count_cases().await.unwrap(), cases + 1);
    // the same msgId in another group is another message
    let (s, v) = ding_in("d2", suqiu_channels::dingtalk::sign(DING_SECRET, now)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_ne!(
        code_in(v["text"]["content"].as_str().unwrap()),
        code_in(&first)
    );
    assert_eq!(w.app.store().count_cases().await.unwrap(), cases + 2);
    // two concurrent first deliveries of a new message file one case
    let msg3 = {
        let mut m = msg.clone();
        m["msgId"] = json!("m3");
        m
    };
    let ((s1, v1), (s2, v2)) = tokio::join!(
        ding_body(
            "d1",
            suqiu_channels::dingtalk::sign(DING_SECRET, now),
            msg3.clone()
        ),
        ding_body(
            "d1",
            suqiu_channels::dingtalk::sign(DING_SECRET, now),
            msg3.clone()
        )
    );
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{v1} {v2}");
    assert_eq!(
        code_in(v1["text"]["content"].as_str().unwrap()),
        code_in(v2["text"]["content"].as_str().unwrap())
    );
    assert_eq!(w.app.store().count_cases().await.unwrap(), cases + 3);
    let (s, v) = call(
        &w.router,
        "POST",
        "/api/v1/chat/dingtalk/nope",
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("chat_group_not_found"))
    );
}

/// The tracking code in the bot's answer.
fn code_in(answer: &str) -> String {
    answer
        .split("查询码：")
        .nth(1)
        .and_then(|r| r.split('。').next())
        .unwrap_or_else(|| panic!("no tracking code in {answer:?}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_groups_sqlite() {
    chat_story(testing::sqlite().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_groups_postgres() {
    if let Some(server) = testing::postgres_server_url() {
        chat_story(testing::postgres(&server).await.unwrap()).await;
    }
}

async fn login(router: &axum::Router, login: &str) -> String {
    let (s, v) = call(
        router,
        "POST",
        "/api/v1/auth/login",
        None,
        json!({"login": login, "password": orgconfig::DEMO_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// The resident's message of the last delivery round to `phone`.
fn to_phone(peer: &Peer, phone: &str) -> Value {
    peer.bodies
        .lock()
        .unwrap()
        .values()
        .find(|b| b["to"] == json!([phone]))
        .cloned()
        .unwrap_or_else(|| panic!("no message to {phone}"))
}

/// Administrators edit a template: refused when it does not check (nothing
/// stored), audited when stored, used by every instance's sender from its next
/// message on, and removed again.
async fn templates_story(db: TestDb) {
    let (peer, url) = peer().await;
    let w = world(&db, &url).await;
    let other = App::new(db.store.clone(), w.clock.clone())
        .await
        .unwrap()
        .with_notifier(config(&url).build(None).unwrap());
    other.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    let admin = login(&w.router, "admin").await;
    let chen = login(&w.router, "shequ.chen").await;
    const PATH: &str = "/api/v1/admin/templates/received/resident/zh";

    // the list: every template with its default, none overridden
    let (s, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/templates",
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = v["templates"].as_array().unwrap();
    assert!(list.len() >= 60, "{}", list.len());
    let received = list
        .iter()
        .find(|t| t["kind"] == "received" && t["audience"] == "resident" && t["lang"] == "zh")
        .unwrap();
    assert!(received["override"].is_null());
    let default_text = received["default"]["text"].as_str().unwrap().to_string();
    let (s, _) = call(
        &w.router,
        "GET",
        "/api/v1/admin/templates",
        Some(&chen),
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // both instances send with the default first (and cache it)
    file(&w.router, 101).await;
    while other.deliver_once("o").await.unwrap().claimed > 0 {}
    assert!(
        default_text.contains("凭此码可随时查询办理情况"),
        "{default_text}"
    );
    let first = to_phone(&peer, "13900000101");
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("凭此码可随时查询办理情况"),
        "the default: {first}"
    );

    // refused: unknown placeholder, unbalanced brace, empty text, unknown template, not an admin
    let body = |text: &str| json!({"subject": "诉求已受理", "text": text});
    for (text, want) in [
        ("您好{phone}", "invalid_template"),
        ("查询码{tracking_code", "invalid_template"),
        ("  ", "invalid_template"),
    ] {
        let (s, v) = call(&w.router, "PUT", PATH, Some(&admin), body(text)).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(want)),
            "{text}: {v}"
        );
        assert!(v["message_zh"].as_str().unwrap().contains("未保存"), "{v}");
    }
    // control characters: NUL in the text, a bell in the markdown, a line break in the subject
    for (body, field) in [
        (body("诉求已受理\u{0}{tracking_code}"), "text"),
        (
            json!({"subject": "诉求已受理", "text": "{title}", "markdown": "**{title}**\u{7}"}),
            "markdown",
        ),
        (
            json!({"subject": "诉求\n已受理", "text": "{title}"}),
            "subject",
        ),
    ] {
        let (s, v) = call(&w.router, "PUT", PATH, Some(&admin), body).await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("field_control_characters"),
                Some(field)
            ),
            "{v}"
        );
    }
    let (s, v) = call(
        &w.router,
        "PUT",
        "/api/v1/admin/templates/received/martian/zh",
        Some(&admin),
        body("{title}"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("template_not_found")),
        "{v}"
    );
    let (s, v) = call(
        &w.router,
        "PUT",
        "/api/v1/admin/templates/nonsense/resident/zh",
        Some(&admin),
        body("{title}"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("template_not_found")),
        "{v}"
    );
    let (s, _) = call(&w.router, "PUT", PATH, Some(&chen), body("{title}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(
        &w.router,
        "PUT",
        PATH,
        Some(&admin),
        json!({"subject": "x"}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("field_missing")),
        "{v}"
    );
    assert_eq!(
        w.app.store().template_overrides().await.unwrap(),
        (0, vec![]),
        "nothing stored"
    );

    // stored, with its preview on the sample case
    let (s, v) = call(
        &w.router,
        "PUT",
        PATH,
        Some(&admin),
        json!({"subject": "受理 {tracking_code}", "text": "【区诉求平台】{title}已受理，查询码{tracking_code}，{{请保存}}。", "markdown": ""}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["preview"]["text"],
        "【区诉求平台】小区门口路灯不亮已受理，查询码7KQ2M9XW4C，{请保存}。"
    );
    assert!(
        v["preview"]["markdown"].is_null(),
        "an empty markdown is none"
    );
    let (_, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/templates",
        Some(&admin),
        Value::Null,
    )
    .await;
    let received = v["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "received" && t["audience"] == "resident" && t["lang"] == "zh")
        .unwrap()
        .clone();
    assert_eq!(received["override"]["updated_by"], "admin");
    assert_eq!(received["default"]["text"], json!(default_text));

    // the other instance uses it from its next message on
    file(&w.router, 102).await;
    while other.deliver_once("o").await.unwrap().claimed > 0 {}
    let m = to_phone(&peer, "13900000102");
    let code = w
        .app
        .store()
        .list_cases(suqiu_app::CaseFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .tracking_code
        .clone();
    assert_eq!(
        m["text"],
        json!(format!(
            "【区诉求平台】路灯不亮102已受理，查询码{code}，{{请保存}}。"
        )),
        "{m}"
    );
    assert_eq!(m["subject"], json!(format!("受理 {code}")));

    // back to the default, on every instance
    let (s, _) = call(&w.router, "DELETE", PATH, Some(&chen), Value::Null).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(&w.router, "DELETE", PATH, Some(&admin), Value::Null).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(&w.router, "DELETE", PATH, Some(&admin), Value::Null).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("template_not_overridden"))
    );
    file(&w.router, 103).await;
    while other.deliver_once("o").await.unwrap().claimed > 0 {}
    let m = to_phone(&peer, "13900000103");
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("凭此码可随时查询办理情况"),
        "the default again: {m}"
    );

    // each change audited once
    let (_, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/audit",
        Some(&admin),
        Value::Null,
    )
    .await;
    let text = v.to_string();
    assert_eq!(text.matches("\"template.put\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"template.delete\"").count(), 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn templates_sqlite() {
    templates_story(testing::sqlite().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn templates_postgres() {
    if let Some(server) = testing::postgres_server_url() {
        templates_story(testing::postgres(&server).await.unwrap()).await;
    }
}

/// A resident's preferred channel: given at intake (e-mail, another phone, or
/// none), changed with the tracking code, used by the sender (the e-mail
/// channel for e-mail; skipped for none), masked wherever staff read it.
async fn preferences_story(db: TestDb) {
    let (peer, url) = peer().await;
    let w = world(&db, &url).await;
    let file_with = |n: usize, notify: Value| {
        let router = w.router.clone();
        async move {
            call(
                &router,
                "POST",
                "/api/v1/cases",
                None,
                json!({"channel": "web", "unit": "430799001002-01", "title": format!("井盖缺失{n}"),
                       "content": "路口井盖丢了。", "reporter": {"name": "李四", "phone": format!("1380000{n:04}")},
                       "notify": notify}),
            )
            .await
        }
    };
    // refused, nothing filed
    let before = w.app.store().count_cases().await.unwrap();
    for (notify, code, field) in [
        (
            json!({"channel": "email", "address": "not-an-address"}),
            "invalid_email",
            "notify.address",
        ),
        (
            json!({"channel": "email"}),
            "field_missing",
            "notify.address",
        ),
        (
            json!({"channel": "fax", "address": "0731-1234567"}),
            "invalid_value",
            "notify.channel",
        ),
        (
            json!({"channel": "sms", "address": "12345"}),
            "invalid_phone",
            "notify.address",
        ),
        (
            json!({"address": "a@example.cn"}),
            "field_missing",
            "notify.channel",
        ),
    ] {
        let (s, v) = file_with(1, notify.clone()).await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code), Some(field)),
            "{notify}: {v}"
        );
    }
    assert_eq!(w.app.store().count_cases().await.unwrap(), before);

    let (s, email) = file_with(
        1,
        json!({"channel": "email", "address": "Li.Si@Example.CN"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{email}");
    let (s, other_phone) =
        file_with(2, json!({"channel": "sms", "address": "137 0000 1111"})).await;
    assert_eq!(s, StatusCode::CREATED, "{other_phone}");
    let (s, none) = file_with(3, json!({"channel": "none"})).await;
    assert_eq!(s, StatusCode::CREATED, "{none}");
    let (s, default) = file_with(4, Value::Null).await;
    assert_eq!(s, StatusCode::CREATED, "{default}");
    let mut r = w.app.deliver_once("p").await.unwrap();
    while r.claimed > 0 {
        let more = w.app.deliver_once("p").await.unwrap();
        r.skipped += more.skipped;
        r.claimed = more.claimed;
    }
    assert_eq!(r.skipped, 1, "the resident who asked for none: {r:?}");
    let bodies = peer.bodies.lock().unwrap().clone();
    let to = |addr: &str| bodies.values().filter(|b| b["to"] == json!([addr])).count();
    assert_eq!(to("Li.Si@example.cn"), 1, "e-mail, domain in lower case");
    assert_eq!(to("13700001111"), 1, "the other number");
    assert_eq!(to("13800000002"), 0, "not the reporter's phone");
    assert_eq!(to("13800000003"), 0, "nothing for none");
    assert_eq!(to("13800000004"), 1, "the default: the reporter's phone");
    let id = |v: &Value| v["id"].as_i64().unwrap();
    let resident_row = |rows: Vec<suqiu_store::NotificationRow>| {
        rows.into_iter()
            .find(|n| n.recipient.contains("resident"))
            .unwrap()
    };
    let n = resident_row(w.app.store().notifications(id(&email)).await.unwrap());
    assert_eq!(
        (n.status.as_str(), n.channel.as_deref()),
        ("sent", Some("mail"))
    );
    let n = resident_row(w.app.store().notifications(id(&none)).await.unwrap());
    assert_eq!((n.status.as_str(), n.channel), ("skipped", None));
    let admin = login(&w.router, "admin").await;
    let (s, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/outbox?status=skipped",
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["notifications"].as_array().unwrap().len(), 1, "{v}");

    // staff and the tracking page see it masked
    let chen = login(&w.router, "shequ.chen").await;
    let (s, v) = call(
        &w.router,
        "GET",
        &format!("/api/v1/cases/{}", id(&email)),
        Some(&chen),
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["notify"],
        json!({"channel": "email", "address": "L***@example.cn", "masked": true})
    );
    assert!(!v.to_string().contains("Li.Si"));
    let code = |v: &Value| v["tracking_code"].as_str().unwrap().to_string();
    let (s, v) = call(
        &w.router,
        "GET",
        &format!("/api/v1/track/{}", code(&other_phone)),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["notify"],
        json!({"channel": "sms", "address": "137****1111"})
    );

    // changed with the tracking code: journalled, audited, used from the next notice on
    let path = format!("/api/v1/track/{}/notify", code(&none));
    for (body, want) in [
        (json!({"channel": "email"}), "field_missing"),
        (
            json!({"channel": "none", "address": "x@example.cn"}),
            "invalid_value",
        ),
        (json!({}), "field_missing"),
    ] {
        let (s, v) = call(&w.router, "POST", &path, None, body.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(want)),
            "{body}: {v}"
        );
    }
    let (s, v) = call(
        &w.router,
        "POST",
        "/api/v1/track/ZZZZZZZZZZ/notify",
        None,
        json!({"channel": "none"}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("track_check_failed")),
        "{v}"
    );
    let version = w
        .app
        .store()
        .case_by_id(id(&none))
        .await
        .unwrap()
        .unwrap()
        .version;
    let (s, v) = call(
        &w.router,
        "POST",
        &path,
        None,
        json!({"channel": "email", "address": "li4@example.cn", "phone_last4": "0003"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["notify"],
        json!({"channel": "email", "address": "l***@example.cn"})
    );
    let events = w.app.store().events(id(&none)).await.unwrap();
    assert_eq!(events.len() as u64, version + 1);
    assert_eq!(events.last().unwrap().event.kind(), "contact_changed");
    let (s, v) = call(
        &w.router,
        "POST",
        &format!("/api/v1/cases/{}/triage", id(&none)),
        Some(&chen),
        json!({"urgency": "urgent", "category": "基础建设"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    while w.app.deliver_once("p").await.unwrap().claimed > 0 {}
    let bodies = peer.bodies.lock().unwrap().clone();
    let by_mail: Vec<&str> = bodies
        .values()
        .filter(|b| b["to"] == json!(["li4@example.cn"]))
        .map(|b| b["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_mail.len(),
        2,
        "the confirmation of the change and the triage notice go by e-mail now: {by_mail:?}"
    );
    assert!(by_mail.contains(&"接收办理进展的方式已更改"), "{by_mail:?}");
    let (_, v) = call(
        &w.router,
        "GET",
        "/api/v1/admin/audit",
        Some(&admin),
        Value::Null,
    )
    .await;
    assert!(v.to_string().contains("case.contact"), "audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preferences_sqlite() {
    preferences_story(testing::sqlite().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preferences_postgres() {
    if let Some(server) = testing::postgres_server_url() {
        preferences_story(testing::postgres(&server).await.unwrap()).await;
    }
}
