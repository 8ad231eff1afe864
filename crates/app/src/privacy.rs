//! Permissions as data, unmasking of personal data (always audited), the
//! hash-chained audit log, login throttling, the password policy, retention.

use crate::{App, AppError, Result, StaffUser};
use serde_json::json;
use suqiu_domain::case::{self, Millis, Reporter};
use suqiu_domain::org::Role;
use suqiu_domain::validate::bounded_text;
use suqiu_domain::{FieldError, FieldErrorKind};
use suqiu_store::{audit_hash, AuditEntry, AUDIT_GENESIS};

/// What a role may do beyond reading its part of the tree. The six-order
/// commands are decided per state by the domain (`workflow::decide`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Enter matters from staff channels (hotline, visit, letter, …).
    FileStaffChannels,
    /// See the reporter's name, phone and ID number (each time audited).
    Unmask,
    /// … also of a reporter who asked for confidentiality.
    UnmaskConfidential,
    /// Add holiday calendar years.
    ManageCalendar,
    /// Create users, change their role and unit, reset passwords, disable
    /// and enable them, end their sessions.
    ManageUsers,
    /// Edit the deadline rules and the categories.
    ManageRules,
    /// Add, rename and remove units of the organisation.
    ManageUnits,
    /// Read and export the audit log.
    ReadAudit,
    /// See the notification outbox and send dead notifications again.
    ManageNotifications,
    /// Edit the message templates (overrides of the built-in ones).
    ManageTemplates,
    /// Import ledgers (台账) of many cases at once, within one's area.
    ImportLedger,
    /// Read the operational metrics (`GET /metrics`).
    ViewMetrics,
}

/// The permission table (printed in ARCHITECTURE.md).
pub const PERMISSIONS: &[(Permission, &[Role])] = &[
    (
        Permission::FileStaffChannels,
        &[
            Role::GridWorker,
            Role::CommunityStaff,
            Role::StreetStaff,
            Role::DepartmentHandler,
            Role::Leader,
            Role::PetitionBureau,
            Role::Admin,
            Role::Inspector,
        ],
    ),
    (
        Permission::Unmask,
        &[
            Role::GridWorker,
            Role::CommunityStaff,
            Role::StreetStaff,
            Role::DepartmentHandler,
            Role::Leader,
            Role::PetitionBureau,
            Role::Inspector,
        ],
    ),
    (
        Permission::UnmaskConfidential,
        &[Role::PetitionBureau, Role::Inspector],
    ),
    (Permission::ManageCalendar, &[Role::Admin]),
    (Permission::ManageUsers, &[Role::Admin]),
    (Permission::ManageRules, &[Role::Admin]),
    (Permission::ManageUnits, &[Role::Admin]),
    (Permission::ReadAudit, &[Role::Admin]),
    (Permission::ManageNotifications, &[Role::Admin]),
    (Permission::ManageTemplates, &[Role::Admin]),
    (Permission::ViewMetrics, &[Role::Admin]),
    (
        Permission::ImportLedger,
        &[
            Role::CommunityStaff,
            Role::StreetStaff,
            Role::PetitionBureau,
            Role::Admin,
        ],
    ),
];

pub fn allowed(role: Role, p: Permission) -> bool {
    PERMISSIONS
        .iter()
        .any(|(q, roles)| *q == p && roles.contains(&role))
}

/// Failed logins within this window count towards the throttles.
pub const THROTTLE_WINDOW_MS: Millis = 15 * 60 * 1000;
/// Failed logins of one account from one address allowed within the window;
/// past it that address may not try that account until the window moves on.
/// The owner, from their own address, is not locked out.
pub const THROTTLE_MAX_FAILURES: i64 = 5;
/// Failed logins from one address (any accounts) allowed within the window;
/// past it the address may not log in at all for a while, and its attempts
/// are no longer checked (nor written to the audit log one by one).
pub const THROTTLE_MAX_ADDRESS_FAILURES: i64 = 30;
/// Failed logins of one account (any addresses) past which every attempt on
/// it waits [`THROTTLE_SLOW_MS`] before the check: an attacker spread over
/// many addresses is slowed, the owner still gets in.
pub const THROTTLE_SLOW_AFTER: i64 = 10;
/// How long an attempt on a much-attacked account waits.
pub const THROTTLE_SLOW_MS: u64 = 1000;

