//! Form fields and the errors shown next to them, in plain words.

use crate::html::{esc, Lang};
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

    /// The message under a field, if any.
    pub fn at(&self, field: &str) -> String {
        match self.0.get(field) {
            Some(m) => format!(
                r#"<p class="field-error" role="alert" data-field="{}">{}</p>"#,
                esc(field),
                esc(m)
            ),
            None => String::new(),
        }
    }

    /// The errors of fields the form does not show, at its top.
    pub fn rest(&self, shown: &[&str]) -> String {
        self.0
            .iter()
            .filter(|(k, _)| !shown.contains(&k.as_str()))
            .map(|(k, m)| {
                format!(
                    r#"<p class="field-error" role="alert" data-field="{}">{}</p>"#,
                    esc(k),
                    esc(m)
                )
            })
            .collect()
    }

    /// `aria-invalid` attribute for a field with an error.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.0.contains_key(field) {
            r#" aria-invalid="true""#
        } else {
            ""
        }
    }
}

/// One table row of plain texts, each escaped.
pub fn table_row(cells: &[&str]) -> String {
    let mut s = String::from("<tr>");
    for c in cells {
        s.push_str("<td>");
        s.push_str(&crate::html::esc(c));
        s.push_str("</td>");
    }
    s.push_str("</tr>");
    s
}

/// A table with a header of plain texts and rows already built (by [`table_row`]).
pub fn table(id: &str, heads: &[&str], rows: &str) -> String {
    let mut s = format!(
        r#"<div class="table-scroll"><table id="{}"><thead><tr>"#,
        crate::html::esc(id)
    );
    for h in heads {
        s.push_str("<th>");
        s.push_str(&crate::html::esc(h));
        s.push_str("</th>");
    }
    s.push_str("</tr></thead><tbody>");
    s.push_str(rows);
    s.push_str("</tbody></table></div>");
    s
}

/// A link with a plain text.
pub fn link(href: &str, id: &str, text: &str) -> String {
    format!(
        r#"<p><a href="{}" id="{}">{}</a></p>"#,
        crate::html::esc(href),
        crate::html::esc(id),
        crate::html::esc(text)
    )
}

/// A paragraph of plain text.
pub fn paragraph(id: &str, text: &str) -> String {
    format!(
        r#"<p id="{}">{}</p>"#,
        crate::html::esc(id),
        crate::html::esc(text)
    )
}

/// A card with a heading of plain text around HTML already built.
pub fn section(id: &str, heading: &str, inner: &str) -> String {
    format!(
        r#"<section class="card" id="{}"><h1>{}</h1>{inner}</section>"#,
        crate::html::esc(id),
        crate::html::esc(heading)
    )
}

/// A short text with an explanation on hover or long press (`title`).
pub fn hint_span(class: &str, text: &str, explanation: &str) -> String {
    format!(
        r#"<span class="{class}" title="{t}">{text}</span>"#,
        class = crate::html::esc(class),
        t = crate::html::esc(explanation),
        text = crate::html::esc(text),
    )
}

