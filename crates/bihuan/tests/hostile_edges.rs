//! Hostile corpus at the server's edges: upload bombs and sparse sheets on
//! every upload route, idle sockets, proxy headers, cross-origin API writes
//! and NUL bytes. Every case asserts no 5xx, a live server and nothing stored.

mod support;

use std::io::Write;

use serde_json::Value;
use sqlx::Row;
use support::{TestApp, spawn, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TABLES: &[&str] = &[
    "risk_areas",
    "residents",
    "workers",
    "employers",
    "lab_results",
    "assist_lists",
    "assist_uploads",
    "assist_rows",
    "instructions",
    "instruction_answers",
    "persons",
    "declarations",
];

/// Row counts of every table an upload or write could fill.
async fn stored(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in TABLES {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(app.services.db.pool())
            .await
            .unwrap()
            .get(0);
        out.push((*t, n));
    }
    out
}

/// `/healthz` on a connection of its own (a kept-alive one may have been
/// closed by the server's idle timeout in the meantime).
async fn alive(app: &TestApp) {
    let r = reqwest::Client::new()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the server still answers");
}

/// A workbook with one cell at A1 and one at XFD1048576: as a range it is
/// 17 billion cells.
fn sparse_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "county").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

/// A small valid workbook plus one entry that inflates to 80 MB of zeros.
fn zip_bomb() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "county").unwrap();
    let plain = wb.save_to_buffer().unwrap();
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(plain)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        out.raw_copy_file(src.by_index(i).unwrap()).unwrap();
    }
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    out.start_file("xl/media/pad.bin", opts).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..80 {
        out.write_all(&zeros).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    assert!(bytes.len() < 1024 * 1024, "the bomb is small on the wire");
    bytes
}

/// A CSV with one very long cell and one with far too many columns.
fn wide_csv() -> Vec<u8> {
    let mut s = "county,level,since\n".to_string();
    s.push_str(&",".repeat(100_000));
    s.push('\n');
    s.into_bytes()
}

const BOUNDARY: &str = "XhostileX";

/// A `multipart/form-data` body: (name, filename, data).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, filename, data) in parts {
        b.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => b.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// How a file reaches a route: the raw body, or a multipart form.
#[derive(Clone, Copy)]
enum Shape {
    Raw,
    /// An API multipart import (`file`, `name`, `mapping`).
    ApiForm,
    /// A page form: the session's CSRF token, `file`.
    PageForm,
    /// The instruction page: attachments.
    Instruction,
}

const API_ROUTES: &[(&str, Shape)] = &[
    ("/api/v1/risk-areas/import", Shape::Raw),
    ("/api/v1/residents/import", Shape::Raw),
    ("/api/v1/rosters/import", Shape::Raw),
    ("/api/v1/lab-results/import", Shape::Raw),
    ("/api/v1/assist-lists?name=x&mapping=m", Shape::Raw),
    ("/api/v1/assist-lists", Shape::ApiForm),
];
/// Routes whose body is refused unread when the caller may not send it.
const API_GUARDED: &[&str] = &["/api/v1/instructions"];
const PAGE_ROUTES: &[(&str, Shape)] = &[
    ("/assist", Shape::PageForm),
    ("/instructions", Shape::Instruction),
    ("/pharmacy/import", Shape::PageForm),
];

