//! The deadline sweeper: marks warnings and overdue deadlines as events
//! (raising supervision to the linked leader), written like any other step,
//! with the version read so a concurrent step wins and the sweep retries later.

use crate::cases::replay;
use crate::{App, AppError, Result};
use suqiu_domain::case::{self, Actor};
use suqiu_domain::workflow;
use suqiu_store::StoreError;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Cases with a deadline due for a mark.
    pub due: usize,
    /// Cases written.
    pub written: usize,
    pub warnings: usize,
    pub overdue: usize,
    /// Cases changed meanwhile by someone else (retried at the next sweep).
    pub conflicts: usize,
}

/// Cases read and written per round.
const BATCH: u32 = 2000;

impl App {
    /// One sweep at the app's current time.
    pub async fn sweep_once(&self) -> Result<SweepReport> {
        let now = self.now();
        let org = self.org();
        let mut report = SweepReport::default();
        let mut last_batch: Vec<i64> = Vec::new();
        loop {
            let ids = self.store().due_cases(now, BATCH).await?;
            // A batch that only holds cases that conflicted last round ends the sweep.
            if ids.is_empty() || ids == last_batch {
                break;
            }
            report.due += ids.len();
            let events = self.store().events_of(ids.clone()).await?;
            let mut writes = Vec::new();
            for id in &ids {
                let journal: Vec<_> = events.iter().filter(|e| e.case_id == *id).cloned().collect();
                if journal.is_empty() {
                    continue;
                }
                let state = replay(&journal)?;
                let marks = workflow::sweep(&state, now, &org);
                if marks.is_empty() {
                    continue;
                }
                report.warnings += marks.iter().filter(|e| e.kind() == "deadline_warned").count();
                report.overdue += marks.iter().filter(|e| e.kind() == "deadline_overdue").count();
                let Some(row) = self.store().case_by_id(*id).await? else {
                    continue;
                };
                let version = state.version;
                let mut after = state;
                for e in &marks {
                    after = case::apply(Some(after), e, now).map_err(|e| AppError::Journal(e.to_string()))?;
                }
                writes.push(self.case_write(
                    Some(*id),
                    version,
                    &row.tracking_code,
                    &row.place_path,
                    &Actor::System,
                    &marks,
                    &after,
                    now,
                ));
            }
            // All writes of a round go to the store together (one group commit on SQLite).
            let results = futures_join(self, writes).await;
            for r in results {
                match r {
                    Ok(_) => report.written += 1,
                    Err(StoreError::Conflict { .. }) => report.conflicts += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            last_batch = ids;
        }
        Ok(report)
    }

    /// Runs the sweeper every `every` until the app is dropped.
    pub fn spawn_sweeper(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match app.sweep_once().await {
                    Ok(r) if r.written > 0 => {
                        tracing::info!(warnings = r.warnings, overdue = r.overdue, cases = r.written, "deadline sweep")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "deadline sweep failed"),
                }
            }
        })
    }
}

async fn futures_join(app: &App, writes: Vec<suqiu_store::CaseWrite>) -> Vec<std::result::Result<suqiu_store::CaseRef, StoreError>> {
    let mut handles = Vec::with_capacity(writes.len());
    for w in writes {
        let store = app.store().clone();
        handles.push(tokio::spawn(async move { store.write_case(w).await }));
    }
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or(Err(StoreError::WriterGone)));
    }
    out
}
