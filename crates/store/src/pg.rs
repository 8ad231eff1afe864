//! PostgreSQL: a pool of connections; each write is one transaction. Two writes
//! to one case serialise on the case row (`UPDATE … WHERE version = expected`),
//! so the second sees the new version and fails with a conflict.

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
use crate::{LoginFailures, PhotoMeta, PhotoRow, DEADLINE_COLUMNS};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use suqiu_domain::case::Millis;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_workflow.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_privacy_audit.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_write_path.sql"),
    ),
    (
        5,
        include_str!("../migrations/postgres/0005_api_tokens.sql"),
    ),
    (6, include_str!("../migrations/postgres/0006_outbox.sql")),
    (7, include_str!("../migrations/postgres/0007_routing.sql")),
    (8, include_str!("../migrations/postgres/0008_channels.sql")),
    (
        9,
        include_str!("../migrations/postgres/0009_case_signatures.sql"),
    ),
    (
        10,
        include_str!("../migrations/postgres/0010_photos_admin.sql"),
    ),
    (
        11,
        include_str!("../migrations/postgres/0011_search_mark.sql"),
    ),
    (
        12,
        include_str!("../migrations/postgres/0012_login_address.sql"),
    ),
];

/// Applies the migrations not yet applied, up to `upto` (all when `None`), inside the
/// caller's transaction (which holds the migration lock). Refuses a database migrated
/// by a newer binary.
pub(crate) async fn apply_migrations(
    tx: &tokio_postgres::Transaction<'_>,
    upto: Option<i64>,
) -> Result<usize> {
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    let mut ran = 0;
    for (version, sql) in MIGRATIONS {
        if upto.is_some_and(|u| *version > u) {
            break;
        }
        let done = tx
            .query_opt(
                "SELECT version FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await?;
        if done.is_none() {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, extract(epoch from now())::bigint)",
                &[version],
            )
            .await?;
            ran += 1;
        }
    }
    Ok(ran)
}

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl PgStore {
    pub async fn open(url: &str) -> Result<PgStore> {
        let cfg = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(32)
            .build()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        // Fail early on a wrong URL or an unreachable server.
        drop(pool.get().await?);
        Ok(PgStore { pool })
    }

    pub async fn migrate(&self) -> Result<usize> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // One instance migrates at a time.
        tx.execute("SELECT pg_advisory_xact_lock(7012345)", &[])
            .await?;
        let ran = apply_migrations(&tx, None).await?;
        tx.commit().await?;
        Ok(ran)
    }

    pub async fn put_org(&self, units: Vec<UnitRow>, users: Vec<UserRow>) -> Result<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let up = tx
            .prepare(
                "INSERT INTO units (code, name, level, parent, path) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (code) DO NOTHING",
            )
            .await?;
        for u in &units {
            tx.execute(&up, &[&u.code, &u.name, &u.level, &u.parent, &u.path])
                .await?;
        }
        let us = tx
            .prepare(
                "INSERT INTO users (login, name, role, unit, linked_units, password_hash, disabled)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (login) DO NOTHING",
            )
            .await?;
        for u in &users {
            let linked = serde_json::to_string(&u.linked_units)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute(
                &us,
                &[
                    &u.login,
                    &u.name,
                    &u.role,
                    &u.unit,
                    &linked,
                    &u.password_hash,
                    &u.disabled,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn units(&self) -> Result<Vec<UnitRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT code, name, level, parent, path FROM units ORDER BY path",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| UnitRow {
                code: r.get(0),
                name: r.get(1),
                level: r.get(2),
                parent: r.get(3),
                path: r.get(4),
            })
            .collect())
    }

    pub async fn logins(&self) -> Result<Vec<String>> {
        let c = self.pool.get().await?;
        let rows = c
            .query("SELECT login FROM users ORDER BY login", &[])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn all_users(&self) -> Result<Vec<UserRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT login, name, role, unit, linked_units, password_hash, disabled FROM users ORDER BY login",
                &[],
            )
            .await?;
        rows.iter().map(user_row).collect()
    }

    pub async fn insert_unit(&self, u: UnitRow) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "INSERT INTO units (code, name, level, parent, path) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO NOTHING",
            &[&u.code, &u.name, &u.level, &u.parent, &u.path],
        )
        .await?
            > 0)
    }

    pub async fn rename_unit(&self, code: String, name: String) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE units SET name = $2 WHERE code = $1",
            &[&code, &name],
        )
        .await?
            > 0)
    }

    /// The unit's row is locked first, so two removals or a removal and a
    /// rename do not interleave. Writes that name a unit are checked against
    /// the organisation in memory, not by a foreign key: removal is meant for
    /// a unit added by mistake, before anything was sent to it.
    pub async fn remove_unit(&self, code: String) -> Result<UnitRemoval> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        if tx
            .query_opt("SELECT 1 FROM units WHERE code = $1 FOR UPDATE", &[&code])
            .await?
            .is_none()
        {
            return Ok(UnitRemoval::NotFound);
        }
        for (what, sql) in UNIT_REFERENCES {
            let sql = sql.replace("?1", "$1");
            if tx.query_opt(sql.as_str(), &[&code]).await?.is_some() {
                return Ok(UnitRemoval::InUse(what));
            }
        }
        let linked = format!("\"{code}\"");
        if tx
            .query_opt(
                "SELECT 1 FROM users WHERE strpos(linked_units, $1) > 0 LIMIT 1",
                &[&linked],
            )
            .await?
            .is_some()
        {
            return Ok(UnitRemoval::InUse("users"));
        }
        tx.execute("DELETE FROM units WHERE code = $1", &[&code])
            .await?;
        tx.commit().await?;
        Ok(UnitRemoval::Removed)
    }

    pub async fn user(&self, login: String) -> Result<Option<UserRow>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT login, name, role, unit, linked_units, password_hash, disabled FROM users WHERE login = $1",
                &[&login],
            )
            .await?;
        row.map(|r| user_row(&r)).transpose()
    }

    pub async fn insert_session(
        &self,
        token_hash: String,
        login: String,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO sessions (token_hash, login, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &login, &now, &expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_api_token(&self, t: ApiTokenRow, token_hash: String) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO api_tokens (id, token_hash, login, name, scopes, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &t.id,
                &token_hash,
                &t.login,
                &t.name,
                &t.scopes.join(" "),
                &t.created_at,
                &t.expires_at,
                &t.revoked_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn api_token_user(
        &self,
        token_hash: String,
        now: Millis,
    ) -> Result<Option<(ApiTokenRow, UserRow)>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT u.login, u.name, u.role, u.unit, u.linked_units, u.password_hash, u.disabled,
                        t.id, t.login, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at
                 FROM api_tokens t JOIN users u ON u.login = t.login
                 WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.revoked_at IS NULL AND NOT u.disabled",
                &[&token_hash, &now],
            )
            .await?;
        row.map(|r| Ok((api_token_row(&r, 7), user_row(&r)?)))
            .transpose()
    }

    pub async fn api_tokens(&self, login: Option<String>) -> Result<Vec<ApiTokenRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT id, login, name, scopes, created_at, expires_at, revoked_at FROM api_tokens
                 WHERE $1::text IS NULL OR login = $1 ORDER BY created_at DESC, id",
                &[&login],
            )
            .await?;
        Ok(rows.iter().map(|r| api_token_row(r, 0)).collect())
    }

    pub async fn revoke_api_token(
        &self,
        id: String,
        login: Option<String>,
        at: Millis,
    ) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE api_tokens SET revoked_at = $3
             WHERE id = $1 AND ($2::text IS NULL OR login = $2) AND revoked_at IS NULL",
            &[&id, &login, &at],
        )
        .await?
            > 0)
    }

    pub async fn session_user(&self, token_hash: String, now: Millis) -> Result<Option<UserRow>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT u.login, u.name, u.role, u.unit, u.linked_units, u.password_hash, u.disabled
                 FROM sessions s JOIN users u ON u.login = s.login
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
                &[&token_hash, &now],
            )
            .await?;
        row.map(|r| user_row(&r)).transpose()
    }

    pub async fn delete_session(&self, token_hash: String) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(
            c.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
                .await?
                > 0,
        )
    }

    pub(crate) async fn write_case(&self, w: EncodedWrite) -> Result<CaseRef> {
        let mut out = self.write_cases(vec![w]).await?;
        out.pop()
            .ok_or_else(|| StoreError::Database("write returned no case".into()))
    }

    /// Writes many cases in one transaction, a few set-based statements for
    /// the whole batch (not one round trip per row).
    pub(crate) async fn write_cases(&self, ws: Vec<EncodedWrite>) -> Result<Vec<CaseRef>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let out = write_batch(&tx, &ws).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Moves the audit inbox into the hash chain, in order, one chainer at a
    /// time across instances. Returns how many entries were chained.
    pub async fn chain_audit(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let mut c = self.pool.get().await?;
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock(7012346)", &[])
                .await?;
            let rows = tx
                .query(
                    "SELECT id, at, actor, action, target, reason, detail FROM audit_inbox
                     ORDER BY id LIMIT 5000",
                    &[],
                )
                .await?;
            if rows.is_empty() {
                return Ok(total);
            }
            let entries: Vec<AuditEntry> = rows
                .iter()
                .map(|r| AuditEntry {
                    at: r.get(1),
                    actor: r.get(2),
                    action: r.get(3),
                    target: r.get(4),
                    reason: r.get(5),
                    detail: r.get(6),
                })
                .collect();
            let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            chain_entries(&tx, &entries).await?;
            tx.execute("DELETE FROM audit_inbox WHERE id = ANY($1)", &[&ids])
                .await?;
            tx.commit().await?;
            total += ids.len() as u64;
            if ids.len() < 5000 {
                return Ok(total);
            }
        }
    }
}

