//! 指挥部看板 (city, town, village), the lists behind each number, and the
//! daily reports (日报): list, make on demand, printable page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::charts::{self, Chart};
use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, see_other, shanghai_time,
    with_base,
};
use crate::usecases::dashboard::{Dashboard, REPORT_FIGURES, ReportTown, Tile};
use crate::web::AppState;
use crate::web::api_dashboard::ListQuery;

pub struct Num {
    pub label: String,
    pub value: String,
    pub href: String,
    /// `tile-id|figure`, what the refresh updates.
    pub key: String,
}

pub struct TileView {
    pub id: String,
    pub name: String,
    pub href: Option<String>,
    pub lag: &'static str,
    /// (group label, numbers).
    pub groups: Vec<(&'static str, Vec<Num>)>,
    /// The few numbers a wall display shows per tile.
    pub compact: Vec<Num>,
}

/// One figure of the headline strip: today's value, its change since
/// yesterday's snapshot, and the list behind it.
pub struct Headline {
    pub label: String,
    pub value: String,
    pub href: String,
    /// The figure's key in the live numbers (`closure` for the rate).
    pub key: String,
    /// Yesterday's value as the refresh compares it ("" when none).
    pub yesterday: String,
    /// `▲3`, `▼2`, `±0`, or the words for no snapshot.
    pub change: String,
    /// `up`, `down`, `same` or `none`.
    pub trend: &'static str,
}

/// The change since yesterday as shown: arrow and amount (the rate in
/// percentage points, from tenths of a percent).
pub fn change_text(change: i64, tenths: bool) -> (String, &'static str) {
    let amount = |v: i64| {
        if tenths {
            format!("{}.{}", v / 10, v % 10)
        } else {
            v.to_string()
        }
    };
    match change {
        0 => ("±0".into(), "same"),
        c if c > 0 => (format!("▲{}", amount(c)), "up"),
        c => (format!("▼{}", amount(-c)), "down"),
    }
}

fn headline(
    l: Lang,
    policy: &bihuan_domain::policy::Policy,
    d: &Dashboard,
    region: &str,
) -> Vec<Headline> {
    let tr = l.t();
    let yesterday = d.today.pred_opt().and_then(|y| {
        d.trend
            .iter()
            .find(|x| x.date == y)
            .and_then(|x| x.figures.clone())
    });
    let item = |label: String, key: &str, metric: &str| {
        let (list, cat) = metric.split_once(':').unwrap_or((metric, ""));
        let href = if cat.is_empty() {
            format!("/dashboard/{region}/list/{list}")
        } else {
            format!("/dashboard/{region}/list/{list}?category={cat}")
        };
        let today = ReportTown::value(&d.total.figures, key);
        let before = yesterday.as_ref().and_then(|y| ReportTown::value(y, key));
        let tenths = key == "closure";
        let (change, trend) = match (today, before) {
            (Some(a), Some(b)) => change_text(a - b, tenths),
            (None, None) if yesterday.is_some() => ("±0".into(), "same"),
            _ => (tr.hl_no_yesterday.to_string(), "none"),
        };
        Headline {
            label,
            value: if tenths {
                percent(today)
            } else {
                today.unwrap_or(0).to_string()
            },
            href: l.link(&href),
            key: key.to_string(),
            yesterday: before.map(|v| v.to_string()).unwrap_or_default(),
            change,
            trend,
        }
    };
    let mut out = vec![
        item(
            tr.db_arriving_today.into(),
            "arriving_today",
            "arriving_today",
        ),
        item(
            tr.db_declared_today.into(),
            "arrivals_today",
            "arrivals_today",
        ),
        item(tr.hl_control.into(), "under_control", "under_control"),
    ];
    for c in &d.categories {
        let key = format!("under_control:{c}");
        if d.total.get(&key) > 0 {
            out.push(item(
                format!(
                    "{} · {}",
                    tr.hl_control,
                    l.category_label(policy.category(c), c)
                ),
                &key,
                &key,
            ));
        }
    }
    out.extend([
        item(tr.hl_tests_due.into(), "tests_due", "tests_due"),
        item(tr.hl_tests_done.into(), "tests_done", "tests_done"),
        item(tr.hl_tests_missed.into(), "tests_missed", "tests_missed"),
        item(tr.hl_overdue.into(), "tasks_overdue", "tasks_overdue"),
        item(tr.db_closure.into(), "closure", "tasks_closed_in_time"),
        item(tr.db_positives.into(), "positives", "positives"),
    ]);
    out
}

/// Tiles worst first: by lag, then by the worst share behind it; the
/// region's code keeps ties in a fixed order.
fn worst_first(tiles: &mut [&Tile]) {
    tiles.sort_by(|a, b| {
        (b.lag, b.worst_share)
            .cmp(&(a.lag, a.worst_share))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.direct.cmp(&b.direct))
    });
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    base: Base,
    /// Big-screen mode (`?screen=1`): one 1920×1080 wall display, no chrome.
    wall: bool,
    wall_href: String,
    headline: Vec<Headline>,
    map: charts::TownMap,
    region_name: String,
    trail: Vec<(String, String)>,
    live_url: String,
    updated: String,
    total: TileView,
    tiles: Vec<TileView>,
    charts: Vec<Chart>,
    /// Regions here with nobody on the duty roster today (值班 flagged).
    no_duty: Vec<String>,
}
with_base!(DashboardPage);

