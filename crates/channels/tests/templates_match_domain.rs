#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The default templates follow the workflow: every (template key, audience) that
//! `suqiu_domain::workflow::notifications` can emit has a Chinese and an English default.
//! The crate does not depend on the domain, so this reads the domain's source: the arms of
//! `notifications` that push `unit(…)` / `person(…)` intents, and the events for which
//! `Event::public_text` is not `None` (those reach the resident).

use std::collections::BTreeSet;

use suqiu_channels::template::NOTIFICATION_KINDS;
use suqiu_channels::{Audience, Lang, Templates};

fn source(rel: &str) -> String {
    let path = format!("{}/../domain/src/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The body of `fn <name>` (up to the first line that is just `}` at its indentation).
fn function_body<'a>(src: &'a str, signature: &str) -> &'a str {
    let start = src
        .find(signature)
        .unwrap_or_else(|| panic!("{signature} not found"));
    let indent = src[..start].rsplit('\n').next().unwrap().len();
    let close = format!("\n{}}}\n", " ".repeat(indent));
    let end = src[start..].find(&close).unwrap();
    &src[start..start + end]
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `Event::Name` occurrences on a line, as template keys.
fn events_on(line: &str) -> Vec<String> {
    line.match_indices("Event::")
        .map(|(i, _)| {
            let rest = &line[i + 7..];
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            snake(&rest[..end])
        })
        .collect()
}

fn emitted() -> BTreeSet<(String, Audience)> {
    let mut out = BTreeSet::new();
    // Staff: the arm currently open when `out.push(unit(` / `out.push(person(` appears.
    let wf = source("workflow.rs");
    let body = function_body(&wf, "pub fn notifications(");
    let mut current: Option<String> = None;
    for line in body.lines() {
        if let Some(e) = events_on(line).pop() {
            current = Some(e);
        }
        for (needle, aud) in [
            ("push(unit(", Audience::Unit),
            ("push(person(", Audience::Person),
        ] {
            if line.contains(needle) {
                let kind = current
                    .clone()
                    .unwrap_or_else(|| panic!("no event arm before {line:?}"));
                out.insert((kind, aud));
            }
        }
    }
    // Residents: every event of `public_text` except the group that maps to `None`.
    let case = source("case.rs");
    let body = function_body(&case, "pub fn public_text(");
    let all: BTreeSet<String> = body.lines().flat_map(events_on).collect();
    let lines: Vec<&str> = body.lines().collect();
    let none_at = lines
        .iter()
        .position(|l| l.contains("=> None"))
        .expect("a => None arm");
    let mut silent = BTreeSet::new();
    for l in lines[..=none_at].iter().rev() {
        let ev = events_on(l);
        if ev.is_empty() {
            break;
        }
        silent.extend(ev);
    }
    assert!(!silent.is_empty());
    for e in all.difference(&silent) {
        out.insert((e.clone(), Audience::Resident));
    }
    out
}

#[test]
fn defaults_cover_what_the_workflow_emits() {
    let emitted = emitted();
    assert!(
        emitted.len() >= 20,
        "suspiciously few notifications read: {emitted:?}"
    );
    let listed: BTreeSet<(String, Audience)> = NOTIFICATION_KINDS
        .iter()
        .map(|(k, a)| (k.to_string(), *a))
        .collect();
    let missing: Vec<_> = emitted.difference(&listed).collect();
    let stray: Vec<_> = listed.difference(&emitted).collect();
    assert!(
        missing.is_empty(),
        "emitted by the workflow but not in NOTIFICATION_KINDS: {missing:?}"
    );
    assert!(
        stray.is_empty(),
        "in NOTIFICATION_KINDS but never emitted: {stray:?}"
    );
    let t = Templates::defaults().unwrap();
    for (kind, aud) in &emitted {
        for lang in [Lang::Zh, Lang::En] {
            assert!(
                t.has(kind, *aud, lang),
                "no default {kind}.{aud:?}.{lang:?}"
            );
        }
    }
}
