//! Commands of the six orders from JSON: one parser, used by the HTTP API and
//! by the scenario runner. Field errors name the field.

use crate::{AppError, Result};
use serde_json::Value;
use suqiu_domain::case::Millis;
use suqiu_domain::workflow::{Command, Difficulty, Rating, RatingVia, Urgency};
use suqiu_domain::{FieldError, FieldErrorKind};

/// Every command name, as used in `POST /api/v1/cases/{id}/{name}`.
pub const NAMES: &[&str] = &[
    "triage",
    "report",
    "sign",
    "assign",
    "dispatch",
    "accept",
    "return",
    "cooperation-report",
    "request-deadline",
    "set-deadline",
    "reply",
    "explain",
    "rate",
    "reopen",
    "close",
    "own",
    "supervise",
    "interview",
    "notes",
    "rating-read",
];

fn missing(f: &str) -> AppError {
    AppError::Invalid(FieldError::new(f, FieldErrorKind::Missing))
}

fn bad(f: &str) -> AppError {
    AppError::Invalid(FieldError::new(f, FieldErrorKind::InvalidValue))
}

fn string(v: &Value, f: &str) -> Result<String> {
    match v.get(f) {
        None | Some(Value::Null) => Err(missing(f)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(f)),
    }
}

fn opt_string(v: &Value, f: &str) -> Result<Option<String>> {
    match v.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(f)),
    }
}

fn number(v: &Value, f: &str) -> Result<u32> {
    match v.get(f) {
        None | Some(Value::Null) => Err(missing(f)),
        Some(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(f)),
    }
}

fn choice<T: Copy>(v: &Value, f: &str, options: &[(&str, T)]) -> Result<T> {
    let s = string(v, f)?;
    options
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, t)| *t)
        .ok_or_else(|| bad(f))
}

fn strings(v: &Value, f: &str) -> Result<Vec<String>> {
    match v.get(f) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| bad(f)))
            .collect(),
        Some(_) => Err(bad(f)),
    }
}

pub const URGENCIES: &[(&str, Urgency)] = &[
    ("urgent", Urgency::Urgent),
    ("deferred", Urgency::Deferred),
    ("unreasonable", Urgency::Unreasonable),
];
pub const DIFFICULTIES: &[(&str, Difficulty)] = &[
    ("ordinary", Difficulty::Ordinary),
    ("difficult", Difficulty::Difficult),
    ("very_difficult", Difficulty::VeryDifficult),
];
pub const RATINGS: &[(&str, Rating)] = &[
    ("satisfied", Rating::Satisfied),
    ("average", Rating::Average),
    ("unsatisfied", Rating::Unsatisfied),
];
const STAFF_VIA: &[(&str, RatingVia)] = &[
    ("phone", RatingVia::Phone),
    ("visit", RatingVia::Visit),
    ("leader_revisit", RatingVia::LeaderRevisit),
];

/// The fields a command's body may carry (`expected_version` included): any
/// other is refused as `unknown_field` by the API, so a typo never silently
/// drops what it meant. Matches what [`parse`] reads (a test checks it).
pub fn fields(name: &str) -> Vec<&'static str> {
    let own: &[&str] = match name {
        "triage" => &["urgency", "category"],
        "report" => &["note"],
        "assign" => &["responsible", "days"],
        "dispatch" => &["lead", "cooperating", "difficulty"],
        "accept" => &["contact_note"],
        "return" | "request-deadline" => &["reason"],
        "cooperation-report" => &["text"],
        "set-deadline" => &["days"],
        "reply" => &["result", "policy_basis"],
        "explain" => &["visited_by", "visited_at", "policy_basis", "note"],
        "rate" => &["rating", "comment", "via"],
        "reopen" => &["reason", "days"],
        "close" => &["explanation"],
        "supervise" => &["note", "days"],
        "interview" => &["unit", "head", "note"],
        "notes" => &["text"],
        _ => &[],
    };
    let mut out = own.to_vec();
    out.push("expected_version");
    out
}

