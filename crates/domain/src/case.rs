//! Cases as an event journal: events, the projected state, decide and apply.
//!
//! Event payloads are the persisted format of the journal, so (unlike other core
//! types) they derive serde; a change to them is a change to stored data.

use crate::validate::{bounded_text, FieldError, FieldErrorKind, IdNumber, PhoneNumber};
pub use crate::workflow::{Difficulty, Rating, RatingVia, Urgency};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Milliseconds since the Unix epoch (UTC). The domain never reads a clock.
pub type Millis = i64;

pub const MAX_TITLE: usize = 100;
pub const MAX_CONTENT: usize = 5000;
pub const MAX_NAME: usize = 50;
pub const MAX_ADDRESS: usize = 200;
pub const MAX_NOTE: usize = 2000;

/// Every intake channel of DOMAIN.md §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 村/社区群聊 (WeChat / WeCom / DingTalk group)
    ChatGroup,
    /// 网上信访: portal or mobile page, filed by the resident
    Web,
    /// 网上代访: a grid worker files on the resident's behalf
    Proxy,
    /// 民情走访台账: door-to-door visit ledger
    DoorToDoor,
    /// 12345 热线
    #[serde(rename = "hotline_12345")]
    Hotline12345,
    /// 舆情监测
    PublicOpinion,
    /// 来访: walk-in reception
    Visit,
    /// 来信
    Letter,
    /// 书记区长接待日
    LeaderReception,
    /// 视频约访
    Video,
    /// 矛盾纠纷排查
    Screening,
}

impl Channel {
    pub const ALL: [Channel; 11] = [
        Channel::ChatGroup,
        Channel::Web,
        Channel::Proxy,
        Channel::DoorToDoor,
        Channel::Hotline12345,
        Channel::PublicOpinion,
        Channel::Visit,
        Channel::Letter,
        Channel::LeaderReception,
        Channel::Video,
        Channel::Screening,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::ChatGroup => "chat_group",
            Channel::Web => "web",
            Channel::Proxy => "proxy",
            Channel::DoorToDoor => "door_to_door",
            Channel::Hotline12345 => "hotline_12345",
            Channel::PublicOpinion => "public_opinion",
            Channel::Visit => "visit",
            Channel::Letter => "letter",
            Channel::LeaderReception => "leader_reception",
            Channel::Video => "video",
            Channel::Screening => "screening",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Channel::ChatGroup => "群聊反映",
            Channel::Web => "网上提交",
            Channel::Proxy => "网格员代办",
            Channel::DoorToDoor => "民情走访",
            Channel::Hotline12345 => "12345热线",
            Channel::PublicOpinion => "舆情监测",
            Channel::Visit => "来访",
            Channel::Letter => "来信",
            Channel::LeaderReception => "领导接待日",
            Channel::Video => "视频约访",
            Channel::Screening => "矛盾纠纷排查",
        }
    }

    /// Channels a resident may use without logging in.
    pub fn is_public(self) -> bool {
        matches!(self, Channel::Web)
    }
}

/// Where a case stands in the six orders (DOMAIN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 待研判: received, waiting for the community's same-day triage
    Received,
    /// 已研判: triaged by the community, to resolve, report or explain
    Triaged,
    /// 待签收: reported to the township/street, waiting for it to sign
    Reported,
    /// 街道跟单: signed by the street, to handle or dispatch (also after a return)
    AtStreet,
    /// 街道办理: the street handles it itself with a responsible person
    StreetHandling,
    /// 待接单: dispatched to departments, waiting for the lead to accept
    Dispatched,
    /// 办理中: the lead department handles it
    InProgress,
    /// 待定时限: an especially difficult matter waiting for the leader's deadline
    AwaitingLeaderDeadline,
    /// 已答复，待评价: replied (or explained), waiting for the rating
    Replied,
    /// 不满意，待决定: rated unsatisfied, to re-handle or close
    Unsatisfied,
    /// 已办结
    Closed,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::Received,
        Status::Triaged,
        Status::Reported,
        Status::AtStreet,
        Status::StreetHandling,
        Status::Dispatched,
        Status::InProgress,
        Status::AwaitingLeaderDeadline,
        Status::Replied,
        Status::Unsatisfied,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Triaged => "triaged",
            Status::Reported => "reported",
            Status::AtStreet => "at_street",
            Status::StreetHandling => "street_handling",
            Status::Dispatched => "dispatched",
            Status::InProgress => "in_progress",
            Status::AwaitingLeaderDeadline => "awaiting_leader_deadline",
            Status::Replied => "replied",
            Status::Unsatisfied => "unsatisfied",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Status::Received => "已受理，待研判",
            Status::Triaged => "已研判，村（社区）办理中",
            Status::Reported => "已上报乡镇（街道），待签收",
            Status::AtStreet => "乡镇（街道）跟单中",
            Status::StreetHandling => "乡镇（街道）办理中",
            Status::Dispatched => "已派单，待部门接单",
            Status::InProgress => "部门办理中",
            Status::AwaitingLeaderDeadline => "待领导确定办理时限",
            Status::Replied => "已答复，待评价",
            Status::Unsatisfied => "评价不满意，待研究",
            Status::Closed => "已办结",
        }
    }

    pub fn is_open(self) -> bool {
        self != Status::Closed
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A resident, unauthenticated (identified by the case's tracking code).
    Resident,
    /// A staff member, by login, with their unit at the time.
    Staff {
        login: String,
        name: String,
        unit: String,
    },
    /// The system itself (sweeper, importer).
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    pub name: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// The reporter asked that their identity be kept confidential.
    #[serde(default)]
    pub confidential: bool,
}

/// The grid worker (or other staff) who filed on the resident's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    pub login: String,
    pub name: String,
    pub unit: String,
}

/// What was received: the content of the `received` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub channel: Channel,
    /// The place the matter concerns (community, grid or hamlet).
    pub place_unit: String,
    /// The village/community that triages it.
    pub triage_unit: String,
    /// The township/street above the triage unit.
    pub street: String,
    pub title: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub reporter: Reporter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Proxy>,
    /// An accusation (检举控告): the accused unit (never shown to it or its subtree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accused_unit: Option<String>,
    /// The accused person (login or name; never shown to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accused_person: Option<String>,
    /// A message to a village's or community's chat group: which group and
    /// who wrote it (progress is posted back to the group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatSource>,
    /// How the reporter wants to hear of progress; none given: SMS to the
    /// reporter's phone (personal data: masked, anonymised with the reporter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Where the matter is, if the filer gave coordinates (Open311 `lat`/`long`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// WGS 84 coordinates in millionths of a degree (about 0.1 m; integers keep
/// the journal exact and comparable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub lat_e6: i64,
    pub long_e6: i64,
}

impl Location {
    pub fn lat(self) -> f64 {
        self.lat_e6 as f64 / 1e6
    }

    pub fn long(self) -> f64 {
        self.long_e6 as f64 / 1e6
    }
}

