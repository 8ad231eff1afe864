//! `suqiu bench intake`: case creation over HTTP on loopback, with concurrent
//! keep-alive clients, against a fresh database per run. Prints one JSON object
//! per backend (median run by throughput, plus every run), then a summary line.

use crate::http1::Conn;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suqiu_app::{orgconfig, App, Store, SystemClock};
use suqiu_domain::Level;

const TITLES: &[&str] = &[
    "小区门口路灯不亮",
    "楼上装修噪音扰民",
    "道路积水无法通行",
    "垃圾清运不及时",
    "物业费收费不透明",
    "农村低保申请咨询",
    "河道有人倾倒建筑垃圾",
    "邻里宅基地边界纠纷",
];

/// Peak resident set size of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn body(i: usize, places: &[String]) -> Vec<u8> {
    let title = TITLES[i % TITLES.len()];
    json!({
        "channel": "web",
        "unit": places[i % places.len()],
        "title": title,
        "content": format!("{title}，已经持续一段时间，影响居民正常生活，请有关部门尽快处理。（第{i}件）"),
        "address": "幸福路 18 号",
        "reporter": {"name": "王小明", "phone": format!("139{:08}", i % 100_000_000)},
    })
    .to_string()
    .into_bytes()
}

async fn one_run(url: &str, clients: usize, requests: usize) -> anyhow::Result<Value> {
    let store = Store::open(url).await?;
    // the benchmark's clients all come from 127.0.0.1: no abuse limits
    let app = App::new(store.clone(), Arc::new(SystemClock))
        .await?
        .with_limits(suqiu_app::limits::Limits::UNLIMITED);
    app.load_org(orgconfig::DEMO_DISTRICT).await?;
    let org = app.org();
    let places: Arc<Vec<String>> = Arc::new(
        org.units()
            .filter(|(u, _)| matches!(u.level, Level::Community | Level::Grid))
            .map(|(u, _)| u.code.clone())
            .collect(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(suqiu_web::serve(app, listener, async {
        let _ = stop_rx.await;
    }));

    // Request bodies are made before the clock starts: the clients' own work
    // shares the machine's cores with the server.
    let warm = 1_000.min(requests);
    let warm_bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..warm).map(|i| body(i, &places)).collect());
    let bodies: Arc<Vec<Vec<u8>>> =
        Arc::new((warm..warm + requests).map(|i| body(i, &places)).collect());
    // Warm-up: connections, prepared statements, page cache.
    drive(addr, clients, warm_bodies).await?;

    let started = Instant::now();
    let mut lat = drive(addr, clients, bodies).await?;
    let elapsed = started.elapsed();
    // Baseline in the same run: the HTTP stack alone (GET /healthz, no storage).
    let n_base = requests / 2;
    let base_started = Instant::now();
    drive_requests(
        addr,
        clients,
        Arc::new(vec![Vec::new(); n_base]),
        "GET",
        "/healthz",
        200,
    )
    .await?;
    let base_per_second = n_base as f64 / base_started.elapsed().as_secs_f64();
    let stored = store.count_cases().await?;
    let _ = stop_tx.send(());
    let _ = server.await;
    if stored != (warm + requests) as i64 {
        bail!("expected {} stored cases, found {stored}", warm + requests);
    }
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i].as_secs_f64() * 1000.0
    };
    Ok(json!({
        "cases_per_second": (requests as f64 / elapsed.as_secs_f64()).round(),
        "p50_ms": (pct(0.50) * 100.0).round() / 100.0,
        "p99_ms": (pct(0.99) * 100.0).round() / 100.0,
        "max_ms": (pct(1.0) * 100.0).round() / 100.0,
        "cases": requests,
        "seconds": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "baseline_healthz_per_second": base_per_second.round(),
    }))
}

/// Sends every body as a case creation over `clients` connections; returns each latency.
async fn drive(
    addr: std::net::SocketAddr,
    clients: usize,
    bodies: Arc<Vec<Vec<u8>>>,
) -> anyhow::Result<Vec<Duration>> {
    drive_requests(addr, clients, bodies, "POST", "/api/v1/cases", 201).await
}

