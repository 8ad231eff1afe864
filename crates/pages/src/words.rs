//! Names of the domain's values in both languages, and the staff timeline's
//! description of every event.

use crate::html::{when, Lang};
use suqiu_domain::case::{Actor, ContactChannel, Event, Queue, Status};
use suqiu_domain::workflow::{Difficulty, Rating, RatingVia, Urgency};
use suqiu_domain::{Channel, Level, Role};

pub fn role(lang: Lang, r: Role) -> &'static str {
    lang.tr(match r {
        Role::GridWorker => "role-grid-worker",
        Role::CommunityStaff => "role-community-staff",
        Role::StreetStaff => "role-street-staff",
        Role::DepartmentHandler => "role-department-handler",
        Role::Leader => "role-leader",
        Role::PetitionBureau => "role-petition-bureau",
        Role::Admin => "role-admin",
        Role::Inspector => "role-inspector",
    })
}

pub fn status(lang: Lang, s: Status) -> &'static str {
    lang.tr(match s {
        Status::Received => "status-received",
        Status::Triaged => "status-triaged",
        Status::Reported => "status-reported",
        Status::AtStreet => "status-at-street",
        Status::StreetHandling => "status-street-handling",
        Status::Dispatched => "status-dispatched",
        Status::InProgress => "status-in-progress",
        Status::AwaitingLeaderDeadline => "status-awaiting-leader-deadline",
        Status::Replied => "status-replied",
        Status::Unsatisfied => "status-unsatisfied",
        Status::Closed => "status-closed",
    })
}

pub fn status_str(lang: Lang, s: &str) -> String {
    Status::parse(s)
        .map(|s| status(lang, s).to_string())
        .unwrap_or_else(|| s.to_string())
}

pub fn queue(lang: Lang, q: Queue) -> &'static str {
    lang.tr(match q {
        Queue::Triage => "queue-triage",
        Queue::Resolve => "queue-resolve",
        Queue::Sign => "queue-sign",
        Queue::Dispatch => "queue-dispatch",
        Queue::Accept => "queue-accept",
        Queue::Handling => "queue-handling",
        Queue::Cooperate => "queue-cooperate",
        Queue::SetDeadline => "queue-set-deadline",
        Queue::Callback => "queue-callback",
        Queue::Decide => "queue-decide",
        Queue::DueSoon => "queue-due-soon",
        Queue::Overdue => "queue-overdue",
        Queue::Supervise => "queue-supervise",
        Queue::Owned => "queue-owned",
        Queue::Rated => "queue-rated",
    })
}

pub fn channel(lang: Lang, c: &str) -> String {
    let Some(ch) = Channel::parse(c) else {
        return c.to_string();
    };
    lang.tr(match ch {
        Channel::ChatGroup => "channel-chat-group",
        Channel::Web => "channel-web",
        Channel::Proxy => "channel-proxy",
        Channel::DoorToDoor => "channel-door-to-door",
        Channel::Hotline12345 => "channel-hotline12345",
        Channel::PublicOpinion => "channel-public-opinion",
        Channel::Visit => "channel-visit",
        Channel::Letter => "channel-letter",
        Channel::LeaderReception => "channel-leader-reception",
        Channel::Video => "channel-video",
        Channel::Screening => "channel-screening",
    })
    .to_string()
}

pub fn urgency(lang: Lang, u: &str) -> String {
    suqiu_app::commands::URGENCIES
        .iter()
        .find(|(k, _)| *k == u)
        .map(|(_, v)| urgency_word(lang, *v).to_string())
        .unwrap_or_else(|| u.to_string())
}

/// The name of an urgency tier.
pub fn urgency_word(lang: Lang, u: Urgency) -> &'static str {
    lang.tr(match u {
        Urgency::Urgent => "urgency-urgent",
        Urgency::Deferred => "urgency-deferred",
        Urgency::Unreasonable => "urgency-unreasonable",
    })
}

/// The name of a rating.
pub fn rating(lang: Lang, r: Rating) -> &'static str {
    lang.tr(match r {
        Rating::Satisfied => "rating-satisfied",
        Rating::Average => "rating-average",
        Rating::Unsatisfied => "rating-unsatisfied",
    })
}

