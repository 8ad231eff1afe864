//! Embedded SQLite: one file in WAL mode with `synchronous=FULL` (a commit is on
//! disk before it is acknowledged). All writes go to one writer thread that
//! drains whatever has queued up and commits it as one transaction (group
//! commit); each write runs in its own savepoint so a failing write does not
//! take the others with it. Reads use a small pool of read connections.

use crate::filter::{case_column_count, CaseKey, Param, QueueFilter, CASE_COLUMNS};
use crate::{
    audit_hash, ApiTokenRow, AuditEntry, AuditRow, DeadlineRow, NotificationRow, AUDIT_GENESIS,
};
use crate::{
    decode_event, CaseFilter, CaseRef, CaseRow, EncodedWrite, EventRow, Result, StoreError,
    UnitRow, UserRow,
};
use crate::{
    outcome_columns, OutboxOutcome, RoutingLabel, RoutingModelRow, SignatureRow,
    NOTIFICATION_COLUMNS,
};
use crate::{ChatMessageKey, QueuePosition, TemplateOverrideRow, UnitRemoval, UNIT_REFERENCES};
use crate::{Delta, LoginFailures, PhotoMeta, PhotoRow, DEADLINE_COLUMNS};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use suqiu_domain::case::Millis;
use tokio::sync::oneshot;

pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_workflow.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_privacy_audit.sql"),
    ),
    (4, include_str!("../migrations/sqlite/0004_api_tokens.sql")),
    (5, include_str!("../migrations/sqlite/0005_outbox.sql")),
    (6, include_str!("../migrations/sqlite/0006_routing.sql")),
    (7, include_str!("../migrations/sqlite/0007_channels.sql")),
    (
        8,
        include_str!("../migrations/sqlite/0008_case_signatures.sql"),
    ),
    (
        9,
        include_str!("../migrations/sqlite/0009_photos_admin.sql"),
    ),
    (
        10,
        include_str!("../migrations/sqlite/0010_search_mark.sql"),
    ),
    (
        11,
        include_str!("../migrations/sqlite/0011_login_address.sql"),
    ),
];

/// Largest number of writes committed together.
const MAX_BATCH: usize = 1024;

type Completer = Box<dyn FnOnce(Result<()>) + Send>;
type Job = Box<dyn WriteJob>;

/// A write waiting for the writer thread: it either runs inside the group
/// transaction (and is told the commit's outcome), or fails without running.
trait WriteJob: Send {
    /// Runs the write; returns whether it succeeded and how to report the commit.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completer);
    fn fail(self: Box<Self>, err: StoreError);
}

struct Pending<F, T> {
    f: F,
    reply: oneshot::Sender<Result<T>>,
}

impl<F, T> WriteJob for Pending<F, T>
where
    F: FnOnce(&Connection) -> Result<T> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completer) {
        let reply = self.reply;
        match (self.f)(conn) {
            Ok(v) => (
                true,
                Box::new(move |commit: Result<()>| {
                    let _ = reply.send(commit.map(|()| v));
                }),
            ),
            Err(e) => (
                false,
                Box::new(move |_| {
                    let _ = reply.send(Err(e));
                }),
            ),
        }
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// File path; `None` for an in-memory database, whose reads go to the writer.
    path: Option<String>,
    readers: Mutex<Vec<Connection>>,
    /// Dropping the store drops this sender, which stops the checkpointer.
    _checkpointer: mpsc::Sender<()>,
}

static MEMORY_DB: AtomicU64 = AtomicU64::new(0);

/// Refuses a database migrated by a newer binary (`schema_migrations` must exist).
fn check_schema_version(c: &Connection) -> Result<()> {
    let found: i64 = c.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Each write of a group commit runs in a savepoint; its statement journal
    // stays in memory instead of a temporary file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    Ok(())
}

