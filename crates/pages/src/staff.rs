//! Staff pages: login, the role's workbench (queues that refresh by
//! themselves), case lists with filters and pages, the case page with its
//! whole timeline and deadlines and the actions the user may take, and filing
//! for a resident.

use crate::forms::{app_errors, Errors, Fields};
use crate::html::{parse_day, url, when, Lang};
use crate::resident::{category_hint, intake_field, intake_fields, intake_input};
use crate::{query_pairs, ui, words, Ctx, PostForm};
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use suqiu_app::photos::PhotoAccess;
use suqiu_app::related::RelatedCase;
use suqiu_app::routing::Suggestions;
use suqiu_app::{AppError, CaseFilter, CaseRow, CaseView, QueuePosition, QueueQuery, StaffUser};
use suqiu_domain::case::{Actor, Queue};
use suqiu_domain::validate::{mask_name, mask_phone};
use suqiu_domain::workflow::{self, Command, Difficulty, Rating, RatingVia, Refusal, Urgency};
use suqiu_domain::{Channel, Level, Role, Status};

// ---------------------------------------------------------------- login

fn login_page(ctx: &Ctx, login: &str, next: &str, errs: &Errors) -> Response {
    let body = html! {
        section.card {
            h1 { (ctx.tr("staff-login")) }
            form method="post" action="/login" id="login-form" novalidate {
                (ui::csrf(&ctx.csrf_token()))
                input type="hidden" name="next" value=(next);
                (ui::errors_rest(errs, &["login", "password"]))
                label for="login" { (ctx.tr("login")) }
                input type="text" id="login" name="login" value=(login) autocomplete="username"
                    aria-invalid=[ui::invalid(errs, "login")];
                (ui::error_at(errs, "login"))
                label for="password" { (ctx.tr("password")) }
                input type="password" id="password" name="password" autocomplete="current-password"
                    aria-invalid=[ui::invalid(errs, "password")];
                (ui::error_at(errs, "password"))
                button type="submit" id="login-submit" { (ctx.tr("log-in")) }
            }
        }
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, ctx.tr("login-2"), body)
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/staff") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/staff".into(),
    }
}

pub async fn login_form(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let next = q.iter().find(|(k, _)| k == "next").map(|(_, v)| v.as_str());
    if ctx.user.is_some() {
        return ctx.redirect(&safe_next(next));
    }
    login_page(&ctx, "", &safe_next(next), &Errors::default())
}

pub async fn login(
    PostForm {
        mut ctx, fields, ..
    }: PostForm,
) -> Response {
    let next = safe_next(fields.get("next"));
    let login = fields.value("login");
    let mut errs = Errors::default();
    if fields.get("login").is_none() {
        errs.add("login", ctx.tr("enter-your-login"));
    }
    if fields.get("password").is_none() {
        errs.add("password", ctx.tr("enter-your-password"));
    }
    if !errs.is_empty() {
        return login_page(&ctx, &login, &next, &errs);
    }
    let password = fields
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match ctx.app.login(&login, &password, ctx.ip).await {
        Ok((token, _, _)) => {
            ctx.start_session(&token);
            ctx.redirect(&next)
        }
        Err(e) => {
            let errs = app_errors(ctx.lang, &e, &|f| f.to_string());
            login_page(&ctx, &login, &next, &errs)
        }
    }
}

pub async fn logout(PostForm { mut ctx, .. }: PostForm) -> Response {
    if let Some(token) = crate::cookie(&ctx.headers, crate::SESSION_COOKIE).map(str::to_string) {
        if let Err(e) = ctx.app.logout(&token).await {
            tracing::warn!(error = %e, "logout");
        }
    }
    ctx.end_session();
    ctx.redirect("/login")
}

// ---------------------------------------------------------------- lists

