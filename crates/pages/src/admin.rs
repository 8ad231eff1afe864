//! The administrator's pages: the unit tree (add, rename, remove), users and roles
//! (create, change role and unit, reset the password, disable, enable, end
//! sessions), the holiday calendar (add a year's notice), the deadline rules
//! (edited as the TOML of `config/deadline-rules.toml`) and the categories.

use crate::forms::{app_errors, Errors, Fields};
use crate::html::Lang;
use crate::{ui, words, Ctx, PostForm};
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use suqiu_app::privacy::{allowed, Permission};
use suqiu_app::StaffUser;
use suqiu_domain::{OrgTree, Role};

fn unit_tree(lang: Lang, org: &OrgTree) -> Markup {
    let mut units: Vec<_> = org.units().map(|(u, _)| u).collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    fn walk(lang: Lang, units: &[&suqiu_domain::Unit], parent: Option<&str>) -> Markup {
        let kids: Vec<_> = units
            .iter()
            .filter(|u| u.parent.as_deref() == parent)
            .collect();
        html! {
            @if !kids.is_empty() {
                ul.tree {
                    @for u in kids {
                        li data-unit=(u.code) {
                            (u.name) " "
                            span.muted { (words::level(lang, u.level)) " · " (u.code) }
                            (walk(lang, units, Some(&u.code)))
                        }
                    }
                }
            }
        }
    }
    walk(lang, &units, None)
}

/// The role select of a user form (`name`: the field's name).
fn role_select(lang: Lang, id: &str, name: &str, selected: Option<Role>) -> Markup {
    html! {
        select id=(id) name=(name) {
            @for r in Role::ALL {
                option value=(r.as_str()) selected[Some(r) == selected] { (words::role(lang, r)) }
            }
        }
    }
}

/// The levels an administrator may add (one district only).
fn level_select(lang: Lang, selected: Option<suqiu_domain::Level>) -> Markup {
    use suqiu_domain::Level;
    html! {
        select id="unit-level" name="unit_level" {
            @for l in [
                Level::Street,
                Level::Community,
                Level::Grid,
                Level::Hamlet,
                Level::Department,
            ] {
                option value=(l.as_str()) selected[Some(l) == selected] { (words::level(lang, l)) }
            }
        }
    }
}

/// The buttons and forms of one user's row (not on the administrator's own row).
fn user_buttons(ctx: &Ctx, p: &suqiu_domain::Person, disabled: bool) -> Markup {
    let lang = ctx.lang;
    let csrf = ui::csrf(&ctx.csrf_token());
    let l = &p.login;
    let (action, label) = if disabled {
        ("enable", lang.tr("enable"))
    } else {
        ("disable", lang.tr("disable"))
    };
    html! {
        form method="post" action=(format!("/staff/admin/users/{l}/{action}")) class="inline" {
            (csrf)
            button type="submit" class="secondary" id=(format!("{action}-{l}")) { (label) }
        }
        " "
        form method="post" action=(format!("/staff/admin/users/{l}/logout-all")) class="inline" {
            (csrf)
            button type="submit" class="secondary" { (lang.tr("end-sessions")) }
        }
        details class="user-edit" {
            summary { (lang.tr("change-role-reset-password")) }
            form method="post" action=(format!("/staff/admin/users/{l}/role")) id=(format!("role-{l}")) {
                (csrf)
                label for=(format!("role-{l}-role")) { (lang.tr("role")) }
                (role_select(lang, &format!("role-{l}-role"), "role", Some(p.role)))
                label for=(format!("role-{l}-unit")) { (lang.tr("unit-code")) }
                input type="text" id=(format!("role-{l}-unit")) name="unit" list="unit-codes" value=(p.unit);
                label for=(format!("role-{l}-linked")) {
                    (lang.tr(
                        "linked-unit-codes-leaders-comma-separated"
                    ))
                }
                input type="text" id=(format!("role-{l}-linked")) name="linked_units" list="unit-codes"
                    value=(p.linked_units.join(","));
                button type="submit" class="secondary" { (lang.tr("save-role")) }
            }
            form method="post" action=(format!("/staff/admin/users/{l}/password")) id=(format!("password-{l}")) {
                (csrf)
                label for=(format!("password-{l}-new")) { (lang.tr("new-password")) }
                input type="password" id=(format!("password-{l}-new")) name="password" autocomplete="new-password";
                button type="submit" class="secondary" { (lang.tr("reset-password")) }
            }
        }
    }
}

