//! Server-rendered pages (Simplified Chinese first, English with `?lang=en`).
//! Mounted by `suqiu-web` next to the JSON API.
//!
//! - residents: `/`, `/report`, `/track` (no login);
//! - staff: `/login`, `/staff` (the role's work queues), `/staff/cases…`,
//!   `/staff/new` (filing for a resident), `/staff/dashboard` (leaders),
//!   `/staff/topics` (hot topics),
//!   `/staff/admin`, `/staff/admin/templates` (administrators);
//! - `/assets/…`: vendored files served from the binary.
//!
//! No inline script or style (the web layer's Content-Security-Policy forbids
//! them): behaviour is htmx attributes plus `assets/app.js`, looks are
//! `assets/app.css`. Every form post carries a CSRF token (see [`csrf`]).

/// A catalogue message with variables in a page's language:
/// `tf!(lang, "key", name = value, …)`; each value is shown with `Display`.
macro_rules! tf {
    ($lang:expr, $key:literal $(, $name:ident = $val:expr)* $(,)?) => {
        $crate::html::Lang::fmt(
            $lang,
            $key,
            &[$((stringify!($name), suqiu_i18n::Arg::Text(format!("{}", $val)))),*],
        )
    };
}

mod admin;
pub mod assets;
pub mod csrf;
mod forms;
pub mod html;
mod leader;
mod merge;
mod resident;
mod staff;
mod templates;
mod topics;
pub mod ui;
mod words;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use html::{url, Lang};
use maud::{html, Markup, DOCTYPE};
use suqiu_app::{App, StaffUser};
use suqiu_domain::Role;

/// Name of the session cookie (holds the token from `App::login`).
pub const SESSION_COOKIE: &str = "suqiu_session";
/// Name of the cookie that seeds the CSRF token before login.
pub const PRE_COOKIE: &str = "suqiu_pre";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "suqiu_lang";

/// The bytes of a stored photo with its stored type, never sniffed by the
/// browser (`X-Content-Type-Options: nosniff`), not cached by proxies.
pub fn photo_response(p: suqiu_app::PhotoRow) -> Response {
    let mut res = (StatusCode::OK, p.data).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&p.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

/// Whether the request reached us over HTTPS: the server itself serves plain
/// HTTP, so this is what a TLS-terminating proxy in front of it says
/// (`X-Forwarded-Proto: https` or `Forwarded: proto=https`). Trusting it is
/// safe both ways: a `Secure` cookie a liar asks for is only not sent back to
/// them over plain HTTP, and browsers ignore HSTS received over plain HTTP.
pub fn request_is_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| {
            k.eq_ignore_ascii_case("proto") && v.trim_matches('"').eq_ignore_ascii_case("https")
        });
    forwarded_proto || forwarded
}

/// Every page route: (method, path). [`router`] serves exactly these (a
/// test reads its source), and the pages' authorisation matrix needs a rule
/// for each.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/report"),
    ("post", "/report"),
    ("get", "/track"),
    ("post", "/track/{code}/rate"),
    ("get", "/track/{code}/photos/{n}"),
    ("post", "/track/{code}/notify"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/logout"),
    ("get", "/staff"),
    ("get", "/staff/queue/{queue}"),
    ("get", "/staff/cases"),
    ("get", "/staff/cases/{id}"),
    ("post", "/staff/cases/{id}/{command}"),
    ("get", "/staff/cases/{id}/photos/{n}"),
    ("get", "/staff/new"),
    ("post", "/staff/new"),
    ("get", "/staff/dashboard"),
    ("get", "/staff/topics"),
    ("get", "/staff/admin"),
    ("post", "/staff/admin/users/{login}/{action}"),
    ("get", "/staff/admin/audit"),
    ("post", "/staff/admin/calendar"),
    ("post", "/staff/admin/units"),
    ("post", "/staff/admin/units/rename"),
    ("post", "/staff/admin/units/remove"),
    ("post", "/staff/admin/categories"),
    ("post", "/staff/admin/rules"),
    ("post", "/staff/admin/users"),
    ("post", "/staff/admin/users/{login}/role"),
    ("post", "/staff/admin/users/{login}/password"),
    ("get", "/staff/admin/templates"),
    ("get", "/staff/admin/templates/{kind}/{audience}/{lang}"),
    ("post", "/staff/admin/templates/{kind}/{audience}/{lang}"),
    (
        "post",
        "/staff/admin/templates/{kind}/{audience}/{lang}/reset",
    ),
    ("get", "/assets/{name}"),
    ("get", "/favicon.ico"),
];

