//! Read models: what a user sees. Reads never change state, except that an
//! unmasked view of personal data is itself recorded.

use bihuan_domain::identity::mask_name;
use bihuan_domain::policy::{Assessment, Policy};
use bihuan_domain::regions::RegionLevel;
use bihuan_domain::task::{TaskKind, TaskState};
use serde::Serialize;
use serde_json::json;

use super::control::parse_assessment;
use super::declare::ControlView;
use super::tasks::{TaskView, view};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::repo::{self, EventRow, TaskFilter};

#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub region: String,
    pub unmasked: bool,
    pub control: Option<ControlView>,
    pub tasks: Vec<TaskView>,
    pub timeline: Vec<EventRow>,
    /// Declared identity changes waiting for the grid (信息变更待核实);
    /// a 反馈 with `identity` answers one.
    pub identity_changes: Vec<repo::PendingIdentity>,
}

/// What the person sees on their status page: no login, masked name only.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub receipt: String,
    pub name: String,
    pub arrival_date: String,
    pub assessment: Assessment,
    pub control: Option<ControlView>,
    /// The declared identity waits for the grid's verification: no measure
    /// on file, no check-ins or help by this receipt.
    pub identity_pending: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Overview {
    /// (town code, town name, category, count) for declarations received today.
    pub declarations_today: Vec<(String, String, String, i64)>,
    /// (state, count, overdue).
    pub tasks_by_state: Vec<(String, i64, i64)>,
    /// (town code, town name, overdue count).
    pub overdue_by_town: Vec<(String, String, i64)>,
}

pub struct TaskQuery {
    pub state: Option<String>,
    pub region: Option<String>,
    pub escalated: bool,
    pub overdue: bool,
    pub after: i64,
    pub limit: i64,
}

