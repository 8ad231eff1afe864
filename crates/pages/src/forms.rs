//! Form fields and the errors shown next to them, in plain words.

use crate::html::Lang;
use std::collections::BTreeMap;
use suqiu_app::AppError;
use suqiu_domain::workflow::Refusal;
use suqiu_domain::{FieldError, FieldErrorKind};

/// The fields of a urlencoded form (a name may repeat: checkboxes).
#[derive(Debug, Default, Clone)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn parse(bytes: &[u8]) -> Fields {
        Fields(serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default())
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    pub fn value(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_string()
    }
}

/// A file sent with a multipart form: the field's name and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type.
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    parts
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A parameter of a `Content-Disposition` header (`name="…"`).
fn disposition_param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Parses a `multipart/form-data` body (RFC 7578): text fields and files.
/// A file input left empty (no file name, no bytes) is skipped. `None` when
/// the body is not well formed.
pub fn parse_multipart(body: &[u8], boundary: &str) -> Option<(Fields, Vec<File>)> {
    let delim = format!("--{boundary}");
    let next_delim = format!("\r\n--{boundary}");
    let mut at = find(body, delim.as_bytes(), 0)? + delim.len();
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    loop {
        if body.get(at..at + 2)? == b"--" {
            return Some((Fields(fields), files));
        }
        if body.get(at..at + 2)? != b"\r\n" {
            return None;
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(&body[head_start..head_end]).ok()?;
        let content_start = head_end + 4;
        let content_end = find(body, next_delim.as_bytes(), content_start)?;
        let content = &body[content_start..content_end];
        let disposition = head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v.trim())
        })?;
        let name = disposition_param(disposition, "name")?;
        match disposition_param(disposition, "filename") {
            Some(filename) => {
                if !(filename.is_empty() && content.is_empty()) {
                    files.push(File {
                        name,
                        data: content.to_vec(),
                    });
                }
            }
            None => fields.push((name, std::str::from_utf8(content).ok()?.to_string())),
        }
        at = content_end + next_delim.len();
    }
}

/// Errors of one form: field name → message; `""` for the form as a whole.
#[derive(Debug, Default, Clone)]
pub struct Errors(pub BTreeMap<String, String>);

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| msg.into());
    }
}

/// A field error in plain words (without the technical field name).
pub fn field_message(lang: Lang, e: &FieldError) -> String {
    let key = match e.kind {
        FieldErrorKind::Missing | FieldErrorKind::Empty => "field-missing",
        FieldErrorKind::TooLong { max } => return tf!(lang, "field-too-long", max = max),
        FieldErrorKind::InvalidPhone => "field-invalid-phone",
        FieldErrorKind::InvalidIdNumber => "field-invalid-id-number",
        FieldErrorKind::ControlCharacters => "field-control-characters",
        FieldErrorKind::WeakPassword => "field-weak-password",
        FieldErrorKind::InvalidChannel | FieldErrorKind::InvalidValue => "field-invalid-value",
        FieldErrorKind::Unknown => "field-unknown",
        FieldErrorKind::InvalidEmail => "field-invalid-email",
    };
    lang.tr(key).to_string()
}

