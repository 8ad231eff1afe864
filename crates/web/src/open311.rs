//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>) under
//! `/open311/v2/`: discovery, services (the configured categories), service
//! definitions, filing a request (`api_key`: an API token with scope
//! `open311`), the public list and one request, and tokens.
//!
//! The format is the resource's extension (`.json` or `.xml`; none: XML, the
//! format GeoReport requires). Every answer, errors included, is in that format;
//! errors are `[{"code", "description"}]` / `<errors><error>…` with a stable
//! code. Times are ISO 8601 at +08:00.
//!
//! Mapping (see `suqiu_app::open311` for identifiers and privacy):
//! - `service_code`: `infrastructure` 基础建设, `livelihood` 民生保障,
//!   `environment` 生态环境, `dispute` 矛盾纠纷, `petition` 信访舆情; another
//!   configured category is its own code.
//! - the place: `address_id` or `attribute[place]` is a place's unit code
//!   (grid, community, village, hamlet; listed in the service definition),
//!   else `address_string` must name the village/community. `lat`/`long`
//!   (decimal degrees, both or neither) are stored with the case (micro-degrees)
//!   and returned with it, hidden like the address for confidential cases and
//!   accusations.
//! - `first_name`/`last_name` (姓 in `last_name`) and `phone` are the
//!   reporter's (required by the intake); `attribute[title]` (default: the
//!   description's first sentence), `attribute[confidential]=true` keeps the
//!   reporter's name confidential; `email`, `device_id`, `account_id` and
//!   `media_url` are not stored.
//! - `status`: `closed` for 已办结, `open` otherwise; `agency_responsible`: the
//!   unit handling it now; `expected_datetime`: the earliest running deadline.
//! - public reads of requests and tokens count against the per-address limit
//!   of tracking lookups (`--track-per-address-per-minute`); the list reads at
//!   most 1,000 requests (`page_size` narrows it) in a window of 90 days.

use crate::dto::time;
use crate::ClientIp;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{Map, Value};
use suqiu_app::open311::{
    category_of, service_code, Open311Intake, PublicQuery, PublicRequest, MAX_LIST,
};
use suqiu_app::{App, AppError};
use suqiu_domain::case::{Millis, Status};
use suqiu_domain::FieldErrorKind;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Every Open311 route: (method, path); `{format}` is `json` or `xml`.
pub const OPEN311_ROUTES: &[(&str, &str)] = &[
    ("get", "/open311/v2/discovery.{format}"),
    ("get", "/open311/v2/services.{format}"),
    ("get", "/open311/v2/services/{service_code}.{format}"),
    ("post", "/open311/v2/requests.{format}"),
    ("get", "/open311/v2/requests.{format}"),
    ("get", "/open311/v2/requests/{service_request_id}.{format}"),
    ("get", "/open311/v2/tokens/{token}.{format}"),
];

/// The GeoReport v2 specification this endpoint follows.
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

pub fn router() -> Router<App> {
    Router::new()
        .route("/open311/v2/{resource}", any(top))
        .route("/open311/v2/services/{file}", any(definition))
        .route("/open311/v2/requests/{file}", any(one_request))
        .route("/open311/v2/tokens/{file}", any(token))
        .route("/open311", any(unknown))
        .route("/open311/{*rest}", any(unknown))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// Splits `name.ext` into the name and the format (`Err`: an unknown extension).
fn split(file: &str) -> (&str, Result<Format, ()>) {
    match file.rsplit_once('.') {
        None => (file, Ok(Format::Xml)),
        Some((stem, "json")) => (stem, Ok(Format::Json)),
        Some((stem, "xml")) => (stem, Ok(Format::Xml)),
        Some((stem, _)) => (stem, Err(())),
    }
}

/// A document rendered to JSON or XML alike.
#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Bool(bool),
    Int(i64),
    /// A decimal number (coordinates).
    Float(f64),
    /// JSON null; an empty element in XML.
    Null,
    /// An array; in XML a sequence of elements named by the tag.
    List(&'static str, Vec<Node>),
    Obj(Vec<(&'static str, Node)>),
}

fn text(s: impl Into<String>) -> Node {
    Node::Text(s.into())
}

fn opt(v: Option<String>) -> Node {
    v.map(Node::Text).unwrap_or(Node::Null)
}

impl Node {
    fn json(&self) -> Value {
        match self {
            Node::Text(s) => Value::String(s.clone()),
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Node::Null => Value::Null,
            Node::List(_, items) => Value::Array(items.iter().map(Node::json).collect()),
            Node::Obj(fields) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    m.insert((*k).to_string(), v.json());
                }
                Value::Object(m)
            }
        }
    }

    /// The element's content.
    fn xml(&self, out: &mut String) {
        match self {
            Node::Text(s) => escape(s, out),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Int(i) => out.push_str(&i.to_string()),
            Node::Float(f) => out.push_str(&f.to_string()),
            Node::Null => {}
            Node::List(tag, items) => {
                for item in items {
                    element(tag, item, out);
                }
            }
            Node::Obj(fields) => {
                for (k, v) in fields {
                    element(k, v, out);
                }
            }
        }
    }
}

fn element(tag: &str, node: &Node, out: &mut String) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    node.xml(out);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// XML character data: the five special characters escaped, characters XML
/// 1.0 does not allow left out.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
}