/// A table of cases (personal data masked).
pub fn case_table(ctx: &Ctx, rows: &[CaseRow], empty: &str) -> Markup {
    if rows.is_empty() {
        return html! { p.muted.empty { (empty) } };
    }
    let org = ctx.app.org();
    let name = |c: &str| {
        org.unit(c)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    html! {
        div.table-wrap {
            table.cases {
                thead {
                    tr {
                        th { (ctx.tr("matter")) }
                        th { (ctx.tr("place")) }
                        th { (ctx.tr("status")) }
                        th { (ctx.tr("triage")) }
                        th { (ctx.tr("reporter")) }
                        th { (ctx.tr("received-3")) }
                    }
                }
                tbody {
                    @for r in rows {
                        tr data-case=(r.id) {
                            td { a href={ "/staff/cases/" (r.id) } { (r.title) } }
                            td { (name(&r.place_unit)) }
                            td { (words::status_str(ctx.lang, &r.status)) }
                            td {
                                @if let (Some(u), Some(c)) = (&r.urgency, &r.category) {
                                    span class={ "badge " (u) } { (words::urgency(ctx.lang, u)) }
                                    " " (c)
                                }
                            }
                            td { (mask_name(&r.reporter_name)) " " (mask_phone(&r.reporter_phone)) }
                            td { (when(r.received_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn role_queues(role: Role) -> &'static [Queue] {
    match role {
        Role::GridWorker => &[],
        Role::CommunityStaff => &[
            Queue::Triage,
            Queue::Resolve,
            Queue::Decide,
            Queue::DueSoon,
            Queue::Overdue,
            Queue::Rated,
        ],
        Role::StreetStaff => &[
            Queue::Sign,
            Queue::Dispatch,
            Queue::Handling,
            Queue::Decide,
            Queue::DueSoon,
            Queue::Overdue,
            Queue::Rated,
        ],
        Role::DepartmentHandler => &[
            Queue::Accept,
            Queue::Handling,
            Queue::Cooperate,
            Queue::DueSoon,
            Queue::Overdue,
            Queue::Rated,
        ],
        Role::Leader => &[Queue::Supervise, Queue::SetDeadline, Queue::Owned],
        Role::PetitionBureau => &[
            Queue::Callback,
            Queue::Triage,
            Queue::Resolve,
            Queue::Decide,
            Queue::Overdue,
        ],
        Role::Admin => &[Queue::Callback],
        Role::Inspector => &[Queue::Triage, Queue::Resolve, Queue::Overdue],
    }
}

const QUEUE_LIMIT: u32 = 20;
/// A page of a queue on its own page.
const QUEUE_PAGE: u32 = 50;

/// One queue as a card that refreshes itself every 30 seconds (htmx); a
/// page of it after a cursor, narrowed as asked, with a link to the next page
/// (the links and the refresh keep the narrowing).
async fn queue_card(
    ctx: &Ctx,
    user: &StaffUser,
    q: Queue,
    limit: u32,
    after: Option<QueuePosition>,
    narrow: &QueueQuery,
) -> Markup {
    let (rows, next) = match ctx.app.queue_page(user, q, after, narrow, limit).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "queue");
            return html! {
                section.card id={ "q-" (q.as_str()) } {
                    p.error { (ctx.tr("cannot-read-it-now")) }
                }
            };
        }
    };
    let mut query: Vec<(&str, String)> = vec![("limit", limit.to_string())];
    for (k, v) in [
        ("place", &narrow.place),
        ("category", &narrow.category),
        ("urgency", &narrow.urgency),
    ] {
        if let Some(v) = v {
            query.push((k, v.clone()));
        }
    }
    let at = |after: Option<QueuePosition>| {
        let mut qs = query.clone();
        if let Some(a) = after {
            qs.push(("after", a.encode()));
        }
        serde_urlencoded::to_string(&qs).unwrap_or_default()
    };
    let name = words::queue(ctx.lang, q);
    let q = q.as_str();
    let refresh = format!("/staff/queue/{q}?fragment=1&{}", at(after));
    html! {
        section class="card queue" id={ "q-" (q) } hx-get=(refresh) hx-trigger="every 30s" hx-swap="outerHTML" {
            h2 {
                a href={ "/staff/queue/" (q) } { (name) }
                span.count { (rows.len()) @if next.is_some() { "+" } }
                button type="button" class="link refresh" id={ "refresh-" (q) } hx-get=(refresh)
                    hx-target="closest section" hx-swap="outerHTML" { (ctx.tr("refresh")) }
            }
            (case_table(ctx, &rows, ctx.tr("nothing-here")))
            @if after.is_some() || next.is_some() {
                p.pager {
                    @if after.is_some() {
                        a href={ "/staff/queue/" (q) "?" (at(None)) } id={ "first-" (q) } { (ctx.tr("first-page")) }
                    }
                    @if after.is_some() && next.is_some() { " · " }
                    @if let Some(n) = next {
                        a href={ "/staff/queue/" (q) "?" (at(Some(n))) } id={ "next-" (q) } rel="next" { (ctx.tr("next-page")) }
                    }
                }
            }
        }
    }
}

/// The urgency tiers and the categories in force, as (value, words) options.
type Options = Vec<(String, String)>;
fn triage_options(ctx: &Ctx) -> (Options, Options) {
    let urg = suqiu_app::commands::URGENCIES
        .iter()
        .map(|(k, _)| (k.to_string(), words::urgency(ctx.lang, k)))
        .collect();
    let cats = ctx
        .app
        .rules()
        .categories
        .iter()
        .map(|c| (c.clone(), c.clone()))
        .collect();
    (urg, cats)
}

/// The queue page's filter: place (a street or community the user sees),
/// category, urgency tier; each "全部" by default.
fn queue_filter_form(
    ctx: &Ctx,
    user: &StaffUser,
    q: Queue,
    narrow: &QueueQuery,
    errs: &Errors,
) -> Markup {
    let lang = ctx.lang;
    let select = |name: &str, label: &str, opts: Vec<(String, String)>, chosen: &Option<String>| {
        html! {
            div {
                label for={ "f-" (name) } { (label) }
                select id={ "f-" (name) } name=(name) aria-invalid=[ui::invalid(errs, name)] {
                    option value="" { (lang.tr("all")) }
                    @for (v, t) in &opts {
                        option value=(v) selected[chosen.as_deref() == Some(v.as_str())] { (t) }
                    }
                }
                (ui::error_at(errs, name))
            }
        }
    };
    let places = crate::topics::unit_options(ctx, user);
    let (urg, cats) = triage_options(ctx);
    let p = select("place", lang.tr("place"), places, &narrow.place);
    let c = select("category", lang.tr("category"), cats, &narrow.category);
    let u = select("urgency", lang.tr("urgency"), urg, &narrow.urgency);
    html! {
        form method="get" action={ "/staff/queue/" (q.as_str()) } class="card filters" id="queue-filters" {
            (p) (c) (u)
            div { button type="submit" id="queue-filter" { (lang.tr("filter")) } }
        }
    }
}

pub async fn queue_page(ctx: Ctx, Path(name): Path<String>, RawQuery(q): RawQuery) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(queue) = Queue::parse(&name) else {
        return ctx.error_page(StatusCode::NOT_FOUND, "no-such-work-queue");
    };
    let q = query_pairs(q.as_deref());
    let limit = q
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .unwrap_or(QUEUE_PAGE)
        .clamp(1, 200);
    let after = match q.iter().find(|(k, _)| k == "after") {
        None => None,
        Some((_, v)) => match QueuePosition::parse(v) {
            Some(p) => Some(p),
            None => return ctx.error_page(StatusCode::BAD_REQUEST, "the-page-cursor-is-not-valid"),
        },
    };
    let narrow = QueueQuery {
        place: crate::param(&q, "place"),
        category: crate::param(&q, "category"),
        urgency: crate::param(&q, "urgency"),
    };
    let mut errs = Errors::default();
    if narrow
        .place
        .as_deref()
        .is_some_and(|p| ctx.app.org().unit(p).is_none())
    {
        errs.add("place", ctx.tr("choose-the-place-from-the-list"));
    }
    if narrow
        .urgency
        .as_deref()
        .is_some_and(|u| !suqiu_app::commands::URGENCIES.iter().any(|(k, _)| *k == u))
    {
        errs.add("urgency", ctx.tr("choose-the-urgency-from-the-list"));
    }
    let form = queue_filter_form(&ctx, &user, queue, &narrow, &errs);
    if !errs.is_empty() {
        return ctx.page_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            words::queue(ctx.lang, queue),
            form,
        );
    }
    let card = queue_card(&ctx, &user, queue, limit, after, &narrow).await;
    if ctx.htmx || q.iter().any(|(k, _)| k == "fragment") {
        return ctx.fragment(card);
    }
    ctx.page(words::queue(ctx.lang, queue), html! { (form) (card) })
}

async fn list(ctx: &Ctx, user: &StaffUser, statuses: &[Status], limit: u32) -> Vec<CaseRow> {
    let filter = CaseFilter {
        statuses: statuses.iter().map(|s| s.as_str().to_string()).collect(),
        limit,
        ..Default::default()
    };
    match ctx.app.list_cases(user, None, filter).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "list");
            vec![]
        }
    }
}

/// The grid worker's follow-up list: each case with a quick visit note.
fn followup_table(ctx: &Ctx, rows: &[CaseRow]) -> Markup {
    if rows.is_empty() {
        return html! { p.muted { (ctx.tr("nothing-to-follow-up")) } };
    }
    let csrf = ctx.csrf_token();
    html! {
        ul.followups {
            @for r in rows {
                li.card data-case=(r.id) {
                    a href={ "/staff/cases/" (r.id) } { (r.title) }
                    " "
                    span.status { (words::status_str(ctx.lang, &r.status)) }
                    form method="post" action={ "/staff/cases/" (r.id) "/notes" } class="visit-note" {
                        (ui::csrf(&csrf))
                        input type="hidden" name="expected_version" value=(r.version);
                        label for={ "note-" (r.id) } { (ctx.tr("visit-note")) }
                        input type="text" id={ "note-" (r.id) } name="text" maxlength="2000"
                            placeholder=(ctx.tr("e-g-visited-the-resident-is"));
                        button type="submit" class="secondary" { (ctx.tr("record")) }
                    }
                }
            }
        }
    }
}

pub async fn workbench(ctx: Ctx) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let org = ctx.app.org();
    let unit_name = org
        .unit(&user.unit)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let head = html! {
        h1 {
            (ctx.tr("workbench"))
            " "
            span.muted { (unit_name) " · " (words::role(ctx.lang, user.role)) }
        }
    };
    let body = match user.role {
        Role::GridWorker => {
            let follow = list(
                &ctx,
                &user,
                &[
                    Status::Replied,
                    Status::Unsatisfied,
                    Status::Received,
                    Status::Triaged,
                ],
                20,
            )
            .await;
            let mine = list(&ctx, &user, &[], 20).await;
            html! {
                (head)
                div.big-actions {
                    a href="/staff/new" id="proxy-file" { (ctx.tr("file-for-a-resident-2")) }
                }
                section.card #followup {
                    h2 { (ctx.tr("to-follow-up")) }
                    p.hint { (ctx.tr("awaiting-triage-in-the-communitys-hands")) }
                    (followup_table(&ctx, &follow))
                }
                section.card #my-grid {
                    h2 { (ctx.tr("my-grids-cases")) }
                    (case_table(&ctx, &mine, ctx.tr("none")))
                    p { a href="/staff/cases" { (ctx.tr("all-cases")) } }
                }
            }
        }
        role => {
            let mut cards = Vec::new();
            for q in role_queues(role) {
                cards.push(
                    queue_card(&ctx, &user, *q, QUEUE_LIMIT, None, &QueueQuery::default()).await,
                );
            }
            let board = if role == Role::StreetStaff {
                Some(review_board(&ctx, &user).await)
            } else {
                None
            };
            html! {
                (head)
                div.grid.queues { @for c in &cards { (c) } }
                @if let Some(b) = &board { (b) }
                @if role == Role::Leader {
                    p { a.button href="/staff/dashboard" { (ctx.tr("statistics-and-ranking-2")) } }
                }
            }
        }
    };
    ctx.page(ctx.tr("workbench"), body)
}

