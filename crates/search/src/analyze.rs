//! The two analyzers: jieba words and character bigrams.
//!
//! Both normalise first ([`crate::normalize`]), so queries and documents meet on the
//! same form. Neither keeps positions: queries are conjunctions of terms, never phrases.

use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::normalize::{is_cjk, is_term_char, normalize};

/// Name under which [`WordTokenizer`] is registered in the index.
pub const WORDS: &str = "suqiu_words";
/// Name under which [`BigramTokenizer`] is registered in the index.
pub const BIGRAMS: &str = "suqiu_bigrams";

/// Longest run of non-CJK letters/digits kept as one token (longer ones are cut).
const MAX_RUN_CHARS: usize = 64;

/// A token stream over an owned list of tokens.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    cursor: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens, cursor: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.cursor < self.tokens.len() {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.cursor - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.cursor - 1]
    }
}

fn token(text: String, position: usize, from: usize, to: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text,
        position_length: 1,
    }
}

/// jieba in search mode (a long word also yields its dictionary sub-words), without the
/// HMM (so segmentation only uses the dictionary and stays predictable). Tokens without
/// any letter or digit (punctuation, spaces) are dropped.
#[derive(Clone)]
pub struct WordTokenizer {
    jieba: Arc<Jieba>,
}

impl WordTokenizer {
    /// A tokenizer sharing the given dictionary.
    pub fn new(jieba: Arc<Jieba>) -> Self {
        WordTokenizer { jieba }
    }
}

/// Word tokens of already normalised text, with byte offsets into it.
pub fn words(jieba: &Jieba, normalized: &str, for_search: bool) -> Vec<(String, usize, usize)> {
    let cut = if for_search {
        jieba.cut_for_search(normalized, false)
    } else {
        jieba.cut(normalized, false)
    };
    cut.into_iter()
        .filter(|t| t.word.chars().any(is_term_char))
        .map(|t| {
            let word: String = t.word.chars().filter(|c| !c.is_whitespace()).collect();
            (word, t.byte_start, t.byte_end)
        })
        .filter(|(w, _, _)| !w.is_empty())
        .collect()
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let normalized = normalize(text);
        let tokens = words(&self.jieba, &normalized, true)
            .into_iter()
            .enumerate()
            .map(|(i, (w, from, to))| token(w, i, from, to))
            .collect();
        VecTokenStream::new(tokens)
    }
}

/// Overlapping character bigrams over runs of CJK characters, plus the last character
/// of each run on its own (so every character starts some token, which makes a
/// one-character query a prefix search). Runs of other letters and digits are one token
/// each (cut at 64 characters).
#[derive(Clone, Default)]
pub struct BigramTokenizer;

/// Bigram tokens of already normalised text, with byte offsets into it.
pub fn bigrams(normalized: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = normalized.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(normalized.len(), |&(b, _)| b);
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_cjk(c) {
            let mut j = i;
            while j < chars.len() && is_cjk(chars[j].1) {
                j += 1;
            }
            for k in i..j {
                let from = chars[k].0;
                if k + 1 < j {
                    let pair: String = [chars[k].1, chars[k + 1].1].iter().collect();
                    out.push((pair, from, end_of(k + 2)));
                } else {
                    out.push((chars[k].1.to_string(), from, end_of(k + 1)));
                }
            }
            i = j;
        } else if is_term_char(c) {
            let mut j = i;
            while j < chars.len() && is_term_char(chars[j].1) && !is_cjk(chars[j].1) {
                j += 1;
            }
            let stop = j.min(i + MAX_RUN_CHARS);
            let run: String = chars[i..stop].iter().map(|&(_, c)| c).collect();
            out.push((run, start, end_of(stop)));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let normalized = normalize(text);
        let tokens = bigrams(&normalized)
            .into_iter()
            .enumerate()
            .map(|(i, (w, from, to))| token(w, i, from, to))
            .collect();
        VecTokenStream::new(tokens)
    }
}

/// One term of a user's query, analysed for both fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    /// The normalised term as typed (a maximal run of letters and digits).
    pub text: String,
    /// Its jieba words (query mode: no overlapping sub-words), deduplicated.
    pub words: Vec<String>,
    /// Its bigram tokens, deduplicated; a lone CJK character is one token and is
    /// searched as a prefix.
    pub bigrams: Vec<String>,
}

impl QueryTerm {
    /// Whether this term is a single CJK character (searched by prefix on bigrams).
    pub fn is_single_cjk(&self) -> bool {
        let mut chars = self.text.chars();
        matches!((chars.next(), chars.next()), (Some(c), None) if is_cjk(c))
    }
}

/// Splits query text into terms: maximal runs of letters and digits after
/// normalisation; everything else (spaces, punctuation, operators) separates terms and
/// has no other meaning. Duplicate terms are dropped.
pub fn query_terms(jieba: &Jieba, text: &str) -> Vec<QueryTerm> {
    let normalized = normalize(text);
    let mut terms: Vec<QueryTerm> = Vec::new();
    for raw in normalized.split(|c: char| !is_term_char(c)) {
        if raw.is_empty() || terms.iter().any(|t| t.text == raw) {
            continue;
        }
        let mut w: Vec<String> = Vec::new();
        for (word, _, _) in words(jieba, raw, false) {
            if !w.contains(&word) {
                w.push(word);
            }
        }
        let mut b: Vec<String> = Vec::new();
        for (gram, _, _) in bigrams(raw) {
            if !b.contains(&gram) {
                b.push(gram);
            }
        }
        // A term of several CJK characters never needs its trailing unigram: the last
        // bigram already covers that character.
        if b.len() > 1 {
            if let Some(last) = b.last() {
                if last.chars().count() == 1 && last.chars().all(is_cjk) {
                    b.pop();
                }
            }
        }
        terms.push(QueryTerm {
            text: raw.to_string(),
            words: w,
            bigrams: b,
        });
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: Vec<(String, usize, usize)>) -> Vec<String> {
        v.into_iter().map(|(t, _, _)| t).collect()
    }

    #[test]
    fn bigram_tokens() {
        assert_eq!(
            texts(bigrams("噪音扰民,a3区 wifi")),
            vec!["噪音", "音扰", "扰民", "民", "a3", "区", "wifi"]
        );
        let s = "扰民";
        for (t, from, to) in bigrams(s) {
            assert_eq!(&s[from..to], t);
        }
    }

    #[test]
    fn query_terms_split_on_punctuation_and_syntax() {
        let jieba = Jieba::new();
        let terms = query_terms(&jieba, "噪音 AND \"扰民\" +(网格)* 噪音");
        let names: Vec<&str> = terms.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(names, vec!["噪音", "and", "扰民", "网格"]);
        let t = &query_terms(&jieba, "噪音扰民")[0];
        assert_eq!(t.bigrams, vec!["噪音", "音扰", "扰民"]);
        assert!(t.words.contains(&"噪音".to_string()));
        let one = &query_terms(&jieba, "水")[0];
        assert!(one.is_single_cjk());
        assert_eq!(one.bigrams, vec!["水"]);
    }
}
