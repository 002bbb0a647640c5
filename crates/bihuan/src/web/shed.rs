//! Load shedding: each lane of traffic has its own number of requests in
//! flight. A public lane that is full answers 503 with Retry-After at once,
//! before anything is read or written, so a flood of arrivals costs little
//! and never takes the capacity the command, the grid and the machine feeds
//! need. `/healthz` is never shed.
//!
//! The lane is chosen from the request's head alone. Public routes keep
//! their own lanes whatever the request carries. Any other route goes to
//! the staff or machine lane when it carries a credential (a session cookie
//! or a Bearer token), where a forged one is refused by one lookup before
//! any body is read, and to the other-public lane when it carries none.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::AppState;
use super::extract::SESSION_COOKIE;

/// Seconds a shed client is asked to wait.
pub const RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// 返永通: the form, its posts and the API.
    Declare,
    /// A receipt holder's pages and posts, and 找回回执.
    Status,
    /// A venue code's check-in page and its API.
    Visit,
    /// Signing in, the poster, the front page, the static assets and any
    /// other page asked for without a credential.
    OtherPublic,
    /// Signed-in people.
    Staff,
    /// Machine clients by token: lab results, scanner batches, the
    /// health-code feed, pharmacy and clinic systems.
    Machine,
    /// `/healthz`: never shed.
    Health,
}

/// Paths of the JSON API that machine clients post to or read from.
const MACHINE_PATHS: &[&str] = &[
    "/api/v1/lab-results",
    "/api/v1/checkins",
    "/api/v1/health-codes",
    "/api/v1/pharmacy-purchases",
    "/api/v1/fever-clinic-visits",
    "/api/v1/checkpoint-passages",
];

/// The lane of a request. A public route's lane is its own whatever the
/// request carries, so a made-up credential never moves a public request
/// into the staff or machine lane; other routes go to the staff lane (the
/// machine lane for the feeds' paths by token) only with a credential,
/// which they check before reading any body.
pub fn lane_of(method: &Method, path: &str, bearer: bool, session_cookie: bool) -> Lane {
    let under = |prefix: &str| {
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    if path == "/healthz" {
        return Lane::Health;
    }
    if under("/declare")
        || under("/report-gathering")
        || under("/api/v1/declarations")
        || (method == Method::POST && path == "/api/v1/gatherings")
    {
        return Lane::Declare;
    }
    if under("/s") || under("/g") || under("/api/v1/status") || under("/api/v1/gathering-receipts")
    {
        return Lane::Status;
    }
    if under("/v") || under("/api/v1/venue-codes") {
        return Lane::Visit;
    }
    if ["/", "/login", "/api/v1/session", "/poster"].contains(&path) || under("/static") {
        return Lane::OtherPublic;
    }
    if bearer && MACHINE_PATHS.iter().any(|p| under(p)) {
        Lane::Machine
    } else if bearer || session_cookie {
        Lane::Staff
    } else {
        Lane::OtherPublic
    }
}

/// The permits of each lane; `0` in a setting means that lane is not
/// limited.
pub struct Shedder {
    declare: Option<Arc<Semaphore>>,
    status: Option<Arc<Semaphore>>,
    visit: Option<Arc<Semaphore>>,
    other_public: Option<Arc<Semaphore>>,
    staff: Option<Arc<Semaphore>>,
    machine: Option<Arc<Semaphore>>,
}

impl Shedder {
    /// `public` requests in flight per public lane, `staff` and `machine`
    /// for theirs.
    pub fn new(public: usize, staff: usize, machine: usize) -> Shedder {
        let permits = |n: usize| (n > 0).then(|| Arc::new(Semaphore::new(n)));
        Shedder {
            declare: permits(public),
            status: permits(public),
            visit: permits(public),
            other_public: permits(public),
            staff: permits(staff),
            machine: permits(machine),
        }
    }

    fn lane(&self, lane: Lane) -> Option<&Arc<Semaphore>> {
        match lane {
            Lane::Declare => self.declare.as_ref(),
            Lane::Status => self.status.as_ref(),
            Lane::Visit => self.visit.as_ref(),
            Lane::OtherPublic => self.other_public.as_ref(),
            Lane::Staff => self.staff.as_ref(),
            Lane::Machine => self.machine.as_ref(),
            Lane::Health => None,
        }
    }
}

/// Middleware: a permit of the request's lane for its whole life, or 503.
pub async fn shed(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let session_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(';')
                .any(|c| c.trim_start().starts_with(SESSION_COOKIE))
        });
    let lane = lane_of(req.method(), req.uri().path(), bearer, session_cookie);
    let Some(permits) = s.shedder.lane(lane) else {
        return next.run(req).await;
    };
    match permits.clone().try_acquire_owned() {
        Ok(permit) => {
            let answer = next.run(req).await;
            drop(permit);
            answer
        }
        Err(_) => busy(req.uri().path(), req.uri().query().unwrap_or("")),
    }
}

