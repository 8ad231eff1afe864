//! The HTTP edge: the JSON API, problem documents, the OpenAPI document.
//!
//! Architecture invariant: the only crate that knows HTTP and JSON shapes; it
//! translates requests into `suqiu_app` calls and results into DTOs. No SQL.

mod admin;
mod dto;
mod ledger;
pub mod metrics;
pub mod open311;
mod photos;
mod problem;
mod templates;

pub use problem::Problem;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::Arc;
use suqiu_app::tokens::{Scope, TokenRequest};
use suqiu_app::CaseFilter;
use suqiu_app::{App, AppError, StaffUser};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Routes of the API other than the case commands: (method, path).
const BASE_ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/channels"),
    ("get", "/api/v1/units"),
    ("get", "/api/v1/deadline-rules"),
    ("get", "/api/v1/calendar"),
    ("post", "/api/v1/calendar"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases"),
    ("get", "/api/v1/cases/{id}"),
    ("get", "/api/v1/queues/{queue}"),
    ("get", "/api/v1/track/{tracking_code}"),
    ("post", "/api/v1/track/{tracking_code}/rating"),
    ("post", "/api/v1/track/{tracking_code}/notify"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/logout-all"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
    ("post", "/api/v1/cases/{id}/unmask"),
    ("post", "/api/v1/admin/users/{login}/disable"),
    ("post", "/api/v1/admin/users/{login}/enable"),
    ("post", "/api/v1/admin/users/{login}/logout-all"),
    ("get", "/api/v1/admin/audit"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/me/tokens"),
    ("post", "/api/v1/me/tokens"),
    ("post", "/api/v1/me/tokens/{token_id}/revoke"),
    ("get", "/api/v1/admin/tokens"),
    ("get", "/api/v1/admin/outbox"),
    ("get", "/api/v1/cases/{id}/suggestions"),
    ("get", "/api/v1/chat/wecom/{group}"),
    ("post", "/api/v1/chat/wecom/{group}"),
    ("post", "/api/v1/chat/dingtalk/{group}"),
    ("post", "/api/v1/admin/outbox/{notification_id}/retry"),
    ("post", "/api/v1/admin/tokens/{token_id}/revoke"),
    ("post", "/api/v1/ledger/import"),
    ("get", "/api/v1/ledger/export"),
    ("post", "/api/v1/cases/{id}/attachments"),
    ("get", "/api/v1/cases/{id}/attachments"),
    ("get", "/api/v1/cases/{id}/attachments/{photo}"),
    ("get", "/api/v1/track/{tracking_code}/attachments/{photo}"),
    ("post", "/api/v1/admin/deadline-rules"),
    ("post", "/api/v1/admin/categories"),
    ("get", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users/{login}/role"),
    ("post", "/api/v1/admin/users/{login}/password"),
    ("get", "/api/v1/admin/templates"),
    ("put", "/api/v1/admin/templates/{kind}/{audience}/{lang}"),
    ("delete", "/api/v1/admin/templates/{kind}/{audience}/{lang}"),
    ("get", "/api/v1/cases/{id}/related"),
    ("get", "/api/v1/topics"),
    ("post", "/api/v1/cases/{id}/merge"),
    ("post", "/api/v1/admin/units"),
    ("post", "/api/v1/admin/units/{code}/name"),
    ("delete", "/api/v1/admin/units/{code}"),
];

/// Every route of the API: (method, path). The OpenAPI document must list
/// exactly these (a test checks it).
pub fn routes() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = BASE_ROUTES
        .iter()
        .map(|(m, p)| (*m, p.to_string()))
        .collect();
    for name in suqiu_app::commands::NAMES {
        v.push(("post", format!("/api/v1/cases/{{id}}/{name}")));
    }
    v
}

pub const OPENAPI: &str = include_str!("openapi.json");

/// Error type of handlers: always a problem document.
pub struct ApiError(pub Problem);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e.into())
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(p)
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

/// Builds the router over an application.
/// What the served router is configured with beyond the app.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The bearer token a Prometheus scraper presents to `GET /metrics`.
    pub metrics_token: Option<String>,
    /// Scheduled backups' outcomes (`serve --backup-dir`), shown by `/metrics`.
    pub backups: Option<Arc<suqiu_store::backup::BackupStats>>,
}

