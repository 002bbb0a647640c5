//! 应急演练: the command starts a drill from a script; its synthetic people
//! are registered flagged, then each signal goes in through the real intake
//! path (返永通, 药店哨点, 卡口) as a stranger's would. The after-action report
//! reads the people's event log; a purge removes every record the drill
//! made and keeps the report.

use bihuan_domain::access::Role;
use bihuan_domain::drill::{self as rules, AfterAction, DrillScript, SignalPath, ThreadScript};
use bihuan_domain::identity::{DocumentNumber, DocumentType, Phone};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use super::checkpoints::{OriginInput as PassageOrigin, PassageInput, TravellerInput};
use super::declare::{ArrivalInput, DeclarationInput, DestinationInput, OriginInput};
use super::goods::{BatchInput, CertificatesInput, HolderInput, MovementInput, ResultInput};
use super::pharmacy::{DrugInput, PurchaseInput, PurchaseSource};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::drill::{self as store, DrillRow, NewDrill};
use crate::storage::{repo, testing as testing_store, venues as venue_store};

/// The name every synthetic person carries: plainly a drill's.
pub const DRILL_PERSON_NAME: &str = "演练人员";
/// The largest script accepted (bytes): a city-scale run from the command
/// line (20,000 threads); the API's and pages' body limit is far lower.
pub const MAX_SCRIPT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct ThreadStarted {
    pub thread: String,
    pub person_id: i64,
    pub injected: bool,
    /// Why the intake path refused it, when it did.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrillStarted {
    pub id: i64,
    pub threads: Vec<ThreadStarted>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub drill: DrillRow,
    /// People, tasks and alerts the drill has now (0 once purged).
    pub records: [i64; 3],
    pub report: AfterAction,
}

/// A thread's synthetic person, as the intake paths will be told of them.
struct Synthetic {
    document: String,
    phone: String,
}

/// A refusal of the script, in both languages.
fn script_error(code: &'static str, zh: String, en: String) -> Error {
    Error::Invalid(vec![bihuan_domain::validation::FieldError::new(
        "script", code, zh, en,
    )])
}

impl Services {
    fn may_drill(actor: &Actor) -> Result<()> {
        // Drills are the command's (指挥部) to start, end and purge.
        if actor.role == Role::Command {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Starts a drill from `script` (TOML): registers its synthetic people,
    /// then injects each thread through its real intake path. A thread the
    /// path refuses is reported and the others go on.
    pub async fn start_drill(&self, actor: &Actor, script: &str) -> Result<DrillStarted> {
        Self::may_drill(actor)?;
        if script.len() > MAX_SCRIPT_BYTES {
            return Err(Error::field(
                "script",
                "too_long",
                "演练脚本过大",
                "the drill script is too large",
            ));
        }
        let parsed = DrillScript::parse(script)?;
        for t in &parsed.threads {
            if !t.village.starts_with(actor.scope()) {
                return Err(script_error(
                    "out_of_region",
                    format!("线索 {} 的村社区不在本辖区", t.name),
                    format!("thread {}: the village is outside your region", t.name),
                ));
            }
        }
        let (svc, by, text) = (self.clone(), actor.clone(), script.to_string());
        let plan = parsed.clone();
        let (id, people, venues) = self
            .db
            .write(move |c| Box::pin(async move { svc.register_drill(c, &by, &plan, &text).await }))
            .await?;
        let mut threads = Vec::with_capacity(parsed.threads.len());
        for ((t, (person_id, who)), venue) in parsed.threads.iter().zip(people).zip(venues) {
            let outcome = self.inject(actor, id, t, &who, person_id, venue).await;
            if outcome.is_ok() {
                let (svc, name) = (self.clone(), t.name.clone());
                self.db
                    .write(move |c| {
                        Box::pin(async move {
                            store::mark_injected(c, id, &name, svc.clock.timestamp()).await
                        })
                    })
                    .await?;
            }
            threads.push(ThreadStarted {
                thread: t.name.clone(),
                person_id,
                injected: outcome.is_ok(),
                error: outcome.err().map(|e| match e {
                    // Which field the path refused, so the script can be fixed.
                    Error::Invalid(fields) => fields
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message_en))
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                }),
            });
        }
        Ok(DrillStarted { id, threads })
    }

