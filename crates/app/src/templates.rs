//! Message templates editable by administrators. The built-in templates
//! (`suqiu-channels`' defaults, plus an operator's `sender.templates` file)
//! are the defaults; an administrator's override of one (kind, audience,
//! language) is stored in the database, checked first (known placeholders,
//! renders on a sample case; nothing is stored otherwise) and audited in the
//! same transaction. Every change bumps a version: each instance's sender
//! compares it before a round and reloads the overrides when it moved, so an
//! override is used from the next message on, on every instance.

use crate::privacy::{allowed, Permission};
use crate::{App, AppError, Result, StaffUser};
use std::sync::{Arc, RwLock};
use suqiu_channels::template::sample_vars;
pub use suqiu_channels::template::PLACEHOLDERS;
use suqiu_channels::Templates;
pub use suqiu_channels::{Audience, Lang, Rendered, TemplateText};
use suqiu_store::{AuditEntry, TemplateOverrideRow};

/// Longest subject, text and markdown of an override, in characters.
pub const MAX_SUBJECT: usize = 200;
pub const MAX_TEXT: usize = 2000;
pub const MAX_MARKDOWN: usize = 4000;

/// The templates in use by this instance: the defaults with the stored
/// overrides at `version`.
#[derive(Default)]
pub struct TemplateCache {
    loaded: RwLock<Option<(i64, Arc<Templates>)>>,
}

/// One template as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateInfo {
    pub kind: String,
    pub audience: Audience,
    pub lang: Lang,
    pub default: TemplateText,
    #[serde(rename = "override")]
    pub overridden: Option<TemplateOverride>,
}

/// An administrator's override.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateOverride {
    pub subject: String,
    pub text: String,
    pub markdown: Option<String>,
    pub updated_at: i64,
    pub updated_by: String,
}

/// Which template: (kind, audience, language) as written in a path.
#[derive(Debug, Clone, Copy)]
pub struct TemplateKey<'a> {
    pub kind: &'a str,
    pub audience: &'a str,
    pub lang: &'a str,
}

impl<'a> From<&'a (String, String, String)> for TemplateKey<'a> {
    /// From a path's (kind, audience, lang).
    fn from((kind, audience, lang): &'a (String, String, String)) -> Self {
        TemplateKey {
            kind,
            audience,
            lang,
        }
    }
}

impl App {
    /// The defaults: the notifier's templates, or the built-in ones.
    fn base_templates(&self) -> Result<Arc<Templates>> {
        match &self.notifier {
            Some(n) => Ok(n.templates()),
            None => Templates::defaults()
                .map(Arc::new)
                .map_err(|e| AppError::Journal(e.to_string())),
        }
    }

    /// The templates to send with: the defaults with the stored overrides,
    /// reloaded when another instance (or this one) changed them.
    pub(crate) async fn current_templates(&self) -> Result<Arc<Templates>> {
        let version = self.store().template_version().await?;
        if let Ok(g) = self.templates.loaded.read() {
            if let Some((v, t)) = g.as_ref() {
                if *v == version {
                    return Ok(t.clone());
                }
            }
        }
        let (version, rows) = self.store().template_overrides().await?;
        let base = self.base_templates()?;
        let mut overrides = Vec::new();
        for r in rows {
            let (Some(aud), Some(lang)) = (Audience::parse(&r.audience), Lang::parse(&r.lang))
            else {
                tracing::warn!(kind = %r.kind, audience = %r.audience, lang = %r.lang, "stored template override of no known audience or language; ignored");
                continue;
            };
            let t = TemplateText {
                subject: r.subject,
                text: r.text,
                markdown: r.markdown,
            };
            // an override of a template the defaults no longer have (an
            // operator's file changed) is kept in the store but not used
            if base.has(&r.kind, aud, lang) && t.check(&r.kind, aud, lang).is_ok() {
                overrides.push((r.kind, aud, lang, t));
            } else {
                tracing::warn!(kind = %r.kind, "stored template override not usable; the default is used");
            }
        }
        let t = Arc::new(
            base.with_overrides(overrides)
                .map_err(|e| AppError::Journal(e.to_string()))?,
        );
        if let Ok(mut g) = self.templates.loaded.write() {
            *g = Some((version, t.clone()));
        }
        Ok(t)
    }

