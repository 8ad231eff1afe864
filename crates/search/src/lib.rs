//! Full-text search over cases for staff (title, content, replies and notes).
//!
//! One [tantivy] index holds one document per case. Text is indexed twice: as jieba
//! words (good ranking for real words) and as overlapping character bigrams (finds
//! sub-words jieba segmented differently, e.g. `扰民` inside `噪音扰民严重`). A query is
//! the AND of its terms; each term matches through either analyzer; results are ranked
//! by BM25 (title matches weigh double) with ties broken by case id, newest id first.
//! Filters — unit subtree(s), statuses, received-time range — never affect scores.
//!
//! See `crates/search/README.md` for the design and the measured numbers.

mod analyze;
pub mod corpus;
mod normalize;
mod snippet;

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query as TQuery, RangeQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};

pub use normalize::normalize;

use analyze::{BigramTokenizer, QueryTerm, WordTokenizer, BIGRAMS, WORDS};

/// Largest `limit` accepted by [`SearchIndex::search`].
pub const MAX_LIMIT: usize = 100;
/// Largest `offset + limit` accepted by [`SearchIndex::search`] (deep paging is refused).
pub const MAX_WINDOW: usize = 10_000;
/// Longest query text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most terms a query may have.
pub const MAX_TERMS: usize = 16;
/// Score multiplier of matches in the title.
const TITLE_BOOST: f32 = 2.0;
/// Snippet lengths in characters.
const TITLE_SNIPPET_CHARS: usize = 80;
const CONTENT_SNIPPET_CHARS: usize = 120;

/// Field names (also the on-disk schema; changing them needs a rebuild).
const F_ID: &str = "id";
const F_UNIT: &str = "unit_prefixes";
const F_STATUS: &str = "status";
const F_RECEIVED: &str = "received_at";
const F_TITLE_W: &str = "title_words";
const F_TITLE_B: &str = "title_bigrams";
const F_BODY_W: &str = "body_words";
const F_BODY_B: &str = "body_bigrams";
const F_TITLE: &str = "title";
const F_CONTENT: &str = "content";
const F_INVOLVED: &str = "involved_units";
const F_ACCUSED_PATH: &str = "accused_path";
const F_ACCUSED_LOGIN: &str = "accused_login";

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text has no letter or digit (empty, blank or only punctuation).
    #[error("the query has no searchable term")]
    EmptyQuery,
    /// The query text is longer than [`MAX_QUERY_CHARS`] or has more than [`MAX_TERMS`] terms.
    #[error("the query is too long")]
    QueryTooLong,
    /// `limit` is 0 or above [`MAX_LIMIT`], or `offset + limit` is above [`MAX_WINDOW`].
    #[error("invalid paging: limit must be 1..={MAX_LIMIT} and offset + limit <= {MAX_WINDOW}")]
    InvalidPaging,
    /// The index on disk was built with another schema: delete the directory and rebuild.
    #[error("the index on disk has another schema; rebuild it")]
    SchemaMismatch,
    /// A thread panicked while holding the writer.
    #[error("the index writer is poisoned")]
    Poisoned,
    /// An error of the search engine or of the file system under it.
    #[error("search engine: {0}")]
    Engine(#[from] tantivy::TantivyError),
}

/// One case as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDoc {
    /// Case id; the key for [`SearchIndex::upsert`] and [`SearchIndex::delete`].
    pub id: i64,
    /// Materialised unit path, e.g. `/430799/430799001/430799001002/`.
    pub unit_path: String,
    /// Status, matched exactly by [`Query::statuses`].
    pub status: String,
    /// Time received, milliseconds since the Unix epoch.
    pub received_at: i64,
    /// Title (searched, weighs double, stored for snippets).
    pub title: String,
    /// Content (searched, stored for snippets).
    pub content: String,
    /// Replies, notes and other searchable text (searched, not stored).
    pub extra: Vec<String>,
    /// Units the case was dispatched to (they see it, wherever it was filed).
    #[serde(default)]
    pub involved: Vec<String>,
    /// For an accusation (检举控告): the accused unit's path; hidden from everyone whose
    /// own unit path starts with it.
    #[serde(default)]
    pub accused_path: Option<String>,
    /// For an accusation: the accused person's login; hidden from that person.
    #[serde(default)]
    pub accused_login: Option<String>,
}

