//! 场所码: venues registered by a village (or their manager), approved by the
//! town, and the check-ins made by scanning their codes — on the public phone
//! page, by a helper for someone else (代扫), or in batches from scanners.

use bihuan_domain::identity::{DocumentNumber, DocumentType, Phone};
use bihuan_domain::policy::HealthCode;
use bihuan_domain::regions::RegionCode;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use bihuan_domain::venue::{Entry, VenueState, parse_venue_code, venue_code};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::{Actor, Services};
use crate::crypto;
use crate::error::{Error, Result};
use crate::storage::checkins::{NewCheckin, insert_checkins};
use crate::storage::monitoring as monitoring_store;
use crate::storage::repo;
use crate::storage::testing as testing_store;
use crate::storage::venues::{self as store, VenueRow};

/// The one answer to a 代扫 that does not match a person on file.
pub const PROXY_REFUSAL: Error = Error::Refused {
    code: "proxy_refused",
    zh: "无法代为登记：请核对证件号码和姓名，或由本人扫码登记",
    en: "cannot check in for this person: check the document number and name, or let them scan themselves",
};

/// The one answer to a self check-in whose document, name and phone do not
/// match the person on file (or whose phone on file is blank): like
/// [`PROXY_REFUSAL`], it shows and stores nothing.
pub const VISITOR_REFUSAL: Error = Error::Refused {
    code: "visitor_refused",
    zh: "无法登记：请核对证件号码、姓名和手机号；信息待网格核实后可用，如有疑问请联系所在村(社区)",
    en: "cannot check in: check the document number, name and phone; if your details await the grid's verification, please contact your village or community",
};

/// 代扫 tries per hour per device and per visitor (the person checking in
/// for someone else).
pub const PROXY_SCANS_PER_HOUR: u32 = 10;
/// 代扫 tries per hour per client address (an IPv6 address by its /64):
/// shared by everyone behind one NAT, so larger; it is what a fresh
/// visitor identity on a fresh device still meets.
pub const PROXY_SCANS_PER_ADDRESS_PER_HOUR: u32 = 30;
/// Keys counted in one hour; when full, a new key is refused (fail closed).
const PROXY_KEYS_KEPT: usize = 100_000;

/// What one 代扫 try is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyKey {
    /// The device id carried in the visitor cookie (kept across identities).
    Device(String),
    /// The visitor's person id.
    Visitor(i64),
    /// The client address (IPv6 cut to its /64).
    Address(std::net::IpAddr),
}

impl ProxyKey {
    pub fn address(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ProxyKey::Address(v4.into()),
                None => {
                    let mut o = v6.octets();
                    o[8..].fill(0);
                    ProxyKey::Address(std::net::Ipv6Addr::from(o).into())
                }
            },
            v4 => ProxyKey::Address(v4),
        }
    }

    fn limit(&self) -> u32 {
        match self {
            ProxyKey::Address(_) => PROXY_SCANS_PER_ADDRESS_PER_HOUR,
            _ => PROXY_SCANS_PER_HOUR,
        }
    }
}

/// Where a public visit comes from: its client address and the visitor
/// cookie it carries, if any (used to key the 代扫 limit even when the
/// visitor identifies by document).
#[derive(Debug, Clone, Default)]
pub struct VisitFrom {
    pub addr: Option<std::net::IpAddr>,
    pub device: Option<String>,
}

/// Counts 代扫 tries in fixed hour windows, in memory (per process), per
/// device, per visitor and per client address: every try counts against
/// every key, refused ones too, and a try is allowed only while every key
/// is within its limit.
#[derive(Default)]
pub struct ProxyScans {
    windows: std::sync::Mutex<(i64, std::collections::HashMap<ProxyKey, u32>)>,
}

impl ProxyScans {
    pub fn allow(&self, keys: &[ProxyKey], now: i64) -> bool {
        let hour = now / 3600;
        let mut w = self.windows.lock().expect("proxy scans lock");
        let (window, counts) = &mut *w;
        if *window != hour {
            // Swept once per window, never per request.
            counts.clear();
            *window = hour;
        }
        let mut ok = true;
        for k in keys {
            if !counts.contains_key(k) && counts.len() >= PROXY_KEYS_KEPT {
                ok = false;
                continue;
            }
            let n = counts.entry(k.clone()).or_insert(0);
            *n = n.saturating_add(1);
            ok &= *n <= k.limit();
        }
        ok
    }
}

