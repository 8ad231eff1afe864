//! Our fields and the column mapping from spreadsheet headers to them.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use suqiu_domain::case::Channel;

/// A field of a ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// 序号: the ledger's own number, kept as text
    Serial,
    /// 登记日期: date (and time, if given) the matter was received
    ReceivedAt,
    /// 来源/渠道
    Channel,
    /// 诉求人
    ReporterName,
    /// 联系电话
    Phone,
    /// 身份证号
    IdNumber,
    /// 地址 / 所在村（社区）
    Place,
    /// 标题
    Title,
    /// 诉求内容
    Content,
    /// 问题类别
    Category,
    /// 承办单位
    HandlingUnit,
    /// 办理状态
    Status,
    /// 办理结果 / 答复内容
    Reply,
    /// 满意度
    Satisfaction,
}

impl Field {
    pub const ALL: [Field; 14] = [
        Field::Serial,
        Field::ReceivedAt,
        Field::Channel,
        Field::ReporterName,
        Field::Phone,
        Field::IdNumber,
        Field::Place,
        Field::Title,
        Field::Content,
        Field::Category,
        Field::HandlingUnit,
        Field::Status,
        Field::Reply,
        Field::Satisfaction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Serial => "serial",
            Field::ReceivedAt => "received_at",
            Field::Channel => "channel",
            Field::ReporterName => "reporter_name",
            Field::Phone => "phone",
            Field::IdNumber => "id_number",
            Field::Place => "place",
            Field::Title => "title",
            Field::Content => "content",
            Field::Category => "category",
            Field::HandlingUnit => "handling_unit",
            Field::Status => "status",
            Field::Reply => "reply",
            Field::Satisfaction => "satisfaction",
        }
    }

    /// The header written on export (and the first name of the default mapping).
    pub fn zh(self) -> &'static str {
        match self {
            Field::Serial => "序号",
            Field::ReceivedAt => "登记日期",
            Field::Channel => "来源渠道",
            Field::ReporterName => "诉求人",
            Field::Phone => "联系电话",
            Field::IdNumber => "身份证号",
            Field::Place => "所在村（社区）",
            Field::Title => "标题",
            Field::Content => "诉求内容",
            Field::Category => "问题类别",
            Field::HandlingUnit => "承办单位",
            Field::Status => "办理状态",
            Field::Reply => "办理结果",
            Field::Satisfaction => "满意度",
        }
    }

    /// Personal data: values of these fields are masked in the report.
    pub fn is_personal(self) -> bool {
        matches!(self, Field::ReporterName | Field::Phone | Field::IdNumber)
    }

    /// Header names the default mapping recognises for this field.
    pub fn default_headers(self) -> &'static [&'static str] {
        match self {
            Field::Serial => &["序号", "编号", "台账编号", "工单编号", "工单号"],
            Field::ReceivedAt => &[
                "登记日期",
                "登记时间",
                "受理时间",
                "受理日期",
                "来电时间",
                "来电日期",
                "来访时间",
                "来访日期",
                "反映时间",
                "反映日期",
                "收件日期",
                "日期",
            ],
            Field::Channel => &[
                "来源渠道",
                "来源",
                "渠道",
                "受理渠道",
                "诉求来源",
                "反映渠道",
                "信访形式",
                "登记方式",
            ],
            Field::ReporterName => &[
                "诉求人",
                "姓名",
                "诉求人姓名",
                "反映人",
                "来电人",
                "来访人",
                "当事人",
                "群众姓名",
                "联系人",
            ],
            Field::Phone => &[
                "联系电话",
                "电话",
                "手机",
                "手机号",
                "手机号码",
                "联系方式",
                "来电号码",
            ],
            Field::IdNumber => &[
                "身份证号",
                "身份证号码",
                "身份证",
                "证件号码",
                "公民身份号码",
            ],
            Field::Place => &[
                "所在村（社区）",
                "地址",
                "村（社区）",
                "所属村（社区）",
                "住址",
                "家庭住址",
                "所在地",
                "事发地点",
                "发生地点",
                "地点",
            ],
            Field::Title => &["标题", "诉求标题", "事项标题", "主题"],
            Field::Content => &[
                "诉求内容",
                "反映内容",
                "事项",
                "反映事项",
                "诉求事项",
                "来电内容",
                "来访内容",
                "内容",
                "问题描述",
                "主要诉求",
                "具体诉求",
            ],
            Field::Category => &[
                "问题类别",
                "类别",
                "问题类型",
                "诉求类别",
                "事项类别",
                "分类",
                "诉求分类",
                "类型",
            ],
            Field::HandlingUnit => &[
                "承办单位",
                "责任单位",
                "办理单位",
                "主办单位",
                "责任部门",
                "承办部门",
            ],
            Field::Status => &["办理状态", "状态", "处理状态", "是否办结"],
            Field::Reply => &[
                "办理结果",
                "答复内容",
                "处理结果",
                "答复意见",
                "办理情况",
                "回复内容",
                "处理情况",
            ],
            Field::Satisfaction => &["满意度", "是否满意", "群众满意度", "回访结果", "评价"],
        }
    }
}