/// Renders a document; `root` is the XML root element.
fn render(format: Format, status: StatusCode, root: &str, node: &Node) -> Response {
    let (mime, body) = match format {
        Format::Json => ("application/json; charset=utf-8", node.json().to_string()),
        Format::Xml => {
            let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            element(root, node, &mut s);
            ("text/xml; charset=utf-8", s)
        }
    };
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    res
}

/// An Open311 error: status, stable code, description (English / Chinese).
#[derive(Debug)]
struct Error311 {
    status: StatusCode,
    code: String,
    description: String,
}

fn err(status: StatusCode, code: &str, description: impl Into<String>) -> Error311 {
    Error311 {
        status,
        code: code.to_string(),
        description: description.into(),
    }
}

impl Error311 {
    fn render(&self, format: Format) -> Response {
        let node = Node::List(
            "error",
            vec![Node::Obj(vec![
                ("code", text(self.code.clone())),
                ("description", text(self.description.clone())),
            ])],
        );
        render(format, self.status, "errors", &node)
    }
}

/// The Open311 name of an intake field.
fn field_name(field: &str) -> &str {
    match field {
        "unit" => "address_id",
        "content" => "description",
        "title" => "attribute[title]",
        "address" => "address_string",
        "reporter.name" => "first_name",
        "reporter.phone" => "phone",
        other => other,
    }
}

impl From<AppError> for Error311 {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => err(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "api_key is missing, unknown, expired or revoked / api_key 缺失、无效、过期或已吊销",
            ),
            AppError::MissingScope(_) | AppError::TokenNotAllowed | AppError::Forbidden => err(
                StatusCode::FORBIDDEN,
                "api_key_not_permitted",
                "api_key lacks the scope open311 / api_key 没有 open311 权限",
            ),
            AppError::CaseNotFound => err(
                StatusCode::NOT_FOUND,
                "request_not_found",
                "no such service request / 没有这个诉求",
            ),
            AppError::Invalid(f) if f.field == "service_code" => err(
                StatusCode::BAD_REQUEST,
                "unknown_service_code",
                "service_code names no service / service_code 不是已有的服务",
            ),
            AppError::Invalid(f) if f.field == "unit" && f.kind == FieldErrorKind::Missing => {
                err(
                    StatusCode::BAD_REQUEST,
                    "missing_place",
                    "give address_id or attribute[place] (a place's unit code), or an address_string naming the village/community / 请用 address_id 或 attribute[place] 给出地点代码，或在 address_string 中写明村（社区）名称",
                )
            }
            AppError::Invalid(f) => {
                let name = field_name(&f.field).to_string();
                let code = if f.kind == FieldErrorKind::Missing {
                    format!("missing_{}", name.replace(['[', ']'], "_").trim_end_matches('_'))
                } else {
                    format!("invalid_{}", name.replace(['[', ']'], "_").trim_end_matches('_'))
                };
                err(
                    StatusCode::BAD_REQUEST,
                    &code,
                    format!("{name}: {} / {}", f.message_en(), f.message_zh()),
                )
            }
            AppError::UnknownUnit(u) | AppError::UnitNotAPlace(u) => err(
                StatusCode::BAD_REQUEST,
                "unknown_address_id",
                format!("{u} is not a place (grid, community, village) / {u} 不是地点代码"),
            ),
            AppError::BadQuery(p) => err(
                StatusCode::BAD_REQUEST,
                &format!("invalid_{p}"),
                format!("{p} is invalid (dates are W3C datetimes, a window of at most 90 days) / 参数 {p} 不正确"),
            ),
            AppError::RateLimited | AppError::TooManyAttempts => err(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests / 请求过多",
            ),
            other => {
                tracing::error!(error = %other, "open311");
                err(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal error / 服务器内部错误",
                )
            }
        }
    }
}

