//! Case use cases: intake, commands of the six orders, reading, lists,
//! queues and the resident's tracking view.

use crate::{new_tracking_code, normalise_tracking_code, App, AppError, Result, StaffUser};
use suqiu_domain::case::{
    self, person_queue, Actor, CaseState, Channel, Event, Intake, IntakeInput, Millis, Proxy,
    Queue, Status,
};
use suqiu_domain::org::{Level, Role};
use suqiu_domain::workflow::{self, Command, Ctx, Rating, RatingVia, Who};
use suqiu_store::{
    CaseFilter, CaseRef, CaseRow, CaseWrite, DeadlineRow, EventRow, QueueFilter, QueuePosition,
    StoreError, Stored, Visibility,
};

/// What a user narrows a work queue to (all ANDed): the cases at a place
/// within a unit (its code), of a category, of an urgency tier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    pub place: Option<String>,
    pub category: Option<String>,
    pub urgency: Option<String>,
}

/// Which case a write goes to: a new one (`case_id` None, version 0) or an
/// existing one at the version read.
pub(crate) struct WriteTarget<'a> {
    pub case_id: Option<i64>,
    pub version: u64,
    pub code: &'a str,
    pub place_path: &'a str,
}

/// A case as staff see it: the projection, the replayed state, and the journal.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub row: CaseRow,
    pub state: CaseState,
    pub events: Vec<EventRow>,
}

impl CaseView {
    /// Every other case this one names: related, merged into, duplicates.
    pub(crate) fn linked_ids(&self) -> Vec<i64> {
        let s = &self.state;
        let mut ids: Vec<i64> = s.related.iter().map(|r| r.case_id).collect();
        ids.extend(s.merged_into);
        ids.extend(&s.duplicates);
        for e in &self.events {
            match &e.event {
                Event::RelatedLinked { case_id, .. } | Event::DuplicateMerged { case_id, .. } => {
                    ids.push(*case_id)
                }
                Event::Merged { into, .. } => ids.push(*into),
                _ => {}
            }
        }
        ids
    }

    /// Leaves out every link to a case not in `visible`: related links and
    /// duplicates (state and timeline lines) go; a merge into a hidden case
    /// stays in the timeline (the case is closed by it) as `into: 0`, "another
    /// case", and `merged_into` becomes `None`.
    pub(crate) fn hide_links(&mut self, visible: &std::collections::HashSet<i64>) {
        let s = &mut self.state;
        s.related.retain(|r| visible.contains(&r.case_id));
        s.duplicates.retain(|d| visible.contains(d));
        if s.merged_into.is_some_and(|m| !visible.contains(&m)) {
            s.merged_into = None;
        }
        self.events.retain(|e| match &e.event {
            Event::RelatedLinked { case_id, .. } | Event::DuplicateMerged { case_id, .. } => {
                visible.contains(case_id)
            }
            _ => true,
        });
        for e in &mut self.events {
            if let Event::Merged { into, .. } = &mut e.event {
                if !visible.contains(into) {
                    *into = 0;
                }
            }
        }
    }
}

/// What a resident sees with the tracking code: no personal data.
#[derive(Debug, Clone)]
pub struct TrackView {
    pub tracking_code: String,
    pub status: Status,
    pub title: String,
    pub received_at: Millis,
    pub unit_name: String,
    /// (time, Chinese text, English text)
    pub timeline: Vec<(Millis, String, String)>,
    /// Whether the resident can rate now.
    pub can_rate: bool,
    /// Whether writes (rating, contact change) ask for the last four digits
    /// of the resident's phone (the case has one).
    pub phone_check: bool,
    /// Numbers of the photos attached (and not yet deleted by retention).
    pub photos: Vec<u32>,
    /// How the resident hears of progress: `sms`, `email`, `none`, or
    /// `chat_group` (back to the group the message came from) …
    pub notify_channel: &'static str,
    /// … and where, masked.
    pub notify_address: Option<String>,
}

impl StaffUser {
    pub fn who(&self) -> Who {
        Who::Staff {
            login: self.login.clone(),
            role: self.role,
            unit: self.unit.clone(),
            linked_units: self.linked_units.clone(),
        }
    }

