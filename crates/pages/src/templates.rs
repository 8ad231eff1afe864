//! Message templates for administrators (`/staff/admin/templates`): the list
//! of every template (kind, audience, language) with its text in force, and
//! an edit form per template with a preview rendered on a sample case; saving
//! stores an override (checked, audited; every server's sender uses it from
//! its next message on), "restore default" removes it.

use crate::forms::{Errors, Fields};
use crate::html::Lang;
use crate::{ui, words, Ctx, PostForm};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use suqiu_app::templates::{Rendered, TemplateInfo, TemplateKey, TemplateText};
use suqiu_app::{AppError, StaffUser};

fn kind_words(lang: Lang, kind: &str) -> String {
    words::event_kind(lang, kind)
}

/// The `lang` attribute of a template's text (in the language it is for,
/// whatever the page's language).
fn html_lang(code: &str) -> &'static str {
    Lang::parse(code).map_or("zh-CN", Lang::html_lang)
}

fn audience_words(lang: Lang, a: &str) -> &'static str {
    match a {
        "resident" => lang.tr("resident-2"),
        "unit" => lang.tr("unit"),
        _ => lang.tr("person-leader"),
    }
}

fn lang_words(lang: Lang, l: &str) -> &'static str {
    match l {
        "zh" => lang.tr("chinese"),
        _ => lang.tr("english"),
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
    let rows = html! {
        @for t in &all {
            tr data-template=(format!("{}/{}/{}", t.kind, t.audience.as_str(), t.lang.as_str())) {
                td { (kind_words(lang, &t.kind)) }
                td { (audience_words(lang, t.audience.as_str())) }
                td { (lang_words(lang, t.lang.as_str())) }
                @match &t.overridden {
                    Some(o) => {
                        td lang=(html_lang(t.lang.as_str())) { (with_placeholders(&o.text)) }
                        td { span class="badge" { (lang.tr("edited")) } }
                    }
                    None => {
                        td lang=(html_lang(t.lang.as_str())) { (with_placeholders(&t.default.text)) }
                        td { (lang.tr("default")) }
                    }
                }
                td { a href=(href(t)) { (lang.tr("edit")) } }
            }
        }
    };
    let body = html! {
        h1 { (lang.tr("message-templates")) }
        (done_notice(done))
        p class="hint" {
            (lang.tr(
                "one-template-per-notification-kind-audience",
            ))
        }
        section class="card" id="templates" {
            (ui::wrapped_table(
                &[
                    lang.tr("kind"),
                    lang.tr("audience"),
                    lang.tr("language"),
                    lang.tr("text"),
                    lang.tr("state"),
                    "",
                ],
                rows,
            ))
        }
    };
    ctx.page_status(StatusCode::OK, lang.tr("message-templates"), body)
}

/// A template's text with its placeholders (`{tracking_code}`) set apart
/// as code, which is not translated.
fn with_placeholders(text: &str) -> Markup {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let name_len = rest[open + 1..].find('}').filter(|&n| {
            n > 0
                && rest[open + 1..open + 1 + n]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
        });
        match name_len {
            Some(n) => {
                parts.push((&rest[..open], Some(&rest[open..open + n + 2])));
                rest = &rest[open + n + 2..];
            }
            None => {
                parts.push((&rest[..=open], None));
                rest = &rest[open + 1..];
            }
        }
    }
    html! {
        @for (plain, placeholder) in &parts {
            (plain)
            @if let Some(p) = placeholder { code.placeholder translate="no" { (p) } }
        }
        (rest)
    }
}

/// The notice of a change just made.
fn done_notice(done: Option<&str>) -> Markup {
    html! {
        @if let Some(d) = done {
            p class="notice" role="status" id="done" { (d) }
        }
    }
}

