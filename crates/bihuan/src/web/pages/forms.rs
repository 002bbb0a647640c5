//! Form bodies as typed, and their translation into the use cases' inputs.
//! HTML field names are the use cases' field paths with `.` written `_`
//! (`origin.county` → `origin_county`), so an error finds its input.

use bihuan_domain::validation::{FieldError, number_text};

use super::Lang;
use super::i18n::{EN, ZH};
use crate::usecases::care::{HelpInput, TransferInput};
use crate::usecases::declare::{
    AbroadInput, ArrivalInput, DeclarationInput, DestinationInput, OriginInput, StopInput,
};
use crate::usecases::monitoring::{CheckInInput, TestInput};
use crate::usecases::risk_areas::RiskAreaInput;
use crate::usecases::rounds::RoundInput;
use crate::usecases::sites::SiteInput;
use crate::usecases::tasks::{Corrections, ReportInput};
use crate::usecases::testing::{MemberInput, OpenTubeInput};
use crate::usecases::zones::ZoneInput;

/// Rows of 途经地 the form offers.
pub const STOP_ROWS: usize = 3;

/// A urlencoded body as its pairs, repeated names included.
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// One county (and maybe township) picked in a form.
#[derive(Debug, Clone, Default)]
pub struct PlaceForm {
    pub county: String,
    pub township: String,
}

#[derive(Debug, Clone, Default)]
pub struct StopForm {
    pub place: PlaceForm,
    pub from: String,
    pub to: String,
}

