//! The import report: every problem found, with row, column, code and messages.

use crate::mapping::Field;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row (or, without a row, the file) cannot be imported.
    Error,
    /// Imported all the same (unknown column, duplicate column).
    Warning,
}

/// Stable problem codes (part of the API contract, like the domain's field codes).
pub mod codes {
    /// File: the file has no header row.
    pub const NO_HEADER: &str = "no_header";
    /// File: the named sheet is not in the workbook.
    pub const SHEET_NOT_FOUND: &str = "sheet_not_found";
    /// File: a required field has no column.
    pub const REQUIRED_COLUMN_MISSING: &str = "required_column_missing";
    /// Warning: a header the mapping does not know; the column is not imported.
    pub const UNKNOWN_COLUMN: &str = "unknown_column";
    /// Warning: a second column for a field already mapped; it is not imported.
    pub const DUPLICATE_COLUMN: &str = "duplicate_column";
    /// Row: a required value is empty.
    pub const FIELD_EMPTY: &str = "field_empty";
    pub const FIELD_TOO_LONG: &str = "field_too_long";
    pub const FIELD_CONTROL_CHARACTERS: &str = "field_control_characters";
    pub const INVALID_PHONE: &str = "invalid_phone";
    pub const INVALID_ID_NUMBER: &str = "invalid_id_number";
    pub const INVALID_DATE: &str = "invalid_date";
    pub const UNKNOWN_CHANNEL: &str = "unknown_channel";
    pub const UNKNOWN_SATISFACTION: &str = "unknown_satisfaction";
    /// Row: the caller's place resolver refused the place.
    pub const UNRESOLVED_PLACE: &str = "unresolved_place";
    /// Row: an Excel error value (#N/A, #REF! …) in a cell.
    pub const CELL_ERROR: &str = "cell_error";
}

/// One problem of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub severity: Severity,
    /// Row as the spreadsheet shows it (header = row 1); `None` for the file.
    pub row: Option<u32>,
    /// The column's header as written in the file.
    pub column: Option<String>,
    pub field: Option<Field>,
    /// See [`codes`].
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
    /// The offending value; masked for personal data, shortened for long text.
    pub value: Option<String>,
}

/// What an import found. Problems past `max_problems` are counted, not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub problems: Vec<Problem>,
    /// Non-blank data rows read.
    pub rows_read: u64,
    /// Rows without error (imported).
    pub rows_ok: u64,
    /// Rows with at least one error.
    pub rows_rejected: u64,
    pub errors: u64,
    pub warnings: u64,
    /// Some problems were counted but not kept.
    pub truncated: bool,
    /// For csv: the encoding read (`utf-8`, `utf-8-bom`, `gb18030`).
    pub encoding: Option<String>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    pub(crate) fn push(&mut self, p: Problem, max: usize) {
        match p.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.problems.len() < max {
            self.problems.push(p);
        } else {
            self.truncated = true;
        }
    }

    /// Problems of one row (of those kept).
    pub fn for_row(&self, row: u32) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.row == Some(row))
    }
}