/// Turns an application error into form errors: a field error goes to its
/// field (renamed by `rename` from the domain's name to the form's), the rest
/// to the form as a whole. Unexpected errors are logged.
pub fn app_errors(lang: Lang, e: &AppError, rename: &dyn Fn(&str) -> String) -> Errors {
    let mut errs = Errors::default();
    let t = |key: &str| lang.tr(key).to_string();
    match e {
        AppError::Invalid(f) => errs.add(&rename(&f.field), field_message(lang, f)),
        AppError::UnknownUnit(_) | AppError::UnitNotAPlace(_) => {
            errs.add(&rename("unit"), t("please-choose-the-village-community-or"))
        }
        AppError::Refused(Refusal::Invalid { field, reason }) => {
            errs.add(&rename(field), refusal_message(lang, field, reason))
        }
        AppError::Refused(Refusal::WrongState { .. }) => {
            errs.add("", t("this-cannot-be-done-in-the"))
        }
        AppError::Refused(Refusal::NotYourCase { .. }) | AppError::Forbidden => {
            errs.add("", t("your-unit-or-role-may-not"))
        }
        AppError::Refused(Refusal::MergeIntoItself) => {
            errs.add(&rename("into"), t("a-case-cannot-be-merged-into"))
        }
        AppError::Refused(Refusal::MergeTargetClosed { id, merged: false }) => errs.add(
            &rename("into"),
            tf!(lang, "case-is-closed-and-cannot-take", id = id),
        ),
        AppError::Refused(Refusal::MergeTargetClosed { id, merged: true }) => errs.add(
            &rename("into"),
            tf!(lang, "case-was-itself-merged-into-another", id = id),
        ),
        AppError::Refused(Refusal::MergeTargetOutOfScope { id }) => errs.add(
            &rename("into"),
            tf!(lang, "case-not-found-or-outside-your", id = id),
        ),
        AppError::Conflict { .. } => errs.add("", t("someone-updated-this-case-meanwhile-check")),
        AppError::CaseNotFound => errs.add("", t("case-not-found-or-not-visible")),
        AppError::TrackCheckFailed => errs.add("phone_last4", t("the-tracking-code-or-the-last")),
        AppError::ResidentRouteForStaff => errs.add("", t("staff-may-not-rate-or-change")),
        AppError::RateLimited => errs.add("", t("too-many-submissions-please-try-later")),
        AppError::ChannelNeedsStaff(_) | AppError::ProxyNeedsGridWorker => {
            errs.add(&rename("channel"), t("the-proxy-channel-is-for-grid"))
        }
        AppError::NoOversightUnit => errs.add(
            &rename("accused.unit"),
            t("the-accusation-names-the-whole-district"),
        ),
        AppError::UnknownAccusedUnit(_) => errs.add(
            &rename("accused.unit"),
            t("choose-the-accused-unit-from-the"),
        ),
        AppError::PhotoType => errs.add("photos", t("photos-must-be-jpeg-png-or")),
        AppError::PhotoMalformed(_) => errs.add("photos", t("a-photo-file-is-damaged-or")),
        AppError::PhotoTooLarge(max) => errs.add(
            "photos",
            tf!(lang, "each-photo-may-be-at-most", max = max / (1024 * 1024)),
        ),
        AppError::TooManyPhotos(max) => errs.add("photos", tf!(lang, "at-most-photos", max = max)),
        AppError::PhotosTooLarge(max) => errs.add(
            "photos",
            tf!(
                lang,
                "the-photos-may-take-at-most",
                max = max / (1024 * 1024)
            ),
        ),
        AppError::BadRules(p) => errs.add(&rename(&p.field), lang.t(&p.zh, &p.en).to_string()),
        AppError::LoginTaken(l) => errs.add("login", tf!(lang, "the-login-is-taken", l = l)),
        AppError::RoleNotForUnit(role, level) => errs.add(
            "unit",
            tf!(
                lang,
                "a-cannot-belong-to-a-unit",
                role = crate::words::role(lang, *role),
                level = crate::words::level(lang, *level)
            ),
        ),
        AppError::UnitExists(c) => {
            errs.add(&rename("code"), tf!(lang, "the-unit-code-is-taken", c = c))
        }
        AppError::UnknownParentUnit(c) => errs.add(
            &rename("parent"),
            tf!(lang, "there-is-no-parent-unit-choose", c = c),
        ),
        AppError::UnitNesting {
            level,
            parent_level,
        } => errs.add(
            &rename("parent"),
            tf!(
                lang,
                "a-cannot-sit-under-a-district",
                level = crate::words::level(lang, *level),
                parent = crate::words::level(lang, *parent_level)
            ),
        ),
        AppError::UnitInUse(what) => errs.add(
            &rename("code"),
            lang.tr(match *what {
                "units" => "cannot-remove-sub-units",
                "users" => "cannot-remove-staff",
                "cases" => "cannot-remove-cases",
                _ => "cannot-remove-routing",
            })
            .to_string(),
        ),
        AppError::UnknownUser(l) => errs.add("", tf!(lang, "there-is-no-user", l = l)),
        AppError::BadCredentials => errs.add("password", t("wrong-login-or-password")),
        AppError::TooManyAttempts => errs.add("password", t("too-many-failed-attempts-try-again")),
        other => {
            tracing::error!(error = %other, "page action failed");
            errs.add("", t("the-system-could-not-process-this"))
        }
    }
    errs
}

/// The workflow's refusal of one field's value, in plain words.
fn refusal_message(lang: Lang, field: &str, reason: &str) -> String {
    let key = match (field, reason) {
        ("days", _) => "between-1-and-365-working-days",
        ("category", _) => "choose-a-category-from-the-list",
        ("lead", r) if r.contains("accus") => "an-accusation-is-never-sent-to",
        ("cooperating", r) if r.contains("lead") => "the-lead-unit-cannot-also-cooperate",
        ("lead" | "cooperating", _) => "choose-a-district-department",
        ("unit", _) => "choose-a-unit-from-the-list",
        (_, r) if r.contains("too long") => "too-long",
        (_, r) if r.contains("empty") || r.contains("missing") => "please-fill-this-in",
        _ => "this-value-is-not-accepted",
    };
    lang.tr(key).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n\xe8\xb7\xaf\xe7\x81\xaf\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
        assert_eq!(
            multipart_boundary("application/x-www-form-urlencoded"),
            None
        );
        let (fields, files) = parse_multipart(body, "XyZ").unwrap();
        assert_eq!(fields.get("title"), Some("路灯"));
        assert_eq!(files.len(), 1, "the empty file input is skipped");
        assert_eq!(files[0].name, "photos");
        assert_eq!(files[0].data, b"\x89PNG");
        assert!(parse_multipart(b"--XyZ\r\nbroken", "XyZ").is_none());
        assert!(parse_multipart(body, "Other").is_none());
    }

    #[test]
    fn refusals_read_as_plain_words() {
        let e = AppError::Refused(Refusal::Invalid {
            field: "cooperating",
            reason: "the lead unit cannot also cooperate".into(),
        });
        let errs = app_errors(Lang::Zh, &e, &|f| f.to_string());
        assert_eq!(errs.0["cooperating"], "牵头单位不能同时是协办单位");
        let e = AppError::Invalid(FieldError::new(
            "reporter.phone",
            FieldErrorKind::InvalidPhone,
        ));
        let errs = app_errors(Lang::Zh, &e, &|f| f.replace('.', "_"));
        assert!(errs.0["reporter_phone"].starts_with("电话号码不正确"));
        assert!(crate::ui::error_at(&errs, "reporter_phone")
            .into_string()
            .contains(r#"data-field="reporter_phone""#));
        assert_eq!(crate::ui::error_at(&errs, "title").into_string(), "");
    }
}