/// Appends entries to the chain; the caller holds the chain's advisory lock.
async fn chain_entries(tx: &deadpool_postgres::Transaction<'_>, es: &[AuditEntry]) -> Result<i64> {
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    let (mut seq, mut prev): (i64, String) = match last {
        Some(r) => (r.get(0), r.get(1)),
        None => (0, AUDIT_GENESIS.to_string()),
    };
    let mut cols = AuditCols::default();
    for e in es {
        seq += 1;
        let hash = audit_hash(&prev, seq, e);
        cols.push(seq, e, std::mem::replace(&mut prev, hash.clone()), hash);
    }
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, reason, detail, prev_hash, hash)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[])",
        &[
            &cols.seq,
            &cols.at,
            &cols.actor,
            &cols.action,
            &cols.target,
            &cols.reason,
            &cols.detail,
            &cols.prev,
            &cols.hash,
        ],
    )
    .await?;
    Ok(seq)
}

#[derive(Default)]
struct AuditCols {
    seq: Vec<i64>,
    at: Vec<i64>,
    actor: Vec<String>,
    action: Vec<String>,
    target: Vec<String>,
    reason: Vec<String>,
    detail: Vec<String>,
    prev: Vec<String>,
    hash: Vec<String>,
}

impl AuditCols {
    fn push(&mut self, seq: i64, e: &AuditEntry, prev: String, hash: String) {
        self.seq.push(seq);
        self.at.push(e.at);
        self.actor.push(e.actor.clone());
        self.action.push(e.action.clone());
        self.target.push(e.target.clone());
        self.reason.push(e.reason.clone());
        self.detail.push(e.detail.clone());
        self.prev.push(prev);
        self.hash.push(hash);
    }
}

/// Queues audit entries for the chainer, inside the caller's transaction.
async fn inbox_audit(tx: &deadpool_postgres::Transaction<'_>, es: &[AuditEntry]) -> Result<()> {
    if es.is_empty() {
        return Ok(());
    }
    let mut cols = AuditCols::default();
    for e in es {
        cols.push(0, e, String::new(), String::new());
    }
    tx.execute(
        "INSERT INTO audit_inbox (at, actor, action, target, reason, detail)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
        &[
            &cols.at,
            &cols.actor,
            &cols.action,
            &cols.target,
            &cols.reason,
            &cols.detail,
        ],
    )
    .await?;
    Ok(())
}

