//! The resident's pages: file a request, follow it with the tracking code, rate it.
//! No login; every post is CSRF-checked like the staff's.

use crate::forms::{app_errors, Errors, Fields};
use crate::html::{url, when, Lang};
use crate::{query_pairs, ui, Ctx, PostForm};
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use suqiu_app::{AppError, TrackView};
use suqiu_domain::case::IntakeInput;
use suqiu_domain::{Level, OrgTree, Status};

pub async fn home(ctx: Ctx) -> Response {
    let body = html! {
        section.card {
            h1 { (ctx.t("有事您说，我们来办", "Tell us, and we will handle it")) }
            p {
                (ctx.t(
                    "反映身边的问题、矛盾纠纷或意见建议：村（社区）当天研判，办不了的当天上报，办理结果请您评价。",
                    "Report a problem, a dispute or a suggestion: your village/community reviews it the same day, reports what it cannot solve, and you rate the result."
                ))
            }
            div.big-actions {
                a href="/report" id="go-report" { (ctx.t("我要反映", "File a request")) }
                a.secondary href="/track" id="go-track" { (ctx.t("查询办理进度", "Track my request")) }
            }
        }
        section.card {
            h2 { (ctx.t("办理流程", "How it works")) }
            ol {
                li { (ctx.t("填写诉求，提交后得到查询码", "File your request and get a tracking code")) }
                li { (ctx.t("用查询码随时查看办理进度", "Follow it any time with the code")) }
                li { (ctx.t("收到答复后，评价满意、一般或不满意", "When it is answered, rate it: satisfied, average or unsatisfied")) }
            }
            p.muted {
                (ctx.t("工作人员请", "Staff:")) " "
                a href="/login" { (ctx.t("登录工作台", "log in to the workbench")) }
            }
        }
    };
    ctx.page(ctx.t("首页", "Home"), body)
}

/// The places a matter can be filed at: per township/street, its villages and
/// communities and their grids, as `(group label, [(code, label)])`.
pub fn places(org: &OrgTree) -> Vec<(String, Vec<(String, String)>)> {
    let mut units: Vec<_> = org.units().map(|(u, _)| u).collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    let children = |code: &str, level: Level| -> Vec<&suqiu_domain::Unit> {
        units
            .iter()
            .filter(|u| u.parent.as_deref() == Some(code) && u.level == level)
            .copied()
            .collect()
    };
    let mut out = Vec::new();
    for street in units.iter().filter(|u| u.level == Level::Street) {
        let mut opts = Vec::new();
        for c in children(&street.code, Level::Community) {
            opts.push((c.code.clone(), c.name.clone()));
            for g in children(&c.code, Level::Grid) {
                let short = g.name.strip_prefix(c.name.as_str()).unwrap_or(&g.name);
                opts.push((g.code.clone(), format!("{} · {short}", c.name)));
            }
        }
        out.push((street.name.clone(), opts));
    }
    out
}

/// The `<select>` of places, with `selected` chosen.
pub fn place_select(ctx: &Ctx, name: &str, selected: &str, errs: &Errors) -> Markup {
    html! {
        select name=(name) id=(name) aria-invalid=[ui::invalid(errs, name)] {
            option value="" {
                (ctx.t(
                    "— 请选择村（社区）和网格 —",
                    "— choose village/community and grid —"
                ))
            }
            @for (group, opts) in places(&ctx.app.org()) {
                optgroup label=(group) {
                    @for (code, label) in &opts {
                        option value=(code) selected[code == selected] { (label) }
                    }
                }
            }
        }
    }
}

/// A village/community named in a typed address (the longest name wins).
pub fn place_from_address(org: &OrgTree, address: &str) -> Option<String> {
    org.units()
        .map(|(u, _)| u)
        .filter(|u| u.level == Level::Community && address.contains(u.name.as_str()))
        .max_by_key(|u| u.name.chars().count())
        .map(|u| u.code.clone())
}

