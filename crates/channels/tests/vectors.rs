#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The chat-group crypto against vectors made by an independent implementation
//! (`vectors/gen.py`: Python's `cryptography`, hashlib, hmac).

use serde_json::Value;
use suqiu_channels::intake::{dingtalk, wecom, IntakeError};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn crypto(v: &Value) -> wecom::WeComCrypto {
    wecom::WeComCrypto::new(
        s(&v["token"]),
        s(&v["encoding_aes_key"]),
        s(&v["receive_id"]),
    )
    .unwrap()
}

fn random(hex_str: &str) -> [u8; 16] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

#[test]
fn wecom_url_verification() {
    let v = load("wecom.json");
    let c = crypto(&v);
    let u = &v["url_verification"];
    let echo = c
        .verify_url(
            s(&u["msg_signature"]),
            s(&u["timestamp"]),
            s(&u["nonce"]),
            s(&u["echostr"]),
        )
        .unwrap();
    assert_eq!(echo, s(&u["plain"]));
    // Any change to the signed values is refused.
    let mut sig = s(&u["msg_signature"]).to_string();
    sig.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
    assert_eq!(
        c.verify_url(&sig, s(&u["timestamp"]), s(&u["nonce"]), s(&u["echostr"])),
        Err(IntakeError::BadSignature)
    );
    assert_eq!(
        c.verify_url(
            s(&u["msg_signature"]),
            "1409659590",
            s(&u["nonce"]),
            s(&u["echostr"])
        ),
        Err(IntakeError::BadSignature)
    );
    let other =
        wecom::WeComCrypto::new("other", s(&v["encoding_aes_key"]), s(&v["receive_id"])).unwrap();
    assert_eq!(
        other.verify_url(
            s(&u["msg_signature"]),
            s(&u["timestamp"]),
            s(&u["nonce"]),
            s(&u["echostr"])
        ),
        Err(IntakeError::BadSignature)
    );
}

#[test]
fn wecom_messages_decrypt_and_our_encryption_matches_the_reference() {
    let v = load("wecom.json");
    let c = crypto(&v);
    for m in v["messages"].as_array().unwrap() {
        assert_eq!(c.decrypt(s(&m["encrypt"])).unwrap(), s(&m["plain"]));
        // Same randomness → the same bytes as the reference encryption.
        assert_eq!(
            c.encrypt_with(s(&m["plain"]), random(s(&m["random_hex"]))),
            s(&m["encrypt"])
        );
        assert_eq!(
            wecom::signature(
                s(&v["token"]),
                s(&m["timestamp"]),
                s(&m["nonce"]),
                s(&m["encrypt"])
            ),
            s(&m["msg_signature"])
        );
        if let Some(body) = m.get("post_body") {
            let xml = c
                .decrypt_message(
                    s(&m["msg_signature"]),
                    s(&m["timestamp"]),
                    s(&m["nonce"]),
                    s(body),
                )
                .unwrap();
            assert_eq!(xml, s(&m["plain"]));
            assert_eq!(
                c.decrypt_message(s(&m["msg_signature"]), s(&m["timestamp"]), "other", s(body)),
                Err(IntakeError::BadSignature)
            );
        }
    }
    // The reply: our encrypted passive reply equals the reference and carries its signature.
    let r = &v["reply"];
    let doc = c.encrypt_reply_with(
        s(&r["plain"]),
        s(&r["timestamp"]),
        s(&r["nonce"]),
        random(s(&r["random_hex"])),
    );
    assert!(
        doc.contains(&format!(
            "<Encrypt><![CDATA[{}]]></Encrypt>",
            s(&r["encrypt"])
        )),
        "{doc}"
    );
    assert!(
        doc.contains(&format!(
            "<MsgSignature><![CDATA[{}]]></MsgSignature>",
            s(&r["msg_signature"])
        )),
        "{doc}"
    );
}

#[test]
fn wecom_text_messages_parse() {
    let v = load("wecom.json");
    let c = crypto(&v);
    let msgs = v["messages"].as_array().unwrap();
    let group = wecom::parse_message(&c.decrypt(s(&msgs[0]["encrypt"])).unwrap()).unwrap();
    assert!(group.is_text());
    assert_eq!(group.from_user_name, "zhangsan");
    assert_eq!(group.chat_id.as_deref(), Some("wrkSFfCgAALFgnrSsWU38puA"));
    assert_eq!(
        group.content.as_deref(),
        Some("小区门口路灯坏了三天，晚上很黑 <请尽快> & 谢谢")
    );
    assert_eq!(group.msg_id.as_deref(), Some("7311234567890123456"));
    assert_eq!(group.create_time, 1_700_000_000);
    let direct = wecom::parse_message(&c.decrypt(s(&msgs[1]["encrypt"])).unwrap()).unwrap();
    assert_eq!(direct.chat_id, None);
    assert_eq!(direct.content.as_deref(), Some("a < b && c 我"));
    assert_eq!(direct.agent_id.as_deref(), Some("1000002"));
}

