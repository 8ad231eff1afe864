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
#[serde(deny_unknown_fields)]
pub struct NewCase {
    channel: Option<String>,
    unit: Option<String>,
    title: Option<String>,
    content: Option<String>,
    address: Option<String>,
    reporter: Option<NewReporter>,
    /// An accusation (检举控告): who or which unit is accused.
    accused: Option<Accused>,
    /// How the reporter hears of progress (default: SMS to their phone).
    notify: Option<Notify>,
}

/// A preferred channel for notifications: `sms`, `email` or `none`, and its address.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub channel: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Accused {
    unit: Option<String>,
    person: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
            accused_unit: self.accused.as_ref().and_then(|a| a.unit.clone()),
            accused_person: self.accused.as_ref().and_then(|a| a.person.clone()),
            notify_channel: self.notify.as_ref().and_then(|n| n.channel.clone()),
            notify_address: self.notify.as_ref().and_then(|n| n.address.clone()),
            lat: None,
            long: None,
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

pub(crate) fn decode_component(param: &str, s: &str) -> Result<String, Problem> {
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
        "category": r.category,
        "urgency": r.urgency,
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

fn event_summary(e: &Event, org: &OrgTree) -> String {
    let e = &e.with_person_names(&|l| org.display_person(l));
    let name = |c: &str| {
        org.unit(c)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    match e {
        Event::ContactChanged { contact } => {
            format!("群众更改了接收通知的方式：{}", contact.channel.zh())
        }
        Event::Received(i) => {
            let by = i
                .proxy
                .as_ref()
                .map(|p| format!("，网格员{}代办", p.name))
                .unwrap_or_default();
            format!(
                "经{}受理（地点：{}{by}），转{}研判",
                i.channel.zh(),
                name(&i.place_unit),
                name(&i.triage_unit)
            )
        }
        Event::NoteAdded { text } => format!("工作记录：{text}"),
        Event::PhotoAttached { photo, .. } => format!("附照片 {photo}"),
        Event::Triaged { urgency, category } => format!("研判：{}，{category}", urgency.zh()),
        Event::ReportedToStreet { street, note } => {
            format!(
                "上报{}{}",
                name(street),
                note.as_ref().map(|n| format!("：{n}")).unwrap_or_default()
            )
        }
        Event::Signed { street } => format!("{}签收", name(street)),
        Event::StreetAssigned { responsible } => format!("街道自办，责任人：{responsible}"),
        Event::Dispatched {
            lead,
            cooperating,
            difficulty,
        } => {
            let coop: Vec<String> = cooperating.iter().map(|c| name(c)).collect();
            let d = match difficulty {
                suqiu_domain::workflow::Difficulty::Ordinary => "一般事项",
                suqiu_domain::workflow::Difficulty::Difficult => "复杂事项",
                suqiu_domain::workflow::Difficulty::VeryDifficult => "特别疑难事项",
            };
            if coop.is_empty() {
                format!("派单：{}牵头（{d}）", name(lead))
            } else {
                format!("派单：{}牵头，{}协办（{d}）", name(lead), coop.join("、"))
            }
        }
        Event::Accepted { unit, contact_note } => format!("{}接单：{contact_note}", name(unit)),
        Event::Returned { unit, reason } => format!("{}退单：{reason}", name(unit)),
        Event::CooperationReported { unit, text } => format!("协办单位{}反馈：{text}", name(unit)),
        Event::LeaderDeadlineRequested { unit, reason, .. } => {
            format!("{}申请领导确定时限：{reason}", name(unit))
        }
        Event::LeaderDeadlineSet { leader } => format!("{leader}确定办理时限"),
        Event::Replied {
            unit,
            result,
            policy_basis,
        } => format!(
            "{}答复：{result}{}",
            name(unit),
            policy_basis
                .as_ref()
                .map(|p| format!("（依据：{p}）"))
                .unwrap_or_default()
        ),
        Event::Explained {
            visited_by,
            policy_basis,
            ..
        } => format!("{visited_by}上门解释政策：{policy_basis}"),
        Event::Rated {
            rating,
            comment,
            via,
        } => {
            let via = match via {
                suqiu_domain::workflow::RatingVia::Resident => "群众自评",
                suqiu_domain::workflow::RatingVia::Phone => "电话回访",
                suqiu_domain::workflow::RatingVia::Visit => "上门回访",
                suqiu_domain::workflow::RatingVia::LeaderRevisit => "领导回访",
            };
            format!(
                "评价（{via}）：{}{}",
                rating.zh(),
                comment
                    .as_ref()
                    .map(|c| format!("，{c}"))
                    .unwrap_or_default()
            )
        }
        Event::RatingAcknowledged { unit } => format!("{}已阅群众评价", name(unit)),
        Event::Reopened { reason, unit } => format!("重新办理（{}）：{reason}", name(unit)),
        Event::Closed { explanation } => format!(
            "办结{}",
            explanation
                .as_ref()
                .map(|e| format!("：{e}"))
                .unwrap_or_default()
        ),
        Event::OwnershipTaken { leader } => format!("{leader}包案"),
        Event::Supervised { leader, note } => format!("{leader}督办：{note}"),
        Event::InterviewRecorded {
            leader,
            unit,
            head,
            note,
        } => format!("{leader}约谈{}负责人{head}：{note}", name(unit)),
        Event::DeadlineSet(d) => format!(
            "时限（{}）：{}前由{}办理{}",
            d.rule,
            time(d.due_at),
            name(&d.unit),
            if d.after_hours {
                "（非工作时间受理，按下一工作日计）"
            } else {
                ""
            }
        ),
        Event::DeadlineCleared { rule } => format!("时限（{rule}）已满足"),
        Event::DeadlineWarned { rule } => format!("时限（{rule}）即将到期"),
        Event::DeadlineRecomputed {
            rule,
            due_at,
            was_due_at,
            ..
        } => format!(
            "时限（{rule}）按节假日安排重新计算：{}前（原为{}前）",
            time(*due_at),
            time(*was_due_at)
        ),
        Event::DeadlineOverdue { rule, leader } => format!(
            "时限（{rule}）已超期{}",
            leader
                .as_ref()
                .map(|l| format!("，提请{l}督办"))
                .unwrap_or_default()
        ),
        Event::UrgentSignalled { signals, leader } => format!(
            "紧急信号：{}，已通知研判单位{}",
            signals.join("、"),
            leader
                .as_ref()
                .map(|l| format!("和领导{l}"))
                .unwrap_or_default()
        ),
        Event::RelatedLinked {
            case_id,
            reason,
            score,
        } => format!(
            "关联诉求 #{case_id}（{}，相似度 {:.2}）",
            related_reason_zh(reason),
            f32::from(*score) / 1000.0
        ),
        Event::Merged { into: 0, reason } => format!("作为重复件合并至另一诉求：{reason}"),
        Event::Merged { into, reason } => format!("作为重复件合并至诉求 #{into}：{reason}"),
        Event::DuplicateMerged { case_id, reason } => {
            format!("重复件 #{case_id} 已合并至本件：{reason}")
        }
        Event::ForwardedToOversight { unit, reason } => {
            format!("检举控告已转送{}办理：{reason}", name(unit))
        }
    }
}

/// Why two cases are related, in Chinese.
pub fn related_reason_zh(reason: &str) -> &'static str {
    match reason {
        "same_reporter" => "同一群众重复反映",
        "same_place_same_problem" => "同一地点同一问题",
        _ => "内容相似",
    }
}

pub fn case_detail(v: &CaseView, org: &OrgTree) -> Value {
    let s = &v.state;
    let mut out = case_summary(&v.row, org);
    // Personal data is masked everywhere; the full reporter is a separate,
    // audited request (POST /api/v1/cases/{id}/unmask) (DOMAIN.md §10).
    let rep = &s.intake.reporter;
    let reporter = json!({
        "name": mask_name(&rep.name),
        "phone": mask_phone(&rep.phone),
        "id_number": rep.id_number.as_deref().map(mask_id_number),
        "confidential": rep.confidential,
        "masked": true,
    });
    if let Value::Object(m) = &mut out {
        m.insert("content".into(), json!(s.intake.content));
        m.insert("address".into(), json!(s.intake.address));
        m.insert("reporter".into(), reporter);
        let (channel, address) = suqiu_app::notify_of(s);
        m.insert(
            "notify".into(),
            json!({"channel": channel, "address": address, "masked": true}),
        );
        m.insert(
            "proxy".into(),
            json!(s
                .intake
                .proxy
                .as_ref()
                .map(|p| json!({"login": p.login, "name": p.name, "unit": p.unit}))),
        );
        m.insert("triage_unit".into(), unit_ref(org, &s.intake.triage_unit));
        m.insert("accusation".into(), json!(s.intake.is_accusation()));
        m.insert(
            "accused".into(),
            json!(s.intake.is_accusation().then(|| json!({
                "unit": s.intake.accused_unit.as_deref().map(|u| unit_ref(org, u)),
                "person": s.intake.accused_person,
            }))),
        );
        m.insert("street".into(), unit_ref(org, &s.intake.street));
        m.insert("urgency".into(), json!(s.urgency.map(|u| u.as_str())));
        m.insert("urgency_zh".into(), json!(s.urgency.map(|u| u.zh())));
        m.insert("category".into(), json!(s.category));
        m.insert("difficulty".into(), json!(s.difficulty.map(|d| d.as_str())));
        m.insert(
            "lead".into(),
            json!(s.lead.as_deref().map(|l| unit_ref(org, l))),
        );
        m.insert(
            "cooperating".into(),
            Value::Array(
                s.cooperating
                    .iter()
                    .map(|c| {
                        let mut u = unit_ref(org, c);
                        u["reported"] = json!(s.cooperation_reported.contains(c));
                        u
                    })
                    .collect(),
            ),
        );
        m.insert("responsible".into(), json!(s.responsible));
        m.insert("owner".into(), json!(s.owner));
        m.insert(
            "related".into(),
            Value::Array(
                s.related
                    .iter()
                    .map(|r| {
                        json!({
                            "id": r.case_id,
                            "reason": r.reason,
                            "reason_zh": related_reason_zh(&r.reason),
                            "score": f32::from(r.score) / 1000.0,
                        })
                    })
                    .collect(),
            ),
        );
        m.insert("merged_into".into(), json!(s.merged_into));
        m.insert("duplicates".into(), json!(s.duplicates));
        m.insert("rating".into(), json!(s.rating.map(|r| r.zh())));
        m.insert(
            "returns".into(),
            Value::Object(
                s.returns
                    .iter()
                    .map(|(u, n)| (u.clone(), json!(n)))
                    .collect(),
            ),
        );
        m.insert(
            "deadlines".into(),
            Value::Array(
                s.deadlines
                    .iter()
                    .map(|d| {
                        json!({
                            "rule": d.info.rule,
                            "unit": unit_ref(org, &d.info.unit),
                            "due_at": time(d.info.due_at),
                            "warn_at": time(d.info.warn_at),
                            "provisional": d.info.provisional,
                            "after_hours": d.info.after_hours,
                            "warned": d.warned,
                            "overdue": d.overdue,
                        })
                    })
                    .collect(),
            ),
        );
        m.insert(
            "timeline".into(),
            Value::Array(
                v.events
                    .iter()
                    .map(|e| {
                        json!({
                            "seq": e.seq,
                            "at": time(e.at),
                            "kind": e.event.kind(),
                            "actor": actor(&e.actor),
                            "text_zh": event_summary(&e.event, org),
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
        "can_rate": v.can_rate,
        "phone_check": v.phone_check,
        "notify": {"channel": v.notify_channel, "address": v.notify_address},
        "timeline": v.timeline.iter().map(|(at, zh, en)| json!({"at": time(*at), "text_zh": zh, "text_en": en})).collect::<Vec<_>>(),
        "photos": v.photos.iter().map(|n| json!({
            "photo": n,
            "url": format!("/api/v1/track/{}/attachments/{n}", v.tracking_code),
        })).collect::<Vec<_>>(),
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

/// `limit` of a queue query (1–200, default 50).
pub fn limit_param(raw: &str) -> Result<u32, Problem> {
    let mut limit = 50;
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "limit" => {
                limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=200).contains(l))
                    .ok_or_else(|| Problem::bad_query("limit"))?
            }
            other => return Err(Problem::bad_query(other)),
        }
    }
    Ok(limit)
}

pub fn rules(r: &suqiu_domain::workflow::DeadlineRules) -> Value {
    json!({
        "warn_before_hours": r.warn_before_hours,
        "categories": r.categories,
        "rules": r.rules.iter().map(|x| json!({
            "id": x.id,
            "start": x.start,
            "when": x.when,
            "length": x.length,
            "unit": serde_json::to_value(x.unit).unwrap_or(Value::Null),
            "ends": x.ends,
            "warn_before_hours": x.warn_before_hours,
        })).collect::<Vec<_>>(),
    })
}

/// Query of `GET /api/v1/search`.
pub struct SearchParams {
    pub text: String,
    pub unit: Option<String>,
    pub statuses: Vec<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: usize,
    pub offset: usize,
}

impl SearchParams {
    pub fn parse(raw: &str) -> Result<SearchParams, Problem> {
        let mut p = SearchParams {
            text: String::new(),
            unit: None,
            statuses: vec![],
            from: None,
            to: None,
            limit: 20,
            offset: 0,
        };
        for pair in raw.split('&').filter(|x| !x.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component("query", k)?;
            let val = decode_component(&key, v)?;
            match key.as_str() {
                "q" => p.text = val,
                "unit" => p.unit = Some(val),
                "status" => {
                    for s in val.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        Status::parse(s).ok_or_else(|| Problem::bad_query("status"))?;
                        p.statuses.push(s.to_string());
                    }
                }
                "from" => p.from = Some(parse_time("from", &val)?),
                "to" => p.to = Some(parse_time("to", &val)?),
                "limit" => p.limit = val.parse().map_err(|_| Problem::bad_query("limit"))?,
                "offset" => p.offset = val.parse().map_err(|_| Problem::bad_query("offset"))?,
                _ => return Err(Problem::bad_query(&key)),
            }
        }
        Ok(p)
    }
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
