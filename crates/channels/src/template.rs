//! Message templates as data (TOML or JSON), with named placeholders `{name}`; `{{` and `}}`
//! write literal braces. A placeholder outside the known vocabulary is refused when the
//! templates are loaded; a variable missing at render time is an error naming it.
//!
//! Layout (TOML): `[<kind>.<audience>.<lang>]` with `subject`, `text` and optional
//! `markdown`, where `kind` is the workflow's notification template key (`dispatched`, …),
//! `audience` is `resident`, `unit` or `person` and `lang` is `zh` or `en`.
//!
//! Values are inserted as they are into `subject` and `text`; into `markdown` they go
//! through [`markdown_inert`], so that text from residents cannot add links or markup.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::message::Message;

/// The placeholders templates may use.
///
/// - `tracking_code`: the case's public tracking code;
/// - `title`: the case title;
/// - `status`: the case's status in words (e.g. `部门办理中`);
/// - `text`: the notification's own sentence (the outbox row's `text_zh`);
/// - `unit`: the name of the unit concerned; `deadline`: a due date in words;
/// - `link`: an address where the resident or staff can follow the case.
pub const PLACEHOLDERS: &[&str] = &[
    "tracking_code",
    "title",
    "status",
    "text",
    "unit",
    "deadline",
    "link",
];

/// The (template key, audience) pairs `suqiu_domain::workflow::notifications` emits; the
/// default templates cover each in Chinese and English.
pub const NOTIFICATION_KINDS: &[(&str, Audience)] = &[
    // The resident hears of every public step.
    ("received", Audience::Resident),
    ("triaged", Audience::Resident),
    ("reported_to_street", Audience::Resident),
    ("signed", Audience::Resident),
    ("street_assigned", Audience::Resident),
    ("dispatched", Audience::Resident),
    ("accepted", Audience::Resident),
    ("returned", Audience::Resident),
    ("replied", Audience::Resident),
    ("explained", Audience::Resident),
    ("rated", Audience::Resident),
    ("reopened", Audience::Resident),
    ("closed", Audience::Resident),
    ("ownership_taken", Audience::Resident),
    ("supervised", Audience::Resident),
    // A confirmation, by the new channel, that the resident changed it.
    ("contact_changed", Audience::Resident),
    ("merged", Audience::Resident),
    ("deadline_recomputed", Audience::Resident),
    // The unit that must act next.
    ("received", Audience::Unit),
    ("reported_to_street", Audience::Unit),
    ("dispatched", Audience::Unit),
    ("returned", Audience::Unit),
    ("cooperation_reported", Audience::Unit),
    ("rated", Audience::Unit),
    ("reopened", Audience::Unit),
    ("deadline_warned", Audience::Unit),
    ("deadline_overdue", Audience::Unit),
    ("deadline_recomputed", Audience::Unit),
    ("supervised", Audience::Unit),
    ("ownership_taken", Audience::Unit),
    ("urgent_signalled", Audience::Unit),
    // The leader concerned.
    ("leader_deadline_requested", Audience::Person),
    ("deadline_overdue", Audience::Person),
    ("urgent_signalled", Audience::Person),
];

const DEFAULTS: &str = include_str!("templates.toml");

/// Who a notification is for (the domain's `Recipient` without its data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Resident,
    Unit,
    Person,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Zh,
    En,
}

impl Audience {
    /// The audience of a stored recipient, as the workflow serialises it
    /// (`{"type":"unit","code":"…"}`, `{"type":"resident"}`, `{"type":"person","login":"…"}`).
    pub fn of_recipient_json(recipient: &str) -> Result<Audience, TemplateError> {
        #[derive(Deserialize)]
        struct Tagged {
            #[serde(rename = "type")]
            audience: Audience,
        }
        serde_json::from_str::<Tagged>(recipient)
            .map(|t| t.audience)
            .map_err(|e| TemplateError::Syntax(format!("recipient {recipient:?}: {e}")))
    }

