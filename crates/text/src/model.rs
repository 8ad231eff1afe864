//! The routing classifier: TF-IDF over hashed n-gram features and a one-vs-rest linear SVM
//! (L2-regularised squared hinge loss) trained by dual coordinate descent, as in liblinear.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::features::{counted_hashes, extract_hashes, mix64, FeatureConfig};
use crate::TextError;

/// Version of the byte format written by [`Model::to_bytes`].
pub const MODEL_FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"SUQIUTXT";

/// Training parameters. Stored in the model so that prediction uses the same features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Which features to extract.
    pub features: FeatureConfig,
    /// Keep only features present in at least this many training messages.
    pub min_df: u32,
    /// Use `1 + ln(tf)` instead of the raw term count.
    pub sublinear_tf: bool,
    /// SVM cost parameter (larger = less regularisation).
    pub c: f32,
    /// Weight the cost of each class inversely to its frequency (helps macro-F1).
    pub balanced: bool,
    /// Maximum passes of dual coordinate descent per class.
    pub epochs: usize,
    /// Stop a class early when the projected-gradient spread falls below this.
    pub tolerance: f32,
    /// Scale applied to the SVM scores before the softmax that yields confidences.
    pub confidence_scale: f32,
    /// Seed of the (deterministic) visiting order in coordinate descent.
    pub seed: u64,
    /// Worker threads for training (classes are trained independently, so the result does
    /// not depend on it); 0 = up to 2.
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureConfig::default(),
            min_df: 8,
            sublinear_tf: true,
            c: 1.0,
            balanced: true,
            epochs: 30,
            tolerance: 0.1,
            confidence_scale: 4.0,
            seed: 0x5eed_2020,
            threads: 0,
        }
    }
}

/// Hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Per-thread buffers reused by [`Model::scores`]: `counts` is indexed by feature and is
/// all zeros between calls (only the `touched` entries are ever set).
#[derive(Default)]
struct Scratch {
    units: Vec<u32>,
    hashes: Vec<u64>,
    counts: Vec<u16>,
    touched: Vec<usize>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Small deterministic PRNG (splitmix64).
#[derive(Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    labels: Vec<String>,
    config: TrainConfig,
    n_features: usize,
}

/// A trained routing classifier.
#[derive(Clone)]
pub struct Model {
    header: Header,
    /// Feature hashes, sorted ascending.
    hashes: Vec<u64>,
    /// One row per feature, `n_labels + 1` wide: the idf, then the class weights (kept
    /// together so that a prediction touches one cache line per feature).
    table: Vec<f32>,
    bias: Vec<f32>,
    /// Open-addressing lookup table built from `hashes` and `table` (not serialised).
    probe: ProbeTable,
}

/// Linear-probing hash table whose slots hold the feature row inline, `n_labels + 2` u32
/// wide: a 32-bit fingerprint of the feature hash (0 = empty slot), the idf and the class
/// weights as f32 bits. One lookup touches one or two cache lines.
#[derive(Clone, Default)]
struct ProbeTable {
    mask: usize,
    stride: usize,
    slots: Vec<u32>,
}

impl ProbeTable {
    fn build(hashes: &[u64], table: &[f32], n_labels: usize) -> ProbeTable {
        let stride = n_labels + 2;
        let capacity = (hashes.len() * 4 / 3 + 1).next_power_of_two().max(16);
        let mask = capacity - 1;
        let mut slots = vec![0u32; capacity * stride];
        for (f, &h) in hashes.iter().enumerate() {
            let fp = fingerprint(h);
            let mut i = h as usize & mask;
            while slots[i * stride] != 0 {
                i = (i + 1) & mask;
            }
            let slot = &mut slots[i * stride..(i + 1) * stride];
            slot[0] = fp;
            for (dst, src) in slot[1..]
                .iter_mut()
                .zip(&table[f * (n_labels + 1)..(f + 1) * (n_labels + 1)])
            {
                *dst = src.to_bits();
            }
        }
        ProbeTable {
            mask,
            stride,
            slots,
        }
    }

