//! Known cases of the built-in calendar, the cross-check against the
//! holiday-cn files in `shared/`, and the year-data parser.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use suqiu_calendar::{
    due, Calendar, CalendarError, DayCount, DayKind, DayUnit, Deadline, EntryKind, YearData,
    OFFICIAL_DATA,
};
use time::macros::{date, format_description};
use time::{Date, Weekday};

fn dl(date: Date, provisional: bool) -> Deadline {
    Deadline { date, provisional }
}

#[test]
fn covers_2019_to_2026() {
    let cal = Calendar::official();
    assert_eq!(cal.years_covered(), (2019..=2026).collect::<Vec<_>>());
    for y in 2019..=2026 {
        let data = cal.year_data(y).unwrap();
        assert!(!data.notices.is_empty(), "{y} has no notice");
        for n in &data.notices {
            assert!(n.url.starts_with("http"), "{y}: {}", n.url);
            assert!(n.title.contains(&format!("{y}年")), "{y}: {}", n.title);
        }
    }
}

#[test]
fn sunday_make_up_day_2024_02_04() {
    let cal = Calendar::official();
    let d = date!(2024 - 02 - 04);
    assert_eq!(d.weekday(), Weekday::Sunday);
    assert_eq!(cal.is_working_day(d), Ok(true));
    let s = cal.status(d);
    assert_eq!(s.kind, DayKind::MakeUpWorkday);
    assert!(!s.provisional);
    assert_eq!(cal.holiday_name(d), Some("春节"));
    // An ordinary Sunday the week before is a rest day.
    assert_eq!(cal.is_working_day(date!(2024 - 01 - 28)), Ok(false));
    assert_eq!(cal.status(date!(2024 - 01 - 28)).kind, DayKind::Weekend);
}

#[test]
fn spring_festival_2025() {
    let cal = Calendar::official();
    // 1月28日（除夕）至2月4日放假调休，共8天；1月26日（周日）、2月8日（周六）上班。
    let mut d = date!(2025 - 01 - 28);
    while d <= date!(2025 - 02 - 04) {
        assert_eq!(cal.is_working_day(d), Ok(false), "{d}");
        assert_eq!(cal.status(d).kind, DayKind::Holiday, "{d}");
        d = d.next_day().unwrap();
    }
    assert_eq!(cal.is_working_day(date!(2025 - 01 - 26)), Ok(true));
    assert_eq!(cal.is_working_day(date!(2025 - 01 - 27)), Ok(true));
    assert_eq!(cal.status(date!(2025 - 01 - 27)).kind, DayKind::Workday);
    assert_eq!(cal.is_working_day(date!(2025 - 02 - 05)), Ok(true));
    assert_eq!(cal.is_working_day(date!(2025 - 02 - 08)), Ok(true));
    assert_eq!(cal.is_working_day(date!(2025 - 02 - 09)), Ok(false));

    // Friday 2025-01-24: next working day is the make-up Sunday.
    let start = date!(2025 - 01 - 24);
    assert_eq!(
        cal.add_working_days(start, 1),
        dl(date!(2025 - 01 - 26), false)
    );
    assert_eq!(
        cal.add_working_days(start, 2),
        dl(date!(2025 - 01 - 27), false)
    );
    assert_eq!(
        cal.add_working_days(start, 3),
        dl(date!(2025 - 02 - 05), false)
    );
    assert_eq!(
        cal.add_working_days(start, 6),
        dl(date!(2025 - 02 - 08), false)
    );
    assert_eq!(
        cal.add_working_days(start, 7),
        dl(date!(2025 - 02 - 10), false)
    );
}