/// Parses a latitude and longitude in decimal degrees: both or neither,
/// latitude within ±90, longitude within ±180.
pub fn parse_location(
    lat: Option<&str>,
    long: Option<&str>,
) -> Result<Option<Location>, FieldError> {
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let degrees = |field: &str, raw: &str, max: f64| -> Result<i64, FieldError> {
        let v: f64 = raw
            .parse()
            .map_err(|_| FieldError::new(field, FieldErrorKind::InvalidValue))?;
        if !v.is_finite() || v.abs() > max {
            return Err(FieldError::new(field, FieldErrorKind::InvalidValue));
        }
        Ok((v * 1e6).round() as i64)
    };
    match (given(lat), given(long)) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(FieldError::new("long", FieldErrorKind::Missing)),
        (None, Some(_)) => Err(FieldError::new("lat", FieldErrorKind::Missing)),
        (Some(a), Some(o)) => Ok(Some(Location {
            lat_e6: degrees("lat", a, 90.0)?,
            long_e6: degrees("long", o, 180.0)?,
        })),
    }
}

/// The reporter's preferred channel for notifications, and its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub channel: ContactChannel,
    /// The phone number (SMS; none: the reporter's phone) or the e-mail
    /// address; none for `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Sms,
    Email,
    /// No notifications (the resident follows the case by tracking code).
    None,
}

impl ContactChannel {
    pub const ALL: [ContactChannel; 3] = [
        ContactChannel::Sms,
        ContactChannel::Email,
        ContactChannel::None,
    ];

    pub fn parse(s: &str) -> Option<ContactChannel> {
        ContactChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Sms => "sms",
            ContactChannel::Email => "email",
            ContactChannel::None => "none",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            ContactChannel::Sms => "短信",
            ContactChannel::Email => "电子邮件",
            ContactChannel::None => "不接收通知",
        }
    }
}

impl Contact {
    /// The address masked as in lists (phone `138****1234`, e-mail `z***@example.cn`).
    pub fn masked_address(&self) -> Option<String> {
        self.address.as_deref().map(|a| match self.channel {
            ContactChannel::Email => crate::validate::mask_email(a),
            _ => crate::validate::mask_phone(a),
        })
    }
}

/// Parses a preferred channel and address (`notify.channel`, `notify.address`):
/// nothing given is `None` (the default: SMS to the reporter's phone); `sms`
/// takes an optional phone number, `email` a required e-mail address, `none`
/// no address.
pub fn parse_contact(
    channel: Option<&str>,
    address: Option<&str>,
) -> Result<Option<Contact>, FieldError> {
    let address = address.map(str::trim).filter(|a| !a.is_empty());
    let channel = match channel.map(str::trim).filter(|c| !c.is_empty()) {
        None if address.is_none() => return Ok(None),
        None => return Err(FieldError::new("notify.channel", FieldErrorKind::Missing)),
        Some(c) => ContactChannel::parse(c)
            .ok_or_else(|| FieldError::new("notify.channel", FieldErrorKind::InvalidValue))?,
    };
    let address = match (channel, address) {
        (ContactChannel::Sms, None) => None,
        (ContactChannel::Sms, Some(a)) => Some(
            PhoneNumber::parse("notify.address", a)?
                .as_str()
                .to_string(),
        ),
        (ContactChannel::Email, None) => {
            return Err(FieldError::new("notify.address", FieldErrorKind::Missing))
        }
        (ContactChannel::Email, Some(a)) => {
            Some(crate::validate::parse_email("notify.address", a)?)
        }
        (ContactChannel::None, None) => None,
        (ContactChannel::None, Some(_)) => {
            return Err(FieldError::new(
                "notify.address",
                FieldErrorKind::InvalidValue,
            ))
        }
    };
    Ok(Some(Contact { channel, address }))
}

/// Where a chat-group message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSource {
    /// The group's id in the configuration.
    pub group: String,
    /// The sender's id in the chat platform (to mention them in replies).
    pub sender: String,
}

impl Intake {
    pub fn is_accusation(&self) -> bool {
        self.accused_unit.is_some() || self.accused_person.is_some()
    }
}

/// A running deadline, as set by a `deadline_set` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineInfo {
    pub rule: String,
    /// The unit that must act.
    pub unit: String,
    pub due_at: Millis,
    pub warn_at: Millis,
    /// A date outside the holiday data was examined (see the calendar crate).
    pub provisional: bool,
    /// Event kinds that end this deadline.
    pub ends: Vec<String>,
    /// How it was counted, so it can be counted again when the calendar
    /// changes (absent in deadlines set before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<DeadlineBasis>,
    /// The case arrived outside the unit's office hours: counted from the
    /// next working day (非工作时间受理，按下一工作日计).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_hours: bool,
}

/// What a deadline was counted from: its start date (China), length and
/// unit, the warning lead and when it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineBasis {
    /// `YYYY-MM-DD`, after the office-hours rule.
    pub start: String,
    pub length: u32,
    pub day_unit: suqiu_calendar::DayUnit,
    /// Milliseconds before due at which it warns.
    pub warn_ms: i64,
    pub set_at: Millis,
}

/// One fact in a case's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// 点单: the matter was received.
    Received(Box<Intake>),
    /// A staff member's note (visit note, phone call); internal.
    NoteAdded { text: String },
    /// A photo was attached (the bytes are stored beside the journal, under
    /// the case and `photo`, and deleted with the personal data).
    PhotoAttached {
        photo: u32,
        content_type: String,
        bytes: u64,
    },
    /// 报单: the community's triage: urgency tier and category.
    Triaged { urgency: Urgency, category: String },
    /// Reported to the township/street.
    ReportedToStreet {
        street: String,
        note: Option<String>,
    },
    /// 签收: the street signed for it.
    Signed { street: String },
    /// 跟单: the street handles it itself with a responsible person.
    StreetAssigned { responsible: String },
    /// 派单: dispatched to a lead unit and cooperating units.
    Dispatched {
        lead: String,
        cooperating: Vec<String>,
        difficulty: Difficulty,
    },
    /// 接单: the lead department accepted and contacted the resident.
    Accepted { unit: String, contact_note: String },
    /// 退单: a department returned the order to the dispatcher.
    Returned { unit: String, reason: String },
    /// A cooperating unit reported to the lead unit.
    CooperationReported { unit: String, text: String },
    /// The department asked the linked leader to set a deadline.
    LeaderDeadlineRequested {
        unit: String,
        reason: String,
        leader: Option<String>,
    },
    /// The leader set the deadline (a `deadline_set` event carries it).
    LeaderDeadlineSet { leader: String },
    /// Reply with result and policy basis.
    Replied {
        unit: String,
        result: String,
        policy_basis: Option<String>,
    },
    /// An unreasonable demand: the explanation visit (政策解答、思想疏导).
    Explained {
        unit: String,
        visited_by: String,
        visited_at: Millis,
        policy_basis: String,
        note: Option<String>,
    },
    /// 评单: the rating.
    Rated {
        rating: Rating,
        comment: Option<String>,
        via: RatingVia,
    },
    /// A unit the rating went back to (评单) has read it: it leaves that
    /// unit's "rated" queue.
    RatingAcknowledged { unit: String },
    /// After 不满意: handled again by `unit`.
    Reopened { reason: String, unit: String },
    /// Closed (after a rating, or with an explanation after 不满意).
    Closed { explanation: Option<String> },
    /// 包案: a leader takes personal ownership.
    OwnershipTaken { leader: String },
    /// 督单: on-site supervision by the leader (a `deadline_set` carries the new deadline).
    Supervised { leader: String, note: String },
    /// 约谈: an interview of a unit's head.
    InterviewRecorded {
        leader: String,
        unit: String,
        head: String,
        note: String,
    },
    /// A deadline started.
    DeadlineSet(Box<DeadlineInfo>),
    /// A deadline ended because the step it measured was done (or replaced).
    DeadlineCleared { rule: String },
    /// The sweeper: the deadline is near.
    DeadlineWarned { rule: String },
    /// A running deadline counted again because the holiday calendar of its
    /// dates arrived (or changed): the new due date, and the old one.
    DeadlineRecomputed {
        rule: String,
        due_at: Millis,
        warn_at: Millis,
        provisional: bool,
        was_due_at: Millis,
    },
    /// The sweeper: the deadline passed; supervision is raised to the leader.
    DeadlineOverdue {
        rule: String,
        leader: Option<String>,
    },
    /// The resident changed how they hear of progress (with the tracking code).
    ContactChanged { contact: Contact },
    /// Danger signals found in the matter at intake (a threat to life,
    /// violence, gas, collapse, workers owed wages…): the linked leader and
    /// the triage unit are told at once.
    UrgentSignalled {
        signals: Vec<String>,
        leader: Option<String>,
    },
    /// Linked as related (关联件) to another case at intake: the same resident
    /// repeating a matter, or several residents reporting one problem. Both cases
    /// carry the link. `reason` is `same_reporter`, `same_place_same_problem` or
    /// `similar_text`; `score` is the text overlap in thousandths.
    RelatedLinked {
        case_id: i64,
        reason: String,
        score: u16,
    },
    /// 合并: this case repeats the matter of case `into` and is closed as merged
    /// into it (its journal stays; the primary carries on).
    Merged { into: i64, reason: String },
    /// The duplicate `case_id` was merged into this case.
    DuplicateMerged { case_id: i64, reason: String },
    /// 转送: an accusation no one in the district may handle (it names the
    /// district itself, or its petition bureau's staff) was sent at intake to
    /// the oversight unit `unit` (纪检监察机关, outside the accused tree),
    /// which then triages and handles it like the petition bureau would.
    ForwardedToOversight { unit: String, reason: String },
}