/// The page routes, merged into the web router.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(resident::home))
        .route("/report", get(resident::report_form).post(resident::report))
        .route("/track", get(resident::track))
        .route("/track/{code}/rate", post(resident::rate))
        .route("/track/{code}/photos/{n}", get(resident::photo))
        .route("/track/{code}/notify", post(resident::change_notify))
        .route("/login", get(staff::login_form).post(staff::login))
        .route("/logout", post(staff::logout))
        .route("/staff", get(staff::workbench))
        .route("/staff/queue/{queue}", get(staff::queue_page))
        .route("/staff/cases", get(staff::cases))
        .route("/staff/cases/{id}", get(staff::case_page))
        .route("/staff/cases/{id}/{command}", post(staff::command))
        .route("/staff/cases/{id}/photos/{n}", get(staff::photo))
        .route("/staff/new", get(staff::new_form).post(staff::new_case))
        .route("/staff/dashboard", get(leader::dashboard))
        .route("/staff/topics", get(topics::page))
        .route("/staff/admin", get(admin::admin))
        .route(
            "/staff/admin/users/{login}/{action}",
            post(admin::user_action),
        )
        .route("/staff/admin/audit", get(admin::audit_page))
        .route("/staff/admin/calendar", post(admin::add_year))
        .route("/staff/admin/units", post(admin::add_unit))
        .route("/staff/admin/units/rename", post(admin::rename_unit))
        .route("/staff/admin/units/remove", post(admin::remove_unit))
        .route("/staff/admin/categories", post(admin::set_categories))
        .route("/staff/admin/rules", post(admin::set_rules))
        .route("/staff/admin/users", post(admin::create_user))
        .route("/staff/admin/users/{login}/role", post(admin::change_role))
        .route(
            "/staff/admin/users/{login}/password",
            post(admin::reset_password),
        )
        .route("/staff/admin/templates", get(templates::list))
        .route(
            "/staff/admin/templates/{kind}/{audience}/{lang}",
            get(templates::edit).post(templates::save),
        )
        .route(
            "/staff/admin/templates/{kind}/{audience}/{lang}/reset",
            post(templates::reset),
        )
        .route("/assets/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
}

/// Everything a page needs to know about the request: language, the
/// logged-in staff member (if any), the CSRF seed, cookies to set.
pub struct Ctx {
    pub app: App,
    pub lang: Lang,
    pub user: Option<StaffUser>,
    session: Option<String>,
    pre: String,
    set_cookies: Vec<String>,
    /// `; Secure` on every cookie when the request came over HTTPS.
    secure: &'static str,
    /// Path and query of the request (for the language switch and login redirects).
    pub path: String,
    pub htmx: bool,
    pub headers: HeaderMap,
    pub ip: Option<std::net::IpAddr>,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Query parameters as pairs (percent-decoded).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or("")).unwrap_or_default()
}

/// A query parameter's value, trimmed; `None` when absent or blank.
pub fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

impl FromRequestParts<App> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let headers = parts.headers.clone();
        let query = query_pairs(parts.uri.query());
        let mut set_cookies = Vec::new();
        let secure = if request_is_https(&headers) {
            "; Secure"
        } else {
            ""
        };
        let asked = query
            .iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.as_str());
        let lang = asked
            .or_else(|| cookie(&headers, LANG_COOKIE))
            .and_then(Lang::parse)
            .unwrap_or(Lang::Zh);
        if let Some(l) = asked {
            if let Some(l) = Lang::parse(l).map(Lang::code) {
                set_cookies.push(format!(
                    "{LANG_COOKIE}={l}; Path=/; Max-Age=31536000; SameSite=Lax{secure}"
                ));
            }
        }
        let mut session = None;
        let mut user = None;
        if let Some(token) = cookie(&headers, SESSION_COOKIE).filter(|t| !t.is_empty()) {
            if let Ok(u) = app.authenticate_session(token).await {
                user = Some(u);
                session = Some(token.to_string());
            }
        }
        let pre = match cookie(&headers, PRE_COOKIE).filter(|v| v.len() == 64) {
            Some(v) => v.to_string(),
            None => {
                let v = random_hex();
                set_cookies.push(format!(
                    "{PRE_COOKIE}={v}; Path=/; HttpOnly; SameSite=Strict{secure}"
                ));
                v
            }
        };
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx {
            app: app.clone(),
            lang,
            user,
            session,
            pre,
            set_cookies,
            secure,
            path,
            htmx: headers.contains_key("hx-request"),
            ip: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
            headers,
        })
    }
}

