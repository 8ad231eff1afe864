//! The only crate that speaks SQL. Two backends behind one type, [`Store`]:
//! embedded SQLite (one file, WAL, group commit on one writer thread) and
//! PostgreSQL (a connection pool). Each backend has its own embedded migrations.
//!
//! The case journal: `events (case_id, seq)` is the source of truth; `cases`
//! and `case_queues` are projections written in the same transaction as the
//! events. A write names the version it expects; a concurrent write that got
//! there first makes it fail with [`StoreError::Conflict`].

pub mod backup;
mod filter;
mod pg;
mod sqlite;
pub mod testing;

pub use filter::{CaseFilter, QueueFilter, Visibility};

use suqiu_domain::case::{Actor, Event, Millis};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Another write to the same case got there first.
    #[error("conflict: case {case_id} is no longer at version {expected}")]
    Conflict { case_id: i64, expected: u64 },
    #[error("case {0} not found")]
    CaseNotFound(i64),
    #[error("tracking code already taken")]
    DuplicateTrackingCode,
    /// This chat platform's message already filed a case (a retried delivery).
    #[error("chat message already filed")]
    DuplicateChatMessage,
    #[error("unsupported database url {0:?}: use sqlite://PATH, sqlite::memory: or postgres://…")]
    BadUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("the storage writer has stopped")]
    WriterGone,
    /// The database was migrated by a newer suqiu than this binary: nothing is written.
    #[error(
        "数据库结构版本 {found} 比本程序支持的版本 {supported} 新，请使用更新版本的 suqiu；未做任何修改 / \
         the database schema is at version {found}, newer than this binary's {supported}: \
         use a newer suqiu (nothing was changed)"
    )]
    SchemaTooNew { found: i64, supported: i64 },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub path: String,
}

/// Where a case stands in a work queue: when it entered, then its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueuePosition {
    pub since: Millis,
    pub case_id: i64,
}

impl QueuePosition {
    /// The cursor's text form, `<since>.<case id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.since, self.case_id)
    }

    pub fn parse(raw: &str) -> Option<QueuePosition> {
        let (since, id) = raw.split_once('.')?;
        Some(QueuePosition {
            since: since.parse().ok()?,
            case_id: id.parse().ok()?,
        })
    }
}

/// What removing a unit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRemoval {
    Removed,
    NotFound,
    /// Still referred to: `units` (sub-units), `users`, `cases`, `routing`.
    InUse(&'static str),
}

/// The checks of [`Store::remove_unit`], in order: each names what still
/// refers to the unit (`?1` is its code). Cases are found by the unit where
/// they happened, the unit holding them, the units they were dispatched to,
/// their queues and their deadlines. (Leaders' linked units are checked after these by
/// each backend: the list is JSON text.)
pub(crate) const UNIT_REFERENCES: &[(&str, &str)] = &[
    ("units", "SELECT 1 FROM units WHERE parent = ?1 LIMIT 1"),
    ("users", "SELECT 1 FROM users WHERE unit = ?1 LIMIT 1"),
    ("cases", "SELECT 1 FROM cases WHERE place_unit = ?1 LIMIT 1"),
    ("cases", "SELECT 1 FROM case_units WHERE unit = ?1 LIMIT 1"),
    ("cases", "SELECT 1 FROM case_queues WHERE unit = ?1 LIMIT 1"),
    (
        "cases",
        "SELECT 1 FROM case_deadlines WHERE unit = ?1 LIMIT 1",
    ),
    (
        "cases",
        "SELECT 1 FROM cases WHERE current_unit = ?1 LIMIT 1",
    ),
    (
        "routing",
        "SELECT 1 FROM routing_labels WHERE chosen = ?1 LIMIT 1",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub login: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    pub linked_units: Vec<String>,
    pub password_hash: String,
    pub disabled: bool,
}

/// A photo to store with a case write (its number is the case's next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoto {
    /// 1, 2, … within the case.
    pub n: u32,
    pub content_type: String,
    /// Hex SHA-256 of `data`.
    pub sha256: String,
    pub data: Vec<u8>,
}

/// A stored photo of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRow {
    pub case_id: i64,
    pub n: u32,
    pub content_type: String,
    pub sha256: String,
    pub data: Vec<u8>,
    pub added_at: Millis,
}

/// What lists show of a photo (no bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoMeta {
    pub n: u32,
    pub content_type: String,
    pub size: u64,
    pub added_at: Millis,
}

/// An API token (its secret is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiTokenRow {
    /// Public identifier, shown in lists and used to revoke.
    pub id: String,
    pub login: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// The `cases` projection: what lists and filters read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: i64,
    pub tracking_code: String,
    pub status: String,
    pub channel: String,
    pub place_unit: String,
    pub place_path: String,
    pub current_unit: String,
    pub title: String,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub received_at: Millis,
    pub updated_at: Millis,
    pub version: u64,
    pub category: Option<String>,
    pub urgency: Option<String>,
    /// Path of the accused unit of an accusation (检举控告), if any.
    pub accused_path: Option<String>,
    /// Login of the accused person, if a staff member.
    pub accused_login: Option<String>,
}

