//! Ledger (台账) import and export through the API, on SQLite and (when
//! SUQIU_TEST_DATABASE_URL is set) PostgreSQL: GB18030 csv and xlsx imports
//! become cases like API-filed ones with the ledger's receipt time; one bad row
//! writes nothing; lenient mode; scope; masked exports; re-import.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use suqiu_app::ledger::sheet;
use suqiu_app::{orgconfig, App, FixedClock};
use suqiu_store::testing::{self, TestDb};
use tower::ServiceExt;

/// 2026-11-23 (after every ledger date below)
const T0: i64 = 1_795_395_600_000;
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct Api {
    router: Router,
    app: App,
    _db: TestDb,
}

struct Answer {
    status: StatusCode,
    ctype: String,
    headers: axum::http::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

impl Api {
    async fn new(db: TestDb) -> Api {
        let clock = Arc::new(FixedClock::new(T0));
        let app = App::new(db.store.clone(), clock)
            .await
            .unwrap()
            .with_search(suqiu_app::SearchIndex::in_memory().unwrap());
        app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
        Api {
            router: suqiu_web::router(app.clone()),
            app,
            _db: db,
        }
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer {
            status,
            ctype,
            headers,
            bytes,
        }
    }

    async fn import(&self, token: &str, query: &str, ctype: &str, body: Vec<u8>) -> Answer {
        let req = Request::post(format!("/api/v1/ledger/import{query}"))
            .header(header::CONTENT_TYPE, ctype)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        let req = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    async fn login(&self, login: &str) -> String {
        let req = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"login": login, "password": orgconfig::DEMO_PASSWORD}).to_string(),
            ))
            .unwrap();
        let a = self.send(req).await;
        assert_eq!(a.status, StatusCode::OK);
        a.json()["token"].as_str().unwrap().to_string()
    }

    async fn count(&self) -> i64 {
        self.app.store().count_cases().await.unwrap()
    }

    async fn audit_actions(&self) -> Vec<(String, String)> {
        let _ = self.app.store().chain_audit().await;
        let rows = self.app.store().audit_rows(0, 10_000).await.unwrap();
        rows.into_iter()
            .map(|r| (r.entry.action, r.entry.detail))
            .collect()
    }
}

async fn backends() -> Vec<Api> {
    let mut out = vec![Api::new(testing::sqlite().await.unwrap()).await];
    if let Some(server) = testing::postgres_server_url() {
        out.push(Api::new(testing::postgres(&server).await.unwrap()).await);
    }
    out
}

const HEADERS: [&str; 11] = [
    "序号",
    "受理时间",
    "来源渠道",
    "姓名",
    "联系电话",
    "所在村（社区）",
    "标题",
    "诉求内容",
    "问题类别",
    "办理状态",
    "答复内容",
];

/// Good rows in 白沙街道 (jiedao.liu's street): by community name, by grid
/// (community + grid name), by unit code, inside an address.
fn good_rows() -> Vec<Vec<String>> {
    let r = |cells: [&str; 11]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    vec![
        r([
            "TZ-001",
            "2024-03-05 14:20",
            "来访",
            "王小明",
            "13912345678",
            "丹阳社区",
            "楼道灯坏了",
            "丹阳社区3栋楼道灯坏了两周，老人上下楼不方便。",
            "市政设施",
            "已办结",
            "已更换灯泡",
        ]),
        r([
            "TZ-002",
            "2024年3月6日",
            "来信",
            "李芳",
            "0731-8123456",
            "丹阳社区第二网格",
            "垃圾清运不及时",
            "垃圾桶满了三天没有人清运。",
            "环境卫生",
            "办理中",
            "",
        ]),
        r([
            "TZ-003",
            "2024/3/7 9:05",
            "走访",
            "张伟",
            "13800138000",
            "430799001003",
            "噪音扰民",
            "楼下商铺夜里放音乐，影响休息。",
            "",
            "",
            "",
        ]),
        r([
            "TZ-004",
            "2024-03-08",
            "",
            "刘娜",
            "13700137000",
            "白沙社区幸福路12号",
            "道路积水",
            "下雨后路面积水严重，行人无法通过。",
            "",
            "",
            "",
        ]),
    ]
}

