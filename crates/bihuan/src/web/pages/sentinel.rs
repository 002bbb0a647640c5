//! 哨点 pages on a phone: a pharmacy purchase (药店哨点) and a fever-clinic
//! visit (发热门诊) recorded by the region's staff through the same use
//! cases as the JSON API, the region's recent ones (masked), a day's
//! purchases as .xlsx and an office's purchase file; and 预警: the region's
//! alerts with 签收 and 研判 as forms.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use bihuan_domain::policy::Symptom;
use bihuan_domain::validation::FieldError;
use serde::Deserialize;

use super::forms::{FormErrors, Pairs};
use super::{
    Base, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok, render,
    see_other, shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::fever::{FeverVisitInput, VisitTestInput};
use crate::usecases::pharmacy::{DrugInput, PurchaseInput, PurchaseSource};
use crate::usecases::surge::JudgeInput;
use crate::web::{AppState, IMPORT_LIMIT, multipart};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pharmacy", get(pharmacy).post(record_purchase))
        .route("/pharmacy/purchases.xlsx", get(purchases_xlsx))
        .route(
            "/pharmacy/import",
            post(import_purchases).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/fever-clinic", get(fever_clinic).post(record_visit))
        .route("/alerts", get(alerts))
        .route("/alerts/{id}/ack", post(ack_alert))
        .route("/alerts/{id}/judge", post(judge_alert))
}

/// Drug rows the purchase form offers (empty ones are left out).
const DRUG_ROWS: usize = 3;

/// A fresh client id for a form, so that a double tap stores one purchase.
fn form_id(prefix: &str) -> String {
    format!("{prefix}-{}", crate::crypto::token(8))
}

fn doc_types(l: Lang) -> Vec<(&'static str, &'static str)> {
    use bihuan_domain::identity::DocumentType as D;
    D::ALL
        .into_iter()
        .map(|d| (d.as_str(), l.pick(d.label_zh(), d.label_en())))
        .collect()
}

fn symptom_choices(l: Lang) -> Vec<(&'static str, &'static str)> {
    Symptom::ALL
        .into_iter()
        .map(|s| (s.as_str(), l.symptom(s)))
        .collect()
}

fn symptom_words(l: Lang, stored: &str) -> String {
    let t = l.t();
    let words: Vec<&str> = serde_json::from_str::<Vec<String>>(stored)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Symptom::parse(s).map(|x| l.symptom(x)))
        .collect();
    if words.is_empty() {
        t.none.to_string()
    } else {
        words.join(t.list_sep)
    }
}

fn temperature_words(tenths: i64) -> String {
    format!("{}.{} °C", tenths / 10, tenths % 10)
}

/// A form sent without its venue chosen: the venue's error with the
/// others the use case found (it stored nothing: venue 0 is nobody's).
fn unchosen<V>(
    result: Result<V, Error>,
    chosen: &str,
    field: &str,
    zh: &str,
    en: &str,
) -> Result<V, Error> {
    if chosen.trim().parse::<i64>().is_ok() {
        return result;
    }
    let mut errors = vec![FieldError::new(field, "required", zh, en)];
    if let Err(Error::Invalid(more)) = result {
        errors.extend(more);
    }
    Err(Error::Invalid(errors))
}

/// The form's field name as the page labels it; the shared names else.
fn field_words(l: Lang, key: &str) -> String {
    let t = l.t();
    let own = match key {
        "pharmacy" => Some(t.sn_pharmacy),
        "clinic" => Some(t.sn_clinic),
        "visit_id" => Some(t.sn_visit_id),
        "purchase_id" => Some(t.sn_purchase_id),
        "drugs" => Some(t.sn_drugs),
        "drug_class" => Some(t.sn_drug_class),
        "drug_name" => Some(t.sn_drug_name),
        "qty" => Some(t.sn_qty),
        "name" => Some(t.vn_person_name),
        "test_barcode" => Some(t.sn_barcode),
        "test_sampled_at" => Some(t.sn_sampled_at),
        "test_result" => Some(t.sn_result),
        "verdict" => Some(t.sn_verdict),
        "for_someone_else" => Some(t.sn_for_other),
        _ => None,
    };
    if let Some(w) = own {
        return w.to_string();
    }
    if let Some(rest) = key.strip_prefix("drugs_") {
        let (row, what) = rest.split_once('_').unwrap_or((rest, ""));
        let n = row.parse::<usize>().map_or(1, |i| i + 1);
        let what = match what {
            "class" => t.sn_drug_class,
            "name" => t.sn_drug_name,
            "qty" => t.sn_qty,
            _ => "",
        };
        return format!("{} {n} {what}", t.sn_drug_no);
    }
    l.field_label(key).to_string()
}

