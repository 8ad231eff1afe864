//! Related cases at intake (关联件 / 重复件): the same resident repeating a matter, or several
//! residents reporting one problem.
//!
//! Every case is reduced to a fixed-size [`Sig`] ([`signature`]):
//!
//! * the text is normalised ([`crate::normalize`]), the place names found by the scanner
//!   of [`crate::topics`] are **removed**, and what remains (alphanumeric characters,
//!   phone / ID placeholders as one unit) is cut into character [`SHINGLE`]-grams;
//! * 64 MinHash values of the shingle set (one 64-bit mix per shingle, then 64
//!   multiply-add permutations), of which the signature keeps 16 bits each (b-bit MinHash:
//!   a spurious match has probability 2⁻¹⁶), plus the number of distinct shingles;
//! * the hashes of up to four fine place keys named in the text (`丽发新城`, `金鼎村`, …).
//!
//! Place names are stripped from the shingles so that the problem similarity is not
//! inflated by a shared estate name ("丽发新城小区搅拌站噪音" vs "丽发新城小区停车收费") and
//! the place is judged separately: by the case's `place_key` (a unit code) or by the place
//! keys named in the texts.
//!
//! [`RelatedIndex`] is an incremental in-memory index over signatures. Candidates come
//! from LSH banding over the MinHash values (16 bands of 4 rows by default), from all cases
//! of the same reporter and from all cases of the same place (unit code or text place key);
//! each candidate inside the time window is then checked on its estimated similarity:
//!
//! * `jaccard` = fraction of equal MinHash values (estimated Jaccard similarity of the
//!   shingle sets), `containment` = the estimated share of the smaller set found in the
//!   larger one, `overlap = max(jaccard, containment / 2)` (a short follow-up "上次反映的
//!   搅拌站噪音问题还没解决" is contained in the first long report without being similar
//!   to it as a whole);
//! * [`RelatedReason::SameReporter`]: same `reporter_key` and `overlap ≥ reporter_min`;
//! * [`RelatedReason::SamePlaceSameProblem`]: same `place_key`, or a common place key in
//!   the texts, and `overlap ≥ place_min`;
//! * [`RelatedReason::SimilarText`]: `jaccard ≥ text_min` and the places do not conflict
//!   (both have unit codes and they differ, or both name places in the text and none is
//!   common).
//!
//! The score of a related case is its `overlap`; results are sorted by score, then id.
//! Index memory is about 180 bytes per case plus 8 bytes per case and band (459 MiB peak
//! resident memory when building 1,000,000 cases, see the README).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::features::{mix64, plain_units, shingle_hashes};
use crate::near_duplicate_groups;
use crate::topics::{hot_topics, scan, TopicMessage};
use crate::TextError;

/// Number of MinHash values in a [`Sig`].
pub const SIG_HASHES: usize = 64;
/// Character n-gram size of the shingles.
pub const SHINGLE: usize = 2;
/// Place keys kept per signature.
pub const SIG_PLACES: usize = 4;
/// Length of [`Sig::to_bytes`].
pub const SIG_BYTES: usize = 4 + 2 + 4 * SIG_PLACES + 2 * SIG_HASHES;
const SIG_MAGIC: [u8; 3] = *b"RSG";
const SIG_VERSION: u8 = 1;
/// Deltas of the sorted bucket arrays are merged beyond this many entries.
const DELTA_MAX: usize = 8192;
/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The compact, serialisable form of a case text (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sig {
    mins: [u16; SIG_HASHES],
    /// Distinct shingles (saturating); 0 for a text without any character.
    len: u16,
    /// Hashes of fine place keys named in the text, 0 = none.
    places: [u32; SIG_PLACES],
}

impl Sig {
    /// `RSG` + version byte, shingle count (u16), place hashes (4 × u32), MinHash values
    /// (64 × u16), all little-endian: [`SIG_BYTES`] = 150 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIG_BYTES);
        out.extend_from_slice(&SIG_MAGIC);
        out.push(SIG_VERSION);
        out.extend_from_slice(&self.len.to_le_bytes());
        for p in &self.places {
            out.extend_from_slice(&p.to_le_bytes());
        }
        for m in &self.mins {
            out.extend_from_slice(&m.to_le_bytes());
        }
        out
    }

    /// Parses [`Sig::to_bytes`]; fails on a wrong length, magic or version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sig, TextError> {
        if bytes.len() != SIG_BYTES {
            return Err(TextError::ModelFormat(format!(
                "signature of {} bytes, expected {SIG_BYTES}",
                bytes.len()
            )));
        }
        if bytes[..3] != SIG_MAGIC || bytes[3] != SIG_VERSION {
            return Err(TextError::ModelFormat(
                "not a related-case signature (magic or version)".into(),
            ));
        }
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let mut places = [0u32; SIG_PLACES];
        for (k, p) in places.iter_mut().enumerate() {
            let i = 6 + 4 * k;
            *p = u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        }
        let mut mins = [0u16; SIG_HASHES];
        for (k, m) in mins.iter_mut().enumerate() {
            *m = u16_at(6 + 4 * SIG_PLACES + 2 * k);
        }
        Ok(Sig {
            mins,
            len: u16_at(4),
            places,
        })
    }

    /// Whether the text had no character at all (such a signature is never related).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn permutations() -> [(u64, u64); SIG_HASHES] {
    let mut out = [(0u64, 0u64); SIG_HASHES];
    for (k, p) in out.iter_mut().enumerate() {
        let seed = 0x5245_4c41_5445_4400 + k as u64; // "RELATED"
        *p = (mix64(seed) | 1, mix64(seed ^ 0xffff_0000_ffff));
    }
    out
}