/// A search request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// What the user typed. Split into terms at anything that is not a letter or a digit
    /// (full-width forms folded, case folded); all terms must match (AND). No operators
    /// or syntax: quotes, `+`, `AND`, `*` … are separators or plain words.
    pub text: String,
    /// Unit paths the caller may see (OR). `None`: everything; `Some(vec![])`: nothing.
    /// A path matches itself and its descendants, by whole path components (`/D/S1/`
    /// does not match `/D/S10/`); a missing leading or trailing `/` is added.
    pub scopes: Option<Vec<String>>,
    /// A unit whose dispatched cases are visible too (OR with `scopes`; the same rule as
    /// the case lists). Ignored when `scopes` is `None`.
    #[serde(default)]
    pub involved_unit: Option<String>,
    /// The caller's own unit paths (unit and linked units): accusations against a unit
    /// containing one of them are never found.
    #[serde(default)]
    pub viewer_paths: Vec<String>,
    /// The caller's login: accusations against this person are never found.
    #[serde(default)]
    pub viewer_login: Option<String>,
    /// An additional subtree the results must lie in (AND with `scopes`).
    pub subtree: Option<String>,
    /// Statuses to keep (OR); empty: any status.
    pub statuses: Vec<String>,
    /// Received at or after (ms, inclusive).
    pub from: Option<i64>,
    /// Received before (ms, exclusive).
    pub to: Option<i64>,
    /// Page size, 1..=[`MAX_LIMIT`].
    pub limit: usize,
    /// Hits to skip; `offset + limit` ≤ [`MAX_WINDOW`].
    pub offset: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Case id.
    pub id: i64,
    /// BM25 score (higher is better); comparable only within one result.
    pub score: f32,
    /// HTML-escaped title with `<mark>…</mark>` around matches (at most 80 characters
    /// plus `…` where cut).
    pub title_snippet: String,
    /// HTML-escaped window of the content (at most 120 characters plus `…`) around the
    /// densest matches, or its beginning when the match was elsewhere (e.g. in a note).
    pub content_snippet: String,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Number of cases matching the query and filters (exact).
    pub total: usize,
    /// The requested page, best first; equal scores: higher case id first.
    pub hits: Vec<Hit>,
}

/// Tuning of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexOptions {
    /// Memory of the writer (split between its threads, at least 15 MB each); a
    /// segment is written when it is full.
    pub writer_memory_bytes: usize,
    /// Indexing threads.
    pub writer_threads: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            writer_memory_bytes: 64 << 20,
            writer_threads: 1,
        }
    }
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    unit: Field,
    status: Field,
    received: Field,
    title_w: Field,
    title_b: Field,
    body_w: Field,
    body_b: Field,
    title: Field,
    content: Field,
    involved: Field,
    accused_path: Field,
    accused_login: Field,
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    let num = NumericOptions::default().set_indexed().set_fast();
    b.add_i64_field(F_ID, num.clone());
    b.add_text_field(F_UNIT, STRING);
    b.add_text_field(F_STATUS, STRING);
    b.add_i64_field(F_RECEIVED, num);
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    b.add_text_field(F_TITLE_W, text(WORDS));
    b.add_text_field(F_TITLE_B, text(BIGRAMS));
    b.add_text_field(F_BODY_W, text(WORDS));
    b.add_text_field(F_BODY_B, text(BIGRAMS));
    b.add_text_field(F_TITLE, TextOptions::default().set_stored());
    b.add_text_field(F_CONTENT, TextOptions::default().set_stored());
    b.add_text_field(F_INVOLVED, STRING);
    b.add_text_field(F_ACCUSED_PATH, STRING);
    b.add_text_field(F_ACCUSED_LOGIN, STRING);
    b.build()
}