/// Every event kind (`Event::kind`), e.g. for checking deadline rules.
pub const EVENT_KINDS: &[&str] = &[
    "received",
    "note_added",
    "photo_attached",
    "triaged",
    "reported_to_street",
    "signed",
    "street_assigned",
    "dispatched",
    "accepted",
    "returned",
    "cooperation_reported",
    "leader_deadline_requested",
    "leader_deadline_set",
    "replied",
    "explained",
    "rated",
    "rating_acknowledged",
    "reopened",
    "closed",
    "ownership_taken",
    "supervised",
    "interview_recorded",
    "deadline_set",
    "deadline_cleared",
    "deadline_warned",
    "deadline_recomputed",
    "deadline_overdue",
    "urgent_signalled",
    "forwarded_to_oversight",
];

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Received(_) => "received",
            Event::NoteAdded { .. } => "note_added",
            Event::PhotoAttached { .. } => "photo_attached",
            Event::Triaged { .. } => "triaged",
            Event::ReportedToStreet { .. } => "reported_to_street",
            Event::Signed { .. } => "signed",
            Event::StreetAssigned { .. } => "street_assigned",
            Event::Dispatched { .. } => "dispatched",
            Event::Accepted { .. } => "accepted",
            Event::Returned { .. } => "returned",
            Event::CooperationReported { .. } => "cooperation_reported",
            Event::LeaderDeadlineRequested { .. } => "leader_deadline_requested",
            Event::LeaderDeadlineSet { .. } => "leader_deadline_set",
            Event::Replied { .. } => "replied",
            Event::Explained { .. } => "explained",
            Event::Rated { .. } => "rated",
            Event::RatingAcknowledged { .. } => "rating_acknowledged",
            Event::Reopened { .. } => "reopened",
            Event::Closed { .. } => "closed",
            Event::OwnershipTaken { .. } => "ownership_taken",
            Event::Supervised { .. } => "supervised",
            Event::InterviewRecorded { .. } => "interview_recorded",
            Event::DeadlineSet(_) => "deadline_set",
            Event::DeadlineCleared { .. } => "deadline_cleared",
            Event::DeadlineWarned { .. } => "deadline_warned",
            Event::DeadlineRecomputed { .. } => "deadline_recomputed",
            Event::UrgentSignalled { .. } => "urgent_signalled",
            Event::ContactChanged { .. } => "contact_changed",
            Event::RelatedLinked { .. } => "related_linked",
            Event::Merged { .. } => "merged",
            Event::DuplicateMerged { .. } => "duplicate_merged",
            Event::DeadlineOverdue { .. } => "deadline_overdue",
            Event::ForwardedToOversight { .. } => "forwarded_to_oversight",
        }
    }

    /// The event with the logins it names (leaders) replaced by `person(login)`,
    /// for staff pages and timelines ("提请杨建国（区领导）督办", not a login).
    pub fn with_person_names(&self, person: &dyn Fn(&str) -> String) -> Event {
        let mut e = self.clone();
        let one = |l: &mut String| *l = person(l);
        match &mut e {
            Event::LeaderDeadlineSet { leader }
            | Event::OwnershipTaken { leader }
            | Event::Supervised { leader, .. }
            | Event::InterviewRecorded { leader, .. } => one(leader),
            Event::DeadlineOverdue { leader, .. }
            | Event::UrgentSignalled { leader, .. }
            | Event::LeaderDeadlineRequested { leader, .. } => {
                if let Some(l) = leader {
                    one(l)
                }
            }
            _ => {}
        }
        e
    }

    /// Plain words for the resident's tracking page, or None for internal events.
    /// Never contains personal data. `unit_name` resolves a unit code to its name.
    pub fn public_text(&self, unit_name: &dyn Fn(&str) -> String) -> Option<(String, String)> {
        let t = |zh: String, en: String| Some((zh, en));
        match self {
            Event::Received(i) => {
                let name = unit_name(&i.triage_unit);
                t(
                    format!("您的诉求已受理，正由{name}研判处理。"),
                    format!("Your request was received; {name} is reviewing it."),
                )
            }
            // the resident is told what happens next, in plain and polite words
            Event::Triaged { urgency, .. } => match urgency {
                Urgency::Urgent => t(
                    "村（社区）已研判您的诉求，将尽快为您办理。".into(),
                    "The community reviewed your request and will handle it promptly.".into(),
                ),
                Urgency::Deferred => t(
                    "村（社区）已研判您的诉求，将按程序为您办理，请耐心等待。".into(),
                    "The community reviewed your request and will handle it in due course.".into(),
                ),
                Urgency::Unreasonable => t(
                    "村（社区）已研判您的诉求。按照现行政策暂不能满足，工作人员将与您联系，当面向您说明政策依据。".into(),
                    "The community reviewed your request. Current policy does not allow it; staff will contact you and explain the policy in person.".into(),
                ),
            },
            Event::ReportedToStreet { street, .. } => {
                let name = unit_name(street);
                t(
                    format!("村（社区）已将您的诉求上报{name}。"),
                    format!("The community reported your request to {name}."),
                )
            }
            Event::Signed { street } => {
                let name = unit_name(street);
                t(
                    format!("{name}已签收，正在跟进。"),
                    format!("{name} signed for it and is following it up."),
                )
            }
            Event::StreetAssigned { .. } => t(
                "乡镇（街道）已明确责任人办理。".into(),
                "The township/street assigned a responsible person.".into(),
            ),
            Event::Dispatched { lead, .. } => {
                let name = unit_name(lead);
                t(
                    format!("已派{name}办理。"),
                    format!("It was dispatched to {name}."),
                )
            }
            Event::Accepted { unit, .. } => {
                let name = unit_name(unit);
                t(
                    format!("{name}已接单，正在办理。"),
                    format!("{name} accepted it and is working on it."),
                )
            }
            Event::Returned { .. } => t(
                "承办单位认为不属其职责，正在重新派单。".into(),
                "The department found it is not responsible; it is being re-dispatched.".into(),
            ),
            Event::Replied { unit, result, .. } => {
                let name = unit_name(unit);
                t(
                    format!("{name}已答复：{result}"),
                    format!("{name} replied: {result}"),
                )
            }
            Event::Explained { policy_basis, .. } => t(
                format!("工作人员已上门向您解释相关政策：{policy_basis}"),
                format!("Staff visited you to explain the policy: {policy_basis}"),
            ),
            Event::Rated { rating, .. } => t(
                format!("评价：{}。", rating.zh()),
                format!("Rating: {}.", rating.en()),
            ),
            Event::Reopened { unit, .. } => {
                let name = unit_name(unit);
                t(
                    format!("已安排{name}重新办理。"),
                    format!("{name} is handling it again."),
                )
            }
            Event::Closed { .. } => t("您的诉求已办结。".into(), "Your request is closed.".into()),
            Event::DeadlineRecomputed {
                due_at, was_due_at, ..
            } => {
                let (new, old) = (china_day(*due_at), china_day(*was_due_at));
                if new == old {
                    return None;
                }
                t(
                    format!(
                        "按新公布的节假日安排，办理时限由{}调整为{}。",
                        day_zh(old),
                        day_zh(new)
                    ),
                    format!(
                        "With the newly published holiday calendar, the deadline moved from {old} to {new}."
                    ),
                )
            }
            Event::OwnershipTaken { .. } => t(
                "区领导已包案负责您的诉求。".into(),
                "A district leader took personal charge of your request.".into(),
            ),
            Event::Supervised { .. } => t(
                "领导已现场督办，并确定了新的办理时限。".into(),
                "A leader supervised it on site and set a new deadline.".into(),
            ),
            Event::ContactChanged { contact } => t(
                format!("您已更改接收办理进展的方式：{}。", contact.channel.zh()),
                format!(
                    "You changed how you hear of progress: {}.",
                    contact.channel.as_str()
                ),
            ),
            // the resident sees the photos themselves, not a step
            Event::PhotoAttached { .. }
            | Event::NoteAdded { .. }
            | Event::CooperationReported { .. }
            | Event::LeaderDeadlineRequested { .. }
            | Event::LeaderDeadlineSet { .. }
            | Event::InterviewRecorded { .. }
            | Event::DeadlineSet(_)
            | Event::DeadlineCleared { .. }
            | Event::DeadlineWarned { .. }
            | Event::RatingAcknowledged { .. }
            | Event::DeadlineOverdue { .. }
            | Event::UrgentSignalled { .. }
            | Event::RelatedLinked { .. }
            | Event::DuplicateMerged { .. }
            | Event::ForwardedToOversight { .. } => None, // `received` names who handles it
            Event::Merged { .. } => t(
                "您的诉求与已受理的同一事项合并办理，办理结果将一并答复。".into(),
                "Your request was merged with an earlier report of the same matter; \
                 the answer will cover both."
                    .into(),
            ),
        }
    }
}

