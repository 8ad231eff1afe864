//! Export: headers and string cells → xlsx or csv (UTF-8 with BOM).
//!
//! The caller decides which columns to write and masks personal data first;
//! [`ledger_table`] gives the canonical table of [`LedgerRow`]s, which
//! [`crate::import_csv`]/[`crate::import_xlsx`] read back to the same rows.

use crate::import::LedgerRow;
use crate::mapping::Field;
use std::io::{Seek, Write};
use std::path::Path;

/// Rows whose cells are measured for column widths.
const WIDTH_SAMPLE: usize = 1_000;
/// Excel's limit of a cell's text.
pub const MAX_CELL_CHARS: usize = 32_767;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
    #[error("csv: {0}")]
    Csv(String),
    #[error("xlsx: {0}")]
    Xlsx(String),
    #[error("row {row} has more than {max} characters in a cell")]
    CellTooLong { row: u64, max: usize },
    #[error("too many rows for one sheet ({0}; at most 1048575 besides the header)")]
    TooManyRows(u64),
}

/// A table of text: what export writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The canonical table of ledger rows: one column per [`Field`] with
/// [`Field::zh`] as header (place_unit is not a column), dates as
/// `2024-03-05 14:20`, channels and satisfaction by their Chinese names.
pub fn ledger_table(rows: &[LedgerRow]) -> Table {
    let headers = Field::ALL.iter().map(|f| f.zh().to_string()).collect();
    let rows = rows
        .iter()
        .map(|r| {
            Field::ALL
                .iter()
                .map(|f| {
                    let o = |v: &Option<String>| v.clone().unwrap_or_default();
                    match f {
                        Field::Serial => o(&r.serial),
                        Field::ReceivedAt => {
                            r.received_at.map(|d| d.to_string()).unwrap_or_default()
                        }
                        Field::Channel => r.channel.map(|c| c.zh().to_string()).unwrap_or_default(),
                        Field::ReporterName => o(&r.reporter_name),
                        Field::Phone => r
                            .phone
                            .iter()
                            .chain(&r.other_phones)
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join("、"),
                        Field::IdNumber => o(&r.id_number),
                        Field::Place => o(&r.place),
                        Field::Title => o(&r.title),
                        Field::Content => r.content.clone(),
                        Field::Category => o(&r.category),
                        Field::HandlingUnit => o(&r.handling_unit),
                        Field::Status => o(&r.status),
                        Field::Reply => o(&r.reply),
                        Field::Satisfaction => r
                            .satisfaction
                            .map(|s| s.zh().to_string())
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .collect();
    Table { headers, rows }
}

/// Cells starting with these are formulas to Excel: a csv cell gets a leading `'`
/// (OWASP "CSV injection"); import removes it again.
fn guard_formula(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Write csv in UTF-8 with a BOM (so Excel reads it as UTF-8), CRLF line ends,
/// fields quoted when needed. Returns the number of data rows written.
pub fn write_csv<W, H, R, C>(out: W, headers: &[H], rows: R) -> Result<u64, ExportError>
where
    W: Write,
    H: AsRef<str>,
    R: IntoIterator,
    R::Item: AsRef<[C]>,
    C: AsRef<str>,
{
    let cerr = |e: csv::Error| ExportError::Csv(e.to_string());
    let mut out = out;
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(out);
    w.write_record(
        headers
            .iter()
            .map(|h| guard_formula(h.as_ref()).into_owned()),
    )
    .map_err(cerr)?;
    let mut n = 0u64;
    for row in rows {
        w.write_record(
            row.as_ref()
                .iter()
                .map(|c| guard_formula(c.as_ref()).into_owned()),
        )
        .map_err(cerr)?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// Columns as wide as their text (CJK characters count double), between 6 and 60.
fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| {
            l.chars()
                .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

/// Write one worksheet (`sheet`) to an xlsx workbook: bold header, first row
/// frozen, column widths from the header and the first 1000 rows, every cell
/// as text (never a formula). Rows are streamed to a temporary file
/// (constant-memory mode). Returns the number of data rows written.
pub fn write_xlsx<W, H, R, C>(
    out: W,
    sheet: &str,
    headers: &[H],
    rows: R,
) -> Result<u64, ExportError>
where
    W: Write + Seek + Send,
    H: AsRef<str>,
    R: IntoIterator,
    R::Item: AsRef<[C]>,
    C: AsRef<str>,
{
    use rust_xlsxwriter::{Format, Workbook};
    let xerr = |e: rust_xlsxwriter::XlsxError| ExportError::Xlsx(e.to_string());
    let mut iter = rows.into_iter();
    let mut sample: Vec<R::Item> = Vec::new();
    for r in iter.by_ref() {
        sample.push(r);
        if sample.len() >= WIDTH_SAMPLE {
            break;
        }
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h.as_ref())).collect();
    for r in &sample {
        for (i, c) in r.as_ref().iter().enumerate() {
            let w = display_width(c.as_ref());
            if i >= widths.len() {
                widths.resize(i + 1, 0);
            }
            widths[i] = widths[i].max(w);
        }
    }
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory();
    ws.set_name(sheet).map_err(xerr)?;
    for (i, w) in widths.iter().enumerate() {
        let col = u16::try_from(i).map_err(|_| ExportError::Xlsx("too many columns".into()))?;
        ws.set_column_width(col, ((*w + 2).clamp(6, 60)) as f64)
            .map_err(xerr)?;
    }
    ws.set_freeze_panes(1, 0).map_err(xerr)?;
    let bold = Format::new().set_bold();
    for (i, h) in headers.iter().enumerate() {
        let col = u16::try_from(i).map_err(|_| ExportError::Xlsx("too many columns".into()))?;
        ws.write_string_with_format(0, col, h.as_ref(), &bold)
            .map_err(xerr)?;
    }
    let mut n: u64 = 0;
    for row in sample.into_iter().chain(iter) {
        n += 1;
        let r = u32::try_from(n)
            .ok()
            .filter(|r| *r <= 1_048_575)
            .ok_or(ExportError::TooManyRows(n))?;
        for (i, c) in row.as_ref().iter().enumerate() {
            let c = c.as_ref();
            if c.is_empty() {
                continue;
            }
            if c.chars().count() > MAX_CELL_CHARS {
                return Err(ExportError::CellTooLong {
                    row: n,
                    max: MAX_CELL_CHARS,
                });
            }
            let col = u16::try_from(i).map_err(|_| ExportError::Xlsx("too many columns".into()))?;
            ws.write_string(r, col, c).map_err(xerr)?;
        }
    }
    wb.save_to_writer(out).map_err(xerr)?;
    Ok(n)
}

/// [`write_csv`] or [`write_xlsx`] to a file, by its extension (`.xlsx` or else csv).
pub fn export_path<H, R, C>(
    path: impl AsRef<Path>,
    headers: &[H],
    rows: R,
) -> Result<u64, ExportError>
where
    H: AsRef<str>,
    R: IntoIterator,
    R::Item: AsRef<[C]>,
    C: AsRef<str>,
{
    let path = path.as_ref();
    let f = std::io::BufWriter::new(std::fs::File::create(path)?);
    match crate::Format::from_path(path) {
        Some(crate::Format::Xlsx) => write_xlsx(f, "台账", headers, rows),
        _ => write_csv(f, headers, rows),
    }
}
