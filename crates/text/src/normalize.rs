//! Text basics applied before any feature is computed.
//!
//! [`normalize`] runs the whole pipeline:
//!
//! 1. full-width forms (U+FF01–U+FF5E) and the ideographic space (U+3000) become their
//!    half-width / ASCII equivalents ([`to_half_width`]);
//! 2. Latin letters are lower-cased;
//! 3. personal identifiers are masked ([`mask_identifiers`]): mobile numbers
//!    (`1[3-9]` + 9 digits, optionally `+86`/`86`-prefixed or written `3-4-4`), landlines
//!    (`0` + area code + number, with or without `-`, or `(0731)` style) become
//!    [`PHONE_TOKEN`], and 18-character resident ID numbers (17 digits + digit or `x`)
//!    become [`ID_TOKEN`];
//! 4. runs of whitespace (including newlines) collapse to one ASCII space and the ends
//!    are trimmed ([`collapse_whitespace`]).

/// Placeholder that replaces a phone number (mobile or landline).
pub const PHONE_TOKEN: &str = "<PHONE>";
/// Placeholder that replaces an 18-character resident identity card number.
pub const ID_TOKEN: &str = "<IDNO>";

/// Maps one full-width character to its half-width form; other characters are returned
/// unchanged. The ideographic space U+3000 becomes an ASCII space.
pub fn to_half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Collapses every run of whitespace into one ASCII space and trims both ends.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = true;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
    }
    out
}

/// The full normalisation pipeline (see the module documentation).
pub fn normalize(text: &str) -> String {
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        let c = to_half_width(c);
        if c.is_ascii_uppercase() {
            chars.push(c.to_ascii_lowercase());
        } else if (c as u32) < 0x0250 && c.is_uppercase() {
            // Latin-1 / Latin Extended letters (e.g. accented capitals).
            chars.extend(c.to_lowercase());
        } else {
            chars.push(c);
        }
    }
    let masked = mask_chars(&chars);
    collapse_whitespace(&masked)
}

/// Replaces phone numbers and ID numbers by [`PHONE_TOKEN`] / [`ID_TOKEN`]. The
/// placeholders are surrounded by spaces so that they form tokens of their own. Digits
/// must be ASCII: apply [`to_half_width`] first (as [`normalize`] does).
pub fn mask_identifiers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    mask_chars(&chars)
}