pub fn difficulty(lang: Lang, d: Difficulty) -> &'static str {
    match d {
        Difficulty::Ordinary => lang.tr("ordinary-3-working-days"),
        Difficulty::Difficult => lang.tr("difficult-15-working-days"),
        Difficulty::VeryDifficult => lang.tr("especially-difficult-leader-sets-the-deadline"),
    }
}

pub fn level(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::District => lang.tr("district"),
        Level::Street => lang.tr("township-street"),
        Level::Community => lang.tr("village-community"),
        Level::Grid => lang.tr("grid"),
        Level::Hamlet => lang.tr("hamlet"),
        Level::Department => lang.tr("department"),
        Level::Oversight => lang.tr("oversight-organ"),
    }
}

/// The deadline rules' names.
pub fn rule(lang: Lang, r: &str) -> String {
    let key = match r {
        "triage" => "triage-the-same-day",
        "first_stop" => "resolve-or-report-the-same-day",
        "explain" => "explain-the-policy-in-person",
        "sign" => "sign-the-same-day",
        "accept" => "accept-and-contact-the-same-day",
        "finish" => "finish",
        "redispatch" => "re-dispatch",
        "reopened" => "handle-again",
        "supervised" => "supervised-deadline",
        "leader_set" => "leaders-deadline",
        "assigned" => "street-handling",
        _ => return r.to_string(),
    };
    lang.tr(key).to_string()
}

pub fn via(lang: Lang, v: RatingVia) -> &'static str {
    match v {
        RatingVia::Resident => lang.tr("by-the-resident"),
        RatingVia::Phone => lang.tr("phone-callback"),
        RatingVia::Visit => lang.tr("home-visit"),
        RatingVia::LeaderRevisit => lang.tr("leaders-revisit"),
    }
}

/// Who did it, for the staff timeline.
pub fn actor(lang: Lang, a: &Actor, unit_name: &dyn Fn(&str) -> String) -> String {
    match a {
        Actor::Resident => lang.tr("resident").to_string(),
        Actor::System => lang.tr("system").to_string(),
        Actor::Staff { name, unit, .. } => format!("{name}（{}）", unit_name(unit)),
    }
}

/// The audit log's pseudo-actors (`system`, `resident`) in words; a login
/// stays as it is.
pub fn actor_code(lang: Lang, actor: &str) -> String {
    match actor {
        "system" => lang.tr("system").to_string(),
        "resident" => lang.tr("resident").to_string(),
        login => login.to_string(),
    }
}

/// What an audit record's action code means (the code itself when this
/// version does not know it).
pub fn audit_action(lang: Lang, code: &str) -> String {
    let key = match code {
        "calendar.add_year" => "audit-calendar-add-year",
        "case.contact" => "audit-case-contact",
        "case.merge" => "audit-case-merge",
        "case.unmask" => "audit-case-unmask",
        "ledger.export" => "audit-ledger-export",
        "ledger.export.unmasked" => "audit-ledger-export-unmasked",
        "ledger.import" => "audit-ledger-import",
        "login" => "audit-login",
        "login.failed" => "audit-login-failed",
        "login.throttled" => "audit-login-throttled",
        "logout" => "audit-logout",
        "notification.retry" => "audit-notification-retry",
        "rules.update" => "audit-rules-update",
        "categories.update" => "audit-categories-update",
        "template.delete" => "audit-template-delete",
        "template.put" => "audit-template-put",
        "token.create" => "audit-token-create",
        "token.revoke" => "audit-token-revoke",
        "unit.create" => "audit-unit-create",
        "unit.remove" => "audit-unit-remove",
        "unit.rename" => "audit-unit-rename",
        "user.create" => "audit-user-create",
        "user.disable" => "audit-user-disable",
        "user.enable" => "audit-user-enable",
        "user.logout_all" => "audit-user-logout-all",
        "user.password" => "audit-user-password",
        "user.password_reset" => "audit-user-password-reset",
        "user.role" => "audit-user-role",
        other => return other.to_string(),
    };
    lang.tr(key).to_string()
}

