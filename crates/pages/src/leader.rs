//! The statistics dashboard (DOMAIN.md §6): per unit and period, received,
//! replied, resolved, on time, overdue, returned and satisfaction, with charts
//! drawn as plain SVG on the server and a ranking of units. Leaders also see
//! the overdue cases to supervise and the cases they own (包案). Everyone sees
//! the hot topics (热点问题) of the last 30 days, linked to `/staff/topics`.

use crate::forms::Errors;
use crate::html::{day, parse_day, pct, start_of_day, Lang};
use crate::staff::case_table;
use crate::{query_pairs, ui, words, Ctx};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
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

fn figures_cells(f: &Figures) -> Markup {
    let cells = [
        f.received.to_string(),
        f.replied.to_string(),
        pct(f.replied, f.received),
        f.resolved.to_string(),
        pct(f.resolved, f.received),
        f.on_time.to_string(),
        f.overdue.to_string(),
        f.returned.to_string(),
        pct(f.returned, f.received),
        f.rated.to_string(),
        pct(f.satisfied, f.rated),
    ];
    html! { @for c in &cells { td.num { (c) } } }
}

fn figures_head(lang: Lang) -> Markup {
    let heads = [
        lang.tr("received-2"),
        lang.tr("replied-2"),
        lang.tr("response-rate"),
        lang.tr("resolved"),
        lang.tr("resolution-rate"),
        lang.tr("on-time"),
        lang.tr("overdue-2"),
        lang.tr("returned-2"),
        lang.tr("return-rate"),
        lang.tr("rated-3"),
        lang.tr("satisfaction"),
    ];
    html! { @for h in heads { th.num { (h) } } }
}

/// Grouped horizontal bars (received, replied, resolved) per unit, in SVG.
fn bar_chart(lang: Lang, units: &[UnitFigures]) -> Markup {
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
    let series = [
        (lang.tr("received"), "#8c959f"),
        (lang.tr("replied"), "#0969da"),
        (lang.tr("resolved-2"), "#1a7f37"),
    ];
    html! {
        svg.chart id="chart-units" viewBox={ "0 0 " (width) " " (height) } role="img"
            aria-label=(lang.tr("received-replied-and-resolved-per-unit"))
            xmlns="http://www.w3.org/2000/svg" {
            @for (i, (name, color)) in series.iter().enumerate() {
                @let x = label_w + i as f64 * 110.0;
                rect x=(x) y="8" width="14" height="14" fill=(color) {}
                text x=(x + 20.0) y="20" font-size="13" { (name) }
            }
            @for (i, u) in units.iter().enumerate() {
                @let y = 36 + i * row_h;
                text x="4" y=(y + 28) font-size="13" { (u.name) }
                @for (k, v) in [u.figures.received, u.figures.replied, u.figures.resolved].iter().enumerate() {
                    @let w = bar_w * (*v as f64) / (max as f64);
                    @let by = y + 4 + k * 15;
                    rect x=(label_w) y=(by) width=(format!("{w:.1}")) height="12" fill=(series[k].1) {
                        title { (series[k].0) " " (v) }
                    }
                    text x=(format!("{:.1}", label_w + w + 4.0)) y=(by + 10) font-size="11" { (v) }
                }
            }
        }
    }
}

