//! JSON under /api/v1 for 集聚性活动报备: the public report and receipt,
//! staff review, the 宴会缓办 switch and towns' tightened rules.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::gathering::Step;

use super::AppState;
use super::api::{ApiResult, too_many};
use super::extract::{ApiActor, JsonBody};
use super::ratelimit::Family;
use crate::usecases::gathering::{GatheringInput, OverrideInput, PauseInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/gatherings", get(list).post(report))
        .route("/gatherings/{id}", get(one))
        .route("/gatherings/{id}/approve", post(approve))
        .route("/gatherings/{id}/reject", post(reject))
        .route("/gatherings/{id}/start", post(start))
        .route("/gatherings/{id}/finish", post(finish))
        .route("/gatherings/{id}/cancel", post(cancel))
        .route("/gathering-receipts/{receipt}", get(receipt))
        .route("/gathering-pause", get(pause).post(set_pause))
        .route("/policy-overrides", get(overrides).post(propose))
        .route("/policy-overrides/{id}/approve", post(approve_override))
        .route("/policy-overrides/{id}/reject", post(reject_override))
}

/// Public: a host's report, no login, rate-limited per address as the
/// 返永通 form is (checked before the body is read).
async fn report(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> ApiResult {
    if !s.allowed(Family::Declare, addr) {
        return Ok(too_many());
    }
    let input = match JsonBody::<GatheringInput>::read(req).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let r = s.services.report_gathering(input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// Public: the host's receipt.
async fn receipt(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(receipt): Path<String>,
) -> ApiResult {
    if !s.allowed(Family::Status, addr) {
        return Ok(too_many());
    }
    Ok(Json(s.services.gathering_by_receipt(&receipt).await?).into_response())
}

async fn list(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.gatherings(&a).await?).into_response())
}

async fn one(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(s.services.gathering(&a, id).await?).into_response())
}

async fn step(s: AppState, a: crate::usecases::Actor, id: i64, step: Step) -> ApiResult {
    Ok(Json(s.services.gathering_step(&a, id, step).await?).into_response())
}

async fn approve(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    step(s, a, id, Step::Approve).await
}

async fn reject(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    step(s, a, id, Step::Reject).await
}

async fn start(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    step(s, a, id, Step::Start).await
}

async fn finish(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    step(s, a, id, Step::Finish).await
}

async fn cancel(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    step(s, a, id, Step::Cancel).await
}

async fn pause(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.gathering_pause(&a).await?).into_response())
}

async fn set_pause(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<PauseInput>,
) -> ApiResult {
    Ok(Json(s.services.set_gathering_pause(&a, input).await?).into_response())
}

async fn overrides(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.policy_overrides(&a).await?).into_response())
}

async fn propose(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<OverrideInput>,
) -> ApiResult {
    let r = s.services.propose_override(&a, input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn approve_override(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.decide_override(&a, id, true).await?).into_response())
}

async fn reject_override(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.decide_override(&a, id, false).await?).into_response())
}
