//! Walks every page and every error form in Chinese and in English and reads
//! what a person would read: the visible text, and the placeholders, titles
//! and labels. A Chinese page must not show English words (a field key such
//! as `village` or `due_at` leaking into an error); an English page must not
//! show Chinese, once the data (region, person and venue names the city
//! typed) is set aside. API errors are read the same way: `message` in
//! Chinese, `message_en` in English.
//!
//! The walk also reads the router: a new page that nobody added here fails
//! the walk, so it cannot go untranslated unseen.

mod support;

use base64::Engine;
use bihuan_domain::regions::{Divisions, managed_tree};
use serde_json::{Value, json};
use support::{TestApp, csrf_of, declaration, resident_id};

/// Words that are the same in both languages, or are names of things.
const LATIN_ALLOWED: &[&str] = &[
    "English",
    "Excel",
    "xlsx",
    "csv",
    "CSV",
    "QR",
    "SMS",
    "PDF",
    "JPEG",
    "PNG",
    "WHO",
    "API",
    "Bihuan",
    "GB",
    "ISO",
    "YYYY-MM-DD",
    "WPS",
    "VIP",
    "IgM",
    "IgG",
    "Ct",
    "PCR",
    "ID",
    "km",
];

/// What the walk read, and where.
struct Finding {
    path: String,
    lang: &'static str,
    text: String,
}

/// Text a person reads in an HTML page in `lang`: text nodes outside script
/// and style, the placeholder / title / aria-label / alt attributes, and the
/// value of buttons. An element marked with another `lang` (a stored Chinese
/// reason on an English page) is that language's, and one marked
/// `translate="no"` (a file's own headers) is data: neither is read.
fn readable_text(html: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    let mut text = String::new();
    // The element of another language being skipped, and its nesting depth.
    let mut foreign: Option<(String, usize)> = None;
    while let Some(lt) = rest.find('<') {
        if foreign.is_none() {
            text.push_str(&rest[..lt]);
        }
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |e| &rest[e + 3..]);
            continue;
        }
        let end = tag_end(rest);
        let tag = &rest[..end];
        rest = &rest[end..];
        let name: String = tag
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some((skip, depth)) = &mut foreign {
            if name == *skip && tag.starts_with("</") {
                *depth -= 1;
                if *depth == 0 {
                    foreign = None;
                }
            } else if name == *skip && !tag.ends_with("/>") {
                *depth += 1;
            }
            continue;
        }
        flush(&mut text, &mut out);
        if !tag.starts_with("</")
            && name != "html"
            && (attribute(tag, "lang").is_some_and(|l| !l.starts_with(lang))
                || attribute(tag, "translate").as_deref() == Some("no"))
        {
            foreign = Some((name, 1));
            continue;
        }
        // Scripts and styles are not read; <code> and <kbd> hold literal
        // input (file headers, policy codes) that is the same in any language,
        // and a textarea holds a value, as an input does.
        if !tag.starts_with("</")
            && matches!(
                name.as_str(),
                "script" | "style" | "code" | "kbd" | "textarea"
            )
        {
            let close = format!("</{name}");
            rest = rest.find(&close).map_or("", |e| &rest[e..]);
            continue;
        }
        for attr in ["placeholder", "title", "aria-label", "alt"] {
            if let Some(v) = attribute(tag, attr) {
                out.push(decode(&v));
            }
        }
        if name == "input"
            && matches!(attribute(tag, "type").as_deref(), Some("submit" | "button"))
            && let Some(v) = attribute(tag, "value")
        {
            out.push(decode(&v));
        }
    }
    if foreign.is_none() {
        text.push_str(rest);
    }
    flush(&mut text, &mut out);
    out
}

fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

fn flush(text: &mut String, out: &mut Vec<String>) {
    let t = decode(text.trim());
    if !t.trim().is_empty() {
        out.push(t.trim().to_string());
    }
    text.clear();
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let start = from + at;
        from = start + name.len();
        let before = lower[..start].chars().last();
        if !matches!(before, Some(' ' | '\n' | '\t')) {
            continue;
        }
        let after = lower[from..].trim_start();
        let Some(after) = after.strip_prefix('=') else {
            continue;
        };
        let offset = tag.len() - after.len();
        let value = tag[offset..].trim_start();
        let q = value.chars().next()?;
        if q == '"' || q == '\'' {
            let v = &value[1..];
            return Some(v[..v.find(q)?].to_string());
        }
        return Some(
            value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()?
                .to_string(),
        );
    }
    None
}

fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i < 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x9fff | 0xf900..=0xfaff | 0x20000..=0x2ffff)
}

/// English words in a Chinese text: runs of three or more Latin letters (or
/// any snake_case key) that are not on the allowed list. Runs glued to digits
/// are codes (G1234, BR0000009) and pass.
fn latin_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let spoken = text.split_whitespace().filter(|w| !w.contains("://"));
    for token in
        spoken.flat_map(|w| w.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')))
    {
        let token = token.trim_matches('-');
        if token.is_empty() || token.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let letters = token.chars().filter(|c| c.is_ascii_alphabetic()).count();
        if (letters >= 3 || token.contains('_')) && !LATIN_ALLOWED.contains(&token) {
            words.push(token.to_string());
        }
    }
    words
}

