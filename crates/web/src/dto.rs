//! The API's JSON shapes (DTOs). Core types are not serialised directly.

use crate::problem::Problem;
use serde::Deserialize;
use serde_json::{json, Value};
use suqiu_app::CaseRow;
use suqiu_app::{CaseView, StaffUser, TrackView};
use suqiu_domain::case::{Actor, Channel, Event, IntakeInput, Millis, Status};
use suqiu_domain::org::{Level, OrgTree};
use suqiu_domain::validate::{mask_id_number, mask_name, mask_phone};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// China Standard Time, the offset every time is shown in.
const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

pub fn time(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(CST))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn parse_time(param: &str, raw: &str) -> Result<Millis, Problem> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as Millis)
        .map_err(|_| Problem::bad_query(param))
}

#[derive(Debug, Deserialize)]
pub struct NewCase {
    channel: Option<String>,
    unit: Option<String>,
    title: Option<String>,
    content: Option<String>,
    address: Option<String>,
    reporter: Option<NewReporter>,
}

#[derive(Debug, Deserialize)]
struct NewReporter {
    name: Option<String>,
    phone: Option<String>,
    id_number: Option<String>,
    #[serde(default)]
    confidential: bool,
}

impl NewCase {
    pub fn into_input(self) -> IntakeInput {
        let r = self.reporter;
        IntakeInput {
            channel: self.channel,
            unit: self.unit,
            title: self.title,
            content: self.content,
            address: self.address,
            reporter_name: r.as_ref().and_then(|r| r.name.clone()),
            reporter_phone: r.as_ref().and_then(|r| r.phone.clone()),
            reporter_id_number: r.as_ref().and_then(|r| r.id_number.clone()),
            confidential: r.map(|r| r.confidential).unwrap_or(false),
        }
    }
}

/// Query of `GET /api/v1/cases`.
pub struct ListQuery {
    pub unit: Option<String>,
    pub statuses: Vec<String>,
    pub channels: Vec<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub cursor: Option<i64>,
    pub limit: u32,
}

fn decode_component(param: &str, s: &str) -> Result<String, Problem> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .map_err(|_| Problem::bad_query(param))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| Problem::bad_query(param))?);
                i += 2;
            }
            b'%' => return Err(Problem::bad_query(param)),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Problem::bad_query(param))
}

impl ListQuery {
    pub fn parse(raw: &str) -> Result<ListQuery, Problem> {
        let mut q = ListQuery {
            unit: None,
            statuses: vec![],
            channels: vec![],
            from: None,
            to: None,
            cursor: None,
            limit: 50,
        };
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component("query", k)?;
            let val = decode_component(&key, v)?;
            let list = || {
                val.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            match key.as_str() {
                "unit" => q.unit = Some(val.clone()),
                "status" => {
                    for s in list() {
                        Status::parse(&s).ok_or_else(|| Problem::bad_query("status"))?;
                        q.statuses.push(s);
                    }
                }
                "channel" => {
                    for c in list() {
                        Channel::parse(&c).ok_or_else(|| Problem::bad_query("channel"))?;
                        q.channels.push(c);
                    }
                }
                "from" => q.from = Some(parse_time("from", &val)?),
                "to" => q.to = Some(parse_time("to", &val)?),
                "cursor" => {
                    q.cursor = Some(
                        val.parse::<i64>()
                            .ok()
                            .filter(|c| *c > 0)
                            .ok_or_else(|| Problem::bad_query("cursor"))?,
                    )
                }
                "limit" => {
                    q.limit = val
                        .parse::<u32>()
                        .ok()
                        .filter(|l| (1..=200).contains(l))
                        .ok_or_else(|| Problem::bad_query("limit"))?
                }
                _ => return Err(Problem::bad_query(&key)),
            }
        }
        Ok(q)
    }
}

fn unit_ref(org: &OrgTree, code: &str) -> Value {
    json!({"code": code, "name": org.unit(code).map(|u| u.name.as_str()).unwrap_or(code)})
}

pub fn case_summary(r: &CaseRow, org: &OrgTree) -> Value {
    let status = Status::parse(&r.status);
    let channel = Channel::parse(&r.channel);
    json!({
        "id": r.id,
        "tracking_code": r.tracking_code,
        "status": r.status,
        "status_zh": status.map(Status::zh),
        "channel": r.channel,
        "channel_zh": channel.map(Channel::zh),
        "place": unit_ref(org, &r.place_unit),
        "current_unit": unit_ref(org, &r.current_unit),
        "title": r.title,
        "reporter": {"name": mask_name(&r.reporter_name), "phone": mask_phone(&r.reporter_phone)},
        "received_at": time(r.received_at),
        "updated_at": time(r.updated_at),
        "version": r.version,
    })
}

fn actor(a: &Actor) -> Value {
    match a {
        Actor::Resident => json!({"type": "resident"}),
        Actor::System => json!({"type": "system"}),
        Actor::Staff { login, name, unit } => {
            json!({"type": "staff", "login": login, "name": name, "unit": unit})
        }
    }
}