async fn admin_page(
    ctx: &Ctx,
    user: &StaffUser,
    f: &Fields,
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
    let mut people = org.people().to_vec();
    people.sort_by(|a, b| a.role.cmp(&b.role).then(a.login.cmp(&b.login)));
    let disabled_logins: std::collections::BTreeSet<String> = match ctx.app.users(user).await {
        Ok(all) => all
            .into_iter()
            .filter(|u| u.disabled)
            .map(|u| u.login)
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading users");
            Default::default()
        }
    };
    let users = html! {
        @for p in &people {
            @let disabled = disabled_logins.contains(&p.login);
            @let linked: Vec<String> = p.linked_units.iter().map(|c| name(c)).collect();
            tr data-login=(p.login) {
                td translate="no" { (p.login) }
                td { (p.name) }
                td data-role=(p.role.as_str()) { (words::role(lang, p.role)) }
                td data-unit=(p.unit) { (name(&p.unit)) }
                td { (linked.join("、")) }
                td { (if disabled { lang.tr("disabled") } else { lang.tr("active") }) }
                td {
                    @if p.login != user.login {
                        (user_buttons(ctx, p, disabled))
                    }
                }
            }
        }
    };
    let unit_codes = html! {
        datalist id="unit-codes" {
            @for (u, _) in org.units() {
                option value=(u.code) { (u.name) }
            }
        }
    };
    let cal = ctx.app.calendar();
    let years: Vec<String> = cal.years_covered().iter().map(|y| y.to_string()).collect();
    let rules_in_force = ctx.app.rules();
    let kinds = |ks: &[String]| {
        ks.iter()
            .map(|k| words::event_kind(lang, k))
            .collect::<Vec<_>>()
            .join("、")
    };
    let rules = html! {
        @for r in &rules_in_force.rules {
            @let tags: Vec<String> = r.when.iter().map(|t| words::rule_tag(lang, t)).collect();
            tr data-rule=(r.id) {
                td { (words::rule(lang, &r.id)) }
                td { (words::event_kind(lang, &r.start)) }
                td {
                    @if tags.is_empty() { (lang.tr("all-2")) } @else { (tags.join("、")) }
                }
                td.num { (r.length) }
                td { (words::day_unit(lang, r.unit)) }
                td { (kinds(&r.ends)) }
            }
        }
    };
    let rules_text =
        f.0.iter()
            .find(|(k, _)| k == "rules")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| ctx.app.rules_toml());
    let cats_text =
        f.0.iter()
            .find(|(k, _)| k == "categories")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| rules_in_force.categories.join("\n"));
    let new_role = f.get("new_role").and_then(Role::parse);
    let unit_input = |ids: (&str, &str), label: &str, max: usize, codes: bool| {
        ui::text_input(ids, label, max, codes.then_some("unit-codes"), (f, errs))
    };
    let csrf = ui::csrf(&ctx.csrf_token());
    let version = match ctx.app.rules_version() {
        0 => lang.tr("config-file-not-edited-online").to_string(),
        v => v.to_string(),
    };
    let body = html! {
        h1 { (lang.tr("administration")) }
        @if let Some(d) = done {
            p class="notice" role="status" id="done" { (d) }
        }
        (ui::errors_rest(errs, &[
            "text", "rules", "categories", "login", "name", "role", "unit", "password",
            "unit_parent", "unit_level", "unit_code", "unit_name", "rename_code", "rename_name", "remove_code",
        ]))
        p {
            a href="/staff/admin/templates" id="templates-link" { (lang.tr("message-templates")) }
            " · "
            a href="/staff/admin/audit" id="audit-link" { (lang.tr("audit-log")) }
        }
        div class="grid two" {
            div {
                section class="card" id="users" {
                    h2 { (lang.tr("users-and-roles")) }
                    (ui::wrapped_table(
                        &[
                            lang.tr("login"),
                            lang.tr("name"),
                            lang.tr("role"),
                            lang.tr("unit"),
                            lang.tr("linked"),
                            lang.tr("state"),
                            "",
                        ],
                        users,
                    ))
                    (unit_codes)
                    h3 { (lang.tr("new-staff-user")) }
                    form method="post" action="/staff/admin/users" id="new-user-form" novalidate {
                        (csrf)
                        (ui::text_input(("new-login", "login"), lang.tr("login"), 32, None, (f, errs)))
                        (ui::text_input(("new-name", "name"), lang.tr("name"), 20, None, (f, errs)))
                        label for="new-role" { (lang.tr("role")) }
                        (role_select(lang, "new-role", "new_role", new_role))
                        (ui::error_at(errs, "role"))
                        label for="new-unit" { (lang.tr("unit-code")) }
                        input type="text" id="new-unit" name="unit" list="unit-codes"
                            value=(f.value("unit")) aria-invalid=[ui::invalid(errs, "unit")];
                        (ui::error_at(errs, "unit"))
                        label for="new-password" { (lang.tr("initial-password")) }
                        input type="password" id="new-password" name="password" autocomplete="new-password"
                            aria-invalid=[ui::invalid(errs, "password")];
                        (ui::error_at(errs, "password"))
                        p class="hint" {
                            (lang.tr("at-least-10-characters-with-three"))
                        }
                        button type="submit" id="create-user" { (lang.tr("create-user")) }
                    }
                    p class="hint" {
                        (lang.tr("after-a-role-unit-or-password"))
                    }
                }
                section class="card" id="calendar" {
                    h2 { (lang.tr("holiday-calendar")) }
                    p { (lang.tr("years-with-holiday-data")) (years.join("、")) }
                    form method="post" action="/staff/admin/calendar" id="calendar-form" novalidate {
                        (csrf)
                        label for="calendar-text" {
                            (lang.tr("add-a-year-state-council-holiday"))
                        }
                        textarea id="calendar-text" name="text" rows="8" translate="no" aria-invalid=[ui::invalid(errs, "text")] {
                            (f.value("text"))
                        }
                        (ui::error_at(errs, "text"))
        p class="hint" {
                            (lang.tr("calendar-format"))
                            code translate="no" { (lang.tr("calendar-format-example")) }
                            (lang.tr("calendar-format-or-json"))
                        }
                        button type="submit" { (lang.tr("save")) }
                    }
                }
                section class="card" id="rules" {
                    h2 { (lang.tr("deadline-rules")) }
                    p class="muted" { (lang.tr("rules-version")) (version) }
                    div class="table-wrap" {
                        table {
                            thead {
                                tr {
                                    th { (lang.tr("deadline")) }
                                    th { (lang.tr("starts-at")) }
                                    th { (lang.tr("when")) }
                                    th class="num" { (lang.tr("length")) }
                                    th { (lang.tr("unit")) }
                                    th { (lang.tr("ends-at")) }
                                }
                            }
                            tbody { (rules) }
                        }
                    }
                    form method="post" action="/staff/admin/rules" id="rules-form" novalidate {
                        (csrf)
                        label for="rules-text" {
                            (lang.tr("edit-the-rules-the-format-of"))
                        }
                        textarea id="rules-text" name="rules" rows="16" class="code" translate="no" aria-invalid=[ui::invalid(errs, "rules")] {
                            (rules_text)
                        }
                        (ui::error_at(errs, "rules"))
                        p class="hint" {
                            (lang.tr("saved-rules-apply-here-at-once"))
                        }
                        button type="submit" id="save-rules" { (lang.tr("save")) }
                    }
                }
                section class="card" id="categories" {
                    h2 { (lang.tr("categories")) }
                    ul id="category-list" {
                        @for c in &rules_in_force.categories { li { (c) } }
                    }
                    form method="post" action="/staff/admin/categories" id="categories-form" novalidate {
                        (csrf)
                        label for="categories-text" { (lang.tr("one-category-per-line")) }
                        textarea id="categories-text" name="categories" rows="6" aria-invalid=[ui::invalid(errs, "categories")] {
                            (cats_text)
                        }
                        (ui::error_at(errs, "categories"))
                        button type="submit" id="save-categories" { (lang.tr("save")) }
                    }
                }
            }
            section class="card" id="units" {
                h2 { (lang.tr("unit-tree")) }
                h3 { (lang.tr("add-a-unit")) }
                form method="post" action="/staff/admin/units" id="unit-add-form" novalidate {
                    (csrf)
                    (unit_input(("unit-parent", "unit_parent"), lang.tr("parent-unit-code"), 32, true))
                    label for="unit-level" { (lang.tr("level")) }
                    (level_select(lang, f.get("unit_level").and_then(suqiu_domain::Level::parse)))
                    (ui::error_at(errs, "unit_level"))
                    (unit_input(("unit-code", "unit_code"), lang.tr("unit-code"), 32, false))
                    (unit_input(("unit-name", "unit_name"), lang.tr("unit-name"), 40, false))
                    p class="hint" {
                        (lang.tr("msg-1-32-letters-digits-or-fixed"))
                    }
                    button type="submit" id="add-unit" { (lang.tr("add-unit")) }
                }
                h3 { (lang.tr("rename-a-unit")) }
                form method="post" action="/staff/admin/units/rename" id="unit-rename-form" novalidate {
                    (csrf)
                    (unit_input(("rename-code", "rename_code"), lang.tr("unit-code"), 32, true))
                    (unit_input(("rename-name", "rename_name"), lang.tr("new-name"), 40, false))
                    button type="submit" id="rename-unit" class="secondary" { (lang.tr("rename")) }
                }
                h3 { (lang.tr("remove-a-unit")) }
                form method="post" action="/staff/admin/units/remove" id="unit-remove-form" novalidate {
                    (csrf)
                    (unit_input(("remove-code", "remove_code"), lang.tr("unit-code"), 32, true))
                    p class="hint" {
                        (lang.tr("only-a-unit-added-by-mistake"))
                    }
                    button type="submit" id="remove-unit" class="secondary" { (lang.tr("remove-unit")) }
                }
                p class="hint" {
                    (lang.tr("changes-apply-here-at-once-and"))
                }
                (unit_tree(lang, &org))
            }
        }
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, lang.tr("administration"), body)
}

