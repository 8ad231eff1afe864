//! Names of the domain's values in both languages, and the staff timeline's
//! description of every event.

use crate::html::{when, Lang};
use suqiu_domain::case::{Actor, Event, Queue, Status};
use suqiu_domain::workflow::{Difficulty, RatingVia};
use suqiu_domain::{Channel, Level, Role};

pub fn role(lang: Lang, r: Role) -> &'static str {
    match lang {
        Lang::Zh => r.zh(),
        Lang::En => match r {
            Role::GridWorker => "grid worker",
            Role::CommunityStaff => "village/community staff",
            Role::StreetStaff => "township/street staff",
            Role::DepartmentHandler => "department handler",
            Role::Leader => "linked leader",
            Role::PetitionBureau => "petition bureau",
            Role::Admin => "administrator",
            Role::Inspector => "discipline inspection",
        },
    }
}

pub fn status(lang: Lang, s: Status) -> &'static str {
    match lang {
        Lang::Zh => s.zh(),
        Lang::En => match s {
            Status::Received => "received, awaiting triage",
            Status::Triaged => "triaged, handled by the community",
            Status::Reported => "reported to the township/street, awaiting signature",
            Status::AtStreet => "followed by the township/street",
            Status::StreetHandling => "handled by the township/street",
            Status::Dispatched => "dispatched, awaiting the department",
            Status::InProgress => "in progress at the department",
            Status::AwaitingLeaderDeadline => "awaiting the leader's deadline",
            Status::Replied => "replied, awaiting rating",
            Status::Unsatisfied => "rated unsatisfied, under review",
            Status::Closed => "closed",
        },
    }
}

pub fn status_str(lang: Lang, s: &str) -> String {
    Status::parse(s)
        .map(|s| status(lang, s).to_string())
        .unwrap_or_else(|| s.to_string())
}

pub fn queue(lang: Lang, q: Queue) -> &'static str {
    match lang {
        Lang::Zh => q.zh(),
        Lang::En => match q {
            Queue::Triage => "Today's triage",
            Queue::Resolve => "Resolve or report",
            Queue::Sign => "To sign for",
            Queue::Dispatch => "To dispatch",
            Queue::Accept => "To accept",
            Queue::Handling => "In hand",
            Queue::Cooperate => "Cooperation reports due",
            Queue::SetDeadline => "Deadlines to set",
            Queue::Callback => "Awaiting callback",
            Queue::Decide => "Unsatisfied: to decide",
            Queue::DueSoon => "Due soon",
            Queue::Overdue => "Overdue",
            Queue::Supervise => "To supervise",
            Queue::Owned => "Cases I own",
            Queue::Rated => "Ratings back from residents",
        },
    }
}

pub fn channel(lang: Lang, c: &str) -> String {
    let Some(ch) = Channel::parse(c) else {
        return c.to_string();
    };
    match lang {
        Lang::Zh => ch.zh().to_string(),
        Lang::En => match ch {
            Channel::ChatGroup => "chat group",
            Channel::Web => "online (resident)",
            Channel::Proxy => "grid worker for a resident",
            Channel::DoorToDoor => "door-to-door visit",
            Channel::Hotline12345 => "12345 hotline",
            Channel::PublicOpinion => "public opinion monitoring",
            Channel::Visit => "walk-in visit",
            Channel::Letter => "letter",
            Channel::LeaderReception => "leader reception day",
            Channel::Video => "video appointment",
            Channel::Screening => "dispute screening",
        }
        .to_string(),
    }
}

pub fn urgency(lang: Lang, u: &str) -> String {
    suqiu_app::commands::URGENCIES
        .iter()
        .find(|(k, _)| *k == u)
        .map(|(_, v)| lang.t(v.zh(), v.en()).to_string())
        .unwrap_or_else(|| u.to_string())
}

pub fn difficulty(lang: Lang, d: Difficulty) -> &'static str {
    match d {
        Difficulty::Ordinary => lang.t("一般（3 个工作日）", "ordinary (3 working days)"),
        Difficulty::Difficult => lang.t("疑难（15 个工作日）", "difficult (15 working days)"),
        Difficulty::VeryDifficult => lang.t(
            "特别疑难（领导定时限）",
            "especially difficult (leader sets the deadline)",
        ),
    }
}

