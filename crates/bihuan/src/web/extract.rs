//! Extractors: JSON bodies that fail with per-field messages, and the signed-in user.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ApiError, malformed, shape_error};
use crate::error::Error;
use crate::usecases::Actor;

pub const SESSION_COOKIE: &str = "bihuan_session";

impl<T: DeserializeOwned> JsonBody<T> {
    /// Reads the body of `req` only now: for a handler that has checked the
    /// caller (a token, a rate limit) first. The refusal is the answer.
    pub async fn read(req: Request) -> Result<T, Response> {
        <Self as FromRequest<()>>::from_request(req, &())
            .await
            .map(|JsonBody(t)| t)
    }
}

/// A JSON body: 413 past the body limit, 400 when not JSON, 422 with the
/// field path when a field has the wrong type or name or a string holds a
/// NUL character.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        let mut path = String::new();
        if nul_in(&value, &mut path) {
            let e = bihuan_domain::validation::FieldError::new(
                path,
                "nul",
                "不允许含有空字符",
                "a NUL character is not allowed",
            );
            return Err((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(serde_json::json!({ "errors": [e] })),
            )
                .into_response());
        }
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| shape_error(e.path().to_string(), e.inner().to_string()))
    }
}

/// The session token from `Authorization: Bearer` or the session cookie.
pub fn session_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        return v
            .to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
    }
    cookie(parts, SESSION_COOKIE)
}

pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A signed-in user, for the JSON API: 401 otherwise.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(parts).ok_or(ApiError(Error::Unauthorized))?;
        Ok(ApiActor(state.services.session(&token).await?))
    }
}

/// Cross-site writes with the session cookie: a write under /api/v1
/// (POST, PUT, PATCH, DELETE) authenticated by the cookie rather than an
/// `Authorization` header must either carry the session's CSRF token in
/// `X-CSRF-Token`, or be `application/json` with a same-origin `Origin`
/// (this site's `public_base_url`, or the request's own `Host`). A browser
/// cannot send either across sites without CORS, which this server never
/// grants. Bearer clients, and requests without the cookie, pass untouched.
pub async fn cookie_write_guard(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{Method, header};
    let write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let h = req.headers();
    if !write || h.contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Some(token) = cookie(&parts, SESSION_COOKIE) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let h = &parts.headers;
    if let Some(sent) = h.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        if let Ok(actor) = s.services.session(&token).await
            && same_secret(&actor.csrf, sent)
        {
            return next.run(Request::from_parts(parts, body)).await;
        }
        return cross_site();
    }
    let json = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    let origin = h.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    if json && origin.is_some_and(|o| same_origin(o, &s.settings.public_base_url, host)) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    cross_site()
}

fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && !a.is_empty()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `origin` names this site: the scheme and authority of `public_base_url`,
/// or of the `Host` the request was sent to.
fn same_origin(origin: &str, public_base_url: &str, host: Option<&str>) -> bool {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let base = public_base_url.trim().to_ascii_lowercase();
    let base_origin = match base.find("://") {
        Some(i) => {
            let rest = &base[i + 3..];
            let end = rest.find('/').unwrap_or(rest.len());
            format!("{}{}", &base[..i + 3], &rest[..end])
        }
        None => String::new(),
    };
    if !base_origin.is_empty() && origin == base_origin {
        return true;
    }
    host.is_some_and(|host| {
        let host = host.trim().to_ascii_lowercase();
        !host.is_empty()
            && (origin == format!("http://{host}") || origin == format!("https://{host}"))
    })
}

fn cross_site() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({
            "error": "cross_site",
            "message": "请求来源无法验证：请从本站页面提交，或使用 API 令牌",
            "message_en": "cannot verify where this request came from: send JSON from this site, the X-CSRF-Token header, or use a bearer token",
        })),
    )
        .into_response()
}

/// A NUL character is never meaningful input, and PostgreSQL refuses it in
/// text (an error, not a 4xx). It is refused at the edge: in the path or
/// query (`%00`) with 400, in a url-encoded form body as the body is read
/// (the form's extractor then answers 400), in a JSON string by `JsonBody`
/// (422), in a multipart text field by `multipart::parse`.
pub async fn nul_guard(req: Request, next: axum::middleware::Next) -> Response {
    let uri = req.uri();
    let in_uri = has_nul_escape(uri.path().as_bytes())
        || uri.query().is_some_and(|q| has_nul_escape(q.as_bytes()));
    if in_uri {
        return super::error::bad_request(
            "nul",
            "请求中含有不允许的空字符",
            "the request contains a NUL character",
        );
    }
    let form = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::from_stream(NulScan {
        inner: body.into_data_stream(),
        tail: Vec::new(),
    });
    next.run(Request::from_parts(parts, body)).await
}

fn has_nul_escape(bytes: &[u8]) -> bool {
    bytes.contains(&0)
        || bytes
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// A url-encoded body that fails when it holds `%00` or a raw NUL, across
/// chunk boundaries too.
struct NulScan {
    inner: axum::body::BodyDataStream,
    tail: Vec<u8>,
}

impl futures_util::Stream for NulScan {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        match std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let mut seen = std::mem::take(&mut self.tail);
                seen.extend_from_slice(&chunk);
                if has_nul_escape(&seen) {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a NUL character in the form",
                    ))));
                }
                self.tail = seen[seen.len().saturating_sub(2)..].to_vec();
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(std::io::Error::other(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The path of the first string (or key) in a JSON value holding a NUL.
fn nul_in(v: &serde_json::Value, path: &mut String) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, x)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = nul_in(x, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        serde_json::Value::Object(map) => map.iter().any(|(k, x)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = k.contains('\0') || nul_in(x, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_this_site_or_not() {
        let base = "https://bihuan.example.gov.cn/";
        assert!(same_origin("https://bihuan.example.gov.cn", base, None));
        assert!(same_origin(
            "http://127.0.0.1:8080",
            base,
            Some("127.0.0.1:8080")
        ));
        assert!(!same_origin(
            "https://evil.example",
            base,
            Some("bihuan.example.gov.cn")
        ));
        assert!(!same_origin("null", base, Some("bihuan.example.gov.cn")));
        assert!(!same_origin(
            "https://bihuan.example.gov.cn.evil.example",
            base,
            None
        ));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("", ""));
        assert!(!same_secret("abc", "abd"));
    }
}