impl StopForm {
    pub fn is_empty(&self) -> bool {
        [
            &self.place.county,
            &self.place.township,
            &self.from,
            &self.to,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// The 返永通 form, exactly as typed, so it can be shown again.
#[derive(Debug, Clone, Default)]
pub struct DeclareForm {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub origin: PlaceForm,
    pub departed_on: String,
    pub stops: Vec<StopForm>,
    pub abroad_country: String,
    pub abroad_entered: String,
    pub arrival_date: String,
    pub arrival_mode: String,
    pub arrival_number: String,
    pub village: String,
    pub address: String,
    pub health_code: String,
    pub vaccine_doses: String,
    pub negative_test_48h: String,
    pub symptoms: Vec<String>,
}

impl DeclareForm {
    /// An empty form with its defaults.
    pub fn blank() -> Self {
        DeclareForm {
            id_type: "resident".into(),
            stops: vec![StopForm::default(); STOP_ROWS],
            ..Default::default()
        }
    }

    pub fn from_pairs(p: &Pairs) -> Self {
        let stops = (0..STOP_ROWS)
            .map(|i| StopForm {
                place: PlaceForm {
                    county: p.get(&format!("itinerary_{i}_county")),
                    township: p.get(&format!("itinerary_{i}_township")),
                },
                from: p.get(&format!("itinerary_{i}_from")),
                to: p.get(&format!("itinerary_{i}_to")),
            })
            .collect();
        DeclareForm {
            name: p.get("name"),
            id_type: p.get("id_type"),
            id_number: p.get("id_number"),
            phone: p.get("phone"),
            origin: PlaceForm {
                county: p.get("origin_county"),
                township: p.get("origin_township"),
            },
            departed_on: p.get("origin_departed_on"),
            stops,
            abroad_country: p.get("abroad_country"),
            abroad_entered: p.get("abroad_entered_china_on"),
            arrival_date: p.get("arrival_date"),
            arrival_mode: p.get("arrival_mode"),
            arrival_number: p.get("arrival_number"),
            village: p.get("destination_village"),
            address: p.get("destination_address"),
            health_code: p.get("health_code"),
            vaccine_doses: p.get("vaccine_doses"),
            negative_test_48h: p.get("negative_test_48h"),
            symptoms: p.all("symptoms"),
        }
    }

    /// The use case's input, and for each of its itinerary entries the form
    /// row it came from (empty rows are skipped).
    pub fn to_input(&self) -> (DeclarationInput, Vec<usize>) {
        let mut rows = Vec::new();
        let itinerary = self
            .stops
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, s)| {
                rows.push(i);
                StopInput {
                    county: s.place.county.trim().to_string(),
                    township: opt(&s.place.township),
                    from: s.from.trim().to_string(),
                    to: s.to.trim().to_string(),
                }
            })
            .collect();
        let abroad = (!(self.abroad_country.trim().is_empty()
            && self.abroad_entered.trim().is_empty()))
        .then(|| AbroadInput {
            country: self.abroad_country.trim().to_ascii_uppercase(),
            entered_china_on: self.abroad_entered.trim().to_string(),
        });
        let input = DeclarationInput {
            name: self.name.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            phone: self.phone.clone(),
            origin: OriginInput {
                county: self.origin.county.trim().to_string(),
                township: opt(&self.origin.township),
                departed_on: self.departed_on.trim().to_string(),
            },
            itinerary,
            abroad,
            arrival: ArrivalInput {
                date: self.arrival_date.trim().to_string(),
                mode: self.arrival_mode.clone(),
                number: opt(&self.arrival_number),
            },
            destination: DestinationInput {
                village: self.village.trim().to_string(),
                address: self.address.clone(),
            },
            health_code: self.health_code.clone(),
            // Not a number: out of range on purpose, so the use case names
            // the field together with every other mistake.
            vaccine_doses: number_text(&self.vaccine_doses).parse().unwrap_or(-1),
            negative_test_48h: opt(&self.negative_test_48h),
            symptoms: self.symptoms.clone(),
        };
        (input, rows)
    }
}

/// Errors of one form, keyed by HTML field name.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<ShownError>);

#[derive(Debug, Clone)]
pub struct ShownError {
    /// The HTML field name (also the input's id), or "" for the whole form.
    pub key: String,
    pub message: String,
}

impl FormErrors {
    /// Maps the use case's field paths to the form's names. `stop_rows`
    /// maps an itinerary index back to the form row.
    pub fn of(errors: &[FieldError], lang: Lang, stop_rows: &[usize]) -> Self {
        FormErrors(
            errors
                .iter()
                .map(|e| ShownError {
                    key: html_key(&e.field, stop_rows),
                    message: lang.field_message(e).to_string(),
                })
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages for one field, joined.
    pub fn get(&self, key: &str) -> Option<String> {
        let m: Vec<&str> = self
            .0
            .iter()
            .filter(|e| e.key == key)
            .map(|e| e.message.as_str())
            .collect();
        (!m.is_empty()).then(|| m.join("；"))
    }
}

fn html_key(field: &str, stop_rows: &[usize]) -> String {
    let field = field.strip_prefix("corrections.").unwrap_or(field);
    let parts: Vec<&str> = field.split('.').collect();
    match parts.as_slice() {
        ["itinerary", i, rest @ ..] => {
            let row = i
                .parse::<usize>()
                .ok()
                .and_then(|i| stop_rows.get(i).copied())
                .unwrap_or(0);
            let mut key = format!("itinerary_{row}");
            for r in rest {
                key.push('_');
                key.push_str(r);
            }
            key
        }
        ["symptoms", ..] => "symptoms".into(),
        ["regions", ..] => "regions".into(),
        _ => parts.join("_"),
    }
}

/// The 反馈 form of a task.
#[derive(Debug, Clone, Default)]
pub struct ReportForm {
    pub outcome: String,
    pub note: String,
    pub village: String,
    pub address: String,
    pub origin: PlaceForm,
    pub departed_on: String,
    pub health_code: String,
    /// 信息变更待核实: the declaration whose change is answered, and
    /// `confirm` or `reject`.
    pub identity_declaration: String,
    pub identity_answer: String,
}

impl ReportForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        ReportForm {
            outcome: p.get("outcome"),
            note: p.get("note"),
            village: p.get("village"),
            address: p.get("address"),
            origin: PlaceForm {
                county: p.get("origin_county"),
                township: p.get("origin_township"),
            },
            departed_on: p.get("origin_departed_on"),
            health_code: p.get("health_code"),
            identity_declaration: p.get("identity_declaration"),
            identity_answer: p.get("identity_answer"),
        }
    }

