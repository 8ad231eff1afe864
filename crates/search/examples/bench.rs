//! Search benchmark over a synthetic corpus built from the real messages.
//!
//! `cargo run --release -p suqiu-search --example bench -- [N] [INDEX_DIR]`
//!
//! Reads /work/shared/data/routing/train.jsonl and /work/shared/data/hot-topics/messages.jsonl
//! (override the directory with `SUQIU_DATA`), recombines titles and sentences into N cases
//! (default 1,000,000) with random unit paths, statuses and times (fixed seed), indexes them
//! with `rebuild`, merges to one segment, then runs 20 common and 20 rare words 50 times each,
//! with and without filters, and prints JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use suqiu_search::{CaseDoc, IndexOptions, Query, SearchIndex};

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Message {
    title: String,
    sentences: Vec<String>,
}

fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '。' | '！' | '？' | '；' | '\n') {
            let s = cur.trim().to_string();
            if !s.is_empty() {
                out.push(s);
            }
            cur.clear();
        }
    }
    let s = cur.trim().to_string();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

fn load(dir: &Path) -> Vec<Message> {
    let mut messages = Vec::new();
    let routing = std::fs::read_to_string(dir.join("routing/train.jsonl")).unwrap();
    for line in routing.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let mut text = v["text"].as_str().unwrap_or_default().to_string();
        if v["form"] == "segmented" {
            text.retain(|c| c != ' ');
        }
        let (title, body) = match text.split_once('\n') {
            Some((t, b)) => (t.to_string(), b.to_string()),
            None => (text.chars().take(20).collect(), text.clone()),
        };
        messages.push(Message {
            title,
            sentences: split_sentences(&body),
        });
    }
    let hot = std::fs::read_to_string(dir.join("hot-topics/messages.jsonl")).unwrap();
    for line in hot.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        messages.push(Message {
            title: v["title"].as_str().unwrap_or_default().to_string(),
            sentences: split_sentences(v["detail"].as_str().unwrap_or_default()),
        });
    }
    messages.retain(|m| !m.sentences.is_empty() && !m.title.is_empty());
    messages
}

const STATUSES: [&str; 5] = ["received", "triaged", "processing", "replied", "closed"];
const T0: i64 = 1_546_272_000_000; // 2019-01-01 +08:00
const SPAN: i64 = 6 * 365 * 86_400_000;

fn unit_path(rng: &mut Rng) -> String {
    let street = 1 + rng.below(12);
    let community = 1 + rng.below(10);
    let grid = 1 + rng.below(5);
    format!("/430799/430799{street:03}/430799{street:03}{community:03}/430799{street:03}{community:03}-{grid:02}/")
}