impl Services {
    /// A person in the actor's region. Identity number and phone are masked
    /// unless `unmask` is asked for by a role that may, and then it is audited.
    pub async fn person(&self, actor: &Actor, id: i64, unmask: bool) -> Result<PersonView> {
        if unmask && !actor.role.can_unmask() {
            return Err(Error::Forbidden);
        }
        let now = self.clock.timestamp();
        let p = {
            let mut c = self.db.pool().acquire().await?;
            repo::person_in(&mut c, id, actor.scope())
                .await?
                .ok_or(Error::NotFound)?
        };
        let (id_number, phone) = if unmask {
            let who = actor.username.clone();
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        repo::insert_event(c, now, &who, Some(id), None, "unmasked", &json!({}))
                            .await
                    })
                })
                .await?;
            (
                self.vault.decrypt(&p.doc_enc).unwrap_or_default(),
                self.vault.decrypt(&p.phone_enc).unwrap_or_default(),
            )
        } else {
            (p.doc_masked.clone(), p.phone_masked.clone())
        };
        let mut c = self.db.pool().acquire().await?;
        let control = match repo::control(&mut c, id).await? {
            Some(k) => Some(ControlView::new(
                &parse_assessment(&k.assessment)?,
                &k.status,
            )),
            None => None,
        };
        let tasks = repo::tasks_of_person(&mut c, id)
            .await?
            .iter()
            .map(|t| view(t, now))
            .collect();
        Ok(PersonView {
            id,
            name: p.name,
            id_type: p.doc_type,
            id_number,
            phone,
            region: p.region,
            unmasked: unmask,
            control,
            tasks,
            timeline: repo::person_events(&mut c, id).await?,
            identity_changes: repo::pending_identities(&mut c, id).await?,
        })
    }

    /// Who the cards of a task page are about (name, masked phone, address),
    /// by person id, inside the actor's region.
    pub async fn card_people(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, repo::CardPersonRow>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut c = self.db.pool().acquire().await?;
        Ok(repo::card_people(&mut c, &ids, actor.scope())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect())
    }

    /// 拨打: a person's name and full phone number, to call them from a task
    /// card. The unmasked number is audited like any other (`unmasked`).
    pub async fn phone_to_call(&self, actor: &Actor, id: i64) -> Result<(String, String)> {
        if !actor.role.can_unmask() {
            return Err(Error::Forbidden);
        }
        let now = self.clock.timestamp();
        let p = {
            let mut c = self.db.pool().acquire().await?;
            repo::person_in(&mut c, id, actor.scope())
                .await?
                .ok_or(Error::NotFound)?
        };
        let who = actor.username.clone();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        Some(id),
                        None,
                        "unmasked",
                        &json!({"field": "phone", "purpose": "call"}),
                    )
                    .await
                })
            })
            .await?;
        Ok((p.name, self.vault.decrypt(&p.phone_enc).unwrap_or_default()))
    }

    /// What a receipt shows: this declaration's name (masked), its own
    /// assessment, and the measure running now. A receipt whose declared
    /// name or phone did not match the identity on file (`identity_pending`)
    /// shows its own assessment only, until the grid confirms it; any
    /// receipt shows the reasons of the running control only when that
    /// control came from this declaration.
    pub async fn status(&self, receipt: &str) -> Result<StatusView> {
        if receipt.len() != 24 || !receipt.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        let d = repo::declaration_by_receipt(&mut c, receipt)
            .await?
            .ok_or(Error::NotFound)?;
        let trusted = d.trusted();
        let control = match repo::control(&mut c, d.person_id).await? {
            Some(k) if trusted => Some(
                ControlView::new(&parse_assessment(&k.assessment)?, &k.status)
                    .own_reasons_only(k.declaration_id == Some(d.id)),
            ),
            _ => None,
        };
        Ok(StatusView {
            receipt: d.receipt,
            name: mask_name(&d.name),
            arrival_date: d.arrival_date,
            assessment: parse_assessment(&d.assessment)?,
            control,
            identity_pending: !trusted,
        })
    }

    pub async fn tasks(&self, actor: &Actor, q: TaskQuery) -> Result<Vec<TaskView>> {
        let scope = match &q.region {
            // A narrower region inside the actor's own; anything else sees nothing.
            Some(r) if r.starts_with(actor.scope()) && r.bytes().all(|b| b.is_ascii_digit()) => {
                r.clone()
            }
            Some(_) => return Ok(vec![]),
            None => actor.scope().to_string(),
        };
        if let Some(s) = &q.state
            && bihuan_domain::task::TaskState::parse(s).is_none()
        {
            return Err(Error::field(
                "state",
                "state",
                "任务状态无效",
                "unknown task state",
            ));
        }
        let now = self.clock.timestamp();
        let mut c = self.db.pool().acquire().await?;
        let rows = repo::list_tasks(
            &mut c,
            &TaskFilter {
                scope: &scope,
                state: q.state.as_deref(),
                escalated_to: q.escalated.then_some(actor.scope()),
                overdue_at: q.overdue.then_some(now),
                after_id: q.after.max(0),
                limit: q.limit.clamp(1, 500),
                now,
            },
        )
        .await?;
        let views: Vec<TaskView> = rows.iter().map(|t| view(t, now)).collect();
        debug_assert!(rows.is_sorted_by_key(|t| {
            bihuan_domain::task::urgency_key(
                TaskKind::parse(&t.kind).unwrap_or(TaskKind::Verify),
                TaskState::parse(&t.state).unwrap_or(TaskState::Dispatched),
                t.due_at,
                t.id,
                now,
            )
        }));
        Ok(views)
    }

    pub async fn overview(&self, actor: &Actor) -> Result<Overview> {
        let now = self.clock.now();
        let midnight = crate::clock::shanghai(now)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp()
            - 8 * 3600;
        let mut c = self.db.pool().acquire().await?;
        let towns = repo::regions_at_level(&mut c, RegionLevel::Town.as_str()).await?;
        let town_name = |code: &str| {
            towns
                .iter()
                .find(|t| t.code == code)
                .map(|t| t.name.clone())
                .unwrap_or_else(|| code.to_string())
        };
        let scope = actor.scope();
        Ok(Overview {
            declarations_today: repo::declarations_by_town(&mut c, scope, midnight)
                .await?
                .into_iter()
                .map(|(t, cat, n)| (town_name(&t), t, cat, n))
                .map(|(name, t, cat, n)| (t, name, cat, n))
                .collect(),
            tasks_by_state: repo::tasks_by_state(&mut c, scope, now.timestamp()).await?,
            overdue_by_town: repo::overdue_by_town(&mut c, scope, now.timestamp())
                .await?
                .into_iter()
                .map(|(t, n)| (t.clone(), town_name(&t), n))
                .collect(),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

// ---------------------------------------------------------------------------
// Read models for the server-rendered pages (web/pages): one call per page.

/// A town with its villages, for the destination picker of the 返永通 form.
#[derive(Debug, Clone, Serialize)]
pub struct TownVillages {
    pub code: String,
    pub name: String,
    pub villages: Vec<repo::RegionRow>,
}

/// Where the person said they would stay, from their latest declaration:
/// what a grid worker needs for the visit.
#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    pub arrival_date: String,
    pub village: String,
    pub village_name: String,
    pub address: String,
    pub origin: String,
    pub departed_on: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonDetail {
    pub person: PersonView,
    pub destination: Option<Destination>,
}

/// The overview, with every town in the actor's region for the tiles.
#[derive(Debug, Clone, Serialize)]
pub struct CommandBoard {
    pub overview: Overview,
    pub towns: Vec<repo::RegionRow>,
}

impl Services {
    /// The city's villages grouped by town, both in code order.
    pub async fn villages_by_town(&self) -> Result<Vec<TownVillages>> {
        let mut c = self.db.pool().acquire().await?;
        let towns = repo::regions_at_level(&mut c, RegionLevel::Town.as_str()).await?;
        let villages = repo::regions_at_level(&mut c, RegionLevel::Village.as_str()).await?;
        Ok(towns
            .into_iter()
            .map(|t| TownVillages {
                villages: villages
                    .iter()
                    .filter(|v| v.parent.as_deref() == Some(t.code.as_str()))
                    .cloned()
                    .collect(),
                code: t.code,
                name: t.name,
            })
            .collect())
    }

    /// [`Services::person`] plus the destination of the latest declaration.
    pub async fn person_detail(
        &self,
        actor: &Actor,
        id: i64,
        unmask: bool,
    ) -> Result<PersonDetail> {
        let person = self.person(actor, id, unmask).await?;
        let mut c = self.db.pool().acquire().await?;
        let destination = match repo::latest_declaration(&mut c, id).await? {
            None => None,
            Some(d) => {
                let facts: bihuan_domain::policy::Facts = serde_json::from_str(&d.facts)
                    .map_err(|e| Error::Internal(format!("stored facts: {e}")))?;
                let village_name = repo::region(&mut c, &d.village)
                    .await?
                    .map(|r| r.name)
                    .unwrap_or_else(|| d.village.clone());
                Some(Destination {
                    arrival_date: d.arrival_date,
                    village: d.village,
                    village_name,
                    address: d.address,
                    origin: bihuan_domain::regions::Divisions::get()
                        .place_name(&facts.origin.county, facts.origin.township.as_deref()),
                    departed_on: facts.departed_on.to_string(),
                })
            }
        };
        Ok(PersonDetail {
            person,
            destination,
        })
    }

    /// The overview and the towns it covers: all of them for the command,
    /// the actor's own town for everyone below.
    pub async fn command_board(&self, actor: &Actor) -> Result<CommandBoard> {
        let overview = self.overview(actor).await?;
        let scope = actor.scope();
        let towns = self
            .regions_at(RegionLevel::Town)
            .await?
            .into_iter()
            .filter(|t| t.code.starts_with(scope) || scope.starts_with(&t.code))
            .collect();
        Ok(CommandBoard { overview, towns })
    }
}

// ---------------------------------------------------------------------------
// Read models for the 管控执行 pages (web/pages): one call per page.

/// Today's latest check-in, as the status page confirms it.
#[derive(Debug, Clone, Serialize)]
pub struct TodayCheckIn {
    /// Degrees Celsius, e.g. "36.5".
    pub temperature: String,
    /// It called for a fever-clinic transfer.
    pub alarm: bool,
}

/// The status page: [`StatusView`] with the control's stored status
/// (`active`, `due_for_release`, `released`, `positive`, `transferred_out`),
/// today's check-in and the person's help requests.
#[derive(Debug, Clone, Serialize)]
pub struct StatusPageView {
    pub view: StatusView,
    /// When the control's status last changed: the release, once released.
    pub status_since: Option<i64>,
    pub checked_in_today: Option<TodayCheckIn>,
    pub help: Vec<crate::storage::monitoring::HelpRow>,
    /// The derived health-code colour (green, yellow, red); green when none
    /// was ever derived; None while the identity waits for the grid.
    pub health_code: Option<String>,
    /// Today in Asia/Shanghai, for the next test day.
    pub today: bihuan_domain::Date,
}

/// The person page: [`PersonDetail`] and the current health-code colour.
#[derive(Debug, Clone, Serialize)]
pub struct PersonPageView {
    pub detail: PersonDetail,
    /// green, yellow or red; green when none was ever derived.
    pub health_code: String,
}

/// The command page: the board and the open help requests by town.
#[derive(Debug, Clone, Serialize)]
pub struct CommandPageView {
    pub board: CommandBoard,
    pub help: Vec<super::care::HelpWaiting>,
}

impl Services {
    pub async fn status_page(&self, receipt: &str) -> Result<StatusPageView> {
        use crate::storage::monitoring as store;
        use bihuan_domain::policy::Symptom;
        let mut view = self.status(receipt).await?;
        if view.identity_pending {
            return Ok(StatusPageView {
                view,
                status_since: None,
                checked_in_today: None,
                help: Vec::new(),
                health_code: None,
                today: self.clock.today(),
            });
        }
        let person_id = self.person_of_receipt(receipt).await?;
        let today = self.clock.today().to_string();
        let mut c = self.db.pool().acquire().await?;
        let k = repo::control(&mut c, person_id).await?;
        if let (Some(v), Some(k)) = (view.control.as_mut(), &k) {
            v.status = k.status.clone();
        }
        let checked_in_today = store::check_ins_of(&mut c, person_id)
            .await?
            .into_iter()
            .rev()
            .find(|r| r.on_date == today)
            .map(|r| {
                let t = u16::try_from(r.temperature).unwrap_or_default();
                let symptoms: Vec<Symptom> =
                    r.symptoms.split(',').filter_map(Symptom::parse).collect();
                TodayCheckIn {
                    temperature: format!("{}.{}", t / 10, t % 10),
                    alarm: bihuan_domain::monitoring::check_in_alarm(t, &symptoms),
                }
            });
        let help = store::help_of(&mut c, person_id).await?;
        let health_code = store::health_code_of(&mut c, person_id)
            .await?
            .unwrap_or_else(|| "green".to_string());
        Ok(StatusPageView {
            view,
            status_since: k.map(|k| k.updated_at),
            checked_in_today,
            help,
            health_code: Some(health_code),
            today: self.clock.today(),
        })
    }

    pub async fn person_page(
        &self,
        actor: &Actor,
        id: i64,
        unmask: bool,
    ) -> Result<PersonPageView> {
        let detail = self.person_detail(actor, id, unmask).await?;
        let mut c = self.db.pool().acquire().await?;
        let health_code = crate::storage::monitoring::health_code_of(&mut c, id)
            .await?
            .unwrap_or_else(|| "green".into());
        Ok(PersonPageView {
            detail,
            health_code,
        })
    }

    pub async fn command_page(&self, actor: &Actor) -> Result<CommandPageView> {
        Ok(CommandPageView {
            board: self.command_board(actor).await?,
            help: self.help_waiting(actor).await?,
        })
    }
}

// ---------------------------------------------------------------------------
// Read model for the public 采样点 page (web/pages): one call per page.

/// The sites by town and, for a user who may add sites, the towns and
/// villages of their region to choose from (each town's villages cut to the
/// region; a town outside it is listed only for its villages).
#[derive(Debug, Clone, Serialize)]
pub struct SitesPageView {
    pub sites: Vec<super::sites::TownSites>,
    pub regions: Vec<TownVillages>,
}

impl Services {
    pub async fn sites_page(&self, actor: Option<&Actor>) -> Result<SitesPageView> {
        let sites = self.sites_by_town().await?;
        let regions = match actor {
            Some(a) if a.role.can_review() => {
                let scope = a.scope();
                self.villages_by_town()
                    .await?
                    .into_iter()
                    .filter(|t| t.code.starts_with(scope) || scope.starts_with(&t.code))
                    .map(|mut t| {
                        t.villages.retain(|v| v.code.starts_with(scope));
                        t
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(SitesPageView { sites, regions })
    }
}

// ---------------------------------------------------------------------------
// Read models for the 全员核酸 and 三区 pages (web/pages): one call per page.

/// The rounds the user's region takes part in, newest first, and the city's
/// towns with their villages, to name the rounds' regions and to pick from.
#[derive(Debug, Clone, Serialize)]
pub struct RoundsPageView {
    pub rounds: Vec<crate::storage::rounds::RoundRow>,
    pub towns: Vec<TownVillages>,
}

/// [`Services::coverage`] and the way down to it from the user's region.
#[derive(Debug, Clone, Serialize)]
pub struct RoundPageView {
    pub coverage: super::rounds::Coverage,
    /// (code, name) from the user's own region down to the one shown,
    /// that one excluded.
    pub trail: Vec<(String, String)>,
}

/// [`Services::untested`] with the round and the grid's name.
#[derive(Debug, Clone, Serialize)]
pub struct UntestedPageView {
    pub round: crate::storage::rounds::RoundRow,
    pub grid: String,
    pub grid_name: String,
    pub rows: Vec<super::rounds::Untested>,
}

/// The command's zones, newest first, and the villages to draw one around.
#[derive(Debug, Clone, Serialize)]
pub struct ZonesPageView {
    pub zones: Vec<crate::storage::rounds::ZoneRow>,
    pub towns: Vec<TownVillages>,
    /// Every grid, to pick one by name.
    pub grids: Vec<repo::RegionRow>,
}

impl Services {
    pub async fn rounds_page(&self, actor: &Actor) -> Result<RoundsPageView> {
        let scope = actor.scope();
        let mut c = self.db.pool().acquire().await?;
        let rounds = crate::storage::rounds::recent_rounds(&mut c)
            .await?
            .into_iter()
            .filter(|r| {
                r.regions
                    .split(',')
                    .any(|code| code.starts_with(scope) || scope.starts_with(code))
            })
            .collect();
        drop(c);
        Ok(RoundsPageView {
            rounds,
            towns: self.villages_by_town().await?,
        })
    }

    pub async fn round_page(
        &self,
        actor: &Actor,
        round_id: i64,
        region: Option<&str>,
    ) -> Result<RoundPageView> {
        let coverage = self.coverage(actor, round_id, region).await?;
        let mut c = self.db.pool().acquire().await?;
        let mut trail = Vec::new();
        for level in [RegionLevel::City, RegionLevel::Town, RegionLevel::Village] {
            let len = level.code_len();
            if len >= actor.scope().len() && len < coverage.region.len() {
                let code = &coverage.region[..len];
                let name = repo::region(&mut c, code)
                    .await?
                    .map(|r| r.name)
                    .unwrap_or_default();
                trail.push((code.to_string(), name));
            }
        }
        Ok(RoundPageView { coverage, trail })
    }

    pub async fn untested_page(
        &self,
        actor: &Actor,
        round_id: i64,
        grid: &str,
    ) -> Result<UntestedPageView> {
        let rows = self.untested(actor, round_id, grid).await?;
        let mut c = self.db.pool().acquire().await?;
        let round = crate::storage::rounds::round(&mut c, round_id)
            .await?
            .ok_or(Error::NotFound)?;
        let grid_name = repo::region(&mut c, grid)
            .await?
            .map(|r| r.name)
            .unwrap_or_default();
        Ok(UntestedPageView {
            round,
            grid: grid.to_string(),
            grid_name,
            rows,
        })
    }

    /// Only the command draws zones, so only the command lists them.
    pub async fn zones_page(&self, actor: &Actor) -> Result<ZonesPageView> {
        if !actor.role.can_manage_risk_areas() {
            return Err(Error::Forbidden);
        }
        let mut c = self.db.pool().acquire().await?;
        let zones = crate::storage::rounds::recent_zones(&mut c).await?;
        let grids = repo::regions_at_level(&mut c, RegionLevel::Grid.as_str()).await?;
        drop(c);
        Ok(ZonesPageView {
            zones,
            towns: self.villages_by_town().await?,
            grids,
        })
    }
}
