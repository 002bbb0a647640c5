//! 流调溯源: a confirmed case, its infectious window, the candidates the
//! tracing engine finds (密接 by shared stays, household and tube; 次密接
//! from each close contact's last exposure), and the team's decisions, which
//! bring confirmed people into the loop through the policy engine.

use std::collections::HashMap;

use bihuan_domain::Date;
use bihuan_domain::contacts::{self, Bonds, Contact, Evidence, Link};
use bihuan_domain::identity::mask_name;
use bihuan_domain::policy::{Reason, assign};
use bihuan_domain::regions::Divisions;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{self, Change};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::monitoring as monitoring_store;
use crate::storage::repo;
use crate::storage::testing as testing_store;
use crate::storage::tracing::{self as store, NewCandidate, NewCase};
use crate::storage::venues as venue_store;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub id_type: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    /// Symptom onset, or the first positive sample when there were none.
    pub start_date: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// confirm, strike, or hand_over (lives outside the city: 协查).
    pub decision: String,
    /// For hand_over: the county (6-digit code) they live in.
    #[serde(default)]
    pub county: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub origin: String,
    pub window_from: i64,
    pub window_to: i64,
    pub candidates: i64,
    pub confirmed: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    /// venue, household or tube.
    pub kind: &'static str,
    pub from_person: i64,
    pub venue_id: Option<i64>,
    pub venue_name: String,
    pub from: i64,
    pub to: i64,
    pub minutes: i64,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CandidateView {
    pub person_id: i64,
    pub name: String,
    pub doc_masked: String,
    pub region: String,
    pub degree: i64,
    pub via_person_id: Option<i64>,
    pub exposure_at: i64,
    pub state: String,
    pub evidence: Vec<EvidenceView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub origin: String,
    pub note: String,
    pub window_from: i64,
    pub window_to: i64,
    pub candidates: Vec<CandidateView>,
}

/// Household and tube bonds read from the database before tracing.
#[derive(Default)]
struct LoadedBonds {
    household: HashMap<i64, Vec<i64>>,
    tubes: HashMap<i64, Vec<(i64, i64, i64)>>,
}

impl Bonds for LoadedBonds {
    fn household(&self, person: i64) -> Vec<i64> {
        self.household.get(&person).cloned().unwrap_or_default()
    }
    fn tube_mates(&self, person: i64, from: i64, to: i64) -> Vec<(i64, i64, i64)> {
        self.tubes
            .get(&person)
            .map(|v| {
                v.iter()
                    .filter(|t| t.2 >= from && t.2 <= to)
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn may_trace(actor: &Actor) -> Result<()> {
    if actor.role.can_review() && actor.region.as_str().len() <= 9 {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn start_of_day(d: Date) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp() - 8 * 3600)
        .unwrap_or_default()
}

fn shanghai_date(ts: i64) -> Date {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| crate::clock::shanghai(t).date_naive())
        .unwrap_or_default()
}

impl Services {
    /// Opens a case for a confirmed positive person, by the tracing team.
    pub async fn open_case(&self, actor: &Actor, input: OpenCaseInput) -> Result<i64> {
        may_trace(actor)?;
        let today = self.clock.today();
        let mut e = FieldErrors::default();
        let start = e.take(validation::date("start_date", &input.start_date));
        if start.is_some_and(|d| d > today || (today - d).num_days() > 30) {
            e.push(FieldError::new(
                "start_date",
                "range",
                "发病或首次阳性采样日期须在过去30天内",
                "onset or first positive sample within the past 30 days",
            ));
        }
        let note = e.take(validation::text_optional("note", &input.note, 500));
        let doc = match (input.person_id, &input.id_number) {
            (Some(_), None) => None,
            (None, Some(n)) => super::venues::parse_document(
                &mut e,
                "",
                input.id_type.as_deref().unwrap_or(""),
                n,
                today,
            ),
            _ => {
                e.push(FieldError::new(
                    "person_id",
                    "one_of",
                    "请给出人员码或证件号码（二选一）",
                    "give either person_id or id_number",
                ));
                None
            }
        };
        let (Some(start), Some(note)) = (start, note) else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let person_id = match (input.person_id, doc) {
                        (Some(id), _) => id,
                        (None, Some(d)) => testing_store::person_by_document(
                            c,
                            &svc.vault.lookup(&d.lookup_key_material()),
                        )
                        .await?
                        .map(|p| p.0)
                        .ok_or_else(|| {
                            Error::field("id_number", "unknown", "查无此人", "no such person")
                        })?,
                        (None, None) => return Err(Error::Internal("checked".into())),
                    };
                    repo::person_in(c, person_id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let now = svc.clock.timestamp();
                    svc.open_case_in(c, person_id, "team", start, &note, &actor.username, now)
                        .await?
                        .ok_or(Error::Refused {
                            code: "case_exists",
                            zh: "此人已有流调",
                            en: "this person is being traced already",
                        })
                })
            })
            .await
    }

