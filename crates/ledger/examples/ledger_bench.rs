#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Ledger import/export benchmark: synthesises a ledger of realistic Chinese rows
//! (default 100,000; first argument to change), exports it to xlsx and csv
//! (UTF-8 with BOM), re-encodes the csv to GB18030, imports each file three times
//! (median) and prints JSON with rows/s and peak RSS (VmHWM of a child process
//! per phase, so that one phase's memory does not hide another's).
//!
//!     cargo run --release -p suqiu-ledger --example ledger_bench [ROWS]
//!
//! With `LEDGER_BENCH_DIR=DIR` the files are kept in DIR.

use serde_json::json;
use std::time::Instant;
use suqiu_domain::case::Channel;
use suqiu_domain::validate::IdNumber;
use suqiu_ledger::*;

use rand::{rngs::StdRng, Rng as _, SeedableRng};

struct Rng(StdRng);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "春梅",
];
const TOWNS: &[&str] = &[
    "城关镇",
    "白沙镇",
    "河西街道",
    "东湖街道",
    "青山乡",
    "石门镇",
];
const VILLAGES: &[&str] = &[
    "东门社区",
    "西门社区",
    "白沙村",
    "河西村",
    "青山村",
    "石门村",
    "新华社区",
    "红旗村",
    "桃源村",
    "金星社区",
    "柳树湾村",
    "长岭村",
];
const OBJECTS: &[&str] = &[
    "路灯",
    "下水道",
    "村道",
    "垃圾收集点",
    "自来水管",
    "小区电梯",
    "农田灌渠",
    "公共厕所",
    "广场舞音响",
    "建筑工地",
    "养猪场",
    "烧烤摊",
    "停车位",
    "健身器材",
];
const PROBLEMS: &[&str] = &[
    "坏了",
    "堵塞",
    "破损严重",
    "长期无人清理",
    "漏水",
    "噪音扰民",
    "污水直排",
    "异味很大",
    "被占用",
    "存在安全隐患",
];
const DURATIONS: &[&str] = &[
    "已有一周",
    "半个多月了",
    "一个多月",
    "反映多次未解决",
    "近两天",
];
const IMPACTS: &[&str] = &[
    "影响居民夜间出行",
    "老人小孩经过很危险",
    "影响附近群众休息",
    "周边农户无法正常灌溉",
    "影响村容村貌",
    "下雨天积水严重",
];
const REQUESTS: &[&str] = &[
    "尽快安排维修",
    "相关部门上门核实处理",
    "给个明确答复",
    "依法查处",
    "协调解决",
];
const CATEGORIES: &[&str] = &[
    "市政设施",
    "环境保护",
    "农业农村",
    "城乡建设",
    "社会治安",
    "劳动保障",
    "矛盾纠纷",
    "其他",
];
const UNITS: &[&str] = &[
    "住建局",
    "生态环境分局",
    "农业农村局",
    "城管局",
    "水务局",
    "公安分局",
    "人社局",
    "司法局",
];
const STATUSES: &[&str] = &["已办结", "办理中", "已答复", "待签收"];
const REPLIES: &[&str] = &[
    "已安排人员现场处理，问题已解决。",
    "经核实，已责令责任方限期整改。",
    "已纳入年度计划，预计下月完成。",
    "已与诉求人沟通，诉求人表示理解。",
];

/// A valid resident ID number: the check character is the one the domain accepts.
fn id_number(rng: &mut Rng) -> String {
    let body = format!(
        "430702{:04}{:02}{:02}{:03}",
        1950 + rng.below(55),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(1000)
    );
    "0123456789X"
        .chars()
        .map(|c| format!("{body}{c}"))
        .find(|id| IdNumber::parse("id", id).is_ok())
        .expect("one check character fits")
}

fn synth(n: usize) -> Vec<LedgerRow> {
    let mut rng = Rng(StdRng::seed_from_u64(0x5EED_1234_ABCD_0001));
    (0..n)
        .map(|i| {
            let village = rng.pick(VILLAGES);
            let object = rng.pick(OBJECTS);
            let content = format!(
                "{}{}附近的{}{}，{}，{}，希望{}。",
                rng.pick(TOWNS),
                village,
                object,
                rng.pick(PROBLEMS),
                rng.pick(DURATIONS),
                rng.pick(IMPACTS),
                rng.pick(REQUESTS)
            );
            let date = format!(
                "2024-{:02}-{:02} {:02}:{:02}",
                1 + rng.below(12),
                1 + rng.below(28),
                8 + rng.below(10),
                rng.below(60)
            );
            let closed = rng.below(3) > 0;
            LedgerRow {
                row: i as u32 + 2,
                serial: Some((i + 1).to_string()),
                received_at: ReceivedAt::parse(&date),
                channel: Some(Channel::ALL[rng.below(Channel::ALL.len())]),
                reporter_name: Some(format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))),
                phone: Some(if rng.below(10) == 0 {
                    format!("0731-8{:06}", rng.below(1_000_000))
                } else {
                    format!("1{}{:09}", 3 + rng.below(7), rng.below(1_000_000_000))
                }),
                other_phones: if rng.below(20) == 0 {
                    vec![format!(
                        "1{}{:09}",
                        3 + rng.below(7),
                        rng.below(1_000_000_000)
                    )]
                } else {
                    Vec::new()
                },
                id_number: (rng.below(3) == 0).then(|| id_number(&mut rng)),
                place: Some(village.to_string()),
                place_unit: None,
                title: Some(format!("{village}{object}问题")),
                content,
                category: Some(rng.pick(CATEGORIES).to_string()),
                handling_unit: Some(rng.pick(UNITS).to_string()),
                status: Some(rng.pick(STATUSES).to_string()),
                reply: closed.then(|| rng.pick(REPLIES).to_string()),
                satisfaction: closed.then(|| Satisfaction::ALL[rng.below(4)]),
            }
        })
        .collect()
}