type R311<T> = Result<T, Error311>;

fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    suqiu_pages::query_pairs(query)
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    suqiu_pages::param(pairs, name)
}

/// `jurisdiction_id` is accepted when it is the district's code (or absent).
fn check_jurisdiction(app: &App, pairs: &[(String, String)]) -> R311<()> {
    match param(pairs, "jurisdiction_id") {
        Some(j) if j != app.district() => Err(err(
            StatusCode::NOT_FOUND,
            "unknown_jurisdiction",
            format!(
                "this endpoint serves jurisdiction_id {} / 本端点服务的辖区代码为 {}",
                app.district(),
                app.district()
            ),
        )),
        _ => Ok(()),
    }
}

/// A resource that only answers GET, in the district's jurisdiction.
fn get_only(app: &App, method: &Method, query: Option<&str>) -> R311<()> {
    check_jurisdiction(app, &pairs(query))?;
    if method != Method::GET {
        return Err(method_not_allowed());
    }
    Ok(())
}

fn not_found() -> Error311 {
    err(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such Open311 resource / 没有这个 Open311 资源",
    )
}

fn method_not_allowed() -> Error311 {
    err(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this resource / 该资源不支持此方法",
    )
}

fn bad_format() -> Error311 {
    err(
        StatusCode::BAD_REQUEST,
        "unsupported_format",
        "the format must be .json or .xml / 格式只能是 .json 或 .xml",
    )
}

/// Runs a handler with the format of `file`; errors are rendered in it too.
async fn with_format<F, Fut>(file: &str, f: F) -> Response
where
    F: FnOnce(String, Format) -> Fut,
    Fut: std::future::Future<Output = R311<Response>>,
{
    let (stem, format) = split(file);
    match format {
        Err(()) => bad_format().render(Format::Xml),
        Ok(format) => match f(stem.to_string(), format).await {
            Ok(r) => r,
            Err(e) => e.render(format),
        },
    }
}

async fn unknown(uri: axum::http::Uri) -> Response {
    let format = match split(uri.path()).1 {
        Ok(f) => f,
        Err(()) => Format::Xml,
    };
    not_found().render(format)
}

async fn top(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    method: Method,
    headers: HeaderMap,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    with_format(&resource, |stem, format| async move {
        let q = pairs(query.as_deref());
        check_jurisdiction(&app, &q)?;
        match (stem.as_str(), method) {
            ("discovery", Method::GET) => Ok(discovery(&app, &headers, format)),
            ("services", Method::GET) => Ok(services(&app, format)),
            ("requests", Method::GET) => {
                app.check_track_limit(ip)?;
                list(&app, &q, format).await
            }
            ("requests", Method::POST) => file(&app, &headers, q, &body, format).await,
            ("discovery" | "services" | "requests", _) => Err(method_not_allowed()),
            _ => Err(not_found()),
        }
    })
    .await
}

/// A stable flag of the services and places: changes when they change.
fn changeset(app: &App) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for c in app.open311_categories() {
        feed(&c);
    }
    for (code, label) in app.open311_places() {
        feed(&code);
        feed(&label);
    }
    format!("{h:016x}")
}

fn discovery(app: &App, headers: &HeaderMap, format: Format) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()));
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    let url = match host {
        Some(h) => format!("{proto}://{h}/open311/v2"),
        None => "/open311/v2".to_string(),
    };
    let changeset = changeset(app);
    let district = app
        .org()
        .unit(&app.district())
        .map(|u| u.name.clone())
        .unwrap_or_else(|| app.district());
    let node = Node::Obj(vec![
        ("changeset", text(changeset.clone())),
        ("contact", text(format!("{district}诉求平台管理员 / suqiu administrators of {district}"))),
        (
            "key_service",
            text("api_key: an API token with scope open311, made by a staff member after logging in: POST /api/v1/me/tokens {\"name\":…,\"scopes\":[\"open311\"]} / 工作人员登录后创建 open311 权限的 API 令牌"),
        ),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Obj(vec![
                    ("specification", text(SPECIFICATION)),
                    ("url", text(url)),
                    ("changeset", text(changeset)),
                    ("type", text("production")),
                    (
                        "formats",
                        Node::List("format", vec![text("text/xml"), text("application/json")]),
                    ),
                ])],
            ),
        ),
    ]);
    render(format, StatusCode::OK, "discovery", &node)
}