#[test]
fn national_day_2026_with_make_up_saturday() {
    let cal = Calendar::official();
    // 10月1日至7日放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
    for day in 1..=7 {
        let d = Date::from_calendar_date(2026, time::Month::October, day).unwrap();
        assert_eq!(cal.is_working_day(d), Ok(false), "{d}");
        assert_eq!(cal.holiday_name(d), Some("国庆节"));
    }
    let sat = date!(2026 - 10 - 10);
    assert_eq!(sat.weekday(), Weekday::Saturday);
    assert_eq!(cal.is_working_day(sat), Ok(true));
    assert_eq!(cal.is_working_day(date!(2026 - 09 - 20)), Ok(true));
    assert_eq!(cal.is_working_day(date!(2026 - 10 - 11)), Ok(false));
    // Mid-Autumn 2026 is its own holiday, 9月25日至27日.
    assert_eq!(cal.is_working_day(date!(2026 - 09 - 25)), Ok(false));
}

#[test]
fn add_working_days_across_national_day_2026() {
    let cal = Calendar::official();
    let start = date!(2026 - 09 - 30); // Wednesday, a working day
    assert_eq!(cal.add_working_days(start, 0), dl(start, false));
    assert_eq!(
        cal.add_working_days(start, 1),
        dl(date!(2026 - 10 - 08), false)
    );
    assert_eq!(
        cal.add_working_days(start, 2),
        dl(date!(2026 - 10 - 09), false)
    );
    // The make-up Saturday counts.
    assert_eq!(
        cal.add_working_days(start, 3),
        dl(date!(2026 - 10 - 10), false)
    );
    assert_eq!(
        cal.add_working_days(start, 4),
        dl(date!(2026 - 10 - 12), false)
    );
    assert_eq!(
        cal.working_days_between(start, date!(2026 - 10 - 12)),
        DayCount {
            days: 4,
            provisional: false
        }
    );
    assert_eq!(
        cal.working_days_between(date!(2026 - 10 - 12), start),
        DayCount {
            days: -4,
            provisional: false
        }
    );
    // 15 working days from National Day 2024's eve: 10-08..11 (4), make-up
    // Saturday 10-12 (5), 10-14..18 (10), 10-21..25 (15).
    assert_eq!(
        cal.add_working_days(date!(2024 - 09 - 30), 15),
        dl(date!(2024 - 10 - 25), false)
    );
}

#[test]
fn deadline_into_2027_is_provisional() {
    let cal = Calendar::official();
    // Entirely inside 2026 data, before late December: exact.
    assert_eq!(
        cal.add_working_days(date!(2026 - 11 - 30), 10),
        dl(date!(2026 - 12 - 14), false)
    );
    // Runs into January 2027: weekends and the fixed-date holidays (元旦
    // 2027-01-01, a Friday, is known without the 2027 notice), flagged.
    let d = cal.add_working_days(date!(2026 - 12 - 28), 5);
    assert_eq!(d, dl(date!(2027 - 01 - 05), true));
    for fixed in [
        date!(2027 - 01 - 01),
        date!(2027 - 05 - 01),
        date!(2027 - 05 - 02),
        date!(2027 - 10 - 01),
        date!(2027 - 10 - 02),
        date!(2027 - 10 - 03),
        date!(2031 - 05 - 01),
    ] {
        let s = cal.status(fixed);
        assert!(!s.is_working(), "{fixed}: a rest day");
        assert!(s.provisional, "{fixed}: the notice may add bridging days");
    }
    assert_eq!(cal.status(date!(2027 - 01 - 01)).kind, DayKind::Holiday);
    assert_eq!(cal.status(date!(2027 - 05 - 03)).kind, DayKind::Workday);
    // Late December 2026 may still be changed by the (missing) 2027 notice.
    assert_eq!(
        cal.add_working_days(date!(2026 - 12 - 17), 2),
        dl(date!(2026 - 12 - 21), true)
    );
    assert!(cal.covers(date!(2026 - 12 - 19)));
    assert!(!cal.covers(date!(2026 - 12 - 20)));
    assert_eq!(
        cal.is_working_day(date!(2027 - 03 - 01)),
        Err(CalendarError::NotCovered {
            date: date!(2027 - 03 - 01)
        })
    );
    let s = cal.status(date!(2027 - 03 - 01));
    assert!(s.provisional && s.is_working());
    // Spill-over facts before the first covered year are used, but flagged.
    let s = cal.status(date!(2018 - 12 - 29));
    assert_eq!(s.kind, DayKind::MakeUpWorkday);
    assert!(s.provisional);
    // Calendar days are exact, data or not.
    assert_eq!(
        cal.add_calendar_days(date!(2026 - 12 - 28), 30),
        dl(date!(2027 - 01 - 27), false)
    );
    // Far out: still weekends-only, flagged, and fast.
    let far = cal.add_working_days(date!(2026 - 12 - 28), 1_000_000);
    assert!(far.provisional);
    assert_eq!(cal.status(far.date).kind, DayKind::Workday);
    assert_eq!(
        cal.working_days_between(date!(2026 - 12 - 28), far.date)
            .days,
        1_000_000
    );
    // Past the last representable date: clamped and flagged.
    assert!(
        cal.add_working_days(date!(2026 - 12 - 28), u32::MAX)
            .provisional
    );
    assert_eq!(cal.add_calendar_days(Date::MAX, 1), dl(Date::MAX, true));
}

