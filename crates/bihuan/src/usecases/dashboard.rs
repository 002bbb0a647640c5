//! 指挥部看板 and 日报: read models over the loop's tables.
//!
//! - Figures are set-based counts per region code (`storage::dashboard`), one
//!   GROUP BY per figure; today's tests come from the monitoring rules
//!   (`monitoring::test_state` over each running plan's test days), cached
//!   per process until the day or what they depend on changes.
//! - Boards read a snapshot of those counts for every region, rolled up to
//!   their tiles; it is recounted every `refresh_seconds` while anyone
//!   watches, and by a request that finds it over two periods old.
//! - Each number has its list: the same WHERE, listed (tests: the same
//!   cached rows, filtered), so a number equals the length of its list at
//!   the moment it was counted (its board says when: `at`).
//! - Trend charts read `daily_figures`, the snapshot the daily report writes
//!   per village each day (summed per board once a day), with today's
//!   figures as the last point.
//! - The daily report (job at `daily_report_hour`, claimed once per day, or on
//!   demand) snapshots the figures, compares each town with yesterday's
//!   snapshot, lists overdue tasks per town, and is kept as JSON; its xlsx and
//!   printable page are rendered from what was kept.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use bihuan_domain::Date;
use bihuan_domain::access::Role;
use bihuan_domain::dashboard::{self as rules, Lag, TileFigures};
use bihuan_domain::identity::mask_name;
use bihuan_domain::monitoring::{self, TestState};
use bihuan_domain::plan::TestDay;
use bihuan_domain::task::{TaskKind, TaskState};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::export::Cell;
use crate::storage::dashboard::{self as store, ListRow, Window};
use crate::storage::monitoring::claim_job;
use crate::storage::repo::{self, RegionRow};

/// Settings and the per-process caches: today's test obligations, the
/// figures of every region (the dashboards' snapshot) and past days' trends.
#[derive(Clone)]
pub struct DashboardState {
    /// The local hour (Asia/Shanghai) at which the daily report is made.
    pub daily_report_hour: u32,
    /// How often the figures are recomputed while someone watches; 0 means
    /// on every request.
    pub refresh_seconds: u64,
    due: Arc<tokio::sync::Mutex<DueState>>,
    current: Arc<std::sync::RwLock<Option<Arc<Snapshot>>>>,
    /// Held while the figures are computed, so one computation serves all.
    computing: Arc<tokio::sync::Mutex<()>>,
    /// Bumped each time a snapshot is installed: a request that waited for
    /// a count takes the one that finished meanwhile.
    generation: Arc<AtomicU64>,
    /// When a dashboard was last asked for (clock seconds).
    watched: Arc<AtomicI64>,
    /// Plans parsed from stored assessments, in all (the bench reports it).
    plans_parsed: Arc<AtomicU64>,
    history: Arc<std::sync::Mutex<HashMap<String, History>>>,
}

impl DashboardState {
    pub fn new(daily_report_hour: u32, refresh_seconds: u64) -> Self {
        DashboardState {
            daily_report_hour,
            refresh_seconds,
            due: Default::default(),
            current: Default::default(),
            computing: Default::default(),
            generation: Default::default(),
            watched: Arc::new(AtomicI64::new(i64::MIN)),
            plans_parsed: Default::default(),
            history: Default::default(),
        }
    }

    /// The snapshot, if a request at `now` on `today` may show it: of
    /// today, and at most twice the refresh period old (a refresher running
    /// late is covered; a stopped one is not).
    fn usable(&self, today: Date, now: i64) -> Option<Arc<Snapshot>> {
        let s = self.current.read().expect("snapshot lock").clone()?;
        let max_age = 2 * self.refresh_seconds as i64;
        (self.refresh_seconds > 0 && s.day == today && now - s.at <= max_age).then_some(s)
    }

