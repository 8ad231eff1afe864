//! Import: xlsx or csv → [`LedgerRow`]s and a [`Report`].

use crate::limits::{check_zip, Limit, Limits, TooLarge};
use crate::mapping::{normalize_header, normalize_value, ColumnMapping, Field, MappingError};
use crate::report::{codes, Problem, Report, Severity};
use crate::values::{is_placeholder, ReceivedAt, Satisfaction};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};
use std::path::Path;
use suqiu_domain::case::{Channel, MAX_ADDRESS, MAX_CONTENT, MAX_NAME, MAX_TITLE};
use suqiu_domain::validate::{
    bounded_text, mask_id_number, mask_name, mask_phone, FieldError, IdNumber, PhoneNumber,
};

/// What separates several phone numbers in one cell (export joins them with `、`).
pub const PHONE_SEPARATORS: [char; 8] = ['/', '、', ',', '，', ';', '；', '|', '\n'];

/// How far down [`ImportOptions::header_row`]`: None` looks for the headers.
pub const AUTO_HEADER_ROWS: u32 = 10;

/// Longest category, handling unit or status text.
pub const MAX_SHORT: usize = 100;

/// One imported ledger row. Text is trimmed; empty cells and placeholders
/// (`/`, `-`, `无` …) are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    /// Row in the spreadsheet (header = row 1).
    pub row: u32,
    pub serial: Option<String>,
    pub received_at: Option<ReceivedAt>,
    pub channel: Option<Channel>,
    pub reporter_name: Option<String>,
    /// Normalised by [`PhoneNumber::parse`]: digits, one hyphen for landlines.
    pub phone: Option<String>,
    /// Further numbers of the same cell (`13800138000/0731-8123456`), normalised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_phones: Vec<String>,
    /// Checked by [`IdNumber::parse`] (GB 11643 check digit), upper-case X.
    pub id_number: Option<String>,
    /// The place as written.
    pub place: Option<String>,
    /// The unit code the caller's [`PlaceResolver`] returned for `place`.
    pub place_unit: Option<String>,
    pub title: Option<String>,
    /// Required by the default mapping; empty only if a custom mapping makes it optional.
    pub content: String,
    pub category: Option<String>,
    pub handling_unit: Option<String>,
    pub status: Option<String>,
    pub reply: Option<String>,
    pub satisfaction: Option<Satisfaction>,
}

/// Longest title [`LedgerRow::title_or_derived`] takes from the content.
pub const DERIVED_TITLE_CHARS: usize = 30;

impl LedgerRow {
    /// The title, or the content's first sentence (at most
    /// [`DERIVED_TITLE_CHARS`] characters) when the ledger has no title.
    pub fn title_or_derived(&self) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        let first = self
            .content
            .split(['。', '！', '？', '\n', '；', '!', '?', ';'])
            .map(str::trim)
            .find(|s| !s.is_empty())
            .unwrap_or("");
        let mut t: String = first.chars().take(DERIVED_TITLE_CHARS).collect();
        if first.chars().count() > DERIVED_TITLE_CHARS {
            t.push('…');
        }
        t
    }

    /// The row as the domain's raw intake (then `suqiu_domain::case::parse_intake`):
    /// `unit` is `place_unit`, else `fallback_unit`; the channel is the row's, else
    /// `fallback_channel`; the title is [`Self::title_or_derived`]; the place text
    /// becomes the address. Ledger-only columns (serial, date, category, handling
    /// unit, status, reply, satisfaction) are the caller's to record.
    pub fn to_intake_input(
        &self,
        fallback_channel: Channel,
        fallback_unit: &str,
    ) -> suqiu_domain::case::IntakeInput {
        suqiu_domain::case::IntakeInput {
            channel: Some(
                self.channel
                    .unwrap_or(fallback_channel)
                    .as_str()
                    .to_string(),
            ),
            unit: Some(
                self.place_unit
                    .clone()
                    .unwrap_or_else(|| fallback_unit.to_string()),
            ),
            title: Some(self.title_or_derived()),
            content: Some(self.content.clone()),
            address: self.place.clone(),
            reporter_name: self.reporter_name.clone(),
            reporter_phone: self.phone.clone(),
            reporter_id_number: self.id_number.clone(),
            ..Default::default()
        }
    }
}

