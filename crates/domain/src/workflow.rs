//! The six orders (六单工作法, DOMAIN.md §3) as pure code: commands, who may
//! give them in which state, the events they produce, deadline rules as data,
//! the sweeper's decisions and the notification intents of every step.
//!
//! `decide(state, command, who, ctx) -> events` never changes anything; the
//! events are applied with [`crate::case::apply`]. Time comes in `ctx.now`.

use crate::case::{CaseState, DeadlineBasis, DeadlineInfo, Event, Handler, Millis, Status};
use crate::hours::OfficeHours;
use crate::org::{Level, OrgTree, Role};
use crate::validate::bounded_text;
use serde::{Deserialize, Serialize};
use suqiu_calendar::Calendar;
pub use suqiu_calendar::DayUnit;
use thiserror::Error;
use time::{Date, OffsetDateTime, UtcOffset};

/// 合理急办 / 合理缓办 / 不合理
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Urgent,
    Deferred,
    Unreasonable,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Urgent => "urgent",
            Urgency::Deferred => "deferred",
            Urgency::Unreasonable => "unreasonable",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Urgency::Urgent => "合理急办",
            Urgency::Deferred => "合理缓办",
            Urgency::Unreasonable => "不合理",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Urgency::Urgent => "reasonable, urgent",
            Urgency::Deferred => "reasonable, can wait",
            Urgency::Unreasonable => "unreasonable",
        }
    }
}

/// Ordinary (3 working days), difficult (15), especially difficult (leader sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Ordinary,
    Difficult,
    VeryDifficult,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Ordinary => "ordinary",
            Difficulty::Difficult => "difficult",
            Difficulty::VeryDifficult => "very_difficult",
        }
    }
}

/// 满意 / 一般 / 不满意
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Satisfied,
    Average,
    Unsatisfied,
}

impl Rating {
    pub fn zh(self) -> &'static str {
        match self {
            Rating::Satisfied => "满意",
            Rating::Average => "一般",
            Rating::Unsatisfied => "不满意",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Rating::Satisfied => "satisfied",
            Rating::Average => "average",
            Rating::Unsatisfied => "unsatisfied",
        }
    }
}

/// How the rating was given: by the resident with the tracking code, or
/// taken by callback staff on the phone or at a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingVia {
    Resident,
    Phone,
    Visit,
    /// The case's linked leader revisited the resident (回门巡访, DOMAIN.md §4).
    LeaderRevisit,
}

/// Everything a person can ask of a case. Parsed at the edge; checked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Triage {
        urgency: Urgency,
        category: String,
    },
    ReportToStreet {
        note: Option<String>,
    },
    Sign,
    Assign {
        responsible: String,
        days: u32,
    },
    Dispatch {
        lead: String,
        cooperating: Vec<String>,
        difficulty: Difficulty,
    },
    Accept {
        contact_note: String,
    },
    Return {
        reason: String,
    },
    CooperationReport {
        text: String,
    },
    RequestLeaderDeadline {
        reason: String,
    },
    SetLeaderDeadline {
        days: u32,
    },
    Reply {
        result: String,
        policy_basis: Option<String>,
    },
    Explain {
        visited_by: String,
        visited_at: Millis,
        policy_basis: String,
        note: Option<String>,
    },
    Rate {
        rating: Rating,
        comment: Option<String>,
        via: RatingVia,
    },
    Reopen {
        reason: String,
        days: u32,
    },
    Close {
        explanation: String,
    },
    TakeOwnership,
    Supervise {
        note: String,
        days: u32,
    },
    RecordInterview {
        unit: String,
        head: String,
        note: String,
    },
    AddNote {
        text: String,
    },
    /// A unit the rating went back to has read it (评单).
    AcknowledgeRating,
    /// 合并: close this case (a duplicate) as merged into another case.
    Merge {
        primary: MergeTarget,
        reason: String,
    },
}

/// What `decide` needs to know of the case a duplicate is merged into (the app
/// reads it; the domain does no IO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTarget {
    /// The duplicate's own id (merging a case into itself is refused).
    pub duplicate: i64,
    /// The primary case's id.
    pub id: i64,
    pub status: Status,
    /// Set when the primary was itself merged into another case.
    pub merged_into: Option<i64>,
    /// Whether the actor may see the primary (no merging across units one cannot see).
    pub visible: bool,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Triage { .. } => "triage",
            Command::ReportToStreet { .. } => "report",
            Command::Sign => "sign",
            Command::Assign { .. } => "assign",
            Command::Dispatch { .. } => "dispatch",
            Command::Accept { .. } => "accept",
            Command::Return { .. } => "return",
            Command::CooperationReport { .. } => "cooperation-report",
            Command::RequestLeaderDeadline { .. } => "request-deadline",
            Command::SetLeaderDeadline { .. } => "set-deadline",
            Command::Reply { .. } => "reply",
            Command::Explain { .. } => "explain",
            Command::Rate { .. } => "rate",
            Command::Reopen { .. } => "reopen",
            Command::Close { .. } => "close",
            Command::TakeOwnership => "own",
            Command::Supervise { .. } => "supervise",
            Command::RecordInterview { .. } => "interview",
            Command::AddNote { .. } => "notes",
            Command::AcknowledgeRating => "rating-read",
            Command::Merge { .. } => "merge",
        }
    }
}

/// Who gives a command: a resident (tracking code) or a staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Resident,
    Staff {
        login: String,
        role: Role,
        unit: String,
        linked_units: Vec<String>,
    },
    System,
}

