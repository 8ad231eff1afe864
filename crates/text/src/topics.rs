//! Hot topics (热点问题): groups of residents' messages about one local problem, ranked
//! by a documented heat index.
//!
//! Pipeline ([`hot_topics`]):
//!
//! 1. **Places.** A hand-written scanner ([`scan_places`]) finds administrative tokens
//!    (`A市`, `A3区`, `A7县`: Latin letters + optional digits + 市/区/县/州) and place names
//!    ending in a place suffix (`小区`, `新城`, `苑`, `村`, `公司`, `学校`, … = *fine*
//!    places; `路`, `街`, `大道`, `镇`, `街道`, … = *coarse* places). A name runs back from
//!    its suffix to the preceding administrative token, punctuation or place name (at most
//!    8 characters, 4 when nothing anchors it), leading verbs such as 投诉/反映/关于 are
//!    stripped, and generic names (我们小区, 附近道路, …) are dropped. Adjacent names form
//!    a chain (`伊景园滨河苑`, `万家丽南路丽发新城小区`).
//! 2. **Text similarity.** TF-IDF (sublinear tf, smooth idf, L2) over hashed character
//!    2–3-grams of the normalised text (`features.rs`, digits kept) — once for the title,
//!    once for title + detail. `sim = 0.5 · cos(title) + 0.5 · cos(title + detail)`.
//!    Candidate pairs come from an inverted index over n-grams present in at most
//!    `max(32, n / 40)` messages, so the work grows with the number of pairs sharing rare
//!    n-grams, not with n².
//! 3. **Clustering.** Constrained single linkage: candidate pairs with `sim ≥ 0.36` are
//!    visited by decreasing similarity and their clusters merged (union-find) unless the
//!    clusters' places conflict: both name districts and neither's most frequent
//!    district is among the other's, or likewise for fine places (for coarse places when
//!    either side has no fine place). A cluster with no place is compatible with all.
//! 4. **Topics.** Clusters with at least 2 messages, ranked by heat (below); ties by
//!    earlier start, then by the smaller first message index. Fully deterministic.
//!
//! **Heat index.** With `n` messages, `u` distinct users (a message without `user` counts
//! as its own user), `L` likes, `D` dislikes and `s` the span in days between the first
//! and last message:
//!
//! ```text
//! support = u + 0.25 · (n − u)                  repeated posts by one user count a quarter
//! engage  = 1 + 0.1 · ln(1 + L + 0.5 · D)       public endorsement amplifies support
//! focus   = 0.6 + 0.4 · exp(−s / 60)            a burst is hotter than a slow trickle
//! heat    = support · engage · focus            (rounded to 2 decimals)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::features::{counted_hashes, FeatureConfig};
use crate::normalize::to_half_width;
use crate::TextError;

/// One resident message as used by [`hot_topics`].
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMessage {
    /// The message id as given in the input (number or string), echoed in the output.
    pub id: Value,
    /// The author, if known (used to count distinct users in the heat index).
    pub user: Option<String>,
    /// Seconds since 1970-01-01 00:00:00 of the (local, zone-less) message time; see
    /// [`parse_time`] and [`format_time`].
    pub time: i64,
    pub title: String,
    pub detail: String,
    pub likes: u64,
    pub dislikes: u64,
}

/// One hot topic. Serialises to the JSON contract
/// `{rank, heat, start, end, place, summary, message_ids}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topic {
    /// 1-based rank by heat.
    pub rank: usize,
    /// Heat index (see the module documentation).
    pub heat: f64,
    /// Earliest message time, `YYYY-MM-DD HH:MM:SS`.
    pub start: String,
    /// Latest message time, `YYYY-MM-DD HH:MM:SS`.
    pub end: String,
    /// The place the topic is about, e.g. `A市A2区丽发新城小区` (may be only `A市A4区`,
    /// or empty when no message names a place).
    pub place: String,
    /// The most representative title of the topic.
    pub summary: String,
    /// Ids of the member messages, in time order.
    pub message_ids: Vec<Value>,
    /// The place name without its administrative prefix (e.g. `丽发新城小区`); empty when
    /// the topic only has an administrative place. Not serialised.
    #[serde(skip)]
    pub place_name: String,
    /// The place key the topic was named after (e.g. `丽发新城`), as the scanner found it
    /// in the messages. Not serialised.
    #[serde(skip)]
    pub place_key: String,
    /// Indices of the member messages in the input slice, in time order. Not serialised.
    #[serde(skip)]
    pub members: Vec<usize>,
}

// ---------------------------------------------------------------------------------------
// Tunables (documented in the module docs and the README).

/// Stage 1: minimum problem similarity for linking two messages that name a common fine
/// place.
const SAME_PLACE_LINK: f32 = 0.1;
/// Stage 1: minimum problem similarity for linking two messages that do not.
const LINK: f32 = 0.25;
/// Stage 1: minimum problem similarity when one message names a fine place in its title
/// and the other names no fine place at all (the place-less one could bridge topics of
/// two places).
const WILDCARD_LINK: f32 = 0.35;
/// Stage 1b: minimum centroid similarity for merging two core clusters with the same main
/// fine place.
const SAME_PLACE_CORE_MERGE: f32 = 0.1;
/// Stage 1b: minimum centroid similarity for merging two core clusters otherwise.
const CORE_MERGE: f32 = 0.3;
/// Stage 2: minimum similarity between a message and the centroid of a cluster whose main
/// fine place the message names.
const SAME_PLACE_ATTACH: f32 = 0.085;
/// Stage 2: minimum similarity to the centroid otherwise.
const ATTACH: f32 = 0.25;
/// Stage 2 attaches messages of clusters smaller than this to clusters at least this big.
const CORE_SIZE: usize = 3;
/// How many times the title counts in the problem vector (titles state the problem).
const TITLE_REPEAT: u32 = 3;
/// Candidate pairs must reach this fraction of [`SAME_PLACE_LINK`] on the rare-n-gram
/// partial dot product before the exact similarity is computed.
const CANDIDATE_FRACTION: f32 = 0.4;
/// Smallest topic.
const MIN_MESSAGES: usize = 2;

