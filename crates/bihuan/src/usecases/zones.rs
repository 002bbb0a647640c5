//! 封控区 / 管控区 / 防范区: the command draws a zone around villages or
//! grids; every resident comes under the zone's measure through the same
//! policy engine (stricter running plans are kept), and lifting the zone ends
//! the measure for those whose tests are done.

use bihuan_domain::monitoring::TestResult;
use bihuan_domain::policy::{Reason, assign, md_zh};
use bihuan_domain::regions::{RegionCode, RegionLevel};
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::control::{self, Change, parse_assessment};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::monitoring as monitoring_store;
use crate::storage::{repo, rounds as store};

/// sealed 封控区, controlled 管控区, precaution 防范区.
pub const ZONE_KINDS: [(&str, &str); 3] = [
    ("sealed", "封控区"),
    ("controlled", "管控区"),
    ("precaution", "防范区"),
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    pub kind: String,
    /// A village or grid.
    pub region: String,
    pub starts_on: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneOutcome {
    pub id: i64,
    /// Residents whose control the zone set or raised.
    pub placed: usize,
    /// Residents who keep a stricter running plan.
    pub kept: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lifted {
    pub released: usize,
    /// Still owing a test: they stay until their plan's end.
    pub remaining: usize,
}

impl Services {
    pub async fn mark_zone(&self, actor: &Actor, input: ZoneInput) -> Result<ZoneOutcome> {
        if !actor.role.can_manage_risk_areas() {
            return Err(Error::Forbidden);
        }
        let today = self.clock.today();
        let mut e = FieldErrors::default();
        let label = ZONE_KINDS
            .iter()
            .find(|(k, _)| *k == input.kind)
            .map(|(_, l)| *l);
        if label.is_none() {
            e.push(FieldError::new(
                "kind",
                "kind",
                "区域类型应为封控区、管控区或防范区",
                "sealed, controlled or precaution",
            ));
        }
        let region = e.take(RegionCode::parse(&input.region, "region"));
        if region
            .as_ref()
            .is_some_and(|r| !matches!(r.level(), RegionLevel::Village | RegionLevel::Grid))
        {
            e.push(FieldError::new(
                "region",
                "level",
                "请选择村(社区)或网格",
                "a village or a grid",
            ));
        }
        let starts = e.take(validation::date("starts_on", &input.starts_on));
        if starts.is_some_and(|d| d > today || d < today - Duration::days(14)) {
            e.push(FieldError::new(
                "starts_on",
                "range",
                "开始日期须在今天及之前14天内",
                "today or up to 14 days back",
            ));
        }
        let (Some(label), Some(region), Some(starts)) = (label, region, starts) else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let place = repo::region(c, region.as_str()).await?.ok_or_else(|| Error::field("region", "unknown", "区域不存在", "no such region"))?;
                    let id = store::insert_zone(c, &input.kind, region.as_str(), &starts.to_string(), &who, now).await?;
                    let reason = Reason {
                        zh: format!("{}划为{}（{}起）", place.name, label, md_zh(starts)),
                        en: format!("{} made a {} zone from {}", place.name, input.kind, starts),
                    };
                    let category = format!("zone_{}", input.kind);
                    let a = assign(&svc.policy, &category, starts, reason).ok_or_else(|| Error::Internal(format!("the policy lacks {category}")))?;
                    let (mut placed, mut kept) = (0, 0);
                    for (person_id, grid) in store::residents_in(c, region.as_str()).await? {
                        let declaration_id = repo::latest_declaration(c, person_id).await?.map(|d| d.id);
                        let before = repo::control(c, person_id).await?.map(|k| (k.category, k.status));
                        control::apply(c, &svc.policy, Change { person_id, declaration_id, grid: &grid, assessment: &a, because: None, always_dispatch: false, actor: &who, now }).await?;
                        let after = repo::control(c, person_id).await?.map(|k| (k.category, k.status));
                        if after != before { placed += 1 } else { kept += 1 }
                    }
                    repo::insert_event(c, now, &who, None, None, "zone_marked", &json!({"id": id, "kind": input.kind, "region": region.as_str(), "starts_on": starts, "placed": placed, "kept": kept})).await?;
                    Ok(ZoneOutcome { id, placed, kept })
                })
            })
            .await
    }

    /// Lifts a zone: residents under its measure whose every test so far is
    /// negative are released; the rest keep it until their tests are done.
    pub async fn lift_zone(&self, actor: &Actor, id: i64) -> Result<Lifted> {
        if !actor.role.can_manage_risk_areas() {
            return Err(Error::Forbidden);
        }
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let today = svc.clock.today();
                    let (kind, region, lifted) =
                        store::zone(c, id).await?.ok_or(Error::NotFound)?;
                    if lifted.is_some() {
                        return Err(Error::Refused {
                            code: "lifted",
                            zh: "该区域已解除",
                            en: "the zone is already lifted",
                        });
                    }
                    store::lift_zone(c, id, &today.to_string()).await?;
                    let category = format!("zone_{kind}");
                    let (mut released, mut remaining) = (0, 0);
                    for (person_id, _) in store::residents_in(c, &region).await? {
                        let Some(k) = repo::control(c, person_id).await? else {
                            continue;
                        };
                        if k.category == category && k.status == "active" {
                            let plan = parse_assessment(&k.assessment)?.plan;
                            let records = monitoring_store::tests_of(c, person_id).await?;
                            // Every test day so far needs a negative result.
                            let owed = plan.test_days.iter().filter(|t| t.date <= today).any(|t| {
                                !records.iter().any(|r| {
                                    r.sampled_on == t.date && r.result == TestResult::Negative
                                })
                            });
                            if owed {
                                remaining += 1;
                                continue;
                            }
                        }
                        // The zone ends: what it ran on top of runs again
                        // (a 落地检 keeps its owed test); where the zone was
                        // only beneath another measure, it is gone from there.
                        match control::end_control(
                            c,
                            &svc.policy,
                            person_id,
                            &category,
                            json!({"reason": "zone_lifted", "zone": id}),
                            &who,
                            now,
                        )
                        .await?
                        {
                            control::Ended::Released | control::Ended::Restored(_) => released += 1,
                            control::Ended::Beneath | control::Ended::Absent => {}
                        }
                    }
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "zone_lifted",
                        &json!({"id": id, "released": released, "remaining": remaining}),
                    )
                    .await?;
                    Ok(Lifted {
                        released,
                        remaining,
                    })
                })
            })
            .await
    }
}
