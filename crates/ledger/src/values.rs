//! Values of ledger cells: dates, satisfaction, placeholders.

use serde::{Deserialize, Serialize};
use std::fmt;
use suqiu_domain::case::Rating;
use time::{Date, Duration, Month, PrimitiveDateTime, Time, UtcOffset};

/// When a matter was received: a date, and the time of day when the ledger gives one.
/// Serialised as text: `2024-03-05` or `2024-03-05 14:20` (`:SS` when not zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ReceivedAt {
    pub date: Date,
    pub time: Option<Time>,
}

/// Largest serial Excel accepts (9999-12-31).
const MAX_SERIAL: f64 = 2_958_465.0;

impl ReceivedAt {
    /// Text as ledgers write it: `2024-03-05`, `2024/3/5 14:20`, `2024.3.5`,
    /// `2024年3月5日`, `2024年3月5日14时20分`, `20240305`, `2024-03-05T14:20:00`.
    pub fn parse(s: &str) -> Option<ReceivedAt> {
        let s: String = s.trim().chars().map(crate::mapping::half_width).collect();
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        // split date from time: at the first whitespace or 'T', or right after 日
        let (date_part, time_part) = if let Some(i) = s.find('日') {
            (&s[..i], s[i + '日'.len_utf8()..].trim())
        } else if let Some(i) = s.find([' ', 'T', 't']) {
            (&s[..i], s[i + 1..].trim())
        } else {
            (s, "")
        };
        let date = parse_date(date_part.trim())?;
        let time = if time_part.is_empty() {
            None
        } else {
            Some(parse_time(time_part)?)
        };
        Some(ReceivedAt { date, time })
    }

    /// An Excel serial date (1900 date system): whole days since 1899-12-30, the
    /// fraction is the time of day.
    pub fn from_excel_serial(v: f64) -> Option<ReceivedAt> {
        if !v.is_finite() || !(1.0..MAX_SERIAL + 1.0).contains(&v) {
            return None;
        }
        let days = v.floor();
        let mut secs = ((v - days) * 86_400.0).round() as i64;
        let mut days = days as i64;
        if secs >= 86_400 {
            days += 1;
            secs -= 86_400;
        }
        // Excel counts a 1900-02-29 that never was: serials below 60 are one day later
        let base = if days < 60 {
            Date::from_calendar_date(1899, Month::December, 31).ok()?
        } else {
            Date::from_calendar_date(1899, Month::December, 30).ok()?
        };
        if days == 60 {
            return None;
        }
        let date = base.checked_add(Duration::days(days))?;
        let time = if secs == 0 {
            None
        } else {
            Some(
                Time::from_hms(
                    (secs / 3600) as u8,
                    (secs / 60 % 60) as u8,
                    (secs % 60) as u8,
                )
                .ok()?,
            )
        };
        Some(ReceivedAt { date, time })
    }

    /// The Excel serial of this date and time (inverse of [`Self::from_excel_serial`]).
    pub fn to_excel_serial(&self) -> f64 {
        let base = Date::from_calendar_date(1899, Month::December, 30).unwrap_or(Date::MIN);
        let mut days = (self.date - base).whole_days();
        if days < 61 {
            days -= 1;
        }
        let secs = self
            .time
            .map(|t| {
                i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
            })
            .unwrap_or(0);
        days as f64 + secs as f64 / 86_400.0
    }

