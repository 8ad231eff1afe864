//! The deadline sweeper: marks warnings and overdue deadlines as events
//! (raising supervision to the linked leader), written like any other step,
//! with the version read so a concurrent step wins and the sweep retries later.

use crate::cases::{journals, replay, WriteTarget};
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
const BATCH: usize = 2000;
/// Most cases one sweep looks at; the rest wait for the next sweep.
const MAX_PER_SWEEP: u32 = 500_000;
/// Rounds in flight: one reads and replays while another commits.
const IN_FLIGHT: usize = 2;

impl SweepReport {
    fn add(&mut self, o: &SweepReport) {
        self.due += o.due;
        self.written += o.written;
        self.warnings += o.warnings;
        self.overdue += o.overdue;
        self.conflicts += o.conflicts;
    }
}

impl App {
    /// One sweep at the app's current time.
    pub async fn sweep_once(&self) -> Result<SweepReport> {
        let now = self.now();
        let ids = self.store().due_cases(now, MAX_PER_SWEEP).await?;
        let mut report = SweepReport::default();
        let mut rounds = tokio::task::JoinSet::new();
        for chunk in ids.chunks(BATCH) {
            if rounds.len() >= IN_FLIGHT {
                if let Some(r) = rounds.join_next().await {
                    report.add(&r.map_err(|e| AppError::Journal(e.to_string()))??);
                }
            }
            let app = self.clone();
            let chunk = chunk.to_vec();
            rounds.spawn(async move { app.sweep_round(chunk, now).await });
        }
        while let Some(r) = rounds.join_next().await {
            report.add(&r.map_err(|e| AppError::Journal(e.to_string()))??);
        }
        Ok(report)
    }

    /// Marks the due deadlines of some cases, in one transaction; if a case
    /// changed meanwhile the round is retried case by case, so only that case
    /// waits for the next sweep.
    async fn sweep_round(&self, ids: Vec<i64>, now: suqiu_domain::Millis) -> Result<SweepReport> {
        let org = self.org();
        let mut report = SweepReport {
            due: ids.len(),
            ..SweepReport::default()
        };
        let started = std::time::Instant::now();
        let events = self.store().events_of(ids.clone()).await?;
        let rows = self.store().cases_by_ids(ids).await?;
        let read = started.elapsed();
        let mut writes = Vec::new();
        for (row, journal) in journals(&rows, &events) {
            let state = replay(journal)?;
            let marks = workflow::sweep(&state, now, &org);
            if marks.is_empty() {
                continue;
            }
            report.warnings += marks
                .iter()
                .filter(|e| e.kind() == "deadline_warned")
                .count();
            report.overdue += marks
                .iter()
                .filter(|e| e.kind() == "deadline_overdue")
                .count();
            let version = state.version;
            let before = self.stored(&state);
            let mut after = state;
            for e in &marks {
                after = case::apply(Some(after), e, now)
                    .map_err(|e| AppError::Journal(e.to_string()))?;
            }
            let target = WriteTarget {
                case_id: Some(row.id),
                version,
                code: &row.tracking_code,
                place_path: &row.place_path,
            };
            let mut write = self.case_write(target, &Actor::System, &marks, &after, now);
            write.before = Some(before);
            writes.push(write);
        }
        let n = writes.len();
        let built = started.elapsed();
        let written = self.store().write_cases(writes.clone()).await;
        tracing::debug!(
            cases = n,
            read_ms = read.as_secs_f64() * 1e3,
            build_ms = (built - read).as_secs_f64() * 1e3,
            write_ms = (started.elapsed() - built).as_secs_f64() * 1e3,
            "sweep round"
        );
        match written {
            Ok(_) => report.written += n,
            Err(StoreError::Conflict { .. }) => {
                for r in futures_join(self, writes).await {
                    match r {
                        Ok(_) => report.written += 1,
                        Err(StoreError::Conflict { .. }) => report.conflicts += 1,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
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
                        tracing::info!(
                            warnings = r.warnings,
                            overdue = r.overdue,
                            cases = r.written,
                            "deadline sweep"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "deadline sweep failed"),
                }
            }
        })
    }
}

async fn futures_join(
    app: &App,
    writes: Vec<suqiu_store::CaseWrite>,
) -> Vec<std::result::Result<suqiu_store::CaseRef, StoreError>> {
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
