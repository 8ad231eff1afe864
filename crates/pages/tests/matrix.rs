//! The pages' authorisation matrix, generated from `suqiu_pages::ROUTES`:
//! every page route × every demo role (and no login) × (a case in scope, out
//! of scope, dispatched to the unit, an accusation against the viewer's unit,
//! an accusation against the viewer, a visible case linked to a hidden one).
//! A route without a rule here fails the test. Beyond each answer's status,
//! no page names a case its viewer may not see: its title, tracking code,
//! `#id` or a link to it (lists, queues, related links, timelines, topics,
//! the dashboard, the merge form).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::{location, Client, Site};
use suqiu_domain::case::IntakeInput;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Anyone (the resident's pages, login, assets).
    Public,
    /// Any logged-in staff member; others are sent to the login page.
    Staff,
    /// Staff, about one case: "not found" unless the viewer may see it.
    Case,
    /// Administrators only (403 for other staff).
    Admin,
    /// Ends the caller's own session: checked by the login test.
    OwnSession,
}

fn rule(method: &str, path: &str) -> Option<Rule> {
    use Rule::*;
    Some(match (method, path) {
        (
            _,
            "/"
            | "/report"
            | "/track"
            | "/login"
            | "/assets/{name}"
            | "/favicon.ico"
            | "/track/{code}/rate"
            | "/track/{code}/photos/{n}"
            | "/track/{code}/notify",
        ) => Public,
        ("post", "/logout") => OwnSession,
        (
            _,
            "/staff"
            | "/staff/queue/{queue}"
            | "/staff/cases"
            | "/staff/new"
            | "/staff/dashboard"
            | "/staff/topics",
        ) => Staff,
        (
            _,
            "/staff/cases/{id}" | "/staff/cases/{id}/{command}" | "/staff/cases/{id}/photos/{n}",
        ) => Case,
        (_, p) if p.starts_with("/staff/admin") => Admin,
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
    /// Against 白沙街道 (the street of the chain's communities and grids).
    Accusation,
    /// Against shequ.chen, filed in their community.
    AgainstViewer,
    /// In scope, by the resident of a hidden accusation, about a matter it repeats.
    Linked,
}

/// Who may see which case (DOMAIN.md §7, §10): the same table as the API's matrix.
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

struct Case {
    rel: Rel,
    id: i64,
    code: String,
    title: &'static str,
}

fn filing(unit: &str, phone: &str, title: &str, content: &str) -> IntakeInput {
    IntakeInput {
        channel: Some("web".into()),
        unit: Some(unit.into()),
        title: Some(title.into()),
        content: Some(content.into()),
        reporter_name: Some("赵六".into()),
        reporter_phone: Some(phone.into()),
        ..Default::default()
    }
}

async fn cases(site: &Site) -> Vec<Case> {
    let app = &site.app;
    let mut out = Vec::new();
    let plain: [(Rel, &str, &str, &'static str, &str); 3] = [
        (
            Rel::InScope,
            "430799001002-01",
            "13700000001",
            "幸福路七号路灯闪烁",
            "幸福路七号路灯闪烁，请处理。",
        ),
        (
            Rel::OutOfScope,
            "430799004001-01",
            "13700000002",
            "村道塌方",
            "村道塌方，请处理。",
        ),
        (
            Rel::DispatchedTo,
            "430799004001-02",
            "13700000003",
            "自来水浑浊",
            "自来水浑浊，请处理。",
        ),
    ];
    for (rel, unit, phone, title, content) in plain {
        let r = app
            .file_case(&filing(unit, phone, title, content), None)
            .await
            .unwrap();
        out.push(Case {
            rel,
            id: r.id,
            code: r.tracking_code,
            title,
        });
    }
    let mut acc = filing(
        "430799001002-02",
        "13700009999",
        "举报白沙街道违规收费",
        "秘密举报材料：白沙街道违规收费。另外小区井盖松动多日，夜间行人容易踩空受伤，无人维修。",
    );
    acc.accused_unit = Some("430799001".into());
    let r = app.file_case(&acc, None).await.unwrap();
    out.push(Case {
        rel: Rel::Accusation,
        id: r.id,
        code: r.tracking_code,
        title: "举报白沙街道违规收费",
    });
    let mut against = filing(
        "430799001002-01",
        "13700008888",
        "反映陈主任吃拿卡要",
        "秘密举报材料：社区陈主任吃拿卡要。另外楼道堆放杂物长期无人清理，消防通道堵塞，很危险。",
    );
    against.accused_person = Some("shequ.chen".into());
    let r = app.file_case(&against, None).await.unwrap();
    out.push(Case {
        rel: Rel::AgainstViewer,
        id: r.id,
        code: r.tracking_code,
        title: "反映陈主任吃拿卡要",
    });
    for (phone, title, content) in [
        (
            "13700008888",
            "楼道堆放杂物",
            "楼道堆放杂物长期无人清理，消防通道堵塞，很危险，请处理。",
        ),
        (
            "13700009999",
            "小区井盖松动",
            "小区井盖松动多日，夜间行人容易踩空受伤，无人维修，请处理。",
        ),
    ] {
        let r = app
            .file_case(&filing("430799001002-01", phone, title, content), None)
            .await
            .unwrap();
        out.push(Case {
            rel: Rel::Linked,
            id: r.id,
            code: r.tracking_code,
            title,
        });
    }
    // 金霞村 → 金霞镇 → dispatched to 住建局 (430799-D01)
    let disp = out[2].id;
    for (login, cmd, body) in [
        (
            "cun.huang",
            "triage",
            serde_json::json!({"urgency": "urgent", "category": "民生保障"}),
        ),
        ("cun.huang", "report", serde_json::json!({})),
        ("zhen.tang", "sign", serde_json::json!({})),
        (
            "zhen.tang",
            "dispatch",
            serde_json::json!({"lead": "430799-D01", "difficulty": "ordinary"}),
        ),
    ] {
        let u = app.staff_by_login(login).await.unwrap();
        let c = suqiu_app::commands::parse(cmd, &body, app.now()).unwrap();
        app.execute(&u, disp, None, &c).await.unwrap();
    }
    app.flush_search().await;
    out
}

fn concrete(path: &str, c: &Case) -> Vec<String> {
    let base = path
        .replace("{id}", &c.id.to_string())
        .replace("{code}", &c.code)
        .replace("{n}", "1")
        .replace("{login}", "bumen.wu")
        .replace("{action}", "logout-all")
        .replace("{kind}", "received")
        .replace("{audience}", "resident")
        .replace("{lang}", "zh")
        .replace("{name}", "app-8.css");
    if base.contains("{queue}") {
        return suqiu_domain::case::Queue::ALL
            .iter()
            .map(|q| base.replace("{queue}", q.as_str()))
            .collect();
    }
    if base.contains("{command}") {
        return suqiu_app::commands::NAMES
            .iter()
            .chain(["merge", "unmask"].iter())
            .map(|n| base.replace("{command}", n))
            .collect();
    }
    vec![base]
}

/// How a page names a case: its title, tracking code, `#id` or a link to it.
fn names_case(body: &str, c: &Case) -> Option<&'static str> {
    let n = c.id.to_string();
    let followed = |pat: &str| {
        body.match_indices(pat).any(|(i, m)| {
            // "#1" in "#1a7f37" (a colour) or "&#39;" (an entity) is not a case
            !body[i + m.len()..].starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && !body[..i].ends_with('&')
        })
    };
    if body.contains(c.title) {
        Some("its title")
    } else if body.contains(&c.code) {
        Some("its tracking code")
    } else if followed(&format!("#{n}")) {
        Some("#id")
    } else if followed(&format!("/staff/cases/{n}")) {
        Some("a link")
    } else {
        None
    }
}

/// The words a reader sees (text and the `title`, `placeholder`, `alt`,
/// `aria-label` and button `value` attributes) that are English: three or
/// more Latin letters, not part of a code, login, address or number, and
/// not one of the names Chinese pages use as they are (JPEG, PDF …).
/// Elements the page marks as not to be translated (`translate="no"`:
/// commands, file formats, logins) or as written in another language
/// (`lang="en"`: an English notification template) are skipped whole.
fn english_words(html: &str) -> Vec<String> {
    const AS_IS: &[&str] = &[
        "English", "JPEG", "PNG", "WebP", "PDF", "Excel", "CSV", "XLSX", "TOML", "JSON",
        "Markdown", "SMS", "API", "Open311", "WeCom", "DingTalk", "GPS", "IP", "ID",
    ];
    let mut text = String::new();
    let mut rest = html;
    // drop scripts and styles
    while let Some(i) = rest.find('<') {
        text.push_str(&rest[..i]);
        text.push(' ');
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e + 1);
        let tag = &rest[i..tag_end];
        for attr in ["title=\"", "placeholder=\"", "alt=\"", "aria-label=\""] {
            if let Some(a) = tag.find(attr) {
                let v = &tag[a + attr.len()..];
                text.push_str(&v[..v.find('"').unwrap_or(v.len())]);
                text.push(' ');
            }
        }
        rest = &rest[tag_end..];
        let other_language = tag
            .find(" lang=\"")
            .is_some_and(|a| !tag[a + 7..].starts_with("zh"));
        if !tag.starts_with("</") && (tag.contains(r#" translate="no""#) || other_language) {
            rest = after_element(tag, rest);
            continue;
        }
        for skip in ["<script", "<style"] {
            if tag.starts_with(skip) {
                let close = format!("</{}", &skip[1..]);
                rest = rest.find(&close).map_or("", |c| &rest[c..]);
            }
        }
    }
    text.push_str(rest);
    let text = text
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    let mut out = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || !c.is_ascii()) {
        // a template's placeholder ({tracking_code}) is a name, not a word
        if token.starts_with('{') && token.ends_with('}') {
            continue;
        }
        let token = token.trim_matches(|c: char| c.is_ascii_punctuation());
        if token.len() < 3
            || token
                .chars()
                .any(|c| c.is_ascii_digit() || "._@/:-=#&".contains(c))
            || !token.chars().any(|c| c.is_ascii_alphabetic())
            || AS_IS.contains(&token)
        {
            continue;
        }
        out.push(token.to_string());
    }
    out
}

/// What follows the element `tag` opens (`rest` starts after the tag),
/// elements of the same name nested in it included.
fn after_element<'a>(tag: &str, rest: &'a str) -> &'a str {
    let name: String = tag[1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    if tag.ends_with("/>") || ["input", "br", "img", "meta", "link"].contains(&name.as_str()) {
        return rest;
    }
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut depth = 1;
    let mut at = 0;
    while depth > 0 {
        let next_close = rest[at..].find(&close).map(|i| at + i);
        let next_open = rest[at..]
            .find(&open)
            .map(|i| at + i)
            .filter(|&i| rest[i + open.len()..].starts_with([' ', '>']));
        match (next_open, next_close) {
            (Some(o), Some(c)) if o < c => {
                depth += 1;
                at = o + open.len();
            }
            (_, Some(c)) => {
                depth -= 1;
                at = c + close.len();
            }
            (_, None) => return "",
        }
    }
    &rest[at..]
}

