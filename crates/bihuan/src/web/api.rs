//! The JSON API under /api/v1. Each handler parses, calls one use case, answers.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bihuan_domain::regions::Divisions;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiActor, JsonBody};
use crate::error::Error;
use crate::usecases::auth::LoginInput;
use crate::usecases::declare::DeclarationInput;
use crate::usecases::risk_areas::{RiskAreaInput, SinceInput};
use crate::usecases::tasks::ReportInput;
use crate::usecases::views::TaskQuery;

type ApiResult = Result<Response, ApiError>;

fn too_many() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"error": "rate_limited", "message": "请求过于频繁，请稍后再试", "message_en": "too many requests"})),
    )
        .into_response()
}

pub async fn declare(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<JsonBody<DeclarationInput>, Response>,
) -> ApiResult {
    if !s.limiter.allow(addr.ip(), s.services.clock.timestamp()) {
        return Ok(too_many());
    }
    let JsonBody(input) = match body {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let out = s.services.declare(input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn login(State(s): State<AppState>, JsonBody(input): JsonBody<LoginInput>) -> ApiResult {
    let session = s.services.login(input).await?;
    Ok(Json(json!({"token": session.token})).into_response())
}

pub async fn risk_areas(State(s): State<AppState>, ApiActor(_): ApiActor) -> ApiResult {
    Ok(Json(s.services.list_risk_areas().await?).into_response())
}

pub async fn add_risk_area(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(input): JsonBody<RiskAreaInput>,
) -> ApiResult {
    let out = s.services.add_risk_area(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// A spreadsheet (.xlsx or CSV) as the request body.
pub async fn import_risk_areas(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    body: axum::body::Bytes,
) -> ApiResult {
    let rows = crate::import::risk_area_rows(&body)
        .map_err(|e| Error::field("file", "file", "无法读取表格文件", &e.to_string()))?;
    Ok(Json(s.services.import_risk_areas(&actor, rows).await?).into_response())
}

pub async fn lift_risk_area(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.lift_risk_area(&actor, id).await?).into_response())
}

pub async fn move_risk_area_since(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SinceInput>,
) -> ApiResult {
    Ok(Json(s.services.move_risk_area_since(&actor, id, input).await?).into_response())
}

#[derive(Deserialize)]
pub struct PersonQuery {
    #[serde(default)]
    unmask: bool,
}

pub async fn person(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<PersonQuery>,
) -> ApiResult {
    Ok(Json(s.services.person(&actor, id, q.unmask).await?).into_response())
}

#[derive(Deserialize)]
pub struct TasksQuery {
    state: Option<String>,
    region: Option<String>,
    #[serde(default)]
    escalated: bool,
    #[serde(default)]
    overdue: bool,
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

pub async fn tasks(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<TasksQuery>,
) -> ApiResult {
    let q = TaskQuery {
        state: q.state.filter(|s| !s.is_empty()),
        region: q.region.filter(|s| !s.is_empty()),
        escalated: q.escalated,
        overdue: q.overdue,
        after: q.after,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(s.services.tasks(&actor, q).await?).into_response())
}

pub async fn ack(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.acknowledge_task(&a, id).await?).into_response())
}

pub async fn report(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ReportInput>,
) -> ApiResult {
    Ok(Json(s.services.report_task(&a, id, input).await?).into_response())
}

pub async fn close(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.close_task(&a, id).await?).into_response())
}

pub async fn reopen(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.reopen_task(&a, id).await?).into_response())
}

pub async fn overview(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.overview(&a).await?).into_response())
}

pub async fn policy(State(s): State<AppState>) -> ApiResult {
    let p = s.services.policy();
    Ok(Json(json!({
        "version": p.version,
        "title": p.title_zh,
        "title_en": p.title_en,
        "window_days": p.window_days,
        "categories": p.categories,
    }))
    .into_response())
}

pub async fn region(State(s): State<AppState>, Path(code): Path<String>) -> ApiResult {
    Ok(Json(s.services.region(&code).await?).into_response())
}

#[derive(Deserialize)]
pub struct DivisionQuery {
    #[serde(default)]
    parent: String,
}

/// The national division picker: provinces, then a province's cities, a
/// city's counties, a county's townships. Each entry says whether a listed
/// risk area lies in it (for counties), so the form can ask for the township.
pub async fn divisions(State(s): State<AppState>, Query(q): Query<DivisionQuery>) -> ApiResult {
    let d = Divisions::get();
    let list = match q.parent.len() {
        0 => d.provinces(),
        2 => d.cities_of(&q.parent),
        4 => d.counties_of(&q.parent),
        6 => d.townships_of(&q.parent),
        _ => return Err(Error::NotFound.into()),
    };
    let listed: Vec<String> = if q.parent.len() == 4 {
        s.services
            .list_risk_areas()
            .await?
            .into_iter()
            .filter(|a| a.until.is_none())
            .map(|a| a.county)
            .collect()
    } else {
        vec![]
    };
    let out: Vec<_> = list
        .iter()
        .map(|x| json!({"code": x.code, "name": x.name, "risk": listed.contains(&x.code)}))
        .collect();
    Ok(Json(out).into_response())
}

pub async fn healthz(State(s): State<AppState>) -> Response {
    match s.services.db.ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": "ok"})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": e.to_string()})),
        )
            .into_response(),
    }
}
