//! Mainland China working-day calendar (工作日历).
//!
//! Weekends are rest days unless a State Council notice makes them make-up
//! working days (调休上班); listed holidays are rest days. The crate ships
//! the notices of 2019–2026 ([`OFFICIAL_DATA`]) and lets an administrator add
//! further years ([`Calendar::parse_year`], [`Calendar::add_year`]).
//!
//! Deadlines that examine a date the data does not cover are still computed,
//! with weekends and the fixed-date statutory holidays ([`FIXED_HOLIDAYS`]:
//! 元旦 1 Jan, 劳动节 1–2 May, 国庆 1–3 Oct, the same every year by the
//! national rules) as the only rest days, but are flagged
//! [`Deadline::provisional`]: the lunar holidays and make-up days come with
//! each year's notice, never silently guessed.
//!
//! The crate is pure: no clock, no file access (data comes in as `&str`).

mod data;
mod error;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

pub use data::{
    DayEntry, EntryKind, Notice, YearData, MAX_YEAR, MIN_YEAR, SPILL_FROM_DECEMBER_DAY,
};
pub use error::CalendarError;

use data::is_weekend;

/// The statutory holidays on fixed dates (全国年节及纪念日放假办法): known
/// for every year before its notice; the notice adds the bridging days and
/// the make-up working days around them.
pub const FIXED_HOLIDAYS: [(Month, u8); 6] = [
    (Month::January, 1),
    (Month::May, 1),
    (Month::May, 2),
    (Month::October, 1),
    (Month::October, 2),
    (Month::October, 3),
];

fn is_fixed_holiday(d: Date) -> bool {
    FIXED_HOLIDAYS
        .iter()
        .any(|(m, day)| d.month() == *m && d.day() == *day)
}

/// The first fixed-date holiday after `d`.
fn next_fixed_holiday(d: Date) -> Option<Date> {
    (d.year()..=d.year() + 1)
        .flat_map(|y| {
            FIXED_HOLIDAYS
                .iter()
                .filter_map(move |(m, day)| Date::from_calendar_date(y, *m, *day).ok())
        })
        .find(|x| *x > d)
}

/// Fixed-date holidays on Monday–Friday in `(a, b]`, `a <= b`.
fn fixed_weekday_holidays(a: Date, b: Date) -> i64 {
    if b <= a {
        return 0;
    }
    (a.year()..=b.year())
        .flat_map(|y| {
            FIXED_HOLIDAYS
                .iter()
                .filter_map(move |(m, day)| Date::from_calendar_date(y, *m, *day).ok())
        })
        .filter(|x| *x > a && *x <= b && !is_weekend(*x))
        .count() as i64
}

/// The built-in data (2019–2026), in the crate's own line format.
pub const OFFICIAL_DATA: &str = include_str!("../data/cn.days");

/// A computed deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The due date, serialized as `YYYY-MM-DD`.
    #[serde(with = "date_serde")]
    pub date: Date,
    /// True when a date the computation examined is not covered by the data
    /// (weekends were then taken as the only rest days), or when the result
    /// had to be clamped to the last representable date.
    pub provisional: bool,
}

/// A count of working days, see [`Calendar::working_days_between`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DayCount {
    pub days: i64,
    /// As for [`Deadline::provisional`].
    pub provisional: bool,
}

/// How a deadline's length is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    /// `length` working days after the start (工作日).
    Working,
    /// `length` calendar days after the start (自然日), no adjustment.
    Calendar,
    /// `length` calendar days after the start, then moved forward to the
    /// first working day if that day is a rest day; with `length == 0` this
    /// is "the same working day" (当日, or the next working day).
    SameWorkingDay,
}

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// An ordinary Monday–Friday.
    Workday,
    /// An ordinary Saturday or Sunday.
    Weekend,
    /// A listed holiday / rest day (any weekday).
    Holiday,
    /// A weekend day made a working day (调休上班).
    MakeUpWorkday,
}

impl DayKind {
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday)
    }
}