    /// Slot number of a feature hash, if present.
    #[inline]
    fn find(&self, h: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let fp = fingerprint(h);
        let mut i = h as usize & self.mask;
        loop {
            let s = self.slots[i * self.stride];
            if s == fp {
                return Some(i);
            }
            if s == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn n_slots(&self) -> usize {
        self.mask + 1
    }
}

#[inline]
fn fingerprint(h: u64) -> u32 {
    ((h >> 32) as u32) | 1
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("labels", &self.header.labels)
            .field("n_features", &self.hashes.len())
            .field("config", &self.header.config)
            .finish()
    }
}

/// Weights and bias of one class.
type ClassWeights = (Vec<f32>, f32);

/// Sparse rows: `(feature index, value)` sorted by index.
struct Rows {
    offsets: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f32>,
}

impl Rows {
    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        (&self.idx[a..b], &self.val[a..b])
    }
}

fn tf_weight(count: u32, sublinear: bool) -> f32 {
    if sublinear {
        1.0 + (count as f32).ln()
    } else {
        count as f32
    }
}

impl Model {
    /// Trains a model on `(text, label)` pairs. Labels are sorted, features are kept in hash
    /// order and coordinate descent visits messages in a seeded order, so the same data and
    /// configuration always give the same model bytes.
    pub fn train(data: &[(String, String)], config: &TrainConfig) -> Model {
        let labels: Vec<String> = data
            .iter()
            .map(|(_, l)| l.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let label_of: HashMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let y: Vec<usize> = data
            .iter()
            .map(|(_, l)| label_of.get(l.as_str()).copied().unwrap_or(0))
            .collect();

        // 1. Counted features per message.
        let docs: Vec<Vec<(u64, u32)>> = data
            .iter()
            .map(|(t, _)| counted_hashes(t, &config.features))
            .collect();

        // 2. Document frequencies and the vocabulary (sorted hashes).
        let mut df: IdMap<u32> = IdMap::default();
        for doc in &docs {
            for &(h, _) in doc {
                *df.entry(h).or_insert(0) += 1;
            }
        }
        let mut hashes: Vec<u64> = df
            .iter()
            .filter(|(_, &n)| n >= config.min_df.max(1))
            .map(|(&h, _)| h)
            .collect();
        hashes.sort_unstable();
        let n_docs = data.len() as f32;
        let idf: Vec<f32> = hashes
            .iter()
            .map(|h| {
                let d = df.get(h).copied().unwrap_or(0) as f32;
                ((1.0 + n_docs) / (1.0 + d)).ln() + 1.0
            })
            .collect();
        let index: IdMap<u32> = hashes
            .iter()
            .enumerate()
            .map(|(i, &h)| (h, i as u32))
            .collect();
        drop(df);

        // 3. L2-normalised TF-IDF rows.
        let mut rows = Rows {
            offsets: Vec::with_capacity(docs.len() + 1),
            idx: Vec::new(),
            val: Vec::new(),
        };
        rows.offsets.push(0);
        for doc in &docs {
            let start = rows.idx.len();
            for &(h, n) in doc {
                if let Some(&f) = index.get(&h) {
                    rows.idx.push(f);
                    rows.val
                        .push(tf_weight(n, config.sublinear_tf) * idf[f as usize]);
                }
            }
            // Hash order is not index order once rare features are dropped: sort by index.
            let mut pairs: Vec<(u32, f32)> = rows.idx[start..]
                .iter()
                .copied()
                .zip(rows.val[start..].iter().copied())
                .collect();
            pairs.sort_unstable_by_key(|p| p.0);
            let norm = pairs.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
            let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            for (k, (f, v)) in pairs.into_iter().enumerate() {
                rows.idx[start + k] = f;
                rows.val[start + k] = v * inv;
            }
            rows.offsets.push(rows.idx.len());
        }
        drop(docs);

        // 4. One-vs-rest SVMs.
        let n_labels = labels.len();
        let n_features = hashes.len();
        let mut counts = vec![0usize; n_labels];
        for &k in &y {
            counts[k] += 1;
        }
        let threads = match config.threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(2),
            t => t,
        }
        .clamp(1, n_labels.max(1));
        let mut per_class: Vec<ClassWeights> = Vec::with_capacity(n_labels);
        if threads <= 1 {
            for k in 0..n_labels {
                per_class.push(train_binary(&rows, &y, k, &counts, n_features, config));
            }
        } else {
            let results: Vec<Vec<(usize, ClassWeights)>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (rows, y, counts) = (&rows, &y, &counts);
                        s.spawn(move || {
                            (t..n_labels)
                                .step_by(threads)
                                .map(|k| (k, train_binary(rows, y, k, counts, n_features, config)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            let mut flat: Vec<(usize, ClassWeights)> = results.into_iter().flatten().collect();
            flat.sort_by_key(|r| r.0);
            per_class = flat.into_iter().map(|r| r.1).collect();
            if per_class.len() != n_labels {
                // A worker panicked: fall back to training sequentially.
                per_class = (0..n_labels)
                    .map(|k| train_binary(&rows, &y, k, &counts, n_features, config))
                    .collect();
            }
        }

        let stride = n_labels + 1;
        let mut table = vec![0f32; n_features * stride];
        for (f, &v) in idf.iter().enumerate() {
            table[f * stride] = v;
        }
        let mut bias = vec![0f32; n_labels];
        for (k, (w, b)) in per_class.into_iter().enumerate() {
            for (f, v) in w.into_iter().enumerate() {
                table[f * stride + 1 + k] = v;
            }
            bias[k] = b;
        }

        Model {
            header: Header {
                labels,
                // The thread count does not change the model: keep it out of the bytes.
                config: TrainConfig {
                    threads: 0,
                    ..config.clone()
                },
                n_features,
            },
            probe: ProbeTable::build(&hashes, &table, n_labels),
            hashes,
            table,
            bias,
        }
    }

    /// The labels the model knows, sorted.
    pub fn labels(&self) -> &[String] {
        &self.header.labels
    }

    /// The configuration the model was trained with.
    pub fn config(&self) -> &TrainConfig {
        &self.header.config
    }

    /// Number of features in the vocabulary.
    pub fn n_features(&self) -> usize {
        self.hashes.len()
    }

    /// Raw SVM scores, one per label in [`Model::labels`] order.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let k = self.header.labels.len();
        let mut scores = vec![0f32; k];
        if k == 0 {
            return scores;
        }
        let cfg = &self.header.config;
        let mut norm2 = 0f32;
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let Scratch {
                units,
                hashes,
                counts,
                touched,
            } = &mut *scratch;
            hashes.clear();
            extract_hashes(text, &cfg.features, units, hashes);
            let probe = &self.probe;
            if counts.len() < probe.n_slots() {
                counts.resize(probe.n_slots(), 0);
            }
            touched.clear();
            for &h in hashes.iter() {
                if let Some(f) = probe.find(h) {
                    let c = &mut counts[f];
                    if *c == 0 {
                        touched.push(f);
                    }
                    *c = c.saturating_add(1);
                }
            }
            for &f in touched.iter() {
                let count = std::mem::take(&mut counts[f]);
                let slot = &probe.slots[f * probe.stride..(f + 1) * probe.stride];
                let v = tf_weight(u32::from(count), cfg.sublinear_tf) * f32::from_bits(slot[1]);
                norm2 += v * v;
                for (s, wk) in scores.iter_mut().zip(&slot[2..]) {
                    *s += v * f32::from_bits(*wk);
                }
            }
        });
        let inv = if norm2 > 0.0 { 1.0 / norm2.sqrt() } else { 0.0 };
        for (s, b) in scores.iter_mut().zip(&self.bias) {
            *s = *s * inv + b;
        }
        scores
    }

    /// All labels with confidences (softmax over scaled SVM scores, summing to 1), best
    /// first. Ties keep label order. Empty if the model has no labels.
    pub fn predict(&self, text: &str) -> Vec<(String, f32)> {
        let scores = self.scores(text);
        let scale = self.header.config.confidence_scale;
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| ((s - max) * scale).exp()).collect();
        let sum: f32 = exps.iter().sum();
        let mut out: Vec<(String, f32)> = self
            .header
            .labels
            .iter()
            .zip(exps)
            .map(|(l, e)| (l.clone(), if sum > 0.0 { e / sum } else { 0.0 }))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// The best label only (None if the model has no labels).
    pub fn predict_label(&self, text: &str) -> Option<&str> {
        let scores = self.scores(text);
        let mut best: Option<(usize, f32)> = None;
        for (i, &s) in scores.iter().enumerate() {
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((i, s));
            }
        }
        best.map(|(i, _)| self.header.labels[i].as_str())
    }