fn is_digit(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// Length of the run of ASCII digits starting at `i`.
fn digit_run(chars: &[char], i: usize) -> usize {
    chars[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

fn is_mobile(digits: &[char]) -> bool {
    digits.len() == 11 && digits[0] == '1' && ('3'..='9').contains(&digits[1])
}

fn push_token(out: &mut String, token: &str) {
    out.push(' ');
    out.push_str(token);
    out.push(' ');
}

/// Tries to recognise an identifier starting at `i` (which must be the first digit of a
/// digit run, or a `(` for the `(0731)12345678` landline form). Returns the token and the
/// number of characters consumed.
fn match_identifier(chars: &[char], i: usize) -> Option<(&'static str, usize)> {
    if chars[i] == '(' {
        let n = digit_run(chars, i + 1);
        if (3..=4).contains(&n) && chars[i + 1] == '0' && chars.get(i + 1 + n) == Some(&')') {
            let mut j = i + 2 + n;
            if matches!(chars.get(j), Some('-') | Some(' ')) {
                j += 1;
            }
            if j < chars.len() {
                let m = digit_run(chars, j);
                if (7..=8).contains(&m) {
                    return Some((PHONE_TOKEN, j + m - i));
                }
            }
        }
        return None;
    }
    let n = digit_run(chars, i);
    let run = &chars[i..i + n];
    // 18-character resident ID: 17 digits + digit or check letter x.
    if n == 18 {
        return Some((ID_TOKEN, n));
    }
    if n == 17 && matches!(chars.get(i + n), Some('x') | Some('X')) {
        let next = chars.get(i + n + 1);
        if !next.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Some((ID_TOKEN, n + 1));
        }
    }
    if is_mobile(run) {
        return Some((PHONE_TOKEN, n));
    }
    if n == 13 && run[0] == '8' && run[1] == '6' && is_mobile(&run[2..]) {
        return Some((PHONE_TOKEN, n));
    }
    // Landline written without separator: 0 + area code (2-3) + number (7-8).
    if run[0] == '0' && (10..=12).contains(&n) {
        return Some((PHONE_TOKEN, n));
    }
    // Grouped forms: 138-1234-5678, 138 1234 5678, 0731-84567890, 010 12345678.
    let sep = chars.get(i + n).copied();
    if matches!(sep, Some('-') | Some(' ')) && is_digit(chars.get(i + n + 1)) {
        let j = i + n + 1;
        let m = digit_run(chars, j);
        if n == 3 && m == 4 && chars.get(j + m) == sep.as_ref() && is_digit(chars.get(j + m + 1)) {
            let k = j + m + 1;
            let l = digit_run(chars, k);
            if l == 4 {
                let digits: Vec<char> = run
                    .iter()
                    .chain(&chars[j..j + m])
                    .chain(&chars[k..k + l])
                    .copied()
                    .collect();
                if is_mobile(&digits) {
                    return Some((PHONE_TOKEN, k + l - i));
                }
            }
        }
        if run[0] == '0' && (3..=4).contains(&n) && (7..=8).contains(&m) {
            return Some((PHONE_TOKEN, j + m - i));
        }
    }
    None
}

fn mask_chars(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_start = i == 0 || !chars[i - 1].is_ascii_digit();
        if at_start && (c.is_ascii_digit() || c == '(') {
            if let Some((token, len)) = match_identifier(chars, i) {
                push_token(&mut out, token);
                i += len;
                continue;
            }
            if c.is_ascii_digit() {
                // Copy the whole digit run so that its tail is not matched on its own.
                let n = digit_run(chars, i);
                out.extend(&chars[i..i + n]);
                i += n;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width() {
        assert_eq!(to_half_width('Ａ'), 'A');
        assert_eq!(to_half_width('１'), '1');
        assert_eq!(to_half_width('，'), ',');
        assert_eq!(to_half_width('\u{3000}'), ' ');
        assert_eq!(to_half_width('中'), '中');
        assert_eq!(normalize("ＡＢＣ１２３！"), "abc123!");
    }

    #[test]
    fn whitespace_and_case() {
        assert_eq!(normalize("  Hello\n\n  WORLD\t中文 "), "hello world 中文");
        assert_eq!(collapse_whitespace("a \u{3000} b"), "a b");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(normalize("电话13812345678谢谢"), "电话 <PHONE> 谢谢");
        assert_eq!(normalize("电话：１３８１２３４５６７８"), "电话: <PHONE>");
        assert_eq!(normalize("call 138-1234-5678"), "call <PHONE>");
        assert_eq!(normalize("call 138 1234 5678 now"), "call <PHONE> now");
        assert_eq!(normalize("+8613812345678"), "+ <PHONE>");
        // 12 digits starting with 1 is not a mobile number; 2nd digit 2 is not either.
        assert_eq!(normalize("138123456789"), "138123456789");
        assert_eq!(normalize("12812345678"), "12812345678");
    }

    #[test]
    fn landlines() {
        assert_eq!(normalize("拨打0731-84567890咨询"), "拨打 <PHONE> 咨询");
        assert_eq!(normalize("拨打073184567890咨询"), "拨打 <PHONE> 咨询");
        assert_eq!(normalize("（0731）84567890"), "<PHONE>");
        assert_eq!(normalize("010 12345678"), "<PHONE>");
    }

    #[test]
    fn id_numbers() {
        assert_eq!(normalize("身份证430102199001011234号"), "身份证 <IDNO> 号");
        assert_eq!(normalize("身份证43010219900101123X"), "身份证 <IDNO>");
        assert_eq!(normalize("43010219900101123x."), "<IDNO> .");
        // 19 digits: not an ID.
        assert_eq!(normalize("4301021990010112345"), "4301021990010112345");
    }

    #[test]
    fn ordinary_numbers_untouched() {
        assert_eq!(normalize("2019年8月31日前出生"), "2019年8月31日前出生");
        assert_eq!(normalize("金额3000元"), "金额3000元");
        assert_eq!(normalize("2019-01-02"), "2019-01-02");
    }
}
