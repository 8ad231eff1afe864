//! Staff sessions: Argon2id password hashes, random session tokens stored as
//! SHA-256 hashes (so a database leak does not hand out sessions), and the
//! scope of what a person may see in the unit tree.

use crate::{App, AppError, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordVerifier, SaltString};
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
    /// The paths of the user's own unit and linked units: an accusation
    /// against any unit containing one of them is hidden from the user.
    pub viewer_paths: Vec<String>,
    /// Set when the request came with an API token: what the token allows.
    pub token: Option<crate::tokens::TokenGrant>,
}

impl StaffUser {
    /// Whether a case is an accusation against the user or a unit of their chain
    /// (the unit accused, or any unit above the user's own): then the user may
    /// never see it (信访工作条例 §30, §46).
    pub fn accused_in(&self, row: &suqiu_store::CaseRow) -> bool {
        row.accused_login.as_deref() == Some(self.login.as_str())
            || row
                .accused_path
                .as_deref()
                .is_some_and(|a| self.viewer_paths.iter().any(|p| p.starts_with(a)))
    }

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
        // what is dispatched or forwarded to them (`case_units`), nothing by place
        Role::DepartmentHandler | Role::Inspector => Some(vec![]),
        Role::GridWorker | Role::CommunityStaff | Role::StreetStaff => {
            Some(path(unit).into_iter().collect())
        }
    }
}

/// Argon2id with the crate's default parameters (19 MiB, 2 passes, 1 lane).
///
/// Every hash and check runs on one worker thread that owns one 19 MiB block
/// buffer and reuses it: allocating it per call made glibc keep a copy per
/// call (its mmap threshold adapts upward), so a dozen logins cost ~180 MB.
/// One at a time is also a natural brake on password guessing.
struct PasswordJob {
    password: String,
    /// `None`: hash the password; `Some(phc)`: check it against this hash.
    check: Option<String>,
    reply: tokio::sync::oneshot::Sender<Result<PasswordOutcome>>,
}

enum PasswordOutcome {
    Hashed(String),
    Checked(bool),
}

fn password_worker() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<PasswordJob>> {
    static WORKER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<PasswordJob>>> =
        std::sync::OnceLock::new();
    WORKER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<PasswordJob>();
        let _ = std::thread::Builder::new()
            .name("passwords".into())
            .spawn(move || {
                let mut blocks: Vec<argon2::Block> = Vec::new();
                while let Ok(job) = rx.recv() {
                    let out = match &job.check {
                        None => hash_with(&mut blocks, &job.password).map(PasswordOutcome::Hashed),
                        Some(phc) => Ok(PasswordOutcome::Checked(check_with(
                            &mut blocks,
                            &job.password,
                            phc,
                        ))),
                    };
                    let _ = job.reply.send(out);
                }
            });
        std::sync::Mutex::new(tx)
    })
}

fn run_argon2(
    blocks: &mut Vec<argon2::Block>,
    params: argon2::Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> std::result::Result<(), argon2::Error> {
    let a = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let need = a.params().block_count();
    if blocks.len() < need {
        blocks.resize(need, argon2::Block::default());
    }
    a.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut blocks[..need])
}

fn hash_with(blocks: &mut Vec<argon2::Block>, password: &str) -> Result<String> {
    let fail = |e: String| AppError::Journal(format!("password hashing failed: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut raw_salt)
        .map_err(|e| fail(e.to_string()))?;
    let params = argon2::Params::default();
    let mut out = [0u8; 32];
    run_argon2(blocks, params.clone(), password, salt_bytes, &mut out)
        .map_err(|e| fail(e.to_string()))?;
    let hash = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params)
            .map_err(|e| fail(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| fail(e.to_string()))?),
    };
    Ok(hash.to_string())
}

fn check_with(blocks: &mut Vec<argon2::Block>, password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if parsed.algorithm != argon2::Algorithm::Argon2id.ident() {
        // Other algorithms: the library's own check (allocates per call).
        return Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
    }
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let mut raw_salt = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if run_argon2(blocks, params, password, salt_bytes, &mut out).is_err() {
        return false;
    }
    // Output's equality is constant-time.
    argon2::password_hash::Output::new(&out)
        .map(|o| o == expected)
        .unwrap_or(false)
}

async fn password_job(password: String, check: Option<String>) -> Result<PasswordOutcome> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    password_worker()
        .lock()
        .map_err(|_| AppError::Journal("password worker poisoned".into()))?
        .send(PasswordJob {
            password,
            check,
            reply,
        })
        .map_err(|_| AppError::Journal("password worker stopped".into()))?;
    rx.await
        .map_err(|_| AppError::Journal("password worker stopped".into()))?
}

pub async fn hash_password(password: String) -> Result<String> {
    match password_job(password, None).await? {
        PasswordOutcome::Hashed(h) => Ok(h),
        PasswordOutcome::Checked(_) => {
            Err(AppError::Journal("password worker answered a check".into()))
        }
    }
}

/// Hashes several passwords, one after the other.
pub async fn hash_passwords(passwords: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(passwords.len());
    for p in passwords {
        out.push(hash_password(p).await?);
    }
    Ok(out)
}

