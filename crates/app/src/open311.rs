//! Open311 GeoReport v2 use cases: the public view of requests (no personal
//! data), the services (the configured categories), the places a request may
//! name, and filing a request with an API token of scope `open311`.
//!
//! Identifiers: a request's public `service_request_id` is the case id. The
//! tracking code lets its holder rate the case, so it is never listed; it is
//! returned only to the client that filed the request, as the Open311 `token`
//! (`tokens/{token}` resolves it to the id, and `requests/{code}` accepts it).
//!
//! Privacy: a public request never carries the reporter's name, phone or ID
//! number. The description (and the typed address) of a confidential case or
//! of an accusation (检举控告) is never shown; other descriptions have phone and
//! ID numbers and the reporter's name masked.

use crate::cases::{journals, replay};
use crate::tokens::{is_api_token, Scope};
use crate::{normalise_tracking_code, App, AppError, Result, StaffUser};
use suqiu_domain::case::{CaseState, IntakeInput, Location, Millis, Status};
use suqiu_domain::validate::{mask_id_number, mask_name, mask_phone, FieldError, FieldErrorKind};
use suqiu_store::{CaseFilter, CaseRef, CaseRow, EventRow};

/// How a resident's chosen category is kept in the case text, the same words
/// as the resident's web form (so triage shows it as the resident's choice).
pub const HINT_PREFIX: &str = "（群众选择的类别：";
const HINT_END: char = '）';

/// Longest window of a list (GeoReport v2: at most 90 days).
pub const MAX_WINDOW_MS: Millis = 90 * 86_400_000;
/// Most requests one list returns (GeoReport v2's default limit).
pub const MAX_LIST: usize = 1000;
/// Rows read per round while filtering a list.
const BATCH: u32 = 200;
/// Longest title derived from a description.
const TITLE_CHARS: usize = 30;

/// The Open311 service code of a category: ASCII codes for the built-in
/// categories, the category's own name for any other configured one.
pub fn service_code(category: &str) -> String {
    match category {
        "基础建设" => "infrastructure",
        "民生保障" => "livelihood",
        "生态环境" => "environment",
        "矛盾纠纷" => "dispute",
        "信访舆情" => "petition",
        other => other,
    }
    .to_string()
}

/// The configured category a service code (or a category name) names.
pub fn category_of<'a>(categories: &'a [String], code: &str) -> Option<&'a str> {
    categories
        .iter()
        .find(|c| service_code(c) == code || c.as_str() == code)
        .map(String::as_str)
}

/// The resident's category hint in a case's text, if any.
pub fn category_hint(content: &str) -> Option<&str> {
    let start = content.rfind(HINT_PREFIX)? + HINT_PREFIX.len();
    let rest = &content[start..];
    rest.find(HINT_END).map(|end| &rest[..end])
}

/// A case as the public sees it through Open311.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRequest {
    pub id: i64,
    /// The category set at triage, else the one chosen when filing.
    pub category: Option<String>,
    pub status: Status,
    /// The latest step in plain words (the tracking page's words).
    pub status_notes: Option<String>,
    /// None for a confidential case or an accusation.
    pub description: Option<String>,
    /// The unit currently handling the case (name).
    pub agency: String,
    /// The place (names from the district down) and, unless hidden, the typed address.
    pub address: String,
    /// The place's unit code (the Open311 `address_id`).
    pub place_unit: String,
    pub requested_at: Millis,
    pub updated_at: Millis,
    /// The earliest running deadline, while the case is open.
    pub expected_at: Option<Millis>,
    /// The coordinates the filer gave (hidden with the address).
    pub location: Option<Location>,
}

/// Filters of the public list (all ANDed).
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    /// Category names; empty: all.
    pub categories: Vec<String>,
    /// Some(true): open only; Some(false): closed only.
    pub open: Option<bool>,
    /// Requested at or after.
    pub from: Option<Millis>,
    /// Requested before or at.
    pub to: Option<Millis>,
    /// At most this many (capped at [`MAX_LIST`]).
    pub limit: usize,
}

