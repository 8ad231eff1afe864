//! Message templates for administrators (`/staff/admin/templates`): the list
//! of every template (kind, audience, language) with its text in force, and
//! an edit form per template with a preview rendered on a sample case; saving
//! stores an override (checked, audited; every server's sender uses it from
//! its next message on), "restore default" removes it.

use crate::forms::{Errors, Fields};
use crate::html::{esc, Lang};
use crate::{Ctx, PostForm};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use suqiu_app::templates::{Rendered, TemplateInfo, TemplateKey, TemplateText};
use suqiu_app::{AppError, StaffUser};

fn kind_words(lang: Lang, kind: &str) -> String {
    let zh = match kind {
        "received" => "受理",
        "triaged" => "研判",
        "reported_to_street" => "上报乡镇（街道）",
        "signed" => "签收",
        "street_assigned" => "乡镇（街道）跟单",
        "dispatched" => "派单",
        "accepted" => "接单",
        "returned" => "退单",
        "replied" => "答复",
        "explained" => "解释说明",
        "rated" => "评价",
        "reopened" => "重新办理",
        "closed" => "办结",
        "ownership_taken" => "领导包案",
        "supervised" => "督办",
        "cooperation_reported" => "协办反馈",
        "deadline_warned" => "时限预警",
        "deadline_overdue" => "超期",
        "urgent_signalled" => "紧急信号",
        "leader_deadline_requested" => "申请领导定时限",
        _ => "",
    };
    match (lang, zh.is_empty()) {
        (Lang::Zh, false) => format!("{zh}（{kind}）"),
        _ => kind.to_string(),
    }
}

fn audience_words(lang: Lang, a: &str) -> &'static str {
    match a {
        "resident" => lang.t("群众", "Resident"),
        "unit" => lang.t("单位", "Unit"),
        _ => lang.t("个人（领导）", "Person (leader)"),
    }
}

fn lang_words(lang: Lang, l: &str) -> &'static str {
    match l {
        "zh" => lang.t("中文", "Chinese"),
        _ => lang.t("英文", "English"),
    }
}

fn href(t: &TemplateInfo) -> String {
    format!(
        "/staff/admin/templates/{}/{}/{}",
        t.kind,
        t.audience.as_str(),
        t.lang.as_str()
    )
}

#[allow(clippy::result_large_err)] // an HTTP response is the error here
fn admin_only(ctx: &Ctx) -> Result<StaffUser, Response> {
    crate::admin::admin_only(ctx)
}

pub async fn list(ctx: Ctx) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    list_page(&ctx, &user, None).await
}