#[allow(clippy::result_large_err)] // an HTTP response is the error here
pub(crate) fn admin_only(ctx: &Ctx) -> Result<StaffUser, Response> {
    let user = ctx.require_staff()?;
    if user.role != Role::Admin {
        return Err(ctx.error_page(
            StatusCode::FORBIDDEN,
            "only-administrators-may-use-this-page",
        ));
    }
    Ok(user)
}

pub async fn admin(ctx: Ctx) -> Response {
    match admin_only(&ctx) {
        Ok(user) => admin_page(&ctx, &user, &Fields::default(), &Errors::default(), None).await,
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
            .map(|_| ctx.tr("disabled-2")),
        "enable" => ctx
            .app
            .set_disabled(&user, &login, false)
            .await
            .map(|_| ctx.tr("enabled")),
        "logout-all" if allowed(user.role, Permission::ManageUsers) => ctx
            .app
            .logout_everywhere(&user, &login)
            .await
            .map(|_| ctx.tr("sessions-ended")),
        _ => return ctx.error_page(StatusCode::NOT_FOUND, "no-such-action"),
    };
    match result {
        Ok(msg) => {
            admin_page(
                &ctx,
                &user,
                &Fields::default(),
                &Errors::default(),
                Some(&format!("{login}：{msg}")),
            )
            .await
        }
        Err(e) => {
            let errs = crate::forms::app_errors(ctx.lang, &e, &|f| f.to_string());
            admin_page(&ctx, &user, &Fields::default(), &errs, None).await
        }
    }
}

