//! 热点问题: the hot topics among the cases a staff member may see
//! (`App::hot_topics`): groups of recent cases about one local problem, ranked
//! by heat, each with its place, time span, summary and links to its cases
//! (never the reporters). `/staff/topics?days=7|30|90&unit=…`; the leader
//! dashboard shows the first few of the last 30 days.

use crate::forms::Errors;
use crate::html::{esc, Lang};
use crate::{query_pairs, Ctx};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
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
pub fn table(lang: Lang, rows: &[TopicRow], days: u32) -> String {
    if rows.is_empty() {
        return format!(
            r#"<p class="muted empty" id="no-topics">{}</p>"#,
            esc(&match lang {
                Lang::Zh => format!(
                    "近 {days} 天没有集中反映的问题（同一地点同一问题有 2 件以上才算热点）。"
                ),
                _ => format!(
                    "No hot topic in the last {days} days (one problem at one place reported at least twice)."
                ),
            })
        );
    }
    let mut s = format!(
        r#"<div class="table-wrap"><table class="topics"><thead><tr><th class="num">{}</th><th class="num">{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        esc(lang.t("排名", "Rank")),
        esc(lang.t("热度", "Heat")),
        esc(lang.t("问题概要", "Summary")),
        esc(lang.t("地点", "Place")),
        esc(lang.t("时间", "Time span")),
        esc(lang.t("相关诉求", "Cases")),
    );
    for t in rows {
        let links: Vec<String> = t
            .cases
            .iter()
            .map(|id| format!(r#"<a href="/staff/cases/{id}">#{id}</a>"#))
            .collect();
        let count = match lang {
            Lang::Zh => format!("{} 件：", t.cases.len()),
            _ => format!("{} cases: ", t.cases.len()),
        };
        s.push_str(&format!(
            r#"<tr class="topic" id="topic-{rank}" data-rank="{rank}"><td class="num">{rank}</td><td class="num">{heat:.2}</td><td>{summary}</td><td>{place}</td><td>{span}</td><td class="topic-cases">{count}{links}</td></tr>"#,
            rank = t.rank,
            heat = t.heat,
            summary = esc(&t.summary),
            place = if t.place.is_empty() {
                esc(lang.t("（未写明地点）", "(no place named)"))
            } else {
                esc(&t.place)
            },
            span = esc(&span(t)),
            count = esc(&count),
            links = links.join(" "),
        ));
    }
    s.push_str("</tbody></table></div>");
    s
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
                errs.add(
                    "days",
                    lang.t(
                        "请选择统计期间：近 7 天、近 30 天或近 90 天",
                        "Choose the period: the last 7, 30 or 90 days",
                    ),
                );
                DEFAULT_DAYS
            }
        },
    };
    let units = unit_options(&ctx, &user);
    let unit = get("unit");
    if let Some(u) = &unit {
        if !units.iter().any(|(c, _)| c == u) {
            errs.add(
                "unit",
                lang.t(
                    "请从列表中选择单位（只能选您管辖范围内的乡镇（街道）或村（社区））",
                    "Choose a unit from the list (a township/street or village/community you may see)",
                ),
            );
        }
    }
    let mut d_opts = String::new();
    for d in PERIODS {
        d_opts.push_str(&format!(
            r#"<option value="{d}"{sel}>{l}</option>"#,
            sel = if d == days { " selected" } else { "" },
            l = esc(&match lang {
                Lang::Zh => format!("近 {d} 天"),
                _ => format!("Last {d} days"),
            }),
        ));
    }
    let unit_filter = if units.is_empty() {
        String::new()
    } else {
        let mut u_opts = format!(
            r#"<option value="">{}</option>"#,
            esc(lang.t("我管辖的全部", "All I may see"))
        );
        for (c, n) in &units {
            u_opts.push_str(&format!(
                r#"<option value="{c}"{sel}>{n}</option>"#,
                c = esc(c),
                sel = if unit.as_deref() == Some(c.as_str()) {
                    " selected"
                } else {
                    ""
                },
                n = esc(n),
            ));
        }
        format!(
            r#"<div><label for="unit">{l}</label><select id="unit" name="unit"{i}>{u_opts}</select>{e}</div>"#,
            l = esc(lang.t("单位", "Unit")),
            i = errs.invalid("unit"),
            e = errs.at("unit"),
        )
    };
    let mut body = format!(
        r#"<h1>{h}</h1><form method="get" action="/staff/topics" class="card filters" id="topics-filter">{rest}
<div><label for="days">{l_d}</label><select id="days" name="days"{i_d}>{d_opts}</select>{e_d}</div>{unit_filter}
<div><button type="submit" id="topics-submit">{b}</button></div></form>"#,
        h = esc(lang.t("热点问题", "Hot topics")),
        rest = errs.rest(&["days", "unit"]),
        l_d = esc(lang.t("统计期间", "Period")),
        i_d = errs.invalid("days"),
        e_d = errs.at("days"),
        b = esc(lang.t("查看", "Show")),
    );
    if !errs.is_empty() {
        return ctx.page_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("热点问题", "Hot topics"),
            &body,
        );
    }
    let hint = esc(lang.t(
        "把受理时间在统计期间内、您能查看的诉求按“同一地点、同一问题”归并，按热度排序（反映人越多、越集中，热度越高）。",
        "Cases received in the period that you may see, grouped as one problem at one place, hottest first (more residents, closer in time: hotter).",
    ));
    let list = match load(&ctx, &user, unit.as_deref(), days, TOP).await {
        Ok(rows) => table(lang, &rows, days),
        Err(e) => {
            tracing::error!(error = %e, "hot topics");
            format!(
                r#"<p class="error" role="alert">{}</p>"#,
                esc(lang.t(
                    "暂时无法读取热点问题，请稍后重试。",
                    "Hot topics cannot be read now; retry later."
                ))
            )
        }
    };
    body.push_str(&format!(
        r#"<section class="card" id="topics"><h2>{h}</h2><p class="hint">{hint}</p>{list}</section>"#,
        h = esc(&match lang {
            Lang::Zh => format!("近 {days} 天的热点问题"),
            _ => format!("Hot topics of the last {days} days"),
        }),
    ));
    ctx.page(lang.t("热点问题", "Hot topics"), &body)
}

/// Topics shown on the dashboard.
const DASHBOARD_TOP: usize = 5;

/// The dashboard's 热点问题 section: the hottest topics of the last 30 days, with
/// the way to the page that filters by period and unit.
pub async fn dashboard_section(ctx: &Ctx, user: &StaffUser) -> String {
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
            format!(
                r#"<p class="error" role="alert">{}</p>"#,
                esc(lang.t(
                    "暂时无法读取热点问题，请稍后重试。",
                    "Hot topics cannot be read now; retry later."
                ))
            )
        }
    };
    let mut periods = Vec::new();
    for d in PERIODS {
        periods.push(format!(
            r#"<a href="/staff/topics?days={d}">{}</a>"#,
            esc(&match lang {
                Lang::Zh => format!("近 {d} 天"),
                _ => format!("last {d} days"),
            })
        ));
    }
    format!(
        r#"<section class="card" id="hot-topics"><h2>{h}</h2>{list}<p><a href="/staff/topics" id="all-topics">{more}</a> · {periods}</p></section>"#,
        h = esc(lang.t("热点问题（近 30 天）", "Hot topics (last 30 days)")),
        more = esc(lang.t(
            "全部热点问题（可按期间和单位查看）",
            "All hot topics (by period and unit)"
        )),
        periods = periods.join(" · "),
    )
}