impl Fields {
    fn of(schema: &Schema) -> Result<Fields, SearchError> {
        let f = |name: &str| {
            schema
                .get_field(name)
                .map_err(|_| SearchError::SchemaMismatch)
        };
        Ok(Fields {
            id: f(F_ID)?,
            unit: f(F_UNIT)?,
            status: f(F_STATUS)?,
            received: f(F_RECEIVED)?,
            title_w: f(F_TITLE_W)?,
            title_b: f(F_TITLE_B)?,
            body_w: f(F_BODY_W)?,
            body_b: f(F_BODY_B)?,
            title: f(F_TITLE)?,
            content: f(F_CONTENT)?,
            involved: f(F_INVOLVED)?,
            accused_path: f(F_ACCUSED_PATH)?,
            accused_login: f(F_ACCUSED_LOGIN)?,
        })
    }
}

/// The case search index: one writer (behind a mutex) and a reader that sees what was
/// committed. Writes ([`upsert`](Self::upsert), [`delete`](Self::delete)) are batched in
/// the writer and become visible to searches at [`commit`](Self::commit).
///
/// One `SearchIndex` per directory: tantivy locks the directory for the writer, so a
/// second open of the same directory fails until the first is dropped.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// The committed high-water mark (see [`SearchIndex::high_water`]); changed only
    /// while the writer is held, in the commit that makes it durable.
    high_water: Mutex<i64>,
    fields: Fields,
    jieba: Arc<Jieba>,
}

/// How the high-water mark is kept in tantivy's commit payload.
const HIGH_WATER_PAYLOAD: &str = "suqiu-high-water:";

