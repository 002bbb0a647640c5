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

/// A JSON body: 413 past the body limit, 400 when not JSON, 422 with the
/// field path when a field has the wrong type or name.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
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