impl Ctx {
    /// A message of the catalogue in the page's language.
    pub fn tr<'a>(&self, key: &'a str) -> &'a str {
        self.lang.tr(key)
    }

    /// The CSRF token of this browser: derived from the session token when
    /// logged in, else from the pre-login cookie.
    pub fn csrf_token(&self) -> String {
        csrf::token(self.session.as_deref().unwrap_or(&self.pre))
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            r#"<input type="hidden" name="csrf" value="{}">"#,
            self.csrf_token()
        )
    }

    pub fn set_cookie(&mut self, c: String) {
        self.set_cookies.push(c);
    }

    /// Sets the session cookie (after login).
    pub fn start_session(&mut self, token: &str) {
        self.set_cookies.push(format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            suqiu_app::auth::SESSION_TTL_MS / 1000,
            self.secure
        ));
    }

    /// Clears the session cookie (logout).
    pub fn end_session(&mut self) {
        self.set_cookies.push(format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            self.secure
        ));
        self.session = None;
        self.user = None;
    }

    fn with_cookies(&self, mut res: Response) -> Response {
        for c in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        res
    }

    /// A fragment (for htmx swaps) with the cookies to set.
    pub fn fragment(&self, body: Markup) -> Response {
        self.with_cookies(
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body.into_string(),
            )
                .into_response(),
        )
    }

    /// A full page in the layout.
    pub fn page(&self, title: &str, body: Markup) -> Response {
        self.page_status(StatusCode::OK, title, body)
    }

    pub fn page_status(&self, status: StatusCode, title: &str, body: Markup) -> Response {
        let html = self.layout(title, body);
        self.with_cookies(
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
        )
    }

    /// A 303 redirect (after a successful post).
    pub fn redirect(&self, to: &str) -> Response {
        let mut res = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        self.with_cookies(res)
    }

    /// An error page in plain words: a message of the catalogue.
    pub fn error_page(&self, status: StatusCode, key: &str) -> Response {
        let message = self.tr(key);
        let body = html! {
            section.card {
                h1 { (self.tr("something-went-wrong")) }
                p.error role="alert" { (message) }
                p { a href="/" { (self.tr("back-to-the-home-page")) } }
            }
        };
        self.page_status(status, self.tr("error"), body)
    }

    /// The logged-in user, or a redirect to the login page.
    #[allow(clippy::result_large_err)] // an HTTP response is the error here
    pub fn require_staff(&self) -> Result<StaffUser, Response> {
        match &self.user {
            Some(u) => Ok(u.clone()),
            None => Err(self.redirect(&format!("/login?next={}", url(&self.path)))),
        }
    }

    /// A link to this page in each other language.
    fn lang_switch(&self) -> Markup {
        let (p, q) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let others: Vec<(Lang, String)> = Lang::all()
            .filter(|l| *l != self.lang)
            .map(|other| {
                let mut pairs: Vec<(String, String)> = query_pairs(Some(q))
                    .into_iter()
                    .filter(|(k, _)| k != "lang")
                    .collect();
                pairs.push(("lang".into(), other.code().into()));
                let href = format!(
                    "{p}?{}",
                    serde_urlencoded::to_string(&pairs).unwrap_or_default()
                );
                (other, href)
            })
            .collect();
        html! {
            @for (other, href) in &others {
                a.lang href=(href) hreflang=(other.html_lang()) lang=(other.html_lang()) { (other.name()) }
            }
        }
    }

    fn nav(&self) -> Markup {
        let mut links: Vec<(&str, &str)> = Vec::new();
        match &self.user {
            None => {
                links.push(("/report", self.tr("file-a-request")));
                links.push(("/track", self.tr("track")));
                links.push(("/login", self.tr("staff-login")));
            }
            Some(u) => {
                links.push(("/staff", self.tr("workbench")));
                links.push(("/staff/cases", self.tr("cases")));
                links.push(("/staff/new", self.tr("file-for-a-resident")));
                if matches!(
                    u.role,
                    Role::Leader | Role::PetitionBureau | Role::Admin | Role::StreetStaff
                ) {
                    links.push(("/staff/dashboard", self.tr("statistics")));
                }
                if u.role != Role::GridWorker {
                    links.push(("/staff/topics", self.tr("hot-topics")));
                }
                if u.role == Role::Admin {
                    links.push(("/staff/admin", self.tr("administration")));
                }
            }
        }
        html! {
            nav.nav {
                @for (href, label) in &links { a href=(href) { (label) } }
                @if let Some(u) = &self.user {
                    span.me { (u.name) " · " (words::role(self.lang, u.role)) }
                    form.inline method="post" action="/logout" {
                        (ui::csrf(&self.csrf_token()))
                        button.link type="submit" id="logout" { (self.tr("log-out")) }
                    }
                }
                (self.lang_switch())
            }
        }
    }

    fn layout(&self, title: &str, body: Markup) -> String {
        let desk = self
            .user
            .as_ref()
            .is_some_and(|u| u.role != Role::GridWorker);
        let district = self
            .app
            .org()
            .unit(&self.app.district())
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let site = self.tr("suqiu-requests");
        let page = html! {
            (DOCTYPE)
            html lang=(self.lang.html_lang()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="same-origin";
                    meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                    meta name="csrf-token" content=(self.csrf_token());
                    title { (title) " · " (site) }
                    link rel="stylesheet" href=(assets::CSS_PATH);
                    link rel="icon" href="/favicon.ico" sizes="32x32";
                    script src=(assets::HTMX_PATH) defer {}
                    script src=(assets::JS_PATH) defer {}
                }
                body class=(if desk { "desk" } else { "mobile" }) {
                    header.top {
                        a.brand href="/" { (site) " " small { (district) } }
                        (self.nav())
                    }
                    main { (body) }
                    footer.foot {
                        (self.tr(
                            "small-matters-stay-in-the-village"
                        ))
                    }
                }
            }
        };
        page.into_string()
    }
}