fn event_summary(e: &Event, org: &OrgTree) -> (String, Value) {
    match e {
        Event::Received {
            channel,
            place_unit,
            triage_unit,
            proxy,
            ..
        } => {
            let place = org
                .unit(place_unit)
                .map(|u| u.name.as_str())
                .unwrap_or(place_unit);
            let triage = org
                .unit(triage_unit)
                .map(|u| u.name.as_str())
                .unwrap_or(triage_unit);
            let by = proxy
                .as_ref()
                .map(|p| format!("，网格员{}代办", p.name))
                .unwrap_or_default();
            (
                format!(
                    "经{}受理（地点：{place}{by}），转{triage}研判",
                    channel.zh()
                ),
                json!({"channel": channel.as_str(), "place_unit": place_unit, "triage_unit": triage_unit}),
            )
        }
        Event::NoteAdded { text } => (format!("工作记录：{text}"), json!({"text": text})),
    }
}

pub fn case_detail(v: &CaseView, org: &OrgTree) -> Value {
    let s = &v.state;
    let mut out = case_summary(&v.row, org);
    // In-scope staff see the reporter in full unless the reporter asked for
    // confidentiality; lists always mask (DOMAIN.md §10).
    let rep = &s.reporter;
    let reporter = if rep.confidential {
        json!({
            "name": mask_name(&rep.name),
            "phone": mask_phone(&rep.phone),
            "id_number": rep.id_number.as_deref().map(mask_id_number),
            "confidential": true,
        })
    } else {
        json!({"name": rep.name, "phone": rep.phone, "id_number": rep.id_number, "confidential": false})
    };
    if let Value::Object(m) = &mut out {
        m.insert("content".into(), json!(s.content));
        m.insert("address".into(), json!(s.address));
        m.insert("reporter".into(), reporter);
        m.insert(
            "proxy".into(),
            json!(s
                .proxy
                .as_ref()
                .map(|p| json!({"login": p.login, "name": p.name, "unit": p.unit}))),
        );
        m.insert("triage_unit".into(), unit_ref(org, &s.triage_unit));
        m.insert(
            "timeline".into(),
            Value::Array(
                v.events
                    .iter()
                    .map(|e| {
                        let (text, data) = event_summary(&e.event, org);
                        json!({
                            "seq": e.seq,
                            "at": time(e.at),
                            "kind": e.event.kind(),
                            "actor": actor(&e.actor),
                            "text_zh": text,
                            "data": data,
                        })
                    })
                    .collect(),
            ),
        );
    }
    out
}

pub fn track(v: &TrackView) -> Value {
    json!({
        "tracking_code": v.tracking_code,
        "status": v.status.as_str(),
        "status_zh": v.status.zh(),
        "title": v.title,
        "received_at": time(v.received_at),
        "handling_unit": v.unit_name,
        "timeline": v.timeline.iter().map(|(at, zh, en)| json!({"at": time(*at), "text_zh": zh, "text_en": en})).collect::<Vec<_>>(),
    })
}

pub fn user(u: &StaffUser) -> Value {
    json!({
        "login": u.login,
        "name": u.name,
        "role": u.role.as_str(),
        "role_zh": u.role.zh(),
        "unit": u.unit,
        "linked_units": u.linked_units,
    })
}

pub fn units(org: &OrgTree) -> Value {
    let units: Vec<Value> = org
        .units()
        .map(|(u, path)| {
            json!({
                "code": u.code,
                "name": u.name,
                "level": u.level.as_str(),
                "level_zh": u.level.zh(),
                "parent": u.parent,
                "path": path,
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = Level::ALL
        .iter()
        .map(|l| (l.as_str().to_string(), json!(org.count(*l))))
        .collect();
    json!({"units": units, "counts": counts})
}

pub fn channels() -> Value {
    Value::Array(
        Channel::ALL
            .iter()
            .map(|c| json!({"channel": c.as_str(), "name_zh": c.zh(), "public": c.is_public()}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = ListQuery::parse(
            "unit=430799001&status=received&limit=10&from=2026-11-01T00%3A00%3A00%2B08%3A00",
        )
        .unwrap();
        assert_eq!(q.unit.as_deref(), Some("430799001"));
        assert_eq!(q.limit, 10);
        assert!(q.from.is_some());
        assert_eq!(ListQuery::parse("limit=0").err().unwrap().code, "bad_query");
        assert_eq!(
            ListQuery::parse("status=nope").err().unwrap().code,
            "bad_query"
        );
        assert_eq!(ListQuery::parse("bogus=1").err().unwrap().code, "bad_query");
        assert_eq!(
            ListQuery::parse("unit=%E4%B8%8").err().unwrap().code,
            "bad_query"
        );
        assert_eq!(ListQuery::parse("unit=%").err().unwrap().code, "bad_query");
        assert_eq!(
            ListQuery::parse("unit=%E7%99%BD").unwrap().unit.as_deref(),
            Some("白")
        );
    }

    #[test]
    fn times_are_china_time() {
        assert_eq!(time(0), "1970-01-01T08:00:00+08:00");
    }
}
