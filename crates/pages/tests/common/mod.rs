//! Shared by the page tests: a demo district behind the real router, and a
//! tiny cookie-keeping client for `oneshot`.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use suqiu_app::{orgconfig, App, FixedClock};
use suqiu_store::testing::{self, TestDb};
use tower::ServiceExt;

/// 2026-11-23 09:00 +08:00 (a Monday)
pub const T0: i64 = 1_795_395_600_000;
pub const HOST: &str = "127.0.0.1:7000";

pub struct Site {
    pub router: Router,
    pub app: App,
    pub clock: Arc<FixedClock>,
    _db: TestDb,
}

impl Site {
    /// On SQLite.
    pub async fn new() -> Site {
        Site::on(testing::sqlite().await.unwrap()).await
    }

    /// On SQLite, and on PostgreSQL when `SUQIU_TEST_DATABASE_URL` is set
    /// (see `suqiu_store::testing`).
    pub async fn backends() -> Vec<Site> {
        let mut out = Vec::new();
        for db in Site::databases().await {
            out.push(Site::on(db).await);
        }
        out
    }

    pub async fn on(db: TestDb) -> Site {
        Site::build(db, false).await
    }

    /// On SQLite, with the related-case index (cases linked at intake), as `suqiu serve` runs.
    pub async fn with_related() -> Site {
        Site::build(testing::sqlite().await.unwrap(), true).await
    }

    /// A SQLite database, and a PostgreSQL one when `SUQIU_TEST_DATABASE_URL` is set.
    pub async fn databases() -> Vec<TestDb> {
        let mut out = vec![testing::sqlite().await.unwrap()];
        if let Some(server) = testing::postgres_server_url() {
            out.push(testing::postgres(&server).await.unwrap());
        }
        out
    }

    /// On `db`, with the related-case index.
    pub async fn build_with_related(db: TestDb) -> Site {
        Site::build(db, true).await
    }

    async fn build(db: TestDb, related: bool) -> Site {
        let clock = Arc::new(FixedClock::new(T0));
        let mut app = App::new(db.store.clone(), clock.clone())
            .await
            .unwrap()
            .with_search(suqiu_app::SearchIndex::in_memory().unwrap());
        app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
        if related {
            app = app
                .with_related(suqiu_app::related::RelatedConfig::default())
                .await
                .unwrap();
        }
        Site {
            router: suqiu_web::router(app.clone()),
            app,
            clock,
            _db: db,
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// A browser stand-in: keeps cookies, knows the last CSRF token it saw.
pub struct Client<'a> {
    pub site: &'a Site,
    pub cookies: BTreeMap<String, String>,
    pub csrf: String,
    /// Behind a TLS-terminating proxy: every request says
    /// `X-Forwarded-Proto: https`.
    pub https: bool,
}

impl<'a> Client<'a> {
    pub fn new(site: &'a Site) -> Client<'a> {
        Client {
            site,
            cookies: BTreeMap::new(),
            csrf: String::new(),
            https: false,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, mut req: Request<Body>) -> Reply {
        if self.https {
            req.headers_mut().insert(
                "x-forwarded-proto",
                axum::http::HeaderValue::from_static("https"),
            );
        }
        let res = self.site.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let kv = v.split(';').next().unwrap();
            let (k, val) = kv.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        // lossy: the icon and photos are bytes (pages are always UTF-8)
        let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes())
            .into_owned();
        if let Some(t) = csrf_in(&body) {
            self.csrf = t;
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = Request::get(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// Posts a form from this site (Origin = the host) with the CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = vec![("csrf", "")];
        all.extend_from_slice(fields);
        let csrf = self.csrf.clone();
        all[0].1 = &csrf;
        self.post_raw(path, &all, Some(&format!("http://{HOST}")))
            .await
    }

    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Reply {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut b = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Posts a `multipart/form-data` form from this site with the CSRF
    /// token: text fields and files (field name, file name, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Reply {
        let boundary = "----suqiuTestBoundary7MA4YWxk";
        let mut body: Vec<u8> = Vec::new();
        let csrf = self.csrf.clone();
        for (k, v) in std::iter::once(("csrf", csrf.as_str())).chain(fields.iter().copied()) {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (k, name, data) in files {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, self.cookie_header())
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Gets raw bytes (an image): status, headers, bytes.
    pub async fn get_bytes(&mut self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let req = Request::get(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let res = self.site.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, bytes)
    }

    pub async fn login(&mut self, login: &str) {
        self.get("/login").await;
        let r = self
            .post(
                "/login",
                &[("login", login), ("password", orgconfig::DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{login}: {}", r.body);
        assert!(self.cookies.contains_key("suqiu_session"));
    }
}

pub fn csrf_in(body: &str) -> Option<String> {
    let at = body.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    Some(body[at..at + 64].to_string())
}

pub fn location(r: &Reply) -> String {
    r.headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The `href` of the link with this id in a page.
pub fn location_of_link(body: &str, id: &str) -> String {
    let at = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = body[..at].rfind("href=\"").unwrap() + 6;
    let end = start + body[start..].find('"').unwrap();
    body[start..end].replace("&amp;", "&")
}