/// The intake fields shared by the resident's form and the staff's.
pub fn intake_fields(ctx: &Ctx, f: &Fields, errs: &Errors) -> Markup {
    let staff = ctx.user.is_some();
    let cats = ctx.app.rules().categories.clone();
    let hint = f.value("category_hint");
    // a clerk or grid worker files for someone else: the form speaks of the resident
    let l_name = if staff {
        ctx.t("群众姓名", "The resident's name")
    } else {
        ctx.t("您的姓名", "Your name")
    };
    let l_phone = if staff {
        ctx.t("群众的联系电话", "The resident's phone")
    } else {
        ctx.t("联系电话", "Phone")
    };
    let l_conf = if staff {
        ctx.t(
            "群众要求对其姓名保密",
            "The resident asks to keep their name confidential",
        )
    } else {
        ctx.t("请对我的姓名保密", "Keep my name confidential")
    };
    html! {
        label for="title" { (ctx.t("一句话说明问题", "The matter in one line")) }
        input type="text" id="title" name="title" maxlength="100" value=(f.value("title"))
            aria-invalid=[ui::invalid(errs, "title")]
            placeholder=(ctx.t(
                "例如：小区门口路灯不亮",
                "e.g. the street lamp at the gate is out"
            ));
        (ui::error_at(errs, "title"))
        label for="content" { (ctx.t("具体情况", "Details")) }
        textarea id="content" name="content" maxlength="5000" aria-invalid=[ui::invalid(errs, "content")] {
            (f.value("content"))
        }
        (ui::error_at(errs, "content"))
        label for="category_hint" { (ctx.t("问题类别（可不选）", "Category (optional)")) }
        select id="category_hint" name="category_hint" {
            option value="" { (ctx.t("不确定", "not sure")) }
            @for c in &cats {
                option value=(c) selected[*c == hint] { (c) }
            }
        }
        p.hint {
            (ctx.t(
                "不确定可以不选，村（社区）研判时会确定类别。",
                "If unsure, leave it: the community decides at triage."
            ))
        }
        label for="unit" {
            (ctx.t(
                "发生地点：村（社区）和网格",
                "Where: village/community and grid"
            ))
        }
        (place_select(ctx, "unit", &f.value("unit"), errs))
        (ui::error_at(errs, "unit"))
        label for="address" { (ctx.t("详细地址", "Address")) }
        input type="text" id="address" name="address" maxlength="200" value=(f.value("address"))
            aria-invalid=[ui::invalid(errs, "address")]
            placeholder=(ctx.t(
                "例如：丹阳社区幸福路12号",
                "e.g. 12 Xingfu Road, Danyang community"
            ));
        (ui::error_at(errs, "address"))
        p.hint {
            (ctx.t(
                "不知道属于哪个网格，可以只填地址并写明村（社区）名称。",
                "If you do not know the grid, type the address with the village/community's name."
            ))
        }
        label for="reporter_name" { (l_name) }
        input type="text" id="reporter_name" name="reporter_name" maxlength="50"
            value=(f.value("reporter_name")) aria-invalid=[ui::invalid(errs, "reporter_name")]
            autocomplete="name";
        (ui::error_at(errs, "reporter_name"))
        label for="reporter_phone" { (l_phone) }
        input type="tel" id="reporter_phone" name="reporter_phone" maxlength="20"
            value=(f.value("reporter_phone")) aria-invalid=[ui::invalid(errs, "reporter_phone")]
            autocomplete="tel";
        (ui::error_at(errs, "reporter_phone"))
        p.hint {
            (ctx.t(
                "只用于工作人员联系您，列表中不会完整显示。",
                "Only for staff to contact you; lists show it masked."
            ))
        }
        label.check {
            input type="checkbox" name="confidential" value="1" checked[f.get("confidential").is_some()];
            " " (l_conf)
        }
        (notify_fields(ctx, f, errs))
    }
}