/// Counts of failed logins in a window (see [`Store::login_failures_since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// Of the account, from any address.
    pub account: i64,
    /// Of the account, from this address.
    pub pair: i64,
    /// Of any account, from this address.
    pub address: i64,
}

/// An audit record to append (the store chains it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Millis,
    /// Login, `resident` or `system`.
    pub actor: String,
    /// e.g. `login`, `case.dispatch`, `case.unmask`, `calendar.add_year`.
    pub action: String,
    /// e.g. `case:42`, `user:li`.
    pub target: String,
    pub reason: String,
    /// JSON with further facts.
    pub detail: String,
}

/// A stored audit record with its chain hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an audit record: SHA-256 over the previous hash and every field.
pub fn audit_hash(prev_hash: &str, seq: i64, e: &AuditEntry) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &seq.to_string(),
        &e.at.to_string(),
        &e.actor,
        &e.action,
        &e.target,
        &e.reason,
        &e.detail,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The hash the first record of an empty log chains to.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What operations watch (the `/metrics` gauges).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsStats {
    /// The highest case id (cases ever filed; ids are never reused).
    pub cases: i64,
    /// Notifications waiting to be sent, and when the oldest was written.
    pub outbox_pending: i64,
    pub outbox_oldest_pending_at: Option<Millis>,
    /// Notifications given up on (dead letters).
    pub outbox_dead: i64,
    /// The earliest due time of a deadline past due that the sweeper has not
    /// yet marked overdue (None: the sweeper is up to date).
    pub oldest_unmarked_due_at: Option<Millis>,
    /// PostgreSQL's connection pool: (connections open, idle, most allowed).
    pub pool: Option<(usize, usize, usize)>,
}

/// A running deadline of a case (projection for the sweeper and the queues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRow {
    pub rule: String,
    pub unit: String,
    pub due_at: Millis,
    pub warn_at: Millis,
    pub warned: bool,
    pub overdue: bool,
    /// Computed over a year without holiday data (see the calendar crate).
    pub provisional: bool,
}

/// A notification intent, stored with the event that caused it (outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    pub id: i64,
    pub case_id: i64,
    /// Sequence of the event that caused it.
    pub seq: u64,
    /// JSON of the recipient.
    pub recipient: String,
    pub template: String,
    pub text_zh: String,
    pub created_at: Millis,
    /// `pending`, `sent`, `dead`, or `skipped` (the resident asked for none).
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    pub next_attempt_at: Millis,
    /// The channel that delivered it or last tried.
    pub channel: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<Millis>,
}

/// The columns of `NotificationRow`, in order.
pub(crate) const NOTIFICATION_COLUMNS: &str =
    "id, case_id, seq, recipient, template, text_zh, created_at, status, \
     attempts, next_attempt_at, channel, last_error, sent_at";

/// (status, channel, last_error, next_attempt_at, sent_at) of an outcome.
pub(crate) fn outcome_columns(
    o: OutboxOutcome,
    now: Millis,
) -> (
    &'static str,
    Option<String>,
    Option<String>,
    Millis,
    Option<Millis>,
) {
    match o {
        OutboxOutcome::Sent { channel } => ("sent", Some(channel), None, now, Some(now)),
        OutboxOutcome::Retry {
            channel,
            error,
            next_attempt_at,
        } => ("pending", channel, Some(error), next_attempt_at, None),
        OutboxOutcome::Dead { channel, error } => ("dead", channel, Some(error), now, None),
        OutboxOutcome::Skipped { reason } => ("skipped", None, Some(reason), now, None),
    }
}

/// A stored routing model.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingModelRow {
    pub version: i64,
    pub kind: String,
    pub created_at: Millis,
    pub n_train: i64,
    pub source: String,
    pub model: Vec<u8>,
}

/// A decided case as a training example: its first event (the intake) and
/// the lead unit of its last dispatch, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingExample {
    pub case_id: i64,
    pub category: Option<String>,
    pub received: Event,
    pub dispatched: Option<Event>,
}

/// What was suggested for a decision and what was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingLabel {
    pub case_id: i64,
    pub kind: String,
    pub model_version: Option<i64>,
    pub suggested: Option<String>,
    pub confidence: Option<f64>,
    pub chosen: String,
    pub by_login: String,
    pub at: Millis,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    Sent {
        channel: String,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        channel: Option<String>,
        error: String,
        next_attempt_at: Millis,
    },
    /// Given up (a permanent error, or too many attempts): an administrator
    /// sees it and may send it again.
    Dead {
        channel: Option<String>,
        error: String,
    },
    /// Not sent, by the recipient's choice (a resident who asked for no
    /// notifications): nothing to retry.
    Skipped {
        reason: String,
    },
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub case_id: i64,
    pub seq: u64,
    pub at: Millis,
    pub actor: Actor,
    pub event: Event,
}

