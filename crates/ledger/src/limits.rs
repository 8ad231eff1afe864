//! Bounds of one import: a workbook is a zip, and a small zip can expand to
//! gigabytes (a "zip bomb"), so nothing about an upload is taken on trust.
//!
//! Before calamine opens a workbook, [`check_zip`] counts the central
//! directory's entries from the bytes (signatures, not the declared count) and
//! decompresses every entry through a size-limited reader into nothing,
//! counting the bytes that really come out (declared sizes are ignored). Only
//! a workbook inside every bound is then read. Rows, cells and columns are
//! counted while the sheet streams; the import stops at the first bound passed.
//! Memory is bounded by the limits, not by what the file claims or expands to.

use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};

/// What an import may take. [`Limits::default`] is what the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Non-blank data rows.
    pub max_rows: u64,
    /// Cells read (xlsx cells present in the sheet, csv fields).
    pub max_cells: u64,
    /// Columns of a row (Excel's own limit is 16,384).
    pub max_columns: u32,
    /// Entries of the workbook's zip.
    pub max_zip_entries: usize,
    /// Decompressed bytes of one worksheet (`xl/worksheets/…`; streamed).
    pub max_sheet_bytes: u64,
    /// Decompressed bytes of any other entry (shared strings, styles,
    /// workbook: read whole into memory).
    pub max_entry_bytes: u64,
    /// Decompressed bytes of all entries together.
    pub max_total_bytes: u64,
}

/// Rows of one import (one transaction).
pub const MAX_ROWS: u64 = 200_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: MAX_ROWS,
            max_cells: 4_000_000,
            max_columns: 16_384,
            max_zip_entries: 1_000,
            max_sheet_bytes: 192 * 1024 * 1024,
            max_entry_bytes: 64 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Which bound was passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Rows,
    Cells,
    Columns,
    ZipEntries,
    EntryBytes,
    TotalBytes,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Rows => "rows",
            Limit::Cells => "cells",
            Limit::Columns => "columns",
            Limit::ZipEntries => "zip_entries",
            Limit::EntryBytes => "entry_bytes",
            Limit::TotalBytes => "total_bytes",
        }
    }
}

/// A ledger past one of the [`Limits`]: refused, nothing imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TooLarge {
    pub limit: Limit,
    /// The bound (rows, cells, columns, entries or bytes).
    pub max: u64,
    /// The zip entry, for the byte bounds.
    pub entry: Option<String>,
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

impl TooLarge {
    /// The stable code of the refusal.
    pub const CODE: &'static str = "ledger_too_large";

    pub fn message_zh(&self) -> String {
        let m = self.max;
        match self.limit {
            Limit::Rows => format!("台账过大：一次最多导入 {m} 行，请分成几个文件"),
            Limit::Cells => format!("台账过大：一次最多读取 {m} 个单元格，请分成几个文件"),
            Limit::Columns => format!("台账过大：每行最多 {m} 列"),
            Limit::ZipEntries => format!("不是有效的台账工作簿：压缩包内文件超过 {m} 个"),
            Limit::EntryBytes => format!(
                "台账过大：工作簿中的「{}」解压后超过 {} MB",
                self.entry.as_deref().unwrap_or(""),
                mib(m)
            ),
            Limit::TotalBytes => format!("台账过大：工作簿解压后超过 {} MB", mib(m)),
        }
    }

    pub fn message_en(&self) -> String {
        let m = self.max;
        match self.limit {
            Limit::Rows => {
                format!("the ledger is too large: at most {m} rows per import; split the file")
            }
            Limit::Cells => {
                format!("the ledger is too large: at most {m} cells per import; split the file")
            }
            Limit::Columns => format!("the ledger is too large: at most {m} columns per row"),
            Limit::ZipEntries => format!("not a ledger workbook: more than {m} entries in the zip"),
            Limit::EntryBytes => format!(
                "the ledger is too large: '{}' of the workbook expands to more than {} MiB",
                self.entry.as_deref().unwrap_or(""),
                mib(m)
            ),
            Limit::TotalBytes => format!(
                "the ledger is too large: the workbook expands to more than {} MiB",
                mib(m)
            ),
        }
    }
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message_en())
    }
}

