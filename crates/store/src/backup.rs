//! Backups: a consistent online snapshot of everything that is not rebuildable,
//! taken while servers keep writing, checked on its own, restored into an empty
//! database.
//!
//! Everything a deployment cannot rebuild lives in its database: the journal
//! (`events`), the projections, the audit chain (`audit_log`, and on PostgreSQL the
//! entries still waiting in `audit_inbox`), the photos (`case_photos`, stored as
//! bytes), users, sessions and tokens, units, administrators' rules, categories,
//! templates and calendar years, routing models and labels, the outbox. Derived
//! data is left out where the backend allows it (`case_signatures` on PostgreSQL)
//! and rebuilt after a restore; the search index is a directory of its own and is
//! never part of a backup.
//!
//! - SQLite: `VACUUM INTO` a file of the backup, one read transaction (the writer
//!   thread keeps committing meanwhile; WAL readers never block it).
//! - PostgreSQL: one `REPEATABLE READ READ ONLY` transaction (one snapshot for every
//!   table) copies each table with `COPY … TO STDOUT` (text format) into
//!   `tables/<table>.copy`; no `pg_dump` needed.
//!
//! A backup is written into `DIR.partial-XXXXXXXX` beside `DIR`, every file and the
//! directory fsynced, and renamed to `DIR` only when complete: a backup cut short
//! (kill -9, a full disk) leaves only a `.partial-` directory, which has no
//! manifest or whose checksums do not match, so [`verify`] refuses it.
//! `manifest.json` records the format, backend, time, schema version, row counts per
//! table, the audit chain's head and the SHA-256 of every file.

use crate::{audit_hash, AuditEntry, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "suqiu-backup";
/// The version of the layout this binary writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
/// The database file of a SQLite backup.
pub const SQLITE_FILE: &str = "suqiu.db";
const TABLES_DIR: &str = "tables";
/// Tables whose rows are rebuilt from the journal (left out of PostgreSQL backups).
pub const DERIVED_TABLES: &[&str] = &["case_signatures"];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("备份目标已存在：{0}（不会覆盖） / {0} already exists (a backup never overwrites)")]
    Exists(PathBuf),
    #[error("备份目录名无效：{0} / not a usable backup directory name: {0}")]
    BadOut(PathBuf),
    #[error(
        "内存数据库无法备份或恢复 / an in-memory database cannot be backed up or restored into"
    )]
    Memory,
    #[error("找不到数据库文件：{0} / no database file at {0}")]
    NoDatabase(PathBuf),
    #[error("不是目录：{0} / not a directory: {0}")]
    NotADirectory(PathBuf),
    #[error(
        "不是完整的备份：{0} 中没有 manifest.json（备份可能中途被打断） / \
         not a complete backup: {0} has no manifest.json (the backup may have been cut short)"
    )]
    NoManifest(PathBuf),
    #[error("manifest.json 无法读取：{0} / manifest.json is not valid: {0}")]
    BadManifest(String),
    #[error("备份缺少文件：{0} / a file of the backup is missing: {0}")]
    MissingFile(String),
    #[error("备份中有清单未列出的文件：{0} / a file not listed in the manifest: {0}")]
    UnexpectedFile(String),
    #[error(
        "校验和不符：{path}（清单 {expected}，实际 {found}） / \
         checksum mismatch: {path} (manifest {expected}, file {found})"
    )]
    Checksum {
        path: String,
        expected: String,
        found: String,
    },
    #[error("备份的数据库副本未通过完整性检查：{0} / the database copy fails PRAGMA integrity_check: {0}")]
    Integrity(String),
    #[error(
        "行数不符：表 {table} 清单 {manifest} 行，备份中 {found} 行 / \
         row count mismatch: table {table} has {found} rows, the manifest says {manifest}"
    )]
    Count {
        table: String,
        manifest: u64,
        found: u64,
    },
    #[error("备份中的审计链断裂：{0} / the audit chain in the backup is broken: {0}")]
    Chain(String),
    #[error(
        "审计链头不符：清单 {manifest}，备份中 {found} / \
         audit chain head mismatch: manifest {manifest}, backup {found}"
    )]
    Head { manifest: String, found: String },
    #[error(
        "结构版本不符：清单 {manifest}，备份中 {found} / \
         schema version mismatch: manifest {manifest}, backup {found}"
    )]
    Schema { manifest: i64, found: i64 },
    #[error(
        "目标数据库不是空的：表 {table} 已有 {rows} 行；请恢复到新建的空数据库 / \
         the target database is not empty: table {table} has {rows} rows; restore into a new, empty database"
    )]
    NotEmpty { table: String, rows: u64 },
    #[error(
        "目标数据库的结构版本 {target} 比备份的 {backup} 新；请恢复到新建的空数据库（不要先运行 migrate） / \
         the target database's schema ({target}) is newer than the backup's ({backup}): \
         restore into a new, empty database (do not run migrate on it first)"
    )]
    TargetNewer { target: i64, backup: i64 },
    #[error(
        "这是 {backup} 备份，只能恢复到 {backup} 数据库；在两种数据库之间迁移请用 copy / \
         this is a {backup} backup: it restores into {backup} only (moving between backends is `suqiu copy`'s work)"
    )]
    BackendMismatch { backup: String },
    #[error("{path}：{source} / {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Store(e.into())
    }
}

