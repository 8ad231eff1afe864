//! Staff sessions: Argon2id password hashes, random session tokens stored as
//! SHA-256 hashes (so a database leak does not hand out sessions), and the
//! scope of what a person may see in the unit tree.

use crate::{App, AppError, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use suqiu_domain::case::{Actor, Millis};
use suqiu_domain::org::{OrgTree, Role};
use suqiu_store::UserRow;

/// How long a session lasts.
pub const SESSION_TTL_MS: Millis = 12 * 3600 * 1000;

/// A logged-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub unit: String,
    pub linked_units: Vec<String>,
    /// Unit paths the user may see; `None` means the whole district.
    pub scope_paths: Option<Vec<String>>,
}

impl StaffUser {
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            login: self.login.clone(),
            name: self.name.clone(),
            unit: self.unit.clone(),
        }
    }

    /// Whether a case filed at `place_path` is within the user's part of the tree.
    pub fn can_see(&self, place_path: &str) -> bool {
        match &self.scope_paths {
            None => true,
            Some(paths) => paths.iter().any(|p| place_path.starts_with(p.as_str())),
        }
    }
}

/// Which subtrees a role sees (DOMAIN.md §7): its own unit's subtree; leaders
/// the units they are linked to; the petition bureau and administrators the
/// whole district. Departments see only what is dispatched to them (none yet).
fn scope_paths(org: &OrgTree, role: Role, unit: &str, linked: &[String]) -> Option<Vec<String>> {
    let path = |c: &str| org.path(c).map(str::to_string);
    match role {
        Role::PetitionBureau | Role::Admin => None,
        Role::Leader => Some(linked.iter().filter_map(|c| path(c)).collect()),
        Role::DepartmentHandler => Some(vec![]),
        Role::GridWorker | Role::CommunityStaff | Role::StreetStaff => Some(path(unit).into_iter().collect()),
    }
}

pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Journal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| AppError::Journal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl App {
    fn staff_user(&self, u: UserRow) -> Result<StaffUser> {
        let role = Role::parse(&u.role).ok_or_else(|| AppError::Journal(format!("unknown role {}", u.role)))?;
        let org = self.org();
        let scope_paths = scope_paths(&org, role, &u.unit, &u.linked_units);
        Ok(StaffUser {
            login: u.login,
            name: u.name,
            role,
            unit: u.unit,
            linked_units: u.linked_units,
            scope_paths,
        })
    }

    /// Checks a password and opens a session; returns (token, user, expiry).
    pub async fn login(&self, login: &str, password: &str) -> Result<(String, StaffUser, Millis)> {
        let user = self.store().user(login).await?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            // Spend the same time as a real check so logins cannot be probed by timing.
            let _ = hash_password(password.to_string()).await;
            return Err(AppError::BadCredentials);
        };
        if !verify_password(password.to_string(), user.password_hash.clone()).await {
            return Err(AppError::BadCredentials);
        }
        let bytes: [u8; 32] = rand::random();
        let token = hex::encode(bytes);
        let now = self.now();
        let expires = now + SESSION_TTL_MS;
        self.store()
            .insert_session(&token_hash(&token), &user.login, now, expires)
            .await?;
        Ok((token, self.staff_user(user)?, expires))
    }

    /// The user behind a session token, if the session is valid.
    pub async fn authenticate(&self, token: &str) -> Result<StaffUser> {
        let user = self
            .store()
            .session_user(&token_hash(token), self.now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.staff_user(user)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        self.store().delete_session(&token_hash(token)).await?;
        Ok(())
    }
}
