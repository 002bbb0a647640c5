//! The JSON API under /api/v1. Each handler parses, calls one use case, answers.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
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
use crate::usecases::care::{FeedCaller, HelpInput, RatingInput, TransferInput};
use crate::usecases::declare::DeclarationInput;
use crate::usecases::monitoring::{CheckInInput, TestInput};
use crate::usecases::risk_areas::{RiskAreaInput, SinceInput};
use crate::usecases::tasks::{ReopenInput, ReportInput};
use crate::usecases::testing::{LabCaller, LabResultInput, MemberInput, OpenTubeInput};
use crate::usecases::views::TaskQuery;

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn too_many() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"error": "rate_limited", "message": "请求过于频繁，请稍后再试", "message_en": "too many requests"})),
    )
        .into_response()
}

/// Public: rate-limited per address before the body is read.
pub async fn declare(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> ApiResult {
    if !s.allowed(crate::web::ratelimit::Family::Declare, addr) {
        return Ok(too_many());
    }
    let input = match JsonBody::<DeclarationInput>::read(req).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let out = s.services.declare(input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Rate-limited per client address in the login family, before the body is
/// read.
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<JsonBody<LoginInput>, Response>,
) -> ApiResult {
    if !s.allowed(crate::web::ratelimit::Family::Login, addr) {
        return Ok(too_many());
    }
    let JsonBody(input) = match body {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let session = s.services.login(input).await?;
    Ok(Json(json!({"token": session.token})).into_response())
}

/// A signed-in user changes their own password (the old one required);
/// every session of the user ends, this one too.
pub async fn change_password(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(input): JsonBody<crate::usecases::auth::PasswordChange>,
) -> ApiResult {
    s.services.change_password(&actor, input).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
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

/// A spreadsheet (.xlsx or CSV) as the request body: the role is checked
/// before the body is read, and the file parses off the async threads.
pub async fn import_risk_areas(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    req: Request,
) -> ApiResult {
    if !actor.role.can_manage_risk_areas() {
        return Err(Error::Forbidden.into());
    }
    let body = match upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let rows = crate::import::rows_off_thread(body, crate::import::risk_area_rows).await?;
    Ok(Json(s.services.import_risk_areas(&actor, rows).await?).into_response())
}

/// The body of an upload, read only once its sender was authorised; past
/// the route's limit it answers 413.
pub(crate) async fn upload_body(req: Request, s: &AppState) -> Result<Bytes, Response> {
    Bytes::from_request(req, s)
        .await
        .map_err(IntoResponse::into_response)
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
    JsonBody(input): JsonBody<ReopenInput>,
) -> ApiResult {
    Ok(Json(s.services.reopen_task(&a, id, input).await?).into_response())
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
        "venue_types": p.venue_types,
        "tracing": p.tracing,
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
    /// `en`: names with their pinyin, for the English pages.
    #[serde(default)]
    lang: String,
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
        .map(|x| {
            let name = if q.lang == "en" {
                crate::web::pages::i18n::Lang::En.place(&x.name)
            } else {
                x.name.clone()
            };
            json!({"code": x.code, "name": name, "risk": listed.contains(&x.code)})
        })
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

/// A person checks in from their status page: no login, rate-limited.
pub async fn check_in_by_receipt(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(receipt): Path<String>,
    JsonBody(input): JsonBody<CheckInInput>,
) -> ApiResult {
    if !s.allowed(crate::web::ratelimit::Family::Status, addr) {
        return Ok(too_many());
    }
    let out = s.services.check_in_by_receipt(&receipt, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn check_in_for(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CheckInInput>,
) -> ApiResult {
    let out = s.services.check_in_for(&a, id, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn record_test(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<TestInput>,
) -> ApiResult {
    let out = s.services.record_test(&a, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn due_tests(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.due_tests(&a).await?).into_response())
}

pub async fn release(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.confirm_release(&a, id).await?).into_response())
}

pub async fn transfer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<TransferInput>,
) -> ApiResult {
    Ok(Json(s.services.transfer(&a, id, input).await?).into_response())
}

pub async fn handovers_xlsx(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    let bytes = s.services.handovers_xlsx(&a).await?;
    Ok(xlsx_response(bytes, "handovers.xlsx"))
}

pub(crate) fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    crate::web::download(crate::web::XLSX, name, None, bytes)
}

#[derive(Deserialize)]
pub struct FeedQuery {
    /// The last `seq` seen: everything changed after it, in order.
    #[serde(default)]
    cursor: Option<i64>,
    /// Unix seconds (older clients): a change in the same second as the
    /// last one seen can be missed; `cursor` cannot.
    #[serde(default)]
    changed_since: i64,
    #[serde(default)]
    format: Option<String>,
}

/// The feed as a table (csv, xlsx), header first.
pub(crate) fn health_code_table(
    rows: &[crate::usecases::care::HealthCodeEntry],
) -> Vec<Vec<String>> {
    let mut t = vec![
        [
            "person_id",
            "id_type",
            "id_number",
            "colour",
            "changed_at",
            "seq",
        ]
        .map(String::from)
        .to_vec(),
    ];
    t.extend(rows.iter().map(|r| {
        vec![
            r.person_id.to_string(),
            r.id_type.clone(),
            r.id_number.clone(),
            r.colour.clone(),
            r.changed_at.to_string(),
            r.seq.to_string(),
        ]
    }));
    t
}

/// The health-code feed: the command, or a machine's API token.
pub async fn health_codes(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<FeedQuery>,
) -> ApiResult {
    // Refused before reading, so a refused request leaves no audit entry.
    let format = match q.format.as_deref() {
        None | Some("json") => "json",
        Some("csv") => "csv",
        Some("xlsx") => "xlsx",
        Some(_) => {
            return Err(Error::field(
                "format",
                "format",
                "格式应为 json、csv 或 xlsx",
                "json, csv or xlsx",
            )
            .into());
        }
    };
    let bearer = bearer(&headers)?;
    let caller = match s.services.session(&bearer).await {
        Ok(actor) => FeedCaller::User(actor),
        Err(_) => FeedCaller::Token(bearer),
    };
    let from = match q.cursor {
        Some(n) => crate::storage::monitoring::FeedFrom::Cursor(n),
        None => crate::storage::monitoring::FeedFrom::Since(q.changed_since),
    };
    let feed = s.services.health_code_feed(caller, from, format).await?;
    let rows = feed.rows;
    // A person's download names them; a machine's feed says so.
    let mark = match &feed.reader {
        Some(who) => crate::export::Mark::By {
            who,
            at: s.services.clock.timestamp(),
        },
        None => crate::export::Mark::MachineFeed,
    };
    let table = || health_code_table(&rows);
    match format {
        "json" => Ok(Json(&rows).into_response()),
        "csv" => Ok(crate::web::download(
            "text/csv; charset=utf-8",
            "health-codes.csv",
            None,
            crate::export::csv(&table(), mark)?,
        )),
        _ => Ok(xlsx_response(
            crate::export::xlsx("赋码", &table(), mark)?,
            "health-codes.xlsx",
        )),
    }
}

pub async fn request_help(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(receipt): Path<String>,
    JsonBody(input): JsonBody<HelpInput>,
) -> ApiResult {
    if !s.allowed(crate::web::ratelimit::Family::Status, addr) {
        return Ok(too_many());
    }
    let id = s.services.request_help(&receipt, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

pub async fn help_requests(State(s): State<AppState>, Path(receipt): Path<String>) -> ApiResult {
    Ok(Json(s.services.help_requests(&receipt).await?).into_response())
}

pub async fn rate_help(
    State(s): State<AppState>,
    Path((receipt, id)): Path<(String, i64)>,
    JsonBody(input): JsonBody<RatingInput>,
) -> ApiResult {
    s.services.rate_help(&receipt, id, input).await?;
    Ok(Json(json!({"ok": true})).into_response())
}

pub async fn help_waiting(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.help_waiting(&a).await?).into_response())
}

pub async fn open_tube(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<OpenTubeInput>,
) -> ApiResult {
    let out = s.services.open_tube(&a, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn tube(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(barcode): Path<String>,
) -> ApiResult {
    Ok(Json(s.services.tube(&a, &barcode).await?).into_response())
}

pub async fn add_to_tube(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(barcode): Path<String>,
    JsonBody(input): JsonBody<MemberInput>,
) -> ApiResult {
    let out = s.services.add_to_tube(&a, &barcode, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn seal_tube(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(barcode): Path<String>,
) -> ApiResult {
    Ok(Json(s.services.seal_tube(&a, &barcode).await?).into_response())
}

/// A lab's caller: a signed-in command user, or the lab's API token.
async fn lab_caller(s: &AppState, headers: &axum::http::HeaderMap) -> Result<LabCaller, ApiError> {
    let bearer = bearer(headers)?;
    Ok(match s.services.session(&bearer).await {
        Ok(actor) => LabCaller::User(actor),
        Err(_) => LabCaller::Token(bearer),
    })
}

/// A batch of results as JSON; the caller is authorised before the body is read.
pub async fn lab_results(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    req: Request,
) -> ApiResult {
    let caller = lab_caller(&s, &headers).await?;
    s.services.lab_source(&caller).await?;
    let rows = match JsonBody::<Vec<LabResultInput>>::from_request(req, &s).await {
        Ok(JsonBody(rows)) => rows,
        Err(r) => return Ok(r),
    };
    Ok(Json(s.services.ingest_lab_results(caller, rows).await?).into_response())
}

/// A result file (.xlsx or CSV) as the request body; the caller is
/// authorised before the body is read.
pub async fn lab_results_file(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    req: Request,
) -> ApiResult {
    let caller = lab_caller(&s, &headers).await?;
    s.services.lab_source(&caller).await?;
    let body = match upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let rows = crate::import::rows_off_thread(body, crate::import::lab_result_rows).await?;
    Ok(Json(s.services.ingest_lab_results(caller, rows).await?).into_response())
}

pub async fn add_site(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<crate::usecases::sites::SiteInput>,
) -> ApiResult {
    let id = s.services.add_site(&a, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// Public: where to get tested.
pub async fn sites(State(s): State<AppState>) -> ApiResult {
    Ok(Json(s.services.sites_by_town().await?).into_response())
}

/// A resident roll (.xlsx or CSV) as the request body.
pub async fn import_residents(
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
    let rows = crate::import::rows_off_thread(body, crate::import::resident_rows).await?;
    Ok(Json(s.services.import_residents(&a, rows).await?).into_response())
}

pub async fn create_round(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<crate::usecases::rounds::RoundInput>,
) -> ApiResult {
    let id = s.services.create_round(&a, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

#[derive(Deserialize)]
pub struct CoverageQuery {
    region: Option<String>,
}

pub async fn coverage(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<CoverageQuery>,
) -> ApiResult {
    Ok(Json(s.services.coverage(&a, id, q.region.as_deref()).await?).into_response())
}

#[derive(Deserialize)]
pub struct UntestedQuery {
    #[serde(default)]
    format: Option<String>,
}

/// 未检 list of one grid, as JSON or CSV.
pub async fn untested(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, grid)): Path<(i64, String)>,
    Query(q): Query<UntestedQuery>,
) -> ApiResult {
    if q.format.as_deref() == Some("csv") {
        let rows = s.services.untested_export(&a, id, &grid).await?;
        let t = crate::usecases::Services::untested_table(&rows);
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::export::csv(
                &t,
                crate::export::Mark::By {
                    who: &a.username,
                    at: s.services.clock.timestamp(),
                },
            )?,
        )
            .into_response());
    }
    Ok(Json(s.services.untested(&a, id, &grid).await?).into_response())
}

pub async fn mark_zone(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<crate::usecases::zones::ZoneInput>,
) -> ApiResult {
    let out = s.services.mark_zone(&a, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn lift_zone(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.lift_zone(&a, id).await?).into_response())
}

/// A roster (.xlsx or CSV) as the request body.
pub async fn import_roster(
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
    let rows = crate::import::rows_off_thread(body, crate::import::roster_rows).await?;
    Ok(Json(s.services.import_roster(&a, rows).await?).into_response())
}

pub async fn rolling_overdue(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.rolling_overdue(&a).await?).into_response())
}

/// The bearer token of a request: a session, or a machine client's API token.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    Ok(headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(Error::Unauthorized)?
        .to_string())
}