/// A batch from a scanner device or a venue's own system.
pub const MAX_BATCH: usize = 5_000;
/// How far back a scanner may report a stay.
const MAX_AGE_DAYS: i64 = 30;
/// A reported leaving time is at most this long after the arrival.
const MAX_STAY_HOURS: i64 = 24;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    pub name: String,
    /// A venue type of the policy (`[[venue_type]]`).
    pub kind: String,
    /// The village or grid it stands in.
    pub region: String,
    pub address: String,
}

/// Someone checking in on the public page: the remembered device, or the
/// document and phone the first time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub id_type: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    /// 代扫: the child or elderly person checked in by this visitor.
    #[serde(default)]
    pub for_other: Option<OtherInput>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherInput {
    pub id_type: String,
    pub id_number: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Visit {
    pub venue: String,
    pub person_name: String,
    pub colour: &'static str,
    pub entry: Entry,
    pub banner_zh: &'static str,
    pub banner_en: &'static str,
    pub at: i64,
    /// Remembers the visitor on this device (not the person checked in for).
    pub device: String,
    pub for_other: bool,
}

/// One stay from a scanner.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckinInput {
    pub venue: String,
    #[serde(default)]
    pub person: Option<i64>,
    #[serde(default)]
    pub id_type: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub at: String,
    #[serde(default)]
    pub left_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckinReport {
    pub stored: usize,
    pub new_persons: usize,
}

/// Who the stay is for.
enum Who {
    Person(i64),
    Document(DocumentNumber, String),
}

struct ParsedCheckin {
    venue_id: i64,
    who: Who,
    t_in: i64,
    t_out: Option<i64>,
}

impl Services {
    pub(crate) fn venue_signature(&self, id: i64) -> String {
        self.vault.lookup(&format!("venue:{id}"))[..16].to_string()
    }

    /// The code's signature is ours.
    fn signed(&self, code: &str) -> bool {
        parse_venue_code(code).is_some_and(|(id, sig)| {
            crypto::constant_time_eq(sig.as_bytes(), self.venue_signature(id).as_bytes())
        })
    }

    /// The approved venue a scanned code names, checking its signature.
    async fn venue_by_code(&self, c: &mut AnyConnection, code: &str) -> Result<VenueRow> {
        let (id, _) = parse_venue_code(code).ok_or(Error::NotFound)?;
        if !self.signed(code) {
            return Err(Error::NotFound);
        }
        let v = store::venue_in(c, id, "").await?.ok_or(Error::NotFound)?;
        if v.state != VenueState::Approved.as_str() {
            return Err(Error::NotFound);
        }
        Ok(v)
    }

    fn typical_stay(&self, kind: &str) -> i64 {
        self.policy
            .venue_type(kind)
            .map_or(60, |t| i64::from(t.typical_stay_minutes))
            * 60
    }

    /// A village, town or the command registers a venue; it waits for the
    /// town's approval. Villages register inside their own village.
    pub async fn register_venue(&self, actor: &Actor, input: VenueInput) -> Result<VenueRow> {
        let mut e = FieldErrors::default();
        let name = e.take(validation::text("name", &input.name, 60));
        if self.policy.venue_type(&input.kind).is_none() {
            e.push(FieldError::new(
                "kind",
                "kind",
                "请选择场所类型",
                "choose a venue type",
            ));
        }
        let region = e.take(RegionCode::parse(&input.region, "region"));
        if region
            .as_ref()
            .is_some_and(|r| r.as_str().len() < 12 || !actor.region.contains(r))
        {
            e.push(FieldError::new(
                "region",
                "scope",
                "区域须为本辖区内的村社区或网格",
                "a village or grid inside your region",
            ));
        }
        let address = e.take(validation::text("address", &input.address, 200));
        let (Some(name), Some(region), Some(address)) = (name, region, address) else {
            return Err(e.into());
        };
        e.into_result(())?;
        if actor.role == bihuan_domain::access::Role::GridWorker {
            return Err(Error::Forbidden);
        }
        let (svc, who, now) = (self.clone(), actor.username.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if repo::region(c, region.as_str()).await?.is_none() {
                        return Err(Error::field(
                            "region",
                            "unknown",
                            "区域不存在",
                            "no such region",
                        ));
                    }
                    let id = store::insert_venue(
                        c,
                        &store::NewVenue {
                            name: &name,
                            kind: &input.kind,
                            region: region.as_str(),
                            address: &address,
                            created_by: &who,
                        },
                        now,
                    )
                    .await?;
                    let code = venue_code(id, &svc.venue_signature(id));
                    store::set_venue_code(c, id, &code).await?;
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "venue_registered",
                        &json!({"venue": id, "name": name}),
                    )
                    .await?;
                    store::venue_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    /// The town (or the command) approves or rejects a pending venue.
    pub async fn decide_venue(&self, actor: &Actor, id: i64, approve: bool) -> Result<VenueRow> {
        if !actor.role.can_review() || actor.region.as_str().len() > 9 {
            return Err(Error::Forbidden);
        }
        let (scope, who, now) = (
            actor.scope().to_string(),
            actor.username.clone(),
            self.clock.timestamp(),
        );
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let v = store::venue_in(c, id, &scope)
                        .await?
                        .ok_or(Error::NotFound)?;
                    let from = VenueState::parse(&v.state)
                        .ok_or_else(|| Error::Internal(format!("venue state {}", v.state)))?;
                    let Some(to) = from.decide(approve) else {
                        return Err(Error::Refused {
                            code: "decided",
                            zh: "该场所已审核",
                            en: "this venue has been decided already",
                        });
                    };
                    if !store::decide_venue(c, id, from.as_str(), to.as_str(), &who, now).await? {
                        return Err(Error::Conflict("venue decided concurrently".into()));
                    }
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "venue_decided",
                        &json!({"venue": id, "state": to.as_str()}),
                    )
                    .await?;
                    store::venue_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    pub async fn venues(&self, actor: &Actor) -> Result<Vec<VenueRow>> {
        let mut c = self.db.pool().acquire().await?;
        store::venues_in(&mut c, actor.scope(), 500).await
    }

    pub async fn venue(&self, actor: &Actor, id: i64) -> Result<VenueRow> {
        let mut c = self.db.pool().acquire().await?;
        store::venue_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)
    }

    /// The venue a public scan opens.
    pub async fn public_venue(&self, code: &str) -> Result<VenueRow> {
        let mut c = self.db.pool().acquire().await?;
        self.venue_by_code(&mut c, code).await
    }

    /// The person a device remembers and the device's id (absent in
    /// cookies issued before device ids), if the token is ours.
    fn device_person(&self, device: &str) -> Option<(i64, Option<String>)> {
        let plain = self.vault.decrypt(device)?;
        let rest = plain.strip_prefix("visitor:")?;
        let (id, device_id) = match rest.split_once(':') {
            Some((id, d)) => (id, Some(d.to_string())),
            None => (rest, None),
        };
        Some((id.parse().ok()?, device_id))
    }

    /// 扫码登记 on the public page: one stay now, lasting the venue type's
    /// typical stay, and the banner of the person's current colour.
    pub async fn visit(&self, code: &str, input: VisitInput, from: VisitFrom) -> Result<Visit> {
        let today = self.clock.today();
        let remembered = input.device.as_deref().and_then(|d| self.device_person(d));
        // The device keeps its id whoever checks in on it next.
        let device_id = remembered
            .as_ref()
            .or(from
                .device
                .as_deref()
                .and_then(|d| self.device_person(d))
                .as_ref())
            .and_then(|(_, d)| d.clone());
        let mut e = FieldErrors::default();
        let me = match remembered {
            Some((id, _)) => Some(Who::Person(id)),
            None => {
                let doc = parse_document(&mut e, "", &input.id_type, &input.id_number, today);
                let name = e.take(validation::text("name", &input.name, 50));
                let phone = match &doc {
                    Some(d) => e.take(Phone::parse_for(&input.phone, "phone", d.kind())),
                    None => e.take(Phone::parse(&input.phone, "phone")),
                };
                match (doc, name, phone) {
                    (Some(d), Some(n), Some(p)) => {
                        Some(Who::Document(d, format!("{n}\u{1f}{}", p.as_str())))
                    }
                    _ => None,
                }
            }
        };
        let other = match &input.for_other {
            Some(o) => {
                let doc = parse_document(&mut e, "for_other.", &o.id_type, &o.id_number, today);
                let name = e.take(validation::text("for_other.name", &o.name, 50));
                doc.zip(name).map(|(d, n)| Who::Document(d, n))
            }
            None => None,
        };
        let Some(me) = me else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (svc, code) = (self.clone(), code.to_string());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let v = svc.venue_by_code(c, &code).await?;
                    // (visitor, created by this visit)
                    let (visitor, created) = match me {
                        Who::Person(id) => (id, false),
                        Who::Document(doc, name_phone) => {
                            let (name, phone) =
                                name_phone.split_once('\u{1f}').unwrap_or((&name_phone, ""));
                            svc.visitor(c, &doc, name, phone, &v.region, now).await?
                        }
                    };
                    let (person, helper) = match other {
                        Some(Who::Document(doc, name)) => {
                            // A visitor this try created has no budget of
                            // its own (its id is not yet anyone's: a refused
                            // try rolls it back): the device and address count.
                            let mut keys: Vec<ProxyKey> = (!created)
                                .then_some(ProxyKey::Visitor(visitor))
                                .into_iter()
                                .collect();
                            keys.extend(device_id.clone().map(ProxyKey::Device));
                            keys.extend(from.addr.map(ProxyKey::address));
                            if !svc.proxy_scans.allow(&keys, now) {
                                return Err(Error::Locked);
                            }
                            (svc.proxy_person(c, &doc, &name).await?, Some(visitor))
                        }
                        _ => (visitor, None),
                    };
                    let stay = NewCheckin {
                        venue_id: v.id,
                        person_id: person,
                        t_in: now,
                        t_out: now + svc.typical_stay(&v.kind),
                        left_given: false,
                        helper_id: helper,
                        source: "page".into(),
                        created_at: now,
                    };
                    insert_checkins(c, &[stay]).await?;
                    let colour = svc.refresh_colour(c, person, "venue", now).await?;
                    let entry = Entry::for_colour(colour);
                    let person_name = repo::person_in(c, person, "")
                        .await?
                        .map(|p| bihuan_domain::identity::mask_name(&p.name))
                        .unwrap_or_default();
                    Ok(Visit {
                        venue: v.name,
                        person_name,
                        colour: colour.as_str(),
                        entry,
                        banner_zh: entry.label_zh(),
                        banner_en: entry.label_en(),
                        at: now,
                        device: svc.vault.encrypt(&format!(
                            "visitor:{visitor}:{}",
                            device_id.unwrap_or_else(|| crypto::token(8))
                        )),
                        for_other: helper.is_some(),
                    })
                })
            })
            .await
    }

    /// The visitor named by document, name and phone. Someone new is created
    /// in the venue's grid; someone known must give the full name and the
    /// phone on file, and a person with no phone on file cannot check in by
    /// document (a tube member added by number, a resident from the roll:
    /// their phone comes through a declaration the grid confirms). Every
    /// mismatch answers the same neutral refusal, and nothing is stored.
    async fn visitor(
        &self,
        c: &mut AnyConnection,
        doc: &DocumentNumber,
        name: &str,
        phone: &str,
        venue_region: &str,
        now: i64,
    ) -> Result<(i64, bool)> {
        let lookup = self.vault.lookup(&doc.lookup_key_material());
        if let Some((id, _)) = testing_store::person_by_document(c, &lookup).await? {
            let p = repo::person_in(c, id, "").await?.ok_or(Error::NotFound)?;
            let on_file = self.vault.decrypt(&p.phone_enc).unwrap_or_default();
            let name_ok = !p.name.trim().is_empty() && p.name.trim() == name.trim();
            if on_file.is_empty() || on_file != phone || !name_ok {
                return Err(VISITOR_REFUSAL);
            }
            return Ok((id, false));
        }
        self.new_person(c, doc, name, phone, venue_region, now)
            .await
            .map(|id| (id, true))
    }

    /// The person a helper checks in (代扫): someone on file whose full name
    /// matches the document's. Anything else (no such person, another name,
    /// no name on file) answers the same neutral refusal, so the page is no
    /// oracle of who exists or of anyone's colour, and nothing is stored.
    async fn proxy_person(
        &self,
        c: &mut AnyConnection,
        doc: &DocumentNumber,
        name: &str,
    ) -> Result<i64> {
        let lookup = self.vault.lookup(&doc.lookup_key_material());
        if let Some((id, _)) = testing_store::person_by_document(c, &lookup).await?
            && let Some(p) = repo::person_in(c, id, "").await?
            && !p.name.trim().is_empty()
            && p.name.trim() == name.trim()
        {
            return Ok(id);
        }
        Err(PROXY_REFUSAL)
    }

    async fn new_person(
        &self,
        c: &mut AnyConnection,
        doc: &DocumentNumber,
        name: &str,
        phone: &str,
        venue_region: &str,
        now: i64,
    ) -> Result<i64> {
        let grid = testing_store::first_grid_in(c, venue_region)
            .await?
            .ok_or_else(|| Error::Conflict("the venue's region has no grid".into()))?;
        let phone_masked = if phone.is_empty() {
            String::new()
        } else {
            Phone::parse(phone, "phone")?.masked()
        };
        let id = repo::upsert_person(
            c,
            &repo::NewPerson {
                doc_type: doc.kind().as_str(),
                doc_lookup: &self.vault.lookup(&doc.lookup_key_material()),
                doc_enc: &self.vault.encrypt(doc.number()),
                doc_masked: &doc.masked(),
                name,
                phone_enc: &self.vault.encrypt(phone),
                phone_masked: &phone_masked,
                region: &grid,
            },
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            "venue",
            Some(id),
            None,
            "person_created",
            &json!({"by": "check-in"}),
        )
        .await?;
        Ok(id)
    }

    /// Stays from a scanner or a venue's system, by an API token with the
    /// `checkins` scope. The batch is checked whole: one bad row stores none.
    /// Who sends check-ins with `token` (`token:<name>`): Unauthorized
    /// unless it is a live token of scope `checkins`.
    pub async fn checkin_source(&self, token: &str) -> Result<String> {
        let mut c = self.db.pool().acquire().await?;
        match monitoring_store::api_token(
            &mut c,
            &crypto::sha256_hex(token),
            self.clock.timestamp(),
        )
        .await?
        {
            Some((name, scope)) if scope == "checkins" => Ok(format!("token:{name}")),
            _ => Err(Error::Unauthorized),
        }
    }

    pub async fn ingest_checkins(
        &self,
        token: &str,
        rows: Vec<CheckinInput>,
    ) -> Result<CheckinReport> {
        let source = self.checkin_source(token).await?;
        if rows.is_empty() || rows.len() > MAX_BATCH {
            return Err(Error::field(
                "rows",
                "count",
                "每批1至5000条",
                "1 to 5,000 rows a batch",
            ));
        }
        let now = self.clock.timestamp();
        let today = self.clock.today();
        let mut e = FieldErrors::default();
        let parsed: Vec<Option<ParsedCheckin>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| parse_checkin(&mut e, i, r, now, today))
            .collect();
        e.into_result(())?;
        let parsed: Vec<ParsedCheckin> = parsed.into_iter().flatten().collect();
        let svc = self.clone();
        let codes: Vec<String> = rows.iter().map(|r| r.venue.trim().to_string()).collect();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let mut new_persons = 0;
                    let mut stays = Vec::with_capacity(parsed.len());
                    let mut kinds: Vec<(i64, String, String)> = Vec::new();
                    for (i, p) in parsed.iter().enumerate() {
                        let unknown = || {
                            Error::field(
                                &format!("[{i}].venue"),
                                "unknown",
                                "场所码无效或未审核",
                                "unknown or unapproved venue code",
                            )
                        };
                        // Every row's signature is checked; only the venue
                        // row is cached (a forged code after a valid one
                        // for the same id is still refused).
                        if !svc.signed(&codes[i]) {
                            return Err(unknown());
                        }
                        let (region, kind) = match kinds.iter().find(|k| k.0 == p.venue_id) {
                            Some(k) => (k.1.clone(), k.2.clone()),
                            None => {
                                let v = svc
                                    .venue_by_code(c, &codes[i])
                                    .await
                                    .map_err(|_| unknown())?;
                                kinds.push((v.id, v.region.clone(), v.kind.clone()));
                                (v.region, v.kind)
                            }
                        };
                        let person = match &p.who {
                            Who::Person(id) => repo::person_in(c, *id, "")
                                .await?
                                .map(|p| p.id)
                                .ok_or_else(|| {
                                    Error::field(
                                        &format!("[{i}].person"),
                                        "unknown",
                                        "无效的人员码",
                                        "unknown person",
                                    )
                                })?,
                            Who::Document(doc, name) => {
                                let lookup = svc.vault.lookup(&doc.lookup_key_material());
                                match testing_store::person_by_document(c, &lookup).await? {
                                    Some((id, _)) => id,
                                    None => {
                                        new_persons += 1;
                                        svc.new_person(c, doc, name, "", &region, now).await?
                                    }
                                }
                            }
                        };
                        stays.push(NewCheckin {
                            venue_id: p.venue_id,
                            person_id: person,
                            t_in: p.t_in,
                            t_out: p.t_out.unwrap_or(p.t_in + svc.typical_stay(&kind)),
                            left_given: p.t_out.is_some(),
                            helper_id: None,
                            source: source.clone(),
                            created_at: now,
                        });
                    }
                    insert_checkins(c, &stays).await?;
                    repo::insert_event(
                        c,
                        now,
                        &source,
                        None,
                        None,
                        "checkins_received",
                        &json!({"rows": parsed.len(), "new_persons": new_persons}),
                    )
                    .await?;
                    Ok(CheckinReport {
                        stored: parsed.len(),
                        new_persons,
                    })
                })
            })
            .await
    }

    /// The colour a person shows at an entrance, for the staff page.
    pub async fn colour_of(&self, person_id: i64) -> Result<HealthCode> {
        let mut c = self.db.pool().acquire().await?;
        Ok(monitoring_store::health_code_of(&mut c, person_id)
            .await?
            .as_deref()
            .and_then(HealthCode::parse)
            .unwrap_or(HealthCode::Green))
    }
}