#[test]
fn adding_2027_settles_late_2026() {
    let mut cal = Calendar::official();
    let y2027 = Calendar::parse_year(
        "year 2027\n\
         notice https://example.invalid/2027 国务院办公厅关于2027年部分节假日安排的通知（测试数据）\n\
         off  2027-01-01..2027-01-03 元旦\n\
         work 2026-12-26 元旦\n",
    )
    .unwrap();
    cal.add_year(y2027).unwrap();
    assert_eq!(cal.years_covered().last(), Some(&2027));
    assert!(cal.covers(date!(2026 - 12 - 31)));
    assert_eq!(cal.is_working_day(date!(2026 - 12 - 26)), Ok(true));
    assert_eq!(
        cal.add_working_days(date!(2026 - 12 - 28), 5),
        dl(date!(2027 - 01 - 05), false)
    );
    // Replacing a year drops its old dates.
    let again = Calendar::parse_year("year 2027\noff 2027-01-01 元旦\n").unwrap();
    cal.add_year(again).unwrap();
    assert_eq!(cal.is_working_day(date!(2026 - 12 - 26)), Ok(false));
    assert_eq!(cal.is_working_day(date!(2027 - 01 - 04)), Ok(true));
}

#[test]
fn same_working_day_and_due() {
    let cal = Calendar::official();
    let holiday = date!(2025 - 10 - 03);
    assert_eq!(
        cal.same_working_day(holiday),
        dl(date!(2025 - 10 - 09), false)
    );
    let working = date!(2025 - 10 - 11); // make-up Saturday
    assert_eq!(cal.same_working_day(working), dl(working, false));

    let start = date!(2025 - 09 - 26); // Friday
    assert_eq!(
        cal.due(start, 2, DayUnit::Working),
        dl(date!(2025 - 09 - 29), false)
    );
    assert_eq!(
        cal.due(start, 7, DayUnit::Calendar),
        dl(date!(2025 - 10 - 03), false)
    );
    assert_eq!(
        cal.due(start, 7, DayUnit::SameWorkingDay),
        dl(date!(2025 - 10 - 09), false)
    );
    assert_eq!(
        cal.due(holiday, 0, DayUnit::SameWorkingDay),
        cal.same_working_day(holiday)
    );
    // The free function uses the built-in calendar.
    assert_eq!(
        due(start, 2, DayUnit::Working),
        cal.due(start, 2, DayUnit::Working)
    );
}

#[test]
fn deadline_serializes_with_iso_dates() {
    let d = dl(date!(2024 - 02 - 04), false);
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(json, r#"{"date":"2024-02-04","provisional":false}"#);
    assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), d);
    assert_eq!(
        serde_json::to_string(&DayUnit::SameWorkingDay).unwrap(),
        r#""same_working_day""#
    );
}

#[test]
fn own_format_round_trips() {
    let cal = Calendar::official();
    for y in cal.years_covered() {
        let data = cal.year_data(y).unwrap();
        let text = data.to_text();
        let back = YearData::parse(&text).unwrap();
        let mut a = data.days.clone();
        let mut b = back.days.clone();
        a.sort_by_key(|e| e.date);
        b.sort_by_key(|e| e.date);
        assert_eq!(a, b, "{y}");
        assert_eq!(data.notices, back.notices);
    }
    assert_eq!(
        YearData::parse_many(OFFICIAL_DATA).unwrap().len(),
        8,
        "eight years built in"
    );
}

