//! JSON under /api/v1 for 流调溯源: venues, check-ins, tracing cases.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::api::{ApiResult, bearer, too_many};
use super::extract::{ApiActor, JsonBody};
use crate::usecases::fever::FeverVisitInput;
use crate::usecases::pharmacy::PurchaseInput;
use crate::usecases::tracing::{DecisionInput, OpenCaseInput};
use crate::usecases::venues::{CheckinInput, VenueInput, VisitInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/venues", get(venues).post(register_venue))
        .route("/venues/{id}/approve", post(approve_venue))
        .route("/venues/{id}/reject", post(reject_venue))
        .route("/venue-codes/{code}/visits", post(visit))
        .route("/checkins", post(checkins))
        .route("/pharmacy-purchases", post(pharmacy_purchase))
        .route("/fever-clinic-visits", post(fever_clinic_visit))
        .route("/trace-cases", get(cases).post(open_case))
        .route("/trace-cases/{id}", get(case))
        .route("/trace-cases/{id}/trace", post(trace))
        .route("/trace-cases/{id}/contacts/{person}/decision", post(decide))
}

async fn venues(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.venues(&a).await?).into_response())
}

async fn register_venue(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<VenueInput>,
) -> ApiResult {
    let v = s.services.register_venue(&a, input).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn approve_venue(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.decide_venue(&a, id, true).await?).into_response())
}

async fn reject_venue(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.decide_venue(&a, id, false).await?).into_response())
}

/// Public: a scan of a venue code, no login, rate-limited per address.
async fn visit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
    JsonBody(input): JsonBody<VisitInput>,
) -> ApiResult {
    if !s.allowed(crate::web::ratelimit::Family::Visit, addr) {
        return Ok(too_many());
    }
    let from = crate::usecases::venues::VisitFrom {
        addr: Some(addr.ip()),
        device: input.device.clone(),
    };
    let v = s.services.visit(&code, input, from).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Batches from scanners and venue systems, by an API token (scope checkins).
async fn checkins(State(s): State<AppState>, req: axum::extract::Request) -> ApiResult {
    // The token is checked before the batch is read.
    let token = bearer(req.headers())?;
    s.services.checkin_source(&token).await?;
    let rows =
        match <JsonBody<Vec<CheckinInput>> as axum::extract::FromRequest<AppState>>::from_request(
            req, &s,
        )
        .await
        {
            Ok(JsonBody(rows)) => rows,
            Err(refused) => return Ok(refused),
        };
    let r = s.services.ingest_checkins(&token, rows).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// 药店哨点: a purchase from a pharmacy's system (token of scope
/// `pharmacy`) or its region's staff; authorised before the body is read.
async fn pharmacy_purchase(State(s): State<AppState>, req: axum::extract::Request) -> ApiResult {
    let token = bearer(req.headers())?;
    let by = s.services.purchase_source(&token).await?;
    let input =
        match <JsonBody<PurchaseInput> as axum::extract::FromRequest<AppState>>::from_request(
            req, &s,
        )
        .await
        {
            Ok(JsonBody(input)) => input,
            Err(refused) => return Ok(refused),
        };
    let r = s.services.record_purchase(&by, input).await?;
    let status = if r.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(r)).into_response())
}

/// 发热门诊: a visit from a clinic's system (token of scope `fever_clinic`)
/// or its region's staff; authorised before the body is read.
async fn fever_clinic_visit(State(s): State<AppState>, req: axum::extract::Request) -> ApiResult {
    let token = bearer(req.headers())?;
    let by = s.services.visit_source(&token).await?;
    let input =
        match <JsonBody<FeverVisitInput> as axum::extract::FromRequest<AppState>>::from_request(
            req, &s,
        )
        .await
        {
            Ok(JsonBody(input)) => input,
            Err(refused) => return Ok(refused),
        };
    let r = s.services.record_fever_visit(&by, input).await?;
    let status = if r.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(r)).into_response())
}

async fn cases(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.cases(&a).await?).into_response())
}

async fn open_case(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<OpenCaseInput>,
) -> ApiResult {
    let id = s.services.open_case(&a, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn case(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(s.services.case_view(&a, id).await?).into_response())
}

async fn trace(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(s.services.trace_case(&a, id).await?).into_response())
}

async fn decide(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, person)): Path<(i64, i64)>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult {
    Ok(Json(s.services.decide_contact(&a, id, person, input).await?).into_response())
}