/// The date in China of the last moment of a deadline (due at 24:00).
fn china_day(due_at: Millis) -> time::Date {
    crate::workflow::china_date(due_at - 1)
}

fn day_zh(d: time::Date) -> String {
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

/// A deadline in the state, with the sweeper's marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveDeadline {
    pub info: DeadlineInfo,
    pub warned: bool,
    pub overdue: bool,
    /// The leader supervision was raised to when it became overdue.
    pub leader: Option<String>,
}

/// Which level handled the case last (who re-handles after 不满意).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Community,
    Street,
    Department,
}

/// The current state of a case: a pure fold of its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub status: Status,
    pub intake: Intake,
    /// The unit currently responsible (whose queue holds the case).
    pub current_unit: String,
    pub urgency: Option<Urgency>,
    pub category: Option<String>,
    pub difficulty: Option<Difficulty>,
    /// Lead department, when dispatched.
    pub lead: Option<String>,
    pub cooperating: Vec<String>,
    /// Cooperating units that have reported to the lead.
    pub cooperation_reported: Vec<String>,
    /// Every unit the case was ever dispatched to (they may see it).
    pub involved: Vec<String>,
    /// Returns per unit (退单).
    pub returns: Vec<(String, u32)>,
    pub responsible: Option<String>,
    pub handler: Option<Handler>,
    pub owner: Option<String>,
    /// The leader asked to set a deadline, while waiting.
    pub deadline_leader: Option<String>,
    pub deadlines: Vec<ActiveDeadline>,
    pub rating: Option<Rating>,
    /// The units the rating went back to that have not read it yet (评单:
    /// the lead department, the street that dispatched, the unit that answered).
    pub rating_unread: Vec<String>,
    pub replied_at: Option<Millis>,
    pub received_at: Millis,
    pub updated_at: Millis,
    pub closed_at: Option<Millis>,
    pub notes: u32,
    /// The reporter's preferred channel (the intake's, or the last change).
    pub contact: Option<Contact>,
    /// Cases linked as related (one link per case, the first kept).
    pub related: Vec<RelatedLink>,
    /// Set when this case was merged into another (it is then closed).
    pub merged_into: Option<i64>,
    /// Duplicates merged into this case.
    pub duplicates: Vec<i64>,
    /// Number of events applied; the next event gets sequence `version + 1`.
    pub version: u64,
}

/// A related case as recorded by [`Event::RelatedLinked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedLink {
    pub case_id: i64,
    pub reason: String,
    /// Thousandths.
    pub score: u16,
}

/// Work queues (a projection, rebuilt from state). A queue belongs to a unit,
/// or to a person (`@login`) for leaders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Queue {
    /// 今日研判: waiting for the community's triage
    Triage,
    /// triaged, the community resolves, reports or explains
    Resolve,
    /// 待签收
    Sign,
    /// 待派单 (also after a return)
    Dispatch,
    /// 待接单
    Accept,
    /// 办理中 (street or lead department)
    Handling,
    /// cooperating unit, not yet reported to the lead
    Cooperate,
    /// 待定时限 (leader)
    SetDeadline,
    /// 待回访评价 (callback staff of the district)
    Callback,
    /// 不满意，待决定
    Decide,
    /// 即将到期
    DueSoon,
    /// 已超期
    Overdue,
    /// 督办 (leader)
    Supervise,
    /// 我包案的 (leader)
    Owned,
    /// 评价反馈: the residents' ratings that came back to the unit (评单), until read
    Rated,
}