/// A labelled one-line text input: its typed value kept, marked invalid and
/// followed by its error when it has one. `list` names a `<datalist>`.
pub fn text_input(
    (id, name): (&str, &str),
    label: &str,
    max: usize,
    list: Option<&str>,
    (f, errs): (&Fields, &Errors),
) -> String {
    format!(
        r#"<label for="{id}">{label}</label><input type="text" id="{id}" name="{name}" maxlength="{max}"{list} value="{value}"{inv}>{err}"#,
        label = crate::html::esc(label),
        list = list.map(|l| format!(r#" list="{l}""#)).unwrap_or_default(),
        value = crate::html::esc(&f.value(name)),
        inv = errs.invalid(name),
        err = errs.at(name),
    )
}

/// A field error in plain words (without the technical field name).
pub fn field_message(lang: Lang, e: &FieldError) -> String {
    match (lang, e.kind) {
        (Lang::Zh, FieldErrorKind::Missing | FieldErrorKind::Empty) => "请填写此项".into(),
        (Lang::En, FieldErrorKind::Missing | FieldErrorKind::Empty) => "Please fill this in".into(),
        (Lang::Zh, FieldErrorKind::TooLong { max }) => format!("太长了，最多 {max} 个字"),
        (Lang::En, FieldErrorKind::TooLong { max }) => {
            format!("Too long: at most {max} characters")
        }
        (Lang::Zh, FieldErrorKind::InvalidPhone) => {
            "电话号码不正确：请填写 11 位手机号，或带区号的固定电话".into()
        }
        (Lang::En, FieldErrorKind::InvalidPhone) => {
            "Not a valid phone number: an 11-digit mobile or a landline with area code".into()
        }
        (Lang::Zh, FieldErrorKind::InvalidIdNumber) => {
            "身份证号码不正确：应为 18 位，请核对最后一位".into()
        }
        (Lang::En, FieldErrorKind::InvalidIdNumber) => {
            "Not a valid ID number: 18 characters; check the last one".into()
        }
        (Lang::Zh, FieldErrorKind::ControlCharacters) => "含有无法显示的字符，请重新输入".into(),
        (Lang::En, FieldErrorKind::ControlCharacters) => {
            "Contains invisible characters; please retype it".into()
        }
        (Lang::Zh, FieldErrorKind::WeakPassword) => {
            "密码至少 10 位，须包含大写字母、小写字母、数字、符号中的三类".into()
        }
        (Lang::En, FieldErrorKind::WeakPassword) => {
            "At least 10 characters, with three of upper case, lower case, digits, symbols".into()
        }
        (Lang::Zh, FieldErrorKind::InvalidChannel | FieldErrorKind::InvalidValue) => {
            "请从列表中选择，或填写正确的值".into()
        }
        (Lang::En, FieldErrorKind::InvalidChannel | FieldErrorKind::InvalidValue) => {
            "Please choose from the list or enter a valid value".into()
        }
        (Lang::Zh, FieldErrorKind::Unknown) => "不认识的字段".into(),
        (Lang::En, FieldErrorKind::Unknown) => "Unknown field".into(),
        (Lang::Zh, FieldErrorKind::InvalidEmail) => {
            "电子邮箱地址不正确，例如 zhangsan@example.cn".into()
        }
        (Lang::En, FieldErrorKind::InvalidEmail) => {
            "Not a valid e-mail address, e.g. zhangsan@example.cn".into()
        }
    }
}

/// Turns an application error into form errors: a field error goes to its
/// field (renamed by `rename` from the domain's name to the form's), the rest
/// to the form as a whole. Unexpected errors are logged.
pub fn app_errors(lang: Lang, e: &AppError, rename: &dyn Fn(&str) -> String) -> Errors {
    let mut errs = Errors::default();
    let t = |zh: &str, en: &str| lang.t(zh, en).to_string();
    match e {
        AppError::Invalid(f) => errs.add(&rename(&f.field), field_message(lang, f)),
        AppError::UnknownUnit(_) | AppError::UnitNotAPlace(_) => errs.add(
            &rename("unit"),
            t(
                "请选择所在的村（社区）或网格",
                "Please choose the village/community or grid",
            ),
        ),
        AppError::Refused(Refusal::Invalid { field, reason }) => {
            errs.add(&rename(field), refusal_message(lang, field, reason))
        }
        AppError::Refused(Refusal::WrongState { .. }) => errs.add(
            "",
            t(
                "这件诉求当前的状态不能进行此操作（可能已有人处理，请刷新页面查看）",
                "This cannot be done in the case's current state (someone may have acted on it; reload the page)",
            ),
        ),
        AppError::Refused(Refusal::NotYourCase { .. }) | AppError::Forbidden => errs.add(
            "",
            t(
                "您的单位或岗位不能进行此操作",
                "Your unit or role may not do this",
            ),
        ),
        AppError::Refused(Refusal::MergeIntoItself) => errs.add(
            &rename("into"),
            t(
                "不能合并到这件诉求本身，请选择另一件诉求作为主件",
                "A case cannot be merged into itself; choose another case as the primary",
            ),
        ),
        AppError::Refused(Refusal::MergeTargetClosed { id, merged: false }) => errs.add(
            &rename("into"),
            match lang {
                Lang::Zh => format!("诉求 #{id} 已办结，不能再并入重复件；请选择仍在办理中的诉求"),
                Lang::En => format!("Case #{id} is closed and cannot take a duplicate; choose an open case"),
            },
        ),
        AppError::Refused(Refusal::MergeTargetClosed { id, merged: true }) => errs.add(
            &rename("into"),
            match lang {
                Lang::Zh => format!("诉求 #{id} 本身已作为重复件合并到其他诉求，请合并到它的主件"),
                Lang::En => format!("Case #{id} was itself merged into another case; merge into its primary"),
            },
        ),
        AppError::Refused(Refusal::MergeTargetOutOfScope { id }) => errs.add(
            &rename("into"),
            match lang {
                Lang::Zh => format!("没有找到诉求 #{id}，或它不在您的管辖范围内"),
                Lang::En => format!("Case #{id} not found, or outside your part of the district"),
            },
        ),
        AppError::Conflict { .. } => errs.add(
            "",
            t(
                "这件诉求刚被他人更新，请查看最新情况后再提交",
                "Someone updated this case meanwhile; check it and submit again",
            ),
        ),
        AppError::CaseNotFound => errs.add(
            "",
            t("没有找到这件诉求（或您无权查看）", "Case not found (or not visible to you)"),
        ),
        AppError::TrackCheckFailed => errs.add(
            "phone_last4",
            t(
                "查询码或手机号后四位不对，请核对后再试",
                "The tracking code or the last four digits of the phone do not match",
            ),
        ),
        AppError::ResidentRouteForStaff => errs.add(
            "",
            t(
                "工作人员不能以群众身份评价或更改告知方式；回访评价请在诉求页面记录",
                "Staff may not rate or change the contact as the resident; record a revisit rating on the case page",
            ),
        ),
        AppError::RateLimited => errs.add(
            "",
            t(
                "提交太频繁，请稍后再试，或拨打 12345 热线",
                "Too many submissions; please try later or call 12345",
            ),
        ),
        AppError::ChannelNeedsStaff(_) | AppError::ProxyNeedsGridWorker => errs.add(
            &rename("channel"),
            t(
                "代办渠道仅限网格员使用，请选择其他渠道",
                "The proxy channel is for grid workers; choose another channel",
            ),
        ),
        AppError::NoOversightUnit => errs.add(
            &rename("accused.unit"),
            t(
                "控告对象包括本区县，但未配置受理的上级纪检监察机关，请联系系统管理员",
                "The accusation names the whole district and no higher oversight organ is configured; ask the administrator",
            ),
        ),
        AppError::UnknownAccusedUnit(_) => errs.add(
            &rename("accused.unit"),
            t("请从列表中选择被反映的单位", "Choose the accused unit from the list"),
        ),
        AppError::PhotoType => errs.add(
            "photos",
            t(
                "照片须为 JPEG、PNG 或 WebP 格式的图片",
                "Photos must be JPEG, PNG or WebP images",
            ),
        ),
        AppError::PhotoMalformed(_) => errs.add(
            "photos",
            t(
                "照片文件已损坏或不完整，请重新拍摄或选择其他照片",
                "A photo file is damaged or incomplete; take it again or choose another photo",
            ),
        ),
        AppError::PhotoTooLarge(max) => errs.add(
            "photos",
            match lang {
                Lang::Zh => format!("每张照片不能超过 {} MB", max / (1024 * 1024)),
                Lang::En => format!("Each photo may be at most {} MB", max / (1024 * 1024)),
            },
        ),
        AppError::TooManyPhotos(max) => errs.add(
            "photos",
            match lang {
                Lang::Zh => format!("最多附 {max} 张照片"),
                Lang::En => format!("At most {max} photos"),
            },
        ),
        AppError::PhotosTooLarge(max) => errs.add(
            "photos",
            match lang {
                Lang::Zh => format!("照片合计不能超过 {} MB", max / (1024 * 1024)),
                Lang::En => format!("The photos may take at most {} MB together", max / (1024 * 1024)),
            },
        ),
        AppError::BadRules(p) => errs.add(
            &rename(&p.field),
            match lang {
                Lang::Zh => p.zh.clone(),
                Lang::En => p.en.clone(),
            },
        ),
        AppError::LoginTaken(l) => errs.add(
            "login",
            match lang {
                Lang::Zh => format!("账号「{l}」已存在"),
                Lang::En => format!("The login '{l}' is taken"),
            },
        ),
        AppError::RoleNotForUnit(role, level) => errs.add(
            "unit",
            match lang {
                Lang::Zh => format!("「{}」不能属于{}级单位", role.zh(), level.zh()),
                Lang::En => format!("A {} cannot belong to a unit of level {}", role.as_str(), level.as_str()),
            },
        ),
        AppError::UnitExists(c) => errs.add(
            &rename("code"),
            match lang {
                Lang::Zh => format!("单位编码「{c}」已被使用"),
                Lang::En => format!("The unit code '{c}' is taken"),
            },
        ),
        AppError::UnknownParentUnit(c) => errs.add(
            &rename("parent"),
            match lang {
                Lang::Zh => format!("没有编码为「{c}」的上级单位，请从列表中选择"),
                Lang::En => format!("There is no parent unit '{c}'; choose one from the list"),
            },
        ),
        AppError::UnitNesting {
            level,
            parent_level,
        } => errs.add(
            &rename("parent"),
            match lang {
                Lang::Zh => format!(
                    "{}不能设在{}之下（区县下设乡镇街道和职能部门，乡镇街道下设村社区，村社区下设网格，网格下设屋场）",
                    level.zh(),
                    parent_level.zh()
                ),
                Lang::En => format!(
                    "A {} cannot sit under a {} (district > street or department; street > community > grid > hamlet)",
                    level.as_str(),
                    parent_level.as_str()
                ),
            },
        ),
        AppError::UnitInUse(what) => errs.add(
            &rename("code"),
            match (lang, *what) {
                (Lang::Zh, "units") => "不能删除：该单位下还有下级单位".to_string(),
                (Lang::Zh, "users") => "不能删除：该单位还有工作人员或挂点领导".to_string(),
                (Lang::Zh, "cases") => "不能删除：已有诉求件经过该单位（可改名）".to_string(),
                (Lang::Zh, _) => "不能删除：分派记录中已有该单位（可改名）".to_string(),
                (Lang::En, "units") => "Cannot remove: it still has sub-units".to_string(),
                (Lang::En, "users") => "Cannot remove: staff or linked leaders belong to it".to_string(),
                (Lang::En, "cases") => "Cannot remove: cases have passed through it (rename it instead)".to_string(),
                (Lang::En, _) => "Cannot remove: routing decisions chose it (rename it instead)".to_string(),
            },
        ),
        AppError::UnknownUser(l) => errs.add(
            "",
            match lang {
                Lang::Zh => format!("没有账号「{l}」"),
                Lang::En => format!("There is no user '{l}'"),
            },
        ),
        AppError::BadCredentials => errs.add(
            "password",
            t("账号或密码错误", "Wrong login or password"),
        ),
        AppError::TooManyAttempts => errs.add(
            "password",
            t(
                "密码错误次数过多，请 15 分钟后再试",
                "Too many failed attempts; try again in 15 minutes",
            ),
        ),
        other => {
            tracing::error!(error = %other, "page action failed");
            errs.add(
                "",
                t(
                    "系统暂时无法处理，内容尚未保存，请稍后重试",
                    "The system could not process this; nothing was saved, please retry later",
                ),
            )
        }
    }
    errs
}

/// The workflow's refusal of one field's value, in plain words.
fn refusal_message(lang: Lang, field: &str, reason: &str) -> String {
    let (zh, en) = match (field, reason) {
        ("days", _) => (
            "天数须在 1 到 365 个工作日之间",
            "Between 1 and 365 working days",
        ),
        ("category", _) => ("请从列表中选择类别", "Choose a category from the list"),
        ("lead", r) if r.contains("accus") => (
            "检举控告不能派给被反映的单位",
            "An accusation is never sent to the accused unit",
        ),
        ("cooperating", r) if r.contains("lead") => (
            "牵头单位不能同时是协办单位",
            "The lead unit cannot also cooperate",
        ),
        ("lead" | "cooperating", _) => ("请选择区直职能部门", "Choose a district department"),
        ("unit", _) => ("请从列表中选择单位", "Choose a unit from the list"),
        (_, r) if r.contains("too long") => ("内容太长了", "Too long"),
        (_, r) if r.contains("empty") || r.contains("missing") => {
            ("请填写此项", "Please fill this in")
        }
        _ => ("填写的内容不符合要求", "This value is not accepted"),
    };
    lang.t(zh, en).to_string()
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
        assert!(errs
            .at("reporter_phone")
            .contains(r#"data-field="reporter_phone""#));
        assert_eq!(errs.at("title"), "");
    }
}