fn status_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb(kb: Option<u64>) -> serde_json::Value {
    kb.map(|k| json!((k as f64 / 1024.0 * 10.0).round() / 10.0))
        .unwrap_or(serde_json::Value::Null)
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Child process: one measured phase, JSON on stdout; its VmHWM is its own.
fn child(args: &[String]) {
    let out = match args[0].as_str() {
        "export" => {
            let n: usize = args[2].parse().unwrap();
            let table = ledger_table(&synth(n));
            let before = status_kb("VmRSS:");
            let t = Instant::now();
            let written = export_path(&args[1], &table.headers, &table.rows).unwrap();
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(written, n as u64);
            json!({"secs": secs, "rss_before_kb": before, "peak_kb": status_kb("VmHWM:")})
        }
        "import" => {
            let before = status_kb("VmRSS:");
            let mut calls = 0u64;
            let mut cb = |_done: u64, _total: Option<u64>| calls += 1;
            let t = Instant::now();
            let got = import_path(
                &args[1],
                ImportOptions {
                    progress: Some(&mut cb),
                    progress_every: 10_000,
                    ..ImportOptions::default()
                },
            )
            .unwrap();
            let secs = t.elapsed().as_secs_f64();
            json!({"secs": secs, "rows": got.rows.len(), "rss_before_kb": before,
                   "peak_kb": status_kb("VmHWM:"), "progress_calls": calls,
                   "encoding": got.report.encoding})
        }
        other => panic!("unknown child mode {other}"),
    };
    println!("{out}");
}

fn run_child(args: &[&str]) -> serde_json::Value {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kb(v: &serde_json::Value, key: &str) -> Option<u64> {
    v.get(key).and_then(serde_json::Value::as_u64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..]);
        return;
    }
    let n: usize = args
        .first()
        .map(|a| a.parse().expect("ROWS must be a number"))
        .unwrap_or(100_000);
    // LEDGER_BENCH_DIR keeps the files (to open them in Excel, WPS or openpyxl)
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("LEDGER_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let xlsx = dir.join("ledger.xlsx");
    let csv = dir.join("ledger.csv");
    let gb = dir.join("ledger-gb18030.csv");
    let ns = n.to_string();

    let mut export = serde_json::Map::new();
    for (name, path) in [("xlsx", &xlsx), ("csv_utf8_bom", &csv)] {
        let p = path.to_str().unwrap();
        let v = run_child(&["export", p, &ns]);
        let secs = v["secs"].as_f64().unwrap();
        export.insert(
            name.into(),
            json!({
                "secs": r3(secs),
                "rows_per_s": (n as f64 / secs).round(),
                "bytes": std::fs::metadata(path).unwrap().len(),
                "rss_after_synth_mb": mb(kb(&v, "rss_before_kb")),
                "peak_rss_mb": mb(kb(&v, "peak_kb")),
            }),
        );
    }
    // GB18030: the same csv re-encoded (not timed as export)
    {
        let bytes = std::fs::read(&csv).unwrap();
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let (enc, _, unmappable) = encoding_rs::GB18030.encode(text);
        assert!(!unmappable);
        std::fs::write(&gb, &enc).unwrap();
    }

    // correctness, in this process: every file gives back the generated rows
    let rows = synth(n);
    let mut equal = serde_json::Map::new();
    for (name, path) in [
        ("xlsx", &xlsx),
        ("csv_utf8_bom", &csv),
        ("csv_gb18030", &gb),
    ] {
        let got = import_path(path, ImportOptions::default()).unwrap();
        let same = got.rows == rows;
        assert!(same, "{name}: rows differ after the round trip");
        equal.insert(name.into(), json!(same));
    }
    drop(rows);

    let mut import = serde_json::Map::new();
    for (name, path, enc) in [
        ("xlsx", &xlsx, None),
        ("csv_utf8_bom", &csv, Some("utf-8-bom")),
        ("csv_gb18030", &gb, Some("gb18030")),
    ] {
        let p = path.to_str().unwrap();
        let runs: Vec<serde_json::Value> = (0..3).map(|_| run_child(&["import", p])).collect();
        for v in &runs {
            assert_eq!(v["rows"].as_u64(), Some(n as u64));
            assert_eq!(v["encoding"].as_str(), enc);
        }
        let mut secs: Vec<f64> = runs.iter().map(|v| v["secs"].as_f64().unwrap()).collect();
        let in_order = secs.clone();
        secs.sort_by(f64::total_cmp);
        let median = secs[1];
        let peak = runs.iter().filter_map(|v| kb(v, "peak_kb")).max();
        import.insert(
            name.into(),
            json!({
                "runs_secs": in_order.iter().map(|s| r3(*s)).collect::<Vec<_>>(),
                "median_secs": r3(median),
                "rows_per_s": (n as f64 / median).round(),
                "bytes": std::fs::metadata(path).unwrap().len(),
                "peak_rss_mb": mb(peak),
                "rss_at_start_mb": mb(kb(&runs[0], "rss_before_kb")),
                "progress_calls": runs[0]["progress_calls"],
            }),
        );
    }
    let out = json!({
        "rows": n,
        "note": "each phase runs in a child process; peak_rss_mb is that process's VmHWM",
        "export": export,
        "import": import,
        "round_trip_rows_equal": equal,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