/// The data a page may show in Chinese on an English page: every division
/// and managed region name, and the names this walk typed in.
struct Data {
    names: Vec<String>,
    typed: Vec<String>,
}

impl Data {
    fn new(typed: &[String]) -> Data {
        let d = Divisions::get();
        let mut names: Vec<String> = typed.to_vec();
        // Names are shown masked: 张三 → 张*.
        names.extend(typed.iter().filter_map(|n| {
            let first = n.chars().next()?;
            (n.chars().count() <= 4 && n.chars().all(is_cjk)).then(|| format!("{first}*"))
        }));
        names.extend(managed_tree("330784").into_iter().map(|r| r.name));
        for p in d.provinces() {
            names.push(p.name.clone());
            for c in d.cities_of(&p.code) {
                names.push(c.name.clone());
                for county in d.counties_of(&c.code) {
                    names.push(county.name.clone());
                    names.extend(d.townships_of(&county.code).iter().map(|t| t.name.clone()));
                }
            }
        }
        // The language switch names the other language in itself.
        names.push("中文".into());
        names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
        names.dedup();
        Data {
            names,
            typed: typed.to_vec(),
        }
    }

    /// `text` without what the walk typed in (file names may be Latin).
    fn without_typed(&self, text: &str) -> String {
        self.typed
            .iter()
            .fold(text.to_string(), |t, n| t.replace(n.as_str(), " "))
    }

    /// `text` with every data name taken out.
    fn without(&self, text: &str) -> String {
        if !text.chars().any(is_cjk) {
            return text.to_string();
        }
        let mut t = text.to_string();
        for n in &self.names {
            if t.contains(n.as_str()) {
                t = t.replace(n.as_str(), " ");
                if !t.chars().any(is_cjk) {
                    break;
                }
            }
        }
        t
    }
}

fn check_text(data: &Data, path: &str, lang: &'static str, texts: &[String]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in texts {
        let bad = match lang {
            "zh" => !latin_words(&data.without_typed(t)).is_empty(),
            _ => data.without(t).chars().any(is_cjk),
        };
        if bad {
            let words = match lang {
                "zh" => format!("{:?} in ", latin_words(&data.without_typed(t))),
                _ => String::new(),
            };
            found.push(Finding {
                path: path.to_string(),
                lang,
                text: format!("{words}{}", t.chars().take(120).collect::<String>()),
            });
        }
    }
    found
}

fn with_lang(path: &str, lang: &str) -> String {
    match (lang, path.contains('?')) {
        ("zh", _) => path.to_string(),
        (_, true) => format!("{path}&lang=en"),
        (_, false) => format!("{path}?lang=en"),
    }
}

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    let mut req = app.http.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap_or_default())
}