/// A deadline rule: started by an event (optionally only for one tag: an
/// urgency or difficulty), counted in working or calendar days or "same
/// working day", owed by the unit named by `owner`, ended by `ends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    pub id: String,
    /// Event kind that starts it.
    pub start: String,
    /// Only when the starting event has this tag (urgency or difficulty).
    #[serde(default)]
    pub when: Vec<String>,
    pub length: u32,
    pub unit: DayUnit,
    /// Event kinds that end it.
    pub ends: Vec<String>,
    /// Hours before due at which it is flagged "due soon" (default: the rules' default).
    #[serde(default)]
    pub warn_before_hours: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRules {
    pub warn_before_hours: u32,
    pub rules: Vec<DeadlineRule>,
    /// Categories offered at triage (configurable).
    pub categories: Vec<String>,
    /// Units' office hours: where a same-day rule starts (DOMAIN.md §3).
    #[serde(default)]
    pub office_hours: OfficeHours,
}

fn rule(
    id: &str,
    start: &str,
    when: &[&str],
    length: u32,
    unit: DayUnit,
    ends: &[&str],
) -> DeadlineRule {
    DeadlineRule {
        id: id.into(),
        start: start.into(),
        when: when.iter().map(|s| s.to_string()).collect(),
        length,
        unit,
        ends: ends.iter().map(|s| s.to_string()).collect(),
        warn_before_hours: None,
    }
}

impl Default for DeadlineRules {
    /// The limits of DOMAIN.md §3 (S3): same-day triage and escalation,
    /// same-day signing and acceptance, 3 / 15 working days to finish.
    fn default() -> Self {
        use DayUnit::{SameWorkingDay, Working};
        DeadlineRules {
            warn_before_hours: 8,
            rules: vec![
                rule("triage", "received", &[], 0, SameWorkingDay, &["triaged"]),
                rule(
                    "first_stop",
                    "triaged",
                    &["urgent", "deferred"],
                    0,
                    SameWorkingDay,
                    &["replied", "reported_to_street"],
                ),
                rule(
                    "explain",
                    "triaged",
                    &["unreasonable"],
                    3,
                    Working,
                    &["explained"],
                ),
                rule(
                    "sign",
                    "reported_to_street",
                    &[],
                    0,
                    SameWorkingDay,
                    &["signed"],
                ),
                rule(
                    "accept",
                    "dispatched",
                    &[],
                    0,
                    SameWorkingDay,
                    &["accepted", "returned"],
                ),
                rule(
                    "finish",
                    "dispatched",
                    &["ordinary"],
                    3,
                    Working,
                    &["replied", "returned"],
                ),
                rule(
                    "finish",
                    "dispatched",
                    &["difficult", "very_difficult"],
                    15,
                    Working,
                    &["replied", "returned"],
                ),
                rule(
                    "redispatch",
                    "returned",
                    &[],
                    1,
                    Working,
                    &["dispatched", "street_assigned"],
                ),
            ],
            categories: ["基础建设", "民生保障", "生态环境", "矛盾纠纷", "信访舆情"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            office_hours: OfficeHours::default(),
        }
    }
}

/// Why a set of deadline rules was refused: a stable code, where, and a
/// message in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub code: &'static str,
    /// e.g. `rules[2].start`, `categories[0]`.
    pub field: String,
    pub zh: String,
    pub en: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.en)
    }
}

/// Longest rule (days) and warning (hours) accepted.
pub const MAX_RULE_DAYS: u32 = 366;
pub const MAX_WARN_HOURS: u32 = 24 * 30;
/// Most categories, and most characters of one.
pub const MAX_CATEGORIES: usize = 50;
pub const MAX_CATEGORY_CHARS: usize = 20;

/// The tags a rule's `when` may name: urgencies and difficulties.
pub fn rule_tags() -> Vec<&'static str> {
    let mut v: Vec<&str> = [Urgency::Urgent, Urgency::Deferred, Urgency::Unreasonable]
        .iter()
        .map(|u| u.as_str())
        .collect();
    v.extend(
        [
            Difficulty::Ordinary,
            Difficulty::Difficult,
            Difficulty::VeryDifficult,
        ]
        .iter()
        .map(|d| d.as_str()),
    );
    v
}