    /// Milliseconds since the Unix epoch, reading the ledger's wall clock at the
    /// given UTC offset (China: +8); a date without time is taken at midnight.
    pub fn to_millis(&self, offset: UtcOffset) -> i64 {
        let dt = PrimitiveDateTime::new(self.date, self.time.unwrap_or(Time::MIDNIGHT))
            .assume_offset(offset);
        (dt.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// [`Self::to_millis`] at China Standard Time (UTC+8).
    pub fn to_millis_china(&self) -> i64 {
        self.to_millis(UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC))
    }
}

fn parse_date(s: &str) -> Option<Date> {
    let nums: Vec<&str> = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        vec![&s[..4], &s[4..6], &s[6..]]
    } else {
        let parts: Vec<&str> = s.split(['-', '/', '.', '年', '月']).collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        parts
    };
    if nums.len() != 3 || nums[0].len() != 4 || nums[1].len() > 2 || nums[2].len() > 2 {
        return None;
    }
    let y: i32 = nums[0].parse().ok()?;
    let m: u8 = nums[1].parse().ok()?;
    let d: u8 = nums[2].parse().ok()?;
    if !(1900..=2100).contains(&y) {
        return None;
    }
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim_end_matches(['秒', '分', '时', '点']);
    let parts: Vec<&str> = s.split([':', '时', '点', '分']).collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        // seconds may carry a fraction: 14:20:00.000
        if parts.len() == 3 {
            if let Some((sec, frac)) = parts[2].split_once('.') {
                if frac.bytes().all(|b| b.is_ascii_digit()) {
                    return parse_time(&format!("{}:{}:{}", parts[0], parts[1], sec));
                }
            }
        }
        return None;
    }
    let n = |i: usize| -> Option<u8> { parts.get(i).map_or(Some(0), |p| p.parse().ok()) };
    Time::from_hms(n(0)?, n(1)?, n(2)?).ok()
}

impl fmt::Display for ReceivedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.date;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )?;
        if let Some(t) = self.time {
            write!(f, " {:02}:{:02}", t.hour(), t.minute())?;
            if t.second() != 0 {
                write!(f, ":{:02}", t.second())?;
            }
        }
        Ok(())
    }
}

impl From<ReceivedAt> for String {
    fn from(r: ReceivedAt) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for ReceivedAt {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ReceivedAt::parse(&s).ok_or_else(|| format!("not a date: {s}"))
    }
}

/// 满意度 as ledgers record it (four grades; [`Satisfaction::rating`] maps them to
/// the three of the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Average,
    Unsatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 4] = [
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Average,
        Satisfaction::Unsatisfied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Average => "average",
            Satisfaction::Unsatisfied => "unsatisfied",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::BasicallySatisfied => "基本满意",
            Satisfaction::Average => "一般",
            Satisfaction::Unsatisfied => "不满意",
        }
    }

    /// `Ok(None)` for "not rated" (未评价, 未回访, 无 …), `Err(())` for an unknown value.
    #[allow(clippy::result_unit_err)]
    pub fn parse(s: &str) -> Result<Option<Satisfaction>, ()> {
        let v = crate::mapping::normalize_value(s);
        let r = match v.as_str() {
            "" | "未评价" | "未回访" | "未回复" | "无法联系" | "联系不上" | "未接通" => {
                None
            }
            "满意" | "非常满意" | "很满意" | "satisfied" => Some(Satisfaction::Satisfied),
            "基本满意" | "比较满意" | "较满意" | "basically_satisfied" => {
                Some(Satisfaction::BasicallySatisfied)
            }
            "一般" | "average" => Some(Satisfaction::Average),
            "不满意" | "很不满意" | "非常不满意" | "unsatisfied" => {
                Some(Satisfaction::Unsatisfied)
            }
            _ => return Err(()),
        };
        Ok(r)
    }

    /// The app's three grades: 基本满意 counts as satisfied (as in the 满意率 of
    /// 12345 assessments).
    pub fn rating(self) -> Rating {
        match self {
            Satisfaction::Satisfied | Satisfaction::BasicallySatisfied => Rating::Satisfied,
            Satisfaction::Average => Rating::Average,
            Satisfaction::Unsatisfied => Rating::Unsatisfied,
        }
    }
}