    /// The drill's row, its people (flagged) and the venues its signals
    /// come in at, in one transaction.
    async fn register_drill(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        script: &DrillScript,
        text: &str,
    ) -> Result<(i64, Vec<(i64, Synthetic)>, Vec<Option<i64>>)> {
        let now = self.clock.timestamp();
        let id = store::insert_drill(
            c,
            &NewDrill {
                name: &script.name,
                kind: script.kind.as_str(),
                announced: script.announced,
                region: actor.scope(),
                script: text,
                started_by: &actor.username,
            },
            now,
        )
        .await?;
        // Numbers never reused: each drill's people follow every earlier
        // drill's threads (kept after a purge).
        let first = store::thread_count(c).await?;
        let mut people = Vec::new();
        let mut venues = Vec::new();
        let threads = if script.kind.injects() {
            &script.threads[..]
        } else {
            &[]
        };
        for (i, t) in threads.iter().enumerate() {
            let n = u32::try_from(first + i as i64).unwrap_or(u32::MAX);
            let city = &actor.scope()[..actor.scope().len().min(6)];
            let document = rules::synthetic_resident_id(&format!("{city:0<6}"), n)
                .ok_or_else(|| Error::Internal("synthetic id".into()))?;
            let phone = rules::synthetic_phone(n);
            let doc = DocumentNumber::parse(
                DocumentType::Resident,
                &document,
                "id_number",
                self.clock.today(),
            )?;
            let ph = Phone::parse(&phone, "phone")?;
            let grid = testing_store::first_grid_in(c, &t.village)
                .await?
                .ok_or_else(|| {
                    script_error(
                        "village",
                        format!("线索 {} 的村社区没有网格", t.name),
                        format!("thread {}: the village has no grid", t.name),
                    )
                })?;
            let person = store::register_person(
                c,
                id,
                &repo::NewPerson {
                    doc_type: doc.kind().as_str(),
                    doc_lookup: &self.vault.lookup(&doc.lookup_key_material()),
                    doc_enc: &self.vault.encrypt(doc.number()),
                    doc_masked: &doc.masked(),
                    name: DRILL_PERSON_NAME,
                    phone_enc: &self.vault.encrypt(ph.as_str()),
                    phone_masked: &ph.masked(),
                    region: &grid,
                },
                now,
            )
            .await?;
            store::insert_thread(c, id, &t.name, person).await?;
            venues.push(self.drill_venue(c, id, actor, t, now).await?);
            people.push((person, Synthetic { document, phone }));
        }
        repo::insert_event(
            c,
            now,
            &actor.username,
            None,
            None,
            "drill_started",
            &json!({"drill": id, "threads": threads.len()}),
        )
        .await?;
        Ok((id, people, venues))
    }

    /// The approved venue a pharmacy or checkpoint thread comes in at,
    /// named as the drill's and purged with it.
    async fn drill_venue(
        &self,
        c: &mut AnyConnection,
        drill: i64,
        actor: &Actor,
        t: &ThreadScript,
        now: i64,
    ) -> Result<Option<i64>> {
        let (kind, name) = match t.signal {
            SignalPath::Declaration | SignalPath::ColdChain => return Ok(None),
            SignalPath::Pharmacy => ("pharmacy", format!("【演练{drill}】药店")),
            SignalPath::Checkpoint => ("checkpoint", format!("【演练{drill}】卡口")),
        };
        let id = venue_store::insert_venue(
            c,
            &venue_store::NewVenue {
                name: &name,
                kind,
                region: &t.village,
                address: "演练",
                created_by: &actor.username,
            },
            now,
        )
        .await?;
        let code = bihuan_domain::venue::venue_code(id, &self.venue_signature(id));
        venue_store::set_venue_code(c, id, &code).await?;
        venue_store::decide_venue(c, id, "pending", "approved", &actor.username, now).await?;
        store::add_root(c, drill, &t.name, "venues", id).await?;
        Ok(Some(id))
    }

