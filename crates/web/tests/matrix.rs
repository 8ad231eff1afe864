//! The authorisation matrix, generated from the route tables (the API's and
//! Open311's): every endpoint × every demo role × (case in scope, out of
//! scope, dispatched to the unit, an accusation against the unit, an
//! accusation against the viewer, a visible case linked to a hidden one).
//! A route without a rule here fails the test. Beyond the status of each
//! answer, no answer names a case its viewer may not see (title, tracking
//! code, id in a list, a related link or a timeline line), and the derived
//! surfaces are walked on their own: every queue and list followed cursor by
//! cursor, search totals, hot topics, the notifications of the accusations,
//! Open311's public list. The pages have their own matrix (crates/pages/tests).

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
    /// Authenticated by an Open311 api_key, never by a staff session.
    Key,
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
        ("get", "/metrics") => Admin,
        ("post", p) if p.starts_with("/api/v1/admin/") => Admin,
        ("get", "/api/v1/admin/audit" | "/api/v1/admin/templates") => Admin,
        ("put" | "delete", "/api/v1/admin/templates/{kind}/{audience}/{lang}") => Admin,
        ("delete", "/api/v1/admin/units/{code}") => Admin,
        ("post", "/api/v1/auth/logout" | "/api/v1/auth/logout-all") => OwnSession,
        // Open311: public reads of public requests; filing needs its own api_key
        ("get", p) if p.starts_with("/open311/v2/") => Public,
        ("post", "/open311/v2/requests.{format}") => Key,
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rel {
    InScope,
    OutOfScope,
    DispatchedTo,
    /// Against 白沙街道, the unit of the street, its communities and grids.
    Accusation,
    /// Against shequ.chen (丹阳社区), filed in that community.
    AgainstViewer,
    /// In scope, filed by the same resident as a hidden accusation: linked to it.
    Linked,
}

/// Who may see which case (by the rules of DOMAIN.md §7 and §10).
fn visible(login: &str, rel: Rel) -> bool {
    use Rel::*;
    matches!(
        (login, rel),
        ("xinfang.he" | "admin", _)
            | (
                "wangge.li" | "shequ.chen" | "jiedao.liu" | "lingdao.yang",
                InScope | Linked
            )
            | ("wangge.li" | "jiedao.liu" | "lingdao.yang", AgainstViewer)
            | ("bumen.zhang", DispatchedTo)
            | ("lingdao.xu" | "cun.huang", OutOfScope | DispatchedTo)
    )
}