impl DeadlineRules {
    /// Checks a set of rules before it is used: known event kinds and tags,
    /// ids of `a-z`, `0-9` and `_`, sane lengths, at least one category,
    /// categories unique, short and printable.
    pub fn validate(&self) -> Result<(), RuleProblem> {
        use crate::case::EVENT_KINDS;
        let bad = |code: &'static str, field: String, zh: String, en: String| RuleProblem {
            code,
            field,
            zh,
            en,
        };
        if self.warn_before_hours > MAX_WARN_HOURS {
            return Err(bad(
                "rule_warning_too_long",
                "warn_before_hours".into(),
                format!("提前提醒时间不能超过 {MAX_WARN_HOURS} 小时"),
                format!("the warning may be at most {MAX_WARN_HOURS} hours before the deadline"),
            ));
        }
        let tags = rule_tags();
        for (i, r) in self.rules.iter().enumerate() {
            let f = |name: &str| format!("rules[{i}].{name}");
            let id_ok = !r.id.is_empty()
                && r.id.len() <= 32
                && r.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                return Err(bad(
                    "rule_bad_id",
                    f("id"),
                    format!(
                        "第 {} 条规则的编号「{}」须为 1–32 个小写字母、数字或下划线",
                        i + 1,
                        r.id
                    ),
                    format!(
                        "rule {}: id '{}' must be 1-32 of a-z, 0-9 or '_'",
                        i + 1,
                        r.id
                    ),
                ));
            }
            if !EVENT_KINDS.contains(&r.start.as_str()) {
                return Err(bad(
                    "rule_unknown_event",
                    f("start"),
                    format!("第 {} 条规则的起算环节「{}」不存在", i + 1, r.start),
                    format!(
                        "rule {}: there is no event '{}' to start it",
                        i + 1,
                        r.start
                    ),
                ));
            }
            if r.ends.is_empty() {
                return Err(bad(
                    "rule_no_end",
                    f("ends"),
                    format!("第 {} 条规则须至少有一个结束环节", i + 1),
                    format!("rule {}: name at least one event that ends it", i + 1),
                ));
            }
            if let Some(e) = r.ends.iter().find(|e| !EVENT_KINDS.contains(&e.as_str())) {
                return Err(bad(
                    "rule_unknown_event",
                    f("ends"),
                    format!("第 {} 条规则的结束环节「{e}」不存在", i + 1),
                    format!("rule {}: there is no event '{e}' to end it", i + 1),
                ));
            }
            if let Some(t) = r.when.iter().find(|t| !tags.contains(&t.as_str())) {
                return Err(bad(
                    "rule_unknown_tag",
                    f("when"),
                    format!(
                        "第 {} 条规则的适用条件「{t}」不存在（可用：{}）",
                        i + 1,
                        tags.join("、")
                    ),
                    format!(
                        "rule {}: unknown tag '{t}' (one of {})",
                        i + 1,
                        tags.join(", ")
                    ),
                ));
            }
            if r.length > MAX_RULE_DAYS || (r.unit == DayUnit::SameWorkingDay && r.length != 0) {
                return Err(bad(
                    "rule_bad_length",
                    f("length"),
                    format!(
                        "第 {} 条规则的时限不正确：当日办结须为 0，其余不超过 {MAX_RULE_DAYS} 天",
                        i + 1
                    ),
                    format!(
                        "rule {}: the length must be 0 for same_working_day, else at most {MAX_RULE_DAYS} days",
                        i + 1
                    ),
                ));
            }
            if r.warn_before_hours.is_some_and(|h| h > MAX_WARN_HOURS) {
                return Err(bad(
                    "rule_warning_too_long",
                    f("warn_before_hours"),
                    format!(
                        "第 {} 条规则的提前提醒时间不能超过 {MAX_WARN_HOURS} 小时",
                        i + 1
                    ),
                    format!(
                        "rule {}: the warning may be at most {MAX_WARN_HOURS} hours",
                        i + 1
                    ),
                ));
            }
        }
        if self.categories.is_empty() || self.categories.len() > MAX_CATEGORIES {
            return Err(bad(
                "category_count",
                "categories".into(),
                format!("问题类别须有 1–{MAX_CATEGORIES} 个"),
                format!("there must be 1-{MAX_CATEGORIES} categories"),
            ));
        }
        for (i, c) in self.categories.iter().enumerate() {
            let n = c.chars().count();
            if n == 0
                || n > MAX_CATEGORY_CHARS
                || c.trim() != c
                || c.chars()
                    .any(|ch| ch.is_control() || ch == ',' || ch == '，')
            {
                return Err(bad(
                    "category_bad_name",
                    format!("categories[{i}]"),
                    format!(
                        "类别「{c}」须为 1–{MAX_CATEGORY_CHARS} 个字，不含逗号、首尾空格或控制字符"
                    ),
                    format!("category '{c}' must be 1-{MAX_CATEGORY_CHARS} characters, without commas, surrounding spaces or control characters"),
                ));
            }
            if self.categories[..i].contains(c) {
                return Err(bad(
                    "category_duplicate",
                    format!("categories[{i}]"),
                    format!("类别「{c}」重复"),
                    format!("category '{c}' is listed twice"),
                ));
            }
        }
        if let Some((field, zh, en)) = self.office_hours.problem() {
            return Err(bad("office_hours_bad", field, zh, en));
        }
        Ok(())
    }
}

/// What `decide` needs besides the state: the time, the calendar, the rules
/// and the organisation.
pub struct Ctx<'a> {
    pub now: Millis,
    pub calendar: &'a Calendar,
    pub rules: &'a DeadlineRules,
    pub org: &'a OrgTree,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The command does not apply in the case's current status.
    #[error("command {command} is not allowed while the case is {status}")]
    WrongState {
        command: &'static str,
        status: &'static str,
    },
    /// The actor's role or unit may not give this command on this case.
    #[error("{command} is not for this role or unit")]
    NotYourCase { command: &'static str },
    /// The input is inconsistent (e.g. dispatch to a non-department).
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// A case cannot be merged into itself.
    #[error("a case cannot be merged into itself")]
    MergeIntoItself,
    /// The primary is closed, or was itself merged into another case.
    #[error("case {id} is closed or merged and cannot take a duplicate")]
    MergeTargetClosed { id: i64, merged: bool },
    /// The actor may not see the primary (or it does not exist).
    #[error("case {id} is not within your units")]
    MergeTargetOutOfScope { id: i64 },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::WrongState { .. } => "illegal_transition",
            Refusal::NotYourCase { .. } => "not_permitted",
            Refusal::Invalid { .. } => "invalid_command",
            Refusal::MergeIntoItself => "merge_into_itself",
            Refusal::MergeTargetClosed { merged: false, .. } => "merge_target_closed",
            Refusal::MergeTargetClosed { merged: true, .. } => "merge_target_merged",
            Refusal::MergeTargetOutOfScope { .. } => "merge_target_out_of_scope",
        }
    }
}

const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The date and time in China of a moment.
pub fn china_datetime(ms: Millis) -> (Date, time::Time) {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            let t = t.to_offset(CST);
            (t.date(), t.time())
        })
        .unwrap_or((Date::MIN, time::Time::MIDNIGHT))
}

/// The date in China of a moment.
pub fn china_date(ms: Millis) -> Date {
    china_datetime(ms).0
}

/// The end of a date in China (24:00 +08:00) in milliseconds.
pub fn end_of_china_day(d: Date) -> Millis {
    let next = d.next_day().unwrap_or(d);
    let t = next.midnight().assume_offset(CST);
    (t.unix_timestamp_nanos() / 1_000_000) as Millis
}