impl Queue {
    pub const ALL: [Queue; 15] = [
        Queue::Triage,
        Queue::Resolve,
        Queue::Sign,
        Queue::Dispatch,
        Queue::Accept,
        Queue::Handling,
        Queue::Cooperate,
        Queue::SetDeadline,
        Queue::Callback,
        Queue::Decide,
        Queue::DueSoon,
        Queue::Overdue,
        Queue::Supervise,
        Queue::Owned,
        Queue::Rated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Triage => "triage",
            Queue::Resolve => "resolve",
            Queue::Sign => "sign",
            Queue::Dispatch => "dispatch",
            Queue::Accept => "accept",
            Queue::Handling => "handling",
            Queue::Cooperate => "cooperate",
            Queue::SetDeadline => "set_deadline",
            Queue::Callback => "callback",
            Queue::Decide => "decide",
            Queue::DueSoon => "due_soon",
            Queue::Overdue => "overdue",
            Queue::Supervise => "supervise",
            Queue::Owned => "owned",
            Queue::Rated => "rated",
        }
    }

    pub fn parse(s: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Queue::Triage => "今日研判",
            Queue::Resolve => "待办理或上报",
            Queue::Sign => "待签收",
            Queue::Dispatch => "待派单",
            Queue::Accept => "待接单",
            Queue::Handling => "办理中",
            Queue::Cooperate => "待协办反馈",
            Queue::SetDeadline => "待定时限",
            Queue::Callback => "待回访评价",
            Queue::Decide => "不满意待决定",
            Queue::DueSoon => "即将到期",
            Queue::Overdue => "已超期",
            Queue::Supervise => "待督办",
            Queue::Owned => "我包案的",
            Queue::Rated => "群众评价反馈",
        }
    }
}

/// The owner of a person's queue (leaders' queues are personal).
pub fn person_queue(login: &str) -> String {
    format!("@{login}")
}

impl CaseState {
    /// Queue memberships implied by the state: (unit or `@login`, queue).
    /// `district` is the code of the district (callback staff's queue).
    pub fn queues(&self, district: &str) -> Vec<(String, Queue)> {
        let mut q: Vec<(String, Queue)> = Vec::new();
        let cur = self.current_unit.clone();
        match self.status {
            Status::Received => q.push((cur, Queue::Triage)),
            Status::Triaged => q.push((cur, Queue::Resolve)),
            Status::Reported => q.push((cur, Queue::Sign)),
            Status::AtStreet => q.push((cur, Queue::Dispatch)),
            Status::StreetHandling => q.push((cur, Queue::Handling)),
            Status::Dispatched => q.push((cur, Queue::Accept)),
            Status::InProgress => q.push((cur, Queue::Handling)),
            Status::AwaitingLeaderDeadline => {
                q.push((cur, Queue::Handling));
                if let Some(l) = &self.deadline_leader {
                    q.push((person_queue(l), Queue::SetDeadline));
                }
            }
            Status::Replied => q.push((district.to_string(), Queue::Callback)),
            Status::Unsatisfied => q.push((cur, Queue::Decide)),
            Status::Closed => {}
        }
        if matches!(
            self.status,
            Status::Dispatched | Status::InProgress | Status::AwaitingLeaderDeadline
        ) {
            for c in &self.cooperating {
                if !self.cooperation_reported.contains(c) {
                    q.push((c.clone(), Queue::Cooperate));
                }
            }
        }
        for d in &self.deadlines {
            if d.overdue {
                q.push((d.info.unit.clone(), Queue::Overdue));
                if let Some(l) = &d.leader {
                    q.push((person_queue(l), Queue::Supervise));
                }
            } else if d.warned {
                q.push((d.info.unit.clone(), Queue::DueSoon));
            }
        }
        if let (Some(o), true) = (&self.owner, self.status.is_open()) {
            q.push((person_queue(o), Queue::Owned));
        }
        for u in &self.rating_unread {
            q.push((u.clone(), Queue::Rated));
        }
        q.sort();
        q.dedup();
        q
    }

    /// The units a rating goes back to (评单, DOMAIN.md §3): the lead
    /// department and the street that dispatched to it, and the unit that
    /// holds the case (the one that answered).
    pub fn rating_units(&self) -> Vec<String> {
        let mut units: Vec<String> = Vec::new();
        if let Some(lead) = &self.lead {
            units.push(lead.clone());
            units.push(self.intake.street.clone());
        }
        units.push(self.current_unit.clone());
        let mut seen = std::collections::HashSet::new();
        units.retain(|u| !u.is_empty() && seen.insert(u.clone()));
        units
    }

