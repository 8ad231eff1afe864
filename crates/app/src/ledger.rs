//! Ledger (台账) import and export: the spreadsheets counties already keep.
//!
//! Import: the file is read by `suqiu-ledger` (column mapping, row-level
//! report), every row's place is resolved in the org tree within the
//! importer's scope, every row is validated as an intake exactly as the API
//! files it (`App::intake_write`), then all cases are written with
//! `Store::write_cases` in one transaction: all or nothing (unless lenient,
//! when bad rows are reported and the good ones written). The ledger's
//! receipt time becomes the case's receipt time; the ledger-only columns
//! (serial, category, handling unit, status, reply, satisfaction) are kept as
//! one internal note (`Event::NoteAdded`) on the case. No resident is
//! notified of an imported (historical) matter. One audit entry per import,
//! in the same transaction as the cases.
//!
//! Export: the user's visible cases (`App::list_cases`, paged) as the
//! canonical ledger table (re-importable), personal data masked unless the
//! user may unmask and asks for it with a reason (audited before anything is
//! returned).

use crate::cases::{journals, replay, WriteTarget};
use crate::privacy::{allowed, Permission};
use crate::{App, AppError, Result, StaffUser};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use suqiu_domain::case::{self, Actor, Channel, Event, IntakeInput, Millis};
use suqiu_domain::validate::{mask_id_number, mask_name, mask_phone};
use suqiu_domain::workflow::{self, Ctx, Rating};
use suqiu_store::{CaseFilter, CaseWrite, StoreError};

/// The spreadsheet crate itself (tests and tools write ledgers with it).
pub use suqiu_ledger as sheet;
pub use suqiu_ledger::{
    codes, ColumnMapping, CsvEncoding, Format, LedgerRow, Problem, Report, Severity,
};

/// Stable codes of problems the app adds to the ledger's report.
pub mod app_codes {
    /// File: not a readable xlsx/csv file (or an unreadable mapping).
    pub const UNREADABLE_FILE: &str = "unreadable_file";
    /// Row: the intake is refused (the message names the field).
    pub const INVALID_INTAKE: &str = "invalid_intake";
    /// Row: the receipt time lies in the future.
    pub const RECEIVED_IN_FUTURE: &str = "received_in_future";
}

/// Rows one import takes (one transaction). This and the other bounds of
/// [`sheet::Limits`] are applied while the file is read: past one, the import
/// is refused with [`AppError::LedgerTooLarge`] (`ledger_too_large`).
pub const MAX_IMPORT_ROWS: usize = suqiu_ledger::MAX_ROWS as usize;
/// Cases read per page when exporting.
const EXPORT_PAGE: u32 = 1_000;
/// A receipt time this far past the clock is still accepted (clock skew).
const FUTURE_SLACK_MS: Millis = 10 * 60 * 1000;

/// Where the ledger comes from.
pub enum LedgerSource<'a> {
    Bytes(&'a [u8]),
    Path(&'a Path),
}

/// How to import.
pub struct LedgerImport<'a> {
    pub mapping: ColumnMapping,
    /// Write the good rows and report the bad ones (default: all or nothing).
    pub lenient: bool,
    pub encoding: CsvEncoding,
    /// `None`: by extension (paths) or content.
    pub format: Option<Format>,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Channel of rows without one (default: 来访 visit).
    pub fallback_channel: Channel,
    /// `(rows read, rows in the file if known)`, every `progress_every` rows.
    pub progress: Option<&'a mut dyn FnMut(u64, Option<u64>)>,
    pub progress_every: u64,
}

impl Default for LedgerImport<'_> {
    fn default() -> Self {
        LedgerImport {
            mapping: ColumnMapping::default(),
            lenient: false,
            encoding: CsvEncoding::Auto,
            format: None,
            dry_run: false,
            fallback_channel: Channel::Visit,
            progress: None,
            progress_every: 1_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// Cases were written (all rows, or the good ones when lenient).
    Imported,
    /// Dry run: every row checked, nothing written.
    Checked,
    /// Refused: nothing written; the report says why.
    Rejected,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub outcome: ImportOutcome,
    /// Cases written.
    pub created: u64,
    /// Ids of the cases written, in row order.
    #[serde(skip)]
    pub case_ids: Vec<i64>,
    pub first_case_id: Option<i64>,
    pub last_case_id: Option<i64>,
    pub report: Report,
    /// Wall time of the whole import (read, check, write).
    pub elapsed_ms: u64,
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "xlsx" => Some(ExportFormat::Xlsx),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }
}

