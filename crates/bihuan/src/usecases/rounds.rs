//! 常住人口 and 全员核酸: the resident roll, mass-testing rounds, and their live
//! coverage per town → village → grid, with the list of who is not yet tested.

use bihuan_domain::identity::{DocumentNumber, DocumentType, Phone};
use bihuan_domain::regions::{RegionCode, RegionLevel};
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::repo;
use crate::storage::rounds::{self as store, ResidentRow, RoundRow};

/// One line of a resident roll.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentInput {
    pub grid: String,
    #[serde(default)]
    pub id_type: Option<String>,
    pub id_number: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Where the resident lives: people at the same address in the same
    /// village are one household (流调 household contacts).
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollReport {
    pub loaded: usize,
    pub refused: Vec<(usize, Vec<FieldError>)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundInput {
    pub name: String,
    pub regions: Vec<String>,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub code: String,
    pub name: String,
    pub residents: i64,
    pub sampled: i64,
    pub results_in: i64,
    pub positives: i64,
    pub untested: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub round: RoundRow,
    pub region: String,
    pub total: CoverageRow,
    /// One level below `region`.
    pub rows: Vec<CoverageRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Untested {
    pub person_id: i64,
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

/// A person as a roll names them: document, name, optional phone.
pub(crate) struct PersonFields {
    pub document: DocumentNumber,
    pub name: String,
    pub phone: Option<Phone>,
}

/// Parses the person columns every roll shares (resident roll, employer roster).
pub(crate) fn person_fields(
    e: &mut FieldErrors,
    id_type: Option<&str>,
    id_number: &str,
    name: &str,
    phone: Option<&str>,
    today: bihuan_domain::Date,
) -> Option<PersonFields> {
    let kind = DocumentType::parse(id_type.filter(|s| !s.is_empty()).unwrap_or("resident"));
    let document = match kind {
        Some(k) => e.take(DocumentNumber::parse(k, id_number, "id_number", today)),
        None => {
            e.push(FieldError::new(
                "id_type",
                "id_type",
                "证件类型无效",
                "unknown document type",
            ));
            None
        }
    };
    let name = e.take(validation::text("name", name, 50));
    let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => e
            .take(match &document {
                Some(d) => Phone::parse_for(p, "phone", d.kind()),
                None => Phone::parse(p, "phone"),
            })
            .map(Some),
        None => Some(None),
    };
    Some(PersonFields {
        document: document?,
        name: name?,
        phone: phone?,
    })
}

/// A grid column: a 15-digit grid code.
pub(crate) fn grid_field(e: &mut FieldErrors, raw: &str) -> Option<String> {
    let grid = e.take(RegionCode::parse(raw.trim(), "grid"))?;
    if grid.level() != RegionLevel::Grid {
        e.push(FieldError::new(
            "grid",
            "grid",
            "请填写15位网格编码",
            "a 15-digit grid code",
        ));
        return None;
    }
    Some(grid.as_str().to_string())
}

/// Splits parsed roll rows into those inside `scope` and refused ones, which
/// keep their 1-based row numbers.
pub(crate) fn split_rows<T>(
    parsed: Vec<std::result::Result<T, FieldErrors>>,
    scope: &str,
    grid: impl Fn(&T) -> &str,
) -> (Vec<T>, Vec<(usize, Vec<FieldError>)>) {
    let mut good = Vec::new();
    let mut refused = Vec::new();
    for (i, p) in parsed.into_iter().enumerate() {
        match p {
            Ok(v) if grid(&v).starts_with(scope) => good.push(v),
            Ok(_) => refused.push((
                i + 1,
                vec![FieldError::new(
                    "grid",
                    "scope",
                    "网格不在本辖区内",
                    "the grid is outside your region",
                )],
            )),
            Err(e) => refused.push((i + 1, e.0)),
        }
    }
    (good, refused)
}

impl Services {
    fn resident_row(
        &self,
        r: &ResidentInput,
        today: bihuan_domain::Date,
    ) -> std::result::Result<ResidentRow, FieldErrors> {
        let mut e = FieldErrors::default();
        let grid = grid_field(&mut e, &r.grid);
        let person = person_fields(
            &mut e,
            r.id_type.as_deref(),
            &r.id_number,
            &r.name,
            r.phone.as_deref(),
            today,
        );
        let address = e
            .take(validation::text_optional(
                "address",
                r.address.as_deref().unwrap_or(""),
                200,
            ))
            .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|a| !a.is_empty());
        match (grid, person) {
            (Some(grid), Some(p)) if e.is_empty() => Ok(ResidentRow {
                address,
                doc_type: p.document.kind().as_str().into(),
                doc_lookup: self.vault.lookup(&p.document.lookup_key_material()),
                doc_enc: self.vault.encrypt(p.document.number()),
                doc_masked: p.document.masked(),
                name: p.name,
                phone_enc: self
                    .vault
                    .encrypt(p.phone.as_ref().map(|x| x.as_str()).unwrap_or("")),
                phone_masked: p.phone.map(|x| x.masked()).unwrap_or_default(),
                grid,
            }),
            _ => Err(e),
        }
    }

    /// Loads a resident roll inside the actor's region: good rows load, bad
    /// rows are refused with their row numbers. Loading twice changes nothing.
    pub async fn import_residents(
        &self,
        actor: &Actor,
        rows: Vec<ResidentInput>,
    ) -> Result<RollReport> {
        if !actor.role.can_review() {
            return Err(Error::Forbidden);
        }
        let today = self.clock.today();
        let parsed = rows.iter().map(|r| self.resident_row(r, today)).collect();
        let (good, refused) = split_rows(parsed, actor.scope(), |r: &ResidentRow| &r.grid);
        let loaded = good.len();
        // Every row refused: nothing to load and nothing to record.
        if loaded > 0 {
            self.load_roll(good, &actor.username).await?;
        }
        Ok(RollReport { loaded, refused })
    }

    async fn load_roll(&self, rows: Vec<ResidentRow>, who: &str) -> Result<()> {
        let (now, who) = (self.clock.timestamp(), who.to_string());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    for r in &rows {
                        if repo::region(c, &r.grid)
                            .await?
                            .is_none_or(|g| g.level != "grid")
                        {
                            return Err(Error::field(
                                "grid",
                                "unknown",
                                &format!("网格 {} 不存在", r.grid),
                                &format!("no grid {}", r.grid),
                            ));
                        }
                    }
                    store::load_residents(c, &rows, now).await?;
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "residents_loaded",
                        &json!({"rows": rows.len()}),
                    )
                    .await
                })
            })
            .await
    }

    /// `bihuan demo residents`: a synthetic roll of `count` people with valid
    /// resident IDs, spread evenly over the city's grids.
    pub async fn demo_residents(&self, count: usize) -> Result<usize> {
        let grids: Vec<String> = self
            .regions_at(RegionLevel::Grid)
            .await?
            .into_iter()
            .map(|g| g.code)
            .collect();
        if grids.is_empty() {
            return Err(Error::Conflict("no grids".into()));
        }
        let today = self.clock.today();
        const SURNAMES: [&str; 12] = [
            "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "胡",
        ];
        const GIVEN: [&str; 12] = [
            "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰",
        ];
        let mut done = 0;
        while done < count {
            let n = (count - done).min(10_000);
            let rows: Vec<ResidentInput> = (done..done + n)
                .map(|i| ResidentInput {
                    grid: grids[i % grids.len()].clone(),
                    id_type: None,
                    id_number: demo_id(i),
                    name: format!(
                        "{}{}{}",
                        SURNAMES[i % 12],
                        GIVEN[(i / 12) % 12],
                        GIVEN[(i / 144) % 12]
                    ),
                    phone: Some(format!("13{:09}", i)),
                    // Three people to a household, numbered within the grid.
                    address: Some(format!(
                        "{}网格{}号",
                        &grids[i % grids.len()][12..],
                        i / grids.len() / 3 + 1
                    )),
                })
                .collect();
            let good: Vec<ResidentRow> = rows
                .iter()
                .map(|r| self.resident_row(r, today))
                .collect::<std::result::Result<_, _>>()
                .map_err(Error::from)?;
            self.load_roll(good, "demo").await?;
            done += n;
        }
        Ok(done)
    }

    pub async fn create_round(&self, actor: &Actor, input: RoundInput) -> Result<i64> {
        if !actor.role.can_manage_risk_areas() {
            return Err(Error::Forbidden);
        }
        let mut e = FieldErrors::default();
        let name = e.take(validation::text("name", &input.name, 50));
        if input.regions.is_empty() || input.regions.len() > 500 {
            e.push(FieldError::new(
                "regions",
                "required",
                "请选择1到500个区域",
                "choose 1 to 500 regions",
            ));
        }
        let parsed: Vec<(usize, RegionCode)> = input
            .regions
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                e.take(RegionCode::parse(r, &format!("regions.{i}")))
                    .map(|c| (i, c))
            })
            .collect();
        // Each region must be one of the city's, inside the actor's own.
        let mut regions = Vec::with_capacity(parsed.len());
        {
            let mut c = self.db.pool().acquire().await?;
            for (i, r) in parsed {
                let field = format!("regions.{i}");
                if !r.as_str().starts_with(actor.scope()) {
                    e.push(FieldError::new(
                        field,
                        "scope",
                        "区域不在本辖区内",
                        "outside your region",
                    ));
                } else if repo::region(&mut c, r.as_str()).await?.is_none() {
                    e.push(FieldError::new(
                        field,
                        "unknown",
                        "区域不存在",
                        "no such region",
                    ));
                } else {
                    regions.push(r);
                }
            }
        }
        let time =
            |field: &str, v: &str, e: &mut FieldErrors| match chrono::DateTime::parse_from_rfc3339(
                v,
            ) {
                Ok(t) => Some(t.timestamp()),
                Err(_) => {
                    e.push(FieldError::new(
                        field,
                        "datetime",
                        "时间格式应为 2022-01-29T08:00:00+08:00",
                        "an RFC 3339 time",
                    ));
                    None
                }
            };
        let starts = time("starts_at", &input.starts_at, &mut e);
        let ends = time("ends_at", &input.ends_at, &mut e);
        if let (Some(s), Some(t)) = (starts, ends)
            && t <= s
        {
            e.push(FieldError::new(
                "ends_at",
                "order",
                "结束时间须晚于开始时间",
                "ends_at must be after starts_at",
            ));
        }
        let (Some(name), Some(starts), Some(ends)) = (name, starts, ends) else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (who, now) = (actor.username.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let codes: Vec<&str> = regions.iter().map(|r| r.as_str()).collect();
                    let id =
                        store::insert_round(c, &name, &codes.join(","), starts, ends, &who, now)
                            .await?;
                    for r in &codes {
                        store::init_round_grids(c, id, r).await?;
                    }
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "round_created",
                        &json!({"id": id, "name": name, "regions": codes}),
                    )
                    .await?;
                    Ok(id)
                })
            })
            .await
    }

    /// Counts a sample in every open round that covers the person's home
    /// grid (`grid`: the residence on the roll; none for non-residents).
    pub(crate) async fn count_sample(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        grid: Option<&str>,
        now: i64,
    ) -> Result<()> {
        match grid {
            Some(grid) => store::mark_sampled_in_open_rounds(c, person_id, grid, now).await,
            None => Ok(()),
        }
    }

    pub(crate) async fn count_result(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        positive: bool,
    ) -> Result<()> {
        store::mark_result(c, person_id, positive).await
    }

    /// Live coverage of a round inside `region` (default: the actor's own),
    /// one level down.
    pub async fn coverage(
        &self,
        actor: &Actor,
        round_id: i64,
        region: Option<&str>,
    ) -> Result<Coverage> {
        let region = match region {
            Some(r) => RegionCode::parse(r, "region")?,
            None => actor.region.clone(),
        };
        if !actor.region.contains(&region) {
            return Err(Error::NotFound);
        }
        let below = match region.level() {
            RegionLevel::City => RegionLevel::Town,
            RegionLevel::Town => RegionLevel::Village,
            RegionLevel::Village | RegionLevel::Grid => RegionLevel::Grid,
        };
        let mut c = self.db.pool().acquire().await?;
        let round = store::round(&mut c, round_id)
            .await?
            .filter(|r| touches(r, actor))
            .ok_or(Error::NotFound)?;
        let names = repo::children(&mut c, region.as_str()).await?;
        let rows: Vec<CoverageRow> = store::coverage(&mut c, round_id, region.as_str(), below)
            .await?
            .into_iter()
            .map(
                |(code, residents, sampled, results_in, positives)| CoverageRow {
                    name: names
                        .iter()
                        .find(|n| n.code == code)
                        .map(|n| n.name.clone())
                        .unwrap_or_default(),
                    code,
                    residents,
                    sampled,
                    results_in,
                    positives,
                    untested: residents - sampled,
                },
            )
            .collect();
        let sum = |f: fn(&CoverageRow) -> i64| rows.iter().map(f).sum::<i64>();
        let total = CoverageRow {
            code: region.as_str().into(),
            name: repo::region(&mut c, region.as_str())
                .await?
                .map(|r| r.name)
                .unwrap_or_default(),
            residents: sum(|r| r.residents),
            sampled: sum(|r| r.sampled),
            results_in: sum(|r| r.results_in),
            positives: sum(|r| r.positives),
            untested: sum(|r| r.untested),
        };
        Ok(Coverage {
            round,
            region: region.as_str().into(),
            total,
            rows,
        })
    }

    /// 未检: residents of a grid not yet sampled in the round.
    pub async fn untested(
        &self,
        actor: &Actor,
        round_id: i64,
        grid: &str,
    ) -> Result<Vec<Untested>> {
        Ok(self
            .untested_sealed(actor, round_id, grid)
            .await?
            .into_iter()
            .map(|(u, _)| u)
            .collect())
    }

    /// The 未检 rows (masked) with each phone still sealed.
    async fn untested_sealed(
        &self,
        actor: &Actor,
        round_id: i64,
        grid: &str,
    ) -> Result<Vec<(Untested, String)>> {
        let grid = RegionCode::parse(grid, "grid")?;
        if grid.level() != RegionLevel::Grid || !actor.region.contains(&grid) {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        store::round(&mut c, round_id)
            .await?
            .filter(|r| touches(r, actor))
            .ok_or(Error::NotFound)?;
        Ok(store::untested(&mut c, round_id, grid.as_str())
            .await?
            .into_iter()
            .map(|(person_id, name, id_number, phone, phone_enc)| {
                (
                    Untested {
                        person_id,
                        name,
                        id_number,
                        phone,
                    },
                    phone_enc,
                )
            })
            .collect())
    }
}