    /// Returns counted for a unit.
    pub fn returns_of(&self, unit: &str) -> u32 {
        self.returns
            .iter()
            .find(|(u, _)| u == unit)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApplyError {
    #[error("the first event of a case must be `received`")]
    NotStarted,
    #[error("a case is received only once")]
    AlreadyReceived,
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// Folds one event into the state. Pure and total over any event sequence
/// that starts with `received`: `decide` guarantees the order is legal, and
/// replaying the journal gives back exactly the state that was projected.
pub fn apply(state: Option<CaseState>, event: &Event, at: Millis) -> Result<CaseState, ApplyError> {
    let mut s = match (state, event) {
        (None, Event::Received(i)) => {
            return Ok(CaseState {
                status: Status::Received,
                intake: (**i).clone(),
                current_unit: i.triage_unit.clone(),
                urgency: None,
                category: None,
                difficulty: None,
                lead: None,
                cooperating: vec![],
                cooperation_reported: vec![],
                involved: vec![],
                returns: vec![],
                responsible: None,
                handler: None,
                owner: None,
                deadline_leader: None,
                deadlines: vec![],
                rating: None,
                rating_unread: vec![],
                replied_at: None,
                received_at: at,
                updated_at: at,
                closed_at: None,
                notes: 0,
                contact: i.contact.clone(),
                related: vec![],
                merged_into: None,
                duplicates: vec![],
                version: 1,
            })
        }
        (None, _) => return Err(ApplyError::NotStarted),
        (Some(_), Event::Received(_)) => return Err(ApplyError::AlreadyReceived),
        (Some(s), _) => s,
    };
    s.version += 1;
    s.updated_at = at;
    match event {
        Event::Received(_) => {}
        Event::NoteAdded { .. } => s.notes += 1,
        Event::PhotoAttached { .. } => {}
        Event::ContactChanged { contact } => s.contact = Some(contact.clone()),
        Event::Triaged { urgency, category } => {
            s.status = Status::Triaged;
            s.urgency = Some(*urgency);
            s.category = Some(category.clone());
            s.handler = Some(Handler::Community);
        }
        Event::ReportedToStreet { street, .. } => {
            s.status = Status::Reported;
            s.current_unit = street.clone();
        }
        Event::Signed { street } => {
            s.status = Status::AtStreet;
            s.current_unit = street.clone();
            s.handler = Some(Handler::Street);
        }
        Event::StreetAssigned { responsible } => {
            s.status = Status::StreetHandling;
            s.responsible = Some(responsible.clone());
            s.handler = Some(Handler::Street);
        }
        Event::Dispatched {
            lead,
            cooperating,
            difficulty,
        } => {
            s.status = Status::Dispatched;
            s.current_unit = lead.clone();
            s.lead = Some(lead.clone());
            s.cooperating = cooperating.clone();
            s.cooperation_reported.clear();
            s.difficulty = Some(*difficulty);
            push_unique(&mut s.involved, lead);
            for c in cooperating {
                push_unique(&mut s.involved, c);
            }
            s.handler = Some(Handler::Department);
        }
        Event::Accepted { .. } => s.status = Status::InProgress,
        Event::Returned { unit, .. } => {
            s.status = Status::AtStreet;
            s.current_unit = s.intake.street.clone();
            s.lead = None;
            s.cooperating.clear();
            s.cooperation_reported.clear();
            s.handler = Some(Handler::Street);
            match s.returns.iter_mut().find(|(u, _)| u == unit) {
                Some((_, n)) => *n += 1,
                None => s.returns.push((unit.clone(), 1)),
            }
        }
        Event::CooperationReported { unit, .. } => push_unique(&mut s.cooperation_reported, unit),
        Event::LeaderDeadlineRequested { leader, .. } => {
            s.status = Status::AwaitingLeaderDeadline;
            s.deadline_leader = leader.clone();
        }
        Event::LeaderDeadlineSet { .. } => {
            s.status = Status::InProgress;
            s.deadline_leader = None;
        }
        Event::Replied { .. } | Event::Explained { .. } => {
            s.status = Status::Replied;
            s.replied_at = Some(at);
        }
        Event::Rated { rating, .. } => {
            s.rating = Some(*rating);
            s.rating_unread = s.rating_units();
            if *rating == Rating::Unsatisfied {
                s.status = Status::Unsatisfied;
                s.current_unit = match s.handler {
                    Some(Handler::Community) | None => s.intake.triage_unit.clone(),
                    _ => s.intake.street.clone(),
                };
            } else {
                s.status = Status::Closed;
                s.closed_at = Some(at);
            }
        }
        Event::RatingAcknowledged { unit } => s.rating_unread.retain(|u| u != unit),
        Event::Reopened { unit, .. } => {
            s.current_unit = unit.clone();
            s.rating = None;
            s.rating_unread.clear();
            s.status = match s.handler {
                Some(Handler::Department) => Status::InProgress,
                Some(Handler::Street) => Status::StreetHandling,
                Some(Handler::Community) | None => Status::Triaged,
            };
        }
        Event::Closed { .. } => {
            s.status = Status::Closed;
            s.closed_at = Some(at);
        }
        Event::OwnershipTaken { leader } => s.owner = Some(leader.clone()),
        Event::Supervised { .. } | Event::InterviewRecorded { .. } => {}
        Event::DeadlineSet(info) => {
            s.deadlines.retain(|d| d.info.rule != info.rule);
            s.deadlines.push(ActiveDeadline {
                info: (**info).clone(),
                warned: false,
                overdue: false,
                leader: None,
            });
        }
        Event::DeadlineCleared { rule } => s.deadlines.retain(|d| &d.info.rule != rule),
        Event::DeadlineWarned { rule } => {
            if let Some(d) = s.deadlines.iter_mut().find(|d| &d.info.rule == rule) {
                d.warned = true;
            }
        }
        Event::DeadlineRecomputed {
            rule,
            due_at,
            warn_at,
            provisional,
            ..
        } => {
            if let Some(d) = s.deadlines.iter_mut().find(|d| &d.info.rule == rule) {
                d.info.due_at = *due_at;
                d.info.warn_at = *warn_at;
                d.info.provisional = *provisional;
                // a warning given for the old date is given again for the new one
                if *warn_at > at {
                    d.warned = false;
                }
            }
        }
        Event::DeadlineOverdue { rule, leader } => {
            if let Some(d) = s.deadlines.iter_mut().find(|d| &d.info.rule == rule) {
                d.overdue = true;
                d.leader = leader.clone();
            }
        }
        // recorded in the journal (and told to people); changes no step
        Event::UrgentSignalled { .. } => {}
        Event::RelatedLinked {
            case_id,
            reason,
            score,
        } => {
            if !s.related.iter().any(|r| r.case_id == *case_id) {
                s.related.push(RelatedLink {
                    case_id: *case_id,
                    reason: reason.clone(),
                    score: *score,
                });
            }
        }
        Event::Merged { into, .. } => {
            s.status = Status::Closed;
            s.closed_at = Some(at);
            s.merged_into = Some(*into);
        }
        Event::DuplicateMerged { case_id, .. } => {
            if !s.duplicates.contains(case_id) {
                s.duplicates.push(*case_id);
            }
        }
        Event::ForwardedToOversight { unit, .. } => {
            // involved: its staff see the case (they see nothing else of the district)
            if !s.involved.contains(unit) {
                s.involved.push(unit.clone());
            }
        }
    }
    Ok(s)
}

/// Replays a journal from the start.
pub fn replay<'a>(
    events: impl IntoIterator<Item = (&'a Event, Millis)>,
) -> Result<Option<CaseState>, ApplyError> {
    let mut state = None;
    for (e, at) in events {
        state = Some(apply(state, e, at)?);
    }
    Ok(state)
}

/// Raw intake as it arrives from any channel, before parsing.
#[derive(Debug, Clone, Default)]
pub struct IntakeInput {
    pub channel: Option<String>,
    pub unit: Option<String>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub address: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub reporter_id_number: Option<String>,
    pub confidential: bool,
    /// An accusation (检举控告): the accused unit's code …
    pub accused_unit: Option<String>,
    /// … and/or the accused person (a staff login or a name).
    pub accused_person: Option<String>,
    /// The preferred channel for notifications: `sms`, `email` or `none`
    /// (see [`parse_contact`]) …
    pub notify_channel: Option<String>,
    /// … and its address.
    pub notify_address: Option<String>,
    /// Where the matter is: latitude and longitude in decimal degrees (both or neither).
    pub lat: Option<String>,
    pub long: Option<String>,
}

/// Intake after parsing: every field valid, except that the unit is not yet
/// resolved against the org tree (that needs the tree, see `app`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedIntake {
    pub channel: Channel,
    pub unit: String,
    pub title: String,
    pub content: String,
    pub address: Option<String>,
    pub reporter: Reporter,
    pub accused_unit: Option<String>,
    pub accused_person: Option<String>,
    pub contact: Option<Contact>,
    pub location: Option<Location>,
}

fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, FieldError> {
    v.as_deref()
        .ok_or_else(|| FieldError::new(field, FieldErrorKind::Missing))
}

/// Parses intake input, reporting the first invalid field.
pub fn parse_intake(input: &IntakeInput) -> Result<ParsedIntake, FieldError> {
    let channel_raw = required("channel", &input.channel)?;
    let channel = Channel::parse(channel_raw.trim())
        .ok_or_else(|| FieldError::new("channel", FieldErrorKind::InvalidChannel))?;
    let unit = bounded_text("unit", required("unit", &input.unit)?, 32, false)?;
    let title = bounded_text("title", required("title", &input.title)?, MAX_TITLE, false)?;
    let content = bounded_text(
        "content",
        required("content", &input.content)?,
        MAX_CONTENT,
        true,
    )?;
    let address = match input.address.as_deref() {
        None => None,
        Some(a) if a.trim().is_empty() => None,
        Some(a) => Some(bounded_text("address", a, MAX_ADDRESS, false)?),
    };
    let name = bounded_text(
        "reporter.name",
        required("reporter.name", &input.reporter_name)?,
        MAX_NAME,
        false,
    )?;
    // a chat-group message carries no phone number: progress goes back to the group
    let phone = match (channel, input.reporter_phone.as_deref()) {
        (Channel::ChatGroup, None) => String::new(),
        (Channel::ChatGroup, Some(p)) if p.trim().is_empty() => String::new(),
        _ => PhoneNumber::parse(
            "reporter.phone",
            required("reporter.phone", &input.reporter_phone)?,
        )?
        .as_str()
        .to_string(),
    };
    let id_number = match input.reporter_id_number.as_deref() {
        None => None,
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(IdNumber::parse("reporter.id_number", s)?),
    };
    Ok(ParsedIntake {
        channel,
        unit,
        title,
        content,
        address,
        reporter: Reporter {
            name,
            phone,
            id_number: id_number.map(|i| i.as_str().to_string()),
            confidential: input.confidential,
        },
        accused_unit: optional("accused.unit", &input.accused_unit, 32)?,
        accused_person: optional("accused.person", &input.accused_person, MAX_NAME)?,
        contact: parse_contact(
            input.notify_channel.as_deref(),
            input.notify_address.as_deref(),
        )?,
        location: parse_location(input.lat.as_deref(), input.long.as_deref())?,
    })
}

fn optional(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Ok(Some(bounded_text(field, s, max, false)?)),
    }
}

/// Parses a note's text.
pub fn parse_note(text: Option<&str>) -> Result<String, FieldError> {
    let t = text.ok_or_else(|| FieldError::new("text", FieldErrorKind::Missing))?;
    bounded_text("text", t, MAX_NOTE, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> IntakeInput {
        IntakeInput {
            channel: Some("web".into()),
            unit: Some("C1".into()),
            title: Some("路灯不亮".into()),
            content: Some("小区门口路灯坏了一周".into()),
            reporter_name: Some("张三".into()),
            reporter_phone: Some("13812341234".into()),
            ..Default::default()
        }
    }

    #[test]
    fn parse_reports_first_bad_field() {
        assert!(parse_intake(&input()).is_ok());
        let mut i = input();
        i.title = None;
        assert_eq!(parse_intake(&i).unwrap_err().field, "title");
        let mut i = input();
        i.channel = Some("fax".into());
        assert_eq!(
            parse_intake(&i).unwrap_err().kind,
            FieldErrorKind::InvalidChannel
        );
        let mut i = input();
        i.reporter_phone = Some("123".into());
        assert_eq!(parse_intake(&i).unwrap_err().field, "reporter.phone");
        let mut i = input();
        i.content = Some("字".repeat(MAX_CONTENT + 1));
        assert_eq!(
            parse_intake(&i).unwrap_err().kind,
            FieldErrorKind::TooLong { max: MAX_CONTENT }
        );
    }

    #[test]
    fn nul_and_other_control_characters_are_refused_in_free_text() {
        let control = FieldErrorKind::ControlCharacters;
        let mut i = input();
        i.title = Some("路灯\u{0}不亮".into());
        let e = parse_intake(&i).unwrap_err();
        assert_eq!((e.field.as_str(), &e.kind), ("title", &control));
        let mut i = input();
        i.content = Some("路灯坏了\u{0}".into());
        let e = parse_intake(&i).unwrap_err();
        assert_eq!((e.field.as_str(), &e.kind), ("content", &control));
        assert_eq!(e.kind.code(), "field_control_characters");
        let mut i = input();
        i.address = Some("幸福路\u{1b}12号".into());
        assert_eq!(parse_intake(&i).unwrap_err().kind, control);
        let mut i = input();
        i.content = Some("第一行\n\t第二行".into());
        assert!(
            parse_intake(&i).is_ok(),
            "line breaks and tabs of the content"
        );
        assert_eq!(parse_note(Some("备注\u{0}")).unwrap_err().kind, control);
        assert_eq!(parse_note(Some("备注\u{7f}")).unwrap_err().kind, control);
        assert!(parse_note(Some("第一行\n第二行")).is_ok());
    }

    #[test]
    fn every_channel_round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }

    fn received() -> Event {
        let p = parse_intake(&input()).unwrap();
        Event::Received(Box::new(Intake {
            channel: p.channel,
            place_unit: "G1".into(),
            triage_unit: "C1".into(),
            street: "S1".into(),
            title: p.title,
            content: p.content,
            address: None,
            reporter: p.reporter,
            proxy: None,
            accused_unit: None,
            accused_person: None,
            chat: None,
            contact: None,
            location: None,
        }))
    }

    #[test]
    fn apply_and_replay() {
        let e1 = received();
        let e2 = Event::NoteAdded {
            text: "已电话联系".into(),
        };
        let s1 = apply(None, &e1, 1000).unwrap();
        assert_eq!(s1.version, 1);
        assert_eq!(s1.queues("D"), vec![("C1".to_string(), Queue::Triage)]);
        let s2 = apply(Some(s1.clone()), &e2, 2000).unwrap();
        assert_eq!((s2.version, s2.notes, s2.updated_at), (2, 1, 2000));
        assert_eq!(
            replay([(&e1, 1000), (&e2, 2000)]).unwrap(),
            Some(s2.clone())
        );
        assert_eq!(apply(None, &e2, 0).unwrap_err(), ApplyError::NotStarted);
        assert_eq!(
            apply(Some(s2), &e1, 0).unwrap_err(),
            ApplyError::AlreadyReceived
        );
    }

    #[test]
    fn events_serialize_with_kind_tag() {
        let v = serde_json::to_value(received()).unwrap();
        assert_eq!(v["kind"], "received");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, received());
        let text = received().public_text(&|c| format!("{c}社区")).unwrap();
        assert!(!text.0.contains("张三") && !text.0.contains("138"));
    }
}

