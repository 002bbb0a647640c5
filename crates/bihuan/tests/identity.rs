//! Who a person is, and who may speak for them: a declaration never
//! overwrites the identity on file (the grid verifies a change first), a
//! receipt shows only its own declaration, 代扫 needs the full name, tubes
//! stay inside the sampler's region, logins are counted atomically, and
//! accounts and tokens can be disabled, revoked and expire. Runs on SQLite,
//! and on PostgreSQL when BIHUAN_TEST_POSTGRES is set.

mod support;

use serde_json::{Value, json};
use support::{TestApp, csrf_of, declaration, spawn, with_xiluoyuan};

const GRID: &str = "330784001001001";
const OTHER_VILLAGE: &str = "330784002001";
const OTHER_GRID: &str = "330784002001001";

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Someone who knows 张三's ID number declares with their own name, phone
/// and another village.
fn impostor() -> Value {
    let mut d = declaration();
    d["name"] = json!("李四");
    d["phone"] = json!("13911112222");
    d["origin"] = json!({"county": "420106", "township": null, "departed_on": "2022-01-27"});
    d["destination"] = json!({"village": OTHER_VILLAGE, "address": "别处9号"});
    d
}

#[tokio::test]
async fn an_id_number_alone_does_not_take_over_a_person() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, victim) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{victim}");
    let person = victim["person_id"].as_i64().unwrap();
    let (s, attacker) = app.declare(impostor()).await;
    assert_eq!(s, 201, "the signal is stored and triaged: {attacker}");
    assert_eq!(attacker["person_id"], person);
    assert_eq!(attacker["assessment"]["category"], "out_of_province");
    assert_eq!(attacker["identity_pending"], true);
    assert_eq!(
        attacker["control"]["category"], "out_of_province",
        "the answer speaks of this declaration, not of the running control"
    );

    // Nothing on file changed: the right grid keeps the person, the
    // declared one cannot see them.
    let worker = app.login_as("grid_worker", GRID).await;
    let (s, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "张三");
    assert_eq!(p["phone"], "138****8000");
    assert_eq!(p["region"], GRID);
    assert_eq!(p["control"]["category"], "risk_street");
    let change = &p["identity_changes"][0];
    assert_eq!(change["name"], "李四");
    assert_eq!(change["phone_masked"], "139****2222");
    assert_eq!(change["region"], OTHER_GRID);
    let other = app.login_as("grid_worker", OTHER_GRID).await;
    assert_eq!(
        app.get(&other, &format!("/api/v1/persons/{person}"))
            .await
            .0,
        404
    );
    // The verification task at the grid on file says what to verify.
    let (_, list) = app.get(&worker, "/api/v1/tasks").await;
    let task = &list.as_array().unwrap()[0];
    assert_eq!(task["kind"], "verify");
    assert_eq!(task["region"], GRID);
    let reason = task["reason"].as_str().unwrap();
    assert!(
        reason.contains("信息变更待核实") && reason.contains(OTHER_VILLAGE),
        "{reason}"
    );

    // The attacker's receipt shows no victim: not their name, control,
    // earlier travel; no check-in or help by it.
    let receipt = attacker["receipt"].as_str().unwrap();
    let (s, html) = page(&app, &format!("/s/{receipt}")).await;
    assert_eq!(s, 200);
    assert!(!html.contains("西罗园"), "earlier travel leaks");
    assert!(!html.contains("张*"), "the name on file leaks");
    assert!(html.contains("李*"));
    assert!(html.contains("已转所在网格核实"));
    assert!(!html.contains("id=\"check-in\""));
    let (s, e) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("identity_pending")));
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/help"),
            json!({"kind": "groceries"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        app.get("", &format!("/api/v1/status/{receipt}/help"))
            .await
            .0,
        409
    );
    // The victim's own receipt still works, and shows their own reasons.
    let own = victim["receipt"].as_str().unwrap();
    let (_, html) = page(&app, &format!("/s/{own}")).await;
    assert!(html.contains("西罗园"));
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{own}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!(s, 201);

    // The grid confirms (say the person really changed name and phone):
    // the change applies, and the receipt may now speak for the person.
    let id = task["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "identity": {
                "declaration_id": attacker["declaration_id"], "confirm": true}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (s, p) = app.get(&other, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "李四");
    assert_eq!(p["phone"], "139****2222");
    assert!(p["identity_changes"].as_array().unwrap().is_empty());
    let (_, html) = page(&app, &format!("/s/{receipt}")).await;
    assert!(!html.contains("已转所在网格核实"));
    assert!(
        !html.contains("西罗园"),
        "still no other declaration's travel"
    );
    // Answered once only.
    let (s, _) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "identity": {
                "declaration_id": attacker["declaration_id"], "confirm": false}}),
        )
        .await;
    assert_ne!(s, 200);
}

