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

/// What one system round wrote.
#[derive(Debug, Default)]
struct SystemRound {
    written: usize,
    /// The kinds of the events written.
    kinds: Vec<&'static str>,
    /// Cases changed meanwhile (not written).
    conflicts: Vec<i64>,
}

/// What a recomputation of provisional deadlines did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecomputeReport {
    /// Cases with a running provisional deadline.
    pub cases: usize,
    /// Cases written.
    pub written: usize,
    /// Deadlines counted again (moved or confirmed).
    pub recomputed: usize,
    /// Cases still changing after every attempt (left for the next start).
    pub conflicts: usize,
}

/// Times a recomputation retries the cases that changed meanwhile.
const RECOMPUTE_ATTEMPTS: usize = 5;

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
        let due = ids.len();
        let r = self
            .system_round(ids, now, |state| workflow::sweep(state, now, &org))
            .await?;
        let count = |kind: &str| r.kinds.iter().filter(|k| **k == kind).count();
        Ok(SweepReport {
            due,
            written: r.written,
            warnings: count("deadline_warned"),
            overdue: count("deadline_overdue"),
            conflicts: r.conflicts.len(),
        })
    }

    /// Writes the system's events `marks(state)` on some cases, in one
    /// transaction, with the versions read; if a case changed meanwhile the
    /// round is retried case by case and the ones that changed are returned.
    async fn system_round<F>(
        &self,
        ids: Vec<i64>,
        now: suqiu_domain::Millis,
        marks: F,
    ) -> Result<SystemRound>
    where
        F: Fn(&case::CaseState) -> Vec<case::Event>,
    {
        let mut round = SystemRound::default();
        let started = std::time::Instant::now();
        let events = self.store().events_of(ids.clone()).await?;
        let rows = self.store().cases_by_ids(ids).await?;
        let read = started.elapsed();
        let mut writes = Vec::new();
        let mut kinds = Vec::new();
        for (row, journal) in journals(&rows, &events) {
            let state = replay(journal)?;
            let marks = marks(&state);
            if marks.is_empty() {
                continue;
            }
            kinds.push(marks.iter().map(|e| e.kind()).collect::<Vec<_>>());
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
            writes.push((row.id, write));
        }
        let n = writes.len();
        let built = started.elapsed();
        let written = self
            .store()
            .write_cases(writes.iter().map(|(_, w)| w.clone()).collect())
            .await;
        tracing::debug!(
            cases = n,
            read_ms = read.as_secs_f64() * 1e3,
            build_ms = (built - read).as_secs_f64() * 1e3,
            write_ms = (started.elapsed() - built).as_secs_f64() * 1e3,
            "system round"
        );
        match written {
            Ok(_) => {
                round.written = n;
                round.kinds = kinds.into_iter().flatten().collect();
            }
            Err(StoreError::Conflict { .. }) => {
                let ids: Vec<i64> = writes.iter().map(|(id, _)| *id).collect();
                let results =
                    futures_join(self, writes.into_iter().map(|(_, w)| w).collect()).await;
                for ((r, id), k) in results.into_iter().zip(ids).zip(kinds) {
                    match r {
                        Ok(_) => {
                            round.written += 1;
                            round.kinds.extend(k);
                        }
                        Err(StoreError::Conflict { .. }) => round.conflicts.push(id),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(round)
    }

    /// Counts again every running provisional deadline with the calendar in
    /// force (a year's holiday notice was added): `deadline_recomputed` events,
    /// written like the sweeper's, so the unit that must act and the resident
    /// are told when a date moves. Idempotent (nothing is written when nothing
    /// changes), so it also runs at start to finish one cut short by a crash.
    pub async fn recompute_provisional_deadlines(&self) -> Result<RecomputeReport> {
        let mut report = RecomputeReport::default();
        let mut ids: Vec<i64> = self
            .store()
            .provisional_deadlines(MAX_PER_SWEEP)
            .await?
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        report.cases = ids.len();
        for attempt in 0..RECOMPUTE_ATTEMPTS {
            let calendar = self.calendar();
            let now = self.now();
            let mut retry = Vec::new();
            for chunk in ids.chunks(BATCH) {
                let r = self
                    .system_round(chunk.to_vec(), now, |state| {
                        workflow::recompute_deadlines(state, &calendar)
                    })
                    .await?;
                report.written += r.written;
                report.recomputed += r.kinds.len();
                retry.extend(r.conflicts);
            }
            if retry.is_empty() {
                break;
            }
            if attempt + 1 == RECOMPUTE_ATTEMPTS {
                report.conflicts = retry.len();
            }
            ids = retry;
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
