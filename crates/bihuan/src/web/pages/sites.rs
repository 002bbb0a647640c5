//! 核酸采样点: the public list by town with a hand-drawn position sketch,
//! each site's printable poster, and for signed-in town and command users
//! (anyone who may add sites) the 新增采样点 form on the same page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::forms::{FormErrors, Pairs, SiteForm};
use super::sampling::categories;
use super::{
    Base, Lang, MaybeActor, OrPage, PageActor, PageResult, check_csrf, ok, qr_svg, render,
    see_other, with_base,
};
use crate::error::Error;
use crate::storage::testing::SiteRow;
use crate::usecases::Actor;
use crate::usecases::sites::{SITE_KINDS, TownSites};
use crate::usecases::views::{SitesPageView, TownVillages};
use crate::web::AppState;

/// One site as the list shows it.
pub struct SiteCard {
    pub id: i64,
    pub name: String,
    /// fixed, fangcang or mobile, for the dot's colour.
    pub kind: String,
    pub kind_label: String,
    pub hours: String,
    pub address: String,
    pub serves: Vec<String>,
    pub paid: bool,
    pub fee: &'static str,
    pub poster_href: String,
}

pub struct TownGroup {
    pub code: String,
    pub name: String,
    pub sites: Vec<SiteCard>,
}

/// The position sketch: a grid of town tiles with a dot per site, in SVG
/// user units (the drawing scales down to the phone's width).
pub struct Sketch {
    pub width: i64,
    pub height: i64,
    pub tiles: Vec<SketchTile>,
}

pub struct SketchTile {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub label: String,
    pub code: String,
    pub dots: Vec<Dot>,
}

pub struct Dot {
    pub cx: i64,
    pub cy: i64,
    pub id: i64,
    pub name: String,
    pub kind: String,
}

const TILE_W: i64 = 150;
const GAP: i64 = 10;
const COLS: usize = 3;
const DOTS_PER_ROW: usize = 7;
const DOT_STEP: i64 = 19;
const DOT_TOP: i64 = 44;

