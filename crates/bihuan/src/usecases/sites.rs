//! 采样点: sampling sites, managed by the command and towns, listed publicly.

use bihuan_domain::regions::RegionCode;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::repo;
use crate::storage::testing::{self as store, SiteRow};

/// fixed 固定采样点, fangcang 方舱, mobile 流动采样.
pub const SITE_KINDS: [&str; 3] = ["fixed", "fangcang", "mobile"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    pub name: String,
    /// The town, village or grid it stands in.
    pub region: String,
    pub address: String,
    /// e.g. "08:00-20:00".
    pub hours: String,
    pub kind: String,
    /// Any of mandatory (应检尽检), periodic (定期抽检), voluntary (愿检尽检).
    pub serves: Vec<String>,
    #[serde(default)]
    pub paid: bool,
}

/// Sites grouped by the town they stand in.
#[derive(Debug, Clone, Serialize)]
pub struct TownSites {
    pub town: String,
    pub town_name: String,
    pub sites: Vec<SiteRow>,
}

impl Services {
    pub async fn add_site(&self, actor: &Actor, input: SiteInput) -> Result<i64> {
        if !actor.role.can_review() {
            return Err(Error::Forbidden);
        }
        let mut e = FieldErrors::default();
        let name = e.take(validation::text("name", &input.name, 50));
        let region = e.take(RegionCode::parse(&input.region, "region"));
        if region
            .as_ref()
            .is_some_and(|r| r.as_str().len() < 9 || !actor.region.contains(r))
        {
            e.push(FieldError::new(
                "region",
                "scope",
                "区域须为本辖区内的镇街、村社区或网格",
                "a town, village or grid inside your region",
            ));
        }
        let address = e.take(validation::text("address", &input.address, 200));
        let hours = e.take(validation::text("hours", &input.hours, 50));
        if !SITE_KINDS.contains(&input.kind.as_str()) {
            e.push(FieldError::new(
                "kind",
                "kind",
                "类型应为固定、方舱或流动",
                "fixed, fangcang or mobile",
            ));
        }
        let serves_ok = !input.serves.is_empty()
            && input.serves.len() <= 3
            && input
                .serves
                .iter()
                .all(|s| super::testing::CATEGORIES.contains(&s.as_str()));
        if !serves_ok {
            e.push(FieldError::new(
                "serves",
                "serves",
                "请选择服务类别：应检尽检、定期抽检、愿检尽检",
                "some of mandatory, periodic, voluntary",
            ));
        }
        let (Some(name), Some(region), Some(address), Some(hours)) = (name, region, address, hours)
        else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (who, now) = (actor.username.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if repo::region(c, region.as_str()).await?.is_none() {
                        return Err(Error::field(
                            "region",
                            "unknown",
                            "区域不存在",
                            "no such region",
                        ));
                    }
                    let serves = input.serves.join(",");
                    let id = store::insert_site(
                        c,
                        &store::NewSite {
                            name: &name,
                            region: region.as_str(),
                            address: &address,
                            hours: &hours,
                            kind: &input.kind,
                            serves: &serves,
                            paid: input.paid,
                        },
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "site_added",
                        &json!({"id": id, "name": name}),
                    )
                    .await?;
                    Ok(id)
                })
            })
            .await
    }

    /// The public list of sites, by town.
    pub async fn sites_by_town(&self) -> Result<Vec<TownSites>> {
        let mut c = self.db.pool().acquire().await?;
        let towns = repo::regions_at_level(&mut c, "town").await?;
        let mut out: Vec<TownSites> = Vec::new();
        for s in store::sites(&mut c).await? {
            let town = s.region[..9].to_string();
            match out.last_mut() {
                Some(t) if t.town == town => t.sites.push(s),
                _ => out.push(TownSites {
                    town_name: towns
                        .iter()
                        .find(|t| t.code == town)
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    town,
                    sites: vec![s],
                }),
            }
        }
        Ok(out)
    }

    pub async fn site(&self, id: i64) -> Result<SiteRow> {
        let mut c = self.db.pool().acquire().await?;
        store::site(&mut c, id).await?.ok_or(Error::NotFound)
    }
}