/// The preferred channel for progress notices and its address.
fn notify_fields(ctx: &Ctx, f: &Fields, errs: &Errors) -> Markup {
    let chosen = f.value("notify_channel");
    let opts = [
        (
            "sms",
            ctx.t(
                "短信（发到联系电话，或下面填写的号码）",
                "SMS (to your phone, or the number below)",
            ),
        ),
        (
            "email",
            ctx.t(
                "电子邮件（请在下面填写邮箱）",
                "E-mail (enter the address below)",
            ),
        ),
        (
            "none",
            ctx.t(
                "不接收通知（凭查询码查询）",
                "No notices (follow it with the tracking code)",
            ),
        ),
    ];
    html! {
        label for="notify_channel" { (ctx.t("办理进展怎样告知您", "How to tell you of progress")) }
        select id="notify_channel" name="notify_channel" aria-invalid=[ui::invalid(errs, "notify_channel")] {
            @for (v, l) in opts {
                option value=(v) selected[chosen == v] { (l) }
            }
        }
        (ui::error_at(errs, "notify_channel"))
        label for="notify_address" {
            (ctx.t(
                "邮箱或另一个手机号（可不填）",
                "E-mail or another mobile number (optional)"
            ))
        }
        input type="text" id="notify_address" name="notify_address" maxlength="254"
            value=(f.value("notify_address")) aria-invalid=[ui::invalid(errs, "notify_address")]
            autocomplete="email";
        (ui::error_at(errs, "notify_address"))
        p.hint {
            (ctx.t(
                "默认发短信到联系电话；以后可以凭查询码更改。",
                "By default an SMS to your phone; you can change it later with the tracking code."
            ))
        }
    }
}

/// Builds the intake from form fields; a typed address may name the place.
pub fn intake_input(ctx: &Ctx, f: &Fields, channel: &str, errs: &mut Errors) -> IntakeInput {
    let unit = match f.get("unit") {
        Some(u) => Some(u.to_string()),
        None => match f
            .get("address")
            .and_then(|a| place_from_address(&ctx.app.org(), a))
        {
            Some(u) => Some(u),
            None => {
                errs.add(
                    "unit",
                    ctx.t(
                        "请选择所在的村（社区）和网格，或在详细地址中写明村（社区）名称",
                        "Choose the village/community and grid, or name the village/community in the address",
                    ),
                );
                None
            }
        },
    };
    let mut content = f.get("content").map(str::to_string);
    if let (Some(c), Some(h)) = (content.as_mut(), f.get("category_hint")) {
        if ctx.app.rules().categories.iter().any(|x| x == h) {
            c.push_str(&format!("\n{HINT_PREFIX}{h}）"));
        }
    }
    IntakeInput {
        channel: Some(channel.to_string()),
        unit,
        title: f.get("title").map(str::to_string),
        content,
        address: f.get("address").map(str::to_string),
        reporter_name: f.get("reporter_name").map(str::to_string),
        reporter_phone: f.get("reporter_phone").map(str::to_string),
        reporter_id_number: f.get("reporter_id_number").map(str::to_string),
        confidential: f.get("confidential").is_some(),
        accused_unit: None,
        accused_person: None,
        notify_channel: f.get("notify_channel").map(str::to_string),
        notify_address: f.get("notify_address").map(str::to_string),
        lat: None,
        long: None,
    }
}

/// How the resident's category hint is kept in the text (and found again at triage).
pub const HINT_PREFIX: &str = "（群众选择的类别：";

/// The resident's category hint in a case's text, if any.
pub fn category_hint(content: &str) -> Option<&str> {
    let start = content.rfind(HINT_PREFIX)? + HINT_PREFIX.len();
    let rest = &content[start..];
    rest.find('）').map(|end| &rest[..end])
}

/// The form's name of a field the domain names otherwise.
pub fn intake_field(f: &str) -> String {
    match f {
        "reporter.name" => "reporter_name".into(),
        "reporter.phone" => "reporter_phone".into(),
        "reporter.id_number" => "reporter_id_number".into(),
        "notify.channel" => "notify_channel".into(),
        "notify.address" => "notify_address".into(),
        other => other.to_string(),
    }
}