/// How csv bytes are decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvEncoding {
    /// BOM → UTF-8 (or UTF-16, as Excel's "Unicode text" is); valid UTF-8 →
    /// UTF-8; otherwise GB18030.
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// By extension: `.xlsx`/`.xlsm` or `.csv`/`.txt`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "csv" | "txt" => Some(Format::Csv),
            _ => None,
        }
    }

    /// By content: a zip (xlsx) starts with `PK\x03\x04`; anything else is read as csv.
    pub fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// Why the caller's resolver refused a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceError {
    pub message_zh: String,
    pub message_en: String,
}

/// Turns the place text of a row into a unit code. `Ok(None)`: keep the text,
/// no unit (not an error). Results are cached per distinct text during an import.
pub trait PlaceResolver {
    fn resolve(&self, place: &str) -> Result<Option<String>, PlaceError>;
}

impl<F> PlaceResolver for F
where
    F: Fn(&str) -> Result<Option<String>, PlaceError>,
{
    fn resolve(&self, place: &str) -> Result<Option<String>, PlaceError> {
        self(place)
    }
}

/// Options of an import. `ImportOptions::default()` is the default mapping,
/// all-or-nothing, header on row 1, first sheet, csv encoding detected.
pub struct ImportOptions<'a> {
    pub mapping: ColumnMapping,
    /// Keep the good rows and report the bad ones instead of refusing the file.
    pub lenient: bool,
    pub encoding: CsvEncoding,
    /// csv delimiter; `None`: the most frequent of `,` `\t` `;` in the first line.
    pub delimiter: Option<u8>,
    /// xlsx sheet by name; `None`: the first.
    pub sheet: Option<String>,
    /// Row of the headers (1-based); rows above it (titles) are skipped.
    /// `None` (default): the first non-blank row in which a header is recognised,
    /// among the first [`AUTO_HEADER_ROWS`] rows (so a title row above the headers
    /// is skipped); if none is, the first non-blank row.
    pub header_row: Option<u32>,
    /// Problems kept in the report (all are counted).
    pub max_problems: usize,
    pub resolver: Option<&'a dyn PlaceResolver>,
    /// Called with `(rows_done, rows_total_if_known)` every `progress_every` rows and at the end.
    pub progress: Option<&'a mut dyn FnMut(u64, Option<u64>)>,
    pub progress_every: u64,
    /// Bounds of rows, cells and (xlsx) decompressed size; past one the
    /// import stops with [`ImportError::TooLarge`].
    pub limits: Limits,
}

impl Default for ImportOptions<'_> {
    fn default() -> Self {
        ImportOptions {
            mapping: ColumnMapping::default(),
            lenient: false,
            encoding: CsvEncoding::Auto,
            delimiter: None,
            sheet: None,
            header_row: None,
            max_problems: 10_000,
            resolver: None,
            progress: None,
            progress_every: 1_000,
            limits: Limits::default(),
        }
    }
}

/// A successful import: all rows (all-or-nothing) or the good rows (lenient),
/// with the report (warnings only, unless lenient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub rows: Vec<LedgerRow>,
    pub report: Report,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a readable xlsx workbook: {0}")]
    Xlsx(String),
    #[error("not a readable csv file: {0}")]
    Csv(String),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Past one of [`ImportOptions::limits`]: nothing is imported.
    #[error("{0}")]
    TooLarge(TooLarge),
    /// File-level errors, or (all-or-nothing) row errors: nothing is imported.
    #[error("the ledger was refused: {} error(s)", .0.errors)]
    Rejected(Box<Report>),
}

impl ImportError {
    /// The report, when the file was read but refused.
    pub fn report(&self) -> Option<&Report> {
        match self {
            ImportError::Rejected(r) => Some(r),
            _ => None,
        }
    }
}