pub async fn add_year(PostForm { ctx, fields, .. }: PostForm) -> Response {
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
        errs.add("text", ctx.tr("paste-one-years-holiday-arrangement"));
        return admin_page(&ctx, &user, &fields, &errs, None).await;
    }
    match ctx.app.add_calendar_year(&text, &user.login).await {
        Ok(added) => {
            let y: Vec<String> = added.years.iter().map(|y| y.to_string()).collect();
            let r = &added.recomputed;
            let msg = format!(
                "{}{}{}",
                ctx.tr("holiday-data-saved"),
                y.join("、"),
                if r.recomputed > 0 {
                    format!(
                        "{}{}",
                        ctx.tr("provisional-deadlines-counted-again"),
                        r.recomputed
                    )
                } else {
                    String::new()
                }
            );
            admin_page(&ctx, &user, &Fields::default(), &errs, Some(&msg)).await
        }
        Err(suqiu_app::AppError::Calendar(e)) => {
            errs.add(
                "text",
                format!("{}{e}", ctx.tr("the-holiday-data-is-wrong")),
            );
            admin_page(&ctx, &user, &fields, &errs, None).await
        }
        Err(e) => {
            let errs = crate::forms::app_errors(ctx.lang, &e, &|_| "text".to_string());
            admin_page(&ctx, &user, &fields, &errs, None).await
        }
    }
}

