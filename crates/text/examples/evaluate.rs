//! Runs the evaluation contract: `evaluate TRAIN.jsonl TEST.jsonl` prints one JSON object.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: evaluate TRAIN.jsonl TEST.jsonl");
        return ExitCode::from(2);
    }
    match suqiu_text::evaluate(Path::new(&args[0]), Path::new(&args[1])) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