    /// One thread's signal, through the path a real one takes.
    async fn inject(
        &self,
        actor: &Actor,
        drill: i64,
        t: &ThreadScript,
        who: &Synthetic,
        person: i64,
        venue: Option<i64>,
    ) -> Result<()> {
        let today = self.clock.today();
        let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
        match t.signal {
            SignalPath::Declaration => {
                self.declare(DeclarationInput {
                    name: DRILL_PERSON_NAME.into(),
                    id_type: "resident".into(),
                    id_number: who.document.clone(),
                    phone: who.phone.clone(),
                    origin: OriginInput {
                        county: t.origin_county.clone().unwrap_or_default(),
                        township: t.origin_township.clone(),
                        departed_on: day(-1),
                    },
                    arrival: ArrivalInput {
                        date: day(0),
                        mode: "train".into(),
                        number: None,
                    },
                    destination: DestinationInput {
                        village: t.village.clone(),
                        address: "演练地址".into(),
                    },
                    health_code: t.health_code.clone(),
                    vaccine_doses: 3,
                    symptoms: t.symptoms.clone(),
                    ..Default::default()
                })
                .await?;
            }
            SignalPath::Pharmacy => {
                let febrile = t.symptoms.iter().any(|s| s == "fever");
                self.record_purchase(
                    &PurchaseSource::Staff(actor.clone()),
                    PurchaseInput {
                        purchase_id: Some(format!("drill-{drill}-{}", t.name)),
                        pharmacy: venue.unwrap_or_default(),
                        id_type: "resident".into(),
                        id_number: who.document.clone(),
                        name: DRILL_PERSON_NAME.into(),
                        phone: who.phone.clone(),
                        health_code: t.health_code.clone(),
                        symptoms: t.symptoms.clone(),
                        temperature: febrile.then(|| "38.5".into()),
                        drugs: vec![DrugInput {
                            class: if febrile {
                                "antipyretic"
                            } else {
                                "antitussive"
                            }
                            .into(),
                            name: String::new(),
                            qty: 1,
                        }],
                        for_someone_else: false,
                    },
                )
                .await?;
            }
            SignalPath::Checkpoint => {
                let recorded = self
                    .record_passage(
                        &PurchaseSource::Staff(actor.clone()),
                        PassageInput {
                            passage_id: format!("drill-{drill}-{}", t.name),
                            checkpoint: venue.unwrap_or_default(),
                            plate: None,
                            travellers: vec![TravellerInput {
                                id_type: "resident".into(),
                                id_number: who.document.clone(),
                                name: DRILL_PERSON_NAME.into(),
                                phone: who.phone.clone(),
                                origin: PassageOrigin {
                                    county: t.origin_county.clone().unwrap_or_default(),
                                    township: t.origin_township.clone(),
                                    country: None,
                                },
                                health_code: t.health_code.clone(),
                                trip_star: false,
                                negative_48h: false,
                                destination: DestinationInput {
                                    village: t.village.clone(),
                                    address: "演练地址".into(),
                                },
                                decision: t.decision.map(|d| d.as_str()).unwrap_or("").into(),
                            }],
                        },
                    )
                    .await?;
                let (passage, thread) = (recorded.id, t.name.clone());
                self.db
                    .write(move |c| {
                        Box::pin(async move {
                            store::add_root(c, drill, &thread, "checkpoint_passages", passage).await
                        })
                    })
                    .await?;
            }
            SignalPath::ColdChain => self.inject_cold_chain(actor, drill, t, person).await?,
        }
        Ok(())
    }