fn report_page(ctx: &Ctx, f: &Fields, errs: &Errors) -> Response {
    let h_photos = match ctx.lang {
        Lang::Zh => format!(
            "JPEG、PNG 或 WebP 格式，最多 {} 张，每张不超过 {} MB。",
            suqiu_app::photos::MAX_PHOTOS,
            suqiu_app::photos::MAX_PHOTO_BYTES / (1024 * 1024)
        ),
        _ => format!(
            "JPEG, PNG or WebP; at most {} photos of {} MB each.",
            suqiu_app::photos::MAX_PHOTOS,
            suqiu_app::photos::MAX_PHOTO_BYTES / (1024 * 1024)
        ),
    };
    let body = html! {
        section.card {
            h1 { (ctx.t("我要反映", "File a request")) }
            p.hint {
                (ctx.t(
                    "除注明“可不选”“可不填”的以外都要填写。提交后您会得到一个查询码。",
                    "Everything is needed except where marked optional. You get a tracking code."
                ))
            }
            form method="post" action="/report" id="report-form" enctype="multipart/form-data" novalidate {
                (ui::csrf(&ctx.csrf_token()))
                (ui::errors_rest(errs, &[
                    "title",
                    "content",
                    "unit",
                    "address",
                    "reporter_name",
                    "reporter_phone",
                    "photos",
                    "notify_channel",
                    "notify_address",
                ]))
                (intake_fields(ctx, f, errs))
                label for="photos" { (ctx.t("照片（可不传）", "Photos (optional)")) }
                input type="file" id="photos" name="photos" accept="image/jpeg,image/png,image/webp" multiple
                    aria-invalid=[ui::invalid(errs, "photos")];
                (ui::error_at(errs, "photos"))
                p.hint { (h_photos) }
                button type="submit" id="submit" { (ctx.t("提交", "Submit")) }
            }
        }
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, ctx.t("我要反映", "File a request"), body)
}

pub async fn report_form(ctx: Ctx) -> Response {
    report_page(&ctx, &Fields::default(), &Errors::default())
}

pub async fn report(PostForm { ctx, fields, files }: PostForm) -> Response {
    let photos: Vec<Vec<u8>> = files
        .into_iter()
        .filter(|f| f.name == "photos")
        .map(|f| f.data)
        .collect();
    let mut errs = Errors::default();
    let input = intake_input(&ctx, &fields, "web", &mut errs);
    // check the other fields too, so every error shows at once
    for (name, missing) in [
        ("title", fields.get("title").is_none()),
        ("content", fields.get("content").is_none()),
        ("reporter_name", fields.get("reporter_name").is_none()),
        ("reporter_phone", fields.get("reporter_phone").is_none()),
    ] {
        if missing {
            errs.add(name, ctx.t("请填写此项", "Please fill this in"));
        }
    }
    if !errs.is_empty() {
        return report_page(&ctx, &fields, &errs);
    }
    if let Err(e) = ctx
        .app
        .check_intake_limits(ctx.ip, input.reporter_phone.as_deref())
    {
        return report_page(&ctx, &fields, &app_errors(ctx.lang, &e, &intake_field));
    }
    let filed = if photos.is_empty() {
        ctx.app.file_case(&input, None).await
    } else {
        ctx.app.file_case_with_photos(&input, None, photos).await
    };
    match filed {
        Ok(r) => ctx.redirect(&format!("/track?code={}&new=1", url(&r.tracking_code))),
        Err(e) => report_page(&ctx, &fields, &app_errors(ctx.lang, &e, &intake_field)),
    }
}

fn status_class(s: Status) -> &'static str {
    if s == Status::Closed {
        "status closed"
    } else {
        "status"
    }
}