/// At least 10 characters, three of lower case, upper case, digits and
/// symbols, and not containing the login.
pub fn check_password_policy(login: &str, password: &str) -> std::result::Result<(), FieldError> {
    let weak = || FieldError::new("password", FieldErrorKind::WeakPassword);
    if password.chars().count() < 10 || password.chars().count() > 128 {
        return Err(weak());
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        // symbols, and characters beyond ASCII (汉字) count as "other"
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|x| **x).count() < 3 {
        return Err(weak());
    }
    if !login.is_empty() && password.to_lowercase().contains(&login.to_lowercase()) {
        return Err(weak());
    }
    Ok(())
}

/// The outcome of checking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheck {
    pub rows: u64,
    /// The first bad record (or the first missing one), if any.
    pub first_bad: Option<i64>,
    /// What is wrong there.
    pub problem: Option<AuditProblem>,
    /// The last record that verified.
    pub head: Option<AuditHead>,
}

/// What [`App::verify_audit_expecting`] found wrong at the first bad record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditProblem {
    /// The record's fields do not give its hash (edited).
    Hash,
    /// The record does not chain to the one before it (one removed or edited).
    Link,
    /// A sequence number is missing after the previous record.
    Gap,
    /// A kept head's record has another hash (the log was re-chained).
    HeadChanged,
    /// A kept head is past the end of the log (its newest records were cut).
    Truncated,
}

impl AuditProblem {
    pub fn describe(self) -> &'static str {
        match self {
            AuditProblem::Hash => "the record was altered (its hash does not match its fields)",
            AuditProblem::Link => "the record does not chain to the one before it",
            AuditProblem::Gap => "a record is missing (sequence numbers jump)",
            AuditProblem::HeadChanged => "a kept head has another hash: the log was re-chained",
            AuditProblem::Truncated => "a kept head is past the end: the newest records were cut",
        }
    }
}