/// A non-zero 32-bit hash of a place key as found by the scanner.
fn place_hash(key: &str) -> u32 {
    (string_hash(key, 0x0070_6c61_6365) as u32) | 1
}

/// A non-zero 64-bit hash of a key string (FNV-1a + mix).
fn string_hash(key: &str, seed: u64) -> u64 {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    mix64(h) | 1
}

/// The signature of a case text (title + detail); see the module documentation.
pub fn signature(text: &str) -> Sig {
    let (found, stripped) = scan(text);
    let mut places = [0u32; SIG_PLACES];
    let mut hashes: Vec<u32> = found.fine.iter().map(|k| place_hash(k)).collect();
    hashes.truncate(SIG_PLACES);
    hashes.sort_unstable();
    places[..hashes.len()].copy_from_slice(&hashes);

    let units = plain_units(&stripped);
    let mut mins = [u16::MAX; SIG_HASHES];
    if units.is_empty() {
        return Sig {
            mins,
            len: 0,
            places,
        };
    }
    let shingles = shingle_hashes(&units, SHINGLE);
    let mut full = [u64::MAX; SIG_HASHES];
    let perms = permutations();
    for &x in &shingles {
        for (m, &(a, b)) in full.iter_mut().zip(&perms) {
            let v = x.wrapping_mul(a).wrapping_add(b);
            if v < *m {
                *m = v;
            }
        }
    }
    for (m, f) in mins.iter_mut().zip(&full) {
        *m = (f >> 32) as u16;
    }
    Sig {
        mins,
        len: u16::try_from(shingles.len()).unwrap_or(u16::MAX),
        places,
    }
}

/// Estimated `(jaccard, containment)` of two signatures' shingle sets.
pub fn similarity(a: &Sig, b: &Sig) -> (f32, f32) {
    sim_parts(&a.mins, a.len, &b.mins, b.len)
}

fn sim_parts(a: &[u16], la: u16, b: &[u16], lb: u16) -> (f32, f32) {
    if la == 0 || lb == 0 {
        return (0.0, 0.0);
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    let j = equal as f32 / SIG_HASHES as f32;
    let (la, lb) = (f32::from(la), f32::from(lb));
    let inter = j * (la + lb) / (1.0 + j);
    (j, (inter / la.min(lb)).min(1.0))
}

/// Index settings. Serialisable so that they can live in the application configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelatedConfig {
    /// Only cases at most this far apart in time (either direction) are related.
    pub window_ms: i64,
    /// Minimum `overlap` for a case of the same reporter.
    pub reporter_min: f32,
    /// Minimum `overlap` for a case at the same place.
    pub place_min: f32,
    /// Minimum `jaccard` for any other case.
    pub text_min: f32,
    /// LSH bands (`bands × rows ≤ 64`); more bands find lower similarities at the cost of
    /// 8 bytes per case and band.
    pub bands: usize,
    /// MinHash values per band.
    pub rows: usize,
}

impl Default for RelatedConfig {
    fn default() -> Self {
        RelatedConfig {
            window_ms: 30 * DAY_MS,
            reporter_min: 0.3,
            place_min: 0.15,
            text_min: 0.45,
            bands: 16,
            rows: 4,
        }
    }
}