    /// Whether the user may see a case: filed in their part of the tree,
    /// dispatched to their unit, or owned by them (leaders).
    pub fn may_see(&self, place_path: &str, s: &CaseState) -> bool {
        self.can_see(place_path)
            || s.involved.iter().any(|u| u == &self.unit)
            || s.owner.as_deref() == Some(&self.login)
    }

    /// Whether the user may open the case at all: within their part of the
    /// tree ([`StaffUser::may_see`]) and not an accusation against them or
    /// their units. The one test of every read of a case by id or link.
    pub fn may_open(&self, row: &CaseRow, s: &CaseState) -> bool {
        self.may_see(&row.place_path, s) && !self.accused_in(row)
    }

    /// The rule of [`StaffUser::may_open`] as SQL conditions: lists, queues
    /// and search apply it in the query.
    pub fn visibility(&self) -> Visibility {
        Visibility {
            scopes: self.scope_paths.clone(),
            involved_unit: (self.role == Role::DepartmentHandler || self.scope_paths.is_some())
                .then(|| self.unit.clone()),
            viewer_paths: self.viewer_paths.clone(),
            viewer_login: Some(self.login.clone()),
        }
    }
}

/// Whether an accusation names what the district's petition bureau belongs
/// to (the district itself) or every one of its staff: then no one in the
/// district may see it, and it goes to the oversight unit.
fn bureau_is_accused(org: &suqiu_domain::org::OrgTree, p: &case::ParsedIntake) -> bool {
    let accused_path = p.accused_unit.as_deref().and_then(|u| org.path(u));
    if let (Some(a), Some(d)) = (accused_path, org.path(org.district())) {
        if d.starts_with(a) {
            return true;
        }
    }
    let mut bureau = org
        .people()
        .iter()
        .filter(|x| x.role == Role::PetitionBureau)
        .peekable();
    bureau.peek().is_some()
        && bureau.all(|x| workflow::names_person(p.accused_person.as_deref(), x))
}

/// Pairs each case with its journal. Both inputs are in case-id order (as
/// `Store::cases_by_ids` and `Store::events_of` return them); one linear pass.
pub(crate) fn journals<'a>(
    rows: &'a [CaseRow],
    events: &'a [EventRow],
) -> Vec<(&'a CaseRow, &'a [EventRow])> {
    let mut out = Vec::with_capacity(rows.len());
    let mut at = 0;
    for row in rows {
        while at < events.len() && events[at].case_id < row.id {
            at += 1;
        }
        let from = at;
        while at < events.len() && events[at].case_id == row.id {
            at += 1;
        }
        if from < at {
            out.push((row, &events[from..at]));
        }
    }
    out
}

/// The intake and time of a new case's write (its `received` event).
pub(crate) fn received_intake(w: &CaseWrite) -> Option<(Intake, Millis)> {
    w.events.first().and_then(|(at, _, e)| match e {
        Event::Received(i) => Some(((**i).clone(), *at)),
        _ => None,
    })
}

pub(crate) fn replay(events: &[EventRow]) -> Result<CaseState> {
    case::replay(events.iter().map(|e| (&e.event, e.at)))
        .map_err(|e| AppError::Journal(e.to_string()))?
        .ok_or_else(|| AppError::Journal("case without events".into()))
}