fn csv(rows: &[Vec<String>]) -> String {
    let mut s = HEADERS.join(",");
    s.push_str("\r\n");
    for r in rows {
        s.push_str(&r.join(","));
        s.push_str("\r\n");
    }
    s
}

fn gb18030(s: &str) -> Vec<u8> {
    let (b, _, unmappable) = encoding_rs::GB18030.encode(s);
    assert!(!unmappable);
    b.into_owned()
}

fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    sheet::write_xlsx(&mut out, "台账", &HEADERS, rows).unwrap();
    out.into_inner()
}

/// The items of the list as `user` sees it.
async fn list(api: &Api, token: &str, query: &str) -> Vec<Value> {
    let a = api
        .get(&format!("/api/v1/cases?limit=200{query}"), token)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    a.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn gb18030_csv_and_xlsx_imports_become_cases_with_the_ledgers_receipt_time() {
    for api in backends().await {
        let street = api.login("jiedao.liu").await;
        let body = gb18030(&csv(&good_rows()));
        let a = api.import(&street, "", "text/csv", body).await;
        let v = a.json();
        assert_eq!(a.status, StatusCode::CREATED, "{v}");
        assert_eq!(v["outcome"], "imported");
        assert_eq!(v["created"], 4);
        assert_eq!(v["report"]["encoding"], "gb18030");
        assert_eq!(v["report"]["rows_read"], 4);
        assert_eq!(v["report"]["errors"], 0);
        assert_eq!(api.count().await, 4);

        // in the list, with the ledger's receipt time and the resolved places
        let items = list(&api, &street, "").await;
        assert_eq!(items.len(), 4);
        let by_title = |t: &str| {
            items
                .iter()
                .find(|i| i["title"] == t)
                .unwrap_or_else(|| panic!("{t} not listed: {items:?}"))
                .clone()
        };
        let first = by_title("楼道灯坏了");
        assert!(
            first["received_at"]
                .as_str()
                .unwrap()
                .starts_with("2024-03-05T14:20:00+08:00"),
            "{first}"
        );
        assert_eq!(first["channel"], "visit", "{first}");
        assert!(first.to_string().contains("430799001002"), "{first}");
        assert!(by_title("垃圾清运不及时")
            .to_string()
            .contains("430799001002-02"));
        assert!(by_title("噪音扰民").to_string().contains("430799001003"));
        let flooded = by_title("道路积水");
        assert!(flooded.to_string().contains("430799001001"), "{flooded}");
        // no channel in the ledger: 来访
        assert_eq!(flooded["channel"], "visit");

        // the ledger-only columns are an internal note; the intake is the API's
        let id = first["id"].as_i64().unwrap();
        let a = api.get(&format!("/api/v1/cases/{id}"), &street).await;
        let detail = a.json();
        assert_eq!(a.status, StatusCode::OK, "{detail}");
        let text = detail.to_string();
        assert!(text.contains("台账编号：TZ-001"), "{text}");
        assert!(text.contains("答复内容：已更换灯泡"), "{text}");
        assert!(text.contains("received"), "{text}");
        // masked like any case
        assert!(!text.contains("13912345678"), "{text}");

        // searchable
        api.app.flush_search().await;
        let a = api
            .get("/api/v1/search?q=%E7%A7%AF%E6%B0%B4", &street) // 积水
            .await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.json()["total"], 1, "{}", a.json());

        // one audit entry for the import, with counts
        let audit = api.audit_actions().await;
        let imports: Vec<_> = audit.iter().filter(|(a, _)| a == "ledger.import").collect();
        assert_eq!(imports.len(), 1, "{audit:?}");
        assert!(imports[0].1.contains("\"created\":4"), "{:?}", imports[0]);
        assert!(!audit.iter().any(|(a, _)| a == "case.file"), "{audit:?}");

        // the same rows as xlsx, by the petition bureau (whole district)
        let bureau = api.login("xinfang.he").await;
        let a = api.import(&bureau, "", XLSX, xlsx(&good_rows())).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.json());
        assert_eq!(a.json()["created"], 4);
        assert_eq!(api.count().await, 8);
        let times: Vec<String> = list(&api, &bureau, "")
            .await
            .iter()
            .map(|i| i["received_at"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            times
                .iter()
                .filter(|t| t.starts_with("2024-03-07T09:05:00+08:00"))
                .count(),
            2,
            "{times:?}"
        );
    }
}

