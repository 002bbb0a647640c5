//! 返永通: a person declares their arrival; triage decides the measure; the
//! destination grid gets a verification task.

use bihuan_domain::Date;
use bihuan_domain::identity::{DocumentNumber, DocumentType, Phone, mask_name};
use bihuan_domain::policy::{Abroad, Assessment, Facts, HealthCode, Place, Stop, Symptom, triage};
use bihuan_domain::regions::{Divisions, RegionCode, RegionLevel};
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Services;
use super::control::{self, Change};
use crate::crypto;
use crate::error::{Error, Result};
use crate::storage::repo;

/// The declaration as it arrives on the wire. Every field is a plain string
/// here so that each can be refused with its own message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationInput {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub origin: OriginInput,
    #[serde(default)]
    pub itinerary: Vec<StopInput>,
    #[serde(default)]
    pub abroad: Option<AbroadInput>,
    pub arrival: ArrivalInput,
    pub destination: DestinationInput,
    pub health_code: String,
    pub vaccine_doses: i64,
    #[serde(default)]
    pub negative_test_48h: Option<String>,
    #[serde(default)]
    pub symptoms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginInput {
    pub county: String,
    #[serde(default)]
    pub township: Option<String>,
    pub departed_on: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopInput {
    pub county: String,
    #[serde(default)]
    pub township: Option<String>,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbroadInput {
    pub country: String,
    pub entered_china_on: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalInput {
    pub date: String,
    pub mode: String,
    #[serde(default)]
    pub number: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationInput {
    pub village: String,
    pub address: String,
}

pub const TRANSPORT_MODES: [&str; 5] = ["train", "flight", "car", "bus", "other"];
const MAX_STOPS: usize = 20;

/// A declaration whose every field parsed.
#[derive(Debug, Clone)]
pub struct ValidDeclaration {
    pub name: String,
    pub document: DocumentNumber,
    pub phone: Phone,
    pub facts: Facts,
    pub village: RegionCode,
    pub address: String,
}

fn err(field: &str, code: &'static str, zh: &str, en: &str) -> FieldError {
    FieldError::new(field, code, zh, en)
}

/// A county code, and a township inside it when given.
fn place(
    errors: &mut FieldErrors,
    prefix: &str,
    county: &str,
    township: Option<&str>,
) -> Option<Place> {
    let d = Divisions::get();
    if !d.is_county(county) {
        errors.push(err(
            &format!("{prefix}.county"),
            "county",
            "请选择有效的县(市、区)",
            "not a known county code",
        ));
        return None;
    }
    let township = match township.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) if d.is_township(t) && t.starts_with(county) => Some(t.to_string()),
        Some(_) => {
            errors.push(err(
                &format!("{prefix}.township"),
                "township",
                "乡镇(街道)不属于所选县(市、区)",
                "not a township of the chosen county",
            ));
            return None;
        }
    };
    Some(Place {
        county: county.to_string(),
        township,
    })
}

fn date_field(errors: &mut FieldErrors, field: &str, value: &str) -> Option<Date> {
    errors.take(validation::date(field, value))
}

/// Parses every field, collecting all errors. `today` is Asia/Shanghai's.
pub fn parse(
    input: &DeclarationInput,
    today: Date,
) -> std::result::Result<ValidDeclaration, FieldErrors> {
    let mut e = FieldErrors::default();
    let name = e.take(validation::text("name", &input.name, 50));
    let document = match DocumentType::parse(&input.id_type) {
        Some(kind) => e.take(DocumentNumber::parse(
            kind,
            &input.id_number,
            "id_number",
            today,
        )),
        None => {
            e.push(err(
                "id_type",
                "id_type",
                "证件类型无效",
                "unknown document type",
            ));
            None
        }
    };
    // A resident ID holder gives a mainland number; an unknown type is
    // already an error, so its phone is checked as for a visitor.
    let doc_kind = DocumentType::parse(&input.id_type).unwrap_or(DocumentType::Passport);
    let phone = e.take(Phone::parse_for(&input.phone, "phone", doc_kind));
    let arrival = date_field(&mut e, "arrival.date", &input.arrival.date);
    if let Some(a) = arrival
        && (a - today).num_days().abs() > 14
    {
        e.push(err(
            "arrival.date",
            "range",
            "抵达日期须在今天前后14天以内",
            "arrival must be within 14 days of today",
        ));
    }
    if !TRANSPORT_MODES.contains(&input.arrival.mode.as_str()) {
        e.push(err(
            "arrival.mode",
            "mode",
            "交通方式无效",
            "unknown transport mode",
        ));
    }
    if let Some(n) = &input.arrival.number {
        let ok = n.len() <= 20 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            e.push(err(
                "arrival.number",
                "format",
                "车次/航班号只能含字母、数字和连字符，最多20位",
                "letters, digits and hyphens, at most 20",
            ));
        }
    }
    let facts = parse_facts(&mut e, &FactsInput::of(input), arrival);
    let village = e.take(RegionCode::parse(
        &input.destination.village,
        "destination.village",
    ));
    if village
        .as_ref()
        .is_some_and(|v| v.level() != RegionLevel::Village)
    {
        e.push(err(
            "destination.village",
            "village",
            "请选择村(社区)",
            "choose a village or community",
        ));
    }
    let address = e.take(validation::text(
        "destination.address",
        &input.destination.address,
        200,
    ));
    if !(0..=10).contains(&input.vaccine_doses) {
        e.push(err(
            "vaccine_doses",
            "range",
            "疫苗剂次应在0到10之间",
            "between 0 and 10",
        ));
    }
    match (name, document, phone, facts, village, address) {
        (Some(name), Some(document), Some(phone), Some(facts), Some(village), Some(address))
            if e.is_empty() =>
        {
            Ok(ValidDeclaration {
                name,
                document,
                phone,
                facts,
                village,
                address,
            })
        }
        _ => Err(e),
    }
}

/// The fields triage reads, as received (from a declaration or a correction).
pub struct FactsInput<'a> {
    pub origin: &'a OriginInput,
    pub itinerary: &'a [StopInput],
    pub abroad: Option<&'a AbroadInput>,
    pub health_code: &'a str,
    pub negative_test_48h: Option<&'a str>,
    pub symptoms: &'a [String],
}