/// The writes of a batch, as one array per column.
async fn write_batch(
    tx: &deadpool_postgres::Transaction<'_>,
    ws: &[EncodedWrite],
) -> Result<Vec<CaseRef>> {
    let ids = write_case_rows(tx, ws).await?;
    let deltas: Vec<_> = ws.iter().map(EncodedWrite::delta).collect();
    // Writes without `before` replace the stored memberships and deadlines.
    let replaced: Vec<i64> = ws
        .iter()
        .zip(&deltas)
        .zip(&ids)
        .filter(|((w, d), _)| w.case_id.is_some() && d.replace)
        .map(|(_, id)| *id)
        .collect();
    if !replaced.is_empty() {
        tx.execute(
            "DELETE FROM case_queues WHERE case_id = ANY($1)",
            &[&replaced],
        )
        .await?;
        tx.execute(
            "DELETE FROM case_deadlines WHERE case_id = ANY($1)",
            &[&replaced],
        )
        .await?;
    }
    write_deltas(tx, ws, &deltas, &ids).await?;

    let (mut e_case, mut e_seq, mut e_at) = (Vec::new(), Vec::new(), Vec::new());
    let (mut e_actor, mut e_kind, mut e_payload) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_case, mut n_seq, mut n_recipient) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_template, mut n_text, mut n_at) = (Vec::new(), Vec::new(), Vec::new());
    let mut audits = Vec::new();
    for (w, &id) in ws.iter().zip(&ids) {
        for (i, e) in w.events.iter().enumerate() {
            e_case.push(id);
            e_seq.push(w.expected_version as i64 + 1 + i as i64);
            e_at.push(e.at);
            e_actor.push(e.actor.as_str());
            e_kind.push(e.kind);
            e_payload.push(e.payload.as_str());
        }
        for (i, recipient, template, text) in &w.notifications {
            n_case.push(id);
            n_seq.push(w.expected_version as i64 + 1 + *i as i64);
            n_recipient.push(recipient.as_str());
            n_template.push(template.as_str());
            n_text.push(text.as_str());
            n_at.push(w.row.updated_at);
        }
        if let Some(a) = &w.audit {
            let mut a = a.clone();
            a.target = format!("case:{id}");
            audits.push(a);
        }
    }
    if !e_case.is_empty() {
        let r = tx
            .execute(
                "INSERT INTO events (case_id, seq, at, actor, kind, payload)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[])",
                &[&e_case, &e_seq, &e_at, &e_actor, &e_kind, &e_payload],
            )
            .await;
        match r {
            Ok(_) => {}
            // a concurrent writer appended to one of these journals first
            Err(e) if is_unique_violation(&e) => {
                let w = ws.iter().find(|w| w.case_id.is_some()).unwrap_or(&ws[0]);
                return Err(StoreError::Conflict {
                    case_id: w.case_id.unwrap_or(0),
                    expected: w.expected_version,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !n_case.is_empty() {
        tx.execute(
            "INSERT INTO notifications (case_id, seq, recipient, template, text_zh, created_at)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[])",
            &[&n_case, &n_seq, &n_recipient, &n_template, &n_text, &n_at],
        )
        .await?;
    }
    for (w, &id) in ws.iter().zip(&ids) {
        for x in &w.photos {
            let r = tx
                .execute(
                    "INSERT INTO case_photos (case_id, n, content_type, size, sha256, data, added_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &id,
                        &(x.n as i32),
                        &x.content_type,
                        &(x.data.len() as i64),
                        &x.sha256,
                        &x.data,
                        &w.row.updated_at,
                    ],
                )
                .await;
            match r {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict {
                        case_id: id,
                        expected: w.expected_version,
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let (mut m_group, mut m_platform, mut m_id, mut m_case, mut m_at) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (w, &id) in ws.iter().zip(&ids) {
        if let Some(k) = &w.chat_message {
            m_group.push(k.group.as_str());
            m_platform.push(k.platform.as_str());
            m_id.push(k.message_id.as_str());
            m_case.push(id);
            m_at.push(w.row.received_at);
        }
    }
    if !m_case.is_empty() {
        // a concurrent delivery of the same message waits here for the first
        // one's transaction, then fails as a duplicate
        let r = tx
            .execute(
                "INSERT INTO chat_messages (group_id, platform, message_id, case_id, at)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])",
                &[&m_group, &m_platform, &m_id, &m_case, &m_at],
            )
            .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(StoreError::DuplicateChatMessage),
            Err(e) => return Err(e.into()),
        }
    }
    inbox_audit(tx, &audits).await?;
    Ok(ws
        .iter()
        .zip(ids)
        .map(|(w, id)| CaseRef {
            id,
            tracking_code: w.row.tracking_code.clone(),
            version: w.row.version,
            status: w.row.status.clone(),
        })
        .collect())
}

/// The queue memberships, deadlines and involved units of a batch: per
/// table, one statement for what was removed, changed and added.
async fn write_deltas(
    tx: &deadpool_postgres::Transaction<'_>,
    ws: &[EncodedWrite],
    deltas: &[crate::Delta<'_>],
    ids: &[i64],
) -> Result<()> {
    let (mut qr_case, mut qr_unit, mut qr_queue) = (Vec::new(), Vec::new(), Vec::new());
    let (mut q_unit, mut q_queue, mut q_case, mut q_since) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut dr_case, mut dr_rule) = (Vec::new(), Vec::new());
    let mut changed = Deadlines::default();
    let mut added = Deadlines::default();
    let (mut u_unit, mut u_case) = (Vec::new(), Vec::new());
    for ((w, d), &id) in ws.iter().zip(deltas).zip(ids) {
        for (unit, queue) in &d.queues_removed {
            qr_case.push(id);
            qr_unit.push(unit.as_str());
            qr_queue.push(queue.as_str());
        }
        for (unit, queue) in &d.queues_added {
            q_unit.push(unit.as_str());
            q_queue.push(queue.as_str());
            q_case.push(id);
            q_since.push(w.row.updated_at);
        }
        for rule in &d.deadlines_removed {
            dr_case.push(id);
            dr_rule.push(*rule);
        }
        for x in &d.deadlines_changed {
            changed.push(id, x);
        }
        for x in &d.deadlines_added {
            added.push(id, x);
        }
        for unit in &d.involved_added {
            u_unit.push(*unit);
            u_case.push(id);
        }
    }
    if !qr_case.is_empty() {
        tx.execute(
            "DELETE FROM case_queues q USING UNNEST($1::bigint[], $2::text[], $3::text[]) AS r(case_id, unit, queue)
             WHERE q.case_id = r.case_id AND q.unit = r.unit AND q.queue = r.queue",
            &[&qr_case, &qr_unit, &qr_queue],
        )
        .await?;
    }
    if !q_case.is_empty() {
        tx.execute(
            "INSERT INTO case_queues (unit, queue, case_id, since)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])",
            &[&q_unit, &q_queue, &q_case, &q_since],
        )
        .await?;
    }
    if !dr_case.is_empty() {
        tx.execute(
            "DELETE FROM case_deadlines d USING UNNEST($1::bigint[], $2::text[]) AS r(case_id, rule)
             WHERE d.case_id = r.case_id AND d.rule = r.rule",
            &[&dr_case, &dr_rule],
        )
        .await?;
    }
    if !changed.case.is_empty() {
        tx.execute(
            "UPDATE case_deadlines d SET unit = r.unit, due_at = r.due_at, warn_at = r.warn_at,
               warned = r.warned, overdue = r.overdue, provisional = r.provisional
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                         $6::bool[], $7::bool[], $8::bool[])
               AS r(case_id, rule, unit, due_at, warn_at, warned, overdue, provisional)
             WHERE d.case_id = r.case_id AND d.rule = r.rule",
            &changed.params(),
        )
        .await?;
    }
    if !added.case.is_empty() {
        tx.execute(
            "INSERT INTO case_deadlines (case_id, rule, unit, due_at, warn_at, warned, overdue, provisional)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                                  $6::bool[], $7::bool[], $8::bool[])",
            &added.params(),
        )
        .await?;
    }
    if !u_case.is_empty() {
        tx.execute(
            "INSERT INTO case_units (unit, case_id)
             SELECT * FROM UNNEST($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&u_unit, &u_case],
        )
        .await?;
    }
    Ok(())
}

fn deadline_row(r: &Row) -> DeadlineRow {
    DeadlineRow {
        rule: r.get(0),
        unit: r.get(1),
        due_at: r.get(2),
        warn_at: r.get(3),
        warned: r.get(4),
        overdue: r.get(5),
        provisional: r.get(6),
    }
}

/// Deadline rows as columns.
#[derive(Default)]
struct Deadlines<'a> {
    case: Vec<i64>,
    rule: Vec<&'a str>,
    unit: Vec<&'a str>,
    due: Vec<i64>,
    warn_at: Vec<i64>,
    warned: Vec<bool>,
    overdue: Vec<bool>,
    provisional: Vec<bool>,
}

impl<'a> Deadlines<'a> {
    fn push(&mut self, case: i64, x: &'a DeadlineRow) {
        self.case.push(case);
        self.rule.push(&x.rule);
        self.unit.push(&x.unit);
        self.due.push(x.due_at);
        self.warn_at.push(x.warn_at);
        self.warned.push(x.warned);
        self.overdue.push(x.overdue);
        self.provisional.push(x.provisional);
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 8] {
        [
            &self.case,
            &self.rule,
            &self.unit,
            &self.due,
            &self.warn_at,
            &self.warned,
            &self.overdue,
            &self.provisional,
        ]
    }
}

/// Some writes of a batch, read as columns (one array per column).
struct Pick<'a> {
    ws: &'a [EncodedWrite],
    idx: &'a [usize],
}

fn pick<'a>(ws: &'a [EncodedWrite], idx: &'a [usize]) -> Pick<'a> {
    Pick { ws, idx }
}

impl<'a> Pick<'a> {
    fn text(&self, f: fn(&CaseRow) -> &str) -> Vec<&'a str> {
        self.idx.iter().map(|&i| f(&self.ws[i].row)).collect()
    }

    fn opt(&self, f: fn(&CaseRow) -> Option<&str>) -> Vec<Option<&'a str>> {
        self.idx.iter().map(|&i| f(&self.ws[i].row)).collect()
    }

    fn num(&self, f: fn(&EncodedWrite) -> i64) -> Vec<i64> {
        self.idx.iter().map(|&i| f(&self.ws[i])).collect()
    }
}

/// Inserts the new cases and updates the others (each at its expected
/// version); returns every write's case id, in order.
async fn write_case_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    ws: &[EncodedWrite],
) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = ws.iter().map(|w| w.case_id.unwrap_or(0)).collect();
    let new: Vec<usize> = (0..ws.len()).filter(|&i| ws[i].case_id.is_none()).collect();
    if !new.is_empty() {
        let (col, opt, num) = (
            |f| pick(ws, &new).text(f),
            |f| pick(ws, &new).opt(f),
            |f| pick(ws, &new).num(f),
        );
        let res = tx
            .query(
                "INSERT INTO cases (tracking_code, status, channel, place_unit, place_path, current_unit, title,
                 reporter_name, reporter_phone, received_at, updated_at, version, category, urgency,
                 accused_path, accused_login, changed)
                 SELECT *, pg_current_xact_id()::text::bigint FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[],
                   $13::text[], $14::text[], $15::text[], $16::text[])
                 RETURNING id, tracking_code",
                &[
                    &col(|r| &r.tracking_code),
                    &col(|r| &r.status),
                    &col(|r| &r.channel),
                    &col(|r| &r.place_unit),
                    &col(|r| &r.place_path),
                    &col(|r| &r.current_unit),
                    &col(|r| &r.title),
                    &col(|r| &r.reporter_name),
                    &col(|r| &r.reporter_phone),
                    &num(|w| w.row.received_at),
                    &num(|w| w.row.updated_at),
                    &num(|w| w.row.version as i64),
                    &opt(|r| r.category.as_deref()),
                    &opt(|r| r.urgency.as_deref()),
                    &opt(|r| r.accused_path.as_deref()),
                    &opt(|r| r.accused_login.as_deref()),
                ],
            )
            .await;
        let rows = match res {
            Ok(rows) => rows,
            Err(e) if is_unique_violation(&e) => return Err(StoreError::DuplicateTrackingCode),
            Err(e) => return Err(e.into()),
        };
        let by_code: std::collections::HashMap<String, i64> = rows
            .iter()
            .map(|r| (r.get::<_, String>(1), r.get::<_, i64>(0)))
            .collect();
        for &i in &new {
            ids[i] = *by_code
                .get(&ws[i].row.tracking_code)
                .ok_or_else(|| StoreError::Database("inserted case not returned".into()))?;
        }
    }
    let upd: Vec<usize> = (0..ws.len()).filter(|&i| ws[i].case_id.is_some()).collect();
    if !upd.is_empty() {
        let (col, opt, num) = (
            |f| pick(ws, &upd).text(f),
            |f| pick(ws, &upd).opt(f),
            |f| pick(ws, &upd).num(f),
        );
        let target = num(|w| w.case_id.unwrap_or(0));
        let done = tx
            .query(
                "UPDATE cases c SET status = v.status, current_unit = v.current_unit, title = v.title,
                   updated_at = v.updated_at, version = v.version, category = v.category, urgency = v.urgency,
                   changed = pg_current_xact_id()::text::bigint
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                             $7::bigint[], $8::text[], $9::text[])
                   AS v(id, expected, status, current_unit, title, updated_at, version, category, urgency)
                 WHERE c.id = v.id AND c.version = v.expected
                 RETURNING c.id",
                &[
                    &target,
                    &num(|w| w.expected_version as i64),
                    &col(|r| &r.status),
                    &col(|r| &r.current_unit),
                    &col(|r| &r.title),
                    &num(|w| w.row.updated_at),
                    &num(|w| w.row.version as i64),
                    &opt(|r| r.category.as_deref()),
                    &opt(|r| r.urgency.as_deref()),
                ],
            )
            .await?;
        if done.len() < upd.len() {
            let done: std::collections::HashSet<i64> = done.iter().map(|r| r.get(0)).collect();
            let (i, id) = upd
                .iter()
                .map(|&i| (i, ws[i].case_id.unwrap_or(0)))
                .find(|(_, id)| !done.contains(id))
                .ok_or_else(|| StoreError::Database("update count mismatch".into()))?;
            let exists = tx
                .query_opt("SELECT id FROM cases WHERE id = $1", &[&id])
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Conflict {
                    case_id: id,
                    expected: ws[i].expected_version,
                },
                None => StoreError::CaseNotFound(id),
            });
        }
    }
    Ok(ids)
}