    pub fn parse(s: &str) -> Option<Audience> {
        match s {
            "resident" => Some(Audience::Resident),
            "unit" => Some(Audience::Unit),
            "person" => Some(Audience::Person),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Resident => "resident",
            Audience::Unit => "unit",
            Audience::Person => "person",
        }
    }
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("templates: {0}")]
    Syntax(String),
    #[error("unknown placeholder {{{name}}} in {at} (known: {known})")]
    UnknownPlaceholder {
        name: String,
        at: String,
        known: String,
    },
    #[error("missing variable {{{name}}} for {at}")]
    MissingVariable { name: String, at: String },
    #[error("no template {kind}.{audience}.{lang}")]
    NotFound {
        kind: String,
        audience: &'static str,
        lang: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

/// One parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<Part>,
    /// Where it came from, for error messages.
    at: String,
}

/// Variables for rendering: any string map.
pub trait Vars {
    fn get_var(&self, name: &str) -> Option<&str>;
}

impl Vars for BTreeMap<&str, String> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for BTreeMap<String, String> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for HashMap<String, String> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for [(&str, &str)] {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

impl Pattern {
    /// Parses `s`, allowing only the placeholders in `known`.
    pub fn parse(s: &str, known: &[&str]) -> Result<Pattern, TemplateError> {
        Self::parse_at(s, known, "template")
    }

    fn parse_at(s: &str, known: &[&str], at: &str) -> Result<Pattern, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &s[i + 1..];
                    let end = rest.find('}').ok_or_else(|| {
                        TemplateError::Syntax(format!(
                            "{at}: unclosed '{{' at byte {i} (write '{{{{' for a literal brace)"
                        ))
                    })?;
                    let name = &rest[..end];
                    if name.is_empty()
                        || !name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        return Err(TemplateError::Syntax(format!(
                            "{at}: bad placeholder {{{name}}} (names are lowercase letters, digits and _)"
                        )));
                    }
                    if !known.contains(&name) {
                        return Err(TemplateError::UnknownPlaceholder {
                            name: name.into(),
                            at: at.into(),
                            known: known.join(", "),
                        });
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(name.into()));
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(TemplateError::Syntax(format!(
                        "{at}: lone '}}' at byte {i} (write '}}}}' for a literal brace)"
                    )))
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Pattern {
            parts,
            at: at.into(),
        })
    }

    /// The placeholders used, in order of first use.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.parts {
            if let Part::Var(v) = p {
                if !out.contains(&v.as_str()) {
                    out.push(v);
                }
            }
        }
        out
    }

    pub fn render<V: Vars + ?Sized>(&self, vars: &V) -> Result<String, TemplateError> {
        self.render_escaped(vars, |v, out| out.push_str(v))
    }

    /// Renders with each variable's value passed through `escape` (the literal parts of
    /// the template are written as they are).
    pub fn render_escaped<V: Vars + ?Sized>(
        &self,
        vars: &V,
        escape: impl Fn(&str, &mut String),
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(name) => escape(
                    vars.get_var(name)
                        .ok_or_else(|| TemplateError::MissingVariable {
                            name: name.clone(),
                            at: self.at.clone(),
                        })?,
                    &mut out,
                ),
            }
        }
        Ok(out)
    }
}

/// Makes a value inert inside markdown: the characters that start links, images, HTML,
/// emphasis, code, headings and quotes become their full-width forms (which read the same
/// in Chinese text and need no renderer-specific escaping), and line breaks become
/// spaces. A resident's title can then not put a clickable link into a staff group.
pub fn markdown_inert(value: &str, out: &mut String) {
    for c in value.chars() {
        out.push(match c {
            '[' => '［',
            ']' => '］',
            '(' => '（',
            ')' => '）',
            '<' => '＜',
            '>' => '＞',
            '*' => '＊',
            '_' => '＿',
            '`' => '｀',
            '#' => '＃',
            '!' => '！',
            '|' => '｜',
            '~' => '～',
            '\\' => '＼',
            '\r' | '\n' => ' ',
            c => c,
        });
    }
}

/// A template as written in the data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

