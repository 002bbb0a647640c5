//! 核酸采样 on a phone: open a pooled tube, scan people into it, seal it.
//! One input takes whatever a QR scanner or a keyboard gives (forms::parse_scan);
//! every form post carries the session's CSRF token.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bihuan_domain::identity::DocumentType;
use bihuan_domain::testing::POOL_SIZES;
use bihuan_domain::validation::FieldError;
use serde::Deserialize;

use super::forms::{FormErrors, OpenTubeForm, Pairs, ScanForm};
use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, percent_encode, render,
    see_other, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::sites::TownSites;
use crate::usecases::testing::{CATEGORIES, TubeView};
use crate::web::AppState;

// ---------------------------------------------------------------------------
// GET /sample: the 开管 form.

/// The sites of one town, for the site picker.
pub struct SiteGroup {
    pub town: String,
    pub sites: Vec<String>,
}

#[derive(Template)]
#[template(path = "sample.html")]
struct SamplePage {
    base: Base,
    action: String,
    csrf: String,
    f: OpenTubeForm,
    errors: FormErrors,
    /// The barcode is taken: a link to that tube.
    taken_href: Option<String>,
    pools: Vec<(String, String)>,
    categories: Vec<(&'static str, String)>,
    sites: Vec<SiteGroup>,
    sites_href: String,
}
with_base!(SamplePage);

/// 应检尽检, 定期抽检, 愿检尽检 with their values.
pub fn categories(l: Lang) -> Vec<(&'static str, String)> {
    CATEGORIES
        .into_iter()
        .map(|c| (c, l.sample_category(c)))
        .collect()
}

impl SamplePage {
    fn new(
        l: Lang,
        actor: &Actor,
        towns: Vec<TownSites>,
        f: OpenTubeForm,
        errors: FormErrors,
        taken_href: Option<String>,
    ) -> Self {
        let t = l.t();
        SamplePage {
            base: Base::new(l, t.sample_title, "/sample").signed_in(actor),
            action: l.link("/sample/tubes"),
            csrf: actor.csrf.clone(),
            f,
            errors,
            taken_href,
            pools: POOL_SIZES
                .into_iter()
                .map(|n| (n.to_string(), l.pool(i64::from(n))))
                .collect(),
            categories: categories(l),
            sites: towns
                .into_iter()
                .map(|g| SiteGroup {
                    town: if g.town_name.is_empty() {
                        g.town
                    } else {
                        g.town_name
                    },
                    sites: g.sites.into_iter().map(|s| s.name).collect(),
                })
                .collect(),
            sites_href: l.link("/sites"),
        }
    }

    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    fn label(&self, key: &str) -> String {
        let t = self.t;
        match key {
            "barcode" => t.sm_barcode,
            "pool_size" => t.sm_pool,
            "category" => t.sm_category,
            "site" => t.sm_site,
            other => self.l.field_label(other),
        }
        .to_string()
    }
}

pub async fn sample(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let towns = s.services.sites_by_town().await.or_page(l)?;
    let page = SamplePage::new(
        l,
        &actor,
        towns,
        OpenTubeForm::default(),
        FormErrors::default(),
        None,
    );
    Ok(no_store(render(StatusCode::OK, &page)))
}

/// A path under the tube's page, with the language: `rest` is "", a
/// sub-path ("/seal") or a query ("?sealed=1").
fn tube_path(l: Lang, barcode: &str, rest: &str) -> String {
    l.link(&format!("/sample/tubes/{}{rest}", percent_encode(barcode)))
}

/// POST /sample/tubes: 开管.
pub async fn open_tube(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = OpenTubeForm::from_pairs(&pairs);
    match s.services.open_tube(&actor, form.to_input()).await {
        Ok(v) => Ok(see_other(&tube_path(l, &v.barcode, ""))),
        Err(Error::Invalid(errors)) => {
            let taken_href = errors
                .iter()
                .any(|e| e.code == "taken")
                .then(|| tube_path(l, &form.barcode.trim().to_ascii_uppercase(), ""));
            let errors = FormErrors::of(&errors, l, &[]);
            let towns = s.services.sites_by_town().await.or_page(l)?;
            let page = SamplePage::new(l, &actor, towns, form, errors, taken_href);
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// GET /sample/tubes/{barcode}: the tube being filled.

#[derive(Template)]
#[template(path = "tube.html")]
struct TubePage {
    base: Base,
    v: TubeView,
    collected: String,
    pool_label: String,
    /// Full and not sealed yet: 已满，请封管.
    full: bool,
    flash: Option<String>,
    sealed_now: bool,
    result: Option<String>,
    csrf: String,
    scan_action: String,
    seal_action: String,
    new_tube_href: String,
    f: ScanForm,
    doc_types: Vec<(&'static str, String)>,
    scan_error: Option<String>,
    name_error: Option<String>,
    seal_error: Option<String>,
}
with_base!(TubePage);

impl TubePage {
    fn new(l: Lang, actor: &Actor, v: TubeView, f: ScanForm) -> Self {
        let t = l.t();
        let barcode = v.barcode.clone();
        TubePage {
            base: Base::new(
                l,
                format!("{} {barcode}", t.tube_title),
                &tube_path(Lang::Zh, &barcode, ""),
            )
            .signed_in(actor),
            collected: l.collected(v.members, v.pool_size),
            pool_label: l.pool(v.pool_size),
            full: !v.sealed && v.members >= v.pool_size,
            flash: None,
            sealed_now: false,
            result: v.result.as_deref().map(|r| l.test_result(r)),
            csrf: actor.csrf.clone(),
            scan_action: tube_path(l, &barcode, "/members"),
            seal_action: tube_path(l, &barcode, "/seal"),
            new_tube_href: l.link("/sample"),
            f,
            doc_types: DocumentType::ALL
                .into_iter()
                .map(|d| (d.as_str(), l.doc_type(d.as_str())))
                .collect(),
            scan_error: None,
            name_error: None,
            seal_error: None,
            v,
        }
    }

    /// The scan input keeps the focus, except when the tube is full and
    /// nothing went wrong: then the 封管 button has it.
    fn focus_scan(&self) -> bool {
        !self.full || self.scan_error.is_some()
    }
}

#[derive(Deserialize, Default)]
pub struct TubeQuery {
    /// Who was just added (a masked name, or a person code).
    #[serde(default)]
    added: Option<String>,
    /// The members count right after.
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    sealed: Option<String>,
}

pub async fn tube(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(barcode): Path<String>,
    Query(q): Query<TubeQuery>,
) -> PageResult {
    let v = s.services.tube(&actor, &barcode).await.or_page(l)?;
    let mut page = TubePage::new(l, &actor, v, ScanForm::default());
    if let Some(who) = q.added.as_deref().filter(|w| !w.is_empty()) {
        let n = q.n.unwrap_or(page.v.members);
        page.flash = Some(l.added_to_tube(who, n, page.v.pool_size));
    }
    page.sealed_now = q.sealed.is_some() && page.v.sealed;
    Ok(no_store(render(StatusCode::OK, &page)))
}

/// A scan or a seal was refused or had a mistake: the tube page again, with
/// the message where it belongs.
async fn tube_again(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    barcode: &str,
    status: StatusCode,
    form: ScanForm,
    set: impl FnOnce(&mut TubePage),
) -> PageResult {
    let v = s.services.tube(actor, barcode).await.or_page(l)?;
    let mut page = TubePage::new(l, actor, v, form);
    set(&mut page);
    Ok(no_store(render(status, &page)))
}

fn refusal(l: Lang, zh: &str, en: &str) -> String {
    if l.is_en() { en } else { zh }.to_string()
}

/// Field errors of a scan: the name's by the name, the rest by the scan input.
fn scan_errors(l: Lang, errors: &[FieldError]) -> (Option<String>, Option<String>) {
    let join = |name: bool| {
        let m: Vec<&str> = errors
            .iter()
            .filter(|e| (e.field == "name") == name)
            .map(|e| l.field_message(e))
            .collect();
        (!m.is_empty()).then(|| m.join("；"))
    };
    (join(false), join(true))
}

/// POST /sample/tubes/{barcode}/members: one scan.
pub async fn add_member(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(barcode): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = ScanForm::from_pairs(&pairs);
    let input = match form.to_input() {
        Ok(i) => i,
        Err(e) => {
            let (scan, name) = scan_errors(l, &[e]);
            return tube_again(
                &s,
                l,
                &actor,
                &barcode,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                |p| (p.scan_error, p.name_error) = (scan, name),
            )
            .await;
        }
    };
    let by_person = input.person_id.is_some();
    let result = match s.services.add_to_tube(&actor, &barcode, input).await {
        // A person code outside the sampler's region reads like a code
        // nobody has: said in the form, where the scan was typed.
        Err(Error::NotFound) if by_person => Err(Error::field(
            "person_id",
            "unknown",
            "无效的人员码",
            "unknown person",
        )),
        other => other,
    };
    match result {
        Ok(a) => {
            let who = if a.name.is_empty() {
                format!("P{}", a.person_id)
            } else {
                a.name
            };
            let query = format!("?added={}&n={}", percent_encode(&who), a.members);
            Ok(see_other(&tube_path(
                l,
                &barcode.trim().to_ascii_uppercase(),
                &query,
            )))
        }
        Err(Error::Refused { zh, en, .. }) => {
            let msg = refusal(l, zh, en);
            tube_again(&s, l, &actor, &barcode, StatusCode::CONFLICT, form, |p| {
                p.scan_error = Some(msg)
            })
            .await
        }
        Err(Error::Invalid(errors)) if !errors.iter().any(|e| e.field == "barcode") => {
            let (scan, name) = scan_errors(l, &errors);
            tube_again(
                &s,
                l,
                &actor,
                &barcode,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                |p| (p.scan_error, p.name_error) = (scan, name),
            )
            .await
        }
        Err(e) => Err(e).or_page(l),
    }
}

/// POST /sample/tubes/{barcode}/seal: 封管.
pub async fn seal(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(barcode): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    // A sealed tube takes nobody more and goes to the lab: ask first.
    super::staff::require_confirm(&pairs.get("confirm"), l)?;
    match s.services.seal_tube(&actor, &barcode).await {
        Ok(v) => Ok(see_other(&tube_path(l, &v.barcode, "?sealed=1"))),
        Err(Error::Refused { zh, en, .. }) => {
            let msg = refusal(l, zh, en);
            tube_again(
                &s,
                l,
                &actor,
                &barcode,
                StatusCode::CONFLICT,
                ScanForm::default(),
                |p| p.seal_error = Some(msg),
            )
            .await
        }
        Err(e) => Err(e).or_page(l),
    }
}