async fn upload(app: &TestApp, token: &str, path: &str, body: String) -> Value {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

fn ok(s: u16, v: &Value, what: &str) {
    assert!((200..300).contains(&s), "{what}: {s} {v}");
}

/// The ids the walk needs, made the way users make them.
struct World {
    typed: Vec<String>,
    receipt: String,
    person: i64,
    task: i64,
    barcode: String,
    site: i64,
    round: i64,
    instruction: i64,
    venue: i64,
    venue_code: String,
    case: i64,
    list: i64,
    report: i64,
}

async fn make_world(app: &TestApp) -> World {
    let command = support::with_xiluoyuan(app).await;
    let town = app.login_as("town", "330784001").await;
    let mut typed: Vec<String> = vec!["张三".into(), "园丁路1号".into()];
    // What gate_world types.
    typed.extend(
        [
            "新华路8号",
            "李四",
            "王厨",
            "宾客",
            "义东高速卡口",
            "园丁路2号",
            "永康冷库",
            "城西冷库",
            "城西农贸市场",
            "冷冻带鱼",
            "印度尼西亚",
            "浙G12345",
            "人民路8号",
        ]
        .map(String::from),
    );
    let (s, d) = app.declare(declaration()).await;
    ok(s, &d, "declaration");
    let receipt = d["receipt"].as_str().unwrap().to_string();
    let person = d["person_id"].as_i64().unwrap();
    let (_, tasks) = app.get(&command, "/api/v1/tasks").await;
    let task = tasks[0]["id"].as_i64().expect("a task");

    let (s, r) = app
        .post(
            &command,
            "/api/v1/sites",
            json!({"name": "园丁社区采样点", "region": "330784001001", "address": "园丁路2号",
                   "hours": "08:00-20:00", "kind": "fixed", "serves": ["mandatory", "voluntary"]}),
        )
        .await;
    ok(s, &r, "site");
    typed.extend(["园丁社区采样点".into(), "园丁路2号".into()]);
    let site = r["id"].as_i64().unwrap();
    let barcode = "BR0000009".to_string();
    let (s, r) = app
        .post(
            &command,
            "/api/v1/tubes",
            json!({"barcode": barcode, "pool_size": 5, "category": "mandatory"}),
        )
        .await;
    ok(s, &r, "tube");

    upload(
        app,
        &command,
        "/api/v1/residents/import",
        format!(
            "网格编码,身份证号,姓名\n330784001001001,{},王五\n330784001001001,{},赵六\n",
            resident_id(1),
            resident_id(2)
        ),
    )
    .await;
    typed.extend(["王五".into(), "赵六".into()]);
    let (s, r) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "第一轮全员核酸", "regions": ["330784001"],
                   "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-29T04:00:00+08:00"}),
        )
        .await;
    ok(s, &r, "round");
    typed.push("第一轮全员核酸".into());
    let round = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            "/api/v1/zones",
            json!({"kind": "controlled", "region": "330784001002", "starts_on": "2022-01-28"}),
        )
        .await;
    ok(s, &r, "zone");

    let (s, r) = app
        .post(
            &town,
            "/api/v1/venues",
            json!({"name": "园丁超市", "kind": "supermarket", "region": "330784001001", "address": "园丁路8号"}),
        )
        .await;
    ok(s, &r, "venue");
    typed.extend(["园丁超市".into(), "园丁路8号".into()]);
    let venue = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(&town, &format!("/api/v1/venues/{venue}/approve"), json!({}))
        .await;
    ok(s, &r, "venue approved");
    let venue_code = r["code"].as_str().unwrap().to_string();
    let (s, r) = app
        .post(
            "",
            &format!("/api/v1/venue-codes/{venue_code}/visits"),
            json!({"name": "张三", "id_type": "resident", "id_number": "11010519491231002X",
                   "phone": "13800138000"}),
        )
        .await;
    ok(s, &r, "visit");

    let (s, r) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"person_id": person, "start_date": "2022-01-27", "note": "园丁社区病例"}),
        )
        .await;
    ok(s, &r, "trace case");
    typed.push("园丁社区病例".into());
    let case = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            &format!("/api/v1/trace-cases/{case}/trace"),
            json!({}),
        )
        .await;
    ok(s, &r, "traced");

    let (s, r) = app
        .post(
            &town,
            "/api/v1/assist-mappings",
            json!({"name": "简表", "columns": {"name": "姓名", "id_number": "身份证号"}}),
        )
        .await;
    ok(s, &r, "mapping");
    typed.extend(["简表".into(), "协查名单".into()]);
    let r = upload(
        app,
        &town,
        "/api/v1/assist-lists?name=%E5%8D%8F%E6%9F%A5%E5%90%8D%E5%8D%95&mapping=%E7%AE%80%E8%A1%A8&filename=a.csv",
        format!("姓名,身份证号\n王五,{}\n", resident_id(1)),
    )
    .await;
    let list = r["id"].as_i64().expect("an assist list");

    app.login_as("grid_worker", "330784001001001").await;
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 0000");
    let (s, r) = app
        .post(
            &town,
            "/api/v1/instructions",
            json!({"title": "今晚重点人员排查", "body": "请逐户排查。", "due_at": "2022-01-28T21:00:00+08:00",
                   "regions": ["330784001"], "roles": ["grid_worker"],
                   "attachments": [{"name": "通知.pdf", "content_type": "application/pdf", "data": pdf}]}),
        )
        .await;
    ok(s, &r, "instruction");
    typed.extend([
        "今晚重点人员排查".into(),
        "请逐户排查。".into(),
        "通知.pdf".into(),
    ]);
    let instruction = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            "/api/v1/duty",
            json!({"region": "330784001001", "on_date": "2022-01-28", "shift": "day",
                   "name": "王值班", "phone": "13700000001"}),
        )
        .await;
    ok(s, &r, "duty");
    typed.push("王值班".into());
    let (s, r) = app.post(&command, "/api/v1/daily-reports", json!({})).await;
    ok(s, &r, "daily report");
    let report = r["id"].as_i64().unwrap();
    World {
        typed,
        receipt,
        person,
        task,
        barcode,
        site,
        round,
        instruction,
        venue,
        venue_code,
        case,
        list,
        report,
    }
}

/// Every GET route of the page router, read from its source, that answers
/// HTML (files, static assets and downloads are not pages).
fn page_routes() -> Vec<String> {
    // pages/mod.rs and every page module that keeps its own `routes()`.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/pages");
    let mut src = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            src.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let flat: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut routes = Vec::new();
    let mut rest = flat.as_str();
    while let Some(at) = rest.find(".route(\"") {
        rest = &rest[at + 8..];
        let Some(q) = rest.find('"') else { break };
        let path = rest[..q].to_string();
        let handler = rest[q..].split(')').next().unwrap_or("");
        if handler.contains("get(")
            && !path.starts_with("/static/")
            && !path.ends_with(".xlsx")
            && !path.ends_with("/export")
            && !path.contains("/attachments/")
            && !path.contains("/photo")
        {
            routes.push(path);
        }
    }
    assert!(routes.len() > 20, "the router was read: {routes:?}");
    routes
}

