//! Text processing for suqiu: normalisation of citizens' messages and the routing
//! classifier that proposes the first-level category (城乡建设, 劳动和社会保障, …).
//!
//! * [`normalize`] — full-width → half-width, lower-case Latin, masking of phone and ID
//!   numbers, whitespace collapse.
//! * [`Model`] — TF-IDF over hashed character 1–3-grams (+ word 1–2-grams for segmented
//!   text) and a one-vs-rest linear SVM; deterministic, serialisable with
//!   [`Model::to_bytes`] / [`Model::from_bytes`].
//! * [`evaluate`] — the evaluation contract used by `suqiu routing evaluate`.
//! * [`topics`] — hot topics (热点问题): [`hot_topics`] groups messages about one local
//!   problem and ranks the groups by a heat index; [`hot_topics_from_path`] is the
//!   JSON contract used by `suqiu topics`.
//! * [`related`] — related cases at intake (duplicates): MinHash signatures
//!   ([`signature`], serialisable [`Sig`]) and an incremental [`RelatedIndex`] with LSH
//!   candidate lookup, reporter / place / time-window rules.
//! * [`urgent`] — urgent signals at intake: configurable keyword rules ([`UrgentRules`])
//!   for threats to life, gas leaks, collapse, fire, wage arrears of groups of workers, …

mod eval;
mod features;
mod model;
pub mod normalize;
pub mod related;
pub mod topics;
pub mod urgent;

pub use eval::{
    cross_validate, cross_validate_data, cross_validate_with, evaluate, evaluate_with, metrics,
    near_duplicate_groups, read_jsonl,
};
pub use features::FeatureConfig;
pub use model::{Model, TrainConfig, MODEL_FORMAT_VERSION};
pub use related::{
    signature, CaseMeta, CaseSig, Related, RelatedConfig, RelatedIndex, RelatedReason, Sig,
};
pub use topics::{hot_topics, hot_topics_from_path, Topic, TopicMessage};
pub use urgent::{Signal, SignalRule, UrgentRules};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A JSON Lines record is malformed.
    #[error("{path}, line {line}: {message}")]
    BadLine {
        path: String,
        line: usize,
        message: String,
    },
    /// A data file holds no record.
    #[error("{0}: no records")]
    Empty(String),
    /// Model bytes are not a valid model.
    #[error("invalid model bytes: {0}")]
    ModelFormat(String),
    /// Urgent-signal rules could not be parsed.
    #[error("invalid urgent rules: {0}")]
    Rules(String),
}
