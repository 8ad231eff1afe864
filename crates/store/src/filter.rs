//! Case list filters, rendered to SQL for either backend's placeholder style.

use suqiu_domain::case::Millis;

/// Filters for a case list. All conditions are ANDed; within `scopes`,
/// `statuses` and `channels` the values are ORed.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Unit paths the caller may see (`/D/S1/`); `None` means everything.
    pub scopes: Option<Vec<String>>,
    /// Cases dispatched to this unit are visible too (ORed with `scopes`).
    pub involved_unit: Option<String>,
    /// The viewer's own unit paths (unit and linked units): accusations whose
    /// accused unit contains one of them are never listed (检举控告).
    pub viewer_paths: Vec<String>,
    /// The viewer's login: accusations against this person are never listed.
    pub viewer_login: Option<String>,
    /// Only cases at a place within this unit path.
    pub subtree: Option<String>,
    pub statuses: Vec<String>,
    pub channels: Vec<String>,
    /// Received at or after (inclusive).
    pub from: Option<Millis>,
    /// Received before (exclusive).
    pub to: Option<Millis>,
    /// Keyset cursor: only ids strictly below this one.
    pub before_id: Option<i64>,
    pub limit: u32,
}

pub(crate) enum CaseKey {
    Id(i64),
    Tracking(String),
}

#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// Upper bound of a path prefix range: every path starting with `prefix`
/// (which ends in '/') is >= prefix and < this ('/' + 1 == '0').
fn upper(prefix: &str) -> String {
    let mut s = prefix.trim_end_matches('/').to_string();
    s.push('0');
    s
}

impl CaseFilter {
    /// Builds `WHERE … ORDER BY id DESC LIMIT n`, with `ph(i)` producing the
    /// i-th (1-based) placeholder.
    pub(crate) fn to_sql(&self, ph: fn(usize) -> String) -> (String, Vec<Param>) {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let push = |p: Param, params: &mut Vec<Param>| {
            params.push(p);
            ph(params.len())
        };
        let range = |prefix: &str, params: &mut Vec<Param>| {
            let lo = push(Param::Text(prefix.to_string()), params);
            let hi = push(Param::Text(upper(prefix)), params);
            format!("(place_path >= {lo} AND place_path < {hi})")
        };
        let vis = Visibility {
            scopes: self.scopes.clone(),
            involved_unit: self.involved_unit.clone(),
            viewer_paths: self.viewer_paths.clone(),
            viewer_login: self.viewer_login.clone(),
        };
        conds.extend(vis.conds("", &mut |p| push(p, &mut params)));
        if let Some(sub) = &self.subtree {
            let c = range(sub, &mut params);
            conds.push(c);
        }
        let in_list = |col: &str, vals: &[String], params: &mut Vec<Param>| {
            let phs: Vec<String> = vals
                .iter()
                .map(|v| push(Param::Text(v.clone()), params))
                .collect();
            format!("{col} IN ({})", phs.join(", "))
        };
        if !self.statuses.is_empty() {
            let c = in_list("status", &self.statuses, &mut params);
            conds.push(c);
        }
        if !self.channels.is_empty() {
            let c = in_list("channel", &self.channels, &mut params);
            conds.push(c);
        }
        let int_cond = |expr: &str, v: Option<i64>, params: &mut Vec<Param>| {
            v.map(|v| {
                params.push(Param::Int(v));
                format!("{expr} {}", ph(params.len()))
            })
        };
        conds.extend(int_cond("received_at >=", self.from, &mut params));
        conds.extend(int_cond("received_at <", self.to, &mut params));
        conds.extend(int_cond("id <", self.before_id, &mut params));
        let where_ = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        params.push(Param::Int(i64::from(self.limit.clamp(1, 500))));
        let sql = format!(
            "SELECT {} FROM cases {where_} ORDER BY id DESC LIMIT {}",
            CASE_COLUMNS,
            ph(params.len())
        );
        (sql, params)
    }
}

/// Who may see which cases, as SQL: the same rule for lists, queues and
/// counts (DOMAIN.md §7, §10), so no surface can show what another hides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Unit paths the caller may see (`/D/S1/`); `None` means everything.
    pub scopes: Option<Vec<String>>,
    /// Cases dispatched to this unit are visible too (ORed with `scopes`).
    pub involved_unit: Option<String>,
    /// The viewer's own unit paths: accusations whose accused unit contains
    /// one of them are never shown (检举控告).
    pub viewer_paths: Vec<String>,
    /// The viewer's login: accusations against this person are never shown.
    pub viewer_login: Option<String>,
}