/// Import a file, by extension (else by content).
pub fn import_path(
    path: impl AsRef<Path>,
    opts: ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    let path = path.as_ref();
    let format = match Format::from_path(path) {
        Some(f) => f,
        None => {
            let mut head = [0u8; 4];
            let mut f = std::fs::File::open(path)?;
            let n = f.read(&mut head)?;
            Format::sniff(&head[..n])
        }
    };
    match format {
        Format::Xlsx => {
            let f = std::io::BufReader::new(std::fs::File::open(path)?);
            import_xlsx(f, opts)
        }
        Format::Csv => import_csv(&std::fs::read(path)?, opts),
    }
}

/// Import bytes (an upload); `format: None` sniffs it.
pub fn import_bytes(
    bytes: &[u8],
    format: Option<Format>,
    opts: ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    match format.unwrap_or_else(|| Format::sniff(bytes)) {
        Format::Xlsx => import_xlsx(std::io::Cursor::new(bytes), opts),
        Format::Csv => import_csv(bytes, opts),
    }
}

/// Decode csv bytes: the text and the encoding's name.
pub fn decode_csv(bytes: &[u8], encoding: CsvEncoding) -> (Cow<'_, str>, &'static str) {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    match encoding {
        CsvEncoding::Auto | CsvEncoding::Utf8 if bytes.starts_with(BOM) => {
            (String::from_utf8_lossy(&bytes[BOM.len()..]), "utf-8-bom")
        }
        // Excel's "Unicode text" (tab-separated UTF-16 with a BOM)
        CsvEncoding::Auto if bytes.starts_with(b"\xFF\xFE") => {
            (encoding_rs::UTF_16LE.decode(bytes).0, "utf-16le")
        }
        CsvEncoding::Auto if bytes.starts_with(b"\xFE\xFF") => {
            (encoding_rs::UTF_16BE.decode(bytes).0, "utf-16be")
        }
        CsvEncoding::Utf8 => (String::from_utf8_lossy(bytes), "utf-8"),
        CsvEncoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => (Cow::Borrowed(s), "utf-8"),
            Err(_) => (
                encoding_rs::GB18030.decode_without_bom_handling(bytes).0,
                "gb18030",
            ),
        },
        CsvEncoding::Gb18030 => (
            encoding_rs::GB18030.decode_without_bom_handling(bytes).0,
            "gb18030",
        ),
    }
}

fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    let count = |c: char| first.chars().filter(|x| *x == c).count();
    let (comma, tab, semi) = (count(','), count('\t'), count(';'));
    if tab > comma && tab >= semi {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

fn csv_builder(delim: u8) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(false).flexible(true).delimiter(delim);
    b
}

/// Import csv bytes (UTF-8 with or without BOM, or GB18030).
pub fn import_csv(bytes: &[u8], opts: ImportOptions<'_>) -> Result<Imported, ImportError> {
    let (text, enc) = decode_csv(bytes, opts.encoding);
    let delim = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&text));
    // a quick first pass for the total the progress callback reports
    let records = if opts.progress.is_some() {
        let mut r = csv_builder(delim).from_reader(text.as_bytes());
        let mut rec = csv::ByteRecord::new();
        let mut n = 0u64;
        while r
            .read_byte_record(&mut rec)
            .map_err(|e| ImportError::Csv(e.to_string()))?
        {
            n += 1;
        }
        Some(n)
    } else {
        None
    };
    let mut sink = Sink::new(opts)?;
    sink.rows_in_file = records;
    sink.report.encoding = Some(enc.to_string());
    let mut rdr = csv_builder(delim).from_reader(text.as_bytes());
    let mut rec = csv::StringRecord::new();
    let mut n: u32 = 0;
    while rdr
        .read_record(&mut rec)
        .map_err(|e| ImportError::Csv(e.to_string()))?
    {
        n += 1;
        if !sink.count_cells(rec.len() as u64, rec.len() as u64) {
            break;
        }
        let cells: Vec<Cell<'_>> = rec.iter().map(csv_cell).collect();
        if !sink.feed(n, &cells) {
            break;
        }
    }
    sink.finish()
}

