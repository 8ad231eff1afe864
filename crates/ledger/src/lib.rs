//! Ledger (台账) spreadsheets: import xlsx or csv (UTF-8, with or without BOM, or
//! GB18030) through a [`ColumnMapping`] into [`LedgerRow`]s with a row-level
//! [`Report`]; export any table of text to xlsx or csv (UTF-8 with BOM).
//!
//! Knows no database: the app turns rows into intakes, the CLI and the web
//! crate carry files and reports.
//!
//! ```no_run
//! use suqiu_ledger::{import_path, ImportOptions, ImportError};
//! match import_path("台账.xlsx", ImportOptions::default()) {
//!     Ok(imported) => println!("{} rows", imported.rows.len()),
//!     Err(ImportError::Rejected(report)) => {
//!         for p in &report.problems {
//!             println!("{:?} {:?} {}: {}", p.row, p.column, p.code, p.message_zh);
//!         }
//!     }
//!     Err(e) => println!("{e}"),
//! }
//! ```

mod export;
mod import;
mod limits;
mod mapping;
mod report;
mod values;

pub use export::{
    export_path, ledger_table, write_csv, write_xlsx, ExportError, Table, MAX_CELL_CHARS,
};
pub use import::{
    decode_csv, import_bytes, import_csv, import_path, import_xlsx, CsvEncoding, Format,
    ImportError, ImportOptions, Imported, LedgerRow, PlaceError, PlaceResolver,
    DERIVED_TITLE_CHARS, MAX_SHORT,
};
pub use limits::{Limit, Limits, TooLarge, MAX_ROWS};
pub use mapping::{default_channel_names, normalize_header, ColumnMapping, Field, MappingError};
pub use report::{codes, Problem, Report, Severity};
pub use values::{is_placeholder, ReceivedAt, Satisfaction};
