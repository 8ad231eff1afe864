//! Related cases at intake (关联件) and merging duplicates (合并).
//!
//! The related-case index ([`suqiu_text::RelatedIndex`]: MinHash signatures of the text,
//! the reporter, the place and a time window) lives in memory. It is built from the store
//! at start ([`App::with_related`]): the signature of each case is read from
//! `case_signatures`, or computed from the case's `received` event and stored there
//! when missing (derived data, like the search index). Every case filed afterwards is
//! looked up and added as it arrives ([`App::file_case`]).
//!
//! The reporter key is the reporter's phone number; the place key is the village or
//! community the case was filed in (so a grid and its neighbour grids are one place).
//!
//! When a new case finds related cases, both sides get a `related_linked` event in one
//! transaction (at most [`LINK_LIMIT`] links, best first, never to a merged duplicate).
//! Triage staff merge a duplicate into its primary ([`App::merge`]): the duplicate's
//! `merged` event closes it (its deadlines end, its resident is told) and the primary's
//! `duplicate_merged` event records it, both in one transaction; both journals stay.

use crate::cases::{journals, replay, CaseView};
use crate::{App, AppError, Result, StaffUser};
use std::sync::{Arc, RwLock};
use suqiu_domain::case::{self, Actor, Event, Intake, Millis, RelatedLink};
use suqiu_domain::workflow::{self, Command, MergeTarget};
use suqiu_store::{CaseRef, CaseRow};
pub use suqiu_text::RelatedConfig;
use suqiu_text::{signature, CaseMeta, RelatedIndex, RelatedReason, Sig};

/// Most related cases linked to a new case.
pub const LINK_LIMIT: usize = 5;
/// Cases read per page when the index is built.
const PAGE: u32 = 5_000;
/// Attempts at writing the links when a related case changed meanwhile.
const LINK_ATTEMPTS: usize = 8;

/// The in-memory related-case index, shared by clones of the app.
#[derive(Clone)]
pub struct Related {
    index: Arc<RwLock<RelatedIndex>>,
}

impl Related {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, RelatedIndex> {
        match self.index.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RelatedIndex> {
        match self.index.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Number of indexed cases.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no case is indexed.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

/// A related case as staff see it.
#[derive(Debug, Clone)]
pub struct RelatedCase {
    pub link: RelatedLink,
    pub row: CaseRow,
    /// Set when that case was merged into another.
    pub merged_into: Option<i64>,
}

/// The stable name of a reason (as stored in `related_linked` events and shown by the API).
pub fn reason_name(r: RelatedReason) -> &'static str {
    match r {
        RelatedReason::SameReporter => "same_reporter",
        RelatedReason::SamePlaceSameProblem => "same_place_same_problem",
        RelatedReason::SimilarText => "similar_text",
    }
}

/// The text a case is compared by: title and content.
pub fn case_text(intake: &Intake) -> String {
    format!("{}\n{}", intake.title, intake.content)
}

impl App {
    /// The related-case key of a place: its village or community (or the place itself
    /// when it is not under one).
    fn place_key(&self, place_unit: &str) -> Option<String> {
        if place_unit.is_empty() {
            return None;
        }
        let org = self.org();
        Some(
            org.triage_unit(place_unit)
                .map_or_else(|| place_unit.to_string(), |u| u.code.clone()),
        )
    }

    fn case_meta(&self, id: i64, received_at: Millis, phone: &str, place_unit: &str) -> CaseMeta {
        CaseMeta {
            id,
            time_ms: received_at,
            reporter_key: (!phone.trim().is_empty()).then(|| phone.trim().to_string()),
            place_key: self.place_key(place_unit),
        }
    }

    /// Attaches a related-case index with `config`, built from the store (see the
    /// module documentation).
    pub async fn with_related(mut self, config: RelatedConfig) -> Result<App> {
        let related = Related {
            index: Arc::new(RwLock::new(RelatedIndex::new(config.clone()))),
        };
        self.related = Some(related.clone());
        let index = self.build_related_index(config).await?;
        *related.write() = index;
        Ok(self)
    }

    /// The related-case index, if attached.
    pub fn related_index(&self) -> Option<&Related> {
        self.related.as_ref()
    }