    pub fn to_input(&self) -> ReportInput {
        let moved = self.outcome == "moved";
        let corrections = if self.outcome == "corrected" {
            let any_origin = [
                &self.origin.county,
                &self.origin.township,
                &self.departed_on,
            ]
            .iter()
            .any(|s| !s.trim().is_empty());
            let origin = any_origin.then(|| OriginInput {
                county: self.origin.county.trim().to_string(),
                township: opt(&self.origin.township),
                departed_on: self.departed_on.trim().to_string(),
            });
            let health_code = opt(&self.health_code);
            (origin.is_some() || health_code.is_some()).then(|| Corrections {
                origin,
                health_code,
                ..Default::default()
            })
        } else {
            None
        };
        ReportInput {
            outcome: self.outcome.clone(),
            note: self.note.clone(),
            village: if moved { opt(&self.village) } else { None },
            address: if moved { opt(&self.address) } else { None },
            corrections,
            identity: match (
                self.identity_declaration.trim().parse::<i64>(),
                self.identity_answer.as_str(),
            ) {
                (Ok(declaration_id), "confirm" | "reject") => {
                    Some(crate::usecases::tasks::IdentityAnswer {
                        declaration_id,
                        confirm: self.identity_answer == "confirm",
                    })
                }
                _ => None,
            },
        }
    }
}

/// The 发布风险地区 form.
#[derive(Debug, Clone, Default)]
pub struct RiskAreaForm {
    pub place: PlaceForm,
    pub subarea: String,
    pub level: String,
    pub since: String,
}

impl RiskAreaForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        RiskAreaForm {
            place: PlaceForm {
                county: p.get("county"),
                township: p.get("township"),
            },
            subarea: p.get("subarea"),
            level: p.get("level"),
            since: p.get("since"),
        }
    }

    pub fn to_input(&self) -> RiskAreaInput {
        RiskAreaInput {
            county: self.place.county.trim().to_string(),
            township: opt(&self.place.township),
            subarea: opt(&self.subarea),
            level: self.level.trim().to_string(),
            since: self.since.trim().to_string(),
        }
    }
}

/// The 健康打卡 form: a temperature and the symptoms ticked.
#[derive(Debug, Clone, Default)]
pub struct CheckInForm {
    pub temperature: String,
    pub symptoms: Vec<String>,
}

impl CheckInForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        CheckInForm {
            temperature: p.get("temperature"),
            symptoms: p.all("symptoms"),
        }
    }

    pub fn to_input(&self) -> CheckInInput {
        CheckInInput {
            // "36,5", "36.5度", "３６．５": the domain parser reads them all.
            temperature: self.temperature.clone(),
            symptoms: self.symptoms.clone(),
        }
    }

    pub fn has_symptom(&self, s: &str) -> bool {
        self.symptoms.iter().any(|x| x == s)
    }
}

/// The 暖心服务 form.
#[derive(Debug, Clone, Default)]
pub struct HelpForm {
    pub kind: String,
    pub note: String,
}

impl HelpForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        HelpForm {
            kind: p.get("kind"),
            note: p.get("note"),
        }
    }

    pub fn to_input(&self) -> HelpInput {
        HelpInput {
            kind: self.kind.trim().to_string(),
            note: self.note.clone(),
        }
    }
}

/// The 录入核酸 form. An empty time means now; a `datetime-local` value
/// ("2022-01-28T09:30") is a time in Asia/Shanghai.
#[derive(Debug, Clone, Default)]
pub struct TestForm {
    pub result: String,
    pub sampled_at: String,
}

impl TestForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        TestForm {
            result: p.get("result"),
            sampled_at: p.get("sampled_at"),
        }
    }

    /// `now` is the current time as RFC 3339 in +08:00.
    pub fn to_input(&self, person_id: i64, now: &str) -> TestInput {
        let at = self.sampled_at.trim();
        let sampled_at = if at.is_empty() {
            now.to_string()
        } else {
            shanghai_input(at)
        };
        TestInput {
            person_id,
            sampled_at,
            result: self.result.trim().to_string(),
        }
    }
}

/// A `datetime-local` value ("2022-01-28T09:30", seconds optional) as RFC
/// 3339 in Asia/Shanghai; an RFC 3339 time stays as it is, and an empty one
/// stays empty for the use case to name.
pub fn shanghai_input(at: &str) -> String {
    let at = at.trim();
    if at.is_empty() || chrono::DateTime::parse_from_rfc3339(at).is_ok() {
        at.to_string()
    } else if at.len() == 16 {
        format!("{at}:00+08:00")
    } else {
        format!("{at}+08:00")
    }
}

/// The 新建轮次 form: a name, the towns ticked, and the window as
/// `datetime-local` values in Asia/Shanghai.
#[derive(Debug, Clone, Default)]
pub struct RoundForm {
    pub name: String,
    pub regions: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
}

impl RoundForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        RoundForm {
            name: p.get("name"),
            regions: p.all("regions"),
            starts_at: p.get("starts_at"),
            ends_at: p.get("ends_at"),
        }
    }

    pub fn to_input(&self) -> RoundInput {
        RoundInput {
            name: self.name.trim().to_string(),
            regions: self
                .regions
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            starts_at: shanghai_input(&self.starts_at),
            ends_at: shanghai_input(&self.ends_at),
        }
    }

    pub fn has_region(&self, code: &str) -> bool {
        self.regions.iter().any(|r| r == code)
    }
}

