//! JSON under /api/v1 for 预警: the region's alerts, 签收 and 研判.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::AppState;
use super::api::ApiResult;
use super::extract::{ApiActor, JsonBody};
use crate::usecases::surge::JudgeInput;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(alerts))
        .route("/alerts/{id}/ack", post(ack))
        .route("/alerts/{id}/judge", post(judge))
}

async fn alerts(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.alerts(&a).await?).into_response())
}

async fn ack(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(s.services.ack_alert(&a, id).await?).into_response())
}

async fn judge(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<JudgeInput>,
) -> ApiResult {
    Ok(Json(s.services.judge_alert(&a, id, input).await?).into_response())
}
