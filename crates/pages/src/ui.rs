//! Partials of the pages, as `maud` templates: everything interpolated into
//! them is escaped by construction; markup from elsewhere enters only
//! through [`crate::html::raw`].

use crate::forms::{Errors, Fields};
use maud::{html, Markup};

/// The message under a field, if it has one.
pub fn error_at(errs: &Errors, field: &str) -> Markup {
    html! {
        @if let Some(m) = errs.0.get(field) {
            p.field-error role="alert" data-field=(field) { (m) }
        }
    }
}

/// The errors of fields the form does not show, at its top.
pub fn errors_rest(errs: &Errors, shown: &[&str]) -> Markup {
    html! {
        @for (k, m) in errs.0.iter().filter(|(k, _)| !shown.contains(&k.as_str())) {
            p.field-error role="alert" data-field=(k) { (m) }
        }
    }
}

/// `aria-invalid="true"` on a field with an error (use as
/// `aria-invalid=[ui::invalid(errs, name)]`).
pub fn invalid(errs: &Errors, field: &str) -> Option<&'static str> {
    errs.0.contains_key(field).then_some("true")
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// One table row of plain texts.
pub fn table_row(cells: &[&str]) -> Markup {
    html! { tr { @for c in cells { td { (c) } } } }
}

/// A scrollable table with a header of plain texts around rows already built.
pub fn table(id: &str, heads: &[&str], rows: Markup) -> Markup {
    html! {
        div.table-scroll {
            table id=(id) {
                thead { tr { @for h in heads { th { (h) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// A table in the `table-wrap` frame, its header of plain texts (an empty
/// text gives an empty cell) around rows already built.
pub fn wrapped_table(heads: &[&str], rows: Markup) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { @for h in heads { th { (h) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// A paragraph holding one link.
pub fn link(href: &str, id: &str, text: &str) -> Markup {
    html! { p { a href=(href) id=(id) { (text) } } }
}

/// A paragraph of plain text.
pub fn paragraph(id: &str, text: &str) -> Markup {
    html! { p id=(id) { (text) } }
}

/// A card with a heading around markup already built.
pub fn section(id: &str, heading: &str, inner: Markup) -> Markup {
    html! { section.card id=(id) { h1 { (heading) } (inner) } }
}

/// A short text with an explanation on hover or long press (`title`).
pub fn hint_span(class: &str, text: &str, explanation: &str) -> Markup {
    html! { span class=(class) title=(explanation) { (text) } }
}

/// A labelled one-line text input: its typed value kept, marked invalid and
/// followed by its error when it has one. `list` names a `<datalist>`.
pub fn text_input(
    (id, name): (&str, &str),
    label: &str,
    max: usize,
    list: Option<&str>,
    (f, errs): (&Fields, &Errors),
) -> Markup {
    html! {
        label for=(id) { (label) }
        input type="text" id=(id) name=(name) maxlength=(max) list=[list]
            value=(f.value(name)) aria-invalid=[invalid(errs, name)];
        (error_at(errs, name))
    }
}

/// A labelled date input in its own `div` (id and name alike), its value
/// kept, marked invalid and followed by its error when it has one.
pub fn date_field(name: &str, label: &str, value: &str, errs: &Errors) -> Markup {
    html! {
        div {
            label for=(name) { (label) }
            input type="date" id=(name) name=(name) value=(value) aria-invalid=[invalid(errs, name)];
            (error_at(errs, name))
        }
    }
}

/// A labelled choice in its own `div` (id and name alike): an empty first
/// option (`any`), then `(value, text)` pairs, the chosen one selected.
pub fn select_field(
    (name, label): (&str, &str),
    any: &str,
    options: &[(&str, String)],
    chosen: Option<&str>,
    errs: &Errors,
) -> Markup {
    html! {
        div {
            label for=(name) { (label) }
            select id=(name) name=(name) aria-invalid=[invalid(errs, name)] {
                option value="" { (any) }
                @for (v, t) in options {
                    option value=(v) selected[chosen == Some(*v)] { (t) }
                }
            }
            (error_at(errs, name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_text_is_escaped() {
        let mut errs = Errors::default();
        errs.add("name", "<b>\"x\"</b>");
        let out = error_at(&errs, "name").into_string();
        assert_eq!(
            out,
            r#"<p class="field-error" role="alert" data-field="name">&lt;b&gt;&quot;x&quot;&lt;/b&gt;</p>"#
        );
        let row = table_row(&["<script>", "a&b"]).into_string();
        assert_eq!(row, "<tr><td>&lt;script&gt;</td><td>a&amp;b</td></tr>");
        let t = table("t", &["h"], row_markup()).into_string();
        assert!(t.starts_with(r#"<div class="table-scroll"><table id="t"><thead><tr><th>h</th>"#));
        let f = Fields::parse(b"who=%22%3E%3Cx");
        let input = text_input(("w", "who"), "L", 10, None, (&f, &errs)).into_string();
        assert!(input.contains(r#"value="&quot;&gt;&lt;x""#), "{input}");
        assert!(!input.contains("aria-invalid"), "{input}");
        assert!(!input.contains("list="), "{input}");
    }

    fn row_markup() -> Markup {
        table_row(&["1"])
    }
}