/// Parses a command; `visited_at` of an explanation defaults to `now`.
pub fn parse(name: &str, v: &Value, now: Millis) -> Result<Command> {
    Ok(match name {
        "triage" => Command::Triage {
            urgency: choice(v, "urgency", URGENCIES)?,
            category: string(v, "category")?,
        },
        "report" => Command::ReportToStreet {
            note: opt_string(v, "note")?,
        },
        "sign" => Command::Sign,
        "assign" => Command::Assign {
            responsible: string(v, "responsible")?,
            days: number(v, "days")?,
        },
        "dispatch" => Command::Dispatch {
            lead: string(v, "lead")?,
            cooperating: strings(v, "cooperating")?,
            difficulty: choice(v, "difficulty", DIFFICULTIES)?,
        },
        "accept" => Command::Accept {
            contact_note: string(v, "contact_note")?,
        },
        "return" => Command::Return {
            reason: string(v, "reason")?,
        },
        "cooperation-report" => Command::CooperationReport {
            text: string(v, "text")?,
        },
        "request-deadline" => Command::RequestLeaderDeadline {
            reason: string(v, "reason")?,
        },
        "set-deadline" => Command::SetLeaderDeadline {
            days: number(v, "days")?,
        },
        "reply" => Command::Reply {
            result: string(v, "result")?,
            policy_basis: opt_string(v, "policy_basis")?,
        },
        "explain" => Command::Explain {
            visited_by: string(v, "visited_by")?,
            visited_at: match v.get("visited_at") {
                None | Some(Value::Null) => now,
                Some(x) => x.as_i64().ok_or_else(|| bad("visited_at"))?,
            },
            policy_basis: string(v, "policy_basis")?,
            note: opt_string(v, "note")?,
        },
        "rate" => Command::Rate {
            rating: choice(v, "rating", RATINGS)?,
            comment: opt_string(v, "comment")?,
            via: choice(v, "via", STAFF_VIA)?,
        },
        "reopen" => Command::Reopen {
            reason: string(v, "reason")?,
            days: number(v, "days")?,
        },
        "close" => Command::Close {
            explanation: string(v, "explanation")?,
        },
        "own" => Command::TakeOwnership,
        "rating-read" => Command::AcknowledgeRating,
        "supervise" => Command::Supervise {
            note: string(v, "note")?,
            days: number(v, "days")?,
        },
        "interview" => Command::RecordInterview {
            unit: string(v, "unit")?,
            head: string(v, "head")?,
            note: string(v, "note")?,
        },
        "notes" => Command::AddNote {
            text: string(v, "text")?,
        },
        other => return Err(AppError::UnknownCommand(other.to_string())),
    })
}

/// The version the caller read, if given (`expected_version`).
pub fn expected_version(v: &Value) -> Result<Option<u64>> {
    match v.get("expected_version") {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_u64().map(Some).ok_or_else(|| bad("expected_version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `fields` lists exactly what `parse` reads: a missing field error only
    /// ever names a listed field, and a body of just the listed fields gets
    /// past every missing-field error.
    #[test]
    fn fields_match_what_parse_reads() {
        for name in NAMES {
            let known = fields(name);
            let mut body = serde_json::Map::new();
            loop {
                match parse(name, &Value::Object(body.clone()), 0) {
                    Err(AppError::Invalid(f)) if f.kind == FieldErrorKind::Missing => {
                        assert!(known.contains(&f.field.as_str()), "{name}: {}", f.field);
                        assert!(!body.contains_key(&f.field), "{name}: {}", f.field);
                        body.insert(f.field.clone(), Value::String("x".into()));
                    }
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn every_name_parses_or_names_its_field() {
        for name in NAMES {
            match parse(name, &json!({}), 0) {
                Ok(_) => {}
                Err(AppError::Invalid(f)) => assert!(!f.field.is_empty()),
                Err(e) => panic!("{name}: {e}"),
            }
        }
        assert!(matches!(
            parse("fly", &json!({}), 0),
            Err(AppError::UnknownCommand(_))
        ));
        let c = parse(
            "dispatch",
            &json!({"lead": "X", "cooperating": ["Y"], "difficulty": "difficult"}),
            0,
        )
        .unwrap();
        assert_eq!(
            c,
            Command::Dispatch {
                lead: "X".into(),
                cooperating: vec!["Y".into()],
                difficulty: Difficulty::Difficult
            }
        );
        assert!(matches!(
            parse("triage", &json!({"urgency": "now", "category": "x"}), 0),
            Err(AppError::Invalid(_))
        ));
        assert!(matches!(
            parse("assign", &json!({"responsible": "x", "days": -1}), 0),
            Err(AppError::Invalid(_))
        ));
    }
}