    /// Opens a case inside a transaction (also when a single test turns
    /// positive); None when the person has one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_case_in(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        origin: &str,
        start: Date,
        note: &str,
        actor: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let (from, to) =
            contacts::infectious_window(start_of_day(start), self.policy.tracing.days_before, now);
        let id = store::insert_case(
            c,
            &NewCase {
                person_id,
                origin,
                window_from: from,
                window_to: to,
                note,
                created_by: actor,
            },
            now,
        )
        .await?;
        if let Some(id) = id {
            repo::insert_event(
                c,
                now,
                actor,
                Some(person_id),
                None,
                "trace_case_opened",
                &json!({"case": id, "origin": origin, "start": start.to_string()}),
            )
            .await?;
            // A guest of a reported gathering: the other guests go to 协查.
            self.gathering_guest_positive(c, person_id, start, now)
                .await?;
        }
        Ok(id)
    }

    pub async fn cases(&self, actor: &Actor) -> Result<Vec<CaseSummary>> {
        may_trace(actor)?;
        let mut c = self.db.pool().acquire().await?;
        Ok(store::cases_in(&mut c, actor.scope())
            .await?
            .into_iter()
            .map(|(k, n, confirmed)| CaseSummary {
                id: k.id,
                person_id: k.person_id,
                name: mask_name(&k.person_name),
                origin: k.origin,
                window_from: k.window_from,
                window_to: k.window_to,
                candidates: n,
                confirmed,
            })
            .collect())
    }

    /// Runs the tracing engine for a case and keeps what it finds as
    /// candidates (decided ones keep their decision); returns the case.
    pub async fn trace_case(&self, actor: &Actor, case_id: i64) -> Result<CaseView> {
        may_trace(actor)?;
        let case = {
            let mut c = self.db.pool().acquire().await?;
            store::case_in(&mut c, case_id, actor.scope())
                .await?
                .ok_or(Error::NotFound)?
        };
        let now = self.clock.timestamp();
        let window = (case.window_from, now.max(case.window_from));
        let found = self.find_contacts(case.person_id, window).await?;
        let who = actor.username.clone();
        let added = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    store::extend_case(c, case_id, window.1).await?;
                    let mut added = 0;
                    for k in &found {
                        let evidence = serde_json::to_string(&k.links)
                            .map_err(|e| Error::Internal(e.to_string()))?;
                        let new = store::upsert_candidate(
                            c,
                            case_id,
                            &NewCandidate {
                                person_id: k.person,
                                degree: i64::from(k.degree),
                                via_person_id: k.via,
                                exposure_at: k.exposure_at,
                                evidence: &evidence,
                            },
                        )
                        .await?;
                        added += usize::from(new);
                    }
                    if added > 0 {
                        repo::insert_event(
                            c,
                            now,
                            &who,
                            None,
                            None,
                            "traced",
                            &json!({"case": case_id, "new_candidates": added}),
                        )
                        .await?;
                    }
                    Ok(added)
                })
            })
            .await?;
        tracing::debug!(case_id, added, "traced");
        self.case_view(actor, case_id).await
    }

    /// The case with its candidates and their evidence, without re-tracing.
    pub async fn case_view(&self, actor: &Actor, case_id: i64) -> Result<CaseView> {
        may_trace(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let case = store::case_in(&mut c, case_id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let rows = store::candidates(&mut c, case_id).await?;
        let mut links_of: Vec<Vec<Link>> = Vec::with_capacity(rows.len());
        let mut venue_ids = Vec::new();
        for r in &rows {
            let links: Vec<Link> = serde_json::from_str(&r.evidence).unwrap_or_default();
            for l in &links {
                if let Evidence::Venue { venue, .. } = l.evidence {
                    venue_ids.push(venue);
                }
            }
            links_of.push(links);
        }
        venue_ids.sort_unstable();
        venue_ids.dedup();
        let names: HashMap<i64, String> = venue_store::venue_names(&mut c, &venue_ids)
            .await?
            .into_iter()
            .map(|(id, name, _)| (id, name))
            .collect();
        let candidates = rows
            .into_iter()
            .zip(links_of)
            .map(|(r, links)| CandidateView {
                evidence: links.iter().map(|l| evidence_view(l, &names)).collect(),
                person_id: r.person_id,
                name: mask_name(&r.name),
                doc_masked: r.doc_masked,
                region: r.region,
                degree: r.degree,
                via_person_id: r.via_person_id,
                exposure_at: r.exposure_at,
                state: r.state,
            })
            .collect();
        Ok(CaseView {
            id: case.id,
            person_id: case.person_id,
            name: mask_name(&case.person_name),
            origin: case.origin,
            note: case.note,
            window_from: case.window_from,
            window_to: case.window_to,
            candidates,
        })
    }

    /// The engine over the stay index (caught up with the database first)
    /// and the household and tube bonds read for the people it reaches.
    async fn find_contacts(&self, case: i64, window: (i64, i64)) -> Result<Vec<Contact>> {
        self.stays.catch_up(&self.db).await?;
        let mut c = self.db.pool().acquire().await?;
        let mut bonds = LoadedBonds::default();
        bonds.load(&mut c, case, window).await?;
        let first = self.stays.trace(&self.policy, case, window, &bonds, false);
        for k in &first {
            let from = k.exposure_at.min(window.1);
            bonds.load(&mut c, k.person, (from, window.1)).await?;
        }
        Ok(self.stays.trace(&self.policy, case, window, &bonds, true))
    }

    /// The team's decision on a candidate. Confirmed people come under
    /// 密接 or 次密接 control (exposure day as day one) with a task to their
    /// grid; people living outside the city are handed over (协查).
    pub async fn decide_contact(
        &self,
        actor: &Actor,
        case_id: i64,
        person_id: i64,
        input: DecisionInput,
    ) -> Result<serde_json::Value> {
        may_trace(actor)?;
        let mut e = FieldErrors::default();
        let decision = input.decision.trim().to_string();
        if !["confirm", "strike", "hand_over"].contains(&decision.as_str()) {
            e.push(FieldError::new(
                "decision",
                "decision",
                "决定应为确认、排除或移交协查",
                "confirm, strike or hand_over",
            ));
        }
        let county = match (&decision[..], input.county.as_deref().map(str::trim)) {
            ("hand_over", Some(c)) if Divisions::get().is_county(c) => Some(c.to_string()),
            ("hand_over", _) => {
                e.push(FieldError::new(
                    "county",
                    "county",
                    "请填写其居住地的县(市、区)代码",
                    "the county (6-digit code) where they live",
                ));
                None
            }
            _ => None,
        };
        let address = e.take(validation::text_optional(
            "address",
            input.address.as_deref().unwrap_or(""),
            200,
        ));
        e.into_result(())?;
        let address = address.unwrap_or_default();
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let case = store::case_in(c, case_id, actor.scope()).await?.ok_or(Error::NotFound)?;
                    let cand = store::candidates(c, case_id)
                        .await?
                        .into_iter()
                        .find(|k| k.person_id == person_id)
                        .ok_or(Error::NotFound)?;
                    if cand.state != "candidate" {
                        return Err(Error::Refused {
                            code: "decided",
                            zh: "该人员已有流调结论",
                            en: "this candidate has been decided already",
                        });
                    }
                    if decision == "strike" {
                        store::decide_candidate(c, case_id, person_id, "struck", &actor.username, now).await?;
                        repo::insert_event(c, now, &actor.username, Some(person_id), None, "contact_struck", &json!({"case": case_id}))
                            .await?;
                        return Ok(json!({"person_id": person_id, "state": "struck"}));
                    }
                    let category = if cand.degree == 1 { "close_contact" } else { "secondary_contact" };
                    let why = Reason {
                        zh: format!("流调：病例{}的{}", mask_name(&case.person_name), if cand.degree == 1 { "密接" } else { "次密接" }),
                        en: format!("tracing: {} of case {}", if cand.degree == 1 { "close contact" } else { "secondary contact" }, case.id),
                    };
                    let day_one = shanghai_date(cand.exposure_at);
                    let a = assign(&svc.policy, category, day_one, why.clone())
                        .ok_or_else(|| Error::Internal(format!("the policy lacks {category}")))?;
                    let managed = repo::region(c, &cand.region).await?.is_some();
                    let hand_over = decision == "hand_over" || !managed;
                    if hand_over && county.is_none() {
                        return Err(Error::field(
                            "county",
                            "county",
                            "此人不在本市，请填写其居住地的县(市、区)代码以移交协查",
                            "not living here: give their county to hand them over",
                        ));
                    }
                    let applied = control::apply(
                        c,
                        &svc.policy,
                        Change {
                            person_id,
                            declaration_id: None,
                            grid: &cand.region,
                            assessment: &a,
                            because: Some(why),
                            always_dispatch: !hand_over,
                            actor: &actor.username,
                            now,
                        },
                    )
                    .await?;
                    let state = if hand_over { "handed_over" } else { "confirmed" };
                    store::decide_candidate(c, case_id, person_id, state, &actor.username, now).await?;
                    if let (true, Some(county)) = (hand_over, county) {
                        let control = serde_json::to_string(&applied.control)
                            .map_err(|e| Error::Internal(e.to_string()))?;
                        let reason = format!("流调{}：病例#{case_id}", if cand.degree == 1 { "密接" } else { "次密接" });
                        let id = monitoring_store::insert_handover(
                            c,
                            &monitoring_store::NewHandover {
                                person_id,
                                to_county: &county,
                                to_township: None,
                                address: &address,
                                reason: &reason,
                                control: &control,
                                actor: &actor.username,
                            },
                            now,
                        )
                        .await?;
                        monitoring_store::set_control_status(c, person_id, "transferred_out", now).await?;
                        repo::close_open_tasks(c, person_id, None, "handed_over", &actor.username, now).await?;
                        repo::insert_event(c, now, &actor.username, Some(person_id), None, "handed_over", &json!({"handover_id": id, "case": case_id, "county": county}))
                            .await?;
                    }
                    repo::insert_event(c, now, &actor.username, Some(person_id), None, "contact_confirmed", &json!({"case": case_id, "category": category, "state": state}))
                        .await?;
                    svc.refresh_colour(c, person_id, &actor.username, now).await?;
                    Ok(json!({"person_id": person_id, "state": state, "category": applied.control.category}))
                })
            })
            .await
    }
}