/// What an anonymised reporter is called.
pub const ANONYMISED: &str = "（已匿名）";

/// Replaces every run of 7 or more digits (a phone number, an ID number, a
/// bank account) in free text by a marker: what remains of a case's text
/// once its retention period for personal data is over.
pub fn scrub_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // separators after the last digit belong to the text, not the number
        let body = run.trim_end_matches(['-', ' ']);
        let tail = run[body.len()..].to_string();
        if body.chars().filter(char::is_ascii_digit).count() >= 7 {
            out.push_str("[已删除]");
        } else {
            out.push_str(body);
        }
        out.push_str(&tail);
        run.clear();
    };
    for c in text.chars() {
        // an ID number may end in X; digits may be full-width
        let digit = c.is_ascii_digit() || ('０'..='９').contains(&c);
        if digit || (!run.is_empty() && matches!(c, 'X' | 'x' | '-' | ' ')) {
            run.push(if digit && !c.is_ascii_digit() {
                char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c)
            } else {
                c
            });
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Fields of events that hold free text written by people (the only ones
/// scrubbed: codes, units and times stay as they are).
const FREE_TEXT: &[&str] = &[
    "title",
    "content",
    "text",
    "note",
    "reason",
    "result",
    "policy_basis",
    "comment",
    "contact_note",
    "explanation",
];

/// The personal strings of a case (the reporter's name, phone, ID number and
/// address, as filed), to be removed wherever they were copied into text.
pub fn personal_strings(journal: &[Event]) -> Vec<String> {
    let mut v = Vec::new();
    for e in journal {
        if let Event::Received(i) = e {
            v.push(i.reporter.name.clone());
            v.push(i.reporter.phone.clone());
            v.extend(i.reporter.id_number.clone());
            v.extend(i.address.clone());
        }
        let contact = match e {
            Event::Received(i) => i.contact.as_ref(),
            Event::ContactChanged { contact } => Some(contact),
            _ => None,
        };
        v.extend(contact.and_then(|c| c.address.clone()));
    }
    // longest first, and never a marker or a one-character name fragment
    v.retain(|s| s.chars().count() >= 2 && s != ANONYMISED);
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

/// An event with the reporter's personal data removed (PIPL §47): the
/// reporter's name, phone, ID number and address; in free text, those same
/// strings (`personal`, see [`personal_strings`]) and every long number.
/// Everything else (places, units, steps, times) stays, so the journal still
/// replays and the statistics still count.
pub fn anonymised(e: &Event, personal: &[String]) -> Event {
    fn walk(v: &mut serde_json::Value, free: bool, personal: &[String]) {
        match v {
            serde_json::Value::String(s) if free => {
                let mut t = s.clone();
                for p in personal {
                    t = t.replace(p.as_str(), ANONYMISED);
                }
                *s = scrub_numbers(&t);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, free, personal)),
            serde_json::Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    walk(x, FREE_TEXT.contains(&k.as_str()), personal);
                }
            }
            _ => {}
        }
    }
    let mut e = e.clone();
    if let Event::Received(intake) = &mut e {
        intake.reporter.name = ANONYMISED.into();
        intake.reporter.phone = String::new();
        intake.reporter.id_number = None;
        intake.address = None;
        intake.location = None;
        if let Some(c) = &mut intake.contact {
            c.address = None;
        }
    }
    if let Event::ContactChanged { contact } = &mut e {
        contact.address = None;
    }
    let Ok(mut v) = serde_json::to_value(&e) else {
        return e;
    };
    walk(&mut v, false, personal);
    serde_json::from_value(v).unwrap_or(e)
}