/// An export: the file and how many cases it holds.
#[derive(Debug, Clone)]
pub struct Exported {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub unmasked: bool,
}

/// Resolves a ledger's place text to a place unit within the importer's scope:
/// a unit code, a unit name (unique), or a text containing a unit name (the
/// longest wins). Anything else is a row error.
struct PlaceIndex<'a> {
    user: &'a StaffUser,
    org: &'a suqiu_domain::org::OrgTree,
    by_name: HashMap<String, Vec<String>>,
    /// (name, code), longest names first
    names: Vec<(String, String)>,
}

impl<'a> PlaceIndex<'a> {
    fn new(user: &'a StaffUser, org: &'a suqiu_domain::org::OrgTree) -> Self {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for (u, _) in org.units() {
            if u.level.is_place() {
                by_name
                    .entry(u.name.clone())
                    .or_default()
                    .push(u.code.clone());
                // a grid's name is only unique with its community's: 丹阳社区第一网格
                if let Some(parent) = u.parent.as_deref().and_then(|p| org.unit(p)) {
                    if parent.level.is_place() {
                        by_name
                            .entry(format!("{}{}", parent.name, u.name))
                            .or_default()
                            .push(u.code.clone());
                    }
                }
            }
        }
        let mut names: Vec<(String, String)> = by_name
            .iter()
            .filter(|(n, codes)| codes.len() == 1 && n.chars().count() >= 2)
            .map(|(n, codes)| (n.clone(), codes[0].clone()))
            .collect();
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        PlaceIndex {
            user,
            org,
            by_name,
            names,
        }
    }

    fn err(zh: String, en: String) -> suqiu_ledger::PlaceError {
        suqiu_ledger::PlaceError {
            message_zh: zh,
            message_en: en,
        }
    }

    fn in_scope(
        &self,
        code: &str,
    ) -> std::result::Result<Option<String>, suqiu_ledger::PlaceError> {
        let path = self.org.path(code).unwrap_or("/");
        if self.user.can_see(path) {
            Ok(Some(code.to_string()))
        } else {
            Err(Self::err(
                format!(
                    "地点“{}”不在您的辖区内，不能导入",
                    self.org.unit(code).map(|u| u.name.as_str()).unwrap_or(code)
                ),
                format!("place {code} is outside your area; you may not import it"),
            ))
        }
    }
}

impl suqiu_ledger::PlaceResolver for PlaceIndex<'_> {
    fn resolve(
        &self,
        place: &str,
    ) -> std::result::Result<Option<String>, suqiu_ledger::PlaceError> {
        let t = place.trim();
        if let Some(u) = self.org.unit(t) {
            if u.level.is_place() {
                return self.in_scope(&u.code);
            }
        }
        match self.by_name.get(t).map(Vec::as_slice) {
            Some([code]) => return self.in_scope(code),
            Some(codes) if codes.len() > 1 => {
                return Err(Self::err(
                    format!("地点“{t}”有重名单位，请填写单位代码"),
                    format!("place {t} names several units; write the unit code"),
                ))
            }
            _ => {}
        }
        if let Some((_, code)) = self.names.iter().find(|(n, _)| t.contains(n.as_str())) {
            return self.in_scope(code);
        }
        Err(Self::err(
            format!("地点“{t}”不是本区的村（社区）或网格，请填写单位名称或代码"),
            format!("place {t} is no village, community or grid of the district; write the unit name or code"),
        ))
    }
}