fn parse_high_water(payload: Option<&str>) -> i64 {
    payload
        .and_then(|p| p.strip_prefix(HIGH_WATER_PAYLOAD))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if absent.
    /// Fails with [`SearchError::SchemaMismatch`] if it was built with another schema.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        Self::open_with(dir, IndexOptions::default())
    }

    /// [`open`](Self::open) with writer options.
    pub fn open_with(dir: &Path, options: IndexOptions) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            SearchError::Engine(tantivy::TantivyError::InvalidArgument(format!(
                "cannot create {}: {e}",
                dir.display()
            )))
        })?;
        let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
        let exists = Index::exists(&directory).map_err(tantivy::TantivyError::from)?;
        let index = if exists {
            let index = Index::open(directory)?;
            if index.schema() != schema() {
                return Err(SearchError::SchemaMismatch);
            }
            index
        } else {
            Index::create(directory, schema(), IndexSettings::default())?
        };
        Self::from_index(index, options)
    }

    /// A new empty index in memory (tests, tools).
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        Self::from_index(Index::create_in_ram(schema()), IndexOptions::default())
    }

    fn from_index(index: Index, options: IndexOptions) -> Result<SearchIndex, SearchError> {
        let jieba = Arc::new(Jieba::new());
        index.tokenizers().register(
            WORDS,
            TextAnalyzer::builder(WordTokenizer::new(jieba.clone())).build(),
        );
        index
            .tokenizers()
            .register(BIGRAMS, TextAnalyzer::builder(BigramTokenizer).build());
        let fields = Fields::of(&index.schema())?;
        let threads = options.writer_threads.max(1);
        let memory = options.writer_memory_bytes.max(threads * (16 << 20));
        let writer = index.writer_with_num_threads(threads, memory)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let high_water = parse_high_water(index.load_metas()?.payload.as_deref());
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            high_water: Mutex::new(high_water),
            fields,
            jieba,
        })
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, SearchError> {
        self.writer.lock().map_err(|_| SearchError::Poisoned)
    }

    fn to_document(&self, case: &CaseDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.id, case.id);
        for prefix in unit_prefixes(&case.unit_path) {
            doc.add_text(f.unit, prefix);
        }
        doc.add_text(f.status, &case.status);
        doc.add_i64(f.received, case.received_at);
        doc.add_text(f.title_w, &case.title);
        doc.add_text(f.title_b, &case.title);
        doc.add_text(f.body_w, &case.content);
        doc.add_text(f.body_b, &case.content);
        for text in &case.extra {
            doc.add_text(f.body_w, text);
            doc.add_text(f.body_b, text);
        }
        doc.add_text(f.title, &case.title);
        doc.add_text(f.content, &case.content);
        for unit in &case.involved {
            doc.add_text(f.involved, unit);
        }
        if let Some(p) = &case.accused_path {
            doc.add_text(f.accused_path, unit_key(p));
        }
        if let Some(l) = &case.accused_login {
            doc.add_text(f.accused_login, l);
        }
        doc
    }

    /// Adds cases, replacing any indexed case with the same id (the last one wins when
    /// an id repeats). Visible after [`commit`](Self::commit).
    pub fn upsert(&self, cases: &[CaseDoc]) -> Result<(), SearchError> {
        let docs: Vec<(i64, TantivyDocument)> =
            cases.iter().map(|c| (c.id, self.to_document(c))).collect();
        let writer = self.writer()?;
        for (id, doc) in docs {
            writer.delete_term(Term::from_field_i64(self.fields.id, id));
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Removes a case (no error if absent). Visible after [`commit`](Self::commit).
    pub fn delete(&self, id: i64) -> Result<(), SearchError> {
        self.writer()?
            .delete_term(Term::from_field_i64(self.fields.id, id));
        Ok(())
    }

    /// Makes pending writes durable and visible to [`search`](Self::search). The
    /// high-water mark stays what it was.
    pub fn commit(&self) -> Result<(), SearchError> {
        self.commit_inner(None)
    }

    /// Like [`commit`](Self::commit), and records `mark` as the high-water mark in the
    /// same commit (tantivy's commit payload): the mark becomes durable exactly when the
    /// documents written before it do, never before. A mark below the current one is
    /// kept as given (lowering is always safe).
    pub fn commit_with_high_water(&self, mark: i64) -> Result<(), SearchError> {
        self.commit_inner(Some(mark))
    }

    fn commit_inner(&self, mark: Option<i64>) -> Result<(), SearchError> {
        let mut writer = self.writer()?;
        let mut current = self.high_water.lock().map_err(|_| SearchError::Poisoned)?;
        let next = mark.unwrap_or(*current);
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{HIGH_WATER_PAYLOAD}{next}"));
        prepared.commit()?;
        *current = next;
        drop(current);
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// The high-water mark of the last commit (0 for a new index): an opaque position
    /// of the source of the documents, given by the caller of
    /// [`commit_with_high_water`](Self::commit_with_high_water); everything written to
    /// the source before that position is in the committed index. Survives a crash with
    /// the commit it belongs to; after a crash the caller re-indexes what the source
    /// changed from this mark on.
    pub fn high_water(&self) -> i64 {
        self.high_water.lock().map(|m| *m).unwrap_or(0)
    }

    /// Replaces the whole content with `cases` and commits: searches see the old
    /// content until the new one is complete. Pending uncommitted writes are discarded.
    /// The high-water mark is reset to 0 (the content no longer follows it).
    /// Returns the number of cases indexed.
    pub fn rebuild<I>(&self, cases: I) -> Result<u64, SearchError>
    where
        I: IntoIterator<Item = CaseDoc>,
    {
        let mut writer = self.writer()?;
        writer.rollback()?;
        writer.delete_all_documents()?;
        let mut n = 0;
        for case in cases {
            writer.add_document(self.to_document(&case))?;
            n += 1;
        }
        let mut current = self.high_water.lock().map_err(|_| SearchError::Poisoned)?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{HIGH_WATER_PAYLOAD}0"));
        prepared.commit()?;
        *current = 0;
        drop(current);
        drop(writer);
        self.reader.reload()?;
        Ok(n)
    }

    /// Merges all segments into one (after a bulk load: fewer segments, faster
    /// queries, deleted documents purged). Blocks until done.
    pub fn compact(&self) -> Result<(), SearchError> {
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            let mut writer = self.writer()?;
            writer.merge(&ids).wait()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Number of searchable (committed, not deleted) cases.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Number of segments of the committed index (diagnostics).
    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Searches committed cases. Errors: [`SearchError::EmptyQuery`] when the text has no
    /// term (an empty text is not "list everything": use the case lists for that),
    /// [`SearchError::QueryTooLong`], [`SearchError::InvalidPaging`]. Never a syntax
    /// error: the text has no syntax.
    pub fn search(&self, query: &Query) -> Result<SearchResult, SearchError> {
        if query.limit == 0
            || query.limit > MAX_LIMIT
            || query.offset.saturating_add(query.limit) > MAX_WINDOW
        {
            return Err(SearchError::InvalidPaging);
        }
        if query.text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::QueryTooLong);
        }
        let terms = analyze::query_terms(&self.jieba, &query.text);
        if terms.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        if terms.len() > MAX_TERMS {
            return Err(SearchError::QueryTooLong);
        }
        let empty = SearchResult {
            total: 0,
            hits: Vec::new(),
        };
        let Some(tquery) = self.build_query(&terms, query) else {
            return Ok(empty);
        };

        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(query.limit)
            .and_offset(query.offset)
            .order_by((
                SortBySimilarityScore,
                SortByStaticFastValue::<i64>::for_field(F_ID),
            ));
        let (docs, total) = searcher.search(&tquery, &(top, Count))?;

        let needles = needles(&terms);
        let mut hits = Vec::with_capacity(docs.len());
        for ((score, id), address) in docs {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            hits.push(Hit {
                id: id.unwrap_or_default(),
                score,
                title_snippet: snippet::highlight(
                    &text(self.fields.title),
                    &needles,
                    TITLE_SNIPPET_CHARS,
                ),
                content_snippet: snippet::highlight(
                    &text(self.fields.content),
                    &needles,
                    CONTENT_SNIPPET_CHARS,
                ),
            });
        }
        Ok(SearchResult { total, hits })
    }

    /// The tantivy query, or `None` when the filters exclude everything.
    fn build_query(&self, terms: &[QueryTerm], query: &Query) -> Option<Box<dyn TQuery>> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        for term in terms {
            clauses.push((Occur::Must, self.term_query(term)));
        }
        if let Some(scopes) = &query.scopes {
            let mut visible: Vec<Box<dyn TQuery>> = scopes
                .iter()
                .map(|s| raw_term(f.unit, &unit_key(s)))
                .collect();
            if let Some(u) = &query.involved_unit {
                visible.push(raw_term(f.involved, u));
            }
            clauses.push((Occur::Must, filter(any_of(visible)?)));
        }
        // an accusation is never found by the accused unit's subtree or the accused
        // person: exclude every accused path that is a prefix of a viewer path
        for p in &query.viewer_paths {
            for prefix in unit_prefixes(p) {
                clauses.push((Occur::MustNot, raw_term(f.accused_path, &prefix)));
            }
        }
        if let Some(l) = &query.viewer_login {
            clauses.push((Occur::MustNot, raw_term(f.accused_login, l)));
        }
        if let Some(subtree) = &query.subtree {
            clauses.push((Occur::Must, filter(raw_term(f.unit, &unit_key(subtree)))));
        }
        if !query.statuses.is_empty() {
            let statuses = query
                .statuses
                .iter()
                .map(|s| raw_term(f.status, s))
                .collect();
            clauses.push((Occur::Must, filter(any_of(statuses)?)));
        }
        if query.from.is_some() || query.to.is_some() {
            if let (Some(from), Some(to)) = (query.from, query.to) {
                if from >= to {
                    return None;
                }
            }
            let bound = |v: Option<i64>, inclusive: bool| match v {
                None => Bound::Unbounded,
                Some(v) if inclusive => Bound::Included(Term::from_field_i64(f.received, v)),
                Some(v) => Bound::Excluded(Term::from_field_i64(f.received, v)),
            };
            let range = RangeQuery::new(bound(query.from, true), bound(query.to, false));
            clauses.push((Occur::Must, filter(Box::new(range))));
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// One query term: (all its words) OR (all its bigrams), each token in the title
    /// (boosted) or the body.
    fn term_query(&self, term: &QueryTerm) -> Box<dyn TQuery> {
        let f = &self.fields;
        let across = |title: Field, body: Field, token: &str, prefix: bool| {
            let q = |field: Field| -> Box<dyn TQuery> {
                if prefix {
                    prefix_query(field, token)
                } else {
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, token),
                        IndexRecordOption::WithFreqs,
                    ))
                }
            };
            vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(q(title), TITLE_BOOST)) as Box<dyn TQuery>,
                ),
                (Occur::Should, q(body)),
            ]
        };
        let single = term.is_single_cjk();
        // The common case (one word that is also one bigram, or one latin/digit run):
        // one flat disjunction of plain term queries, which tantivy scores with
        // block-max WAND.
        if let ([w], [b]) = (term.words.as_slice(), term.bigrams.as_slice()) {
            if !single {
                let mut flat = across(f.title_w, f.body_w, w, false);
                flat.extend(across(f.title_b, f.body_b, b, false));
                return Box::new(BooleanQuery::new(flat));
            }
        }
        let all = |title: Field, body: Field, tokens: &[String], prefix: bool| {
            let musts: Vec<(Occur, Box<dyn TQuery>)> = tokens
                .iter()
                .map(|t| {
                    let q: Box<dyn TQuery> =
                        Box::new(BooleanQuery::new(across(title, body, t, prefix)));
                    (Occur::Must, q)
                })
                .collect();
            Box::new(BooleanQuery::new(musts)) as Box<dyn TQuery>
        };
        let mut either: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        if !term.words.is_empty() {
            either.push((Occur::Should, all(f.title_w, f.body_w, &term.words, false)));
        }
        if !term.bigrams.is_empty() {
            either.push((
                Occur::Should,
                all(f.title_b, f.body_b, &term.bigrams, single),
            ));
        }
        Box::new(BooleanQuery::new(either))
    }
}