/// A document from a type (blank: 居民身份证) and a number; errors under
/// `{prefix}id_type` / `{prefix}id_number`.
pub(crate) fn parse_document(
    e: &mut FieldErrors,
    prefix: &str,
    id_type: &str,
    number: &str,
    today: bihuan_domain::Date,
) -> Option<DocumentNumber> {
    let kind = if id_type.trim().is_empty() {
        Some(DocumentType::Resident)
    } else {
        DocumentType::parse(id_type.trim())
    };
    match kind {
        Some(k) => e.take(DocumentNumber::parse(
            k,
            number,
            &format!("{prefix}id_number"),
            today,
        )),
        None => {
            e.push(FieldError::new(
                format!("{prefix}id_type"),
                "id_type",
                "证件类型无效",
                "unknown document type",
            ));
            None
        }
    }
}

fn parse_instant(e: &mut FieldErrors, field: &str, v: &str) -> Option<i64> {
    match chrono::DateTime::parse_from_rfc3339(v.trim()) {
        Ok(t) => Some(t.timestamp()),
        Err(_) => {
            e.push(FieldError::new(
                field,
                "datetime",
                "时间格式应为 2022-01-28T10:00:00+08:00",
                "an RFC 3339 time, e.g. 2022-01-28T10:00:00+08:00",
            ));
            None
        }
    }
}

