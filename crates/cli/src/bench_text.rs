//! `suqiu bench text`: the text features at scale, in one process, printing one JSON
//! object:
//!
//! * routing: a category model trained on `train.jsonl`, then predictions on one core
//!   (one thread predicting every message of the file, repeated for at least 2 s);
//! * search: a synthetic corpus of `--cases` cases (default 1,000,000) recombined from
//!   the shared messages ([`suqiu_search::corpus`], fixed seed) indexed into a temporary
//!   directory and merged to one segment; then 20 common and 20 rare words, each
//!   searched `--repeat` times (20 hits, no filter), p50/p99 per group;
//! * duplicates at intake: the same corpus in a [`RelatedIndex`] (reporter one of 300,000,
//!   place one of 20,000 communities, the corpus's times over six years), then `--probes`
//!   new cases of the same kind looked up as at intake (signature included, at most 20
//!   results), p50/p99;
//! * index build times and the peak resident memory of the process (VmHWM).

use anyhow::Context;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use suqiu_search::corpus::{self, make_case, percentile, pick_terms, Rng};
use suqiu_search::{IndexOptions, Query, SearchIndex};
use suqiu_text::{signature, CaseMeta, CaseSig, Model, RelatedConfig, RelatedIndex, TrainConfig};

/// Settings of `suqiu bench text`.
pub struct TextBench {
    /// The shared data directory (`routing/train.jsonl`, `hot-topics/messages.jsonl`).
    pub data: PathBuf,
    /// The routing training file.
    pub train: PathBuf,
    pub cases: usize,
    pub probes: usize,
    pub repeat: usize,
}

const REPORTERS: usize = 300_000;
const PLACES: usize = 20_000;
/// Results asked for at intake (as `App::link_related`).
const INTAKE_LIMIT: usize = suqiu_app::related::LINK_LIMIT * 4;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn latency(mut times: Vec<f64>) -> Value {
    times.sort_by(f64::total_cmp);
    json!({
        "p50_ms": round(percentile(&times, 50.0), 3),
        "p99_ms": round(percentile(&times, 99.0), 3),
        "max_ms": round(percentile(&times, 100.0), 3),
        "n": times.len(),
    })
}

fn routing(train: &Path) -> anyhow::Result<Value> {
    let data = suqiu_text::read_jsonl(train)?;
    let started = Instant::now();
    let model = Model::train(&data, &TrainConfig::default());
    let train_seconds = started.elapsed().as_secs_f64();
    let mut predictions = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        for (text, _) in &data {
            std::hint::black_box(model.predict_label(text));
        }
        predictions += data.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "n_train": data.len(),
        "train_seconds": round(train_seconds, 3),
        "predictions_per_second_one_core": (predictions as f64 / seconds).round(),
    }))
}

fn search(
    messages: &[corpus::Message],
    n: usize,
    repeat: usize,
    dir: &Path,
) -> anyhow::Result<Value> {
    let index = SearchIndex::open_with(
        dir,
        IndexOptions {
            writer_memory_bytes: 512 << 20,
            writer_threads: 2,
        },
    )?;
    let started = Instant::now();
    let mut rng = Rng(0x5EED_CA5E);
    let indexed = index.rebuild((0..n).map(|i| make_case(messages, &mut rng, i as i64 + 1)))?;
    let build_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    index.compact()?;
    let compact_seconds = started.elapsed().as_secs_f64();

    let mut rng = Rng(0x5EED_CA5E);
    let sample: Vec<_> = (0..20_000.min(n))
        .map(|i| make_case(messages, &mut rng, i as i64))
        .collect();
    let (common, rare) = pick_terms(&sample);
    let run = |terms: &[String]| -> anyhow::Result<Value> {
        let mut times = Vec::new();
        let mut totals = Vec::new();
        for term in terms {
            let q = Query {
                text: term.clone(),
                limit: 20,
                ..Query::default()
            };
            for rep in 0..repeat {
                let t = Instant::now();
                let r = index.search(&q)?;
                times.push(ms(t.elapsed()));
                if rep == 0 {
                    totals.push(r.total);
                }
                std::hint::black_box(&r);
            }
        }
        totals.sort_unstable();
        let mut out = latency(times);
        out["median_total"] = json!(totals.get(totals.len() / 2).copied().unwrap_or(0));
        out["terms"] = json!(terms);
        Ok(out)
    };
    Ok(json!({
        "cases": indexed,
        "index_build_seconds": round(build_seconds, 1),
        "compact_seconds": round(compact_seconds, 1),
        "rare": run(&rare)?,
        "common": run(&common)?,
    }))
}

fn duplicates(messages: &[corpus::Message], n: usize, probes: usize) -> Value {
    let meta = |id: i64, at: i64, rng: &mut Rng| CaseMeta {
        id,
        time_ms: at,
        reporter_key: Some(format!("r{}", rng.below(REPORTERS))),
        place_key: Some(format!("p{}", rng.below(PLACES))),
    };
    let started = Instant::now();
    let mut rng = Rng(0x5EED_CA5E);
    let mut keys = Rng(0xD0_0B1E);
    let mut index = RelatedIndex::new(RelatedConfig::default());
    index.extend_signed((0..n).map(|i| {
        let c = make_case(messages, &mut rng, i as i64 + 1);
        let sig = signature(&format!("{}\n{}", c.title, c.content));
        (meta(c.id, c.received_at, &mut keys), sig)
    }));
    let build_seconds = started.elapsed().as_secs_f64();

    let mut rng = Rng(0x0BE5_0DE5);
    let mut times = Vec::with_capacity(probes);
    let mut results = 0usize;
    for k in 0..probes {
        let c = make_case(messages, &mut rng, -1 - k as i64);
        let m = meta(c.id, c.received_at, &mut keys);
        let probe = CaseSig {
            id: m.id,
            time_ms: m.time_ms,
            reporter_key: m.reporter_key,
            place_key: m.place_key,
            text: format!("{}\n{}", c.title, c.content),
        };
        let t = Instant::now();
        let found = index.related(&probe, INTAKE_LIMIT);
        times.push(ms(t.elapsed()));
        results += found.len();
    }
    let mut out = latency(times);
    out["cases"] = json!(index.len());
    out["index_build_seconds"] = json!(round(build_seconds, 1));
    out["mean_results"] = json!(round(results as f64 / probes.max(1) as f64, 2));
    out
}

/// Runs the benchmark and returns its JSON object.
pub fn run(b: &TextBench) -> anyhow::Result<Value> {
    let routing = routing(&b.train).with_context(|| format!("routing on {}", b.train.display()))?;
    let messages = corpus::load(&b.data)
        .with_context(|| format!("reading the shared messages under {}", b.data.display()))?;
    anyhow::ensure!(
        !messages.is_empty(),
        "no messages under {}",
        b.data.display()
    );
    let dir = tempfile::tempdir()?;
    let search = search(&messages, b.cases, b.repeat.max(1), dir.path())?;
    drop(dir);
    let duplicates = duplicates(&messages, b.cases, b.probes.max(1));
    Ok(json!({
        "cases": b.cases,
        "messages": messages.len(),
        "routing": routing,
        "search": search,
        "duplicate_lookup": duplicates,
        "peak_rss_mib": crate::bench::peak_rss_kib().map(|k| round(k as f64 / 1024.0, 1)),
    }))
}