#[test]
fn parses_holiday_cn_json() {
    let json = r#"{
        "$schema": "https://example.invalid/schema.json",
        "year": 2023,
        "papers": ["http://www.gov.cn/zhengce/zhengceku/2022-12/08/content_5730844.htm"],
        "days": [
            {"name": "元旦", "date": "2022-12-31", "isOffDay": true},
            {"name": "元旦", "date": "2023-01-01", "isOffDay": true},
            {"name": "春节", "date": "2023-01-28", "isOffDay": false}
        ]
    }"#;
    let y = Calendar::parse_year(json).unwrap();
    assert_eq!(y.year, 2023);
    assert_eq!(y.notices.len(), 1);
    assert_eq!(y.days.len(), 3);
    assert_eq!(y.days[2].kind, EntryKind::Work);
    assert!(matches!(
        Calendar::parse_year(r#"{"year": 2023}"#),
        Err(CalendarError::Json(_))
    ));
    assert!(matches!(
        Calendar::parse_year(
            r#"{"year": 2023, "days": [{"name": "x", "date": "2023-13-01", "isOffDay": true}]}"#
        ),
        Err(CalendarError::Json(_))
    ));
}

#[test]
fn bad_year_data_is_rejected() {
    use CalendarError::*;
    let p = Calendar::parse_year;
    assert_eq!(
        p("year 2027\noff 2027-01-01 元旦\noff 2026-12-31..2027-01-01 元旦\n"),
        Err(DuplicateDate {
            year: 2027,
            date: date!(2027 - 01 - 01)
        })
    );
    assert_eq!(
        p("year 2027\noff 2028-01-01 元旦\n"),
        Err(DateOutsideYear {
            year: 2027,
            date: date!(2028 - 01 - 01),
            spill_from: 20
        })
    );
    assert!(matches!(
        p("year 2027\noff 2026-11-30 元旦\n"),
        Err(DateOutsideYear { .. })
    ));
    // A listed working weekday is allowed (it only confirms the day).
    let y = p("year 2027\nwork 2027-01-04 元旦\n").unwrap();
    let mut cal = Calendar::empty();
    cal.add_year(y).unwrap();
    assert_eq!(cal.status(date!(2027 - 01 - 04)).kind, DayKind::Workday);
    assert!(matches!(
        p("year 2027\noff 2027-02-30 春节\n"),
        Err(Syntax { line: 2, .. })
    ));
    assert!(matches!(
        p("year 2027\noff 2027-01-01\n"),
        Err(Syntax { line: 2, .. })
    ));
    assert!(matches!(
        p("year 2027\nholiday 2027-01-01 元旦\n"),
        Err(Syntax { line: 2, .. })
    ));
    assert!(matches!(
        p("off 2027-01-01 元旦\n"),
        Err(Syntax { line: 1, .. })
    ));
    assert!(matches!(p("year twenty\n"), Err(Syntax { line: 1, .. })));
    assert!(matches!(
        p("year 2027\noff 2027-01-05..2027-01-01 元旦\n"),
        Err(Syntax { line: 2, .. })
    ));
    assert_eq!(p("year 2027\n"), Err(EmptyYear { year: 2027 }));
    assert_eq!(p("# nothing\n"), Err(NotOneYear { found: 0 }));
    assert_eq!(
        p("year 2027\noff 2027-01-01 元旦\nyear 2028\noff 2028-01-01 元旦\n"),
        Err(NotOneYear { found: 2 })
    );
    assert!(matches!(
        p("year 1066\noff 1066-12-25 x\n"),
        Err(YearOutOfRange { .. })
    ));

    // Two years disagreeing on a spill-over date.
    let mut cal = Calendar::official();
    let y2027 = YearData::parse("year 2027\noff 2026-12-20 元旦\n").unwrap();
    cal.add_year(y2027).unwrap();
    let before = cal.clone();
    let conflicting = YearData::parse("year 2026\nwork 2026-12-20 x\n").unwrap();
    assert_eq!(
        cal.add_year(conflicting),
        Err(ConflictingYears {
            date: date!(2026 - 12 - 20),
            first: 2026,
            second: 2027
        })
    );
    // A failed add leaves the calendar as it was.
    assert_eq!(cal, before);

    // add_year validates hand-built data too.
    let mut cal = Calendar::empty();
    let y = YearData {
        year: 2030,
        notices: vec![],
        days: vec![],
    };
    assert_eq!(cal.add_year(y), Err(EmptyYear { year: 2030 }));
}

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/calendar")
}