fn track_view(
    ctx: &Ctx,
    v: &TrackView,
    fresh: bool,
    rated: bool,
    f: &Fields,
    errs: &Errors,
) -> Markup {
    let lang = ctx.lang;
    // the timeline's texts come in both languages
    let text = |zh: &String, en: &String| {
        if lang == Lang::Zh {
            zh.clone()
        } else {
            en.clone()
        }
    };
    let latest = v
        .timeline
        .last()
        .map(|(_, zh, en)| text(zh, en))
        .unwrap_or_default();
    let rating = f.value("rating");
    html! {
        @if fresh {
            section.card.notice id="filed" {
                h1 { (ctx.t("提交成功", "Submitted")) }
                p { (ctx.t("请记下您的查询码，用它查看办理进度和评价：", "Keep your tracking code to follow and rate your request:")) }
                p { span.code id="tracking-code" { (v.tracking_code) } }
                p.hint { (ctx.t("工作人员会在当天研判您的诉求。", "Staff will review your request today.")) }
            }
        }
        @if rated {
            p.notice id="rated" { (ctx.t("感谢您的评价！", "Thank you for your rating!")) }
        }
        @if f.get("notify_changed").is_some() {
            p.notice id="notify-changed" { (ctx.t("已更改告知方式。", "How you hear of progress was changed.")) }
        }
        section.card id="case" {
            h1 { (v.title) }
            p { span class=(status_class(v.status)) id="status" { (crate::words::status(lang, v.status)) } }
            dl.facts {
                dt { (ctx.t("查询码", "Tracking code")) }
                dd { (v.tracking_code) }
                dt { (ctx.t("提交时间", "Filed")) }
                dd { (when(v.received_at)) }
                dt { (ctx.t("目前由", "Now with")) }
                dd { (v.unit_name) }
                dt { (ctx.t("最新进展", "Latest")) }
                dd id="latest" { (latest) }
            }
        }
        @if v.can_rate {
            section.card id="rate" {
                h2 { (ctx.t("请评价办理结果", "Please rate the result")) }
                form method="post" action={ "/track/" (url(&v.tracking_code)) "/rate" } id="rate-form" novalidate {
                    (ui::csrf(&ctx.csrf_token()))
                    (ui::errors_rest(errs, &["rating", "comment", "phone_last4"]))
                    fieldset aria-invalid=[ui::invalid(errs, "rating")] {
                        legend { (ctx.t("您对办理结果", "Your verdict")) }
                        @for (k, r) in suqiu_app::commands::RATINGS {
                            label.radio {
                                input type="radio" name="rating" value=(k) checked[rating == *k];
                                " " (lang.t(r.zh(), r.en()))
                            }
                        }
                    }
                    (ui::error_at(errs, "rating"))
                    label for="comment" { (ctx.t("意见（可不填）", "Comment (optional)")) }
                    textarea id="comment" name="comment" maxlength="2000" { (f.value("comment")) }
                    (ui::error_at(errs, "comment"))
                    (phone_last4_field(ctx, v, "rate-phone-last4", f, errs))
                    button type="submit" id="rate-submit" { (ctx.t("提交评价", "Submit rating")) }
                }
            }
        }
        @if !v.photos.is_empty() {
            (photo_gallery(lang, &format!("/track/{}/photos", url(&v.tracking_code)), &v.photos))
        }
        section.card {
            h2 { (ctx.t("办理经过", "What happened")) }
            ol.timeline id="timeline" {
                @for (at, zh, en) in &v.timeline {
                    li { time { (when(*at)) } (text(zh, en)) }
                }
            }
        }
        (notify_section(ctx, v, f, errs))
    }
}

/// The last four digits of the resident's phone, asked by the forms that
/// act as the resident when the case has a phone number.
fn phone_last4_field(ctx: &Ctx, v: &TrackView, id: &str, f: &Fields, errs: &Errors) -> Markup {
    html! {
        @if v.phone_check {
            (ui::text_input(
                (id, "phone_last4"),
                ctx.t(
                    "手机号后四位（核对身份）",
                    "Last four digits of your phone (to check it is you)",
                ),
                4,
                None,
                (f, errs),
            ))
        }
    }
}

/// The photos of a case as images served from `base/{n}`.
pub fn photo_gallery(lang: Lang, base: &str, photos: &[u32]) -> Markup {
    html! {
        section.card id="photos" {
            h2 { (lang.t("照片", "Photos")) }
            div.photos {
                @for n in photos {
                    a href={ (base) "/" (n) } {
                        img.photo src={ (base) "/" (n) } alt={ (lang.t("照片", "Photo")) " " (n) }
                            loading="lazy" data-photo=(n);
                    }
                }
            }
        }
    }
}

