//! Delivery of notification intents (the outbox, DOMAIN.md §5). Every intent
//! is a `notifications` row written in the same transaction as the step that
//! caused it. A sender claims due rows for a while (a lease; PostgreSQL
//! instances skip each other's rows), renders them with the templates,
//! sends them through the channel routed for the recipient with the row's
//! idempotency key, and records the outcome: sent; a retry later with
//! exponential back-off; or dead after a permanent error or too many attempts,
//! which an administrator sees and can send again.

use crate::privacy::{allowed, Permission};
use crate::{App, AppError, Result, StaffUser};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use suqiu_channels::{Audience, Channel, ChannelConfig, Lang, SendError, Templates};
use suqiu_domain::case::{Contact, ContactChannel, Millis, Status};
use suqiu_store::{CaseRow, NotificationRow, OutboxOutcome};

/// What an outbox row of a case the viewer may not open shows instead of its text.
pub const HIDDEN_TEXT: &str = "（无权查看的诉求 / a case you may not open）";

/// The `[channels]`, `[routes]` and `[sender]` of a notification config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
    #[serde(default)]
    pub routes: Routes,
    #[serde(default)]
    pub sender: SenderConfig,
    /// Chat groups linked to units (see `chatgroup.rs`).
    #[serde(default)]
    pub chat_groups: BTreeMap<String, crate::chatgroup::ChatGroupConfig>,
}

/// Which channel reaches whom.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// Residents: the channel gets the reporter's phone number as recipient (SMS).
    pub resident: Option<String>,
    /// Residents who asked for SMS (to the reporter's phone or the number
    /// they gave); when unset, `resident`.
    pub resident_sms: Option<String>,
    /// Residents who asked for e-mail (to their address); when unset, `resident`
    /// (to the reporter's phone).
    pub resident_email: Option<String>,
    /// Units without a route of their own (or of a unit above them).
    pub unit: Option<String>,
    /// People without a route of their own.
    pub person: Option<String>,
    /// A unit code → channel, for that unit and every unit below it.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    /// A login → channel and addresses.
    #[serde(default)]
    pub people: BTreeMap<String, PersonRoute>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRoute {
    pub channel: String,
    #[serde(default)]
    pub to: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SenderConfig {
    /// Attempts before a notification is dead.
    pub max_attempts: u32,
    /// Rows claimed per round.
    pub batch: u32,
    /// Pause between rounds when nothing was due, in milliseconds.
    pub every_ms: u64,
    /// How long a claim lasts, in milliseconds (longer than any send).
    pub lease_ms: i64,
    /// First retry delay, doubled at each attempt, in milliseconds.
    pub backoff_ms: i64,
    /// Longest retry delay, in milliseconds.
    pub max_backoff_ms: i64,
    /// Template language: "zh" or "en".
    pub lang: String,
    /// Start of the public tracking link; the tracking code is appended.
    pub link_base: String,
    /// A TOML file of template overrides (see `suqiu-channels`' defaults).
    pub templates: Option<String>,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            max_attempts: 8,
            batch: 50,
            every_ms: 1000,
            lease_ms: 120_000,
            backoff_ms: 5_000,
            max_backoff_ms: 3_600_000,
            lang: "zh".into(),
            link_base: String::new(),
            templates: None,
        }
    }
}

/// A ready sender: channels built, templates checked.
#[derive(Clone)]
pub struct Notifier {
    channels: BTreeMap<String, Arc<dyn Channel>>,
    routes: Routes,
    sender: SenderConfig,
    lang: Lang,
    templates: Arc<Templates>,
    chat_groups: BTreeMap<String, crate::chatgroup::ChatGroupConfig>,
}

