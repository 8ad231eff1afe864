//! Prints the hottest topics of a JSON Lines file of residents' messages:
//! `topics MESSAGES.jsonl [top] [--titles]`.
//!
//! Prints the JSON array of [`suqiu_text::hot_topics_from_path`]; with `--titles`, also
//! lists the member titles of each topic on stderr (for inspecting purity), and the time
//! taken.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use suqiu_text::topics::{hot_topics, read_topic_messages};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: topics MESSAGES.jsonl [top] [--titles]");
        return ExitCode::from(2);
    };
    let top: usize = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(5);
    let titles = args.iter().any(|a| a == "--titles");
    let started = Instant::now();
    let messages = match read_topic_messages(Path::new(path)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let topics = hot_topics(&messages, top);
    let elapsed = started.elapsed();
    match serde_json::to_string_pretty(&topics) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    if titles {
        for t in &topics {
            eprintln!(
                "#{} heat {} place {} ({} messages): {}",
                t.rank,
                t.heat,
                t.place,
                t.members.len(),
                t.summary
            );
            for &i in &t.members {
                let m = &messages[i];
                eprintln!("    {} {}", m.id, m.title);
            }
        }
    }
    eprintln!(
        "{} messages, {} topics shown, {:.3} s (read + cluster)",
        messages.len(),
        topics.len(),
        elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}