/// What an event means, for staff (who see more than the resident).
pub fn event(lang: Lang, e: &Event, unit_name: &dyn Fn(&str) -> String) -> String {
    match e {
        Event::ContactChanged { contact } => tf!(
            lang,
            "the-resident-changed-how-they-are",
            channel = contact_channel(lang, contact.channel)
        ),
        Event::Received(i) => tf!(
            lang,
            "received-to-for-triage",
            channel = channel(lang, i.channel.as_str()),
            unit_name = unit_name(&i.triage_unit)
        ),
        Event::NoteAdded { text } => tf!(lang, "note", text = text),
        Event::PhotoAttached { photo, .. } => {
            tf!(lang, "photo-attached-2", photo = photo)
        }
        Event::Triaged { urgency, category } => tf!(
            lang,
            "triaged-2",
            urgency = urgency_word(lang, *urgency),
            category = category
        ),
        Event::ReportedToStreet { street, note } => {
            let n = note.as_deref().unwrap_or("");
            tf!(lang, "reported-to", unit_name = unit_name(street), n = n)
        }
        Event::Signed { street } => tf!(lang, "signed-for-by", unit_name = unit_name(street)),
        Event::StreetAssigned { responsible } => tf!(
            lang,
            "handled-by-the-street-responsible",
            responsible = responsible
        ),
        Event::Dispatched {
            lead,
            cooperating,
            difficulty: d,
        } => {
            let coop: Vec<String> = cooperating.iter().map(|c| unit_name(c)).collect();
            tf!(
                lang,
                "dispatched-lead",
                unit_name = unit_name(lead),
                cooperating = if coop.is_empty() {
                    String::new()
                } else {
                    tf!(
                        lang,
                        "dispatched-cooperating",
                        units = coop.join(lang.tr("list-separator"))
                    )
                },
                difficulty = difficulty(lang, *d)
            )
        }
        Event::Accepted { unit, contact_note } => tf!(
            lang,
            "accepted-by-contact",
            unit_name = unit_name(unit),
            contact_note = contact_note
        ),
        Event::Returned { unit, reason } => tf!(
            lang,
            "returned-by",
            unit_name = unit_name(unit),
            reason = reason
        ),
        Event::CooperationReported { unit, text } => tf!(
            lang,
            "cooperation-report-from",
            unit_name = unit_name(unit),
            text = text
        ),
        Event::LeaderDeadlineRequested { unit, reason, .. } => tf!(
            lang,
            "asked-the-leader-for-a-deadline",
            unit_name = unit_name(unit),
            reason = reason
        ),
        Event::LeaderDeadlineSet { leader } => {
            tf!(lang, "leader-set-the-deadline", leader = leader)
        }
        Event::Replied {
            unit,
            result,
            policy_basis,
        } => {
            let b = policy_basis.as_deref().unwrap_or("");
            tf!(
                lang,
                "reply-from",
                unit_name = unit_name(unit),
                result = result,
                basis = if b.is_empty() {
                    String::new()
                } else {
                    tf!(lang, "reply-policy-basis", basis = b)
                }
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
            tf!(
                lang,
                "visited-on-to-explain",
                visited_by = visited_by,
                when = when(*visited_at),
                policy_basis = policy_basis,
                n = n
            )
        }
        Event::Rated {
            rating,
            comment,
            via: v,
        } => {
            let c = comment.as_deref().unwrap_or("");
            tf!(
                lang,
                "rated-2",
                rating = crate::words::rating(lang, *rating),
                via = via(lang, *v),
                c = c,
            )
        }
        Event::RatingAcknowledged { unit } => {
            tf!(lang, "read-the-rating", unit_name = unit_name(unit))
        }
        Event::Reopened { reason, unit } => tf!(
            lang,
            "reopened-to",
            unit_name = unit_name(unit),
            reason = reason
        ),
        Event::Closed { explanation } => {
            let x = explanation.as_deref().unwrap_or("");
            tf!(lang, "closed-2", x = x)
        }
        Event::OwnershipTaken { leader } => {
            tf!(lang, "took-ownership", leader = leader)
        }
        Event::Supervised { leader, note } => {
            tf!(lang, "supervised-by", leader = leader, note = note)
        }
        Event::InterviewRecorded {
            leader,
            unit,
            head,
            note,
        } => tf!(
            lang,
            "interviewed-of",
            leader = leader,
            unit_name = unit_name(unit),
            head = head,
            note = note
        ),
        Event::DeadlineSet(d) => tf!(
            lang,
            "deadline-set-for",
            rule = rule(lang, &d.rule),
            unit = unit_name(&d.unit),
            due = crate::html::due(lang, d.due_at),
            provisional = yes_no(d.provisional),
            after_hours = yes_no(d.after_hours)
        ),
        Event::DeadlineRecomputed {
            rule: r,
            due_at,
            was_due_at,
            provisional,
            ..
        } => {
            tf!(
                lang,
                "deadline-counted-again-with-the-holiday",
                rule = rule(lang, r),
                due = crate::html::due(lang, *due_at),
                was = crate::html::due(lang, *was_due_at),
                provisional = yes_no(*provisional)
            )
        }
        Event::DeadlineCleared { rule: r } => tf!(lang, "deadline-ended", rule = rule(lang, r)),
        Event::DeadlineWarned { rule: r } => {
            tf!(lang, "deadline-is-due-soon", rule = rule(lang, r))
        }
        Event::DeadlineOverdue { rule: r, leader } => {
            let l = leader.as_deref().unwrap_or("");
            tf!(
                lang,
                "deadline-overdue",
                rule = rule(lang, r),
                leader = if l.is_empty() { "none" } else { l }
            )
        }
        Event::UrgentSignalled { signals, leader } => {
            let l = leader.as_deref().unwrap_or("");
            tf!(
                lang,
                "danger-signals-told",
                signals = signals.join(lang.tr("list-separator")),
                leader = if l.is_empty() { "none" } else { l }
            )
        }
        Event::RelatedLinked {
            case_id,
            reason,
            score,
        } => {
            let key = match reason.as_str() {
                "same_reporter" => "same-resident",
                "same_place_same_problem" => "same-place-same-problem",
                _ => "similar-text",
            };
            let score = f32::from(*score) / 1000.0;
            let why = lang.tr(key);
            tf!(
                lang,
                "related-to-case-similarity",
                case_id = case_id,
                why = why,
                score = format!("{:.2}", score)
            )
        }
        Event::Merged { into: 0, reason } => {
            tf!(lang, "merged-as-a-duplicate-into-another", reason = reason)
        }
        Event::Merged { into, reason } => tf!(
            lang,
            "merged-as-a-duplicate-into-case",
            into = into,
            reason = reason
        ),
        Event::DuplicateMerged { case_id, reason } => tf!(
            lang,
            "duplicate-merged-into-this-case",
            case_id = case_id,
            reason = reason
        ),
        Event::ForwardedToOversight { unit, reason } => {
            let name = unit_name(unit);
            tf!(
                lang,
                "accusation-forwarded-to",
                name = name,
                reason = reason
            )
        }
    }
}

/// An event kind (as named in the deadline rules) in words.
pub fn event_kind(lang: Lang, kind: &str) -> String {
    let key = match kind {
        "received" => "received",
        "note_added" => "note-added",
        "photo_attached" => "photo-attached",
        "triaged" => "triaged",
        "reported_to_street" => "reported-to-the-street",
        "signed" => "signed-for",
        "street_assigned" => "assigned-by-the-street",
        "dispatched" => "dispatched",
        "accepted" => "accepted",
        "returned" => "returned",
        "cooperation_reported" => "cooperation-reported",
        "leader_deadline_requested" => "leaders-deadline-requested",
        "leader_deadline_set" => "leaders-deadline-set",
        "replied" => "replied",
        "explained" => "explained",
        "rated" => "rated",
        "rating_acknowledged" => "rating-read",
        "reopened" => "reopened",
        "closed" => "closed",
        "ownership_taken" => "owned-by-a-leader",
        "supervised" => "supervised",
        "interview_recorded" => "interview-recorded",
        "deadline_set" => "deadline-set",
        "deadline_cleared" => "deadline-cleared",
        "deadline_warned" => "due-soon",
        "deadline_recomputed" => "deadline-counted-again",
        "deadline_overdue" => "overdue",
        "urgent_signalled" => "urgent-signal",
        "merged" => "merged",
        "duplicate_merged" => "duplicate-merged",
        "related_linked" => "related-case-linked",
        "contact_changed" => "contact-changed",
        "forwarded_to_oversight" => "forwarded-to-oversight",
        other => return other.to_string(),
    };
    lang.tr(key).to_string()
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
        suqiu_domain::workflow::DayUnit::Working => lang.tr("working-days"),
        suqiu_domain::workflow::DayUnit::Calendar => lang.tr("calendar-days"),
        suqiu_domain::workflow::DayUnit::SameWorkingDay => lang.tr("the-same-working-day-or-the"),
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    /// Every value of the domain has its own name in every language of the
    /// catalogue (a missing message would show its key).
    #[test]
    fn every_domain_value_has_a_name_in_every_language() {
        for lang in Lang::all() {
            let mut names: Vec<(&str, String)> = Vec::new();
            names.extend(Role::ALL.map(|r| ("role", role(lang, r).to_string())));
            names.extend(Status::ALL.map(|x| ("status", status(lang, x).to_string())));
            names.extend(Queue::ALL.map(|q| ("queue", queue(lang, q).to_string())));
            names.extend(Channel::ALL.map(|c| ("channel", channel(lang, c.as_str()))));
            names.extend(Level::ALL.map(|l| ("level", level(lang, l).to_string())));
            for (_, u) in suqiu_app::commands::URGENCIES {
                names.push(("urgency", urgency_word(lang, *u).to_string()));
            }
            for r in [Rating::Satisfied, Rating::Average, Rating::Unsatisfied] {
                names.push(("rating", rating(lang, r).to_string()));
            }
            for (group, name) in &names {
                assert!(
                    !name.starts_with(&format!("{group}-")) && !name.is_empty(),
                    "{} has no name for a {group}: {name}",
                    lang.code()
                );
            }
        }
        assert_eq!(status(Lang::Zh, Status::Closed), Status::Closed.zh());
        assert_eq!(role(Lang::En, Role::Leader), "linked leader");
    }

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

/// How the resident is notified.
pub fn contact_channel(lang: Lang, c: ContactChannel) -> &'static str {
    lang.tr(match c {
        ContactChannel::Sms => "contact-sms",
        ContactChannel::Email => "contact-email",
        ContactChannel::None => "contact-none",
    })
}

/// A flag for a Fluent selector (`{ $flag -> [yes] … *[no] … }`).
fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suqiu_domain::case::DeadlineInfo;

    fn names(code: &str) -> String {
        format!("<{code}>")
    }

    #[test]
    fn timeline_lines_come_from_the_catalogue_with_their_optional_parts() {
        let mut d = DeadlineInfo {
            rule: "finish".into(),
            unit: "dept".into(),
            due_at: 1_795_395_600_000,
            warn_at: 0,
            provisional: false,
            ends: Vec::new(),
            basis: None,
            after_hours: false,
        };
        let plain = event(Lang::Zh, &Event::DeadlineSet(Box::new(d.clone())), &names);
        assert_eq!(plain, "时限：办结，<dept>须在2026-11-23 09:00完成");
        d.provisional = true;
        d.after_hours = true;
        let both = event(Lang::Zh, &Event::DeadlineSet(Box::new(d.clone())), &names);
        assert!(
            both.ends_with("完成（暂定：节假日数据未覆盖）（非工作时间受理，按下一工作日计）"),
            "{both}"
        );
        let en = event(Lang::En, &Event::DeadlineSet(Box::new(d)), &names);
        assert_eq!(
            en,
            "Deadline: finish for <dept>, 2026-11-23 09:00 (provisional) (received outside office hours: counted from the next working day)"
        );
        let overdue = |leader: Option<&str>, lang| {
            event(
                lang,
                &Event::DeadlineOverdue {
                    rule: "finish".into(),
                    leader: leader.map(str::to_string),
                },
                &names,
            )
        };
        assert_eq!(overdue(None, Lang::Zh), "时限「办结」已超期");
        assert_eq!(
            overdue(Some("杨国华"), Lang::Zh),
            "时限「办结」已超期，提请杨国华督办"
        );
        assert_eq!(
            overdue(Some("Yang"), Lang::En),
            "Deadline 'finish' overdue; leader Yang to supervise"
        );
        let signals = Event::UrgentSignalled {
            signals: vec!["a".into(), "b".into()],
            leader: None,
        };
        assert_eq!(
            event(Lang::Zh, &signals, &names),
            "紧急信号：a、b，已通知研判单位"
        );
        assert_eq!(
            event(Lang::En, &signals, &names),
            "Danger signals: a, b; the triage unit told"
        );
    }
}
