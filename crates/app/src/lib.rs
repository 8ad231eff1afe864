//! Use cases: intake, reading cases, the organisation, staff sessions.
//!
//! Architecture invariant: no HTTP and no SQL here. The clock is injected
//! ([`Clock`]), randomness only mints tracking codes and session tokens.

pub mod auth;
mod cases;
pub mod chatgroup;
pub mod checkpoints;
pub mod clock;
pub mod commands;
pub mod ledger;
pub mod limits;
pub mod open311;
pub mod orgconfig;
pub mod outbox;
pub mod photo_meta;
pub mod photos;
pub mod privacy;
pub mod related;
pub mod routing;
pub mod rules;
pub mod search;
pub mod stats;
mod sweeper;
pub mod templates;
pub mod tokens;
pub mod topics;
pub mod units;
pub mod users;

pub use cases::{notify_of, phone_last4, CaseView, QueueQuery, TrackView};
pub use sweeper::{RecomputeReport, SweepReport};

pub use auth::StaffUser;
pub use clock::{Clock, FixedClock, SystemClock};
pub use suqiu_search::{SearchError, SearchIndex};
/// Read models the web crate renders (re-exported so it never depends on the store).
pub use suqiu_store::{CaseFilter, CaseRef, CaseRow, PhotoMeta, PhotoRow, QueuePosition, Store};

use std::sync::{Arc, RwLock};
use suqiu_calendar::Calendar;
use suqiu_domain::case::Millis;
use suqiu_domain::org::{Level, OrgTree, Person, Role, Unit};
use suqiu_domain::workflow::{DeadlineRules, Refusal};
use suqiu_domain::FieldError;
use suqiu_store::{StoreError, UnitRow, UserRow};
use thiserror::Error;

