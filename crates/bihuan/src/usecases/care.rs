//! The end and the edges of a control: release (解除管控), help for people at
//! home (暖心服务), transfers to another village or out of the city (协查
//! hand-over), and the health-code feed (赋码) for the provincial system.

use bihuan_domain::identity::mask_name;
use bihuan_domain::monitoring::{self, Release};
use bihuan_domain::policy::md_zh;
use bihuan_domain::regions::{Divisions, RegionCode, RegionLevel};
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::control::{self, NewTask, open_task, parse_assessment};
use super::declare::ControlView;
use super::{Actor, Services};
use crate::crypto;
use crate::error::{Error, Result};
use crate::notify;
use crate::storage::monitoring as store;
use crate::storage::repo;

pub const HELP_KINDS: [(&str, &str, &str); 4] = [
    ("groceries", "生活物资", "groceries"),
    ("medicine", "药品", "medicine"),
    ("medical", "就医", "a medical visit"),
    ("other", "其他", "other"),
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpInput {
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    pub rating: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// Inside the city: the new village.
    #[serde(default)]
    pub village: Option<String>,
    /// Out of the city: the county (and township) they go to.
    #[serde(default)]
    pub county: Option<String>,
    #[serde(default)]
    pub township: Option<String>,
    pub address: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthCodeEntry {
    pub person_id: i64,
    pub id_type: String,
    pub id_number: String,
    pub colour: String,
    pub changed_at: i64,
    /// The feed's cursor: pass the last one seen as `cursor` to get what
    /// changed after it.
    pub seq: i64,
}

/// A feed read: the rows and, for a signed-in person, who read them (their
/// files carry a watermark naming them).
#[derive(Debug, Clone)]
pub struct HealthCodeFeed {
    pub rows: Vec<HealthCodeEntry>,
    pub reader: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HelpWaiting {
    pub town: String,
    pub town_name: String,
    pub open: i64,
    pub longest_wait_minutes: i64,
}

/// Who reads the health-code feed: the command, or a machine with a token.
pub enum FeedCaller {
    User(Actor),
    Token(String),
}

/// How long an API token lives unless told otherwise.
pub const TOKEN_DAYS: i64 = 365;

impl Services {
    /// Confirms the release of a person who is due for it: the control ends,
    /// the code turns green, the person is told, and open release tasks close.
    pub async fn confirm_release(&self, actor: &Actor, person_id: i64) -> Result<ControlView> {
        if !actor.role.can_review() {
            return Err(Error::Forbidden);
        }
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let today = svc.clock.today();
                    let p = repo::person_in(c, person_id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let k = repo::control(c, person_id).await?.ok_or(Error::NotFound)?;
                    let a = parse_assessment(&k.assessment)?;
                    if !matches!(k.status.as_str(), "active" | "due_for_release") {
                        return Err(Error::Conflict(format!("control is {}", k.status)));
                    }
                    let records = store::tests_of(c, person_id).await?;
                    match monitoring::release(&a.plan, &records, today) {
                        Release::Due => {}
                        Release::NotYet => {
                            return Err(Error::Conflict("the release date has not passed".into()));
                        }
                        Release::Positive => {
                            return Err(Error::Conflict(
                                "a positive result: case management".into(),
                            ));
                        }
                        Release::Blocked { missing } => {
                            let days: Vec<String> = missing.iter().map(|d| md_zh(*d)).collect();
                            return Err(Error::field(
                                "tests",
                                "missing_tests",
                                &format!("以下检测日尚无阴性结果：{}", days.join("、")),
                                &format!(
                                    "no negative result on: {}",
                                    missing
                                        .iter()
                                        .map(|d| d.to_string())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            ));
                        }
                    }
                    // A temporary measure's end brings back the plan still
                    // in force beneath it (never silently relaxed).
                    if k.underlying.is_some() {
                        let ended = control::end_control(
                            c,
                            &svc.policy,
                            person_id,
                            &k.category,
                            json!({"release_on": a.plan.release_on}),
                            &actor.username,
                            now,
                        )
                        .await?;
                        if let control::Ended::Restored(r) = ended {
                            repo::close_open_tasks(
                                c,
                                person_id,
                                Some(TaskKind::Release.as_str()),
                                "released",
                                &actor.username,
                                now,
                            )
                            .await?;
                            return Ok(ControlView::new(&r, control::status_of(&r)));
                        }
                    } else {
                        store::set_control_status(c, person_id, "released", now).await?;
                        repo::insert_event(
                            c,
                            now,
                            &actor.username,
                            Some(person_id),
                            None,
                            "control_released",
                            &json!({"release_on": a.plan.release_on}),
                        )
                        .await?;
                    }
                    repo::close_open_tasks(
                        c,
                        person_id,
                        Some(TaskKind::Release.as_str()),
                        "released",
                        &actor.username,
                        now,
                    )
                    .await?;
                    svc.store_colour_green(c, person_id, &actor.username, now)
                        .await?;
                    let receipt = repo::latest_declaration(c, person_id)
                        .await?
                        .map(|d| d.receipt)
                        .unwrap_or_default();
                    let body = notify::render(
                        "release",
                        &[
                            ("name", &mask_name(&p.name)),
                            ("date", &md_zh(today)),
                            ("link", &format!("/s/{receipt}/release")),
                        ],
                    );
                    store::queue_notification(
                        c,
                        person_id,
                        &format!("release:{person_id}"),
                        "release",
                        &body,
                        now,
                    )
                    .await?;
                    Ok(ControlView::new(&a, "released"))
                })
            })
            .await
    }

    async fn store_colour_green(
        &self,
        c: &mut sqlx::AnyConnection,
        person_id: i64,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        if store::put_health_code(c, person_id, "green", now).await? {
            repo::insert_event(
                c,
                now,
                actor,
                Some(person_id),
                None,
                "health_code_changed",
                &json!({"colour": "green"}),
            )
            .await?;
        }
        Ok(())
    }

    /// The colours changed after `from` (a sequence cursor, or unix
    /// seconds), with full identity numbers: the health-code system needs
    /// them. Each read is audited, with its format.
    pub async fn health_code_feed(
        &self,
        caller: FeedCaller,
        from: store::FeedFrom,
        format: &str,
    ) -> Result<HealthCodeFeed> {
        let (who, reader) = match caller {
            FeedCaller::User(a) if a.role.can_manage_risk_areas() => {
                (a.username.clone(), Some(a.username))
            }
            FeedCaller::User(_) => return Err(Error::Forbidden),
            FeedCaller::Token(token) => {
                let mut c = self.db.pool().acquire().await?;
                match store::api_token(&mut c, &crypto::sha256_hex(&token), self.clock.timestamp())
                    .await?
                {
                    Some((name, scope)) if scope == "health_codes" => {
                        (format!("token:{name}"), None)
                    }
                    _ => return Err(Error::Unauthorized),
                }
            }
        };
        let rows = {
            let mut c = self.db.pool().acquire().await?;
            store::health_codes_since(&mut c, from, 10_000).await?
        };
        let now = self.clock.timestamp();
        let n = rows.len();
        let detail = match from {
            store::FeedFrom::Cursor(k) => json!({"cursor": k, "rows": n, "format": format}),
            store::FeedFrom::Since(t) => json!({"since": t, "rows": n, "format": format}),
        };
        self.db
            .write(move |c| {
                Box::pin(async move {
                    repo::insert_event(c, now, &who, None, None, "health_codes_read", &detail).await
                })
            })
            .await?;
        Ok(HealthCodeFeed {
            rows: rows
                .into_iter()
                .map(|r| HealthCodeEntry {
                    person_id: r.person_id,
                    id_type: r.doc_type,
                    id_number: self.vault.decrypt(&r.doc_enc).unwrap_or_default(),
                    colour: r.colour,
                    changed_at: r.changed_at,
                    seq: r.seq,
                })
                .collect(),
            reader,
        })
    }

    /// Makes an API token for a machine client, valid for
    /// [`TOKEN_DAYS`]; shown once.
    pub async fn add_api_token(&self, name: &str, scope: &str) -> Result<String> {
        self.add_api_token_for(name, scope, TOKEN_DAYS).await
    }

    /// Makes an API token valid for `days` (1 to 3650); shown once.
    pub async fn add_api_token_for(&self, name: &str, scope: &str, days: i64) -> Result<String> {
        if !(1..=3650).contains(&days) {
            return Err(Error::field(
                "expires_days",
                "range",
                "有效期应为1到3650天",
                "1 to 3,650 days",
            ));
        }
        let name = validation::text("name", name, 64)?;
        if ![
            "health_codes",
            "lab_results",
            "checkins",
            "pharmacy",
            "fever_clinic",
            "checkpoint",
        ]
        .contains(&scope)
        {
            return Err(Error::field(
                "scope",
                "scope",
                "权限范围应为 health_codes、lab_results、checkins、pharmacy、fever_clinic 或 checkpoint",
                "scope must be health_codes, lab_results, checkins, pharmacy, fever_clinic or checkpoint",
            ));
        }
        let token = crypto::token(32);
        let (hash, scope, now) = (
            crypto::sha256_hex(&token),
            scope.to_string(),
            self.clock.timestamp(),
        );
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if store::api_token_named(c, &name).await? {
                        return Err(Error::field(
                            "name",
                            "taken",
                            "该名称已有令牌（含已吊销的），请换一个名称",
                            "a token of that name exists (revoked ones too); choose another name",
                        ));
                    }
                    store::insert_api_token(c, &hash, &name, &scope, now, now + days * 86_400)
                        .await?;
                    repo::insert_event(
                        c,
                        now,
                        "cli",
                        None,
                        None,
                        "token_added",
                        &json!({"name": name, "scope": scope, "days": days}),
                    )
                    .await
                })
            })
            .await?;
        Ok(token)
    }

    /// Revokes the API token of that name at once.
    pub async fn revoke_api_token(&self, name: &str) -> Result<()> {
        let (name, now) = (name.to_string(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if !store::revoke_api_token(c, &name, now).await? {
                        return Err(Error::NotFound);
                    }
                    repo::insert_event(
                        c,
                        now,
                        "cli",
                        None,
                        None,
                        "token_revoked",
                        &json!({"name": name}),
                    )
                    .await
                })
            })
            .await
    }

    /// A person under a measure asks for help from their status page.
    pub async fn request_help(&self, receipt: &str, input: HelpInput) -> Result<i64> {
        let mut e = FieldErrors::default();
        if !HELP_KINDS.iter().any(|(k, _, _)| *k == input.kind) {
            e.push(FieldError::new(
                "kind",
                "kind",
                "请选择求助类型",
                "groceries, medicine, medical or other",
            ));
        }
        let note = if input.note.trim().is_empty() {
            String::new()
        } else {
            e.take(validation::text("note", &input.note, 300))
                .unwrap_or_default()
        };
        e.into_result(())?;
        let person_id = self.person_of_receipt(receipt).await?;
        let svc = self.clone();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let k = repo::control(c, person_id).await?;
                    if !k.is_some_and(|k| matches!(k.status.as_str(), "active" | "due_for_release"))
                    {
                        return Err(Error::Conflict(
                            "help requests are for people under a measure".into(),
                        ));
                    }
                    let grid = repo::person_in(c, person_id, "")
                        .await?
                        .ok_or(Error::NotFound)?
                        .region;
                    let label = HELP_KINDS
                        .iter()
                        .find(|(k, _, _)| *k == input.kind)
                        .map(|x| x.1)
                        .unwrap_or("其他");
                    let reason = if note.is_empty() {
                        format!("暖心服务：{label}")
                    } else {
                        format!("暖心服务：{label}（{note}）")
                    };
                    // Each request is its own task, so each gets its own answer.
                    let task_id = repo::insert_task(
                        c,
                        TaskKind::Help.as_str(),
                        person_id,
                        &grid,
                        now + i64::from(svc.policy.deadlines.help_hours) * 3600,
                        &reason,
                        now,
                    )
                    .await?;
                    let id =
                        store::insert_help(c, person_id, &input.kind, &note, task_id, now).await?;
                    repo::insert_event(
                        c,
                        now,
                        "public",
                        Some(person_id),
                        Some(task_id),
                        "help_requested",
                        &json!({"id": id, "kind": input.kind, "note": note}),
                    )
                    .await?;
                    Ok(id)
                })
            })
            .await
    }

    pub async fn help_requests(&self, receipt: &str) -> Result<Vec<store::HelpRow>> {
        let person_id = self.person_of_receipt(receipt).await?;
        let mut c = self.db.pool().acquire().await?;
        store::help_of(&mut c, person_id).await
    }

    /// The person rates an answered request, once, from 1 to 5.
    pub async fn rate_help(&self, receipt: &str, id: i64, input: RatingInput) -> Result<()> {
        if !(1..=5).contains(&input.rating) {
            return Err(Error::field(
                "rating",
                "range",
                "评分为1到5",
                "rating is 1 to 5",
            ));
        }
        let person_id = self.person_of_receipt(receipt).await?;
        let now = self.clock.timestamp();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if !store::rate_help(c, id, person_id, input.rating).await? {
                        return Err(Error::Conflict("not answered yet, or already rated".into()));
                    }
                    repo::insert_event(
                        c,
                        now,
                        "public",
                        Some(person_id),
                        None,
                        "help_rated",
                        &json!({"id": id, "rating": input.rating}),
                    )
                    .await
                })
            })
            .await
    }

    /// Open help requests by town, and how long the oldest has waited.
    pub async fn help_waiting(&self, actor: &Actor) -> Result<Vec<HelpWaiting>> {
        let now = self.clock.timestamp();
        let mut c = self.db.pool().acquire().await?;
        let towns = repo::regions_at_level(&mut c, RegionLevel::Town.as_str()).await?;
        Ok(store::open_help_by_town(&mut c, actor.scope())
            .await?
            .into_iter()
            .map(|(town, open, oldest)| HelpWaiting {
                town_name: towns
                    .iter()
                    .find(|t| t.code == town)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                town,
                open,
                longest_wait_minutes: (now - oldest) / 60,
            })
            .collect())
    }

    /// Moves a person with their whole plan and history: inside the city to a
    /// new village (its grid gets a task), or out of the city (a 协查 hand-over).
    pub async fn transfer(
        &self,
        actor: &Actor,
        person_id: i64,
        input: TransferInput,
    ) -> Result<serde_json::Value> {
        let mut e = FieldErrors::default();
        let address = e.take(validation::text("address", &input.address, 200));
        let reason = if input.reason.trim().is_empty() {
            String::new()
        } else {
            e.take(validation::text("reason", &input.reason, 200))
                .unwrap_or_default()
        };
        enum To {
            Village(RegionCode),
            Out(String, Option<String>),
        }
        let to = match (&input.village, &input.county) {
            (Some(v), None) => e.take(RegionCode::parse(v, "village")).and_then(|v| {
                if v.level() == RegionLevel::Village {
                    Some(To::Village(v))
                } else {
                    e.push(FieldError::new(
                        "village",
                        "village",
                        "请选择村(社区)",
                        "choose a village",
                    ));
                    None
                }
            }),
            (None, Some(county)) => {
                let d = Divisions::get();
                let township = input.township.clone().filter(|t| !t.is_empty());
                if !d.is_county(county) {
                    e.push(FieldError::new(
                        "county",
                        "county",
                        "请选择有效的县(市、区)",
                        "not a known county code",
                    ));
                    None
                } else if township
                    .as_ref()
                    .is_some_and(|t| !(d.is_township(t) && t.starts_with(county.as_str())))
                {
                    e.push(FieldError::new(
                        "township",
                        "township",
                        "乡镇(街道)不属于所选县(市、区)",
                        "not a township of the county",
                    ));
                    None
                } else {
                    Some(To::Out(county.clone(), township))
                }
            }
            _ => {
                e.push(FieldError::new(
                    "village",
                    "one_of",
                    "请填写转往的村(社区)或市外县(市、区)之一",
                    "give either a village or a county",
                ));
                None
            }
        };
        e.into_result(())?;
        let (Some(to), Some(address)) = (to, address) else {
            return Err(Error::Internal("checked".into()));
        };
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let p = repo::person_in(c, person_id, actor.scope()).await?.ok_or(Error::NotFound)?;
                    let k = repo::control(c, person_id).await?.ok_or(Error::NotFound)?;
                    match to {
                        To::Village(v) => {
                            let grid = repo::first_grid(c, v.as_str()).await?.ok_or_else(|| Error::field("village", "village", "该村(社区)不在本市管辖范围内", "not a village managed here"))?;
                            repo::set_person_region(c, person_id, &grid, now).await?;
                            repo::move_open_tasks(c, person_id, &grid, now).await?;
                            repo::insert_event(c, now, &actor.username, Some(person_id), None, "transferred", &json!({"from": p.region, "to": grid, "address": address, "reason": reason})).await?;
                            if matches!(k.status.as_str(), "active" | "due_for_release") {
                                let why = format!("管控对象转入：{address}");
                                open_task(c, &NewTask { person_id, kind: TaskKind::TransferIn, region: &grid, hours: svc.policy.deadlines.transfer_in_hours, reason: &why, actor: &actor.username, now }).await?;
                            }
                            Ok(json!({"person_id": person_id, "grid": grid}))
                        }
                        To::Out(county, township) => {
                            let place = Divisions::get().place_name(&county, township.as_deref());
                            let id = store::insert_handover(c, &store::NewHandover { person_id, to_county: &county, to_township: township.as_deref(), address: &address, reason: &reason, control: &k.assessment, actor: &actor.username }, now).await?;
                            store::set_control_status(c, person_id, "transferred_out", now).await?;
                            repo::close_open_tasks(c, person_id, None, "handed_over", &actor.username, now).await?;
                            repo::insert_event(c, now, &actor.username, Some(person_id), None, "handed_over", &json!({"handover_id": id, "to": place, "address": address, "reason": reason})).await?;
                            Ok(json!({"person_id": person_id, "handover_id": id}))
                        }
                    }
                })
            })
            .await
    }

    /// The 协查 hand-over list of the actor's region as an .xlsx file. Full
    /// identity numbers: the receiving county needs them; the export is audited.
    pub async fn handovers_xlsx(&self, actor: &Actor) -> Result<Vec<u8>> {
        if !actor.role.can_unmask() {
            return Err(Error::Forbidden);
        }
        let rows = {
            let mut c = self.db.pool().acquire().await?;
            store::handovers_in(&mut c, actor.scope()).await?
        };
        let d = Divisions::get();
        let header = [
            "编号",
            "姓名",
            "证件类型",
            "证件号码",
            "手机号码",
            "转往地区",
            "详细地址",
            "管控类别",
            "解除日期",
            "原因",
            "移交时间",
        ];
        let mut table = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        for r in &rows {
            let a = parse_assessment(&r.control)?;
            table.push(vec![
                r.id.to_string(),
                r.name.clone(),
                r.doc_type.clone(),
                self.vault.decrypt(&r.doc_enc).unwrap_or_default(),
                self.vault.decrypt(&r.phone_enc).unwrap_or_default(),
                d.place_name(&r.to_county, r.to_township.as_deref()),
                r.address.clone(),
                self.policy
                    .category(&a.category)
                    .map(|c| c.label_zh.clone())
                    .unwrap_or(a.category.clone()),
                a.plan.release_on.map(|d| d.to_string()).unwrap_or_default(),
                r.reason.clone(),
                crate::web::pages::shanghai_time(r.at),
            ]);
        }
        let at = self
            .audit_export(actor, "handovers_exported", json!({"rows": rows.len()}))
            .await?;
        let mark = crate::export::Mark::By {
            who: &actor.username,
            at,
        };
        crate::export::xlsx("协查移交", &table, mark)
    }
}
