#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use suqiu_text::topics::{parse_time, read_topic_messages};
use suqiu_text::{hot_topics, hot_topics_from_path, TextError, TopicMessage};

fn msg(id: u64, user: &str, time: &str, title: &str, detail: &str) -> TopicMessage {
    TopicMessage {
        id: json!(id),
        user: Some(user.to_string()),
        time: parse_time(time).unwrap(),
        title: title.to_string(),
        detail: detail.to_string(),
        likes: 0,
        dislikes: 0,
    }
}

/// Two estates with the same problem (a mixing plant), plus unrelated strays.
fn synthetic() -> Vec<TopicMessage> {
    let mut out = Vec::new();
    let mut id = 1;
    for (place, district) in [("丽发新城小区", "A2区"), ("金桥花园小区", "A5区")] {
        for k in 0..6 {
            out.push(msg(
                id,
                &format!("U{id}"),
                &format!("2019/11/{} 10:00:00", k + 1),
                &format!("投诉A市{district}{place}附近搅拌站噪音扰民"),
                &format!(
                    "{place}旁边建了一个混凝土搅拌站，日夜施工，噪音和粉尘严重影响居民休息，请相关部门尽快处理。{k}"
                ),
            ));
            id += 1;
        }
    }
    let strays = [
        (
            "A市A3区某某路公交站台缺少遮雨棚",
            "下雨天等公交车没有地方躲雨，希望增设遮雨棚。",
        ),
        (
            "咨询A市人才新政购房补贴申请流程",
            "本人研究生毕业，想了解购房补贴如何申请。",
        ),
        (
            "A7县春华镇金鼎村自来水何时到户",
            "村里至今没有通自来水，村民吃水困难。",
        ),
    ];
    for (title, detail) in strays {
        out.push(msg(
            id,
            &format!("U{id}"),
            "2019/12/1 09:00:00",
            title,
            detail,
        ));
        id += 1;
    }
    out
}

#[test]
fn same_problem_two_places_gives_two_topics() {
    let messages = synthetic();
    let topics = hot_topics(&messages, 0);
    assert_eq!(topics.len(), 2, "{topics:#?}");
    for t in &topics {
        assert_eq!(t.message_ids.len(), 6, "{t:#?}");
        let ids: Vec<u64> = t.message_ids.iter().map(|v| v.as_u64().unwrap()).collect();
        // All six of one estate (ids 1–6 or 7–12), no stray (13–15).
        assert!(ids.iter().all(|&i| i <= 6) || ids.iter().all(|&i| (7..=12).contains(&i)));
    }
    let places: Vec<&str> = topics.iter().map(|t| t.place.as_str()).collect();
    assert!(places.contains(&"A市A2区丽发新城小区"), "{places:?}");
    assert!(places.contains(&"A市A5区金桥花园小区"), "{places:?}");
    assert_eq!(topics[0].rank, 1);
    assert_eq!(topics[0].start, "2019-11-01 10:00:00");
    assert_eq!(topics[0].end, "2019-11-06 10:00:00");
    assert!(topics[0].summary.contains("搅拌站"));
    // Deterministic.
    assert_eq!(hot_topics(&messages, 0), topics);
    // `top` truncates.
    assert_eq!(hot_topics(&messages, 1).len(), 1);
}

#[test]
fn heat_prefers_more_users_and_likes() {
    let mut messages = synthetic();
    // The A5 estate gets likes: it must rank first.
    for m in messages.iter_mut().filter(|m| m.title.contains("A5区")) {
        m.likes = 50;
    }
    let topics = hot_topics(&messages, 0);
    assert!(topics[0].place.contains("金桥花园"), "{topics:#?}");
    assert!(topics[0].heat > topics[1].heat);
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("suqiu-topics-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn json_contract_and_string_ids() {
    let mut lines = Vec::new();
    for k in 0..4 {
        lines.push(
            json!({
                "id": format!("m-{k}"),
                "time": format!("2019-02-2{k} 11:25:05"),
                "title": "A市A3区联丰路米兰春天小区电梯频繁故障",
                "detail": "米兰春天小区电梯经常困人，物业不维修。",
                "likes": k,
                "extra": "ignored",
            })
            .to_string(),
        );
    }
    lines.push(String::new());
    let path = temp_file("contract.jsonl", &lines.join("\n"));
    let value = hot_topics_from_path(&path, 5).unwrap();
    let arr = value.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    let t = arr[0].as_object().unwrap();
    let mut keys: Vec<&str> = t.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "end",
            "heat",
            "message_ids",
            "place",
            "rank",
            "start",
            "summary"
        ]
    );
    assert_eq!(t["rank"], json!(1));
    assert_eq!(t["start"], json!("2019-02-20 11:25:05"));
    assert_eq!(t["end"], json!("2019-02-23 11:25:05"));
    assert_eq!(t["place"], json!("A市A3区联丰路米兰春天小区"));
    assert_eq!(
        t["message_ids"],
        json!(["m-0", "m-1", "m-2", "m-3"]),
        "ids kept as given, in time order"
    );
}