/// Names (besides the code and [`Channel::zh`]) under which ledgers write each channel.
pub fn default_channel_names(c: Channel) -> &'static [&'static str] {
    match c {
        Channel::ChatGroup => &[
            "微信群",
            "群聊",
            "微信",
            "企业微信群",
            "钉钉群",
            "村群",
            "社区群",
            "村民群",
        ],
        Channel::Web => &[
            "网上",
            "网上信访",
            "网络",
            "网站",
            "网上投诉",
            "小程序",
            "网上来信",
        ],
        Channel::Proxy => &["网上代访", "代访", "代办", "网格员代访"],
        Channel::DoorToDoor => &["走访", "入户走访", "民情走访台账", "上门走访"],
        Channel::Hotline12345 => &[
            "12345",
            "热线",
            "12345热线",
            "12345政务服务便民热线",
            "市长热线",
            "政务热线",
            "来电",
            "电话",
        ],
        Channel::PublicOpinion => &["舆情", "网络舆情"],
        Channel::Visit => &["来访", "上访", "群众来访", "接访", "到访"],
        Channel::Letter => &["来信", "信件", "书信"],
        Channel::LeaderReception => &[
            "书记区长接待日",
            "书记县长接待日",
            "接待日",
            "领导接访",
            "领导接待",
        ],
        Channel::Video => &["视频", "视频接访"],
        Channel::Screening => &["排查", "矛盾排查", "纠纷排查", "矛盾纠纷排查化解"],
    }
}

fn yes() -> bool {
    true
}

fn default_required() -> Vec<Field> {
    vec![Field::Content]
}

/// Which spreadsheet headers feed which field. Loadable from TOML or JSON:
///
/// ```toml
/// extend_default = true          # keep the built-in names (default: true)
/// required = ["content"]         # fields that need a column and a value in every row
/// ignore = ["备注"]              # headers known but not imported: no warning
/// [columns]
/// reporter_name = ["反映人姓名"]
/// [channels]
/// "县长信箱" = "web"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// When loading a file: also accept the default mapping's names.
    #[serde(default = "yes")]
    pub extend_default: bool,
    /// Header names (any of) for each field; compared after [`normalize_header`].
    #[serde(default)]
    pub columns: BTreeMap<Field, Vec<String>>,
    /// Fields that must have a column and a non-empty value in every row.
    #[serde(default = "default_required")]
    pub required: Vec<Field>,
    /// Headers that are known but not imported (no warning).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Extra channel names → channel codes (`hotline_12345`, `visit`, …).
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
}

/// Why a mapping file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping file is not valid TOML: {0}")]
    Toml(String),
    #[error("mapping file is not valid JSON: {0}")]
    Json(String),
    #[error("mapping file: '{0}' is not a channel code")]
    UnknownChannel(String),
    #[error("mapping file: header '{header}' is given for both {first} and {second}")]
    Ambiguous {
        header: String,
        first: &'static str,
        second: &'static str,
    },
}

impl Default for ColumnMapping {
    fn default() -> Self {
        ColumnMapping {
            extend_default: true,
            columns: Field::ALL
                .iter()
                .map(|f| {
                    (
                        *f,
                        f.default_headers().iter().map(|s| s.to_string()).collect(),
                    )
                })
                .collect(),
            required: default_required(),
            ignore: ["备注", "附件", "经办人", "登记人", "录入人"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            channels: BTreeMap::new(),
        }
    }
}

impl ColumnMapping {
    pub fn from_toml_str(s: &str) -> Result<Self, MappingError> {
        let m: ColumnMapping = toml::from_str(s).map_err(|e| MappingError::Toml(e.to_string()))?;
        m.finish()
    }

    pub fn from_json_str(s: &str) -> Result<Self, MappingError> {
        let m: ColumnMapping =
            serde_json::from_str(s).map_err(|e| MappingError::Json(e.to_string()))?;
        m.finish()
    }

    /// Merge with the default if `extend_default` (a header the file names moves
    /// to the file's field), then check it.
    fn finish(self) -> Result<Self, MappingError> {
        let m = if self.extend_default {
            let mut d = ColumnMapping::default();
            let taken: std::collections::HashSet<String> = self
                .columns
                .values()
                .flatten()
                .map(|n| normalize_header(n))
                .collect();
            for list in d.columns.values_mut() {
                list.retain(|n| !taken.contains(&normalize_header(n)));
            }
            for (f, names) in self.columns {
                let list = d.columns.entry(f).or_default();
                let mut merged = names;
                merged.append(list);
                *list = merged;
            }
            d.required = self.required;
            d.ignore.retain(|n| !taken.contains(&normalize_header(n)));
            d.ignore.extend(self.ignore);
            d.channels = self.channels;
            d
        } else {
            self
        };
        m.resolve()?;
        m.channel_table()?;
        Ok(m)
    }