/// Case `i` of the synthetic corpus: a title and a content recombined from two messages.
fn make_case(messages: &[Message], rng: &mut Rng, id: i64) -> CaseDoc {
    let a = &messages[rng.below(messages.len())];
    let b = &messages[rng.below(messages.len())];
    let cut_a = a.sentences.len().div_ceil(2);
    let cut_b = b.sentences.len() / 2;
    let mut content: String = a.sentences[..cut_a].concat();
    content.push_str(&b.sentences[cut_b..].concat());
    let extra = if rng.below(3) == 0 {
        let c = &messages[rng.below(messages.len())];
        vec![format!(
            "回复：{}",
            c.sentences[rng.below(c.sentences.len())]
        )]
    } else {
        Vec::new()
    };
    CaseDoc {
        id,
        unit_path: unit_path(rng),
        status: STATUSES[rng.below(STATUSES.len())].to_string(),
        received_at: T0 + (rng.next() % SPAN as u64) as i64,
        title: a.title.clone(),
        content,
        extra,
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// 20 common and 20 rare jieba words (2+ chars) by document frequency in a sample.
fn pick_terms(sample: &[CaseDoc]) -> (Vec<String>, Vec<String>) {
    let jieba = jieba_rs::Jieba::new();
    let mut df: HashMap<String, usize> = HashMap::new();
    for case in sample {
        let text = format!("{} {}", case.title, case.content);
        let mut seen: Vec<&str> = jieba
            .cut(&text, false)
            .into_iter()
            .map(|t| t.word)
            .filter(|w| {
                w.chars().count() >= 2 && w.chars().all(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
            })
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for w in seen {
            *df.entry(w.to_string()).or_default() += 1;
        }
    }
    let mut by_df: Vec<(String, usize)> = df.into_iter().collect();
    by_df.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let common = by_df.iter().take(20).map(|(w, _)| w.clone()).collect();
    let ones: Vec<&String> = by_df
        .iter()
        .filter(|(_, n)| *n == 1)
        .map(|(w, _)| w)
        .collect();
    let step = (ones.len() / 20).max(1);
    let rare = ones
        .iter()
        .step_by(step)
        .take(20)
        .map(|w| (*w).clone())
        .collect();
    (common, rare)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn run(index: &SearchIndex, terms: &[String], filtered: bool) -> Value {
    let mut times = Vec::new();
    let mut totals = Vec::new();
    for term in terms {
        let query = Query {
            text: term.clone(),
            scopes: filtered.then(|| {
                vec![
                    "/430799/430799003/".to_string(),
                    "/430799/430799007/".to_string(),
                ]
            }),
            subtree: None,
            statuses: if filtered {
                vec!["received".into(), "processing".into()]
            } else {
                Vec::new()
            },
            from: filtered.then_some(T0 + SPAN / 3),
            to: None,
            limit: 20,
            offset: 0,
        };
        for _ in 0..50 {
            let start = Instant::now();
            let result = index.search(&query).unwrap();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(&result);
            if totals.len() < terms.len() && times.len() % 50 == 1 {
                totals.push(result.total);
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let mut sorted_totals = totals.clone();
    sorted_totals.sort_unstable();
    json!({
        "p50_ms": (percentile(&times, 50.0) * 1000.0).round() / 1000.0,
        "p99_ms": (percentile(&times, 99.0) * 1000.0).round() / 1000.0,
        "max_ms": (percentile(&times, 100.0) * 1000.0).round() / 1000.0,
        "queries": times.len(),
        "median_total": sorted_totals.get(sorted_totals.len() / 2).copied().unwrap_or(0),
        "max_total": sorted_totals.last().copied().unwrap_or(0),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map_or(1_000_000, |s| s.replace('_', "").parse().unwrap());
    let dir = args.get(2).map_or_else(
        || std::env::temp_dir().join("suqiu-search-bench"),
        PathBuf::from,
    );
    let data = std::env::var("SUQIU_DATA").unwrap_or_else(|_| "/work/shared/data".to_string());
    let messages = load(Path::new(&data));
    eprintln!("{} messages loaded", messages.len());

    let _ = std::fs::remove_dir_all(&dir);
    let index = SearchIndex::open_with(
        &dir,
        IndexOptions {
            writer_memory_bytes: 512 << 20,
            writer_threads: 2,
        },
    )
    .unwrap();

    let start = Instant::now();
    let mut rng = Rng(0x5EED_CA5E);
    let docs = (0..n).map(|i| {
        if i > 0 && i % 100_000 == 0 {
            eprintln!("{i} docs, {:.0} s", start.elapsed().as_secs_f64());
        }
        make_case(&messages, &mut rng, i as i64 + 1)
    });
    let indexed = index.rebuild(docs).unwrap();
    let index_seconds = start.elapsed().as_secs_f64();
    let segments_before = index.num_segments();
    let compact_start = Instant::now();
    index.compact().unwrap();
    let compact_seconds = compact_start.elapsed().as_secs_f64();
    eprintln!("indexed {indexed} in {index_seconds:.1} s, compacted in {compact_seconds:.1} s");

    let mut rng = Rng(0x5EED_CA5E);
    let sample: Vec<CaseDoc> = (0..20_000.min(n))
        .map(|i| make_case(&messages, &mut rng, i as i64))
        .collect();
    let (common, rare) = pick_terms(&sample);
    eprintln!("common: {common:?}\nrare: {rare:?}");

    let report = json!({
        "n_docs": index.num_docs(),
        "index_seconds": (index_seconds * 10.0).round() / 10.0,
        "docs_per_second": (indexed as f64 / index_seconds).round(),
        "segments_before_compact": segments_before,
        "compact_seconds": (compact_seconds * 10.0).round() / 10.0,
        "index_mib": (dir_size(&dir) as f64 / (1 << 20) as f64).round(),
        "queries": { "common": run(&index, &common, false), "rare": run(&index, &rare, false) },
        "with_filter": { "common": run(&index, &common, true), "rare": run(&index, &rare, true) },
        "common_terms": common,
        "rare_terms": rare,
        "peak_rss_mib": peak_rss_mib().round(),
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