    /// Installs `s` unless a newer snapshot is there already.
    fn install(&self, s: &Arc<Snapshot>) {
        let mut current = self.current.write().expect("snapshot lock");
        if current
            .as_ref()
            .is_none_or(|c| (c.day, c.at) <= (s.day, s.at))
        {
            *current = Some(s.clone());
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every figure of every region, as of `at`: keyed by the region code the
/// rows carry (grids, and the towns and villages that own work directly).
pub struct Snapshot {
    pub day: Date,
    pub at: i64,
    pub figures: Figures,
}

/// A board's past days, which do not change once the day is over.
struct History {
    today: Date,
    /// The newest past day with a snapshot when this was read.
    latest: Option<String>,
    by_day: Arc<BTreeMap<String, BTreeMap<String, i64>>>,
}

/// How long after the last view the figures are still kept fresh.
const WATCH_SECONDS: i64 = 120;

#[derive(Default)]
struct DueState {
    last: Option<DueCache>,
    /// Each running control's test days, parsed once per change of it:
    /// person → (the control's updated_at, its test days).
    plans: HashMap<i64, (i64, Arc<[Date]>)>,
}

struct DueCache {
    day: Date,
    print: [i64; 5],
    /// When it was computed (clock seconds).
    at: i64,
    rows: Arc<Vec<DueRow>>,
}

/// Changes stamped this close to a computation may have been missed by it
/// (same second, or another replica's clock a little behind).
const STAMP_MARGIN: i64 = 2;

/// However quiet the fingerprint, the obligations are recounted this often:
/// a transaction that commits long after its stamp cannot hide for longer.
const DUE_MAX_AGE: i64 = 60;

/// One running control's test obligations, today's and yesterday's.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub person_id: i64,
    pub grid: String,
    pub name: String,
    pub doc_masked: String,
    pub today: Option<TestState>,
    pub yesterday: Option<TestState>,
}

/// The figures that come from the test rules, and who counts in each.
pub const TEST_METRICS: &[&str] = &["tests_due", "tests_done", "tests_missed", "tests_yesterday"];

fn test_metric(key: &str, r: &DueRow) -> bool {
    match key {
        "tests_due" => r.today.is_some(),
        "tests_done" => matches!(r.today, Some(TestState::Done | TestState::Positive)),
        "tests_missed" => r.yesterday == Some(TestState::Missed),
        "tests_yesterday" => r.yesterday.is_some(),
        _ => false,
    }
}

/// Every figure key a tile shows (categories come as `key:category`).
pub fn known_metric(key: &str) -> bool {
    TEST_METRICS.contains(&key) || store::metric(key).is_some()
}

pub use rules::Figures;

#[derive(Debug, Clone, Serialize)]
pub struct Tile {
    pub code: String,
    pub name: String,
    /// Work owned by the region itself rather than one of its parts.
    pub direct: bool,
    pub figures: BTreeMap<String, i64>,
    /// 闭环率 in tenths of a percent.
    pub closure_permille: Option<i64>,
    pub lag: Lag,
    /// The worst share behind the lag, in tenths of a percent: orders tiles
    /// of the same lag worst first.
    pub worst_share: i64,
}

impl Tile {
    fn new(code: &str, name: &str, direct: bool, figures: BTreeMap<String, i64>) -> Tile {
        let f = |k: &str| figures.get(k).copied().unwrap_or(0);
        let lag_figures = TileFigures {
            open: f("tasks_open"),
            overdue: f("tasks_overdue"),
            escalated: f("tasks_escalated"),
            tests_yesterday: f("tests_yesterday"),
            tests_missed: f("tests_missed"),
            due: f("tasks_due"),
            closed_in_time: f("tasks_closed_in_time"),
            help_waiting: f("help_waiting"),
        };
        let lag = rules::tile_lag(&lag_figures);
        Tile {
            code: code.to_string(),
            name: name.to_string(),
            direct,
            closure_permille: rules::closure_permille(f("tasks_closed_in_time"), f("tasks_due")),
            figures,
            lag,
            worst_share: rules::worst_share_permille(&lag_figures),
        }
    }

    pub fn get(&self, key: &str) -> i64 {
        self.figures.get(key).copied().unwrap_or(0)
    }
}

/// One day of a trend chart: the figures summed over the region.
#[derive(Debug, Clone, Serialize)]
pub struct TrendDay {
    pub date: Date,
    /// None for a day without a snapshot.
    pub figures: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub region: RegionRow,
    /// From the viewer's own region down to the parent of this one.
    pub trail: Vec<RegionRow>,
    pub tiles: Vec<Tile>,
    pub total: Tile,
    /// Categories that occur, in the policy's order.
    pub categories: Vec<String>,
    pub trend: Vec<TrendDay>,
    pub today: Date,
    pub at: i64,
}

/// The live numbers: per tile code, its figures and lag.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    pub at: i64,
    pub tiles: Vec<Tile>,
    pub total: Tile,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    pub id: i64,
    pub person_id: Option<i64>,
    /// Masked.
    pub name: String,
    pub doc_masked: String,
    pub region: String,
    pub region_name: String,
    pub what: String,
    pub state: String,
    pub at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListView {
    pub region: RegionRow,
    pub metric: String,
    pub category: Option<String>,
    pub direct: bool,
    /// The task, declaration or person the rows are.
    pub kind: &'static str,
    pub total: usize,
    pub rows: Vec<ListItem>,
}

/// The figures of the daily report, in column order: (key, 中文, English).
pub const REPORT_FIGURES: &[(&str, &str, &str)] = &[
    (
        "arriving_today",
        "今日抵达（到达日期）",
        "Arriving today (arrival date)",
    ),
    (
        "arrivals_today",
        "今日报备（收到日期）",
        "Declared today (received date)",
    ),
    ("arrivals_14d", "14天来返", "Arrivals, 14 days"),
    ("under_control", "在管人数", "Under measures"),
    ("positives", "阳性", "Positives"),
    ("tests_due", "今日应检", "Tests due"),
    ("tests_done", "今日已检", "Tests done"),
    ("tests_missed", "漏检", "Tests missed"),
    ("tasks_open", "未办结任务", "Open tasks"),
    ("tasks_overdue", "超时任务", "Overdue tasks"),
    ("tasks_escalated", "已上报任务", "Escalated tasks"),
    ("closure", "闭环率%", "Closure rate %"),
    ("help_waiting", "待办求助", "Help waiting"),
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportBody {
    pub date: Date,
    pub generated_at: i64,
    pub origin: String,
    pub towns: Vec<ReportTown>,
    pub total: ReportTown,
    pub overdue_tasks: Vec<OverdueTask>,
    /// 未反馈指令 per town: filled once instructions exist (issue 6 §2).
    #[serde(default)]
    pub unanswered_instructions: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportTown {
    pub code: String,
    pub name: String,
    pub today: BTreeMap<String, i64>,
    /// Yesterday's snapshot; None when there was none.
    pub yesterday: Option<BTreeMap<String, i64>>,
}

impl ReportTown {
    /// A report figure: counts as they are; `closure` in tenths of a percent.
    pub fn value(figures: &BTreeMap<String, i64>, key: &str) -> Option<i64> {
        let f = |k: &str| figures.get(k).copied().unwrap_or(0);
        if key == "closure" {
            rules::closure_permille(f("tasks_closed_in_time"), f("tasks_due"))
        } else {
            Some(f(key))
        }
    }

    pub fn today_value(&self, key: &str) -> Option<i64> {
        Self::value(&self.today, key)
    }

    pub fn change(&self, key: &str) -> Option<i64> {
        let y = Self::value(self.yesterday.as_ref()?, key)?;
        Some(self.today_value(key)? - y)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverdueTask {
    pub town: String,
    pub task_id: i64,
    pub kind: String,
    pub region: String,
    pub region_name: String,
    pub person: String,
    pub due_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub id: i64,
    pub date: String,
    pub origin: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: i64,
    pub created_by: String,
    pub body: ReportBody,
}

/// Shanghai midnight of `day`, unix seconds.
fn midnight(day: Date) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
        - 8 * 3600
}

fn window(today: Date, now: i64) -> Window {
    let start = midnight(today);
    Window {
        now,
        today: start,
        from14: start - (rules::ARRIVAL_DAYS - 1) * 86_400,
        closure_from: start - (rules::CLOSURE_DAYS - 1) * 86_400,
        day: today,
    }
}

/// How many characters of a region code make up one tile of `region`'s board.
fn depth_of(region: &str) -> usize {
    (region.len() + 3).min(15)
}

#[derive(Deserialize, Default)]
struct PlanDays {
    plan: TestDays,
}

#[derive(Deserialize, Default)]
struct TestDays {
    test_days: Vec<TestDay>,
}

impl Services {
    fn may_view(&self, actor: &Actor) -> Result<()> {
        match actor.role {
            Role::Command | Role::Town | Role::Village => Ok(()),
            Role::GridWorker => Err(Error::Forbidden),
        }
    }

    /// The region, if it is a city, town or village inside the actor's scope.
    async fn board_region(&self, actor: &Actor, code: &str, max_len: usize) -> Result<RegionRow> {
        self.may_view(actor)?;
        if !code.starts_with(actor.scope()) || code.len() > max_len {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        repo::region(&mut c, code).await?.ok_or(Error::NotFound)
    }

    /// Today's and yesterday's test obligations of every running plan, by
    /// the monitoring rules; recomputed when the day or its inputs change.
    async fn due_rows(&self, c: &mut AnyConnection, today: Date) -> Result<Arc<Vec<DueRow>>> {
        let mut state = self.dashboard.due.lock().await;
        let yesterday = today.pred_opt().expect("a day before");
        let print = store::tests_fingerprint(c, &yesterday.to_string()).await?;
        // Equal fingerprints mean nothing changed, unless a change carries
        // the same second as the latest one seen: trust only stamps older
        // than the computation by a margin.
        let at = self.clock.timestamp();
        if let Some(k) = state.last.as_ref()
            && k.day == today
            && k.print == print
            && k.print[1].max(k.print[2]) < k.at - STAMP_MARGIN
            && at - k.at < DUE_MAX_AGE
        {
            return Ok(k.rows.clone());
        }
        let running = store::running(c).await?;
        // Plans are re-read only for controls changed since they were read
        // (or too recently to be sure).
        let stale: Vec<i64> = running
            .iter()
            .filter(|k| {
                k.updated_at >= at - STAMP_MARGIN
                    || state
                        .plans
                        .get(&k.person_id)
                        .is_none_or(|p| p.0 != k.updated_at)
            })
            .map(|k| k.person_id)
            .collect();
        let updated: HashMap<i64, i64> = running
            .iter()
            .map(|k| (k.person_id, k.updated_at))
            .collect();
        for (person, assessment) in store::assessments(c, &stale).await? {
            // A plan that cannot be read is logged and its person left out
            // (empty days), so one bad row never stops the board or the 日报.
            let plan: PlanDays = match serde_json::from_str(&assessment) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(person, error = %e, "stored assessment unreadable");
                    PlanDays::default()
                }
            };
            self.dashboard.plans_parsed.fetch_add(1, Ordering::Relaxed);
            let days: Arc<[Date]> = plan.plan.test_days.iter().map(|t| t.date).collect();
            // A plan stamped within the margin may change again in the same
            // second: keep it under a stamp no row has, so it is read again.
            let stamp = updated
                .get(&person)
                .copied()
                .filter(|s| *s < at - STAMP_MARGIN)
                .unwrap_or(i64::MIN);
            state.plans.insert(person, (stamp, days));
        }
        state.plans.retain(|person, _| updated.contains_key(person));
        let tests = store::tests_since(c, &yesterday.to_string()).await?;
        let mut rows = Vec::new();
        for k in running {
            let Some((_, days)) = state.plans.get(&k.person_id) else {
                continue;
            };
            let (t, y) = (days.contains(&today), days.contains(&yesterday));
            if !t && !y {
                continue;
            }
            let records = tests.get(&k.person_id).map(Vec::as_slice).unwrap_or(&[]);
            rows.push(DueRow {
                person_id: k.person_id,
                grid: k.grid,
                name: k.name,
                doc_masked: k.doc_masked,
                today: t.then(|| monitoring::test_state(today, records, today)),
                yesterday: y.then(|| monitoring::test_state(yesterday, records, today)),
            });
        }
        let rows = Arc::new(rows);
        state.last = Some(DueCache {
            day: today,
            print,
            at,
            rows: rows.clone(),
        });
        Ok(rows)
    }

    /// Every figure of every region, by the region code its rows carry.
    async fn compute_figures(
        &self,
        c: &mut AnyConnection,
        today: Date,
        now: i64,
    ) -> Result<Figures> {
        const WHOLE: usize = 15;
        let w = window(today, now);
        let mut out = Figures::new();
        // Metrics with a breakdown one by one; the others batched by FROM,
        // one scan each (the task figures share one).
        let mut batches: Vec<Vec<&store::Metric>> = Vec::new();
        for m in store::METRICS {
            if m.category.is_some() {
                for (g, cat, n) in store::counts(c, m, "", WHOLE, &w).await? {
                    let e = out.entry(g).or_default();
                    *e.entry(m.key.to_string()).or_default() += n;
                    *e.entry(format!("{}:{cat}", m.key)).or_default() += n;
                }
                continue;
            }
            match batches
                .iter_mut()
                .find(|b| b[0].count_from == m.count_from && b[0].region == m.region)
            {
                Some(b) => b.push(m),
                None => batches.push(vec![m]),
            }
        }
        for b in &batches {
            for (g, key, n) in store::counts_together(c, b, "", WHOLE, &w).await? {
                *out.entry(g)
                    .or_default()
                    .entry(key.to_string())
                    .or_default() += n;
            }
        }
        for r in self.due_rows(c, today).await?.iter() {
            for key in TEST_METRICS {
                if test_metric(key, r) {
                    *out.entry(r.grid.clone())
                        .or_default()
                        .entry(key.to_string())
                        .or_default() += 1;
                }
            }
        }
        Ok(out)
    }

    /// The figures the boards show at `now`: the snapshot while it is fresh
    /// (the refresher keeps it so while anyone watches), else counted here,
    /// once for everyone waiting. No connection is held while waiting: the
    /// one counting needs one.
    async fn figures(&self, today: Date, now: i64) -> Result<Arc<Snapshot>> {
        let st = &self.dashboard;
        st.watched.store(now, Ordering::Relaxed);
        if let Some(s) = st.usable(today, now) {
            return Ok(s);
        }
        let seen = st.generation.load(Ordering::Relaxed);
        let _one = st.computing.lock().await;
        if let Some(s) = st.usable(today, now) {
            return Ok(s);
        }
        // A count that finished while this request waited is as new as one
        // it would start now, give or take the wait.
        if st.refresh_seconds > 0
            && st.generation.load(Ordering::Relaxed) != seen
            && let Some(s) = st.current.read().expect("snapshot lock").clone()
            && s.day == today
        {
            return Ok(s);
        }
        let mut c = self.db.pool().acquire().await?;
        self.refresh_figures(&mut c, today, now).await
    }

    async fn refresh_figures(
        &self,
        c: &mut AnyConnection,
        today: Date,
        now: i64,
    ) -> Result<Arc<Snapshot>> {
        let figures = self.compute_figures(c, today, now).await?;
        let s = Arc::new(Snapshot {
            day: today,
            at: now,
            figures,
        });
        self.dashboard.install(&s);
        Ok(s)
    }

    /// The refresher's tick: recomputes the figures if a dashboard was
    /// watched lately and no computation is running. True when it did.
    pub async fn refresh_dashboards(&self) -> Result<bool> {
        let now = self.clock.timestamp();
        let watched = self.dashboard.watched.load(Ordering::Relaxed);
        if now.saturating_sub(watched) > WATCH_SECONDS {
            return Ok(false);
        }
        let Ok(_one) = self.dashboard.computing.try_lock() else {
            return Ok(false);
        };
        let mut c = self.db.pool().acquire().await?;
        self.refresh_figures(&mut c, self.clock.today(), now)
            .await?;
        Ok(true)
    }

    /// Plans parsed from stored assessments since start.
    pub fn dashboard_plans_parsed(&self) -> u64 {
        self.dashboard.plans_parsed.load(Ordering::Relaxed)
    }

    /// The figures computed now, bypassing the snapshot (the bench's
    /// baseline: what every request would cost without it); `cold` also
    /// drops today's cached test obligations, as a new result or a changed
    /// control would (the parsed plans of unchanged controls stay).
    pub async fn figures_direct(&self, cold: bool) -> Result<usize> {
        if cold {
            self.dashboard.due.lock().await.last = None;
        }
        let mut c = self.db.pool().acquire().await?;
        let f = self
            .compute_figures(&mut c, self.clock.today(), self.clock.timestamp())
            .await?;
        Ok(f.len())
    }

    /// The tiles of `region`'s board and its total, from `snapshot`.
    async fn tiles(
        &self,
        c: &mut AnyConnection,
        region: &RegionRow,
        snapshot: &Snapshot,
    ) -> Result<(Vec<Tile>, Tile)> {
        let figures = rules::roll_up(&snapshot.figures, &region.code, depth_of(&region.code));
        let children = repo::children(c, &region.code).await?;
        let mut tiles: Vec<Tile> = children
            .iter()
            .map(|k| {
                Tile::new(
                    &k.code,
                    &k.name,
                    false,
                    figures.get(&k.code).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let mut direct: BTreeMap<String, i64> = BTreeMap::new();
        let mut all: BTreeMap<String, i64> = BTreeMap::new();
        for (g, f) in &figures {
            let is_child = children.iter().any(|k| &k.code == g);
            for (k, v) in f {
                *all.entry(k.clone()).or_default() += v;
                if !is_child {
                    *direct.entry(k.clone()).or_default() += v;
                }
            }
        }
        if !direct.is_empty() {
            tiles.push(Tile::new(&region.code, &region.name, true, direct));
        }
        let total = Tile::new(&region.code, &region.name, false, all);
        Ok((tiles, total))
    }

    /// `scope`'s figures on each past day of the trend, summed from the
    /// daily snapshots; kept per board until the day changes, since a day's
    /// snapshot is made on that day.
    async fn history(
        &self,
        c: &mut AnyConnection,
        scope: &str,
        today: Date,
    ) -> Result<Arc<BTreeMap<String, BTreeMap<String, i64>>>> {
        // A report prepared just before midnight may land just after it.
        let latest = store::latest_figures_before(c, &today.to_string()).await?;
        if let Some(h) = self
            .dashboard
            .history
            .lock()
            .expect("history lock")
            .get(scope)
            && h.today == today
            && h.latest == latest
        {
            return Ok(h.by_day.clone());
        }
        let first = today - chrono::Days::new(rules::TREND_DAYS as u64 - 1);
        let yesterday = today.pred_opt().expect("a day before");
        let mut by_day: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (d, _, k, v) in store::figures_since(
            c,
            scope,
            scope.len(),
            &first.to_string(),
            &yesterday.to_string(),
        )
        .await?
        {
            *by_day.entry(d).or_default().entry(k).or_default() += v;
        }
        let by_day = Arc::new(by_day);
        self.dashboard.history.lock().expect("history lock").insert(
            scope.to_string(),
            History {
                today,
                latest,
                by_day: by_day.clone(),
            },
        );
        Ok(by_day)
    }

    /// A dashboard of a city, town or village inside the actor's region.
    pub async fn dashboard(&self, actor: &Actor, code: &str) -> Result<Dashboard> {
        let now = self.clock.timestamp();
        let today = self.clock.today();
        let region = self.board_region(actor, code, 12).await?;
        let snapshot = self.figures(today, now).await?;
        let mut c = self.db.pool().acquire().await?;
        let (tiles, total) = self.tiles(&mut c, &region, &snapshot).await?;
        let at = snapshot.at;
        let mut trail = Vec::new();
        let mut up = actor.scope().to_string();
        while up.len() < region.code.len() {
            if let Some(r) = repo::region(&mut c, &up).await? {
                trail.push(r);
            }
            up = region.code[..up.len() + 3].to_string();
        }
        // Categories that occur, in the policy's order.
        let categories = self
            .policy
            .categories
            .iter()
            .map(|k| k.name.clone())
            .filter(|k| {
                ["arrivals_14d", "under_control"]
                    .iter()
                    .any(|m| total.get(&format!("{m}:{k}")) > 0)
            })
            .collect();
        let first = today - chrono::Days::new(rules::TREND_DAYS as u64 - 1);
        let history = self.history(&mut c, &region.code, today).await?;
        let trend = first
            .iter_days()
            .take(rules::TREND_DAYS as usize)
            .map(|d| TrendDay {
                date: d,
                figures: if d == today {
                    Some(total.figures.clone())
                } else {
                    history.get(&d.to_string()).cloned()
                },
            })
            .collect();
        Ok(Dashboard {
            region,
            trail,
            tiles,
            total,
            categories,
            trend,
            today,
            at,
        })
    }

    /// The dashboard's numbers alone, for the page's refresh.
    pub async fn dashboard_live(&self, actor: &Actor, code: &str) -> Result<Live> {
        let now = self.clock.timestamp();
        let today = self.clock.today();
        let region = self.board_region(actor, code, 12).await?;
        let snapshot = self.figures(today, now).await?;
        let mut c = self.db.pool().acquire().await?;
        let (tiles, total) = self.tiles(&mut c, &region, &snapshot).await?;
        Ok(Live {
            at: snapshot.at,
            tiles,
            total,
        })
    }

    /// The list behind one number: `metric` (optionally one category) in
    /// `code` (a city, town, village or grid); `direct` keeps only work
    /// owned by `code` itself. At most `limit` rows; `total` counts all.
    pub async fn dashboard_list(
        &self,
        actor: &Actor,
        code: &str,
        metric: &str,
        category: Option<&str>,
        direct: bool,
        limit: Option<usize>,
    ) -> Result<ListView> {
        let now = self.clock.timestamp();
        let today = self.clock.today();
        let region = self.board_region(actor, code, 15).await?;
        let mut c = self.db.pool().acquire().await?;
        let keep = |r: &str| !direct || r.len() == code.len();
        let (kind, mut rows): (&'static str, Vec<ListItem>) = if TEST_METRICS.contains(&metric) {
            if category.is_some() {
                return Err(Error::NotFound);
            }
            let due = self.due_rows(&mut c, today).await?;
            let rows = due
                .iter()
                .filter(|r| r.grid.starts_with(code) && keep(&r.grid) && test_metric(metric, r))
                .map(|r| {
                    let state = if metric == "tests_missed" || metric == "tests_yesterday" {
                        r.yesterday
                    } else {
                        r.today
                    };
                    ListItem {
                        id: r.person_id,
                        person_id: Some(r.person_id),
                        name: mask_name(&r.name),
                        doc_masked: r.doc_masked.clone(),
                        region: r.grid.clone(),
                        region_name: String::new(),
                        what: String::new(),
                        state: state.map(test_state_zh).unwrap_or_default().to_string(),
                        at: None,
                    }
                })
                .collect();
            ("person", rows)
        } else {
            let m = store::metric(metric).ok_or(Error::NotFound)?;
            let rows = store::list(&mut c, m, code, category, &window(today, now), i64::MAX)
                .await?
                .into_iter()
                .filter(|r| keep(&r.region))
                .map(|r| self.list_item(metric, r))
                .collect();
            let kind = if metric.starts_with("arriv") {
                "declaration"
            } else if metric.starts_with("tasks") {
                "task"
            } else if metric == "help_waiting" {
                "help"
            } else {
                "person"
            };
            (kind, rows)
        };
        let names = region_names(&mut c, code).await?;
        for r in &mut rows {
            r.region_name = names.get(&r.region).cloned().unwrap_or_default();
        }
        let total = rows.len();
        if let Some(n) = limit {
            rows.truncate(n);
        }
        Ok(ListView {
            region,
            metric: metric.to_string(),
            category: category.map(str::to_string),
            direct,
            kind,
            total,
            rows,
        })
    }

    fn list_item(&self, metric: &str, r: ListRow) -> ListItem {
        let (what, state) = if metric.starts_with("tasks") {
            (
                TaskKind::parse(&r.what).map_or(r.what.clone(), |k| k.label_zh().to_string()),
                TaskState::parse(&r.state).map_or(r.state.clone(), |k| k.label_zh().to_string()),
            )
        } else if metric == "help_waiting" {
            (
                super::care::HELP_KINDS
                    .iter()
                    .find(|k| k.0 == r.what)
                    .map_or(r.what.clone(), |k| k.1.to_string()),
                TaskState::parse(&r.state).map_or(r.state.clone(), |k| k.label_zh().to_string()),
            )
        } else {
            (
                self.policy
                    .category(&r.what)
                    .map_or(r.what.clone(), |k| k.label_zh.clone()),
                control_status_zh(&r.state).to_string(),
            )
        };
        ListItem {
            id: r.id,
            person_id: r.person_id,
            name: mask_name(&r.name),
            doc_masked: r.doc_masked,
            region: r.region,
            region_name: String::new(),
            what,
            state,
            at: Some(r.at),
        }
    }

    /// The whole list as .xlsx (names and documents masked); audited.
    pub async fn dashboard_list_xlsx(
        &self,
        actor: &Actor,
        code: &str,
        metric: &str,
        category: Option<&str>,
        direct: bool,
    ) -> Result<Vec<u8>> {
        let v = self
            .dashboard_list(actor, code, metric, category, direct, None)
            .await?;
        let header = [
            "编号",
            "姓名",
            "证件号码",
            "地区编码",
            "地区",
            "事项",
            "状态",
            "时间",
        ];
        let mut table = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        for r in &v.rows {
            table.push(vec![
                r.id.to_string(),
                r.name.clone(),
                r.doc_masked.clone(),
                r.region.clone(),
                r.region_name.clone(),
                r.what.clone(),
                r.state.clone(),
                r.at.map(crate::web::pages::shanghai_time)
                    .unwrap_or_default(),
            ]);
        }
        let detail = json!({"region": code, "metric": metric, "category": category,
                            "direct": direct, "rows": v.rows.len()});
        let at = self
            .audit_export(actor, "dashboard_exported", detail)
            .await?;
        let mark = crate::export::Mark::By {
            who: &actor.username,
            at,
        };
        crate::export::xlsx("看板清单", &table, mark)
    }

    // ---------------------------------------------------------------------
    // 日报

    /// Reads everything the day's report holds, outside any write (on
    /// SQLite the writer would wait for it): the figures per village, each
    /// town against yesterday's snapshot, the overdue tasks, the unanswered
    /// instructions. Returns the body and the snapshot rows to keep.
    async fn prepare_report(
        &self,
        today: Date,
        now: i64,
        origin: &str,
    ) -> Result<(ReportBody, Vec<(String, String, i64)>)> {
        let mut conn = self.db.pool().acquire().await?;
        let c = &mut *conn;
        let by_code = self.compute_figures(c, today, now).await?;
        let rows: Vec<(String, String, i64)> = rules::roll_up(&by_code, "", 12)
            .into_iter()
            .flat_map(|(g, f)| f.into_iter().map(move |(k, v)| (g.clone(), k, v)))
            .collect();
        let by_town = rules::roll_up(&by_code, "", 9);
        let yesterday = today.pred_opt().expect("a day before").to_string();
        let mut before: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (_, g, k, v) in store::figures_since(c, "", 9, &yesterday, &yesterday).await? {
            *before.entry(g).or_default().entry(k).or_default() += v;
        }
        let had_yesterday = !before.is_empty();
        let towns = repo::regions_at_level(c, "town").await?;
        let mut report_towns = Vec::new();
        let mut total = ReportTown {
            code: String::new(),
            name: "合计".into(),
            today: BTreeMap::new(),
            yesterday: had_yesterday.then(BTreeMap::new),
        };
        for t in &towns {
            let mine = by_town.get(&t.code).cloned().unwrap_or_default();
            let y = had_yesterday.then(|| before.remove(&t.code).unwrap_or_default());
            for (k, v) in &mine {
                *total.today.entry(k.clone()).or_default() += v;
            }
            if let (Some(ty), Some(y)) = (total.yesterday.as_mut(), y.as_ref()) {
                for (k, v) in y {
                    *ty.entry(k.clone()).or_default() += v;
                }
            }
            report_towns.push(ReportTown {
                code: t.code.clone(),
                name: t.name.clone(),
                today: mine,
                yesterday: y,
            });
        }
        let m = store::metric("tasks_overdue").expect("a metric");
        let names = region_names(c, "").await?;
        let mut overdue_tasks: Vec<OverdueTask> =
            store::list(c, m, "", None, &window(today, now), i64::MAX)
                .await?
                .into_iter()
                .map(|r| OverdueTask {
                    town: r.region[..r.region.len().min(9)].to_string(),
                    task_id: r.id,
                    kind: r.what,
                    region_name: names.get(&r.region).cloned().unwrap_or_default(),
                    region: r.region,
                    person: mask_name(&r.name),
                    due_at: r.at,
                })
                .collect();
        // Per town (the page and the sheet group by it), oldest first.
        overdue_tasks
            .sort_by(|a, b| (&a.town, a.due_at, a.task_id).cmp(&(&b.town, b.due_at, b.task_id)));
        let body = ReportBody {
            date: today,
            generated_at: now,
            origin: origin.to_string(),
            towns: report_towns,
            total,
            overdue_tasks,
            // Deadlines that passed within the 闭环率 window: older misses
            // were reported on their own days.
            unanswered_instructions: crate::storage::command::unanswered_between(
                c,
                window(today, now).closure_from,
                now,
            )
            .await?
            .into_iter()
            .map(|(region, title, username, due_at)| {
                json!({"town": &region[..region.len().min(9)], "region": region,
                           "title": title, "username": username, "due_at": due_at})
            })
            .collect(),
        };
        Ok((body, rows))
    }

    /// Keeps a prepared report and its snapshot, in the open transaction.
    async fn store_report(
        c: &mut AnyConnection,
        body: &ReportBody,
        rows: &[(String, String, i64)],
        actor: &str,
    ) -> Result<i64> {
        let (today, now, origin) = (body.date, body.generated_at, body.origin.as_str());
        store::put_figures(c, &today.to_string(), rows).await?;
        let text = serde_json::to_string(body).map_err(|e| Error::Internal(e.to_string()))?;
        let id = store::insert_report(c, &today.to_string(), origin, actor, now, &text).await?;
        repo::insert_event(
            c,
            now,
            actor,
            None,
            None,
            "daily_report_made",
            &json!({"id": id, "date": today, "origin": origin}),
        )
        .await?;
        Ok(id)
    }

    /// The daily job: at or after the configured hour, once per day across
    /// replicas. Returns the report's id when this call made it.
    pub(crate) async fn daily_report_job(&self) -> Result<Option<i64>> {
        use chrono::Timelike;
        let now = self.clock.now();
        let local = crate::clock::shanghai(now);
        if local.hour() < self.dashboard.daily_report_hour {
            return Ok(None);
        }
        let today = local.date_naive();
        let ts = now.timestamp();
        let period = today.to_string();
        {
            let mut c = self.db.pool().acquire().await?;
            if crate::storage::monitoring::job_claimed(&mut c, "daily_report", &period).await? {
                return Ok(None);
            }
        }
        let (body, rows) = self.prepare_report(today, ts, "job").await?;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    // Another replica may have made it meanwhile.
                    if !claim_job(c, "daily_report", &period, ts).await? {
                        return Ok(None);
                    }
                    Ok(Some(Self::store_report(c, &body, &rows, "system").await?))
                })
            })
            .await
    }

    /// 日报 on demand (the command).
    pub async fn make_daily_report(&self, actor: &Actor) -> Result<i64> {
        if actor.role != Role::Command {
            return Err(Error::Forbidden);
        }
        let (today, now) = (self.clock.today(), self.clock.timestamp());
        let (body, rows) = self.prepare_report(today, now, "manual").await?;
        let who = actor.username.clone();
        self.db
            .write(move |c| {
                Box::pin(async move { Self::store_report(c, &body, &rows, &who).await })
            })
            .await
    }

    pub async fn daily_reports(&self, actor: &Actor) -> Result<Vec<ReportSummary>> {
        if actor.role != Role::Command {
            return Err(Error::Forbidden);
        }
        let mut c = self.db.pool().acquire().await?;
        Ok(store::reports(&mut c, 400)
            .await?
            .into_iter()
            .map(|r| ReportSummary {
                id: r.id,
                date: r.on_date,
                origin: r.origin,
                created_by: r.created_by,
                created_at: r.created_at,
            })
            .collect())
    }

    pub async fn daily_report(&self, actor: &Actor, id: i64) -> Result<Report> {
        if actor.role != Role::Command {
            return Err(Error::Forbidden);
        }
        let mut c = self.db.pool().acquire().await?;
        let r = store::report(&mut c, id).await?.ok_or(Error::NotFound)?;
        Ok(Report {
            id: r.id,
            created_by: r.created_by,
            body: serde_json::from_str(&r.body)
                .map_err(|e| Error::Internal(format!("stored report: {e}")))?,
        })
    }

    /// A kept report for its printable page: audited like an export, with
    /// the watermark line the printout carries.
    /// A kept report for printing, and when the print was audited (the
    /// page's watermark names who and when, in the page's language).
    pub async fn daily_report_for_print(&self, actor: &Actor, id: i64) -> Result<(Report, i64)> {
        let r = self.daily_report(actor, id).await?;
        let now = self
            .audit_export(actor, "daily_report_printed", json!({"id": id}))
            .await?;
        Ok((r, now))
    }

    /// A kept report as .xlsx: 日报 (per town, with the change since
    /// yesterday), 超时任务, 未反馈指令. Audited.
    pub async fn daily_report_xlsx(&self, actor: &Actor, id: i64) -> Result<Vec<u8>> {
        let r = self.daily_report(actor, id).await?;
        let b = &r.body;
        let mut head = vec![Cell::text("镇街"), Cell::text("编码")];
        for (_, zh, _) in REPORT_FIGURES {
            head.push(Cell::text(*zh));
            head.push(Cell::text("较昨日"));
        }
        // The city's own name, from its region tree: any city, not one.
        let city = {
            let mut conn = self.db.pool().acquire().await?;
            repo::regions_at_level(&mut conn, "city")
                .await?
                .into_iter()
                .next()
                .map(|r| r.name)
                .unwrap_or_default()
        };
        let mut figures = vec![
            vec![Cell::text(format!("{city}疫情防控日报 {}", b.date))],
            head,
        ];
        for t in b.towns.iter().chain(std::iter::once(&b.total)) {
            let mut row = vec![Cell::text(&t.name), Cell::text(&t.code)];
            for (key, _, _) in REPORT_FIGURES {
                let scale = |v: i64| {
                    if *key == "closure" {
                        v as f64 / 10.0
                    } else {
                        v as f64
                    }
                };
                row.push(
                    t.today_value(key)
                        .map_or(Cell::Empty, |v| Cell::Number(scale(v))),
                );
                row.push(
                    t.change(key)
                        .map_or(Cell::Empty, |v| Cell::Number(scale(v))),
                );
            }
            figures.push(row);
        }
        let mut overdue = vec![
            [
                "镇街",
                "任务编号",
                "任务类型",
                "所属地区",
                "对象",
                "截止时间",
            ]
            .iter()
            .map(|s| Cell::text(*s))
            .collect::<Vec<_>>(),
        ];
        let town_name = |code: &str| {
            b.towns
                .iter()
                .find(|t| t.code == code)
                .map_or(code.to_string(), |t| t.name.clone())
        };
        for o in &b.overdue_tasks {
            overdue.push(vec![
                Cell::text(town_name(&o.town)),
                Cell::Number(o.task_id as f64),
                Cell::text(TaskKind::parse(&o.kind).map_or(o.kind.as_str(), |k| k.label_zh())),
                Cell::text(format!("{} {}", o.region, o.region_name)),
                Cell::text(&o.person),
                Cell::text(crate::web::pages::shanghai_time(o.due_at)),
            ]);
        }
        let mut instructions = vec![
            ["镇街", "指令", "接收人", "截止时间"]
                .iter()
                .map(|s| Cell::text(*s))
                .collect::<Vec<_>>(),
        ];
        for i in &b.unanswered_instructions {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_string();
            instructions.push(vec![
                Cell::text(town_name(&s("town"))),
                Cell::text(s("title")),
                Cell::text(s("username")),
                Cell::text(crate::web::pages::shanghai_time(
                    i["due_at"].as_i64().unwrap_or_default(),
                )),
            ]);
        }
        let at = self
            .audit_export(actor, "daily_report_exported", json!({"id": id}))
            .await?;
        let mark = crate::export::Mark::By {
            who: &actor.username,
            at,
        };
        crate::export::workbook(
            &[
                ("日报", figures),
                ("超时任务", overdue),
                ("未反馈指令", instructions),
            ],
            mark,
        )
    }
}

async fn region_names(c: &mut AnyConnection, scope: &str) -> Result<HashMap<String, String>> {
    Ok(store::region_names(c, scope).await?.into_iter().collect())
}

pub fn test_state_zh(s: TestState) -> &'static str {
    match s {
        TestState::Due => "待检",
        TestState::Done => "已检",
        TestState::Missed => "漏检",
        TestState::Positive => "阳性",
    }
}

fn control_status_zh(s: &str) -> &str {
    match s {
        "active" => "进行中",
        "due_for_release" => "待解除",
        "positive" => "核酸阳性",
        "released" => "已解除",
        "registered" => "已登记",
        other => other,
    }
}
