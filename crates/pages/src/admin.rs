//! The administrator's pages: the unit tree, users and roles (disable,
//! enable, end sessions), the holiday calendar (add a year's notice), the
//! deadline rules and the categories in force.

use crate::forms::Errors;
use crate::html::{esc, Lang};
use crate::{words, Ctx, PostForm};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use suqiu_app::privacy::{allowed, Permission};
use suqiu_app::StaffUser;
use suqiu_domain::{OrgTree, Role};

fn unit_tree(lang: Lang, org: &OrgTree) -> String {
    let mut units: Vec<_> = org.units().map(|(u, _)| u).collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    fn walk(lang: Lang, units: &[&suqiu_domain::Unit], parent: Option<&str>, out: &mut String) {
        let kids: Vec<_> = units
            .iter()
            .filter(|u| u.parent.as_deref() == parent)
            .collect();
        if kids.is_empty() {
            return;
        }
        out.push_str(r#"<ul class="tree">"#);
        for u in kids {
            out.push_str(&format!(
                r#"<li data-unit="{c}">{n} <span class="muted">{l} · {c}</span>"#,
                c = esc(&u.code),
                n = esc(&u.name),
                l = esc(words::level(lang, u.level))
            ));
            walk(lang, units, Some(&u.code), out);
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    let mut out = String::new();
    walk(lang, &units, None, &mut out);
    out
}

async fn admin_page(
    ctx: &Ctx,
    user: &StaffUser,
    cal_text: &str,
    errs: &Errors,
    done: Option<&str>,
) -> Response {
    let lang = ctx.lang;
    let org = ctx.app.org();
    let name = |c: &str| {
        org.unit(c)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    let mut users = String::new();
    let mut people = org.people().to_vec();
    people.sort_by(|a, b| a.role.cmp(&b.role).then(a.login.cmp(&b.login)));
    for p in &people {
        let disabled = matches!(ctx.app.store().user(&p.login).await, Ok(Some(u)) if u.disabled);
        let (action, label) = if disabled {
            ("enable", lang.t("启用", "Enable"))
        } else {
            ("disable", lang.t("停用", "Disable"))
        };
        let buttons = if p.login == user.login {
            String::new()
        } else {
            format!(
                r#"<form method="post" action="/staff/admin/users/{l}/{action}" class="inline">{csrf}<button type="submit" class="secondary" id="{action}-{l}">{label}</button></form>
<form method="post" action="/staff/admin/users/{l}/logout-all" class="inline">{csrf}<button type="submit" class="secondary">{lo}</button></form>"#,
                l = esc(&p.login),
                csrf = ctx.csrf_field(),
                label = esc(label),
                lo = esc(lang.t("强制下线", "End sessions")),
            )
        };
        let linked: Vec<String> = p.linked_units.iter().map(|c| name(c)).collect();
        users.push_str(&format!(
            r#"<tr data-login="{l}"><td>{l}</td><td>{n}</td><td>{r}</td><td>{u}</td><td>{lk}</td><td>{st}</td><td>{buttons}</td></tr>"#,
            l = esc(&p.login),
            n = esc(&p.name),
            r = esc(words::role(lang, p.role)),
            u = esc(&name(&p.unit)),
            lk = esc(&linked.join("、")),
            st = esc(if disabled { lang.t("已停用", "disabled") } else { lang.t("正常", "active") }),
        ));
    }
    let cal = ctx.app.calendar();
    let years: Vec<String> = cal.years_covered().iter().map(|y| y.to_string()).collect();
    let mut rules = String::new();
    for r in &ctx.app.rules().rules {
        rules.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&words::rule(lang, &r.id)),
            esc(&r.start),
            esc(&r.when.join(", ")),
            r.length,
            esc(&format!("{:?}", r.unit)),
            esc(&r.ends.join(", ")),
        ));
    }
    let cats: Vec<String> = ctx
        .app
        .rules()
        .categories
        .iter()
        .map(|c| format!("<li>{}</li>", esc(c)))
        .collect();
    let body = format!(
        r#"<h1>{h}</h1>{done}
<p><a href="/staff/admin/templates" id="templates-link">{l_templates}</a></p>
<div class="grid two"><div>
<section class="card" id="users"><h2>{hu}</h2><div class="table-wrap"><table><thead><tr><th>{l_login}</th><th>{l_name}</th><th>{l_role}</th><th>{l_unit}</th><th>{l_linked}</th><th>{l_state}</th><th></th></tr></thead><tbody>{users}</tbody></table></div>
<p class="hint">{hu_hint}</p></section>
<section class="card" id="calendar"><h2>{hc}</h2><p>{l_years}{years}</p>
<form method="post" action="/staff/admin/calendar" id="calendar-form" novalidate>{csrf}{rest}
<label for="calendar-text">{l_text}</label><textarea id="calendar-text" name="text" rows="8"{inv}>{cal_text}</textarea>{e_text}
<p class="hint">{hint_text}</p><button type="submit">{b_add}</button></form></section>
<section class="card" id="rules"><h2>{hr}</h2><div class="table-wrap"><table><thead><tr><th>{l_rule}</th><th>{l_start}</th><th>{l_when}</th><th class="num">{l_len}</th><th>{l_unitd}</th><th>{l_ends}</th></tr></thead><tbody>{rules}</tbody></table></div>
<p class="hint">{hr_hint}</p></section>
<section class="card" id="categories"><h2>{hk}</h2><ul>{cats}</ul></section>
</div><section class="card" id="units"><h2>{ht}</h2>{tree}<p class="hint">{ht_hint}</p></section></div>"#,
        h = esc(lang.t("系统管理", "Administration")),
        l_templates = esc(lang.t("通知模板", "Message templates")),
        done = done.map(|d| format!(r#"<p class="notice" role="status" id="done">{}</p>"#, esc(d))).unwrap_or_default(),
        hu = esc(lang.t("用户和角色", "Users and roles")),
        l_login = esc(lang.t("账号", "Login")),
        l_name = esc(lang.t("姓名", "Name")),
        l_role = esc(lang.t("角色", "Role")),
        l_unit = esc(lang.t("单位", "Unit")),
        l_linked = esc(lang.t("挂点", "Linked")),
        l_state = esc(lang.t("状态", "State")),
        hu_hint = esc(lang.t("新增用户和调整角色：编辑组织配置文件后重新加载（suqiu serve --org）。", "To add users or change roles, edit the organisation config and reload it (suqiu serve --org).")),
        hc = esc(lang.t("节假日日历", "Holiday calendar")),
        l_years = esc(lang.t("已有节假日数据的年份：", "Years with holiday data: ")),
        years = esc(&years.join("、")),
        csrf = ctx.csrf_field(),
        rest = errs.rest(&["text"]),
        l_text = esc(lang.t("新增一年（国务院节假日安排通知）", "Add a year (State Council holiday notice)")),
        inv = errs.invalid("text"),
        cal_text = esc(cal_text),
        e_text = errs.at("text"),
        hint_text = esc(lang.t("格式：year 2027 / off 2027-01-01 元旦 / work 2027-02-07 春节（调休上班），或粘贴 holiday-cn 的 JSON。", "Format: year 2027 / off 2027-01-01 New Year / work 2027-02-07 (make-up day), or paste holiday-cn JSON.")),
        b_add = esc(lang.t("保存", "Save")),
        hr = esc(lang.t("办理时限规则", "Deadline rules")),
        l_rule = esc(lang.t("时限", "Deadline")),
        l_start = esc(lang.t("起算事件", "Starts at")),
        l_when = esc(lang.t("适用", "When")),
        l_len = esc(lang.t("长度", "Length")),
        l_unitd = esc(lang.t("单位", "Unit")),
        l_ends = esc(lang.t("结束事件", "Ends at")),
        hr_hint = esc(lang.t("时限规则与类别在 config/deadline-rules.toml 中配置，重启后生效。", "Rules and categories are configured in config/deadline-rules.toml and take effect at restart.")),
        hk = esc(lang.t("诉求类别", "Categories")),
        cats = cats.join(""),
        ht = esc(lang.t("组织架构", "Unit tree")),
        tree = unit_tree(lang, &org),
        ht_hint = esc(lang.t("组织架构由组织配置文件加载。", "The unit tree is loaded from the organisation config.")),
    );
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, lang.t("系统管理", "Administration"), &body)
}

#[allow(clippy::result_large_err)] // an HTTP response is the error here
pub(crate) fn admin_only(ctx: &Ctx) -> Result<StaffUser, Response> {
    let user = ctx.require_staff()?;
    if user.role != Role::Admin {
        return Err(ctx.error_page(
            StatusCode::FORBIDDEN,
            "只有系统管理员可以使用此页面。",
            "Only administrators may use this page.",
        ));
    }
    Ok(user)
}

pub async fn admin(ctx: Ctx) -> Response {
    match admin_only(&ctx) {
        Ok(user) => admin_page(&ctx, &user, "", &Errors::default(), None).await,
        Err(r) => r,
    }
}

pub async fn user_action(
    Path((login, action)): Path<(String, String)>,
    PostForm { ctx, .. }: PostForm,
) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let result = match action.as_str() {
        "disable" => ctx
            .app
            .set_disabled(&user, &login, true)
            .await
            .map(|_| ctx.t("已停用", "Disabled")),
        "enable" => ctx
            .app
            .set_disabled(&user, &login, false)
            .await
            .map(|_| ctx.t("已启用", "Enabled")),
        "logout-all" if allowed(user.role, Permission::ManageUsers) => ctx
            .app
            .logout_everywhere(&user, &login)
            .await
            .map(|_| ctx.t("已强制下线", "Sessions ended")),
        _ => return ctx.error_page(StatusCode::NOT_FOUND, "没有这个操作。", "No such action."),
    };
    match result {
        Ok(msg) => {
            admin_page(
                &ctx,
                &user,
                "",
                &Errors::default(),
                Some(&format!("{login}：{msg}")),
            )
            .await
        }
        Err(e) => {
            let errs = crate::forms::app_errors(ctx.lang, &e, &|f| f.to_string());
            admin_page(&ctx, &user, "", &errs, None).await
        }
    }
}

pub async fn add_year(PostForm { ctx, fields }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let text = fields
        .0
        .iter()
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut errs = Errors::default();
    if text.trim().is_empty() {
        errs.add(
            "text",
            ctx.t(
                "请粘贴一年的节假日安排",
                "Paste one year's holiday arrangement",
            ),
        );
        return admin_page(&ctx, &user, &text, &errs, None).await;
    }
    match ctx.app.add_calendar_year(&text, &user.login).await {
        Ok(years) => {
            let y: Vec<String> = years.iter().map(|y| y.to_string()).collect();
            let msg = format!(
                "{}{}",
                ctx.t("已保存节假日数据：", "Holiday data saved: "),
                y.join("、")
            );
            admin_page(&ctx, &user, "", &errs, Some(&msg)).await
        }
        Err(suqiu_app::AppError::Calendar(e)) => {
            errs.add(
                "text",
                format!(
                    "{}{e}",
                    ctx.t("节假日数据有误：", "The holiday data is wrong: ")
                ),
            );
            admin_page(&ctx, &user, &text, &errs, None).await
        }
        Err(e) => {
            let errs = crate::forms::app_errors(ctx.lang, &e, &|_| "text".to_string());
            admin_page(&ctx, &user, &text, &errs, None).await
        }
    }
}
