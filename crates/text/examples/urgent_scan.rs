//! False-positive check of the urgent-signal rules on ordinary messages:
//! `urgent_scan [TRAIN.jsonl] [--rules RULES.(json|toml)] [--show N]`.
//!
//! Reads JSON Lines with a `text` field (the routing training file by default), prints
//! JSON `{messages, fired, fired_rate, by_signal}` and, with `--show N`, up to N firing
//! texts per signal on stderr (first 120 characters).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use suqiu_text::{read_jsonl, UrgentRules};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or("/work/shared/data/routing/train.jsonl", String::as_str);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let show: usize = flag("--show").and_then(|a| a.parse().ok()).unwrap_or(0);
    let rules = match flag("--rules") {
        None => UrgentRules::default(),
        Some(file) => {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let parsed = if file.ends_with(".toml") {
                UrgentRules::from_toml(&text)
            } else {
                UrgentRules::from_json(&text)
            };
            match parsed {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let data = match read_jsonl(Path::new(path)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut fired = 0usize;
    let mut by_signal: BTreeMap<String, usize> = BTreeMap::new();
    for (text, _) in &data {
        let signals = rules.check(text);
        if !signals.is_empty() {
            fired += 1;
        }
        for s in signals {
            let n = by_signal.entry(s.name.clone()).or_default();
            *n += 1;
            if *n <= show {
                let head: String = text.chars().take(120).collect();
                eprintln!("[{}] {:?} {}", s.name, s.matched, head.replace('\n', " / "));
            }
        }
    }
    let mut ranked: Vec<(String, usize)> = by_signal.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rate = fired as f64 / data.len().max(1) as f64;
    println!(
        "{}",
        json!({
            "messages": data.len(),
            "fired": fired,
            "fired_rate": (rate * 10_000.0).round() / 10_000.0,
            "by_signal": ranked,
        })
    );
    ExitCode::SUCCESS
}