impl<'a> FactsInput<'a> {
    pub fn of(i: &'a DeclarationInput) -> Self {
        FactsInput {
            origin: &i.origin,
            itinerary: &i.itinerary,
            abroad: i.abroad.as_ref(),
            health_code: &i.health_code,
            negative_test_48h: i.negative_test_48h.as_deref(),
            symptoms: &i.symptoms,
        }
    }
}

/// Parses the facts against an arrival date (already checked, if given).
pub fn parse_facts(
    e: &mut FieldErrors,
    input: &FactsInput<'_>,
    arrival: Option<Date>,
) -> Option<Facts> {
    let origin = place(
        e,
        "origin",
        &input.origin.county,
        input.origin.township.as_deref(),
    );
    let departed_on = date_field(e, "origin.departed_on", &input.origin.departed_on);
    if let (Some(d), Some(a)) = (departed_on, arrival)
        && d > a
    {
        e.push(err(
            "origin.departed_on",
            "after_arrival",
            "出发日期不能晚于抵达日期",
            "departure cannot be after arrival",
        ));
    }
    if input.itinerary.len() > MAX_STOPS {
        e.push(err(
            "itinerary",
            "too_many",
            "途经地最多20个",
            "at most 20 stops",
        ));
    }
    let mut itinerary = Vec::new();
    for (i, s) in input.itinerary.iter().take(MAX_STOPS).enumerate() {
        let prefix = format!("itinerary.{i}");
        let p = place(e, &prefix, &s.county, s.township.as_deref());
        let from = date_field(e, &format!("{prefix}.from"), &s.from);
        let to = date_field(e, &format!("{prefix}.to"), &s.to);
        let (Some(p), Some(from), Some(to)) = (p, from, to) else {
            continue;
        };
        if from > to {
            e.push(err(
                &format!("{prefix}.to"),
                "order",
                "离开日期不能早于到达日期",
                "`to` cannot be before `from`",
            ));
        }
        if let Some(a) = arrival {
            if to > a {
                e.push(err(
                    &format!("{prefix}.to"),
                    "after_arrival",
                    "途经日期不能晚于抵达日期",
                    "a stop cannot end after arrival",
                ));
            } else if to < a - Duration::days(14) {
                e.push(err(
                    &format!("{prefix}.to"),
                    "outside_window",
                    "只需填写抵达前14天内的途经地",
                    "only stops within the 14 days before arrival",
                ));
            }
        }
        itinerary.push(Stop { place: p, from, to });
    }
    let abroad = input.abroad.and_then(|a| {
        // Picked by name on the form; the ISO code (or a name) over the API.
        let country = bihuan_domain::countries::find(&a.country);
        let country_ok = country.is_some();
        if !country_ok {
            e.push(err(
                "abroad.country",
                "country",
                "请从列表中选择国家或地区（或填写两位代码，如 US）",
                "choose a country or region from the list (or a two-letter code such as US)",
            ));
        }
        let entered = date_field(e, "abroad.entered_china_on", &a.entered_china_on);
        if let (Some(d), Some(arr)) = (entered, arrival)
            && d > arr
        {
            e.push(err(
                "abroad.entered_china_on",
                "after_arrival",
                "入境日期不能晚于抵达日期",
                "entry cannot be after arrival",
            ));
        }
        Some(Abroad {
            country: country?.code.to_string(),
            entered_china_on: entered?,
        })
    });
    let health_code = HealthCode::parse(input.health_code);
    if health_code.is_none() {
        e.push(err(
            "health_code",
            "health_code",
            "健康码颜色无效",
            "green, yellow or red",
        ));
    }
    let negative_test_48h = input.negative_test_48h.and_then(|s| {
        let d = date_field(e, "negative_test_48h", s)?;
        let a = arrival?;
        if d > a || d < a - Duration::days(2) {
            e.push(err(
                "negative_test_48h",
                "outside_48h",
                "核酸检测须在抵达前48小时内",
                "the test must be within 48 hours before arrival",
            ));
            return None;
        }
        Some(d)
    });
    if input.symptoms.len() > Symptom::ALL.len() {
        e.push(err(
            "symptoms",
            "too_many",
            "症状选项过多",
            "too many symptoms",
        ));
    }
    let mut symptoms = Vec::new();
    for (i, s) in input.symptoms.iter().take(Symptom::ALL.len()).enumerate() {
        match Symptom::parse(s) {
            Some(x) if !symptoms.contains(&x) => symptoms.push(x),
            Some(_) => {}
            None => e.push(err(
                &format!("symptoms.{i}"),
                "symptom",
                "症状无效",
                "unknown symptom",
            )),
        }
    }
    Some(Facts {
        arrival: arrival?,
        origin: origin?,
        departed_on: departed_on?,
        itinerary,
        abroad,
        health_code: health_code?,
        symptoms,
        negative_test_48h,
    })
}

