//! Lookup time of the related-case index at intake with many indexed signatures:
//! `related_bench [MESSAGES.jsonl] [n] [probes]` (defaults: the shared hot-topics file,
//! 1,000,000 cases, 2,000 probes).
//!
//! The synthetic corpus recombines the shared messages deterministically: each case gets
//! the title of one message and 2–4 sentences of others, a time spread over three years,
//! one of 300,000 reporters and one of 20,000 unit codes. Cases are streamed into
//! [`RelatedIndex::extend_signed`] (signatures computed on the fly, texts not kept). Each
//! probe is an original message (title + detail) at a random time with a random reporter
//! and unit; its lookup time includes computing its signature.
//!
//! Prints JSON `{n, build_seconds, signature_seconds, lookup_p50_ms, lookup_p99_ms,
//! mean_results, peak_rss_mib}`.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use suqiu_text::related::DAY_MS;
use suqiu_text::topics::read_topic_messages;
use suqiu_text::{signature, CaseMeta, CaseSig, RelatedConfig, RelatedIndex};

/// Deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    (sorted[i].as_secs_f64() * 1e6).round() / 1e3
}

const SPAN_MS: i64 = 3 * 365 * DAY_MS;
const REPORTERS: usize = 300_000;
const UNITS: usize = 20_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map_or(
        "/work/shared/data/hot-topics/messages.jsonl",
        String::as_str,
    );
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let probes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let messages = match read_topic_messages(Path::new(path)) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => {
            eprintln!("{path}: no messages");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let sentences: Vec<String> = messages
        .iter()
        .flat_map(|m| {
            m.detail
                .split(['。', '！', '？', '!', '?', '\n'])
                .filter(|s| s.chars().count() >= 6)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    if sentences.is_empty() {
        eprintln!("{path}: no sentences");
        return ExitCode::FAILURE;
    }

    let mut rng = Rng(20_240_601);
    let mut signature_time = Duration::ZERO;
    let started = Instant::now();
    let mut index = RelatedIndex::new(RelatedConfig::default());
    let cases = (0..n).map(|id| {
        let mut text = messages[rng.below(messages.len())].title.clone();
        for _ in 0..2 + rng.below(3) {
            text.push('。');
            text.push_str(&sentences[rng.below(sentences.len())]);
        }
        let meta = CaseMeta {
            id: id as i64,
            time_ms: rng.below(SPAN_MS as usize) as i64,
            reporter_key: Some(format!("r{}", rng.below(REPORTERS))),
            place_key: Some(format!("u{}", rng.below(UNITS))),
        };
        let t = Instant::now();
        let sig = signature(&text);
        signature_time += t.elapsed();
        (meta, sig)
    });
    index.extend_signed(cases);
    let build = started.elapsed();

    let mut times = Vec::with_capacity(probes);
    let mut results = 0usize;
    for k in 0..probes {
        let m = &messages[rng.below(messages.len())];
        let probe = CaseSig {
            id: -1 - k as i64,
            time_ms: rng.below(SPAN_MS as usize) as i64,
            reporter_key: Some(format!("r{}", rng.below(REPORTERS))),
            place_key: Some(format!("u{}", rng.below(UNITS))),
            text: format!("{}\n{}", m.title, m.detail),
        };
        let t = Instant::now();
        let found = index.related(&probe, 20);
        times.push(t.elapsed());
        results += found.len();
    }
    times.sort_unstable();
    let out = json!({
        "n": index.len(),
        "build_seconds": (build.as_secs_f64() * 100.0).round() / 100.0,
        "signature_seconds": (signature_time.as_secs_f64() * 100.0).round() / 100.0,
        "lookup_p50_ms": percentile(&times, 0.5),
        "lookup_p99_ms": percentile(&times, 0.99),
        "mean_results": (results as f64 / probes.max(1) as f64 * 100.0).round() / 100.0,
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{out}");
    ExitCode::SUCCESS
}
