//! 集聚性活动报备: a host reports an event on the public form; the village,
//! then the town or city by tier, decide; an approved event gets a venue code
//! for check-in; a later positive guest puts the other guests on a 协查 list.
//! Also the city's 宴会缓办 switch and towns' tightened rules (不得层层加码).

use bihuan_domain::access::Role;
use bihuan_domain::gathering::{
    GatheringKind, GatheringState, Reviewer, Step, Thresholds, apply_overrides, base_value,
    earliest_date, is_stricter, tier_of,
};
use bihuan_domain::identity::{DocumentNumber, Phone};
use bihuan_domain::regions::RegionCode;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use bihuan_domain::venue::{VenueState, venue_code};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::venues::parse_document;
use super::{Actor, Services};
use crate::crypto;
use crate::error::{Error, Result};
use crate::storage::gathering::{self as store, GatheringRow, GuestRow, OverrideRow, PauseRow};
use crate::storage::{repo, venues as venue_store};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestInput {
    #[serde(default)]
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub out_of_town: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatheringInput {
    pub kind: String,
    pub date: String,
    pub village: String,
    pub address: String,
    pub tables: i64,
    pub headcount: i64,
    pub out_of_town: i64,
    pub host_name: String,
    pub host_phone: String,
    pub cook_name: String,
    pub cook_phone: String,
    pub cook_health_cert: bool,
    pub health_pledge: bool,
    #[serde(default)]
    pub guests: Vec<GuestInput>,
}

/// What the host keeps: the receipt that shows the report's state.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub id: i64,
    pub receipt: String,
    pub tier: &'static str,
    pub state: &'static str,
    pub status_url: String,
}