#[test]
fn bad_line_is_reported_by_number() {
    let good = r#"{"id": 1, "time": "2019/2/28 11:25:05", "title": "t", "detail": "d"}"#;
    for (bad, what) in [
        (
            r#"{"id": 2, "time": "28.02.2019", "title": "t", "detail": "d"}"#,
            "time",
        ),
        (
            r#"{"id": [2], "time": "2019/2/28 11:25:05", "title": "t"}"#,
            "id",
        ),
        (r#"{"id": 2, "time": "2019/2/28 11:25:05"}"#, "title"),
        (
            r#"{"id": 2, "time": "2019/2/28 11:25:05", "title": "t", "likes": "x"}"#,
            "likes",
        ),
        ("{not json", "JSON"),
    ] {
        let path = temp_file("bad.jsonl", &format!("{good}\n\n{bad}\n"));
        match hot_topics_from_path(&path, 5) {
            Err(TextError::BadLine { line, message, .. }) => {
                assert_eq!(line, 3);
                assert!(message.contains(what), "{message}");
            }
            other => panic!("expected a bad line error, got {other:?}"),
        }
    }
    let empty = temp_file("empty.jsonl", "\n\n");
    assert!(matches!(
        hot_topics_from_path(&empty, 5),
        Err(TextError::Empty(_))
    ));
    assert!(matches!(
        hot_topics_from_path(Path::new("/nonexistent/x.jsonl"), 5),
        Err(TextError::Io { .. })
    ));
}

const SHARED: &str = "/work/shared/data/hot-topics/messages.jsonl";

#[test]
fn shared_file_top_topics_are_pure() {
    let path = Path::new(SHARED);
    if !path.exists() {
        eprintln!("note: {SHARED} is absent, skipping the shared-data test");
        return;
    }
    let messages = read_topic_messages(path).unwrap();
    let started = Instant::now();
    let topics = hot_topics(&messages, 10);
    let elapsed = started.elapsed();
    eprintln!("hot_topics on {} messages: {elapsed:?}", messages.len());
    // Generous bound: debug build on a loaded 2-core machine.
    assert!(elapsed.as_secs() < 60, "too slow: {elapsed:?}");
    assert_eq!(topics.len(), 10);
    for t in topics.iter().take(5) {
        assert!(t.members.len() >= 5, "{t:?}");
        if t.place_key.is_empty() {
            continue;
        }
        // The place occurs in ≥ 80 % of the members.
        let key = t.place_key.as_str();
        let with = t
            .members
            .iter()
            .filter(|&&i| {
                let m = &messages[i];
                m.title.contains(key) || m.detail.contains(key)
            })
            .count();
        assert!(
            with * 5 >= t.members.len() * 4,
            "{key}: {with}/{} members name it",
            t.members.len()
        );
    }
    let json: Value = serde_json::to_value(&topics).unwrap();
    assert!(json[0]["heat"].as_f64().unwrap() >= json[1]["heat"].as_f64().unwrap());
    // The two big campaigns of the file come first.
    let places: Vec<&str> = topics.iter().take(3).map(|t| t.place.as_str()).collect();
    assert!(
        places.iter().any(|p| p.contains("伊景园滨河苑")),
        "{places:?}"
    );
    assert!(places.iter().any(|p| p.contains("丽发新城")), "{places:?}");
}