/// The street's weekly review board: every open case, by status; and every
/// dispatched case it follows.
async fn review_board(ctx: &Ctx, user: &StaffUser) -> Markup {
    let open: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
    let rows = list(ctx, user, &open, 500).await;
    let counts: Vec<(Status, usize)> = open
        .iter()
        .map(|s| (*s, rows.iter().filter(|r| r.status == s.as_str()).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let dispatched: Vec<CaseRow> = rows
        .iter()
        .filter(|r| {
            matches!(
                r.status.as_str(),
                "dispatched" | "in_progress" | "awaiting_leader_deadline"
            )
        })
        .cloned()
        .collect();
    // the department in charge and when it must have finished (the latest
    // of its running deadlines: accepting the same day comes before), for
    // each dispatched case
    let org = ctx.app.org();
    let mut followed = Vec::with_capacity(dispatched.len());
    for r in &dispatched {
        let due = ctx
            .app
            .store()
            .deadlines(r.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.unit == r.current_unit)
            .max_by_key(|d| d.due_at);
        let dept = org
            .unit(&r.current_unit)
            .map_or_else(|| r.current_unit.clone(), |u| u.name.clone());
        followed.push((r, dept, due));
    }
    html! {
        section.card #review-board {
            h2 { (ctx.tr("weekly-review-board-open-cases")) }
            p.hint { (ctx.tr("all-open-cases-of-the-street")) }
            table {
                thead { tr { th { (ctx.tr("status")) } th.num { (ctx.tr("cases-3")) } } }
                tbody {
                    @if counts.is_empty() {
                        tr { td colspan="2" class="muted" { (ctx.tr("no-open-cases")) } }
                    } @else {
                        @for (s, n) in &counts {
                            tr {
                                td { a href={ "/staff/cases?status=" (s.as_str()) } { (words::status(ctx.lang, *s)) } }
                                td.num { (n) }
                            }
                        }
                    }
                }
            }
        }
        section.card #dispatched {
            h2 { (ctx.tr("dispatched-cases-i-follow")) }
            @if followed.is_empty() {
                p.muted.empty { (ctx.tr("none")) }
            } @else {
                div.table-wrap {
                    table.cases {
                        thead {
                            tr {
                                th { (ctx.tr("matter")) }
                                th { (ctx.tr("department-in-charge")) }
                                th { (ctx.tr("status")) }
                                th { (ctx.tr("due-by")) }
                                th { (ctx.tr("received-3")) }
                            }
                        }
                        tbody {
                            @for (r, dept, due) in &followed {
                                tr data-case=(r.id) {
                                    td { a href={ "/staff/cases/" (r.id) } { (r.title) } }
                                    td.dept { (dept) }
                                    td { (words::status_str(ctx.lang, &r.status)) }
                                    td.due {
                                        @match due {
                                            Some(d) => {
                                                span class=(if d.overdue { "badge overdue" } else if d.warned { "badge warned" } else { "badge" }) {
                                                    (crate::html::due(ctx.lang, d.due_at))
                                                }
                                            }
                                            None => { (ctx.tr("no-running-deadline")) }
                                        }
                                    }
                                    td { (crate::html::when(r.received_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const PAGE: u32 = 20;

pub async fn cases(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q = query_pairs(q.as_deref());
    let get = |k: &str| crate::param(&q, k);
    let mut errs = Errors::default();
    let status = get("status");
    if let Some(s) = &status {
        if Status::parse(s).is_none() {
            errs.add("status", ctx.tr("choose-a-status-from-the-list"));
        }
    }
    let channel = get("channel");
    if let Some(c) = &channel {
        if Channel::parse(c).is_none() {
            errs.add("channel", ctx.tr("choose-a-channel-from-the-list"));
        }
    }
    let mut date = |k: &str| -> Option<i64> {
        let v = get(k)?;
        let d = parse_day(&v);
        if d.is_none() {
            errs.add(k, ctx.tr("dates-look-like-2026-11-23"));
        }
        d
    };
    let from = date("from");
    let to = date("to").map(|t| t + 24 * 3600 * 1000);
    let cursor = get("cursor").and_then(|c| c.parse::<i64>().ok());
    let text = get("q");
    let mut rows = Vec::new();
    let mut next = None;
    if errs.is_empty() {
        let result = match &text {
            Some(t) => {
                let offset = get("offset")
                    .and_then(|o| o.parse::<usize>().ok())
                    .unwrap_or(0);
                match ctx
                    .app
                    .search(
                        &user,
                        t,
                        None,
                        status.iter().cloned().collect(),
                        from,
                        to,
                        PAGE as usize + 1,
                        offset,
                    )
                    .await
                {
                    Ok((_, hits)) => {
                        let mut r: Vec<CaseRow> = hits.into_iter().map(|h| h.row).collect();
                        if r.len() > PAGE as usize {
                            r.truncate(PAGE as usize);
                            next = Some(format!("offset={}", offset + PAGE as usize));
                        }
                        Ok(r)
                    }
                    Err(e) => Err(e),
                }
            }
            None => {
                let filter = CaseFilter {
                    statuses: status.iter().cloned().collect(),
                    channels: channel.iter().cloned().collect(),
                    from,
                    to,
                    before_id: cursor,
                    limit: PAGE + 1,
                    ..Default::default()
                };
                match ctx.app.list_cases(&user, None, filter).await {
                    Ok(mut r) => {
                        if r.len() > PAGE as usize {
                            r.truncate(PAGE as usize);
                            next = r.last().map(|l| format!("cursor={}", l.id));
                        }
                        Ok(r)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(r) => rows = r,
            Err(AppError::SearchUnavailable) => {
                errs.add("q", ctx.tr("full-text-search-is-not-enabled"))
            }
            Err(e) => errs = app_errors(ctx.lang, &e, &|f| f.to_string()),
        }
    }
    let keep: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| k != "cursor" && k != "offset" && k != "lang")
        .cloned()
        .collect();
    let keep_q = serde_urlencoded::to_string(&keep).unwrap_or_default();
    let next_href = next.map(|n| {
        format!(
            "/staff/cases?{keep_q}{}{n}",
            if keep_q.is_empty() { "" } else { "&" }
        )
    });
    let first = cursor.is_some() || get("offset").is_some();
    let statuses: Vec<(&str, String)> = Status::ALL
        .iter()
        .map(|s| (s.as_str(), words::status(ctx.lang, *s).to_string()))
        .collect();
    let channels: Vec<(&str, String)> = Channel::ALL
        .iter()
        .map(|c| (c.as_str(), words::channel(ctx.lang, c.as_str())))
        .collect();
    let from_v = get("from").unwrap_or_default();
    let to_v = get("to").unwrap_or_default();
    let body = html! {
        h1 { (ctx.tr("cases")) }
        form method="get" action="/staff/cases" class="card filters" id="filters" {
            (ui::errors_rest(&errs, &["q", "status", "channel", "from", "to"]))
            div {
                label for="q" { (ctx.tr("words")) }
                input type="text" id="q" name="q" value=(text.as_deref().unwrap_or_default())
                    aria-invalid=[ui::invalid(&errs, "q")];
                (ui::error_at(&errs, "q"))
            }
            (ui::select_field(("status", ctx.tr("status")), ctx.tr("all-2"), &statuses, status.as_deref(), &errs))
            (ui::select_field(("channel", ctx.tr("channel")), ctx.tr("all-2"), &channels, channel.as_deref(), &errs))
            (ui::date_field("from", ctx.tr("received-from"), &from_v, &errs))
            (ui::date_field("to", ctx.tr("to"), &to_v, &errs))
            div { button type="submit" { (ctx.tr("filter")) } }
        }
        section.card #case-list {
            (case_table(&ctx, &rows, ctx.tr("no-matching-cases")))
            @if let Some(href) = &next_href {
                nav.pager { a href=(href) id="next-page" { (ctx.tr("next-page")) } }
            }
            @if first {
                a href={ "/staff/cases?" (keep_q) } { (ctx.tr("first-page")) }
            }
        }
    };
    let status_code = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status_code, ctx.tr("cases"), body)
}

// ---------------------------------------------------------------- the case page

/// The label of a command.
pub fn command_label(lang: Lang, name: &str) -> &'static str {
    let key = match name {
        "triage" => "triage-2",
        "report" => "report-to-the-township-street",
        "sign" => "sign-for-it",
        "assign" => "handle-at-the-street-responsible-and",
        "dispatch" => "dispatch-to-a-department",
        "accept" => "accept-contact-the-resident-today",
        "return" => "return-the-order",
        "cooperation-report" => "cooperation-report",
        "request-deadline" => "ask-the-leader-for-a-deadline",
        "set-deadline" => "set-the-deadline",
        "reply" => "reply-with-the-result",
        "explain" => "explain-the-policy-in-person-2",
        "rate" => "enter-the-callback-rating",
        "reopen" => "handle-again-2",
        "close" => "close",
        "own" => "take-ownership",
        "supervise" => "supervise",
        "interview" => "record-an-interview",
        "notes" => "add-a-note-visit-record",
        "merge" => "merge-as-a-duplicate",
        "rating-read" => "mark-the-rating-read",
        "unmask" => "show-the-full-contact-details-audited",
        _ => "action",
    };
    lang.tr(key)
}

/// A representative command, to ask the workflow whether the user may give
/// it now (the forms shown are exactly those `decide` would not refuse for
/// the state or the role).
fn probe(ctx: &Ctx, name: &str) -> Option<Command> {
    let org = ctx.app.org();
    let dept = org
        .units()
        .map(|(u, _)| u)
        .find(|u| u.level == Level::Department)?
        .code
        .clone();
    let x = || "x".to_string();
    Some(match name {
        "triage" => Command::Triage {
            urgency: Urgency::Urgent,
            category: ctx
                .app
                .rules()
                .categories
                .first()
                .cloned()
                .unwrap_or_else(x),
        },
        "report" => Command::ReportToStreet { note: None },
        "sign" => Command::Sign,
        "assign" => Command::Assign {
            responsible: x(),
            days: 1,
        },
        "dispatch" => Command::Dispatch {
            lead: dept,
            cooperating: vec![],
            difficulty: Difficulty::Ordinary,
        },
        "accept" => Command::Accept { contact_note: x() },
        "return" => Command::Return { reason: x() },
        "cooperation-report" => Command::CooperationReport { text: x() },
        "request-deadline" => Command::RequestLeaderDeadline { reason: x() },
        "set-deadline" => Command::SetLeaderDeadline { days: 1 },
        "reply" => Command::Reply {
            result: x(),
            policy_basis: None,
        },
        "explain" => Command::Explain {
            visited_by: x(),
            visited_at: ctx.app.now(),
            policy_basis: x(),
            note: None,
        },
        "rate" => Command::Rate {
            rating: Rating::Satisfied,
            comment: None,
            via: RatingVia::Phone,
        },
        "reopen" => Command::Reopen {
            reason: x(),
            days: 1,
        },
        "close" => Command::Close { explanation: x() },
        "own" => Command::TakeOwnership,
        "rating-read" => Command::AcknowledgeRating,
        "supervise" => Command::Supervise { note: x(), days: 1 },
        "interview" => Command::RecordInterview {
            unit: dept,
            head: x(),
            note: x(),
        },
        "notes" => Command::AddNote { text: x() },
        // any other open case the user may see: whether this case may be merged at all
        "merge" => Command::Merge {
            primary: workflow::MergeTarget {
                duplicate: 0,
                id: 1,
                status: Status::Received,
                merged_into: None,
                visible: true,
            },
            reason: x(),
        },
        _ => return None,
    })
}

fn allowed_commands(ctx: &Ctx, user: &StaffUser, view: &CaseView) -> Vec<&'static str> {
    let org = ctx.app.org();
    let cal = ctx.app.calendar();
    let wctx = workflow::Ctx {
        now: ctx.app.now(),
        calendar: &cal,
        rules: &ctx.app.rules(),
        org: &org,
    };
    let who = user.who();
    let mut names: Vec<&'static str> = suqiu_app::commands::NAMES
        .iter()
        .copied()
        .chain(std::iter::once(crate::merge::COMMAND))
        .filter(|name| {
            probe(ctx, name).is_some_and(|cmd| {
                matches!(
                    workflow::decide(&view.state, &cmd, &who, &wctx),
                    Ok(_) | Err(Refusal::Invalid { .. })
                )
            })
        })
        .collect();
    if may_unmask(user, view) {
        names.push(UNMASK);
    }
    names
}

/// The action that shows the reporter's full contact details (a reason is
/// asked, each view audited): not a step of the case.
const UNMASK: &str = "unmask";

/// Whether the user's role may see this reporter's full contact details
/// (a confidential reporter needs the stronger permission).
fn may_unmask(user: &StaffUser, view: &CaseView) -> bool {
    use suqiu_app::privacy::{allowed, Permission};
    let needed = if view.state.intake.reporter.confidential {
        Permission::UnmaskConfidential
    } else {
        Permission::Unmask
    };
    allowed(user.role, needed)
}

/// Shows the case page with the reporter's full contact details, after
/// recording the reason in the audit log; a missing reason is asked again.
async fn unmask(ctx: Ctx, user: StaffUser, id: i64, fields: Fields) -> Response {
    let reason = fields.get("reason").unwrap_or_default().to_string();
    match ctx.app.unmask(&user, id, &reason).await {
        Ok(reporter) => match ctx.app.case_for(&user, id).await {
            Ok(view) => {
                let body = case_body_showing(&ctx, &user, &view, None, None, Some(&reporter)).await;
                ctx.page(&view.state.intake.title, body)
            }
            Err(_) => ctx.redirect("/staff"),
        },
        Err(AppError::CaseNotFound) => {
            ctx.error_page(StatusCode::NOT_FOUND, "case-not-found-or-outside-your-2")
        }
        Err(e) => {
            let errors = app_errors(ctx.lang, &e, &|f| f.to_string());
            refused(&ctx, &user, id, UNMASK, fields, errors).await
        }
    }
}

/// The units a leader may interview the head of (约谈): departments,
/// townships/streets and villages/communities, each named with its level.
fn interview_units(ctx: &Ctx) -> Vec<(String, String)> {
    let org = ctx.app.org();
    let mut v: Vec<(u8, String, String)> = org
        .units()
        .map(|(u, _)| u)
        .filter_map(|u| {
            let rank = match u.level {
                Level::Department => 0,
                Level::Street => 1,
                Level::Community => 2,
                _ => return None,
            };
            Some((
                rank,
                u.code.clone(),
                format!("{}（{}）", u.name, words::level(ctx.lang, u.level)),
            ))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, c, n)| (c, n)).collect()
}

fn departments(ctx: &Ctx) -> Vec<(String, String)> {
    let mut d: Vec<(String, String)> = ctx
        .app
        .org()
        .units()
        .map(|(u, _)| u)
        .filter(|u| u.level == Level::Department)
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    d.sort();
    d
}

fn select(
    name: &str,
    id: &str,
    options: &[(String, String)],
    selected: &str,
    errs: &Errors,
    lang: Lang,
) -> Markup {
    html! {
        select name=(name) id=(id) aria-invalid=[ui::invalid(errs, name)] {
            option value="" { (lang.tr("choose")) }
            @for (v, l) in options {
                option value=(v) selected[v == selected] { (l) }
            }
        }
    }
}

/// The top suggestions of a routing model with their confidence; the one
/// pre-selected (confident enough) is marked.
fn suggestion_list(lang: Lang, id: &str, s: Option<&Suggestions>) -> Markup {
    let Some(s) = s else {
        return html! {};
    };
    if s.top.is_empty() {
        return html! {
            p.hint id=(id) { (lang.tr("suggestions-not-enough-decided-cases-yet")) }
        };
    }
    html! {
        div.suggest id=(id) {
            p.hint { (lang.tr("suggestions-top-3-with-confidence-for")) }
            ol {
                @for t in &s.top {
                    @let chosen = s.prefill.as_deref() == Some(t.value.as_str());
                    li data-value=(t.value) class=[chosen.then_some("prefilled")] {
                        (t.name.as_deref().unwrap_or(&t.value))
                        " "
                        span.muted { ((t.confidence * 100.0).round() as u32) "%" }
                        @if chosen { " · " (lang.tr("pre-selected")) }
                    }
                }
            }
        }
    }
}

/// The inputs of one command's form.
fn command_inputs(
    ctx: &Ctx,
    name: &str,
    view: &CaseView,
    f: &Fields,
    errs: &Errors,
    sugg: Option<&(Suggestions, Suggestions)>,
) -> (Markup, Vec<&'static str>) {
    let lang = ctx.lang;
    let id = |field: &str| format!("{name}-{field}");
    let label = |field: &str, key: &str| {
        html! { label for=(id(field)) { (lang.tr(key)) } }
    };
    let text = |field: &str, key: &str| {
        html! {
            (label(field, key))
            input type="text" id=(id(field)) name=(field) maxlength="2000" value=(f.value(field))
                aria-invalid=[ui::invalid(errs, field)];
            (ui::error_at(errs, field))
        }
    };
    let area = |field: &str, key: &str| {
        html! {
            (label(field, key))
            textarea id=(id(field)) name=(field) maxlength="2000" aria-invalid=[ui::invalid(errs, field)] {
                (f.value(field))
            }
            (ui::error_at(errs, field))
        }
    };
    let days = |key: &str| {
        html! {
            (label("days", key))
            input type="number" id=(id("days")) name="days" min="1" max="365" value=(f.value("days"))
                aria-invalid=[ui::invalid(errs, "days")];
            (ui::error_at(errs, "days"))
        }
    };
    let sel = |field: &str, key: &str, opts: &[(String, String)], selected: &str| {
        html! {
            (label(field, key))
            (select(field, &id(field), opts, selected, errs, lang))
            (ui::error_at(errs, field))
        }
    };
    let depts = departments(ctx);
    let (inputs, fields): (Markup, Vec<&'static str>) = match name {
        "triage" => {
            let (urg, cats) = triage_options(ctx);
            let hint = category_hint(&view.state.intake.content)
                .unwrap_or("")
                .to_string();
            // what was typed, else the model's confident first suggestion,
            // else the resident's hint
            let prefill = sugg.and_then(|(c, _)| c.prefill.clone());
            let cat_sel = f
                .get("category")
                .map(str::to_string)
                .or(prefill)
                .unwrap_or(hint);
            (
                html! {
                    (sel("urgency", "urgency-tier", &urg, &f.value("urgency")))
                    (sel("category", "category", &cats, &cat_sel))
                    (suggestion_list(lang, "category-suggestions", sugg.map(|(c, _)| c)))
                },
                vec!["urgency", "category"],
            )
        }
        "report" => (area("note", "note-optional"), vec!["note"]),
        "sign" | "own" | "rating-read" => (html! {}, vec![]),
        "unmask" => (
            text("reason", "reason-e-g-phoning-the-resident"),
            vec!["reason"],
        ),
        "assign" => (
            html! {
                (text("responsible", "responsible-person-and-office"))
                (days("deadline-working-days"))
            },
            vec!["responsible", "days"],
        ),
        "dispatch" => {
            let diffs: Vec<(String, String)> = suqiu_app::commands::DIFFICULTIES
                .iter()
                .map(|(k, d)| (k.to_string(), words::difficulty(lang, *d).to_string()))
                .collect();
            let chosen = f.all("cooperating");
            let coop = html! {
                fieldset id=(id("cooperating")) {
                    legend { (lang.tr("cooperating-units-any")) }
                    @for (c, n) in &depts {
                        label.check {
                            input type="checkbox" name="cooperating" value=(c) checked[chosen.contains(c)];
                            " " (n)
                        }
                    }
                }
            };
            let lead = f
                .get("lead")
                .map(str::to_string)
                .or_else(|| sugg.and_then(|(_, u)| u.prefill.clone()))
                .unwrap_or_default();
            (
                html! {
                    (sel("lead", "lead-unit", &depts, &lead))
                    (suggestion_list(lang, "unit-suggestions", sugg.map(|(_, u)| u)))
                    (coop)
                    (ui::error_at(errs, "cooperating"))
                    (sel("difficulty", "difficulty-sets-the-deadline", &diffs, &f.value("difficulty")))
                },
                vec!["lead", "cooperating", "difficulty"],
            )
        }
        "accept" => (
            area("contact_note", "how-the-resident-was-contacted"),
            vec!["contact_note"],
        ),
        "return" => (area("reason", "reason-for-returning"), vec!["reason"]),
        "cooperation-report" => (area("text", "what-we-did"), vec!["text"]),
        "request-deadline" => (area("reason", "reason"), vec!["reason"]),
        "set-deadline" => (days("deadline-working-days"), vec!["days"]),
        "reply" => (
            html! {
                (area("result", "result"))
                (area("policy_basis", "policy-basis-optional"))
            },
            vec!["result", "policy_basis"],
        ),
        "explain" => (
            html! {
                (text("visited_by", "who-visited"))
                (area("policy_basis", "policy-explained"))
                (area("note", "note-optional-2"))
            },
            vec!["visited_by", "policy_basis", "note"],
        ),
        "rate" => {
            let ratings: Vec<(String, String)> = suqiu_app::commands::RATINGS
                .iter()
                .map(|(k, r)| (k.to_string(), crate::words::rating(lang, *r).to_string()))
                .collect();
            // a leader records the rating of their own revisit (回门巡访)
            let leader = ctx
                .user
                .as_ref()
                .is_some_and(|u| u.role == suqiu_domain::Role::Leader);
            let vias: Vec<(String, String)> = if leader {
                vec![("leader_revisit", RatingVia::LeaderRevisit)]
            } else {
                vec![("phone", RatingVia::Phone), ("visit", RatingVia::Visit)]
            }
            .into_iter()
            .map(|(k, v)| (k.to_string(), words::via(lang, v).to_string()))
            .collect();
            (
                html! {
                    (sel("rating", "the-residents-rating", &ratings, &f.value("rating")))
                    (sel("via", "how", &vias, &f.value("via")))
                    (area("comment", "comment-optional-2"))
                },
                vec!["rating", "via", "comment"],
            )
        }
        "reopen" => (
            html! {
                (area("reason", "why-again"))
                (days("deadline-working-days"))
            },
            vec!["reason", "days"],
        ),
        "close" => (area("explanation", "explanation"), vec!["explanation"]),
        "supervise" => (
            html! {
                (area("note", "supervision-note"))
                (days("new-deadline-working-days"))
            },
            vec!["note", "days"],
        ),
        "interview" => (
            html! {
                (sel("unit", "unit-3", &interview_units(ctx), &f.value("unit")))
                (text("head", "head-interviewed"))
                (area("note", "note-2"))
            },
            vec!["unit", "head", "note"],
        ),
        "notes" => (area("text", "note-or-visit-record"), vec!["text"]),
        _ => (html! {}, vec![]),
    };
    (inputs, fields)
}

/// Which command's form failed, with its input and errors.
pub struct Failed {
    pub command: String,
    pub fields: Fields,
    pub errors: Errors,
}

pub(crate) async fn case_body(
    ctx: &Ctx,
    user: &StaffUser,
    view: &CaseView,
    failed: Option<&Failed>,
    done: Option<&str>,
) -> Markup {
    case_body_showing(ctx, user, view, failed, done, None).await
}

/// The marks of a deadline: why it is provisional (a tooltip), and that it
/// counts from the next working day.
fn deadline_marks(lang: Lang, d: &suqiu_domain::case::DeadlineInfo) -> Markup {
    html! {
        @if d.provisional {
            (ui::hint_span(
                "provisional",
                lang.tr("provisional"),
                lang.tr(
                    "that-years-holiday-notice-is-not",
                ),
            ))
        }
        @if d.after_hours {
            (lang.tr(
                "received-outside-office-hours-counted-from",
            ))
        }
    }
}

/// The case page's body; `shown`: the reporter unmasked for this answer
/// only (never stored in a URL or cached: pages are `no-store`).
async fn case_body_showing(
    ctx: &Ctx,
    user: &StaffUser,
    view: &CaseView,
    failed: Option<&Failed>,
    done: Option<&str>,
    shown: Option<&suqiu_domain::case::Reporter>,
) -> Markup {
    let lang = ctx.lang;
    let org = ctx.app.org();
    let unit_name = |c: &str| {
        org.unit(c)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    let s = &view.state;
    let i = &s.intake;
    let reporter = if let Some(r) = shown {
        format!(
            "{} {}{}",
            r.name,
            r.phone,
            r.id_number
                .as_deref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default()
        )
    } else if i.reporter.confidential {
        lang.tr("confidential").to_string()
    } else {
        format!(
            "{} {}",
            mask_name(&i.reporter.name),
            mask_phone(&i.reporter.phone)
        )
    };
    let text = |t: &str| html! { (t) };
    let mut facts: Vec<(&str, Markup)> = vec![
        (lang.tr("case-no"), html! { "#" (view.row.id) }),
        (
            lang.tr("status"),
            html! { span.status #case-status { (words::status(lang, s.status)) } },
        ),
        (
            lang.tr("channel-2"),
            text(&words::channel(lang, i.channel.as_str())),
        ),
        (lang.tr("received-3"), text(&when(s.received_at))),
        (lang.tr("place"), text(&unit_name(&i.place_unit))),
        (lang.tr("now-with-2"), text(&unit_name(&s.current_unit))),
        (lang.tr("reporter"), text(&reporter)),
    ];
    if let Some(a) = &i.address {
        facts.push((lang.tr("address-2"), text(a)));
    }
    if let Some(p) = &i.proxy {
        facts.push((
            lang.tr("filed-by-grid-worker"),
            text(&format!("{}（{}）", p.name, unit_name(&p.unit))),
        ));
    }
    if let (Some(u), Some(c)) = (s.urgency, &s.category) {
        facts.push((
            lang.tr("triage"),
            text(&format!("{}，{c}", crate::words::urgency_word(lang, u))),
        ));
    }
    if let Some(d) = s.difficulty {
        facts.push((lang.tr("difficulty"), text(words::difficulty(lang, d))));
    }
    if let Some(l) = &s.lead {
        facts.push((lang.tr("lead-unit"), text(&unit_name(l))));
    }
    if !s.cooperating.is_empty() {
        let c: Vec<String> = s.cooperating.iter().map(|c| unit_name(c)).collect();
        facts.push((lang.tr("cooperating"), text(&c.join("、"))));
    }
    if let Some(r) = &s.responsible {
        facts.push((lang.tr("responsible"), text(r)));
    }
    if let Some(o) = &s.owner {
        facts.push((lang.tr("owned-by"), text(o)));
    }
    if let Some(r) = s.rating {
        facts.push((lang.tr("rating"), text(crate::words::rating(lang, r))));
    }
    let returns: Vec<String> = s
        .returns
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(u, n)| format!("{} ×{n}", unit_name(u)))
        .collect();
    if !returns.is_empty() {
        facts.push((lang.tr("returns"), text(&returns.join("、"))));
    }

    // deadlines
    let deadlines = if s.deadlines.is_empty() {
        html! { p.muted { (lang.tr("no-running-deadline")) } }
    } else {
        html! {
            table #deadlines {
                thead {
                    tr {
                        th { (lang.tr("deadline")) }
                        th { (lang.tr("unit-2")) }
                        th { (lang.tr("due")) }
                        th { (lang.tr("state")) }
                    }
                }
                tbody {
                    @for d in &s.deadlines {
                        @let (cls, st) = if d.overdue {
                            ("overdue", lang.tr("overdue-3"))
                        } else if d.warned {
                            ("warned", lang.tr("due-soon-2"))
                        } else {
                            ("ok", lang.tr("running"))
                        };
                        tr class={ "deadline " (cls) } {
                            td { (words::rule(lang, &d.info.rule)) }
                            td { (unit_name(&d.info.unit)) }
                            td { (crate::html::due(lang, d.info.due_at)) (deadline_marks(lang, &d.info)) }
                            td { span class={ "badge " (cls) } { (st) } }
                        }
                    }
                }
            }
        }
    };

    // timeline
    let timeline = html! {
        ol.timeline #timeline {
            @for e in &view.events {
                li class=(if matches!(e.actor, Actor::System) { "system" } else { "" }) data-kind=(e.event.kind()) {
                    time { (when(e.at)) " · " (words::actor(lang, &e.actor, &unit_name)) }
                    (words::event(lang, &e.event.with_person_names(&|l| org.display_person(l)), &unit_name))
                }
            }
        }
    };

    // actions (with routing suggestions when triaging or dispatching)
    let allowed = allowed_commands(ctx, user, view);
    let may_merge = allowed.contains(&crate::merge::COMMAND);
    // similar cases: shown at triage, and offered as the primary of a merge
    let similar = if s.status == Status::Received || may_merge {
        Some(similar_cases(ctx, user, view).await)
    } else {
        None
    };
    let linked = if s.related.is_empty() {
        Vec::new()
    } else {
        ctx.app
            .related_cases(user, view.row.id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "linked cases");
                Vec::new()
            })
    };
    let sugg = if allowed.iter().any(|n| matches!(*n, "triage" | "dispatch")) {
        match ctx.app.routing_suggestions(user, view.row.id).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "routing suggestions");
                None
            }
        }
    } else {
        None
    };
    let csrf = ctx.csrf_token();
    let mut forms: Vec<Markup> = Vec::new();
    for &name in &allowed {
        let failed_here = failed.filter(|f| f.command == name);
        if name == crate::merge::COMMAND {
            let similar = match &similar {
                Some(Ok(rows)) => rows.as_slice(),
                _ => &[],
            };
            forms.push(crate::merge::form(ctx, view, &linked, similar, failed_here));
            continue;
        }
        let empty_f = Fields::default();
        let empty_e = Errors::default();
        let (f, e) = failed_here
            .map(|x| (&x.fields, &x.errors))
            .unwrap_or((&empty_f, &empty_e));
        let (inputs, shown) = command_inputs(ctx, name, view, f, e, sugg.as_ref());
        let label = command_label(lang, name);
        forms.push(html! {
            details.action id={ "action-" (name) } open[failed_here.is_some() || name == "triage"] {
                summary { (label) }
                form method="post" action={ "/staff/cases/" (view.row.id) "/" (name) } id={ "form-" (name) } novalidate {
                    (ui::csrf(&csrf))
                    input type="hidden" name="expected_version" value=(s.version);
                    (ui::errors_rest(e, &shown))
                    (inputs)
                    button type="submit" id={ "submit-" (name) } { (label) }
                }
            }
        });
    }
    // a refusal of an action this user is not offered (now, or ever: a forged post)
    let stray = failed
        .filter(|f| !allowed.contains(&f.command.as_str()))
        .map(|f| ui::errors_rest(&f.errors, &[]));
    let actions = html! {
        @if let Some(r) = &stray { (r) }
        @for f in &forms { (f) }
    };
    let actions = if actions.0.is_empty() {
        html! { p.muted { (lang.tr("nothing-for-you-to-do-on")) } }
    } else {
        actions
    };
    let related = match (&similar, s.status) {
        (Some(similar), Status::Received) => related_cases(ctx, view, similar),
        _ => html! {},
    };
    let photos = match ctx
        .app
        .photos(PhotoAccess::Staff(user), Some(view.row.id))
        .await
    {
        Ok(p) if !p.is_empty() => {
            let ns: Vec<u32> = p.iter().map(|p| p.n).collect();
            crate::resident::photo_gallery(
                lang,
                &format!("/staff/cases/{}/photos", view.row.id),
                &ns,
            )
        }
        Ok(_) => html! {},
        Err(e) => {
            tracing::warn!(error = %e, "photos of a case");
            html! {}
        }
    };
    let linked = linked_cases(ctx, view, &linked);

    html! {
        @if let Some(d) = done {
            p.notice #done role="status" { (lang.tr("done")) (command_label(lang, d)) }
        }
        @if shown.is_some() {
            p.notice #unmasked role="status" {
                (lang.tr("the-full-contact-details-are-shown"))
            }
        }
        h1 #case-title { (i.title) }
        div.grid.two {
            div {
                section.card {
                    dl.facts { @for (k, v) in &facts { dt { (k) } dd { (v) } } }
                    h2 { (lang.tr("what-was-reported")) }
                    p.content {
                        @for (n, line) in i.content.split('\n').enumerate() {
                            @if n > 0 { br; }
                            (line)
                        }
                    }
                }
                (photos)
                section.card { h2 { (lang.tr("deadlines")) } (deadlines) }
                section.card { h2 { (lang.tr("timeline-every-step")) } (timeline) }
            }
            div {
                section.card #actions { h2 { (lang.tr("what-i-can-do")) } (actions) }
                (related)
                (linked)
            }
        }
    }
}

/// Cases similar to this one (full-text search on its title) that the user may
/// see, this one left out.
async fn similar_cases(
    ctx: &Ctx,
    user: &StaffUser,
    view: &CaseView,
) -> Result<Vec<CaseRow>, AppError> {
    let (_, hits) = ctx
        .app
        .search(
            user,
            &view.state.intake.title,
            None,
            vec![],
            None,
            None,
            8,
            0,
        )
        .await?;
    Ok(hits
        .into_iter()
        .map(|h| h.row)
        .filter(|r| r.id != view.row.id)
        .collect())
}

/// Related cases and routing suggestions at triage: similar matters found by
/// full-text search, the categories they were given, and the resident's hint.
fn related_cases(ctx: &Ctx, view: &CaseView, similar: &Result<Vec<CaseRow>, AppError>) -> Markup {
    let lang = ctx.lang;
    let found = match similar {
        Ok(rows) => {
            let mut cats: Vec<(String, usize)> = Vec::new();
            for r in rows {
                if let Some(c) = &r.category {
                    match cats.iter_mut().find(|(k, _)| k == c) {
                        Some((_, n)) => *n += 1,
                        None => cats.push((c.clone(), 1)),
                    }
                }
            }
            cats.sort_by_key(|c| std::cmp::Reverse(c.1));
            let cats: Vec<String> = cats.iter().map(|(c, n)| format!("{c}（{n}）")).collect();
            html! {
                @if !cats.is_empty() {
                    p #suggestions { (lang.tr("categories-of-similar-cases")) (cats.join("、")) }
                }
                h3 { (lang.tr("related-cases")) }
                (case_table(ctx, rows, lang.tr("no-similar-case-found")))
            }
        }
        Err(AppError::SearchUnavailable) => html! {
            p.muted { (lang.tr("search-is-not-enabled-no-related")) }
        },
        Err(e) => {
            tracing::warn!(error = %e, "related cases");
            html! {}
        }
    };
    html! {
        section.card #related {
            h2 { (lang.tr("triage-help")) }
            @if let Some(h) = category_hint(&view.state.intake.content) {
                p { (lang.tr("the-residents-category-hint")) (h) }
            }
            (found)
        }
    }
}

/// The cases linked at intake as related (same resident, same problem at the same place),
/// with the reason and the similarity; merged duplicates are marked. A merged case
/// names its primary; a primary lists the duplicates merged into it.
fn linked_cases(ctx: &Ctx, view: &CaseView, items: &[RelatedCase]) -> Markup {
    let lang = ctx.lang;
    let into = view.state.merged_into;
    let duplicates = &view.state.duplicates;
    if into.is_none() && duplicates.is_empty() && items.is_empty() {
        return html! {};
    }
    let reason = |r: &RelatedCase| match r.link.reason.as_str() {
        "same_reporter" => lang.tr("same-resident"),
        "same_place_same_problem" => lang.tr("same-place-same-problem"),
        _ => lang.tr("similar-text"),
    };
    let merged = |r: &RelatedCase| {
        if r.merged_into.is_some() {
            lang.tr("merged-2")
        } else {
            ""
        }
    };
    html! {
        section.card #linked {
            @if let Some(into) = into {
                p #merged-into {
                    (lang.tr("merged-as-a-duplicate-into"))
                    " "
                    a href={ "/staff/cases/" (into) } { "#" (into) }
                }
            }
            @if !duplicates.is_empty() {
                p #duplicates {
                    (lang.tr("duplicates-merged-into-this-case"))
                    " "
                    @for (n, d) in duplicates.iter().enumerate() {
                        @if n > 0 { "、" }
                        a href={ "/staff/cases/" (d) } { "#" (d) }
                    }
                }
            }
            @if !items.is_empty() {
                h2 { (lang.tr("linked-cases")) }
                ul {
                    @for r in items {
                        li {
                            a href={ "/staff/cases/" (r.row.id) } { "#" (r.row.id) " " (r.row.title) }
                            " — " (reason(r)) "，" (format!("{:.2}", f32::from(r.link.score) / 1000.0)) (merged(r))
                        }
                    }
                }
            }
        }
    }
}