/// The 划定区域 form: a village from the list, or a grid typed in (which wins).
#[derive(Debug, Clone, Default)]
pub struct ZoneForm {
    pub kind: String,
    pub village: String,
    pub grid: String,
    pub starts_on: String,
}

impl ZoneForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        ZoneForm {
            kind: p.get("kind"),
            village: p.get("village"),
            grid: p.get("grid"),
            starts_on: p.get("starts_on"),
        }
    }

    pub fn to_input(&self) -> ZoneInput {
        let grid = self.grid.trim();
        ZoneInput {
            kind: self.kind.trim().to_string(),
            region: if grid.is_empty() {
                self.village.trim().to_string()
            } else {
                grid.to_string()
            },
            starts_on: self.starts_on.trim().to_string(),
        }
    }
}

/// Text pasted into an import's textarea, as the bytes of a CSV file for
/// `crate::import`: cells copied from Excel or WPS arrive separated by tabs,
/// and are rewritten as CSV (quoting what needs it).
pub fn pasted_table(text: &str) -> Vec<u8> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let tabbed = first.contains('\t') && !first.contains(',');
    if !tabbed {
        return text.as_bytes().to_vec();
    }
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(false)
        .flexible(true)
        .quoting(false)
        .from_reader(text.as_bytes());
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for record in r.records() {
        match record {
            Ok(rec) if w.write_record(&rec).is_ok() => {}
            // Cannot happen with quoting off; keep the text as typed.
            _ => return text.as_bytes().to_vec(),
        }
    }
    w.into_inner().unwrap_or_else(|_| text.as_bytes().to_vec())
}

/// The 转移 form: to a village of the city, or out of it.
#[derive(Debug, Clone, Default)]
pub struct TransferForm {
    /// "city" or "out".
    pub to: String,
    pub village: String,
    pub place: PlaceForm,
    pub address: String,
    pub reason: String,
}

impl TransferForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        TransferForm {
            to: p.get("to"),
            village: p.get("village"),
            place: PlaceForm {
                county: p.get("county"),
                township: p.get("township"),
            },
            address: p.get("address"),
            reason: p.get("reason"),
        }
    }

    pub fn to_input(&self) -> TransferInput {
        let out = self.to == "out";
        TransferInput {
            village: if out {
                None
            } else {
                Some(self.village.trim().to_string())
            },
            county: out.then(|| self.place.county.trim().to_string()),
            township: if out { opt(&self.place.township) } else { None },
            address: self.address.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// The 开管 form.
#[derive(Debug, Clone)]
pub struct OpenTubeForm {
    pub barcode: String,
    pub pool_size: String,
    pub category: String,
    pub site: String,
}

impl Default for OpenTubeForm {
    /// An empty form with its defaults: 10合1, 应检尽检.
    fn default() -> Self {
        OpenTubeForm {
            barcode: String::new(),
            pool_size: "10".into(),
            category: "mandatory".into(),
            site: String::new(),
        }
    }
}

impl OpenTubeForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        OpenTubeForm {
            barcode: p.get("barcode"),
            pool_size: p.get("pool_size"),
            category: p.get("category"),
            site: p.get("site"),
        }
    }

    pub fn to_input(&self) -> OpenTubeInput {
        OpenTubeInput {
            barcode: self.barcode.trim().to_string(),
            // Not a number: out of range on purpose, so the use case names it.
            pool_size: number_text(&self.pool_size).parse().unwrap_or(0),
            site: self.site.trim().to_string(),
            category: self.category.trim().to_string(),
        }
    }
}

/// The scan form of a tube: one input for whatever a phone's QR scanner or a
/// keyboard gives, the document type for numbers that are not a resident ID,
/// and a name for someone not known yet.
#[derive(Debug, Clone)]
pub struct ScanForm {
    pub scan: String,
    pub id_type: String,
    pub name: String,
}

impl Default for ScanForm {
    fn default() -> Self {
        ScanForm {
            scan: String::new(),
            id_type: "resident".into(),
            name: String::new(),
        }
    }
}

impl ScanForm {
    pub fn from_pairs(p: &Pairs) -> Self {
        ScanForm {
            scan: p.get("scan"),
            id_type: p.get("id_type"),
            name: p.get("name"),
        }
    }

