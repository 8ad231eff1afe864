//! Ledger (台账) import and export over HTTP.
//!
//! `POST /api/v1/ledger/import`: the body is the file (xlsx or csv, up to
//! [`LEDGER_BODY_LIMIT`]); query `lenient`, `encoding`, `dry_run`. Answers the
//! report: 201 with counts when cases were written, 200 for a dry run, 422
//! (`ledger_rejected`) with the row-level problems when nothing was written.
//! A workbook or file past the bounds of `suqiu_ledger::Limits` (a zip bomb,
//! too many rows, cells or columns) answers 413 `ledger_too_large`.
//! `GET /api/v1/ledger/export?format=xlsx|csv&…` (the filters of the case
//! list, `unmask_reason` to unmask): an attachment.

use crate::dto::{decode_component, ListQuery};
use crate::problem::Problem;
use crate::{ApiResult, Staff};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use suqiu_app::ledger::{
    CsvEncoding, ExportFormat, Format, ImportOutcome, LedgerImport, LedgerSource,
};
use suqiu_app::{App, AppError, CaseFilter};

/// Largest ledger upload (the JSON routes take 64 KiB).
pub const LEDGER_BODY_LIMIT: usize = 64 * 1024 * 1024;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The query's pairs: (raw pair, decoded key, decoded value).
fn query_pairs(query: Option<&str>) -> Result<Vec<(&str, String, String)>, Problem> {
    let pairs = query.unwrap_or("").split('&').filter(|p| !p.is_empty());
    pairs
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component("query", k)?;
            let val = decode_component(&key, v)?;
            Ok((pair, key, val))
        })
        .collect()
}

fn flag(name: &str, v: &str) -> Result<bool, Problem> {
    match v {
        "" | "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(Problem::bad_query(name)),
    }
}

pub async fn import(
    State(app): State<App>,
    Staff(user, _): Staff,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (mut lenient, mut dry_run, mut encoding) = (false, false, CsvEncoding::Auto);
    for (_, k, v) in query_pairs(query.as_deref())? {
        match k.as_str() {
            "lenient" => lenient = flag("lenient", &v)?,
            "dry_run" => dry_run = flag("dry_run", &v)?,
            "encoding" => {
                encoding = match v.as_str() {
                    "auto" => CsvEncoding::Auto,
                    "utf8" | "utf-8" => CsvEncoding::Utf8,
                    "gb18030" | "gbk" => CsvEncoding::Gb18030,
                    _ => return Err(Problem::bad_query("encoding").into()),
                }
            }
            _ => return Err(Problem::bad_query(&k).into()),
        }
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let format = match ctype.as_str() {
        XLSX_TYPE => Some(Format::Xlsx),
        "text/csv" | "text/plain" | "application/csv" => Some(Format::Csv),
        "application/octet-stream" => None,
        _ => return Err(Problem::unsupported_media_type().into()),
    };
    if !suqiu_app::privacy::allowed(user.role, suqiu_app::privacy::Permission::ImportLedger) {
        return Err(AppError::Forbidden.into());
    }
    let bytes = axum::body::to_bytes(body, LEDGER_BODY_LIMIT)
        .await
        .map_err(|_| Problem::payload_too_large(LEDGER_BODY_LIMIT))?;
    // Reading a large workbook is CPU work: off the async workers.
    let rt = tokio::runtime::Handle::current();
    let summary = tokio::task::spawn_blocking(move || {
        rt.block_on(async {
            let opts = LedgerImport {
                lenient,
                encoding,
                format,
                dry_run,
                ..Default::default()
            };
            app.import_ledger(&user, LedgerSource::Bytes(&bytes), opts)
                .await
        })
    })
    .await
    .map_err(|_| Problem::internal())??;
    let body = serde_json::to_value(&summary).map_err(|_| Problem::internal())?;
    Ok(match summary.outcome {
        ImportOutcome::Imported => (StatusCode::CREATED, axum::Json(body)).into_response(),
        ImportOutcome::Checked => (StatusCode::OK, axum::Json(body)).into_response(),
        ImportOutcome::Rejected => {
            let mut doc = json!({
                "type": "urn:suqiu:problem:ledger_rejected",
                "title": "the ledger was refused; nothing was imported",
                "status": 422,
                "code": "ledger_rejected",
                "message_zh": "台账有错误，未导入任何一行；请按报告修改后重新导入",
                "message_en": "the ledger was refused; nothing was imported. Fix the rows in the report and import again",
            });
            if let (Some(d), Some(s)) = (doc.as_object_mut(), body.as_object()) {
                d.extend(s.clone());
            }
            let mut r = (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(doc)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            r
        }
    })
}

pub async fn export(
    State(app): State<App>,
    Staff(user, _): Staff,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let mut format = ExportFormat::Xlsx;
    let mut reason = None;
    let mut rest = Vec::new();
    for (pair, k, v) in query_pairs(query.as_deref())? {
        match k.as_str() {
            "format" => {
                format = ExportFormat::parse(&v).ok_or_else(|| Problem::bad_query("format"))?
            }
            "unmask_reason" => reason = Some(v),
            "cursor" | "limit" => return Err(Problem::bad_query(&k).into()),
            _ => rest.push(pair),
        }
    }
    // unmasking needs what POST /cases/{id}/unmask needs of an API token
    let personal = suqiu_app::tokens::Scope::PersonalData;
    if reason.is_some() && user.token.is_some() && !user.has_scope(personal) {
        return Err(AppError::MissingScope(personal.as_str()).into());
    }
    let q = ListQuery::parse(&rest.join("&"))?;
    let filter = CaseFilter {
        statuses: q.statuses,
        channels: q.channels,
        from: q.from,
        to: q.to,
        ..Default::default()
    };
    let e = app
        .export_cases(&user, q.unit.as_deref(), filter, format, reason.as_deref())
        .await?;
    let (ctype, ext) = match format {
        ExportFormat::Xlsx => (XLSX_TYPE, "xlsx"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let stamp = suqiu_app::format_china_time(app.now())
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let disposition = format!(
        "attachment; filename=\"ledger-{stamp}.{ext}\"; filename*=UTF-8''%E5%8F%B0%E8%B4%A6-{stamp}.{ext}"
    );
    let mut r = (StatusCode::OK, e.bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&e.rows.to_string()) {
        h.insert("x-suqiu-rows", v);
    }
    Ok(r)
}