/// Checks a password against a stored hash (on the password worker).
pub async fn verify(password: &str, hash: &str) -> bool {
    verify_password(password.to_string(), hash.to_string()).await
}

async fn verify_password(password: String, hash: String) -> bool {
    matches!(
        password_job(password, Some(hash)).await,
        Ok(PasswordOutcome::Checked(true))
    )
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl App {
    pub(crate) fn staff_user(&self, u: UserRow) -> Result<StaffUser> {
        let role = Role::parse(&u.role)
            .ok_or_else(|| AppError::Journal(format!("unknown role {}", u.role)))?;
        let org = self.org();
        let scope_paths = scope_paths(&org, role, &u.unit, &u.linked_units);
        let viewer_paths = std::iter::once(&u.unit)
            .chain(u.linked_units.iter())
            .filter_map(|c| org.path(c).map(str::to_string))
            .collect();
        Ok(StaffUser {
            login: u.login,
            name: u.name,
            role,
            unit: u.unit,
            linked_units: u.linked_units,
            scope_paths,
            viewer_paths,
            token: None,
        })
    }

    /// A staff member by login, without a password check (scenario runner,
    /// internal jobs). Never exposed over HTTP.
    pub async fn staff_by_login(&self, login: &str) -> Result<StaffUser> {
        let u = self
            .store()
            .user(login)
            .await?
            .ok_or(AppError::BadCredentials)?;
        self.staff_user(u)
    }

    /// Checks a password and opens a session; returns (token, user, expiry).
    /// `address` is the client's (None when unknown: such clients share one
    /// throttle). Throttled per account and address, per address, and slowed
    /// per account (see [`crate::privacy::THROTTLE_MAX_FAILURES`]); no
    /// account is ever locked for its owner's address.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<(String, StaffUser, Millis)> {
        use crate::privacy::{
            THROTTLE_MAX_ADDRESS_FAILURES, THROTTLE_MAX_FAILURES, THROTTLE_SLOW_AFTER,
            THROTTLE_SLOW_MS, THROTTLE_WINDOW_MS,
        };
        let address = address.map(|a| a.to_string()).unwrap_or_default();
        let now = self.now();
        let failures = self
            .store()
            .login_failures_since(login, &address, now - THROTTLE_WINDOW_MS)
            .await?;
        if failures.address >= THROTTLE_MAX_ADDRESS_FAILURES {
            // logged, not audited: a flood must not flood the audit log
            tracing::warn!(
                address,
                "login refused: too many failures from this address"
            );
            return Err(AppError::TooManyAttempts);
        }
        if failures.pair >= THROTTLE_MAX_FAILURES {
            if failures.pair == THROTTLE_MAX_FAILURES {
                // the first refusal is audited; the failure recorded keeps later ones quiet
                self.store()
                    .record_login_failure(login, &address, now)
                    .await?;
                self.audit_quietly(
                    login,
                    "login.throttled",
                    &format!("user:{login}"),
                    serde_json::json!({"address": address}),
                )
                .await;
            }
            return Err(AppError::TooManyAttempts);
        }
        if failures.account >= THROTTLE_SLOW_AFTER {
            tokio::time::sleep(std::time::Duration::from_millis(THROTTLE_SLOW_MS)).await;
        }
        let result = self.login_checked(login, password).await;
        match &result {
            Ok(_) => {
                self.store().clear_login_failures(login, &address).await?;
                self.audit_quietly(
                    login,
                    "login",
                    &format!("user:{login}"),
                    serde_json::json!({}),
                )
                .await;
            }
            Err(AppError::BadCredentials) => {
                self.store()
                    .record_login_failure(login, &address, now)
                    .await?;
                self.audit_quietly(
                    login,
                    "login.failed",
                    &format!("user:{login}"),
                    serde_json::json!({"address": address}),
                )
                .await;
            }
            Err(_) => {}
        }
        result
    }

    async fn login_checked(
        &self,
        login: &str,
        password: &str,
    ) -> Result<(String, StaffUser, Millis)> {
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
        if crate::tokens::is_api_token(token) {
            return self.authenticate_api_token(token).await;
        }
        let user = self
            .store()
            .session_user(&token_hash(token), self.now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.staff_user(user)
    }

    /// The user behind a page session: only a session made by logging in, never
    /// an API token (a token's scopes bind the API; the pages would ignore them).
    pub async fn authenticate_session(&self, token: &str) -> Result<StaffUser> {
        if crate::tokens::is_api_token(token) {
            return Err(AppError::Unauthenticated);
        }
        self.authenticate(token).await
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        if let Ok(u) = self.authenticate(token).await {
            self.audit_quietly(
                &u.login,
                "logout",
                &format!("user:{}", u.login),
                serde_json::json!({}),
            )
            .await;
        }
        self.store().delete_session(&token_hash(token)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_match_the_library() {
        let h = hash_password("Suqiu@2026".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("Suqiu@2026".into(), h.clone()).await);
        assert!(!verify_password("suqiu@2026".into(), h.clone()).await);
        assert!(!verify_password("x".into(), "!".into()).await);
        // our hash verifies with the library's own verifier, and the library's with ours
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default()
            .verify_password(b"Suqiu@2026", &parsed)
            .is_ok());
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let lib = Argon2::default()
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("pw".into(), lib).await);
    }
}
