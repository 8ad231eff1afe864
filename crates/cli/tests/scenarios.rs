//! Every shipped scenario passes on SQLite and on PostgreSQL; a scenario with
//! a wrong expectation fails with a readable diff.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::process::Command;

fn scenario_files() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 9,
        "expected the shipped scenarios in {}",
        dir.display()
    );
    files
}

fn run(args: &[&str], files: &[std::path::PathBuf]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args(["scenario", "run"])
        .args(args)
        .args(files)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run suqiu");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn shipped_scenarios_pass_on_sqlite() {
    let (ok, out) = run(&[], &scenario_files());
    assert!(ok, "{out}");
    assert!(out.contains("0 failed"), "{out}");
}

#[test]
fn shipped_scenarios_pass_on_postgres() {
    let Some(server) = suqiu_store::testing::postgres_server_url() else {
        return;
    };
    let (ok, out) = run(&["--database-url", &server], &scenario_files());
    assert!(ok, "{out}");
}

#[test]
fn a_wrong_expectation_fails_with_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("wrong.yaml");
    std::fs::write(
        &f,
        r#"
name: wrong on purpose
start: 2026-11-23T09:00:00+08:00
steps:
  - file: a
    unit: 430799001002-01
    title: 路灯不亮
    content: 路灯坏了
    reporter: {name: 王小明, phone: "13912345678"}
  - expect:
      status: closed
      deadlines: {triage: 2026-11-24}
"#,
    )
    .expect("write");
    let (ok, out) = run(&[], &[f]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("- expected: closed") && out.contains("+ actual:   received"),
        "{out}"
    );
    assert!(
        out.contains("deadline triage") && out.contains("2026-11-23"),
        "{out}"
    );
}
