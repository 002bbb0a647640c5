//! JSON under /api/v1 for the 指挥部: duty roster and instructions.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::api::ApiResult;
use super::extract::{ApiActor, JsonBody};
use crate::usecases::command::{AnswerInput, DutyInput, InstructionInput};

/// Attachments travel base64-encoded inside the JSON.
const INSTRUCTION_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/duty", get(roster).post(add_duty))
        .route("/duty/uncovered", get(uncovered))
        .route(
            "/instructions",
            get(instructions)
                .post(send)
                .layer(DefaultBodyLimit::max(INSTRUCTION_LIMIT)),
        )
        .route("/instructions/escalated", get(escalated))
        .route("/instructions/{id}", get(instruction))
        .route("/instructions/{id}/ack", post(ack))
        .route(
            "/instructions/{id}/answers",
            post(answer).layer(DefaultBodyLimit::max(INSTRUCTION_LIMIT)),
        )
        .route("/instructions/{id}/attachments/{file}", get(attachment))
        .route("/instructions/{id}/answers/{answer}/photo", get(photo))
        .route("/audit", get(audit))
}

async fn audit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    axum::extract::Query(q): axum::extract::Query<crate::usecases::command::AuditQuery>,
) -> ApiResult {
    Ok(Json(s.services.audit(&a, &q).await?).into_response())
}

async fn roster(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.duty_roster(&a).await?).into_response())
}

async fn add_duty(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    JsonBody(input): JsonBody<DutyInput>,
) -> ApiResult {
    let d = s.services.add_duty(&a, input).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

async fn uncovered(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.regions_without_duty(&a).await?).into_response())
}

async fn instructions(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    let inbox = s.services.inbox(&a).await?;
    let sent = match s.services.sent_instructions(&a).await {
        Ok(v) => v,
        Err(crate::error::Error::Forbidden) => vec![],
        Err(e) => return Err(e.into()),
    };
    Ok(Json(json!({"inbox": inbox, "sent": sent})).into_response())
}

/// Only the command and towns send: anyone else is refused before the
/// (up to 16 MB) body is read.
async fn send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    req: axum::extract::Request,
) -> ApiResult {
    if !matches!(
        a.role,
        bihuan_domain::access::Role::Command | bihuan_domain::access::Role::Town
    ) {
        return Err(crate::error::Error::Forbidden.into());
    }
    let input: InstructionInput = match <JsonBody<InstructionInput> as axum::extract::FromRequest<
        AppState,
    >>::from_request(req, &s)
    .await
    {
        Ok(JsonBody(input)) => input,
        Err(r) => return Ok(r),
    };
    let r = s.services.send_instruction(&a, input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn escalated(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult {
    Ok(Json(s.services.instruction_escalations(&a).await?).into_response())
}

async fn instruction(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(s.services.instruction_view(&a, id).await?).into_response())
}

async fn ack(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<i64>) -> ApiResult {
    s.services.acknowledge_instruction(&a, id).await?;
    Ok(Json(json!({"acknowledged": true})).into_response())
}

async fn answer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> ApiResult {
    // Only a recipient may answer: checked before the body is read.
    s.services.check_recipient(&a, id).await?;
    let input = match <JsonBody<AnswerInput> as axum::extract::FromRequest<AppState>>::from_request(
        req, &s,
    )
    .await
    {
        Ok(JsonBody(input)) => input,
        Err(refused) => return Ok(refused),
    };
    let answer = s.services.answer_instruction(&a, id, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": answer}))).into_response())
}

async fn attachment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, file)): Path<(i64, i64)>,
) -> ApiResult {
    let (name, ct, data) = s.services.instruction_attachment(&a, id, file).await?;
    Ok(crate::web::download(&ct, "file", Some(&name), data))
}

async fn photo(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, answer)): Path<(i64, i64)>,
) -> ApiResult {
    let (ct, data) = s.services.answer_photo(&a, id, answer).await?;
    Ok(crate::web::download(&ct, "photo", None, data))
}