#[test]
fn wecom_refuses_every_bad_vector() {
    let v = load("wecom.json");
    let c = crypto(&v);
    let bad = v["bad"].as_array().unwrap();
    assert!(bad.len() >= 5);
    for b in bad {
        // The signature is valid: the refusal comes from the decryption checks.
        let r = c.decrypt_message(
            s(&b["msg_signature"]),
            s(&b["timestamp"]),
            s(&b["nonce"]),
            &format!(
                "<xml><Encrypt><![CDATA[{}]]></Encrypt></xml>",
                s(&b["encrypt"])
            ),
        );
        let name = s(&b["name"]);
        match (s(&b["why"]), &r) {
            ("receiveid", Err(IntakeError::WrongReceiveId { got })) => {
                assert_eq!(got, "wwOTHERCORP")
            }
            ("padding", Err(IntakeError::BadPadding)) => {}
            ("length", Err(IntakeError::BadFrame(_))) => {}
            (
                "padding_or_receiveid",
                Err(
                    IntakeError::BadPadding
                    | IntakeError::BadFrame(_)
                    | IntakeError::WrongReceiveId { .. },
                ),
            ) => {}
            (why, r) => panic!("{name} ({why}): got {r:?}"),
        }
    }
}

#[test]
fn dingtalk_robot_signatures_match_the_reference() {
    let v = load("dingtalk.json");
    for r in v["robot"].as_array().unwrap() {
        let ts: i64 = s(&r["timestamp"]).parse().unwrap();
        assert_eq!(
            suqiu_channels::dingtalk::sign(s(&r["secret"]), ts),
            s(&r["sign"])
        );
    }
    // And the URL encoding of the robot's query matches Python's quote_plus.
    let r = &v["robot"][0];
    let robot = suqiu_channels::dingtalk::DingTalkRobot::new(
        &toml::from_str(&format!(
            "webhook_url = \"https://oapi.dingtalk.com/robot/send?access_token=abc\"\nsecret = \"{}\"",
            s(&r["secret"])
        ))
        .unwrap(),
    )
    .unwrap();
    let url = robot.signed_url(s(&r["timestamp"]).parse().unwrap());
    assert_eq!(
        url.query().unwrap(),
        format!(
            "access_token=abc&timestamp={}&sign={}",
            s(&r["timestamp"]),
            s(&r["sign_urlencoded"])
        )
    );
}

#[test]
fn dingtalk_outgoing_robot_requests() {
    let v = load("dingtalk.json");
    let o = &v["outgoing"];
    let ts: i64 = s(&o["timestamp"]).parse().unwrap();
    let secret = s(&o["app_secret"]);
    dingtalk::verify_request(secret, s(&o["timestamp"]), s(&o["sign"]), ts + 1000).unwrap();
    dingtalk::verify_request(
        secret,
        s(&o["timestamp"]),
        s(&o["sign"]),
        ts + dingtalk::MAX_SKEW_MS,
    )
    .unwrap();
    // Stale, both ways.
    assert!(matches!(
        dingtalk::verify_request(
            secret,
            s(&o["timestamp"]),
            s(&o["sign"]),
            ts + dingtalk::MAX_SKEW_MS + 1
        ),
        Err(IntakeError::Stale { .. })
    ));
    assert!(matches!(
        dingtalk::verify_request(
            secret,
            s(&o["timestamp"]),
            s(&o["sign"]),
            ts - dingtalk::MAX_SKEW_MS - 1
        ),
        Err(IntakeError::Stale { .. })
    ));
    // Wrong secret, wrong sign, a timestamp other than the signed one.
    assert_eq!(
        dingtalk::verify_request("wrong", s(&o["timestamp"]), s(&o["sign"]), ts),
        Err(IntakeError::BadSignature)
    );
    let mut bad_sign = s(&o["sign"]).to_string();
    bad_sign.insert(0, 'A');
    bad_sign.pop();
    assert_eq!(
        dingtalk::verify_request(secret, s(&o["timestamp"]), &bad_sign, ts),
        Err(IntakeError::BadSignature)
    );
    assert_eq!(
        dingtalk::verify_request(secret, &(ts + 1).to_string(), s(&o["sign"]), ts),
        Err(IntakeError::BadSignature)
    );
    assert!(matches!(
        dingtalk::verify_request(secret, "soon", s(&o["sign"]), ts),
        Err(IntakeError::BadTimestamp(_))
    ));

    let m = dingtalk::parse_message(s(&o["body"]).as_bytes()).unwrap();
    assert_eq!(m.content.as_deref(), Some("我们村的水管爆了，请帮忙"));
    assert_eq!(m.sender_nick, "王大妈");
    assert_eq!(m.sender(), "0123456789");
    assert_eq!(m.conversation_id, "cidZ4cZ2IK8ZlyL6FsgOqa4bA==");
    assert_eq!(m.msg_id, "msgZWIw0c7zD0qHu/Ur9u1Z1Q==");
    assert_eq!(m.create_at, 1_700_000_000_123);
    assert_eq!(m.conversation_type.as_deref(), Some("2"));
    assert!(dingtalk::parse_message(b"{\"msgtype\":\"text\"}").is_err());

    let reply = dingtalk::reply_text("已收到，查询码 A1", &[m.sender().to_string()]);
    assert_eq!(reply["msgtype"], "text");
    assert_eq!(reply["at"]["atUserIds"][0], "0123456789");
    let md = dingtalk::reply_markdown("已受理", "### 已受理\n查询码 **A1**");
    assert_eq!(md["markdown"]["title"], "已受理");
}

#[test]
fn webhook_signature_matches_the_reference() {
    let v = load("webhook.json");
    let ts: i64 = s(&v["timestamp"]).parse().unwrap();
    assert_eq!(
        suqiu_channels::webhook::signature(s(&v["secret"]), ts, s(&v["body"]).as_bytes()),
        s(&v["signature"])
    );
    suqiu_channels::webhook::verify(
        s(&v["secret"]),
        s(&v["timestamp"]),
        s(&v["signature"]),
        s(&v["body"]).as_bytes(),
        ts + 10,
        300,
    )
    .unwrap();
}
