//! 指挥部: instructions to every grid worker of a town with receipts and
//! answers, escalation at the deadline to whoever is on duty, and the duty
//! roster's routing of an escalated task.

mod support;

use base64::Engine;
use serde_json::{Value, json};
use sqlx::Row;
use support::{count, declaration, spawn};

const TOWN: &str = "330784001";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn an_instruction_reaches_every_grid_worker_of_a_town_and_escalates_when_unread() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let village_lead = app.login_as("village", "330784001001").await;
    let other_town_worker = app.login_as("grid_worker", "330784002001001").await;
    let workers = [
        app.login_as("grid_worker", "330784001001001").await,
        app.login_as("grid_worker", "330784001002001").await,
        app.login_as("grid_worker", "330784001005001").await,
    ];
    // Duty for the village tonight: the escalation names them.
    let (s, d) = app
        .post(&command, "/api/v1/duty", json!({"region": "330784001001", "on_date": "2022-01-28", "shift": "day", "name": "王值班", "phone": "13700000001"}))
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["phone_masked"], "137****0001");
    assert_eq!(d["phone"], "13700000001", "staff call whoever is on duty");

    // Bad input: every field named, nothing stored.
    let (s, e) = app
        .post(&command, "/api/v1/instructions", json!({"title": "", "body": "x", "due_at": "2022-01-28T09:00:00+08:00", "regions": ["330785"], "roles": ["command"], "attachments": [{"name": "a.pdf", "content_type": "application/pdf", "data": "***"}]}))
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "title",
            "due_at",
            "regions[0]",
            "roles[0]",
            "attachments[0].data"
        ],
        "{e}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM instructions").await, 0);
    assert_eq!(
        app.post(&workers[0], "/api/v1/instructions", json!({"title": "t", "body": "b", "due_at": "2022-01-28T12:00:00+08:00", "regions": [TOWN], "roles": ["grid_worker"]})).await.0,
        403,
        "grid workers do not send instructions"
    );

    let (s, r) = app
        .post(&command, "/api/v1/instructions", json!({
            "title": "今晚21:00前完成重点人员排查",
            "body": "请各网格员对辖区内14天内来永返永人员逐户排查，21:00前反馈。",
            "due_at": "2022-01-28T11:00:00+08:00",
            "regions": [TOWN],
            "roles": ["grid_worker"],
            "attachments": [{"name": "排查表.csv", "content_type": "text/csv", "data": b64("姓名,地址\n".as_bytes())}]
        }))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        r["recipients"], 3,
        "the town's three grid workers, not the other town's"
    );
    let id = r["id"].as_i64().unwrap();
    let (_, inbox) = app.get(&other_town_worker, "/api/v1/instructions").await;
    assert_eq!(inbox["inbox"], json!([]));
    assert_eq!(
        app.get(&other_town_worker, &format!("/api/v1/instructions/{id}"))
            .await
            .0,
        404
    );

    // Worker 0 acknowledges and answers with a photo; worker 1 only acknowledges.
    let (s, v) = app
        .get(&workers[0], &format!("/api/v1/instructions/{id}"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["instruction"]["title"], "今晚21:00前完成重点人员排查");
    assert!(
        v["rates"].as_array().unwrap().is_empty(),
        "a recipient sees no one else's receipts"
    );
    let file = v["attachments"][0][0].as_i64().unwrap();
    let r = app
        .http
        .get(app.url(&format!("/api/v1/instructions/{id}/attachments/{file}")))
        .bearer_auth(&workers[1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "姓名,地址\n");
    assert_eq!(
        app.post(
            &workers[0],
            &format!("/api/v1/instructions/{id}/ack"),
            json!({})
        )
        .await
        .0,
        200
    );
    let png = [0x89u8, b'P', b'N', b'G', 13, 10, 26, 10];
    let (s, a) = app
        .post(&workers[0], &format!("/api/v1/instructions/{id}/answers"), json!({"body": "已排查12户，无异常", "photo": {"name": "现场.png", "content_type": "image/png", "data": b64(&png)}}))
        .await;
    assert_eq!(s, 201, "{a}");
    let (s, e) = app
        .post(&workers[0], &format!("/api/v1/instructions/{id}/answers"), json!({"body": "x", "photo": {"name": "a.exe", "content_type": "application/x-msdownload", "data": b64(b"MZ")}}))
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("photo.content_type"))
    );
    // A correction is a new answer; the first stays as it was.
    let (s, _) = app
        .post(
            &workers[0],
            &format!("/api/v1/instructions/{id}/answers"),
            json!({"body": "更正：已排查13户", "corrects": a["id"]}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        app.post(
            &workers[1],
            &format!("/api/v1/instructions/{id}/answers"),
            json!({"body": "冒改", "corrects": a["id"]})
        )
        .await
        .0,
        422,
        "nobody corrects someone else's answer"
    );
    assert_eq!(
        app.post(
            &workers[1],
            &format!("/api/v1/instructions/{id}/ack"),
            json!({})
        )
        .await
        .0,
        200
    );

    // The sender sees rates per village and who is missing.
    let (_, v) = app
        .get(&command, &format!("/api/v1/instructions/{id}"))
        .await;
    assert_eq!(v["total"]["recipients"], 3);
    assert_eq!(
        (
            v["total"]["acknowledged"].as_i64(),
            v["total"]["answered"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(v["total"]["ack_percent"], 66);
    let rates: Vec<(String, i64, i64)> = v["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_string(),
                r["recipients"].as_i64().unwrap(),
                r["acknowledged"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rates,
        [("330784001".to_string(), 3, 2)],
        "a city sender sees the town"
    );
    let missing: Vec<&str> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["region"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["330784001005001"]);
    let unanswered: Vec<&str> = v["unanswered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["region"].as_str().unwrap())
        .collect();
    assert_eq!(unanswered, ["330784001002001"], "acknowledged, no 反馈 yet");
    assert_eq!(v["answers"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["answers"][0]["body"], "已排查12户，无异常",
        "never edited in place"
    );
    let photo_id = v["answers"][0]["id"].as_i64().unwrap();
    let r = app
        .http
        .get(app.url(&format!(
            "/api/v1/instructions/{id}/answers/{photo_id}/photo"
        )))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec()),
        (200, png.to_vec())
    );

    // Before the deadline nothing escalates; after it, the unread one goes
    // to its village and names who is on duty there.
    app.services.run_jobs().await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM instruction_recipients WHERE escalated_at IS NOT NULL"
        )
        .await,
        0
    );
    app.advance_hours(2);
    app.services.run_jobs().await.unwrap();
    let (_, esc) = app
        .get(&village_lead, "/api/v1/instructions/escalated")
        .await;
    assert_eq!(esc, json!([]), "worker 2 is in another village");
    let town_lead = app.login_as("town", TOWN).await;
    let (_, esc) = app.get(&town_lead, "/api/v1/instructions/escalated").await;
    assert_eq!(esc.as_array().unwrap().len(), 1, "{esc}");
    assert_eq!(esc[0]["escalated_to"], "330784001005");
    assert_eq!(
        esc[0]["duty"],
        Value::Null,
        "nobody on duty in that village"
    );
    // The leader it escalated to opens it and sees their own recipient; the
    // town under the city's instruction follows its own; others see nothing.
    let village_5 = app.login_as("village", "330784001005").await;
    let (s, v) = app
        .get(&village_5, &format!("/api/v1/instructions/{id}"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"]["recipients"], 1);
    assert_eq!(v["missing"][0]["region"], "330784001005001");
    assert_eq!(
        v["answers"],
        json!([]),
        "no answers from outside the village"
    );
    let (s, v) = app
        .get(&town_lead, &format!("/api/v1/instructions/{id}"))
        .await;
    assert_eq!((s, v["total"]["recipients"].as_i64()), (200, Some(3)));
    assert_eq!(v["answers"].as_array().unwrap().len(), 2);
    let other_town = app.login_as("town", "330784002").await;
    assert_eq!(
        app.get(&other_town, &format!("/api/v1/instructions/{id}"))
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&other_town_worker, &format!("/api/v1/instructions/{id}"))
            .await
            .0,
        404
    );
    let page = app
        .http
        .get(app.url("/instructions"))
        .header("cookie", format!("bihuan_session={village_5}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"escalated\"")
            && page.contains("id=\"reaching\"")
            && page.contains(&format!("/instructions/{id}")),
        "the village finds it on its page: {page}"
    );

    // Running the job again changes nothing.
    app.advance_hours(1);
    app.services.run_jobs().await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM instruction_recipients WHERE escalated_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'instruction_escalated'"
        )
        .await,
        1
    );

    // The daily report lists who has not answered, per town, in its sheet.
    let (s, r) = app.post(&command, "/api/v1/daily-reports", json!({})).await;
    assert_eq!(s, 201, "{r}");
    let (_, report) = app
        .get(&command, &format!("/api/v1/daily-reports/{}", r["id"]))
        .await;
    let unanswered = report["body"]["unanswered_instructions"]
        .as_array()
        .or_else(|| report["unanswered_instructions"].as_array())
        .unwrap_or_else(|| panic!("{report}"))
        .clone();
    assert_eq!(
        unanswered.len(),
        2,
        "worker 1 acknowledged but never answered; worker 2 never read it"
    );
    assert!(unanswered.iter().all(|u| u["town"] == TOWN));
    let bytes = app
        .http
        .get(app.url(&format!("/api/v1/daily-reports/{}/xlsx", r["id"])))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let rows: Vec<Vec<String>> = wb
        .worksheet_range("未反馈指令")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0], ["镇街", "指令", "接收人", "截止时间"]);
    assert_eq!(rows.len(), 4, "header, two recipients, watermark: {rows:?}");
    assert_eq!(rows[1][1], "今晚21:00前完成重点人员排查");
    assert_eq!(rows[1][3], "2022-01-28 11:00");
}