async fn send(
    app: &TestApp,
    path: &str,
    shape: Shape,
    file: &[u8],
    bearer: Option<&str>,
    cookie: Option<(&str, &str)>,
) -> u16 {
    let (content_type, body) = match shape {
        Shape::Raw => ("application/octet-stream".to_string(), file.to_vec()),
        Shape::ApiForm => (
            multipart_type(),
            multipart(&[
                ("name", None, b"x"),
                ("mapping", None, b"m"),
                ("file", Some("a.xlsx"), file),
            ]),
        ),
        Shape::PageForm => (
            multipart_type(),
            multipart(&[
                ("csrf", None, cookie.map_or("", |c| c.1).as_bytes()),
                ("name", None, b"x"),
                ("file", Some("a.xlsx"), file),
            ]),
        ),
        Shape::Instruction => (
            multipart_type(),
            multipart(&[
                ("csrf", None, cookie.map_or("", |c| c.1).as_bytes()),
                ("title", None, b"t"),
                ("body", None, b"b"),
                ("regions", None, b"330784001"),
                ("roles", None, b"town"),
                ("attachments", Some("a.xlsx"), file),
            ]),
        ),
    };
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .header("origin", app.base.clone())
        .body(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some((token, _)) = cookie {
        req = req.header("cookie", format!("bihuan_session={token}"));
    }
    req.send().await.unwrap().status().as_u16()
}

/// The CSRF token a page's forms carry for this session.
async fn csrf(app: &TestApp, token: &str) -> String {
    let html = app
        .http
        .get(app.url("/tasks"))
        .header("cookie", format!("bihuan_session={token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn upload_bombs_are_refused_on_every_route_signed_in_or_not() {
    let app = spawn().await;
    let before = stored(&app).await;
    let files = [
        ("sparse", sparse_xlsx()),
        ("bomb", zip_bomb()),
        ("wide", wide_csv()),
    ];
    let command = app.login_as("command", "330784").await;
    let command_csrf = csrf(&app, &command).await;
    let grid = app.login_as("grid_worker", "330784001001001").await;
    let grid_csrf = csrf(&app, &grid).await;
    for (what, file) in &files {
        for (path, shape) in API_ROUTES {
            // Nobody, a stranger's token, a role that may not import.
            for bearer in [None, Some("not-a-token"), Some(grid.as_str())] {
                let s = send(&app, path, *shape, file, bearer, None).await;
                assert!(s == 401 || s == 403, "{what} to {path} as {bearer:?}: {s}");
            }
            let s = send(&app, path, *shape, file, Some(&command), None).await;
            assert!((400..500).contains(&s), "{what} to {path} signed in: {s}");
        }
        for (path, shape) in PAGE_ROUTES {
            let s = send(&app, path, *shape, file, None, None).await;
            assert_eq!(s, 303, "{what} to {path} without a session: to /login");
            let s = send(&app, path, *shape, file, None, Some((&grid, &grid_csrf))).await;
            assert_eq!(s, 403, "{what} to {path} as a grid worker");
            if matches!(shape, Shape::Instruction) {
                // An attachment is kept as sent, never parsed.
                continue;
            }
            let s = send(
                &app,
                path,
                *shape,
                file,
                None,
                Some((&command, &command_csrf)),
            )
            .await;
            assert!((400..500).contains(&s), "{what} to {path} signed in: {s}");
        }
        alive(&app).await;
    }
    assert_eq!(stored(&app).await, before, "nothing stored");
}

/// Sends the head of an upload and a few bytes of a large body, then waits
/// for the answer: one that comes was decided without reading the body.
async fn answer_before_body(app: &TestApp, path: &str, auth: &str) -> u16 {
    answer_before_typed_body(app, path, "application/octet-stream", auth).await
}

/// The status a request gets with its head and the first bytes of a
/// 4 MB body sent, the rest never: only an answer given before the body is
/// read arrives (otherwise the server waits for the body).
async fn answer_before_typed_body(
    app: &TestApp,
    path: &str,
    content_type: &str,
    auth: &str,
) -> u16 {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: 4000000\r\n{auth}\r\nPK\x03\x04"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed without an answer");
        got.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&got);
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn uploads_are_refused_before_their_body_arrives() {
    let app = spawn().await;
    let grid = app.login_as("grid_worker", "330784001001001").await;
    for (path, _) in API_ROUTES {
        assert_eq!(answer_before_body(&app, path, "").await, 401, "{path}");
        let bad = "Authorization: Bearer not-a-token\r\n";
        assert_eq!(answer_before_body(&app, path, bad).await, 401, "{path}");
        let worker = format!("Authorization: Bearer {grid}\r\n");
        assert_eq!(answer_before_body(&app, path, &worker).await, 403, "{path}");
    }
    for path in API_GUARDED {
        assert_eq!(answer_before_body(&app, path, "").await, 401, "{path}");
        let worker = format!("Authorization: Bearer {grid}\r\n");
        assert_eq!(answer_before_body(&app, path, &worker).await, 403, "{path}");
    }
    // Pasted tables on pages: the role is checked before the form is read.
    let form = "application/x-www-form-urlencoded";
    let grid_cookie = format!("Cookie: bihuan_session={grid}\r\n");
    for path in [
        "/residents",
        "/rolling/import",
        "/risk-areas/import",
        "/pharmacy/import",
        "/pharmacy",
        "/fever-clinic",
    ] {
        assert_eq!(
            answer_before_typed_body(&app, path, form, "").await,
            303,
            "{path}: to /login"
        );
        assert_eq!(
            answer_before_typed_body(&app, path, form, &grid_cookie).await,
            403,
            "{path} as a grid worker"
        );
    }
    // Scanner batches: the token before the JSON.
    let json = "application/json";
    let lab = app
        .services
        .add_api_token("lab", "lab_results")
        .await
        .unwrap();
    for auth in [
        String::new(),
        "Authorization: Bearer not-a-token\r\n".to_string(),
        format!("Authorization: Bearer {grid}\r\n"),
        format!("Authorization: Bearer {lab}\r\n"),
    ] {
        assert_eq!(
            answer_before_typed_body(&app, "/api/v1/checkins", json, &auth).await,
            401,
            "{auth}"
        );
    }
    // An answer (with its photo) only from a recipient of the instruction.
    let command = app.login_as("command", "330784").await;
    app.login_as("town", "330784001").await;
    let (status, sent) = app
        .post(
            &command,
            "/api/v1/instructions",
            serde_json::json!({"title": "t", "body": "b", "due_at": "2022-01-28T12:00:00+08:00",
                   "regions": ["330784001"], "roles": ["town"]}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["id"].as_i64().unwrap();
    let bearer = format!("Authorization: Bearer {grid}\r\n");
    for id in [id, 999_999] {
        let page = format!("/instructions/{id}/answers");
        assert_eq!(
            answer_before_typed_body(&app, &page, &multipart_type(), &grid_cookie).await,
            404,
            "{page} from a grid worker it was not sent to"
        );
        let api = format!("/api/v1/instructions/{id}/answers");
        assert_eq!(
            answer_before_typed_body(&app, &api, json, &bearer).await,
            404,
            "{api} from a grid worker it was not sent to"
        );
    }
    alive(&app).await;
}

#[tokio::test]
async fn a_sheet_within_bounds_still_imports() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    // Starting at B2: the table is read from its first used cell.
    for (c, h) in ["县区编码", "风险等级", "起始日期"].iter().enumerate() {
        ws.write_string(1, 1 + c as u16, *h).unwrap();
    }
    ws.write_string(2, 1, "110106").unwrap();
    ws.write_string(2, 2, "高").unwrap();
    ws.write_string(2, 3, "2022-01-20").unwrap();
    let r = app
        .http
        .post(app.url("/api/v1/risk-areas/import"))
        .bearer_auth(&command)
        .body(wb.save_to_buffer().unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (_, areas) = app.get(&command, "/api/v1/risk-areas").await;
    assert_eq!(areas.as_array().unwrap().len(), 1, "{areas}");
}

#[tokio::test]
async fn idle_sockets_are_closed_and_healthz_still_answers() {
    let app = spawn_with(|s| {
        s.header_read_timeout_seconds = 1;
        s.max_connections = 64;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 1 {
            // Half send the start of a head and never finish it.
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        idle.push(s);
    }
    // Past the cap, with every one of them silent: the server still answers.
    alive(&app).await;
    // And each idle socket was closed by the server, not kept forever.
    for mut s in idle {
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                // A 408 for a half-sent head is fine; then the close.
                Ok(_) => continue,
            }
        }
    }
    alive(&app).await;
}

#[tokio::test]
async fn every_answer_says_no_referrer_and_personal_ones_are_not_stored() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let cookie = format!("bihuan_session={command}");
    for (path, signed_in) in [
        ("/api/v1/tasks", true),
        ("/tasks", true),
        ("/declare", false),
        ("/healthz", false),
        ("/api/v1/persons/999999", true),
        ("/no-such-page", false),
    ] {
        let mut req = app.http.get(app.url(path));
        if signed_in {
            req = req.header("cookie", &cookie);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().as_u16() < 500, "{path}");
        let h = r.headers();
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    let r = app
        .http
        .get(app.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"),
        "static assets keep their caching"
    );
}

/// A declaration posted with extra headers: its status.
async fn declare_with(app: &TestApp, n: u32, headers: &[(&str, &str)]) -> u16 {
    let mut body = support::declaration();
    body["id_number"] = serde_json::json!(support::resident_id(n));
    let mut req = app.http.post(app.url("/api/v1/declarations")).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn forwarded_headers_from_strangers_do_not_buy_a_new_budget() {
    let app = spawn_with(|s| s.public_rate_limit = 2).await;
    // The test client is not a trusted proxy: spoofed hops change nothing.
    assert_eq!(
        declare_with(&app, 1, &[("x-forwarded-for", "1.1.1.1")]).await,
        201
    );
    assert_eq!(
        declare_with(&app, 2, &[("x-forwarded-for", "2.2.2.2")]).await,
        201
    );
    assert_eq!(
        declare_with(&app, 3, &[("x-forwarded-for", "3.3.3.3")]).await,
        429
    );
    assert_eq!(
        declare_with(&app, 4, &[("x-real-ip", "4.4.4.4")]).await,
        429
    );
    // Another family keeps its own budget: a login still gets through.
    let r = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "nobody", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status().as_u16(), 429, "login has its own budget");
    assert!(r.status().as_u16() < 500);
    let (persons, declarations) = counts(&app).await;
    assert_eq!(
        (persons, declarations),
        (2, 2),
        "only the allowed ones stored"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = spawn_with(|s| {
        s.public_rate_limit = 1;
        s.trusted_proxies = vec!["127.0.0.0/8".into(), "::1".into()];
    })
    .await;
    let hop = |c: &'static str| [("x-forwarded-for", c)];
    assert_eq!(declare_with(&app, 1, &hop("198.51.100.1")).await, 201);
    assert_eq!(declare_with(&app, 2, &hop("198.51.100.1")).await, 429);
    assert_eq!(declare_with(&app, 3, &hop("198.51.100.2")).await, 201);
    // The rightmost untrusted hop counts: a client cannot prepend its way out.
    assert_eq!(
        declare_with(&app, 4, &hop("203.0.113.9, 198.51.100.2")).await,
        429
    );
    // X-Real-IP from the proxy when it sends no X-Forwarded-For.
    assert_eq!(
        declare_with(&app, 5, &[("x-real-ip", "198.51.100.3")]).await,
        201
    );
    // The proxy itself, naming nobody, is one client too.
    assert_eq!(declare_with(&app, 6, &[]).await, 201);
    assert_eq!(declare_with(&app, 7, &[]).await, 429);
    assert_eq!(counts(&app).await, (4, 4));
}

async fn counts(app: &TestApp) -> (i64, i64) {
    let s = stored(app).await;
    let get = |t: &str| s.iter().find(|(n, _)| *n == t).unwrap().1;
    (get("persons"), get("declarations"))
}

fn area(county: &str) -> String {
    serde_json::json!({"county": county, "level": "high", "since": "2022-01-20"}).to_string()
}

/// POST /api/v1/risk-areas with the session cookie and the given headers.
async fn cookie_write(app: &TestApp, token: &str, county: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = app
        .http
        .post(app.url("/api/v1/risk-areas"))
        .header("cookie", format!("bihuan_session={token}"))
        .body(area(county));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn risk_areas(app: &TestApp) -> i64 {
    let s = stored(app).await;
    s.iter().find(|(n, _)| *n == "risk_areas").unwrap().1
}

#[tokio::test]
async fn cross_site_api_writes_with_the_cookie_are_refused() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let here = app.base.clone();
    // What a cross-site <form enctype="text/plain"> or fetch(no-cors) sends.
    for headers in [
        vec![("content-type", "text/plain")],
        vec![("content-type", "text/plain"), ("origin", here.as_str())],
        vec![("content-type", "application/x-www-form-urlencoded")],
        vec![("content-type", "application/json")],
        vec![
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
        ],
        vec![("content-type", "application/json"), ("origin", "null")],
        vec![("content-type", "text/plain"), ("x-csrf-token", "guess")],
    ] {
        let s = cookie_write(&app, &command, "110106", &headers).await;
        assert_eq!(s, 403, "{headers:?}");
    }
    assert_eq!(risk_areas(&app).await, 0, "nothing stored");
    // The same multipart upload with the cookie needs the token too.
    let r = app
        .http
        .post(app.url("/api/v1/assist-lists"))
        .header("cookie", format!("bihuan_session={command}"))
        .header("content-type", multipart_type())
        .header("origin", here.as_str())
        .body(multipart(&[("file", Some("a.csv"), b"x\n1\n")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Same-origin JSON, the session's CSRF token, or a bearer token: accepted.
    let json_here = [
        ("content-type", "application/json"),
        ("origin", here.as_str()),
    ];
    assert_eq!(
        cookie_write(&app, &command, "110106", &json_here).await,
        201
    );
    let token = csrf(&app, &command).await;
    let with_token = [
        ("content-type", "application/json"),
        ("x-csrf-token", token.as_str()),
    ];
    assert_eq!(
        cookie_write(&app, &command, "110105", &with_token).await,
        201
    );
    let r = app
        .http
        .post(app.url("/api/v1/risk-areas"))
        .bearer_auth(&command)
        .header("content-type", "text/plain")
        .body(area("110102"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "bearer clients are unaffected");
    assert_eq!(risk_areas(&app).await, 3);
    alive(&app).await;
}

#[tokio::test]
async fn a_nul_byte_anywhere_is_a_4xx_not_a_500() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let before = stored(&app).await;
    let mut statuses = Vec::new();
    // JSON strings: a username, a declaration's name, a nested field.
    let (s, _) = app
        .post(
            "",
            "/api/v1/session",
            serde_json::json!({"username": "ad\u{0}min", "password": "correct horse battery"}),
        )
        .await;
    statuses.push(("login json", s));
    let mut d = support::declaration();
    d["name"] = serde_json::json!("张\u{0}三");
    let (s, body) = app.declare(d).await;
    assert_eq!(body["errors"][0]["field"], "name", "{body}");
    statuses.push(("declaration", s));
    let mut d = support::declaration();
    d["destination"]["address"] = serde_json::json!("园丁路\u{0}1号");
    statuses.push(("nested", app.declare(d).await.0));
    // Query strings and paths.
    for path in [
        "/api/v1/tasks?region=3307%00",
        "/api/v1/tasks?state=%00",
        "/api/v1/persons/1?unmask=%00",
        "/api/v1/regions/330784%00",
        "/tasks?region=%00",
    ] {
        statuses.push((path, app.get(&command, path).await.0));
    }
    for path in ["/s/abc%00def", "/declare?lang=%00"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        statuses.push((path, r.status().as_u16()));
    }
    // A page form.
    let r = app
        .http
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ad%00min&password=x&next=%2Ftasks")
        .send()
        .await
        .unwrap();
    statuses.push(("login form", r.status().as_u16()));
    // A multipart text field.
    let token = csrf(&app, &command).await;
    let r = app
        .http
        .post(app.url("/assist"))
        .header("cookie", format!("bihuan_session={command}"))
        .header("content-type", multipart_type())
        .body(multipart(&[
            ("csrf", None, token.as_bytes()),
            ("name", None, b"a\0b"),
            ("file", Some("a.csv"), b"x\n1\n"),
        ]))
        .send()
        .await
        .unwrap();
    statuses.push(("multipart", r.status().as_u16()));
    for (what, s) in &statuses {
        assert!((400..500).contains(s), "{what}: {s}");
    }
    assert_eq!(stored(&app).await, before, "nothing stored");
    alive(&app).await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_key_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = std::env::temp_dir().join(support::unique("bihuan-perm-"));
    let (data, keys) = (root.join("data"), root.join("keys"));
    let sqlite = std::env::var("BIHUAN_TEST_POSTGRES").map_or(true, |v| v.is_empty());
    let app = spawn_with(|s| {
        if sqlite {
            s.database_url = format!("sqlite://{}/bihuan.db", data.display());
        }
        s.secret_key = None;
        s.key_file = keys.join("bihuan.key");
    })
    .await;
    // Something written, so the WAL exists.
    assert_eq!(app.declare(support::declaration()).await.0, 201);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&keys.join("bihuan.key")), 0o600);
    if sqlite {
        assert_eq!(mode(&data), 0o700);
        for f in ["bihuan.db", "bihuan.db-wal", "bihuan.db-shm"] {
            let p = data.join(f);
            if f == "bihuan.db" || p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
    }
    drop(app);
    let _ = std::fs::remove_dir_all(&root);
}