pub fn level(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::District => lang.t("区县", "district"),
        Level::Street => lang.t("乡镇（街道）", "township/street"),
        Level::Community => lang.t("村（社区）", "village/community"),
        Level::Grid => lang.t("网格", "grid"),
        Level::Hamlet => lang.t("屋场", "hamlet"),
        Level::Department => lang.t("职能部门", "department"),
        Level::Oversight => lang.t("纪检监察机关", "oversight organ"),
    }
}

/// The deadline rules' names.
pub fn rule(lang: Lang, r: &str) -> String {
    let (zh, en) = match r {
        "triage" => ("当日研判", "triage the same day"),
        "first_stop" => ("当日办理或上报", "resolve or report the same day"),
        "explain" => ("上门解释政策", "explain the policy in person"),
        "sign" => ("当日签收", "sign the same day"),
        "accept" => ("当日接单并联系群众", "accept and contact the same day"),
        "finish" => ("办结", "finish"),
        "redispatch" => ("重新派单", "re-dispatch"),
        "reopened" => ("重新办理", "handle again"),
        "supervised" => ("督办时限", "supervised deadline"),
        "leader_set" => ("领导确定的时限", "leader's deadline"),
        "assigned" => ("街道办理", "street handling"),
        _ => return r.to_string(),
    };
    lang.t(zh, en).to_string()
}

pub fn via(lang: Lang, v: RatingVia) -> &'static str {
    match v {
        RatingVia::Resident => lang.t("群众自评", "by the resident"),
        RatingVia::Phone => lang.t("电话回访", "phone callback"),
        RatingVia::Visit => lang.t("上门回访", "home visit"),
        RatingVia::LeaderRevisit => lang.t("领导回访", "leader's revisit"),
    }
}

/// Who did it, for the staff timeline.
pub fn actor(lang: Lang, a: &Actor, unit_name: &dyn Fn(&str) -> String) -> String {
    match a {
        Actor::Resident => lang.t("群众", "resident").to_string(),
        Actor::System => lang.t("系统", "system").to_string(),
        Actor::Staff { name, unit, .. } => format!("{name}（{}）", unit_name(unit)),
    }
}