impl App {
    pub(crate) fn unit_name(&self, code: &str) -> String {
        self.org()
            .unit(code)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| code.to_string())
    }

    /// Builds the write of `events` (already applied into `after`) to a case.
    /// A case's queue memberships, deadlines and involved units as the store
    /// keeps them.
    pub(crate) fn stored(&self, s: &CaseState) -> Stored {
        Stored {
            queues: s
                .queues(&self.district())
                .into_iter()
                .map(|(u, q)| (u, q.as_str().to_string()))
                .collect(),
            deadlines: s
                .deadlines
                .iter()
                .map(|d| DeadlineRow {
                    rule: d.info.rule.clone(),
                    unit: d.info.unit.clone(),
                    due_at: d.info.due_at,
                    warn_at: d.info.warn_at,
                    warned: d.warned,
                    overdue: d.overdue,
                    provisional: d.info.provisional,
                })
                .collect(),
            involved: s.involved.clone(),
        }
    }

    /// After a new case's commit: index it for search and link its related
    /// cases (`intake` from [`received_intake`] of its write).
    pub(crate) async fn intake_done(&self, id: i64, intake: Option<(Intake, Millis)>) {
        self.filed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.reindex(id);
        if let Some((intake, at)) = intake {
            self.link_related(id, &intake, at).await;
        }
    }

    /// Rewrites every case's queue memberships, deadlines and involved units
    /// from its journal, changing only what differs. Needed after an upgrade
    /// that changes how they are derived (writes only apply differences, see
    /// `CaseWrite::before`). A case written meanwhile is left to its writer.
    /// Returns (cases read, cases changed).
    pub async fn rebuild_projections(&self) -> Result<(u64, u64)> {
        let (mut read, mut changed) = (0, 0);
        let mut cursor = None;
        loop {
            let mut page = self
                .store()
                .list_cases(CaseFilter {
                    before_id: cursor,
                    limit: 500,
                    ..Default::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.id);
            page.sort_by_key(|r| r.id);
            let events = self
                .store()
                .events_of(page.iter().map(|r| r.id).collect())
                .await?;
            for (row, journal) in journals(&page, &events) {
                let state = replay(journal)?;
                read += 1;
                let p = self.stored(&state);
                let done = self
                    .store()
                    .replace_projections(row.id, state.version, p, self.now())
                    .await?;
                if done == Some(true) {
                    changed += 1;
                }
            }
        }
        Ok((read, changed))
    }

    pub(crate) fn case_write(
        &self,
        t: WriteTarget<'_>,
        actor: &Actor,
        events: &[Event],
        after: &CaseState,
        now: Millis,
    ) -> CaseWrite {
        let name = |c: &str| self.unit_name(c);
        let stored = self.stored(after);
        let mut notifications = Vec::new();
        let org = self.org();
        for (i, e) in events.iter().enumerate() {
            for n in workflow::notifications(after, std::slice::from_ref(e), &name) {
                // The one gate of every notification: an accusation never
                // reaches the accused unit's subtree or the accused person.
                let shielded = match &n.recipient {
                    workflow::Recipient::Unit { code } => {
                        workflow::shielded_unit(&org, after, code)
                    }
                    workflow::Recipient::Person { login } => {
                        workflow::shielded_person(&org, after, login)
                    }
                    workflow::Recipient::Resident => false,
                };
                if shielded {
                    continue;
                }
                let recipient = serde_json::to_string(&n.recipient).unwrap_or_default();
                notifications.push((i, recipient, n.template, n.text_zh));
            }
        }
        CaseWrite {
            case_id: t.case_id,
            expected_version: t.version,
            events: events
                .iter()
                .map(|e| (now, actor.clone(), e.clone()))
                .collect(),
            row: {
                let mut row = project(t.case_id.unwrap_or(0), t.code, t.place_path, after);
                row.accused_path = after
                    .intake
                    .accused_unit
                    .as_deref()
                    .and_then(|u| org.path(u))
                    .map(str::to_string);
                // the accused person, if a staff member named by login or name
                let accused = after.intake.accused_person.as_deref();
                row.accused_login = org
                    .people()
                    .iter()
                    .find(|x| workflow::names_person(accused, x))
                    .map(|x| x.login.clone());
                row
            },
            queues: stored.queues,
            deadlines: stored.deadlines,
            involved: stored.involved,
            before: None,
            notifications,
            audit: None,
            photos: Vec::new(),
            chat_message: None,
        }
    }

    /// 点单: files a new case from any channel. `staff` is the logged-in user, if any.
    pub async fn file_case(
        &self,
        input: &IntakeInput,
        staff: Option<&StaffUser>,
    ) -> Result<CaseRef> {
        // A collision of 50-bit codes is vanishingly rare; retry a few times anyway.
        let mut attempts = 0;
        loop {
            let write = self.intake_write(input, staff)?;
            let intake = received_intake(&write);
            match self.store().write_case(write).await {
                Err(StoreError::DuplicateTrackingCode) if attempts < 5 => attempts += 1,
                Ok(r) => {
                    self.intake_done(r.id, intake).await;
                    return Ok(r);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The write that files a case (with a fresh tracking code), without storing it.
    pub fn intake_write(
        &self,
        input: &IntakeInput,
        staff: Option<&StaffUser>,
    ) -> Result<CaseWrite> {
        self.intake_write_from(input, staff, None)
    }

    /// The write that files a case; `chat` when it came from a chat group's bot.
    pub(crate) fn intake_write_from(
        &self,
        input: &IntakeInput,
        staff: Option<&StaffUser>,
        chat: Option<case::ChatSource>,
    ) -> Result<CaseWrite> {
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
            .ok_or_else(|| AppError::UnitNotAPlace(parsed.unit.clone()))?;
        let street = triage.parent.clone().unwrap_or_default();
        if let Some(a) = &parsed.accused_unit {
            if org.unit(a).is_none() {
                return Err(AppError::UnknownAccusedUnit(a.clone()));
            }
        }
        // An accusation is triaged by the district's petition bureau, never by
        // the community (which may be the accused or under it); one the
        // bureau may not see (it names the district, or every one of the
        // bureau's staff) is forwarded to the oversight unit outside the
        // district's tree, never filed where no one can act on it.
        let mut forwarded = None;
        let triage = if parsed.accused_unit.is_some() || parsed.accused_person.is_some() {
            if bureau_is_accused(&org, &parsed) {
                let unit = org.oversight().ok_or(AppError::NoOversightUnit)?;
                forwarded = Some(unit.to_string());
                unit.to_string()
            } else {
                self.district()
            }
        } else {
            triage.code.clone()
        };
        let place_path = org.path(&place.code).unwrap_or("/").to_string();
        let (actor, proxy) = match (parsed.channel, staff) {
            (Channel::ChatGroup, None) if chat.is_some() => (Actor::System, None),
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
        let now = self.now();
        let received = Event::Received(Box::new(Intake {
            channel: parsed.channel,
            place_unit: place.code.clone(),
            triage_unit: triage,
            street,
            title: parsed.title,
            content: parsed.content,
            address: parsed.address,
            reporter: parsed.reporter,
            proxy,
            accused_unit: parsed.accused_unit,
            accused_person: parsed.accused_person,
            chat,
            contact: parsed.contact,
            location: parsed.location,
        }));
        let mut state =
            case::apply(None, &received, now).map_err(|e| AppError::Journal(e.to_string()))?;
        let cal = self.calendar();
        let ctx = Ctx {
            now,
            calendar: &cal,
            rules: &self.rules(),
            org: &org,
        };
        let mut events = vec![received];
        let signals = self
            .urgent
            .check(&format!("{}。{}", state.intake.title, state.intake.content));
        let mut more = workflow::intake_deadlines(&state, &events[0], &ctx);
        if let Some(unit) = forwarded {
            more.insert(
                0,
                Event::ForwardedToOversight {
                    unit,
                    reason: "控告对象为本区县或其信访部门，依规转送上级纪检监察机关".into(),
                },
            );
        }
        if !signals.is_empty() {
            more.push(Event::UrgentSignalled {
                signals: signals.into_iter().map(|s| s.name).collect(),
                leader: workflow::linked_leader(&org, &state),
            });
        }
        for e in more {
            state =
                case::apply(Some(state), &e, now).map_err(|e| AppError::Journal(e.to_string()))?;
            events.push(e);
        }
        let code = new_tracking_code();
        let target = WriteTarget {
            case_id: None,
            version: 0,
            code: &code,
            place_path: &place_path,
        };
        let mut write = self.case_write(target, &actor, &events, &state, now);
        write.audit = Some(self.case_audit(&actor, "case.file", now));
        Ok(write)
    }

    /// The audit record of a change to a case, written in the same transaction.
    pub(crate) fn case_audit(
        &self,
        actor: &Actor,
        action: &str,
        now: Millis,
    ) -> suqiu_store::AuditEntry {
        suqiu_store::AuditEntry {
            at: now,
            actor: match actor {
                Actor::Staff { login, .. } => login.clone(),
                Actor::Resident => "resident".into(),
                Actor::System => "system".into(),
            },
            action: action.to_string(),
            target: String::new(),
            reason: String::new(),
            detail: "{}".into(),
        }
    }

    /// Loads a case and its state (no visibility check).
    pub(crate) async fn load(&self, id: i64) -> Result<CaseView> {
        let row = self
            .store()
            .case_by_id(id)
            .await?
            .ok_or(AppError::CaseNotFound)?;
        let events = self.store().events(id).await?;
        let state = replay(&events)?;
        Ok(CaseView { row, state, events })
    }

    /// What `cmd` by `who` means for a case at `now` (the workflow's decision).
    pub(crate) fn decide(
        &self,
        state: &CaseState,
        cmd: &Command,
        who: &Who,
        now: Millis,
    ) -> Result<Vec<Event>> {
        let org = self.org();
        let cal = self.calendar();
        let rules = self.rules();
        let ctx = Ctx {
            now,
            calendar: &cal,
            rules: &rules,
            org: &org,
        };
        Ok(workflow::decide(state, cmd, who, &ctx)?)
    }

    /// The write of `events` appended at `now` to a loaded case by `actor`, audited as
    /// `action` (the store writes only what differs from the stored projections).
    pub(crate) fn append_write(
        &self,
        view: &CaseView,
        actor: &Actor,
        events: Vec<Event>,
        action: &str,
        now: Millis,
    ) -> Result<CaseWrite> {
        let mut state = view.state.clone();
        for e in &events {
            state =
                case::apply(Some(state), e, now).map_err(|e| AppError::Journal(e.to_string()))?;
        }
        let target = WriteTarget {
            case_id: Some(view.row.id),
            version: view.state.version,
            code: &view.row.tracking_code,
            place_path: &view.row.place_path,
        };
        let mut write = self.case_write(target, actor, &events, &state, now);
        write.before = Some(self.stored(&view.state));
        write.audit = Some(self.case_audit(actor, action, now));
        Ok(write)
    }

    /// Runs a command of the six orders for `who` on a loaded case.
    /// `expected_version`, when given, must be the version the caller read.
    pub(crate) async fn run(
        &self,
        view: CaseView,
        who: &Who,
        actor: Actor,
        expected_version: Option<u64>,
        cmd: &Command,
    ) -> Result<CaseRef> {
        let version = view.state.version;
        if let Some(v) = expected_version {
            if v != version {
                return Err(AppError::Conflict { expected: v });
            }
        }
        let now = self.now();
        let events = self.decide(&view.state, cmd, who, now)?;
        let action = format!("case.{}", cmd.name());
        let write = self.append_write(&view, &actor, events, &action, now)?;
        let r = self.store().write_case(write).await?;
        self.reindex(r.id);
        Ok(r)
    }

    /// A staff member's command on a case they may see.
    pub async fn execute(
        &self,
        user: &StaffUser,
        id: i64,
        expected_version: Option<u64>,
        cmd: &Command,
    ) -> Result<CaseRef> {
        let view = self.visible_case(user, id).await?;
        let text = view
            .events
            .iter()
            .find_map(|e| crate::routing::case_text(&e.event));
        let r = self
            .run(view, &user.who(), user.actor(), expected_version, cmd)
            .await?;
        if let Some(text) = text {
            self.record_routing_label(user, id, &text, cmd, self.now())
                .await;
        }
        Ok(r)
    }

    /// The case a resident's tracking code names (as typed: case, spaces and
    /// hyphens do not matter).
    async fn case_by_code(&self, raw_code: &str) -> Result<CaseRow> {
        let code = normalise_tracking_code(raw_code).ok_or(AppError::CaseNotFound)?;
        self.store()
            .case_by_tracking_code(&code)
            .await?
            .ok_or(AppError::CaseNotFound)
    }

    /// The case of a resident's write by tracking code: the code must name a
    /// case and, when the case has the resident's phone number, `phone_last4`
    /// must be its last four digits (a code read over someone's shoulder or
    /// guessed is not enough to act as the resident). Both failures answer
    /// the same, so a write tells nothing about which codes exist.
    async fn case_for_resident_write(
        &self,
        raw_code: &str,
        phone_last4: Option<&str>,
    ) -> Result<CaseView> {
        let row = match self.case_by_code(raw_code).await {
            Err(AppError::CaseNotFound) => return Err(AppError::TrackCheckFailed),
            r => r?,
        };
        if !phone_digits_match(&row.reporter_phone, phone_last4) {
            return Err(AppError::TrackCheckFailed);
        }
        self.load(row.id).await
    }

    /// The resident rates the reply, with the tracking code (and the last
    /// four digits of their phone, see [`App::case_for_resident_write`]).
    pub async fn rate_by_code(
        &self,
        raw_code: &str,
        phone_last4: Option<&str>,
        rating: Rating,
        comment: Option<String>,
    ) -> Result<TrackView> {
        let view = self.case_for_resident_write(raw_code, phone_last4).await?;
        let cmd = Command::Rate {
            rating,
            comment,
            via: RatingVia::Resident,
        };
        let row = view.row.clone();
        self.run(view, &Who::Resident, Actor::Resident, None, &cmd)
            .await?;
        self.track_of(row).await
    }

    /// The resident changes how they hear of progress, with the tracking
    /// code (journalled as `contact_changed`, audited). A chat-group case's
    /// progress always goes back to its group.
    pub async fn change_contact_by_code(
        &self,
        raw_code: &str,
        phone_last4: Option<&str>,
        channel: Option<&str>,
        address: Option<&str>,
    ) -> Result<TrackView> {
        let contact = case::parse_contact(channel, address)?.ok_or_else(|| {
            suqiu_domain::FieldError::new("notify.channel", suqiu_domain::FieldErrorKind::Missing)
        })?;
        let view = self.case_for_resident_write(raw_code, phone_last4).await?;
        if view.state.intake.chat.is_some() {
            return Err(AppError::ContactOfChatCase);
        }
        let now = self.now();
        let before = self.stored(&view.state);
        let event = Event::ContactChanged { contact };
        let state = case::apply(Some(view.state), &event, now)
            .map_err(|e| AppError::Journal(e.to_string()))?;
        let target = WriteTarget {
            case_id: Some(view.row.id),
            version: view.row.version,
            code: &view.row.tracking_code,
            place_path: &view.row.place_path,
        };
        let mut write = self.case_write(target, &Actor::Resident, &[event], &state, now);
        write.before = Some(before);
        write.audit = Some(self.case_audit(&Actor::Resident, "case.contact", now));
        self.store().write_case(write).await?;
        self.track_of(view.row).await
    }

    /// A case with its full journal, if the user may see it (else not found:
    /// the existence of cases outside one's scope is not revealed).
    ///
    /// Links to other cases (related, merged into, duplicates) are shown only
    /// where the user may see the other case too: a hidden case's number never
    /// appears in the state or the timeline (see [`CaseView::hide_links`]).
    pub async fn case_for(&self, user: &StaffUser, id: i64) -> Result<CaseView> {
        let mut view = self.visible_case(user, id).await?;
        let linked = view.linked_ids();
        if !linked.is_empty() {
            let visible = self.visible_ids(user, linked).await?;
            view.hide_links(&visible);
        }
        Ok(view)
    }

    /// The case with its whole journal, if the user may see it, links
    /// unfiltered: for deciding commands, never for showing.
    pub(crate) async fn visible_case(&self, user: &StaffUser, id: i64) -> Result<CaseView> {
        let view = self.load(id).await?;
        if !user.may_open(&view.row, &view.state) {
            return Err(AppError::CaseNotFound);
        }
        Ok(view)
    }

    /// The cases of `ids` the user may open, with their states, in id order
    /// (one read of their rows and journals).
    pub(crate) async fn visible_cases(
        &self,
        user: &StaffUser,
        mut ids: Vec<i64>,
    ) -> Result<Vec<(CaseRow, CaseState)>> {
        ids.sort_unstable();
        ids.dedup();
        let rows = self.store().cases_by_ids(ids.clone()).await?;
        let events = self.store().events_of(ids).await?;
        let mut out = Vec::new();
        for (row, journal) in journals(&rows, &events) {
            let state = replay(journal)?;
            if user.may_open(row, &state) {
                out.push((row.clone(), state));
            }
        }
        Ok(out)
    }

    /// Which of `ids` the user may open.
    pub(crate) async fn visible_ids(
        &self,
        user: &StaffUser,
        ids: Vec<i64>,
    ) -> Result<std::collections::HashSet<i64>> {
        let cases = self.visible_cases(user, ids).await?;
        Ok(cases.into_iter().map(|(row, _)| row.id).collect())
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
        let v = user.visibility();
        filter.scopes = v.scopes;
        filter.involved_unit = v.involved_unit;
        filter.viewer_paths = v.viewer_paths;
        filter.viewer_login = v.viewer_login;
        Ok(self.store().list_cases(filter).await?)
    }

    /// The owner of the user's queue: a leader's queues are personal.
    pub fn queue_owner(&self, user: &StaffUser, queue: Queue) -> String {
        match queue {
            Queue::SetDeadline | Queue::Supervise | Queue::Owned => person_queue(&user.login),
            Queue::Callback if matches!(user.role, Role::PetitionBureau | Role::Admin) => {
                self.district()
            }
            _ => user.unit.clone(),
        }
    }

    /// One of the user's work queues, oldest first.
    pub async fn queue(&self, user: &StaffUser, queue: Queue, limit: u32) -> Result<Vec<CaseRow>> {
        Ok(self
            .queue_page(user, queue, None, &QueueQuery::default(), limit)
            .await?
            .0)
    }

    /// A page of the user's queue, oldest first, after a cursor, narrowed as
    /// asked; with the cursor of the next page when there is more.
    pub async fn queue_page(
        &self,
        user: &StaffUser,
        queue: Queue,
        after: Option<QueuePosition>,
        narrow: &QueueQuery,
        limit: u32,
    ) -> Result<(Vec<CaseRow>, Option<QueuePosition>)> {
        let owner = self.queue_owner(user, queue);
        let subtree = match narrow.place.as_deref() {
            None => None,
            Some(code) => Some(
                self.org()
                    .path(code)
                    .ok_or_else(|| AppError::UnknownUnit(code.to_string()))?
                    .to_string(),
            ),
        };
        if let Some(u) = &narrow.urgency {
            if !crate::commands::URGENCIES.iter().any(|(k, _)| k == u) {
                return Err(suqiu_domain::FieldError::new(
                    "urgency",
                    suqiu_domain::FieldErrorKind::InvalidValue,
                )
                .into());
            }
        }
        // The rule of the lists, in the query: a queue shows only what the
        // user may see (a linked leader's district-level queues are narrowed
        // to his units; accusations against him or his units never appear),
        // so pages are full and a cursor never names a hidden case. A
        // person's own queue (set the deadline, supervise, owned) holds cases
        // put there for them; only the accusation rule applies to it.
        let mut visibility = user.visibility();
        if owner == person_queue(&user.login) {
            visibility.scopes = None;
        }
        let filter = QueueFilter {
            visibility,
            subtree,
            category: narrow.category.clone(),
            urgency: narrow.urgency.clone(),
        };
        let mut rows = self
            .store()
            .queue_page(
                &owner,
                queue.as_str(),
                after,
                &filter,
                limit.saturating_add(1),
            )
            .await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|(pos, _)| *pos)
        } else {
            None
        };
        Ok((rows.into_iter().map(|(_, r)| r).collect(), next))
    }

    /// The resident's view by tracking code.
    pub async fn track(&self, raw_code: &str) -> Result<TrackView> {
        let row = self.case_by_code(raw_code).await?;
        self.track_of(row).await
    }

    /// The resident's view of a case already found by its code.
    async fn track_of(&self, row: CaseRow) -> Result<TrackView> {
        let events = self.store().events(row.id).await?;
        let state = replay(&events)?;
        let name = |c: &str| self.unit_name(c);
        let timeline = events
            .iter()
            .filter_map(|e| e.event.public_text(&name).map(|(zh, en)| (e.at, zh, en)))
            .collect();
        let photos = self
            .store()
            .photos(row.id)
            .await?
            .into_iter()
            .map(|p| p.n)
            .collect();
        let (notify_channel, notify_address) = notify_of(&state);
        Ok(TrackView {
            notify_channel,
            notify_address,
            tracking_code: row.tracking_code,
            status: state.status,
            title: state.intake.title.clone(),
            received_at: state.received_at,
            unit_name: self.unit_name(&state.current_unit),
            timeline,
            can_rate: state.status == Status::Replied,
            phone_check: phone_last4(&row.reporter_phone).is_some(),
            photos,
        })
    }

    /// Whether a unit code names a department (for the web's dispatch form).
    pub fn is_department(&self, code: &str) -> bool {
        self.org()
            .unit(code)
            .map(|u| u.level == Level::Department)
            .unwrap_or(false)
    }
}

/// The last four digits of a phone number (the resident's second factor on
/// writes by tracking code), if it has four.
pub fn phone_last4(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| digits[digits.len() - 4..].iter().collect())
}

/// Whether `given` is the last four digits of `phone` (always true for a
/// case without a phone number: there is nothing to check against).
fn phone_digits_match(phone: &str, given: Option<&str>) -> bool {
    match phone_last4(phone) {
        None => true,
        Some(last4) => given.is_some_and(|g| g.trim() == last4),
    }
}

pub(crate) fn project(id: i64, code: &str, place_path: &str, s: &CaseState) -> CaseRow {
    CaseRow {
        id,
        tracking_code: code.to_string(),
        status: s.status.as_str().to_string(),
        channel: s.intake.channel.as_str().to_string(),
        place_unit: s.intake.place_unit.clone(),
        place_path: place_path.to_string(),
        current_unit: s.current_unit.clone(),
        title: s.intake.title.clone(),
        reporter_name: s.intake.reporter.name.clone(),
        reporter_phone: s.intake.reporter.phone.clone(),
        received_at: s.received_at,
        updated_at: s.updated_at,
        version: s.version,
        category: s.category.clone(),
        urgency: s.urgency.map(|u| u.as_str().to_string()),
        accused_path: None,
        accused_login: None,
    }
}

/// How the reporter of a case hears of progress: (channel, masked address).
pub fn notify_of(s: &CaseState) -> (&'static str, Option<String>) {
    use suqiu_domain::case::ContactChannel;
    if s.intake.chat.is_some() {
        return ("chat_group", None);
    }
    match &s.contact {
        Some(c) if c.channel == ContactChannel::Sms && c.address.is_none() => (
            "sms",
            Some(suqiu_domain::validate::mask_phone(&s.intake.reporter.phone))
                .filter(|p| !p.is_empty()),
        ),
        Some(c) => (c.channel.as_str(), c.masked_address()),
        None => (
            "sms",
            Some(suqiu_domain::validate::mask_phone(&s.intake.reporter.phone))
                .filter(|p| !p.is_empty()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;
    use std::sync::Arc;

    #[tokio::test]
    async fn rebuilt_projections_follow_the_journal() {
        let db = suqiu_store::testing::sqlite().await.unwrap();
        let clock = Arc::new(FixedClock::new(1_767_232_800_000));
        let app = App::new(db.store.clone(), clock).await.unwrap();
        app.load_org(crate::orgconfig::DEMO_DISTRICT).await.unwrap();
        let place = "430799001002-01";
        let input = IntakeInput {
            channel: Some("web".into()),
            unit: Some(place.into()),
            title: Some("路灯不亮".into()),
            content: Some("小区门口路灯坏了一个星期".into()),
            reporter_name: Some("王小明".into()),
            reporter_phone: Some("13900001111".into()),
            ..Default::default()
        };
        let r = app.file_case(&input, None).await.unwrap();
        let triage = "430799001002";
        let in_queue = |q: Vec<CaseRow>| q.iter().any(|c| c.id == r.id);
        assert!(in_queue(
            db.store.queue(triage, "triage", 50).await.unwrap()
        ));
        let deadlines = db.store.deadlines(r.id).await.unwrap();
        assert!(!deadlines.is_empty());

        // projections as an older release might have left them
        let stale = Stored::default();
        let done = db
            .store
            .replace_projections(r.id, r.version, stale, 1)
            .await;
        assert_eq!(done.unwrap(), Some(true));
        assert!(!in_queue(
            db.store.queue(triage, "triage", 50).await.unwrap()
        ));

        assert_eq!(app.rebuild_projections().await.unwrap(), (1, 1));
        assert!(in_queue(
            db.store.queue(triage, "triage", 50).await.unwrap()
        ));
        assert_eq!(db.store.deadlines(r.id).await.unwrap(), deadlines);
        assert_eq!(
            app.rebuild_projections().await.unwrap(),
            (1, 0),
            "nothing left to change"
        );
    }
}