/// The router with the default configuration (tests, benchmarks).
pub fn router(app: App) -> Router {
    router_with(app, &WebConfig::default())
}

/// Request ids: a per-process random prefix and a counter (`x-request-id`,
/// kept when a proxy in front already set one).
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<tower_http::request_id::RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The API, the pages and Open311 with every layer: metrics, compression,
/// request ids and access logs, security headers.
pub fn router_with(app: App, config: &WebConfig) -> Router {
    use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
    let metrics = Arc::new(metrics::Metrics::new(
        config.metrics_token.clone(),
        config.backups.clone(),
    ));
    let ids = RequestIds {
        prefix: format!("{:08x}", rand_prefix()).into(),
        next: Arc::default(),
    };
    let x_request_id = HeaderName::from_static("x-request-id");
    let trace = tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        // every line logged while a request is served carries its id (the
        // span); the access log line itself is at debug level, turned on with
        // RUST_LOG=info,tower_http=debug (a county server takes many requests)
        .on_request(())
        .on_response(
            tower_http::trace::DefaultOnResponse::new()
                .level(tracing::Level::DEBUG)
                .latency_unit(tower_http::LatencyUnit::Micros),
        );
    routes_of(app)
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ))
        .layer(axum::Extension(metrics))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(x_request_id, ids))
}

/// A random 32-bit prefix of this process's request ids.
fn rand_prefix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u32
}

fn routes_of(app: App) -> Router {
    let mut r = Router::new();
    for name in suqiu_app::commands::NAMES {
        let name: &'static str = name;
        r = r.route(
            &format!("/api/v1/cases/{{id}}/{name}"),
            post(move |state, staff, path, body| command(name, state, staff, path, body)),
        );
    }
    r.route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/channels", get(channels))
        .route("/api/v1/units", get(units))
        .route("/api/v1/cases", post(create_case).get(list_cases))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/related", get(related_cases))
        .route("/api/v1/cases/{id}/merge", post(merge_case))
        .route("/api/v1/queues/{queue}", get(queue))
        .route("/api/v1/deadline-rules", get(deadline_rules))
        .route("/api/v1/calendar", get(calendar).post(add_calendar_year))
        .route("/api/v1/track/{tracking_code}", get(track))
        .route("/api/v1/track/{tracking_code}/rating", post(rate))
        .route("/api/v1/track/{tracking_code}/notify", post(change_notify))
        .route("/api/v1/cases/{id}/unmask", post(unmask))
        .route("/api/v1/auth/logout-all", post(logout_all))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/admin/users/{login}/disable", post(disable_user))
        .route("/api/v1/admin/users/{login}/enable", post(enable_user))
        .route(
            "/api/v1/admin/users/{login}/logout-all",
            post(admin_logout_all),
        )
        .route("/api/v1/admin/audit", get(audit))
        .route("/api/v1/search", get(search))
        .route("/api/v1/topics", get(topics))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/tokens", get(my_tokens).post(create_token))
        .route("/api/v1/me/tokens/{token_id}/revoke", post(revoke_my_token))
        .route("/api/v1/admin/tokens", get(all_tokens))
        .route("/api/v1/admin/outbox", get(outbox))
        .route("/api/v1/cases/{id}/suggestions", get(suggestions))
        .route(
            "/api/v1/chat/wecom/{group}",
            get(wecom_verify).post(wecom_message),
        )
        .route("/api/v1/chat/dingtalk/{group}", post(dingtalk_message))
        .route(
            "/api/v1/admin/outbox/{notification_id}/retry",
            post(retry_notification),
        )
        .route(
            "/api/v1/admin/tokens/{token_id}/revoke",
            post(revoke_any_token),
        )
        .route("/api/v1/ledger/import", post(ledger::import))
        .route("/api/v1/ledger/export", get(ledger::export))
        .route(
            "/api/v1/cases/{id}/attachments",
            post(photos::attach)
                .get(photos::list)
                .layer(axum::extract::DefaultBodyLimit::max(
                    photos::PHOTO_BODY_LIMIT,
                )),
        )
        .route("/api/v1/cases/{id}/attachments/{photo}", get(photos::get))
        .route(
            "/api/v1/track/{tracking_code}/attachments/{photo}",
            get(photos::get_by_code),
        )
        .route("/api/v1/admin/deadline-rules", post(admin::set_rules))
        .route("/api/v1/admin/categories", post(admin::set_categories))
        .route(
            "/api/v1/admin/users",
            get(admin::users).post(admin::create_user),
        )
        .route("/api/v1/admin/users/{login}/role", post(admin::change_role))
        .route(
            "/api/v1/admin/users/{login}/password",
            post(admin::reset_password),
        )
        .route("/api/v1/admin/units", post(admin::add_unit))
        .route("/api/v1/admin/units/{code}/name", post(admin::rename_unit))
        .route(
            "/api/v1/admin/units/{code}",
            axum::routing::delete(admin::remove_unit),
        )
        .route("/api/v1/admin/templates", get(templates::list))
        .route(
            "/api/v1/admin/templates/{kind}/{audience}/{lang}",
            axum::routing::put(templates::put).delete(templates::delete),
        )
        .merge(suqiu_pages::router())
        .merge(open311::router())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(app)
}

