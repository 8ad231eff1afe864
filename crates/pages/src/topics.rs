//! 热点问题: the hot topics among the cases a staff member may see
//! (`App::hot_topics`): groups of recent cases about one local problem, ranked
//! by heat, each with its place, time span, summary and links to its cases
//! (never the reporters). `/staff/topics?days=7|30|90&unit=…`; the leader
//! dashboard shows the first few of the last 30 days.

use crate::forms::Errors;
use crate::html::Lang;
use crate::{query_pairs, ui, Ctx};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use suqiu_app::{AppError, StaffUser};
use suqiu_domain::Level;

/// The periods offered, in days.
pub const PERIODS: [u32; 3] = [7, 30, 90];
/// The period shown when none is chosen.
pub const DEFAULT_DAYS: u32 = 30;
/// Topics listed on the page.
const TOP: usize = 20;

/// One topic as shown.
pub struct TopicRow {
    rank: usize,
    heat: f64,
    start: String,
    end: String,
    place: String,
    summary: String,
    cases: Vec<i64>,
}

/// The `top` hottest topics of the last `days` days among the cases `user` may
/// see (within `unit`'s subtree if given).
pub async fn load(
    ctx: &Ctx,
    user: &StaffUser,
    unit: Option<&str>,
    days: u32,
    top: usize,
) -> Result<Vec<TopicRow>, AppError> {
    rows(ctx.app.hot_topics(user, unit, days, top).await?)
}

/// How old the dashboard's hot topics may be (ms).
const DASHBOARD_MAX_AGE: i64 = 60_000;

fn rows(topics: Vec<suqiu_app::topics::Topic>) -> Result<Vec<TopicRow>, AppError> {
    Ok(topics
        .into_iter()
        .map(|t| TopicRow {
            rank: t.rank,
            heat: t.heat,
            start: t.start,
            end: t.end,
            place: t.place,
            summary: t.summary,
            cases: t
                .message_ids
                .iter()
                .filter_map(serde_json::Value::as_i64)
                .collect(),
        })
        .collect())
}

/// `YYYY-MM-DD HH:MM:SS` → `YYYY-MM-DD HH:MM`.
fn minutes(t: &str) -> &str {
    t.get(..16).unwrap_or(t)
}

/// The time span of a topic: one moment, a span within a day, or two moments.
fn span(t: &TopicRow) -> String {
    let (s, e) = (minutes(&t.start), minutes(&t.end));
    if s == e {
        s.to_string()
    } else if s.get(..10).is_some() && s.get(..10) == e.get(..10) {
        format!("{s} – {}", e.get(11..).unwrap_or(e))
    } else {
        format!("{s} – {e}")
    }
}