// ---------------------------------------------------------------------------------------
// Time.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_num(s: &str, max_len: usize) -> Option<i64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `2019/2/28 11:25:05`, `2019-02-28 11:25:05`, `2019-02-28T11:25:05`,
/// `2019/2/28 11:25` or a bare date into seconds since 1970-01-01 (no time zone).
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, clock) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], text[i + 1..].trim()),
        None => (text, ""),
    };
    let parts: Vec<&str> = date.split(['/', '-', '.']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = (parse_num(y, 4)?, parse_num(m, 2)?, parse_num(d, 2)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if !clock.is_empty() {
        let t: Vec<&str> = clock.split(':').collect();
        match t.as_slice() {
            [h, mi] => {
                hh = parse_num(h, 2)?;
                mm = parse_num(mi, 2)?;
            }
            [h, mi, s] => {
                hh = parse_num(h, 2)?;
                mm = parse_num(mi, 2)?;
                // Tolerate fractional seconds.
                ss = parse_num(s.split('.').next().unwrap_or(s), 2)?;
            }
            _ => return None,
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Formats seconds since 1970-01-01 as `YYYY-MM-DD HH:MM:SS`.
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

// ---------------------------------------------------------------------------------------
// Input.

/// Reads JSON Lines records `{id, time, title, detail?, likes?, dislikes?, user?}` (other
/// fields are ignored, blank lines skipped). `id` must be a number or a string. Errors
/// name the file and the 1-based line.
pub fn read_topic_messages(path: &Path) -> Result<Vec<TopicMessage>, TextError> {
    let content = std::fs::read_to_string(path).map_err(|source| TextError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| TextError::BadLine {
            path: path.display().to_string(),
            line: i + 1,
            message,
        };
        out.push(parse_message(line).map_err(bad)?);
    }
    if out.is_empty() {
        return Err(TextError::Empty(path.display().to_string()));
    }
    Ok(out)
}

fn parse_count(value: &Value, name: &str) -> Result<u64, String> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(u)
            } else {
                match n.as_f64() {
                    Some(f) if f >= 0.0 && f.is_finite() => Ok(f.round() as u64),
                    _ => Err(format!("field `{name}` is not a non-negative number")),
                }
            }
        }
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("field `{name}` is not a non-negative number")),
        Some(_) => Err(format!("field `{name}` is not a non-negative number")),
    }
}

fn parse_message(line: &str) -> Result<TopicMessage, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    if !value.is_object() {
        return Err("record is not a JSON object".to_string());
    }
    let id = match value.get("id") {
        Some(v @ (Value::Number(_) | Value::String(_))) => v.clone(),
        Some(_) => return Err("field `id` is not a number or a string".to_string()),
        None => return Err("missing field `id`".to_string()),
    };
    let string = |name: &str, required: bool| -> Result<String, String> {
        match value.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) if !required => Ok(String::new()),
            Some(_) => Err(format!("field `{name}` is not a string")),
            None => Err(format!("missing field `{name}`")),
        }
    };
    let time_text = string("time", true)?;
    let time = parse_time(&time_text).ok_or_else(|| {
        format!("field `time` is not a date-time like `2019/2/28 11:25:05`: {time_text:?}")
    })?;
    let user = match value.get("user") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(TopicMessage {
        id,
        user,
        time,
        title: string("title", true)?,
        detail: string("detail", false)?,
        likes: parse_count(&value, "likes")?,
        dislikes: parse_count(&value, "dislikes")?,
    })
}