async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let https = suqiu_pages::request_is_https(req.headers());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if https {
        // a year, as browsers' preload lists ask; only ever sent over HTTPS
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.entry("cache-control")
        .or_insert(HeaderValue::from_static("no-store")); // assets set their own
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    res
}

async fn fallback() -> ApiError {
    ApiError(Problem::not_found())
}

async fn method_not_allowed() -> ApiError {
    ApiError(Problem::method_not_allowed())
}

async fn healthz(State(app): State<App>) -> Json<Value> {
    Json(json!({"status": "ok", "backend": app.store().backend()}))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A JSON body: content type checked, size limited, UTF-8 checked, then parsed;
/// each failure is its own problem.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let ok_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mut parts = v.split(';');
                let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let charset_ok = parts.all(|p| {
                    let p = p.trim().to_ascii_lowercase();
                    !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\""
                });
                mime == "application/json" && charset_ok
            })
            .unwrap_or(false);
        if !ok_type {
            return Err(Problem::unsupported_media_type().into());
        }
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| Problem::payload_too_large(BODY_LIMIT))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Problem::invalid_utf8())?;
        match serde_json::from_str::<T>(text) {
            Ok(v) => Ok(JsonBody(v)),
            Err(e) if e.classify() == serde_json::error::Category::Data => Err(shape_error(&e)),
            Err(e) => Err(Problem::malformed_json(&e.to_string()).into()),
        }
    }
}

/// A body of the wrong shape: an unknown field is `unknown_field` naming it
/// (every body refuses fields it does not know), else `invalid_json_shape`.
pub(crate) fn shape_error(e: &serde_json::Error) -> ApiError {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((field, _)) = rest.split_once('`') {
            return AppError::Invalid(suqiu_domain::FieldError::new(
                field,
                suqiu_domain::FieldErrorKind::Unknown,
            ))
            .into();
        }
    }
    Problem::invalid_json_shape(&msg).into()
}

/// Refuses a JSON object with a field outside `known` (bodies read as a
/// `Value`), with `unknown_field` naming the first one.
pub(crate) fn only_fields(body: &Value, known: &[&str]) -> Result<(), ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(Problem::invalid_json_shape("expected an object").into());
    };
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(AppError::Invalid(suqiu_domain::FieldError::new(
            k.as_str(),
            suqiu_domain::FieldErrorKind::Unknown,
        ))
        .into()),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// A logged-in staff member (401 otherwise).
pub struct Staff(pub StaffUser, pub String);

impl FromRequestParts<App> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let user = app.authenticate(&token).await?;
        check_scope(parts, &user)?;
        Ok(Staff(user, token))
    }
}