const START_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A deadline from `now`: due at the end of the due date. A same-day rule
/// owed by a unit that has closed for the day (or on a rest day) starts at
/// the unit's next working day.
pub fn compute_deadline(
    ctx: &Ctx<'_>,
    rule_id: &str,
    unit: &str,
    length: u32,
    day_unit: DayUnit,
    warn_hours: Option<u32>,
    ends: &[String],
) -> DeadlineInfo {
    let (date, time) = china_datetime(ctx.now);
    let start = ctx
        .rules
        .office_hours
        .start(ctx.org, ctx.calendar, unit, day_unit, date, time);
    let d = ctx.calendar.due(start.date, length, day_unit);
    let due_at = end_of_china_day(d.date);
    let warn = i64::from(warn_hours.unwrap_or(ctx.rules.warn_before_hours)) * 3_600_000;
    DeadlineInfo {
        rule: rule_id.to_string(),
        unit: unit.to_string(),
        due_at,
        warn_at: (due_at - warn).max(ctx.now),
        provisional: d.provisional,
        ends: ends.to_vec(),
        basis: Some(DeadlineBasis {
            start: start.date.format(START_FORMAT).unwrap_or_default(),
            length,
            day_unit,
            warn_ms: warn,
            set_at: ctx.now,
        }),
        after_hours: start.after_hours,
    }
}

/// The running provisional deadlines of an open case counted again with
/// `calendar` (a year's holiday notice arrived): one `deadline_recomputed`
/// per deadline whose date or provisional mark changes. Deadlines already
/// overdue keep their mark; those set before their basis was kept are left.
pub fn recompute_deadlines(s: &CaseState, calendar: &Calendar) -> Vec<Event> {
    if !s.status.is_open() {
        return Vec::new();
    }
    s.deadlines
        .iter()
        .filter(|d| d.info.provisional && !d.overdue)
        .filter_map(|d| {
            let b = d.info.basis.as_ref()?;
            let start = Date::parse(&b.start, START_FORMAT).ok()?;
            let due = calendar.due(start, b.length, b.day_unit);
            let due_at = end_of_china_day(due.date);
            if due_at == d.info.due_at && due.provisional == d.info.provisional {
                return None;
            }
            Some(Event::DeadlineRecomputed {
                rule: d.info.rule.clone(),
                due_at,
                warn_at: (due_at - b.warn_ms).max(b.set_at),
                provisional: due.provisional,
                was_due_at: d.info.due_at,
            })
        })
        .collect()
}

fn text(field: &'static str, raw: &str, max: usize) -> Result<String, Refusal> {
    bounded_text(field, raw, max, true).map_err(|e| Refusal::Invalid {
        field,
        reason: e.message_en(),
    })
}

fn days(field: &'static str, d: u32) -> Result<u32, Refusal> {
    if (1..=365).contains(&d) {
        Ok(d)
    } else {
        Err(Refusal::Invalid {
            field,
            reason: "must be 1 to 365 working days".into(),
        })
    }
}

/// Whether an accusation (检举控告) must not reach `unit`: it lies within the
/// accused unit's subtree. Always false for other cases.
pub fn shielded_unit(org: &OrgTree, s: &CaseState, unit: &str) -> bool {
    let Some(accused) = s.intake.accused_unit.as_deref().and_then(|u| org.path(u)) else {
        return false;
    };
    org.path(unit).is_some_and(|p| p.starts_with(accused))
}

/// Whether an accusation's accused person (a login or a name) is `p`.
pub fn names_person(accused_person: Option<&str>, p: &crate::org::Person) -> bool {
    accused_person.is_some_and(|a| a == p.login || a == p.name)
}

/// Whether an accusation must not reach the person `login`: the accused
/// person (named by login or name), or anyone whose unit or linked unit lies
/// within the accused unit's subtree. Always false for other cases.
pub fn shielded_person(org: &OrgTree, s: &CaseState, login: &str) -> bool {
    let i = &s.intake;
    if i.accused_unit.is_none() && i.accused_person.is_none() {
        return false;
    }
    let Some(p) = org.people().iter().find(|p| p.login == login) else {
        // someone the organisation does not know: only the named person is excluded
        return i.accused_person.as_deref() == Some(login);
    };
    names_person(i.accused_person.as_deref(), p)
        || shielded_unit(org, s, &p.unit)
        || p.linked_units.iter().any(|u| shielded_unit(org, s, u))
}

/// The leader linked (挂点) to the case's community or street, if any: first a
/// leader linked to the community, then to the street, then to the district.
/// Never a leader an accusation must not reach ([`shielded_person`]).
pub fn linked_leader(org: &OrgTree, s: &CaseState) -> Option<String> {
    let targets = [s.intake.triage_unit.as_str(), s.intake.street.as_str()];
    for t in targets {
        if let Some(p) = org.people().iter().find(|p| {
            p.role == Role::Leader
                && p.linked_units.iter().any(|u| u == t)
                && !shielded_person(org, s, &p.login)
        }) {
            return Some(p.login.clone());
        }
    }
    None
}

/// Whether `who` is a leader linked to a unit on the case's path (or its owner).
fn is_case_leader(org: &OrgTree, s: &CaseState, login: &str, linked: &[String]) -> bool {
    let path = org.path(&s.intake.place_unit).unwrap_or("");
    s.owner.as_deref() == Some(login)
        || linked.iter().any(|u| {
            org.path(u)
                .map(|p| path.starts_with(p) || s.involved.contains(u))
                .unwrap_or(false)
        })
}

