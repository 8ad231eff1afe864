//! Use cases: intake, reading cases, the organisation, staff sessions.
//!
//! Architecture invariant: no HTTP and no SQL here. The clock is injected
//! ([`Clock`]), randomness only mints tracking codes and session tokens.

pub mod auth;
pub mod clock;
pub mod orgconfig;

pub use auth::StaffUser;
pub use clock::{Clock, FixedClock, SystemClock};
/// Read models the web crate renders (re-exported so it never depends on the store).
pub use suqiu_store::{CaseFilter, CaseRow, Store};

use std::sync::{Arc, RwLock};
use suqiu_domain::case::{self, Actor, CaseState, Channel, Event, IntakeInput, Millis, Proxy};
use suqiu_domain::org::{Level, OrgTree, Person, Role, Unit};
use suqiu_domain::FieldError;
use suqiu_store::{CaseRef, CaseWrite, EventRow, StoreError, UnitRow, UserRow};
use thiserror::Error;

/// Everything a use case can refuse. The web crate maps each to a stable code.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldError),
    #[error("unknown unit {0}")]
    UnknownUnit(String),
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
    #[error("case not found")]
    CaseNotFound,
    #[error("case changed meanwhile (expected version {expected})")]
    Conflict { expected: u64 },
    #[error("invalid query parameter {0}")]
    BadQuery(&'static str),
    #[error("organisation config: {0}")]
    OrgConfig(#[from] orgconfig::OrgConfigError),
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
}

/// A case as staff see it: the projection, the replayed state, and the journal.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub row: CaseRow,
    pub state: CaseState,
    pub events: Vec<EventRow>,
}