impl From<tokio_postgres::Error> for BackupError {
    fn from(e: tokio_postgres::Error) -> Self {
        BackupError::Store(e.into())
    }
}

pub type Result<T> = std::result::Result<T, BackupError>;

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The audit chain's newest record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadRef {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for HeadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// One file of a backup, relative to its directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_at_ms: i64,
    /// The highest migration applied to the database that was backed up.
    pub schema_version: i64,
    /// The suqiu that wrote it.
    pub suqiu_version: String,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
    /// Columns of each table's file, in order (PostgreSQL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, Vec<String>>,
    pub audit_head: Option<HeadRef>,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Bytes of every file together.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Rows of a table (0 when absent).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.get(table).copied().unwrap_or(0)
    }
}

/// What scheduled backups did (the `/metrics` series).
#[derive(Debug, Default)]
pub struct BackupStats {
    /// Unix milliseconds of the last backup that completed (0: none yet).
    pub last_success_at_ms: AtomicI64,
    pub successes: AtomicU64,
    pub failures: AtomicU64,
    pub last_duration_ms: AtomicU64,
    pub last_bytes: AtomicU64,
}

impl BackupStats {
    pub fn record_success(&self, at_ms: i64, duration_ms: u64, bytes: u64) {
        self.last_success_at_ms.store(at_ms, Ordering::Relaxed);
        self.last_duration_ms.store(duration_ms, Ordering::Relaxed);
        self.last_bytes.store(bytes, Ordering::Relaxed);
        self.successes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where a database URL points.
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

fn target(url: &str) -> Result<Target> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        if path == ":memory:" {
            return Err(BackupError::Memory);
        }
        if path.is_empty() {
            return Err(StoreError::BadUrl(url.to_string()).into());
        }
        return Ok(Target::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_string()));
    }
    Err(StoreError::BadUrl(url.to_string()).into())
}

fn supported_schema(backend: &str) -> i64 {
    let m = if backend == "sqlite" {
        crate::sqlite::MIGRATIONS
    } else {
        crate::pg::MIGRATIONS
    };
    m.last().map_or(0, |m| m.0)
}

/// What a snapshot found in its one consistent view.
struct Facts {
    schema_version: i64,
    tables: BTreeMap<String, u64>,
    columns: BTreeMap<String, Vec<String>>,
    audit_head: Option<HeadRef>,
    files: Vec<FileEntry>,
}