#[tokio::test]
async fn a_rejected_change_leaves_the_person_as_on_file() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (_, victim) = app.declare(declaration()).await;
    let person = victim["person_id"].as_i64().unwrap();
    let (_, attacker) = app.declare(impostor()).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let (_, list) = app.get(&worker, "/api/v1/tasks").await;
    let id = list[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "note": "本人未变更", "identity": {
                "declaration_id": attacker["declaration_id"], "confirm": false}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (_, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(
        (p["name"].as_str(), p["region"].as_str()),
        (Some("张三"), Some(GRID))
    );
    let receipt = attacker["receipt"].as_str().unwrap();
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!(s, 409, "a rejected receipt never speaks for the person");
}

/// 100 tries at once, as a burst: the statuses in order of the answers.
async fn burst(app: &TestApp, username: &str) -> Vec<u16> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let (http, url, name) = (
            app.http.clone(),
            app.url("/api/v1/session"),
            username.to_string(),
        );
        all.push(tokio::spawn(async move {
            http.post(url)
                .json(&json!({"username": name, "password": "wrong one!"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in all {
        statuses.push(h.await.unwrap());
    }
    statuses.sort_unstable();
    statuses
}

#[tokio::test]
async fn parallel_logins_cannot_outrun_the_lockout() {
    // The lockout is the subject: no try is shed for load (tests/shedding.rs).
    let app = support::spawn_with(|s| s.public_concurrency = 0).await;
    app.services
        .add_user(
            bihuan::usecases::auth::parse_new_user("wang", "town", "330784001", "a long password")
                .unwrap(),
        )
        .await
        .unwrap();
    let before = app.services.logins.password_checks();
    let known = burst(&app, "wang").await;
    let checks = app.services.logins.password_checks() - before;
    assert!(checks <= 5, "{checks} password checks for 100 tries");
    assert_eq!(known.iter().filter(|s| **s == 401).count(), 5, "{known:?}");
    assert!(known.iter().all(|s| *s == 401 || *s == 429), "{known:?}");
    // An unknown name answers exactly alike: it does not tell who exists.
    let unknown = burst(&app, "nobody").await;
    assert_eq!(known, unknown);
    // The right password is refused while locked, and works afterwards.
    let (s, _) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "wang", "password": "a long password"}),
        )
        .await;
    assert_eq!(s, 429);
    app.advance_hours(2);
    let (s, b) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "wang", "password": "a long password"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn the_session_api_is_rate_limited() {
    let app = support::spawn_with(|s| s.public_rate_limit = 3).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let (s, _) = app
            .post(
                "",
                "/api/v1/session",
                json!({"username": format!("n{i}"), "password": "whatever!"}),
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// A village registers a venue in 园丁社区, the town approves: its code.
async fn venue(app: &TestApp) -> String {
    let village = app.login_as("village", "330784001001").await;
    let town = app.login_as("town", "330784001").await;
    let (s, v) = app
        .post(
            &village,
            "/api/v1/venues",
            json!({"name": "园丁超市", "kind": "supermarket", "region": "330784001001", "address": "园丁路8号"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, v) = app
        .post(
            &town,
            &format!("/api/v1/venues/{}/approve", v["id"]),
            json!({}),
        )
        .await;
    v["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn proxy_scans_need_the_full_name_on_file_and_are_limited() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let code = venue(&app).await;
    // 张三 is under control (risk_street: yellow or red at a venue).
    let (_, victim) = app.declare(declaration()).await;
    let person = victim["person_id"].as_i64().unwrap();
    let visits = format!("/api/v1/venue-codes/{code}/visits");
    let (s, me) = app
        .post(
            "",
            &visits,
            json!({"id_number": support::resident_id(7), "name": "王五", "phone": "13900000007"}),
        )
        .await;
    assert_eq!(s, 201, "{me}");
    let device = me["device"].as_str().unwrap().to_string();
    let stays = || count(&app, "SELECT COUNT(*) FROM checkins");
    let before = stays().await;
    let proxy = |id: String, name: &str| json!({"device": device, "for_other": {"id_type": "resident", "id_number": id, "name": name}});
    // A wrong name and a person nobody has answer the same, show nothing
    // and store nothing.
    let (s1, wrong) = app
        .post("", &visits, proxy("11010519491231002X".into(), "李四"))
        .await;
    let (s2, nobody) = app
        .post("", &visits, proxy(support::resident_id(99), "李四"))
        .await;
    assert_eq!((s1, s2), (409, 409), "{wrong} {nobody}");
    assert_eq!(wrong, nobody);
    assert!(wrong.get("colour").is_none() && wrong.get("person_name").is_none());
    assert_eq!(stays().await, before);
    // The full name on file: the colour, and a stay marked as 代扫.
    let (s, ok) = app
        .post("", &visits, proxy("11010519491231002X".into(), "张三"))
        .await;
    assert_eq!(s, 201, "{ok}");
    assert_eq!(ok["for_other"], true);
    assert_ne!(ok["colour"], "green");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM checkins WHERE person_id = {person} AND helper_id IS NOT NULL"
            )
        )
        .await,
        1
    );
    // Per visitor (device), at most 10 tries an hour, refused ones counted.
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(
            app.post("", &visits, proxy(support::resident_id(99), "李四"))
                .await
                .0,
        );
    }
    assert_eq!(&statuses[..7], [409; 7]);
    assert_eq!(&statuses[7..], [429, 429]);
    app.advance_hours(1);
    let (s, _) = app
        .post("", &visits, proxy("11010519491231002X".into(), "张三"))
        .await;
    assert_eq!(s, 201, "a new hour");
}

#[tokio::test]
async fn every_row_of_a_scanner_batch_has_its_signature_checked() {
    let app = spawn().await;
    let code = venue(&app).await;
    let token = app
        .services
        .add_api_token("闸机", "checkins")
        .await
        .unwrap();
    let (id, _) = code.split_once('-').unwrap();
    let forged = format!("{id}-{}", "0".repeat(16));
    let (s, e) = app
        .post(
            &token,
            "/api/v1/checkins",
            json!([
                {"venue": code, "id_number": support::resident_id(20), "name": "赵六", "at": "2022-01-28T08:00:00+08:00"},
                {"venue": forged, "id_number": support::resident_id(21), "name": "钱七", "at": "2022-01-28T08:00:00+08:00"}
            ]),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("[1].venue")),
        "{e}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM checkins").await, 0);
}

#[tokio::test]
async fn tubes_stay_inside_the_samplers_region() {
    let app = spawn().await;
    // 张三 lives in 园丁社区; the other town's sampler has a tube of its own.
    let (_, d) = app.declare(declaration()).await;
    let person = d["person_id"].as_i64().unwrap();
    let here = app.login_as("grid_worker", GRID).await;
    let there = app.login_as("grid_worker", OTHER_GRID).await;
    for (token, barcode) in [(&here, "YK3000001"), (&there, "YK3000002")] {
        let (s, t) = app
            .post(
                token,
                "/api/v1/tubes",
                json!({"barcode": barcode, "pool_size": 10, "category": "mandatory", "site": "采样点"}),
            )
            .await;
        assert_eq!(s, 201, "{t}");
    }
    // By internal id: a person outside the sampler's region is not found,
    // exactly like an id nobody has.
    let (s, _) = app
        .post(
            &there,
            "/api/v1/tubes/YK3000002/members",
            json!({"person_id": person}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &there,
            "/api/v1/tubes/YK3000002/members",
            json!({"person_id": 999_999}),
        )
        .await;
    assert_eq!(s, 404);
    // Another region's tube: not seen, not filled, not sealed.
    assert_eq!(app.get(&there, "/api/v1/tubes/YK3000001").await.0, 404);
    let (s, _) = app
        .post(
            &there,
            "/api/v1/tubes/YK3000001/members",
            json!({"id_number": support::resident_id(5)}),
        )
        .await;
    assert_eq!(s, 422, "like a barcode nobody has");
    let (s, _) = app
        .post(
            &here,
            "/api/v1/tubes/YK3000001/members",
            json!({"person_id": person}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        app.post(&there, "/api/v1/tubes/YK3000001/seal", json!({}))
            .await
            .0,
        404
    );
    let (_, t) = app.get(&here, "/api/v1/tubes/YK3000001").await;
    assert_eq!(
        (t["members"].as_i64(), t["sealed"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM tube_members").await,
        1,
        "nothing added across the line"
    );
    // At a sampling site people from elsewhere are scanned by their own
    // receipt or document.
    let (s, r) = app
        .post(
            &there,
            "/api/v1/tubes/YK3000002/members",
            json!({"receipt": d["receipt"]}),
        )
        .await;
    assert_eq!((s, r["person_id"].as_i64()), (201, Some(person)), "{r}");
}

/// A valid 2017 foreign permanent resident ID: 9, 33 (Zhejiang), 07, 840,
/// born 1985-06-15, sequence 1, and the GB 11643 check character.
fn foreign_permanent_id() -> String {
    let body = "93307840198506151";
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

#[tokio::test]
async fn full_width_numbers_and_foreign_permanent_ids_declare() {
    let app = spawn().await;
    let (s, first) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{first}");
    // The same number typed by a Chinese input method is the same person.
    let mut wide = declaration();
    wide["id_number"] = json!("１１０１０５１９４９１２３１００２ｘ");
    wide["phone"] = json!("１３８００１３８０００");
    let (s, again) = app.declare(wide).await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["person_id"], first["person_id"]);
    assert_eq!(again["identity_pending"], false);

    let mut foreign = declaration();
    foreign["name"] = json!("John Smith");
    foreign["id_type"] = json!("foreign_permanent");
    foreign["id_number"] = json!(foreign_permanent_id());
    foreign["phone"] = json!("13900000123");
    let (s, d) = app.declare(foreign).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.login_as("grid_worker", GRID).await;
    let (_, p) = app
        .get(&worker, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(p["id_type"], "foreign_permanent");
    let id = foreign_permanent_id();
    assert_eq!(p["id_number"], format!("93307840********{}", &id[16..]));
    // Offered on the form, in both languages.
    let (_, zh) = page(&app, "/declare").await;
    assert!(zh.contains("value=\"foreign_permanent\"") && zh.contains("外国人永久居留身份证"));
    let (_, en) = page(&app, "/declare?lang=en").await;
    assert!(en.contains("Foreign permanent resident ID card"));
}

async fn sign_in(app: &TestApp, name: &str, password: &str) -> (u16, String) {
    let (s, b) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": name, "password": password}),
        )
        .await;
    (s, b["token"].as_str().unwrap_or_default().to_string())
}

/// Runs `bihuan ARGS` against the test's database, `stdin` piped in.
fn cli(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(support::unique("bihuan-cli-"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bihuan"));
    for (key, _) in std::env::vars() {
        if key.starts_with("BIHUAN_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .args(["--database-url", &app.settings.database_url])
        .args(args)
        .current_dir(&dir)
        .env("BIHUAN_SECRET_KEY", "11".repeat(32))
        .env("BIHUAN_KEY_FILE", dir.join("key"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bihuan runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn accounts_can_be_disabled_and_passwords_changed_ending_sessions() {
    let app = spawn().await;
    app.services
        .add_user(
            bihuan::usecases::auth::parse_new_user("li", "town", "330784001", "first password")
                .unwrap(),
        )
        .await
        .unwrap();
    let (s, token) = sign_in(&app, "li", "first password").await;
    assert_eq!(s, 200);
    assert_eq!(app.get(&token, "/api/v1/tasks").await.0, 200);

    // Self-service: the old password is required; success ends every session.
    let (s, e) = app
        .post(
            &token,
            "/api/v1/session/password",
            json!({"old_password": "not it at all", "new_password": "second password"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("old_password"))
    );
    let (s, e) = app
        .post(
            &token,
            "/api/v1/session/password",
            json!({"old_password": "first password", "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("new_password"))
    );
    let (s, _) = app
        .post(
            &token,
            "/api/v1/session/password",
            json!({"old_password": "first password", "new_password": "second password"}),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get(&token, "/api/v1/tasks").await.0, 401);
    assert_eq!(sign_in(&app, "li", "first password").await.0, 401);
    let (s, token) = sign_in(&app, "li", "second password").await;
    assert_eq!(s, 200);

    // The CLI sets a forgotten password: sessions end.
    let (ok, out) = cli(
        &app,
        &["user", "password", "li", "--password-stdin"],
        "third password\n",
    );
    assert!(ok, "{out}");
    assert_eq!(app.get(&token, "/api/v1/tasks").await.0, 401);
    let (s, token) = sign_in(&app, "li", "third password").await;
    assert_eq!(s, 200);

    // Disabled: the session ends, and the right password answers like a
    // wrong one; enabled again, it works.
    let (ok, out) = cli(&app, &["user", "disable", "li"], "");
    assert!(ok, "{out}");
    assert_eq!(app.get(&token, "/api/v1/tasks").await.0, 401);
    assert_eq!(sign_in(&app, "li", "third password").await.0, 401);
    let (ok, out) = cli(&app, &["user", "disable", "nobody"], "");
    assert!(!ok, "{out}");
    let (ok, out) = cli(&app, &["user", "enable", "li"], "");
    assert!(ok, "{out}");
    assert_eq!(sign_in(&app, "li", "third password").await.0, 200);
}

#[tokio::test]
async fn api_tokens_expire_and_can_be_revoked() {
    let app = spawn().await;
    // The server's clock is the test's (2022); the CLI's is the real one,
    // so the short-lived token is made through the same use case directly.
    let short = app
        .services
        .add_api_token_for("健康码", "health_codes", 1)
        .await
        .unwrap();
    let (ok, out) = cli(
        &app,
        &[
            "token",
            "add",
            "健康码2",
            "--scope",
            "health_codes",
            "--expires-days",
            "3650",
        ],
        "",
    );
    assert!(ok, "{out}");
    let long = out.lines().last().unwrap().trim().to_string();
    let (ok, out) = cli(
        &app,
        &["token", "add", "健康码", "--scope", "health_codes"],
        "",
    );
    assert!(!ok, "a name is used once: {out}");
    assert_eq!(app.get(&short, "/api/v1/health-codes").await.0, 200);
    assert_eq!(app.get(&long, "/api/v1/health-codes").await.0, 200);
    app.advance_hours(25);
    assert_eq!(
        app.get(&short, "/api/v1/health-codes").await.0,
        401,
        "expired"
    );
    assert_eq!(
        app.get(&long, "/api/v1/health-codes").await.0,
        200,
        "still valid"
    );
    let (ok, out) = cli(&app, &["token", "revoke", "健康码2"], "");
    assert!(ok, "{out}");
    assert_eq!(
        app.get(&long, "/api/v1/health-codes").await.0,
        401,
        "revoked"
    );
    let (ok, _) = cli(&app, &["token", "revoke", "健康码2"], "");
    assert!(!ok, "revoked once");
}

/// Signs `name` in through the login form: the `cookie` header value.
async fn page_session(app: &TestApp, name: &str, password: &str) -> String {
    let r = app
        .http
        .post(app.url("/login"))
        .form(&[
            ("username", name),
            ("password", password),
            ("next", "/tasks"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn page_with(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = app
        .http
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_grid_answers_an_identity_change_on_the_person_page() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (_, victim) = app.declare(declaration()).await;
    let person = victim["person_id"].as_i64().unwrap();
    let (_, attacker) = app.declare(impostor()).await;
    app.services
        .add_user(
            bihuan::usecases::auth::parse_new_user("wg", "grid_worker", GRID, "grid password")
                .unwrap(),
        )
        .await
        .unwrap();
    let (_, token) = sign_in(&app, "wg", "grid password").await;
    let (_, list) = app.get(&token, "/api/v1/tasks").await;
    let id = list[0]["id"].as_i64().unwrap();
    app.post(&token, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let cookie = page_session(&app, "wg", "grid password").await;
    let (s, html) = page_with(&app, &format!("/persons/{person}"), &cookie).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("信息变更待核实") && html.contains("李四"),
        "{html}"
    );
    let declaration_id = attacker["declaration_id"].to_string();
    assert!(html.contains(&format!(
        "name=\"identity_declaration\" value=\"{declaration_id}\""
    )));
    let r = app
        .http
        .post(app.url(&format!("/tasks/{id}/report")))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf_of(&html)),
            ("outcome", "verified".into()),
            ("identity_declaration", declaration_id),
            ("identity_answer", "confirm".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // Confirmed, the person moves to the declared grid.
    assert_eq!(
        app.get(&token, &format!("/api/v1/persons/{person}"))
            .await
            .0,
        404
    );
    let there = app.login_as("grid_worker", OTHER_GRID).await;
    let (_, p) = app.get(&there, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(
        (p["name"].as_str(), p["region"].as_str()),
        (Some("李四"), Some(OTHER_GRID))
    );
}

#[tokio::test]
async fn the_password_page_changes_ones_own_password() {
    let app = spawn().await;
    app.services
        .add_user(
            bihuan::usecases::auth::parse_new_user("zc", "town", "330784001", "first password")
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = page_session(&app, "zc", "first password").await;
    let (s, html) = page_with(&app, "/password", &cookie).await;
    assert_eq!(s, 200);
    let csrf = csrf_of(&html);
    let post = |old: &str, new: &str| {
        app.http
            .post(app.url("/password"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.clone()),
                ("old_password", old.to_string()),
                ("new_password", new.to_string()),
            ])
            .send()
    };
    let r = post("wrong password", "second password").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("原密码不正确"));
    let r = post("first password", "second password").await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = page(&app, &to).await;
    assert!(html.contains("密码已修改"), "{html}");
    assert_eq!(
        page_with(&app, "/password", &cookie).await.0,
        303,
        "signed out"
    );
    assert_eq!(sign_in(&app, "zc", "second password").await.0, 200);
}

/// The grid's verification task for `person`, acknowledged and answered.
async fn answer_verify(app: &TestApp, worker: &str, declaration_id: &Value, confirm: bool) {
    let (_, list) = app.get(worker, "/api/v1/tasks").await;
    let task = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "verify")
        .unwrap_or_else(|| panic!("no verify task: {list}"));
    let id = task["id"].as_i64().unwrap();
    app.post(worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, t) = app
        .post(
            worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "identity": {
                "declaration_id": declaration_id, "confirm": confirm}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
}

#[tokio::test]
async fn a_blank_phone_on_file_is_filled_in_only_by_the_grid() {
    let app = spawn().await;
    // 张三 was added to a tube by ID number: no phone on file.
    let sampler = app.login_as("grid_worker", GRID).await;
    let (s, t) = app
        .post(&sampler, "/api/v1/tubes", json!({"barcode": "YK0000042", "pool_size": 10, "category": "mandatory", "site": "园丁社区采样点"}))
        .await;
    assert_eq!(s, 201, "{t}");
    let (s, m) = app
        .post(
            &sampler,
            "/api/v1/tubes/YK0000042/members",
            json!({"id_number": "11010519491231002X", "name": "张三"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let person = m["person_id"].as_i64().unwrap();
    // Someone who knows the number and the name declares with their phone.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["person_id"], person);
    assert_eq!(d["identity_pending"], true);
    let (_, p) = app
        .get(&sampler, &format!("/api/v1/persons/{person}"))
        .await;
    assert_ne!(p["phone"], "138****8000", "the phone on file is unchanged");
    assert_eq!(p["identity_changes"][0]["phone_masked"], "138****8000");
    let phones = count(
        &app,
        &format!("SELECT COUNT(*) FROM persons WHERE id = {person} AND phone_masked = ''"),
    )
    .await;
    assert_eq!(phones, 1);
    let receipt = d["receipt"].as_str().unwrap();
    let (s, e) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("identity_pending")));
    // The grid confirms: the phone is on file and the receipt speaks.
    answer_verify(&app, &sampler, &d["declaration_id"], true).await;
    let (_, p) = app
        .get(&sampler, &format!("/api/v1/persons/{person}"))
        .await;
    assert_eq!(p["phone"], "138****8000");
    let (s, e) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
}

#[tokio::test]
async fn a_pending_declaration_turns_nobody_red_until_the_grid_confirms() {
    let app = spawn().await;
    let token = app
        .services
        .add_api_token("zj-health-code", "health_codes")
        .await
        .unwrap();
    let (_, victim) = app.declare(declaration()).await;
    let person = victim["person_id"].as_i64().unwrap();
    let worker = app.login_as("grid_worker", GRID).await;
    let (_, before) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    let (_, feed) = app.get(&token, "/api/v1/health-codes?cursor=0").await;
    let feed_before = feed.as_array().unwrap().len();
    // A stranger with the ID number declares a red code: 集中隔离.
    let mut d = declaration();
    d["name"] = json!("李四");
    d["phone"] = json!("13911112222");
    d["health_code"] = json!("red");
    let (s, attacker) = app.declare(d).await;
    assert_eq!(s, 201, "the signal is stored and triaged: {attacker}");
    assert_eq!(attacker["identity_pending"], true);
    assert_eq!(attacker["assessment"]["category"], "red_code");
    // Nothing changes for the person: no colour, no control.
    let (_, feed) = app.get(&token, "/api/v1/health-codes?cursor=0").await;
    assert_eq!(feed.as_array().unwrap().len(), feed_before, "{feed}");
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .all(|r| r["colour"] != "red"),
        "{feed}"
    );
    let (_, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(p["control"], before["control"]);
    // The grid is tasked at once, within the category's 2 h, and told
    // what confirming will put in force.
    let (_, list) = app.get(&worker, "/api/v1/tasks").await;
    let task = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "verify")
        .unwrap();
    let reason = task["reason"].as_str().unwrap();
    assert!(
        reason.contains("信息变更待核实")
            && reason.contains("14+7")
            && reason.contains("核实确认后执行"),
        "{reason}"
    );
    let within = count(
        &app,
        &format!("SELECT MAX(due_at - created_at) FROM tasks WHERE person_id = {person} AND kind = 'verify'"),
    )
    .await;
    assert!(within <= 2 * 3600, "due in {within} s");
    // The grid confirms: the held assessment applies, red at once.
    answer_verify(&app, &worker, &attacker["declaration_id"], true).await;
    let (_, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(p["control"]["category"], "red_code", "{p}");
    let (_, feed) = app.get(&token, "/api/v1/health-codes?cursor=0").await;
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .any(|r| r["person_id"] == person && r["colour"] == "red"),
        "{feed}"
    );
}

#[tokio::test]
async fn a_self_check_in_needs_the_full_name_and_the_phone_on_file() {
    let app = spawn().await;
    let code = venue(&app).await;
    let visits = format!("/api/v1/venue-codes/{code}/visits");
    let (_, victim) = app.declare(declaration()).await;
    assert_eq!(victim["identity_pending"], false);
    // A tube member added by number: no phone on file.
    let sampler = app.login_as("grid_worker", GRID).await;
    app.post(&sampler, "/api/v1/tubes", json!({"barcode": "YK0000043", "pool_size": 10, "category": "mandatory", "site": "园丁社区采样点"}))
        .await;
    let (s, _) = app
        .post(
            &sampler,
            "/api/v1/tubes/YK0000043/members",
            json!({"id_number": support::resident_id(5), "name": "赵六"}),
        )
        .await;
    assert_eq!(s, 201);
    let stays = || count(&app, "SELECT COUNT(*) FROM checkins");
    let before = stays().await;
    let tries = [
        // The right phone, another name.
        json!({"id_number": "11010519491231002X", "name": "李四", "phone": "13800138000"}),
        // The right name, another phone.
        json!({"id_number": "11010519491231002X", "name": "张三", "phone": "13911112222"}),
        // No phone on file: the number and the name are not enough.
        json!({"id_number": support::resident_id(5), "name": "赵六", "phone": "13911112222"}),
    ];
    let mut answers = Vec::new();
    for t in tries {
        let (s, body) = app.post("", &visits, t).await;
        assert_eq!(s, 409, "{body}");
        assert!(body.get("colour").is_none() && body.get("person_name").is_none());
        answers.push(body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(stays().await, before, "nothing stored");
    // The full name and the phone on file check in.
    let (s, ok) = app
        .post(
            "",
            &visits,
            json!({"id_number": "11010519491231002X", "name": "张三", "phone": "13800138000"}),
        )
        .await;
    assert_eq!(s, 201, "{ok}");
    assert_eq!(stays().await, before + 1);
}

#[tokio::test]
async fn a_fresh_visitor_identity_does_not_get_a_fresh_proxy_budget() {
    let app = spawn().await;
    let code = venue(&app).await;
    let visits = format!("/api/v1/venue-codes/{code}/visits");
    let visitor = |n: u32| {
        json!({"id_number": support::resident_id(n), "name": format!("访客{n}"),
            "phone": format!("139{n:08}")})
    };
    // Hour windows; the per-minute limit of public visits stays out of the
    // way (a minute passes every five tries, all in one hour).
    let next_hour = || {
        let now = app.services.clock.timestamp();
        app.clock
            .advance(chrono::Duration::seconds(3600 - now % 3600 + 1));
    };
    next_hour();
    let minute = || app.clock.advance(chrono::Duration::seconds(61));
    // From one address, a fresh identity each try: the address's limit.
    let mut statuses = Vec::new();
    for n in 100..131 {
        if n % 5 == 0 {
            minute();
        }
        let mut b = visitor(n);
        b["for_other"] =
            json!({"id_type": "resident", "id_number": support::resident_id(999), "name": "无名"});
        statuses.push(app.post("", &visits, b).await.0);
    }
    assert_eq!(&statuses[..30], [409; 30], "{statuses:?}");
    assert_eq!(statuses[30], 429);
    // On one device (its cookie), a fresh identity each try: the device's.
    next_hour();
    let (s, me) = app.post("", &visits, visitor(1)).await;
    assert_eq!(s, 201, "{me}");
    let cookie = format!("bh_visitor={}", me["device"].as_str().unwrap());
    let mut statuses = Vec::new();
    for n in 2..13 {
        if n % 5 == 0 {
            minute();
        }
        let form = [
            ("id_type", "resident".to_string()),
            ("id_number", support::resident_id(n)),
            ("name", format!("访客{n}")),
            ("phone", format!("139{n:08}")),
            ("for_other_id_number", support::resident_id(999)),
            ("for_other_name", "无名".to_string()),
        ];
        let r = app
            .http
            .post(app.url(&format!("/v/{code}")))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..10], [409; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429);
}