/// Reads `path` (see [`read_topic_messages`]) and returns the `top` hottest topics as a
/// JSON array of `{rank, heat, start, end, place, summary, message_ids}` (`top = 0`: all).
pub fn hot_topics_from_path(path: &Path, top: usize) -> Result<Value, TextError> {
    let messages = read_topic_messages(path)?;
    let topics = hot_topics(&messages, top);
    Ok(Value::Array(
        topics
            .iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------
// Place scanner.

/// Place mentions found in one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Places {
    /// City tokens such as `A市`, in order of appearance (repeats removed).
    pub cities: Vec<String>,
    /// District / county tokens such as `A3区`, `A7县`.
    pub districts: Vec<String>,
    /// Keys of fine places (estates, villages, schools, companies, …): the name with a
    /// trailing generic part (`小区`, `社区`, `二期`) removed, e.g. `丽发新城`.
    pub fine: Vec<String>,
    /// Keys of coarse places (roads, streets, towns).
    pub coarse: Vec<String>,
    /// Chains of adjacent place names as written, e.g. `万家丽南路丽发新城小区`, with the
    /// keys they contain.
    pub chains: Vec<(String, Vec<String>)>,
}

/// Fine place suffixes (longest first within a shared ending is handled by the matcher).
const FINE_SUFFIXES: &str = concat!(
    "小区 新城 花园 家园 公寓 大厦 广场 新村 村 社区 学校 小学 中学 ",
    "幼儿园 大学 学院 医院 公司 集团 工厂 厂 市场 公园 苑 园 城 府 郡 ",
    "湾 庭 庭院 居 墅 山庄 半岛 中心 酒店 宾馆 商场 超市 景区 大楼 公馆 ",
    "雅苑 华庭 组 寺 地铁站 火车站 汽车站 高铁站 公交站 车站"
);
/// Coarse place suffixes.
const COARSE_SUFFIXES: &str = "街道 大道 路 街 巷 镇 乡 桥 大桥 隧道 高速 片区";
/// Generic tails that extend the preceding name without changing its key.
const TAILS: &str = "小区 社区 一期 二期 三期 四期 五期 项目 片区 楼盘";
/// Words that cannot occur inside a name: the name starts after the last of them.
const CUT_WORDS: &str = concat!(
    "投诉 举报 反映 反应 关于 咨询 建议 希望 恳请 请求 要求 强烈 位于 ",
    "地处 座落 坐落 靠近 附近 本人 业主 居民 市民 住户 村民 请问 询问 ",
    "针对 处理 解决 整治 取缔 关注 督促 尽快 严重 周边 旁边 对面 门口 ",
    "整个 现在 目前 位置 属于 就读 入住 购买 拆迁 小区 社区 导致 影响 ",
    "进入 通往 前往 经过 建设 修建 调整 开展 打造 规划 属下 建成 整改 ",
    "实施 推进 配套 增加 设立 安装 改造 以西 以东 以南 以北 之间 对于 ",
    "其中 包括 以及 用地"
);
/// Characters that cannot occur inside a name: the name starts after the last of them.
const STOP_CHARS: &str = "的在是了与及对向把被从到给让为于将由说有无不没很都也还又就要会能可请问我你他她们这那该此些啥么吗呢吧啊系但而或等被已未个份";
/// Names (keys) that are too generic to identify a place.
const GENERIC: &str = concat!(
    "我们 这个 那个 整个 周边 附近 所在 所有 全市 全县 全区 农村 城市 ",
    "城乡 城区 市区 县城 乡镇 社区 小区 学校 公司 政府 相关 有关 当地 ",
    "本地 其他 一个 这些 那些 部分 多个 各个 一些 现在 目前 马路 道路 ",
    "公路 街道 一条 这条 那条 老旧 安置 回迁 新建 商品 物业 开发 高铁 ",
    "地铁 公交 火车 汽车 加油 收费 派出 卫生 服务 培训 民办 公办 私立 ",
    "公立 中心 几个 同一 物流 工业 产业 科技 文化 体育 养老 停车 农贸 菜 ",
    "居民 业主 开发商 本 城管 搅拌 垃圾 污水 水泥 城镇 投诉 举报 反映 ",
    "咨询 建议 配套 担保公司 投资公司"
);

fn is_generic(name: &str) -> bool {
    GENERIC.split(' ').any(|g| g == name)
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

fn is_name_char(c: char) -> bool {
    is_cjk(c) || c.is_ascii_alphanumeric()
}

fn starts_with_at(chars: &[char], i: usize, word: &str) -> bool {
    (i..)
        .zip(word.chars())
        .all(|(k, w)| chars.get(k) == Some(&w))
}

/// An administrative token at `i`: Latin letters (≤ 2) + digits (≤ 3) + 市/区/县/州, or
/// 经开区 / 高新区. Returns (token, length, whether it is a city).
fn admin_at(chars: &[char], i: usize) -> Option<(String, usize, bool)> {
    for zone in ["经开区", "高新区"] {
        if starts_with_at(chars, i, zone) {
            return Some((zone.to_string(), 3, false));
        }
    }
    let mut k = i;
    while k < chars.len() && k - i < 2 && chars[k].is_ascii_alphabetic() {
        k += 1;
    }
    if k == i || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
        return None;
    }
    let letters_end = k;
    while k < chars.len() && k - letters_end < 3 && chars[k].is_ascii_digit() {
        k += 1;
    }
    let kind = *chars.get(k)?;
    if !matches!(kind, '市' | '区' | '县' | '州') {
        return None;
    }
    // `A市巿` typo: skip a following 巿.
    let mut len = k + 1 - i;
    if chars.get(k + 1) == Some(&'巿') {
        len += 1;
    }
    let token: String = chars[i..letters_end]
        .iter()
        .map(|c| c.to_ascii_uppercase())
        .chain(chars[letters_end..=k].iter().copied())
        .collect();
    Some((token, len, kind == '市'))
}

/// The words of a space-separated list as character slices, computed once per list (the
/// scanner checks them at every place suffix of every text).
fn words(cell: &'static OnceLock<Vec<Vec<char>>>, list: &str) -> &'static [Vec<char>] {
    cell.get_or_init(|| list.split(' ').map(|w| w.chars().collect()).collect())
}

fn fine_suffixes() -> &'static [Vec<char>] {
    static CELL: OnceLock<Vec<Vec<char>>> = OnceLock::new();
    words(&CELL, FINE_SUFFIXES)
}

fn coarse_suffixes() -> &'static [Vec<char>] {
    static CELL: OnceLock<Vec<Vec<char>>> = OnceLock::new();
    words(&CELL, COARSE_SUFFIXES)
}

fn cut_words() -> &'static [Vec<char>] {
    static CELL: OnceLock<Vec<Vec<char>>> = OnceLock::new();
    words(&CELL, CUT_WORDS)
}

/// The longest suffix from `list` starting at `i`.
fn suffix_at(chars: &[char], i: usize, list: &[Vec<char>]) -> Option<usize> {
    let rest = chars.get(i..)?;
    let c = rest.first()?;
    list.iter()
        .filter(|w| w.first() == Some(c) && rest.starts_with(w))
        .map(Vec::len)
        .max()
}

/// Whether a single-character suffix at `i` is really the start of a common word.
fn false_suffix(chars: &[char], i: usize, len: usize) -> bool {
    if len != 1 {
        return false;
    }
    let next = chars.get(i + 1).copied().unwrap_or(' ');
    match chars[i] {
        '城' => "市管区乡镇际建轨".contains(next),
        '园' => "区林艺丁长所".contains(next),
        '村' => "民委干级组".contains(next),
        '厂' => "家商区房".contains(next),
        '站' => "点台长".contains(next),
        '组' => "织成建长".contains(next),
        '居' => "民住委然".contains(next),
        '湾' => false,
        '路' => "段口面灯况线上边过由费人".contains(next),
        '街' => "道头边面巷".contains(next),
        '乡' => "镇村下亲".contains(next),
        '镇' => "政村".contains(next),
        '桥' => "梁下上".contains(next),
        _ => false,
    }
}

