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
            h1 { (ctx.tr("tell-us-and-we-will-handle")) }
            p {
                (ctx.tr(
                    "report-a-problem-a-dispute-or"
                ))
            }
            div.big-actions {
                a href="/report" id="go-report" { (ctx.tr("file-a-request")) }
                a.secondary href="/track" id="go-track" { (ctx.tr("track-my-request")) }
            }
        }
        section.card {
            h2 { (ctx.tr("how-it-works")) }
            ol {
                li { (ctx.tr("file-your-request-and-get-a")) }
                li { (ctx.tr("follow-it-any-time-with-the")) }
                li { (ctx.tr("when-it-is-answered-rate-it")) }
            }
            p.muted {
                (ctx.tr("staff")) " "
                a href="/login" { (ctx.tr("log-in-to-the-workbench")) }
            }
        }
    };
    ctx.page(ctx.tr("home"), body)
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
                (ctx.tr(
                    "choose-village-community-and-grid"
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
        ctx.tr("the-residents-name")
    } else {
        ctx.tr("your-name")
    };
    let l_phone = if staff {
        ctx.tr("the-residents-phone")
    } else {
        ctx.tr("phone")
    };
    let l_conf = if staff {
        ctx.tr("the-resident-asks-to-keep-their")
    } else {
        ctx.tr("keep-my-name-confidential")
    };
    html! {
        label for="title" { (ctx.tr("the-matter-in-one-line")) }
        input type="text" id="title" name="title" maxlength="100" value=(f.value("title"))
            aria-invalid=[ui::invalid(errs, "title")]
            placeholder=(ctx.tr(
                "e-g-the-street-lamp-at"
            ));
        (ui::error_at(errs, "title"))
        label for="content" { (ctx.tr("details")) }
        textarea id="content" name="content" maxlength="5000" aria-invalid=[ui::invalid(errs, "content")] {
            (f.value("content"))
        }
        (ui::error_at(errs, "content"))
        label for="category_hint" { (ctx.tr("category-optional")) }
        select id="category_hint" name="category_hint" {
            option value="" { (ctx.tr("not-sure")) }
            @for c in &cats {
                option value=(c) selected[*c == hint] { (c) }
            }
        }
        p.hint {
            (ctx.tr(
                "if-unsure-leave-it-the-community"
            ))
        }
        label for="unit" {
            (ctx.tr(
                "where-village-community-and-grid"
            ))
        }
        (place_select(ctx, "unit", &f.value("unit"), errs))
        (ui::error_at(errs, "unit"))
        label for="address" { (ctx.tr("address")) }
        input type="text" id="address" name="address" maxlength="200" value=(f.value("address"))
            aria-invalid=[ui::invalid(errs, "address")]
            placeholder=(ctx.tr(
                "e-g-12-xingfu-road-danyang"
            ));
        (ui::error_at(errs, "address"))
        p.hint {
            (ctx.tr(
                "if-you-do-not-know-the"
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
            (ctx.tr(
                "only-for-staff-to-contact-you"
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
        ("sms", ctx.tr("sms-to-your-phone-or-the")),
        ("email", ctx.tr("e-mail-enter-the-address-below")),
        ("none", ctx.tr("no-notices-follow-it-with-the")),
    ];
    html! {
        label for="notify_channel" { (ctx.tr("how-to-tell-you-of-progress")) }
        select id="notify_channel" name="notify_channel" aria-invalid=[ui::invalid(errs, "notify_channel")] {
            @for (v, l) in opts {
                option value=(v) selected[chosen == v] { (l) }
            }
        }
        (ui::error_at(errs, "notify_channel"))
        label for="notify_address" {
            (ctx.tr(
                "e-mail-or-another-mobile-number"
            ))
        }
        input type="text" id="notify_address" name="notify_address" maxlength="254"
            value=(f.value("notify_address")) aria-invalid=[ui::invalid(errs, "notify_address")]
            autocomplete="email";
        (ui::error_at(errs, "notify_address"))
        p.hint {
            (ctx.tr(
                "by-default-an-sms-to-your"
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
                errs.add("unit", ctx.tr("choose-the-village-community-and-grid"));
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
    let h_photos = tf!(
        ctx.lang,
        "photo-limits",
        max = suqiu_app::photos::MAX_PHOTOS,
        mb = suqiu_app::photos::MAX_PHOTO_BYTES / (1024 * 1024)
    );
    let body = html! {
        section.card {
            h1 { (ctx.tr("file-a-request")) }
            p.hint {
                (ctx.tr(
                    "everything-is-needed-except-where-marked"
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
                label for="photos" { (ctx.tr("photos-optional")) }
                input type="file" id="photos" name="photos" accept="image/jpeg,image/png,image/webp" multiple
                    aria-invalid=[ui::invalid(errs, "photos")];
                (ui::error_at(errs, "photos"))
                p.hint { (h_photos) }
                button type="submit" id="submit" { (ctx.tr("submit")) }
            }
        }
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, ctx.tr("file-a-request"), body)
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
            errs.add(name, ctx.tr("field-missing"));
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
                h1 { (ctx.tr("submitted")) }
                p { (ctx.tr("keep-your-tracking-code-to-follow")) }
                p { span.code id="tracking-code" { (v.tracking_code) } }
                p.hint { (ctx.tr("staff-will-review-your-request-today")) }
            }
        }
        @if rated {
            p.notice id="rated" { (ctx.tr("thank-you-for-your-rating")) }
        }
        @if f.get("notify_changed").is_some() {
            p.notice id="notify-changed" { (ctx.tr("how-you-hear-of-progress-was")) }
        }
        section.card id="case" {
            h1 { (v.title) }
            p { span class=(status_class(v.status)) id="status" { (crate::words::status(lang, v.status)) } }
            dl.facts {
                dt { (ctx.tr("tracking-code")) }
                dd { (v.tracking_code) }
                dt { (ctx.tr("filed")) }
                dd { (when(v.received_at)) }
                dt { (ctx.tr("now-with")) }
                dd { (v.unit_name) }
                dt { (ctx.tr("latest")) }
                dd id="latest" { (latest) }
            }
        }
        @if v.can_rate {
            section.card id="rate" {
                h2 { (ctx.tr("please-rate-the-result")) }
                form method="post" action={ "/track/" (url(&v.tracking_code)) "/rate" } id="rate-form" novalidate {
                    (ui::csrf(&ctx.csrf_token()))
                    (ui::errors_rest(errs, &["rating", "comment", "phone_last4"]))
                    fieldset aria-invalid=[ui::invalid(errs, "rating")] {
                        legend { (ctx.tr("your-verdict")) }
                        @for (k, r) in suqiu_app::commands::RATINGS {
                            label.radio {
                                input type="radio" name="rating" value=(k) checked[rating == *k];
                                " " (crate::words::rating(lang, *r))
                            }
                        }
                    }
                    (ui::error_at(errs, "rating"))
                    label for="comment" { (ctx.tr("comment-optional")) }
                    textarea id="comment" name="comment" maxlength="2000" { (f.value("comment")) }
                    (ui::error_at(errs, "comment"))
                    (phone_last4_field(ctx, v, "rate-phone-last4", f, errs))
                    button type="submit" id="rate-submit" { (ctx.tr("submit-rating")) }
                }
            }
        }
        @if !v.photos.is_empty() {
            (photo_gallery(lang, &format!("/track/{}/photos", url(&v.tracking_code)), &v.photos))
        }
        section.card {
            h2 { (ctx.tr("what-happened")) }
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
                ctx.tr(
                    "last-four-digits-of-your-phone",
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
            h2 { (lang.tr("photos")) }
            div.photos {
                @for n in photos {
                    a href={ (base) "/" (n) } {
                        img.photo src={ (base) "/" (n) } alt={ (lang.tr("photo")) " " (n) }
                            loading="lazy" data-photo=(n);
                    }
                }
            }
        }
    }
}

/// A photo of the resident's case, by tracking code.
pub async fn photo(ctx: Ctx, Path((code, n)): Path<(String, String)>) -> Response {
    let not_found = |ctx: &Ctx| ctx.error_page(StatusCode::NOT_FOUND, "no-such-photo");
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
            "too-many-lookups-please-try-later",
        ),
        Err(_) => not_found(&ctx),
    }
}

/// How the resident hears of progress, and the form to change it.
fn notify_section(ctx: &Ctx, v: &TrackView, f: &Fields, errs: &Errors) -> Markup {
    let now = match v.notify_channel {
        "chat_group" => ctx.tr("back-to-the-chat-group-you"),
        "email" => ctx.tr("contact-email"),
        "none" => ctx.tr("no-notices"),
        _ => ctx.tr("contact-sms"),
    };
    let now = match &v.notify_address {
        Some(a) => format!("{now}（{a}）"),
        None => now.to_string(),
    };
    html! {
        section.card id="notify" {
            h2 { (ctx.tr("how-you-hear-of-progress")) }
            @if v.notify_channel == "chat_group" {
                p id="notify-now" { (now) }
            } @else {
                p id="notify-now" { (ctx.tr("now")) (now) }
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
                    button type="submit" class="secondary" id="notify-submit" { (ctx.tr("change")) }
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
        ctx.tr("track"),
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
            ctx.page_status(status, ctx.tr("progress"), body)
        }
        Err(_) => ctx.error_page(StatusCode::NOT_FOUND, "no-request-has-this-code"),
    }
}

fn track_form(ctx: &Ctx, code: &str, errs: &Errors) -> Markup {
    html! {
        section.card {
            h1 { (ctx.tr("track-a-request")) }
            form method="get" action="/track" id="track-form" {
                label for="code" { (ctx.tr("tracking-code-10-characters")) }
                input type="text" id="code" name="code" value=(code) maxlength="20"
                    autocapitalize="characters" aria-invalid=[ui::invalid(errs, "code")];
                (ui::error_at(errs, "code"))
                button type="submit" { (ctx.tr("look-up")) }
            }
        }
    }
}

pub async fn track(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let get = |k: &str| crate::param(&q, k);
    let Some(code) = get("code") else {
        return ctx.page(ctx.tr("track"), track_form(&ctx, "", &Errors::default()));
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
            ctx.page(ctx.tr("progress"), body)
        }
        Err(e @ AppError::RateLimited) => {
            track_form_refused(&ctx, StatusCode::TOO_MANY_REQUESTS, &code, &e)
        }
        Err(_) => {
            let mut errs = Errors::default();
            errs.add("code", ctx.tr("no-request-has-this-code-check"));
            ctx.page_status(
                StatusCode::NOT_FOUND,
                ctx.tr("track"),
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
            errs.add("rating", ctx.tr("choose-satisfied-average-or-unsatisfied"));
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
