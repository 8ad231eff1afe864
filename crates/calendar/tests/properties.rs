//! Properties of deadline arithmetic, checked against a naive day-by-day
//! reference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use suqiu_calendar::{Calendar, DayUnit};
use time::Date;

fn date_in(from_jd: i32, to_jd: i32) -> impl Strategy<Value = Date> {
    (from_jd..to_jd).prop_map(|jd| Date::from_julian_day(jd).unwrap())
}

fn jd(y: i32, m: u8, d: u8) -> i32 {
    Date::from_calendar_date(y, m.try_into().unwrap(), d)
        .unwrap()
        .to_julian_day()
}

/// Dates around the data: 2018-06-01 .. 2028-06-01.
fn near_data() -> impl Strategy<Value = Date> {
    date_in(jd(2018, 6, 1), jd(2028, 6, 1))
}

/// Naive: step one day at a time.
fn naive_add(cal: &Calendar, start: Date, n: u32) -> (Date, bool) {
    let mut d = start;
    let mut left = n;
    let mut prov = false;
    while left > 0 {
        d = d.next_day().unwrap();
        let s = cal.status(d);
        prov |= s.provisional;
        if s.is_working() {
            left -= 1;
        }
    }
    (d, prov)
}

fn naive_between(cal: &Calendar, a: Date, b: Date) -> (i64, bool) {
    let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
    let mut d = lo;
    let mut n = 0;
    let mut prov = false;
    while d < hi {
        d = d.next_day().unwrap();
        let s = cal.status(d);
        prov |= s.provisional;
        if s.is_working() {
            n += 1;
        }
    }
    (sign * n, prov)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn working_deadline_is_a_working_day(d in near_data(), n in 1u32..400) {
        let cal = Calendar::official();
        let dl = cal.add_working_days(d, n);
        prop_assert!(dl.date > d);
        prop_assert!(cal.status(dl.date).is_working());
        let due = cal.due(d, n, DayUnit::Working);
        prop_assert_eq!(due, dl);
    }

    #[test]
    fn add_working_days_is_monotonic(d in near_data(), n in 0u32..300, k in 1u32..50) {
        let cal = Calendar::official();
        let a = cal.add_working_days(d, n);
        let b = cal.add_working_days(d, n + 1);
        let c = cal.add_working_days(d, n + k);
        prop_assert!(a.date < b.date);
        prop_assert!(b.date <= c.date);
        // Examining more dates can only add uncertainty.
        prop_assert!(!a.provisional || c.provisional);
    }

    #[test]
    fn between_inverts_add(d in near_data(), n in 0u32..400) {
        let cal = Calendar::official();
        let dl = cal.add_working_days(d, n);
        let c = cal.working_days_between(d, dl.date);
        prop_assert_eq!(c.days, i64::from(n));
        prop_assert_eq!(c.provisional, dl.provisional);
        prop_assert_eq!(cal.working_days_between(dl.date, d).days, -i64::from(n));
    }

    #[test]
    fn add_matches_naive_near_data(d in near_data(), n in 0u32..600) {
        let cal = Calendar::official();
        let dl = cal.add_working_days(d, n);
        prop_assert_eq!((dl.date, dl.provisional), naive_add(&cal, d, n));
    }

    #[test]
    fn fast_paths_match_naive_far_out(
        d in date_in(jd(1990, 1, 1), jd(2060, 1, 1)),
        n in 0u32..4000,
    ) {
        let cal = Calendar::official();
        let dl = cal.add_working_days(d, n);
        prop_assert_eq!((dl.date, dl.provisional), naive_add(&cal, d, n));
        let empty = Calendar::empty();
        let e = empty.add_working_days(d, n);
        prop_assert_eq!((e.date, e.provisional), naive_add(&empty, d, n));
    }

    #[test]
    fn between_matches_naive(
        a in date_in(jd(2000, 1, 1), jd(2040, 1, 1)),
        b in date_in(jd(2000, 1, 1), jd(2040, 1, 1)),
    ) {
        let cal = Calendar::official();
        let c = cal.working_days_between(a, b);
        prop_assert_eq!((c.days, c.provisional), naive_between(&cal, a, b));
    }

    #[test]
    fn same_working_day_is_first_working_day(d in near_data()) {
        let cal = Calendar::official();
        let s = cal.same_working_day(d);
        prop_assert!(s.date >= d);
        prop_assert!(cal.status(s.date).is_working());
        let mut x = d;
        while x < s.date {
            prop_assert!(!cal.status(x).is_working());
            x = x.next_day().unwrap();
        }
        prop_assert_eq!(cal.due(d, 0, DayUnit::SameWorkingDay), s);
    }

    #[test]
    fn provisional_iff_an_uncovered_date_is_examined(d in near_data(), n in 1u32..200) {
        let cal = Calendar::official();
        let dl = cal.add_working_days(d, n);
        let mut x = d;
        let mut any_uncovered = false;
        while x < dl.date {
            x = x.next_day().unwrap();
            any_uncovered |= !cal.covers(x);
        }
        prop_assert_eq!(dl.provisional, any_uncovered);
    }
}