/// A round is the business of the regions it covers and those above them:
/// anyone else gets 404, as for any record outside their scope (the rounds
/// page lists the same ones).
fn touches(round: &store::RoundRow, actor: &Actor) -> bool {
    let scope = actor.scope();
    round
        .regions
        .split(',')
        .any(|code| code.starts_with(scope) || scope.starts_with(code))
}

impl Services {
    /// The 未检 list of a grid as a file leaving the system: audited.
    pub async fn untested_export(
        &self,
        actor: &Actor,
        round_id: i64,
        grid: &str,
    ) -> Result<Vec<Untested>> {
        let sealed = self.untested_sealed(actor, round_id, grid).await?;
        // The list is for calling: phones in full for a role that may see
        // them (documents stay masked), and the export says so.
        let unmask = actor.role.can_unmask();
        let rows: Vec<Untested> = sealed
            .into_iter()
            .map(|(mut u, phone_enc)| {
                if unmask && let Some(phone) = self.vault.decrypt(&phone_enc) {
                    u.phone = phone;
                }
                u
            })
            .collect();
        let mut detail = json!({"round": round_id, "region": grid, "rows": rows.len()});
        if unmask {
            detail["unmasked"] = json!(["phone"]);
        }
        self.audit_export(actor, "untested_exported", detail)
            .await?;
        Ok(rows)
    }

