//! The figures of DOMAIN.md §6 per unit and period, from the journal: for the
//! leaders' dashboard. Read-only; scoped like every list (a leader counts the
//! units linked to, the petition bureau the whole district).
//!
//! Per case received in the period (`from` ≤ received < `to`):
//! - the township/street it was filed in counts it as **received**;
//! - each department it was dispatched to as lead counts it as received too;
//! - **replied**: a reply was given (by that unit, for a department);
//! - **resolved**: replied or closed, and the last rating is not 不满意
//!   (for a department: what it replied to itself);
//! - **on time**: replied without any of that unit's deadlines going overdue first;
//! - **overdue**: a deadline owed by the unit went overdue;
//! - **returned**: the department returned it (退单);
//! - **rated** / **satisfied**: the last rating, and whether it was 满意
//!   (for a department: of what it replied to).
//!
//! A duplicate merged into another case (合并) is not a matter of its own: it is left
//! out of every figure and only counted in [`Stats::merged`].
//!
//! The district row counts each case once; it also says at which level the
//! replies were given (village/community, township/street, district department).

use crate::{cases::replay, App, Result, StaffUser};
use std::collections::BTreeMap;
use suqiu_domain::case::{Event, Millis, Status};
use suqiu_domain::workflow::Rating;
use suqiu_domain::Level;
use suqiu_store::CaseFilter;

/// The figures of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub received: u64,
    pub replied: u64,
    pub resolved: u64,
    pub on_time: u64,
    pub overdue: u64,
    pub returned: u64,
    pub rated: u64,
    pub satisfied: u64,
    /// Still open at the time of reading (backlog).
    pub open: u64,
}

/// One unit's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFigures {
    pub unit: String,
    pub name: String,
    pub level: Level,
    pub figures: Figures,
}

/// Statistics of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub from: Millis,
    pub to: Millis,
    /// Streets and departments, by code.
    pub units: Vec<UnitFigures>,
    /// Every case in scope once.
    pub total: Figures,
    /// Replies given at the village/community, township/street and district level.
    pub settled_community: u64,
    pub settled_street: u64,
    pub settled_district: u64,
    /// Duplicates merged into another case (not counted as received).
    pub merged: u64,
}

/// At most this many cases are read for one period (the dashboard says so when reached).
pub const MAX_CASES: usize = 200_000;
const PAGE: u32 = 2_000;

#[derive(Default)]
struct CaseFacts {
    replied_by: Vec<String>,
    overdue_units: Vec<String>,
    /// (unit, time) of the first overdue of a unit's deadline
    first_overdue: BTreeMap<String, Millis>,
    /// (unit, time) of the unit's first reply
    first_reply: BTreeMap<String, Millis>,
    returned_by: Vec<String>,
    leads: Vec<String>,
    last_rating: Option<Rating>,
}