/// Takes a backup of the database at `database_url` into the new directory `out`.
pub async fn backup(database_url: &str, out: &Path) -> Result<Manifest> {
    backup_with(database_url, out, |_| Ok(())).await
}

/// [`backup`], with `before_publish` called on the complete `.partial-` directory
/// just before it is renamed to `out` (tests inject a failure there; an error leaves
/// no `out`).
pub async fn backup_with(
    database_url: &str,
    out: &Path,
    before_publish: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<Manifest> {
    let target = target(database_url)?;
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| BackupError::BadOut(out.to_path_buf()))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_at(&parent))?;
    let tmp = parent.join(format!("{name}.partial-{:08x}", rand::random::<u32>()));
    std::fs::create_dir(&tmp).map_err(io_at(&tmp))?;
    // personal data, password and token hashes: for the owner's eyes only
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))
            .map_err(io_at(&tmp))?;
    }
    let done = write_backup(target, &tmp, out, &parent, before_publish).await;
    if done.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    done
}

async fn write_backup(
    target: Target,
    tmp: &Path,
    out: &Path,
    parent: &Path,
    before_publish: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<Manifest> {
    let now = time::OffsetDateTime::now_utc();
    let (backend, facts) = match target {
        Target::Sqlite(path) => {
            let tmp = tmp.to_path_buf();
            let facts = tokio::task::spawn_blocking(move || sqlite_snapshot(&path, &tmp))
                .await
                .map_err(|e| StoreError::Database(e.to_string()))??;
            ("sqlite", facts)
        }
        Target::Postgres(url) => ("postgres", pg_snapshot(&url, tmp).await?),
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        backend: backend.into(),
        created_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Database(e.to_string()))?,
        created_at_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        schema_version: facts.schema_version,
        suqiu_version: env!("CARGO_PKG_VERSION").into(),
        tables: facts.tables,
        columns: facts.columns,
        audit_head: facts.audit_head,
        files: facts.files,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::BadManifest(e.to_string()))?;
    let mpath = tmp.join(MANIFEST);
    let mut f = std::fs::File::create(&mpath).map_err(io_at(&mpath))?;
    f.write_all(&text).map_err(io_at(&mpath))?;
    f.sync_all().map_err(io_at(&mpath))?;
    drop(f);
    if manifest.backend == "postgres" {
        sync_dir(&tmp.join(TABLES_DIR))?;
    }
    sync_dir(tmp)?;
    before_publish(tmp).map_err(io_at(tmp))?;
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    std::fs::rename(tmp, out).map_err(io_at(out))?;
    sync_dir(parent)?;
    Ok(manifest)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))
}

/// Size and SHA-256 of a file (fsynced first: it was just written).
fn file_entry(dir: &Path, rel: &str) -> Result<FileEntry> {
    let path = dir.join(rel);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_at(&path))?;
    f.sync_all().map_err(io_at(&path))?;
    let (bytes, sha256) = hash_reader(f).map_err(io_at(&path))?;
    Ok(FileEntry {
        path: rel.to_string(),
        bytes,
        sha256,
    })
}

fn hash_reader(mut r: impl Read) -> std::io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, hex::encode(h.finalize())))
}

// ---------------------------------------------------------------- SQLite

fn sqlite_snapshot(path: &Path, tmp: &Path) -> Result<Facts> {
    if !path.is_file() {
        return Err(BackupError::NoDatabase(path.to_path_buf()));
    }
    let src = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(30))?;
    let dest = tmp.join(SQLITE_FILE);
    let dest_text = dest
        .to_str()
        .ok_or_else(|| BackupError::BadOut(dest.clone()))?
        .to_string();
    // one read transaction: a consistent copy while the writer goes on committing
    src.execute("VACUUM INTO ?1", [dest_text])?;
    drop(src);
    let mut facts = sqlite_facts(&dest, false)?;
    // VACUUM INTO does not fsync its output: file_entry does
    facts.files.push(file_entry(tmp, SQLITE_FILE)?);
    Ok(facts)
}