impl NotifyConfig {
    pub fn parse(text: &str) -> std::result::Result<NotifyConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Builds every channel and checks that each route names one.
    pub fn build(self, templates_text: Option<&str>) -> std::result::Result<Notifier, String> {
        let mut channels = BTreeMap::new();
        for (name, c) in &self.channels {
            let ch = c.build().map_err(|e| format!("channel {name:?}: {e}"))?;
            channels.insert(name.clone(), ch);
        }
        let r = &self.routes;
        let named = r
            .resident
            .iter()
            .chain(&r.resident_sms)
            .chain(&r.resident_email)
            .chain(&r.unit)
            .chain(&r.person)
            .chain(r.units.values())
            .chain(r.people.values().map(|p| &p.channel))
            .chain(
                self.chat_groups
                    .values()
                    .filter_map(|g| g.reply_channel.as_ref()),
            );
        for n in named {
            if !channels.contains_key(n) {
                return Err(format!(
                    "route names channel {n:?}, which is not configured"
                ));
            }
        }
        let lang = match self.sender.lang.as_str() {
            "zh" => Lang::Zh,
            "en" => Lang::En,
            other => return Err(format!("sender.lang {other:?}: use \"zh\" or \"en\"")),
        };
        let templates = match templates_text {
            Some(t) => Templates::defaults_with_toml(t),
            None => Templates::defaults(),
        }
        .map_err(|e| e.to_string())?;
        Ok(Notifier {
            channels,
            routes: self.routes,
            sender: self.sender,
            lang,
            templates: Arc::new(templates),
            chat_groups: self.chat_groups,
        })
    }
}

/// Where one notification goes.
struct Target {
    name: String,
    channel: Arc<dyn Channel>,
    to: Vec<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Recipient {
    Resident,
    Unit { code: String },
    Person { login: String },
}

impl Notifier {
    pub fn sender(&self) -> &SenderConfig {
        &self.sender
    }

    pub fn chat_groups(&self) -> &BTreeMap<String, crate::chatgroup::ChatGroupConfig> {
        &self.chat_groups
    }

    /// The default templates (built in, plus the operator's file).
    pub fn templates(&self) -> Arc<Templates> {
        self.templates.clone()
    }

    fn channel(&self, name: &str, to: Vec<String>) -> std::result::Result<Target, String> {
        self.channels
            .get(name)
            .map(|c| Target {
                name: name.to_string(),
                channel: c.clone(),
                to,
            })
            .ok_or_else(|| format!("channel {name:?} is not configured"))
    }

    fn target(
        &self,
        app: &App,
        n: &NotificationRow,
        case: &CaseRow,
        chat: Option<&suqiu_domain::case::ChatSource>,
        contact: Option<&Contact>,
    ) -> std::result::Result<Target, String> {
        let recipient: Recipient = serde_json::from_str(&n.recipient)
            .map_err(|e| format!("recipient {}: {e}", n.recipient))?;
        match recipient {
            // a chat-group case: progress goes back to the group, mentioning the sender
            Recipient::Resident if chat.is_some() => {
                let c = chat.ok_or("no chat source")?;
                let g = self
                    .chat_groups
                    .get(&c.group)
                    .ok_or_else(|| format!("chat group {:?} is not configured", c.group))?;
                let name = g
                    .reply_channel
                    .as_deref()
                    .ok_or_else(|| format!("chat group {:?} has no reply channel", c.group))?;
                self.channel(name, vec![c.sender.clone()])
            }
            // the resident's preference, else SMS to the reporter's phone
            Recipient::Resident => {
                let r = &self.routes;
                let fallback = || -> std::result::Result<Target, String> {
                    let name = r.resident.as_deref().ok_or("no channel for residents")?;
                    self.channel(name, vec![case.reporter_phone.clone()])
                };
                match contact {
                    Some(Contact {
                        channel: ContactChannel::Email,
                        address: Some(a),
                    }) => match r.resident_email.as_deref() {
                        Some(name) => self.channel(name, vec![a.clone()]),
                        None => fallback(),
                    },
                    Some(Contact {
                        channel: ContactChannel::Sms,
                        address,
                    }) => match r.resident_sms.as_deref().or(r.resident.as_deref()) {
                        Some(name) => self.channel(
                            name,
                            vec![address
                                .clone()
                                .unwrap_or_else(|| case.reporter_phone.clone())],
                        ),
                        None => Err("no channel for residents".into()),
                    },
                    _ => fallback(),
                }
            }
            Recipient::Unit { code } => {
                let org = app.org();
                // the unit's own route, else the nearest unit above it with one
                let mut at = Some(code.as_str());
                while let Some(c) = at {
                    if let Some(name) = self.routes.units.get(c) {
                        return self.channel(name, vec![]);
                    }
                    at = org.unit(c).and_then(|u| u.parent.as_deref());
                }
                let name = self.routes.unit.as_deref().ok_or("no channel for units")?;
                self.channel(name, vec![])
            }
            Recipient::Person { login } => match self.routes.people.get(&login) {
                Some(p) => self.channel(&p.channel, p.to.clone()),
                None => {
                    let name = self
                        .routes
                        .person
                        .as_deref()
                        .ok_or("no channel for people")?;
                    self.channel(name, vec![login])
                }
            },
        }
    }

