//! Cases as an event journal: events, the projected state, decide and apply.
//!
//! Event payloads are the persisted format of the journal, so (unlike other core
//! types) they derive serde; a change to them is a change to stored data.

use crate::validate::{bounded_text, FieldError, FieldErrorKind, IdNumber, PhoneNumber};
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

/// Where a case stands. The six-order workflow extends this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 待研判: received, waiting for the community's triage
    Received,
}

impl Status {
    pub const ALL: [Status; 1] = [Status::Received];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Status::Received => "已受理，待研判",
        }
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A resident, unauthenticated (identified by the case's reporter data).
    Resident,
    /// A staff member, by login, with their unit at the time.
    Staff { login: String, name: String, unit: String },
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

/// One fact in a case's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// 点单: the matter was received.
    Received {
        channel: Channel,
        /// The place the matter concerns (community, grid or hamlet).
        place_unit: String,
        /// The village/community that triages it.
        triage_unit: String,
        title: String,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        reporter: Reporter,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proxy: Option<Proxy>,
    },
    /// A staff member's note (visit note, phone call); internal, not shown to the resident.
    NoteAdded { text: String },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Received { .. } => "received",
            Event::NoteAdded { .. } => "note_added",
        }
    }

    /// Plain words for the resident's tracking page, or None for internal events.
    /// Never contains personal data. `unit_name` resolves a unit code to its name.
    pub fn public_text(&self, unit_name: &dyn Fn(&str) -> String) -> Option<(String, String)> {
        match self {
            Event::Received { triage_unit, .. } => {
                let name = unit_name(triage_unit);
                Some((
                    format!("您的诉求已受理，正由{name}研判处理。"),
                    format!("Your request was received; {name} is reviewing it."),
                ))
            }
            Event::NoteAdded { .. } => None,
        }
    }
}

/// The current state of a case: a pure fold of its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub status: Status,
    pub channel: Channel,
    pub place_unit: String,
    pub triage_unit: String,
    /// The unit currently responsible (whose queue holds the case).
    pub current_unit: String,
    pub title: String,
    pub content: String,
    pub address: Option<String>,
    pub reporter: Reporter,
    pub proxy: Option<Proxy>,
    pub received_at: Millis,
    pub updated_at: Millis,
    pub notes: u32,
    /// Number of events applied; the next event gets sequence `version + 1`.
    pub version: u64,
}

/// Work queues a case can sit in (a projection, rebuilt from state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// 今日研判: waiting for the community's triage
    Triage,
}

impl Queue {
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Triage => "triage",
        }
    }
}

impl CaseState {
    /// Queue memberships implied by the state: (unit code, queue).
    pub fn queues(&self) -> Vec<(String, Queue)> {
        match self.status {
            Status::Received => vec![(self.current_unit.clone(), Queue::Triage)],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApplyError {
    #[error("the first event of a case must be `received`")]
    NotStarted,
    #[error("a case is received only once")]
    AlreadyReceived,
}

/// Folds one event into the state. Pure; the same events always give the same state.
pub fn apply(state: Option<CaseState>, event: &Event, at: Millis) -> Result<CaseState, ApplyError> {
    match (state, event) {
        (
            None,
            Event::Received {
                channel,
                place_unit,
                triage_unit,
                title,
                content,
                address,
                reporter,
                proxy,
            },
        ) => Ok(CaseState {
            status: Status::Received,
            channel: *channel,
            place_unit: place_unit.clone(),
            triage_unit: triage_unit.clone(),
            current_unit: triage_unit.clone(),
            title: title.clone(),
            content: content.clone(),
            address: address.clone(),
            reporter: reporter.clone(),
            proxy: proxy.clone(),
            received_at: at,
            updated_at: at,
            notes: 0,
            version: 1,
        }),
        (None, _) => Err(ApplyError::NotStarted),
        (Some(_), Event::Received { .. }) => Err(ApplyError::AlreadyReceived),
        (Some(mut s), Event::NoteAdded { .. }) => {
            s.notes += 1;
            s.updated_at = at;
            s.version += 1;
            Ok(s)
        }
    }
}

/// Replays a journal from the start.
pub fn replay<'a>(events: impl IntoIterator<Item = (&'a Event, Millis)>) -> Result<Option<CaseState>, ApplyError> {
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
}

fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, FieldError> {
    v.as_deref()
        .ok_or_else(|| FieldError::new(field, FieldErrorKind::Missing))
}

/// Parses intake input, reporting the first invalid field.
pub fn parse_intake(input: &IntakeInput) -> Result<ParsedIntake, FieldError> {
    let channel_raw = required("channel", &input.channel)?;
    let channel =
        Channel::parse(channel_raw.trim()).ok_or_else(|| FieldError::new("channel", FieldErrorKind::InvalidChannel))?;
    let unit = bounded_text("unit", required("unit", &input.unit)?, 32, false)?;
    let title = bounded_text("title", required("title", &input.title)?, MAX_TITLE, false)?;
    let content = bounded_text("content", required("content", &input.content)?, MAX_CONTENT, true)?;
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
    let phone = PhoneNumber::parse("reporter.phone", required("reporter.phone", &input.reporter_phone)?)?;
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
            phone: phone.as_str().to_string(),
            id_number: id_number.map(|i| i.as_str().to_string()),
            confidential: input.confidential,
        },
    })
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
        assert_eq!(parse_intake(&i).unwrap_err().kind, FieldErrorKind::InvalidChannel);
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
    fn every_channel_round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }

    fn received() -> Event {
        let p = parse_intake(&input()).unwrap();
        Event::Received {
            channel: p.channel,
            place_unit: "G1".into(),
            triage_unit: "C1".into(),
            title: p.title,
            content: p.content,
            address: None,
            reporter: p.reporter,
            proxy: None,
        }
    }

    #[test]
    fn apply_and_replay() {
        let e1 = received();
        let e2 = Event::NoteAdded { text: "已电话联系".into() };
        let s1 = apply(None, &e1, 1000).unwrap();
        assert_eq!(s1.version, 1);
        assert_eq!(s1.queues(), vec![("C1".to_string(), Queue::Triage)]);
        let s2 = apply(Some(s1.clone()), &e2, 2000).unwrap();
        assert_eq!((s2.version, s2.notes, s2.updated_at), (2, 1, 2000));
        assert_eq!(replay([(&e1, 1000), (&e2, 2000)]).unwrap(), Some(s2.clone()));
        assert_eq!(apply(None, &e2, 0).unwrap_err(), ApplyError::NotStarted);
        assert_eq!(apply(Some(s2), &e1, 0).unwrap_err(), ApplyError::AlreadyReceived);
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