impl App {
    /// The figures of the cases received in `[from, to)` that `user` may see.
    pub async fn stats(&self, user: &StaffUser, from: Millis, to: Millis) -> Result<Stats> {
        let org = self.org();
        let mut rows = Vec::new();
        let mut before = None;
        loop {
            let filter = CaseFilter {
                from: Some(from),
                to: Some(to),
                before_id: before,
                limit: PAGE,
                ..Default::default()
            };
            let page = self.list_cases(user, None, filter).await?;
            let n = page.len();
            before = page.last().map(|r| r.id);
            rows.extend(page);
            if n < PAGE as usize || rows.len() >= MAX_CASES {
                break;
            }
        }
        rows.sort_by_key(|r| r.id);
        let mut units: BTreeMap<String, Figures> = BTreeMap::new();
        let mut total = Figures::default();
        let (mut settled_community, mut settled_street, mut settled_district) = (0, 0, 0);
        let mut merged = 0;
        for chunk in rows.chunks(500) {
            let events = self
                .store()
                .events_of(chunk.iter().map(|r| r.id).collect())
                .await?;
            for (_row, evs) in crate::cases::journals(chunk, &events) {
                let state = replay(evs)?;
                if state.merged_into.is_some() {
                    merged += 1;
                    continue;
                }
                let mut f = CaseFacts::default();
                let mut rule_unit: BTreeMap<String, String> = BTreeMap::new();
                for e in evs {
                    match &e.event {
                        Event::DeadlineSet(d) => {
                            rule_unit.insert(d.rule.clone(), d.unit.clone());
                        }
                        Event::DeadlineOverdue { rule, .. } => {
                            if let Some(u) = rule_unit.get(rule) {
                                f.overdue_units.push(u.clone());
                                f.first_overdue.entry(u.clone()).or_insert(e.at);
                            }
                        }
                        Event::Replied { unit, .. } => {
                            f.replied_by.push(unit.clone());
                            f.first_reply.entry(unit.clone()).or_insert(e.at);
                        }
                        Event::Returned { unit, .. } => f.returned_by.push(unit.clone()),
                        Event::Dispatched { lead, .. } => f.leads.push(lead.clone()),
                        Event::Rated { rating, .. } => f.last_rating = Some(*rating),
                        _ => {}
                    }
                }
                let rated_ok = f.last_rating != Some(Rating::Unsatisfied);
                let replied = !f.replied_by.is_empty();
                let resolved = (replied || state.status == Status::Closed)
                    && rated_ok
                    && state.status != Status::Unsatisfied;
                let on_time_for = |u: Option<&str>| -> bool {
                    match u {
                        None => {
                            replied
                                && f.first_overdue.values().min().is_none_or(|o| {
                                    f.first_reply.values().min().is_some_and(|r| r <= o)
                                })
                        }
                        Some(u) => f
                            .first_reply
                            .get(u)
                            .is_some_and(|r| f.first_overdue.get(u).is_none_or(|o| r <= o)),
                    }
                };
                let count = |fig: &mut Figures, unit: Option<&str>| {
                    fig.received += 1;
                    let replied_here = match unit {
                        None => replied,
                        Some(u) => f.replied_by.iter().any(|x| x == u),
                    };
                    if replied_here {
                        fig.replied += 1;
                    }
                    // a department is credited with what it answered itself
                    if resolved && (unit.is_none() || replied_here) {
                        fig.resolved += 1;
                    }
                    if on_time_for(unit) {
                        fig.on_time += 1;
                    }
                    let overdue = match unit {
                        None => !f.overdue_units.is_empty(),
                        Some(u) => f.overdue_units.iter().any(|x| x == u),
                    };
                    if overdue {
                        fig.overdue += 1;
                    }
                    let returned = match unit {
                        None => !f.returned_by.is_empty(),
                        Some(u) => f.returned_by.iter().any(|x| x == u),
                    };
                    if returned {
                        fig.returned += 1;
                    }
                    if let Some(r) = f.last_rating.filter(|_| unit.is_none() || replied_here) {
                        fig.rated += 1;
                        if r == Rating::Satisfied {
                            fig.satisfied += 1;
                        }
                    }
                    if state.status.is_open() {
                        fig.open += 1;
                    }
                };
                count(&mut total, None);
                let street = state.intake.street.clone();
                if !street.is_empty() {
                    // a street answers for everything filed in it, whoever replied
                    count(units.entry(street).or_default(), None);
                }
                let mut leads = f.leads.clone();
                leads.sort();
                leads.dedup();
                for d in leads {
                    count(units.entry(d.clone()).or_default(), Some(d.as_str()));
                }
                if let Some(u) = f.replied_by.last() {
                    match org.unit(u).map(|x| x.level) {
                        Some(Level::Community) => settled_community += 1,
                        Some(Level::Street) => settled_street += 1,
                        Some(Level::Department) | Some(Level::District) => settled_district += 1,
                        _ => {}
                    }
                }
            }
        }
        let units = units
            .into_iter()
            .map(|(code, figures)| {
                let u = org.unit(&code);
                UnitFigures {
                    name: u.map(|u| u.name.clone()).unwrap_or_else(|| code.clone()),
                    level: u.map(|u| u.level).unwrap_or(Level::Street),
                    unit: code,
                    figures,
                }
            })
            .collect();
        Ok(Stats {
            from,
            to,
            units,
            total,
            settled_community,
            settled_street,
            settled_district,
            merged,
        })
    }
}