    /// Delay before attempt `attempts + 1`, after `attempts` failures.
    fn backoff(&self, attempts: u32, id: i64, err: &SendError) -> Millis {
        let exp = self
            .sender
            .backoff_ms
            .saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
        let jitter = id.rem_euclid(1000);
        let asked = err
            .retry_after
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        exp.min(self.sender.max_backoff_ms).max(asked) + jitter
    }
}

/// What one round of the sender did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
    /// Not sent by the recipient's choice.
    pub skipped: usize,
}

impl App {
    /// Turns on delivery with this notifier (see `spawn_outbox_sender`).
    pub fn with_notifier(mut self, n: Notifier) -> App {
        self.notifier = Some(Arc::new(n));
        // the defaults changed: overrides are applied to them afresh
        self.templates = Arc::default();
        self
    }

    /// One round: claims due notifications as `worker` and delivers them.
    pub async fn deliver_once(&self, worker: &str) -> Result<DeliveryReport> {
        let Some(n) = self.notifier.clone() else {
            return Ok(DeliveryReport::default());
        };
        let now = self.now();
        let rows = self
            .store()
            .claim_notifications(worker, now, n.sender.lease_ms, n.sender.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: rows.len(),
            ..DeliveryReport::default()
        };
        if rows.is_empty() {
            return Ok(report);
        }
        // administrators' overrides, as stored now (any instance may have changed them)
        let templates = self.current_templates().await?;
        let mut ids: Vec<i64> = rows.iter().map(|r| r.case_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let cases: BTreeMap<i64, CaseRow> = self
            .store()
            .cases_by_ids(ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut sends = tokio::task::JoinSet::new();
        for row in rows {
            let app = self.clone();
            let n = n.clone();
            let case = cases.get(&row.case_id).cloned();
            let worker = worker.to_string();
            let templates = templates.clone();
            sends.spawn(async move {
                let outcome = app.deliver(&n, &templates, &row, case.as_ref()).await;
                let o = match &outcome {
                    OutboxOutcome::Sent { .. } => 0,
                    OutboxOutcome::Retry { .. } => 1,
                    OutboxOutcome::Dead { .. } => 2,
                    OutboxOutcome::Skipped { .. } => 3,
                };
                app.store()
                    .finish_notification(row.id, &worker, app.now(), outcome)
                    .await
                    .map(|_| o)
            });
        }
        while let Some(r) = sends.join_next().await {
            match r.map_err(|e| AppError::Journal(e.to_string()))?? {
                0 => report.sent += 1,
                1 => report.retried += 1,
                3 => report.skipped += 1,
                _ => report.dead += 1,
            }
        }
        Ok(report)
    }

    async fn deliver(
        &self,
        n: &Notifier,
        templates: &Templates,
        row: &NotificationRow,
        case: Option<&CaseRow>,
    ) -> OutboxOutcome {
        let Some(case) = case else {
            return OutboxOutcome::Dead {
                channel: None,
                error: format!("case {} not found", row.case_id),
            };
        };
        // a resident's notification: their chat group, or their preference
        let (chat, contact) =
            if Audience::of_recipient_json(&row.recipient).ok() == Some(Audience::Resident) {
                match self.load(case.id).await {
                    Ok(v) => (v.state.intake.chat, v.state.contact),
                    Err(e) => {
                        return OutboxOutcome::Retry {
                            channel: None,
                            error: format!("reading the case: {e}"),
                            next_attempt_at: self.now() + n.sender.backoff_ms,
                        }
                    }
                }
            } else {
                (None, None)
            };
        if chat.is_none()
            && contact
                .as_ref()
                .is_some_and(|c| c.channel == ContactChannel::None)
        {
            return OutboxOutcome::Skipped {
                reason: "the resident asked for no notifications".into(),
            };
        }
        let target = match n.target(self, row, case, chat.as_ref(), contact.as_ref()) {
            Ok(t) => t,
            Err(error) => {
                return OutboxOutcome::Dead {
                    channel: None,
                    error,
                }
            }
        };
        let audience = match Audience::of_recipient_json(&row.recipient) {
            Ok(a) => a,
            Err(e) => {
                return OutboxOutcome::Dead {
                    channel: Some(target.name),
                    error: e.to_string(),
                }
            }
        };
        let vars = self.template_vars(n, row, case).await;
        let rendered = match templates.render(&row.template, audience, n.lang, &vars) {
            Ok(r) => r,
            Err(e) => {
                return OutboxOutcome::Dead {
                    channel: Some(target.name),
                    error: e.to_string(),
                }
            }
        };
        // the same key on every attempt, so a receiver that honours it
        // never acts twice on one notification
        let key = format!("suqiu-{}-n{}", self.district(), row.id);
        let message = rendered.into_message(key, target.to);
        match target.channel.send(&message).await {
            Ok(_) => OutboxOutcome::Sent {
                channel: target.name,
            },
            Err(e) if e.is_retryable() && row.attempts + 1 < n.sender.max_attempts => {
                OutboxOutcome::Retry {
                    channel: Some(target.name),
                    error: e.to_string(),
                    next_attempt_at: self.now() + n.backoff(row.attempts + 1, row.id, &e),
                }
            }
            Err(e) => OutboxOutcome::Dead {
                channel: Some(target.name),
                error: e.to_string(),
            },
        }
    }

    async fn template_vars(
        &self,
        n: &Notifier,
        row: &NotificationRow,
        case: &CaseRow,
    ) -> BTreeMap<&'static str, String> {
        let status = Status::parse(&case.status)
            .map(|s| s.zh().to_string())
            .unwrap_or_else(|| case.status.clone());
        let deadline = self
            .store()
            .deadlines(case.id)
            .await
            .ok()
            .and_then(|d| d.into_iter().map(|d| d.due_at).min())
            .map(crate::format_china_time)
            .unwrap_or_default();
        // the tracking code is the resident's alone: staff are told the case number
        let resident = matches!(
            serde_json::from_str::<Recipient>(&row.recipient),
            Ok(Recipient::Resident)
        );
        let link = if n.sender.link_base.is_empty() || !resident {
            String::new()
        } else {
            format!("{}{}", n.sender.link_base, case.tracking_code)
        };
        let code = if resident {
            case.tracking_code.clone()
        } else {
            format!("#{}", case.id)
        };
        BTreeMap::from([
            ("tracking_code", code),
            ("title", case.title.clone()),
            ("status", status),
            ("text", row.text_zh.clone()),
            ("unit", self.unit_name(&case.current_unit)),
            ("deadline", deadline),
            ("link", link),
        ])
    }

    /// Runs the sender until the app is dropped (a no-op without a notifier).
    pub fn spawn_outbox_sender(&self) -> Option<tokio::task::JoinHandle<()>> {
        let n = self.notifier.clone()?;
        let app = self.clone();
        let worker = format!(
            "{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        Some(tokio::spawn(async move {
            let idle = std::time::Duration::from_millis(n.sender.every_ms);
            loop {
                match app.deliver_once(&worker).await {
                    Ok(r) if r.claimed > 0 => {
                        tracing::info!(
                            sent = r.sent,
                            retried = r.retried,
                            dead = r.dead,
                            "notifications"
                        );
                        if r.claimed < n.sender.batch as usize {
                            tokio::time::sleep(idle).await;
                        }
                    }
                    Ok(_) => tokio::time::sleep(idle).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "notification delivery failed");
                        tokio::time::sleep(idle).await;
                    }
                }
            }
        }))
    }

    /// The outbox for administrators, by status.
    pub async fn outbox(
        &self,
        user: &StaffUser,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NotificationRow>> {
        if !allowed(user.role, Permission::ManageNotifications) {
            return Err(AppError::Forbidden);
        }
        if status.is_some_and(|s| !["pending", "sent", "dead", "skipped"].contains(&s)) {
            return Err(AppError::BadQuery("status"));
        }
        let mut rows = self.store().outbox(status, limit.clamp(1, 500)).await?;
        // An administrator manages delivery, not content: a notification of a
        // case they may not open (an accusation against their unit or them)
        // keeps its delivery facts but names neither the case nor its text.
        let visible = self
            .visible_ids(user, rows.iter().map(|r| r.case_id).collect())
            .await?;
        for r in rows.iter_mut().filter(|r| !visible.contains(&r.case_id)) {
            r.case_id = 0;
            r.seq = 0;
            r.recipient = "{}".into();
            r.text_zh = HIDDEN_TEXT.into();
            r.last_error = r.last_error.as_ref().map(|_| HIDDEN_TEXT.into());
        }
        Ok(rows)
    }

    /// Sends a dead notification again (administrators; audited).
    pub async fn retry_notification(&self, user: &StaffUser, id: i64) -> Result<()> {
        if !allowed(user.role, Permission::ManageNotifications) {
            return Err(AppError::Forbidden);
        }
        if !self.store().requeue_notification(id, self.now()).await? {
            return Err(AppError::NotificationNotFound);
        }
        self.audit(
            &user.login,
            "notification.retry",
            &format!("notification:{id}"),
            "",
            serde_json::json!({}),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_example_config_builds() {
        let cfg = NotifyConfig::parse(include_str!("../../../config/notify.example.toml")).unwrap();
        let n = cfg.build(None).unwrap();
        assert_eq!(n.channels.len(), 3);
        assert_eq!(n.chat_groups().len(), 2);
        assert_eq!(n.sender.max_attempts, 8);
    }

    #[test]
    fn routes_must_name_configured_channels() {
        let cfg = NotifyConfig::parse("[routes]\nresident = \"sms\"\n").unwrap();
        let e = cfg.build(None).err().unwrap();
        assert!(e.contains("\"sms\""), "{e}");
        assert!(
            NotifyConfig::parse("[sender]\nmax_attemps = 3\n").is_err(),
            "typos refused"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let n = NotifyConfig::parse("[sender]\nbackoff_ms = 1000\nmax_backoff_ms = 5000\n")
            .unwrap()
            .build(None)
            .unwrap();
        let e = SendError::retryable("webhook", "503");
        assert_eq!(n.backoff(1, 0, &e), 1000);
        assert_eq!(n.backoff(2, 0, &e), 2000);
        assert_eq!(n.backoff(3, 0, &e), 4000);
        assert_eq!(n.backoff(4, 0, &e), 5000);
        assert_eq!(n.backoff(40, 7, &e), 5007, "jitter by id");
        let mut slow = e.clone();
        slow.retry_after = Some(std::time::Duration::from_secs(30));
        assert_eq!(n.backoff(1, 0, &slow), 30_000);
    }
}
