//! Feature extraction: hashed character n-grams of the space-stripped text and, when the
//! text is already word-segmented (tokens separated by spaces), word unigrams and bigrams.
//!
//! Every feature is a 64-bit hash; the model keeps a sorted vocabulary of the hashes seen
//! in training, so collisions are practically absent and nothing depends on hash-map
//! iteration order.

use serde::{Deserialize, Serialize};

use crate::normalize::{normalize, ID_TOKEN, PHONE_TOKEN};

/// Unit codes for the placeholders (private-use code points, never produced by
/// normalisation itself since they are dropped as non-alphanumeric).
const PHONE_UNIT: u32 = 0xE000;
const ID_UNIT: u32 = 0xE001;

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const SEED_CHAR: u64 = 0xcbf2_9ce4_8422_2325;
const SEED_WORD: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_BIGRAM: u64 = 0xd6e8_feb8_6659_fd93;

/// Which features are extracted. Part of [`crate::TrainConfig`] and stored in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Smallest character n-gram (0 disables character features).
    pub char_ngram_min: usize,
    /// Largest character n-gram.
    pub char_ngram_max: usize,
    /// Word n-grams from space-separated tokens: 0 = none, 1 = unigrams, 2 = + bigrams.
    pub word_ngrams: usize,
    /// Replace every ASCII digit by `0` in character n-grams.
    pub fold_digits: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            char_ngram_min: 1,
            char_ngram_max: 3,
            word_ngrams: 2,
            fold_digits: true,
        }
    }
}

#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `char::is_alphanumeric` with fast paths for ASCII and the CJK Unified Ideographs block.
#[inline]
pub(crate) fn is_alnum(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        c.is_ascii_alphanumeric()
    } else if (0x4E00..=0x9FFF).contains(&u) {
        true
    } else {
        c.is_alphanumeric()
    }
}

/// Whether a normalised text looks word-segmented: several tokens, short on average.
fn looks_segmented(tokens: &[&str]) -> bool {
    if tokens.len() < 4 {
        return false;
    }
    let chars: usize = tokens.iter().map(|t| t.chars().count()).sum();
    chars <= 4 * tokens.len()
}

fn token_unit(token: &str) -> Option<u32> {
    match token {
        PHONE_TOKEN => Some(PHONE_UNIT),
        ID_TOKEN => Some(ID_UNIT),
        _ => None,
    }
}

/// Appends the feature hashes of `text` (with repetitions: one entry per occurrence) to
/// `out`. `units` is scratch space.
pub(crate) fn extract_hashes(
    text: &str,
    cfg: &FeatureConfig,
    units: &mut Vec<u32>,
    out: &mut Vec<u64>,
) {
    let norm = normalize(text);
    let tokens: Vec<&str> = norm.split(' ').filter(|t| !t.is_empty()).collect();

    // Character units of the space- and punctuation-stripped text.
    units.clear();
    for token in &tokens {
        if let Some(u) = token_unit(token) {
            units.push(u);
            continue;
        }
        for c in token.chars() {
            if is_alnum(c) {
                let c = if cfg.fold_digits && c.is_ascii_digit() {
                    '0'
                } else {
                    c
                };
                units.push(c as u32);
            }
        }
    }
    if cfg.char_ngram_min >= 1 && cfg.char_ngram_max >= cfg.char_ngram_min {
        for i in 0..units.len() {
            let mut h = SEED_CHAR;
            for n in 1..=cfg.char_ngram_max {
                let Some(&u) = units.get(i + n - 1) else {
                    break;
                };
                h = (h ^ u64::from(u)).wrapping_mul(FNV_PRIME);
                if n >= cfg.char_ngram_min {
                    out.push(mix64(h ^ n as u64));
                }
            }
        }
    }

    if cfg.word_ngrams >= 1 && looks_segmented(&tokens) {
        let mut prev: Option<u64> = None;
        for token in &tokens {
            let mut h = SEED_WORD;
            let mut any = false;
            for c in token.chars() {
                if is_alnum(c) || c == '<' || c == '>' {
                    h = (h ^ u64::from(c as u32)).wrapping_mul(FNV_PRIME);
                    any = true;
                }
            }
            if !any {
                continue;
            }
            out.push(mix64(h));
            if cfg.word_ngrams >= 2 {
                if let Some(p) = prev {
                    out.push(mix64(p.rotate_left(23) ^ h.wrapping_mul(SEED_BIGRAM)));
                }
            }
            prev = Some(h);
        }
    }
}

/// Sorted, de-duplicated feature hashes with their counts.
pub(crate) fn counted_hashes(text: &str, cfg: &FeatureConfig) -> Vec<(u64, u32)> {
    let mut units = Vec::new();
    let mut hashes = Vec::new();
    extract_hashes(text, cfg, &mut units, &mut hashes);
    hashes.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(hashes.len());
    for h in hashes {
        match out.last_mut() {
            Some((last, n)) if *last == h => *n += 1,
            _ => out.push((h, 1)),
        }
    }
    out
}

/// Character units (alphanumeric, space-stripped, digits not folded) used for near-duplicate
/// detection.
pub(crate) fn plain_units(text: &str) -> Vec<u32> {
    let norm = normalize(text);
    let mut units = Vec::with_capacity(norm.len() / 2);
    for token in norm.split(' ') {
        if let Some(u) = token_unit(token) {
            units.push(u);
            continue;
        }
        units.extend(token.chars().filter(|&c| is_alnum(c)).map(|c| c as u32));
    }
    units
}

/// Sorted, de-duplicated hashes of the character `n`-grams (shingles) of `units`; a text
/// shorter than `n` units gives one hash of the whole text. Shared by the near-duplicate
/// grouping of cross-validation and the related-case index.
pub(crate) fn shingle_hashes(units: &[u32], n: usize) -> Vec<u64> {
    let mut s: Vec<u64> = if units.len() < n.max(1) {
        vec![mix64(units.iter().fold(7u64, |h, &c| {
            h.wrapping_mul(31).wrapping_add(u64::from(c))
        }))]
    } else {
        units
            .windows(n.max(1))
            .map(|w| mix64(w.iter().fold(0u64, |h, &c| (h << 21) ^ u64::from(c))))
            .collect()
    };
    s.sort_unstable();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_segmented_share_char_features() {
        let cfg = FeatureConfig {
            word_ngrams: 0,
            ..FeatureConfig::default()
        };
        let a = counted_hashes("小区 噪音 扰民", &cfg);
        let b = counted_hashes("小区噪音扰民。", &cfg);
        assert_eq!(a, b);
    }

    #[test]
    fn word_features_only_for_segmented() {
        let cfg = FeatureConfig::default();
        let chars_only = FeatureConfig {
            word_ngrams: 0,
            ..FeatureConfig::default()
        };
        let raw = "小区噪音扰民严重，请相关部门处理";
        assert_eq!(counted_hashes(raw, &cfg), counted_hashes(raw, &chars_only));
        let seg = "小区 噪音 扰民 严重 相关 部门 处理";
        assert!(counted_hashes(seg, &cfg).len() > counted_hashes(seg, &chars_only).len());
    }

    #[test]
    fn phone_is_one_unit() {
        let cfg = FeatureConfig::default();
        assert_eq!(
            counted_hashes("电话13812345678", &cfg),
            counted_hashes("电话13999999999", &cfg)
        );
    }
}
