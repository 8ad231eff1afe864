//! The message catalogue of suqiu.
//!
//! Every user-facing text lives in Fluent files under `locales/<code>/`, one
//! directory per language; `zh-CN` is the source and every other language
//! must have the same keys (a test checks). The files are embedded at build
//! time, so a server cut off from the internet has them all, and adding a
//! language (维吾尔语, 藏语, 蒙古语 …) is adding a directory.
//!
//! A message without variables is formatted once, when the catalogue is
//! loaded, and handed out as `&'static str`; a message with variables is
//! formatted on each call with [`Catalog::format`].

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The source language: its keys are the catalogue's keys.
pub const SOURCE: &str = "zh-CN";

/// One language of the catalogue.
pub struct Locale {
    /// `zh-CN`, `en`, `ug` …: the directory name, used as `lang=` and `<html lang>`.
    pub code: &'static str,
    bundle: FluentBundle<FluentResource>,
    /// Messages without variables, formatted once.
    plain: HashMap<String, String>,
    /// Every message id of the language's files, in file order.
    keys: Vec<String>,
}

impl Locale {
    /// The language's own name (the message `language-name`), for the switch.
    pub fn name(&self) -> &str {
        self.plain
            .get("language-name")
            .map_or(self.code, String::as_str)
    }
}

/// All languages, the source first.
pub struct Catalog {
    locales: Vec<Locale>,
    /// Problems found while loading (syntax errors, duplicate keys): empty
    /// in a good build, and a test keeps it so.
    pub problems: Vec<String>,
}

/// An index into [`Catalog::locales`]; 0 is the source language.
pub type LocaleId = usize;

impl Catalog {
    fn load() -> Catalog {
        let mut problems = Vec::new();
        let mut locales: Vec<Locale> = Vec::new();
        for (code, files) in EMBEDDED {
            let lang: unic_langid::LanguageIdentifier = match code.parse() {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!("{code}: not a language code: {e}"));
                    continue;
                }
            };
            let mut bundle = FluentBundle::new_concurrent(vec![lang]);
            bundle.set_use_isolating(false);
            let mut keys = Vec::new();
            for (file, text) in files.iter() {
                let res = match FluentResource::try_new((*text).to_string()) {
                    Ok(r) => r,
                    Err((r, errs)) => {
                        for e in errs {
                            problems.push(format!("{code}/{file}: {e:?}"));
                        }
                        r
                    }
                };
                for entry in res.entries() {
                    if let fluent_syntax::ast::Entry::Message(m) = entry {
                        keys.push(m.id.name.to_string());
                    }
                }
                if let Err(errs) = bundle.add_resource(res) {
                    for e in errs {
                        problems.push(format!("{code}/{file}: {e:?}"));
                    }
                }
            }
            let mut plain = HashMap::new();
            for key in &keys {
                if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                    let mut errs = Vec::new();
                    let text = bundle.format_pattern(pattern, None, &mut errs);
                    if errs.is_empty() {
                        plain.insert(key.clone(), text.into_owned());
                    }
                }
            }
            locales.push(Locale {
                code,
                bundle,
                plain,
                keys,
            });
        }
        // The source first, English second, the others by code.
        locales.sort_by_key(|l| (l.code != SOURCE, l.code != "en", l.code));
        if locales.first().map(|l| l.code) != Some(SOURCE) {
            problems.push(format!("the source language {SOURCE} is missing"));
        }
        if locales.get(1).map(|l| l.code) != Some("en") {
            problems.push("English (en) must be the second language".into());
        }
        Catalog { locales, problems }
    }

    /// Every language, the source first.
    pub fn locales(&self) -> &[Locale] {
        &self.locales
    }

    /// The language with this code (`en`, `zh-CN`, also `zh` for the source).
    pub fn find(&self, code: &str) -> Option<LocaleId> {
        let code = code.trim();
        self.locales
            .iter()
            .position(|l| l.code.eq_ignore_ascii_case(code))
            .or_else(|| {
                self.locales.iter().position(|l| {
                    l.code
                        .split('-')
                        .next()
                        .is_some_and(|p| p.eq_ignore_ascii_case(code))
                })
            })
    }

    /// The code of a language.
    pub fn code(&self, id: LocaleId) -> &str {
        self.locales.get(id).map_or(SOURCE, |l| l.code)
    }

    /// A message without variables in a language; the source's when the
    /// language lacks it, and the key itself when no language has it.
    pub fn get<'a>(&'a self, id: LocaleId, key: &'a str) -> &'a str {
        self.locales
            .get(id)
            .and_then(|l| l.plain.get(key))
            .or_else(|| self.locales.first().and_then(|l| l.plain.get(key)))
            .map_or(key, String::as_str)
    }

    /// A message with variables (`{ $name }` in the file).
    pub fn format(&self, id: LocaleId, key: &str, args: &[(&str, Arg)]) -> String {
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            match v {
                Arg::Text(s) => fargs.set(*k, FluentValue::from(s.as_str())),
                Arg::Number(n) => fargs.set(*k, FluentValue::from(*n)),
            }
        }
        for l in [self.locales.get(id), self.locales.first()]
            .into_iter()
            .flatten()
        {
            if let Some(pattern) = l.bundle.get_message(key).and_then(|m| m.value()) {
                let mut errs = Vec::new();
                return l
                    .bundle
                    .format_pattern(pattern, Some(&fargs), &mut errs)
                    .into_owned();
            }
        }
        key.to_string()
    }

    /// The keys of a language and whether each takes variables.
    pub fn keys(&self, id: LocaleId) -> BTreeMap<String, bool> {
        self.locales.get(id).map_or_else(BTreeMap::new, |l| {
            l.keys
                .iter()
                .map(|k| (k.clone(), !l.plain.contains_key(k)))
                .collect()
        })
    }
}

/// A value for a message's variable.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Number(f64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<u64> for Arg {
    fn from(n: u64) -> Self {
        Arg::Number(n as f64)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Number(n as f64)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Number(n as f64)
    }
}

/// The catalogue, loaded on first use.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_loads_without_problems() {
        let c = catalog();
        assert!(c.problems.is_empty(), "{:#?}", c.problems);
        assert_eq!(c.code(0), SOURCE);
        assert!(c.locales().len() >= 2);
    }

    #[test]
    fn every_language_has_exactly_the_source_keys_with_the_same_variables() {
        let c = catalog();
        let source = c.keys(0);
        assert!(source.len() > 10, "{}", source.len());
        for (id, l) in c.locales().iter().enumerate().skip(1) {
            let keys = c.keys(id);
            let missing: Vec<_> = source.keys().filter(|k| !keys.contains_key(*k)).collect();
            let extra: Vec<_> = keys.keys().filter(|k| !source.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", l.code);
            assert!(
                extra.is_empty(),
                "{} has keys the source lacks: {extra:?}",
                l.code
            );
            for (k, vars) in &source {
                assert_eq!(
                    keys.get(k),
                    Some(vars),
                    "{}: {k} differs in variables",
                    l.code
                );
            }
        }
    }

    #[test]
    fn lookups_fall_back_to_the_source_and_then_the_key() {
        let c = catalog();
        let en = c.find("en").unwrap();
        assert_eq!(c.find("zh"), Some(0));
        assert_eq!(c.find("ZH-cn"), Some(0));
        assert_eq!(c.get(en, "language-name"), "English");
        assert_eq!(c.get(0, "language-name"), "中文");
        assert_eq!(c.get(99, "language-name"), "中文");
        assert_eq!(c.get(en, "no-such-key"), "no-such-key");
        assert_eq!(c.locales()[en].name(), "English");
    }
}