fn matches_route(route: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap();
    let (r, p): (Vec<_>, Vec<_>) = (route.split('/').collect(), path.split('/').collect());
    r.len() == p.len() && r.iter().zip(&p).all(|(r, p)| r.starts_with('{') || r == p)
}

#[tokio::test]
async fn every_page_reads_in_one_language() {
    let app = support::spawn().await;
    let mut w = make_world(&app).await;
    w.typed.extend(sentinel_world(&app).await);
    let data = Data::new(&w.typed);
    let command = app.sign_in_page("command", "330784").await;
    let worker = app.sign_in_page("grid_worker", "330784001001001").await;
    let village = app.sign_in_page("village", "330784001001").await;
    // A tabletop drill: nothing injected, so no synthetic names elsewhere.
    let api = app.login_as("command", "330784").await;
    let (s, d) = app
        .post(
            &api,
            "/api/v1/drills",
            json!({"script": "name = \"桌面推演\"\nkind = \"tabletop\""}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let town = app.sign_in_page("town", "330784001").await;

    // (path, who): None is the public.
    let walk: Vec<(String, Option<&str>)> = vec![
        ("/".into(), None),
        ("/declare".into(), None),
        (format!("/s/{}", w.receipt), None),
        (format!("/s/{}?checked=1", w.receipt), None),
        (format!("/s/{}/release", w.receipt), None),
        ("/s/000000000000000000000000".into(), None),
        ("/poster".into(), None),
        ("/login".into(), None),
        (format!("/v/{}", w.venue_code), None),
        ("/password".into(), Some(&worker)),
        ("/tasks".into(), Some(&worker)),
        ("/tasks".into(), Some(&village)),
        ("/tasks?state=reported".into(), Some(&command)),
        (format!("/persons/{}", w.person), Some(&command)),
        ("/due-tests".into(), Some(&worker)),
        ("/command".into(), Some(&command)),
        ("/risk-areas".into(), Some(&command)),
        ("/sample".into(), Some(&worker)),
        (format!("/sample/tubes/{}", w.barcode), Some(&command)),
        ("/sites".into(), Some(&command)),
        (format!("/sites/{}/poster", w.site), Some(&command)),
        ("/rounds".into(), Some(&command)),
        (format!("/rounds/{}", w.round), Some(&command)),
        (
            format!("/rounds/{}/untested/330784001001001", w.round),
            Some(&command),
        ),
        ("/residents".into(), Some(&command)),
        ("/zones".into(), Some(&command)),
        ("/rolling".into(), Some(&command)),
        ("/instructions".into(), Some(&command)),
        (format!("/instructions/{}", w.instruction), Some(&command)),
        (format!("/instructions/{}", w.instruction), Some(&worker)),
        ("/duty".into(), Some(&command)),
        ("/audit".into(), Some(&command)),
        ("/drills".into(), Some(&command)),
        (format!("/drills/{}", d["id"]), Some(&command)),
        ("/venues".into(), Some(&command)),
        (format!("/venues/{}/poster", w.venue), Some(&command)),
        ("/tracing".into(), Some(&command)),
        (format!("/tracing/{}", w.case), Some(&command)),
        ("/assist".into(), Some(&command)),
        (format!("/assist/{}", w.list), Some(&command)),
        ("/dashboard".into(), Some(&command)),
        ("/dashboard/330784".into(), Some(&command)),
        ("/dashboard/330784001".into(), Some(&command)),
        ("/dashboard/330784/list/overdue".into(), Some(&command)),
        ("/reports".into(), Some(&command)),
        (format!("/reports/{}", w.report), Some(&command)),
        ("/pharmacy".into(), Some(&village)),
        ("/pharmacy?recorded=1&transfer=1".into(), Some(&command)),
        ("/fever-clinic".into(), Some(&village)),
        ("/fever-clinic?recorded=1".into(), Some(&command)),
        ("/alerts".into(), Some(&town)),
        ("/alerts?done=ack".into(), Some(&command)),
        ("/no-such-page".into(), Some(&command)),
    ];
    // The staged upload's mapping page needs an upload of its own.
    let mut walk = walk;
    // gate pages
    let (gathering_receipt, gathering) = gate_world(&app).await;
    let goods = goods_world(&app).await;
    let town2 = app.sign_in_page("town", "330784002").await;
    let checkpoint_village = app.sign_in_page("village", "330784002001").await;
    walk.extend([
        ("/report-gathering".to_string(), None),
        (format!("/g/{gathering_receipt}"), None),
        (format!("/g/{gathering_receipt}?new=1"), None),
        ("/gatherings".into(), Some(command.as_str())),
        ("/gatherings".into(), Some(village.as_str())),
        (format!("/gatherings/{gathering}"), Some(command.as_str())),
        (format!("/gatherings/{gathering}"), Some(town2.as_str())),
        ("/checkpoints".into(), Some(checkpoint_village.as_str())),
        ("/checkpoints".into(), Some(command.as_str())),
        ("/transfers".into(), Some(worker.as_str())),
        ("/goods".into(), Some(command.as_str())),
        ("/goods/jobs".into(), Some(command.as_str())),
        ("/goods/unfit".into(), Some(command.as_str())),
        ("/goods/new".into(), Some(command.as_str())),
        ("/goods/new?holder=1".into(), Some(town2.as_str())),
        (
            format!("/goods/batches/{}", goods.batch),
            Some(command.as_str()),
        ),
        (
            format!("/goods/batches/{}?done=moved", goods.fresh),
            Some(town2.as_str()),
        ),
        (
            format!("/goods/trace-backs/{}?started=1", goods.trace_back),
            Some(command.as_str()),
        ),
        ("/goods/env".into(), Some(command.as_str())),
        (
            format!("/goods/env?done=sampled&trace_back={}", goods.trace_back),
            Some(town2.as_str()),
        ),
        ("/goods/env".into(), Some(worker.as_str())),
        ("/policy-overrides".into(), Some(command.as_str())),
        ("/policy-overrides".into(), Some(town2.as_str())),
    ]);
    if let Some(upload) = stage_upload(&app, &command).await {
        walk.push((format!("/assist/uploads/{upload}"), Some(&command)));
    }

    for route in page_routes() {
        assert!(
            walk.iter().any(|(p, _)| matches_route(&route, p)),
            "the page {route} is not walked: add it to tests/i18n_walk.rs"
        );
    }

    let mut found = Vec::new();
    for (path, who) in &walk {
        for lang in ["zh", "en"] {
            let url = with_lang(path, lang);
            let (status, ct, html) = page(&app, &url, *who).await;
            assert!(status < 500, "{url}: {status}");
            if !ct.starts_with("text/html") {
                continue;
            }
            found.extend(check_text(&data, &url, lang, &readable_text(&html, lang)));
        }
    }
    found.extend(walk_error_forms(&app, &w, &data, &command, &worker).await);
    found.extend(walk_goods_forms(&app, &goods, &data, &command).await);
    found.extend(walk_api_errors(&app, &w, &data).await);
    report(found);
}

/// A gathering reported (town tier), a 转运 passage to the walk's grid and
/// a goods batch in the warehouse: (receipt, gathering id).
async fn gate_world(app: &TestApp) -> (String, i64) {
    let guest =
        |n: u32| json!({"id_number": resident_id(n), "name": "宾客", "phone": "13900000001"});
    let (s, g) = app
        .post(
            "",
            "/api/v1/gatherings",
            json!({"kind": "wedding", "date": "2022-02-09", "village": "330784002001",
                   "address": "新华路8号", "tables": 6, "headcount": 60, "out_of_town": 1,
                   "host_name": "李四", "host_phone": "13800000001", "cook_name": "王厨",
                   "cook_phone": "13800000002", "cook_health_cert": true, "health_pledge": true,
                   "guests": [guest(11)]}),
        )
        .await;
    ok(s, &g, "gathering");
    let cp = support::approved_venue(app, "checkpoint", "330784002001", "义东高速卡口").await;
    let staff = app.login_as("village", "330784002001").await;
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            json!({"passage_id": "walk-1", "checkpoint": cp, "plate": "浙G12345", "travellers": [{
                "id_number": resident_id(12), "name": "李四", "phone": "13900000012",
                "origin": {"county": "110106"}, "health_code": "green",
                "destination": {"village": "330784001001", "address": "园丁路2号"},
                "decision": "transfer"}]}),
        )
        .await;
    ok(s, &r, "passage");
    let town = app.login_as("town", "330784001").await;
    let (s, h) = app
        .post(
            &town,
            "/api/v1/goods/holders",
            json!({"name": "永康冷库", "grid": "330784001001001", "kind": "cold_store"}),
        )
        .await;
    ok(s, &h, "holder");
    let (s, b) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            json!({"trace_code": "CC2022-0002", "product": "冷冻带鱼", "origin": "印度尼西亚",
                   "holder": h["id"], "quantity": 200, "certificates": {"inspection": true}}),
        )
        .await;
    ok(s, &b, "batch");
    let town2 = app.login_as("town", "330784002").await;
    let (s, o) = app
        .post(
            &town2,
            "/api/v1/policy-overrides",
            json!({"key": "gathering.notice_working_days", "value": 7, "reason": "新华路8号"}),
        )
        .await;
    ok(s, &o, "override");
    (
        g["receipt"].as_str().unwrap().to_string(),
        g["id"].as_i64().unwrap(),
    )
}

