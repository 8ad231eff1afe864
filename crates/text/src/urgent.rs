//! Urgent signals at intake (紧急信号): configurable keyword rules that flag a message
//! reporting a danger to life or a possible mass incident, so that it is not queued like
//! an ordinary case.
//!
//! A [`SignalRule`] has a name (zh), a list of **required groups** of alternatives (every
//! group must match, one alternative of a group is enough), an optional proximity window
//! (`within` characters covering one match of every group) and **exclusions**: phrases
//! masked before matching (`火灾隐患`, `跳楼价`, …).
//!
//! The text is normalised ([`crate::normalize`]: half-width, lower case, phone / ID numbers
//! masked) and its spaces are removed, so raw and word-segmented forms match alike;
//! punctuation stays and ends a clause.
//!
//! An occurrence of an alternative does not count when a **negation or hypothetical cue**
//! ([`UrgentRules::negations`]: 没有, 未, 并非, 防止, 一旦, 如果, 担心, 隐患, …) ends at
//! most [`UrgentRules::negation_window`] characters before it in the same clause:
//! "没有燃气泄漏", "燃气没有泄漏", "一旦发生火灾后果不堪设想" do not fire, "楼道里燃气泄漏，
//! 味道很大" does.
//!
//! In an alternative, `#` stands for a number: a run of ASCII digits or of the characters
//! `一二三四五六七八九十百千两几数` (`#名工人` matches `30名工人`, `几十名工人`).
//!
//! [`UrgentRules::default`] holds the documented default signals (see the README for the
//! list and the measured false-positive rate); [`UrgentRules::from_json`] and
//! [`UrgentRules::from_toml`] load other rules.

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;
use crate::TextError;

/// One danger signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRule {
    /// Name shown to the caseworker, e.g. `燃气泄漏`.
    pub name: String,
    /// Required groups of alternatives: every group must match (AND), any alternative of a
    /// group is enough (OR).
    pub all: Vec<Vec<String>>,
    /// Phrases masked before matching (their keywords never count).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Maximum span in characters of one match of every group (`None`: anywhere in the
    /// text).
    #[serde(default)]
    pub within: Option<usize>,
}

/// A fired signal: its name and the alternatives that matched (one per group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    pub matched: Vec<String>,
}

/// The rule set. Serialises to / loads from JSON or TOML:
///
/// ```toml
/// negations = ["没有", "未", "防止"]
/// negation_window = 4
///
/// [[signals]]
/// name = "燃气泄漏"
/// all = [["燃气", "煤气"], ["泄漏", "泄露"]]
/// within = 12
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrgentRules {
    /// Negation / hypothetical cues (see the module documentation).
    #[serde(default)]
    pub negations: Vec<String>,
    /// How many characters may lie between a cue and the keyword it voids.
    #[serde(default = "default_negation_window")]
    pub negation_window: usize,
    /// Only the first `max_chars` characters of the normalised text (title + start of the
    /// detail) are checked; 0 = the whole text. A resident in danger says so at once,
    /// while long petitions mention fires or violence of the past in passing.
    #[serde(default = "default_max_chars")]
    pub max_chars: usize,
    pub signals: Vec<SignalRule>,
}

fn default_negation_window() -> usize {
    4
}

fn default_max_chars() -> usize {
    200
}

fn words(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_string).collect()
}

fn rule(name: &str, groups: &[&str], exclude: &str, within: Option<usize>) -> SignalRule {
    SignalRule {
        name: name.to_string(),
        all: groups.iter().map(|g| words(g)).collect(),
        exclude: words(exclude),
        within,
    }
}

