//! PostgreSQL: a pool of connections; each write is one transaction. Two writes
//! to one case serialise on the case row (`UPDATE … WHERE version = expected`),
//! so the second sees the new version and fails with a conflict.

use crate::filter::{CaseKey, Param, CASE_COLUMNS};
use crate::{audit_hash, AuditEntry, AuditRow, DeadlineRow, NotificationRow, AUDIT_GENESIS};
use crate::{
    decode_event, CaseFilter, CaseRef, CaseRow, EncodedWrite, EventRow, Result, StoreError,
    UnitRow, UserRow,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use suqiu_domain::case::Millis;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_workflow.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_privacy_audit.sql"),
    ),
];

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
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let mut ran = 0;
        for (version, sql) in MIGRATIONS {
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
        tx.commit().await?;
        Ok(ran)
    }

    pub async fn put_org(&self, units: Vec<UnitRow>, users: Vec<UserRow>) -> Result<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let up = tx
            .prepare(
                "INSERT INTO units (code, name, level, parent, path) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level,
                 parent = excluded.parent, path = excluded.path",
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
                 ON CONFLICT (login) DO UPDATE SET name = excluded.name, role = excluded.role,
                 unit = excluded.unit, linked_units = excluded.linked_units",
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
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let r = write_in(&tx, &w).await?;
        tx.commit().await?;
        Ok(r)
    }

    pub(crate) async fn write_cases(&self, ws: Vec<EncodedWrite>) -> Result<Vec<CaseRef>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let mut out = Vec::with_capacity(ws.len());
        for w in &ws {
            out.push(write_in(&tx, w).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Appends to the audit chain inside the transaction; an advisory lock makes
/// appenders (of every instance) take turns, so the chain never forks.
async fn append_audit(tx: &deadpool_postgres::Transaction<'_>, e: &AuditEntry) -> Result<i64> {
    tx.execute("SELECT pg_advisory_xact_lock(7012346)", &[])
        .await?;
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    let (seq, prev): (i64, String) = match last {
        Some(r) => (r.get::<_, i64>(0) + 1, r.get(1)),
        None => (1, AUDIT_GENESIS.to_string()),
    };
    let hash = audit_hash(&prev, seq, e);
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, reason, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &seq, &e.at, &e.actor, &e.action, &e.target, &e.reason, &e.detail, &prev, &hash,
        ],
    )
    .await?;
    Ok(seq)
}

