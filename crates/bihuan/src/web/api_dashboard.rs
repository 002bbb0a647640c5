//! JSON under /api/v1 for the 指挥部 dashboards and the daily report (日报).
//! The dashboard pages refresh from `/dashboard/{region}/live`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::api::{ApiResult, xlsx_response};
use super::extract::ApiActor;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/{region}", get(dashboard))
        .route("/dashboard/{region}/live", get(live))
        .route("/dashboard/{region}/lists/{metric}", get(list))
        .route("/dashboard/{region}/lists/{metric}/xlsx", get(list_xlsx))
        .route("/daily-reports", get(reports).post(make_report))
        .route("/daily-reports/{id}", get(report))
        .route("/daily-reports/{id}/xlsx", get(report_xlsx))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub category: Option<String>,
    /// `1`: only work owned by the region itself.
    pub direct: Option<u8>,
}

impl ListQuery {
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref().filter(|c| !c.is_empty())
    }
    pub fn direct(&self) -> bool {
        self.direct == Some(1)
    }
}

async fn dashboard(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(region): Path<String>,
) -> ApiResult {
    Ok(Json(s.services.dashboard(&a, &region).await?).into_response())
}

async fn live(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(region): Path<String>,
) -> ApiResult {
    let mut r = Json(s.services.dashboard_live(&a, &region).await?).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

async fn list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((region, metric)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let v = s
        .services
        .dashboard_list(&a, &region, &metric, q.category(), q.direct(), None)
        .await?;
    Ok(Json(v).into_response())
}

async fn list_xlsx(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((region, metric)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let bytes = s
        .services
        .dashboard_list_xlsx(&a, &region, &metric, q.category(), q.direct())
        .await?;
    Ok(xlsx_response(bytes, &format!("{region}-{metric}.xlsx")))
}

async fn reports(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.daily_reports(&a).await?).into_response())
}

async fn make_report(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    let id = s.services.make_daily_report(&a).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn report(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.daily_report(&a, id).await?).into_response())
}

async fn report_xlsx(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    let bytes = s.services.daily_report_xlsx(&a, id).await?;
    Ok(xlsx_response(bytes, &format!("daily-report-{id}.xlsx")))
}