impl Default for UrgentRules {
    /// The default signals (names and keyword groups are listed in the README).
    fn default() -> Self {
        let signals = vec![
            rule(
                "威胁生命安全",
                &[
                    "杀了你 杀死你 杀了他 杀了她 砍死 弄死 要杀 扬言杀 同归于尽 报复社会 \
                   炸死 炸掉 放火烧 泼汽油 浇汽油 命悬一线 生命垂危",
                ],
                "",
                None,
            ),
            rule(
                "暴力伤害",
                &["持刀 砍伤 刀砍 捅伤 捅死 围殴 群殴 行凶 暴打 家暴 家庭暴力 正在打人"],
                "暴力执法 暴力拆迁 暴力催收 暴力装卸 暴力分拣",
                None,
            ),
            rule(
                "燃气泄漏",
                &[
                    "燃气 煤气 天然气 液化气 煤气罐 气罐 液化石油气 管道气",
                    "泄漏 泄露 漏气 外泄 气味 味道 爆炸",
                ],
                "气味难闻 燃气费 天然气费 燃气公司 天然气公司",
                Some(12),
            ),
            rule(
                "爆炸",
                &["爆炸 炸药 雷管 爆燃"],
                "信息爆炸 爆炸性 爆炸式",
                None,
            ),
            rule(
                "火灾",
                &["起火 着火 失火 火情 火势 烧起来 发生火灾 突发火灾 火灾现场"],
                "火车 火灾隐患 消防隐患 防火 火灾风险 火灾事故隐患 消防安全隐患 火灾报警 \
                 火灾自动报警",
                None,
            ),
            rule(
                "房屋倒塌",
                &["倒塌 坍塌 垮塌 塌方 塌陷 摇摇欲坠"],
                "危房改造 危房改建 危房补助 危房鉴定",
                None,
            ),
            rule(
                "自杀轻生",
                &[
                    "自杀 轻生 跳楼 跳河 跳江 寻死 不想活 活不下去 割腕 喝农药 服毒 \
                   以死相逼 一死了之 结束生命 结束自己的生命",
                ],
                "跳楼价 跳楼甩卖 跳楼大甩卖",
                None,
            ),
            rule(
                "触电",
                &["触电 电死 被电击 电击 被电到 电伤 漏电"],
                "",
                None,
            ),
            rule(
                "溺水洪涝",
                &["溺水 淹死 溺亡 山洪暴发 决堤 溃坝 漫堤 被洪水 被淹 水淹进 泥石流 山体滑坡"],
                "防汛 防洪",
                None,
            ),
            rule("中毒", &["中毒"], "慢性中毒", None),
            rule(
                "农民工群体欠薪",
                &[
                    "农民工 民工 工人 工友 务工人员 施工人员",
                    "欠薪 讨薪 拖欠工资 欠工资 工资拖欠 拖欠 讨要工资 工钱 没发工资 \
                     未发工资 不发工资 没有发工资 血汗钱",
                    "群体 多人 集体讨薪 集体讨要 #多名 #余名 #名工人 #名农民工 #名民工 #多人 \
                     #余人 #个工人 #位工人 #位农民工 几十 上百 数十 一百多 很多工人 众多 \
                     所有工人 全体工人",
                ],
                "",
                None,
            ),
            rule(
                "群体性事件",
                &["群体性事件 集体上访 围堵政府 堵路 拉横幅 冲突升级"],
                "",
                None,
            ),
        ];
        UrgentRules {
            negations: words(
                "没有 没 无 未 不是 并非 并未 并没有 不存在 不会 排除 杜绝 防止 预防 避免 以防 \
                 以免 防范 担心 害怕 怕 可能 容易 隐患 万一 一旦 如果 若 假如 以防万一 \
                 造成 导致 引发 存在 曾 曾经 历年 年年 常年 往年 去年 当年 以前 之前",
            ),
            negation_window: default_negation_window(),
            max_chars: default_max_chars(),
            signals,
        }
    }
}

/// One token of a compiled alternative.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Char(char),
    Number,
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || "一二三四五六七八九十百千两几数".contains(c)
}

fn compile(pattern: &str) -> Vec<Tok> {
    normalize(pattern)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '#' { Tok::Number } else { Tok::Char(c) })
        .collect()
}

/// Length of the match of `pat` at `i`, if any.
fn match_at(text: &[char], i: usize, pat: &[Tok]) -> Option<usize> {
    let mut k = i;
    for tok in pat {
        match *tok {
            Tok::Char(c) => {
                if text.get(k) != Some(&c) {
                    return None;
                }
                k += 1;
            }
            Tok::Number => {
                let n = text[k.min(text.len())..]
                    .iter()
                    .take_while(|&&c| is_number_char(c))
                    .count();
                if n == 0 {
                    return None;
                }
                k += n;
            }
        }
    }
    (k > i).then_some(k - i)
}

fn find_all(text: &[char], pat: &[Tok]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if pat.is_empty() {
        return out;
    }
    let leading_number = pat.first() == Some(&Tok::Number);
    for i in 0..text.len() {
        // A leading number starts at the beginning of its run.
        if leading_number && i > 0 && is_number_char(text[i - 1]) {
            continue;
        }
        if let Some(len) = match_at(text, i, pat) {
            out.push((i, i + len));
        }
    }
    out
}

fn is_clause_end(c: char) -> bool {
    !(c.is_alphanumeric() || c == '#' || c == '<' || c == '>')
}

impl UrgentRules {
    /// Parses rules from JSON (the same shape as the TOML of [`UrgentRules`]).
    pub fn from_json(text: &str) -> Result<UrgentRules, TextError> {
        serde_json::from_str(text).map_err(|e| TextError::Rules(e.to_string()))
    }

    /// Parses rules from TOML.
    pub fn from_toml(text: &str) -> Result<UrgentRules, TextError> {
        toml::from_str(text).map_err(|e| TextError::Rules(e.to_string()))
    }

