#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use suqiu_text::{evaluate, read_jsonl, Model, TextError, TrainConfig};

/// Small synthetic corpus: three topics, raw and segmented forms.
fn synthetic() -> Vec<(String, String)> {
    let topics = [
        (
            "交通运输",
            ["公交车", "线路", "站台", "出租车", "道路拥堵", "停车场"],
        ),
        (
            "教育文体",
            ["学校", "老师", "学生", "学位", "补课", "幼儿园"],
        ),
        ("环境保护", ["噪音", "污水", "排放", "垃圾", "油烟", "粉尘"]),
    ];
    let mut out = Vec::new();
    for (t, (label, words)) in topics.iter().enumerate() {
        for i in 0..30 {
            let a = words[i % words.len()];
            let b = words[(i * 7 + 3) % words.len()];
            let c = words[(i * 5 + t) % words.len()];
            let text = if i % 2 == 0 {
                format!("关于{a}的问题\n我们小区附近{b}问题严重，{c}也不好，请尽快处理。电话1381234{i:04}")
            } else {
                format!("关于 {a} 问题 小区 附近 {b} 问题 严重 {c} 不好 尽快 处理")
            };
            out.push((text, label.to_string()));
        }
    }
    out
}

fn small_config() -> TrainConfig {
    TrainConfig {
        min_df: 1,
        ..TrainConfig::default()
    }
}

#[test]
fn training_is_deterministic() {
    let data = synthetic();
    let a = Model::train(&data, &small_config()).to_bytes();
    let b = Model::train(&data, &small_config()).to_bytes();
    assert_eq!(a, b);
    let single = TrainConfig {
        threads: 1,
        ..small_config()
    };
    assert_eq!(a, Model::train(&data, &single).to_bytes());
}

#[test]
fn predicts_and_round_trips() {
    let data = synthetic();
    let model = Model::train(&data, &small_config());
    assert_eq!(model.labels().len(), 3);
    let text = "学校老师让学生周末补课";
    let pred = model.predict(text);
    assert_eq!(pred.len(), 3);
    assert_eq!(pred[0].0, "教育文体");
    let sum: f32 = pred.iter().map(|p| p.1).sum();
    assert!((sum - 1.0).abs() < 1e-4);
    assert!(pred.windows(2).all(|w| w[0].1 >= w[1].1));
    assert_eq!(model.predict_label("公交车 站台 线路"), Some("交通运输"));

    let bytes = model.to_bytes();
    let back = Model::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.labels(), model.labels());
    assert_eq!(back.config(), model.config());
    for (t, _) in &data {
        assert_eq!(back.scores(t), model.scores(t));
    }

    // Corruption and bad input are reported, not panics.
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    assert!(matches!(
        Model::from_bytes(&bad),
        Err(TextError::ModelFormat(_))
    ));
    assert!(Model::from_bytes(b"nonsense").is_err());
    assert!(Model::from_bytes(&bytes[..bytes.len() - 9]).is_err());
}

#[test]
fn empty_model_predicts_nothing() {
    let model = Model::train(&[], &TrainConfig::default());
    assert!(model.predict("任何文本").is_empty());
    assert_eq!(model.predict_label("任何文本"), None);
    let back = Model::from_bytes(&model.to_bytes()).unwrap();
    assert!(back.labels().is_empty());
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("suqiu-text-{}-{name}", std::process::id()))
}

fn write_jsonl(path: &Path, data: &[(String, String)]) {
    let mut s = String::new();
    for (i, (text, label)) in data.iter().enumerate() {
        let line = serde_json::json!({"id": i, "form": "raw", "text": text, "label": label});
        s.push_str(&line.to_string());
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn evaluate_contract() {
    let data = synthetic();
    let (train, test): (Vec<_>, Vec<_>) = data.iter().enumerate().partition(|(i, _)| i % 4 != 0);
    let train: Vec<_> = train.into_iter().map(|(_, d)| d.clone()).collect();
    let test: Vec<_> = test.into_iter().map(|(_, d)| d.clone()).collect();
    let train_path = temp_path("train.jsonl");
    let test_path = temp_path("test.jsonl");
    write_jsonl(&train_path, &train);
    write_jsonl(&test_path, &test);

    let v = evaluate(&train_path, &test_path).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "accuracy",
            "macro_f1",
            "n_test",
            "n_train",
            "per_label",
            "predict_per_second",
            "train_seconds"
        ]
    );
    assert_eq!(v["n_train"], train.len());
    assert_eq!(v["n_test"], test.len());
    assert!(v["macro_f1"].as_f64().unwrap() > 0.9, "{v}");
    let per_label = v["per_label"].as_object().unwrap();
    assert_eq!(per_label.len(), 3);
    for m in per_label.values() {
        for k in ["precision", "recall", "f1", "support"] {
            assert!(m.get(k).is_some(), "{m}");
        }
    }
    let support: u64 = per_label
        .values()
        .map(|m| m["support"].as_u64().unwrap())
        .sum();
    assert_eq!(support as usize, test.len());

    // A bad line is reported with its number.
    std::fs::write(
        &test_path,
        "{\"text\": \"公交车\", \"label\": \"交通运输\"}\n\n{\"text\": 3}\n",
    )
    .unwrap();
    let err = evaluate(&train_path, &test_path).unwrap_err();
    assert!(matches!(err, TextError::BadLine { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
    std::fs::write(&test_path, "not json\n").unwrap();
    let err = read_jsonl(&test_path).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    let missing = evaluate(&temp_path("absent.jsonl"), &test_path).unwrap_err();
    assert!(matches!(missing, TextError::Io { .. }));

    std::fs::remove_file(&train_path).ok();
    std::fs::remove_file(&test_path).ok();
}

/// Quick holdout on the shared routing data (skipped when it is absent). Kept small so that
/// it stays fast in debug builds.
#[test]
fn shared_routing_data_holdout() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/routing/train.jsonl");
    if !path.exists() {
        eprintln!("skipping: {} not found", path.display());
        return;
    }
    let data = read_jsonl(&path).unwrap();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, d) in data.into_iter().enumerate() {
        if i % 5 == 0 {
            test.push(d);
        } else {
            train.push(d);
        }
    }
    let limit = if cfg!(debug_assertions) {
        3000
    } else {
        train.len()
    };
    train.truncate(limit);
    test.truncate(limit / 4);
    let config = TrainConfig {
        min_df: 3,
        ..TrainConfig::default()
    };
    let model = Model::train(&train, &config);
    let gold: Vec<String> = test.iter().map(|(_, l)| l.clone()).collect();
    let pred: Vec<String> = test
        .iter()
        .map(|(t, _)| model.predict_label(t).unwrap().to_string())
        .collect();
    let m = suqiu_text::metrics(&gold, &pred);
    let f1 = m["macro_f1"].as_f64().unwrap();
    eprintln!("holdout ({} train, {} test): {m}", train.len(), test.len());
    assert!(f1 > 0.85, "macro-F1 {f1} below floor: {m}");
}