/// Opens a SQLite file of a backup without writing anything beside it.
fn open_copy(path: &Path) -> Result<rusqlite::Connection> {
    let text = path
        .to_str()
        .ok_or_else(|| BackupError::BadOut(path.to_path_buf()))?;
    let mut uri = String::from("file:");
    for ch in text.chars() {
        match ch {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    Ok(rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

/// Schema version, row counts and audit head of a SQLite copy; with `full`, also
/// `PRAGMA integrity_check` and every link of the audit chain.
fn sqlite_facts(path: &Path, full: bool) -> Result<Facts> {
    let c = open_copy(path)?;
    if full {
        let mut st = c.prepare("PRAGMA integrity_check")?;
        let problems: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<_, _>>()?;
        if problems != ["ok"] {
            return Err(BackupError::Integrity(problems.join("; ")));
        }
    }
    let schema_version: i64 = c.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let names: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let mut tables = BTreeMap::new();
    for t in names {
        let n: i64 = c.query_row(&format!("SELECT count(*) FROM {}", quote(&t)), [], |r| {
            r.get(0)
        })?;
        tables.insert(t, u64::try_from(n).unwrap_or(0));
    }
    let audit_head = if full {
        let mut chain = Chain::default();
        let mut st = c.prepare(
            "SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let entry = AuditEntry {
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                reason: r.get(5)?,
                detail: r.get(6)?,
            };
            chain.push(r.get(0)?, &entry, r.get(7)?, r.get(8)?)?;
        }
        chain.head()
    } else {
        c.query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok(HeadRef {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                })
            },
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?
    };
    Ok(Facts {
        schema_version,
        tables,
        columns: BTreeMap::new(),
        audit_head,
        files: Vec::new(),
    })
}

/// A quoted SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Checks audit records in sequence order: no gap, each chained to the one before
/// (the first may follow records purged by retention), each hash its content's.
#[derive(Default)]
struct Chain {
    prev: Option<(i64, String)>,
}

impl Chain {
    fn push(&mut self, seq: i64, e: &AuditEntry, prev_hash: String, hash: String) -> Result<()> {
        if let Some((ps, ph)) = &self.prev {
            if seq != ps + 1 {
                return Err(BackupError::Chain(format!(
                    "记录 {ps} 之后缺号 / a gap after record {ps}"
                )));
            }
            if &prev_hash != ph {
                return Err(BackupError::Chain(format!(
                    "记录 {seq} 未链接到记录 {ps} / record {seq} does not chain to record {ps}"
                )));
            }
        }
        if audit_hash(&prev_hash, seq, e) != hash {
            return Err(BackupError::Chain(format!(
                "记录 {seq} 的哈希与内容不符 / record {seq}: its hash does not match its content"
            )));
        }
        self.prev = Some((seq, hash));
        Ok(())
    }

    fn head(self) -> Option<HeadRef> {
        self.prev.map(|(seq, hash)| HeadRef { seq, hash })
    }
}

fn sqlite_restore(dir: &Path, m: &Manifest, path: &Path) -> Result<()> {
    if path.exists() {
        let c = rusqlite::Connection::open(path)?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        let names: Vec<String> = c
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 AND name NOT IN ('schema_migrations', 'template_version') ORDER BY name",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        for t in names {
            let n: i64 = c.query_row(&format!("SELECT count(*) FROM {}", quote(&t)), [], |r| {
                r.get(0)
            })?;
            if n > 0 {
                return Err(BackupError::NotEmpty {
                    table: t,
                    rows: u64::try_from(n).unwrap_or(0),
                });
            }
        }
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_at(&parent))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| BackupError::BadOut(path.to_path_buf()))?;
    let tmp = parent.join(format!("{name}.restore-{:08x}", rand::random::<u32>()));
    let src = dir.join(SQLITE_FILE);
    let copied = (|| -> Result<()> {
        std::fs::copy(&src, &tmp).map_err(io_at(&tmp))?;
        let f = std::fs::File::open(&tmp).map_err(io_at(&tmp))?;
        let (_, sha256) = hash_reader(f).map_err(io_at(&tmp))?;
        let listed = m.files.iter().find(|f| f.path == SQLITE_FILE);
        if listed.map(|f| &f.sha256) != Some(&sha256) {
            return Err(BackupError::Checksum {
                path: tmp.display().to_string(),
                expected: listed.map(|f| f.sha256.clone()).unwrap_or_default(),
                found: sha256,
            });
        }
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_at(&tmp))?;
        // the empty database's own journal files must not be applied to the copy
        for side in ["-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{side}", path.display()));
            if p.exists() {
                std::fs::remove_file(&p).map_err(io_at(&p))?;
            }
        }
        std::fs::rename(&tmp, path).map_err(io_at(path))?;
        sync_dir(&parent)
    })();
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    copied
}