/// Decides what a command means for a case: the events, or a refusal.
pub fn decide(
    s: &CaseState,
    cmd: &Command,
    who: &Who,
    ctx: &Ctx<'_>,
) -> Result<Vec<Event>, Refusal> {
    let name = cmd.name();
    let wrong = || Refusal::WrongState {
        command: name,
        status: s.status.as_str(),
    };
    let deny = || Refusal::NotYourCase { command: name };
    let (login, role, unit, linked) = match who {
        Who::Staff {
            login,
            role,
            unit,
            linked_units,
        } => (
            login.as_str(),
            Some(*role),
            unit.as_str(),
            linked_units.as_slice(),
        ),
        Who::Resident => ("", None, "", &[][..]),
        Who::System => return Err(deny()),
    };
    let staff_of = |r: Role, u: &str| role == Some(r) && unit == u;
    let community = s.intake.triage_unit.as_str();
    // The first stop triages, resolves or explains: the village/community, or
    // for an accusation (检举控告) the petition bureau of the district, whose
    // code the app puts in `triage_unit`.
    let accusation = s.intake.is_accusation();
    let first_stop = || {
        if accusation {
            // the oversight unit's staff when it was forwarded there
            staff_of(Role::PetitionBureau, community) || staff_of(Role::Inspector, community)
        } else {
            staff_of(Role::CommunityStaff, community)
        }
    };
    let street = s.intake.street.as_str();
    let is_leader = role == Some(Role::Leader) && is_case_leader(ctx.org, s, login, linked);
    // After 不满意, whoever handled it decides: the first stop for its own
    // cases, the street for what went through it.
    let after_unsatisfied = || -> Result<(), Refusal> {
        if s.status != Status::Unsatisfied {
            return Err(wrong());
        }
        let ok = match s.handler {
            Some(Handler::Community) | None => first_stop(),
            _ => staff_of(Role::StreetStaff, street),
        };
        if ok {
            Ok(())
        } else {
            Err(deny())
        }
    };
    let mut main: Vec<Event> = Vec::new();
    let mut explicit: Vec<DeadlineInfo> = Vec::new();
    let mut clear_rules: Vec<String> = Vec::new();
    let handling_ends = vec!["replied".to_string(), "returned".to_string()];

    match cmd {
        Command::Triage { urgency, category } => {
            if s.status != Status::Received {
                return Err(wrong());
            }
            if !first_stop() {
                return Err(deny());
            }
            if !ctx.rules.categories.iter().any(|c| c == category) {
                return Err(Refusal::Invalid {
                    field: "category",
                    reason: format!("one of {}", ctx.rules.categories.join(", ")),
                });
            }
            main.push(Event::Triaged {
                urgency: *urgency,
                category: category.clone(),
            });
        }
        Command::ReportToStreet { note } => {
            if s.status != Status::Triaged || s.urgency == Some(Urgency::Unreasonable) || accusation
            {
                return Err(wrong());
            }
            if !first_stop() {
                return Err(deny());
            }
            let note = note.as_deref().map(|n| text("note", n, 2000)).transpose()?;
            main.push(Event::ReportedToStreet {
                street: street.to_string(),
                note,
            });
        }
        Command::Sign => {
            if s.status != Status::Reported {
                return Err(wrong());
            }
            if !staff_of(Role::StreetStaff, street) {
                return Err(deny());
            }
            main.push(Event::Signed {
                street: street.to_string(),
            });
        }
        Command::Assign {
            responsible,
            days: d,
        } => {
            if s.status != Status::AtStreet {
                return Err(wrong());
            }
            if !staff_of(Role::StreetStaff, street) {
                return Err(deny());
            }
            let responsible = text("responsible", responsible, 100)?;
            let d = days("days", *d)?;
            main.push(Event::StreetAssigned { responsible });
            explicit.push(compute_deadline(
                ctx,
                "street_handling",
                street,
                d,
                DayUnit::Working,
                None,
                &handling_ends,
            ));
        }
        Command::Dispatch {
            lead,
            cooperating,
            difficulty,
        } => {
            if s.status != Status::AtStreet {
                return Err(wrong());
            }
            if !staff_of(Role::StreetStaff, street) {
                return Err(deny());
            }
            for (field, u) in std::iter::once(("lead", lead))
                .chain(cooperating.iter().map(|c| ("cooperating", c)))
            {
                match ctx.org.unit(u) {
                    Some(x) if x.level == Level::Department => {}
                    _ => {
                        return Err(Refusal::Invalid {
                            field,
                            reason: format!("{u} is not a department"),
                        })
                    }
                }
            }
            if let Some(accused) = s
                .intake
                .accused_unit
                .as_deref()
                .and_then(|a| ctx.org.path(a))
            {
                let in_chain = |u: &str| ctx.org.path(u).is_some_and(|p| p.starts_with(accused));
                if in_chain(lead) || cooperating.iter().any(|c| in_chain(c)) {
                    return Err(Refusal::Invalid {
                        field: "lead",
                        reason: "an accusation is never sent to the accused unit".into(),
                    });
                }
            }
            if cooperating.iter().any(|c| c == lead) {
                return Err(Refusal::Invalid {
                    field: "cooperating",
                    reason: "the lead unit cannot also cooperate".into(),
                });
            }
            let mut coop = cooperating.clone();
            coop.sort();
            coop.dedup();
            main.push(Event::Dispatched {
                lead: lead.clone(),
                cooperating: coop,
                difficulty: *difficulty,
            });
        }
        Command::Accept { contact_note } => {
            if s.status != Status::Dispatched {
                return Err(wrong());
            }
            if !staff_of(Role::DepartmentHandler, s.lead.as_deref().unwrap_or("")) {
                return Err(deny());
            }
            main.push(Event::Accepted {
                unit: unit.to_string(),
                contact_note: text("contact_note", contact_note, 2000)?,
            });
        }
        Command::Return { reason } => {
            if !matches!(s.status, Status::Dispatched | Status::InProgress) {
                return Err(wrong());
            }
            if !staff_of(Role::DepartmentHandler, s.lead.as_deref().unwrap_or("")) {
                return Err(deny());
            }
            main.push(Event::Returned {
                unit: unit.to_string(),
                reason: text("reason", reason, 2000)?,
            });
            // every deadline of the dispatched phase ends with the return
            clear_rules.extend(s.deadlines.iter().map(|d| d.info.rule.clone()));
        }
        Command::CooperationReport { text: t } => {
            if !matches!(
                s.status,
                Status::Dispatched | Status::InProgress | Status::AwaitingLeaderDeadline
            ) {
                return Err(wrong());
            }
            if role != Some(Role::DepartmentHandler) || !s.cooperating.iter().any(|c| c == unit) {
                return Err(deny());
            }
            main.push(Event::CooperationReported {
                unit: unit.to_string(),
                text: text("text", t, 2000)?,
            });
        }
        Command::RequestLeaderDeadline { reason } => {
            if s.status != Status::InProgress || s.handler != Some(Handler::Department) {
                return Err(wrong());
            }
            if !staff_of(Role::DepartmentHandler, s.lead.as_deref().unwrap_or("")) {
                return Err(deny());
            }
            main.push(Event::LeaderDeadlineRequested {
                unit: unit.to_string(),
                reason: text("reason", reason, 2000)?,
                leader: linked_leader(ctx.org, s),
            });
        }
        Command::SetLeaderDeadline { days: d } => {
            if s.status != Status::AwaitingLeaderDeadline {
                return Err(wrong());
            }
            if !is_leader {
                return Err(deny());
            }
            let d = days("days", *d)?;
            main.push(Event::LeaderDeadlineSet {
                leader: login.to_string(),
            });
            clear_rules.extend(
                s.deadlines
                    .iter()
                    .filter(|x| x.info.ends.iter().any(|e| e == "replied"))
                    .map(|x| x.info.rule.clone()),
            );
            let lead = s.lead.clone().unwrap_or_default();
            explicit.push(compute_deadline(
                ctx,
                "leader_set",
                &lead,
                d,
                DayUnit::Working,
                None,
                &handling_ends,
            ));
        }
        Command::Reply {
            result,
            policy_basis,
        } => {
            let may = match s.status {
                Status::Triaged => s.urgency != Some(Urgency::Unreasonable) && first_stop(),
                Status::StreetHandling => staff_of(Role::StreetStaff, street),
                Status::InProgress => {
                    staff_of(Role::DepartmentHandler, s.lead.as_deref().unwrap_or(""))
                }
                _ => return Err(wrong()),
            };
            if s.status == Status::Triaged && s.urgency == Some(Urgency::Unreasonable) {
                return Err(wrong());
            }
            if !may {
                return Err(deny());
            }
            main.push(Event::Replied {
                unit: unit.to_string(),
                result: text("result", result, 5000)?,
                policy_basis: policy_basis
                    .as_deref()
                    .map(|p| text("policy_basis", p, 2000))
                    .transpose()?,
            });
        }
        Command::Explain {
            visited_by,
            visited_at,
            policy_basis,
            note,
        } => {
            if s.status != Status::Triaged || s.urgency != Some(Urgency::Unreasonable) {
                return Err(wrong());
            }
            if !first_stop() {
                return Err(deny());
            }
            main.push(Event::Explained {
                unit: unit.to_string(),
                visited_by: text("visited_by", visited_by, 200)?,
                visited_at: *visited_at,
                policy_basis: text("policy_basis", policy_basis, 2000)?,
                note: note.as_deref().map(|n| text("note", n, 2000)).transpose()?,
            });
        }
        Command::Rate {
            rating,
            comment,
            via,
        } => {
            if s.status != Status::Replied {
                return Err(wrong());
            }
            let ok = match (who, via) {
                (Who::Resident, RatingVia::Resident) => true,
                (Who::Staff { .. }, RatingVia::LeaderRevisit) => is_leader,
                (Who::Staff { .. }, RatingVia::Phone | RatingVia::Visit) => matches!(
                    role,
                    Some(
                        Role::PetitionBureau
                            | Role::CommunityStaff
                            | Role::GridWorker
                            | Role::Admin
                    )
                ),
                _ => false,
            };
            if !ok {
                return Err(deny());
            }
            main.push(Event::Rated {
                rating: *rating,
                comment: comment
                    .as_deref()
                    .map(|c| text("comment", c, 2000))
                    .transpose()?,
                via: *via,
            });
        }
        Command::Reopen { reason, days: d } => {
            after_unsatisfied()?;
            let d = days("days", *d)?;
            let handler_unit = match s.handler {
                Some(Handler::Department) => s.lead.clone().unwrap_or_default(),
                Some(Handler::Street) => street.to_string(),
                Some(Handler::Community) | None => community.to_string(),
            };
            main.push(Event::Reopened {
                reason: text("reason", reason, 2000)?,
                unit: handler_unit.clone(),
            });
            explicit.push(compute_deadline(
                ctx,
                "reopened",
                &handler_unit,
                d,
                DayUnit::Working,
                None,
                &handling_ends,
            ));
        }
        Command::Close { explanation } => {
            after_unsatisfied()?;
            main.push(Event::Closed {
                explanation: Some(text("explanation", explanation, 2000)?),
            });
        }
        Command::TakeOwnership => {
            if !s.status.is_open() {
                return Err(wrong());
            }
            if role != Some(Role::Leader) {
                return Err(deny());
            }
            if s.owner.as_deref() == Some(login) {
                return Err(wrong());
            }
            main.push(Event::OwnershipTaken {
                leader: login.to_string(),
            });
        }
        Command::Supervise { note, days: d } => {
            let overdue: Vec<&crate::case::ActiveDeadline> =
                s.deadlines.iter().filter(|x| x.overdue).collect();
            if !s.status.is_open() || (overdue.is_empty() && s.owner.as_deref() != Some(login)) {
                return Err(wrong());
            }
            if !is_leader {
                return Err(deny());
            }
            let d = days("days", *d)?;
            main.push(Event::Supervised {
                leader: login.to_string(),
                note: text("note", note, 2000)?,
            });
            // the new deadline replaces the overdue ones (or the handling one)
            let target = overdue
                .first()
                .map(|x| x.info.unit.clone())
                .unwrap_or_else(|| s.current_unit.clone());
            clear_rules.extend(overdue.iter().map(|x| x.info.rule.clone()));
            explicit.push(compute_deadline(
                ctx,
                "supervised",
                &target,
                d,
                DayUnit::Working,
                None,
                &[
                    "replied".into(),
                    "returned".into(),
                    "explained".into(),
                    "signed".into(),
                    "accepted".into(),
                    "triaged".into(),
                    "reported_to_street".into(),
                ],
            ));
        }
        Command::RecordInterview {
            unit: u,
            head,
            note,
        } => {
            if !is_leader {
                return Err(deny());
            }
            if ctx.org.unit(u).is_none() {
                return Err(Refusal::Invalid {
                    field: "unit",
                    reason: format!("unknown unit {u}"),
                });
            }
            main.push(Event::InterviewRecorded {
                leader: login.to_string(),
                unit: u.clone(),
                head: text("head", head, 100)?,
                note: text("note", note, 2000)?,
            });
        }
        Command::AddNote { text: t } => {
            if role.is_none() {
                return Err(deny());
            }
            main.push(Event::NoteAdded {
                text: text("text", t, 2000)?,
            });
        }
        Command::AcknowledgeRating => {
            if s.rating.is_none() {
                return Err(wrong());
            }
            let Who::Staff { unit, .. } = who else {
                return Err(deny());
            };
            if !s.rating_unread.contains(unit) {
                return Err(if s.rating_units().contains(unit) {
                    wrong()
                } else {
                    deny()
                });
            }
            main.push(Event::RatingAcknowledged { unit: unit.clone() });
        }
        Command::Merge { primary, reason } => {
            // Triage staff merge at the first stop, before the case leaves it; the
            // petition bureau at any open step.
            let petition_bureau = role == Some(Role::PetitionBureau);
            if !s.status.is_open()
                || (!petition_bureau && !matches!(s.status, Status::Received | Status::Triaged))
            {
                return Err(wrong());
            }
            if !(first_stop() || petition_bureau) {
                return Err(deny());
            }
            if primary.id == primary.duplicate {
                return Err(Refusal::MergeIntoItself);
            }
            if !primary.visible {
                return Err(Refusal::MergeTargetOutOfScope { id: primary.id });
            }
            if primary.merged_into.is_some() || !primary.status.is_open() {
                return Err(Refusal::MergeTargetClosed {
                    id: primary.id,
                    merged: primary.merged_into.is_some(),
                });
            }
            main.push(Event::Merged {
                into: primary.id,
                reason: text("reason", reason, 2000)?,
            });
            // a merged case owes nothing more: every running deadline ends
            clear_rules.extend(s.deadlines.iter().map(|d| d.info.rule.clone()));
        }
    }
    Ok(with_deadlines(s, main, explicit, clear_rules, ctx))
}

