//! The JSON API of 协查 lists under /api/v1: mappings, import (multipart or
//! the raw file as the body), lists, rows, routing and the export.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiActor, JsonBody};
use super::multipart;
use crate::error::Error;
use crate::import::Format;
use crate::usecases::assist::{Exported, MappingInput};

type ApiResult = Result<Response, ApiError>;

pub async fn mappings(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.assist_mappings(&a).await?).into_response())
}

pub async fn save_mapping(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<MappingInput>,
) -> ApiResult {
    let id = s.services.save_assist_mapping(&a, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

#[derive(Deserialize, Default)]
pub struct ImportQuery {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mapping: String,
    #[serde(default)]
    filename: String,
}

/// A list file: `multipart/form-data` with `file`, `name` and `mapping`, or
/// the file itself as the body with `?name=…&mapping=…&filename=…`.
pub async fn import(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> ApiResult {
    // Refused before the body is read.
    if !a.role.can_handle_assist_lists() {
        return Err(Error::Forbidden.into());
    }
    let body = match super::api::upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (name, mapping, filename, bytes) = match multipart::boundary(content_type) {
        Some(b) => {
            let parts = multipart::parse(&body, &b).ok_or_else(|| {
                Error::field(
                    "file",
                    "multipart",
                    "表单格式有误",
                    "the multipart body is malformed",
                )
            })?;
            let file = parts.iter().find(|p| p.name == "file").ok_or_else(|| {
                Error::field(
                    "file",
                    "required",
                    "请选择文件",
                    "attach the list as `file`",
                )
            })?;
            (
                multipart::text(&parts, "name"),
                multipart::text(&parts, "mapping"),
                file.filename.clone().unwrap_or_default(),
                file.data.clone(),
            )
        }
        None => (q.name, q.mapping, q.filename, body.to_vec()),
    };
    let report = s
        .services
        .import_assist_list(&a, &name, &filename, &mapping, &bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(report)).into_response())
}

pub async fn lists(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.assist_lists(&a).await?).into_response())
}

pub async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.assist_list(&a, id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    pub grid: String,
}

pub async fn route(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, row)): Path<(i64, i64)>,
    JsonBody(input): JsonBody<RouteInput>,
) -> ApiResult {
    Ok(Json(
        s.services
            .route_assist_row(&a, id, row, &input.grid)
            .await?,
    )
    .into_response())
}

/// The answered list as a download, in the format it came in.
pub fn download(e: Exported) -> Response {
    let content_type = match e.format {
        Format::Xlsx => crate::web::XLSX,
        Format::Csv => "text/csv; charset=utf-8",
    };
    let name = format!("assist-answer.{}", e.format.as_str());
    crate::web::download(content_type, &name, Some(&e.filename), e.bytes)
}

pub async fn export(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(download(s.services.export_assist_list(&a, id).await?))
}
