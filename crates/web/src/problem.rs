//! One table maps every refusal to (HTTP status, stable code, Chinese, English),
//! returned as `application/problem+json` (RFC 9457).

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
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("请求内容不是有效的 JSON：{detail}"),
            format!("the request body is not valid JSON: {detail}"),
        )
    }

    pub fn invalid_json_shape(detail: &str) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json_shape",
            format!("请求内容的字段类型不正确：{detail}"),
            format!("a field of the request has the wrong type: {detail}"),
        )
    }

    pub fn invalid_utf8() -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "请求内容不是有效的 UTF-8 编码",
            "the request body is not valid UTF-8",
        )
    }

    pub fn unsupported_media_type() -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求的内容类型须为 application/json",
            "the request content type must be application/json",
        )
    }

    pub fn payload_too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("请求内容过大，最多 {} KB", limit / 1024),
            format!(
                "the request body is too large (at most {} KiB)",
                limit / 1024
            ),
        )
    }

    pub fn bad_query(param: &str) -> Problem {
        Problem {
            field: Some(param.to_string()),
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("查询参数「{param}」不正确"),
                format!("query parameter '{param}' is invalid"),
            )
        }
    }

    pub fn not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "没有这个地址",
            "no such resource",
        )
    }

    pub fn method_not_allowed() -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "此地址不支持该请求方法",
            "this resource does not support that method",
        )
    }

    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "服务器内部错误，请稍后重试",
            "internal server error; please retry later",
        )
    }

    pub fn unavailable() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "数据库暂时不可用，请稍后重试；您的诉求尚未提交",
            "the database is unavailable; nothing was saved, please retry",
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
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "unknown_unit",
                    format!("没有编码为「{c}」的单位"),
                    format!("there is no unit with code '{c}'"),
                )
            },
            AppError::UnitNotAPlace(c) => Problem {
                field: Some("unit".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "unit_not_a_place",
                    format!("单位「{c}」不是村（社区）、网格或屋场，诉求须提交到具体地点"),
                    format!("unit '{c}' is not a village/community, grid or hamlet; matters are filed at a place"),
                )
            },
            AppError::ChannelNeedsStaff(c) => Problem {
                field: Some("channel".into()),
                ..Problem::new(
                    S::FORBIDDEN,
                    "channel_requires_staff",
                    format!("渠道「{c}」须由工作人员登录后录入；群众网上提交请使用 web"),
                    format!("channel '{c}' is entered by logged-in staff; residents filing online use 'web'"),
                )
            },
            AppError::ProxyNeedsGridWorker => Problem {
                field: Some("channel".into()),
                ..Problem::new(
                    S::FORBIDDEN,
                    "proxy_requires_grid_worker",
                    "代办（proxy）渠道仅限网格员为群众代为提交",
                    "the proxy channel is for grid workers filing on a resident's behalf",
                )
            },
            AppError::Unauthenticated => Problem::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "请先登录（缺少或无效的会话令牌）",
                "please log in (missing or invalid session token)",
            ),
            AppError::BadCredentials => Problem::new(
                S::UNAUTHORIZED,
                "bad_credentials",
                "账号或密码错误",
                "wrong login or password",
            ),
            AppError::Forbidden => Problem::new(S::FORBIDDEN, "forbidden", "您无权进行此操作", "you may not do this"),
            AppError::TokenNotAllowed => Problem::new(
                S::FORBIDDEN,
                "token_not_allowed",
                "此操作须登录后进行，不能使用 API 令牌",
                "this needs a logged-in session, not an API token",
            ),
            AppError::MissingScope(scope) => Problem::new(
                S::FORBIDDEN,
                "token_scope",
                format!("API 令牌没有“{scope}”权限范围"),
                format!("the API token lacks the scope \"{scope}\""),
            ),
            AppError::ChatRefused(why) => Problem::new(
                S::FORBIDDEN,
                "chat_refused",
                format!("群聊平台的请求未通过校验：{why}"),
                format!("the chat platform's request was refused: {why}"),
            ),
            AppError::ChatGroupNotFound => Problem::new(
                S::NOT_FOUND,
                "chat_group_not_found",
                "没有配置这个群聊",
                "no such chat group is configured",
            ),
            AppError::NotificationNotFound => Problem::new(
                S::NOT_FOUND,
                "notification_not_found",
                "没有这条待重发的通知（只有已放弃的通知可以重发）",
                "no such dead notification (only dead notifications can be sent again)",
            ),
            AppError::TemplateNotFound(which) => Problem::new(
                S::NOT_FOUND,
                "template_not_found",
                format!("没有模板「{which}」（类型/对象/语言）"),
                format!("there is no template {which} (kind/audience/language)"),
            ),
            AppError::TemplateNotOverridden => Problem::new(
                S::NOT_FOUND,
                "template_not_overridden",
                "这个模板没有修改过，已经是默认内容",
                "this template has no override; it is the default already",
            ),
            AppError::InvalidTemplate(why) => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_template",
                format!("模板不正确，未保存：{why}（可用占位符：{}）", suqiu_app::templates::PLACEHOLDERS.join("、")),
                format!("invalid template, nothing stored: {why} (placeholders: {})", suqiu_app::templates::PLACEHOLDERS.join(", ")),
            ),
            AppError::ContactOfChatCase => Problem::new(
                S::CONFLICT,
                "contact_of_chat_case",
                "这件诉求来自群聊，办理进展会发回所在的群，不能更改通知方式",
                "this case came from a chat group: its progress goes back to the group; the notification channel cannot be changed",
            ),
            AppError::TokenNotFound => Problem::new(
                S::NOT_FOUND,
                "token_not_found",
                "没有这个有效的 API 令牌",
                "no such live API token",
            ),
            AppError::TooManyTokens => Problem::new(
                S::CONFLICT,
                "too_many_tokens",
                "有效的 API 令牌已达上限（20 个），请先吊销不用的令牌",
                "too many live API tokens (20); revoke unused ones first",
            ),
            AppError::CaseNotFound => Problem::new(
                S::NOT_FOUND,
                "case_not_found",
                "没有找到这件诉求（或您无权查看）",
                "case not found (or not visible to you)",
            ),
            AppError::Conflict { expected } => Problem::new(
                S::CONFLICT,
                "version_conflict",
                format!("这件诉求已被他人更新（您看到的是第 {expected} 版），请刷新后重试"),
                format!("the case was changed by someone else (you saw version {expected}); reload and retry"),
            ),
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
                    Refusal::NotYourCase { command } => Problem::new(
                        S::FORBIDDEN,
                        "not_permitted",
                        format!("您的角色或单位不能对这件诉求进行「{command}」操作"),
                        format!("your role or unit may not do '{command}' on this case"),
                    ),
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
                        ..Problem::new(
                            S::UNPROCESSABLE_ENTITY,
                            "invalid_command",
                            format!("「{field}」不正确：{reason}"),
                            format!("invalid {field}: {reason}"),
                        )
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
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "unknown_unit",
                    format!("没有编码为「{c}」的单位"),
                    format!("there is no unit with code '{c}'"),
                )
            },
            AppError::UnknownUser(l) => Problem::new(
                S::NOT_FOUND,
                "unknown_user",
                format!("没有账号「{l}」"),
                format!("there is no user '{l}'"),
            ),
            AppError::TooManyAttempts => Problem::new(
                S::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "登录失败次数过多，请 15 分钟后再试",
                "too many failed logins; try again in 15 minutes",
            ),
            AppError::TrackCheckFailed => Problem {
                field: Some("phone_last4".into()),
                ..Problem::new(
                    S::NOT_FOUND,
                    "track_check_failed",
                    "查询码或手机号后四位不对，请核对后再试",
                    "the tracking code or the last four digits of the phone do not match; check them and try again",
                )
            },
            AppError::ResidentRouteForStaff => Problem::new(
                S::FORBIDDEN,
                "resident_route_for_staff",
                "工作人员不能以群众身份评价或更改告知方式；回访评价请在诉求上用“评价”（rate）记录",
                "staff may not rate or change the contact as the resident; record a revisit rating with the case's rate command",
            ),
            AppError::RateLimited => Problem::new(
                S::TOO_MANY_REQUESTS,
                "rate_limited",
                "请求过于频繁，请稍后再试；同一手机号每天提交的诉求数量有限",
                "too many requests; please retry later (submissions per phone number per day are limited)",
            ),
            AppError::Search(e) => {
                use suqiu_app::SearchError as E;
                match e {
                    E::EmptyQuery => Problem {
                        field: Some("q".into()),
                        ..Problem::new(S::BAD_REQUEST, "empty_query", "请输入要搜索的字词", "enter words to search for")
                    },
                    E::QueryTooLong => Problem {
                        field: Some("q".into()),
                        ..Problem::new(
                            S::BAD_REQUEST,
                            "query_too_long",
                            "搜索内容过长（最多 200 个字、16 个词）",
                            "the query is too long (at most 200 characters, 16 terms)",
                        )
                    },
                    E::InvalidPaging => Problem::bad_query("limit"),
                    other => {
                        tracing::error!(error = %other, "search");
                        Problem::internal()
                    }
                }
            }
            AppError::SearchUnavailable => Problem::new(
                S::SERVICE_UNAVAILABLE,
                "search_unavailable",
                "本服务器未启用全文搜索",
                "full-text search is not enabled on this server",
            ),
            AppError::Calendar(e) => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_calendar",
                format!("节假日数据不正确：{e}"),
                format!("invalid holiday data: {e}"),
            ),
            AppError::UnknownCommand(c) => Problem::new(
                S::NOT_FOUND,
                "unknown_command",
                format!("没有「{c}」这个操作"),
                format!("there is no command '{c}'"),
            ),
            AppError::BadRules(p) => Problem {
                field: Some(p.field.clone()),
                ..Problem::new(S::UNPROCESSABLE_ENTITY, p.code, p.zh.clone(), p.en.clone())
            },
            AppError::PhotoType => Problem {
                field: Some("photo".into()),
                ..Problem::new(
                    S::UNSUPPORTED_MEDIA_TYPE,
                    "photo_type",
                    "照片须为 JPEG、PNG 或 WebP 格式",
                    "a photo must be a JPEG, PNG or WebP image",
                )
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
                ..Problem::new(
                    S::PAYLOAD_TOO_LARGE,
                    "photo_too_large",
                    format!("每张照片不能超过 {} MB", max / (1024 * 1024)),
                    format!("a photo may be at most {} MB", max / (1024 * 1024)),
                )
            },
            AppError::PhotoDimensions(w, h) => Problem {
                field: Some("photo".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "photo_too_large_dimensions",
                    format!("照片尺寸 {w}×{h} 像素不可接受：每边须在 1 至 20000 像素之间，且不超过 1 亿像素"),
                    format!("photo dimensions {w}×{h} px refused: each side 1 to 20000 px, at most 100 megapixels"),
                )
            },
            AppError::TooManyPhotos(max) => Problem {
                field: Some("photo".into()),
                ..Problem::new(
                    S::CONFLICT,
                    "too_many_photos",
                    format!("每件诉求最多附 {max} 张照片"),
                    format!("at most {max} photos per case"),
                )
            },
            AppError::PhotosTooLarge(max) => Problem {
                field: Some("photo".into()),
                ..Problem::new(
                    S::PAYLOAD_TOO_LARGE,
                    "photos_too_large",
                    format!("每件诉求的照片合计不能超过 {} MB", max / (1024 * 1024)),
                    format!("the photos of a case may take at most {} MB together", max / (1024 * 1024)),
                )
            },
            AppError::PhotoNotFound => Problem::new(
                S::NOT_FOUND,
                "photo_not_found",
                "没有这张照片（或已按保存期限删除）",
                "no such photo (or it was deleted under the retention policy)",
            ),
            AppError::CaseClosed => Problem::new(
                S::CONFLICT,
                "case_closed",
                "这件诉求已办结，不能再附照片",
                "the case is closed; no more photos can be attached",
            ),
            AppError::LoginTaken(l) => Problem {
                field: Some("login".into()),
                ..Problem::new(
                    S::CONFLICT,
                    "login_taken",
                    format!("账号「{l}」已存在"),
                    format!("the login '{l}' is taken"),
                )
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
                ..Problem::new(
                    S::CONFLICT,
                    "unit_exists",
                    format!("单位编码「{c}」已被使用"),
                    format!("the unit code '{c}' is taken"),
                )
            },
            AppError::UnknownParentUnit(c) => Problem {
                field: Some("parent".into()),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "unknown_parent_unit",
                    format!("没有编码为「{c}」的上级单位"),
                    format!("there is no parent unit with code '{c}'"),
                )
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
