//! 三区管控: the command draws a 封控区, 管控区 or 防范区 around a village or
//! a grid, sees how many residents came under it, and lifts it again.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::forms::{FormErrors, Pairs, ZoneForm};
use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, render, see_other,
    with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::views::ZonesPageView;
use crate::usecases::zones::ZONE_KINDS;
use crate::web::AppState;

pub struct ZoneItem {
    pub id: i64,
    /// sealed, controlled or precaution.
    pub kind: String,
    pub kind_label: String,
    pub region: String,
    pub code: String,
    pub starts_on: String,
    pub lifted_on: Option<String>,
    pub lift_action: String,
}

/// A town of the village picker.
pub struct VillageGroup {
    pub name: String,
    pub villages: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "zones.html")]
struct ZonesPage {
    base: Base,
    flash: Option<String>,
    zones: Vec<ZoneItem>,
    csrf: String,
    action: String,
    f: ZoneForm,
    errors: FormErrors,
    kinds: Vec<(&'static str, String)>,
    towns: Vec<VillageGroup>,
    /// Grids by name, grouped by town.
    grid_towns: Vec<VillageGroup>,
}
with_base!(ZonesPage);

impl ZonesPage {
    fn new(
        l: Lang,
        actor: &Actor,
        v: ZonesPageView,
        f: ZoneForm,
        errors: FormErrors,
        flash: Option<String>,
    ) -> Self {
        let t = l.t();
        ZonesPage {
            base: Base::new(l, t.zn_title, "/zones").signed_in(actor),
            flash,
            zones: v
                .zones
                .into_iter()
                .map(|z| ZoneItem {
                    kind_label: l.zone_kind(&z.kind),
                    region: if z.region_name.is_empty() {
                        z.region.clone()
                    } else {
                        z.region_name
                    },
                    starts_on: l.date_str(&z.starts_on),
                    lifted_on: z.lifted_on.as_deref().map(|d| l.date_str(d)),
                    lift_action: l.link(&format!("/zones/{}/lift", z.id)),
                    id: z.id,
                    kind: z.kind,
                    code: z.region,
                })
                .collect(),
            csrf: actor.csrf.clone(),
            action: l.link("/zones"),
            f,
            errors,
            kinds: ZONE_KINDS
                .iter()
                .map(|(k, _)| (*k, l.zone_kind(k)))
                .collect(),
            grid_towns: v
                .towns
                .iter()
                .map(|t| VillageGroup {
                    name: t.name.clone(),
                    villages: v
                        .grids
                        .iter()
                        .filter(|g| g.code.starts_with(&t.code))
                        .map(|g| (g.code.clone(), g.name.clone()))
                        .collect(),
                })
                .filter(|g| !g.villages.is_empty())
                .collect(),
            towns: v
                .towns
                .into_iter()
                .filter(|t| !t.villages.is_empty())
                .map(|t| VillageGroup {
                    name: t.name,
                    villages: t.villages.into_iter().map(|v| (v.code, v.name)).collect(),
                })
                .collect(),
        }
    }

    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    /// Whether the typed grid is one the list offers (else it is kept as typed).
    fn known_grid(&self, code: &str) -> bool {
        self.grid_towns
            .iter()
            .any(|t| t.villages.iter().any(|g| g.0 == code))
    }

    fn label(&self, key: &str) -> String {
        let t = self.t;
        match key {
            "kind" => t.zn_kind,
            "region" => t.cv_region,
            "starts_on" => t.zn_starts,
            // Never the English key: the shared field names.
            other => self.l.field_label(other),
        }
        .to_string()
    }
}

#[derive(Deserialize, Default)]
pub struct ZonesQuery {
    placed: Option<usize>,
    kept: Option<usize>,
    released: Option<usize>,
    remaining: Option<usize>,
}

pub async fn zones(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Query(q): Query<ZonesQuery>,
) -> PageResult {
    let v = s.services.zones_page(&actor).await.or_page(l)?;
    let flash = match (q.placed, q.kept, q.released, q.remaining) {
        (Some(p), Some(k), _, _) => Some(l.zone_marked(p, k)),
        (_, _, Some(r), Some(m)) => Some(l.zone_lifted(r, m)),
        _ => None,
    };
    let f = ZoneForm {
        kind: "sealed".into(),
        starts_on: s.services.clock.today().to_string(),
        ..Default::default()
    };
    let page = ZonesPage::new(l, &actor, v, f, FormErrors::default(), flash);
    Ok(no_store(ok(&page)))
}

pub async fn mark_zone(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    super::staff::require_confirm(&pairs.get("confirm"), l)?;
    let form = ZoneForm::from_pairs(&pairs);
    match s.services.mark_zone(&actor, form.to_input()).await {
        Ok(out) => {
            let to = l.link(&format!("/zones?placed={}&kept={}", out.placed, out.kept));
            Ok(see_other(&format!("{to}#zone-{}", out.id)))
        }
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let v = s.services.zones_page(&actor).await.or_page(l)?;
            let page = ZonesPage::new(l, &actor, v, form, errors, None);
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

#[derive(Deserialize)]
pub struct LiftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn lift_zone(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<LiftForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    super::staff::require_confirm(&f.confirm, l)?;
    let out = s.services.lift_zone(&actor, id).await.or_page(l)?;
    Ok(see_other(&l.link(&format!(
        "/zones?released={}&remaining={}",
        out.released, out.remaining
    ))))
}