/// The topics as a table, or the empty state in plain words.
pub fn table(lang: Lang, rows: &[TopicRow], days: u32) -> Markup {
    if rows.is_empty() {
        let empty = tf!(lang, "topics-none", days = days);
        return html! { p.muted.empty id="no-topics" { (empty) } };
    }
    html! {
        div.table-wrap {
            table.topics {
                thead {
                    tr {
                        th.num { (lang.tr("rank-2")) }
                        th.num { (lang.tr("heat")) }
                        th { (lang.tr("summary")) }
                        th { (lang.tr("place")) }
                        th { (lang.tr("time-span")) }
                        th { (lang.tr("cases-2")) }
                    }
                }
                tbody {
                    @for t in rows {
                        tr.topic id={ "topic-" (t.rank) } data-rank=(t.rank) {
                            td.num { (t.rank) }
                            td.num { (format!("{:.2}", t.heat)) }
                            td { (t.summary) }
                            td {
                                @if t.place.is_empty() {
                                    (lang.tr("no-place-named"))
                                } @else {
                                    (t.place)
                                }
                            }
                            td { (span(t)) }
                            td.topic-cases {
                                (tf!(lang, "topics-case-count", n = t.cases.len()))
                                @for (i, id) in t.cases.iter().enumerate() {
                                    @if i > 0 { " " }
                                    a href={ "/staff/cases/" (id) } { "#" (id) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The message when the topics cannot be read.
fn unavailable(lang: Lang) -> Markup {
    html! {
        p.error role="alert" {
            (lang.tr(
                "hot-topics-cannot-be-read-now"
            ))
        }
    }
}

/// The units a user may filter by: the townships/streets and villages/communities
/// within the user's part of the district, by code.
pub(crate) fn unit_options(ctx: &Ctx, user: &StaffUser) -> Vec<(String, String)> {
    let org = ctx.app.org();
    let mut units: Vec<(String, String)> = org
        .units()
        .filter(|(u, path)| {
            matches!(u.level, Level::Street | Level::Community) && user.can_see(path)
        })
        .map(|(u, _)| (u.code.clone(), u.name.clone()))
        .collect();
    units.sort();
    units
}

/// `/staff/topics`: the period and unit filter and the topics.
pub async fn page(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let q = query_pairs(q.as_deref());
    let get = |k: &str| crate::param(&q, k);
    let mut errs = Errors::default();
    let days = match get("days") {
        None => DEFAULT_DAYS,
        Some(d) => match d.parse::<u32>().ok().filter(|d| PERIODS.contains(d)) {
            Some(d) => d,
            None => {
                errs.add("days", lang.tr("choose-the-period-the-last-7"));
                DEFAULT_DAYS
            }
        },
    };
    let units = unit_options(&ctx, &user);
    let unit = get("unit");
    if let Some(u) = &unit {
        if !units.iter().any(|(c, _)| c == u) {
            errs.add("unit", lang.tr("choose-a-unit-from-the-list-2"));
        }
    }
    let body = html! {
        h1 { (lang.tr("hot-topics")) }
        form method="get" action="/staff/topics" class="card filters" id="topics-filter" {
            (ui::errors_rest(&errs, &["days", "unit"]))
            div {
                label for="days" { (lang.tr("period")) }
                select id="days" name="days" aria-invalid=[ui::invalid(&errs, "days")] {
                    @for d in PERIODS {
                        option value=(d) selected[d == days] {
                            (tf!(lang, "topics-last-days", days = d))
                        }
                    }
                }
                (ui::error_at(&errs, "days"))
            }
            @if !units.is_empty() {
                div {
                    label for="unit" { (lang.tr("unit")) }
                    select id="unit" name="unit" aria-invalid=[ui::invalid(&errs, "unit")] {
                        option value="" { (lang.tr("all-i-may-see")) }
                        @for (c, n) in &units {
                            option value=(c) selected[unit.as_deref() == Some(c.as_str())] { (n) }
                        }
                    }
                    (ui::error_at(&errs, "unit"))
                }
            }
            div { button type="submit" id="topics-submit" { (lang.tr("show-2")) } }
        }
    };
    if !errs.is_empty() {
        return ctx.page_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.tr("hot-topics"),
            body,
        );
    }
    let list = match load(&ctx, &user, unit.as_deref(), days, TOP).await {
        Ok(rows) => table(lang, &rows, days),
        Err(e) => {
            tracing::error!(error = %e, "hot topics");
            unavailable(lang)
        }
    };
    let body = html! {
        (body)
        section.card id="topics" {
            h2 {
                (tf!(lang, "topics-heading", days = days))
            }
            p.hint {
                (lang.tr(
                    "cases-received-in-the-period-that",
                ))
            }
            (list)
        }
    };
    ctx.page(lang.tr("hot-topics"), body)
}

/// Topics shown on the dashboard.
const DASHBOARD_TOP: usize = 5;

/// The dashboard's 热点问题 section: the hottest topics of the last 30 days, with
/// the way to the page that filters by period and unit.
pub async fn dashboard_section(ctx: &Ctx, user: &StaffUser) -> Markup {
    let lang = ctx.lang;
    let recent = ctx
        .app
        .hot_topics_recent(user, None, DEFAULT_DAYS, DASHBOARD_TOP, DASHBOARD_MAX_AGE)
        .await
        .and_then(rows);
    let list = match recent {
        Ok(rows) => table(lang, &rows, DEFAULT_DAYS),
        Err(e) => {
            tracing::error!(error = %e, "hot topics");
            unavailable(lang)
        }
    };
    html! {
        section.card id="hot-topics" {
            h2 { (lang.tr("hot-topics-last-30-days")) }
            (list)
            p {
                a href="/staff/topics" id="all-topics" {
                    (lang.tr(
                        "all-hot-topics-by-period-and"
                    ))
                }
                @for d in PERIODS {
                    " · "
                    a href={ "/staff/topics?days=" (d) } {
                        (tf!(lang, "topics-link-days", days = d))
                    }
                }
            }
        }
    }
}