/// What an API token needs for a route; `None`: sessions only (token
/// management, passwords, logins). Every route falls under one of these.
pub fn required_scope(method: &str, path: &str) -> Option<Scope> {
    let session_only = [
        "/api/v1/me/tokens",
        "/api/v1/admin/tokens",
        "/api/v1/me/password",
        "/api/v1/auth/",
    ];
    if session_only.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    Some(if path.ends_with("/unmask") {
        Scope::PersonalData
    } else if path.starts_with("/api/v1/admin/")
        || path == "/metrics"
        || (method.eq_ignore_ascii_case("post") && path == "/api/v1/calendar")
    {
        Scope::Admin
    } else if path.starts_with("/open311/") {
        Scope::Open311
    } else if method.eq_ignore_ascii_case("get") {
        Scope::Read
    } else {
        Scope::Write
    })
}

/// Refuses a request made with an API token that lacks the route's scope.
fn check_scope(parts: &Parts, user: &StaffUser) -> Result<(), ApiError> {
    if user.token.is_none() {
        return Ok(());
    }
    let path = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    match required_scope(parts.method.as_str(), &path) {
        None => Err(AppError::TokenNotAllowed.into()),
        Some(s) if !user.has_scope(s) => Err(AppError::MissingScope(s.as_str()).into()),
        Some(_) => Ok(()),
    }
}

/// Staff if a token is given (which must then be valid), else an anonymous resident.
pub struct MaybeStaff(pub Option<StaffUser>);

impl FromRequestParts<App> for MaybeStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match bearer(&parts.headers) {
            None => Ok(MaybeStaff(None)),
            Some(token) => {
                let user = app.authenticate(&token).await?;
                check_scope(parts, &user)?;
                Ok(MaybeStaff(Some(user)))
            }
        }
    }
}

/// The client's address, when the server knows it (not behind a test harness).
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// The reporter in full: needs the permission and a reason; audited.
async fn unmask(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let reason = body.reason.ok_or_else(|| {
        AppError::Invalid(suqiu_domain::FieldError::new(
            "reason",
            suqiu_domain::FieldErrorKind::Missing,
        ))
    })?;
    let r = app.unmask(&user, id, &reason).await?;
    Ok(Json(json!({
        "name": r.name,
        "phone": r.phone,
        "id_number": r.id_number,
        "confidential": r.confidential,
    })))
}

