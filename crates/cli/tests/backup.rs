//! Backups (issue 21): backup → verify → restore round trips with the real binary on
//! SQLite and PostgreSQL (counts, a case's journal and state, photos, the audit
//! chain's head), a backup taken while cases are being written is consistent, a
//! damaged backup fails verification, a backup cut short (a failure before the
//! rename, kill -9 of the process) leaves no directory that looks complete, restore
//! refuses a database that is not empty, `migrate` refuses a schema newer than the
//! binary, and `serve --backup-dir` backs up on a schedule with metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suqiu_app::{orgconfig, App, Store, SystemClock};
use suqiu_domain::case::IntakeInput;
use suqiu_domain::workflow::Command as CaseCommand;
use suqiu_store::backup;
use suqiu_store::testing::{self, TestDb};
use suqiu_store::AuditEntry;

fn suqiu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run suqiu")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "suqiu failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "suqiu should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn intake(title: &str) -> IntakeInput {
    IntakeInput {
        channel: Some("web".into()),
        unit: Some("430799001002-01".into()),
        title: Some(title.into()),
        content: Some(format!("{title}，已经一个星期了")),
        reporter_name: Some("王小明".into()),
        reporter_phone: Some("13900001111".into()),
        ..Default::default()
    }
}

async fn app(store: Store) -> App {
    let app = App::new(store, Arc::new(SystemClock)).await.unwrap();
    app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    app
}

/// Cases, a note on the first, a photo, audit records: returns the first case's id.
async fn populate(db: &TestDb, cases: usize) -> i64 {
    let app = app(db.store.clone()).await;
    let mut first = None;
    for i in 0..cases {
        let r = app
            .file_case(&intake(&format!("路灯不亮 {i}")), None)
            .await
            .unwrap();
        first.get_or_insert(r.id);
    }
    let first = first.unwrap();
    let staff = app.staff_by_login("shequ.chen").await.unwrap();
    app.execute(
        &staff,
        first,
        None,
        &CaseCommand::AddNote {
            text: "已联系供电所".into(),
        },
    )
    .await
    .unwrap();
    for i in 0..3 {
        db.store
            .append_audit(AuditEntry {
                at: 1_795_395_600_000 + i,
                actor: "admin".into(),
                action: "test.backup".into(),
                target: format!("case:{first}"),
                reason: "备份测试".into(),
                detail: "{\"tab\":\"a\\tb\"}".into(),
            })
            .await
            .unwrap();
    }
    let photo = if db.url.starts_with("sqlite") {
        format!("INSERT INTO case_photos VALUES ({first}, 1, 'image/png', 4, 'x', x'89504e47', 1)")
    } else {
        format!("INSERT INTO case_photos VALUES ({first}, 1, 'image/png', 4, 'x', '\\x89504e47'::bytea, 1)")
    };
    testing::raw_sql(&db.url, &photo).await.unwrap();
    db.store.chain_audit().await.unwrap();
    first
}

/// What must be equal after a restore.
#[derive(Debug, PartialEq)]
struct Snapshot {
    cases: i64,
    events: usize,
    case: Option<suqiu_store::CaseRow>,
    journal: Vec<suqiu_store::EventRow>,
    queues: Vec<(String, String)>,
    photo: Option<Vec<u8>>,
    head: Option<(i64, String)>,
    users: usize,
    units: usize,
}

async fn snapshot(store: &Store, id: i64) -> Snapshot {
    let ids: Vec<i64> = (1..=store.count_cases().await.unwrap() + 5).collect();
    Snapshot {
        cases: store.count_cases().await.unwrap(),
        events: store.events_of(ids).await.unwrap().len(),
        case: store.case_by_id(id).await.unwrap(),
        journal: store.events(id).await.unwrap(),
        queues: store.case_queues(id).await.unwrap(),
        photo: store.photo(id, 1).await.unwrap().map(|p| p.data),
        head: store.audit_last().await.unwrap(),
        users: store.all_users().await.unwrap().len(),
        units: store.units().await.unwrap().len(),
    }
}

