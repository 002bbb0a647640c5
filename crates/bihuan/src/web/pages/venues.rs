//! 场所码 pages: villages register venues and towns approve them (staff),
//! each approved venue's printable poster, and the public check-in page a
//! scan opens, with its big green / yellow / red banner.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;

use super::forms::{FormErrors, Pairs};
use super::{
    Base, Failure, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok,
    qr_svg, render, see_other, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::venues::{OtherInput, VenueInput, Visit, VisitInput};
use crate::web::AppState;

/// The cookie that remembers a visitor on their phone (an encrypted person
/// reference, useless elsewhere).
const VISITOR_COOKIE: &str = "bh_visitor";

pub struct VenueItem {
    pub id: i64,
    pub name: String,
    pub kind_label: String,
    pub region: String,
    pub address: String,
    pub state: String,
    pub state_label: &'static str,
    pub approve_action: String,
    pub reject_action: String,
    pub poster_href: String,
}

#[derive(Default)]
pub struct VenueForm {
    pub name: String,
    pub kind: String,
    pub region: String,
    pub address: String,
}

pub struct VillageGroup {
    pub name: String,
    pub villages: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "venues.html")]
struct VenuesPage {
    base: Base,
    flash: Option<&'static str>,
    venues: Vec<VenueItem>,
    can_decide: bool,
    csrf: String,
    action: String,
    f: VenueForm,
    errors: FormErrors,
    kinds: Vec<(String, String)>,
    towns: Vec<VillageGroup>,
}
with_base!(VenuesPage);

impl VenuesPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
    fn label(&self, key: &str) -> String {
        let t = self.base.t;
        match key {
            "name" => t.vn_name,
            "kind" => t.vn_kind,
            "region" => t.vn_village,
            "address" => t.vn_address,
            // Never the English key: the shared field names.
            other => self.base.l.field_label(other),
        }
        .to_string()
    }
}

fn state_label(l: Lang, state: &str) -> &'static str {
    let t = l.t();
    match state {
        "approved" => t.vn_approved,
        "rejected" => t.vn_rejected,
        _ => t.vn_pending,
    }
}

