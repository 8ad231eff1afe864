//! Measures training time and single-thread prediction throughput on a JSON Lines file:
//! `bench TRAIN.jsonl [rounds] [config-json]`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use suqiu_text::{read_jsonl, Model, TrainConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: bench TRAIN.jsonl [rounds]");
        return ExitCode::from(2);
    };
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let data = match read_jsonl(Path::new(path)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let base: TrainConfig = args
        .get(2)
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let config = TrainConfig {
        threads: 1,
        ..base.clone()
    };
    let start = Instant::now();
    let model = Model::train(&data, &config);
    let train_1 = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let model2 = Model::train(&data, &base);
    let train_auto = start.elapsed().as_secs_f64();
    let bytes = model.to_bytes();
    let same = bytes == model2.to_bytes();
    let mut best = f64::MAX;
    let mut checksum = 0usize;
    for _ in 0..rounds {
        let start = Instant::now();
        for (text, _) in &data {
            checksum += model.predict(text).first().map_or(0, |p| p.0.len());
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{{\"n\": {}, \"features\": {}, \"model_bytes\": {}, \"train_seconds_1_thread\": {:.3}, \"train_seconds_default\": {:.3}, \"identical_bytes\": {}, \"predict_per_second\": {:.0}, \"checksum\": {}}}",
        data.len(),
        model.n_features(),
        bytes.len(),
        train_1,
        train_auto,
        same,
        data.len() as f64 / best,
        checksum
    );
    ExitCode::SUCCESS
}
