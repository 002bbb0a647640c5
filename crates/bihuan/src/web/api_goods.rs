//! JSON under /api/v1 for 人、物、环境同防: holders, batches and movements,
//! the supervised warehouse's jobs, environment sampling, trace-backs.

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::Date;
use serde::Deserialize;

use super::api::{ApiResult, upload_body, xlsx_response};
use super::extract::{ApiActor, JsonBody};
use super::{AppState, IMPORT_LIMIT};
use crate::error::Error;
use crate::usecases::goods::{
    BatchInput, HolderInput, MovementInput, ResultInput, SampleInput, SiteInput,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/goods/holders", get(holders).post(create_holder))
        .route("/goods/holders/{id}/workers", get(holder_workers))
        .route("/goods/batches", get(batches).post(register_batch))
        .route(
            "/goods/batches/import",
            post(import_batches).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/goods/batches/{id}/movements", post(record_movement))
        .route("/goods/batches/{id}/result", post(batch_result))
        .route("/goods/warehouse-jobs", get(jobs))
        .route("/goods/warehouse-jobs/{id}/state", post(advance_job))
        .route("/goods/env-sites", post(create_site))
        .route("/goods/env-sites/due", get(due_sites))
        .route("/goods/env-sites/{id}/samples", post(record_sample))
        .route("/goods/trace-backs/{id}", get(trace_back))
        .route("/goods/trace-backs/{id}/export", get(export_trace_back))
}

async fn holders(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.goods_holders(&a).await?).into_response())
}

async fn create_holder(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<HolderInput>,
) -> ApiResult {
    let h = s.services.create_holder(&a, input).await?;
    Ok((StatusCode::CREATED, Json(h)).into_response())
}

async fn holder_workers(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.holder_workers(&a, id).await?).into_response())
}

async fn batches(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.goods_batches(&a).await?).into_response())
}

async fn register_batch(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<BatchInput>,
) -> ApiResult {
    let b = s.services.register_batch(&a, input).await?;
    Ok((StatusCode::CREATED, Json(b)).into_response())
}

async fn record_movement(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<MovementInput>,
) -> ApiResult {
    let m = s.services.record_movement(&a, id, input).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": m}))).into_response())
}

/// An office's batch file (.xlsx or CSV) as the request body, refused
/// before it is read when the user may not register batches.
async fn import_batches(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    req: Request,
) -> ApiResult {
    if !a.role.can_review() {
        return Err(Error::Forbidden.into());
    }
    let body = match upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let rows = crate::import::rows_off_thread(body, crate::import::batch_rows).await?;
    Ok(Json(s.services.import_batches(&a, rows).await?).into_response())
}

async fn batch_result(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ResultInput>,
) -> ApiResult {
    Ok(Json(s.services.record_batch_result(&a, id, input).await?).into_response())
}

async fn jobs(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.warehouse_jobs(&a).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateInput {
    to: String,
}

async fn advance_job(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<StateInput>,
) -> ApiResult {
    Ok(Json(s.services.advance_warehouse_job(&a, id, &input.to).await?).into_response())
}

async fn create_site(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<SiteInput>,
) -> ApiResult {
    let site = s.services.create_env_site(&a, input).await?;
    Ok((StatusCode::CREATED, Json(site)).into_response())
}

#[derive(Deserialize)]
struct DueQuery {
    #[serde(default)]
    on: Option<String>,
}

async fn due_sites(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<DueQuery>,
) -> ApiResult {
    let on = match q.on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(d) => Some(d.parse::<Date>().map_err(|_| {
            Error::field(
                "on",
                "date",
                "日期格式应为 2022-01-27",
                "a date like 2022-01-27",
            )
        })?),
    };
    Ok(Json(s.services.env_sampling_due(&a, on).await?).into_response())
}

async fn record_sample(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SampleInput>,
) -> ApiResult {
    let r = s.services.record_env_sample(&a, id, input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn trace_back(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.trace_back_view(&a, id).await?).into_response())
}

async fn export_trace_back(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    let bytes = s.services.export_trace_back(&a, id).await?;
    Ok(xlsx_response(bytes, &format!("trace-back-{id}.xlsx")))
}