    /// Serialises the model: magic `SUQIUTXT`, format version (u32), a JSON header (labels,
    /// configuration, feature count), then little-endian arrays (hashes u64; per feature the
    /// idf and the class weights, f32; the class biases, f32) and an FNV-1a checksum (u64) of everything before it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let mut out =
            Vec::with_capacity(24 + header.len() + self.hashes.len() * 8 + self.table.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&MODEL_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for h in &self.hashes {
            out.extend_from_slice(&h.to_le_bytes());
        }
        for v in self.table.iter().chain(&self.bias) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads a model written by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, TextError> {
        let bad = |m: &str| TextError::ModelFormat(m.to_string());
        if bytes.len() < 24 || &bytes[..8] != MAGIC {
            return Err(bad("not a suqiu-text model (bad magic)"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().map_err(|_| bad("truncated"))?);
        if fnv1a(body) != stored {
            return Err(bad("checksum mismatch (corrupted model)"));
        }
        let mut r = Reader { buf: body, pos: 8 };
        let version = r.u32()?;
        if version != MODEL_FORMAT_VERSION {
            return Err(TextError::ModelFormat(format!(
                "unsupported model format version {version} (expected {MODEL_FORMAT_VERSION})"
            )));
        }
        let header_len = r.u32()? as usize;
        let header: Header = serde_json::from_slice(r.take(header_len)?)
            .map_err(|e| TextError::ModelFormat(format!("bad header: {e}")))?;
        let f = header.n_features;
        let k = header.labels.len();
        let mut hashes = Vec::with_capacity(f);
        for _ in 0..f {
            hashes.push(r.u64()?);
        }
        let table = r.f32s(f.checked_mul(k + 1).ok_or_else(|| bad("too large"))?)?;
        let bias = r.f32s(k)?;
        if r.pos != body.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(Model {
            probe: ProbeTable::build(&hashes, &table, k),
            header,
            hashes,
            table,
            bias,
        })
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TextError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| TextError::ModelFormat("truncated model".to_string()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, TextError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, TextError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, TextError> {
        let b = self.take(
            n.checked_mul(4)
                .ok_or_else(|| TextError::ModelFormat("too large".to_string()))?,
        )?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

/// Binary L2-loss SVM (class `k` against the rest) by dual coordinate descent. Returns the
/// weight vector and the bias (bias feature of constant value 1).
fn train_binary(
    rows: &Rows,
    y: &[usize],
    k: usize,
    counts: &[usize],
    n_features: usize,
    cfg: &TrainConfig,
) -> ClassWeights {
    let n = y.len();
    let mut w = vec![0f32; n_features];
    let mut b = 0f32;
    if n == 0 {
        return (w, b);
    }
    let n_pos = counts.get(k).copied().unwrap_or(0);
    let n_neg = n - n_pos;
    let (c_pos, c_neg) = if cfg.balanced && n_pos > 0 && n_neg > 0 {
        // Class weights n / (2 n_class), as scikit-learn's "balanced" for two classes.
        (
            cfg.c * n as f32 / (2.0 * n_pos as f32),
            cfg.c * n as f32 / (2.0 * n_neg as f32),
        )
    } else {
        (cfg.c, cfg.c)
    };
    let mut alpha = vec![0f32; n];
    let sign: Vec<f32> = y.iter().map(|&l| if l == k { 1.0 } else { -1.0 }).collect();
    let diag: Vec<f32> = sign
        .iter()
        .map(|&s| 0.5 / if s > 0.0 { c_pos } else { c_neg })
        .collect();
    let qii: Vec<f32> = (0..n)
        .map(|i| {
            let (_, v) = rows.row(i);
            v.iter().map(|x| x * x).sum::<f32>() + 1.0 + diag[i]
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(cfg.seed ^ mix64(k as u64 + 1));
    for _ in 0..cfg.epochs.max(1) {
        rng.shuffle(&mut order);
        let mut pg_max = f32::NEG_INFINITY;
        let mut pg_min = f32::INFINITY;
        for &i in &order {
            let (idx, val) = rows.row(i);
            let mut wx = b;
            for (&f, &v) in idx.iter().zip(val) {
                wx += w[f as usize] * v;
            }
            let yi = sign[i];
            let g = yi * wx - 1.0 + diag[i] * alpha[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qii[i]).max(0.0);
                let d = (alpha[i] - old) * yi;
                if d != 0.0 {
                    for (&f, &v) in idx.iter().zip(val) {
                        w[f as usize] += d * v;
                    }
                    b += d;
                }
            }
        }
        if pg_max - pg_min < cfg.tolerance {
            break;
        }
    }
    (w, b)
}
