//! Deadline rules and categories edited by administrators: validated, stored
//! with a version (every instance loads the newest, as the routing models
//! are), audited. A change applies to deadlines started after it; running
//! deadlines keep the dates computed when they started (they are stored in
//! `deadline_set` events, never recomputed).

use crate::privacy::{allowed, Permission};
use crate::{App, AppError, Result, StaffUser};
use serde_json::json;
use std::sync::Arc;
use suqiu_domain::workflow::{DeadlineRules, RuleProblem};

impl App {
    /// Loads stored rules newer than the ones in force (cheap when none are).
    /// Returns whether the rules changed.
    pub async fn refresh_rules(&self) -> Result<bool> {
        let known = self.rules_version();
        let Some((version, text)) = self.store().latest_rule_set(known).await? else {
            return Ok(false);
        };
        let rules: DeadlineRules = serde_json::from_str(&text)
            .map_err(|e| AppError::Journal(format!("stored deadline rules {version}: {e}")))?;
        rules
            .validate()
            .map_err(|e| AppError::Journal(format!("stored deadline rules {version}: {e}")))?;
        self.swap_rules(version, rules);
        tracing::info!(version, "deadline rules loaded");
        Ok(true)
    }

    fn swap_rules(&self, version: i64, rules: DeadlineRules) {
        let mut g = match self.rules.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if version >= g.0 {
            *g = (version, Arc::new(rules));
        }
    }

    /// An administrator replaces the deadline rules and categories: checked
    /// first (nothing is stored when refused), then stored as a new version,
    /// audited, and in force here at once and on other instances at their
    /// next refresh. Returns the new version.
    pub async fn set_rules(&self, user: &StaffUser, rules: DeadlineRules) -> Result<i64> {
        if !allowed(user.role, Permission::ManageRules) {
            return Err(AppError::Forbidden);
        }
        rules.validate().map_err(AppError::BadRules)?;
        let org = self.org();
        if let Some(code) = rules
            .office_hours
            .units
            .keys()
            .find(|c| org.unit(c).is_none())
        {
            return Err(AppError::BadRules(RuleProblem {
                code: "office_hours_unknown_unit",
                field: format!("office_hours.units.{code}"),
                zh: format!("办公时间中的单位「{code}」不存在"),
                en: format!("office hours name an unknown unit '{code}'"),
            }));
        }
        let text = serde_json::to_string(&rules).map_err(|e| AppError::Journal(e.to_string()))?;
        let before = self.rules();
        let version = self
            .store()
            .put_rule_set(&text, self.now(), &user.login)
            .await?;
        self.audit_quietly(
            &user.login,
            "rules.update",
            &format!("rules:{version}"),
            json!({
                "version": version,
                "categories_before": before.categories,
                "categories": rules.categories,
                "rules_before": before.rules.len(),
                "rules": rules.rules.len(),
            }),
        )
        .await;
        self.swap_rules(version, rules);
        Ok(version)
    }

    /// The rules in force as TOML (the format of `config/deadline-rules.toml`).
    pub fn rules_toml(&self) -> String {
        toml::to_string(&*self.rules()).unwrap_or_default()
    }

    /// [`App::set_rules`] from TOML text (the administrator's page).
    pub async fn set_rules_toml(&self, user: &StaffUser, text: &str) -> Result<i64> {
        if !allowed(user.role, Permission::ManageRules) {
            return Err(AppError::Forbidden);
        }
        let rules: DeadlineRules = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            AppError::BadRules(RuleProblem {
                code: "rules_syntax",
                field: "rules".into(),
                zh: format!("规则文本格式有误：{msg}"),
                en: format!("the rules text is not valid: {msg}"),
            })
        })?;
        self.set_rules(user, rules).await
    }

    /// Replaces only the categories offered at triage (a new rules version).
    pub async fn set_categories(&self, user: &StaffUser, categories: Vec<String>) -> Result<i64> {
        let mut rules = (*self.rules()).clone();
        rules.categories = categories;
        self.set_rules(user, rules).await
    }

    /// Reloads stored rules and users every `every` (other instances' changes).
    pub fn spawn_config_refresh(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = app.refresh_rules().await {
                    tracing::warn!(error = %e, "loading deadline rules failed");
                }
                match app.refresh_calendar().await {
                    Ok(true) => tracing::info!("holiday calendar reloaded"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "reloading the holiday calendar failed"),
                }
                if let Err(e) = app.reload_org().await {
                    tracing::warn!(error = %e, "reloading the organisation failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_are_valid_and_round_trip_through_toml() {
        let file = App::parse_rules(include_str!("../../../config/deadline-rules.toml")).unwrap();
        assert_eq!(file.validate(), Ok(()));
        assert_eq!(file, DeadlineRules::default());
        let text = toml::to_string(&file).unwrap();
        assert_eq!(App::parse_rules(&text).unwrap(), file);
    }
}