/// Runs an administrator's change and shows the page again: the notice on
/// success, else the errors next to the fields (the fields kept).
async fn after_change(
    ctx: &Ctx,
    user: &StaffUser,
    fields: &Fields,
    result: suqiu_app::Result<String>,
    rename: &(dyn Fn(&str) -> String + Sync),
) -> Response {
    match result {
        Ok(msg) => {
            admin_page(
                ctx,
                user,
                &Fields::default(),
                &Errors::default(),
                Some(&msg),
            )
            .await
        }
        Err(e) => admin_page(ctx, user, fields, &app_errors(ctx.lang, &e, rename), None).await,
    }
}

pub async fn set_rules(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let text = fields.value("rules");
    let result = ctx
        .app
        .set_rules_toml(&user, &text)
        .await
        .map(|v| format!("{}{v}", ctx.tr("deadline-rules-saved-version")));
    after_change(&ctx, &user, &fields, result, &|_| "rules".to_string()).await
}

pub async fn set_categories(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let categories: Vec<String> = fields
        .value("categories")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let result = ctx
        .app
        .set_categories(&user, categories)
        .await
        .map(|v| format!("{}{v}", ctx.tr("categories-saved-rules-version")));
    after_change(&ctx, &user, &fields, result, &|_| "categories".to_string()).await
}

