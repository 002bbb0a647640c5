//! HTTP: the JSON API and the server-rendered pages over the same use cases.

pub mod api;
pub mod api_assist;
pub mod api_checkpoints;
pub mod api_command;
pub mod api_dashboard;
pub mod api_drill;
pub mod api_gathering;
pub mod api_goods;
pub mod api_surge;
pub mod api_tracing;
pub mod error;
pub mod extract;
pub mod multipart;
pub mod pages;
pub mod ratelimit;
pub mod shed;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, patch, post};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Settings;
use crate::usecases::Services;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub settings: Arc<Settings>,
    pub limiter: Arc<ratelimit::RateLimiter>,
    pub shedder: Arc<shed::Shedder>,
}

impl AppState {
    /// True while `addr` is within its budget for this family of public
    /// routes at the clock's time.
    pub fn allowed(&self, family: ratelimit::Family, addr: std::net::SocketAddr) -> bool {
        self.limiter
            .allow(family, addr.ip(), self.services.clock.timestamp())
    }
}

/// Bodies past this size answer 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Spreadsheet uploads may be larger.
pub const IMPORT_LIMIT: usize = 4 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/declarations", post(api::declare))
        .route("/session", post(api::login))
        .route("/session/password", post(api::change_password))
        .route("/risk-areas", get(api::risk_areas).post(api::add_risk_area))
        .route(
            "/risk-areas/import",
            post(api::import_risk_areas).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/risk-areas/{id}/lift", post(api::lift_risk_area))
        .route("/risk-areas/{id}", patch(api::move_risk_area_since))
        .route("/persons/{id}", get(api::person))
        .route("/tasks", get(api::tasks))
        .route("/tasks/{id}/ack", post(api::ack))
        .route("/tasks/{id}/report", post(api::report))
        .route("/tasks/{id}/close", post(api::close))
        .route("/tasks/{id}/reopen", post(api::reopen))
        .route("/overview", get(api::overview))
        .route("/policy", get(api::policy))
        .route("/regions/{code}", get(api::region))
        .route("/divisions", get(api::divisions))
        .route(
            "/status/{receipt}/check-ins",
            post(api::check_in_by_receipt),
        )
        .route(
            "/status/{receipt}/help",
            get(api::help_requests).post(api::request_help),
        )
        .route("/status/{receipt}/help/{id}/rating", post(api::rate_help))
        .route("/persons/{id}/check-ins", post(api::check_in_for))
        .route("/persons/{id}/release", post(api::release))
        .route("/persons/{id}/transfer", post(api::transfer))
        .route("/tests", post(api::record_test))
        .route("/due-tests", get(api::due_tests))
        .route("/health-codes", get(api::health_codes))
        .route("/handovers.xlsx", get(api::handovers_xlsx))
        .route("/help-requests/waiting", get(api::help_waiting))
        .route("/sites", get(api::sites).post(api::add_site))
        .route(
            "/residents/import",
            post(api::import_residents).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/rounds", post(api::create_round))
        .route(
            "/rosters/import",
            post(api::import_roster).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/rolling/overdue", get(api::rolling_overdue))
        .route("/zones", post(api::mark_zone))
        .route("/zones/{id}/lift", post(api::lift_zone))
        .route("/rounds/{id}/coverage", get(api::coverage))
        .route("/rounds/{id}/untested/{grid}", get(api::untested))
        .route("/tubes", post(api::open_tube))
        .route("/tubes/{barcode}", get(api::tube))
        .route("/tubes/{barcode}/members", post(api::add_to_tube))
        .route("/tubes/{barcode}/seal", post(api::seal_tube))
        .route(
            "/lab-results",
            post(api::lab_results).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route(
            "/lab-results/import",
            post(api::lab_results_file).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route(
            "/assist-mappings",
            get(api_assist::mappings).post(api_assist::save_mapping),
        )
        .route(
            "/assist-lists",
            get(api_assist::lists)
                .post(api_assist::import)
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/assist-lists/{id}", get(api_assist::list))
        .route("/assist-lists/{id}/export", get(api_assist::export))
        .route(
            "/assist-lists/{id}/rows/{row}/route",
            post(api_assist::route),
        );
    let api = api
        .merge(api_tracing::routes())
        .merge(api_surge::routes())
        .merge(api_checkpoints::routes())
        .merge(api_command::routes())
        .merge(api_dashboard::routes())
        .merge(api_drill::routes())
        .merge(api_gathering::routes())
        .merge(api_goods::routes());
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        extract::cookie_write_guard,
    ));
    Router::new()
        .nest("/api/v1", api)
        .merge(pages::routes().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::staff_nav_on_errors,
        )))
        .route("/healthz", get(api::healthz))
        .layer(axum::middleware::from_fn(extract::nul_guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Answers carry personal data: no cache keeps them unless the
        // answer says otherwise (the static assets do).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Links out of a page never carry its address (receipt numbers,
        // person ids) to another site.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'",
            ),
        ))
        // HTML, CSS, JS and JSON travel gzip/brotli-compressed when the
        // client accepts it; tiny answers and files that are already
        // compressed (images, xlsx, zip) go as they are.
        .layer(CompressionLayer::new().compress_when(compress_predicate()))
        // Outermost: a shed request costs no parsing and no compression.
        .layer(axum::middleware::from_fn_with_state(state.clone(), shed::shed))
        .with_state(state)
}

/// Answers below this many bytes are not worth compressing (one TCP packet
/// either way).
pub(crate) const COMPRESS_MIN_BYTES: u16 = 860;

fn compress_predicate() -> impl Predicate {
    SizeAbove::new(COMPRESS_MIN_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new(XLSX))
        .and(NotForContentType::const_new("application/zip"))
        .and(NotForContentType::const_new("application/pdf"))
        .and(NotForContentType::const_new("application/gzip"))
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to save, never cached. `name` is the plain ASCII file name;
/// `title`, when the file has one, its real (UTF-8) name, which browsers
/// prefer.
pub(crate) fn download(
    content_type: &str,
    name: &str,
    title: Option<&str>,
    body: Vec<u8>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let disposition = match title {
        Some(t) => format!(
            "attachment; filename=\"{name}\"; filename*=UTF-8''{}",
            pages::percent_encode(t)
        ),
        None => format!("attachment; filename=\"{name}\""),
    };
    let value = |v: &str| {
        HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("application/octet-stream"))
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, value(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
