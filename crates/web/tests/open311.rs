//! The Open311 GeoReport v2 endpoints, end to end through the router, on
//! SQLite and (when the test script provides it) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use suqiu_app::{orgconfig, App, FixedClock};
use suqiu_store::testing::{self, TestDb};
use suqiu_web::open311::OPEN311_ROUTES;
use tower::ServiceExt;

/// 2026-11-23 09:00 +08:00
const T0: i64 = 1_795_395_600_000;
/// A form field, and a form.
type Field<'a> = (&'a str, &'a str);
type Fields<'a> = Vec<Field<'a>>;

/// 丹阳社区 第一网格 in the demo district.
const GRID: &str = "430799001002-01";

struct Api {
    router: Router,
    _clock: Arc<FixedClock>,
    _db: TestDb,
}

struct Res {
    status: StatusCode,
    ctype: String,
    body: String,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Api {
    async fn new(db: TestDb) -> Api {
        let clock = Arc::new(FixedClock::new(T0));
        let app = App::new(db.store.clone(), clock.clone()).await.unwrap();
        app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
        Api {
            router: suqiu_web::router(app),
            _clock: clock,
            _db: db,
        }
    }

    async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ctype = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Res {
            status,
            ctype,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Res {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Res {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn json_post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let r = self
            .send(b.body(Body::from(body.to_string())).unwrap())
            .await;
        let v = if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        };
        (r.status, v)
    }

    async fn login(&self, login: &str) -> String {
        let (s, v) = self
            .json_post(
                "/api/v1/auth/login",
                None,
                &json!({"login": login, "password": orgconfig::DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    async fn token(&self, session: &str, scopes: &[&str]) -> String {
        let (s, v) = self
            .json_post(
                "/api/v1/me/tokens",
                Some(session),
                &json!({"name": "open311 test", "scopes": scopes}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// Files a request through Open311; returns (id, token).
    async fn file(&self, key: &str, extra: &[(&str, &str)]) -> (String, String) {
        let mut fields = vec![
            ("api_key", key),
            ("service_code", "infrastructure"),
            ("address_id", GRID),
            (
                "description",
                "幸福路口的路灯坏了一个星期。王小明电话13912345678",
            ),
            ("first_name", "小明"),
            ("last_name", "王"),
            ("phone", "13912345678"),
        ];
        fields.extend_from_slice(extra);
        let r = self.form("/open311/v2/requests.json", &fields).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let v = r.json();
        (
            v[0]["service_request_id"].as_str().unwrap().to_string(),
            v[0]["token"].as_str().unwrap().to_string(),
        )
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn backends() -> Vec<Api> {
    let mut out = vec![Api::new(testing::sqlite().await.unwrap()).await];
    if let Some(server) = testing::postgres_server_url() {
        out.push(Api::new(testing::postgres(&server).await.unwrap()).await);
    }
    out
}

/// A small well-formedness check: declaration, one root, balanced tags, no raw `&`/`<`.
fn check_xml(body: &str, root: &str) {
    let rest = body
        .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        .unwrap_or_else(|| panic!("no declaration: {body}"));
    assert!(rest.starts_with(&format!("<{root}>")), "{body}");
    let mut stack: Vec<&str> = Vec::new();
    let mut s = rest;
    while let Some(i) = s.find('<') {
        let text = &s[..i];
        assert!(!text.contains('>'), "{body}");
        for (j, _) in text.match_indices('&') {
            let ent = &text[j..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "{body}"
            );
        }
        let end = s[i..].find('>').unwrap() + i;
        let tag = &s[i + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "{body}");
            if stack.is_empty() {
                assert_eq!(&s[end + 1..], "", "content after the root: {body}");
            }
        } else {
            assert!(
                tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{tag}"
            );
            stack.push(tag);
        }
        s = &s[end + 1..];
    }
    assert!(stack.is_empty(), "{body}");
}

/// The text of the first `<tag>` in an XML body.
fn xml_field<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(&body[start..end])
}

fn fill(path: &str, format: &str, id: &str, token: &str) -> String {
    path.replace("{format}", format)
        .replace("{service_code}", "infrastructure")
        .replace("{service_request_id}", id)
        .replace("{token}", token)
}

#[tokio::test]
async fn every_route_is_served_in_both_formats() {
    for api in backends().await {
        let key = api
            .token(&api.login("shequ.chen").await, &["open311"])
            .await;
        let (id, token) = api.file(&key, &[]).await;
        for (method, path) in OPEN311_ROUTES {
            for format in ["json", "xml"] {
                let uri = fill(path, format, &id, &token);
                let r = if *method == "post" {
                    api.form(
                        &uri,
                        &[
                            ("api_key", &key),
                            ("service_code", "environment"),
                            ("attribute[place]", GRID),
                            ("description", "河边有人倾倒垃圾"),
                            ("first_name", "红"),
                            ("last_name", "李"),
                            ("phone", "13812345678"),
                        ],
                    )
                    .await
                } else {
                    api.get(&uri).await
                };
                let want = if *method == "post" {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                assert_eq!(r.status, want, "{method} {uri}: {}", r.body);
                if format == "json" {
                    assert_eq!(r.ctype, "application/json; charset=utf-8", "{uri}");
                    r.json();
                } else {
                    assert_eq!(r.ctype, "text/xml; charset=utf-8", "{uri}");
                    let root = match path.split('/').nth(3).unwrap() {
                        p if p.starts_with("discovery") => "discovery",
                        "services" => "service_definition",
                        p if p.starts_with("services") => "services",
                        _ => "service_requests",
                    };
                    check_xml(&r.body, root);
                }
            }
        }
    }
}

#[tokio::test]
async fn posting_needs_an_open311_token() {
    for api in backends().await {
        let session = api.login("shequ.chen").await;
        let read_only = api.token(&session, &["read", "write"]).await;
        for (method, path) in OPEN311_ROUTES.iter().filter(|(m, _)| *m == "post") {
            for format in ["json", "xml"] {
                let uri = fill(path, format, "1", "X");
                let fields = |key: &'static str| {
                    vec![
                        ("api_key", key),
                        ("service_code", "infrastructure"),
                        ("address_id", GRID),
                        ("description", "路灯不亮"),
                        ("first_name", "小明"),
                        ("last_name", "王"),
                        ("phone", "13912345678"),
                    ]
                };
                let leaked =
                    |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
                let cases: Vec<(Fields, StatusCode, &str)> = vec![
                    (
                        fields("").into_iter().skip(1).collect(),
                        StatusCode::UNAUTHORIZED,
                        "invalid_api_key",
                    ),
                    (
                        fields("sqt_000000000000_wrong"),
                        StatusCode::UNAUTHORIZED,
                        "invalid_api_key",
                    ),
                    (
                        fields(leaked(&session)),
                        StatusCode::UNAUTHORIZED,
                        "invalid_api_key",
                    ),
                    (
                        fields(leaked(&read_only)),
                        StatusCode::FORBIDDEN,
                        "api_key_not_permitted",
                    ),
                ];
                for (f, status, code) in cases {
                    let r = api.form(&uri, &f).await;
                    assert_eq!(r.status, status, "{method} {uri}: {}", r.body);
                    if format == "json" {
                        let v = r.json();
                        assert_eq!(v[0]["code"], code, "{v}");
                        assert!(v[0]["description"].as_str().unwrap().len() > 5);
                    } else {
                        check_xml(&r.body, "errors");
                        assert_eq!(xml_field(&r.body, "code"), Some(code), "{}", r.body);
                    }
                }
            }
        }
        // nothing was filed by the refused posts
        let v = api.get("/open311/v2/requests.json").await.json();
        assert_eq!(v.as_array().unwrap().len(), 0, "{v}");
    }
}

#[tokio::test]
async fn a_filed_request_reads_back_without_personal_data() {
    for api in backends().await {
        let session = api.login("shequ.chen").await;
        let key = api.token(&session, &["open311"]).await;
        let (id, token) = api.file(&key, &[("address_string", "幸福路12号")]).await;
        assert_eq!(token.len(), 10);

        let v = api
            .get(&format!("/open311/v2/requests/{id}.json"))
            .await
            .json();
        let r = &v[0];
        assert_eq!(r["service_request_id"], id.as_str());
        assert_eq!(r["service_code"], "infrastructure");
        assert_eq!(r["service_name"], "基础建设");
        assert_eq!(r["status"], "open");
        assert_eq!(r["agency_responsible"], "丹阳社区");
        assert_eq!(r["requested_datetime"], "2026-11-23T09:00:00+08:00");
        assert!(
            r["expected_datetime"].as_str().unwrap().ends_with("+08:00"),
            "{r}"
        );
        assert!(
            r["status_notes"].as_str().unwrap().contains("丹阳社区"),
            "{r}"
        );
        assert_eq!(r["address_id"], GRID);
        assert!(r["address"].as_str().unwrap().contains("幸福路12号"), "{r}");
        assert!(
            r["lat"].is_null() && r["long"].is_null(),
            "filed without coordinates: {r}"
        );
        let d = r["description"].as_str().unwrap();
        assert!(d.contains("路灯坏了一个星期"), "{d}");
        assert!(d.contains("139****5678"), "{d}");
        let text = v.to_string();
        for secret in ["王小明", "13912345678", token.as_str(), "群众选择的类别"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }

        // coordinates: stored with the case, read back (JSON numbers, XML text)
        let (with, _) = api
            .file(&key, &[("lat", " 28.228209"), ("long", "112.938814")])
            .await;
        let v = api
            .get(&format!("/open311/v2/requests/{with}.json"))
            .await
            .json();
        assert_eq!(
            (v[0]["lat"].as_f64(), v[0]["long"].as_f64()),
            (Some(28.228209), Some(112.938814)),
            "{v}"
        );
        let x = api.get(&format!("/open311/v2/requests/{with}.xml")).await;
        assert_eq!(xml_field(&x.body, "lat"), Some("28.228209"), "{}", x.body);
        assert_eq!(xml_field(&x.body, "long"), Some("112.938814"));
        // refused coordinates file nothing
        let listed = |v: Value| v.as_array().unwrap().len();
        let before = listed(api.get("/open311/v2/requests.json").await.json());
        for (extra, code) in [
            (vec![("lat", "91"), ("long", "112.9")], "invalid_lat"),
            (vec![("lat", "28.2"), ("long", "east")], "invalid_long"),
            (vec![("lat", "28.2"), ("long", "NaN")], "invalid_long"),
            (vec![("lat", "28.2")], "missing_long"),
        ] {
            let mut f = vec![
                ("api_key", key.as_str()),
                ("service_code", "infrastructure"),
                ("address_id", GRID),
                ("description", "路灯坏了"),
                ("first_name", "小明"),
                ("last_name", "王"),
                ("phone", "13912345678"),
            ];
            f.extend(extra);
            let r = api.form("/open311/v2/requests.json", &f).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            assert_eq!(r.json()[0]["code"], code, "{}", r.body);
        }
        assert_eq!(
            listed(api.get("/open311/v2/requests.json").await.json()),
            before
        );

        // the same in XML, by token and by tracking code
        let x = api.get(&format!("/open311/v2/requests/{id}.xml")).await;
        check_xml(&x.body, "service_requests");
        assert_eq!(xml_field(&x.body, "service_request_id"), Some(id.as_str()));
        assert_eq!(xml_field(&x.body, "status"), Some("open"));
        let t = api
            .get(&format!("/open311/v2/tokens/{token}.json"))
            .await
            .json();
        assert_eq!(t[0]["service_request_id"], id.as_str());
        let by_code = api
            .get(&format!("/open311/v2/requests/{token}.json"))
            .await
            .json();
        assert_eq!(by_code[0]["service_request_id"], id.as_str());

        // staff see the case filed by the token's owner, the category as the resident's choice
        let (s, case) = {
            let r = api
                .send(
                    Request::get(format!("/api/v1/cases/{id}"))
                        .header(header::AUTHORIZATION, format!("Bearer {session}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            (r.status, r.json())
        };
        assert_eq!(s, StatusCode::OK, "{case}");
        assert_eq!(case["channel"], "web", "{case}");
        assert!(
            case.to_string().contains("群众选择的类别：基础建设"),
            "{case}"
        );

        // triage decides the category: the service follows it, and the list shows it
        let (s, v) = api
            .json_post(
                &format!("/api/v1/cases/{id}/triage"),
                Some(&session),
                &json!({"urgency": "urgent", "category": "民生保障"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let l = api
            .get("/open311/v2/requests.json?service_code=livelihood&status=open")
            .await
            .json();
        assert_eq!(l.as_array().unwrap().len(), 1, "{l}");
        assert_eq!(l[0]["service_request_id"], id.as_str());
        let l = api
            .get("/open311/v2/requests.json?service_code=infrastructure")
            .await
            .json();
        assert_eq!(
            l.as_array().unwrap().len(),
            1,
            "only the one with coordinates: {l}"
        );
        assert_eq!(l[0]["service_request_id"], with.as_str());
    }
}

#[tokio::test]
/// Issue 13 item 5: a confidential case and an accusation (检举控告) are not
/// public at all: left out of the lists, not found by number (in either
/// format), not found in a list by ids; only the filer, with the tracking code
/// as the id, reads the confidential one, still without its description.
async fn confidential_cases_and_accusations_are_not_public() {
    for api in backends().await {
        let key = api
            .token(&api.login("shequ.chen").await, &["open311"])
            .await;
        let (conf, conf_token) = api
            .file(
                &key,
                &[
                    ("attribute[confidential]", "true"),
                    ("address_string", "幸福路12号"),
                ],
            )
            .await;
        let (s, acc) = api
            .json_post(
                "/api/v1/cases",
                None,
                &json!({
                    "channel": "web", "unit": GRID, "title": "举报村干部",
                    "content": "村干部挪用补助款", "address": "幸福路3号",
                    "reporter": {"name": "赵六", "phone": "13700001111"},
                    "accused": {"unit": "430799001", "person": "jiedao.liu"}
                }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{acc}");
        let acc_id = acc["id"].as_i64().unwrap().to_string();
        let (plain, _) = api.file(&key, &[]).await;
        let v = api.get("/open311/v2/requests.json").await.json();
        let items = v.as_array().unwrap();
        let ids: Vec<&str> = items
            .iter()
            .filter_map(|r| r["service_request_id"].as_str())
            .collect();
        assert_eq!(ids, vec![plain.as_str()], "only the public one: {v}");
        assert!(items[0]["description"].is_string(), "{v}");
        let text = v.to_string();
        for secret in [
            "挪用",
            "举报",
            "幸福路12号",
            "幸福路3号",
            "赵六",
            "13700001111",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let x = api.get("/open311/v2/requests.xml").await;
        assert!(!x.body.contains(&format!(">{acc_id}<")), "{}", x.body);
        assert!(!x.body.contains(&format!(">{conf}<")), "{}", x.body);
        for id in [&conf, &acc_id] {
            for ext in ["json", "xml"] {
                let r = api.get(&format!("/open311/v2/requests/{id}.{ext}")).await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}.{ext}: {}", r.body);
            }
        }
        let r = api
            .get(&format!(
                "/open311/v2/requests.json?service_request_id={conf},{acc_id},{plain}"
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let listed = r.json();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        // the filer reads their confidential request by its tracking code, without the text
        let own = api
            .get(&format!("/open311/v2/requests/{conf_token}.json"))
            .await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.body);
        assert!(own.json()[0]["description"].is_null(), "{}", own.body);
        assert!(!own.body.contains("幸福路12号"), "{}", own.body);
    }
}

#[tokio::test]
async fn list_filters_and_errors_in_the_requested_format() {
    for api in backends().await {
        let key = api
            .token(&api.login("shequ.chen").await, &["open311"])
            .await;
        let (a, _) = api.file(&key, &[]).await;
        let (b, _) = api.file(&key, &[]).await;
        let count = |v: Value| v.as_array().unwrap().len();
        let get = |q: &'static str| api.get(q);
        assert_eq!(
            count(get("/open311/v2/requests.json?status=closed").await.json()),
            0
        );
        assert_eq!(
            count(
                get("/open311/v2/requests.json?status=open,closed")
                    .await
                    .json()
            ),
            2
        );
        assert_eq!(
            count(get("/open311/v2/requests.json?start_date=2026-11-23T00:00:00Z&end_date=2026-11-24T00:00:00Z").await.json()),
            2
        );
        assert_eq!(
            count(get("/open311/v2/requests.json?start_date=2026-11-01T00:00:00%2B08:00&end_date=2026-11-23T00:59:59Z").await.json()),
            0
        );
        assert_eq!(
            count(get("/open311/v2/requests.json?page_size=1").await.json()),
            1
        );
        let v = api
            .get(&format!(
                "/open311/v2/requests.json?service_request_id={a},{b},999999&status=closed"
            ))
            .await
            .json();
        assert_eq!(
            count(v.clone()),
            2,
            "service_request_id overrides the other filters: {v}"
        );
        assert_eq!(v[0]["service_request_id"], a.as_str());
        assert_eq!(
            count(
                get("/open311/v2/requests.json?jurisdiction_id=430799")
                    .await
                    .json()
            ),
            2
        );

        let errors: &[(&str, StatusCode, &str)] = &[
            ("/open311/v2/requests/999999.json", StatusCode::NOT_FOUND, "request_not_found"),
            ("/open311/v2/requests/999999.xml", StatusCode::NOT_FOUND, "request_not_found"),
            ("/open311/v2/tokens/ABCDEFGHJK.xml", StatusCode::NOT_FOUND, "token_not_found"),
            ("/open311/v2/services/nothing.json", StatusCode::NOT_FOUND, "service_not_found"),
            ("/open311/v2/services.csv", StatusCode::BAD_REQUEST, "unsupported_format"),
            ("/open311/v2/nothing.json", StatusCode::NOT_FOUND, "not_found"),
            ("/open311/v2/a/b/c.json", StatusCode::NOT_FOUND, "not_found"),
            ("/open311/v2/requests.json?status=pending", StatusCode::BAD_REQUEST, "invalid_status"),
            ("/open311/v2/requests.xml?service_code=nothing", StatusCode::BAD_REQUEST, "unknown_service_code"),
            ("/open311/v2/requests.json?start_date=yesterday", StatusCode::BAD_REQUEST, "invalid_start_date"),
            ("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", StatusCode::BAD_REQUEST, "invalid_start_date"),
            ("/open311/v2/services.json?jurisdiction_id=elsewhere", StatusCode::NOT_FOUND, "unknown_jurisdiction"),
        ];
        for (uri, status, code) in errors {
            let r = api.get(uri).await;
            assert_eq!(r.status, *status, "{uri}: {}", r.body);
            if uri.contains(".json") {
                assert_eq!(r.json()[0]["code"], *code, "{uri}: {}", r.body);
            } else {
                check_xml(&r.body, "errors");
                assert_eq!(xml_field(&r.body, "code"), Some(*code), "{uri}: {}", r.body);
            }
        }

        let post_errors: &[(&[Field], StatusCode, &str)] = &[
            (
                &[("description", "路灯不亮")],
                StatusCode::BAD_REQUEST,
                "missing_service_code",
            ),
            (
                &[("service_code", "nothing")],
                StatusCode::BAD_REQUEST,
                "unknown_service_code",
            ),
            (
                &[
                    ("service_code", "dispute"),
                    ("description", "邻里纠纷"),
                    ("first_name", "小明"),
                    ("last_name", "王"),
                    ("phone", "13912345678"),
                ],
                StatusCode::BAD_REQUEST,
                "missing_place",
            ),
            (
                &[
                    ("service_code", "dispute"),
                    ("address_id", "430799001"),
                    ("description", "邻里纠纷"),
                    ("first_name", "小明"),
                    ("last_name", "王"),
                    ("phone", "13912345678"),
                ],
                StatusCode::BAD_REQUEST,
                "unknown_address_id",
            ),
            (
                &[
                    ("service_code", "dispute"),
                    ("address_id", GRID),
                    ("description", "邻里纠纷"),
                    ("first_name", "小明"),
                    ("last_name", "王"),
                ],
                StatusCode::BAD_REQUEST,
                "missing_phone",
            ),
            (
                &[
                    ("service_code", "dispute"),
                    ("address_id", GRID),
                    ("first_name", "小明"),
                    ("phone", "13912345678"),
                ],
                StatusCode::BAD_REQUEST,
                "missing_description",
            ),
        ];
        for format in ["json", "xml"] {
            for (fields, status, code) in post_errors {
                let mut f: Vec<(&str, &str)> = vec![("api_key", &key)];
                f.extend_from_slice(fields);
                let r = api
                    .form(&format!("/open311/v2/requests.{format}"), &f)
                    .await;
                assert_eq!(r.status, *status, "{fields:?}: {}", r.body);
                let got = if format == "json" {
                    r.json()[0]["code"].as_str().unwrap().to_string()
                } else {
                    check_xml(&r.body, "errors");
                    xml_field(&r.body, "code").unwrap().to_string()
                };
                assert_eq!(got, *code, "{fields:?}: {}", r.body);
            }
        }
        // a typed address naming the community is enough
        let r = api
            .form(
                "/open311/v2/requests.xml",
                &[
                    ("api_key", &key),
                    ("service_code", "dispute"),
                    ("address_string", "丹阳社区幸福路12号"),
                    ("description", "邻里因停车发生纠纷"),
                    ("first_name", "小明"),
                    ("last_name", "王"),
                    ("phone", "13912345678"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        check_xml(&r.body, "service_requests");
        let id = xml_field(&r.body, "service_request_id").unwrap();
        let v = api
            .get(&format!("/open311/v2/requests/{id}.json"))
            .await
            .json();
        assert_eq!(v[0]["address_id"], "430799001002", "{v}");
        assert_eq!(v[0]["service_code"], "dispute", "{v}");
    }
}

#[tokio::test]
async fn discovery_services_and_definitions() {
    for api in backends().await {
        let d = api
            .send(
                Request::get("/open311/v2/discovery.json")
                    .header(header::HOST, "suqiu.example:8080")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .json();
        let e = &d["endpoints"][0];
        assert_eq!(e["specification"], "http://wiki.open311.org/GeoReport_v2");
        assert_eq!(e["url"], "http://suqiu.example:8080/open311/v2");
        assert_eq!(e["formats"], json!(["text/xml", "application/json"]));
        assert_eq!(d["changeset"], e["changeset"]);

        let s = api.get("/open311/v2/services.json").await.json();
        let codes: Vec<&str> = s
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["service_code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "infrastructure",
                "livelihood",
                "environment",
                "dispute",
                "petition"
            ]
        );
        assert_eq!(s[4]["service_name"], "信访舆情");
        assert_eq!(s[0]["metadata"], true);

        let x = api.get("/open311/v2/services.xml").await;
        assert_eq!(xml_field(&x.body, "service_name"), Some("基础建设"));

        let def = api.get("/open311/v2/services/petition.json").await.json();
        assert_eq!(def["service_code"], "petition");
        let place = &def["attributes"][0];
        assert_eq!(place["code"], "place");
        assert_eq!(place["datatype"], "singlevaluelist");
        assert_eq!(place["required"], true);
        let values = place["values"].as_array().unwrap();
        assert!(
            values
                .iter()
                .any(|v| v["key"] == GRID && v["name"].as_str().unwrap().contains("丹阳社区")),
            "{place}"
        );
        // no district, street or department among the places
        assert!(
            values
                .iter()
                .all(|v| v["key"] != "430799" && v["key"] != "430799001"),
            "{place}"
        );
        // by name too
        let by_name = api
            .get("/open311/v2/services/%E4%BF%A1%E8%AE%BF%E8%88%86%E6%83%85.json")
            .await
            .json();
        assert_eq!(by_name["service_code"], "petition");
        // methods other than the spec's are refused in the format
        let r = api
            .send(
                Request::delete("/open311/v2/services.xml")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(xml_field(&r.body, "code"), Some("method_not_allowed"));
    }
}