impl PgStore {
    pub(crate) async fn cases_by_ids(&self, ids: Vec<i64>) -> Result<Vec<CaseRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ANY($1) ORDER BY id"),
                &[&ids],
            )
            .await?;
        Ok(rows.iter().map(case_row).collect())
    }

    pub(crate) async fn case_by(&self, key: CaseKey) -> Result<Option<CaseRow>> {
        let c = self.pool.get().await?;
        let row = match key {
            CaseKey::Id(id) => {
                c.query_opt(
                    &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"),
                    &[&id],
                )
                .await?
            }
            CaseKey::Tracking(code) => {
                c.query_opt(
                    &format!("SELECT {CASE_COLUMNS} FROM cases WHERE tracking_code = $1"),
                    &[&code],
                )
                .await?
            }
        };
        Ok(row.map(|r| case_row(&r)))
    }

    pub async fn events(&self, case_id: i64) -> Result<Vec<EventRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT seq, at, actor, payload FROM events WHERE case_id = $1 ORDER BY seq",
                &[&case_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let (seq, at, actor, payload): (i64, i64, String, String) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                decode_event(case_id, seq, at, &actor, &payload)
            })
            .collect()
    }

    pub async fn list_cases(&self, f: CaseFilter) -> Result<Vec<CaseRow>> {
        let (sql, params) = f.to_sql(|i| format!("${i}"));
        let bound = boxed(params);
        let c = self.pool.get().await?;
        let rows = c.query(&sql, &refs(&bound)).await?;
        Ok(rows.iter().map(case_row).collect())
    }

    pub async fn queue_page(
        &self,
        unit: String,
        queue: String,
        after: QueuePosition,
        filter: QueueFilter,
        limit: u32,
    ) -> Result<Vec<(QueuePosition, CaseRow)>> {
        let (sql, params) = filter.page_sql(&unit, &queue, after, limit, |i| format!("${i}"));
        let n = case_column_count();
        let bound = boxed(params);
        let c = self.pool.get().await?;
        let rows = c.query(&sql, &refs(&bound)).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let row = case_row(r);
                let pos = QueuePosition {
                    since: r.get(n),
                    case_id: row.id,
                };
                (pos, row)
            })
            .collect())
    }

    pub async fn due_cases(&self, now: Millis, limit: u32) -> Result<Vec<i64>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT case_id FROM (
                    SELECT case_id FROM case_deadlines WHERE NOT warned AND warn_at <= $1
                    UNION
                    SELECT case_id FROM case_deadlines WHERE NOT overdue AND due_at <= $1
                 ) d ORDER BY case_id LIMIT $2",
                &[&now, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn events_of(&self, ids: Vec<i64>) -> Result<Vec<EventRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT case_id, seq, at, actor, payload FROM events WHERE case_id = ANY($1) ORDER BY case_id, seq",
                &[&ids],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let (id, seq, at, actor, payload): (i64, i64, i64, String, String) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                decode_event(id, seq, at, &actor, &payload)
            })
            .collect()
    }

    pub(crate) async fn replace_projections(
        &self,
        case_id: i64,
        version: u64,
        p: crate::Stored,
        at: Millis,
    ) -> Result<Option<bool>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let Some(row) = tx
            .query_opt(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1 FOR UPDATE"),
                &[&case_id],
            )
            .await?
        else {
            return Ok(None);
        };
        let mut row = case_row(&row);
        if row.version != version {
            return Ok(None);
        }
        let queues = tx
            .query(
                "SELECT unit, queue FROM case_queues WHERE case_id = $1",
                &[&case_id],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let involved = tx
            .query(
                "SELECT unit FROM case_units WHERE case_id = $1",
                &[&case_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let deadlines = tx
            .query(
                &format!("SELECT {DEADLINE_COLUMNS} FROM case_deadlines WHERE case_id = $1"),
                &[&case_id],
            )
            .await?
            .iter()
            .map(deadline_row)
            .collect();
        row.updated_at = at;
        let was = crate::Stored {
            queues,
            deadlines,
            involved,
        };
        let ws = [EncodedWrite::projections(case_id, version, row, p, was)];
        let deltas = [ws[0].delta()];
        if deltas[0].is_empty() {
            return Ok(Some(false));
        }
        write_deltas(&tx, &ws, &deltas, &[case_id]).await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    pub async fn deadlines(&self, case_id: i64) -> Result<Vec<DeadlineRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {DEADLINE_COLUMNS} FROM case_deadlines WHERE case_id = $1 ORDER BY due_at, rule"
                ),
                &[&case_id],
            )
            .await?;
        Ok(rows.iter().map(deadline_row).collect())
    }

    pub async fn notifications(&self, case_id: i64) -> Result<Vec<NotificationRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE case_id = $1 ORDER BY id"),
                &[&case_id],
            )
            .await?;
        Ok(rows.iter().map(notification_row).collect())
    }

    pub async fn claim_notifications(
        &self,
        worker: String,
        now: Millis,
        lease: Millis,
        limit: u32,
    ) -> Result<Vec<NotificationRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "UPDATE notifications SET claimed_by = $1, claimed_until = $2 + $3
                     WHERE id IN (SELECT id FROM notifications
                                  WHERE status = 'pending' AND next_attempt_at <= $2 AND claimed_until <= $2
                                  ORDER BY next_attempt_at, id LIMIT $4
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING {NOTIFICATION_COLUMNS}"
                ),
                &[&worker, &now, &lease, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(notification_row).collect())
    }

    pub async fn finish_notification(
        &self,
        id: i64,
        worker: String,
        now: Millis,
        outcome: OutboxOutcome,
    ) -> Result<bool> {
        let (status, channel, error, next, sent) = outcome_columns(outcome, now);
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE notifications SET status = $3, channel = coalesce($4, channel), last_error = $5,
               next_attempt_at = $6, sent_at = $7, attempts = attempts + 1,
               claimed_by = NULL, claimed_until = 0
             WHERE id = $1 AND claimed_by = $2",
            &[&id, &worker, &status, &channel, &error, &next, &sent],
        )
        .await?
            > 0)
    }

    pub async fn outbox(&self, status: Option<String>, limit: u32) -> Result<Vec<NotificationRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                     WHERE $1::text IS NULL OR status = $1 ORDER BY id DESC LIMIT $2"
                ),
                &[&status, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(notification_row).collect())
    }

    pub async fn put_routing_model(&self, m: RoutingModelRow) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one(
            "INSERT INTO routing_models (kind, created_at, n_train, source, model) VALUES ($1, $2, $3, $4, $5)
             RETURNING version",
            &[&m.kind, &m.created_at, &m.n_train, &m.source, &m.model],
        )
        .await?
        .get(0))
    }

    pub async fn latest_routing_model(
        &self,
        kind: String,
        known: i64,
    ) -> Result<Option<RoutingModelRow>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(
            "SELECT version, kind, created_at, n_train, source, model FROM routing_models
             WHERE kind = $1 AND version > $2 ORDER BY version DESC LIMIT 1",
            &[&kind, &known],
        )
        .await?
        .map(|r| RoutingModelRow {
            version: r.get(0),
            kind: r.get(1),
            created_at: r.get(2),
            n_train: r.get(3),
            source: r.get(4),
            model: r.get(5),
        }))
    }

    #[allow(clippy::type_complexity)]
    pub async fn routing_examples(
        &self,
        limit: u32,
    ) -> Result<Vec<(i64, Option<String>, String, Option<String>)>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT c.id, c.category, r.payload,
                   (SELECT d.payload FROM events d WHERE d.case_id = c.id AND d.kind = 'dispatched'
                    ORDER BY d.seq DESC LIMIT 1)
            FROM cases c JOIN events r ON r.case_id = c.id AND r.seq = 1
            WHERE c.category IS NOT NULL ORDER BY c.id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }

    pub async fn case_signatures(&self, after_id: i64, limit: u32) -> Result<Vec<SignatureRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT c.id, c.received_at, c.reporter_phone, c.place_unit, s.sig
                 FROM cases c LEFT JOIN case_signatures s ON s.case_id = c.id
                 WHERE c.id > $1 ORDER BY c.id LIMIT $2",
                &[&after_id, &i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SignatureRow {
                case_id: r.get(0),
                received_at: r.get(1),
                reporter_phone: r.get(2),
                place_unit: r.get(3),
                sig: r.get(4),
            })
            .collect())
    }

    /// One statement for the whole batch.
    pub async fn put_case_signatures(&self, sigs: Vec<(i64, Vec<u8>)>) -> Result<()> {
        let (ids, blobs): (Vec<i64>, Vec<Vec<u8>>) = sigs.into_iter().unzip();
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO case_signatures (case_id, sig)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[])
             ON CONFLICT (case_id) DO UPDATE SET sig = excluded.sig",
            &[&ids, &blobs],
        )
        .await?;
        Ok(())
    }

    pub async fn add_routing_label(&self, l: RoutingLabel) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO routing_labels (case_id, kind, model_version, suggested, confidence, chosen, by_login, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&l.case_id, &l.kind, &l.model_version, &l.suggested, &l.confidence.map(|x| x as f32), &l.chosen, &l.by_login, &l.at],
        )
        .await?;
        Ok(())
    }

    pub async fn routing_labels(&self, kind: String, since: Millis) -> Result<Vec<RoutingLabel>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT case_id, kind, model_version, suggested, confidence, chosen, by_login, at
                 FROM routing_labels WHERE kind = $1 AND at >= $2 ORDER BY at, case_id",
                &[&kind, &since],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| RoutingLabel {
                case_id: r.get(0),
                kind: r.get(1),
                model_version: r.get(2),
                suggested: r.get(3),
                confidence: r.get::<_, Option<f32>>(4).map(f64::from),
                chosen: r.get(5),
                by_login: r.get(6),
                at: r.get(7),
            })
            .collect())
    }

    pub async fn anonymisable_cases(
        &self,
        before: Millis,
        marker: String,
        limit: u32,
    ) -> Result<Vec<i64>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT id FROM cases WHERE status = 'closed' AND updated_at < $1 AND reporter_name <> $2
                 ORDER BY id LIMIT $3",
                &[&before, &marker, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn rewrite_personal_data(
        &self,
        case_id: i64,
        events: Vec<(i64, String)>,
        name: String,
        phone: String,
    ) -> Result<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let (seqs, payloads): (Vec<i64>, Vec<String>) = events.into_iter().unzip();
        tx.execute(
            "UPDATE events e SET payload = v.payload
             FROM UNNEST($2::bigint[], $3::text[]) AS v(seq, payload)
             WHERE e.case_id = $1 AND e.seq = v.seq",
            &[&case_id, &seqs, &payloads],
        )
        .await?;
        tx.execute(
            "UPDATE cases SET reporter_name = $2, reporter_phone = $3,
             changed = pg_current_xact_id()::text::bigint WHERE id = $1",
            &[&case_id, &name, &phone],
        )
        .await?;
        tx.execute("DELETE FROM case_photos WHERE case_id = $1", &[&case_id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn purge_expired(
        &self,
        now: Millis,
        failures_before: Millis,
        notifications_before: Millis,
        dry_run: bool,
    ) -> Result<(u64, u64, u64)> {
        let c = self.pool.get().await?;
        let parts = [
            ("FROM sessions WHERE expires_at <= $1", now),
            ("FROM login_failures WHERE at < $1", failures_before),
            (
                "FROM notifications WHERE status IN ('sent', 'dead', 'skipped') AND created_at < $1",
                notifications_before,
            ),
        ];
        let mut out = [0u64; 3];
        for (i, (from, at)) in parts.into_iter().enumerate() {
            out[i] = if dry_run {
                c.query_one(&format!("SELECT count(*) {from}"), &[&at])
                    .await?
                    .get::<_, i64>(0) as u64
            } else {
                c.execute(&format!("DELETE {from}"), &[&at]).await?
            };
        }
        Ok((out[0], out[1], out[2]))
    }

    pub async fn requeue_notification(&self, id: i64, now: Millis) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = $2,
               claimed_by = NULL, claimed_until = 0
             WHERE id = $1 AND status = 'dead'",
            &[&id, &now],
        )
        .await?
            > 0)
    }

    pub async fn case_queues(&self, case_id: i64) -> Result<Vec<(String, String)>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT unit, queue FROM case_queues WHERE case_id = $1 ORDER BY unit COLLATE \"C\", queue COLLATE \"C\"",
                &[&case_id],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn put_calendar_year(
        &self,
        year: i64,
        data: String,
        at: Millis,
        by: String,
    ) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO calendar_years (year, data, added_at, added_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (year) DO UPDATE SET data = excluded.data, added_at = excluded.added_at, added_by = excluded.added_by",
            &[&year, &data, &at, &by],
        )
        .await?;
        Ok(())
    }

    pub async fn calendar_years(&self) -> Result<Vec<(i64, String)>> {
        let c = self.pool.get().await?;
        let rows = c
            .query("SELECT year, data FROM calendar_years ORDER BY year", &[])
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn provisional_deadlines(&self, limit: u32) -> Result<Vec<(i64, String, Millis)>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT case_id, rule, due_at FROM case_deadlines WHERE provisional ORDER BY due_at, case_id LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Records an audit entry (chained at once, so the caller gets its seq).
    pub async fn append_audit(&self, e: AuditEntry) -> Result<i64> {
        self.chain_audit().await?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7012346)", &[])
            .await?;
        let seq = chain_entries(&tx, std::slice::from_ref(&e)).await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn audit_rows(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRow>> {
        self.chain_audit().await?;
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash FROM audit_log
                 WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[&from_seq, &i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                seq: r.get(0),
                entry: AuditEntry {
                    at: r.get(1),
                    actor: r.get(2),
                    action: r.get(3),
                    target: r.get(4),
                    reason: r.get(5),
                    detail: r.get(6),
                },
                prev_hash: r.get(7),
                hash: r.get(8),
            })
            .collect())
    }

    pub async fn audit_last(&self) -> Result<Option<(i64, String)>> {
        self.chain_audit().await?;
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    pub async fn purge_audit_before(&self, before: Millis, dry_run: bool) -> Result<u64> {
        self.chain_audit().await?;
        let c = self.pool.get().await?;
        let keep: Option<i64> = c
            .query_one("SELECT max(seq) FROM audit_log", &[])
            .await?
            .get(0);
        let keep = keep.unwrap_or(0);
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM audit_log WHERE at < $1 AND seq < $2",
                &[&before, &keep],
            )
            .await?
            .get(0);
        if !dry_run {
            c.execute(
                "DELETE FROM audit_log WHERE at < $1 AND seq < $2",
                &[&before, &keep],
            )
            .await?;
        }
        Ok(n as u64)
    }

    pub async fn record_login_failure(
        &self,
        login: String,
        address: String,
        at: Millis,
    ) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO login_failures (login, address, at) VALUES ($1, $2, $3)",
            &[&login, &address, &at],
        )
        .await?;
        Ok(())
    }

    pub async fn login_failures_since(
        &self,
        login: String,
        address: String,
        since: Millis,
    ) -> Result<LoginFailures> {
        let c = self.pool.get().await?;
        let r = c
            .query_one(
                "SELECT
                   (SELECT count(*) FROM login_failures WHERE login = $1 AND at >= $3),
                   (SELECT count(*) FROM login_failures WHERE login = $1 AND address = $2 AND at >= $3),
                   (SELECT count(*) FROM login_failures WHERE address = $2 AND at >= $3)",
                &[&login, &address, &since],
            )
            .await?;
        Ok(LoginFailures {
            account: r.get(0),
            pair: r.get(1),
            address: r.get(2),
        })
    }

    pub async fn clear_login_failures(&self, login: String, address: String) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM login_failures WHERE login = $1 AND address = $2",
            &[&login, &address],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_sessions_of(&self, login: String) -> Result<u64> {
        let c = self.pool.get().await?;
        Ok(
            c.execute("DELETE FROM sessions WHERE login = $1", &[&login])
                .await?,
        )
    }

    pub async fn set_user_disabled(&self, login: String, disabled: bool) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE users SET disabled = $2 WHERE login = $1",
            &[&login, &disabled],
        )
        .await?
            > 0)
    }

    pub async fn revoke_api_tokens_of(&self, login: String, now: Millis) -> Result<u64> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE login = $1 AND revoked_at IS NULL",
            &[&login, &now],
        )
        .await?)
    }

    pub async fn set_password_hash(&self, login: String, hash: String) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE users SET password_hash = $2 WHERE login = $1",
            &[&login, &hash],
        )
        .await?
            > 0)
    }

    pub async fn photo(&self, case_id: i64, n: u32) -> Result<Option<PhotoRow>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(
            "SELECT case_id, n, content_type, sha256, data, added_at FROM case_photos
             WHERE case_id = $1 AND n = $2",
            &[&case_id, &(n as i32)],
        )
        .await?
        .map(|r| PhotoRow {
            case_id: r.get(0),
            n: r.get::<_, i32>(1) as u32,
            content_type: r.get(2),
            sha256: r.get(3),
            data: r.get(4),
            added_at: r.get(5),
        }))
    }

    pub async fn photos(&self, case_id: i64) -> Result<Vec<PhotoMeta>> {
        let c = self.pool.get().await?;
        Ok(c.query(
            "SELECT n, content_type, size, added_at FROM case_photos WHERE case_id = $1 ORDER BY n",
            &[&case_id],
        )
        .await?
        .iter()
        .map(|r| PhotoMeta {
            n: r.get::<_, i32>(0) as u32,
            content_type: r.get(1),
            size: r.get::<_, i64>(2) as u64,
            added_at: r.get(3),
        })
        .collect())
    }

    pub async fn put_rule_set(&self, rules: String, at: Millis, by: String) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one(
            "INSERT INTO deadline_rule_sets (rules, created_at, created_by) VALUES ($1, $2, $3)
             RETURNING version",
            &[&rules, &at, &by],
        )
        .await?
        .get(0))
    }

    pub async fn latest_rule_set(&self, known: i64) -> Result<Option<(i64, String)>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(
            "SELECT version, rules FROM deadline_rule_sets WHERE version > $1
             ORDER BY version DESC LIMIT 1",
            &[&known],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
    }

    pub async fn insert_user(&self, u: UserRow) -> Result<bool> {
        let c = self.pool.get().await?;
        let linked = serde_json::to_string(&u.linked_units)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(c.execute(
            "INSERT INTO users (login, name, role, unit, linked_units, password_hash, disabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (login) DO NOTHING",
            &[
                &u.login,
                &u.name,
                &u.role,
                &u.unit,
                &linked,
                &u.password_hash,
                &u.disabled,
            ],
        )
        .await?
            > 0)
    }

    pub async fn update_user(
        &self,
        login: String,
        role: String,
        unit: String,
        linked: Vec<String>,
    ) -> Result<bool> {
        let c = self.pool.get().await?;
        let linked =
            serde_json::to_string(&linked).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(c.execute(
            "UPDATE users SET role = $2, unit = $3, linked_units = $4 WHERE login = $1",
            &[&login, &role, &unit, &linked],
        )
        .await?
            > 0)
    }

    pub async fn cases_changed_since(&self, mark: i64) -> Result<(Vec<i64>, i64)> {
        let c = self.pool.get().await?;
        // one statement, one snapshot: its xmin is below every transaction that had
        // not ended when the ids were read
        let r = c
            .query_one(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                        ARRAY(SELECT id FROM cases WHERE changed >= $1)",
                &[&mark],
            )
            .await?;
        let next: i64 = r.get(0);
        Ok((r.get(1), next.max(mark)))
    }

    pub async fn count_cases(&self) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one("SELECT count(*) FROM cases", &[]).await?.get(0))
    }

    pub async fn ops_stats(&self, now: Millis) -> Result<crate::OpsStats> {
        let c = self.pool.get().await?;
        let r = c
            .query_one(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM cases),
                        (SELECT count(*) FROM notifications WHERE status = 'pending'),
                        (SELECT MIN(created_at) FROM notifications WHERE status = 'pending'),
                        (SELECT count(*) FROM notifications WHERE status = 'dead'),
                        (SELECT MIN(due_at) FROM case_deadlines WHERE NOT overdue AND due_at <= $1)",
                &[&now],
            )
            .await?;
        Ok(crate::OpsStats {
            cases: r.get(0),
            outbox_pending: r.get(1),
            outbox_oldest_pending_at: r.get(2),
            outbox_dead: r.get(3),
            oldest_unmarked_due_at: r.get(4),
            pool: None,
        })
    }

    /// (connections open, idle, most allowed).
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.pool.status();
        (s.size, s.available, s.max_size)
    }

    pub async fn chat_message_case(&self, k: ChatMessageKey) -> Result<Option<i64>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(
            "SELECT case_id FROM chat_messages WHERE group_id = $1 AND platform = $2 AND message_id = $3",
            &[&k.group, &k.platform, &k.message_id],
        )
        .await?
        .map(|r| r.get(0)))
    }

    pub async fn template_version(&self) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(
            c.query_one("SELECT version FROM template_version WHERE id = 1", &[])
                .await?
                .get(0),
        )
    }

    pub async fn template_overrides(&self) -> Result<(i64, Vec<TemplateOverrideRow>)> {
        let mut c = self.pool.get().await?;
        // one snapshot: the version goes with the rows read
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let version: i64 = tx
            .query_one("SELECT version FROM template_version WHERE id = 1", &[])
            .await?
            .get(0);
        let rows = tx
            .query(
                "SELECT kind, audience, lang, subject, text, markdown, updated_at, updated_by
                 FROM template_overrides ORDER BY kind, audience, lang",
                &[],
            )
            .await?;
        tx.commit().await?;
        Ok((
            version,
            rows.iter()
                .map(|r| TemplateOverrideRow {
                    kind: r.get(0),
                    audience: r.get(1),
                    lang: r.get(2),
                    subject: r.get(3),
                    text: r.get(4),
                    markdown: r.get(5),
                    updated_at: r.get(6),
                    updated_by: r.get(7),
                })
                .collect(),
        ))
    }

    pub async fn put_template_override(
        &self,
        t: TemplateOverrideRow,
        audit: AuditEntry,
    ) -> Result<i64> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO template_overrides (kind, audience, lang, subject, text, markdown, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (kind, audience, lang) DO UPDATE SET subject = excluded.subject,
             text = excluded.text, markdown = excluded.markdown, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
            &[
                &t.kind,
                &t.audience,
                &t.lang,
                &t.subject,
                &t.text,
                &t.markdown,
                &t.updated_at,
                &t.updated_by,
            ],
        )
        .await?;
        inbox_audit(&tx, &[audit]).await?;
        let v = bump_template_version(&tx).await?;
        tx.commit().await?;
        Ok(v)
    }

    pub async fn delete_template_override(
        &self,
        kind: String,
        audience: String,
        lang: String,
        audit: AuditEntry,
    ) -> Result<Option<i64>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "DELETE FROM template_overrides WHERE kind = $1 AND audience = $2 AND lang = $3",
                &[&kind, &audience, &lang],
            )
            .await?;
        if n == 0 {
            return Ok(None);
        }
        inbox_audit(&tx, &[audit]).await?;
        let v = bump_template_version(&tx).await?;
        tx.commit().await?;
        Ok(Some(v))
    }
}