async fn list_page(ctx: &Ctx, user: &StaffUser, done: Option<&str>) -> Response {
    let lang = ctx.lang;
    let all = match ctx.app.templates(user).await {
        Ok(t) => t,
        Err(e) => return app_error_page(ctx, &e),
    };
    let mut rows = String::new();
    for t in &all {
        let (text, state) = match &t.overridden {
            Some(o) => (
                o.text.as_str(),
                format!(
                    r#"<span class="badge">{}</span>"#,
                    esc(lang.t("已修改", "edited"))
                ),
            ),
            None => (
                t.default.text.as_str(),
                esc(lang.t("默认", "default")).to_string(),
            ),
        };
        rows.push_str(&format!(
            r#"<tr data-template="{id}"><td>{k}</td><td>{a}</td><td>{l}</td><td>{text}</td><td>{state}</td><td><a href="{href}">{edit}</a></td></tr>"#,
            id = esc(&format!("{}/{}/{}", t.kind, t.audience.as_str(), t.lang.as_str())),
            k = esc(&kind_words(lang, &t.kind)),
            a = esc(audience_words(lang, t.audience.as_str())),
            l = esc(lang_words(lang, t.lang.as_str())),
            text = esc(text),
            href = esc(&href(t)),
            edit = esc(lang.t("编辑", "Edit")),
        ));
    }
    let body = format!(
        r#"<h1>{h}</h1>{done}
<p class="hint">{hint}</p>
<section class="card" id="templates"><div class="table-wrap"><table><thead><tr><th>{l_kind}</th><th>{l_aud}</th><th>{l_lang}</th><th>{l_text}</th><th>{l_state}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        h = esc(lang.t("通知模板", "Message templates")),
        done = done
            .map(|d| format!(r#"<p class="notice" role="status" id="done">{}</p>"#, esc(d)))
            .unwrap_or_default(),
        hint = esc(lang.t(
            "每个模板按通知类型、接收对象和语言区分。修改后，所有服务器从下一条通知起使用新模板；恢复默认即撤销修改。",
            "One template per notification kind, audience and language. An edit is used by every server from the next message on; restoring the default undoes it.",
        )),
        l_kind = esc(lang.t("通知类型", "Kind")),
        l_aud = esc(lang.t("接收对象", "Audience")),
        l_lang = esc(lang.t("语言", "Language")),
        l_text = esc(lang.t("正文", "Text")),
        l_state = esc(lang.t("状态", "State")),
    );
    ctx.page_status(
        StatusCode::OK,
        lang.t("通知模板", "Message templates"),
        &body,
    )
}

fn app_error_page(ctx: &Ctx, e: &AppError) -> Response {
    match e {
        AppError::TemplateNotFound(_) => {
            ctx.error_page(StatusCode::NOT_FOUND, "没有这个模板。", "No such template.")
        }
        AppError::Forbidden => ctx.error_page(
            StatusCode::FORBIDDEN,
            "只有系统管理员可以使用此页面。",
            "Only administrators may use this page.",
        ),
        other => {
            tracing::error!(error = %other, "templates page");
            ctx.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "系统暂时无法处理，请稍后重试。",
                "The system could not process this; please retry later.",
            )
        }
    }
}

/// The edit form of one template: `form` is what is typed (else the text in
/// force), `preview` the rendering shown, `errs` the refusal.
async fn edit_page(
    ctx: &Ctx,
    user: &StaffUser,
    key: TemplateKey<'_>,
    form: Option<&TemplateText>,
    preview: Option<&Rendered>,
    errs: &Errors,
    done: Option<&str>,
) -> Response {
    let lang = ctx.lang;
    let all = match ctx.app.templates(user).await {
        Ok(t) => t,
        Err(e) => return app_error_page(ctx, &e),
    };
    let Some(t) = all.iter().find(|t| {
        t.kind == key.kind && t.audience.as_str() == key.audience && t.lang.as_str() == key.lang
    }) else {
        return app_error_page(ctx, &AppError::TemplateNotFound(String::new()));
    };
    let in_force = t
        .overridden
        .as_ref()
        .map(|o| TemplateText {
            subject: o.subject.clone(),
            text: o.text.clone(),
            markdown: o.markdown.clone(),
        })
        .unwrap_or_else(|| t.default.clone());
    let shown = form.cloned().unwrap_or_else(|| in_force.clone());
    // the preview of what is shown (the text in force when nothing was typed)
    let computed;
    let preview = match preview {
        Some(p) => Some(p),
        None if errs.is_empty() => {
            computed = ctx.app.preview_template(user, key, &shown).ok();
            computed.as_ref()
        }
        None => None,
    };
    let preview_html = preview
        .map(|p| {
            format!(
                r#"<section class="card" id="preview"><h2>{h}</h2><p class="hint">{hint}</p><dl><dt>{ls}</dt><dd id="preview-subject">{s}</dd><dt>{lt}</dt><dd id="preview-text">{t}</dd>{md}</dl></section>"#,
                h = esc(lang.t("预览", "Preview")),
                hint = esc(lang.t("示例诉求：查询码 7KQ2M9XW4C，“小区门口路灯不亮”。", "Sample case: tracking code 7KQ2M9XW4C, “Street light out at the gate”.")),
                ls = esc(lang.t("标题", "Subject")),
                s = esc(&p.subject),
                lt = esc(lang.t("正文", "Text")),
                t = esc(&p.text),
                md = p
                    .markdown
                    .as_ref()
                    .map(|m| format!(r#"<dt>Markdown</dt><dd id="preview-markdown"><pre>{}</pre></dd>"#, esc(m)))
                    .unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let action = format!(
        "/staff/admin/templates/{}/{}/{}",
        key.kind, key.audience, key.lang
    );
    let reset = if t.overridden.is_some() {
        format!(
            r#"<form method="post" action="{a}/reset" class="inline" id="reset-form">{csrf}<button type="submit" class="secondary">{b}</button></form>"#,
            a = esc(&action),
            csrf = ctx.csrf_field(),
            b = esc(lang.t("恢复默认", "Restore the default")),
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<p><a href="/staff/admin/templates">{back}</a></p><h1>{h}</h1>{done}
<p>{k} · {a} · {l} · <span class="muted">{state}</span></p>
<div class="grid two"><div>
<section class="card"><form method="post" action="{action}" id="template-form" novalidate>{csrf}{rest}
<label for="subject">{l_subject}</label><input id="subject" name="subject" value="{subject}"{inv_s}>{e_s}
<label for="text">{l_text}</label><textarea id="text" name="text" rows="5"{inv_t}>{text}</textarea>{e_t}
<label for="markdown">{l_md}</label><textarea id="markdown" name="markdown" rows="5">{md}</textarea>{e_md}
<p class="hint">{hint}</p>
<button type="submit" name="do" value="preview" class="secondary">{b_preview}</button> <button type="submit" name="do" value="save">{b_save}</button></form>{reset}</section>
<section class="card" id="default"><h2>{h_default}</h2><dl><dt>{l_subject}</dt><dd>{d_s}</dd><dt>{l_text}</dt><dd>{d_t}</dd>{d_md}</dl></section>
</div><div>{preview_html}</div></div>"#,
        back = esc(lang.t("← 全部模板", "← All templates")),
        h = esc(lang.t("编辑通知模板", "Edit a message template")),
        done = done
            .map(|d| format!(
                r#"<p class="notice" role="status" id="done">{}</p>"#,
                esc(d)
            ))
            .unwrap_or_default(),
        k = esc(&kind_words(lang, key.kind)),
        a = esc(audience_words(lang, key.audience)),
        l = esc(lang_words(lang, key.lang)),
        state = esc(if t.overridden.is_some() {
            lang.t("已修改", "edited")
        } else {
            lang.t("默认", "default")
        }),
        action = esc(&action),
        csrf = ctx.csrf_field(),
        rest = errs.rest(&["subject", "text", "markdown"]),
        l_subject = esc(lang.t("标题（邮件主题）", "Subject (e-mail)")),
        subject = esc(&shown.subject),
        inv_s = errs.invalid("subject"),
        e_s = errs.at("subject"),
        l_text = esc(lang.t("正文（短信、群消息）", "Text (SMS, group messages)")),
        text = esc(&shown.text),
        inv_t = errs.invalid("text"),
        e_t = errs.at("text"),
        l_md = esc(lang.t(
            "Markdown（可选，群机器人）",
            "Markdown (optional, group robots)"
        )),
        md = esc(shown.markdown.as_deref().unwrap_or("")),
        e_md = errs.at("markdown"),
        hint = esc(&format!(
            "{}{}",
            lang.t("可用占位符：", "Placeholders: "),
            "{tracking_code} {title} {status} {text} {unit} {deadline} {link}; {{ }}"
        )),
        b_preview = esc(lang.t("预览", "Preview")),
        b_save = esc(lang.t("保存", "Save")),
        h_default = esc(lang.t("默认内容", "Default")),
        d_s = esc(&t.default.subject),
        d_t = esc(&t.default.text),
        d_md = t
            .default
            .markdown
            .as_ref()
            .map(|m| format!("<dt>Markdown</dt><dd><pre>{}</pre></dd>", esc(m)))
            .unwrap_or_default(),
    );
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(
        status,
        lang.t("编辑通知模板", "Edit a message template"),
        &body,
    )
}

pub async fn edit(Path(path): Path<(String, String, String)>, ctx: Ctx) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let key = TemplateKey::from(&path);
    edit_page(&ctx, &user, key, None, None, &Errors::default(), None).await
}

fn typed(fields: &Fields) -> TemplateText {
    TemplateText {
        subject: fields.value("subject"),
        text: fields.value("text"),
        markdown: Some(fields.value("markdown")).filter(|m| !m.trim().is_empty()),
    }
}

/// Preview (nothing stored) or save.
pub async fn save(
    Path(path): Path<(String, String, String)>,
    PostForm { ctx, fields, .. }: PostForm,
) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let key = TemplateKey::from(&path);
    let t = typed(&fields);
    let result = if fields.get("do") == Some("save") {
        ctx.app
            .put_template(&user, key, t.clone())
            .await
            .map(|r| (r, true))
    } else {
        ctx.app.preview_template(&user, key, &t).map(|r| (r, false))
    };
    match result {
        Ok((r, saved)) => {
            let done = saved.then(|| {
                ctx.t(
                    "已保存，从下一条通知起使用。",
                    "Saved; used from the next message on.",
                )
            });
            edit_page(
                &ctx,
                &user,
                key,
                Some(&t),
                Some(&r),
                &Errors::default(),
                done,
            )
            .await
        }
        Err(AppError::InvalidTemplate(why)) => {
            let mut errs = Errors::default();
            let field = if why.contains(".subject") {
                "subject"
            } else if why.contains(".markdown") {
                "markdown"
            } else {
                "text"
            };
            errs.add(
                field,
                format!(
                    "{}{why}",
                    ctx.t("模板不正确，未保存：", "Invalid template, not saved: ")
                ),
            );
            edit_page(&ctx, &user, key, Some(&t), None, &errs, None).await
        }
        Err(e) => app_error_page(&ctx, &e),
    }
}

pub async fn reset(
    Path(path): Path<(String, String, String)>,
    PostForm { ctx, .. }: PostForm,
) -> Response {
    let user = match admin_only(&ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let key = TemplateKey::from(&path);
    match ctx.app.delete_template(&user, key).await {
        Ok(()) | Err(AppError::TemplateNotOverridden) => {
            let done = ctx.t("已恢复默认内容。", "The default is restored.");
            edit_page(&ctx, &user, key, None, None, &Errors::default(), Some(done)).await
        }
        Err(e) => app_error_page(&ctx, &e),
    }
}