/// Share of replies by level (小事不出村, 大事不出镇), as one stacked bar.
fn level_chart(lang: Lang, st: &Stats) -> Markup {
    let total = st.settled_community + st.settled_street + st.settled_district;
    let parts = [
        (
            lang.tr("village-community"),
            st.settled_community,
            "#1a7f37",
        ),
        (lang.tr("township-street"), st.settled_street, "#0969da"),
        (
            lang.tr("district-departments"),
            st.settled_district,
            "#bf8700",
        ),
    ];
    let mut x = 0.0;
    let mut bars = Vec::new();
    for (name, n, color) in parts {
        let w = if total == 0 {
            0.0
        } else {
            720.0 * (n as f64) / (total as f64)
        };
        bars.push((x, w, name, n, color));
        x += w;
    }
    html! {
        svg.chart id="chart-levels" viewBox="0 0 720 70" role="img"
            aria-label=(lang.tr("level-at-which-matters-were-answered"))
            xmlns="http://www.w3.org/2000/svg" {
            @for (x, w, _, _, color) in &bars {
                rect x=(format!("{x:.1}")) y="4" width=(format!("{w:.1}")) height="26" fill=(color) {}
            }
            @for (i, (_, _, name, n, _)) in bars.iter().enumerate() {
                text x=(i * 240 + 4) y="54" font-size="13" {
                    tspan fill=(bars[i].4) { "■" } " " (name) " " (n) " (" (pct(*n, total)) ")"
                }
            }
        }
    }
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
            None => errs.add("from", lang.tr("dates-look-like-2026-11-01")),
        }
    }
    if let Some(t) = get("to") {
        match parse_day(&t) {
            Some(d) => to = d + DAY,
            None => errs.add("to", lang.tr("dates-look-like-2026-11-30")),
        }
    }
    if errs.is_empty() && to <= from {
        errs.add("to", lang.tr("the-end-must-not-be-before"));
    }
    let v_f = get("from").unwrap_or_else(|| day(from));
    let v_t = get("to").unwrap_or_else(|| day(to - DAY));
    let (m, td, d30, y) = (
        day(month_start),
        day(today),
        day(today - 29 * DAY),
        day(year_start),
    );
    let period = html! {
        form.card.filters method="get" action="/staff/dashboard" id="period" {
            (ui::date_field("from", lang.tr("received-from"), &v_f, &errs))
            (ui::date_field("to", lang.tr("to"), &v_t, &errs))
            div { button type="submit" { (lang.tr("show")) } }
            div {
                a href={ "/staff/dashboard?from=" (m) "&to=" (td) } { (lang.tr("this-month")) }
                " · "
                a href={ "/staff/dashboard?from=" (d30) "&to=" (td) } { (lang.tr("last-30-days")) }
                " · "
                a href={ "/staff/dashboard?from=" (y) "&to=" (td) } { (lang.tr("this-year")) }
            }
        }
    };
    let head_part = html! {
        h1 { (lang.tr("statistics-and-ranking")) }
        (period)
    };
    if !errs.is_empty() {
        return ctx.page_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.tr("statistics"),
            head_part,
        );
    }
    let mut leader_part = Vec::new();
    if user.role == Role::Leader {
        for queue in [Queue::Supervise, Queue::Owned] {
            let (rows, next) = ctx
                .app
                .queue_page(&user, queue, None, &suqiu_app::QueueQuery::default(), 50)
                .await
                .unwrap_or_default();
            // the whole queue, page by page, on its own page
            let q = queue.as_str();
            leader_part.push(html! {
                section.card id={ "leader-" (q) } {
                    h2 {
                        a href={ "/staff/queue/" (q) } { (words::queue(lang, queue)) }
                        " "
                        span.count { (rows.len()) @if next.is_some() { "+" } }
                    }
                    (case_table(&ctx, &rows, lang.tr("none")))
                }
            });
        }
    }
    let topics = crate::topics::dashboard_section(&ctx, &user).await;
    let st = match ctx.app.stats(&user, from, to).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "stats");
            return ctx.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "statistics-are-unavailable-now-retry-later",
            );
        }
    };
    let mut ranked: Vec<&UnitFigures> =
        st.units.iter().filter(|u| u.figures.received > 0).collect();
    ranked.sort_by(|a, b| {
        score(&b.figures)
            .total_cmp(&score(&a.figures))
            .then_with(|| a.unit.cmp(&b.unit))
    });
    let l_unit = lang.tr("unit");
    let body = html! {
        (head_part)
        @for p in &leader_part { (p) }
        (topics)
        section.card id="figures" {
            h2 { (lang.tr("figures-per-unit")) }
            p.hint {
                (lang.tr(
                    "townships-streets-count-what-was-filed"
                ))
            }
            div.table-wrap {
                table {
                    thead { tr { th { (l_unit) } th { (lang.tr("level")) } (figures_head(lang)) } }
                    tbody {
                        @for u in &st.units {
                            tr data-unit=(u.unit) {
                                td { (u.name) }
                                td { (words::level(lang, u.level)) }
                                (figures_cells(&u.figures))
                            }
                        }
                        tr.total id="total" {
                            th { (lang.tr("total-each-case-once")) }
                            td {}
                            (figures_cells(&st.total))
                        }
                    }
                }
            }
            p { (lang.tr("still-open-backlog")) (st.total.open) }
        }
        div.grid.two {
            section.card {
                h2 { (lang.tr("received-replied-resolved")) }
                div.chart-wrap { (bar_chart(lang, &st.units)) }
            }
            section.card id="ranking" {
                h2 { (lang.tr("ranking-of-units")) }
                p.hint { (lang.tr("score-30-response-35-resolution-35")) }
                div.table-wrap { table {
                    thead {
                        tr {
                            th.num { (lang.tr("rank")) }
                            th { (l_unit) }
                            th.num { (lang.tr("score")) }
                            th.num { (lang.tr("response")) }
                            th.num { (lang.tr("resolution")) }
                            th.num { (lang.tr("satisfaction")) }
                        }
                    }
                    tbody {
                        @for (i, u) in ranked.iter().enumerate() {
                            tr {
                                td.num { (i + 1) }
                                td { (u.name) }
                                td.num { (format!("{:.1}", score(&u.figures) * 100.0)) }
                                td.num { (pct(u.figures.replied, u.figures.received)) }
                                td.num { (pct(u.figures.resolved, u.figures.received)) }
                                td.num { (pct(u.figures.satisfied, u.figures.rated)) }
                            }
                        }
                    }
                } }
            }
        }
        section.card {
            h2 { (lang.tr("where-matters-were-answered")) }
            div.chart-wrap { (level_chart(lang, &st)) }
        }
    };
    ctx.page(lang.tr("statistics"), body)
}
