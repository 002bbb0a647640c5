//! The managed region tree: loaded on first start, grids replaced by import.

use std::collections::BTreeMap;

use bihuan_domain::regions::{ManagedRegion, RegionCode, RegionLevel, managed_tree};
use bihuan_domain::validation::{self, FieldError};
use serde::Serialize;
use serde_json::json;

use super::Services;
use crate::error::{Error, Result};
use crate::storage::repo::{self, RegionRow};

#[derive(Debug, Clone, Serialize)]
pub struct RegionView {
    pub code: String,
    pub name: String,
    pub level: String,
    pub children: Vec<RegionRow>,
}

/// One row of a grid import: (village code, grid code, grid name).
#[derive(Debug, Clone)]
pub struct GridRow {
    pub village: String,
    pub grid: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridImportReport {
    pub villages: usize,
    pub grids: usize,
    pub errors: Vec<(usize, FieldError)>,
}

impl Services {
    /// Loads the city's tree when the database has no regions yet.
    pub async fn ensure_regions(&self, city_code: &str) -> Result<usize> {
        let tree = managed_tree(city_code);
        if tree.is_empty() {
            return Err(Error::Internal(format!(
                "no divisions for city {city_code}"
            )));
        }
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if repo::count_regions(c).await? > 0 {
                        return Ok(0);
                    }
                    repo::insert_regions(c, &tree).await?;
                    Ok(tree.len())
                })
            })
            .await
    }

    pub async fn region(&self, code: &str) -> Result<RegionView> {
        let code = RegionCode::parse(code, "code")?;
        let mut c = self.db.pool().acquire().await?;
        let r = repo::region(&mut c, code.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        Ok(RegionView {
            children: repo::children(&mut c, &r.code).await?,
            code: r.code,
            name: r.name,
            level: r.level,
        })
    }

    pub async fn regions_at(&self, level: RegionLevel) -> Result<Vec<RegionRow>> {
        let mut c = self.db.pool().acquire().await?;
        repo::regions_at_level(&mut c, level.as_str()).await
    }

    /// Replaces the grids of every village named in `rows`. All or nothing:
    /// any bad row refuses the whole file, with every bad row listed. A grid
    /// that still owns people or tasks may not disappear.
    pub async fn import_grids(&self, rows: Vec<GridRow>) -> Result<GridImportReport> {
        let mut errors = Vec::new();
        let mut by_village: BTreeMap<String, Vec<ManagedRegion>> = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            let n = i + 1;
            let village = RegionCode::parse(r.village.trim(), "village");
            let grid = RegionCode::parse(r.grid.trim(), "grid");
            let name = validation::text("name", &r.name, 50);
            match (village, grid, name) {
                (Ok(v), Ok(g), Ok(name)) => {
                    if g.level() != RegionLevel::Grid || g.parent().as_ref() != Some(&v) {
                        errors.push((
                            n,
                            FieldError::new(
                                "grid",
                                "grid",
                                "网格编码应为所属村(社区)编码加3位数字",
                                "a grid code is its village code plus 3 digits",
                            ),
                        ));
                        continue;
                    }
                    by_village
                        .entry(v.as_str().to_string())
                        .or_default()
                        .push(ManagedRegion {
                            code: g,
                            name,
                            level: RegionLevel::Grid,
                        });
                }
                (v, g, name) => {
                    for e in [v.err(), g.err(), name.err()].into_iter().flatten() {
                        errors.push((n, e));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(
                errors
                    .into_iter()
                    .map(|(n, e)| e.under(&format!("row.{n}")))
                    .collect(),
            ));
        }
        let now = self.clock.timestamp();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let mut grids = 0;
                    for (village, new) in &by_village {
                        if repo::region(c, village)
                            .await?
                            .is_none_or(|r| r.level != "village")
                        {
                            return Err(Error::field(
                                "village",
                                "unknown",
                                &format!("村(社区) {village} 不存在"),
                                &format!("no village {village}"),
                            ));
                        }
                        repo::delete_grids_of(c, village).await?;
                        repo::insert_regions(c, new).await?;
                        grids += new.len();
                    }
                    if repo::orphaned_records(c).await? > 0 {
                        return Err(Error::Conflict(
                            "some people or tasks sit in grids the file removes".into(),
                        ));
                    }
                    repo::insert_event(
                        c,
                        now,
                        "cli",
                        None,
                        None,
                        "grids_imported",
                        &json!({"villages": by_village.len(), "grids": grids}),
                    )
                    .await?;
                    Ok(GridImportReport {
                        villages: by_village.len(),
                        grids,
                        errors: vec![],
                    })
                })
            })
            .await
    }
}