/// What a resident sees with the tracking code: no personal data.
#[derive(Debug, Clone)]
pub struct TrackView {
    pub tracking_code: String,
    pub status: case::Status,
    pub title: String,
    pub received_at: Millis,
    pub unit_name: String,
    /// (time, Chinese text, English text)
    pub timeline: Vec<(Millis, String, String)>,
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
            let mut users = Vec::new();
            for login in store.logins().await? {
                if let Some(u) = store.user(&login).await? {
                    users.push(u);
                }
            }
            tree_from_rows(units, users)?
        };
        Ok(App {
            store,
            org: Arc::new(RwLock::new(Arc::new(tree))),
            clock,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn org(&self) -> Arc<OrgTree> {
        match self.org.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Loads (or updates) the organisation from config text and stores it.
    /// Passwords are hashed for users that do not exist yet.
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
        let mut guard = match self.org.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard = Arc::new(cfg.tree);
        Ok(())
    }

    fn unit_name(&self, code: &str) -> String {
        self.org()
            .unit(code)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| code.to_string())
    }

    /// 点单: files a new case from any channel. `staff` is the logged-in user, if any.
    pub async fn file_case(
        &self,
        input: &IntakeInput,
        staff: Option<&StaffUser>,
    ) -> Result<CaseRef> {
        let parsed = case::parse_intake(input)?;
        let org = self.org();
        let place = org
            .unit(&parsed.unit)
            .ok_or_else(|| AppError::UnknownUnit(parsed.unit.clone()))?;
        if !place.level.is_place() {
            return Err(AppError::UnitNotAPlace(parsed.unit.clone()));
        }
        let triage = org
            .triage_unit(&place.code)
            .ok_or_else(|| AppError::UnitNotAPlace(parsed.unit.clone()))?
            .code
            .clone();
        let place_path = org.path(&place.code).unwrap_or("/").to_string();
        let (actor, proxy) = match (parsed.channel, staff) {
            (c, None) if !c.is_public() => return Err(AppError::ChannelNeedsStaff(c.as_str())),
            (_, None) => (Actor::Resident, None),
            (Channel::Proxy, Some(s)) if s.role != Role::GridWorker => {
                return Err(AppError::ProxyNeedsGridWorker)
            }
            (Channel::Proxy, Some(s)) => (
                s.actor(),
                Some(Proxy {
                    login: s.login.clone(),
                    name: s.name.clone(),
                    unit: s.unit.clone(),
                }),
            ),
            (_, Some(s)) => (s.actor(), None),
        };
        let now = self.clock.now();
        let event = Event::Received {
            channel: parsed.channel,
            place_unit: place.code.clone(),
            triage_unit: triage,
            title: parsed.title,
            content: parsed.content,
            address: parsed.address,
            reporter: parsed.reporter,
            proxy,
        };
        let state = case::apply(None, &event, now).map_err(|e| AppError::Journal(e.to_string()))?;
        // A collision of 50-bit codes is vanishingly rare; retry a few times anyway.
        let mut attempts = 0;
        loop {
            let code = new_tracking_code();
            let write = CaseWrite {
                case_id: None,
                expected_version: 0,
                events: vec![(now, actor.clone(), event.clone())],
                row: project(0, &code, &place_path, &state),
                queues: queues(&state),
            };
            match self.store.write_case(write).await {
                Err(StoreError::DuplicateTrackingCode) if attempts < 5 => attempts += 1,
                other => return Ok(other?),
            }
        }
    }

    /// Adds a staff note to a case the user may act on, at the version they read.
    pub async fn add_note(
        &self,
        user: &StaffUser,
        id: i64,
        expected_version: u64,
        text: Option<&str>,
    ) -> Result<CaseRef> {
        let text = case::parse_note(text)?;
        let view = self.case_for(user, id).await?;
        if view.state.version != expected_version {
            return Err(AppError::Conflict {
                expected: expected_version,
            });
        }
        let now = self.clock.now();
        let event = Event::NoteAdded { text };
        let state = case::apply(Some(view.state), &event, now)
            .map_err(|e| AppError::Journal(e.to_string()))?;
        let write = CaseWrite {
            case_id: Some(id),
            expected_version,
            events: vec![(now, user.actor(), event)],
            row: project(id, &view.row.tracking_code, &view.row.place_path, &state),
            queues: queues(&state),
        };
        Ok(self.store.write_case(write).await?)
    }

    /// A case with its full journal, if the user may see it (else not found:
    /// the existence of cases outside one's scope is not revealed).
    pub async fn case_for(&self, user: &StaffUser, id: i64) -> Result<CaseView> {
        let row = self
            .store
            .case_by_id(id)
            .await?
            .ok_or(AppError::CaseNotFound)?;
        if !user.can_see(&row.place_path) {
            return Err(AppError::CaseNotFound);
        }
        let events = self.store.events(id).await?;
        let state = case::replay(events.iter().map(|e| (&e.event, e.at)))
            .map_err(|e| AppError::Journal(e.to_string()))?
            .ok_or_else(|| AppError::Journal(format!("case {id} has no events")))?;
        Ok(CaseView { row, state, events })
    }

    /// Lists cases within the user's scope. `unit` narrows to a subtree.
    pub async fn list_cases(
        &self,
        user: &StaffUser,
        unit: Option<&str>,
        mut filter: CaseFilter,
    ) -> Result<Vec<CaseRow>> {
        let org = self.org();
        if let Some(code) = unit {
            let path = org
                .path(code)
                .ok_or_else(|| AppError::UnknownUnit(code.to_string()))?;
            filter.subtree = Some(path.to_string());
        }
        filter.scopes = user.scope_paths.clone();
        Ok(self.store.list_cases(filter).await?)
    }

    /// The resident's view by tracking code.
    pub async fn track(&self, raw_code: &str) -> Result<TrackView> {
        let code = normalise_tracking_code(raw_code).ok_or(AppError::CaseNotFound)?;
        let row = self
            .store
            .case_by_tracking_code(&code)
            .await?
            .ok_or(AppError::CaseNotFound)?;
        let events = self.store.events(row.id).await?;
        let state = case::replay(events.iter().map(|e| (&e.event, e.at)))
            .map_err(|e| AppError::Journal(e.to_string()))?
            .ok_or(AppError::CaseNotFound)?;
        let name = |c: &str| self.unit_name(c);
        let timeline = events
            .iter()
            .filter_map(|e| e.event.public_text(&name).map(|(zh, en)| (e.at, zh, en)))
            .collect();
        Ok(TrackView {
            tracking_code: row.tracking_code,
            status: state.status,
            title: state.title,
            received_at: state.received_at,
            unit_name: self.unit_name(&state.current_unit),
            timeline,
        })
    }
}

fn project(id: i64, code: &str, place_path: &str, s: &CaseState) -> CaseRow {
    CaseRow {
        id,
        tracking_code: code.to_string(),
        status: s.status.as_str().to_string(),
        channel: s.channel.as_str().to_string(),
        place_unit: s.place_unit.clone(),
        place_path: place_path.to_string(),
        current_unit: s.current_unit.clone(),
        title: s.title.clone(),
        reporter_name: s.reporter.name.clone(),
        reporter_phone: s.reporter.phone.clone(),
        received_at: s.received_at,
        updated_at: s.updated_at,
        version: s.version,
    }
}

fn queues(s: &CaseState) -> Vec<(String, String)> {
    s.queues()
        .into_iter()
        .map(|(u, q)| (u, q.as_str().to_string()))
        .collect()
}