/// A photo of the resident's case, by tracking code.
pub async fn photo(ctx: Ctx, Path((code, n)): Path<(String, String)>) -> Response {
    let not_found =
        |ctx: &Ctx| ctx.error_page(StatusCode::NOT_FOUND, "没有这张照片。", "No such photo.");
    let Some(n) = n.parse::<u32>().ok().filter(|n| *n > 0) else {
        return not_found(&ctx);
    };
    let photo = ctx
        .app
        .photo(suqiu_app::photos::PhotoAccess::Code(&code), None, n);
    match ctx.app.by_tracking_code(ctx.ip, photo).await {
        Ok(p) => crate::photo_response(p),
        Err(AppError::RateLimited) => ctx.error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "查询太频繁，请稍后再试。",
            "Too many lookups; please try later.",
        ),
        Err(_) => not_found(&ctx),
    }
}

/// How the resident hears of progress, and the form to change it.
fn notify_section(ctx: &Ctx, v: &TrackView, f: &Fields, errs: &Errors) -> Markup {
    let now = match v.notify_channel {
        "chat_group" => ctx.t(
            "发回您反映事项的群聊",
            "back to the chat group you wrote in",
        ),
        "email" => ctx.t("电子邮件", "e-mail"),
        "none" => ctx.t("不接收通知", "no notices"),
        _ => ctx.t("短信", "SMS"),
    };
    let now = match &v.notify_address {
        Some(a) => format!("{now}（{a}）"),
        None => now.to_string(),
    };
    html! {
        section.card id="notify" {
            h2 { (ctx.t("办理进展告知方式", "How you hear of progress")) }
            @if v.notify_channel == "chat_group" {
                p id="notify-now" { (now) }
            } @else {
                p id="notify-now" { (ctx.t("目前：", "Now: ")) (now) }
                form method="post" action={ "/track/" (url(&v.tracking_code)) "/notify" } id="notify-form" novalidate {
                    (ui::csrf(&ctx.csrf_token()))
                    (ui::errors_rest(errs, &[
                        "notify_channel",
                        "notify_address",
                        "rating",
                        "comment",
                        "phone_last4",
                    ]))
                    (notify_fields(ctx, f, errs))
                    (phone_last4_field(ctx, v, "notify-phone-last4", f, errs))
                    button type="submit" class="secondary" id="notify-submit" { (ctx.t("更改", "Change")) }
                }
            }
        }
    }
}

/// The resident changes how they hear of progress.
pub async fn change_notify(
    Path(code): Path<String>,
    PostForm { ctx, fields, .. }: PostForm,
) -> Response {
    if let Some(refused) = staff_refused(&ctx, &code) {
        return refused;
    }
    let changed = ctx.app.change_contact_by_code(
        &code,
        fields.get("phone_last4"),
        fields.get("notify_channel"),
        fields.get("notify_address"),
    );
    match ctx.app.by_tracking_code(ctx.ip, changed).await {
        Ok(_) => ctx.redirect(&format!("/track?code={}&notify=1", url(&code))),
        Err(e) => {
            let errs = app_errors(ctx.lang, &e, &intake_field);
            refused_on_track_page(&ctx, &code, &fields, &errs, &e).await
        }
    }
}

/// The resident's writes are for the resident: a logged-in staff member is
/// refused (a rating by staff is recorded on the case page, as theirs).
fn staff_refused(ctx: &Ctx, code: &str) -> Option<Response> {
    ctx.user.as_ref()?;
    Some(track_form_refused(
        ctx,
        StatusCode::FORBIDDEN,
        code,
        &AppError::ResidentRouteForStaff,
    ))
}

/// The tracking form again, with why the request was refused (too many
/// lookups, staff on a resident's route).
fn track_form_refused(ctx: &Ctx, status: StatusCode, code: &str, e: &AppError) -> Response {
    let errs = app_errors(ctx.lang, e, &|f| f.to_string());
    ctx.page_status(
        status,
        ctx.t("查询进度", "Track"),
        html! {
            (ui::errors_rest(&errs, &[]))
            (track_form(ctx, code, &Errors::default()))
        },
    )
}