/// The status of one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayStatus {
    pub date: Date,
    pub kind: DayKind,
    /// True when the data does not cover the date (see [`Calendar::covers`]):
    /// `kind` is then only what is known so far (usually weekends-only).
    pub provisional: bool,
}

impl DayStatus {
    pub fn is_working(&self) -> bool {
        self.kind.is_working()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    kind: EntryKind,
    year: i32,
    name: String,
}

/// A working-day calendar: a set of years' holiday arrangements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    years: BTreeMap<i32, YearData>,
    days: BTreeMap<Date, Listed>,
    /// Outside `[lo, hi]` no date is listed and no year is covered, so the
    /// weekends-only rule holds and every date is provisional.
    bounds: Option<(Date, Date)>,
}

fn official_ref() -> &'static Calendar {
    static OFFICIAL: OnceLock<Calendar> = OnceLock::new();
    OFFICIAL.get_or_init(|| match Calendar::from_text(OFFICIAL_DATA) {
        Ok(c) => c,
        // The built-in data is checked by this crate's tests; this cannot
        // happen in a tested build.
        Err(e) => panic!("built-in calendar data is invalid: {e}"),
    })
}

/// [`Calendar::due`] on the built-in calendar.
pub fn due(start: Date, length: u32, unit: DayUnit) -> Deadline {
    official_ref().due(start, length, unit)
}

impl Calendar {
    /// A calendar without any data: every date is provisional.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in calendar, 2019–2026.
    pub fn official() -> Self {
        official_ref().clone()
    }

    /// A calendar from text holding any number of years (own format), or
    /// one year of holiday-cn JSON.
    pub fn from_text(text: &str) -> Result<Self, CalendarError> {
        let mut cal = Self::empty();
        for y in YearData::parse_many(text)? {
            cal.add_year(y)?;
        }
        Ok(cal)
    }

    /// Read one year's data, in the own line format or holiday-cn JSON.
    pub fn parse_year(text: &str) -> Result<YearData, CalendarError> {
        YearData::parse(text)
    }

    /// Add (or replace) one year's data. Fails, leaving the calendar
    /// unchanged, if the data is invalid or contradicts another year's data
    /// on a shared date.
    pub fn add_year(&mut self, data: YearData) -> Result<(), CalendarError> {
        data.validate()?;
        let mut years = self.years.clone();
        years.insert(data.year, data);
        let mut days: BTreeMap<Date, Listed> = BTreeMap::new();
        for (&year, yd) in &years {
            for e in &yd.days {
                if let Some(prev) = days.get(&e.date) {
                    if prev.kind != e.kind {
                        return Err(CalendarError::ConflictingYears {
                            date: e.date,
                            first: prev.year,
                            second: year,
                        });
                    }
                    continue;
                }
                days.insert(
                    e.date,
                    Listed {
                        kind: e.kind,
                        year,
                        name: e.name.clone(),
                    },
                );
            }
        }
        self.bounds = compute_bounds(&years, &days);
        self.years = years;
        self.days = days;
        Ok(())
    }

    /// The years whose data the calendar holds, ascending.
    pub fn years_covered(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// One year's data, if held.
    pub fn year_data(&self, year: i32) -> Option<&YearData> {
        self.years.get(&year)
    }

    /// Whether the data settles `date`: its year is held and, for a date
    /// from December 20 on, the following year too (a New Year's Day
    /// arrangement can reach back into late December).
    pub fn covers(&self, date: Date) -> bool {
        let y = date.year();
        if !self.years.contains_key(&y) {
            return false;
        }
        let late_december =
            date.month() == Month::December && date.day() >= SPILL_FROM_DECEMBER_DAY;
        !late_december || self.years.contains_key(&(y + 1))
    }

    /// The status of one date; never fails (see [`DayStatus::provisional`]).
    pub fn status(&self, date: Date) -> DayStatus {
        let kind = match self.days.get(&date).map(|l| l.kind) {
            Some(EntryKind::Off) => DayKind::Holiday,
            Some(EntryKind::Work) if is_weekend(date) => DayKind::MakeUpWorkday,
            Some(EntryKind::Work) => DayKind::Workday,
            None if is_weekend(date) => DayKind::Weekend,
            None if is_fixed_holiday(date) => DayKind::Holiday,
            None => DayKind::Workday,
        };
        DayStatus {
            date,
            kind,
            provisional: !self.covers(date),
        }
    }

    /// The festival a listed date belongs to (`春节`, …).
    pub fn holiday_name(&self, date: Date) -> Option<&str> {
        self.days.get(&date).map(|l| l.name.as_str())
    }

    /// Whether `date` is a working day; `Err(NotCovered)` when the data
    /// does not settle it (use [`Calendar::status`] for a best guess).
    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        let s = self.status(date);
        if s.provisional {
            Err(CalendarError::NotCovered { date })
        } else {
            Ok(s.is_working())
        }
    }

