//! The statistics dashboard (DOMAIN.md §6): per unit and period, received,
//! replied, resolved, on time, overdue, returned and satisfaction, with charts
//! drawn as plain SVG on the server and a ranking of units. Leaders also see
//! the overdue cases to supervise and the cases they own (包案). Everyone sees
//! the hot topics (热点问题) of the last 30 days, linked to `/staff/topics`.

use crate::forms::Errors;
use crate::html::{day, esc, parse_day, pct, start_of_day, Lang};
use crate::staff::case_table;
use crate::{query_pairs, words, Ctx};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use suqiu_app::stats::{Figures, Stats, UnitFigures};
use suqiu_domain::case::Queue;
use suqiu_domain::Role;

const DAY: i64 = 24 * 3600 * 1000;

fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// The composite score used for the ranking: 30% response rate, 35%
/// resolution rate, 35% satisfaction rate (one published weighting, DOMAIN.md §9).
pub fn score(f: &Figures) -> f64 {
    0.30 * rate(f.replied, f.received)
        + 0.35 * rate(f.resolved, f.received)
        + 0.35 * rate(f.satisfied, f.rated)
}

fn figures_cells(f: &Figures) -> String {
    format!(
        r#"<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>"#,
        f.received,
        f.replied,
        pct(f.replied, f.received),
        f.resolved,
        pct(f.resolved, f.received),
        f.on_time,
        f.overdue,
        f.returned,
        pct(f.returned, f.received),
        f.rated,
        pct(f.satisfied, f.rated),
    )
}

fn figures_head(lang: Lang) -> String {
    [
        lang.t("受理", "Received"),
        lang.t("答复", "Replied"),
        lang.t("响应率", "Response rate"),
        lang.t("解决", "Resolved"),
        lang.t("解决率", "Resolution rate"),
        lang.t("按时", "On time"),
        lang.t("超期", "Overdue"),
        lang.t("退单", "Returned"),
        lang.t("退单率", "Return rate"),
        lang.t("已评价", "Rated"),
        lang.t("满意率", "Satisfaction"),
    ]
    .iter()
    .map(|h| format!(r#"<th class="num">{}</th>"#, esc(h)))
    .collect()
}

/// Grouped horizontal bars (received, replied, resolved) per unit, in SVG.
fn bar_chart(lang: Lang, units: &[UnitFigures]) -> String {
    let max = units
        .iter()
        .map(|u| u.figures.received)
        .max()
        .unwrap_or(0)
        .max(1);
    let row_h = 54;
    let label_w = 150.0;
    let width = 720.0;
    let bar_w = width - label_w - 60.0;
    let height = 40 + row_h * units.len().max(1);
    let mut s = format!(
        r#"<svg class="chart" id="chart-units" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(lang.t(
            "各单位受理、答复、解决件数",
            "Received, replied and resolved per unit"
        ))
    );
    let series = [
        (lang.t("受理", "received"), "#8c959f"),
        (lang.t("答复", "replied"), "#0969da"),
        (lang.t("解决", "resolved"), "#1a7f37"),
    ];
    for (i, (name, color)) in series.iter().enumerate() {
        let x = label_w + i as f64 * 110.0;
        s.push_str(&format!(
            r#"<rect x="{x}" y="8" width="14" height="14" fill="{color}"/><text x="{}" y="20" font-size="13">{}</text>"#,
            x + 20.0,
            esc(name)
        ));
    }
    for (i, u) in units.iter().enumerate() {
        let y = 36 + i * row_h;
        s.push_str(&format!(
            r#"<text x="4" y="{}" font-size="13">{}</text>"#,
            y + 28,
            esc(&u.name)
        ));
        let vals = [u.figures.received, u.figures.replied, u.figures.resolved];
        for (k, v) in vals.iter().enumerate() {
            let w = bar_w * (*v as f64) / (max as f64);
            let by = y + 4 + k * 15;
            s.push_str(&format!(
                r#"<rect x="{label_w}" y="{by}" width="{w:.1}" height="12" fill="{}"><title>{} {v}</title></rect><text x="{:.1}" y="{}" font-size="11">{v}</text>"#,
                series[k].1,
                esc(series[k].0),
                label_w + w + 4.0,
                by + 10
            ));
        }
    }
    s.push_str("</svg>");
    s
}