    /// Reads every case's signature (computing and storing the missing ones from the
    /// journal) and builds an index.
    async fn build_related_index(&self, config: RelatedConfig) -> Result<RelatedIndex> {
        let mut all: Vec<(CaseMeta, Sig)> = Vec::new();
        let mut after = 0i64;
        loop {
            let rows = self.store().case_signatures(after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.case_id;
            let mut missing: Vec<i64> = Vec::new();
            for r in &rows {
                let meta =
                    self.case_meta(r.case_id, r.received_at, &r.reporter_phone, &r.place_unit);
                match r.sig.as_deref().map(Sig::from_bytes) {
                    Some(Ok(sig)) => all.push((meta, sig)),
                    // absent, or of an older format: computed again
                    _ => missing.push(r.case_id),
                }
            }
            if !missing.is_empty() {
                let events = self.store().events_of(missing).await?;
                let mut computed = Vec::new();
                for e in events.iter().filter(|e| e.seq == 1) {
                    let (Event::Received(intake), Some(r)) =
                        (&e.event, rows.iter().find(|r| r.case_id == e.case_id))
                    else {
                        continue;
                    };
                    let sig = signature(&case_text(intake));
                    computed.push((e.case_id, sig.to_bytes()));
                    let meta =
                        self.case_meta(r.case_id, r.received_at, &r.reporter_phone, &r.place_unit);
                    all.push((meta, sig));
                }
                self.store().put_case_signatures(computed).await?;
            }
        }
        tokio::task::spawn_blocking(move || {
            let mut index = RelatedIndex::new(config);
            index.extend_signed(all);
            index
        })
        .await
        .map_err(|e| AppError::Journal(e.to_string()))
    }

    /// After intake: looks the new case up, adds it to the index and links it with
    /// the related cases found (both sides journalled in one transaction). A failure
    /// to link is logged, never fails the intake (the case is on disk already).
    pub(crate) async fn link_related(&self, id: i64, intake: &Intake, received_at: Millis) {
        let Some(related) = &self.related else { return };
        let meta = self.case_meta(id, received_at, &intake.reporter.phone, &intake.place_unit);
        let sig = signature(&case_text(intake));
        let found = related.read().related_signed(&meta, &sig, LINK_LIMIT * 4);
        related.write().add_signed(&meta, &sig);
        if found.is_empty() {
            return;
        }
        for attempt in 1..=LINK_ATTEMPTS {
            match self.write_links(id, &found).await {
                Err(AppError::Conflict { .. }) if attempt < LINK_ATTEMPTS => {
                    // another write to one of the cases won: read again after a
                    // short random pause, so a burst of similar filings spreads out
                    let pause = rand::random::<u64>() % (10 * attempt as u64) + 1;
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                Err(e) => {
                    tracing::warn!(case = id, error = %e, "linking related cases failed");
                    return;
                }
                Ok(()) => return,
            }
        }
    }

    /// Adds stored cases to the index without linking them (a ledger import: cases of
    /// the past, filed as they were).
    pub(crate) async fn add_to_related(&self, ids: Vec<i64>) -> Result<()> {
        let Some(related) = &self.related else {
            return Ok(());
        };
        let rows = self.store().cases_by_ids(ids.clone()).await?;
        let events = self.store().events_of(ids).await?;
        let mut signed = Vec::with_capacity(rows.len());
        for (row, journal) in journals(&rows, &events) {
            if let Some(Event::Received(intake)) = journal.first().map(|e| &e.event) {
                let meta = self.case_meta(
                    row.id,
                    row.received_at,
                    &row.reporter_phone,
                    &row.place_unit,
                );
                signed.push((meta, signature(&case_text(intake))));
            }
        }
        let mut index = related.write();
        for (meta, sig) in &signed {
            index.add_signed(meta, sig);
        }
        Ok(())
    }

    async fn write_links(&self, id: i64, found: &[suqiu_text::Related]) -> Result<()> {
        let ids: Vec<i64> = found.iter().map(|r| r.id).collect();
        let rows = self.store().cases_by_ids(ids.clone()).await?;
        let events = self.store().events_of(ids).await?;
        let mut others: Vec<(CaseView, &suqiu_text::Related)> = Vec::new();
        for (row, journal) in journals(&rows, &events) {
            let state = replay(journal)?;
            if state.merged_into.is_some() {
                continue;
            }
            if let Some(f) = found.iter().find(|f| f.id == row.id) {
                let view = CaseView {
                    row: row.clone(),
                    state,
                    events: journal.to_vec(),
                };
                others.push((view, f));
            }
        }
        others.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.1.id.cmp(&b.1.id)));
        others.truncate(LINK_LIMIT);
        if others.is_empty() {
            return Ok(());
        }
        let new = self.load(id).await?;
        let now = self.now();
        let link = |case_id: i64, f: &suqiu_text::Related| Event::RelatedLinked {
            case_id,
            reason: reason_name(f.reason).to_string(),
            score: (f.score.clamp(0.0, 1.0) * 1000.0).round() as u16,
        };
        let mut writes = Vec::with_capacity(others.len() + 1);
        let mine: Vec<Event> = others
            .iter()
            .filter(|(v, _)| !new.state.related.iter().any(|r| r.case_id == v.row.id))
            .map(|(v, f)| link(v.row.id, f))
            .collect();
        if !mine.is_empty() {
            writes.push(self.append_write(&new, &Actor::System, mine, "case.related", now)?);
        }
        for (v, f) in &others {
            if v.state.related.iter().any(|r| r.case_id == id) {
                continue;
            }
            writes.push(self.append_write(
                v,
                &Actor::System,
                vec![link(id, f)],
                "case.related",
                now,
            )?);
        }
        if writes.is_empty() {
            return Ok(());
        }
        let refs = self.store().write_cases(writes).await?;
        for r in refs {
            self.reindex(r.id);
        }
        Ok(())
    }

