//! The authorisation matrix, generated from the route table: every endpoint ×
//! every demo role × (case in scope, out of scope, dispatched to the unit, an
//! accusation against the unit). A route without a rule here fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use suqiu_app::{orgconfig, App, FixedClock};
use suqiu_store::testing;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// No login needed.
    Public,
    /// Any logged-in staff member.
    Staff,
    /// Staff, about one case: 404 unless the case is visible to the caller.
    Case,
    /// Administrators only (403 for everyone else).
    Admin,
    /// Ends the caller's own sessions: checked by the accounts test, skipped here.
    OwnSession,
}

fn rule(method: &str, path: &str) -> Option<Rule> {
    use Rule::*;
    Some(match (method, path) {
        (
            "get",
            "/healthz"
            | "/api/v1/openapi.json"
            | "/api/v1/channels"
            | "/api/v1/units"
            | "/api/v1/deadline-rules"
            | "/api/v1/calendar"
            | "/api/v1/track/{tracking_code}"
            | "/api/v1/track/{tracking_code}/attachments/{photo}",
        ) => Public,
        (
            "post",
            "/api/v1/cases"
            | "/api/v1/auth/login"
            | "/api/v1/track/{tracking_code}/rating"
            | "/api/v1/track/{tracking_code}/notify",
        ) => Public,
        // chat platforms: authenticated by their own signatures, not by staff sessions
        ("get" | "post", "/api/v1/chat/wecom/{group}")
        | ("post", "/api/v1/chat/dingtalk/{group}") => Public,
        (
            "get",
            "/api/v1/cases"
            | "/api/v1/queues/{queue}"
            | "/api/v1/me"
            | "/api/v1/search"
            | "/api/v1/topics",
        ) => Staff,
        ("post", "/api/v1/me/password") => Staff,
        ("post", "/api/v1/ledger/import") | ("get", "/api/v1/ledger/export") => Staff,
        ("get" | "post", "/api/v1/me/tokens" | "/api/v1/me/tokens/{token_id}/revoke") => Staff,
        ("get", "/api/v1/admin/tokens" | "/api/v1/admin/outbox" | "/api/v1/admin/users") => Admin,
        (
            "get",
            "/api/v1/cases/{id}"
            | "/api/v1/cases/{id}/suggestions"
            | "/api/v1/cases/{id}/attachments"
            | "/api/v1/cases/{id}/attachments/{photo}"
            | "/api/v1/cases/{id}/related",
        ) => Case,
        ("post", p) if p.starts_with("/api/v1/cases/{id}/") => Case,
        ("post", "/api/v1/calendar") => Admin,
        ("post", p) if p.starts_with("/api/v1/admin/") => Admin,
        ("get", "/api/v1/admin/audit" | "/api/v1/admin/templates") => Admin,
        ("put" | "delete", "/api/v1/admin/templates/{kind}/{audience}/{lang}") => Admin,
        ("delete", "/api/v1/admin/units/{code}") => Admin,
        ("post", "/api/v1/auth/logout" | "/api/v1/auth/logout-all") => OwnSession,
        _ => return None,
    })
}

const LOGINS: [&str; 9] = [
    "wangge.li",
    "shequ.chen",
    "jiedao.liu",
    "bumen.zhang",
    "lingdao.yang",
    "lingdao.xu",
    "xinfang.he",
    "admin",
    "cun.huang",
];

#[derive(Debug, Clone, Copy)]
enum Rel {
    InScope,
    OutOfScope,
    DispatchedTo,
    Accusation,
}

/// Who may see which case (by the rules of DOMAIN.md §7 and §10).
fn visible(login: &str, rel: Rel) -> bool {
    use Rel::*;
    matches!(
        (login, rel),
        ("xinfang.he" | "admin", _)
            | (
                "wangge.li" | "shequ.chen" | "jiedao.liu" | "lingdao.yang",
                InScope
            )
            | ("bumen.zhang", DispatchedTo)
            | ("lingdao.xu" | "cun.huang", OutOfScope | DispatchedTo)
    )
}