/// Descriptions of the built-in categories.
fn category_description(c: &str) -> String {
    match c {
        "基础建设" => "道路、路灯、供水供电、公共设施等基础设施问题 / roads, street lights, water, power, public facilities",
        "民生保障" => "社保、医疗、教育、住房、救助等民生问题 / social security, health, schooling, housing, relief",
        "生态环境" => "污染、垃圾、噪声、环境卫生等问题 / pollution, waste, noise, sanitation",
        "矛盾纠纷" => "邻里、家庭、土地、劳资等矛盾纠纷 / disputes between neighbours, families, over land or wages",
        "信访舆情" => "信访事项与舆情反映 / petitions and public-opinion matters",
        other => other,
    }
    .to_string()
}

fn services(app: &App, format: Format) -> Response {
    let items = app
        .open311_categories()
        .into_iter()
        .map(|c| {
            Node::Obj(vec![
                ("service_code", text(service_code(&c))),
                ("service_name", text(c.clone())),
                ("description", text(category_description(&c))),
                ("metadata", Node::Bool(true)),
                ("type", text("realtime")),
                ("keywords", text(format!("{c},{}", service_code(&c)))),
                ("group", text("诉求")),
            ])
        })
        .collect();
    render(
        format,
        StatusCode::OK,
        "services",
        &Node::List("service", items),
    )
}

fn attribute(
    order: i64,
    code: &str,
    datatype: &str,
    required: bool,
    description: &str,
    values: Vec<(String, String)>,
) -> Node {
    let mut fields = vec![
        ("variable", Node::Bool(true)),
        ("code", text(code)),
        ("datatype", text(datatype)),
        ("required", Node::Bool(required)),
        ("datatype_description", text(description)),
        ("order", Node::Int(order)),
        ("description", text(description)),
    ];
    if !values.is_empty() {
        fields.push((
            "values",
            Node::List(
                "value",
                values
                    .into_iter()
                    .map(|(k, n)| Node::Obj(vec![("key", text(k)), ("name", text(n))]))
                    .collect(),
            ),
        ));
    }
    Node::Obj(fields)
}

async fn definition(
    State(app): State<App>,
    method: Method,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    with_format(&file, |code, format| async move {
        get_only(&app, &method, query.as_deref())?;
        let cats = app.open311_categories();
        let category = category_of(&cats, &code).ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                "service_not_found",
                format!("no service {code} / 没有服务 {code}"),
            )
        })?;
        let node = Node::Obj(vec![
            ("service_code", text(service_code(category))),
            (
                "attributes",
                Node::List(
                    "attribute",
                    vec![
                        attribute(
                            1,
                            "place",
                            "singlevaluelist",
                            true,
                            "发生地点：网格、社区或村的代码（也可用 address_id 传同一代码，或在 address_string 中写明村（社区）名称） / where: the unit code of a grid, community or village (or the same code as address_id, or an address_string naming the village/community)",
                            app.open311_places(),
                        ),
                        attribute(
                            2,
                            "title",
                            "string",
                            false,
                            "一句话说明问题（不填则取描述的第一句） / the matter in one line (default: the description's first sentence)",
                            vec![],
                        ),
                        attribute(
                            3,
                            "confidential",
                            "singlevaluelist",
                            false,
                            "请对我的姓名保密 / keep the reporter's name confidential",
                            vec![
                                ("false".into(), "不需要 / no".into()),
                                ("true".into(), "保密 / yes".into()),
                            ],
                        ),
                    ],
                ),
            ),
        ]);
        Ok(render(format, StatusCode::OK, "service_definition", &node))
    })
    .await
}