/// Sends one request per body (an empty body means a GET without one).
async fn drive_requests(
    addr: std::net::SocketAddr,
    clients: usize,
    bodies: Arc<Vec<Vec<u8>>>,
    method: &'static str,
    path: &'static str,
    expect: u16,
) -> anyhow::Result<Vec<Duration>> {
    let clients = clients.max(1);
    let n = bodies.len();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            let mut lat = Vec::with_capacity(n / clients + 1);
            let mut i = c;
            while i < n {
                let t = Instant::now();
                let b = &bodies[i];
                let r = conn
                    .request(method, path, (!b.is_empty()).then_some(b.as_slice()))
                    .await?;
                lat.push(t.elapsed());
                if r.status != expect {
                    bail!("status {}: {}", r.status, String::from_utf8_lossy(&r.body));
                }
                i += clients;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.context("client task")??);
    }
    Ok(all)
}

pub async fn intake(
    clients: usize,
    requests: usize,
    postgres_url: Option<String>,
    sqlite: bool,
    runs: usize,
) -> anyhow::Result<()> {
    let mut backends: Vec<&str> = Vec::new();
    if sqlite {
        backends.push("sqlite");
    }
    if postgres_url.is_some() {
        backends.push("postgres");
    }
    let mut summary = Vec::new();
    for backend in backends {
        let mut results = Vec::new();
        for _ in 0..runs.max(1) {
            // Keep the database alive for the run; it is removed afterwards.
            // what keeps the database alive for the run (dropped after it)
            let (_keep_dir, _keep_db, url) = match backend {
                "sqlite" => {
                    let dir = tempfile::tempdir()?;
                    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                    (Some(dir), None, url)
                }
                _ => {
                    let server = postgres_url.clone().unwrap_or_default();
                    let db = suqiu_store::testing::postgres(&server).await?;
                    let url = db.url.clone();
                    (None, Some(db), url)
                }
            };
            results.push(one_run(&url, clients, requests).await?);
        }
        results.sort_by(|a, b| {
            a["cases_per_second"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["cases_per_second"].as_f64().unwrap_or(0.0))
        });
        let median = results[results.len() / 2].clone();
        let out = json!({
            "bench": "intake",
            "backend": backend,
            "durable": if backend == "sqlite" { "WAL, synchronous=FULL, group commit" } else { "synchronous_commit as configured on the server" },
            "clients": clients,
            "median": median,
            "runs": results,
            "peak_rss_mib": peak_rss_kib().map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0),
            "peak_rss_note": "whole process: server, clients and database together",
        });
        println!("{out}");
        summary.push(out);
    }
    Ok(())
}

/// 2026-11-23 (Monday) 10:00 +08:00: the start of the sweep benchmark's window.
const SWEEP_T0: i64 = 1_795_399_200_000;
const HOUR_MS: i64 = 3_600_000;
/// Receipt times are spread over this window.
const SWEEP_WINDOW_MS: i64 = 30 * 24 * HOUR_MS;

/// `suqiu bench sweep`: `cases` open cases received over 30 days (each with its
/// same-working-day triage deadline), then: a sweep with nothing due (the
/// index lookup), a sweep after one hour of receipts (warnings due), a sweep
/// at the end of the first day (overdue marks and supervision), and one
/// community's triage queue read over HTTP (p50/p99 of 500 requests).
pub async fn sweep(cases: usize, postgres_url: Option<String>, sqlite: bool) -> anyhow::Result<()> {
    let mut backends: Vec<&str> = Vec::new();
    if sqlite {
        backends.push("sqlite");
    }
    if postgres_url.is_some() {
        backends.push("postgres");
    }
    for backend in backends {
        let dir = tempfile::tempdir()?;
        let (url, _keep) = match backend {
            "sqlite" => (
                format!("sqlite://{}", dir.path().join("sweep.db").display()),
                None,
            ),
            _ => {
                let db =
                    suqiu_store::testing::postgres(postgres_url.as_deref().unwrap_or_default())
                        .await?;
                (db.url.clone(), Some(db))
            }
        };
        let out = sweep_run(&url, cases).await?;
        let mut out = out;
        out["backend"] = json!(backend);
        out["peak_rss_mib"] =
            json!(peak_rss_kib().map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0));
        println!("{out}");
    }
    Ok(())
}

