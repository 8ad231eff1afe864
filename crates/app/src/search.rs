//! Full-text search for staff: the index (crate `suqiu-search`) is derived data,
//! fed by a background indexer after every case write and rebuildable from
//! the journal; results are filtered by the same visibility rules as lists.

use crate::cases::{journals, replay};
use crate::{App, AppError, Result, StaffUser};
use std::sync::Arc;
use suqiu_domain::case::{CaseState, Event, Millis};
use suqiu_search::{CaseDoc, Query, SearchIndex};
use suqiu_store::CaseRow;
use tokio::sync::{mpsc, oneshot};

pub(crate) enum IndexMsg {
    Case(i64),
    Flush(oneshot::Sender<()>),
    /// Index every case changed since the index's high-water mark, then move the mark.
    CatchUp(oneshot::Sender<Result<u64>>),
}

/// Cases read and indexed at a time by the catch-up.
const CATCH_UP_CHUNK: usize = 500;

/// The search side of the app: the index and the indexer's inbox.
#[derive(Clone)]
pub struct Search {
    index: Arc<SearchIndex>,
    inbox: mpsc::UnboundedSender<IndexMsg>,
}

/// A hit with the case it found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub row: CaseRow,
    pub score: f32,
    pub title_snippet: String,
    pub content_snippet: String,
}