fn strip_name(name: &[char]) -> &[char] {
    // Start after the last stop character.
    let mut start = 0;
    for (k, c) in name.iter().enumerate() {
        if STOP_CHARS.contains(*c) {
            start = k + 1;
        }
    }
    // Then after the last verb / generic word (投诉, 附近, 建设, …).
    let first = start;
    for k in first..name.len() {
        for w in cut_words() {
            if w.first() == Some(&name[k]) && name[k..].starts_with(w) {
                start = start.max(k + w.len());
            }
        }
    }
    &name[start.min(name.len())..]
}

/// Removes a trailing phase (`二期`, `3期`) from a name.
fn strip_phase(name: &str) -> &str {
    let Some(rest) = name.strip_suffix('期') else {
        return name;
    };
    let trimmed =
        rest.trim_end_matches(|c: char| c.is_ascii_digit() || "一二三四五六七八九十".contains(c));
    if trimmed.len() < rest.len() && trimmed.chars().count() >= 2 {
        trimmed
    } else {
        name
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Scans a text for administrative tokens and place names (see the module docs).
pub fn scan_places(text: &str) -> Places {
    scan(text).0
}

/// [`scan_places`], plus the text with the administrative tokens and place names
/// replaced by spaces (what the text says about the problem, not where).
pub(crate) fn scan(text: &str) -> (Places, String) {
    let chars: Vec<char> = text
        .chars()
        .map(to_half_width)
        .filter(|c| !matches!(c, '·' | '•' | '・' | '.'))
        .collect();
    let mut blank = vec![false; chars.len()];
    let mut places = Places::default();
    let n = chars.len();
    // Start of the current name region and whether it is anchored (after an
    // administrative token, punctuation / text start, or a previous name).
    let mut region_start = 0usize;
    let mut anchored = true;
    // The current chain: (surface, keys, end index).
    let mut chain: Option<(String, Vec<String>, usize)> = None;
    let flush = |chain: &mut Option<(String, Vec<String>, usize)>, places: &mut Places| {
        if let Some((surface, keys, _)) = chain.take() {
            if !keys.is_empty() && !places.chains.iter().any(|(s, _)| *s == surface) {
                places.chains.push((surface, keys));
            }
        }
    };
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if !is_name_char(c) {
            flush(&mut chain, &mut places);
            region_start = i + 1;
            anchored = true;
            i += 1;
            continue;
        }
        // A province (`西地省`) at the start of a region is a boundary.
        if i == region_start
            && chars.get(i + 2) == Some(&'省')
            && chars[i..i + 2].iter().all(|&c| is_cjk(c))
        {
            flush(&mut chain, &mut places);
            blank[i..i + 3].fill(true);
            i += 3;
            region_start = i;
            anchored = true;
            continue;
        }
        if let Some((token, len, is_city)) = admin_at(&chars, i) {
            if is_city {
                push_unique(&mut places.cities, token);
            } else {
                push_unique(&mut places.districts, token);
            }
            flush(&mut chain, &mut places);
            blank[i..i + len].fill(true);
            i += len;
            region_start = i;
            anchored = true;
            continue;
        }
        // A generic tail right after the chain extends its surface.
        if let Some((surface, _, end)) = chain.as_mut() {
            if *end == i {
                if let Some(tail) = TAILS.split(' ').find(|t| starts_with_at(&chars, i, t)) {
                    surface.push_str(tail);
                    let len = tail.chars().count();
                    blank[i..i + len].fill(true);
                    *end = i + len;
                    i += len;
                    region_start = i;
                    continue;
                }
            }
        }
        let fine = suffix_at(&chars, i, fine_suffixes());
        let coarse = suffix_at(&chars, i, coarse_suffixes());
        let (len, is_fine) = match (fine, coarse) {
            (Some(f), Some(c)) if c > f => (c, false),
            (Some(f), _) => (f, true),
            (None, Some(c)) => (c, false),
            (None, None) => {
                i += 1;
                continue;
            }
        };
        // A one-character suffix directly followed by a fine suffix is part of a longer
        // name (`金桥花园`, `湘府路小区`).
        let continues = len == 1 && suffix_at(&chars, i + 1, fine_suffixes()).is_some();
        if false_suffix(&chars, i, len) || i == region_start || continues {
            i += 1;
            continue;
        }
        let max_core = if anchored { 10 } else { 4 };
        let from = region_start.max(i.saturating_sub(max_core));
        let core = strip_name(&chars[from..i]);
        let core_str: String = core.iter().collect();
        let suffix: String = chars[i..i + len].iter().collect();
        let ok = core.len() >= 2
            && core.iter().filter(|c| is_cjk(**c)).count() >= 2
            && !is_generic(&core_str)
            && !core.iter().all(|c| c.is_ascii_digit());
        if !ok {
            i += len;
            region_start = i;
            continue;
        }
        // Key: the name without a generic tail (`丽发新城二期小区` → `丽发新城`).
        let key = if matches!(suffix.as_str(), "小区" | "社区") {
            strip_phase(&core_str).to_string()
        } else {
            format!("{core_str}{suffix}")
        };
        if key.chars().count() < 2 || is_generic(&key) || key.contains("政府") {
            i += len;
            region_start = i;
            continue;
        }
        let name_start = i - core.len();
        blank[name_start..i + len].fill(true);
        let surface = format!("{core_str}{suffix}");
        match chain.as_mut() {
            Some((s, keys, end)) if *end == name_start => {
                s.push_str(&surface);
                keys.push(key.clone());
                *end = i + len;
            }
            _ => {
                flush(&mut chain, &mut places);
                chain = Some((surface, vec![key.clone()], i + len));
            }
        }
        if is_fine {
            push_unique(&mut places.fine, key);
        } else {
            push_unique(&mut places.coarse, key);
        }
        i += len;
        region_start = i;
        anchored = true;
    }
    flush(&mut chain, &mut places);
    let stripped = chars
        .iter()
        .zip(&blank)
        .map(|(&c, &b)| if b { ' ' } else { c })
        .collect();
    (places, stripped)
}

// ---------------------------------------------------------------------------------------
// TF-IDF.

type SparseVec = Vec<(u32, f32)>;

/// Builds L2-normalised TF-IDF vectors over dense feature ids, and the document
/// frequencies.
fn tfidf(docs: &[Vec<(u64, u32)>]) -> (Vec<SparseVec>, Vec<u32>) {
    let mut ids: HashMap<u64, u32> = HashMap::new();
    let mut df: Vec<u32> = Vec::new();
    let mut mapped: Vec<Vec<(u32, u32)>> = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut v: Vec<(u32, u32)> = doc
            .iter()
            .map(|&(h, c)| {
                let next = ids.len() as u32;
                let id = *ids.entry(h).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                df[id as usize] += 1;
                (id, c)
            })
            .collect();
        v.sort_unstable_by_key(|&(id, _)| id);
        mapped.push(v);
    }
    let n = docs.len() as f32;
    let vecs = mapped
        .into_iter()
        .map(|doc| {
            // A feature of a single message cannot make two messages similar; keeping it
            // would only dilute the cosine of long messages.
            let mut v: SparseVec = doc
                .into_iter()
                .filter(|&(id, _)| df[id as usize] >= 2)
                .map(|(id, c)| {
                    let idf = ((1.0 + n) / (1.0 + df[id as usize] as f32)).ln() + 1.0;
                    (id, (1.0 + (c as f32).ln()) * idf)
                })
                .collect();
            let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (_, w) in &mut v {
                    *w /= norm;
                }
            }
            v
        })
        .collect();
    (vecs, df)
}