    pub fn to_input(&self) -> Result<MemberInput, FieldError> {
        parse_scan(&self.scan, &self.id_type, &self.name)
    }
}

fn is_receipt(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads one scan: a 返永通 status URL (`…/s/<receipt>…`) or a bare 24-hex
/// receipt; `P123`, a person code; otherwise a document number of `id_type`
/// (a resident ID unless another type is chosen), with the name if given.
/// What cannot be any of these is a field error on `scan`.
pub fn parse_scan(raw: &str, id_type: &str, name: &str) -> Result<MemberInput, FieldError> {
    let s = raw.trim();
    let bad = || FieldError::new("scan", "unknown", ZH.sm_bad_scan, EN.sm_bad_scan);
    if s.is_empty() {
        return Err(FieldError::new(
            "scan",
            "required",
            ZH.sm_scan_empty,
            EN.sm_scan_empty,
        ));
    }
    let receipt = |r: &str| MemberInput {
        receipt: Some(r.to_ascii_lowercase()),
        ..Default::default()
    };
    if let Some(at) = s.find("/s/") {
        let rest = &s[at + 3..];
        let code = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return if is_receipt(code) {
            Ok(receipt(code))
        } else {
            Err(FieldError::new(
                "scan",
                "receipt",
                ZH.sm_bad_receipt,
                EN.sm_bad_receipt,
            ))
        };
    }
    if is_receipt(s) {
        return Ok(receipt(s));
    }
    let id_type = match id_type.trim() {
        "" => "resident",
        t => t,
    };
    let resident = id_type == "resident";
    // A person code, unless another document type was chosen on purpose
    // (a passport number may start with a P too).
    if resident && let Some(digits) = s.strip_prefix(['P', 'p']) {
        if let Ok(id) = digits.parse::<i64>()
            && id > 0
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(MemberInput {
                person_id: Some(id),
                ..Default::default()
            });
        }
        return Err(bad());
    }
    let number: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let looks_right = if resident {
        number.len() == 18
            && number[..17].bytes().all(|b| b.is_ascii_digit())
            && matches!(number.as_bytes()[17], b'0'..=b'9' | b'X')
    } else {
        (5..=30).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if !looks_right {
        return Err(bad());
    }
    Ok(MemberInput {
        id_type: Some(id_type.to_string()),
        id_number: Some(number),
        name: opt(name),
        ..Default::default()
    })
}

/// The 新增采样点 form.
#[derive(Debug, Clone, Default)]
pub struct SiteForm {
    pub name: String,
    pub region: String,
    pub address: String,
    pub hours: String,
    pub kind: String,
    pub serves: Vec<String>,
    pub paid: bool,
}

impl SiteForm {
    /// An empty form with its defaults: a fixed site, free, for everyone.
    pub fn blank() -> Self {
        SiteForm {
            kind: "fixed".into(),
            serves: ["mandatory", "periodic", "voluntary"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        }
    }

    pub fn from_pairs(p: &Pairs) -> Self {
        SiteForm {
            name: p.get("name"),
            region: p.get("region"),
            address: p.get("address"),
            hours: p.get("hours"),
            kind: p.get("kind"),
            serves: p.all("serves"),
            paid: !p.get("paid").is_empty(),
        }
    }

    pub fn to_input(&self) -> SiteInput {
        SiteInput {
            name: self.name.trim().to_string(),
            region: self.region.trim().to_string(),
            address: self.address.trim().to_string(),
            hours: self.hours.trim().to_string(),
            kind: self.kind.trim().to_string(),
            serves: self.serves.clone(),
            paid: self.paid,
        }
    }

    pub fn serves(&self, c: &str) -> bool {
        self.serves.iter().any(|s| s == c)
    }
}

/// Reads the import's CSV text: a header naming `county`, `level` and
/// `since` (and optionally `township`, `subarea`) in any order, then rows.
pub fn risk_area_rows(text: &str) -> Result<Vec<RiskAreaInput>, FieldError> {
    let bad = |zh: &str, en: String| FieldError::new("csv", "csv", zh, en);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader
        .headers()
        .map_err(|e| bad("无法读取表头", e.to_string()))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(county), Some(level), Some(since)) = (col("county"), col("level"), col("since"))
    else {
        return Err(bad(
            "表头须包含 county、level、since 列",
            "the header must name county, level and since".into(),
        ));
    };
    let (township, subarea) = (col("township"), col("subarea"));
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.map_err(|e| bad(&format!("第{}行无法读取", i + 1), e.to_string()))?;
        let field = |c: Option<usize>| c.and_then(|c| r.get(c)).unwrap_or_default().to_string();
        rows.push(RiskAreaInput {
            county: field(Some(county)),
            township: opt(&field(township)),
            subarea: opt(&field(subarea)),
            level: field(Some(level)),
            since: field(Some(since)),
        });
    }
    if rows.is_empty() {
        return Err(bad("没有数据行", "no rows".into()));
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------
// Picking regions by name: 全市, 全镇, or villages, from the user's own tree.

/// The regions a user may pick, as a tree of names: the whole city (for the
/// command), each town with 全镇 and its villages. Rendered by the
/// `region_tree` macro as checkboxes (several) or radios (one).
pub struct RegionTree {
    /// The field name the choices post as.
    pub name: &'static str,
    /// "checkbox" or "radio".
    pub kind: &'static str,
    /// (code, name) of the whole city, for a user who manages it.
    pub city: Option<(String, String)>,
    pub towns: Vec<TownBranch>,
    pub chosen: Vec<String>,
}

pub struct TownBranch {
    pub code: String,
    pub name: String,
    /// Whether the town itself may be chosen (全镇).
    pub whole: bool,
    pub villages: Vec<(String, String)>,
}

impl RegionTree {
    /// The tree under `scope` (the actor's region). `villages`: offer
    /// villages, not only whole towns.
    pub fn new(
        name: &'static str,
        kind: &'static str,
        scope: &str,
        city_name: &str,
        towns: Vec<crate::usecases::views::TownVillages>,
        villages: bool,
        chosen: Vec<String>,
    ) -> RegionTree {
        let city = (scope.len() <= 6).then(|| (scope.to_string(), city_name.to_string()));
        let towns = towns
            .into_iter()
            .filter(|t| t.code.starts_with(scope) || scope.starts_with(&t.code))
            .map(|t| TownBranch {
                whole: t.code.starts_with(scope),
                villages: if villages {
                    t.villages
                        .into_iter()
                        .filter(|v| v.code.starts_with(scope))
                        .map(|v| (v.code, v.name))
                        .collect()
                } else {
                    vec![]
                },
                code: t.code,
                name: t.name,
            })
            .filter(|t| t.whole || !t.villages.is_empty())
            .collect();
        RegionTree {
            name,
            kind,
            city,
            towns,
            chosen,
        }
    }

    pub fn is_chosen(&self, code: &str) -> bool {
        self.chosen.iter().any(|c| c == code)
    }

    /// A town's branch starts open when something in it is chosen.
    pub fn open(&self, town: &TownBranch) -> bool {
        self.chosen
            .iter()
            .any(|c| c.starts_with(&town.code) && c.len() > town.code.len())
    }

    /// The name of a chosen code, for the summary line.
    pub fn name_of(&self, code: &str) -> String {
        if let Some((c, n)) = &self.city
            && c == code
        {
            return n.clone();
        }
        for t in &self.towns {
            if t.code == code {
                return t.name.clone();
            }
            if let Some(v) = t.villages.iter().find(|v| v.0 == code) {
                return format!("{} · {}", t.name, v.1);
            }
        }
        code.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Pairs {
        Pairs(
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_form_becomes_the_api_input_and_skips_empty_rows() {
        let f = DeclareForm::from_pairs(&pairs(&[
            ("name", "张三"),
            ("id_type", "resident"),
            ("origin_county", "110106"),
            ("origin_township", ""),
            ("itinerary_1_county", "420106"),
            ("itinerary_1_from", "2022-01-20"),
            ("itinerary_1_to", "2022-01-21"),
            ("vaccine_doses", "x"),
            ("symptoms", "fever"),
            ("symptoms", "cough"),
        ]));
        let (input, rows) = f.to_input();
        assert_eq!(input.origin.township, None);
        assert_eq!(input.itinerary.len(), 1);
        assert_eq!(rows, [1]);
        assert!(input.abroad.is_none());
        assert_eq!(input.vaccine_doses, -1);
        assert_eq!(input.symptoms, ["fever", "cough"]);
    }

    #[test]
    fn errors_find_their_inputs() {
        let e = [
            FieldError::new("itinerary.0.to", "x", "a", "a"),
            FieldError::new("symptoms.1", "x", "b", "b"),
            FieldError::new("destination.village", "x", "c", "c"),
            FieldError::new("corrections.origin.county", "x", "d", "d"),
        ];
        let f = FormErrors::of(&e, Lang::Zh, &[2]);
        let keys: Vec<_> = f.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "itinerary_2_to",
                "symptoms",
                "destination_village",
                "origin_county"
            ]
        );
        assert_eq!(f.get("symptoms").as_deref(), Some("b"));
    }

    #[test]
    fn a_correction_names_only_what_was_filled() {
        let mut f = ReportForm {
            outcome: "corrected".into(),
            health_code: "yellow".into(),
            village: "330784001001".into(),
            ..Default::default()
        };
        let i = f.to_input();
        let c = i.corrections.unwrap();
        assert_eq!(c.health_code.as_deref(), Some("yellow"));
        assert!(c.origin.is_none());
        assert_eq!(i.village, None, "only a move names a village");
        f.health_code.clear();
        assert!(f.to_input().corrections.is_none());
    }

    #[test]
    fn check_in_test_and_transfer_forms() {
        let f =
            CheckInForm::from_pairs(&pairs(&[("temperature", " 36,8 "), ("symptoms", "cough")]));
        let i = f.to_input();
        assert_eq!(
            bihuan_domain::monitoring::parse_temperature("t", &i.temperature),
            Ok(368)
        );
        assert_eq!(i.symptoms, ["cough"]);
        assert!(f.has_symptom("cough") && !f.has_symptom("fever"));

        let now = "2022-01-28T10:00:00+08:00";
        let t = |at: &str| {
            TestForm {
                result: "negative".into(),
                sampled_at: at.into(),
            }
            .to_input(7, now)
            .sampled_at
        };
        assert_eq!(t(""), now);
        assert_eq!(t("2022-01-28T09:30"), "2022-01-28T09:30:00+08:00");
        assert_eq!(t("2022-01-28T09:30:15"), "2022-01-28T09:30:15+08:00");
        assert_eq!(t("2022-01-28T01:30:00Z"), "2022-01-28T01:30:00Z");

        let mut tr = TransferForm::from_pairs(&pairs(&[
            ("to", "city"),
            ("village", "330784002001"),
            ("county", "110106"),
            ("address", "新居1号"),
        ]));
        let i = tr.to_input();
        assert_eq!(i.village.as_deref(), Some("330784002001"));
        assert_eq!(i.county, None, "only the chosen side is sent");
        tr.to = "out".into();
        let i = tr.to_input();
        assert_eq!((i.village, i.county.as_deref()), (None, Some("110106")));
        assert_eq!(i.township, None);
    }

    #[test]
    fn csv_rows_are_read_by_header() {
        let rows = risk_area_rows(
            "\u{feff}level,county,since,township\nmedium,110106,2022-01-15,110106003\nhigh, 420106 ,2022-01-20,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].township.as_deref(), Some("110106003"));
        assert_eq!(rows[1].county, "420106");
        assert_eq!(rows[1].township, None);
        assert!(risk_area_rows("a,b\n1,2\n").is_err());
        assert!(risk_area_rows("county,level,since\n").is_err());
    }

    #[test]
    fn a_scan_names_one_person() {
        let receipt = "0123456789abcdef01234567";
        let r = parse_scan(&format!("http://10.0.0.1:8080/s/{receipt}?new=1"), "", "").unwrap();
        assert_eq!(r.receipt.as_deref(), Some(receipt));
        assert!(r.person_id.is_none() && r.id_number.is_none());
        let r = parse_scan(
            &format!("https://yk.example/s/{receipt}/release"),
            "resident",
            "",
        )
        .unwrap();
        assert_eq!(r.receipt.as_deref(), Some(receipt));
        let r = parse_scan(&format!("  {}\n", receipt.to_uppercase()), "resident", "").unwrap();
        assert_eq!(r.receipt.as_deref(), Some(receipt), "bare, any case");
        assert_eq!(
            parse_scan("http://x/s/not-a-receipt", "", "")
                .unwrap_err()
                .code,
            "receipt"
        );

        let r = parse_scan("P123", "resident", "张三").unwrap();
        assert_eq!(r.person_id, Some(123));
        assert!(r.receipt.is_none() && r.id_number.is_none() && r.name.is_none());
        assert_eq!(parse_scan("p7", "", "").unwrap().person_id, Some(7));
        assert_eq!(parse_scan("P0", "", "").unwrap_err().field, "scan");
        assert_eq!(parse_scan("P12a", "", "").unwrap_err().field, "scan");

        let r = parse_scan(" 11010519491231002x ", "resident", " 张三 ").unwrap();
        assert_eq!(r.id_number.as_deref(), Some("11010519491231002X"));
        assert_eq!(r.id_type.as_deref(), Some("resident"));
        assert_eq!(r.name.as_deref(), Some("张三"));
        assert!(r.receipt.is_none() && r.person_id.is_none());
        let r = parse_scan("110105194912310021", "", "").unwrap();
        assert_eq!(r.name, None, "no name typed");
        assert_eq!(
            r.id_type.as_deref(),
            Some("resident"),
            "resident by default"
        );

        // Another document type: a passport number, even one starting with P.
        let r = parse_scan("P12345678", "passport", "").unwrap();
        assert_eq!(r.id_type.as_deref(), Some("passport"));
        assert_eq!(r.id_number.as_deref(), Some("P12345678"));
        assert!(r.person_id.is_none());

        for garbage in [
            "",
            "   ",
            "hello",
            "12345",
            "1101051949123100",
            "<b>x</b>",
            "P",
        ] {
            let e = parse_scan(garbage, "resident", "").unwrap_err();
            assert_eq!(e.field, "scan", "{garbage:?}");
        }
        assert_eq!(parse_scan("", "", "").unwrap_err().code, "required");
        assert!(parse_scan("a b!", "passport", "").is_err());
    }

    #[test]
    fn round_and_zone_forms() {
        let f = RoundForm::from_pairs(&pairs(&[
            ("name", " 第一轮 "),
            ("regions", "330784001"),
            ("regions", ""),
            ("regions", "330784002"),
            ("starts_at", "2022-01-28T08:00"),
            ("ends_at", "2022-01-29T04:00:30"),
        ]));
        let i = f.to_input();
        assert_eq!(i.name, "第一轮");
        assert_eq!(i.regions, ["330784001", "330784002"]);
        assert_eq!(i.starts_at, "2022-01-28T08:00:00+08:00");
        assert_eq!(i.ends_at, "2022-01-29T04:00:30+08:00");
        assert!(f.has_region("330784002") && !f.has_region("330784003"));
        assert_eq!(shanghai_input(""), "");
        assert_eq!(
            shanghai_input("2022-01-28T01:00:00Z"),
            "2022-01-28T01:00:00Z"
        );

        let mut z = ZoneForm::from_pairs(&pairs(&[
            ("kind", "sealed"),
            ("village", "330784001001"),
            ("grid", " "),
            ("starts_on", "2022-01-28"),
        ]));
        assert_eq!(z.to_input().region, "330784001001");
        z.grid = " 330784001001001 ".into();
        assert_eq!(
            z.to_input().region,
            "330784001001001",
            "a grid typed in wins"
        );
    }

    #[test]
    fn pasted_cells_become_csv() {
        let csv = "grid,name\n1,\"a,b\"\n";
        assert_eq!(pasted_table(csv), csv.as_bytes(), "CSV stays as it is");
        let tsv = "\u{feff}网格编码\t姓名\r\n330784001001001\t张,三\r\n";
        let out = String::from_utf8(pasted_table(tsv)).unwrap();
        assert_eq!(out, "网格编码,姓名\n330784001001001,\"张,三\"\n");
    }

    #[test]
    fn tube_and_site_forms() {
        let f = OpenTubeForm::from_pairs(&pairs(&[
            ("barcode", " yk0001 "),
            ("pool_size", "x"),
            ("category", "periodic"),
            ("site", ""),
        ]));
        let i = f.to_input();
        assert_eq!((i.barcode.as_str(), i.pool_size), ("yk0001", 0));
        assert_eq!(OpenTubeForm::default().pool_size, "10");

        let f = SiteForm::from_pairs(&pairs(&[
            ("name", " 园丁社区采样点 "),
            ("region", "330784001001"),
            ("kind", "fixed"),
            ("serves", "mandatory"),
            ("serves", "voluntary"),
            ("paid", "1"),
        ]));
        let i = f.to_input();
        assert_eq!(i.name, "园丁社区采样点");
        assert_eq!(i.serves, ["mandatory", "voluntary"]);
        assert!(i.paid && f.serves("voluntary") && !f.serves("periodic"));
        assert!(!SiteForm::from_pairs(&pairs(&[])).paid);
    }
}