/// What an event means, for staff (who see more than the resident).
pub fn event(lang: Lang, e: &Event, unit_name: &dyn Fn(&str) -> String) -> String {
    let zh = lang == Lang::Zh;
    let pick = |z: String, en: String| if zh { z } else { en };
    match e {
        Event::ContactChanged { contact } => pick(
            format!("群众更改了接收通知的方式：{}", contact.channel.zh()),
            format!(
                "The resident changed how they are notified: {}",
                contact.channel.as_str()
            ),
        ),
        Event::Received(i) => pick(
            format!(
                "受理（{}），交{}研判",
                channel(lang, i.channel.as_str()),
                unit_name(&i.triage_unit)
            ),
            format!(
                "Received ({}), to {} for triage",
                channel(lang, i.channel.as_str()),
                unit_name(&i.triage_unit)
            ),
        ),
        Event::NoteAdded { text } => pick(format!("备注：{text}"), format!("Note: {text}")),
        Event::PhotoAttached { photo, .. } => {
            pick(format!("附照片 {photo}"), format!("Photo {photo} attached"))
        }
        Event::Triaged { urgency, category } => pick(
            format!("研判：{}，{category}", urgency.zh()),
            format!("Triaged: {}, {category}", urgency.en()),
        ),
        Event::ReportedToStreet { street, note } => {
            let n = note.as_deref().unwrap_or("");
            pick(
                format!("上报{} {n}", unit_name(street)),
                format!("Reported to {} {n}", unit_name(street)),
            )
        }
        Event::Signed { street } => pick(
            format!("{}签收", unit_name(street)),
            format!("Signed for by {}", unit_name(street)),
        ),
        Event::StreetAssigned { responsible } => pick(
            format!("街道自办，责任人：{responsible}"),
            format!("Handled by the street; responsible: {responsible}"),
        ),
        Event::Dispatched {
            lead,
            cooperating,
            difficulty: d,
        } => {
            let coop: Vec<String> = cooperating.iter().map(|c| unit_name(c)).collect();
            pick(
                format!(
                    "派单：牵头单位{}{}，{}",
                    unit_name(lead),
                    if coop.is_empty() {
                        String::new()
                    } else {
                        format!("，协办单位{}", coop.join("、"))
                    },
                    difficulty(lang, *d)
                ),
                format!(
                    "Dispatched: lead {}{}, {}",
                    unit_name(lead),
                    if coop.is_empty() {
                        String::new()
                    } else {
                        format!(", cooperating {}", coop.join(", "))
                    },
                    difficulty(lang, *d)
                ),
            )
        }
        Event::Accepted { unit, contact_note } => pick(
            format!("{}接单，联系群众：{contact_note}", unit_name(unit)),
            format!("Accepted by {}; contact: {contact_note}", unit_name(unit)),
        ),
        Event::Returned { unit, reason } => pick(
            format!("{}退单，理由：{reason}", unit_name(unit)),
            format!("Returned by {}: {reason}", unit_name(unit)),
        ),
        Event::CooperationReported { unit, text } => pick(
            format!("{}协办反馈：{text}", unit_name(unit)),
            format!("Cooperation report from {}: {text}", unit_name(unit)),
        ),
        Event::LeaderDeadlineRequested { unit, reason, .. } => pick(
            format!("{}申请领导确定时限：{reason}", unit_name(unit)),
            format!(
                "{} asked the leader for a deadline: {reason}",
                unit_name(unit)
            ),
        ),
        Event::LeaderDeadlineSet { leader } => pick(
            format!("{leader}确定了办理时限"),
            format!("Leader {leader} set the deadline"),
        ),
        Event::Replied {
            unit,
            result,
            policy_basis,
        } => {
            let b = policy_basis.as_deref().unwrap_or("");
            pick(
                format!(
                    "{}答复：{result}{}",
                    unit_name(unit),
                    if b.is_empty() {
                        String::new()
                    } else {
                        format!("（政策依据：{b}）")
                    }
                ),
                format!(
                    "Reply from {}: {result}{}",
                    unit_name(unit),
                    if b.is_empty() {
                        String::new()
                    } else {
                        format!(" (policy basis: {b})")
                    }
                ),
            )
        }
        Event::Explained {
            visited_by,
            visited_at,
            policy_basis,
            note,
            ..
        } => {
            let n = note.as_deref().unwrap_or("");
            pick(
                format!(
                    "{visited_by}于{}上门解释政策：{policy_basis} {n}",
                    when(*visited_at)
                ),
                format!(
                    "{visited_by} visited on {} to explain: {policy_basis} {n}",
                    when(*visited_at)
                ),
            )
        }
        Event::Rated {
            rating,
            comment,
            via: v,
        } => {
            let c = comment.as_deref().unwrap_or("");
            pick(
                format!("评价：{}（{}）{c}", rating.zh(), via(lang, *v)),
                format!("Rated {} ({}) {c}", rating.en(), via(lang, *v)),
            )
        }
        Event::RatingAcknowledged { unit } => pick(
            format!("{}已阅群众评价", unit_name(unit)),
            format!("{} read the rating", unit_name(unit)),
        ),
        Event::Reopened { reason, unit } => pick(
            format!("重新办理，交{}：{reason}", unit_name(unit)),
            format!("Reopened, to {}: {reason}", unit_name(unit)),
        ),
        Event::Closed { explanation } => {
            let x = explanation.as_deref().unwrap_or("");
            pick(format!("办结 {x}"), format!("Closed {x}"))
        }
        Event::OwnershipTaken { leader } => {
            pick(format!("{leader}包案"), format!("{leader} took ownership"))
        }
        Event::Supervised { leader, note } => pick(
            format!("{leader}督办：{note}"),
            format!("Supervised by {leader}: {note}"),
        ),
        Event::InterviewRecorded {
            leader,
            unit,
            head,
            note,
        } => pick(
            format!("{leader}约谈{}负责人{head}：{note}", unit_name(unit)),
            format!("{leader} interviewed {head} of {}: {note}", unit_name(unit)),
        ),
        Event::DeadlineSet(d) => pick(
            format!(
                "时限：{}，{}须在{}完成{}",
                rule(lang, &d.rule),
                unit_name(&d.unit),
                crate::html::due(lang, d.due_at),
                if d.provisional {
                    "（暂定：节假日数据未覆盖）"
                } else {
                    ""
                }
            ) + if d.after_hours {
                "（非工作时间受理，按下一工作日计）"
            } else {
                ""
            },
            format!(
                "Deadline: {} for {}, {}{}",
                rule(lang, &d.rule),
                unit_name(&d.unit),
                crate::html::due(lang, d.due_at),
                if d.provisional { " (provisional)" } else { "" }
            ) + if d.after_hours {
                " (received outside office hours: counted from the next working day)"
            } else {
                ""
            },
        ),
        Event::DeadlineRecomputed {
            rule: r,
            due_at,
            was_due_at,
            provisional,
            ..
        } => pick(
            format!(
                "时限「{}」按节假日安排重新计算：{}（原为{}）{}",
                rule(lang, r),
                crate::html::due(lang, *due_at),
                crate::html::due(lang, *was_due_at),
                if *provisional { "，仍为暂定" } else { "" }
            ),
            format!(
                "Deadline '{}' counted again with the holiday calendar: {} (was {}){}",
                rule(lang, r),
                crate::html::due(lang, *due_at),
                crate::html::due(lang, *was_due_at),
                if *provisional {
                    ", still provisional"
                } else {
                    ""
                }
            ),
        ),
        Event::DeadlineCleared { rule: r } => pick(
            format!("时限「{}」已结束", rule(lang, r)),
            format!("Deadline '{}' ended", rule(lang, r)),
        ),
        Event::DeadlineWarned { rule: r } => pick(
            format!("时限「{}」即将到期", rule(lang, r)),
            format!("Deadline '{}' is due soon", rule(lang, r)),
        ),
        Event::DeadlineOverdue { rule: r, leader } => {
            let l = leader.as_deref().unwrap_or("");
            pick(
                format!(
                    "时限「{}」已超期{}",
                    rule(lang, r),
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("，提请{l}督办")
                    }
                ),
                format!(
                    "Deadline '{}' overdue{}",
                    rule(lang, r),
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("; leader {l} to supervise")
                    }
                ),
            )
        }
        Event::UrgentSignalled { signals, leader } => {
            let l = leader.as_deref().unwrap_or("");
            pick(
                format!(
                    "紧急信号：{}，已通知{}",
                    signals.join("、"),
                    if l.is_empty() { "研判单位" } else { l }
                ),
                format!(
                    "Danger signals: {}; {} told",
                    signals.join(", "),
                    if l.is_empty() { "the triage unit" } else { l }
                ),
            )
        }
        Event::RelatedLinked {
            case_id,
            reason,
            score,
        } => {
            let (zh, en) = match reason.as_str() {
                "same_reporter" => ("同一群众重复反映", "same resident"),
                "same_place_same_problem" => ("同一地点同一问题", "same place, same problem"),
                _ => ("内容相似", "similar text"),
            };
            let score = f32::from(*score) / 1000.0;
            pick(
                format!("关联诉求 #{case_id}（{zh}，相似度 {score:.2}）"),
                format!("Related to case #{case_id} ({en}, similarity {score:.2})"),
            )
        }
        Event::Merged { into: 0, reason } => pick(
            format!("作为重复件合并至另一诉求：{reason}"),
            format!("Merged as a duplicate into another case: {reason}"),
        ),
        Event::Merged { into, reason } => pick(
            format!("作为重复件合并至诉求 #{into}：{reason}"),
            format!("Merged as a duplicate into case #{into}: {reason}"),
        ),
        Event::DuplicateMerged { case_id, reason } => pick(
            format!("重复件 #{case_id} 已合并至本件：{reason}"),
            format!("Duplicate #{case_id} merged into this case: {reason}"),
        ),
        Event::ForwardedToOversight { unit, reason } => {
            let name = unit_name(unit);
            pick(
                format!("检举控告已转送{name}办理：{reason}"),
                format!("Accusation forwarded to {name}: {reason}"),
            )
        }
    }
}

