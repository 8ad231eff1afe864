//! Message templates for administrators: `GET /api/v1/admin/templates`
//! lists every template with its default and its override;
//! `PUT …/{kind}/{audience}/{lang}` stores an override (checked first; the
//! answer shows it rendered on a sample case); `DELETE` goes back to the default.

use crate::{ApiResult, JsonBody, Staff};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use suqiu_app::templates::TemplateKey;
use suqiu_app::templates::TemplateText;
use suqiu_app::{App, AppError};
use suqiu_domain::{FieldError, FieldErrorKind};

pub(crate) async fn list(State(app): State<App>, Staff(user, _): Staff) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = app
        .templates(&user)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "kind": t.kind,
                "audience": t.audience,
                "lang": t.lang,
                "default": t.default,
                "override": t.overridden.map(|o| json!({
                    "subject": o.subject,
                    "text": o.text,
                    "markdown": o.markdown,
                    "updated_at": crate::dto::time(o.updated_at),
                    "updated_by": o.updated_by,
                })),
            })
        })
        .collect();
    Ok(Json(json!({ "templates": items })))
}

/// The body of `PUT`: `subject` and `text` required, `markdown` optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateBody {
    subject: Option<String>,
    text: Option<String>,
    markdown: Option<String>,
}

pub(crate) async fn put(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(path): Path<(String, String, String)>,
    JsonBody(b): JsonBody<TemplateBody>,
) -> ApiResult<Json<Value>> {
    // who may, before what is asked
    app.may_manage_templates(&user)?;
    let missing = |f: &str| AppError::Invalid(FieldError::new(f, FieldErrorKind::Missing));
    let t = TemplateText {
        subject: b.subject.ok_or_else(|| missing("subject"))?,
        text: b.text.ok_or_else(|| missing("text"))?,
        markdown: b.markdown,
    };
    let key = TemplateKey::from(&path);
    let r = app.put_template(&user, key, t).await?;
    Ok(Json(json!({
        "kind": key.kind,
        "audience": key.audience,
        "lang": key.lang,
        "preview": { "subject": r.subject, "text": r.text, "markdown": r.markdown },
    })))
}

pub(crate) async fn delete(
    State(app): State<App>,
    Staff(user, _): Staff,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let key = TemplateKey::from(&path);
    app.delete_template(&user, key).await?;
    Ok(StatusCode::NO_CONTENT)
}