fn evidence_view(l: &Link, venues: &HashMap<i64, String>) -> EvidenceView {
    match l.evidence {
        Evidence::Venue {
            venue,
            overlap_from,
            overlap_to,
            ..
        } => EvidenceView {
            kind: "venue",
            from_person: l.from,
            venue_id: Some(venue),
            venue_name: venues.get(&venue).cloned().unwrap_or_default(),
            from: overlap_from,
            to: overlap_to,
            minutes: (overlap_to - overlap_from) / 60,
            at: l.at,
        },
        Evidence::Household => EvidenceView {
            kind: "household",
            from_person: l.from,
            venue_id: None,
            venue_name: String::new(),
            from: l.at,
            to: l.at,
            minutes: 0,
            at: l.at,
        },
        Evidence::Tube { tube } => EvidenceView {
            kind: "tube",
            from_person: l.from,
            venue_id: Some(tube),
            venue_name: String::new(),
            from: l.at,
            to: l.at,
            minutes: 0,
            at: l.at,
        },
    }
}

impl LoadedBonds {
    async fn load(&mut self, c: &mut AnyConnection, person: i64, window: (i64, i64)) -> Result<()> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.household.entry(person) {
            e.insert(store::household(c, person).await?);
        }
        let t = store::tube_mates(c, person, window.0, window.1).await?;
        self.tubes.entry(person).or_default().extend(t);
        Ok(())
    }
}