#[tokio::test]
async fn one_bad_row_writes_nothing_and_lenient_writes_the_others() {
    for api in backends().await {
        let street = api.login("jiedao.liu").await;
        let mut rows = good_rows();
        rows[1][4] = "1391234".into(); // row 3: a phone number too short
        rows[3][6] = String::new(); // row 5: no title is fine (derived) …
        rows[3][7] = String::new(); // … but no content is not
        let body = csv(&rows).into_bytes();
        let a = api.import(&street, "", "text/csv", body.clone()).await;
        let v = a.json();
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(a.ctype, "application/problem+json");
        assert_eq!(v["code"], "ledger_rejected");
        assert_eq!(v["outcome"], "rejected");
        assert_eq!(v["created"], 0);
        let problems = v["report"]["problems"].as_array().unwrap();
        let rows_with_errors: Vec<i64> = problems
            .iter()
            .filter(|p| p["severity"] == "error")
            .map(|p| p["row"].as_i64().unwrap())
            .collect();
        assert_eq!(rows_with_errors, vec![3, 5], "{v}");
        assert!(problems[0]["message_zh"].as_str().unwrap().len() > 3);
        assert!(problems[0]["message_en"].as_str().unwrap().len() > 3);
        assert_eq!(problems[0]["code"], "invalid_phone", "{v}");
        assert_eq!(api.count().await, 0, "nothing written");

        // dry run of the good rows: checked, nothing written
        let good = csv(&good_rows()).into_bytes();
        let a = api.import(&street, "?dry_run=true", "text/csv", good).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json());
        assert_eq!(a.json()["outcome"], "checked");
        assert_eq!(api.count().await, 0);

        // lenient: the two good rows are written, the bad ones reported
        let a = api.import(&street, "?lenient=1", "text/csv", body).await;
        let v = a.json();
        assert_eq!(a.status, StatusCode::CREATED, "{v}");
        assert_eq!(v["created"], 2);
        assert_eq!(v["report"]["rows_rejected"], 2, "{v}");
        assert_eq!(v["report"]["rows_ok"], 2, "{v}");
        assert_eq!(api.count().await, 2);

        // bad query, bad media type, not a workbook
        let a = api
            .import(&street, "?encoding=latin1", "text/csv", vec![])
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        let a = api
            .import(&street, "", "application/json", b"{}".to_vec())
            .await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let a = api
            .import(&street, "", XLSX, b"PK\x03\x04 broken".to_vec())
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(a.json()["report"]["problems"][0]["code"], "unreadable_file");
        assert_eq!(api.count().await, 2);
    }
}