/// The tracking page again, with what was typed and why it was refused.
async fn refused_on_track_page(
    ctx: &Ctx,
    code: &str,
    fields: &Fields,
    errs: &Errors,
    e: &AppError,
) -> Response {
    if matches!(e, AppError::RateLimited) {
        return track_form_refused(ctx, StatusCode::TOO_MANY_REQUESTS, code, e);
    }
    // an unknown code and wrong phone digits answer alike
    let status = match e {
        AppError::TrackCheckFailed => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    match ctx.app.by_tracking_code(ctx.ip, ctx.app.track(code)).await {
        Ok(v) => {
            let body = track_view(ctx, &v, false, false, fields, errs);
            ctx.page_status(status, ctx.t("办理进度", "Progress"), body)
        }
        Err(_) => ctx.error_page(
            StatusCode::NOT_FOUND,
            "没有找到这个查询码。",
            "No request has this code.",
        ),
    }
}

fn track_form(ctx: &Ctx, code: &str, errs: &Errors) -> Markup {
    html! {
        section.card {
            h1 { (ctx.t("查询办理进度", "Track a request")) }
            form method="get" action="/track" id="track-form" {
                label for="code" { (ctx.t("查询码（10 位）", "Tracking code (10 characters)")) }
                input type="text" id="code" name="code" value=(code) maxlength="20"
                    autocapitalize="characters" aria-invalid=[ui::invalid(errs, "code")];
                (ui::error_at(errs, "code"))
                button type="submit" { (ctx.t("查询", "Look up")) }
            }
        }
    }
}

pub async fn track(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let get = |k: &str| crate::param(&q, k);
    let Some(code) = get("code") else {
        return ctx.page(
            ctx.t("查询进度", "Track"),
            track_form(&ctx, "", &Errors::default()),
        );
    };
    match ctx.app.by_tracking_code(ctx.ip, ctx.app.track(&code)).await {
        Ok(v) => {
            let shown = Fields(
                get("notify")
                    .map(|_| vec![("notify_changed".to_string(), "1".to_string())])
                    .unwrap_or_default(),
            );
            let body = track_view(
                &ctx,
                &v,
                get("new").is_some(),
                get("rated").is_some(),
                &shown,
                &Errors::default(),
            );
            ctx.page(ctx.t("办理进度", "Progress"), body)
        }
        Err(e @ AppError::RateLimited) => {
            track_form_refused(&ctx, StatusCode::TOO_MANY_REQUESTS, &code, &e)
        }
        Err(_) => {
            let mut errs = Errors::default();
            errs.add(
                "code",
                ctx.t(
                    "没有找到这个查询码，请核对（共 10 位，不含数字 0 和 1）",
                    "No request has this code; check it (10 characters, no 0 or 1)",
                ),
            );
            ctx.page_status(
                StatusCode::NOT_FOUND,
                ctx.t("查询进度", "Track"),
                track_form(&ctx, &code, &errs),
            )
        }
    }
}

pub async fn rate(Path(code): Path<String>, PostForm { ctx, fields, .. }: PostForm) -> Response {
    if let Some(refused) = staff_refused(&ctx, &code) {
        return refused;
    }
    let rating = fields.get("rating").and_then(|r| {
        suqiu_app::commands::RATINGS
            .iter()
            .find(|(k, _)| *k == r)
            .map(|(_, v)| *v)
    });
    let result = match rating {
        None => {
            let mut errs = Errors::default();
            errs.add(
                "rating",
                ctx.t(
                    "请选择满意、一般或不满意",
                    "Choose satisfied, average or unsatisfied",
                ),
            );
            Err((errs, None))
        }
        Some(r) => {
            let rated = ctx.app.rate_by_code(
                &code,
                fields.get("phone_last4"),
                r,
                fields.get("comment").map(str::to_string),
            );
            ctx.app
                .by_tracking_code(ctx.ip, rated)
                .await
                .map_err(|e| (app_errors(ctx.lang, &e, &|f| f.to_string()), Some(e)))
        }
    };
    match result {
        Ok(_) => ctx.redirect(&format!("/track?code={}&rated=1", url(&code))),
        Err((errs, e)) => {
            let e = e.unwrap_or(AppError::Invalid(suqiu_domain::FieldError::new(
                "rating",
                suqiu_domain::FieldErrorKind::Missing,
            )));
            refused_on_track_page(&ctx, &code, &fields, &errs, &e).await
        }
    }
}