/// The events of the primary case when the duplicate `duplicate` is merged into
/// it (the duplicate's own events come from [`decide`] with [`Command::Merge`]).
/// Refused when the primary is closed or merged meanwhile.
pub fn absorb_duplicate(
    primary: &CaseState,
    primary_id: i64,
    duplicate: i64,
    reason: &str,
) -> Result<Vec<Event>, Refusal> {
    if primary_id == duplicate {
        return Err(Refusal::MergeIntoItself);
    }
    if primary.merged_into.is_some() || !primary.status.is_open() {
        return Err(Refusal::MergeTargetClosed {
            id: primary_id,
            merged: primary.merged_into.is_some(),
        });
    }
    Ok(vec![Event::DuplicateMerged {
        case_id: duplicate,
        reason: text("reason", reason, 2000)?,
    }])
}

fn tag(e: &Event) -> Option<&'static str> {
    match e {
        Event::Triaged { urgency, .. } => Some(urgency.as_str()),
        Event::Dispatched { difficulty, .. } => Some(difficulty.as_str()),
        _ => None,
    }
}

/// The unit that owes a rule's deadline after event `e`.
fn owner_of(s: &CaseState, e: &Event) -> String {
    match e {
        Event::Received(i) => i.triage_unit.clone(),
        Event::Triaged { .. } => s.intake.triage_unit.clone(),
        Event::ReportedToStreet { street, .. } => street.clone(),
        Event::Dispatched { lead, .. } => lead.clone(),
        Event::Returned { .. } => s.intake.street.clone(),
        _ => s.current_unit.clone(),
    }
}

