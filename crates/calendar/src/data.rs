//! One year's holiday arrangement, and the two text formats it is read from:
//! the crate's own line format (`data/cn.days`) and holiday-cn JSON.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Deserialize;
use time::macros::format_description;
use time::{Date, Month, Weekday};

use crate::CalendarError;

/// Smallest year a [`YearData`] may describe.
pub const MIN_YEAR: i32 = 1900;
/// Largest year a [`YearData`] may describe.
pub const MAX_YEAR: i32 = 9998;
/// A year's data may list dates from this day of the previous December on:
/// New Year's Day arrangements sometimes reach back into the old year
/// (e.g. 2018-12-29 was a make-up working day set by the 2019 notice).
pub const SPILL_FROM_DECEMBER_DAY: u8 = 20;
/// Longest range one `off`/`work` line may span, in days.
const MAX_RANGE_DAYS: i64 = 31;

/// Whether a listed day is a rest day or a make-up working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// A holiday or rest day (休), whatever its weekday.
    Off,
    /// A working day: on a Saturday or Sunday a make-up working day
    /// (调休上班); on a weekday it only confirms the day is worked (e.g.
    /// 2020-02-03, the first day back after the extended Spring Festival).
    Work,
}

impl EntryKind {
    fn keyword(self) -> &'static str {
        match self {
            EntryKind::Off => "off",
            EntryKind::Work => "work",
        }
    }
}

/// One listed date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEntry {
    pub date: Date,
    pub kind: EntryKind,
    /// The festival the arrangement belongs to, e.g. `春节`.
    pub name: String,
}

/// A State Council notice the data was typed from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notice {
    pub url: String,
    /// Empty when the source gave no title (holiday-cn JSON).
    pub title: String,
}

/// The holidays and make-up working days of one year, as set by that year's
/// notice(s).
///
/// Fields are public for building data in code;
/// [`Calendar::add_year`](crate::Calendar::add_year) validates them all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearData {
    pub year: i32,
    pub notices: Vec<Notice>,
    /// Listed days, in any order.
    pub days: Vec<DayEntry>,
}

impl YearData {
    /// Check the data: year in range, at least one day, every date in the
    /// year (or from December 20 of the year before), no date twice.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let year = self.year;
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(CalendarError::YearOutOfRange {
                year,
                min: MIN_YEAR,
                max: MAX_YEAR,
            });
        }
        if self.days.is_empty() {
            return Err(CalendarError::EmptyYear { year });
        }
        let mut seen = BTreeSet::new();
        for entry in &self.days {
            let date = entry.date;
            let in_year = date.year() == year;
            let spill = date.year() == year - 1
                && date.month() == Month::December
                && date.day() >= SPILL_FROM_DECEMBER_DAY;
            if !in_year && !spill {
                return Err(CalendarError::DateOutsideYear {
                    year,
                    date,
                    spill_from: SPILL_FROM_DECEMBER_DAY,
                });
            }
            if !seen.insert(date) {
                return Err(CalendarError::DuplicateDate { year, date });
            }
        }
        Ok(())
    }

    /// Read exactly one year, in either format: holiday-cn JSON (text
    /// starting with `{`) or the crate's own line format. The result is
    /// validated.
    pub fn parse(text: &str) -> Result<YearData, CalendarError> {
        let mut years = Self::parse_many(text)?;
        if years.len() != 1 {
            return Err(CalendarError::NotOneYear { found: years.len() });
        }
        match years.pop() {
            Some(y) => Ok(y),
            None => Err(CalendarError::NotOneYear { found: 0 }),
        }
    }

    /// Read any number of years (the own format allows several `year`
    /// blocks; JSON always holds one). Every year is validated.
    pub fn parse_many(text: &str) -> Result<Vec<YearData>, CalendarError> {
        let years = if text.trim_start().starts_with('{') {
            vec![parse_holiday_cn_json(text)?]
        } else {
            parse_own_format(text)?
        };
        for y in &years {
            y.validate()?;
        }
        Ok(years)
    }

    /// Write the data in the crate's own line format, consecutive dates of
    /// the same kind and name folded into ranges. `parse` reads it back.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "year {}", self.year);
        for n in &self.notices {
            let _ = if n.title.is_empty() {
                writeln!(out, "notice {}", n.url)
            } else {
                writeln!(out, "notice {} {}", n.url, n.title)
            };
        }
        let mut days: Vec<&DayEntry> = self.days.iter().collect();
        days.sort_by_key(|d| d.date);
        let mut i = 0;
        while i < days.len() {
            let first = days[i];
            let mut last = first;
            let mut j = i + 1;
            while j < days.len()
                && days[j].kind == first.kind
                && days[j].name == first.name
                && last.date.next_day() == Some(days[j].date)
            {
                last = days[j];
                j += 1;
            }
            let range = if last.date == first.date {
                format!("{}", first.date)
            } else {
                format!("{}..{}", first.date, last.date)
            };
            let _ = writeln!(
                out,
                "{:<4} {:<22} {}",
                first.kind.keyword(),
                range,
                first.name
            );
            i = j;
        }
        out
    }
}