/// What the goods recording pages are walked with.
struct GoodsWorld {
    /// A batch that tested positive after moving to a market.
    batch: i64,
    /// A batch with no result yet.
    fresh: i64,
    trace_back: i64,
    site: i64,
}

/// In the second town (whose grid nobody walks /tasks in, so its seal
/// tasks stay off the walked task lists): a cold store and a market, a
/// batch moved and tested positive, a fresh batch and a sampling site.
async fn goods_world(app: &TestApp) -> GoodsWorld {
    let town = app.login_as("town", "330784002").await;
    let mut holders = Vec::new();
    for (name, kind) in [("城西冷库", "cold_store"), ("城西农贸市场", "market")] {
        let (s, h) = app
            .post(
                &town,
                "/api/v1/goods/holders",
                json!({"name": name, "grid": "330784002001001", "kind": kind}),
            )
            .await;
        ok(s, &h, "holder");
        holders.push(h["id"].as_i64().unwrap());
    }
    let mut batches = Vec::new();
    for code in ["CC2022-0301", "CC2022-0302"] {
        let (s, b) = app
            .post(
                &town,
                "/api/v1/goods/batches",
                json!({"trace_code": code, "product": "冷冻带鱼", "origin": "印度尼西亚",
                       "holder": holders[0], "quantity": 50,
                       "certificates": {"inspection": true, "nucleic_acid": true, "disinfection": true}}),
            )
            .await;
        ok(s, &b, "batch");
        batches.push(b["id"].as_i64().unwrap());
    }
    let (s, m) = app
        .post(
            &town,
            &format!("/api/v1/goods/batches/{}/movements", batches[0]),
            json!({"from": holders[0], "to": holders[1], "quantity": 50}),
        )
        .await;
    ok(s, &m, "movement");
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/goods/batches/{}/result", batches[0]),
            json!({"result": "positive"}),
        )
        .await;
    ok(s, &r, "result");
    let (s, site) = app
        .post(
            &town,
            "/api/v1/goods/env-sites",
            json!({"holder": holders[1]}),
        )
        .await;
    ok(s, &site, "site");
    GoodsWorld {
        batch: batches[0],
        fresh: batches[1],
        trace_back: r["trace_back"].as_i64().expect("a trace-back"),
        site: site["id"].as_i64().unwrap(),
    }
}