/// Signature of a central directory file header: every entry the zip reader
/// can list starts with it, so its occurrences bound the number of entries.
const CENTRAL_HEADER: &[u8; 4] = b"PK\x01\x02";

/// Counts the central-directory signatures of the whole stream.
fn count_central_headers<R: Read>(r: &mut R) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    // the last 3 bytes of the previous chunk, for a signature across chunks
    let mut carry = 0usize;
    let mut n = 0u64;
    loop {
        let got = r.read(&mut buf[carry..])?;
        if got == 0 {
            return Ok(n);
        }
        let end = carry + got;
        n += buf[..end]
            .windows(4)
            .filter(|w| *w == CENTRAL_HEADER)
            .count() as u64;
        carry = end.min(3);
        buf.copy_within(end - carry..end, 0);
    }
}

/// Whether a zip entry is a worksheet (streamed by the reader).
fn is_worksheet(name: &str) -> bool {
    let n = name.replace('\\', "/").to_ascii_lowercase();
    n.starts_with("xl/worksheets/") && !n[14..].contains('/')
}

/// Checks a workbook's zip against `limits` before anything reads it whole:
/// `Ok(Err(TooLarge))` when a bound is passed, `Err` when it is no readable zip.
/// Leaves the reader at the start.
pub(crate) fn check_zip<R: Read + Seek>(
    r: &mut R,
    limits: &Limits,
) -> Result<Result<(), TooLarge>, String> {
    let io = |e: std::io::Error| e.to_string();
    r.seek(SeekFrom::Start(0)).map_err(io)?;
    let headers = count_central_headers(r).map_err(io)?;
    r.seek(SeekFrom::Start(0)).map_err(io)?;
    if headers > limits.max_zip_entries as u64 {
        return Ok(Err(TooLarge {
            limit: Limit::ZipEntries,
            max: limits.max_zip_entries as u64,
            entry: None,
        }));
    }
    let verdict = {
        let mut zip = zip::ZipArchive::new(&mut *r).map_err(|e| e.to_string())?;
        let mut total = 0u64;
        let mut verdict = Ok(());
        for i in 0..zip.len() {
            let entry = zip.by_index(i).map_err(|e| e.to_string())?;
            let name = entry.name().to_string();
            let max = if is_worksheet(&name) {
                limits.max_sheet_bytes
            } else {
                limits.max_entry_bytes
            };
            let room = limits.max_total_bytes - total;
            // one byte past the smaller bound tells which was passed
            let cap = max.min(room);
            let got = std::io::copy(&mut entry.take(cap + 1), &mut std::io::sink())
                .map_err(|e| format!("{name}: {e}"))?;
            if got > max {
                verdict = Err(TooLarge {
                    limit: Limit::EntryBytes,
                    max,
                    entry: Some(name),
                });
                break;
            }
            if got > room {
                verdict = Err(TooLarge {
                    limit: Limit::TotalBytes,
                    max: limits.max_total_bytes,
                    entry: None,
                });
                break;
            }
            total += got;
        }
        verdict
    };
    r.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_headers_are_counted_across_chunks() {
        let mut bytes = vec![0u8; 64 * 1024 - 2];
        bytes.extend_from_slice(CENTRAL_HEADER);
        bytes.extend_from_slice(b"xxPK\x01\x02");
        let n = count_central_headers(&mut std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn worksheets_are_recognised() {
        assert!(is_worksheet("xl/worksheets/sheet1.xml"));
        assert!(is_worksheet("XL\\Worksheets\\Sheet2.xml"));
        assert!(!is_worksheet("xl/worksheets/_rels/sheet1.xml.rels"));
        assert!(!is_worksheet("xl/sharedStrings.xml"));
    }
}