#[tokio::test]
async fn places_outside_the_importers_area_are_refused_and_grid_workers_may_not_import() {
    for api in backends().await {
        let community = api.login("shequ.chen").await; // 丹阳社区
        let mut rows = good_rows();
        rows.truncate(2); // both in 丹阳社区
        let a = api
            .import(&community, "", "text/csv", csv(&rows).into_bytes())
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.json());
        // 东风社区 is in the same street, not the community's; 清水塘社区 another street
        let mut out = good_rows();
        out[0][5] = "清水塘社区".into();
        let a = api
            .import(&community, "", "text/csv", csv(&out).into_bytes())
            .await;
        let v = a.json();
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let refused: Vec<(i64, String)> = v["report"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["row"].as_i64().unwrap(),
                    p["code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            refused,
            vec![
                (2, "unresolved_place".to_string()),
                (4, "unresolved_place".to_string()),
                (5, "unresolved_place".to_string())
            ],
            "{v}"
        );
        assert!(v.to_string().contains("不在您的辖区内"), "{v}");
        // an unknown place is refused too, never filed elsewhere
        let mut unknown = good_rows();
        unknown.truncate(1);
        unknown[0][5] = "火星村".into();
        let bureau = api.login("xinfang.he").await;
        let a = api
            .import(&bureau, "", "text/csv", csv(&unknown).into_bytes())
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(api.count().await, 2);

        let grid = api.login("wangge.li").await;
        let a = api
            .import(&grid, "", "text/csv", csv(&rows).into_bytes())
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(api.count().await, 2);
    }
}

#[tokio::test]
async fn exports_are_masked_csv_with_bom_or_xlsx_and_import_again() {
    for api in backends().await {
        let street = api.login("jiedao.liu").await;
        let a = api
            .import(&street, "", "text/csv", csv(&good_rows()).into_bytes())
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
        // a case of another street, not exported for this street
        let bureau = api.login("xinfang.he").await;
        let mut other = good_rows();
        other.truncate(1);
        other[0][5] = "清水塘社区".into();
        other[0][6] = "别的街道".into();
        let a = api
            .import(&bureau, "", "text/csv", csv(&other).into_bytes())
            .await;
        assert_eq!(a.status, StatusCode::CREATED);

        // csv: BOM, masked, only the street's cases
        let a = api.get("/api/v1/ledger/export?format=csv", &street).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.ctype.starts_with("text/csv"));
        assert!(a.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert!(a.bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(a.bytes.clone()).unwrap();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(!text.contains("13912345678"), "{text}");
        assert!(text.contains("139****5678"), "{text}");
        assert!(!text.contains("别的街道"), "{text}");
        assert!(text.contains("楼道灯坏了"));
        // filters of the list apply
        let a = api
            .get(
                "/api/v1/ledger/export?format=csv&unit=430799001003",
                &street,
            )
            .await;
        let text = String::from_utf8(a.bytes).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let a = api.get("/api/v1/ledger/export?format=pdf", &street).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);

        // a masked export does not import as cases (the phone is masked) …
        let a = api.get("/api/v1/ledger/export?format=xlsx", &street).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.ctype, XLSX);
        let masked = a.bytes;
        let a = api.import(&street, "", XLSX, masked).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(api.count().await, 5);

        // … an unmasked one (with a reason, audited) does: the same cases again
        let a = api
            .get(
                "/api/v1/ledger/export?format=xlsx&unmask_reason=%E5%BD%92%E6%A1%A3",
                &street,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
        let full = a.bytes;
        assert!(api
            .audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "ledger.export.unmasked"));
        let a = api.import(&street, "", XLSX, full).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.json());
        assert_eq!(a.json()["created"], 4);
        let items = list(&api, &street, "").await;
        assert_eq!(items.len(), 8);
        for t in ["楼道灯坏了", "垃圾清运不及时", "噪音扰民", "道路积水"] {
            let same: Vec<_> = items.iter().filter(|i| i["title"] == t).collect();
            assert_eq!(same.len(), 2, "{t}");
            assert_eq!(same[0]["received_at"], same[1]["received_at"], "{t}");
            assert_eq!(same[0]["reporter"], same[1]["reporter"], "{t}");
            assert_eq!(same[0]["place"], same[1]["place"], "{t}");
        }
        // a grid worker may not unmask a whole list? (they may unmask one case:
        // the permission is the same; a department handler sees only dispatched cases)
        let dept = api.login("bumen.zhang").await;
        let a = api.get("/api/v1/ledger/export?format=csv", &dept).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(String::from_utf8(a.bytes).unwrap().lines().count(), 1);
    }
}