/// The 503: JSON in the API's error shape, else a short page in both
/// languages (the query's `lang=en` puts English first).
fn busy(path: &str, query: &str) -> Response {
    const ZH: &str = "系统繁忙，请稍后再试。";
    const EN: &str = "The system is busy: please try again in a few seconds.";
    let mut r = if path.starts_with("/api/") {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"errors": [{
                "field": "", "code": "busy", "message": ZH, "message_en": EN
            }]})),
        )
            .into_response()
    } else {
        let english = query.split('&').any(|p| p == "lang=en");
        let (lang, first, second) = if english {
            ("en", EN, ZH)
        } else {
            ("zh-CN", ZH, EN)
        };
        let other = if english { "zh-CN" } else { "en" };
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::response::Html(format!(
                "<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width\">\
                 <title>503</title><p>{first}</p><p lang=\"{other}\">{second}</p></html>"
            )),
        )
            .into_response()
    };
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_follow_the_path_and_the_credential() {
        let get = &Method::GET;
        let post = &Method::POST;
        assert_eq!(lane_of(get, "/healthz", true, true), Lane::Health);
        assert_eq!(lane_of(get, "/declare", false, false), Lane::Declare);
        assert_eq!(
            lane_of(post, "/api/v1/declarations", false, false),
            Lane::Declare
        );
        assert_eq!(lane_of(get, "/declarex", false, false), Lane::OtherPublic);
        assert_eq!(lane_of(get, "/s/ABC123", false, false), Lane::Status);
        assert_eq!(lane_of(post, "/s/recover/code", false, false), Lane::Status);
        assert_eq!(
            lane_of(post, "/api/v1/status/X/check-ins", false, false),
            Lane::Status
        );
        assert_eq!(lane_of(get, "/v/V1-abc", false, false), Lane::Visit);
        assert_eq!(
            lane_of(post, "/api/v1/venue-codes/V1/visits", false, false),
            Lane::Visit
        );
        assert_eq!(
            lane_of(post, "/api/v1/gatherings", false, false),
            Lane::Declare
        );
        assert_eq!(
            lane_of(get, "/api/v1/gathering-receipts/R1", false, false),
            Lane::Status
        );
        assert_eq!(lane_of(get, "/login", false, false), Lane::OtherPublic);
        assert_eq!(lane_of(get, "/tasks", false, false), Lane::OtherPublic);
        assert_eq!(lane_of(get, "/tasks", false, true), Lane::Staff);
        assert_eq!(lane_of(get, "/api/v1/tasks", true, false), Lane::Staff);
        assert_eq!(lane_of(get, "/api/v1/gatherings", true, false), Lane::Staff);
        // The gate pages: the host's form and receipt are public lanes, the
        // review (`/gatherings`, not under `/g`) is staff.
        assert_eq!(
            lane_of(get, "/report-gathering", false, false),
            Lane::Declare
        );
        assert_eq!(lane_of(get, "/g/ABC123", false, false), Lane::Status);
        assert_eq!(lane_of(get, "/gatherings", false, true), Lane::Staff);
        assert_eq!(
            lane_of(post, "/api/v1/lab-results", true, false),
            Lane::Machine
        );
        assert_eq!(
            lane_of(post, "/api/v1/lab-results/import", true, false),
            Lane::Machine
        );
        assert_eq!(
            lane_of(get, "/api/v1/health-codes", true, false),
            Lane::Machine
        );
        // A cookie alone never reaches the machine lane.
        assert_eq!(
            lane_of(get, "/api/v1/health-codes", false, true),
            Lane::Staff
        );
    }

    #[test]
    fn a_made_up_credential_never_moves_a_public_request_out_of_its_lane() {
        for (method, path, lane) in [
            (&Method::POST, "/api/v1/declarations", Lane::Declare),
            (&Method::POST, "/declare", Lane::Declare),
            (&Method::POST, "/api/v1/gatherings", Lane::Declare),
            (&Method::POST, "/report-gathering", Lane::Declare),
            (&Method::GET, "/s/ABC123", Lane::Status),
            (&Method::GET, "/g/ABC123", Lane::Status),
            (&Method::POST, "/api/v1/venue-codes/V1/visits", Lane::Visit),
            (&Method::POST, "/login", Lane::OtherPublic),
            (&Method::POST, "/api/v1/session", Lane::OtherPublic),
        ] {
            assert_eq!(lane_of(method, path, true, true), lane, "{path}");
        }
    }

    #[tokio::test]
    async fn a_full_lane_refuses_while_the_others_still_admit() {
        let s = Shedder::new(1, 1, 0);
        let held = s
            .lane(Lane::Declare)
            .unwrap()
            .clone()
            .try_acquire_owned()
            .unwrap();
        assert!(
            s.lane(Lane::Declare)
                .unwrap()
                .clone()
                .try_acquire_owned()
                .is_err()
        );
        assert!(
            s.lane(Lane::Status)
                .unwrap()
                .clone()
                .try_acquire_owned()
                .is_ok()
        );
        assert!(
            s.lane(Lane::Staff)
                .unwrap()
                .clone()
                .try_acquire_owned()
                .is_ok()
        );
        assert!(s.lane(Lane::Machine).is_none(), "0 means unlimited");
        assert!(s.lane(Lane::Health).is_none());
        drop(held);
        assert!(
            s.lane(Lane::Declare)
                .unwrap()
                .clone()
                .try_acquire_owned()
                .is_ok()
        );
    }

    #[test]
    fn the_busy_answer_says_when_to_come_back_in_both_languages() {
        let r = busy("/api/v1/declarations", "");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        let r = busy("/declare", "lang=en");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