    /// The `n`-th working day after `start` (`start` itself not counted;
    /// `n == 0` gives `start`). Clamps to the last representable date,
    /// flagged provisional, if the count runs past it.
    pub fn add_working_days(&self, start: Date, n: u32) -> Deadline {
        let mut d = start;
        let mut remaining = i64::from(n);
        let mut provisional = false;
        while remaining > 0 {
            // Whole weeks in the weekends-only region: 5 working days each.
            let weeks = self.skippable_weeks(d, remaining);
            if weeks > 0 {
                if let Some(next) = add_days(d, weeks * 7) {
                    d = next;
                    remaining -= weeks * 5;
                    provisional = true;
                    continue;
                }
            }
            let Some(next) = d.next_day() else {
                return Deadline {
                    date: d,
                    provisional: true,
                };
            };
            d = next;
            let s = self.status(d);
            provisional |= s.provisional;
            if s.is_working() {
                remaining -= 1;
            }
        }
        Deadline {
            date: d,
            provisional,
        }
    }

    /// `start` plus `n` calendar days. Only clamping past the last
    /// representable date makes it provisional.
    pub fn add_calendar_days(&self, start: Date, n: u32) -> Deadline {
        match add_days(start, i64::from(n)) {
            Some(date) => Deadline {
                date,
                provisional: false,
            },
            None => Deadline {
                date: Date::MAX,
                provisional: true,
            },
        }
    }

    /// `date` itself if it is a working day, else the next working day.
    pub fn same_working_day(&self, date: Date) -> Deadline {
        let mut d = date;
        let mut provisional = false;
        loop {
            let s = self.status(d);
            provisional |= s.provisional;
            if s.is_working() {
                return Deadline {
                    date: d,
                    provisional,
                };
            }
            match d.next_day() {
                Some(n) => d = n,
                None => {
                    return Deadline {
                        date: d,
                        provisional: true,
                    }
                }
            }
        }
    }

    /// The number of working days in `(a, b]` (so
    /// `working_days_between(d, add_working_days(d, n).date).days == n`);
    /// negative, the count of `(b, a]`, when `b < a`.
    pub fn working_days_between(&self, a: Date, b: Date) -> DayCount {
        if b < a {
            let c = self.count_forward(b, a);
            DayCount {
                days: -c.days,
                provisional: c.provisional,
            }
        } else {
            self.count_forward(a, b)
        }
    }

    /// The deadline of a rule: `length` units counted from `start`.
    pub fn due(&self, start: Date, length: u32, unit: DayUnit) -> Deadline {
        match unit {
            DayUnit::Working => self.add_working_days(start, length),
            DayUnit::Calendar => self.add_calendar_days(start, length),
            DayUnit::SameWorkingDay => {
                let c = self.add_calendar_days(start, length);
                let s = self.same_working_day(c.date);
                Deadline {
                    date: s.date,
                    provisional: c.provisional || s.provisional,
                }
            }
        }
    }

