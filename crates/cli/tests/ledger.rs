//! `suqiu ledger import|export|bench` as a user runs them: a 2,000-row
//! generated GB18030 ledger through the benchmark, a file with a bad row
//! refused with exit code 2 and nothing written, then imported once fixed,
//! with progress on stderr; an export as csv with BOM, masked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::process::Command;
use std::sync::Arc;
use suqiu_app::{orgconfig, App, Store, SystemClock};

fn suqiu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run suqiu")
}

#[test]
fn bench_imports_a_generated_gb18030_ledger() {
    let out = suqiu(&["ledger", "bench", "--rows", "2000"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["created"], 2000, "{v}");
    assert_eq!(v["cases_in_database"], 2000, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["encoding"], "gb18030", "{v}");
    assert!(v["import_ms"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn import_refuses_a_bad_file_whole_then_imports_it_fixed_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("suqiu.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = || {
        rt.block_on(async {
            let store = Store::open(&url).await.unwrap();
            store.count_cases().await.unwrap()
        })
    };
    rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let app = App::new(store, Arc::new(SystemClock)).await.unwrap();
        app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    });
    let mut rows = String::from("序号,受理时间,来源渠道,姓名,联系电话,地址,诉求内容\n");
    for i in 0..300 {
        rows.push_str(&format!(
            "{i},2025-0{}-1{} 10:00,来访,王明{i},139{:08},丹阳社区第{}网格{i}号,第{i}件：楼道灯坏了。\n",
            1 + i % 9,
            i % 10,
            i,
            ["一", "二", "三"][i % 3]
        ));
    }
    let bad = rows.replace("王明150,13900000150", "王明150,139");
    let file = dir.path().join("台账.csv");
    std::fs::write(&file, &bad).unwrap();
    let f = file.to_str().unwrap();
    let out = suqiu(&[
        "ledger",
        "import",
        f,
        "--as",
        "jiedao.liu",
        "--database-url",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outcome"], "rejected");
    assert_eq!(v["report"]["problems"][0]["row"], 152, "{v}");
    assert_eq!(v["report"]["problems"][0]["code"], "invalid_phone", "{v}");
    assert_eq!(count(), 0);

    std::fs::write(&file, &rows).unwrap();
    let out = suqiu(&[
        "ledger",
        "import",
        f,
        "--as",
        "jiedao.liu",
        "--database-url",
        &url,
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["created"], 300, "{v}");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("(100%)"), "{progress}");
    assert_eq!(count(), 300);

    // a grid worker may not import
    let out = suqiu(&[
        "ledger",
        "import",
        f,
        "--as",
        "wangge.li",
        "--database-url",
        &url,
    ]);
    assert!(!out.status.success());
    assert_eq!(count(), 300);

    let csv = dir.path().join("out.csv");
    let out = suqiu(&[
        "ledger",
        "export",
        "--as",
        "shequ.chen",
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
        "--database-url",
        &url,
    ]);
    assert!(out.status.success(), "{out:?}");
    let bytes = std::fs::read(&csv).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().count(), 301);
    assert!(!text.contains("13900000150"));
    assert!(text.contains("139****0150"));
}

#[test]
fn import_refuses_a_ledger_past_the_row_bound_with_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("suqiu.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let app = App::new(store, Arc::new(SystemClock)).await.unwrap();
        app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    });
    let mut rows = String::from("所在村（社区）,诉求内容\n");
    for i in 0..=suqiu_app::ledger::MAX_IMPORT_ROWS {
        rows.push_str(&format!("丹阳社区,第{i}件：楼道灯坏了。\n"));
    }
    let file = dir.path().join("大台账.csv");
    std::fs::write(&file, &rows).unwrap();
    let out = suqiu(&[
        "ledger",
        "import",
        file.to_str().unwrap(),
        "--as",
        "shequ.chen",
        "--database-url",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], "ledger_too_large", "{v}");
    assert_eq!(v["field"], "rows", "{v}");
    assert!(
        v["message_zh"].as_str().unwrap().contains("200000 行"),
        "{v}"
    );
    let n = rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        store.count_cases().await.unwrap()
    });
    assert_eq!(n, 0, "nothing written");
}