fn percent(permille: Option<i64>) -> String {
    permille.map_or("—".into(), |p| format!("{}.{}%", p / 10, p % 10))
}

fn tile_view(
    l: Lang,
    policy: &bihuan_domain::policy::Policy,
    t: &Tile,
    cats: &[String],
    own: &str,
    total: bool,
) -> TileView {
    let tr = l.t();
    let id = if t.direct {
        format!("{}-d", t.code)
    } else {
        t.code.clone()
    };
    let q = if t.direct { "?direct=1" } else { "" };
    let num = |label: String, key: &str| {
        let (metric, cat) = key.split_once(':').unwrap_or((key, ""));
        let sep = if q.is_empty() { "?" } else { "&" };
        let href = if cat.is_empty() {
            format!("/dashboard/{}/list/{metric}{q}", t.code)
        } else {
            format!("/dashboard/{}/list/{metric}{q}{sep}category={cat}", t.code)
        };
        Num {
            label,
            value: t.get(key).to_string(),
            href: l.link(&href),
            key: format!("{id}|{key}"),
        }
    };
    let cat_label = |c: &str| l.category_label(policy.category(c), c);
    let mut arrivals = vec![
        num(tr.db_arriving_today.into(), "arriving_today"),
        num(tr.db_declared_today.into(), "arrivals_today"),
        num(tr.db_14d.into(), "arrivals_14d"),
    ];
    let mut control = vec![num(tr.db_total.into(), "under_control")];
    for c in cats {
        if t.get(&format!("arrivals_14d:{c}")) > 0 {
            arrivals.push(num(
                format!("{} {}", cat_label(c), tr.db_arriving_today),
                &format!("arriving_today:{c}"),
            ));
            arrivals.push(num(
                format!("{} {}", cat_label(c), tr.db_declared_today),
                &format!("arrivals_today:{c}"),
            ));
            arrivals.push(num(
                format!("{} {}", cat_label(c), tr.db_14d),
                &format!("arrivals_14d:{c}"),
            ));
        }
        if t.get(&format!("under_control:{c}")) > 0 {
            control.push(num(cat_label(c), &format!("under_control:{c}")));
        }
    }
    control.push(num(tr.db_positives.into(), "positives"));
    let mut closure = num(tr.db_closure.into(), "tasks_closed_in_time");
    closure.value = percent(t.closure_permille);
    closure.key = format!("{id}|closure");
    let tasks = vec![
        num(tr.db_open.into(), "tasks_open"),
        num(tr.db_overdue.into(), "tasks_overdue"),
        num(tr.db_escalated.into(), "tasks_escalated"),
        closure,
        num(tr.db_closed_in_time.into(), "tasks_closed_in_time"),
        num(tr.db_due.into(), "tasks_due"),
    ];
    let mut compact = vec![
        num(tr.db_control.into(), "under_control"),
        num(tr.hl_tests_due.into(), "tests_due"),
        num(tr.hl_tests_done.into(), "tests_done"),
        num(tr.hl_tests_missed.into(), "tests_missed"),
        num(tr.hl_overdue.into(), "tasks_overdue"),
        num(tr.db_closure.into(), "tasks_closed_in_time"),
        num(tr.db_positives.into(), "positives"),
    ];
    compact[5].value = percent(t.closure_permille);
    compact[5].key = format!("{id}|closure");
    TileView {
        compact,
        href: (!t.direct && !total && t.code != own && t.code.len() <= 12)
            .then(|| l.link(&format!("/dashboard/{}", t.code))),
        name: if t.direct {
            format!("{} · {}", t.name, tr.db_direct)
        } else if total {
            format!("{} · {}", t.name, tr.db_total)
        } else {
            t.name.clone()
        },
        lag: t.lag.as_str(),
        groups: vec![
            (tr.db_arrivals, arrivals),
            (tr.db_control, control),
            (
                tr.db_tests,
                vec![
                    num(tr.db_tests_due.into(), "tests_due"),
                    num(tr.db_tests_done.into(), "tests_done"),
                    num(tr.db_tests_missed.into(), "tests_missed"),
                ],
            ),
            (tr.db_tasks, tasks),
            (tr.db_help, vec![num(tr.db_help.into(), "help_waiting")]),
        ],
        id,
    }
}