/// A case as the related-case index sees it (see [`Store::case_signatures`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRow {
    pub case_id: i64,
    pub received_at: Millis,
    pub reporter_phone: String,
    pub place_unit: String,
    /// The stored signature; `None` when not computed yet.
    pub sig: Option<Vec<u8>>,
}

/// A write to one case: new events plus the projections they lead to.
#[derive(Debug, Clone)]
pub struct CaseWrite {
    /// `None` creates a new case (its row's `id` is ignored and assigned).
    pub case_id: Option<i64>,
    /// Version the writer read; 0 for a new case.
    pub expected_version: u64,
    pub events: Vec<(Millis, Actor, Event)>,
    /// The projected row after the events (its `version` must be
    /// `expected_version + events.len()`).
    pub row: CaseRow,
    /// Queue memberships after the events: (unit, queue).
    pub queues: Vec<(String, String)>,
    /// Running deadlines after the events.
    pub deadlines: Vec<DeadlineRow>,
    /// Units the case was ever dispatched to (added; never removed).
    pub involved: Vec<String>,
    /// The projections as stored at `expected_version`, as the writer read
    /// them. Given, the store writes only what differs: memberships that stay
    /// keep the time each began, deadlines change in place. Without it the
    /// stored queues and deadlines are replaced. Ignored for a new case.
    pub before: Option<Stored>,
    /// Notification intents: (index of the causing event in `events`, recipient JSON, template, text).
    pub notifications: Vec<(usize, String, String, String)>,
    /// An audit record of the change, appended in the same transaction
    /// (its `target` is set to `case:<id>`).
    pub audit: Option<AuditEntry>,
    /// Photos attached by these events, stored in the same transaction.
    pub photos: Vec<NewPhoto>,
    /// The chat platform's message that filed a new case: recorded in the
    /// same transaction, unique, so a retried delivery files nothing
    /// ([`StoreError::DuplicateChatMessage`]).
    pub chat_message: Option<ChatMessageKey>,
}

/// A chat platform's message: (group, platform, the platform's message id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessageKey {
    pub group: String,
    pub platform: String,
    pub message_id: String,
}

/// An administrator's override of a built-in message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOverrideRow {
    pub kind: String,
    pub audience: String,
    pub lang: String,
    pub subject: String,
    pub text: String,
    pub markdown: Option<String>,
    pub updated_at: Millis,
    pub updated_by: String,
}

/// A case's projections other than its row, as stored at one version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub queues: Vec<(String, String)>,
    pub deadlines: Vec<DeadlineRow>,
    pub involved: Vec<String>,
}

/// What a write changes in a case's queue memberships, deadlines and
/// involved units (see [`CaseWrite::before`]).
#[derive(Debug, Default)]
pub(crate) struct Delta<'a> {
    /// Replace all memberships (and all deadlines) rather than apply a diff.
    pub replace: bool,
    pub queues_removed: Vec<&'a (String, String)>,
    pub queues_added: Vec<&'a (String, String)>,
    pub deadlines_removed: Vec<&'a str>,
    /// Same rule as a stored deadline, other values.
    pub deadlines_changed: Vec<&'a DeadlineRow>,
    pub deadlines_added: Vec<&'a DeadlineRow>,
    pub involved_added: Vec<&'a str>,
}

impl Delta<'_> {
    /// Nothing to write (and nothing to replace).
    pub(crate) fn is_empty(&self) -> bool {
        !self.replace
            && self.queues_removed.is_empty()
            && self.queues_added.is_empty()
            && self.deadlines_removed.is_empty()
            && self.deadlines_changed.is_empty()
            && self.deadlines_added.is_empty()
            && self.involved_added.is_empty()
    }
}

/// Columns of a [`DeadlineRow`], in its field order.
pub(crate) const DEADLINE_COLUMNS: &str =
    "rule, unit, due_at, warn_at, warned, overdue, provisional";

impl EncodedWrite {
    /// A write of projections alone (no events), from `was` to `p`.
    pub(crate) fn projections(id: i64, version: u64, row: CaseRow, p: Stored, was: Stored) -> Self {
        EncodedWrite {
            case_id: Some(id),
            expected_version: version,
            events: Vec::new(),
            row,
            queues: p.queues,
            deadlines: p.deadlines,
            involved: p.involved,
            before: Some(was),
            notifications: Vec::new(),
            audit: None,
            photos: Vec::new(),
            chat_message: None,
        }
    }