/// Every year of the built-in data must agree, date for date, with the
/// holiday-cn file of that year in `shared/data/calendar/`.
#[test]
fn cross_check_against_shared_holiday_cn() {
    let dir = shared_dir();
    if !dir.is_dir() {
        println!(
            "NOTE: {} is absent; skipping the cross-check against holiday-cn data",
            dir.display()
        );
        return;
    }
    let fmt = format_description!("[year]-[month]-[day]");
    let cal = Calendar::official();
    for year in cal.years_covered() {
        let path = dir.join(format!("{year}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Read the reference independently of the crate's own JSON reader.
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["year"].as_i64(), Some(i64::from(year)));
        let mut expected: BTreeMap<Date, bool> = BTreeMap::new();
        for day in v["days"].as_array().unwrap() {
            let d = Date::parse(day["date"].as_str().unwrap(), &fmt).unwrap();
            let off = day["isOffDay"].as_bool().unwrap();
            assert!(expected.insert(d, off).is_none(), "{year}: {d} twice");
        }
        let ours: BTreeMap<Date, bool> = cal
            .year_data(year)
            .unwrap()
            .days
            .iter()
            .map(|e| (e.date, e.kind == EntryKind::Off))
            .collect();
        for (d, off) in &expected {
            assert_eq!(
                ours.get(d),
                Some(off),
                "{year}: {d} differs (holiday-cn off={off})"
            );
        }
        for (d, off) in &ours {
            assert_eq!(
                expected.get(d),
                Some(off),
                "{year}: {d} differs (ours off={off})"
            );
        }
        // And the calendar answers accordingly.
        for (d, off) in &expected {
            assert_eq!(cal.status(*d).is_working(), !off, "{d}");
        }
        // The crate's JSON reader gives the same days.
        let parsed = Calendar::parse_year(&text).unwrap();
        let parsed: BTreeMap<Date, bool> = parsed
            .days
            .iter()
            .map(|e| (e.date, e.kind == EntryKind::Off))
            .collect();
        assert_eq!(parsed, expected, "{year}: JSON reader");
        // Papers match our notice URLs (ignoring http/https).
        let papers: Vec<String> = v["papers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().replace("https://", "http://"))
            .collect();
        let urls: Vec<String> = cal
            .year_data(year)
            .unwrap()
            .notices
            .iter()
            .map(|n| n.url.replace("https://", "http://"))
            .collect();
        assert_eq!(urls, papers, "{year}: notice URLs");
    }
}

/// A calendar built straight from the holiday-cn files answers every date of
/// 2019–2026 like the built-in one.
#[test]
fn calendar_from_shared_json_matches_official() {
    let dir = shared_dir();
    if !dir.is_dir() {
        println!("NOTE: {} is absent; skipping", dir.display());
        return;
    }
    let official = Calendar::official();
    let mut other = Calendar::empty();
    for year in official.years_covered() {
        let text = std::fs::read_to_string(dir.join(format!("{year}.json"))).unwrap();
        other
            .add_year(Calendar::parse_year(&text).unwrap())
            .unwrap();
    }
    let mut d = date!(2018 - 12 - 01);
    while d <= date!(2027 - 01 - 31) {
        assert_eq!(official.status(d), other.status(d), "{d}");
        d = d.next_day().unwrap();
    }
}