/// A csv cell; a `'` that guards a leading `=`, `+`, `-` or `@` against formula
/// injection (as [`crate::write_csv`] writes it) is removed.
fn csv_cell(s: &str) -> Cell<'_> {
    if s.trim().is_empty() {
        return Cell::Empty;
    }
    if let Some(rest) = s.strip_prefix('\'') {
        if rest.starts_with(['=', '+', '-', '@']) {
            return Cell::Text(Cow::Borrowed(rest));
        }
    }
    Cell::Text(Cow::Borrowed(s))
}

/// Import an xlsx workbook, streaming the sheet's cells.
pub fn import_xlsx<R: Read + Seek>(
    mut reader: R,
    opts: ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    use calamine::{DataRef, Reader};
    let xerr = |e: calamine::XlsxError| ImportError::Xlsx(e.to_string());
    // nothing reads the workbook before its zip is known to be inside the bounds
    check_zip(&mut reader, &opts.limits)
        .map_err(ImportError::Xlsx)?
        .map_err(ImportError::TooLarge)?;
    let mut wb: calamine::Xlsx<R> = calamine::Xlsx::new(reader).map_err(xerr)?;
    let names = wb.sheet_names();
    let mut sink = Sink::new(opts)?;
    let name = match sink.sheet.take() {
        Some(s) if names.contains(&s) => s,
        Some(s) => {
            sink.file_error(
                codes::SHEET_NOT_FOUND,
                format!("工作簿中没有名为「{s}」的工作表"),
                format!("the workbook has no sheet named '{s}'"),
                None,
            );
            return sink.finish();
        }
        None => match names.first() {
            Some(s) => s.clone(),
            None => {
                sink.no_header();
                return sink.finish();
            }
        },
    };
    let mut cr = wb.worksheet_cells_reader(&name).map_err(xerr)?;
    let dims = cr.dimensions();
    // a sheet without a <dimension> element gives (0, 0): total unknown
    sink.rows_in_file = (dims.end.0 > 0).then(|| u64::from(dims.end.0) + 1);
    let mut cur: Option<u32> = None;
    let mut cells: Vec<Cell<'_>> = Vec::new();
    let mut go_on = true;
    while let Some(c) = cr.next_cell().map_err(xerr)? {
        let (r, col) = c.get_position();
        if !sink.count_cells(1, u64::from(col) + 1) {
            go_on = false;
            break;
        }
        if cur != Some(r) {
            if let Some(prev) = cur {
                go_on = sink.feed(prev + 1, &cells);
                if !go_on {
                    break;
                }
            }
            cells.clear();
            cur = Some(r);
        }
        let col = col as usize;
        if cells.len() <= col {
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = match c.get_value().clone() {
            DataRef::Int(i) => Cell::Int(i),
            DataRef::Float(f) => Cell::Number(f),
            DataRef::String(s) if s.trim().is_empty() => Cell::Empty,
            DataRef::String(s) => Cell::Text(Cow::Owned(s)),
            DataRef::SharedString(s) if s.trim().is_empty() => Cell::Empty,
            DataRef::SharedString(s) => Cell::Text(Cow::Borrowed(s)),
            DataRef::Bool(b) => Cell::Text(Cow::Borrowed(if b { "TRUE" } else { "FALSE" })),
            DataRef::DateTime(d) => Cell::Serial(d.as_f64()),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(Cow::Owned(s)),
            DataRef::Error(e) => Cell::Error(e.to_string()),
            DataRef::Empty => Cell::Empty,
        };
    }
    if go_on {
        if let Some(prev) = cur {
            sink.feed(prev + 1, &cells);
        }
    }
    sink.finish()
}

#[derive(Debug, Clone, PartialEq)]
enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Int(i64),
    Number(f64),
    /// A date-formatted number (xlsx).
    Serial(f64),
    /// An Excel error value.
    Error(String),
}