async fn sweep_run(url: &str, cases: usize) -> anyhow::Result<Value> {
    use suqiu_app::FixedClock;
    use suqiu_domain::case::IntakeInput;
    let store = Store::open(url).await?;
    let clock = Arc::new(FixedClock::new(SWEEP_T0));
    let app = App::new(store.clone(), clock.clone()).await?;
    app.load_org(orgconfig::DEMO_DISTRICT).await?;
    let org = app.org();
    let places: Vec<String> = org
        .units()
        .filter(|(u, _)| matches!(u.level, Level::Grid))
        .map(|(u, _)| u.code.clone())
        .collect();

    // Load: cases received every SWEEP_WINDOW / cases, written in chunks of
    // 5,000 per transaction through the normal intake path.
    let load_started = Instant::now();
    let step = SWEEP_WINDOW_MS / cases.max(1) as i64;
    let mut chunk = Vec::with_capacity(5000);
    let mut pending = Vec::new();
    for i in 0..cases {
        clock.set(SWEEP_T0 + i as i64 * step);
        let title = TITLES[i % TITLES.len()];
        let input = IntakeInput {
            channel: Some("web".into()),
            unit: Some(places[i % places.len()].clone()),
            title: Some(title.into()),
            content: Some(format!("{title}（第{i}件）")),
            reporter_name: Some("王小明".into()),
            reporter_phone: Some(format!("139{:08}", i % 100_000_000)),
            ..Default::default()
        };
        chunk.push(app.intake_write(&input, None)?);
        if chunk.len() == 5000 || i + 1 == cases {
            let s = store.clone();
            let batch = std::mem::take(&mut chunk);
            pending.push(tokio::spawn(async move { s.write_cases(batch).await }));
            if pending.len() >= 4 {
                pending.remove(0).await??;
            }
        }
    }
    for p in pending {
        p.await??;
    }
    let load_seconds = load_started.elapsed().as_secs_f64();
    let stored = store.count_cases().await?;
    if stored != cases as i64 {
        bail!("expected {cases} cases, found {stored}");
    }

    let mut sweeps = Vec::new();
    // 11:00 on day 0: nothing due yet
    // 17:00 on day 0: warnings for day-0 receipts before 16:00 (warn 8 h before 24:00)
    // 01:00 on day 1: overdue for every day-0 receipt
    for (label, at) in [
        ("nothing_due", SWEEP_T0 + HOUR_MS),
        ("day0_warnings", SWEEP_T0 + 7 * HOUR_MS),
        ("day0_overdue", SWEEP_T0 + 15 * HOUR_MS),
        ("next_hour", SWEEP_T0 + 16 * HOUR_MS),
    ] {
        clock.set(at);
        let t = Instant::now();
        let r = app.sweep_once().await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        sweeps.push(json!({
            "sweep": label,
            "ms": (ms * 10.0).round() / 10.0,
            "cases_marked": r.written,
            "warnings": r.warnings,
            "overdue": r.overdue,
            "conflicts": r.conflicts,
        }));
    }

    // one community's triage queue over HTTP, as its staff
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(suqiu_web::serve(app.clone(), listener, async {
        let _ = stop_rx.await;
    }));
    let mut conn = Conn::connect(addr).await?;
    let login = json!({"login": "shequ.chen", "password": orgconfig::DEMO_PASSWORD}).to_string();
    let r = conn
        .request("POST", "/api/v1/auth/login", Some(login.as_bytes()))
        .await?;
    let token: String = serde_json::from_slice::<Value>(&r.body)?["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let queue_len = store.queue("430799001002", "triage", 100_000).await?.len();
    let mut lat = Vec::new();
    for i in 0..550 {
        let t = Instant::now();
        let r = conn
            .request_auth("GET", "/api/v1/queues/triage?limit=50", &token)
            .await?;
        if r.status != 200 {
            bail!("queue: {}", String::from_utf8_lossy(&r.body));
        }
        if i >= 50 {
            lat.push(t.elapsed());
        }
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1].as_secs_f64() * 1000.0
    };
    Ok(json!({
        "bench": "sweep",
        "open_cases": cases,
        "load_seconds": (load_seconds * 10.0).round() / 10.0,
        "sweeps": sweeps,
        "queue_http": {
            "queue": "triage of 丹阳社区 (430799001002), limit 50",
            "queue_length": queue_len,
            "requests": lat.len(),
            "p50_ms": (pct(0.5) * 100.0).round() / 100.0,
            "p99_ms": (pct(0.99) * 100.0).round() / 100.0,
        },
    }))
}