fn dot(a: &SparseVec, b: &SparseVec) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Pairs `(i, j)`, `i < j`, whose partial dot product over rare features reaches `min`.
fn candidate_pairs(vecs: &[SparseVec], df: &[u32], max_df: u32, min: f32) -> Vec<(u32, u32)> {
    let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); df.len()];
    for (d, v) in vecs.iter().enumerate() {
        for &(id, w) in v {
            let f = df[id as usize];
            if (2..=max_df).contains(&f) {
                postings[id as usize].push((d as u32, w));
            }
        }
    }
    let mut acc = vec![0f32; vecs.len()];
    let mut touched: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for (d, v) in vecs.iter().enumerate() {
        for &(id, w) in v {
            for &(e, we) in &postings[id as usize] {
                if (e as usize) <= d {
                    continue;
                }
                if acc[e as usize] == 0.0 {
                    touched.push(e);
                }
                acc[e as usize] += w * we;
            }
        }
        touched.sort_unstable();
        for &e in &touched {
            if acc[e as usize] >= min {
                out.push((d as u32, e));
            }
            acc[e as usize] = 0.0;
        }
        touched.clear();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Clustering.

/// Place key counts of a cluster.
#[derive(Default, Clone)]
struct PlaceCounts {
    districts: BTreeMap<String, u32>,
    /// Fine places named anywhere (title 2, detail 1).
    fine: BTreeMap<String, u32>,
    /// Fine places named in titles; details mention neighbouring places too often to
    /// veto a merge.
    titled_fine: BTreeMap<String, u32>,
    /// Coarse places named in titles.
    titled_coarse: BTreeMap<String, u32>,
}

fn top_key(m: &BTreeMap<String, u32>) -> Option<&String> {
    // Highest count; ties → smallest key (BTreeMap order, first maximum kept).
    let mut best: Option<(&String, u32)> = None;
    for (k, &c) in m {
        if best.is_none_or(|(_, bc)| c > bc) {
            best = Some((k, c));
        }
    }
    best.map(|(k, _)| k)
}

fn compatible_keys(a: &BTreeMap<String, u32>, b: &BTreeMap<String, u32>) -> bool {
    if a.is_empty() || b.is_empty() {
        return true;
    }
    top_key(a).is_some_and(|k| b.contains_key(k)) || top_key(b).is_some_and(|k| a.contains_key(k))
}

impl PlaceCounts {
    /// Counts of one message: a key named in the title weighs 2, in the detail 1.
    fn of(title: &Places, detail: &Places) -> PlaceCounts {
        let m = |a: &[String], b: &[String]| {
            let mut out: BTreeMap<String, u32> = BTreeMap::new();
            for k in a {
                *out.entry(k.clone()).or_default() += 2;
            }
            for k in b {
                *out.entry(k.clone()).or_default() += 1;
            }
            out
        };
        PlaceCounts {
            districts: m(&title.districts, &detail.districts),
            fine: m(&title.fine, &detail.fine),
            titled_fine: m(&title.fine, &[]),
            titled_coarse: m(&title.coarse, &[]),
        }
    }

    fn compatible(&self, other: &PlaceCounts) -> bool {
        if !compatible_keys(&self.districts, &other.districts) {
            return false;
        }
        if !self.titled_fine.is_empty() && !other.titled_fine.is_empty() {
            compatible_keys(&self.titled_fine, &other.titled_fine)
        } else {
            compatible_keys(&self.titled_coarse, &other.titled_coarse)
        }
    }

    fn shares_fine(&self, other: &PlaceCounts) -> bool {
        self.fine.keys().any(|k| other.fine.contains_key(k))
    }

    fn absorb(&mut self, other: PlaceCounts) {
        for (dst, src) in [
            (&mut self.districts, other.districts),
            (&mut self.fine, other.fine),
            (&mut self.titled_fine, other.titled_fine),
            (&mut self.titled_coarse, other.titled_coarse),
        ] {
            for (k, c) in src {
                *dst.entry(k).or_default() += c;
            }
        }
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Merges the clusters of `i` and `j` unless their places conflict.
fn union_compatible(
    parent: &mut [usize],
    counts: &mut [Option<PlaceCounts>],
    i: usize,
    j: usize,
) -> bool {
    let (a, b) = (find(parent, i), find(parent, j));
    if a == b {
        return false;
    }
    let ok = match (&counts[a], &counts[b]) {
        (Some(ca), Some(cb)) => ca.compatible(cb),
        _ => false,
    };
    if !ok {
        return false;
    }
    let (root, child) = if a < b { (a, b) } else { (b, a) };
    parent[child] = root;
    if let Some(cc) = counts[child].take() {
        if let Some(cr) = counts[root].as_mut() {
            cr.absorb(cc);
        }
    }
    true
}

/// Groups by root (groups keyed by root, members ascending) and the root of every item.
fn components(parent: &mut [usize]) -> (BTreeMap<usize, Vec<usize>>, Vec<usize>) {
    let n = parent.len();
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut root_of = vec![0usize; n];
    for (i, root) in root_of.iter_mut().enumerate() {
        *root = find(parent, i);
        groups.entry(*root).or_default().push(i);
    }
    (groups, root_of)
}

/// Per-message features shared by clustering and topic description.
struct Prepared {
    /// TF-IDF of the character bigrams of title (×3) + detail with places removed: what
    /// the message says about the problem.
    vecs: Vec<SparseVec>,
    df: Vec<u32>,
    title_places: Vec<Places>,
    detail_places: Vec<Places>,
    counts: Vec<PlaceCounts>,
}

fn merge_counts(title: &[(u64, u32)], detail: &[(u64, u32)]) -> Vec<(u64, u32)> {
    let mut out: BTreeMap<u64, u32> = detail.iter().copied().collect();
    for &(h, c) in title {
        *out.entry(h).or_default() += TITLE_REPEAT * c;
    }
    out.into_iter().collect()
}

fn prepare(messages: &[TopicMessage]) -> Prepared {
    let cfg = FeatureConfig {
        char_ngram_min: 2,
        char_ngram_max: 2,
        word_ngrams: 0,
        fold_digits: false,
    };
    let mut docs = Vec::with_capacity(messages.len());
    let mut title_places = Vec::with_capacity(messages.len());
    let mut detail_places = Vec::with_capacity(messages.len());
    for m in messages {
        let (tp, title) = scan(&m.title);
        let (dp, detail) = scan(&m.detail);
        docs.push(merge_counts(
            &counted_hashes(&title, &cfg),
            &counted_hashes(&detail, &cfg),
        ));
        title_places.push(tp);
        detail_places.push(dp);
    }
    let (vecs, df) = tfidf(&docs);
    let counts = title_places
        .iter()
        .zip(&detail_places)
        .map(|(t, d)| PlaceCounts::of(t, d))
        .collect();
    Prepared {
        vecs,
        df,
        title_places,
        detail_places,
        counts,
    }
}

fn centroid<'a>(vecs: impl Iterator<Item = &'a SparseVec>) -> SparseVec {
    let mut sum: BTreeMap<u32, f32> = BTreeMap::new();
    for v in vecs {
        for &(id, w) in v {
            *sum.entry(id).or_default() += w;
        }
    }
    let norm = sum.values().map(|w| w * w).sum::<f32>().sqrt();
    sum.into_iter()
        .map(|(id, w)| (id, if norm > 0.0 { w / norm } else { 0.0 }))
        .collect()
}

/// Clusters the messages; returns groups of message indices (each sorted, groups in
/// order of their first index).
fn cluster(p: &Prepared) -> Vec<Vec<usize>> {
    let n = p.vecs.len();
    let max_df = (n as u32 / 40).max(32);
    let min = SAME_PLACE_LINK * CANDIDATE_FRACTION;
    let cands = candidate_pairs(&p.vecs, &p.df, max_df, min);
    let mut neighbours: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut edges: Vec<(f32, u32, u32)> = Vec::new();
    for (i, j) in cands {
        let (a, b) = (i as usize, j as usize);
        neighbours[a].push(j);
        neighbours[b].push(i);
        let s = dot(&p.vecs[a], &p.vecs[b]);
        let (ca, cb) = (&p.counts[a], &p.counts[b]);
        let threshold = if ca.shares_fine(cb) {
            SAME_PLACE_LINK
        } else if ca.titled_fine.is_empty() != cb.titled_fine.is_empty()
            && (ca.fine.is_empty() || cb.fine.is_empty())
        {
            WILDCARD_LINK
        } else {
            LINK
        };
        if s >= threshold {
            edges.push((s, i, j));
        }
    }
    edges.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

    // Stage 1: constrained single linkage.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut counts: Vec<Option<PlaceCounts>> = p.counts.iter().cloned().map(Some).collect();
    for (_, i, j) in edges {
        union_compatible(&mut parent, &mut counts, i as usize, j as usize);
    }
    // Stage 1b: merge core clusters whose centroids are similar (two halves of one topic
    // that no single pair of messages bridges).
    let (groups, _) = components(&mut parent);
    let core_centroids: BTreeMap<usize, SparseVec> = groups
        .iter()
        .filter(|(_, g)| g.len() >= CORE_SIZE)
        .map(|(&root, g)| (root, centroid(g.iter().map(|&i| &p.vecs[i]))))
        .collect();
    let mut core_pairs: Vec<(usize, usize)> = Vec::new();
    for (&root, g) in &groups {
        if !core_centroids.contains_key(&root) {
            continue;
        }
        for &m in g {
            for &e in &neighbours[m] {
                let r = find(&mut parent, e as usize);
                if r > root && core_centroids.contains_key(&r) {
                    core_pairs.push((root, r));
                }
            }
        }
    }
    core_pairs.sort_unstable();
    core_pairs.dedup();
    let mut core_edges: Vec<(f32, usize, usize)> = core_pairs
        .into_iter()
        .filter_map(|(a, b)| {
            let (ca, cb) = (core_centroids.get(&a)?, core_centroids.get(&b)?);
            let s = dot(ca, cb);
            let same = match (&counts[a], &counts[b]) {
                (Some(x), Some(y)) => top_key(&x.fine).is_some_and(|k| top_key(&y.fine) == Some(k)),
                _ => false,
            };
            let threshold = if same {
                SAME_PLACE_CORE_MERGE
            } else {
                CORE_MERGE
            };
            (s >= threshold).then_some((s, a, b))
        })
        .collect();
    core_edges.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, i, j) in core_edges {
        union_compatible(&mut parent, &mut counts, i, j);
    }
    let (mut groups, root_of) = components(&mut parent);

    // Stage 2: attach messages of small clusters to the core cluster whose centroid they
    // are closest to (centroids and places of stage 1, so the order does not matter).
    let cores: BTreeMap<usize, (SparseVec, Option<String>)> = groups
        .iter()
        .filter(|(_, g)| g.len() >= CORE_SIZE)
        .map(|(&root, g)| {
            let c = centroid(g.iter().map(|&i| &p.vecs[i]));
            let key = counts[root]
                .as_ref()
                .and_then(|pc| top_key(&pc.fine).cloned());
            (root, (c, key))
        })
        .collect();
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (&root, (_, key)) in &cores {
        if let Some(k) = key {
            by_key.entry(k.as_str()).or_default().push(root);
        }
    }
    let mut moves: Vec<(usize, usize)> = Vec::new();
    for g in groups.values() {
        if g.len() >= CORE_SIZE {
            continue;
        }
        for &m in g {
            let mut cand: Vec<usize> = neighbours[m]
                .iter()
                .map(|&e| root_of[e as usize])
                .filter(|r| cores.contains_key(r))
                .collect();
            for k in p.counts[m].fine.keys() {
                if let Some(rs) = by_key.get(k.as_str()) {
                    cand.extend(rs);
                }
            }
            cand.sort_unstable();
            cand.dedup();
            let mut best: Option<(f32, usize)> = None;
            for r in cand {
                let Some((c, key)) = cores.get(&r) else {
                    continue;
                };
                let same_place = key
                    .as_ref()
                    .is_some_and(|k| p.counts[m].fine.contains_key(k));
                let threshold = if same_place {
                    SAME_PLACE_ATTACH
                } else {
                    ATTACH
                };
                let s = dot(&p.vecs[m], c);
                let compatible = counts[r]
                    .as_ref()
                    .is_some_and(|pc| pc.compatible(&p.counts[m]));
                if s >= threshold && compatible && best.is_none_or(|(bs, _)| s > bs) {
                    best = Some((s, r));
                }
            }
            if let Some((_, r)) = best {
                moves.push((m, r));
            }
        }
    }
    for (m, r) in moves {
        let old = root_of[m];
        if let Some(g) = groups.get_mut(&old) {
            g.retain(|&x| x != m);
        }
        if let Some(g) = groups.get_mut(&r) {
            g.push(m);
        }
    }
    groups
        .into_values()
        .filter(|g| !g.is_empty())
        .map(|mut g| {
            g.sort_unstable();
            g
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Topic description and heat.

/// The heat index of a group of messages (see the module documentation).
pub fn heat_index(messages: &[&TopicMessage]) -> f64 {
    let n = messages.len() as f64;
    let mut users: Vec<&str> = Vec::new();
    let mut anonymous = 0usize;
    for m in messages {
        match &m.user {
            Some(u) => users.push(u),
            None => anonymous += 1,
        }
    }
    users.sort_unstable();
    users.dedup();
    let u = (users.len() + anonymous) as f64;
    let likes: f64 = messages.iter().map(|m| m.likes as f64).sum();
    let dislikes: f64 = messages.iter().map(|m| m.dislikes as f64).sum();
    let start = messages.iter().map(|m| m.time).min().unwrap_or(0);
    let end = messages.iter().map(|m| m.time).max().unwrap_or(0);
    let span_days = (end - start) as f64 / 86_400.0;
    let support = u + 0.25 * (n - u);
    let engage = 1.0 + 0.1 * (1.0 + likes + 0.5 * dislikes).ln();
    let focus = 0.6 + 0.4 * (-span_days / 60.0).exp();
    (support * engage * focus * 100.0).round() / 100.0
}

/// The most frequent key over the members, ranked by (messages naming it in the title,
/// messages naming it anywhere), then longer, then smaller. Only keys named by at least
/// `need` messages qualify.
fn best_key(
    members: &[usize],
    title: &[&[String]],
    detail: &[&[String]],
    need: usize,
) -> Option<(String, usize)> {
    let mut counts: BTreeMap<&String, (usize, usize)> = BTreeMap::new();
    for &i in members {
        for k in title[i] {
            counts.entry(k).or_default().0 += 1;
        }
        for k in title[i].iter().chain(detail[i].iter()) {
            counts.entry(k).or_default();
        }
        let mut seen: Vec<&String> = title[i].iter().chain(detail[i].iter()).collect();
        seen.sort_unstable();
        seen.dedup();
        for k in seen {
            counts.entry(k).or_default().1 += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, (_, any))| *any >= need)
        .max_by(|a, b| {
            (a.1)
                .cmp(&b.1)
                .then(a.0.chars().count().cmp(&b.0.chars().count()))
                .then(b.0.cmp(a.0))
        })
        .map(|(k, (_, any))| (k.clone(), any))
}

/// `(place, place_name, key)` of a topic: city + district + the most common written form
/// of the most frequent fine place (else coarse place).
fn describe_place(members: &[usize], p: &Prepared) -> (String, String, String) {
    let need = members.len().div_ceil(4);
    let get = |f: fn(&Places) -> &[String]| -> (Vec<&[String]>, Vec<&[String]>) {
        (
            p.title_places.iter().map(f).collect(),
            p.detail_places.iter().map(f).collect(),
        )
    };
    let (tc, dc) = get(|x| &x.cities);
    let city = best_key(members, &tc, &dc, 1)
        .map(|(k, _)| k)
        .unwrap_or_default();
    let (td, dd) = get(|x| &x.districts);
    let district = best_key(members, &td, &dd, need)
        .map(|(k, _)| k)
        .unwrap_or_default();
    let (tf, df) = get(|x| &x.fine);
    let (tco, dco) = get(|x| &x.coarse);
    // A place named only in details must be named by half of the members (details
    // mention neighbouring places and landmarks too).
    let titled = |k: &Option<(String, usize)>, t: &[&[String]]| {
        k.as_ref().is_some_and(|(k, any)| {
            *any * 2 >= members.len() || members.iter().any(|&i| t[i].contains(k))
        })
    };
    let fine = best_key(members, &tf, &df, need).filter(|k| titled(&Some(k.clone()), &tf));
    let coarse = best_key(members, &tco, &dco, need).filter(|k| titled(&Some(k.clone()), &tco));
    let title_count = |key: &Option<(String, usize)>, t: &[&[String]]| {
        key.as_ref().map_or(0, |(k, _)| {
            members.iter().filter(|&&i| t[i].contains(k)).count()
        })
    };
    let key = if title_count(&coarse, &tco) > title_count(&fine, &tf) {
        coarse
    } else {
        fine.or(coarse)
    }
    .map(|(k, _)| k);
    let Some(key) = key else {
        return (format!("{city}{district}"), String::new(), String::new());
    };
    let mut forms: BTreeMap<&String, (usize, usize)> = BTreeMap::new();
    for &i in members {
        for (places, title) in [(&p.title_places[i], true), (&p.detail_places[i], false)] {
            for (surface, keys) in &places.chains {
                if keys.contains(&key) {
                    let e = forms.entry(surface).or_default();
                    if title {
                        e.0 += 1;
                    } else {
                        e.1 += 1;
                    }
                }
            }
        }
    }
    let name = forms
        .into_iter()
        .max_by(|a, b| {
            (a.1 .0 + a.1 .1)
                .cmp(&(b.1 .0 + b.1 .1))
                .then(a.1 .0.cmp(&b.1 .0))
                .then(b.0.chars().count().cmp(&a.0.chars().count()))
                .then(b.0.cmp(a.0))
        })
        .map(|(s, _)| s.clone())
        .unwrap_or_else(|| key.clone());
    (format!("{city}{district}{name}"), name, key)
}

/// The member whose title is closest to the centroid of the members' full vectors,
/// preferring titles that name the topic's place key.
fn representative(members: &[usize], messages: &[TopicMessage], p: &Prepared, key: &str) -> usize {
    let centroid = centroid(members.iter().map(|&i| &p.vecs[i]));
    let mut best = (
        false,
        f32::NEG_INFINITY,
        members.first().copied().unwrap_or(0),
    );
    for &i in members {
        let named = !key.is_empty() && messages[i].title.contains(key);
        let s = dot(&p.vecs[i], &centroid);
        if (named, s) > (best.0, best.1) {
            best = (named, s, i);
        }
    }
    best.2
}

/// Groups `messages` into hot topics and returns the `top` hottest (`top = 0`: all topics
/// of at least 2 messages), ranked by heat. Deterministic.
pub fn hot_topics(messages: &[TopicMessage], top: usize) -> Vec<Topic> {
    if messages.is_empty() {
        return Vec::new();
    }
    let prepared = prepare(messages);
    let groups = cluster(&prepared);
    let mut topics: Vec<(f64, i64, usize, Vec<usize>)> = groups
        .into_iter()
        .filter(|g| g.len() >= MIN_MESSAGES)
        .map(|mut g| {
            g.sort_by_key(|&i| (messages[i].time, i));
            let refs: Vec<&TopicMessage> = g.iter().map(|&i| &messages[i]).collect();
            let heat = heat_index(&refs);
            let start = refs.iter().map(|m| m.time).min().unwrap_or(0);
            let first = g.iter().copied().min().unwrap_or(0);
            (heat, start, first, g)
        })
        .collect();
    topics.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    if top > 0 {
        topics.truncate(top);
    }
    topics
        .into_iter()
        .enumerate()
        .map(|(k, (heat, start, _, members))| {
            let end = members
                .iter()
                .map(|&i| messages[i].time)
                .max()
                .unwrap_or(start);
            let (place, place_name, key) = describe_place(&members, &prepared);
            let rep = representative(&members, messages, &prepared, &key);
            Topic {
                rank: k + 1,
                heat,
                start: format_time(start),
                end: format_time(end),
                place,
                summary: messages[rep].title.trim().to_string(),
                message_ids: members.iter().map(|&i| messages[i].id.clone()).collect(),
                place_name,
                place_key: key,
                members,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip() {
        let t = parse_time("2019/2/28 11:25:05");
        assert_eq!(t, parse_time("2019-02-28 11:25:05"));
        assert_eq!(t.map(format_time).as_deref(), Some("2019-02-28 11:25:05"));
        assert_eq!(
            parse_time("2020/1/2").map(format_time).as_deref(),
            Some("2020-01-02 00:00:00")
        );
        assert_eq!(parse_time("2019/2/30 10:00:00"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2019/2/28 25:00:00"), None);
    }

    #[test]
    fn scanner_finds_places() {
        let p = scan_places("A市A2区丽发新城小区附近搅拌站噪音扰民");
        assert_eq!(p.cities, vec!["A市"]);
        assert_eq!(p.districts, vec!["A2区"]);
        assert_eq!(p.fine, vec!["丽发新城"]);
        assert_eq!(p.chains[0].0, "丽发新城小区");

        let p = scan_places("反映A7县春华镇金鼎村水泥路、自来水到户的问题");
        assert_eq!(p.districts, vec!["A7县"]);
        assert_eq!(p.coarse, vec!["春华镇"]);
        assert_eq!(p.fine, vec!["金鼎村"]);
        assert_eq!(p.chains[0].0, "春华镇金鼎村");

        let p = scan_places("投诉小区附近搅拌站噪音扰民");
        assert!(p.fine.is_empty(), "{p:?}");

        let p = scan_places("A市伊景园·滨河苑捆绑销售车位");
        assert_eq!(p.fine, vec!["伊景园", "滨河苑"]);
        assert_eq!(p.chains[0].0, "伊景园滨河苑");
    }
}