async fn logout_all(State(app): State<App>, Staff(user, _): Staff) -> ApiResult<Json<Value>> {
    let n = app.logout_everywhere(&user, &user.login).await?;
    Ok(Json(json!({"sessions_ended": n})))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    old_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(body): JsonBody<PasswordBody>,
) -> ApiResult<StatusCode> {
    use suqiu_domain::{FieldError, FieldErrorKind};
    let old = body.old_password.ok_or_else(|| {
        AppError::Invalid(FieldError::new("old_password", FieldErrorKind::Missing))
    })?;
    let new = body.new_password.ok_or_else(|| {
        AppError::Invalid(FieldError::new("new_password", FieldErrorKind::Missing))
    })?;
    app.change_password(&user, &old, &new).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable_user(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(login): Path<String>,
) -> ApiResult<StatusCode> {
    app.set_disabled(&user, &login, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable_user(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(login): Path<String>,
) -> ApiResult<StatusCode> {
    app.set_disabled(&user, &login, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_logout_all(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(login): Path<String>,
) -> ApiResult<Json<Value>> {
    if !suqiu_app::privacy::allowed(user.role, suqiu_app::privacy::Permission::ManageUsers) {
        return Err(AppError::Forbidden.into());
    }
    let n = app.logout_everywhere(&user, &login).await?;
    Ok(Json(json!({"sessions_ended": n})))
}

/// The audit log (administrators): records from `from`, and whether the chain verifies.
async fn audit(
    State(app): State<App>,
    Staff(user, _): Staff,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    if !suqiu_app::privacy::allowed(user.role, suqiu_app::privacy::Permission::ReadAudit) {
        return Err(AppError::Forbidden.into());
    }
    let mut from = 0i64;
    let mut limit = 500u32;
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "from" => from = v.parse().map_err(|_| Problem::bad_query("from"))?,
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|l| (1..=5000).contains(l))
                    .ok_or_else(|| Problem::bad_query("limit"))?
            }
            other => return Err(Problem::bad_query(other).into()),
        }
    }
    let rows = app
        .store()
        .audit_rows(from, limit)
        .await
        .map_err(AppError::from)?;
    let check = app.verify_audit().await?;
    Ok(Json(json!({
        "chain_ok": check.first_bad.is_none(),
        "first_bad": check.first_bad,
        "records": rows.iter().map(|r| json!({
            "seq": r.seq,
            "at": dto::time(r.entry.at),
            "actor": r.entry.actor,
            "action": r.entry.action,
            "target": r.entry.target,
            "reason": r.entry.reason,
            "detail": serde_json::from_str::<Value>(&r.entry.detail).unwrap_or(Value::Null),
            "hash": r.hash,
        })).collect::<Vec<_>>(),
    })))
}

/// Full-text search over the cases the caller may see: `q`, and optionally
/// `unit`, `status` (comma list), `from`, `to`, `limit` (1–100), `offset`.
async fn search(
    State(app): State<App>,
    Staff(user, _): Staff,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    let q = dto::SearchParams::parse(query.as_deref().unwrap_or(""))?;
    let (total, hits) = app
        .search(
            &user,
            &q.text,
            q.unit.as_deref(),
            q.statuses,
            q.from,
            q.to,
            q.limit,
            q.offset,
        )
        .await?;
    let org = app.org();
    Ok(Json(json!({
        "total": total,
        "hits": hits.iter().map(|h| {
            let mut v = dto::case_summary(&h.row, &org);
            v["score"] = json!(h.score);
            v["title_snippet"] = json!(h.title_snippet);
            v["content_snippet"] = json!(h.content_snippet);
            v
        }).collect::<Vec<_>>(),
    })))
}

async fn channels() -> Json<Value> {
    Json(dto::channels())
}

async fn units(State(app): State<App>) -> Json<Value> {
    Json(dto::units(&app.org()))
}

async fn create_case(
    State(app): State<App>,
    MaybeStaff(staff): MaybeStaff,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<dto::NewCase>,
) -> ApiResult<Response> {
    let input = body.into_input();
    if staff.is_none() {
        app.check_intake_limits(ip, input.reporter_phone.as_deref())?;
    }
    let r = app.file_case(&input, staff.as_ref()).await?;
    let location = format!("/api/v1/track/{}", r.tracking_code);
    let body = json!({
        "id": r.id,
        "tracking_code": r.tracking_code,
        "version": r.version,
        "track_url": location,
    });
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn list_cases(
    State(app): State<App>,
    Staff(user, _): Staff,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    let q = dto::ListQuery::parse(query.as_deref().unwrap_or(""))?;
    let filter = CaseFilter {
        statuses: q.statuses,
        channels: q.channels,
        from: q.from,
        to: q.to,
        before_id: q.cursor,
        limit: q.limit + 1,
        ..Default::default()
    };
    let mut rows = app.list_cases(&user, q.unit.as_deref(), filter).await?;
    let next = if rows.len() > q.limit as usize {
        rows.truncate(q.limit as usize);
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    let org = app.org();
    Ok(Json(json!({
        "items": rows.iter().map(|r| dto::case_summary(r, &org)).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError(Problem::from(AppError::CaseNotFound)))
}

async fn get_case(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = app.case_for(&user, parse_id(&id)?).await?;
    Ok(Json(dto::case_detail(&view, &app.org())))
}

/// The cases linked as related to a case (those the user may see).
async fn related_cases(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let related = app.related_cases(&user, parse_id(&id)?).await?;
    let org = app.org();
    Ok(Json(json!({
        "items": related.iter().map(|r| {
            let mut v = dto::case_summary(&r.row, &org);
            v["reason"] = json!(r.link.reason);
            v["reason_zh"] = json!(dto::related_reason_zh(&r.link.reason));
            v["score"] = json!(f32::from(r.link.score) / 1000.0);
            v["merged_into"] = json!(r.merged_into);
            v
        }).collect::<Vec<_>>(),
    })))
}

/// 合并: `{"into": <primary id>, "reason": "…", "expected_version"?: n}`.
async fn merge_case(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    only_fields(&body, &["into", "reason", "expected_version"])?;
    let into = match body.get("into") {
        None | Some(Value::Null) => {
            return Err(AppError::Invalid(suqiu_domain::FieldError::new(
                "into",
                suqiu_domain::FieldErrorKind::Missing,
            ))
            .into())
        }
        Some(v) => v.as_i64().filter(|i| *i > 0).ok_or_else(|| {
            AppError::Invalid(suqiu_domain::FieldError::new(
                "into",
                suqiu_domain::FieldErrorKind::InvalidValue,
            ))
        })?,
    };
    let reason = match body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(AppError::Invalid(suqiu_domain::FieldError::new(
                "reason",
                suqiu_domain::FieldErrorKind::InvalidValue,
            ))
            .into())
        }
    }
    .ok_or_else(|| {
        AppError::Invalid(suqiu_domain::FieldError::new(
            "reason",
            suqiu_domain::FieldErrorKind::Missing,
        ))
    })?;
    let expected = suqiu_app::commands::expected_version(&body)?;
    let r = app.merge(&user, id, into, &reason, expected).await?;
    let mut out = step_done(&r);
    out["merged_into"] = json!(into);
    Ok((StatusCode::OK, Json(out)).into_response())
}

/// The answer to a step on a case: its new version and status.
fn step_done(r: &suqiu_app::CaseRef) -> Value {
    let status_zh = suqiu_domain::Status::parse(&r.status).map(|s| s.zh());
    json!({"id": r.id, "version": r.version, "status": r.status, "status_zh": status_zh})
}

async fn command(
    name: &'static str,
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    only_fields(&body, &suqiu_app::commands::fields(name))?;
    let cmd = suqiu_app::commands::parse(name, &body, app.now())?;
    let expected = suqiu_app::commands::expected_version(&body)?;
    let r = app.execute(&user, id, expected, &cmd).await?;
    Ok((StatusCode::OK, Json(step_done(&r))).into_response())
}

async fn queue(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(queue): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    let q = suqiu_domain::case::Queue::parse(&queue).ok_or_else(|| Problem::bad_query("queue"))?;
    let raw = query.as_deref().unwrap_or("");
    let mut after = None;
    let mut narrow = suqiu_app::QueueQuery::default();
    let mut rest = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match k {
            "after" => {
                after = Some(
                    suqiu_app::QueuePosition::parse(v)
                        .ok_or_else(|| Problem::bad_query("after"))?,
                );
                continue;
            }
            "place" => &mut narrow.place,
            "category" => &mut narrow.category,
            "urgency" => &mut narrow.urgency,
            _ => {
                rest.push(pair);
                continue;
            }
        };
        *slot = Some(dto::decode_component(k, v)?).filter(|v| !v.is_empty());
    }
    let limit = dto::limit_param(&rest.join("&"))?;
    let (rows, next) = app.queue_page(&user, q, after, &narrow, limit).await?;
    let org = app.org();
    Ok(Json(json!({
        "queue": q.as_str(),
        "queue_zh": q.zh(),
        "owner": app.queue_owner(&user, q),
        "items": rows.iter().map(|r| dto::case_summary(r, &org)).collect::<Vec<_>>(),
        "next_cursor": next.map(|p| p.encode()),
    })))
}

async fn deadline_rules(State(app): State<App>) -> Json<Value> {
    let mut v = dto::rules(&app.rules());
    v["version"] = json!(app.rules_version());
    Json(v)
}

/// The years the holiday data covers, and the running deadlines that reach
/// beyond them (provisional: counted with weekends only until the notice is added).
/// Administrators also see the running deadlines that reach beyond the data.
async fn calendar(State(app): State<App>, MaybeStaff(user): MaybeStaff) -> ApiResult<Json<Value>> {
    let mut out = json!({"years": app.calendar().years_covered()});
    if user.is_some_and(|u| u.role == suqiu_domain::Role::Admin) {
        let provisional = app
            .store()
            .provisional_deadlines(200)
            .await
            .map_err(AppError::from)?;
        out["provisional_deadlines"] = provisional
            .iter()
            .map(|(id, rule, due)| json!({"case_id": id, "rule": rule, "due_at": dto::time(*due)}))
            .collect();
    }
    Ok(Json(out))
}

/// An administrator adds a year of the holiday calendar: the body is the
/// holiday-cn JSON of the year, or `{"text": "…"}` in the calendar's own format.
async fn add_calendar_year(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    if !suqiu_app::privacy::allowed(user.role, suqiu_app::privacy::Permission::ManageCalendar) {
        return Err(AppError::Forbidden.into());
    }
    let text = match body.get("text").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => body.to_string(),
    };
    let added = app.add_calendar_year(&text, &user.login).await?;
    Ok(Json(
        json!({"years": added.years, "recomputed": added.recomputed}),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    rating: Option<String>,
    comment: Option<String>,
    phone_last4: Option<String>,
}

/// The resident's routes are for the resident: a staff member's credentials
/// on them are refused (a rating by staff is the `rate` command, recorded as
/// theirs).
fn resident_only(staff: &Option<StaffUser>) -> Result<(), ApiError> {
    match staff {
        Some(_) => Err(AppError::ResidentRouteForStaff.into()),
        None => Ok(()),
    }
}

async fn rate(
    State(app): State<App>,
    MaybeStaff(staff): MaybeStaff,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<RateBody>,
) -> ApiResult<Json<Value>> {
    resident_only(&staff)?;
    let rating = body
        .rating
        .as_deref()
        .and_then(|r| suqiu_app::commands::RATINGS.iter().find(|(k, _)| *k == r))
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            AppError::Invalid(suqiu_domain::FieldError::new(
                "rating",
                suqiu_domain::FieldErrorKind::InvalidValue,
            ))
        })?;
    let rated = app.rate_by_code(&code, body.phone_last4.as_deref(), rating, body.comment);
    let v = app.by_tracking_code(ip, rated).await?;
    Ok(Json(dto::track(&v)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyBody {
    channel: Option<String>,
    address: Option<String>,
    phone_last4: Option<String>,
}

/// The resident changes how they hear of progress.
async fn change_notify(
    State(app): State<App>,
    MaybeStaff(staff): MaybeStaff,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<NotifyBody>,
) -> ApiResult<Json<Value>> {
    resident_only(&staff)?;
    let changed = app.change_contact_by_code(
        &code,
        body.phone_last4.as_deref(),
        body.channel.as_deref(),
        body.address.as_deref(),
    );
    let v = app.by_tracking_code(ip, changed).await?;
    Ok(Json(dto::track(&v)))
}

async fn track(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    let v = app.by_tracking_code(ip, app.track(&code)).await?;
    Ok(Json(dto::track(&v)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: Option<String>,
    password: Option<String>,
}

async fn login(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Json<Value>> {
    use suqiu_domain::{FieldError, FieldErrorKind};
    let login = body
        .login
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::Invalid(FieldError::new("login", FieldErrorKind::Missing)))?;
    let password = body
        .password
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::Invalid(FieldError::new("password", FieldErrorKind::Missing)))?;
    let (token, user, expires) = app.login(login.trim(), &password, ip).await?;
    Ok(Json(json!({
        "token": token,
        "expires_at": dto::time(expires),
        "user": dto::user(&user),
    })))
}

async fn logout(State(app): State<App>, Staff(_, token): Staff) -> ApiResult<StatusCode> {
    app.logout(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Staff(user, _): Staff) -> Json<Value> {
    Json(dto::user(&user))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    expires_in_days: Option<i64>,
}

#[derive(serde::Deserialize)]
struct WeComQuery {
    msg_signature: String,
    timestamp: String,
    nonce: String,
    echostr: Option<String>,
}

fn wecom_query(
    q: Result<axum::extract::Query<WeComQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<WeComQuery, ApiError> {
    q.map(|q| q.0)
        .map_err(|_| Problem::bad_query("msg_signature").into())
}

/// WeCom's check of the callback URL: answer the decrypted echostr.
async fn wecom_verify(
    State(app): State<App>,
    Path(group): Path<String>,
    q: Result<axum::extract::Query<WeComQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<String> {
    let q = wecom_query(q)?;
    let echo = q.echostr.as_deref().ok_or(Problem::bad_query("echostr"))?;
    Ok(app.wecom_verify(&group, &q.msg_signature, &q.timestamp, &q.nonce, echo)?)
}

/// A message to a WeCom group's bot: filed as a case; the encrypted reply.
async fn wecom_message(
    State(app): State<App>,
    Path(group): Path<String>,
    q: Result<axum::extract::Query<WeComQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Response> {
    let q = wecom_query(q)?;
    let body = std::str::from_utf8(&body).map_err(|_| Problem::invalid_utf8())?;
    let reply = app
        .wecom_message(&group, &q.msg_signature, &q.timestamp, &q.nonce, body)
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        reply,
    )
        .into_response())
}

/// A message to a DingTalk group's outgoing robot: filed as a case; the reply.
async fn dingtalk_message(
    State(app): State<App>,
    Path(group): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    Ok(Json(
        app.dingtalk_message(&group, &h("timestamp"), &h("sign"), &body)
            .await?,
    ))
}

/// Routing suggestions for triage (categories) and dispatch (departments).
async fn suggestions(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: i64 = id.parse().map_err(|_| AppError::CaseNotFound)?;
    let (category, unit) = app.routing_suggestions(&user, id).await?;
    Ok(Json(json!({ "category": category, "unit": unit })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsQuery {
    unit: Option<String>,
    days: Option<u32>,
    top: Option<usize>,
}

/// Hot topics (热点问题) among the cases the caller may see, received in the
/// last `days` days (default 30), the `top` hottest (default 10).
async fn topics(
    State(app): State<App>,
    Staff(user, _): Staff,
    q: Result<axum::extract::Query<TopicsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let q = q.map_err(|_| Problem::bad_query("days"))?.0;
    let days = q.days.unwrap_or(30);
    let topics = app
        .hot_topics(&user, q.unit.as_deref(), days, q.top.unwrap_or(10))
        .await?;
    Ok(Json(json!({ "days": days, "topics": topics })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// The notification outbox (administrators): pending, sent or dead.
async fn outbox(
    State(app): State<App>,
    Staff(user, _): Staff,
    q: Result<axum::extract::Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let q = q.map_err(|_| Problem::bad_query("status"))?.0;
    let rows = app
        .outbox(&user, q.status.as_deref(), q.limit.unwrap_or(100))
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                // 0: a case the administrator may not open (see `App::outbox`)
                "case_id": (n.case_id != 0).then_some(n.case_id),
                "recipient": serde_json::from_str::<Value>(&n.recipient).unwrap_or(Value::Null),
                "template": n.template,
                "text_zh": n.text_zh,
                "created_at": dto::time(n.created_at),
                "status": n.status,
                "attempts": n.attempts,
                "next_attempt_at": dto::time(n.next_attempt_at),
                "channel": n.channel,
                "last_error": n.last_error,
                "sent_at": n.sent_at.map(dto::time),
            })
        })
        .collect();
    Ok(Json(json!({ "notifications": items })))
}

async fn retry_notification(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id.parse().map_err(|_| AppError::NotificationNotFound)?;
    app.retry_notification(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_token(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(b): JsonBody<TokenBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (token, info) = app
        .create_api_token(
            &user,
            TokenRequest {
                name: b.name,
                scopes: b.scopes,
                expires_in_days: b.expires_in_days,
            },
        )
        .await?;
    let mut v = json!(info);
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)))
}

async fn my_tokens(State(app): State<App>, Staff(user, _): Staff) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"tokens": app.api_tokens(&user, false).await?})))
}

async fn all_tokens(State(app): State<App>, Staff(user, _): Staff) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"tokens": app.api_tokens(&user, true).await?})))
}

async fn revoke_my_token(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.revoke_api_token(&user, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_any_token(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.revoke_api_token(&user, &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(app, listener, shutdown, &WebConfig::default()).await
}

/// [`serve`] with a configuration.
pub async fn serve_with(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    config: &WebConfig,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router_with(app, config).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
