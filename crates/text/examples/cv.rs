//! Cross-validates the routing classifier on a JSON Lines file and prints the result.
//!
//! `cargo run --release -p suqiu-text --example cv -- /work/shared/data/routing/train.jsonl
//! [folds] [config-json]`, e.g. `... 5 '{"c": 0.3}'` (fields of `TrainConfig`, the rest
//! default).

use std::path::PathBuf;
use std::process::ExitCode;

use suqiu_text::{cross_validate_with, TrainConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: cv TRAIN.jsonl [folds] [config-json]");
        return ExitCode::from(2);
    };
    let folds = args.get(1).and_then(|f| f.parse().ok()).unwrap_or(5);
    let config: TrainConfig = match args.get(2) {
        Some(json) => match serde_json::from_str(json) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("bad config: {e}");
                return ExitCode::from(2);
            }
        },
        None => TrainConfig::default(),
    };
    match cross_validate_with(&path, folds, &config) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