fn request_node(r: &PublicRequest) -> Node {
    let category = r.category.clone();
    Node::Obj(vec![
        ("service_request_id", text(r.id.to_string())),
        (
            "status",
            text(if r.status == Status::Closed {
                "closed"
            } else {
                "open"
            }),
        ),
        ("status_notes", opt(r.status_notes.clone())),
        ("service_name", opt(category.clone())),
        ("service_code", opt(category.as_deref().map(service_code))),
        ("description", opt(r.description.clone())),
        ("agency_responsible", text(r.agency.clone())),
        ("service_notice", text(r.status.zh())),
        ("requested_datetime", text(time(r.requested_at))),
        ("updated_datetime", text(time(r.updated_at))),
        ("expected_datetime", opt(r.expected_at.map(time))),
        ("address", text(r.address.clone())),
        ("address_id", text(r.place_unit.clone())),
        ("zipcode", Node::Null),
        (
            "lat",
            r.location.map_or(Node::Null, |l| Node::Float(l.lat())),
        ),
        (
            "long",
            r.location.map_or(Node::Null, |l| Node::Float(l.long())),
        ),
        ("media_url", Node::Null),
    ])
}

fn requests_doc(format: Format, status: StatusCode, rs: &[PublicRequest]) -> Response {
    let items = rs.iter().map(request_node).collect();
    render(
        format,
        status,
        "service_requests",
        &Node::List("request", items),
    )
}

/// A W3C datetime (with `Z` or an offset), or a date (taken at 00:00 +08:00).
fn parse_datetime(name: &'static str, raw: &str) -> R311<Millis> {
    let raw = raw.trim();
    let full = if raw.len() == 10 {
        format!("{raw}T00:00:00+08:00")
    } else {
        raw.to_string()
    };
    OffsetDateTime::parse(&full, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as Millis)
        .map_err(|_| AppError::BadQuery(name).into())
}

async fn list(app: &App, q: &[(String, String)], format: Format) -> R311<Response> {
    if let Some(ids) = param(q, "service_request_id") {
        let mut wanted = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match id.parse::<i64>() {
                Ok(n) => wanted.push(n),
                Err(_) => return Err(AppError::BadQuery("service_request_id").into()),
            }
        }
        let rs = app.open311_requests_by_ids(&wanted).await?;
        return Ok(requests_doc(format, StatusCode::OK, &rs));
    }
    let cats = app.open311_categories();
    let mut query = PublicQuery {
        limit: MAX_LIST,
        ..Default::default()
    };
    if let Some(codes) = param(q, "service_code") {
        for code in codes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let c = category_of(&cats, code).ok_or_else(|| {
                err(
                    StatusCode::BAD_REQUEST,
                    "unknown_service_code",
                    format!("no service {code} / 没有服务 {code}"),
                )
            })?;
            query.categories.push(c.to_string());
        }
    }
    if let Some(s) = param(q, "status") {
        let mut open = false;
        let mut closed = false;
        for v in s.split(',').map(str::trim) {
            match v {
                "open" => open = true,
                "closed" => closed = true,
                _ => return Err(AppError::BadQuery("status").into()),
            }
        }
        query.open = if open == closed { None } else { Some(open) };
    }
    if let Some(v) = param(q, "start_date") {
        query.from = Some(parse_datetime("start_date", &v)?);
    }
    if let Some(v) = param(q, "end_date") {
        query.to = Some(parse_datetime("end_date", &v)?);
    }
    if let Some(v) = param(q, "page_size") {
        query.limit = v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIST).contains(n))
            .ok_or(AppError::BadQuery("page_size"))?;
    }
    let rs = app.open311_requests(&query).await?;
    Ok(requests_doc(format, StatusCode::OK, &rs))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(true)
}

/// The reporter's name from Open311's first/last name (姓 first when Chinese).
fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) if f.is_ascii() && l.is_ascii() => Some(format!("{f} {l}")),
        (Some(f), Some(l)) => Some(format!("{l}{f}")),
        (f, l) => f.or(l),
    }
}