struct World {
    router: axum::Router,
    cases: Vec<(Rel, i64, String)>,
    tokens: Vec<(&'static str, String)>,
    /// An API token of each login with the `read` scope only.
    read_tokens: Vec<(&'static str, String)>,
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut b = Request::builder()
        .method(method.to_uppercase().as_str())
        .uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let s = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (s, String::from_utf8_lossy(&bytes).to_string())
}

fn filing(unit: &str, phone: &str, title: &str) -> Value {
    json!({"channel": "web", "unit": unit, "title": title, "content": format!("{title}，请处理。"),
           "reporter": {"name": "赵六", "phone": phone}})
}

async fn world(db: &testing::TestDb) -> World {
    let app = App::new(
        db.store.clone(),
        Arc::new(FixedClock::new(1_795_395_600_000)),
    )
    .await
    .unwrap()
    .with_search(suqiu_app::SearchIndex::in_memory().unwrap());
    app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    let router = suqiu_web::router(app.clone());
    let mut tokens = Vec::new();
    for l in LOGINS.iter().chain(["zhen.tang"].iter()) {
        let (s, b) = call(
            &router,
            "post",
            "/api/v1/auth/login",
            None,
            Some(json!({"login": l, "password": orgconfig::DEMO_PASSWORD})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let t: Value = serde_json::from_str(&b).unwrap();
        tokens.push((*l, t["token"].as_str().unwrap().to_string()));
    }
    let tok = |l: &str| tokens.iter().find(|(x, _)| *x == l).unwrap().1.clone();
    let mut read_tokens = Vec::new();
    for l in LOGINS {
        let (s, b) = call(
            &router,
            "post",
            "/api/v1/me/tokens",
            Some(&tok(l)),
            Some(json!({"name": "只读", "scopes": ["read"]})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let t: Value = serde_json::from_str(&b).unwrap();
        read_tokens.push((l, t["token"].as_str().unwrap().to_string()));
    }
    let file = |v: Value| {
        let router = router.clone();
        async move {
            let (s, b) = call(&router, "post", "/api/v1/cases", None, Some(v)).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            let v: Value = serde_json::from_str(&b).unwrap();
            (
                v["id"].as_i64().unwrap(),
                v["tracking_code"].as_str().unwrap().to_string(),
            )
        }
    };
    let (c_in, k_in) = file(filing("430799001002-01", "13700000001", "路灯不亮")).await;
    let (c_out, k_out) = file(filing("430799004001-01", "13700000002", "村道塌方")).await;
    let (c_disp, k_disp) = file(filing("430799004001-02", "13700000003", "自来水浑浊")).await;
    let mut acc = filing("430799001002-02", "13700009999", "举报白沙街道违规收费");
    acc["content"] = json!("秘密举报材料：白沙街道违规收费");
    acc["accused"] = json!({"unit": "430799001"});
    let (c_acc, k_acc) = file(acc).await;
    // 金霞村 → 金霞镇 → dispatched to 住建局 (430799-D01)
    for (login, cmd, body) in [
        (
            "cun.huang",
            "triage",
            json!({"urgency": "urgent", "category": "民生保障"}),
        ),
        ("cun.huang", "report", json!({})),
        ("zhen.tang", "sign", json!({})),
        (
            "zhen.tang",
            "dispatch",
            json!({"lead": "430799-D01", "difficulty": "ordinary"}),
        ),
    ] {
        let (s, b) = call(
            &router,
            "post",
            &format!("/api/v1/cases/{c_disp}/{cmd}"),
            Some(&tok(login)),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{login} {cmd}: {b}");
    }
    app.flush_search().await;
    World {
        router,
        cases: vec![
            (Rel::InScope, c_in, k_in),
            (Rel::OutOfScope, c_out, k_out),
            (Rel::DispatchedTo, c_disp, k_disp),
            (Rel::Accusation, c_acc, k_acc),
        ],
        tokens,
        read_tokens,
    }
}

fn concrete(path: &str, id: i64, code: &str) -> String {
    path.replace("{id}", &id.to_string())
        .replace("{tracking_code}", code)
        .replace("{queue}", "triage")
        .replace("{login}", "bumen.wu")
        .replace("{token_id}", "0123456789ab")
        .replace("{notification_id}", "1")
        .replace("{group}", "g1")
        .replace("{photo}", "1")
        .replace("{kind}", "received")
        .replace("{audience}", "resident")
        .replace("{lang}", "zh")
        .replace("{code}", "NO-SUCH-UNIT")
        .replace("/api/v1/search", "/api/v1/search?q=%E6%94%B6%E8%B4%B9")
}

async fn matrix(db: testing::TestDb) {
    let w = world(&db).await;
    let routes = suqiu_web::routes();
    let mut checked = 0;
    for (method, path) in &routes {
        let r = rule(method, path)
            .unwrap_or_else(|| panic!("no authorisation rule for {method} {path}"));
        if r == Rule::OwnSession {
            continue;
        }
        for (rel, id, code) in &w.cases {
            let url = concrete(path, *id, code);
            let body = matches!(*method, "post" | "put").then(|| json!({}));
            // without a login
            let (s, b) = call(&w.router, method, &url, None, body.clone()).await;
            assert!(!s.is_server_error(), "{method} {url} anonymous: {s} {b}");
            if matches!(r, Rule::Staff | Rule::Case | Rule::Admin) {
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {url} anonymous: {b}");
            }
            for (login, token) in w.tokens.iter().filter(|(l, _)| LOGINS.contains(l)) {
                let (s, b) = call(&w.router, method, &url, Some(token), body.clone()).await;
                checked += 1;
                assert!(!s.is_server_error(), "{method} {url} as {login}: {s} {b}");
                match r {
                    Rule::Case if !visible(login, *rel) => {
                        // not found, or a refusal of the request's own fields that
                        // says nothing about the case (the same for any id)
                        let field_only = s == StatusCode::UNPROCESSABLE_ENTITY
                            && (b.contains("\"field_missing\"") || b.contains("\"invalid_value\""));
                        assert!(
                            (s == StatusCode::NOT_FOUND && b.contains("case_not_found"))
                                || field_only,
                            "{method} {url} as {login} ({rel:?}) must not see it: {s} {b}"
                        );
                    }
                    Rule::Case => assert!(
                        !b.contains("case_not_found"),
                        "{method} {url} as {login} ({rel:?}) should see it: {b}"
                    ),
                    Rule::Admin if *login != "admin" => {
                        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {url} as {login}: {b}")
                    }
                    Rule::Admin => {
                        assert_ne!(s, StatusCode::FORBIDDEN, "{method} {url} as admin: {b}")
                    }
                    Rule::Staff | Rule::Public => assert_ne!(
                        s,
                        StatusCode::UNAUTHORIZED,
                        "{method} {url} as {login}: {b}"
                    ),
                    Rule::OwnSession => {}
                }
                // a read-only API token of the same person: the same answer
                // where the route needs only `read`, else refused (public
                // routes ignore credentials, but filing with them is staff filing)
                let reads_credentials =
                    r != Rule::Public || (*method, path.as_str()) == ("post", "/api/v1/cases");
                if matches!(rel, Rel::InScope) && reads_credentials {
                    let read = &w.read_tokens.iter().find(|(l, _)| l == login).unwrap().1;
                    let (s2, b2) = call(&w.router, method, &url, Some(read), body.clone()).await;
                    match suqiu_web::required_scope(method, path) {
                        Some(suqiu_app::tokens::Scope::Read) => {
                            assert_eq!(s2, s, "{method} {url} with {login}'s read token: {b2}")
                        }
                        _ => assert!(
                            s2 == StatusCode::FORBIDDEN
                                && (b2.contains("token_scope") || b2.contains("token_not_allowed")),
                            "{method} {url} with {login}'s read token must be refused: {s2} {b2}"
                        ),
                    }
                }
                // the accusation's material and reporter never reach the accused chain
                // through staff routes (public tracking needs the resident's own secret code)
                if r != Rule::Public
                    && matches!(
                        *login,
                        "wangge.li" | "shequ.chen" | "jiedao.liu" | "lingdao.yang"
                    )
                {
                    assert!(
                        !b.contains("13700009999")
                            && !b.contains("秘密举报材料")
                            && !b.contains("举报白沙街道"),
                        "{method} {url} as {login} leaks the accusation: {b}"
                    );
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} combinations checked");
}

#[tokio::test]
async fn authorisation_matrix_sqlite() {
    matrix(testing::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn authorisation_matrix_postgres() {
    if let Some(server) = testing::postgres_server_url() {
        matrix(testing::postgres(&server).await.unwrap()).await;
    }
}