impl TemplateText {
    /// Checks one template of `kind.audience.lang`: known placeholders only,
    /// braces balanced, and it renders on [`sample_vars`].
    pub fn check(&self, kind: &str, audience: Audience, lang: Lang) -> Result<(), TemplateError> {
        let c = compile_one(kind, audience, lang, self)?;
        let vars = sample_vars(lang);
        c.subject.render(&vars)?;
        c.text.render(&vars)?;
        if let Some(m) = &c.markdown {
            m.render_escaped(&vars, markdown_inert)?;
        }
        Ok(())
    }
}

/// Values of every placeholder for a sample case (previews and checks).
pub fn sample_vars(lang: Lang) -> BTreeMap<&'static str, String> {
    let (title, status, text, unit, link) = match lang {
        Lang::Zh => (
            "小区门口路灯不亮",
            "部门办理中",
            "已派区城管局办理。",
            "区城管局",
            "https://suqiu.example.cn/track/7KQ2M9XW4C",
        ),
        Lang::En => (
            "Street light out at the gate",
            "being handled by the department",
            "It was dispatched to the district city management bureau.",
            "District city management bureau",
            "https://suqiu.example.cn/track/7KQ2M9XW4C",
        ),
    };
    BTreeMap::from([
        ("tracking_code", "7KQ2M9XW4C".to_string()),
        ("title", title.to_string()),
        ("status", status.to_string()),
        ("text", text.to_string()),
        ("unit", unit.to_string()),
        ("deadline", "2026-12-08 17:00".to_string()),
        ("link", link.to_string()),
    ])
}

fn compile_one(
    kind: &str,
    aud: Audience,
    lang: Lang,
    t: &TemplateText,
) -> Result<Compiled, TemplateError> {
    let at = |field: &str| format!("{kind}.{}.{}.{field}", aud.as_str(), lang.as_str());
    Ok(Compiled {
        subject: Pattern::parse_at(&t.subject, PLACEHOLDERS, &at("subject"))?,
        text: Pattern::parse_at(&t.text, PLACEHOLDERS, &at("text"))?,
        markdown: t
            .markdown
            .as_deref()
            .map(|m| Pattern::parse_at(m, PLACEHOLDERS, &at("markdown")))
            .transpose()?,
    })
}

type Source = BTreeMap<String, BTreeMap<Audience, BTreeMap<Lang, TemplateText>>>;

#[derive(Debug, Clone)]
struct Compiled {
    subject: Pattern,
    text: Pattern,
    markdown: Option<Pattern>,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub markdown: Option<String>,
}

impl Rendered {
    /// The message for a channel.
    pub fn into_message(self, idempotency_key: impl Into<String>, to: Vec<String>) -> Message {
        Message {
            idempotency_key: idempotency_key.into(),
            to,
            subject: self.subject,
            text: self.text,
            markdown: self.markdown,
        }
    }
}

/// A validated set of templates.
#[derive(Debug, Clone)]
pub struct Templates {
    source: Source,
    compiled: BTreeMap<(String, Audience, Lang), Compiled>,
}

impl Templates {
    /// The built-in templates (Chinese and English for every entry of [`NOTIFICATION_KINDS`]).
    pub fn defaults() -> Result<Templates, TemplateError> {
        Self::from_toml(DEFAULTS)
    }

    pub fn from_toml(s: &str) -> Result<Templates, TemplateError> {
        let source: Source = toml::from_str(s).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        Self::compile(source)
    }

    pub fn from_json(s: &str) -> Result<Templates, TemplateError> {
        let source: Source =
            serde_json::from_str(s).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        Self::compile(source)
    }

    /// The defaults with the entries of `s` (TOML) replacing theirs: an operator's file
    /// needs to hold only what it changes.
    pub fn defaults_with_toml(s: &str) -> Result<Templates, TemplateError> {
        let mut base: Source =
            toml::from_str(DEFAULTS).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        let over: Source = toml::from_str(s).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        for (kind, audiences) in over {
            for (aud, langs) in audiences {
                for (lang, t) in langs {
                    base.entry(kind.clone())
                        .or_default()
                        .entry(aud)
                        .or_default()
                        .insert(lang, t);
                }
            }
        }
        Self::compile(base)
    }