    /// Refuses anyone but administrators.
    pub fn may_manage_templates(&self, user: &StaffUser) -> Result<()> {
        if allowed(user.role, Permission::ManageTemplates) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Every template with its default and its override, if any.
    pub async fn templates(&self, user: &StaffUser) -> Result<Vec<TemplateInfo>> {
        self.may_manage_templates(user)?;
        let base = self.base_templates()?;
        let (_, rows) = self.store().template_overrides().await?;
        Ok(base
            .entries()
            .map(|(kind, audience, lang, t)| TemplateInfo {
                kind: kind.to_string(),
                audience,
                lang,
                default: t.clone(),
                overridden: rows
                    .iter()
                    .find(|r| {
                        r.kind == kind && r.audience == audience.as_str() && r.lang == lang.as_str()
                    })
                    .map(|r| TemplateOverride {
                        subject: r.subject.clone(),
                        text: r.text.clone(),
                        markdown: r.markdown.clone(),
                        updated_at: r.updated_at,
                        updated_by: r.updated_by.clone(),
                    }),
            })
            .collect())
    }

    /// The template a key names (it must exist among the defaults).
    fn template_key(&self, key: TemplateKey<'_>) -> Result<(Audience, Lang)> {
        let found = Audience::parse(key.audience)
            .zip(Lang::parse(key.lang))
            .filter(|(a, l)| {
                self.base_templates()
                    .map(|b| b.has(key.kind, *a, *l))
                    .unwrap_or(false)
            });
        found.ok_or_else(|| {
            AppError::TemplateNotFound(format!("{}/{}/{}", key.kind, key.audience, key.lang))
        })
    }

    /// Checks a template and renders it on a sample case (the editor's
    /// preview); nothing is stored.
    pub fn preview_template(
        &self,
        user: &StaffUser,
        key: TemplateKey<'_>,
        t: &TemplateText,
    ) -> Result<Rendered> {
        self.may_manage_templates(user)?;
        let (aud, lang) = self.template_key(key)?;
        let t = &normalised(t);
        check_lengths(t)?;
        t.check(key.kind, aud, lang)
            .map_err(|e| AppError::InvalidTemplate(e.to_string()))?;
        let one = self
            .base_templates()?
            .with_overrides([(key.kind.to_string(), aud, lang, t.clone())])
            .map_err(|e| AppError::InvalidTemplate(e.to_string()))?;
        one.render(key.kind, aud, lang, &sample_vars(lang))
            .map_err(|e| AppError::InvalidTemplate(e.to_string()))
    }

    /// Stores an override (administrators; checked, audited); returns its
    /// preview on the sample case.
    pub async fn put_template(
        &self,
        user: &StaffUser,
        key: TemplateKey<'_>,
        t: TemplateText,
    ) -> Result<Rendered> {
        let preview = self.preview_template(user, key, &t)?;
        let t = normalised(&t);
        let now = self.now();
        let target = format!("template:{}/{}/{}", key.kind, key.audience, key.lang);
        self.store()
            .put_template_override(
                TemplateOverrideRow {
                    kind: key.kind.to_string(),
                    audience: key.audience.to_string(),
                    lang: key.lang.to_string(),
                    subject: t.subject.clone(),
                    text: t.text.clone(),
                    markdown: t.markdown.clone(),
                    updated_at: now,
                    updated_by: user.login.clone(),
                },
                AuditEntry {
                    at: now,
                    actor: user.login.clone(),
                    action: "template.put".into(),
                    target,
                    reason: String::new(),
                    detail: serde_json::json!({
                        "subject": t.subject, "text": t.text, "markdown": t.markdown,
                    })
                    .to_string(),
                },
            )
            .await?;
        Ok(preview)
    }

    /// Removes an override: the default applies again (administrators; audited).
    pub async fn delete_template(&self, user: &StaffUser, key: TemplateKey<'_>) -> Result<()> {
        self.may_manage_templates(user)?;
        self.template_key(key)?;
        let now = self.now();
        let done = self
            .store()
            .delete_template_override(
                key.kind,
                key.audience,
                key.lang,
                AuditEntry {
                    at: now,
                    actor: user.login.clone(),
                    action: "template.delete".into(),
                    target: format!("template:{}/{}/{}", key.kind, key.audience, key.lang),
                    reason: String::new(),
                    detail: "{}".into(),
                },
            )
            .await?;
        done.map(|_| ()).ok_or(AppError::TemplateNotOverridden)
    }
}

/// An empty markdown is no markdown.
fn normalised(t: &TemplateText) -> TemplateText {
    TemplateText {
        markdown: t.markdown.clone().filter(|m| !m.trim().is_empty()),
        ..t.clone()
    }
}

/// Control characters (NUL …) are refused in every part: line breaks and tabs
/// only in the text and markdown (`\r` of a form's `\r\n` too), none in the
/// subject (`field_control_characters`, naming the part).
fn check_control_characters(t: &TemplateText) -> Result<()> {
    use suqiu_domain::validate::{FieldError, FieldErrorKind};
    let bad = |s: &str, multiline: bool| {
        s.chars()
            .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t' | '\r')))
    };
    let parts = [
        ("subject", Some(t.subject.as_str()), false),
        ("text", Some(t.text.as_str()), true),
        ("markdown", t.markdown.as_deref(), true),
    ];
    for (field, value, multiline) in parts {
        if value.is_some_and(|v| bad(v, multiline)) {
            return Err(FieldError::new(field, FieldErrorKind::ControlCharacters).into());
        }
    }
    Ok(())
}

fn check_lengths(t: &TemplateText) -> Result<()> {
    check_control_characters(t)?;
    let too_long = |s: &str, max: usize| s.chars().count() > max;
    if t.text.trim().is_empty() {
        return Err(AppError::InvalidTemplate("the text is empty".into()));
    }
    if too_long(&t.subject, MAX_SUBJECT)
        || too_long(&t.text, MAX_TEXT)
        || t.markdown
            .as_deref()
            .is_some_and(|m| too_long(m, MAX_MARKDOWN))
    {
        return Err(AppError::InvalidTemplate(format!(
            "too long (subject ≤ {MAX_SUBJECT}, text ≤ {MAX_TEXT}, markdown ≤ {MAX_MARKDOWN} characters)"
        )));
    }
    Ok(())
}