fn row_problem(
    row: u32,
    field: Option<suqiu_ledger::Field>,
    code: &str,
    zh: String,
    en: String,
) -> Problem {
    Problem {
        severity: Severity::Error,
        row: Some(row),
        column: None,
        field,
        code: code.to_string(),
        message_zh: zh,
        message_en: en,
        value: None,
    }
}

/// Chinese and English words for an intake refusal of one row.
fn intake_problem(row: u32, e: &AppError) -> Problem {
    use suqiu_ledger::Field;
    let (code, zh, en, field) = match e {
        AppError::Invalid(f) => {
            let field = match f.field.as_str() {
                "title" => Some(Field::Title),
                "content" => Some(Field::Content),
                "address" => Some(Field::Place),
                "unit" => Some(Field::Place),
                "channel" => Some(Field::Channel),
                "reporter.name" => Some(Field::ReporterName),
                "reporter.phone" => Some(Field::Phone),
                "reporter.id_number" => Some(Field::IdNumber),
                _ => None,
            };
            (
                f.kind.code().to_string(),
                f.message_zh(),
                f.message_en(),
                field,
            )
        }
        AppError::UnknownUnit(u) | AppError::UnitNotAPlace(u) => (
            codes::UNRESOLVED_PLACE.to_string(),
            format!("没有地点（村、社区或网格）：{u}；请填写地点或在导入时指定"),
            format!("no place (village, community or grid): {u}; fill in the place"),
            Some(Field::Place),
        ),
        AppError::ProxyNeedsGridWorker => (
            app_codes::INVALID_INTAKE.to_string(),
            "“网上代访”只能由网格员录入".to_string(),
            "channel proxy is for grid workers filing for a resident".to_string(),
            Some(Field::Channel),
        ),
        other => (
            app_codes::INVALID_INTAKE.to_string(),
            format!("该行不能受理：{other}"),
            format!("the row cannot be filed: {other}"),
            None,
        ),
    };
    row_problem(row, field, &code, zh, en)
}

/// The ledger-only columns as one note's text; `None` when all are empty.
fn ledger_note(r: &LedgerRow) -> Option<String> {
    let mut parts = Vec::new();
    let mut add = |label: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            parts.push(format!("{label}：{}", v.trim()));
        }
    };
    add("台账编号", r.serial.as_deref());
    add("问题类别", r.category.as_deref());
    add("承办单位", r.handling_unit.as_deref());
    add("办理状态", r.status.as_deref());
    add("答复内容", r.reply.as_deref());
    add("满意度", r.satisfaction.map(|s| s.zh()));
    if r.other_phones.is_empty() {
    } else {
        parts.push(format!("其他电话：{}", r.other_phones.join("、")));
    }
    if parts.is_empty() {
        None
    } else {
        Some(format!("【台账导入】{}", parts.join("；")))
    }
}

fn file_report(zh: String, en: String) -> Report {
    Report {
        problems: vec![Problem {
            severity: Severity::Error,
            row: None,
            column: None,
            field: None,
            code: app_codes::UNREADABLE_FILE.to_string(),
            message_zh: zh,
            message_en: en,
            value: None,
        }],
        errors: 1,
        ..Default::default()
    }
}

impl App {
    /// The write filing `input` for `user` as received at `at` (a ledger's
    /// time), with `extra` events after the intake. Validation, place,
    /// triage unit, actor and proxy are exactly those of [`App::intake_write`];
    /// only the receipt time (and so the deadlines) and the extra events differ.
    fn intake_write_received_at(
        &self,
        input: &IntakeInput,
        user: &StaffUser,
        at: Millis,
        extra: Vec<Event>,
    ) -> Result<CaseWrite> {
        let api = self.intake_write(input, Some(user))?;
        let received = api
            .events
            .first()
            .map(|(_, _, e)| e.clone())
            .ok_or_else(|| AppError::Journal("intake without events".into()))?;
        let actor: Actor = user.actor();
        let journal = |e: case::ApplyError| AppError::Journal(e.to_string());
        let mut state = case::apply(None, &received, at).map_err(journal)?;
        let org = self.org();
        let cal = self.calendar();
        let ctx = Ctx {
            now: at,
            calendar: &cal,
            rules: &self.rules(),
            org: &org,
        };
        let mut events = vec![received];
        let deadlines = workflow::intake_deadlines(&state, &events[0], &ctx);
        for e in deadlines.into_iter().chain(extra) {
            state = case::apply(Some(state), &e, at).map_err(journal)?;
            events.push(e);
        }
        let target = WriteTarget {
            case_id: None,
            version: 0,
            code: &api.row.tracking_code,
            place_path: &api.row.place_path,
        };
        let mut w = self.case_write(target, &actor, &events, &state, at);
        // a historical matter: nobody is told of it again
        w.notifications.clear();
        Ok(w)
    }