/// The host's view by receipt: no personal data beyond the host's own.
#[derive(Debug, Clone, Serialize)]
pub struct PublicGathering {
    pub kind: String,
    pub tier: String,
    pub state: String,
    pub state_zh: &'static str,
    pub event_date: String,
    pub address: String,
    pub headcount: i64,
    /// The venue code guests scan, once approved.
    pub venue_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatheringDetail {
    #[serde(flatten)]
    pub gathering: GatheringRow,
    pub venue_code: Option<String>,
    pub guests: Vec<GuestRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseInput {
    pub paused: bool,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    pub key: String,
    pub value: i64,
    #[serde(default)]
    pub reason: String,
}

struct ValidGuest {
    name: String,
    doc: DocumentNumber,
    phone: Option<Phone>,
    out_of_town: bool,
}

struct Valid {
    kind: GatheringKind,
    date: bihuan_domain::Date,
    village: RegionCode,
    address: String,
    host_name: String,
    host_phone: Phone,
    cook_name: String,
    cook_phone: Phone,
    guests: Vec<ValidGuest>,
}

const PAUSED: Error = Error::Refused {
    code: "gatherings_paused",
    zh: "宴会缓办：全市暂停受理集聚性活动报备，请推迟举办",
    en: "Gatherings are postponed city-wide: no new reports are accepted, please hold it later",
};

fn town_of(village: &str) -> &str {
    &village[..9.min(village.len())]
}

fn city_of(region: &str) -> &str {
    &region[..6.min(region.len())]
}

impl Services {
    fn valid_gathering(&self, input: &GatheringInput) -> std::result::Result<Valid, FieldErrors> {
        let mut e = FieldErrors::default();
        let today = self.clock.today();
        let kind = GatheringKind::parse(input.kind.trim());
        if kind.is_none() {
            e.push(FieldError::new(
                "kind",
                "kind",
                "请选择宴会、婚礼、丧事或其他",
                "choose banquet, wedding, funeral or other",
            ));
        }
        let date = e.take(validation::date("date", input.date.trim()));
        if date.is_some_and(|d| d < today || (d - today).num_days() > 180) {
            e.push(FieldError::new(
                "date",
                "range",
                "举办日期须在今天起180天内",
                "a date from today to 180 days ahead",
            ));
        }
        let village = e.take(RegionCode::parse(input.village.trim(), "village"));
        if village.as_ref().is_some_and(|v| v.as_str().len() != 12) {
            e.push(FieldError::new(
                "village",
                "level",
                "请选择举办地所在村社区",
                "choose the village or community of the venue",
            ));
        }
        let address = e.take(validation::text("address", &input.address, 200));
        if !(1..=1000).contains(&input.tables) {
            e.push(FieldError::new(
                "tables",
                "range",
                "桌数应为1到1000",
                "1 to 1000 tables",
            ));
        }
        if !(1..=10_000).contains(&input.headcount) {
            e.push(FieldError::new(
                "headcount",
                "range",
                "人数应为1到10000",
                "1 to 10000 people",
            ));
        }
        if input.out_of_town < 0 || input.out_of_town > input.headcount {
            e.push(FieldError::new(
                "out_of_town",
                "range",
                "外地来客人数应为0到总人数",
                "from 0 to the headcount",
            ));
        }
        let host_name = e.take(validation::text("host_name", &input.host_name, 50));
        let host_phone = e.take(Phone::parse(&input.host_phone, "host_phone"));
        let cook_name = e.take(validation::text("cook_name", &input.cook_name, 50));
        let cook_phone = e.take(Phone::parse(&input.cook_phone, "cook_phone"));
        if !input.health_pledge {
            e.push(FieldError::new(
                "health_pledge",
                "required",
                "请勾选健康承诺",
                "tick the health pledge",
            ));
        }
        let max = self.policy.gathering.max_guests as usize;
        if input.guests.len() > max {
            e.push(FieldError::new(
                "guests",
                "count",
                format!("宾客名单最多{max}行"),
                format!("at most {max} guests"),
            ));
        }
        let mut guests = Vec::new();
        for (i, g) in input.guests.iter().take(max).enumerate() {
            let prefix = format!("guests.{i}.");
            let name = e.take(validation::text(&format!("{prefix}name"), &g.name, 50));
            let doc = parse_document(&mut e, &prefix, &g.id_type, &g.id_number, today);
            let phone = if g.phone.trim().is_empty() {
                None
            } else {
                e.take(Phone::parse(&g.phone, &format!("{prefix}phone")))
            };
            if let (Some(name), Some(doc)) = (name, doc) {
                guests.push(ValidGuest {
                    name,
                    doc,
                    phone,
                    out_of_town: g.out_of_town,
                });
            }
        }
        match (
            kind, date, village, address, host_name, host_phone, cook_name, cook_phone,
        ) {
            (
                Some(kind),
                Some(date),
                Some(village),
                Some(address),
                Some(host_name),
                Some(host_phone),
                Some(cook_name),
                Some(cook_phone),
            ) if e.is_empty() => Ok(Valid {
                kind,
                date,
                village,
                address,
                host_name,
                host_phone,
                cook_name,
                cook_phone,
                guests,
            }),
            _ => Err(e),
        }
    }

    /// The thresholds in force in `town`: the policy's, tightened by the
    /// town's approved overrides.
    async fn thresholds_for(&self, c: &mut AnyConnection, town: &str) -> Result<Thresholds> {
        let approved = store::approved_overrides(c, town).await?;
        Ok(apply_overrides(
            self.policy.gathering.thresholds(),
            &approved,
        ))
    }

    /// The public form: refused while the city's 宴会缓办 is on; the tier
    /// from the headcount and the town's thresholds; the date far enough
    /// ahead for its tier; the report and its guests in one transaction.
    pub async fn report_gathering(&self, input: GatheringInput) -> Result<Reported> {
        let v = self.valid_gathering(&input)?;
        let svc = self.clone();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let village = v.village.as_str();
                    if store::pause_of(c, city_of(village))
                        .await?
                        .is_some_and(|p| p.paused)
                    {
                        return Err(PAUSED);
                    }
                    let known = repo::region(c, village).await?;
                    if known.is_none() {
                        return Err(Error::field(
                            "village",
                            "unknown",
                            "村社区不存在",
                            "no such village",
                        ));
                    }
                    let t = svc.thresholds_for(c, town_of(village)).await?;
                    let tier = tier_of(&t, u32::try_from(input.headcount).unwrap_or(u32::MAX));
                    let earliest =
                        earliest_date(&svc.policy.gathering, &t, tier, svc.clock.today());
                    if v.date < earliest {
                        return Err(Error::field(
                            "date",
                            "notice",
                            &format!(
                                "该规模须提前{}个工作日报备，最早可于{earliest}举办",
                                t.notice_working_days
                            ),
                            &format!(
                                "an event this size is reported {} working days ahead: {earliest} at the earliest",
                                t.notice_working_days
                            ),
                        ));
                    }
                    let receipt = crypto::token(16);
                    let id = store::insert_gathering(
                        c,
                        &store::NewGathering {
                            receipt: &receipt,
                            kind: v.kind.as_str(),
                            tier: tier.as_str(),
                            state: GatheringState::Submitted.as_str(),
                            event_date: &v.date.to_string(),
                            village,
                            address: &v.address,
                            tables: input.tables,
                            headcount: input.headcount,
                            out_of_town: input.out_of_town,
                            host_name: &v.host_name,
                            host_phone_enc: &svc.vault.encrypt(v.host_phone.as_str()),
                            host_phone_masked: &v.host_phone.masked(),
                            cook_name: &v.cook_name,
                            cook_phone_enc: &svc.vault.encrypt(v.cook_phone.as_str()),
                            cook_phone_masked: &v.cook_phone.masked(),
                            cook_health_cert: input.cook_health_cert,
                        },
                        now,
                    )
                    .await?;
                    for (i, g) in v.guests.iter().enumerate() {
                        store::insert_guest(
                            c,
                            &store::NewGuest {
                                gathering_id: id,
                                row_no: i as i64 + 1,
                                name: &g.name,
                                doc_type: g.doc.kind().as_str(),
                                doc_lookup: &svc.vault.lookup(&g.doc.lookup_key_material()),
                                doc_enc: &svc.vault.encrypt(g.doc.number()),
                                doc_masked: &g.doc.masked(),
                                phone_enc: &svc
                                    .vault
                                    .encrypt(g.phone.as_ref().map_or("", |p| p.as_str())),
                                phone_masked: &g
                                    .phone
                                    .as_ref()
                                    .map(|p| p.masked())
                                    .unwrap_or_default(),
                                out_of_town: g.out_of_town,
                            },
                        )
                        .await?;
                    }
                    repo::insert_event(
                        c,
                        now,
                        "public",
                        None,
                        None,
                        "gathering_reported",
                        &json!({"gathering": id, "tier": tier.as_str(), "village": village,
                                "headcount": input.headcount, "guests": v.guests.len()}),
                    )
                    .await?;
                    Ok(Reported {
                        id,
                        status_url: format!("/api/v1/gathering-receipts/{receipt}"),
                        receipt,
                        tier: tier.as_str(),
                        state: GatheringState::Submitted.as_str(),
                    })
                })
            })
            .await
    }

    /// The host's view of a report by its receipt.
    pub async fn gathering_by_receipt(&self, receipt: &str) -> Result<PublicGathering> {
        if receipt.len() != 32 || !receipt.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        let g = store::gathering_by_receipt(&mut c, receipt)
            .await?
            .ok_or(Error::NotFound)?;
        let venue_code = self.venue_code_of(&mut c, &g).await?;
        let state = GatheringState::parse(&g.state)
            .ok_or_else(|| Error::Internal(format!("gathering state {}", g.state)))?;
        Ok(PublicGathering {
            kind: g.kind,
            tier: g.tier,
            state: g.state,
            state_zh: state.label_zh(),
            event_date: g.event_date,
            address: g.address,
            headcount: g.headcount,
            venue_code,
        })
    }

    async fn venue_code_of(
        &self,
        c: &mut AnyConnection,
        g: &GatheringRow,
    ) -> Result<Option<String>> {
        let Some(venue) = g.venue_id else {
            return Ok(None);
        };
        Ok(venue_store::approved_venue(c, venue).await?.map(|v| v.0))
    }

    fn may_see_gatherings(actor: &Actor) -> Result<()> {
        if actor.role == Role::GridWorker {
            Err(Error::Forbidden)
        } else {
            Ok(())
        }
    }

    pub async fn gatherings(&self, actor: &Actor) -> Result<Vec<GatheringRow>> {
        Self::may_see_gatherings(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::gatherings_in(&mut c, actor.scope(), 200).await
    }

    /// One report with its guests (masked), inside the actor's region.
    pub async fn gathering(&self, actor: &Actor, id: i64) -> Result<GatheringDetail> {
        Self::may_see_gatherings(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let g = store::gathering_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let guests = store::guests_of(&mut c, id).await?;
        let venue_code = self.venue_code_of(&mut c, &g).await?;
        Ok(GatheringDetail {
            gathering: g,
            venue_code,
            guests,
        })
    }

    /// A staff step on a report: the village checks (approving a
    /// self-managed event), the town or city approves by tier, the village
    /// or town starts and finishes it. Approval registers the event as an
    /// approved venue of kind `gathering`, whose code guests scan.
    pub async fn gathering_step(&self, actor: &Actor, id: i64, step: Step) -> Result<GatheringRow> {
        Self::may_see_gatherings(actor)?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let g = store::gathering_in(c, id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let from = GatheringState::parse(&g.state)
                        .ok_or_else(|| Error::Internal(format!("gathering state {}", g.state)))?;
                    let tier = bihuan_domain::gathering::Tier::parse(&g.tier)
                        .ok_or_else(|| Error::Internal(format!("gathering tier {}", g.tier)))?;
                    let Some(to) = from.next(tier, step) else {
                        return Err(Error::Refused {
                            code: "gathering_state",
                            zh: "该报备当前状态不能进行此操作",
                            en: "this step does not apply to the report in its current state",
                        });
                    };
                    let allowed = match step {
                        Step::Approve | Step::Reject => match from.reviewer(tier) {
                            Some(Reviewer::Village) => actor.role == Role::Village,
                            Some(Reviewer::Town) => actor.role == Role::Town,
                            Some(Reviewer::City) => actor.role == Role::Command,
                            None => false,
                        },
                        Step::Start | Step::Finish | Step::Cancel => {
                            matches!(actor.role, Role::Village | Role::Town)
                        }
                    };
                    if !allowed {
                        return Err(Error::Forbidden);
                    }
                    if !store::set_state(c, id, from.as_str(), to.as_str(), &actor.username, now)
                        .await?
                    {
                        return Err(Error::Conflict("gathering decided concurrently".into()));
                    }
                    if to == GatheringState::Approved {
                        let venue = svc.gathering_venue(c, &g, &actor.username, now).await?;
                        store::set_venue(c, id, venue).await?;
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "gathering_step",
                        &json!({"gathering": id, "from": from.as_str(), "to": to.as_str()}),
                    )
                    .await?;
                    store::gathering_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    /// The approved event as an approved venue with its signed code.
    async fn gathering_venue(
        &self,
        c: &mut AnyConnection,
        g: &GatheringRow,
        who: &str,
        now: i64,
    ) -> Result<i64> {
        let kind = GatheringKind::parse(&g.kind).map_or("集聚性活动", |k| k.label_zh());
        let name = format!("{}家{}（{}）", g.host_name, kind, g.event_date);
        let id = venue_store::insert_venue(
            c,
            &venue_store::NewVenue {
                name: &name,
                kind: "gathering",
                region: &g.village,
                address: &g.address,
                created_by: who,
            },
            now,
        )
        .await?;
        let code = venue_code(id, &self.venue_signature(id));
        venue_store::set_venue_code(c, id, &code).await?;
        venue_store::decide_venue(
            c,
            id,
            VenueState::Pending.as_str(),
            VenueState::Approved.as_str(),
            who,
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            who,
            None,
            None,
            "venue_registered",
            &json!({"venue": id, "name": name, "gathering": g.id}),
        )
        .await?;
        Ok(id)
    }

    /// A positive person (a case just opened) who was a guest of a held
    /// event since their infectious window began: the other guests become
    /// a 协查 list of the city, routed as any list. Once per event.
    pub(crate) async fn gathering_guest_positive(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        start: bihuan_domain::Date,
        now: i64,
    ) -> Result<()> {
        let Some(lookup) = store::person_lookup(c, person_id).await? else {
            return Ok(());
        };
        let since = start - chrono::Duration::days(i64::from(self.policy.tracing.days_before));
        let today = chrono::DateTime::from_timestamp(now, 0)
            .map(|t| crate::clock::shanghai(t).date_naive())
            .unwrap_or(start);
        for g in store::held_with_guest(c, &lookup, &since.to_string(), &today.to_string()).await? {
            let rows: Vec<[String; 4]> = store::guests_of(c, g.id)
                .await?
                .into_iter()
                .filter(|x| x.doc_lookup != lookup)
                .map(|x| {
                    [
                        x.name,
                        x.doc_type,
                        self.vault.decrypt(&x.doc_enc).unwrap_or_default(),
                        self.vault.decrypt(&x.phone_enc).unwrap_or_default(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            let city = RegionCode::parse(city_of(&g.village), "village")
                .map_err(|_| Error::Internal(format!("gathering village {}", g.village)))?;
            let name = format!("集聚性活动{}（{}）宾客协查", g.id, g.event_date);
            let reason = format!("{}{}宾客中出现阳性", g.address, g.event_date);
            let report = self
                .system_assist_list(c, &city, &name, &reason, rows)
                .await?;
            store::set_assist_list(c, g.id, report.id).await?;
            repo::insert_event(
                c,
                now,
                "system",
                Some(person_id),
                None,
                "gathering_assist_list",
                &json!({"gathering": g.id, "list": report.id, "rows": report.rows}),
            )
            .await?;
        }
        Ok(())
    }

    // ---------- 宴会缓办 ----------

    /// The command turns the city's 宴会缓办 on or off; recorded and audited.
    pub async fn set_gathering_pause(&self, actor: &Actor, input: PauseInput) -> Result<PauseRow> {
        if actor.role != Role::Command {
            return Err(Error::Forbidden);
        }
        let reason = validation::text_optional("reason", &input.reason, 200)
            .map_err(|e| Error::Invalid(vec![e]))?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let city = city_of(actor.scope()).to_string();
                    store::insert_pause(c, &city, input.paused, &reason, &actor.username, now)
                        .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "gathering_pause",
                        &json!({"city": city, "paused": input.paused, "reason": reason}),
                    )
                    .await?;
                    store::pause_of(c, &city)
                        .await?
                        .ok_or_else(|| Error::Internal("pause just written".into()))
                })
            })
            .await
    }

    /// Whether 宴会缓办 is on in `city`, for the public form (no actor: the
    /// switch is public knowledge, it is on every notice).
    pub async fn public_gathering_pause(&self, city: &str) -> Result<Option<PauseRow>> {
        let mut c = self.db.pool().acquire().await?;
        Ok(store::pause_of(&mut c, city_of(city))
            .await?
            .filter(|p| p.paused))
    }

    pub async fn gathering_pause(&self, actor: &Actor) -> Result<Option<PauseRow>> {
        Self::may_see_gatherings(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::pause_of(&mut c, city_of(actor.scope())).await
    }

    // ---------- 不得层层加码 ----------

    /// A town proposes a stricter value of a rule the policy lists as
    /// tightenable; it has no effect until the city approves.
    pub async fn propose_override(
        &self,
        actor: &Actor,
        input: OverrideInput,
    ) -> Result<OverrideRow> {
        if actor.role != Role::Town {
            return Err(Error::Forbidden);
        }
        let mut e = FieldErrors::default();
        let key = input.key.trim().to_string();
        let rule = self
            .policy
            .gathering
            .tightenable
            .iter()
            .find(|t| t.key == key);
        let base = base_value(&self.policy, &key);
        match (rule, base) {
            (Some(rule), Some(base)) => {
                if !is_stricter(rule.stricter, base, input.value) {
                    e.push(FieldError::new(
                        "value",
                        "not_stricter",
                        format!("只能比全市规定（{base}）更严，不得放宽"),
                        format!("only stricter than the city's rule ({base}); never looser"),
                    ));
                }
            }
            _ => e.push(FieldError::new(
                "key",
                "key",
                "该规则不允许镇街调整",
                "a town may not adjust this rule",
            )),
        }
        let reason = e.take(validation::text("reason", &input.reason, 500));
        let reason = match reason {
            Some(r) if e.is_empty() => r,
            _ => return Err(e.into()),
        };
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let id = store::insert_override(
                        c,
                        actor.scope(),
                        &key,
                        input.value,
                        &reason,
                        &actor.username,
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "policy_override_proposed",
                        &json!({"override": id, "town": actor.scope(), "key": key, "value": input.value}),
                    )
                    .await?;
                    store::override_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    /// The command approves or rejects a town's proposal; recorded, audited.
    pub async fn decide_override(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
    ) -> Result<OverrideRow> {
        if actor.role != Role::Command {
            return Err(Error::Forbidden);
        }
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    store::override_in(c, id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let to = if approve { "approved" } else { "rejected" };
                    if !store::decide_override(c, id, to, &actor.username, now).await? {
                        return Err(Error::Refused {
                            code: "decided",
                            zh: "该申请已审批",
                            en: "this proposal has been decided already",
                        });
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "policy_override_decided",
                        &json!({"override": id, "state": to}),
                    )
                    .await?;
                    store::override_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    pub async fn policy_overrides(&self, actor: &Actor) -> Result<Vec<OverrideRow>> {
        if !matches!(actor.role, Role::Command | Role::Town) {
            return Err(Error::Forbidden);
        }
        let mut c = self.db.pool().acquire().await?;
        store::overrides_in(&mut c, actor.scope()).await
    }
}
