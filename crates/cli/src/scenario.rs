//! `suqiu scenario run FILE…`: declarative, human-readable YAML stories run
//! against a fresh instance (in-memory SQLite by default). Format: docs/scenarios.md.

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use suqiu_app::{commands, orgconfig, App, Clock, FixedClock, StaffUser, Store};
use suqiu_domain::case::IntakeInput;
use suqiu_domain::workflow::china_date;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One failed expectation.
#[derive(Debug)]
pub struct Mismatch {
    pub what: String,
    pub expected: String,
    pub actual: String,
}

struct Run {
    app: App,
    clock: Arc<FixedClock>,
    cases: BTreeMap<String, (i64, String)>,
    /// The last four digits of each case's reporter phone, as the resident
    /// gives them when rating (a step may give its own `phone_last4`).
    phone_last4: BTreeMap<String, String>,
    last: Option<String>,
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .with_context(|| format!("bad time {s:?} (RFC 3339, e.g. 2026-09-28T10:00:00+08:00)"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn as_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Run {
    fn case(&self, step: &Value) -> anyhow::Result<(i64, String)> {
        let name = as_str(step, "case")
            .map(str::to_string)
            .or_else(|| self.last.clone());
        let name = name.ok_or_else(|| anyhow!("no case filed yet"))?;
        self.cases
            .get(&name)
            .cloned()
            .ok_or_else(|| anyhow!("unknown case {name:?}"))
    }

    async fn staff(&self, login: &str) -> anyhow::Result<StaffUser> {
        self.app
            .staff_by_login(login)
            .await
            .map_err(|_| anyhow!("unknown login {login:?}"))
    }

    async fn step(&mut self, step: &Value) -> anyhow::Result<Vec<Mismatch>> {
        let mut out = Vec::new();
        if let Some(name) = as_str(step, "file") {
            let r = step.get("reporter").cloned().unwrap_or(json!({}));
            let input = IntakeInput {
                channel: Some(as_str(step, "channel").unwrap_or("web").to_string()),
                unit: as_str(step, "unit").map(str::to_string),
                title: as_str(step, "title").map(str::to_string),
                content: as_str(step, "content").map(str::to_string),
                address: as_str(step, "address").map(str::to_string),
                reporter_name: as_str(&r, "name").map(str::to_string),
                reporter_phone: r.get("phone").map(|p| {
                    p.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| p.to_string())
                }),
                reporter_id_number: as_str(&r, "id_number").map(str::to_string),
                confidential: r
                    .get("confidential")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                accused_unit: step
                    .get("accused")
                    .and_then(|a| as_str(a, "unit"))
                    .map(str::to_string),
                accused_person: step
                    .get("accused")
                    .and_then(|a| as_str(a, "person"))
                    .map(str::to_string),
                ..IntakeInput::default()
            };
            let staff = match as_str(step, "as") {
                None | Some("resident") => None,
                Some(login) => Some(self.staff(login).await?),
            };
            let created = self
                .app
                .file_case(&input, staff.as_ref())
                .await
                .map_err(|e| anyhow!("filing {name}: {e}"))?;
            self.cases
                .insert(name.to_string(), (created.id, created.tracking_code));
            if let Some(last4) = input
                .reporter_phone
                .as_deref()
                .and_then(suqiu_app::phone_last4)
            {
                self.phone_last4.insert(name.to_string(), last4);
            }
            self.last = Some(name.to_string());
        } else if let Some(cmd) = as_str(step, "do") {
            let (id, _) = self.case(step)?;
            let login =
                as_str(step, "as").ok_or_else(|| anyhow!("`do: {cmd}` needs `as: <login>`"))?;
            let user = self.staff(login).await?;
            let args = step.get("with").cloned().unwrap_or(json!({}));
            let command =
                commands::parse(cmd, &args, self.app.now()).map_err(|e| anyhow!("{cmd}: {e}"))?;
            self.app
                .execute(&user, id, None, &command)
                .await
                .map_err(|e| anyhow!("{login} {cmd}: {e}"))?;
        } else if let Some(cmd) = as_str(step, "refuse") {
            let (id, _) = self.case(step)?;
            let login =
                as_str(step, "as").ok_or_else(|| anyhow!("`refuse: {cmd}` needs `as: <login>`"))?;
            let user = self.staff(login).await?;
            let args = step.get("with").cloned().unwrap_or(json!({}));
            let want = as_str(step, "code");
            let got = match commands::parse(cmd, &args, self.app.now()) {
                Err(e) => Some(problem_code(e)),
                Ok(command) => self
                    .app
                    .execute(&user, id, None, &command)
                    .await
                    .err()
                    .map(problem_code),
            };
            match (got, want) {
                (None, _) => out.push(Mismatch {
                    what: format!("{login} {cmd}"),
                    expected: format!("refused ({})", want.unwrap_or("any code")),
                    actual: "accepted".into(),
                }),
                (Some(g), Some(w)) if g != w => out.push(Mismatch {
                    what: format!("{login} {cmd}"),
                    expected: format!("refused with {w}"),
                    actual: format!("refused with {g}"),
                }),
                _ => {}
            }
        } else if let Some(rating) = as_str(step, "rate") {
            let (_, code) = self.case(step)?;
            let rating = commands::RATINGS
                .iter()
                .find(|(k, _)| *k == rating)
                .map(|(_, r)| *r)
                .ok_or_else(|| anyhow!("rating is satisfied, average or unsatisfied"))?;
            let comment = as_str(step, "comment").map(str::to_string);
            let last4 = match as_str(step, "phone_last4") {
                Some(given) => Some(given.to_string()),
                None => as_str(step, "case")
                    .map(str::to_string)
                    .or_else(|| self.last.clone())
                    .and_then(|name| self.phone_last4.get(&name).cloned()),
            };
            self.app
                .rate_by_code(&code, last4.as_deref(), rating, comment)
                .await
                .map_err(|e| anyhow!("resident rating: {e}"))?;
        } else if let Some(adv) = step.get("advance") {
            self.advance(adv)?;
        } else if step.get("sweep").is_some() {
            self.app
                .sweep_once()
                .await
                .map_err(|e| anyhow!("sweep: {e}"))?;
        } else if let Some(exp) = step.get("expect") {
            out.extend(self.expect(exp).await?);
        } else {
            bail!("unknown step {step}");
        }
        Ok(out)
    }

    fn advance(&self, adv: &Value) -> anyhow::Result<()> {
        let now = self.clock.now();
        if let Some(to) = as_str(adv, "to") {
            let t = parse_time(to)?;
            if t < now {
                bail!("advance to {to}: the clock never goes back");
            }
            self.clock.set(t);
            return Ok(());
        }
        let n = |k: &str| adv.get(k).and_then(Value::as_i64);
        if let Some(h) = n("hours") {
            self.clock.advance(h * 3_600_000);
        } else if let Some(m) = n("minutes") {
            self.clock.advance(m * 60_000);
        } else if let Some(d) = n("days") {
            self.clock.advance(d * 86_400_000);
        } else if let Some(w) = n("working_days") {
            // the same time of day, `w` working days later
            let cal = self.app.calendar();
            let today = china_date(now);
            let target = cal.add_working_days(today, u32::try_from(w)?).date;
            let days = (target - today).whole_days();
            self.clock.advance(days * 86_400_000);
        } else {
            bail!("advance needs to, hours, minutes, days or working_days");
        }
        Ok(())
    }

    async fn expect(&self, exp: &Value) -> anyhow::Result<Vec<Mismatch>> {
        let mut out = Vec::new();
        let (id, code) = self.case(exp)?;
        let store = self.app.store();
        let row = store
            .case_by_id(id)
            .await?
            .ok_or_else(|| anyhow!("case {id} vanished"))?;
        let mut check = |what: &str, expected: String, actual: String| {
            if expected != actual {
                out.push(Mismatch {
                    what: what.to_string(),
                    expected,
                    actual,
                });
            }
        };
        if let Some(s) = as_str(exp, "status") {
            check("status", s.to_string(), row.status.clone());
        }
        if let Some(u) = as_str(exp, "current_unit") {
            check("current_unit", u.to_string(), row.current_unit.clone());
        }
        if let Some(d) = exp.get("deadlines").and_then(Value::as_object) {
            let stored = store.deadlines(id).await?;
            for (rule, want) in d {
                let got = stored
                    .iter()
                    .find(|x| &x.rule == rule)
                    .map(|x| china_date(x.due_at - 1).to_string())
                    .unwrap_or_else(|| "none".into());
                check(
                    &format!("deadline {rule}"),
                    want.as_str().unwrap_or("?").to_string(),
                    got,
                );
            }
        }
        let queues: Vec<String> = store
            .case_queues(id)
            .await?
            .into_iter()
            .map(|(u, q)| format!("{u} {q}"))
            .collect();
        if let Some(q) = exp.get("queues").and_then(Value::as_array) {
            let mut want: Vec<String> = q
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            want.sort();
            check("queues", format!("{want:?}"), format!("{queues:?}"));
        }
        for q in exp
            .get("in_queue")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let q = q.as_str().unwrap_or("");
            if !queues.iter().any(|x| x == q) {
                check(
                    &format!("in queue {q}"),
                    "present".into(),
                    format!("absent (queues: {queues:?})"),
                );
            }
        }
        for q in exp
            .get("not_in_queue")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let q = q.as_str().unwrap_or("");
            if queues.iter().any(|x| x == q) {
                check(
                    &format!("not in queue {q}"),
                    "absent".into(),
                    "present".into(),
                );
            }
        }
        if let Some(n) = exp.get("notifications").and_then(Value::as_array) {
            let sent: Vec<String> = store
                .notifications(id)
                .await?
                .into_iter()
                .map(|n| {
                    let r: Value = serde_json::from_str(&n.recipient).unwrap_or(Value::Null);
                    let who = match as_str(&r, "type") {
                        Some("unit") => format!("unit:{}", as_str(&r, "code").unwrap_or("")),
                        Some("person") => format!("person:{}", as_str(&r, "login").unwrap_or("")),
                        Some(other) => other.to_string(),
                        None => "?".into(),
                    };
                    format!("{who} {}", n.template)
                })
                .collect();
            for want in n.iter().filter_map(Value::as_str) {
                if !sent.iter().any(|s| s == want) {
                    check(
                        &format!("notification {want}"),
                        "sent".into(),
                        format!("not sent (sent: {sent:?})"),
                    );
                }
            }
        }
        let needs_view = [
            "returns",
            "owner",
            "rating",
            "urgency",
            "category",
            "provisional",
            "timeline_includes",
            "public_timeline_includes",
        ]
        .iter()
        .any(|k| exp.get(*k).is_some());
        if needs_view {
            let admin = self
                .app
                .staff_by_login("admin")
                .await
                .map_err(|e| anyhow!("{e}"))?;
            let view = self
                .app
                .case_for(&admin, id)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            let s = &view.state;
            if let Some(r) = exp.get("returns").and_then(Value::as_object) {
                for (unit, n) in r {
                    check(
                        &format!("returns of {unit}"),
                        n.to_string(),
                        s.returns_of(unit).to_string(),
                    );
                }
            }
            if let Some(p) = exp.get("provisional").and_then(Value::as_array) {
                let want: Vec<&str> = p.iter().filter_map(Value::as_str).collect();
                let got: Vec<&str> = s
                    .deadlines
                    .iter()
                    .filter(|d| d.info.provisional)
                    .map(|d| d.info.rule.as_str())
                    .collect();
                check(
                    "provisional deadlines",
                    format!("{want:?}"),
                    format!("{got:?}"),
                );
            }
            if let Some(o) = as_str(exp, "owner") {
                check(
                    "owner",
                    o.into(),
                    s.owner.clone().unwrap_or_else(|| "none".into()),
                );
            }
            if let Some(r) = as_str(exp, "rating") {
                check(
                    "rating",
                    r.into(),
                    s.rating
                        .map(|x| x.en().to_string())
                        .unwrap_or_else(|| "none".into()),
                );
            }
            if let Some(u) = as_str(exp, "urgency") {
                check(
                    "urgency",
                    u.into(),
                    s.urgency
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_else(|| "none".into()),
                );
            }
            if let Some(c) = as_str(exp, "category") {
                check(
                    "category",
                    c.into(),
                    s.category.clone().unwrap_or_else(|| "none".into()),
                );
            }
            let kinds: Vec<&str> = view.events.iter().map(|e| e.event.kind()).collect();
            for k in exp
                .get("timeline_includes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let k = k.as_str().unwrap_or("");
                if !kinds.contains(&k) {
                    check(
                        &format!("timeline has {k}"),
                        "present".into(),
                        format!("absent ({kinds:?})"),
                    );
                }
            }
            if let Some(words) = exp
                .get("public_timeline_includes")
                .and_then(Value::as_array)
            {
                let track = self.app.track(&code).await.map_err(|e| anyhow!("{e}"))?;
                let text: String = track
                    .timeline
                    .iter()
                    .map(|(_, zh, _)| zh.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                for w in words.iter().filter_map(Value::as_str) {
                    if !text.contains(w) {
                        check(
                            &format!("resident timeline mentions {w}"),
                            "yes".into(),
                            format!("no:\n{text}"),
                        );
                    }
                }
            }
        }
        Ok(out)
    }
}

fn problem_code(e: suqiu_app::AppError) -> String {
    use suqiu_app::AppError as E;
    match e {
        E::Refused(r) => r.code().to_string(),
        E::Invalid(f) => f.kind.code().to_string(),
        E::Conflict { .. } => "version_conflict".into(),
        E::CaseNotFound => "case_not_found".into(),
        E::UnknownCommand(_) => "unknown_command".into(),
        other => format!("other: {other}"),
    }
}

/// Runs one scenario file on a fresh database; returns the mismatches.
pub async fn run_file(
    path: &std::path::Path,
    database: Option<&str>,
) -> anyhow::Result<Vec<(usize, String, Mismatch)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    let start = parse_time(as_str(&doc, "start").unwrap_or("2026-09-28T09:00:00+08:00"))?;
    // a fresh database per file
    let (_keep, url) = match database {
        None => (None, "sqlite::memory:".to_string()),
        Some(server) => {
            let db = suqiu_store::testing::postgres(server).await?;
            let url = db.url.clone();
            (Some(db), url)
        }
    };
    let store = Store::open(&url).await?;
    let clock = Arc::new(FixedClock::new(start));
    let app = App::new(store, clock.clone()).await?;
    app.load_org(orgconfig::DEMO_DISTRICT).await?;
    let mut run = Run {
        app,
        clock,
        cases: BTreeMap::new(),
        phone_last4: BTreeMap::new(),
        last: None,
    };
    let steps = doc
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{}: no `steps` list", path.display()))?;
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let label = step
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                step.as_object()
                    .and_then(|o| o.iter().next())
                    .map(|(k, v)| {
                        format!(
                            "{k}: {}",
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        )
                    })
                    .unwrap_or_default()
            });
        match run.step(step).await {
            Ok(m) => failures.extend(m.into_iter().map(|m| (i + 1, label.clone(), m))),
            Err(e) => {
                failures.push((
                    i + 1,
                    label,
                    Mismatch {
                        what: "step".into(),
                        expected: "runs".into(),
                        actual: format!("{e:#}"),
                    },
                ));
                break;
            }
        }
    }
    Ok(failures)
}

/// Runs every file; prints a report; fails when any expectation fails.
pub async fn run_all(files: &[std::path::PathBuf], database: Option<&str>) -> anyhow::Result<()> {
    let mut failed = 0;
    for f in files {
        let name = f.display();
        let failures = run_file(f, database).await?;
        if failures.is_empty() {
            println!("ok    {name}");
        } else {
            failed += 1;
            println!("FAIL  {name}");
            for (step, label, m) in failures {
                println!("  step {step} ({label}): {}", m.what);
                println!("    - expected: {}", m.expected);
                println!("    + actual:   {}", m.actual);
            }
        }
    }
    println!("{} scenario(s), {} failed", files.len(), failed);
    if failed > 0 {
        bail!("{failed} scenario(s) failed");
    }
    Ok(())
}
