//! The HTTP API, end to end through the router, on SQLite and (when the test
//! script provides it) PostgreSQL. One test binary for all API tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use suqiu_app::{orgconfig, App, FixedClock};
use suqiu_store::testing::{self, TestDb};
use tower::ServiceExt;

/// 2026-11-23 09:00 +08:00
const T0: i64 = 1_795_395_600_000;

struct Api {
    router: Router,
    app: App,
    clock: Arc<FixedClock>,
    _db: TestDb,
}

impl Api {
    async fn new(db: TestDb) -> Api {
        Api::build(db, false).await
    }

    /// With the related-case index (built from the store, as `suqiu serve` does).
    async fn build(db: TestDb, related: bool) -> Api {
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
        Api {
            router: suqiu_web::router(app.clone()),
            app,
            clock,
            _db: db,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String, Value) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ctype = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, ctype, v)
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, String, Value) {
        let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(b.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// A JSON request from a client at `ip` (as the server's listener
    /// records it), with an optional bearer token.
    async fn call_from(
        &self,
        ip: [u8; 4],
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let mut req = b
            .body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
            .unwrap();
        let addr = std::net::SocketAddr::from((ip, 40000));
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        let (s, _, v) = self.send(req).await;
        (s, v)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut b = Request::get(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (s, _, v) = self.send(b.body(Body::empty()).unwrap()).await;
        (s, v)
    }

    async fn login(&self, login: &str) -> String {
        let (s, _, v) = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": login, "password": orgconfig::DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    async fn count(&self) -> i64 {
        self.app.store().count_cases().await.unwrap()
    }
}

async fn backends() -> Vec<Api> {
    backends_with(false).await
}

async fn backends_with(related: bool) -> Vec<Api> {
    let mut out = vec![Api::build(testing::sqlite().await.unwrap(), related).await];
    if let Some(server) = testing::postgres_server_url() {
        out.push(Api::build(testing::postgres(&server).await.unwrap(), related).await);
    }
    out
}

/// 丹阳社区 第一网格 in the demo district.
const GRID: &str = "430799001002-01";
const COMMUNITY: &str = "430799001002";

fn valid() -> Value {
    json!({
        "channel": "web",
        "unit": GRID,
        "title": "小区门口路灯不亮",
        "content": "丹阳社区幸福路口的路灯坏了一个星期，晚上很黑。",
        "reporter": {"name": "王小明", "phone": "13912345678", "id_number": "11010519491231002X"}
    })
}

#[tokio::test]
async fn resident_files_and_tracks_without_personal_data() {
    for api in backends().await {
        let (s, _, v) = api.post("/api/v1/cases", None, &valid()).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let code = v["tracking_code"].as_str().unwrap();
        assert_eq!(code.len(), 10);
        assert!(v["id"].as_i64().unwrap() > 0);

        let (s, t) = api.get(&format!("/api/v1/track/{code}"), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(t["status"], "received");
        assert_eq!(t["timeline"].as_array().unwrap().len(), 1);
        assert!(t["timeline"][0]["text_zh"]
            .as_str()
            .unwrap()
            .contains("丹阳社区"));
        assert_eq!(t["received_at"], "2026-11-23T09:00:00+08:00");
        let text = t.to_string();
        for secret in ["王小明", "13912345678", "11010519491231002X", "幸福路口"] {
            assert!(!text.contains(secret), "track view leaks {secret}: {text}");
        }
        // lower case and hyphens are accepted; unknown codes are 404
        let (s, _) = api
            .get(
                &format!("/api/v1/track/{}-{}", &code[..5].to_lowercase(), &code[5..]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, p) = api.get("/api/v1/track/ZZZZZZZZZZ", None).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("case_not_found"))
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_writes_nothing() {
    for api in backends().await {
        let cases: Vec<(Value, StatusCode, &str, Option<&str>)> = {
            let mut v = Vec::new();
            let mut with = |f: &dyn Fn(&mut Value), status, code, field| {
                let mut b = valid();
                f(&mut b);
                v.push((b, status, code, field));
            };
            let u = StatusCode::UNPROCESSABLE_ENTITY;
            with(
                &|b| {
                    b.as_object_mut().unwrap().remove("title");
                },
                u,
                "field_missing",
                Some("title"),
            );
            with(
                &|b| b["content"] = json!("   "),
                u,
                "field_empty",
                Some("content"),
            );
            with(
                &|b| b["title"] = json!("长".repeat(101)),
                u,
                "field_too_long",
                Some("title"),
            );
            with(
                &|b| b["content"] = json!("字".repeat(5001)),
                u,
                "field_too_long",
                Some("content"),
            );
            with(
                &|b| b["reporter"]["phone"] = json!("1391234567"),
                u,
                "invalid_phone",
                Some("reporter.phone"),
            );
            with(
                &|b| b["reporter"]["id_number"] = json!("110105194912310021"),
                u,
                "invalid_id_number",
                Some("reporter.id_number"),
            );
            with(
                &|b| {
                    b.as_object_mut().unwrap().remove("reporter");
                },
                u,
                "field_missing",
                Some("reporter.name"),
            );
            with(
                &|b| b["unit"] = json!("NO-SUCH-UNIT"),
                u,
                "unknown_unit",
                Some("unit"),
            );
            with(
                &|b| b["unit"] = json!("430799-D01"),
                u,
                "unit_not_a_place",
                Some("unit"),
            );
            with(
                &|b| b["channel"] = json!("carrier_pigeon"),
                u,
                "invalid_channel",
                Some("channel"),
            );
            with(
                &|b| b["channel"] = json!("hotline_12345"),
                StatusCode::FORBIDDEN,
                "channel_requires_staff",
                Some("channel"),
            );
            with(&|b| b["title"] = json!(42), u, "invalid_json_shape", None);
            with(
                &|b| b["title"] = json!("标题\u{0007}"),
                u,
                "field_control_characters",
                Some("title"),
            );
            v
        };
        for (body, status, code, field) in cases {
            let (s, ctype, p) = api.post("/api/v1/cases", None, &body).await;
            assert_eq!(s, status, "{body} -> {p}");
            assert_eq!(ctype, "application/problem+json");
            assert_eq!(p["code"], code, "{p}");
            assert_eq!(p["status"], status.as_u16());
            if let Some(f) = field {
                assert_eq!(p["field"], f, "{p}");
            }
            assert!(
                !p["message_zh"].as_str().unwrap().is_empty()
                    && !p["message_en"].as_str().unwrap().is_empty()
            );
        }

        let raw = |ctype: &str, body: Vec<u8>| {
            Request::post("/api/v1/cases")
                .header(header::CONTENT_TYPE, ctype)
                .body(Body::from(body))
                .unwrap()
        };
        let checks = vec![
            (
                raw("application/json", b"{\"channel\": \"web\",".to_vec()),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                raw("application/json", b"".to_vec()),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                raw("application/json", b"{\"title\": \"\xff\xfe\"}".to_vec()),
                StatusCode::BAD_REQUEST,
                "invalid_utf8",
            ),
            (
                raw("text/plain", valid().to_string().into_bytes()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                raw(
                    "application/json; charset=gbk",
                    valid().to_string().into_bytes(),
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                raw("application/json", vec![b' '; 70 * 1024]),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                Request::post("/api/v1/cases")
                    .body(Body::from(valid().to_string()))
                    .unwrap(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
        ];
        for (req, status, code) in checks {
            let (s, ctype, p) = api.send(req).await;
            assert_eq!((s, p["code"].as_str()), (status, Some(code)), "{p}");
            assert_eq!(ctype, "application/problem+json");
        }
        assert_eq!(api.count().await, 0, "no refused request wrote anything");

        // unknown routes and methods are problems too
        let (s, p) = api.get("/api/v1/nope", None).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (s, _, p) = api
            .send(
                Request::delete("/api/v1/cases")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
    }
}

#[tokio::test]
async fn staff_login_scope_and_timeline() {
    for api in backends().await {
        // a case in 白沙街道/丹阳社区 and one in 金霞镇
        let (_, _, a) = api.post("/api/v1/cases", None, &valid()).await;
        let mut other = valid();
        other["unit"] = json!("430799004001-01-H1");
        let (s, _, b) = api.post("/api/v1/cases", None, &other).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");

        let (s, p) = api.get("/api/v1/cases", None).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let (s, _, p) = api
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": "shequ.chen", "password": "wrong"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
        );

        let community = api.login("shequ.chen").await;
        let (s, me) = api.get("/api/v1/me", Some(&community)).await;
        assert_eq!(
            (s, me["role"].as_str()),
            (StatusCode::OK, Some("community_staff"))
        );
        let (_, list) = api.get("/api/v1/cases", Some(&community)).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(
            items.len(),
            1,
            "community staff see their subtree only: {list}"
        );
        assert_eq!(items[0]["id"], a["id"]);
        assert_eq!(items[0]["reporter"]["phone"], "139****5678", "lists mask");
        assert_eq!(items[0]["reporter"]["name"], "王**");

        let (s, detail) = api
            .get(&format!("/api/v1/cases/{}", a["id"]), Some(&community))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(detail["timeline"][0]["kind"], "received");
        assert_eq!(detail["timeline"][0]["actor"]["type"], "resident");
        assert_eq!(detail["triage_unit"]["code"], COMMUNITY);
        let (s, p) = api
            .get(&format!("/api/v1/cases/{}", b["id"]), Some(&community))
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("case_not_found")),
            "out of scope"
        );

        // leaders see the streets they are linked to; the petition bureau everything
        let leader = api.login("lingdao.xu").await; // linked to 金霞镇
        let (_, list) = api.get("/api/v1/cases", Some(&leader)).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["id"], b["id"]);
        let bureau = api.login("xinfang.he").await;
        let (_, list) = api.get("/api/v1/cases", Some(&bureau)).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        let (_, list) = api.get("/api/v1/cases?unit=430799004", Some(&bureau)).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let (s, p) = api.get("/api/v1/cases?unit=NOPE", Some(&bureau)).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
        );
        let (s, p) = api.get("/api/v1/cases?limit=9999", Some(&bureau)).await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("limit"))
        );
        let dept = api.login("bumen.zhang").await;
        let (_, list) = api.get("/api/v1/cases", Some(&dept)).await;
        assert!(
            list["items"].as_array().unwrap().is_empty(),
            "nothing dispatched to the department yet"
        );

        // notes: optimistic concurrency through the API
        let note = |v: u64| json!({"text": "已电话联系居民", "expected_version": v});
        let v0 = detail["version"].as_u64().unwrap();
        let path = format!("/api/v1/cases/{}/notes", a["id"]);
        let (s, _, r) = api.post(&path, Some(&community), &note(v0)).await;
        assert_eq!((s, r["version"].as_u64()), (StatusCode::OK, Some(v0 + 1)));
        let (s, _, p) = api.post(&path, Some(&community), &note(v0)).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("version_conflict"))
        );
        let (_, detail) = api
            .get(&format!("/api/v1/cases/{}", a["id"]), Some(&community))
            .await;
        let timeline = detail["timeline"].as_array().unwrap();
        assert_eq!(timeline.last().unwrap()["kind"], "note_added");
        assert_eq!(timeline.last().unwrap()["actor"]["login"], "shequ.chen");
        // the resident's timeline does not show internal notes
        let (_, t) = api
            .get(
                &format!("/api/v1/track/{}", a["tracking_code"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(t["timeline"].as_array().unwrap().len(), 1);

        // logout ends the session at once
        let (s, _, _) = api
            .post("/api/v1/auth/logout", Some(&community), &json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = api.get("/api/v1/me", Some(&community)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // sessions expire
        api.clock.advance(suqiu_app::auth::SESSION_TTL_MS + 1);
        let (s, _) = api.get("/api/v1/me", Some(&bureau)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn every_channel_and_proxy_filing() {
    for api in backends().await {
        let grid = api.login("wangge.li").await;
        let street = api.login("jiedao.liu").await;
        for ch in suqiu_domain::Channel::ALL {
            let mut b = valid();
            b["channel"] = json!(ch.as_str());
            let token = if ch == suqiu_domain::Channel::Proxy {
                &grid
            } else {
                &street
            };
            let (s, _, v) = api.post("/api/v1/cases", Some(token), &b).await;
            assert_eq!(s, StatusCode::CREATED, "{ch:?}: {v}");
        }
        // proxy: both people recorded
        let (_, list) = api.get("/api/v1/cases?channel=proxy", Some(&grid)).await;
        let id = list["items"][0]["id"].clone();
        let (_, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&grid)).await;
        assert_eq!(d["proxy"]["login"], "wangge.li");
        assert_eq!(d["reporter"]["name"], "王**", "detail masks too");
        let (s, _, full) = api
            .post(
                &format!("/api/v1/cases/{id}/unmask"),
                Some(&grid),
                &json!({"reason": "上门回访需联系"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{full}");
        assert_eq!(full["name"], "王小明");
        assert_eq!(d["timeline"][0]["actor"]["login"], "wangge.li");
        // only grid workers file as proxy
        let mut b = valid();
        b["channel"] = json!("proxy");
        let (s, _, p) = api.post("/api/v1/cases", Some(&street), &b).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("proxy_requires_grid_worker"))
        );
        // a bad token is refused rather than treated as anonymous
        let (s, _, _) = api.post("/api/v1/cases", Some("bogus"), &valid()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // keyset pagination over the API
        let (_, page1) = api.get("/api/v1/cases?limit=4", Some(&street)).await;
        assert_eq!(page1["items"].as_array().unwrap().len(), 4);
        let cursor = page1["next_cursor"].as_str().unwrap();
        let mut seen: Vec<i64> = page1["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        let mut next = Some(cursor.to_string());
        while let Some(c) = next {
            let (_, p) = api
                .get(&format!("/api/v1/cases?limit=4&cursor={c}"), Some(&street))
                .await;
            seen.extend(
                p["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_i64().unwrap()),
            );
            next = p["next_cursor"].as_str().map(str::to_string);
        }
        assert_eq!(seen.len(), suqiu_domain::Channel::ALL.len());
        let (_, ranged) = api
            .get("/api/v1/cases?from=2026-11-23T09:00:00%2B08:00&to=2026-11-23T09:00:01%2B08:00&channel=web,letter", Some(&street))
            .await;
        assert_eq!(ranged["items"].as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn units_channels_and_openapi() {
    let api = Api::new(testing::sqlite().await.unwrap()).await;
    let (s, u) = api.get("/api/v1/units", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["counts"]["grid"], 120);
    assert_eq!(u["counts"]["community"], 25);
    let roots: Vec<&str> = u["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["parent"].is_null())
        .map(|x| x["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        roots,
        vec!["oversight", "district"],
        "the district and the oversight organ outside it"
    );
    let (_, c) = api.get("/api/v1/channels", None).await;
    assert_eq!(c.as_array().unwrap().len(), 11);
    let (s, h) = api.get("/healthz", None).await;
    assert_eq!((s, h["status"].as_str()), (StatusCode::OK, Some("ok")));

    let (s, doc) = api.get("/api/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    let mut routed: Vec<(String, String)> = suqiu_web::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(
        documented, routed,
        "the OpenAPI document lists exactly the routes"
    );
    // and every listed route is really served (not the 404 fallback)
    for (m, p) in suqiu_web::routes() {
        let path = p
            .replace("{id}", "1")
            .replace("{tracking_code}", "ZZZZZZZZZZ")
            .replace("{queue}", "triage");
        let req = Request::builder()
            .method(m.to_uppercase().as_str())
            .uri(&path)
            .body(Body::empty())
            .unwrap();
        let (_, _, v) = api.send(req).await;
        assert_ne!(v["code"], "not_found", "{m} {p}");
        assert_ne!(v["code"], "method_not_allowed", "{m} {p}");
    }
}

#[tokio::test]
async fn six_orders_through_the_api() {
    for api in backends().await {
        let (_, _, c) = api.post("/api/v1/cases", None, &valid()).await;
        let id = c["id"].as_i64().unwrap();
        let code = c["tracking_code"].as_str().unwrap().to_string();
        let community = api.login("shequ.chen").await;
        let street = api.login("jiedao.liu").await;
        let dept = api.login("bumen.zhang").await;
        let leader = api.login("lingdao.yang").await;
        let cmd = |name: &str| format!("/api/v1/cases/{id}/{name}");

        let (_, q) = api.get("/api/v1/queues/triage", Some(&community)).await;
        assert_eq!(q["items"][0]["id"], id, "{q}");
        let (s, _, p) = api.post(&cmd("sign"), Some(&street), &json!({})).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition")),
            "{p}"
        );
        let (s, _, p) = api
            .post(
                &cmd("triage"),
                Some(&community),
                &json!({"urgency": "soon", "category": "基础建设"}),
            )
            .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("urgency")),
            "{p}"
        );
        let (s, _, r) = api
            .post(
                &cmd("triage"),
                Some(&community),
                &json!({"urgency": "urgent", "category": "基础建设"}),
            )
            .await;
        assert_eq!(
            (s, r["status"].as_str()),
            (StatusCode::OK, Some("triaged")),
            "{r}"
        );
        let (s, _, r) = api.post(&cmd("report"), Some(&community), &json!({})).await;
        assert_eq!(
            (s, r["status"].as_str()),
            (StatusCode::OK, Some("reported")),
            "{r}"
        );
        let (_, q) = api.get("/api/v1/queues/sign", Some(&street)).await;
        assert_eq!(q["items"].as_array().unwrap().len(), 1);
        api.post(&cmd("sign"), Some(&street), &json!({})).await;
        // before dispatch the department cannot see the case
        let (s, _) = api.get(&format!("/api/v1/cases/{id}"), Some(&dept)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _, p) = api
            .post(
                &cmd("dispatch"),
                Some(&street),
                &json!({"lead": "430799001002", "difficulty": "ordinary"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_command")),
            "{p}"
        );
        let (s, _, r) = api
            .post(
                &cmd("dispatch"),
                Some(&street),
                &json!({"lead": "430799-D01", "difficulty": "ordinary"}),
            )
            .await;
        assert_eq!(
            (s, r["status"].as_str()),
            (StatusCode::OK, Some("dispatched")),
            "{r}"
        );
        let (_, q) = api.get("/api/v1/queues/accept", Some(&dept)).await;
        assert_eq!(q["items"][0]["id"], id);
        let (_, list) = api.get("/api/v1/cases", Some(&dept)).await;
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            1,
            "dispatched cases are listed for the department"
        );
        // a stale version is a conflict
        let (_, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&dept)).await;
        let v = d["version"].as_u64().unwrap();
        assert_eq!(d["deadlines"].as_array().unwrap().len(), 2, "{d}");
        let (s, _, p) = api
            .post(
                &cmd("accept"),
                Some(&dept),
                &json!({"contact_note": "已联系", "expected_version": v - 1}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("version_conflict"))
        );
        api.post(
            &cmd("accept"),
            Some(&dept),
            &json!({"contact_note": "已电话联系王先生", "expected_version": v}),
        )
        .await;
        let (s, _, _) = api.post(&cmd("own"), Some(&leader), &json!({})).await;
        assert_eq!(s, StatusCode::OK);
        // timelines name the person and their role, not a login
        let (_, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&street)).await;
        let tl: Vec<&str> = d["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["text_zh"].as_str().unwrap())
            .collect();
        assert!(tl.contains(&"杨国华（挂点领导）包案"), "{tl:?}");
        assert!(tl.iter().all(|t| !t.contains("lingdao.yang")), "{tl:?}");
        let (_, q) = api.get("/api/v1/queues/owned", Some(&leader)).await;
        assert_eq!(q["owner"], "@lingdao.yang");
        assert_eq!(q["items"][0]["id"], id);
        let (s, _, r) = api
            .post(
                &cmd("reply"),
                Some(&dept),
                &json!({"result": "路灯已修复", "policy_basis": "城市照明管理规定"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("replied")));

        // the resident rates with the tracking code
        let (_, t) = api.get(&format!("/api/v1/track/{code}"), None).await;
        assert_eq!(t["can_rate"], true);
        let (s, _, p) = api
            .post(
                &format!("/api/v1/track/{code}/rating"),
                None,
                &json!({"rating": "great", "phone_last4": "5678"}),
            )
            .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("rating"))
        );
        let (s, _, t) = api
            .post(
                &format!("/api/v1/track/{code}/rating"),
                None,
                &json!({"rating": "satisfied", "comment": "谢谢", "phone_last4": "5678"}),
            )
            .await;
        assert_eq!(
            (s, t["status"].as_str()),
            (StatusCode::OK, Some("closed")),
            "{t}"
        );
        let texts: Vec<&str> = t["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["text_zh"].as_str().unwrap())
            .collect();
        assert!(texts.iter().any(|x| x.contains("已答复")), "{texts:?}");
        let (s, _, p) = api
            .post(
                &format!("/api/v1/track/{code}/rating"),
                None,
                &json!({"rating": "satisfied", "phone_last4": "5678"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition"))
        );
        let n = api.app.store().notifications(id).await.unwrap();
        assert!(n
            .iter()
            .any(|x| x.template == "dispatched" && x.recipient.contains("430799-D01")));
        // the rating goes back to the lead department and the street that dispatched
        for unit in ["430799-D01", "430799001"] {
            assert!(
                n.iter().any(|x| x.template == "rated"
                    && x.recipient.contains(&format!("\"{unit}\""))
                    && x.text_zh.contains("群众评价：满意")),
                "{unit}: {n:?}"
            );
        }
        assert!(
            n.iter()
                .filter(|x| x.recipient.contains("resident"))
                .count()
                >= 5
        );
        // … and waits in their "rated" queue until each has read it
        for who in [&dept, &street] {
            let (_, q) = api.get("/api/v1/queues/rated", Some(who)).await;
            assert_eq!(q["items"][0]["id"], id, "{q}");
        }
        let (s, _, p) = api
            .post(&cmd("rating-read"), Some(&community), &json!({}))
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_permitted")),
            "the community did not handle it: {p}"
        );
        let (s, _, r) = api.post(&cmd("rating-read"), Some(&dept), &json!({})).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let (_, q) = api.get("/api/v1/queues/rated", Some(&dept)).await;
        assert_eq!(q["items"].as_array().unwrap().len(), 0, "{q}");
        let (_, q) = api.get("/api/v1/queues/rated", Some(&street)).await;
        assert_eq!(q["items"][0]["id"], id, "the street has not read it yet");
        let (s, _, p) = api.post(&cmd("rating-read"), Some(&dept), &json!({})).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition")),
            "read once: {p}"
        );
        let (_, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&street)).await;
        assert!(
            d["timeline"].to_string().contains("已阅群众评价"),
            "{}",
            d["timeline"]
        );
    }
}

#[tokio::test]
async fn administrators_add_a_calendar_year_and_provisional_deadlines_follow() {
    for api in backends().await {
        let (_, c) = api.get("/api/v1/calendar", None).await;
        assert_eq!(c["years"].as_array().unwrap().last().unwrap(), 2026);
        assert!(
            c.get("provisional_deadlines").is_none(),
            "only administrators see them"
        );
        // a deadline reaching into 2027 is provisional: 3 working days from
        // 29 December, with New Year's Day known without the notice
        let (_, _, created) = api.post("/api/v1/cases", None, &valid()).await;
        let id = created["id"].as_i64().unwrap();
        api.clock.set(1_798_500_000_000); // 2026-12-29 07:20
        let community = api.login("shequ.chen").await;
        api.post(
            &format!("/api/v1/cases/{id}/triage"),
            Some(&community),
            &json!({"urgency": "unreasonable", "category": "信访舆情"}),
        )
        .await;
        let admin = api.login("admin").await; // the earlier session expired with the clock
        let street = api.login("jiedao.liu").await;
        let (_, c) = api.get("/api/v1/calendar", Some(&admin)).await;
        assert_eq!(c["provisional_deadlines"][0]["case_id"], id, "{c}");
        assert_eq!(c["provisional_deadlines"][0]["rule"], "explain");
        let day = |y, m, d| {
            suqiu_domain::workflow::end_of_china_day(
                time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap(),
            )
        };
        let explain = |rows: Vec<suqiu_store::DeadlineRow>| {
            rows.into_iter().find(|d| d.rule == "explain").unwrap()
        };
        let d = explain(api.app.store().deadlines(id).await.unwrap());
        assert_eq!((d.due_at, d.provisional), (day(2027, 1, 4), true));

        // the 2027 notice (made up for the test): 4 January is off too
        let year = json!({"year": 2027, "papers": [], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-04", "isOffDay": true}
        ]});
        let (s, _, p) = api.post("/api/v1/calendar", Some(&street), &year).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
        let (s, _, p) = api
            .post(
                "/api/v1/calendar",
                Some(&admin),
                &json!({"text": "year 2027\noff 2026-01-01 元旦\n"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_calendar")),
            "{p}"
        );
        let (s, _, r) = api.post("/api/v1/calendar", Some(&admin), &year).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["years"].as_array().unwrap().last().unwrap(), 2027);
        assert_eq!(r["recomputed"]["recomputed"], 1, "{r}");
        // counted again, journalled, and no longer provisional
        let d = explain(api.app.store().deadlines(id).await.unwrap());
        assert_eq!((d.due_at, d.provisional), (day(2027, 1, 5), false));
        let (_, case) = api
            .get(&format!("/api/v1/cases/{id}"), Some(&community))
            .await;
        let deadline = case["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["rule"] == "explain")
            .unwrap()
            .clone();
        assert_eq!(deadline["provisional"], false, "{deadline}");
        let events = api.app.store().events(id).await.unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.event.kind() == "deadline_recomputed"),
            "journalled"
        );
        // the community that must act and the resident are told
        let n = api.app.store().notifications(id).await.unwrap();
        let told: Vec<&str> = n
            .iter()
            .filter(|x| x.template == "deadline_recomputed")
            .map(|x| x.recipient.as_str())
            .collect();
        assert!(told.iter().any(|r| r.contains(COMMUNITY)), "{told:?}");
        assert!(told.iter().any(|r| r.contains("resident")), "{told:?}");
        // done once: adding the year again changes nothing more
        let (_, _, r) = api.post("/api/v1/calendar", Some(&admin), &year).await;
        assert_eq!(r["recomputed"]["recomputed"], 0, "{r}");
        // stored: a new app over the same store knows 2027, and so does a
        // running instance at its next refresh
        let again = App::new(api.app.store().clone(), api.clock.clone())
            .await
            .unwrap();
        assert!(again.calendar().years_covered().contains(&2027));
        assert!(!again.refresh_calendar().await.unwrap(), "nothing new");
    }
}

#[tokio::test]
async fn a_case_filed_after_office_hours_is_due_the_next_working_day() {
    for api in backends().await {
        // Monday 2026-11-23, 23:59 China time: not overdue at midnight
        api.clock.set(T0 + 14 * 3_600_000 + 59 * 60_000);
        let (_, _, created) = api.post("/api/v1/cases", None, &valid()).await;
        let id = created["id"].as_i64().unwrap();
        let community = api.login("shequ.chen").await;
        let (_, case) = api
            .get(&format!("/api/v1/cases/{id}"), Some(&community))
            .await;
        let triage = case["deadlines"][0].clone();
        assert_eq!(
            (triage["rule"].as_str(), triage["after_hours"].as_bool()),
            (Some("triage"), Some(true)),
            "{case}"
        );
        let rows = api.app.store().deadlines(id).await.unwrap();
        let tuesday = suqiu_domain::workflow::end_of_china_day(
            time::Date::from_calendar_date(2026, time::Month::November, 24).unwrap(),
        );
        assert_eq!(rows[0].due_at, tuesday);
        api.clock.set(T0 + 15 * 3_600_000 + 5 * 60_000); // 00:05
        api.app.sweep_once().await.unwrap();
        let (_, case) = api
            .get(&format!("/api/v1/cases/{id}"), Some(&community))
            .await;
        assert_eq!(case["deadlines"][0]["overdue"], false, "{case}");
        let timeline = case["timeline"].to_string();
        assert!(
            timeline.contains("非工作时间受理，按下一工作日计"),
            "{timeline}"
        );
        // the same at 09:00: due that very day
        api.clock.set(T0 + 24 * 3_600_000);
        let (_, _, created) = api.post("/api/v1/cases", None, &valid()).await;
        let rows = api
            .app
            .store()
            .deadlines(created["id"].as_i64().unwrap())
            .await
            .unwrap();
        assert_eq!(rows[0].due_at, tuesday);
    }
}

#[tokio::test]
async fn unmasking_is_a_permission_and_is_audited() {
    for api in backends().await {
        let mut confidential = valid();
        confidential["reporter"]["confidential"] = json!(true);
        let (_, _, a) = api.post("/api/v1/cases", None, &valid()).await;
        let (_, _, b) = api.post("/api/v1/cases", None, &confidential).await;
        let community = api.login("shequ.chen").await;
        let bureau = api.login("xinfang.he").await;
        let admin = api.login("admin").await;
        let unmask = |id: &Value| format!("/api/v1/cases/{id}/unmask");
        let (s, _, p) = api
            .post(&unmask(&a["id"]), Some(&community), &json!({}))
            .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
        );
        let (s, _, r) = api
            .post(
                &unmask(&a["id"]),
                Some(&community),
                &json!({"reason": "电话联系群众"}),
            )
            .await;
        assert_eq!(
            (s, r["phone"].as_str()),
            (StatusCode::OK, Some("13912345678"))
        );
        // a confidential reporter: only the petition bureau
        let (s, _, p) = api
            .post(
                &unmask(&b["id"]),
                Some(&community),
                &json!({"reason": "联系"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
        let (s, _, _) = api
            .post(&unmask(&b["id"]), Some(&bureau), &json!({"reason": "回访"}))
            .await;
        assert_eq!(s, StatusCode::OK);
        // administrators run the system; they do not read reporters
        let (s, _, _) = api
            .post(&unmask(&a["id"]), Some(&admin), &json!({"reason": "看看"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (s, log) = api.get("/api/v1/admin/audit", Some(&admin)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(log["chain_ok"], true, "{log}");
        let unmasks: Vec<&Value> = log["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "case.unmask")
            .collect();
        assert_eq!(unmasks.len(), 2, "{log}");
        assert_eq!(unmasks[0]["actor"], "shequ.chen");
        assert_eq!(unmasks[0]["reason"], "电话联系群众");
        assert_eq!(unmasks[0]["target"], format!("case:{}", a["id"]));
        let (s, _) = api.get("/api/v1/admin/audit", Some(&community)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn an_accusation_never_reaches_the_accused() {
    for api in backends().await {
        // a resident accuses 白沙街道 (the street) and its head 刘志强 (jiedao.liu)
        let mut acc = valid();
        acc["title"] = json!("举报街道干部违规收费");
        acc["content"] = json!("白沙街道刘志强在拆迁中违规收费，我有收据。");
        acc["accused"] = json!({"unit": "430799001", "person": "jiedao.liu"});
        let (s, _, a) = api.post("/api/v1/cases", None, &acc).await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        let id = a["id"].clone();
        let mut bad = acc.clone();
        bad["accused"] = json!({"unit": "NOPE"});
        let (s, _, p) = api.post("/api/v1/cases", None, &bad).await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("accused.unit"))
        );

        // the accused street, the community and grid under it, and its linked leader see nothing
        for login in ["jiedao.liu", "shequ.chen", "wangge.li", "lingdao.yang"] {
            let t = api.login(login).await;
            let (s, _) = api.get(&format!("/api/v1/cases/{id}"), Some(&t)).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{login} must not see it");
            let (_, list) = api.get("/api/v1/cases", Some(&t)).await;
            assert!(
                list["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|i| i["id"] != id),
                "{login} lists it"
            );
            for q in ["triage", "owned", "supervise"] {
                let (_, queue) = api.get(&format!("/api/v1/queues/{q}"), Some(&t)).await;
                assert!(queue["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|i| i["id"] != id));
            }
            let (s, _, _) = api
                .post(
                    &format!("/api/v1/cases/{id}/unmask"),
                    Some(&t),
                    &json!({"reason": "核实"}),
                )
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND);
        }
        // the petition bureau triages it
        let bureau = api.login("xinfang.he").await;
        let (_, q) = api.get("/api/v1/queues/triage", Some(&bureau)).await;
        assert!(
            q["items"].as_array().unwrap().iter().any(|i| i["id"] == id),
            "{q}"
        );
        let (s, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&bureau)).await;
        assert_eq!((s, d["accusation"].as_bool()), (StatusCode::OK, Some(true)));
        let (s, _, r) = api
            .post(
                &format!("/api/v1/cases/{id}/triage"),
                Some(&bureau),
                &json!({"urgency": "urgent", "category": "信访舆情"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let (s, _, p) = api
            .post(
                &format!("/api/v1/cases/{id}/report"),
                Some(&bureau),
                &json!({}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition")),
            "stays at district level"
        );
        // the other leader (not linked to the accused street) sees it in the district? no: not in his subtree either
        let xu = api.login("lingdao.xu").await;
        let (s, _) = api.get(&format!("/api/v1/cases/{id}"), Some(&xu)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn accounts_throttling_disabling_and_sessions() {
    let api = Api::new(testing::sqlite().await.unwrap()).await;
    for _ in 0..5 {
        let (s, _, p) = api
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": "bumen.wu", "password": "wrong-password"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
        );
    }
    let (s, _, p) = api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "bumen.wu", "password": orgconfig::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
    );
    api.clock.advance(16 * 60 * 1000);
    let wu = api.login("bumen.wu").await;

    // disabling takes effect at once
    let admin = api.login("admin").await;
    let (s, _, _) = api
        .post(
            "/api/v1/admin/users/bumen.wu/disable",
            Some(&wu),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = api
        .post(
            "/api/v1/admin/users/bumen.wu/disable",
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.get("/api/v1/me", Some(&wu)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "bumen.wu", "password": orgconfig::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    api.post(
        "/api/v1/admin/users/bumen.wu/enable",
        Some(&admin),
        &json!({}),
    )
    .await;
    let wu = api.login("bumen.wu").await;

    // logout everywhere
    let wu2 = api.login("bumen.wu").await;
    let (s, _, r) = api
        .post("/api/v1/auth/logout-all", Some(&wu), &json!({}))
        .await;
    assert_eq!((s, r["sessions_ended"].as_u64()), (StatusCode::OK, Some(2)));
    let (s, _) = api.get("/api/v1/me", Some(&wu2)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // password policy
    let wu = api.login("bumen.wu").await;
    let (s, _, p) = api
        .post(
            "/api/v1/me/password",
            Some(&wu),
            &json!({"old_password": orgconfig::DEMO_PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password"))
    );
    let (s, _, _) = api
        .post(
            "/api/v1/me/password",
            Some(&wu),
            &json!({"old_password": orgconfig::DEMO_PASSWORD, "new_password": "Xinmima#2027"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "bumen.wu", "password": "Xinmima#2027"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let check = api.app.verify_audit().await.unwrap();
    assert!(check.first_bad.is_none() && check.rows > 10, "{check:?}");
}

#[tokio::test]
async fn intake_is_limited_per_phone_per_day() {
    let api = Api::new(testing::sqlite().await.unwrap()).await;
    for i in 0..10 {
        let (s, _, _) = api.post("/api/v1/cases", None, &valid()).await;
        assert_eq!(s, StatusCode::CREATED, "case {i}");
    }
    let (s, _, p) = api.post("/api/v1/cases", None, &valid()).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    let mut other = valid();
    other["reporter"]["phone"] = json!("13700001111");
    let (s, _, _) = api.post("/api/v1/cases", None, &other).await;
    assert_eq!(s, StatusCode::CREATED, "another phone is fine");
    // staff entering hotline calls are not limited by the resident limit
    let street = api.login("jiedao.liu").await;
    let mut hotline = valid();
    hotline["channel"] = json!("hotline_12345");
    let (s, _, _) = api.post("/api/v1/cases", Some(&street), &hotline).await;
    assert_eq!(s, StatusCode::CREATED);
    api.clock.advance(86_400_000 + 1000); // a rolling 24 hours
    let (s, _, _) = api.post("/api/v1/cases", None, &valid()).await;
    assert_eq!(s, StatusCode::CREATED, "a new day");
}

#[tokio::test]
async fn search_finds_sub_words_within_scope_and_never_shows_accusations_to_the_accused() {
    for api in backends().await {
        let mut noise = valid();
        noise["title"] = json!("楼上装修噪音扰民");
        noise["content"] = json!("每天早上七点开始电钻施工，严重影响休息。");
        let (_, _, n) = api.post("/api/v1/cases", None, &noise).await;
        let mut elsewhere = noise.clone();
        elsewhere["unit"] = json!("430799004001-01"); // 金霞镇
        elsewhere["reporter"]["phone"] = json!("13700002222");
        let (_, _, e) = api.post("/api/v1/cases", None, &elsewhere).await;
        let mut acc = valid();
        acc["title"] = json!("举报街道干部收受装修公司好处");
        acc["content"] = json!("白沙街道有干部收受装修公司好处，放任噪音扰民。");
        acc["accused"] = json!({"unit": "430799001"});
        acc["reporter"]["phone"] = json!("13700003333");
        let (_, _, a) = api.post("/api/v1/cases", None, &acc).await;
        // a staff note is searchable too
        let community = api.login("shequ.chen").await;
        api.post(
            &format!("/api/v1/cases/{}/notes", n["id"]),
            Some(&community),
            &json!({"text": "已约谈物业经理"}),
        )
        .await;
        api.app.flush_search().await;

        let ids = |v: &Value| -> Vec<Value> {
            v["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].clone())
                .collect()
        };
        // sub-word: 扰民 inside 噪音扰民; 物业 only in the note
        let (s, r) = api
            .get("/api/v1/search?q=%E6%89%B0%E6%B0%91", Some(&community))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            ids(&r),
            vec![n["id"].clone()],
            "community: own case only, not 金霞镇, not the accusation"
        );
        assert!(r["hits"][0]["title_snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>"));
        let (_, r) = api
            .get("/api/v1/search?q=%E7%89%A9%E4%B8%9A", Some(&community))
            .await;
        assert_eq!(ids(&r), vec![n["id"].clone()]);
        // the accused street never finds the accusation
        let street = api.login("jiedao.liu").await;
        let (_, r) = api
            .get("/api/v1/search?q=%E8%A3%85%E4%BF%AE", Some(&street))
            .await;
        assert!(!ids(&r).contains(&a["id"]), "{r}");
        assert!(ids(&r).contains(&n["id"]));
        // the petition bureau sees all three
        let bureau = api.login("xinfang.he").await;
        let (_, r) = api
            .get("/api/v1/search?q=%E8%A3%85%E4%BF%AE", Some(&bureau))
            .await;
        let mut got = ids(&r);
        got.sort_by_key(|v| v.as_i64());
        assert_eq!(got, vec![n["id"].clone(), e["id"].clone(), a["id"].clone()]);
        // filters and bad input
        let (_, r) = api
            .get(
                "/api/v1/search?q=%E8%A3%85%E4%BF%AE&unit=430799004",
                Some(&bureau),
            )
            .await;
        assert_eq!(ids(&r), vec![e["id"].clone()]);
        let (s, p) = api.get("/api/v1/search?q=%20%2B%22", Some(&bureau)).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("empty_query"))
        );
        let (s, _) = api.get("/api/v1/search?q=x", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // SQL-looking input is just text
        let (s, _) = api
            .get(
                "/api/v1/search?q=%27%3B%20DROP%20TABLE%20cases%3B--",
                Some(&bureau),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(api.count().await, 3);
    }
}

#[tokio::test]
async fn api_tokens_are_scoped_expiring_revocable_and_stored_hashed() {
    for api in backends().await {
        let admin = api.login("admin").await;
        let chen = api.login("shequ.chen").await;
        // made from a session; the secret is shown once
        let (s, _, v) = api
            .post(
                "/api/v1/me/tokens",
                Some(&chen),
                &json!({"name": "热线对接", "scopes": ["read", "write"], "expires_in_days": 30}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let token = v["token"].as_str().unwrap().to_string();
        let id = v["id"].as_str().unwrap().to_string();
        assert!(token.starts_with("sqt_"));
        assert_eq!(v["expires_at"].as_i64().unwrap(), T0 + 30 * 86_400_000);
        let (s, list) = api.get("/api/v1/me/tokens", Some(&chen)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["tokens"].as_array().unwrap().len(), 1);
        assert!(
            !list.to_string().contains(&token[4..]),
            "no secret in lists"
        );
        // the database holds only a hash
        let stored = api.app.store().api_tokens(None).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!format!("{stored:?}").contains(&token[4..]));

        // acts as its owner, within scope: reads and files
        let (s, me) = api.get("/api/v1/me", Some(&token)).await;
        assert_eq!(
            (s, me["login"].as_str()),
            (StatusCode::OK, Some("shequ.chen"))
        );
        let (s, _, filed) = api.post("/api/v1/cases", Some(&token), &valid()).await;
        assert_eq!(s, StatusCode::CREATED, "{filed}");
        let case = filed["id"].as_i64().unwrap();
        let (s, _, v) = api
            .post(
                &format!("/api/v1/cases/{case}/triage"),
                Some(&token),
                &json!({"urgency": "urgent", "category": "基础建设"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // but not beyond its scopes, and never token management
        let (s, _, v) = api
            .post(
                &format!("/api/v1/cases/{case}/unmask"),
                Some(&token),
                &json!({"reason": "回访"}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("token_scope"))
        );
        let (s, _, v) = api
            .post(
                "/api/v1/me/tokens",
                Some(&token),
                &json!({"name": "x", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("token_not_allowed"))
        );
        let (s, _, v) = api
            .post(
                "/api/v1/me/password",
                Some(&token),
                &json!({"old": "a", "new": "b"}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("token_not_allowed"))
        );

        // scopes beyond the role, unknown scopes and bad lifetimes are refused
        for (body, code) in [
            (json!({"name": "x", "scopes": ["admin"]}), "forbidden"),
            (json!({"name": "x", "scopes": ["root"]}), "invalid_value"),
            (json!({"name": "x", "scopes": []}), "field_missing"),
            (json!({"name": "", "scopes": ["read"]}), "field_missing"),
            (
                json!({"name": "x", "scopes": ["read"], "expires_in_days": 400}),
                "invalid_value",
            ),
            (
                json!({"name": "x", "scopes": ["read"], "expires_in_days": 0}),
                "invalid_value",
            ),
        ] {
            let (s, _, v) = api.post("/api/v1/me/tokens", Some(&chen), &body).await;
            assert!(s.is_client_error(), "{body}: {s} {v}");
            assert_eq!(v["code"].as_str(), Some(code), "{body}: {v}");
        }
        assert_eq!(
            api.app.store().api_tokens(None).await.unwrap().len(),
            1,
            "nothing half-made"
        );

        // an administrator's admin-scoped token reaches the audit log
        let (s, _, v) = api
            .post(
                "/api/v1/me/tokens",
                Some(&admin),
                &json!({"name": "审计导出", "scopes": ["admin"], "expires_in_days": 1}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let admin_token = v["token"].as_str().unwrap().to_string();
        let (s, audit) = api.get("/api/v1/admin/audit", Some(&admin_token)).await;
        assert_eq!(s, StatusCode::OK, "{audit}");
        assert!(audit.to_string().contains("token.create"));
        // … until it expires
        api.clock.advance(86_400_000 + 1);
        let (s, _) = api.get("/api/v1/admin/audit", Some(&admin_token)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // revoking works at once; someone else's token cannot be revoked as one's own
        let chen = api.login("shequ.chen").await;
        let li = api.login("wangge.li").await;
        let (s, _, v) = api
            .post(
                &format!("/api/v1/me/tokens/{id}/revoke"),
                Some(&li),
                &json!({}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("token_not_found"))
        );
        let (s, _) = api.get("/api/v1/me", Some(&token)).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = api
            .post(
                &format!("/api/v1/me/tokens/{id}/revoke"),
                Some(&chen),
                &json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = api.get("/api/v1/me", Some(&token)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (_, list) = api.get("/api/v1/me/tokens", Some(&chen)).await;
        assert_eq!(list["tokens"][0]["active"], json!(false));

        // a disabled owner's tokens stop too
        let (s, _, v) = api
            .post(
                "/api/v1/me/tokens",
                Some(&chen),
                &json!({"name": "二号", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let second = v["token"].as_str().unwrap().to_string();
        let admin = api.login("admin").await;
        let (s, all) = api.get("/api/v1/admin/tokens", Some(&admin)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(all["tokens"].as_array().unwrap().len(), 3);
        let (s, _, _) = api
            .post(
                "/api/v1/admin/users/shequ.chen/disable",
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = api.get("/api/v1/me", Some(&second)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn retention_anonymises_closed_cases_after_their_period_with_a_dry_run_first() {
    for api in backends().await {
        let chen = api.login("shequ.chen").await;
        let mut body = valid();
        body["content"] = json!("我住幸福路3号，电话13912345678，身份证430102199001011237");
        body["address"] = json!("幸福路3号");
        body["notify"] = json!({"channel": "email", "address": "wang.xm@example.cn"});
        let (s, _, filed) = api.post("/api/v1/cases", None, &body).await;
        assert_eq!(s, StatusCode::CREATED, "{filed}");
        let id = filed["id"].as_i64().unwrap();
        let code = filed["tracking_code"].as_str().unwrap().to_string();
        let (s, v) = api.attach(id, None, Some(&code), PNG, "image/png").await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // the preferred channel changed later: both addresses are personal data
        let (s, _, v) = api
            .post(
                &format!("/api/v1/track/{code}/notify"),
                None,
                &json!({"channel": "sms", "address": "13811112222", "phone_last4": "5678"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // a second case stays open: never anonymised
        let (_, _, open) = api.post("/api/v1/cases", None, &valid()).await;
        for (cmd, b) in [
            (
                "triage",
                json!({"urgency": "urgent", "category": "基础建设"}),
            ),
            (
                "reply",
                json!({"result": "已修复，请拨打13900001111回访", "policy_basis": "物业约定"}),
            ),
        ] {
            let (s, _, v) = api
                .post(&format!("/api/v1/cases/{id}/{cmd}"), Some(&chen), &json!(b))
                .await;
            assert_eq!(s, StatusCode::OK, "{cmd}: {v}");
        }
        let (s, _, v) = api
            .post(
                &format!("/api/v1/track/{code}/rating"),
                None,
                &json!({"rating": "satisfied", "comment": "好", "phone_last4": "5678"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let policy = suqiu_app::privacy::RetentionPolicy {
            personal_data_days: 30,
            ..Default::default()
        };
        // within the period: nothing to do
        let r = api.app.retention(&policy, true).await.unwrap();
        assert_eq!(r["cases_anonymised"], json!(0));
        api.clock.advance(31 * 86_400_000);
        let chen = api.login("shequ.chen").await;
        // the dry run says what it would do, and does nothing
        let r = api.app.retention(&policy, true).await.unwrap();
        assert_eq!(r["cases_anonymised"], json!(1), "{r}");
        assert_eq!(r["dry_run"], json!(true));
        let admin = api.login("admin").await;
        let row = api.app.store().case_by_id(id).await.unwrap().unwrap();
        assert_eq!(row.reporter_name, "王小明");
        assert_eq!(
            api.app.store().photos(id).await.unwrap().len(),
            1,
            "the dry run keeps the photo"
        );
        // the run itself
        let r = api.app.retention(&policy, false).await.unwrap();
        assert_eq!(r["cases_anonymised"], json!(1), "{r}");
        let row = api.app.store().case_by_id(id).await.unwrap().unwrap();
        assert_eq!(
            (row.reporter_name.as_str(), row.reporter_phone.as_str()),
            ("（已匿名）", "")
        );
        let journal = format!("{:?}", api.app.store().events(id).await.unwrap());
        for secret in [
            "13912345678",
            "430102199001011237",
            "11010519491231002X",
            "幸福路3号",
            "13900001111",
            "王小明",
            "wang.xm@example.cn",
            "13811112222",
        ] {
            assert!(
                !journal.contains(secret),
                "{secret} left in the journal: {journal}"
            );
        }
        // the photos went with the personal data
        assert!(api.app.store().photos(id).await.unwrap().is_empty());
        let (s, _, _, _) = api
            .raw(&format!("/api/v1/track/{code}/attachments/1"), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // the case still reads, replays and tracks; its place and steps stay
        let (s, v) = api.get(&format!("/api/v1/cases/{id}"), Some(&chen)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], json!("closed"));
        let (s, _) = api.get(&format!("/api/v1/track/{code}"), None).await;
        assert_eq!(s, StatusCode::OK);
        let open_row = api
            .app
            .store()
            .case_by_id(open["id"].as_i64().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            open_row.reporter_name, "王小明",
            "open cases keep their reporter"
        );
        // unmasking an anonymised case reveals nothing
        let (s, _, v) = api
            .post(
                &format!("/api/v1/cases/{id}/unmask"),
                Some(&chen),
                &json!({"reason": "回访"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(!v.to_string().contains("13912345678"));
        // a second run finds nothing more, and the run is audited
        let r = api.app.retention(&policy, false).await.unwrap();
        assert_eq!(r["cases_anonymised"], json!(0));
        let (_, audit) = api.get("/api/v1/admin/audit", Some(&admin)).await;
        assert!(audit.to_string().contains("retention.run"));
    }
}

#[tokio::test]
async fn routing_suggestions_are_learned_stored_shared_and_labelled() {
    use suqiu_app::routing::{CATEGORY, UNIT};
    let topics = [
        ("基础建设", ["路灯不亮", "道路坑洼积水", "井盖缺失"]),
        (
            "民生保障",
            ["低保申请没有答复", "医保报销困难", "养老金没有发放"],
        ),
        ("生态环境", ["工厂排放污水", "垃圾堆放发臭", "夜间噪音扰民"]),
    ];
    let examples = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let (label, texts) = &topics[i % 3];
                (
                    format!("{}，第{i}次反映，请尽快处理", texts[(i / 3) % 3]),
                    label.to_string(),
                )
            })
            .collect()
    };
    for api in backends().await {
        let chen = api.login("shequ.chen").await;
        let mut body = valid();
        body["title"] = json!("路灯不亮");
        body["content"] = json!("小区门口路灯不亮，晚上很黑");
        let (_, _, filed) = api.post("/api/v1/cases", None, &body).await;
        let id = filed["id"].as_i64().unwrap();
        // no model yet: no suggestion, said plainly
        let (s, v) = api
            .get(&format!("/api/v1/cases/{id}/suggestions"), Some(&chen))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["category"]["model_version"], Value::Null);
        assert_eq!(v["category"]["top"], json!([]));
        // a model from a file (as `suqiu routing train` does)
        let t = api
            .app
            .store_routing_model(CATEGORY, examples(60), "test")
            .await
            .unwrap();
        let first = t.version.unwrap();
        let mut units = examples(60);
        for (_, l) in units.iter_mut() {
            *l = match l.as_str() {
                "基础建设" => "430799-D01".into(),
                "民生保障" => "430799-D02".into(),
                _ => "430799-D03".into(),
            };
        }
        api.app
            .store_routing_model(UNIT, units, "test")
            .await
            .unwrap();
        let (_, v) = api
            .get(&format!("/api/v1/cases/{id}/suggestions"), Some(&chen))
            .await;
        assert_eq!(v["category"]["model_version"], json!(first));
        let top = v["category"]["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        assert_eq!(top[0]["value"], json!("基础建设"), "{v}");
        assert!(top[0]["confidence"].as_f64().unwrap() > top[1]["confidence"].as_f64().unwrap());
        assert_eq!(v["category"]["prefill"], json!("基础建设"), "{v}");
        assert_eq!(v["unit"]["top"][0]["value"], json!("430799-D01"), "{v}");
        assert!(
            v["unit"]["top"][0]["name"].as_str().unwrap().contains('局'),
            "{v}"
        );
        // out of scope: no suggestions either
        let zhang = api.login("bumen.zhang").await;
        let (s, _) = api
            .get(&format!("/api/v1/cases/{id}/suggestions"), Some(&zhang))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // the person decides otherwise: recorded next to the suggestion
        let (s, _, v) = api
            .post(
                &format!("/api/v1/cases/{id}/triage"),
                Some(&chen),
                &json!({"urgency": "urgent", "category": "民生保障"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let labels = api.app.store().routing_labels(CATEGORY, 0).await.unwrap();
        assert_eq!(labels.len(), 1);
        assert_eq!(
            (labels[0].suggested.as_deref(), labels[0].chosen.as_str()),
            (Some("基础建设"), "民生保障")
        );
        assert_eq!(labels[0].model_version, Some(first));
        let agreement = api.app.routing_agreement(CATEGORY, 0).await.unwrap();
        assert_eq!(agreement["first_suggestion_chosen"], json!(0));

        // learning from the deployment's own decisions, shared by every instance
        for (i, (text, label)) in examples(30).into_iter().enumerate() {
            let mut b = valid();
            b["title"] = json!(text.chars().take(8).collect::<String>());
            b["content"] = json!(text);
            b["reporter"]["phone"] = json!(format!("1380000{i:04}"));
            let (s, _, f) = api.post("/api/v1/cases", None, &b).await;
            assert_eq!(s, StatusCode::CREATED, "{f}");
            let (s, _, v) = api
                .post(
                    &format!("/api/v1/cases/{}/triage", f["id"]),
                    Some(&chen),
                    &json!({"urgency": "deferred", "category": label}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let t = api.app.retrain_routing(true).await.unwrap();
        let cat = t.iter().find(|t| t.kind == CATEGORY).unwrap();
        assert_eq!(cat.n_train, 31, "every decided case");
        let second = cat.version.unwrap();
        assert!(second > first);
        let other = App::new(api.app.store().clone(), api.clock.clone())
            .await
            .unwrap();
        other.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
        other.refresh_routing_models().await.unwrap();
        let chen_user = other.staff_by_login("shequ.chen").await.unwrap();
        let (c, _) = other.routing_suggestions(&chen_user, id).await.unwrap();
        assert_eq!(
            c.model_version,
            Some(second),
            "the other instance uses the newest model"
        );
        // not retrained again without new decisions
        assert!(api.app.retrain_routing(false).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn danger_signals_at_intake_tell_the_linked_leader_at_once() {
    for api in backends().await {
        let mut body = valid();
        body["title"] = json!("楼道煤气泄漏");
        body["content"] = json!("三单元楼道里煤气泄漏，味道很大，有老人头晕，请马上来人！");
        let (s, _, v) = api.post("/api/v1/cases", None, &body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_i64().unwrap();
        let notes = api.app.store().notifications(id).await.unwrap();
        let urgent: Vec<_> = notes
            .iter()
            .filter(|n| n.template == "urgent_signalled")
            .collect();
        assert!(
            urgent.iter().any(|n| n.recipient.contains("lingdao.yang")),
            "the leader linked to 白沙街道 is told: {notes:?}"
        );
        assert!(
            urgent.iter().any(|n| n.recipient.contains("430799001002")),
            "and the community"
        );
        assert!(
            urgent[0].text_zh.contains("燃气泄漏") || urgent[0].text_zh.contains("煤气"),
            "{}",
            urgent[0].text_zh
        );
        // an ordinary matter raises nothing
        let (_, _, v) = api.post("/api/v1/cases", None, &valid()).await;
        let notes = api
            .app
            .store()
            .notifications(v["id"].as_i64().unwrap())
            .await
            .unwrap();
        assert!(
            notes.iter().all(|n| n.template != "urgent_signalled"),
            "{notes:?}"
        );
    }
}

/// A 32×32 PNG, and a GIF (an image type not accepted).
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x20\x00\x00\x00\x20\x08\x02\x00\x00\x00\xfc\x18\xed\xa3\x00\x00\x00\x2a\x49\x44\x41\x54\x78\xda\x63\xb8\x13\xa0\x41\x53\xc4\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\xa8\x05\xa3\x16\x0c\x15\x0b\x00\xbf\x77\x50\x4c\x70\x2f\x7e\xf9\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";

/// A structurally valid JPEG of `len` bytes (a frame, a scan of filler,
/// the end): photos are walked to strip their metadata.
fn jpeg(len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
    v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
    v.resize(len - 2, 0x11);
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

impl Api {
    /// Posts raw bytes as a photo, as staff (`token`) or the resident (`code`).
    async fn attach(
        &self,
        id: i64,
        token: Option<&str>,
        code: Option<&str>,
        data: &[u8],
        declared: &str,
    ) -> (StatusCode, Value) {
        let mut b = Request::post(format!("/api/v1/cases/{id}/attachments"))
            .header(header::CONTENT_TYPE, declared);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(c) = code {
            b = b.header("x-tracking-code", c);
        }
        let (s, _, v) = self.send(b.body(Body::from(data.to_vec())).unwrap()).await;
        (s, v)
    }

    /// Gets raw bytes: (status, content type, nosniff header, bytes).
    async fn raw(&self, path: &str, token: Option<&str>) -> (StatusCode, String, bool, Vec<u8>) {
        let mut b = Request::get(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = self
            .router
            .clone()
            .oneshot(b.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let s = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let nosniff = res
            .headers()
            .get("x-content-type-options")
            .is_some_and(|v| v == "nosniff");
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (s, ct, nosniff, bytes)
    }
}

#[tokio::test]
async fn photos_are_typed_by_content_limited_journalled_and_shown_only_to_those_who_may_see_the_case(
) {
    use suqiu_app::photos::{MAX_PHOTOS, MAX_PHOTO_BYTES};
    for api in backends().await {
        let (_, _, filed) = api.post("/api/v1/cases", None, &valid()).await;
        let id = filed["id"].as_i64().unwrap();
        let code = filed["tracking_code"].as_str().unwrap().to_string();
        let (_, _, other) = api.post("/api/v1/cases", None, &valid()).await;
        let other_id = other["id"].as_i64().unwrap();
        let chen = api.login("shequ.chen").await;
        let huang = api.login("cun.huang").await;

        // the resident attaches with the tracking code; the declared type is ignored
        let (s, v) = api
            .attach(id, None, Some(&code), PNG, "application/octet-stream")
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["photo"], json!(1));
        let version_after_one = api
            .app
            .store()
            .case_by_id(id)
            .await
            .unwrap()
            .unwrap()
            .version;
        // refused: a GIF named as a JPEG, a photo too large, no credentials,
        // the code of another case; nothing is written
        let (s, v) = api.attach(id, None, Some(&code), GIF, "image/jpeg").await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("photo_type")),
            "{v}"
        );
        assert!(v["message_zh"].as_str().unwrap().contains("JPEG"));
        let (s, v) = api
            .attach(
                id,
                None,
                Some(&code),
                &jpeg(MAX_PHOTO_BYTES + 1),
                "image/jpeg",
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("photo_too_large")),
            "{v}"
        );
        let (s, _) = api.attach(id, None, None, PNG, "image/png").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, v) = api
            .attach(other_id, None, Some(&code), PNG, "image/png")
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("case_not_found"))
        );
        let (s, v) = api.attach(id, Some(&huang), None, PNG, "image/png").await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("case_not_found")),
            "out of scope"
        );
        assert_eq!(api.app.store().photos(id).await.unwrap().len(), 1);
        assert_eq!(
            api.app
                .store()
                .case_by_id(id)
                .await
                .unwrap()
                .unwrap()
                .version,
            version_after_one,
            "refusals leave the journal alone"
        );

        // staff in scope see it, with its stored type and nosniff
        let (s, ct, nosniff, bytes) = api
            .raw(&format!("/api/v1/cases/{id}/attachments/1"), Some(&chen))
            .await;
        assert_eq!(
            (s, ct.as_str(), nosniff),
            (StatusCode::OK, "image/png", true)
        );
        assert_eq!(bytes, PNG);
        let (s, _, _, _) = api
            .raw(&format!("/api/v1/cases/{id}/attachments/1"), Some(&huang))
            .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "not to staff outside the case's scope"
        );
        let (s, _, _, _) = api
            .raw(&format!("/api/v1/cases/{id}/attachments/1"), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // the resident, by tracking code; a wrong code sees nothing
        let (s, ct, nosniff, bytes) = api
            .raw(&format!("/api/v1/track/{code}/attachments/1"), None)
            .await;
        assert_eq!(
            (s, ct.as_str(), nosniff, bytes.as_slice()),
            (StatusCode::OK, "image/png", true, PNG)
        );
        let wrong = other["tracking_code"].as_str().unwrap();
        let (s, _, _, _) = api
            .raw(&format!("/api/v1/track/{wrong}/attachments/1"), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // staff attach too: journalled and audited; up to the limit
        let (s, v) = api
            .attach(id, Some(&chen), None, &jpeg(2048), "image/jpeg")
            .await;
        assert_eq!(
            (s, v["photo"].as_u64()),
            (StatusCode::CREATED, Some(2)),
            "{v}"
        );
        for n in 3..=MAX_PHOTOS {
            let (s, v) = api.attach(id, None, Some(&code), PNG, "image/png").await;
            assert_eq!(
                (s, v["photo"].as_u64()),
                (StatusCode::CREATED, Some(u64::from(n))),
                "{v}"
            );
        }
        let (s, v) = api.attach(id, None, Some(&code), PNG, "image/png").await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("too_many_photos")),
            "{v}"
        );
        let (s, list) = api
            .get(&format!("/api/v1/cases/{id}/attachments"), Some(&chen))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            list["photos"].as_array().unwrap().len(),
            MAX_PHOTOS as usize
        );
        assert_eq!(list["photos"][1]["content_type"], "image/jpeg");
        let (_, detail) = api.get(&format!("/api/v1/cases/{id}"), Some(&chen)).await;
        assert!(detail.to_string().contains("附照片 2"), "{detail}");
        let kinds: Vec<&str> = api
            .app
            .store()
            .events(id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.event.kind())
            .collect::<Vec<_>>()
            .into_iter()
            .filter(|k| *k == "photo_attached")
            .collect();
        assert_eq!(kinds.len(), MAX_PHOTOS as usize);
        let (_, t) = api.get(&format!("/api/v1/track/{code}"), None).await;
        assert_eq!(t["photos"].as_array().unwrap().len(), MAX_PHOTOS as usize);
        let admin = api.login("admin").await;
        let (_, audit) = api.get("/api/v1/admin/audit", Some(&admin)).await;
        let photo_audits = audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "case.photo")
            .count();
        assert_eq!(photo_audits, MAX_PHOTOS as usize);
        assert_eq!(audit["chain_ok"], json!(true));

        // filing with photos is one transaction: a bad one refuses them all
        let before = api.count().await;
        let input = suqiu_domain::case::IntakeInput {
            channel: Some("web".into()),
            unit: Some(GRID.into()),
            title: Some("井盖缺失".into()),
            content: Some("幸福路口井盖缺失，很危险。".into()),
            reporter_name: Some("李四".into()),
            reporter_phone: Some("13912345670".into()),
            ..Default::default()
        };
        let e = api
            .app
            .file_case_with_photos(&input, None, vec![PNG.to_vec(), GIF.to_vec()])
            .await
            .unwrap_err();
        assert!(matches!(e, suqiu_app::AppError::PhotoType), "{e}");
        assert_eq!(api.count().await, before);
        let r = api
            .app
            .file_case_with_photos(&input, None, vec![PNG.to_vec(), jpeg(100)])
            .await
            .unwrap();
        assert_eq!(r.version, 4, "received, triage deadline, two photos");
        assert_eq!(api.app.store().photos(r.id).await.unwrap().len(), 2);
    }
}

/// A serial number and a GPS latitude (31°14'12.34"), as a phone writes them.
const SERIAL: &[u8] = b"SN-77231-XQ\0";
fn latitude() -> Vec<u8> {
    [(31u32, 1u32), (14, 1), (1234, 100)]
        .iter()
        .flat_map(|(n, d)| [n.to_be_bytes(), d.to_be_bytes()])
        .flatten()
        .collect()
}

/// EXIF (big-endian TIFF): IFD0 with orientation 6 (turn 90°), a body
/// serial number and a GPS IFD with the latitude.
fn gps_exif() -> Vec<u8> {
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    t.extend_from_slice(&[0, 3]);
    t.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    t.extend_from_slice(&[0xA4, 0x31, 0, 2, 0, 0, 0, 12, 0, 0, 0, 50]);
    t.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 62]);
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(SERIAL); // at 50
    t.extend_from_slice(&[0, 1]); // GPS IFD at 62
    t.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 80]);
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(&latitude()); // at 80
    t
}

/// A real 20×12 JPEG with the EXIF above after its APP0, and the JPEG
/// without it.
fn phone_photo() -> (Vec<u8>, Vec<u8>) {
    use image::ImageEncoder;
    let p = image::RgbImage::from_fn(20, 12, |x, y| {
        image::Rgb([(x * 12) as u8, (y * 20) as u8, 90])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .write_image(&p, 20, 12, image::ExtendedColorType::Rgb8)
        .unwrap();
    let app0 = 4 + usize::from(u16::from_be_bytes([plain[4], plain[5]]));
    let exif = [&b"Exif\0\0"[..], &gps_exif()].concat();
    let app1 = [
        &[0xFF, 0xE1][..],
        &((exif.len() + 2) as u16).to_be_bytes(),
        &exif,
    ]
    .concat();
    let with = [&plain[..app0], &app1, &plain[app0..]].concat();
    (with, plain)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What is served and stored has no serial and no position, still decodes
/// to the same picture, and is still turned 90°.
fn assert_stripped(served: &[u8], plain: &[u8]) {
    use image::ImageDecoder;
    assert!(!contains(served, SERIAL), "the serial number was kept");
    assert!(!contains(served, &latitude()), "the GPS position was kept");
    let a = image::load_from_memory(served).unwrap().to_rgb8();
    let b = image::load_from_memory(plain).unwrap().to_rgb8();
    assert_eq!(a, b, "the pixels are untouched");
    let mut d = image::ImageReader::new(std::io::Cursor::new(served))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    assert_eq!(
        d.orientation().unwrap(),
        image::metadata::Orientation::Rotate90
    );
}

#[tokio::test]
async fn photos_are_stored_without_their_metadata() {
    use sha2::{Digest, Sha256};
    let (photo, plain) = phone_photo();
    assert!(contains(&photo, SERIAL) && contains(&photo, &latitude()));
    for api in backends().await {
        let (_, _, filed) = api.post("/api/v1/cases", None, &valid()).await;
        let id = filed["id"].as_i64().unwrap();
        let code = filed["tracking_code"].as_str().unwrap().to_string();
        let chen = api.login("shequ.chen").await;

        // attached later by the resident
        let (s, v) = api
            .attach(id, None, Some(&code), &photo, "image/jpeg")
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, ct, _, served) = api
            .raw(&format!("/api/v1/track/{code}/attachments/1"), None)
            .await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, "image/jpeg"));
        assert_stripped(&served, &plain);
        let (_, _, _, staff_sees) = api
            .raw(&format!("/api/v1/cases/{id}/attachments/1"), Some(&chen))
            .await;
        assert_eq!(staff_sees, served);
        // its size and hash are those of the stored bytes
        let (_, list) = api
            .get(&format!("/api/v1/cases/{id}/attachments"), Some(&chen))
            .await;
        assert_eq!(list["photos"][0]["bytes"], json!(served.len()));
        assert!(served.len() < photo.len());
        let row = api.app.store().photo(id, 1).await.unwrap().unwrap();
        assert_eq!(row.sha256, hex::encode(Sha256::digest(&served)));

        // a broken photo is refused with its own code, and nothing is stored
        let (s, v) = api
            .attach(
                id,
                Some(&chen),
                None,
                &photo[..photo.len() / 2],
                "image/jpeg",
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("photo_malformed"),
                Some("photo")
            ),
            "{v}"
        );
        assert!(v["message_zh"].as_str().unwrap().contains("损坏"), "{v}");
        assert_eq!(api.app.store().photos(id).await.unwrap().len(), 1);

        // a PNG declaring 2^31 × 2^31 pixels (its IHDR's CRC right): refused, not stored
        use image::ImageEncoder;
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&[0u8; 12], 2, 2, image::ExtendedColorType::Rgb8)
            .unwrap();
        png[16..20].copy_from_slice(&(1u32 << 31).to_be_bytes());
        png[20..24].copy_from_slice(&(1u32 << 31).to_be_bytes());
        let crc = {
            let mut c = 0xFFFF_FFFFu32;
            for &b in &png[12..29] {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        };
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let (s, v) = api.attach(id, Some(&chen), None, &png, "image/png").await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("photo_too_large_dimensions"),
                Some("photo")
            ),
            "{v}"
        );
        assert!(
            v["message_en"]
                .as_str()
                .unwrap()
                .contains("2147483648×2147483648"),
            "{v}"
        );
        assert_eq!(api.app.store().photos(id).await.unwrap().len(), 1);

        // filed with the case
        let input = suqiu_domain::case::IntakeInput {
            channel: Some("web".into()),
            unit: Some(GRID.into()),
            title: Some("井盖缺失".into()),
            content: Some("幸福路口井盖缺失，很危险。".into()),
            reporter_name: Some("李四".into()),
            reporter_phone: Some("13912345670".into()),
            ..Default::default()
        };
        let r = api
            .app
            .file_case_with_photos(&input, None, vec![photo.clone()])
            .await
            .unwrap();
        let row = api.app.store().photo(r.id, 1).await.unwrap().unwrap();
        assert_stripped(&row.data, &plain);
        assert_eq!(row.sha256, hex::encode(Sha256::digest(&row.data)));
        let meta = api.app.store().photos(r.id).await.unwrap();
        assert_eq!(meta[0].size, row.data.len() as u64);
    }
}

#[tokio::test]
async fn administrators_edit_rules_and_categories_stored_versioned_and_shared() {
    for api in backends().await {
        let admin = api.login("admin").await;
        let chen = api.login("shequ.chen").await;
        let (_, rules) = api.get("/api/v1/deadline-rules", None).await;
        assert_eq!(rules["version"], json!(0));
        // only administrators
        let (s, _, v) = api
            .post(
                "/api/v1/admin/categories",
                Some(&chen),
                &json!({"categories": ["x"]}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        // a bad rule is refused with a stable code in both languages; nothing is stored
        let mut bad = rules.clone();
        bad["rules"][2]["start"] = json!("nonsense");
        let (s, _, v) = api
            .post("/api/v1/admin/deadline-rules", Some(&admin), &bad)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["code"], "rule_unknown_event");
        assert_eq!(v["field"], "rules[2].start");
        assert!(
            v["message_zh"].as_str().unwrap().contains("第 3 条规则"),
            "{v}"
        );
        assert!(v["message_en"].as_str().unwrap().contains("nonsense"));
        let mut bad = rules.clone();
        bad["rules"][0]["length"] = json!(2); // same_working_day must be 0
        let (_, _, v) = api
            .post("/api/v1/admin/deadline-rules", Some(&admin), &bad)
            .await;
        assert_eq!(v["code"], "rule_bad_length");
        let (_, _, v) = api
            .post(
                "/api/v1/admin/categories",
                Some(&admin),
                &json!({"categories": ["民生保障", "民生保障"]}),
            )
            .await;
        assert_eq!(v["code"], "category_duplicate");
        let (_, now) = api.get("/api/v1/deadline-rules", None).await;
        assert_eq!(now, rules, "nothing stored");

        // a case triaged as unreasonable before the change: 3 working days to explain
        let file_and_triage = |title: &'static str| {
            let api = &api;
            let chen = chen.clone();
            async move {
                let mut b = valid();
                b["title"] = json!(title);
                let (_, _, v) = api.post("/api/v1/cases", None, &b).await;
                let id = v["id"].as_i64().unwrap();
                let (s, _, v) = api
                    .post(
                        &format!("/api/v1/cases/{id}/triage"),
                        Some(&chen),
                        &json!({"urgency": "unreasonable", "category": "民生保障"}),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{v}");
                id
            }
        };
        let before = file_and_triage("要求小区免物业费").await;
        let explain_due = |id: i64| {
            let api = &api;
            async move {
                api.app
                    .store()
                    .deadlines(id)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|d| d.rule == "explain")
                    .unwrap()
                    .due_at
            }
        };
        let due_before = explain_due(before).await;
        // the administrator gives 5 working days and adds a category
        let mut new = rules.clone();
        let i = new["rules"]
            .as_array()
            .unwrap()
            .iter()
            .position(|r| r["id"] == "explain")
            .unwrap();
        new["rules"][i]["length"] = json!(5);
        new.as_object_mut().unwrap().remove("version");
        let (s, _, v) = api
            .post("/api/v1/admin/deadline-rules", Some(&admin), &new)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["version"].as_i64(), Some(api.app.rules_version()));
        let (s, _, v) = api
            .post(
                "/api/v1/admin/categories",
                Some(&admin),
                &json!({"categories": ["基础建设", "民生保障", "生态环境", "矛盾纠纷", "信访舆情", "物业管理"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let version = v["version"].as_i64().unwrap();
        let (_, now) = api.get("/api/v1/deadline-rules", None).await;
        assert_eq!(now["version"], json!(version));
        assert_eq!(
            now["rules"][i]["length"],
            json!(5),
            "the category change kept the rule"
        );
        // applies to deadlines started after the change; running ones keep their dates
        let after = file_and_triage("要求小区免停车费").await;
        assert_eq!(explain_due(before).await, due_before);
        assert!(explain_due(after).await > due_before);
        let (_, _, f) = api.post("/api/v1/cases", None, &valid()).await;
        let (s, _, v) = api
            .post(
                &format!("/api/v1/cases/{}/triage", f["id"]),
                Some(&chen),
                &json!({"urgency": "urgent", "category": "物业管理"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "the new category is offered: {v}");
        // another instance on the same database uses the same rules, without a restart
        let other = App::new(api.app.store().clone(), api.clock.clone())
            .await
            .unwrap();
        assert_eq!(other.rules_version(), 0);
        assert!(other.refresh_rules().await.unwrap());
        assert_eq!(other.rules_version(), version);
        assert!(other.rules().categories.contains(&"物业管理".to_string()));
        assert!(!other.refresh_rules().await.unwrap(), "nothing newer");
        let (_, audit) = api.get("/api/v1/admin/audit", Some(&admin)).await;
        let updates = audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "rules.update")
            .count();
        assert_eq!(updates, 2);
    }
}

#[tokio::test]
async fn administrators_create_users_change_roles_and_reset_passwords() {
    for api in backends().await {
        let admin = api.login("admin").await;
        let chen = api.login("shequ.chen").await;
        let new_user = json!({"login": "wangge.new", "name": "新网格员", "role": "grid_worker",
                              "unit": GRID, "password": "Wangge@2026x"});
        let (s, _, v) = api
            .post("/api/v1/admin/users", Some(&chen), &new_user)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let mut weak = new_user.clone();
        weak["password"] = json!("short");
        let (s, _, v) = api.post("/api/v1/admin/users", Some(&admin), &weak).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")),
            "{v}"
        );
        let mut wrong_level = new_user.clone();
        wrong_level["role"] = json!("department_handler");
        let (s, _, v) = api
            .post("/api/v1/admin/users", Some(&admin), &wrong_level)
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("role_not_for_unit")),
            "{v}"
        );
        assert!(
            v["message_zh"].as_str().unwrap().contains("职能部门经办人"),
            "{v}"
        );
        assert!(
            api.app.store().user("wangge.new").await.unwrap().is_none(),
            "nothing stored"
        );
        let (s, _, v) = api
            .post("/api/v1/admin/users", Some(&admin), &new_user)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["role"], "grid_worker");
        let (s, _, v) = api
            .post("/api/v1/admin/users", Some(&admin), &new_user)
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("login_taken"))
        );
        let login = |password: &'static str| {
            let api = &api;
            async move {
                let (s, _, v) = api
                    .post(
                        "/api/v1/auth/login",
                        None,
                        &json!({"login": "wangge.new", "password": password}),
                    )
                    .await;
                (s, v["token"].as_str().map(str::to_string))
            }
        };
        let (s, token) = login("Wangge@2026x").await;
        assert_eq!(s, StatusCode::OK);
        let token = token.unwrap();
        let (_, me) = api.get("/api/v1/me", Some(&token)).await;
        assert_eq!(
            (me["role"].as_str(), me["unit"].as_str()),
            (Some("grid_worker"), Some(GRID))
        );
        assert!(
            api.app
                .org()
                .people()
                .iter()
                .any(|p| p.login == "wangge.new"),
            "in the organisation at once"
        );
        // a new role and unit: the old session ends
        let (s, _, v) = api
            .post(
                "/api/v1/admin/users/wangge.new/role",
                Some(&admin),
                &json!({"role": "community_staff", "unit": COMMUNITY}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (s, _) = api.get("/api/v1/me", Some(&token)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (_, token) = login("Wangge@2026x").await;
        let (_, me) = api.get("/api/v1/me", Some(&token.unwrap())).await;
        assert_eq!(
            (me["role"].as_str(), me["unit"].as_str()),
            (Some("community_staff"), Some(COMMUNITY))
        );
        let (s, _, v) = api
            .post(
                "/api/v1/admin/users/nobody/role",
                Some(&admin),
                &json!({"role": "leader", "unit": "430799"}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_user"))
        );
        // a reset password replaces the old one
        let (s, _, v) = api
            .post(
                "/api/v1/admin/users/wangge.new/password",
                Some(&admin),
                &json!({"password": "Reset#2026abc"}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        assert_eq!(login("Wangge@2026x").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(login("Reset#2026abc").await.0, StatusCode::OK);
        // disabled through the existing route
        let (s, _, _) = api
            .post(
                "/api/v1/admin/users/wangge.new/disable",
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(login("Reset#2026abc").await.0, StatusCode::UNAUTHORIZED);
        let (_, users) = api.get("/api/v1/admin/users", Some(&admin)).await;
        let u = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == "wangge.new")
            .unwrap()
            .clone();
        assert_eq!(u["disabled"], json!(true));
        assert!(u.get("password_hash").is_none());
        let (_, audit) = api.get("/api/v1/admin/audit", Some(&admin)).await;
        let actions: Vec<&str> = audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["target"] == "user:wangge.new")
            .filter_map(|r| r["action"].as_str())
            .filter(|a| a.starts_with("user."))
            .collect();
        assert_eq!(
            actions,
            [
                "user.create",
                "user.role",
                "user.password_reset",
                "user.disable"
            ]
        );
    }
}

#[tokio::test]
async fn search_finds_cases_dispatched_to_the_department_and_counts_only_visible_hits() {
    for api in backends().await {
        let mut lamp = valid();
        lamp["title"] = json!("路灯不亮影响夜间出行");
        let (_, _, c) = api.post("/api/v1/cases", None, &lamp).await;
        let id = c["id"].as_i64().unwrap();
        let mut acc = valid();
        acc["title"] = json!("举报街道路灯工程偷工减料");
        acc["accused"] = json!({"unit": "430799001"});
        acc["reporter"]["phone"] = json!("13700003333");
        let (_, _, a) = api.post("/api/v1/cases", None, &acc).await;
        let community = api.login("shequ.chen").await;
        let street = api.login("jiedao.liu").await;
        let dept = api.login("bumen.zhang").await;
        let cmd = |name: &str| format!("/api/v1/cases/{id}/{name}");
        let q = "/api/v1/search?q=%E8%B7%AF%E7%81%AF"; // 路灯
        api.app.flush_search().await;
        let (s, r) = api.get(q, Some(&dept)).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            (r["total"].as_u64(), r["hits"].as_array().unwrap().len()),
            (Some(0), 0)
        );
        for (who, name, body) in [
            (
                &community,
                "triage",
                json!({"urgency": "urgent", "category": "基础建设"}),
            ),
            (&community, "report", json!({})),
            (&street, "sign", json!({})),
            (
                &street,
                "dispatch",
                json!({"lead": "430799-D01", "difficulty": "ordinary"}),
            ),
        ] {
            let (s, _, v) = api.post(&cmd(name), Some(who), &body).await;
            assert_eq!(s, StatusCode::OK, "{name}: {v}");
        }
        api.app.flush_search().await;
        // the department finds what was dispatched to it, as its case list shows it
        let (_, list) = api.get("/api/v1/cases", Some(&dept)).await;
        assert_eq!(list["items"][0]["id"], id);
        let (s, r) = api.get(q, Some(&dept)).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let hits: Vec<i64> = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_i64().unwrap())
            .collect();
        assert_eq!(hits, vec![id], "{r}");
        assert_eq!(r["total"], 1, "{r}");
        // the accused street: the accusation is neither a hit nor counted
        let (_, r) = api.get(q, Some(&street)).await;
        let hits: Vec<Value> = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].clone())
            .collect();
        assert!(!hits.contains(&a["id"]), "{r}");
        assert_eq!(r["total"].as_u64(), Some(hits.len() as u64), "{r}");
        let bureau = api.login("xinfang.he").await;
        let (_, r) = api.get(q, Some(&bureau)).await;
        assert_eq!(r["total"], 2, "{r}");
    }
}

fn related_report(phone: &str, title: &str, content: &str, unit: &str) -> Value {
    json!({
        "channel": "web",
        "unit": unit,
        "title": title,
        "content": content,
        "reporter": {"name": "居民", "phone": phone}
    })
}

#[tokio::test]
async fn related_cases_are_linked_at_intake_and_duplicates_merged() {
    const NOISE: &str =
        "小区旁边的搅拌站每天晚上施工到十二点，噪音很大，粉尘也多，严重影响居民休息。";
    for api in backends_with(true).await {
        let file = |body: Value| {
            let api = &api;
            async move {
                let (s, _, v) = api.post("/api/v1/cases", None, &body).await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
                (
                    v["id"].as_i64().unwrap(),
                    v["tracking_code"].as_str().unwrap().to_string(),
                )
            }
        };
        let (first, _) = file(related_report(
            "13900001111",
            "搅拌站夜间施工噪音扰民",
            NOISE,
            GRID,
        ))
        .await;
        // the same resident again, a few days later
        let (again, again_code) = file(related_report(
            "13900001111",
            "再次反映：搅拌站夜间施工噪音扰民",
            &format!("{NOISE}已经反映过一次，还没有解决。"),
            GRID,
        ))
        .await;
        // another resident, a neighbouring grid of the same community
        let (neighbour, _) = file(related_report(
            "13900002222",
            "搅拌站噪音粉尘扰民",
            "搅拌站每天晚上施工到十二点，噪音很大，粉尘也多，我们都休息不好，请环保部门查处。",
            "430799001002-02",
        ))
        .await;
        // an unrelated matter, and the same complaint in another township
        let (other, other_code) = file(related_report(
            "13900003333",
            "孩子入学咨询",
            "孩子入学需要哪些材料，户口不在本区能否就读？",
            GRID,
        ))
        .await;
        let (far, _) = file(related_report(
            "13900004444",
            "搅拌站夜间施工噪音扰民",
            NOISE,
            "430799004001-01",
        ))
        .await;

        let community = api.login("shequ.chen").await;
        let case = |id: i64| {
            let api = &api;
            let token = community.clone();
            async move {
                let (s, v) = api.get(&format!("/api/v1/cases/{id}"), Some(&token)).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                v
            }
        };
        let related_ids = |v: &Value| -> Vec<(i64, String)> {
            let mut out: Vec<(i64, String)> = v["related"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["id"].as_i64().unwrap(),
                        r["reason"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            out.sort();
            out
        };
        let a = case(again).await;
        assert!(
            related_ids(&a).contains(&(first, "same_reporter".to_string())),
            "{a}"
        );
        let n = case(neighbour).await;
        let n_ids: Vec<i64> = related_ids(&n).iter().map(|r| r.0).collect();
        assert!(n_ids.contains(&first), "{n}");
        assert!(related_ids(&n).iter().all(|r| r.1 != "similar_text"), "{n}");
        // both sides carry the link, journalled in the timeline
        let f = case(first).await;
        let f_ids: Vec<i64> = related_ids(&f).iter().map(|r| r.0).collect();
        assert!(f_ids.contains(&again) && f_ids.contains(&neighbour), "{f}");
        assert!(!f_ids.contains(&other) && !f_ids.contains(&far), "{f}");
        assert!(f["timeline"].to_string().contains("related_linked"), "{f}");
        assert!(case(other).await["related"].as_array().unwrap().is_empty());
        let score = f["related"][0]["score"].as_f64().unwrap();
        assert!(score > 0.0 && score <= 1.0, "{f}");

        // the list of related cases: only what the caller may see
        let (s, r) = api
            .get(&format!("/api/v1/cases/{first}/related"), Some(&community))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let items: Vec<i64> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        assert_eq!(items.len(), f_ids.len(), "{r}");
        assert!(r["items"][0]["reason_zh"].is_string(), "{r}");
        let cun = api.login("cun.huang").await;
        let (s, _) = api
            .get(&format!("/api/v1/cases/{first}/related"), Some(&cun))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // merging: refusals first, each leaving both cases as they were
        let merge = |dup: i64, body: Value, token: String| {
            let api = &api;
            async move {
                api.post(&format!("/api/v1/cases/{dup}/merge"), Some(&token), &body)
                    .await
            }
        };
        let before = api.count().await;
        for (dup, body, who, status, code) in [
            (
                again,
                json!({"into": again, "reason": "重复"}),
                &community,
                StatusCode::CONFLICT,
                "merge_into_itself",
            ),
            (
                again,
                json!({"into": far, "reason": "重复"}),
                &community,
                StatusCode::CONFLICT,
                "merge_target_out_of_scope",
            ),
            (
                again,
                json!({"into": 999_999, "reason": "重复"}),
                &community,
                StatusCode::CONFLICT,
                "merge_target_out_of_scope",
            ),
            (
                again,
                json!({"into": first}),
                &community,
                StatusCode::UNPROCESSABLE_ENTITY,
                "field_missing",
            ),
            (
                again,
                json!({"into": "x", "reason": "重复"}),
                &community,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
            ),
            (
                again,
                json!({"into": first, "reason": "  "}),
                &community,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_command",
            ),
            (
                again,
                json!({"into": first, "reason": "重复"}),
                &cun,
                StatusCode::NOT_FOUND,
                "case_not_found",
            ),
        ] {
            let (s, _, p) = merge(dup, body.clone(), who.clone()).await;
            assert_eq!((s, p["code"].as_str()), (status, Some(code)), "{body}: {p}");
            if s == StatusCode::CONFLICT {
                assert!(
                    p["message_zh"].is_string() && p["message_en"].is_string(),
                    "{p}"
                );
            }
        }
        let street = api.login("jiedao.liu").await;
        let (s, _, p) = merge(
            again,
            json!({"into": first, "reason": "重复"}),
            street.clone(),
        )
        .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_permitted")),
            "{p}"
        );
        assert_eq!(case(again).await["status"], "received");
        assert_eq!(case(first).await["duplicates"], json!([]));

        let v0 = case(again).await["version"].as_u64().unwrap();
        let (s, _, p) = merge(
            again,
            json!({"into": first, "reason": "同一居民重复反映", "expected_version": v0 - 1}),
            community.clone(),
        )
        .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("version_conflict")),
            "{p}"
        );
        let (s, _, r) = merge(
            again,
            json!({"into": first, "reason": "同一居民重复反映", "expected_version": v0}),
            community.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            (r["status"].as_str(), r["merged_into"].as_i64()),
            (Some("closed"), Some(first))
        );
        let d = case(again).await;
        assert_eq!(
            (d["status"].as_str(), d["merged_into"].as_i64()),
            (Some("closed"), Some(first)),
            "{d}"
        );
        assert!(d["deadlines"].as_array().unwrap().is_empty(), "{d}");
        let f = case(first).await;
        assert_eq!(f["duplicates"], json!([again]), "{f}");
        assert!(
            f["timeline"].to_string().contains("duplicate_merged"),
            "{f}"
        );
        assert_eq!(api.count().await, before, "no case added or lost");
        // the duplicate's resident is told (an intent in the outbox) and sees it by code
        let notes = api.app.store().notifications(again).await.unwrap();
        assert!(
            notes
                .iter()
                .any(|n| n.template == "merged" && n.recipient.contains("resident")),
            "{notes:?}"
        );
        let (_, t) = api.get(&format!("/api/v1/track/{again_code}"), None).await;
        assert!(t.to_string().contains("合并"), "{t}");
        // not into a merged case, not a merged case again, not into a closed case
        let (s, _, p) = merge(
            neighbour,
            json!({"into": again, "reason": "重复"}),
            community.clone(),
        )
        .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("merge_target_merged")),
            "{p}"
        );
        let (s, _, p) = merge(
            again,
            json!({"into": neighbour, "reason": "重复"}),
            community.clone(),
        )
        .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition")),
            "{p}"
        );
        let cmd = |id: i64, name: &str| format!("/api/v1/cases/{id}/{name}");
        api.post(
            &cmd(other, "triage"),
            Some(&community),
            &json!({"urgency": "urgent", "category": "民生保障"}),
        )
        .await;
        let (s, _, v) = api
            .post(
                &cmd(other, "reply"),
                Some(&community),
                &json!({"result": "已解答入学政策"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _, v) = api
            .post(
                &format!("/api/v1/track/{other_code}/rating"),
                None,
                &json!({"rating": "satisfied", "phone_last4": "3333"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _, p) = merge(
            neighbour,
            json!({"into": other, "reason": "重复"}),
            community.clone(),
        )
        .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("merge_target_closed")),
            "{p}"
        );

        // statistics count the matter once
        let bureau = api.app.staff_by_login("xinfang.he").await.unwrap();
        let st = api.app.stats(&bureau, T0 - 1, T0 + 1).await.unwrap();
        assert_eq!((st.total.received, st.merged), (4, 1));

        // a restart rebuilds the index from the store: a new report links to the
        // primary, never to the merged duplicate
        let restarted = App::new(api.app.store().clone(), api.clock.clone())
            .await
            .unwrap()
            .with_related(suqiu_app::related::RelatedConfig::default())
            .await
            .unwrap();
        assert_eq!(restarted.related_index().unwrap().len(), 5);
        let input = suqiu_domain::case::IntakeInput {
            channel: Some("web".into()),
            unit: Some(GRID.into()),
            title: Some("搅拌站噪音扰民".into()),
            content: Some(NOISE.into()),
            reporter_name: Some("居民".into()),
            reporter_phone: Some("13900005555".into()),
            ..Default::default()
        };
        let r = restarted.file_case(&input, None).await.unwrap();
        let chen = restarted.staff_by_login("shequ.chen").await.unwrap();
        let linked: Vec<i64> = restarted
            .related_cases(&chen, r.id)
            .await
            .unwrap()
            .iter()
            .map(|x| x.link.case_id)
            .collect();
        assert!(linked.contains(&first), "{linked:?}");
        assert!(!linked.contains(&again), "{linked:?}");
    }
}

#[tokio::test]
async fn hot_topics_group_the_visible_recent_cases_about_one_local_problem() {
    for api in backends().await {
        let lift = [
            (
                "丽发新城小区电梯又坏了",
                "丽发新城小区3栋电梯坏了两天，老人上不了楼。",
            ),
            (
                "丽发新城电梯故障",
                "丽发新城小区3栋的电梯经常停运，希望物业尽快修好。",
            ),
            (
                "丽发新城小区电梯停运",
                "丽发新城小区电梯停了，物业一直不修。",
            ),
        ];
        let mut ids = Vec::new();
        for (i, (title, content)) in lift.iter().enumerate() {
            let mut body = valid();
            body["title"] = json!(title);
            body["content"] = json!(content);
            body["reporter"]["phone"] = json!(format!("1391234560{i}"));
            let (s, _, v) = api.post("/api/v1/cases", None, &body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            ids.push(v["id"].as_i64().unwrap());
        }
        // other matters at other places
        for (title, content) in [
            (
                "东风菜市场垃圾堆积",
                "东风菜市场后门垃圾三天没人清运，气味很大。",
            ),
            (
                "紫菱学校门口积水",
                "紫菱学校门口一下雨就积水，孩子上学不方便。",
            ),
        ] {
            let mut body = valid();
            body["title"] = json!(title);
            body["content"] = json!(content);
            let (s, _, v) = api.post("/api/v1/cases", None, &body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }

        let chen = api.login("shequ.chen").await;
        let (s, v) = api.get("/api/v1/topics?days=7&top=5", Some(&chen)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["days"], json!(7));
        let topics = v["topics"].as_array().unwrap();
        let lift_topic = topics
            .iter()
            .find(|t| t["summary"].as_str().unwrap().contains("电梯"))
            .unwrap_or_else(|| panic!("no lift topic in {v}"));
        let mut got: Vec<i64> = lift_topic["message_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, ids, "{v}");
        assert_eq!(lift_topic["rank"], json!(1), "{v}");
        assert!(!v.to_string().contains("1391234560"), "no reporter data");

        // another community's staff see none of these cases
        let other = api.login("cun.huang").await;
        let (s, v) = api.get("/api/v1/topics", Some(&other)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(!v.to_string().contains("电梯"), "{v}");

        let (s, v) = api.get("/api/v1/topics?days=0", Some(&chen)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, _) = api.get("/api/v1/topics", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn administrators_add_rename_and_remove_units() {
    for api in backends().await {
        let admin = api.login("admin").await;
        let chen = api.login("shequ.chen").await;
        let grid = json!({"code": "430799001002-09", "name": "丹阳社区第九网格",
                          "level": "grid", "parent": COMMUNITY});
        let (s, _, v) = api.post("/api/v1/admin/units", Some(&chen), &grid).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        // refusals: each with its stable code and field, nothing stored
        let refused = [
            (
                json!({"level": "hamlet"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unit_nesting",
                "parent",
            ),
            (
                json!({"parent": "NOPE"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_parent_unit",
                "parent",
            ),
            (
                json!({"code": "有空 格"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                "code",
            ),
            (
                json!({"level": "district"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                "level",
            ),
            (
                json!({"name": " "}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "field_empty",
                "name",
            ),
            (
                json!({"code": GRID}),
                StatusCode::CONFLICT,
                "unit_exists",
                "code",
            ),
        ];
        let units_before = api.app.store().units().await.unwrap().len();
        for (change, status, code, field) in refused {
            let mut body = grid.clone();
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (s, _, v) = api.post("/api/v1/admin/units", Some(&admin), &body).await;
            assert_eq!(
                (s, v["code"].as_str()),
                (status, Some(code)),
                "{body} → {v}"
            );
            assert_eq!(v["field"].as_str(), Some(field), "{v}");
            assert!(!v["message_zh"].as_str().unwrap().is_empty());
        }
        let (_, _, v) = api
            .post(
                "/api/v1/admin/units",
                Some(&admin),
                &json!({"code": "X", "name": "x", "level": "hamlet", "parent": COMMUNITY}),
            )
            .await;
        assert_eq!(v["message_zh"], "屋场不能设在村社区之下", "{v}");
        assert_eq!(api.app.store().units().await.unwrap().len(), units_before);

        // added: at once in the tree, a place where residents file
        let (s, _, v) = api.post("/api/v1/admin/units", Some(&admin), &grid).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["path"], "/430799/430799001/430799001002/430799001002-09/");
        let mut report = valid();
        report["unit"] = json!("430799001002-09");
        let (s, _, v) = api.post("/api/v1/cases", None, &report).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_i64().unwrap();
        let (_, case) = api.get(&format!("/api/v1/cases/{id}"), Some(&chen)).await;
        assert_eq!(case["place"]["code"], "430799001002-09", "{case}");

        // renamed: the API's unit list shows the new name
        let (s, _, v) = api
            .post(
                "/api/v1/admin/units/430799001002-09/name",
                Some(&admin),
                &json!({"name": "丹阳社区九组网格"}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (s, _, v) = api
            .post(
                "/api/v1/admin/units/NOPE/name",
                Some(&admin),
                &json!({"name": "x"}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
        );
        let (_, units) = api.get("/api/v1/units", None).await;
        let named: Vec<&Value> = units["units"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["code"] == "430799001002-09")
            .collect();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0]["name"], "丹阳社区九组网格");

        // another instance over the same database sees the change at its refresh
        let other = App::new(api.app.store().clone(), api.clock.clone())
            .await
            .unwrap();
        assert_eq!(
            other.org().unit("430799001002-09").map(|u| u.name.clone()),
            Some("丹阳社区九组网格".to_string())
        );

        // removed only when nothing refers to it
        let delete = |path: String, token: String| {
            let api = &api;
            async move {
                let req = Request::delete(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                let (s, _, v) = api.send(req).await;
                (s, v)
            }
        };
        let (s, v) = delete("/api/v1/admin/units/430799001002-09".into(), admin.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("unit_in_use")),
            "{v}"
        );
        assert!(v["message_zh"].as_str().unwrap().contains("诉求件"), "{v}");
        let (s, v) = delete(format!("/api/v1/admin/units/{COMMUNITY}"), admin.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("unit_in_use")),
            "{v}"
        );
        let dept = json!({"code": "430799-T1", "name": "临时专班", "level": "department", "parent": "430799"});
        let (s, _, v) = api.post("/api/v1/admin/units", Some(&admin), &dept).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, _) = delete("/api/v1/admin/units/430799-T1".into(), chen.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = delete("/api/v1/admin/units/430799-T1".into(), admin.clone()).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        assert!(
            api.app.org().unit("430799-T1").is_none(),
            "gone from the tree at once"
        );
        let (s, v) = delete("/api/v1/admin/units/430799-T1".into(), admin.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
        );
        // loading the config again does not undo an administrator's rename
        api.app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
        assert_eq!(
            api.app
                .org()
                .unit("430799001002-09")
                .map(|u| u.name.clone()),
            Some("丹阳社区九组网格".to_string())
        );

        let (_, audit) = api.get("/api/v1/admin/audit", Some(&admin)).await;
        let actions: Vec<(&str, &str)> = audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| Some((r["action"].as_str()?, r["target"].as_str()?)))
            .filter(|(a, _)| a.starts_with("unit."))
            .collect();
        assert_eq!(
            actions,
            [
                ("unit.create", "unit:430799001002-09"),
                ("unit.rename", "unit:430799001002-09"),
                ("unit.create", "unit:430799-T1"),
                ("unit.remove", "unit:430799-T1"),
            ]
        );
    }
}

#[tokio::test]
async fn work_queues_page_with_a_cursor() {
    for api in backends().await {
        let chen = api.login("shequ.chen").await;
        let mut filed = Vec::new();
        for i in 0..5 {
            let mut body = valid();
            body["title"] = json!(format!("第{i}件：路灯不亮"));
            body["reporter"]["phone"] = json!(format!("1391234560{i}"));
            let (s, _, v) = api.post("/api/v1/cases", None, &body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            filed.push(v["id"].as_i64().unwrap());
            api.clock.advance(1000);
        }
        let mut seen = Vec::new();
        let mut path = "/api/v1/queues/triage?limit=2".to_string();
        loop {
            let (s, v) = api.get(&path, Some(&chen)).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let items = v["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|c| c["id"].as_i64().unwrap()));
            match v["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/queues/triage?limit=2&after={c}"),
                None => break,
            }
        }
        assert_eq!(seen, filed, "every case once, oldest first");
        // narrowed by category, urgency and place; the cursor keeps the narrowing
        for (i, id) in filed.iter().enumerate() {
            let (category, urgency) = if i % 2 == 0 {
                ("基础建设", "urgent")
            } else {
                ("民生保障", "deferred")
            };
            let (s, _, v) = api
                .post(
                    &format!("/api/v1/cases/{id}/triage"),
                    Some(&chen),
                    &json!({"urgency": urgency, "category": category}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let ids = |v: &Value| -> Vec<i64> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect()
        };
        let cat = "%E5%9F%BA%E7%A1%80%E5%BB%BA%E8%AE%BE"; // 基础建设
        let (s, v) = api
            .get(
                &format!("/api/v1/queues/resolve?category={cat}&limit=2"),
                Some(&chen),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(ids(&v), [filed[0], filed[2]]);
        let next = v["next_cursor"].as_str().unwrap().to_string();
        let (_, v) = api
            .get(
                &format!("/api/v1/queues/resolve?category={cat}&limit=2&after={next}"),
                Some(&chen),
            )
            .await;
        assert_eq!(ids(&v), [filed[4]]);
        assert!(v["next_cursor"].is_null());
        let (_, v) = api
            .get("/api/v1/queues/resolve?urgency=deferred", Some(&chen))
            .await;
        assert_eq!(ids(&v), [filed[1], filed[3]]);
        let (_, v) = api
            .get(
                &format!("/api/v1/queues/resolve?urgency=urgent&place={GRID}"),
                Some(&chen),
            )
            .await;
        assert_eq!(ids(&v), [filed[0], filed[2], filed[4]]);
        let (_, v) = api
            .get("/api/v1/queues/resolve?place=430799001002-02", Some(&chen))
            .await;
        assert!(ids(&v).is_empty(), "another grid");
        let (s, v) = api
            .get("/api/v1/queues/resolve?place=NOPE", Some(&chen))
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit")),
            "{v}"
        );
        let (s, v) = api
            .get("/api/v1/queues/resolve?urgency=soon", Some(&chen))
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_value")),
            "{v}"
        );
        for bad in ["after=12", "after=x.1", "limit=0", "page=2"] {
            let (s, v) = api
                .get(&format!("/api/v1/queues/triage?{bad}"), Some(&chen))
                .await;
            assert_eq!(
                (s, v["code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("bad_query")),
                "{bad}: {v}"
            );
        }
    }
}

/// Issue 13 item 15: disabling a user revokes their API tokens, so enabling
/// them again does not bring back secrets handed out before.
#[tokio::test]
async fn a_disabled_users_tokens_stay_dead_when_enabled_again() {
    for api in backends().await {
        let admin = api.login("admin").await;
        let chen = api.login("shequ.chen").await;
        let (s, _, v) = api
            .post(
                "/api/v1/me/tokens",
                Some(&chen),
                &json!({"name": "热线对接", "scopes": ["read"], "expires_in_days": 30}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let token = v["token"].as_str().unwrap().to_string();
        assert_eq!(api.get("/api/v1/me", Some(&token)).await.0, StatusCode::OK);
        for action in ["disable", "enable"] {
            let (s, _, v) = api
                .post(
                    &format!("/api/v1/admin/users/shequ.chen/{action}"),
                    Some(&admin),
                    &json!({}),
                )
                .await;
            assert!(s.is_success(), "{action}: {s} {v}");
        }
        assert_eq!(
            api.get("/api/v1/me", Some(&token)).await.0,
            StatusCode::UNAUTHORIZED,
            "the token stays revoked"
        );
        let stored = api
            .app
            .store()
            .api_tokens(Some("shequ.chen"))
            .await
            .unwrap();
        assert!(stored.iter().all(|t| t.revoked_at.is_some()), "{stored:?}");
    }
}

/// An accusation against 丹阳社区 from a resident who reported an ordinary
/// matter there before (so the two are linked at intake), with danger words.
fn accusation_against_the_community() -> Value {
    accusation(
        "举报丹阳社区干部优亲厚友",
        "丹阳社区幸福路口的路灯坏了一个星期，社区干部优亲厚友，我要跳楼了。",
        json!({"unit": COMMUNITY}),
    )
}

/// The resident of [`valid`] accuses `accused` (`{"unit": …, "person": …}`).
fn accusation(title: &str, content: &str, accused: Value) -> Value {
    let mut acc = valid();
    acc["title"] = json!(title);
    acc["content"] = json!(content);
    acc["accused"] = accused;
    acc
}

fn ids_of(v: &Value) -> Vec<i64> {
    v["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// Issue 13 items 2, 3, 4, 6: a case the viewer may see names no hidden case
/// (related links, timeline); queues follow the scope of lists (a linked
/// leader's district-level queues hold only his units' cases, and a cursor
/// never names a hidden case); no notification of an accusation reaches the
/// accused unit's subtree or the accused person; the outbox shows an
/// administrator no text of a case they may not open.
#[tokio::test]
async fn hidden_cases_leak_through_no_related_surface() {
    for api in backends_with(true).await {
        // an ordinary report, then an accusation by the same resident about the same place
        let (s, _, first) = api.post("/api/v1/cases", None, &valid()).await;
        assert_eq!(s, StatusCode::CREATED, "{first}");
        let first = first["id"].as_i64().unwrap();
        let (s, _, acc) = api
            .post("/api/v1/cases", None, &accusation_against_the_community())
            .await;
        assert_eq!(s, StatusCode::CREATED, "{acc}");
        let acc = acc["id"].as_i64().unwrap();
        let bureau = api.login("xinfang.he").await;
        let (_, d) = api
            .get(&format!("/api/v1/cases/{acc}"), Some(&bureau))
            .await;
        assert!(
            d["related"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == first),
            "the bureau sees the link: {}",
            d["related"]
        );

        // item 2: the community sees its ordinary case, but not the link to the accusation
        let chen = api.login("shequ.chen").await;
        let (s, d) = api
            .get(&format!("/api/v1/cases/{first}"), Some(&chen))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            d["related"].as_array().unwrap().is_empty(),
            "{}",
            d["related"]
        );
        let text = d.to_string();
        assert!(
            !text.contains(&format!("#{acc}")),
            "timeline names it: {text}"
        );
        let (_, rel) = api
            .get(&format!("/api/v1/cases/{first}/related"), Some(&chen))
            .await;
        assert!(!ids_of(&rel).contains(&acc), "{rel}");

        // item 3: a leader linked elsewhere (白石 street 004) does not see the
        // district's triage queue of other streets, accusations included
        let xu = api.login("lingdao.xu").await;
        for q in ["triage", "due_soon", "overdue", "callback"] {
            let (s, v) = api.get(&format!("/api/v1/queues/{q}"), Some(&xu)).await;
            assert_eq!(s, StatusCode::OK, "{q}: {v}");
            assert!(!ids_of(&v).contains(&acc), "{q}: {v}");
            assert!(!ids_of(&v).contains(&first), "{q}: {v}");
        }
        // item 6: nor does a cursor name the hidden case
        {
            let (_, v) = api.get("/api/v1/queues/triage?limit=1", Some(&xu)).await;
            let cursor = v["next_cursor"].as_str().unwrap_or("").to_string();
            assert!(
                !cursor.ends_with(&format!(".{acc}")) && !cursor.ends_with(&format!(".{first}")),
                "cursor {cursor}"
            );
            assert!(!ids_of(&v).contains(&acc), "{v}");
        }
        // the bureau's queue still has it
        let (_, v) = api.get("/api/v1/queues/triage", Some(&bureau)).await;
        assert!(ids_of(&v).contains(&acc), "{v}");

        // item 4: no notification of the accusation reaches the accused community's subtree
        let org = api.app.org();
        let community_path = org.path(COMMUNITY).unwrap().to_string();
        let notes = api.app.store().notifications(acc).await.unwrap();
        assert!(
            notes.iter().any(|n| n.template == "urgent_signalled"),
            "the danger words raise it: {notes:?}"
        );
        for n in &notes {
            let r: Value = serde_json::from_str(&n.recipient).unwrap();
            if let Some(code) = r["code"].as_str() {
                assert!(
                    !org.path(code).unwrap().starts_with(&community_path),
                    "{n:?}"
                );
            }
        }
    }
}

/// Issue 13 item 4: an accusation naming the linked leader, with danger words,
/// never tells him; and item 6: the outbox shows an administrator neither the
/// number nor the text of a case about them.
#[tokio::test]
async fn an_accusation_against_a_person_tells_them_nothing_anywhere() {
    for api in backends().await {
        let acc = accusation(
            "举报杨国华领导收受礼金",
            "杨国华收受礼金，不处理我就去跳楼。",
            json!({"person": "杨国华"}),
        );
        let (s, _, v) = api.post("/api/v1/cases", None, &acc).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_i64().unwrap();
        let notes = api.app.store().notifications(id).await.unwrap();
        assert!(
            notes.iter().any(|n| n.template == "urgent_signalled"),
            "{notes:?}"
        );
        assert!(
            notes.iter().all(|n| !n.recipient.contains("lingdao.yang")),
            "{notes:?}"
        );
        let (_, d) = api
            .get(
                &format!("/api/v1/cases/{id}"),
                Some(&api.login("xinfang.he").await),
            )
            .await;
        assert!(!d.to_string().contains("lingdao.yang"), "{d}");

        let about_admin = accusation(
            "举报系统管理员泄露信息",
            "系统管理员把我的电话给了别人。",
            json!({"person": "admin"}),
        );
        let (s, _, v) = api.post("/api/v1/cases", None, &about_admin).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let hidden = v["id"].as_i64().unwrap();
        let admin = api.login("admin").await;
        let (s, out) = api
            .get("/api/v1/admin/outbox?limit=500", Some(&admin))
            .await;
        assert_eq!(s, StatusCode::OK, "{out}");
        let text = out.to_string();
        assert!(!text.contains("泄露信息"), "{text}");
        let items = out["notifications"].as_array().unwrap();
        assert!(items.iter().all(|n| n["case_id"] != hidden), "{out}");
        assert!(
            text.contains("收受礼金"),
            "the admin sees other cases' rows: {text}"
        );
    }
}

/// Issue 13 item 8: a field the body does not know is refused (422
/// `unknown_field` naming it) and nothing is written: `accused_unit` at the
/// top level must not file an ordinary case the accused can read.
#[tokio::test]
async fn unknown_fields_are_refused_everywhere() {
    for api in backends().await {
        let before = api.count().await;
        let mut body = valid();
        body["accused_unit"] = json!(COMMUNITY);
        let (s, _, p) = api.post("/api/v1/cases", None, &body).await;
        assert_eq!(
            (s, p["code"].as_str(), p["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("unknown_field"),
                Some("accused_unit")
            ),
            "{p}"
        );
        assert!(p["message_zh"].as_str().unwrap().contains("accused_unit"));
        let mut body = valid();
        body["reporter"]["confidental"] = json!(true);
        let (s, _, p) = api.post("/api/v1/cases", None, &body).await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("confidental"))
        );
        let mut body = valid();
        body["accused"] = json!({"unit": COMMUNITY, "persn": "陈"});
        let (s, _, _) = api.post("/api/v1/cases", None, &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(api.count().await, before, "nothing filed");

        let (_, _, v) = api.post("/api/v1/cases", None, &valid()).await;
        let id = v["id"].as_i64().unwrap();
        let chen = api.login("shequ.chen").await;
        let (s, _, p) = api
            .post(
                &format!("/api/v1/cases/{id}/triage"),
                Some(&chen),
                &json!({"urgency": "normal", "category": "基础建设", "urgncy": "urgent"}),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str(), p["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("unknown_field"),
                Some("urgncy")
            )
        );
        let (s, _, p) = api
            .post(
                &format!("/api/v1/cases/{id}/merge"),
                Some(&chen),
                &json!({"into": 1, "reasn": "x"}),
            )
            .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reasn"))
        );
        let (s, _, p) = api
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": "shequ.chen", "password": orgconfig::DEMO_PASSWORD, "otp": "1"}),
            )
            .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("otp"))
        );
        let (_, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&chen)).await;
        assert_eq!(d["status"], "received", "nothing changed");
    }
}

/// Issue 13 item 7: an accusation against the whole district (or the petition
/// bureau's only staff) is not lost: it is forwarded at intake to the
/// oversight unit outside the district's tree (纪检监察机关), recorded, and
/// handled there; no one in the district sees it.
#[tokio::test]
async fn an_accusation_against_the_district_goes_to_the_oversight_unit() {
    for api in backends().await {
        let district = api.app.district();
        let zhou = api.login("jiwei.zhou").await;
        for accused in [json!({"unit": district}), json!({"person": "何静"})] {
            let acc = accusation(
                "举报区里截留补助资金",
                "区里有关部门截留了我们村的补助资金。",
                accused.clone(),
            );
            let (s, _, v) = api.post("/api/v1/cases", None, &acc).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let id = v["id"].as_i64().unwrap();
            // the oversight unit sees it, in its triage queue, with the forwarding on record
            let (s, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&zhou)).await;
            assert_eq!(s, StatusCode::OK, "{accused}: {d}");
            assert!(
                d["timeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e.to_string().contains("forwarded_to_oversight")),
                "{d}"
            );
            let (_, q) = api.get("/api/v1/queues/triage", Some(&zhou)).await;
            assert!(ids_of(&q).contains(&id), "{q}");
            let (s, _, r) = api
                .post(
                    &format!("/api/v1/cases/{id}/triage"),
                    Some(&zhou),
                    &json!({"urgency": "urgent", "category": "信访舆情"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            // the resident is told who has it
            let code = v["tracking_code"].as_str().unwrap();
            let (_, t) = api.get(&format!("/api/v1/track/{code}"), None).await;
            assert!(t.to_string().contains("市纪委监委"), "{t}");
            // and the district does not: not the bureau when accused, nor anyone when the district is
            let blind = if accused.get("unit").is_some() {
                vec!["xinfang.he", "admin", "lingdao.yang", "shequ.chen"]
            } else {
                vec!["xinfang.he"]
            };
            for login in blind {
                let t = api.login(login).await;
                let (s, _) = api.get(&format!("/api/v1/cases/{id}"), Some(&t)).await;
                assert_eq!(s, StatusCode::NOT_FOUND, "{login}");
            }
            let notes = api.app.store().notifications(id).await.unwrap();
            assert!(
                notes.iter().any(|n| n.recipient.contains("430700JW")),
                "the oversight unit is told: {notes:?}"
            );
        }
        // the oversight unit sees nothing else of the district
        let (_, list) = api.get("/api/v1/cases", Some(&zhou)).await;
        assert_eq!(ids_of(&list).len(), 2, "{list}");
    }
}

/// Replies to a resident's case as the community, so it can be rated.
async fn replied_case(api: &Api) -> (i64, String) {
    let (s, _, v) = api.post("/api/v1/cases", None, &valid()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (id, code) = (
        v["id"].as_i64().unwrap(),
        v["tracking_code"].as_str().unwrap().to_string(),
    );
    let chen = api.login("shequ.chen").await;
    for (cmd, b) in [
        (
            "triage",
            json!({"urgency": "deferred", "category": "基础建设"}),
        ),
        ("reply", json!({"result": "已修复路灯"})),
    ] {
        let (s, _, v) = api
            .post(&format!("/api/v1/cases/{id}/{cmd}"), Some(&chen), &b)
            .await;
        assert_eq!(s, StatusCode::OK, "{cmd}: {v}");
    }
    (id, code)
}

#[tokio::test]
async fn tracking_codes_cannot_be_guessed_or_used_without_the_phone() {
    for api in backends().await {
        let (_, code) = replied_case(&api).await;
        let (_, closed) = replied_case(&api).await;
        let rate = |code: &str| format!("/api/v1/track/{code}/rating");
        let ip = [10, 0, 0, 7];
        // the closed case is rated once, properly
        let (s, v) = api
            .call_from(
                ip,
                "POST",
                &rate(&closed),
                None,
                Some(&json!({"rating": "satisfied", "phone_last4": "5678"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, t) = api.get(&format!("/api/v1/track/{code}"), None).await;
        assert_eq!(t["phone_check"], true, "{t}");

        // no oracle: an unknown code, a known code without or with the wrong
        // digits, and a closed case with the wrong digits all answer alike
        let unknown = "ZZZZZZZZZZ";
        let mut answers = Vec::new();
        for (c, digits) in [
            (unknown, Some("5678")),
            (code.as_str(), None),
            (code.as_str(), Some("1234")),
            (closed.as_str(), Some("1234")),
        ] {
            let mut body = json!({"rating": "satisfied"});
            if let Some(d) = digits {
                body["phone_last4"] = json!(d);
            }
            let (s, v) = api.call_from(ip, "POST", &rate(c), None, Some(&body)).await;
            answers.push((s, v["code"].as_str().map(str::to_string)));
        }
        assert!(
            answers
                .iter()
                .all(|a| *a == (StatusCode::NOT_FOUND, Some("track_check_failed".into()))),
            "{answers:?}"
        );
        // the notify change asks for the digits too
        let (s, v) = api
            .call_from(
                ip,
                "POST",
                &format!("/api/v1/track/{code}/notify"),
                None,
                Some(&json!({"channel": "none"})),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("track_check_failed")),
            "{v}"
        );

        // misses count per address: past the hour's limit every tracking route
        // refuses that address, even with a right code, until the hour is over
        let limit = api.app.limits().track_misses_per_address_per_hour;
        for i in 5..limit {
            let (s, _) = api
                .call_from(ip, "GET", &format!("/api/v1/track/{unknown}"), None, None)
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "miss {i}");
        }
        for path in [
            format!("/api/v1/track/{code}"),
            format!("/api/v1/track/{code}/attachments/1"),
            format!("/open311/v2/tokens/{code}.json"),
            format!("/api/v1/track/{code}/rating"),
        ] {
            let method = if path.ends_with("rating") {
                "POST"
            } else {
                "GET"
            };
            let (s, _) = api
                .call_from(
                    ip,
                    method,
                    &path,
                    None,
                    Some(&json!({"rating": "satisfied", "phone_last4": "5678"})),
                )
                .await;
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
        // another address is not affected
        let (s, _) = api
            .call_from(
                [10, 0, 0, 8],
                "GET",
                &format!("/api/v1/track/{code}"),
                None,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        api.clock.advance(61 * 60 * 1000);
        // rated once; the second rating is refused for the state, not the code
        for (want, key, value) in [
            (StatusCode::OK, "status", "closed"),
            (StatusCode::CONFLICT, "code", "illegal_transition"),
        ] {
            let body = json!({"rating": "average", "phone_last4": "5678"});
            let (s, v) = api
                .call_from(ip, "POST", &rate(&code), None, Some(&body))
                .await;
            assert_eq!((s, v[key].as_str()), (want, Some(value)), "{v}");
        }
    }
}

#[tokio::test]
async fn staff_never_see_tracking_codes_nor_rate_as_the_resident() {
    for api in backends().await {
        let (id, code) = replied_case(&api).await;
        let wu = api.login("bumen.wu").await;
        let chen = api.login("shequ.chen").await;
        let admin = api.login("admin").await;
        for who in [&wu, &chen, &admin] {
            for path in [
                format!("/api/v1/cases/{id}"),
                "/api/v1/cases?limit=100".to_string(),
                "/api/v1/queues/callback".to_string(),
                "/api/v1/search?q=路灯".to_string(),
                format!("/api/v1/cases/{id}/related"),
                "/api/v1/admin/outbox".to_string(),
                "/api/v1/admin/audit".to_string(),
            ] {
                let (s, v) = api.get(&path, Some(who)).await;
                assert!(
                    [StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&s),
                    "{path}: {s} {v}"
                );
                assert!(!v.to_string().contains(&code), "{path}: {v}");
            }
        }
        // the resident's route with staff credentials is refused and records nothing
        let before = api.app.store().events(id).await.unwrap().len();
        for (path, body) in [
            (
                format!("/api/v1/track/{code}/rating"),
                json!({"rating": "satisfied", "phone_last4": "5678"}),
            ),
            (
                format!("/api/v1/track/{code}/notify"),
                json!({"channel": "none", "phone_last4": "5678"}),
            ),
        ] {
            let (s, _, v) = api.post(&path, Some(&chen), &body).await;
            assert_eq!(
                (s, v["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("resident_route_for_staff")),
                "{path}: {v}"
            );
        }
        assert_eq!(api.app.store().events(id).await.unwrap().len(), before);
        // a rating staff record is theirs: the rate command, with how the resident was reached
        let (s, _, v) = api
            .post(
                &format!("/api/v1/cases/{id}/rate"),
                Some(&chen),
                &json!({"rating": "satisfied", "via": "phone"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let events = api.app.store().events(id).await.unwrap();
        let last = events.last().unwrap();
        assert!(
            matches!(&last.actor, suqiu_domain::case::Actor::Staff { login, .. } if login == "shequ.chen"),
            "{:?}",
            last.actor
        );
    }
}

#[tokio::test]
async fn login_throttling_slows_an_attacker_without_locking_out_the_owner() {
    for api in backends().await {
        let (attacker, owner) = ([10, 0, 0, 66], [10, 0, 0, 9]);
        let login =
            |who: &'static str, password: &'static str| json!({"login": who, "password": password});
        for i in 0..5 {
            let (s, v) = api
                .call_from(
                    attacker,
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    Some(&login("bumen.wu", "guess")),
                )
                .await;
            assert_eq!(
                (s, v["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
                "try {i}"
            );
        }
        // the attacker's address may not try the account any more, even with the password …
        let right = login("bumen.wu", orgconfig::DEMO_PASSWORD);
        let (s, v) = api
            .call_from(attacker, "POST", "/api/v1/auth/login", None, Some(&right))
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
        );
        // … but the owner, from theirs, logs in
        let (s, v) = api
            .call_from(owner, "POST", "/api/v1/auth/login", None, Some(&right))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");

        // failures across accounts from one address: past the address limit
        // nothing from it is checked, and the audit log holds a bounded number
        let mut refused_at = None;
        for i in 0..60 {
            let body = json!({"login": format!("nosuch{i}"), "password": "guess"});
            let (s, _) = api
                .call_from(attacker, "POST", "/api/v1/auth/login", None, Some(&body))
                .await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                refused_at.get_or_insert(i);
            }
        }
        let max = suqiu_app::privacy::THROTTLE_MAX_ADDRESS_FAILURES;
        // 5 + 1 failures of bumen.wu already counted
        assert_eq!(
            refused_at,
            Some(max - 6),
            "refused from the address limit on"
        );
        let admin = login("admin", orgconfig::DEMO_PASSWORD);
        let (s, _) = api
            .call_from(attacker, "POST", "/api/v1/auth/login", None, Some(&admin))
            .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        let (s, _) = api
            .call_from(owner, "POST", "/api/v1/auth/login", None, Some(&admin))
            .await;
        assert_eq!(s, StatusCode::OK);
        api.app.store().chain_audit().await.unwrap();
        let failed = api
            .app
            .store()
            .audit_rows(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.entry.action.starts_with("login.failed"))
            .count() as i64;
        assert!(failed <= max, "{failed} audit rows of failures");
        // the window moves on
        api.clock.advance(16 * 60 * 1000);
        let (s, v) = api
            .call_from(attacker, "POST", "/api/v1/auth/login", None, Some(&right))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

#[tokio::test]
async fn the_linked_leader_records_the_rating_of_a_revisit() {
    for api in backends().await {
        let (id, _) = replied_case(&api).await;
        let rate = format!("/api/v1/cases/{id}/rate");
        let body = json!({"rating": "satisfied", "via": "leader_revisit", "comment": "回门巡访，群众满意"});
        // not the community staff, not a leader of another street
        let chen = api.login("shequ.chen").await;
        let (s, _, v) = api.post(&rate, Some(&chen), &body).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_permitted")),
            "{v}"
        );
        let xu = api.login("lingdao.xu").await;
        let (s, _, _) = api.post(&rate, Some(&xu), &body).await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
            "{s}"
        );
        // the leader linked to the street does
        let yang = api.login("lingdao.yang").await;
        let (s, _, v) = api.post(&rate, Some(&yang), &body).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("closed")),
            "{v}"
        );
        let events = api.app.store().events(id).await.unwrap();
        let last = events.last().unwrap();
        assert!(
            matches!(
                &last.event,
                suqiu_domain::case::Event::Rated {
                    via: suqiu_domain::workflow::RatingVia::LeaderRevisit,
                    ..
                }
            ),
            "{:?}",
            last.event
        );
        assert!(
            matches!(&last.actor, suqiu_domain::case::Actor::Staff { login, .. } if login == "lingdao.yang")
        );
        let (_, d) = api.get(&format!("/api/v1/cases/{id}"), Some(&yang)).await;
        assert!(d.to_string().contains("领导回访"), "{d}");
    }
}

/// A GET through a router: status, headers, body bytes.
async fn raw_get(
    router: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut b = Request::get(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let res = router
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (s, h) = (res.status(), res.headers().clone());
    (
        s,
        h,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn metrics_are_for_administrators_and_the_scraper_by_route_pattern() {
    for api in backends().await {
        let (_, _, created) = api.post("/api/v1/cases", None, &valid()).await;
        let id = created["id"].as_i64().unwrap();
        let code = created["tracking_code"].as_str().unwrap().to_string();
        let admin = api.login("admin").await;
        let street = api.login("jiedao.liu").await;
        api.get(&format!("/api/v1/cases/{id}"), Some(&street)).await;
        api.get(&format!("/api/v1/track/{code}"), None).await;
        let auth = |t: &str| format!("Bearer {t}");
        let (s, _, _) = raw_get(&api.router, "/metrics", &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _, _) = raw_get(
            &api.router,
            "/metrics",
            &[("authorization", &auth(&street))],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, h, body) =
            raw_get(&api.router, "/metrics", &[("authorization", &auth(&admin))]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = String::from_utf8(body).unwrap();
        for line in [
            r#"suqiu_http_requests_total{method="POST",route="/api/v1/cases",status="201"} 1"#,
            r#"suqiu_http_requests_total{method="GET",route="/api/v1/cases/{id}",status="200"} 1"#,
            r#"suqiu_http_requests_total{method="GET",route="/metrics",status="403"} 1"#,
            "suqiu_cases_filed_total 1",
            "suqiu_cases 1",
            // the intake's notifications wait: no sender in this test
            "suqiu_outbox_dead 0",
            "suqiu_sweeper_lag_seconds 0",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(text.contains("suqiu_outbox_pending "), "{text}");
        assert!(
            text.contains(r#"suqiu_http_request_duration_seconds_bucket{le="0.001""#)
                || text.contains(r#"suqiu_http_request_duration_seconds_count{method="POST",route="/api/v1/cases"} 1"#),
            "{text}"
        );
        // route patterns, never the raw path: no case id or tracking code in a label
        assert!(
            !text.contains(&code) && !text.contains(&format!("/api/v1/cases/{id}\"")),
            "{text}"
        );
        // a deadline past due that the sweeper has not marked shows as lag
        api.clock.set(T0 + 2 * 86_400_000);
        let admin = api.login("admin").await;
        let (_, _, body) =
            raw_get(&api.router, "/metrics", &[("authorization", &auth(&admin))]).await;
        let text = String::from_utf8(body).unwrap();
        let lag: i64 = text
            .lines()
            .find_map(|l| l.strip_prefix("suqiu_sweeper_lag_seconds "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(lag > 86_400, "{lag}");
        api.app.sweep_once().await.unwrap();
        let (_, _, body) =
            raw_get(&api.router, "/metrics", &[("authorization", &auth(&admin))]).await;
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("suqiu_sweeper_lag_seconds 0"));

        // the scraper's own token, and only it
        let scraped = suqiu_web::router_with(
            api.app.clone(),
            &suqiu_web::WebConfig {
                metrics_token: Some("scrape-secret-1234".into()),
                ..Default::default()
            },
        );
        let (s, _, _) = raw_get(
            &scraped,
            "/metrics",
            &[("authorization", "Bearer scrape-secret-1234")],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = raw_get(
            &scraped,
            "/metrics",
            &[("authorization", "Bearer scrape-secret-1235")],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn pages_and_assets_are_compressed_and_every_answer_has_a_request_id() {
    use std::io::Read;
    let api = Api::new(testing::sqlite().await.unwrap()).await;
    let (s, h, gz) = raw_get(&api.router, "/report", &[("accept-encoding", "gzip")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-encoding"], "gzip");
    let mut page = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut page)
        .unwrap();
    assert!(page.contains("<form"), "{page}");
    assert!(gz.len() < page.len() / 2, "{} of {}", gz.len(), page.len());
    let (_, h, br) = raw_get(
        &api.router,
        suqiu_pages::assets::CSS_PATH,
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(h["content-encoding"], "br");
    assert!(br.len() < suqiu_pages::assets::CSS.len() / 2);
    // without asking: plain
    let (_, h, plain) = raw_get(&api.router, suqiu_pages::assets::CSS_PATH, &[]).await;
    assert!(h.get("content-encoding").is_none());
    assert_eq!(plain, suqiu_pages::assets::CSS);
    // request ids: made when missing, kept from a proxy, different each time
    let (_, a, _) = raw_get(&api.router, "/healthz", &[]).await;
    let (_, b, _) = raw_get(&api.router, "/healthz", &[]).await;
    assert_ne!(a["x-request-id"], b["x-request-id"]);
    let (_, c, _) = raw_get(&api.router, "/healthz", &[("x-request-id", "proxy-7f3a")]).await;
    assert_eq!(c["x-request-id"], "proxy-7f3a");
    // the icon browsers ask for, linked from every page
    let (s, h, ico) = raw_get(&api.router, "/favicon.ico", &[]).await;
    assert_eq!(
        (s, h[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::OK, "image/x-icon")
    );
    assert_eq!(&ico[..4], &[0, 0, 1, 0], "an ICO file");
    assert!(page.contains(r#"<link rel="icon" href="/favicon.ico""#));
}