/// One case to index or to look up.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSig {
    pub id: i64,
    /// Milliseconds since the epoch of the case time.
    pub time_ms: i64,
    /// Who reported it (e.g. a hashed phone number), if known.
    pub reporter_key: Option<String>,
    /// Where it is (a unit code), if known.
    pub place_key: Option<String>,
    /// Title + detail.
    pub text: String,
}

/// A case's identity without its text, for indexing a stored [`Sig`].
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMeta {
    pub id: i64,
    pub time_ms: i64,
    pub reporter_key: Option<String>,
    pub place_key: Option<String>,
}

impl CaseSig {
    /// The case without its text.
    pub fn meta(&self) -> CaseMeta {
        CaseMeta {
            id: self.id,
            time_ms: self.time_ms,
            reporter_key: self.reporter_key.clone(),
            place_key: self.place_key.clone(),
        }
    }
}

/// Why a case is related to the probe (the first that applies, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RelatedReason {
    SameReporter,
    SamePlaceSameProblem,
    SimilarText,
}

/// A related case found by [`RelatedIndex::related`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    pub id: i64,
    /// `overlap` (see the module documentation), in `[0, 1]`.
    pub score: f32,
    pub reason: RelatedReason,
}

/// A multimap from keys to slots: a sorted main part and a small unsorted delta.
#[derive(Debug, Default)]
struct Buckets<K> {
    keys: Vec<K>,
    slots: Vec<u32>,
    delta: Vec<(K, u32)>,
}

impl<K: Ord + Copy> Buckets<K> {
    fn push(&mut self, key: K, slot: u32) {
        self.delta.push((key, slot));
    }

    fn get(&self, key: K, out: &mut Vec<u32>) {
        let lo = self.keys.partition_point(|k| *k < key);
        let hi = lo + self.keys[lo..].partition_point(|k| *k <= key);
        out.extend_from_slice(&self.slots[lo..hi]);
        out.extend(
            self.delta
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, s)| *s),
        );
    }

    /// Merges the delta into the sorted part, dropping entries of dead slots.
    fn merge(&mut self, dead: &[bool]) {
        let alive = |s: u32| !dead.get(s as usize).copied().unwrap_or(true);
        let mut delta = std::mem::take(&mut self.delta);
        delta.retain(|&(_, s)| alive(s));
        delta.sort_unstable();
        let n = self.keys.len() + delta.len();
        let mut keys = Vec::with_capacity(n);
        let mut slots = Vec::with_capacity(n);
        let mut d = delta.into_iter().peekable();
        for (&k, &s) in self.keys.iter().zip(&self.slots) {
            while let Some(&(dk, ds)) = d.peek() {
                if (dk, ds) < (k, s) {
                    keys.push(dk);
                    slots.push(ds);
                    d.next();
                } else {
                    break;
                }
            }
            if alive(s) {
                keys.push(k);
                slots.push(s);
            }
        }
        for (dk, ds) in d {
            keys.push(dk);
            slots.push(ds);
        }
        self.keys = keys;
        self.slots = slots;
    }
}

/// Incremental in-memory index of case signatures (see the module documentation).
#[derive(Debug)]
pub struct RelatedIndex {
    config: RelatedConfig,
    ids: Vec<i64>,
    times: Vec<i64>,
    reporters: Vec<u64>,
    units: Vec<u64>,
    lens: Vec<u16>,
    places: Vec<[u32; SIG_PLACES]>,
    mins: Vec<u16>,
    dead: Vec<bool>,
    slot_of: HashMap<i64, u32>,
    bands: Vec<Buckets<u32>>,
    /// Reporter hashes and place hashes (unit codes and text place keys, distinct seeds).
    keyed: Buckets<u64>,
    live: usize,
}

const SEED_REPORTER: u64 = 0x7265_706f_7274;
const SEED_UNIT: u64 = 0x756e_6974;

fn text_place_key(h: u32) -> u64 {
    mix64(u64::from(h) ^ 0x7478_7470_6c61_6365) | 1
}