// ------------------------------------------------------------ PostgreSQL

async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let cfg = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "backup connection ended");
        }
    });
    Ok(client)
}

/// The tables of the current schema, but `schema_migrations`.
async fn pg_tables(c: &impl tokio_postgres::GenericClient) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT table_name::TEXT FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name <> 'schema_migrations'
         ORDER BY table_name",
        &[],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

async fn pg_columns(c: &impl tokio_postgres::GenericClient, table: &str) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT column_name::TEXT FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1
         ORDER BY ordinal_position",
        &[&table],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

fn column_list(cols: &[String]) -> String {
    cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

async fn pg_snapshot(url: &str, tmp: &Path) -> Result<Facts> {
    use futures_util::StreamExt;
    let mut client = connect(url).await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    // the snapshot is taken at the first statement: every table below is read in it
    let schema_version: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    let dir = tmp.join(TABLES_DIR);
    std::fs::create_dir(&dir).map_err(io_at(&dir))?;
    let mut facts = Facts {
        schema_version,
        tables: BTreeMap::new(),
        columns: BTreeMap::new(),
        audit_head: None,
        files: Vec::new(),
    };
    for t in pg_tables(&tx).await? {
        if DERIVED_TABLES.contains(&t.as_str()) {
            continue;
        }
        let cols = pg_columns(&tx, &t).await?;
        let rel = format!("{TABLES_DIR}/{t}.copy");
        let path = tmp.join(&rel);
        let file = std::fs::File::create(&path).map_err(io_at(&path))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let stream = tx
            .copy_out(&format!(
                "COPY {} ({}) TO STDOUT",
                quote(&t),
                column_list(&cols)
            ))
            .await?;
        futures_util::pin_mut!(stream);
        let (mut rows, mut bytes) = (0u64, 0u64);
        let mut h = Sha256::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            // text format: one line per row, newlines inside values are escaped
            rows += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            bytes += chunk.len() as u64;
            h.update(&chunk);
            w.write_all(&chunk).map_err(io_at(&path))?;
        }
        let file = w.into_inner().map_err(|e| BackupError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_at(&path))?;
        facts.files.push(FileEntry {
            path: rel,
            bytes,
            sha256: hex::encode(h.finalize()),
        });
        facts.tables.insert(t.clone(), rows);
        facts.columns.insert(t, cols);
    }
    facts.audit_head = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|r| HeadRef {
            seq: r.get(0),
            hash: r.get(1),
        });
    tx.commit().await?;
    Ok(facts)
}