#[tokio::test]
async fn an_unread_instruction_escalates_to_whoever_is_on_duty() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let worker = app.login_as("grid_worker", "330784001001001").await;
    let (s, _) = app
        .post(&command, "/api/v1/duty", json!({"region": "330784001001", "on_date": "2022-01-28", "shift": "day", "name": "王值班", "phone": "13700000001"}))
        .await;
    assert_eq!(s, 201);
    let (s, e) = app
        .post(&command, "/api/v1/duty", json!({"region": "330784001001", "on_date": "2022-01-28", "shift": "day", "name": "王值班", "phone": "13700000001"}))
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("duplicate")));
    let (s, _) = app
        .post(&command, "/api/v1/instructions", json!({"title": "核查", "body": "请核查", "due_at": "2022-01-28T10:30:00+08:00", "regions": ["330784001001"], "roles": ["grid_worker"]}))
        .await;
    assert_eq!(s, 201);
    app.advance_hours(1);
    app.services.run_jobs().await.unwrap();
    let village = app.login_as("village", "330784001001").await;
    let (_, esc) = app.get(&village, "/api/v1/instructions/escalated").await;
    assert_eq!(esc[0]["duty"], "王值班 137****0001", "{esc}");
    let _ = worker;
}

#[tokio::test]
async fn escalated_tasks_name_whoever_is_on_duty_and_uncovered_regions_are_flagged() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let (_, uncovered) = app.get(&command, "/api/v1/duty/uncovered").await;
    let codes: Vec<&str> = uncovered
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"330784") && codes.contains(&TOWN),
        "nobody on duty anywhere yet: {codes:?}"
    );
    for (region, day, shift, name) in [
        ("330784001001", "2022-01-28", "night", "夜班甲"),
        ("330784001001", "2022-01-29", "day", "次日白班"),
        (TOWN, "2022-01-28", "all", "镇值班"),
        ("330784", "2022-01-28", "all", "市值班"),
    ] {
        let (s, r) = app
            .post(&command, "/api/v1/duty", json!({"region": region, "on_date": day, "shift": shift, "name": name, "phone": "13700000002"}))
            .await;
        assert_eq!(s, 201, "{r}");
    }
    let (_, uncovered) = app.get(&command, "/api/v1/duty/uncovered").await;
    let codes: Vec<&str> = uncovered
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.contains(&"330784") && !codes.contains(&TOWN) && codes.contains(&"330784002"),
        "{codes:?}"
    );
    let (s, e) = app
        .post(&command, "/api/v1/duty", json!({"region": "330784001001", "on_date": "2022-02-30", "shift": "noon", "name": "a\"b", "phone": "123"}))
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["on_date", "shift", "name", "phone"]);

    // A 核查 task in the grid, first swept the next day at 11:00: it goes to
    // the village, where the 29th's day shift is on duty.
    assert_eq!(app.declare(declaration()).await.0, 201);
    app.advance_hours(25);
    app.services.run_jobs().await.unwrap();
    let row = sqlx::query(
        "SELECT escalated_to, escalated_duty FROM tasks WHERE escalated_to IS NOT NULL",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert!(!row.is_empty(), "the task escalated");
    let (to, duty): (String, Option<String>) = (row[0].get(0), row[0].get(1));
    assert_eq!(to, "330784001001");
    assert_eq!(duty.as_deref(), Some("次日白班 137****0002"));
    let (_, tasks) = app
        .get(
            &app.login_as("village", "330784001001").await,
            "/api/v1/tasks",
        )
        .await;
    assert!(
        tasks.to_string().contains("次日白班"),
        "the escalation shows who is on duty: {tasks}"
    );

    // Still not done, it goes on to the town, where nobody is on duty that
    // day: the village's duty officer must not stay named on it.
    let mut at = String::new();
    for _ in 0..72 {
        app.advance_hours(1);
        app.services.run_jobs().await.unwrap();
        let r = sqlx::query(
            "SELECT escalated_to, escalated_duty FROM tasks WHERE escalated_to IS NOT NULL",
        )
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
        at = r.get(0);
        if at == TOWN {
            assert_eq!(
                r.get::<Option<String>, _>(1),
                None,
                "nobody on duty at the town"
            );
            break;
        }
    }
    assert_eq!(at, TOWN, "the task went on to the town");
}