    /// Normalised header → field; a header given for two fields is an error.
    pub(crate) fn resolve(&self) -> Result<HashMap<String, Field>, MappingError> {
        let mut out: HashMap<String, Field> = HashMap::new();
        for (f, names) in &self.columns {
            for n in names {
                let key = normalize_header(n);
                if key.is_empty() {
                    continue;
                }
                match out.insert(key, *f) {
                    Some(prev) if prev != *f => {
                        return Err(MappingError::Ambiguous {
                            header: n.clone(),
                            first: prev.as_str(),
                            second: f.as_str(),
                        })
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// Normalised channel name → channel.
    pub(crate) fn channel_table(&self) -> Result<HashMap<String, Channel>, MappingError> {
        let mut t = HashMap::new();
        for c in Channel::ALL {
            t.insert(normalize_value(c.as_str()), c);
            t.insert(normalize_value(c.zh()), c);
            for n in default_channel_names(c) {
                t.insert(normalize_value(n), c);
            }
        }
        for (name, code) in &self.channels {
            let c = Channel::parse(code.trim())
                .ok_or_else(|| MappingError::UnknownChannel(code.clone()))?;
            t.insert(normalize_value(name), c);
        }
        Ok(t)
    }

    pub(crate) fn ignored(&self) -> std::collections::HashSet<String> {
        self.ignore.iter().map(|s| normalize_header(s)).collect()
    }
}

/// Full-width ASCII → half-width, ideographic space → space.
pub(crate) fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// How headers are compared: full-width to half-width, no whitespace (headers
/// are often wrapped inside the cell), no trailing `*` or `:` (required marks),
/// lower case.
pub fn normalize_header(s: &str) -> String {
    let t: String = s
        .chars()
        .map(half_width)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    t.trim_end_matches(['*', ':'])
        .trim_start_matches('*')
        .to_string()
}

/// How coded values (channel, satisfaction) are compared.
pub(crate) fn normalize_value(s: &str) -> String {
    s.chars()
        .map(half_width)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mapping_has_no_ambiguous_header() {
        let m = ColumnMapping::default();
        let table = m.resolve().unwrap();
        let total: usize = Field::ALL.iter().map(|f| f.default_headers().len()).sum();
        assert_eq!(table.len(), total, "a default header is listed twice");
        assert_eq!(
            table.get(&normalize_header("所在村(社区)")),
            Some(&Field::Place)
        );
        assert_eq!(
            table.get(&normalize_header(" 诉求\n内容 *")),
            Some(&Field::Content)
        );
    }

    #[test]
    fn default_channel_names_are_unique() {
        let mut seen = HashMap::new();
        for c in Channel::ALL {
            let mut names: Vec<&str> = vec![c.as_str(), c.zh()];
            names.extend(default_channel_names(c));
            for n in names {
                if let Some(prev) = seen.insert(normalize_value(n), c) {
                    assert_eq!(prev, c, "{n} names two channels");
                }
            }
        }
    }

    #[test]
    fn toml_mapping_extends_default_and_overrides() {
        let m = ColumnMapping::from_toml_str(
            r#"
required = ["content", "phone"]
ignore = ["核查人"]
[columns]
reporter_name = ["反映人姓名"]
title = ["事项"]
[channels]
"县长信箱" = "web"
"#,
        )
        .unwrap();
        let t = m.resolve().unwrap();
        assert_eq!(t.get("反映人姓名"), Some(&Field::ReporterName));
        assert_eq!(t.get("姓名"), Some(&Field::ReporterName));
        // 事项 is a default content header; the file moves it to title
        assert_eq!(t.get("事项"), Some(&Field::Title));
        assert_eq!(m.required, vec![Field::Content, Field::Phone]);
        assert!(m.ignored().contains("核查人"));
        assert_eq!(
            m.channel_table().unwrap().get("县长信箱"),
            Some(&Channel::Web)
        );
    }

    #[test]
    fn json_mapping_without_default() {
        let m = ColumnMapping::from_json_str(
            r#"{"extend_default": false, "columns": {"content": ["问题"]}}"#,
        )
        .unwrap();
        let t = m.resolve().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.get("问题"), Some(&Field::Content));
    }

    #[test]
    fn bad_mapping_files_are_refused() {
        assert!(matches!(
            ColumnMapping::from_toml_str("[channels]\n\"x\" = \"nope\""),
            Err(MappingError::UnknownChannel(_))
        ));
        assert!(matches!(
            ColumnMapping::from_toml_str("[columns]\nphone = [\"号\"]\ntitle = [\"号\"]"),
            Err(MappingError::Ambiguous { .. })
        ));
        assert!(matches!(
            ColumnMapping::from_toml_str("colums = 1"),
            Err(MappingError::Toml(_))
        ));
    }
}