    /// A positive cold-chain batch: a cold store and a market (the drill's,
    /// the thread's person a worker of the market), a batch moved from one
    /// to the other, then its positive result, through the goods use cases;
    /// the trace-back seals the market and puts the worker on a 协查 list.
    async fn inject_cold_chain(
        &self,
        actor: &Actor,
        drill: i64,
        t: &ThreadScript,
        person: i64,
    ) -> Result<()> {
        let grid = {
            let mut c = self.db.pool().acquire().await?;
            testing_store::first_grid_in(&mut c, &t.village)
                .await?
                .ok_or(Error::NotFound)?
        };
        let mut holders = Vec::new();
        for (kind, label) in [("cold_store", "冷库"), ("market", "市场")] {
            let h = self
                .create_holder(
                    actor,
                    HolderInput {
                        name: format!("【演练{drill}】{label}{}", t.name),
                        grid: grid.clone(),
                        kind: kind.into(),
                        venue: None,
                    },
                )
                .await?;
            let (name, employer, worker) = (t.name.clone(), h.employer_id, kind == "market");
            let now = self.clock.timestamp();
            let id = h.id;
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        store::add_root(c, drill, &name, "goods_holders", id).await?;
                        store::add_root(c, drill, &name, "employers", employer).await?;
                        if worker {
                            crate::storage::rolling::add_worker(c, employer, person, now).await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            holders.push(h.id);
        }
        let batch = self
            .register_batch(
                actor,
                BatchInput {
                    trace_code: format!("DRILL-{drill}-{person}"),
                    product: "演练冻品".into(),
                    origin: "演练".into(),
                    holder: holders[0],
                    quantity: 1,
                    certificates: CertificatesInput {
                        inspection: true,
                        nucleic_acid: true,
                        disinfection: true,
                    },
                },
            )
            .await?;
        self.record_movement(
            actor,
            batch.id,
            MovementInput {
                from: holders[0],
                to: holders[1],
                quantity: 1,
                at: None,
            },
        )
        .await?;
        self.record_batch_result(
            actor,
            batch.id,
            ResultInput {
                result: "positive".into(),
            },
        )
        .await?;
        Ok(())
    }

    /// The drill's tasks of one of its people in `state` (for the scripted
    /// front line of `bihuan drill run`).
    pub async fn drill_tasks(
        &self,
        actor: &Actor,
        drill: i64,
        thread: &str,
        state: &str,
    ) -> Result<Vec<i64>> {
        Self::may_drill(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::drill_in(&mut c, drill, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        store::tasks_of(&mut c, drill, thread, state).await
    }

    /// The drills of the actor's region, newest first.
    pub async fn drills(&self, actor: &Actor) -> Result<Vec<DrillRow>> {
        Self::may_drill(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::drills_in(&mut c, actor.scope()).await
    }

    /// The after-action report now: each thread's steps from its person's
    /// event log against the policy's deadlines. An ended drill answers the
    /// report it kept when it ended.
    pub async fn drill_report(&self, actor: &Actor, id: i64) -> Result<DrillReport> {
        Self::may_drill(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let drill = store::drill_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let report = match &drill.report {
            Some(kept) => serde_json::from_str(kept)
                .map_err(|e| Error::Internal(format!("kept drill report: {e}")))?,
            None => self.measure(&mut c, id).await?,
        };
        let records = store::record_counts(&mut c, id).await?;
        Ok(DrillReport {
            drill,
            records,
            report,
        })
    }

    async fn measure(&self, c: &mut AnyConnection, id: i64) -> Result<AfterAction> {
        let rule = &self.policy.drill;
        let events = store::thread_events(c, id).await?;
        let open = store::threads_open(c, id).await?;
        let mut milestones = Vec::new();
        for (thread, _, injected) in store::threads(c, id).await? {
            let log = events.get(&thread).map(Vec::as_slice).unwrap_or_default();
            milestones.extend(rules::milestones_of(
                rule,
                &thread,
                log,
                open.contains(&thread),
                injected,
            ));
        }
        Ok(rules::after_action(
            rule,
            &milestones,
            self.clock.timestamp(),
        ))
    }

    /// Ends the drill (keeps its report as of now) and, with `purge`,
    /// removes every record it made, in one transaction.
    pub async fn end_drill(&self, actor: &Actor, id: i64, purge: bool) -> Result<DrillReport> {
        Self::may_drill(actor)?;
        let (svc, by) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let drill = store::drill_in(c, id, by.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    if drill.purged_at.is_some() {
                        return Err(Error::Conflict("the drill was purged already".into()));
                    }
                    // The report as of the end, kept through a later purge.
                    let text = match drill.report {
                        Some(kept) => kept,
                        None => serde_json::to_string(&svc.measure(c, id).await?)
                            .map_err(|e| Error::Internal(e.to_string()))?,
                    };
                    let gone = if purge {
                        store::purge(c, svc.db.backend(), id).await?
                    } else {
                        0
                    };
                    store::finish(c, id, &text, now, purge).await?;
                    repo::insert_event(
                        c,
                        now,
                        &by.username,
                        None,
                        None,
                        if purge { "drill_purged" } else { "drill_ended" },
                        &json!({"drill": id, "rows": gone}),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await?;
        self.drill_report(actor, id).await
    }
}