/// ",110106,420106," — the counties a declaration touches, for re-triage.
pub fn counties_key(f: &Facts) -> String {
    let mut counties: Vec<&str> = std::iter::once(f.origin.county.as_str())
        .chain(f.itinerary.iter().map(|s| s.place.county.as_str()))
        .collect();
    counties.sort_unstable();
    counties.dedup();
    format!(",{},", counties.join(","))
}

/// The status a receipt shows while its identity change waits for the grid.
pub const IDENTITY_PENDING: &str = "identity_pending";
/// The verification task's reason for a declared identity change.
pub const IDENTITY_REASON: &str = "信息变更待核实";
/// Hours the grid has to verify a declared identity change.
pub const IDENTITY_VERIFY_HOURS: u32 = 24;

/// How a declaration's identity compares with the person on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The declaration created the person.
    New,
    /// Name, phone and region agree with the person on file.
    Same,
    /// Name and phone agree; the declared destination is another region.
    Moved,
    /// The name or the phone differs from the one on file (or is blank
    /// there). Nothing of this declaration acts on the person (identity,
    /// control, colour) until the grid confirms it.
    Pending,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::New => "new",
            Identity::Same => "same",
            Identity::Moved => "moved",
            Identity::Pending => "pending",
        }
    }

    /// The receipt may speak for the person on file.
    pub fn trusted(self) -> bool {
        self != Identity::Pending
    }

    /// Something on file would change once the grid confirms it.
    pub fn proposes(self) -> bool {
        matches!(self, Identity::Moved | Identity::Pending)
    }
}

pub struct OnFile<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub region: &'a str,
}

