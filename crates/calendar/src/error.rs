//! Errors of the calendar crate.

use time::Date;

/// Everything that can go wrong when reading year data, adding it to a
/// [`Calendar`](crate::Calendar), or asking about a date the data does not cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The text format could not be read (line numbers start at 1).
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },

    /// The holiday-cn JSON could not be read.
    #[error("invalid holiday-cn JSON: {0}")]
    Json(String),

    /// The input holds no year, or more than one, where exactly one was expected.
    #[error("expected the data of exactly one year, found {found}")]
    NotOneYear { found: usize },

    /// The year number is outside what the calendar supports.
    #[error("year {year} is outside the supported range {min}..={max}")]
    YearOutOfRange { year: i32, min: i32, max: i32 },

    /// A year's data lists no day at all (a truncated file, most likely).
    #[error("the data for {year} lists no day")]
    EmptyYear { year: i32 },

    /// The same date appears twice in one year's data.
    #[error("{date} is listed more than once in the data for {year}")]
    DuplicateDate { year: i32, date: Date },

    /// A date does not belong to the year whose data lists it.
    #[error(
        "{date} lies outside the data for {year} (allowed: dates in {year}, \
         or from December {spill_from} of the year before)"
    )]
    DateOutsideYear {
        year: i32,
        date: Date,
        spill_from: u8,
    },

    /// Two years' data disagree about one date (possible only for the late
    /// December dates a New Year's Day arrangement reaches back into).
    #[error("{date} is set differently by the data for {first} and for {second}")]
    ConflictingYears { date: Date, first: i32, second: i32 },

    /// The calendar holds no data for this date's year (or, for a date from
    /// December 20 on, for the following year, whose notice may reach back).
    #[error("no calendar data covers {date}")]
    NotCovered { date: Date },
}