// ---------------------------------------------------------------------------
// 药店哨点

#[derive(Default, Clone)]
pub struct DrugRow {
    pub class: String,
    pub name: String,
    pub qty: String,
}

#[derive(Default, Clone)]
pub struct PurchaseForm {
    pub purchase_id: String,
    pub pharmacy: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub health_code: String,
    pub temperature: String,
    pub symptoms: Vec<String>,
    pub drugs: Vec<DrugRow>,
    pub for_someone_else: bool,
}

impl PurchaseForm {
    fn blank() -> Self {
        PurchaseForm {
            purchase_id: form_id("page"),
            drugs: vec![DrugRow::default(); DRUG_ROWS],
            ..Default::default()
        }
    }

    fn of(pairs: &Pairs) -> Self {
        let drugs = (0..DRUG_ROWS)
            .map(|i| DrugRow {
                class: pairs.get(&format!("drugs_{i}_class")),
                name: pairs.get(&format!("drugs_{i}_name")),
                qty: pairs.get(&format!("drugs_{i}_qty")),
            })
            .collect();
        PurchaseForm {
            purchase_id: pairs.get("purchase_id"),
            pharmacy: pairs.get("pharmacy"),
            id_type: pairs.get("id_type"),
            id_number: pairs.get("id_number"),
            name: pairs.get("name"),
            phone: pairs.get("phone"),
            health_code: pairs.get("health_code"),
            temperature: pairs.get("temperature"),
            symptoms: pairs.all("symptoms"),
            drugs,
            for_someone_else: !pairs.get("for_someone_else").is_empty(),
        }
    }

    /// The wire form; an unfilled drug row is left out, and a filled one
    /// keeps its place so errors land on the row the user typed.
    fn input(&self) -> PurchaseInput {
        // None chosen: 0, which no venue has, so the other fields are still
        // checked by the use case and nothing is stored.
        let pharmacy = self.pharmacy.trim().parse::<i64>().unwrap_or(0);
        let filled = |d: &DrugRow| {
            !(d.class.trim().is_empty() && d.name.trim().is_empty() && d.qty.trim().is_empty())
        };
        let mut drugs = Vec::new();
        for d in &self.drugs {
            if filled(d) {
                drugs.push(DrugInput {
                    class: d.class.clone(),
                    name: d.name.clone(),
                    // 0 is refused by the use case as out of range.
                    qty: d.qty.trim().parse().unwrap_or(0),
                });
            }
        }
        PurchaseInput {
            purchase_id: Some(self.purchase_id.clone()),
            pharmacy,
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            health_code: self.health_code.clone(),
            symptoms: self.symptoms.clone(),
            temperature: Some(self.temperature.clone()),
            drugs,
            for_someone_else: self.for_someone_else,
        }
    }