async fn write_in(tx: &deadpool_postgres::Transaction<'_>, w: &EncodedWrite) -> Result<CaseRef> {
    {
        let r = &w.row;
        let version = r.version as i64;
        let id: i64 = match w.case_id {
            None => {
                let res = tx
                    .query_one(
                        "INSERT INTO cases (tracking_code, status, channel, place_unit, place_path, current_unit, title,
                         reporter_name, reporter_phone, received_at, updated_at, version, category, urgency,
                         accused_path, accused_login)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                        &[
                            &r.tracking_code,
                            &r.status,
                            &r.channel,
                            &r.place_unit,
                            &r.place_path,
                            &r.current_unit,
                            &r.title,
                            &r.reporter_name,
                            &r.reporter_phone,
                            &r.received_at,
                            &r.updated_at,
                            &version,
                            &r.category,
                            &r.urgency,
                            &r.accused_path,
                            &r.accused_login,
                        ],
                    )
                    .await;
                match res {
                    Ok(row) => row.get(0),
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::DuplicateTrackingCode)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Some(id) => {
                let expected = w.expected_version as i64;
                let n = tx
                    .execute(
                        "UPDATE cases SET status = $1, current_unit = $2, title = $3, updated_at = $4, version = $5,
                         category = $8, urgency = $9
                         WHERE id = $6 AND version = $7",
                        &[
                            &r.status,
                            &r.current_unit,
                            &r.title,
                            &r.updated_at,
                            &version,
                            &id,
                            &expected,
                            &r.category,
                            &r.urgency,
                        ],
                    )
                    .await?;
                if n == 0 {
                    let exists = tx
                        .query_opt("SELECT id FROM cases WHERE id = $1", &[&id])
                        .await?;
                    return Err(match exists {
                        Some(_) => StoreError::Conflict {
                            case_id: id,
                            expected: w.expected_version,
                        },
                        None => StoreError::CaseNotFound(id),
                    });
                }
                tx.execute("DELETE FROM case_queues WHERE case_id = $1", &[&id])
                    .await?;
                tx.execute("DELETE FROM case_deadlines WHERE case_id = $1", &[&id])
                    .await?;
                id
            }
        };
        let ins = tx
            .prepare("INSERT INTO events (case_id, seq, at, actor, kind, payload) VALUES ($1, $2, $3, $4, $5, $6)")
            .await?;
        for (i, e) in w.events.iter().enumerate() {
            let seq = w.expected_version as i64 + 1 + i as i64;
            match tx
                .execute(&ins, &[&id, &seq, &e.at, &e.actor, &e.kind, &e.payload])
                .await
            {
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
        if !w.queues.is_empty() {
            let q = tx
                .prepare(
                    "INSERT INTO case_queues (unit, queue, case_id, since) VALUES ($1, $2, $3, $4)",
                )
                .await?;
            for (unit, queue) in &w.queues {
                tx.execute(&q, &[unit, queue, &id, &r.updated_at]).await?;
            }
        }
        if !w.deadlines.is_empty() {
            let d = tx
                .prepare(
                    "INSERT INTO case_deadlines (case_id, rule, unit, due_at, warn_at, warned, overdue, provisional)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .await?;
            for x in &w.deadlines {
                tx.execute(
                    &d,
                    &[
                        &id,
                        &x.rule,
                        &x.unit,
                        &x.due_at,
                        &x.warn_at,
                        &x.warned,
                        &x.overdue,
                        &x.provisional,
                    ],
                )
                .await?;
            }
        }
        if !w.involved.is_empty() {
            let u = tx
                .prepare(
                    "INSERT INTO case_units (unit, case_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .await?;
            for unit in &w.involved {
                tx.execute(&u, &[unit, &id]).await?;
            }
        }
        if !w.notifications.is_empty() {
            let n = tx
                .prepare(
                    "INSERT INTO notifications (case_id, seq, recipient, template, text_zh, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await?;
            for (i, recipient, template, text) in &w.notifications {
                let seq = w.expected_version as i64 + 1 + *i as i64;
                tx.execute(&n, &[&id, &seq, recipient, template, text, &r.updated_at])
                    .await?;
            }
        }
        if let Some(a) = &w.audit {
            let mut a = a.clone();
            a.target = format!("case:{id}");
            append_audit(tx, &a).await?;
        }
        Ok(CaseRef {
            id,
            tracking_code: r.tracking_code.clone(),
            version: r.version,
            status: r.status.clone(),
        })
    }
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
        let bound: Vec<Box<dyn ToSql + Sync + Send>> = params
            .into_iter()
            .map(|p| -> Box<dyn ToSql + Sync + Send> {
                match p {
                    Param::Text(s) => Box::new(s),
                    Param::Int(i) => Box::new(i),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let c = self.pool.get().await?;
        let rows = c.query(&sql, &refs).await?;
        Ok(rows.iter().map(case_row).collect())
    }

    pub async fn queue(&self, unit: String, queue: String, limit: u32) -> Result<Vec<CaseRow>> {
        let cols: String = CASE_COLUMNS
            .split(", ")
            .map(|col| format!("c.{col}"))
            .collect::<Vec<_>>()
            .join(", ");
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {cols} FROM case_queues q JOIN cases c ON c.id = q.case_id
                     WHERE q.unit = $1 AND q.queue = $2 ORDER BY q.since, q.case_id LIMIT $3"
                ),
                &[&unit, &queue, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(case_row).collect())
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

    pub async fn deadlines(&self, case_id: i64) -> Result<Vec<DeadlineRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT rule, unit, due_at, warn_at, warned, overdue, provisional FROM case_deadlines WHERE case_id = $1 ORDER BY due_at, rule",
                &[&case_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeadlineRow {
                rule: r.get(0),
                unit: r.get(1),
                due_at: r.get(2),
                warn_at: r.get(3),
                warned: r.get(4),
                overdue: r.get(5),
                provisional: r.get(6),
            })
            .collect())
    }

    pub async fn notifications(&self, case_id: i64) -> Result<Vec<NotificationRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT id, case_id, seq, recipient, template, text_zh, created_at, status FROM notifications
                 WHERE case_id = $1 ORDER BY id",
                &[&case_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| NotificationRow {
                id: r.get(0),
                case_id: r.get(1),
                seq: r.get::<_, i64>(2) as u64,
                recipient: r.get(3),
                template: r.get(4),
                text_zh: r.get(5),
                created_at: r.get(6),
                status: r.get(7),
            })
            .collect())
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

    pub async fn append_audit(&self, e: AuditEntry) -> Result<i64> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = append_audit(&tx, &e).await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn audit_rows(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRow>> {
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

    pub async fn purge_audit_before(&self, before: Millis, dry_run: bool) -> Result<u64> {
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

    pub async fn record_login_failure(&self, login: String, at: Millis) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO login_failures (login, at) VALUES ($1, $2)",
            &[&login, &at],
        )
        .await?;
        Ok(())
    }

    pub async fn login_failures_since(&self, login: String, since: Millis) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one(
            "SELECT count(*) FROM login_failures WHERE login = $1 AND at >= $2",
            &[&login, &since],
        )
        .await?
        .get(0))
    }

    pub async fn clear_login_failures(&self, login: String) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute("DELETE FROM login_failures WHERE login = $1", &[&login])
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

    pub async fn set_password_hash(&self, login: String, hash: String) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE users SET password_hash = $2 WHERE login = $1",
            &[&login, &hash],
        )
        .await?
            > 0)
    }

    pub async fn count_cases(&self) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one("SELECT count(*) FROM cases", &[]).await?.get(0))
    }
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