/// The goods recording forms posted empty and with bad values.
async fn walk_goods_forms(
    app: &TestApp,
    g: &GoodsWorld,
    data: &Data,
    command: &str,
) -> Vec<Finding> {
    let (_, _, html) = page(app, "/goods/new", Some(command)).await;
    let csrf = csrf_of(&html);
    let bad = [
        ("name", ""),
        ("grid", "9"),
        ("kind", "x"),
        ("trace_code", "x"),
        ("product", ""),
        ("origin", ""),
        ("holder", "x"),
        ("quantity", "many"),
        ("from", "1"),
        ("to", "1"),
        ("at", "x"),
        ("result", "maybe"),
        ("sampled_on", "x"),
    ];
    let forms = [
        "/goods/holders".to_string(),
        "/goods/batches".into(),
        format!("/goods/batches/{}/movements", g.fresh),
        format!("/goods/batches/{}/result", g.fresh),
        "/goods/env/sites".into(),
        format!("/goods/env/sites/{}/samples", g.site),
    ];
    let mut found = Vec::new();
    for path in &forms {
        for lang in ["zh", "en"] {
            let url = with_lang(path, lang);
            for filled in [false, true] {
                let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
                if filled {
                    form.extend(bad);
                }
                let r = app
                    .http
                    .post(app.url(&url))
                    .header("cookie", command)
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                assert!(status < 500, "POST {url}: {status}");
                let html = r.text().await.unwrap_or_default();
                let at = format!("POST {url}{}", if filled { " (bad values)" } else { "" });
                found.extend(check_text(data, &at, lang, &readable_text(&html, lang)));
            }
        }
    }
    found
}

async fn stage_upload(app: &TestApp, cookie: &str) -> Option<i64> {
    let (_, _, html) = page(app, "/assist", Some(cookie)).await;
    let csrf = html.contains("name=\"csrf\"").then(|| csrf_of(&html))?;
    let b = "----walkBoundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n姓名,身份证号\r\n王五,{}\r\n\r\n--{b}--\r\n",
        resident_id(1)
    );
    let r = app
        .http
        .post(app.url("/assist"))
        .header("cookie", cookie)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let to = r.headers().get("location")?.to_str().ok()?.to_string();
    to.trim_start_matches("/assist/uploads/")
        .split(['?', '/'])
        .next()?
        .parse()
        .ok()
}