fn trend_charts(l: Lang, d: &Dashboard) -> Vec<Chart> {
    let tr = l.t();
    let series = |key: &str| -> Vec<Option<f64>> {
        d.trend
            .iter()
            .map(|day| {
                day.figures
                    .as_ref()
                    .map(|f| *f.get(key).unwrap_or(&0) as f64)
            })
            .collect()
    };
    let closure: Vec<Option<f64>> = d
        .trend
        .iter()
        .map(|day| {
            day.figures
                .as_ref()
                .and_then(|f| ReportTown::value(f, "closure").map(|p| p as f64 / 10.0))
        })
        .collect();
    let (first, last) = (
        d.trend.first().map(|x| l.date(x.date)).unwrap_or_default(),
        d.trend.last().map(|x| l.date(x.date)).unwrap_or_default(),
    );
    vec![
        charts::chart(
            tr.db_tr_arrivals,
            &[("a", series("arrivals_today"))],
            first.clone(),
            last.clone(),
            false,
        ),
        charts::chart(
            tr.db_tr_control,
            &[("a", series("under_control"))],
            first.clone(),
            last.clone(),
            false,
        ),
        charts::chart(
            tr.db_tr_tests,
            &[("due", series("tests_due")), ("done", series("tests_done"))],
            first.clone(),
            last.clone(),
            false,
        ),
        charts::chart(
            tr.db_tr_positives,
            &[("bad", series("positives"))],
            first.clone(),
            last.clone(),
            false,
        ),
        charts::chart(tr.db_tr_closure, &[("a", closure)], first, last, true),
    ]
}

/// GET /dashboard: the viewer's own region.
pub async fn home(actor: PageActor, l: Lang) -> impl IntoResponse {
    see_other(&l.link(&format!("/dashboard/{}", actor.scope())))
}

#[derive(Deserialize, Default)]
pub struct ScreenQuery {
    #[serde(default)]
    screen: Option<String>,
}

/// GET /dashboard/{region}; `?screen=1` for the wall display.
pub async fn dashboard(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(region): Path<String>,
    Query(q): Query<ScreenQuery>,
) -> PageResult {
    let d = s.services.dashboard(&actor, &region).await.or_page(l)?;
    let t = l.t();
    let policy = s.services.policy();
    let wall = q.screen.as_deref() == Some("1");
    let mut order: Vec<&Tile> = d.tiles.iter().collect();
    worst_first(&mut order);
    // The map: the board's parts by code (a fixed picture), coloured by lag.
    let map = charts::town_map(
        d.tiles
            .iter()
            .filter(|x| !x.direct)
            .map(|x| {
                (
                    x.name.clone(),
                    if x.code.len() <= 12 {
                        l.link(&format!("/dashboard/{}", x.code))
                    } else {
                        l.link(&format!("/dashboard/{}/list/tasks_overdue", x.code))
                    },
                    x.lag.as_str(),
                    format!("{} {}", t.hl_overdue, x.get("tasks_overdue")),
                )
            })
            .collect(),
    );
    let here = format!("/dashboard/{region}");
    let page = DashboardPage {
        base: Base::new(
            l,
            t.db_title,
            &if wall {
                format!("{here}?screen=1")
            } else {
                here.clone()
            },
        )
        .signed_in(&actor),
        wall,
        wall_href: if wall {
            l.link(&here)
        } else {
            l.link(&format!("{here}?screen=1"))
        },
        headline: headline(l, policy, &d, &region),
        map,
        region_name: d.region.name.clone(),
        trail: d
            .trail
            .iter()
            .map(|r| (l.link(&format!("/dashboard/{}", r.code)), r.name.clone()))
            .collect(),
        live_url: format!("/api/v1/dashboard/{region}/live"),
        updated: shanghai_time(d.at),
        total: tile_view(l, policy, &d.total, &d.categories, &region, true),
        tiles: order
            .into_iter()
            .map(|x| tile_view(l, policy, x, &d.categories, &region, false))
            .collect(),
        charts: trend_charts(l, &d),
        no_duty: s
            .services
            .regions_without_duty_under(&d.region.code)
            .await
            .or_page(l)?
            .into_iter()
            .map(|r| r.name)
            .collect(),
    };
    Ok(no_store(ok(&page)))
}