/// The store's batch write is all or nothing: a write failing half-way (here a
/// duplicate tracking code in the last write) leaves nothing of the others.
#[tokio::test]
async fn a_batch_failing_half_way_leaves_nothing() {
    for api in backends().await {
        let user = api.app.staff_by_login("jiedao.liu").await.unwrap();
        let mut writes = Vec::new();
        for i in 0..3 {
            let input = suqiu_domain::case::IntakeInput {
                channel: Some("visit".into()),
                unit: Some("430799001002".into()),
                title: Some(format!("第{i}件")),
                content: Some("内容".into()),
                reporter_name: Some("王小明".into()),
                reporter_phone: Some("13912345678".into()),
                ..Default::default()
            };
            writes.push(api.app.intake_write(&input, Some(&user)).unwrap());
        }
        let code = writes[0].row.tracking_code.clone();
        writes[2].row.tracking_code = code;
        assert!(api.app.store().write_cases(writes).await.is_err());
        assert_eq!(api.count().await, 0);
    }
}

/// `xlsx(good_rows())` with shared strings of `bytes` bytes added: one huge
/// repeated string, deflated while written (about 1/1000 of its size).
fn zip_bomb(bytes: u64) -> Vec<u8> {
    use std::io::{Read, Write};
    let good = xlsx(&good_rows());
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(good)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut body = Vec::new();
        f.read_to_end(&mut body).unwrap();
        if name == "xl/sharedStrings.xml" {
            continue;
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&body).unwrap();
    }
    out.start_file("xl/sharedStrings.xml", opts.large_file(true))
        .unwrap();
    out.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>"#)
        .unwrap();
    let chunk = "投诉".repeat(1 << 17); // 768 KiB
    let mut written = 0u64;
    while written < bytes {
        out.write_all(chunk.as_bytes()).unwrap();
        written += chunk.len() as u64;
    }
    out.write_all(b"</t></si></sst>").unwrap();
    out.finish().unwrap().into_inner()
}

#[tokio::test]
async fn a_zip_bomb_or_too_many_rows_is_refused_and_writes_nothing() {
    for api in backends().await {
        let community = api.login("shequ.chen").await;
        // 256 MiB of shared strings in a fraction of a megabyte
        let bomb = zip_bomb(256 << 20);
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        let started = std::time::Instant::now();
        let a = api.import(&community, "", XLSX, bomb.clone()).await;
        let v = a.json();
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(a.ctype, "application/problem+json");
        assert_eq!(v["code"], "ledger_too_large", "{v}");
        assert_eq!(v["field"], "entry_bytes", "{v}");
        assert!(
            v["message_zh"].as_str().unwrap().contains("解压后超过"),
            "{v}"
        );
        assert!(
            v["message_en"].as_str().unwrap().contains("expands to"),
            "{v}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        // the octet-stream upload (sniffed) and the dry run are refused alike
        let a = api
            .import(&community, "?dry_run=1", "application/octet-stream", bomb)
            .await;
        assert_eq!(a.json()["code"], "ledger_too_large");

        // one row past the bound: refused while reading, nothing written
        let mut rows = String::from("诉求内容\n");
        for i in 0..=suqiu_app::ledger::MAX_IMPORT_ROWS {
            rows.push_str(&format!("路灯坏了{i}\n"));
        }
        let a = api
            .import(&community, "?lenient=1", "text/csv", rows.into_bytes())
            .await;
        let v = a.json();
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(v["code"], "ledger_too_large");
        assert_eq!(v["field"], "rows");
        assert!(
            v["message_zh"].as_str().unwrap().contains("200000 行"),
            "{v}"
        );
        assert_eq!(api.count().await, 0, "nothing written");
        let actions = api.audit_actions().await;
        assert!(
            actions.iter().all(|(a, _)| !a.contains("ledger")),
            "no import audited: {actions:?}"
        );
    }
}
