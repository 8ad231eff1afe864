//! HTML building blocks: the languages, times in China, numbers. Markup is
//! built only by `maud::html!` templates, which escape whatever they
//! interpolate; there is no way to put unescaped text into a page.

use std::fmt::Write as _;
use suqiu_domain::case::Millis;

/// Percent-encodes a query parameter value.
pub fn url(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The language of a page: one of the message catalogue's languages
/// (Simplified Chinese, the source, first; English second; any other is a
/// directory of `.ftl` files in `crates/i18n/locales`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(suqiu_i18n::LocaleId);

#[allow(non_upper_case_globals)] // read like the variants of an enum
impl Lang {
    /// Simplified Chinese, the source language.
    pub const Zh: Lang = Lang(0);
    /// English, always the second language of the catalogue.
    pub const En: Lang = Lang(1);

    /// The language of a `lang=` value or cookie (`zh`, `en`, `zh-CN`, …).
    pub fn parse(code: &str) -> Option<Lang> {
        suqiu_i18n::catalog().find(code).map(Lang)
    }

    /// Every language of the catalogue, the source first.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..suqiu_i18n::catalog().locales().len()).map(Lang)
    }

    /// The text of a catalogue message in this language.
    pub fn tr(self, key: &str) -> &str {
        suqiu_i18n::catalog().get(self.0, key)
    }

    /// A catalogue message with variables.
    pub fn fmt(self, key: &str, args: &[(&str, suqiu_i18n::Arg)]) -> String {
        suqiu_i18n::catalog().format(self.0, key, args)
    }

    /// Picks one of two texts that come as data in both languages (the
    /// deadline rules' parse errors, which the domain gives in Chinese and
    /// English): Chinese, or English for every other language. Text the
    /// pages write themselves is always a catalogue message.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        if self == Lang::Zh {
            zh
        } else {
            en
        }
    }

    /// The value of `lang=` and of the language cookie.
    pub fn code(self) -> &'static str {
        if self == Lang::Zh {
            "zh"
        } else {
            suqiu_i18n::catalog().code(self.0)
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        suqiu_i18n::catalog()
            .locales()
            .get(self.0)
            .map_or("中文", |l| l.name())
    }

    /// `<html lang>`: `zh-CN`, `en`, …
    pub fn html_lang(self) -> &'static str {
        suqiu_i18n::catalog().code(self.0)
    }
}

const CST: time::UtcOffset = match time::UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => time::UtcOffset::UTC,
};

fn cst(ms: Millis) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(|t| t.to_offset(CST))
}

/// `2026-11-23 09:30` in China time.
pub fn when(ms: Millis) -> String {
    match cst(ms) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        None => String::new(),
    }
}

/// `2026-11-23` in China time.
pub fn day(ms: Millis) -> String {
    match cst(ms) {
        Some(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        None => String::new(),
    }
}

/// A due time in words: deadlines end at midnight, shown as "by the end of" that day.
pub fn due(lang: Lang, ms: Millis) -> String {
    if when(ms).ends_with(" 00:00") {
        let d = day(ms - 1);
        tf!(lang, "by-the-end-of", d = d)
    } else {
        when(ms)
    }
}

/// Parses `YYYY-MM-DD` as the start of that day in China.
pub fn parse_day(s: &str) -> Option<Millis> {
    let mut it = s.trim().split('-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    let t = date.midnight().assume_offset(CST);
    Some((t.unix_timestamp_nanos() / 1_000_000) as Millis)
}

/// Start of the China day containing `ms`.
pub fn start_of_day(ms: Millis) -> Millis {
    parse_day(&day(ms)).unwrap_or(ms)
}

/// A percentage with one decimal, or a dash when the denominator is 0.
pub fn pct(num: u64, den: u64) -> String {
    if den == 0 {
        "—".into()
    } else {
        format!("{:.1}%", num as f64 * 100.0 / den as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_percent_encoded() {
        assert_eq!(url("a b&c/中"), "a%20b%26c%2F%E4%B8%AD");
    }

    #[test]
    fn china_days_round_trip() {
        // 2026-11-23 09:00 +08:00
        let t0 = 1_795_395_600_000;
        assert_eq!(when(t0), "2026-11-23 09:00");
        assert_eq!(day(t0), "2026-11-23");
        let start = parse_day("2026-11-23").unwrap();
        assert_eq!(t0 - start, 9 * 3600 * 1000);
        assert_eq!(start_of_day(t0), start);
        assert!(parse_day("2026-13-01").is_none());
        assert!(parse_day("x").is_none());
        assert_eq!(
            due(Lang::Zh, start + 24 * 3600 * 1000),
            "2026-11-23 24:00 前"
        );
        assert_eq!(due(Lang::En, t0), "2026-11-23 09:00");
        assert_eq!(pct(1, 3), "33.3%");
        assert_eq!(pct(1, 0), "—");
    }
}