    /// What this write changes, by its `before` (a new case, or a write
    /// without `before`, replaces everything).
    pub(crate) fn delta(&self) -> Delta<'_> {
        let Some(b) = self.before.as_ref().filter(|_| self.case_id.is_some()) else {
            return Delta {
                replace: true,
                queues_added: self.queues.iter().collect(),
                deadlines_added: self.deadlines.iter().collect(),
                involved_added: self.involved.iter().map(String::as_str).collect(),
                ..Delta::default()
            };
        };
        let mut d = Delta {
            queues_removed: b
                .queues
                .iter()
                .filter(|q| !self.queues.contains(q))
                .collect(),
            queues_added: self
                .queues
                .iter()
                .filter(|q| !b.queues.contains(q))
                .collect(),
            deadlines_removed: b
                .deadlines
                .iter()
                .filter(|o| !self.deadlines.iter().any(|n| n.rule == o.rule))
                .map(|o| o.rule.as_str())
                .collect(),
            involved_added: self
                .involved
                .iter()
                .filter(|u| !b.involved.contains(u))
                .map(String::as_str)
                .collect(),
            ..Delta::default()
        };
        for n in &self.deadlines {
            match b.deadlines.iter().find(|o| o.rule == n.rule) {
                Some(o) if o == n => {}
                Some(_) => d.deadlines_changed.push(n),
                None => d.deadlines_added.push(n),
            }
        }
        d
    }
}

/// Identity of a written case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRef {
    pub id: i64,
    pub tracking_code: String,
    pub version: u64,
    /// Status after the write (from the projected row).
    pub status: String,
}

/// A journal entry encoded for storage.
pub(crate) struct EncodedEvent {
    pub at: Millis,
    pub kind: &'static str,
    pub actor: String,
    pub payload: String,
}

/// A [`CaseWrite`] with its events already encoded, so the encoding is done by
/// the caller's task and not on SQLite's single writer thread.
pub(crate) struct EncodedWrite {
    pub case_id: Option<i64>,
    pub expected_version: u64,
    pub events: Vec<EncodedEvent>,
    pub row: CaseRow,
    pub queues: Vec<(String, String)>,
    pub deadlines: Vec<DeadlineRow>,
    pub involved: Vec<String>,
    pub before: Option<Stored>,
    pub notifications: Vec<(usize, String, String, String)>,
    pub audit: Option<AuditEntry>,
    pub photos: Vec<NewPhoto>,
    pub chat_message: Option<ChatMessageKey>,
}

