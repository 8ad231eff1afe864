//! Administrators manage staff accounts: create a user (login, name, role,
//! unit, initial password), change the role and unit, reset the password;
//! each audited. (Disabling and ending sessions: `privacy.rs`.)

use crate::privacy::{allowed, check_password_policy, Permission};
use crate::{tree_from_rows, App, AppError, Result, StaffUser};
use serde_json::json;
use std::sync::Arc;
use suqiu_domain::org::Role;
use suqiu_domain::validate::bounded_text;
use suqiu_domain::{FieldError, FieldErrorKind};
use suqiu_store::UserRow;

/// A new staff account.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    #[serde(default)]
    pub linked_units: Vec<String>,
    pub password: String,
}

/// A user as administrators see them (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserInfo {
    pub login: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    pub linked_units: Vec<String>,
    pub disabled: bool,
}

/// A login: 2–32 of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter.
fn check_login(login: &str) -> Result<()> {
    let ok = (2..=32).contains(&login.len())
        && login.starts_with(|c: char| c.is_ascii_lowercase())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("login", FieldErrorKind::InvalidValue).into())
    }
}

impl App {
    /// Rebuilds the organisation in memory from the stored units and users
    /// (after an administrator's change, here or on another instance).
    pub async fn reload_org(&self) -> Result<()> {
        let units = self.store().units().await?;
        if units.is_empty() {
            return Ok(());
        }
        let users = self.store().all_users().await?;
        let tree = tree_from_rows(units, users)?;
        let mut g = match self.org.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Arc::new(tree);
        Ok(())
    }

    fn check_manage_users(&self, actor: &StaffUser) -> Result<()> {
        if allowed(actor.role, Permission::ManageUsers) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Checks a role, a unit and linked units against the organisation.
    fn check_placement(&self, role: &str, unit: &str, linked: &[String]) -> Result<Role> {
        let role = Role::parse(role)
            .ok_or_else(|| FieldError::new("role", FieldErrorKind::InvalidValue))?;
        let org = self.org();
        let u = org
            .unit(unit)
            .ok_or_else(|| AppError::UnknownUnit(unit.to_string()))?;
        if !role.allowed_levels().contains(&u.level) {
            return Err(AppError::RoleNotForUnit(role, u.level));
        }
        if let Some(l) = linked.iter().find(|l| org.unit(l).is_none()) {
            return Err(AppError::UnknownUnit(l.clone()));
        }
        if !linked.is_empty() && role != Role::Leader {
            return Err(FieldError::new("linked_units", FieldErrorKind::InvalidValue).into());
        }
        Ok(role)
    }

    /// Every user, by login (administrators).
    pub async fn users(&self, actor: &StaffUser) -> Result<Vec<UserInfo>> {
        self.check_manage_users(actor)?;
        Ok(self
            .store()
            .all_users()
            .await?
            .into_iter()
            .map(|u| UserInfo {
                login: u.login,
                name: u.name,
                role: u.role,
                unit: u.unit,
                linked_units: u.linked_units,
                disabled: u.disabled,
            })
            .collect())
    }

    /// Creates a staff user with an initial password (policy checked).
    pub async fn create_user(&self, actor: &StaffUser, u: NewUser) -> Result<()> {
        self.check_manage_users(actor)?;
        check_login(&u.login)?;
        let name = bounded_text("name", &u.name, 20, false)?;
        let role = self.check_placement(&u.role, &u.unit, &u.linked_units)?;
        check_password_policy(&u.login, &u.password)?;
        if self.store().user(&u.login).await?.is_some() {
            return Err(AppError::LoginTaken(u.login));
        }
        let hash = crate::auth::hash_password(u.password).await?;
        let inserted = self
            .store()
            .insert_user(UserRow {
                login: u.login.clone(),
                name: name.clone(),
                role: role.as_str().to_string(),
                unit: u.unit.clone(),
                linked_units: u.linked_units.clone(),
                password_hash: hash,
                disabled: false,
            })
            .await?;
        if !inserted {
            return Err(AppError::LoginTaken(u.login));
        }
        self.audit_quietly(
            &actor.login,
            "user.create",
            &format!("user:{}", u.login),
            json!({"name": name, "role": role.as_str(), "unit": u.unit, "linked_units": u.linked_units}),
        )
        .await;
        self.reload_org().await
    }

    /// Changes a user's role and unit (their sessions end: the scope changed).
    pub async fn change_user_role(
        &self,
        actor: &StaffUser,
        login: &str,
        role: &str,
        unit: &str,
        linked_units: Vec<String>,
    ) -> Result<()> {
        self.check_manage_users(actor)?;
        let before = self
            .store()
            .user(login)
            .await?
            .ok_or_else(|| AppError::UnknownUser(login.to_string()))?;
        let role = self.check_placement(role, unit, &linked_units)?;
        if !self
            .store()
            .update_user(login, role.as_str(), unit, linked_units.clone())
            .await?
        {
            return Err(AppError::UnknownUser(login.to_string()));
        }
        self.store().delete_sessions_of(login).await?;
        self.audit_quietly(
            &actor.login,
            "user.role",
            &format!("user:{login}"),
            json!({
                "role_before": before.role, "unit_before": before.unit,
                "role": role.as_str(), "unit": unit, "linked_units": linked_units,
            }),
        )
        .await;
        self.reload_org().await
    }

    /// Sets a new password for a user (policy checked); their sessions end.
    pub async fn reset_password(
        &self,
        actor: &StaffUser,
        login: &str,
        password: &str,
    ) -> Result<()> {
        self.check_manage_users(actor)?;
        if self.store().user(login).await?.is_none() {
            return Err(AppError::UnknownUser(login.to_string()));
        }
        check_password_policy(login, password)?;
        let hash = crate::auth::hash_password(password.to_string()).await?;
        if !self.store().set_password_hash(login, &hash).await? {
            return Err(AppError::UnknownUser(login.to_string()));
        }
        self.store().delete_sessions_of(login).await?;
        self.audit_quietly(
            &actor.login,
            "user.password_reset",
            &format!("user:{login}"),
            json!({}),
        )
        .await;
        Ok(())
    }
}