/// Cells that ledgers fill to say "nothing here".
pub fn is_placeholder(s: &str) -> bool {
    matches!(
        s.trim(),
        "" | "/" | "／" | "-" | "－" | "—" | "——" | "无" | "暂无" | "空"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> String {
        ReceivedAt::parse(s)
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn text_dates() {
        assert_eq!(at("2024-03-05"), "2024-03-05");
        assert_eq!(at("2024/3/5 14:20"), "2024-03-05 14:20");
        assert_eq!(at("2024年3月5日"), "2024-03-05");
        assert_eq!(at("2024年3月5日 14时20分"), "2024-03-05 14:20");
        assert_eq!(at("2024年3月5日14:20:07"), "2024-03-05 14:20:07");
        assert_eq!(at("2024.03.05"), "2024-03-05");
        assert_eq!(at("20240305"), "2024-03-05");
        assert_eq!(at("2024-03-05T14:20:00"), "2024-03-05 14:20");
        assert_eq!(at("2024-03-05 14:20:00.000"), "2024-03-05 14:20");
        assert_eq!(at("２０２４－０３－０５"), "2024-03-05");
        for bad in [
            "2024-02-30",
            "2024-13-01",
            "3/5/2024",
            "2024-03",
            "昨天",
            "2024-03-05 25:00",
            "24-3-5",
            "2024--03-05",
        ] {
            assert_eq!(ReceivedAt::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn excel_serials() {
        let r = ReceivedAt::from_excel_serial(45356.0).unwrap();
        assert_eq!(r.to_string(), "2024-03-05");
        let r = ReceivedAt::from_excel_serial(45356.0 + (14.0 * 60.0 + 20.0) / 1440.0).unwrap();
        assert_eq!(r.to_string(), "2024-03-05 14:20");
        assert_eq!(r.to_excel_serial(), 45356.0 + (14.0 * 60.0 + 20.0) / 1440.0);
        assert_eq!(
            ReceivedAt::from_excel_serial(1.0).unwrap().to_string(),
            "1900-01-01"
        );
        assert_eq!(
            ReceivedAt::from_excel_serial(61.0).unwrap().to_string(),
            "1900-03-01"
        );
        assert_eq!(ReceivedAt::from_excel_serial(60.0), None);
        assert_eq!(ReceivedAt::from_excel_serial(0.5), None);
        assert_eq!(ReceivedAt::from_excel_serial(f64::NAN), None);
        // a time that rounds up to midnight is the next day
        let r = ReceivedAt::from_excel_serial(45_356.999_999_9).unwrap();
        assert_eq!(r.to_string(), "2024-03-06");
    }

    #[test]
    fn millis_at_china_time() {
        let r = ReceivedAt::parse("1970-01-01 08:00").unwrap();
        assert_eq!(r.to_millis_china(), 0);
        let r = ReceivedAt::parse("2024-03-05").unwrap();
        assert_eq!(r.to_millis_china(), 1_709_568_000_000);
    }

    #[test]
    fn serde_as_text() {
        let r = ReceivedAt::parse("2024/3/5 9:05").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"2024-03-05 09:05\"");
        let back: ReceivedAt = serde_json::from_str("\"2024-03-05 09:05\"").unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn satisfaction() {
        assert_eq!(
            Satisfaction::parse("满意"),
            Ok(Some(Satisfaction::Satisfied))
        );
        assert_eq!(
            Satisfaction::parse(" 基本满意 "),
            Ok(Some(Satisfaction::BasicallySatisfied))
        );
        assert_eq!(Satisfaction::parse("一般"), Ok(Some(Satisfaction::Average)));
        assert_eq!(
            Satisfaction::parse("不满意"),
            Ok(Some(Satisfaction::Unsatisfied))
        );
        assert_eq!(Satisfaction::parse("未回访"), Ok(None));
        assert_eq!(Satisfaction::parse("还行吧"), Err(()));
        for s in Satisfaction::ALL {
            assert_eq!(Satisfaction::parse(s.zh()), Ok(Some(s)));
            assert_eq!(Satisfaction::parse(s.as_str()), Ok(Some(s)));
        }
        assert_eq!(Satisfaction::BasicallySatisfied.rating(), Rating::Satisfied);
    }
}
