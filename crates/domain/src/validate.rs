//! Parse, don't validate: newtypes for the personal data a case carries.
//!
//! Each parser returns a [`FieldError`] naming the field and a stable code; the
//! web crate turns it into a problem document with Chinese and English text.

use std::fmt;

/// Why one field of an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON-pointer-like path of the field, e.g. `reporter.phone`.
    pub field: String,
    pub kind: FieldErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Missing,
    Empty,
    TooLong {
        max: usize,
    },
    InvalidPhone,
    InvalidIdNumber,
    InvalidChannel,
    ControlCharacters,
    /// A value of the wrong type or outside its allowed set.
    InvalidValue,
    /// A password that does not meet the policy.
    WeakPassword,
    InvalidEmail,
    /// A field the request does not know (a typo must never silently drop
    /// what it meant, e.g. an accusation's protection).
    Unknown,
}

impl FieldErrorKind {
    /// Stable snake_case code, part of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            FieldErrorKind::Missing => "field_missing",
            FieldErrorKind::Empty => "field_empty",
            FieldErrorKind::TooLong { .. } => "field_too_long",
            FieldErrorKind::InvalidPhone => "invalid_phone",
            FieldErrorKind::InvalidIdNumber => "invalid_id_number",
            FieldErrorKind::InvalidChannel => "invalid_channel",
            FieldErrorKind::ControlCharacters => "field_control_characters",
            FieldErrorKind::InvalidValue => "invalid_value",
            FieldErrorKind::WeakPassword => "weak_password",
            FieldErrorKind::InvalidEmail => "invalid_email",
            FieldErrorKind::Unknown => "unknown_field",
        }
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: FieldErrorKind) -> Self {
        FieldError {
            field: field.into(),
            kind,
        }
    }

    pub fn message_zh(&self) -> String {
        let f = &self.field;
        match self.kind {
            FieldErrorKind::Missing => format!("缺少必填项「{f}」"),
            FieldErrorKind::Empty => format!("「{f}」不能为空"),
            FieldErrorKind::TooLong { max } => format!("「{f}」过长，最多 {max} 个字"),
            FieldErrorKind::InvalidPhone => {
                format!("「{f}」不是有效的电话号码（手机号 11 位，或带区号的固话）")
            }
            FieldErrorKind::InvalidIdNumber => {
                format!("「{f}」不是有效的居民身份证号码（18 位，末位校验码须正确）")
            }
            FieldErrorKind::InvalidChannel => format!("「{f}」不是已知的受理渠道"),
            FieldErrorKind::ControlCharacters => format!("「{f}」含有不可见的控制字符"),
            FieldErrorKind::InvalidValue => format!("「{f}」的取值不正确"),
            FieldErrorKind::InvalidEmail => format!("「{f}」不是有效的电子邮箱地址"),
            FieldErrorKind::Unknown => {
                format!("不认识的字段「{f}」（是否拼写有误？），请求未被处理")
            }
            FieldErrorKind::WeakPassword => {
                "密码至少 10 位，须包含大写字母、小写字母、数字、符号中的三类，且不能包含账号"
                    .to_string()
            }
        }
    }

    pub fn message_en(&self) -> String {
        let f = &self.field;
        match self.kind {
            FieldErrorKind::Missing => format!("required field '{f}' is missing"),
            FieldErrorKind::Empty => format!("field '{f}' must not be empty"),
            FieldErrorKind::TooLong { max } => {
                format!("field '{f}' is too long (at most {max} characters)")
            }
            FieldErrorKind::InvalidPhone => format!(
                "field '{f}' is not a valid phone number (11-digit mobile, or landline with area code)"
            ),
            FieldErrorKind::InvalidIdNumber => format!(
                "field '{f}' is not a valid resident ID number (18 characters with a correct GB 11643 check digit)"
            ),
            FieldErrorKind::InvalidChannel => format!("field '{f}' is not a known intake channel"),
            FieldErrorKind::ControlCharacters => {
                format!("field '{f}' contains control characters")
            }
            FieldErrorKind::InvalidValue => format!("field '{f}' has an invalid value"),
            FieldErrorKind::InvalidEmail => format!("field '{f}' is not a valid e-mail address"),
            FieldErrorKind::Unknown => {
                format!("unknown field '{f}' (a typo?); the request was not processed")
            }
            FieldErrorKind::WeakPassword => "the password needs at least 10 characters, three of upper case, lower case, digits and symbols, and must not contain the login".to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for FieldError {}

/// Trimmed, non-empty text of bounded length (counted in characters, not bytes),
/// without control characters other than newline and tab.
pub fn bounded_text(
    field: &str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, FieldErrorKind::Empty));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(field, FieldErrorKind::TooLong { max }));
    }
    let bad = trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad {
        return Err(FieldError::new(field, FieldErrorKind::ControlCharacters));
    }
    Ok(trimmed.to_string())
}