async fn round_trip(source: TestDb, target: TestDb) {
    let id = populate(&source, 12).await;
    let before = snapshot(&source.store, id).await;
    assert!(before.head.is_some() && before.photo.is_some());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b1");
    let text = ok(&suqiu(&[
        "backup",
        "--out",
        out.to_str().unwrap(),
        "--database-url",
        &source.url,
    ]));
    assert!(text.contains("backup written"), "{text}");
    let text = ok(&suqiu(&["backup", "verify", out.to_str().unwrap()]));
    assert!(text.contains("backup verified"), "{text}");
    // a backup never overwrites, and needs a directory
    let err = failed(&suqiu(&[
        "backup",
        "--out",
        out.to_str().unwrap(),
        "--database-url",
        &source.url,
    ]));
    assert!(
        err.contains("already exists") && err.contains("已存在"),
        "{err}"
    );
    let err = failed(&suqiu(&["backup", "--database-url", &source.url]));
    assert!(err.contains("--out"), "{err}");
    let m = backup::read_manifest(&out).unwrap();
    assert_eq!(m.rows("cases"), 12);
    assert_eq!(
        m.audit_head.as_ref().map(|h| (h.seq, h.hash.clone())),
        before.head
    );
    assert!(m.files.iter().all(|f| f.sha256.len() == 64));
    // a new case after the backup is not in it
    app(source.store.clone())
        .await
        .file_case(&intake("备份之后"), None)
        .await
        .unwrap();

    // the target is a fresh database: for SQLite a file that does not exist yet
    let target_url = if target.url.starts_with("sqlite") {
        // a database `suqiu migrate` prepared (and closed again): empty, so accepted
        let p = dir.path().join("restored").join("suqiu.db");
        let url = format!("sqlite://{}", p.display());
        ok(&suqiu(&["migrate", "--database-url", &url]));
        url
    } else {
        target.url.clone()
    };
    let search = dir.path().join("search");
    // a directory that is not a search index is never removed
    let precious = dir.path().join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep me").unwrap();
    let err = failed(&suqiu(&[
        "restore",
        out.to_str().unwrap(),
        "--database-url",
        &target_url,
        "--search-dir",
        precious.to_str().unwrap(),
    ]));
    assert!(err.contains("is not a search index"), "{err}");
    assert!(precious.join("notes.txt").is_file());
    let text = ok(&suqiu(&[
        "restore",
        out.to_str().unwrap(),
        "--database-url",
        &target_url,
        "--search-dir",
        search.to_str().unwrap(),
    ]));
    assert!(text.contains("data restored"), "{text}");
    assert!(text.contains("derived data rebuilt"), "{text}");
    assert!(text.contains("(12 cases)"), "search index rebuilt: {text}");
    let restored = Store::open(&target_url).await.unwrap();
    let after = snapshot(&restored, id).await;
    assert_eq!(after, before);
    // the restored database works: the audit chain verifies, a new case gets a new id
    let app = app(restored.clone()).await;
    let check = app.verify_audit().await.unwrap();
    assert!(check.first_bad.is_none(), "{check:?}");
    let r = app.file_case(&intake("恢复之后"), None).await.unwrap();
    assert_eq!(r.id, 13);
    // restoring again into the now non-empty database is refused
    let err = failed(&suqiu(&[
        "restore",
        out.to_str().unwrap(),
        "--database-url",
        &target_url,
        "--search-dir",
        search.to_str().unwrap(),
    ]));
    assert!(
        err.contains("not empty") && err.contains("不是空的"),
        "{err}"
    );
    assert_eq!(restored.count_cases().await.unwrap(), 13);
}

