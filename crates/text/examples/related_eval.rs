//! Precision / recall of the related-case index against weak labels:
//! `related_eval MESSAGES.jsonl [window_days] [--show N]`.
//!
//! Every message is indexed (reporter = `user`, no unit code, text = title + detail) and
//! then looked up. A returned pair counts as correct when both messages are in the same
//! hot topic of [`suqiu_text::hot_topics`] or in the same near-duplicate group of
//! [`suqiu_text::near_duplicate_groups`]; recall is over all such pairs inside the time
//! window. Prints JSON; `--show N` prints N returned pairs outside the labels on stderr.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use suqiu_text::related::DAY_MS;
use suqiu_text::topics::read_topic_messages;
use suqiu_text::RelatedConfig;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: related_eval MESSAGES.jsonl [window_days] [--show N]");
        return ExitCode::from(2);
    };
    let window_days: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let show: usize = args
        .iter()
        .position(|a| a == "--show")
        .and_then(|i| args.get(i + 1))
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let messages = match read_topic_messages(Path::new(path)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let config = RelatedConfig {
        window_ms: window_days * DAY_MS,
        ..RelatedConfig::default()
    };
    let report = suqiu_text::related::evaluate_weak_labels(&messages, config, show);
    for (reason, score, a, b) in &report.unlabelled_examples {
        eprintln!("{reason:?} {score:.2}\n  {a}\n  {b}");
    }
    println!("{}", json!(report));
    ExitCode::SUCCESS
}