/// Everything a use case can refuse. The web crate maps each to a stable code.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldError),
    #[error("unknown unit {0}")]
    UnknownUnit(String),
    #[error("unknown accused unit {0}")]
    UnknownAccusedUnit(String),
    /// An accusation against the whole district (or its petition bureau's
    /// staff) and no oversight unit (纪检监察机关) configured to forward it to.
    #[error("no oversight unit configured to forward this accusation to")]
    NoOversightUnit,
    #[error("unknown user {0}")]
    UnknownUser(String),
    #[error("too many failed logins")]
    TooManyAttempts,
    #[error("too many requests")]
    RateLimited,
    /// A resident's write by tracking code: the code is unknown, or the last
    /// four digits of the phone do not match (one answer for both, so the
    /// route tells nothing about which codes exist).
    #[error("tracking code or phone digits do not match")]
    TrackCheckFailed,
    /// A logged-in staff member on a route that acts as the resident.
    #[error("staff may not act as the resident")]
    ResidentRouteForStaff,
    #[error("search: {0}")]
    Search(suqiu_search::SearchError),
    #[error("search is not enabled on this server")]
    SearchUnavailable,
    #[error("unit {0} is not a place where matters are filed")]
    UnitNotAPlace(String),
    #[error("channel {0} is for staff only")]
    ChannelNeedsStaff(&'static str),
    #[error("channel proxy is for grid workers filing for a resident")]
    ProxyNeedsGridWorker,
    #[error("not logged in")]
    Unauthenticated,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("not allowed")]
    Forbidden,
    #[error("an API token may not do this; log in")]
    TokenNotAllowed,
    #[error("the API token lacks the scope {0}")]
    MissingScope(&'static str),
    #[error("chat platform request refused: {0}")]
    ChatRefused(String),
    #[error("no such chat group")]
    ChatGroupNotFound,
    #[error("no such dead notification")]
    NotificationNotFound,
    #[error("no template {0}")]
    TemplateNotFound(String),
    #[error("the template has no override")]
    TemplateNotOverridden,
    #[error("invalid template: {0}")]
    InvalidTemplate(String),
    #[error("a chat-group case's progress goes to its group")]
    ContactOfChatCase,
    #[error("no such live API token")]
    TokenNotFound,
    #[error("too many live API tokens")]
    TooManyTokens,
    #[error("case not found")]
    CaseNotFound,
    #[error("case changed meanwhile (expected version {expected})")]
    Conflict { expected: u64 },
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("calendar data: {0}")]
    Calendar(suqiu_calendar::CalendarError),
    #[error("unknown command {0}")]
    UnknownCommand(String),
    #[error("invalid query parameter {0}")]
    BadQuery(&'static str),
    #[error("organisation config: {0}")]
    OrgConfig(#[from] orgconfig::OrgConfigError),
    #[error("deadline rules refused: {0}")]
    BadRules(suqiu_domain::workflow::RuleProblem),
    #[error("photo type not accepted (JPEG, PNG or WebP)")]
    PhotoType,
    #[error("photo malformed: {0}")]
    PhotoMalformed(&'static str),
    #[error("photo larger than {0} bytes")]
    PhotoTooLarge(usize),
    #[error(
        "photo dimensions {0}×{1} refused (zero, a side over 20000 px or over 100 megapixels)"
    )]
    PhotoDimensions(u32, u32),
    #[error("at most {0} photos per case")]
    TooManyPhotos(u32),
    #[error("photos of a case take at most {0} bytes")]
    PhotosTooLarge(u64),
    #[error("no such photo")]
    PhotoNotFound,
    #[error("the case is closed")]
    CaseClosed,
    #[error("login {0} is taken")]
    LoginTaken(String),
    #[error("role {0:?} cannot belong to a unit of level {1:?}")]
    RoleNotForUnit(Role, Level),
    #[error("unit code {0} is taken")]
    UnitExists(String),
    #[error("unknown parent unit {0}")]
    UnknownParentUnit(String),
    #[error("a unit of level {level:?} cannot sit under one of level {parent_level:?}")]
    UnitNesting { level: Level, parent_level: Level },
    #[error("the unit is still referred to by {0}")]
    UnitInUse(&'static str),
    #[error("{0}")]
    LedgerTooLarge(suqiu_ledger::TooLarge),
    #[error("storage: {0}")]
    Store(StoreError),
    #[error("stored journal does not replay: {0}")]
    Journal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { expected, .. } => AppError::Conflict { expected },
            StoreError::CaseNotFound(_) => AppError::CaseNotFound,
            other => AppError::Store(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

/// The application: storage, the organisation in memory, the clock.
#[derive(Clone)]
pub struct App {
    store: Store,
    org: Arc<RwLock<Arc<OrgTree>>>,
    clock: Arc<dyn Clock>,
    calendar: Arc<RwLock<Arc<Calendar>>>,
    rules: Arc<RwLock<(i64, Arc<DeadlineRules>)>>,
    limits: limits::Limits,
    counters: Arc<limits::Counters>,
    /// Cases this process filed since it started (the `/metrics` counter).
    filed: Arc<std::sync::atomic::AtomicU64>,
    search: Option<search::Search>,
    notifier: Option<Arc<outbox::Notifier>>,
    routing: Arc<routing::RoutingModels>,
    routing_threshold: f32,
    urgent: Arc<suqiu_text::UrgentRules>,
    templates: Arc<templates::TemplateCache>,
    related: Option<related::Related>,
    topics_cache: Arc<topics::TopicsCache>,
}

/// Alphabet of tracking codes: no 0/O, 1/I.
const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// 10 characters of 32 symbols: 50 random bits.
pub const TRACKING_CODE_LEN: usize = 10;

fn new_tracking_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..TRACKING_CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Normalises user input of a tracking code (case, spaces and hyphens).
pub fn normalise_tracking_code(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (s.len() == TRACKING_CODE_LEN && s.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(s)
}

fn tree_from_rows(units: Vec<UnitRow>, users: Vec<UserRow>) -> Result<OrgTree> {
    let units = units
        .into_iter()
        .map(|u| {
            Ok(Unit {
                level: Level::parse(&u.level)
                    .ok_or_else(|| AppError::Journal(format!("unit level {}", u.level)))?,
                code: u.code,
                name: u.name,
                parent: u.parent,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let people = users
        .into_iter()
        .map(|u| {
            Ok(Person {
                role: Role::parse(&u.role)
                    .ok_or_else(|| AppError::Journal(format!("role {}", u.role)))?,
                login: u.login,
                name: u.name,
                unit: u.unit,
                linked_units: u.linked_units,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    OrgTree::new(units, people).map_err(|e| AppError::Journal(e.to_string()))
}

/// The built-in years of the calendar, plus those administrators added.
async fn stored_calendar(store: &Store) -> Result<Calendar> {
    let mut calendar = Calendar::official();
    for (year, data) in store.calendar_years().await? {
        let parsed = Calendar::parse_year(&data)
            .map_err(|e| AppError::Journal(format!("stored calendar year {year}: {e}")))?;
        calendar
            .add_year(parsed)
            .map_err(|e| AppError::Journal(format!("stored calendar year {year}: {e}")))?;
    }
    Ok(calendar)
}

/// What adding a year of the calendar did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CalendarAdded {
    /// The years the calendar now covers.
    pub years: Vec<i32>,
    pub recomputed: RecomputeReport,
}

impl App {
    /// Builds the app over a store whose organisation is already loaded
    /// (or empty: then only [`App::load_org`] is useful).
    pub async fn new(store: Store, clock: Arc<dyn Clock>) -> Result<App> {
        let units = store.units().await?;
        let tree = if units.is_empty() {
            OrgTree::new(
                vec![Unit {
                    code: "UNSET".into(),
                    name: "未配置".into(),
                    level: Level::District,
                    parent: None,
                }],
                vec![],
            )
            .map_err(|e| AppError::Journal(e.to_string()))?
        } else {
            tree_from_rows(units, store.all_users().await?)?
        };
        let calendar = stored_calendar(&store).await?;
        Ok(App {
            store,
            org: Arc::new(RwLock::new(Arc::new(tree))),
            clock,
            calendar: Arc::new(RwLock::new(Arc::new(calendar))),
            rules: Arc::new(RwLock::new((0, Arc::new(DeadlineRules::default())))),
            limits: limits::Limits::default(),
            counters: Arc::new(limits::Counters::default()),
            filed: Arc::default(),
            search: None,
            notifier: None,
            routing: Arc::default(),
            routing_threshold: 0.6,
            urgent: Arc::default(),
            templates: Arc::default(),
            related: None,
            topics_cache: Arc::default(),
        })
    }

    /// Parses a deadline rules file (TOML, see `config/deadline-rules.toml`).
    pub fn parse_rules(text: &str) -> Result<DeadlineRules> {
        toml::from_str(text).map_err(|e| AppError::Journal(format!("deadline rules: {e}")))
    }

    pub fn limits(&self) -> limits::Limits {
        self.limits
    }

    pub(crate) fn counters(&self) -> &limits::Counters {
        &self.counters
    }

    /// Replaces the abuse limits of the public endpoints.
    pub fn with_limits(mut self, limits: limits::Limits) -> App {
        self.limits = limits;
        self
    }

    /// Replaces the deadline rules (a deployment's rules file); rules that
    /// administrators stored since (`App::refresh_rules`) take precedence.
    pub fn with_rules(self, rules: DeadlineRules) -> App {
        if let Ok(mut g) = self.rules.write() {
            *g = (0, Arc::new(rules));
        }
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn calendar(&self) -> Arc<Calendar> {
        match self.calendar.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Adds (or replaces) a year of the holiday calendar, from the calendar
    /// crate's format or holiday-cn JSON, and stores it so every restart (and
    /// every instance at its next start) uses it; then every running
    /// provisional deadline is counted again with it (journalled, the unit and
    /// the resident told when a date moves). Returns the years covered and
    /// what the recomputation did.
    pub async fn add_calendar_year(&self, text: &str, by: &str) -> Result<CalendarAdded> {
        let year = Calendar::parse_year(text).map_err(AppError::Calendar)?;
        let mut cal = (*self.calendar()).clone();
        let (number, data) = (year.year, year.to_text());
        cal.add_year(year).map_err(AppError::Calendar)?;
        self.store()
            .put_calendar_year(number, &data, self.now(), by)
            .await?;
        let years = cal.years_covered();
        self.audit_quietly(
            by,
            "calendar.add_year",
            &format!("calendar:{number}"),
            serde_json::json!({}),
        )
        .await;
        {
            let mut guard = match self.calendar.write() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            *guard = Arc::new(cal);
        }
        let recomputed = self.recompute_provisional_deadlines().await?;
        if recomputed.written > 0 {
            tracing::info!(
                cases = recomputed.written,
                deadlines = recomputed.recomputed,
                "provisional deadlines counted again with the new calendar"
            );
        }
        Ok(CalendarAdded { years, recomputed })
    }

    /// Loads the calendar years another instance added (cheap: a few rows).
    /// Returns whether the calendar changed.
    pub async fn refresh_calendar(&self) -> Result<bool> {
        let stored = stored_calendar(self.store()).await?;
        if stored == *self.calendar() {
            return Ok(false);
        }
        let mut guard = match self.calendar.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard = Arc::new(stored);
        Ok(true)
    }

    /// Cases this process has filed since it started (every channel).
    pub fn cases_filed(&self) -> u64 {
        self.filed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The deadline rules and categories in force on this instance.
    pub fn rules(&self) -> Arc<DeadlineRules> {
        match self.rules.read() {
            Ok(g) => g.1.clone(),
            Err(p) => p.into_inner().1.clone(),
        }
    }

    /// The stored version of the rules in force (0: the built-in or file rules).
    pub fn rules_version(&self) -> i64 {
        match self.rules.read() {
            Ok(g) => g.0,
            Err(p) => p.into_inner().0,
        }
    }

    /// The district's unit code (callback staff's queue).
    pub fn district(&self) -> String {
        self.org().district().to_string()
    }

    pub fn org(&self) -> Arc<OrgTree> {
        match self.org.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Loads the organisation from config text: units and users the database
    /// does not have yet are added (new users' configured passwords hashed);
    /// stored ones are kept as administrators left them.
    pub async fn load_org(&self, text: &str) -> Result<()> {
        let cfg = orgconfig::parse(text)?;
        let existing: std::collections::BTreeSet<String> =
            self.store.logins().await?.into_iter().collect();
        let units = cfg
            .tree
            .units()
            .map(|(u, path)| UnitRow {
                code: u.code.clone(),
                name: u.name.clone(),
                level: u.level.as_str().to_string(),
                parent: u.parent.clone(),
                path: path.to_string(),
            })
            .collect();
        // New users with a configured password get it hashed; others get an
        // unusable hash (the account cannot log in until a password is set);
        // existing users keep theirs (the store does not overwrite it).
        let new_with_password: Vec<(String, String)> = cfg
            .tree
            .people()
            .iter()
            .filter(|p| !existing.contains(&p.login))
            .filter_map(|p| {
                cfg.passwords
                    .get(&p.login)
                    .map(|pw| (p.login.clone(), pw.clone()))
            })
            .collect();
        let hashes =
            auth::hash_passwords(new_with_password.iter().map(|(_, pw)| pw.clone()).collect())
                .await?;
        let hashed: std::collections::BTreeMap<String, String> = new_with_password
            .into_iter()
            .map(|(login, _)| login)
            .zip(hashes)
            .collect();
        let mut users = Vec::new();
        for p in cfg.tree.people() {
            let password_hash = hashed
                .get(&p.login)
                .cloned()
                .unwrap_or_else(|| "!".to_string());
            users.push(UserRow {
                login: p.login.clone(),
                name: p.name.clone(),
                role: p.role.as_str().to_string(),
                unit: p.unit.clone(),
                linked_units: p.linked_units.clone(),
                password_hash,
                disabled: false,
            });
        }
        self.store.put_org(units, users).await?;
        // what is stored wins: administrators' changes are kept
        self.reload_org().await
    }
}

/// A time as people in China read it: `2026-11-23 17:00`.
pub fn format_china_time(ms: Millis) -> String {
    let cst = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(cst))
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

impl App {
    /// The danger signals checked at intake (default: the built-in list).
    pub fn with_urgent_rules(mut self, rules: suqiu_text::UrgentRules) -> App {
        self.urgent = Arc::new(rules);
        self
    }
}