fn encode(w: CaseWrite) -> Result<EncodedWrite> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let events = w
        .events
        .iter()
        .map(|(at, actor, event)| {
            Ok(EncodedEvent {
                at: *at,
                kind: event.kind(),
                actor: serde_json::to_string(actor).map_err(corrupt)?,
                payload: serde_json::to_string(event).map_err(corrupt)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EncodedWrite {
        case_id: w.case_id,
        expected_version: w.expected_version,
        events,
        row: w.row,
        queues: w.queues,
        deadlines: w.deadlines,
        involved: w.involved,
        before: w.before,
        notifications: w.notifications,
        audit: w.audit,
        photos: w.photos,
        chat_message: w.chat_message.filter(|_| w.case_id.is_none()),
    })
}

pub(crate) fn decode_event(
    case_id: i64,
    seq: i64,
    at: i64,
    actor: &str,
    payload: &str,
) -> Result<EventRow> {
    let actor: Actor = serde_json::from_str(actor)
        .map_err(|e| StoreError::Corrupt(format!("actor of {case_id}/{seq}: {e}")))?;
    let event: Event = serde_json::from_str(payload)
        .map_err(|e| StoreError::Corrupt(format!("event {case_id}/{seq}: {e}")))?;
    Ok(EventRow {
        case_id,
        seq: seq as u64,
        at,
        actor,
        event,
    })
}

fn check_write(w: &CaseWrite) -> Result<()> {
    if w.events.is_empty() || w.row.version != w.expected_version + w.events.len() as u64 {
        return Err(StoreError::Corrupt(format!(
            "write of {} events from version {} claims version {}",
            w.events.len(),
            w.expected_version,
            w.row.version
        )));
    }
    if (w.case_id.is_none()) != (w.expected_version == 0) {
        return Err(StoreError::Corrupt("a new case starts at version 0".into()));
    }
    Ok(())
}

/// The storage backend in use.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(pg::PgStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens a database by URL (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`)
    /// and applies the embedded migrations.
    pub async fn open(url: &str) -> Result<Store> {
        let store = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_string()));
            }
            let path = if path == ":memory:" {
                None
            } else {
                Some(path.to_string())
            };
            Store::Sqlite(sqlite::SqliteStore::open(path).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::Postgres(pg::PgStore::open(url).await?)
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Applies the embedded migrations not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        dispatch!(self, s => s.migrate().await)
    }

    /// Inserts the units and users that do not exist yet; stored ones are kept
    /// as they are (administrators edit them: the config only seeds).
    pub async fn put_org(&self, units: Vec<UnitRow>, users: Vec<UserRow>) -> Result<()> {
        dispatch!(self, s => s.put_org(units, users).await)
    }

    pub async fn units(&self) -> Result<Vec<UnitRow>> {
        dispatch!(self, s => s.units().await)
    }

    /// Every user, by login, in one query.
    pub async fn all_users(&self) -> Result<Vec<UserRow>> {
        dispatch!(self, s => s.all_users().await)
    }

    /// Adds a unit; `false` when its code is taken.
    pub async fn insert_unit(&self, unit: UnitRow) -> Result<bool> {
        dispatch!(self, s => s.insert_unit(unit).await)
    }

    /// Renames a unit; `false` when there is no such unit.
    pub async fn rename_unit(&self, code: &str, name: &str) -> Result<bool> {
        dispatch!(self, s => s.rename_unit(code.to_string(), name.to_string()).await)
    }

    /// Removes a unit that nothing refers to (no sub-unit, user, case, queue,
    /// deadline or routing label), checked and deleted in one transaction.
    pub async fn remove_unit(&self, code: &str) -> Result<UnitRemoval> {
        dispatch!(self, s => s.remove_unit(code.to_string()).await)
    }

    pub async fn logins(&self) -> Result<Vec<String>> {
        dispatch!(self, s => s.logins().await)
    }

    pub async fn user(&self, login: &str) -> Result<Option<UserRow>> {
        dispatch!(self, s => s.user(login.to_string()).await)
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        login: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        dispatch!(self, s => s.insert_session(token_hash.to_string(), login.to_string(), now, expires_at).await)
    }

    /// The user of an unexpired session whose account is not disabled.
    pub async fn session_user(&self, token_hash: &str, now: Millis) -> Result<Option<UserRow>> {
        dispatch!(self, s => s.session_user(token_hash.to_string(), now).await)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        dispatch!(self, s => s.delete_session(token_hash.to_string()).await)
    }

    /// Appends events to a case (or creates it) and writes its projections, atomically.
    pub async fn write_case(&self, w: CaseWrite) -> Result<CaseRef> {
        check_write(&w)?;
        let w = encode(w)?;
        dispatch!(self, s => s.write_case(w).await)
    }

    /// Writes several cases in one transaction: all or nothing (bulk import,
    /// benchmarks). Each write is checked as by [`Store::write_case`].
    pub async fn write_cases(&self, writes: Vec<CaseWrite>) -> Result<Vec<CaseRef>> {
        let mut enc = Vec::with_capacity(writes.len());
        for w in writes {
            check_write(&w)?;
            enc.push(encode(w)?);
        }
        dispatch!(self, s => s.write_cases(enc).await)
    }

    pub async fn case_by_id(&self, id: i64) -> Result<Option<CaseRow>> {
        dispatch!(self, s => s.case_by(filter::CaseKey::Id(id)).await)
    }

    /// Projections of several cases (missing ids are skipped), in id order.
    pub async fn cases_by_ids(&self, ids: Vec<i64>) -> Result<Vec<CaseRow>> {
        dispatch!(self, s => s.cases_by_ids(ids).await)
    }

    pub async fn case_by_tracking_code(&self, code: &str) -> Result<Option<CaseRow>> {
        dispatch!(self, s => s.case_by(filter::CaseKey::Tracking(code.to_string())).await)
    }

    /// The journal of one case in sequence order.
    pub async fn events(&self, case_id: i64) -> Result<Vec<EventRow>> {
        dispatch!(self, s => s.events(case_id).await)
    }

    /// Cases matching a filter, newest first, keyset-paginated by id.
    pub async fn list_cases(&self, f: CaseFilter) -> Result<Vec<CaseRow>> {
        dispatch!(self, s => s.list_cases(f).await)
    }

    /// Cases in one unit's queue, oldest first.
    pub async fn queue(&self, unit: &str, queue: &str, limit: u32) -> Result<Vec<CaseRow>> {
        Ok(self
            .queue_page(unit, queue, None, &QueueFilter::default(), limit)
            .await?
            .into_iter()
            .map(|(_, row)| row)
            .collect())
    }

    /// A page of a unit's queue, oldest first, after a position (keyset:
    /// the time the case entered the queue, then its id), narrowed by a
    /// filter; each row with its position, the cursor of the next page.
    pub async fn queue_page(
        &self,
        unit: &str,
        queue: &str,
        after: Option<QueuePosition>,
        filter: &QueueFilter,
        limit: u32,
    ) -> Result<Vec<(QueuePosition, CaseRow)>> {
        let after = after.unwrap_or(QueuePosition {
            since: i64::MIN,
            case_id: i64::MIN,
        });
        let filter = filter.clone();
        dispatch!(self, s => s.queue_page(unit.to_string(), queue.to_string(), after, filter, limit).await)
    }

    /// Cases with a deadline to warn about or mark overdue at `now`.
    pub async fn due_cases(&self, now: Millis, limit: u32) -> Result<Vec<i64>> {
        dispatch!(self, s => s.due_cases(now, limit).await)
    }

    /// The journals of several cases, grouped by case in sequence order.
    pub async fn events_of(&self, ids: Vec<i64>) -> Result<Vec<EventRow>> {
        dispatch!(self, s => s.events_of(ids).await)
    }

    /// Rewrites a case's queue memberships, deadlines and involved units to
    /// `p` (the projections its journal gives at `version`), changing only
    /// what differs: memberships that stay keep the time each began. Returns
    /// `None` if the case is not at `version` (changed meanwhile, or gone),
    /// else whether anything was changed.
    pub async fn replace_projections(
        &self,
        case_id: i64,
        version: u64,
        p: Stored,
        at: Millis,
    ) -> Result<Option<bool>> {
        dispatch!(self, s => s.replace_projections(case_id, version, p, at).await)
    }

    /// Running deadlines of a case.
    pub async fn deadlines(&self, case_id: i64) -> Result<Vec<DeadlineRow>> {
        dispatch!(self, s => s.deadlines(case_id).await)
    }

    /// Notification intents of a case, oldest first.
    pub async fn notifications(&self, case_id: i64) -> Result<Vec<NotificationRow>> {
        dispatch!(self, s => s.notifications(case_id).await)
    }

    /// Claims up to `limit` due notifications for `worker` until `now + lease`:
    /// no other worker (of any instance) gets them meanwhile. Oldest first.
    pub async fn claim_notifications(
        &self,
        worker: &str,
        now: Millis,
        lease: Millis,
        limit: u32,
    ) -> Result<Vec<NotificationRow>> {
        let mut v = dispatch!(self, s => s.claim_notifications(worker.to_string(), now, lease, limit).await)?;
        v.sort_by_key(|n| (n.next_attempt_at, n.id));
        Ok(v)
    }

    /// Records the outcome of a claimed notification; false if the claim
    /// was lost (the lease ran out and another worker took it).
    pub async fn finish_notification(
        &self,
        id: i64,
        worker: &str,
        now: Millis,
        outcome: OutboxOutcome,
    ) -> Result<bool> {
        dispatch!(self, s => s.finish_notification(id, worker.to_string(), now, outcome).await)
    }

    /// Notifications by status (all when `None`), newest first.
    pub async fn outbox(&self, status: Option<&str>, limit: u32) -> Result<Vec<NotificationRow>> {
        dispatch!(self, s => s.outbox(status.map(str::to_string), limit).await)
    }

    /// Puts a dead notification back in line (attempts start again).
    pub async fn requeue_notification(&self, id: i64, now: Millis) -> Result<bool> {
        dispatch!(self, s => s.requeue_notification(id, now).await)
    }

    /// Queue memberships of one case: (unit or @login, queue), sorted.
    pub async fn case_queues(&self, case_id: i64) -> Result<Vec<(String, String)>> {
        dispatch!(self, s => s.case_queues(case_id).await)
    }

    /// Stores (or replaces) an administrator's calendar year, in the calendar's text format.
    pub async fn put_calendar_year(
        &self,
        year: i32,
        data: &str,
        at: Millis,
        by: &str,
    ) -> Result<()> {
        dispatch!(self, s => s.put_calendar_year(i64::from(year), data.to_string(), at, by.to_string()).await)
    }

    /// Calendar years added by administrators: (year, data).
    pub async fn calendar_years(&self) -> Result<Vec<(i64, String)>> {
        dispatch!(self, s => s.calendar_years().await)
    }

    /// Running deadlines computed over a year without holiday data: (case id, rule, due).
    pub async fn provisional_deadlines(&self, limit: u32) -> Result<Vec<(i64, String, Millis)>> {
        dispatch!(self, s => s.provisional_deadlines(limit).await)
    }

    /// Appends an audit record, chained to the last one; returns its sequence number.
    pub async fn append_audit(&self, e: AuditEntry) -> Result<i64> {
        dispatch!(self, s => s.append_audit(e).await)
    }

    /// Chains the audit entries that writes left for the chainer (PostgreSQL:
    /// writers never wait for each other's audit; SQLite chains at once).
    pub async fn chain_audit(&self) -> Result<u64> {
        match self {
            Store::Sqlite(_) => Ok(0),
            Store::Postgres(s) => s.chain_audit().await,
        }
    }

    /// Audit records from `from_seq` on, in order (pending entries chained first).
    pub async fn audit_rows(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRow>> {
        dispatch!(self, s => s.audit_rows(from_seq, limit).await)
    }

    /// Closed cases last changed before `before` whose reporter is not yet
    /// anonymised (`anonymised_name` is the marker), oldest first.
    pub async fn anonymisable_cases(
        &self,
        before: Millis,
        anonymised_name: &str,
        limit: u32,
    ) -> Result<Vec<i64>> {
        dispatch!(self, s => s.anonymisable_cases(before, anonymised_name.to_string(), limit).await)
    }

    /// Replaces events' payloads (same kind, personal data removed) and the
    /// reporter columns of a case, and deletes its photos, in one
    /// transaction: the only edit of the journal, for retention (PIPL §47).
    pub async fn rewrite_personal_data(
        &self,
        case_id: i64,
        events: Vec<(i64, String)>,
        reporter_name: &str,
        reporter_phone: &str,
    ) -> Result<()> {
        dispatch!(self, s => s.rewrite_personal_data(case_id, events, reporter_name.to_string(), reporter_phone.to_string()).await)
    }

    /// Expired sessions, login failures before `failures_before`, and sent,
    /// dead or skipped notifications created before `notifications_before`: (sessions,
    /// failures, notifications) deleted, or that would be with `dry_run`.
    pub async fn purge_expired(
        &self,
        now: Millis,
        failures_before: Millis,
        notifications_before: Millis,
        dry_run: bool,
    ) -> Result<(u64, u64, u64)> {
        dispatch!(self, s => s.purge_expired(now, failures_before, notifications_before, dry_run).await)
    }

    pub async fn put_routing_model(&self, m: RoutingModelRow) -> Result<i64> {
        dispatch!(self, s => s.put_routing_model(m).await)
    }

    /// The newest model of a kind, unless it is `known_version` already.
    pub async fn latest_routing_model(
        &self,
        kind: &str,
        known_version: Option<i64>,
    ) -> Result<Option<RoutingModelRow>> {
        dispatch!(self, s => s.latest_routing_model(kind.to_string(), known_version.unwrap_or(0)).await)
    }

    /// Decided cases (a category set), newest first.
    pub async fn routing_examples(&self, limit: u32) -> Result<Vec<RoutingExample>> {
        let raw = dispatch!(self, s => s.routing_examples(limit).await)?;
        let event = |id: i64, p: &str| -> Result<Event> {
            serde_json::from_str(p).map_err(|e| StoreError::Corrupt(format!("event of {id}: {e}")))
        };
        raw.into_iter()
            .map(|(id, category, r, d)| {
                Ok(RoutingExample {
                    case_id: id,
                    category,
                    received: event(id, &r)?,
                    dispatched: d.map(|d| event(id, &d)).transpose()?,
                })
            })
            .collect()
    }

    /// Cases with id above `after_id` (ascending, at most `limit`) with what the
    /// related-case index needs and their stored text signature, if any.
    pub async fn case_signatures(&self, after_id: i64, limit: u32) -> Result<Vec<SignatureRow>> {
        dispatch!(self, s => s.case_signatures(after_id, limit).await)
    }

    /// Stores (or replaces) text signatures of cases.
    pub async fn put_case_signatures(&self, sigs: Vec<(i64, Vec<u8>)>) -> Result<()> {
        if sigs.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.put_case_signatures(sigs).await)
    }

    pub async fn add_routing_label(&self, l: RoutingLabel) -> Result<()> {
        dispatch!(self, s => s.add_routing_label(l).await)
    }

    /// Labels of a kind since `since`, oldest first.
    pub async fn routing_labels(&self, kind: &str, since: Millis) -> Result<Vec<RoutingLabel>> {
        dispatch!(self, s => s.routing_labels(kind.to_string(), since).await)
    }

    /// The newest chained audit record's sequence number and hash.
    pub async fn audit_last(&self) -> Result<Option<(i64, String)>> {
        dispatch!(self, s => s.audit_last().await)
    }

    /// Deletes audit records older than `before` (retention), keeping at least the last one.
    pub async fn purge_audit_before(&self, before: Millis, dry_run: bool) -> Result<u64> {
        dispatch!(self, s => s.purge_audit_before(before, dry_run).await)
    }

    /// Records a failed login of `login` from `address` ('' when unknown).
    pub async fn record_login_failure(&self, login: &str, address: &str, at: Millis) -> Result<()> {
        dispatch!(self, s => s.record_login_failure(login.to_string(), address.to_string(), at).await)
    }

    /// Failed logins since `since`: of the account, of the account from the
    /// address, and of any account from the address.
    pub async fn login_failures_since(
        &self,
        login: &str,
        address: &str,
        since: Millis,
    ) -> Result<LoginFailures> {
        dispatch!(self, s => s.login_failures_since(login.to_string(), address.to_string(), since).await)
    }

    /// Forgets the failed logins of the account from the address (after a
    /// good login from there).
    pub async fn clear_login_failures(&self, login: &str, address: &str) -> Result<()> {
        dispatch!(self, s => s.clear_login_failures(login.to_string(), address.to_string()).await)
    }

    /// Ends every session of a user; returns how many.
    pub async fn insert_api_token(&self, t: ApiTokenRow, token_hash: &str) -> Result<()> {
        dispatch!(self, s => s.insert_api_token(t, token_hash.to_string()).await)
    }

    /// The token and its user, if the token is neither revoked nor expired
    /// and the user is not disabled.
    pub async fn api_token_user(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(ApiTokenRow, UserRow)>> {
        dispatch!(self, s => s.api_token_user(token_hash.to_string(), now).await)
    }

    /// Tokens of one user (or of everyone), newest first.
    pub async fn api_tokens(&self, login: Option<&str>) -> Result<Vec<ApiTokenRow>> {
        dispatch!(self, s => s.api_tokens(login.map(str::to_string)).await)
    }

    /// Revokes a token (only the owner's, when `login` is given); false if
    /// there is no such live token.
    pub async fn revoke_api_token(
        &self,
        id: &str,
        login: Option<&str>,
        at: Millis,
    ) -> Result<bool> {
        dispatch!(self, s => s.revoke_api_token(id.to_string(), login.map(str::to_string), at).await)
    }

    pub async fn delete_sessions_of(&self, login: &str) -> Result<u64> {
        dispatch!(self, s => s.delete_sessions_of(login.to_string()).await)
    }

    /// Disables or enables a user (a disabled user's sessions stop at once).
    pub async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<bool> {
        dispatch!(self, s => s.set_user_disabled(login.to_string(), disabled).await)
    }

    /// Revokes every live API token of a user (when the user is disabled:
    /// enabling them again must not bring the tokens back). How many.
    pub async fn revoke_api_tokens_of(&self, login: &str, now: Millis) -> Result<u64> {
        dispatch!(self, s => s.revoke_api_tokens_of(login.to_string(), now).await)
    }

    pub async fn set_password_hash(&self, login: &str, hash: &str) -> Result<bool> {
        dispatch!(self, s => s.set_password_hash(login.to_string(), hash.to_string()).await)
    }

    /// One photo of a case.
    pub async fn photo(&self, case_id: i64, n: u32) -> Result<Option<PhotoRow>> {
        dispatch!(self, s => s.photo(case_id, n).await)
    }

    /// The photos of a case, by number (no bytes).
    pub async fn photos(&self, case_id: i64) -> Result<Vec<PhotoMeta>> {
        dispatch!(self, s => s.photos(case_id).await)
    }

    /// Stores a new version of the deadline rules (JSON); returns its version.
    pub async fn put_rule_set(&self, rules: &str, at: Millis, by: &str) -> Result<i64> {
        dispatch!(self, s => s.put_rule_set(rules.to_string(), at, by.to_string()).await)
    }

    /// The newest stored rules (version, JSON), unless it is `known_version` already.
    pub async fn latest_rule_set(&self, known_version: i64) -> Result<Option<(i64, String)>> {
        dispatch!(self, s => s.latest_rule_set(known_version).await)
    }

    /// Inserts a new user; false if the login is taken.
    pub async fn insert_user(&self, u: UserRow) -> Result<bool> {
        dispatch!(self, s => s.insert_user(u).await)
    }

    /// Changes a user's role and units; false if there is no such user.
    pub async fn update_user(
        &self,
        login: &str,
        role: &str,
        unit: &str,
        linked_units: Vec<String>,
    ) -> Result<bool> {
        dispatch!(self, s => s.update_user(login.to_string(), role.to_string(), unit.to_string(), linked_units).await)
    }

    /// The case a chat platform's message filed, if any.
    pub async fn chat_message_case(&self, key: &ChatMessageKey) -> Result<Option<i64>> {
        dispatch!(self, s => s.chat_message_case(key.clone()).await)
    }

    /// The template overrides and the version they are at (bumped by every change).
    pub async fn template_overrides(&self) -> Result<(i64, Vec<TemplateOverrideRow>)> {
        dispatch!(self, s => s.template_overrides().await)
    }

    /// The version of the template overrides (cheap: one row).
    pub async fn template_version(&self) -> Result<i64> {
        dispatch!(self, s => s.template_version().await)
    }

    /// Stores (or replaces) an override and appends `audit`, in one
    /// transaction; returns the new version.
    pub async fn put_template_override(
        &self,
        t: TemplateOverrideRow,
        audit: AuditEntry,
    ) -> Result<i64> {
        dispatch!(self, s => s.put_template_override(t, audit).await)
    }

    /// Deletes an override and appends `audit`, in one transaction; returns
    /// the new version, or `None` (and nothing written) if there was none.
    pub async fn delete_template_override(
        &self,
        kind: &str,
        audience: &str,
        lang: &str,
        audit: AuditEntry,
    ) -> Result<Option<i64>> {
        dispatch!(self, s => s.delete_template_override(kind.to_string(), audience.to_string(), lang.to_string(), audit).await)
    }

    /// The cases written at or after the change mark `mark` (the search index's
    /// catch-up), and the mark to pass next time: every case written after the returned
    /// ids were read has a change position at or above it. Exact on both backends (on
    /// SQLite the single writer's order; on PostgreSQL transaction ids and the
    /// snapshot's xmin, so a transaction that commits late is never skipped). Mark 0:
    /// every case.
    pub async fn cases_changed_since(&self, mark: i64) -> Result<(Vec<i64>, i64)> {
        dispatch!(self, s => s.cases_changed_since(mark).await)
    }

    /// Number of cases stored (for reports and tests).
    pub async fn count_cases(&self) -> Result<i64> {
        dispatch!(self, s => s.count_cases().await)
    }

    /// What operations watch, read at `now` in a few indexed queries (see
    /// [`OpsStats`]).
    pub async fn ops_stats(&self, now: Millis) -> Result<OpsStats> {
        let mut s = dispatch!(self, s => s.ops_stats(now).await)?;
        if let Store::Postgres(pg) = self {
            s.pool = Some(pg.pool_status());
        }
        Ok(s)
    }
}