fn parse_checkin(
    e: &mut FieldErrors,
    i: usize,
    r: &CheckinInput,
    now: i64,
    today: bihuan_domain::Date,
) -> Option<ParsedCheckin> {
    let at = |f: &str| format!("[{i}].{f}");
    let venue = parse_venue_code(&r.venue).map(|(id, _)| id);
    if venue.is_none() {
        e.push(FieldError::new(
            at("venue"),
            "venue",
            "场所码无效",
            "not a venue code",
        ));
    }
    let who = match (r.person, &r.id_number) {
        (Some(id), None) if id > 0 => Some(Who::Person(id)),
        (None, Some(n)) => {
            let mut inner = FieldErrors::default();
            let doc = parse_document(&mut inner, "", r.id_type.as_deref().unwrap_or(""), n, today);
            for err in inner.0 {
                e.push(err.under(&format!("[{i}]")));
            }
            let name = r.name.as_deref().unwrap_or("").trim();
            if name.chars().count() > 50 {
                e.push(FieldError::new(
                    at("name"),
                    "too_long",
                    "姓名过长",
                    "name too long",
                ));
            }
            doc.map(|d| Who::Document(d, name.to_string()))
        }
        _ => {
            e.push(FieldError::new(
                at("person"),
                "person",
                "请给出人员码，或证件类型和号码（二选一）",
                "give either person or id_type + id_number",
            ));
            None
        }
    };
    let t_in = parse_instant(e, &at("at"), &r.at);
    if let Some(t) = t_in
        && (t > now + 300 || t < now - MAX_AGE_DAYS * 86_400)
    {
        e.push(FieldError::new(
            at("at"),
            "range",
            "进场时间须在过去30天内",
            "the arrival must be within the past 30 days",
        ));
    }
    let t_out = match &r.left_at {
        Some(v) => {
            let t = parse_instant(e, &at("left_at"), v);
            if let (Some(a), Some(b)) = (t_in, t)
                && (b < a || b - a > MAX_STAY_HOURS * 3600)
            {
                e.push(FieldError::new(
                    at("left_at"),
                    "range",
                    "离场时间须在进场之后24小时内",
                    "leaving must be within 24 hours after the arrival",
                ));
            }
            t
        }
        None => None,
    };
    Some(ParsedCheckin {
        venue_id: venue?,
        who: who?,
        t_in: t_in?,
        t_out: match (&r.left_at, t_out) {
            (Some(_), None) => return None,
            (_, t) => t,
        },
    })
}
