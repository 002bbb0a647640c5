//! 卡口: a checkpoint worker records a passage; each traveller is matched to
//! their 返永通 declaration (by document, else phone, within the policy's
//! window) or declared on their behalf through the real declaration path and
//! verified at the destination grid; a 转运 is handed over to that grid with
//! a pickup deadline, carried by a pickup task that escalates when overdue.

use bihuan_domain::checkpoint::{Decision, HandoverState, Plate, transition};
use bihuan_domain::identity::mask_name;
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{NewTask, open_task, open_task_due};
use super::declare::{self, DeclarationInput, ValidDeclaration};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::{checkpoints as store, repo, testing as testing_store, venues as venue_store};

/// Why the destination grid verifies a traveller declared at a checkpoint.
pub const ON_BEHALF_REASON: &str = "卡口代申报核查";
/// Why the destination grid picks a traveller up.
pub const PICKUP_REASON: &str = "卡口转运接收";
/// At most this many travellers in one passage (a vehicle's occupants).
const MAX_TRAVELLERS: usize = 9;

/// Who records a passage: a checkpoint's system by an API token of scope
/// `checkpoint`, or staff of the checkpoint's region (as for the sentinels).
pub type PassageSource = super::pharmacy::PurchaseSource;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginInput {
    /// The county code the traveller comes from (as declarations take it).
    pub county: String,
    #[serde(default)]
    pub township: Option<String>,
    /// A country or region (ISO code or name) when arriving from abroad.
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellerInput {
    #[serde(default)]
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub origin: OriginInput,
    pub health_code: String,
    /// 行程卡带星.
    #[serde(default)]
    pub trip_star: bool,
    /// Showed a negative test from the last 48 hours.
    #[serde(default)]
    pub negative_48h: bool,
    pub destination: declare::DestinationInput,
    pub decision: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassageInput {
    /// The client's own id of the passage: a repeat answers the first.
    pub passage_id: String,
    pub checkpoint: i64,
    /// A vehicle's plate; its occupants are the travellers.
    #[serde(default)]
    pub plate: Option<String>,
    pub travellers: Vec<TravellerInput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TravellerOutcome {
    pub person_id: i64,
    pub decision: String,
    /// The declaration matched, or made on the traveller's behalf.
    pub declaration_id: Option<i64>,
    pub on_behalf: bool,
    pub transfer_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassageRecorded {
    pub id: i64,
    pub repeated: bool,
    pub travellers: Vec<TravellerOutcome>,
}

struct ValidTraveller {
    declaration: DeclarationInput,
    valid: ValidDeclaration,
    decision: Decision,
    origin: String,
    trip_star: bool,
}

struct ValidPassage {
    client_id: String,
    plate: Option<Plate>,
    travellers: Vec<ValidTraveller>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransferView {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub phone: String,
    pub grid: String,
    pub state: String,
    pub state_zh: &'static str,
    pub state_en: &'static str,
    pub next: Option<String>,
    pub due_at: i64,
    pub overdue: bool,
    pub task_id: i64,
    pub checkpoint: String,
    pub plate: Option<String>,
    pub address: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceInput {
    /// The next state: dispatched, picked_up or handed_over.
    pub to: String,
}

/// A civil day in Asia/Shanghai as unix seconds `[from, to)`.
fn day_span(day: bihuan_domain::Date) -> (i64, i64) {
    let from = day
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
        - 8 * 3600;
    (from, from + 86_400)
}

impl Services {
    /// Who `token` is for recording passages, checked before the body is
    /// read: a token of another scope is Forbidden, an unknown one must be a
    /// live staff session.
    pub async fn passage_source(&self, token: &str) -> Result<PassageSource> {
        self.sentinel_source(token, "checkpoint").await
    }

    fn valid_passage(
        &self,
        input: &PassageInput,
    ) -> std::result::Result<ValidPassage, FieldErrors> {
        let mut e = FieldErrors::default();
        let client_id = input.passage_id.trim();
        if client_id.is_empty() || client_id.chars().count() > 64 {
            e.push(FieldError::new(
                "passage_id",
                "length",
                "请填写通行记录编号（最长64个字符）",
                "a passage id of at most 64 characters",
            ));
        }
        let plate = match input.plate.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => {
                let plate = Plate::parse(p);
                if plate.is_none() {
                    e.push(FieldError::new(
                        "plate",
                        "plate",
                        "车牌号格式不正确（如 浙G12345）",
                        "not a vehicle plate (such as 浙G12345)",
                    ));
                }
                plate
            }
            _ => None,
        };
        if input.travellers.is_empty() || input.travellers.len() > MAX_TRAVELLERS {
            e.push(FieldError::new(
                "travellers",
                "count",
                "请填写1至9名通行人员",
                "1 to 9 travellers",
            ));
        }
        let today = self.clock.today();
        let mut travellers = Vec::new();
        for (i, t) in input.travellers.iter().take(MAX_TRAVELLERS).enumerate() {
            let prefix = format!("travellers.{i}");
            let declaration = DeclarationInput {
                name: t.name.clone(),
                id_type: if t.id_type.trim().is_empty() {
                    "resident".into()
                } else {
                    t.id_type.trim().to_string()
                },
                id_number: t.id_number.clone(),
                phone: t.phone.clone(),
                origin: declare::OriginInput {
                    county: t.origin.county.trim().to_string(),
                    township: t.origin.township.clone(),
                    departed_on: today.to_string(),
                },
                itinerary: Vec::new(),
                abroad: t
                    .origin
                    .country
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| declare::AbroadInput {
                        country: c.to_string(),
                        entered_china_on: today.to_string(),
                    }),
                arrival: declare::ArrivalInput {
                    date: today.to_string(),
                    mode: if input.plate.is_some() {
                        "car"
                    } else {
                        "other"
                    }
                    .into(),
                    number: None,
                },
                destination: t.destination.clone(),
                health_code: t.health_code.trim().to_string(),
                vaccine_doses: 0,
                negative_test_48h: t.negative_48h.then(|| today.to_string()),
                symptoms: Vec::new(),
            };
            let valid = match declare::parse(&declaration, today) {
                Ok(v) => Some(v),
                Err(errors) => {
                    for mut err in errors.0 {
                        if let Some(rest) = err.field.strip_prefix("abroad.") {
                            err.field = format!("origin.{rest}");
                        }
                        e.push(err.under(&prefix));
                    }
                    None
                }
            };
            let decision = Decision::parse(t.decision.trim());
            if decision.is_none() {
                e.push(FieldError::new(
                    format!("{prefix}.decision"),
                    "decision",
                    "处置结果应为通行、采样后通行、采样留观、劝返或转运",
                    "pass, sample_then_pass, sample_and_observe, turned_back or transfer",
                ));
            }
            if let (Some(valid), Some(decision)) = (valid, decision) {
                let origin = match &valid.facts.abroad {
                    Some(a) => format!("{}/{}", a.country, valid.facts.origin.county),
                    None => valid
                        .facts
                        .origin
                        .township
                        .clone()
                        .unwrap_or(valid.facts.origin.county.clone()),
                };
                travellers.push(ValidTraveller {
                    declaration,
                    valid,
                    decision,
                    origin,
                    trip_star: t.trip_star,
                });
            }
        }
        if e.is_empty() {
            Ok(ValidPassage {
                client_id: client_id.to_string(),
                plate,
                travellers,
            })
        } else {
            Err(e)
        }
    }

    /// Records a passage in one transaction: each traveller matched or
    /// declared on behalf (and verified), a 转运 handed over with its pickup
    /// task. A repeated passage id answers what the first stored.
    pub async fn record_passage(
        &self,
        by: &PassageSource,
        input: PassageInput,
    ) -> Result<PassageRecorded> {
        let v = self.valid_passage(&input)?;
        let (svc, by) = (self.clone(), by.clone());
        let checkpoint = input.checkpoint;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let actor = by.name();
                    let venue = venue_store::venue_in(c, checkpoint, by.scope())
                        .await?
                        .filter(|v| v.state == "approved")
                        .ok_or(Error::NotFound)?;
                    if venue.kind != "checkpoint" {
                        return Err(Error::field(
                            "checkpoint",
                            "kind",
                            "该场所不是卡口",
                            "this venue is not a checkpoint",
                        ));
                    }
                    // The same passage sent twice at once: one after the other.
                    crate::storage::serialise_on(
                        c,
                        svc.db.backend(),
                        &format!("passage:{}", v.client_id),
                    )
                    .await?;
                    if let Some(id) = store::passage_by_client_id(c, venue.id, &v.client_id).await? {
                        let travellers = store::travellers_of(c, id)
                            .await?
                            .into_iter()
                            .map(|t| TravellerOutcome {
                                person_id: t.person_id,
                                decision: t.decision,
                                declaration_id: t.declaration_id,
                                on_behalf: t.on_behalf,
                                transfer_id: t.transfer_id,
                            })
                            .collect();
                        return Ok(PassageRecorded { id, repeated: true, travellers });
                    }
                    let passage_id = store::insert_passage(
                        c,
                        &v.client_id,
                        venue.id,
                        &venue.region,
                        v.plate.as_ref().map(Plate::as_str),
                        &actor,
                        now,
                    )
                    .await?;
                    let by_checkpoint = format!("checkpoint:{}:{actor}", venue.id);
                    let mut travellers = Vec::new();
                    for t in &v.travellers {
                        travellers.push(
                            svc.record_traveller(c, passage_id, &venue.name, t, &actor, &by_checkpoint, now)
                                .await?,
                        );
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor,
                        None,
                        None,
                        "checkpoint_passage",
                        &json!({"passage": passage_id, "checkpoint": venue.id, "travellers": travellers.len()}),
                    )
                    .await?;
                    Ok(PassageRecorded { id: passage_id, repeated: false, travellers })
                })
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_traveller(
        &self,
        c: &mut AnyConnection,
        passage_id: i64,
        checkpoint: &str,
        t: &ValidTraveller,
        actor: &str,
        by_checkpoint: &str,
        now: i64,
    ) -> Result<TravellerOutcome> {
        let v = &t.valid;
        let grid_of_destination =
            repo::first_grid(c, v.village.as_str())
                .await?
                .ok_or_else(|| {
                    Error::field(
                        "destination.village",
                        "village",
                        "该村(社区)不在本市管辖范围内",
                        "not a village managed here",
                    )
                })?;
        let matched = self.matching_declaration(c, v, now).await?;
        let (person_id, declaration_id, on_behalf) = match matched {
            Some((person, declaration)) => (person, Some(declaration), false),
            None if t.decision.enters() => {
                // The real declaration path, marked as made by the checkpoint.
                let d = self
                    .declare_in(c, &t.declaration, v.clone(), by_checkpoint)
                    .await?;
                let region = repo::person_in(c, d.person_id, "")
                    .await?
                    .ok_or(Error::NotFound)?
                    .region;
                let reason = format!("{ON_BEHALF_REASON}（{checkpoint}）");
                open_task(
                    c,
                    &NewTask {
                        person_id: d.person_id,
                        kind: TaskKind::Verify,
                        region: &region,
                        hours: d
                            .assessment
                            .verify_within_hours
                            .unwrap_or(declare::IDENTITY_VERIFY_HOURS),
                        reason: &reason,
                        actor,
                        now,
                    },
                )
                .await?;
                (d.person_id, Some(d.declaration_id), true)
            }
            // Turned back and never declared: kept on file, nothing to verify.
            None => (
                self.traveller_on_file(c, v, &grid_of_destination, actor, now)
                    .await?,
                None,
                false,
            ),
        };
        let traveller_id = store::insert_traveller(
            c,
            &store::NewTraveller {
                passage_id,
                person_id,
                doc_enc: &self.vault.encrypt(v.document.number()),
                phone_enc: &self.vault.encrypt(v.phone.as_str()),
                origin: &t.origin,
                health_code: v.facts.health_code.as_str(),
                trip_star: t.trip_star,
                negative_48h: v.facts.negative_test_48h.is_some(),
                village: v.village.as_str(),
                address: &v.address,
                decision: t.decision.as_str(),
                declaration_id,
                on_behalf,
            },
        )
        .await?;
        let transfer_id = if t.decision == Decision::Transfer {
            let due_at = self.policy.checkpoint.pickup_due(now);
            let reason = format!("{PICKUP_REASON}（{checkpoint}）");
            let task_id = open_task_due(
                c,
                &NewTask {
                    person_id,
                    kind: TaskKind::Pickup,
                    region: &grid_of_destination,
                    hours: 0,
                    reason: &reason,
                    actor,
                    now,
                },
                due_at,
            )
            .await?;
            let id = store::insert_transfer(
                c,
                &store::NewTransfer {
                    traveller_id,
                    person_id,
                    grid: &grid_of_destination,
                    due_at,
                    task_id,
                    by: actor,
                },
                now,
            )
            .await?;
            repo::insert_event(
                c,
                now,
                actor,
                Some(person_id),
                Some(task_id),
                "checkpoint_transfer",
                &json!({"transfer": id, "state": HandoverState::Pending.as_str(), "grid": grid_of_destination, "due_at": due_at}),
            )
            .await?;
            Some(id)
        } else {
            None
        };
        Ok(TravellerOutcome {
            person_id,
            decision: t.decision.as_str().to_string(),
            declaration_id,
            on_behalf,
            transfer_id,
        })
    }

    /// The traveller's declaration within the window: by document, else,
    /// for a document not on file, by phone (candidates by masked phone,
    /// compared decrypted).
    async fn matching_declaration(
        &self,
        c: &mut AnyConnection,
        v: &ValidDeclaration,
        now: i64,
    ) -> Result<Option<(i64, i64)>> {
        let since = self.policy.checkpoint.match_since(now);
        let lookup = self.vault.lookup(&v.document.lookup_key_material());
        // A document on file is that person, declared or not: a phone
        // shared with a relative never stands in for it.
        if let Some((person, _)) = testing_store::person_by_document(c, &lookup).await? {
            let declared = store::declaration_since(c, person, since).await?;
            return Ok(declared.map(|d| (person, d)));
        }
        for (person, phone_enc) in store::persons_by_masked_phone(c, &v.phone.masked()).await? {
            if self.vault.decrypt(&phone_enc).as_deref() == Some(v.phone.as_str())
                && let Some(d) = store::declaration_since(c, person, since).await?
            {
                return Ok(Some((person, d)));
            }
        }
        Ok(None)
    }

    /// A traveller who did not enter: the person on file, or one new in the
    /// grid they were heading to (identity on file is never overwritten).
    async fn traveller_on_file(
        &self,
        c: &mut AnyConnection,
        v: &ValidDeclaration,
        grid: &str,
        actor: &str,
        now: i64,
    ) -> Result<i64> {
        let lookup = self.vault.lookup(&v.document.lookup_key_material());
        if let Some((id, _)) = testing_store::person_by_document(c, &lookup).await? {
            return Ok(id);
        }
        let id = repo::upsert_person(
            c,
            &repo::NewPerson {
                doc_type: v.document.kind().as_str(),
                doc_lookup: &lookup,
                doc_enc: &self.vault.encrypt(v.document.number()),
                doc_masked: &v.document.masked(),
                name: &v.name,
                phone_enc: &self.vault.encrypt(v.phone.as_str()),
                phone_masked: &v.phone.masked(),
                region: grid,
            },
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            actor,
            Some(id),
            None,
            "person_created",
            &json!({"by": "checkpoint"}),
        )
        .await?;
        Ok(id)
    }

    fn transfer_view(&self, r: store::TransferRow, now: i64) -> TransferView {
        let state = HandoverState::parse(&r.state).unwrap_or(HandoverState::Pending);
        TransferView {
            id: r.id,
            person_id: r.person_id,
            name: mask_name(&r.name),
            phone: r.phone_masked,
            grid: r.grid,
            state: state.as_str().to_string(),
            state_zh: state.label_zh(),
            state_en: state.label_en(),
            next: state.next().map(|s| s.as_str().to_string()),
            due_at: r.due_at,
            overdue: state.awaiting_pickup() && r.due_at < now,
            task_id: r.task_id,
            checkpoint: r.checkpoint,
            plate: r.plate,
            address: r.address,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    /// The checkpoints (venues of kind `checkpoint`) in the actor's region.
    pub async fn checkpoints(&self, actor: &Actor) -> Result<Vec<venue_store::VenueRow>> {
        Ok(self
            .venues(actor)
            .await?
            .into_iter()
            .filter(|v| v.kind == "checkpoint")
            .collect())
    }

    /// The hand-overs to the grids in the actor's region.
    pub async fn transfers_out(&self, actor: &Actor) -> Result<Vec<TransferView>> {
        let mut c = self.db.pool().acquire().await?;
        let now = self.clock.timestamp();
        Ok(store::transfers_in(&mut c, actor.scope())
            .await?
            .into_iter()
            .map(|r| self.transfer_view(r, now))
            .collect())
    }

    /// One step of a hand-over by the destination grid or town: 已接到 also
    /// closes the pickup task (so it no longer escalates).
    pub async fn advance_transfer(
        &self,
        actor: &Actor,
        id: i64,
        input: AdvanceInput,
    ) -> Result<TransferView> {
        let to = HandoverState::parse(input.to.trim()).ok_or_else(|| {
            Error::field(
                "to",
                "state",
                "状态应为已派车、已接到或已交接",
                "dispatched, picked_up or handed_over",
            )
        })?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let t = store::transfer_in(c, id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let from = HandoverState::parse(&t.state).unwrap_or(HandoverState::Pending);
                    transition(from, to).map_err(|_| {
                        Error::field(
                            "to",
                            "transition",
                            "只能按 待接收→已派车→已接到→已交接 的顺序推进",
                            "only the next state: pending, dispatched, picked_up, handed_over",
                        )
                    })?;
                    if !store::set_transfer_state(
                        c,
                        id,
                        from.as_str(),
                        to.as_str(),
                        &actor.username,
                        now,
                    )
                    .await?
                    {
                        return Err(Error::Conflict("the hand-over moved meanwhile".into()));
                    }
                    if to == HandoverState::PickedUp {
                        // This hand-over's task only: another transfer of the
                        // same person is not picked up by this one.
                        repo::close_open_task(c, t.task_id, "已接到", &actor.username, now).await?;
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        Some(t.person_id),
                        Some(t.task_id),
                        "checkpoint_transfer",
                        &json!({"transfer": id, "from": from.as_str(), "state": to.as_str()}),
                    )
                    .await?;
                    let row = store::transfer_in(c, id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    Ok(svc.transfer_view(row, now))
                })
            })
            .await
    }

    /// A day's passages at checkpoints in the actor's region, one line per
    /// traveller (documents and phones masked): the checkpoint page's list.
    pub async fn passages_of_day(
        &self,
        actor: &Actor,
        day: bihuan_domain::Date,
    ) -> Result<Vec<store::PassageLine>> {
        let (from, to) = day_span(day);
        let mut c = self.db.pool().acquire().await?;
        store::passage_lines(&mut c, actor.scope(), from, to).await
    }

    /// A day's passages at checkpoints in the actor's region, one row per
    /// traveller, for the town or the city (documents and phones masked).
    pub async fn passages_xlsx(&self, actor: &Actor, day: Option<&str>) -> Result<Vec<u8>> {
        use bihuan_domain::access::Role;
        if !matches!(actor.role, Role::Town | Role::Command) {
            return Err(Error::Forbidden);
        }
        let day = match day.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => bihuan_domain::validation::date("date", d)
                .map_err(|e| Error::from(FieldErrors(vec![e])))?,
            None => self.clock.today(),
        };
        let (from, to) = day_span(day);
        let rows = {
            let mut c = self.db.pool().acquire().await?;
            store::passage_lines(&mut c, actor.scope(), from, to).await?
        };
        let header = [
            "时间",
            "卡口",
            "车牌",
            "姓名",
            "证件号码",
            "手机号码",
            "来源地",
            "健康码",
            "行程卡带星",
            "48小时核酸",
            "目的地",
            "处置",
            "申报",
        ];
        let mut table = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        let yes_no = |b: bool| if b { "是" } else { "否" }.to_string();
        for r in &rows {
            table.push(vec![
                crate::web::pages::shanghai_time(r.at),
                r.checkpoint.clone(),
                r.plate.clone().unwrap_or_default(),
                mask_name(&r.name),
                r.doc_masked.clone(),
                r.phone_masked.clone(),
                r.origin.clone(),
                match r.health_code.as_str() {
                    "green" => "绿码",
                    "yellow" => "黄码",
                    "red" => "红码",
                    other => other,
                }
                .to_string(),
                yes_no(r.trip_star),
                yes_no(r.negative_48h),
                r.village.clone(),
                Decision::parse(&r.decision)
                    .map(|d| d.label_zh().to_string())
                    .unwrap_or(r.decision.clone()),
                match (r.declaration_id, r.on_behalf) {
                    (Some(_), true) => "卡口代申报".to_string(),
                    (Some(_), false) => "已申报".to_string(),
                    (None, _) => "未申报".to_string(),
                },
            ]);
        }
        let at = self
            .audit_export(
                actor,
                "checkpoint_passages_exported",
                json!({"day": day.to_string(), "rows": rows.len()}),
            )
            .await?;
        crate::export::xlsx(
            "卡口通行",
            &table,
            crate::export::Mark::By {
                who: &actor.username,
                at,
            },
        )
    }
}
