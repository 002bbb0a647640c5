//! Load shedding: with a public lane full, the next public request of that
//! lane answers 503 with Retry-After at once and changes nothing, while
//! another public lane, signed-in staff, a machine client and /healthz are
//! served; once the lane frees, it admits again.

mod support;

use serde_json::json;
use sqlx::Row;
use support::{declaration, resident_id, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn declarations(app: &support::TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM declarations")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

#[tokio::test]
async fn a_full_public_lane_is_shed_and_nothing_else_starves() {
    let app = spawn_with(|s| {
        s.public_concurrency = 1;
        s.staff_concurrency = 1;
        s.machine_concurrency = 1;
    })
    .await;
    let staff = app.login_as("command", "330784").await;
    let feed = app
        .services
        .add_api_token("hc", "health_codes")
        .await
        .unwrap();

    // One arrival's declaration, its body not yet all sent: it holds the
    // 返永通 lane's only permit.
    let mut body = declaration();
    body["id_number"] = json!(resident_id(7));
    let body = serde_json::to_vec(&body).unwrap();
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/v1/declarations HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    slow.write_all(&body[..10]).await.unwrap();
    slow.flush().await.unwrap();

    // Wait until the slow request holds the lane: the form (which writes
    // nothing) is then shed too.
    let mut full = false;
    for _ in 0..300 {
        let r = app
            .http
            .get(format!("{}/declare", app.base))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            full = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(full, "the slow declaration never took the lane");

    // The lane is full: the next declaration is shed at once.
    let shed = app
        .http
        .post(format!("{}/api/v1/declarations", app.base))
        .json(&declaration())
        .send()
        .await
        .unwrap();
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "5");
    let v: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "busy");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("繁忙"));
    let page = app
        .http
        .get(format!("{}/declare?lang=en", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("try again"));
    assert_eq!(declarations(&app).await, 0, "a shed request writes nothing");

    // Everyone else is served.
    let (s, _) = app.get(&staff, "/api/v1/tasks").await;
    assert_eq!(s, 200, "staff keep their own capacity");
    let (s, _) = app.get(&feed, "/api/v1/health-codes").await;
    assert_eq!(s, 200, "machine clients keep theirs");
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "another public lane has its own permits");

    // The slow arrival finishes and is answered; the lane admits again.
    slow.write_all(&body[10..]).await.unwrap();
    let mut answer = vec![0u8; 12];
    slow.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 201");
    drop(slow);
    let mut next = declaration();
    next["id_number"] = json!(resident_id(8));
    let mut admitted = false;
    for _ in 0..50 {
        let (s, _) = app.declare(next.clone()).await;
        if s == 201 {
            admitted = true;
            break;
        }
        assert_eq!(s, 503);
        // The first answer's permit is released as its handler returns.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(admitted, "the lane admits again once it frees");
    assert_eq!(declarations(&app).await, 2);
}