pub(crate) fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn parse_date(s: &str) -> Option<Date> {
    let fmt = format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).ok()
}

fn syntax(line: usize, message: impl Into<String>) -> CalendarError {
    CalendarError::Syntax {
        line,
        message: message.into(),
    }
}

/// Split off the first whitespace-separated word; returns (word, rest trimmed).
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

fn parse_own_format(text: &str) -> Result<Vec<YearData>, CalendarError> {
    let mut years: Vec<YearData> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, rest) = split_word(line);
        match keyword {
            "year" => {
                let (num, extra) = split_word(rest);
                if !extra.is_empty() {
                    return Err(syntax(line_no, "`year` takes one number"));
                }
                let year: i32 = num
                    .parse()
                    .map_err(|_| syntax(line_no, format!("invalid year {num:?}")))?;
                years.push(YearData {
                    year,
                    notices: Vec::new(),
                    days: Vec::new(),
                });
            }
            "notice" => {
                let current = years
                    .last_mut()
                    .ok_or_else(|| syntax(line_no, "`notice` before any `year` line"))?;
                let (url, title) = split_word(rest);
                if url.is_empty() {
                    return Err(syntax(line_no, "`notice` needs a URL"));
                }
                current.notices.push(Notice {
                    url: url.to_string(),
                    title: title.to_string(),
                });
            }
            "off" | "work" => {
                let kind = if keyword == "off" {
                    EntryKind::Off
                } else {
                    EntryKind::Work
                };
                let current = years.last_mut().ok_or_else(|| {
                    syntax(line_no, format!("`{keyword}` before any `year` line"))
                })?;
                let (range, name) = split_word(rest);
                if name.is_empty() {
                    return Err(syntax(
                        line_no,
                        format!("`{keyword}` needs a holiday name after the date"),
                    ));
                }
                let (from_s, to_s) = range.split_once("..").unwrap_or((range, range));
                let from = parse_date(from_s).ok_or_else(|| {
                    syntax(
                        line_no,
                        format!("invalid date {from_s:?} (expected YYYY-MM-DD)"),
                    )
                })?;
                let to = parse_date(to_s).ok_or_else(|| {
                    syntax(
                        line_no,
                        format!("invalid date {to_s:?} (expected YYYY-MM-DD)"),
                    )
                })?;
                let span = (to - from).whole_days();
                if span < 0 {
                    return Err(syntax(
                        line_no,
                        format!("range {range} ends before it starts"),
                    ));
                }
                if span >= MAX_RANGE_DAYS {
                    return Err(syntax(
                        line_no,
                        format!("range {range} is longer than {MAX_RANGE_DAYS} days"),
                    ));
                }
                let mut d = from;
                loop {
                    current.days.push(DayEntry {
                        date: d,
                        kind,
                        name: name.to_string(),
                    });
                    if d >= to {
                        break;
                    }
                    match d.next_day() {
                        Some(n) => d = n,
                        None => break,
                    }
                }
            }
            other => {
                return Err(syntax(
                    line_no,
                    format!("unknown keyword {other:?} (expected year, notice, off or work)"),
                ))
            }
        }
    }
    Ok(years)
}

#[derive(Deserialize)]
struct HolidayCnFile {
    year: i32,
    #[serde(default)]
    papers: Vec<String>,
    days: Vec<HolidayCnDay>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HolidayCnDay {
    name: String,
    date: String,
    is_off_day: bool,
}

fn parse_holiday_cn_json(text: &str) -> Result<YearData, CalendarError> {
    let file: HolidayCnFile =
        serde_json::from_str(text).map_err(|e| CalendarError::Json(e.to_string()))?;
    let mut days = Vec::with_capacity(file.days.len());
    for d in file.days {
        let date = parse_date(&d.date).ok_or_else(|| {
            CalendarError::Json(format!("invalid date {:?} (expected YYYY-MM-DD)", d.date))
        })?;
        days.push(DayEntry {
            date,
            kind: if d.is_off_day {
                EntryKind::Off
            } else {
                EntryKind::Work
            },
            name: d.name,
        });
    }
    Ok(YearData {
        year: file.year,
        notices: file
            .papers
            .into_iter()
            .map(|url| Notice {
                url,
                title: String::new(),
            })
            .collect(),
        days,
    })
}