/// What staff search across: title, content, replies, notes and reasons.
fn doc(row: &CaseRow, s: &CaseState, events: &[suqiu_store::EventRow]) -> CaseDoc {
    let extra = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::NoteAdded { text } => Some(text.clone()),
            Event::Replied {
                result,
                policy_basis,
                ..
            } => Some(format!(
                "{result} {}",
                policy_basis.clone().unwrap_or_default()
            )),
            Event::Explained {
                policy_basis, note, ..
            } => Some(format!(
                "{policy_basis} {}",
                note.clone().unwrap_or_default()
            )),
            Event::Returned { reason, .. } => Some(reason.clone()),
            Event::Accepted { contact_note, .. } => Some(contact_note.clone()),
            Event::CooperationReported { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    CaseDoc {
        id: row.id,
        unit_path: row.place_path.clone(),
        status: s.status.as_str().to_string(),
        received_at: s.received_at,
        title: s.intake.title.clone(),
        content: s.intake.content.clone(),
        extra,
        involved: s.involved.clone(),
        accused_path: row.accused_path.clone(),
        accused_login: row.accused_login.clone(),
    }
}

impl App {
    /// Attaches a search index and starts its indexer.
    pub fn with_search(mut self, index: SearchIndex) -> App {
        let (tx, mut rx) = mpsc::unbounded_channel::<IndexMsg>();
        let index = Arc::new(index);
        self.search = Some(Search {
            index: index.clone(),
            inbox: tx,
        });
        // the task's app has no inbox of its own: the task ends (and releases the index)
        // when the last `App` that can send to it is dropped
        let mut app = self.clone();
        app.search = None;
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(m) = rx.try_recv() {
                    batch.push(m);
                    if batch.len() >= 5000 {
                        break;
                    }
                }
                let mut ids: Vec<i64> = Vec::new();
                let mut flushes = Vec::new();
                let mut catch_ups = Vec::new();
                for m in batch {
                    match m {
                        IndexMsg::Case(id) => ids.push(id),
                        IndexMsg::Flush(done) => flushes.push(done),
                        IndexMsg::CatchUp(done) => catch_ups.push(done),
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                if let Err(e) = app.index_cases(index.clone(), ids, None).await {
                    tracing::warn!(error = %e, "search indexing failed");
                }
                if !catch_ups.is_empty() {
                    // one pass answers every request queued before it started
                    let result = app.catch_up(index.clone()).await;
                    if let Err(e) = &result {
                        tracing::warn!(error = %e, "search catch-up failed");
                    }
                    for c in catch_ups {
                        let _ = c.send(match &result {
                            Ok(n) => Ok(*n),
                            Err(e) => Err(AppError::Journal(format!("search catch-up: {e}"))),
                        });
                    }
                }
                for f in flushes {
                    let _ = f.send(());
                }
            }
        });
        self
    }

    /// Indexes the cases and commits; with `mark`, the commit also records it as the
    /// index's high-water mark (so the mark is durable only with these documents).
    async fn index_cases(
        &self,
        index: Arc<SearchIndex>,
        ids: Vec<i64>,
        mark: Option<i64>,
    ) -> Result<()> {
        if ids.is_empty() && mark.is_none() {
            return Ok(());
        }
        let rows = self.store().cases_by_ids(ids.clone()).await?;
        let events = self.store().events_of(ids).await?;
        let mut docs = Vec::with_capacity(rows.len());
        for (row, journal) in journals(&rows, &events) {
            let state = replay(journal)?;
            docs.push(doc(row, &state, journal));
        }
        tokio::task::spawn_blocking(move || {
            index.upsert(&docs)?;
            match mark {
                Some(m) => index.commit_with_high_water(m),
                None => index.commit(),
            }
        })
        .await
        .map_err(|e| AppError::Journal(e.to_string()))?
        .map_err(|e| AppError::Journal(format!("search index: {e}")))
    }

    /// Tells the indexer a case changed (no-op without a search index).
    pub(crate) fn reindex(&self, id: i64) {
        if let Some(s) = &self.search {
            let _ = s.inbox.send(IndexMsg::Case(id));
        }
    }

    /// Waits until everything written so far is searchable.
    pub async fn flush_search(&self) {
        if let Some(s) = &self.search {
            let (tx, rx) = oneshot::channel();
            if s.inbox.send(IndexMsg::Flush(tx)).is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// Rebuilds the index from the journal (every case).
    pub async fn rebuild_search(&self) -> Result<u64> {
        let Some(s) = &self.search else { return Ok(0) };
        let mut cursor = None;
        let mut n = 0u64;
        loop {
            let page = self
                .store()
                .list_cases(suqiu_store::CaseFilter {
                    before_id: cursor,
                    limit: 500,
                    ..Default::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.id);
            let ids: Vec<i64> = page.iter().map(|r| r.id).collect();
            n += ids.len() as u64;
            self.index_cases(s.index.clone(), ids, None).await?;
        }
        Ok(n)
    }

    /// The catch-up (run by the indexer task, so never concurrently with itself or the
    /// indexing of a write): every case the store changed at or after the index's
    /// high-water mark is indexed again from its journal, then the store's next mark is
    /// committed with the last documents. A crash at any point leaves the old mark, so
    /// the next start indexes those cases again (upserts are idempotent). Returns the
    /// number of cases indexed.
    async fn catch_up(&self, index: Arc<SearchIndex>) -> Result<u64> {
        let (ids, next) = self.store().cases_changed_since(index.high_water()).await?;
        let n = ids.len() as u64;
        let mut chunks: Vec<Vec<i64>> = ids.chunks(CATCH_UP_CHUNK).map(<[i64]>::to_vec).collect();
        let last = chunks.pop().unwrap_or_default();
        for chunk in chunks {
            self.index_cases(index.clone(), chunk, None).await?;
        }
        // nothing changed: the mark stays (a lower mark is always safe)
        if !last.is_empty() {
            self.index_cases(index, last, Some(next)).await?;
        }
        Ok(n)
    }

    /// Brings the index up to date with the store: indexes every case written since the
    /// index's high-water mark (after a crash: what the indexer never committed; with
    /// several instances: what the others wrote, since each instance keeps its own
    /// index). Returns the number of cases indexed (0 without a search index).
    pub async fn catch_up_search(&self) -> Result<u64> {
        let Some(s) = &self.search else { return Ok(0) };
        let (tx, rx) = oneshot::channel();
        s.inbox
            .send(IndexMsg::CatchUp(tx))
            .map_err(|_| AppError::Journal("the search indexer has stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Journal("the search indexer has stopped".into()))?
    }

    /// How many cases the search index has not caught up with yet (None
    /// without a search index): cases the store changed since its mark.
    pub async fn search_lag(&self) -> Result<Option<u64>> {
        let Some(s) = &self.search else {
            return Ok(None);
        };
        let (ids, _) = self
            .store()
            .cases_changed_since(s.index.high_water())
            .await?;
        Ok(Some(ids.len() as u64))
    }

    /// Runs [`catch_up_search`](Self::catch_up_search) now and then every `every`.
    pub fn spawn_search_catch_up(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                match app.catch_up_search().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(cases = n, "search index caught up with the journal"),
                    Err(e) => tracing::warn!(error = %e, "search catch-up failed"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Searches the cases the user may see.
    #[allow(clippy::too_many_arguments)]
    pub async fn search(
        &self,
        user: &StaffUser,
        text: &str,
        unit: Option<&str>,
        statuses: Vec<String>,
        from: Option<Millis>,
        to: Option<Millis>,
        limit: usize,
        offset: usize,
    ) -> Result<(u64, Vec<SearchHit>)> {
        let s = self.search.clone().ok_or(AppError::SearchUnavailable)?;
        let subtree = match unit {
            Some(code) => Some(
                self.org()
                    .path(code)
                    .ok_or_else(|| AppError::UnknownUnit(code.to_string()))?
                    .to_string(),
            ),
            None => None,
        };
        // the visibility rule of the case lists (`App::list_cases`), applied inside the
        // index so that the total counts only what the user may see
        let v = user.visibility();
        let q = Query {
            text: text.to_string(),
            scopes: v.scopes,
            involved_unit: v.involved_unit,
            viewer_paths: v.viewer_paths,
            viewer_login: v.viewer_login,
            subtree,
            statuses,
            from,
            to,
            limit,
            offset,
        };
        let index = s.index.clone();
        let result = tokio::task::spawn_blocking(move || index.search(&q))
            .await
            .map_err(|e| AppError::Journal(e.to_string()))?
            .map_err(AppError::Search)?;
        let ids: Vec<i64> = result.hits.iter().map(|h| h.id).collect();
        let rows = self.store().cases_by_ids(ids).await?;
        let mut hits = Vec::new();
        for h in result.hits {
            // checked again on the stored row (the index may lag behind a write)
            if let Some(row) = rows.iter().find(|r| r.id == h.id && !user.accused_in(r)) {
                hits.push(SearchHit {
                    row: row.clone(),
                    score: h.score,
                    title_snippet: h.title_snippet,
                    content_snippet: h.content_snippet,
                });
            }
        }
        Ok((result.total as u64, hits))
    }
}