/// A point of the audit chain: a record's sequence number and hash, written
/// `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for AuditHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for AuditHead {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, hash) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not SEQ:HASH"))?;
        let seq = seq
            .parse()
            .map_err(|_| format!("{seq:?} is not a sequence number"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{hash:?} is not a SHA-256 hash in hex"));
        }
        Ok(AuditHead {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

impl App {
    /// Chains the audit entries that case writes queued, every `every`
    /// (PostgreSQL; on SQLite they are chained in the write itself).
    pub fn spawn_audit_chainer(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let store = self.store().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = store.chain_audit().await {
                    tracing::warn!(error = %e, "audit chaining failed");
                }
            }
        })
    }

    /// Appends to the audit log. Callers that reveal data fail closed on error.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        reason: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.store()
            .append_audit(AuditEntry {
                at: self.now(),
                actor: actor.to_string(),
                action: action.to_string(),
                target: target.to_string(),
                reason: reason.to_string(),
                detail: detail.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Audit of a step that already happened: a failure is logged, not returned
    /// (the step itself is in the case journal).
    pub(crate) async fn audit_quietly(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) {
        if let Err(e) = self.audit(actor, action, target, "", detail).await {
            tracing::error!(error = %e, action, target, "audit append failed");
        }
    }

    /// The reporter of a case in full, for a user with the permission and a
    /// reason; the view is audited before anything is returned.
    pub async fn unmask(&self, user: &StaffUser, id: i64, reason: &str) -> Result<Reporter> {
        let reason = bounded_text("reason", reason, 200, false)?;
        let view = self.visible_case(user, id).await?;
        let r = view.state.intake.reporter.clone();
        let permitted = if r.confidential {
            allowed(user.role, Permission::UnmaskConfidential)
        } else {
            allowed(user.role, Permission::Unmask)
        };
        if !permitted {
            return Err(AppError::Forbidden);
        }
        self.audit(
            &user.login,
            "case.unmask",
            &format!("case:{id}"),
            &reason,
            json!({"fields": ["name", "phone", "id_number"], "confidential": r.confidential}),
        )
        .await?;
        Ok(r)
    }

    /// Checks the whole audit chain from its first remaining record.
    pub async fn verify_audit(&self) -> Result<AuditCheck> {
        self.verify_audit_expecting(&[]).await
    }

    /// Verifies the chain and that it still holds every head in `expect`
    /// (printed by `suqiu audit head` and kept off-site, or the server's
    /// checkpoints): a log cut at its newest end, or cut and re-chained, no
    /// longer holds them. Heads older than the first remaining record
    /// (purged by retention) cannot be checked and are skipped. Sequence
    /// numbers must follow each other without a gap.
    pub async fn verify_audit_expecting(&self, expect: &[AuditHead]) -> Result<AuditCheck> {
        let mut from = 0;
        let mut prev: Option<(i64, String)> = None;
        let mut first_seq: Option<i64> = None;
        let mut rows = 0u64;
        let expected: std::collections::HashMap<i64, &str> =
            expect.iter().map(|h| (h.seq, h.hash.as_str())).collect();
        let bad = |rows, seq, problem: AuditProblem, head: &Option<(i64, String)>| AuditCheck {
            rows,
            first_bad: Some(seq),
            problem: Some(problem),
            head: head.clone().map(|(seq, hash)| AuditHead { seq, hash }),
        };
        loop {
            let page = self.store().audit_rows(from, 5000).await?;
            if page.is_empty() {
                break;
            }
            for r in &page {
                first_seq.get_or_insert(r.seq);
                // The first remaining record anchors the chain (older ones may
                // have been purged by retention); after it, every link must hold.
                let expected_prev = match &prev {
                    Some((seq, _)) if r.seq != seq + 1 => {
                        return Ok(bad(rows, seq + 1, AuditProblem::Gap, &prev))
                    }
                    Some((_, hash)) => hash.clone(),
                    None if r.seq == 1 => AUDIT_GENESIS.to_string(),
                    None => r.prev_hash.clone(),
                };
                if r.prev_hash != expected_prev {
                    return Ok(bad(rows, r.seq, AuditProblem::Link, &prev));
                }
                if audit_hash(&r.prev_hash, r.seq, &r.entry) != r.hash {
                    return Ok(bad(rows, r.seq, AuditProblem::Hash, &prev));
                }
                if expected.get(&r.seq).is_some_and(|h| *h != r.hash) {
                    return Ok(bad(rows, r.seq, AuditProblem::HeadChanged, &prev));
                }
                prev = Some((r.seq, r.hash.clone()));
                rows += 1;
                from = r.seq + 1;
            }
        }
        let last = prev.as_ref().map_or(0, |(seq, _)| *seq);
        let first = first_seq.unwrap_or(1);
        if expect.iter().any(|h| h.seq > last && h.seq >= first) {
            return Ok(bad(rows, last + 1, AuditProblem::Truncated, &prev));
        }
        Ok(AuditCheck {
            rows,
            first_bad: None,
            problem: None,
            head: prev.map(|(seq, hash)| AuditHead { seq, hash }),
        })
    }

    /// The newest chained record of the audit log (to print and keep
    /// off-site, or to checkpoint): one read, no verification (`verify`
    /// checks the chain up to it).
    pub async fn audit_head(&self) -> Result<Option<AuditHead>> {
        self.store().chain_audit().await?;
        let last = self.store().audit_last().await?;
        Ok(last.map(|(seq, hash)| AuditHead { seq, hash }))
    }

    /// Ends every session of a user (logout everywhere).
    pub async fn logout_everywhere(&self, actor: &StaffUser, login: &str) -> Result<u64> {
        if actor.login != login && !allowed(actor.role, Permission::ManageUsers) {
            return Err(AppError::Forbidden);
        }
        let n = self.store().delete_sessions_of(login).await?;
        self.audit_quietly(
            &actor.login,
            "user.logout_all",
            &format!("user:{login}"),
            json!({"sessions": n}),
        )
        .await;
        Ok(n)
    }

    /// Disables (or enables) a user; a disabled user's sessions stop at once.
    pub async fn set_disabled(&self, actor: &StaffUser, login: &str, disabled: bool) -> Result<()> {
        if !allowed(actor.role, Permission::ManageUsers) {
            return Err(AppError::Forbidden);
        }
        if !self.store().set_user_disabled(login, disabled).await? {
            return Err(AppError::UnknownUser(login.to_string()));
        }
        if disabled {
            self.store().delete_sessions_of(login).await?;
            // Tokens are revoked, not only refused while disabled: enabling the
            // user again must not bring back secrets handed out before.
            self.store().revoke_api_tokens_of(login, self.now()).await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.audit_quietly(&actor.login, action, &format!("user:{login}"), json!({}))
            .await;
        Ok(())
    }

    /// Changes one's own password (policy checked; other sessions end).
    pub async fn change_password(&self, user: &StaffUser, old: &str, new: &str) -> Result<()> {
        let row = self
            .store()
            .user(&user.login)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if !crate::auth::verify(old, &row.password_hash).await {
            return Err(AppError::BadCredentials);
        }
        check_password_policy(&user.login, new)?;
        let hash = crate::auth::hash_password(new.to_string()).await?;
        self.store().set_password_hash(&user.login, &hash).await?;
        self.store().delete_sessions_of(&user.login).await?;
        self.audit_quietly(
            &user.login,
            "user.password",
            &format!("user:{}", user.login),
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Retention, per data class (PIPL §19, §47; Cybersecurity Law §21):
    /// - personal data of cases closed more than `personal_data_days` ago is
    ///   anonymised: the reporter's name, phone, ID number and address, and
    ///   every long number in the case's texts (the case itself stays: it is
    ///   a government record, and the statistics still count it);
    /// - audit records older than `audit_days` (never less than 180) are deleted;
    /// - sent and dead notifications older than `notification_days`, login
    ///   failures older than 30 days and expired sessions are deleted.
    ///
    /// With `dry_run`, reports what it would do and changes nothing.
    pub async fn retention(
        &self,
        policy: &RetentionPolicy,
        dry_run: bool,
    ) -> Result<serde_json::Value> {
        let day = 86_400_000i64;
        let now = self.now();
        let audit_days = i64::from(policy.audit_days.max(MIN_AUDIT_DAYS));
        let audit = self
            .store()
            .purge_audit_before(now - audit_days * day, dry_run)
            .await?;
        let (sessions, failures, notifications) = self
            .store()
            .purge_expired(
                now,
                now - 30 * day,
                now - i64::from(policy.notification_days) * day,
                dry_run,
            )
            .await?;
        let before = now - i64::from(policy.personal_data_days) * day;
        let mut anonymised = 0u64;
        if dry_run {
            anonymised = self
                .store()
                .anonymisable_cases(before, case::ANONYMISED, u32::MAX)
                .await?
                .len() as u64;
        } else {
            loop {
                let ids = self
                    .store()
                    .anonymisable_cases(before, case::ANONYMISED, 500)
                    .await?;
                if ids.is_empty() {
                    break;
                }
                for id in ids {
                    self.anonymise_case(id).await?;
                    anonymised += 1;
                }
            }
        }
        let report = json!({
            "dry_run": dry_run,
            "personal_data_days": policy.personal_data_days,
            "cases_anonymised": anonymised,
            "audit_days": audit_days,
            "audit_records": audit,
            "notification_days": policy.notification_days,
            "notifications": notifications,
            "expired_sessions": sessions,
            "login_failures": failures,
        });
        if !dry_run {
            self.audit_quietly("system", "retention.run", "retention", report.clone())
                .await;
        }
        Ok(report)
    }

    /// Removes the personal data of one case from its journal and its row.
    async fn anonymise_case(&self, id: i64) -> Result<()> {
        let events = self.store().events(id).await?;
        let journal: Vec<case::Event> = events.iter().map(|e| e.event.clone()).collect();
        let personal = case::personal_strings(&journal);
        let mut changed = Vec::new();
        for e in &events {
            let a = case::anonymised(&e.event, &personal);
            if a != e.event {
                let payload =
                    serde_json::to_string(&a).map_err(|e| AppError::Journal(e.to_string()))?;
                changed.push((e.seq as i64, payload));
            }
        }
        self.store()
            .rewrite_personal_data(id, changed, case::ANONYMISED, "")
            .await?;
        self.reindex(id);
        Ok(())
    }
}

/// How long each class of data is kept (days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Personal data of a closed case, counted from its closing.
    pub personal_data_days: u32,
    /// Audit records (at least 180).
    pub audit_days: u32,
    /// Sent and dead notifications.
    pub notification_days: u32,
}

/// The Cybersecurity Law's minimum for logs (§21): six months.
pub const MIN_AUDIT_DAYS: u32 = 180;

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            personal_data_days: 3 * 365,
            audit_days: 365,
            notification_days: 180,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(check_password_policy("li", "Suqiu@2026").is_ok());
        assert!(check_password_policy("li", "short1A!").is_err());
        assert!(check_password_policy("li", "alllowercaseletters").is_err());
        assert!(check_password_policy("zhangsan", "Zhangsan@2026").is_err());
        assert!(check_password_policy("li", "长密码长密码长密码1A").is_ok());
    }

    #[test]
    fn permission_table() {
        assert!(allowed(
            Role::PetitionBureau,
            Permission::UnmaskConfidential
        ));
        assert!(!allowed(
            Role::CommunityStaff,
            Permission::UnmaskConfidential
        ));
        assert!(
            !allowed(Role::Admin, Permission::Unmask),
            "administrators run the system, not cases"
        );
        assert!(allowed(Role::Admin, Permission::ReadAudit));
    }
}