    /// The rules as pretty JSON (e.g. to start a custom rule file from the defaults).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The signals that fire on `text`, in rule order.
    pub fn check(&self, text: &str) -> Vec<Signal> {
        let limit = if self.max_chars == 0 {
            usize::MAX
        } else {
            self.max_chars
        };
        let text: Vec<char> = normalize(text)
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(limit)
            .collect();
        let negations: Vec<Vec<Tok>> = self.negations.iter().map(|n| compile(n)).collect();
        // Positions where a negation cue ends.
        let mut neg_end = vec![false; text.len() + 1];
        for n in &negations {
            for (_, end) in find_all(&text, n) {
                neg_end[end] = true;
            }
        }
        let negated = |start: usize| {
            (0..=self.negation_window).any(|gap| {
                let Some(end) = start.checked_sub(gap) else {
                    return false;
                };
                // The cue must be in the same clause as the keyword.
                neg_end[end] && text[end..start].iter().all(|&c| !is_clause_end(c))
            })
        };
        let mut out = Vec::new();
        for rule in &self.signals {
            let mut masked = vec![false; text.len()];
            for e in &rule.exclude {
                for (s, t) in find_all(&text, &compile(e)) {
                    masked[s..t].fill(true);
                }
            }
            // Per group: (start, end, alternative) of every valid occurrence.
            let mut groups: Vec<Vec<(usize, usize, &str)>> = Vec::new();
            for group in &rule.all {
                let mut hits = Vec::new();
                for alt in group {
                    for (s, t) in find_all(&text, &compile(alt)) {
                        if !masked[s..t].iter().any(|&m| m) && !negated(s) {
                            hits.push((s, t, alt.as_str()));
                        }
                    }
                }
                if hits.is_empty() {
                    break;
                }
                hits.sort_unstable();
                groups.push(hits);
            }
            if groups.is_empty() || groups.len() < rule.all.len() {
                continue;
            }
            if let Some(matched) = best_combination(&groups, rule.within) {
                out.push(Signal {
                    name: rule.name.clone(),
                    matched,
                });
            }
        }
        out
    }

    /// Whether any signal fires.
    pub fn is_urgent(&self, text: &str) -> bool {
        !self.check(text).is_empty()
    }
}

/// One occurrence per group: the first occurrences, or, with a window, the first anchor
/// occurrence of the first group around which every other group has an occurrence such
/// that the whole span fits in the window.
fn best_combination(
    groups: &[Vec<(usize, usize, &str)>],
    within: Option<usize>,
) -> Option<Vec<String>> {
    let Some(window) = within else {
        return Some(
            groups
                .iter()
                .filter_map(|g| g.first().map(|h| h.2.to_string()))
                .collect(),
        );
    };
    let first = groups.first()?;
    for anchor in first {
        let mut chosen = vec![anchor.2.to_string()];
        let (mut lo, mut hi) = (anchor.0, anchor.1);
        let mut ok = true;
        for g in &groups[1..] {
            // The occurrence that keeps the span smallest.
            let best = g
                .iter()
                .map(|h| (h.1.max(hi) - h.0.min(lo), h))
                .min_by_key(|(span, _)| *span);
            match best {
                Some((span, h)) if span <= window => {
                    lo = lo.min(h.0);
                    hi = hi.max(h.1);
                    chosen.push(h.2.to_string());
                }
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some(chosen);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(rules: &UrgentRules, text: &str) -> Vec<String> {
        rules.check(text).into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn number_patterns() {
        let pat = compile("#名工人");
        let text: Vec<char> = "有30名工人和几十名工人".chars().collect();
        assert_eq!(find_all(&text, &pat).len(), 2);
        assert!(find_all(&"名工人".chars().collect::<Vec<_>>(), &pat).is_empty());
    }

    #[test]
    fn gas_leak_and_negation() {
        let r = UrgentRules::default();
        assert_eq!(
            names(&r, "我家楼道里燃气泄漏，味道很大，请马上处理"),
            ["燃气泄漏"]
        );
        assert_eq!(names(&r, "煤气 管道 漏气 很 严重"), ["燃气泄漏"]);
        assert!(names(&r, "经检查没有燃气泄漏，请放心").is_empty());
        assert!(names(&r, "燃气公司上门检查，燃气没有泄漏").is_empty());
        assert!(names(&r, "天然气费太贵了，个人信息也被泄露了，要求查处").is_empty());
    }

    #[test]
    fn window_and_loading() {
        let json = r#"{"negations": ["没有"], "signals": [
            {"name": "燃气泄漏", "all": [["燃气"], ["泄漏"]], "within": 6}]}"#;
        let r = UrgentRules::from_json(json).ok();
        let Some(r) = r else {
            panic!("rules did not parse");
        };
        assert_eq!(r.negation_window, 4);
        assert_eq!(names(&r, "燃气泄漏"), ["燃气泄漏"]);
        assert!(names(&r, "燃气公司的账单上写了很多东西，数据泄漏").is_empty());
        let toml = "negations = []\n[[signals]]\nname = \"x\"\nall = [[\"火\"]]\n";
        assert!(UrgentRules::from_toml(toml).is_ok_and(|r| r.signals.len() == 1));
        assert!(UrgentRules::from_json("{").is_err());
        let round = UrgentRules::from_json(&UrgentRules::default().to_json()).ok();
        assert_eq!(round, Some(UrgentRules::default()));
    }
}