/// Adds deadline events: clears those the main events end (or that the
/// command replaced), sets those the rules start, and the explicit ones.
fn with_deadlines(
    s: &CaseState,
    main: Vec<Event>,
    explicit: Vec<DeadlineInfo>,
    mut clear: Vec<String>,
    ctx: &Ctx<'_>,
) -> Vec<Event> {
    let mut out = Vec::new();
    for e in &main {
        let kind = e.kind();
        for d in &s.deadlines {
            if d.info.ends.iter().any(|k| k == kind) {
                clear.push(d.info.rule.clone());
            }
        }
    }
    clear.sort();
    clear.dedup();
    out.extend(main.iter().cloned());
    for rule in clear {
        if s.deadlines.iter().any(|d| d.info.rule == rule) {
            out.push(Event::DeadlineCleared { rule });
        }
    }
    for e in &main {
        out.extend(rule_deadlines(s, e, ctx));
    }
    out.extend(
        explicit
            .into_iter()
            .map(|d| Event::DeadlineSet(Box::new(d))),
    );
    out
}

/// `deadline_set` events that the rules start on event `e`.
pub fn rule_deadlines(s: &CaseState, e: &Event, ctx: &Ctx<'_>) -> Vec<Event> {
    let kind = e.kind();
    let t = tag(e);
    ctx.rules
        .rules
        .iter()
        .filter(|r| {
            r.start == kind
                && (r.when.is_empty() || t.is_some_and(|t| r.when.iter().any(|w| w == t)))
        })
        .map(|r| {
            Event::DeadlineSet(Box::new(compute_deadline(
                ctx,
                &r.id,
                &owner_of(s, e),
                r.length,
                r.unit,
                r.warn_before_hours,
                &r.ends,
            )))
        })
        .collect()
}