/// One field of COPY's text format: `None` for `\N`, else the unescaped text.
fn copy_field(raw: &str) -> Option<String> {
    if raw == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut it = raw.chars();
    while let Some(ch) = it.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// Checks the chain of a PostgreSQL backup's `audit_log.copy`; its head.
fn pg_file_chain(path: &Path, cols: &[String]) -> Result<Option<HeadRef>> {
    let at = |name: &str| {
        cols.iter()
            .position(|c| c == name)
            .ok_or_else(|| BackupError::BadManifest(format!("audit_log has no column {name}")))
    };
    let idx = [
        at("seq")?,
        at("at")?,
        at("actor")?,
        at("action")?,
        at("target")?,
        at("reason")?,
        at("detail")?,
        at("prev_hash")?,
        at("hash")?,
    ];
    let text = std::fs::read_to_string(path).map_err(io_at(path))?;
    let bad = |line: usize| {
        BackupError::Chain(format!(
            "audit_log.copy 第 {line} 行无法解析 / line {line} of audit_log.copy cannot be read"
        ))
    };
    let mut rows: Vec<(i64, AuditEntry, String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != cols.len() {
            return Err(bad(n + 1));
        }
        let get = |i: usize| copy_field(fields[idx[i]]).ok_or_else(|| bad(n + 1));
        let num = |i: usize| get(i)?.parse::<i64>().map_err(|_| bad(n + 1));
        rows.push((
            num(0)?,
            AuditEntry {
                at: num(1)?,
                actor: get(2)?,
                action: get(3)?,
                target: get(4)?,
                reason: get(5)?,
                detail: get(6)?,
            },
            get(7)?,
            get(8)?,
        ));
    }
    rows.sort_by_key(|r| r.0);
    let mut chain = Chain::default();
    for (seq, e, prev, hash) in rows {
        chain.push(seq, &e, prev, hash)?;
    }
    Ok(chain.head())
}

async fn pg_restore(dir: &Path, m: &Manifest, url: &str) -> Result<()> {
    use futures_util::SinkExt;
    let mut client = connect(url).await?;
    let tx = client.transaction().await?;
    // the migrations' lock: no server migrates this database meanwhile
    tx.execute("SELECT pg_advisory_xact_lock(7012345)", &[])
        .await?;
    let has_schema: bool = tx
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .get(0);
    if has_schema {
        let v: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        if v > m.schema_version {
            return Err(BackupError::TargetNewer {
                target: v,
                backup: m.schema_version,
            });
        }
    }
    // the schema the backup was taken at; the rest after the data is in
    crate::pg::apply_migrations(&tx, Some(m.schema_version)).await?;
    for t in pg_tables(&tx).await? {
        if t == "template_version" {
            continue; // seeded by its migration: replaced below
        }
        let n: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {}", quote(&t)), &[])
            .await?
            .get(0);
        if n > 0 {
            return Err(BackupError::NotEmpty {
                table: t,
                rows: u64::try_from(n).unwrap_or(0),
            });
        }
    }
    for (t, cols) in &m.columns {
        if t == "template_version" {
            tx.execute("DELETE FROM template_version", &[]).await?;
        }
        let path = dir.join(TABLES_DIR).join(format!("{t}.copy"));
        let mut file = std::fs::File::open(&path).map_err(io_at(&path))?;
        let sink = tx
            .copy_in(&format!(
                "COPY {} ({}) FROM STDIN",
                quote(t),
                column_list(cols)
            ))
            .await?;
        futures_util::pin_mut!(sink);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let k = file.read(&mut buf).map_err(io_at(&path))?;
            if k == 0 {
                break;
            }
            sink.send(bytes::Bytes::copy_from_slice(&buf[..k])).await?;
        }
        let n = sink.finish().await?;
        if n != m.rows(t) {
            return Err(BackupError::Count {
                table: t.clone(),
                manifest: m.rows(t),
                found: n,
            });
        }
    }
    // identity columns continue after the restored rows
    let identities = tx
        .query(
            "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )
        .await?;
    for r in identities {
        let (t, c): (String, String) = (r.get(0), r.get(1));
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
                c = quote(&c),
                t = quote(&t)
            ),
            &[&quote(&t), &c],
        )
        .await?;
    }
    // change positions are transaction ids of the old server: start again from 0 so
    // a fresh search index's mark (0) covers every case
    if m.columns
        .get("cases")
        .is_some_and(|c| c.iter().any(|c| c == "changed"))
    {
        tx.execute("UPDATE cases SET changed = 0", &[]).await?;
    }
    let head = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|r| HeadRef {
            seq: r.get(0),
            hash: r.get(1),
        });
    if head != m.audit_head {
        return Err(head_mismatch(&m.audit_head, &head));
    }
    crate::pg::apply_migrations(&tx, None).await?;
    tx.commit().await?;
    Ok(())
}