    /// Working days in `(a, b]`, `a <= b`.
    fn count_forward(&self, a: Date, b: Date) -> DayCount {
        let mut cur = a;
        let mut days = 0i64;
        let mut provisional = false;
        while cur < b {
            let Some(next) = cur.next_day() else { break };
            match self.bounds {
                Some((lo, hi)) if next >= lo && next <= hi => {
                    let s = self.status(next);
                    provisional |= s.provisional;
                    if s.is_working() {
                        days += 1;
                    }
                    cur = next;
                }
                Some((lo, _)) if next < lo => {
                    // `lo > next > MIN`, so it has a previous day.
                    let end = lo.previous_day().map_or(b, |p| p.min(b));
                    days += weekdays_after_until(cur, end) - fixed_weekday_holidays(cur, end);
                    provisional = true;
                    cur = end;
                }
                _ => {
                    days += weekdays_after_until(cur, b) - fixed_weekday_holidays(cur, b);
                    provisional = true;
                    cur = b;
                }
            }
        }
        DayCount { days, provisional }
    }

    /// How many whole weeks after `d` can be skipped while staying in the
    /// weekends-only region and leaving at least one working day to count.
    fn skippable_weeks(&self, d: Date, remaining: i64) -> i64 {
        let wanted = (remaining - 1) / 5;
        if wanted <= 0 {
            return 0;
        }
        let room = match self.bounds {
            None => i64::MAX,
            Some((_, hi)) if d >= hi => i64::MAX,
            // (d, d + 7k] must stay before lo.
            Some((lo, _)) if d < lo => (days_between(d, lo) - 1) / 7,
            Some(_) => 0,
        };
        let to_max = days_between(d, Date::MAX) / 7;
        // (d, d + 7k] must stay before the next fixed-date holiday
        let to_fixed = next_fixed_holiday(d).map_or(i64::MAX, |f| (days_between(d, f) - 1) / 7);
        wanted.min(room).min(to_max).min(to_fixed)
    }
}

fn compute_bounds(
    years: &BTreeMap<i32, YearData>,
    days: &BTreeMap<Date, Listed>,
) -> Option<(Date, Date)> {
    let first_year = *years.keys().next()?;
    let last_year = *years.keys().next_back()?;
    let mut lo = Date::from_calendar_date(first_year, Month::January, 1).ok()?;
    let mut hi = Date::from_calendar_date(last_year, Month::December, 31).ok()?;
    if let Some((&d, _)) = days.iter().next() {
        lo = lo.min(d);
    }
    if let Some((&d, _)) = days.iter().next_back() {
        hi = hi.max(d);
    }
    Some((lo, hi))
}

fn add_days(d: Date, n: i64) -> Option<Date> {
    d.checked_add(Duration::days(n))
}

fn days_between(a: Date, b: Date) -> i64 {
    i64::from(b.to_julian_day()) - i64::from(a.to_julian_day())
}

/// Monday–Friday dates in `(a, b]`, `a <= b`.
fn weekdays_after_until(a: Date, b: Date) -> i64 {
    let n = days_between(a, b);
    if n <= 0 {
        return 0;
    }
    let full = n / 7;
    let rest = n % 7;
    let start = i64::from(a.weekday().number_days_from_monday());
    let extra = (1..=rest).filter(|i| (start + i) % 7 < 5).count();
    full * 5 + extra as i64
}

mod date_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::macros::format_description;
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s, format_description!("[year]-[month]-[day]"))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weekday_count_matches_naive() {
        let base = date!(2024 - 01 - 01);
        for s in 0..14 {
            for len in 0..40 {
                let a = base + Duration::days(s);
                let b = a + Duration::days(len);
                let mut naive = 0;
                let mut d = a;
                while d < b {
                    d = d.next_day().unwrap_or(d);
                    if !is_weekend(d) {
                        naive += 1;
                    }
                }
                assert_eq!(weekdays_after_until(a, b), naive, "{a}..{b}");
            }
        }
    }

    #[test]
    fn official_data_parses() {
        let cal = Calendar::from_text(OFFICIAL_DATA).unwrap();
        assert_eq!(cal.years_covered(), (2019..=2026).collect::<Vec<_>>());
        assert_eq!(
            cal.bounds,
            Some((date!(2018 - 12 - 29), date!(2026 - 12 - 31)))
        );
    }
}
