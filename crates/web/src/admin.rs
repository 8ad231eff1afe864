//! Administrators over HTTP: deadline rules and categories, users, units.

use crate::{ApiError, ApiResult, JsonBody, Staff};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use suqiu_app::privacy::{allowed, Permission};
use suqiu_app::units::NewUnit;
use suqiu_app::users::NewUser;
use suqiu_app::{App, AppError};
use suqiu_domain::workflow::DeadlineRules;
use suqiu_domain::{FieldError, FieldErrorKind};

/// Refuses non-administrators before the body is read (the same answer for any body).
fn require(user: &suqiu_app::StaffUser, p: Permission) -> Result<(), ApiError> {
    if allowed(user.role, p) {
        Ok(())
    } else {
        Err(AppError::Forbidden.into())
    }
}

/// The body in the shape a route wants.
fn shape<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| crate::shape_error(&e))
}

fn missing(field: &str) -> AppError {
    AppError::Invalid(FieldError::new(field, FieldErrorKind::Missing))
}

/// Replaces the deadline rules and categories (the shape of `GET /api/v1/deadline-rules`).
pub async fn set_rules(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    require(&user, Permission::ManageRules)?;
    // The shape of `GET /api/v1/deadline-rules`, whose `version` is for reading.
    let mut body = body;
    if let Some(o) = body.as_object_mut() {
        o.remove("version");
    }
    let rules: DeadlineRules = shape(body)?;
    let version = app.set_rules(&user, rules).await?;
    let mut v = crate::dto::rules(&app.rules());
    v["version"] = json!(version);
    Ok(Json(v))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoriesBody {
    categories: Option<Vec<String>>,
}

/// Replaces the categories offered at triage.
pub async fn set_categories(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    require(&user, Permission::ManageRules)?;
    let b: CategoriesBody = shape(body)?;
    let categories = b.categories.ok_or_else(|| missing("categories"))?;
    let version = app.set_categories(&user, categories).await?;
    Ok(Json(
        json!({"version": version, "categories": app.rules().categories}),
    ))
}

pub async fn users(State(app): State<App>, Staff(user, _): Staff) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"users": app.users(&user).await?})))
}

pub async fn create_user(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require(&user, Permission::ManageUsers)?;
    let u: NewUser = shape(body)?;
    let login = u.login.clone();
    app.create_user(&user, u).await?;
    let created = app
        .users(&user)
        .await?
        .into_iter()
        .find(|x| x.login == login)
        .ok_or(AppError::UnknownUser(login))?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: Option<String>,
    unit: Option<String>,
    #[serde(default)]
    linked_units: Vec<String>,
}

pub async fn change_role(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(login): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    require(&user, Permission::ManageUsers)?;
    let b: RoleBody = shape(body)?;
    let role = b.role.ok_or_else(|| missing("role"))?;
    let unit = b.unit.ok_or_else(|| missing("unit"))?;
    app.change_user_role(&user, &login, &role, &unit, b.linked_units)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    password: Option<String>,
}

pub async fn reset_password(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(login): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    require(&user, Permission::ManageUsers)?;
    let b: PasswordBody = shape(body)?;
    let password = b.password.ok_or_else(|| missing("password"))?;
    app.reset_password(&user, &login, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a unit to the tree.
pub async fn add_unit(
    State(app): State<App>,
    Staff(user, _): Staff,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require(&user, Permission::ManageUnits)?;
    let u: NewUnit = shape(body)?;
    let row = app.add_unit(&user, u).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "code": row.code, "name": row.name, "level": row.level,
            "parent": row.parent, "path": row.path,
        })),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    name: Option<String>,
}

/// Renames a unit.
pub async fn rename_unit(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    require(&user, Permission::ManageUnits)?;
    let b: NameBody = shape(body)?;
    let name = b.name.ok_or_else(|| missing("name"))?;
    app.rename_unit(&user, &code, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a unit nothing refers to yet.
pub async fn remove_unit(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    require(&user, Permission::ManageUnits)?;
    app.remove_unit(&user, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