pub struct ListLine {
    pub id: i64,
    pub href: Option<String>,
    pub name: String,
    pub doc: String,
    pub region: String,
    pub what: String,
    pub state: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "dashboard_list.html")]
pub struct ListPage {
    base: Base,
    heading: String,
    back: String,
    export: String,
    total: usize,
    cut: bool,
    rows: Vec<ListLine>,
}
with_base!(ListPage);

fn metric_label(l: Lang, metric: &str) -> String {
    let t = l.t();
    match metric {
        "arriving_today" => format!("{} · {}", t.db_arrivals, t.db_arriving_today),
        "arrivals_today" => format!("{} · {}", t.db_arrivals, t.db_declared_today),
        "arrivals_14d" => format!("{} · {}", t.db_arrivals, t.db_14d),
        "under_control" => t.db_control.into(),
        "positives" => t.db_positives.into(),
        "tests_due" => format!("{} · {}", t.db_tests, t.db_tests_due),
        "tests_done" => format!("{} · {}", t.db_tests, t.db_tests_done),
        "tests_missed" => format!("{} · {}", t.db_tests, t.db_tests_missed),
        "tasks_open" => format!("{} · {}", t.db_tasks, t.db_open),
        "tasks_overdue" => format!("{} · {}", t.db_tasks, t.db_overdue),
        "tasks_escalated" => format!("{} · {}", t.db_tasks, t.db_escalated),
        "tasks_due" | "tasks_closed_in_time" => format!("{} · {}", t.db_closure, t.db_closure_of),
        "help_waiting" => t.db_help.into(),
        other => other.into(),
    }
}