/// A request filed through Open311 (already mapped from the client's fields).
#[derive(Debug, Clone, Default)]
pub struct Open311Intake {
    /// The category (not the service code).
    pub category: String,
    /// `address_id` or the `place` attribute: a place's unit code.
    pub place: Option<String>,
    /// `address_string`: a typed address, which may name the village/community.
    pub address: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub confidential: bool,
    /// `lat` and `long`, decimal degrees.
    pub lat: Option<String>,
    pub long: Option<String>,
}

/// Masks phone and ID numbers (runs of 7 or more digits) and the reporter's
/// name in free text.
pub fn mask_text(text: &str, reporter_name: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
        if digit(chars[i]) {
            let mut j = i;
            while j < chars.len() && (digit(chars[j]) || chars[j] == '-') {
                j += 1;
            }
            // an ID number may end in X
            if j < chars.len() && matches!(chars[j], 'X' | 'x') && j - i == 17 {
                j += 1;
            }
            let run: String = chars[i..j].iter().collect();
            let digits = chars[i..j].iter().filter(|c| digit(**c)).count();
            if digits >= 15 {
                out.push_str(&mask_id_number(&run));
            } else if digits >= 7 {
                out.push_str(&mask_phone(&run));
            } else {
                out.push_str(&run);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    let name = reporter_name.trim();
    if name.chars().count() >= 2 {
        out = out.replace(name, &mask_name(name));
    }
    out
}

fn first_line_title(description: &str) -> String {
    let line = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let end = line
        .char_indices()
        .find(|(_, c)| matches!(c, '。' | '！' | '？' | '.' | '!' | '?'))
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    line[..end].chars().take(TITLE_CHARS).collect()
}

impl App {
    /// The configured categories (the Open311 services).
    pub fn open311_categories(&self) -> Vec<String> {
        self.rules().categories.clone()
    }

    /// The places a request may name: (unit code, names from the district down).
    pub fn open311_places(&self) -> Vec<(String, String)> {
        let org = self.org();
        let mut v: Vec<(String, String)> = org
            .units()
            .filter(|(u, _)| u.level.is_place())
            .map(|(u, _)| (u.code.clone(), self.place_label(&u.code)))
            .collect();
        v.sort();
        v
    }

    /// A place's names from below the district down to it, e.g. `丹阳街道 幸福社区 第一网格`.
    fn place_label(&self, code: &str) -> String {
        let org = self.org();
        let mut names = Vec::new();
        let mut cur = org.unit(code);
        while let Some(u) = cur {
            if u.parent.is_none() {
                break;
            }
            names.push(u.name.clone());
            cur = u.parent.as_deref().and_then(|p| org.unit(p));
        }
        names.reverse();
        names.join(" ")
    }

    /// The place a request names: a unit code, else a village/community named
    /// in the typed address (the longest name wins).
    fn open311_place(&self, req: &Open311Intake) -> Result<String> {
        if let Some(code) = req
            .place
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return Ok(code.to_string());
        }
        let org = self.org();
        req.address
            .as_deref()
            .and_then(|a| {
                org.units()
                    .map(|(u, _)| u)
                    .filter(|u| {
                        u.level == suqiu_domain::org::Level::Community
                            && a.contains(u.name.as_str())
                    })
                    .max_by_key(|u| u.name.chars().count())
                    .map(|u| u.code.clone())
            })
            .ok_or_else(|| AppError::Invalid(FieldError::new("unit", FieldErrorKind::Missing)))
    }

    /// The user behind an Open311 `api_key`: a live API token with scope `open311`.
    pub async fn open311_client(&self, api_key: Option<&str>) -> Result<StaffUser> {
        let key = api_key
            .map(str::trim)
            .filter(|k| is_api_token(k))
            .ok_or(AppError::Unauthenticated)?;
        let user = self.authenticate(key).await?;
        if user.token.is_none() || !user.has_scope(Scope::Open311) {
            return Err(AppError::MissingScope(Scope::Open311.as_str()));
        }
        Ok(user)
    }

    /// Files a request through the normal intake (channel `web`, filed by the
    /// token's owner), with the category kept as the resident's choice.
    pub async fn open311_file(&self, user: &StaffUser, req: &Open311Intake) -> Result<CaseRef> {
        if user.token.is_none() || !user.has_scope(Scope::Open311) {
            return Err(AppError::MissingScope(Scope::Open311.as_str()));
        }
        if category_of(&self.rules().categories, &req.category).is_none() {
            return Err(AppError::Invalid(FieldError::new(
                "service_code",
                FieldErrorKind::InvalidValue,
            )));
        }
        let description = req
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                AppError::Invalid(FieldError::new("content", FieldErrorKind::Missing))
            })?;
        let title = match req
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => t.to_string(),
            None => first_line_title(description),
        };
        let unit = self.open311_place(req)?;
        let input = IntakeInput {
            channel: Some("web".into()),
            unit: Some(unit),
            title: Some(title),
            content: Some(format!(
                "{description}\n{HINT_PREFIX}{}{HINT_END}",
                req.category
            )),
            address: req.address.clone(),
            reporter_name: req.name.clone(),
            reporter_phone: req.phone.clone(),
            reporter_id_number: None,
            confidential: req.confidential,
            accused_unit: None,
            accused_person: None,
            lat: req.lat.clone(),
            long: req.long.clone(),
            // Open311 has no preferred channel: the default (SMS to the phone)
            ..IntakeInput::default()
        };
        self.file_case(&input, Some(user)).await
    }

    /// The case id a token (tracking code) stands for.
    pub async fn open311_token(&self, token: &str) -> Result<i64> {
        let code = normalise_tracking_code(token).ok_or(AppError::CaseNotFound)?;
        let row = self
            .store()
            .case_by_tracking_code(&code)
            .await?
            .ok_or(AppError::CaseNotFound)?;
        Ok(row.id)
    }

    /// One request by case id or tracking code.
    ///
    /// A confidential case or an accusation (检举控告) is not public: by its
    /// number it is not found, like a case that does not exist; only the
    /// holder of its tracking code reads it (still without its description).
    pub async fn open311_request(&self, id: &str) -> Result<PublicRequest> {
        let (row, by_code) = match id.parse::<i64>() {
            Ok(n) if n > 0 => (self.store().case_by_id(n).await?, false),
            Ok(_) => (None, false),
            Err(_) => match normalise_tracking_code(id) {
                Some(code) => (self.store().case_by_tracking_code(&code).await?, true),
                None => (None, false),
            },
        };
        let row = row.ok_or(AppError::CaseNotFound)?;
        let events = self.store().events(row.id).await?;
        let (r, public) = self.public_request(&row, &events)?;
        if !public && !by_code {
            return Err(AppError::CaseNotFound);
        }
        Ok(r)
    }

    /// Several requests by id (ids not found are left out), in the order asked.
    pub async fn open311_requests_by_ids(&self, ids: &[i64]) -> Result<Vec<PublicRequest>> {
        let mut wanted: Vec<i64> = ids.iter().copied().filter(|i| *i > 0).collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted.truncate(MAX_LIST);
        let mut rows = self.store().cases_by_ids(wanted.clone()).await?;
        rows.sort_by_key(|r| r.id);
        let events = self.store().events_of(wanted).await?;
        let mut found = Vec::new();
        for (row, evs) in journals(&rows, &events) {
            if let (r, true) = self.public_request(row, evs)? {
                found.push(r);
            }
        }
        Ok(ids
            .iter()
            .filter_map(|i| found.iter().find(|r| r.id == *i).cloned())
            .collect())
    }

    /// The public list, newest first, within a window of at most 90 days.
    pub async fn open311_requests(&self, q: &PublicQuery) -> Result<Vec<PublicRequest>> {
        let limit = q.limit.clamp(1, MAX_LIST);
        let (from, to) = match (q.from, q.to) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, f.saturating_add(MAX_WINDOW_MS)),
            (None, Some(t)) => (t.saturating_sub(MAX_WINDOW_MS), t),
            (None, None) => {
                let now = self.now();
                (now - MAX_WINDOW_MS, now)
            }
        };
        if to < from {
            return Err(AppError::BadQuery("end_date"));
        }
        if to - from > MAX_WINDOW_MS {
            return Err(AppError::BadQuery("start_date"));
        }
        let statuses: Vec<String> = match q.open {
            None => Vec::new(),
            Some(false) => vec![Status::Closed.as_str().to_string()],
            Some(true) => Status::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .map(|s| s.as_str().to_string())
                .collect(),
        };
        let mut out = Vec::new();
        let mut before_id = None;
        loop {
            let filter = CaseFilter {
                statuses: statuses.clone(),
                from: Some(from),
                to: Some(to.saturating_add(1)),
                before_id,
                limit: BATCH,
                ..Default::default()
            };
            let mut rows = self.store().list_cases(filter).await?;
            let done = rows.len() < BATCH as usize;
            before_id = rows.iter().map(|r| r.id).min();
            rows.sort_by_key(|r| r.id);
            let ids = rows.iter().map(|r| r.id).collect();
            let events = self.store().events_of(ids).await?;
            let mut batch = Vec::new();
            for (row, evs) in journals(&rows, &events) {
                let (r, public) = self.public_request(row, evs)?;
                let wanted = public
                    && (q.categories.is_empty()
                        || r.category
                            .as_ref()
                            .is_some_and(|c| q.categories.contains(c)));
                if wanted {
                    batch.push(r);
                }
            }
            batch.reverse();
            out.extend(batch);
            if out.len() >= limit || done || before_id.is_none() {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The public view of a case, and whether it may be listed or read by
    /// number (false for a confidential case and an accusation).
    fn public_request(&self, row: &CaseRow, events: &[EventRow]) -> Result<(PublicRequest, bool)> {
        let state = replay(events)?;
        let name = |c: &str| self.unit_name(c);
        let status_notes = events
            .iter()
            .rev()
            .find_map(|e| e.event.public_text(&name))
            .map(|(zh, _)| zh);
        let hidden = state.intake.reporter.confidential || state.intake.is_accusation();
        let mut address = self.place_label(&state.intake.place_unit);
        if let (false, Some(a)) = (hidden, state.intake.address.as_deref()) {
            address = format!("{address} {}", mask_text(a, &state.intake.reporter.name));
        }
        let r = PublicRequest {
            id: row.id,
            category: category(&state, &self.rules().categories),
            status: state.status,
            status_notes,
            description: (!hidden).then(|| description(&state)),
            agency: self.unit_name(&state.current_unit),
            address,
            place_unit: state.intake.place_unit.clone(),
            location: state.intake.location.filter(|_| !hidden),
            requested_at: state.received_at,
            updated_at: state.updated_at,
            expected_at: if state.status.is_open() {
                state.deadlines.iter().map(|d| d.info.due_at).min()
            } else {
                None
            },
        };
        Ok((r, !hidden))
    }
}

fn category(s: &CaseState, categories: &[String]) -> Option<String> {
    s.category.clone().or_else(|| {
        category_hint(&s.intake.content)
            .filter(|h| categories.iter().any(|c| c == h))
            .map(str::to_string)
    })
}

/// The title and text (without the category hint), masked.
fn description(s: &CaseState) -> String {
    let content = match s.intake.content.rfind(HINT_PREFIX) {
        Some(i) => s.intake.content[..i].trim_end(),
        None => s.intake.content.trim_end(),
    };
    let text = if content.starts_with(s.intake.title.as_str()) {
        content.to_string()
    } else {
        format!("{}\n{content}", s.intake.title)
    };
    mask_text(&text, &s.intake.reporter.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let cats: Vec<String> = [
            "基础建设",
            "民生保障",
            "生态环境",
            "矛盾纠纷",
            "信访舆情",
            "其他",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in &cats {
            assert_eq!(category_of(&cats, &service_code(c)), Some(c.as_str()));
            assert_eq!(category_of(&cats, c), Some(c.as_str()));
        }
        assert_eq!(service_code("基础建设"), "infrastructure");
        assert_eq!(category_of(&cats, "nothing"), None);
    }

    #[test]
    fn text_is_masked() {
        assert_eq!(
            mask_text(
                "王小明说电话13912345678，身份证430102199001011234",
                "王小明"
            ),
            "王**说电话139****5678，身份证430102********1234"
        );
        assert_eq!(mask_text("路灯3盏坏了", "李四"), "路灯3盏坏了");
    }

    #[test]
    fn titles_from_descriptions() {
        assert_eq!(first_line_title("\n 路灯不亮。已经一周了"), "路灯不亮");
        assert_eq!(first_line_title(&"长".repeat(50)).chars().count(), 30);
    }

    #[test]
    fn hints_are_found() {
        assert_eq!(
            category_hint("文字\n（群众选择的类别：基础建设）"),
            Some("基础建设")
        );
        assert_eq!(category_hint("文字"), None);
    }
}