    fn compile(source: Source) -> Result<Templates, TemplateError> {
        let mut compiled = BTreeMap::new();
        for (kind, audiences) in &source {
            for (aud, langs) in audiences {
                for (lang, t) in langs {
                    let c = compile_one(kind, *aud, *lang, t)?;
                    compiled.insert((kind.clone(), *aud, *lang), c);
                }
            }
        }
        Ok(Templates { source, compiled })
    }

    /// These templates with `overrides` replacing theirs (an administrator's
    /// edits); only templates that exist here may be overridden.
    pub fn with_overrides(
        &self,
        overrides: impl IntoIterator<Item = (String, Audience, Lang, TemplateText)>,
    ) -> Result<Templates, TemplateError> {
        let mut compiled = self.compiled.clone();
        let mut source = self.source.clone();
        for (kind, aud, lang, t) in overrides {
            if !self.has(&kind, aud, lang) {
                return Err(TemplateError::NotFound {
                    kind,
                    audience: aud.as_str(),
                    lang: lang.as_str(),
                });
            }
            compiled.insert(
                (kind.clone(), aud, lang),
                compile_one(&kind, aud, lang, &t)?,
            );
            source
                .entry(kind)
                .or_default()
                .entry(aud)
                .or_default()
                .insert(lang, t);
        }
        Ok(Templates { source, compiled })
    }