    /// The 未检 file's table: Chinese headers, as an office reads it.
    pub fn untested_table(rows: &[Untested]) -> Vec<Vec<String>> {
        let mut t = vec![
            ["编号", "姓名", "证件号码", "手机号码"]
                .map(String::from)
                .to_vec(),
        ];
        t.extend(rows.iter().map(|r| {
            vec![
                r.person_id.to_string(),
                r.name.clone(),
                r.id_number.clone(),
                r.phone.clone(),
            ]
        }));
        t
    }

    /// At a round's deadline each grid with untested residents gets one task
    /// naming how many and where the list is. Once per round, on any replica.
    pub(crate) async fn round_deadlines(&self, c: &mut AnyConnection, now: i64) -> Result<usize> {
        use crate::storage::monitoring as jobs;
        let mut tasks = 0;
        for r in store::ended_rounds(c, now).await? {
            jobs::row_begin(c).await?;
            let done = self.round_deadline(c, &r, now).await;
            tasks += jobs::row_end(c, "round_deadlines", r.id, done)
                .await?
                .unwrap_or_default();
        }
        Ok(tasks)
    }

    /// The grid tasks of one ended round, once (claimed per round).
    async fn round_deadline(
        &self,
        c: &mut AnyConnection,
        r: &store::RoundRow,
        now: i64,
    ) -> Result<usize> {
        if !crate::storage::monitoring::claim_job(c, "round_deadline", &r.id.to_string(), now)
            .await?
        {
            return Ok(0);
        }
        let mut tasks = 0;
        for (grid, n) in store::grids_with_untested(c, r.id).await? {
            let reason = format!(
                "{}已截止，本网格未检{}人，名单：/rounds/{}/untested/{}",
                r.name, n, r.id, grid
            );
            let due = now + i64::from(self.policy.deadlines.test_missed_hours) * 3600;
            let id = repo::insert_grid_task(
                c,
                bihuan_domain::task::TaskKind::Untested.as_str(),
                &grid,
                due,
                &reason,
                now,
            )
            .await?;
            repo::insert_event(
                c,
                now,
                "system",
                None,
                Some(id),
                "task_created",
                &json!({"kind": "untested", "round": r.id, "untested": n}),
            )
            .await?;
            tasks += 1;
        }
        Ok(tasks)
    }
}

/// A valid resident ID for demo person `i`: born 1950–1999 in Yongkang.
fn demo_id(i: usize) -> String {
    let year = 1950 + (i / 1000) % 50;
    let month = 1 + (i / 50_000) % 12;
    let day = 1 + (i / 600_000 + i) % 28;
    let body = format!("330784{year:04}{month:02}{day:02}{:03}", i % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_ids_are_valid_and_distinct() {
        let today: bihuan_domain::Date = "2022-01-28".parse().unwrap();
        let mut seen = std::collections::HashSet::new();
        for i in (0..970_000).step_by(997) {
            let id = demo_id(i);
            assert!(
                DocumentNumber::parse(DocumentType::Resident, &id, "id", today).is_ok(),
                "{id}"
            );
            assert!(seen.insert(id));
        }
    }
}
