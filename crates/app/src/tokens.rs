//! API tokens for integrations (a hotline system, a county dashboard, an
//! Open311 client): random secrets stored only as SHA-256 hashes, each with
//! scopes, an expiry and a revocation. A token acts as its owner, within the
//! owner's unit scope and role, and only for what its scopes allow. Tokens are
//! made and revoked from a logged-in session, never by another token.

use crate::privacy::{allowed, Permission};
use crate::{App, AppError, Result, StaffUser};
use sha2::{Digest, Sha256};
use suqiu_domain::case::Millis;
use suqiu_domain::org::Role;
use suqiu_domain::validate::{FieldError, FieldErrorKind};
use suqiu_store::ApiTokenRow;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read cases, queues, search, the unit tree (GET endpoints).
    Read,
    /// File cases and run the six-order commands.
    Write,
    /// Unmask reporters' personal data (still audited, still needs the role).
    PersonalData,
    /// Administration endpoints (still needs the administrator role).
    Admin,
    /// File and read requests through the Open311 GeoReport v2 endpoints.
    Open311,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Write,
        Scope::PersonalData,
        Scope::Admin,
        Scope::Open311,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::PersonalData => "personal_data",
            Scope::Admin => "admin",
            Scope::Open311 => "open311",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether a user of this role may hold a token with this scope.
    fn fits(self, role: Role) -> bool {
        match self {
            Scope::Read | Scope::Write | Scope::Open311 => true,
            Scope::PersonalData => {
                allowed(role, Permission::Unmask) || allowed(role, Permission::UnmaskConfidential)
            }
            Scope::Admin => allowed(role, Permission::ManageUsers),
        }
    }
}

/// The grant behind a request made with an API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: String,
    pub scopes: Vec<Scope>,
}

/// Prefix of every API token (session tokens are plain hex).
pub const TOKEN_PREFIX: &str = "sqt_";
/// Longest life of a token, and the default.
pub const MAX_TOKEN_DAYS: u32 = 365;
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// Live tokens one person may hold.
pub const MAX_LIVE_TOKENS: usize = 20;
const DAY_MS: Millis = 86_400_000;

/// A token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    #[serde(flatten)]
    pub token: ApiTokenRow,
    /// Neither revoked nor expired.
    pub active: bool,
}

/// What a new token is asked for.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub expires_in_days: Option<i64>,
}

pub(crate) fn is_api_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

pub(crate) fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn field(name: &str, kind: FieldErrorKind) -> AppError {
    AppError::Invalid(FieldError {
        field: name.into(),
        kind,
    })
}

impl App {
    fn token_info(&self, t: ApiTokenRow) -> TokenInfo {
        let active = t.revoked_at.is_none() && t.expires_at > self.now();
        TokenInfo { token: t, active }
    }

    /// Makes a token for the logged-in user; the secret is returned once.
    pub async fn create_api_token(
        &self,
        user: &StaffUser,
        req: TokenRequest,
    ) -> Result<(String, TokenInfo)> {
        if user.token.is_some() {
            return Err(AppError::TokenNotAllowed);
        }
        let name = req.name.map(|s| s.trim().to_string()).unwrap_or_default();
        if name.is_empty() {
            return Err(field("name", FieldErrorKind::Missing));
        }
        if name.chars().count() > 64 {
            return Err(field("name", FieldErrorKind::TooLong { max: 64 }));
        }
        if name.chars().any(char::is_control) {
            return Err(field("name", FieldErrorKind::ControlCharacters));
        }
        let asked = req.scopes.unwrap_or_default();
        if asked.is_empty() {
            return Err(field("scopes", FieldErrorKind::Missing));
        }
        let mut scopes = Vec::new();
        for s in &asked {
            let scope =
                Scope::parse(s).ok_or_else(|| field("scopes", FieldErrorKind::InvalidValue))?;
            if !scope.fits(user.role) {
                return Err(AppError::Forbidden);
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let days = req.expires_in_days.unwrap_or(i64::from(DEFAULT_TOKEN_DAYS));
        if !(1..=i64::from(MAX_TOKEN_DAYS)).contains(&days) {
            return Err(field("expires_in_days", FieldErrorKind::InvalidValue));
        }
        let live = self
            .store()
            .api_tokens(Some(&user.login))
            .await?
            .into_iter()
            .filter(|t| t.revoked_at.is_none() && t.expires_at > self.now())
            .count();
        if live >= MAX_LIVE_TOKENS {
            return Err(AppError::TooManyTokens);
        }
        let id = hex::encode(rand::random::<[u8; 6]>());
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let token = format!("{TOKEN_PREFIX}{id}_{secret}");
        let now = self.now();
        let row = ApiTokenRow {
            id: id.clone(),
            login: user.login.clone(),
            name,
            scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
            created_at: now,
            expires_at: now + days * DAY_MS,
            revoked_at: None,
        };
        self.store()
            .insert_api_token(row.clone(), &hash(&token))
            .await?;
        self.audit(
            &user.login,
            "token.create",
            &format!("token:{id}"),
            "",
            serde_json::json!({"scopes": row.scopes, "expires_at": row.expires_at}),
        )
        .await?;
        Ok((token, self.token_info(row)))
    }

    /// The caller's tokens, or everyone's for an administrator asking for all.
    pub async fn api_tokens(&self, user: &StaffUser, all: bool) -> Result<Vec<TokenInfo>> {
        if all && !allowed(user.role, Permission::ManageUsers) {
            return Err(AppError::Forbidden);
        }
        let login = (!all).then_some(user.login.as_str());
        Ok(self
            .store()
            .api_tokens(login)
            .await?
            .into_iter()
            .map(|t| self.token_info(t))
            .collect())
    }

    /// Revokes a token: one's own, or any as an administrator (`any`).
    pub async fn revoke_api_token(&self, user: &StaffUser, id: &str, any: bool) -> Result<()> {
        if user.token.is_some() {
            return Err(AppError::TokenNotAllowed);
        }
        if any && !allowed(user.role, Permission::ManageUsers) {
            return Err(AppError::Forbidden);
        }
        let owner = (!any).then_some(user.login.as_str());
        if !self.store().revoke_api_token(id, owner, self.now()).await? {
            return Err(AppError::TokenNotFound);
        }
        self.audit(
            &user.login,
            "token.revoke",
            &format!("token:{id}"),
            "",
            serde_json::json!({}),
        )
        .await?;
        Ok(())
    }

    /// The user behind a live API token, with the token's grant.
    pub(crate) async fn authenticate_api_token(&self, token: &str) -> Result<StaffUser> {
        let (t, u) = self
            .store()
            .api_token_user(&hash(token), self.now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let mut user = self.staff_user(u)?;
        user.token = Some(TokenGrant {
            id: t.id,
            scopes: t.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        });
        Ok(user)
    }
}

impl StaffUser {
    /// Whether this request may use `scope`: always with a session, and with
    /// a token only if the token has the scope.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.token
            .as_ref()
            .is_none_or(|t| t.scopes.contains(&scope))
    }
}
