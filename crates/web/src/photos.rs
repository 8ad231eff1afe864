//! Photos of a case over HTTP. `POST /api/v1/cases/{id}/attachments`: the
//! body is the image itself (up to [`PHOTO_BODY_LIMIT`]); staff with a
//! session or token who may see the case, or the resident with the tracking
//! code in the `X-Tracking-Code` header. The type is read from the bytes.
//! Reads answer the stored type with `X-Content-Type-Options: nosniff`.

use crate::problem::Problem;
use crate::{parse_id, ApiResult, MaybeStaff};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use suqiu_app::photos::{PhotoAccess, MAX_PHOTO_BYTES};
use suqiu_app::{App, AppError};

/// Largest request body of the attachment route (one photo and a margin;
/// the app refuses photos over `MAX_PHOTO_BYTES` with its own error).
pub const PHOTO_BODY_LIMIT: usize = MAX_PHOTO_BYTES + 64 * 1024;

/// The resident's tracking code, from the `X-Tracking-Code` header.
fn tracking_code(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-tracking-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Staff by their credentials, else the resident by the tracking code, with
/// the address the tracking limits apply to (none for staff): the request
/// then goes through [`App::by_tracking_code`], so a resident's guesses count.
fn access<'a>(
    staff: &'a Option<suqiu_app::StaffUser>,
    code: &'a Option<String>,
    ip: Option<std::net::IpAddr>,
) -> Result<(PhotoAccess<'a>, Option<std::net::IpAddr>), Problem> {
    match (staff, code) {
        (Some(u), _) => Ok((PhotoAccess::Staff(u), None)),
        (None, Some(c)) => Ok((PhotoAccess::Code(c), ip)),
        (None, None) => Err(AppError::Unauthenticated.into()),
    }
}

fn parse_photo(raw: &str) -> Result<u32, Problem> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::PhotoNotFound.into())
}

pub async fn attach(
    State(app): State<App>,
    MaybeStaff(staff): MaybeStaff,
    crate::ClientIp(ip): crate::ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let code = tracking_code(&headers);
    let (by, ip) = access(&staff, &code, ip)?;
    let id = parse_id(&id)?;
    let bytes = axum::body::to_bytes(body, PHOTO_BODY_LIMIT)
        .await
        .map_err(|_| AppError::PhotoTooLarge(MAX_PHOTO_BYTES))?;
    let n = app
        .by_tracking_code(ip, app.attach_photo(by, Some(id), bytes.to_vec()))
        .await?;
    let url = format!("/api/v1/cases/{id}/attachments/{n}");
    let mut res = (
        StatusCode::CREATED,
        Json(json!({"case_id": id, "photo": n, "url": url})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

pub async fn list(
    State(app): State<App>,
    MaybeStaff(staff): MaybeStaff,
    crate::ClientIp(ip): crate::ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let code = tracking_code(&headers);
    let (by, ip) = access(&staff, &code, ip)?;
    let id = parse_id(&id)?;
    let photos = app.by_tracking_code(ip, app.photos(by, Some(id))).await?;
    Ok(Json(json!({
        "photos": photos.iter().map(|p| json!({
            "photo": p.n,
            "content_type": p.content_type,
            "bytes": p.size,
            "added_at": crate::dto::time(p.added_at),
            "url": format!("/api/v1/cases/{id}/attachments/{}", p.n),
        })).collect::<Vec<_>>(),
    })))
}

pub async fn get(
    State(app): State<App>,
    MaybeStaff(staff): MaybeStaff,
    crate::ClientIp(ip): crate::ClientIp,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let code = tracking_code(&headers);
    let (by, ip) = access(&staff, &code, ip)?;
    let id = parse_id(&id)?;
    let n = parse_photo(&n)?;
    let photo = app.photo(by, Some(id), n);
    Ok(suqiu_pages::photo_response(
        app.by_tracking_code(ip, photo).await?,
    ))
}

pub async fn get_by_code(
    State(app): State<App>,
    crate::ClientIp(ip): crate::ClientIp,
    Path((code, n)): Path<(String, String)>,
) -> ApiResult<Response> {
    let n = parse_photo(&n)?;
    let photo = app.photo(PhotoAccess::Code(&code), None, n);
    Ok(suqiu_pages::photo_response(
        app.by_tracking_code(ip, photo).await?,
    ))
}