/// Share of replies by level (小事不出村, 大事不出镇), as one stacked bar.
fn level_chart(lang: Lang, st: &Stats) -> String {
    let total = st.settled_community + st.settled_street + st.settled_district;
    let parts = [
        (
            lang.t("村（社区）", "village/community"),
            st.settled_community,
            "#1a7f37",
        ),
        (
            lang.t("乡镇（街道）", "township/street"),
            st.settled_street,
            "#0969da",
        ),
        (
            lang.t("区直部门", "district departments"),
            st.settled_district,
            "#bf8700",
        ),
    ];
    let mut s = format!(
        r#"<svg class="chart" id="chart-levels" viewBox="0 0 720 70" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(lang.t("答复所在层级", "Level at which matters were answered"))
    );
    let mut x = 0.0;
    for (i, (name, n, color)) in parts.iter().enumerate() {
        let w = if total == 0 {
            0.0
        } else {
            720.0 * (*n as f64) / (total as f64)
        };
        s.push_str(&format!(
            r#"<rect x="{x:.1}" y="4" width="{w:.1}" height="26" fill="{color}"/>"#
        ));
        s.push_str(&format!(
            r#"<text x="{}" y="54" font-size="13">■ {} {} ({})</text>"#,
            i * 240 + 4,
            esc(name),
            n,
            pct(*n, total)
        ));
        x += w;
    }
    s.push_str("</svg>");
    s
}

