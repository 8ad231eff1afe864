//! Hot topics over the cases a staff member may see (DOMAIN.md §9, 主动治理):
//! the cases received in a recent period, grouped by [`suqiu_text::hot_topics`]
//! (one local problem: same place, same matter) and ranked by its heat index.

use crate::cases::journals;
use crate::{App, AppError, Result, StaffUser};
use std::collections::HashMap;
use std::sync::Mutex;
use suqiu_domain::case::Event;
use suqiu_domain::case::Millis;
use suqiu_store::CaseFilter;
pub use suqiu_text::Topic;
use suqiu_text::TopicMessage;

/// Most cases one topics request groups (the newest first).
const MAX_CASES: usize = 20_000;
/// China Standard Time, the zone-less local time the grouping expects.
const CST_OFFSET_MS: i64 = 8 * 3_600_000;
/// Most answers kept by [`TopicsCache`] (it is emptied when full).
const CACHE_ENTRIES: usize = 1_000;

/// Who asked what, and the answer with the time it was worked out.
type TopicsKey = (String, Option<String>, u32, usize);

/// Recent answers of [`App::hot_topics_recent`]: the dashboard shows hot
/// topics on every load, and grouping a month of a district's cases reads
/// up to 20,000 journals.
#[derive(Default)]
pub(crate) struct TopicsCache(Mutex<HashMap<TopicsKey, (Millis, Vec<Topic>)>>);

impl TopicsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TopicsKey, (Millis, Vec<Topic>)>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl App {
    /// The `top` hottest topics among the cases received in the last `days`
    /// days that `user` may see (within `unit`'s subtree if given); each
    /// topic's `message_ids` are case ids. The reporter's phone only counts
    /// distinct reporters for the heat index; it is never returned.
    pub async fn hot_topics(
        &self,
        user: &StaffUser,
        unit: Option<&str>,
        days: u32,
        top: usize,
    ) -> Result<Vec<Topic>> {
        for (field, ok) in [
            ("days", (1..=366).contains(&days)),
            ("top", (1..=100).contains(&top)),
        ] {
            if !ok {
                return Err(AppError::Invalid(suqiu_domain::FieldError::new(
                    field,
                    suqiu_domain::FieldErrorKind::InvalidValue,
                )));
            }
        }
        let from = self.now() - i64::from(days) * 86_400_000;
        let mut messages = Vec::new();
        let mut cursor = None;
        while messages.len() < MAX_CASES {
            let mut page = self
                .list_cases(
                    user,
                    unit,
                    CaseFilter {
                        from: Some(from),
                        before_id: cursor,
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.id);
            page.sort_by_key(|r| r.id);
            let events = self
                .store()
                .events_of(page.iter().map(|r| r.id).collect())
                .await?;
            for (row, journal) in journals(&page, &events) {
                if let Some(Event::Received(i)) = journal.first().map(|e| &e.event) {
                    messages.push(TopicMessage {
                        id: serde_json::json!(row.id),
                        user: Some(row.reporter_phone.clone()).filter(|p| !p.is_empty()),
                        time: (row.received_at + CST_OFFSET_MS).div_euclid(1000),
                        title: i.title.clone(),
                        detail: i.content.clone(),
                        likes: 0,
                        dislikes: 0,
                    });
                }
            }
        }
        Ok(suqiu_text::hot_topics(&messages, top))
    }

    /// [`App::hot_topics`], or the same user's same question answered at
    /// most `max_age` ms ago (the dashboard's section: a trend may be a
    /// minute old; the topics page and the API always work it out afresh).
    pub async fn hot_topics_recent(
        &self,
        user: &StaffUser,
        unit: Option<&str>,
        days: u32,
        top: usize,
        max_age: Millis,
    ) -> Result<Vec<Topic>> {
        let key: TopicsKey = (user.login.clone(), unit.map(str::to_string), days, top);
        let now = self.now();
        if let Some((at, topics)) = self.topics_cache.lock().get(&key) {
            if now - at <= max_age && now >= *at {
                return Ok(topics.clone());
            }
        }
        let topics = self.hot_topics(user, unit, days, top).await?;
        let mut cache = self.topics_cache.lock();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, (now, topics.clone()));
        Ok(topics)
    }
}
