//! Hot topics over the cases a staff member may see (DOMAIN.md §9, 主动治理):
//! the cases received in a recent period, grouped by [`suqiu_text::hot_topics`]
//! (one local problem: same place, same matter) and ranked by its heat index.

use crate::cases::journals;
use crate::{App, AppError, Result, StaffUser};
use suqiu_domain::case::Event;
use suqiu_store::CaseFilter;
use suqiu_text::{Topic, TopicMessage};

/// Most cases one topics request groups (the newest first).
const MAX_CASES: usize = 20_000;
/// China Standard Time, the zone-less local time the grouping expects.
const CST_OFFSET_MS: i64 = 8 * 3_600_000;

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
}