/// A test of one database, run on SQLite and on the PostgreSQL server of
/// the test script (`testing::postgres_server_url` says whether one is required).
macro_rules! on_both_backends {
    ($body:ident => $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $body(testing::sqlite().await.unwrap()).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let Some(server) = testing::postgres_server_url() else {
                return;
            };
            $body(testing::postgres(&server).await.unwrap()).await;
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_sqlite() {
    round_trip(
        testing::sqlite().await.unwrap(),
        testing::sqlite().await.unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_postgres() {
    let Some(server) = testing::postgres_server_url() else {
        return;
    };
    round_trip(
        testing::postgres(&server).await.unwrap(),
        testing::postgres(&server).await.unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_does_not_restore_into_postgres() {
    let Some(server) = testing::postgres_server_url() else {
        return;
    };
    let source = testing::sqlite().await.unwrap();
    populate(&source, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    backup::backup(&source.url, &out).await.unwrap();
    let target = testing::postgres(&server).await.unwrap();
    let err = failed(&suqiu(&[
        "restore",
        out.to_str().unwrap(),
        "--database-url",
        &target.url,
        "--search-dir",
        dir.path().join("s").to_str().unwrap(),
    ]));
    assert!(err.contains("restores into sqlite only"), "{err}");
    assert_eq!(target.store.count_cases().await.unwrap(), 0);
}

/// A backup taken while cases are filed and changed is one consistent view: in the
/// restored copy every case's row is at the version its journal reaches, and its
/// queues are those of that version.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

async fn consistent_under_writes(source: TestDb, target: TestDb) {
    consistent_under_writes_into(source, Some(target.url.clone())).await;
    drop(target);
}

/// `target`: a database URL, or `None` for a SQLite file that does not exist yet.
async fn consistent_under_writes_into(source: TestDb, target: Option<String>) {
    populate(&source, 5).await;
    let app = app(source.store.clone()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, stop) = (app.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let staff = app.staff_by_login("shequ.chen").await.unwrap();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = app
                    .file_case(&intake(&format!("写入中 {w} {n}")), None)
                    .await
                    .unwrap();
                app.execute(
                    &staff,
                    r.id,
                    None,
                    &CaseCommand::AddNote {
                        text: format!("备注 {n}"),
                    },
                )
                .await
                .unwrap();
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("during");
    let m = backup::backup(&source.url, &out).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    let total = source.store.count_cases().await.unwrap();
    assert!(written > 0);
    assert!(
        (m.rows("cases") as i64) < total,
        "writes went on after the snapshot"
    );
    backup::verify(&out).unwrap();
    let target_url = match target {
        Some(url) if url.starts_with("postgres") => url,
        _ => format!("sqlite://{}", dir.path().join("r.db").display()),
    };
    backup::restore(&out, &target_url).await.unwrap();
    let restored = Store::open(&target_url).await.unwrap();
    assert_eq!(
        restored.count_cases().await.unwrap() as u64,
        m.rows("cases")
    );
    let ids: Vec<i64> = (1..=total).collect();
    let events = restored.events_of(ids.clone()).await.unwrap();
    assert_eq!(events.len() as u64, m.rows("events"));
    for row in restored.cases_by_ids(ids).await.unwrap() {
        let n = events.iter().filter(|e| e.case_id == row.id).count() as u64;
        assert_eq!(row.version, n, "case {}: row and journal agree", row.id);
        let journal: Vec<_> = events
            .iter()
            .filter(|e| e.case_id == row.id)
            .cloned()
            .map(|e| e.event)
            .collect();
        assert!(!journal.is_empty());
    }
    let check = App::new(restored, Arc::new(SystemClock))
        .await
        .unwrap()
        .verify_audit()
        .await
        .unwrap();
    assert!(check.first_bad.is_none(), "{check:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_writes_sqlite() {
    consistent_under_writes(
        testing::sqlite().await.unwrap(),
        testing::sqlite().await.unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_writes_postgres() {
    let Some(server) = testing::postgres_server_url() else {
        return;
    };
    // the target: a database just created, with no schema at all (createdb)
    let name = format!("suqiu_t_{:016x}", rand_u64());
    testing::raw_sql(&server, &format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = testing::with_dbname(&server, &name);
    consistent_under_writes_into(testing::postgres(&server).await.unwrap(), Some(url)).await;
    testing::raw_sql(&server, &format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}

fn flip_byte(path: &Path, at: u64) {
    let mut data = std::fs::read(path).unwrap();
    let i = usize::try_from(at).unwrap() % data.len();
    data[i] ^= 0x55;
    std::fs::write(path, data).unwrap();
}

async fn damaged_backups_fail(db: TestDb) {
    populate(&db, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    let m = backup::backup(&db.url, &good).await.unwrap();
    ok(&suqiu(&["backup", "verify", good.to_str().unwrap()]));
    let copy = |name: &str| {
        let to = dir.path().join(name);
        ok(&Command::new("cp")
            .args(["-r", good.to_str().unwrap(), to.to_str().unwrap()])
            .output()
            .unwrap());
        to
    };
    // a changed byte in the data
    let bad = copy("flipped");
    let file = m
        .files
        .iter()
        .max_by_key(|f| f.bytes)
        .map(|f| bad.join(&f.path))
        .unwrap();
    flip_byte(&file, 4321);
    let err = failed(&suqiu(&["backup", "verify", bad.to_str().unwrap()]));
    assert!(
        err.contains("校验和不符") && err.contains("checksum mismatch"),
        "{err}"
    );
    // no manifest: what a backup cut short looks like
    let bad = copy("no-manifest");
    std::fs::remove_file(bad.join("manifest.json")).unwrap();
    let err = failed(&suqiu(&["backup", "verify", bad.to_str().unwrap()]));
    assert!(err.contains("no manifest.json"), "{err}");
    // a file missing
    let bad = copy("missing");
    std::fs::remove_file(bad.join(&m.files[0].path)).unwrap();
    let err = failed(&suqiu(&["backup", "verify", bad.to_str().unwrap()]));
    assert!(err.contains("is missing"), "{err}");
    // an edited count in the manifest (checksums of the files still match)
    let bad = copy("count");
    let text = std::fs::read_to_string(bad.join("manifest.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["tables"]["events"] = serde_json::json!(m.rows("events") + 1);
    std::fs::write(bad.join("manifest.json"), v.to_string()).unwrap();
    let err = failed(&suqiu(&["backup", "verify", bad.to_str().unwrap()]));
    assert!(err.contains("row count mismatch"), "{err}");
    // restore refuses a damaged backup and writes nothing
    let target = dir.path().join("t.db");
    let err = failed(&suqiu(&[
        "restore",
        bad.to_str().unwrap(),
        "--database-url",
        &format!("sqlite://{}", target.display()),
    ]));
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!target.exists());
}

on_both_backends!(damaged_backups_fail => damaged_backups_fail_verify_sqlite, damaged_backups_fail_verify_postgres);

/// An edited audit record in the backup (and its checksum made to match) fails verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_audit_chain_fails_verify() {
    let db = testing::sqlite().await.unwrap();
    populate(&db, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    backup::backup(&db.url, &out).await.unwrap();
    let file = out.join(backup::SQLITE_FILE);
    testing::raw_sql(
        &format!("sqlite://{}", file.display()),
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET reason = '篡改' WHERE seq = 2;",
    )
    .await
    .unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let (bytes, sha) = {
        use sha2::Digest;
        let data = std::fs::read(&file).unwrap();
        (data.len(), hex::encode(sha2::Sha256::digest(&data)))
    };
    v["files"][0]["bytes"] = serde_json::json!(bytes);
    v["files"][0]["sha256"] = serde_json::json!(sha);
    std::fs::write(out.join("manifest.json"), v.to_string()).unwrap();
    let err = failed(&suqiu(&["backup", "verify", out.to_str().unwrap()]));
    assert!(err.contains("audit chain in the backup is broken"), "{err}");
}

/// Entries of a directory whose names start with `prefix`.
fn entries(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

async fn failure_before_rename(db: TestDb) {
    populate(&db, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut");
    let mut seen_complete = false;
    let err = backup::backup_with(&db.url, &out, |partial| {
        // everything is written, only the rename is missing
        seen_complete = partial.join(backup::MANIFEST).is_file();
        Err(std::io::Error::other("disk pulled out"))
    })
    .await
    .unwrap_err();
    assert!(seen_complete);
    assert!(err.to_string().contains("disk pulled out"), "{err}");
    assert!(!out.exists(), "no backup directory after a failure");
    assert_eq!(
        entries(dir.path(), "cut"),
        Vec::<String>::new(),
        "partial removed"
    );
    // and a later backup to the same name works
    backup::backup(&db.url, &out).await.unwrap();
    backup::verify(&out).unwrap();
}

on_both_backends!(failure_before_rename => a_failure_before_the_rename_leaves_nothing_sqlite, a_failure_before_the_rename_leaves_nothing_postgres);

/// kill -9 of `suqiu backup` half-way: no DIR, and the partial directory fails verify.
async fn killed_mid_backup(db: TestDb) {
    populate(&db, 2).await;
    // some weight so that the copy takes a while: 150 photos of 1 MB
    let blob = if db.url.starts_with("sqlite") {
        "randomblob(1048576)"
    } else {
        "decode(repeat(md5(random()::text), 32768), 'hex')"
    };
    testing::raw_sql(
        &db.url,
        &format!(
            "INSERT INTO case_photos (case_id, n, content_type, size, sha256, data, added_at)
             SELECT 2, 100 + g, 'image/png', 1048576, 'x', {blob}, 0 FROM {}",
            if db.url.starts_with("sqlite") {
                "(WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < 150) SELECT g FROM c)"
            } else {
                "generate_series(1, 150) AS g"
            }
        ),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args([
            "backup",
            "--out",
            out.to_str().unwrap(),
            "--database-url",
            &db.url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // wait until the partial directory has some data in it, then SIGKILL
    loop {
        assert!(Instant::now() < deadline, "no partial directory appeared");
        let partial = entries(dir.path(), "killed.partial-");
        let size: u64 = partial.iter().map(|p| dir_size(&dir.path().join(p))).sum();
        if size > 1 << 20 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "nothing named like the backup");
    let partial = entries(dir.path(), "killed.partial-");
    assert_eq!(partial.len(), 1);
    let err = failed(&suqiu(&[
        "backup",
        "verify",
        dir.path().join(&partial[0]).to_str().unwrap(),
    ]));
    assert!(err.contains("backup verification failed"), "{err}");
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

on_both_backends!(killed_mid_backup => kill_9_mid_backup_leaves_no_complete_backup_sqlite, kill_9_mid_backup_leaves_no_complete_backup_postgres);

/// `migrate` and `serve` refuse a database migrated by a newer binary.
async fn newer_schema_refused(db: TestDb) {
    let cases = db.store.count_cases().await.unwrap();
    testing::raw_sql(
        &db.url,
        "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
    )
    .await
    .unwrap();
    let err = failed(&suqiu(&["migrate", "--database-url", &db.url]));
    assert!(
        err.contains("newer than this binary") && err.contains("比本程序支持的版本"),
        "{err}"
    );
    let err = failed(&suqiu(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &db.url,
    ]));
    assert!(err.contains("newer than this binary"), "{err}");
    match Store::open(&db.url).await {
        Err(suqiu_store::StoreError::SchemaTooNew { found: 999, .. }) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened a newer schema"),
    }
    assert_eq!(db.store.count_cases().await.unwrap(), cases);
}

on_both_backends!(newer_schema_refused => migrate_refuses_a_newer_schema_sqlite, migrate_refuses_a_newer_schema_postgres);

fn http_get(addr: &str, path: &str, token: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}

/// `serve --backup-dir D --backup-every 1s --backup-keep 2` on loopback: backups
/// appear, the newest two are kept, each verifies, `/metrics` shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_backs_up_on_a_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("data/suqiu.db").display());
    let backups = dir.path().join("backups");
    let mut child = Command::new(env!("CARGO_BIN_EXE_suqiu"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--backup-dir",
            backups.to_str().unwrap(),
            "--backup-every",
            "1s",
            "--backup-keep",
            "2",
            "--metrics-token",
            "scrape-secret-backup",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let logs = Arc::new(std::sync::Mutex::new(String::new()));
    {
        let logs = logs.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                logs.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = http_get(&addr, "/metrics", "scrape-secret-backup");
        if text.contains("suqiu_backup_successes_total")
            && metric(&text, "suqiu_backup_successes_total") >= 3.0
        {
            break text;
        }
        assert!(Instant::now() < deadline, "no backups: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let last = metric(&text, "suqiu_backup_last_success_timestamp_seconds");
    assert!(now - last < 60.0 && last > 0.0, "{last}");
    assert_eq!(metric(&text, "suqiu_backup_failures_total"), 0.0);
    assert!(metric(&text, "suqiu_backup_last_size_bytes") > 0.0);
    let mut kept: Vec<String> = entries(&backups, "suqiu-")
        .into_iter()
        .filter(|n| !n.contains(".partial-"))
        .collect();
    kept.sort();
    assert!(
        (2..=3).contains(&kept.len()),
        "the newest two kept (a third may be being pruned): {kept:?}"
    );
    for k in &kept[kept.len() - 2..] {
        ok(&suqiu(&[
            "backup",
            "verify",
            backups.join(k).to_str().unwrap(),
        ]));
    }
    let logs = logs.lock().unwrap().clone();
    assert!(logs.matches("backup written").count() >= 3, "{logs}");
}

/// A database at the previous schema: every migration but the newest, applied from
/// the store's migration files, with a unit and a failed login (a table the newest
/// migration changes).
async fn old_schema_database(url: &str, backend: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../store/migrations/{backend}"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop();
    let mut sql = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);\n",
    );
    for (i, f) in files.iter().enumerate() {
        sql.push_str(&std::fs::read_to_string(f).unwrap());
        sql.push_str(&format!(
            "\nINSERT INTO schema_migrations VALUES ({}, 0);\n",
            i + 1
        ));
    }
    sql.push_str(
        "INSERT INTO units (code, name, level, parent, path) VALUES ('430799', '芙蓉湾区', 'district', NULL, '/430799/');
         INSERT INTO login_failures (login, at) VALUES ('li', 1);",
    );
    testing::raw_sql(url, &sql).await.unwrap();
}

/// A backup made at the previous schema restores into this binary: loaded at its
/// own schema, then migrated.
async fn restore_upgrades(source_url: &str, target_url: &str, backend: &str) {
    old_schema_database(source_url, backend).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old");
    let m = backup::backup(source_url, &out).await.unwrap();
    let newest = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../store/migrations/{backend}")),
    )
    .unwrap()
    .count() as i64;
    assert_eq!(m.schema_version, newest - 1);
    backup::restore(&out, target_url).await.unwrap();
    let restored = Store::open(target_url).await.unwrap();
    assert_eq!(restored.units().await.unwrap().len(), 1);
    let f = restored.login_failures_since("li", "", 0).await.unwrap();
    assert_eq!(
        (f.account, f.pair),
        (1, 1),
        "the old row got the new column's default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_the_previous_schema_restores_and_upgrades_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let src = format!("sqlite://{}", dir.path().join("old.db").display());
    let dst = format!("sqlite://{}", dir.path().join("new.db").display());
    restore_upgrades(&src, &dst, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_the_previous_schema_restores_and_upgrades_postgres() {
    let Some(server) = testing::postgres_server_url() else {
        return;
    };
    let names = [rand_u64(), rand_u64()].map(|n| format!("suqiu_t_{n:016x}"));
    for n in &names {
        testing::raw_sql(&server, &format!("CREATE DATABASE {n}"))
            .await
            .unwrap();
    }
    let urls = names.clone().map(|n| testing::with_dbname(&server, &n));
    restore_upgrades(&urls[0], &urls[1], "postgres").await;
    for n in &names {
        testing::raw_sql(&server, &format!("DROP DATABASE {n} WITH (FORCE)"))
            .await
            .unwrap();
    }
}
