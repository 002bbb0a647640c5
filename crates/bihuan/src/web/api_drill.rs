//! JSON under /api/v1 for 应急演练: start a drill from a script, read its
//! after-action report, end it, purge it. The command's only.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::api::ApiResult;
use super::extract::{ApiActor, JsonBody};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/drills", get(drills).post(start))
        .route("/drills/{id}/report", get(report))
        .route("/drills/{id}/end", post(end))
        .route("/drills/{id}/purge", post(purge))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartInput {
    /// The scenario, as TOML (`bihuan_domain::drill::DrillScript`).
    script: String,
}

async fn drills(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.drills(&a).await?).into_response())
}

async fn start(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<StartInput>,
) -> ApiResult {
    let started = s.services.start_drill(&a, &input.script).await?;
    Ok((axum::http::StatusCode::CREATED, Json(started)).into_response())
}

async fn report(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.drill_report(&a, id).await?).into_response())
}

async fn end(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(s.services.end_drill(&a, id, false).await?).into_response())
}

async fn purge(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(s.services.end_drill(&a, id, true).await?).into_response())
}