async fn file(
    app: &App,
    headers: &HeaderMap,
    mut q: Vec<(String, String)>,
    body: &Bytes,
    format: Format,
) -> R311<Response> {
    if !is_form(headers) {
        return Err(err(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/x-www-form-urlencoded / 请以 application/x-www-form-urlencoded 提交",
        ));
    }
    if body.len() > crate::BODY_LIMIT {
        return Err(err(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("at most {} bytes / 请求体过大", crate::BODY_LIMIT),
        ));
    }
    let form = std::str::from_utf8(body).map_err(|_| {
        err(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "the body is not UTF-8 / 请求体不是 UTF-8",
        )
    })?;
    // form fields after (and so before, for `param`) the query's
    let mut fields = pairs(Some(form));
    fields.append(&mut q);
    check_jurisdiction(app, &fields)?;
    let user = app
        .open311_client(param(&fields, "api_key").as_deref())
        .await?;
    let code = param(&fields, "service_code").ok_or_else(|| {
        err(
            StatusCode::BAD_REQUEST,
            "missing_service_code",
            "service_code is required / 缺少 service_code",
        )
    })?;
    let cats = app.open311_categories();
    let category = category_of(&cats, &code).ok_or_else(|| {
        err(
            StatusCode::BAD_REQUEST,
            "unknown_service_code",
            format!("no service {code} / 没有服务 {code}"),
        )
    })?;
    let confidential = match param(&fields, "attribute[confidential]").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::BadQuery("attribute[confidential]").into()),
    };
    let intake = Open311Intake {
        category: category.to_string(),
        place: param(&fields, "attribute[place]").or_else(|| param(&fields, "address_id")),
        address: param(&fields, "address_string"),
        title: param(&fields, "attribute[title]"),
        description: param(&fields, "description"),
        name: full_name(param(&fields, "first_name"), param(&fields, "last_name")),
        phone: param(&fields, "phone"),
        confidential,
        lat: param(&fields, "lat"),
        long: param(&fields, "long"),
    };
    let r = app.open311_file(&user, &intake).await?;
    let notice = app
        .open311_request(&r.id.to_string())
        .await
        .ok()
        .and_then(|p| p.status_notes);
    let node = Node::List(
        "request",
        vec![Node::Obj(vec![
            ("service_request_id", text(r.id.to_string())),
            ("token", text(r.tracking_code.clone())),
            ("service_notice", opt(notice)),
            ("account_id", Node::Null),
        ])],
    );
    Ok(render(
        format,
        StatusCode::CREATED,
        "service_requests",
        &node,
    ))
}

async fn one_request(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    method: Method,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    with_format(&file, |id, format| async move {
        get_only(&app, &method, query.as_deref())?;
        let r = app.by_tracking_code(ip, app.open311_request(&id)).await?;
        Ok(requests_doc(format, StatusCode::OK, &[r]))
    })
    .await
}

async fn token(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    method: Method,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    with_format(&file, |token, format| async move {
        get_only(&app, &method, query.as_deref())?;
        let id = app
            .by_tracking_code(ip, app.open311_token(&token))
            .await
            .map_err(|e| match e {
                AppError::CaseNotFound => err(
                    StatusCode::NOT_FOUND,
                    "token_not_found",
                    "no request for this token / 没有与此 token 对应的诉求",
                ),
                other => other.into(),
            })?;
        let node = Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", text(id.to_string())),
                ("token", text(token.trim().to_ascii_uppercase())),
            ])],
        );
        Ok(render(format, StatusCode::OK, "service_requests", &node))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_drops_invalid_characters() {
        let mut s = String::new();
        escape("a<b>&\"c'\u{1}\n", &mut s);
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;c&apos;\n");
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(split("services.json"), ("services", Ok(Format::Json)));
        assert_eq!(split("services.xml"), ("services", Ok(Format::Xml)));
        assert_eq!(split("services"), ("services", Ok(Format::Xml)));
        assert_eq!(split("services.csv"), ("services", Err(())));
    }

    #[test]
    fn documents_render_alike() {
        let n = Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", text("7")),
                ("zipcode", Node::Null),
                ("n", Node::Int(3)),
            ])],
        );
        assert_eq!(
            n.json().to_string(),
            r#"[{"n":3,"service_request_id":"7","zipcode":null}]"#
        );
        let mut s = String::new();
        element("service_requests", &n, &mut s);
        assert_eq!(
            s,
            "<service_requests><request><service_request_id>7</service_request_id><zipcode></zipcode><n>3</n></request></service_requests>"
        );
    }

    #[test]
    fn chinese_names_put_the_family_name_first() {
        assert_eq!(
            full_name(Some("小明".into()), Some("王".into())).as_deref(),
            Some("王小明")
        );
        assert_eq!(
            full_name(Some("Ann".into()), Some("Lee".into())).as_deref(),
            Some("Ann Lee")
        );
        assert_eq!(full_name(None, Some("王".into())).as_deref(), Some("王"));
    }
}