pub async fn dashboard(ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let user = match ctx.require_staff() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let q = query_pairs(q.as_deref());
    let get = |k: &str| crate::param(&q, k);
    let now = ctx.app.now();
    let today = start_of_day(now);
    let month_start = parse_day(&format!("{}-01", &day(now)[..7])).unwrap_or(today);
    let year_start = parse_day(&format!("{}-01-01", &day(now)[..4])).unwrap_or(today);
    let mut errs = Errors::default();
    let mut from = month_start;
    let mut to = today + DAY;
    if let Some(f) = get("from") {
        match parse_day(&f) {
            Some(d) => from = d,
            None => errs.add(
                "from",
                lang.t("日期格式应为 2026-11-01", "Dates look like 2026-11-01"),
            ),
        }
    }
    if let Some(t) = get("to") {
        match parse_day(&t) {
            Some(d) => to = d + DAY,
            None => errs.add(
                "to",
                lang.t("日期格式应为 2026-11-30", "Dates look like 2026-11-30"),
            ),
        }
    }
    if errs.is_empty() && to <= from {
        errs.add(
            "to",
            lang.t(
                "结束日期不能早于开始日期",
                "The end must not be before the start",
            ),
        );
    }
    let period = format!(
        r#"<form method="get" action="/staff/dashboard" class="card filters" id="period">
<div><label for="from">{l_f}</label><input type="date" id="from" name="from" value="{v_f}"{i_f}>{e_f}</div>
<div><label for="to">{l_t}</label><input type="date" id="to" name="to" value="{v_t}"{i_t}>{e_t}</div>
<div><button type="submit">{b}</button></div>
<div><a href="/staff/dashboard?from={m}&amp;to={td}">{l_m}</a> · <a href="/staff/dashboard?from={d30}&amp;to={td}">{l_30}</a> · <a href="/staff/dashboard?from={y}&amp;to={td}">{l_y}</a></div></form>"#,
        l_f = esc(lang.t("受理日期从", "Received from")),
        v_f = esc(&get("from").unwrap_or_else(|| day(from))),
        i_f = errs.invalid("from"),
        e_f = errs.at("from"),
        l_t = esc(lang.t("到", "to")),
        v_t = esc(&get("to").unwrap_or_else(|| day(to - DAY))),
        i_t = errs.invalid("to"),
        e_t = errs.at("to"),
        b = esc(lang.t("统计", "Show")),
        m = day(month_start),
        td = day(today),
        d30 = day(today - 29 * DAY),
        y = day(year_start),
        l_m = esc(lang.t("本月", "This month")),
        l_30 = esc(lang.t("近 30 天", "Last 30 days")),
        l_y = esc(lang.t("今年", "This year")),
    );
    let mut body = format!(
        r#"<h1>{}</h1>{period}"#,
        esc(lang.t("统计与排名", "Statistics and ranking"))
    );
    if !errs.is_empty() {
        return ctx.page_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("统计", "Statistics"),
            &body,
        );
    }
    if user.role == Role::Leader {
        for queue in [Queue::Supervise, Queue::Owned] {
            let (rows, next) = ctx
                .app
                .queue_page(&user, queue, None, &suqiu_app::QueueQuery::default(), 50)
                .await
                .unwrap_or_default();
            // the whole queue, page by page, on its own page
            body.push_str(&format!(
                r#"<section class="card" id="leader-{q}"><h2><a href="/staff/queue/{q}">{h}</a> <span class="count">{n}{plus}</span></h2>{t}</section>"#,
                q = queue.as_str(),
                h = esc(words::queue(lang, queue)),
                n = rows.len(),
                plus = if next.is_some() { "+" } else { "" },
                t = case_table(&ctx, &rows, lang.t("暂无", "None")),
            ));
        }
    }
    body.push_str(&crate::topics::dashboard_section(&ctx, &user).await);
    let st = match ctx.app.stats(&user, from, to).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "stats");
            return ctx.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时无法统计，请稍后重试。",
                "Statistics are unavailable now; retry later.",
            );
        }
    };
    let head = figures_head(lang);
    let mut rows = String::new();
    for u in &st.units {
        rows.push_str(&format!(
            r#"<tr data-unit="{c}"><td>{n}</td><td>{l}</td>{cells}</tr>"#,
            c = esc(&u.unit),
            n = esc(&u.name),
            l = esc(words::level(lang, u.level)),
            cells = figures_cells(&u.figures)
        ));
    }
    rows.push_str(&format!(
        r#"<tr class="total" id="total"><th>{}</th><td></td>{}</tr>"#,
        esc(lang.t("合计（每件只计一次）", "Total (each case once)")),
        figures_cells(&st.total)
    ));
    let mut ranked: Vec<&UnitFigures> =
        st.units.iter().filter(|u| u.figures.received > 0).collect();
    ranked.sort_by(|a, b| {
        score(&b.figures)
            .total_cmp(&score(&a.figures))
            .then_with(|| a.unit.cmp(&b.unit))
    });
    let mut ranking = String::new();
    for (i, u) in ranked.iter().enumerate() {
        ranking.push_str(&format!(
            r#"<tr><td class="num">{}</td><td>{}</td><td class="num">{:.1}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            i + 1,
            esc(&u.name),
            score(&u.figures) * 100.0,
            pct(u.figures.replied, u.figures.received),
            pct(u.figures.resolved, u.figures.received),
            pct(u.figures.satisfied, u.figures.rated),
        ));
    }
    body.push_str(&format!(
        r#"<section class="card" id="figures"><h2>{h}</h2><p class="hint">{hint}</p><div class="table-wrap"><table><thead><tr><th>{lu}</th><th>{ll}</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>
<p>{backlog}</p></section>
<div class="grid two"><section class="card"><h2>{hc}</h2>{chart}</section>
<section class="card" id="ranking"><h2>{hr}</h2><p class="hint">{hr_hint}</p><table><thead><tr><th class="num">{lr}</th><th>{lu}</th><th class="num">{ls}</th><th class="num">{l1}</th><th class="num">{l2}</th><th class="num">{l3}</th></tr></thead><tbody>{ranking}</tbody></table></section></div>
<section class="card"><h2>{hl}</h2>{levels}</section>"#,
        h = esc(lang.t("各单位办理情况", "Figures per unit")),
        hint = esc(lang.t(
            "乡镇（街道）按辖区内受理的诉求统计；职能部门按派给其牵头办理的诉求统计。",
            "Townships/streets count what was filed in them; departments what was dispatched to them as lead."
        )),
        lu = esc(lang.t("单位", "Unit")),
        ll = esc(lang.t("层级", "Level")),
        backlog = esc(&format!(
            "{}{}",
            lang.t("尚未办结（积案）：", "Still open (backlog): "),
            st.total.open
        )),
        hc = esc(lang.t("受理、答复、解决", "Received, replied, resolved")),
        chart = bar_chart(lang, &st.units),
        hr = esc(lang.t("单位排名", "Ranking of units")),
        hr_hint = esc(lang.t("综合得分 = 响应率×30% + 解决率×35% + 满意率×35%", "Score = 30% response + 35% resolution + 35% satisfaction")),
        lr = esc(lang.t("名次", "Rank")),
        ls = esc(lang.t("得分", "Score")),
        l1 = esc(lang.t("响应率", "Response")),
        l2 = esc(lang.t("解决率", "Resolution")),
        l3 = esc(lang.t("满意率", "Satisfaction")),
        hl = esc(lang.t("在哪一级答复（小事不出村，大事不出镇）", "Where matters were answered")),
        levels = level_chart(lang, &st),
    ));
    ctx.page(lang.t("统计", "Statistics"), &body)
}
