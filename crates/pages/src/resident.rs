//! The resident's pages: file a request, follow it with the tracking code, rate it.
//! No login; every post is CSRF-checked like the staff's.

use crate::forms::{app_errors, Errors, Fields};
use crate::html::{esc, url, when, Lang};
use crate::{query_pairs, Ctx, PostForm};
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use suqiu_app::{AppError, TrackView};
use suqiu_domain::case::IntakeInput;
use suqiu_domain::{Level, OrgTree, Status};

pub async fn home(ctx: Ctx) -> Response {
    let body = format!(
        r#"<section class="card"><h1>{h}</h1><p>{intro}</p>
<div class="big-actions"><a href="/report" id="go-report">{file}</a><a class="secondary" href="/track" id="go-track">{track}</a></div></section>
<section class="card"><h2>{how}</h2><ol><li>{s1}</li><li>{s2}</li><li>{s3}</li></ol>
<p class="muted">{staff} <a href="/login">{login}</a></p></section>"#,
        h = esc(ctx.t("有事您说，我们来办", "Tell us, and we will handle it")),
        intro = esc(ctx.t(
            "反映身边的问题、矛盾纠纷或意见建议：村（社区）当天研判，办不了的当天上报，办理结果请您评价。",
            "Report a problem, a dispute or a suggestion: your village/community reviews it the same day, reports what it cannot solve, and you rate the result."
        )),
        file = esc(ctx.t("我要反映", "File a request")),
        track = esc(ctx.t("查询办理进度", "Track my request")),
        how = esc(ctx.t("办理流程", "How it works")),
        s1 = esc(ctx.t("填写诉求，提交后得到查询码", "File your request and get a tracking code")),
        s2 = esc(ctx.t("用查询码随时查看办理进度", "Follow it any time with the code")),
        s3 = esc(ctx.t("收到答复后，评价满意、一般或不满意", "When it is answered, rate it: satisfied, average or unsatisfied")),
        staff = esc(ctx.t("工作人员请", "Staff:")),
        login = esc(ctx.t("登录工作台", "log in to the workbench")),
    );
    ctx.page(ctx.t("首页", "Home"), &body)
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
pub fn place_select(ctx: &Ctx, name: &str, selected: &str, errs: &Errors) -> String {
    let mut s = format!(
        r#"<select name="{name}" id="{name}"{inv}><option value="">{choose}</option>"#,
        inv = errs.invalid(name),
        choose = esc(ctx.t(
            "— 请选择村（社区）和网格 —",
            "— choose village/community and grid —"
        ))
    );
    for (group, opts) in places(&ctx.app.org()) {
        s.push_str(&format!(r#"<optgroup label="{}">"#, esc(&group)));
        for (code, label) in opts {
            s.push_str(&format!(
                r#"<option value="{c}"{sel}>{l}</option>"#,
                c = esc(&code),
                sel = if code == selected { " selected" } else { "" },
                l = esc(&label)
            ));
        }
        s.push_str("</optgroup>");
    }
    s.push_str("</select>");
    s
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
pub fn intake_fields(ctx: &Ctx, f: &Fields, errs: &Errors) -> String {
    let staff = ctx.user.is_some();
    let cats = ctx.app.rules().categories.clone();
    let hint = f.value("category_hint");
    let mut cat_opts = format!(
        r#"<option value="">{}</option>"#,
        esc(ctx.t("不确定", "not sure"))
    );
    for c in &cats {
        cat_opts.push_str(&format!(
            r#"<option value="{c}"{s}>{c}</option>"#,
            c = esc(c),
            s = if *c == hint { " selected" } else { "" }
        ));
    }
    format!(
        r#"<label for="title">{l_title}</label><input type="text" id="title" name="title" maxlength="100" value="{v_title}"{i_title} placeholder="{p_title}">{e_title}
<label for="content">{l_content}</label><textarea id="content" name="content" maxlength="5000"{i_content}>{v_content}</textarea>{e_content}
<label for="category_hint">{l_cat}</label><select id="category_hint" name="category_hint">{cat_opts}</select>
<p class="hint">{h_cat}</p>
<label for="unit">{l_unit}</label>{unit}{e_unit}
<label for="address">{l_addr}</label><input type="text" id="address" name="address" maxlength="200" value="{v_addr}"{i_addr} placeholder="{p_addr}">{e_addr}
<p class="hint">{h_addr}</p>
<label for="reporter_name">{l_name}</label><input type="text" id="reporter_name" name="reporter_name" maxlength="50" value="{v_name}"{i_name} autocomplete="name">{e_name}
<label for="reporter_phone">{l_phone}</label><input type="tel" id="reporter_phone" name="reporter_phone" maxlength="20" value="{v_phone}"{i_phone} autocomplete="tel">{e_phone}
<p class="hint">{h_phone}</p>
<label class="check"><input type="checkbox" name="confidential" value="1"{conf}> {l_conf}</label>
{notify}"#,
        l_title = esc(ctx.t("一句话说明问题", "The matter in one line")),
        p_title = esc(ctx.t(
            "例如：小区门口路灯不亮",
            "e.g. the street lamp at the gate is out"
        )),
        v_title = esc(&f.value("title")),
        i_title = errs.invalid("title"),
        e_title = errs.at("title"),
        l_content = esc(ctx.t("具体情况", "Details")),
        v_content = esc(&f.value("content")),
        i_content = errs.invalid("content"),
        e_content = errs.at("content"),
        l_cat = esc(ctx.t("问题类别（可不选）", "Category (optional)")),
        h_cat = esc(ctx.t(
            "不确定可以不选，村（社区）研判时会确定类别。",
            "If unsure, leave it: the community decides at triage."
        )),
        l_unit = esc(ctx.t(
            "发生地点：村（社区）和网格",
            "Where: village/community and grid"
        )),
        unit = place_select(ctx, "unit", &f.value("unit"), errs),
        e_unit = errs.at("unit"),
        l_addr = esc(ctx.t("详细地址", "Address")),
        p_addr = esc(ctx.t(
            "例如：丹阳社区幸福路12号",
            "e.g. 12 Xingfu Road, Danyang community"
        )),
        v_addr = esc(&f.value("address")),
        i_addr = errs.invalid("address"),
        e_addr = errs.at("address"),
        h_addr = esc(ctx.t(
            "不知道属于哪个网格，可以只填地址并写明村（社区）名称。",
            "If you do not know the grid, type the address with the village/community's name."
        )),
        // a clerk or grid worker files for someone else: the form speaks of the resident
        l_name = esc(if staff {
            ctx.t("群众姓名", "The resident's name")
        } else {
            ctx.t("您的姓名", "Your name")
        }),
        v_name = esc(&f.value("reporter_name")),
        i_name = errs.invalid("reporter_name"),
        e_name = errs.at("reporter_name"),
        l_phone = esc(if staff {
            ctx.t("群众的联系电话", "The resident's phone")
        } else {
            ctx.t("联系电话", "Phone")
        }),
        v_phone = esc(&f.value("reporter_phone")),
        i_phone = errs.invalid("reporter_phone"),
        e_phone = errs.at("reporter_phone"),
        h_phone = esc(ctx.t(
            "只用于工作人员联系您，列表中不会完整显示。",
            "Only for staff to contact you; lists show it masked."
        )),
        conf = if f.get("confidential").is_some() {
            " checked"
        } else {
            ""
        },
        l_conf = esc(if staff {
            ctx.t(
                "群众要求对其姓名保密",
                "The resident asks to keep their name confidential",
            )
        } else {
            ctx.t("请对我的姓名保密", "Keep my name confidential")
        }),
        notify = notify_fields(ctx, f, errs),
    )
}

/// The preferred channel for progress notices and its address.
fn notify_fields(ctx: &Ctx, f: &Fields, errs: &Errors) -> String {
    let chosen = f.value("notify_channel");
    let mut opts = String::new();
    for (v, zh, en) in [
        (
            "sms",
            "短信（发到联系电话，或下面填写的号码）",
            "SMS (to your phone, or the number below)",
        ),
        (
            "email",
            "电子邮件（请在下面填写邮箱）",
            "E-mail (enter the address below)",
        ),
        (
            "none",
            "不接收通知（凭查询码查询）",
            "No notices (follow it with the tracking code)",
        ),
    ] {
        opts.push_str(&format!(
            r#"<option value="{v}"{s}>{l}</option>"#,
            s = if chosen == v { " selected" } else { "" },
            l = esc(ctx.t(zh, en))
        ));
    }
    format!(
        r#"<label for="notify_channel">{l_ch}</label><select id="notify_channel" name="notify_channel"{i_ch}>{opts}</select>{e_ch}
<label for="notify_address">{l_addr}</label><input type="text" id="notify_address" name="notify_address" maxlength="254" value="{v_addr}"{i_addr} autocomplete="email">{e_addr}
<p class="hint">{hint}</p>"#,
        l_ch = esc(ctx.t("办理进展怎样告知您", "How to tell you of progress")),
        i_ch = errs.invalid("notify_channel"),
        e_ch = errs.at("notify_channel"),
        l_addr = esc(ctx.t(
            "邮箱或另一个手机号（可不填）",
            "E-mail or another mobile number (optional)"
        )),
        v_addr = esc(&f.value("notify_address")),
        i_addr = errs.invalid("notify_address"),
        e_addr = errs.at("notify_address"),
        hint = esc(ctx.t(
            "默认发短信到联系电话；以后可以凭查询码更改。",
            "By default an SMS to your phone; you can change it later with the tracking code."
        )),
    )
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
    let body = format!(
        r#"<section class="card"><h1>{h}</h1><p class="hint">{intro}</p>
<form method="post" action="/report" id="report-form" enctype="multipart/form-data" novalidate>{csrf}{rest}{fields}
<label for="photos">{l_photos}</label><input type="file" id="photos" name="photos" accept="image/jpeg,image/png,image/webp" multiple{i_photos}>{e_photos}
<p class="hint">{h_photos}</p>
<button type="submit" id="submit">{submit}</button></form></section>"#,
        l_photos = esc(ctx.t("照片（可不传）", "Photos (optional)")),
        i_photos = errs.invalid("photos"),
        e_photos = errs.at("photos"),
        h_photos = esc(&match ctx.lang {
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
        }),
        h = esc(ctx.t("我要反映", "File a request")),
        intro = esc(ctx.t(
            "除注明“可不选”“可不填”的以外都要填写。提交后您会得到一个查询码。",
            "Everything is needed except where marked optional. You get a tracking code."
        )),
        csrf = ctx.csrf_field(),
        rest = errs.rest(&[
            "title",
            "content",
            "unit",
            "address",
            "reporter_name",
            "reporter_phone",
            "photos",
            "notify_channel",
            "notify_address"
        ]),
        fields = intake_fields(ctx, f, errs),
        submit = esc(ctx.t("提交", "Submit")),
    );
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, ctx.t("我要反映", "File a request"), &body)
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
) -> String {
    let lang = ctx.lang;
    let mut timeline = String::from(r#"<ol class="timeline" id="timeline">"#);
    for (at, zh, en) in &v.timeline {
        timeline.push_str(&format!(
            "<li><time>{}</time>{}</li>",
            when(*at),
            esc(if lang == Lang::Zh { zh } else { en })
        ));
    }
    timeline.push_str("</ol>");
    let mut out = String::new();
    if fresh {
        out.push_str(&format!(
            r#"<section class="card notice" id="filed"><h1>{}</h1><p>{}</p><p><span class="code" id="tracking-code">{}</span></p><p class="hint">{}</p></section>"#,
            esc(ctx.t("提交成功", "Submitted")),
            esc(ctx.t("请记下您的查询码，用它查看办理进度和评价：", "Keep your tracking code to follow and rate your request:")),
            esc(&v.tracking_code),
            esc(ctx.t("工作人员会在当天研判您的诉求。", "Staff will review your request today.")),
        ));
    }
    if rated {
        out.push_str(&format!(
            r#"<p class="notice" id="rated">{}</p>"#,
            esc(ctx.t("感谢您的评价！", "Thank you for your rating!"))
        ));
    }
    if f.get("notify_changed").is_some() {
        out.push_str(&format!(
            r#"<p class="notice" id="notify-changed">{}</p>"#,
            esc(ctx.t("已更改告知方式。", "How you hear of progress was changed."))
        ));
    }
    out.push_str(&format!(
        r#"<section class="card" id="case"><h1>{title}</h1>
<p><span class="{cls}" id="status">{status}</span></p>
<dl class="facts"><dt>{l_code}</dt><dd>{code}</dd><dt>{l_at}</dt><dd>{at}</dd><dt>{l_unit}</dt><dd>{unit}</dd><dt>{l_latest}</dt><dd id="latest">{latest}</dd></dl></section>"#,
        l_latest = esc(ctx.t("最新进展", "Latest")),
        latest = esc(v
            .timeline
            .last()
            .map(|(_, zh, en)| if lang == Lang::Zh { zh.as_str() } else { en.as_str() })
            .unwrap_or("")),
        title = esc(&v.title),
        cls = status_class(v.status),
        status = esc(crate::words::status(lang, v.status)),
        l_code = esc(ctx.t("查询码", "Tracking code")),
        code = esc(&v.tracking_code),
        l_at = esc(ctx.t("提交时间", "Filed")),
        at = when(v.received_at),
        l_unit = esc(ctx.t("目前由", "Now with")),
        unit = esc(&v.unit_name),
    ));
    if v.can_rate {
        let rating = f.value("rating");
        let mut radios = String::new();
        for (k, r) in suqiu_app::commands::RATINGS {
            radios.push_str(&format!(
                r#"<label class="radio"><input type="radio" name="rating" value="{k}"{c}> {l}</label>"#,
                c = if rating == *k { " checked" } else { "" },
                l = esc(lang.t(r.zh(), r.en()))
            ));
        }
        out.push_str(&format!(
            r#"<section class="card" id="rate"><h2>{h}</h2><form method="post" action="/track/{code}/rate" id="rate-form" novalidate>{csrf}{rest}
<fieldset{inv}><legend>{l_r}</legend>{radios}</fieldset>{e_r}
<label for="comment">{l_c}</label><textarea id="comment" name="comment" maxlength="2000">{v_c}</textarea>{e_c}{phone}
<button type="submit" id="rate-submit">{submit}</button></form></section>"#,
            phone = phone_last4_field(ctx, v, "rate-phone-last4", f, errs),
            h = esc(ctx.t("请评价办理结果", "Please rate the result")),
            code = esc(&url(&v.tracking_code)),
            csrf = ctx.csrf_field(),
            rest = errs.rest(&["rating", "comment", "phone_last4"]),
            inv = errs.invalid("rating"),
            l_r = esc(ctx.t("您对办理结果", "Your verdict")),
            e_r = errs.at("rating"),
            l_c = esc(ctx.t("意见（可不填）", "Comment (optional)")),
            v_c = esc(&f.value("comment")),
            e_c = errs.at("comment"),
            submit = esc(ctx.t("提交评价", "Submit rating")),
        ));
    }
    if !v.photos.is_empty() {
        out.push_str(&photo_gallery(
            lang,
            &format!("/track/{}/photos", url(&v.tracking_code)),
            &v.photos,
        ));
    }
    out.push_str(&format!(
        r#"<section class="card"><h2>{}</h2>{timeline}</section>"#,
        esc(ctx.t("办理经过", "What happened"))
    ));
    out.push_str(&notify_section(ctx, v, f, errs));
    out
}

/// The last four digits of the resident's phone, asked by the forms that
/// act as the resident when the case has a phone number.
fn phone_last4_field(ctx: &Ctx, v: &TrackView, id: &str, f: &Fields, errs: &Errors) -> String {
    if !v.phone_check {
        return String::new();
    }
    crate::forms::text_input(
        (id, "phone_last4"),
        ctx.t(
            "手机号后四位（核对身份）",
            "Last four digits of your phone (to check it is you)",
        ),
        4,
        None,
        (f, errs),
    )
}

/// The photos of a case as images served from `base/{n}`.
pub fn photo_gallery(lang: Lang, base: &str, photos: &[u32]) -> String {
    let imgs: String = photos
        .iter()
        .map(|n| {
            format!(
                r#"<a href="{base}/{n}"><img class="photo" src="{base}/{n}" alt="{alt} {n}" loading="lazy" data-photo="{n}"></a>"#,
                base = esc(base),
                alt = esc(lang.t("照片", "Photo")),
            )
        })
        .collect();
    format!(
        r#"<section class="card" id="photos"><h2>{}</h2><div class="photos">{imgs}</div></section>"#,
        esc(lang.t("照片", "Photos"))
    )
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
fn notify_section(ctx: &Ctx, v: &TrackView, f: &Fields, errs: &Errors) -> String {
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
    if v.notify_channel == "chat_group" {
        return format!(
            r#"<section class="card" id="notify"><h2>{h}</h2><p id="notify-now">{now}</p></section>"#,
            h = esc(ctx.t("办理进展告知方式", "How you hear of progress")),
            now = esc(&now),
        );
    }
    format!(
        r#"<section class="card" id="notify"><h2>{h}</h2><p id="notify-now">{l_now}{now}</p>
<form method="post" action="/track/{code}/notify" id="notify-form" novalidate>{csrf}{rest}{fields}{phone}
<button type="submit" class="secondary" id="notify-submit">{b}</button></form></section>"#,
        h = esc(ctx.t("办理进展告知方式", "How you hear of progress")),
        l_now = esc(ctx.t("目前：", "Now: ")),
        now = esc(&now),
        code = esc(&url(&v.tracking_code)),
        csrf = ctx.csrf_field(),
        rest = errs.rest(&[
            "notify_channel",
            "notify_address",
            "rating",
            "comment",
            "phone_last4"
        ]),
        fields = notify_fields(ctx, f, errs),
        phone = phone_last4_field(ctx, v, "notify-phone-last4", f, errs),
        b = esc(ctx.t("更改", "Change")),
    )
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
        &format!(
            "{}{}",
            errs.rest(&[]),
            track_form(ctx, code, &Errors::default())
        ),
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
            ctx.page_status(status, ctx.t("办理进度", "Progress"), &body)
        }
        Err(_) => ctx.error_page(
            StatusCode::NOT_FOUND,
            "没有找到这个查询码。",
            "No request has this code.",
        ),
    }
}

fn track_form(ctx: &Ctx, code: &str, errs: &Errors) -> String {
    format!(
        r#"<section class="card"><h1>{h}</h1><form method="get" action="/track" id="track-form">
<label for="code">{l}</label><input type="text" id="code" name="code" value="{v}" maxlength="20" autocapitalize="characters"{inv}>{e}
<button type="submit">{b}</button></form></section>"#,
        h = esc(ctx.t("查询办理进度", "Track a request")),
        l = esc(ctx.t("查询码（10 位）", "Tracking code (10 characters)")),
        v = esc(code),
        inv = errs.invalid("code"),
        e = errs.at("code"),
        b = esc(ctx.t("查询", "Look up")),
    )
}

pub async fn track(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let get = |k: &str| crate::param(&q, k);
    let Some(code) = get("code") else {
        return ctx.page(
            ctx.t("查询进度", "Track"),
            &track_form(&ctx, "", &Errors::default()),
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
            ctx.page(ctx.t("办理进度", "Progress"), &body)
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
                &track_form(&ctx, &code, &errs),
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
