//! The pages through the real router (the web crate's, with its security
//! headers), in process with `oneshot`: every role's main page with the demo
//! district, field errors in Chinese, CSRF refusal, scope, no inline script.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, StatusCode};
use common::{location, Client, Site};
use suqiu_domain::case::IntakeInput;

fn lamp() -> IntakeInput {
    IntakeInput {
        channel: Some("web".into()),
        unit: Some("430799001002-01".into()),
        title: Some("小区门口路灯不亮".into()),
        content: Some("幸福路口的路灯坏了一个星期".into()),
        reporter_name: Some("王小明".into()),
        reporter_phone: Some("13912345678".into()),
        ..Default::default()
    }
}

/// No inline script, no inline style, no event-handler attribute: the CSP forbids them.
fn assert_csp_clean(html: &str) {
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        assert!(tag.contains(" src="), "inline script: {tag}");
    }
    assert!(!html.contains(" style="), "inline style attribute");
    assert!(!html.contains("<style"), "inline style element");
    let lower = html.to_ascii_lowercase();
    for attr in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " onchange=",
        " onerror=",
        " oninput=",
    ] {
        assert!(!lower.contains(attr), "event handler attribute {attr}");
    }
}

#[tokio::test]
async fn every_role_sees_its_main_page() {
    let site = Site::new().await;
    site.app.file_case(&lamp(), None).await.unwrap();
    let expect: &[(&str, &[&str])] = &[
        (
            "wangge.li",
            &[
                "我网格的诉求",
                "需要我跟进的",
                "小区门口路灯不亮",
                "为群众代办",
            ],
        ),
        (
            "shequ.chen",
            &["今日研判", "待办理或上报", "小区门口路灯不亮"],
        ),
        (
            "jiedao.liu",
            &["待签收", "待派单", "每周研判会", "已派单跟踪"],
        ),
        ("bumen.zhang", &["待接单", "即将到期", "已超期"]),
        ("lingdao.yang", &["待督办", "我包案的", "查看统计与排名"]),
        ("xinfang.he", &["待回访评价", "今日研判"]),
        ("admin", &["待回访评价", "系统管理"]),
    ];
    for (login, words) in expect {
        let mut c = Client::new(&site);
        c.login(login).await;
        let r = c.get("/staff").await;
        assert_eq!(r.status, StatusCode::OK, "{login}");
        for w in *words {
            assert!(r.body.contains(w), "{login} should see {w}");
        }
        assert_csp_clean(&r.body);
        // grid workers get the phone layout, other staff the desk layout
        let desk = *login != "wangge.li";
        assert_eq!(r.body.contains(r#"<body class="desk">"#), desk, "{login}");
    }
    // the leader's dashboard: figures, a chart, a ranking
    let mut c = Client::new(&site);
    c.login("lingdao.yang").await;
    let r = c.get("/staff/dashboard").await;
    assert_eq!(r.status, StatusCode::OK);
    for w in [
        "统计与排名",
        "白沙街道",
        "响应率",
        "满意率",
        "<svg",
        "单位排名",
        "待督办",
    ] {
        assert!(r.body.contains(w), "dashboard shows {w}");
    }
    assert_csp_clean(&r.body);
    // the administrator's pages
    let mut a = Client::new(&site);
    a.login("admin").await;
    let r = a.get("/staff/admin").await;
    assert_eq!(r.status, StatusCode::OK);
    for w in [
        "组织架构",
        "丹阳社区",
        "用户和角色",
        "wangge.li",
        "节假日日历",
        "2026",
        "办理时限规则",
        "民生保障",
    ] {
        assert!(r.body.contains(w), "admin page shows {w}");
    }
    // … which others may not open
    let r = c.get("/staff/admin").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("只有系统管理员"));
}

#[tokio::test]
async fn resident_form_shows_errors_in_chinese_next_to_fields() {
    let site = Site::new().await;
    let mut c = Client::new(&site);
    let r = c.get("/report").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_csp_clean(&r.body);
    assert!(r.body.contains("丹阳社区 · 第一网格"));
    let r = c.post("/report", &[("reporter_phone", "123")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // each message right after its field
    for field in ["title", "content", "reporter_name", "unit"] {
        let err = format!(r#"data-field="{field}""#);
        assert!(r.body.contains(&err), "error at {field}");
    }
    assert!(r.body.contains("请填写此项"));
    assert!(r.body.contains("请选择所在的村（社区）和网格"));
    assert_eq!(site.app.store().count_cases().await.unwrap(), 0);

    // a wrong phone number is named as such, and the typed text is kept
    let r = c
        .post(
            "/report",
            &[
                ("title", "路灯不亮"),
                ("content", "路灯坏了"),
                ("unit", "430799001002-01"),
                ("reporter_name", "王小明"),
                ("reporter_phone", "12345"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("电话号码不正确"), "{}", r.body);
    assert!(r.body.contains(r#"data-field="reporter_phone""#));
    assert!(r.body.contains("value=\"路灯不亮\""));

    // the place may be typed: the community named in the address
    let r = c
        .post(
            "/report",
            &[
                ("title", "路灯不亮"),
                ("content", "路灯坏了"),
                ("address", "丹阳社区幸福路12号"),
                ("reporter_name", "王小明"),
                ("reporter_phone", "13912345678"),
                ("category_hint", "基础建设"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = location(&r);
    assert!(to.starts_with("/track?code="), "{to}");
    let r = c.get(&to).await;
    assert!(r.body.contains("提交成功"));
    assert!(r.body.contains("丹阳社区"));
    assert_eq!(site.app.store().count_cases().await.unwrap(), 1);

    // an unknown tracking code
    let r = c.get("/track?code=ABCDEFGHJK").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("没有找到这个查询码"));

    // English on request
    let r = c.get("/report?lang=en").await;
    assert!(r.body.contains("File a request") && r.body.contains(r#"lang="en""#));
    assert!(c.cookies.get("suqiu_lang").is_some_and(|l| l == "en"));
    let r = c.post("/report", &[]).await;
    assert!(r.body.contains("Please fill this in"));
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let site = Site::new().await;
    let mut c = Client::new(&site);
    c.get("/report").await;
    let token = c.csrf.clone();
    let fields = [
        ("csrf", token.as_str()),
        ("title", "路灯不亮"),
        ("content", "路灯坏了"),
        ("unit", "430799001002-01"),
        ("reporter_name", "王小明"),
        ("reporter_phone", "13912345678"),
    ];
    // another site's page posting with the victim's cookies
    let r = c
        .post_raw("/report", &fields, Some("http://evil.example"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("安全校验未通过"));
    // a post without the token, or with another browser's token
    let r = c
        .post_raw(
            "/report",
            &fields[1..],
            Some(&format!("http://{}", common::HOST)),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut other = Client::new(&site);
    other.get("/report").await;
    assert_ne!(other.csrf, token);
    let mut forged = fields;
    forged[0].1 = &other.csrf;
    let r = c.post_raw("/report", &forged, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(site.app.store().count_cases().await.unwrap(), 0);
    // the same post from this site goes through
    let r = c
        .post_raw(
            "/report",
            &fields,
            Some(&format!("http://{}", common::HOST)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(site.app.store().count_cases().await.unwrap(), 1);

    // staff: a command posted cross-site changes nothing
    let id = site.app.file_case(&lamp(), None).await.unwrap().id;
    let mut s = Client::new(&site);
    s.login("shequ.chen").await;
    s.get(&format!("/staff/cases/{id}")).await;
    let t = s.csrf.clone();
    let r = s
        .post_raw(
            &format!("/staff/cases/{id}/triage"),
            &[
                ("csrf", &t),
                ("urgency", "urgent"),
                ("category", "基础建设"),
            ],
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s.get(&format!("/staff/cases/{id}")).await;
    assert!(r.body.contains("已受理，待研判"));
    // the session's token differs from the pre-login one
    assert_ne!(s.csrf, token);
}

#[tokio::test]
async fn staff_work_a_case_through_the_pages_and_scope_holds() {
    let site = Site::new().await;
    let id = site.app.file_case(&lamp(), None).await.unwrap().id;
    let case = format!("/staff/cases/{id}");

    // a department it was not dispatched to cannot see it, nor act on it
    let mut d = Client::new(&site);
    d.login("bumen.zhang").await;
    let r = d.get(&case).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("不在您的管辖范围"));
    d.get("/staff").await;
    let r = d
        .post(&format!("{case}/accept"), &[("contact_note", "x")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // another community neither
    let mut o = Client::new(&site);
    o.login("cun.huang").await;
    assert_eq!(o.get(&case).await.status, StatusCode::NOT_FOUND);

    // the community triages: a missing choice is named next to its field
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let r = c.get(&case).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("研判分流") && r.body.contains("当日研判"));
    assert!(!r.body.contains("form-sign"), "only what the role may do");
    assert_csp_clean(&r.body);
    let r = c
        .post(&format!("{case}/triage"), &[("category", "基础建设")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"data-field="urgency""#));
    assert!(r.body.contains("请填写此项"));
    let r = c
        .post(
            &format!("{case}/triage"),
            &[("urgency", "urgent"), ("category", "基础建设")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.get(&location(&r)).await;
    assert!(r.body.contains("已完成：研判分流"));
    assert!(r.body.contains("已研判，村（社区）办理中"));
    // an outdated form (version) is refused in plain words
    let r = c
        .post(&format!("{case}/report"), &[("expected_version", "1")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("刚被他人更新"));
    let r = c.post(&format!("{case}/report"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // the street signs and dispatches with a lead, a cooperating unit and a deadline
    let mut s = Client::new(&site);
    s.login("jiedao.liu").await;
    let r = s.get("/staff/queue/sign?fragment=1").await;
    assert!(r.body.contains("小区门口路灯不亮"));
    assert!(!r.body.contains("<html"), "a fragment for htmx");
    s.get(&case).await;
    assert_eq!(
        s.post(&format!("{case}/sign"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let r = s
        .post(
            &format!("{case}/dispatch"),
            &[
                ("lead", "430799-D01"),
                ("cooperating", "430799-D02"),
                ("difficulty", "ordinary"),
                ("days", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请填写一个正整数"));
    let r = s
        .post(
            &format!("{case}/dispatch"),
            &[
                ("lead", "430799-D01"),
                ("cooperating", "430799-D01"),
                ("difficulty", "ordinary"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("牵头单位不能同时是协办单位"), "{}", r.body);
    let r = s
        .post(
            &format!("{case}/dispatch"),
            &[
                ("lead", "430799-D01"),
                ("cooperating", "430799-D02"),
                ("difficulty", "ordinary"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = s.get(&case).await;
    assert!(r.body.contains("牵头单位") && r.body.contains("区住房和城乡建设局"));
    let dl = &r.body[r.body.find(r#"id="deadlines""#).expect("deadlines table")..];
    let dl = &dl[..dl.find("</table>").unwrap()];
    assert!(
        dl.contains("办结") && dl.contains("2026-11-26"),
        "finish deadline shown: {dl}"
    );
    // the street follows it on its board: the department in charge and the due date
    let board = s.get("/staff").await.body;
    let followed = part(&board, "dispatched", "</section>");
    let row = &followed[followed.find(&format!("data-case=\"{id}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("区住房和城乡建设局") && row.contains("2026-11-26"),
        "{row}"
    );
    assert!(
        followed.contains("承办部门") && followed.contains("办理时限"),
        "{followed}"
    );

    // now the department sees it
    let r = d.get(&case).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("接单（当天联系群众）"));
    // reporter masked in lists
    let r = d.get("/staff/cases").await;
    assert!(
        r.body.contains("王**") || r.body.contains("王*"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("13912345678"));
}

#[tokio::test]
async fn lists_page_and_filter() {
    let site = Site::new().await;
    for i in 0..25 {
        let mut x = lamp();
        x.title = Some(format!("第{i}件"));
        site.app.file_case(&x, None).await.unwrap();
    }
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let r = c.get("/staff/cases").await;
    assert_eq!(r.body.matches("data-case=").count(), 20);
    let at = r.body.find("id=\"next-page\"").unwrap();
    let href_start = r.body[..at].rfind("href=\"").unwrap() + 6;
    let href = r.body[href_start..at - 2].replace("&amp;", "&");
    let r2 = c.get(&href).await;
    assert_eq!(r2.body.matches("data-case=").count(), 5, "{href}");
    let r = c.get("/staff/cases?status=closed").await;
    assert_eq!(r.body.matches("data-case=").count(), 0);
    let r = c.get("/staff/cases?status=bogus&from=2026-13-40").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请从列表中选择状态"));
    assert!(r.body.contains("日期格式应为"));
    let r = c.get("/staff/cases?from=2026-11-23&to=2026-11-23").await;
    assert_eq!(r.body.matches("data-case=").count(), 20);
    let r = c.get("/staff/cases?from=2026-11-24").await;
    assert_eq!(r.body.matches("data-case=").count(), 0);
}

#[tokio::test]
async fn login_errors_logout_and_redirects() {
    let site = Site::new().await;
    let mut c = Client::new(&site);
    let r = c.get("/staff").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?next=%2Fstaff");
    c.get("/login").await;
    let r = c
        .post("/login", &[("login", "shequ.chen"), ("password", "wrong")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("账号或密码错误"));
    let r = c
        .post(
            "/login",
            &[
                ("login", "shequ.chen"),
                ("password", suqiu_app::orgconfig::DEMO_PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/staff", "no open redirect");
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("suqiu_session="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
    let token = c.cookies["suqiu_session"].clone();
    assert!(site.app.authenticate(&token).await.is_ok());
    c.get("/staff").await;
    let r = c.post("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!c.cookies.contains_key("suqiu_session"));
    assert!(
        site.app.authenticate(&token).await.is_err(),
        "session ended"
    );
}

#[tokio::test]
async fn assets_are_served_from_the_binary_with_long_caching() {
    let site = Site::new().await;
    let mut c = Client::new(&site);
    let r = c.get("/").await;
    assert_csp_clean(&r.body);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"));
    for path in [
        "/assets/htmx-2.0.4.min.js",
        "/assets/app-8.css",
        "/assets/app-7.js",
    ] {
        assert!(r.body.contains(path), "the layout links {path}");
        let a = c.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let cache = a.headers[header::CACHE_CONTROL].to_str().unwrap();
        assert!(cache.contains("max-age=31536000"), "{path}: {cache}");
    }
    let a = c.get("/assets/htmx-2.0.4.min.js").await;
    assert!(a.body.contains("htmx"));
    // pages themselves are not cached
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn statistics_count_per_unit_and_period() {
    use serde_json::json;
    let site = Site::new().await;
    let app = &site.app;
    let run = |login: &'static str, id: i64, cmd: &'static str, body: serde_json::Value| async move {
        let u = app.staff_by_login(login).await.unwrap();
        let c = suqiu_app::commands::parse(cmd, &body, app.now()).unwrap();
        app.execute(&u, id, None, &c).await.unwrap();
    };
    // one case returned by 城管局, re-dispatched to 住建局, replied, rated satisfied
    let r = app.file_case(&lamp(), None).await.unwrap();
    run(
        "shequ.chen",
        r.id,
        "triage",
        json!({"urgency": "urgent", "category": "基础建设"}),
    )
    .await;
    run("shequ.chen", r.id, "report", json!({})).await;
    run("jiedao.liu", r.id, "sign", json!({})).await;
    run(
        "jiedao.liu",
        r.id,
        "dispatch",
        json!({"lead": "430799-D02", "difficulty": "ordinary"}),
    )
    .await;
    run(
        "bumen.wu",
        r.id,
        "return",
        json!({"reason": "非本部门职责"}),
    )
    .await;
    run(
        "jiedao.liu",
        r.id,
        "dispatch",
        json!({"lead": "430799-D01", "difficulty": "ordinary"}),
    )
    .await;
    run(
        "bumen.zhang",
        r.id,
        "accept",
        json!({"contact_note": "已联系"}),
    )
    .await;
    run("bumen.zhang", r.id, "reply", json!({"result": "已修复"})).await;
    app.rate_by_code(
        &r.tracking_code,
        Some("5678"),
        suqiu_domain::workflow::Rating::Satisfied,
        None,
    )
    .await
    .unwrap();
    // one solved in the community the same day, rated 一般
    let r2 = app.file_case(&lamp(), None).await.unwrap();
    run(
        "shequ.chen",
        r2.id,
        "triage",
        json!({"urgency": "deferred", "category": "民生保障"}),
    )
    .await;
    run("shequ.chen", r2.id, "reply", json!({"result": "已调解"})).await;
    app.rate_by_code(
        &r2.tracking_code,
        Some("5678"),
        suqiu_domain::workflow::Rating::Average,
        None,
    )
    .await
    .unwrap();
    // one left untriaged until it is overdue
    app.file_case(&lamp(), None).await.unwrap();
    site.clock.advance(2 * 24 * 3600 * 1000);
    app.sweep_once().await.unwrap();

    let bureau = app.staff_by_login("xinfang.he").await.unwrap();
    let day = 24 * 3600 * 1000;
    let st = app
        .stats(&bureau, common::T0 - day, common::T0 + 3 * day)
        .await
        .unwrap();
    let t = &st.total;
    assert_eq!((t.received, t.replied, t.resolved), (3, 2, 2));
    assert_eq!(
        (t.rated, t.satisfied, t.overdue, t.returned, t.open),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(
        (st.settled_community, st.settled_street, st.settled_district),
        (1, 0, 1)
    );
    let unit = |c: &str| {
        st.units
            .iter()
            .find(|u| u.unit == c)
            .unwrap()
            .figures
            .clone()
    };
    let street = unit("430799001");
    assert_eq!((street.received, street.replied, street.overdue), (3, 2, 1));
    let zhujian = unit("430799-D01");
    assert_eq!(
        (
            zhujian.received,
            zhujian.replied,
            zhujian.resolved,
            zhujian.on_time
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        (zhujian.returned, zhujian.rated, zhujian.satisfied),
        (0, 1, 1)
    );
    let chengguan = unit("430799-D02");
    assert_eq!(
        (chengguan.received, chengguan.replied, chengguan.resolved),
        (1, 0, 0)
    );
    assert_eq!((chengguan.returned, chengguan.rated), (1, 0));
    // another period is empty
    let none = app
        .stats(&bureau, common::T0 + 10 * day, common::T0 + 11 * day)
        .await
        .unwrap();
    assert_eq!(none.total.received, 0);
    // a department sees only what was dispatched to it
    let wu = app.staff_by_login("bumen.wu").await.unwrap();
    let st = app
        .stats(&wu, common::T0 - day, common::T0 + 3 * day)
        .await
        .unwrap();
    assert_eq!(st.total.received, 1);

    // the dashboard shows the figures and ranks 住建局 above 城管局
    let mut c = Client::new(&site);
    c.login("xinfang.he").await;
    let r = c
        .get("/staff/dashboard?from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let ranking = &r.body[r.body.find(r#"id="ranking""#).unwrap()..];
    let a = ranking.find("区住房和城乡建设局").unwrap();
    let b = ranking.find("区城市管理和综合执法局").unwrap();
    assert!(a < b, "ranking order");
    let r = c
        .get("/staff/dashboard?from=2026-11-30&to=2026-11-01")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("结束日期不能早于开始日期"));
}

#[tokio::test]
async fn callback_staff_enter_a_rating_and_unreasonable_demands_are_explained() {
    let site = Site::new().await;
    let mut x = lamp();
    x.title = Some("<script>alert(1)</script>路灯".into());
    let id = site.app.file_case(&x, None).await.unwrap().id;
    let case = format!("/staff/cases/{id}");
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let r = c.get(&case).await;
    assert!(!r.body.contains("<script>alert(1)"), "titles are escaped");
    assert!(r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;路灯"));
    c.post(
        &format!("{case}/triage"),
        &[("urgency", "deferred"), ("category", "基础建设")],
    )
    .await;
    let r = c
        .post(&format!("{case}/reply"), &[("result", "已更换灯泡")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // the petition bureau's callback queue, and the rating taken on the phone
    let mut b = Client::new(&site);
    b.login("xinfang.he").await;
    let r = b.get("/staff").await;
    let queue = &r.body[r.body.find(r#"id="q-callback""#).unwrap()..];
    assert!(queue[..queue.find("</section>").unwrap()].contains("路灯"));
    let r = b.get(&case).await;
    assert!(r.body.contains("录入回访评价"));
    let r = b
        .post(&format!("{case}/rate"), &[("rating", "average")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(r#"data-field="via""#),
        "how the resident was reached"
    );
    let r = b
        .post(
            &format!("{case}/rate"),
            &[
                ("rating", "average"),
                ("via", "phone"),
                ("comment", "修得慢了点"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = b.get(&case).await;
    assert!(r.body.contains("评价：一般（电话回访）修得慢了点"));
    // 评单: the rating comes back to the community that answered, in its
    // "rated" queue until someone there has read it
    let rated = |body: &str| {
        let q = &body[body.find(r#"id="q-rated""#).expect("a rated queue")..];
        q[..q.find("</section>").unwrap()].contains("路灯")
    };
    assert!(rated(&c.get("/staff").await.body));
    let r = c.get(&case).await;
    assert!(
        r.body.contains(r#"id="form-rating-read""#),
        "offered to the community"
    );
    assert!(
        !b.get(&case).await.body.contains("已阅群众评价"),
        "not to the bureau"
    );
    let r = c.post(&format!("{case}/rating-read"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!rated(&c.get("/staff").await.body));
    assert!(!c.get(&case).await.body.contains(r#"id="form-rating-read""#));

    // an unreasonable demand: explained in person, recorded
    let id2 = site.app.file_case(&lamp(), None).await.unwrap().id;
    let case2 = format!("/staff/cases/{id2}");
    c.get(&case2).await;
    c.post(
        &format!("{case2}/triage"),
        &[("urgency", "unreasonable"), ("category", "民生保障")],
    )
    .await;
    let r = c.get(&case2).await;
    assert!(r.body.contains("上门解释政策"));
    assert!(
        !r.body.contains("form-report"),
        "not reported to the street"
    );
    let r = c
        .post(
            &format!("{case2}/explain"),
            &[
                ("visited_by", "陈晓燕、党员王明"),
                ("policy_basis", "路灯由供电公司按计划更换"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.get(&case2).await;
    assert!(r.body.contains("陈晓燕、党员王明"));
    let code = site
        .app
        .store()
        .case_by_id(id2)
        .await
        .unwrap()
        .unwrap()
        .tracking_code;
    let mut resident = Client::new(&site);
    let r = resident.get(&format!("/track?code={code}")).await;
    assert!(r.body.contains("工作人员已上门向您解释相关政策"));
}

#[tokio::test]
async fn grid_worker_files_for_a_resident_and_notes_a_visit() {
    let site = Site::new().await;
    let mut g = Client::new(&site);
    g.login("wangge.li").await;
    let r = g.get("/staff/new").await;
    assert!(r.body.contains(r#"<option value="proxy" selected>"#));
    // worded for someone filing for a resident, not as the resident
    assert!(r.body.contains("群众姓名") && r.body.contains("群众要求对其姓名保密"));
    assert!(!r.body.contains("您的姓名") && !r.body.contains("请对我的姓名保密"));
    let own = Client::new(&site).get("/report").await.body;
    assert!(
        own.contains("您的姓名"),
        "the resident's own form speaks to them"
    );
    assert!(
        r.body
            .contains(r#"<option value="430799001002-01" selected>"#),
        "own grid preselected"
    );
    let fields = [
        ("channel", "proxy"),
        ("unit", "430799001002-01"),
        ("title", "楼道堆放杂物"),
        ("content", "3栋2单元楼道堆满杂物"),
        ("reporter_name", "赵大爷"),
        ("reporter_phone", "13700001111"),
    ];
    let r = g.post("/staff/new", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("已录入") && r.body.contains(r#"id="tracking-code""#));
    let row = site
        .app
        .store()
        .list_cases(Default::default())
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(row.channel, "proxy");
    // the follow-up list carries a quick visit note
    let r = g.get("/staff").await;
    assert!(r.body.contains("楼道堆放杂物") && r.body.contains("走访记录"));
    let r = g
        .post(
            &format!("/staff/cases/{}/notes", row.id),
            &[("text", "已上门查看，物业答应本周清理")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = g.get(&location(&r)).await;
    assert!(r.body.contains("备注：已上门查看，物业答应本周清理"));
    assert!(r.body.contains("网格员代办"));

    // only grid workers file as proxy: others get the error next to the channel
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let r = c.get("/staff/new").await;
    assert!(!r.body.contains(r#"value="proxy""#));
    let r = c.post("/staff/new", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"data-field="channel""#));
    assert!(r.body.contains("代办渠道仅限网格员使用"));
}

/// A 32×32 PNG, and a GIF (not accepted).
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x20\x00\x00\x00\x20\x08\x02\x00\x00\x00\xfc\x18\xed\xa3\x00\x00\x00\x2a\x49\x44\x41\x54\x78\xda\x63\xb8\x13\xa0\x41\x53\xc4\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\xa8\x05\xa3\x16\x0c\x15\x0b\x00\xbf\x77\x50\x4c\x70\x2f\x7e\xf9\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

#[tokio::test]
async fn residents_attach_photos_when_filing_and_staff_in_scope_see_them() {
    let site = Site::new().await;
    let mut resident = Client::new(&site);
    let r = resident.get("/report").await;
    assert!(r.body.contains(r#"enctype="multipart/form-data""#));
    assert!(r.body.contains(r#"type="file" id="photos""#));
    let fields = [
        ("title", "电线杆倾斜"),
        ("content", "幸福路12号旁电线杆严重倾斜。"),
        ("unit", "430799001002-01"),
        ("reporter_name", "周敏"),
        ("reporter_phone", "13600004444"),
    ];
    // a GIF is refused next to the field (named .png: the bytes decide); nothing filed
    let before = site.app.store().count_cases().await.unwrap();
    let r = resident
        .post_multipart("/report", &fields, &[("photos", "a.png", GIF)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"data-field="photos""#), "{}", r.body);
    assert!(r.body.contains("照片须为 JPEG、PNG 或 WebP 格式的图片"));
    assert!(r.body.contains("电线杆倾斜"), "the fields are kept");
    assert_eq!(site.app.store().count_cases().await.unwrap(), before);
    // with a PNG (and an empty second file input)
    let r = resident
        .post_multipart(
            "/report",
            &fields,
            &[("photos", "电线杆.png", PNG), ("photos", "", b"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = location(&r);
    let page = resident.get(&to).await;
    let code = page
        .body
        .split(r#"id="tracking-code">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(
        page.body
            .contains(&format!(r#"src="/track/{code}/photos/1""#)),
        "{}",
        page.body
    );
    let (s, h, bytes) = resident.get_bytes(&format!("/track/{code}/photos/1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(bytes, PNG);
    let (s, _, _) = resident.get_bytes(&format!("/track/{code}/photos/2")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let id = site
        .app
        .store()
        .case_by_tracking_code(&code)
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut chen = Client::new(&site);
    chen.login("shequ.chen").await;
    let page = chen.get(&format!("/staff/cases/{id}")).await;
    assert!(
        page.body
            .contains(&format!(r#"src="/staff/cases/{id}/photos/1""#)),
        "{}",
        page.body
    );
    assert!(page.body.contains("附照片 1"), "in the timeline");
    let (s, h, bytes) = chen.get_bytes(&format!("/staff/cases/{id}/photos/1")).await;
    assert_eq!(
        (s, &h[header::CONTENT_TYPE]),
        (StatusCode::OK, &"image/png".parse().unwrap())
    );
    assert_eq!(bytes, PNG);
    let mut huang = Client::new(&site);
    huang.login("cun.huang").await;
    let (s, _, bytes) = huang
        .get_bytes(&format!("/staff/cases/{id}/photos/1"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "outside the village's scope");
    assert_ne!(bytes, PNG);
    let (s, _, _) = Client::new(&site)
        .get_bytes(&format!("/staff/cases/{id}/photos/1"))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "to the login page");
}

#[tokio::test]
async fn triage_and_dispatch_forms_show_the_top_suggestions_and_preselect_a_confident_one() {
    use suqiu_app::routing::CATEGORY;
    let site = Site::new().await;
    let mut data = Vec::new();
    for i in 0..15 {
        data.push((
            format!("路灯不亮，晚上很黑，第{i}盏"),
            "基础建设".to_string(),
        ));
        data.push((
            format!("邻居装修噪音扰民，吵架{i}次"),
            "矛盾纠纷".to_string(),
        ));
    }
    let t = site
        .app
        .store_routing_model(CATEGORY, data, "test")
        .await
        .unwrap();
    assert!(t.version.is_some());
    let r = site.app.file_case(&lamp(), None).await.unwrap();
    let chen_user = site.app.staff_by_login("shequ.chen").await.unwrap();
    let (c, _) = site
        .app
        .routing_suggestions(&chen_user, r.id)
        .await
        .unwrap();
    assert_eq!(c.top[0].value, "基础建设");
    let mut chen = Client::new(&site);
    chen.login("shequ.chen").await;
    let page = chen.get(&format!("/staff/cases/{}", r.id)).await;
    let list = page
        .body
        .split(r#"id="category-suggestions""#)
        .nth(1)
        .unwrap_or_else(|| panic!("{}", page.body))
        .split("</div>")
        .next()
        .unwrap();
    assert!(list.contains(r#"data-value="基础建设""#), "{list}");
    assert!(
        list.contains(&format!(
            "{}%",
            (c.top[0].confidence * 100.0).round() as u32
        )),
        "{list}"
    );
    let preselected = page.body.contains(r#"<option value="基础建设" selected>"#);
    assert_eq!(
        preselected,
        c.prefill.is_some(),
        "pre-selected exactly above the threshold"
    );
    assert!(c.prefill.is_some(), "a clear case is confident: {c:?}");
    assert!(list.contains("已预选"));

    // dispatch: the departments that led similar cases
    use suqiu_domain::workflow::{Command, Urgency};
    let mut data = Vec::new();
    for i in 0..15 {
        data.push((
            format!("路灯不亮，电线杆倾斜，第{i}处"),
            "430799-D01".to_string(),
        ));
        data.push((
            format!("占道经营，摊贩堵路，第{i}处"),
            "430799-D02".to_string(),
        ));
    }
    site.app
        .store_routing_model(suqiu_app::routing::UNIT, data, "test")
        .await
        .unwrap();
    for (login, cmd) in [
        (
            "shequ.chen",
            Command::Triage {
                urgency: Urgency::Urgent,
                category: "基础建设".into(),
            },
        ),
        ("shequ.chen", Command::ReportToStreet { note: None }),
        ("jiedao.liu", Command::Sign),
    ] {
        let u = site.app.staff_by_login(login).await.unwrap();
        site.app.execute(&u, r.id, None, &cmd).await.unwrap();
    }
    let liu_user = site.app.staff_by_login("jiedao.liu").await.unwrap();
    let (_, units) = site.app.routing_suggestions(&liu_user, r.id).await.unwrap();
    assert_eq!(units.top[0].value, "430799-D01");
    let mut liu = Client::new(&site);
    liu.login("jiedao.liu").await;
    let page = liu.get(&format!("/staff/cases/{}", r.id)).await;
    let list = page
        .body
        .split(r#"id="unit-suggestions""#)
        .nth(1)
        .unwrap_or_else(|| panic!("{}", page.body))
        .split("</div>")
        .next()
        .unwrap();
    assert!(
        list.contains(r#"data-value="430799-D01""#) && list.contains("区住房和城乡建设局"),
        "{list}"
    );
    assert_eq!(
        page.body
            .contains(r#"<option value="430799-D01" selected>"#),
        units.prefill.is_some()
    );
}

#[tokio::test]
async fn administrators_edit_rules_categories_and_users_in_the_pages() {
    let site = Site::new().await;
    let mut chen = Client::new(&site);
    chen.login("shequ.chen").await;
    chen.get("/staff").await;
    let r = chen
        .post("/staff/admin/categories", &[("categories", "物业管理")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut admin = Client::new(&site);
    admin.login("admin").await;
    let page = admin.get("/staff/admin").await;
    assert!(
        page.body.contains(r#"id = &quot;explain&quot;"#),
        "the rules as TOML: {}",
        page.body
    );
    assert!(page.body.contains(r#"id="unit-add-form""#));
    // the rules table speaks Chinese: steps, tags and day units in words
    assert!(
        page.body.contains(r#"<tr data-rule="triage"><td>"#)
            && page.body.contains("<td>受理</td>")
            && page.body.contains("当个工作日")
            && !page.body.contains("SameWorkingDay"),
        "{}",
        page.body
    );
    // bad TOML, a bad rule: refused in plain words next to the field; nothing stored
    let r = admin
        .post("/staff/admin/rules", &[("rules", "warn_before_hours = ")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(r#"data-field="rules""#) && r.body.contains("规则文本格式有误"),
        "{}",
        r.body
    );
    let text = site
        .app
        .rules_toml()
        .replace(r#"start = "received""#, r#"start = "nonsense""#);
    let r = admin.post("/staff/admin/rules", &[("rules", &text)]).await;
    assert!(r.body.contains("起算环节「nonsense」不存在"), "{}", r.body);
    assert_eq!(site.app.rules_version(), 0);
    // a good change
    let text = site
        .app
        .rules_toml()
        .replace("warn_before_hours = 8", "warn_before_hours = 12");
    let r = admin.post("/staff/admin/rules", &[("rules", &text)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("已保存办理时限规则"));
    assert_eq!(site.app.rules().warn_before_hours, 12);
    let r = admin
        .post(
            "/staff/admin/categories",
            &[("categories", "基础建设\n民生保障\n\n物业管理\n")],
        )
        .await;
    assert!(r.body.contains("已保存诉求类别"), "{}", r.body);
    assert_eq!(
        site.app.rules().categories,
        ["基础建设", "民生保障", "物业管理"]
    );
    assert_eq!(site.app.rules().warn_before_hours, 12, "the rules stay");
    let r = admin
        .post("/staff/admin/categories", &[("categories", "")])
        .await;
    assert!(r.body.contains("问题类别须有 1–50 个"), "{}", r.body);
    let report = Client::new(&site).get("/report").await;
    assert!(report.body.contains(r#"<option value="物业管理">"#));
    // users
    let new = [
        ("login", "wangge.qian"),
        ("name", "钱网格"),
        ("new_role", "grid_worker"),
        ("unit", "430799001002-02"),
        ("password", "weak"),
    ];
    let r = admin.post("/staff/admin/users", &new).await;
    assert!(r.body.contains("密码至少 10 位"), "{}", r.body);
    assert!(
        r.body.contains(r#"value="wangge.qian""#),
        "the fields are kept"
    );
    let mut good = new;
    good[4] = ("password", "Qian#Grid2026");
    let r = admin.post("/staff/admin/users", &good).await;
    assert!(r.body.contains("wangge.qian：已新增"), "{}", r.body);
    assert!(r.body.contains(r#"<tr data-login="wangge.qian">"#));
    let r = admin
        .post(
            "/staff/admin/users/wangge.qian/role",
            &[
                ("role", "community_staff"),
                ("unit", "430799001002-02"),
                ("linked_units", ""),
            ],
        )
        .await;
    assert!(r.body.contains("不能属于网格级单位"), "{}", r.body);
    let r = admin
        .post(
            "/staff/admin/users/wangge.qian/role",
            &[
                ("role", "community_staff"),
                ("unit", "430799001002"),
                ("linked_units", ""),
            ],
        )
        .await;
    assert!(r.body.contains("角色和单位已保存"), "{}", r.body);
    let u = site.app.staff_by_login("wangge.qian").await.unwrap();
    assert_eq!(u.role, suqiu_domain::Role::CommunityStaff);
    let r = admin
        .post(
            "/staff/admin/users/wangge.qian/password",
            &[("password", "Neu#Pass2026x")],
        )
        .await;
    assert!(r.body.contains("密码已重置"), "{}", r.body);
    let mut zhou = Client::new(&site);
    zhou.get("/login").await;
    let r = zhou
        .post(
            "/login",
            &[("login", "wangge.qian"), ("password", "Neu#Pass2026x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn administrators_edit_message_templates_with_a_preview() {
    let site = Site::new().await;
    let mut a = Client::new(&site);
    a.login("admin").await;
    let r = a.get("/staff/admin").await;
    assert!(r.body.contains(r#"href="/staff/admin/templates""#));
    let r = a.get("/staff/admin/templates").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_csp_clean(&r.body);
    assert!(r.body.contains("通知模板") && r.body.contains("<td>受理</td>"));
    assert!(r.body.contains(r#"data-template="received/resident/zh""#));
    const PAGE: &str = "/staff/admin/templates/received/resident/zh";
    let r = a.get(PAGE).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_csp_clean(&r.body);
    assert!(r.body.contains("默认内容") && r.body.contains(r#"id="preview-text""#));
    assert!(
        r.body.contains("7KQ2M9XW4C"),
        "the default previewed on the sample case"
    );

    // a preview stores nothing
    let text = "【区诉求平台】{title}已受理，查询码{tracking_code}";
    let r = a
        .post(
            PAGE,
            &[("subject", "已受理"), ("text", text), ("do", "preview")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r
        .body
        .contains("【区诉求平台】小区门口路灯不亮已受理，查询码7KQ2M9XW4C"));
    assert!(site
        .app
        .store()
        .template_overrides()
        .await
        .unwrap()
        .1
        .is_empty());
    // an unknown placeholder: the error next to the field, the typed text kept
    let r = a
        .post(
            PAGE,
            &[("subject", "已受理"), ("text", "{phone}"), ("do", "save")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"data-field="text""#) && r.body.contains("未保存"));
    assert!(r.body.contains("{phone}"));
    assert!(site
        .app
        .store()
        .template_overrides()
        .await
        .unwrap()
        .1
        .is_empty());
    // saved
    let r = a
        .post(
            PAGE,
            &[("subject", "已受理"), ("text", text), ("do", "save")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("已保存"));
    let (_, rows) = site.app.store().template_overrides().await.unwrap();
    assert_eq!((rows.len(), rows[0].text.as_str()), (1, text));
    let r = a.get("/staff/admin/templates").await;
    assert!(r.body.contains("已修改"));
    // restored
    let r = a.post(&format!("{PAGE}/reset"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("已恢复默认内容"));
    assert!(site
        .app
        .store()
        .template_overrides()
        .await
        .unwrap()
        .1
        .is_empty());
    // unknown templates, other roles
    let r = a.get("/staff/admin/templates/nonsense/resident/zh").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    assert_eq!(
        c.get("/staff/admin/templates").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(c.get(PAGE).await.status, StatusCode::FORBIDDEN);
    let r = c
        .post(PAGE, &[("subject", "x"), ("text", "y"), ("do", "save")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(site
        .app
        .store()
        .template_overrides()
        .await
        .unwrap()
        .1
        .is_empty());
}

#[tokio::test]
async fn residents_choose_and_change_how_they_hear_of_progress() {
    let site = Site::new().await;
    let mut c = Client::new(&site);
    let r = c.get("/report").await;
    assert!(r.body.contains(r#"id="notify_channel""#));
    let fields = |ch: &'static str, addr: &'static str| {
        vec![
            ("title", "路灯不亮"),
            ("content", "路灯坏了"),
            ("unit", "430799001002-01"),
            ("reporter_name", "王小明"),
            ("reporter_phone", "13912345678"),
            ("notify_channel", ch),
            ("notify_address", addr),
        ]
    };
    // a wrong e-mail address: named next to its field, nothing filed
    let r = c.post("/report", &fields("email", "wang@")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(r#"data-field="notify_address""#),
        "{}",
        r.body
    );
    assert!(r.body.contains("电子邮箱地址不正确"));
    assert_eq!(site.app.store().count_cases().await.unwrap(), 0);
    let r = c.post("/report", &fields("email", "wang@example.cn")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = location(&r);
    let code = to
        .trim_start_matches("/track?code=")
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let r = c.get(&to).await;
    assert_csp_clean(&r.body);
    assert!(r.body.contains("电子邮件（w***@example.cn）"), "{}", r.body);
    assert!(!r.body.contains("wang@example.cn"), "masked");
    // changed with the tracking code
    let r = c
        .post(
            &format!("/track/{code}/notify"),
            &[("notify_channel", "email"), ("notify_address", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"data-field="notify_address""#));
    let r = c
        .post(
            &format!("/track/{code}/notify"),
            &[
                ("notify_channel", "none"),
                ("notify_address", ""),
                ("phone_last4", "5678"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.get(&location(&r)).await;
    assert!(r.body.contains(r#"id="notify-changed""#));
    assert!(r.body.contains("目前：不接收通知"), "{}", r.body);
}

#[tokio::test]
async fn administrators_edit_the_unit_tree_in_the_pages() {
    let site = Site::new().await;
    let mut chen = Client::new(&site);
    chen.login("shequ.chen").await;
    chen.get("/staff").await;
    let add = [
        ("unit_parent", "430799001002"),
        ("unit_level", "hamlet"),
        ("unit_code", "430799001002-07"),
        ("unit_name", "丹阳社区第七网格"),
    ];
    let r = chen.post("/staff/admin/units", &add).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut admin = Client::new(&site);
    admin.login("admin").await;
    admin.get("/staff/admin").await;
    // a hamlet under a community: refused next to the parent field, in Chinese, fields kept
    let r = admin.post("/staff/admin/units", &add).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(r#"data-field="unit_parent""#)
            && r.body.contains("屋场不能设在村（社区）之下"),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"value="430799001002-07""#), "fields kept");
    assert!(site.app.org().unit("430799001002-07").is_none());
    let mut good = add;
    good[1] = ("unit_level", "grid");
    let r = admin.post("/staff/admin/units", &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("丹阳社区第七网格（430799001002-07）：单位已新增"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<li data-unit="430799001002-07">丹阳社区第七网格"#),
        "in the tree"
    );
    // a taken code
    let r = admin.post("/staff/admin/units", &good).await;
    assert!(
        r.body.contains(r#"data-field="unit_code""#) && r.body.contains("已被使用"),
        "{}",
        r.body
    );
    // residents can choose the new grid when filing
    let report = Client::new(&site).get("/report").await;
    assert!(
        report.body.contains("430799001002-07"),
        "the report form offers it"
    );
    // rename, then an unknown code
    let r = admin
        .post(
            "/staff/admin/units/rename",
            &[
                ("rename_code", "430799001002-07"),
                ("rename_name", "丹阳七组"),
            ],
        )
        .await;
    assert!(r.body.contains("430799001002-07：单位已改名"), "{}", r.body);
    assert_eq!(
        site.app.org().unit("430799001002-07").unwrap().name,
        "丹阳七组"
    );
    let r = admin
        .post(
            "/staff/admin/units/rename",
            &[("rename_code", "NOPE"), ("rename_name", "x")],
        )
        .await;
    assert!(r.body.contains(r#"data-field="rename_code""#), "{}", r.body);
    // remove: a community with grids is refused, the new grid goes
    let r = admin
        .post(
            "/staff/admin/units/remove",
            &[("remove_code", "430799001002")],
        )
        .await;
    assert!(
        r.body.contains(r#"data-field="remove_code""#)
            && r.body.contains("不能删除：该单位下还有下级单位"),
        "{}",
        r.body
    );
    let r = admin
        .post(
            "/staff/admin/units/remove",
            &[("remove_code", "430799001002-07")],
        )
        .await;
    assert!(r.body.contains("430799001002-07：单位已删除"), "{}", r.body);
    assert!(site.app.org().unit("430799001002-07").is_none());
    assert!(!r.body.contains(r#"<li data-unit="430799001002-07">"#));
}

#[tokio::test]
async fn a_long_queue_pages_with_a_next_link() {
    let site = Site::new().await;
    let mut resident = Client::new(&site);
    resident.get("/report").await;
    for (i, title) in ["一号楼路灯不亮", "二号楼水管漏水", "三号楼垃圾未清"]
        .iter()
        .enumerate()
    {
        let phone = format!("1391234560{i}");
        let r = resident
            .post(
                "/report",
                &[
                    ("title", title),
                    ("content", "请尽快处理"),
                    ("unit", "430799001002-01"),
                    ("reporter_name", "王小明"),
                    ("reporter_phone", &phone),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        site.clock.advance(1000);
    }
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let r = c.get("/staff/queue/triage?limit=2").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("一号楼路灯不亮") && r.body.contains("二号楼水管漏水"));
    assert!(!r.body.contains("三号楼垃圾未清"));
    let start = r
        .body
        .find(r#"<a href="/staff/queue/triage?limit=2&amp;after="#)
        .expect("a next link");
    let href = &r.body[start + 9..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let r = c.get(&href).await;
    assert!(r.body.contains("三号楼垃圾未清"), "{}", r.body);
    assert!(!r.body.contains("一号楼路灯不亮"));
    assert!(r.body.contains("回到第一页") && !r.body.contains(r#"id="next-triage""#));
    // the htmx refresh of page 2 stays on page 2
    assert!(r.body.contains(&format!(
        r#"hx-get="/staff/queue/triage?fragment=1&amp;{}""#,
        &href["/staff/queue/triage?".len()..].replace('&', "&amp;")
    )));
    let r = c.get("/staff/queue/triage?after=oops").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("翻页参数不正确"));
    // the filter: its form, a narrowing the next link keeps, refusals next to the field
    let r = c
        .get("/staff/queue/triage?limit=2&place=430799001002")
        .await;
    assert!(r.body.contains(r#"id="queue-filters""#));
    assert!(
        r.body.contains(r#"<option value="430799001002" selected>"#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"href="/staff/queue/triage?limit=2&amp;place=430799001002&amp;after="#),
        "{}",
        r.body
    );
    let r = c.get("/staff/queue/triage?place=430799002001").await;
    assert!(
        r.body.contains("暂无"),
        "another community's place: nothing"
    );
    assert!(!r.body.contains("一号楼路灯不亮"));
    let r = c.get("/staff/queue/triage?place=NOPE&urgency=soon").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(r#"data-field="place""#) && r.body.contains("请从列表中选择地点"),
        "{}",
        r.body
    );
    assert!(r.body.contains("请从列表中选择紧急程度"));
}

/// The part of a page from the element with this id to the first `end` after it.
fn part<'a>(body: &'a str, id: &str, end: &str) -> &'a str {
    let at = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{body}"));
    let rest = &body[at..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

/// Runs a command on a case as a demo user, through the application.
async fn run(app: &suqiu_app::App, login: &str, id: i64, cmd: &str, body: serde_json::Value) {
    let u = app.staff_by_login(login).await.unwrap();
    let c = suqiu_app::commands::parse(cmd, &body, app.now()).unwrap();
    app.execute(&u, id, None, &c).await.unwrap();
}

/// The version and the merge of a case, and the duplicates merged into it.
async fn merge_state(app: &suqiu_app::App, id: i64) -> (u64, Option<i64>, Vec<i64>) {
    let u = app.staff_by_login("xinfang.he").await.unwrap();
    let s = app.case_for(&u, id).await.unwrap().state;
    (s.version, s.merged_into, s.duplicates)
}

#[tokio::test]
async fn community_merges_a_duplicate_from_the_case_page_and_refusals_change_nothing() {
    use serde_json::json;
    for site in Site::backends().await {
        let app = &site.app;
        let primary = app.file_case(&lamp(), None).await.unwrap().id;
        let mut again = lamp();
        again.reporter_name = Some("李四".into());
        again.reporter_phone = Some("13800001111".into());
        again.content = Some("幸福路口小区门口的路灯一直不亮".into());
        let dup = app.file_case(&again, None).await.unwrap().id;
        // a closed case about the same lamp, and one in another community
        let closed = app.file_case(&lamp(), None).await.unwrap().id;
        run(
            app,
            "shequ.chen",
            closed,
            "triage",
            json!({"urgency": "deferred", "category": "基础建设"}),
        )
        .await;
        run(
            app,
            "shequ.chen",
            closed,
            "reply",
            json!({"result": "已修好"}),
        )
        .await;
        run(
            app,
            "xinfang.he",
            closed,
            "rate",
            json!({"rating": "satisfied", "via": "phone"}),
        )
        .await;
        let mut far = lamp();
        far.unit = Some("430799004001-01".into());
        let elsewhere = app.file_case(&far, None).await.unwrap().id;
        let he = app.staff_by_login("xinfang.he").await.unwrap();
        assert_eq!(
            app.case_for(&he, closed).await.unwrap().row.status,
            "closed"
        );

        let mut c = Client::new(&site);
        c.login("shequ.chen").await;
        let page = format!("/staff/cases/{dup}");
        let r = c.get(&page).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_csp_clean(&r.body);
        assert!(
            r.body.contains(&format!("<dd>#{dup}</dd>")),
            "the case number is shown"
        );
        let form = part(&r.body, "action-merge", "</details>");
        assert!(form.contains("合并为重复件") && form.contains("合并理由"));
        assert!(
            form.contains(&format!(r#"name="into" value="{primary}""#)),
            "the similar open case is offered: {form}"
        );
        for (id, why) in [(closed, "closed"), (dup, "itself"), (elsewhere, "unseen")] {
            assert!(
                !form.contains(&format!(r#"name="into" value="{id}""#)),
                "{why} is not offered"
            );
        }
        let before = merge_state(app, dup).await;
        assert_eq!(before.1, None);

        // refusals: in Chinese next to the field, the input kept, nothing changed
        let merge = format!("{page}/merge");
        for (into, words) in [
            (dup.to_string(), "不能合并到这件诉求本身"),
            (format!("#{closed}"), "已办结，不能再并入重复件"),
            (elsewhere.to_string(), "不在您的管辖范围内"),
            ("999999".to_string(), "没有找到诉求 #999999"),
            ("十二".to_string(), "诉求编号应为数字"),
        ] {
            let r = c
                .post(&merge, &[("into_number", &into), ("reason", "同一盏路灯")])
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{into}");
            let form = part(&r.body, "action-merge", "</details>");
            assert!(form.contains(r#"data-field="into""#), "{into}: {form}");
            assert!(form.contains(words), "{into}: {form}");
            assert!(
                form.contains(">同一盏路灯</textarea>"),
                "the reason is kept"
            );
            assert!(!r.body.contains("系统暂时无法处理"));
        }
        let r = c.post(&merge, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let form = part(&r.body, "action-merge", "</details>");
        assert!(form.contains("请选择主件，或填写主件的编号"), "{form}");
        assert!(form.contains(r#"data-field="reason""#) && form.contains("请填写合并理由"));
        assert_eq!(
            merge_state(app, dup).await,
            before,
            "refusals change nothing"
        );
        assert_eq!(merge_state(app, primary).await.2, Vec::<i64>::new());
        assert_eq!(merge_state(app, closed).await.2, Vec::<i64>::new());

        // the merge through the offered choice
        let r = c
            .post(
                &merge,
                &[
                    ("into", &primary.to_string()),
                    ("reason", "同一路灯，另一位居民重复反映"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(location(&r), format!("/staff/cases/{dup}?done=merge"));
        let r = c.get(&location(&r)).await;
        assert!(r.body.contains("已完成：合并为重复件"));
        assert!(part(&r.body, "merged-into", "</p>")
            .contains(&format!(r#"href="/staff/cases/{primary}""#)));
        assert!(part(&r.body, "case-status", "</span>").contains("已办结"));
        assert!(r.body.contains(&format!(
            "作为重复件合并至诉求 #{primary}：同一路灯，另一位居民重复反映"
        )));
        assert!(
            !r.body.contains("action-merge"),
            "a merged case is not merged again"
        );
        assert_eq!(merge_state(app, dup).await.1, Some(primary));
        // the primary lists it
        let r = c.get(&format!("/staff/cases/{primary}")).await;
        assert!(
            part(&r.body, "duplicates", "</p>").contains(&format!(r#"href="/staff/cases/{dup}""#))
        );
        assert!(r.body.contains(&format!("重复件 #{dup} 已合并至本件")));
        assert_eq!(merge_state(app, primary).await.2, vec![dup]);
        assert!(
            !part(&r.body, "action-merge", "</details>")
                .contains(&format!(r#"name="into" value="{dup}""#)),
            "a merged duplicate is no primary"
        );

        // nor can anything be merged into the merged duplicate
        let third = app.file_case(&again, None).await.unwrap().id;
        let r = c
            .post(
                &format!("/staff/cases/{third}/merge"),
                &[("into_number", &dup.to_string()), ("reason", "重复")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains(&format!(
            "诉求 #{dup} 本身已作为重复件合并到其他诉求，请合并到它的主件"
        )));

        // English on request
        let r = c.get(&format!("/staff/cases/{third}?lang=en")).await;
        assert!(part(&r.body, "action-merge", "</details>").contains("Merge as a duplicate"));
    }
}

#[tokio::test]
async fn only_who_may_merge_is_offered_the_form_and_a_forged_merge_is_refused() {
    use serde_json::json;
    for site in Site::backends().await {
        let app = &site.app;
        let primary = app.file_case(&lamp(), None).await.unwrap().id;
        let dup = app.file_case(&lamp(), None).await.unwrap().id;
        let page = format!("/staff/cases/{dup}");
        let before = merge_state(app, dup).await;

        // the street and the leader see the case but do not merge at the first stop
        for login in ["jiedao.liu", "lingdao.yang"] {
            let mut s = Client::new(&site);
            s.login(login).await;
            let r = s.get(&page).await;
            assert_eq!(r.status, StatusCode::OK, "{login}");
            assert!(
                !r.body.contains("form-merge"),
                "{login} is not offered a merge"
            );
            // a post made by hand is refused in plain words
            let r = s
                .post(
                    &format!("{page}/merge"),
                    &[("into", &primary.to_string()), ("reason", "重复")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{login}");
            assert!(
                part(&r.body, "actions", "</section>").contains("您的单位或岗位不能进行此操作"),
                "{login}: {}",
                r.body
            );
        }
        // another community cannot even see it
        let mut o = Client::new(&site);
        o.login("cun.huang").await;
        o.get("/staff").await;
        let r = o
            .post(
                &format!("{page}/merge"),
                &[("into", &primary.to_string()), ("reason", "重复")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // a cross-site post is refused before anything
        let mut c = Client::new(&site);
        c.login("shequ.chen").await;
        c.get(&page).await;
        let t = c.csrf.clone();
        let r = c
            .post_raw(
                &format!("{page}/merge"),
                &[
                    ("csrf", &t),
                    ("into", &primary.to_string()),
                    ("reason", "重复"),
                ],
                Some("http://evil.example"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(merge_state(app, dup).await, before, "nothing changed");

        // once reported to the street the community may not merge; the petition bureau may
        run(
            app,
            "shequ.chen",
            dup,
            "triage",
            json!({"urgency": "urgent", "category": "基础建设"}),
        )
        .await;
        assert!(
            c.get(&page).await.body.contains("form-merge"),
            "still at the first stop"
        );
        run(app, "shequ.chen", dup, "report", json!({})).await;
        assert!(!c.get(&page).await.body.contains("form-merge"));
        let mut b = Client::new(&site);
        b.login("xinfang.he").await;
        let r = b.get(&page).await;
        assert!(
            r.body.contains("form-merge"),
            "the petition bureau merges while open"
        );
        let r = b
            .post(
                &format!("{page}/merge"),
                &[
                    ("into_number", &primary.to_string()),
                    ("reason", "重复反映"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(merge_state(app, dup).await.1, Some(primary));
    }
}

#[tokio::test]
async fn the_merge_form_offers_the_cases_linked_at_intake() {
    let site = Site::with_related().await;
    let app = &site.app;
    let primary = app.file_case(&lamp(), None).await.unwrap().id;
    // the same resident again, in other words: linked at intake, not found by the title
    let mut again = lamp();
    again.title = Some("路灯还是没人修".into());
    again.content = Some("幸福路口的路灯坏了一个星期，到现在还是没人修".into());
    let dup = app.file_case(&again, None).await.unwrap().id;
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let r = c.get(&format!("/staff/cases/{dup}")).await;
    let linked = part(&r.body, "linked", "</section>");
    assert!(
        linked.contains(&format!(r#"href="/staff/cases/{primary}""#)),
        "{linked}"
    );
    assert!(
        !part(&r.body, "related", "</section>").contains(&format!("/staff/cases/{primary}")),
        "the search does not find it"
    );
    let form = part(&r.body, "action-merge", "</details>");
    assert!(
        form.contains(&format!(r#"name="into" value="{primary}""#)),
        "{form}"
    );
    let r = c
        .post(
            &format!("/staff/cases/{dup}/merge"),
            &[
                ("into", &primary.to_string()),
                ("reason", "同一群众重复反映"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // the primary marks its linked duplicate as merged
    let r = c.get(&format!("/staff/cases/{primary}")).await;
    assert!(part(&r.body, "linked", "</section>").contains("（已合并）"));
}

/// Three residents report one broken lift at one place; two other matters elsewhere.
async fn file_lift_reports(app: &suqiu_app::App) -> Vec<i64> {
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
        let mut x = lamp();
        x.title = Some(title.to_string());
        x.content = Some(content.to_string());
        x.reporter_phone = Some(format!("1391234560{i}"));
        ids.push(app.file_case(&x, None).await.unwrap().id);
    }
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
        let mut x = lamp();
        x.title = Some(title.into());
        x.content = Some(content.into());
        app.file_case(&x, None).await.unwrap();
    }
    ids
}

#[tokio::test]
async fn hot_topics_group_one_local_problem_for_those_who_may_see_it() {
    for site in Site::backends().await {
        let ids = file_lift_reports(&site.app).await;

        let mut c = Client::new(&site);
        c.login("shequ.chen").await;
        let r = c.get("/staff").await;
        assert!(r.body.contains(r#"href="/staff/topics""#), "in the nav");
        let r = c.get("/staff/topics?days=7").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_csp_clean(&r.body);
        assert!(r.body.contains("近 7 天的热点问题"));
        assert!(r.body.contains(r#"<option value="7" selected>"#));
        let first = part(&r.body, "topic-1", "</tr>");
        assert!(
            first.contains("电梯") && first.contains("丽发新城"),
            "{first}"
        );
        assert!(first.contains("3 件"), "{first}");
        for id in &ids {
            assert!(
                first.contains(&format!(r#"href="/staff/cases/{id}""#)),
                "links to case {id}: {first}"
            );
        }
        assert!(!r.body.contains("1391234560"), "no reporter data");
        assert!(!r.body.contains("菜市场"), "one report is no topic");

        // the unit filter: the community itself, or a street it cannot see
        let r = c.get("/staff/topics?days=30&unit=430799001002").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(part(&r.body, "topics", "</section>").contains("电梯"));
        for bad in [
            "/staff/topics?days=5",
            "/staff/topics?days=abc",
            "/staff/topics?unit=430799004001",
            "/staff/topics?unit=nonsense",
        ] {
            let r = c.get(bad).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert!(
                r.body.contains("请选择统计期间") || r.body.contains("请从列表中选择单位"),
                "{bad}: {}",
                r.body
            );
            assert!(!r.body.contains("电梯"), "{bad}");
        }

        // the leader linked to 白沙街道 sees it on the dashboard and by street
        let mut y = Client::new(&site);
        y.login("lingdao.yang").await;
        let r = y.get("/staff/dashboard").await;
        assert_eq!(r.status, StatusCode::OK);
        let section = part(&r.body, "hot-topics", "</section>");
        assert!(
            section.contains("热点问题") && section.contains("电梯"),
            "{section}"
        );
        for id in &ids {
            assert!(section.contains(&format!(r#"href="/staff/cases/{id}""#)));
        }
        assert!(section.contains(r#"href="/staff/topics""#));
        let r = y.get("/staff/topics?days=90&unit=430799001").await;
        assert!(part(&r.body, "topics", "</section>").contains("电梯"));
        let r = y.get("/staff/topics?unit=430799002").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(part(&r.body, "topics", "</section>").contains("没有集中反映的问题"));
        let r = y.get("/staff/topics?lang=en").await;
        assert!(r.body.contains("Hot topics of the last 30 days"));

        // another community's staff and a leader linked elsewhere see none of it
        for login in ["cun.huang", "lingdao.xu"] {
            let mut o = Client::new(&site);
            o.login(login).await;
            let r = o.get("/staff/topics").await;
            assert_eq!(r.status, StatusCode::OK, "{login}");
            assert!(!r.body.contains("电梯"), "{login}");
            assert!(r.body.contains("近 30 天没有集中反映的问题"), "{login}");
            let r = o.get("/staff/dashboard").await;
            assert!(
                !part(&r.body, "hot-topics", "</section>").contains("电梯"),
                "{login}"
            );
        }
        // a week later the reports are older than the shortest period
        site.clock.advance(8 * 24 * 3600 * 1000);
        c.login("shequ.chen").await;
        let r = c.get("/staff/topics?days=7").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("近 7 天没有集中反映的问题"), "{}", r.body);
        assert!(!r.body.contains("电梯"));
        let r = c.get("/staff/topics?days=30").await;
        assert!(part(&r.body, "topic-1", "</tr>").contains("电梯"));
    }
}

#[tokio::test]
async fn the_dashboards_hot_topics_may_be_a_minute_old_the_topics_page_never() {
    let site = Site::new().await;
    let mut y = Client::new(&site);
    y.login("lingdao.yang").await;
    let r = y.get("/staff/dashboard").await;
    assert!(!part(&r.body, "hot-topics", "</section>").contains("电梯"));
    file_lift_reports(&site.app).await;
    // within the minute: the dashboard's answer is the one worked out before
    site.clock.advance(30_000);
    let r = y.get("/staff/dashboard").await;
    assert!(!part(&r.body, "hot-topics", "</section>").contains("电梯"));
    let r = y.get("/staff/topics").await;
    assert!(
        part(&r.body, "topics", "</section>").contains("电梯"),
        "the page is fresh"
    );
    // after it: worked out again
    site.clock.advance(31_000);
    let r = y.get("/staff/dashboard").await;
    assert!(part(&r.body, "hot-topics", "</section>").contains("电梯"));
}

/// Issue 13 item 1: an API token is never a page session. An admin's
/// read-only token put in the session cookie must not reset a password, and an
/// `open311` token must not write a note: the pages treat the visitor as
/// logged out (and so nothing is changed).
#[tokio::test]
async fn api_tokens_are_not_page_sessions() {
    let site = Site::new().await;
    let (session, _, _) = site
        .app
        .login("admin", suqiu_app::orgconfig::DEMO_PASSWORD, None)
        .await
        .unwrap();
    let admin = site.app.authenticate(&session).await.unwrap();
    // a read-only token and an open311 token
    let mut tokens = Vec::new();
    for scope in ["read", "open311"] {
        let (token, _) = site
            .app
            .create_api_token(
                &admin,
                suqiu_app::tokens::TokenRequest {
                    name: Some(scope.into()),
                    scopes: Some(vec![scope.into()]),
                    expires_in_days: Some(30),
                },
            )
            .await
            .unwrap();
        tokens.push(token);
    }
    let id = site.app.file_case(&lamp(), None).await.unwrap().id;
    let events_before = site.app.case_for(&admin, id).await.unwrap().events.len();

    for token in &tokens {
        let mut c = Client::new(&site);
        c.cookies.insert("suqiu_session".into(), token.clone());
        let r = c.get("/staff/admin").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(location(&r).starts_with("/login"), "{}", location(&r));
        // Even with the CSRF token a real session would have (SHA-256 of the token).
        let csrf = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        let body = [("csrf", csrf.as_str()), ("password", "Xin@Mima2026")];
        let r = c
            .post_raw(
                "/staff/admin/users/shequ.chen/password",
                &body,
                Some(&format!("http://{}", common::HOST)),
            )
            .await;
        assert_ne!(r.status, StatusCode::OK, "{}", r.body);
        let body = [("csrf", csrf.as_str()), ("text", "令牌写的备注")];
        let r = c
            .post_raw(
                &format!("/staff/cases/{id}/notes"),
                &body,
                Some(&format!("http://{}", common::HOST)),
            )
            .await;
        assert_ne!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert!(
        site.app
            .login("shequ.chen", suqiu_app::orgconfig::DEMO_PASSWORD, None)
            .await
            .is_ok(),
        "the password was not reset"
    );
    let view = site.app.case_for(&admin, id).await.unwrap();
    assert_eq!(view.events.len(), events_before, "no note was written");
}

#[tokio::test]
async fn behind_an_https_proxy_cookies_are_secure_and_hsts_is_sent() {
    let site = Site::new().await;
    for https in [false, true] {
        let mut c = Client::new(&site);
        c.https = https;
        let r = c.get("/login").await;
        assert_eq!(r.status, StatusCode::OK);
        let hsts = r.headers.get("strict-transport-security");
        assert_eq!(hsts.is_some(), https, "HSTS only over HTTPS");
        let r = c
            .post(
                "/login",
                &[
                    ("login", "shequ.chen"),
                    ("password", suqiu_app::orgconfig::DEMO_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookies: Vec<&str> = r
            .headers
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("suqiu_session="))
            .expect("session cookie");
        assert_eq!(session.contains("; Secure"), https, "{session}");
        assert!(session.contains("HttpOnly"), "{session}");
    }
}

#[tokio::test]
async fn a_department_sees_the_phone_to_call_after_giving_a_reason_and_it_is_audited() {
    let site = Site::new().await;
    let id = site.app.file_case(&lamp(), None).await.unwrap().id;
    for (login, cmd, body) in [
        (
            "shequ.chen",
            "triage",
            serde_json::json!({"urgency": "urgent", "category": "基础建设"}),
        ),
        ("shequ.chen", "report", serde_json::json!({})),
        ("jiedao.liu", "sign", serde_json::json!({})),
        (
            "jiedao.liu",
            "dispatch",
            serde_json::json!({"lead": "430799-D01", "difficulty": "ordinary"}),
        ),
    ] {
        run(&site.app, login, id, cmd, body).await;
    }
    let case = format!("/staff/cases/{id}");
    let mut d = Client::new(&site);
    d.login("bumen.zhang").await;
    let page = d.get(&case).await.body;
    assert!(page.contains("139****5678"), "masked at first");
    assert!(!page.contains("13912345678"));
    assert!(
        page.contains(r#"id="form-unmask""#),
        "offered to the department"
    );
    // a reason is required
    let r = d.post(&format!("{case}/unmask"), &[("reason", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"data-field="reason""#), "{}", r.body);
    assert!(!r.body.contains("13912345678"));
    let r = d
        .post(&format!("{case}/unmask"), &[("reason", "当天电话联系群众")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("王小明 13912345678"), "{}", r.body);
    assert!(r.body.contains(r#"id="unmasked""#));
    assert_eq!(
        r.headers[header::CACHE_CONTROL],
        "no-store",
        "the full phone is not cached"
    );
    // shown once: the next view is masked again
    assert!(!d.get(&case).await.body.contains("13912345678"));
    let audit = site.app.store().audit_rows(0, 1000).await.unwrap();
    assert!(
        audit.iter().any(|a| a.entry.action == "case.unmask"
            && a.entry.actor == "bumen.zhang"
            && a.entry.target == format!("case:{id}")
            && a.entry.reason == "当天电话联系群众"),
        "{audit:?}"
    );
    // an administrator manages the system, not residents: not offered
    let mut a = Client::new(&site);
    a.login("admin").await;
    assert!(!a.get(&case).await.body.contains(r#"id="form-unmask""#));
}

#[tokio::test]
async fn leaders_interview_any_level_and_provisional_deadlines_say_why() {
    let site = Site::new().await;
    let id = site.app.file_case(&lamp(), None).await.unwrap().id;
    for (login, cmd, body) in [
        (
            "shequ.chen",
            "triage",
            serde_json::json!({"urgency": "urgent", "category": "基础建设"}),
        ),
        ("shequ.chen", "report", serde_json::json!({})),
        ("jiedao.liu", "sign", serde_json::json!({})),
        (
            "jiedao.liu",
            "dispatch",
            serde_json::json!({"lead": "430799-D01", "difficulty": "ordinary"}),
        ),
    ] {
        run(&site.app, login, id, cmd, body).await;
    }
    let mut l = Client::new(&site);
    l.login("lingdao.yang").await;
    let page = l.get(&format!("/staff/cases/{id}")).await.body;
    let form = part(&page, "form-interview", "</form>");
    for unit in ["430799-D01", "430799001", "430799001002"] {
        assert!(
            form.contains(&format!(r#"<option value="{unit}">"#)),
            "{unit} in {form}"
        );
    }
    assert!(
        form.contains("白沙街道（乡镇（街道））") || form.contains("白沙街道（"),
        "{form}"
    );
    assert!(
        page.contains("24:00 前"),
        "due at the end of the day, plainly"
    );
    // a deadline over a year whose holiday notice is not out says why it is provisional
    site.clock.set(1_798_500_000_000); // 2026-12-29
    let id2 = site.app.file_case(&lamp(), None).await.unwrap().id;
    run(
        &site.app,
        "shequ.chen",
        id2,
        "triage",
        serde_json::json!({"urgency": "unreasonable", "category": "民生保障"}),
    )
    .await;
    let mut c = Client::new(&site);
    c.login("shequ.chen").await;
    let page = c.get(&format!("/staff/cases/{id2}")).await.body;
    assert!(
        page.contains(r#"<span class="provisional" title="该年度节假日安排尚未公布"#),
        "{page}"
    );
}

#[tokio::test]
async fn administrators_read_the_audit_log_newest_first_in_pages() {
    let site = Site::new().await;
    let mut a = Client::new(&site);
    a.login("admin").await;
    assert!(a
        .get("/staff/admin")
        .await
        .body
        .contains(r#"href="/staff/admin/audit""#));
    // 60 more audited steps: logins
    for _ in 0..60 {
        site.app
            .login("shequ.chen", suqiu_app::orgconfig::DEMO_PASSWORD, None)
            .await
            .unwrap();
    }
    let r = a.get("/staff/admin/audit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let head = site.app.audit_head().await.unwrap().unwrap();
    assert!(
        r.body.contains(&head.to_string()),
        "the head to keep off-site"
    );
    let rows = r.body.matches("<tr data-action=").count();
    assert_eq!(rows, 50, "a page of 50");
    let first = &r.body[r.body.find("<tr data-action=").unwrap()..];
    let first = &first[first.find('>').unwrap() + 1..];
    assert!(
        first.starts_with(&format!("<td>{}</td>", head.seq)),
        "newest first"
    );
    // the login in its own untranslated cell, the action in words
    assert!(r.body.contains(r#"<td translate="no">shequ.chen</td>"#));
    assert!(r.body.contains(r#"<tr data-action="login">"#) && r.body.contains("<td>登录</td>"));
    let older = common::location_of_link(&r.body, "audit-older");
    let r2 = a.get(&older).await;
    assert_eq!(r2.status, StatusCode::OK);
    assert!(r2.body.matches("<tr data-action=").count() >= 1);
    assert!(!r2.body.contains(&format!("\"><td>{}</td>", head.seq)));
    assert_eq!(
        a.get("/staff/admin/audit?before=x").await.status,
        StatusCode::BAD_REQUEST
    );
    // only administrators
    let mut c = Client::new(&site);
    c.login("xinfang.he").await;
    assert_eq!(
        c.get("/staff/admin/audit").await.status,
        StatusCode::FORBIDDEN
    );
}
