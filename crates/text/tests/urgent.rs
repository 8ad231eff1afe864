#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use suqiu_text::{read_jsonl, UrgentRules};

fn names(text: &str) -> Vec<String> {
    UrgentRules::default()
        .check(text)
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[test]
fn realistic_positives() {
    let cases = [
        (
            "A3区某小区5栋2单元楼道里燃气泄漏，味道很大，请马上派人处理",
            "燃气泄漏",
        ),
        ("家里 煤气 管道 漏气 严重 物业 不管", "燃气泄漏"),
        ("我们小区旁边的仓库着火了，浓烟很大，请尽快处理", "火灾"),
        ("老房子的墙体已经倒塌了一半，里面还住着一位老人", "房屋倒塌"),
        ("邻居扬言要杀了你们全家，还拿着刀在门口转", "威胁生命安全"),
        ("楼下商户持刀伤人，现场很乱", "暴力伤害"),
        ("我老公长期家暴，我和孩子不敢回家", "暴力伤害"),
        (
            "工地老板拖欠我们30多名农民工工资半年了，过年回不了家",
            "农民工群体欠薪",
        ),
        (
            "某项目部拖欠几十名工人的工资，大家准备集体讨薪",
            "农民工群体欠薪",
        ),
        ("我实在活不下去了，再不解决我只能跳楼", "自杀轻生"),
        ("路边电线杆漏电，刚才一条狗被电死了", "触电"),
        ("暴雨后村里被淹，水已经淹到一楼，老人出不来", "溺水洪涝"),
        ("学校食堂午餐后二十多个学生食物中毒送医", "中毒"),
        ("化工厂昨晚发生爆炸，附近居民窗户都震碎了", "爆炸"),
        ("几百名业主准备明天拉横幅堵路", "群体性事件"),
    ];
    for (text, expected) in cases {
        let got = names(text);
        assert!(got.iter().any(|n| n == expected), "{text}: {got:?}");
    }
}

#[test]
fn realistic_negatives() {
    let cases = [
        "燃气公司上门安检，确认没有燃气泄漏，请问安检要收费吗",
        "燃气 没有 泄漏 但是 安检 人员 态度 很差",
        "天然气费涨价太快，要求公开成本",
        "小区消防通道被占用，存在火灾隐患，一旦发生火灾后果不堪设想",
        "商场搞跳楼价大甩卖，噪音扰民",
        "我们小区旁边的路灯坏了两个月，晚上出行很不安全",
        "申请危房改造补助，房子年久失修，墙体开裂",
        "公司拖欠我一个人的工资三个月，请劳动监察帮忙",
        "孩子上学的学区划分不合理，希望教育局重新考虑",
        "城管暴力执法，态度恶劣，要求处理",
        "建议增加防汛设施，防止内涝",
        "坐火车去外地一起火车站出发，车票太难买",
    ];
    for text in cases {
        let got = names(text);
        assert!(got.is_empty(), "{text}: {got:?}");
    }
}

#[test]
fn matched_alternatives_are_reported() {
    let signals = UrgentRules::default().check("工地拖欠30多名农民工工资");
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].name, "农民工群体欠薪");
    assert_eq!(signals[0].matched, ["农民工", "拖欠", "#多名"]);
}

#[test]
fn rules_load_from_toml() {
    let toml = r#"
negations = ["没有"]
max_chars = 0

[[signals]]
name = "电梯困人"
all = [["电梯"], ["困人", "被困"]]
within = 15
exclude = []
"#;
    let rules = UrgentRules::from_toml(toml).unwrap();
    assert_eq!(rules.negation_window, 4);
    assert!(rules.is_urgent("3栋电梯突然停了，有人被困在里面"));
    assert!(!rules.is_urgent("电梯没有被困人，只是噪音大"));
    assert!(UrgentRules::from_toml("signals = 3").is_err());
}

/// False-positive rate on the ordinary messages of the routing training file (skipped if
/// the shared file is absent). Measured 1.3 % (113 of 8,483); the floor leaves room.
#[test]
fn few_ordinary_messages_fire() {
    let path = Path::new("/work/shared/data/routing/train.jsonl");
    if !path.exists() {
        eprintln!("skipped: {} absent", path.display());
        return;
    }
    let data = read_jsonl(path).unwrap();
    let rules = UrgentRules::default();
    let fired = data.iter().filter(|(t, _)| rules.is_urgent(t)).count();
    let rate = fired as f64 / data.len() as f64;
    eprintln!("urgent fired on {fired} of {} ({rate:.4})", data.len());
    assert!(rate < 0.02, "{fired} of {}", data.len());
}