/// A mainland China phone number: an 11-digit mobile number (1[3-9]…), or a
/// landline with its area code (0 + 2–3 digits, then 7–8 digits), optionally with
/// a hyphen; a leading +86 / 86 is accepted for mobiles. Stored as digits (and the
/// one hyphen of a landline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let err = || FieldError::new(field, FieldErrorKind::InvalidPhone);
        let s: String = raw.trim().chars().filter(|c| *c != ' ').collect();
        if s.is_empty() {
            return Err(FieldError::new(field, FieldErrorKind::Empty));
        }
        let s = s
            .strip_prefix("+86")
            .or_else(|| s.strip_prefix("0086"))
            .unwrap_or(&s)
            .to_string();
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let b = s.as_bytes();
        if b.len() == 11 && all_digits(&s) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Ok(PhoneNumber(s));
        }
        if b.len() == 13 && s.starts_with("86") && all_digits(&s) && b[2] == b'1' {
            return PhoneNumber::parse(field, &s[2..]);
        }
        // landline: 0AA(A)-NNNNNNN(N) or without hyphen
        let (area, number) = match s.split_once('-') {
            Some((a, n)) => (a.to_string(), n.to_string()),
            None if s.starts_with('0') && all_digits(&s) && (10..=12).contains(&s.len()) => {
                // 3-digit area codes start with 01x/02x (010, 020–029), else 4 digits
                let alen = if s.starts_with("01") || s.starts_with("02") {
                    3
                } else {
                    4
                };
                (s[..alen].to_string(), s[alen..].to_string())
            }
            None => return Err(err()),
        };
        if all_digits(&area)
            && all_digits(&number)
            && area.starts_with('0')
            && (3..=4).contains(&area.len())
            && (7..=8).contains(&number.len())
            && !number.starts_with('0')
        {
            return Ok(PhoneNumber(format!("{area}-{number}")));
        }
        Err(err())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****1234` for mobiles; landlines keep the area code and last 4 digits.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks a stored phone number (see [`PhoneNumber::masked`]).
pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    if let Some((area, number)) = s.split_once('-') {
        let n: Vec<char> = number.chars().collect();
        let keep: String = n[n.len().saturating_sub(4)..].iter().collect();
        return format!("{area}-{}{keep}", "*".repeat(n.len().saturating_sub(4)));
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// An 18-character resident identity number (GB 11643-1999): 17 digits and a
/// check character (0–9 or X) computed with ISO 7064 MOD 11-2; the birth date
/// must be a real date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [u8; 11] = *b"10X98765432";

impl IdNumber {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let err = || FieldError::new(field, FieldErrorKind::InvalidIdNumber);
        let s = raw.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::new(field, FieldErrorKind::Empty));
        }
        let b = s.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        if ID_CHECK[(sum % 11) as usize] != b[17] {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        let (y, m, d) = (num(6..10), num(10..12), num(12..14));
        if !(1900..=2100).contains(&y) || !valid_date(y, m, d) {
            return Err(err());
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 6 and last 4 characters: `430702********123X`.
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

pub fn mask_id_number(s: &str) -> String {
    if s.len() < 10 || !s.is_ascii() {
        return "*".repeat(s.chars().count());
    }
    format!(
        "{}{}{}",
        &s[..6],
        "*".repeat(s.len() - 10),
        &s[s.len() - 4..]
    )
}

/// An e-mail address as people type it: one `@`, a local part and a domain
/// with a dot, no spaces or control characters, at most 254 characters.
/// Returned trimmed, with the domain in lower case.
pub fn parse_email(field: &str, raw: &str) -> Result<String, FieldError> {
    let err = || FieldError::new(field, FieldErrorKind::InvalidEmail);
    let s = raw.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, FieldErrorKind::Empty));
    }
    if s.chars().count() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err());
    }
    let (local, domain) = s.split_once('@').ok_or_else(err)?;
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !labels_ok
        || !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        || local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\\'])
    {
        return Err(err());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// An e-mail address shows the local part's first character and the domain:
/// `z***@example.cn`.
pub fn mask_email(s: &str) -> String {
    match s.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "*".repeat(s.chars().count()),
    }
}

/// A name shows only its first character: `张**`.
pub fn mask_name(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_with_check(first17: &str) -> String {
        let sum: u32 = first17
            .bytes()
            .zip(ID_WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        format!("{first17}{}", ID_CHECK[(sum % 11) as usize] as char)
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(
            PhoneNumber::parse("p", "13812341234").unwrap().as_str(),
            "13812341234"
        );
        assert_eq!(
            PhoneNumber::parse("p", "+86 138 1234 1234")
                .unwrap()
                .as_str(),
            "13812341234"
        );
        assert_eq!(
            PhoneNumber::parse("p", "0736-7221234").unwrap().as_str(),
            "0736-7221234"
        );
        assert_eq!(
            PhoneNumber::parse("p", "01088886666").unwrap().as_str(),
            "010-88886666"
        );
        for bad in [
            "1381234123",
            "12812341234",
            "abc",
            "138123412345",
            "0736-0221234",
            "12345",
        ] {
            let e = PhoneNumber::parse("p", bad).unwrap_err();
            assert_eq!(e.kind, FieldErrorKind::InvalidPhone, "{bad}");
        }
        assert_eq!(
            PhoneNumber::parse("p", " ").unwrap_err().kind,
            FieldErrorKind::Empty
        );
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("0736-7221234"), "0736-***1234");
        assert_eq!(mask_id_number("43070219900307123X"), "430702********123X");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李*");
    }

    #[test]
    fn id_numbers_check_digit() {
        // the example number from GB 11643's annex
        assert!(IdNumber::parse("id", "11010519491231002X").is_ok());
        assert!(IdNumber::parse("id", "11010519491231002x").is_ok());
        assert!(IdNumber::parse("id", "110105194912310021").is_err());
        let good = id_with_check("43070219900307123");
        assert!(IdNumber::parse("id", &good).is_ok());
        // wrong birth date, right check digit
        let bad_date = id_with_check("43070219900231123");
        assert_eq!(
            IdNumber::parse("id", &bad_date).unwrap_err().kind,
            FieldErrorKind::InvalidIdNumber
        );
        assert!(IdNumber::parse("id", "4307021990030712").is_err());
    }

    #[test]
    fn bounded() {
        assert_eq!(
            bounded_text("t", "  路灯坏了 ", 10, false).unwrap(),
            "路灯坏了"
        );
        assert_eq!(
            bounded_text("t", "一二三四五六", 5, false)
                .unwrap_err()
                .kind,
            FieldErrorKind::TooLong { max: 5 }
        );
        assert_eq!(
            bounded_text("t", "a\u{0}b", 5, true).unwrap_err().kind,
            FieldErrorKind::ControlCharacters
        );
        assert!(bounded_text("t", "a\nb", 5, true).is_ok());
        assert!(bounded_text("t", "a\nb", 5, false).is_err());
    }
}
