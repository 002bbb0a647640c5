//! The command publishes the risk-area list; every person a change touches is
//! re-assessed in the same transaction.

use bihuan_domain::Date;
use bihuan_domain::policy::{Facts, raise_reason, triage};
use bihuan_domain::regions::Divisions;
use bihuan_domain::risk::{RiskArea, RiskLevel};
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{self, Change};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::repo;

/// Declarations take this PostgreSQL advisory lock shared; publishing takes it
/// exclusively, so re-triage sees every declaration committed before it.
pub const TRIAGE_LOCK: i64 = 0x7472_6961_6765; // "triage"

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskAreaInput {
    pub county: String,
    #[serde(default)]
    pub township: Option<String>,
    #[serde(default)]
    pub subarea: Option<String>,
    pub level: String,
    pub since: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinceInput {
    pub since: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub id: i64,
    pub reassessed: usize,
    pub raised: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub rows: Vec<ImportRow>,
    pub added: usize,
    pub reassessed: usize,
    pub raised: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportRow {
    pub row: usize,
    pub id: Option<i64>,
    pub errors: Vec<FieldError>,
}

/// `since` may lie at most this many days back.
const MAX_SINCE_DAYS: i64 = 60;

/// A date as typed, or a date with a time of day (an Excel date-time cell,
/// `2022-01-20 00:00:00`), cut to the date.
fn date_part(value: &str) -> &str {
    let value = value.trim();
    match (value.get(..10), value.get(10..)) {
        (Some(date), Some(rest))
            if rest.len() > 1
                && (rest.starts_with(' ') || rest.starts_with('T'))
                && ["%H:%M:%S", "%H:%M"]
                    .iter()
                    .any(|f| chrono::NaiveTime::parse_from_str(rest[1..].trim(), f).is_ok()) =>
        {
            date
        }
        _ => value,
    }
}

fn parse_since(value: &str, today: Date) -> std::result::Result<Date, FieldError> {
    let d = validation::date("since", date_part(value))?;
    if d > today || d < today - Duration::days(MAX_SINCE_DAYS) {
        return Err(FieldError::new(
            "since",
            "range",
            "起始日期不能晚于今天，也不能早于60天前",
            "since cannot be in the future or more than 60 days back",
        ));
    }
    Ok(d)
}

pub fn parse(input: &RiskAreaInput, today: Date) -> std::result::Result<RiskArea, FieldErrors> {
    let mut e = FieldErrors::default();
    let d = Divisions::get();
    if !d.is_county(&input.county) {
        e.push(FieldError::new(
            "county",
            "county",
            "请选择有效的县(市、区)",
            "not a known county code",
        ));
    }
    let township = input
        .township
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(t) = township
        && !(d.is_township(t) && t.starts_with(&input.county))
    {
        e.push(FieldError::new(
            "township",
            "township",
            "乡镇(街道)不属于所选县(市、区)",
            "not a township of the chosen county",
        ));
    }
    let subarea = input
        .subarea
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| e.take(validation::text("subarea", s, 100)));
    let level = RiskLevel::parse(&input.level);
    if level.is_none() {
        e.push(FieldError::new(
            "level",
            "level",
            "风险等级应为高或中",
            "high or medium",
        ));
    }
    let since = e.take(parse_since(&input.since, today));
    match (level, since) {
        (Some(level), Some(since)) if e.is_empty() => Ok(RiskArea {
            id: 0,
            county: input.county.clone(),
            township: township.map(str::to_string),
            subarea,
            level,
            since,
            until: None,
            listed_on: today,
        }),
        _ => Err(e),
    }
}

fn forbid_unless_command(actor: &Actor) -> Result<()> {
    if actor.role.can_manage_risk_areas() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

impl Services {
    pub async fn list_risk_areas(&self) -> Result<Vec<RiskArea>> {
        let mut c = self.db.pool().acquire().await?;
        repo::risk_areas(&mut c).await
    }

    pub async fn add_risk_area(&self, actor: &Actor, input: RiskAreaInput) -> Result<Published> {
        forbid_unless_command(actor)?;
        let area = parse(&input, self.clock.today())?;
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    svc.lock_for_publish(c).await?;
                    let (id, reassessed, raised) = svc.insert_area(c, area, &who).await?;
                    Ok(Published {
                        id,
                        reassessed,
                        raised,
                    })
                })
            })
            .await
    }

    /// Lifting ends the listing; presence before `until` still counts and
    /// nobody is relaxed automatically.
    pub async fn lift_risk_area(&self, actor: &Actor, id: i64) -> Result<RiskArea> {
        forbid_unless_command(actor)?;
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let mut a = repo::risk_area(c, id).await?.ok_or(Error::NotFound)?;
                    if a.until.is_some() {
                        return Err(Error::Conflict("already lifted".into()));
                    }
                    let now = svc.clock.timestamp();
                    a.until = Some(svc.clock.today());
                    repo::set_risk_area_dates(c, id, a.since, a.until).await?;
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "risk_area_lifted",
                        &json!({"id": id}),
                    )
                    .await?;
                    Ok(a)
                })
            })
            .await
    }

    /// Moves `since` earlier (never later: that would relax people) and re-assesses.
    pub async fn move_risk_area_since(
        &self,
        actor: &Actor,
        id: i64,
        input: SinceInput,
    ) -> Result<Published> {
        forbid_unless_command(actor)?;
        let since = parse_since(&input.since, self.clock.today())?;
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    svc.lock_for_publish(c).await?;
                    let mut a = repo::risk_area(c, id).await?.ok_or(Error::NotFound)?;
                    if since >= a.since {
                        return Err(Error::field(
                            "since",
                            "not_earlier",
                            "只能把起始日期提前",
                            "since can only move earlier",
                        ));
                    }
                    a.since = since;
                    repo::set_risk_area_dates(c, id, a.since, a.until).await?;
                    let now = svc.clock.timestamp();
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "risk_area_since_moved",
                        &json!({"id": id, "since": since}),
                    )
                    .await?;
                    let (reassessed, raised) = svc.reassess(c, &[a], &who).await?;
                    Ok(Published {
                        id,
                        reassessed,
                        raised,
                    })
                })
            })
            .await
    }

    /// Imports rows of a spreadsheet in one transaction: good rows are added,
    /// bad rows are reported with their reasons, and re-triage runs once.
    /// Rows identical to a listed, unlifted entry are skipped, so a repeated
    /// import adds nothing.
    pub async fn import_risk_areas(
        &self,
        actor: &Actor,
        rows: Vec<RiskAreaInput>,
    ) -> Result<ImportReport> {
        forbid_unless_command(actor)?;
        let today = self.clock.today();
        let parsed: Vec<_> = rows.iter().map(|r| parse(r, today)).collect();
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    svc.lock_for_publish(c).await?;
                    let existing = repo::risk_areas(c).await?;
                    let now = svc.clock.timestamp();
                    let mut report = Vec::new();
                    let mut added = Vec::new();
                    for (i, p) in parsed.into_iter().enumerate() {
                        match p {
                            Err(e) => report.push(ImportRow {
                                row: i + 1,
                                id: None,
                                errors: e.0,
                            }),
                            Ok(mut a) => {
                                let same = existing.iter().chain(added.iter()).find(|x| {
                                    x.until.is_none()
                                        && x.county == a.county
                                        && x.township == a.township
                                        && x.subarea == a.subarea
                                        && x.level == a.level
                                        && x.since == a.since
                                });
                                let id = match same {
                                    Some(x) => x.id,
                                    None => {
                                        a.id = repo::insert_risk_area(c, &a, &who, now).await?;
                                        added.push(a.clone());
                                        a.id
                                    }
                                };
                                report.push(ImportRow {
                                    row: i + 1,
                                    id: Some(id),
                                    errors: vec![],
                                });
                            }
                        }
                    }
                    let (reassessed, raised) = svc.reassess(c, &added, &who).await?;
                    Ok(ImportReport {
                        rows: report,
                        added: added.len(),
                        reassessed,
                        raised,
                    })
                })
            })
            .await
    }

    async fn lock_for_publish(&self, c: &mut AnyConnection) -> Result<()> {
        crate::storage::advisory_lock(
            c,
            self.db.backend(),
            TRIAGE_LOCK,
            crate::storage::Share::Exclusive,
        )
        .await
    }

    async fn insert_area(
        &self,
        c: &mut AnyConnection,
        mut area: RiskArea,
        who: &str,
    ) -> Result<(i64, usize, usize)> {
        let now = self.clock.timestamp();
        area.id = repo::insert_risk_area(c, &area, who, now).await?;
        repo::insert_event(
            c,
            now,
            who,
            None,
            None,
            "risk_area_added",
            &json!({"id": area.id, "county": area.county, "township": area.township,
                    "level": area.level, "since": area.since}),
        )
        .await?;
        let (reassessed, raised) = self.reassess(c, std::slice::from_ref(&area), who).await?;
        Ok((area.id, reassessed, raised))
    }

    /// Re-assesses everyone the changed entries may touch: people with a
    /// presence in their counties who arrived within the window (or will
    /// arrive) or whose control still runs. Returns (reassessed, raised).
    async fn reassess(
        &self,
        c: &mut AnyConnection,
        changed: &[RiskArea],
        who: &str,
    ) -> Result<(usize, usize)> {
        let today = self.clock.today();
        let from = (today - Duration::days(i64::from(self.policy.window_days))).to_string();
        let mut counties: Vec<&str> = changed.iter().map(|a| a.county.as_str()).collect();
        counties.sort_unstable();
        counties.dedup();
        let mut seen = std::collections::HashSet::new();
        let mut candidates = Vec::new();
        for county in &counties {
            for (d, grid) in repo::reassessment_candidates(c, county, &from).await? {
                if seen.insert(d.id) {
                    candidates.push((d, grid));
                }
            }
        }
        let areas = repo::risk_areas(c).await?;
        let now = self.clock.timestamp();
        let mut raised = 0;
        for (d, grid) in &candidates {
            let facts: Facts = serde_json::from_str(&d.facts)
                .map_err(|e| Error::Internal(format!("stored facts: {e}")))?;
            let assessment = triage(&self.policy, &areas, &facts);
            let because = changed
                .iter()
                .find(|a| assessment.risk_area_ids.contains(&a.id))
                .map(raise_reason);
            let applied = control::apply(
                c,
                &self.policy,
                Change {
                    person_id: d.person_id,
                    declaration_id: Some(d.id),
                    grid,
                    assessment: &assessment,
                    because,
                    always_dispatch: false,
                    actor: who,
                    now,
                },
            )
            .await?;
            if applied.raised {
                raised += 1;
            }
        }
        Ok((candidates.len(), raised))
    }
}
