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

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use suqiu_search::corpus::{load, make_case, percentile, pick_terms, Rng, SPAN, T0};
use suqiu_search::{CaseDoc, IndexOptions, Query, SearchIndex};

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
            involved_unit: None,
            viewer_paths: Vec::new(),
            viewer_login: None,
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
    let messages = load(Path::new(&data)).unwrap();
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