impl Cell<'_> {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) => Cow::Borrowed(s.as_ref()),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Number(f) => Cow::Owned(number_text(*f)),
            Cell::Serial(f) => Cow::Owned(
                ReceivedAt::from_excel_serial(*f)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| number_text(*f)),
            ),
            Cell::Error(e) => Cow::Borrowed(e.as_str()),
        }
    }

    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// Whole numbers without `.0` (phone numbers typed as numbers).
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// Shorten long text and mask personal data for the report.
fn shown_value(field: Field, raw: &str) -> String {
    let raw = raw.trim();
    match field {
        Field::ReporterName => mask_name(raw),
        Field::Phone => mask_phone(raw),
        Field::IdNumber => mask_id_number(raw),
        _ => {
            const MAX: usize = 30;
            if raw.chars().count() > MAX {
                let head: String = raw.chars().take(MAX).collect();
                format!("{head}…")
            } else {
                raw.to_string()
            }
        }
    }
}

struct Sink<'a> {
    mapping: HashMap<String, Field>,
    ignored: HashSet<String>,
    channels: HashMap<String, Channel>,
    required: Vec<Field>,
    lenient: bool,
    sheet: Option<String>,
    max_problems: usize,
    resolver: Option<&'a dyn PlaceResolver>,
    progress: Option<&'a mut dyn FnMut(u64, Option<u64>)>,
    progress_every: u64,
    next_progress: u64,
    place_cache: HashMap<String, Result<Option<String>, PlaceError>>,
    /// Field of each column, and its header.
    fields: Vec<Option<Field>>,
    headers: Vec<std::rc::Rc<str>>,
    header_seen: bool,
    /// Fixed header row, or `None` to look for it.
    header_row: Option<u32>,
    /// The row the headers were found on.
    header_at: u32,
    /// While looking: the first non-blank row, the header if none is recognised.
    first_row: Option<(u32, Vec<String>)>,
    file_failed: bool,
    /// Rows (records) in the file, when known: the progress total follows from it.
    rows_in_file: Option<u64>,
    total: Option<u64>,
    done: u64,
    report: Report,
    rows: Vec<LedgerRow>,
    limits: Limits,
    cells: u64,
    /// The bound passed: the import stops and is refused.
    too_large: Option<TooLarge>,
}

impl<'a> Sink<'a> {
    fn new(opts: ImportOptions<'a>) -> Result<Self, ImportError> {
        Ok(Sink {
            mapping: opts.mapping.resolve()?,
            ignored: opts.mapping.ignored(),
            channels: opts.mapping.channel_table()?,
            required: opts.mapping.required.clone(),
            lenient: opts.lenient,
            sheet: opts.sheet,
            max_problems: opts.max_problems,
            resolver: opts.resolver,
            progress: opts.progress,
            progress_every: opts.progress_every.max(1),
            next_progress: opts.progress_every.max(1),
            place_cache: HashMap::new(),
            fields: Vec::new(),
            headers: Vec::new(),
            header_seen: false,
            header_row: opts.header_row.map(|h| h.max(1)),
            header_at: 0,
            first_row: None,
            file_failed: false,
            rows_in_file: None,
            total: None,
            done: 0,
            report: Report::default(),
            rows: Vec::new(),
            limits: opts.limits,
            cells: 0,
            too_large: None,
        })
    }

    fn file_error(&mut self, code: &str, zh: String, en: String, column: Option<String>) {
        self.file_failed = true;
        self.report.push(
            Problem {
                severity: Severity::Error,
                row: None,
                column,
                field: None,
                code: code.to_string(),
                message_zh: zh,
                message_en: en,
                value: None,
            },
            self.max_problems,
        );
    }

    fn no_header(&mut self) {
        self.file_error(
            codes::NO_HEADER,
            "文件中没有表头行".to_string(),
            "the file has no header row".to_string(),
            None,
        );
    }

    fn exceeded(&mut self, limit: Limit, max: u64) -> bool {
        self.too_large = Some(TooLarge {
            limit,
            max,
            entry: None,
        });
        self.rows = Vec::new();
        false
    }

    /// Count `n` more cells read, of a row at least `columns` wide; false:
    /// a bound is passed, stop reading.
    fn count_cells(&mut self, n: u64, columns: u64) -> bool {
        self.cells += n;
        if columns > u64::from(self.limits.max_columns) {
            return self.exceeded(Limit::Columns, u64::from(self.limits.max_columns));
        }
        if self.cells > self.limits.max_cells {
            return self.exceeded(Limit::Cells, self.limits.max_cells);
        }
        true
    }