impl Sketch {
    fn of(groups: &[TownGroup]) -> Sketch {
        let cols = groups.len().clamp(1, COLS);
        let most = groups.iter().map(|g| g.sites.len()).max().unwrap_or(0);
        let dot_rows = most.div_ceil(DOTS_PER_ROW).max(1) as i64;
        let tile_h = DOT_TOP + dot_rows * DOT_STEP;
        let tiles = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let x = (i % cols) as i64 * (TILE_W + GAP);
                let y = (i / cols) as i64 * (tile_h + GAP);
                SketchTile {
                    x,
                    y,
                    w: TILE_W,
                    h: tile_h,
                    label: format!("{} ({})", g.name, g.sites.len()),
                    code: g.code.clone(),
                    dots: g
                        .sites
                        .iter()
                        .enumerate()
                        .map(|(j, s)| Dot {
                            cx: x + 18 + (j % DOTS_PER_ROW) as i64 * DOT_STEP,
                            cy: y + DOT_TOP - 4 + (j / DOTS_PER_ROW) as i64 * DOT_STEP,
                            id: s.id,
                            name: s.name.clone(),
                            kind: s.kind.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        let rows = groups.len().div_ceil(cols).max(1) as i64;
        Sketch {
            width: cols as i64 * TILE_W + (cols as i64 - 1) * GAP,
            height: rows * tile_h + (rows - 1) * GAP,
            tiles,
        }
    }
}

/// A town of the region picker: itself when inside the user's region, and
/// its villages that are.
pub struct RegionGroup {
    pub code: String,
    pub name: String,
    pub selectable: bool,
    pub villages: Vec<(String, String)>,
}

/// The 新增采样点 form.
pub struct AddSite {
    pub lang: Lang,
    pub action: String,
    pub csrf: String,
    pub f: SiteForm,
    pub errors: FormErrors,
    pub regions: Vec<RegionGroup>,
    pub kinds: Vec<(&'static str, String)>,
    pub categories: Vec<(&'static str, String)>,
}

impl AddSite {
    pub fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    pub fn label(&self, key: &str) -> String {
        let t = self.lang.t();
        match key {
            "name" => t.st_name,
            "region" => t.st_region,
            "address" => t.st_address,
            "hours" => t.st_hours,
            "kind" => t.st_kind,
            "serves" => t.st_serves,
            // Never the English key: the shared field names.
            other => self.lang.field_label(other),
        }
        .to_string()
    }
}

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage {
    base: Base,
    towns: Vec<TownGroup>,
    sketch: Sketch,
    flash: Option<&'static str>,
    add: Option<AddSite>,
}
with_base!(SitesPage);

fn site_card(l: Lang, s: SiteRow) -> SiteCard {
    SiteCard {
        kind_label: l.site_kind(&s.kind),
        serves: s
            .serves
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| l.sample_category(c))
            .collect(),
        fee: l.paid(s.paid),
        poster_href: l.link(&format!("/sites/{}/poster", s.id)),
        id: s.id,
        name: s.name,
        kind: s.kind,
        hours: s.hours,
        address: s.address,
        paid: s.paid,
    }
}

fn town_group(l: Lang, g: TownSites) -> TownGroup {
    TownGroup {
        name: if g.town_name.is_empty() {
            g.town.clone()
        } else {
            g.town_name
        },
        code: g.town,
        sites: g.sites.into_iter().map(|s| site_card(l, s)).collect(),
    }
}

fn region_groups(actor: &Actor, towns: Vec<TownVillages>) -> Vec<RegionGroup> {
    let scope = actor.scope();
    towns
        .into_iter()
        .map(|t| RegionGroup {
            selectable: t.code.starts_with(scope),
            villages: t.villages.into_iter().map(|v| (v.code, v.name)).collect(),
            code: t.code,
            name: t.name,
        })
        .collect()
}

impl SitesPage {
    fn new(
        l: Lang,
        actor: Option<&Actor>,
        v: SitesPageView,
        f: SiteForm,
        errors: FormErrors,
        flash: Option<&'static str>,
    ) -> Self {
        let t = l.t();
        let mut base = Base::new(l, t.sites_title, "/sites");
        if let Some(a) = actor {
            base = base.signed_in(a);
        }
        let towns: Vec<TownGroup> = v.sites.into_iter().map(|g| town_group(l, g)).collect();
        let add = actor
            .filter(|a| a.role.can_review() && !v.regions.is_empty())
            .map(|a| AddSite {
                lang: l,
                action: l.link("/sites"),
                csrf: a.csrf.clone(),
                f,
                errors,
                regions: region_groups(a, v.regions),
                kinds: SITE_KINDS
                    .into_iter()
                    .map(|k| (k, l.site_kind(k)))
                    .collect(),
                categories: categories(l),
            });
        SitesPage {
            base,
            sketch: Sketch::of(&towns),
            towns,
            flash,
            add,
        }
    }
}

/// The same for everyone but for the form and the staff menu, which carry
/// the session: private, checked again on each visit.
fn private(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    r
}

#[derive(Deserialize, Default)]
pub struct SitesQuery {
    #[serde(default)]
    added: Option<String>,
}

/// GET /sites: public; with the add form for signed-in users who may add.
pub async fn sites(
    State(s): State<AppState>,
    MaybeActor(actor): MaybeActor,
    l: Lang,
    Query(q): Query<SitesQuery>,
) -> PageResult {
    let v = s.services.sites_page(actor.as_ref()).await.or_page(l)?;
    let flash = q.added.is_some().then_some(l.t().st_added);
    let page = SitesPage::new(
        l,
        actor.as_ref(),
        v,
        SiteForm::blank(),
        FormErrors::default(),
        flash,
    );
    Ok(private(ok(&page)))
}

/// POST /sites: 新增采样点.
pub async fn add_site(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = SiteForm::from_pairs(&pairs);
    match s.services.add_site(&actor, form.to_input()).await {
        Ok(id) => {
            let to = l.link(&format!("/sites?added={id}"));
            Ok(see_other(&format!("{to}#site-{id}")))
        }
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let v = s.services.sites_page(Some(&actor)).await.or_page(l)?;
            let page = SitesPage::new(l, Some(&actor), v, form, errors, None);
            Ok(private(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// GET /sites/{id}/poster: the printable poster of one site.

#[derive(Template)]
#[template(path = "site_poster.html")]
struct SitePosterPage {
    base: Base,
    site: SiteCard,
    url: String,
    qr: String,
    back_href: String,
}
with_base!(SitePosterPage);

pub async fn poster(State(s): State<AppState>, l: Lang, Path(id): Path<i64>) -> PageResult {
    let site = s.services.site(id).await.or_page(l)?;
    let url = format!(
        "{}/sites#site-{id}",
        s.settings.public_base_url.trim_end_matches('/')
    );
    let qr = qr_svg(&url).or_page(l)?;
    let page = SitePosterPage {
        base: Base::new(l, site.name.clone(), &format!("/sites/{id}/poster")),
        site: site_card(l, site),
        url,
        qr,
        back_href: l.link(&format!("/sites#site-{id}")),
    };
    Ok(ok(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(code: &str, n: usize) -> TownGroup {
        TownGroup {
            code: code.into(),
            name: format!("镇{code}"),
            sites: (0..n)
                .map(|i| SiteCard {
                    id: i as i64,
                    name: format!("点{i}"),
                    kind: "fixed".into(),
                    kind_label: String::new(),
                    hours: String::new(),
                    address: String::new(),
                    serves: vec![],
                    paid: false,
                    fee: "",
                    poster_href: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_sketch_lays_towns_out_in_a_grid_with_a_dot_per_site() {
        let s = Sketch::of(&[group("a", 1), group("b", 9), group("c", 2), group("d", 0)]);
        assert_eq!(s.tiles.len(), 4);
        assert_eq!(s.width, 3 * TILE_W + 2 * GAP, "three tiles a row");
        let tile_h = DOT_TOP + 2 * DOT_STEP;
        assert_eq!(s.tiles[0].h, tile_h, "nine dots need two rows of dots");
        assert_eq!((s.tiles[3].x, s.tiles[3].y), (0, tile_h + GAP));
        assert_eq!(s.height, 2 * tile_h + GAP);
        assert_eq!(s.tiles[1].dots.len(), 9);
        for t in &s.tiles {
            for d in &t.dots {
                assert!(d.cx > t.x && d.cx < t.x + t.w, "dots stay inside");
                assert!(d.cy > t.y && d.cy < t.y + t.h);
            }
        }
        let one = Sketch::of(&[group("a", 1)]);
        assert_eq!((one.width, one.tiles.len()), (TILE_W, 1));
        let none = Sketch::of(&[]);
        assert!(none.tiles.is_empty());
    }
}
