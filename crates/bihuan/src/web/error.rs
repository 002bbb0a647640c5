//! How a use-case error looks on the wire.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bihuan_domain::validation::FieldError;
use serde_json::json;

use crate::error::Error;

/// An error answered as JSON.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Conflict(_) | Error::Refused { .. } => StatusCode::CONFLICT,
        Error::Forbidden => StatusCode::FORBIDDEN,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Locked => StatusCode::TOO_MANY_REQUESTS,
        Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let body = match &self.0 {
            Error::Invalid(errors) => json!({ "errors": errors }),
            Error::Database(_) | Error::Internal(_) => {
                tracing::error!(error = %self.0, "request failed");
                json!({"error": "internal", "message": "服务器内部错误", "message_en": "internal error"})
            }
            Error::NotFound => {
                json!({"error": "not_found", "message": "未找到", "message_en": "not found"})
            }
            Error::Conflict(m) => {
                json!({"error": "conflict", "message": "当前状态下不能这样操作", "message_en": m})
            }
            Error::Refused { code, zh, en } => {
                json!({"error": code, "message": zh, "message_en": en})
            }
            Error::Forbidden => {
                json!({"error": "forbidden", "message": "无权进行此操作", "message_en": "forbidden"})
            }
            Error::Unauthorized => {
                json!({"error": "unauthorized", "message": "请先登录", "message_en": "sign in first"})
            }
            Error::Busy => {
                json!({"error": "busy", "message": "服务器繁忙，请稍后再试", "message_en": "the server is busy, try again shortly"})
            }
            Error::Locked => {
                json!({"error": "locked", "message": "尝试次数过多，请稍后再试", "message_en": "too many attempts, try later"})
            }
        };
        (status, Json(body)).into_response()
    }
}

/// 400: the body is not JSON at all.
pub fn malformed(detail: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "malformed_json", "message": "请求不是有效的 JSON", "message_en": detail})),
    )
        .into_response()
}

/// 422 for a JSON value of the wrong shape, naming the field at fault.
pub fn shape_error(path: String, detail: String) -> Response {
    let field = if path == "." { String::new() } else { path };
    let e = FieldError::new(field, "type", "字段类型或名称不正确", detail);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "errors": [e] })),
    )
        .into_response()
}

/// 400 with the usual bilingual message.
pub fn bad_request(code: &str, zh: &str, en: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "message": zh, "message_en": en})),
    )
        .into_response()
}
