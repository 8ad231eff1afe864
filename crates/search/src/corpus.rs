//! A synthetic corpus of cases built from real messages, for benchmarks (`examples/bench.rs`,
//! `suqiu bench text`): titles and sentences of the shared messages recombined into any
//! number of cases with random unit paths, statuses and times (fixed seed), and the common
//! and rare words to query them with.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::CaseDoc;

/// xorshift64*: small, deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub struct Message {
    pub title: String,
    pub sentences: Vec<String>,
}

pub fn split_sentences(text: &str) -> Vec<String> {
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

/// The messages of `dir/routing/train.jsonl` and `dir/hot-topics/messages.jsonl`
/// (`dir` is usually `/work/shared/data`), split into sentences.
pub fn load(dir: &Path) -> std::io::Result<Vec<Message>> {
    let mut messages = Vec::new();
    let routing = std::fs::read_to_string(dir.join("routing/train.jsonl"))?;
    for line in routing.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
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
    let hot = std::fs::read_to_string(dir.join("hot-topics/messages.jsonl"))?;
    for line in hot.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        messages.push(Message {
            title: v["title"].as_str().unwrap_or_default().to_string(),
            sentences: split_sentences(v["detail"].as_str().unwrap_or_default()),
        });
    }
    messages.retain(|m| !m.sentences.is_empty() && !m.title.is_empty());
    Ok(messages)
}

pub const STATUSES: [&str; 5] = ["received", "triaged", "processing", "replied", "closed"];
pub const T0: i64 = 1_546_272_000_000; // 2019-01-01 +08:00
pub const SPAN: i64 = 6 * 365 * 86_400_000;

pub fn unit_path(rng: &mut Rng) -> String {
    let street = 1 + rng.below(12);
    let community = 1 + rng.below(10);
    let grid = 1 + rng.below(5);
    format!("/430799/430799{street:03}/430799{street:03}{community:03}/430799{street:03}{community:03}-{grid:02}/")
}

/// Case `i` of the synthetic corpus: a title and a content recombined from two messages.
pub fn make_case(messages: &[Message], rng: &mut Rng, id: i64) -> CaseDoc {
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
        received_at: T0 + (rng.next_u64() % SPAN as u64) as i64,
        title: a.title.clone(),
        content,
        extra,
        involved: Vec::new(),
        accused_path: None,
        accused_login: None,
    }
}

/// 20 common and 20 rare jieba words (2+ chars) by document frequency in a sample.
pub fn pick_terms(sample: &[CaseDoc]) -> (Vec<String>, Vec<String>) {
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

/// The `p`-th percentile (0–100, nearest rank) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