fn app_error_page(ctx: &Ctx, e: &AppError) -> Response {
    match e {
        AppError::TemplateNotFound(_) => ctx.error_page(StatusCode::NOT_FOUND, "no-such-template"),
        AppError::Forbidden => ctx.error_page(
            StatusCode::FORBIDDEN,
            "only-administrators-may-use-this-page",
        ),
        other => {
            tracing::error!(error = %other, "templates page");
            ctx.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "the-system-could-not-process-this-2",
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
    let tl = html_lang(key.lang);
    let preview_html = html! {
        @if let Some(p) = preview {
            section class="card" id="preview" {
                h2 { (lang.tr("preview")) }
                p class="hint" {
                    (lang.tr("sample-case-tracking-code-7kq2m9xw4c-street"))
                }
                dl {
                    dt { (lang.tr("subject")) }
                    dd id="preview-subject" lang=(tl) { (p.subject) }
                    dt { (lang.tr("text")) }
                    dd id="preview-text" lang=(tl) { (p.text) }
                    @if let Some(m) = &p.markdown {
                        dt { "Markdown" }
                        dd id="preview-markdown" lang=(tl) { pre { (m) } }
                    }
                }
            }
        }
    };
    let action = format!(
        "/staff/admin/templates/{}/{}/{}",
        key.kind, key.audience, key.lang
    );
    let csrf = ui::csrf(&ctx.csrf_token());
    let reset = html! {
        @if t.overridden.is_some() {
            form method="post" action=(format!("{action}/reset")) class="inline" id="reset-form" {
                (csrf)
                button type="submit" class="secondary" { (lang.tr("restore-the-default")) }
            }
        }
    };
    let l_subject = lang.tr("subject-e-mail");
    let l_text = lang.tr("text-sms-group-messages");
    let body = html! {
        p { a href="/staff/admin/templates" { (lang.tr("all-templates")) } }
        h1 { (lang.tr("edit-a-message-template")) }
        (done_notice(done))
        p {
            (kind_words(lang, key.kind)) " · "
            (audience_words(lang, key.audience)) " · "
            (lang_words(lang, key.lang)) " · "
            span class="muted" {
                (if t.overridden.is_some() {
                    lang.tr("edited")
                } else {
                    lang.tr("default")
                })
            }
        }
        div class="grid two" {
            div {
                section class="card" {
                    form method="post" action=(action) id="template-form" novalidate {
                        (csrf)
                        (ui::errors_rest(errs, &["subject", "text", "markdown"]))
                        label for="subject" { (l_subject) }
                        input id="subject" name="subject" lang=(tl) value=(shown.subject) aria-invalid=[ui::invalid(errs, "subject")];
                        (ui::error_at(errs, "subject"))
                        label for="text" { (l_text) }
                        textarea id="text" name="text" rows="5" lang=(tl) aria-invalid=[ui::invalid(errs, "text")] { (shown.text) }
                        (ui::error_at(errs, "text"))
                        label for="markdown" {
                            (lang.tr(
                                "markdown-optional-group-robots"
                            ))
                        }
                        textarea id="markdown" name="markdown" rows="5" lang=(tl) { (shown.markdown.as_deref().unwrap_or("")) }
                        (ui::error_at(errs, "markdown"))
                        p class="hint" {
                            (lang.tr("placeholders"))
                            code translate="no" { "{tracking_code} {title} {status} {text} {unit} {deadline} {link}; {{ }}" }
                        }
                        button type="submit" name="do" value="preview" class="secondary" { (lang.tr("preview")) }
                        " "
                        button type="submit" name="do" value="save" { (lang.tr("save")) }
                    }
                    (reset)
                }
                section class="card" id="default" {
                    h2 { (lang.tr("default-2")) }
                    dl {
                        dt { (l_subject) }
                        dd lang=(tl) { (t.default.subject) }
                        dt { (l_text) }
                        dd lang=(tl) { (with_placeholders(&t.default.text)) }
                        @if let Some(m) = &t.default.markdown {
                            dt { "Markdown" }
                            dd lang=(tl) { pre { (m) } }
                        }
                    }
                }
            }
            div { (preview_html) }
        }
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, lang.tr("edit-a-message-template"), body)
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
            let done = saved.then(|| ctx.tr("saved-used-from-the-next-message"));
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
                format!("{}{why}", ctx.tr("invalid-template-not-saved")),
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
            let done = ctx.tr("the-default-is-restored");
            edit_page(&ctx, &user, key, None, None, &Errors::default(), Some(done)).await
        }
        Err(e) => app_error_page(&ctx, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::with_placeholders;

    #[test]
    fn placeholders_are_set_apart_and_braces_kept() {
        let out =
            with_placeholders("您的诉求{tracking_code}已{status}。{ 非占位 }<b>").into_string();
        assert_eq!(
            out,
            r#"您的诉求<code class="placeholder" translate="no">{tracking_code}</code>已<code class="placeholder" translate="no">{status}</code>。{ 非占位 }&lt;b&gt;"#
        );
    }
}