/// Terms starting with `prefix` (a one-character query against the bigram fields).
fn prefix_query(field: Field, prefix: &str) -> Box<dyn TQuery> {
    let mut upper = prefix.to_string();
    match upper.pop().and_then(|c| char::from_u32(c as u32 + 1)) {
        Some(next) => upper.push(next),
        None => return Box::new(tantivy::query::EmptyQuery),
    }
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_text(field, prefix)),
        Bound::Excluded(Term::from_field_text(field, &upper)),
    ))
}

fn raw_term(field: Field, value: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// OR of the queries; `None` if there are none (nothing can match).
fn any_of(queries: Vec<Box<dyn TQuery>>) -> Option<Box<dyn TQuery>> {
    if queries.is_empty() {
        return None;
    }
    Some(Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    )))
}

/// A clause that restricts without scoring.
fn filter(query: Box<dyn TQuery>) -> Box<dyn TQuery> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// A unit path in canonical form: `/a/b/` (components joined, one `/` around).
fn unit_key(path: &str) -> String {
    let mut key = String::from("/");
    for part in path.split('/').filter(|p| !p.is_empty()) {
        key.push_str(part);
        key.push('/');
    }
    key
}

/// `/`, `/a/`, `/a/b/` … for `/a/b/`: what a scope filter looks up.
fn unit_prefixes(path: &str) -> Vec<String> {
    let mut out = vec![String::from("/")];
    let mut key = String::from("/");
    for part in path.split('/').filter(|p| !p.is_empty()) {
        key.push_str(part);
        key.push('/');
        out.push(key.clone());
    }
    out
}

/// What to highlight: each term and its words.
fn needles(terms: &[QueryTerm]) -> Vec<Vec<char>> {
    let mut out: Vec<Vec<char>> = Vec::new();
    for term in terms {
        for n in std::iter::once(&term.text).chain(term.words.iter()) {
            let chars: Vec<char> = n.chars().collect();
            if !chars.is_empty() && !out.contains(&chars) {
                out.push(chars);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SearchIndex>();
    }

    #[test]
    fn unit_paths() {
        assert_eq!(unit_key("D/S1"), "/D/S1/");
        assert_eq!(unit_key("/"), "/");
        assert_eq!(unit_prefixes("/D/S1/"), vec!["/", "/D/", "/D/S1/"]);
    }
}