impl SqliteStore {
    pub async fn open(path: Option<String>) -> Result<SqliteStore> {
        let writer = match &path {
            Some(p) => {
                if let Some(dir) = std::path::Path::new(p).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| StoreError::Database(format!("{p}: {e}")))?;
                    }
                }
                let c = Connection::open(p)?;
                let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
                if mode.to_lowercase() != "wal" {
                    return Err(StoreError::Database(format!(
                        "could not enable WAL (got {mode})"
                    )));
                }
                c.pragma_update(None, "synchronous", "FULL")?;
                // Checkpoints run on their own thread (below), off the commit path;
                // this is only the safety net if that thread falls behind.
                c.pragma_update(None, "wal_autocheckpoint", 20_000)?;
                c
            }
            None => {
                let n = MEMORY_DB.fetch_add(1, Ordering::Relaxed);
                Connection::open(format!(
                    "file:suqiu-mem-{}-{n}?mode=memory",
                    std::process::id()
                ))?
            }
        };
        configure(&writer)?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        if let Some(p) = &path {
            let c = Connection::open(p)?;
            configure(&c)?;
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || checkpoint_loop(c, stop_rx))
                .map_err(|e| StoreError::Database(e.to_string()))?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                jobs: Mutex::new(tx),
                path,
                readers: Mutex::new(Vec::new()),
                _checkpointer: stop_tx,
            }),
        })
    }

    /// Runs `f` on the writer thread inside the next group transaction.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(Pending { f, reply: tx });
        self.inner
            .jobs
            .lock()
            .map_err(|_| StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` on a read connection (or on the writer for an in-memory database).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(path) = self.inner.path.clone() else {
            return self.write(f).await;
        };
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut v| v.pop());
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    configure(&c)?;
                    c
                }
            };
            let out = f(&conn);
            if let Ok(mut v) = inner.readers.lock() {
                if v.len() < 8 {
                    v.push(conn);
                }
            }
            out
        })
        .await
        .map_err(|e| StoreError::Database(e.to_string()))?
    }

    pub async fn migrate(&self) -> Result<usize> {
        self.write(|c| {
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )?;
            check_schema_version(c)?;
            let mut ran = 0;
            for (version, sql) in MIGRATIONS {
                let done: Option<i64> = c
                    .query_row("SELECT version FROM schema_migrations WHERE version = ?1", [version], |r| r.get(0))
                    .optional()?;
                if done.is_none() {
                    c.execute_batch(sql)?;
                    c.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
                        [version],
                    )?;
                    ran += 1;
                }
            }
            Ok(ran)
        })
        .await
    }

    pub async fn put_org(&self, units: Vec<UnitRow>, users: Vec<UserRow>) -> Result<()> {
        self.write(move |c| {
            let mut up = c.prepare_cached(
                "INSERT INTO units (code, name, level, parent, path) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (code) DO NOTHING",
            )?;
            for u in &units {
                up.execute(params![u.code, u.name, u.level, u.parent, u.path])?;
            }
            let mut us = c.prepare_cached(
                "INSERT INTO users (login, name, role, unit, linked_units, password_hash, disabled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (login) DO NOTHING",
            )?;
            for u in &users {
                let linked = serde_json::to_string(&u.linked_units)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                us.execute(params![
                    u.login,
                    u.name,
                    u.role,
                    u.unit,
                    linked,
                    u.password_hash,
                    u.disabled
                ])?;
            }
            Ok(())
        })
        .await
    }

    pub async fn units(&self) -> Result<Vec<UnitRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT code, name, level, parent, path FROM units ORDER BY path",
            )?;
            let rows = st.query_map([], |r| {
                Ok(UnitRow {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    level: r.get(2)?,
                    parent: r.get(3)?,
                    path: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn all_users(&self) -> Result<Vec<UserRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT login, name, role, unit, linked_units, password_hash, disabled FROM users ORDER BY login",
            )?;
            let rows = st.query_map([], user_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    pub async fn insert_unit(&self, u: UnitRow) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "INSERT INTO units (code, name, level, parent, path) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (code) DO NOTHING",
                params![u.code, u.name, u.level, u.parent, u.path],
            )? > 0)
        })
        .await
    }

    pub async fn rename_unit(&self, code: String, name: String) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE units SET name = ?2 WHERE code = ?1",
                params![code, name],
            )? > 0)
        })
        .await
    }

    pub async fn remove_unit(&self, code: String) -> Result<UnitRemoval> {
        self.write(move |c| {
            let exists = c
                .query_row("SELECT 1 FROM units WHERE code = ?1", [&code], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Ok(UnitRemoval::NotFound);
            }
            for (what, sql) in UNIT_REFERENCES {
                if c.query_row(sql, [&code], |_| Ok(())).optional()?.is_some() {
                    return Ok(UnitRemoval::InUse(what));
                }
            }
            let linked = format!("\"{code}\"");
            if c.query_row(
                "SELECT 1 FROM users WHERE instr(linked_units, ?1) > 0 LIMIT 1",
                [&linked],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
            {
                return Ok(UnitRemoval::InUse("users"));
            }
            c.execute("DELETE FROM units WHERE code = ?1", [&code])?;
            Ok(UnitRemoval::Removed)
        })
        .await
    }

    pub async fn logins(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT login FROM users ORDER BY login")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn user(&self, login: String) -> Result<Option<UserRow>> {
        self.read(move |c| {
            c.query_row(
                "SELECT login, name, role, unit, linked_units, password_hash, disabled FROM users WHERE login = ?1",
                [login],
                user_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn insert_session(
        &self,
        token_hash: String,
        login: String,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO sessions (token_hash, login, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, login, now, expires_at],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn insert_api_token(&self, t: ApiTokenRow, token_hash: String) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO api_tokens (id, token_hash, login, name, scopes, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    t.id,
                    token_hash,
                    t.login,
                    t.name,
                    t.scopes.join(" "),
                    t.created_at,
                    t.expires_at,
                    t.revoked_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn api_token_user(
        &self,
        token_hash: String,
        now: Millis,
    ) -> Result<Option<(ApiTokenRow, UserRow)>> {
        self.read(move |c| {
            c.query_row(
                "SELECT u.login, u.name, u.role, u.unit, u.linked_units, u.password_hash, u.disabled,
                        t.id, t.login, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at
                 FROM api_tokens t JOIN users u ON u.login = t.login
                 WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND t.revoked_at IS NULL AND u.disabled = 0",
                params![token_hash, now],
                |r| {
                    let t = api_token_row(r, 7)?;
                    Ok(user_row(r)?.map(|u| (t, u)))
                },
            )
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn api_tokens(&self, login: Option<String>) -> Result<Vec<ApiTokenRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, login, name, scopes, created_at, expires_at, revoked_at FROM api_tokens
                 WHERE ?1 IS NULL OR login = ?1 ORDER BY created_at DESC, id",
            )?;
            let rows = st.query_map(params![login], |r| api_token_row(r, 0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn revoke_api_token(
        &self,
        id: String,
        login: Option<String>,
        at: Millis,
    ) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE api_tokens SET revoked_at = ?3
                 WHERE id = ?1 AND (?2 IS NULL OR login = ?2) AND revoked_at IS NULL",
                params![id, login, at],
            )? > 0)
        })
        .await
    }

    pub async fn session_user(&self, token_hash: String, now: Millis) -> Result<Option<UserRow>> {
        self.read(move |c| {
            c.query_row(
                "SELECT u.login, u.name, u.role, u.unit, u.linked_units, u.password_hash, u.disabled
                 FROM sessions s JOIN users u ON u.login = s.login
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
                params![token_hash, now],
                user_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn delete_session(&self, token_hash: String) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
        })
        .await
    }

    pub(crate) async fn write_case(&self, w: EncodedWrite) -> Result<CaseRef> {
        self.write(move |c| write_case(c, &w)).await
    }

    pub(crate) async fn replace_projections(
        &self,
        case_id: i64,
        version: u64,
        p: crate::Stored,
        at: Millis,
    ) -> Result<Option<bool>> {
        self.write(move |c| {
            let Some(mut row) = c
                .query_row(
                    &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"),
                    [case_id],
                    case_row,
                )
                .optional()?
            else {
                return Ok(None);
            };
            if row.version != version {
                return Ok(None);
            }
            let strings = |sql: &str| -> Result<Vec<Vec<String>>> {
                let mut st = c.prepare_cached(sql)?;
                let rows = st.query_map([case_id], |r| {
                    (0..r.as_ref().column_count())
                        .map(|i| r.get::<_, String>(i))
                        .collect::<rusqlite::Result<Vec<String>>>()
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            };
            let queues = strings("SELECT unit, queue FROM case_queues WHERE case_id = ?1")?
                .into_iter()
                .map(|v| (v[0].clone(), v[1].clone()))
                .collect();
            let involved = strings("SELECT unit FROM case_units WHERE case_id = ?1")?
                .into_iter()
                .map(|v| v[0].clone())
                .collect();
            let mut st = c.prepare_cached(&format!(
                "SELECT {DEADLINE_COLUMNS} FROM case_deadlines WHERE case_id = ?1"
            ))?;
            let deadlines = st
                .query_map([case_id], deadline_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            row.updated_at = at;
            let was = crate::Stored {
                queues,
                deadlines,
                involved,
            };
            let w = EncodedWrite::projections(case_id, version, row, p, was);
            let d = w.delta();
            write_projections(c, case_id, &w, &d)?;
            Ok(Some(!d.is_empty()))
        })
        .await
    }

    pub(crate) async fn cases_by_ids(&self, ids: Vec<i64>) -> Result<Vec<CaseRow>> {
        self.read(move |c| {
            let mut st =
                c.prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"))?;
            let mut out = Vec::with_capacity(ids.len());
            let mut sorted = ids;
            sorted.sort_unstable();
            for id in sorted {
                if let Some(r) = st.query_row([id], case_row).optional()? {
                    out.push(r);
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn write_cases(&self, ws: Vec<EncodedWrite>) -> Result<Vec<CaseRef>> {
        self.write(move |c| ws.iter().map(|w| write_case(c, w)).collect())
            .await
    }

    pub(crate) async fn case_by(&self, key: CaseKey) -> Result<Option<CaseRow>> {
        self.read(move |c| {
            let r = match key {
                CaseKey::Id(id) => c
                    .query_row(
                        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"),
                        [id],
                        case_row,
                    )
                    .optional()?,
                CaseKey::Tracking(code) => c
                    .query_row(
                        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE tracking_code = ?1"),
                        [code],
                        case_row,
                    )
                    .optional()?,
            };
            Ok(r)
        })
        .await
    }

    pub async fn events(&self, case_id: i64) -> Result<Vec<EventRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, at, actor, payload FROM events WHERE case_id = ?1 ORDER BY seq",
            )?;
            let mut rows = st.query([case_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let (seq, at, actor, payload): (i64, i64, String, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                out.push(decode_event(case_id, seq, at, &actor, &payload)?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn list_cases(&self, f: CaseFilter) -> Result<Vec<CaseRow>> {
        self.read(move |c| {
            let (sql, params) = f.to_sql(|i| format!("?{i}"));
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(bind(params)), case_row)?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn queue_page(
        &self,
        unit: String,
        queue: String,
        after: QueuePosition,
        filter: QueueFilter,
        limit: u32,
    ) -> Result<Vec<(QueuePosition, CaseRow)>> {
        self.read(move |c| {
            let (sql, params) = filter.page_sql(&unit, &queue, after, limit, |i| format!("?{i}"));
            let n = case_column_count();
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(bind(params)), |r| {
                let row = case_row(r)?;
                let pos = QueuePosition {
                    since: r.get(n)?,
                    case_id: row.id,
                };
                Ok((pos, row))
            })?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn due_cases(&self, now: Millis, limit: u32) -> Result<Vec<i64>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT case_id FROM (
                    SELECT case_id FROM case_deadlines WHERE warned = 0 AND warn_at <= ?1
                    UNION
                    SELECT case_id FROM case_deadlines WHERE overdue = 0 AND due_at <= ?1
                 ) ORDER BY case_id LIMIT ?2",
            )?;
            let rows = st.query_map(params![now, limit], |r| r.get(0))?;
            Ok(rows.collect::<std::result::Result<Vec<i64>, _>>()?)
        })
        .await
    }

    pub async fn events_of(&self, ids: Vec<i64>) -> Result<Vec<EventRow>> {
        let mut ids = ids;
        ids.sort_unstable();
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, at, actor, payload FROM events WHERE case_id = ?1 ORDER BY seq",
            )?;
            let mut out = Vec::new();
            for id in ids {
                let mut rows = st.query([id])?;
                while let Some(r) = rows.next()? {
                    let (seq, at, actor, payload): (i64, i64, String, String) =
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                    out.push(decode_event(id, seq, at, &actor, &payload)?);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn deadlines(&self, case_id: i64) -> Result<Vec<DeadlineRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {DEADLINE_COLUMNS} FROM case_deadlines WHERE case_id = ?1 ORDER BY due_at, rule"
            ))?;
            let rows = st.query_map([case_id], deadline_row)?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn notifications(&self, case_id: i64) -> Result<Vec<NotificationRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE case_id = ?1 ORDER BY id"
            ))?;
            let rows = st.query_map([case_id], notification_row)?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn claim_notifications(
        &self,
        worker: String,
        now: Millis,
        lease: Millis,
        limit: u32,
    ) -> Result<Vec<NotificationRow>> {
        self.write(move |c| {
            let mut st = c.prepare_cached(&format!(
                "UPDATE notifications SET claimed_by = ?1, claimed_until = ?2 + ?3
                 WHERE id IN (SELECT id FROM notifications
                              WHERE status = 'pending' AND next_attempt_at <= ?2 AND claimed_until <= ?2
                              ORDER BY next_attempt_at, id LIMIT ?4)
                 RETURNING {NOTIFICATION_COLUMNS}"
            ))?;
            let rows = st.query_map(params![worker, now, lease, limit], notification_row)?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn finish_notification(
        &self,
        id: i64,
        worker: String,
        now: Millis,
        outcome: OutboxOutcome,
    ) -> Result<bool> {
        let (status, channel, error, next, sent) = outcome_columns(outcome, now);
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE notifications SET status = ?3, channel = coalesce(?4, channel), last_error = ?5,
                   next_attempt_at = ?6, sent_at = ?7, attempts = attempts + 1,
                   claimed_by = NULL, claimed_until = 0
                 WHERE id = ?1 AND claimed_by = ?2",
                params![id, worker, status, channel, error, next, sent],
            )? > 0)
        })
        .await
    }

    pub async fn outbox(&self, status: Option<String>, limit: u32) -> Result<Vec<NotificationRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                 WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = st.query_map(params![status, limit], notification_row)?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn put_routing_model(&self, m: RoutingModelRow) -> Result<i64> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO routing_models (kind, created_at, n_train, source, model) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![m.kind, m.created_at, m.n_train, m.source, m.model],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    pub async fn latest_routing_model(
        &self,
        kind: String,
        known: i64,
    ) -> Result<Option<RoutingModelRow>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT version, kind, created_at, n_train, source, model FROM routing_models
                 WHERE kind = ?1 AND version > ?2 ORDER BY version DESC LIMIT 1",
                params![kind, known],
                |r| {
                    Ok(RoutingModelRow {
                        version: r.get(0)?,
                        kind: r.get(1)?,
                        created_at: r.get(2)?,
                        n_train: r.get(3)?,
                        source: r.get(4)?,
                        model: r.get(5)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    #[allow(clippy::type_complexity)]
    pub async fn routing_examples(
        &self,
        limit: u32,
    ) -> Result<Vec<(i64, Option<String>, String, Option<String>)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT c.id, c.category, r.payload,
                   (SELECT d.payload FROM events d WHERE d.case_id = c.id AND d.kind = 'dispatched'
                    ORDER BY d.seq DESC LIMIT 1)
            FROM cases c JOIN events r ON r.case_id = c.id AND r.seq = 1
            WHERE c.category IS NOT NULL ORDER BY c.id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn case_signatures(&self, after_id: i64, limit: u32) -> Result<Vec<SignatureRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT c.id, c.received_at, c.reporter_phone, c.place_unit, s.sig
                 FROM cases c LEFT JOIN case_signatures s ON s.case_id = c.id
                 WHERE c.id > ?1 ORDER BY c.id LIMIT ?2",
            )?;
            let rows = st.query_map(params![after_id, limit], |r| {
                Ok(SignatureRow {
                    case_id: r.get(0)?,
                    received_at: r.get(1)?,
                    reporter_phone: r.get(2)?,
                    place_unit: r.get(3)?,
                    sig: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn put_case_signatures(&self, sigs: Vec<(i64, Vec<u8>)>) -> Result<()> {
        self.write(move |c| {
            let mut st = c.prepare_cached(
                "INSERT INTO case_signatures (case_id, sig) VALUES (?1, ?2)
                 ON CONFLICT (case_id) DO UPDATE SET sig = excluded.sig",
            )?;
            for (id, sig) in &sigs {
                st.execute(params![id, sig])?;
            }
            Ok(())
        })
        .await
    }

    pub async fn add_routing_label(&self, l: RoutingLabel) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO routing_labels (case_id, kind, model_version, suggested, confidence, chosen, by_login, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![l.case_id, l.kind, l.model_version, l.suggested, l.confidence, l.chosen, l.by_login, l.at],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn routing_labels(&self, kind: String, since: Millis) -> Result<Vec<RoutingLabel>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT case_id, kind, model_version, suggested, confidence, chosen, by_login, at
                 FROM routing_labels WHERE kind = ?1 AND at >= ?2 ORDER BY at, case_id",
            )?;
            let rows = st.query_map(params![kind, since], |r| {
                Ok(RoutingLabel {
                    case_id: r.get(0)?,
                    kind: r.get(1)?,
                    model_version: r.get(2)?,
                    suggested: r.get(3)?,
                    confidence: r.get(4)?,
                    chosen: r.get(5)?,
                    by_login: r.get(6)?,
                    at: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn anonymisable_cases(
        &self,
        before: Millis,
        marker: String,
        limit: u32,
    ) -> Result<Vec<i64>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id FROM cases WHERE status = 'closed' AND updated_at < ?1 AND reporter_name <> ?2
                 ORDER BY id LIMIT ?3",
            )?;
            let rows = st.query_map(params![before, marker, limit], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
        })
        .await
    }

    pub async fn rewrite_personal_data(
        &self,
        case_id: i64,
        events: Vec<(i64, String)>,
        name: String,
        phone: String,
    ) -> Result<()> {
        self.write(move |c| {
            let mut st =
                c.prepare_cached("UPDATE events SET payload = ?3 WHERE case_id = ?1 AND seq = ?2")?;
            for (seq, payload) in &events {
                st.execute(params![case_id, seq, payload])?;
            }
            c.execute(
                "UPDATE cases SET reporter_name = ?2, reporter_phone = ?3,
                 changed = (SELECT COALESCE(MAX(changed), 0) + 1 FROM cases) WHERE id = ?1",
                params![case_id, name, phone],
            )?;
            c.execute("DELETE FROM case_photos WHERE case_id = ?1", [case_id])?;
            Ok(())
        })
        .await
    }

    pub async fn purge_expired(
        &self,
        now: Millis,
        failures_before: Millis,
        notifications_before: Millis,
        dry_run: bool,
    ) -> Result<(u64, u64, u64)> {
        self.write(move |c| {
            let (sessions, failures, notifications) = (
                "FROM sessions WHERE expires_at <= ?1",
                "FROM login_failures WHERE at < ?1",
                "FROM notifications WHERE status IN ('sent', 'dead', 'skipped') AND created_at < ?1",
            );
            let mut out = [0u64; 3];
            for (i, (from, at)) in [
                (sessions, now),
                (failures, failures_before),
                (notifications, notifications_before),
            ]
            .into_iter()
            .enumerate()
            {
                out[i] = if dry_run {
                    c.query_row(&format!("SELECT count(*) {from}"), [at], |r| {
                        r.get::<_, i64>(0)
                    })? as u64
                } else {
                    c.execute(&format!("DELETE {from}"), [at])? as u64
                };
            }
            Ok((out[0], out[1], out[2]))
        })
        .await
    }

    pub async fn requeue_notification(&self, id: i64, now: Millis) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ?2,
                   claimed_by = NULL, claimed_until = 0
                 WHERE id = ?1 AND status = 'dead'",
                params![id, now],
            )? > 0)
        })
        .await
    }

    pub async fn case_queues(&self, case_id: i64) -> Result<Vec<(String, String)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT unit, queue FROM case_queues WHERE case_id = ?1 ORDER BY unit, queue",
            )?;
            let rows = st.query_map([case_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn put_calendar_year(
        &self,
        year: i64,
        data: String,
        at: Millis,
        by: String,
    ) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO calendar_years (year, data, added_at, added_by) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (year) DO UPDATE SET data = excluded.data, added_at = excluded.added_at, added_by = excluded.added_by",
                params![year, data, at, by],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn calendar_years(&self) -> Result<Vec<(i64, String)>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT year, data FROM calendar_years ORDER BY year")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn provisional_deadlines(&self, limit: u32) -> Result<Vec<(i64, String, Millis)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT case_id, rule, due_at FROM case_deadlines WHERE provisional = 1 ORDER BY due_at, case_id LIMIT ?1",
            )?;
            let rows = st.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn append_audit(&self, e: AuditEntry) -> Result<i64> {
        self.write(move |c| append_audit(c, &e)).await
    }

    pub async fn audit_rows(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash FROM audit_log
                 WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![from_seq, limit], |r| {
                Ok(AuditRow {
                    seq: r.get(0)?,
                    entry: AuditEntry {
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        target: r.get(4)?,
                        reason: r.get(5)?,
                        detail: r.get(6)?,
                    },
                    prev_hash: r.get(7)?,
                    hash: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn audit_last(&self) -> Result<Option<(i64, String)>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await
    }

    pub async fn purge_audit_before(&self, before: Millis, dry_run: bool) -> Result<u64> {
        self.write(move |c| {
            let keep: Option<i64> =
                c.query_row("SELECT max(seq) FROM audit_log", [], |r| r.get(0))?;
            let keep = keep.unwrap_or(0);
            let n: i64 = c.query_row(
                "SELECT count(*) FROM audit_log WHERE at < ?1 AND seq < ?2",
                params![before, keep],
                |r| r.get(0),
            )?;
            if !dry_run {
                c.execute(
                    "DELETE FROM audit_log WHERE at < ?1 AND seq < ?2",
                    params![before, keep],
                )?;
            }
            Ok(n as u64)
        })
        .await
    }

    pub async fn record_login_failure(
        &self,
        login: String,
        address: String,
        at: Millis,
    ) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO login_failures (login, address, at) VALUES (?1, ?2, ?3)",
                params![login, address, at],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn login_failures_since(
        &self,
        login: String,
        address: String,
        since: Millis,
    ) -> Result<LoginFailures> {
        self.read(move |c| {
            let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<i64> {
                c.query_row(sql, p, |r| r.get(0))
            };
            Ok(LoginFailures {
                account: count(
                    "SELECT count(*) FROM login_failures WHERE login = ?1 AND at >= ?2",
                    params![login, since],
                )?,
                pair: count(
                    "SELECT count(*) FROM login_failures WHERE login = ?1 AND address = ?2 AND at >= ?3",
                    params![login, address, since],
                )?,
                address: count(
                    "SELECT count(*) FROM login_failures WHERE address = ?1 AND at >= ?2",
                    params![address, since],
                )?,
            })
        })
        .await
    }

    pub async fn clear_login_failures(&self, login: String, address: String) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "DELETE FROM login_failures WHERE login = ?1 AND address = ?2",
                params![login, address],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn delete_sessions_of(&self, login: String) -> Result<u64> {
        self.write(move |c| Ok(c.execute("DELETE FROM sessions WHERE login = ?1", [login])? as u64))
            .await
    }

    pub async fn set_user_disabled(&self, login: String, disabled: bool) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE users SET disabled = ?2 WHERE login = ?1",
                params![login, disabled],
            )? > 0)
        })
        .await
    }

    pub async fn revoke_api_tokens_of(&self, login: String, now: Millis) -> Result<u64> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE login = ?1 AND revoked_at IS NULL",
                params![login, now],
            )? as u64)
        })
        .await
    }

    pub async fn set_password_hash(&self, login: String, hash: String) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE users SET password_hash = ?2 WHERE login = ?1",
                params![login, hash],
            )? > 0)
        })
        .await
    }

    pub async fn photo(&self, case_id: i64, n: u32) -> Result<Option<PhotoRow>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT case_id, n, content_type, sha256, data, added_at FROM case_photos
                 WHERE case_id = ?1 AND n = ?2",
                params![case_id, n],
                |r| {
                    Ok(PhotoRow {
                        case_id: r.get(0)?,
                        n: r.get(1)?,
                        content_type: r.get(2)?,
                        sha256: r.get(3)?,
                        data: r.get(4)?,
                        added_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub async fn photos(&self, case_id: i64) -> Result<Vec<PhotoMeta>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT n, content_type, size, added_at FROM case_photos WHERE case_id = ?1 ORDER BY n",
            )?;
            let rows = st.query_map([case_id], |r| {
                Ok(PhotoMeta {
                    n: r.get(0)?,
                    content_type: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    added_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn put_rule_set(&self, rules: String, at: Millis, by: String) -> Result<i64> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO deadline_rule_sets (rules, created_at, created_by) VALUES (?1, ?2, ?3)",
                params![rules, at, by],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    pub async fn latest_rule_set(&self, known: i64) -> Result<Option<(i64, String)>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT version, rules FROM deadline_rule_sets WHERE version > ?1
                 ORDER BY version DESC LIMIT 1",
                [known],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await
    }

    pub async fn insert_user(&self, u: UserRow) -> Result<bool> {
        self.write(move |c| {
            let linked = serde_json::to_string(&u.linked_units)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(c.execute(
                "INSERT INTO users (login, name, role, unit, linked_units, password_hash, disabled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (login) DO NOTHING",
                params![
                    u.login,
                    u.name,
                    u.role,
                    u.unit,
                    linked,
                    u.password_hash,
                    u.disabled
                ],
            )? > 0)
        })
        .await
    }

    pub async fn update_user(
        &self,
        login: String,
        role: String,
        unit: String,
        linked: Vec<String>,
    ) -> Result<bool> {
        self.write(move |c| {
            let linked =
                serde_json::to_string(&linked).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(c.execute(
                "UPDATE users SET role = ?2, unit = ?3, linked_units = ?4 WHERE login = ?1",
                params![login, role, unit, linked],
            )? > 0)
        })
        .await
    }

    pub async fn cases_changed_since(&self, mark: i64) -> Result<(Vec<i64>, i64)> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, changed FROM cases WHERE changed >= ?1 ORDER BY changed",
            )?;
            let mut ids = Vec::new();
            let mut next = mark;
            let mut rows = st.query([mark])?;
            while let Some(r) = rows.next()? {
                ids.push(r.get::<_, i64>(0)?);
                next = next.max(r.get::<_, i64>(1)? + 1);
            }
            Ok((ids, next))
        })
        .await
    }

    pub async fn count_cases(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?))
            .await
    }

    pub async fn ops_stats(&self, now: Millis) -> Result<crate::OpsStats> {
        self.read(move |c| {
            let cases = c.query_row("SELECT COALESCE(MAX(id), 0) FROM cases", [], |r| r.get(0))?;
            let (outbox_pending, outbox_oldest_pending_at) = c.query_row(
                "SELECT count(*), MIN(created_at) FROM notifications WHERE status = 'pending'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let outbox_dead = c.query_row(
                "SELECT count(*) FROM notifications WHERE status = 'dead'",
                [],
                |r| r.get(0),
            )?;
            let oldest_unmarked_due_at = c.query_row(
                "SELECT MIN(due_at) FROM case_deadlines WHERE overdue = 0 AND due_at <= ?1",
                [now],
                |r| r.get(0),
            )?;
            Ok(crate::OpsStats {
                cases,
                outbox_pending,
                outbox_oldest_pending_at,
                outbox_dead,
                oldest_unmarked_due_at,
                pool: None,
            })
        })
        .await
    }

    pub async fn chat_message_case(&self, k: ChatMessageKey) -> Result<Option<i64>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT case_id FROM chat_messages WHERE group_id = ?1 AND platform = ?2 AND message_id = ?3",
                params![k.group, k.platform, k.message_id],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn template_version(&self) -> Result<i64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT version FROM template_version WHERE id = 1",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    pub async fn template_overrides(&self) -> Result<(i64, Vec<TemplateOverrideRow>)> {
        self.read(|c| {
            let version = c.query_row(
                "SELECT version FROM template_version WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            let mut st = c.prepare(
                "SELECT kind, audience, lang, subject, text, markdown, updated_at, updated_by
                 FROM template_overrides ORDER BY kind, audience, lang",
            )?;
            let rows = st.query_map([], |r| {
                Ok(TemplateOverrideRow {
                    kind: r.get(0)?,
                    audience: r.get(1)?,
                    lang: r.get(2)?,
                    subject: r.get(3)?,
                    text: r.get(4)?,
                    markdown: r.get(5)?,
                    updated_at: r.get(6)?,
                    updated_by: r.get(7)?,
                })
            })?;
            Ok((version, rows.collect::<std::result::Result<Vec<_>, _>>()?))
        })
        .await
    }

    pub async fn put_template_override(
        &self,
        t: TemplateOverrideRow,
        audit: AuditEntry,
    ) -> Result<i64> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO template_overrides (kind, audience, lang, subject, text, markdown, updated_at, updated_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (kind, audience, lang) DO UPDATE SET subject = excluded.subject,
                 text = excluded.text, markdown = excluded.markdown, updated_at = excluded.updated_at,
                 updated_by = excluded.updated_by",
                params![
                    t.kind,
                    t.audience,
                    t.lang,
                    t.subject,
                    t.text,
                    t.markdown,
                    t.updated_at,
                    t.updated_by
                ],
            )?;
            append_audit(c, &audit)?;
            bump_template_version(c)
        })
        .await
    }

    pub async fn delete_template_override(
        &self,
        kind: String,
        audience: String,
        lang: String,
        audit: AuditEntry,
    ) -> Result<Option<i64>> {
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM template_overrides WHERE kind = ?1 AND audience = ?2 AND lang = ?3",
                params![kind, audience, lang],
            )?;
            if n == 0 {
                return Ok(None);
            }
            append_audit(c, &audit)?;
            bump_template_version(c).map(Some)
        })
        .await
    }
}

fn bump_template_version(c: &Connection) -> Result<i64> {
    Ok(c.query_row(
        "UPDATE template_version SET version = version + 1 WHERE id = 1 RETURNING version",
        [],
        |r| r.get(0),
    )?)
}

/// Copies the WAL back into the database file every half second (PASSIVE:
/// never blocks the writer or readers), so commits only append to the WAL.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) =
        stop.recv_timeout(std::time::Duration::from_millis(500))
    {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "wal checkpoint failed");
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Run nothing; tell every waiter the transaction could not start.
            let msg = e.to_string();
            for job in batch {
                job.fail(StoreError::Database(format!("begin failed: {msg}")));
            }
            continue;
        }
        let mut done = Vec::with_capacity(batch.len());
        for job in batch {
            if let Err(e) = conn
                .prepare_cached("SAVEPOINT job")
                .and_then(|mut s| s.execute([]))
            {
                job.fail(e.into());
                continue;
            }
            let (ok, completer) = job.run(&conn);
            if !ok {
                let _ = conn.execute_batch("ROLLBACK TO job");
            }
            let _ = conn
                .prepare_cached("RELEASE job")
                .and_then(|mut s| s.execute([]));
            done.push(completer);
        }
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                for d in done {
                    d(Ok(()));
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                let msg = e.to_string();
                for d in done {
                    d(Err(StoreError::Database(format!("commit failed: {msg}"))));
                }
            }
        }
    }
}

fn deadline_row(r: &Row<'_>) -> rusqlite::Result<DeadlineRow> {
    Ok(DeadlineRow {
        rule: r.get(0)?,
        unit: r.get(1)?,
        due_at: r.get(2)?,
        warn_at: r.get(3)?,
        warned: r.get(4)?,
        overdue: r.get(5)?,
        provisional: r.get(6)?,
    })
}

/// Queue memberships, deadlines and involved units of a written case: the
/// difference from what was stored, or all of them (see `CaseWrite::before`).
fn write_projections(c: &Connection, id: i64, w: &EncodedWrite, d: &Delta<'_>) -> Result<()> {
    if d.replace && w.case_id.is_some() {
        c.prepare_cached("DELETE FROM case_queues WHERE case_id = ?1")?
            .execute([id])?;
        c.prepare_cached("DELETE FROM case_deadlines WHERE case_id = ?1")?
            .execute([id])?;
    }
    for (unit, queue) in &d.queues_removed {
        c.prepare_cached(
            "DELETE FROM case_queues WHERE case_id = ?1 AND unit = ?2 AND queue = ?3",
        )?
        .execute(params![id, unit, queue])?;
    }
    for (unit, queue) in &d.queues_added {
        c.prepare_cached(
            "INSERT INTO case_queues (unit, queue, case_id, since) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![unit, queue, id, w.row.updated_at])?;
    }
    for rule in &d.deadlines_removed {
        c.prepare_cached("DELETE FROM case_deadlines WHERE case_id = ?1 AND rule = ?2")?
            .execute(params![id, rule])?;
    }
    for x in d.deadlines_changed.iter().copied() {
        c.prepare_cached(
            "UPDATE case_deadlines SET unit = ?3, due_at = ?4, warn_at = ?5, warned = ?6,
             overdue = ?7, provisional = ?8 WHERE case_id = ?1 AND rule = ?2",
        )?
        .execute(params![
            id,
            x.rule,
            x.unit,
            x.due_at,
            x.warn_at,
            x.warned,
            x.overdue,
            x.provisional
        ])?;
    }
    for x in d.deadlines_added.iter().copied() {
        c.prepare_cached(
            "INSERT INTO case_deadlines (case_id, rule, unit, due_at, warn_at, warned, overdue, provisional)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            id,
            x.rule,
            x.unit,
            x.due_at,
            x.warn_at,
            x.warned,
            x.overdue,
            x.provisional
        ])?;
    }
    for unit in &d.involved_added {
        c.prepare_cached("INSERT OR IGNORE INTO case_units (unit, case_id) VALUES (?1, ?2)")?
            .execute(params![unit, id])?;
    }
    Ok(())
}

fn write_case(c: &Connection, w: &EncodedWrite) -> Result<CaseRef> {
    let r = &w.row;
    let id = match w.case_id {
        None => {
            let res = c.prepare_cached(
                "INSERT INTO cases (tracking_code, status, channel, place_unit, place_path, current_unit, title,
                 reporter_name, reporter_phone, received_at, updated_at, version, category, urgency,
                 accused_path, accused_login, changed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         (SELECT COALESCE(MAX(changed), 0) + 1 FROM cases))",
            )?
            .execute(params![
                r.tracking_code,
                r.status,
                r.channel,
                r.place_unit,
                r.place_path,
                r.current_unit,
                r.title,
                r.reporter_name,
                r.reporter_phone,
                r.received_at,
                r.updated_at,
                r.version as i64,
                r.category,
                r.urgency,
                r.accused_path,
                r.accused_login
            ]);
            match res {
                Ok(_) => c.last_insert_rowid(),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::DuplicateTrackingCode)
                }
                Err(e) => return Err(e.into()),
            }
        }
        Some(id) => {
            let n = c
                .prepare_cached(
                    "UPDATE cases SET status = ?1, current_unit = ?2, title = ?3, updated_at = ?4, version = ?5,
                     category = ?8, urgency = ?9,
                     changed = (SELECT COALESCE(MAX(changed), 0) + 1 FROM cases)
                     WHERE id = ?6 AND version = ?7",
                )?
                .execute(params![
                    r.status,
                    r.current_unit,
                    r.title,
                    r.updated_at,
                    r.version as i64,
                    id,
                    w.expected_version as i64,
                    r.category,
                    r.urgency
                ])?;
            if n == 0 {
                let exists: Option<i64> = c
                    .query_row("SELECT id FROM cases WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?;
                return Err(match exists {
                    Some(_) => StoreError::Conflict {
                        case_id: id,
                        expected: w.expected_version,
                    },
                    None => StoreError::CaseNotFound(id),
                });
            }
            id
        }
    };
    if let Some(k) = &w.chat_message {
        let res = c
            .prepare_cached(
                "INSERT INTO chat_messages (group_id, platform, message_id, case_id, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                k.group,
                k.platform,
                k.message_id,
                id,
                r.received_at
            ]);
        match res {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::DuplicateChatMessage)
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut ins = c.prepare_cached("INSERT INTO events (case_id, seq, at, actor, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for (i, e) in w.events.iter().enumerate() {
        let seq = w.expected_version as i64 + 1 + i as i64;
        match ins.execute(params![id, seq, e.at, e.actor, e.kind, e.payload]) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::Conflict {
                    case_id: id,
                    expected: w.expected_version,
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    write_projections(c, id, w, &w.delta())?;
    if !w.notifications.is_empty() {
        let mut n = c.prepare_cached(
            "INSERT INTO notifications (case_id, seq, recipient, template, text_zh, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (i, recipient, template, text) in &w.notifications {
            let seq = w.expected_version as i64 + 1 + *i as i64;
            n.execute(params![id, seq, recipient, template, text, r.updated_at])?;
        }
    }
    if !w.photos.is_empty() {
        let mut p = c.prepare_cached(
            "INSERT INTO case_photos (case_id, n, content_type, size, sha256, data, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for x in &w.photos {
            match p.execute(params![
                id,
                x.n,
                x.content_type,
                x.data.len() as i64,
                x.sha256,
                x.data,
                r.updated_at
            ]) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::Conflict {
                        case_id: id,
                        expected: w.expected_version,
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(a) = &w.audit {
        let mut a = a.clone();
        a.target = format!("case:{id}");
        append_audit(c, &a)?;
    }
    Ok(CaseRef {
        id,
        tracking_code: r.tracking_code.clone(),
        version: r.version,
        status: r.status.clone(),
    })
}

/// Appends to the audit chain inside the current transaction (the writer
/// thread serialises appends, so the chain never forks).
fn append_audit(c: &Connection, e: &AuditEntry) -> Result<i64> {
    let last: Option<(i64, String)> = c
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, AUDIT_GENESIS.to_string()),
    };
    let hash = audit_hash(&prev, seq, e);
    c.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, target, reason, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        seq, e.at, e.actor, e.action, e.target, e.reason, e.detail, prev, hash
    ])?;
    Ok(seq)
}

fn notification_row(r: &Row<'_>) -> rusqlite::Result<NotificationRow> {
    Ok(NotificationRow {
        id: r.get(0)?,
        case_id: r.get(1)?,
        seq: r.get::<_, i64>(2)? as u64,
        recipient: r.get(3)?,
        template: r.get(4)?,
        text_zh: r.get(5)?,
        created_at: r.get(6)?,
        status: r.get(7)?,
        attempts: r.get::<_, i64>(8)? as u32,
        next_attempt_at: r.get(9)?,
        channel: r.get(10)?,
        last_error: r.get(11)?,
        sent_at: r.get(12)?,
    })
}

fn api_token_row(r: &Row<'_>, at: usize) -> rusqlite::Result<ApiTokenRow> {
    let scopes: String = r.get(at + 3)?;
    Ok(ApiTokenRow {
        id: r.get(at)?,
        login: r.get(at + 1)?,
        name: r.get(at + 2)?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: r.get(at + 4)?,
        expires_at: r.get(at + 5)?,
        revoked_at: r.get(at + 6)?,
    })
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<Result<UserRow>> {
    let linked: String = r.get(4)?;
    let linked_units = match serde_json::from_str(&linked) {
        Ok(v) => v,
        Err(e) => return Ok(Err(StoreError::Corrupt(format!("linked_units: {e}")))),
    };
    Ok(Ok(UserRow {
        login: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        unit: r.get(3)?,
        linked_units,
        password_hash: r.get(5)?,
        disabled: r.get(6)?,
    }))
}

/// A built filter's parameters as SQLite values.
fn bind(params: Vec<Param>) -> Vec<rusqlite::types::Value> {
    params
        .into_iter()
        .map(|p| match p {
            Param::Text(s) => rusqlite::types::Value::Text(s),
            Param::Int(i) => rusqlite::types::Value::Integer(i),
        })
        .collect()
}

fn case_row(r: &Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        tracking_code: r.get(1)?,
        status: r.get(2)?,
        channel: r.get(3)?,
        place_unit: r.get(4)?,
        place_path: r.get(5)?,
        current_unit: r.get(6)?,
        title: r.get(7)?,
        reporter_name: r.get(8)?,
        reporter_phone: r.get(9)?,
        received_at: r.get(10)?,
        updated_at: r.get(11)?,
        version: r.get::<_, i64>(12)? as u64,
        category: r.get(13)?,
        urgency: r.get(14)?,
        accused_path: r.get(15)?,
        accused_login: r.get(16)?,
    })
}
