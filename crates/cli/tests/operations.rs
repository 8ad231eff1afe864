//! What a county's IT office runs: every command's `--help` in Chinese and
//! English, and `suqiu serve --log-format json` writing one JSON object per
//! line with the request id of each request (a real server on 127.0.0.1).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn help(path: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{path:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The descriptions of a help text's commands, arguments and options: the
/// text after the name column, or on the lines below the name (clap's
/// "next line" layout for long descriptions).
fn descriptions(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for l in text.lines() {
        let indent = l.len() - l.trim_start().len();
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if (2..=6).contains(&indent) {
            match t.find("  ") {
                Some(at) => out.push((t[..at].to_string(), t[at..].trim().to_string())),
                None => out.push((t.to_string(), String::new())),
            }
        } else if indent >= 8 {
            if let Some(last) = out.last_mut() {
                last.1.push_str(t);
            }
        }
    }
    out
}

#[test]
fn every_command_explains_itself_in_chinese_and_english() {
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        seen += 1;
        let heads = text.lines().take(1).collect::<String>();
        assert!(cjk(&heads) && heads.contains(" / "), "{path:?}: {heads}");
        for h in ["用法 / Usage:", "选项 / Options:"] {
            assert!(text.contains(h), "{path:?}: {text}");
        }
        for (name, d) in descriptions(&text) {
            assert!(
                cjk(&d) && d.contains(" / ") && d.chars().any(|c| c.is_ascii_alphabetic()),
                "{path:?} {name}: {d:?} is not in both languages"
            );
        }
        if let Some(cmds) = text.split("命令 / Commands:").nth(1) {
            let cmds = cmds.split("选项 / Options:").next().unwrap();
            for (name, _) in descriptions(cmds) {
                let mut p = path.clone();
                p.push(name);
                todo.push(p);
            }
        }
    }
    assert!(seen > 15, "only {seen} commands");
}

#[test]
fn json_logs_carry_the_request_id() {
    let dir = std::env::temp_dir().join(format!("suqiu-ops-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/suqiu.db", dir.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--database-url", &db])
        // the access log line (debug) shows each request with its id
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let err = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(err).read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(Instant::now() < deadline, "server did not start");
        assert!(out.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().unwrap().trim().to_string();
        }
    };
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-request-id: ops-test-42\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("x-request-id: ops-test-42"),
        "{resp}"
    );
    // the access log line is written as the response goes out; give it a moment
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.join().unwrap();
    let mut found = false;
    for l in logs.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{l}");
        if v["span"]["request_id"] == "ops-test-42" {
            assert_eq!(v["span"]["path"], "/healthz", "{l}");
            found = true;
        }
    }
    assert!(found, "no log line with the request id:\n{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}