#[tokio::test]
async fn the_command_searches_the_audit_log() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let town = app.login_as("town", TOWN).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let person = d["person_id"].as_i64().unwrap();
    // An unmasked view and an export, both by the command.
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{person}?unmask=true"))
        .await;
    assert!(
        p["id_number"].as_str().is_some_and(|n| !n.contains('*')),
        "{p}"
    );
    let r = app
        .http
        .get(app.url("/api/v1/handovers.xlsx"))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    assert_eq!(
        app.get(&town, "/api/v1/audit").await.0,
        403,
        "the command only"
    );
    let (s, e) = app
        .get(
            &command,
            "/api/v1/audit?person=abc&from=2022-13-01&region=33",
        )
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["person", "region", "from"], "{e}");

    let kinds = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, by_person) = app
        .get(&command, &format!("/api/v1/audit?person={person}"))
        .await;
    let k = kinds(&by_person);
    assert!(k.contains(&"unmasked".to_string()), "{k:?}");
    assert!(
        by_person
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["person_id"] == person)
    );
    let (_, logins) = app.get(&command, "/api/v1/audit?action=login").await;
    assert_eq!(
        logins.as_array().unwrap().len(),
        2,
        "each login is in the log: {logins}"
    );
    let (_, exports) = app
        .get(&command, "/api/v1/audit?action=handovers_exported")
        .await;
    assert_eq!(exports.as_array().unwrap().len(), 1);
    let who = exports[0]["actor"].as_str().unwrap().to_string();
    let (_, mine) = app
        .get(&command, &format!("/api/v1/audit?user={who}"))
        .await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == who.as_str())
    );
    assert!(kinds(&mine).contains(&"login".to_string()));
    // The city exports the town's list: the export is filed under the town.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/dashboard/{TOWN}/lists/tasks_open/xlsx")))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, in_town) = app
        .get(&command, &format!("/api/v1/audit?region={TOWN}"))
        .await;
    assert!(
        in_town
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["region"].as_str().unwrap().starts_with(TOWN))
    );
    assert!(
        kinds(&in_town).contains(&"unmasked".to_string()),
        "the person lives in the town"
    );
    assert!(
        kinds(&in_town).contains(&"dashboard_exported".to_string()),
        "what was exported is the town's: {in_town}"
    );
    let (_, elsewhere) = app.get(&command, "/api/v1/audit?region=330784002").await;
    assert!(!kinds(&elsewhere).contains(&"unmasked".to_string()));
    let (_, today) = app
        .get(&command, "/api/v1/audit?from=2022-01-28&to=2022-01-28")
        .await;
    let (_, tomorrow) = app.get(&command, "/api/v1/audit?from=2022-01-29").await;
    assert!(!today.as_array().unwrap().is_empty());
    assert_eq!(tomorrow, json!([]));
    // The searches themselves are audited.
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'audit_searched'"
        )
        .await
            >= 7
    );
}
