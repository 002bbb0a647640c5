//! JSON under /api/v1 for 卡口: checkpoints, passages and 转运 hand-overs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::api::{ApiResult, bearer, xlsx_response};
use super::extract::{ApiActor, JsonBody};
use crate::usecases::checkpoints::{AdvanceInput, PassageInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkpoints", get(checkpoints))
        .route("/checkpoint-passages", post(record_passage))
        .route("/checkpoint-passages.xlsx", get(passages_xlsx))
        .route("/transfers-out", get(transfers_out))
        .route("/transfers-out/{id}/advance", post(advance))
}

async fn checkpoints(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.checkpoints(&a).await?).into_response())
}

/// A passage from a checkpoint's system (token of scope `checkpoint`) or
/// its region's staff; authorised before the body is read.
async fn record_passage(State(s): State<AppState>, req: axum::extract::Request) -> ApiResult {
    let token = bearer(req.headers())?;
    let by = s.services.passage_source(&token).await?;
    let input =
        match <JsonBody<PassageInput> as axum::extract::FromRequest<AppState>>::from_request(
            req, &s,
        )
        .await
        {
            Ok(JsonBody(input)) => input,
            Err(refused) => return Ok(refused),
        };
    let r = s.services.record_passage(&by, input).await?;
    let status = if r.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(r)).into_response())
}

#[derive(Deserialize)]
struct DayQuery {
    #[serde(default)]
    date: Option<String>,
}

async fn passages_xlsx(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(q): Query<DayQuery>,
) -> ApiResult {
    let bytes = s.services.passages_xlsx(&a, q.date.as_deref()).await?;
    Ok(xlsx_response(bytes, "checkpoint-passages.xlsx"))
}

async fn transfers_out(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.transfers_out(&a).await?).into_response())
}

async fn advance(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<AdvanceInput>,
) -> ApiResult {
    Ok(Json(s.services.advance_transfer(&a, id, input).await?).into_response())
}
