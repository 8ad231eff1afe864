//! One table maps every refusal to (HTTP status, stable code, message),
//! returned as `application/problem+json` (RFC 9457). The messages are
//! the catalogue's (`crates/i18n/locales/*/problems.ftl`), given in Chinese
//! and English; the few whose texts come with the refusal in both languages
//! (deadline rules, ledger files, the domain's field errors) pass them on.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use suqiu_app::AppError;
use suqiu_domain::FieldError;

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub zh: String,
    pub en: String,
    pub field: Option<String>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            code,
            zh: zh.into(),
            en: en.into(),
            field: None,
        }
    }

    /// A problem whose texts are the catalogue's message `key` (in
    /// `locales/*/problems.ftl`) with its variables, in Chinese and English.
    pub fn text(
        status: StatusCode,
        code: &'static str,
        key: &str,
        args: &[(&str, String)],
    ) -> Problem {
        let catalog = suqiu_i18n::catalog();
        let args: Vec<(&str, suqiu_i18n::Arg)> = args
            .iter()
            .map(|(k, v)| (*k, suqiu_i18n::Arg::Text(v.clone())))
            .collect();
        let text = |code: &str| {
            catalog
                .find(code)
                .map_or_else(|| key.to_string(), |id| catalog.format(id, key, &args))
        };
        Problem::new(status, code, text("zh-CN"), text("en"))
    }

    pub fn field(e: &FieldError) -> Problem {
        Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: e.kind.code(),
            zh: e.message_zh(),
            en: e.message_en(),
            field: Some(e.field.clone()),
        }
    }

    pub fn malformed_json(detail: &str) -> Problem {
        Problem::text(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "problem-malformed-json",
            &[("detail", detail.to_string())],
        )
    }

    pub fn invalid_json_shape(detail: &str) -> Problem {
        Problem::text(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json_shape",
            "problem-invalid-json-shape",
            &[("detail", detail.to_string())],
        )
    }

    pub fn invalid_utf8() -> Problem {
        Problem::text(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "problem-invalid-utf8",
            &[],
        )
    }

    pub fn unsupported_media_type() -> Problem {
        Problem::text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "problem-unsupported-media-type",
            &[],
        )
    }

    pub fn payload_too_large(limit: usize) -> Problem {
        Problem::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "problem-payload-too-large",
            &[("limit_kb", (limit / 1024).to_string())],
        )
    }

    pub fn bad_query(param: &str) -> Problem {
        Problem {
            field: Some(param.to_string()),
            ..Problem::text(
                StatusCode::BAD_REQUEST,
                "bad_query",
                "problem-bad-query",
                &[("param", param.to_string())],
            )
        }
    }

    pub fn not_found() -> Problem {
        Problem::text(StatusCode::NOT_FOUND, "not_found", "problem-not-found", &[])
    }

    pub fn method_not_allowed() -> Problem {
        Problem::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "problem-method-not-allowed",
            &[],
        )
    }

    pub fn internal() -> Problem {
        Problem::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "problem-internal-error",
            &[],
        )
    }

    pub fn unavailable() -> Problem {
        Problem::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "problem-storage-unavailable",
            &[],
        )
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        use StatusCode as S;
        match e {
            AppError::Invalid(f) => Problem::field(&f),
            AppError::UnknownUnit(c) => Problem {
                field: Some("unit".into()),
                ..Problem::text(S::UNPROCESSABLE_ENTITY, "unknown_unit", "problem-unknown-unit", &[("c", c.to_string())])
            },
            AppError::UnitNotAPlace(c) => Problem {
                field: Some("unit".into()),
                ..Problem::text(S::UNPROCESSABLE_ENTITY, "unit_not_a_place", "problem-unit-not-a-place", &[("c", c.to_string())])
            },
            AppError::ChannelNeedsStaff(c) => Problem {
                field: Some("channel".into()),
                ..Problem::text(S::FORBIDDEN, "channel_requires_staff", "problem-channel-requires-staff", &[("c", c.to_string())])
            },
            AppError::ProxyNeedsGridWorker => Problem {
                field: Some("channel".into()),
                ..Problem::text(S::FORBIDDEN, "proxy_requires_grid_worker", "problem-proxy-requires-grid-worker", &[])
            },
            AppError::Unauthenticated => Problem::text(S::UNAUTHORIZED, "unauthenticated", "problem-unauthenticated", &[]),
            AppError::BadCredentials => Problem::text(S::UNAUTHORIZED, "bad_credentials", "problem-bad-credentials", &[]),
            AppError::Forbidden => Problem::text(S::FORBIDDEN, "forbidden", "problem-forbidden", &[]),
            AppError::TokenNotAllowed => Problem::text(S::FORBIDDEN, "token_not_allowed", "problem-token-not-allowed", &[]),
            AppError::MissingScope(scope) => Problem::text(S::FORBIDDEN, "token_scope", "problem-token-scope", &[("scope", scope.to_string())]),
            AppError::ChatRefused(why) => Problem::text(S::FORBIDDEN, "chat_refused", "problem-chat-refused", &[("why", why.to_string())]),
            AppError::ChatGroupNotFound => Problem::text(S::NOT_FOUND, "chat_group_not_found", "problem-chat-group-not-found", &[]),
            AppError::NotificationNotFound => Problem::text(S::NOT_FOUND, "notification_not_found", "problem-notification-not-found", &[]),
            AppError::TemplateNotFound(which) => Problem::text(S::NOT_FOUND, "template_not_found", "problem-template-not-found", &[("which", which.to_string())]),
            AppError::TemplateNotOverridden => Problem::text(S::NOT_FOUND, "template_not_overridden", "problem-template-not-overridden", &[]),
            AppError::InvalidTemplate(why) => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_template",
                format!("模板不正确，未保存：{why}（可用占位符：{}）", suqiu_app::templates::PLACEHOLDERS.join("、")),
                format!("invalid template, nothing stored: {why} (placeholders: {})", suqiu_app::templates::PLACEHOLDERS.join(", ")),
            ),
            AppError::ContactOfChatCase => Problem::text(S::CONFLICT, "contact_of_chat_case", "problem-contact-of-chat-case", &[]),
            AppError::TokenNotFound => Problem::text(S::NOT_FOUND, "token_not_found", "problem-token-not-found", &[]),
            AppError::TooManyTokens => Problem::text(S::CONFLICT, "too_many_tokens", "problem-too-many-tokens", &[]),
            AppError::CaseNotFound => Problem::text(S::NOT_FOUND, "case_not_found", "problem-case-not-found", &[]),
            AppError::Conflict { expected } => Problem::text(S::CONFLICT, "version_conflict", "problem-version-conflict", &[("expected", expected.to_string())]),
            AppError::BadQuery(p) => Problem::bad_query(p),
            AppError::Refused(r) => {
                use suqiu_domain::workflow::Refusal;
                match r {
                    Refusal::WrongState { command, status } => {
                        let st = suqiu_domain::case::Status::parse(status).map(|s| s.zh()).unwrap_or(status);
                        Problem::new(
                            S::CONFLICT,
                            "illegal_transition",
                            format!("这件诉求当前状态为「{st}」，不能进行「{command}」操作"),
                            format!("'{command}' is not allowed while the case is {status}"),
                        )
                    }
                    Refusal::NotYourCase { command } => Problem::text(S::FORBIDDEN, "not_permitted", "problem-not-permitted", &[("command", command.to_string())]),
                    Refusal::MergeIntoItself => Problem::new(
                        S::CONFLICT,
                        r.code(),
                        "不能把诉求合并到它自己".to_string(),
                        "a case cannot be merged into itself".to_string(),
                    ),
                    Refusal::MergeTargetClosed { id, merged: false } => Problem::new(
                        S::CONFLICT,
                        r.code(),
                        format!("诉求 #{id} 已办结，不能再合并重复件"),
                        format!("case #{id} is closed and cannot take a duplicate"),
                    ),
                    Refusal::MergeTargetClosed { id, merged: true } => Problem::new(
                        S::CONFLICT,
                        r.code(),
                        format!("诉求 #{id} 本身已作为重复件合并，请合并到它的主件"),
                        format!("case #{id} was itself merged; merge into its primary case"),
                    ),
                    Refusal::MergeTargetOutOfScope { id } => Problem::new(
                        S::CONFLICT,
                        r.code(),
                        format!("诉求 #{id} 不在您可查看的单位范围内，不能合并"),
                        format!("case #{id} is not within the units you can see; it cannot be merged into"),
                    ),
                    Refusal::Invalid { field, reason } => Problem {
                        field: Some(field.to_string()),
                        ..Problem::text(S::UNPROCESSABLE_ENTITY, "invalid_command", "problem-invalid-command", &[("field", field.to_string()), ("reason", reason.to_string())])
                    },
                }
            }
            AppError::NoOversightUnit => Problem {
                field: Some("accused".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "no_oversight_unit",
                    "控告对象包括本区县或其信访部门，但未配置受理的上级纪检监察机关，无法受理；请联系系统管理员配置（组织配置中的 [[oversight]]）".to_string(),
                    "the accusation names the whole district or its petition bureau, and no higher oversight organ is configured to take it; ask the administrator to configure one ([[oversight]] in the organisation)".to_string(),
                )
            },
            AppError::UnknownAccusedUnit(c) => Problem {
                field: Some("accused.unit".into()),
                ..Problem::text(S::UNPROCESSABLE_ENTITY, "unknown_unit", "problem-unknown-unit", &[("c", c.to_string())])
            },
            AppError::UnknownUser(l) => Problem::text(S::NOT_FOUND, "unknown_user", "problem-unknown-user", &[("l", l.to_string())]),
            AppError::TooManyAttempts => Problem::text(S::TOO_MANY_REQUESTS, "too_many_attempts", "problem-too-many-attempts", &[]),
            AppError::TrackCheckFailed => Problem {
                field: Some("phone_last4".into()),
                ..Problem::text(S::NOT_FOUND, "track_check_failed", "problem-track-check-failed", &[])
            },
            AppError::ResidentRouteForStaff => Problem::text(S::FORBIDDEN, "resident_route_for_staff", "problem-resident-route-for-staff", &[]),
            AppError::RateLimited => Problem::text(S::TOO_MANY_REQUESTS, "rate_limited", "problem-rate-limited", &[]),
            AppError::Search(e) => {
                use suqiu_app::SearchError as E;
                match e {
                    E::EmptyQuery => Problem {
                        field: Some("q".into()),
                        ..Problem::text(S::BAD_REQUEST, "empty_query", "problem-empty-query", &[])
                    },
                    E::QueryTooLong => Problem {
                        field: Some("q".into()),
                        ..Problem::text(S::BAD_REQUEST, "query_too_long", "problem-query-too-long", &[])
                    },
                    E::InvalidPaging => Problem::bad_query("limit"),
                    other => {
                        tracing::error!(error = %other, "search");
                        Problem::internal()
                    }
                }
            }
            AppError::SearchUnavailable => Problem::text(S::SERVICE_UNAVAILABLE, "search_unavailable", "problem-search-unavailable", &[]),
            AppError::Calendar(e) => Problem::text(S::UNPROCESSABLE_ENTITY, "invalid_calendar", "problem-invalid-calendar", &[("e", e.to_string())]),
            AppError::UnknownCommand(c) => Problem::text(S::NOT_FOUND, "unknown_command", "problem-unknown-command", &[("c", c.to_string())]),
            AppError::BadRules(p) => Problem {
                field: Some(p.field.clone()),
                ..Problem::new(S::UNPROCESSABLE_ENTITY, p.code, p.zh.clone(), p.en.clone())
            },
            AppError::PhotoType => Problem {
                field: Some("photo".into()),
                ..Problem::text(S::UNSUPPORTED_MEDIA_TYPE, "photo_type", "problem-photo-type", &[])
            },
            AppError::PhotoMalformed(reason) => Problem {
                field: Some("photo".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "photo_malformed",
                    "照片文件已损坏或不完整，请重新拍摄或选择其他照片",
                    format!("the photo file is damaged or incomplete ({reason}); take it again or choose another photo"),
                )
            },
            AppError::PhotoTooLarge(max) => Problem {
                field: Some("photo".into()),
                ..Problem::text(S::PAYLOAD_TOO_LARGE, "photo_too_large", "problem-photo-too-large", &[("max", (max / (1024 * 1024)).to_string())])
            },
            AppError::PhotoDimensions(w, h) => Problem {
                field: Some("photo".into()),
                ..Problem::text(S::UNPROCESSABLE_ENTITY, "photo_too_large_dimensions", "problem-photo-too-large-dimensions", &[("w", w.to_string()), ("h", h.to_string())])
            },
            AppError::TooManyPhotos(max) => Problem {
                field: Some("photo".into()),
                ..Problem::text(S::CONFLICT, "too_many_photos", "problem-too-many-photos", &[("max", max.to_string())])
            },
            AppError::PhotosTooLarge(max) => Problem {
                field: Some("photo".into()),
                ..Problem::text(S::PAYLOAD_TOO_LARGE, "photos_too_large", "problem-photos-too-large", &[("max", (max / (1024 * 1024)).to_string())])
            },
            AppError::PhotoNotFound => Problem::text(S::NOT_FOUND, "photo_not_found", "problem-photo-not-found", &[]),
            AppError::CaseClosed => Problem::text(S::CONFLICT, "case_closed", "problem-case-closed", &[]),
            AppError::LoginTaken(l) => Problem {
                field: Some("login".into()),
                ..Problem::text(S::CONFLICT, "login_taken", "problem-login-taken", &[("l", l.to_string())])
            },
            AppError::RoleNotForUnit(role, level) => Problem {
                field: Some("unit".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "role_not_for_unit",
                    format!("「{}」不能属于{}级单位", role.zh(), level.zh()),
                    format!("a {} cannot belong to a unit of level {}", role.as_str(), level.as_str()),
                )
            },
            AppError::UnitExists(c) => Problem {
                field: Some("code".into()),
                ..Problem::text(S::CONFLICT, "unit_exists", "problem-unit-exists", &[("c", c.to_string())])
            },
            AppError::UnknownParentUnit(c) => Problem {
                field: Some("parent".into()),
                ..Problem::text(S::UNPROCESSABLE_ENTITY, "unknown_parent_unit", "problem-unknown-parent-unit", &[("c", c.to_string())])
            },
            AppError::UnitNesting {
                level,
                parent_level,
            } => Problem {
                field: Some("parent".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "unit_nesting",
                    format!("{}不能设在{}之下", level.zh(), parent_level.zh()),
                    format!(
                        "a unit of level {} cannot sit under one of level {}",
                        level.as_str(),
                        parent_level.as_str()
                    ),
                )
            },
            AppError::UnitInUse(what) => {
                let (zh, en) = match what {
                    "units" => ("该单位下还有下级单位", "it still has sub-units"),
                    "users" => (
                        "该单位还有工作人员或挂点领导",
                        "staff or linked leaders still belong to it",
                    ),
                    "cases" => ("已有诉求件经过该单位", "cases have already passed through it"),
                    _ => (
                        "分派记录中已有该单位",
                        "routing decisions have already chosen it",
                    ),
                };
                Problem::new(
                    S::CONFLICT,
                    "unit_in_use",
                    format!("不能删除：{zh}"),
                    format!("cannot remove the unit: {en}"),
                )
            }
            // a zip bomb, too many rows, cells or columns: nothing was written
            AppError::LedgerTooLarge(t) => Problem {
                field: Some(t.limit.as_str().to_string()),
                ..Problem::new(
                    S::PAYLOAD_TOO_LARGE,
                    "ledger_too_large",
                    t.message_zh(),
                    t.message_en(),
                )
            },
            AppError::OrgConfig(e) => {
                tracing::error!(error = %e, "organisation config");
                Problem::internal()
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "storage error");
                Problem::unavailable()
            }
            AppError::Journal(e) => {
                tracing::error!(error = %e, "journal error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("urn:suqiu:problem:{}", self.code),
            "title": self.en,
            "status": self.status.as_u16(),
            "code": self.code,
            "message_zh": self.zh,
            "message_en": self.en,
            "field": self.field,
        });
        let mut res = (self.status, body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
}

impl IntoResponse for crate::ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every catalogue key this file names exists in every language, with
    /// the variables the code passes (a missing one would show its key).
    #[test]
    fn every_problem_message_is_in_the_catalogue() {
        let catalog = suqiu_i18n::catalog();
        let src = include_str!("problem.rs");
        let mut seen = 0;
        for (i, _) in src.match_indices("\"problem-") {
            let key: String = src[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if key == "problem-" {
                continue; // this test's own pattern
            }
            for id in 0..catalog.locales().len() {
                assert!(
                    catalog.keys(id).contains_key(&key),
                    "{key} is missing in {}",
                    catalog.code(id)
                );
            }
            seen += 1;
        }
        assert!(seen > 40, "only {seen} keys found");
        let p = Problem::payload_too_large(64 * 1024);
        assert_eq!(p.zh, "请求内容过大，最多 64 KB");
        assert_eq!(p.en, "the request body is too large (at most 64 KiB)");
        let p = Problem::from(AppError::UnknownUnit("x9".into()));
        assert_eq!(p.zh, "没有编码为「x9」的单位");
        assert_eq!(p.code, "unknown_unit");
    }
}