impl Visibility {
    /// The conditions (to be ANDed) over the `cases` columns, qualified with
    /// `c` (`""` or `"c."`); `push` binds a parameter and gives its placeholder.
    pub(crate) fn conds(&self, c: &str, push: &mut dyn FnMut(Param) -> String) -> Vec<String> {
        let mut conds = Vec::new();
        if let Some(scopes) = &self.scopes {
            let mut parts: Vec<String> = scopes
                .iter()
                .map(|s| {
                    let lo = push(Param::Text(s.clone()));
                    let hi = push(Param::Text(upper(s)));
                    format!("({c}place_path >= {lo} AND {c}place_path < {hi})")
                })
                .collect();
            if let Some(u) = &self.involved_unit {
                let p = push(Param::Text(u.clone()));
                parts.push(format!(
                    "{c}id IN (SELECT cu.case_id FROM case_units cu WHERE cu.unit = {p})"
                ));
            }
            if parts.is_empty() {
                conds.push("1 = 0".into());
            } else {
                conds.push(format!("({})", parts.join(" OR ")));
            }
        }
        // An accusation is invisible to the accused unit's subtree and person.
        for p in &self.viewer_paths {
            let v = push(Param::Text(p.clone()));
            conds.push(format!(
                "({c}accused_path IS NULL OR substr({v}, 1, length({c}accused_path)) <> {c}accused_path)"
            ));
        }
        if let Some(l) = &self.viewer_login {
            let v = push(Param::Text(l.clone()));
            conds.push(format!(
                "({c}accused_login IS NULL OR {c}accused_login <> {v})"
            ));
        }
        conds
    }
}

/// Narrows a work queue; the conditions are ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Which cases the viewer may see at all (the rule of the lists).
    pub visibility: Visibility,
    /// Only cases at a place within this unit path.
    pub subtree: Option<String>,
    pub category: Option<String>,
    pub urgency: Option<String>,
}

impl QueueFilter {
    /// A page of `unit`'s `queue` after a position, oldest first: the case
    /// columns then `since` (at index [`case_column_count`]).
    pub(crate) fn page_sql(
        &self,
        unit: &str,
        queue: &str,
        after: crate::QueuePosition,
        limit: u32,
        ph: fn(usize) -> String,
    ) -> (String, Vec<Param>) {
        let mut params = vec![
            Param::Text(unit.to_string()),
            Param::Text(queue.to_string()),
            Param::Int(after.since),
            Param::Int(after.case_id),
        ];
        let mut conds = vec![format!(
            "q.unit = {} AND q.queue = {} AND (q.since, q.case_id) > ({}, {})",
            ph(1),
            ph(2),
            ph(3),
            ph(4)
        )];
        let mut push = |p: Param| {
            params.push(p);
            ph(params.len())
        };
        let vis = self.visibility.conds("c.", &mut push);
        conds.extend(vis);
        if let Some(sub) = &self.subtree {
            let lo = push(Param::Text(sub.clone()));
            let hi = push(Param::Text(upper(sub)));
            conds.push(format!("c.place_path >= {lo} AND c.place_path < {hi}"));
        }
        for (col, v) in [("category", &self.category), ("urgency", &self.urgency)] {
            if let Some(v) = v {
                let p = push(Param::Text(v.clone()));
                conds.push(format!("c.{col} = {p}"));
            }
        }
        let lim = push(Param::Int(i64::from(limit)));
        let cols: Vec<String> = CASE_COLUMNS
            .split(", ")
            .map(|col| format!("c.{col}"))
            .collect();
        let sql = format!(
            "SELECT {}, q.since FROM case_queues q JOIN cases c ON c.id = q.case_id
             WHERE {} ORDER BY q.since, q.case_id LIMIT {lim}",
            cols.join(", "),
            conds.join(" AND ")
        );
        (sql, params)
    }
}

/// How many columns [`CASE_COLUMNS`] lists.
pub(crate) fn case_column_count() -> usize {
    CASE_COLUMNS.split(", ").count()
}

pub(crate) const CASE_COLUMNS: &str =
    "id, tracking_code, status, channel, place_unit, place_path, current_unit, title, \
     reporter_name, reporter_phone, received_at, updated_at, version, category, urgency, \
     accused_path, accused_login";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bound() {
        assert_eq!(upper("/D/S1/"), "/D/S10");
        assert!("/D/S1/C1/" >= "/D/S1/" && "/D/S1/C1/" < upper("/D/S1/").as_str());
        assert!("/D/S10/" >= upper("/D/S1/").as_str());
    }

    #[test]
    fn sql_shape() {
        let f = CaseFilter {
            scopes: Some(vec!["/D/S1/".into()]),
            statuses: vec!["received".into()],
            before_id: Some(10),
            limit: 20,
            ..Default::default()
        };
        let (sql, params) = f.to_sql(|i| format!("${i}"));
        assert!(
            sql.contains("place_path >= $1 AND place_path < $2"),
            "{sql}"
        );
        assert!(
            sql.contains("status IN ($3)") && sql.contains("id < $4") && sql.ends_with("LIMIT $5")
        );
        assert_eq!(params.len(), 5);
    }
}