pub async fn create_user(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let new = suqiu_app::users::NewUser {
        login: fields.value("login"),
        name: fields.value("name"),
        role: fields.value("new_role"),
        unit: fields.value("unit"),
        linked_units: Vec::new(),
        password: fields
            .0
            .iter()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    let login = new.login.clone();
    let result = ctx
        .app
        .create_user(&user, new)
        .await
        .map(|_| format!("{login}：{}", ctx.tr("created")));
    after_change(&ctx, &user, &fields, result, &|f| f.to_string()).await
}

pub async fn change_role(
    Path(login): Path<String>,
    PostForm { ctx, fields, .. }: PostForm,
) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let linked: Vec<String> = fields
        .value("linked_units")
        .split([',', '，', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let result = ctx
        .app
        .change_user_role(
            &user,
            &login,
            &fields.value("role"),
            &fields.value("unit"),
            linked,
        )
        .await
        .map(|_| format!("{login}：{}", ctx.tr("role-and-unit-saved")));
    // errors of this row's form are shown at the top (the new-user form has the same names)
    after_change(&ctx, &user, &Fields::default(), result, &|_| String::new()).await
}

pub async fn reset_password(
    Path(login): Path<String>,
    PostForm { ctx, fields, .. }: PostForm,
) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let password = fields
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let result = ctx
        .app
        .reset_password(&user, &login, &password)
        .await
        .map(|_| format!("{login}：{}", ctx.tr("password-reset")));
    after_change(&ctx, &user, &Fields::default(), result, &|_| String::new()).await
}

pub async fn add_unit(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let new = suqiu_app::units::NewUnit {
        code: fields.value("unit_code"),
        name: fields.value("unit_name"),
        level: fields.value("unit_level"),
        parent: fields.value("unit_parent"),
    };
    let result = ctx
        .app
        .add_unit(&user, new)
        .await
        .map(|u| format!("{}（{}）：{}", u.name, u.code, ctx.tr("unit-added")));
    after_change(&ctx, &user, &fields, result, &|f| format!("unit_{f}")).await
}

/// An unknown unit code typed into a unit form, as an error of that field
/// (not the filing form's "choose your village" message of `app_errors`).
fn unknown_unit_at(
    result: suqiu_app::Result<String>,
    field: &'static str,
) -> suqiu_app::Result<String> {
    result.map_err(|e| match e {
        suqiu_app::AppError::UnknownUnit(_) => suqiu_app::AppError::Invalid(
            suqiu_domain::FieldError::new(field, suqiu_domain::FieldErrorKind::InvalidValue),
        ),
        other => other,
    })
}

pub async fn rename_unit(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let code = fields.value("rename_code").trim().to_string();
    let result = ctx
        .app
        .rename_unit(&user, &code, &fields.value("rename_name"))
        .await
        .map(|_| format!("{code}：{}", ctx.tr("unit-renamed")));
    let result = unknown_unit_at(result, "code");
    after_change(&ctx, &user, &fields, result, &|f| format!("rename_{f}")).await
}

pub async fn remove_unit(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let code = fields.value("remove_code").trim().to_string();
    let result = if code.is_empty() {
        Err(suqiu_app::AppError::Invalid(suqiu_domain::FieldError::new(
            "code",
            suqiu_domain::FieldErrorKind::Missing,
        )))
    } else {
        ctx.app
            .remove_unit(&user, &code)
            .await
            .map(|_| format!("{code}：{}", ctx.tr("unit-removed")))
    };
    let result = unknown_unit_at(result, "code");
    after_change(&ctx, &user, &fields, result, &|f| format!("remove_{f}")).await
}

/// Rows of one page of the audit log.
const AUDIT_PAGE: i64 = 50;

/// `GET /staff/admin/audit`: the audit log, newest first, 50 records a page
/// (`?before=SEQ` for older ones), with the chain's head to keep off-site
/// (`suqiu audit verify --expect-head` checks the log still holds it).
pub async fn audit_page(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !allowed(user.role, Permission::ReadAudit) {
        return ctx.error_page(StatusCode::FORBIDDEN, "you-may-not-read-the-audit");
    }
    let before: Option<i64> = match crate::query_pairs(q.as_deref())
        .iter()
        .find(|(k, _)| k == "before")
        .map(|(_, v)| v.parse::<i64>())
    {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => return ctx.error_page(StatusCode::BAD_REQUEST, "the-page-parameter-is-wrong"),
    };
    let head = match ctx.app.audit_head().await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "audit head");
            return ctx.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "the-audit-log-cannot-be-read",
            );
        }
    };
    let last = before.map_or(head.as_ref().map_or(0, |h| h.seq), |b| b - 1);
    let from = (last - AUDIT_PAGE + 1).max(1);
    let mut rows = if last >= 1 {
        ctx.app
            .store()
            .audit_rows(from, u32::try_from(last - from + 1).unwrap_or(0))
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    rows.reverse();
    let lang = ctx.lang;
    let table = html! {
        @for r in &rows {
            @let e = &r.entry;
            tr data-action=(e.action) {
                td { (r.seq) }
                td { (crate::html::when(e.at)) }
                @match e.actor.as_str() {
                    "system" | "resident" => td { (words::actor_code(lang, &e.actor)) },
                    login => td translate="no" { (login) },
                }
                td { (words::audit_action(lang, &e.action)) }
                td translate="no" { (e.target) }
                td { (e.reason) }
            }
        }
    };
    let heads = [
        lang.tr("seq"),
        lang.tr("time"),
        lang.tr("actor"),
        lang.tr("action"),
        lang.tr("target"),
        lang.tr("reason-2"),
    ];
    let older = (from > 1).then(|| {
        ui::link(
            &format!("/staff/admin/audit?before={from}"),
            "audit-older",
            lang.tr("older-records"),
        )
    });
    let body = ui::section(
        "audit",
        lang.tr("audit-log"),
        html! {
            p id="audit-head" {
                @match &head {
                    Some(h) => {
                        (lang.tr("head-of-the-chain-keep-it"))
                        code translate="no" { "suqiu audit verify --expect-head " (h) }
                    }
                    None => (lang.tr("no-records-yet")),
                }
            }
            (ui::table("audit-log", &heads, table))
            @if let Some(o) = older { (o) }
        },
    );
    ctx.page(lang.tr("audit-log"), body)
}
