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
}

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
        let app = self.clone();
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
                for m in batch {
                    match m {
                        IndexMsg::Case(id) => ids.push(id),
                        IndexMsg::Flush(done) => flushes.push(done),
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                if let Err(e) = app.index_cases(index.clone(), ids).await {
                    tracing::warn!(error = %e, "search indexing failed");
                }
                for f in flushes {
                    let _ = f.send(());
                }
            }
        });
        self
    }

    async fn index_cases(&self, index: Arc<SearchIndex>, ids: Vec<i64>) -> Result<()> {
        if ids.is_empty() {
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
            index.commit()
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
            self.index_cases(s.index.clone(), ids).await?;
        }
        Ok(n)
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
        let involved_unit = (user.role == suqiu_domain::Role::DepartmentHandler
            || user.scope_paths.is_some())
        .then(|| user.unit.clone());
        let q = Query {
            text: text.to_string(),
            scopes: user.scope_paths.clone(),
            involved_unit,
            viewer_paths: user.viewer_paths.clone(),
            viewer_login: Some(user.login.clone()),
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
