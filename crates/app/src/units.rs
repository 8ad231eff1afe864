//! Administrators edit the unit tree: add a unit under a parent, rename one,
//! remove one added by mistake. Each change is checked against the whole
//! tree first (levels nest as DOMAIN.md §1 says; codes are unique), stored,
//! audited, and in force here at once and on other instances at their next
//! organisation refresh (every 5 s).
//!
//! Moving a unit to another parent is not offered: cases keep the
//! materialised path of their place (`place_path`), so a move would have to
//! rewrite the paths of every case, queue and search entry below it.

use crate::privacy::{allowed, Permission};
use crate::{App, AppError, Result, StaffUser};
use serde_json::json;
use suqiu_domain::org::{Level, OrgError, OrgTree, Unit};
use suqiu_domain::validate::bounded_text;
use suqiu_domain::{FieldError, FieldErrorKind};
use suqiu_store::{UnitRemoval, UnitRow};

/// Longest unit name (characters).
pub const MAX_UNIT_NAME: usize = 40;

/// A unit to add.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: String,
}

impl App {
    fn check_manage_units(&self, actor: &StaffUser) -> Result<()> {
        if allowed(actor.role, Permission::ManageUnits) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Adds a unit under an existing parent. Refused with nothing stored when
    /// the code is malformed or taken, the parent unknown, or the level may
    /// not sit under the parent's level.
    pub async fn add_unit(&self, actor: &StaffUser, new: NewUnit) -> Result<UnitRow> {
        self.check_manage_units(actor)?;
        let code = new.code.trim().to_string();
        if code.is_empty() {
            return Err(FieldError::new("code", FieldErrorKind::Missing).into());
        }
        let name = bounded_text("name", &new.name, MAX_UNIT_NAME, false)?;
        let level = Level::parse(new.level.trim())
            .filter(|l| *l != Level::District)
            .ok_or_else(|| FieldError::new("level", FieldErrorKind::InvalidValue))?;
        let parent = new.parent.trim().to_string();
        if parent.is_empty() {
            return Err(FieldError::new("parent", FieldErrorKind::Missing).into());
        }
        let org = self.org();
        let mut units: Vec<Unit> = org.units().map(|(u, _)| u.clone()).collect();
        units.push(Unit {
            code: code.clone(),
            name: name.clone(),
            level,
            parent: Some(parent.clone()),
        });
        let tree = OrgTree::new(units, org.people().to_vec()).map_err(unit_refusal)?;
        let row = UnitRow {
            code: code.clone(),
            name: name.clone(),
            level: level.as_str().to_string(),
            parent: Some(parent.clone()),
            path: tree.path(&code).unwrap_or_default().to_string(),
        };
        if !self.store().insert_unit(row.clone()).await? {
            return Err(AppError::UnitExists(code));
        }
        self.audit_quietly(
            &actor.login,
            "unit.create",
            &format!("unit:{code}"),
            json!({"name": name, "level": level.as_str(), "parent": parent, "path": row.path}),
        )
        .await;
        self.reload_org().await?;
        Ok(row)
    }

    /// Renames a unit (its code, place in the tree and cases stay).
    pub async fn rename_unit(&self, actor: &StaffUser, code: &str, name: &str) -> Result<()> {
        self.check_manage_units(actor)?;
        let name = bounded_text("name", name, MAX_UNIT_NAME, false)?;
        let before = self
            .org()
            .unit(code)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        if !self.store().rename_unit(code, &name).await? {
            return Err(AppError::UnknownUnit(code.to_string()));
        }
        self.audit_quietly(
            &actor.login,
            "unit.rename",
            &format!("unit:{code}"),
            json!({"name_before": before, "name": name}),
        )
        .await;
        self.reload_org().await
    }

    /// Removes a unit that nothing refers to yet: no sub-unit, no user
    /// (member or leader linked to it), no case that happened there, is held
    /// there, was dispatched there or has a deadline there, and no routing
    /// label that chose it.
    pub async fn remove_unit(&self, actor: &StaffUser, code: &str) -> Result<()> {
        self.check_manage_units(actor)?;
        let org = self.org();
        let before = org.unit(code).cloned();
        if before.as_ref().is_some_and(|u| u.level == Level::District) {
            return Err(AppError::UnitInUse("units"));
        }
        match self.store().remove_unit(code).await? {
            UnitRemoval::Removed => {}
            UnitRemoval::NotFound => return Err(AppError::UnknownUnit(code.to_string())),
            UnitRemoval::InUse(what) => return Err(AppError::UnitInUse(what)),
        }
        self.audit_quietly(
            &actor.login,
            "unit.remove",
            &format!("unit:{code}"),
            json!({
                "name": before.as_ref().map(|u| u.name.clone()),
                "level": before.as_ref().map(|u| u.level.as_str()),
                "parent": before.and_then(|u| u.parent),
            }),
        )
        .await;
        self.reload_org().await
    }
}

/// A tree the new unit would make invalid, as the administrator's error.
fn unit_refusal(e: OrgError) -> AppError {
    match e {
        OrgError::BadCode(_) => FieldError::new("code", FieldErrorKind::InvalidValue).into(),
        OrgError::DuplicateUnit(code) => AppError::UnitExists(code),
        OrgError::UnknownParent { parent, .. } => AppError::UnknownParentUnit(parent),
        OrgError::BadNesting {
            child_level,
            parent_level,
            ..
        } => AppError::UnitNesting {
            level: Level::parse(child_level).unwrap_or(Level::Grid),
            parent_level: Level::parse(parent_level).unwrap_or(Level::District),
        },
        other => AppError::Journal(other.to_string()),
    }
}
