//! Office hours (办公时间) of units, and where a deadline's count starts.
//!
//! DOMAIN.md §3's "the same day" (当日) is a working day the unit can act on:
//! a case that arrives after a unit has closed, or on a rest day, is counted
//! from the next working day, and the case says so ("非工作时间受理，按下一工作日计").
//! Hours are part of the deadline rules (stored, versioned, edited by
//! administrators): a default for every unit and overrides by unit code, which
//! apply to the unit and everything under it unless a nearer unit has its own.

use crate::org::OrgTree;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suqiu_calendar::{Calendar, DayUnit};
use time::{Date, Time};

/// When a unit opens and closes on a working day, China time, `"HH:MM"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub opens: String,
    pub closes: String,
}

impl Default for Hours {
    /// A county office's day: 08:30–17:30.
    fn default() -> Self {
        Hours {
            opens: "08:30".into(),
            closes: "17:30".into(),
        }
    }
}

/// The office hours of every unit: a default and overrides by unit code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeHours {
    #[serde(default)]
    pub default: Hours,
    /// Overrides by unit code (a 24-hour hotline: `opens = "00:00"`, `closes = "24:00"`).
    #[serde(default)]
    pub units: BTreeMap<String, Hours>,
}

/// Minutes after midnight of `"HH:MM"` (`"24:00"` is the end of the day).
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl Hours {
    /// `(opens, closes)` in minutes, when well formed and `opens < closes`.
    pub fn minutes(&self) -> Option<(u32, u32)> {
        let (o, c) = (parse_hhmm(&self.opens)?, parse_hhmm(&self.closes)?);
        (o < c).then_some((o, c))
    }
}

/// Where a deadline's count starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub date: Date,
    /// The case arrived outside the unit's office hours (after closing on a
    /// working day, or on a rest day) and is counted from the next working day.
    pub after_hours: bool,
}

impl OfficeHours {
    /// The hours of `unit`: its own, else its nearest ancestor's, else the default.
    pub fn of(&self, org: &OrgTree, unit: &str) -> &Hours {
        let mut cur = Some(unit);
        while let Some(code) = cur {
            if let Some(h) = self.units.get(code) {
                return h;
            }
            cur = org.unit(code).and_then(|u| u.parent.as_deref());
        }
        &self.default
    }

    /// Where a rule counted in `day_unit` starts for `unit` at local date and
    /// time `(date, time)`. Only "same working day" rules (当日) move: after
    /// closing time the count starts the next day (which the calendar then
    /// moves on to a working day); a rest day is flagged, its count already
    /// starts at the next working day. Working- and calendar-day rules count
    /// days *after* the start, so the time of arrival does not change them.
    pub fn start(
        &self,
        org: &OrgTree,
        calendar: &Calendar,
        unit: &str,
        day_unit: DayUnit,
        date: Date,
        time: Time,
    ) -> Start {
        let plain = Start {
            date,
            after_hours: false,
        };
        if day_unit != DayUnit::SameWorkingDay {
            return plain;
        }
        let Some((_, closes)) = self.of(org, unit).minutes() else {
            return plain;
        };
        let minute = u32::from(time.hour()) * 60 + u32::from(time.minute());
        if !calendar.status(date).is_working() {
            return Start {
                date,
                after_hours: true,
            };
        }
        if minute >= closes {
            return Start {
                date: date.next_day().unwrap_or(date),
                after_hours: true,
            };
        }
        plain
    }

    /// A problem with the hours, as (field, Chinese, English).
    pub fn problem(&self) -> Option<(String, String, String)> {
        let check = |field: String, h: &Hours| {
            if h.minutes().is_some() {
                None
            } else {
                Some((
                    field,
                    format!(
                        "办公时间 {}–{} 须为 HH:MM 格式，且开始早于结束",
                        h.opens, h.closes
                    ),
                    format!(
                        "office hours {}-{} must be HH:MM and open before they close",
                        h.opens, h.closes
                    ),
                ))
            }
        };
        check("office_hours.default".into(), &self.default).or_else(|| {
            self.units
                .iter()
                .find_map(|(code, h)| check(format!("office_hours.units.{code}"), h))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hhmm() {
        assert_eq!(parse_hhmm("08:30"), Some(510));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("8:30"), None);
        assert_eq!(parse_hhmm("12:60"), None);
        assert!(Hours {
            opens: "18:00".into(),
            closes: "09:00".into()
        }
        .minutes()
        .is_none());
    }
}