struct World {
    app: App,
    router: axum::Router,
    cases: Vec<(Rel, i64, String)>,
    /// The title of each case (unique: it must not appear where the case is hidden).
    titles: Vec<(i64, String)>,
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
    // as `suqiu serve` runs: cases linked at intake
    let app = app
        .with_related(suqiu_app::related::RelatedConfig::default())
        .await
        .unwrap();
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
    acc["content"] = json!(
        "秘密举报材料：白沙街道违规收费。另外小区井盖松动多日，夜间行人容易踩空受伤，无人维修。"
    );
    acc["accused"] = json!({"unit": "430799001"});
    let (c_acc, k_acc) = file(acc).await;
    let mut against = filing("430799001002-01", "13700008888", "反映陈主任吃拿卡要");
    against["content"] = json!(
        "秘密举报材料：社区陈主任吃拿卡要。另外楼道堆放杂物长期无人清理，消防通道堵塞，很危险。"
    );
    against["accused"] = json!({"person": "shequ.chen"});
    let (c_against, k_against) = file(against).await;
    // the same two residents file again, about something the chain may see:
    // the new cases are linked to their accusations (同一群众重复反映)
    let mut link1 = filing("430799001002-01", "13700008888", "楼道堆放杂物");
    link1["content"] = json!("楼道堆放杂物长期无人清理，消防通道堵塞，很危险，请处理。");
    let (c_link1, k_link1) = file(link1).await;
    let mut link2 = filing("430799001002-01", "13700009999", "小区井盖松动");
    link2["content"] = json!("小区井盖松动多日，夜间行人容易踩空受伤，无人维修，请处理。");
    let (c_link2, k_link2) = file(link2).await;
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
        app,
        router,
        cases: vec![
            (Rel::InScope, c_in, k_in),
            (Rel::OutOfScope, c_out, k_out),
            (Rel::DispatchedTo, c_disp, k_disp),
            (Rel::Accusation, c_acc, k_acc),
            (Rel::AgainstViewer, c_against, k_against),
            (Rel::Linked, c_link1, k_link1),
            (Rel::Linked, c_link2, k_link2),
        ],
        titles: vec![
            (c_in, "路灯不亮".into()),
            (c_out, "村道塌方".into()),
            (c_disp, "自来水浑浊".into()),
            (c_acc, "举报白沙街道违规收费".into()),
            (c_against, "反映陈主任吃拿卡要".into()),
            (c_link1, "楼道堆放杂物".into()),
            (c_link2, "小区井盖松动".into()),
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
        .replace("{format}", "json")
        .replace("{service_code}", "infrastructure")
        .replace("{service_request_id}", &id.to_string())
        .replace("{token}", code)
}

/// A query component, percent-encoded.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The concrete URLs of a route for a case: every queue of the queue route,
/// a search for every case's title.
fn urls(path: &str, id: i64, code: &str, titles: &[(i64, String)]) -> Vec<String> {
    if path.contains("{queue}") {
        return suqiu_domain::case::Queue::ALL
            .iter()
            .map(|q| concrete(&path.replace("{queue}", q.as_str()), id, code))
            .collect();
    }
    if path == "/api/v1/search" {
        return titles
            .iter()
            .map(|(_, t)| format!("/api/v1/search?q={}", enc(t)))
            .chain(["/api/v1/search?q=%E6%94%B6%E8%B4%B9".to_string()])
            .collect();
    }
    if path == "/api/v1/ledger/export" {
        // the CSV export, so that the check of every answer reads it
        return vec![format!("{path}?format=csv"), path.to_string()];
    }
    vec![concrete(path, id, code)]
}

/// Where an answer names a case: its title, its tracking code, `#id` (a
/// timeline line), `"case_id":id` (a related link, a notification), and in
/// lists `"id":id`.
fn names_case(body: &str, id: i64, title: &str, code: &str, list: bool) -> Option<&'static str> {
    let n = id.to_string();
    let followed = |pat: String| {
        body.match_indices(&pat)
            .any(|(i, m)| !body[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    if body.contains(title) {
        Some("its title")
    } else if body.contains(code) {
        Some("its tracking code")
    } else if followed(format!("#{n}")) {
        Some("#id")
    } else if followed(format!("\"case_id\":{n}")) {
        Some("case_id")
    } else if list && followed(format!("\"id\":{n}")) {
        Some("its id in a list")
    } else {
        None
    }
}

/// Routes that answer lists of cases.
fn lists_cases(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/cases"
            | "/api/v1/queues/{queue}"
            | "/api/v1/search"
            | "/api/v1/cases/{id}/related"
    )
}

async fn matrix(db: testing::TestDb) {
    let w = world(&db).await;
    let mut routes = suqiu_web::routes();
    routes.extend(
        suqiu_web::open311::OPEN311_ROUTES
            .iter()
            .map(|(m, p)| (*m, p.to_string())),
    );
    let mut checked = 0;
    let code_of = |id: i64| w.cases.iter().find(|c| c.1 == id).unwrap().2.clone();
    let rel_of = |id: i64| w.cases.iter().find(|c| c.1 == id).unwrap().0;
    for (method, path) in &routes {
        let r = rule(method, path)
            .unwrap_or_else(|| panic!("no authorisation rule for {method} {path}"));
        if r == Rule::OwnSession {
            continue;
        }
        for ((rel, _, _), url) in w.cases.iter().flat_map(|c| {
            urls(path, c.1, &c.2, &w.titles)
                .into_iter()
                .map(move |u| (c, u))
        }) {
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
                    Rule::Key => assert!(
                        s.is_client_error() && s != StatusCode::NOT_FOUND,
                        "{method} {url} as {login}: a staff session is not an api_key: {s} {b}"
                    ),
                }
                // no answer names a case its viewer may not see (public
                // routes answer the same to everyone and are checked below)
                if r != Rule::Public || (*method, path.as_str()) == ("post", "/api/v1/cases") {
                    for (hid, title) in w.titles.iter().filter(|(h, _)| !visible(login, rel_of(*h)))
                    {
                        let list = s.is_success() && lists_cases(path);
                        if let Some(how) = names_case(&b, *hid, title, &code_of(*hid), list) {
                            panic!(
                                "{method} {url} as {login} names hidden case {hid} ({:?}) by {how}: {b}",
                                rel_of(*hid)
                            );
                        }
                    }
                }
                // a read-only API token of the same person: the same answer
                // where the route needs only `read`, else refused (public
                // routes ignore credentials, but filing with them is staff filing)
                let reads_credentials = !matches!(r, Rule::Public | Rule::Key)
                    || (*method, path.as_str()) == ("post", "/api/v1/cases");
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
                // the accusations' material and reporters never reach the accused chain
                // through staff routes (public tracking needs the resident's own secret code)
                if r != Rule::Public
                    && matches!(
                        *login,
                        "wangge.li" | "shequ.chen" | "jiedao.liu" | "lingdao.yang"
                    )
                {
                    assert!(
                        !b.contains("13700009999")
                            && !b.contains("秘密举报材料：白沙")
                            && !b.contains("举报白沙街道"),
                        "{method} {url} as {login} leaks the accusation: {b}"
                    );
                }
                if r != Rule::Public && *login == "shequ.chen" {
                    assert!(
                        !b.contains("13700008888") && !b.contains("吃拿卡要"),
                        "{method} {url} as {login} leaks the accusation against them: {b}"
                    );
                }
                // the public routes (Open311, the API's) never list an
                // accusation nor read one by its number
                if r == Rule::Public
                    && !path.contains("{tracking_code}")
                    && !path.contains("{token}")
                {
                    for (hid, title) in w
                        .titles
                        .iter()
                        .filter(|(h, _)| matches!(rel_of(*h), Rel::Accusation | Rel::AgainstViewer))
                    {
                        let list = path.starts_with("/open311/v2/requests");
                        assert!(
                            names_case(&b, *hid, title, &code_of(*hid), false).is_none()
                                && !(list
                                    && b.contains(&format!("\"service_request_id\":\"{hid}\""))),
                            "{method} {url} names accusation {hid}: {b}"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} combinations checked");
    derived_surfaces(&w).await;
}

/// The ids of the items of a list answer.
fn item_ids(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// Lists and queues walked cursor by cursor, search totals, hot topics,
/// related links, the accusations' notifications, Open311's public list.
async fn derived_surfaces(w: &World) {
    let rel_of = |id: i64| w.cases.iter().find(|c| c.1 == id).unwrap().0;
    let id_of = |rel: Rel| w.cases.iter().find(|c| c.0 == rel).unwrap().1;
    let get = |url: String, token: String| async move {
        let (s, b) = call(&w.router, "get", &url, Some(&token), None).await;
        assert_eq!(s, StatusCode::OK, "{url}: {b}");
        serde_json::from_str::<Value>(&b).unwrap()
    };
    // the links exist (so hiding them is tested): the administrator sees
    // each linked case's link to its accusation
    let admin = w
        .tokens
        .iter()
        .find(|(l, _)| *l == "admin")
        .unwrap()
        .1
        .clone();
    for (linked, accusation) in [
        (w.cases[5].1, id_of(Rel::AgainstViewer)),
        (w.cases[6].1, id_of(Rel::Accusation)),
    ] {
        let v = get(format!("/api/v1/cases/{linked}/related"), admin.clone()).await;
        assert!(
            v.to_string().contains(&format!("\"case_id\":{accusation}"))
                || item_ids(&v, "items").contains(&accusation),
            "case {linked} should be linked to {accusation}: {v}"
        );
    }
    // the export is read by the check of every answer: it does carry titles
    let (s, csv) = call(
        &w.router,
        "get",
        "/api/v1/ledger/export?format=csv",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        w.titles.iter().all(|(_, t)| csv.contains(t.as_str())),
        "{csv}"
    );
    for (login, token) in w.tokens.iter().filter(|(l, _)| LOGINS.contains(l)) {
        let mine: std::collections::BTreeSet<i64> = w
            .cases
            .iter()
            .filter(|c| visible(login, c.0))
            .map(|c| c.1)
            .collect();
        // the case list, one case per page: exactly the visible cases
        let mut seen = std::collections::BTreeSet::new();
        let mut url = "/api/v1/cases?limit=1".to_string();
        loop {
            let v = get(url.clone(), token.clone()).await;
            seen.extend(item_ids(&v, "items"));
            match v["next_cursor"].as_str() {
                Some(c) => url = format!("/api/v1/cases?limit=1&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, mine, "the case list of {login}, cursor by cursor");
        // every queue, one case per page: only visible cases
        for q in suqiu_domain::case::Queue::ALL {
            let base = format!("/api/v1/queues/{}?limit=1", q.as_str());
            let mut url = base.clone();
            for _ in 0..20 {
                let v = get(url.clone(), token.clone()).await;
                for id in item_ids(&v, "items") {
                    assert!(mine.contains(&id), "queue {q:?} of {login} shows case {id}");
                }
                match v["next_cursor"].as_str() {
                    Some(c) => url = format!("{base}&after={c}"),
                    None => break,
                }
            }
        }
        // search: the total counts only what the viewer may see
        for (id, title) in &w.titles {
            let v = get(format!("/api/v1/search?q={}", enc(title)), token.clone()).await;
            let hits = item_ids(&v, "hits");
            assert_eq!(
                v["total"].as_u64().unwrap() as usize,
                hits.len(),
                "search total of {login} for {title}: {v}"
            );
            assert!(hits.iter().all(|h| mine.contains(h)), "{login}: {v}");
            assert_eq!(
                hits.contains(id),
                mine.contains(id),
                "{login} searching {title}: {v}"
            );
        }
        // hot topics: no hidden case in a topic, and counts of visible cases only
        let v = get("/api/v1/topics?days=30".into(), token.clone()).await;
        let text = v.to_string();
        for (hid, title) in w.titles.iter().filter(|(h, _)| !mine.contains(h)) {
            assert!(
                names_case(
                    &text,
                    *hid,
                    title,
                    &w.cases.iter().find(|c| c.1 == *hid).unwrap().2,
                    true
                )
                .is_none(),
                "topics of {login} name hidden case {hid} ({:?}): {v}",
                rel_of(*hid)
            );
        }
    }
    // notifications of the accusations never go to the accused unit's
    // subtree nor to the accused person (or their unit, which reaches them)
    for (rel, shielded) in [
        (Rel::Accusation, vec!["\"430799001"]),
        (
            Rel::AgainstViewer,
            vec!["\"430799001002\"", "\"shequ.chen\""],
        ),
    ] {
        let n = w.app.store().notifications(id_of(rel)).await.unwrap();
        assert!(!n.is_empty(), "{rel:?}: someone is told");
        for x in &n {
            assert!(
                !shielded.iter().any(|s| x.recipient.contains(s)),
                "{rel:?}: notification to {}: {}",
                x.recipient,
                x.text_zh
            );
        }
    }
    // Open311's public list shows the public request and no accusation
    let (s, b) = call(&w.router, "get", "/open311/v2/requests.json", None, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.contains("路灯不亮"), "{b}");
    for rel in [Rel::Accusation, Rel::AgainstViewer] {
        let id = id_of(rel);
        assert!(
            !b.contains(&format!("\"service_request_id\":\"{id}\"")),
            "{b}"
        );
        let (s, _) = call(
            &w.router,
            "get",
            &format!("/open311/v2/requests/{id}.json"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{rel:?} by number");
    }
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
