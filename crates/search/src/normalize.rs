//! Character normalisation shared by indexing, querying and highlighting.
//!
//! The mapping is one character to one character, so a position in the normalised
//! text is the same position in the original (the highlighter relies on this).

/// Full-width ASCII variants (U+FF01–U+FF5E) and the ideographic space become their
/// half-width forms; letters are lowercased when the lowercase is a single character.
pub fn normalize_char(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if is_cjk(c) {
        return c;
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// [`normalize_char`] over a whole string.
pub fn normalize(text: &str) -> String {
    text.chars().map(normalize_char).collect()
}

/// Characters that are indexed as overlapping bigrams: Han ideographs (with the
/// extensions and compatibility block), kana and Hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'      // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}'    // extension A
        | '\u{4E00}'..='\u{9FFF}'    // unified ideographs
        | '\u{AC00}'..='\u{D7AF}'    // hangul syllables
        | '\u{F900}'..='\u{FAFF}'    // compatibility ideographs
        | '\u{20000}'..='\u{3134F}'  // extensions B–G
    )
}

/// A character that belongs to a searchable term: CJK or any other letter or digit.
pub fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_case() {
        assert_eq!(normalize("ＡＢｃ１２３　Ｘ"), "abc123 x");
        assert_eq!(normalize("噪音ＷＩＦＩ"), "噪音wifi");
        assert_eq!(normalize("（）"), "()");
    }

    #[test]
    fn one_char_for_one_char() {
        let s = "İstanbul ＡＢ 扰民";
        assert_eq!(s.chars().count(), normalize(s).chars().count());
    }

    #[test]
    fn cjk_classes() {
        assert!(is_cjk('扰'));
        assert!(!is_cjk('a'));
        assert!(!is_cjk('，'));
        assert!(is_term_char('扰') && is_term_char('7') && !is_term_char('，'));
    }
}