#[cfg(test)]
mod anonymise_tests {
    use super::*;

    #[test]
    fn long_numbers_go_short_ones_stay() {
        assert_eq!(
            scrub_numbers("电话13812345678，身份证43010219900101123X，3号楼2单元"),
            "电话[已删除]，身份证[已删除]，3号楼2单元"
        );
        assert_eq!(scrub_numbers("座机0731-8888 1234"), "座机[已删除]");
        assert_eq!(scrub_numbers("１３８１２３４５６７８"), "[已删除]");
        assert_eq!(scrub_numbers("2024年共12户"), "2024年共12户");
    }

    #[test]
    fn the_preferred_channel_is_parsed_and_anonymised() {
        assert_eq!(parse_contact(None, Some("  ")).unwrap(), None);
        let c = parse_contact(Some("email"), Some(" Wang@Example.CN "))
            .unwrap()
            .unwrap();
        assert_eq!(c.address.as_deref(), Some("Wang@example.cn"));
        assert_eq!(c.masked_address().as_deref(), Some("W***@example.cn"));
        let c = parse_contact(Some("sms"), None).unwrap().unwrap();
        assert_eq!((c.channel, c.address), (ContactChannel::Sms, None));
        for (ch, addr, field, kind) in [
            (
                Some("email"),
                Some("a@b"),
                "notify.address",
                FieldErrorKind::InvalidEmail,
            ),
            (
                Some("email"),
                Some("a b@c.cn"),
                "notify.address",
                FieldErrorKind::InvalidEmail,
            ),
            (
                Some("email"),
                None,
                "notify.address",
                FieldErrorKind::Missing,
            ),
            (
                Some("pigeon"),
                None,
                "notify.channel",
                FieldErrorKind::InvalidValue,
            ),
            (
                Some("none"),
                Some("13812345678"),
                "notify.address",
                FieldErrorKind::InvalidValue,
            ),
            (
                Some("sms"),
                Some("123"),
                "notify.address",
                FieldErrorKind::InvalidPhone,
            ),
        ] {
            assert_eq!(
                parse_contact(ch, addr).unwrap_err(),
                FieldError::new(field, kind),
                "{ch:?} {addr:?}"
            );
        }
        let changed = Event::ContactChanged {
            contact: Contact {
                channel: ContactChannel::Sms,
                address: Some("13712345678".into()),
            },
        };
        let r = Event::Received(Box::new(Intake {
            channel: Channel::Web,
            place_unit: "C1".into(),
            triage_unit: "C1".into(),
            street: "S1".into(),
            title: "路灯不亮".into(),
            content: "请发邮件到wang@example.cn告诉我".into(),
            address: None,
            reporter: Reporter {
                name: "王五".into(),
                phone: "13812345678".into(),
                id_number: None,
                confidential: false,
            },
            proxy: None,
            accused_unit: None,
            accused_person: None,
            chat: None,
            contact: Some(Contact {
                channel: ContactChannel::Email,
                address: Some("wang@example.cn".into()),
            }),
            location: parse_location(Some("28.2282094"), Some(" 112.938814")).unwrap(),
        }));
        let Event::Received(i) = &r else { panic!() };
        assert_eq!(
            i.location,
            Some(Location {
                lat_e6: 28_228_209,
                long_e6: 112_938_814
            })
        );
        let journal = vec![r.clone(), changed.clone()];
        let personal = personal_strings(&journal);
        assert!(personal.contains(&"wang@example.cn".to_string()));
        assert!(personal.contains(&"13712345678".to_string()));
        for e in &journal {
            let a = anonymised(e, &personal);
            let text = serde_json::to_string(&a).unwrap();
            assert!(
                !text.contains("wang@example.cn") && !text.contains("13712345678"),
                "{text}"
            );
            assert!(
                !text.contains("28228209"),
                "the location goes with the address: {text}"
            );
            assert_eq!(a.kind(), e.kind());
        }
        // the state follows the last change
        let s = replay_events(&journal);
        assert_eq!(s.contact.unwrap().channel, ContactChannel::Sms);
    }

    fn replay_events(events: &[Event]) -> CaseState {
        let mut s = None;
        for e in events {
            s = Some(apply(s, e, 1).unwrap());
        }
        s.unwrap()
    }

    #[test]
    fn the_reporter_is_removed_and_the_rest_kept() {
        let e = Event::Received(Box::new(Intake {
            channel: Channel::Web,
            place_unit: "C1".into(),
            triage_unit: "C1".into(),
            street: "S1".into(),
            title: "路灯不亮".into(),
            content: "我是张三，住幸福路3号，电话13812345678".into(),
            address: Some("幸福路3号".into()),
            reporter: Reporter {
                name: "张三".into(),
                phone: "13812345678".into(),
                id_number: Some("430102199001011237".into()),
                confidential: false,
            },
            proxy: None,
            accused_unit: None,
            accused_person: None,
            chat: None,
            contact: None,
            location: None,
        }));
        let personal = personal_strings(std::slice::from_ref(&e));
        let Event::Received(a) = anonymised(&e, &personal) else {
            panic!("kind kept")
        };
        assert_eq!(a.reporter.name, ANONYMISED);
        assert!(a.reporter.phone.is_empty() && a.reporter.id_number.is_none());
        assert!(a.address.is_none());
        assert_eq!(a.content, "我是（已匿名），住（已匿名），电话（已匿名）");
        assert_eq!(
            (a.place_unit.as_str(), a.title.as_str()),
            ("C1", "路灯不亮")
        );
        let note = Event::NoteAdded {
            text: "回访 13900001111 满意".into(),
        };
        assert_eq!(
            anonymised(&note, &personal),
            Event::NoteAdded {
                text: "回访 [已删除] 满意".into()
            }
        );
        // codes are not free text: they stay
        let d = Event::Returned {
            unit: "430799001002".into(),
            reason: "张三的事不归我们".into(),
        };
        assert_eq!(
            anonymised(&d, &personal),
            Event::Returned {
                unit: "430799001002".into(),
                reason: "（已匿名）的事不归我们".into()
            }
        );
    }
}