    /// Feed one spreadsheet row; false: stop reading (the header was refused,
    /// or a bound is passed).
    fn feed(&mut self, row: u32, cells: &[Cell<'_>]) -> bool {
        if !self.header_seen {
            return self.look_for_header(row, cells);
        }
        self.row(row, cells);
        if self.report.rows_read > self.limits.max_rows {
            return self.exceeded(Limit::Rows, self.limits.max_rows);
        }
        // rows since the header: blank rows of a sheet (absent from the xlsx) count,
        // so that `done` reaches the total from the sheet's dimension
        self.done = u64::from(row - self.header_at);
        if self.done >= self.next_progress {
            self.next_progress = (self.done / self.progress_every + 1) * self.progress_every;
            if let Some(p) = self.progress.as_mut() {
                p(self.done, self.total);
            }
        }
        true
    }

    /// Before the header: false to stop reading.
    fn look_for_header(&mut self, row: u32, cells: &[Cell<'_>]) -> bool {
        match self.header_row {
            Some(h) if row < h => return true,
            Some(h) if row > h => {
                self.no_header();
                return false;
            }
            Some(_) => {}
            None => {
                if cells.iter().all(Cell::is_blank) {
                    return true;
                }
                let known = |c: &Cell<'_>| {
                    let k = normalize_header(&c.text());
                    self.mapping.contains_key(&k) || self.ignored.contains(&k)
                };
                if !cells.iter().any(known) {
                    if self.first_row.is_none() {
                        let texts = cells.iter().map(|c| c.text().into_owned()).collect();
                        self.first_row = Some((row, texts));
                    }
                    if row < AUTO_HEADER_ROWS {
                        return true;
                    }
                    // nothing recognised: the first row is the header (and says what is missing)
                    self.first_row_as_header();
                    return false;
                }
            }
        }
        self.header(row, cells);
        !self.file_failed
    }

    fn first_row_as_header(&mut self) {
        match self.first_row.take() {
            Some((row, texts)) => {
                let cells: Vec<Cell<'_>> = texts
                    .into_iter()
                    .map(|t| Cell::Text(Cow::Owned(t)))
                    .collect();
                self.header(row, &cells);
            }
            None => self.no_header(),
        }
    }

    fn header(&mut self, row: u32, cells: &[Cell<'_>]) {
        self.header_seen = true;
        self.header_at = row;
        self.total = self.rows_in_file.map(|n| n.saturating_sub(u64::from(row)));
        let mut seen: HashMap<Field, String> = HashMap::new();
        for cell in cells {
            let h = cell.text().trim().to_string();
            self.headers.push(std::rc::Rc::from(h.as_str()));
            let key = normalize_header(&h);
            let field = if key.is_empty() {
                None
            } else {
                self.mapping.get(&key).copied()
            };
            match field {
                Some(f) => {
                    if let Some(first) = seen.get(&f) {
                        let p = Problem {
                            severity: Severity::Warning,
                            row: Some(row),
                            column: Some(h.clone()),
                            field: Some(f),
                            code: codes::DUPLICATE_COLUMN.to_string(),
                            message_zh: format!(
                                "「{h}」与「{first}」对应同一项，只导入「{first}」列"
                            ),
                            message_en: format!(
                                "column '{h}' maps to the same field ({}) as '{first}'; only '{first}' is imported",
                                f.as_str()
                            ),
                            value: None,
                        };
                        self.report.push(p, self.max_problems);
                        self.fields.push(None);
                    } else {
                        seen.insert(f, h.clone());
                        self.fields.push(Some(f));
                    }
                }
                None => {
                    if !key.is_empty() && !self.ignored.contains(&key) {
                        let p = Problem {
                            severity: Severity::Warning,
                            row: Some(row),
                            column: Some(h.clone()),
                            field: None,
                            code: codes::UNKNOWN_COLUMN.to_string(),
                            message_zh: format!("未识别的列「{h}」，该列不导入"),
                            message_en: format!("unknown column '{h}' is not imported"),
                            value: None,
                        };
                        self.report.push(p, self.max_problems);
                    }
                    self.fields.push(None);
                }
            }
        }
        for f in self.required.clone() {
            if !seen.contains_key(&f) {
                let names = f.default_headers().join("、");
                self.file_error(
                    codes::REQUIRED_COLUMN_MISSING,
                    format!("缺少必填列「{}」（可用表头：{names}）", f.zh()),
                    format!(
                        "required column for '{}' is missing (e.g. {})",
                        f.as_str(),
                        f.zh()
                    ),
                    None,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn row_problem(
        &mut self,
        row: u32,
        col: usize,
        field: Field,
        code: &str,
        zh: String,
        en: String,
        raw: &str,
    ) {
        let column = self.headers.get(col).map(|h| h.to_string());
        let value = if raw.trim().is_empty() {
            None
        } else {
            Some(shown_value(field, raw))
        };
        self.report.push(
            Problem {
                severity: Severity::Error,
                row: Some(row),
                column,
                field: Some(field),
                code: code.to_string(),
                message_zh: format!("第 {row} 行：{zh}"),
                message_en: format!("row {row}: {en}"),
                value,
            },
            self.max_problems,
        );
    }

    fn field_error(&mut self, row: u32, col: usize, field: Field, e: FieldError, raw: &str) {
        self.row_problem(
            row,
            col,
            field,
            e.kind.code(),
            e.message_zh(),
            e.message_en(),
            raw,
        );
    }

    fn row(&mut self, row: u32, cells: &[Cell<'_>]) {
        if cells.iter().all(Cell::is_blank) {
            return;
        }
        self.report.rows_read += 1;
        let errors_before = self.report.errors;
        let mut out = LedgerRow {
            row,
            ..LedgerRow::default()
        };
        // fields with a value (or an error value) in this row, as bits
        let mut present: u32 = 0;
        for col in 0..self.fields.len() {
            let Some(field) = self.fields[col] else {
                continue;
            };
            let cell = cells.get(col).unwrap_or(&Cell::Empty);
            let h = self.headers[col].clone();
            if let Cell::Error(e) = cell {
                self.row_problem(
                    row,
                    col,
                    field,
                    codes::CELL_ERROR,
                    format!("「{h}」单元格是错误值 {e}"),
                    format!("cell '{h}' holds the error value {e}"),
                    e,
                );
                present |= 1 << field as u32;
                continue;
            }
            let text = cell.text();
            if is_placeholder(&text) {
                continue;
            }
            present |= 1 << field as u32;
            let text = text.as_ref();
            match field {
                Field::Serial => match bounded_text(&h, text, MAX_NAME, false) {
                    Ok(v) => out.serial = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::ReceivedAt => {
                    let parsed = match cell {
                        Cell::Serial(v) => ReceivedAt::from_excel_serial(*v),
                        Cell::Number(v) if *v < 3_000_000.0 => ReceivedAt::from_excel_serial(*v),
                        Cell::Int(v) if *v < 3_000_000 => ReceivedAt::from_excel_serial(*v as f64),
                        _ => ReceivedAt::parse(text),
                    };
                    match parsed {
                        Some(v) => out.received_at = Some(v),
                        None => self.row_problem(
                            row,
                            col,
                            field,
                            codes::INVALID_DATE,
                            format!("「{h}」不是可识别的日期（如 2024-03-05、2024/3/5 14:20、2024年3月5日）"),
                            format!("field '{h}' is not a recognised date (e.g. 2024-03-05, 2024/3/5 14:20, 2024年3月5日)"),
                            text,
                        ),
                    }
                }
                Field::Channel => match self.channels.get(&normalize_value(text)) {
                    Some(c) => out.channel = Some(*c),
                    None => self.row_problem(
                        row,
                        col,
                        field,
                        codes::UNKNOWN_CHANNEL,
                        format!("「{h}」不是已知的受理渠道（如 12345热线、来访、来信、网上、微信群）"),
                        format!("field '{h}' is not a known intake channel (e.g. 12345热线, 来访, 来信, 网上, 微信群)"),
                        text,
                    ),
                },
                Field::ReporterName => match bounded_text(&h, text, MAX_NAME, false) {
                    Ok(v) => out.reporter_name = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Phone => {
                    // several numbers in one cell: 13800138000/0731-8123456
                    let parsed: Result<Vec<PhoneNumber>, FieldError> = text
                        .split(PHONE_SEPARATORS)
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| PhoneNumber::parse(&h, p))
                        .collect();
                    match parsed {
                        Ok(list) => {
                            let mut list = list.into_iter().map(|p| p.as_str().to_string());
                            out.phone = list.next();
                            out.other_phones = list.collect();
                        }
                        Err(e) => self.field_error(row, col, field, e, text),
                    }
                }
                Field::IdNumber => match IdNumber::parse(&h, text) {
                    Ok(v) => out.id_number = Some(v.as_str().to_string()),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Place => match bounded_text(&h, text, MAX_ADDRESS, false) {
                    Ok(v) => {
                        if let Some(res) = self.resolver {
                            let r = self
                                .place_cache
                                .entry(v.clone())
                                .or_insert_with(|| res.resolve(&v))
                                .clone();
                            match r {
                                Ok(unit) => out.place_unit = unit,
                                Err(pe) => self.row_problem(
                                    row,
                                    col,
                                    field,
                                    codes::UNRESOLVED_PLACE,
                                    format!("「{h}」{}", pe.message_zh),
                                    format!("field '{h}': {}", pe.message_en),
                                    text,
                                ),
                            }
                        }
                        out.place = Some(v);
                    }
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Title => match bounded_text(&h, text, MAX_TITLE, false) {
                    Ok(v) => out.title = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Content => match bounded_text(&h, text, MAX_CONTENT, true) {
                    Ok(v) => out.content = v,
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Category => match bounded_text(&h, text, MAX_SHORT, false) {
                    Ok(v) => out.category = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::HandlingUnit => match bounded_text(&h, text, MAX_SHORT, false) {
                    Ok(v) => out.handling_unit = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Status => match bounded_text(&h, text, MAX_SHORT, false) {
                    Ok(v) => out.status = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Reply => match bounded_text(&h, text, MAX_CONTENT, true) {
                    Ok(v) => out.reply = Some(v),
                    Err(e) => self.field_error(row, col, field, e, text),
                },
                Field::Satisfaction => match Satisfaction::parse(text) {
                    Ok(v) => out.satisfaction = v,
                    Err(()) => self.row_problem(
                        row,
                        col,
                        field,
                        codes::UNKNOWN_SATISFACTION,
                        format!("「{h}」应为 满意、基本满意、一般 或 不满意"),
                        format!("field '{h}' must be 满意, 基本满意, 一般 or 不满意"),
                        text,
                    ),
                },
            }
        }
        for i in 0..self.required.len() {
            let f = self.required[i];
            if present & (1 << f as u32) == 0 {
                if let Some(col) = self.fields.iter().position(|x| *x == Some(f)) {
                    let e = FieldError::new(
                        self.headers[col].to_string(),
                        suqiu_domain::validate::FieldErrorKind::Empty,
                    );
                    self.field_error(row, col, f, e, "");
                }
            }
        }
        if self.report.errors > errors_before {
            self.report.rows_rejected += 1;
            if !self.lenient {
                // nothing will be returned: stop keeping rows
                self.rows = Vec::new();
            }
        } else {
            self.report.rows_ok += 1;
            if self.lenient || self.report.errors == 0 {
                self.rows.push(out);
            }
        }
    }

    fn finish(mut self) -> Result<Imported, ImportError> {
        if let Some(t) = self.too_large.take() {
            return Err(ImportError::TooLarge(t));
        }
        if !self.header_seen && !self.file_failed {
            self.first_row_as_header();
        }
        if let Some(p) = self.progress.as_mut() {
            p(self.done, Some(self.done));
        }
        if self.file_failed || (!self.lenient && self.report.has_errors()) {
            return Err(ImportError::Rejected(Box::new(self.report)));
        }
        Ok(Imported {
            rows: self.rows,
            report: self.report,
        })
    }
}