fn parse_case_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0)
}

/// A photo of a case the staff member may see.
pub async fn photo(ctx: Ctx, Path((id, n)): Path<(String, String)>) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let found = match (parse_case_id(&id), n.parse::<u32>().ok().filter(|n| *n > 0)) {
        (Some(id), Some(n)) => ctx.app.photo(PhotoAccess::Staff(&user), Some(id), n).await,
        _ => Err(AppError::PhotoNotFound),
    };
    match found {
        Ok(p) => crate::photo_response(p),
        Err(_) => ctx.error_page(StatusCode::NOT_FOUND, "no-such-photo-or-not-visible"),
    }
}

pub async fn case_page(ctx: Ctx, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q = query_pairs(q.as_deref());
    let done = q.iter().find(|(k, _)| k == "done").map(|(_, v)| v.as_str());
    let view = match parse_case_id(&id) {
        Some(id) => ctx.app.case_for(&user, id).await,
        None => Err(AppError::CaseNotFound),
    };
    match view {
        Ok(view) => {
            let body = case_body(&ctx, &user, &view, None, done).await;
            ctx.page(&view.state.intake.title, body)
        }
        Err(_) => ctx.error_page(StatusCode::NOT_FOUND, "case-not-found-or-outside-your-2"),
    }
}

/// Form fields → the JSON the command parser reads. `days` must be a whole
/// number, `cooperating` may repeat.
fn command_json(ctx: &Ctx, f: &Fields) -> Result<Value, Errors> {
    let mut m = Map::new();
    let mut errs = Errors::default();
    for (k, _) in &f.0 {
        if k == "csrf" || m.contains_key(k) {
            continue;
        }
        match k.as_str() {
            "cooperating" => {
                m.insert(k.clone(), json!(f.all(k)));
            }
            "days" | "expected_version" => {
                if let Some(v) = f.get(k) {
                    match v.parse::<u64>() {
                        Ok(n) => {
                            m.insert(k.clone(), json!(n));
                        }
                        Err(_) => errs.add(k, ctx.tr("enter-a-whole-number")),
                    }
                }
            }
            _ => {
                if let Some(v) = f.get(k) {
                    m.insert(k.clone(), json!(v));
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(Value::Object(m))
    } else {
        Err(errs)
    }
}

pub async fn command(
    Path((id, name)): Path<(String, String)>,
    PostForm { ctx, fields, .. }: PostForm,
) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(id) = parse_case_id(&id) else {
        return ctx.error_page(StatusCode::NOT_FOUND, "case-not-found");
    };
    if name == crate::merge::COMMAND {
        return crate::merge::post(ctx, user, id, fields).await;
    }
    if name == UNMASK {
        return unmask(ctx, user, id, fields).await;
    }
    let Some(name) = suqiu_app::commands::NAMES
        .iter()
        .copied()
        .find(|n| *n == name)
    else {
        return ctx.error_page(StatusCode::NOT_FOUND, "no-such-action");
    };
    let result: Result<(), Errors> = async {
        let v = command_json(&ctx, &fields)?;
        let field = |f: &str| f.to_string();
        let cmd = suqiu_app::commands::parse(name, &v, ctx.app.now())
            .map_err(|e| app_errors(ctx.lang, &e, &field))?;
        let expected = suqiu_app::commands::expected_version(&v)
            .map_err(|e| app_errors(ctx.lang, &e, &field))?;
        ctx.app
            .execute(&user, id, expected, &cmd)
            .await
            .map_err(|e| app_errors(ctx.lang, &e, &field))?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => after_step(&ctx, &user, id, &url(name)).await,
        Err(errors) => refused(&ctx, &user, id, name, fields, errors).await,
    }
}

/// After a step: back to the case, or to the workbench when the step took
/// the case out of the user's sight (e.g. returned by a department).
pub(crate) async fn after_step(ctx: &Ctx, user: &StaffUser, id: i64, done: &str) -> Response {
    if ctx.app.case_for(user, id).await.is_ok() {
        ctx.redirect(&format!("/staff/cases/{id}?done={done}"))
    } else {
        ctx.redirect("/staff")
    }
}

/// A refused step: the case page again, the form kept, the errors next to
/// its fields, nothing changed.
pub(crate) async fn refused(
    ctx: &Ctx,
    user: &StaffUser,
    id: i64,
    command: &str,
    fields: Fields,
    errors: Errors,
) -> Response {
    match ctx.app.case_for(user, id).await {
        Ok(view) => {
            let failed = Failed {
                command: command.to_string(),
                fields,
                errors,
            };
            let body = case_body(ctx, user, &view, Some(&failed), None).await;
            ctx.page_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &view.state.intake.title,
                body,
            )
        }
        Err(_) => ctx.error_page(StatusCode::NOT_FOUND, "case-not-found-or-outside-your-2"),
    }
}

// ---------------------------------------------------------------- filing for a resident

fn staff_channels(role: Role) -> Vec<Channel> {
    Channel::ALL
        .into_iter()
        .filter(|c| !c.is_public() && (*c != Channel::Proxy || role == Role::GridWorker))
        .collect()
}

fn new_page(ctx: &Ctx, user: &StaffUser, f: &Fields, errs: &Errors) -> Response {
    let chosen = f.get("channel").map(str::to_string).unwrap_or_else(|| {
        if user.role == Role::GridWorker {
            "proxy".into()
        } else {
            "visit".into()
        }
    });
    let mut f2 = f.clone();
    if f.get("unit").is_none() && f.0.is_empty() && user.role == Role::GridWorker {
        f2.0.push(("unit".into(), user.unit.clone()));
    }
    let intake = intake_fields(ctx, &f2, errs);
    let body = html! {
        section.card {
            h1 { (ctx.tr("file-a-request-for-a-resident")) }
            p.hint { (ctx.tr("matters-told-in-person-by-phone")) }
            form method="post" action="/staff/new" id="new-form" novalidate {
                (ui::csrf(&ctx.csrf_token()))
                (ui::errors_rest(errs, &["channel", "title", "content", "unit", "address", "reporter_name", "reporter_phone", "reporter_id_number"]))
                label for="channel" { (ctx.tr("channel-2")) }
                select id="channel" name="channel" aria-invalid=[ui::invalid(errs, "channel")] {
                    @for c in staff_channels(user.role) {
                        option value=(c.as_str()) selected[chosen == c.as_str()] { (words::channel(ctx.lang, c.as_str())) }
                    }
                }
                (ui::error_at(errs, "channel"))
                (intake)
                label for="reporter_id_number" { (ctx.tr("id-number-optional")) }
                input type="text" id="reporter_id_number" name="reporter_id_number" maxlength="18"
                    value=(f.value("reporter_id_number")) aria-invalid=[ui::invalid(errs, "reporter_id_number")];
                (ui::error_at(errs, "reporter_id_number"))
                button type="submit" id="submit" { (ctx.tr("submit")) }
            }
        }
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_status(status, ctx.tr("file-a-request-2"), body)
}

pub async fn new_form(ctx: Ctx) -> Response {
    match ctx.require_staff() {
        Ok(user) => new_page(&ctx, &user, &Fields::default(), &Errors::default()),
        Err(r) => r,
    }
}

pub async fn new_case(PostForm { ctx, fields, .. }: PostForm) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut errs = Errors::default();
    let channel = fields.value("channel");
    let input = intake_input(&ctx, &fields, &channel, &mut errs);
    for name in ["title", "content", "reporter_name", "reporter_phone"] {
        if fields.get(name).is_none() {
            errs.add(name, ctx.tr("field-missing"));
        }
    }
    if !errs.is_empty() {
        return new_page(&ctx, &user, &fields, &errs);
    }
    match ctx.app.file_case(&input, Some(&user)).await {
        Ok(r) => {
            let body = html! {
                section.card.notice #filed {
                    h1 { (ctx.tr("filed-2")) }
                    p { (ctx.tr("give-the-resident-this-tracking-code")) }
                    p { span.code #tracking-code { (r.tracking_code) } }
                    p {
                        a href={ "/staff/cases/" (r.id) } { (ctx.tr("open-the-case")) }
                        " · "
                        a href="/staff/new" { (ctx.tr("file-another")) }
                    }
                }
            };
            ctx.page(ctx.tr("filed-2"), body)
        }
        Err(e) => new_page(
            &ctx,
            &user,
            &fields,
            &app_errors(ctx.lang, &e, &intake_field),
        ),
    }
}