    /// Where the use case's `drugs.{i}` errors go: the i-th filled row.
    fn filled_rows(&self) -> Vec<usize> {
        self.drugs
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                !(d.class.trim().is_empty() && d.name.trim().is_empty() && d.qty.trim().is_empty())
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub fn has_symptom(&self, s: &str) -> bool {
        self.symptoms.iter().any(|x| x == s)
    }
}

pub struct PurchaseItem {
    pub id: i64,
    pub at: String,
    pub venue: String,
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
    pub health_code: String,
    pub code_label: String,
    pub temperature: String,
    pub symptoms: String,
    pub drugs: String,
    pub for_someone_else: bool,
    pub fever_transfer: bool,
    pub test_due: String,
}

#[derive(Template)]
#[template(path = "pharmacy.html")]
struct PharmacyPage {
    base: Base,
    flash: Option<String>,
    csrf: String,
    action: String,
    import_action: String,
    export_action: String,
    today: String,
    pharmacies: Vec<(i64, String)>,
    f: PurchaseForm,
    errors: FormErrors,
    doc_types: Vec<(&'static str, &'static str)>,
    symptoms: Vec<(&'static str, &'static str)>,
    drug_classes: Vec<(String, String)>,
    codes: Vec<(&'static str, String)>,
    purchases: Vec<PurchaseItem>,
    import_errors: Vec<String>,
    venues_href: String,
}
with_base!(PharmacyPage);

impl PharmacyPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
    fn label(&self, key: &str) -> String {
        field_words(self.base.l, key)
    }
    fn drug_err(&self, i: &usize, what: &str) -> Option<String> {
        self.errors.get(&format!("drugs_{i}_{what}"))
    }
}

fn code_label(l: Lang, colour: &str) -> String {
    l.health_code(colour)
}

async fn pharmacy_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: PurchaseForm,
    errors: FormErrors,
    flash: Option<String>,
    import_errors: Vec<String>,
) -> Result<PharmacyPage, PageError> {
    let t = l.t();
    let rows = s.services.purchases(actor, None).await.or_page(l)?;
    let pharmacies = s.services.pharmacies(actor).await.or_page(l)?;
    let purchases = rows
        .into_iter()
        .map(|r| PurchaseItem {
            id: r.id,
            at: shanghai_time(r.at),
            venue: r.venue,
            name: r.name,
            doc_masked: r.doc_masked,
            phone_masked: r.phone_masked,
            code_label: code_label(l, &r.health_code),
            health_code: r.health_code,
            temperature: r
                .temperature_tenths
                .map(temperature_words)
                .unwrap_or_default(),
            symptoms: symptom_words(l, &r.symptoms),
            drugs: drug_words(s, l, &r.drugs),
            for_someone_else: r.for_someone_else,
            fever_transfer: r.fever_transfer,
            test_due: r.test_due_at.map(shanghai_time).unwrap_or_default(),
        })
        .collect();
    Ok(PharmacyPage {
        base: Base::new(l, t.sn_pharmacy_title, "/pharmacy").signed_in(actor),
        flash,
        csrf: actor.csrf.clone(),
        action: l.link("/pharmacy"),
        import_action: l.link("/pharmacy/import"),
        export_action: "/pharmacy/purchases.xlsx".into(),
        today: s.services.clock.today().to_string(),
        pharmacies,
        f,
        errors,
        doc_types: doc_types(l),
        symptoms: symptom_choices(l),
        drug_classes: s
            .services
            .policy()
            .pharmacy
            .drug_classes
            .iter()
            .map(|d| (d.name.clone(), l.pick_owned(&d.label_zh, &d.label_en)))
            .collect(),
        codes: ["green", "yellow", "red"]
            .into_iter()
            .map(|c| (c, l.health_code(c)))
            .collect(),
        purchases,
        import_errors,
        venues_href: l.link("/venues"),
    })
}

/// Stored drugs in the page's language: "退热 布洛芬 ×2".
fn drug_words(s: &AppState, l: Lang, stored: &str) -> String {
    serde_json::from_str::<Vec<serde_json::Value>>(stored)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let class = d["class"].as_str().unwrap_or_default();
            let label = s
                .services
                .policy()
                .drug_class(class)
                .map_or(class.to_string(), |c| {
                    l.pick_owned(&c.label_zh, &c.label_en)
                });
            let name = d["name"].as_str().unwrap_or_default();
            let name = if name.is_empty() {
                String::new()
            } else {
                format!(" {name}")
            };
            format!("{label}{name} ×{}", d["qty"].as_i64().unwrap_or(0))
        })
        .collect::<Vec<_>>()
        .join(l.t().list_sep)
}

#[derive(Deserialize)]
pub struct RecordedQuery {
    #[serde(default)]
    recorded: Option<i64>,
    #[serde(default)]
    transfer: Option<u8>,
}

fn recorded_flash(l: Lang, q: &RecordedQuery) -> Option<String> {
    let t = l.t();
    q.recorded.map(|id| {
        let more = if q.transfer == Some(1) {
            t.sn_transfer_opened
        } else {
            ""
        };
        format!("{} #{id}{more}", t.sn_recorded)
    })
}