    /// Imports a ledger for `user`. File and row problems are in the
    /// summary's report (outcome `rejected`: nothing written); `Err` is for
    /// permission and storage failures (then nothing is written either).
    pub async fn import_ledger(
        &self,
        user: &StaffUser,
        source: LedgerSource<'_>,
        mut opts: LedgerImport<'_>,
    ) -> Result<ImportSummary> {
        let started = std::time::Instant::now();
        if !allowed(user.role, Permission::ImportLedger) {
            return Err(AppError::Forbidden);
        }
        let org = self.org();
        let resolver = PlaceIndex::new(user, &org);
        let lopts = suqiu_ledger::ImportOptions {
            mapping: std::mem::take(&mut opts.mapping),
            lenient: opts.lenient,
            encoding: opts.encoding,
            resolver: Some(&resolver),
            progress: match opts.progress.as_mut() {
                Some(p) => Some(&mut **p as &mut dyn FnMut(u64, Option<u64>)),
                None => None,
            },
            progress_every: opts.progress_every.max(1),
            limits: suqiu_ledger::Limits {
                max_rows: MAX_IMPORT_ROWS as u64,
                ..Default::default()
            },
            ..Default::default()
        };
        let parsed = match source {
            LedgerSource::Bytes(b) => suqiu_ledger::import_bytes(b, opts.format, lopts),
            LedgerSource::Path(p) => suqiu_ledger::import_path(p, lopts),
        };
        let rejected = |report: Report| ImportSummary {
            outcome: ImportOutcome::Rejected,
            created: 0,
            case_ids: vec![],
            first_case_id: None,
            last_case_id: None,
            report,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let imported = match parsed {
            Ok(i) => i,
            Err(suqiu_ledger::ImportError::Rejected(r)) => return Ok(rejected(*r)),
            // a zip bomb, too many rows or cells: stopped while reading
            Err(suqiu_ledger::ImportError::TooLarge(t)) => return Err(AppError::LedgerTooLarge(t)),
            Err(e) => {
                return Ok(rejected(file_report(
                    format!("无法读取台账文件：{e}"),
                    format!("cannot read the ledger: {e}"),
                )))
            }
        };
        let mut report = imported.report;
        // Every row as an intake, checked as the API checks it.
        let now = self.now();
        let fallback_unit = org
            .unit(&user.unit)
            .filter(|u| u.level.is_place())
            .map(|u| u.code.clone())
            .unwrap_or_default();
        let mut good: Vec<(IntakeInput, Millis, Vec<Event>)> =
            Vec::with_capacity(imported.rows.len());
        let mut writes: Vec<CaseWrite> = Vec::with_capacity(imported.rows.len());
        let mut bad_rows = 0u64;
        for r in &imported.rows {
            let input = r.to_intake_input(opts.fallback_channel, &fallback_unit);
            let at = r.received_at.map(|d| d.to_millis_china()).unwrap_or(now);
            let mut problem = None;
            if at > now + FUTURE_SLACK_MS {
                problem = Some(row_problem(
                    r.row,
                    Some(suqiu_ledger::Field::ReceivedAt),
                    app_codes::RECEIVED_IN_FUTURE,
                    "受理时间晚于现在".into(),
                    "the time of receipt lies in the future".into(),
                ));
            }
            let extra: Vec<Event> = ledger_note(r)
                .map(|text| Event::NoteAdded { text })
                .into_iter()
                .collect();
            if problem.is_none() {
                match self.intake_write_received_at(&input, user, at, extra.clone()) {
                    Ok(w) => writes.push(w),
                    Err(e) => problem = Some(intake_problem(r.row, &e)),
                }
            }
            match problem {
                Some(p) => {
                    bad_rows += 1;
                    report.errors += 1;
                    if report.problems.len() < 10_000 {
                        report.problems.push(p);
                    } else {
                        report.truncated = true;
                    }
                }
                None => good.push((input, at, extra)),
            }
        }
        report.rows_ok = report.rows_ok.saturating_sub(bad_rows);
        report.rows_rejected += bad_rows;
        report.problems.sort_by_key(|p| p.row.unwrap_or(0));
        if bad_rows > 0 && !opts.lenient {
            return Ok(rejected(report));
        }
        if opts.dry_run || good.is_empty() {
            let mut s = rejected(report);
            s.outcome = if opts.dry_run {
                ImportOutcome::Checked
            } else {
                ImportOutcome::Imported
            };
            return Ok(s);
        }
        // One transaction; a (vanishingly rare) tracking-code collision is retried.
        let mut attempts = 0;
        let refs = loop {
            if writes.is_empty() {
                for (input, at, extra) in &good {
                    writes.push(self.intake_write_received_at(input, user, *at, extra.clone())?);
                }
            }
            if let Some(first) = writes.first_mut() {
                first.audit = Some(suqiu_store::AuditEntry {
                    at: now,
                    actor: user.login.clone(),
                    action: "ledger.import".into(),
                    target: String::new(),
                    reason: String::new(),
                    detail: serde_json::json!({
                        "rows_read": report.rows_read,
                        "created": good.len(),
                        "rows_rejected": report.rows_rejected,
                        "lenient": opts.lenient,
                        "encoding": report.encoding,
                    })
                    .to_string(),
                });
            }
            for w in writes.iter_mut().skip(1) {
                w.audit = None;
            }
            match self.store().write_cases(std::mem::take(&mut writes)).await {
                Err(StoreError::DuplicateTrackingCode) if attempts < 3 => attempts += 1,
                Err(e) => return Err(e.into()),
                Ok(refs) => break refs,
            }
        };
        let case_ids: Vec<i64> = refs.iter().map(|r| r.id).collect();
        for id in &case_ids {
            self.reindex(*id);
        }
        if let Err(e) = self.add_to_related(case_ids.clone()).await {
            tracing::warn!(error = %e, "adding imported cases to the related-case index");
        }
        Ok(ImportSummary {
            outcome: ImportOutcome::Imported,
            created: case_ids.len() as u64,
            first_case_id: case_ids.first().copied(),
            last_case_id: case_ids.last().copied(),
            case_ids,
            report,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Exports the cases `user` may see (narrowed by `unit` and `filter`'s
    /// statuses, channels and receipt times) as a re-importable ledger.
    /// Personal data is masked unless `unmask_reason` is given and the user
    /// may unmask (confidential reporters stay masked unless the user may
    /// unmask those too); an unmasked export is audited before it is returned.
    pub async fn export_cases(
        &self,
        user: &StaffUser,
        unit: Option<&str>,
        filter: CaseFilter,
        format: ExportFormat,
        unmask_reason: Option<&str>,
    ) -> Result<Exported> {
        let reason = match unmask_reason {
            Some(r) => {
                let r = suqiu_domain::validate::bounded_text("reason", r, 200, false)?;
                if !allowed(user.role, Permission::Unmask) {
                    return Err(AppError::Forbidden);
                }
                Some(r)
            }
            None => None,
        };
        let unmask_confidential =
            reason.is_some() && allowed(user.role, Permission::UnmaskConfidential);
        let org = self.org();
        let mut rows = Vec::new();
        let mut cursor: Option<i64> = None;
        loop {
            let page = self
                .list_cases(
                    user,
                    unit,
                    CaseFilter {
                        before_id: cursor,
                        limit: EXPORT_PAGE,
                        ..filter.clone()
                    },
                )
                .await?;
            let n = page.len();
            cursor = page.last().map(|r| r.id);
            let mut asc = page;
            asc.sort_by_key(|r| r.id);
            let events = self
                .store()
                .events_of(asc.iter().map(|r| r.id).collect())
                .await?;
            let mut chunk = Vec::with_capacity(n);
            for (row, evs) in journals(&asc, &events) {
                let s = replay(evs)?;
                let show =
                    reason.is_some() && (!s.intake.reporter.confidential || unmask_confidential);
                let rep = &s.intake.reporter;
                let reply = evs.iter().rev().find_map(|e| match &e.event {
                    Event::Replied { result, .. } => Some(result.clone()),
                    _ => None,
                });
                let place_name = org
                    .unit(&row.place_unit)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| row.place_unit.clone());
                let place = match s.intake.address.as_deref() {
                    Some(a) if !a.contains(place_name.as_str()) => format!("{place_name}，{a}"),
                    Some(a) => a.to_string(),
                    None => place_name,
                };
                chunk.push((
                    row.id,
                    LedgerRow {
                        row: 0,
                        // the case number: the tracking code is the resident's alone
                        serial: Some(row.id.to_string()),
                        received_at: received_at(s.received_at),
                        channel: Some(s.intake.channel),
                        reporter_name: Some(if show {
                            rep.name.clone()
                        } else {
                            mask_name(&rep.name)
                        }),
                        phone: Some(if show {
                            rep.phone.clone()
                        } else {
                            mask_phone(&rep.phone)
                        }),
                        other_phones: vec![],
                        id_number: rep.id_number.as_deref().map(|i| {
                            if show {
                                i.to_string()
                            } else {
                                mask_id_number(i)
                            }
                        }),
                        place: Some(place),
                        place_unit: Some(row.place_unit.clone()),
                        title: Some(s.intake.title.clone()),
                        content: s.intake.content.clone(),
                        category: s.category.clone(),
                        handling_unit: Some(self.unit_name(&s.current_unit)),
                        status: Some(s.status.zh().to_string()),
                        reply,
                        satisfaction: s.rating.map(|r| match r {
                            Rating::Satisfied => suqiu_ledger::Satisfaction::Satisfied,
                            Rating::Average => suqiu_ledger::Satisfaction::Average,
                            Rating::Unsatisfied => suqiu_ledger::Satisfaction::Unsatisfied,
                        }),
                    },
                ));
            }
            // newest first, as lists are
            chunk.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
            rows.extend(chunk.into_iter().map(|(_, r)| r));
            if n < EXPORT_PAGE as usize {
                break;
            }
        }
        if let Some(reason) = &reason {
            self.audit(
                &user.login,
                "ledger.export.unmasked",
                "cases",
                reason,
                serde_json::json!({"rows": rows.len(), "confidential": unmask_confidential}),
            )
            .await?;
        } else {
            self.audit_quietly(
                &user.login,
                "ledger.export",
                "cases",
                serde_json::json!({"rows": rows.len()}),
            )
            .await;
        }
        let table = suqiu_ledger::ledger_table(&rows);
        let mut out = std::io::Cursor::new(Vec::new());
        let written = match format {
            ExportFormat::Csv => suqiu_ledger::write_csv(&mut out, &table.headers, &table.rows),
            ExportFormat::Xlsx => {
                suqiu_ledger::write_xlsx(&mut out, "台账", &table.headers, &table.rows)
            }
        }
        .map_err(|e| AppError::Journal(format!("ledger export: {e}")))?;
        Ok(Exported {
            bytes: out.into_inner(),
            rows: written,
            unmasked: reason.is_some(),
        })
    }
}

/// A stored time as the ledger writes it (China time, to the minute or second).
fn received_at(ms: Millis) -> Option<suqiu_ledger::ReceivedAt> {
    let cst = time::UtcOffset::from_hms(8, 0, 0).ok()?;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .to_offset(cst);
    Some(suqiu_ledger::ReceivedAt {
        date: t.date(),
        time: Some(t.time().replace_millisecond(0).ok()?),
    })
}