/// GET /dashboard/{region}/list/{metric}
pub async fn list(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path((region, metric)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    const SHOWN: usize = 1000;
    let v = s
        .services
        .dashboard_list(
            &actor,
            &region,
            &metric,
            q.category(),
            q.direct(),
            Some(SHOWN),
        )
        .await
        .or_page(l)?;
    let policy = s.services.policy();
    let cat = q
        .category()
        .map(|c| format!(" · {}", l.category_label(policy.category(c), c)))
        .unwrap_or_default();
    let query = format!(
        "?category={}&direct={}",
        q.category().unwrap_or(""),
        u8::from(q.direct())
    );
    let heading = format!("{} · {}{cat}", v.region.name, metric_label(l, &metric));
    let page = ListPage {
        base: Base::new(
            l,
            heading.clone(),
            &format!("/dashboard/{region}/list/{metric}{query}"),
        )
        .signed_in(&actor),
        heading,
        back: l.link(&format!("/dashboard/{}", &region[..region.len().min(12)])),
        export: format!("/api/v1/dashboard/{region}/lists/{metric}/xlsx{query}"),
        total: v.total,
        cut: v.total > v.rows.len(),
        rows: v
            .rows
            .into_iter()
            .map(|r| ListLine {
                id: r.id,
                href: r.person_id.map(|p| l.link(&format!("/persons/{p}"))),
                name: r.name,
                doc: r.doc_masked,
                region: format!("{} {}", r.region, r.region_name),
                what: r.what,
                state: r.state,
                at: r.at.map(shanghai_time).unwrap_or_default(),
            })
            .collect(),
    };
    Ok(no_store(ok(&page)))
}

// ---------------------------------------------------------------------------
// 日报

pub struct ReportLine {
    pub href: String,
    pub date: String,
    pub origin: &'static str,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "daily_reports.html")]
pub struct ReportsPage {
    base: Base,
    csrf: String,
    rows: Vec<ReportLine>,
}
with_base!(ReportsPage);

/// GET /reports
pub async fn reports(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let list = s.services.daily_reports(&actor).await.or_page(l)?;
    let t = l.t();
    let page = ReportsPage {
        base: Base::new(l, t.nav_reports, "/reports").signed_in(&actor),
        csrf: actor.csrf.clone(),
        rows: list
            .into_iter()
            .map(|r| ReportLine {
                href: l.link(&format!("/reports/{}", r.id)),
                date: r.date,
                origin: if r.origin == "job" {
                    t.rp_origin_job
                } else {
                    t.rp_origin_manual
                },
                by: r.created_by,
                at: shanghai_time(r.created_at),
            })
            .collect(),
    };
    Ok(no_store(ok(&page)))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// POST /reports: make one now.
pub async fn make(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    let id = s.services.make_daily_report(&actor).await.or_page(l)?;
    Ok(see_other(&l.link(&format!("/reports/{id}"))))
}

pub struct ReportRowView {
    pub name: String,
    pub cells: Vec<(String, String)>,
}

pub struct OverdueView {
    pub town: String,
    pub rows: Vec<[String; 5]>,
}

#[derive(Template)]
#[template(path = "daily_report.html")]
pub struct ReportPage {
    base: Base,
    date: String,
    generated: String,
    xlsx: String,
    heads: Vec<&'static str>,
    rows: Vec<ReportRowView>,
    overdue: Vec<OverdueView>,
    /// 未反馈指令: (town, title, recipient, deadline).
    instructions: Vec<[String; 4]>,
    /// Who printed it and when, on the paper too.
    watermark: String,
}
with_base!(ReportPage);

fn shown(key: &str, v: Option<i64>, signed: bool) -> String {
    match v {
        None => "—".into(),
        Some(v) if key == "closure" => {
            let s = format!("{}.{}", v.abs() / 10, v.abs() % 10);
            match (signed, v < 0) {
                (true, true) => format!("−{s}"),
                (true, false) => format!("+{s}"),
                _ => s,
            }
        }
        Some(v) if signed && v > 0 => format!("+{v}"),
        Some(v) if signed && v < 0 => format!("−{}", -v),
        Some(v) => v.to_string(),
    }
}

/// GET /reports/{id}: the printable page.
pub async fn report(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
) -> PageResult {
    let (r, printed_at) = s
        .services
        .daily_report_for_print(&actor, id)
        .await
        .or_page(l)?;
    let watermark = l.printed_mark(&actor.username, &super::shanghai_time(printed_at));
    let t = l.t();
    let b = &r.body;
    let rows = b
        .towns
        .iter()
        .chain(std::iter::once(&b.total))
        .map(|x| ReportRowView {
            name: if x.code.is_empty() {
                t.db_total.to_string()
            } else {
                x.name.clone()
            },
            cells: REPORT_FIGURES
                .iter()
                .map(|(k, _, _)| {
                    (
                        shown(k, x.today_value(k), false),
                        shown(k, x.change(k), true),
                    )
                })
                .collect(),
        })
        .collect();
    let mut overdue: Vec<OverdueView> = Vec::new();
    for o in &b.overdue_tasks {
        let town = b
            .towns
            .iter()
            .find(|x| x.code == o.town)
            .map_or(o.town.clone(), |x| x.name.clone());
        if overdue.last().is_none_or(|v| v.town != town) {
            overdue.push(OverdueView {
                town: town.clone(),
                rows: Vec::new(),
            });
        }
        let kind = bihuan_domain::task::TaskKind::parse(&o.kind).map_or(o.kind.clone(), |k| {
            l.pick(k.label_zh(), k.label_en()).to_string()
        });
        if let Some(v) = overdue.last_mut() {
            v.rows.push([
                o.task_id.to_string(),
                kind,
                format!("{} {}", o.region, o.region_name),
                o.person.clone(),
                shanghai_time(o.due_at),
            ]);
        }
    }
    let page = ReportPage {
        base: Base::new(
            l,
            format!("{} {}", t.rp_title, b.date),
            &format!("/reports/{id}"),
        )
        .signed_in(&actor),
        date: b.date.to_string(),
        generated: shanghai_time(b.generated_at),
        xlsx: format!("/api/v1/daily-reports/{id}/xlsx"),
        heads: REPORT_FIGURES
            .iter()
            .map(|(_, zh, en)| l.pick(zh, en))
            .collect(),
        rows,
        overdue,
        watermark,
        instructions: b
            .unanswered_instructions
            .iter()
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap_or_default().to_string();
                let town = b
                    .towns
                    .iter()
                    .find(|x| x.code == s("town"))
                    .map_or(s("town"), |x| x.name.clone());
                [
                    town,
                    s("title"),
                    s("username"),
                    shanghai_time(i["due_at"].as_i64().unwrap_or_default()),
                ]
            })
            .collect(),
    };
    Ok(no_store(ok(&page)))
}