async fn venues_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: VenueForm,
    errors: FormErrors,
    flash: Option<&'static str>,
) -> Result<VenuesPage, PageError> {
    let t = l.t();
    let rows = s.services.venues(actor).await.or_page(l)?;
    let towns = s.services.villages_by_town().await.or_page(l)?;
    let names = super::staff::region_names(s, l).await?;
    let venues = rows
        .into_iter()
        .map(|v| VenueItem {
            kind_label: s
                .services
                .policy
                .venue_type(&v.kind)
                .map_or(v.kind.clone(), |k| l.pick_owned(&k.label_zh, &k.label_en)),
            state_label: state_label(l, &v.state),
            approve_action: l.link(&format!("/venues/{}/approve", v.id)),
            reject_action: l.link(&format!("/venues/{}/reject", v.id)),
            poster_href: l.link(&format!("/venues/{}/poster", v.id)),
            id: v.id,
            name: v.name,
            // The village by name, not its code.
            region: super::staff::region_words(l, &names, &v.region),
            address: v.address,
            state: v.state,
        })
        .collect();
    Ok(VenuesPage {
        base: Base::new(l, t.vn_title, "/venues").signed_in(actor),
        flash,
        venues,
        can_decide: actor.role.can_review() && actor.region.as_str().len() <= 9,
        csrf: actor.csrf.clone(),
        action: l.link("/venues"),
        f,
        errors,
        kinds: s
            .services
            .policy
            .venue_types
            .iter()
            .map(|k| (k.name.clone(), l.pick_owned(&k.label_zh, &k.label_en)))
            .collect(),
        towns: towns
            .into_iter()
            .map(|g| VillageGroup {
                name: g.name,
                villages: g
                    .villages
                    .into_iter()
                    .filter(|v| v.code.starts_with(actor.scope()))
                    .map(|v| (v.code, v.name))
                    .collect(),
            })
            .filter(|g| !g.villages.is_empty())
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct VenuesQuery {
    #[serde(default)]
    added: Option<i64>,
}

pub async fn venues(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<VenuesQuery>,
) -> PageResult {
    let flash = q.added.map(|_| l.t().vn_registered);
    let page = venues_page(
        &s,
        l,
        &actor,
        VenueForm::default(),
        FormErrors(vec![]),
        flash,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn register(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let f = VenueForm {
        name: pairs.get("name"),
        kind: pairs.get("kind"),
        region: pairs.get("region"),
        address: pairs.get("address"),
    };
    let input = VenueInput {
        name: f.name.clone(),
        kind: f.kind.clone(),
        region: f.region.clone(),
        address: f.address.clone(),
    };
    match s.services.register_venue(&actor, input).await {
        Ok(v) => Ok(see_other(&format!(
            "{}#venue-{}",
            l.link(&format!("/venues?added={}", v.id)),
            v.id
        ))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = venues_page(&s, l, &actor, f, errors, None).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

async fn decide(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    id: i64,
    pairs: Pairs,
    approve: bool,
) -> PageResult {
    check_csrf(actor, &pairs.get("csrf"), l)?;
    s.services
        .decide_venue(actor, id, approve)
        .await
        .or_page(l)?;
    Ok(see_other(&format!("{}#venue-{id}", l.link("/venues"))))
}

pub async fn approve(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    decide(&s, l, &actor, id, Pairs(pairs), true).await
}

pub async fn reject(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    decide(&s, l, &actor, id, Pairs(pairs), false).await
}

#[derive(Template)]
#[template(path = "venue_poster.html")]
struct PosterPage {
    base: Base,
    name: String,
    kind_label: String,
    address: String,
    url: String,
    qr: String,
    back_href: String,
}
with_base!(PosterPage);

pub async fn poster(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult {
    let v = s.services.venue(&actor, id).await.or_page(l)?;
    if v.state != "approved" {
        return Err(Error::Refused {
            code: "not_approved",
            zh: "场所未审核通过，不能打印场所码",
            en: "the venue is not approved yet",
        })
        .or_page(l);
    }
    let url = format!(
        "{}/v/{}",
        s.settings.public_base_url.trim_end_matches('/'),
        v.code
    );
    let page = PosterPage {
        base: Base::new(l, v.name.clone(), &format!("/venues/{id}/poster")),
        kind_label: s
            .services
            .policy
            .venue_type(&v.kind)
            .map_or(v.kind.clone(), |k| l.pick_owned(&k.label_zh, &k.label_en)),
        qr: qr_svg(&url).or_page(l)?,
        name: v.name,
        address: v.address,
        url,
        back_href: l.link("/venues"),
    };
    Ok(ok(&page))
}

// ---------------------------------------------------------------------------
// The public check-in page.

#[derive(Default)]
pub struct VisitForm {
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub other_id_number: String,
    pub other_name: String,
}

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitPage {
    base: Base,
    venue: String,
    action: String,
    remembered: bool,
    forget_href: String,
    f: VisitForm,
    errors: FormErrors,
    doc_types: Vec<(&'static str, &'static str)>,
}
with_base!(VisitPage);

impl VisitPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

#[derive(Template)]
#[template(path = "visit_done.html")]
struct VisitDonePage {
    base: Base,
    v: Visit,
    banner: &'static str,
    time: String,
    again_href: String,
}
with_base!(VisitDonePage);

fn remembered_device(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == VISITOR_COOKIE && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

fn doc_types(l: Lang) -> Vec<(&'static str, &'static str)> {
    use bihuan_domain::identity::DocumentType as D;
    D::ALL
        .into_iter()
        .map(|d| (d.as_str(), l.pick(d.label_zh(), d.label_en())))
        .collect()
}

#[derive(Deserialize)]
pub struct VisitQuery {
    #[serde(default)]
    forget: Option<u8>,
}

pub async fn visit_form(
    State(s): State<AppState>,
    l: Lang,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<VisitQuery>,
) -> PageResult {
    let v = s.services.public_venue(&code).await.or_page(l)?;
    let remembered = q.forget.is_none() && remembered_device(&headers).is_some();
    let page = VisitPage {
        base: Base::new(l, v.name.clone(), &format!("/v/{code}")),
        venue: v.name,
        action: l.link(&format!("/v/{code}")),
        remembered,
        forget_href: l.link(&format!("/v/{code}?forget=1")),
        f: VisitForm::default(),
        errors: FormErrors(vec![]),
        doc_types: doc_types(l),
    };
    Ok(no_store(ok(&page)))
}

pub async fn visit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    if !s.allowed(crate::web::ratelimit::Family::Visit, addr) {
        return Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        });
    }
    let pairs = Pairs(pairs);
    let f = VisitForm {
        id_type: pairs.get("id_type"),
        id_number: pairs.get("id_number"),
        name: pairs.get("name"),
        phone: pairs.get("phone"),
        other_id_number: pairs.get("for_other_id_number"),
        other_name: pairs.get("for_other_name"),
    };
    let use_device = pairs.get("remembered") == "1";
    let device = if use_device {
        remembered_device(&headers)
    } else {
        None
    };
    let for_other =
        (!f.other_id_number.trim().is_empty() || !f.other_name.trim().is_empty()).then(|| {
            OtherInput {
                id_type: "resident".into(),
                id_number: f.other_id_number.clone(),
                name: f.other_name.clone(),
            }
        });
    let input = VisitInput {
        device,
        id_type: f.id_type.clone(),
        id_number: f.id_number.clone(),
        name: f.name.clone(),
        phone: f.phone.clone(),
        for_other,
    };
    // The cookie keys the 代扫 limit even when the visitor types a document.
    let from = crate::usecases::venues::VisitFrom {
        addr: Some(addr.ip()),
        device: remembered_device(&headers),
    };
    match s.services.visit(&code, input, from).await {
        Ok(v) => {
            let secure = s.settings.public_base_url.starts_with("https://");
            let cookie = format!(
                "{VISITOR_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/v; Max-Age=31536000{}",
                v.device,
                if secure { "; Secure" } else { "" }
            );
            let page = VisitDonePage {
                base: Base::new(l, v.venue.clone(), &format!("/v/{code}")),
                banner: l.pick(v.banner_zh, v.banner_en),
                time: super::shanghai_time(v.at),
                again_href: l.link(&format!("/v/{code}")),
                v,
            };
            let mut r = no_store(render(StatusCode::CREATED, &page));
            if let Ok(c) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, c);
            }
            Ok(r)
        }
        Err(Error::Invalid(errors)) => {
            let v = s.services.public_venue(&code).await.or_page(l)?;
            let page = VisitPage {
                base: Base::new(l, v.name.clone(), &format!("/v/{code}")),
                venue: v.name,
                action: l.link(&format!("/v/{code}")),
                remembered: false,
                forget_href: l.link(&format!("/v/{code}?forget=1")),
                f,
                errors: FormErrors::of(&errors, l, &[]),
                doc_types: doc_types(l),
            };
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}
