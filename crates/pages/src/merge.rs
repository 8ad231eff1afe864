//! 合并为重复件: merging a duplicate into its primary case from the staff case
//! page. The form is one of the case page's actions (offered when the workflow
//! would let this user merge the case now); it lists the open related, linked
//! and similar cases the user may see as choices, and takes a typed case number.
//! The post runs `App::merge` (the domain decides who may merge and refuses a
//! merge into itself, into a closed, merged or unseen case).

use crate::forms::{app_errors, Errors, Fields};
use crate::staff::{after_step, refused, Failed};
use crate::{ui, words, Ctx};
use axum::response::Response;
use maud::{html, Markup};
use suqiu_app::related::RelatedCase;
use suqiu_app::{CaseRow, CaseView, StaffUser};
use suqiu_domain::Status;

/// The command's name in `/staff/cases/{id}/merge` and on the case page.
pub const COMMAND: &str = "merge";

/// Most choices offered in the form.
const MAX_CHOICES: usize = 10;

fn is_open(row: &CaseRow) -> bool {
    Status::parse(&row.status).is_some_and(|s| s.is_open())
}

/// The cases offered as the primary: open linked cases not merged themselves,
/// then open similar ones; this case left out, each once.
fn choices<'a>(
    view: &CaseView,
    linked: &'a [RelatedCase],
    similar: &'a [CaseRow],
) -> Vec<&'a CaseRow> {
    let mut out: Vec<&CaseRow> = Vec::new();
    let linked = linked
        .iter()
        .filter(|r| r.merged_into.is_none())
        .map(|r| &r.row);
    for row in linked.chain(similar.iter()) {
        if row.id != view.row.id
            && is_open(row)
            && !out.iter().any(|o| o.id == row.id)
            && out.len() < MAX_CHOICES
        {
            out.push(row);
        }
    }
    out
}

/// The merge form among the case page's actions (`failed`: the refused post, shown
/// again with its input and the errors next to the fields).
pub fn form(
    ctx: &Ctx,
    view: &CaseView,
    linked: &[RelatedCase],
    similar: &[CaseRow],
    failed: Option<&Failed>,
) -> Markup {
    let lang = ctx.lang;
    let empty_f = Fields::default();
    let empty_e = Errors::default();
    let (f, e) = failed
        .map(|x| (&x.fields, &x.errors))
        .unwrap_or((&empty_f, &empty_e));
    let chosen = f.value("into");
    let offered = choices(view, linked, similar);
    let label = crate::staff::command_label(lang, COMMAND);
    html! {
        details class="action" id="action-merge" open[failed.is_some()] {
            summary { (label) }
            form method="post" action=(format!("/staff/cases/{}/merge", view.row.id)) id="form-merge" novalidate {
                (ui::csrf(&ctx.csrf_token()))
                input type="hidden" name="expected_version" value=(view.state.version);
                (ui::errors_rest(e, &["into", "reason"]))
                p class="hint" {
                    (lang.tr(
                        "when-this-case-repeats-an-open"
                    ))
                }
                fieldset id="merge-into" {
                    legend { (lang.tr("merge-into-the-primary-case")) }
                    @for row in &offered {
                        label class="check" {
                            input type="radio" name="into" value=(row.id) checked[chosen == row.id.to_string()];
                            " #" (row.id) " " (row.title) " "
                            span class="muted" { (words::status_str(lang, &row.status)) }
                        }
                    }
                    @if offered.is_empty() {
                        p class="muted" {
                            (lang.tr(
                                "no-related-open-case-found-type"
                            ))
                        }
                    }
                    label for="merge-into_number" {
                        (lang.tr(
                            "or-type-the-primary-cases-number"
                        ))
                    }
                    input type="text" id="merge-into_number" name="into_number" inputmode="numeric" maxlength="20"
                        placeholder=(lang.tr("e-g-12")) value=(f.value("into_number"))
                        aria-invalid=[ui::invalid(e, "into")];
                }
                (ui::error_at(e, "into"))
                label for="merge-reason" { (lang.tr("reason-for-merging")) }
                textarea id="merge-reason" name="reason" maxlength="2000" aria-invalid=[ui::invalid(e, "reason")] {
                    (f.value("reason"))
                }
                (ui::error_at(e, "reason"))
                button type="submit" id="submit-merge" { (label) }
            }
        }
    }
}

/// A typed case number: `12` or `#12` (full-width `＃` too).
fn case_number(typed: &str) -> Option<i64> {
    typed
        .trim()
        .trim_start_matches(['#', '＃'])
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
}

/// `POST /staff/cases/{id}/merge`: `into` (a choice) or `into_number` (typed),
/// `reason`, `expected_version`.
pub async fn post(ctx: Ctx, user: StaffUser, id: i64, fields: Fields) -> Response {
    let lang = ctx.lang;
    let mut errs = Errors::default();
    let into = match fields.get("into_number").or(fields.get("into")) {
        None => {
            errs.add("into", lang.tr("choose-the-primary-case-or-type"));
            None
        }
        Some(v) => {
            let n = case_number(v);
            if n.is_none() {
                errs.add("into", lang.tr("a-case-number-is-a-number"));
            }
            n
        }
    };
    let reason = fields.get("reason").map(str::to_string);
    if reason.is_none() {
        errs.add("reason", lang.tr("give-the-reason-for-merging"));
    }
    let expected = match fields.get("expected_version").map(str::parse::<u64>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            errs.add("", lang.tr("the-page-is-out-of-date"));
            None
        }
    };
    if let (true, Some(into), Some(reason)) = (errs.is_empty(), into, reason) {
        match ctx.app.merge(&user, id, into, &reason, expected).await {
            Ok(_) => return after_step(&ctx, &user, id, COMMAND).await,
            Err(e) => errs = app_errors(lang, &e, &|f| f.to_string()),
        }
    }
    refused(&ctx, &user, id, COMMAND, fields, errs).await
}

#[cfg(test)]
mod tests {
    use super::case_number;

    #[test]
    fn case_numbers_are_typed_with_or_without_the_sign() {
        assert_eq!(case_number("12"), Some(12));
        assert_eq!(case_number(" #7 "), Some(7));
        assert_eq!(case_number("＃7"), Some(7));
        assert_eq!(case_number("0"), None);
        assert_eq!(case_number("-3"), None);
        assert_eq!(case_number("ABCDEFGHJK"), None);
    }
}