/// Deadline events for a newly received case (the `received` rules).
pub fn intake_deadlines(s: &CaseState, received: &Event, ctx: &Ctx<'_>) -> Vec<Event> {
    rule_deadlines(s, received, ctx)
}

/// What the sweeper decides at `now`: warnings for deadlines past their
/// warning time, overdue marks (raising supervision to the linked leader).
pub fn sweep(s: &CaseState, now: Millis, org: &OrgTree) -> Vec<Event> {
    let mut out = Vec::new();
    if !s.status.is_open() {
        return out;
    }
    for d in &s.deadlines {
        if !d.overdue && d.info.due_at <= now {
            if !d.warned {
                out.push(Event::DeadlineWarned {
                    rule: d.info.rule.clone(),
                });
            }
            out.push(Event::DeadlineOverdue {
                rule: d.info.rule.clone(),
                leader: s.owner.clone().or_else(|| linked_leader(org, s)),
            });
        } else if !d.warned && !d.overdue && d.info.warn_at <= now {
            out.push(Event::DeadlineWarned {
                rule: d.info.rule.clone(),
            });
        }
    }
    out
}

/// Who a notification is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recipient {
    /// The reporter, by the case's contact data.
    Resident,
    /// The handlers of a unit.
    Unit { code: String },
    /// One person (a leader).
    Person { login: String },
}

/// A notification intent: delivery is another component's job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub recipient: Recipient,
    /// Template key, e.g. `dispatched`.
    pub template: String,
    pub text_zh: String,
}

/// The notification intents of a step: the resident in plain Chinese for
/// every public step, the unit that must act next, and the leader concerned.
pub fn notifications(
    after: &CaseState,
    events: &[Event],
    unit_name: &dyn Fn(&str) -> String,
) -> Vec<Intent> {
    let mut out = Vec::new();
    let title = &after.intake.title;
    for e in events {
        if let Some((zh, _)) = e.public_text(unit_name) {
            out.push(Intent {
                recipient: Recipient::Resident,
                template: e.kind().into(),
                text_zh: format!("【诉求进展】“{title}”：{zh}"),
            });
        }
        let unit = |code: &str, what: &str| Intent {
            recipient: Recipient::Unit { code: code.into() },
            template: e.kind().into(),
            text_zh: format!("【{what}】“{title}”"),
        };
        let person = |login: &str, what: &str| Intent {
            recipient: Recipient::Person {
                login: login.into(),
            },
            template: e.kind().into(),
            text_zh: format!("【{what}】“{title}”"),
        };
        match e {
            Event::Received(i) => out.push(unit(&i.triage_unit, "新诉求待研判")),
            Event::ReportedToStreet { street, .. } => {
                out.push(unit(street, "村（社区）上报，待签收"))
            }
            Event::Dispatched {
                lead, cooperating, ..
            } => {
                out.push(unit(lead, "新派单，请当日接单并联系群众"));
                for c in cooperating {
                    out.push(unit(c, "协办通知"));
                }
            }
            Event::Returned { .. } => out.push(unit(&after.intake.street, "部门退单，请重新派单")),
            Event::CooperationReported { .. } => {
                if let Some(l) = &after.lead {
                    out.push(unit(l, "协办单位已反馈"));
                }
            }
            Event::LeaderDeadlineRequested {
                leader: Some(l), ..
            } => out.push(person(l, "请确定办理时限")),
            // 评单 goes back to whoever handled it (DOMAIN.md §3): the lead
            // department and the street that dispatched it, and the unit that
            // holds it now (the community that answered, or the one to act
            // again on an unsatisfied rating)
            Event::Rated { rating, .. } => {
                let what = match rating {
                    Rating::Unsatisfied => "群众不满意，请研究处理".to_string(),
                    r => format!("群众评价：{}", r.zh()),
                };
                let mut units: Vec<&str> = Vec::new();
                if let Some(lead) = &after.lead {
                    units.extend([lead.as_str(), after.intake.street.as_str()]);
                }
                units.push(&after.current_unit);
                let mut seen = std::collections::HashSet::new();
                for u in units
                    .into_iter()
                    .filter(|u| !u.is_empty() && seen.insert(*u))
                {
                    out.push(unit(u, &what));
                }
            }
            Event::Reopened { unit: u, .. } => out.push(unit(u, "重新办理")),
            Event::DeadlineWarned { rule } => {
                if let Some(d) = after.deadlines.iter().find(|d| &d.info.rule == rule) {
                    out.push(unit(&d.info.unit, "即将到期"));
                }
            }
            Event::DeadlineRecomputed {
                rule,
                due_at,
                was_due_at,
                ..
            } if due_at != was_due_at => {
                if let Some(d) = after.deadlines.iter().find(|d| &d.info.rule == rule) {
                    out.push(unit(&d.info.unit, "办理时限已按节假日安排调整"));
                }
            }
            Event::DeadlineOverdue { rule, leader } => {
                if let Some(d) = after.deadlines.iter().find(|d| &d.info.rule == rule) {
                    out.push(unit(&d.info.unit, "已超期"));
                }
                if let Some(l) = leader {
                    out.push(person(l, "超期待督办"));
                }
            }
            Event::UrgentSignalled { signals, leader } => {
                let what = format!("紧急诉求（{}），请立即处置", signals.join("、"));
                out.push(unit(&after.intake.triage_unit, &what));
                if let Some(l) = leader {
                    out.push(person(l, &what));
                }
            }
            Event::Supervised { .. } => out.push(unit(&after.current_unit, "领导督办")),
            Event::OwnershipTaken { .. } => out.push(unit(&after.current_unit, "领导包案")),
            _ => {}
        }
    }
    out
}