/// Posts each staff and public form empty (and with bad values) and reads
/// the page that comes back.
async fn walk_error_forms(
    app: &TestApp,
    w: &World,
    data: &Data,
    command: &str,
    worker: &str,
) -> Vec<Finding> {
    let bad = [
        ("village", "x"),
        ("address", ""),
        ("due_at", "yesterday"),
        ("name", ""),
        ("temperature", "hot"),
        ("result", ""),
        ("reason", ""),
        ("barcode", "!"),
        ("region", "99"),
        ("regions", "99"),
        ("roles", "nobody"),
        ("level", "extreme"),
        ("county", "1"),
        ("since", "2022-13-01"),
        ("kind", "x"),
        ("starts_on", "x"),
        ("on_date", "x"),
        ("phone", "1"),
        ("id_number", "1"),
        ("title", ""),
        ("body", ""),
        ("starts_at", "x"),
        ("ends_at", "x"),
        ("pool_size", "x"),
        ("category", "x"),
        ("hours", ""),
        ("person_id", "x"),
        ("start_date", "x"),
    ];
    let forms: Vec<(String, Option<&str>)> = vec![
        ("/declare".into(), None),
        ("/login".into(), None),
        (format!("/s/{}/check-in", w.receipt), None),
        (format!("/s/{}/help", w.receipt), None),
        (format!("/v/{}", w.venue_code), None),
        (format!("/tasks/{}/report", w.task), Some(worker)),
        (format!("/tasks/{}/reopen", w.task), Some(command)),
        (format!("/persons/{}/check-in", w.person), Some(command)),
        (format!("/persons/{}/tests", w.person), Some(command)),
        (format!("/persons/{}/transfer", w.person), Some(command)),
        ("/risk-areas".into(), Some(command)),
        ("/sample/tubes".into(), Some(worker)),
        (
            format!("/sample/tubes/{}/members", w.barcode),
            Some(command),
        ),
        ("/sites".into(), Some(command)),
        ("/rounds".into(), Some(command)),
        ("/zones".into(), Some(command)),
        ("/drills".into(), Some(command)),
        ("/instructions".into(), Some(command)),
        ("/duty".into(), Some(command)),
        ("/venues".into(), Some(command)),
        ("/tracing".into(), Some(command)),
        ("/password".into(), Some(worker)),
        ("/pharmacy".into(), Some(command)),
        ("/fever-clinic".into(), Some(command)),
        ("/alerts/1/judge".into(), Some(command)),
        // gate pages
        ("/report-gathering".into(), None),
        ("/checkpoints/passages".into(), Some(command)),
        ("/gatherings/pause".into(), Some(worker)),
        ("/policy-overrides".into(), Some(command)),
    ];
    let mut found = Vec::new();
    for (path, who) in &forms {
        let from = match *who {
            Some(_) => "/tasks",
            None => "/declare",
        };
        let (_, _, html) = page(app, from, *who).await;
        let csrf = if html.contains("name=\"csrf\"") {
            csrf_of(&html)
        } else {
            String::new()
        };
        for lang in ["zh", "en"] {
            let url = with_lang(path, lang);
            for filled in [false, true] {
                let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
                if filled {
                    form.extend(bad);
                }
                let mut req = app.http.post(app.url(&url)).form(&form);
                if let Some(c) = who {
                    req = req.header("cookie", *c);
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                assert!(status < 500, "POST {url}: {status}");
                let ct = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let html = r.text().await.unwrap_or_default();
                if ct.starts_with("text/html") {
                    let at = format!("POST {url}{}", if filled { " (bad values)" } else { "" });
                    found.extend(check_text(data, &at, lang, &readable_text(&html, lang)));
                }
            }
        }
    }
    found
}

/// The API's errors: `message` reads in Chinese, `message_en` in English.
async fn walk_api_errors(app: &TestApp, w: &World, data: &Data) -> Vec<Finding> {
    let command = app.login_as("command", "330784").await;
    let mut bad = declaration();
    bad["name"] = json!("");
    bad["id_number"] = json!("110105194912310021");
    bad["phone"] = json!("12");
    bad["origin"]["county"] = json!("999999");
    bad["arrival"]["date"] = json!("2022-02-30");
    bad["destination"]["village"] = json!("1");
    bad["health_code"] = json!("purple");
    bad["vaccine_doses"] = json!("many");
    let probes: Vec<(String, Value)> = vec![
        ("/api/v1/declarations".into(), bad),
        ("/api/v1/declarations".into(), json!({})),
        (
            "/api/v1/risk-areas".into(),
            json!({"county": "1", "level": "x", "since": "x"}),
        ),
        (
            "/api/v1/sites".into(),
            json!({"name": "", "region": "9", "kind": "x", "serves": ["x"]}),
        ),
        (
            "/api/v1/tubes".into(),
            json!({"barcode": "!", "pool_size": 7, "category": "x"}),
        ),
        (
            "/api/v1/rounds".into(),
            json!({"name": "", "regions": ["9"], "starts_at": "x", "ends_at": "y"}),
        ),
        (
            "/api/v1/zones".into(),
            json!({"kind": "x", "region": "9", "starts_on": "x"}),
        ),
        (
            "/api/v1/venues".into(),
            json!({"name": "", "kind": "x", "region": "9", "address": ""}),
        ),
        (
            "/api/v1/trace-cases".into(),
            json!({"person_id": "x", "start_date": "x"}),
        ),
        (
            "/api/v1/instructions".into(),
            json!({"title": "", "body": "", "due_at": "x", "regions": ["9"], "roles": ["x"]}),
        ),
        (
            "/api/v1/duty".into(),
            json!({"region": "9", "on_date": "x", "shift": "x", "name": "", "phone": "1"}),
        ),
        (
            "/api/v1/tests".into(),
            json!({"person_id": w.person, "sampled_at": "x", "result": "x"}),
        ),
        (
            format!("/api/v1/persons/{}/check-ins", w.person),
            json!({"temperature": "hot"}),
        ),
        (
            format!("/api/v1/tasks/{}/report", w.task),
            json!({"outcome": "x"}),
        ),
        (format!("/api/v1/tasks/{}/reopen", w.task), json!({})),
        (
            format!("/api/v1/status/{}/check-ins", w.receipt),
            json!({"temperature": 80}),
        ),
    ];
    let mut found = Vec::new();
    for (path, body) in probes {
        let (status, v) = app.post(&command, &path, body).await;
        assert!((400..500).contains(&status), "{path}: {status} {v}");
        for e in v["errors"].as_array().into_iter().flatten() {
            for (key, lang) in [("message", "zh"), ("message_en", "en")] {
                let text = e[key].as_str().unwrap_or_default().to_string();
                assert!(!text.is_empty(), "{path}: an error without {key}: {e}");
                found.extend(check_text(data, &format!("API {path}"), lang, &[text]));
            }
        }
    }
    found
}

fn report(found: Vec<Finding>) {
    if found.is_empty() {
        return;
    }
    let mut lines: Vec<String> = found
        .iter()
        .map(|f| format!("[{}] {}: {}", f.lang, f.path, f.text))
        .collect();
    lines.dedup();
    panic!("{} untranslated texts:\n{}", lines.len(), lines.join("\n"));
}

#[test]
fn the_reader_sees_what_a_person_sees() {
    let html = r#"<html><head><style>.a{color:red}</style><script>var x = "due_at";</script></head>
      <body><h1 title="标题">你好 &amp; world</h1><!-- village -->
      <input placeholder="请输入" name="village"><input type="submit" value="提交">
      <a href="/x" aria-label="返回">←</a><p>表头 <code>county,level</code></p>
      <p lang="en">English <b>words</b><p lang="en">nested</p> here</p></body></html>"#;
    let t = readable_text(html, "zh");
    assert_eq!(
        t,
        vec![
            "标题",
            "你好 & world",
            "请输入",
            "提交",
            "返回",
            "←",
            "表头"
        ]
    );
    assert_eq!(latin_words("请修改：village 不能为空"), vec!["village"]);
    assert_eq!(latin_words("due_at"), vec!["due_at"]);
    assert!(latin_words("车次 G1234，条码 BR0000009，Excel，37.5℃").is_empty());
    assert!(latin_words("扫码 http://127.0.0.1:8080/declare").is_empty());
    assert_eq!(
        readable_text(r#"<p>Reason: <span lang="zh-CN">密接</span>.</p>"#, "en"),
        vec!["Reason:", "."]
    );
    assert_eq!(
        readable_text(
            r#"<select><option translate="no">姓名</option></select>"#,
            "en"
        ),
        Vec::<String>::new()
    );
    let data = Data::new(&["张三".into()]);
    assert!(!data.without("Person: 张三, 永康市").chars().any(is_cjk));
    assert!(!data.without("Case 张*").chars().any(is_cjk));
    assert!(data.without("Measure: 居家健康监测").chars().any(is_cjk));
}

/// 哨点 data for the sentinel pages: a pharmacy and a clinic in 园丁社区, a
/// febrile red-code purchase (its alert, signed for) and a visit. What was
/// typed, to set aside.
async fn sentinel_world(app: &TestApp) -> Vec<String> {
    let pharmacy = support::approved_venue(app, "pharmacy", "330784001001", "康宁大药房").await;
    let clinic =
        support::approved_venue(app, "fever_clinic", "330784001001", "永康一院发热门诊").await;
    let village = app.login_as("village", "330784001001").await;
    let town = app.login_as("town", "330784001").await;
    let (s, r) = app
        .post(
            &village,
            "/api/v1/pharmacy-purchases",
            json!({"pharmacy": pharmacy, "id_number": resident_id(77), "name": "李药", "phone": "13900000077",
                   "health_code": "red", "temperature": "38.2", "symptoms": ["fever", "cough"],
                   "drugs": [{"class": "antipyretic", "name": "布洛芬", "qty": 2}], "for_someone_else": true}),
        )
        .await;
    ok(s, &r, "purchase");
    let (s, r) = app
        .post(
            &village,
            "/api/v1/fever-clinic-visits",
            json!({"visit_id": "W-1", "clinic": clinic, "id_number": resident_id(77), "name": "李药",
                   "phone": "13900000077", "temperature": "38.2", "symptoms": ["fever"],
                   "test": {"barcode": "FC0000001", "sampled_at": "2022-01-28T09:30:00+08:00", "result": "pending"}}),
        )
        .await;
    ok(s, &r, "visit");
    let (_, alerts) = app.get(&town, "/api/v1/alerts").await;
    let id = alerts[0]["id"].as_i64().expect("an alert");
    let (s, r) = app
        .post(&town, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    ok(s, &r, "ack");
    [
        "康宁大药房",
        "永康一院发热门诊",
        "李药",
        "布洛芬",
        "人民路8号",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}