/// A form post whose CSRF token and origin were checked: the fields and the
/// request context. A failed check is answered with 403 in plain words.
pub struct PostForm {
    pub ctx: Ctx,
    pub fields: forms::Fields,
    /// Files of a `multipart/form-data` post (photos).
    pub files: Vec<forms::File>,
}

/// Largest form body accepted.
const FORM_LIMIT: usize = 256 * 1024;
/// Largest multipart form (the photos of a case and the fields).
const MULTIPART_LIMIT: usize = suqiu_app::photos::MAX_CASE_PHOTO_BYTES as usize + FORM_LIMIT;

impl FromRequest<App> for PostForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, app).await?;
        let refuse = |ctx: &Ctx| {
            ctx.error_page(
                StatusCode::FORBIDDEN,
                "security-check-failed-submit-forms-from",
            )
        };
        if !csrf::same_origin(&parts.headers) {
            return Err(refuse(&ctx));
        }
        let boundary = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(forms::multipart_boundary);
        let limit = if boundary.is_some() {
            MULTIPART_LIMIT
        } else {
            FORM_LIMIT
        };
        let too_large = |ctx: &Ctx| {
            ctx.error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the-form-is-too-large-photos",
            )
        };
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| too_large(&ctx))?;
        let (fields, files) = match &boundary {
            Some(b) => forms::parse_multipart(&bytes, b).ok_or_else(|| {
                ctx.error_page(StatusCode::BAD_REQUEST, "the-form-could-not-be-read")
            })?,
            None => (forms::Fields::parse(&bytes), Vec::new()),
        };
        let given = fields
            .get("csrf")
            .map(str::to_string)
            .or_else(|| {
                parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        if !csrf::equal(&given, &ctx.csrf_token()) {
            return Err(refuse(&ctx));
        }
        Ok(PostForm { ctx, fields, files })
    }
}

#[cfg(test)]
mod route_table_tests {
    /// The (method, path) pairs `router()` registers, read from its source.
    fn served() -> Vec<(String, String)> {
        let src = include_str!("lib.rs");
        let start = src.find("pub fn router() -> Router<App> {").unwrap();
        let body = &src[start..start + src[start..].find("\n}\n").unwrap()];
        let mut out = Vec::new();
        for call in body.split(".route(").skip(1) {
            let path = call.split('"').nth(1).unwrap().to_string();
            for m in ["get", "post"] {
                if call.contains(&format!("{m}(")) {
                    out.push((m.to_string(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn the_route_table_lists_exactly_the_served_routes() {
        let mut served = served();
        let mut table: Vec<(String, String)> = super::ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        served.sort();
        table.sort();
        assert!(served.len() > 30, "{served:?}");
        assert_eq!(served, table);
    }
}