    /// Every template, ordered by kind, audience and language.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Audience, Lang, &TemplateText)> {
        self.source.iter().flat_map(|(kind, auds)| {
            auds.iter().flat_map(move |(aud, langs)| {
                langs
                    .iter()
                    .map(move |(lang, t)| (kind.as_str(), *aud, *lang, t))
            })
        })
    }

    /// The text of one template.
    pub fn text(&self, kind: &str, audience: Audience, lang: Lang) -> Option<&TemplateText> {
        self.source.get(kind)?.get(&audience)?.get(&lang)
    }

    /// Whether a template exists.
    pub fn has(&self, kind: &str, audience: Audience, lang: Lang) -> bool {
        self.compiled
            .contains_key(&(kind.to_string(), audience, lang))
    }

    /// The placeholders a template uses (what the caller must supply).
    pub fn placeholders(
        &self,
        kind: &str,
        audience: Audience,
        lang: Lang,
    ) -> Result<Vec<&str>, TemplateError> {
        let c = self.get(kind, audience, lang)?;
        let mut out = c.subject.placeholders();
        for p in c.text.placeholders().into_iter().chain(
            c.markdown
                .as_ref()
                .map(|m| m.placeholders())
                .unwrap_or_default(),
        ) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    fn get(&self, kind: &str, audience: Audience, lang: Lang) -> Result<&Compiled, TemplateError> {
        self.compiled
            .get(&(kind.to_string(), audience, lang))
            .ok_or_else(|| TemplateError::NotFound {
                kind: kind.into(),
                audience: audience.as_str(),
                lang: lang.as_str(),
            })
    }

    pub fn render<V: Vars + ?Sized>(
        &self,
        kind: &str,
        audience: Audience,
        lang: Lang,
        vars: &V,
    ) -> Result<Rendered, TemplateError> {
        let c = self.get(kind, audience, lang)?;
        Ok(Rendered {
            subject: c.subject.render(vars)?,
            text: c.text.render(vars)?,
            markdown: c
                .markdown
                .as_ref()
                .map(|m| m.render_escaped(vars, markdown_inert))
                .transpose()?,
        })
    }

    /// The templates as TOML (e.g. to write out the defaults for editing).
    pub fn to_toml(&self) -> Result<String, TemplateError> {
        toml::to_string_pretty(&self.source).map_err(|e| TemplateError::Syntax(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_vars() -> BTreeMap<&'static str, String> {
        PLACEHOLDERS
            .iter()
            .map(|p| (*p, format!("<{p}>")))
            .collect()
    }

    #[test]
    fn defaults_cover_every_notification_in_both_languages() {
        let t = Templates::defaults().unwrap();
        for (kind, aud) in NOTIFICATION_KINDS {
            for lang in [Lang::Zh, Lang::En] {
                let r = t.render(kind, *aud, lang, &full_vars()).unwrap();
                assert!(
                    !r.subject.is_empty() && !r.text.is_empty(),
                    "{kind} {aud:?} {lang:?}"
                );
                assert!(
                    r.text.contains("<tracking_code>"),
                    "{kind} {aud:?} {lang:?}: {}",
                    r.text
                );
            }
        }
        // Nothing in the defaults that the workflow never emits.
        for (kind, aud, _) in t.compiled.keys() {
            assert!(
                NOTIFICATION_KINDS.contains(&(kind.as_str(), *aud)),
                "stray default {kind}.{}",
                aud.as_str()
            );
        }
    }

    #[test]
    fn residents_get_plain_chinese() {
        let t = Templates::defaults().unwrap();
        for (kind, aud) in NOTIFICATION_KINDS
            .iter()
            .filter(|(_, a)| *a == Audience::Resident)
        {
            let r = t.render(kind, *aud, Lang::Zh, &full_vars()).unwrap();
            // Internal jargon residents do not know.
            for jargon in ["派单", "研判", "签收", "督办", "包案", "退单", "工单"] {
                assert!(
                    !r.subject.contains(jargon),
                    "{kind}: resident subject uses {jargon}: {}",
                    r.subject
                );
            }
            assert!(r.markdown.is_none(), "{kind}: residents get plain text");
            assert!(r
                .subject
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    #[test]
    fn unknown_placeholder_is_refused_with_its_place() {
        let e = Templates::from_toml(
            "[closed.resident.zh]\nsubject = \"办结\"\ntext = \"您的诉求{case_no}已办结\"\n",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("{case_no}"), "{msg}");
        assert!(msg.contains("closed.resident.zh.text"), "{msg}");
    }

    #[test]
    fn missing_variable_is_named() {
        let t = Templates::from_toml(
            "[closed.resident.zh]\nsubject = \"办结 {tracking_code}\"\ntext = \"{title}\"\n",
        )
        .unwrap();
        let vars: BTreeMap<&str, String> = BTreeMap::from([("title", "路灯".to_string())]);
        let e = t
            .render("closed", Audience::Resident, Lang::Zh, &vars)
            .unwrap_err();
        assert_eq!(
            e,
            TemplateError::MissingVariable {
                name: "tracking_code".into(),
                at: "closed.resident.zh.subject".into()
            }
        );
        assert!(matches!(
            t.render("closed", Audience::Unit, Lang::Zh, &vars),
            Err(TemplateError::NotFound { .. })
        ));
    }

    #[test]
    fn values_are_inert_in_markdown_only() {
        let t = Templates::from_toml(
            "[dispatched.unit.zh]\nsubject = \"{title}\"\ntext = \"{title}\"\nmarkdown = \"### [平台](https://suqiu.example)\\n> {title}\"\n",
        )
        .unwrap();
        let title = "路灯坏了 [点我领补贴](http://evil.example) <b>\n# 标题";
        let r = t
            .render(
                "dispatched",
                Audience::Unit,
                Lang::Zh,
                &[("title", title)][..],
            )
            .unwrap();
        assert_eq!(r.subject, title);
        assert_eq!(r.text, title);
        assert_eq!(
            r.markdown.unwrap(),
            "### [平台](https://suqiu.example)\n> 路灯坏了 ［点我领补贴］（http://evil.example） ＜b＞ ＃ 标题"
        );
    }

    #[test]
    fn audiences_of_stored_recipients() {
        assert_eq!(
            Audience::of_recipient_json(r#"{"type":"unit","code":"430799001"}"#).unwrap(),
            Audience::Unit
        );
        assert_eq!(
            Audience::of_recipient_json(r#"{"type":"resident"}"#).unwrap(),
            Audience::Resident
        );
        assert_eq!(
            Audience::of_recipient_json(r#"{"type":"person","login":"li"}"#).unwrap(),
            Audience::Person
        );
        assert!(Audience::of_recipient_json(r#"{"type":"group"}"#).is_err());
    }

    #[test]
    fn braces_and_syntax() {
        let p = Pattern::parse("{{x}} {title}}}", &["title"]).unwrap();
        assert_eq!(p.render(&[("title", "标题")][..]).unwrap(), "{x} 标题}");
        assert!(matches!(
            Pattern::parse("{title", &["title"]),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            Pattern::parse("a } b", &["title"]),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            Pattern::parse("{Title}", &["title"]),
            Err(TemplateError::Syntax(_))
        ));
        // A multi-byte character right after a placeholder.
        let p = Pattern::parse("{title}：好", &["title"]).unwrap();
        assert_eq!(p.render(&[("title", "甲")][..]).unwrap(), "甲：好");
    }

    #[test]
    fn json_and_overrides() {
        let t = Templates::from_json(
            r#"{"closed":{"resident":{"en":{"subject":"Closed {tracking_code}","text":"{title}"}}}}"#,
        )
        .unwrap();
        let r = t
            .render(
                "closed",
                Audience::Resident,
                Lang::En,
                &[("tracking_code", "A1"), ("title", "T")][..],
            )
            .unwrap();
        assert_eq!(r.subject, "Closed A1");
        let t = Templates::defaults_with_toml(
            "[closed.resident.zh]\nsubject = \"结了\"\ntext = \"{tracking_code}\"\n",
        )
        .unwrap();
        let r = t
            .render("closed", Audience::Resident, Lang::Zh, &full_vars())
            .unwrap();
        assert_eq!(r.subject, "结了");
        assert!(t.has("dispatched", Audience::Unit, Lang::Zh));
        // Round trip through TOML.
        let again = Templates::from_toml(&t.to_toml().unwrap()).unwrap();
        assert_eq!(
            again
                .render("closed", Audience::Resident, Lang::Zh, &full_vars())
                .unwrap(),
            r
        );
        assert_eq!(
            t.placeholders("closed", Audience::Resident, Lang::Zh)
                .unwrap(),
            vec!["tracking_code"]
        );
    }

    #[test]
    fn overrides_replace_existing_templates_only_and_are_checked() {
        let base = Templates::defaults().unwrap();
        let t = TemplateText {
            subject: "受理 {tracking_code}".into(),
            text: "您好，{title} 已受理，{{查询码}} {tracking_code}".into(),
            markdown: None,
        };
        t.check("received", Audience::Resident, Lang::Zh).unwrap();
        let over = base
            .with_overrides([(
                "received".to_string(),
                Audience::Resident,
                Lang::Zh,
                t.clone(),
            )])
            .unwrap();
        let r = over
            .render(
                "received",
                Audience::Resident,
                Lang::Zh,
                &sample_vars(Lang::Zh),
            )
            .unwrap();
        assert_eq!(r.text, "您好，小区门口路灯不亮 已受理，{查询码} 7KQ2M9XW4C");
        assert_eq!(
            over.text("received", Audience::Resident, Lang::Zh),
            Some(&t)
        );
        // the base is untouched, the others are as they were
        assert_ne!(
            base.text("received", Audience::Resident, Lang::Zh),
            Some(&t)
        );
        assert_eq!(
            over.text("closed", Audience::Resident, Lang::En),
            base.text("closed", Audience::Resident, Lang::En)
        );
        assert_eq!(over.entries().count(), base.entries().count());
        let e = base
            .with_overrides([(
                "nonsense".to_string(),
                Audience::Resident,
                Lang::Zh,
                t.clone(),
            )])
            .unwrap_err();
        assert!(matches!(e, TemplateError::NotFound { .. }), "{e}");
        let bad = TemplateText {
            text: "{phone}".into(),
            ..t.clone()
        };
        let e = bad
            .check("received", Audience::Resident, Lang::Zh)
            .unwrap_err();
        assert!(matches!(e, TemplateError::UnknownPlaceholder { .. }), "{e}");
        let bad = TemplateText {
            markdown: Some("**{title**".into()),
            ..t
        };
        assert!(bad.check("received", Audience::Resident, Lang::Zh).is_err());
        for lang in [Lang::Zh, Lang::En] {
            let v = sample_vars(lang);
            assert!(PLACEHOLDERS.iter().all(|p| v.contains_key(p)));
        }
    }
}