/// An event kind (as named in the deadline rules) in words.
pub fn event_kind(lang: Lang, kind: &str) -> String {
    let (zh, en) = match kind {
        "received" => ("受理", "received"),
        "note_added" => ("添加备注", "note added"),
        "photo_attached" => ("添加照片", "photo attached"),
        "triaged" => ("研判分流", "triaged"),
        "reported_to_street" => ("上报街道", "reported to the street"),
        "signed" => ("街道签收", "signed for"),
        "street_assigned" => ("街道交办", "assigned by the street"),
        "dispatched" => ("派单", "dispatched"),
        "accepted" => ("部门接单", "accepted"),
        "returned" => ("退单", "returned"),
        "cooperation_reported" => ("协办反馈", "cooperation reported"),
        "leader_deadline_requested" => ("申请领导定时限", "leader's deadline requested"),
        "leader_deadline_set" => ("领导定时限", "leader's deadline set"),
        "replied" => ("答复", "replied"),
        "explained" => ("解释说明", "explained"),
        "rated" => ("评价", "rated"),
        "rating_acknowledged" => ("已阅评价", "rating read"),
        "reopened" => ("重新办理", "reopened"),
        "closed" => ("办结", "closed"),
        "ownership_taken" => ("领导包案", "owned by a leader"),
        "supervised" => ("督办", "supervised"),
        "interview_recorded" => ("约谈", "interview recorded"),
        "deadline_set" => ("开始计时", "deadline set"),
        "deadline_cleared" => ("结束计时", "deadline cleared"),
        "deadline_warned" => ("即将到期提醒", "due soon"),
        "deadline_recomputed" => ("时限重新计算", "deadline counted again"),
        "deadline_overdue" => ("超期", "overdue"),
        "urgent_signalled" => ("紧急情况报告", "urgent signal"),
        "merged" => ("合并为重复件", "merged"),
        "duplicate_merged" => ("并入重复件", "duplicate merged"),
        "related_linked" => ("关联相关件", "related case linked"),
        "contact_changed" => ("更改通知方式", "contact changed"),
        "forwarded_to_oversight" => ("转送纪检监察机关", "forwarded to oversight"),
        other => return other.to_string(),
    };
    lang.t(zh, en).to_string()
}