async fn bump_template_version(tx: &deadpool_postgres::Transaction<'_>) -> Result<i64> {
    Ok(tx
        .query_one(
            "UPDATE template_version SET version = version + 1 WHERE id = 1 RETURNING version",
            &[],
        )
        .await?
        .get(0))
}

fn notification_row(r: &Row) -> NotificationRow {
    NotificationRow {
        id: r.get(0),
        case_id: r.get(1),
        seq: r.get::<_, i64>(2) as u64,
        recipient: r.get(3),
        template: r.get(4),
        text_zh: r.get(5),
        created_at: r.get(6),
        status: r.get(7),
        attempts: r.get::<_, i64>(8) as u32,
        next_attempt_at: r.get(9),
        channel: r.get(10),
        last_error: r.get(11),
        sent_at: r.get(12),
    }
}

fn api_token_row(r: &Row, at: usize) -> ApiTokenRow {
    let scopes: String = r.get(at + 3);
    ApiTokenRow {
        id: r.get(at),
        login: r.get(at + 1),
        name: r.get(at + 2),
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: r.get(at + 4),
        expires_at: r.get(at + 5),
        revoked_at: r.get(at + 6),
    }
}

/// A built filter's parameters, owned.
fn boxed(params: Vec<Param>) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .into_iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Text(s) => Box::new(s),
                Param::Int(i) => Box::new(i),
            }
        })
        .collect()
}

/// …as the query's parameter list.
fn refs(bound: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    bound
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn user_row(r: &Row) -> Result<UserRow> {
    let linked: String = r.get(4);
    Ok(UserRow {
        login: r.get(0),
        name: r.get(1),
        role: r.get(2),
        unit: r.get(3),
        linked_units: serde_json::from_str(&linked)
            .map_err(|e| StoreError::Corrupt(format!("linked_units: {e}")))?,
        password_hash: r.get(5),
        disabled: r.get(6),
    })
}

fn case_row(r: &Row) -> CaseRow {
    CaseRow {
        id: r.get(0),
        tracking_code: r.get(1),
        status: r.get(2),
        channel: r.get(3),
        place_unit: r.get(4),
        place_path: r.get(5),
        current_unit: r.get(6),
        title: r.get(7),
        reporter_name: r.get(8),
        reporter_phone: r.get(9),
        received_at: r.get(10),
        updated_at: r.get(11),
        version: r.get::<_, i64>(12) as u64,
        category: r.get(13),
        urgency: r.get(14),
        accused_path: r.get(15),
        accused_login: r.get(16),
    }
}
