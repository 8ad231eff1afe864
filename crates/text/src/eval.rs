//! The evaluation contract ([`evaluate`]) and cross-validation ([`cross_validate`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use crate::features::{mix64, plain_units, shingle_hashes};
use crate::model::{Model, Rng, TrainConfig};
use crate::TextError;

/// Reads JSON Lines with at least string fields `text` and `label` (other fields are
/// ignored; blank lines are skipped). Errors name the file and the 1-based line number.
pub fn read_jsonl(path: &Path) -> Result<Vec<(String, String)>, TextError> {
    let content = std::fs::read_to_string(path).map_err(|source| TextError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| TextError::BadLine {
            path: path.display().to_string(),
            line: i + 1,
            message,
        };
        let value: Value =
            serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let field = |name: &str| -> Result<String, TextError> {
            match value.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(bad(format!("field `{name}` is not a string"))),
                None => Err(bad(format!("missing field `{name}`"))),
            }
        };
        out.push((field("text")?, field("label")?));
    }
    Ok(out)
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Classification metrics of `pred` against `gold`: macro-F1 over the labels that occur in
/// either (as scikit-learn does), accuracy and per-label precision/recall/F1/support.
pub fn metrics(gold: &[String], pred: &[String]) -> Value {
    let labels: BTreeSet<&str> = gold.iter().chain(pred).map(String::as_str).collect();
    let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n_pred: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n_gold: BTreeMap<&str, usize> = BTreeMap::new();
    let mut correct = 0;
    for (g, p) in gold.iter().zip(pred) {
        *n_gold.entry(g).or_default() += 1;
        *n_pred.entry(p).or_default() += 1;
        if g == p {
            *tp.entry(g).or_default() += 1;
            correct += 1;
        }
    }
    let mut per_label = serde_json::Map::new();
    let mut f1_sum = 0.0;
    for &l in &labels {
        let t = tp.get(l).copied().unwrap_or(0) as f64;
        let np = n_pred.get(l).copied().unwrap_or(0) as f64;
        let ng = n_gold.get(l).copied().unwrap_or(0);
        let precision = if np > 0.0 { t / np } else { 0.0 };
        let recall = if ng > 0 { t / ng as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        f1_sum += f1;
        per_label.insert(
            l.to_string(),
            json!({
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "support": ng,
            }),
        );
    }
    let macro_f1 = if labels.is_empty() {
        0.0
    } else {
        f1_sum / labels.len() as f64
    };
    let accuracy = if gold.is_empty() {
        0.0
    } else {
        correct as f64 / gold.len() as f64
    };
    json!({
        "macro_f1": round(macro_f1, 4),
        "accuracy": round(accuracy, 4),
        "per_label": per_label,
    })
}

/// The evaluation contract: trains on the JSON Lines file `train` (default
/// [`TrainConfig`]), predicts every message of `test` and returns one JSON object with keys
/// `macro_f1, accuracy, per_label {label: {precision, recall, f1, support}},
/// train_seconds, predict_per_second, n_train, n_test`.
pub fn evaluate(train: &Path, test: &Path) -> Result<Value, TextError> {
    evaluate_with(train, test, &TrainConfig::default())
}

/// [`evaluate`] with an explicit configuration.
pub fn evaluate_with(train: &Path, test: &Path, config: &TrainConfig) -> Result<Value, TextError> {
    let train_data = read_jsonl(train)?;
    let test_data = read_jsonl(test)?;
    if train_data.is_empty() {
        return Err(TextError::Empty(train.display().to_string()));
    }
    let start = Instant::now();
    let model = Model::train(&train_data, config);
    let train_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let pred: Vec<String> = test_data
        .iter()
        .map(|(t, _)| model.predict_label(t).unwrap_or_default().to_string())
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    let gold: Vec<String> = test_data.iter().map(|(_, l)| l.clone()).collect();

    let mut out = metrics(&gold, &pred);
    if let Value::Object(map) = &mut out {
        map.insert("train_seconds".into(), json!(round(train_seconds, 3)));
        let pps = if elapsed > 0.0 {
            test_data.len() as f64 / elapsed
        } else {
            0.0
        };
        map.insert("predict_per_second".into(), json!(pps.round()));
        map.insert("n_train".into(), json!(train_data.len()));
        map.insert("n_test".into(), json!(test_data.len()));
    }
    Ok(out)
}

/// Groups near-duplicate messages: MinHash (48 hashes, 16 bands of 3) over character
/// 3-gram shingles of the space-stripped text proposes candidates; a pair is joined when its
/// exact Jaccard similarity is ≥ 0.5 or one shingle set is ≥ 80 % contained in the other
/// (a segmented copy of a raw message loses its stop words). Returns a group id per message
/// (the smallest member index).
pub fn near_duplicate_groups(texts: &[String]) -> Vec<usize> {
    const HASHES: usize = 48;
    const ROWS: usize = 3;
    let shingles: Vec<Vec<u64>> = texts
        .iter()
        .map(|t| shingle_hashes(&plain_units(t), 3))
        .collect();
    let seeds: Vec<u64> = (0..HASHES as u64).map(|j| mix64(j + 0xabcdef)).collect();
    let mut buckets: HashMap<(usize, u64), Vec<usize>> = HashMap::new();
    for (i, s) in shingles.iter().enumerate() {
        let sig: Vec<u64> = seeds
            .iter()
            .map(|&seed| s.iter().map(|&x| mix64(x ^ seed)).min().unwrap_or(0))
            .collect();
        for (band, chunk) in sig.chunks(ROWS).enumerate() {
            let key = chunk.iter().fold(band as u64, |h, &x| mix64(h ^ x));
            buckets.entry((band, key)).or_default().push(i);
        }
    }
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for members in buckets.values() {
        for (a, &i) in members.iter().enumerate() {
            for &j in &members[a + 1..] {
                pairs.push((i.min(j), i.max(j)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();

    let mut parent: Vec<usize> = (0..texts.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (i, j) in pairs {
        let (a, b) = (&shingles[i], &shingles[j]);
        let (mut p, mut q, mut inter) = (0, 0, 0usize);
        while p < a.len() && q < b.len() {
            match a[p].cmp(&b[q]) {
                std::cmp::Ordering::Less => p += 1,
                std::cmp::Ordering::Greater => q += 1,
                std::cmp::Ordering::Equal => {
                    inter += 1;
                    p += 1;
                    q += 1;
                }
            }
        }
        let union = a.len() + b.len() - inter;
        let jaccard = inter as f64 / union.max(1) as f64;
        let containment = inter as f64 / a.len().min(b.len()).max(1) as f64;
        if jaccard >= 0.5 || (containment >= 0.8 && a.len().min(b.len()) >= 10) {
            let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
            if ri != rj {
                let (lo, hi) = (ri.min(rj), ri.max(rj));
                parent[hi] = lo;
            }
        }
    }
    (0..texts.len()).map(|i| find(&mut parent, i)).collect()
}

/// Stratified fold assignment; with `groups`, whole groups go to one fold (each group is
/// counted under the label of its first member and placed in the fold with the fewest
/// messages of that label so far).
fn assign_folds(
    labels: &[String],
    groups: Option<&[usize]>,
    folds: usize,
    seed: u64,
) -> Vec<usize> {
    let n = labels.len();
    let group_of: Vec<usize> = match groups {
        Some(g) => g.to_vec(),
        None => (0..n).collect(),
    };
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &g) in group_of.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &g in members.keys() {
        by_label.entry(labels[g].as_str()).or_default().push(g);
    }
    let mut rng = Rng::new(seed);
    let mut fold_of = vec![0usize; n];
    let mut fold_size = vec![0usize; folds];
    for gs in by_label.values_mut() {
        rng.shuffle(gs);
        let mut label_count = vec![0usize; folds];
        for &g in gs.iter() {
            let size = members.get(&g).map_or(0, Vec::len);
            let f = (0..folds)
                .min_by_key(|&f| (label_count[f], fold_size[f], f))
                .unwrap_or(0);
            label_count[f] += size;
            fold_size[f] += size;
            for &i in members.get(&g).map_or(&[][..], Vec::as_slice) {
                fold_of[i] = f;
            }
        }
    }
    fold_of
}

/// Runs one k-fold cross-validation and returns pooled metrics plus per-fold macro-F1.
pub fn cross_validate_data(
    data: &[(String, String)],
    folds: usize,
    groups: Option<&[usize]>,
    config: &TrainConfig,
) -> Value {
    let folds = folds.max(2);
    let labels: Vec<String> = data.iter().map(|(_, l)| l.clone()).collect();
    let fold_of = assign_folds(&labels, groups, folds, 42);
    let mut pred = vec![String::new(); data.len()];
    let mut fold_f1 = Vec::new();
    let mut train_seconds = Vec::new();
    let mut predict_seconds = 0.0;
    for f in 0..folds {
        let train: Vec<(String, String)> = data
            .iter()
            .zip(&fold_of)
            .filter(|(_, &k)| k != f)
            .map(|(d, _)| d.clone())
            .collect();
        let start = Instant::now();
        let model = Model::train(&train, config);
        train_seconds.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let mut g = Vec::new();
        let mut p = Vec::new();
        for (i, (text, label)) in data.iter().enumerate() {
            if fold_of[i] == f {
                let l = model.predict_label(text).unwrap_or_default().to_string();
                pred[i] = l.clone();
                p.push(l);
                g.push(label.clone());
            }
        }
        predict_seconds += start.elapsed().as_secs_f64();
        fold_f1.push(metrics(&g, &p)["macro_f1"].as_f64().unwrap_or(0.0));
    }
    let mut out = metrics(&labels, &pred);
    if let Value::Object(map) = &mut out {
        let mean = fold_f1.iter().sum::<f64>() / fold_f1.len() as f64;
        let sd = (fold_f1.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
            / (fold_f1.len() as f64 - 1.0).max(1.0))
        .sqrt();
        map.insert("fold_macro_f1".into(), json!(fold_f1));
        map.insert("fold_macro_f1_mean".into(), json!(round(mean, 4)));
        map.insert("fold_macro_f1_sd".into(), json!(round(sd, 4)));
        map.insert(
            "train_seconds_mean".into(),
            json!(round(
                train_seconds.iter().sum::<f64>() / train_seconds.len() as f64,
                3
            )),
        );
        if predict_seconds > 0.0 {
            map.insert(
                "predict_per_second".into(),
                json!((data.len() as f64 / predict_seconds).round()),
            );
        }
    }
    out
}

/// Cross-validates the default configuration on a JSON Lines file twice: plain stratified
/// k-fold, and stratified k-fold over near-duplicate groups (no near-duplicate pair is split
/// between training and test, a more honest estimate). Returns
/// `{n, folds, near_duplicates: {groups, messages}, stratified: {..}, grouped: {..}}`.
pub fn cross_validate(path: &Path, folds: usize) -> Result<Value, TextError> {
    cross_validate_with(path, folds, &TrainConfig::default())
}

/// [`cross_validate`] with an explicit configuration.
pub fn cross_validate_with(
    path: &Path,
    folds: usize,
    config: &TrainConfig,
) -> Result<Value, TextError> {
    let data = read_jsonl(path)?;
    if data.is_empty() {
        return Err(TextError::Empty(path.display().to_string()));
    }
    let texts: Vec<String> = data.iter().map(|(t, _)| t.clone()).collect();
    let groups = near_duplicate_groups(&texts);
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for &g in &groups {
        *sizes.entry(g).or_default() += 1;
    }
    let dup_groups = sizes.values().filter(|&&s| s > 1).count();
    let dup_messages: usize = sizes.values().filter(|&&s| s > 1).sum();
    let stratified = cross_validate_data(&data, folds, None, config);
    let grouped = cross_validate_data(&data, folds, Some(&groups), config);
    Ok(json!({
        "n": data.len(),
        "folds": folds.max(2),
        "near_duplicates": {"groups": dup_groups, "messages": dup_messages},
        "stratified": stratified,
        "grouped": grouped,
    }))
}