/// A tag a deadline rule applies to: an urgency tier or a difficulty.
pub fn rule_tag(lang: Lang, tag: &str) -> String {
    for d in [
        Difficulty::Ordinary,
        Difficulty::Difficult,
        Difficulty::VeryDifficult,
    ] {
        if d.as_str() == tag {
            return difficulty(lang, d).to_string();
        }
    }
    urgency(lang, tag)
}

/// How a deadline's length is counted.
pub fn day_unit(lang: Lang, u: suqiu_domain::workflow::DayUnit) -> &'static str {
    match u {
        suqiu_domain::workflow::DayUnit::Working => lang.t("工作日", "working days"),
        suqiu_domain::workflow::DayUnit::Calendar => lang.t("自然日", "calendar days"),
        suqiu_domain::workflow::DayUnit::SameWorkingDay => lang.t(
            "当个工作日（遇休息日顺延）",
            "the same working day (or the next)",
        ),
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn every_event_kind_a_rule_may_name_has_words_in_both_languages() {
        for k in suqiu_domain::case::EVENT_KINDS {
            let zh = event_kind(Lang::Zh, k);
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{k} → {zh}"
            );
            assert_ne!(event_kind(Lang::En, k), zh);
        }
        assert_eq!(rule_tag(Lang::Zh, "difficult"), "疑难（15 个工作日）");
        assert_ne!(rule_tag(Lang::Zh, "urgent"), "urgent");
    }
}