/// The name and the phone must be the ones on file: a blank on file (a
/// resident from the roll, a tube member added by number, a phone that no
/// longer decrypts) is a change like any other, for the grid to confirm.
/// The region agrees when the person's grid lies in the declared village.
pub fn compare_identity(existed: bool, f: &OnFile<'_>, v: &ValidDeclaration) -> Identity {
    let name = !f.name.trim().is_empty() && f.name.trim() == v.name.trim();
    let phone = !f.phone.is_empty() && f.phone == v.phone.as_str();
    let region = f.region.starts_with(v.village.as_str());
    match (name && phone, region) {
        (false, _) => Identity::Pending,
        (true, false) => Identity::Moved,
        (true, true) if existed => Identity::Same,
        (true, true) => Identity::New,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlView {
    pub category: String,
    pub measure: String,
    pub policy_version: String,
    pub status: String,
    pub reasons: Vec<String>,
    pub plan: bihuan_domain::plan::Plan,
}

impl ControlView {
    /// Without the reasons when the control came from another declaration
    /// (its travel and symptoms are not this receipt's to show).
    pub fn own_reasons_only(mut self, own: bool) -> Self {
        if !own {
            self.reasons.clear();
        }
        self
    }

    pub fn new(a: &Assessment, status: &str) -> Self {
        ControlView {
            category: a.category.clone(),
            measure: a.measure.clone(),
            policy_version: a.policy_version.clone(),
            status: status.to_string(),
            reasons: a.reasons.iter().map(|r| r.zh.clone()).collect(),
            plan: a.plan.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Declared {
    pub declaration_id: i64,
    pub person_id: i64,
    pub receipt: String,
    pub status_url: String,
    pub assessment: Assessment,
    pub control: ControlView,
    /// The declared name or phone differs from the identity on file: the
    /// receipt shows this declaration only until the grid confirms it.
    pub identity_pending: bool,
}

impl Services {
    pub async fn declare(&self, input: DeclarationInput) -> Result<Declared> {
        let valid = parse(&input, self.clock.today())?;
        let svc = self.clone();
        self.db
            .write(move |c| {
                Box::pin(async move { svc.declare_in(c, &input, valid, "public").await })
            })
            .await
    }

    /// A declaration in the caller's transaction. `actor` is "public" for
    /// the person's own, or who declared on their behalf (a checkpoint).
    pub(crate) async fn declare_in(
        &self,
        c: &mut sqlx::AnyConnection,
        input: &DeclarationInput,
        v: ValidDeclaration,
        actor: &str,
    ) -> Result<Declared> {
        let now = self.clock.timestamp();
        // Publishing risk areas takes this lock exclusively, so no
        // declaration slips between a listing and its re-triage.
        crate::storage::advisory_lock(
            c,
            self.db.backend(),
            super::risk_areas::TRIAGE_LOCK,
            crate::storage::Share::Shared,
        )
        .await?;
        let declared_grid = repo::first_grid(c, v.village.as_str())
            .await?
            .ok_or_else(|| {
                Error::field(
                    "destination.village",
                    "village",
                    "该村(社区)不在本市管辖范围内",
                    "not a village managed here",
                )
            })?;
        let lookup = self.vault.lookup(&v.document.lookup_key_material());
        let existed = crate::storage::testing::person_by_document(c, &lookup)
            .await?
            .is_some();
        let phone_enc = self.vault.encrypt(v.phone.as_str());
        let phone_masked = v.phone.masked();
        // Finds or creates the person; an existing identity is never
        // overwritten by what a declaration says.
        let person_id = repo::upsert_person(
            c,
            &repo::NewPerson {
                doc_type: v.document.kind().as_str(),
                doc_lookup: &lookup,
                doc_enc: &self.vault.encrypt(v.document.number()),
                doc_masked: &v.document.masked(),
                name: &v.name,
                phone_enc: &phone_enc,
                phone_masked: &phone_masked,
                region: &declared_grid,
            },
            now,
        )
        .await?;
        let on_file = repo::person_in(c, person_id, "")
            .await?
            .ok_or(Error::NotFound)?;
        let file_phone = self.vault.decrypt(&on_file.phone_enc).unwrap_or_default();
        let identity = compare_identity(
            existed,
            &OnFile {
                name: &on_file.name,
                phone: &file_phone,
                region: &on_file.region,
            },
            &v,
        );
        // The person's grid on file does the work; a different declared
        // destination waits for its verification.
        let grid = on_file.region.clone();
        let proposed = identity.proposes().then_some(repo::ProposedIdentity {
            name: &v.name,
            phone_enc: &phone_enc,
            phone_masked: &phone_masked,
            region: &declared_grid,
        });
        let counties = counties_key(&v.facts);
        let county_list: Vec<&str> = counties.trim_matches(',').split(',').collect();
        let areas = repo::risk_areas_in(c, &county_list).await?;
        let assessment = triage(&self.policy, &areas, &v.facts);
        // The signal as received, with the identity number and phone masked:
        // their only copy is the encrypted one on the person.
        let mut payload = input.clone();
        payload.id_number = v.document.masked();
        payload.phone = v.phone.masked();
        let receipt = crypto::token(12);
        let declaration_id = repo::insert_declaration(
            c,
            &repo::NewDeclaration {
                person_id,
                receipt: &receipt,
                arrival_date: &v.facts.arrival.to_string(),
                village: v.village.as_str(),
                address: &v.address,
                counties: &counties,
                payload: &serde_json::to_string(&payload).expect("serialisable"),
                facts: &serde_json::to_string(&v.facts).expect("serialisable"),
                category: &assessment.category,
                policy_version: &assessment.policy_version,
                assessment: &serde_json::to_string(&assessment).expect("serialisable"),
                identity: identity.as_str(),
                proposed,
            },
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            actor,
            Some(person_id),
            None,
            "declared",
            &json!({
                "declaration_id": declaration_id,
                "name": mask_name(&v.name),
                "arrival": v.facts.arrival,
                "village": v.village.as_str(),
                "category": assessment.category,
                "identity": identity.as_str(),
                "on_behalf": actor != "public",
            }),
        )
        .await?;
        // A declaration whose identity waits acts on nobody: its assessment
        // is held on the declaration (and named in the verification task)
        // and applied when the grid confirms (`apply_held`), so an ID number
        // alone cannot raise anyone's control or turn their code red.
        let applied = if identity.trusted() {
            Some(
                control::apply(
                    c,
                    &self.policy,
                    Change {
                        person_id,
                        declaration_id: Some(declaration_id),
                        grid: &grid,
                        assessment: &assessment,
                        because: None,
                        always_dispatch: true,
                        actor,
                        now,
                    },
                )
                .await?,
            )
        } else {
            None
        };
        if identity.proposes() {
            let mut what = Vec::new();
            if identity == Identity::Pending {
                what.push("姓名或手机号".to_string());
            }
            if !on_file.region.starts_with(v.village.as_str()) {
                what.push(format!("居住地（申报目的地 {}）", v.village.as_str()));
            }
            let mut reason = format!("{IDENTITY_REASON}：{}", what.join("、"));
            let mut hours = IDENTITY_VERIFY_HOURS;
            if applied.is_none() {
                // The held assessment: what confirming will put in force,
                // and as soon as its own category asks for a visit.
                reason.push_str(&held_note(&assessment));
                hours = [
                    Some(hours),
                    assessment.verify_within_hours,
                    assessment.fever_transfer_within_hours,
                ]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(hours);
            }
            control::open_task(
                c,
                &control::NewTask {
                    person_id,
                    kind: bihuan_domain::task::TaskKind::Verify,
                    region: &grid,
                    hours,
                    reason: &reason,
                    actor,
                    now,
                },
            )
            .await?;
        }
        // The answer speaks only of this declaration: a stranger's receipt
        // learns nothing of the person on file.
        let control = match &applied {
            Some(applied) => {
                let own = repo::control(c, person_id)
                    .await?
                    .is_some_and(|k| k.declaration_id == Some(declaration_id));
                ControlView::new(&applied.control, &applied.status).own_reasons_only(own)
            }
            None => ControlView::new(&assessment, IDENTITY_PENDING),
        };
        Ok(Declared {
            declaration_id,
            person_id,
            status_url: format!("/s/{receipt}"),
            receipt,
            control,
            identity_pending: !identity.trusted(),
            assessment,
        })
    }
}

/// "；申报研判：… ，核实确认后执行" — a held assessment, in a task's reason.
fn held_note(a: &Assessment) -> String {
    let mut note = format!("；申报研判：{}", a.measure);
    if a.plan.is_empty() && a.verify_within_hours.is_none() {
        note.push_str("（仅登记）");
    }
    if let Some(r) = a.reasons.iter().map(|r| r.zh.as_str()).next() {
        note.push_str(&format!("（{r}）"));
    }
    note.push_str("，核实确认后执行");
    note
}

impl Services {
    /// The grid confirmed a declaration whose name or phone did not match:
    /// its facts are triaged again (risk areas may have changed while it
    /// waited) and applied as if it had been trusted when it arrived. Called
    /// in the confirming transaction, after the identity is applied.
    pub(crate) async fn apply_held(
        &self,
        c: &mut sqlx::AnyConnection,
        declaration_id: i64,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        let d = repo::declaration_by_id(c, declaration_id)
            .await?
            .ok_or(Error::NotFound)?;
        let facts: Facts = serde_json::from_str(&d.facts)
            .map_err(|e| Error::Internal(format!("stored facts: {e}")))?;
        let counties = counties_key(&facts);
        let counties: Vec<&str> = counties.trim_matches(',').split(',').collect();
        let areas = repo::risk_areas_in(c, &counties).await?;
        let assessment = triage(&self.policy, &areas, &facts);
        let grid = repo::person_in(c, d.person_id, "")
            .await?
            .ok_or(Error::NotFound)?
            .region;
        control::apply(
            c,
            &self.policy,
            Change {
                person_id: d.person_id,
                declaration_id: Some(declaration_id),
                grid: &grid,
                assessment: &assessment,
                because: None,
                always_dispatch: true,
                actor,
                now,
            },
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn valid() -> DeclarationInput {
        DeclarationInput {
            name: "张三".into(),
            id_type: "resident".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            origin: OriginInput {
                county: "110106".into(),
                township: Some("110106003".into()),
                departed_on: "2022-01-26".into(),
            },
            itinerary: vec![],
            abroad: None,
            arrival: ArrivalInput {
                date: "2022-01-28".into(),
                mode: "train".into(),
                number: Some("G1234".into()),
            },
            destination: DestinationInput {
                village: "330784001001".into(),
                address: "园丁路1号".into(),
            },
            health_code: "green".into(),
            vaccine_doses: 3,
            negative_test_48h: None,
            symptoms: vec![],
        }
    }

    fn today() -> Date {
        "2022-01-28".parse().unwrap()
    }

    fn fields(r: std::result::Result<ValidDeclaration, FieldErrors>) -> Vec<String> {
        r.unwrap_err().0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_declaration_parses() {
        let v = parse(&valid(), today()).unwrap();
        assert_eq!(v.facts.origin.township.as_deref(), Some("110106003"));
        assert_eq!(counties_key(&v.facts), ",110106,");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = valid();
        i.id_number = "110105194912310021".into();
        i.phone = "12800138000".into();
        i.arrival.date = "2022-02-30".into();
        i.origin.township = Some("120101001".into());
        i.health_code = "blue".into();
        i.symptoms = vec!["<script>".into()];
        i.destination.address = "x".repeat(201);
        assert_eq!(
            fields(parse(&i, today())),
            [
                "id_number",
                "phone",
                "arrival.date",
                "origin.township",
                "health_code",
                "symptoms.0",
                "destination.address"
            ]
        );
    }

    #[test]
    fn dates_are_checked_against_arrival_and_today() {
        let mut i = valid();
        i.arrival.date = "2022-02-12".into();
        assert_eq!(fields(parse(&i, today())), ["arrival.date"]);
        let mut i = valid();
        i.origin.departed_on = "2022-01-29".into();
        i.negative_test_48h = Some("2022-01-25".into());
        i.itinerary = vec![StopInput {
            county: "420106".into(),
            township: None,
            from: "2022-01-10".into(),
            to: "2022-01-12".into(),
        }];
        assert_eq!(
            fields(parse(&i, today())),
            ["origin.departed_on", "itinerary.0.to", "negative_test_48h"]
        );
    }

    #[test]
    fn the_destination_must_be_a_village() {
        let mut i = valid();
        i.destination.village = "330784001".into();
        assert_eq!(fields(parse(&i, today())), ["destination.village"]);
        i.destination.village = "1 OR 1=1".into();
        assert_eq!(fields(parse(&i, today())), ["destination.village"]);
    }
}
