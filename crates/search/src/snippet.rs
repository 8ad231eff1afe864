//! Highlighted snippets: HTML-escaped text with `<mark>…</mark>` around matches.
//!
//! Matching is done on the normalised text (so `ＷＩＦＩ` highlights `wifi`) but the
//! original characters are shown. Needles are the query terms and their jieba words;
//! at each position the longest needle wins.

use crate::normalize::normalize_char;

/// Opening tag put before a match.
pub const MARK_OPEN: &str = "<mark>";
/// Closing tag put after a match.
pub const MARK_CLOSE: &str = "</mark>";
/// Characters of context kept before the first match of a window.
const LEAD: usize = 12;

/// Returns at most `max_chars` characters of `text` (plus `…` where cut), escaped,
/// with matches of `needles` (normalised, non-empty) marked. The window is the one
/// holding the most matches; without matches it is the start of the text.
pub fn highlight(text: &str, needles: &[Vec<char>], max_chars: usize) -> String {
    let original: Vec<char> = text.chars().collect();
    let norm: Vec<char> = original.iter().map(|&c| normalize_char(c)).collect();
    let ranges = find_matches(&norm, needles);

    let (start, end) = window(original.len(), &ranges, max_chars);
    let mut out = String::with_capacity((end - start) * 3 + 16);
    if start > 0 {
        out.push('…');
    }
    let mut pos = start;
    for &(from, to) in ranges.iter().filter(|&&(f, t)| f >= start && t <= end) {
        escape_into(&original[pos..from], &mut out);
        out.push_str(MARK_OPEN);
        escape_into(&original[from..to], &mut out);
        out.push_str(MARK_CLOSE);
        pos = to;
    }
    escape_into(&original[pos..end], &mut out);
    if end < original.len() {
        out.push('…');
    }
    out
}

/// Non-overlapping match ranges (char indices, end exclusive), in order.
fn find_matches(norm: &[char], needles: &[Vec<char>]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < norm.len() {
        let best = needles
            .iter()
            .filter(|n| !n.is_empty() && norm[i..].starts_with(n))
            .map(Vec::len)
            .max();
        match best {
            Some(len) => {
                // Adjacent matches merge into one mark.
                match ranges.last_mut() {
                    Some((_, end)) if *end == i => *end = i + len,
                    _ => ranges.push((i, i + len)),
                }
                i += len;
            }
            None => i += 1,
        }
    }
    ranges
}

/// The `[start, end)` window of at most `max_chars` chars holding the most matches.
fn window(len: usize, ranges: &[(usize, usize)], max_chars: usize) -> (usize, usize) {
    if len <= max_chars {
        return (0, len);
    }
    let mut best = (0, 0usize);
    for (k, &(from, _)) in ranges.iter().enumerate() {
        let start = from.saturating_sub(LEAD).min(len - max_chars);
        let end = start + max_chars;
        let count = ranges[k..].iter().take_while(|&&(_, t)| t <= end).count();
        if count > best.1 {
            best = (start, count);
        }
    }
    (best.0, best.0 + max_chars)
}

fn escape_into(chars: &[char], out: &mut String) {
    for &c in chars {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(words: &[&str]) -> Vec<Vec<char>> {
        words.iter().map(|w| w.chars().collect()).collect()
    }

    #[test]
    fn marks_and_escapes() {
        assert_eq!(
            highlight("<b>噪音扰民</b> & 噪音", &n(&["噪音"]), 100),
            "&lt;b&gt;<mark>噪音</mark>扰民&lt;/b&gt; &amp; <mark>噪音</mark>"
        );
    }

    #[test]
    fn longest_needle_and_adjacent_merge() {
        assert_eq!(
            highlight(
                "噪音扰民严重",
                &n(&["噪音", "噪音扰民", "扰民", "严重"]),
                100
            ),
            "<mark>噪音扰民严重</mark>"
        );
    }

    #[test]
    fn full_width_matches_half_width_needle() {
        assert_eq!(
            highlight("ＷＩＦＩ坏了", &n(&["wifi"]), 100),
            "<mark>ＷＩＦＩ</mark>坏了"
        );
    }

    #[test]
    fn window_moves_to_matches() {
        let text = format!("{}扰民{}", "无".repeat(100), "有".repeat(100));
        let s = highlight(&text, &n(&["扰民"]), 30);
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(s.contains("<mark>扰民</mark>"));
        assert_eq!(s.chars().filter(|&c| c == '无').count(), LEAD);
        let plain = highlight(&text, &n(&["没有"]), 10);
        assert_eq!(plain, format!("{}…", "无".repeat(10)));
    }
}