#[test]
fn english_words_are_found_and_names_pass() {
    let words = english_words(
        r#"<p title="Back">返回 English lingdao.yang SQ-2026-AB12 PDF</p><script>var x = 1;</script><b>case</b> &amp; 件"#,
    );
    assert_eq!(words, ["Back", "case"]);
    let marked = english_words(
        r#"<p>用 <code translate="no">suqiu audit verify</code> 核对</p><div lang="en"><div>Your case</div> was</div><div lang="zh-CN">Left</div>"#,
    );
    assert_eq!(marked, ["Left"]);
    assert_eq!(
        english_words("您的诉求{tracking_code}已{status}，see"),
        ["see"]
    );
}

async fn matrix(site: Site) {
    let cases = cases(&site).await;
    let mut clients = Vec::new();
    for login in LOGINS {
        let mut c = Client::new(&site);
        c.login(login).await;
        clients.push((login, c));
    }
    let mut checked = 0;
    let mut english = std::collections::BTreeSet::new();
    for (method, path) in suqiu_pages::ROUTES {
        let r = rule(method, path)
            .unwrap_or_else(|| panic!("no authorisation rule for {method} {path}"));
        if r == Rule::OwnSession {
            continue;
        }
        for case in &cases {
            for url in concrete(path, case) {
                // without a login
                let mut anon = Client::new(&site);
                anon.get("/login").await;
                let a = if *method == "get" {
                    anon.get(&url).await
                } else {
                    anon.post(&url, &[]).await
                };
                assert!(
                    !a.status.is_server_error(),
                    "{method} {url} anonymous: {}",
                    a.status
                );
                if r != Rule::Public {
                    assert!(
                        a.status == StatusCode::SEE_OTHER && location(&a).starts_with("/login"),
                        "{method} {url} anonymous: {} {}",
                        a.status,
                        location(&a)
                    );
                }
                for (login, client) in clients.iter_mut() {
                    let res = if *method == "get" {
                        client.get(&url).await
                    } else {
                        client.post(&url, &[]).await
                    };
                    checked += 1;
                    let (s, b) = (res.status, &res.body);
                    if *method == "get" && b.trim_start().starts_with('<') {
                        for word in english_words(b) {
                            english.insert(format!("{path} as {login}: {word}"));
                        }
                    }
                    assert!(!s.is_server_error(), "{method} {url} as {login}: {s}");
                    match r {
                        Rule::Case if !visible(login, case.rel) => assert_eq!(
                            s,
                            StatusCode::NOT_FOUND,
                            "{method} {url} as {login} ({:?}) must not see it",
                            case.rel
                        ),
                        Rule::Case => assert!(
                            !(s == StatusCode::NOT_FOUND && b.contains("没有找到这件诉求")),
                            "{method} {url} as {login} ({:?}) should see it",
                            case.rel
                        ),
                        Rule::Admin if *login != "admin" => {
                            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {url} as {login}")
                        }
                        Rule::Admin => {
                            assert_ne!(s, StatusCode::FORBIDDEN, "{method} {url} as admin")
                        }
                        Rule::Staff => assert!(
                            !(s == StatusCode::SEE_OTHER && location(&res).starts_with("/login")),
                            "{method} {url} as {login}: sent to the login page"
                        ),
                        Rule::Public | Rule::OwnSession => {}
                    }
                    // no staff page names a case its viewer may not see (the
                    // resident's pages answer by the resident's own code)
                    if r != Rule::Public {
                        for hidden in cases.iter().filter(|c| !visible(login, c.rel)) {
                            // the "not found" page of the case asked for links
                            // to the address typed (its language switch)
                            let found = names_case(b, hidden).filter(|how| {
                                !(hidden.id == case.id
                                    && s == StatusCode::NOT_FOUND
                                    && *how == "a link")
                            });
                            if let Some(how) = found {
                                panic!(
                                    "{method} {url} as {login} names hidden case {} ({:?}) by {how}",
                                    hidden.id, hidden.rel
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 3000, "only {checked} combinations checked");
    assert!(
        english.is_empty(),
        "English words on Chinese pages ({}):\n{}",
        english.len(),
        english.into_iter().collect::<Vec<_>>().join("\n")
    );
    // the links exist (so hiding them is tested): the petition bureau sees
    // each linked case's link to its accusation
    let bureau = &mut clients
        .iter_mut()
        .find(|(l, _)| *l == "xinfang.he")
        .unwrap()
        .1;
    for (linked, accusation) in [(&cases[5], &cases[4]), (&cases[6], &cases[3])] {
        let page = bureau
            .get(&format!("/staff/cases/{}", linked.id))
            .await
            .body;
        assert!(
            names_case(&page, accusation).is_some(),
            "case {} should show its link to {}",
            linked.id,
            accusation.id
        );
    }
}

#[tokio::test]
async fn page_authorisation_matrix() {
    for db in Site::databases().await {
        matrix(Site::build_with_related(db).await).await;
    }
}