impl RelatedIndex {
    /// An empty index. `bands × rows` is clamped to the 64 MinHash values.
    pub fn new(config: RelatedConfig) -> Self {
        let mut config = config;
        config.rows = config.rows.clamp(1, SIG_HASHES);
        config.bands = config.bands.clamp(1, SIG_HASHES / config.rows);
        let bands = (0..config.bands).map(|_| Buckets::default()).collect();
        RelatedIndex {
            config,
            ids: Vec::new(),
            times: Vec::new(),
            reporters: Vec::new(),
            units: Vec::new(),
            lens: Vec::new(),
            places: Vec::new(),
            mins: Vec::new(),
            dead: Vec::new(),
            slot_of: HashMap::new(),
            bands,
            keyed: Buckets::default(),
            live: 0,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &RelatedConfig {
        &self.config
    }

    /// Number of indexed (not removed) cases.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no case is indexed.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Indexes a case (computes its [`signature`]). A case with an id already indexed
    /// replaces it.
    pub fn add(&mut self, case: CaseSig) {
        let sig = signature(&case.text);
        self.add_signed(&case.meta(), &sig);
    }

    /// Indexes a case from a stored signature (rebuilding the index at start).
    pub fn add_signed(&mut self, meta: &CaseMeta, sig: &Sig) {
        self.insert(meta, sig);
        if self.keyed.delta.len() > DELTA_MAX
            || self
                .bands
                .first()
                .is_some_and(|b| b.delta.len() > DELTA_MAX)
        {
            self.compact();
        }
    }

    /// Indexes many cases from stored signatures, sorting the buckets once at the end
    /// (faster than repeated [`RelatedIndex::add_signed`]).
    pub fn extend_signed<I: IntoIterator<Item = (CaseMeta, Sig)>>(&mut self, cases: I) {
        for (meta, sig) in cases {
            self.insert(&meta, &sig);
        }
        self.compact();
    }

    /// Removes a case; returns whether it was indexed.
    pub fn remove(&mut self, id: i64) -> bool {
        let Some(slot) = self.slot_of.remove(&id) else {
            return false;
        };
        if let Some(d) = self.dead.get_mut(slot as usize) {
            *d = true;
        }
        self.live -= 1;
        true
    }

    /// Merges pending bucket entries and drops the entries of removed cases (called
    /// automatically).
    pub fn compact(&mut self) {
        for b in &mut self.bands {
            b.merge(&self.dead);
        }
        self.keyed.merge(&self.dead);
    }

    fn band_key(&self, band: usize, mins: &[u16]) -> u32 {
        let rows = self.config.rows;
        let h = mins[band * rows..(band + 1) * rows]
            .iter()
            .fold(band as u64 + 1, |h, &m| mix64(h ^ u64::from(m)));
        h as u32
    }

    fn insert(&mut self, meta: &CaseMeta, sig: &Sig) {
        self.remove(meta.id);
        let Ok(slot) = u32::try_from(self.ids.len()) else {
            return;
        };
        self.ids.push(meta.id);
        self.times.push(meta.time_ms);
        let reporter = meta
            .reporter_key
            .as_deref()
            .map_or(0, |k| string_hash(k, SEED_REPORTER));
        let unit = meta
            .place_key
            .as_deref()
            .map_or(0, |k| string_hash(k, SEED_UNIT));
        self.reporters.push(reporter);
        self.units.push(unit);
        self.lens.push(sig.len);
        self.places.push(sig.places);
        self.mins.extend_from_slice(&sig.mins);
        self.dead.push(false);
        self.slot_of.insert(meta.id, slot);
        self.live += 1;
        if reporter != 0 {
            self.keyed.push(reporter, slot);
        }
        if unit != 0 {
            self.keyed.push(unit, slot);
        }
        for &p in sig.places.iter().filter(|&&p| p != 0) {
            self.keyed.push(text_place_key(p), slot);
        }
        if sig.len > 0 {
            for band in 0..self.bands.len() {
                let key = self.band_key(band, &sig.mins);
                self.bands[band].push(key, slot);
            }
        }
    }

    /// Cases related to `probe` (which need not be indexed; a case with the probe's id is
    /// skipped), best first, at most `limit`.
    pub fn related(&self, probe: &CaseSig, limit: usize) -> Vec<Related> {
        self.related_signed(&probe.meta(), &signature(&probe.text), limit)
    }

    /// [`RelatedIndex::related`] with a precomputed signature.
    pub fn related_signed(&self, probe: &CaseMeta, sig: &Sig, limit: usize) -> Vec<Related> {
        if sig.len == 0 || limit == 0 {
            return Vec::new();
        }
        let reporter = probe
            .reporter_key
            .as_deref()
            .map_or(0, |k| string_hash(k, SEED_REPORTER));
        let unit = probe
            .place_key
            .as_deref()
            .map_or(0, |k| string_hash(k, SEED_UNIT));
        let mut cand: Vec<u32> = Vec::new();
        for (band, b) in self.bands.iter().enumerate() {
            b.get(self.band_key(band, &sig.mins), &mut cand);
        }
        if reporter != 0 {
            self.keyed.get(reporter, &mut cand);
        }
        if unit != 0 {
            self.keyed.get(unit, &mut cand);
        }
        for &p in sig.places.iter().filter(|&&p| p != 0) {
            self.keyed.get(text_place_key(p), &mut cand);
        }
        cand.sort_unstable();
        cand.dedup();

        let c = &self.config;
        let mut out = Vec::new();
        for slot in cand {
            let s = slot as usize;
            if self.dead.get(s).copied().unwrap_or(true)
                || self.ids[s] == probe.id
                || (self.times[s] - probe.time_ms).abs() > c.window_ms
            {
                continue;
            }
            let mins = &self.mins[s * SIG_HASHES..(s + 1) * SIG_HASHES];
            let (jaccard, containment) = sim_parts(&sig.mins, sig.len, mins, self.lens[s]);
            let overlap = jaccard.max(containment / 2.0);
            let other = &self.places[s];
            let common_text_place = sig.places.iter().any(|&p| p != 0 && other.contains(&p));
            let same_unit = unit != 0 && self.units[s] == unit;
            let reason =
                if reporter != 0 && self.reporters[s] == reporter && overlap >= c.reporter_min {
                    RelatedReason::SameReporter
                } else if (same_unit || common_text_place) && overlap >= c.place_min {
                    RelatedReason::SamePlaceSameProblem
                } else {
                    let unit_conflict = unit != 0 && self.units[s] != 0 && !same_unit;
                    let text_conflict = sig.places[0] != 0 && other[0] != 0 && !common_text_place;
                    if jaccard >= c.text_min && !unit_conflict && !text_conflict {
                        RelatedReason::SimilarText
                    } else {
                        continue;
                    }
                };
            out.push(Related {
                id: self.ids[s],
                score: overlap,
                reason,
            });
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        out.truncate(limit);
        out
    }
}

/// Precision / recall of [`RelatedIndex`] against weak labels (see
/// [`evaluate_weak_labels`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedEval {
    pub messages: usize,
    /// Labelled pairs inside the time window (same hot topic or near-duplicate group).
    pub gold_pairs: usize,
    /// Pairs returned by the index (each unordered pair once).
    pub returned_pairs: usize,
    pub correct_pairs: usize,
    pub precision: f64,
    pub recall: f64,
    /// Returned / correct pairs per reason.
    pub by_reason: Vec<(RelatedReason, usize, usize)>,
    /// Messages with at least one related case.
    pub probes_with_results: usize,
    /// Messages with at least one labelled partner inside the window.
    pub probes_with_partner: usize,
    /// Of those, messages for which at least one labelled partner was returned (what an
    /// intake officer needs: the new case is shown next to its earlier reports).
    pub probes_found: usize,
    /// `probes_found / probes_with_partner`.
    pub probe_recall: f64,
    /// Up to `show` returned pairs outside the labels: (reason, score, title, title).
    pub unlabelled_examples: Vec<(RelatedReason, f32, String, String)>,
}

/// Indexes `messages` (id = position, reporter = `user`, no unit code, text = title +
/// detail), looks each one up (limit 50) and compares the returned pairs with the weak
/// labels: two messages belong together when they are in the same hot topic
/// ([`crate::hot_topics`]) or the same near-duplicate group
/// ([`crate::near_duplicate_groups`]).
pub fn evaluate_weak_labels(
    messages: &[TopicMessage],
    config: RelatedConfig,
    show: usize,
) -> RelatedEval {
    let texts: Vec<String> = messages
        .iter()
        .map(|m| format!("{}\n{}", m.title, m.detail))
        .collect();
    let mut topic = vec![usize::MAX; messages.len()];
    for (t, tp) in hot_topics(messages, 0).iter().enumerate() {
        for &m in &tp.members {
            topic[m] = t;
        }
    }
    let dup = near_duplicate_groups(&texts);
    let same =
        |i: usize, j: usize| (topic[i] != usize::MAX && topic[i] == topic[j]) || dup[i] == dup[j];
    let window = config.window_ms;
    let time_ms = |i: usize| messages[i].time.saturating_mul(1000);
    let cases: Vec<CaseSig> = messages
        .iter()
        .zip(&texts)
        .enumerate()
        .map(|(i, (m, text))| CaseSig {
            id: i as i64,
            time_ms: time_ms(i),
            reporter_key: m.user.clone(),
            place_key: None,
            text: text.clone(),
        })
        .collect();
    let mut index = RelatedIndex::new(config);
    index.extend_signed(cases.iter().map(|c| (c.meta(), signature(&c.text))));

    let mut gold = 0usize;
    let mut has_partner = vec![false; messages.len()];
    for i in 0..messages.len() {
        for j in i + 1..messages.len() {
            if same(i, j) && (time_ms(i) - time_ms(j)).abs() <= window {
                gold += 1;
                has_partner[i] = true;
                has_partner[j] = true;
            }
        }
    }
    let mut found_partner = vec![false; messages.len()];
    let mut returned: BTreeMap<(usize, usize), (RelatedReason, f32)> = BTreeMap::new();
    let mut probes_with_results = 0;
    for (i, c) in cases.iter().enumerate() {
        let found = index.related(c, 50);
        if !found.is_empty() {
            probes_with_results += 1;
        }
        for r in found {
            let j = usize::try_from(r.id).unwrap_or(0);
            if same(i, j) {
                found_partner[i] = true;
            }
            returned
                .entry((i.min(j), i.max(j)))
                .or_insert((r.reason, r.score));
        }
    }
    let reasons = [
        RelatedReason::SameReporter,
        RelatedReason::SamePlaceSameProblem,
        RelatedReason::SimilarText,
    ];
    let mut by_reason: Vec<(RelatedReason, usize, usize)> =
        reasons.iter().map(|&r| (r, 0, 0)).collect();
    let mut correct = 0;
    let mut unlabelled_examples = Vec::new();
    for (&(i, j), &(reason, score)) in &returned {
        let ok = same(i, j);
        correct += usize::from(ok);
        if let Some(e) = by_reason.iter_mut().find(|e| e.0 == reason) {
            e.1 += 1;
            e.2 += usize::from(ok);
        }
        if !ok && unlabelled_examples.len() < show {
            unlabelled_examples.push((
                reason,
                score,
                messages[i].title.clone(),
                messages[j].title.clone(),
            ));
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let probes_with_partner = has_partner.iter().filter(|&&h| h).count();
    let probes_found = found_partner.iter().filter(|&&h| h).count();
    RelatedEval {
        messages: messages.len(),
        gold_pairs: gold,
        returned_pairs: returned.len(),
        correct_pairs: correct,
        precision: ratio(correct, returned.len()),
        recall: ratio(correct, gold),
        by_reason,
        probes_with_results,
        probes_with_partner,
        probes_found,
        probe_recall: ratio(probes_found, probes_with_partner),
        unlabelled_examples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: i64, day: i64, reporter: Option<&str>, unit: Option<&str>, text: &str) -> CaseSig {
        CaseSig {
            id,
            time_ms: day * DAY_MS,
            reporter_key: reporter.map(str::to_string),
            place_key: unit.map(str::to_string),
            text: text.to_string(),
        }
    }

    #[test]
    fn signature_round_trip() {
        let sig = signature("A市A2区丽发新城小区附近搅拌站噪音扰民，粉尘污染严重，请尽快处理");
        let bytes = sig.to_bytes();
        assert_eq!(bytes.len(), SIG_BYTES);
        assert_eq!(Sig::from_bytes(&bytes).ok(), Some(sig.clone()));
        assert!(Sig::from_bytes(&bytes[1..]).is_err());
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(Sig::from_bytes(&bad).is_err());
        assert!(sig.places.iter().any(|&p| p == place_hash("丽发新城")));
        assert!(signature("").is_empty());
        assert!(signature("，。！").is_empty());
    }

    #[test]
    fn identical_texts_are_similar() {
        let a = signature("小区门口的路灯坏了两个月，晚上出行很不安全，希望尽快修复");
        let b = signature("小区门口的路灯坏了两个月，晚上出行很不安全，希望尽快修复！");
        let c = signature("孩子入学需要哪些材料，户口不在本区能否就读");
        assert_eq!(similarity(&a, &b).0, 1.0);
        assert!(similarity(&a, &c).0 < 0.2);
        assert_eq!(similarity(&a, &signature("")), (0.0, 0.0));
    }

    #[test]
    fn reasons_window_and_removal() {
        let mut index = RelatedIndex::new(RelatedConfig::default());
        let noise = "丽发新城小区附近的搅拌站每天晚上施工，噪音很大，粉尘也多，严重影响居民休息";
        index.add(case(1, 0, Some("u1"), Some("unit-7"), noise));
        // Same reporter, shorter follow-up.
        let follow = "上次反映的搅拌站晚上施工噪音很大的问题还没有解决";
        // Another resident, same unit, reworded.
        let other = "搅拌站晚上施工噪音大、粉尘多，影响我们休息，请环保部门查处";
        // Unrelated matter of the same reporter.
        let school = "孩子入学需要哪些材料，户口不在本区能否就读";
        index.add(case(2, 3, Some("u9"), Some("unit-7"), other));
        index.add(case(3, 5, Some("u1"), None, school));
        // Same text, 40 days later: outside the 30-day window of case 1.
        index.add(case(4, 45, Some("u5"), None, noise));
        assert_eq!(index.len(), 4);

        let found = index.related(&case(10, 6, Some("u1"), Some("unit-7"), follow), 10);
        let ids: Vec<(i64, RelatedReason)> = found.iter().map(|r| (r.id, r.reason)).collect();
        assert!(ids.contains(&(1, RelatedReason::SameReporter)), "{found:?}");
        assert!(
            ids.contains(&(2, RelatedReason::SamePlaceSameProblem)),
            "{found:?}"
        );
        assert!(!ids.iter().any(|(id, _)| *id == 3 || *id == 4), "{found:?}");

        // An exact repeat by someone else, no unit: the estate named in both texts makes it
        // the same place; 4 is in its window.
        let found = index.related(&case(11, 20, None, None, noise), 10);
        assert!(found
            .iter()
            .any(|r| r.id == 1 && r.reason == RelatedReason::SamePlaceSameProblem));
        assert!(found.iter().any(|r| r.id == 4));
        assert!(found.iter().all(|r| r.score <= 1.0 && r.score > 0.0));
        assert_eq!(index.related(&case(11, 20, None, None, noise), 1).len(), 1);

        // A different estate named in both texts: not similar text.
        let elsewhere = noise.replace("丽发新城", "金桥花园");
        let found = index.related(&case(12, 1, None, None, &elsewhere), 10);
        assert!(found.is_empty(), "{found:?}");

        // Without any place: similar text.
        let upstairs = "楼上住户每天深夜装修，电钻声音很大，物业也不管，希望有关部门处理";
        index.add(case(5, 2, Some("u7"), None, upstairs));
        let found = index.related(
            &case(13, 4, None, Some("unit-2"), &format!("{upstairs}!")),
            10,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].reason, RelatedReason::SimilarText);
        assert!(index.remove(5));

        assert!(index.remove(1));
        assert!(!index.remove(1));
        index.compact();
        let found = index.related(&case(11, 20, None, None, noise), 10);
        assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![4]);
        assert_eq!(index.len(), 3);
        // Re-adding an id replaces the case.
        index.add(case(4, 45, Some("u5"), None, school));
        assert_eq!(index.len(), 3);
        assert!(index
            .related(&case(11, 20, None, None, noise), 10)
            .is_empty());
    }

    #[test]
    fn many_adds_merge_buckets() {
        let mut index = RelatedIndex::new(RelatedConfig::default());
        let texts = [
            "路灯坏了很久没人修",
            "小区垃圾没人清运，臭气熏天",
            "楼上装修噪音扰民",
        ];
        for i in 0..(DELTA_MAX as i64 + 100) {
            let t = format!("{}第{i}号楼", texts[(i % 3) as usize]);
            index.add(case(i, 0, None, None, &t));
        }
        let sigs: Vec<(CaseMeta, Sig)> = (0..50)
            .map(|i| {
                let c = case(100_000 + i, 0, None, None, texts[0]);
                (c.meta(), signature(&c.text))
            })
            .collect();
        index.extend_signed(sigs);
        let found = index.related(&case(-1, 0, None, None, texts[0]), 100);
        assert_eq!(found.len(), 100);
        assert!(found.iter().all(|r| r.reason == RelatedReason::SimilarText));
        assert!(found
            .iter()
            .take(50)
            .all(|r| r.id >= 100_000 && r.score == 1.0));
    }
}