fn head_text(h: &Option<HeadRef>) -> String {
    h.as_ref()
        .map_or_else(|| "（无 / none）".to_string(), HeadRef::to_string)
}

fn head_mismatch(manifest: &Option<HeadRef>, found: &Option<HeadRef>) -> BackupError {
    BackupError::Head {
        manifest: head_text(manifest),
        found: head_text(found),
    }
}

// ---------------------------------------------------------------- verify

/// What [`verify`] checked.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    /// Files whose size and SHA-256 matched.
    pub files: usize,
    /// Rows counted against the manifest.
    pub rows: u64,
}

fn safe_rel(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn list_files(root: &Path, dir: &Path, out: &mut BTreeSet<String>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let e = e.map_err(io_at(dir))?;
        let p = e.path();
        if p.is_dir() {
            list_files(root, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            out.insert(rel);
        }
    }
    Ok(())
}

/// Reads `dir/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    if !dir.is_dir() {
        return Err(BackupError::NotADirectory(dir.to_path_buf()));
    }
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Err(BackupError::NoManifest(dir.to_path_buf()));
    }
    let text = std::fs::read(&path).map_err(io_at(&path))?;
    let m: Manifest =
        serde_json::from_slice(&text).map_err(|e| BackupError::BadManifest(e.to_string()))?;
    if m.format != FORMAT {
        return Err(BackupError::BadManifest(format!(
            "format {:?}, expected {FORMAT:?}",
            m.format
        )));
    }
    if m.format_version != FORMAT_VERSION {
        return Err(BackupError::BadManifest(format!(
            "format version {} (this suqiu reads version {FORMAT_VERSION})",
            m.format_version
        )));
    }
    if m.backend != "sqlite" && m.backend != "postgres" {
        return Err(BackupError::BadManifest(format!(
            "unknown backend {:?}",
            m.backend
        )));
    }
    Ok(m)
}