    /// The cases linked as related to a case the user may see: those the user may see
    /// too, best first.
    pub async fn related_cases(&self, user: &StaffUser, id: i64) -> Result<Vec<RelatedCase>> {
        let view = self.visible_case(user, id).await?;
        let mut links = view.state.related.clone();
        links.sort_by(|a, b| b.score.cmp(&a.score).then(a.case_id.cmp(&b.case_id)));
        let ids: Vec<i64> = links.iter().map(|l| l.case_id).collect();
        let visible = self.visible_cases(user, ids).await?;
        Ok(links
            .into_iter()
            .filter_map(|link| {
                let (row, state) = visible.iter().find(|(r, _)| r.id == link.case_id)?;
                Some(RelatedCase {
                    link,
                    row: row.clone(),
                    merged_into: state.merged_into,
                })
            })
            .collect())
    }

    /// 合并: merges the duplicate `id` into the primary `into` (see the module
    /// documentation). `expected_version`, when given, is the duplicate's version read.
    pub async fn merge(
        &self,
        user: &StaffUser,
        id: i64,
        into: i64,
        reason: &str,
        expected_version: Option<u64>,
    ) -> Result<CaseRef> {
        let dup = self.visible_case(user, id).await?;
        if let Some(v) = expected_version {
            if v != dup.state.version {
                return Err(AppError::Conflict { expected: v });
            }
        }
        let primary = match self.load(into).await {
            Ok(p) => Some(p),
            Err(AppError::CaseNotFound) => None,
            Err(e) => return Err(e),
        };
        let target = MergeTarget {
            duplicate: id,
            id: into,
            status: primary
                .as_ref()
                .map_or(case::Status::Closed, |p| p.state.status),
            merged_into: primary.as_ref().and_then(|p| p.state.merged_into),
            // a case that does not exist is refused like one outside the user's units
            visible: primary
                .as_ref()
                .is_some_and(|p| user.may_open(&p.row, &p.state)),
        };
        let now = self.now();
        let cmd = Command::Merge {
            primary: target,
            reason: reason.to_string(),
        };
        let dup_events = self.decide(&dup.state, &cmd, &user.who(), now)?;
        let primary = primary.ok_or(AppError::CaseNotFound)?;
        let primary_events = workflow::absorb_duplicate(&primary.state, into, id, reason)?;
        let actor = user.actor();
        let mut dup_write = self.append_write(&dup, &actor, dup_events, "case.merge", now)?;
        let mut primary_write = self.append_write(
            &primary,
            &actor,
            primary_events,
            "case.duplicate_merged",
            now,
        )?;
        for (w, target) in [(&mut dup_write, into), (&mut primary_write, id)] {
            if let Some(a) = w.audit.as_mut() {
                a.reason = reason.to_string();
                a.detail = serde_json::json!({ "other_case": target }).to_string();
            }
        }
        let refs = self
            .store()
            .write_cases(vec![dup_write, primary_write])
            .await?;
        if let Some(r) = &self.related {
            // later cases link to the primary, not to the merged duplicate
            r.write().remove(id);
        }
        self.reindex(id);
        self.reindex(into);
        refs.into_iter()
            .next()
            .ok_or_else(|| AppError::Journal("merge wrote no case".into()))
    }
}