pub async fn pharmacy(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<RecordedQuery>,
) -> PageResult {
    let flash = recorded_flash(l, &q);
    let page = pharmacy_page(
        &s,
        l,
        &actor,
        PurchaseForm::blank(),
        FormErrors::default(),
        flash,
        Vec::new(),
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn record_purchase(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    req: Request,
) -> PageResult {
    // Refused before the form is read: a grid has no pharmacy.
    if !actor.role.can_review() {
        return Err(Error::Forbidden).or_page(l);
    }
    let pairs: Vec<(String, String)> = match super::rounds::read_form(req, &s).await {
        Ok(p) => p,
        Err(refused) => return Ok(refused),
    };
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let mut f = PurchaseForm::of(&pairs);
    if f.purchase_id.trim().is_empty() {
        f.purchase_id = form_id("page");
    }
    let result = s
        .services
        .record_purchase(&PurchaseSource::Staff(actor.clone()), f.input())
        .await;
    let result = unchosen(
        result,
        &f.pharmacy,
        "pharmacy",
        "请选择药店",
        "choose the pharmacy",
    );
    match result {
        Ok(r) => Ok(see_other(&format!(
            "{}#purchase-{}",
            l.link(&format!(
                "/pharmacy?recorded={}&transfer={}",
                r.id,
                u8::from(r.fever_transfer)
            )),
            r.id
        ))),
        Err(Error::Invalid(errors)) => {
            let rows = f.filled_rows();
            let errors = drug_rows_of(FormErrors::of(&errors, l, &[]), &rows);
            let page = pharmacy_page(&s, l, &actor, f, errors, None, Vec::new()).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

/// `drugs_{i}_…` of the use case counts filled rows only: back to the
/// form's row numbers.
fn drug_rows_of(mut errors: FormErrors, rows: &[usize]) -> FormErrors {
    for e in &mut errors.0 {
        if let Some(rest) = e.key.strip_prefix("drugs_")
            && let Some((i, what)) = rest.split_once('_')
            && let Ok(i) = i.parse::<usize>()
        {
            let row = rows.get(i).copied().unwrap_or(0);
            e.key = format!("drugs_{row}_{what}");
        }
    }
    errors
}

#[derive(Deserialize)]
pub struct DayQuery {
    #[serde(default)]
    date: Option<String>,
}

pub async fn purchases_xlsx(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<DayQuery>,
) -> PageResult {
    let bytes = s
        .services
        .purchases_xlsx(&actor, q.date.as_deref())
        .await
        .or_page(l)?;
    let day = q
        .date
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| s.services.clock.today().to_string());
    Ok(crate::web::download(
        crate::web::XLSX,
        &format!("pharmacy-purchases-{}.xlsx", day.trim()),
        None,
        bytes,
    ))
}

pub async fn import_purchases(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    headers: HeaderMap,
    req: Request,
) -> PageResult {
    // Refused before the body is read: the form is not theirs.
    if !actor.role.can_review() {
        return Err(Error::Forbidden).or_page(l);
    }
    let body = match crate::web::api::upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parts = multipart::boundary(content_type)
        .and_then(|b| multipart::parse(&body, &b))
        .unwrap_or_default();
    check_csrf(&actor, &multipart::text(&parts, "csrf"), l)?;
    let file = parts
        .into_iter()
        .find(|p| p.name == "file" && !p.data.is_empty());
    let result = match file {
        None => Err(Error::field(
            "file",
            "required",
            "请选择购药登记文件",
            "choose the purchase file",
        )),
        Some(f) => match crate::import::rows_off_thread(f.data, crate::import::purchase_rows).await
        {
            Ok(rows) if rows.is_empty() => Err(Error::field(
                "file",
                "rows",
                "文件中没有数据行",
                "the file has no rows",
            )),
            Ok(rows) => s.services.import_purchases(&actor, rows).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(r) => Ok(no_store(ok(&ImportReportPage {
            base: Base::new(l, l.t().sn_import_title, "/pharmacy").signed_in(&actor),
            summary: l.sn_import_summary(r.loaded, r.fever_transfers, r.repeated, r.refused.len()),
            refused: r
                .refused
                .iter()
                .map(|(row, errors)| RefusedRow {
                    row: l.row_n(*row),
                    errors: errors
                        .iter()
                        .map(|e| {
                            let label = field_words(l, &e.field);
                            if label.is_empty() {
                                l.field_message(e).to_string()
                            } else {
                                format!("{label}{}{}", l.t().colon, l.field_message(e))
                            }
                        })
                        .collect(),
                })
                .collect(),
            back_href: l.link("/pharmacy"),
        }))),
        Err(Error::Invalid(errors)) => {
            let lines = errors
                .iter()
                .map(|e| {
                    format!(
                        "{}{}{}",
                        field_words(l, &e.field),
                        l.t().colon,
                        l.field_message(e)
                    )
                })
                .collect();
            let page = pharmacy_page(
                &s,
                l,
                &actor,
                PurchaseForm::blank(),
                FormErrors::default(),
                None,
                lines,
            )
            .await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub struct RefusedRow {
    pub row: String,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "sentinel_import.html")]
struct ImportReportPage {
    base: Base,
    summary: String,
    refused: Vec<RefusedRow>,
    back_href: String,
}
with_base!(ImportReportPage);

// ---------------------------------------------------------------------------
// 发热门诊

#[derive(Default, Clone)]
pub struct VisitForm {
    pub visit_id: String,
    pub clinic: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub temperature: String,
    pub symptoms: Vec<String>,
    pub barcode: String,
    pub sampled_at: String,
    pub result: String,
}

impl VisitForm {
    fn blank(now: i64) -> Self {
        VisitForm {
            visit_id: form_id("FC"),
            sampled_at: shanghai_time(now).replace(' ', "T"),
            ..Default::default()
        }
    }

    fn of(pairs: &Pairs) -> Self {
        VisitForm {
            visit_id: pairs.get("visit_id"),
            clinic: pairs.get("clinic"),
            id_type: pairs.get("id_type"),
            id_number: pairs.get("id_number"),
            name: pairs.get("name"),
            phone: pairs.get("phone"),
            temperature: pairs.get("temperature"),
            symptoms: pairs.all("symptoms"),
            barcode: pairs.get("test_barcode"),
            sampled_at: pairs.get("test_sampled_at"),
            result: pairs.get("test_result"),
        }
    }

    fn input(&self) -> FeverVisitInput {
        // None chosen: 0, as for a purchase.
        let clinic = self.clinic.trim().parse::<i64>().unwrap_or(0);
        // A phone's date-time box has no zone: the time is Beijing time.
        let at = self.sampled_at.trim();
        let sampled_at = if at.len() == 16 {
            format!("{at}:00+08:00")
        } else if at.len() == 19 {
            format!("{at}+08:00")
        } else {
            at.to_string()
        };
        FeverVisitInput {
            visit_id: self.visit_id.clone(),
            clinic,
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            temperature: self.temperature.clone(),
            symptoms: self.symptoms.clone(),
            test: VisitTestInput {
                barcode: self.barcode.clone(),
                sampled_at,
                result: self.result.clone(),
            },
        }
    }

    pub fn has_symptom(&self, s: &str) -> bool {
        self.symptoms.iter().any(|x| x == s)
    }
}

pub struct VisitItem {
    pub id: i64,
    pub at: String,
    pub venue: String,
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
    pub temperature: String,
    pub symptoms: String,
    pub barcode: String,
    pub sampled_at: String,
    pub result: String,
    pub result_label: &'static str,
    pub transfers_closed: i64,
}

#[derive(Template)]
#[template(path = "fever_clinic.html")]
struct FeverPage {
    base: Base,
    flash: Option<String>,
    csrf: String,
    action: String,
    clinics: Vec<(i64, String)>,
    f: VisitForm,
    errors: FormErrors,
    doc_types: Vec<(&'static str, &'static str)>,
    symptoms: Vec<(&'static str, &'static str)>,
    results: Vec<(&'static str, &'static str)>,
    visits: Vec<VisitItem>,
    venues_href: String,
}
with_base!(FeverPage);

impl FeverPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
    fn label(&self, key: &str) -> String {
        field_words(self.base.l, key)
    }
}

fn result_label(l: Lang, result: &str) -> &'static str {
    let t = l.t();
    match result {
        "negative" => t.sn_negative,
        "positive" => t.sn_positive,
        _ => t.sn_pending,
    }
}

async fn fever_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: VisitForm,
    errors: FormErrors,
    flash: Option<String>,
) -> Result<FeverPage, PageError> {
    let t = l.t();
    let rows = s.services.fever_visits(actor).await.or_page(l)?;
    let clinics = s.services.fever_clinics(actor).await.or_page(l)?;
    Ok(FeverPage {
        base: Base::new(l, t.sn_fever_title, "/fever-clinic").signed_in(actor),
        flash,
        csrf: actor.csrf.clone(),
        action: l.link("/fever-clinic"),
        clinics,
        f,
        errors,
        doc_types: doc_types(l),
        symptoms: symptom_choices(l),
        results: vec![
            ("pending", t.sn_pending),
            ("negative", t.sn_negative),
            ("positive", t.sn_positive),
        ],
        visits: rows
            .into_iter()
            .map(|r| VisitItem {
                id: r.id,
                at: shanghai_time(r.at),
                venue: r.venue,
                name: r.name,
                doc_masked: r.doc_masked,
                phone_masked: r.phone_masked,
                temperature: temperature_words(r.temperature_tenths),
                symptoms: symptom_words(l, &r.symptoms),
                barcode: r.barcode,
                sampled_at: shanghai_time(r.sampled_at),
                result_label: result_label(l, &r.result),
                result: r.result,
                transfers_closed: r.transfers_closed,
            })
            .collect(),
        venues_href: l.link("/venues"),
    })
}

pub async fn fever_clinic(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<RecordedQuery>,
) -> PageResult {
    let flash = q
        .recorded
        .map(|id| format!("{} #{id}", l.t().sn_visit_recorded));
    let now = s.services.clock.timestamp();
    let page = fever_page(
        &s,
        l,
        &actor,
        VisitForm::blank(now),
        FormErrors::default(),
        flash,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn record_visit(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    req: Request,
) -> PageResult {
    // Refused before the form is read: a grid has no clinic.
    if !actor.role.can_review() {
        return Err(Error::Forbidden).or_page(l);
    }
    let pairs: Vec<(String, String)> = match super::rounds::read_form(req, &s).await {
        Ok(p) => p,
        Err(refused) => return Ok(refused),
    };
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let f = VisitForm::of(&pairs);
    let result = s
        .services
        .record_fever_visit(&PurchaseSource::Staff(actor.clone()), f.input())
        .await;
    let result = unchosen(
        result,
        &f.clinic,
        "clinic",
        "请选择发热门诊",
        "choose the fever clinic",
    );
    match result {
        Ok(r) => Ok(see_other(&format!(
            "{}#visit-{}",
            l.link(&format!("/fever-clinic?recorded={}", r.id)),
            r.id
        ))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = fever_page(&s, l, &actor, f, errors, None).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// 预警

pub struct PersonItem {
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
}

pub struct AlertItem {
    pub id: i64,
    /// Of an announced drill: badged 演练.
    pub drill: bool,
    pub what: String,
    pub township: String,
    pub day: String,
    pub figures: String,
    pub state: String,
    pub state_label: &'static str,
    pub ack_due: String,
    pub late: bool,
    pub escalated: bool,
    pub acked: String,
    pub judged: String,
    pub note: String,
    pub people: Vec<PersonItem>,
    pub more_people: bool,
    pub ack_action: String,
    pub judge_action: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    base: Base,
    flash: Option<&'static str>,
    csrf: String,
    alerts: Vec<AlertItem>,
    errors: FormErrors,
    /// The alert whose 研判 form the errors are for.
    error_alert: i64,
    note: String,
}
with_base!(AlertsPage);

impl AlertsPage {
    fn err(&self, id: &i64, key: &str) -> Option<String> {
        if *id == self.error_alert {
            self.errors.get(key)
        } else {
            None
        }
    }
}

/// People shown under one alert; the rest are named by their grid's tasks.
const PEOPLE_SHOWN: usize = 20;

fn alert_state_label(l: Lang, state: &str) -> &'static str {
    let t = l.t();
    match state {
        "open" => t.sn_state_open,
        "acked" => t.sn_state_acked,
        "false_alarm" => t.sn_false_alarm,
        "suspected" => t.sn_suspected,
        _ => t.sn_state_open,
    }
}

async fn alerts_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    errors: FormErrors,
    error_alert: i64,
    note: String,
    flash: Option<&'static str>,
) -> Result<AlertsPage, PageError> {
    let t = l.t();
    let rows = s.services.alerts(actor).await.or_page(l)?;
    let names = super::staff::region_names(s, l).await?;
    let now = s.services.clock.timestamp();
    let mut alerts = Vec::new();
    // The newest 50 on the page; older ones are closed history.
    for a in rows.into_iter().take(50) {
        let people = s
            .services
            .alert_people(actor, a.id, PEOPLE_SHOWN + 1)
            .await
            .or_page(l)?;
        let source = match a.source.as_str() {
            "pharmacy" => t.sn_source_pharmacy,
            "fever_clinic" => t.sn_source_fever,
            _ => t.sn_source_other,
        };
        let (what, figures) = if a.kind == crate::usecases::surge::KIND_FEBRILE {
            (t.sn_kind_febrile.to_string(), String::new())
        } else {
            (
                format!("{}{}", source, t.sn_kind_surge),
                l.sn_surge_figures(a.count, a.p90, a.z),
            )
        };
        alerts.push(AlertItem {
            drill: a.announced_drill,
            id: a.id,
            what,
            township: super::staff::region_words(l, &names, &a.township),
            day: a.day,
            figures,
            state_label: alert_state_label(l, &a.state),
            ack_due: shanghai_time(a.ack_due_at),
            late: a.state == "open" && a.ack_due_at < now,
            escalated: a.escalated_at.is_some(),
            acked: match (&a.acked_by, a.acked_at) {
                (Some(by), Some(at)) => format!("{by} · {}", shanghai_time(at)),
                _ => String::new(),
            },
            judged: match (&a.judged_by, a.judged_at) {
                (Some(by), Some(at)) => format!("{by} · {}", shanghai_time(at)),
                _ => String::new(),
            },
            note: a.note.unwrap_or_default(),
            more_people: people.len() > PEOPLE_SHOWN,
            people: people
                .into_iter()
                .take(PEOPLE_SHOWN)
                .map(|p| PersonItem {
                    name: p.name,
                    doc_masked: p.doc_masked,
                    phone_masked: p.phone_masked,
                })
                .collect(),
            ack_action: l.link(&format!("/alerts/{}/ack", a.id)),
            judge_action: l.link(&format!("/alerts/{}/judge", a.id)),
            state: a.state,
        });
    }
    Ok(AlertsPage {
        base: Base::new(l, t.sn_alerts_title, "/alerts").signed_in(actor),
        flash,
        csrf: actor.csrf.clone(),
        alerts,
        errors,
        error_alert,
        note,
    })
}

#[derive(Deserialize)]
pub struct AlertsQuery {
    #[serde(default)]
    done: Option<String>,
}

pub async fn alerts(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<AlertsQuery>,
) -> PageResult {
    let t = l.t();
    let flash = match q.done.as_deref() {
        Some("ack") => Some(t.sn_acked_flash),
        Some("judge") => Some(t.sn_judged_flash),
        _ => None,
    };
    let page = alerts_page(
        &s,
        l,
        &actor,
        FormErrors::default(),
        0,
        String::new(),
        flash,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn ack_alert(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    s.services.ack_alert(&actor, id).await.or_page(l)?;
    Ok(see_other(&format!(
        "{}#alert-{id}",
        l.link("/alerts?done=ack")
    )))
}

pub async fn judge_alert(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let input = JudgeInput {
        verdict: pairs.get("verdict"),
        note: pairs.get("note"),
    };
    match s.services.judge_alert(&actor, id, input).await {
        Ok(_) => Ok(see_other(&format!(
            "{}#alert-{id}",
            l.link("/alerts?done=judge")
        ))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = alerts_page(&s, l, &actor, errors, id, pairs.get("note"), None).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// Sentences with numbers in them.

impl Lang {
    /// "载入 3 条（其中 1 条需发热就诊转运），重复 0 条，退回 2 行".
    pub fn sn_import_summary(
        self,
        loaded: usize,
        transfers: usize,
        repeated: usize,
        refused: usize,
    ) -> String {
        match self {
            Lang::Zh => format!(
                "已登记{loaded}条购药（其中{transfers}条需发热就诊转运），{repeated}条此前已登记，{refused}行未载入。"
            ),
            Lang::En => format!(
                "{loaded} purchases recorded ({transfers} with a fever-clinic transfer), {repeated} already on file, {refused} rows not loaded."
            ),
        }
    }

    /// A surge's figures: the day's count against the baseline.
    pub fn sn_surge_figures(self, count: i64, p90: f64, z: f64) -> String {
        match self {
            Lang::Zh => format!("当日{count}例，基线P90为{p90:.1}，稳健z值{z:.1}"),
            Lang::En => format!("{count} that day; baseline P90 {p90:.1}, robust z {z:.1}"),
        }
    }
}