/// Checks a backup on its own: the manifest, every file's size and SHA-256 (and no
/// file it does not list), the row counts, and the audit chain in the copy (every
/// link and its head); a SQLite copy also passes `PRAGMA integrity_check`.
pub fn verify(dir: &Path) -> Result<Verified> {
    let m = read_manifest(dir)?;
    let mut listed = BTreeSet::new();
    for f in &m.files {
        if !safe_rel(&f.path) {
            return Err(BackupError::BadManifest(format!("file path {:?}", f.path)));
        }
        let path = dir.join(&f.path);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::MissingFile(f.path.clone()))
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        let (bytes, sha256) = hash_reader(file).map_err(io_at(&path))?;
        if bytes != f.bytes || sha256 != f.sha256 {
            return Err(BackupError::Checksum {
                path: f.path.clone(),
                expected: format!("{} bytes, sha256 {}", f.bytes, f.sha256),
                found: format!("{bytes} bytes, sha256 {sha256}"),
            });
        }
        listed.insert(f.path.clone());
    }
    let mut present = BTreeSet::new();
    list_files(dir, dir, &mut present)?;
    if let Some(extra) = present
        .iter()
        .find(|p| p.as_str() != MANIFEST && !listed.contains(*p))
    {
        return Err(BackupError::UnexpectedFile(extra.clone()));
    }
    let mut rows = 0;
    if m.backend == "sqlite" {
        if !listed.contains(SQLITE_FILE) {
            return Err(BackupError::MissingFile(SQLITE_FILE.into()));
        }
        let facts = sqlite_facts(&dir.join(SQLITE_FILE), true)?;
        if facts.schema_version != m.schema_version {
            return Err(BackupError::Schema {
                manifest: m.schema_version,
                found: facts.schema_version,
            });
        }
        let names: BTreeSet<&String> = m.tables.keys().chain(facts.tables.keys()).collect();
        for t in names {
            let (want, got) = (m.rows(t), facts.tables.get(t).copied().unwrap_or(0));
            if want != got || !facts.tables.contains_key(t) || !m.tables.contains_key(t) {
                return Err(BackupError::Count {
                    table: t.clone(),
                    manifest: want,
                    found: got,
                });
            }
            rows += got;
        }
        if facts.audit_head != m.audit_head {
            return Err(head_mismatch(&m.audit_head, &facts.audit_head));
        }
    } else {
        if m.tables.keys().ne(m.columns.keys()) {
            return Err(BackupError::BadManifest(
                "tables and columns name different tables".into(),
            ));
        }
        for t in m.tables.keys() {
            let rel = format!("{TABLES_DIR}/{t}.copy");
            if !listed.contains(&rel) {
                return Err(BackupError::MissingFile(rel));
            }
            let path = dir.join(&rel);
            let f = std::fs::File::open(&path).map_err(io_at(&path))?;
            let got = count_lines(f).map_err(io_at(&path))?;
            if got != m.rows(t) {
                return Err(BackupError::Count {
                    table: t.clone(),
                    manifest: m.rows(t),
                    found: got,
                });
            }
            rows += got;
        }
        let head = match m.columns.get("audit_log") {
            Some(cols) => pg_file_chain(&dir.join(TABLES_DIR).join("audit_log.copy"), cols)?,
            None => None,
        };
        if head != m.audit_head {
            return Err(head_mismatch(&m.audit_head, &head));
        }
    }
    Ok(Verified {
        files: listed.len(),
        rows,
        manifest: m,
    })
}

fn count_lines(mut r: impl Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += buf[..k].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

// --------------------------------------------------------------- restore

/// Restores the backup in `dir` into the empty database at `database_url` (same
/// backend as the backup), after verifying it; then migrates it to this binary's
/// schema. Derived data (search index, related-case signatures) is the caller's to
/// rebuild. Nothing is restored into a database that holds any row.
pub async fn restore(dir: &Path, database_url: &str) -> Result<Manifest> {
    let target = target(database_url)?;
    let owned = dir.to_path_buf();
    let verified = tokio::task::spawn_blocking(move || verify(&owned))
        .await
        .map_err(|e| StoreError::Database(e.to_string()))??;
    let m = verified.manifest;
    let supported = supported_schema(&m.backend);
    if m.schema_version > supported {
        return Err(StoreError::SchemaTooNew {
            found: m.schema_version,
            supported,
        }
        .into());
    }
    match target {
        Target::Sqlite(path) if m.backend == "sqlite" => {
            let (dir, m2) = (dir.to_path_buf(), m.clone());
            tokio::task::spawn_blocking(move || sqlite_restore(&dir, &m2, &path))
                .await
                .map_err(|e| StoreError::Database(e.to_string()))??;
        }
        Target::Postgres(url) if m.backend == "postgres" => pg_restore(dir, &m, &url).await?,
        _ => {
            return Err(BackupError::BackendMismatch {
                backup: m.backend.clone(),
            })
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_unescape() {
        assert_eq!(copy_field("\\N"), None);
        assert_eq!(copy_field("a\\tb\\nc\\\\d").as_deref(), Some("a\tb\nc\\d"));
        assert_eq!(copy_field("路灯").as_deref(), Some("路灯"));
    }

    #[test]
    fn relative_paths_only() {
        assert!(safe_rel("tables/cases.copy"));
        assert!(!safe_rel("../x"));
        assert!(!safe_rel("/etc/passwd"));
        assert!(!safe_rel(""));
    }
}
